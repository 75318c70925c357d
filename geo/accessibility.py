"""Capacity-aware accessibility: the enhanced two-step floating catchment area (E2SFCA).

The method (Luo & Qi 2009, "An enhanced two-step floating catchment area (E2SFCA) method
for measuring spatial accessibility to primary care physicians", *Health & Place* 15(4);
the same computation as PySAL ``access``'s ``enhanced_two_stage_fca``):

1. For every destination ``j`` (a provider with supply ``S_j``, e.g. monthly capacity for
   an item group), the supply-to-demand ratio over its catchment::

       R_j = S_j / sum_i D_i * W(d_ij)        over origins i with d_ij <= catchment

2. For every origin ``i`` (an H3 hex with demand ``D_i``, e.g. households), the
   accessibility::

       A_i = sum_j R_j * W(d_ij)              over destinations j with d_ij <= catchment

``A_i`` is in supply units per demand unit (monthly capacity per household). ``W`` is a
stepped distance decay: :data:`DEFAULT_ZONES` splits the catchment into thirds weighted
1.00 / 0.68 / 0.22, the Gaussian weights of Luo & Qi's 0-10 / 10-20 / 20-30 minute zones
(PySAL's default ``step_fn({10: 1, 20: 0.68, 30: 0.22})``), scaled to the catchment. A zone
includes its upper bound (a cost exactly at 1/3 of the catchment weighs 1.00), as in PySAL.

Edge cases, stated: a destination whose catchment holds no weighted demand has an undefined
ratio (``NaN`` in the ratio table; PySAL gives ``inf``) and adds nothing to any origin; an
origin with no destination in reach has accessibility ``0.0`` (PySAL leaves ``NaN``).

Numeric core: :func:`e2sfca` (one supply) and :func:`e2sfca_by_group` (one run per item
group) on a long cost table ``origin_id, dest_id, cost_m``. Network adapter:
:func:`cost_table_from_network` (walking distances with the same access legs as
coverage, one bounded search per distinct provider vertex) and
:func:`accessibility_from_network` (households to H3 hexes, providers with supply per group).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import AccessibilityError, InputColumnsError
from core.settings import Settings
from geo.engine import keys_to_dist_label, multi_source_keys
from geo.hexes import cells_to_str, check_res, latlng_to_cells
from geo.snap import Snapper

log = logging.getLogger(__name__)

#: stepped decay zones as ``(upper bound as a fraction of the catchment, weight)``:
#: Luo & Qi (2009) weights 1.00 / 0.68 / 0.22 on thirds of the catchment
DEFAULT_ZONES: tuple[tuple[float, float], ...] = ((1.0 / 3.0, 1.0), (2.0 / 3.0, 0.68), (1.0, 0.22))

COST_COLUMNS = ("origin_id", "dest_id", "cost_m")


def check_zones(zones: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Validate decay zones: increasing upper fractions in ``(0, 1]``, the last ``1``, weights ``>= 0``."""
    z = tuple((float(f), float(w)) for f, w in zones)
    fr = np.array([f for f, _ in z])
    wt = np.array([w for _, w in z])
    if not z or not (np.all(np.diff(fr) > 0) and fr[0] > 0 and fr[-1] == 1.0) or np.any(wt < 0):
        msg = (
            "decay zones must be (upper fraction, weight) pairs with fractions increasing to 1 "
            f"and weights >= 0, got {z}"
        )
        raise AccessibilityError(msg)
    return z


def zone_bounds_m(catchment_m: float, zones: Sequence[tuple[float, float]] = DEFAULT_ZONES) -> dict[float, float]:
    """Upper bounds in metres mapped to weights, e.g. ``{250.0: 1.0, 500.0: 0.68, 750.0: 0.22}``.

    The same dictionary PySAL's ``access.weights.step_fn`` takes.
    """
    return {catchment_m * f: w for f, w in check_zones(zones)}


def decay_weights(
    cost_m: npt.ArrayLike, catchment_m: float, zones: Sequence[tuple[float, float]] = DEFAULT_ZONES
) -> npt.NDArray[np.float64]:
    """Stepped weight of every cost: the weight of the first zone whose upper bound it does not exceed; 0 beyond."""
    bounds = zone_bounds_m(catchment_m, zones)
    b = np.fromiter(bounds.keys(), dtype=np.float64)
    w = np.append(np.fromiter(bounds.values(), dtype=np.float64), 0.0)
    return w[np.searchsorted(b, np.asarray(cost_m, dtype=np.float64), side="left")]


