"""One-time codes that hand a session token to the cookie route, and the routes of serve.py."""

from __future__ import annotations

import pytest

from data.accounts.handoff import MAX_CODE_CHARS, SESSION_COOKIE, HandoffCodes


def test_code_redeems_once_to_its_token() -> None:
    codes = HandoffCodes(ttl_s=60)
    code = codes.issue("tok-a", now=0.0)
    assert "tok-a" not in code
    assert codes.redeem(code, now=1.0) == "tok-a"
    assert codes.redeem(code, now=1.0) is None  # single use


def test_code_expires() -> None:
    codes = HandoffCodes(ttl_s=60)
    code = codes.issue("tok-a", now=0.0)
    assert codes.redeem(code, now=60.0) is None


def test_unknown_empty_and_long_codes_are_refused() -> None:
    codes = HandoffCodes()
    codes.issue("tok-a")
    assert codes.redeem("nope") is None
    assert codes.redeem("") is None
    assert codes.redeem("x" * (MAX_CODE_CHARS + 1)) is None


def test_codes_are_bounded_oldest_first() -> None:
    codes = HandoffCodes(max_codes=2)
    first = codes.issue("t1", now=0.0)
    second = codes.issue("t2", now=0.0)
    third = codes.issue("t3", now=0.0)
    assert codes.redeem(first, now=1.0) is None
    assert codes.redeem(second, now=1.0) == "t2"
    assert codes.redeem(third, now=1.0) == "t3"


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    import warnings

    from starlette.applications import Starlette
    from starlette.exceptions import StarletteDeprecationWarning
    from starlette.routing import Route

    with warnings.catch_warnings():
        # starlette asks for httpx2 instead of httpx; the installed client serves a test as well
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    import serve

    app = Starlette(
        routes=[
            Route("/api/session", serve.session_cookie, methods=["POST"]),
            Route("/api/signout", serve.clear_cookie, methods=["POST"]),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        return TestClient(app, base_url="http://app.test")


def test_session_route_sets_an_httponly_strict_cookie(client) -> None:  # type: ignore[no-untyped-def]
    from data.accounts.handoff import HANDOFF

    code = HANDOFF.issue("the-token")
    r = client.post("/api/session", content=code, headers={"Origin": "http://app.test"})
    assert r.status_code == 204
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=the-token;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    # the code is spent
    again = client.post("/api/session", content=code, headers={"Origin": "http://app.test"})
    assert again.status_code == 400 and "set-cookie" not in again.headers


def test_session_route_refuses_other_origins(client) -> None:  # type: ignore[no-untyped-def]
    from data.accounts.handoff import HANDOFF

    code = HANDOFF.issue("the-token")
    assert client.post("/api/session", content=code, headers={"Origin": "http://evil.test"}).status_code == 403
    assert client.post("/api/session", content=code).status_code == 403  # no Origin
    assert client.post("/api/signout", headers={"Origin": "http://evil.test"}).status_code == 403


def test_signout_route_clears_the_cookie(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/signout", headers={"Origin": "http://app.test"})
    assert r.status_code == 204
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f'{SESSION_COOKIE}="";') and "Max-Age=0" in cookie
