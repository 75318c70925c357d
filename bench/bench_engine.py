"""Benchmark of the routing core against its peers (networkx, pandana, scipy, osmnx, pyrosm, h3).

Run by hand, never by pytest::

    cd /work/main && PYTHONPATH=. .venv/bin/python bench/bench_engine.py [--quick] [--skip-osmnx]

Every peer is first checked against our answer on the same input (exact equality where the
peer works in the same integer centimetres, a stated tolerance where it does not); a
disagreement is printed and makes the script exit with status 1. Timings are medians over
repeats; ratios are ``peer time / our time`` measured in the same run (so > 1 means we are
faster). The Markdown table goes to stdout, progress to stderr, and the rows to
``bench/results/engine.json``. See ``bench/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from data.network import load_network, network_from_lines, network_from_osm
from geo.contract import ChainContraction, contract_chains, contraction_of
from geo.engine import CoverageEngine, cutoff_key, keys_to_dist_label, multi_source_keys, source_keys
from geo.graph import WalkNetwork, great_circle_m, network_from_edges
from geo.kernel import INF_KEY, run_sources
from geo.snap import Snapper, lonlat_to_metric

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
XIHU_PBF = SHARED / "xihu" / "xihu.osm.pbf"
XIHU_XML = SHARED / "xihu" / "xihu.osm"
HANGZHOU_GPKG = SHARED / "hangzhou" / "hangzhou_osm_2019.gpkg"
RESULTS = ROOT / "bench" / "results" / "engine.json"

METRIC_CRS = "EPSG:32651"
CUTOFF_CM = 75_000  # 750 m: 10 minutes at 4.5 km/h
SEED = 20_191_128
N_POINTS = 100_000
H3_RES = 9
#: pandana stores weights as int(metres * 1000) (mm) and returns float32 metres; a path of
#: a few hundred raw OSM segments can drift by a few millimetres, hence a 2 cm tolerance
PANDANA_TOL_CM = 2.0
#: how much farther (great-circle, relative) our UTM-nearest node may be than osmnx's haversine-nearest
SNAP_TOL_REL = 0.01
#: shortest sample of back-to-back calls (see :func:`per_call`)
MIN_SAMPLE_S = 0.05


# -- rows and timing ---------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table.

    ``ours`` and ``peer`` are seconds (``unit="s"``) or bytes (``unit="B"``);
    ``ratio`` is ``peer / ours`` (how many times faster or smaller we are).
    """

    section: str
    network: str
    measure: str
    ours: float | None
    peer: str = ""
    peer_value: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""
    unit: str = "s"


@dataclass
class Run:
    args: argparse.Namespace
    rows: list[Row] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        shown = fmt(row.ours, row.unit) if row.ours is not None else "-"
        extra = f" | {row.peer}: {fmt(row.peer_value, row.unit)}" if row.peer_value is not None else ""
        log(f"  {row.network:9s} {row.measure}: {shown}{extra} {verdict(row)}")
        return row

    def disagree(self, msg: str) -> None:
        self.disagreements.append(msg)
        log(f"  !! DISAGREEMENT: {msg}")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def repeat(fn: Callable[[], Any], n: int) -> list[float]:
    """Wall-clock seconds of ``n`` calls of ``fn``."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def per_call(fn: Callable[[], Any], reps: int, *, min_sample_s: float = MIN_SAMPLE_S) -> list[float]:
    """Seconds per call of ``fn``: ``reps`` samples of back-to-back calls lasting >= ``min_sample_s`` each.

    As ``timeit``'s autorange: a call of 2 ms is timed in batches of ~25 so that, on a
    shared machine, it sees the same average share of the CPU as a peer's 100 ms call
    (a single 2 ms call is either lucky or hit by a whole scheduler time slice).
    """
    one = min(repeat(fn, 2))
    number = max(1, math.ceil(min_sample_s / max(one, 1e-7)))
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number)
    return out


def fmt(v: float | None, unit: str = "s") -> str:
    if v is None:
        return "-"
    if unit == "B":
        return f"{v / 2**20:.1f} MiB"
    if v < 1e-3:
        return f"{v * 1e6:.0f} µs"
    if v < 1.0:
        return f"{v * 1e3:.2f} ms"
    return f"{v:.2f} s"


def verdict(row: Row) -> str:
    if row.passed is None:
        return "info" if not row.target else "n/a"
    return "PASS" if row.passed else "FAIL"


def ratio(peer: float | None, ours: float | None) -> float | None:
    if peer is None or ours is None or ours <= 0:
        return None
    return peer / ours


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """Silence the C++ progress output pandana writes straight to file descriptors 1 and 2."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


