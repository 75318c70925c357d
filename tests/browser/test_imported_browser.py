"""The 匹配 page on a bureau's imported dataset, in Debian's Chromium: the map, its legends, no internal codes.

Its own server: a fresh SQLite database into which :mod:`tests.imported_data`'s files were
saved with ``python -m data import --save``, then ``streamlit run serve.py`` on it
(``XIHU_BROWSER_PORT`` chooses the port, else a free one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    PLANNER,
    RUN_TIMEOUT_S,
    VIEWPORT,
    AppServer,
    Recorded,
    _free_port,
    _stop,
    _wait_healthy,
    missing_prerequisite,
    wait_idle,
)
from tests.browser.test_browser import MAP_IFRAME, assert_clean, metric, open_page
from tests.imported_data import IMPORT_ORDER, UserFiles, import_args, write_user_files

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
#: codes that must never reach a Chinese screen (vocabulary codes, reason codes, demo ids, Python's missing values)
INTERNAL = re.compile(
    r"\b(None|nan|NaN|survival|care|development|onsite|home|remote|no_offer|no_location|off_network|"
    r"out_of_reach|dibao|dibian|tekun|linshi|zhuanxiang|government|enterprise|social_org|volunteer)\b|SYN-"
)


@pytest.fixture(scope="module")
def imported_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, UserFiles]]:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    from argon2 import PasswordHasher

    from core.settings import Settings
    from data.__main__ import main
    from data.accounts.auth import AuthStore, Role
    from data.demo import load_default_bundle
    from data.storage import Store

    tmp = tmp_path_factory.mktemp("imported_app")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}",
        "XIHU_AUDIT_KEY": "browser-imported-audit-key-0123456789",
        "XIHU_ID_HASH_KEY": "browser-imported-id-hash-key-0123456789",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        store = Store(env["DATABASE_URL"])
        auth = AuthStore(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        auth.add_user(PLANNER, PASSWORD, Role.PLANNER)
        store.close()
        files = write_user_files(load_default_bundle(Settings().shared_data), tmp / "files", max_households=150)
        for kind in IMPORT_ORDER:
            assert main(import_args(files, kind, tmp / "out")) == 0, kind
    port = int(os.environ.get("XIHU_BROWSER_PORT") or _free_port())
    exe = ROOT / ".venv" / "bin" / "streamlit"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "streamlit"]
    cmd += ["run", "serve.py", "--server.port", str(port), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]  # fmt: skip
    log_path = tmp / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base}/_stcore/health", proc, log_path)
        yield AppServer(base_url=base, netloc=f"127.0.0.1:{port}", log_path=log_path), files
    finally:
        _stop(proc)


@pytest.fixture
def rec(imported_server: tuple[AppServer, UserFiles]) -> Iterator[Recorded]:
    from playwright.sync_api import sync_playwright

    server, _ = imported_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)
        recorded = Recorded(page=page, server=server, log_offset=server.log_size())
        page.on("request", lambda r: recorded.requests.append(r.url))
        page.on("websocket", lambda ws: recorded.requests.append(ws.url))
        page.on("dialog", lambda d: (recorded.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: recorded.page_errors.append(str(e)))
        try:
            yield recorded
        finally:
            context.close()
            browser.close()


def test_matching_page_on_the_imported_dataset(
    rec: Recorded, imported_server: tuple[AppServer, UserFiles], screens_dir: Path
) -> None:
    _, files = imported_server
    page = rec.page
    rec.sign_in(PLANNER)
    page.locator('[data-testid="stSidebar"]').get_by_text("已导入数据").click()
    wait_idle(page)
    open_page(page, "匹配", "供需精准匹配")
    assert int(metric(page, "需求数").replace(",", "")) == len(files.needs)
    iframe = page.locator(MAP_IFRAME)
    iframe.wait_for()
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    frame.wait_for_selector("path.xihu-search", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    legends = frame.locator(".xihu-legend-box")
    assert legends.count() == 2  # the map's own, and the search layer's
    assert "检索结果" in legends.nth(1).inner_text() and "有剩余服务能力" in legends.nth(1).inner_text()
    page.get_by_text("显示服务可及性（E2SFCA，按需求类型）").click()
    wait_idle(page)
    frame = page.locator(MAP_IFRAME).element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector("path.xihu-access", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    legend = frame.locator(".xihu-legend-box").nth(1).inner_text()
    assert "服务可及性（每户每月人次）" in legend and "E2SFCA" in legend
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "需求清单：2026-03 第 1 版（已导入）" in body
    found = INTERNAL.findall(body) + INTERNAL.findall(legend)
    assert not found, found
    page.screenshot(path=str(screens_dir / "imported_matching.png"), full_page=True)
    assert_clean(rec)
