"""One definition of a hub's area and of the coverage share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.areas import hub_area_mask, hub_community
from geo.figures import coverage_pct

POINTS = pd.DataFrame(
    {"town_code": ["T1", "T1", "T2", "T2"], "community_code": ["C1", "C2", "C3", "C1"]},
)


def test_town_station_area_is_its_town() -> None:
    hub = {"hub_id": "S1", "tier": "town", "town_code": "T1"}
    assert hub_area_mask(hub, POINTS).tolist() == [True, True, False, False]


def test_village_point_area_by_id_or_by_column() -> None:
    by_id = {"hub_id": "VC1", "tier": "village", "town_code": "T1"}
    assert hub_area_mask(by_id, POINTS).tolist() == [True, False, False, True]
    by_col = {"hub_id": "P9", "tier": "village", "town_code": "T2", "community_code": "C3"}
    assert hub_area_mask(by_col, POINTS).tolist() == [False, False, True, False]
    district = {"hub_id": "D1", "tier": "district", "town_code": ""}
    assert hub_area_mask(district, POINTS).all()


def test_hub_community_only_for_village_hubs_and_known_codes() -> None:
    hubs = pd.DataFrame({"hub_id": ["VC1", "VC9", "S1"], "tier": ["village", "village", "town"]})
    assert hub_community(hubs, {"C1"}).tolist() == ["C1", None, None]
    assert hub_community(hubs).tolist() == ["C1", "C9", None]


def test_coverage_pct_scalar_and_array() -> None:
    assert coverage_pct(3, 4) == 75.0
    assert np.isnan(coverage_pct(0, 0))
    out = coverage_pct(pd.Series([1, 0, 2]), pd.Series([2, 0, 2]))
    np.testing.assert_allclose(out, [50.0, np.nan, 100.0])
