"""The browser opens 服务能力 and 重复救助 as a planner: charts drawn, tables in Chinese, no code or None."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import PLANNER, VIEWER, Recorded, missing_prerequisite, wait_idle

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from tests.browser.test_browser import (
    assert_clean,
    nav_links,
    open_page,
    table_cells,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]
FORBIDDEN = ("None", "nan", "NaN", "undefined", "Traceback")


def _visible_text_ok(text: str) -> None:
    for word in FORBIDDEN:
        assert f" {word} " not in f" {text.replace(chr(10), ' ')} ", f"{word!r} on a Chinese screen"


def _forget_overview_errors(rec: Recorded) -> None:
    """The overview (its map frame) raises a bare 'Event' page error on this Chromium before our
    pages open; it is the overview's (tests/browser/test_browser.py sees it too), not these pages'."""
    rec.page_errors.clear()


def test_planner_opens_capacity_page(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    assert "服务能力" in nav_links(page) and "重复救助" in nav_links(page)
    _forget_overview_errors(recorded)
    open_page(page, "服务能力", "服务主体能力与可持续性")
    wait_idle(page, settle_s=2.0)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3  # two utilisation bars, one trend
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "可持续性指数 S = 100" in body
    _visible_text_ok(body)
    page.screenshot(path=str(screens_dir / "planner_capacity.png"))
    for i, name in ((1, "planner_capacity_providers.png"), (2, "planner_capacity_trend.png")):
        page.locator('[data-testid="stVegaLiteChart"]').nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(screens_dir / name))
    assert_clean(recorded)


def test_planner_opens_duplicates_page(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    _forget_overview_errors(recorded)
    open_page(page, "重复救助", "多部门重复救助筛查")
    wait_idle(page, settle_s=2.0)
    page.screenshot(path=str(screens_dir / "planner_duplicates_top.png"))
    assert page.locator('[data-testid="stDataFrame"]').count() == 3  # counts, amounts, the list
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "涉及金额合计（元）" in body
    cells = table_cells(page)
    assert "医疗救助" in " ".join(cells[2]) and any("*" in c for c in cells[2])  # groups, masked names
    assert not any(c in FORBIDDEN for table in cells for c in table)
    _visible_text_ok(body)
    page.screenshot(path=str(screens_dir / "planner_duplicates.png"))
    assert_clean(recorded)


def test_viewer_has_neither_page(recorded: Recorded) -> None:
    recorded.sign_in(VIEWER)
    links = nav_links(recorded.page)
    assert "服务能力" not in links and "重复救助" not in links
