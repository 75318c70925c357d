"""Dataset tables, role-scoped coverage runs, summaries, maps, site recommendations, reports.

Every function takes what it needs explicitly: the shared read-only resources (bundle,
snapper, store, network ...) and a :class:`RunKey`. Nothing here is cached; the pages wrap
these functions in ``st.cache_data`` / ``st.cache_resource`` keyed by the run key, whose
``area`` (role, town, village) is part of every key, so a cached result never crosses areas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd

from core.i18n import attribution_text, t
from core.settings import Settings
from data.accounts.access import AreaFilter, can_see_individuals, filter_frame
from data.accounts.auth import Role
from data.bundle import Bundle, with_tables
from data.storage import Store
from geo.analysis import CoverageRun, HubEngine, coverage_run
from geo.candidates import candidates_from_frame, candidates_from_run
from geo.disclosure import CoverageScreen, marker, printed_order, protect_coverage_screen, protect_hexes
from geo.engine import CoverageEngine
from geo.figures import coverage_pct
from geo.graph import WalkNetwork
from geo.hexes import category_columns
from geo.service_area import NodeCells, service_area_polygons
from geo.siting import DemandWeights, SitingResult, problem_from_run, recommend_sites
from geo.snap import Snapper
from layers.folium_map import build_map
from reports.build import prepare_report
from reports.content import scenario_sites_from_payload
from reports.model import Report, ReportSection, Scope
from service.datasets import DATASET_DEMO, DATASET_USER, DATASETS, TABLE_KINDS, dataset_tables
from service.monthly import report_month

KINDS = TABLE_KINDS
__all__ = ["DATASETS", "DATASET_DEMO", "DATASET_USER", "KINDS", "dataset_tables"]

#: (role, town code, village code): the area part of every cache key
AreaKey = tuple[str, str, str]


@dataclass(frozen=True)
class RunKey:
    """What a result depends on: the dataset and its version, the settings and the viewer's area.

    Hashable, so it keys every cached result; ``area`` is always part of it.
    """

    dataset: str
    version: int
    settings: Settings
    area: AreaKey

    @property
    def area_filter(self) -> AreaFilter:
        return area_filter_of(self.area)


def area_filter_of(area: AreaKey) -> AreaFilter:
    """The server-side filter of an area key."""
    role, town, village = area
    return AreaFilter(Role.parse(role), town or None, village or None)


def coverage_for(
    snapper: Snapper, tables: dict[str, pd.DataFrame], key: RunKey, *, base: HubEngine | None = None
) -> CoverageRun:
    """The coverage run of the households ``key.area`` may see (filtered before anything is cached).

    Every hub takes part (a household may be served by a hub of the next town); only the
    beneficiaries are filtered. A viewer's run holds no household at all. ``base``: the
    dataset's :func:`geo.analysis.hub_engine` (every area's run shares it), computed here when None.
    """
    ben = filter_frame("beneficiaries", tables["beneficiaries"], key.area_filter)
    return coverage_run(snapper, tables["hubs"], ben, key.settings, base=base)


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
        return coverage_pct(self.n_covered, self.n)


def summary_of(run: CoverageRun, *, suppressed: bool) -> Summary:
    """The aggregates of a run."""
    pts = run.points
    by: dict[str, pd.DataFrame] = {
        col: pts.groupby(col, dropna=False)["covered"].agg(n="size", covered="sum").astype(int)  # type: ignore[misc]
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


def needs_protection(key: RunKey) -> bool:
    """Whether the viewer of ``key`` sees protected district aggregates (no individual rows)."""
    return not can_see_individuals(key.area_filter.role)


def district_summary(
    snapper: Snapper, tables: dict[str, pd.DataFrame], settings: Settings, *, base: HubEngine | None = None
) -> Summary:
    """District aggregates for roles that see no household: protected when shown."""
    run = coverage_run(snapper, tables["hubs"], tables["beneficiaries"], settings, base=base)
    return summary_of(run, suppressed=True)


def protect_screen(summary: Summary) -> CoverageScreen:
    """Every count the overview shows (metrics, the three tables, hexes, hubs served),
    protected together by :func:`geo.disclosure.protect_coverage_screen`."""
    return protect_coverage_screen(
        summary.n,
        summary.n_covered,
        off_network=summary.n_off_network,
        groups=summary.by,
        hexes=summary.hexes,
        category_cols=category_columns(summary.hexes),
        served=summary.hubs["served"].to_numpy() if "served" in summary.hubs.columns else None,
    )


def shown_hexes(summary: Summary, screen: CoverageScreen | None) -> pd.DataFrame:
    """The hexes with the figures the map and the gap table print (``n_txt`` ...): those of the
    protected screen when given, else the hexes protected on their own (a map without tables)."""
    hexes = summary.hexes
    if screen is not None and screen.hexes is not None:
        return hexes.join(screen.hexes)
    return hexes.join(protect_hexes(hexes, category_cols=category_columns(hexes)))


def worst_gaps(hexes: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` hexagons with the most households outside, ordered by what is PRINTED
    (``uncovered_txt``: numbers, then ``≥10``, then ``<10``; then by h3), so the order
    tells nothing about hidden counts."""
    order = printed_order(hexes["uncovered_txt"], marker()[1])
    return hexes.assign(_k=order).sort_values(["_k", "h3"]).drop(columns="_k").head(k)


