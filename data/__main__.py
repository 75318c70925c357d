"""Command line of the ``data`` package: ``python -m data <command> ...``.

Commands
--------
``import``
    Validate a beneficiaries / hubs / providers spreadsheet, or a service catalogue /
    offers / needs table (``--kind catalogue|offers|needs``, optional ``--catalogue``,
    ``--providers``, ``--households`` to check ids against), (CSV or XLSX) and write
    ``accepted.csv`` (canonical columns, WGS-84, UTF-8 with BOM so Excel opens it),
    ``rejected.csv`` (original columns + ``source_row``, ``reason_code``, ``reason``),
    ``warnings.csv`` and ``summary.json`` into ``--out``::

        python -m data import --kind beneficiaries --input 救助对象.xlsx --out out/

    ``--kind records`` validates departments' service records (ID numbers become the keyed
    hash). ``--save`` also writes the accepted rows into the database (``DATABASE_URL``,
    default the app's SQLite file) in the same transaction as their audit entry, exactly as
    the Data page does (:mod:`data.import_kinds`): hubs, providers and beneficiaries replace
    the dataset's table; catalogue, offers, needs and records become a new version of
    ``--month`` (default: this month in China time). Without ``--catalogue``,
    ``--providers`` or ``--households``, a saved list is checked against the dataset's
    stored catalogue, providers and households::

        python -m data import --kind needs --input 需求.xlsx --out out/ --save --month 2026-03

``duplicates``
    Flag duplicate provision (重复救助) in departments' service records
    (:mod:`data.duplicates_cli`)::

        python -m data duplicates --records 服务记录.csv --catalogue 服务目录.csv --out flags.csv

``prepare``
    Build the on-disk caches a first start would otherwise build while someone waits: the
    demo bundle, the parsed street network and matplotlib's font list (``run_demo.sh`` runs
    it before starting the app)::

        python -m data prepare

Other commands are added with a function ``add_<name>_command(subparsers)`` that
registers a sub-parser and sets ``func`` (see :func:`add_import_command`), then one line
in :func:`build_parser`.

Expected problems (a missing or unreadable file, an unknown column, a bad option) exit
with code 2 and one line on stderr; rejected rows are not an error (exit code 0).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CliError, XihuError
from data.accounts.cli import register as add_users_commands
from data.config import xihu_file
from data.duplicates_cli import register as add_duplicates_command
from data.schemas import KINDS, MATCHING_KINDS

#: every kind ``import`` takes (the canonical tables, the matching tables, service records)
IMPORT_KINDS = (*KINDS, *MATCHING_KINDS, "records")
#: ``--role`` of the audit entries the command line writes
CLI_ROLE = "cli"

if TYPE_CHECKING:
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from core.settings import Settings
    from data.storage import Store
    from geo.snap import Snapper

EXIT_OK = 0
EXIT_USAGE = 2
#: the dataset ``--save`` writes to: the app's "imported data"
DEFAULT_DATASET = "user"
#: ``--network none`` / ``--area none`` switch a default off
NONE_WORDS = frozenset({"none", "no", "off", "-"})
DEFAULT_AREA_NAME = "西湖区"


def _default_path(settings: Settings, name: str) -> Path | None:
    p = xihu_file(settings.shared_data, name)
    return p if p.is_file() else None


def _choose(value: str | None, default: Path | None) -> Path | None:
    """The user's path, the default when not given, nothing for ``none``."""
    if value is None:
        return default
    if value.strip().lower() in NONE_WORDS:
        return None
    p = Path(value)
    if not p.is_file():
        msg = f"文件不存在：{p} (file not found)"
        raise CliError(msg)
    return p


def _load_snapper(path: Path) -> Snapper:
    from data.network import load_network
    from geo.snap import Snapper

    return Snapper(load_network(path))  # in the UTM zone of the network's centre


def _parse_mapping(pairs: Sequence[str]) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        header, sep, column = pair.partition("=")
        if not sep or not header.strip():
            msg = f"--map 的格式应为 原列名=目标列，收到“{pair}” (expected HEADER=COLUMN)"
            raise CliError(msg)
        mapping[header.strip()] = column.strip() or None
    return mapping


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    from data.safe_export import write_csv

    write_csv(frame, path)  # text cells guarded against formula injection


