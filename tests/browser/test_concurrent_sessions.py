"""Several people signed in at once on one server see only their own role and area (issue #14).

The shared caches (maps rendered once per run key, the warm-up of serve.py, live scenarios per
session) must never hand one session another's figures. Six sessions of every role click
"登录" together, then each switches page and back; every session is checked each time.
Correctness only: the timed 20-session run and its soak are ``bench/bench_load.py``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import ACCOUNTS, AREA_ACCOUNTS, PASSWORD, SHARED_DATA, VIEWPORT, AppServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.xihu]
MAP = 'iframe[title="streamlit_folium.st_folium"]'


def _expected() -> dict[str, tuple[str, str]]:
    """User -> (role's Chinese name, the overview's households figure for the user's area)."""
    from data.accounts.access import AreaFilter, filter_frame
    from data.accounts.auth import Role
    from data.demo import load_default_bundle

    ben = load_default_bundle(SHARED_DATA).beneficiaries
    out = {}
    for name, role in ACCOUNTS.items():
        out[name] = (Role(role).label_zh, f"{len(ben):,}")
    for name, (role, town, village) in AREA_ACCOUNTS.items():
        r = Role(role)
        out[name] = (r.label_zh, f"{len(filter_frame('beneficiaries', ben, AreaFilter(r, town, village))):,}")
    return out


def _idle(page: Page) -> None:
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')
                 === 'notRunning' && !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=180_000,
    )


def _check(page: Page, user: str, role_zh: str, households: str, where: str) -> list[str]:
    page.locator(MAP).first.wait_for(state="attached", timeout=180_000)
    frame = page.locator(MAP).first.element_handle().content_frame()
    frame.wait_for_selector("path", state="attached", timeout=180_000)
    _idle(page)
    bad = []
    if page.locator('[data-testid="stException"]').count():
        bad.append(f"{user} {where}: an exception")
    side = page.locator('[data-testid="stSidebar"]').inner_text()
    if f"{user}（{role_zh}）" not in side:
        bad.append(f"{user} {where}: the sidebar does not name {user} ({role_zh})")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="救助对象（户）").first
    shown = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    if shown != households:
        bad.append(f"{user} {where}: households {shown!r}, own area {households!r}")
    links = " ".join(page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts())
    if ("镇街 / 村社" in links) == (role_zh == "只读访客"):
        bad.append(f"{user} {where}: hub page link wrong for the role")
    return bad


def _nav(page: Page, label: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=re.compile(f"^{re.escape(label)}$")).click()


def test_simultaneous_sessions_see_only_their_own_role_and_area(browser: Browser, app_server: AppServer) -> None:
    expected = _expected()
    pages: dict[str, Page] = {}
    for user in expected:
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = ctx.new_page()
        page.set_default_timeout(180_000)
        page.goto(app_server.base_url + "/", wait_until="domcontentloaded")
        page.get_by_label("用户名").fill(user)
        page.get_by_label("密码").fill(PASSWORD)
        pages[user] = page
    for page in pages.values():  # all at once: the server signs them in together
        page.get_by_role("button", name="登录").click(no_wait_after=True)
    bad: list[str] = []
    for user, page in pages.items():
        bad += _check(page, user, *expected[user], "after sign-in")
    for page in pages.values():
        _nav(page, "报告")
    for page in pages.values():
        _idle(page)
        _nav(page, "总览")
    for user, page in pages.items():
        bad += _check(page, user, *expected[user], "back on the overview")
    for page in pages.values():
        page.context.close()
    assert not bad, "\n".join(bad)
