"""Service-area polygons: lattice answers by hand, agreement with the point truth on Xihu."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from core.errors import HubError
from core.settings import Settings
from geo.coverage import point_coverage
from geo.engine import CoverageEngine
from geo.graph import WalkNetwork, network_from_edges
from geo.service_area import NodeCells, reachable_segments, service_area_polygons
from geo.snap import Snapper
from tests.conftest import lattice

N = 20  # lattice_net is N x N, node i * N + j at row i, column j


def _node(i: int, j: int) -> int:
    return i * N + j


def _engine(net: WalkNetwork, hubs: list[int], cutoff_cm: int, offsets: list[int] | None = None) -> CoverageEngine:
    eng = CoverageEngine(net, cutoff_cm=cutoff_cm)
    eng.set_hubs(hubs, offsets or [0] * len(hubs))
    return eng


def _lonlat_between(net: WalkNetwork, a: int, b: int, t: float) -> tuple[float, float]:
    """WGS-84 position a share ``t`` of the way from node ``a`` to node ``b`` (straight in metres)."""
    x = net.node_x[a] + t * (net.node_x[b] - net.node_x[a])
    y = net.node_y[a] + t * (net.node_y[b] - net.node_y[a])
    lon, lat = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _inside(gdf: pd.DataFrame, lon: float, lat: float) -> bool:
    return bool(shapely.contains_xy(shapely.union_all(gdf.geometry.to_numpy()), lon, lat))


def test_lattice_corner_hub_pieces_by_hand(lattice_net: WalkNetwork) -> None:
    # hub at the corner, 750 m: nodes with i + j <= 7 are reached (36 of them)
    eng = _engine(lattice_net, [_node(0, 0)], 75_000)
    seg = reachable_segments(lattice_net, eng.dist_cm, eng.label, cutoff_cm=eng.cutoff_cm)
    assert (seg["slot"] == 0).all()
    full = seg[seg["frac"] == 1.0]
    part = seg[seg["frac"] < 1.0]
    # whole edges: both ends within i + j <= 7, i.e. the 2 outward edges of the 28 nodes with i + j <= 6
    assert len(full) == 56 and np.allclose(full["length_m"], 100.0)
    # partial: from each of the 8 nodes with i + j == 7, 50 m along its 2 outward edges
    assert len(part) == 16 and np.allclose(part["length_m"], 50.0) and np.allclose(part["frac"], 0.5)
    ij_u = np.divmod(part["u"].to_numpy(), N)
    ij_v = np.divmod(part["v"].to_numpy(), N)
    assert ((ij_u[0] + ij_u[1]) == 7).all() and ((ij_v[0] + ij_v[1]) == 8).all()
    assert seg["length_m"].sum() == pytest.approx(6_400.0)
    # a piece's far end is halfway along its edge, in metres
    u, v = part["u"].to_numpy(), part["v"].to_numpy()
    np.testing.assert_allclose(part["x1"].to_numpy(), (lattice_net.node_x[u] + lattice_net.node_x[v]) / 2)
    np.testing.assert_allclose(part["y1"].to_numpy(), (lattice_net.node_y[u] + lattice_net.node_y[v]) / 2)


def test_lattice_two_hubs_meet_halfway(lattice_net: WalkNetwork) -> None:
    # hubs at (0, 0) and (0, 9): nodes (0, 4) and (0, 5) are both 400 m from their hubs
    eng = _engine(lattice_net, [_node(0, 0), _node(0, 9)], 75_000)
    seg = reachable_segments(lattice_net, eng.dist_cm, eng.label, cutoff_cm=eng.cutoff_cm)
    on_edge = seg[(seg[["u", "v"]].min(axis=1) == _node(0, 4)) & (seg[["u", "v"]].max(axis=1) == _node(0, 5))]
    assert sorted(zip(on_edge["slot"], on_edge["length_m"], strict=True)) == [(0, 50.0), (1, 50.0)]
    # hubs at (0, 0) and (0, 10): (0, 5) is a tie (to slot 0), (0, 6) is 100 m nearer hub 1,
    # so the whole edge (0, 5)-(0, 6) belongs to hub 1
    eng = _engine(lattice_net, [_node(0, 0), _node(0, 10)], 75_000)
    seg = reachable_segments(lattice_net, eng.dist_cm, eng.label, cutoff_cm=eng.cutoff_cm)
    on_edge = seg[(seg[["u", "v"]].min(axis=1) == _node(0, 5)) & (seg[["u", "v"]].max(axis=1) == _node(0, 6))]
    assert on_edge[["slot", "u", "length_m"]].values.tolist() == [[1, _node(0, 6), 100.0]]
    # every reachable metre is counted once: 2 diamonds of 750 m ... minus nothing twice
    per_slot = seg.groupby("slot")["length_m"].sum()
    assert per_slot.sum() == pytest.approx(seg["length_m"].sum())
    assert not seg.duplicated(["u", "v"]).any()


def test_lattice_streets_band_by_hand(lattice_net: WalkNetwork) -> None:
    eng = _engine(lattice_net, [_node(0, 0)], 75_000)
    gdf = service_area_polygons(eng, method="streets", buffer_m=20.0, simplify_m=None)
    assert list(gdf.columns) == ["slot", "reachable_nodes", "area_km2", "geometry"]
    assert gdf["slot"].tolist() == [0] and gdf["reachable_nodes"].tolist() == [36]
    a, b = _node(7, 0), _node(8, 0)  # the piece along this edge stops 50 m from (7, 0)
    assert _inside(gdf, *_lonlat_between(lattice_net, a, b, 0.4))
    assert _inside(gdf, *_lonlat_between(lattice_net, a, b, 0.65))  # 50 m + 15 m of band
    assert not _inside(gdf, *_lonlat_between(lattice_net, a, b, 0.8))
    assert _inside(gdf, *_lonlat_between(lattice_net, _node(3, 3), _node(3, 3), 0.0))
    assert not _inside(gdf, *_lonlat_between(lattice_net, _node(4, 4), _node(4, 4), 0.0))  # 800 m
    # the middle of a lattice square is 50 m from every street: outside a 20 m band
    assert not _inside(gdf, *_lonlat_between(lattice_net, _node(2, 2), _node(3, 3), 0.5))
    # 6,400 m of street, 2r = 40 m wide; where arms meet at a node, r x r squares are counted
    # twice: 4 at the 21 crossings, 2 at the 14 T-junctions on the lattice's edges, 1 at the
    # corner (plus its outer quarter disc); the 16 free ends add half discs (32-gons)
    r = 20.0
    half_disc = 0.5 * 32 * r**2 * np.sin(2 * np.pi / 32) / 2
    expect = 2 * r * 6_400 - (21 * 4 + 14 * 2 + 1) * r**2 + half_disc / 2 + 16 * half_disc
    assert gdf["area_km2"].iloc[0] == pytest.approx(expect / 1e6, rel=0.005)


def test_lattice_cells_area_by_hand(lattice_net: WalkNetwork) -> None:
    # hub in the middle, 350 m, access legs up to 300 m: 25 nodes reached (|di| + |dj| <= 3).
    # Left to walk: 350 (hub), 250, 150, 50 m. A node's cell is its 100 m square; a disc of
    # 150 m or more holds the square, the 12 outer nodes keep a disc of 50 m.
    eng = _engine(lattice_net, [_node(10, 10)], 35_000)
    gdf = service_area_polygons(eng, simplify_m=None, max_access_m=300.0, node_cells=NodeCells(lattice_net))
    assert gdf["reachable_nodes"].tolist() == [25]
    disc = 0.5 * 32 * 50.0**2 * np.sin(2 * np.pi / 32)  # 32-gon of radius 50 m
    assert gdf["area_km2"].iloc[0] == pytest.approx((13 * 100.0**2 + 12 * disc) / 1e6, rel=0.01)
    a, b = _node(10, 13), _node(10, 14)
    assert _inside(gdf, *_lonlat_between(lattice_net, a, b, 0.4))
    assert not _inside(gdf, *_lonlat_between(lattice_net, a, b, 0.6))
    assert _inside(gdf, *_lonlat_between(lattice_net, _node(9, 9), _node(10, 10), 0.9))
    # with access legs of at most 40 m, each of the 25 cells shrinks to a 40 m disc
    assert _inside(gdf, *_lonlat_between(lattice_net, _node(10, 10), _node(11, 11), 0.45))
    small = service_area_polygons(eng, simplify_m=None, max_access_m=40.0)
    assert not _inside(small, *_lonlat_between(lattice_net, _node(10, 10), _node(11, 11), 0.45))
    assert _inside(small, *_lonlat_between(lattice_net, _node(10, 10), _node(11, 11), 0.25))
    disc40 = 0.5 * 32 * 40.0**2 * np.sin(2 * np.pi / 32)
    assert small["area_km2"].iloc[0] == pytest.approx(25 * disc40 / 1e6, rel=0.01)


def test_lattice_cells_equal_point_truth(lattice_net: WalkNetwork) -> None:
    settings = Settings(minutes=6.0)  # 450 m
    eng = _engine(lattice_net, [_node(4, 4), _node(12, 15), _node(15, 3)], settings.cutoff_cm, [0, 2_000, 9_000])
    gdf = service_area_polygons(eng, simplify_m=None, max_access_m=settings.max_access_m)
    rng = np.random.default_rng(5)
    lon = rng.uniform(lattice_net.node_lon.min() - 0.003, lattice_net.node_lon.max() + 0.003, 4_000)
    lat = rng.uniform(lattice_net.node_lat.min() - 0.003, lattice_net.node_lat.max() + 0.003, 4_000)
    truth = point_coverage(
        lon, lat, engine=eng, snapper=Snapper(lattice_net), hub_ids=["a", "b", "c"], settings=settings
    )
    geoms = gdf.geometry.to_numpy()
    inside = shapely.contains_xy(shapely.union_all(geoms), lon, lat)
    covered = truth["covered"].to_numpy()
    assert covered.sum() > 500
    # only the 32-gon discs (inscribed in the true circles) may miss a point
    assert (inside & ~covered).sum() == 0
    assert (covered & ~inside).sum() <= 0.005 * covered.sum()
    # each covered point lies in the polygon of its own hub
    slot_of = {"a": 0, "b": 1, "c": 2}
    for hub_id, slot in slot_of.items():
        mine = (truth["hub_id"] == hub_id).to_numpy() & covered & inside
        assert shapely.contains_xy(geoms[slot], lon[mine], lat[mine]).all()


def test_polygons_of_hubs_do_not_overlap(lattice_net: WalkNetwork) -> None:
    eng = _engine(lattice_net, [_node(5, 5), _node(5, 10), _node(12, 8)], 75_000)
    # cells tile the plane; street bands of different hubs may overlap (a band is wider
    # than the gap between the pieces of two hubs), but their pieces never do
    for method in ("cells", "streets"):
        gdf = service_area_polygons(eng, method=method, simplify_m=None).to_crs(lattice_net.metric_crs)
        g = gdf.geometry.to_numpy()
        if method == "cells":
            overlap = sum(shapely.area(shapely.intersection(g[i], g[j])) for i in range(3) for j in range(i + 1, 3))
            assert overlap < 1e-6 * gdf.area.sum()
        assert gdf.geometry.is_valid.all()
        np.testing.assert_allclose(gdf["area_km2"].to_numpy(), gdf.area.to_numpy() / 1e6, rtol=1e-6)


def test_slots_removed_hub_and_hub_out_of_reach(lattice_net: WalkNetwork) -> None:
    eng = _engine(lattice_net, [_node(2, 2), _node(15, 15), _node(8, 8)], 30_000, [0, 0, 31_000])
    eng.remove_hub(1)
    gdf = service_area_polygons(eng, method="streets")
    assert gdf["slot"].tolist() == [0, 2]
    # hub 2's access leg alone exceeds the cutoff: it reaches nothing
    far = gdf.set_index("slot").loc[2]
    assert far["geometry"].is_empty and far["area_km2"] == 0.0 and far["reachable_nodes"] == 0
    only = service_area_polygons(eng, slots=[0], node_cells=NodeCells(lattice_net))
    assert only["slot"].tolist() == [0] and only["area_km2"].iloc[0] > 0
    with pytest.raises(HubError, match="slot"):
        service_area_polygons(eng, slots=[1])
    with pytest.raises(HubError, match="method"):
        service_area_polygons(eng, method="isochrone")  # type: ignore[arg-type]
    with pytest.raises(HubError, match="positive"):
        service_area_polygons(eng, method="streets", buffer_m=0.0)
    with pytest.raises(HubError, match="another network"):
        service_area_polygons(eng, node_cells=NodeCells(lattice(5)))
    with pytest.raises(HubError, match="one value per network node"):
        reachable_segments(lattice_net, eng.dist_cm[:-1], eng.label, cutoff_cm=eng.cutoff_cm)


def test_hub_using_the_whole_cutoff_on_its_access_leg(lattice_net: WalkNetwork) -> None:
    # the hub node is reached at exactly the cutoff: no piece of street, but the node itself
    eng = _engine(lattice_net, [_node(5, 5)], 30_000, [30_000])
    streets = service_area_polygons(eng, method="streets", buffer_m=10.0, simplify_m=None)
    assert streets["reachable_nodes"].tolist() == [1]
    assert streets["area_km2"].iloc[0] == pytest.approx(np.pi * 10.0**2 / 1e6, rel=0.02)
    cells = service_area_polygons(eng, simplify_m=None)
    assert cells["geometry"].iloc[0].is_empty  # no walk left for an access leg


def test_node_cells_share_identical_coordinates() -> None:
    # node 3 sits exactly on node 1 (a bridge over a street, another layer)
    lon = np.array([120.100, 120.101, 120.102, 120.101])
    lat = np.array([30.250, 30.250, 30.250, 30.250])
    net = network_from_edges(lon, lat, [0, 1, 3], [1, 2, 0], [96.0, 96.0, 500.0], metric_crs="EPSG:32651")
    cells = NodeCells(net)
    assert len(cells.cells) == 3
    assert cells.node_cell[1] == cells.node_cell[3] and len(set(cells.node_cell.tolist())) == 3
    assert shapely.contains_xy(cells.cells, net.node_x[:3], net.node_y[:3]).all()
    # the shared cell goes to the node with the most walk left (node 1 at 96 m, not node 3 at 500 m)
    eng = _engine(net, [0], 60_000)
    gdf = service_area_polygons(eng, node_cells=cells, simplify_m=None, max_access_m=1_000.0)
    lon1, lat1 = _lonlat_between(net, 1, 1, 0.0)
    x_off = net.node_x[1] + 0.0
    y_off = net.node_y[1] + 300.0  # 300 m north of node 1: 96 + 300 <= 600, covered
    lo, la = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True).transform(x_off, y_off)
    assert _inside(gdf, lon1, lat1) and _inside(gdf, float(lo), float(la))


# -- the real network ----------------------------------------------------------------

XIHU_SAMPLE = 5_000


@pytest.fixture(scope="module")
def xihu_cells(xihu_net: WalkNetwork) -> NodeCells:
    return NodeCells(xihu_net)


@pytest.fixture(scope="module")
def xihu_snapper(xihu_net: WalkNetwork) -> Snapper:
    return Snapper(xihu_net)


# (method, n_hubs) -> (precision floor, recall floor), just under what was measured:
# cells   12: 0.9967 / 0.9918   20: 0.9986 / 0.9864   50: 0.9993 / 0.9947
# streets 12: 0.7209 / 0.5609   20: 0.7795 / 0.6673   50: 0.8018 / 0.5436
FLOORS = {
    ("cells", 12): (0.99, 0.985),
    ("cells", 20): (0.99, 0.98),
    ("cells", 50): (0.99, 0.99),
    ("streets", 12): (0.70, 0.54),
    ("streets", 20): (0.76, 0.65),
    ("streets", 50): (0.78, 0.52),
}


@pytest.mark.xihu
@pytest.mark.parametrize("n_hubs", [12, 20, 50])
def test_xihu_polygons_agree_with_point_truth(
    xihu_net: WalkNetwork, xihu_cells: NodeCells, xihu_snapper: Snapper, settings: Settings, n_hubs: int
) -> None:
    net = xihu_net
    rng = np.random.default_rng([n_hubs, 1])
    hubs = rng.choice(net.n_nodes, n_hubs, replace=False)
    eng = _engine(net, hubs.tolist(), settings.cutoff_cm)
    # uniform points in the nodes' bounding box, kept within 800 m of a hub (beyond, neither
    # the truth nor a polygon can cover a point)
    near = cKDTree(np.column_stack([net.node_x[hubs], net.node_y[hubs]]))
    xs, ys = [], []
    while sum(map(len, xs)) < XIHU_SAMPLE:
        x = rng.uniform(net.node_x.min(), net.node_x.max(), 20_000)
        y = rng.uniform(net.node_y.min(), net.node_y.max(), 20_000)
        keep = near.query(np.column_stack([x, y]))[0] <= settings.cutoff_m + 50.0
        xs.append(x[keep])
        ys.append(y[keep])
    x, y = np.concatenate(xs)[:XIHU_SAMPLE], np.concatenate(ys)[:XIHU_SAMPLE]
    lon, lat = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True).transform(x, y)
    truth = point_coverage(
        lon, lat, engine=eng, snapper=xihu_snapper, hub_ids=np.arange(n_hubs).astype(str), settings=settings
    )["covered"].to_numpy()
    assert truth.sum() > 1_000
    for method in ("cells", "streets"):
        gdf = service_area_polygons(eng, method=method, node_cells=xihu_cells, max_access_m=settings.max_access_m)
        assert len(gdf) == n_hubs and gdf.geometry.is_valid.all()
        assert gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all()
        inside = shapely.contains_xy(shapely.union_all(gdf.geometry.to_numpy()), lon, lat)
        tp = int((truth & inside).sum())
        precision, recall = tp / inside.sum(), tp / truth.sum()
        p_floor, r_floor = FLOORS[(method, n_hubs)]
        assert precision >= p_floor, (method, precision)
        assert recall >= r_floor, (method, recall)
