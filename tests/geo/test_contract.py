"""The chain-contracted search equals the full-graph kernel, key for key.

Hand-built graphs whose answers are known by arithmetic (a path, a ring with no junction,
a lollipop, parallel chains, ties, access legs, cutoffs), random small graphs against
:func:`geo.kernel.run_sources`, and the real Xihu network.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from geo.contract import ChainContraction, contract_chains, contracted_keys, contraction_of, hilbert_index
from geo.engine import CoverageEngine, cutoff_key, keys_to_dist_label, multi_source_keys, source_keys
from geo.graph import WalkNetwork, network_from_edges
from geo.kernel import INF_KEY, LABEL_BITS, run_sources
from tests.conftest import LAT0, LON0

Keys = npt.NDArray[np.int64]


def _net(n: int, edges: list[tuple[int, int, int]]) -> WalkNetwork:
    """Nodes ``0..n-1`` (isolated ones kept) joined by ``(u, v, weight_cm)`` edges."""
    u, v, w = (np.array(col, dtype=np.int64) for col in zip(*edges, strict=True))
    k = np.arange(n)
    return network_from_edges(
        LON0 + 0.001 * (k % 7),
        LAT0 + 0.001 * (k // 7),
        u,
        v,
        w / 100.0,
        metric_crs="EPSG:32651",
        drop_isolated=False,
    )


def _full(net: WalkNetwork, nodes: npt.ArrayLike, offs: npt.ArrayLike, slots: npt.ArrayLike, cutoff_cm: int) -> Keys:
    """The reference: the full-graph kernel from all ``INF_KEY``."""
    keys = np.full(net.n_nodes, INF_KEY, dtype=np.int64)
    run_sources(
        net.indptr,
        net.indices,
        net.weight_cm,
        keys,
        np.asarray(nodes, dtype=np.int32),
        source_keys(offs, slots),
        cutoff_key(cutoff_cm),
    )
    return keys


def _check(net: WalkNetwork, nodes: list[int], offs: list[int], cutoff_cm: int, slots: list[int] | None = None) -> Keys:
    """Contracted keys (every way of filling the chains), asserted equal to the full kernel's."""
    sl = list(range(len(nodes))) if slots is None else slots
    ref = _full(net, nodes, offs, sl, cutoff_cm)
    got = multi_source_keys(net, nodes, offs, cutoff_cm=cutoff_cm, slots=sl)
    np.testing.assert_array_equal(got, ref)
    for fill in ("settled", "scan"):
        keys = contracted_keys(
            contraction_of(net), np.asarray(nodes), source_keys(offs, sl), cutoff_key(cutoff_cm), chain_fill=fill
        )
        np.testing.assert_array_equal(keys, ref)
    return got


def _dist(keys: Keys) -> list[int]:
    return keys_to_dist_label(keys)[0].tolist()


def _label(keys: Keys) -> list[int]:
    return keys_to_dist_label(keys)[1].tolist()


def _assert_consistent(c: ChainContraction, net: WalkNetwork) -> None:
    """Structural invariants of a contraction of ``net``."""
    n = net.n_nodes
    assert c.n_nodes == n
    is_j = c.node_junction >= 0
    np.testing.assert_array_equal(c.node_junction[c.junction_node], np.arange(c.n_junctions))
    assert is_j.sum() == c.n_junctions
    # every node is a junction or inside exactly one chain, at its stored position
    assert ((c.node_chain >= 0) != is_j).all()
    assert np.sort(c.chain_node).tolist() == np.flatnonzero(~is_j).tolist()
    np.testing.assert_array_equal(c.chain_node[c.node_pos[~is_j]], np.flatnonzero(~is_j))
    np.testing.assert_array_equal(c.chain_offset_cm[c.node_pos[~is_j]], c.node_offset_cm[~is_j])
    assert (c.node_offset_cm[is_j] == 0).all()
    deg = np.diff(net.indptr)
    assert (deg[~is_j] == 2).all()
    # offsets follow the network's arcs from end a to end b
    arc_w = {(int(a), int(b)): int(w) for a, b, w in zip(*net.edge_arrays(), strict=True)}

    def w(a: int, b: int) -> int:
        return arc_w[(min(a, b), max(a, b))]

    for ch in range(c.n_chains):
        inner = c.chain_node[c.chain_ptr[ch] : c.chain_ptr[ch + 1]].tolist()
        assert inner and (c.node_chain[inner] == ch).all()
        path = [int(c.junction_node[c.chain_a[ch]]), *inner, int(c.junction_node[c.chain_b[ch]])]
        cum = np.cumsum([w(a, b) for a, b in itertools.pairwise(path)])
        assert c.chain_offset_cm[c.chain_ptr[ch] : c.chain_ptr[ch + 1]].tolist() == cum[:-1].tolist()
        assert c.chain_length_cm[ch] == cum[-1]
    # the junction graph: one arc per arc between junctions, two per chain
    direct = sum(int(is_j[net.indices[net.indptr[j] : net.indptr[j + 1]]].sum()) for j in np.flatnonzero(is_j))
    assert c.indices.shape[0] == direct + 2 * c.n_chains
    assert ((c.arc_chain >= 0).sum()) == 2 * c.n_chains


# -- hand-built graphs ----------------------------------------------------------------------


def test_path_hub_inside_and_at_the_end() -> None:
    # 0 -10- 1 -20- 2 -30- 3 -40- 4: ends are junctions, 1..3 one chain
    net = _net(5, [(0, 1, 10), (1, 2, 20), (2, 3, 30), (3, 4, 40)])
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert c.n_junctions == 2 and c.n_chains == 1 and c.chain_length_cm[0] == 100
    assert c.junction_node[c.chain_a[0]] in (0, 4)
    assert _dist(_check(net, [2], [0], 1000)) == [30, 20, 0, 30, 70]
    assert _dist(_check(net, [4], [0], 1000)) == [100, 90, 70, 40, 0]
    assert _dist(_check(net, [2], [5], 50)) == [35, 25, 5, 35, -1]
    # both hubs inside the chain: the node between goes to the nearer, ties to the lower slot
    k = _check(net, [1, 3], [0, 0], 1000)
    assert _dist(k) == [10, 0, 20, 0, 40] and _label(k) == [0, 0, 0, 1, 1]
    k = _check(net, [1, 3], [10, 0], 1000)  # node 2 is 30 cm from both: slot 0
    assert _dist(k) == [20, 10, 30, 0, 40] and _label(k) == [0, 0, 0, 1, 1]


def test_ring_without_junction_promotes_its_lowest_node() -> None:
    # 0-1-2-3-4-5-0, every edge 10 cm: no node has degree != 2
    net = _net(6, [(i, (i + 1) % 6, 10) for i in range(6)])
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert c.junction_node.tolist() == [0]
    assert c.n_chains == 1 and c.chain_a[0] == c.chain_b[0] == 0 and c.chain_length_cm[0] == 60
    assert _dist(_check(net, [3], [0], 1000)) == [30, 20, 10, 0, 10, 20]
    assert _dist(_check(net, [2], [0], 1000)) == [20, 10, 0, 10, 20, 30]
    assert _dist(_check(net, [4], [0], 15)) == [-1, -1, -1, 10, 0, 10]
    k = _check(net, [1, 4], [0, 0], 1000)
    assert _label(k) == [0, 0, 0, 1, 1, 1] and _dist(k) == [10, 0, 10, 10, 0, 10]


def test_lollipop_hub_on_the_loop_chain() -> None:
    # stick 0 -5- 1 -5- 2, loop 2 -10- 3 -10- 4 -10- 5 -10- 2 (junctions 0 and 2)
    net = _net(6, [(0, 1, 5), (1, 2, 5), (2, 3, 10), (3, 4, 10), (4, 5, 10), (5, 2, 10)])
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert sorted(c.junction_node.tolist()) == [0, 2]
    loops = [ch for ch in range(c.n_chains) if c.chain_a[ch] == c.chain_b[ch]]
    assert len(loops) == 1 and c.chain_length_cm[loops[0]] == 40
    assert _dist(_check(net, [4], [0], 1000)) == [30, 25, 20, 10, 0, 10]
    assert _dist(_check(net, [3], [0], 1000)) == [20, 15, 10, 0, 10, 20]
    assert _dist(_check(net, [0], [0], 1000)) == [0, 5, 10, 20, 30, 20]
    assert _dist(_check(net, [3], [0], 12)) == [-1, -1, 10, 0, 10, -1]
    k = _check(net, [5, 3], [0, 0], 1000)  # equidistant from 4 and from 2: slot 0 wins
    assert _label(k) == [0, 0, 0, 1, 0, 0] and _dist(k) == [20, 15, 10, 0, 10, 0]


def test_parallel_chains_between_the_same_junctions() -> None:
    # junctions 0 and 3 (each with a spur); chains 0-1-3 (long) and 0-2-3 (short)
    net = _net(6, [(0, 1, 50), (1, 3, 50), (0, 2, 10), (2, 3, 10), (0, 4, 7), (3, 5, 7)])
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert c.n_chains == 2 and sorted(c.chain_length_cm.tolist()) == [20, 100]
    assert _dist(_check(net, [4], [0], 1000)) == [7, 57, 17, 27, 0, 34]
    assert _dist(_check(net, [1], [0], 1000)) == [50, 0, 60, 50, 57, 57]
    assert _dist(_check(net, [1], [0], 55)) == [50, 0, -1, 50, -1, -1]


def test_direct_edges_between_junctions_and_hubs_on_junctions() -> None:
    # a star at 0: direct edges to the dead ends 1 and 2, a chain 0 -5- 3 -4- 4 -4- 5 -4- 6
    net = _net(7, [(0, 1, 3), (0, 2, 4), (0, 3, 5), (3, 4, 4), (4, 5, 4), (5, 6, 4)])
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert _dist(_check(net, [0], [0], 1000)) == [0, 3, 4, 5, 9, 13, 17]
    k = _check(net, [0, 6], [0, 0], 1000)
    assert _dist(k) == [0, 3, 4, 5, 8, 4, 0] and _label(k) == [0, 0, 0, 0, 1, 1, 1]


def test_ties_slots_and_hubs_on_one_node() -> None:
    net = _net(5, [(0, 1, 10), (1, 2, 20), (2, 3, 20), (3, 4, 10)])
    # node 2 is 30 cm from both ends: the lower slot wins, whichever is listed first
    k = _check(net, [4, 0], [0, 0], 1000, slots=[3, 7])
    assert _label(k) == [7, 7, 3, 3, 3]
    k = _check(net, [0, 4], [0, 0], 1000, slots=[3, 7])
    assert _label(k) == [3, 3, 3, 7, 7]
    # three hubs on one interior node: the nearest access leg, then the lowest slot
    k = _check(net, [2, 2, 2], [9, 4, 4], 1000, slots=[0, 2, 1])
    assert (np.array(_label(k)) == 1).all() and _dist(k) == [34, 24, 4, 24, 34]
    # a hub whose long access leg loses to a farther hub on the network
    k = _check(net, [1, 4], [25, 0], 1000)
    assert _label(k) == [0, 0, 1, 1, 1] and _dist(k) == [35, 25, 30, 10, 0]


def test_access_legs_and_cutoffs() -> None:
    net = _net(5, [(0, 1, 10), (1, 2, 20), (2, 3, 30), (3, 4, 40)])
    assert _dist(_check(net, [2], [0], 0)) == [-1, -1, 0, -1, -1]
    assert _dist(_check(net, [2], [1], 0)) == [-1] * 5  # the access leg alone exceeds the cutoff
    assert _dist(_check(net, [1], [0], 0)) == [-1, 0, -1, -1, -1]
    assert _dist(_check(net, [2], [0], 20)) == [-1, 20, 0, -1, -1]  # the cutoff itself is in reach
    assert _dist(_check(net, [2], [0], 29)) == [-1, 20, 0, -1, -1]
    # a long chain reached from both ends with a gap in the middle
    long = _net(8, [(0, 1, 10), (1, 2, 10), (2, 3, 10), (3, 4, 10), (4, 5, 10), (5, 6, 10), (6, 7, 10)])
    assert _dist(_check(long, [0, 7], [0, 0], 20)) == [0, 10, 20, -1, -1, 20, 10, 0]
    assert _dist(_check(long, [0, 7], [0, 15], 20)) == [0, 10, 20, -1, -1, -1, -1, 15]
    assert _dist(_check(long, [3], [0], 10_000)) == [30, 20, 10, 0, 10, 20, 30, 40]
    with pytest.raises(ValueError, match="outside the network"):
        multi_source_keys(long, [8], [0], cutoff_cm=10)


def test_isolated_nodes_rings_and_components() -> None:
    # node 9 alone, a ring 3-4-5-6, a path 0-1-2, another ring 7-8-10 (7 = its lowest node)
    edges = [(0, 1, 4), (1, 2, 4), (3, 4, 2), (4, 5, 2), (5, 6, 2), (6, 3, 2), (7, 8, 1), (8, 10, 1), (10, 7, 1)]
    net = _net(11, edges)
    c = contraction_of(net)
    _assert_consistent(c, net)
    assert sorted(c.junction_node.tolist()) == [0, 2, 3, 7, 9]
    k = _check(net, [9, 5, 1, 8], [0, 0, 0, 0], 100)
    assert _dist(k) == [4, 0, 4, 4, 2, 0, 2, 1, 0, 0, 1]
    assert _label(k) == [2, 2, 2, 1, 1, 1, 1, 3, 3, 0, 3]
    _check(net, [], [], 100)


