"""Shared page helpers: session-state keys, the sidebar, cached resources and results.

Cached resources (bundle, network, snapper, store) are shared read-only across sessions;
never mutate what they return. Results are cached by hashable keys with a bounded size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from data.access import AreaFilter, can_see_individuals, filter_frame
from data.auth import Role
from data.basemap import basemap_frames_from_shared, named_roads
from data.demo import Bundle, load_default_bundle
from data.network import load_network
from data.storage import Store
from geo.analysis import CoverageRun, coverage_run
from geo.candidates import candidates_from_frame, candidates_from_run
from geo.coverage import engine_for_hubs, hubs_from_frame
from geo.disclosure import CoverageScreen, protect_coverage_screen
from geo.engine import keys_to_dist_label, multi_source_keys
from geo.graph import WalkNetwork
from geo.service_area import NodeCells, service_area_polygons
from geo.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from geo.siting import DemandWeights, SitingResult, problem_from_run, recommend_sites
from geo.snap import Snapper
from layers.basemap import basemap_from_network
from layers.folium_map import build_map
from pages._i18n import K_LANG, LANGS, t
from reports.build import Report, prepare_report
from reports.content import scenario_sites_from_payload

# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"
K_DATASET = "dataset"

DATASET_DEMO = "demo"
DATASET_USER = "user"
KINDS = ("hubs", "providers", "beneficiaries")
#: how far the "nearest other hub" search looks (cm): 10 km
FAR_CUTOFF_CM = 1_000_000


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
    return value if value in (DATASET_DEMO, DATASET_USER) else DATASET_DEMO


def sidebar_settings() -> None:
    """The shared sidebar: language, dataset, walking minutes and speed, H3 resolution."""
    with st.sidebar:
        st.selectbox(t("language"), list(LANGS), format_func=LANGS.__getitem__, key=K_LANG)
        st.header(t("settings"))
        st.radio(
            t("dataset"),
            [DATASET_DEMO, DATASET_USER],
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
        bundle = get_bundle()
        st.caption(bundle.label_zh if bundle.is_fallback else f"{bundle.label_zh}")


@st.cache_resource(max_entries=1)
def get_bundle() -> Bundle:
    return load_default_bundle(Settings().shared_data)


@st.cache_resource(max_entries=2)
def get_network(path: str, metric_crs: str) -> WalkNetwork:
    return load_network(path, metric_crs=metric_crs)


@st.cache_resource(max_entries=2)
def get_snapper(path: str, metric_crs: str) -> Snapper:
    return Snapper(get_network(path, metric_crs))


@st.cache_resource(max_entries=1)
def get_store() -> Store:
    return Store()


def bundle_snapper() -> Snapper:
    b = get_bundle()
    return get_snapper(str(b.network_path), b.metric_crs)


def dataset_version(dataset: str) -> int:
    """A number that changes whenever the dataset's stored tables change (cache key part)."""
    if dataset == DATASET_DEMO:
        return 0
    return len(get_store().list_imports())


@st.cache_data(max_entries=8, show_spinner=False)
def dataset_tables(dataset: str, version: int) -> dict[str, pd.DataFrame]:
    """Hubs, providers and beneficiaries of a dataset; imported kinds replace the demo's."""
    b = get_bundle()
    tables = {"hubs": b.hubs, "providers": b.providers, "beneficiaries": b.beneficiaries}
    if dataset == DATASET_USER:
        store = get_store()
        for kind in KINDS:
            stored = store.load_table(kind, dataset=DATASET_USER)
            if len(stored):
                tables[kind] = stored
    return tables


def current_tables() -> dict[str, pd.DataFrame]:
    ds = current_dataset()
    return dataset_tables(ds, dataset_version(ds))


def area_filter_of(area: tuple[str, str, str]) -> AreaFilter:
    role, town, village = area
    return AreaFilter(Role.parse(role), town or None, village or None)


