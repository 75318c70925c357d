"""What a report is: its scopes (district, town, village point) and the prepared, protected figures.

The writers (:mod:`reports.xlsx`, :mod:`reports.pdf`, :mod:`reports.gis`) read a
:class:`Report`; :mod:`reports.build` prepares one and runs the writers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.disclosure import PublishedReport, printed_order
from geo.graph import WalkNetwork
from reports.content import (
    LEVEL_DISTRICT,
    LEVEL_TOWN,
    LEVEL_VILLAGE,
)
from reports.maps import MapData, coverage_map_png, padded_bounds


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


@dataclass(frozen=True)
class ReportSection:
    """An extra sheet of the XLSX report (capacity, duplicates ...): protected rows per scope.

    Attributes
    ----------
    sheet : the sheet's (Chinese) name.
    headers : column -> header, in order.
    rows_for : the printed rows of a scope (already protected; text cells as printed).
    note : one line printed above nothing else but kept in the notes sheet (e.g. a formula).
    """

    sheet: str
    headers: dict[str, str]
    rows_for: Callable[[Scope], pd.DataFrame]
    note: str = ""


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
    #: the matching section's protected tables (:mod:`reports.matching`); None without needs
    matching: Any = None
    #: extra XLSX sheets (:class:`ReportSection`), written after the coverage sheets
    sections: tuple[ReportSection, ...] = ()

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


def scope_mask(report: Report, scope: Scope, frame: pd.DataFrame, *, town_col: str, community_col: str) -> Any:
    """Rows of ``frame`` inside ``scope`` (by its town / community column)."""
    if scope.level == LEVEL_DISTRICT:
        return np.ones(len(frame), dtype=bool)
    col = town_col if scope.level == LEVEL_TOWN else community_col
    return (frame[col].astype(object).map(lambda v: None if v is None else str(v)) == scope.area_id).to_numpy()


def scope_hexes(report: Report, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hexes of a scope as printed, and its gap hexes (both by printed outside count, then h3).

    The hexes are listed only when the scope's households count is printed, its gap
    hexes only when its outside count is printed: how many hexes an area touches would
    otherwise bound a hidden count. Computed once per scope (copies are returned).
    """
    key = ("hexes", scope)
    if key not in report.memo:
        report.memo[key] = _scope_hexes(report, scope)
    allh, gaps = report.memo[key]
    return allh.copy(), gaps.copy()


def _hex_index(
    report: Report,
) -> tuple[pd.DataFrame, dict[tuple[str, str], tuple[set[str], set[str]]], dict[tuple[str, str], int]]:
    """Shared by every scope: the printed hexes with their sort key, each area's hexes and
    gap hexes, and each area's row position in ``tables.areas``."""
    if "hex_index" not in report.memo:
        pub = report.published
        t = pub.tables
        hx = pub.hex_display()
        hx["_key"] = printed_order(hx["outside"], pub.ge)
        links = t.hex_links
        by_area: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        for level, area, h3, gap in zip(
            links["level"], links["area_id"].astype(str), links["h3"], links["gap"], strict=True
        ):
            cells, gaps = by_area.setdefault((level, area), (set(), set()))
            cells.add(h3)
            if gap:
                gaps.add(h3)
        rows: dict[tuple[str, str], int] = {}
        for i, (level, area) in enumerate(zip(t.areas["level"], t.areas["area_id"].astype(str), strict=True)):
            rows.setdefault((level, area), i)  # an area's first row (area_status is aligned with tables.areas)
        report.memo["hex_index"] = (hx, by_area, rows)
    return report.memo["hex_index"]  # type: ignore[no-any-return]


def _scope_hexes(report: Report, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    pub = report.published
    hx, by_area, rows = _hex_index(report)
    cells, gap_cells = by_area.get((scope.level, scope.area_id), (set(), set()))
    row = rows.get((scope.level, scope.area_id))
    st = pub.area_status
    show_all = row is not None and int(st["n"].to_numpy()[row]) == 0
    show_gap = row is not None and int(st["outside"].to_numpy()[row]) == 0
    allh = hx[hx["h3"].isin(cells)] if show_all else hx.iloc[0:0]
    gaps = hx[hx["h3"].isin(gap_cells)] if show_gap else hx.iloc[0:0]
    allh = allh.sort_values(["_key", "h3"]).drop(columns="_key").reset_index(drop=True)
    gaps = gaps.sort_values(["_key", "h3"]).drop(columns="_key").reset_index(drop=True)
    return allh, gaps
