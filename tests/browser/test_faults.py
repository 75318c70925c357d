"""Faults in a real browser on PostgreSQL: the database stops while the app runs; the server is killed
(SIGKILL) in the middle of saving an import.

Each test runs its own throw-away PostgreSQL cluster (``scripts/pg_test_server.sh`` in a private
directory, so stopping it disturbs nothing else) and its own ``streamlit run serve.py``, as
``scripts/run_demo.sh`` starts it, with ``DATABASE_URL`` on that cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    PLANNER,
    ROOT,
    VIEWPORT,
    _free_port,
    _stop,
    _wait_healthy,
    missing_prerequisite,
    sign_in,
    wait_idle,
)

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from playwright.sync_api import Browser, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.postgres,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]

AUDIT_KEY = "faults-browser-audit-key-0123456789"
ID_KEY = "faults-browser-id-hash-key-0123456789"
PG_SCRIPT = ROOT / "scripts" / "pg_test_server.sh"
DB_DOWN_TEXT = "数据库暂时无法连接"
#: what must never reach the screen when the database is down
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "connection", "Error:", "socket")
#: (page link, URL path, its title once the database is back)
PAGES = (("总览", "overview"), ("满意度", "feedback"), ("月度清单", "monthly"), ("数据", "data"), ("报告", "reports"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (these tests start their own servers: not the session's app server)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _pg_binaries() -> bool:
    return any(Path(p).joinpath("initdb").is_file() for p in Path("/usr/lib/postgresql").glob("*/bin"))


@dataclass
class Cluster:
    """A private PostgreSQL cluster (unix socket only) driven through ``scripts/pg_test_server.sh``."""

    root: Path
    port: int
    url: str = ""

    def _run(self, action: str) -> str:
        env = {**os.environ, "XIHU_PG_TEST_DIR": str(self.root), "XIHU_PG_TEST_PORT": str(self.port)}
        done = subprocess.run(["bash", str(PG_SCRIPT), action], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> str:
        self.url = self._run("start")
        return self.url

    def stop(self) -> None:
        self._run("stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not _pg_binaries():
        pytest.skip("PostgreSQL server binaries are not installed (scripts/setup.sh --dev)")
    # short path: the socket path must stay under 107 bytes
    root = Path(tempfile.mkdtemp(prefix="xihu-pgf-")) / "pg"
    root.parent.chmod(0o711)  # as root, the cluster belongs to 'postgres', which must reach its folder
    c = Cluster(root=root, port=int(os.environ.get("XIHU_PG_TEST_PORT", "55432")))
    try:
        c.start()
        yield c
    finally:
        c._run("destroy")
        shutil.rmtree(root.parent, ignore_errors=True)


def _port() -> int:
    """A port of ``XIHU_TEST_APP_PORTS`` (e.g. ``8650-8659``) that is free, else any free port."""
    spec = os.environ.get("XIHU_TEST_APP_PORTS")
    if spec:
        import socket

        lo, hi = (int(x) for x in spec.split("-"))
        for port in range(lo, hi + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    return _free_port()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path


def _start_server(db_url: str, log: Path, port: int | None = None) -> Server:
    port = port or _port()
    env = {**os.environ, "DATABASE_URL": db_url, "XIHU_AUDIT_KEY": AUDIT_KEY, "XIHU_ID_HASH_KEY": ID_KEY,
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    exe = ROOT / ".venv" / "bin" / "streamlit"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "streamlit"]
    cmd += ["run", "serve.py", "--server.port", str(port), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]  # fmt: skip
    with log.open("ab") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(f"{base}/_stcore/health", proc, log)
    return Server(proc, base, log)


def _accounts(db_url: str) -> None:
    from argon2 import PasswordHasher

    from data.accounts.auth import AuthStore, Role
    from data.storage import Store

    with Store(db_url) as store:
        auth = AuthStore(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        auth.add_user(PLANNER, PASSWORD, Role.PLANNER)


def _text(page: Page) -> str:
    return page.locator("body").inner_text()


def _wait_text(page: Page, text: str, timeout_s: float) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if text in _text(page):
            return
        page.wait_for_timeout(250)
    pytest.fail(f"{text!r} not on the page within {timeout_s:.0f} s:\n{_text(page)[:1500]}")


def _assert_down_message(page: Page) -> None:
    wait_idle(page)
    _wait_text(page, DB_DOWN_TEXT, 60)
    body = _text(page)
    leaked = [w for w in LEAKS if w.lower() in body.lower()]
    assert not leaked, f"{leaked} on a page while the database is down:\n{body[:1500]}"


# ------------------------------------------------------------------------ the database stops


def test_database_stopped_every_page_says_so_in_chinese_and_recovers_by_itself(
    browser: Browser, cluster: Cluster, tmp_path: Path
) -> None:
    _accounts(cluster.url)
    server = _start_server(cluster.url, tmp_path / "streamlit.log")
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        sign_in(page, server.base_url, PLANNER)
        page.locator("h1").first.wait_for()
        assert "退出登录" in _text(page)

        cluster.stop()
        # a click in the running session, then every page opened afresh (the cookie signs it in)
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="满意度").click()
        _assert_down_message(page)
        for _, path in PAGES:
            page.goto(f"{server.base_url}/{path}", wait_until="domcontentloaded")
            _assert_down_message(page)
        # signing in while the database is down: the same message, not an error
        other = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        try:
            fresh = other.new_page()
            fresh.set_default_timeout(120_000)
            sign_in(fresh, server.base_url, PLANNER)
            _assert_down_message(fresh)
        finally:
            other.close()

        cluster.start()
        # no reload, no click: the page checks the database every few seconds and comes back signed in
        t0 = time.monotonic()
        while DB_DOWN_TEXT in _text(page) and time.monotonic() - t0 < 90:
            page.wait_for_timeout(250)
        recovered_s = time.monotonic() - t0
        assert DB_DOWN_TEXT not in _text(page), "the page did not recover when the database returned"
        wait_idle(page)
        page.locator("h1").first.wait_for()
        assert "退出登录" in _text(page) and page.get_by_label("用户名").count() == 0
        print(f"recovered {recovered_s:.1f} s after the database started again")
        assert server.proc.poll() is None, "the server died"
    finally:
        context.close()
        _stop(server.proc)
    log = server.log.read_text("utf-8", "replace")
    assert "Traceback" not in log, log[-3000:]


# ------------------------------------------------------------------------ the server is killed while saving


def _beneficiaries_csv(n: int, prefix: str, seed: int) -> bytes:
    """``n`` valid beneficiaries around Xihu's centre (distinct valid ID numbers), as the Data page reads them."""
    import datetime as dt

    from data.idcard import check_digit

    rng = np.random.default_rng(seed)
    lines = ["编号,姓名,身份证号,救助类别,家庭人口,经度,纬度,需求,紧急程度"]
    cats = ("低保", "低边", "特困")
    day0 = dt.date(1940, 1, 1)
    for i in range(n):
        born = day0 + dt.timedelta(days=i // 900)
        first17 = f"330106{born:%Y%m%d}{i % 900 + 100:03d}"
        lon, lat = 120.10 + rng.random() * 0.05, 30.245 + rng.random() * 0.03
        lines.append(f"{prefix}{i:06d},张{i % 10},{first17 + check_digit(first17)},{cats[i % 3]},{1 + i % 4},"
                     f"{lon:.6f},{lat:.6f},医疗救助,{1 + i % 5}")  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _state(db_url: str) -> tuple[int, set[str], list[str], int, bool]:
    """Stored beneficiaries (count, id prefixes), imported file names, audit entries, chain verifies."""
    from data.accounts.audit import AuditLog
    from data.storage import Store

    with Store(db_url) as store:
        with store.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.text("SELECT beneficiary_id FROM beneficiaries WHERE dataset='user'"))]
        files = list(store.list_imports(kind="beneficiaries")["file_name"])
        audit = AuditLog(store, AUDIT_KEY.encode())
        return len(ids), {i[:3] for i in ids}, files, len(audit.entries()), audit.verify().ok


