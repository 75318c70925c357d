"""Page plumbing: session-state keys, the shared sidebar, and cache wrappers around :mod:`service`.

Cached resources (bundle, network, snapper, store) are shared read-only across sessions;
never mutate what they return. Results are cached by :class:`service.dashboard.RunKey`
(dataset, version, settings, area) with a bounded size; the computation is in
:mod:`service.dashboard`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ParamSpec, TypeVar

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.i18n import item_names
from core.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from data.accounts.access import AreaFilter, filter_frame
from data.accounts.audit import sha256_hex
from data.basemap import basemap_frames_from_shared, named_roads
from data.bundle import Bundle, with_tables
from data.config import xihu_file
from data.demo import load_default_bundle
from data.duplicate_reviews import load_reviews
from data.duplicates import DEFAULT_PERIOD, apply_reviews, flag_duplicates
from data.feedback import feedback_version
from data.idcard import id_hash_key
from data.network import load_network
from data.storage import DATABASE_DOWN_ERRORS, Store
from geo.analysis import CoverageRun, HubEngine, hub_engine
from geo.analysis import nearest_other_hub as _nearest_other_hub
from geo.disclosure import CoverageScreen
from geo.graph import WalkNetwork
from geo.matching import MatchingProblem, MatchingResult
from geo.service_area import NodeCells
from geo.siting import SitingResult
from geo.snap import Snapper
from layers.basemap import basemap_from_network
from pages._i18n import K_LANG, LANGS, lang, t
from pages._map import MapPayload, component_ready, payload_of
from reports.model import Report, ReportSection
from service import dashboard as svc
from service import feedback as svc_fb
from service import matching as svc_match
from service.capacity import CapacityView, capacity_view
from service.dashboard import DATASET_DEMO, DATASET_USER, AreaKey, RunKey, Summary
from service.datasets import dataset_notes
from service.records import DatasetRecords, demo_records, imported_records
from service.report_sections import report_sections as assemble_sections

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
#: entries per area-keyed cache: the warm-up's 15 areas (3 district roles, 12 towns) plus the
#: towns and villages of the people signed in, so one person's area never evicts another's
#: (16 did: 20 people of 13 areas recomputed what the warm-up had built)
AREA_ENTRIES = 64


def handed_out(value: T) -> T:
    """A shared cache entry as one caller gets it: every DataFrame in it (in dicts and frozen
    dataclasses too) a shallow copy. pandas copies on write, so a caller's change never reaches
    the entry, and nothing is copied or unpickled (``st.cache_data`` unpickled the whole entry
    on every call: the dataset's tables, 2 MB, on every rerun of every page)."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: handed_out(v) for k, v in value.items()}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: handed_out(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changed)  # type: ignore[return-value]
    return value


def shared_result(max_entries: int, show_spinner: bool | str = False) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """``st.cache_resource`` (one entry shared by every session, role and area in the key) with
    each call's result :func:`handed_out`: what ``st.cache_data`` guaranteed, without its copy."""

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        cached = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner)(fn)

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return handed_out(cached(*args, **kwargs))

        call.clear = cached.clear  # type: ignore[attr-defined]
        return call

    return wrap


# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"
K_DATASET = "dataset"
__all__ = ["DATASET_DEMO", "DATASET_USER", "RunKey", "Summary"]


def current_settings() -> Settings:
    """The analysis settings chosen in the sidebar (defaults before the sidebar ran)."""
    s = st.session_state
    return Settings(
        minutes=float(s.get(K_MINUTES, DEFAULT_MINUTES)),
        speed_kmh=float(s.get(K_SPEED, DEFAULT_SPEED_KMH)),
        h3_res=int(s.get(K_H3_RES, DEFAULT_H3_RES)),
        metric_crs=get_bundle().metric_crs,
    )


def current_dataset() -> str:
    value = st.session_state.get(K_DATASET, DATASET_DEMO)
    return value if value in svc.DATASETS else DATASET_DEMO


def sidebar_settings() -> None:
    """The shared sidebar: language, dataset, walking minutes and speed, H3 resolution."""
    with st.sidebar:
        st.selectbox(t("language"), list(LANGS), format_func=LANGS.__getitem__, placeholder=t("choose"), key=K_LANG)
        st.header(t("settings"))
        st.radio(
            t("dataset"),
            list(svc.DATASETS),
            format_func=lambda d: t("dataset_demo") if d == DATASET_DEMO else t("dataset_user"),
            key=K_DATASET,
            horizontal=True,
        )
        st.slider(t("minutes"), 5, 30, int(DEFAULT_MINUTES), step=1, key=K_MINUTES)
        st.select_slider(
            t("speed"),
            options=[ELDERLY_SPEED_KMH, 3.5, 4.0, DEFAULT_SPEED_KMH, 5.0],
            value=DEFAULT_SPEED_KMH,
            key=K_SPEED,
            help=t("speed_help"),
        )
        st.select_slider(t("h3_res"), options=[7, 8, 9, 10], value=DEFAULT_H3_RES, key=K_H3_RES)
        s = current_settings()
        st.caption(t("cutoff", m=s.minutes, s=s.speed_kmh, d=s.cutoff_m))
        st.caption(get_bundle().label_zh)


