"""Fixtures of the browser tests: one real Streamlit server per session, Debian's Chromium, recorded pages.

The server runs ``streamlit run serve.py`` (app.py plus its cookie routes) on a free port of
127.0.0.1 against a fresh SQLite database in a temporary folder, with its own audit and
ID-hash keys; the accounts are made in-process, as an administrator would. ``HOME`` is left
alone (the network cache under ``~/.cache`` is reused).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHARED_DATA = ROOT.parent / "shared" / "data"
SCREENS = ROOT / "artifacts" / "screens"
PASSWORD = "correct-horse-battery-staple"
PLANNER, VIEWER, GUEST = "planner_b", "viewer_b", "guest_b"
ACCOUNTS = {PLANNER: "planner", VIEWER: "viewer", GUEST: "viewer"}
ADMIN, TOWN_MANAGER, VILLAGE_MANAGER = "admin_b", "town_b", "village_b"
#: accounts with an area: name -> (role, town code, village code)
AREA_ACCOUNTS = {
    ADMIN: ("admin", None, None),
    TOWN_MANAGER: ("town_manager", "330106008", None),
    VILLAGE_MANAGER: ("village_manager", None, "330106002051"),
}
HEALTH_TIMEOUT_S = 90.0
#: longest wait for one Streamlit run (the first coverage of a cold server is the slowest)
RUN_TIMEOUT_S = 120.0
VIEWPORT = {"width": 1400, "height": 1000}


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"Debian's Chromium is not installed at {CHROMIUM} (scripts/setup.sh --dev installs it)"
    if not (SHARED_DATA / "xihu").is_dir():
        return f"the Xihu demo data is absent ({SHARED_DATA / 'xihu'}); the app has nothing to map"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class AppServer:
    """A running ``streamlit run app.py``."""

    base_url: str  # http://127.0.0.1:<port>
    netloc: str  # 127.0.0.1:<port>
    log_path: Path

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < HEALTH_TIMEOUT_S:
        if proc.poll() is not None:
            tail = log_path.read_text("utf-8", "replace")[-3000:]
            pytest.fail(f"streamlit exited with code {proc.returncode} before answering {url}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    tail = log_path.read_text("utf-8", "replace")[-3000:]
    pytest.fail(f"streamlit did not answer {url} within {HEALTH_TIMEOUT_S:.0f} s:\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app on a free port with a fresh database and an account of every role (and a second viewer)."""
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    from argon2 import PasswordHasher

    from data.accounts.auth import AuthStore, Role
    from data.storage import Store
    from layers.assets import missing_vendor_files

    missing = missing_vendor_files()
    if missing:
        pytest.fail(f"static/vendor is incomplete ({missing[0]} ...): run scripts/setup.sh; the map needs Leaflet")

    tmp = tmp_path_factory.mktemp("browser_app")
    db_url = f"sqlite:///{tmp / 'app.sqlite'}"
    auth = AuthStore(Store(db_url), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for name, role in ACCOUNTS.items():
        auth.add_user(name, PASSWORD, Role(role))
    for name, (role, town, village) in AREA_ACCOUNTS.items():
        auth.add_user(name, PASSWORD, Role(role), town_code=town, village_code=village)

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "XIHU_AUDIT_KEY": "browser-test-audit-key-0123456789",
        "XIHU_ID_HASH_KEY": "browser-test-id-hash-key-0123456789",
        "PYTHONPATH": str(ROOT),
    }
    exe = ROOT / ".venv" / "bin" / "streamlit"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "streamlit"]
    cmd += [
        "run", "serve.py", "--server.port", str(port), "--server.headless", "true",
        "--server.address", "127.0.0.1",
        # pages may be edited while the suite runs: never let a file change rerun a session
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log_path = tmp / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base}/_stcore/health", proc, log_path)
        yield AppServer(base_url=base, netloc=f"127.0.0.1:{port}", log_path=log_path)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser(app_server: AppServer) -> Iterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_idle(page: Page, *, settle_s: float = 1.0, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Wait until Streamlit has finished running: script not running, no status widget, for ``settle_s``."""
    t0 = time.monotonic()
    quiet_since: float | None = None
    state: str | None = None
    app = page.locator('[data-testid="stApp"]')
    while time.monotonic() - t0 < timeout_s:
        state = app.get_attribute("data-test-script-state") if app.count() else None
        busy = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if state == "notRunning" and not busy:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(100)
    pytest.fail(f"Streamlit still running after {timeout_s:.0f} s (script state {state!r})")


def sign_in(page: Page, base_url: str, user: str, password: str = PASSWORD) -> None:
    """Open the app at ``base_url`` and sign in through the real form (用户名 / 密码 / 登录).

    The one sign-in of the browser tests (and of :class:`Recorded`'s :meth:`Recorded.sign_in`).
    """
    page.goto(base_url + "/", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    wait_idle(page)


@dataclass
class Recorded:
    """A fresh browser page (a new Streamlit session) and everything it did."""

    page: Page
    server: AppServer
    log_offset: int
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def sign_in(self, user: str, password: str = PASSWORD) -> None:
        """Sign in on this page (:func:`sign_in`)."""
        sign_in(self.page, self.server.base_url, user, password)


@pytest.fixture
def recorded(browser: Browser, app_server: AppServer) -> Iterator[Recorded]:
    """A page in its own browser context that records every request (all frames) and dismisses dialogs."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    rec = Recorded(page=page, server=app_server, log_offset=app_server.log_size())

    def on_dialog(dialog: Any) -> None:
        rec.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("request", lambda r: rec.requests.append(r.url))
    page.on("websocket", lambda ws: rec.requests.append(ws.url))
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: rec.page_errors.append(str(e)))
    try:
        yield rec
    finally:
        context.close()


@pytest.fixture(scope="session")
def screens_dir() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS
