"""Sessions in a real browser: a reload and a second tab stay signed in, sign-out reaches every tab.

The session token travels in an HttpOnly cookie set by ``serve.py``'s ``/api/session`` route
(never in the URL, never readable by the page's scripts).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import VIEWER, VIEWPORT, AppServer, missing_prerequisite, sign_in, wait_idle

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from playwright.sync_api import Browser, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]

COOKIE = "xihu_session"


def signed_in(page: Page) -> bool:
    """The app's frame is shown (sidebar with the sign-out button), not the sign-in form."""
    wait_idle(page)
    has_form = page.get_by_label("用户名").count() > 0
    has_signout = page.get_by_role("button", name="退出登录").count() > 0
    assert has_form != has_signout, f"form shown: {has_form}, sign-out button shown: {has_signout}"
    return has_signout


def session_cookie(page: Page, timeout_s: float = 10.0) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        for c in page.context.cookies():
            if c["name"] == COOKIE and c["value"]:
                return dict(c)
        page.wait_for_timeout(100)
    pytest.fail(f"no {COOKIE} cookie within {timeout_s:.0f} s")


def test_reload_and_second_tab_stay_signed_in_and_signout_reaches_every_tab(
    browser: Browser, app_server: AppServer
) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    try:
        first = context.new_page()
        first.set_default_timeout(60_000)
        first.on("websocket", lambda ws: urls.append(ws.url))
        sign_in(first, app_server.base_url, VIEWER)
        assert signed_in(first)

        cookie = session_cookie(first)
        token = cookie["value"]
        assert cookie["httpOnly"] is True, cookie
        assert cookie["sameSite"] == "Strict", cookie
        assert COOKIE not in first.evaluate("document.cookie"), "the page's scripts can read the session cookie"

        first.reload(wait_until="domcontentloaded")
        assert signed_in(first), "a reload signed the user out"

        second = context.new_page()
        second.set_default_timeout(60_000)
        second.on("websocket", lambda ws: urls.append(ws.url))
        second.goto(app_server.base_url + "/", wait_until="domcontentloaded")
        assert signed_in(second), "a second tab is not signed in"

        second.get_by_role("button", name="退出登录").click()
        assert not signed_in(second)
        # the cookie is cleared as well, so a reload of the signing-out tab stays signed out
        t0 = time.monotonic()
        while any(c["name"] == COOKIE for c in context.cookies()) and time.monotonic() - t0 < 10:
            second.wait_for_timeout(100)
        assert not any(c["name"] == COOKIE for c in context.cookies()), "sign-out left the cookie"

        # the first tab learns it on its next interaction
        first.locator('[data-testid="stSidebarNavLink"]').filter(has_text="报告").click()
        assert not signed_in(first), "the other tab is still signed in after sign-out"
        first.reload(wait_until="domcontentloaded")
        assert not signed_in(first)

        leaked = [u for u in [*urls, first.url, second.url] if token in u]
        assert not leaked, f"the session token appeared in a URL: {leaked[:3]}"
        assert urls, "no request was recorded"
    finally:
        context.close()
