"""The matching page in Debian's Chromium: the map with the search result, the accessibility layer on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import PLANNER, RUN_TIMEOUT_S, Recorded, wait_idle
from tests.browser.test_browser import (
    MAP_IFRAME,
    assert_clean,
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
