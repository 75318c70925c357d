"""Duplicate provision (重复救助): the same person served in the same item group by several departments.

A **flag** is raised for each ``(person_key, item_group, period)`` whose records come from
two or more departments: the same item (医疗救助 from 医保 and from 慈善总会) or items of one
catalogue group (心理咨询 from 卫健 and 情绪支持 from 社工站). The period is a calendar
month by default (:data:`PERIODS`: ``month``, ``quarter``, ``year``). A flag is a question
for staff, not a verdict.

Flag identity
-------------
``flag_id`` is derived from ``(person_key, item_group, period)`` only (16 hex characters of
a SHA-256), so the same situation gets the same id on every run, and a review
(:func:`apply_reviews`, stored by :mod:`data.duplicate_reviews`) finds it again.

A reviewed flag ("reviewed: legitimate") **stays closed as long as every record of the
flag was part of the reviewed set**; records that disappear (a corrected file) keep it
closed. When a *new* record joins it (a record key ``department/record_id`` that was not
reviewed), the flag is **reopened**: it is shown again with the earlier note and the new
records named, since the staff decision was made without them.

Pure computation on tables (numpy/pandas, no files, no database): the detection is
vectorised (integer codes, one ``np.unique`` over person × group × period × department);
string joins are made for the flagged groups only.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import DuplicateFlagError

#: flagging periods; the default is the first
PERIODS: Final = ("month", "quarter", "year")
DEFAULT_PERIOD: Final = "month"
JOIN: Final = ";"
#: separator inside a record key ``department/record_id`` (the identity of one record)
RECORD_KEY_SEP: Final = "/"
#: the columns of :func:`flag_duplicates`; FLAGS.csv holds the first eight in this order
FLAG_COLUMNS: Final = (
    "flag_id", "person_key", "item_group", "period", "departments", "record_ids", "n_records", "amount",
    "n_departments", "item_ids", "first_date", "last_date", "record_keys",
)  # fmt: skip
#: flag status after :func:`apply_reviews`
STATUSES: Final = ("open", "reviewed", "reopened")
REQUIRED: Final = ("record_id", "department", "person_key", "item_group", "date")


def check_period(period: str) -> str:
    """``period`` if it is one of :data:`PERIODS`, else :class:`DuplicateFlagError`."""
    if period not in PERIODS:
        msg = f"周期“{period}”无效：应为 month（月）、quarter（季度）或 year（年） (period must be month|quarter|year)"
        raise DuplicateFlagError(msg)
    return period


def period_labels(dates: pd.Series, period: str = DEFAULT_PERIOD) -> pd.Series:
    """Period label of each date: ``2026-03`` (month), ``2026Q1`` (quarter) or ``2026`` (year)."""
    check_period(period)
    d = pd.to_datetime(dates)
    year = d.dt.year.astype("int64").astype(str)
    if period == "year":
        return year
    if period == "quarter":
        return year + "Q" + d.dt.quarter.astype("int64").astype(str)
    return year + "-" + d.dt.month.astype("int64").map("{:02d}".format)


def _period_codes(dates: pd.Series, period: str) -> np.ndarray:
    """Integer code of each date's period (year*100+month, year*10+quarter, year)."""
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    if period == "year":
        return np.asarray(d.year, dtype=np.int64)
    if period == "quarter":
        return np.asarray(d.year, dtype=np.int64) * 10 + np.asarray(d.quarter, dtype=np.int64)
    return np.asarray(d.year, dtype=np.int64) * 100 + np.asarray(d.month, dtype=np.int64)


def _label_of_code(code: int, period: str) -> str:
    if period == "year":
        return str(code)
    if period == "quarter":
        return f"{code // 10}Q{code % 10}"
    return f"{code // 100}-{code % 100:02d}"


def flag_id_of(person_key: str, item_group: str, period: str) -> str:
    """The stable id of a flag: 16 hex characters of SHA-256 over its identity."""
    return hashlib.sha256(f"{person_key}\x1f{item_group}\x1f{period}".encode()).hexdigest()[:16]


def record_key(department: str, record_id: str) -> str:
    """The identity of one record across departments' files: ``department/record_id``."""
    return f"{department}{RECORD_KEY_SEP}{record_id}"


def _empty_flags() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in FLAG_COLUMNS})
    return frame.astype({"n_records": "int64", "n_departments": "int64", "amount": "float64", "record_keys": "object"})