def _write_outputs(result: Any, out: Path, extra: dict[str, Any]) -> None:
    """``accepted.csv``, ``rejected.csv``, ``warnings.csv`` and ``summary.json`` (summary + ``extra``) in ``out``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_csv(result.accepted, out / "accepted.csv")
        _write_csv(result.rejected, out / "rejected.csv")
        _write_csv(result.warnings, out / "warnings.csv")
        summary: dict[str, Any] = {**result.summary, **extra}
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        msg = f"无法写入输出目录 {out}：{exc} (cannot write output)"
        raise CliError(msg) from exc


def _ids_of(path: Path | None, column: str, what: str) -> list[str] | None:
    """The ids in ``column`` of a CSV/XLSX file (an accepted.csv of an earlier import), or None."""
    from core.errors import TableReadError
    from data.tables import read_table

    if path is None:
        return None
    try:
        table = read_table(path)
    except TableReadError as exc:
        msg = f"无法读取{what}文件：{exc}"
        raise CliError(msg) from exc
    if column not in table.columns:
        msg = f"{path.name} 缺少列 {column}（应为此前导入的 accepted.csv）(missing column)"
        raise CliError(msg)
    return table[column].dropna().astype(str).tolist()


def _households_of(path: Path | None) -> pd.DataFrame | None:
    """``beneficiary_id`` (and ``id_hash`` when present) of a beneficiaries accepted.csv, or None."""
    from core.errors import TableReadError
    from data.tables import read_table

    if path is None:
        return None
    try:
        table = read_table(path)
    except TableReadError as exc:
        msg = f"无法读取救助对象文件：{exc}"
        raise CliError(msg) from exc
    if "beneficiary_id" not in table.columns:
        msg = f"{path.name} 缺少列 beneficiary_id（应为此前导入的 accepted.csv）(missing column)"
        raise CliError(msg)
    return table.reindex(columns=["beneficiary_id", "id_hash"])


def _list_context(args: argparse.Namespace, store: Store | None) -> tuple[dict[str, Any], Path | None]:
    """What a list is checked against: the files given, else (with ``--save``) the stored dataset's."""
    from data.import_kinds import stored_context
    from data.importer import import_matching_table
    from data.tables import read_table

    ctx: dict[str, Any] = (
        stored_context(store, args.dataset)
        if store is not None
        else {"catalogue": None, "provider_ids": None, "households": None}
    )
    cat_path = _choose(args.catalogue, None)
    if cat_path is not None:
        cat = import_matching_table(read_table(cat_path), "catalogue")
        if cat.summary["rejected"]:
            msg = (
                f"{cat_path.name}：服务清单有 {cat.summary['rejected']} 行无效，请先单独导入并修正 (invalid catalogue)"
            )
            raise CliError(msg)
        ctx["catalogue"] = cat.accepted
    providers = _ids_of(_choose(args.providers, None), "provider_id", "服务主体")
    if providers is not None:
        ctx["provider_ids"] = providers
    households = _households_of(_choose(args.households, None))
    if households is not None:
        ctx["households"] = households
    return ctx, cat_path


def _run_list_import(args: argparse.Namespace, raw: pd.DataFrame, store: Store | None) -> tuple[Any, dict[str, Any]]:
    """``import --kind catalogue|offers|needs|records``: validated against the catalogue, providers, households."""
    from data.idcard import id_hash_key
    from data.import_kinds import validate_list

    ctx, cat_path = _list_context(args, store)
    if args.kind != "records":
        ctx["households"] = ctx["households"] if args.kind == "needs" else None
    result = validate_list(
        raw,
        args.kind,
        **ctx,
        id_key=id_hash_key() if args.kind == "records" else None,
        need_aliases=store.need_aliases() if store is not None else None,
        mapping=_parse_mapping(args.map) or None,
    )
    return result, {"catalogue": cat_path.name if cat_path else None}


def _summary_line(result: Any, out: Path) -> str:
    s = result.summary
    reasons = "，".join(f"{k} {v}" for k, v in sorted(s["reasons"].items(), key=lambda kv: -kv[1]))
    unmapped = sum(s.get("unmapped_needs", {}).values())
    line = (
        f"读取 {s['read']} 行：接受 {s['accepted']} 行，拒绝 {s['rejected']} 行"
        + (f"（{reasons}）" if reasons else "")
        + (f"；{unmapped} 条需求的表述未对应服务项目（已保留，见 summary.json 的 unmapped_needs）" if unmapped else "")
    )
    if "crs_detected" in s:
        line += f"；坐标系 {s['crs_detected']}（{s['crs_source']}）"
    return line + f"；输出 {out}"


def _open_store() -> Store:
    import sqlalchemy as sa

    from data.storage import Store

    try:
        return Store()
    except sa.exc.SQLAlchemyError as exc:
        msg = f"无法打开数据库（DATABASE_URL）：{exc.__class__.__name__}: {exc} (cannot open the database)"
        raise CliError(msg) from exc


