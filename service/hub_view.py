"""The hub view (镇街 / 村社) as tables: one station's households, who is outside its circle, and
the providers within reach of it.

Streamlit-free; ``pages/hubs.py`` reads the widgets and shows these. Headers and codes come out
in the user's language (:mod:`core.i18n`), empty cells print as empty, never ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.i18n import item_label, label, t
from core.vocab import LIST_SEP, NEED_PRIORITY
from geo.analysis import CoverageRun, walk_from_point
from geo.areas import hub_area_mask
from geo.snap import Snapper


def hub_households(run: CoverageRun, hub: Mapping[str, Any] | pd.Series) -> pd.DataFrame:
    """The households of ``run`` in ``hub``'s area (its town, or its village point's community).

    Returns
    -------
    pandas.DataFrame
        The rows of ``run.points`` in the area, with their ``covered`` flag.
    """
    row = {str(k): v for k, v in hub.items()}
    return run.points[hub_area_mask(row, run.points)]


def category_counts(households: pd.DataFrame) -> pd.DataFrame:
    """Households and those covered per category: index ``category``, columns ``n``, ``covered``
    (what :func:`service.dashboard.share_table` reads)."""
    return households.groupby("category").agg(n=("covered", "size"), covered=("covered", "sum")).astype(int)


def outside_list(
    households: pd.DataFrame, alternatives: pd.DataFrame, hub_names: Mapping[str, str], lang: str
) -> pd.DataFrame:
    """The households outside the circle, most urgent first, as the page shows and exports them.

    Parameters
    ----------
    households
        The area's households (:func:`hub_households`).
    alternatives
        Per household (same index) the nearest other hub, ``alt_hub_id`` and ``alt_walk_m``
        (:func:`geo.analysis.nearest_other_hub`).
    hub_names
        Hub id -> name.
    lang
        Language of headers and labels.

    Returns
    -------
    pandas.DataFrame
        ID, masked name, category, need type, urgency, nearest other hub and its walk in metres
        (rounded), headers in ``lang``; sorted by need type priority (survival first), urgency
        (highest first) and ID. Empty when every household is inside.
    """
    out = households[~households["covered"].astype(bool)].join(alternatives)
    prio = out["need_type"].map(NEED_PRIORITY).fillna(len(NEED_PRIORITY))
    out = out.assign(_prio=prio).sort_values(["_prio", "urgency", "beneficiary_id"], ascending=[True, False, True])
    return pd.DataFrame(
        {
            t("col_id", lang): out["beneficiary_id"].astype(str),
            t("col_name", lang): out["name_masked"].fillna(""),
            t("col_category", lang): out["category"].map(lambda c: label("category", c, lang)),
            t("col_need_type", lang): out["need_type"].map(lambda c: label("need_type", c, lang)),
            t("col_urgency", lang): out["urgency"],
            t("nearest_alt", lang): out["alt_hub_id"].map(lambda h: hub_names.get(str(h), "—")),
            t("col_walk_m", lang): np.round(out["alt_walk_m"].astype(float), 0),
        }
    )


def providers_near(
    snapper: Snapper,
    lon: float,
    lat: float,
    providers: pd.DataFrame,
    *,
    cutoff_cm: int,
    lang: str,
    items: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Providers within ``cutoff_cm`` of walking from (``lon``, ``lat``), one row per service
    item they offer, by item and then distance.

    Returns
    -------
    pandas.DataFrame
        Item name, provider, monthly capacity, walk in metres (rounded), headers in ``lang``;
        empty (with those headers) when none is within reach.
    """
    walk = walk_from_point(snapper, lon, lat, providers["lon"], providers["lat"], cutoff_cm=cutoff_cm)
    near = providers.assign(walk_m=walk)[np.isfinite(walk)]
    rows = [
        {
            "service": item_label(code.strip(), lang, items),
            "provider": str(name),
            "capacity_month": cap,
            "walk_m": round(float(w)),
        }
        for name, services, cap, w in zip(
            near["name"], near["services"].fillna(""), near["capacity_month"], near["walk_m"], strict=True
        )
        for code in str(services).split(LIST_SEP)
        if code.strip()
    ]
    frame = pd.DataFrame(rows, columns=["service", "provider", "capacity_month", "walk_m"])
    frame = frame.sort_values(["service", "walk_m"], kind="stable").reset_index(drop=True)
    return frame.rename(
        columns={
            "service": t("col_service", lang),
            "provider": t("col_provider", lang),
            "capacity_month": t("col_capacity", lang),
            "walk_m": t("col_walk_m", lang),
        }
    )
