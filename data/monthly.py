"""Monthly versions of the needs, offers, service-record and catalogue lists (动态调整): nothing is overwritten.

Every import of one of these lists is stored as a new version of its month (``YYYY-MM``) in
the ``list_versions`` table of :mod:`data.storage`: the accepted rows as JSON records, keyed
by dataset, kind, month and version (1, 2, ...). A second import of the same month adds
version 2; version 1 stays. The list of a month is its latest version; the *current* list
is the latest version of the latest month (:func:`current_version`). Each write is audited
in the same transaction.

The imported dataset's needs, offers, service records and catalogue are its current lists
(:func:`service.dashboard.dataset_tables`); the catalogue is kept here too (``"catalogue"``),
so an edited catalogue is a new version like any other list, and the month it took effect is
known.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa

from core.errors import MonthlyListError
from data.accounts.audit import AuditLog
from data.storage import LIST_VERSIONS, Store

logger = logging.getLogger(__name__)

#: the lists kept per month
LIST_KINDS: Final = ("needs", "offers", "records", "catalogue")
VERSION_COLUMNS: Final = ("kind", "month", "version", "n_rows", "file_name", "created_at", "author")
AUDIT_ACTION: Final = "monthly_list_saved"
_MONTH_RE: Final = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ListVersion:
    """One stored version: its key and its rows."""

    kind: str
    month: str
    version: int
    rows: pd.DataFrame


def check_month(month: str) -> str:
    """``month`` if it is ``YYYY-MM``.

    Raises
    ------
    MonthlyListError
    """
    if not isinstance(month, str) or not _MONTH_RE.match(month.strip()):
        msg = f"月份须为 YYYY-MM（如 2026-03），收到 {month!r} (month must be YYYY-MM)"
        raise MonthlyListError(msg)
    return month.strip()


def _check_kind(kind: str) -> None:
    if kind not in LIST_KINDS:
        msg = f"unknown list kind {kind!r}; expected one of {', '.join(LIST_KINDS)}"
        raise MonthlyListError(msg)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON (dates as ISO text, missing as null)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    loaded: list[dict[str, Any]] = json.loads(out.to_json(orient="records", force_ascii=False, date_format="iso"))
    return loaded


def save_version(
    store: Store,
    audit: AuditLog,
    kind: str,
    month: str,
    frame: pd.DataFrame,
    *,
    dataset: str,
    who: str,
    role: str,
    file_name: str = "",
    area: Mapping[str, Any] | None = None,
    file_hash: str | None = None,
) -> int:
    """Store ``frame`` as the next version of ``kind`` for ``month`` (audited, one transaction).

    Parameters
    ----------
    kind : str
        ``"needs"``, ``"offers"``, ``"records"`` or ``"catalogue"``.
    month : str
        ``YYYY-MM``: the month the list describes.
    frame : pandas.DataFrame
        The accepted rows of the import (needs: ``need_id, household_id, item_id,
        urgency ...``; offers: ``provider_id, item_id, capacity_per_month ...``; records:
        :data:`data.service_records.RECORD_COLUMNS`; catalogue: :data:`data.schemas.CATALOGUE_COLUMNS`).

    Returns
    -------
    int
        The new version number (1 for the month's first import).
    """
    _check_kind(kind)
    month = check_month(month)
    rows = _records(frame)
    t = LIST_VERSIONS
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        last = conn.execute(
            sa.select(sa.func.max(t.c.version)).where(t.c.dataset == dataset, t.c.kind == kind, t.c.month == month)
        ).scalar()
        version = int(last or 0) + 1
        conn.execute(
            t.insert(),
            {
                "dataset": dataset, "kind": kind, "month": month, "version": version, "n_rows": len(rows),
                "file_name": file_name, "created_at": now, "author": who, "rows": rows,
            },
        )  # fmt: skip
        details = {"dataset": dataset, "kind": kind, "month": month, "version": version, "area": dict(area or {})}
        audit.append_in(conn, who, role, AUDIT_ACTION, details, len(rows), file_hash=file_hash)
    logger.info("monthly list %s %s v%d: %d rows (%s)", kind, month, version, len(rows), who)
    return version


def list_versions(store: Store, *, dataset: str, kind: str | None = None) -> pd.DataFrame:
    """The stored versions (without rows): :data:`VERSION_COLUMNS`, by kind, month, version."""
    t = LIST_VERSIONS
    query = sa.select(*(t.c[c] for c in VERSION_COLUMNS)).where(t.c.dataset == dataset)
    if kind is not None:
        _check_kind(kind)
        query = query.where(t.c.kind == kind)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame.from_records(rows, columns=list(VERSION_COLUMNS))
    frame = frame.astype({"version": "int64", "n_rows": "int64"})
    return frame.sort_values(["kind", "month", "version"], kind="stable", ignore_index=True)


def months(store: Store, *, dataset: str, kind: str) -> list[str]:
    """Months that hold at least one version of ``kind``, oldest first."""
    return sorted(set(list_versions(store, dataset=dataset, kind=kind)["month"]))


def load_version(store: Store, kind: str, month: str, *, dataset: str, version: int | None = None) -> ListVersion:
    """The rows of one version (default: the month's latest).

    Raises
    ------
    MonthlyListError
        No version of ``kind`` for ``month`` (or not that version number).
    """
    _check_kind(kind)
    month = check_month(month)
    t = LIST_VERSIONS
    query = sa.select(t.c.version, t.c.rows).where(t.c.dataset == dataset, t.c.kind == kind, t.c.month == month)
    query = query.where(t.c.version == version) if version is not None else query.order_by(t.c.version.desc())
    with store.engine.connect() as conn:
        row = conn.execute(query.limit(1)).one_or_none()
    if row is None:
        msg = f"{month} 没有{kind}清单{'' if version is None else f'第 {version} 版'} (no such list version)"
        raise MonthlyListError(msg)
    return ListVersion(kind, month, int(row.version), pd.DataFrame.from_records(list(row.rows)))


def current_version(store: Store, kind: str, *, dataset: str) -> ListVersion | None:
    """The current list: the latest version of the latest month (None when nothing is stored)."""
    ms = months(store, dataset=dataset, kind=kind)
    return load_version(store, kind, ms[-1], dataset=dataset) if ms else None
