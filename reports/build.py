"""Build the coverage reports of a data bundle: one computation, many files.

:func:`prepare_report` runs the coverage once (:func:`geo.analysis.coverage_run`),
computes every figure (:mod:`reports.content`), suppresses small counts across the
whole publication (:mod:`geo.disclosure`) and prepares the maps' geometry.
:func:`write_reports` then writes any set of scopes (the district, each town, each
village service point) in any formats. Every file shows a subset of the same protected
publication.

Files written under ``out_dir``::

    district/district_<code>.{xlsx,pdf,gpkg}   district/district_<code>_geojson/<layer>.geojson
    towns/town_<code>.{xlsx,pdf,gpkg}          towns/town_<code>_geojson/<layer>.geojson
    villages/village_<hub_id>.{xlsx,pdf,gpkg}  villages/village_<hub_id>_geojson/<layer>.geojson
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data.demo import Bundle
from data.network import load_network
from geo.analysis import coverage_run
from geo.disclosure import PublishedReport, publish
from geo.graph import WalkNetwork
from geo.service_area import NodeCells, service_area_polygons
from geo.settings import Settings
from geo.snap import Snapper
from reports.content import (
    LEVEL_DISTRICT,
    LEVEL_TOWN,
    LEVEL_VILLAGE,
    LEVELS,
    ReportInfo,
    build_report_tables,
)
from reports.fonts import find_cjk_font
from reports.maps import MapData, coverage_map_png, map_data, padded_bounds

log = logging.getLogger(__name__)

FORMATS = ("xlsx", "pdf", "gpkg", "geojson")
Progress = Callable[[float, str], None]


def _noop(_: float, __: str) -> None:
    return None


@dataclass(frozen=True)
class Scope:
    """What one report covers: the district, a town, or a village service point.

    Attributes
    ----------
    level : ``district``, ``town`` or ``village``.
    area_id : district code, town code, or the community code of the village point.
    name : the area's name.
    hub_id : the village point's id (village scope), else None.
    """

    level: str
    area_id: str
    name: str
    hub_id: str | None = None

    @property
    def stem(self) -> str:
        """File name stem, ASCII only: ``district_330106``, ``town_330106002``, ``village_V330106002051``."""
        if self.level == LEVEL_VILLAGE:
            return f"village_{self.hub_id or self.area_id}"
        return f"{self.level}_{self.area_id}"

    @property
    def folder(self) -> str:
        return {LEVEL_DISTRICT: "district", LEVEL_TOWN: "towns", LEVEL_VILLAGE: "villages"}[self.level]


@dataclass(frozen=True, eq=False)
class Report:
    """Everything the writers need; built once by :func:`prepare_report`.

    Attributes
    ----------
    published : the exact tables and what may be printed of them.
    network : the walking network.
    service_areas : display-only 10-minute service areas, one polygon per hub
        (``hub_id, name, tier, area_km2, geometry``, EPSG:4326).
    map_data : geometry shared by the maps.
    towns : the town cells (derived, not official), for outlines.
    district : the study area polygon.
    font : the CJK font file.
    timings : seconds spent per stage (``coverage``, ``tables``, ``suppression``,
        ``service_areas``; the writers add ``maps``, ``pdf``, ``xlsx``, ``gis``).
    """

    published: PublishedReport
    network: WalkNetwork
    service_areas: gpd.GeoDataFrame
    map_data: MapData
    towns: gpd.GeoDataFrame
    district: BaseGeometry
    font: Path
    timings: dict[str, float] = field(default_factory=dict)
    _maps: dict[tuple[str, str], bytes] = field(default_factory=dict)
    #: per-scope tables and layers computed by the writers (shared between formats)
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def tables(self) -> Any:
        return self.published.tables

    def scopes(self, level: str) -> list[Scope]:
        """Every scope of a level, in print order."""
        t = self.tables
        if level == LEVEL_DISTRICT:
            return [Scope(LEVEL_DISTRICT, t.info.district_code, t.info.district_name)]
        rows = t.level(level)
        if level == LEVEL_TOWN:
            return [Scope(LEVEL_TOWN, str(r["area_id"]), str(r["name"])) for r in rows.to_dict("records")]
        rows = rows[rows["has_hub"].astype(bool)]
        return [
            Scope(LEVEL_VILLAGE, str(r["area_id"]), str(r["name"]), hub_id=str(r["hub_id"]))
            for r in rows.to_dict("records")
        ]

    def outline(self, scope: Scope) -> BaseGeometry | None:
        if scope.level == LEVEL_DISTRICT:
            return self.district
        if scope.level == LEVEL_TOWN:
            sel = self.towns[self.towns["town_code"].astype(str) == scope.area_id]
            return sel.geometry.iloc[0] if len(sel) else None
        return None

    def bounds(self, scope: Scope) -> tuple[float, float, float, float]:
        """The map extent of a scope (degrees)."""
        geom = self.outline(scope)
        if geom is not None:
            return padded_bounds(geom.bounds, 300.0)
        # a village map is framed on its point and service area, never on where households live
        t = self.tables
        hub = t.hubs[t.hubs["hub_id"] == scope.hub_id]
        sa = self.service_areas[self.service_areas["hub_id"] == scope.hub_id]
        geoms = [shapely.points(hub["lon"].to_numpy(float), hub["lat"].to_numpy(float))]
        geoms += [g for g in sa.geometry if g is not None and not g.is_empty]
        parts = [g for g in shapely.get_parts(np.hstack([np.atleast_1d(g) for g in geoms])) if not g.is_empty]
        if not parts:
            lon, lat = self.network.node_lon, self.network.node_lat
            b = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        else:
            tb = shapely.total_bounds(np.asarray(parts, dtype=object))
            b = (float(tb[0]), float(tb[1]), float(tb[2]), float(tb[3]))
        # at least 1.6 km across, so the walking area shows around the point
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        half_x = max((b[2] - b[0]) / 2, 800.0 / (111_320.0 * np.cos(np.radians(cy))))
        half_y = max((b[3] - b[1]) / 2, 800.0 / 110_574.0)
        return padded_bounds((cx - half_x, cy - half_y, cx + half_x, cy + half_y), 200.0)

    def map_png(self, scope: Scope, *, dpi: int = 130) -> bytes:
        """The scope's map as PNG (rendered once, then kept)."""
        key = (scope.level, scope.area_id)
        if key not in self._maps:
            t0 = time.perf_counter()
            s = self.tables.settings
            title = {
                LEVEL_DISTRICT: f"{scope.name} 10分钟救助服务圈覆盖",
                LEVEL_TOWN: f"{scope.name} 10分钟救助服务圈覆盖",
                LEVEL_VILLAGE: f"{scope.name} 村(社区)服务点周边",
            }[scope.level]
            subtitle = f"{s.minutes:g}分钟 × {s.speed_kmh:g} km/h = {s.cutoff_m:.0f} 米步行；H3 分辨率 {s.h3_res}"
            if scope.level == LEVEL_TOWN:
                subtitle += "；镇街范围为近似（非官方边界）"
            self._maps[key] = coverage_map_png(
                self.map_data,
                bounds=self.bounds(scope),
                outline=self.outline(scope),
                title=title,
                subtitle=subtitle,
                highlight=scope.hub_id,
                figsize=(7.2, 6.4) if scope.level != LEVEL_VILLAGE else (6.0, 5.2),
                dpi=dpi,
            )
            self.timings["maps"] = self.timings.get("maps", 0.0) + time.perf_counter() - t0
        return self._maps[key]