# -- shared resources (read-only) ---------------------------------------------------------
@st.cache_resource(max_entries=1)
def get_bundle() -> Bundle:
    return load_default_bundle(Settings().shared_data)


@st.cache_resource(max_entries=2)
def get_network(path: str, metric_crs: str) -> WalkNetwork:
    return load_network(path, metric_crs=metric_crs)


@st.cache_resource(max_entries=2)
def get_snapper(path: str, metric_crs: str) -> Snapper:
    return Snapper(get_network(path, metric_crs))


@st.cache_resource(max_entries=2)
def get_node_cells(path: str, metric_crs: str) -> NodeCells:
    return NodeCells(get_network(path, metric_crs))


@st.cache_resource(max_entries=1)
def get_store() -> Store:
    return Store()


def bundle_network() -> WalkNetwork:
    b = get_bundle()
    return get_network(str(b.network_path), b.metric_crs)


def bundle_snapper() -> Snapper:
    b = get_bundle()
    return get_snapper(str(b.network_path), b.metric_crs)


@st.cache_resource(max_entries=1)
def get_basemap() -> dict[str, object]:
    """Base-map frames: drawn from the real Xihu layers, or from the network for a fallback."""
    b = get_bundle()
    xihu = Settings().shared_data / "xihu"
    if not b.is_fallback and xihu.is_dir():
        return dict(basemap_frames_from_shared(xihu))
    return dict(basemap_from_network(bundle_network()))


@st.cache_resource(max_entries=1)
def get_named_roads() -> gpd.GeoDataFrame | None:
    """Named roads for "nearest named road" of recommended sites (None without shared data)."""
    path = xihu_file(Settings().shared_data, "roads")
    if get_bundle().is_fallback or not path.is_file():
        return None
    return named_roads(path)


# -- keys ----------------------------------------------------------------------------------
def dataset_version(dataset: str) -> int:
    """A number that changes whenever any stored table or list version of the dataset changes
    (cache key part; :meth:`data.storage.Store.dataset_version`)."""
    if dataset == DATASET_DEMO:
        return 0
    return get_store().dataset_version(dataset)


def current_key(area: AreaKey) -> RunKey:
    """The run key of this session: dataset and version, sidebar settings, the user's area."""
    ds = current_dataset()
    return RunKey(ds, dataset_version(ds), current_settings(), area)


# -- cached results --------------------------------------------------------------------------
@shared_result(max_entries=8)
def dataset_tables(dataset: str, version: int) -> dict[str, pd.DataFrame]:
    return svc.dataset_tables(get_bundle(), get_store() if dataset == DATASET_USER else None, dataset)


def current_tables() -> dict[str, pd.DataFrame]:
    ds = current_dataset()
    return dataset_tables(ds, dataset_version(ds))


@st.cache_resource(max_entries=8, show_spinner=False)
def _item_names(dataset: str, version: int, lang_code: str) -> Mapping[str, str]:
    return MappingProxyType(item_names(dataset_tables(dataset, version)["catalogue"], lang_code))


def current_item_names() -> Mapping[str, str]:
    """The current dataset's item names in the session's language (:func:`core.i18n.item_names`):
    what every page passes as ``items`` wherever an item code becomes words (read-only, shared)."""
    ds = current_dataset()
    return _item_names(ds, dataset_version(ds), lang())


def dataset_notice(kinds: tuple[str, ...] | None = None, *, dataset: str | None = None) -> None:
    """Say where the tables of ``kinds`` of ``dataset`` (default: the current one) came from (nothing for the demo)."""
    ds = dataset or current_dataset()
    notes = dataset_notes(dataset_tables(ds, dataset_version(ds)), lang(), kinds)
    if notes:
        st.info("\n\n".join(notes))


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
def _map_payload(key: RunKey, hex_metric: str, focus_town: str, lang_code: str) -> MapPayload:
    return payload_of(map_for(key, hex_metric, focus_town, lang_code))


