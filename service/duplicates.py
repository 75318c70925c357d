"""Duplicate provision for the dashboard: per-hub flagged lists, the department x item-group overlap, exports.

Streamlit-free, ready for a page. Flags come from :func:`data.duplicates.flag_duplicates`
(optionally through :func:`data.duplicates.apply_reviews`); ``households`` links a flag's
``person_key`` to a household and its area: ``id_hash`` (= ``person_key``),
``beneficiary_id``, ``town_code``, ``community_code``, ``name_masked`` (the beneficiaries
table, or :attr:`data.service_demo.SyntheticRecords.households`).

Access follows :mod:`data.accounts.access`: a flag is about a household, so the list and
the overlap are filtered like beneficiary rows (own town / own community; none for a
viewer) **before** anything is counted; names are only ever the masked ones; exports
check the role and are recorded in the audit log. A flag whose person is not in
``households`` (no known area) is shown only at district level (planner, admin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.errors import DuplicateFlagError
from core.i18n import t
from data.accounts.access import (
    AreaFilter,
    audit_details,
    can_see_individuals,
    ensure_can_export_individuals,
    filter_frame,
)
from data.accounts.audit import AuditLog, sha256_hex
from data.duplicate_reviews import mark_reviewed
from data.duplicates import JOIN
from data.safe_export import frame_to_csv_bytes
from data.storage import Store

#: columns of :func:`flag_list`
FLAG_LIST_COLUMNS: Final = (
    "flag_id", "beneficiary_id", "name_masked", "town_code", "community_code", "item_group", "period",
    "departments", "record_ids", "n_records", "amount", "status",
)  # fmt: skip
#: columns of :func:`overlap_table`
OVERLAP_COLUMNS: Final = ("department", "item_group", "n_flags", "n_records", "amount")
EXPORT_ACTION: Final = "export_duplicate_flags_csv"


def flags_with_households(flags: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """``flags`` with the household's ``beneficiary_id``, ``name_masked``, ``town_code``, ``community_code``.

    Persons not in ``households`` keep NaN there. ``status`` is ``open`` when the flags
    were not passed through :func:`data.duplicates.apply_reviews`.
    """
    cols = ["id_hash", "beneficiary_id", "name_masked", "town_code", "community_code"]
    hh = households.reindex(columns=cols).dropna(subset=["id_hash"]).drop_duplicates("id_hash")
    out = flags.merge(hh.rename(columns={"id_hash": "person_key"}), on="person_key", how="left")
    if "status" not in out.columns:
        out["status"] = "open"
    return out


def _scoped(
    flags: pd.DataFrame,
    households: pd.DataFrame,
    area_filter: AreaFilter,
    town_code: str | None,
    village_code: str | None,
    audit: AuditLog | None,
    who: str | None,
) -> pd.DataFrame:
    joined = flags_with_households(flags, households)
    # like beneficiary rows: own town / community, none for a viewer; at district level a
    # flag whose household is unknown stays in (planner, admin)
    return filter_frame(
        "beneficiaries", joined, area_filter, town_code=town_code, village_code=village_code, audit=audit, who=who
    )


def flag_list(
    flags: pd.DataFrame,
    households: pd.DataFrame,
    area_filter: AreaFilter,
    *,
    town_code: str | None = None,
    village_code: str | None = None,
    include_reviewed: bool = False,
    audit: AuditLog | None = None,
    who: str | None = None,
) -> pd.DataFrame:
    """The flags of one hub's area (a town station or a village point), masked names only.

    Parameters
    ----------
    flags : pandas.DataFrame
        From :func:`data.duplicates.flag_duplicates` (optionally with review status).
    households : pandas.DataFrame
        ``id_hash``, ``beneficiary_id``, ``name_masked``, ``town_code``, ``community_code``.
    area_filter : AreaFilter
        The signed-in user's filter; ``town_code`` / ``village_code`` may narrow it (a
        request outside it returns no rows and is audited as ``area_denied``).
    include_reviewed : bool
        Also list flags reviewed as legitimate (default: only ``open`` and ``reopened``).

    Returns
    -------
    pandas.DataFrame
        :data:`FLAG_LIST_COLUMNS`, newest period first, then the largest amount.
    """
    scoped = _scoped(flags, households, area_filter, town_code, village_code, audit, who)
    if not include_reviewed:
        scoped = scoped.loc[scoped["status"] != "reviewed"]
    out = scoped.reindex(columns=list(FLAG_LIST_COLUMNS))
    return out.sort_values(["period", "amount"], ascending=[False, False], kind="stable", ignore_index=True)


def overlap_table(flags: pd.DataFrame, records: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Department x item group: how many flags each department takes part in, with its records and amount.

    Parameters
    ----------
    flags : pandas.DataFrame
        Flags already scoped to the user's area (e.g. :func:`flag_list` output joined back,
        or :func:`data.duplicates.flag_duplicates` for the whole district); needs
        ``flag_id``, ``item_group`` and ``record_keys`` (or ``departments``).
    records : pandas.DataFrame
        The accepted records (``department``, ``record_id``, ``amount``).
    by : columns of ``flags`` to group by first (e.g. ``town_code``: one table per town in one pass).

    Returns
    -------
    pandas.DataFrame
        One long table, ``by`` then :data:`OVERLAP_COLUMNS`: ``n_flags`` (int64: flags of that
        group the department is part of), ``n_records`` (int64) and ``amount`` (float64 yuan,
        the department's own records in those flags); sorted by ``by``, department, item group.
    """
    keys = [*by, "department", "item_group"]
    if len(flags) == 0:
        empty = {c: pd.Series(dtype=object) for c in by}
        empty.update({c: pd.Series(dtype=d) for c, d in zip(OVERLAP_COLUMNS, _OVERLAP_DTYPES, strict=True)})
        return pd.DataFrame(empty)
    long = flags[[*by, "flag_id", "item_group", "record_keys"]].explode("record_keys", ignore_index=True)
    parts = long["record_keys"].astype(str).str.split("/", n=1, expand=True)
    long["department"], long["record_id"] = parts[0], parts[1]
    amounts = records[["department", "record_id", "amount"]].drop_duplicates(["department", "record_id"])
    long = long.merge(amounts, on=["department", "record_id"], how="left")
    out = long.groupby(keys, sort=True).agg(
        n_flags=("flag_id", "nunique"), n_records=("record_id", "size"), amount=("amount", "sum")
    )
    return out.reset_index().astype({"n_flags": "int64", "n_records": "int64", "amount": "float64"})


