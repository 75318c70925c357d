"""Issue #11 in a real browser: hostile names never become live formulas in the downloaded report,
and an XLSX bomb is refused in Chinese within seconds while another session signs in normally."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.browser.conftest import (
    PLANNER,
    VIEWER,
    VIEWPORT,
    AppServer,
    Recorded,
    missing_prerequisite,
    sign_in,
    wait_idle,
)

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from playwright.sync_api import Browser

from tests.browser.test_browser import metric, nav_links, open_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]
HOSTILE = ['=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "+1+2", "-1+2", "@SUM(A1)"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def providers_csv() -> tuple[bytes, int]:
    """The demo providers with hostile names, as a user would upload them (raw formulas)."""
    from data.demo import load_default_bundle

    providers = load_default_bundle().providers.copy()
    providers.loc[providers.index[: len(HOSTILE)], "name"] = HOSTILE
    return providers.to_csv(index=False).encode("utf-8-sig"), len(providers)


def test_hostile_names_upload_then_report_download_has_no_live_formula(recorded: Recorded, tmp_path: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    open_page(page, "数据", "数据导入")
    page.locator('[data-testid="stRadio"]').filter(has_text="数据类型").get_by_text("服务主体", exact=True).click()
    wait_idle(page)
    data, n = providers_csv()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "providers_hostile.csv", "mimeType": "text/csv", "buffer": data}]
    )
    wait_idle(page)
    page.get_by_role("button", name="校验并导入").click()
    wait_idle(page)
    assert metric(page, "接受") == f"{n}", metric(page, "拒绝")
    page.get_by_role("button", name="保存到数据库（替换已导入的同类数据）").click()
    wait_idle(page)
    page.get_by_text(f"已保存 {n} 行到数据库。").wait_for()
    page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').get_by_text("已导入数据", exact=True).click()
    wait_idle(page)

    open_page(page, "报告", "覆盖报告")
    page.get_by_role("button", name="生成报告").click()
    wait_idle(page, timeout_s=600)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="下载报告（ZIP）").click()
    path = tmp_path / "reports.zip"
    info.value.save_as(path)
    texts: list[str] = []
    with zipfile.ZipFile(path) as zf:
        books = [name for name in zf.namelist() if name.endswith(".xlsx")]
        assert books, zf.namelist()
        for name in books:
            wb = openpyxl.load_workbook(io.BytesIO(zf.read(name)))
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (name, ws.title, cell.coordinate, cell.value)
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(FORMULA_START), (name, ws.title, cell.value)
                            texts.append(cell.value)
    assert {"'" + h for h in HOSTILE} <= set(texts)  # the names are there, as inert text


def test_xlsx_bomb_is_refused_in_chinese_while_another_session_signs_in(
    browser: Browser, app_server: AppServer, tmp_path: Path
) -> None:
    from tests.data.test_tables import bomb_xlsx

    bomb = bomb_xlsx(tmp_path / "bomb.xlsx", 120).read_bytes()
    ctx_a = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    ctx_b = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        a, b = ctx_a.new_page(), ctx_b.new_page()
        a.set_default_timeout(60_000)
        b.set_default_timeout(60_000)
        sign_in(a, app_server.base_url, PLANNER)
        open_page(a, "数据", "数据导入")
        # page A notes (in its own clock) when the refusal appears, while the test drives page B
        a.evaluate(
            """() => {
                window.__t0 = performance.now();
                window.__tRefused = null;
                new MutationObserver(() => {
                    if (window.__tRefused === null && document.body.innerText.includes("解压后")) {
                        window.__tRefused = performance.now();
                    }
                }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }"""
        )
        a.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "bomb.xlsx", "mimeType": "application/octet-stream", "buffer": bomb}]
        )
        # meanwhile a second user signs in
        t_b = time.monotonic()
        sign_in(b, app_server.base_url, VIEWER)
        assert "总览" in nav_links(b)
        signin_s = time.monotonic() - t_b
        error = a.locator('[data-testid="stAlertContentError"]').filter(has_text="解压后")
        error.wait_for(timeout=10_000)
        refused_s = a.evaluate("() => (window.__tRefused - window.__t0) / 1000")
        print(f"bomb refused after {refused_s:.1f} s; the other session signed in in {signin_s:.1f} s")
        assert refused_s < 10
        assert signin_s < 15
    finally:
        ctx_a.close()
        ctx_b.close()
