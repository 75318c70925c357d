"""service.planning: the recommended sites as a person reads them."""

from __future__ import annotations

import pandas as pd

from core.i18n import label, t
from service.planning import sites_table


def test_sites_table_headers_and_town_names_in_the_users_language() -> None:
    sites = pd.DataFrame(
        {
            "rank": [1, 2],
            "site_id": ["S1", "S2"],
            "town_code": ["330106008", "999"],
            "road_name": ["文三路", None],
            "newly_covered": [12.5, 3.0],
            "newly_covered_n": [5, 1],
            "n_need_survival": [3, 1],
            "n_need_care": [2, 0],
            "n_need_development": [0, 0],
            "lon": [120.1, 120.2],
            "lat": [30.2, 30.3],
            "node": [7, 9],  # internal: not shown
        }
    )
    view = sites_table(sites, {"330106008": "西溪街道"}, "zh")
    assert list(view.columns) == [
        t("col_rank", "zh"), t("col_site", "zh"), t("col_town", "zh"), t("col_road", "zh"),
        t("col_new_weighted", "zh"), t("col_new_n", "zh"),
        label("need_type", "survival", "zh"), label("need_type", "care", "zh"), label("need_type", "development", "zh"),
        t("col_lon", "zh"), t("col_lat", "zh"),
    ]  # fmt: skip
    # an unknown town and a missing road print as empty cells, not None / nan
    assert view[t("col_town", "zh")].tolist() == ["西溪街道", ""]
    assert view[t("col_road", "zh")].tolist() == ["文三路", ""]
    no_roads = sites_table(sites.drop(columns="road_name"), {}, "en")
    assert t("col_road", "en") not in no_roads.columns and t("col_site", "en") in no_roads.columns
