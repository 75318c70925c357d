"""Compare two months' lists (动态调整): new / resolved needs, capacity added / withdrawn, duplicates found / cleared.

Streamlit-free. A month's list is its latest stored version (:mod:`data.monthly`). Needs and
duplicate flags are about households: they are joined to the beneficiaries' area and
filtered with :func:`data.accounts.access.filter_frame` (own town / community, none for a
viewer) before they are compared. Offers are organisations' (public): every role sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import MonthlyListError
from core.i18n import item_label, t
from data.accounts.access import AreaFilter, filter_frame
from data.accounts.audit import AuditLog
from data.duplicates import JOIN, flag_duplicates
from data.monthly import load_version, months, save_version
from data.storage import Store
from reports.build import current_month

OFFER_KEY = ["provider_id", "item_id"]
#: the monthly lists a report reads
MONTH_KINDS = ("needs", "offers", "records")


@dataclass(frozen=True)
class MonthDiff:
    """What changed from month ``a`` to month ``b`` (each the month's latest version).

    Attributes
    ----------
    new_needs, resolved_needs : pandas.DataFrame
        Needs (their ``need_id``) only in ``b`` / only in ``a``; the needs' columns.
    capacity_added, capacity_withdrawn : pandas.DataFrame
        ``provider_id, item_id, capacity_a, capacity_b, change`` (monthly places; a missing
        offer counts 0) where ``change`` > 0 / < 0.
    dup_found, dup_cleared : pandas.DataFrame
        Duplicate flags (:func:`data.duplicates.flag_duplicates` of each month's records)
        only in ``b`` / only in ``a``.
    versions : dict
        ``{(kind, month): version}`` of what was compared (the report names them).
    """

    a: str
    b: str
    new_needs: pd.DataFrame
    resolved_needs: pd.DataFrame
    capacity_added: pd.DataFrame
    capacity_withdrawn: pd.DataFrame
    dup_found: pd.DataFrame
    dup_cleared: pd.DataFrame
    versions: dict[tuple[str, str], int]


def _scoped_needs(needs: pd.DataFrame, households: pd.DataFrame, area_filter: AreaFilter) -> pd.DataFrame:
    if len(needs) == 0:
        return needs
    area = households.reindex(columns=["beneficiary_id", "town_code", "community_code"]).dropna(
        subset=["beneficiary_id"]
    )
    area = area.drop_duplicates("beneficiary_id")
    joined = needs.merge(area.rename(columns={"beneficiary_id": "household_id"}), on="household_id", how="left")
    return filter_frame("beneficiaries", joined, area_filter)


def _scoped_flags(records: pd.DataFrame, households: pd.DataFrame, area_filter: AreaFilter) -> pd.DataFrame:
    if len(records) == 0:
        flags = flag_duplicates(
            records.reindex(columns=["record_id", "department", "person_key", "item_group", "date"])
        )
    else:
        recs = records.copy()
        recs["date"] = pd.to_datetime(recs["date"])
        flags = flag_duplicates(recs)
    area = households.reindex(columns=["id_hash", "town_code", "community_code"]).dropna(subset=["id_hash"])
    joined = flags.merge(
        area.drop_duplicates("id_hash").rename(columns={"id_hash": "person_key"}), on="person_key", how="left"
    )
    return filter_frame("beneficiaries", joined, area_filter)


def needs_diff(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(needs only in ``b``, needs only in ``a``), by ``need_id``."""
    ids_a, ids_b = set(a.get("need_id", [])), set(b.get("need_id", []))
    new = b.loc[~b["need_id"].isin(ids_a)] if len(b) else b
    resolved = a.loc[~a["need_id"].isin(ids_b)] if len(a) else a
    return new.reset_index(drop=True), resolved.reset_index(drop=True)


def capacity_diff(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Every provider x item whose monthly capacity changed: ``provider_id, item_id, capacity_a, capacity_b, change``.

    A missing offer counts 0.
    """

    def cap(frame: pd.DataFrame) -> pd.Series:
        if len(frame) == 0:
            return pd.Series(dtype="float64")
        values = pd.to_numeric(frame["capacity_per_month"], errors="coerce").fillna(0)
        return values.groupby([frame["provider_id"], frame["item_id"]]).sum()

    both = pd.concat({"capacity_a": cap(a), "capacity_b": cap(b)}, axis=1).fillna(0).astype("int64")
    both.index.names = OFFER_KEY
    both["change"] = both["capacity_b"] - both["capacity_a"]
    return both.loc[both["change"] != 0].reset_index()


def compare_months(
    store: Store,
    a: str,
    b: str,
    *,
    dataset: str,
    households: pd.DataFrame,
    area_filter: AreaFilter,
) -> MonthDiff:
    """The differences between the lists of months ``a`` and ``b`` that ``area_filter`` may see.

    A kind with no version in a month counts as an empty list there.
    """
    lists: dict[tuple[str, str], pd.DataFrame] = {}
    versions: dict[tuple[str, str], int] = {}
    for kind in ("needs", "offers", "records"):
        for m in (a, b):
            try:
                v = load_version(store, kind, m, dataset=dataset)
            except MonthlyListError:
                lists[(kind, m)] = pd.DataFrame()
                continue
            lists[(kind, m)], versions[(kind, m)] = v.rows, v.version
    na = _scoped_needs(lists[("needs", a)], households, area_filter)
    nb = _scoped_needs(lists[("needs", b)], households, area_filter)
    new, resolved = needs_diff(na, nb)
    cap = capacity_diff(lists[("offers", a)], lists[("offers", b)])
    fa = _scoped_flags(lists[("records", a)], households, area_filter)
    fb = _scoped_flags(lists[("records", b)], households, area_filter)
    found = fb.loc[~fb["flag_id"].isin(set(fa["flag_id"]))].reset_index(drop=True)
    cleared = fa.loc[~fa["flag_id"].isin(set(fb["flag_id"]))].reset_index(drop=True)
    return MonthDiff(
        a, b, new, resolved,
        cap.loc[cap["change"] > 0].reset_index(drop=True), cap.loc[cap["change"] < 0].reset_index(drop=True),
        found, cleared, versions,
    )  # fmt: skip


def report_month(store: Store | None, dataset: str) -> str:
    """The default month of a dataset's reports: its current monthly version's month, else this month (China)."""
    if store is not None:
        found = [m for kind in MONTH_KINDS for m in months(store, dataset=dataset, kind=kind)]
        if found:
            return max(found)
    return current_month()


def month_tables(
    tables: dict[str, pd.DataFrame], store: Store | None, dataset: str, month: str
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """``tables`` with the needs, offers and records of ``month``'s latest versions where they exist.

    Returns
    -------
    The tables and ``{kind: version}`` of what was replaced.
    """
    out = dict(tables)
    used: dict[str, int] = {}
    if store is None:
        return out, used
    for kind in MONTH_KINDS:
        try:
            v = load_version(store, kind, month, dataset=dataset)
        except MonthlyListError:
            continue
        out[kind], used[kind] = v.rows, v.version
    return out, used


# -- tables as the page shows them -------------------------------------------------------------
def needs_table(frame: pd.DataFrame, lang: str = "zh", items: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Needs with Chinese headers and item names."""
    return pd.DataFrame(
        {
            t("mo_col_need_id", lang): frame.get("need_id", pd.Series(dtype=str)).astype(str).to_numpy(),
            t("mo_col_household_id", lang): frame.get("household_id", pd.Series(dtype=str)).astype(str).to_numpy(),
            t("mo_col_item", lang): [item_label(v, lang, items) for v in frame.get("item_id", [])],
            t("mo_col_urgency", lang): [
                t("not_recorded", lang) if pd.isna(u) else str(int(u)) for u in frame.get("urgency", [])
            ],
        }
    )


def capacity_table(
    frame: pd.DataFrame, names: dict[str, str], lang: str = "zh", items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Capacity changes with provider and item names."""
    return pd.DataFrame(
        {
            t("mo_col_provider", lang): [names.get(str(p), str(p)) for p in frame["provider_id"]],
            t("mo_col_item", lang): [item_label(v, lang, items) for v in frame["item_id"]],
            t("mo_col_cap_a", lang): frame["capacity_a"].to_numpy(),
            t("mo_col_cap_b", lang): frame["capacity_b"].to_numpy(),
            t("mo_col_change", lang): [f"{c:+d}" for c in frame["change"]],
        }
    )


def flags_table(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Duplicate flags with Chinese headers."""
    return pd.DataFrame(
        {
            t("mo_col_flag_id", lang): frame["flag_id"].astype(str).to_numpy(),
            t("mo_col_group", lang): frame["item_group"].astype(str).to_numpy(),
            t("mo_col_period", lang): frame["period"].astype(str).to_numpy(),
            t("mo_col_departments", lang): [str(d).replace(JOIN, "、") for d in frame["departments"]],
        }
    )


# -- demo -------------------------------------------------------------------------------------
def store_demo_months(
    store: Store,
    audit: AuditLog,
    needs: pd.DataFrame,
    offers: pd.DataFrame,
    records: pd.DataFrame,
    *,
    dataset: str,
    who: str,
    role: str,
    months: tuple[str, str] = ("2026-04", "2026-05"),
    seed: int = 13,
) -> None:
    """Two synthetic monthly versions of each list from the demo bundle (labelled synthetic, audited).

    Month ``a``: the needs raised by its end, less a tenth; month ``b``: the needs raised by
    its end, less a fifth of ``a``'s (resolved). Offers: some capacities raised, some cut,
    some withdrawn. Records: those dated up to each month's end; in ``b`` one department's
    records of a few ``a`` flags are withdrawn (cleared).
    """
    rng = np.random.default_rng(seed)
    a, b = months
    end_a, end_b = pd.Period(a, "M").end_time, pd.Period(b, "M").end_time
    since = pd.to_datetime(needs["since"], errors="coerce")
    na = needs.loc[since <= end_a]
    na = na.loc[rng.random(len(na)) > 0.1]
    nb = needs.loc[since <= end_b]
    nb = nb.loc[~nb["need_id"].isin(na["need_id"].sample(frac=0.2, random_state=seed))]
    ob = offers.copy()
    idx = rng.choice(len(ob), size=min(24, len(ob)), replace=False)
    ob.loc[ob.index[idx[:8]], "capacity_per_month"] += 20
    cut = ob.index[idx[8:16]]
    ob.loc[cut, "capacity_per_month"] = (ob.loc[cut, "capacity_per_month"] - 30).clip(lower=0)
    ob = ob.drop(index=ob.index[idx[16:]])
    dates = pd.to_datetime(records["date"])
    ra, rb = records.loc[dates <= end_a], records.loc[dates <= end_b]
    fa = flag_duplicates(ra)
    withdrawn = [k for keys in fa["record_keys"].head(3) for k in keys[:1]]
    rk = rb["department"].astype(str) + "/" + rb["record_id"].astype(str)
    rb = rb.loc[~rk.isin(withdrawn)]
    for kind, month, frame in (
        ("needs", a, na), ("needs", b, nb), ("offers", a, offers), ("offers", b, ob),
        ("records", a, ra), ("records", b, rb),
    ):  # fmt: skip
        save_version(store, audit, kind, month, frame, dataset=dataset, who=who, role=role, file_name="演示（合成）")
