"""The 服务能力 and 重复救助 report sheets: rows per scope, small counts protected, amounts beside them hidden."""

from __future__ import annotations

import pandas as pd

from reports.model import Scope
from service.capacity import (
    CapacityView,
    item_share_table,
    monthly_activity,
    provider_table,
    sole_items,
    town_table,
)
from service.report_sections import capacity_rows, duplicate_rows
from tests.service.test_capacity import MATCH, OFFERS, PROVIDERS, TOWN_A, _records
from tests.service.test_duplicates import FLAGS, HOUSEHOLDS, RECORDS
from tests.service.test_duplicates import TOWN_A as DUP_TOWN_A

DISTRICT = Scope("district", "330106", "西湖区")


def _view() -> CapacityView:
    table = provider_table(MATCH, PROVIDERS, monthly_activity(_records(), OFFERS, PROVIDERS))
    return CapacityView(table, town_table(table), item_share_table(MATCH), sole_items(OFFERS), pd.DataFrame())


def test_capacity_rows_per_scope_protected() -> None:
    view = _view()
    names = {TOWN_A: "甲街道"}
    district = capacity_rows(view, DISTRICT, names)
    assert len(district) == 2 and "甲街道" in set(district["area"])
    assert set(district["assigned"]) <= {"<10", "0"} and "1" not in set(district["unmet_in_reach"])
    town = capacity_rows(view, Scope("town", TOWN_A, "甲街道"), names)
    assert town["area"].tolist() == ["甲站"] and town["assigned"].tolist() == ["<10"]
    # capacity is public: a utilisation (or the indicator, whose headroom term it is) would give the load back
    assert town["utilisation"].tolist() == ["—"] and town["sustainability"].tolist() == ["—"]
    assert town["unmet_in_reach"].tolist() == ["<10"]
    village = capacity_rows(view, Scope("village", TOWN_A + "001", "一村"), names)
    assert village["area"].tolist() == ["甲站"]  # a village point reads its town's providers


def test_duplicate_rows_per_scope_protected() -> None:
    district = duplicate_rows(FLAGS, RECORDS, HOUSEHOLDS, DISTRICT)
    body, total = district.iloc[:-1], district.iloc[-1]
    assert total["department"] == "合计" and total["n_flags"] == "<10" and total["amount"] == "—"
    assert set(body["n_flags"]) == {"<10"} and set(body["amount"]) == {"—"}  # every cell is small here
    town = duplicate_rows(FLAGS, RECORDS, HOUSEHOLDS, Scope("town", DUP_TOWN_A, "甲"))
    assert set(town.iloc[:-1]["department"]) == {"医保", "慈善总会", "人社", "残联"}  # p1 and p4 only
    village = duplicate_rows(FLAGS, RECORDS, HOUSEHOLDS, Scope("village", DUP_TOWN_A + "001", "一村"))
    assert set(village.iloc[:-1]["department"]) == {"医保", "慈善总会"}  # p1 only


def test_duplicate_rows_print_large_counts_and_their_amounts() -> None:
    many = pd.concat([FLAGS.loc[FLAGS["person_key"] == "p1"]] * 12, ignore_index=True)
    many["flag_id"] = [f"F{i}" for i in range(len(many))]
    rows = duplicate_rows(many, RECORDS, HOUSEHOLDS, DISTRICT).set_index("department")
    assert rows.loc["医保", "n_flags"] == "12" and rows.loc["医保", "amount"] == 800.0 * 12
    assert rows.loc["合计", "amount"] == (800.0 + 500.0) * 12


def test_a_town_load_is_not_given_back_by_the_matching_sections_total() -> None:
    """The matching section prints the district's matched needs, the sum of every provider's load:
    a single withheld town load would be that total minus the printed ones."""
    prov = pd.DataFrame(
        {
            "provider_id": ["p1", "p2", "p3"],
            "name": ["甲站", "乙站", "丙站"],
            "town_code": ["A", "B", "C"],
            "capacity_per_month": [100, 100, 100],
            "assigned": [54, 5, 40],
            "unmet_in_reach": [20, 20, 20],
            "sole_items": [0, 0, 0],
            "months_active": [3, 3, 3],
            "activity_known": [True, True, True],
            "sustainability": [0.5, 0.5, 0.5],
        }
    )
    prov["utilisation"] = prov["assigned"] / prov["capacity_per_month"]
    view = CapacityView(prov, town_table(prov), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    district = capacity_rows(view, DISTRICT, {"A": "甲", "B": "乙", "C": "丙"})
    loads = district["assigned"].tolist()
    assert loads[1] == "<10"  # 5
    hidden = [v for v in loads if not v.isdigit()]
    assert len(hidden) >= 2, loads  # 99 - 54 - 40 would give 乙's 5 back