def flag_duplicates(records: pd.DataFrame, *, period: str = DEFAULT_PERIOD) -> pd.DataFrame:
    """Flag every person × item group × period served by two or more departments.

    Parameters
    ----------
    records : pandas.DataFrame
        Accepted service records (:data:`data.service_records.RECORD_COLUMNS`): at least
        ``record_id``, ``department``, ``person_key``, ``item_group``, ``date``
        (datetime-like); ``amount`` (yuan, NaN = not given) and ``item_id`` are optional.
    period : str
        ``month`` (default), ``quarter`` or ``year``: calendar periods.

    Returns
    -------
    pandas.DataFrame
        One row per flag, :data:`FLAG_COLUMNS`: ``flag_id`` (:func:`flag_id_of`),
        ``person_key``, ``item_group``, ``period`` (label), ``departments`` (sorted, joined
        with ``;``), ``record_ids`` (by date, then department, joined with ``;``),
        ``n_records`` (int64), ``amount`` (float64 sum in yuan, NaN when no record gave
        one), ``n_departments``, ``item_ids`` (sorted, ``;``), ``first_date`` and
        ``last_date`` (ISO text), ``record_keys`` (tuple of ``department/record_id``).
        Sorted by period, item group and person key.

    Raises
    ------
    DuplicateFlagError
        Unknown ``period``, missing columns or missing values in them.
    """
    check_period(period)
    missing = [c for c in REQUIRED if c not in records.columns]
    if missing:
        msg = f"service records miss columns {', '.join(missing)} (expected {', '.join(REQUIRED)})"
        raise DuplicateFlagError(msg)
    if len(records) == 0:
        return _empty_flags()
    blank = records[list(REQUIRED)].isna().any(axis=1)
    if blank.any():
        msg = f"{int(blank.sum())} service records miss one of {', '.join(REQUIRED)} (import them first)"
        raise DuplicateFlagError(msg)
    p_codes, _ = pd.factorize(records["person_key"], sort=False)
    g_codes, _ = pd.factorize(records["item_group"], sort=False)
    d_codes, _ = pd.factorize(records["department"], sort=False)
    per = _period_codes(records["date"], period)
    per_codes, per_uniques = pd.factorize(per, sort=False)
    n_g, n_per, n_d = int(g_codes.max()) + 1, len(per_uniques), int(d_codes.max()) + 1
    group_key = (p_codes.astype(np.int64) * n_g + g_codes) * n_per + per_codes
    keys, inverse = np.unique(group_key, return_inverse=True)
    pairs = np.unique(inverse.astype(np.int64) * n_d + d_codes)
    n_depts = np.bincount(pairs // n_d, minlength=len(keys))
    flagged = n_depts[inverse] >= 2
    if not flagged.any():
        return _empty_flags()

    sub = records.loc[flagged, [c for c in (*REQUIRED, "amount", "item_id") if c in records.columns]].copy()
    sub["_g"] = inverse[flagged]
    sub["_per"] = per[flagged]
    sub["_rk"] = sub["department"].astype(str) + RECORD_KEY_SEP + sub["record_id"].astype(str)
    if "amount" not in sub.columns:
        sub["amount"] = np.nan
    if "item_id" not in sub.columns:
        sub["item_id"] = sub["item_group"]
    sub = sub.sort_values(["_g", "date", "department", "record_id"], kind="stable")
    grouped = sub.groupby("_g", sort=True)
    out = grouped.agg(
        person_key=("person_key", "first"),
        item_group=("item_group", "first"),
        _per=("_per", "first"),
        departments=("department", lambda s: JOIN.join(sorted(set(map(str, s))))),
        record_ids=("record_id", lambda s: JOIN.join(map(str, s))),
        n_records=("record_id", "size"),
        amount=("amount", lambda s: s.sum(min_count=1)),
        n_departments=("department", "nunique"),
        item_ids=("item_id", lambda s: JOIN.join(sorted(set(map(str, s))))),
        first_date=("date", "min"),
        last_date=("date", "max"),
        record_keys=("_rk", tuple),
    ).reset_index(drop=True)
    out["period"] = [_label_of_code(int(c), period) for c in out["_per"]]
    out["flag_id"] = [
        flag_id_of(pk, g, pl) for pk, g, pl in zip(out["person_key"], out["item_group"], out["period"], strict=True)
    ]
    out["first_date"] = pd.to_datetime(out["first_date"]).dt.strftime("%Y-%m-%d")
    out["last_date"] = pd.to_datetime(out["last_date"]).dt.strftime("%Y-%m-%d")
    out = out.astype({"n_records": "int64", "n_departments": "int64", "amount": "float64"})
    out = out.sort_values(["period", "item_group", "person_key"], kind="stable", ignore_index=True)
    return out[list(FLAG_COLUMNS)]


def apply_reviews(flags: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Mark flags reviewed, or reopened when new records joined them since the review.

    Parameters
    ----------
    flags : pandas.DataFrame
        From :func:`flag_duplicates`.
    reviews : pandas.DataFrame
        Stored reviews (:meth:`data.duplicate_reviews.load_reviews`): ``flag_id``,
        ``record_keys`` (sequence of ``department/record_id`` reviewed), ``note``,
        ``reviewed_by``, ``reviewed_at``.

    Returns
    -------
    pandas.DataFrame
        ``flags`` plus ``status`` (``open``, ``reviewed``, ``reopened``), ``review_note``,
        ``reviewed_by``, ``reviewed_at`` (NaN when never reviewed) and ``new_record_keys``
        (``;``-joined record keys not part of the review; empty unless reopened).
    """
    out = flags.copy()
    by_id: dict[Any, Any] = {}
    if reviews is not None and len(reviews):
        by_id = {r.flag_id: r for r in reviews.itertuples(index=False)}
    status: list[str] = []
    note: list[Any] = []
    who: list[Any] = []
    when: list[Any] = []
    new: list[str] = []
    for fid, keys in zip(out["flag_id"].tolist(), out["record_keys"].tolist(), strict=True):
        r = by_id.get(fid)
        if r is None:
            status.append("open")
            note.append(np.nan)
            who.append(np.nan)
            when.append(np.nan)
            new.append("")
            continue
        added = sorted(set(keys) - set(r.record_keys))
        status.append("reopened" if added else "reviewed")
        note.append(r.note)
        who.append(r.reviewed_by)
        when.append(str(r.reviewed_at))
        new.append(JOIN.join(added))
    out["status"] = pd.Series(status, index=out.index, dtype="str")
    out["review_note"] = pd.Series(note, index=out.index, dtype="object")
    out["reviewed_by"] = pd.Series(who, index=out.index, dtype="object")
    out["reviewed_at"] = pd.Series(when, index=out.index, dtype="object")
    out["new_record_keys"] = pd.Series(new, index=out.index, dtype="str")
    return out


def open_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags staff still have to look at: ``open`` and ``reopened`` (after :func:`apply_reviews`)."""
    return flags.loc[flags["status"] != "reviewed"].reset_index(drop=True)
