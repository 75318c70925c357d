"""Degree-2 chains contracted: the exact bounded multi-source search on the junction graph.

Most vertices of an unsimplified OSM network (77 % in Xihu) lie inside *chains*: runs of
nodes with exactly two neighbours between two *junctions* (every other node). The search
only needs the junctions in its priority queue: a hub inside a chain seeds the two ends of
its chain, Dijkstra runs on the graph whose edges are the chains, then every chain interior
is filled from its two ends and from the hubs standing on that chain.

Keys are packed as in :mod:`geo.kernel` (``dist_cm << LABEL_BITS | slot``). Weights are
integer centimetres, so every candidate is an exact path sum, and the lexicographic
minimum (distance, then slot) is the very key that the full-graph kernel
(:func:`geo.kernel.run_sources`) finds: equal bit for bit, ties included.

The search keeps its own heap (:func:`_push4` / :func:`_pop4`, 4-ary, fixed capacity)
instead of :mod:`geo.kernel`'s growing binary one: a full search relaxes most arcs, so
the exact bound on pushes (every push but a seed relaxes a distinct junction arc:
``arcs + 2 x seeds``) is allocated once and the push neither checks for room nor
returns arrays (numba reference-counts returned arrays on every push), and on heaps
this large the 4-ary tree's halved depth pays. The incremental edits in
:mod:`geo.kernel` touch a few hundred nodes; there the same bound would cost every edit
an allocation sized to the whole network, hence its heap that starts small and doubles
(the measurement is in :mod:`geo.kernel`'s docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from numba import njit

from geo.graph import WalkNetwork
from geo.kernel import INF_KEY, LABEL_BITS

_CACHE_ATTR = "_chain_contraction"

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: bits per axis of the Hilbert curve that orders the junctions (locality of the search)
HILBERT_BITS = 16
#: below ``n_chains / FEW_SETTLED`` settled junctions, the chains are filled from the
#: settled junctions' arcs; above, by one scan of all chains (measured break-even ~1/16)
FEW_SETTLED = 16
_FILL_MODES = {"auto": 0, "settled": 1, "scan": 2}


@dataclass(frozen=True, eq=False)
class ChainContraction:
    """A :class:`~geo.graph.WalkNetwork` with its degree-2 chains contracted.

    A *junction* is a node that does not have exactly two arcs to two distinct other nodes
    (dead ends, crossings), plus, on a ring made only of such nodes, its lowest-numbered
    node. A *chain* runs from junction ``a`` through one or more interior nodes to junction
    ``b`` (``a == b`` for a loop); its interior nodes are stored in order from ``a`` with
    their offsets from ``a`` in integer centimetres, the exact sums of the network's arcs.
    Junction ids follow a Hilbert curve over the nodes' metric coordinates, and chains the
    junction order of their end ``a``, so that nearby junctions are near in memory.

    Attributes
    ----------
    junction_node : int32 array, the network node of each junction id.
    node_junction : int32 array, per network node: its junction id, or -1 inside a chain.
    node_chain : int32 array, per network node: its chain id, or -1 for a junction.
    node_pos : int32 array, per network node: its position in ``chain_node``, or -1.
    node_offset_cm : int64 array, per network node: its offset from its chain's end ``a``
        (0 for a junction).
    chain_a, chain_b : int32 arrays, the end junctions of each chain.
    chain_length_cm : int64 array, each chain's length from ``a`` to ``b``.
    chain_ptr : int64 array of length n_chains + 1; chain ``c``'s interior is
        ``chain_node[chain_ptr[c]:chain_ptr[c + 1]]``.
    chain_node : int32 array, the interior nodes of all chains, chain after chain.
    chain_offset_cm : int64 array, their offsets from their chain's end ``a`` (increasing).
    indptr, indices : the junction graph in CSR (int64, int32 junction ids). Its arcs are
        the network's arcs between two junctions and, for every chain, one arc from each
        end to the other (two self-arcs for a loop); parallel chains are all kept.
    weight_cm : int64 array, each junction arc's length.
    arc_chain : int32 array, per junction arc: ``2 * chain`` when the arc leaves the chain's
        end ``a``, ``2 * chain + 1`` when it leaves ``b``, -1 for a direct arc.
    """

    junction_node: Int32Array
    node_junction: Int32Array
    node_chain: Int32Array
    node_pos: Int32Array
    node_offset_cm: Int64Array
    chain_a: Int32Array
    chain_b: Int32Array
    chain_length_cm: Int64Array
    chain_ptr: Int64Array
    chain_node: Int32Array
    chain_offset_cm: Int64Array
    indptr: Int64Array
    indices: Int32Array
    weight_cm: Int64Array
    arc_chain: Int32Array

    @property
    def n_nodes(self) -> int:
        return int(self.node_junction.shape[0])

    @property
    def n_junctions(self) -> int:
        return int(self.junction_node.shape[0])

    @property
    def n_chains(self) -> int:
        return int(self.chain_a.shape[0])


def contract_chains(network: WalkNetwork) -> ChainContraction:
    """Contract the degree-2 chains of ``network`` (O(n) in numba, plus a sort of the junctions).

    Prefer :func:`contraction_of`, which keeps it: this builds a new one on every call.

    Parameters
    ----------
    network : WalkNetwork
        An undirected CSR network (every edge stored in both directions with one weight).

    Returns
    -------
    ChainContraction
    """
    is_junction = _junctions(network.indptr, network.indices)
    nodes = np.flatnonzero(is_junction)
    order = np.argsort(hilbert_index(network.node_x[nodes], network.node_y[nodes]), kind="stable")
    junction_node = nodes[order].astype(np.int32)
    return ChainContraction(*_chains(network.indptr, network.indices, network.weight_cm, junction_node))


def contraction_of(network: WalkNetwork) -> ChainContraction:
    """The contraction of ``network``, built on first use and kept with it.

    It is stored in the instance ``__dict__`` (as ``functools.cached_property`` would;
    a frozen dataclass allows it); the arrays are never modified, so the network stays
    read-only and every caller shares one contraction.
    """
    cached = network.__dict__.get(_CACHE_ATTR)
    if cached is None:
        cached = contract_chains(network)
        object.__setattr__(network, _CACHE_ATTR, cached)
    return cast("ChainContraction", cached)


def hilbert_index(x: npt.ArrayLike, y: npt.ArrayLike, *, bits: int = HILBERT_BITS) -> Int64Array:
    """Position of each point on a Hilbert curve over the points' bounding box (vectorised).

    Non-finite coordinates count as the box's lower-left corner; only the order matters.
    """
    xf = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    yf = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    side = 1 << bits
    if xf.size == 0:
        return np.zeros(0, dtype=np.int64)

    def grid(v: FloatArray) -> Int64Array:
        span = float(v.max() - v.min())
        scaled = (v - v.min()) / span * (side - 1) if span > 0 else np.zeros_like(v)
        return np.clip(scaled, 0, side - 1).astype(np.int64)

    xi, yi = grid(xf), grid(yf)
    d = np.zeros(xi.shape[0], dtype=np.int64)
    s = side >> 1
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # rotate the quadrant so that the curve stays continuous
        flip = ~ry & rx
        xi = np.where(flip, side - 1 - xi, xi)
        yi = np.where(flip, side - 1 - yi, yi)
        xi, yi = np.where(ry, xi, yi), np.where(ry, yi, xi)
        s >>= 1
    return d


def contracted_keys(
    contraction: ChainContraction,
    src_nodes: npt.ArrayLike,
    src_keys: npt.ArrayLike,
    cutoff_key: int,
    *,
    chain_fill: Literal["auto", "settled", "scan"] = "auto",
) -> Int64Array:
    """Bounded multi-source search on the contraction; one packed key per network node.

    Equal, array for array, to :func:`geo.kernel.run_sources` on the full network with
    ``keys`` all ``INF_KEY`` and the same sources (nodes beyond ``cutoff_key`` stay
    ``INF_KEY``). ``src_nodes`` must be valid node positions.

    Parameters
    ----------
    contraction : ChainContraction
        Usually ``contraction_of(network)``.
    src_nodes, src_keys : the sources' nodes and packed keys (access leg and slot).
    cutoff_key : int
        The largest key in reach (:func:`geo.engine.cutoff_key`).
    chain_fill : {"auto", "settled", "scan"}
        How chains are found for filling once the junctions are settled: through the
        settled junctions' arcs, by scanning every chain, or (``"auto"``) the former when
        fewer than ``n_chains / FEW_SETTLED`` junctions were settled. Same result, only
        the speed differs.

    Returns
    -------
    int64 array, one packed key (``dist_cm << LABEL_BITS | slot``) per network node.
    """
    keys = np.full(contraction.n_nodes, INF_KEY, dtype=np.int64)
    c = contraction
    _search(
        c.indptr,
        c.indices,
        c.weight_cm,
        c.arc_chain,
        c.junction_node,
        c.node_junction,
        c.node_chain,
        c.node_pos,
        c.chain_a,
        c.chain_b,
        c.chain_length_cm,
        c.chain_ptr,
        c.chain_node,
        c.chain_offset_cm,
        keys,
        np.asarray(src_nodes, dtype=np.int32),
        np.asarray(src_keys, dtype=np.int64),
        np.int64(cutoff_key),
        _FILL_MODES[chain_fill],
    )
    return keys


# -- numba kernels: building --------------------------------------------------------------


@njit(cache=True, inline="always")
def _other_arc(indptr, indices, prev, cur):  # type: ignore[no-untyped-def]
    """The arc of chain-interior node ``cur`` that does not lead back to ``prev``."""
    a0 = indptr[cur]
    return a0 + 1 if indices[a0] == prev else a0


@njit(cache=True)
def _junctions(indptr, indices):  # type: ignore[no-untyped-def]
    """Which nodes are junctions: not two arcs to two distinct other nodes, or a ring's lowest node."""
    n = indptr.shape[0] - 1
    is_j = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        a0 = indptr[v]
        if indptr[v + 1] - a0 != 2:
            is_j[v] = True
        else:
            x = indices[a0]
            y = indices[a0 + 1]
            if x == y or v in (x, y):
                is_j[v] = True
    # mark the interiors reachable from a junction; the others lie on rings of degree-2
    # nodes only, and the first node met of each ring (its lowest) becomes a junction
    seen = is_j.copy()
    for j in range(n):
        if not is_j[j]:
            continue
        for e in range(indptr[j], indptr[j + 1]):
            prev = j
            cur = indices[e]
            while not seen[cur]:
                seen[cur] = True
                e2 = _other_arc(indptr, indices, prev, cur)
                prev = cur
                cur = indices[e2]
    for v in range(n):
        if seen[v]:
            continue
        is_j[v] = True
        seen[v] = True
        prev = v
        cur = indices[indptr[v]]
        while not seen[cur]:
            seen[cur] = True
            e2 = _other_arc(indptr, indices, prev, cur)
            prev = cur
            cur = indices[e2]
    return is_j