def map_payload_for(key: RunKey, hex_metric: str, focus_town: str = "") -> MapPayload:
    """:func:`map_for` rendered once per run key (area included), colouring, town and language,
    shared read-only by every session of that area (see :mod:`pages._map`)."""
    return _map_payload(key, hex_metric, focus_town, lang())


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


@st.cache_resource(max_entries=4, show_spinner="统计与隐私保护… / computing and protecting figures…")
def report_for(dataset: str, version: int, settings: Settings, scenario_id: str) -> Report:
    """The prepared report (protected aggregates only), shared read-only by every role; each
    page filters the scopes it writes by the user's area."""
    return svc.dashboard_report(
        get_bundle(),
        dataset_tables(dataset, version),
        settings,
        bundle_network(),
        get_store(),
        scenario_id,
        sections=report_sections(dataset, version, settings),
        dataset=dataset,
    )


#: Set by ``serve.py`` (the server, like its warm-up); ``streamlit run app.py`` and the page tests
#: prepare the report in the click.
PREPARE_REPORTS_EARLY = False
_PREPARING: set[tuple[str, int, Settings, str]] = set()
_PREPARING_LOCK = threading.Lock()


def prepare_report_soon(dataset: str, version: int, settings: Settings, scenario_id: str = "") -> None:
    """Start preparing :func:`report_for` in a background thread (at most one per key at a time).

    The Reports page calls it when it opens, so the ~10 s of statistics and privacy protection
    run while the person picks levels and formats. A click on 生成报告 then finds the report
    ready, or waits for the computation already running (``st.cache_resource`` runs one per
    key). This is not done at server start: the report holds ~200 MB that a server nobody
    builds reports on should not pay. A failure here only means the click prepares it.
    """
    if not PREPARE_REPORTS_EARLY:
        return
    key = (dataset, version, settings, scenario_id)
    with _PREPARING_LOCK:
        if key in _PREPARING:
            return
        _PREPARING.add(key)

    def work() -> None:
        # at the sessions' priority (unlike the warm-up): the person on the Reports page waits for it
        t0 = time.perf_counter()
        try:
            report_for(*key)
            if time.perf_counter() - t0 > 0.5:  # not a report already in the cache
                logging.getLogger(__name__).info(
                    "report of %s prepared in the background (%.1f s)", dataset, time.perf_counter() - t0
                )
        except DATABASE_DOWN_ERRORS:  # the page says so in Chinese; the click prepares it when the database is back
            logging.getLogger(__name__).warning(
                "report of %s not prepared in the background: database unavailable", dataset
            )
        except Exception:  # the click computes it again and shows the error where it belongs
            logging.getLogger(__name__).exception("preparing the report in the background failed")
        finally:
            with _PREPARING_LOCK:
                _PREPARING.discard(key)

    threading.Thread(target=work, name="xihu-report-prepare", daemon=True).start()


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


# -- service records, duplicate flags, provider capacity (#13) ------------------------------
@st.cache_resource(max_entries=3, show_spinner="读取服务记录… / reading service records…")
def _records_for(dataset: str, version: int, key_sha: str) -> DatasetRecords | None:
    if dataset == DATASET_DEMO:
        return demo_records(get_bundle(), id_hash_key())
    tables = dataset_tables(dataset, version)
    return imported_records(tables["records"], tables["beneficiaries"], key=id_hash_key())


def service_records(dataset: str, version: int) -> DatasetRecords | None:
    """The dataset's service records (demo: synthetic; user: the current imported list, None when
    none is imported), keyed by the keyed hash's key; read-only."""
    return _records_for(dataset, version, sha256_hex(id_hash_key()))


@st.cache_data(max_entries=4, show_spinner="筛查重复救助… / flagging duplicates…")
def duplicate_flags(dataset: str, version: int, period: str) -> pd.DataFrame:
    """Every flag of the dataset (no review status; :func:`data.duplicates.apply_reviews` per rerun)."""
    recs = service_records(dataset, version)
    return flag_duplicates(recs.records if recs is not None else pd.DataFrame(), period=period)


@st.cache_data(max_entries=4, show_spinner="匹配供需… / matching needs and offers…")
def capacity_for(dataset: str, version: int, settings: Settings) -> CapacityView:
    """Provider capacity and sustainability of the whole district (scope with :func:`service.capacity.scope_table`)."""
    tables = dataset_tables(dataset, version)
    bundle = with_tables(get_bundle(), tables)
    match = matching_result_for(dataset, version, settings)  # the one district matching, shared
    recs = service_records(dataset, version)
    records = recs.records if recs is not None else pd.DataFrame(columns=["department", "item_id", "town_code", "date"])
    return capacity_view(match, bundle.providers, bundle.towns, records)


