"""Numba kernels of the routing core: bounded multi-source Dijkstra on CSR arrays.

A node's state is one int64 *key*: ``dist_cm << LABEL_BITS | hub_slot``. Comparing keys
compares (distance, hub slot) lexicographically, so ties between hubs are broken by the
lower slot, deterministically. Adding an edge of ``w`` cm to a key adds ``w << LABEL_BITS``
and keeps the label. Weights are integers, so sums are exact: an incremental update
yields the very same keys as a full recompute.

The priority queue is a lazy binary heap (stale entries are skipped on pop) that starts
small and doubles when full (:func:`_push` returns the arrays it may have replaced).

Why :mod:`geo.contract` has a second heap (4-ary, fixed capacity): these kernels serve
the *incremental* edits of :class:`geo.engine.CoverageEngine` (add a hub over existing
keys, :func:`remove_label` over one hub's region); full searches run on the contracted
graph. An edit settles only the nodes whose key changes (159 of Xihu's 58,444 nodes on
average for an added hub), so the heap is sized from the seeds (``max(64, 4 x sources)``,
or the region for :func:`remove_label`) and grows by doubling: an edit costs in
proportion to the region it touches, not to the network. The bound that would make
growth unnecessary (every push but a seed relaxes a distinct arc: pushes <= arcs +
seeds), which :func:`geo.contract.contracted_keys` allocates once per full search,
would cost every edit an allocation of the whole network's arcs: measured on Xihu (127k
arcs), an added hub took 55 us with that fixed capacity against 51 us with the growing
heap, and the gap widens with the network. Small heaps gain nothing from the 4-ary's
shallower tree; the two are therefore kept apart on purpose (both give the same keys:
ties are broken by the key itself, not by heap order).
"""

from __future__ import annotations

import numpy as np
from numba import njit

LABEL_BITS = 20
LABEL_MASK = (1 << LABEL_BITS) - 1
MAX_SLOTS = LABEL_MASK  # slot LABEL_MASK itself is never used
INF_KEY = np.iinfo(np.int64).max


@njit(cache=True, inline="always")
def _push(hk, hn, size, key, node):  # type: ignore[no-untyped-def]
    if size == hk.shape[0]:
        nk = np.empty(hk.shape[0] * 2, dtype=np.int64)
        nn = np.empty(hn.shape[0] * 2, dtype=np.int32)
        nk[:size] = hk[:size]
        nn[:size] = hn[:size]
        hk, hn = nk, nn
    i = size
    size += 1
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hn[i] = hn[p]
        i = p
    hk[i] = key
    hn[i] = node
    return hk, hn, size


@njit(cache=True, inline="always")
def _pop(hk, hn, size):  # type: ignore[no-untyped-def]
    key = hk[0]
    node = hn[0]
    size -= 1
    lk = hk[size]
    ln = hn[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= lk:
            break
        hk[i] = hk[c]
        hn[i] = hn[c]
        i = c
    hk[i] = lk
    hn[i] = ln
    return key, node, size


@njit(cache=True)
def _dijkstra(indptr, indices, weight, keys, hk, hn, size, cutoff_key):  # type: ignore[no-untyped-def]
    """Run Dijkstra from the heap contents; ``keys`` is improved in place. Returns settled count."""
    settled = 0
    while size > 0:
        key, u, size = _pop(hk, hn, size)
        if key != keys[u]:
            continue
        settled += 1
        for j in range(indptr[u], indptr[u + 1]):
            nk = key + (np.int64(weight[j]) << LABEL_BITS)
            if nk > cutoff_key:
                continue
            v = indices[j]
            if nk < keys[v]:
                keys[v] = nk
                hk, hn, size = _push(hk, hn, size, nk, v)
    return settled


@njit(cache=True)
def run_sources(indptr, indices, weight, keys, src_nodes, src_keys, cutoff_key):  # type: ignore[no-untyped-def]
    """Seed ``src_keys`` at ``src_nodes`` and improve ``keys`` in place up to ``cutoff_key``.

    With ``keys`` all ``INF_KEY`` this is the full bounded multi-source search; with
    existing keys and one source it is the incremental *add hub*. Returns settled count.
    """
    hk = np.empty(max(64, 4 * src_nodes.shape[0]), dtype=np.int64)
    hn = np.empty(hk.shape[0], dtype=np.int32)
    size = 0
    for i in range(src_nodes.shape[0]):
        s = src_nodes[i]
        k = src_keys[i]
        if k <= cutoff_key and k < keys[s]:
            keys[s] = k
            hk, hn, size = _push(hk, hn, size, k, s)
    return _dijkstra(indptr, indices, weight, keys, hk, hn, size, cutoff_key)


@njit(cache=True)
def remove_label(indptr, indices, weight, keys, label, root, hub_nodes, hub_keys, mark, cutoff_key):  # type: ignore[no-untyped-def]
    """Drop hub ``label`` (whose node is ``root``) and repair ``keys`` in place.

    The nodes labelled ``label`` form a connected region around ``root`` (each one's
    shortest-path predecessor carries the same label); they are found by a flood fill,
    reset, re-seeded from their unaffected neighbours and from the other hubs standing
    inside the region, and settled again. ``hub_nodes``/``hub_keys`` are the remaining
    active hubs; ``mark`` is a scratch boolean array of all False, left all False.
    Returns the number of nodes in the region.
    """
    if (keys[root] & LABEL_MASK) != label or keys[root] == INF_KEY:
        return 0
    stack = np.empty(64, dtype=np.int32)
    region = np.empty(64, dtype=np.int32)
    ns = 0
    nr = 0
    mark[root] = True
    stack[0] = root
    ns = 1
    while ns > 0:
        ns -= 1
        u = stack[ns]
        if nr == region.shape[0]:
            r2 = np.empty(nr * 2, dtype=np.int32)
            r2[:nr] = region[:nr]
            region = r2
        region[nr] = u
        nr += 1
        for j in range(indptr[u], indptr[u + 1]):
            v = indices[j]
            if not mark[v] and keys[v] != INF_KEY and (keys[v] & LABEL_MASK) == label:
                mark[v] = True
                if ns == stack.shape[0]:
                    s2 = np.empty(ns * 2, dtype=np.int32)
                    s2[:ns] = stack[:ns]
                    stack = s2
                stack[ns] = v
                ns += 1
    for i in range(nr):
        keys[region[i]] = INF_KEY
    hk = np.empty(max(64, nr), dtype=np.int64)
    hn = np.empty(hk.shape[0], dtype=np.int32)
    size = 0
    for i in range(hub_nodes.shape[0]):
        s = hub_nodes[i]
        if mark[s] and hub_keys[i] <= cutoff_key and hub_keys[i] < keys[s]:
            keys[s] = hub_keys[i]
            hk, hn, size = _push(hk, hn, size, hub_keys[i], s)
    for i in range(nr):
        v = region[i]
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if mark[u] or keys[u] == INF_KEY:
                continue
            nk = keys[u] + (np.int64(weight[j]) << LABEL_BITS)
            if nk <= cutoff_key and nk < keys[v]:
                keys[v] = nk
                hk, hn, size = _push(hk, hn, size, nk, v)
    for i in range(nr):
        mark[region[i]] = False
    _dijkstra(indptr, indices, weight, keys, hk, hn, size, cutoff_key)
    return nr
