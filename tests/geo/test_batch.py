"""Batch coverage by partitions (geo/batch.py, data/batch.py, ``python -m geo batch``).

Fast tests on a lattice built in code check the partitions (each point exactly once), the
extract and the buffer rule; the ``xihu``-marked test runs the real command on the whole
Hangzhou network with 2 Dask workers and compares every point with ``geo coverage``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from core.errors import PartitionError
from core.settings import Settings
from geo.batch import (
    NO_COORDS_PARTITION,
    OUTSIDE_PARTITION,
    Partition,
    buffer_radius_m,
    extract_network,
    hubs_for_core,
    nodes_near,
    partition_coverage,
    polygon_partitions,
    tile_partitions,
)
from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage
from geo.graph import WalkNetwork
from geo.snap import Snapper, lonlat_to_metric
from tests.conftest import lattice, run_module

COMPARED = ["point_id", "hub_id", "walk_m", "walk_min", "covered", "access_m", "off_network", "status"]


# -- partitions: every point exactly once -------------------------------------------------
def test_tiles_put_every_point_in_exactly_one_half_open_tile() -> None:
    x = np.array([0.0, 999.999, 1000.0, 1000.0, -0.001, 2500.0, np.nan])
    y = np.array([0.0, 0.0, 0.0, 1000.0, 0.0, 2500.0, 5.0])
    parts, part = tile_partitions(x, y, tile_m=1000.0)
    ids = [parts[k].pid for k in part]
    assert ids == ["tile_0_0", "tile_0_0", "tile_1_0", "tile_1_1", "tile_-1_0", "tile_2_2", NO_COORDS_PARTITION]
    assert parts[-1].core is None
    assert sorted(set(part.tolist())) == list(range(len(parts)))  # no empty partition
    for k, p in enumerate(parts[:-1]):  # the core covers its points
        assert shapely.intersects_xy(p.core, x[part == k], y[part == k]).all()
    with pytest.raises(PartitionError):
        tile_partitions(x, y, tile_m=0.0)


def test_polygons_first_one_wins_on_a_shared_edge_and_the_rest_is_outside() -> None:
    west, east = shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)
    x = np.array([5.0, 10.0, 15.0, 30.0, 31.0, np.nan])
    y = np.array([5.0, 5.0, 5.0, 5.0, 6.0, np.nan])
    parts, part = polygon_partitions(x, y, [west, east], ["西湖", "east"])
    assert [parts[k].pid for k in part] == ["西湖", "西湖", "east", OUTSIDE_PARTITION, OUTSIDE_PARTITION, "_no_coords"]
    outside = parts[part[3]].core
    assert outside is not None and shapely.intersects_xy(outside, x[3:5], y[3:5]).all()
    with pytest.raises(PartitionError, match="duplicate"):
        polygon_partitions(x, y, [west, east], ["a", "a"])
    with pytest.raises(PartitionError, match="not a polygon"):
        polygon_partitions(x, y, [shapely.Point(0, 0)], ["a"])


def test_extract_is_the_induced_sub_network_with_the_same_weights() -> None:
    net = lattice(10)
    keep = np.zeros(net.n_nodes, dtype=bool)
    keep[[0, 1, 2, 11, 55]] = True  # 55 keeps no neighbour: it stays, isolated
    sub, gid = extract_network(net, keep)
    assert gid.tolist() == [0, 1, 2, 11, 55]
    u, v, w = sub.edge_arrays()
    assert sorted(zip(gid[u].tolist(), gid[v].tolist(), strict=True)) == [(0, 1), (1, 2), (1, 11)]
    assert set(w.tolist()) == {10_000}
    assert np.diff(sub.indptr)[4] == 0
    assert sub.metric_crs == net.metric_crs and np.array_equal(sub.node_x, net.node_x[gid])


def test_buffer_rule_defaults_and_refuses_a_smaller_extract() -> None:
    s = Settings()
    assert buffer_radius_m(s) == pytest.approx(1.02 * (2 * 750 + 300) + 25)  # 1,861 m
    assert buffer_radius_m(s.with_(minutes=15, speed_kmh=3.0)) == pytest.approx(1.02 * (2 * 750 + 300) + 25)
    net = lattice(5)
    pts = pd.DataFrame({"point_id": ["a"], "lon": [str(net.node_lon[0])], "lat": [str(net.node_lat[0])]})
    hubs = pd.DataFrame({"hub_id": ["h"], "lon": [str(net.node_lon[3])], "lat": [str(net.node_lat[3])]})
    with pytest.raises(PartitionError, match="below the exact buffer"):
        partition_coverage(net, Partition("x", shapely.box(0, 0, 1, 1)), pts, hubs, s, radius_m=900.0)


def _metric_to_lonlat(net: WalkNetwork, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _single_machine(net: WalkNetwork, hubs: pd.DataFrame, points: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    snapper = Snapper(net)
    hubset = hubs_from_frame(hubs, snapper)
    engine = engine_for_hubs(snapper, hubset, settings)
    lon = pd.to_numeric(points["lon"]).to_numpy()
    lat = pd.to_numeric(points["lat"]).to_numpy()
    cov = point_coverage(lon, lat, engine=engine, snapper=snapper, hub_ids=hubset.hub_id, settings=settings)
    return pd.concat([points[["point_id"]].reset_index(drop=True), cov], axis=1)


def test_tiles_on_a_lattice_give_the_single_machine_answer_near_every_border() -> None:
    """A 6 km lattice in 1 km tiles: every point within 800 m of a border, far hubs, tied hubs."""
    net = lattice(61)  # 6 x 6 km
    settings = Settings().with_(metric_crs=net.metric_crs)
    rng = np.random.default_rng(7)
    x0, y0 = net.node_x.min(), net.node_y.min()
    # tile borders fall at multiples of 1000 m of the metric CRS
    bx = np.arange(np.ceil(x0 / 1000) * 1000, net.node_x.max(), 1000.0)
    n = 3000
    px = rng.choice(bx, n) + rng.uniform(-800, 800, n)
    py = y0 + rng.uniform(-100, 6100, n)
    px[:500], py[:500] = py[:500] - y0 + x0, rng.choice(bx, 500) - x0 + y0 + rng.uniform(-50, 50, 500)
    lon, lat = _metric_to_lonlat(net, px, py)
    hx = x0 + rng.uniform(-400, 6400, 80)
    hy = y0 + rng.uniform(-400, 6400, 80)
    hx[1], hy[1] = hx[0], hy[0]  # an exact tie: the lower slot (h0) must win everywhere
    hlon, hlat = _metric_to_lonlat(net, hx, hy)
    hubs = pd.DataFrame({"hub_id": [f"h{i}" for i in range(80)], "lon": hlon.astype(str), "lat": hlat.astype(str)})
    points = pd.DataFrame({"point_id": [f"p{i}" for i in range(n)], "lon": lon.astype(str), "lat": lat.astype(str)})
    points.loc[3, ["lon", "lat"]] = None  # no coordinates
    ref = _single_machine(net, hubs, points, settings)
    x, y = lonlat_to_metric(lon, lat, net.metric_crs)
    parts, part = tile_partitions(x, y, tile_m=1000.0)
    got = pd.concat(
        [
            partition_coverage(net, p, points[part == k].reset_index(drop=True), hubs, settings)[0].set_axis(
                np.flatnonzero(part == k)
            )
            for k, p in enumerate(parts)
        ]
    ).sort_index()
    assert len(got) == n and got["point_id"].is_unique
    pd.testing.assert_frame_equal(got[COMPARED].reset_index(drop=True), ref[COMPARED], check_exact=True)
    assert ref["covered"].sum() > 1000 and (~ref["covered"]).sum() > 100  # both answers occur
    assert "h1" not in set(got["hub_id"].dropna())  # ties went to h0 in every tile


def test_an_extract_cut_at_the_cutoff_would_shorten_walks_so_the_tests_above_can_fail() -> None:
    """Control: a hub beyond a short extract snaps onto its edge and walks get shorter there.

    That is why hubs are kept only when their snap is certified (``hubs_for_core``) and why
    the buffer is ``2c``, not ``c``.
    """
    net = lattice(41)
    settings = Settings().with_(metric_crs=net.metric_crs)
    x0, y0 = net.node_x.min(), net.node_y.min()
    core = shapely.box(x0, y0, x0 + 1000, y0 + 1000)
    sub, gid = extract_network(net, nodes_near(net, core, settings.cutoff_m))
    # 10 m beside the first lattice node beyond the short extract, on the core's centre line
    edge = sub.node_x.max()
    hx, hy = np.array([edge + 100.0]), np.array([y0 + 500.0 + 10.0])
    hlon, hlat = _metric_to_lonlat(net, hx, hy)
    hubs = pd.DataFrame({"hub_id": ["far"], "lon": hlon.astype(str), "lat": hlat.astype(str)})
    full_snap, short_snap = Snapper(net), Snapper(sub)
    full = engine_for_hubs(full_snap, hubs_from_frame(hubs, full_snap), settings)
    short = engine_for_hubs(short_snap, hubs_from_frame(hubs, short_snap), settings)
    reached = short.dist_cm >= 0
    assert (short.dist_cm[reached] < full.dist_cm[gid[reached]]).any()  # shorter than the truth
    certified, _ = hubs_for_core(short_snap, hubs, core, settings.cutoff_m)
    assert certified.hub_id.size == 0  # the keep test refuses that hub


# -- the real command on the whole Hangzhou network, 2 Dask workers ------------------------
TILE_KM = 4.0


def hangzhou_inputs(net: WalkNetwork, folder: Path, *, n_points: int = 6000, n_hubs: int = 500) -> tuple[Path, Path]:
    """Hubs and points in central Hangzhou (16 x 12 km, 4 km tiles); half the points within 800 m of a tile border."""
    rng = np.random.default_rng(15)
    tile = TILE_KM * 1000.0
    cx, cy = lonlat_to_metric(np.array([120.15]), np.array([30.27]), net.metric_crs)
    x0, y0 = np.floor(cx[0] / tile) * tile - 2 * tile, np.floor(cy[0] / tile) * tile - tile
    box = (net.node_x > x0) & (net.node_x < x0 + 4 * tile) & (net.node_y > y0) & (net.node_y < y0 + 3 * tile)
    nodes = np.flatnonzero(box)
    half = n_points // 2
    pick = rng.choice(nodes, half)
    px = np.r_[net.node_x[pick] + rng.normal(0, 80, half), np.zeros(n_points - half)]
    py = np.r_[net.node_y[pick] + rng.normal(0, 80, half), np.zeros(n_points - half)]
    m = n_points - half  # near borders: vertical lines, horizontal lines, and a few exactly on a corner
    vert = rng.random(m) < 0.5
    px[half:] = np.where(
        vert, x0 + tile * rng.integers(1, 4, m) + rng.uniform(-800, 800, m), rng.uniform(x0, x0 + 4 * tile, m)
    )
    py[half:] = np.where(
        ~vert, y0 + tile * rng.integers(1, 3, m) + rng.uniform(-800, 800, m), rng.uniform(y0, y0 + 3 * tile, m)
    )
    px[half : half + 3], py[half : half + 3] = x0 + tile, y0 + tile
    plon, plat = _metric_to_lonlat(net, px, py)
    hpick = rng.choice(
        np.flatnonzero(
            (net.node_x > x0 - 3000)
            & (net.node_x < x0 + 4 * tile + 3000)
            & (net.node_y > y0 - 3000)
            & (net.node_y < y0 + 3 * tile + 3000)
        ),
        n_hubs,
        replace=False,
    )
    hx = net.node_x[hpick] + rng.normal(0, 60, n_hubs)
    hy = net.node_y[hpick] + rng.normal(0, 60, n_hubs)
    hx[1], hy[1] = hx[0], hy[0]  # a tie
    hlon, hlat = _metric_to_lonlat(net, hx, hy)
    hubs_csv, points_csv = folder / "hubs.csv", folder / "points.csv"
    pd.DataFrame({"hub_id": [f"H{i:04d}" for i in range(n_hubs)], "lon": hlon, "lat": hlat}).to_csv(
        hubs_csv, index=False
    )
    pts = pd.DataFrame(
        {
            "point_id": [f"P{i:05d}" for i in range(n_points)],
            "lon": plon,
            "lat": plat,
            "town": rng.choice(["西湖", "上城", "拱墅"], n_points),
        }
    )
    pts.loc[7, ["lon", "lat"]] = np.nan
    pts.to_csv(points_csv, index=False)
    return hubs_csv, points_csv


def kill_first_task(task: object, *, marker: str) -> dict[str, object]:
    """The batch task, except that the first call anywhere kills its own worker process."""
    from data.batch import PartitionTask, run_partition

    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        assert isinstance(task, PartitionTask)
        return run_partition(task)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os._exit(1)  # the worker dies mid-run, before writing anything


def _read_csv_out(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"point_id": str, "hub_id": str, "town": str})


def _same_as_single_machine(batch: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert batch["point_id"].is_unique and len(batch) == len(ref)
    got = batch.set_index("point_id").loc[ref["point_id"]].reset_index()
    cols = [c for c in ref.columns]
    assert list(batch.columns) == [*cols, "partition"]
    got = got[cols].assign(hub_id=got["hub_id"].fillna("").astype(str))  # parquet null / CSV empty
    want = ref.assign(hub_id=ref["hub_id"].fillna("").astype(str))
    same = ["hub_id", "covered", "status", "off_network"]
    pd.testing.assert_frame_equal(got[same], want[same])
    w_got = np.rint(got["walk_m"].to_numpy() * 100)
    w_ref = np.rint(want["walk_m"].to_numpy() * 100)
    assert np.array_equal(np.nan_to_num(w_got, nan=-1).astype(np.int64), np.nan_to_num(w_ref, nan=-1).astype(np.int64))
    np.testing.assert_array_equal(got["walk_m"].to_numpy(), want["walk_m"].to_numpy())
    np.testing.assert_array_equal(got["access_m"].to_numpy(), want["access_m"].to_numpy())


@pytest.mark.xihu
def test_hangzhou_batch_on_two_workers_equals_one_machine_survives_a_killed_worker_and_resumes(
    hangzhou_gpkg: Path, tmp_path: Path
) -> None:
    from data.batch import read_batch, run_batch
    from data.network import load_network
    from data.tables import read_table

    net = load_network(hangzhou_gpkg, layer="roads", cache_dir=tmp_path / "netcache")
    assert net.n_nodes > 200_000  # the whole city's network, not a clip
    hubs_csv, points_csv = hangzhou_inputs(net, tmp_path)
    common = ["--network", hangzhou_gpkg, "--layer", "roads", "--hubs", hubs_csv, "--points", points_csv]
    ref_run = run_module("geo", "coverage", *common, "--out", tmp_path / "ref.csv", home=tmp_path)
    assert ref_run.returncode == 0, ref_run.stderr
    ref = _read_csv_out(tmp_path / "ref.csv")
    assert ref["covered"].sum() > 1000 and (~ref["covered"]).sum() > 200

    # 1. the command itself, 2 workers, 4 km tiles
    out = tmp_path / "batch"
    args = [*common, "--tile-km", str(TILE_KM), "--workers", "2", "--out", out]
    first = run_module("geo", "batch", *args, home=tmp_path)
    assert first.returncode == 0, first.stderr
    batch = read_batch(str(out))
    _same_as_single_machine(batch, ref)
    parts = set(batch["partition"])
    assert len(parts) >= 12 and "_no_coords" in parts
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert summary["n_points"].iloc[-1] == len(ref) and summary["n_covered"].iloc[-1] == ref["covered"].sum()
    assert (summary["n_far"] == 0).all()

    # 2. the same command again: nothing recomputed, no file rewritten
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "summary.csv"}
    again = run_module("geo", "batch", *args, home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(0 computed," in again.stdout
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # 3. a worker killed in the middle of the run: its task runs again elsewhere, same answers
    marker = tmp_path / "killed.pid"
    res = run_batch(
        net,
        read_table(hubs_csv),
        read_table(points_csv),
        Settings().with_(metric_crs=net.metric_crs),
        str(tmp_path / "killed"),
        tile_m=TILE_KM * 1000,
        workers=2,
        task_fn=functools.partial(kill_first_task, marker=str(marker)),
    )
    assert marker.is_file() and int(marker.read_text()) != os.getpid()  # a worker did die
    assert len(res.computed) == len(parts) and not res.skipped
    _same_as_single_machine(read_batch(str(tmp_path / "killed")), ref)


@pytest.mark.xihu
def test_xihu_by_town_polygons_equals_one_machine(xihu_dir: Path, xihu_net: WalkNetwork, tmp_path: Path) -> None:
    """Partitions from a boundary file (the 12 approximate town cells) on a running cluster, output by URL."""
    from data.batch import read_batch, run_batch

    net = xihu_net
    settings = Settings().with_(metric_crs=net.metric_crs)
    rng = np.random.default_rng(3)
    p = rng.choice(net.n_nodes, 3000)
    h = rng.choice(net.n_nodes, 120, replace=False)
    deg = 0.002
    points = pd.DataFrame(
        {
            "point_id": [f"p{i}" for i in range(p.size)],
            "lon": (net.node_lon[p] + rng.normal(0, deg, p.size)).astype(str),
            "lat": (net.node_lat[p] + rng.normal(0, deg, p.size)).astype(str),
        }
    )
    hubs = pd.DataFrame(
        {
            "hub_id": [f"h{i}" for i in range(h.size)],
            "lon": (net.node_lon[h] + rng.normal(0, deg / 4, h.size)).astype(str),
            "lat": (net.node_lat[h] + rng.normal(0, deg / 4, h.size)).astype(str),
        }
    )
    ref = _single_machine(net, hubs, points, settings)
    towns = xihu_dir / "towns_approx_voronoi_NOT_OFFICIAL.geojson"
    # a cluster started elsewhere, reached by its address (as tcp://HOST:8786 on a real one)
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        out = (tmp_path / "out").as_uri()  # an fsspec URL, as shared storage would be given
        res = run_batch(net, hubs, points, settings, out, partition=str(towns), scheduler=cluster.scheduler_address)
    got = read_batch(str(tmp_path / "out")).set_index("point_id").loc[points["point_id"]].reset_index()
    assert "蒋村街道" in set(got["partition"]) and OUTSIDE_PARTITION in set(got["partition"])  # the 1.5 km margin
    pd.testing.assert_frame_equal(
        got[COMPARED].assign(hub_id=got["hub_id"].fillna("").astype(object)),  # parquet gives pandas' str dtype
        ref[COMPARED].assign(hub_id=ref["hub_id"].fillna("").astype(object)),
        check_exact=True,
    )
    total = res.summary.set_index("partition").loc["_total"]
    assert total["n_points"] == len(points) and total["n_covered"] == ref["covered"].sum()
