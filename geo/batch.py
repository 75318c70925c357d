"""Coverage of a whole city or province, one partition at a time, exactly as one machine would.

The points are split into partitions: square tiles of the metric CRS, or polygons given by
the user (districts, counties). Every point belongs to exactly one partition (its *core*);
each partition is computed on its own extract of the network, so partitions run on any
machine of a cluster (the orchestration lives in :mod:`data.batch`, this module is pure).

The buffer rule
---------------
With ``c`` the cutoff (``Settings.cutoff_m``) and ``A`` the off-network limit
(``Settings.max_access_m``), a partition's extract holds every network node whose straight
distance (metric CRS) to the core is at most ::

    R = (1 + 2%) * (2 c + A) + 25 m        (1,861 m for 10 min at 4.5 km/h, A = 300 m)

with every edge between two such nodes (the induced sub-network). Hubs are snapped onto
the extract and a hub is kept only when its distance to the core plus its access leg is at
most ``R``. Then every core point gets bit for bit the single-machine ``hub_id``,
``walk_m``, ``covered``, ``off_network`` and ``status``, and the same ``access_m`` unless it
is farther than ``R`` from every road (counted as ``n_far`` in the summary). Why:

1. *Snapping is certified.* A location ``q`` whose nearest extract node is ``s`` away has
   every network node within ``s`` of ``q`` inside ``dist(q, core) + s`` of the core; when
   that is ``<= R`` all of them are in the extract, so ``q`` snaps to the same node with the
   same leg as on the whole network. A core point has ``dist = 0``: every point with an
   access leg ``<= R`` (every on-network point, since ``R > A``) snaps identically, and
   every kept hub does by the keep test.
2. *Every hub that matters is kept, with its whole path.* If hub ``h`` (leg ``b``) reaches
   core point ``p`` (leg ``a``) over a network path of length ``L`` with ``a + L + b <= c``,
   then, straight lines being no longer than network paths, every node of the path lies
   within ``a + L <= c`` of the core (so the path is in the extract), and
   ``dist(h, core) + b <= (b + L + a) + b <= 2c - L - a <= 2c <= R``, so ``h`` passes the
   keep test. The hub's own leg is not bounded by ``A`` (``geo coverage`` keeps far hubs
   with a warning), only by ``c``: hence ``2c`` and not ``c + 2A``.
3. *Nothing gets shorter.* An induced sub-network has no path the whole network lacks, and
   kept hubs have their single-machine legs, so no walk in the extract is shorter than on
   the whole network. With 2, the set of hubs within the cutoff of each core point and
   their integer-centimetre walks are identical; hubs keep their global order as engine
   slots, so ties go to the same hub.

The ``+2%`` and ``+25 m`` absorb the difference between straight lines in the UTM zone and
edge lengths measured as great-circle lengths on a sphere (< 0.4% across a zone) and the
rounding of each edge to a whole centimetre. ``+A`` makes ``access_m`` exact also for
off-network points up to ``2c + A`` from a road. One assumption is not geometry: a location
exactly (to the last bit) equidistant from two nodes may be snapped to either by KD-trees
over different node sets; vertices are distinct to 1e-7 degree, and no such tie occurred in
the tests' 12,000 points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from core.errors import PartitionError
from core.settings import Settings
from geo.coverage import (
    STATUS_COVERED,
    STATUS_NO_COORDS,
    STATUS_OFF_NETWORK,
    STATUS_UNCOVERED,
    HubSet,
    engine_for_hubs,
    point_coverage,
)
from geo.engine import CoverageEngine
from geo.figures import coverage_pct
from geo.graph import WalkNetwork
from geo.snap import Snapper, lonlat_to_metric

#: relative slack of the buffer: UTM straight lines vs spherical great-circle edge lengths
BUFFER_SLACK = 0.02
#: absolute slack of the buffer (metres): per-edge rounding to whole centimetres
BUFFER_MARGIN_M = 25.0
#: default side of a square tile, metres of the metric CRS
DEFAULT_TILE_M = 10_000.0
#: the partition of points without coordinates (they belong to no place)
NO_COORDS_PARTITION = "_no_coords"
#: the partition of located points that fall in none of the given polygons
OUTSIDE_PARTITION = "_outside"
#: the first columns of every row, as ``geo coverage`` writes them
FRONT_COLUMNS = ("point_id", "hub_id", "walk_m", "walk_min", "covered")
#: the columns of the per-partition summary
SUMMARY_COLUMNS = (
    "partition",
    "n_points",
    "n_covered",
    "covered_pct",
    "n_uncovered",
    "n_off_network",
    "n_no_coords",
    "n_far",
    "n_nodes",
    "n_hubs",
    "radius_m",
    "seconds",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def buffer_radius_m(settings: Settings) -> float:
    """The extract radius ``R = 1.02 (2c + A) + 25 m`` of the module's buffer rule, in metres."""
    return (1.0 + BUFFER_SLACK) * (2.0 * settings.cutoff_m + settings.max_access_m) + BUFFER_MARGIN_M