@njit(cache=True)
def _chains(indptr, indices, weight, junction_node):  # type: ignore[no-untyped-def]
    """Walk every chain once (from its first end in junction order) and build the junction CSR."""
    n = indptr.shape[0] - 1
    nj = junction_node.shape[0]
    node_junction = np.full(n, -1, dtype=np.int32)
    for ju in range(nj):
        node_junction[junction_node[ju]] = ju
    max_chains = 0
    for ju in range(nj):
        j = junction_node[ju]
        for e in range(indptr[j], indptr[j + 1]):
            if node_junction[indices[e]] < 0:
                max_chains += 1
    n_int = n - nj
    chain_a = np.empty(max_chains, dtype=np.int32)
    chain_b = np.empty(max_chains, dtype=np.int32)
    chain_len = np.empty(max_chains, dtype=np.int64)
    chain_ptr = np.empty(max_chains + 1, dtype=np.int64)
    chain_node = np.empty(n_int, dtype=np.int32)
    chain_off = np.empty(n_int, dtype=np.int64)
    node_chain = np.full(n, -1, dtype=np.int32)
    node_pos = np.full(n, -1, dtype=np.int32)
    node_off = np.zeros(n, dtype=np.int64)
    nc = 0
    p = 0
    for ju in range(nj):
        j = junction_node[ju]
        for e in range(indptr[j], indptr[j + 1]):
            u = indices[e]
            if node_junction[u] >= 0 or node_chain[u] >= 0:
                continue  # a direct arc, or a chain already walked from its other end
            chain_ptr[nc] = p
            prev = j
            cur = u
            off = np.int64(weight[e])
            while node_junction[cur] < 0:
                node_chain[cur] = nc
                node_pos[cur] = p
                node_off[cur] = off
                chain_node[p] = cur
                chain_off[p] = off
                p += 1
                e2 = _other_arc(indptr, indices, prev, cur)
                prev = cur
                cur = indices[e2]
                off += weight[e2]
            chain_a[nc] = ju
            chain_b[nc] = node_junction[cur]
            chain_len[nc] = off
            nc += 1
    chain_ptr[nc] = p

    # the junction graph: direct arcs, then one arc per chain end
    jptr = np.zeros(nj + 1, dtype=np.int64)
    for ju in range(nj):
        j = junction_node[ju]
        for e in range(indptr[j], indptr[j + 1]):
            if node_junction[indices[e]] >= 0:
                jptr[ju + 1] += 1
    for c in range(nc):
        jptr[chain_a[c] + 1] += 1
        jptr[chain_b[c] + 1] += 1
    for ju in range(nj):
        jptr[ju + 1] += jptr[ju]
    m = jptr[nj]
    jind = np.empty(m, dtype=np.int32)
    jw = np.empty(m, dtype=np.int64)
    jarc = np.empty(m, dtype=np.int32)
    fill = jptr[:nj].copy()
    for ju in range(nj):
        j = junction_node[ju]
        for e in range(indptr[j], indptr[j + 1]):
            jv = node_junction[indices[e]]
            if jv >= 0:
                q = fill[ju]
                jind[q] = jv
                jw[q] = weight[e]
                jarc[q] = -1
                fill[ju] += 1
    for c in range(nc):
        a = chain_a[c]
        b = chain_b[c]
        q = fill[a]
        jind[q] = b
        jw[q] = chain_len[c]
        jarc[q] = 2 * c
        fill[a] += 1
        q = fill[b]
        jind[q] = a
        jw[q] = chain_len[c]
        jarc[q] = 2 * c + 1
        fill[b] += 1
    return (
        junction_node,
        node_junction,
        node_chain,
        node_pos,
        node_off,
        chain_a[:nc].copy(),
        chain_b[:nc].copy(),
        chain_len[:nc].copy(),
        chain_ptr[: nc + 1].copy(),
        chain_node,
        chain_off,
        jptr,
        jind,
        jw,
        jarc,
    )


