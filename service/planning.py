"""The planner (选址规划) as a person reads it: the recommended sites as a table.

Streamlit-free; ``pages/planner.py`` reads the widgets and shows it. Headers come out in the
user's language (:mod:`core.i18n`); the recommendation itself is
:func:`service.dashboard.recommend`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from core.i18n import label, t
from core.vocab import NEED_TYPES


def sites_table(sites: pd.DataFrame, town_names: Mapping[str, str], lang: str) -> pd.DataFrame:
    """The recommended sites (:attr:`geo.siting.SitingResult.sites`) as the page shows them.

    Returns
    -------
    pandas.DataFrame
        Rank, site, town name, nearest named road, weighted and counted households newly
        covered, newly covered per need type, lon, lat (WGS-84), in that order, headers in
        ``lang``; columns the result lacks (no road layer) are left out.
    """
    view = sites.assign(town=sites["town_code"].map(lambda c: town_names.get(str(c), "")))
    if "road_name" in view:
        view["road_name"] = view["road_name"].fillna("")
    headers = {
        "rank": t("col_rank", lang),
        "site_id": t("col_site", lang),
        "town": t("col_town", lang),
        "road_name": t("col_road", lang),
        "newly_covered": t("col_new_weighted", lang),
        "newly_covered_n": t("col_new_n", lang),
        **{f"n_need_{k}": label("need_type", k, lang) for k in NEED_TYPES},
        "lon": t("col_lon", lang),
        "lat": t("col_lat", lang),
    }
    return view[[c for c in headers if c in view.columns]].rename(columns=headers)
