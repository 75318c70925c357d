"""Matching needs to offers: exact lexicographic optimum, reach rules, reasons, capacity what-ifs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from core.errors import MatchingError
from core.settings import Settings
from core.vocab import MATCH_REASONS, NEED_TYPES
from geo.graph import WalkNetwork
from geo.matching import DEFAULT_REACH_M, MatchingProblem, Objective, matching_problem
from geo.snap import Snapper
from tests.conftest import DLAT, DLON, LAT0, LON0, Demo


def at(i: float, j: float) -> tuple[float, float]:
    """lon, lat of lattice row ``i``, column ``j`` (100 m steps)."""
    return LON0 + j * DLON, LAT0 + i * DLAT


# --------------------------------------------------------------------------------------
# the numeric core against brute force
# --------------------------------------------------------------------------------------


def core_problem(
    rng: np.random.Generator, n_needs: int, n_offers: int, *, mixed_tiers: bool
) -> tuple[MatchingProblem, list[list[tuple[int, int]]]]:
    """A random instance on one item; tiers compete for the same offers when ``mixed_tiers``."""
    tiers = rng.choice(NEED_TYPES, n_needs) if mixed_tiers else np.full(n_needs, "care")
    needs = pd.DataFrame(
        {
            "need_id": [f"N{i}" for i in range(n_needs)],
            "household_id": [f"H{i // 2}" for i in range(n_needs)],
            "item_id": "X",
            "need_type": tiers,
            "urgency": rng.integers(1, 4, n_needs),
            "location": "ok",
        }
    )
    offers = pd.DataFrame(
        {
            "provider_id": [f"P{k}" for k in range(n_offers)],
            "item_id": "X",
            "delivery": "onsite",
            "capacity_per_month": rng.integers(0, 3, n_offers),
        }
    )
    arcs = [(i, o) for i in range(n_needs) for o in range(n_offers) if rng.random() < 0.6]
    dist = rng.integers(0, 5, len(arcs)) * 100  # ties on purpose
    per_need: list[list[tuple[int, int]]] = [[] for _ in range(n_needs)]
    for (i, o), d in zip(arcs, dist, strict=True):
        per_need[i].append((o, int(d)))
    an = np.array([a[0] for a in arcs], dtype=np.int64)
    ao = np.array([a[1] for a in arcs], dtype=np.int64)
    srt = np.lexsort((ao, dist, an))
    return MatchingProblem(needs, offers, an[srt], ao[srt], dist[srt]), per_need


def brute_force(problem: MatchingProblem, per_need: list[list[tuple[int, int]]]) -> Objective:
    """The best objective over every feasible assignment, by enumeration."""
    cap = problem.capacity
    best: Objective | None = None
    for choice in itertools.product(*[[(-1, 0), *opts] for opts in per_need]):
        used = np.bincount([o for o, _ in choice if o >= 0], minlength=len(cap))
        if (used > cap).any():
            continue
        got = np.array([o >= 0 for o, _ in choice])
        sums = [int(problem.urgency[got & (problem.tier == t)].sum()) for t in range(3)]
        obj = Objective(sums[0], sums[1], sums[2], sum(d for o, d in choice if o >= 0))
        if best is None or obj.key() > best.key():
            best = obj
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(12))
def test_min_cost_flow_equals_brute_force_lexicographic_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem, per_need = core_problem(rng, 6, 3, mixed_tiers=seed % 2 == 0)
    result = problem.solve()
    best = brute_force(problem, per_need)
    assert result.objective == best
    # the reported objective is that of the reported assignment
    offer_pos = {(p, it): k for k, (p, it) in enumerate(zip(problem.offers["provider_id"], "X" * 99, strict=False))}
    assigned = [offer_pos[(p, "X")] if p is not None else -1 for p in result.needs["provider_id"]]
    assert problem.objective_of(assigned) == best
    greedy = problem.greedy().objective
    assert greedy.key() <= best.key()


def test_a_higher_tier_is_never_displaced_by_a_lower_one() -> None:
    """One place: a survival need of urgency 1 far away beats a care need of urgency 3 next door."""
    needs = pd.DataFrame(
        {
            "need_id": ["care3", "surv1", "dev3"],
            "household_id": ["a", "b", "c"],
            "item_id": "X",
            "need_type": ["care", "survival", "development"],
            "urgency": [3, 1, 3],
            "location": "ok",
        }
    )
    offers = pd.DataFrame({"provider_id": ["P"], "item_id": ["X"], "delivery": ["onsite"], "capacity_per_month": [1]})
    problem = MatchingProblem(needs, offers, [0, 1, 2], [0, 0, 0], [0, 74_000, 0])
    res = problem.solve()
    assert res.needs.set_index("need_id")["matched"].to_dict() == {"care3": False, "surv1": True, "dev3": False}
    assert res.objective == Objective(1, 0, 0, 74_000)
    # with a second place the care need comes next, before the development need
    res2 = problem.solve(capacity_overrides={("P", "X"): 2})
    assert res2.needs.set_index("need_id")["matched"].to_dict() == {"care3": True, "surv1": True, "dev3": False}


def test_distance_breaks_ties_and_capacity_is_never_exceeded() -> None:
    rng = np.random.default_rng(42)
    problem, _ = core_problem(rng, 300, 12, mixed_tiers=True)
    res = problem.solve()
    assert (res.offers["assigned"] <= res.offers["capacity_per_month"]).all()
    assert res.offers["assigned"].sum() == res.needs["matched"].sum()
    # at equal urgency the nearer of two needs gets the single place
    needs = pd.DataFrame(
        {"need_id": ["far", "near"], "household_id": ["a", "b"], "item_id": "X", "need_type": "care", "urgency": 2}
    ).assign(location="ok")
    offers = pd.DataFrame({"provider_id": ["P"], "item_id": ["X"], "delivery": ["onsite"], "capacity_per_month": [1]})
    res = MatchingProblem(needs, offers, [0, 1], [0, 0], [500, 300]).solve()
    assert res.needs["provider_id"].tolist() == [None, "P"]
    assert res.needs["reason"].tolist() == ["capacity", None]
    assert res.needs.loc[0, "nearest_provider_id"] == "P"
    assert res.needs.loc[0, "nearest_walk_m"] == 5.0


def test_capacity_override_equals_a_fresh_problem_and_unknown_offers_are_refused() -> None:
    rng = np.random.default_rng(3)
    problem, _ = core_problem(rng, 200, 8, mixed_tiers=True)
    pid = str(problem.offers["provider_id"].iloc[0])
    changed = problem.solve(capacity_overrides={(pid, "X"): 40})
    offers2 = problem.offers.copy()
    offers2.loc[0, "capacity_per_month"] = 40
    fresh = MatchingProblem(problem.needs, offers2, problem.arc_need, problem.arc_offer, problem.arc_cm).solve()
    assert changed.objective == fresh.objective
    assert changed.objective.key() >= problem.solve().objective.key()
    with pytest.raises(MatchingError, match="no offer of item"):
        problem.solve(capacity_overrides={("nobody", "X"): 3})
    with pytest.raises(MatchingError, match=">= 0"):
        problem.solve(capacity_overrides={(pid, "X"): -1})


def test_tier_weights_that_would_overflow_raise_a_clear_error() -> None:
    n = 3000
    needs = pd.DataFrame(
        {
            "need_id": [f"N{i}" for i in range(n)],
            "household_id": "h",
            "item_id": "X",
            "need_type": np.array(NEED_TYPES)[np.arange(n) % 3],
            "urgency": 3,
            "location": "ok",
        }
    )
    offers = pd.DataFrame({"provider_id": ["P"], "item_id": ["X"], "delivery": ["home"], "capacity_per_month": [5]})
    with pytest.raises(MatchingError, match="overflow"):
        MatchingProblem(needs, offers, np.arange(n), np.zeros(n), np.full(n, 10**9))


def test_bad_core_tables_are_refused() -> None:
    needs = pd.DataFrame(
        {"need_id": ["a"], "household_id": ["h"], "item_id": ["X"], "need_type": ["care"], "urgency": [4]}
    ).assign(location="ok")
    offers = pd.DataFrame({"provider_id": ["P"], "item_id": ["X"], "delivery": ["onsite"], "capacity_per_month": [1]})
    with pytest.raises(MatchingError, match=r"urgency '4' is not"):
        MatchingProblem(needs, offers, [0], [0], [0])
    with pytest.raises(MatchingError, match="twice"):
        MatchingProblem(needs.assign(urgency=1), pd.concat([offers, offers]), [0], [0], [0])
    with pytest.raises(MatchingError, match="another item"):
        MatchingProblem(needs.assign(urgency=1, item_id="Y"), offers, [0], [0], [0])


# --------------------------------------------------------------------------------------
# from tables on the 100 m lattice: reach rules and every reason
# --------------------------------------------------------------------------------------

CATALOGUE = pd.DataFrame(
    {
        "item_id": ["WALK", "VISIT", "PHONE", "NOBODY"],
        "need_type": ["survival", "care", "development", "survival"],
        "delivery": ["onsite", "home", "remote", "onsite"],
    }
)


def lattice_case(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    # provider P at (0, 0); Q at (0, 19); distances on the lattice are 100 m x (|di| + |dj|)
    plon, plat = at(0, 0)
    qlon, qlat = at(0, 19)
    offers = pd.DataFrame(
        {
            "provider_id": ["P", "P", "Q", "P"],
            "item_id": ["WALK", "VISIT", "PHONE", "PHONE"],
            "capacity_per_month": [1, 5, 1, 0],
            "lon": [plon, plon, qlon, plon],
            "lat": [plat, plat, qlat, plat],
            "reach_m": [None, 1200.0, None, None],
        }
    )
    rows = [
        ("w700", "WALK", 3, (0, 7)),  # 700 m: onsite within 750 m, served (most urgent)
        ("w300", "WALK", 2, (3, 0)),  # 300 m but less urgent: capacity
        ("w800", "WALK", 3, (4, 4)),  # 800 m: out of reach
        ("v1100", "VISIT", 1, (5, 6)),  # home visit within 1200 m
        ("v1300", "VISIT", 1, (6, 7)),  # beyond the offer's reach
        ("phone_far", "PHONE", 2, (19, 19)),  # remote: no distance
        ("phone_noloc", "PHONE", 1, None),  # remote needs no location; capacity used
        ("nobody", "NOBODY", 3, (1, 1)),
        ("w_noloc", "WALK", 3, None),
        ("w_off", "WALK", 3, "off"),
    ]
    lon, lat = [], []
    for *_, pos in rows:
        if pos is None:
            lon.append(np.nan)
            lat.append(np.nan)
        elif pos == "off":
            lon.append(LON0 - 0.01)  # ~960 m west of the lattice
            lat.append(LAT0)
        else:
            x, y = at(*pos)
            lon.append(x)
            lat.append(y)
    needs = pd.DataFrame(
        {
            "need_id": [r[0] for r in rows],
            "household_id": [f"h{k}" for k in range(len(rows))],
            "item_id": [r[1] for r in rows],
            "urgency": [r[2] for r in rows],
            "lon": lon,
            "lat": lat,
        }
    )
    return needs, offers


def test_reach_rules_and_every_reason_on_the_lattice(lattice_net: WalkNetwork, settings: Settings) -> None:
    needs, offers = lattice_case(settings)
    problem = matching_problem(needs, offers, CATALOGUE, snapper=Snapper(lattice_net), settings=settings)
    res = problem.solve().needs.set_index("need_id")
    expect = {
        "w700": ("P", 700.0, None),
        "w300": (None, np.nan, "capacity"),
        "w800": (None, np.nan, "out_of_reach"),
        "v1100": ("P", 1100.0, None),
        "v1300": (None, np.nan, "out_of_reach"),
        "phone_far": ("Q", np.nan, None),
        "phone_noloc": (None, np.nan, "capacity"),
        "nobody": (None, np.nan, "no_offer"),
        "w_noloc": (None, np.nan, "no_location"),
        "w_off": (None, np.nan, "off_network"),
    }
    for nid, (pid, walk, reason) in expect.items():
        row = res.loc[nid]
        assert row["provider_id"] == pid, nid
        assert (np.isnan(walk) and np.isnan(row["walk_m"])) or row["walk_m"] == pytest.approx(walk, abs=0.5), nid
        assert row["reason"] == reason, nid
        assert bool(row["matched"]) == (pid is not None)
    assert set(res["reason"].dropna()) == set(MATCH_REASONS)
    assert res.loc["w300", "nearest_provider_id"] == "P"
    assert res.loc["w300", "nearest_walk_m"] == pytest.approx(300.0, abs=0.5)
    assert res.loc["phone_far", "delivery"] == "remote"
    assert res.loc["v1100", "delivery"] == "home"
    # a capacity what-if serves w300 without rebuilding the distances
    more = problem.solve(capacity_overrides={("P", "WALK"): 2}).needs.set_index("need_id")
    assert more.loc["w300", "provider_id"] == "P"
    assert more.loc["w700", "provider_id"] == "P"


def test_adding_an_offer_equals_a_rebuild_and_reuses_the_arcs(lattice_net: WalkNetwork, settings: Settings) -> None:
    needs, offers = lattice_case(settings)
    snapper = Snapper(lattice_net)
    problem = matching_problem(needs, offers, CATALOGUE, snapper=snapper, settings=settings)
    rlon, rlat = at(3, 1)  # 100 m from w300
    extra = pd.DataFrame(
        {"provider_id": ["R", "R"], "item_id": ["WALK", "NOBODY"], "capacity_per_month": [1, 1],
         "lon": [rlon, rlon], "lat": [rlat, rlat]}
    )  # fmt: skip
    grown = problem.with_offers(extra)
    rebuilt = matching_problem(needs, pd.concat([offers, extra], ignore_index=True), CATALOGUE, snapper=snapper,
                               settings=settings)  # fmt: skip
    for name in ("arc_need", "arc_offer", "arc_cm"):
        np.testing.assert_array_equal(getattr(grown, name), getattr(rebuilt, name))
    res = grown.solve().needs.set_index("need_id")
    # R's one place goes to the more urgent w800 (400 m from R); w300 now has R nearest
    assert res.loc["w800", "provider_id"] == "R" and res.loc["w800", "walk_m"] == pytest.approx(400.0, abs=0.5)
    assert res.loc["w300", "reason"] == "capacity" and res.loc["w300", "nearest_provider_id"] == "R"
    assert res.loc["w300", "nearest_walk_m"] == pytest.approx(100.0, abs=0.5)
    assert res.loc["nobody", "provider_id"] == "R"  # 300 m from R
    assert grown.solve().objective == rebuilt.solve().objective
    with pytest.raises(MatchingError, match="twice"):
        grown.with_offers(extra.head(1))
    core, _ = core_problem(np.random.default_rng(0), 3, 2, mixed_tiers=False)
    with pytest.raises(MatchingError, match="cost table"):
        core.with_offers(extra)


def test_minutes_and_reach_defaults_change_the_arcs(lattice_net: WalkNetwork) -> None:
    needs, offers = lattice_case(Settings())
    slow = Settings(minutes=10, speed_kmh=3.0)  # 500 m
    res = matching_problem(needs, offers, CATALOGUE, snapper=Snapper(lattice_net), settings=slow).solve()
    by = res.needs.set_index("need_id")
    assert by.loc["w700", "reason"] == "out_of_reach"
    assert by.loc["w300", "provider_id"] == "P"
    # without reach_m a home offer reaches DEFAULT_REACH_M
    offers2 = offers.assign(reach_m=np.nan)
    res2 = matching_problem(needs, offers2, CATALOGUE, snapper=Snapper(lattice_net), settings=Settings()).solve()
    assert DEFAULT_REACH_M > 1300
    assert res2.needs.set_index("need_id").loc["v1300", "provider_id"] == "P"


def test_offer_delivery_overrides_the_catalogue(lattice_net: WalkNetwork, settings: Settings) -> None:
    needs, offers = lattice_case(settings)
    offers = offers.assign(delivery=["remote", None, None, None])
    res = matching_problem(needs, offers, CATALOGUE, snapper=Snapper(lattice_net), settings=settings).solve()
    by = res.needs.set_index("need_id")
    # WALK offered remotely: the single place goes to an urgency-3 need, location or not
    assert by["provider_id"].eq("P").groupby(by["item_id"]).sum()["WALK"] == 1
    assert by.loc["w800", "reason"] in ("capacity", None)
    assert by.loc["w_noloc", "reason"] in ("capacity", None)


def test_table_errors_name_the_row(lattice_net: WalkNetwork, settings: Settings) -> None:
    needs, offers = lattice_case(settings)
    snapper = Snapper(lattice_net)
    with pytest.raises(MatchingError, match="row 2: item 'ZZZ' is not in the catalogue"):
        matching_problem(needs.assign(item_id=["WALK", "ZZZ", *needs["item_id"][2:]]), offers, CATALOGUE,
                         snapper=snapper, settings=settings)  # fmt: skip
    with pytest.raises(MatchingError, match="delivery 'by post'"):
        matching_problem(needs, offers.assign(delivery="by post"), CATALOGUE, snapper=snapper, settings=settings)
    with pytest.raises(MatchingError, match="need_type 'urgent'"):
        matching_problem(needs, offers, CATALOGUE.assign(need_type="urgent"), snapper=snapper, settings=settings)
    with pytest.raises(MatchingError, match="lacks column"):
        matching_problem(needs.drop(columns="urgency"), offers, CATALOGUE, snapper=snapper, settings=settings)


# --------------------------------------------------------------------------------------
# the Xihu demo on the real network
# --------------------------------------------------------------------------------------


@pytest.mark.xihu
def test_xihu_demo_matching_is_consistent_with_coverage(demo: Demo, settings: Settings) -> None:
    from data.bundle import matching_frames
    from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage

    needs, offers, catalogue = matching_frames(demo.bundle)
    assert len(needs) == len(demo.bundle.needs) > 9000
    problem = matching_problem(needs, offers, catalogue, snapper=demo.snapper, settings=settings)
    res = problem.solve()
    n = res.needs
    assert n["matched"].sum() > 2000
    assert set(n["reason"].dropna()) == {"capacity", "out_of_reach", "no_offer"}
    assert (res.offers["assigned"] <= res.offers["capacity_per_month"]).all()
    onsite = n["delivery"] == "onsite"
    assert (n.loc[onsite, "walk_m"] <= settings.cutoff_m).all()
    # a matched onsite need's walk equals the coverage engine's distance to that provider alone
    sample = n[onsite].head(25)
    prov = demo.bundle.providers.set_index("provider_id")
    loc = needs.set_index("need_id")
    for row in sample.itertuples():
        hub = pd.DataFrame({"hub_id": [row.provider_id], "lon": [prov.loc[row.provider_id, "lon"]],
                            "lat": [prov.loc[row.provider_id, "lat"]]})  # fmt: skip
        hubset = hubs_from_frame(hub, demo.snapper)
        cov = point_coverage(
            [loc.loc[row.need_id, "lon"]], [loc.loc[row.need_id, "lat"]],
            engine=engine_for_hubs(demo.snapper, hubset, settings), snapper=demo.snapper,
            hub_ids=hubset.hub_id, settings=settings,
        )  # fmt: skip
        assert cov["walk_m"].iloc[0] == pytest.approx(row.walk_m, abs=0.011)
    # the greedy baseline never beats the optimum, and a capacity what-if re-solves the same arcs
    assert problem.greedy().objective.key() <= res.objective.key()
    busiest = res.offers.sort_values("assigned").iloc[-1]
    more = problem.solve(capacity_overrides={(busiest["provider_id"], busiest["item_id"]): busiest["assigned"] + 50})
    assert more.objective.key() > res.objective.key()
