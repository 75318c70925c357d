"""Benchmark: the whole Xihu district's reports, all levels, all formats; where the time goes; against its peers.

    PYTHONPATH=. .venv/bin/python bench/bench_reports.py [--levels district,town,village] [--formats all]
        [--workers 0] [--out DIR] [--cached] [--no-peer] [--map-sample 12]

Run by hand, never by pytest. Needs the real data in ``../shared/data`` (exit status 2
without it). Builds what ``python -m reports build`` builds (coverage, matching, 服务能力 and
重复救助 sections; :func:`service.reporting.dataset_report`). The disclosure control is
computed cold (its cache is bypassed) unless ``--cached`` is given.

Peers, in the same run on the same prepared report:

* **one process**: the same report prepared (disclosure control in line) and written by one
  process (``workers=1``), as the Reports page does;
* **the Reports page's way**: the maps drawn and the files written again by a fork server's
  processes (the report pickled to them), against the one-process write of the first peer (the
  page until 2026-12-05);
* **maps drawn the usual way**: the first ``--map-sample`` scopes' maps drawn with
  geopandas' ``GeoDataFrame.plot`` (streets as LineStrings, hexes as polygons, service areas
  as boundaries, outline), at the same size and resolution, saved as PNG with matplotlib's
  defaults; against ours for the same scopes (one NaN-broken polyline per layer, no data
  limits, PNG at zlib level 1).

Prints one table: seconds per stage (summed over the writer processes: CPU-seconds of each
stage) and the wall time, then the peers and the ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import shapely
from matplotlib.font_manager import FontProperties

from core.settings import Settings
from data.demo import load_default_bundle
from data.network import load_network
from geo.hexes import cells_to_polygons
from reports.build import FORMATS, write_reports
from reports.content import LEVELS
from reports.model import Report, Scope
from service.reporting import dataset_report

KEY = b"bench-reports-key-0123456789abcdef"


def _peer_map(report: Report, scope: Scope, streets: gpd.GeoDataFrame, hexes: gpd.GeoDataFrame) -> bytes:
    """One scope's map drawn with GeoDataFrame.plot (the usual way), same layers, size and dpi."""
    minx, miny, maxx, maxy = report.bounds(scope)
    box = shapely.box(minx, miny, maxx, maxy)
    fig, ax = plt.subplots(figsize=(7.2, 6.4) if scope.level != "village" else (6.0, 5.2), dpi=130)
    try:
        streets[streets.intersects(box)].plot(ax=ax, color="#a0a0a0", linewidth=0.3)
        hx = hexes[hexes.intersects(box.buffer(0.005))]
        hx.plot(ax=ax, column="pct", cmap="RdYlGn", vmin=0, vmax=100, edgecolor="white", linewidth=0.3, alpha=0.85,
                legend=True, missing_kwds={"color": "#cfcfcf"})  # fmt: skip
        sa = report.service_areas[report.service_areas.intersects(box)]
        sa.boundary.plot(ax=ax, color="#2166ac", linewidth=0.6, linestyle="--")
        outline = report.outline(scope)
        if outline is not None:
            gpd.GeoSeries([outline], crs=4326).boundary.plot(ax=ax, color="#222222", linewidth=1.3)
        hubs = report.map_data.hubs
        ax.scatter(hubs["lon"], hubs["lat"], s=30, c="#333333")
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_title(scope.name, fontproperties=FontProperties(fname=str(report.font)))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=130)
        return buf.getvalue()
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default=",".join(LEVELS))
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--workers", type=int, default=0, help="writer processes (0: the CPU count)")
    ap.add_argument("--out", default=None, help="output folder (a temporary one by default)")
    ap.add_argument("--cached", action="store_true", help="reuse a cached disclosure control")
    ap.add_argument("--no-peer", action="store_true", help="skip the peers")
    ap.add_argument("--map-sample", type=int, default=12, help="scopes whose maps the map peer draws")
    args = ap.parse_args(argv)
    levels = [x for x in args.levels.split(",") if x]
    formats = [x for x in args.formats.split(",") if x]
    workers = args.workers or (os.cpu_count() or 1)

    t = time.perf_counter()
    bundle = load_default_bundle()
    t_bundle = time.perf_counter() - t
    if bundle.is_fallback:
        print("the Xihu data (../shared/data/xihu) is not available", file=sys.stderr)
        return 2
    t = time.perf_counter()
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    t_net = time.perf_counter() - t
    load0 = os.getloadavg()

    t_all = time.perf_counter()
    built = dataset_report(
        bundle, net, None, dataset="demo", settings=Settings(), key=KEY, use_cache=args.cached, background=workers > 1
    )
    report = built.report
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        written = write_reports(report, out / "ours", levels=levels, formats=formats, workers=workers)
        size_mb = sum(p.stat().st_size for p in written) / 1e6
        by_ext: dict[str, int] = {}
        for p in written:
            by_ext[p.suffix] = by_ext.get(p.suffix, 0) + 1
        total = time.perf_counter() - t_all
        tm = dict(report.timings)
        seq = peer_maps = our_maps = None
        seq_write = page_write = 0.0
        if not args.no_peer:
            # peer 1: the same report prepared and written by one process (maps drawn afresh)
            t = time.perf_counter()
            seq_built = dataset_report(
                bundle, net, None, dataset="demo", settings=Settings(), key=KEY, use_cache=args.cached
            )
            t_w = time.perf_counter()
            write_reports(seq_built.report, out / "peer", levels=levels, formats=formats, workers=1)
            seq = time.perf_counter() - t
            seq_write = time.perf_counter() - t_w
            del seq_built
            # the Reports page's way (its report prepared by an earlier click): the maps drawn and the
            # files written by a fork server's processes (the report pickled to them)
            report._maps.clear()
            t = time.perf_counter()
            write_reports(report, out / "page", levels=levels, formats=formats, workers=workers,
                          start_method="forkserver")  # fmt: skip
            page_write = time.perf_counter() - t
            # peer 2: maps the usual way (geopandas .plot) against ours, same scopes
            scopes = [sc for lv in LEVELS for sc in report.scopes(lv)][: args.map_sample]
            md = report.map_data
            streets = gpd.GeoDataFrame(
                geometry=shapely.linestrings(
                    shapely.get_coordinates(shapely.points(md.seg_lon.ravel(), md.seg_lat.ravel())).reshape(-1, 2, 2)
                ),
                crs=4326,
            )
            hexes = gpd.GeoDataFrame(
                {"pct": [p if v else None for p, v in zip(md.hex_pct, md.hex_visible, strict=True)]},
                geometry=cells_to_polygons(list(md.hex_h3)).geometry.to_numpy(),
                crs=4326,
            )
            t = time.perf_counter()
            for sc in scopes:
                _peer_map(report, sc, streets, hexes)
            peer_maps = time.perf_counter() - t
            report._maps.clear()
            t = time.perf_counter()
            for sc in scopes:
                report.map_png(sc)
            our_maps = time.perf_counter() - t
    load1 = os.getloadavg()

    stages = [
        ("coverage run (snap + engine + per-household distances)", tm.get("coverage", 0.0)),
        ("report tables (all levels, percentiles, hexes, providers)", tm.get("tables", 0.0)),
        (
            "disclosure control (primary + secondary, exact audit)"
            + (" in another process, alongside matching + sections" if "suppression_wait" in tm else ""),
            tm.get("suppression", 0.0),
        ),
        ("waiting for the disclosure control (wall clock)", tm.get("suppression_wait", 0.0)),
        ("service areas (display polygons for maps and GIS)", tm.get("service_areas", 0.0)),
        ("matching (solve + protected section)", tm.get("matching", 0.0)),
        ("服务能力 + 重复救助 sections (records, flags, protection)", tm.get("sections", 0.0)),
        ("maps (matplotlib PNG, one per scope) *", tm.get("maps", 0.0)),
        ("PDF assembly (reportlab, maps excluded) *", tm.get("pdf", 0.0)),
        ("XLSX (openpyxl) *", tm.get("xlsx", 0.0)),
        ("GIS (GeoPackage + GeoJSON, pyogrio) *", tm.get("gis", 0.0)),
    ]
    pub = report.published
    r = pub.result
    print(
        f"machine: {platform.machine()} {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load0[0]:.1f} -> {load1[0]:.1f}; {Settings().minutes:g} min x 4.5 km/h; month {built.month}"
    )
    print(
        f"data: {len(report.tables.run.points)} households, {len(report.tables.hubs)} hubs, "
        f"{net.n_nodes} network nodes; bundle load {t_bundle:.2f} s, network load {t_net:.2f} s (not in the total)"
    )
    print(
        f"output: levels {','.join(levels)}, formats {','.join(formats)}: {len(written)} files "
        f"({', '.join(f'{k} {v}' for k, v in sorted(by_ext.items()))}), {size_mb:.1f} MB; {workers} writer processes"
    )
    print(
        f"disclosure control: {r.status.shape[0]} counts, {r.n_primary} printed <10, {r.n_secondary} hidden "
        f"against recovery ({pub.population_result.n_secondary} in the population stage), "
        f"{r.stats.get('solves', 0) + pub.population_result.stats.get('solves', 0)} LP/MILP solves, "
        f"{r.stats.get('last_resort', 0)} protected only with population cells"
        + (" (cached)" if args.cached else " (cold)")
    )
    print()
    print("| stage | s |")
    print("|---|---|")
    for name, sec in stages:
        print(f"| {name} | {sec:.2f} |")
    print(f"| **total, wall clock** | **{total:.2f}** |")
    print("(* summed over the writer processes: CPU-seconds of the stage, more than its share of the wall clock)")
    if seq is not None and peer_maps is not None and our_maps is not None:
        page_row = (
            f"| Reports page: a click, the report prepared (maps and files by a fork server's {workers} processes) "
            f"against one process (the page until 2026-12-05) | {seq_write:.2f} | {page_write:.2f} | "
            f"{seq_write / page_write:.2f}x |"
        )
        print()
        print("| peer | peer s | ours s | ratio |")
        print("|---|---|---|---|")
        print(
            f"| the whole set prepared and written by one process (workers=1) | {seq:.2f} | {total:.2f} | "
            f"{seq / total:.2f}x |"
        )
        print(
            f"| {len(scopes)} maps with GeoDataFrame.plot | {peer_maps:.2f} | {our_maps:.2f} | "
            f"{peer_maps / our_maps:.2f}x |"
        )
        print(page_row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