# -- numba kernels: searching -------------------------------------------------------------


@njit(cache=True, inline="always")
def _push4(hk, hn, size, key, node):  # type: ignore[no-untyped-def]
    """Push onto a 4-ary min-heap whose arrays hold every push; returns the new size.

    Unlike :func:`geo.kernel._push` the arrays never grow and are not returned, which
    spares numba the reference counting of returned arrays on every push.
    """
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hn[i] = hn[p]
        i = p
    hk[i] = key
    hn[i] = node
    return size + 1


@njit(cache=True, inline="always")
def _pop4(hk, hn, size):  # type: ignore[no-untyped-def]
    """Drop the top of a 4-ary min-heap (read ``hk[0]``, ``hn[0]`` first); returns the new size."""
    size -= 1
    lk = hk[size]
    ln = hn[size]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        best = c
        bk = hk[c]
        end = min(c + 4, size)
        for q in range(c + 1, end):
            if hk[q] < bk:
                bk = hk[q]
                best = q
        if bk >= lk:
            break
        hk[i] = bk
        hn[i] = hn[best]
        i = best
    hk[i] = lk
    hn[i] = ln
    return size


@njit(cache=True, inline="always")
def _fill_chain(c, ka, kb, chain_ptr, chain_node, chain_off, chain_len, keys, ckey):  # type: ignore[no-untyped-def]
    """Key every interior node of chain ``c`` with ``min(ka + offset, kb + L - offset)`` up to ``ckey``.

    ``ka``/``kb`` are the final keys of the chain's ends (``INF_KEY`` if not reached).
    Walks from end a while its candidate is in reach (taking the minimum with end b's),
    then from end b over the nodes that end a did not reach.
    """
    p1 = chain_ptr[c + 1]
    length = chain_len[c]
    p = chain_ptr[c]
    if ka != INF_KEY:
        if kb != INF_KEY:
            while p < p1:
                ck = ka + (chain_off[p] << LABEL_BITS)
                if ck > ckey:
                    break
                cb = kb + ((length - chain_off[p]) << LABEL_BITS)
                keys[chain_node[p]] = ck if ck < cb else cb
                p += 1
        else:
            while p < p1:
                ck = ka + (chain_off[p] << LABEL_BITS)
                if ck > ckey:
                    break
                keys[chain_node[p]] = ck
                p += 1
    if kb != INF_KEY:
        q = p1 - 1
        while q >= p:
            cb = kb + ((length - chain_off[q]) << LABEL_BITS)
            if cb > ckey:
                break
            keys[chain_node[q]] = cb
            q -= 1


