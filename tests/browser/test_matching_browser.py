"""The matching page in Debian's Chromium: the map with the search result, the accessibility layer on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import PLANNER, RUN_TIMEOUT_S, Recorded, wait_idle
from tests.browser.test_browser import (
    MAP_IFRAME,
    assert_clean,
    center_map,
    metric,
    open_page,
    shoot_map,
)

pytestmark = pytest.mark.browser


def _leaflet(page, selector: str):  # type: ignore[no-untyped-def]
    wait_idle(page)
    iframe = page.locator(MAP_IFRAME)
    iframe.wait_for()
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    frame.wait_for_selector(selector, state="attached", timeout=RUN_TIMEOUT_S * 1000)
    page.wait_for_timeout(300)
    return frame


def test_planner_matching_page_map(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    open_page(page, "匹配", "供需精准匹配")
    assert int(metric(page, "需求数").replace(",", "")) > 0
    frame = _leaflet(page, "path.xihu-search")
    n = frame.locator("path.xihu-search").count()
    print(f"matching page: {n} search-result paths")
    assert n >= 1  # at least the search point
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "None" not in body and "nan" not in body
    shoot_map(page, screens_dir / "planner_matching.png")
    page.screenshot(path=str(screens_dir / "planner_matching_full.png"), full_page=True)
    page.get_by_text("显示服务可及性（E2SFCA，按需求类型）").click()
    frame = _leaflet(page, "path.xihu-access")
    assert frame.locator("path.xihu-access").count() > 0
    shoot_map(page, screens_dir / "planner_matching_access.png")
    assert_clean(recorded)


def test_matching_search_from_a_clicked_point(recorded: Recorded, screens_dir: Path) -> None:
    """Switching the search origin to "a point clicked on the map" makes the map report clicks
    (its component is keyed by what it returns) and a click runs the search from that point."""
    page = recorded.page
    recorded.sign_in(PLANNER)
    open_page(page, "匹配", "供需精准匹配")
    _leaflet(page, "path.xihu-search")
    page.get_by_text("地图上点击的位置").click()
    wait_idle(page)
    hint = page.get_by_text("在地图上点击一个位置作为检索起点。")
    hint.wait_for(timeout=RUN_TIMEOUT_S * 1000)
    frame = _leaflet(page, ".leaflet-container")
    center_map(page)
    box = page.locator(MAP_IFRAME).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5)
    hint.wait_for(state="detached", timeout=RUN_TIMEOUT_S * 1000)
    frame = _leaflet(page, "path.xihu-search")
    assert frame.locator("path.xihu-search").count() >= 1  # the clicked point at least
    shoot_map(page, screens_dir / "planner_matching_click.png")
    assert_clean(recorded)
