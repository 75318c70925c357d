"""Command line of the routing core.

    python -m geo coverage --network PATH --hubs HUBS.csv --points POINTS.csv \
        [--minutes 10] [--speed-kmh 4.5] [--metric-crs EPSG:326zz] --out OUT.csv
    python -m geo site --network PATH --hubs HUBS.csv --points POINTS.csv \
        --candidates CANDS.csv --add P [--minutes 10] [--speed-kmh 4.5] \
        [--weight-column COL] [--metric-crs EPSG:326zz] --out OUT.csv
    python -m geo match --network PATH --needs NEEDS.csv --offers OFFERS.csv \
        --catalogue CAT.csv [--households HH.csv] [--minutes 10] [--speed-kmh 4.5] --out OUT.csv
    python -m geo batch --network BIG --hubs HUBS.csv --points POINTS.csv \
        [--partition tiles | BOUNDARIES.geojson] [--tile-km 10] [--minutes 10] [--speed-kmh 4.5] \
        [--scheduler local | tcp://HOST:8786] [--workers N] --out DIR

Distances are taken in ``--metric-crs`` when given, else in the UTM zone of the network's
centre (:mod:`geo.metric`).

This module is an entry point, like ``app.py``: it is the one place in ``geo`` allowed to
import ``data`` (to read files); the computation it calls stays free of I/O.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputColumnsError, XihuError
from core.i18n import labels
from core.settings import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, Settings
from core.vocab import DELIVERIES, NEED_TYPES, NEED_URGENCY_MAX, NEED_URGENCY_MIN
from data.network import load_network
from data.tables import read_table
from geo import highs
from geo.analysis import coverage_run
from geo.candidates import candidates_from_frame
from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage
from geo.graph import WalkNetwork
from geo.matching import RESULT_COLUMNS, matching_problem
from geo.metric import checked_metric_crs
from geo.siting import DEFAULT_TIME_LIMIT_S, problem_from_run, recommend_sites
from geo.snap import Snapper

log = logging.getLogger("geo")

METRIC_CRS_HELP = "projected CRS in metres for distances (default: the UTM zone of the network's centre)"


def _numeric_lonlat(df: pd.DataFrame, what: str, id_col: str) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in (id_col, "lon", "lat") if c not in df.columns]
    if missing:
        msg = f"{what}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns))})"
        raise InputColumnsError(msg)
    out = []
    for col in ("lon", "lat"):
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
            msg = f"{what}: line {row}: {col} value {raw[bad].iloc[0]!r} is not a number"
            raise InputColumnsError(msg)
        out.append(num.to_numpy(dtype=np.float64))
    lon, lat = out
    bad = np.isfinite(lon) & np.isfinite(lat) & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        msg = f"{what}: line {row}: coordinates out of range (lon {lon[bad][0]}, lat {lat[bad][0]})"
        raise InputColumnsError(msg)
    return lon, lat


def cmd_coverage(args: argparse.Namespace) -> int:
    settings = _settings(args)
    hubs = read_table(args.hubs)
    points = read_table(args.points)
    _checked_located(hubs, f"hubs file {Path(args.hubs).name}", "hub_id", "hub")
    lon, lat = _numeric_lonlat(points, f"points file {Path(args.points).name}", "point_id")
    net = _load_network(args)
    settings = settings.with_(metric_crs=net.metric_crs)
    snapper = Snapper(net)
    hubset = hubs_from_frame(hubs, snapper)
    far = hubset.access_m > settings.max_access_m
    for hid, d in zip(hubset.hub_id[far], hubset.access_m[far], strict=True):
        log.warning("hub %s is %.0f m from the nearest walkable way", hid, d)
    engine = engine_for_hubs(snapper, hubset, settings)
    cov = point_coverage(lon, lat, engine=engine, snapper=snapper, hub_ids=hubset.hub_id, settings=settings)
    extra = points.drop(columns=[c for c in cov.columns if c in points.columns and c != "point_id"])
    out = pd.concat([extra.reset_index(drop=True), cov.drop(columns=["node"])], axis=1)
    front = ["point_id", "hub_id", "walk_m", "walk_min", "covered"]
    out = out[front + [c for c in out.columns if c not in front]]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, encoding="utf-8-sig")
    n = len(out)
    ncov = int(out["covered"].sum())
    print(
        f"{n} points, {ncov} covered ({(100.0 * ncov / n) if n else 0:.1f}%) within {settings.minutes:g} min "
        f"at {settings.speed_kmh:g} km/h ({settings.cutoff_m:.0f} m); "
        f"{int(out['off_network'].sum())} off-network; wrote {args.out}"
    )
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    """The walking settings of the common arguments (:func:`common_parser`)."""
    return Settings(minutes=args.minutes, speed_kmh=args.speed_kmh)


def _load_network(args: argparse.Namespace) -> WalkNetwork:
    """The network in ``--metric-crs``, else in the UTM zone of the network's centre."""
    crs = None if args.metric_crs is None else checked_metric_crs(args.metric_crs)
    return load_network(args.network, metric_crs=crs, layer=args.layer, use_cache=not args.no_cache)


