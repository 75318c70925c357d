"""Audit log: append-only, HMAC-chained; edits, deletions, reordering and forgeries are found.

On SQLite and on PostgreSQL (``XIHU_TEST_PG_URL``, see ``scripts/pg_test_server.sh``).
Tampering is simulated as a database administrator would do it: drop the append-only
trigger, then UPDATE / DELETE / INSERT rows directly with SQLAlchemy.
"""

from __future__ import annotations

import math
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.errors import AuditError, AuditKeyError
from data.accounts.audit import (
    AUDIT_HEAD,
    AUDIT_KEY_ENV,
    AUDIT_LOG,
    GENESIS_MAC,
    AuditLog,
    audit_key,
    entry_mac,
    sha256_hex,
)
from data.storage import StorageError, Store

KEY = b"test-audit-key-0123456789abcdef"
T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def log(store: Store) -> AuditLog:
    """Five entries: exports and views by three users."""
    a = AuditLog(store, KEY)
    rows = [
        ("planner1", "planner", "export_xlsx", {"town_code": None, "page": "覆盖报告"}, 4000, sha256_hex(b"xlsx")),
        ("cuiyuan", "town_manager", "view_beneficiaries", {"town_code": "330106005"}, 185, None),
        ("cuiyuan", "town_manager", "export_csv", {"town_code": "330106005", "cols": ["a", "b"]}, 185, "ab" * 32),
        ("baoshi", "village_manager", "area_denied", {"requested": {"village_code": "330106013010"}}, 0, None),
        ("planner1", "planner", "export_gpkg", {"town_code": "330106013"}, 1065, "cd" * 32),
    ]
    for i, (who, role, action, flt, n, fh) in enumerate(rows):
        assert a.append(who, role, action, flt, n, fh, now=T0 + timedelta(minutes=i)) == i + 1
    return a


