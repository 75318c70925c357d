"""The service layer without streamlit: report scopes by area, share tables, run keys."""

from __future__ import annotations

import pandas as pd

from core.settings import Settings
from data.accounts.access import AreaFilter
from data.accounts.auth import Role
from reports.model import Scope
from service.dashboard import RunKey, scope_in_area, share_table

TOWN_OF = {"C1": "330106001", "C2": "330106002", "330106001999": "330106002"}


def test_village_scope_belongs_to_the_town_of_its_community_not_a_code_prefix() -> None:
    town = AreaFilter(Role.TOWN_MANAGER, "330106001", None)
    assert scope_in_area(Scope("town", "330106001", "北山"), town, TOWN_OF)
    assert not scope_in_area(Scope("town", "330106002", "西溪"), town, TOWN_OF)
    assert scope_in_area(Scope("village", "C1", "a"), town, TOWN_OF)
    assert not scope_in_area(Scope("village", "C2", "b"), town, TOWN_OF)
    # a community whose code starts with the town's code but lies in another town
    assert not scope_in_area(Scope("village", "330106001999", "c"), town, TOWN_OF)
    village = AreaFilter(Role.VILLAGE_MANAGER, "330106001", "C1")
    assert scope_in_area(Scope("village", "C1", "a"), village, TOWN_OF)
    assert not scope_in_area(Scope("town", "330106001", "北山"), village, TOWN_OF)
    planner = AreaFilter(Role.PLANNER, None, None)
    assert scope_in_area(Scope("district", "330106", "西湖区"), planner, TOWN_OF)


def test_share_table_labels_and_languages() -> None:
    counts = pd.DataFrame({"n": [40, 30], "covered": [30, 30]}, index=["dibao", None])
    zh = share_table(counts, {"dibao": "低保"}, lang="zh")
    assert list(zh.index) == ["低保", "未填"]
    assert list(zh.columns) == ["户数", "圈内", "圈外", "覆盖率%"]
    assert zh["圈外"].tolist() == [10, 0]
    assert zh["覆盖率%"].tolist() == [75.0, 100.0]
    en = share_table(counts, {"dibao": "Dibao"}, lang="en")
    assert list(en.columns) == ["Households", "Inside", "Outside", "Coverage %"]


def test_run_keys_differ_by_area_and_settings() -> None:
    a = RunKey("demo", 0, Settings(), ("planner", "", ""))
    assert a == RunKey("demo", 0, Settings(), ("planner", "", ""))
    assert a != RunKey("demo", 0, Settings(), ("viewer", "", ""))
    assert a != RunKey("demo", 0, Settings(minutes=15), ("planner", "", ""))
    assert hash(a) == hash(RunKey("demo", 0, Settings(), ("planner", "", "")))
    assert a.area_filter.role is Role.PLANNER
