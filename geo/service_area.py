"""Service-area polygons of the hubs, for DISPLAY ONLY.

Every figure the project reports (covered points, coverage rates, gaps) comes from node
and point walking distances (:mod:`geo.engine`, :func:`geo.coverage.point_coverage`),
never from these polygons. The polygons only show on a map where each hub's catchment
lies: one polygon per active hub slot, the area whose nearest hub within the cutoff is
that hub (the node labels of the engine), so the hubs' polygons do not overlap.

Two constructions
-----------------
``method="cells"`` (default): the area the point statistics count as covered. A point
is covered when its straight access leg to its nearest network vertex ``n`` plus ``n``'s
walking distance ``d_n`` is within the cutoff ``C`` and the leg is at most
``max_access_m``. The points whose nearest vertex is ``n`` form ``n``'s Voronoi cell, so
the covered area is the union, over the reached vertices, of each cell clipped to the
disc of radius ``min(C - d_n, max_access_m)`` around the vertex. The Voronoi cells are
computed once per network (:class:`NodeCells`, like :class:`geo.snap.Snapper`). Unclipped
cells of one hub are merged with ``coverage_union_all`` and the clipped ones added with
``union_all``. The result hugs the streets where vertices are dense and reaches at most
``max_access_m`` into parks and water.

``method="streets"``: a band of ``buffer_m`` along the reachable street pieces
(:func:`reachable_segments`): on each edge ``u``-``v`` of length ``w`` the piece of
length ``min(C - d_u, w)`` from a reached end ``u``, stopped where two hubs are equally
far (``(d_v + w - d_u) / 2`` from ``u``) when ``u`` and ``v`` belong to different hubs.
Each hub's pieces are chained with ``line_merge``, the chains buffered one by one
(round caps) and merged per hub with ``union_all``; the network is never buffered as
one big MultiLineString.

Both work in the network's metric CRS and return WGS-84.

Agreement with the point truth
------------------------------
Measured set-up (``tests/geo/test_service_area.py::test_xihu_polygons_agree_with_point_truth``):
the real Xihu network (58,444 nodes), 10 minutes at 4.5 km/h (750 m), ``max_access_m``
300, hubs on random nodes (seeded), ``simplify_m=5``; 5,000 uniform random points in the
bounding box of the network's nodes, kept only within 800 m of a hub (no point farther
is covered by either the truth or a polygon, so this is the uniform sample of the
extent conditioned on where the two can differ). Truth = ``covered`` of
:func:`geo.coverage.point_coverage` (with :class:`geo.snap.Snapper` on all nodes);
prediction = the point lies inside one of the hub polygons (EPSG:4326).

====  ==============  ===============  ========================
hubs  truly covered   cells: P / R     streets (50 m): P / R
====  ==============  ===============  ========================
12    1,216 of 5,000  0.997 / 0.992    0.721 / 0.561
20    1,467 of 5,000  0.999 / 0.986    0.780 / 0.667
50    1,503 of 5,000  0.999 / 0.995    0.802 / 0.544
====  ==============  ===============  ========================

(P = precision, the share of points inside a polygon that are covered; R = recall, the
share of covered points inside a polygon.) Without simplification (``simplify_m=None``)
the cells reach precision 1.000 and recall 0.999: the cells construction is the point
rule itself, and its few misses come from the 5 m simplification and from the discs
being 32-gons inscribed in the true circles.

Time on Xihu with 20 hubs (2-core machine): cells about 0.12 s, after a one-off
:class:`NodeCells` build of 0.6-1.2 s per network; streets about 0.25-0.4 s.

The streets band misses points set back from the street farther than ``buffer_m`` (the
inside of blocks and campuses), which the point truth counts through their access leg,
and its false hits are mostly points near a reachable piece whose nearest vertex is an
unreached one (the far end of a partly reached edge, a parallel path of another
component). Widening the band trades one for the other (measured at 100 m: precision
about 0.65, recall about 0.8).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from core.errors import HubError
from core.settings import DEFAULT_MAX_ACCESS_M, STORAGE_CRS
from geo.engine import CoverageEngine
from geo.graph import WalkNetwork

log = logging.getLogger(__name__)

Method = Literal["cells", "streets"]
METHODS: tuple[str, ...] = ("cells", "streets")
DEFAULT_BUFFER_M = 50.0
DEFAULT_SIMPLIFY_M = 5.0
#: segments per quarter circle of discs and round caps
DEFAULT_QUAD_SEGS = 8
#: how far the Voronoi cells of the outermost vertices reach beyond the network's extent
DEFAULT_CELL_MARGIN_M = 2_000.0

ObjectArray = npt.NDArray[np.object_]


class NodeCells:
    """Voronoi cells of the network's vertices in the metric CRS: where each vertex is the nearest.

    Built once per network (about 1 s for Xihu's 58k vertices) and shared read-only, like
    :class:`geo.snap.Snapper`; pass it to :func:`service_area_polygons`. Vertices at
    identical coordinates share one cell.

    Parameters
    ----------
    network : WalkNetwork
    mask : optional boolean mask of the vertices points may snap to; use the same mask
        as the :class:`~geo.snap.Snapper` the statistics use (all vertices by default).
    margin_m : float
        The cells of the outermost vertices stop this far beyond the vertices' bounding
        box; keep it above ``max_access_m``.

    Attributes
    ----------
    cells : object array of Polygon, one per distinct eligible coordinate.
    site_x, site_y : float arrays, each cell's vertex position (metres).
    radius_m : float array, each cell's farthest corner from its vertex.
    node_cell : int64 array, one per network node: its cell, ``-1`` when not eligible.
    """

    def __init__(
        self,
        network: WalkNetwork,
        mask: npt.NDArray[np.bool_] | None = None,
        *,
        margin_m: float = DEFAULT_CELL_MARGIN_M,
    ) -> None:
        self.network = network
        ids = np.arange(network.n_nodes) if mask is None else np.flatnonzero(mask)
        if ids.size == 0:
            msg = "no network vertex is eligible for service-area cells"
            raise HubError(msg)
        xy = np.column_stack([network.node_x[ids], network.node_y[ids]])
        sites, first, inverse = np.unique(xy, axis=0, return_index=True, return_inverse=True)
        # keep the sites in node order (np.unique sorts them)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        sites = sites[order]
        self.node_cell = np.full(network.n_nodes, -1, dtype=np.int64)
        self.node_cell[ids] = rank[inverse.ravel()]
        self.site_x = sites[:, 0].copy()
        self.site_y = sites[:, 1].copy()
        lo = sites.min(axis=0) - margin_m
        hi = sites.max(axis=0) + margin_m
        extent = shapely.box(lo[0], lo[1], hi[0], hi[1])
        points = shapely.points(sites)
        if sites.shape[0] == 1:
            cells = np.array([extent], dtype=object)
        else:
            diagram = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=extent, ordered=True)
            cells = shapely.get_parts(diagram)
            if cells.shape[0] != sites.shape[0] or not shapely.intersects(cells, points).all():
                cells = _match_cells(cells, points)
        self.cells: ObjectArray = cells
        coords, idx = shapely.get_coordinates(cells, return_index=True)
        radius = np.zeros(sites.shape[0], dtype=np.float64)
        np.maximum.at(radius, idx, np.hypot(coords[:, 0] - self.site_x[idx], coords[:, 1] - self.site_y[idx]))
        self.radius_m = radius


def _match_cells(cells: ObjectArray, points: ObjectArray) -> ObjectArray:
    """Cells reordered to follow ``points`` (the cell containing each point)."""
    tree = shapely.STRtree(cells)
    pt_idx, cell_idx = tree.query(points, predicate="intersects")
    out = np.full(points.shape[0], None, dtype=object)
    out[pt_idx[::-1]] = cells[cell_idx[::-1]]  # on a shared edge the first match wins
    if any(c is None for c in out):
        msg = "the Voronoi diagram of the network vertices is incomplete"
        raise HubError(msg)
    return out


def reachable_segments(
    network: WalkNetwork,
    dist_cm: npt.ArrayLike,
    label: npt.ArrayLike,
    *,
    cutoff_cm: int,
) -> pd.DataFrame:
    """The reachable pieces of the network's edges, each attributed to one hub slot.

    Parameters
    ----------
    network : WalkNetwork
        The network the distances belong to.
    dist_cm : array-like of int
        Walking distance of every node to its nearest hub in cm, ``-1`` if unreached
        (``CoverageEngine.dist_cm``).
    label : array-like of int
        Slot of every node's nearest hub, ``-1`` if unreached (``CoverageEngine.label``).
    cutoff_cm : int
        The cutoff the distances were searched with.

    Returns
    -------
    DataFrame
        One row per piece, with columns ``slot`` (int), ``u`` (int, the reached node the
        piece starts at), ``v`` (int, the edge's other node), ``length_m`` (float, walking
        length of the piece, ``> 0``), ``frac`` (float, share of the edge, in (0, 1]) and
        ``x0, y0, x1, y1`` (float, the piece's ends in ``network.metric_crs``, metres).
        A fully reachable edge of one hub is one piece from its lower node; otherwise an
        edge gives up to two pieces, one from each reached end. Sorted by slot, u, v.
    """
    d = np.asarray(dist_cm, dtype=np.int64)
    lab = np.asarray(label, dtype=np.int64)
    if d.shape[0] != network.n_nodes or lab.shape[0] != network.n_nodes:
        msg = "dist_cm and label must have one value per network node"
        raise HubError(msg)
    c = float(cutoff_cm)
    u, v, w_cm = network.edge_arrays()
    du, dv = d[u], d[v]
    keep = (du >= 0) | (dv >= 0)
    u, v, w, du, dv = u[keep], v[keep], w_cm[keep].astype(np.float64), du[keep], dv[keep]
    lu, lv = lab[u], lab[v]
    ru, rv = du >= 0, dv >= 0
    # distance from u of the point where u's and v's hubs are equally far (if both reached)
    meet = np.clip((dv + w - du) / 2.0, 0.0, w)
    other = ru & rv & (lu != lv)
    a = np.where(ru, np.minimum(c - du, w), 0.0)
    a = np.where(other, np.minimum(a, meet), a)
    b = np.where(rv, np.minimum(c - dv, w), 0.0)
    b = np.where(other, np.minimum(b, w - meet), b)
    a = np.maximum(a, 0.0)
    b = np.maximum(b, 0.0)
    full = ~other & ru & rv & (a + b >= w)
    a = np.where(full, w, a)
    b = np.where(full, 0.0, b)
    from_u = a > 0
    from_v = b > 0
    start = np.concatenate([u[from_u], v[from_v]])
    end = np.concatenate([v[from_u], u[from_v]])
    piece_cm = np.concatenate([a[from_u], b[from_v]])
    edge_cm = np.concatenate([w[from_u], w[from_v]])
    slot = lab[start]
    frac = piece_cm / edge_cm
    x0, y0 = network.node_x[start], network.node_y[start]
    x1 = x0 + frac * (network.node_x[end] - x0)
    y1 = y0 + frac * (network.node_y[end] - y0)
    order = np.lexsort((end, start, slot))
    return pd.DataFrame(
        {
            "slot": slot[order],
            "u": start[order],
            "v": end[order],
            "length_m": piece_cm[order] / 100.0,
            "frac": frac[order],
            "x0": x0[order],
            "y0": y0[order],
            "x1": x1[order],
            "y1": y1[order],
        }
    )


def _group_bounds(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct values of a sorted array and the start of each run (plus the end)."""
    if keys.shape[0] == 0:
        return keys, np.zeros(1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.r_[starts, keys.shape[0]].astype(np.int64)


def _union_by_slot(
    geoms: ObjectArray, slot: npt.NDArray[np.int64], *, coverage: npt.NDArray[np.bool_] | None = None
) -> dict[int, BaseGeometry]:
    """Union of the geometries of each slot; ``coverage`` flags geometries that tile without overlap."""
    order = np.argsort(slot, kind="stable")
    keys, bounds = _group_bounds(slot[order])
    geoms = geoms[order]
    cov = None if coverage is None else coverage[order]
    out: dict[int, BaseGeometry] = {}
    for i, s in enumerate(keys.tolist()):
        part = geoms[bounds[i] : bounds[i + 1]]
        if cov is None:
            out[s] = shapely.union_all(part)
            continue
        tiles = cov[bounds[i] : bounds[i + 1]]
        merged = shapely.coverage_union_all(part[tiles]) if tiles.any() else shapely.Polygon()
        if not shapely.is_valid(merged):  # not an exact tiling after all: the robust path
            merged = shapely.union_all(part[tiles])
        out[s] = shapely.union_all(np.append(part[~tiles], merged))
    return out


def _streets_geoms(
    engine: CoverageEngine, wanted: npt.NDArray[np.int64], *, buffer_m: float, quad_segs: int
) -> dict[int, BaseGeometry]:
    """Buffered reachable pieces, merged per slot."""
    net = engine.network
    lab = engine.label
    seg = reachable_segments(net, engine.dist_cm, lab, cutoff_cm=engine.cutoff_cm)
    seg = seg[np.isin(seg["slot"].to_numpy(), wanted)]
    # reached nodes that no piece starts at (a hub whose access leg takes the whole cutoff)
    touched = np.zeros(net.n_nodes, dtype=bool)
    touched[seg["u"].to_numpy()] = True
    lone = np.flatnonzero((lab >= 0) & ~touched & np.isin(lab, wanted))
    ends = np.stack([seg[["x0", "y0"]].to_numpy(), seg[["x1", "y1"]].to_numpy()], axis=1)
    lines = shapely.linestrings(ends) if ends.shape[0] else np.zeros(0, dtype=object)
    # chain each hub's pieces into longer lines (line_merge), buffer those one by one, merge
    keys, bounds = _group_bounds(seg["slot"].to_numpy(dtype=np.int64))
    chains: list[ObjectArray] = []
    chain_slot: list[npt.NDArray[np.int64]] = []
    for i, s in enumerate(keys.tolist()):
        parts = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines[bounds[i] : bounds[i + 1]])))
        chains.append(parts)
        chain_slot.append(np.full(parts.shape[0], s, dtype=np.int64))
    geoms = np.concatenate([*chains, shapely.points(net.node_x[lone], net.node_y[lone])])
    slot = np.concatenate([*chain_slot, lab[lone]])
    return _union_by_slot(shapely.buffer(geoms, buffer_m, quad_segs=quad_segs), slot)