@dataclass(frozen=True)
class Partition:
    """One partition: an id and its core in the metric CRS (``None`` for points without coordinates)."""

    pid: str
    core: shapely.Geometry | None


def tile_partitions(
    x: npt.ArrayLike, y: npt.ArrayLike, *, tile_m: float = DEFAULT_TILE_M
) -> tuple[list[Partition], IntArray]:
    """Square tiles of side ``tile_m`` anchored at the origin of the metric CRS.

    A point at ``(x, y)`` lies in tile ``(floor(x / tile_m), floor(y / tile_m))``: tiles are
    half-open, so a point on a tile edge belongs to exactly one tile.

    Returns
    -------
    (partitions, part)
        The tiles holding at least one point (id ``tile_<ix>_<iy>``, core a square polygon;
        plus :data:`NO_COORDS_PARTITION` when some point lacks coordinates) and, per point,
        the index of its partition in that list.
    """
    if not (np.isfinite(tile_m) and tile_m > 0):
        msg = f"tile size must be a positive number of metres, got {tile_m}"
        raise PartitionError(msg)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(xa) & np.isfinite(ya)
    ix = np.zeros(xa.shape[0], dtype=np.int64)
    iy = np.zeros(xa.shape[0], dtype=np.int64)
    ix[ok] = np.floor(xa[ok] / tile_m).astype(np.int64)
    iy[ok] = np.floor(ya[ok] / tile_m).astype(np.int64)
    part = np.full(xa.shape[0], -1, dtype=np.int64)
    parts: list[Partition] = []
    if ok.any():
        cells, inv = np.unique(np.column_stack([ix[ok], iy[ok]]), axis=0, return_inverse=True)
        part[ok] = inv.ravel()
        for cx, cy in cells.tolist():
            core = shapely.box(cx * tile_m, cy * tile_m, (cx + 1) * tile_m, (cy + 1) * tile_m)
            parts.append(Partition(f"tile_{cx}_{cy}", core))
    return _with_no_coords(parts, part, ok)


