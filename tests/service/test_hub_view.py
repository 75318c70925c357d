"""service.hub_view on the 100 m lattice: answers known by arithmetic."""

from __future__ import annotations

import pandas as pd
import pytest

from core.i18n import label, t
from core.settings import Settings
from geo.analysis import CoverageRun, coverage_run, nearest_other_hub
from geo.graph import WalkNetwork
from geo.snap import Snapper
from service.hub_view import category_counts, hub_households, outside_list, providers_near
from tests.conftest import DLAT, DLON, LAT0, LON0


def _at(col: int) -> tuple[float, float]:
    return LON0 + col * DLON, LAT0 + 0 * DLAT


@pytest.fixture(scope="module")
def hub_run(lattice_net: WalkNetwork) -> tuple[CoverageRun, Snapper]:
    """Station W at column 0, station E at column 19 of row 0; 10 minutes at 4.5 km/h is 750 m."""
    snapper = Snapper(lattice_net)
    (w_lon, w_lat), (e_lon, e_lat) = _at(0), _at(19)
    hubs = pd.DataFrame(
        {
            "hub_id": ["W", "E"],
            "name": ["西站", "东站"],
            "tier": ["town", "town"],
            "town_code": ["tw", "te"],
            "lon": [w_lon, e_lon],
            "lat": [w_lat, e_lat],
        }
    )
    cols = [2, 8, 9, 9, 15]
    people = pd.DataFrame(
        {
            "beneficiary_id": ["b01", "b02", "b03", "b04", "b05"],
            "name_masked": ["张*", None, "王*", "赵*", "钱*"],
            "category": ["dibao", "tekun", "dibao", "dibao", "dibao"],
            "need_type": ["survival", "survival", "care", "survival", "care"],
            "urgency": [2, 1, 5, 4, 3],
            "town_code": ["tw", "tw", "tw", "tw", "te"],
            "lon": [_at(c)[0] for c in cols],
            "lat": [_at(c)[1] for c in cols],
        }
    )
    return coverage_run(snapper, hubs, people, Settings()), snapper


def test_households_of_a_station_and_their_counts(hub_run: tuple[CoverageRun, Snapper]) -> None:
    run, _ = hub_run
    west = hub_households(run, run.hubs.iloc[0])
    assert west["beneficiary_id"].tolist() == ["b01", "b02", "b03", "b04"]  # its town only
    assert west["covered"].tolist() == [True, False, False, False]  # 200 m in; 800 and 900 m out
    counts = category_counts(west)
    assert counts.to_dict("index") == {"dibao": {"n": 3, "covered": 1}, "tekun": {"n": 1, "covered": 0}}


def test_outside_list_is_in_chinese_most_urgent_first(hub_run: tuple[CoverageRun, Snapper]) -> None:
    run, _ = hub_run
    west = hub_households(run, run.hubs.iloc[0])
    alt = nearest_other_hub(run, "W")
    view = outside_list(west, alt, {"W": "西站", "E": "东站"}, "zh")
    assert list(view.columns) == [
        t(k, "zh") for k in ("col_id", "col_name", "col_category", "col_need_type", "col_urgency", "nearest_alt")
    ] + [t("col_walk_m", "zh")]
    # survival before care; within survival the higher urgency first
    assert view[t("col_id", "zh")].tolist() == ["b04", "b02", "b03"]
    assert view[t("col_name", "zh")].tolist() == ["赵*", "", "王*"]  # a missing name is empty, not None
    assert view[t("col_category", "zh")].tolist() == [label("category", c, "zh") for c in ("dibao", "tekun", "dibao")]
    assert view[t("col_need_type", "zh")].tolist() == [label("need_type", "survival", "zh")] * 2 + [
        label("need_type", "care", "zh")
    ]
    assert view[t("nearest_alt", "zh")].tolist() == ["东站"] * 3
    assert view[t("col_walk_m", "zh")].tolist() == [1000.0, 1100.0, 1000.0]  # to column 19, by arithmetic


def test_outside_list_without_another_station_in_reach(hub_run: tuple[CoverageRun, Snapper]) -> None:
    run, _ = hub_run
    west = hub_households(run, run.hubs.iloc[0])
    alt = pd.DataFrame({"alt_hub_id": None, "alt_walk_m": float("nan")}, index=west.index)
    view = outside_list(west, alt, {"W": "西站", "E": "东站"}, "en")
    assert view[t("nearest_alt", "en")].tolist() == ["—"] * 3
    assert view[t("col_walk_m", "en")].isna().all()


def test_providers_near_one_row_per_item_within_reach(hub_run: tuple[CoverageRun, Snapper]) -> None:
    _, snapper = hub_run
    providers = pd.DataFrame(
        {
            "name": ["近所", "无项目", "远所"],
            "services": ["C03;C01", None, "C02"],
            "capacity_month": [10, 5, 7],
            "lon": [_at(3)[0], _at(5)[0], _at(12)[0]],
            "lat": [_at(3)[1], _at(5)[1], _at(12)[1]],
        }
    )
    lon, lat = _at(0)
    items = {"C01": "助餐", "C03": "助浴", "C02": "助洁"}
    near = providers_near(snapper, lon, lat, providers, cutoff_cm=100_000, lang="zh", items=items)
    cols = [t(k, "zh") for k in ("col_service", "col_provider", "col_capacity", "col_walk_m")]
    assert list(near.columns) == cols
    # 1,200 m is beyond 1,000 m; a provider with no item gives no row
    assert near.values.tolist() == sorted([["助浴", "近所", 10, 300], ["助餐", "近所", 10, 300]])
    none = providers_near(snapper, lon, lat, providers.iloc[2:], cutoff_cm=100_000, lang="zh", items=items)
    assert none.empty and list(none.columns) == cols