def test_nonsimple_csr_parallel_arcs_and_self_loops() -> None:
    # built by hand: node 1 has two arcs to 0 (3 and 5 cm), node 2 a self-loop
    #   0 =(3|5)= 1 -4- 2 (loop 2-2 of 1 cm) -6- 3
    arcs = {0: [(1, 3), (1, 5)], 1: [(0, 3), (0, 5), (2, 4)], 2: [(1, 4), (2, 1), (3, 6)], 3: [(2, 6)]}
    indptr = np.cumsum([0] + [len(arcs[v]) for v in range(4)]).astype(np.int64)
    indices = np.array([b for v in range(4) for b, _ in arcs[v]], dtype=np.int32)
    weight = np.array([w for v in range(4) for _, w in arcs[v]], dtype=np.int32)
    z = np.zeros(4)
    net = WalkNetwork(z, z, z, z, indptr, indices, weight, np.full(4, -1, dtype=np.int64), "EPSG:32651")
    assert (contraction_of(net).node_junction >= 0).all()  # no node has exactly two distinct arcs
    for hub in range(4):
        _check(net, [hub], [0], 100)
    assert _dist(_check(net, [0], [0], 100)) == [0, 3, 7, 13]


def test_contraction_is_cached_per_network(lattice_net: WalkNetwork) -> None:
    first = contraction_of(lattice_net)
    assert contraction_of(lattice_net) is first
    assert contract_chains(lattice_net) is not first
    # a 20 x 20 lattice: the 4 corners have degree 2, so each is the interior of a chain
    assert first.n_junctions == 20 * 20 - 4 and first.n_chains == 4
    _assert_consistent(first, lattice_net)


def test_hilbert_index_orders_neighbours_near() -> None:
    # a 4 x 4 grid: the curve visits every cell once and steps only between neighbours
    xx, yy = np.meshgrid(np.arange(4.0), np.arange(4.0))
    h = hilbert_index(xx.ravel(), yy.ravel(), bits=2)
    assert sorted(h.tolist()) == list(range(16))
    order = np.argsort(h)
    steps = np.abs(np.diff(xx.ravel()[order])) + np.abs(np.diff(yy.ravel()[order]))
    assert (steps == 1).all()
    assert hilbert_index(np.array([1.0, np.nan]), np.array([2.0, 2.0])).shape == (2,)


# -- random graphs ----------------------------------------------------------------------------


