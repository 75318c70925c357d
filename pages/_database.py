"""The database stopped or unreachable: one Chinese message on every page, and a check every
few seconds that reruns the app when the database answers again."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from data.storage import DATABASE_DOWN_ERRORS
from pages._common import get_store
from pages._i18n import t

logger = logging.getLogger(__name__)
P = ParamSpec("P")


# -- the database stopped or unreachable -----------------------------------------------------------
#: seconds between two checks whether the database answers again
DB_RETRY_S = 5


def database_reachable() -> bool:
    """Whether the database answers now (a fresh connection; the pool replaces dead ones)."""
    try:
        get_store().ping()
    except DATABASE_DOWN_ERRORS:
        return False
    return True


@st.fragment(run_every=DB_RETRY_S)
def _wait_for_database() -> None:
    if database_reachable():
        st.rerun(scope="app")
    st.caption(t("db_down_retry", s=DB_RETRY_S))


def database_down(exc: BaseException) -> None:
    """What every page shows while the database is stopped or unreachable: one Chinese message, no
    traceback, and a check every few seconds that reruns the app when the database answers again
    (the session stays signed in: its token is checked again then)."""
    logger.warning("database unavailable (%s): %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    st.error(t("db_down"))
    _wait_for_database()


def page_fragment(fn: Callable[P, None]) -> Callable[P, None]:
    """``st.fragment`` that fails like a page when the database is down. Streamlit shows an error
    raised in a fragment as a traceback (``app.py``'s guard never sees it), so the fragment shows
    :func:`database_down`'s Chinese message and check itself; in a fragment-only rerun (a map
    click) it reruns the whole app instead, where ``app.py`` does the same for every page."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except DATABASE_DOWN_ERRORS as exc:
            ctx = get_script_run_ctx()
            if ctx is not None and ctx.fragment_ids_this_run:
                logger.warning("database unavailable in a fragment rerun: rerunning the app")
                st.rerun(scope="app")
            database_down(exc)

    return st.fragment(guarded)
