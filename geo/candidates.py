"""Candidate sites for new stations, and what each would cover on the real network.

Candidates come from two sources:

* **automatic** (:func:`candidates_from_cells`, :func:`candidates_from_run`): the walkable
  vertices of the network's main component that lie in the *gap hexes* (H3 cells holding
  uncovered beneficiaries) and a ring of cells around them, thinned so that no two
  candidates are closer than ``spacing_m`` (street corners first);
* **a user list** (:func:`candidates_from_frame`): ``site_id, lon, lat`` rows snapped to
  the nearest vertex, flagged ``off_network`` when farther than ``max_access_m``.

Both give the same tidy frame (:data:`CANDIDATE_COLUMNS`):

``site_id`` (str), ``lon``, ``lat`` (float, WGS-84), ``node`` (int, network vertex),
``access_m`` (float, straight leg from the site to its vertex, metres), ``town_code``
(str, NaN outside every town or when no towns are given), ``off_network`` (bool).

:func:`coverage_matrix` then runs one bounded single-source search per candidate on the
network (never straight-line distance) and returns the sparse candidates x demand-points
matrix the siting models take: candidate ``j`` covers point ``i`` when
``access_j + network_distance(node_j, node_i) + access_i <= cutoff`` in integer
centimetres, exactly the rule of :class:`geo.engine.CoverageEngine` and
:func:`geo.coverage.point_coverage`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from numba import njit
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from core.errors import CandidateError, CRSMismatchError, InputColumnsError
from core.settings import DEFAULT_MAX_ACCESS_M, STORAGE_CRS
from geo.analysis import CoverageRun
from geo.graph import WalkNetwork
from geo.hexes import as_cells, cells_resolution, check_res, latlng_to_cells
from geo.kernel import _pop, _push
from geo.snap import Snapper

log = logging.getLogger(__name__)

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: columns of every candidate frame, in order
CANDIDATE_COLUMNS = ("site_id", "lon", "lat", "node", "access_m", "town_code", "off_network")
#: default minimum distance between two automatic candidates, metres
DEFAULT_SPACING_M = 200.0


# ------------------------------------------------------------------------------ helpers


def main_component_mask(network: WalkNetwork) -> BoolArray:
    """Boolean mask of the vertices in the network's largest connected component.

    Parameters
    ----------
    network : WalkNetwork

    Returns
    -------
    ndarray of bool, one per node.
    """
    n = network.n_nodes
    adj = sparse.csr_matrix(
        (np.ones(network.indices.shape[0], dtype=np.int8), network.indices, network.indptr), shape=(n, n)
    )
    _, lab = connected_components(adj, directed=False)
    return np.asarray(lab == np.bincount(lab).argmax(), dtype=np.bool_)


def assign_towns(lon: npt.ArrayLike, lat: npt.ArrayLike, towns: gpd.GeoDataFrame | None) -> npt.NDArray[np.object_]:
    """Town code of the town polygon holding each WGS-84 point.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS-84 degrees.
    towns : GeoDataFrame or None
        ``town_code`` and polygon ``geometry`` with a CRS (reprojected to EPSG:4326 when
        needed). A point on a shared border goes to the first town in table order.

    Returns
    -------
    ndarray of object
        ``town_code`` as ``str`` per point; ``None`` outside every town, for missing
        coordinates, or for every point when ``towns`` is ``None``.

    Raises
    ------
    InputColumnsError
        ``towns`` lacks ``town_code``.
    CRSMismatchError
        ``towns`` has no CRS.
    """
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    out = np.full(lo.shape[0], None, dtype=object)
    if towns is None or lo.shape[0] == 0:
        return out
    if "town_code" not in towns.columns:
        msg = "the towns layer lacks a town_code column"
        raise InputColumnsError(msg)
    if towns.crs is None:
        msg = "the towns layer has no CRS; set it (EPSG:4326 for WGS-84 lon/lat) before siting"
        raise CRSMismatchError(msg)
    geo = towns if towns.crs.equals(STORAGE_CRS) else towns.to_crs(STORAGE_CRS)
    geoms = np.asarray(geo.geometry.to_numpy(), dtype=object)
    codes = geo["town_code"].astype(str).to_numpy(dtype=object)
    ok = np.isfinite(lo) & np.isfinite(la)
    pts = shapely.points(lo[ok], la[ok])
    tree = shapely.STRtree(geoms)
    pt_idx, town_idx = tree.query(pts, predicate="intersects")
    first = np.full(pts.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pt_idx, town_idx)
    hit = first < geoms.shape[0]
    town_of_ok = np.full(pts.shape[0], None, dtype=object)
    town_of_ok[hit] = codes[first[hit]]
    out[ok] = town_of_ok
    return out


def thin_by_spacing(x: npt.ArrayLike, y: npt.ArrayLike, spacing_m: float, *, priority: npt.ArrayLike) -> IntArray:
    """Keep points so that no two kept ones are ``spacing_m`` or closer (metric coordinates).

    Points are visited in descending ``priority`` (ties: lower position first); a point is
    kept unless a kept point lies within ``spacing_m`` (KD-tree ball queries).

    Parameters
    ----------
    x, y : array-like of float
        Metric coordinates (metres).
    spacing_m : float
        Minimum distance between kept points; ``<= 0`` keeps everything.
    priority : array-like of float
        Higher is visited first.

    Returns
    -------
    ndarray of int64
        Positions of the kept points, sorted ascending.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = xa.shape[0]
    if n == 0 or spacing_m <= 0:
        return np.arange(n, dtype=np.int64)
    order = np.lexsort((np.arange(n), -np.asarray(priority, dtype=np.float64)))
    tree = cKDTree(np.column_stack([xa, ya]))
    nbrs = tree.query_ball_point(np.column_stack([xa, ya]), r=float(spacing_m), return_sorted=False)
    blocked = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for i in order.tolist():
        if blocked[i]:
            continue
        keep.append(i)
        blocked[nbrs[i]] = True
    return np.sort(np.asarray(keep, dtype=np.int64))


