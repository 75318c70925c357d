"""The routing core: lattice answers by arithmetic, networkx on the real network, edits = recompute."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from core.errors import HubError
from geo.engine import CoverageEngine, keys_to_dist_label, multi_source_keys
from geo.graph import WalkNetwork
from geo.kernel import INF_KEY
from tests.conftest import lattice


def _nx_graph(net: WalkNetwork) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    a, b, w = net.edge_arrays()
    g.add_weighted_edges_from(zip(a.tolist(), b.tolist(), w.tolist(), strict=True))
    return g


def test_lattice_distances_by_arithmetic(lattice_net: WalkNetwork) -> None:
    n = 20
    eng = CoverageEngine(lattice_net, cutoff_cm=75_000)
    eng.set_hubs([0], [0])
    dist = eng.dist_cm
    for i in range(n):
        for j in range(n):
            expect = 10_000 * (i + j)
            assert dist[i * n + j] == (expect if expect <= 75_000 else -1)
    assert (eng.label[dist >= 0] == 0).all()
    # 750 m reaches the 36 nodes with i + j <= 7
    assert (dist >= 0).sum() == sum(1 for i in range(n) for j in range(n) if i + j <= 7)


def test_lattice_two_hubs_tie_goes_to_lower_slot(lattice_net: WalkNetwork) -> None:
    n = 20
    eng = CoverageEngine(lattice_net, cutoff_cm=10**9)
    eng.set_hubs([0 * n + 0, 0 * n + 10], [0, 0])
    dist, lab = eng.dist_cm, eng.label
    assert dist[0 * n + 5] == 50_000
    assert lab[0 * n + 5] == 0  # equidistant: the lower slot wins
    assert lab[0 * n + 6] == 1
    assert lab[19 * n + 19] == 1 and dist[19 * n + 19] == 10_000 * (19 + 9)


def test_hub_access_leg_is_added(lattice_net: WalkNetwork) -> None:
    eng = CoverageEngine(lattice_net, cutoff_cm=75_000)
    eng.set_hubs([0], [5_000])  # hub 50 m off the network
    assert eng.dist_cm[0] == 5_000
    assert eng.dist_cm[1] == 15_000
    assert eng.dist_cm[6] == 65_000 and eng.dist_cm[7] == 75_000 and eng.dist_cm[8] == -1


def test_lattice_edits_equal_recompute() -> None:
    net = lattice(30)
    rng = np.random.default_rng(7)
    eng = CoverageEngine(net, cutoff_cm=60_000)
    eng.set_hubs(rng.choice(net.n_nodes, 5, replace=False), np.zeros(5))
    _random_edits(eng, rng, 300)


def _random_edits(eng: CoverageEngine, rng: np.random.Generator, n_edits: int) -> None:
    n = eng.network.n_nodes
    kinds = {"add": 0, "remove": 0, "move": 0}
    for _ in range(n_edits):
        act = np.flatnonzero(eng.hub_active)
        op = rng.integers(3)
        if op == 0 or act.size < 2:
            eng.add_hub(int(rng.integers(n)), int(rng.integers(0, 2_000)))
            kinds["add"] += 1
        elif op == 1:
            eng.remove_hub(int(rng.choice(act)))
            kinds["remove"] += 1
        else:
            eng.move_hub(int(rng.choice(act)), int(rng.integers(n)), int(rng.integers(0, 2_000)))
            kinds["move"] += 1
        full = eng.copy()
        full.recompute()
        np.testing.assert_array_equal(eng.keys, full.keys)
    assert min(kinds.values()) > n_edits // 5


@pytest.mark.xihu
def test_xihu_edits_equal_recompute(xihu_net: WalkNetwork) -> None:
    rng = np.random.default_rng(11)
    eng = CoverageEngine(xihu_net, cutoff_cm=75_000)
    eng.set_hubs(rng.choice(xihu_net.n_nodes, 40, replace=False), rng.integers(0, 3_000, 40))
    _random_edits(eng, rng, 300)


@pytest.mark.xihu
@pytest.mark.parametrize("n_hubs", [1, 12, 100])
def test_xihu_matches_networkx(xihu_net: WalkNetwork, n_hubs: int) -> None:
    rng = np.random.default_rng(n_hubs)
    hubs = rng.choice(xihu_net.n_nodes, n_hubs, replace=False)
    cutoff = 75_000
    dist, lab = keys_to_dist_label(multi_source_keys(xihu_net, hubs, np.zeros(n_hubs), cutoff_cm=cutoff))
    g = _nx_graph(xihu_net)
    ref = nx.multi_source_dijkstra_path_length(g, set(hubs.tolist()), cutoff=cutoff)
    expect = np.full(xihu_net.n_nodes, -1)
    expect[list(ref)] = list(ref.values())
    np.testing.assert_array_equal(dist, expect)
    # the label is a hub that really is at that distance, and the lowest such slot
    per_hub = [nx.single_source_dijkstra_path_length(g, int(h), cutoff=cutoff) for h in hubs]
    reached = np.flatnonzero(dist >= 0)
    for v in rng.choice(reached, min(500, reached.size), replace=False):
        best = [s for s, d in enumerate(per_hub) if d.get(int(v)) == dist[v]]
        assert lab[v] == min(best)


def test_unreached_nodes_are_inf(lattice_net: WalkNetwork) -> None:
    keys = multi_source_keys(lattice_net, [0], [0], cutoff_cm=0)
    assert keys[0] != INF_KEY and (keys[1:] == INF_KEY).all()


def test_bad_hub_edits_raise(lattice_net: WalkNetwork) -> None:
    eng = CoverageEngine(lattice_net, cutoff_cm=75_000)
    eng.set_hubs([0, 5], [0, 0])
    with pytest.raises(HubError):
        eng.add_hub(lattice_net.n_nodes, 0)
    with pytest.raises(HubError):
        eng.remove_hub(7)
    eng.remove_hub(1)
    with pytest.raises(HubError):
        eng.remove_hub(1)
    with pytest.raises(HubError):
        eng.set_hubs([0, 1], [0])
    with pytest.raises(HubError):
        eng.set_hubs([0], [-5])
