"""Every page as every role in Chromium: no internal code reaches the screen.

Signs in as admin, planner, town manager, village manager and viewer; opens every page the
role has (by the sidebar links), on the Data page validates a small beneficiaries file
with a rejected row, and reads every visible text: the page, the map's frame (legend, layer
control) and the cells of every table (read from the grid's accessible DOM). It fails on any
ASCII-only identifier from :data:`CODES` (category, need-type, reason, warning and item codes,
``None``, ``nan``).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    ADMIN,
    PLANNER,
    TOWN_MANAGER,
    VIEWER,
    VIEWPORT,
    VILLAGE_MANAGER,
    AppServer,
    missing_prerequisite,
    sign_in,
    wait_idle,
)

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from playwright.sync_api import Browser, Page

from tests.browser.test_browser import nav_links

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]


def _codes() -> list[str]:
    from core.vocab import CATEGORIES, NEED_TYPES, SERVICE_CATALOGUE
    from data.importer import REASONS, WARNINGS

    return [*CATEGORIES, *NEED_TYPES, *(s.code for s in SERVICE_CATALOGUE), *REASONS, *WARNINGS, "None", "nan", "NaN"]


#: an internal code standing alone (not part of a longer ASCII word)
CODES = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, _codes())) + r")(?![A-Za-z0-9_])")
BENEFICIARIES_CSV = (
    "编号,姓名,身份证号,救助类别,家庭人口,经度,纬度,需求,紧急程度\n"
    "B1,张三明,11010519491231002X,低保,2,120.1305,30.2720,医疗救助;上门探访,4\n"
    "B2,李四,3.30106E+17,低边,1,120.13,30.27,心理咨询,2\n"
    "B3,王五,,特困,,120.12,30.26,,\n"
).encode()


def visible_texts(page: Page) -> list[str]:
    """The visible text of the page and of every frame, and the text of every table cell."""
    texts = []
    for frame in page.frames:
        try:
            texts.append(frame.evaluate("() => document.body ? document.body.innerText : ''"))
        except Exception:  # a frame that went away while reading
            continue
    # st.dataframe draws on a canvas; its cells are also in an accessible table
    texts += page.locator(
        '[data-testid="stDataFrame"] [role="gridcell"], [data-testid="stDataFrame"] th'
    ).all_text_contents()
    texts += page.locator('[data-testid="stDataFrame"] [role="columnheader"]').all_text_contents()
    return texts


def codes_on(page: Page) -> set[str]:
    found: set[str] = set()
    for text in visible_texts(page):
        found.update(m.group(1) for m in CODES.finditer(text))
    return found


def settle_map(page: Page) -> None:
    iframe = page.locator('iframe[title="streamlit_folium.st_folium"]')
    if iframe.count():
        # the frame loads when it comes into view
        iframe.first.evaluate("el => el.scrollIntoView({block: 'center'})")
        handle = iframe.first.element_handle()
        frame = handle.content_frame() if handle else None
        if frame is not None:
            frame.wait_for_selector(".xihu-legend-box", state="attached", timeout=120_000)
        page.wait_for_timeout(500)


def map_attributions(page: Page) -> list[str]:
    """The text of the attribution control of every map on the page (Leaflet's, bottom right)."""
    return [text for frame in page.frames for text in frame.locator(".leaflet-control-attribution").all_text_contents()]


def validate_small_file(page: Page) -> None:
    page.locator('[data-testid="stRadio"]').filter(has_text="数据类型").get_by_text("救助对象", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "b.csv", "mimeType": "text/csv", "buffer": BENEFICIARIES_CSV}]
    )
    wait_idle(page)
    page.get_by_role("button", name="校验并导入").click()
    wait_idle(page)
    page.get_by_text("被拒绝的原因").wait_for()


@pytest.mark.parametrize("user", [ADMIN, PLANNER, TOWN_MANAGER, VILLAGE_MANAGER, VIEWER])
def test_no_internal_code_on_any_page(browser: Browser, app_server: AppServer, user: str) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        sign_in(page, app_server.base_url, user)
        links = nav_links(page)
        assert links, "no page links after sign-in"
        found: dict[str, set[str]] = {}
        english_licence: dict[str, list[str]] = {}
        maps = 0
        cells = 0
        for link in links:
            page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=re.compile(f"^{re.escape(link)}$")).click()
            wait_idle(page)
            if link == "数据":
                validate_small_file(page)
            settle_map(page)
            cells += page.locator('[data-testid="stDataFrame"] [role="gridcell"]').count()
            codes = codes_on(page)
            if codes:
                found[link] = codes
            licences = map_attributions(page)
            maps += len(licences)
            if any("贡献者" not in text or "contributors" in text for text in licences):
                english_licence[link] = licences
        print(f"{user}: pages {links}, {cells} table cells read")
        assert not found, f"internal codes on screen as {user}: {found}"
        # the map's licence line speaks the screen's language too (the bundle stores it in English)
        assert maps > 0, "no map attribution was read: the check would see nothing"
        assert not english_licence, f"map attribution not in Chinese as {user}: {english_licence}"
        if user in (ADMIN, PLANNER):
            assert cells > 0, "no table cell was read: the check would see nothing in tables"
    finally:
        context.close()
