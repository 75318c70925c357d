"""The coverage reports of one batch partition (``python -m geo batch --reports``).

A partition report is the district-level report of :mod:`reports.build` (XLSX, PDF,
GeoPackage, GeoJSON layers) whose "district" is the partition: its figures are counted
from the partition's coverage Parquet file, which holds the single-machine answer of every
point of its core (:mod:`geo.batch`), and suppressed as one publication by
:mod:`geo.disclosure` like any report. Nothing is recomputed per point.

What a batch run does not have is stated, never invented:

- **beneficiary breakdowns**: ``category``, ``need_type`` and ``urgency`` are used when the
  points file has those columns; missing values (or a missing column) count as "未填"
  (:class:`reports.content.Groups` labels ``unknown``);
- **towns and communities**: ``geo batch`` takes no town or community geography, so every
  point is in the town row "未知镇街" and the village row "未匹配社区" (both equal to the
  partition's row); no provider or recommended site is known;
- **hubs**: those inside the core, plus the hubs outside it that serve at least one of its
  points (the nearest hub within the cutoff, across the border); ``name`` and ``tier``
  come from the hubs file when it has them (a hub without a tier is "层级未填" and drawn
  with a neutral marker); ``served`` counts this partition's points only;
- **map**: the partition's extract of the network (core plus the exact buffer); service
  areas are display-only and cut at the extract's edge.

Points without coordinates (partition ``_no_coords``) have no place to report on: that
partition gets no report; its count is in ``summary.csv``.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from core.settings import Settings
from data.batch import (
    FollowUp,
    FollowUpTask,
    PartitionTask,
    file_stem,
    network_from_url,
    read_coverage,
    read_table_url,
    write_file,
)
from geo.analysis import CoverageRun
from geo.batch import NO_COORDS_PARTITION, OUTSIDE_PARTITION, partition_engine
from geo.disclosure import publish
from geo.graph import WalkNetwork
from geo.hexes import aggregate_points
from reports.build import FORMATS, check_report_month, current_month, hub_service_areas, write_reports
from reports.content import LEVEL_DISTRICT, UNKNOWN, ReportInfo, build_report_tables
from reports.fonts import find_cjk_font
from reports.maps import map_data
from reports.model import Report

#: the step's folder under OUT and its version (part of every partition's report key)
STEP_NAME = "reports"
REPORT_STEP_VERSION = 1
#: beneficiary columns the reports break down by, filled with ``unknown`` when absent
GROUP_COLUMNS = ("category", "need_type", "urgency")
ATTRIBUTION = "Map data © OpenStreetMap contributors (ODbL)"


def partition_name(pid: str) -> str:
    """The printed name of a partition: its id, with the tiles and the reserved ids in Chinese."""
    if pid == OUTSIDE_PARTITION:
        return "边界外点位"
    if pid.startswith("tile_"):
        return f"网格 {pid.removeprefix('tile_')}"
    return pid


def _text(col: pd.Series) -> pd.Series:
    """Text cells with empty / missing as None."""
    s = col.astype(object).where(col.notna(), None)
    return s.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())


def report_hubs(
    hubs: pd.DataFrame, rows: pd.DataFrame, run_hub_ids: np.ndarray, core: Any, metric_crs: str
) -> pd.DataFrame:
    """The hubs of a partition report: certified hubs in the core or serving one of its points.

    Parameters
    ----------
    hubs : the hub table as given (text; ``hub_id, lon, lat`` and any ``name``, ``tier``, ``town_code``).
    rows : the partition's coverage rows.
    run_hub_ids : the certified hubs in engine-slot order (:func:`geo.batch.partition_engine`).
    core : the core polygon (metric CRS).

    Returns
    -------
    DataFrame ``hub_id, name, tier, town_code, lon, lat, slot, served`` (slot order).
    """
    info = hubs.copy()
    info["hub_id"] = info["hub_id"].astype(str)
    info = info.drop_duplicates("hub_id").set_index("hub_id")
    ids = pd.Index([str(h) for h in run_hub_ids])
    lon = pd.to_numeric(info["lon"], errors="coerce").reindex(ids).to_numpy(dtype=np.float64)
    lat = pd.to_numeric(info["lat"], errors="coerce").reindex(ids).to_numpy(dtype=np.float64)
    x, y = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True).transform(lon, lat)
    inside = shapely.intersects_xy(core, np.asarray(x), np.asarray(y))
    cov = rows[rows["covered"].astype(bool)]
    served = cov["hub_id"].astype(str).value_counts()
    keep = inside | ids.isin(served.index)

    def col(name: str) -> pd.Series:
        if name not in info.columns:
            return pd.Series([None] * len(ids), index=ids, dtype=object)
        return _text(info[name]).reindex(ids)

    out = pd.DataFrame(
        {
            "hub_id": ids,
            "name": col("name").fillna(pd.Series(list(ids), index=ids)).to_numpy(),
            "tier": col("tier").fillna(UNKNOWN).to_numpy(),
            "town_code": col("town_code").to_numpy(),
            "lon": lon,
            "lat": lat,
            "slot": np.arange(len(ids)),
            "served": served.reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        }
    )
    return out[keep].reset_index(drop=True)


def partition_run(
    network: WalkNetwork,
    core: Any,
    rows: pd.DataFrame,
    hubs: pd.DataFrame,
    settings: Settings,
    *,
    radius_m: float,
    hub_info: pd.DataFrame | None = None,
) -> CoverageRun:
    """A :class:`geo.analysis.CoverageRun` of a partition from its finished coverage rows.

    The point columns (``hub_id, walk_m, walk_min, covered, access_m, off_network,
    status``) are the Parquet file's, as computed by the coverage task; the engine (on the
    partition's extract, with its certified hubs) serves the display-only service areas.
    ``hubs`` is the coverage task's hub table; ``hub_info`` the hubs file as given (names,
    tiers), ``hubs`` by default.
    """
    _, hubset, engine, _ = partition_engine(network, core, hubs, settings, radius_m=radius_m)
    points = rows.drop(columns=["partition"], errors="ignore").reset_index(drop=True).copy()
    for c in GROUP_COLUMNS:
        points[c] = _text(points[c]) if c in points.columns else None
    # geo batch takes no town or community geography: every point is in "未知镇街" / "未匹配社区"
    points["town_code"] = None
    points["community_code"] = None
    points["node"] = -1  # not kept in the Parquet file; no report reads it
    hub_rows = report_hubs(hubs if hub_info is None else hub_info, points, hubset.hub_id, core, settings.metric_crs)
    hub_rows["node"] = hubset.node[hub_rows["slot"].to_numpy()]
    hub_rows["hub_access_m"] = np.round(hubset.access_m[hub_rows["slot"].to_numpy()], 2)
    hexes = aggregate_points(points, res=settings.h3_res)
    return CoverageRun(settings=settings, points=points, hubs=hub_rows, hexes=hexes, engine=engine, hubset=hubset)


def _empty_geography() -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    towns = gpd.GeoDataFrame(
        {"town_code": pd.Series(dtype=object), "name": pd.Series(dtype=object)},
        geometry=gpd.GeoSeries([], crs=4326),
        crs=4326,
    )
    communities = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ("community_code", "community_name", "town_code", "type")}
        | {"lon": pd.Series(dtype=float), "lat": pd.Series(dtype=float)}
    )
    providers = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ("provider_id", "name", "kind", "department", "services")}
        | {c: pd.Series(dtype=float) for c in ("capacity_month", "lon", "lat")}
    )
    return towns, communities, providers


def partition_report(
    network: WalkNetwork,
    task: PartitionTask,
    rows: pd.DataFrame,
    hubs: pd.DataFrame,
    *,
    hub_info: pd.DataFrame | None = None,
    provenance: dict[str, Any],
    font: str | None = None,
    month: str = "",
) -> Report:
    """The protected report of one partition, ready for :func:`reports.build.write_reports` (district level)."""
    if task.core_wkb is None:
        msg = f"partition {task.pid} has no place (points without coordinates): no report"
        raise ValueError(msg)
    font_path = find_cjk_font(font)
    settings = task.settings
    core = shapely.from_wkb(task.core_wkb)
    t0 = time.perf_counter()
    run = partition_run(network, core, rows, hubs, settings, radius_m=task.radius_m, hub_info=hub_info)
    timings = {"coverage": time.perf_counter() - t0}
    t0 = time.perf_counter()
    towns, communities, providers = _empty_geography()
    name = partition_name(task.pid)
    info = ReportInfo(
        district_code=task.pid if re.fullmatch(r"[A-Za-z0-9_.-]+", task.pid) else file_stem(task.pid),
        district_name=name,
        label_zh=f"批量计算分区：{name}（geo batch）",
        note_zh=(
            "本报告是批量覆盖计算（python -m geo batch）的一个分区：分区内全部点位的覆盖，逐点与单机计算相同；"
            "点位文件没有的救助类别、需求类型、紧急度计为“未填”；批量计算不含镇街与社区边界，"
            "镇街与村(社区)两级只有“未知镇街”“未匹配社区”一行（与本分区相同）；不含服务主体与推荐站点。"
            "服务点为分区内的服务点及跨界服务本分区点位的服务点，服务户数只计本分区的点位；"
            "地图与服务范围只画到分区路网外延（精确缓冲区）为止。"
        ),
        attribution=ATTRIBUTION,
        network=dict(provenance),
        month=month or current_month(),
    )
    tables = build_report_tables(run, towns=towns, communities=communities, providers=providers, info=info)
    timings["tables"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pub = publish(tables)
    timings["suppression"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sa = hub_service_areas(run, tables.hubs, max_access_m=settings.max_access_m)
    timings["service_areas"] = time.perf_counter() - t0
    sub = run.engine.network
    md = map_data(
        sub,
        tables.hexes,
        pub.hex_pct_visible(),
        hubs=tables.hubs,
        sites=tables.sites,
        service_areas=sa,
        font=font_path,
        attribution=ATTRIBUTION,
    )
    to_wgs = Transformer.from_crs(settings.metric_crs, "EPSG:4326", always_xy=True)
    district = shapely.transform(
        shapely.segmentize(core, 100.0), lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1]))
    )
    return Report(
        published=pub,
        network=sub,
        service_areas=sa,
        map_data=md,
        towns=towns,
        district=district,
        font=font_path,
        timings=timings,
    )


def run_partition_reports(task: FollowUpTask) -> dict[str, Any]:
    """The follow-up task of one partition: build its report and write its files under ``task.out_url``.

    A pure function of URLs (:class:`data.batch.FollowUpTask`): reads the network arrays, the
    hub table and the partition's coverage Parquet file; writes each file by temporary name
    and rename. Returns ``files`` (paths under the partition's folder) and the report's
    disclosure counts.
    """
    cov = task.coverage
    network = network_from_url(cov.network_url, cov.settings.metric_crs)
    rows = read_coverage(cov)
    hubs = read_table_url(cov.hubs_url)
    info = read_table_url(task.hub_info_url)
    opts = task.options
    report = partition_report(
        network,
        cov,
        rows,
        hubs,
        hub_info=info,
        provenance=opts.get("network", {}),
        font=opts.get("font"),
        month=str(opts.get("month") or ""),
    )
    files: list[str] = []
    with tempfile.TemporaryDirectory(prefix="xihu-batch-report-") as tmp:
        written = write_reports(report, tmp, levels=(LEVEL_DISTRICT,), formats=tuple(opts["formats"]))
        for p in written:
            for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
                if f.is_file():
                    rel = f.relative_to(tmp).as_posix()
                    write_file(f"{task.out_url}/{rel}", f.read_bytes())
                    files.append(rel)
    r = report.published.result
    return {"files": files, "n_primary": int(r.n_primary), "n_secondary": int(r.n_secondary)}


def has_place(task: PartitionTask) -> bool:
    """Whether a partition gets a report (every partition but ``_no_coords``)."""
    return task.pid != NO_COORDS_PARTITION and task.core_wkb is not None


def check_report_options(formats: tuple[str, ...], font: str | None) -> None:
    """Refuse unknown formats (or none) and a missing CJK font, before any work."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        msg = f"unknown report format(s): {', '.join(bad) or '(none)'} (use {', '.join(FORMATS)})"
        raise ValueError(msg)
    find_cjk_font(font)


def reports_step(
    network: WalkNetwork, *, formats: tuple[str, ...] = FORMATS, font: str | None = None, month: str | None = None
) -> FollowUp:
    """The ``--reports`` step of :func:`data.batch.run_batch` (formats: any of xlsx, pdf, gpkg, geojson).

    ``month`` (``YYYY-MM``, default this month in China time) is the month the reports name,
    in their files and their file names; it is part of the step's key.
    """
    check_report_options(formats, font)
    month = check_report_month(month) if month else current_month()
    meta = {k: network.meta.get(k) for k in ("source", "sha256", "source_date")}
    meta.update({"n_nodes": network.n_nodes, "n_edges": network.n_edges})
    meta["source"] = Path(str(meta.get("source") or "")).name or "未知"
    options = {
        "version": REPORT_STEP_VERSION,
        "formats": list(formats),
        "month": month,
        "font": font,
        "network": {k: (v if isinstance(v, int | float | str) or v is None else str(v)) for k, v in meta.items()},
    }
    return FollowUp(name=STEP_NAME, fn=run_partition_reports, options=options, applies=has_place)
