"""The planner's what-if map in Debian's Chromium: a click in the add-a-station mode adds a station."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import PLANNER, RUN_TIMEOUT_S, Recorded, wait_idle
from tests.browser.test_browser import MAP_IFRAME, assert_clean, open_page, shoot_map

pytestmark = pytest.mark.browser

NEW_STATION = 'path.leaflet-interactive[fill="#ffd600"]'  # the scenario's new stations (pages._map.Mark)
RECOMMENDED = 'path.leaflet-interactive[stroke="#6a1b9a"]'


def _frame(page):  # type: ignore[no-untyped-def]
    iframe = page.locator(MAP_IFRAME).first
    iframe.wait_for()
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    return frame


def _count_becomes(page, frame, selector: str, n: int) -> None:  # type: ignore[no-untyped-def]
    deadline = RUN_TIMEOUT_S * 1000
    waited = 0
    while frame.locator(selector).count() != n:
        assert waited < deadline, f"{selector}: {frame.locator(selector).count()} on the map, expected {n}"
        page.wait_for_timeout(200)
        waited += 200


def test_clicks_add_stations_and_do_nothing_mode_ignores_them(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    open_page(page, "选址规划", "选址规划")
    frame = _frame(page)
    # the recommended sites are drawn on the live map as soon as the page is there
    frame.wait_for_selector(RECOMMENDED, state="attached", timeout=RUN_TIMEOUT_S * 1000)
    n_sites = frame.locator(RECOMMENDED).count()
    assert n_sites == 3  # the default number of new stations
    iframe = page.locator(MAP_IFRAME).first
    iframe.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = iframe.bounding_box()
    assert box is not None

    # "does nothing" (the default): a click adds nothing
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.45)
    page.wait_for_timeout(800)
    wait_idle(page)
    assert frame.locator(NEW_STATION).count() == 0

    page.get_by_text("在点击处添加站点", exact=True).click()
    wait_idle(page)
    frame = _frame(page)  # another component key (it now returns clicks): another frame
    for i, (fx, fy) in enumerate(((0.40, 0.42), (0.58, 0.55))):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        _count_becomes(page, frame, NEW_STATION, i + 1)
    wait_idle(page)
    # the comparison table counts them: scenario A has two stations more than the baseline
    table = page.locator('[data-testid="stDataFrame"]').last
    row = table.locator("tr", has=page.locator("td", has_text="站点数"))
    cells = row.locator("td").all_inner_texts()
    heads = table.locator("th").all_inner_texts()
    figures = dict(zip(heads, cells, strict=False))
    assert int(figures["方案A"]) == int(figures["现状"]) + 2 and figures["方案A 增减"] == "2"
    assert figures["方案B"] == figures["现状"]
    # the frame was kept (the map is not loaded again per click): the recommended sites once
    assert frame.locator(RECOMMENDED).count() == n_sites
    tip = frame.locator(NEW_STATION).first
    tip.hover()
    frame.wait_for_selector(".leaflet-tooltip:has-text('方案中的新站点')", timeout=RUN_TIMEOUT_S * 1000)
    shoot_map(page, screens_dir / "planner_whatif_clicks.png")

    # scenario B starts empty; back to A, its two stations are still there
    page.get_by_role("radiogroup", name="当前方案").get_by_text("方案B").click()
    wait_idle(page)
    _count_becomes(page, frame, NEW_STATION, 0)
    page.get_by_role("radiogroup", name="当前方案").get_by_text("方案A").click()
    wait_idle(page)
    _count_becomes(page, frame, NEW_STATION, 2)
    assert_clean(recorded)
