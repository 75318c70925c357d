"""The warm-up at server start (``serve.py``): what a first session after a start would
otherwise wait for, computed once in a background thread into the ordinary shared caches."""

from __future__ import annotations

import logging
import time

from core.settings import DEFAULT_H3_RES
from pages._common import bundle_snapper, dataset_version, default_settings, get_basemap, get_bundle
from pages._coverage import map_payload, screen_for, service_areas_for, shown_hexes_for, summary_for
from pages._map import component_ready
from pages._match_data import matching_result_for
from pages._records import capacity_for
from service import dashboard as svc
from service.dashboard import DATASET_DEMO, AreaKey, RunKey

logger = logging.getLogger(__name__)


#: how long the warm-up waits for a first session before leaving the maps to the sessions
WARM_UP_WAIT_S = 600.0


def warm_up_areas() -> tuple[AreaKey, ...]:
    """The areas whose first overview the warm-up prepares: the district roles, then every town."""
    towns = tuple(sorted(get_bundle().towns["town_code"].astype(str)))
    return (("planner", "", ""), ("viewer", "", ""), ("admin", "", ""), *(("town_manager", c, "") for c in towns))


def warm_up(areas: tuple[AreaKey, ...] | None = None, lang_code: str = "zh") -> None:
    """Fill the shared caches a first overview needs (demo dataset, default settings), so the
    first person to sign in after a start waits for none of it: the bundle, network and base
    map, and per area (:func:`warm_up_areas` by default) the summary, the protected screen (a
    viewer's takes seconds) and the rendered overview map. Runs in a background thread (no
    session): a session asking for the same entry meanwhile waits for this computation instead
    of repeating it. Every entry is an ordinary bounded cache entry (``max_entries``).

    Then the district's matching and provider capacity (shared by every role: the 匹配 and
    服务能力 pages and the reports' sections), which a first visit of those pages otherwise
    waits 1.6-2.0 s for."""
    areas = warm_up_areas() if areas is None else areas
    settings = default_settings()
    version = dataset_version(DATASET_DEMO)
    keys = [RunKey(DATASET_DEMO, version, settings, area) for area in areas]
    t0 = time.monotonic()
    bundle_snapper()
    get_basemap()
    for key in keys:
        summary_for(key)
        if svc.needs_protection(key):
            screen_for(key)
        shown_hexes_for(key)
        service_areas_for(key.dataset, key.version, key.settings.with_(h3_res=DEFAULT_H3_RES))
    # the rendered maps need streamlit-folium, which must be imported by a session first
    deadline = time.monotonic() + WARM_UP_WAIT_S
    while not component_ready() and time.monotonic() < deadline:
        time.sleep(0.2)
    if component_ready():
        for key in keys:
            map_payload(key, "coverage_pct", "", lang_code)
    # last: a first sign-in does not wait for these
    matching_result_for(DATASET_DEMO, version, settings)
    capacity_for(DATASET_DEMO, version, settings)
    logger.info("warm-up done: %d areas, matching and capacity in %.1f s", len(areas), time.monotonic() - t0)
