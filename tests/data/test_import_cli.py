"""``python -m data import`` in a subprocess: output files, BOM, summary, exit code 2 with one stderr line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.crs import wgs84_to_gcj02
from data.importer import ANNOTATION_COLUMNS, REASONS
from data.schemas import TABLE_COLUMNS
from geo.graph import WalkNetwork
from tests.data.test_importer import BEN_HEADERS, ben

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {"read", "accepted", "rejected", "reasons", "warnings", "crs_detected", "crs_source", "mapping"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME for the subprocesses: the network cache is shared by the module, nothing lands in the real home."""
    return tmp_path_factory.mktemp("home")


def cli(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XIHU_ID_HASH_KEY": "cli-test-key-0123456789",
    }
    return subprocess.run(
        [sys.executable, "-m", "data", "import", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _beneficiaries_csv(path: Path) -> list[dict[str, str]]:
    rows = [ben(1), ben(2, 身份证号="3.30106E+17"), ben(3, 救助类别=""), ben(4, 经度="30.15", 纬度="120.05")]
    pd.DataFrame(rows).to_csv(path, index=False, encoding="gb18030")
    return rows


def test_import_writes_three_files(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "救助对象.csv"
    rows = _beneficiaries_csv(src)
    out = tmp_path / "out"
    proc = cli(home, "--kind", "beneficiaries", "--input", src, "--network", "none", "--area", "none", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1 and "接受 2 行" in proc.stdout and "拒绝 2 行" in proc.stdout

    raw_bytes = (out / "accepted.csv").read_bytes()
    assert raw_bytes.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with BOM
    acc = pd.read_csv(out / "accepted.csv", encoding="utf-8-sig", dtype=str)
    assert tuple(acc.columns) == TABLE_COLUMNS["beneficiaries"]
    assert acc["beneficiary_id"].tolist() == ["B001", "B004"]
    assert acc["lon"].astype(float).tolist()[1] == 120.05  # swapped, fixed
    assert rows[0]["身份证号"] not in raw_bytes.decode("utf-8-sig") and "张三明" not in raw_bytes.decode("utf-8-sig")

    assert (out / "rejected.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rej = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig", dtype=str)
    assert list(rej.columns) == [*BEN_HEADERS, *ANNOTATION_COLUMNS]
    assert rej["reason_code"].tolist() == ["id_excel_mangled", "missing_category"]
    assert rej["source_row"].tolist() == ["3", "4"]
    assert rej["姓名"].tolist() == ["张三明", "张三明"] and rej["身份证号"].iloc[0] == "3.30106E+17"

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    assert (summary["read"], summary["accepted"], summary["rejected"]) == (4, 2, 2)
    assert summary["reasons"] == {"id_excel_mangled": 1, "missing_category": 1}
    assert summary["warnings"] == {"coords_swapped_fixed": 1}
    assert summary["crs_detected"] == "wgs84" and summary["crs_source"] == "fallback"
    assert set(summary["reasons"]) <= set(REASONS)
    assert (out / "warnings.csv").is_file()


def test_rejected_file_reimports_after_fix(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "b.csv"
    _beneficiaries_csv(src)
    cli(
        home, "--kind", "beneficiaries", "--input", src, "--network", "none", "--area", "none", "--out", tmp_path / "o1"
    )
    rej = pd.read_csv(tmp_path / "o1" / "rejected.csv", encoding="utf-8-sig", dtype=str)
    rej.loc[0, "身份证号"] = ben(2)["身份证号"]
    rej.loc[1, "救助类别"] = "低边"
    fixed = tmp_path / "rejected_fixed.csv"
    rej.to_csv(fixed, index=False, encoding="utf-8-sig")  # reason columns left in, as a user would
    proc = cli(
        home,
        "--kind",
        "beneficiaries",
        "--input",
        fixed,
        "--network",
        "none",
        "--area",
        "none",
        "--out",
        tmp_path / "o2",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["read"], summary["accepted"], summary["rejected"]) == (2, 2, 0)
    assert summary["unmapped"] == ["备注"]


def test_user_mapping_option(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "h.csv"
    pd.DataFrame({"站点": ["H1"], "叫什么": ["点一"], "层级": ["村社"], "经度": ["120.13"], "纬度": ["30.26"]}).to_csv(
        src, index=False
    )
    args = ["--kind", "hubs", "--input", src, "--network", "none", "--out", tmp_path / "o"]
    proc = cli(home, *args)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "缺少必需的列" in proc.stderr
    proc = cli(home, *args, "--map", "站点=hub_id", "--map", "叫什么=name")
    assert proc.returncode == 0, proc.stderr
    acc = pd.read_csv(tmp_path / "o" / "accepted.csv", encoding="utf-8-sig", dtype=str)
    assert acc[["hub_id", "name", "tier"]].values.tolist() == [["H1", "点一", "village"]]


@pytest.mark.xihu
def test_defaults_use_the_bundle_network_area_and_communities(
    tmp_path: Path, home: Path, xihu_net: WalkNetwork
) -> None:
    rng = np.random.default_rng(8)
    idx = rng.choice(xihu_net.n_nodes, 60, replace=False)
    lon, lat = wgs84_to_gcj02(xihu_net.node_lon[idx], xihu_net.node_lat[idx])
    rows = [{"编号": f"H{i}", "名称": f"点{i}", "层级": "村社", "经度": f"{x:.9f}", "纬度": f"{y:.9f}"} for i, (x, y) in
            enumerate(zip(lon, lat, strict=True))]  # fmt: skip
    rows.append({"编号": "H99", "名称": "远处", "层级": "村社", "经度": "120.40", "纬度": "30.30"})
    src = tmp_path / "hubs.xlsx"
    pd.DataFrame(rows).to_excel(src, index=False)
    proc = cli(home, "--kind", "hubs", "--input", src, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["crs_detected"] == "gcj02" and summary["crs_source"] == "auto"
    assert summary["network"] == "xihu.osm.pbf" and summary["area"] == "district_wgs84.geojson"
    assert summary["read"] == 61 and summary["reasons"].get("outside_area", 0) >= 1
    rej = pd.read_csv(tmp_path / "o" / "rejected.csv", encoding="utf-8-sig", dtype=str)
    assert "H99" in rej["编号"].tolist() and "西湖区" in rej.loc[rej["编号"] == "H99", "reason"].iloc[0]


@pytest.mark.parametrize("case", ["missing", "empty", "header_only", "not_a_table", "bad_crs"])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, home: Path, case: str) -> None:
    src = tmp_path / "in.csv"
    extra: list[str] = []
    if case == "empty":
        src.write_bytes(b"")
    elif case == "header_only":
        src.write_text("编号,救助类别,经度,纬度\n", encoding="utf-8")
    elif case == "not_a_table":
        src = tmp_path / "in.xlsx"
        src.write_bytes(b"\x00\x01 not a workbook")
    elif case == "bad_crs":
        pd.DataFrame([ben(1)]).to_csv(src, index=False)
        extra = ["--crs", "beijing54"]
    proc = cli(home, "--kind", "beneficiaries", "--input", src, "--network", "none", "--out", tmp_path / "o", *extra)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("错误：")
    assert not (tmp_path / "o" / "accepted.csv").exists()
