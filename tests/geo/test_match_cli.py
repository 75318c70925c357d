"""``python -m geo match`` as a user runs it: CSV in and out, the real Xihu network, one-line errors."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from geo.graph import WalkNetwork
from geo.matching import matching_problem
from geo.snap import Snapper
from tests.conftest import run_module
from tests.geo.test_cli import TINY_OSM

FRONT = ["need_id", "item_id", "need_type", "urgency", "provider_id", "walk_m", "matched", "reason"]
CATALOGUE = (
    "item_id,name,need_type,delivery\nMEAL,助餐送餐,生存型,到站\nCALL,心理热线,care,远程\nJOB,就业援助,发展型,onsite\n"
)


def match_args(network: Path, folder: Path, out: Path, *extra: str | Path) -> list[str | Path]:
    return [
        "match", "--network", network, "--needs", folder / "needs.csv", "--offers", folder / "offers.csv",
        "--catalogue", folder / "cat.csv", "--out", out, "--no-cache", *extra,
    ]  # fmt: skip


def read_out(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def write_tiny_case(folder: Path) -> Path:
    """A 400 m footway along lat 30.25 (nodes every ~96 m from lon 120.100); returns the network."""
    net = folder / "tiny.osm"
    net.write_text(TINY_OSM.replace("WAYTYPE", "footway"), encoding="utf-8")
    (folder / "cat.csv").write_text(CATALOGUE, encoding="utf-8")
    (folder / "offers.csv").write_text(
        "provider_id,item_id,capacity_per_month,lon,lat,delivery,reach_m\n"
        "P1,MEAL,1,120.100,30.25,,\nP2,CALL,5,120.104,30.25,,\n",
        encoding="utf-8",
    )
    (folder / "needs.csv").write_text(
        "need_id,item_id,urgency,lon,lat,备注\n"
        "N1,MEAL,3,120.102,30.25,独居\nN2,MEAL,1,120.103,30.25,\nN3,CALL,2,,,电话\nN4,JOB,3,120.101,30.25,\n",
        encoding="utf-8",
    )
    return net


def test_tiny_network_end_to_end(tmp_path: Path) -> None:
    net = write_tiny_case(tmp_path)
    out = tmp_path / "匹配结果.csv"
    proc = run_module("geo", *match_args(net, tmp_path, out), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    got = read_out(out)
    assert list(got.columns[: len(FRONT)]) == FRONT
    assert "备注" in got.columns and got["备注"].tolist() == ["独居", "", "电话", ""]
    rows = got.set_index("need_id")
    assert rows.loc["N1", "provider_id"] == "P1" and rows.loc["N1", "matched"] == "True"
    assert 185 < float(rows.loc["N1", "walk_m"]) < 200  # 2 x ~96 m
    assert rows.loc["N1", "need_type"] == "survival"
    assert (rows.loc["N2", "reason"], rows.loc["N2", "nearest_provider_id"]) == ("capacity", "P1")
    assert rows.loc["N3", "provider_id"] == "P2" and rows.loc["N3", "walk_m"] == ""
    assert rows.loc["N4", "reason"] == "no_offer"
    assert "matched 2 of 4 (50.0%)" in proc.stdout
    # more minutes do not change a capacity limit; fewer put N1 out of reach
    proc = run_module("geo", *match_args(net, tmp_path, out, "--minutes", "2"), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert read_out(out).set_index("need_id").loc["N1", "reason"] == "out_of_reach"  # 150 m in 2 min


ERROR_CASES: dict[str, tuple[str, str, list[str]]] = {
    "urgency": ("needs.csv", "need_id,item_id,urgency,lon,lat\nN1,MEAL,3,120.1,30.25\nN2,MEAL,5,120.1,30.25\n",
                ["needs file needs.csv", "line 3", "urgency '5' is not a whole number in 1..3"]),
    "unknown-item": ("needs.csv", "need_id,item_id,urgency,lon,lat\nN1,BATH,3,120.1,30.25\n",
                     ["needs file needs.csv", "line 2", "item_id 'BATH' is not in catalogue file cat.csv"]),
    "need-type": ("cat.csv", "item_id,need_type,delivery\nMEAL,紧急型,到站\n",
                  ["catalogue file cat.csv", "line 2", "need_type '紧急型'", "生存型/survival"]),
    "delivery": ("offers.csv", "provider_id,item_id,capacity_per_month,lon,lat,delivery\nP1,MEAL,2,120.1,30.25,邮寄\n",
                 ["offers file offers.csv", "line 2", "delivery '邮寄'", "上门/home"]),
    "capacity": ("offers.csv", "provider_id,item_id,capacity_per_month,lon,lat\nP1,MEAL,-2,120.1,30.25\n",
                 ["offers file offers.csv", "line 2", "capacity_per_month '-2'"]),
    "twice": ("offers.csv",
              "provider_id,item_id,capacity_per_month,lon,lat\nP1,MEAL,2,120.1,30.25\nP1,MEAL,3,120.1,30.25\n",
              ["offers file offers.csv", "line 3", "P1 / MEAL is offered twice"]),
    "no-location": ("needs.csv", "need_id,item_id,urgency\nN1,MEAL,3\n",
                    ["needs file needs.csv", "give household_id with --households, or lon and lat"]),
    "missing-column": ("offers.csv", "provider_id,item_id,lon,lat\nP1,MEAL,120.1,30.25\n",
                       ["offers file offers.csv", "missing column(s) capacity_per_month"]),
    "household": ("needs.csv", "need_id,household_id,item_id,urgency\nN1,H1,MEAL,3\nN2,H9,MEAL,3\n",
                  ["needs file needs.csv", "line 3", "household_id 'H9' is not in households file hh.csv"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    jobs = {}
    for case, (name, text, _) in ERROR_CASES.items():
        tmp = tmp_path_factory.mktemp(case)
        net = write_tiny_case(tmp)
        (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "hh.csv").write_text("household_id,lon,lat\nH1,120.101,30.25\n", encoding="utf-8")
        extra = ["--households", str(tmp / "hh.csv")] if case == "household" else []
        jobs[case] = (match_args(net, tmp, tmp / "out.csv", *extra), tmp)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {case: pool.submit(run_module, "geo", *args, home=tmp) for case, (args, tmp) in jobs.items()}
        return {case: (futures[case].result(), jobs[case][1] / "out.csv") for case in jobs}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_files_give_one_clear_line(
    error_runs: dict[str, tuple[subprocess.CompletedProcess[str], Path]], case: str
) -> None:
    proc, out = error_runs[case]
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for part in ERROR_CASES[case][2]:
        assert part in lines[0]
    assert not out.exists()


@pytest.mark.xihu
def test_xihu_match_equals_the_library(xihu_dir: Path, xihu_net: WalkNetwork, tmp_path: Path) -> None:
    """Households on the real network, providers among them: the CLI writes what the library computes."""
    rng = np.random.default_rng(12)
    nodes = rng.choice(xihu_net.n_nodes, 400, replace=False)
    hh = pd.DataFrame(
        {
            "household_id": [f"户{k:03d}" for k in range(300)],
            "lon": xihu_net.node_lon[nodes[:300]] + rng.uniform(-3e-4, 3e-4, 300),
            "lat": xihu_net.node_lat[nodes[:300]] + rng.uniform(-3e-4, 3e-4, 300),
        }
    )
    hh.to_csv(tmp_path / "hh.csv", index=False)
    items = np.array(["MEAL", "CALL", "JOB"])
    needs = pd.DataFrame(
        {
            "need_id": [f"N{k:04d}" for k in range(700)],
            "household_id": hh["household_id"].to_numpy()[rng.integers(0, 300, 700)],
            "item_id": items[rng.integers(0, 3, 700)],
            "urgency": rng.integers(1, 4, 700),
        }
    )
    needs.to_csv(tmp_path / "needs.csv", index=False)
    pn = nodes[300:]
    offers = pd.DataFrame(
        {
            "provider_id": [f"P{k:03d}" for k in range(100)],
            "item_id": items[np.arange(100) % 3],
            "capacity_per_month": rng.integers(0, 6, 100),
            "lon": xihu_net.node_lon[pn],
            "lat": xihu_net.node_lat[pn],
            "delivery": np.where(np.arange(100) % 10 == 0, "上门", ""),
            "reach_m": np.where(np.arange(100) % 10 == 0, "1500", ""),
        }
    )
    offers.to_csv(tmp_path / "offers.csv", index=False)
    (tmp_path / "cat.csv").write_text(CATALOGUE, encoding="utf-8")
    out = tmp_path / "out.csv"
    args = match_args(xihu_dir / "xihu.osm.pbf", tmp_path, out, "--households", tmp_path / "hh.csv")
    proc = run_module("geo", *args, home=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = read_out(out)
    assert len(got) == 700 and list(got.columns[: len(FRONT)]) == FRONT
    settings = Settings().with_(metric_crs=xihu_net.metric_crs)
    cat = pd.DataFrame(
        {"item_id": ["MEAL", "CALL", "JOB"], "need_type": ["survival", "care", "development"],
         "delivery": ["onsite", "remote", "onsite"]}
    )  # fmt: skip
    located = needs.join(hh.set_index("household_id"), on="household_id")
    lib_offers = offers.assign(
        delivery=offers["delivery"].map({"上门": "home", "": None}), reach_m=pd.to_numeric(offers["reach_m"])
    )
    ref = matching_problem(located, lib_offers, cat, snapper=Snapper(xihu_net), settings=settings).solve().needs
    assert got["provider_id"].tolist() == ref["provider_id"].fillna("").tolist()
    assert got["reason"].tolist() == ref["reason"].fillna("").tolist()
    walk = pd.to_numeric(got["walk_m"].replace("", np.nan))
    np.testing.assert_allclose(walk.to_numpy(), ref["walk_m"].round(2).to_numpy())
    assert (got["matched"] == "True").sum() > 50
    assert set(got["reason"]) >= {"", "capacity", "out_of_reach"}
    # every matched onsite need is within the 10-minute walk
    onsite = got["delivery"] == "onsite"
    assert (walk[onsite] <= Settings().cutoff_m).all()
