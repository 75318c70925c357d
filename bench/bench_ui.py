"""What the person feels, in Chromium: input -> figures updated, on the Xihu demo.

    PYTHONPATH=. .venv/bin/python bench/bench_ui.py [--clicks 5]

Starts ``streamlit run serve.py`` on a free loopback port with a fresh SQLite database and a
planner account, drives Debian's Chromium with Playwright and prints a table of medians:

* planner: a click on the map in the add-a-station mode -> the script run it starts is over
  (the comparison table and map redrawn), ``--clicks`` clicks after one warm-up click;
* overview: one step of the minutes slider (arrow key) -> run over and the map drawn again;
* hub view: another hub chosen in the list -> run over and its map drawn;
* sign-in -> overview map drawn: the first right after the server answers (its warm-up still
  running) and a later one in a new page;
* every page of the sidebar (before the inputs above): a click on its link -> its script run
  over, the first visit after the warm-up and later visits (``--only pages``).

A run is timed from the input to the ``data-test-script-state`` of the app going back to
``notRunning`` after it was ``running`` (a MutationObserver records every change), then until
the map frame holds a drawn Leaflet map. Run by hand, never in the test suite.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery-staple"
USER = "bench_planner"
MAP = 'iframe[title="streamlit_folium.st_folium"]'

RECORDER = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__states = [[performance.now(), app.getAttribute('data-test-script-state')]];
    new MutationObserver(() => window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]))
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# ms from t0 until the state is notRunning after having been running (or null)
DONE_SINCE = """(t0) => {
    let ran = false;
    for (const [t, s] of window.__states) {
        if (t < t0) continue;
        if (s === 'running') ran = true;
        else if (ran && s === 'notRunning') return t - t0;
    }
    return null;
}"""

# Installed before an input: the page's clock when the map frame (a new one if ``fresh``) holds a
# drawn Leaflet map and, with ``sel``, at least ``min`` elements matching it (polled every 5 ms in
# the page itself, so the time does not include Playwright's round trips)
WATCH_DRAWN = """(opts) => {
    window.__drawnAt = null;
    const map = 'iframe[title="streamlit_folium.st_folium"]';
    if (opts.fresh) document.querySelectorAll(map).forEach(f => f.__xihuOld = true);
    const id = setInterval(() => {
        const f = document.querySelector(map);
        if (!f || (opts.fresh && f.__xihuOld)) return;
        let d = null;
        try { d = f.contentDocument; } catch (e) { return; }
        if (!d || !d.querySelector('.leaflet-container path')) return;
        if (opts.sel && d.querySelectorAll(opts.sel).length < opts.min) return;
        window.__drawnAt = performance.now();
        clearInterval(id);
    }, 5);
    setTimeout(() => clearInterval(id), 60000);
}"""
NEW_STATION = 'path.leaflet-interactive[fill="#ffd600"]'  # a scenario's new station (pages._map.Mark)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    from argon2 import PasswordHasher

    from data.accounts.auth import AuthStore, Role
    from data.storage import Store

    db = f"sqlite:///{tmp / 'bench.sqlite'}"
    auth = AuthStore(Store(db), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    auth.add_user(USER, PASSWORD, Role.PLANNER)
    port = port or _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "XIHU_AUDIT_KEY": "bench-audit-key-0123456789",
        "XIHU_ID_HASH_KEY": "bench-id-hash-key-0123456789",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "serve.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none"]  # fmt: skip
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not start")


def wait_idle(page, settle_ms: int = 800, timeout_s: float = 180) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    quiet = None
    while time.monotonic() - t0 < timeout_s:
        state = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")
        if state == "notRunning" and page.locator('[data-testid="stStatusWidget"]').count() == 0:
            quiet = quiet or time.monotonic()
            if (time.monotonic() - quiet) * 1000 >= settle_ms:
                return
        else:
            quiet = None
        page.wait_for_timeout(50)
    raise SystemExit("the app kept running")


def map_drawn(page) -> None:  # type: ignore[no-untyped-def]
    for attempt in range(20):  # a map whose frame is replaced (a new component key) detaches the old one
        try:
            frame = page.locator(MAP).first.element_handle().content_frame()
            frame.wait_for_selector(".leaflet-container", state="attached", timeout=120_000)
            frame.wait_for_selector("path", state="attached", timeout=120_000)
            return
        except Exception as exc:
            if "detached" not in str(exc) or attempt == 19:
                raise
            page.wait_for_timeout(50)


SERVER: dict[str, Any] = {}  # "proc": psutil.Process of the server, "cpu": CPU ms per timed input


def _server_cpu_ms() -> float:
    proc = SERVER.get("proc")
    if proc is None:
        return float("nan")
    t = proc.cpu_times()  # type: ignore[attr-defined]
    return 1000.0 * (t.user + t.system)


def timed(page, action, *, fresh: bool = False, sel: str = "", min_n: int = 0) -> float:  # type: ignore[no-untyped-def]
    """ms from ``action()`` to the run it starts being over and the map drawn (see
    :data:`WATCH_DRAWN`: ``fresh`` a new map frame, ``sel`` at least ``min_n`` such elements in it),
    both on the page's clock. The server's CPU ms over the same span, until the app is idle
    again, is appended to ``SERVER["cpu"]``."""
    page.evaluate(RECORDER)
    page.evaluate(WATCH_DRAWN, {"fresh": fresh, "sel": sel, "min": min_n})
    t0 = page.evaluate("performance.now()")
    cpu0 = _server_cpu_ms()
    try:
        return _timed(page, action, t0)
    finally:
        wait_idle(page, settle_ms=300)
        SERVER.setdefault("cpu", []).append(_server_cpu_ms() - cpu0)


def _run_over(page, t0: float, deadline: float) -> float | None:  # type: ignore[no-untyped-def]
    """ms from ``t0`` (the page's clock) until the script run started since is over; None at ``deadline``."""
    while time.monotonic() < deadline:
        done = page.evaluate(DONE_SINCE, t0)
        if done is not None:
            return float(done)
        page.wait_for_timeout(5)
    return None


def _timed(page, action, t0: float) -> float:  # type: ignore[no-untyped-def]
    action()
    deadline = time.monotonic() + 30  # no run within 30 s: the input started none (nan)
    done = _run_over(page, t0, deadline)
    if done is None:
        return float("nan")
    SERVER.setdefault("run", []).append(float(done))
    while time.monotonic() < deadline:
        drawn = page.evaluate("window.__drawnAt")
        if drawn is not None:
            return max(float(done), float(drawn) - t0)
        page.wait_for_timeout(5)
    return float("nan")


def sign_in(page, base: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Open the app and sign in: (s from opening the address to the form, s from the click on
    登录 to the overview map drawn). No settling wait in between: the map frame is waited for."""
    t0 = time.monotonic()
    page.goto(base + "/", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(USER)
    page.get_by_label("密码").fill(PASSWORD)
    t1 = time.monotonic()
    page.get_by_role("button", name="登录").click()
    map_drawn(page)
    t2 = time.monotonic()
    wait_idle(page)
    return t1 - t0, t2 - t1


def open_page(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=label).first.click()
    wait_idle(page)


def bench_planner(page, clicks: int) -> list[float]:  # type: ignore[no-untyped-def]
    open_page(page, "选址规划")
    page.get_by_text("在点击处添加站点", exact=True).click()
    wait_idle(page)
    iframe = page.locator(MAP).first
    iframe.evaluate("el => el.scrollIntoView({block: 'center'})")
    map_drawn(page)
    box = iframe.bounding_box()
    assert box is not None
    out = []
    for i in range(clicks + 1):  # the first is a warm-up
        x = box["x"] + box["width"] * (0.35 + 0.07 * i)
        y = box["y"] + box["height"] * (0.40 + 0.04 * (i % 3))
        frame = page.locator(MAP).first.element_handle().content_frame()
        before = frame.locator(NEW_STATION).count()
        ms = timed(page, lambda x=x, y=y: page.mouse.click(x, y), sel=NEW_STATION, min_n=before + 1)
        wait_idle(page, settle_ms=300)
        if i:
            out.append(ms)
    return out


def bench_overview(page, steps: int) -> list[float]:  # type: ignore[no-untyped-def]
    open_page(page, "总览")
    map_drawn(page)
    # the minutes slider's thumb: a react-aria range input inside the widget keyed "minutes"
    thumb = page.locator('[data-testid="stSidebar"] .st-key-minutes input[type="range"]').first
    out = []
    for i in range(steps + 1):
        thumb.focus()
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        ms = timed(page, lambda key=key: page.keyboard.press(key), fresh=True)  # another map: a new frame
        wait_idle(page, settle_ms=300)
        if i:
            out.append(ms)
    return out


def bench_hubs(page, picks: int) -> list[float]:  # type: ignore[no-untyped-def]
    open_page(page, "镇街 / 村社")
    map_drawn(page)
    out = []
    for i in range(picks + 1):
        select = page.locator('[data-testid="stSelectbox"]').filter(has_text="选择站点").first
        select.click()
        options = page.locator('[role="option"]')
        options.first.wait_for()
        target = options.nth((i + 1) % max(1, options.count()))
        ms = timed(page, target.click)
        wait_idle(page, settle_ms=300)
        if i:
            out.append(ms)
    return out


def run_over_ms(page, action) -> float:  # type: ignore[no-untyped-def]
    """ms from ``action`` until the script run it starts is over (the page's content sent)."""
    page.evaluate(RECORDER)
    t0 = page.evaluate("performance.now()")
    action()
    done = _run_over(page, t0, time.monotonic() + 120)
    return float("nan") if done is None else done


def bench_pages(page, rounds: int) -> list[tuple[str, float, list[float]]]:  # type: ignore[no-untyped-def]
    """Every page of the sidebar in turn: (label, ms of its first visit, ms of ``rounds`` later visits)."""
    links = page.locator('[data-testid="stSidebarNavLink"]').all_text_contents()
    links = links[1:] + links[:1]  # the overview (open already) last
    out: dict[str, list[float]] = {label: [] for label in links}
    for _ in range(rounds + 1):
        for label in links:
            link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=label).first
            out[label].append(run_over_ms(page, link.click))
            wait_idle(page, settle_ms=300)
    return [(label, ms[0], ms[1:]) for label, ms in out.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=5)
    ap.add_argument("--port", type=int, default=0, help="loopback port of the server (default: a free one)")
    ap.add_argument("--only", default="", help="only the inputs whose name starts so (planner, overview, hub, pages)")
    args = ap.parse_args()
    import psutil
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp), args.port)
        SERVER["proc"] = psutil.Process(proc.pid)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
                page.set_default_timeout(120_000)
                first = sign_in(page, base)  # right after the server answers: its warm-up is still running
                # the server's warm-up (serve.py) must not count as the inputs' CPU: wait until idle
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    c0 = _server_cpu_ms()
                    time.sleep(5)
                    if _server_cpu_ms() - c0 < 500:
                        break
                rows = []
                visits = []
                if "pages".startswith(args.only) or not args.only:  # first: every page's first visit
                    visits = bench_pages(page, max(1, args.clicks // 2))
                for name, goal, fn in (
                    ("planner: click on the map, add-a-station mode", 300, bench_planner),
                    ("overview: one step of the minutes slider", 500, bench_overview),
                    ("hub view: another hub chosen", 500, bench_hubs),
                ):
                    if not name.startswith(args.only):
                        continue
                    SERVER["cpu"] = []
                    SERVER["run"] = []
                    try:
                        ms = fn(page, args.clicks)
                    except Exception as exc:  # report what was measured
                        print(f"{name}: failed ({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
                        ms = []
                    cpu = list(SERVER["cpu"])[1:]  # type: ignore[call-overload]  # the first is the warm-up
                    run = list(SERVER["run"])[1:]  # type: ignore[call-overload]
                    print(
                        f"{name}: {[f'{m:.0f}' for m in ms]} (server CPU ms {[f'{c:.0f}' for c in cpu]}; "
                        f"run over after ms {[f'{r:.0f}' for r in run]})",
                        file=sys.stderr,
                    )
                    rows.append((name, goal, ms, cpu, run))
                other = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
                other.set_default_timeout(120_000)
                later = sign_in(other, base)  # another person, later
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(
        "| input -> figures updated | n | median ms | min ms | max ms | goal ms | server CPU ms (median) "
        "| script run over after ms (median) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for what, (form_s, drawn_s), goal in (("first after the server started", first, 5000), ("later", later, 2000)):
        print(f"| sign-in (click on 登录) -> overview map drawn, {what} | 1 | {1000 * drawn_s:.0f} | | | {goal} | | |")
        print(f"| address opened -> sign-in form, {what} | 1 | {1000 * form_s:.0f} | | | - | | |")
    for name, goal, ms, cpu, run in rows:
        good = [m for m in ms if m == m]
        med = statistics.median(good) if good else float("nan")
        lo, hi = (min(good), max(good)) if good else (float("nan"), float("nan"))
        c = statistics.median(cpu) if cpu else float("nan")
        r = statistics.median(run) if run else float("nan")
        print(f"| {name} | {len(good)} | {med:.0f} | {lo:.0f} | {hi:.0f} | {goal} | {c:.0f} | {r:.0f} |")
    if visits:
        print("\n| page: click on its sidebar link -> script run over | first visit ms | later visits ms (median) |")
        print("|---|---|---|")
        for label, first_ms, again in visits:
            seen = [m for m in again if m == m]  # nan: no script run was seen starting
            print(f"| {label} | {first_ms:.0f} | {statistics.median(seen) if seen else float('nan'):.0f} |")
        print()


if __name__ == "__main__":
    main()
