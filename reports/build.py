"""Build the coverage reports of a data bundle: one computation, many files.

:func:`prepare_report` runs the coverage once (:func:`geo.analysis.coverage_run`),
computes every figure (:mod:`reports.content`), suppresses small counts across the
whole publication (:mod:`geo.disclosure`) and prepares the maps' geometry.
:func:`write_reports` then writes any set of scopes (the district, each town, each
village service point) in any formats. Every file shows a subset of the same protected
publication.

Files written under ``out_dir``::

    district/district_<code>_<YYYY-MM>.{xlsx,pdf,gpkg}   district/district_<code>_<YYYY-MM>_geojson/<layer>.geojson
    towns/town_<code>_<YYYY-MM>.{xlsx,pdf,gpkg}          towns/town_<code>_<YYYY-MM>_geojson/<layer>.geojson
    villages/village_<hub_id>_<YYYY-MM>.{xlsx,pdf,gpkg}  villages/village_<hub_id>_<YYYY-MM>_geojson/<layer>.geojson

``<YYYY-MM>`` is the month the report describes (:attr:`reports.content.ReportInfo.month`).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.errors import CHINA_TZ, ReportError
from core.i18n import item_names
from core.settings import Settings
from data.bundle import Bundle, matching_frames
from data.network import load_network
from geo.analysis import CoverageRun, coverage_run
from geo.disclosure import PendingPublication, SuppressionWorker, start_publish
from geo.graph import WalkNetwork
from geo.matching import MatchingResult, matching_problem
from geo.service_area import NodeCells, service_area_polygons
from geo.snap import Snapper
from reports.content import (
    LEVEL_DISTRICT,
    LEVEL_TOWN,
    LEVELS,
    ReportInfo,
    ReportTables,
    build_report_tables,
)
from reports.fonts import find_cjk_font
from reports.gis import write_geojson, write_gpkg
from reports.maps import map_data
from reports.matching import MatchingTables, matching_tables
from reports.model import Report, Scope
from reports.pdf import write_pdf
from reports.xlsx import write_xlsx

log = logging.getLogger(__name__)

FORMATS = ("xlsx", "pdf", "gpkg", "geojson")
Progress = Callable[[float, str], None]


def _noop(_: float, __: str) -> None:
    return None


_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def current_month() -> str:
    """This month in China time (``YYYY-MM``)."""
    return datetime.now(CHINA_TZ).strftime("%Y-%m")


def check_report_month(month: str) -> str:
    """``month`` if it is ``YYYY-MM``, else :class:`core.errors.ReportError` (in Chinese and English)."""
    if not isinstance(month, str) or not _MONTH_RE.match(month.strip()):
        msg = f"报告月份须为 YYYY-MM（如 2026-05），收到 {month!r} (the month must be YYYY-MM)"
        raise ReportError(msg)
    return month.strip()


def report_info_from_bundle(
    bundle: Bundle, network: WalkNetwork, *, month: str = "", label_zh: str = "", note_zh: str = ""
) -> ReportInfo:
    """Names, labels, provenance and attribution of a bundle's reports (``label_zh`` / ``note_zh``
    replace the bundle's, e.g. for imported data)."""
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
        label_zh=label_zh or bundle.label_zh,
        note_zh=note_zh or bundle.note_zh,
        attribution=bundle.attribution,
        network=meta,
        is_fallback=bundle.is_fallback,
        month=month or current_month(),
    )


@dataclass
class ReportDraft:
    """A report being prepared (see :func:`start_report`): the coverage, the exact tables and
    the disclosure control under way, possibly in another process."""

    bundle: Bundle
    settings: Settings
    network: WalkNetwork
    run: CoverageRun
    tables: ReportTables
    pending: PendingPublication
    font: Path
    say: Progress
    timings: dict[str, float] = field(default_factory=dict)

    def cancel(self) -> None:
        """Stop a background disclosure control that is no longer wanted."""
        self.pending.cancel()