# -- helpers -----------------------------------------------------------------------------


def random_hubs(n_nodes: int, k: int, salt: int) -> npt.NDArray[np.int64]:
    return np.random.default_rng(SEED + salt).choice(n_nodes, size=k, replace=False).astype(np.int64)


def random_points(net: WalkNetwork, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``n`` uniform points (lon, lat) in the bounding box of the network's nodes."""
    rng = np.random.default_rng(SEED + 7)
    lon = rng.uniform(net.node_lon.min(), net.node_lon.max(), n)
    lat = rng.uniform(net.node_lat.min(), net.node_lat.max(), n)
    return lon, lat


def nx_graph(net: WalkNetwork) -> Any:
    """An undirected networkx graph of the same edges with the same integer cm weights."""
    import networkx as nx

    u, v, w = net.edge_arrays()
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    return g


def warm_jit(net: WalkNetwork) -> float:
    """Call every kernel once (numba loads or compiles them); returns the seconds it took.

    This also builds (and caches) ``contraction_of(net)``.
    """
    t0 = time.perf_counter()
    eng = CoverageEngine(net, cutoff_cm=CUTOFF_CM)
    eng.set_hubs(np.array([0, 1]), np.array([0, 0]))
    slot = eng.add_hub(2)
    eng.remove_hub(slot)
    eng.move_hub(0, 3)
    eng.remove_hub(1)
    eng.restore_hub(1)
    multi_source_keys(net, np.array([0]), np.array([0]), cutoff_cm=CUTOFF_CM)
    return time.perf_counter() - t0


# -- 1. multi-source bounded search ------------------------------------------------------


def bench_multi_source(run: Run, name: str, net: WalkNetwork) -> None:
    import networkx as nx
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    a = run.args
    n = net.n_nodes
    log(f"[1] multi-source search on {name} ({n:,} nodes, {net.n_edges:,} edges)")
    t0 = time.perf_counter()
    g = nx_graph(net)
    t_nx_build = time.perf_counter() - t0
    run.add(Row("1 setup", name, "networkx Graph from edge_arrays()", None, "networkx", t_nx_build, note="one-off"))
    t_contract = repeat(lambda: contract_chains(net), a.reps_build)
    con = contraction_of(net)  # built once here (or by warm_jit), never inside a timed call
    run.add(
        Row(
            "1 setup",
            name,
            "contract_chains (degree-2 chains -> junction graph)",
            median(t_contract),
            note=f"one-off, cached on the network; {con.n_junctions:,} junctions "
            f"({con.n_junctions / n:.0%} of the nodes), {con.n_chains:,} chains, "
            f"{fmt(contraction_nbytes(con), 'B')}; "
            f"min {fmt(min(t_contract))} of {len(t_contract)}",
        )
    )
    csgraph = csr_matrix((net.weight_cm.astype(np.float64), net.indices, net.indptr), shape=(n, n))

    pn = None
    if not a.skip_pandana:
        pn, t_pn_build = pandana_network(net)
        run.add(
            Row(
                "1 setup",
                name,
                "pandana.Network (contraction hierarchies)",
                None,
                "pandana",
                t_pn_build,
                note="one-off; weights passed in metres (see README)",
            )
        )

    for salt, k in enumerate((100, 500)):
        hubs = random_hubs(n, k, salt)
        zero = np.zeros(k, dtype=np.int64)

        def ours(hubs: npt.NDArray[np.int64] = hubs, zero: npt.NDArray[np.int64] = zero) -> npt.NDArray[np.int64]:
            return multi_source_keys(net, hubs, zero, cutoff_cm=CUTOFF_CM)

        def peer_nx(hubs: npt.NDArray[np.int64] = hubs) -> dict[int, int]:
            return nx.multi_source_dijkstra_path_length(g, set(hubs.tolist()), cutoff=CUTOFF_CM, weight="weight")

        def peer_scipy(hubs: npt.NDArray[np.int64] = hubs) -> Any:
            return dijkstra(csgraph, directed=True, indices=hubs, limit=CUTOFF_CM, min_only=True)

        src_nodes = hubs.astype(np.int32)
        src_keys = source_keys(zero, np.arange(k))

        def full_kernel(src_nodes: npt.NDArray[np.int32] = src_nodes, src_keys: Any = src_keys) -> Any:
            keys = np.full(n, INF_KEY, dtype=np.int64)
            run_sources(net.indptr, net.indices, net.weight_cm, keys, src_nodes, src_keys, cutoff_key(CUTOFF_CM))
            return keys

        keys = ours()
        dist, _ = keys_to_dist_label(keys)
        reached = int((dist >= 0).sum())
        if not np.array_equal(full_kernel(), keys):
            bad = int((full_kernel() != keys).sum())
            run.disagree(f"{name} {k} hubs: the contracted search differs from the full-graph kernel at {bad} nodes")
        measure = f"multi-source 750 m, {k} hubs"

        # networkx: same graph, same integer weights -> must be equal node for node
        d_nx = peer_nx()
        arr = np.full(n, -1, dtype=np.int64)
        arr[np.fromiter(d_nx.keys(), dtype=np.int64)] = np.fromiter(d_nx.values(), dtype=np.int64)
        if not np.array_equal(arr, dist):
            bad = int((arr != dist).sum())
            run.disagree(f"{name} {k} hubs: networkx differs from ours at {bad} nodes")
        d_sp = np.asarray(peer_scipy())
        sp = np.where(np.isfinite(d_sp), d_sp, -1).astype(np.int64)
        if not np.array_equal(sp, dist):
            run.disagree(f"{name} {k} hubs: scipy csgraph differs from ours at {int((sp != dist).sum())} nodes")

        t_ours = per_call(ours, a.reps_ours)
        t_nx = per_call(peer_nx, a.reps_nx)
        t_sp = per_call(peer_scipy, a.reps_ours)
        t_fk = per_call(full_kernel, a.reps_ours)
        mo, mn, ms, mf = median(t_ours), median(t_nx), median(t_sp), median(t_fk)
        r = ratio(mn, mo)
        run.add(
            Row(
                "1 multi-source",
                name,
                measure,
                mo,
                "networkx multi_source_dijkstra_path_length",
                mn,
                r,
                "≥30× (aim 100×)",
                r is not None and r >= 30,
                f"{reached:,} nodes reached; equal node for node; ours min {fmt(min(t_ours))}, "
                f"networkx min {fmt(min(t_nx))}; {a.reps_ours}/{a.reps_nx} repeats",
            )
        )
        run.add(
            Row(
                "1 multi-source",
                name,
                measure,
                mo,
                "geo.kernel.run_sources on the full graph",
                mf,
                ratio(mf, mo),
                note="the search before chain contraction (the edits still use it); keys equal bit for bit",
            )
        )
        run.add(
            Row(
                "1 multi-source",
                name,
                measure,
                mo,
                "scipy csgraph.dijkstra(min_only, limit)",
                ms,
                ratio(ms, mo),
                note="reference: compiled single-thread Dijkstra; equal node for node",
            )
        )
        if pn is not None:
            bench_pandana_query(run, name, net, pn, hubs, dist, mo, measure)


def contraction_nbytes(con: ChainContraction) -> int:
    """Bytes of the contraction's arrays."""
    return sum(int(v.nbytes) for v in vars(con).values() if isinstance(v, np.ndarray))


def pandana_network(net: WalkNetwork) -> tuple[Any, float]:
    """Build pandana's network on our nodes and edges; returns it and the seconds it took.

    Weights go in metres: pandana multiplies them by 1000 into 32-bit integers, so the
    engine's centimetres would overflow on long contraction shortcuts (we saw the
    contraction of Xihu run for over 12 minutes with cm weights; in metres it takes seconds).
    """
    import pandana
    import pandas as pd

    u, v, w = net.edge_arrays()
    t0 = time.perf_counter()
    with quiet_fds(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pn = pandana.Network(
            pd.Series(net.node_x),
            pd.Series(net.node_y),
            pd.Series(u),
            pd.Series(v),
            pd.DataFrame({"walk_m": w / 100.0}),
            twoway=True,
        )
    return pn, time.perf_counter() - t0


def bench_pandana_query(
    run: Run,
    name: str,
    net: WalkNetwork,
    pn: Any,
    hubs: npt.NDArray[np.int64],
    dist: npt.NDArray[np.int64],
    t_ours: float,
    measure: str,
) -> None:
    import pandas as pd

    cutoff_m = CUTOFF_CM / 100.0
    x = pd.Series(net.node_x[hubs])
    y = pd.Series(net.node_y[hubs])

    def query() -> Any:
        with quiet_fds(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pn.set_pois("hub", cutoff_m, 1, x, y)
            return pn.nearest_pois(cutoff_m, "hub", num_pois=1)

    res = query()
    mapped = pn.get_node_ids(x, y).to_numpy()
    if not np.array_equal(mapped, hubs):
        run.disagree(f"{name}: pandana maps {int((mapped != hubs).sum())} hub(s) to other nodes")
    pd_cm = res[1].reindex(range(net.n_nodes)).to_numpy(dtype=np.float64) * 100.0
    # pandana reports max_distance (750 m) for "nothing in reach": compare away from the cutoff
    clear = np.abs(np.where(dist >= 0, dist, CUTOFF_CM + 10_000) - CUTOFF_CM) > PANDANA_TOL_CM
    ours_in = dist >= 0
    pd_in = pd_cm < CUTOFF_CM - PANDANA_TOL_CM / 2
    reach_bad = int(((ours_in != pd_in) & clear).sum())
    both = ours_in & pd_in
    diff = float(np.abs(pd_cm[both] - dist[both]).max()) if both.any() else 0.0
    if reach_bad or diff > PANDANA_TOL_CM:
        run.disagree(f"{name} {len(hubs)} hubs: pandana reach differs at {reach_bad} nodes, max |Δ| {diff:.2f} cm")
    times = per_call(query, run.args.reps_pandana)
    mp = median(times)
    run.add(
        Row(
            "1 multi-source",
            name,
            measure,
            t_ours,
            "pandana set_pois + nearest_pois",
            mp,
            ratio(mp, t_ours),
            note=f"agrees within {PANDANA_TOL_CM:g} cm (max |Δ| {diff:.2f} cm, float32); "
            f"pandana uses 2 OpenMP threads; {run.args.reps_pandana} repeats",
        )
    )


# -- 2. incremental edits ----------------------------------------------------------------


def bench_incremental(run: Run, name: str, net: WalkNetwork) -> None:
    a = run.args
    n = net.n_nodes
    log(f"[2] incremental edits on {name}, 500 hubs, {a.edits} random edits each")
    hubs = random_hubs(n, 500, 11)
    eng = CoverageEngine(net, cutoff_cm=CUTOFF_CM)
    eng.set_hubs(hubs, np.zeros(500, dtype=np.int64))
    rng = np.random.default_rng(SEED + 12)
    t_add: list[float] = []
    t_remove: list[float] = []
    t_restore: list[float] = []
    t_move: list[float] = []
    pc = time.perf_counter
    for _ in range(a.edits):
        node = int(rng.integers(n))
        t0 = pc()
        slot = eng.add_hub(node)
        t_add.append(pc() - t0)
        eng.remove_hub(slot)  # back to 500 active hubs (untimed)

        s = int(rng.integers(500))
        t0 = pc()
        eng.remove_hub(s)
        t_remove.append(pc() - t0)
        t0 = pc()
        eng.restore_hub(s)
        t_restore.append(pc() - t0)

        s = int(rng.integers(500))
        node = int(rng.integers(n))
        t0 = pc()
        eng.move_hub(s, node)
        t_move.append(pc() - t0)

    # the engine's promise: edits give exactly what a full recompute gives
    edited = eng.keys.copy()
    t_full = per_call(eng.recompute, a.reps_ours)
    if not np.array_equal(edited, eng.keys):
        run.disagree(f"{name}: keys after {a.edits * 4} edits differ from a full recompute")
    mf = median(t_full)
    run.add(Row("2 incremental", name, "full recompute, 500 hubs", mf, note=f"{a.reps_ours} repeats"))
    for what, ts in (("add_hub", t_add), ("remove_hub", t_remove), ("restore_hub", t_restore), ("move_hub", t_move)):
        m = median(ts)
        p90 = float(np.percentile(ts, 90))
        target = "" if what == "restore_hub" else "< 1 ms median"
        run.add(
            Row(
                "2 incremental",
                name,
                f"{what} (500 hubs)",
                m,
                "full recompute",
                mf,
                ratio(mf, m),
                target,
                (m < 1e-3) if target else None,
                f"p90 {fmt(p90)}, max {fmt(max(ts))}; {len(ts)} edits; final state equals recompute",
            )
        )


# -- 3. building the network -------------------------------------------------------------


def bench_build(run: Run, net_ref: WalkNetwork) -> None:
    a = run.args
    log("[3] building the Xihu network")
    t_pbf = repeat(lambda: network_from_osm(XIHU_PBF, metric_crs=METRIC_CRS), a.reps_build)
    t_xml = repeat(lambda: network_from_osm(XIHU_XML, metric_crs=METRIC_CRS), max(1, a.reps_build // 2))
    t_cold = []
    t_warm: list[float]
    with tempfile.TemporaryDirectory(prefix="bench-netcache-") as tmp:
        for i in range(max(1, a.reps_build // 2)):
            d = Path(tmp) / f"cold{i}"
            t0 = time.perf_counter()
            load_network(XIHU_PBF, metric_crs=METRIC_CRS, cache_dir=d)
            t_cold.append(time.perf_counter() - t0)
        warm_dir = Path(tmp) / "cold0"
        t_warm = per_call(lambda: load_network(XIHU_PBF, metric_crs=METRIC_CRS, cache_dir=warm_dir), a.reps_ours)
        cached = load_network(XIHU_PBF, metric_crs=METRIC_CRS, cache_dir=warm_dir)
    if not cached.meta.get("from_cache"):
        run.disagree("load_network did not read its warm cache")
    for k, arr in net_ref.to_arrays().items():
        if not np.array_equal(arr, cached.to_arrays()[k]):
            run.disagree(f"cached network differs from a fresh parse in {k}")

    t_ox: list[float] = []
    ox_note = "skipped (--skip-osmnx)"
    if not a.skip_osmnx:
        import osmnx as ox

        for _ in range(a.osmnx_repeats):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = ox.graph_from_xml(XIHU_XML)
            t_ox.append(time.perf_counter() - t0)
        ox_note = (
            f"osmnx: {len(g):,} nodes / {g.number_of_edges():,} directed edges after simplification "
            f"({len(t_ox)} run(s)); ours keeps every vertex: {net_ref.n_nodes:,} nodes / "
            f"{net_ref.n_edges:,} undirected edges"
        )
        del g
    mox = median(t_ox) if t_ox else None
    mpbf, mxml, mcold, mwarm = median(t_pbf), median(t_xml), median(t_cold), median(t_warm)
    r = ratio(mox, mpbf)
    peer = "osmnx.graph_from_xml(xihu.osm)"
    run.add(
        Row(
            "3 build",
            "xihu",
            "network_from_osm(xihu.osm.pbf)",
            mpbf,
            peer,
            mox,
            r,
            "≥10× vs osmnx",
            None if r is None else r >= 10,
            ox_note,
        )
    )
    run.add(
        Row(
            "3 build",
            "xihu",
            "network_from_osm(xihu.osm) (same XML as osmnx)",
            mxml,
            peer,
            mox,
            ratio(mox, mxml),
            note="same input file as the peer",
        )
    )
    run.add(
        Row(
            "3 build",
            "xihu",
            "load_network, cold cache (hash + parse + write .npz)",
            mcold,
            peer,
            mox,
            ratio(mox, mcold),
            note=f"fresh temp dir per run; {len(t_cold)} runs",
        )
    )
    run.add(
        Row(
            "3 build",
            "xihu",
            "load_network, warm cache (hash + read .npz)",
            mwarm,
            peer,
            mox,
            ratio(mox, mwarm),
            "< 0.5 s",
            mwarm < 0.5,
            "arrays equal to a fresh parse",
        )
    )
    bench_pyrosm(run, mpbf)


def bench_pyrosm(run: Run, t_ours: float) -> None:
    try:
        import pyrosm
    except ImportError as exc:
        run.add(Row("3 build", "xihu", "network_from_osm(xihu.osm.pbf)", t_ours, "pyrosm", note=f"skipped: {exc}"))
        return
    results = {}
    for nodes in (False, True):

        def peer(nodes: bool = nodes) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pyrosm.OSM(str(XIHU_PBF)).get_network("walking", nodes=nodes)

        try:
            out = peer()
        except Exception as exc:  # a peer failing is reported, not fatal
            run.add(Row("3 build", "xihu", "network_from_osm(xihu.osm.pbf)", t_ours, "pyrosm", note=f"failed: {exc}"))
            return
        results[nodes] = (median(repeat(peer, max(1, run.args.reps_build // 2))), out)
    m0, ways = results[False]
    m1, (nodes_gdf, edges_gdf) = results[True]
    run.add(
        Row(
            "3 build",
            "xihu",
            "network_from_osm(xihu.osm.pbf)",
            t_ours,
            'pyrosm OSM(pbf).get_network("walking")',
            m0,
            ratio(m0, t_ours),
            note=f"pyrosm returns {len(ways):,} ways as a GeoDataFrame (no topology, no graph)",
        )
    )
    run.add(
        Row(
            "3 build",
            "xihu",
            "network_from_osm(xihu.osm.pbf)",
            t_ours,
            'pyrosm get_network("walking", nodes=True)',
            m1,
            ratio(m1, t_ours),
            note=f"pyrosm: {len(nodes_gdf):,} nodes / {len(edges_gdf):,} edge rows (GeoDataFrames, not yet a graph)",
        )
    )


# -- 4. snapping -------------------------------------------------------------------------


def bench_snap(run: Run, net: WalkNetwork, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> None:
    from scipy.spatial import cKDTree

    a = run.args
    log(f"[4] snapping {len(lon):,} points on xihu")
    t_build = median(repeat(lambda: Snapper(net), 3))
    sn = Snapper(net)
    ours = sn.snap(lon, lat)
    t_snap = per_call(lambda: sn.snap(lon, lat), a.reps_ours)
    ms = median(t_snap)
    t_proj = median(per_call(lambda: lonlat_to_metric(lon, lat, METRIC_CRS), a.reps_ours))
    run.add(
        Row(
            "4 snap",
            "xihu",
            f"Snapper.snap, {len(lon):,} points",
            ms,
            target="< 0.2 s",
            passed=ms < 0.2,
            note=f"KD-tree build {fmt(t_build)} excluded (one-off); of the time, WGS-84 -> UTM projection "
            f"(pyproj) takes {fmt(t_proj)}, the rest is cKDTree.query(workers=-1, 2 cores)",
        )
    )

    tree = cKDTree(np.column_stack([net.node_x, net.node_y]))

    def peer_kd() -> tuple[Any, Any]:
        x, y = lonlat_to_metric(lon, lat, METRIC_CRS)
        return tree.query(np.column_stack([x, y]), k=1, workers=1)

    d_kd, i_kd = peer_kd()
    if not (np.array_equal(i_kd, ours.node) and np.allclose(d_kd, ours.access_m, rtol=0, atol=1e-9)):
        run.disagree("snap: scipy cKDTree gives other nearest distances than Snapper")
    mk = median(per_call(peer_kd, a.reps_ours))
    run.add(
        Row(
            "4 snap",
            "xihu",
            f"Snapper.snap, {len(lon):,} points",
            ms,
            "pyproj + scipy cKDTree.query (workers=1)",
            mk,
            ratio(mk, ms),
            note="reference: the same tree single-threaded; equal distances",
        )
    )

    import networkx as nx
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_nodes_from(
        (i, {"x": x, "y": y}) for i, (x, y) in enumerate(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True))
    )

    def peer_ox() -> tuple[Any, Any]:
        return ox.distance.nearest_nodes(g, lon, lat, return_dist=True)

    nn, d_ox = peer_ox()
    nn, d_ox = np.asarray(nn), np.asarray(d_ox)
    same = float(np.mean(nn == ours.node))
    # osmnx picks the nearest node on a sphere (haversine), ours the nearest in UTM 51N (on
    # the WGS-84 ellipsoid). At 30°N a sphere's north-south and east-west distances differ
    # from the ellipsoid's by -0.3 % and +0.2 %, so near-ties may go either way: our node's
    # great-circle distance may exceed osmnx's minimum by up to ~0.5 %, never more
    hv = great_circle_m(lon, lat, net.node_lon[ours.node], net.node_lat[ours.node])
    rel = (hv - d_ox) / np.maximum(d_ox, 1.0)
    excess = float(rel.max())
    # osmnx's Earth radius is 6,371,009 m, ours 6,371,008.8 m: allow 1e-7 relative below its minimum
    if excess > SNAP_TOL_REL or float(rel.min()) < -1e-7:
        run.disagree(
            f"snap: our node's great-circle distance is {float(rel.min()):.2e} to {excess:.3%} off osmnx's nearest"
        )
    mo = median(per_call(peer_ox, max(3, a.reps_nx)))
    run.add(
        Row(
            "4 snap",
            "xihu",
            f"Snapper.snap, {len(lon):,} points",
            ms,
            "osmnx.distance.nearest_nodes (unprojected, BallTree haversine)",
            mo,
            ratio(mo, ms),
            note=f"osmnx builds its tree inside every call (ours+build = {fmt(ms + t_build)}, "
            f"ratio {mo / (ms + t_build):.1f}×); same node for {same:.2%} of points, the rest are near-ties "
            f"between great-circle and UTM distance (our node at most {excess:.2%} farther)",
        )
    )


# -- 5. H3 indexing ----------------------------------------------------------------------


def bench_h3(run: Run, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> None:
    import h3

    a = run.args
    log(f"[5] H3-indexing {len(lon):,} points")
    measure = f"latlng_to_cells, {len(lon):,} points, res {H3_RES}"
    try:
        from geo.hexes import latlng_to_cells
    except ImportError as exc:
        run.add(Row("5 h3", "xihu", measure, None, target="< 0.1 s", note=f"SKIPPED: geo.hexes not importable ({exc})"))
        return
    lat_l, lon_l = lat.tolist(), lon.tolist()

    def peer() -> list[str]:
        return [h3.latlng_to_cell(y, x, H3_RES) for y, x in zip(lat_l, lon_l, strict=True)]

    ours = np.asarray(latlng_to_cells(lat, lon, H3_RES))
    ref = np.array([h3.str_to_int(c) for c in peer()], dtype=np.uint64)
    if not np.array_equal(ours.astype(np.uint64), ref):
        bad = int((ours.astype(np.uint64) != ref).sum())
        run.disagree(f"h3: geo.hexes.latlng_to_cells differs from h3.latlng_to_cell at {bad} points")
    mo = median(per_call(lambda: latlng_to_cells(lat, lon, H3_RES), a.reps_ours))
    mp = median(per_call(peer, 5))
    run.add(
        Row(
            "5 h3",
            "xihu",
            measure,
            mo,
            "Python loop over h3.latlng_to_cell (str)",
            mp,
            ratio(mp, mo),
            "< 0.1 s",
            mo < 0.1,
            "equal cells (as uint64)",
        )
    )


# -- 6. memory ---------------------------------------------------------------------------


def bench_memory(run: Run, name: str, net: WalkNetwork) -> None:
    log(f"[6] memory on {name}")
    n = net.n_nodes
    csr = net.indptr.nbytes + net.indices.nbytes + net.weight_cm.nbytes
    con = contraction_nbytes(contraction_of(net))
    eng_state = n * 8 + n  # keys (int64) + the scratch mark (bool)
    coords = sum(arr.nbytes for k, arr in net.to_arrays().items() if k.startswith("node_"))
    # the inputs (edge list, coordinates) exist before tracing starts, as for networkx below
    uu, vv, w = net.edge_arrays()
    length_m = w / 100.0
    del w
    hubs = random_hubs(n, 500, 21)
    gc.collect()
    tracemalloc.start()
    built = network_from_edges(net.node_lon, net.node_lat, uu, vv, length_m, metric_crs=METRIC_CRS, drop_isolated=False)
    eng = CoverageEngine(built, cutoff_cm=CUTOFF_CM)
    eng.set_hubs(hubs, np.zeros(500, dtype=np.int64))
    ours_cur, ours_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if not (np.array_equal(built.indices, net.indices) and np.array_equal(built.weight_cm, net.weight_cm)):
        run.disagree(f"{name}: CSR rebuilt from edge_arrays() differs from the loaded one")
    del built, eng, uu, vv
    gc.collect()

    tracemalloc.start()
    g = nx_graph(net)
    nx_cur, nx_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del g
    gc.collect()
    run.add(
        Row(
            "6 memory",
            name,
            "CSR arrays + chain contraction + engine keys (nbytes)",
            csr + con + eng_state,
            "networkx Graph (tracemalloc, resident after build)",
            nx_cur,
            ratio(nx_cur, csr + con + eng_state),
            note=f"CSR {fmt(csr, 'B')} + contraction {fmt(con, 'B')} + keys/mark {fmt(eng_state, 'B')}; "
            f"node coords/ids add {fmt(coords, 'B')}; "
            f"tracemalloc of the whole WalkNetwork + engine with 500 hubs: resident {fmt(ours_cur, 'B')}, "
            f"peak while building {fmt(ours_peak, 'B')}; networkx peak while building {fmt(nx_peak, 'B')}",
            unit="B",
        )
    )


# -- main --------------------------------------------------------------------------------


def markdown(run: Run) -> str:
    head = "| § | network | measure | ours | peer | peer | ratio | target | result | note |"
    lines = [head, "|---|---|---|---:|---|---:|---:|---|---|---|"]
    for r in run.rows:
        rt = "-" if r.ratio is None else f"{r.ratio:,.1f}×"
        lines.append(
            f"| {r.section} | {r.network} | {r.measure} | {fmt(r.ours, r.unit) if r.ours is not None else '-'} | "
            f"{r.peer or '-'} | {fmt(r.peer_value, r.unit)} | {rt} | {r.target or '-'} | {verdict(r)} | {r.note} |"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "numba", "scipy", "networkx", "osmnx", "pandana", "pyrosm", "h3", "osmium"):
        try:
            out[mod] = str(getattr(__import__(mod), "__version__", "?"))
        except ImportError:
            out[mod] = "absent"
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="Xihu only, fewer repeats")
    p.add_argument(
        "--skip-osmnx", action="store_true", help="skip osmnx.graph_from_xml (slow); nearest_nodes still runs"
    )
    p.add_argument("--skip-pandana", action="store_true", help="skip pandana (its contraction takes ~10-50 s)")
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON file for the rows (default: %(default)s)")
    args = p.parse_args(argv)
    q = args.quick
    args.reps_ours = 9 if q else 21
    args.reps_nx = 3 if q else 5
    args.reps_pandana = 2 if q else 3
    args.reps_build = 3 if q else 5
    args.osmnx_repeats = 1 if q else 2
    args.edits = 100 if q else 200
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for path in (XIHU_PBF, XIHU_XML) if args.quick else (XIHU_PBF, XIHU_XML, HANGZHOU_GPKG):
        if not path.is_file():
            log(f"missing real data: {path} (../shared/data is absent)")
            return 2
    run = Run(args)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    log("loading networks")
    nets: dict[str, WalkNetwork] = {}
    t0 = time.perf_counter()
    nets["xihu"] = network_from_osm(XIHU_PBF, metric_crs=METRIC_CRS)
    t_x = time.perf_counter() - t0
    if not args.quick:
        t0 = time.perf_counter()
        nets["hangzhou"] = network_from_lines(HANGZHOU_GPKG, layer="roads", metric_crs=METRIC_CRS)
        run.add(
            Row(
                "0 setup",
                "hangzhou",
                'network_from_lines(hangzhou gpkg, layer="roads")',
                time.perf_counter() - t0,
                note=f"{nets['hangzhou'].n_nodes:,} nodes, {nets['hangzhou'].n_edges:,} edges; one-off",
            )
        )
    t_jit = warm_jit(nets["xihu"])
    run.add(
        Row(
            "0 setup",
            "xihu",
            "first call of the numba kernels (JIT load/compile)",
            t_jit,
            note=f"excluded from every timing below; xihu: {nets['xihu'].n_nodes:,} nodes, "
            f"{nets['xihu'].n_edges:,} edges, parsed in {fmt(t_x)}",
        )
    )

    for name, net in nets.items():
        bench_multi_source(run, name, net)
    for name, net in nets.items():
        bench_incremental(run, name, net)
    bench_build(run, nets["xihu"])
    lon, lat = random_points(nets["xihu"], N_POINTS)
    bench_snap(run, nets["xihu"], lon, lat)
    bench_h3(run, lon, lat)
    for name, net in nets.items():
        bench_memory(run, name, net)

    total = time.perf_counter() - t_start
    print(markdown(run))
    print()
    load_end = os.getloadavg()
    print(
        f"ratio = peer / ours (× faster or × smaller); times are medians. Total bench time {total:.0f} s; "
        f"{os.cpu_count()} CPUs, 1-min load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end."
    )
    if run.disagreements:
        print("\nPEERS DISAGREE WITH US:")
        for d in run.disagreements:
            print(f"- {d}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": load_end,
            "platform": platform.platform(),
        },
        "versions": versions(),
        "networks": {k: {"n_nodes": v.n_nodes, "n_edges": v.n_edges} for k, v in nets.items()},
        "total_s": total,
        "rows": [asdict(r) | {"result": verdict(r)} for r in run.rows],
        "disagreements": run.disagreements,
    }
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"wrote {args.out}")
    return 1 if run.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