def _frame(
    site_id: Iterable[Any],
    lon: FloatArray,
    lat: FloatArray,
    node: IntArray,
    access_m: FloatArray,
    town: npt.NDArray[np.object_],
    off: BoolArray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": pd.Series(list(site_id), dtype="str"),
            "lon": lon.astype(np.float64),
            "lat": lat.astype(np.float64),
            "node": node.astype(np.int64),
            "access_m": np.round(access_m.astype(np.float64), 2),
            "town_code": pd.Series(town, dtype="str"),
            "off_network": off.astype(bool),
        }
    )


# ------------------------------------------------------------------------------ automatic


def gap_cells(hexes: pd.DataFrame, *, min_uncovered: int = 1) -> npt.NDArray[np.uint64]:
    """The gap hexes of a :func:`geo.hexes.aggregate_points` frame: cells with uncovered points.

    Parameters
    ----------
    hexes : DataFrame
        With ``h3`` (str) and ``uncovered`` (int).
    min_uncovered : int
        A cell is a gap when it holds at least this many uncovered points.

    Returns
    -------
    ndarray of uint64, sorted cells.
    """
    missing = [c for c in ("h3", "uncovered") if c not in hexes.columns]
    if missing:
        msg = f"the hex table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    sel = hexes.loc[hexes["uncovered"].to_numpy() >= max(1, int(min_uncovered)), "h3"]
    return np.unique(as_cells(sel.tolist()))


