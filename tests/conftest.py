"""Shared fixtures: a hand-checkable lattice built in code, and the real Xihu network."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.settings import Settings
from geo.graph import WalkNetwork, network_from_edges

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
XIHU = SHARED / "xihu"
HANGZHOU = SHARED / "hangzhou"

# a 100 m lattice anchored in Xihu: 0.001 deg of latitude is ~110.9 m, of longitude ~96.2 m
LAT0, LON0 = 30.25, 120.10
DLAT = 100.0 / 110_900.0
DLON = 100.0 / 96_200.0


def lattice(n: int = 20, spacing_m: float = 100.0) -> WalkNetwork:
    """An ``n`` x ``n`` grid whose every edge is exactly ``spacing_m`` long.

    Node ``i * n + j`` is row ``i``, column ``j``; the network distance between two nodes
    is ``spacing_m * (|di| + |dj|)``, known by arithmetic.
    """
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    idx = ii * n + jj
    lon = LON0 + jj.ravel() * DLON * spacing_m / 100.0
    lat = LAT0 + ii.ravel() * DLAT * spacing_m / 100.0
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    return network_from_edges(lon, lat, u, v, np.full(u.shape[0], spacing_m), metric_crs="EPSG:32651")


@pytest.fixture(scope="session")
def lattice_net() -> WalkNetwork:
    return lattice()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available at {path} (../shared/data is absent)")
    return path


@pytest.fixture(scope="session")
def xihu_dir() -> Path:
    return _need(XIHU)


@pytest.fixture(scope="session")
def hangzhou_gpkg() -> Path:
    return _need(HANGZHOU / "hangzhou_osm_2019.gpkg")


@pytest.fixture(scope="session")
def xihu_net(xihu_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> WalkNetwork:
    from data.network import load_network

    # no metric_crs: the zone of the network's centre, UTM 51N (asserted in tests/data/test_network.py)
    return load_network(xihu_dir / "xihu.osm.pbf", cache_dir=tmp_path_factory.mktemp("netcache"))


@dataclass
class Demo:
    """The Xihu demo bundle, a snapper on its network and the default coverage run."""

    bundle: Any  # data.demo.Bundle
    snapper: Any  # geo.snap.Snapper
    run: Any  # geo.analysis.CoverageRun


@pytest.fixture(scope="session")
def demo(xihu_dir: Path, xihu_net: WalkNetwork, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from data.demo import load_default_bundle
    from geo.analysis import coverage_run
    from geo.snap import Snapper

    bundle = load_default_bundle(xihu_dir.parent, cache_dir=tmp_path_factory.mktemp("bundle"))
    snapper = Snapper(xihu_net)
    return Demo(bundle, snapper, coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings()))


def run_module(module: str, *args: str | Path, home: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` from the repository with ``home`` as HOME and cache (no shared cache)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