def report_info_from_bundle(bundle: Bundle, network: WalkNetwork) -> ReportInfo:
    """Names, labels, provenance and attribution of a bundle's reports."""
    hubs = bundle.hubs
    dist = hubs[hubs["tier"] == "district"]
    hid = str(dist["hub_id"].iloc[0]) if len(dist) else "district"
    code = hid[1:] if hid.startswith("D") and len(hid) > 1 else hid
    name = "西湖区" if bundle.name == "xihu_demo" else "演示区域"
    meta = {k: network.meta.get(k) for k in ("source", "sha256", "source_date")}
    meta.update({"n_nodes": network.n_nodes, "n_edges": network.n_edges})
    return ReportInfo(
        district_code=code,
        district_name=name,
        label_zh=bundle.label_zh,
        note_zh=bundle.note_zh,
        attribution=bundle.attribution,
        network=meta,
        is_fallback=bundle.is_fallback,
    )


def prepare_report(
    bundle: Bundle,
    *,
    settings: Settings | None = None,
    network: WalkNetwork | None = None,
    scenario_sites: pd.DataFrame | None = None,
    scenario_name: str = "",
    font: str | Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> Report:
    """Compute, protect and prepare everything the reports of a bundle print.

    Parameters
    ----------
    bundle : the data (the Xihu demo or the fallback).
    settings : minutes, speed, H3 resolution (the bundle's metric CRS is always used).
    network : the bundle's network when already loaded (else loaded from its file).
    scenario_sites : the recommended sites of the chosen scenario (see
        :func:`reports.content.build_report_tables`), or None.
    scenario_name : the scenario's name.
    font : CJK font file (see :func:`reports.fonts.find_cjk_font`).
    progress : called with (share done 0-1, Chinese message).
    use_cache : reuse the cached suppression of identical figures.

    Raises
    ------
    reports.fonts.FontMissingError
        When no CJK font is found (checked first, before any computation).
    """
    say = progress or _noop
    font_path = find_cjk_font(font)
    base = settings or Settings()
    s = base.with_(metric_crs=bundle.metric_crs)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    say(0.02, "读取路网…")
    net = network if network is not None else load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    say(0.08, "计算步行覆盖…")
    run = coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, s)
    timings["coverage"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(0.15, "汇总各级数字…")
    tables = build_report_tables(
        run,
        towns=bundle.towns,
        communities=bundle.communities,
        providers=bundle.providers,
        info=report_info_from_bundle(bundle, net),
        scenario_sites=scenario_sites,
        scenario_name=scenario_name,
    )
    timings["tables"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(0.25, "小数隐藏与防反推核验…")
    pub = publish(tables, use_cache=use_cache)
    timings["suppression"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(0.45, "生成服务范围…")
    sa = service_area_polygons(run.engine, node_cells=NodeCells(net), max_access_m=s.max_access_m)
    slot_hub = dict(zip(run.hubs["slot"].astype(int), run.hubs["hub_id"].astype(str), strict=True))
    sa.insert(0, "hub_id", sa["slot"].map(slot_hub))
    meta = tables.hubs.set_index("hub_id")
    sa.insert(1, "name", sa["hub_id"].map(meta["name"]))
    sa.insert(2, "tier", sa["hub_id"].map(meta["tier"]))
    sa = gpd.GeoDataFrame(sa, geometry="geometry", crs=4326)
    timings["service_areas"] = time.perf_counter() - t0
    md = map_data(
        net,
        tables.hexes,
        pub.hex_pct_visible(),
        hubs=tables.hubs,
        sites=tables.sites,
        service_areas=sa,
        font=font_path,
        attribution=tables.info.attribution,
    )
    say(0.5, "准备完成")
    return Report(
        published=pub,
        network=net,
        service_areas=sa,
        map_data=md,
        towns=bundle.towns,
        district=bundle.district,
        font=font_path,
        timings=timings,
    )


def write_reports(
    report: Report,
    out_dir: str | Path,
    *,
    levels: Iterable[str] = LEVELS,
    formats: Sequence[str] = FORMATS,
    progress: Progress | None = None,
    scope_filter: Callable[[Scope], bool] | None = None,
) -> list[Path]:
    """Write the reports of the given levels in the given formats.

    Parameters
    ----------
    report : from :func:`prepare_report`.
    out_dir : root folder (created).
    levels : any of ``district``, ``town``, ``village``.
    formats : any of ``xlsx``, ``pdf``, ``gpkg``, ``geojson``.
    progress : called with (share done 0-1, Chinese message).
    scope_filter : keeps only the scopes it accepts (e.g. a manager's own town and its
        village points); all scopes of the levels by default.

    Returns
    -------
    The files written, in order.
    """
    from reports.gis import write_geojson, write_gpkg
    from reports.pdf import write_pdf
    from reports.xlsx import write_xlsx

    say = progress or _noop
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        msg = f"unknown format(s): {', '.join(bad)} (use {', '.join(FORMATS)})"
        raise ValueError(msg)
    lv = list(levels)
    badl = [x for x in lv if x not in LEVELS]
    if badl:
        msg = f"unknown level(s): {', '.join(badl)} (use {', '.join(LEVELS)})"
        raise ValueError(msg)
    root = Path(out_dir)
    scopes = [sc for level in LEVELS if level in lv for sc in report.scopes(level)]
    if scope_filter is not None:
        scopes = [sc for sc in scopes if scope_filter(sc)]
    written: list[Path] = []
    total = max(1, len(scopes) * len(formats))
    k = 0
    for sc in scopes:
        folder = root / sc.folder
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            say(0.5 + 0.5 * k / total, f"写出 {sc.name} · {fmt.upper()}")
            k += 1
            t0 = time.perf_counter()
            if fmt == "xlsx":
                written.append(write_xlsx(report, sc, folder / f"{sc.stem}.xlsx"))
                key = "xlsx"
            elif fmt == "pdf":
                m0 = report.timings.get("maps", 0.0)
                written.append(write_pdf(report, sc, folder / f"{sc.stem}.pdf"))
                key = "pdf"
                t0 += report.timings.get("maps", 0.0) - m0  # map rendering is counted apart
            elif fmt == "gpkg":
                written.append(write_gpkg(report, sc, folder / f"{sc.stem}.gpkg"))
                key = "gis"
            else:
                written.extend(write_geojson(report, sc, folder / f"{sc.stem}_geojson"))
                key = "gis"
            report.timings[key] = report.timings.get(key, 0.0) + time.perf_counter() - t0
    say(1.0, f"完成：共 {len(written)} 个文件")
    return written


def scope_mask(report: Report, scope: Scope, frame: pd.DataFrame, *, town_col: str, community_col: str) -> Any:
    """Rows of ``frame`` inside ``scope`` (by its town / community column)."""
    if scope.level == LEVEL_DISTRICT:
        return np.ones(len(frame), dtype=bool)
    col = town_col if scope.level == LEVEL_TOWN else community_col
    return (frame[col].astype(object).map(lambda v: None if v is None else str(v)) == scope.area_id).to_numpy()


def printed_order(values: pd.Series, ge: str) -> pd.Series:
    """A sort key on printed counts: numbers (largest first), then ``"≥10"``, then ``"<10"``.

    Sorting on the true values would tell the order of hidden counts.
    """
    return values.map(lambda v: (0, -int(v)) if isinstance(v, int | np.integer) else ((1, 0) if v == ge else (2, 0)))


def scope_hexes(report: Report, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hexes of a scope as printed, and its gap hexes (both by printed outside count, then h3).

    The hexes are listed only when the scope's households count is printed, its gap
    hexes only when its outside count is printed: how many hexes an area touches would
    otherwise bound a hidden count.
    """
    pub = report.published
    t = pub.tables
    links = t.hex_links
    sel = links[(links["level"] == scope.level) & (links["area_id"].astype(str) == scope.area_id)]
    row = t.areas.index[(t.areas["level"] == scope.level) & (t.areas["area_id"].astype(str) == scope.area_id)]
    st = pub.area_status.loc[row[0]] if len(row) else None
    hx = pub.hex_display()
    hx["_key"] = printed_order(hx["outside"], pub.ge)
    show_all = st is not None and int(st["n"]) == 0
    show_gap = st is not None and int(st["outside"]) == 0
    allh = hx[hx["h3"].isin(set(sel["h3"]))] if show_all else hx.iloc[0:0]
    gaps = hx[hx["h3"].isin(set(sel.loc[sel["gap"], "h3"]))] if show_gap else hx.iloc[0:0]
    allh = allh.sort_values(["_key", "h3"]).drop(columns="_key").reset_index(drop=True)
    gaps = gaps.sort_values(["_key", "h3"]).drop(columns="_key").reset_index(drop=True)
    return allh, gaps
