"""Server entry: the Streamlit app (``app.py``) plus the two routes that set and clear the session cookie.

streamlit run serve.py      (``streamlit run app.py`` still works, without reload-proof sessions)

A Streamlit script cannot answer with ``Set-Cookie``; these routes can (see
:mod:`data.accounts.handoff`). ``/api/session`` takes a one-time code issued at sign-in and
sets the HttpOnly session cookie; ``/api/signout`` clears it. Both accept only same-origin
POSTs.

The Reports page starts preparing its report (~10 s) when it opens, so that a click on 生成报告
finds it ready (:func:`pages._reporting.prepare_report_soon`; ``XIHU_REPORTS_EARLY=0`` turns it off).

At start a background thread fills the shared caches a first overview needs
(:func:`pages._warm_up.warm_up`: bundle, network, base map, and per district role and town the
coverage summary, the viewer's protected screen and the rendered map), so the first people to
sign in wait for none of it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from data.accounts.handoff import (
    COOKIE_MAX_AGE_S,
    HANDOFF,
    MAX_CODE_CHARS,
    SESSION_COOKIE,
    SESSION_ROUTE,
    SIGNOUT_ROUTE,
)


def _same_origin(request: Request) -> bool:
    """A POST from a page of this app: its Origin (sent by browsers on every POST) names this host."""
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def session_cookie(request: Request) -> Response:
    """Exchange a one-time code (the body) for the HttpOnly session cookie."""
    if not _same_origin(request):
        return Response(status_code=403)
    body = await request.body()
    if len(body) > MAX_CODE_CHARS:
        return Response(status_code=400)
    token = HANDOFF.redeem(body.decode("ascii", "replace"))
    if token is None:
        return Response(status_code=400)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def clear_cookie(request: Request) -> Response:
    """Clear the session cookie (the session itself is deleted by the script's sign-out)."""
    if not _same_origin(request):
        return Response(status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


GC_EVERY_S = 60.0


def _warm_up() -> None:
    """Fill the shared caches in the background (:func:`pages._warm_up.warm_up`)."""
    import pages._reporting
    import pages._warm_up

    # the Reports page starts preparing its report when it opens (pages._reporting.prepare_report_soon);
    # XIHU_REPORTS_EARLY=0 leaves it to the click (bench/bench_reports_page.py compares both)
    pages._reporting.PREPARE_REPORTS_EARLY = os.environ.get("XIHU_REPORTS_EARLY", "1") != "0"

    # below the sessions: a person waiting for a page comes first (on Linux a thread is a task)
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    try:
        pages._warm_up.warm_up()
    except Exception:  # a failed warm-up only means the first session computes it
        logging.getLogger(__name__).exception("warm-up failed")
    # The shared caches live as long as the process: out of the cyclic collector's sight, so
    # no collection walks them again (a full collection over them took ~100-200 ms of CPU).
    # Streamlit's collection after every script run is off (.streamlit/config.toml,
    # runner.postScriptGC); Python's own generational collection and the collection below free the
    # sessions' cycles.
    gc.collect()
    gc.freeze()
    # what sessions leave in reference cycles is collected once a minute instead (a 15-minute
    # soak of 20 sessions: server memory +21 % without it, see bench/README.md)
    while True:
        time.sleep(GC_EVERY_S)
        gc.collect()


threading.Thread(target=_warm_up, name="xihu-warm-up", daemon=True).start()

app = st.App(
    Path(__file__).with_name("app.py"),
    routes=[
        Route(SESSION_ROUTE, session_cookie, methods=["POST"]),
        Route(SIGNOUT_ROUTE, clear_cookie, methods=["POST"]),
    ],
)