def candidates_from_cells(
    network: WalkNetwork,
    cells: npt.ArrayLike | Iterable[Any],
    *,
    ring: int = 1,
    spacing_m: float = DEFAULT_SPACING_M,
    towns: gpd.GeoDataFrame | None = None,
    within_towns: bool = True,
    node_mask: BoolArray | None = None,
    id_prefix: str = "C",
) -> pd.DataFrame:
    """Automatic candidates: network vertices in and around the given H3 cells, thinned.

    Parameters
    ----------
    network : WalkNetwork
    cells : array-like of H3 cells (uint64 or h3 strings)
        The gap hexes (:func:`gap_cells`), all of one resolution.
    ring : int
        Also take the cells within this many steps of a gap cell (``grid_disk``); 1 adds
        the six neighbours, so a site just across a cell border is considered.
    spacing_m : float
        Minimum distance between two candidates (metres, straight line in the metric
        CRS). Vertices where more streets meet are kept first, then lower node ids.
    towns : GeoDataFrame, optional
        ``town_code`` + polygons, to fill ``town_code``.
    within_towns : bool
        With ``towns`` given, drop vertices outside every town (e.g. the buffer of the
        network beyond the district boundary).
    node_mask : ndarray of bool, optional
        Eligible vertices; the main component (:func:`main_component_mask`) by default.
    id_prefix : str
        ``site_id`` is the prefix plus a zero-padded running number.

    Returns
    -------
    DataFrame
        :data:`CANDIDATE_COLUMNS`, one row per candidate in node order; ``lon, lat`` are
        the vertex's, ``access_m`` 0, ``off_network`` False.

    Raises
    ------
    CandidateError
        No cell given, or mixed resolutions.
    """
    arr = as_cells(cells)
    arr = arr[arr != 0]
    if arr.size == 0:
        msg = "no gap hexes: every beneficiary is already covered, so there is nowhere to add a station"
        raise CandidateError(msg, key="cand_no_gaps")
    res = np.unique(cells_resolution(arr))
    if res.shape[0] != 1:
        msg = "the gap cells mix H3 resolutions"
        raise CandidateError(msg)
    r = check_res(int(res[0]))
    if ring > 0:
        disk = {int(c) for cell in arr.tolist() for c in h3n.grid_disk(cell, int(ring))}
        area = np.fromiter(disk, dtype=np.uint64, count=len(disk))
    else:
        area = arr
    area = np.unique(area)
    mask = main_component_mask(network) if node_mask is None else np.asarray(node_mask, dtype=bool)
    nodes = np.flatnonzero(mask)
    node_cells = latlng_to_cells(network.node_lat[nodes], network.node_lon[nodes], r)
    nodes = nodes[np.isin(node_cells, area)]
    town = assign_towns(network.node_lon[nodes], network.node_lat[nodes], towns)
    if towns is not None and within_towns:
        inside = pd.notna(town)
        nodes, town = nodes[inside], town[inside]
    degree = np.diff(network.indptr)[nodes].astype(np.float64)
    keep = thin_by_spacing(network.node_x[nodes], network.node_y[nodes], spacing_m, priority=degree)
    nodes, town = nodes[keep], town[keep]
    width = max(4, len(str(nodes.shape[0])))
    ids = [f"{id_prefix}{k:0{width}d}" for k in range(1, nodes.shape[0] + 1)]
    log.info("candidates: %d gap cells -> %d cells with ring %d -> %d sites", arr.size, area.size, ring, len(ids))
    zero = np.zeros(nodes.shape[0], dtype=np.float64)
    return _frame(
        ids,
        network.node_lon[nodes],
        network.node_lat[nodes],
        nodes.astype(np.int64),
        zero,
        town,
        np.zeros(nodes.shape[0], dtype=bool),
    )


def candidates_from_run(
    run: CoverageRun,
    *,
    ring: int = 1,
    spacing_m: float = DEFAULT_SPACING_M,
    towns: gpd.GeoDataFrame | None = None,
    within_towns: bool = True,
    min_uncovered: int = 1,
) -> pd.DataFrame:
    """Automatic candidates around the gaps of a :class:`geo.analysis.CoverageRun`.

    Uses the run's hex table (``settings.h3_res``) and its engine's network; see
    :func:`candidates_from_cells` for the parameters and the returned columns.
    """
    cells = gap_cells(run.hexes, min_uncovered=min_uncovered)
    return candidates_from_cells(
        run.engine.network, cells, ring=ring, spacing_m=spacing_m, towns=towns, within_towns=within_towns
    )


