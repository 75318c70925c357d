"""Coverage on a page: an area's shared run, summary, protected screen and rendered map, and the
siting recommendation (:mod:`pages._warm_up` fills the first ones at server start).

Every result is keyed by :class:`service.dashboard.RunKey` (dataset and version, settings, the
user's area) and shared read-only by the sessions of that area; the computation is in
:mod:`service.dashboard`.
"""

from __future__ import annotations

import logging

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from core.i18n import item_names
from core.settings import DEFAULT_H3_RES, Settings
from data.basemap import named_roads
from data.config import xihu_file
from geo.analysis import CoverageRun, HubEngine, hub_engine
from geo.analysis import nearest_other_hub as _nearest_other_hub
from geo.disclosure import CoverageScreen
from geo.siting import SitingResult
from pages._cache import shared_result
from pages._common import (
    bundle_snapper,
    current_key,
    dataset_tables,
    get_basemap,
    get_bundle,
    get_node_cells,
)
from pages._i18n import lang
from pages._map import MapPayload, payload_of
from service import dashboard as svc
from service.dashboard import AreaKey, RunKey, Summary

logger = logging.getLogger(__name__)
#: entries per area-keyed cache: the warm-up's 15 areas (3 district roles, 12 towns) plus the
#: towns and villages of the people signed in, so one person's area never evicts another's
#: (16 did: 20 people of 13 areas recomputed what the warm-up had built)
AREA_ENTRIES = 64


@st.cache_resource(max_entries=8, show_spinner="计算步行覆盖… / computing coverage…")
def hub_engine_for(dataset: str, version: int, settings: Settings) -> HubEngine:
    """The dataset's hubs on the network and their engine, shared read-only by every area's run
    (an engine is ~7 MB; the planner's scenarios edit a copy)."""
    return hub_engine(bundle_snapper(), dataset_tables(dataset, version)["hubs"], settings)


@shared_result(max_entries=AREA_ENTRIES, show_spinner="计算步行覆盖… / computing coverage…")
def run_for(key: RunKey) -> CoverageRun:
    """The coverage run of the households ``key.area`` may see (filtered before caching): one
    entry shared by the sessions of that area (``st.cache_data`` kept it pickled, ~8 MB, and
    unpickled it on every rerun of the hub and planner pages)."""
    base = hub_engine_for(key.dataset, key.version, key.settings)
    return svc.coverage_for(bundle_snapper(), dataset_tables(key.dataset, key.version), key, base=base)


@shared_result(max_entries=AREA_ENTRIES, show_spinner="计算步行覆盖… / computing coverage…")
def summary_for(key: RunKey) -> Summary:
    """Aggregates for ``key.area``. A viewer gets district aggregates computed here, so no
    cache entry reachable by a viewer holds a household."""
    if svc.needs_protection(key):
        base = hub_engine_for(key.dataset, key.version, key.settings)
        return svc.district_summary(bundle_snapper(), dataset_tables(key.dataset, key.version), key.settings, base=base)
    return svc.summary_of(run_for(key), suppressed=False)


def current_run(area: AreaKey) -> CoverageRun:
    return run_for(current_key(area))


def current_summary(area: AreaKey) -> Summary:
    return summary_for(current_key(area))


@st.cache_data(max_entries=32, show_spinner=False)
def nearest_other_hub(key: RunKey, exclude_hub: str) -> pd.DataFrame:
    """For every household of the run, the nearest hub other than ``exclude_hub`` within 10 km."""
    return _nearest_other_hub(run_for(key), exclude_hub)


@shared_result(max_entries=AREA_ENTRIES, show_spinner="统计与隐私保护… / computing and protecting figures…")
def screen_for(key: RunKey) -> CoverageScreen:
    """Every count a protected overview shows, protected together (see :func:`service.dashboard.protect_screen`)."""
    return svc.protect_screen(summary_for(key))


def current_screen(area: AreaKey) -> CoverageScreen | None:
    """The protected screen for roles that see aggregates only; None for the others."""
    key = current_key(area)
    return screen_for(key) if svc.needs_protection(key) else None


@shared_result(max_entries=AREA_ENTRIES, show_spinner="统计与隐私保护… / computing and protecting figures…")
def shown_hexes_for(key: RunKey) -> pd.DataFrame:
    """The hexes as the map and the gap table print them (one form for both)."""
    summary = summary_for(key)
    return svc.shown_hexes(summary, screen_for(key) if summary.suppressed else None)


def share_table(counts: pd.DataFrame, labels: dict[str, str], *, shown: pd.DataFrame | None = None) -> pd.DataFrame:
    return svc.share_table(counts, labels, lang=lang(), shown=shown)


@st.cache_data(max_entries=8, show_spinner=False)
def service_areas_for(dataset: str, version: int, settings: Settings) -> gpd.GeoDataFrame:
    b = get_bundle()
    cells = get_node_cells(str(b.network_path), b.metric_crs)
    return svc.service_areas(hub_engine_for(dataset, version, settings)[1], cells)


def map_for(key: RunKey, hex_metric: str, focus_town: str = "", lang_code: str | None = None) -> folium.Map:
    """The interactive map of ``key.area`` (maps are built fresh; their inputs are cached)."""
    summary = summary_for(key)
    screen = screen_for(key) if summary.suppressed else None
    return svc.dashboard_map(
        bundle=get_bundle(),
        basemap=get_basemap(),
        summary=summary,
        hexes=shown_hexes_for(key),
        served_txt=None if screen is None or screen.served is None else list(screen.served),
        providers=dataset_tables(key.dataset, key.version)["providers"],
        items=item_names(dataset_tables(key.dataset, key.version)["catalogue"], lang_code or lang()),
        areas=service_areas_for(key.dataset, key.version, key.settings.with_(h3_res=DEFAULT_H3_RES)),
        key=key,
        hex_metric=hex_metric,
        lang=lang_code or lang(),
        focus_town=focus_town,
    )


@st.cache_resource(max_entries=2 * AREA_ENTRIES, show_spinner=False)
def map_payload(key: RunKey, hex_metric: str, focus_town: str, lang_code: str) -> MapPayload:
    """:func:`map_for` rendered once (:func:`pages._map.payload_of`), in ``lang_code``."""
    return payload_of(map_for(key, hex_metric, focus_town, lang_code))


def map_payload_for(key: RunKey, hex_metric: str, focus_town: str = "") -> MapPayload:
    """:func:`map_for` rendered once per run key (area included), colouring, town and language,
    shared read-only by every session of that area (see :mod:`pages._map`)."""
    return map_payload(key, hex_metric, focus_town, lang())


@st.cache_resource(max_entries=1)
def get_named_roads() -> gpd.GeoDataFrame | None:
    """Named roads for "nearest named road" of recommended sites (None without shared data)."""
    path = xihu_file(Settings().shared_data, "roads")
    if get_bundle().is_fallback or not path.is_file():
        return None
    return named_roads(path)


@st.cache_data(max_entries=16, show_spinner="求解选址模型… / solving…")
def recommend_for(
    key: RunKey,
    p: int,
    weights: tuple[float, float, float, float],
    require_towns: tuple[str, ...],
    within_town: str,
    candidates: pd.DataFrame | None = None,
) -> SitingResult:
    """Recommended sites for ``p`` new stations (see :func:`service.dashboard.recommend`)."""
    return svc.recommend(
        run_for(key),
        snapper=bundle_snapper(),
        towns=get_bundle().towns,
        roads=get_named_roads(),
        p=p,
        weights=weights,
        require_towns=require_towns,
        within_town=within_town,
        candidates=candidates,
    )