@st.cache_data(max_entries=16, show_spinner="计算步行覆盖… / computing coverage…")
def run_for(
    dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int, area: tuple[str, str, str]
) -> CoverageRun:
    """The coverage run of the households ``area`` may see (filtered before anything is cached).

    Every hub takes part (a household may be served by a hub of the next town); only the
    beneficiaries are filtered. A viewer's run holds no household at all.
    """
    tables = dataset_tables(dataset, version)
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, h3_res=h3_res, metric_crs=get_bundle().metric_crs)
    ben = filter_frame("beneficiaries", tables["beneficiaries"], area_filter_of(area))
    return coverage_run(bundle_snapper(), tables["hubs"], ben, settings)


@dataclass(frozen=True)
class Summary:
    """Aggregates only: what the overview and maps show (safe for every role)."""

    n: int
    n_covered: int
    n_off_network: int
    by: dict[str, pd.DataFrame]  # "category" / "need_type" / "town_code": index value, n, covered
    hexes: pd.DataFrame  # geo.hexes.aggregate_points
    hubs: pd.DataFrame  # hubs with ``served``
    suppressed: bool  # small counts must be protected when shown

    @property
    def coverage_pct(self) -> float:
        return 100.0 * self.n_covered / self.n if self.n else float("nan")


def _summary_of(run: CoverageRun, *, suppressed: bool) -> Summary:
    pts = run.points
    by = {
        col: pts.groupby(col, dropna=False)["covered"].agg(n="size", covered="sum").astype(int)
        for col in ("category", "need_type", "town_code")
    }
    return Summary(
        n=len(pts),
        n_covered=run.n_covered,
        n_off_network=int(pts["off_network"].sum()),
        by=by,
        hexes=run.hexes,
        hubs=run.hubs,
        suppressed=suppressed,
    )


@st.cache_data(max_entries=16, show_spinner="计算步行覆盖… / computing coverage…")
def summary_for(
    dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int, area: tuple[str, str, str]
) -> Summary:
    """Aggregates for ``area``. A viewer gets district aggregates computed here, uncached
    at household level, so no cache entry reachable by a viewer holds a household."""
    af = area_filter_of(area)
    if can_see_individuals(af.role):
        return _summary_of(run_for(dataset, version, minutes, speed_kmh, h3_res, area), suppressed=False)
    tables = dataset_tables(dataset, version)
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, h3_res=h3_res, metric_crs=get_bundle().metric_crs)
    return _summary_of(
        coverage_run(bundle_snapper(), tables["hubs"], tables["beneficiaries"], settings), suppressed=True
    )


def current_run(area: tuple[str, str, str]) -> CoverageRun:
    s = current_settings()
    ds = current_dataset()
    return run_for(ds, dataset_version(ds), s.minutes, s.speed_kmh, s.h3_res, area)


def current_summary(area: tuple[str, str, str]) -> Summary:
    s = current_settings()
    ds = current_dataset()
    return summary_for(ds, dataset_version(ds), s.minutes, s.speed_kmh, s.h3_res, area)


@st.cache_data(max_entries=32, show_spinner=False)
def nearest_other_hub(
    dataset: str,
    version: int,
    minutes: float,
    speed_kmh: float,
    h3_res: int,
    area: tuple[str, str, str],
    exclude_hub: str,
) -> pd.DataFrame:
    """For every beneficiary, the nearest hub other than ``exclude_hub`` within 10 km.

    Returns a frame aligned with the run's points: ``alt_hub_id``, ``alt_walk_m`` (NaN if none).
    """
    run = run_for(dataset, version, minutes, speed_kmh, h3_res, area)
    keep = run.hubs["hub_id"].astype(str).to_numpy() != exclude_hub
    hs = run.hubset
    keys = multi_source_keys(
        run.engine.network, hs.node[keep], hs.access_cm[keep], cutoff_cm=FAR_CUTOFF_CM, slots=np.flatnonzero(keep)
    )
    dist, lab = keys_to_dist_label(keys)
    node = run.points["node"].to_numpy()
    ok = node >= 0
    d = np.full(len(node), -1, dtype=np.int64)
    slot = np.full(len(node), -1, dtype=np.int64)
    d[ok], slot[ok] = dist[node[ok]], lab[node[ok]]
    access_cm = np.rint(run.points["access_m"].fillna(0).to_numpy() * 100).astype(np.int64)
    reach = d >= 0
    ids = hs.hub_id
    return pd.DataFrame(
        {
            "alt_hub_id": np.where(reach, ids[np.maximum(slot, 0)], None),
            "alt_walk_m": np.where(reach, (d + access_cm) / 100.0, np.nan),
        }
    )