_OVERLAP_DTYPES: Final = ("str", "str", "int64", "int64", "float64")


@dataclass(frozen=True)
class OverlapMatrix:
    """The overlap as two department x item-group matrices, and the total amount flagged.

    Attributes
    ----------
    counts : pandas.DataFrame
        Index departments, columns item groups (the catalogue's group names): flags.
    amounts : pandas.DataFrame
        Same shape: yuan of the department's records in those flags.
    total_amount : float
        Yuan of every record of the flags (each record once).
    n_flags : int
    """

    counts: pd.DataFrame
    amounts: pd.DataFrame
    total_amount: float
    n_flags: int


def overlap_matrix(
    flags: pd.DataFrame,
    records: pd.DataFrame,
    households: pd.DataFrame,
    area_filter: AreaFilter,
    *,
    town_code: str | None = None,
    village_code: str | None = None,
    lang: str = "zh",
    audit: AuditLog | None = None,
    who: str | None = None,
) -> OverlapMatrix:
    """The department x item-group overlap of the open flags in the user's area.

    Flags are scoped like :func:`flag_list` (a viewer gets an empty matrix); item groups
    are labelled through :mod:`core.i18n`.
    """
    scoped = _scoped(flags, households, area_filter, town_code, village_code, audit, who)
    scoped = scoped.loc[scoped["status"] != "reviewed"]
    table = overlap_table(scoped, records)
    table["item_group"] = table["item_group"].astype(str)  # catalogue group names are words already
    counts = table.pivot(index="department", columns="item_group", values="n_flags").fillna(0).astype("int64")
    amounts = table.pivot(index="department", columns="item_group", values="amount").fillna(0.0)
    total = float(np.nansum(scoped["amount"].to_numpy(dtype=float))) if len(scoped) else 0.0
    return OverlapMatrix(counts=counts, amounts=amounts, total_amount=total, n_flags=len(scoped))


def export_flag_list_csv(
    listed: pd.DataFrame, area_filter: AreaFilter, *, who: str, audit: AuditLog, lang: str = "zh"
) -> bytes:
    """CSV bytes of a :func:`flag_list` (masked names, headers and groups in ``lang``), audited.

    Raises
    ------
    ExportNotAllowedError
        The role may not export individual rows (checked here, not only by hiding a button).
    """
    ensure_can_export_individuals(area_filter.role)
    frame = listed.reindex(columns=list(FLAG_LIST_COLUMNS)).copy()
    frame["item_group"] = frame["item_group"].astype(str)
    frame["status"] = [t(f"dup_status_{s}", lang) if isinstance(s, str) else s for s in frame["status"]]
    frame = frame.rename(columns={c: t(f"dup_col_{c}", lang) for c in FLAG_LIST_COLUMNS})
    data = frame_to_csv_bytes(frame)
    details = audit_details(area_filter, page="duplicates", kind="duplicate_flags", join=JOIN)
    audit.append(who, area_filter.role.value, EXPORT_ACTION, details, len(listed), sha256_hex(data))
    return data


def review_flag(
    flags: pd.DataFrame,
    households: pd.DataFrame,
    flag_id: str,
    *,
    note: str,
    area_filter: AreaFilter,
    who: str,
    store: Store,
    audit: AuditLog,
    dataset: str,
) -> None:
    """Mark one flag of the user's own area "reviewed: legitimate" (stored and audited).

    The flag must be visible to ``area_filter`` (:func:`flag_list` with reviewed ones): a
    viewer, or a manager naming a flag of another area, is refused.

    Raises
    ------
    DuplicateFlagError
        The role may not review, the flag is not in the user's area (or unknown), or the note is empty.
    """
    if not can_see_individuals(area_filter.role):
        raise DuplicateFlagError("该角色不能复核重复救助疑点 (this role may not review flags)")
    scoped = _scoped(flags, households, area_filter, None, None, audit, who)
    row = scoped.loc[scoped["flag_id"] == flag_id]
    if len(row) == 0:
        msg = f"疑点 {flag_id} 不存在或不在您的辖区内 (flag not found in your area)"
        raise DuplicateFlagError(msg)
    mark_reviewed(
        store,
        audit,
        {str(k): v for k, v in row.iloc[0].to_dict().items()},
        note=note,
        who=who,
        role=area_filter.role.value,
        dataset=dataset,
        area=area_filter.as_dict(),
    )