def _random_graph(rng: np.random.Generator) -> WalkNetwork:
    """A random forest plus extra edges, its edges subdivided into chains, plus a few rings."""
    n0 = int(rng.integers(1, 12))
    edges: list[tuple[int, int]] = [(int(rng.integers(i)), i) for i in range(1, n0)]
    for _ in range(int(rng.integers(0, 5))):
        a, b = (int(x) for x in rng.integers(n0, size=2))
        if a != b:
            edges.append((a, b))
    if rng.random() < 0.3 and n0 > 2:
        edges = edges[: int(rng.integers(1, len(edges) + 1))]  # a forest, maybe with isolated nodes
    n = n0
    out: list[tuple[int, int, int]] = []

    def weight() -> int:
        return int(rng.choice([1, 1, 2, 3, int(rng.integers(1, 60))]))

    for a, b in edges:
        k = int(rng.choice([0, 0, 1, 2, 3, 6]))  # interior nodes to insert
        path = [a, *range(n, n + k), b]
        n += k
        out.extend((p, q, weight()) for p, q in itertools.pairwise(path))
    for _ in range(int(rng.choice([0, 0, 1, 2]))):
        k = int(rng.integers(1, 6))  # a ring of k + 1 nodes (a 2-ring collapses to one edge)
        ring = list(range(n, n + k + 1))
        n += k + 1
        out.extend((p, q, weight()) for p, q in zip(ring, [*ring[1:], ring[0]], strict=True))
    if not out:
        out.append((0, n, 1))
        n += 1
    # shuffle node numbers, so that rings' lowest nodes and chain directions vary
    perm = rng.permutation(n)
    return _net(n, [(int(perm[a]), int(perm[b]), w) for a, b, w in out])


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_equal_the_full_kernel(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    for _ in range(60):
        net = _random_graph(rng)
        _assert_consistent(contraction_of(net), net)
        n = net.n_nodes
        for _ in range(8):
            k = int(rng.integers(0, 7))
            nodes = rng.integers(n, size=k)
            if k > 1 and rng.random() < 0.3:
                nodes[1] = nodes[0]  # hubs sharing a node
            offs = rng.choice([0, 0, 1, 2, 5, 17], size=k)
            slots = rng.permutation(max(k, 1) + 3)[:k]
            cutoff = int(rng.choice([0, 1, 2, 5, 10, 30, 80, 10**6]))
            _check(net, nodes.tolist(), offs.tolist(), cutoff, slots.tolist())


def test_contracted_keys_on_a_lattice_with_offsets(lattice_net: WalkNetwork) -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        k = int(rng.integers(1, 30))
        nodes = rng.integers(lattice_net.n_nodes, size=k).astype(np.int32)
        sk = source_keys(rng.integers(0, 20_000, k), np.arange(k))
        ck = cutoff_key(int(rng.integers(0, 200_000)))
        ref = np.full(lattice_net.n_nodes, INF_KEY, dtype=np.int64)
        run_sources(lattice_net.indptr, lattice_net.indices, lattice_net.weight_cm, ref, nodes, sk, ck)
        np.testing.assert_array_equal(contracted_keys(contraction_of(lattice_net), nodes, sk, ck), ref)


# -- the real network -------------------------------------------------------------------------


@pytest.mark.xihu
def test_xihu_contraction_is_consistent(xihu_net: WalkNetwork) -> None:
    net, c = xihu_net, contraction_of(xihu_net)
    is_j = c.node_junction >= 0
    deg = np.diff(net.indptr)
    assert (deg[~is_j] == 2).all() and (is_j[deg != 2]).all()
    assert c.n_junctions < 0.3 * net.n_nodes  # most nodes are chain interiors
    np.testing.assert_array_equal(c.node_junction[c.junction_node], np.arange(c.n_junctions))
    np.testing.assert_array_equal(np.sort(c.chain_node), np.flatnonzero(~is_j))

    def arc_cm(frm: Keys, to: Keys) -> Keys:
        """Weight of the arc from chain interior ``frm`` to its neighbour ``to``."""
        a0 = net.indptr[frm]
        first = net.indices[a0] == to
        assert (first | (net.indices[a0 + 1] == to)).all()
        return np.where(first, net.weight_cm[a0], net.weight_cm[a0 + 1]).astype(np.int64)

    # each offset is the previous one (end a's 0) plus the arc between them; L adds the last arc
    chain_of = np.repeat(np.arange(c.n_chains), np.diff(c.chain_ptr))
    prev = np.where(
        np.arange(c.chain_node.shape[0]) == c.chain_ptr[chain_of],
        c.junction_node[c.chain_a[chain_of]],
        np.roll(c.chain_node, 1),
    )
    prev_off = np.where(prev == np.roll(c.chain_node, 1), np.roll(c.chain_offset_cm, 1), 0)
    np.testing.assert_array_equal(c.chain_offset_cm - prev_off, arc_cm(c.chain_node, prev))
    last = c.chain_node[c.chain_ptr[1:] - 1]
    np.testing.assert_array_equal(
        c.chain_length_cm - c.chain_offset_cm[c.chain_ptr[1:] - 1], arc_cm(last, c.junction_node[c.chain_b])
    )


@pytest.mark.xihu
def test_xihu_random_hub_sets_equal_the_full_kernel(xihu_net: WalkNetwork) -> None:
    rng = np.random.default_rng(2024)
    n = xihu_net.n_nodes
    for i in range(50):
        k = int(rng.choice([1, 5, 40, 100, 500]))
        nodes = rng.integers(n, size=k)
        offs = rng.integers(0, 3_000, k) if i % 2 else np.zeros(k, dtype=np.int64)
        cutoff = int(rng.choice([0, 7_500, 75_000, 75_000, 150_000]))
        _check(xihu_net, nodes.tolist(), offs.tolist(), cutoff)


@pytest.mark.xihu
def test_xihu_engine_recompute_uses_the_contraction(xihu_net: WalkNetwork) -> None:
    rng = np.random.default_rng(3)
    eng = CoverageEngine(xihu_net, cutoff_cm=75_000)
    eng.set_hubs(rng.choice(xihu_net.n_nodes, 60, replace=False), rng.integers(0, 3_000, 60))
    act = np.flatnonzero(eng.hub_active)
    np.testing.assert_array_equal(eng.keys, _full(xihu_net, eng.hub_node, eng.hub_offset_cm, act, 75_000))
    # hubs removed from the middle of the slot range keep their slots in the recompute
    for s in (3, 17, 42):
        eng.remove_hub(s)
    edited = eng.keys.copy()
    eng.recompute()
    np.testing.assert_array_equal(eng.keys, edited)
    assert (eng.keys[eng.keys != INF_KEY] >> LABEL_BITS <= 75_000).all()
