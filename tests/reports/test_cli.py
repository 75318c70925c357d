"""``python -m reports build`` run as a user runs it (on the small fallback bundle): files, one-line errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pyogrio
import pytest

from reports.build import current_month
from tests.conftest import run_module


def run_reports(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run_module("reports", *args, home=home, timeout=300)


def test_build_district_and_towns_in_every_format(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("编号,名称,经度,纬度\nS1,新站点一,24.9414,60.1680\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    res = run_reports(
        "build",
        "--bundle",
        "fallback",
        "--level",
        "district,town",
        "--format",
        "all",
        "--scenario",
        sites,
        "--scenario-name",
        "方案A",
        "--out",
        out,
        home=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    files = [Path(x) for x in lines[:-1]]
    # 1 district + 4 towns, each: xlsx, pdf, gpkg and five GeoJSON layers
    assert len(files) == 5 * 8
    assert all(p.is_file() and p.stat().st_size > 0 for p in files)
    assert lines[-1].startswith("40 files in") and "750 m" in lines[-1]
    m = current_month()  # an empty database: no monthly lists, the month in China time
    assert (out / "district" / f"district_FB_{m}.pdf").is_file()
    assert sorted(p.name for p in (out / "towns").glob("*.xlsx")) == [f"town_FB0{k}_{m}.xlsx" for k in range(1, 5)]
    wb = openpyxl.load_workbook(out / "district" / f"district_FB_{m}.xlsx")
    sites_sheet = [[c.value for c in r] for r in wb["推荐站点"].iter_rows()]
    assert sites_sheet[1][1] == "S1" and sites_sheet[1][2] == "新站点一"
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
    assert notes["推荐站点方案"] == "方案A" and "非西湖" in notes["数据集"]
    layers = pyogrio.list_layers(out / "district" / f"district_FB_{m}.gpkg")[:, 0].tolist()
    assert layers == ["hexes", "gaps", "hubs", "service_areas", "recommended_sites"]


def test_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    res = run_reports("build", "--level", "province", "--out", tmp_path / "o", home=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("error: unknown level")
    res = run_reports(
        "build", "--bundle", "fallback", "--font", tmp_path / "none.ttc", "--out", tmp_path / "o", home=tmp_path
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "none.ttc" in res.stderr
    res = run_reports("build", "--format", "docx", "--out", tmp_path / "o", home=tmp_path)
    assert res.returncode == 2 and "unknown format" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bad", ["--minutes=0", "--h3-res=12"])
def test_bad_settings_are_refused(tmp_path: Path, bad: str) -> None:
    res = run_reports("build", bad, "--out", tmp_path / "o", home=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("error: ")