def grouped(text: str) -> str:
    """A printed count with thousands separators (``"4000"`` -> ``"4,000"``); marks such as
    ``"<10"`` stay as they are."""
    return f"{int(text):,}" if text.isdigit() else text


def share_table(
    counts: pd.DataFrame, labels: dict[str, str], *, lang: str, shown: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Households, inside, outside and coverage % per group (``counts``: index, ``n``, ``covered``).

    With ``shown`` (a table of :class:`geo.disclosure.CoverageScreen`, protected with
    everything else on the screen), its printed forms are shown instead of the counts.
    """
    n = counts["n"].astype(int)
    cov = counts["covered"].astype(int)
    h, i, o, p = (t(k, lang) for k in ("col_households", "col_inside", "col_outside", "col_pct"))
    out = pd.DataFrame({h: n, i: cov, o: n - cov, p: pd.Series(coverage_pct(cov, n), index=n.index).round(1)})
    if shown is not None:
        out = pd.DataFrame(
            {h: shown["n"].to_numpy(), i: shown["inside"].to_numpy(), o: shown["outside"].to_numpy(),
             p: shown["pct"].to_numpy()},
            index=out.index,
        )  # fmt: skip
    out.index = [labels.get(str(x), t("not_recorded", lang) if pd.isna(x) else str(x)) for x in counts.index]
    return out


def service_areas(engine: CoverageEngine, node_cells: NodeCells) -> gpd.GeoDataFrame:
    """Display-only service areas of every hub of ``engine`` (no household data involved)."""
    return service_area_polygons(engine, node_cells=node_cells)


def town_bounds(bundle: Bundle, town_code: str) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """``((south, west), (north, east))`` of a town's cell, or None."""
    cell = bundle.towns[bundle.towns["town_code"].astype(str) == town_code]
    if not len(cell):
        return None
    minx, miny, maxx, maxy = cell.total_bounds
    return ((miny, minx), (maxy, maxx))


def dashboard_map(
    *,
    bundle: Bundle,
    basemap: dict[str, object],
    summary: Summary,
    hexes: pd.DataFrame,
    served_txt: list[str] | None,
    providers: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    key: RunKey,
    hex_metric: str,
    lang: str,
    focus_town: str = "",
    items: Mapping[str, str] | None = None,
) -> folium.Map:
    """The interactive map of ``key.area``, built fresh (rendering a folium map mutates it).

    ``focus_town`` zooms to one town. At district zoom the provider layer starts switched
    off. Only aggregates reach it, as printed (``hexes`` from :func:`shown_hexes`,
    ``served_txt`` per hub from the protected screen); hubs outside a manager's area are left out.
    """
    af = key.area_filter
    all_hubs = summary.hubs if served_txt is None else summary.hubs.assign(served_txt=served_txt)
    hubs = filter_frame("hubs", all_hubs, af)
    town = focus_town or (af.town_code or "")
    if "slot" in hubs.columns:
        areas = areas[areas["slot"].isin(set(hubs["slot"].tolist()))]
    return build_map(
        basemap=basemap,  # type: ignore[arg-type]
        hexes=hexes,
        hubs=hubs,
        providers=providers,
        service_areas=areas,
        hex_metric=hex_metric,
        minutes=key.settings.minutes,
        bounds=town_bounds(bundle, town) if town else None,
        lang=lang,
        attribution=attribution_text(bundle.attribution, lang),
        show=None if town else {"providers": False},
        items=items,
    )


def recommend(
    run: CoverageRun,
    *,
    snapper: Snapper,
    towns: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None,
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
    cands = (
        candidates_from_run(run, towns=towns)
        if candidates is None
        else candidates_from_frame(candidates, snapper, towns=towns)
    )
    w = DemandWeights(survival=weights[0], care=weights[1], development=weights[2], urgency_factor=weights[3])
    problem = problem_from_run(run, cands, weights=w)
    return recommend_sites(problem, p, require_towns=require_towns, within_towns=within_town or None, roads=roads)


def dashboard_report(
    bundle: Bundle,
    tables: dict[str, pd.DataFrame],
    settings: Settings,
    network: WalkNetwork,
    store: Store | None,
    scenario_id: str,
    sections: tuple[ReportSection, ...] = (),
    *,
    dataset: str = DATASET_DEMO,
) -> Report:
    """The prepared report (protected aggregates; no household rows) of a dataset and settings,
    with extra ``sections`` (:func:`service.report_sections.report_sections`), naming the month
    of the dataset's current lists (:func:`service.monthly.report_month`)."""
    sites, name = None, ""
    if scenario_id and store is not None:
        stored = store.load_scenario(int(scenario_id))
        sites, name = scenario_sites_from_payload(stored.payload), stored.name
    report = prepare_report(
        with_tables(bundle, tables), settings=settings, network=network, scenario_sites=sites, scenario_name=name,
        month=report_month(store, dataset),
    )  # fmt: skip
    return dataclasses.replace(report, sections=sections) if sections else report


def scope_in_area(scope: Scope, af: AreaFilter, town_of_community: dict[str, str]) -> bool:
    """Whether a report scope lies in the user's area (a village scope by its community's town)."""
    if af.village_code:
        return scope.level == "village" and scope.area_id == af.village_code
    if af.town_code:
        if scope.level == "town":
            return scope.area_id == af.town_code
        return scope.level == "village" and town_of_community.get(scope.area_id) == af.town_code
    return True