def polygon_partitions(
    x: npt.ArrayLike, y: npt.ArrayLike, polygons: Sequence[shapely.Geometry], ids: Sequence[str]
) -> tuple[list[Partition], IntArray]:
    """Partitions given by polygons in the metric CRS (districts, counties).

    A point belongs to the first polygon, in the given order, that contains it or whose
    edge it lies on; located points in none of them form :data:`OUTSIDE_PARTITION` (core:
    their bounding box); points without coordinates form :data:`NO_COORDS_PARTITION`.

    Returns
    -------
    (partitions, part)
        The partitions holding at least one point, and per point the index of its
        partition in that list.
    """
    if len(polygons) != len(ids):
        msg = "polygons and ids differ in length"
        raise PartitionError(msg)
    if not len(polygons):
        msg = "the boundary file holds no polygon"
        raise PartitionError(msg)
    sid = [str(i) for i in ids]
    dup = sorted({i for i in sid if sid.count(i) > 1})
    if dup:
        msg = f"duplicate partition id(s): {', '.join(dup[:5])}"
        raise PartitionError(msg)
    reserved = {NO_COORDS_PARTITION, OUTSIDE_PARTITION} & set(sid)
    if reserved:
        msg = f"partition id(s) {', '.join(sorted(reserved))} are reserved"
        raise PartitionError(msg)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(xa) & np.isfinite(ya)
    which = np.full(xa.shape[0], -1, dtype=np.int64)
    for k, poly in enumerate(polygons):
        if poly is None or shapely.is_empty(poly) or shapely.get_dimensions(poly) != 2:
            msg = f"partition {sid[k]!r} is not a polygon"
            raise PartitionError(msg)
        todo = ok & (which < 0)
        if not todo.any():
            break
        inside = np.zeros(xa.shape[0], dtype=bool)
        inside[todo] = shapely.intersects_xy(poly, xa[todo], ya[todo])
        which[inside] = k
    part = np.full(xa.shape[0], -1, dtype=np.int64)
    parts: list[Partition] = []
    for k in np.unique(which[which >= 0]).tolist():
        part[which == k] = len(parts)
        parts.append(Partition(sid[k], polygons[k]))
    out = ok & (which < 0)
    if out.any():
        part[out] = len(parts)
        core = shapely.box(xa[out].min(), ya[out].min(), xa[out].max(), ya[out].max())
        parts.append(Partition(OUTSIDE_PARTITION, core))
    return _with_no_coords(parts, part, ok)


def _with_no_coords(
    parts: list[Partition], part: IntArray, ok: npt.NDArray[np.bool_]
) -> tuple[list[Partition], IntArray]:
    if (~ok).any():
        part[~ok] = len(parts)
        parts.append(Partition(NO_COORDS_PARTITION, None))
    return parts, part


def distance_to_core(core: shapely.Geometry, x: FloatArray, y: FloatArray, within_m: float) -> FloatArray:
    """Straight distance (metric CRS) of points to ``core``; ``inf`` where surely beyond ``within_m``.

    Points outside the core's bounding box grown by ``within_m`` are not measured; a
    rectangular core (a tile) is measured by arithmetic, any other polygon by shapely.
    """
    x0, y0, x1, y1 = shapely.bounds(core)
    d = np.full(x.shape[0], np.inf)
    cand = np.flatnonzero((x >= x0 - within_m) & (x <= x1 + within_m) & (y >= y0 - within_m) & (y <= y1 + within_m))
    if not cand.size:
        return d
    if shapely.equals(core, shapely.box(x0, y0, x1, y1)):
        dx = np.maximum(np.maximum(x0 - x[cand], x[cand] - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - y[cand], y[cand] - y1), 0.0)
        d[cand] = np.hypot(dx, dy)
    else:
        shapely.prepare(core)
        d[cand] = shapely.distance(core, shapely.points(x[cand], y[cand]))
    return d


def nodes_near(network: WalkNetwork, core: shapely.Geometry, radius_m: float) -> npt.NDArray[np.bool_]:
    """Mask of the nodes whose straight distance (metric CRS) to ``core`` is at most ``radius_m``."""
    return np.asarray(distance_to_core(core, network.node_x, network.node_y, radius_m) <= radius_m)


def extract_network(network: WalkNetwork, keep: npt.NDArray[np.bool_]) -> tuple[WalkNetwork, IntArray]:
    """The sub-network induced by the nodes in ``keep``: every edge between two kept nodes.

    Node coordinates, edge weights and the metric CRS are copied, never recomputed, so the
    extract's distances are the whole network's integer centimetres. Kept nodes whose every
    neighbour is dropped stay (points may snap to them).

    Returns
    -------
    (sub, global_node)
        The extract and, per extract node, its position in ``network``.
    """
    idx = np.flatnonzero(keep).astype(np.int64)
    remap = np.full(network.n_nodes, -1, dtype=np.int64)
    remap[idx] = np.arange(idx.shape[0], dtype=np.int64)
    deg = np.diff(network.indptr)
    src = np.repeat(np.arange(network.n_nodes, dtype=np.int64), deg)
    dst = network.indices.astype(np.int64)
    arc = keep[src] & keep[dst]
    # arcs are sorted by source, then target; remapping keeps that order
    new_src = remap[src[arc]]
    indptr = np.zeros(idx.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_src, minlength=idx.shape[0]), out=indptr[1:])
    sub = WalkNetwork(
        node_lon=network.node_lon[idx],
        node_lat=network.node_lat[idx],
        node_x=network.node_x[idx],
        node_y=network.node_y[idx],
        indptr=indptr,
        indices=remap[dst[arc]].astype(np.int32),
        weight_cm=network.weight_cm[arc],
        node_osmid=network.node_osmid[idx],
        metric_crs=network.metric_crs,
        meta={**network.meta, "extract_of_nodes": network.n_nodes},
    )
    return sub, idx


