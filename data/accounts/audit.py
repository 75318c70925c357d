"""Tamper-evident audit log: who saw or exported which personal data, chained by HMAC.

Each entry records who (user name), in which role, did what (``action``: ``export_xlsx``,
``sign_in``, ``area_denied`` ...), with which filter (a JSON mapping: the area, the page,
the columns), on how many rows, and the SHA-256 of the exported file, at what time.
Entries are numbered ``seq = 1, 2, 3 ...`` and chained::

    mac[seq] = HMAC-SHA256(key, canonical JSON of
               {seq, time, who, role, action, filter, row_count, file_hash, prev_mac})
    prev_mac[seq] = mac[seq - 1]          (64 zeros for the first entry)

The canonical JSON has sorted keys, no blanks, UTF-8 text and no NaN. The time is stored
as the exact text that was signed (ISO 8601, UTC, microseconds). The key (:func:`audit_key`)
never sits in the database, so whoever can write to the database but does not hold the
key cannot edit, insert, delete or reorder entries without :meth:`AuditLog.verify`
noticing. A second table ``audit_head`` keeps the last ``seq`` and ``mac`` with their own
HMAC, so deleting the *newest* entries is noticed too, and a new entry always chains onto
the recorded head, not onto whatever row happens to be last.

Append-only is enforced three times: the API has no update or delete; the database
refuses ``UPDATE`` and ``DELETE`` on ``audit_log`` (a trigger on SQLite and PostgreSQL,
plus ``TRUNCATE`` on PostgreSQL); and the chain shows any change made by someone who
dropped the trigger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.errors import AuditError, AuditKeyError
from data.config import ENV_AUDIT_KEY, MIN_KEY_BYTES, secret_key
from data.storage import METADATA, Store

logger = logging.getLogger(__name__)

#: environment variable holding the HMAC key (at least 16 bytes of UTF-8 text)
AUDIT_KEY_ENV: Final = ENV_AUDIT_KEY
#: file name of the generated key under the user data folder
AUDIT_KEY_FILE: Final = "audit.key"
#: ``prev_mac`` of the first entry
GENESIS_MAC: Final = "0" * 64
#: attempts of :meth:`AuditLog.append` when concurrent writers collide
APPEND_ATTEMPTS: Final = 50
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_HEAD_ID: Final = 1

AUDIT_LOG = sa.Table(
    "audit_log",
    METADATA,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("at", sa.Text(), nullable=False),
    sa.Column("who", sa.Text(), nullable=False),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("action", sa.Text(), nullable=False),
    sa.Column("filter_json", sa.Text(), nullable=False),
    sa.Column("row_count", sa.BigInteger(), nullable=False),
    sa.Column("file_hash", sa.Text()),
    sa.Column("prev_mac", sa.Text(), nullable=False),
    sa.Column("mac", sa.Text(), nullable=False),
)
AUDIT_HEAD = sa.Table(
    "audit_head",
    METADATA,
    sa.Column("head_id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("mac", sa.Text(), nullable=False),
    sa.Column("head_mac", sa.Text(), nullable=False),
)

_GUARD_MESSAGE: Final = "audit_log is append-only"
_SQLITE_GUARDS: Final = (
    f"CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{_GUARD_MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{_GUARD_MESSAGE}'); END",
)
_PG_GUARD_FUNCTION: Final = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{_GUARD_MESSAGE}'; END $$"
)
_PG_GUARDS: Final = {
    "audit_log_no_update_delete": "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "audit_log_no_truncate": "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
}


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry.

    Attributes
    ----------
    seq : int
        Position in the chain, from 1.
    at : datetime
        When (UTC).
    who, role, action : str
        User name, role code and what was done.
    filter : dict
        The filter / details recorded with it (JSON types).
    row_count : int
        Rows concerned (exported, shown).
    file_hash : str or None
        SHA-256 (hex) of the exported file.
    prev_mac, mac : str
        The chain (hex).
    """

    seq: int
    at: datetime
    who: str
    role: str
    action: str
    filter: dict[str, Any]
    row_count: int
    file_hash: str | None
    prev_mac: str
    mac: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`AuditLog.verify`.

    Attributes
    ----------
    ok : bool
        The whole chain and its head check out.
    n_entries : int
        Entries read.
    first_broken_seq : int or None
        The first entry that is edited, missing or out of place (None when ``ok``).
    reason : str
        What is wrong, in Chinese ("" when ``ok``).
    reason_en : str
        The same in English.
    head_mac : str
        MAC of the newest entry when ``ok`` (write it down with ``n_entries``: a log
        later found shorter, or with another MAC at that entry, was rewritten).
    """

    ok: bool
    n_entries: int
    first_broken_seq: int | None = None
    reason: str = ""
    reason_en: str = ""
    head_mac: str = ""


# -- key ---------------------------------------------------------------------------------------------
def audit_key(
    *, env: Mapping[str, str] | None = None, key_file: str | Path | None = None, create: bool = True
) -> bytes:
    """The secret HMAC key of the audit log.

    Taken from ``XIHU_AUDIT_KEY`` (its UTF-8 bytes) when set; otherwise read from
    ``key_file`` (default ``<data dir>/audit.key``, see
    :func:`data.config.default_data_dir`), created on first use with 32 random bytes
    (``secrets.token_bytes``), readable by its owner only. In production set the
    variable from a secret store, away from the database: whoever holds both the
    database and the key can rewrite history.

    Parameters
    ----------
    env : mapping, optional
        Environment to read (default ``os.environ``).
    key_file : path, optional
        Key file location.
    create : bool
        Create the key file when missing; False (for verifying an existing log) raises
        instead, since a new key cannot verify old entries.

    Returns
    -------
    bytes
        At least :data:`MIN_KEY_BYTES` bytes.

    Raises
    ------
    AuditKeyError
        The key is too short or missing (``create=False``), or the key file cannot be
        read or created.
    """
    return secret_key(
        AUDIT_KEY_ENV,
        AUDIT_KEY_FILE,
        error=AuditKeyError,
        what_zh="审计密钥",
        what_en="audit key",
        env=env,
        key_file=key_file,
        create=create,
    )


# -- canonical form ---------------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    """SHA-256 of a file's bytes (hex): the ``file_hash`` of an export."""
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no blanks, UTF-8 text, no NaN: one text per value, on every machine.

    Raises
    ------
    AuditError
        ``value`` holds something that is not plain JSON.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        msg = f"审计记录的筛选条件必须是普通 JSON（文本、数字、列表、映射）：{exc} (filter is not plain JSON)"
        raise AuditError(msg) from exc