@dataclass(frozen=True)
class E2SFCAResult:
    """Result of an E2SFCA run: two tidy tables.

    Attributes
    ----------
    access : DataFrame
        One row per origin (demand table order): ``origin_id``, ``demand``,
        ``accessibility`` (float, supply per demand unit, 0 with nothing in reach) and
        ``n_dest`` (destinations in reach). With groups, ``group`` comes first.
    ratios : DataFrame
        One row per destination (supply table order): ``dest_id``, ``supply``,
        ``weighted_demand`` (sum of D_i W(d_ij)) and ``ratio`` (R_j, NaN where the weighted
        demand is 0). With groups, ``group`` comes first.
    """

    access: pd.DataFrame
    ratios: pd.DataFrame


def _ids_values(table: pd.DataFrame | pd.Series, id_col: str, value_col: str) -> tuple[pd.Index, np.ndarray]:
    if isinstance(table, pd.Series):
        ids, vals = table.index, table.to_numpy()
    else:
        missing = [c for c in (id_col, value_col) if c not in table.columns]
        if missing:
            msg = f"the {value_col} table lacks column(s): {', '.join(missing)}"
            raise InputColumnsError(msg)
        ids, vals = pd.Index(table[id_col]), table[value_col].to_numpy()
    v = pd.to_numeric(pd.Series(vals), errors="coerce").to_numpy(dtype=np.float64)
    if ids.has_duplicates:
        msg = f"duplicate {id_col} in the {value_col} table: {', '.join(map(str, ids[ids.duplicated()][:5]))}"
        raise AccessibilityError(msg)
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        msg = f"{value_col} must be finite and >= 0 for every {id_col}"
        raise AccessibilityError(msg)
    return ids, v


def _codes(ids: pd.Index, values: pd.Series, what: str, table: str) -> npt.NDArray[np.intp]:
    codes = ids.get_indexer(pd.Index(values))
    if np.any(codes < 0):
        unknown = pd.unique(values[codes < 0])[:5]
        msg = f"the cost table names {what}(s) missing from the {table} table: {', '.join(map(str, unknown))}"
        raise AccessibilityError(msg)
    return np.asarray(codes, dtype=np.intp)