@njit(cache=True)
def _search(  # type: ignore[no-untyped-def]
    jptr,
    jind,
    jw,
    jarc,
    junction_node,
    node_junction,
    node_chain,
    node_pos,
    chain_a,
    chain_b,
    chain_len,
    chain_ptr,
    chain_node,
    chain_off,
    keys,
    src_nodes,
    src_keys,
    ckey,
    fill_mode,
):
    """Seed the junctions, run Dijkstra on them, fill the chains, then walk from inner hubs.

    ``keys`` (one per network node, all ``INF_KEY``) is filled in place. A hub at chain
    offset ``o`` seeds end ``a`` with ``key + o`` and end ``b`` with ``key + L - o``. Once
    the junction keys are final, each reached chain is filled once with
    ``min(key_a + offset, key_b + L - offset)`` (:func:`_fill_chain`): from the settled
    junctions' arcs (``fill_mode`` 1), by a scan of all chains (2), or whichever suits the
    number of settled junctions (0). A hub inside a chain then walks outwards along it
    while it improves the keys. Stopping at the first node it does not improve is exact:
    every other candidate grows by at most the step length along the chain, and this one
    by exactly that, so what beat it there beats it further on. A dead end (one junction
    arc) reached from its neighbour is keyed without entering the heap. Returns the number
    of junctions settled or keyed so.
    """
    nj = junction_node.shape[0]
    ns = src_nodes.shape[0]
    jkeys = np.full(nj, INF_KEY, dtype=np.int64)
    # every push but the seeds relaxes a distinct arc (a junction is settled once)
    cap = jind.shape[0] + 2 * ns + 1
    hk = np.empty(cap, dtype=np.int64)
    hn = np.empty(cap, dtype=np.int32)
    # settled junctions, and dead ends keyed without settling (once each, see below)
    settled = np.empty(nj + ns, dtype=np.int32)
    size = 0
    for i in range(ns):
        s = src_nodes[i]
        k = src_keys[i]
        if k > ckey:
            continue
        j = node_junction[s]
        if j >= 0:
            if k < jkeys[j]:
                jkeys[j] = k
                size = _push4(hk, hn, size, k, j)
            continue
        c = node_chain[s]
        o = chain_off[node_pos[s]]
        ka = k + (o << LABEL_BITS)
        a = chain_a[c]
        if ka <= ckey and ka < jkeys[a]:
            jkeys[a] = ka
            size = _push4(hk, hn, size, ka, a)
        kb = k + ((chain_len[c] - o) << LABEL_BITS)
        b = chain_b[c]
        if kb <= ckey and kb < jkeys[b]:
            jkeys[b] = kb
            size = _push4(hk, hn, size, kb, b)

    n_settled = 0
    while size > 0:
        key = hk[0]
        u = hn[0]
        size = _pop4(hk, hn, size)
        if key != jkeys[u]:
            continue  # stale entry
        keys[junction_node[u]] = key
        settled[n_settled] = u
        n_settled += 1
        for e in range(jptr[u], jptr[u + 1]):
            nk = key + (jw[e] << LABEL_BITS)
            if nk > ckey:
                continue
            v = jind[e]
            if nk < jkeys[v]:
                jkeys[v] = nk
                if jptr[v + 1] - jptr[v] == 1:
                    # a dead end: its one arc leads back here, so settling it would improve
                    # nothing; this is its final key (its one neighbour is settled once)
                    keys[junction_node[v]] = nk
                    settled[n_settled] = v
                    n_settled += 1
                else:
                    size = _push4(hk, hn, size, nk, v)

    # junction keys are final: fill each chain with a reached end once. When few junctions
    # were reached, visit their chains only; else scan all chains (in memory order, faster)
    n_chains = chain_a.shape[0]
    if fill_mode == 1 or (fill_mode == 0 and FEW_SETTLED * n_settled < n_chains):
        for t in range(n_settled):
            u = settled[t]
            for e in range(jptr[u], jptr[u + 1]):
                ac = jarc[e]
                if ac < 0:
                    continue
                c = ac >> 1
                ka = jkeys[chain_a[c]]
                if (ac & 1) == 1 and ka != INF_KEY:
                    continue  # filled from its end a
                _fill_chain(c, ka, jkeys[chain_b[c]], chain_ptr, chain_node, chain_off, chain_len, keys, ckey)
    else:
        for c in range(n_chains):
            ka = jkeys[chain_a[c]]
            kb = jkeys[chain_b[c]]
            if ka != INF_KEY or kb != INF_KEY:
                _fill_chain(c, ka, kb, chain_ptr, chain_node, chain_off, chain_len, keys, ckey)

    # hubs inside chains: walk outwards along their own chain while they improve
    for i in range(ns):
        s = src_nodes[i]
        k = src_keys[i]
        if k > ckey or node_junction[s] >= 0 or k >= keys[s]:
            continue
        keys[s] = k
        c = node_chain[s]
        p0 = node_pos[s]
        o = chain_off[p0]
        for p in range(p0 + 1, chain_ptr[c + 1]):
            ck = k + ((chain_off[p] - o) << LABEL_BITS)
            if ck > ckey:
                break
            v = chain_node[p]
            if ck >= keys[v]:
                break
            keys[v] = ck
        for p in range(p0 - 1, chain_ptr[c] - 1, -1):
            ck = k + ((o - chain_off[p]) << LABEL_BITS)
            if ck > ckey:
                break
            v = chain_node[p]
            if ck >= keys[v]:
                break
            keys[v] = ck
    return n_settled
