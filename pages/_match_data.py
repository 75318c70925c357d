"""Matching (精准匹配) on a page: the district's matching problem shared read-only, its results
cut to the user's area, the provider search, accessibility and the matching map."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.settings import Settings
from data.accounts.access import filter_frame
from geo.matching import MatchingProblem, MatchingResult
from pages._common import bundle_snapper, dataset_tables, get_basemap, get_bundle
from pages._map import MapPayload, payload_of
from service import dashboard as svc
from service import matching as svc_match
from service.dashboard import RunKey


# -- matching (精准匹配): the district's problem shared read-only, results cut to the area ------
@st.cache_resource(max_entries=4, show_spinner="计算供需匹配… / matching…")
def matching_problem_for(
    dataset: str, version: int, settings: Settings, added: tuple[svc_match.AddedOffer, ...] = ()
) -> MatchingProblem:
    """The district's matching problem (holds every need: never shown; see :mod:`service.matching`)."""
    if added:
        return svc_match.with_added_offers(matching_problem_for(dataset, version, settings), added)
    return svc_match.district_problem(bundle_snapper(), get_bundle(), dataset_tables(dataset, version), settings)


@st.cache_resource(max_entries=16, show_spinner="计算供需匹配… / matching…")
def matching_result_for(
    dataset: str,
    version: int,
    settings: Settings,
    changes: tuple[svc_match.CapacityChange, ...] = (),
    added: tuple[svc_match.AddedOffer, ...] = (),
) -> MatchingResult:
    """The district's matching (only ``solve`` reruns for a capacity what-if)."""
    problem = matching_problem_for(dataset, version, settings, added)
    return problem.solve(capacity_overrides={(p, i): c for p, i, c in changes})


@st.cache_data(max_entries=16, show_spinner=False)
def matching_for(
    key: RunKey, changes: tuple[svc_match.CapacityChange, ...] = (), added: tuple[svc_match.AddedOffer, ...] = ()
) -> svc_match.AreaMatching:
    """The matching cut to ``key.area`` (role and area in the key; filtered before caching)."""
    result = matching_result_for(key.dataset, key.version, key.settings, changes, added)
    tables = dataset_tables(key.dataset, key.version)
    return svc_match.area_matching(result, key, tables["beneficiaries"], tables["providers"])


@st.cache_data(max_entries=32, show_spinner=False)
def search_for(
    key: RunKey,
    changes: tuple[svc_match.CapacityChange, ...],
    added: tuple[svc_match.AddedOffer, ...],
    point: tuple[float, float],
    minutes: float,
    item_id: str,
    keyword: str,
    with_capacity: bool,
) -> pd.DataFrame:
    """Provider search with remaining capacity after the (what-if) matching, as ``key.area`` may see it."""
    result = matching_result_for(key.dataset, key.version, key.settings, changes, added)
    tables = dataset_tables(key.dataset, key.version)
    return svc_match.provider_search(
        bundle_snapper(), result, tables["providers"], tables["catalogue"], key.settings,
        matching_for(key, changes, added), lon=point[0], lat=point[1], minutes=minutes, item_id=item_id or None,
        keyword=keyword or None, with_capacity=with_capacity,
    )  # fmt: skip


@st.cache_data(max_entries=8, show_spinner="计算服务可及性… / computing accessibility…")
def accessibility_for(key: RunKey) -> pd.DataFrame:
    """E2SFCA per hex and need type over the area's hexes (roles that see households only)."""
    return svc_match.accessibility_by_need_type(
        bundle_snapper(), get_bundle(), dataset_tables(key.dataset, key.version), key.settings, key
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def matching_map_payload(
    key: RunKey,
    changes: tuple[svc_match.CapacityChange, ...],
    added: tuple[svc_match.AddedOffer, ...],
    search: tuple[tuple[float, float], float, str, str, bool] | None,
    access_group: str,
    lang_code: str,
) -> MapPayload:
    """The 匹配 page's map of ``key.area`` rendered once per search (point, minutes, item, keyword,
    capacity only) and accessibility layer, shared read-only (see :mod:`pages._map`): a rerun that
    changes neither sends the same frame again instead of rendering the map anew."""
    tables = dataset_tables(key.dataset, key.version)
    res = None if search is None else search_for(key, changes, added, *search)
    m = svc_match.matching_map(
        bundle=get_bundle(), basemap=get_basemap(),
        hubs=filter_frame("hubs", tables["hubs"], svc.area_filter_of(key.area)).sort_values("hub_id"),
        providers=tables["providers"], search=res, point=None if search is None else search[0],
        access=accessibility_for(key) if access_group else None, access_group=access_group,
        settings=key.settings, focus_town=key.area[1], lang=lang_code,
    )  # fmt: skip
    return payload_of(m)
