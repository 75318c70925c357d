"""Candidate sites and their coverage matrix: lattice answers by arithmetic, scipy on the real network."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial.distance import pdist

from core.errors import CandidateError, CRSMismatchError, InputColumnsError
from core.i18n import error_text
from core.settings import Settings
from geo.candidates import (
    CANDIDATE_COLUMNS,
    assign_towns,
    candidates_from_cells,
    candidates_from_frame,
    candidates_from_run,
    coverage_matrix,
    gap_cells,
    main_component_mask,
    thin_by_spacing,
)
from geo.engine import CoverageEngine
from geo.graph import WalkNetwork, network_from_edges
from geo.hexes import latlng_to_cells
from geo.snap import Snapper
from tests.conftest import DLAT, DLON, LAT0, LON0, Demo, lattice

N = 20  # lattice side


def lattice_with_island() -> WalkNetwork:
    """The 20 x 20 lattice plus a two-node fragment 30 m north-east of node (5, 5)."""
    ii, jj = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    idx = ii * N + jj
    lon = np.r_[LON0 + jj.ravel() * DLON, LON0 + 5.3 * DLON, LON0 + 5.6 * DLON]
    lat = np.r_[LAT0 + ii.ravel() * DLAT, LAT0 + 5.3 * DLAT, LAT0 + 5.3 * DLAT]
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel(), N * N]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel(), N * N + 1]
    length = np.r_[np.full(u.shape[0] - 1, 100.0), 30.0]
    return network_from_edges(lon, lat, u, v, length, metric_crs="EPSG:32651")


# ------------------------------------------------------------------------------ helpers


def test_main_component_mask_drops_the_island() -> None:
    net = lattice_with_island()
    mask = main_component_mask(net)
    assert mask.shape == (N * N + 2,)
    assert mask[: N * N].all()
    assert not mask[N * N :].any()


def test_thin_by_spacing_is_spaced_maximal_and_follows_priority() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 2000, 600), rng.uniform(0, 2000, 600)
    prio = rng.integers(0, 4, 600).astype(float)
    keep = thin_by_spacing(x, y, 200.0, priority=prio)
    kept = np.column_stack([x[keep], y[keep]])
    assert pdist(kept).min() > 200.0
    # maximal: every dropped point has a kept point within the spacing
    dropped = np.setdiff1d(np.arange(600), keep)
    d = np.hypot(x[dropped][:, None] - kept[:, 0][None, :], y[dropped][:, None] - kept[:, 1][None, :])
    assert (d.min(axis=1) <= 200.0).all()
    # the first point visited (highest priority, lowest position) is always kept
    first = int(np.lexsort((np.arange(600), -prio))[0])
    assert first in keep
    assert np.array_equal(thin_by_spacing(x, y, 0.0, priority=prio), np.arange(600))


def test_assign_towns_by_polygon_any_crs() -> None:
    west = shapely.box(120.0, 30.0, 120.1, 30.1)
    east = shapely.box(120.1, 30.0, 120.2, 30.1)
    towns = gpd.GeoDataFrame({"town_code": ["W", "E"]}, geometry=[west, east], crs="EPSG:4326")
    lon = np.array([120.05, 120.15, 120.5, np.nan])
    lat = np.array([30.05, 30.05, 30.05, 30.05])
    got = assign_towns(lon, lat, towns)
    assert got.tolist() == ["W", "E", None, None]
    assert assign_towns(lon, lat, towns.to_crs("EPSG:32651")).tolist() == ["W", "E", None, None]
    assert assign_towns(lon, lat, None).tolist() == [None] * 4
    with pytest.raises(CRSMismatchError):
        assign_towns(lon, lat, gpd.GeoDataFrame({"town_code": ["W"]}, geometry=[west]))
    with pytest.raises(InputColumnsError):
        assign_towns(lon, lat, gpd.GeoDataFrame({"code": ["W"]}, geometry=[west], crs="EPSG:4326"))


# ------------------------------------------------------------------------------ automatic candidates


def test_candidates_from_cells_inside_gap_spaced_main_component() -> None:
    net = lattice_with_island()
    gap = latlng_to_cells([LAT0 + 5 * DLAT], [LON0 + 5 * DLON], 9)
    ring0 = candidates_from_cells(net, gap, ring=0, spacing_m=150.0)
    assert list(ring0.columns) == list(CANDIDATE_COLUMNS)
    assert len(ring0) >= 1
    # every candidate is a main-component vertex of the gap cell, 0 m from the network
    nodes = ring0["node"].to_numpy()
    assert (nodes < N * N).all()
    assert set(latlng_to_cells(net.node_lat[nodes], net.node_lon[nodes], 9).tolist()) == {int(gap[0])}
    assert (ring0["access_m"] == 0).all() and not ring0["off_network"].any()
    assert ring0["site_id"].is_unique and ring0["site_id"].str.startswith("C").all()
    np.testing.assert_allclose(ring0["lon"], net.node_lon[nodes])
    # every lattice vertex of the cell lies within the spacing of a candidate (thinning is maximal)
    in_cell = np.flatnonzero(latlng_to_cells(net.node_lat, net.node_lon, 9) == gap[0])
    in_cell = in_cell[in_cell < N * N]
    d = np.hypot(
        net.node_x[in_cell][:, None] - net.node_x[nodes][None, :],
        net.node_y[in_cell][:, None] - net.node_y[nodes][None, :],
    )
    assert (d.min(axis=1) <= 150.0).all()
    if len(ring0) > 1:
        assert pdist(np.column_stack([net.node_x[nodes], net.node_y[nodes]])).min() > 150.0
    # a ring of neighbours adds candidates, all inside the disk
    ring1 = candidates_from_cells(net, gap, ring=1, spacing_m=150.0)
    assert len(ring1) > len(ring0)
    disk = {h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(int(gap[0])), 1)}
    n1 = ring1["node"].to_numpy()
    assert set(latlng_to_cells(net.node_lat[n1], net.node_lon[n1], 9).tolist()) <= disk


def test_candidates_from_cells_towns_and_errors() -> None:
    net = lattice()
    cells = np.unique(latlng_to_cells(net.node_lat, net.node_lon, 9))
    half = shapely.box(LON0 - 1e-3, LAT0 - 1e-3, LON0 + 9.5 * DLON, LAT0 + 20 * DLAT)
    towns = gpd.GeoDataFrame({"town_code": ["T1"]}, geometry=[half], crs="EPSG:4326")
    inside = candidates_from_cells(net, cells, towns=towns, spacing_m=200.0)
    assert (inside["town_code"] == "T1").all()
    assert (inside["lon"] <= LON0 + 9.5 * DLON).all()
    everywhere = candidates_from_cells(net, cells, towns=towns, within_towns=False, spacing_m=200.0)
    assert len(everywhere) > len(inside)
    assert everywhere["town_code"].isna().sum() == len(everywhere) - (everywhere["town_code"] == "T1").sum()
    with pytest.raises(CandidateError, match="no gap") as refused:
        candidates_from_cells(net, [], spacing_m=200.0)
    assert error_text(refused.value, "zh") == "当前设置下所有救助对象都已在步行圈内，无需新增站点"
    mixed = np.r_[cells[:1], latlng_to_cells([LAT0], [LON0], 8)]
    with pytest.raises(CandidateError, match="resolution"):
        candidates_from_cells(net, mixed)


def test_gap_cells_reads_the_hex_table() -> None:
    hexes = pd.DataFrame({"h3": ["89309a5519bffff", "89309a5518fffff", "89309a551cbffff"], "uncovered": [0, 2, 5]})
    got = gap_cells(hexes)
    assert sorted(got.tolist()) == sorted(int(h, 16) for h in ("89309a5518fffff", "89309a551cbffff"))
    assert gap_cells(hexes, min_uncovered=3).tolist() == [int("89309a551cbffff", 16)]
    with pytest.raises(InputColumnsError):
        gap_cells(hexes.drop(columns="uncovered"))


# ------------------------------------------------------------------------------ user list


def test_candidates_from_frame_snaps_and_flags() -> None:
    net = lattice()
    snapper = Snapper(net)
    frame = pd.DataFrame(
        {
            "site_id": ["a", "b", "far"],
            "lon": [LON0 + 3 * DLON + 0.0002, LON0 + 7 * DLON, LON0 + 5 * DLON],
            "lat": [LAT0 + 2 * DLAT, LAT0 + 7 * DLAT, LAT0 - 0.01],  # "far" is ~1.1 km south
            "note": ["x", "y", "z"],
        }
    )
    got = candidates_from_frame(frame, snapper, max_access_m=300.0)
    assert list(got.columns) == list(CANDIDATE_COLUMNS)
    assert got["node"].tolist() == [2 * N + 3, 7 * N + 7, 5]
    assert 15 < got.at[0, "access_m"] < 25  # 0.0002 deg of longitude is ~19 m
    assert got.at[1, "access_m"] < 0.01
    assert got["off_network"].tolist() == [False, False, True]
    assert got["town_code"].isna().all()
    # each refusal also reads in the user's language (core.i18n.error_text: what the planner shows)
    with pytest.raises(CandidateError, match="duplicate") as refused:
        candidates_from_frame(frame.assign(site_id=["a", "a", "b"]), snapper)
    assert error_text(refused.value, "zh") == "候选站点编号重复：a"
    with pytest.raises(InputColumnsError, match="site_id") as refused:
        candidates_from_frame(frame.drop(columns="site_id"), snapper)
    assert error_text(refused.value, "zh") == "候选站点文件缺少列：site_id"
    with pytest.raises(CandidateError, match="lon/lat") as refused:
        candidates_from_frame(frame.assign(lat=["30.2", "abc", "30.2"]), snapper)
    assert error_text(refused.value, "zh") == "以下候选站点没有有效的经纬度（WGS-84 度）：b"
    assert error_text(refused.value, "en") == "Candidate sites without a valid lon/lat (WGS-84 degrees): b"
    with pytest.raises(CandidateError, match="empty") as refused:
        candidates_from_frame(frame.iloc[:0], snapper)
    assert error_text(refused.value, "zh") == "候选站点文件中没有任何站点"
    with pytest.raises(CandidateError, match="site_id") as refused:
        candidates_from_frame(frame.assign(site_id=["a", " ", "b"]), snapper)
    assert error_text(refused.value, "zh") == "每个候选站点都要填写 site_id（站点编号）"


# ------------------------------------------------------------------------------ coverage matrix


def test_coverage_matrix_on_the_lattice_by_arithmetic() -> None:
    net = lattice()
    rng = np.random.default_rng(11)
    s_node = rng.integers(0, N * N, 25)
    s_acc = rng.integers(0, 5_000, 25)
    s_node[3] = -1  # a site without a vertex covers nothing
    p_node = rng.integers(0, N * N, 300)
    p_acc = rng.integers(0, 5_000, 300)
    elig = rng.random(300) > 0.1
    mat = coverage_matrix(net, s_node, s_acc, p_node, p_acc, cutoff_cm=75_000, eligible=elig)
    assert isinstance(mat, sparse.csr_matrix) and mat.shape == (25, 300)
    si, sj = np.divmod(s_node, N)
    pi, pj = np.divmod(p_node, N)
    walk = 10_000 * (np.abs(si[:, None] - pi[None, :]) + np.abs(sj[:, None] - pj[None, :]))
    expect = (walk + s_acc[:, None] + p_acc[None, :] <= 75_000) & elig[None, :] & (s_node[:, None] >= 0)
    assert np.array_equal(mat.toarray().astype(bool), expect)
    assert expect.sum() > 100  # the instance is not trivial


def test_coverage_matrix_equals_scipy_dijkstra_on_xihu(xihu_net: WalkNetwork) -> None:
    net = xihu_net
    rng = np.random.default_rng(2)
    cutoff = Settings().cutoff_cm
    centre = int(rng.integers(net.n_nodes))
    near = np.flatnonzero(np.hypot(net.node_x - net.node_x[centre], net.node_y - net.node_y[centre]) < 3000)
    s_node = rng.choice(near, 20, replace=False)
    s_acc = rng.integers(0, 8_000, 20)
    p_node = rng.choice(near, 800)
    p_acc = rng.integers(0, 20_000, 800)
    mat = coverage_matrix(net, s_node, s_acc, p_node, p_acc, cutoff_cm=cutoff)
    graph = sparse.csr_matrix((net.weight_cm.astype(float), net.indices, net.indptr), shape=(net.n_nodes,) * 2)
    dist = dijkstra(graph, indices=s_node, limit=cutoff)
    expect = dist[:, p_node] + s_acc[:, None] + p_acc[None, :] <= cutoff
    assert np.array_equal(mat.toarray().astype(bool), expect)
    assert 0 < expect.sum() < expect.size


# ------------------------------------------------------------------------------ the Xihu demo


@pytest.mark.xihu
def test_candidates_from_run_on_the_xihu_demo(demo: Demo) -> None:
    run, net = demo.run, demo.snapper.network
    cands = candidates_from_run(run, towns=demo.bundle.towns, spacing_m=200.0)
    assert 100 < len(cands) < 5000
    nodes = cands["node"].to_numpy()
    assert main_component_mask(net)[nodes].all()
    assert cands["town_code"].notna().all()
    assert set(cands["town_code"]) <= set(demo.bundle.towns["town_code"])
    assert pdist(np.column_stack([net.node_x[nodes], net.node_y[nodes]])).min() > 200.0
    gaps = gap_cells(run.hexes)
    disk = {h3.str_to_int(c) for g in gaps.tolist() for c in h3.grid_disk(h3.int_to_str(g), 1)}
    assert set(latlng_to_cells(net.node_lat[nodes], net.node_lon[nodes], run.settings.h3_res).tolist()) <= disk
    # each candidate, added to the run's engine as a hub, covers exactly its matrix row among uncovered points
    pts = run.points
    acc = np.rint(pts["access_m"].to_numpy() * 100).astype(np.int64)
    p_node = pts["node"].to_numpy()
    elig = ~pts["off_network"].to_numpy() & (p_node >= 0)
    zero = np.zeros(len(cands), dtype=np.int64)
    mat = coverage_matrix(net, nodes, zero, p_node, acc, cutoff_cm=75_000, eligible=elig)
    hits = 0
    for j in np.random.default_rng(0).choice(len(cands), 5, replace=False).tolist():
        eng = CoverageEngine(net, cutoff_cm=75_000)
        eng.set_hubs([nodes[j]], [0])
        d = eng.dist_cm[np.maximum(p_node, 0)]
        alone = (d >= 0) & (d + acc <= 75_000) & elig
        assert np.array_equal(mat[j].toarray().ravel().astype(bool), alone)
        hits += int(alone.sum())
    assert hits > 0
    # candidates sit where the gaps are: together they reach most of the uncovered households
    reach = np.asarray(mat.sum(axis=0)).ravel() > 0
    uncovered = ~pts["covered"].to_numpy()
    assert reach[uncovered].mean() > 0.8