def _checked_located(frame: pd.DataFrame, what: str, id_col: str, noun: str) -> None:
    """Every row of a hub or site table has numeric lon/lat and a unique id (else one clear error)."""
    lon, lat = _numeric_lonlat(frame, what, id_col)
    nocoord = ~(np.isfinite(lon) & np.isfinite(lat))
    if nocoord.any():
        i = int(np.flatnonzero(nocoord)[0])
        msg = f"{what}: line {i + 2}: {noun} {frame[id_col].iloc[i]!r} has no lon/lat"
        raise InputColumnsError(msg)
    dup = frame[id_col][frame[id_col].duplicated()]
    if len(dup):
        msg = f"{what}: duplicate {id_col} {dup.iloc[0]!r}"
        raise InputColumnsError(msg)


def cmd_site(args: argparse.Namespace) -> int:
    """Choose ``--add`` new sites among the candidates (maximal covering) and write them in rank order."""
    settings = _settings(args)
    if args.add < 1:
        msg = f"--add must be at least 1, got {args.add}"
        raise InputColumnsError(msg)
    hubs = read_table(args.hubs)
    points = read_table(args.points)
    cands = read_table(args.candidates)
    _checked_located(hubs, f"hubs file {Path(args.hubs).name}", "hub_id", "hub")
    points_what = f"points file {Path(args.points).name}"
    _numeric_lonlat(points, points_what, "point_id")
    cands_what = f"candidates file {Path(args.candidates).name}"
    _checked_located(cands, cands_what, "site_id", "site")
    if args.weight_column is not None:
        if args.weight_column not in points.columns:
            have = ", ".join(map(str, points.columns))
            msg = f"{points_what}: no weight column {args.weight_column!r} (have: {have})"
            raise InputColumnsError(msg)
        raw = points[args.weight_column]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() | (num < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            msg = f"{points_what}: line {row}: weight {raw[bad].iloc[0]!r} in {args.weight_column} is not a number >= 0"
            raise InputColumnsError(msg)
    net = _load_network(args)
    settings = settings.with_(metric_crs=net.metric_crs)
    snapper = Snapper(net)
    run = coverage_run(snapper, hubs, points, settings)
    sites = candidates_from_frame(cands, snapper, max_access_m=settings.max_access_m)
    usable = int((~sites["off_network"]).sum())
    if args.add > usable:
        msg = (
            f"--add {args.add} asks for more sites than the {usable} usable candidates "
            f"({len(sites) - usable} are over {settings.max_access_m:.0f} m from the network)"
        )
        raise InputColumnsError(msg)
    weights = np.ones(len(run.points)) if args.weight_column is None else None
    highs.quiet_banner()  # stdout is for the result lines
    problem = problem_from_run(run, sites, weights=weights, weight_column=args.weight_column)
    result = recommend_sites(problem, args.add, method=args.method, time_limit_s=args.time_limit)
    out = result.sites[["rank", "site_id", "newly_covered", "newly_covered_n", "lon", "lat", "access_m"]]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, encoding="utf-8-sig")
    sol = result.solution
    what = "weighted demand" if args.weight_column else "points"
    total = result.weight_total

    def pct(v: float) -> float:
        return 100.0 * v / total if total else 0.0

    print(
        f"{result.n_points} points, {len(hubs)} hubs, {len(sites)} candidates ({usable} usable); "
        f"{settings.minutes:g} min at {settings.speed_kmh:g} km/h ({settings.cutoff_m:.0f} m)"
    )
    print(f"covered before: {result.weight_before:g} of {total:g} {what} ({pct(result.weight_before):.1f}%)")
    print(
        f"covered after adding {sol.n_sites} site(s): {result.weight_after:g} of {total:g} {what} "
        f"({pct(result.weight_after):.1f}%), +{sol.objective:g}"
    )
    if sol.proven_optimal:
        print(f"proven optimal: yes ({sol.method}, HiGHS status {sol.status})")
    else:
        print(f"proven optimal: no ({sol.method}, status {sol.status}, gap to bound {100 * sol.gap:.2f}%)")
    print(f"wrote {args.out}")
    return 0