def _core(
    oc: npt.NDArray[np.intp],
    dc: npt.NDArray[np.intp],
    w: npt.NDArray[np.float64],
    d_val: npt.NDArray[np.float64],
    s_val: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The two steps on integer-coded pairs: ``(weighted_demand, ratio, accessibility, n_dest)``."""
    weighted_demand = np.bincount(dc, weights=d_val[oc] * w, minlength=s_val.shape[0]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(weighted_demand > 0, s_val / weighted_demand, np.nan)
    access = np.bincount(oc, weights=np.nan_to_num(ratio, nan=0.0)[dc] * w, minlength=d_val.shape[0]).astype(np.float64)
    ratio = ratio.astype(np.float64)
    n_dest = np.bincount(oc[w > 0], minlength=d_val.shape[0]).astype(np.int64)
    return weighted_demand, ratio, access, n_dest


def _pairs(
    costs: pd.DataFrame, o_ids: pd.Index, s_ids: pd.Index, catchment_m: float, zones: Sequence[tuple[float, float]]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Origin codes, destination codes and decay weights of the pairs within the catchment."""
    if not (np.isfinite(catchment_m) and catchment_m > 0):
        msg = f"the catchment must be a positive number of metres, got {catchment_m}"
        raise AccessibilityError(msg)
    missing = [c for c in COST_COLUMNS if c not in costs.columns]
    if missing:
        msg = f"the cost table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    cost = pd.to_numeric(costs["cost_m"], errors="coerce").to_numpy(dtype=np.float64)
    if np.any(cost < 0):
        msg = "costs must be >= 0 metres"
        raise AccessibilityError(msg)
    keep = cost <= catchment_m  # NaN compares False
    oc = _codes(o_ids, costs["origin_id"][keep], "origin_id", "demand")
    dc = _codes(s_ids, costs["dest_id"][keep], "dest_id", "supply")
    w = decay_weights(cost[keep], catchment_m, zones)
    positive = w > 0
    return oc[positive], dc[positive], w[positive]


def e2sfca(
    costs: pd.DataFrame,
    supply: pd.DataFrame | pd.Series,
    demand: pd.DataFrame | pd.Series,
    *,
    catchment_m: float,
    zones: Sequence[tuple[float, float]] = DEFAULT_ZONES,
) -> E2SFCAResult:
    """E2SFCA accessibility of every origin from a long cost table.

    Parameters
    ----------
    costs : DataFrame
        ``origin_id, dest_id, cost_m`` (metres, >= 0); pairs beyond ``catchment_m`` or
        with NaN cost are ignored. Every id must appear in ``demand`` / ``supply``.
    supply : DataFrame with ``dest_id, supply`` or Series indexed by ``dest_id``
        Supply per destination (e.g. monthly capacity), >= 0.
    demand : DataFrame with ``origin_id, demand`` or Series indexed by ``origin_id``
        Demand per origin (e.g. households), >= 0.
    catchment_m : float
        Catchment in metres (e.g. ``Settings.cutoff_m``).
    zones : sequence of ``(upper fraction of the catchment, weight)``
        Stepped decay (:data:`DEFAULT_ZONES`).

    Returns
    -------
    E2SFCAResult
        ``access`` (``origin_id, demand, accessibility, n_dest``) and ``ratios``
        (``dest_id, supply, weighted_demand, ratio``).
    """
    o_ids, d_val = _ids_values(demand, "origin_id", "demand")
    s_ids, s_val = _ids_values(supply, "dest_id", "supply")
    oc, dc, w = _pairs(costs, o_ids, s_ids, catchment_m, zones)
    weighted_demand, ratio, access, n_dest = _core(oc, dc, w, d_val, s_val)
    return E2SFCAResult(
        access=pd.DataFrame(
            {"origin_id": o_ids.to_numpy(), "demand": d_val, "accessibility": access, "n_dest": n_dest}
        ),
        ratios=pd.DataFrame(
            {"dest_id": s_ids.to_numpy(), "supply": s_val, "weighted_demand": weighted_demand, "ratio": ratio}
        ),
    )


def _group_values(
    table: pd.DataFrame, id_col: str, value_col: str, ids: pd.Index, groups: pd.Index
) -> npt.NDArray[np.float64]:
    """A ``(n_groups, n_ids)`` matrix of the values of a long ``id, group, value`` table (0 where absent)."""
    if table.duplicated([id_col, "group"]).any():
        msg = f"duplicate ({id_col}, group) rows in the {value_col} table"
        raise AccessibilityError(msg)
    v = pd.to_numeric(table[value_col], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        msg = f"{value_col} must be finite and >= 0 for every {id_col}"
        raise AccessibilityError(msg)
    out = np.zeros((len(groups), len(ids)), dtype=np.float64)
    gi = groups.get_indexer(pd.Index(table["group"]))
    ok = gi >= 0
    out[gi[ok], ids.get_indexer(pd.Index(table[id_col]))[ok]] = v[ok]
    return out


def e2sfca_by_group(
    costs: pd.DataFrame,
    supply: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    catchment_m: float,
    zones: Sequence[tuple[float, float]] = DEFAULT_ZONES,
) -> E2SFCAResult:
    """E2SFCA once per item group, stacked into long tables with ``group`` first.

    The cost table is coded and weighed once; each group then costs two ``bincount``.

    Parameters
    ----------
    costs : DataFrame
        ``origin_id, dest_id, cost_m``, shared by every group.
    supply : DataFrame
        ``dest_id, group, supply``: one row per destination and group it supplies.
    demand : DataFrame
        ``origin_id, demand`` (the same demand for every group) or ``origin_id, group,
        demand`` (demand per group; a group absent here has zero demand everywhere).
    catchment_m, zones
        As in :func:`e2sfca`.

    Returns
    -------
    E2SFCAResult
        ``access``: ``group, origin_id, demand, accessibility, n_dest`` (every origin of
        the demand table for every group of ``supply``, groups sorted); ``ratios``:
        ``group, dest_id, supply, weighted_demand, ratio`` (the destinations supplying
        each group).
    """
    for col in ("dest_id", "group", "supply"):
        if col not in supply.columns:
            msg = f"the supply table lacks column {col}"
            raise InputColumnsError(msg)
    for col in ("origin_id", "demand"):
        if col not in demand.columns:
            msg = f"the demand table lacks column {col}"
            raise InputColumnsError(msg)
    groups = pd.Index(sorted(pd.unique(supply["group"])))
    o_ids = pd.Index(pd.unique(demand["origin_id"]))
    s_ids = pd.Index(pd.unique(supply["dest_id"]))
    s_mat = _group_values(supply, "dest_id", "supply", s_ids, groups)
    if "group" in demand.columns:
        d_mat = _group_values(demand, "origin_id", "demand", o_ids, groups)
    else:
        d_mat = np.broadcast_to(
            _group_values(demand.assign(group=0), "origin_id", "demand", o_ids, pd.Index([0])),
            (len(groups), len(o_ids)),
        )
    oc, dc, w = _pairs(costs, o_ids, s_ids, catchment_m, zones)
    supplies = np.zeros((len(groups), len(s_ids)), dtype=bool)
    gi = groups.get_indexer(pd.Index(supply["group"]))
    supplies[gi, s_ids.get_indexer(pd.Index(supply["dest_id"]))] = True
    acc_cols: dict[str, list[np.ndarray]] = {k: [] for k in ("group", "origin_id", "demand", "accessibility", "n_dest")}
    rat_cols: dict[str, list[np.ndarray]] = {k: [] for k in ("group", "dest_id", "supply", "weighted_demand", "ratio")}
    for g, group in enumerate(groups):
        sel = supplies[g][dc]
        weighted_demand, ratio, access, n_dest = _core(oc[sel], dc[sel], w[sel], d_mat[g], s_mat[g])
        acc_cols["group"].append(np.full(len(o_ids), group, dtype=object))
        acc_cols["origin_id"].append(o_ids.to_numpy())
        acc_cols["demand"].append(d_mat[g])
        acc_cols["accessibility"].append(access)
        acc_cols["n_dest"].append(n_dest)
        mine = np.flatnonzero(supplies[g])
        rat_cols["group"].append(np.full(mine.shape[0], group, dtype=object))
        rat_cols["dest_id"].append(s_ids.to_numpy()[mine])
        rat_cols["supply"].append(s_mat[g][mine])
        rat_cols["weighted_demand"].append(weighted_demand[mine])
        rat_cols["ratio"].append(ratio[mine])

    def frame(cols: dict[str, list[np.ndarray]]) -> pd.DataFrame:
        return pd.DataFrame({k: np.concatenate(v) if v else np.zeros(0, dtype=object) for k, v in cols.items()})

    return E2SFCAResult(access=frame(acc_cols), ratios=frame(rat_cols))


# -- network adapter ---------------------------------------------------------------------
def _points(table: pd.DataFrame, id_col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in (id_col, "lon", "lat") if c not in table.columns]
    if missing:
        msg = f"the table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=np.float64)
    return table[id_col].to_numpy(), lon, lat


def cost_table_from_network(
    snapper: Snapper,
    origins: pd.DataFrame,
    dests: pd.DataFrame,
    *,
    catchment_m: float,
    max_access_m: float,
) -> pd.DataFrame:
    """Walking distances from origins to destinations up to the catchment, as a long table.

    A pair's cost is the origin's straight access leg + the network distance between the
    two snapped vertices + the destination's access leg (as in :mod:`geo.coverage`), summed
    in integer centimetres. One bounded search (the contracted engine search) runs from
    every *distinct* destination vertex, bounded by the catchment less the smallest access
    leg at that vertex. Points without coordinates or more than ``max_access_m`` from the
    network (``off_network``) get no pair.

    Parameters
    ----------
    snapper : Snapper
        On the walking network.
    origins : DataFrame
        ``origin_id, lon, lat`` (WGS-84).
    dests : DataFrame
        ``dest_id, lon, lat`` (WGS-84). Ids are unique in each table.
    catchment_m : float
        Largest cost kept, in metres.
    max_access_m : float
        Longest straight access leg of a point on the network (``Settings.max_access_m``).

    Returns
    -------
    DataFrame
        ``origin_id, dest_id, cost_m`` (float metres, 2 decimals from whole centimetres),
        sorted by destination, then origin order.
    """
    o_id, o_lon, o_lat = _points(origins, "origin_id")
    d_id, d_lon, d_lat = _points(dests, "dest_id")
    for ids, what in ((o_id, "origin_id"), (d_id, "dest_id")):
        dup = pd.Index(ids)[pd.Index(ids).duplicated()]
        if len(dup):
            msg = f"duplicate {what}: {', '.join(map(str, dup[:5]))} (one row per point)"
            raise AccessibilityError(msg)
    so, sd = snapper.snap(o_lon, o_lat), snapper.snap(d_lon, d_lat)
    cut_cm = round(catchment_m * 100.0)
    o_ok = (so.node >= 0) & (so.access_m <= max_access_m)
    d_ok = (sd.node >= 0) & (sd.access_m <= max_access_m)
    o_idx = np.flatnonzero(o_ok)
    o_node, o_acc = so.node[o_idx], so.access_cm[o_idx]
    d_idx = np.flatnonzero(d_ok)
    d_node, d_acc = sd.node[d_idx], sd.access_cm[d_idx]
    uniq, inv = np.unique(d_node, return_inverse=True)
    min_acc = np.full(uniq.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(min_acc, inv, d_acc)
    rows_o: list[np.ndarray] = []
    rows_d: list[np.ndarray] = []
    rows_c: list[np.ndarray] = []
    by_node = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[by_node], np.arange(uniq.shape[0] + 1))
    for k, node in enumerate(uniq.tolist()):
        budget = cut_cm - int(min_acc[k])
        if budget < 0:
            continue
        keys = multi_source_keys(snapper.network, [node], [0], cutoff_cm=budget)
        net, _ = keys_to_dist_label(keys[o_node])  # only the origins' vertices, not the whole network
        reach = net >= 0
        base = net[reach] + o_acc[reach]
        for j in by_node[starts[k] : starts[k + 1]].tolist():
            c = base + d_acc[j]
            ok = c <= cut_cm
            rows_o.append(o_idx[reach][ok])
            rows_d.append(np.full(int(ok.sum()), d_idx[j], dtype=np.int64))
            rows_c.append(c[ok])
    oi = np.concatenate(rows_o) if rows_o else np.zeros(0, dtype=np.int64)
    di = np.concatenate(rows_d) if rows_d else np.zeros(0, dtype=np.int64)
    cc = np.concatenate(rows_c) if rows_c else np.zeros(0, dtype=np.int64)
    order = np.lexsort((oi, di))
    return pd.DataFrame(
        {"origin_id": o_id[oi[order]], "dest_id": d_id[di[order]], "cost_m": cc[order] / 100.0}
    ).reset_index(drop=True)


OriginLocation = Literal["households", "cell"]


def hex_demand(
    points: pd.DataFrame, *, res: int, group_col: str | None = None, location: OriginLocation = "households"
) -> pd.DataFrame:
    """Demand per H3 cell: points (households) counted per cell, with the cell's origin point.

    Parameters
    ----------
    points : DataFrame
        ``lon, lat`` (WGS-84) and, with ``group_col``, the item group of each row (one row
        per household and group it needs). Rows without coordinates are left out.
    res : int
        H3 resolution.
    group_col : str, optional
        Count per ``(cell, group)`` instead of per cell.
    location : {"households", "cell"}
        Where the cell's trips start: the mean position of its rows (the demand-weighted
        centroid usual in floating-catchment studies; on the Xihu demo at res 9 no such
        point is off the network, against 2 cell centres in the lake or hills) or the H3
        cell centre.

    Returns
    -------
    DataFrame
        ``origin_id`` (h3 string), [``group``], ``demand`` (count), ``lon, lat`` (the
        origin point, WGS-84; the same for every group of a cell), sorted by cell (and group).
    """
    r = check_res(res)
    if location not in ("households", "cell"):
        msg = f"location must be 'households' or 'cell', got {location!r}"
        raise AccessibilityError(msg)
    lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(dtype=np.float64)
    cells = latlng_to_cells(lat, lon, r, dedupe=True)
    frame = pd.DataFrame({"cell": cells, "lon": lon, "lat": lat})
    keys = ["cell"]
    if group_col is not None:
        frame["group"] = points[group_col].to_numpy()
        keys.append("group")
    frame = frame[frame["cell"] != 0]
    counts = frame.groupby(keys, sort=True).size().rename("demand").reset_index()
    ucell = counts["cell"].to_numpy(dtype=np.uint64)
    if location == "cell":
        ll = np.array([h3n.cell_to_latlng(c) for c in ucell.tolist()], dtype=np.float64).reshape(-1, 2)
        o_lon, o_lat = ll[:, 1], ll[:, 0]
    else:
        mean = frame.groupby("cell", sort=True)[["lon", "lat"]].mean()
        at = mean.index.get_indexer(pd.Index(ucell))
        o_lon, o_lat = mean["lon"].to_numpy()[at], mean["lat"].to_numpy()[at]
    out = pd.DataFrame({"origin_id": cells_to_str(ucell)})
    if group_col is not None:
        out["group"] = counts["group"].to_numpy()
    out["demand"] = counts["demand"].to_numpy(dtype=np.float64)
    out["lon"], out["lat"] = o_lon, o_lat
    return out


def accessibility_from_network(
    snapper: Snapper,
    households: pd.DataFrame,
    supply: pd.DataFrame,
    *,
    settings: Settings,
    catchment_m: float | None = None,
    zones: Sequence[tuple[float, float]] = DEFAULT_ZONES,
    group_col: str | None = None,
    location: OriginLocation = "households",
) -> tuple[E2SFCAResult, pd.DataFrame]:
    """E2SFCA per item group on the walking network, origins the H3 hexes of the households.

    Parameters
    ----------
    snapper : Snapper
        On the walking network.
    households : DataFrame
        ``lon, lat`` per household (WGS-84); with ``group_col``, one row per household and
        item group it needs (demand per group), otherwise the same demand for every group.
    supply : DataFrame
        ``provider_id, lon, lat, group, supply``: one row per provider and item group
        (``supply`` e.g. the monthly capacity of its offers in that group).
    settings : Settings
        ``h3_res``, ``max_access_m`` and, unless ``catchment_m`` is given, the catchment
        ``cutoff_m`` (minutes x speed).
    catchment_m : float, optional
        Catchment in metres (default ``settings.cutoff_m``).
    zones : decay zones (:data:`DEFAULT_ZONES`).
    group_col : str, optional
        Column of ``households`` holding the group.
    location : {"households", "cell"}
        Origin point of a hex (:func:`hex_demand`): its households' mean position or its centre.

    Returns
    -------
    (E2SFCAResult, DataFrame)
        The result of :func:`e2sfca_by_group` (origins are h3 strings, destinations
        provider ids) and the cost table it used (``origin_id, dest_id, cost_m``).
    """
    catch = settings.cutoff_m if catchment_m is None else float(catchment_m)
    for col in ("provider_id", "lon", "lat", "group", "supply"):
        if col not in supply.columns:
            msg = f"the supply table lacks column {col}"
            raise InputColumnsError(msg)
    demand = hex_demand(households, res=settings.h3_res, group_col=group_col, location=location)
    hexes = demand.drop_duplicates("origin_id")[["origin_id", "lon", "lat"]]
    providers = supply.drop_duplicates("provider_id")[["provider_id", "lon", "lat"]].rename(
        columns={"provider_id": "dest_id"}
    )
    costs = cost_table_from_network(snapper, hexes, providers, catchment_m=catch, max_access_m=settings.max_access_m)
    sup = pd.DataFrame(
        supply.rename(columns={"provider_id": "dest_id"}).groupby(["dest_id", "group"], sort=False)["supply"].sum()
    ).reset_index()
    dem = demand[["origin_id", "group", "demand"]] if group_col else demand[["origin_id", "demand"]]
    log.info("E2SFCA: %d hexes, %d providers, %d pairs within %.0f m", len(hexes), len(providers), len(costs), catch)
    return e2sfca_by_group(costs, sup, dem, catchment_m=catch, zones=zones), costs