def start_report(
    bundle: Bundle,
    *,
    settings: Settings | None = None,
    network: WalkNetwork | None = None,
    scenario_sites: pd.DataFrame | None = None,
    scenario_name: str = "",
    font: str | Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    month: str | None = None,
    label_zh: str = "",
    note_zh: str = "",
    background: bool = False,
) -> ReportDraft:
    """The first half of :func:`prepare_report`: coverage, tables, and the disclosure control started.

    With ``background`` the disclosure control (when not cached) runs in another process
    (:class:`geo.disclosure.SuppressionWorker`, started before the coverage) while the
    caller computes what does not depend on it (matching, sections); :func:`finish_report`
    collects it. Call :meth:`ReportDraft.cancel` when the draft is abandoned.
    """
    say = progress or _noop
    month = check_report_month(month) if month else current_month()
    font_path = find_cjk_font(font)
    base = settings or Settings()
    s = base.with_(metric_crs=bundle.metric_crs)
    timings: dict[str, float] = {}
    # started first: its interpreter starts while the coverage and the tables are computed here
    worker = SuppressionWorker() if background else None
    try:
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
            info=report_info_from_bundle(bundle, net, month=month, label_zh=label_zh, note_zh=note_zh),
            scenario_sites=scenario_sites,
            scenario_name=scenario_name,
        )
        timings["tables"] = time.perf_counter() - t0
        say(0.25, "小数隐藏与防反推核验…")
        pending = start_publish(tables, use_cache=use_cache, worker=worker)
    except BaseException:
        if worker is not None:
            worker.close()
        raise
    return ReportDraft(bundle, s, net, run, tables, pending, font_path, say, timings)