# -- the database stopped or unreachable -----------------------------------------------------------
#: seconds between two checks whether the database answers again
DB_RETRY_S = 5


def database_reachable() -> bool:
    """Whether the database answers now (a fresh connection; the pool replaces dead ones)."""
    try:
        get_store().ping()
    except DATABASE_DOWN_ERRORS:
        return False
    return True


@st.fragment(run_every=DB_RETRY_S)
def _wait_for_database() -> None:
    if database_reachable():
        st.rerun(scope="app")
    st.caption(t("db_down_retry", s=DB_RETRY_S))


def database_down(exc: BaseException) -> None:
    """What every page shows while the database is stopped or unreachable: one Chinese message, no
    traceback, and a check every few seconds that reruns the app when the database answers again
    (the session stays signed in: its token is checked again then)."""
    logger.warning("database unavailable (%s): %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    st.error(t("db_down"))
    _wait_for_database()


def page_fragment(fn: Callable[P, None]) -> Callable[P, None]:
    """``st.fragment`` that fails like a page when the database is down. Streamlit shows an error
    raised in a fragment as a traceback (``app.py``'s guard never sees it), so the fragment shows
    :func:`database_down`'s Chinese message and check itself; in a fragment-only rerun (a map
    click) it reruns the whole app instead, where ``app.py`` does the same for every page."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except DATABASE_DOWN_ERRORS as exc:
            ctx = get_script_run_ctx()
            if ctx is not None and ctx.fragment_ids_this_run:
                logger.warning("database unavailable in a fragment rerun: rerunning the app")
                st.rerun(scope="app")
            database_down(exc)

    return st.fragment(guarded)


# -- satisfaction feedback (满意度) ----------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def _feedback_for(dataset: str, version: tuple[int, int], area: AreaFilter) -> pd.DataFrame:
    frame = svc_fb.feedback_frame(get_bundle(), get_store(), dataset, demo=dataset == DATASET_DEMO)
    return svc_fb.scoped(frame, area)


def feedback_for(dataset: str, area: AreaFilter) -> pd.DataFrame:
    """The responses ``area`` may see (stored + the demo's synthetic ones), scoped before caching.

    Read once per version (:func:`data.feedback.feedback_version`, which every save changes):
    a rerun asks the database for that version only, never for the rows again.
    """
    return _feedback_for(dataset, feedback_version(get_store(), dataset=dataset), area)


def report_sections(dataset: str, version: int, settings: Settings) -> tuple[ReportSection, ...]:
    """The #13 sections of the reports (:func:`service.report_sections.report_sections`, as the command line)."""
    recs = service_records(dataset, version)
    flags = None
    if recs is not None:
        flags = apply_reviews(
            duplicate_flags(dataset, version, DEFAULT_PERIOD), load_reviews(get_store(), dataset=dataset)
        )
    return assemble_sections(get_bundle().towns, capacity_for(dataset, version, settings), recs, flags)


# -- warm-up at server start (serve.py) -------------------------------------------------------
#: how long the warm-up waits for a first session before leaving the maps to the sessions
WARM_UP_WAIT_S = 600.0


def default_settings() -> Settings:
    """The settings of a session whose sidebar has not moved (as :func:`current_settings` reads them)."""
    return Settings(
        minutes=float(DEFAULT_MINUTES),
        speed_kmh=float(DEFAULT_SPEED_KMH),
        h3_res=int(DEFAULT_H3_RES),
        metric_crs=get_bundle().metric_crs,
    )


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
    of repeating it. Every entry is an ordinary bounded cache entry (``max_entries``)."""
    areas = warm_up_areas() if areas is None else areas
    settings = default_settings()
    t0 = time.monotonic()
    bundle_snapper()
    get_basemap()
    for area in areas:
        key = RunKey(DATASET_DEMO, dataset_version(DATASET_DEMO), settings, area)
        summary_for(key)
        if svc.needs_protection(key):
            screen_for(key)
        shown_hexes_for(key)
        service_areas_for(key.dataset, key.version, key.settings.with_(h3_res=DEFAULT_H3_RES))
    # the rendered maps need streamlit-folium, which must be imported by a session first
    deadline = time.monotonic() + WARM_UP_WAIT_S
    while not component_ready():
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)
    for area in areas:
        _map_payload(RunKey(DATASET_DEMO, dataset_version(DATASET_DEMO), settings, area), "coverage_pct", "", lang_code)
    logger.info("warm-up done: %d areas in %.1f s", len(areas), time.monotonic() - t0)