def _format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime(_TIME_FORMAT)


def entry_mac(
    key: bytes,
    *,
    seq: int,
    at: str,
    who: str,
    role: str,
    action: str,
    filter_json: str,
    row_count: int,
    file_hash: str | None,
    prev_mac: str,
) -> str:
    """HMAC-SHA256 (hex) of one entry's canonical JSON (see the module docstring)."""
    body = {
        "seq": seq,
        "time": at,
        "who": who,
        "role": role,
        "action": action,
        "filter": json.loads(filter_json),
        "row_count": row_count,
        "file_hash": file_hash,
        "prev_mac": prev_mac,
    }
    return hmac.new(key, canonical_json(body).encode("utf-8"), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, seq: int, mac: str) -> str:
    body = canonical_json({"head_seq": seq, "head_mac": mac})
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def install_append_only_guard(engine: Engine) -> None:
    """Make the database itself refuse ``UPDATE`` / ``DELETE`` (and PostgreSQL ``TRUNCATE``) on ``audit_log``.

    Idempotent. Someone who owns the table can still drop the triggers: the HMAC chain
    is what proves integrity; the triggers stop accidents and casual edits.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for ddl in _SQLITE_GUARDS:
                conn.execute(sa.text(ddl))
        elif conn.dialect.name == "postgresql":
            existing = set(
                conn.execute(
                    sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass)"), {"t": "audit_log"}
                ).scalars()
            )
            missing = {name: ddl for name, ddl in _PG_GUARDS.items() if name not in existing}
            if missing:
                conn.execute(sa.text(_PG_GUARD_FUNCTION))
                for ddl in missing.values():
                    conn.execute(sa.text(ddl))
        else:
            logger.warning(
                "audit: no append-only trigger for %s; the HMAC chain still shows changes", conn.dialect.name
            )


# -- the log --------------------------------------------------------------------------------------------
class AuditLog:
    """The append-only, HMAC-chained audit log on a :class:`data.storage.Store`.

    Parameters
    ----------
    store : Store
        The database; ``audit_log`` and ``audit_head`` are created when missing, with the
        append-only triggers (:func:`install_append_only_guard`).
    key : bytes
        The HMAC key (:func:`audit_key`), at least 16 bytes. The same key must be used
        for every entry: a log written with another key does not verify.
    """

    def __init__(self, store: Store, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            msg = f"审计密钥至少需要 {MIN_KEY_BYTES} 字节 (the audit key needs at least {MIN_KEY_BYTES} bytes)"
            raise AuditKeyError(msg)
        self.store = store
        self._key = bytes(key)
        METADATA.create_all(store.engine, tables=[AUDIT_LOG, AUDIT_HEAD])
        install_append_only_guard(store.engine)
        self._init_head()

    def derived_key(self, purpose: str) -> bytes:
        """A secret key for another use, derived from the audit key (HMAC-SHA256 of ``purpose``).

        Used where a keyed hash must be stable across processes and restarts without
        another key file (e.g. the sign-in throttle's hashed names).
        """
        return hmac.new(self._key, f"derived-key:{purpose}".encode(), hashlib.sha256).digest()

    def _init_head(self) -> None:
        """Write the genesis head (``seq`` 0) of an empty log, so appends always lock one row."""
        genesis = {"head_id": _HEAD_ID, "seq": 0, "mac": GENESIS_MAC, "head_mac": _head_mac(self._key, 0, GENESIS_MAC)}
        try:
            with self.store.engine.begin() as conn:
                if conn.execute(sa.select(AUDIT_HEAD.c.head_id)).first() is not None:
                    return
                if conn.execute(sa.select(AUDIT_LOG.c.seq).limit(1)).first() is not None:
                    logger.warning("audit: the log has entries but no head; audit verify will report it")
                    return
                conn.execute(AUDIT_HEAD.insert(), genesis)
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:  # another process wrote it first
            logger.debug("audit: genesis head written concurrently: %s", exc)

    def __repr__(self) -> str:
        return f"AuditLog({self.store!r})"

    def _read_head(self, conn: Connection) -> tuple[int, str]:
        """The head ``(seq, mac)``, locked until the transaction ends (PostgreSQL; SQLite locks on write)."""
        query = sa.select(AUDIT_HEAD).where(AUDIT_HEAD.c.head_id == _HEAD_ID).with_for_update()
        head = conn.execute(query).one_or_none()
        if head is None:
            msg = "审计日志的链头记录缺失，日志可能被篡改：请运行 python -m data audit verify (audit head missing)"
            raise AuditError(msg)
        if not hmac.compare_digest(_head_mac(self._key, int(head.seq), head.mac), head.head_mac):
            msg = "审计日志的链头校验失败，日志可能被篡改：请运行 python -m data audit verify (audit head invalid)"
            raise AuditError(msg)
        return int(head.seq), str(head.mac)

    def append(
        self,
        who: str,
        role: str,
        action: str,
        filter: Mapping[str, Any],
        row_count: int,
        file_hash: str | None = None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Add one entry at the end of the chain.

        Parameters
        ----------
        who : str
            User name.
        role : str
            Role code (a :class:`data.accounts.auth.Role` is a ``str``).
        action : str
            What was done, e.g. ``"export_xlsx"``, ``"view_beneficiaries"``, ``"area_denied"``.
        filter : Mapping
            The filter and details (plain JSON): area, page, requested codes, columns.
        row_count : int
            Rows shown or exported (>= 0).
        file_hash : str, optional
            SHA-256 of the exported file (:func:`sha256_hex`).
        now : datetime, optional
            Time of the entry (UTC-aware), for tests.

        Returns
        -------
        int
            The entry's ``seq``.

        Raises
        ------
        AuditError
            Bad values, a head that fails its check (the log was tampered with: writing
            stops until an administrator looks), or persistent write conflicts.
        """
        prepared = self._prepare(action, filter, row_count, now)
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self.store.engine.begin() as conn:
                    return self._insert(conn, str(who), str(role), action, row_count, file_hash, *prepared)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                # another writer took this seq (or SQLite's snapshot moved): read the head again
                logger.debug("audit append attempt %d collided: %s", attempt + 1, exc)
                time.sleep(0.002 * (attempt + 1) + secrets.randbelow(1000) / 1e6)
        msg = (
            f"审计日志写入冲突，重试 {APPEND_ATTEMPTS} 次仍失败 (audit append failed after {APPEND_ATTEMPTS} attempts)"
        )
        raise AuditError(msg)

    def append_in(
        self,
        conn: Connection,
        who: str,
        role: str,
        action: str,
        filter: Mapping[str, Any],
        row_count: int,
        file_hash: str | None = None,
        *,
        now: datetime | None = None,
    ) -> int:
        """:meth:`append` inside the caller's transaction ``conn`` (same parameters).

        The entry commits or rolls back together with whatever else ``conn`` writes (e.g.
        the rows of an import, :meth:`data.storage.Store.save_table`'s ``in_transaction``).
        There is no retry here: a concurrent append makes the caller's transaction fail.

        Raises
        ------
        AuditError
            Bad values or a head that fails its check.
        """
        prepared = self._prepare(action, filter, row_count, now)
        return self._insert(conn, str(who), str(role), action, row_count, file_hash, *prepared)

    def _prepare(self, action: str, filter: Mapping[str, Any], row_count: int, now: datetime | None) -> tuple[str, str]:
        """Check the values; returns the canonical filter JSON and the time text."""
        if not isinstance(action, str) or not action.strip():
            raise AuditError("审计记录必须说明操作 (action must be a non-empty text)")
        if isinstance(row_count, bool) or not isinstance(row_count, int) or row_count < 0:
            raise AuditError(f"行数必须是非负整数，收到 {row_count!r} (row_count must be an integer >= 0)")
        if not isinstance(filter, Mapping):
            raise AuditError(f"筛选条件必须是映射，收到 {type(filter).__name__} (filter must be a mapping)")
        if now is not None and now.tzinfo is None:
            msg = "now must be timezone-aware (e.g. datetime.now(UTC))"
            raise ValueError(msg)
        return canonical_json(dict(filter)), _format_time(now if now is not None else datetime.now(UTC))

    def _insert(
        self,
        conn: Connection,
        who_text: str,
        role_text: str,
        action: str,
        row_count: int,
        file_hash: str | None,
        filter_json: str,
        at: str,
    ) -> int:
        """Write one entry and move the head, on ``conn``; returns its seq."""
        last_seq, prev_mac = self._read_head(conn)
        seq = last_seq + 1
        mac = entry_mac(
            self._key,
            seq=seq,
            at=at,
            who=who_text,
            role=role_text,
            action=action,
            filter_json=filter_json,
            row_count=row_count,
            file_hash=file_hash,
            prev_mac=prev_mac,
        )
        conn.execute(
            AUDIT_LOG.insert(),
            {
                "seq": seq,
                "at": at,
                "who": who_text,
                "role": role_text,
                "action": action,
                "filter_json": filter_json,
                "row_count": row_count,
                "file_hash": file_hash,
                "prev_mac": prev_mac,
                "mac": mac,
            },
        )
        head = {"seq": seq, "mac": mac, "head_mac": _head_mac(self._key, seq, mac)}
        conn.execute(AUDIT_HEAD.update().where(AUDIT_HEAD.c.head_id == _HEAD_ID).values(**head))
        return seq

    def entries(self, *, limit: int | None = 100, who: str | None = None) -> list[AuditEntry]:
        """The newest entries first.

        Parameters
        ----------
        limit : int or None
            At most this many (None: all).
        who : str, optional
            Only this user's entries.

        Returns
        -------
        list of AuditEntry
        """
        query = sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.seq.desc())
        if who is not None:
            query = query.where(AUDIT_LOG.c.who == who)
        if limit is not None:
            query = query.limit(limit)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                seq=int(r.seq),
                at=datetime.strptime(r.at, _TIME_FORMAT).replace(tzinfo=UTC),
                who=r.who,
                role=r.role,
                action=r.action,
                filter=json.loads(r.filter_json),
                row_count=int(r.row_count),
                file_hash=r.file_hash,
                prev_mac=r.prev_mac,
                mac=r.mac,
            )
            for r in rows
        ]

    def _head(self, conn: Connection) -> Any:
        return conn.execute(sa.select(AUDIT_HEAD).where(AUDIT_HEAD.c.head_id == _HEAD_ID)).one_or_none()

    def verify(self) -> VerifyResult:
        """Check every entry's MAC, the chain, the numbering and the head.

        The head is read first and the entries up to it are checked, so appends running
        at the same time neither disturb nor fail the check (they are checked next time).

        Returns
        -------
        VerifyResult
            ``first_broken_seq`` is the first entry that was edited (its MAC fails),
            deleted (its number is missing, or the newest entries are gone while the head
            remembers them), reordered or inserted (its ``prev_mac`` does not match the
            entry before it, or it lies beyond the head).
        """
        n = 0

        def broken(seq: int, zh: str, en: str) -> VerifyResult:
            logger.warning("audit verify: entry %d: %s", seq, en)
            return VerifyResult(False, n, seq, zh, en)

        expected, prev = 1, GENESIS_MAC
        with self.store.engine.connect() as conn:
            head = self._head(conn)
            head_seq = 0 if head is None else int(head.seq)
            if head is not None and not hmac.compare_digest(_head_mac(self._key, head_seq, head.mac), head.head_mac):
                return broken(head_seq, "审计日志的链头校验失败（被修改）", "the audit head was edited")
            query = sa.select(AUDIT_LOG).where(AUDIT_LOG.c.seq <= head_seq).order_by(AUDIT_LOG.c.seq)
            with conn.execution_options(yield_per=2000).execute(query) as result:
                for row in result:
                    seq = int(row.seq)
                    if seq != expected:
                        gap = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
                        return broken(expected, f"第 {gap} 条记录缺失（被删除）", f"entry {gap} is missing (deleted)")
                    if not hmac.compare_digest(str(row.prev_mac), prev):
                        return broken(
                            seq,
                            f"第 {seq} 条记录与前一条不衔接（记录被删除、插入或调换了顺序）",
                            f"entry {seq} does not chain onto the previous one (deleted, inserted or reordered)",
                        )
                    try:
                        mac = entry_mac(
                            self._key,
                            seq=seq,
                            at=row.at,
                            who=row.who,
                            role=row.role,
                            action=row.action,
                            filter_json=row.filter_json,
                            row_count=int(row.row_count),
                            file_hash=row.file_hash,
                            prev_mac=row.prev_mac,
                        )
                    except (ValueError, AuditError):  # the stored filter is no longer JSON
                        mac = ""
                    if not hmac.compare_digest(mac, str(row.mac)):
                        return broken(
                            seq,
                            f"第 {seq} 条记录的内容被修改（校验码不符）",
                            f"entry {seq} was edited (its MAC does not match)",
                        )
                    prev = str(row.mac)
                    expected += 1
                    n += 1
            if n < head_seq:
                gap = f"{n + 1}" if head_seq == n + 1 else f"{n + 1}-{head_seq}"
                return broken(n + 1, f"最新的第 {gap} 条记录缺失（被删除）", f"the newest entries {gap} are missing")
            if head is not None and not hmac.compare_digest(str(head.mac), prev):
                return broken(head_seq, f"第 {head_seq} 条记录与链头不符", f"entry {head_seq} does not match the head")
            beyond = conn.execute(sa.select(sa.func.min(AUDIT_LOG.c.seq)).where(AUDIT_LOG.c.seq > head_seq)).scalar()
            if beyond is not None and head is None:
                return broken(int(beyond), "审计日志的链头记录缺失（被删除）", "the audit head is missing (deleted)")
            if beyond is not None:
                again = self._head(conn)
                if (0 if again is None else int(again.seq)) == head_seq:  # no append since: written around the API
                    return broken(
                        int(beyond),
                        f"第 {beyond} 条记录不是通过审计接口写入的（链头之后）",
                        f"entry {beyond} was not written through the audit API (beyond the head)",
                    )
        return VerifyResult(True, n, head_mac=prev if n else "")


__all__ = [
    "AUDIT_KEY_ENV",
    "GENESIS_MAC",
    "AuditEntry",
    "AuditError",
    "AuditKeyError",
    "AuditLog",
    "VerifyResult",
    "audit_key",
    "canonical_json",
    "entry_mac",
    "install_append_only_guard",
    "sha256_hex",
]