def _who(args: argparse.Namespace) -> str:
    if args.user:
        return str(args.user)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _save(args: argparse.Namespace, store: Store, result: Any, src: Path, sha: str) -> str:
    """Write the accepted rows with their audit entry (one transaction); the line that says so."""
    from data.accounts.audit import AuditLog, audit_key
    from data.import_kinds import save_accepted

    saved = save_accepted(
        store, AuditLog(store, audit_key()), args.kind, result, dataset=args.dataset, who=_who(args), role=CLI_ROLE,
        file_name=src.name, file_sha256=sha, month=args.month,
    )  # fmt: skip
    if saved.version is not None:
        return (
            f"已保存到数据库：{args.kind} {saved.month} 第 {saved.version} 版，"
            f"{saved.n_rows} 行（数据集 {args.dataset}）"
        )
    return f"已保存到数据库：{args.kind} {saved.n_rows} 行，替换数据集 {args.dataset} 的原有数据"


def run_import(args: argparse.Namespace) -> int:
    """Run ``import``: read, validate, write the four output files, print one summary line."""
    from core.errors import TableReadError, UnknownCRSError
    from core.settings import Settings
    from data.crs import check_crs
    from data.tables import read_table

    settings = Settings()
    if args.crs.strip().lower() != "auto":
        try:
            check_crs(args.crs)
        except UnknownCRSError as exc:
            msg = f"--crs 的值“{args.crs}”无法识别：应为 auto、wgs84、gcj02（高德/腾讯）或 bd09（百度）"
            raise CliError(msg) from exc
    if args.month is not None:
        from data.monthly import check_month

        args.month = check_month(args.month)
    if not args.save and (args.month is not None or args.dataset != DEFAULT_DATASET or args.user):
        msg = "--month、--dataset 和 --user 只与 --save 一起使用 (only with --save)"
        raise CliError(msg)
    src = Path(args.input)
    try:
        raw = read_table(src)
    except TableReadError as exc:
        msg = f"无法读取输入文件：{exc}"
        raise CliError(msg) from exc
    if len(raw) == 0:
        msg = f"{src.name} 只有表头，没有数据行 (no data rows)"
        raise CliError(msg)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    store = _open_store() if args.save else None
    try:
        if args.kind not in KINDS:
            result, extra = _run_list_import(args, raw, store)
        else:
            result, extra = _run_table_import(args, raw, settings, store)
        out = Path(args.out)
        _write_outputs(result, out, {"input": src.name, "input_sha256": sha, **extra})
        print(_summary_line(result, out))
        if store is not None:
            print(_save(args, store, result, src, sha))
    finally:
        if store is not None:
            store.close()
    return EXIT_OK


def _run_table_import(
    args: argparse.Namespace, raw: pd.DataFrame, settings: Settings, store: Store | None
) -> tuple[Any, dict[str, Any]]:
    """``import --kind beneficiaries|hubs|providers``: coordinates checked on the network and in the area."""
    from data.idcard import id_hash_key
    from data.importer import import_table, read_area, read_communities

    network_path = _choose(args.network, _default_path(settings, "network"))
    area_path = _choose(args.area, _default_path(settings, "district"))
    communities_path = _choose(args.communities, _default_path(settings, "centroids"))
    snapper = _load_snapper(network_path) if network_path is not None else None
    area: BaseGeometry | None = read_area(area_path) if area_path is not None else None
    communities = read_communities(communities_path) if communities_path is not None else None
    area_name = args.area_name or (DEFAULT_AREA_NAME if args.area is None else "指定区域")
    result = import_table(
        raw,
        args.kind,
        crs=args.crs,
        snapper=snapper,
        area=area,
        area_buffer_m=args.buffer_m,
        area_name=area_name,
        communities=communities,
        id_key=id_hash_key() if args.kind == "beneficiaries" else None,
        mapping=_parse_mapping(args.map),
        need_aliases=store.need_aliases() if store is not None else None,
    )
    return result, {
        "network": network_path.name if network_path else None,
        "area": area_path.name if area_path else None,
        "communities": communities_path.name if communities_path else None,
    }