# ------------------------------------------------------------------------------ user list


def candidates_from_frame(
    frame: pd.DataFrame,
    snapper: Snapper,
    *,
    max_access_m: float = DEFAULT_MAX_ACCESS_M,
    towns: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Candidates from a user list ``site_id, lon, lat`` (WGS-84), snapped to the network.

    Parameters
    ----------
    frame : DataFrame
        At least ``site_id, lon, lat``; other columns are ignored.
    snapper : Snapper
        Over the walking network (give it the main-component mask to keep candidates off
        isolated fragments).
    max_access_m : float
        A site farther than this from every vertex is flagged ``off_network`` (the
        siting models leave it out).
    towns : GeoDataFrame, optional
        ``town_code`` + polygons, to fill ``town_code``.

    Returns
    -------
    DataFrame
        :data:`CANDIDATE_COLUMNS` in input order (fresh ``RangeIndex``).

    Raises
    ------
    InputColumnsError
        A column is missing or a coordinate is not a number.
    CandidateError
        The list is empty, has a repeated or blank ``site_id``, or a site without
        coordinates.
    """
    missing = [c for c in ("site_id", "lon", "lat") if c not in frame.columns]
    if missing:
        msg = f"the candidate list lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg, key="cand_columns", cols=", ".join(missing))
    if frame.empty:
        msg = "the candidate list is empty"
        raise CandidateError(msg, key="cand_empty")
    ids = frame["site_id"].astype(str).str.strip().reset_index(drop=True)
    if (ids == "").any() or frame["site_id"].isna().any():
        msg = "every candidate needs a site_id"
        raise CandidateError(msg, key="cand_blank_id")
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        ids_text = ", ".join(map(str, dup[:5]))
        msg = f"duplicate site_id in the candidate list: {ids_text}"
        raise CandidateError(msg, key="cand_dup_id", ids=ids_text)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        ids_text = ", ".join(ids[bad].head(5))
        msg = f"candidate(s) without valid lon/lat: {ids_text}"
        raise CandidateError(msg, key="cand_bad_lonlat", ids=ids_text)
    sn = snapper.snap(lon, lat)
    off = sn.access_m > max_access_m
    for sid, d in zip(ids[off], sn.access_m[off], strict=True):
        log.warning("candidate %s is %.0f m from the nearest walkable way: left out of siting", sid, d)
    return _frame(ids, lon, lat, sn.node, sn.access_m, assign_towns(lon, lat, towns), off)


# ------------------------------------------------------------------------------ coverage


@njit(cache=True)
def _cover_kernel(indptr, indices, weight, src_node, src_off, cutoff, pt_ptr, pt_idx, pt_acc):  # type: ignore[no-untyped-def]
    """Bounded Dijkstra from every source in turn; CSR (row_ptr, cols) of the points each reaches.

    ``pt_ptr/pt_idx`` list the points at each node, sorted by their access leg
    ``pt_acc`` (cm) within a node, so the scan of a node stops at the first point too far.
    """
    n = indptr.shape[0] - 1
    inf = np.iinfo(np.int64).max
    dist = np.full(n, inf, dtype=np.int64)
    touched = np.empty(n, dtype=np.int32)
    row_ptr = np.zeros(src_node.shape[0] + 1, dtype=np.int64)
    cols = np.empty(1024, dtype=np.int32)
    nnz = 0
    hk = np.empty(256, dtype=np.int64)
    hn = np.empty(256, dtype=np.int32)
    for j in range(src_node.shape[0]):
        s = src_node[j]
        d0 = src_off[j]
        if s >= 0 and d0 <= cutoff:
            nt = 0
            size = 0
            dist[s] = d0
            touched[nt] = s
            nt += 1
            hk, hn, size = _push(hk, hn, size, d0, s)
            while size > 0:
                d, u, size = _pop(hk, hn, size)
                if d != dist[u]:
                    continue
                for k in range(pt_ptr[u], pt_ptr[u + 1]):
                    if d + pt_acc[k] > cutoff:
                        break
                    if nnz == cols.shape[0]:
                        c2 = np.empty(2 * nnz, dtype=np.int32)
                        c2[:nnz] = cols[:nnz]
                        cols = c2
                    cols[nnz] = pt_idx[k]
                    nnz += 1
                for e in range(indptr[u], indptr[u + 1]):
                    nd = d + weight[e]
                    if nd > cutoff:
                        continue
                    v = indices[e]
                    if nd < dist[v]:
                        if dist[v] == inf:
                            touched[nt] = v
                            nt += 1
                        dist[v] = nd
                        hk, hn, size = _push(hk, hn, size, nd, v)
            for t in range(nt):
                dist[touched[t]] = inf
        row_ptr[j + 1] = nnz
    return row_ptr, cols[:nnz]


def coverage_matrix(
    network: WalkNetwork,
    site_node: npt.ArrayLike,
    site_access_cm: npt.ArrayLike,
    point_node: npt.ArrayLike,
    point_access_cm: npt.ArrayLike,
    *,
    cutoff_cm: int,
    eligible: npt.ArrayLike | None = None,
) -> sparse.csr_matrix:
    """Which demand points each candidate site would cover within the walking cutoff.

    One bounded single-source Dijkstra per site on the network's CSR arrays (a numba
    kernel that resets only the vertices it touched), so the cost grows with the area
    within reach, not with the network.

    Parameters
    ----------
    network : WalkNetwork
    site_node, site_access_cm : array-like of int
        Each site's vertex (``-1``: covers nothing) and straight access leg in cm.
    point_node, point_access_cm : array-like of int
        Each demand point's vertex (``-1`` for no coordinates) and access leg in cm.
    cutoff_cm : int
        Walking bound in cm (``Settings.cutoff_cm``).
    eligible : array-like of bool, optional
        Points that may be covered at all (e.g. not ``off_network``); all by default.

    Returns
    -------
    scipy.sparse.csr_matrix of int8, shape (n_sites, n_points)
        ``1`` where ``site_access + network distance + point_access <= cutoff_cm``;
        column indices sorted within each row.
    """
    sn = np.asarray(site_node, dtype=np.int64)
    sa = np.asarray(site_access_cm, dtype=np.int64)
    pn = np.asarray(point_node, dtype=np.int64)
    pa = np.asarray(point_access_cm, dtype=np.int64)
    if sn.shape != sa.shape or pn.shape != pa.shape:
        msg = "node and access arrays differ in length"
        raise InputColumnsError(msg)
    if (sn >= network.n_nodes).any() or (pn >= network.n_nodes).any():
        msg = "a node index lies outside the network"
        raise InputColumnsError(msg)
    ok = pn >= 0
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool)
    idx = np.flatnonzero(ok)
    order = np.lexsort((pa[idx], pn[idx]))
    idx = idx[order]
    pt_ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(pn[idx], minlength=network.n_nodes), out=pt_ptr[1:])
    row_ptr, cols = _cover_kernel(
        network.indptr,
        network.indices,
        network.weight_cm,
        sn,
        sa,
        np.int64(cutoff_cm),
        pt_ptr,
        idx.astype(np.int32),
        pa[idx],
    )
    mat = sparse.csr_matrix((np.ones(cols.shape[0], dtype=np.int8), cols, row_ptr), shape=(sn.shape[0], pn.shape[0]))
    mat.sort_indices()
    return mat
