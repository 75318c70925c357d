"""service.matching without streamlit: the district matching cut to an area, other areas' load protected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from geo.matching import MatchingProblem
from service.dashboard import RunKey
from service.matching import area_matching, household_plan, priority_order, providers_view, unmet_view

# town A: households A0..A4 (5 needs); town B: B0..B14 (15 needs)
# P1 (capacity 8): 3 of A's needs and 3 of B's -> B's load 3 is a small count for A's manager
# P2 (capacity 30): 2 of A's needs and 12 of B's -> 12 may print
HOUSEHOLDS = [f"A{i}" for i in range(5)] + [f"B{i}" for i in range(15)]
BEN = pd.DataFrame(
    {
        "beneficiary_id": HOUSEHOLDS,
        "town_code": ["T_A"] * 5 + ["T_B"] * 15,
        "community_code": ["C_A"] * 5 + ["C_B"] * 15,
        "name_masked": ["张*"] * 20,
        "category": ["dibao"] * 20,
    }
)
PROVIDERS = pd.DataFrame({"provider_id": ["P1", "P2"], "name": ["甲站", "乙站"]})


def _problem() -> MatchingProblem:
    needs = pd.DataFrame(
        {
            "need_id": [f"N{i:02d}" for i in range(22)],
            "household_id": [*HOUSEHOLDS, "A0", "A1"],
            "item_id": ["S01"] * 20 + ["C01", "C01"],
            "need_type": ["survival"] * 20 + ["care", "care"],
            "urgency": [3] * 20 + [2, 2],
            "location": ["ok"] * 22,
        }
    )
    offers = pd.DataFrame(
        {"provider_id": ["P1", "P2"], "item_id": ["S01", "S01"], "delivery": ["onsite"] * 2,
         "capacity_per_month": [6, 30]}
    )  # fmt: skip
    # A0..A2 and B0..B2 reach P1 only; A3, A4 and B3..B14 reach P2 only; nobody offers the care item
    arc_need = np.arange(20)
    arc_offer = np.array([0, 0, 0, 1, 1] + [0, 0, 0] + [1] * 12)
    return MatchingProblem(needs, offers, arc_need, arc_offer, np.full(20, 10_000))


def _key(role: str, town: str = "", village: str = "") -> RunKey:
    return RunKey("demo", 0, Settings(), (role, town, village))


def test_town_manager_sees_own_needs_and_other_areas_load_protected() -> None:
    res = _problem().solve()
    am = area_matching(res, _key("town_manager", "T_A"), BEN, PROVIDERS)
    assert set(am.needs["household_id"]) == {f"A{i}" for i in range(5)}
    assert len(am.needs) == 7 and not am.district
    assert am.by_need_type.loc["survival", "matched"] == 5 and am.by_need_type.loc["care", "matched"] == 0
    p = am.providers.set_index("provider_id")
    assert p.loc["P1", "area_load"] == 3 and p.loc["P1", "other_txt"] == "<10"
    assert np.isnan(p.loc["P1", "utilisation_pct"]) and np.isnan(p.loc["P1", "remaining"])
    assert p.loc["P2", "other_txt"] == "12" and p.loc["P2", "remaining"] == 16
    view = providers_view(am, lang="zh")
    assert set(view["其他辖区占用"]) == {"<10", "12"} and "—" in set(view["利用率"])
    # unmet: the two care needs (nobody offers C01), with the Chinese label of the reason
    u = unmet_view(am, PROVIDERS, lang="zh")
    assert list(u["未匹配原因"]) == ["无机构提供该服务"] * 2
    plan = household_plan(am, PROVIDERS, Settings(), lang="zh")
    assert len(plan) == 7 and set(plan["户编号"]) == set(am.needs["household_id"])
    assert not plan.astype(str).isin(["None", "nan"]).any().any()


def test_planner_sees_the_district_exactly() -> None:
    res = _problem().solve()
    am = area_matching(res, _key("planner"), BEN, PROVIDERS)
    assert am.district and len(am.needs) == 22
    p = am.providers.set_index("provider_id")
    assert p.loc["P1", "area_load"] == 6 and p.loc["P1", "utilisation_pct"] == 100.0
    assert "其他辖区占用" not in providers_view(am, lang="zh").columns


def test_viewer_gets_nothing() -> None:
    with pytest.raises(PermissionError):
        area_matching(_problem().solve(), _key("viewer"), BEN, PROVIDERS)


def test_priority_order_survival_first_then_urgency() -> None:
    needs = pd.DataFrame(
        {"need_id": ["a", "b", "c", "d"], "need_type": ["development", "care", "survival", "survival"],
         "urgency": [3, 3, 1, 2]}
    )  # fmt: skip
    assert list(priority_order(needs)["need_id"]) == ["d", "c", "b", "a"]
