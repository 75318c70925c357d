"""``python -m geo batch --reports``: the reports of every partition (reports/batch.py).

The real command on the Xihu network, 3 km tiles, 2 Dask workers: every partition with a
place gets its XLSX, PDF, GeoPackage and GeoJSON files; the XLSX figures equal a recount
from the partition's coverage Parquet file (printed, or protected as ``<10`` / ``≥10``
consistently with the true count); no count of 1-9 is printed; a second run recomputes
nothing; a partition whose marker is gone is rebuilt alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from geo.graph import WalkNetwork
from geo.hexes import cells_to_str, latlng_to_cells
from tests.conftest import run_module

CATEGORY_HEADERS = {"dibao": "低保(户)", "dibian": "低边(户)", "tekun": "特困供养(户)", "unknown": "类别未填(户)"}


def _inputs(net: WalkNetwork, folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(11)
    cx, cy = np.median(net.node_x), np.median(net.node_y)
    box = np.flatnonzero((np.abs(net.node_x - cx) < 3000) & (np.abs(net.node_y - cy) < 2000))
    far = np.flatnonzero(net.node_x > np.quantile(net.node_x, 0.985))
    far = far[np.abs(net.node_y[far] - net.node_y[far[0]]) < 300][:4]  # 4 points: one small partition
    p = np.r_[rng.choice(box, 1200), far]
    h = rng.choice(box, 30, replace=False)
    points = pd.DataFrame(
        {
            "point_id": [f"p{i}" for i in range(p.size)],
            "lon": net.node_lon[p] + rng.normal(0, 0.001, p.size),
            "lat": net.node_lat[p] + rng.normal(0, 0.001, p.size),
            "category": rng.choice(["dibao", "dibian", "tekun", ""], p.size),  # "" = not given
        }
    )
    points.loc[9, ["lon", "lat"]] = np.nan  # the _no_coords partition: no place, no report
    hubs = pd.DataFrame({"hub_id": [f"h{i}" for i in range(h.size)], "lon": net.node_lon[h], "lat": net.node_lat[h]})
    hubs["name"] = [f"服务点{i}" for i in range(h.size)]
    hubs_csv, points_csv = folder / "hubs.csv", folder / "points.csv"
    hubs.to_csv(hubs_csv, index=False)
    points.to_csv(points_csv, index=False)
    return hubs_csv, points_csv


def _consistent(printed: object, true: int) -> bool:
    """A printed count equals the true one, or hides it as the disclosure rule says."""
    if printed == "<10":
        return 0 <= true < 10
    if printed == "≥10":
        return true >= 10
    return isinstance(printed, int) and printed == true


def _sheet(path: Path, name: str) -> list[dict[str, object]]:
    wb = load_workbook(path, read_only=True)
    try:
        rows = list(wb[name].iter_rows(values_only=True))
    finally:
        wb.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.mark.xihu
def test_batch_reports_per_partition_equal_a_recount_are_protected_and_resume(
    xihu_dir: Path, xihu_net: WalkNetwork, tmp_path: Path
) -> None:
    from data.batch import file_stem

    hubs_csv, points_csv = _inputs(xihu_net, tmp_path)
    out = tmp_path / "out"
    args = [
        "--network", xihu_dir / "xihu.osm.pbf", "--hubs", hubs_csv, "--points", points_csv,
        "--tile-km", "3", "--workers", "2", "--reports", "--month", "2026-11", "--out", out,
    ]  # fmt: skip
    first = run_module("geo", "batch", *args, home=tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", dtype={"partition": str})
    pids = [p for p in summary["partition"] if p not in ("_total", "_no_coords")]
    assert "_no_coords" in set(summary["partition"]) and len(pids) >= 4
    assert f"reports: {len(pids)} partitions built" in first.stdout

    small = []
    n_hubs = 0
    for pid in pids:
        stem = file_stem(pid)
        folder = out / "reports" / stem / "district"
        xlsx, pdf, gpkg = (folder / f"district_{pid}_2026-11.{ext}" for ext in ("xlsx", "pdf", "gpkg"))
        assert xlsx.is_file() and pdf.read_bytes()[:5] == b"%PDF-" and gpkg.is_file()
        assert (folder / f"district_{pid}_2026-11_geojson" / "hexes.geojson").is_file()
        notes = {r["项目"]: r["内容"] for r in _sheet(xlsx, "说明")}
        assert notes["报告月份"] == "2026-11" and "geo batch" in str(notes["数据集"])
        rows = pd.read_parquet(out / "coverage" / f"{stem}.parquet")
        n, inside = len(rows), int(rows["covered"].sum())
        d = _sheet(xlsx, "区级汇总")[0]
        assert d["区域编码"] == pid
        assert _consistent(d["救助对象户数"], n), (pid, d["救助对象户数"], n)
        assert _consistent(d["10分钟圈内户数"], inside)
        assert _consistent(d["圈外户数"], n - inside)
        cats = rows["category"].fillna("").replace("", "unknown")
        for code, header in CATEGORY_HEADERS.items():
            assert _consistent(d[header], int((cats == code).sum())), (pid, header)
        if n < 10:
            small.append(pid)
            assert d["救助对象户数"] == "<10"
        else:
            assert d["救助对象户数"] == n  # a partition's total always prints when >= 10
        # hexes: every printed hex count equals the recount of the partition's points in it
        hexes = gpd.read_file(gpkg, layer="hexes")
        lat, lon = rows["lat"].astype(float).to_numpy(), rows["lon"].astype(float).to_numpy()
        cell = cells_to_str(latlng_to_cells(lat, lon, 9))
        per = pd.Series(cell).value_counts()
        # an area's hexes are listed only when its household count prints (their number bounds it)
        assert set(hexes["H3编号"]) == (set(per.index) if isinstance(d["救助对象户数"], int) else set())
        for h, v, note in zip(hexes["H3编号"], hexes["户数"], hexes["隐藏说明"], strict=True):
            shown = v if not pd.isna(v) else next(x for x in str(note).split("；") if x.startswith("户数"))[2:]
            assert _consistent(int(shown) if isinstance(shown, float) else shown, int(per[h])), (pid, h, v, note)
        # no count of 1-9 is printed anywhere in the level sheets, and no internal code
        for name in ("区级汇总", "镇街", "村社服务点"):
            for r in _sheet(xlsx, name):
                assert not any(isinstance(v, str) and v.startswith("__") for v in r.values()), r
                for k, v in r.items():
                    if isinstance(k, str) and ("户" in k or "圈内" in k or "圈外" in k) and "%" not in k:
                        assert not (isinstance(v, int) and 1 <= v <= 9), (pid, name, k, v)
        # hubs: served counts only this partition's points
        hub_layer = gpd.read_file(gpkg, layer="hubs")
        served = rows.loc[rows["covered"], "hub_id"].value_counts()
        for h, v, note in zip(hub_layer["编号"], hub_layer["服务户数"], hub_layer["隐藏说明"], strict=True):
            shown = v if not pd.isna(v) else str(note).removeprefix("服务户数")
            assert _consistent(int(shown) if isinstance(shown, float) else shown, int(served.get(h, 0))), (h, note)
        assert set(hub_layer["层级"]) <= {"服务点（层级未填）"}  # the hubs file gives no tier
        n_hubs += len(hub_layer)
    assert small, "the test needs a partition with fewer than 10 points"
    assert n_hubs >= 30  # every hub is in some core; border hubs are listed by their neighbours too
    assert not (out / "reports" / file_stem("_no_coords")).exists()

    # a second run recomputes nothing and rewrites no file
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "summary.csv"}
    again = run_module("geo", "batch", *args, home=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    assert (
        "(0 computed," in again.stdout
        and f"reports: 0 partitions built (0 files), {len(pids)} already done" in again.stdout
    )
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # a report whose marker is gone (a run stopped before it) is built again, alone
    victim = file_stem(pids[0])
    marker = out / "_done_reports" / f"{victim}.json"
    files = json.loads(marker.read_text(encoding="utf-8"))["stats"]["files"]
    assert len(files) >= 8
    marker.unlink()
    third = run_module("geo", "batch", *args, home=tmp_path, timeout=600)
    assert third.returncode == 0, third.stderr
    assert f"reports: 1 partitions built ({len(files)} files), {len(pids) - 1} already done" in third.stdout
    assert marker.is_file()


def test_batch_reports_refuse_an_unknown_format_before_any_work(tmp_path: Path) -> None:
    res = run_module(
        "geo", "batch", "--network", tmp_path / "absent.osm.pbf", "--hubs", tmp_path / "h.csv", "--points",
        tmp_path / "p.csv", "--reports", "--report-formats", "xlsx,docx", "--out", tmp_path / "out", home=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2
    assert "unknown report format(s): docx (use xlsx, pdf, gpkg, geojson)" in res.stderr
    assert not (tmp_path / "out").exists()
