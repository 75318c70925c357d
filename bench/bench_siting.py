"""Benchmark of the planner's siting core on the Xihu demo, with the peers in the same run.

    PYTHONPATH=. .venv/bin/python bench/bench_siting.py [--quick] [--write-readme]

1. **spopt** (PySAL) ``MCLP.from_cost_matrix`` solved by PuLP's CBC, and by PuLP's HiGHS
   interface, against :func:`geo.siting.maximal_covering` (HiGHS through ``highspy``)
   on the *same* coverage matrix, p = 3, 5, 10: the objectives must be equal; the time
   ratio is printed.
2. Exact (MILP) against lazy greedy on the whole Xihu demo with every automatic
   candidate, p = 1, 3, 5: time, objective, greedy's gap to the LP relaxation bound.
3. What-if latency: one edit of a :class:`geo.scenario.Scenario` (add a station ->
   updated figures), median over 100 edits, against a full
   :func:`geo.analysis.coverage_run` recompute (median of 10).

Numbers are wall-clock on whatever machine runs this (the figures in bench/README.md
came from a 2-core VM shared with other jobs); read the ratios, not the absolute times.
``--write-readme`` replaces this benchmark's section of bench/README.md (between its
markers; appended at the end when absent) and leaves the rest of the file alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from core.settings import Settings
from data.demo import load_default_bundle
from data.network import load_network
from geo.analysis import coverage_run
from geo.candidates import candidates_from_run
from geo.scenario import Scenario
from geo.siting import DemandWeights, greedy_max_cover, maximal_covering, problem_from_run
from geo.snap import Snapper

T = TypeVar("T")
README = Path(__file__).resolve().parent / "README.md"
START = "<!-- bench_siting:start -->"
END = "<!-- bench_siting:end -->"


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def spopt_mclp(
    covers: np.ndarray, weights: np.ndarray, p: int, solver_name: str
) -> tuple[float, float, float, list[int]]:
    """spopt's MCLP on a dense cost matrix built from the coverage matrix: (objective, build_s, solve_s, sites)."""
    import pulp
    from spopt.locate import MCLP

    cost = np.where(covers, 0.0, 1.0)  # clients x facilities, within radius 0.5 iff covered
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weights, service_radius=0.5, p_facilities=p)
    t1 = time.perf_counter()
    solver = pulp.PULP_CBC_CMD(msg=False) if solver_name == "CBC" else pulp.HiGHS(msg=False)
    model.solve(solver, results=False)
    t2 = time.perf_counter()
    sites = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
    return float(pulp.value(model.problem.objective)), t1 - t0, t2 - t1, sites


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--write-readme", action="store_true", help="update this benchmark's section of bench/README.md")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    settings = Settings()
    bundle = load_default_bundle()
    if bundle.is_fallback:
        print("the Xihu data is absent: this benchmark needs ../shared/data/xihu", file=sys.stderr)
        return 2
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    snapper = Snapper(net)
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, settings)
    cands, t_cands = timed(lambda: candidates_from_run(run, towns=bundle.towns))
    problem_from_run(run, cands.iloc[:5])  # compile the numba kernel outside the timings
    prob, t_matrix = timed(lambda: problem_from_run(run, cands, weights=DemandWeights()))
    maximal_covering(prob.matrix, prob.weights, 1, base_covered=prob.base_covered)  # warm HiGHS up
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    n_unc = int((~prob.base_covered).sum())
    say(
        f"Xihu demo: {len(run.points)} beneficiaries ({n_unc} outside the 10-minute circle of "
        f"{len(run.hubs)} hubs), {net.n_nodes} network nodes; {len(cands)} automatic candidates "
        f"(gap hexes + 1 ring, 200 m apart) in {t_cands:.2f} s; coverage matrix "
        f"{prob.matrix.shape[0]} x {prob.matrix.shape[1]} ({prob.matrix.nnz} pairs, network searches) "
        f"in {t_matrix:.3f} s; weights DemandWeights() (survival 3, care 2, development 1, +25 %/urgency step)"
    )
    say(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
        f"(read the ratios, not the times); Python {platform.python_version()}, numpy {np.__version__}"
    )

    # -- 1. spopt on the same matrix -----------------------------------------------------
    unc = np.flatnonzero(~prob.base_covered & (np.asarray(prob.matrix.sum(axis=0)).ravel() > 0))
    covers = prob.matrix[:, unc].toarray().T.astype(bool)  # clients x facilities
    w_unc = prob.weights[unc]
    say()
    say("### 1. MCLP on the same coverage matrix: spopt (PuLP) vs geo.siting (highspy)")
    say()
    say("| p | geo.siting objective | geo.siting s | spopt+CBC objective | build s | solve s | ratio | "
        "spopt+PuLP-HiGHS s | ratio |")  # fmt: skip
    say("|---|---|---|---|---|---|---|---|---|")
    for p in (3, 5, 10):
        ours, t_ours = timed(
            partial(maximal_covering, prob.matrix, prob.weights, p, base_covered=prob.base_covered, method="milp")
        )
        obj_cbc, b_cbc, s_cbc, _ = spopt_mclp(covers, w_unc, p, "CBC")
        obj_hi, b_hi, s_hi, _ = spopt_mclp(covers, w_unc, p, "HiGHS")
        assert ours.proven_optimal
        assert abs(obj_cbc - ours.objective) <= 1e-6 * max(1.0, ours.objective), (obj_cbc, ours.objective)
        assert abs(obj_hi - ours.objective) <= 1e-6 * max(1.0, ours.objective), (obj_hi, ours.objective)
        r_cbc = (b_cbc + s_cbc) / t_ours
        r_hi = (b_hi + s_hi) / t_ours
        say(
            f"| {p} | {ours.objective:.2f} | {t_ours:.3f} | {obj_cbc:.2f} | {b_cbc:.2f} | {s_cbc:.2f} | "
            f"{r_cbc:.0f}x | {b_hi + s_hi:.2f} | {r_hi:.0f}x |"
        )
    say()
    say(
        f"spopt gets the dense {covers.shape[0]} x {covers.shape[1]} cost matrix of the uncovered, coverable "
        "demand (cost 0 where covered, 1 elsewhere, radius 0.5); geo.siting gets the sparse matrix of all "
        "4000 points with the existing coverage as a mask. Objectives are equal (asserted). p = 1 is left "
        "out here: geo.siting scores every single site instead of calling the MILP (section 2)."
    )

    # -- 2. exact vs greedy --------------------------------------------------------------
    say()
    say("### 2. Exact MILP vs lazy greedy, whole Xihu demo, every automatic candidate")
    say()
    say("| p | exact objective | exact s | proven optimal | greedy objective | greedy s | exact / greedy time | "
        "greedy / exact objective | LP bound s | LP bound | greedy gap to LP bound |")  # fmt: skip
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    reps = 1 if args.quick else 3
    for p in (1, 3, 5):
        milp_t, greedy_t, lp_t = [], [], []
        for _ in range(reps):
            milp, t_m = timed(
                partial(maximal_covering, prob.matrix, prob.weights, p, base_covered=prob.base_covered, method="milp")
            )
            greedy, t_g = timed(partial(greedy_max_cover, prob.matrix, prob.weights, p, base_covered=prob.base_covered))
            milp_t.append(t_m)
            greedy_t.append(greedy.runtime_s)
            lp_t.append(t_g - greedy.runtime_s)
        assert greedy.objective <= milp.objective + 1e-9 and greedy.bound >= milp.objective - 1e-6
        tm, tg = statistics.median(milp_t), statistics.median(greedy_t)
        say(
            f"| {p} | {milp.objective:.2f} | {tm:.3f} | {'yes' if milp.proven_optimal else 'no'} | "
            f"{greedy.objective:.2f} | {tg:.4f} | {tm / tg:.0f}x | {greedy.objective / milp.objective:.3f} | "
            f"{statistics.median(lp_t):.3f} | {greedy.bound:.2f} | {100 * greedy.gap:.2f}% |"
        )
    say()
    say(
        "exact = HiGHS MILP for p >= 2 (model build, greedy warm start and ranking included); for p = 1 "
        "every site is scored (exact, no MILP needed). greedy s is the lazy greedy alone; LP bound s is the "
        "extra HiGHS solve that gives greedy its honest gap."
    )

    # -- 3. what-if latency --------------------------------------------------------------
    n_edits = 30 if args.quick else 100
    rng = np.random.default_rng(7)
    sc = Scenario(run, snapper)
    sc.result()
    picks = rng.choice(len(cands), n_edits, replace=False)
    c_lon, c_lat = cands["lon"].to_numpy(dtype=np.float64), cands["lat"].to_numpy(dtype=np.float64)
    lat: list[float] = []
    full_t: list[float] = []
    every = max(1, n_edits // 10)
    for k, j in enumerate(picks.tolist(), start=1):
        t0 = time.perf_counter()
        sc.add(float(c_lon[j]), float(c_lat[j]))
        res = sc.result()
        lat.append(time.perf_counter() - t0)
        if k % every == 0:  # interleaved, so both see the same load on a shared machine
            full, t = timed(lambda: coverage_run(snapper, sc.hubs_table(), bundle.beneficiaries, settings))
            full_t.append(t)
            assert full.n_covered == res.n_covered
            assert (full.hexes["uncovered"].to_numpy() == res.hexes["uncovered"].to_numpy()).all()
    med, med_full = statistics.median(lat), statistics.median(full_t)
    say()
    say("### 3. What-if: one edit (add a station -> updated figures) vs a full recompute")
    say()
    say("| what | median ms | ratio |")
    say("|---|---|---|")
    say(f"| Scenario.add + Scenario.result (median of {n_edits} edits) | {1000 * med:.2f} | 1 |")
    say(
        f"| geo.analysis.coverage_run on the edited hub table (median of {len(full_t)}, interleaved) "
        f"| {1000 * med_full:.1f} | {med_full / med:.0f}x |"
    )
    say()
    say(
        f"After the {n_edits} edits the scenario covers {res.n_covered} of {res.n_points}; every full recompute "
        "gives the same covered count and per-hex uncovered counts (asserted)."
    )
    if args.write_readme:
        write_readme("\n".join(lines))
    return 0


def write_readme(body: str) -> None:
    """Replace (or append) this benchmark's section of bench/README.md."""
    section = (
        f"{START}\n## Siting and what-if (`bench/bench_siting.py`)\n\n"
        f"Run: `PYTHONPATH=. .venv/bin/python bench/bench_siting.py --write-readme` "
        f"({time.strftime('%Y-%m-%d')}).\n\n{body}\n{END}\n"
    )
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text, encoding="utf-8")
    print(f"updated {README}")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    sys.exit(main())
