"""``python -m geo site`` run as a user runs it: real Xihu PBF, small CSVs, one-line errors."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from geo.analysis import coverage_run
from geo.candidates import candidates_from_frame
from geo.graph import WalkNetwork
from geo.siting import SitingResult, problem_from_run, recommend_sites
from geo.snap import Snapper
from tests.conftest import run_module

OUT_COLUMNS = ["rank", "site_id", "newly_covered", "newly_covered_n", "lon", "lat", "access_m"]

pytestmark = pytest.mark.xihu


def run_geo(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run_module("geo", *args, home=home)


@dataclass
class Files:
    network: Path
    hubs: Path
    points: Path
    cands: Path
    home: Path
    tmp: Path

    def args(self, out: Path, *extra: str | Path, cands: Path | None = None) -> list[str | Path]:
        return [
            "site", "--network", self.network, "--hubs", self.hubs, "--points", self.points,
            "--candidates", cands or self.cands, "--out", out, *extra,
        ]  # fmt: skip


@pytest.fixture(scope="module")
def files(xihu_dir: Path, xihu_net: WalkNetwork, tmp_path_factory: pytest.TempPathFactory) -> Files:
    tmp = tmp_path_factory.mktemp("site_cli")
    net = xihu_net
    rng = np.random.default_rng(42)
    centre = int(np.argmin(np.hypot(net.node_lon - 120.13, net.node_lat - 30.28)))
    near = np.flatnonzero(np.hypot(net.node_x - net.node_x[centre], net.node_y - net.node_y[centre]) < 2500)
    h = rng.choice(near, 3, replace=False)
    pd.DataFrame({"hub_id": ["H1", "H2", "H3"], "lon": net.node_lon[h], "lat": net.node_lat[h]}).to_csv(
        tmp / "hubs.csv", index=False
    )
    p = rng.choice(near, 200)
    pd.DataFrame(
        {
            "point_id": [f"{k:04d}" for k in range(200)],
            "lon": np.round(net.node_lon[p] + rng.normal(0, 2e-4, 200), 6),
            "lat": np.round(net.node_lat[p], 6),
            "w": rng.choice([1, 2, 6], 200),
        }
    ).to_csv(tmp / "points.csv", index=False)
    s = rng.choice(near, 14, replace=False)
    cands = pd.DataFrame(
        {
            "site_id": [f"S{k:02d}" for k in range(14)] + ["far"],
            "lon": np.r_[net.node_lon[s], 121.5],  # "far" is at sea
            "lat": np.r_[net.node_lat[s], 30.0],
        }
    )
    cands.to_csv(tmp / "cands.csv", index=False)
    home = tmp / "home"
    home.mkdir()
    return Files(xihu_dir / "xihu.osm.pbf", tmp / "hubs.csv", tmp / "points.csv", tmp / "cands.csv", home, tmp)


def library(files: Files, net: WalkNetwork, p: int, weight_column: str | None) -> SitingResult:
    """What the command must answer, from the library called in-process."""
    settings = Settings()
    snapper = Snapper(net)
    points = pd.read_csv(files.points, dtype=str)
    run = coverage_run(snapper, pd.read_csv(files.hubs, dtype=str), points, settings)
    sites = candidates_from_frame(pd.read_csv(files.cands, dtype=str), snapper)
    weights = np.ones(len(points)) if weight_column is None else None
    prob = problem_from_run(run, sites, weights=weights, weight_column=weight_column)
    return recommend_sites(prob, p)


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", line)]


def test_site_counts(files: Files, xihu_net: WalkNetwork) -> None:
    out = files.tmp / "out" / "sites.csv"
    proc = run_geo(*files.args(out, "--add", "3"), home=files.home)
    assert proc.returncode == 0, proc.stderr
    assert "Running HiGHS" not in proc.stdout and "Copyright" not in proc.stdout  # no solver banner
    assert "candidate far is" in proc.stderr and "left out" in proc.stderr
    got = pd.read_csv(out, encoding="utf-8-sig", dtype={"site_id": str})
    assert list(got.columns) == OUT_COLUMNS
    want = library(files, xihu_net, 3, None)
    assert got["site_id"].tolist() == want.sites["site_id"].tolist()
    assert got["rank"].tolist() == [1, 2, 3]
    assert got["newly_covered"].tolist() == want.sites["newly_covered"].tolist()
    assert (got["newly_covered"] == got["newly_covered_n"]).all()  # unweighted: one point counts 1
    lines = proc.stdout.splitlines()
    before = next(line for line in lines if line.startswith("covered before:"))
    after = next(line for line in lines if line.startswith("covered after"))
    assert numbers(before)[:2] == [want.n_covered_before, 200]
    assert numbers(after)[1:3] == [want.n_covered_after, 200]
    assert want.n_covered_after - want.n_covered_before == got["newly_covered_n"].sum() > 0
    assert "proven optimal: yes" in proc.stdout
    assert "15 candidates (14 usable)" in proc.stdout and "10 min at 4.5 km/h (750 m)" in proc.stdout


def test_site_weight_column(files: Files, xihu_net: WalkNetwork) -> None:
    out = files.tmp / "weighted.csv"
    proc = run_geo(*files.args(out, "--add", "2", "--weight-column", "w", "--minutes", "10"), home=files.home)
    assert proc.returncode == 0, proc.stderr
    got = pd.read_csv(out, encoding="utf-8-sig", dtype={"site_id": str})
    want = library(files, xihu_net, 2, "w")
    assert got["site_id"].tolist() == want.sites["site_id"].tolist()
    assert got["newly_covered"].to_numpy() == pytest.approx(want.sites["newly_covered"].to_numpy())
    assert got["newly_covered"].sum() == pytest.approx(want.weight_after - want.weight_before)
    assert (got["newly_covered"] >= got["newly_covered_n"]).all()  # weights are 1, 2 or 6
    after = next(line for line in proc.stdout.splitlines() if line.startswith("covered after"))
    assert numbers(after)[1] == pytest.approx(want.weight_after)
    assert "weighted demand" in after


@pytest.mark.parametrize(
    ("edit", "extra", "message"),
    [
        ("no_lat", ("--add", "2"), "candidates file cands_bad.csv: missing column(s) lat"),
        ("dup", ("--add", "2"), "candidates file cands_bad.csv: duplicate site_id 'S01'"),
        (None, ("--add", "0"), "--add must be at least 1"),
        (None, ("--add", "2", "--weight-column", "nope"), "no weight column 'nope'"),
        (None, ("--add", "20"), "--add 20 asks for more sites than the 14 usable candidates"),
    ],
)
def test_bad_input_exits_2_with_one_line(files: Files, edit: str | None, extra: tuple[str, ...], message: str) -> None:
    cands = None
    if edit is not None:
        frame = pd.read_csv(files.cands, dtype=str)
        frame = frame.drop(columns="lat") if edit == "no_lat" else frame.assign(site_id=["S01"] * len(frame))
        cands = files.tmp / "cands_bad.csv"
        frame.to_csv(cands, index=False)
    out = files.tmp / "never.csv"
    proc = run_geo(*files.args(out, *extra, cands=cands), home=files.home)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_bad_weight_value_names_the_line(files: Files) -> None:
    frame = pd.read_csv(files.points, dtype=str)
    frame.loc[4, "w"] = "heavy"
    points = files.tmp / "points_bad.csv"
    frame.to_csv(points, index=False)
    out = files.tmp / "never2.csv"
    args = files.args(out, "--add", "2", "--weight-column", "w")
    args[args.index(files.points)] = points
    proc = run_geo(*args, home=files.home)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: points file points_bad.csv: line 6: weight 'heavy' in w is not a number >= 0"
    ]