def _codes(frame: pd.DataFrame, col: str, what: str, codes: tuple[str, ...], kind: str) -> pd.Series:
    """Codes of a column written as codes or Chinese labels (生存型 / survival); one error names the line."""
    words = {**{v: k for k, v in labels(kind, "zh").items()}, **{c: c for c in codes}}
    raw = frame[col].astype(str).str.strip()
    out = pd.Series([words.get(v, words.get(v.lower())) for v in raw], index=frame.index, dtype=object)
    bad = out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        allowed = ", ".join(f"{labels(kind, 'zh')[c]}/{c}" for c in codes)
        msg = f"{what}: line {i + 2}: {col} {frame[col].iloc[i]!r} is not one of {allowed}"
        raise InputColumnsError(msg)
    return out


def _whole(frame: pd.DataFrame, col: str, what: str, lo: int, hi: int | None) -> pd.Series:
    num = pd.to_numeric(frame[col], errors="coerce")
    ok = num.notna() & (num == np.floor(num)) & (num >= lo) & ((num <= hi) if hi is not None else True)
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        msg = f"{what}: line {i + 2}: {col} {frame[col].iloc[i]!r} is not a whole number in {rng}"
        raise InputColumnsError(msg)
    return num.astype(np.int64)


def _columns(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        msg = f"{what}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, frame.columns))})"
        raise InputColumnsError(msg)


def _known(frame: pd.DataFrame, col: str, what: str, known: set[str], where: str) -> None:
    bad = ~frame[col].astype(str).isin(known)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        msg = f"{what}: line {i + 2}: {col} {frame[col].iloc[i]!r} is not in {where}"
        raise InputColumnsError(msg)


def cmd_match(args: argparse.Namespace) -> int:
    """Match needs to offers (lexicographic: survival, care, development urgency, then distance)."""
    settings = _settings(args)
    cat_what = f"catalogue file {Path(args.catalogue).name}"
    needs_what = f"needs file {Path(args.needs).name}"
    offers_what = f"offers file {Path(args.offers).name}"
    cat = read_table(args.catalogue)
    _columns(cat, ("item_id", "need_type", "delivery"), cat_what)
    cat["need_type"] = _codes(cat, "need_type", cat_what, NEED_TYPES, "need_type")
    cat["delivery"] = _codes(cat, "delivery", cat_what, DELIVERIES, "delivery")
    dup = cat["item_id"][cat["item_id"].duplicated()]
    if len(dup):
        msg = f"{cat_what}: duplicate item_id {dup.iloc[0]!r}"
        raise InputColumnsError(msg)
    items = set(cat["item_id"].astype(str))
    needs = read_table(args.needs)
    _columns(needs, ("need_id", "item_id", "urgency"), needs_what)
    needs["urgency"] = _whole(needs, "urgency", needs_what, NEED_URGENCY_MIN, NEED_URGENCY_MAX)
    _known(needs, "item_id", needs_what, items, cat_what)
    dup = needs["need_id"][needs["need_id"].duplicated()]
    if len(dup):
        msg = f"{needs_what}: duplicate need_id {dup.iloc[0]!r}"
        raise InputColumnsError(msg)
    if args.households is not None:
        hh_what = f"households file {Path(args.households).name}"
        hh = read_table(args.households)
        _checked_located(hh, hh_what, "household_id", "household")
        _columns(needs, ("household_id",), needs_what)
        _known(needs, "household_id", needs_what, set(hh["household_id"].astype(str)), hh_what)
        loc = hh[["household_id", "lon", "lat"]].set_index("household_id")
        needs = needs.drop(columns=[c for c in ("lon", "lat") if c in needs.columns])
        needs = needs.join(loc, on="household_id")
    elif "lon" in needs.columns and "lat" in needs.columns:
        _numeric_lonlat(needs, needs_what, "need_id")
    else:
        msg = f"{needs_what}: give household_id with --households, or lon and lat columns"
        raise InputColumnsError(msg)
    offers = read_table(args.offers)
    _columns(offers, ("provider_id", "item_id", "capacity_per_month"), offers_what)
    _numeric_lonlat(offers, offers_what, "provider_id")
    offers["capacity_per_month"] = _whole(offers, "capacity_per_month", offers_what, 0, None)
    _known(offers, "item_id", offers_what, items, cat_what)
    if "delivery" in offers.columns:
        given = offers["delivery"].notna() & (offers["delivery"].astype(str).str.strip() != "")
        offers.loc[given, "delivery"] = _codes(offers[given], "delivery", offers_what, DELIVERIES, "delivery")
        offers.loc[~given, "delivery"] = None
    if "reach_m" in offers.columns:
        raw = offers["reach_m"]
        num = pd.to_numeric(raw, errors="coerce")
        bad = (num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")) | (num < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            msg = f"{offers_what}: line {i + 2}: reach_m {raw.iloc[i]!r} is not a distance in metres"
            raise InputColumnsError(msg)
        offers["reach_m"] = num
    pair = offers["provider_id"].astype(str) + " / " + offers["item_id"].astype(str)
    if pair.duplicated().any():
        i = int(np.flatnonzero(pair.duplicated().to_numpy())[0])
        msg = f"{offers_what}: line {i + 2}: {pair.iloc[i]} is offered twice"
        raise InputColumnsError(msg)
    net = _load_network(args)
    settings = settings.with_(metric_crs=net.metric_crs)
    problem = matching_problem(needs, offers, cat, snapper=Snapper(net), settings=settings)
    result = problem.solve()
    front = ["need_id", "item_id", "need_type", "urgency", "provider_id", "walk_m", "matched", "reason"]
    res = result.needs
    rest = [c for c in RESULT_COLUMNS if c not in front]
    extra = needs.drop(columns=[c for c in needs.columns if c in res.columns])
    out = pd.concat([res[front + rest], extra.reset_index(drop=True)], axis=1)
    out["walk_m"] = out["walk_m"].round(2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, encoding="utf-8-sig")
    n = len(out)
    nm = int(out["matched"].sum())
    print(
        f"{n} needs, {len(offers)} offers; {settings.minutes:g} min at {settings.speed_kmh:g} km/h "
        f"({settings.cutoff_m:.0f} m) for onsite offers"
    )
    print(f"matched {nm} of {n} ({(100.0 * nm / n) if n else 0:.1f}%)")
    for t in NEED_TYPES:
        sel = out["need_type"] == t
        got = int(out.loc[sel, "matched"].sum())
        print(f"  {t}: {got} of {int(sel.sum())} needs, urgency sum {getattr(result.objective, t)}")
    reasons = out["reason"].value_counts()
    if len(reasons):
        print("unmatched: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    print(f"wrote {args.out}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Coverage of every point of a city or province on dask.distributed (:mod:`data.batch`)."""
    import distributed.deploy  # noqa: F401  (importing distributed sets its loggers' levels: set ours after)

    from data.batch import run_batch

    for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "distributed"]:
        logging.getLogger(name).setLevel(logging.WARNING)  # the progress bar, not the cluster's chatter
    settings = _settings(args)
    if args.workers < 1:
        msg = f"--workers must be at least 1, got {args.workers}"
        raise InputColumnsError(msg)
    formats = tuple(f.strip() for f in args.report_formats.split(",") if f.strip())
    if args.reports:
        from reports.batch import check_report_month, check_report_options, reports_step

        check_report_options(formats, args.font)  # before the network is read
        if args.month:
            check_report_month(args.month)
    hubs = read_table(args.hubs)
    points = read_table(args.points)
    _checked_located(hubs, f"hubs file {Path(args.hubs).name}", "hub_id", "hub")
    _numeric_lonlat(points, f"points file {Path(args.points).name}", "point_id")
    net = _load_network(args)
    settings = settings.with_(metric_crs=net.metric_crs)
    hubset = hubs_from_frame(hubs, Snapper(net))  # the same warnings as geo coverage
    far = hubset.access_m > settings.max_access_m
    for hid, d in zip(hubset.hub_id[far], hubset.access_m[far], strict=True):
        log.warning("hub %s is %.0f m from the nearest walkable way", hid, d)
    follow_up = None
    if args.reports:
        follow_up = reports_step(net, formats=formats, font=args.font, month=args.month)
    res = run_batch(
        net,
        hubs,
        points,
        settings,
        args.out,
        partition=args.partition,
        tile_m=args.tile_km * 1000.0,
        id_column=args.id_column,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=True,
        follow_up=follow_up,
    )
    total = res.summary.iloc[-1]
    print(
        f"\n{int(total['n_points'])} points in {len(res.summary) - 1} partitions "
        f"({len(res.computed)} computed, {len(res.skipped)} already done), {int(total['n_covered'])} covered "
        f"({total['covered_pct']:.1f}%) within {settings.minutes:g} min at {settings.speed_kmh:g} km/h "
        f"({settings.cutoff_m:.0f} m); wrote {args.out}/coverage/*.parquet and {args.out}/summary.csv"
    )
    if follow_up is not None:
        n_files = sum(len(res.follow_stats[p].get("files", [])) for p in res.followed)
        print(
            f"reports: {len(res.followed)} partitions built ({n_files} files), {len(res.follow_skipped)} already "
            f"done; wrote {args.out}/reports/<partition>/"
        )
    return 0


NETWORK_HELP = ".osm, .osm.pbf, .gpkg/.geojson/.shp road lines, or .graphml"


def common_parser() -> argparse.ArgumentParser:
    """The arguments every command shares: the network and the walking settings (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--network", required=True, help=NETWORK_HELP)
    p.add_argument("--layer", default=None, help="layer of a multi-layer road file (e.g. roads)")
    p.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    p.add_argument("--speed-kmh", type=float, default=DEFAULT_SPEED_KMH, help="4.5 default; 3.0 for elderly walkers")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the network cache")
    p.add_argument("--metric-crs", default=None, help=METRIC_CRS_HELP)
    return p


def _hubs_points(p: argparse.ArgumentParser, *, hubs: str = "", points: str = "") -> None:
    p.add_argument("--hubs", required=True, help=f"CSV/XLSX with hub_id,lon,lat{hubs} (WGS-84)")
    p.add_argument("--points", required=True, help=f"CSV/XLSX with point_id,lon,lat (WGS-84){points}")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m geo", description="Walking coverage on a real street network.")
    sub = ap.add_subparsers(dest="command", required=True)
    common = [common_parser()]
    c = sub.add_parser("coverage", parents=common, help="nearest hub and walking distance for every point")
    _hubs_points(c)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_coverage)
    s = sub.add_parser(
        "site", parents=common, help="where P new stations should go among candidate sites (maximal covering)"
    )
    _hubs_points(s, hubs=" of the existing hubs", points=" and optional weights")
    s.add_argument("--candidates", required=True, help="CSV/XLSX with site_id,lon,lat of the candidate sites")
    s.add_argument("--add", type=int, required=True, help="number of new stations to place")
    s.add_argument("--weight-column", default=None, help="numeric column of POINTS: each point's weight (default 1)")
    s.add_argument("--method", choices=("auto", "milp", "greedy"), default="auto", help="exact MILP (HiGHS) or greedy")
    s.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="solver time limit in seconds")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_site)
    m = sub.add_parser(
        "match", parents=common, help="match needs to providers' offers within walking reach and capacity"
    )
    m.add_argument(
        "--needs", required=True, help="CSV/XLSX with need_id,item_id,urgency (1-3) and household_id or lon,lat"
    )
    m.add_argument("--offers", required=True, help="CSV/XLSX with provider_id,item_id,capacity_per_month,lon,lat")
    m.add_argument("--catalogue", required=True, help="CSV/XLSX with item_id,need_type,delivery")
    m.add_argument("--households", default=None, help="CSV/XLSX with household_id,lon,lat (WGS-84)")
    m.add_argument("--out", required=True)
    m.set_defaults(func=cmd_match)
    b = sub.add_parser(
        "batch", parents=common, help="coverage of a whole city or province, partition by partition, on Dask"
    )
    _hubs_points(b)
    b.add_argument("--partition", default="tiles", help="'tiles' (default) or a polygon file (GeoJSON) with id/name")
    b.add_argument("--id-column", default=None, help="id column of the polygon file (default: id, name, adcode, code)")
    b.add_argument("--tile-km", type=float, default=10.0, help="side of a square tile in km (default 10)")
    b.add_argument("--scheduler", default="local", help="'local' (a LocalCluster, default) or tcp://HOST:8786")
    b.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    b.add_argument("--reports", action="store_true", help="also write each partition's reports under OUT/reports/")
    b.add_argument("--report-formats", default="xlsx,pdf,gpkg,geojson", help="formats of --reports (comma-separated)")
    b.add_argument("--font", default=None, help="CJK font file for --reports (default: fonts-wqy-zenhei)")
    b.add_argument("--month", default=None, help="YYYY-MM the reports name (default: this month, China time)")
    b.add_argument("--out", required=True, help="output folder or fsspec URL that every worker can reach")
    b.set_defaults(func=cmd_batch)
    return ap


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (XihuError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
