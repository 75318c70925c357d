"""The figures of a coverage report, computed from one :class:`geo.analysis.CoverageRun`.

Every number here comes from ``run.points`` (one row per beneficiary household with its
walking distance and ``covered`` flag), ``run.hexes`` and ``run.hubs``; never from the
display-only service-area polygons. These tables hold the **exact** figures and are never
written to a file as they are: :mod:`geo.disclosure` decides what may be printed.

Levels and areas
----------------
district
    One row: every beneficiary.
town
    One row per town (``towns``), the beneficiaries whose ``town_code`` is that town's;
    a row "未知镇街" collects any beneficiary of an unknown town code.
village
    One row per community/village of ``communities`` (all of them, with or without a
    village service point), the beneficiaries whose ``community_code`` is that
    community's and whose town is the community's town; a row "未匹配社区" per town
    collects the rest. A community **has a village point** when a hub of tier
    ``village`` names it: the hub's ``community_code`` column when the hub table has one,
    else its id ``"V" + community_code`` (the demo bundle's convention). Communities
    without a point are listed (``has_hub`` false): they are the gaps of the network of
    village points. The rows of a town add up to the town, the towns to the district.

Walking distance percentiles
----------------------------
Over the beneficiaries of the area that have coordinates: a covered household counts
with its network walking distance (``walk_m``, ``walk_min``); every other one (no hub
within the cutoff, or more than ``max_access_m`` from the network) counts as "beyond
the cutoff", since the bounded search never measures farther. Percentiles are linear
interpolations between order statistics (numpy's default ``"linear"`` method); one that
falls on or beyond the first "beyond" value is ``inf`` and printed ``">750"`` (the
cutoff in metres) or ``">10"`` (minutes).

Providers and sites
-------------------
A provider (or a recommended site) lies in the town whose cell contains it (the town
cells of the bundle, derived, not official) and in the community of that town whose
point is nearest to it (community boundaries are not public). Capacities are the
providers' monthly capacity; a provider offering several items counts in each item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from core.i18n import CATEGORY_ZH, NEED_TYPE_ZH, TIER_ZH, labels
from core.vocab import CATEGORIES, LIST_SEP, NEED_TYPES, SERVICE_CATALOGUE
from geo.analysis import CoverageRun
from geo.areas import hub_community
from geo.coverage import STATUS_NO_COORDS
from geo.disclosure import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE
from geo.figures import coverage_pct
from geo.hexes import cells_to_str, latlng_to_cells
from geo.snap import lonlat_to_metric

LEVELS = (LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE)
LEVEL_ZH = labels("level")

UNKNOWN = "unknown"
UNKNOWN_TOWN = "__unknown_town__"
UNMATCHED_SUFFIX = ":unmatched"
URGENCY_LEVELS = ("5", "4", "3", "2", "1")  # most urgent first
URGENCY_ZH = {
    "5": "紧急度5（最急）",
    "4": "紧急度4",
    "3": "紧急度3",
    "2": "紧急度2",
    "1": "紧急度1",
    UNKNOWN: "紧急度未填",
}
SERVICE_ZH = {s.code: s.name_zh for s in SERVICE_CATALOGUE}
SERVICE_NEED = {s.code: s.need_type for s in SERVICE_CATALOGUE}
COMMUNITY_TYPE_ZH = labels("community_type")

#: a hub whose tier the data does not give (``geo batch --reports``: a hubs file of ``hub_id, lon, lat``)
TIER_UNKNOWN_ZH = "服务点（层级未填）"


def tier_zh(tier: Any) -> str:
    """Chinese name of a hub tier; a missing or ``unknown`` tier is :data:`TIER_UNKNOWN_ZH`."""
    if tier is None or (isinstance(tier, float) and math.isnan(tier)) or str(tier) in ("", UNKNOWN):
        return TIER_UNKNOWN_ZH
    return TIER_ZH.get(str(tier), str(tier))


#: the count columns of every area row, besides the per-group ones
BASE_COUNTS = ("n", "inside", "outside")
PERCENTILES = (("p50", 0.5), ("p90", 0.9))


@dataclass(frozen=True)
class ReportInfo:
    """What a report says about its data and method, besides the figures.

    Attributes
    ----------
    district_code, district_name : the study area's code (``"330106"``) and name (``"西湖区"``).
    label_zh : the data set's label (says "synthetic" for the demo).
    note_zh : what is real and what is synthetic.
    attribution : licence attribution of the map data and boundary.
    network : the network's provenance: ``source`` (file name), ``sha256``, ``source_date``
        (the file's date), ``n_nodes``, ``n_edges``.
    is_fallback : the data is not Xihu's.
    generated : date of the report (ISO), today by default.
    month : the month the report describes (``YYYY-MM``), printed in every file and file name.
    """

    district_code: str = "district"
    district_name: str = "全区"
    label_zh: str = ""
    note_zh: str = ""
    attribution: str = ""
    network: dict[str, Any] = field(default_factory=dict)
    is_fallback: bool = False
    generated: str = field(default_factory=lambda: date.today().isoformat())
    month: str = ""


@dataclass(frozen=True)
class Groups:
    """Values of the breakdowns, in print order (fixed codes first, then any other value found)."""

    categories: tuple[str, ...]
    needs: tuple[str, ...]
    urgencies: tuple[str, ...]

    def count_columns(self) -> list[str]:
        """Every count column of an area row, in print order."""
        cols = list(BASE_COUNTS)
        cols += [f"cat_{c}" for c in self.categories]
        for k in self.needs:
            cols += [f"need_{k}_n", f"need_{k}_in", f"need_{k}_out"]
        for u in self.urgencies:
            cols += [f"urg_{u}_n", f"urg_{u}_in", f"urg_{u}_out"]
        return cols

    def population_columns(self) -> list[str]:
        """Count columns that do not depend on the analysis settings (walk, minutes, H3)."""
        return (
            ["n"]
            + [f"cat_{c}" for c in self.categories]
            + [f"need_{k}_n" for k in self.needs]
            + [f"urg_{u}_n" for u in self.urgencies]
        )

    def label(self, kind: str, value: str) -> str:
        """Chinese label of a group value (``kind`` is ``cat``, ``need`` or ``urg``)."""
        if kind == "cat":
            return CATEGORY_ZH.get(value, "类别未填" if value == UNKNOWN else value)
        if kind == "need":
            return NEED_TYPE_ZH.get(value, "需求类型未填" if value == UNKNOWN else value)
        return URGENCY_ZH.get(value, f"紧急度{value}")


@dataclass(frozen=True, eq=False)
class ReportTables:
    """The exact figures of a report (never printed as they are: see :mod:`geo.disclosure`).

    Attributes
    ----------
    run : the coverage run the figures come from.
    info : data set, provenance and attribution.
    groups : the breakdown values.
    areas : one row per area of every level, with columns ``level`` (district / town /
        village), ``area_id`` (district code, town code, community code, or
        ``<town>:unmatched``), ``name``, ``town_code``, ``town_name``, ``community_type``,
        ``has_hub`` (village rows: the community has a village point), ``hub_id``,
        ``hub_name``, the counts of :meth:`Groups.count_columns` (int), ``n_located``
        (int, households with coordinates), ``pct_inside`` (float, % of ``n``),
        ``walk_m_p50``, ``walk_m_p90``, ``walk_min_p50``, ``walk_min_p90`` (float,
        ``inf`` beyond the cutoff, NaN without located households), ``n_gap_hexes``,
        ``n_providers``, ``capacity_month``, ``n_sites`` (int). Rows are in print order:
        the district, the towns by code, the village rows by town and code.
    hexes : one row per H3 cell holding beneficiaries: ``h3``, ``town_code`` (the town of
        most of its households), ``town_name``, ``n``, ``inside``, ``outside`` (int),
        ``pct_inside`` (float), ``gap`` (bool, ``outside > 0``); sorted by ``h3``.
    hex_links : ``level, area_id, h3, gap``: the hexes of each area (district: all; town:
        the hexes assigned to it; village: the hexes holding a household of the
        community) and whether each is a gap of the area (district, town: the hex has an
        uncovered household; village: an uncovered household of the community).
    hubs : ``hub_id, name, tier, tier_zh, town_code, community_code, lon, lat,
        hub_access_m, served`` (households whose nearest hub within the cutoff it is).
    providers : the provider table plus ``town_code``, ``community_code``,
        ``services_zh``.
    provider_items : ``level, area_id, service_code, service_zh, need_type, n_providers,
        capacity_month``: per area and service item, the providers offering it and the sum
        of their monthly capacity (items without a provider are left out).
    sites : the recommended sites of the chosen scenario (``site_id, name, lon, lat`` and
        any ``tier``, ``rank``, ``new_covered``) plus ``town_code``, ``community_code``;
        empty when no scenario was chosen.
    scenario_name : the scenario's name, ``""`` when none was chosen.
    n_no_coords : households without coordinates (counted as outside, in no hex).
    """

    run: CoverageRun
    info: ReportInfo
    groups: Groups
    areas: pd.DataFrame
    hexes: pd.DataFrame
    hex_links: pd.DataFrame
    hubs: pd.DataFrame
    providers: pd.DataFrame
    provider_items: pd.DataFrame
    sites: pd.DataFrame
    scenario_name: str
    n_no_coords: int
    #: per-level rows and names, computed once (never passed: replace() starts a new one)
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def settings(self) -> Any:
        return self.run.settings

    def level(self, level: str) -> pd.DataFrame:
        """The area rows of one level (a copy, fresh index)."""
        key = ("level", level)
        if key not in self._memo:
            self._memo[key] = self.areas[self.areas["level"] == level].reset_index(drop=True)
        return self._memo[key].copy()  # type: ignore[no-any-return]

    def town_names(self) -> dict[str, str]:
        """Town code -> name."""
        return dict(self._names(LEVEL_TOWN))

    def village_names(self) -> dict[str, str]:
        """Village point (community) code -> name."""
        return dict(self._names(LEVEL_VILLAGE))

    def _names(self, level: str) -> dict[str, str]:
        key = ("names", level)
        if key not in self._memo:
            t = self.level(level)
            self._memo[key] = dict(zip(t["area_id"], t["name"], strict=True))
        return self._memo[key]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- helpers


def _group_values(values: pd.Series, fixed: tuple[str, ...]) -> tuple[pd.Series, tuple[str, ...]]:
    """Values as strings (missing -> ``unknown``) and the print order: fixed codes, then others sorted."""
    s = values.astype(object).where(values.notna(), None)
    s = s.map(lambda v: UNKNOWN if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "" else str(v))
    found = set(s.unique().tolist())
    order = [f for f in fixed if f in found or f != UNKNOWN]
    extras = sorted(found - set(fixed) - {UNKNOWN})
    out = tuple(order + extras + ([UNKNOWN] if UNKNOWN in found else []))
    return s, out


def _urgency_values(values: pd.Series) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    ok = num.notna() & (num == np.round(num))
    return pd.Series(np.where(ok, num.fillna(0).astype(np.int64).astype(str), UNKNOWN), index=values.index)


def censored_quantile(finite: npt.ArrayLike, n_beyond: int, q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of ``finite`` values plus ``n_beyond`` values at ``inf``.

    Returns ``inf`` when the quantile involves a value beyond the cutoff, NaN for an
    empty sample.
    """
    x = np.sort(np.asarray(finite, dtype=np.float64))
    n = x.shape[0] + int(n_beyond)
    if n == 0:
        return float("nan")
    h = (n - 1) * q
    lo = math.floor(h)
    frac = h - lo
    if lo >= x.shape[0] or (frac > 0 and lo + 1 >= x.shape[0]):
        return float("inf")
    if frac == 0:
        return float(x[lo])
    return float(np.quantile(x[lo : lo + 2], frac))


def _locate(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    towns: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    metric_crs: str,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Town (cell containing the point) and community (nearest community point of that town) of each point."""
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    town = np.full(lo.shape[0], UNKNOWN_TOWN, dtype=object)
    com = np.full(lo.shape[0], None, dtype=object)
    ok = np.isfinite(lo) & np.isfinite(la)
    for code, geom in zip(towns["town_code"].astype(str), towns.geometry, strict=True):
        inside = ok & (town == UNKNOWN_TOWN) & shapely.contains_xy(geom, lo, la)
        town[inside] = code
    cx, cy = lonlat_to_metric(communities["lon"].to_numpy(), communities["lat"].to_numpy(), metric_crs)
    px, py = lonlat_to_metric(np.where(ok, lo, 0.0), np.where(ok, la, 0.0), metric_crs)
    ctown = communities["town_code"].astype(str).to_numpy()
    ccode = communities["community_code"].astype(str).to_numpy()
    for code in np.unique(town[ok & (town != UNKNOWN_TOWN)]).tolist():
        sel = np.flatnonzero(ctown == code)
        if sel.size == 0:
            continue
        rows = np.flatnonzero(ok & (town == code))
        _, k = cKDTree(np.column_stack([cx[sel], cy[sel]])).query(np.column_stack([px[rows], py[rows]]))
        com[rows] = ccode[sel[np.asarray(k)]]
    return town, com


# ---------------------------------------------------------------------------- the build


def _area_counts(points: pd.DataFrame, key: pd.Series, groups: Groups) -> pd.DataFrame:
    """Counts and percentiles of the points per value of ``key``."""
    cov = points["covered"].to_numpy(dtype=bool, na_value=False)
    ind: dict[str, npt.NDArray[np.int64]] = {
        "n": np.ones(len(points), dtype=np.int64),
        "inside": cov.astype(np.int64),
        "outside": (~cov).astype(np.int64),
    }
    cat = points["_cat"].to_numpy(dtype=object)
    for c in groups.categories:
        ind[f"cat_{c}"] = (cat == c).astype(np.int64)
    for col, prefix, values in (("_need", "need", groups.needs), ("_urg", "urg", groups.urgencies)):
        g = points[col].to_numpy(dtype=object)
        for v in values:
            m = g == v
            ind[f"{prefix}_{v}_n"] = m.astype(np.int64)
            ind[f"{prefix}_{v}_in"] = (m & cov).astype(np.int64)
            ind[f"{prefix}_{v}_out"] = (m & ~cov).astype(np.int64)
    located = (points["status"].astype(str) != STATUS_NO_COORDS).to_numpy()
    ind["n_located"] = located.astype(np.int64)
    frame = pd.DataFrame(ind, index=points.index)
    frame["_key"] = key.to_numpy()
    out = frame.groupby("_key", sort=False).sum()
    walk_m = points["walk_m"].to_numpy(dtype=np.float64, na_value=np.nan)
    walk_min = points["walk_min"].to_numpy(dtype=np.float64, na_value=np.nan)
    pcols: dict[str, list[float]] = {f"walk_{u}_{p}": [] for u in ("m", "min") for p, _ in PERCENTILES}
    keys = key.to_numpy(dtype=object)
    order = np.argsort(keys.astype(str), kind="stable")
    sk = keys[order].astype(str)
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if sk.size else np.zeros(0, dtype=np.int64)
    bounds = dict(
        zip(sk[starts].tolist(), zip(starts.tolist(), [*starts[1:].tolist(), sk.size], strict=True), strict=True)
    )
    for k in out.index.astype(str):
        a, b = bounds[k]
        rows = order[a:b]
        loc = located[rows]
        reached = cov[rows] & loc
        n_beyond = int((loc & ~reached).sum())
        for unit, arr in (("m", walk_m), ("min", walk_min)):
            for p, q in PERCENTILES:
                pcols[f"walk_{unit}_{p}"].append(censored_quantile(arr[rows][reached], n_beyond, q))
    for col, pvals in pcols.items():
        out[col] = pvals
    return out


def _row(series: pd.Series | pd.DataFrame) -> dict[str, Any]:
    """A frame row (``.loc`` of a unique label) as a ``str``-keyed dict."""
    if isinstance(series, pd.DataFrame):
        series = series.iloc[0]
    return {str(k): v for k, v in series.items()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as ``str``-keyed dicts."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _empty_counts(groups: Groups) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys([*groups.count_columns(), "n_located"], 0)
    row.update({f"walk_{u}_{p}": float("nan") for u in ("m", "min") for p, _ in PERCENTILES})
    return row


def build_report_tables(
    run: CoverageRun,
    *,
    towns: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    providers: pd.DataFrame,
    info: ReportInfo,
    scenario_sites: pd.DataFrame | None = None,
    scenario_name: str = "",
) -> ReportTables:
    """Compute every figure of the district, town and village reports from a coverage run.

    Parameters
    ----------
    run : CoverageRun
        Beneficiaries must carry ``town_code``, ``community_code``, ``category``,
        ``need_type`` and ``urgency`` (the canonical beneficiary table).
    towns : GeoDataFrame
        ``town_code, name, geometry`` (EPSG:4326); the cells only locate providers and sites.
    communities : DataFrame
        ``community_code, community_name, town_code, type, lon, lat``.
    providers : DataFrame
        The canonical provider table (``provider_id, name, kind, department, services,
        capacity_month, lon, lat``).
    info : ReportInfo
    scenario_sites : DataFrame, optional
        Recommended sites of the chosen scenario: ``site_id, lon, lat`` and optionally
        ``name``, ``tier``, ``rank``, ``new_covered`` (households newly covered).
    scenario_name : str
        Name of the chosen scenario, printed with its sites.

    Returns
    -------
    ReportTables
    """
    settings = run.settings
    pts = run.points.copy()
    town_list = towns[["town_code", "name"]].astype(str).reset_index(drop=True)
    town_name = dict(zip(town_list["town_code"], town_list["name"], strict=True))
    com = communities.copy()
    com["community_code"] = com["community_code"].astype(str)
    com["town_code"] = com["town_code"].astype(str)
    com_town = dict(zip(com["community_code"], com["town_code"], strict=True))

    # -- keys
    tkey = pts["town_code"].astype(object).map(lambda v: str(v) if isinstance(v, str) and v else None)
    tkey = tkey.map(lambda v: v if v in town_name else UNKNOWN_TOWN)
    ccode = pts["community_code"].astype(object).map(lambda v: str(v) if isinstance(v, str) and v else None)
    ckey = pd.Series(
        [
            c if (c is not None and com_town.get(c) == t) else f"{t}{UNMATCHED_SUFFIX}"
            for c, t in zip(ccode.tolist(), tkey.tolist(), strict=True)
        ],
        index=pts.index,
        dtype=object,
    )
    pts["_cat"], cats = _group_values(pts["category"], CATEGORIES)
    pts["_need"], needs = _group_values(pts["need_type"], NEED_TYPES)
    pts["_urg"] = _urgency_values(pts["urgency"])
    urgs = tuple([u for u in URGENCY_LEVELS] + sorted(set(pts["_urg"]) - set(URGENCY_LEVELS) - {UNKNOWN}))
    if (pts["_urg"] == UNKNOWN).any():
        urgs = (*urgs, UNKNOWN)
    groups = Groups(categories=cats, needs=needs, urgencies=urgs)

    # -- hubs
    hubs = run.hubs.copy()
    hubs["hub_id"] = hubs["hub_id"].astype(str)
    hubs["community_code"] = hub_community(hubs, set(com["community_code"]))
    hubs["tier_zh"] = hubs["tier"].map(tier_zh)
    hub_cols = ["hub_id", "name", "tier", "tier_zh", "town_code", "community_code", "lon", "lat"]
    hub_cols += ["hub_access_m", "served"]
    hubs = hubs[hub_cols].reset_index(drop=True)
    village_hub = hubs.dropna(subset=["community_code"]).drop_duplicates("community_code")
    hub_of_com = dict(zip(village_hub["community_code"], village_hub["hub_id"], strict=True))
    hub_name = dict(zip(hubs["hub_id"], hubs["name"].astype(str), strict=True))

    # -- area rows
    rows: list[dict[str, Any]] = []
    dist = _area_counts(pts, pd.Series("__district__", index=pts.index), groups)
    district_hub = hubs[hubs["tier"] == "district"]
    rows.append(
        {
            "level": LEVEL_DISTRICT,
            "area_id": info.district_code,
            "name": info.district_name,
            "town_code": None,
            "town_name": None,
            "community_type": None,
            "has_hub": len(district_hub) > 0,
            "hub_id": district_hub["hub_id"].iloc[0] if len(district_hub) else None,
            "hub_name": district_hub["name"].iloc[0] if len(district_hub) else None,
            **(_row(dist.iloc[0]) if len(dist) else _empty_counts(groups)),
        }
    )
    tstats = _area_counts(pts, tkey, groups)
    town_codes = list(town_list["town_code"]) + ([UNKNOWN_TOWN] if UNKNOWN_TOWN in tstats.index else [])
    for t in town_codes:
        station = hubs[(hubs["tier"] == "town") & (hubs["town_code"].astype(str) == t)]
        rows.append(
            {
                "level": LEVEL_TOWN,
                "area_id": t,
                "name": town_name.get(t, "未知镇街"),
                "town_code": t,
                "town_name": town_name.get(t, "未知镇街"),
                "community_type": None,
                "has_hub": len(station) > 0,
                "hub_id": station["hub_id"].iloc[0] if len(station) else None,
                "hub_name": station["name"].iloc[0] if len(station) else None,
                **(_row(tstats.loc[t]) if t in tstats.index else _empty_counts(groups)),
            }
        )
    cstats = _area_counts(pts, ckey, groups)
    com_sorted = com.sort_values(["town_code", "community_code"]).reset_index(drop=True)
    for t in town_codes:
        part = com_sorted[com_sorted["town_code"] == t]
        for rec in part.to_dict("records"):
            code = str(rec["community_code"])
            hid = hub_of_com.get(code)
            rows.append(
                {
                    "level": LEVEL_VILLAGE,
                    "area_id": code,
                    "name": str(rec["community_name"]),
                    "town_code": t,
                    "town_name": town_name.get(t, "未知镇街"),
                    "community_type": COMMUNITY_TYPE_ZH.get(str(rec.get("type")), str(rec.get("type", ""))),
                    "has_hub": hid is not None,
                    "hub_id": hid,
                    "hub_name": hub_name.get(hid) if hid else None,
                    **(_row(cstats.loc[code]) if code in cstats.index else _empty_counts(groups)),
                }
            )
        um = f"{t}{UNMATCHED_SUFFIX}"
        if um in cstats.index:
            rows.append(
                {
                    "level": LEVEL_VILLAGE,
                    "area_id": um,
                    "name": "未匹配社区",
                    "town_code": t,
                    "town_name": town_name.get(t, "未知镇街"),
                    "community_type": None,
                    "has_hub": False,
                    "hub_id": None,
                    "hub_name": None,
                    **_row(cstats.loc[um]),
                }
            )
    areas = pd.DataFrame(rows)
    count_cols = [*groups.count_columns(), "n_located"]
    areas[count_cols] = areas[count_cols].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        areas["pct_inside"] = coverage_pct(areas["inside"], areas["n"])

    # -- hexes: counts from run.hexes, town of most households from the points
    hx = run.hexes
    hexes = pd.DataFrame(
        {
            "h3": hx["h3"].astype(str),
            "n": hx["n"].astype(np.int64),
            "inside": hx["covered"].astype(np.int64),
            "outside": hx["uncovered"].astype(np.int64),
        }
    )
    lon = pd.to_numeric(pts["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(pts["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    pcell = cells_to_str(latlng_to_cells(lat, lon, settings.h3_res))
    cell_town = (
        pd.DataFrame({"h3": pcell, "t": tkey.to_numpy()})
        .dropna(subset=["h3"])
        .groupby(["h3", "t"])
        .size()
        .reset_index(name="k")
        .sort_values(["h3", "k", "t"], ascending=[True, False, True])
        .drop_duplicates("h3")
    )
    hexes = hexes.merge(cell_town[["h3", "t"]].rename(columns={"t": "town_code"}), on="h3", how="left")
    hexes["town_name"] = hexes["town_code"].map(town_name).fillna("未知镇街")
    with np.errstate(divide="ignore", invalid="ignore"):
        hexes["pct_inside"] = coverage_pct(hexes["inside"], hexes["n"])
    hexes["gap"] = hexes["outside"] > 0
    hexes = hexes.sort_values("h3").reset_index(drop=True)

    # -- hexes of each area (district: all; town: the hexes assigned to it; village: the hexes
    #    holding a household of the community) and which of them are its gaps
    gap_of = dict(zip(hexes["h3"], hexes["gap"], strict=True))
    links: list[pd.DataFrame] = [
        pd.DataFrame({"level": LEVEL_DISTRICT, "area_id": info.district_code, "h3": hexes["h3"], "gap": hexes["gap"]}),
        pd.DataFrame({"level": LEVEL_TOWN, "area_id": hexes["town_code"], "h3": hexes["h3"], "gap": hexes["gap"]}),
    ]
    placed = pd.notna(pcell)
    unc = ~pts["covered"].to_numpy(dtype=bool, na_value=False)
    raw = pd.DataFrame({"area_id": ckey.to_numpy()[placed], "h3": pcell[placed], "unc": unc[placed]})
    vl = pd.DataFrame(raw.groupby(["area_id", "h3"], as_index=False)["unc"].any())
    vl["gap"] = vl["unc"] & vl["h3"].map(gap_of).fillna(False).astype(bool)
    links.append(pd.DataFrame({"level": LEVEL_VILLAGE, "area_id": vl["area_id"], "h3": vl["h3"], "gap": vl["gap"]}))
    hex_links = pd.concat(links, ignore_index=True).dropna(subset=["area_id"])
    hex_links["gap"] = hex_links["gap"].astype(bool)
    hex_links = hex_links.sort_values(["level", "area_id", "h3"]).reset_index(drop=True)
    n_gap = hex_links[hex_links["gap"]].groupby(["level", "area_id"]).size()

    # -- providers and sites: located in a town cell and the nearest community point of that town
    prov = providers.reset_index(drop=True).copy()
    ptown, pcom = _locate(prov["lon"], prov["lat"], towns, com, settings.metric_crs)
    prov["town_code"] = ptown
    prov["community_code"] = pcom
    prov["services_zh"] = (
        prov["services"].astype(str).map(lambda s: "、".join(SERVICE_ZH.get(c, c) for c in s.split(LIST_SEP) if c))
    )
    items = prov[["provider_id", "town_code", "community_code", "services", "capacity_month"]].copy()
    items["service_code"] = items["services"].astype(str).str.split(LIST_SEP)
    items = items.explode("service_code")
    items = items[items["service_code"].astype(str) != ""]
    pi_rows: list[pd.DataFrame] = []
    for level, col in ((LEVEL_DISTRICT, None), (LEVEL_TOWN, "town_code"), (LEVEL_VILLAGE, "community_code")):
        it = items.copy()
        it["area_id"] = info.district_code if col is None else it[col]
        it = it.dropna(subset=["area_id"])
        g = (
            it.groupby(["area_id", "service_code"])
            .agg(n_providers=("provider_id", "nunique"), capacity_month=("capacity_month", "sum"))
            .reset_index()
        )
        g.insert(0, "level", level)
        pi_rows.append(g)
    provider_items = pd.concat(pi_rows, ignore_index=True)
    provider_items["service_zh"] = provider_items["service_code"].map(SERVICE_ZH).fillna(provider_items["service_code"])
    provider_items["need_type"] = provider_items["service_code"].map(SERVICE_NEED).fillna(UNKNOWN)
    order = {s.code: i for i, s in enumerate(SERVICE_CATALOGUE)}
    provider_items["_o"] = provider_items["service_code"].map(order).fillna(len(order))
    provider_items = (
        provider_items.sort_values(["level", "area_id", "_o", "service_code"])
        .drop(columns="_o")
        .reset_index(drop=True)[
            ["level", "area_id", "service_code", "service_zh", "need_type", "n_providers", "capacity_month"]
        ]
    )
    provider_items[["n_providers", "capacity_month"]] = provider_items[["n_providers", "capacity_month"]].astype(
        np.int64
    )

    sites = _sites_frame(scenario_sites)
    if len(sites):
        stown, scom = _locate(sites["lon"], sites["lat"], towns, com, settings.metric_crs)
        sites["town_code"] = stown
        sites["community_code"] = scom

    # -- per-area supply and sites
    def per_area(frame: pd.DataFrame, value: str | None) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        if frame.empty:
            return out
        for level, col in ((LEVEL_DISTRICT, None), (LEVEL_TOWN, "town_code"), (LEVEL_VILLAGE, "community_code")):
            key = pd.Series(info.district_code, index=frame.index) if col is None else frame[col]
            vals = frame[value] if value else pd.Series(1, index=frame.index)
            for k, v in vals.groupby(key.astype(object).where(key.notna(), "__none__")).sum().items():
                out[(level, str(k))] = float(v)
        return out

    np_ = per_area(prov, None)
    cap = per_area(prov, "capacity_month")
    ns = per_area(sites, None)
    keys = list(zip(areas["level"], areas["area_id"].astype(str), strict=True))
    areas["n_gap_hexes"] = [int(n_gap.get(k, 0)) for k in keys]
    areas["n_providers"] = [int(np_.get(k, 0)) for k in keys]
    areas["capacity_month"] = [int(cap.get(k, 0)) for k in keys]
    areas["n_sites"] = [int(ns.get(k, 0)) for k in keys]
    n_no_coords = int((pts["status"].astype(str) == STATUS_NO_COORDS).sum())
    return ReportTables(
        run=run,
        info=info,
        groups=groups,
        areas=areas,
        hexes=hexes,
        hex_links=hex_links,
        hubs=hubs,
        providers=prov,
        provider_items=provider_items,
        sites=sites,
        scenario_name=scenario_name if len(sites) else "",
        n_no_coords=n_no_coords,
    )


SITE_COLUMNS = ("site_id", "name", "tier", "rank", "lon", "lat", "new_covered")


def _sites_frame(scenario_sites: pd.DataFrame | None) -> pd.DataFrame:
    """The scenario's sites with canonical columns (empty frame when none)."""
    if scenario_sites is None or len(scenario_sites) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SITE_COLUMNS if c != "new_covered"})
    s = scenario_sites.reset_index(drop=True).copy()
    missing = [c for c in ("lon", "lat") if c not in s.columns]
    if missing:
        msg = f"the scenario's sites lack column(s): {', '.join(missing)}"
        raise ValueError(msg)
    if "site_id" not in s.columns:
        s["site_id"] = [f"S{i + 1:03d}" for i in range(len(s))]
    s["site_id"] = s["site_id"].astype(str)
    if "name" not in s.columns:
        s["name"] = "推荐站点 " + s["site_id"]
    if "tier" not in s.columns:
        s["tier"] = "village"
    if "rank" not in s.columns:
        s["rank"] = np.arange(1, len(s) + 1)
    s["lon"] = pd.to_numeric(s["lon"], errors="coerce")
    s["lat"] = pd.to_numeric(s["lat"], errors="coerce")
    if s[["lon", "lat"]].isna().any().any():
        msg = "a recommended site has no valid lon/lat"
        raise ValueError(msg)
    if "new_covered" in s.columns:
        s["new_covered"] = pd.to_numeric(s["new_covered"], errors="coerce").fillna(0).astype(np.int64)
    cols = [c for c in SITE_COLUMNS if c in s.columns]
    return s[cols + [c for c in s.columns if c not in cols]]


_EDIT_PREFIX = {"add": "新增站点 ", "move": "迁移站点 "}


def scenario_sites_from_payload(payload: Any) -> pd.DataFrame:
    """The sites of a saved planner scenario (``{"edits": [...]}``): its ``add`` and ``move`` edits.

    Returns
    -------
    DataFrame with ``site_id, name, tier, lon, lat`` (empty when the payload has no site).
    """
    edits = payload.get("edits", []) if isinstance(payload, dict) else []
    rows = [
        {
            "site_id": str(e.get("hub_id", f"S{k + 1:03d}")),
            "name": str(
                e.get("name") or ("新增站点 " if e.get("op") == "add" else "迁移站点 ") + str(e.get("hub_id", ""))
            ),
            "tier": str(e.get("tier", "village")),
            "lon": e.get("lon"),
            "lat": e.get("lat"),
        }
        for k, e in enumerate(edits)
        if isinstance(e, dict) and e.get("op") in ("add", "move")
    ]
    return pd.DataFrame(rows, columns=["site_id", "name", "tier", "lon", "lat"])
