"""Provider capacity and sustainability on a tiny instance whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import CapacityInputError
from data.accounts.access import AreaFilter
from data.accounts.auth import Role
from geo.matching import MatchingResult, Objective
from service.capacity import (
    PROVIDER_COLUMNS,
    item_share_table,
    monthly_activity,
    protected_counts,
    provider_table,
    relative_slope,
    scope_table,
    sole_items,
    sustainability,
    town_table,
)

TOWN_A, TOWN_B = "330106001", "330106002"
PROVIDERS = pd.DataFrame(
    {
        "provider_id": ["P1", "P2"],
        "name": ["甲站", "乙站"],
        "department": ["民政", "社工站"],
        "town_code": [TOWN_A, TOWN_B],
    }
)
# P1 offers S01 (cap 4) and C01 (cap 2, the only C01); P2 offers S01 (cap 4)
OFFERS = pd.DataFrame(
    {
        "provider_id": ["P1", "P1", "P2"],
        "item_id": ["S01", "C01", "S01"],
        "delivery": ["onsite"] * 3,
        "capacity_per_month": [4, 2, 4],
        "assigned": [4, 2, 1],
        "utilisation": [1.0, 1.0, 0.25],
        "in_reach": [6, 3, 1],
    }
)
# 10 needs: S01 -> 4 at P1, 1 at P2, 2 unmet (capacity, nearest P1); C01 -> 2 at P1, 1 unmet (capacity, P1)
_prov = ["P1"] * 4 + ["P2"] + [None] * 2 + ["P1"] * 2 + [None]
_item = ["S01"] * 7 + ["C01"] * 3
NEEDS = pd.DataFrame(
    {
        "need_id": [f"N{i}" for i in range(10)],
        "item_id": _item,
        "provider_id": _prov,
        "matched": [p is not None for p in _prov],
        "reason": [None if p else "capacity" for p in _prov],
        "nearest_provider_id": [None if p else "P1" for p in _prov],
    }
)
MATCH = MatchingResult(
    needs=NEEDS,
    offers=OFFERS,
    providers=pd.DataFrame(
        {
            "provider_id": ["P1", "P2"],
            "capacity_per_month": [6, 4],
            "assigned": [6, 1],
            "utilisation": [1.0, 0.25],
            "n_items": [2, 1],
        }
    ),
    objective=Objective(0, 0, 0, 0),
    method="min_cost_flow",
    solve_s=0.0,
)


def _records() -> pd.DataFrame:
    # P1 (民政, town A, items S01/C01): 1, 2, 3, 4 records in months 1-4 -> slope 1, mean 2.5
    # P2 (社工站, town B, S01): records only in month 1 (2 records)
    rows = []
    for m, n in zip(range(1, 5), (1, 2, 3, 4), strict=True):
        rows += [("民政", "S01", TOWN_A, f"2026-0{m}-05")] * n
    rows += [("社工站", "S01", TOWN_B, "2026-01-09")] * 2
    rows += [("民政", "S01", TOWN_B, "2026-02-01")]  # other town: not P1's
    rows += [("社工站", "C01", TOWN_B, "2026-03-01")]  # P2 does not offer C01
    frame = pd.DataFrame(rows, columns=["department", "item_id", "town_code", "date"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_monthly_activity_department_items_town() -> None:
    act = monthly_activity(_records(), OFFERS, PROVIDERS)
    assert list(act.columns) == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert act.loc["P1"].tolist() == [1, 2, 3, 4]
    assert act.loc["P2"].tolist() == [2, 0, 0, 0]
    with pytest.raises(CapacityInputError):
        monthly_activity(_records().drop(columns="town_code"), OFFERS, PROVIDERS)


def test_relative_slope_and_indicator_by_hand() -> None:
    assert relative_slope(np.array([1, 2, 3, 4])) == pytest.approx(1 / 2.5)
    assert relative_slope(np.array([0, 0, 0])) == 0.0
    # utilisation 0.5 -> H 0.5; A 1; flat -> T 0.5; D 1: 100*(0.15+0.3+0.1+0.2) = 75
    assert sustainability(0.5, 1.0, 0.0, 1.0) == pytest.approx(75.0)
    assert sustainability(float("nan"), 0.0, -1.0, 0.0) == pytest.approx(0.0)


def test_provider_table_by_hand() -> None:
    table = provider_table(MATCH, PROVIDERS, monthly_activity(_records(), OFFERS, PROVIDERS)).set_index("provider_id")
    assert list(table.reset_index().columns) == list(PROVIDER_COLUMNS)
    p1, p2 = table.loc["P1"], table.loc["P2"]
    assert (p1["capacity_per_month"], p1["assigned"], p1["utilisation"]) == (6, 6, 1.0)
    assert p1["unmet_in_reach"] == 3 and p2["unmet_in_reach"] == 0
    assert p1["sole_items"] == 1 and p2["sole_items"] == 0  # C01 only at P1
    assert (p1["months_active"], p2["months_active"], p1["months_observed"]) == (4, 1, 4)
    # P1: H 0, A 1, slope 0.4 -> T 1, D 1 - 1/2 = 0.5 -> 100*(0 + 0.3 + 0.2 + 0.1) = 60
    assert p1["sustainability"] == pytest.approx(60.0)
    # P2: H 0.75, A 0.25, slope of [2,0,0,0]: -0.6/0.5 -> clipped -> T 0, D 1 -> 100*(0.225+0.075+0+0.2) = 50
    assert p2["sustainability"] == pytest.approx(50.0)
    towns = town_table(table.reset_index()).set_index("town_code")
    assert towns.loc[TOWN_A, "sustainability"] == pytest.approx(60.0)
    assert towns.loc[TOWN_B, "utilisation"] == pytest.approx(0.25)


def test_item_shares_and_dependency() -> None:
    shares = item_share_table(MATCH).set_index(["provider_id", "item_id"])
    assert shares.loc[("P1", "S01"), "share_of_demand"] == pytest.approx(4 / 7)
    assert shares.loc[("P1", "C01"), "share_of_demand"] == pytest.approx(2 / 3)
    assert bool(shares.loc[("P1", "C01"), "sole_provider"]) and not bool(shares.loc[("P2", "S01"), "sole_provider"])
    assert sole_items(OFFERS)[["item_id", "provider_id"]].values.tolist() == [["C01", "P1"]]


def test_scope_and_protection() -> None:
    table = provider_table(MATCH, PROVIDERS, monthly_activity(_records(), OFFERS, PROVIDERS))
    assert scope_table(table, AreaFilter(Role.TOWN_MANAGER, TOWN_A))["provider_id"].tolist() == ["P1"]
    village = AreaFilter(Role.VILLAGE_MANAGER, TOWN_B, TOWN_B + "001")
    assert scope_table(table, village)["provider_id"].tolist() == ["P2"]
    assert len(scope_table(table, AreaFilter(Role.PLANNER))) == 2
    assert len(scope_table(table, AreaFilter(Role.VIEWER))) == 0
    shown = protected_counts(table).set_index("provider_id")
    assert shown.loc["P1", "unmet_in_reach"] == "<10" and shown.loc["P2", "unmet_in_reach"] == "0"


def test_unknown_activity_reweights() -> None:
    act = monthly_activity(_records(), OFFERS, PROVIDERS)
    table = provider_table(MATCH, PROVIDERS, act, known_departments={"民政"}).set_index("provider_id")
    p2 = table.loc["P2"]
    assert not bool(p2["activity_known"]) and np.isnan(p2["A"])
    # H 0.75, D 1: 100 * (0.3*0.75 + 0.2*1) / 0.5 = 85
    assert p2["sustainability"] == pytest.approx(85.0)
    assert table.loc["P1", "sustainability"] == pytest.approx(60.0)
