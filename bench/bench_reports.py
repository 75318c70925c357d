"""Benchmark: the whole Xihu district's coverage reports, all levels, all formats; where the time goes.

    PYTHONPATH=. .venv/bin/python bench/bench_reports.py [--levels district,town,village] [--formats all]
        [--out DIR] [--cached]

Run by hand, never by pytest. Needs the real data in ``../shared/data`` (exit status 2
without it). The disclosure control is computed cold (its cache is bypassed) unless
``--cached`` is given. Prints one table: seconds per stage and its share of the total.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from data.demo import load_default_bundle
from data.network import load_network
from reports.build import FORMATS, prepare_report, write_reports
from reports.content import LEVELS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default=",".join(LEVELS))
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--out", default=None, help="output folder (a temporary one by default)")
    ap.add_argument("--cached", action="store_true", help="reuse a cached disclosure control")
    args = ap.parse_args(argv)
    levels = [x for x in args.levels.split(",") if x]
    formats = [x for x in args.formats.split(",") if x]

    t = time.perf_counter()
    bundle = load_default_bundle()
    t_bundle = time.perf_counter() - t
    if bundle.is_fallback:
        print("the Xihu data (../shared/data/xihu) is not available", file=sys.stderr)
        return 2
    t = time.perf_counter()
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    t_net = time.perf_counter() - t

    t_all = time.perf_counter()
    report = prepare_report(bundle, settings=Settings(), network=net, use_cache=args.cached)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        written = write_reports(report, out, levels=levels, formats=formats)
        size_mb = sum(p.stat().st_size for p in written) / 1e6
        by_ext: dict[str, int] = {}
        for p in written:
            by_ext[p.suffix] = by_ext.get(p.suffix, 0) + 1
    total = time.perf_counter() - t_all

    tm = report.timings
    stages = [
        ("coverage run (snap + engine + per-household distances)", tm.get("coverage", 0.0)),
        ("report tables (all levels, percentiles, hexes, providers)", tm.get("tables", 0.0)),
        ("disclosure control (primary + secondary, exact audit)", tm.get("suppression", 0.0)),
        ("service areas (display polygons for maps and GIS)", tm.get("service_areas", 0.0)),
        ("maps (matplotlib PNG, one per scope)", tm.get("maps", 0.0)),
        ("PDF assembly (reportlab, maps excluded)", tm.get("pdf", 0.0)),
        ("XLSX (openpyxl)", tm.get("xlsx", 0.0)),
        ("GIS (GeoPackage + GeoJSON, pyogrio)", tm.get("gis", 0.0)),
    ]
    other = total - sum(s for _, s in stages)
    stages.append(("other (scope filtering, printed forms, bookkeeping)", other))
    pub = report.published
    r = pub.result
    print(f"machine: {platform.machine()} {platform.python_version()}; {Settings().minutes:g} min x 4.5 km/h")
    print(
        f"data: {len(report.tables.run.points)} households, {len(report.tables.hubs)} hubs, "
        f"{net.n_nodes} network nodes; bundle load {t_bundle:.2f} s, network load {t_net:.2f} s (not in the total)"
    )
    print(
        f"output: levels {','.join(levels)}, formats {','.join(formats)}: {len(written)} files "
        f"({', '.join(f'{k} {v}' for k, v in sorted(by_ext.items()))}), {size_mb:.1f} MB"
    )
    print(
        f"disclosure control: {r.status.shape[0]} counts, {r.n_primary} printed <10, {r.n_secondary} hidden "
        f"against recovery ({pub.population_result.n_secondary} in the population stage), "
        f"{r.stats.get('solves', 0) + pub.population_result.stats.get('solves', 0)} LP/MILP solves, "
        f"{r.stats.get('last_resort', 0)} protected only with population cells"
        + (" (cached)" if args.cached else " (cold)")
    )
    print()
    print("| stage | s | share |")
    print("|---|---|---|")
    for name, sec in stages:
        print(f"| {name} | {sec:.2f} | {100.0 * sec / total:.0f}% |")
    print(f"| **total** | **{total:.2f}** | 100% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