@st.cache_data(max_entries=16, show_spinner="统计与隐私保护… / computing and protecting figures…")
def screen_for(
    dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int, area: tuple[str, str, str]
) -> CoverageScreen:
    """Every count the overview shows (metrics, the three tables, hexes, hubs served),
    protected together by :func:`geo.disclosure.protect_coverage_screen`."""
    summary = summary_for(dataset, version, minutes, speed_kmh, h3_res, area)
    hexes = summary.hexes
    return protect_coverage_screen(
        summary.n,
        summary.n_covered,
        off_network=summary.n_off_network,
        groups=summary.by,
        hexes=hexes,
        category_cols=[c for c in hexes.columns if c.startswith("n_cat_")],
        served=summary.hubs["served"].to_numpy() if "served" in summary.hubs.columns else None,
    )


def current_screen(area: tuple[str, str, str]) -> CoverageScreen:
    s = current_settings()
    ds = current_dataset()
    return screen_for(ds, dataset_version(ds), s.minutes, s.speed_kmh, s.h3_res, area)


def share_table(counts: pd.DataFrame, labels: dict[str, str], *, shown: pd.DataFrame | None = None) -> pd.DataFrame:
    """Households, inside, outside and coverage % per group (``counts``: index, ``n``, ``covered``).

    With ``shown`` (a table of :class:`geo.disclosure.CoverageScreen`, protected with
    everything else on the screen), its printed forms are shown instead of the counts.
    """
    n = counts["n"].astype(int)
    cov = counts["covered"].astype(int)
    out = pd.DataFrame(
        {
            t("col_households"): n,
            t("col_inside"): cov,
            t("col_outside"): n - cov,
            t("col_pct"): (100.0 * cov / n).round(1),
        }
    )
    if shown is not None:
        out = pd.DataFrame(
            {
                t("col_households"): shown["n"].to_numpy(),
                t("col_inside"): shown["inside"].to_numpy(),
                t("col_outside"): shown["outside"].to_numpy(),
                t("col_pct"): shown["pct"].to_numpy(),
            }
        )
    out.index = [labels.get(str(i), str(i)) for i in counts.index]
    return out


@st.cache_resource(max_entries=1)
def get_basemap() -> dict[str, object]:
    """Base-map frames: drawn from the real Xihu layers, or from the network for a fallback."""
    b = get_bundle()
    xihu = Settings().shared_data / "xihu"
    if not b.is_fallback and xihu.is_dir():
        return dict(basemap_frames_from_shared(xihu))
    return dict(basemap_from_network(get_network(str(b.network_path), b.metric_crs)))


@st.cache_resource(max_entries=2)
def get_node_cells(path: str, metric_crs: str) -> NodeCells:
    return NodeCells(get_network(path, metric_crs))


@st.cache_data(max_entries=8, show_spinner=False)
def service_areas_for(dataset: str, version: int, minutes: float, speed_kmh: float) -> gpd.GeoDataFrame:
    """Display-only service areas of every hub (no household data involved)."""
    b = get_bundle()
    tables = dataset_tables(dataset, version)
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, metric_crs=b.metric_crs)
    snapper = bundle_snapper()
    engine = engine_for_hubs(snapper, hubs_from_frame(tables["hubs"], snapper), settings)
    return service_area_polygons(engine, node_cells=get_node_cells(str(b.network_path), b.metric_crs))


