"""A process killed (SIGKILL) in the middle of saving: the database holds the old rows or the new, never
half, and the audit chain still verifies.

The saving process is a real child process on the test PostgreSQL (``XIHU_TEST_PG_URL``). To hit the
window every time, the test holds the audit chain's head locked (``SELECT ... FOR UPDATE``, as a
concurrent writer would): the child writes all its rows, then waits for the head inside its
transaction; the test sees it waiting in ``pg_stat_activity`` with a transaction id (it has written),
kills it, and releases the lock. The same save left alone then commits in full.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from data.accounts.audit import AUDIT_HEAD, AuditLog
from data.storage import Store

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
KEY = "faults-test-audit-key-0123456789"
WAIT_S = 60.0

#: the child: one save as the Data page (or a command line) does it, rows and audit entry in one transaction
CHILD = r"""
import sys
import pandas as pd
from data.accounts.audit import AuditLog
from data.storage import ImportMeta, Store
from data import monthly
url, what, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = Store(url)
audit = AuditLog(store, KEY.encode())
if what == "table":
    frame = pd.DataFrame({"hub_id": [f"{tag}{i:06d}" for i in range(n)], "name": [f"站点{i}" for i in range(n)],
                          "tier": "village", "town_code": "330106001", "lon": 120.1, "lat": 30.25,
                          "synthetic": False, "coord_approx": False})
    meta = ImportMeta(file_name=f"{tag}.csv", file_sha256=tag * 8, n_read=n, n_accepted=n, n_rejected=0)
    store.save_table("hubs", frame.reindex(columns=__import__("data.schemas").schemas.TABLE_COLUMNS["hubs"]),
                     dataset="user", import_meta=meta,
                     in_transaction=lambda conn, k: audit.append_in(conn, "cli", "planner", "import_hubs",
                                                                    {"dataset": "user", "file": f"{tag}.csv"}, k))
else:
    frame = pd.DataFrame({"need_id": [f"{tag}{i}" for i in range(n)], "household_id": "H1", "item_id": "S01",
                          "urgency": 2})
    monthly.save_version(store, audit, "needs", "2026-03", frame, dataset="user", who="cli", role="planner",
                         file_name=f"{tag}.csv")
print("saved", flush=True)
""".replace("KEY", repr(KEY))


@pytest.fixture
def pg_url(store_url: str) -> str:
    if not store_url.startswith("postgresql"):
        pytest.skip("the kill test watches the saving process in PostgreSQL's pg_stat_activity")
    return store_url


def _child(url: str, what: str, n: int, tag: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, url, what, str(n), tag], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _waiting_writer(conn: sa.Connection, own_pid: int) -> int | None:
    """The backend of a transaction that has written (has a xid) and waits for a lock on the audit head."""
    row = conn.execute(
        sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> :own "
            "AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL AND query ILIKE '%audit_head%'"
        ),
        {"own": own_pid},
    ).first()
    conn.rollback()  # pg_stat_activity is a snapshot per transaction: a new one for every look
    return None if row is None else int(row[0])


def _backend_gone(admin: sa.Engine, pid: int) -> None:
    t0 = time.monotonic()
    with admin.connect() as conn:
        while time.monotonic() - t0 < WAIT_S:
            n = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar()
            conn.rollback()  # a fresh snapshot of pg_stat_activity next time
            if n == 0:
                return
            time.sleep(0.05)
    pytest.fail(f"the killed client's backend {pid} is still there after {WAIT_S:.0f} s")


def _state(store: Store, what: str) -> tuple[list[str], int]:
    """The saved ids (hubs) or versions (monthly needs), and the number of audit entries."""
    with store.engine.connect() as conn:
        if what == "table":
            ids = [r[0] for r in conn.execute(sa.text("SELECT hub_id FROM hubs WHERE dataset = 'user'")).all()]
        else:
            ids = [str(r[0]) for r in conn.execute(sa.text("SELECT version FROM list_versions")).all()]
    return sorted(ids), len(AuditLog(store, KEY.encode()).entries())


def _run_to_end(url: str, what: str, n: int, tag: str) -> None:
    proc = _child(url, what, n, tag)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and b"saved" in out, err.decode()[-2000:]


@pytest.mark.parametrize("what", ["table", "monthly"])
def test_killed_in_the_middle_of_a_save_leaves_old_or_new_never_half(pg_url: str, what: str) -> None:
    n_old, n_new = 500, 20_000
    _run_to_end(pg_url, what, n_old, "OLD")
    with Store(pg_url) as store:
        old_ids, old_audit = _state(store, what)
        assert len(old_ids) == (n_old if what == "table" else 1)
        admin = store.engine
        with admin.connect() as holder:
            tx = holder.begin()
            own_pid = int(holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            holder.execute(sa.select(AUDIT_HEAD).with_for_update())  # a concurrent writer holds the head
            child = _child(pg_url, what, n_new, "NEW")
            try:
                pid = None
                t0 = time.monotonic()
                with admin.connect() as watch:
                    while pid is None and time.monotonic() - t0 < WAIT_S and child.poll() is None:
                        pid = _waiting_writer(watch, own_pid)
                        time.sleep(0.02)
                assert pid is not None, "the saving process never reached the audit head"
                child.send_signal(signal.SIGKILL)  # mid-transaction: its rows are written, not committed
                child.communicate(timeout=30)
                assert child.returncode == -signal.SIGKILL
            finally:
                if child.poll() is None:
                    child.kill()
                child.communicate(timeout=30)  # reap it and close its pipes
                tx.rollback()
        _backend_gone(admin, pid)
        assert _state(store, what) == (old_ids, old_audit), "a killed save left part of its rows or its audit entry"
        assert AuditLog(store, KEY.encode()).verify().ok
    # the same save, not killed, stores the new rows in full
    _run_to_end(pg_url, what, n_new, "NEW")
    with Store(pg_url) as store:
        new_ids, new_audit = _state(store, what)
        assert new_audit == old_audit + 1
        if what == "table":
            assert len(new_ids) == n_new and all(i.startswith("NEW") for i in new_ids)
        else:
            assert new_ids == ["1", "2"]
        assert AuditLog(store, KEY.encode()).verify().ok