def _upload_and_validate(page: Page, name: str, data: bytes) -> None:
    page.locator('[data-testid="stRadio"]').filter(has_text="数据类型").get_by_text("救助对象", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    wait_idle(page)
    page.get_by_role("button", name="校验并导入").click()
    wait_idle(page, timeout_s=300)


def test_server_killed_while_saving_an_import_leaves_old_or_new_never_half(
    browser: Browser, cluster: Cluster, tmp_path: Path
) -> None:
    n_old, n_new = 300, 40_000
    _accounts(cluster.url)
    log = tmp_path / "streamlit.log"
    server = _start_server(cluster.url, log)
    port = int(server.base_url.rsplit(":", 1)[1])
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    try:
        page = context.new_page()
        page.set_default_timeout(300_000)
        sign_in(page, server.base_url, PLANNER)
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="数据").click()
        wait_idle(page)
        # the old data: a first import, saved in full
        _upload_and_validate(page, "old.csv", _beneficiaries_csv(n_old, "OLD", 1))
        page.get_by_role("button", name="保存到数据库（替换已导入的同类数据）").click()
        wait_idle(page)
        _wait_text(page, "已保存", 60)
        old = _state(cluster.url)
        assert old[0] > 0 and old[1] == {"OLD"} and old[2] == ["old.csv"] and old[4], old

        # the new data: a large import; the server is killed while its transaction is in flight
        _upload_and_validate(page, "new.csv", _beneficiaries_csv(n_new, "NEW", 2))
        page.get_by_role("button", name="保存到数据库（替换已导入的同类数据）").click(no_wait_after=True)
        pid, t0 = None, time.monotonic()
        with admin.connect() as watch:
            while pid is None and time.monotonic() - t0 < 120:
                row = watch.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND backend_xid IS NOT NULL AND query ILIKE 'INSERT INTO beneficiaries%'"
                    )
                ).first()
                pid = None if row is None else int(row[0])
                if pid is None:
                    time.sleep(0.01)
        assert pid is not None, "the save's INSERT never showed in pg_stat_activity"
        os.kill(server.proc.pid, signal.SIGKILL)  # the server, mid-transaction
        server.proc.wait(timeout=30)
        t0 = time.monotonic()
        with admin.connect() as watch:
            while time.monotonic() - t0 < 60:
                n = watch.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar()
                if n == 0:
                    break
                time.sleep(0.05)
        after = _state(cluster.url)
        assert after == old, f"a killed save left the database half-written or changed: {after} vs {old}"

        # restart on the same database: still consistent, and the same save now goes through in full
        server = _start_server(cluster.url, log, port=port)
        context.close()
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(300_000)
        sign_in(page, server.base_url, PLANNER)
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="数据").click()
        wait_idle(page)
        _upload_and_validate(page, "new.csv", _beneficiaries_csv(n_new, "NEW", 2))
        page.get_by_role("button", name="保存到数据库（替换已导入的同类数据）").click()
        wait_idle(page, timeout_s=300)
        _wait_text(page, "已保存", 120)
        new = _state(cluster.url)
        assert new[1] == {"NEW"} and new[2] == ["new.csv", "old.csv"] and new[3] > old[3] and new[4], new
        print(f"old {old[0]} rows kept after the kill; new {new[0]} rows after the save on the restarted server")
    finally:
        context.close()
        admin.dispose()
        _stop(server.proc)
