"""Provider capacity and sustainability (服务能力): per provider and per town, streamlit-free.

Inputs are the matching result (:class:`geo.matching.MatchingResult` of the bundle's
needs and offers), the providers and the departments' service records per month.

What is measured
----------------
* **Utilisation** ``u = assigned / capacity_per_month`` (from the matching result).
* **Unmet demand it could take** (``unmet_in_reach``): needs left unmatched for capacity
  (reason ``capacity``) whose nearest offer within reach is this provider's
  (``nearest_provider_id`` of the matching): the needs it would take if its capacity grew.
* **Activity per month**: service records carry a *department*, not a provider. A
  provider's activity in a month is the number of records of **its department, for the
  items it offers, of households in its town** (several providers of one department and
  town share that activity). ``months_active`` counts months with at least one such
  record out of the ``months_observed`` months of the records.
* **Trend** ``slope_rel``: least-squares slope of the monthly counts over the last
  ``trend_months`` months divided by their mean (relative change per month; 0 without
  records).
* **Share of the district's demand** per item it carries: needs it was matched to /
  all needs of that item in the district.
* **Dependency risk**: an item offered by a single provider in the district.

The sustainability indicator (0–100)
------------------------------------
``S = 100 × (0.30·H + 0.30·A + 0.20·T + 0.20·D)`` with

* ``H = 1 − min(u, 1)``: utilisation headroom (0 when fully used; a provider without
  capacity has H = 0);
* ``A = months_active / months_observed``: regularity of activity;
* ``T = (clip(slope_rel, −0.1, 0.1) + 0.1) / 0.2``: trend, 0 at −10 %/month or worse,
  0.5 flat, 1 at +10 %/month or better;
* ``D = 1 − sole_items / n_items``: independence, lower when the district depends on this
  provider alone for some of its items.

A provider whose department has no service records at all (enterprises, volunteers ... in
the demo) has no known activity: A and T are left out and the weights re-normalised,
``S = 100 × (0.30·H + 0.20·D) / 0.50`` (column ``activity_known`` = False).

A town's indicator is the capacity-weighted mean of its providers' indicators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import CapacityInputError
from data.accounts.access import AreaFilter, can_see_individuals
from geo.disclosure import count_alone
from geo.matching import MatchingResult

#: weights of the sustainability indicator (headroom, activity, trend, independence)
WEIGHTS: Final[dict[str, float]] = {"H": 0.30, "A": 0.30, "T": 0.20, "D": 0.20}
#: the trend is clipped to ± this relative change per month
TREND_CLIP: Final = 0.10
#: months of the trend
DEFAULT_TREND_MONTHS: Final = 6
#: the formula as shown on the page and in the report
FORMULA_ZH: Final = (
    "可持续性指数 S = 100 ×（0.30·H + 0.30·A + 0.20·T + 0.20·D）；"
    "H = 1 − min(利用率, 1)（能力余量）；A = 活跃月数 / 观察月数；"
    "T = (截断到 ±10% 的月相对变化率 + 0.1) / 0.2（趋势）；D = 1 − 独家项目数 / 项目数（独立性）。"
    "活跃度按该主体所属部门、所供项目、所在镇街住户的服务记录计（记录只标注部门，不标注服务主体）；"
    "所属部门没有任何服务记录的主体，活跃度未知，S = 100 ×（0.30·H + 0.20·D）/ 0.50。"
)
FORMULA_EN: Final = (
    "Sustainability S = 100 × (0.30·H + 0.30·A + 0.20·T + 0.20·D); H = 1 − min(utilisation, 1) (headroom); "
    "A = months active / months observed; T = (relative monthly change clipped to ±10% + 0.1) / 0.2 (trend); "
    "D = 1 − sole items / items (independence). Activity counts records of the provider's department, for its "
    "items, of households in its town (records name a department, not a provider); without any record of its "
    "department, activity is unknown and S = 100 × (0.30·H + 0.20·D) / 0.50."
)
#: columns of :func:`provider_table`
PROVIDER_COLUMNS: Final = (
    "provider_id", "name", "department", "town_code", "capacity_per_month", "assigned", "utilisation",
    "unmet_in_reach", "n_items", "sole_items", "activity_known", "months_active", "months_observed", "slope_rel",
    "H", "A", "T", "D", "sustainability",
)  # fmt: skip
#: columns of :func:`town_table`
TOWN_COLUMNS: Final = (
    "town_code", "n_providers", "capacity_per_month", "assigned", "utilisation", "unmet_in_reach",
    "sole_items", "sustainability",
)  # fmt: skip
#: columns of :func:`item_share_table`
ITEM_SHARE_COLUMNS: Final = (
    "provider_id", "item_id", "capacity_per_month", "assigned", "district_demand", "share_of_demand", "sole_provider",
)  # fmt: skip


def provider_towns(providers: pd.DataFrame, towns: gpd.GeoDataFrame) -> pd.Series:
    """The town (``town_code``) each provider lies in, by its ``lon, lat`` (NaN outside every town).

    Returns
    -------
    pandas.Series
        Indexed like ``providers``, object dtype.
    """
    if "town_code" in providers.columns:
        return providers["town_code"].astype(object)
    pts = gpd.GeoDataFrame(
        index=providers.index, geometry=gpd.points_from_xy(providers["lon"], providers["lat"]), crs="EPSG:4326"
    )
    joined = gpd.sjoin(pts, towns[["town_code", "geometry"]].to_crs("EPSG:4326"), how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["town_code"].reindex(providers.index).astype(object)


def monthly_activity(
    records: pd.DataFrame, offers: pd.DataFrame, providers: pd.DataFrame, *, months: list[str] | None = None
) -> pd.DataFrame:
    """Records per provider and month (see the module docstring: department × items × town).

    Parameters
    ----------
    records : pandas.DataFrame
        ``department``, ``item_id``, ``town_code`` (the household's), ``date`` (datetime).
    offers : pandas.DataFrame
        ``provider_id``, ``item_id``.
    providers : pandas.DataFrame
        ``provider_id``, ``department``, ``town_code``.
    months : list of str, optional
        Month labels (``YYYY-MM``) to report; default every month of ``records``.

    Returns
    -------
    pandas.DataFrame
        Index ``provider_id`` (every provider), columns the months, int64 counts.
    """
    need = {"department", "item_id", "town_code", "date"}
    if not need <= set(records.columns):
        msg = f"服务记录缺少列：{sorted(need - set(records.columns))} (service records lack columns)"
        raise CapacityInputError(msg)
    month = pd.to_datetime(records["date"]).dt.strftime("%Y-%m")
    if months is None:
        months = sorted(month.dropna().unique().tolist())
    counts = (
        records.assign(month=month)
        .groupby(["department", "item_id", "town_code", "month"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    pairs = offers[["provider_id", "item_id"]].drop_duplicates()
    prov = providers[["provider_id", "department", "town_code"]]
    long = pairs.merge(prov, on="provider_id", how="left").merge(
        counts, on=["department", "item_id", "town_code"], how="inner"
    )
    table = long.pivot_table(index="provider_id", columns="month", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(index=providers["provider_id"].astype(str).tolist(), columns=months, fill_value=0)
    table.index.name, table.columns.name = "provider_id", "month"
    return table.fillna(0).astype("int64")


def relative_slope(counts: np.ndarray) -> float:
    """Least-squares slope of ``counts`` (per step) divided by their mean; 0 when empty or all zero."""
    y = np.asarray(counts, dtype=float)
    if y.size < 2 or y.mean() == 0:
        return 0.0
    x = np.arange(y.size, dtype=float)
    slope = float(np.polyfit(x, y, 1)[0])
    return slope / float(y.mean())


def sustainability(utilisation: float, active_share: float, slope_rel: float, independence: float) -> float:
    """The indicator of the module docstring, 0–100, from its four inputs."""
    h = 0.0 if not np.isfinite(utilisation) else 1.0 - min(max(utilisation, 0.0), 1.0)
    t = (min(max(slope_rel, -TREND_CLIP), TREND_CLIP) + TREND_CLIP) / (2 * TREND_CLIP)
    w = WEIGHTS
    return 100.0 * (w["H"] * h + w["A"] * active_share + w["T"] * t + w["D"] * independence)


def sole_items(offers: pd.DataFrame) -> pd.DataFrame:
    """Items offered by exactly one provider in the district (dependency risk).

    Returns
    -------
    pandas.DataFrame
        ``item_id``, ``provider_id``, ``capacity_per_month``; sorted by item.
    """
    pos = offers[offers["capacity_per_month"] > 0]
    n = pos.groupby("item_id")["provider_id"].nunique()
    one = n[n == 1].index
    grouped = pos[pos["item_id"].isin(one)].groupby(["item_id", "provider_id"], as_index=False)
    out: pd.DataFrame = grouped[["capacity_per_month"]].sum()
    return out.sort_values("item_id", ignore_index=True)


def item_share_table(match: MatchingResult) -> pd.DataFrame:
    """Per provider and item: capacity, matched needs, the item's district demand and this provider's share.

    Returns
    -------
    pandas.DataFrame
        :data:`ITEM_SHARE_COLUMNS`; ``share_of_demand`` = assigned / district_demand (NaN at 0 demand).
    """
    of = match.offers.groupby(["provider_id", "item_id"], as_index=False)[["capacity_per_month", "assigned"]].sum()
    demand = match.needs.groupby("item_id").size().rename("district_demand")
    of = of.merge(demand, left_on="item_id", right_index=True, how="left")
    of["district_demand"] = of["district_demand"].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        of["share_of_demand"] = np.where(of["district_demand"] > 0, of["assigned"] / of["district_demand"], np.nan)
    sole = sole_items(match.offers)
    of["sole_provider"] = of["item_id"].isin(set(sole["item_id"]))
    return of.reindex(columns=list(ITEM_SHARE_COLUMNS)).sort_values(["provider_id", "item_id"], ignore_index=True)


def provider_table(
    match: MatchingResult,
    providers: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    trend_months: int = DEFAULT_TREND_MONTHS,
    known_departments: set[str] | None = None,
) -> pd.DataFrame:
    """One row per provider: capacity, load, unmet demand in reach, activity, trend, the indicator.

    Parameters
    ----------
    match : MatchingResult
    providers : pandas.DataFrame
        ``provider_id``, ``name``, ``department``, ``town_code``.
    activity : pandas.DataFrame
        :func:`monthly_activity`.
    known_departments : set of str, optional
        Departments that have service records at all (default: every department); a
        provider of another department has ``activity_known`` False.

    Returns
    -------
    pandas.DataFrame
        :data:`PROVIDER_COLUMNS`, lowest indicator first.
    """
    p = providers[["provider_id", "name", "department", "town_code"]].copy()
    p["provider_id"] = p["provider_id"].astype(str)
    load = match.providers[["provider_id", "capacity_per_month", "assigned", "utilisation", "n_items"]]
    p = p.merge(load.astype({"provider_id": str}), on="provider_id", how="left")
    for col in ("capacity_per_month", "assigned", "n_items"):
        p[col] = p[col].fillna(0).astype("int64")
    unmet = match.needs.loc[match.needs["reason"] == "capacity", "nearest_provider_id"].astype(str).value_counts()
    p["unmet_in_reach"] = p["provider_id"].map(unmet).fillna(0).astype("int64")
    sole = sole_items(match.offers)["provider_id"].astype(str).value_counts()
    p["sole_items"] = p["provider_id"].map(sole).fillna(0).astype("int64")
    act = activity.reindex(p["provider_id"]).fillna(0).to_numpy(dtype=float)
    n_months = act.shape[1]
    p["months_active"] = (act > 0).sum(axis=1).astype("int64")
    p["months_observed"] = n_months
    p["slope_rel"] = [relative_slope(row[-trend_months:]) for row in act]
    u = p["utilisation"].to_numpy(dtype=float)
    p["H"] = np.where(np.isfinite(u), 1.0 - np.clip(u, 0.0, 1.0), 0.0)
    p["A"] = p["months_active"] / n_months if n_months else 0.0
    p["T"] = (p["slope_rel"].clip(-TREND_CLIP, TREND_CLIP) + TREND_CLIP) / (2 * TREND_CLIP)
    items = p["n_items"].to_numpy(dtype=float)
    p["D"] = np.where(items > 0, 1.0 - p["sole_items"] / np.maximum(items, 1.0), 1.0)
    p["activity_known"] = (
        True if known_departments is None else p["department"].astype(str).isin(known_departments).to_numpy()
    )
    w = WEIGHTS
    full = 100.0 * (w["H"] * p["H"] + w["A"] * p["A"] + w["T"] * p["T"] + w["D"] * p["D"])
    part = 100.0 * (w["H"] * p["H"] + w["D"] * p["D"]) / (w["H"] + w["D"])
    p["sustainability"] = np.where(p["activity_known"], full, part)
    for col in ("A", "T", "slope_rel"):
        p[col] = p[col].where(p["activity_known"])
    out = p.reindex(columns=list(PROVIDER_COLUMNS))
    return out.sort_values(["sustainability", "provider_id"], kind="stable", ignore_index=True)


def town_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per town: providers, capacity, load, utilisation, unmet in reach, sole items, capacity-weighted indicator.

    Returns
    -------
    pandas.DataFrame
        :data:`TOWN_COLUMNS`, sorted by town.
    """
    if len(table) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TOWN_COLUMNS})
    t = table.assign(_w=table["capacity_per_month"] * table["sustainability"])
    g = t.groupby("town_code", sort=True)
    out = g.agg(
        n_providers=("provider_id", "size"),
        capacity_per_month=("capacity_per_month", "sum"),
        assigned=("assigned", "sum"),
        unmet_in_reach=("unmet_in_reach", "sum"),
        sole_items=("sole_items", "sum"),
        _w=("_w", "sum"),
    ).reset_index()
    cap = out["capacity_per_month"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["utilisation"] = np.where(cap > 0, out["assigned"] / cap, np.nan)
        out["sustainability"] = np.where(cap > 0, out["_w"] / cap, np.nan)
    return out.reindex(columns=list(TOWN_COLUMNS))


def scope_table(table: pd.DataFrame, area_filter: AreaFilter) -> pd.DataFrame:
    """Rows of the user's area: every town for planner / admin, the own town for town and
    village managers (providers serve the whole town), none for a viewer (aggregates only:
    use :func:`protected_counts`)."""
    if not can_see_individuals(area_filter.role):
        return table.iloc[0:0]
    if area_filter.town_code:
        return table.loc[table["town_code"].astype(str) == area_filter.town_code].reset_index(drop=True)
    return table


def protected_counts(table: pd.DataFrame, columns: tuple[str, ...] = ("unmet_in_reach", "assigned")) -> pd.DataFrame:
    """``table`` with the household counts in ``columns`` as printed alone (1–9 → ``"<10"``).

    Each row's counts are independent figures (no printed total relates them), so
    :func:`geo.disclosure.count_alone` applies.
    """
    out = table.copy()
    for col in columns:
        if col in out.columns:
            out[col] = [count_alone(int(v)) for v in out[col]]
    return out


@dataclass(frozen=True)
class CapacityView:
    """Everything the 服务能力 page and the report section show (not yet scoped to an area).

    Attributes
    ----------
    providers : :func:`provider_table`
    towns : :func:`town_table`
    items : :func:`item_share_table`
    sole : :func:`sole_items`
    activity : :func:`monthly_activity`
    """

    providers: pd.DataFrame
    towns: pd.DataFrame
    items: pd.DataFrame
    sole: pd.DataFrame
    activity: pd.DataFrame


def capacity_view(
    match: MatchingResult, providers: pd.DataFrame, towns: gpd.GeoDataFrame, records: pd.DataFrame
) -> CapacityView:
    """Per provider and per town capacity, load, activity and the indicator (see the module docstring)."""
    prov = providers.assign(town_code=provider_towns(providers, towns))
    activity = monthly_activity(records, match.offers, prov)
    known = set(records["department"].dropna().astype(str))
    table = provider_table(match, prov, activity, known_departments=known)
    return CapacityView(
        providers=table,
        towns=town_table(table),
        items=item_share_table(match),
        sole=sole_items(match.offers),
        activity=activity,
    )