def map_for(
    dataset: str,
    version: int,
    minutes: float,
    speed_kmh: float,
    h3_res: int,
    area: tuple[str, str, str],
    hex_metric: str,
    lang_code: str,
    focus_town: str = "",
) -> folium.Map:
    """The interactive map of ``area``, built fresh each run (rendering a folium map mutates it,
    so maps are never cached; their inputs are).

    ``focus_town`` zooms to one town. At district zoom the provider layer starts switched off
    (it can be switched on in the layer control) to keep the map readable.

    Only aggregates reach it (hexes, hub figures); hubs and providers outside a manager's
    area are left out.
    """
    summary = summary_for(dataset, version, minutes, speed_kmh, h3_res, area)
    screen = screen_for(dataset, version, minutes, speed_kmh, h3_res, area)
    b = get_bundle()
    af = area_filter_of(area)
    # the map prints the figures protected with the rest of the screen (geo.disclosure)
    all_hubs = summary.hubs.assign(served_txt=screen.served) if screen.served is not None else summary.hubs
    hubs = filter_frame("hubs", all_hubs, af)
    providers = dataset_tables(dataset, version)["providers"]
    hexes = summary.hexes.join(screen.hexes) if screen.hexes is not None else summary.hexes
    bounds = None
    town = focus_town or (af.town_code or "")
    if town:
        cell = b.towns[b.towns["town_code"].astype(str) == town]
        if len(cell):
            minx, miny, maxx, maxy = cell.total_bounds
            bounds = ((miny, minx), (maxy, maxx))
    slots = set(hubs["slot"].tolist()) if "slot" in hubs.columns else None
    areas = service_areas_for(dataset, version, minutes, speed_kmh)
    if slots is not None:
        areas = areas[areas["slot"].isin(slots)]
    return build_map(
        basemap=get_basemap(),  # type: ignore[arg-type]
        hexes=hexes,
        hubs=hubs,
        providers=providers,
        service_areas=areas,
        hex_metric=hex_metric,
        minutes=minutes,
        bounds=bounds,
        lang=lang_code,
        attribution=b.attribution,
        show=None if town else {"providers": False},
    )


@st.cache_resource(max_entries=1)
def get_named_roads() -> gpd.GeoDataFrame | None:
    """Named roads for "nearest named road" of recommended sites (None without shared data)."""
    path = Settings().shared_data / "xihu" / "roads.geojson"
    if get_bundle().is_fallback or not path.is_file():
        return None
    return named_roads(path)


@st.cache_data(max_entries=16, show_spinner="求解选址模型… / solving…")
def recommend_for(
    dataset: str,
    version: int,
    minutes: float,
    speed_kmh: float,
    h3_res: int,
    area: tuple[str, str, str],
    p: int,
    weights: tuple[float, float, float, float],
    require_towns: tuple[str, ...],
    within_town: str,
    candidates: pd.DataFrame | None = None,
) -> SitingResult:
    """Recommended sites for ``p`` new stations (maximal covering, exact where it can).

    ``candidates`` (``site_id, lon, lat``, WGS-84) replaces the automatic candidates around
    the gap hexes; sites farther than 300 m from the network are left out.
    """
    run = run_for(dataset, version, minutes, speed_kmh, h3_res, area)
    towns = get_bundle().towns
    if candidates is None:
        cands = candidates_from_run(run, towns=towns)
    else:
        cands = candidates_from_frame(candidates, bundle_snapper(), towns=towns)
    w = DemandWeights(survival=weights[0], care=weights[1], development=weights[2], urgency_factor=weights[3])
    problem = problem_from_run(run, cands, weights=w)
    return recommend_sites(
        problem, p, require_towns=require_towns, within_towns=within_town or None, roads=get_named_roads()
    )


@st.cache_resource(max_entries=4, show_spinner="统计与隐私保护… / computing and protecting figures…")
def report_for(dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int, scenario_id: str) -> Report:
    """The prepared report (protected aggregates; no household rows) for a dataset and settings.

    Shared read-only by every role: it holds published, suppressed figures only, and each
    page filters the scopes it writes by the user's area.
    """
    b = get_bundle()
    tables = dataset_tables(dataset, version)
    bundle = dataclasses.replace(
        b, hubs=tables["hubs"], providers=tables["providers"], beneficiaries=tables["beneficiaries"]
    )
    sites, name = None, ""
    if scenario_id:
        stored = get_store().load_scenario(int(scenario_id))
        sites, name = scenario_sites_from_payload(stored.payload), stored.name
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, h3_res=h3_res, metric_crs=b.metric_crs)
    return prepare_report(
        bundle,
        settings=settings,
        network=get_network(str(b.network_path), b.metric_crs),
        scenario_sites=sites,
        scenario_name=name,
    )
