"""The Reports page in Chromium, first build after a server start: the report prepared while the person
chooses (as ``serve.py`` does now) against prepared in the click (``XIHU_REPORTS_EARLY=0``, as before).

    PYTHONPATH=. .venv/bin/python bench/bench_reports_page.py [--think-s 10] [--repeat 1] [--cold]

For each way, in the same run: a fresh server (``streamlit run serve.py``, a new SQLite database, one
planner) waits until its warm-up is done; Chromium signs in, opens 报告, chooses every level and format
(clicks in the multiselects), waits ``--think-s`` more (the person reading the choices; 0 for machine
speed), clicks 生成报告 and waits for the download button. Printed: page opened -> download button and
click -> download button, for both ways, and their ratio. The ZIP is then downloaded; both ways must give
the same files, at least one per scope of the district (1 + towns + village points) and format.

``--cold``: the disclosure control's statuses, kept on disk per data (``geo.disclosure.default_cache_dir``),
are moved aside for each build and put back afterwards: the first build for new data.

Run by hand, never in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_load import (  # noqa: E402
    CHROMIUM,
    PASSWORD,
    Account,
    cpu_s,
    idle,
    server_idle,
    start_server,
    stop_server,
)
from core.i18n import label  # noqa: E402
from reports.build import FORMATS, LEVELS  # noqa: E402

LEVELS_ADDED = tuple(label("level", lv) for lv in LEVELS[1:])  # the page's default is the first, 区级
FORMATS_ADDED = tuple(f for f in FORMATS if f not in ("xlsx", "pdf"))  # the page's default: xlsx, pdf


@contextlib.contextmanager
def cold_disclosure(cold: bool) -> Iterator[None]:
    """With ``cold``, no kept disclosure statuses during the block (the user's kept ones restored after)."""
    from geo.disclosure import default_cache_dir

    cache = default_cache_dir()
    if not cold or not cache.exists():
        yield
        return
    aside = cache.with_name(cache.name + ".bench-aside")
    shutil.rmtree(aside, ignore_errors=True)
    cache.rename(aside)
    try:
        yield
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        aside.rename(cache)


async def _choose(page: Any, box: int, option: str) -> None:
    select = page.locator('[data-testid="stMultiSelect"]').nth(box)
    await select.click()
    await page.get_by_role("option", name=option, exact=True).click()
    await page.keyboard.press("Escape")
    await idle(page, settle_ms=300)


async def one_build(early: bool, think_s: float) -> tuple[float, float, int]:
    """(page opened -> download button, click -> download button, files in the ZIP)."""
    import psutil
    from playwright.async_api import async_playwright

    planner = Account("report_planner", "planner")
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp), 0, [planner], env={"XIHU_REPORTS_EARLY": "1" if early else "0"})
        server = psutil.Process(proc.pid)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
                )
                ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                page = await ctx.new_page()
                page.set_default_timeout(600_000)
                await page.goto(base + "/", wait_until="domcontentloaded")
                await server_idle(server, 300)  # the warm-up done, as for a person arriving later
                await page.get_by_label("用户名").fill(planner.username)
                await page.get_by_label("密码").fill(PASSWORD)
                await page.get_by_role("button", name="登录").click()
                await idle(page)
                c0 = cpu_s(server)
                t_open = time.monotonic()
                await page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="报告").first.click()
                await page.get_by_role("button", name="生成报告").wait_for()
                for level in LEVELS_ADDED:
                    await _choose(page, 0, level)
                for fmt in FORMATS_ADDED:
                    await _choose(page, 1, fmt)
                await asyncio.sleep(think_s)
                t_click = time.monotonic()
                await page.get_by_role("button", name="生成报告").click()
                button = page.get_by_role("button", name="下载报告（ZIP）")
                await button.wait_for()
                t_done = time.monotonic()
                print(f"  server CPU from page open to download: {cpu_s(server) - c0:.1f} s", file=sys.stderr)
                async with page.expect_download() as info:
                    await button.click()
                path = Path(tmp) / "reports.zip"
                await (await info.value).save_as(path)
                n = len(zipfile.ZipFile(io.BytesIO(path.read_bytes())).namelist())
                await browser.close()
        finally:
            stop_server(proc)
    return t_done - t_open, t_done - t_click, n


def scopes() -> int:
    """The district, its towns and its village points: the scopes a planner's report covers."""
    from core.settings import Settings
    from data.demo import load_default_bundle

    b = load_default_bundle(Settings().shared_data)
    return 1 + len(b.towns) + int((b.hubs["tier"] == "village").sum())


async def main_async(args: argparse.Namespace) -> int:
    least = 4 * scopes()
    rows: dict[str, list[tuple[float, float, int]]] = {"click": [], "early": []}
    for _ in range(args.repeat):
        for way in ("click", "early"):  # the peer first: the same machine state for both
            with cold_disclosure(args.cold):
                rows[way].append(await one_build(way == "early", args.think_s))
            print(f"{way}: {rows[way][-1]}", file=sys.stderr, flush=True)
    print(f"Reports page, planner, every level and format, first build after a start; "
          f"{args.think_s:g} s of choosing after the clicks in the lists; disclosure statuses "
          f"{'computed (--cold)' if args.cold else 'kept on disk from an earlier build'}\n")  # fmt: skip
    print("| way | page opened -> download (s) | click -> download (s) | files |")
    print("|---|---|---|---|")
    names = {"click": "prepared in the click (before, XIHU_REPORTS_EARLY=0)", "early": "prepared from page open (now)"}
    med: dict[str, float] = {}
    for way, rs in rows.items():
        rs.sort(key=lambda r: r[1])
        mid = rs[len(rs) // 2]
        med[way] = mid[1]
        print(f"| {names[way]} | {mid[0]:.1f} | {mid[1]:.1f} | {mid[2]} |")
    print(f"\nclick -> download: prepared in the click / prepared from page open = {med['click'] / med['early']:.2f}x")
    counts = {r[2] for rs in rows.values() for r in rs}
    if len(counts) != 1 or min(counts) < least:
        print(f"FAIL: files in the ZIPs {sorted(counts)}; one count, at least {least}, expected")
        return 1
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--think-s", type=float, default=10.0, help="seconds the person takes after choosing")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="without the disclosure statuses kept on disk")
    raise SystemExit(asyncio.run(main_async(ap.parse_args())))


if __name__ == "__main__":
    main()