def _cells_geoms(
    engine: CoverageEngine,
    wanted: npt.NDArray[np.int64],
    node_cells: NodeCells,
    *,
    max_access_m: float,
    quad_segs: int,
) -> dict[int, BaseGeometry]:
    """Voronoi cells of reached vertices clipped to their remaining walk, merged per slot."""
    dist, lab = engine.dist_cm, engine.label
    nodes = np.flatnonzero((lab >= 0) & (node_cells.node_cell >= 0) & np.isin(lab, wanted))
    radius = np.minimum((engine.cutoff_cm - dist[nodes]) / 100.0, max_access_m)
    cell = node_cells.node_cell[nodes]
    # vertices sharing a coordinate share a cell: it goes to the one with the most walk left
    order = np.lexsort((-radius, cell))
    nodes, radius, cell = nodes[order], radius[order], cell[order]
    first = np.r_[True, cell[1:] != cell[:-1]] if cell.shape[0] else np.zeros(0, dtype=bool)
    keep = first & (radius > 0)
    nodes, radius, cell = nodes[keep], radius[keep], cell[keep]
    geoms = node_cells.cells[cell].copy()
    whole = node_cells.radius_m[cell] <= radius
    clip = ~whole
    if clip.any():
        discs = shapely.buffer(
            shapely.points(node_cells.site_x[cell[clip]], node_cells.site_y[cell[clip]]),
            radius[clip],
            quad_segs=quad_segs,
        )
        geoms[clip] = shapely.intersection(geoms[clip], discs)
    return _union_by_slot(geoms, lab[nodes], coverage=whole)