def add_import_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``import`` on the sub-parsers of :func:`build_parser`."""
    p = sub.add_parser(
        "import",
        help="导入并校验救助对象 / 服务站点 / 服务主体 / 服务清单 / 服务供给 / 需求表格 (validate a spreadsheet)",
        description="校验表格的每一行，输出 accepted.csv、rejected.csv、warnings.csv 和 summary.json。",
    )
    p.add_argument("--kind", required=True, choices=IMPORT_KINDS)
    p.add_argument("--input", required=True, help="CSV（UTF-8 / GB18030）或 XLSX 文件")
    p.add_argument("--crs", default="auto", help="auto（按路网自动识别）、wgs84、gcj02 或 bd09；默认 auto")
    p.add_argument("--network", help="路网文件（默认：当前数据包的西湖区路网；none 表示不用路网）")
    p.add_argument("--area", help="区域边界（默认：当前数据包的西湖区边界；none 表示只检查在中国境内）")
    p.add_argument("--area-name", help="区域名称，用于提示信息（默认：西湖区）")
    p.add_argument("--buffer-m", type=float, default=1000.0, help="区域外扩的容差，米（默认 1000）")
    p.add_argument("--communities", help="社区中心点文件（默认：当前数据包的社区中心点；none 表示不用）")
    p.add_argument("--map", action="append", default=[], metavar="原列名=目标列", help="手工指定列映射，可重复")
    p.add_argument(
        "--catalogue",
        help="offers / needs / records：服务清单文件（默认：内置示例清单；--save 时为数据库中的当前清单）",
    )
    p.add_argument("--providers", help="offers：服务主体 accepted.csv，用于核对机构编号（可选）")
    p.add_argument(
        "--households", help="needs / records：救助对象 accepted.csv，用于核对户编号、按户编号关联身份证哈希（可选）"
    )
    p.add_argument("--out", required=True, help="输出目录")
    p.add_argument(
        "--save", action="store_true",
        help="同时把接受的行写入数据库（DATABASE_URL，默认与应用相同的 SQLite），与审计记录在同一事务中",
    )  # fmt: skip
    p.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"--save：写入的数据集（默认 {DEFAULT_DATASET}，即应用中的“已导入数据”）",
    )
    p.add_argument(
        "--month", help="--save：清单所属月份 YYYY-MM（catalogue/offers/needs/records；默认为北京时间的本月）"
    )
    p.add_argument("--user", help="--save：审计记录中的操作人（默认 cli:<系统用户名>）")
    p.set_defaults(func=run_import)


def run_download_network(args: argparse.Namespace) -> int:  # pragma: no cover - online only
    """Run ``download-network``: fetch a walking network with osmnx (needs internet)."""
    from data.network import download_network

    path = download_network(args.place, args.out)
    print(f"已保存路网：{path}（saved）")
    return EXIT_OK


def add_download_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``download-network`` (the only command that uses the internet)."""
    p = sub.add_parser(
        "download-network",
        help="用 osmnx 联网下载步行路网（需要联网）(download a walking network; needs internet)",
        description="按地名用 osmnx 下载步行路网并保存为 GraphML，之后可作为 --network 使用。",
    )
    p.add_argument("--place", required=True, help="地名，如 “西湖区, 杭州市, 浙江省, 中国”")
    p.add_argument("--out", required=True, help="输出的 .graphml 文件")
    p.set_defaults(func=run_download_network)


def run_prepare(args: argparse.Namespace) -> int:
    """Run ``prepare``: load (and so cache on disk) the default bundle and its network."""
    import time

    from data.demo import load_default_bundle
    from data.network import load_network

    t0 = time.monotonic()
    bundle = load_default_bundle()
    load_network(str(bundle.network_path), metric_crs=bundle.metric_crs)
    import matplotlib.font_manager  # noqa: F401  (builds its font list once per machine)

    print(f"演示数据包与路网缓存已就绪：{bundle.name}，{time.monotonic() - t0:.1f} 秒（prepared）")
    return EXIT_OK


def add_prepare_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``prepare`` (caches for a fast first start)."""
    p = sub.add_parser(
        "prepare",
        help="预先生成演示数据包、路网缓存和字体列表，让首次启动更快 (build the first-start caches)",
        description="读取默认数据包（西湖区演示数据或备用演示数据）及其路网，写入磁盘缓存。",
    )
    p.set_defaults(func=run_prepare)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m data`` parser with every command registered."""
    parser = argparse.ArgumentParser(prog="python -m data", description="数据导入与管理 (data import and management)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    add_import_command(sub)
    add_download_command(sub)
    add_users_commands(sub)
    add_duplicates_command(sub)
    add_prepare_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; expected errors give exit code 2 and one stderr line."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except XihuError as exc:
        line = " ".join(str(exc).split())
        print(f"错误：{line}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