def drop_guard(store: Store) -> None:
    """What an administrator who owns the table can do: remove the append-only triggers."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))


def tamper(store: Store, *statements: sa.Executable) -> None:
    drop_guard(store)
    with store.engine.begin() as conn:
        for st in statements:
            conn.execute(st)


# -- writing -----------------------------------------------------------------------------------------
def test_empty_log_verifies(store: Store) -> None:
    result = AuditLog(store, KEY).verify()
    assert (result.ok, result.n_entries, result.first_broken_seq) == (True, 0, None)


def test_entries_hold_what_was_appended_and_chain(log: AuditLog) -> None:
    entries = log.entries()
    assert [e.seq for e in entries] == [5, 4, 3, 2, 1]  # newest first
    first = entries[-1]
    assert (first.who, first.role, first.action, first.row_count) == ("planner1", "planner", "export_xlsx", 4000)
    assert first.filter == {"town_code": None, "page": "覆盖报告"}
    assert first.file_hash == sha256_hex(b"xlsx")
    assert first.at == T0
    assert first.prev_mac == GENESIS_MAC
    assert [e.prev_mac for e in entries[:-1]] == [e.mac for e in entries[1:]]
    assert [e.seq for e in log.entries(who="cuiyuan")] == [3, 2]
    assert len(log.entries(limit=2)) == 2
    result = log.verify()
    assert (result.ok, result.n_entries, result.reason) == (True, 5, "")


def test_mac_covers_every_field(log: AuditLog) -> None:
    e = log.entries(limit=None)[-1]
    fields = {
        "seq": e.seq,
        "at": e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "who": e.who,
        "role": e.role,
        "action": e.action,
        "filter_json": '{"page":"覆盖报告","town_code":null}',
        "row_count": e.row_count,
        "file_hash": e.file_hash,
        "prev_mac": e.prev_mac,
    }
    assert entry_mac(KEY, **fields) == e.mac  # type: ignore[arg-type]
    for name, other in [("who", "planner2"), ("row_count", 4001), ("file_hash", None), ("seq", 2)]:
        assert entry_mac(KEY, **{**fields, name: other}) != e.mac  # type: ignore[arg-type]
    assert entry_mac(b"another-key-0123456789", **fields) != e.mac  # type: ignore[arg-type]


def test_bad_entries_are_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError, match="普通 JSON"):
        log.append("u", "planner", "export", {"x": math.nan}, 1)
    with pytest.raises(AuditError, match="普通 JSON"):
        log.append("u", "planner", "export", {"x": object()}, 1)
    with pytest.raises(AuditError, match="非负整数"):
        log.append("u", "planner", "export", {}, -1)
    with pytest.raises(AuditError, match="说明操作"):
        log.append("u", "planner", " ", {}, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        log.append("u", "planner", "export", {}, 1, now=datetime(2026, 1, 1))
    assert log.verify().n_entries == 5


def test_database_refuses_update_and_delete(log: AuditLog, store: Store) -> None:
    for statement in (
        sa.update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2).values(row_count=0),
        sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(statement)
    if store.dialect == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_log"))
    assert log.verify().ok


def test_concurrent_appends_keep_one_unbroken_chain(store: Store) -> None:
    log = AuditLog(store, KEY)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                log.append(f"user{worker}", "planner", "view", {"i": i}, i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(e.seq for e in log.entries(limit=None)) == list(range(1, 61))
    assert log.verify().ok


# -- tampering ---------------------------------------------------------------------------------------
def test_edited_entry_is_found(log: AuditLog, store: Store) -> None:
    tamper(store, sa.update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 3).values(row_count=10))
    result = log.verify()
    assert (result.ok, result.first_broken_seq, result.n_entries) == (False, 3, 2)
    assert "第 3 条记录的内容被修改" in result.reason
    assert "edited" in result.reason_en


def test_edit_with_a_recomputed_mac_but_without_the_key_is_found(log: AuditLog, store: Store) -> None:
    e = next(e for e in log.entries() if e.seq == 2)
    forged_filter = '{"town_code":"330106013"}'
    forged = entry_mac(
        b"attacker-guess-0123456789",
        seq=2,
        at=e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        who=e.who,
        role=e.role,
        action=e.action,
        filter_json=forged_filter,
        row_count=e.row_count,
        file_hash=e.file_hash,
        prev_mac=e.prev_mac,
    )
    tamper(store, sa.update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2).values(filter_json=forged_filter, mac=forged))
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_deleted_entry_is_found(log: AuditLog, store: Store) -> None:
    tamper(store, sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.seq == 3))
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "第 3 条记录缺失" in result.reason


def test_deleted_newest_entry_is_found_and_not_hidden_by_later_appends(log: AuditLog, store: Store) -> None:
    tamper(store, sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.seq >= 4))
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert "4-5" in result.reason
    # a new entry chains onto the recorded head, so the hole stays visible
    assert log.append("planner1", "planner", "view", {}, 1) == 6
    assert log.verify().first_broken_seq == 4


def test_reordered_entries_are_found(log: AuditLog, store: Store) -> None:
    seq = AUDIT_LOG.c.seq
    tamper(
        store,
        sa.update(AUDIT_LOG).where(seq == 2).values(seq=-2),
        sa.update(AUDIT_LOG).where(seq == 3).values(seq=2),
        sa.update(AUDIT_LOG).where(seq == -2).values(seq=3),
    )
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "顺序" in result.reason


def test_entry_inserted_behind_the_api_is_found(log: AuditLog, store: Store) -> None:
    last = log.entries(limit=1)[0]
    row = {
        "seq": 6,
        "at": "2026-03-02T09:00:00.000000Z",
        "who": "x",
        "role": "planner",
        "action": "view",
        "filter_json": "{}",
        "row_count": 0,
        "file_hash": None,
        "prev_mac": last.mac,
        "mac": "0" * 64,
    }
    with store.engine.begin() as conn:
        conn.execute(AUDIT_LOG.insert(), row)
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 6)


def test_tampered_head_stops_appends(log: AuditLog, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.update(AUDIT_HEAD).values(seq=3))
    assert log.verify().ok is False
    with pytest.raises(AuditError, match="链头校验失败"):
        log.append("planner1", "planner", "export_xlsx", {}, 1)


def test_deleted_head_is_found_and_stops_appends(log: AuditLog, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.delete(AUDIT_HEAD))
    result = AuditLog(store, KEY).verify()  # a new instance does not paper over it with a fresh head
    assert (result.ok, result.first_broken_seq) == (False, 1)
    assert "链头记录缺失" in result.reason
    with pytest.raises(AuditError, match="链头记录缺失"):
        log.append("planner1", "planner", "export_xlsx", {}, 1)


def test_another_key_does_not_verify(log: AuditLog, store: Store) -> None:
    result = AuditLog(store, b"some-other-key-0123456789").verify()
    assert (result.ok, result.first_broken_seq) == (False, 5)  # the head's own MAC fails first
    with pytest.raises(AuditKeyError):
        AuditLog(store, b"short")


# -- key -----------------------------------------------------------------------------------------------
def test_key_from_environment_or_a_private_file(tmp_path: Path) -> None:
    assert audit_key(env={AUDIT_KEY_ENV: "k" * 20}) == b"k" * 20
    with pytest.raises(AuditKeyError, match="至少需要"):
        audit_key(env={AUDIT_KEY_ENV: "short"})
    path = tmp_path / "keys" / "audit.key"
    with pytest.raises(AuditKeyError, match="找不到审计密钥"):
        audit_key(env={}, key_file=path, create=False)
    key = audit_key(env={}, key_file=path)
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit_key(env={}, key_file=path, create=False) == key
    default = audit_key(env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert (tmp_path / "xdg" / "xihu-service-map" / "audit.key").read_bytes() == default != key


# -- an import and its audit entry in one transaction (issue #11, item 7d) -----------------------
def _hubs(n: int) -> pd.DataFrame:
    from tests.data.test_storage import hubs_frame

    return hubs_frame().head(n)


def _stored(store: Store) -> int:
    return len(store.load_table("hubs", dataset="user"))


def test_import_and_its_audit_entry_commit_together(store: Store) -> None:
    log = AuditLog(store, KEY)

    def audit(conn: Connection, n: int) -> int:
        return log.append_in(conn, "planner1", "planner", "import_hubs", {"dataset": "user"}, n, "ab" * 32)

    assert store.save_table("hubs", _hubs(3), dataset="user", in_transaction=audit) == 3
    (entry,) = log.entries()
    assert (entry.action, entry.row_count, _stored(store)) == ("import_hubs", 3, 3)
    assert log.verify().ok


def test_a_failed_audit_write_rolls_back_the_import(store: Store) -> None:
    log = AuditLog(store, KEY)
    store.save_table("hubs", _hubs(2), dataset="user")

    def bad_audit(conn: Connection, n: int) -> int:
        return log.append_in(conn, "planner1", "planner", "", {}, n)  # no action: refused

    with pytest.raises(AuditError):
        store.save_table("hubs", _hubs(3), dataset="user", in_transaction=bad_audit)
    assert _stored(store) == 2  # the previous rows are still there, the new ones are not
    assert log.entries() == []


def test_a_failure_after_the_audit_entry_rolls_the_entry_back(store: Store) -> None:
    log = AuditLog(store, KEY)

    def audit_then_fail(conn: Connection, n: int) -> None:
        log.append_in(conn, "planner1", "planner", "import_hubs", {"dataset": "user"}, n)
        raise StorageError("the data write failed after the entry")

    with pytest.raises(StorageError):
        store.save_table("hubs", _hubs(3), dataset="user", in_transaction=audit_then_fail)
    assert _stored(store) == 0
    assert log.entries() == []
    assert log.append("planner1", "planner", "import_hubs", {}, 0) == 1  # the chain goes on from the head
    assert log.verify().ok