def finish_report(draft: ReportDraft, *, matching_result: MatchingResult | None = None) -> Report:
    """The second half of :func:`prepare_report`: service areas, the protected publication, maps, matching."""
    say, timings, net, s = draft.say, draft.timings, draft.network, draft.settings
    try:
        t0 = time.perf_counter()
        say(0.35, "生成服务范围…")
        sa = hub_service_areas(draft.run, draft.tables.hubs, max_access_m=s.max_access_m)
        timings["service_areas"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        say(0.4, "供需匹配与小数隐藏…")
        towns = draft.bundle.towns["town_code"].astype(str).tolist()
        matching = _matching_section(draft.bundle, net, s, towns, matching_result)
        timings["matching"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        say(0.45, "小数隐藏与防反推核验…")
        pub = draft.pending.result()
    finally:
        draft.cancel()
    # the seconds of the computation where it ran (here in start_report, or another process; 0 when cached)
    timings["suppression"] = draft.pending.seconds
    if draft.pending.background:
        timings["suppression_wait"] = time.perf_counter() - t0
    md = map_data(
        net,
        draft.tables.hexes,
        pub.hex_pct_visible(),
        hubs=draft.tables.hubs,
        sites=draft.tables.sites,
        service_areas=sa,
        font=draft.font,
        attribution=draft.tables.info.attribution,
    )
    say(0.5, "准备完成")
    return Report(
        published=pub,
        network=net,
        service_areas=sa,
        map_data=md,
        towns=draft.bundle.towns,
        district=draft.bundle.district,
        font=draft.font,
        timings=timings,
        matching=matching,
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
    month: str | None = None,
    label_zh: str = "",
    note_zh: str = "",
    matching_result: MatchingResult | None = None,
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
    month : the month the report describes (``YYYY-MM``; default this month in China time).
    label_zh, note_zh : the data set's label and note when not the bundle's (imported data).
    matching_result : the district's matching of the bundle's needs and offers when already
        solved (else solved here).

    Raises
    ------
    reports.fonts.FontMissingError
        When no CJK font is found (checked first, before any computation).
    """
    draft = start_report(
        bundle, settings=settings, network=network, scenario_sites=scenario_sites, scenario_name=scenario_name,
        font=font, progress=progress, use_cache=use_cache, month=month, label_zh=label_zh, note_zh=note_zh,
    )  # fmt: skip
    return finish_report(draft, matching_result=matching_result)


def hub_service_areas(run: CoverageRun, hubs: pd.DataFrame, *, max_access_m: float) -> gpd.GeoDataFrame:
    """Display-only service areas of the hubs listed in ``hubs`` (``hub_id, name, tier``).

    Returns
    -------
    GeoDataFrame ``hub_id, name, tier``, then :func:`geo.service_area.service_area_polygons`'
    columns (EPSG:4326); engine slots of hubs not in ``run.hubs`` are left out.
    """
    sa = service_area_polygons(run.engine, node_cells=NodeCells(run.engine.network), max_access_m=max_access_m)
    slot_hub = dict(zip(run.hubs["slot"].astype(int), run.hubs["hub_id"].astype(str), strict=True))
    sa.insert(0, "hub_id", sa["slot"].map(slot_hub))
    sa = sa[sa["hub_id"].notna()].reset_index(drop=True)
    meta = hubs.set_index("hub_id")
    sa.insert(1, "name", sa["hub_id"].map(meta["name"]))
    sa.insert(2, "tier", sa["hub_id"].map(meta["tier"]))
    return gpd.GeoDataFrame(sa, geometry="geometry", crs=4326)


def _matching_section(
    bundle: Bundle, net: WalkNetwork, settings: Settings, towns: list[str], result: MatchingResult | None = None
) -> MatchingTables | None:
    """The matching section's protected tables (None when the bundle has no needs or offers)."""
    if result is None:
        needs, offers, catalogue = matching_frames(bundle)
        if not len(needs) or not len(offers):
            return None
        result = matching_problem(needs, offers, catalogue, snapper=Snapper(net), settings=settings).solve()
    elif not len(result.needs):
        return None
    town = bundle.beneficiaries[["beneficiary_id", "town_code"]].rename(columns={"beneficiary_id": "household_id"})
    names = item_names(bundle.catalogue, "zh") if len(bundle.catalogue) else None
    return matching_tables(result.needs.merge(town, on="household_id", how="left"), towns, names)


def write_reports(
    report: Report,
    out_dir: str | Path,
    *,
    levels: Iterable[str] = LEVELS,
    formats: Sequence[str] = FORMATS,
    progress: Progress | None = None,
    scope_filter: Callable[[Scope], bool] | None = None,
    workers: int = 1,
    start_method: str = "fork",
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
    workers : processes writing files (0: the CPU count). With more than one, first the
        maps are drawn, each once, then the files are written, the scopes shared out; the
        files are the same.
    start_method : how the writer processes start: ``"fork"`` (the command line: they
        inherit the report) or ``"forkserver"`` (a server, whose threads must not be
        forked: the report is pickled to them once per pool, from a clean process that
        has the writers' modules imported once).

    Returns
    -------
    The files written, in order.
    """

    say = progress or _noop
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        msg = f"unknown format(s): {', '.join(bad)} (use {', '.join(FORMATS)})"
        raise ReportError(msg)
    lv = list(levels)
    badl = [x for x in lv if x not in LEVELS]
    if badl:
        msg = f"unknown level(s): {', '.join(badl)} (use {', '.join(LEVELS)})"
        raise ReportError(msg)
    root = Path(out_dir)
    scopes = [sc for level in LEVELS if level in lv for sc in report.scopes(level)]
    if scope_filter is not None:
        scopes = [sc for sc in scopes if scope_filter(sc)]
    n_workers = _n_workers(workers)
    if n_workers > 1 and len(scopes) > 1 and start_method in mp.get_all_start_methods():
        written = _write_parallel(report, root, scopes, list(formats), min(n_workers, len(scopes)), say, start_method)
    else:
        written = []
        total = max(1, len(scopes))
        for k, sc in enumerate(scopes):
            say(0.5 + 0.5 * k / total, f"写出 {sc.name}")
            written += _write_scope(report, root, sc, formats)
    say(1.0, f"完成：共 {len(written)} 个文件")
    return written


def _write_scope(report: Report, root: Path, sc: Scope, formats: Sequence[str]) -> list[Path]:
    """Every format of one scope; adds the seconds per writer to ``report.timings``."""
    month = report.tables.info.month
    folder = root / sc.folder
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{sc.stem}_{month}" if month else sc.stem
    written: list[Path] = []
    for fmt in formats:
        t0 = time.perf_counter()
        if fmt == "xlsx":
            written.append(write_xlsx(report, sc, folder / f"{stem}.xlsx"))
            key = "xlsx"
        elif fmt == "pdf":
            m0 = report.timings.get("maps", 0.0)
            written.append(write_pdf(report, sc, folder / f"{stem}.pdf"))
            key = "pdf"
            t0 += report.timings.get("maps", 0.0) - m0  # map rendering is counted apart
        elif fmt == "gpkg":
            written.append(write_gpkg(report, sc, folder / f"{stem}.gpkg"))
            key = "gis"
        else:
            written.extend(write_geojson(report, sc, folder / f"{stem}_geojson"))
            key = "gis"
        report.timings[key] = report.timings.get(key, 0.0) + time.perf_counter() - t0
    return written


#: what a writer process reads: the report, the root folder and the formats (set by
#: :func:`_init_worker` when the pool starts)
_WORKER: dict[str, Any] = {}


def _init_worker(report: Report, root: Path | None, formats: list[str]) -> None:
    _WORKER.update(report=report, root=root, formats=formats)


def _map_job(sc: Scope) -> tuple[tuple[str, str], bytes, float]:
    report: Report = _WORKER["report"]
    t0 = report.timings.get("maps", 0.0)
    png = report.map_png(sc)
    return (sc.level, sc.area_id), png, report.timings.get("maps", 0.0) - t0


def _write_job(sc: Scope) -> tuple[list[Path], dict[str, float]]:
    report: Report = _WORKER["report"]
    before = dict(report.timings)
    paths = _write_scope(report, _WORKER["root"], sc, _WORKER["formats"])
    return paths, {k: v - before.get(k, 0.0) for k, v in report.timings.items() if v != before.get(k, 0.0)}


def _n_workers(workers: int) -> int:
    """Processes to use: ``workers``, or the CPU count for 0 or less."""
    return (os.cpu_count() or 1) if workers <= 0 else workers


def _context(start_method: str) -> Any:
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        # the fork server imports the writers once (not the caller's main module); set before it starts
        ctx.set_forkserver_preload(["reports.build"])
    return ctx


def draw_maps(
    report: Report,
    scopes: Sequence[Scope],
    *,
    workers: int = 0,
    start_method: str = "fork",
) -> int:
    """Draw the maps the PDFs of ``scopes`` print, each once, on ``workers``
    processes (0: the CPU count, started as :func:`write_reports` says), into the report
    (:meth:`reports.model.Report.map_png`).

    Returns
    -------
    How many maps were drawn (those already there are skipped).
    """
    need = {(sc.level, sc.area_id): sc for sc in scopes}
    if any(sc.level == LEVEL_DISTRICT for sc in scopes):
        need.update({(sc.level, sc.area_id): sc for sc in report.scopes(LEVEL_TOWN)})
    todo = [sc for key, sc in need.items() if key not in report._maps]
    n = min(_n_workers(workers), len(todo))
    if n <= 1:
        for sc in todo:
            report.map_png(sc)
        return len(todo)
    ctx = _context(start_method)
    with ctx.Pool(n, initializer=_init_worker, initargs=(report, None, [])) as pool:
        for key, png, sec in pool.imap_unordered(_map_job, todo):
            report._maps[key] = png
            report.timings["maps"] = report.timings.get("maps", 0.0) + sec
    return len(todo)


def _write_parallel(
    report: Report, root: Path, scopes: list[Scope], formats: list[str], n: int, say: Progress, start_method: str
) -> list[Path]:
    """:func:`_write_scope` of every scope on ``n`` processes (maps drawn first, each once).

    Timings are summed over the processes (CPU-seconds of each stage, not wall time).
    """
    ctx = _context(start_method)
    if "pdf" in formats:
        say(0.5, "绘制地图…")
        draw_maps(report, scopes, workers=n, start_method=start_method)
    written: list[Path] = []
    with ctx.Pool(n, initializer=_init_worker, initargs=(report, root, formats)) as pool:
        for k, (paths, spent) in enumerate(pool.imap(_write_job, scopes)):
            say(0.55 + 0.45 * k / len(scopes), f"写出 {scopes[k].name}")
            written += paths
            for stage, sec in spent.items():
                report.timings[stage] = report.timings.get(stage, 0.0) + sec
    return written