def _numeric(col: pd.Series) -> FloatArray:
    return np.asarray(pd.to_numeric(col, errors="coerce"), dtype=np.float64)


def hubs_for_core(snapper: Snapper, hubs: pd.DataFrame, core: shapely.Geometry, radius_m: float) -> tuple[HubSet, int]:
    """The hubs certified for a core: snapped on the extract, ``dist(hub, core) + leg <= radius_m``.

    Parameters
    ----------
    snapper : snapper on the partition's extract.
    hubs : the whole hub table (``hub_id, lon, lat``, WGS-84) in its global order.

    Returns
    -------
    (hubset, n_candidates)
        The kept hubs in global order, and how many hubs lay within ``radius_m`` of the core.
    """
    lon, lat = _numeric(hubs["lon"]), _numeric(hubs["lat"])
    ids = hubs["hub_id"].astype(str).to_numpy(dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    x, y = np.full(lon.shape[0], np.nan), np.full(lon.shape[0], np.nan)
    x[ok], y[ok] = lonlat_to_metric(lon[ok], lat[ok], snapper.network.metric_crs)
    d = distance_to_core(core, x, y, radius_m)
    cand = np.flatnonzero(d <= radius_m)
    if cand.size == 0:
        empty = HubSet(np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
        return empty, 0
    sn = snapper.snap_xy(x[cand], y[cand])
    ok = d[cand] + sn.access_m <= radius_m
    return HubSet(hub_id=ids[cand[ok]], node=sn.node[ok], access_m=sn.access_m[ok]), int(cand.size)


def partition_engine(
    network: WalkNetwork, core: shapely.Geometry, hubs: pd.DataFrame, settings: Settings, *, radius_m: float
) -> tuple[Snapper, HubSet, CoverageEngine, float]:
    """The buffered extract of a core, its certified hubs and their search (the buffer rule above).

    Parameters
    ----------
    network : the whole network.
    core : the partition's core (metric CRS).
    hubs : every hub (``hub_id, lon, lat``), in the order of the single-machine run.
    settings : minutes, speed, ``max_access_m``.
    radius_m : the extract radius (:func:`buffer_radius_m` or more).

    Returns
    -------
    (snapper, hubset, engine, radius_m)
        The snapper on the extract, the kept hubs (engine slots in global order), the
        engine, and the radius used: doubled until the extract holds a node when no road
        lies near the core (a wider extract is still exact).
    """
    r = float(radius_m)
    keep = nodes_near(network, core, r)
    while not keep.any() and r < 1e7:
        r *= 2.0
        keep = nodes_near(network, core, r)
    sub, _ = extract_network(network, keep)
    snapper = Snapper(sub)
    hubset, _ = hubs_for_core(snapper, hubs, core, r)
    return snapper, hubset, engine_for_hubs(snapper, hubset, settings), r


def coverage_rows(points: pd.DataFrame, cov: pd.DataFrame) -> pd.DataFrame:
    """``geo coverage``'s OUT.csv rows: ``point_id, hub_id, walk_m, walk_min, covered``, the input
    columns, then ``access_m``, ``off_network`` and ``status`` (``cov`` from :func:`point_coverage`)."""
    extra = points.drop(columns=[c for c in cov.columns if c in points.columns and c != "point_id"])
    out = pd.concat([extra.reset_index(drop=True), cov.drop(columns=["node"]).reset_index(drop=True)], axis=1)
    front = list(FRONT_COLUMNS)
    return out[front + [c for c in out.columns if c not in front]]


def partition_coverage(
    network: WalkNetwork,
    partition: Partition,
    points: pd.DataFrame,
    hubs: pd.DataFrame,
    settings: Settings,
    *,
    radius_m: float | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Coverage of one partition's points on its buffered extract of ``network``.

    Parameters
    ----------
    network : the whole network (only its extract around the core is searched).
    partition : the partition; ``points`` must be its core's points.
    points : ``point_id, lon, lat`` (WGS-84) and any other columns, in input order.
    hubs : every hub (``hub_id, lon, lat``), in the order of the single-machine run.
    settings : minutes, speed and ``max_access_m``; distances in ``network.metric_crs``.
    radius_m : extract radius, :func:`buffer_radius_m` by default (a smaller one loses exactness).

    Returns
    -------
    (rows, stats)
        ``rows``: one row per point in input order, the columns of :func:`coverage_rows`
        plus ``partition``. ``stats``: the :data:`SUMMARY_COLUMNS` of this partition
        except ``seconds``.
    """
    r = buffer_radius_m(settings) if radius_m is None else float(radius_m)
    if r < buffer_radius_m(settings) - 1e-9:
        msg = f"extract radius {r:.0f} m is below the exact buffer {buffer_radius_m(settings):.0f} m"
        raise PartitionError(msg)
    lon, lat = _numeric(points["lon"]), _numeric(points["lat"])
    n_nodes = n_hubs = 0
    if partition.core is None:
        cov = _no_coords_coverage(lon.shape[0])
    else:
        snapper, hubset, engine, r = partition_engine(network, partition.core, hubs, settings, radius_m=r)
        sub = snapper.network
        cov = point_coverage(lon, lat, engine=engine, snapper=snapper, hub_ids=hubset.hub_id, settings=settings)
        n_nodes, n_hubs = sub.n_nodes, int(hubset.hub_id.shape[0])
    rows = coverage_rows(points, cov)
    rows["partition"] = partition.pid
    status = rows["status"].to_numpy()
    n_cov = int((status == STATUS_COVERED).sum())
    stats: dict[str, Any] = {
        "partition": partition.pid,
        "n_points": len(rows),
        "n_covered": n_cov,
        "covered_pct": coverage_pct(n_cov, len(rows)),
        "n_uncovered": int((status == STATUS_UNCOVERED).sum()),
        "n_off_network": int((status == STATUS_OFF_NETWORK).sum()),
        "n_no_coords": int((status == STATUS_NO_COORDS).sum()),
        "n_far": int((cov["access_m"].to_numpy() > r).sum()),
        "n_nodes": n_nodes,
        "n_hubs": n_hubs,
        "radius_m": round(r, 2),
    }
    return rows, stats


def _no_coords_coverage(n: int) -> pd.DataFrame:
    """:func:`point_coverage`'s frame for ``n`` points without coordinates."""
    return pd.DataFrame(
        {
            "node": np.full(n, -1, dtype=np.int64),
            "access_m": np.full(n, np.nan),
            "hub_id": pd.Series([None] * n, dtype=object),
            "walk_m": np.full(n, np.nan),
            "walk_min": np.full(n, np.nan),
            "covered": np.zeros(n, dtype=bool),
            "off_network": np.zeros(n, dtype=bool),
            "status": np.full(n, STATUS_NO_COORDS, dtype=object),
        }
    )


def summary_frame(stats: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per partition (the :data:`SUMMARY_COLUMNS`), in partition order, plus a ``_total`` row."""
    frame = pd.DataFrame(list(stats), columns=list(SUMMARY_COLUMNS))
    counts = ["n_points", "n_covered", "n_uncovered", "n_off_network", "n_no_coords", "n_far", "n_nodes", "n_hubs"]
    total: dict[str, Any] = {c: int(frame[c].sum()) for c in counts}
    total.update(
        partition="_total",
        covered_pct=coverage_pct(total["n_covered"], total["n_points"]),
        radius_m=float(frame["radius_m"].max()) if len(frame) else np.nan,
        seconds=float(frame["seconds"].sum()) if len(frame) else 0.0,
    )
    return pd.concat([frame, pd.DataFrame([total], columns=list(SUMMARY_COLUMNS))], ignore_index=True)
