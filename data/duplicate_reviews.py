"""Staff reviews of duplicate-provision flags: stored in the database, recorded in the audit log.

A flag (:func:`data.duplicates.flag_duplicates`) is a question, not a verdict. Staff who
checked it mark it "reviewed: legitimate" with a note (:func:`mark_reviewed`); the review is
kept in the table ``duplicate_reviews`` of :mod:`data.storage` with the record keys it
covered, and an audit entry (``duplicate_flag_reviewed``) says who did it. Reviewing the
same flag again (after it was reopened by new records) replaces the stored review; the
audit log keeps every one. How a review closes a flag: :func:`data.duplicates.apply_reviews`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa

from core.errors import DuplicateFlagError
from data.accounts.audit import AuditLog
from data.storage import DUPLICATE_REVIEWS, Store

logger = logging.getLogger(__name__)

#: the one review outcome so far: checked by staff, the provision is legitimate
STATUS_LEGITIMATE: Final = "legitimate"
AUDIT_ACTION: Final = "duplicate_flag_reviewed"
MAX_NOTE_CHARS: Final = 2000
REVIEW_COLUMNS: Final = (
    "flag_id", "person_key", "item_group", "period", "record_keys", "status", "note", "reviewed_by", "reviewed_at",
)  # fmt: skip


def mark_reviewed(
    store: Store,
    audit: AuditLog,
    flag: Mapping[str, Any],
    *,
    note: str,
    who: str,
    role: str,
    dataset: str,
    area: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Store "reviewed: legitimate" for one flag and record it in the audit log.

    Parameters
    ----------
    store : Store
    audit : AuditLog
        Where the review is recorded (action ``duplicate_flag_reviewed``; the filter holds
        the dataset, flag id, item group, period, record count and ``area``, not the note).
    flag : Mapping
        A row of :func:`data.duplicates.flag_duplicates`: ``flag_id``, ``person_key``,
        ``item_group``, ``period``, ``record_keys``.
    note : str
        Why the provision is legitimate (required, at most :data:`MAX_NOTE_CHARS` characters).
    who, role : str
        The reviewing user and their role.
    dataset : str
        Dataset the flag belongs to (``demo``, ``user`` ...).
    area : Mapping, optional
        The user's area filter (:meth:`data.accounts.access.AreaFilter.as_dict`), for the audit.
    now : datetime, optional
        Review time (UTC-aware), for tests.

    Raises
    ------
    DuplicateFlagError
        An empty or too long note, or a flag without its identity.
    """
    text = (note or "").strip()
    if not text:
        raise DuplicateFlagError("请填写复核说明：为什么这项重复是合理的 (a review needs a note)")
    if len(text) > MAX_NOTE_CHARS:
        msg = f"复核说明过长（{len(text)} 字），上限 {MAX_NOTE_CHARS} 字 (note too long)"
        raise DuplicateFlagError(msg)
    missing = [c for c in ("flag_id", "person_key", "item_group", "period", "record_keys") if c not in flag]
    if missing:
        msg = f"flag misses {', '.join(missing)}"
        raise DuplicateFlagError(msg)
    keys: Sequence[str] = flag["record_keys"]
    if isinstance(keys, str):
        keys = [k for k in keys.split(";") if k]
    record_keys = sorted({str(k) for k in keys})
    at = now or datetime.now(UTC)
    row = {
        "dataset": dataset,
        "flag_id": str(flag["flag_id"]),
        "person_key": str(flag["person_key"]),
        "item_group": str(flag["item_group"]),
        "period": str(flag["period"]),
        "record_keys": record_keys,
        "status": STATUS_LEGITIMATE,
        "note": text,
        "reviewed_by": who,
        "reviewed_at": at,
    }
    t = DUPLICATE_REVIEWS
    with store.engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.dataset == dataset, t.c.flag_id == row["flag_id"]))
        conn.execute(t.insert(), row)
    details = {
        "dataset": dataset,
        "flag_id": row["flag_id"],
        "item_group": row["item_group"],
        "period": row["period"],
        "status": STATUS_LEGITIMATE,
        "area": dict(area or {}),
    }
    audit.append(who, role, AUDIT_ACTION, details, len(record_keys), now=now)
    logger.info("duplicate flag %s reviewed by %s (%d records)", row["flag_id"], who, len(record_keys))


def load_reviews(store: Store, *, dataset: str) -> pd.DataFrame:
    """The stored reviews of ``dataset``.

    Returns
    -------
    pandas.DataFrame
        :data:`REVIEW_COLUMNS`; ``record_keys`` a tuple of ``department/record_id``,
        ``reviewed_at`` ``datetime64[us, UTC]``; sorted by ``flag_id``.
    """
    t = DUPLICATE_REVIEWS
    query = sa.select(*(t.c[c] for c in REVIEW_COLUMNS)).where(t.c.dataset == dataset)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame.from_records(rows, columns=list(REVIEW_COLUMNS))
    frame["record_keys"] = [tuple(k) for k in frame["record_keys"]]
    stamps = [v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC) for v in frame["reviewed_at"]]
    frame["reviewed_at"] = pd.to_datetime(stamps, utc=True).as_unit("us")
    return frame.sort_values("flag_id", kind="stable", ignore_index=True)
