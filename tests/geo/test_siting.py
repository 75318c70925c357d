"""Siting models: hand-checkable lattice optima, brute force on the real network, honest greedy gaps."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import sparse

from core.errors import InputColumnsError, SitingError
from core.i18n import error_text
from core.settings import Settings
from geo.candidates import candidates_from_run, coverage_matrix, main_component_mask
from geo.graph import WalkNetwork
from geo.scenario import Scenario
from geo.siting import (
    DemandWeights,
    covered_weight,
    fewest_sites,
    greedy_max_cover,
    lp_relaxation_bound,
    maximal_covering,
    problem_from_run,
    recommend_sites,
    set_covering,
    siting_problem,
    solution_to_frame,
)
from tests.conftest import DLAT, DLON, LAT0, LON0, Demo

N = 20
ONE_MINUS_1_E = 1.0 - 1.0 / math.e


# ------------------------------------------------------------------------------ brute force


def brute_mclp(
    a: npt.NDArray[np.bool_],
    w: npt.NDArray[np.float64],
    base: npt.NDArray[np.bool_],
    p: int,
    *,
    allowed: Sequence[int] | None = None,
    groups: Sequence[Sequence[int]] = (),
) -> tuple[float, tuple[int, ...]]:
    sites = range(a.shape[0]) if allowed is None else allowed
    best, arg = -1.0, ()
    for combo in itertools.combinations(sites, p):
        if any(not set(g) & set(combo) for g in groups):
            continue
        val = float(w[a[list(combo)].any(axis=0) & ~base].sum())
        if val > best + 1e-12:
            best, arg = val, combo
    return best, arg


def plain_greedy(
    a: npt.NDArray[np.bool_], w: npt.NDArray[np.float64], base: npt.NDArray[np.bool_], p: int
) -> list[int]:
    covered = base.copy()
    order: list[int] = []
    for _ in range(p):
        gains = [(-1.0 if j in order else float(w[a[j] & ~covered].sum())) for j in range(a.shape[0])]
        j = int(np.argmax(gains))  # first maximum: lower index on ties
        order.append(j)
        covered |= a[j]
    return order


# ------------------------------------------------------------------------------ lattice, by hand


def lattice_points() -> pd.DataFrame:
    """Cluster A (10 at row 5, col 2), B (10 at 5, 12), C (6 at 16, 16); all on vertices."""
    nodes = [5 * N + 2] * 10 + [5 * N + 12] * 10 + [16 * N + 16] * 6
    need = ["development"] * 20 + ["survival"] * 6
    urgency = [1] * 20 + [5] * 6
    return pd.DataFrame(
        {
            "node": nodes,
            "access_m": 0.0,
            "covered": False,
            "off_network": False,
            "category": ["dibao"] * 13 + ["tekun"] * 13,
            "need_type": need,
            "urgency": urgency,
            "cluster": list("A" * 10 + "B" * 10 + "C" * 6),
        }
    )


def lattice_sites() -> pd.DataFrame:
    """0 on A, 1 on B, 2 half-way between A and B (500 m from each), 3 on C, 4 in a far corner."""
    rc = [(5, 2), (5, 12), (5, 7), (16, 16), (0, 19)]
    return pd.DataFrame(
        {
            "site_id": ["onA", "onB", "mid", "onC", "corner"],
            "lon": [LON0 + c * DLON for _, c in rc],
            "lat": [LAT0 + r * DLAT for r, _ in rc],
            "node": [r * N + c for r, c in rc],
            "access_m": 0.0,
            "town_code": ["X", "X", "X", "Y", "Z"],
            "off_network": False,
        }
    )


def test_lattice_best_single_site_is_between_the_clusters(lattice_net: WalkNetwork, settings: Settings) -> None:
    prob = siting_problem(lattice_points(), lattice_sites(), lattice_net, settings, weights=np.ones(26))
    dense = prob.matrix.toarray().astype(bool)
    # by arithmetic: 500 m from mid to A and to B, 1000 m between A and B, C far from all but onC
    assert dense.sum(axis=1).tolist() == [10, 10, 20, 6, 0]
    one = recommend_sites(prob, 1, method="milp")
    assert one.sites["site_id"].tolist() == ["mid"]
    assert one.solution.objective == 20 and one.solution.proven_optimal
    two = recommend_sites(prob, 2, method="milp")
    assert two.sites["site_id"].tolist() == ["mid", "onC"]
    assert two.sites["newly_covered"].tolist() == [20.0, 6.0]
    assert two.n_covered_before == 0 and two.n_covered_after == 26 and two.pct_after == 100.0
    assert greedy_max_cover(prob.matrix, prob.weights, 2).objective == 26


def test_lattice_need_weights_flip_the_choice(lattice_net: WalkNetwork, settings: Settings) -> None:
    weights = DemandWeights()  # survival 3, development 1, urgency 5 doubles
    prob = siting_problem(lattice_points(), lattice_sites(), lattice_net, settings, weights=weights)
    assert prob.weights.tolist() == [1.0] * 20 + [6.0] * 6
    best = recommend_sites(prob, 1, method="milp")
    assert best.sites["site_id"].tolist() == ["onC"]  # 6 x 6 = 36 beats 20 x 1
    assert best.sites.at[0, "newly_covered"] == 36.0
    assert best.sites.at[0, "newly_covered_n"] == 6
    assert best.sites.at[0, "n_need_survival"] == 6 and best.sites.at[0, "n_need_development"] == 0
    assert best.sites.at[0, "n_cat_tekun"] == 6 and best.sites.at[0, "n_cat_dibao"] == 0
    flat = siting_problem(
        lattice_points(), lattice_sites(), lattice_net, settings, weights=DemandWeights(survival=1, urgency_factor=0)
    )
    assert recommend_sites(flat, 1).sites["site_id"].tolist() == ["mid"]


def test_lattice_existing_coverage_counts_for_nothing(lattice_net: WalkNetwork, settings: Settings) -> None:
    pts = lattice_points()
    pts["covered"] = pts["cluster"] == "A"
    prob = siting_problem(pts, lattice_sites(), lattice_net, settings, weights=np.ones(26))
    res = recommend_sites(prob, 1, method="milp")
    assert res.solution.objective == 10  # mid now adds only B
    assert res.sites.at[0, "site_id"] in {"onB", "mid"}
    assert res.weight_before == 10 and res.weight_after == 20
    assert res.n_covered_before == 10 and res.n_covered_after == 20


def test_lattice_town_constraints(lattice_net: WalkNetwork, settings: Settings) -> None:
    prob = siting_problem(lattice_points(), lattice_sites(), lattice_net, settings, weights=np.ones(26))
    forced = recommend_sites(prob, 2, require_towns=["Z"], method="milp")
    assert forced.sites["site_id"].tolist() == ["mid", "corner"]  # ranked by gain: the forced corner adds 0
    assert forced.sites["town_code"].tolist() == ["X", "Z"]
    assert forced.solution.objective == 20
    greedy = recommend_sites(prob, 2, require_towns=["Z"], method="greedy")
    assert set(greedy.sites["site_id"]) == {"mid", "corner"}
    inside = recommend_sites(prob, 2, within_towns="X", method="milp")
    assert set(inside.sites["town_code"]) == {"X"} and inside.solution.objective == 20
    names = {"W": "北山街道", "Q": "转塘街道"}  # what a page passes: codes read as town names
    with pytest.raises(SitingError, match="only 1") as refused:
        recommend_sites(prob, 1, require_towns=["Y", "Z"])
    assert error_text(refused.value, "zh", town_names=names) == "有 2 个镇街必须新增站点，但新增站点数只有 1 个"
    with pytest.raises(SitingError, match="no usable candidate") as refused:
        recommend_sites(prob, 1, require_towns=["Q"])
    assert error_text(refused.value, "zh", town_names=names).startswith("转塘街道必须新增站点，但在可选范围内")
    assert error_text(refused.value, "en").startswith("Q must get a station")  # no name known: the code
    with pytest.raises(SitingError, match="inside town") as refused:
        recommend_sites(prob, 1, within_towns=["Q", "W"])
    assert error_text(refused.value, "zh", town_names=names) == "限定的镇街（转塘街道、北山街道）内没有可用的候选站点"
    with pytest.raises(SitingError, match="only 5") as refused:
        recommend_sites(prob, 9)
    assert error_text(refused.value, "en") == (
        "9 new stations asked but only 5 candidate sites are usable: ask for fewer or widen the choice"
    )


def test_lattice_set_covering(lattice_net: WalkNetwork, settings: Settings) -> None:
    prob = siting_problem(lattice_points(), lattice_sites(), lattice_net, settings, weights=np.ones(26))
    # every beneficiary: mid + onC is the only pair that reaches 100 %
    every = fewest_sites(prob, 1.0, need_types=None)
    assert sorted(every.sites["site_id"]) == ["mid", "onC"] and every.solution.proven_optimal
    # survival households live in C only: one station on C
    surv = fewest_sites(prob, 0.95)
    assert surv.sites["site_id"].tolist() == ["onC"] and surv.solution.n_sites == 1
    # 70 % of everyone = 18.2 households: mid alone (20) is enough
    part = fewest_sites(prob, 0.7, need_types=None)
    assert part.sites["site_id"].tolist() == ["mid"]
    # already reached: nothing to add
    pts = lattice_points()
    pts["covered"] = pts["cluster"] == "C"
    done = fewest_sites(siting_problem(pts, lattice_sites(), lattice_net, settings), 0.95)
    assert done.solution.n_sites == 0 and len(done.sites) == 0 and done.solution.proven_optimal
    # unreachable: an off-network household cannot be covered
    pts = lattice_points()
    pts.loc[25, "off_network"] = True
    with pytest.raises(SitingError, match=r"at most 96\.2%"):
        fewest_sites(siting_problem(pts, lattice_sites(), lattice_net, settings), 1.0, need_types=None)


def test_errors_and_validation(lattice_net: WalkNetwork, settings: Settings) -> None:
    prob = siting_problem(lattice_points(), lattice_sites(), lattice_net, settings)
    with pytest.raises(SitingError, match="only 5"):
        recommend_sites(prob, 6)
    with pytest.raises(SitingError, match=">= 1"):
        recommend_sites(prob, 0)
    with pytest.raises(SitingError, match="method"):
        maximal_covering(prob.matrix, prob.weights, 1, method="exact")  # type: ignore[arg-type]
    with pytest.raises(SitingError, match="weights"):
        maximal_covering(prob.matrix, np.ones(3), 1)
    with pytest.raises(SitingError, match="target_share"):
        set_covering(prob.matrix, prob.weights, 1.5)
    with pytest.raises(InputColumnsError, match="covered"):
        siting_problem(lattice_points().drop(columns="covered"), lattice_sites(), lattice_net, settings)
    with pytest.raises(InputColumnsError, match="weight column"):
        siting_problem(lattice_points().assign(w="x"), lattice_sites(), lattice_net, settings, weight_column="w")
    # off-network candidates are never chosen
    sites = lattice_sites()
    sites.loc[2, "off_network"] = True
    res = recommend_sites(siting_problem(lattice_points(), sites, lattice_net, settings, weights=np.ones(26)), 1)
    assert res.sites["site_id"].tolist() == ["onA"]


def test_demand_weights() -> None:
    frame = pd.DataFrame(
        {
            "need_type": ["survival", "care", "development", None, "other"],
            "urgency": [5, 1, 3, None, 2],
            "household_size": [2, 1, 3, 1, None],
        }
    )
    w = DemandWeights()
    assert w.weights_for(frame).tolist() == [6.0, 2.0, 1.5, 1.0, 1.25]
    assert DemandWeights(by_household_size=True).weights_for(frame).tolist() == [12.0, 2.0, 4.5, 1.0, 1.25]
    assert DemandWeights(urgency_factor=0).weights_for(frame).tolist() == [3.0, 2.0, 1.0, 1.0, 1.0]
    assert DemandWeights().weights_for(pd.DataFrame(index=range(3))).tolist() == [1.0, 1.0, 1.0]
    table = w.table()
    assert table.shape == (20, 3)
    assert table.loc[(table["need_type"] == "survival") & (table["urgency"] == 5), "weight"].item() == 6.0
    assert w.to_dict()["survival"] == 3.0
    with pytest.raises(SitingError, match="care"):
        DemandWeights(care=-1)
    with pytest.raises(SitingError, match="urgency_factor"):
        DemandWeights(urgency_factor=float("nan"))


# ------------------------------------------------------------------------------ real network, brute force


@dataclass
class Instance:
    a: npt.NDArray[np.bool_]
    matrix: sparse.csr_matrix
    w: npt.NDArray[np.float64]
    base: npt.NDArray[np.bool_]


def xihu_instance(net: WalkNetwork, mask: npt.NDArray[np.bool_], seed: int, n_sites: int = 12) -> Instance:
    """12 candidate vertices and 300 households within ~1.5 km of a random main-component vertex."""
    rng = np.random.default_rng(seed)
    main = np.flatnonzero(mask)
    while True:
        c = int(rng.choice(main))
        d = np.hypot(net.node_x[main] - net.node_x[c], net.node_y[main] - net.node_y[c])
        near = main[d < 1500]
        if near.shape[0] > 400:
            break
    s_node = rng.choice(near, n_sites, replace=False)
    p_node = rng.choice(near, 300)
    mat = coverage_matrix(
        net,
        s_node,
        rng.integers(0, 3_000, n_sites),
        p_node,
        rng.integers(0, 10_000, 300),
        cutoff_cm=Settings().cutoff_cm,
    )
    w = rng.choice([1.0, 1.25, 2.0, 3.0, 6.0], 300)
    base = rng.random(300) < 0.15
    return Instance(mat.toarray().astype(bool), mat, w, base)


@pytest.fixture(scope="module")
def main_mask(xihu_net: WalkNetwork) -> npt.NDArray[np.bool_]:
    return main_component_mask(xihu_net)


@pytest.mark.xihu
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_milp_equals_brute_force_and_greedy_is_honest(
    xihu_net: WalkNetwork, main_mask: npt.NDArray[np.bool_], seed: int
) -> None:
    inst = xihu_instance(xihu_net, main_mask, seed)
    assert inst.a.any(axis=1).sum() >= 6  # most sites cover someone: the instance is not trivial
    for p in (1, 2, 3):
        opt, _ = brute_mclp(inst.a, inst.w, inst.base, p)
        milp = maximal_covering(inst.matrix, inst.w, p, base_covered=inst.base, method="milp")
        assert milp.proven_optimal and milp.status == "Optimal" and milp.gap == 0.0
        assert milp.method == ("enumeration" if p == 1 else "milp")
        assert milp.objective == pytest.approx(opt, abs=1e-9)
        assert covered_weight(inst.matrix, inst.w, milp.chosen, base_covered=inst.base) == pytest.approx(opt)
        assert milp.n_sites == p and len(set(milp.chosen.tolist())) == p
        # ranked by marginal gain: gains never grow and add up to the objective
        assert np.all(np.diff(milp.gains) <= 1e-9)
        assert milp.gains.sum() == pytest.approx(milp.objective)
        greedy = greedy_max_cover(inst.matrix, inst.w, p, base_covered=inst.base)
        lp = lp_relaxation_bound(inst.matrix, inst.w, p, base_covered=inst.base)
        assert greedy.objective <= milp.objective + 1e-9
        assert greedy.objective >= ONE_MINUS_1_E * milp.objective - 1e-9
        assert lp >= milp.objective - 1e-6
        assert greedy.bound == pytest.approx(lp)
        assert greedy.gap == pytest.approx((lp - greedy.objective) / lp if lp > 0 else 0.0, abs=1e-12)
        assert greedy.gap >= (lp - milp.objective) / lp - 1e-9  # never claims better than the optimum allows
        # the lazy greedy picks what a plain greedy picks
        assert greedy.chosen.tolist() == plain_greedy(inst.a, inst.w, inst.base, p)


@pytest.mark.xihu
@pytest.mark.parametrize("seed", [7, 8, 9])
def test_town_constraints_equal_brute_force(xihu_net: WalkNetwork, main_mask: npt.NDArray[np.bool_], seed: int) -> None:
    inst = xihu_instance(xihu_net, main_mask, seed)
    town = np.array(list("AAAABBBBCCCC"))
    # require the town whose best site is weakest, so the constraint bites
    value = inst.a.astype(float) @ np.where(inst.base, 0.0, inst.w)
    weakest = min("ABC", key=lambda t: value[town == t].max())
    group = np.flatnonzero(town == weakest)
    for p in (1, 2, 3):
        opt, _ = brute_mclp(inst.a, inst.w, inst.base, p, groups=[group.tolist()])
        sol = maximal_covering(inst.matrix, inst.w, p, base_covered=inst.base, required=[group], method="milp")
        assert sol.objective == pytest.approx(opt, abs=1e-9) and sol.proven_optimal
        assert set(sol.chosen.tolist()) & set(group.tolist())
        gr = maximal_covering(inst.matrix, inst.w, p, base_covered=inst.base, required=[group], method="greedy")
        assert set(gr.chosen.tolist()) & set(group.tolist())
        assert gr.objective <= sol.objective + 1e-9
        allowed = town == "B"
        opt_b, _ = brute_mclp(inst.a, inst.w, inst.base, p, allowed=np.flatnonzero(allowed).tolist())
        sol_b = maximal_covering(inst.matrix, inst.w, p, base_covered=inst.base, allowed=allowed, method="milp")
        assert sol_b.objective == pytest.approx(opt_b, abs=1e-9)
        assert set(town[sol_b.chosen]) == {"B"}


@pytest.mark.xihu
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_set_covering_minimum_count_by_brute_force(
    xihu_net: WalkNetwork, main_mask: npt.NDArray[np.bool_], seed: int
) -> None:
    inst = xihu_instance(xihu_net, main_mask, seed)
    rng = np.random.default_rng(seed)
    target = (rng.random(300) < 0.5).astype(float)  # e.g. survival-need households
    total = target.sum()
    base_w = target[inst.base].sum()
    best_w = target[(inst.a.any(axis=0)) | inst.base].sum()
    share = (base_w + 0.8 * (best_w - base_w)) / total
    need = share * total - base_w
    k_min = next(
        k
        for k in range(13)
        if any(
            target[inst.a[list(c)].any(axis=0) & ~inst.base].sum() >= need - 1e-9
            for c in itertools.combinations(range(12), k)
        )
    )
    sol = set_covering(inst.matrix, target, share, base_covered=inst.base)
    assert sol.n_sites == k_min and sol.proven_optimal and sol.model == "set_covering"
    assert sol.objective >= need - 1e-9
    assert sol.bound <= k_min
    # among the k_min-site choices, the one covering most of the target
    best_k, _ = brute_mclp(inst.a, target, inst.base, k_min)
    assert sol.objective == pytest.approx(best_k)
    with pytest.raises(SitingError, match="cannot be reached"):
        set_covering(inst.matrix, target, min(1.0, (best_w + 1) / total), base_covered=inst.base)


@pytest.mark.xihu
def test_time_limited_milp_is_never_worse_than_greedy(xihu_net: WalkNetwork, main_mask: npt.NDArray[np.bool_]) -> None:
    inst = xihu_instance(xihu_net, main_mask, 21, n_sites=40)
    greedy = greedy_max_cover(inst.matrix, inst.w, 6, base_covered=inst.base)
    rushed = maximal_covering(inst.matrix, inst.w, 6, base_covered=inst.base, method="milp", time_limit_s=1e-4)
    assert rushed.objective >= greedy.objective - 1e-9
    assert rushed.proven_optimal == (rushed.status == "Optimal" and rushed.bound - rushed.objective <= 1e-6)
    assert rushed.bound >= rushed.objective - 1e-6
    assert math.isfinite(rushed.gap) and rushed.gap == pytest.approx(
        0.0 if rushed.proven_optimal else (rushed.bound - rushed.objective) / rushed.bound
    )
    auto = maximal_covering(inst.matrix, inst.w, 6, base_covered=inst.base, exact_max_sites=10)
    assert auto.method == "greedy" and auto.objective == greedy.objective


# ------------------------------------------------------------------------------ the Xihu demo


@pytest.mark.xihu
def test_recommend_sites_on_the_xihu_demo(demo: Demo, xihu_dir: Path) -> None:
    cands = candidates_from_run(demo.run, towns=demo.bundle.towns)
    prob = problem_from_run(demo.run, cands)
    roads = gpd.read_file(xihu_dir / "roads.geojson")
    res = recommend_sites(prob, 3, roads=roads)
    s = res.sites
    assert res.solution.method == "milp" and res.solution.proven_optimal
    assert s["rank"].tolist() == [1, 2, 3]
    assert s["newly_covered"].is_monotonic_decreasing
    assert s["newly_covered"].sum() == pytest.approx(res.weight_after - res.weight_before)
    assert res.weight_after - res.weight_before == pytest.approx(res.solution.objective)
    need_cols = ["n_need_survival", "n_need_care", "n_need_development"]
    assert (s[need_cols].sum(axis=1) == s["newly_covered_n"]).all()
    cat_cols = [c for c in s.columns if c.startswith("n_cat_")]
    assert len(cat_cols) == 5 and (s[cat_cols].sum(axis=1) == s["newly_covered_n"]).all()
    assert s["road_name"].notna().all() and (s["road_dist_m"] < 300).all()
    assert set(s["town_code"]) <= set(demo.bundle.towns["town_code"])
    # the engine agrees: placing the three stations in a what-if gives the promised count
    sc = Scenario(demo.run, demo.snapper)
    for lon, lat in zip(s["lon"], s["lat"], strict=True):
        sc.add(lon, lat)
    assert sc.result().n_covered == res.n_covered_after > res.n_covered_before == demo.run.n_covered
    # the same sites cost nothing more than greedy, and greedy's gap is honest
    greedy = recommend_sites(prob, 3, method="greedy")
    assert greedy.solution.objective <= res.solution.objective
    assert greedy.solution.bound >= res.solution.objective - 1e-6
    # a required town gets its station
    town = str(demo.bundle.towns["town_code"].iloc[0])
    forced = recommend_sites(prob, 3, require_towns=[town])
    assert town in set(forced.sites["town_code"])
    assert forced.solution.objective <= res.solution.objective + 1e-9
    frame = solution_to_frame(res.solution, prob.candidates)
    assert frame["site_id"].tolist() == s["site_id"].tolist()
    # the fewest stations for 75 % of survival-need households, existing hubs counted
    few = fewest_sites(prob, 0.75)
    surv = prob.points["need_type"].to_numpy() == "survival"
    covered_now = prob.base_covered & surv
    assert few.solution.n_sites >= 1
    assert covered_now.sum() + few.sites["n_need_survival"].sum() >= 0.75 * surv.sum()