def service_area_polygons(
    engine: CoverageEngine,
    *,
    method: Method = "cells",
    node_cells: NodeCells | None = None,
    max_access_m: float = DEFAULT_MAX_ACCESS_M,
    buffer_m: float = DEFAULT_BUFFER_M,
    simplify_m: float | None = DEFAULT_SIMPLIFY_M,
    slots: Sequence[int] | npt.ArrayLike | None = None,
    quad_segs: int = DEFAULT_QUAD_SEGS,
) -> gpd.GeoDataFrame:
    """One polygon per active hub: the area nearest to it within the cutoff. DISPLAY ONLY.

    Statistics must come from node / point distances (:func:`geo.coverage.point_coverage`),
    never from these polygons; the module docstring describes both constructions and
    their measured agreement with the point truth.

    Parameters
    ----------
    engine : CoverageEngine
        Hubs and node distances; ``engine.network`` is the walking network.
    method : {"cells", "streets"}
        ``"cells"``: the area the point statistics count as covered (Voronoi cells of the
        reached vertices clipped to the walk left); ``"streets"``: a band of ``buffer_m``
        along the reachable street pieces.
    node_cells : NodeCells, optional
        The network's vertex cells for ``method="cells"``; built on the fly when omitted
        (about 1 s on Xihu: build it once and share it).
    max_access_m : float
        Longest straight access leg a covered point may have (``Settings.max_access_m``);
        ``method="cells"`` only.
    buffer_m : float
        Half-width of the band around each reachable street piece, in metres;
        ``method="streets"`` only.
    simplify_m : float or None
        Douglas-Peucker tolerance in metres (topology preserved) to lighten the map
        payload; ``None`` or ``0`` keeps every vertex.
    slots : sequence of int, optional
        Only these hub slots (each must be active); all active slots by default.
    quad_segs : int
        Segments per quarter circle of discs and round caps.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326, one row per requested active slot in slot order (fresh
        ``RangeIndex``), with columns ``slot`` (int), ``reachable_nodes`` (int, network
        nodes whose nearest hub within the cutoff is this one), ``area_km2`` (float, the
        polygon's area measured in the metric CRS) and ``geometry`` (Polygon or
        MultiPolygon; empty when the hub reaches nothing, e.g. its access leg alone
        exceeds the cutoff).

    Raises
    ------
    HubError
        When a requested slot is not an active hub, ``method`` is unknown, a width is
        not positive, or ``node_cells`` belongs to another network.
    """
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, got {method!r}"
        raise HubError(msg)
    if not (buffer_m > 0) or not (max_access_m > 0):
        msg = f"buffer_m and max_access_m must be positive, got {buffer_m} and {max_access_m}"
        raise HubError(msg)
    net = engine.network
    active = np.flatnonzero(engine.hub_active)
    if slots is None:
        wanted = active.astype(np.int64)
    else:
        wanted = np.unique(np.asarray(slots, dtype=np.int64))
        inactive = np.setdiff1d(wanted, active)
        if inactive.size:
            msg = f"no active hub in slot(s) {', '.join(map(str, inactive[:5].tolist()))}"
            raise HubError(msg)
    if method == "cells":
        if node_cells is None:
            log.info("building the network's vertex cells; build a NodeCells once and pass it to save this")
            node_cells = NodeCells(net)
        elif node_cells.network is not net:
            msg = "node_cells was built for another network"
            raise HubError(msg)
        by_slot = _cells_geoms(engine, wanted, node_cells, max_access_m=max_access_m, quad_segs=quad_segs)
    else:
        by_slot = _streets_geoms(engine, wanted, buffer_m=buffer_m, quad_segs=quad_segs)
    polys = np.array([by_slot.get(s, shapely.Polygon()) for s in wanted.tolist()] or [], dtype=object)
    if simplify_m and polys.size:
        polys = shapely.simplify(polys, simplify_m, preserve_topology=True)
    lab = engine.label
    counts = np.bincount(lab[lab >= 0], minlength=int(wanted.max()) + 1 if wanted.size else 0)
    out = gpd.GeoDataFrame(
        {
            "slot": wanted,
            "reachable_nodes": counts[wanted].astype(np.int64),
            "area_km2": shapely.area(polys).astype(np.float64) / 1e6 if polys.size else np.zeros(0),
        },
        geometry=_to_storage(polys, net.metric_crs),
        crs=STORAGE_CRS,
    )
    return out


def _to_storage(polys: ObjectArray, metric_crs: str) -> gpd.GeoSeries:
    """Polygons reprojected to WGS-84 and kept valid.

    A vertex lying exactly on another edge of the same polygon (common where Voronoi
    cells or buffers meet) can move across that edge in the reprojection; such
    polygons are repaired without losing area (``make_valid`` "structure" method).
    """
    out = gpd.GeoSeries(polys, crs=metric_crs).to_crs(STORAGE_CRS)
    geoms = out.to_numpy()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return gpd.GeoSeries(geoms, crs=STORAGE_CRS)
