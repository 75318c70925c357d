"""Command line: build coverage reports in batch.

    python -m reports build --level district|town|village|all --format xlsx,pdf,gpkg,geojson --out DIR
        [--dataset demo|imported] [--month YYYY-MM] [--bundle xihu|fallback] [--minutes 10] [--speed-kmh 4.5]
        [--h3-res 9] [--scenario SITES.csv|SCENARIO.json] [--scenario-name NAME] [--font FONT.ttc] [--no-cache]
        [--workers N]

``--level`` and ``--format`` take comma-separated lists. ``--dataset imported`` reads the
imported data of the database ``DATABASE_URL`` chooses (as the app; default the app's
SQLite file); ``--month`` selects the month the reports describe (default: the month of the
dataset's current monthly lists, else this month in China time) and its monthly lists.
The reports hold the same sections as the app's Reports page (coverage, matching, 服务能力,
重复救助). Prints every file written and the time per stage; any expected error is printed
on one line and exits with status 2. Like ``app.py``, this entry point is where logging is
configured.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from core.errors import CliError, XihuError
from core.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, Settings
from data.bundle import Bundle
from data.demo import build_fallback_bundle, load_default_bundle
from data.idcard import id_hash_key
from data.network import load_network
from data.storage import Store
from data.tables import read_table
from reports.build import FORMATS, check_report_month, write_reports
from reports.content import LEVELS, scenario_sites_from_payload
from reports.fonts import find_cjk_font
from service.reporting import CLI_DATASETS, check_dataset, dataset_report

log = logging.getLogger("reports")

_SITE_ALIASES = {
    "经度": "lon",
    "纬度": "lat",
    "名称": "name",
    "站点名称": "name",
    "编号": "site_id",
    "站点编号": "site_id",
    "层级": "tier",
    "序号": "rank",
    "新增覆盖户数": "new_covered",
}


def _split(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if "all" in items:
        return list(allowed)
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        msg = f"unknown {what}: {', '.join(bad) or value!r} (use {', '.join(allowed)} or all)"
        raise CliError(msg)
    return [v for v in allowed if v in items]


def read_scenario(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Recommended sites from a scenario file and the scenario's name.

    A ``.json`` file is a saved scenario payload (``{"edits": [...]}``): its ``add`` and
    ``move`` edits are the recommended sites. A CSV / XLSX file lists sites with
    ``site_id, name, lon, lat`` (Chinese headers 编号, 名称, 经度, 纬度 accepted) and
    optionally ``tier``, ``rank``, ``new_covered``.
    """
    p = Path(path)
    if p.suffix.lower() == ".json":
        try:
            payload = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"cannot read the scenario {p.name}: {exc}"
            raise CliError(msg) from exc
        name = str(payload.get("name") or p.stem) if isinstance(payload, dict) else p.stem
        return scenario_sites_from_payload(payload), name
    frame = read_table(p)
    frame = frame.rename(columns={c: _SITE_ALIASES.get(str(c).strip(), str(c).strip()) for c in frame.columns})
    return frame, p.stem


def _bundle(kind: str) -> Bundle:
    if kind == "fallback":
        return build_fallback_bundle()
    bundle = load_default_bundle()
    if bundle.is_fallback:
        msg = "the Xihu data (../shared/data/xihu) is not available; use --bundle fallback for the demo"
        raise CliError(msg)
    return bundle


def _store(dataset: str) -> Store | None:
    """The app's database (``DATABASE_URL``); for the demo only when it opens (it holds the demo's
    monthly lists and reviews, if any)."""
    try:
        return Store()
    except sa.exc.SQLAlchemyError as exc:
        if dataset == "demo":
            log.warning("database not available (%s): the demo's reports without stored monthly lists", exc)
            return None
        msg = f"无法打开数据库（DATABASE_URL）：{exc.__class__.__name__} (cannot open the database)"
        raise CliError(msg) from exc


def cmd_build(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    levels = _split(args.level, LEVELS, "level")
    formats = _split(args.format, FORMATS, "format")
    settings = Settings(minutes=args.minutes, speed_kmh=args.speed_kmh, h3_res=args.h3_res)
    find_cjk_font(args.font)  # fail before any work when no CJK font is there
    if args.month:
        check_report_month(args.month)
    sites, name = (None, "")
    if args.scenario:
        sites, name = read_scenario(args.scenario)
        name = args.scenario_name or name
    dataset = CLI_DATASETS[args.dataset]
    store = _store(args.dataset)
    check_dataset(store, dataset)  # before any work
    bundle = _bundle(args.bundle)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    built = dataset_report(
        bundle, net, store, dataset=dataset, settings=settings, key=id_hash_key(), month=args.month,
        scenario_sites=sites, scenario_name=name, font=args.font, use_cache=not args.no_cache,
        background=args.workers != 1,
    )  # fmt: skip
    report = built.report
    out = Path(args.out)
    written = write_reports(report, out, levels=levels, formats=formats, workers=args.workers)
    for p in written:
        print(p)
    pub = report.published
    s = report.tables.settings
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    print(
        f"{len(written)} files in {out} ({report.tables.info.label_zh}; {built.month}; "
        f"{s.minutes:g} min at {s.speed_kmh:g} km/h = "
        f"{s.cutoff_m:.0f} m; H3 {s.h3_res}); {pub.result.n_primary} counts printed <{pub.threshold}, "
        f"{pub.result.n_secondary} hidden against recovery; {time.perf_counter() - t0:.1f} s ({stages})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m reports", description="Coverage reports: Excel, PDF, GIS layers.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build reports for the district, each town and each village point")
    b.add_argument("--level", default="all", help="district, town, village or all (comma-separated)")
    b.add_argument("--format", default="xlsx,pdf,gpkg,geojson", help="xlsx, pdf, gpkg, geojson or all")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--dataset", choices=tuple(CLI_DATASETS), default="demo",
                   help="demo (the bundle) or imported (the database DATABASE_URL chooses)")  # fmt: skip
    b.add_argument("--month", default=None, help="YYYY-MM the reports describe (default: the current lists' month)")
    b.add_argument("--bundle", choices=("xihu", "fallback"), default="xihu", help="the data bundle (geography, demo)")
    b.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    b.add_argument("--speed-kmh", type=float, default=DEFAULT_SPEED_KMH, help="4.5 default; 3.0 for elderly walkers")
    b.add_argument("--h3-res", type=int, default=DEFAULT_H3_RES)
    b.add_argument("--scenario", default=None, help="recommended sites: a scenario .json or a CSV/XLSX of sites")
    b.add_argument("--scenario-name", default="", help="name printed with the scenario's sites")
    b.add_argument("--font", default=None, help="CJK font file (default: fonts-wqy-zenhei)")
    b.add_argument("--no-cache", action="store_true", help="recompute the disclosure control")
    b.add_argument("--workers", type=int, default=0, help="processes writing files (default: the CPU count)")
    b.set_defaults(func=cmd_build)
    return ap


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (XihuError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
