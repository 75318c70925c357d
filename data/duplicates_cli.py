"""``python -m data duplicates``: flag duplicate provision in departments' service records.

::

    python -m data duplicates --records RECORDS.csv [--catalogue CAT.csv] [--period month] \\
        [--households accepted.csv] --out FLAGS.csv

Writes ``FLAGS.csv`` (one row per flag: ``flag_id, person_key, item_group, period,
departments, record_ids, n_records, amount``, then ``n_departments, item_ids, first_date,
last_date``) and, next to it, ``<FLAGS>_rejected.csv`` (the unreadable rows with
``source_row, reason_code, reason``), ``<FLAGS>_warnings.csv`` and ``<FLAGS>_summary.json``,
all CSVs through :mod:`data.safe_export`. ``person_key`` is a keyed hash
(:func:`data.idcard.id_hash_key`), never the ID-card number. Without ``--catalogue`` the
built-in catalogue is used (:func:`data.service_records.default_catalogue`). With
``--dataset NAME`` the reviews stored for that dataset (database of ``DATABASE_URL``, else the
default SQLite file) are applied: flags reviewed as legitimate with no new record are left
out (counted in the summary), the rest carry ``status`` (``open`` / ``reopened``) and
``new_record_keys``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from core.errors import CliError, TableReadError
from data.duplicates import DEFAULT_PERIOD, FLAG_COLUMNS, PERIODS, apply_reviews, flag_duplicates, open_flags
from data.idcard import id_hash_key
from data.safe_export import write_csv
from data.service_records import catalogue_from_frame, default_catalogue, import_service_records
from data.tables import read_table

#: the columns of FLAGS.csv (``record_keys`` stays internal)
FLAGS_CSV_COLUMNS = tuple(c for c in FLAG_COLUMNS if c != "record_keys")


def _read(path: str, what: str) -> Any:
    try:
        frame = read_table(path)
    except TableReadError as exc:
        msg = f"无法读取{what}：{exc}"
        raise CliError(msg) from exc
    if len(frame) == 0:
        msg = f"{Path(path).name} 只有表头，没有数据行 (no data rows)"
        raise CliError(msg)
    return frame


def run_duplicates(args: argparse.Namespace) -> int:
    """Read, validate, flag, write the four output files, print one summary line."""
    catalogue = catalogue_from_frame(_read(args.catalogue, "服务目录")) if args.catalogue else default_catalogue()
    raw = _read(args.records, "服务记录")
    households = _read(args.households, "救助对象表") if args.households else None
    result = import_service_records(raw, catalogue, key=id_hash_key(), households=households)
    flags = flag_duplicates(result.accepted, period=args.period)
    n_closed = 0
    if args.dataset:
        from data.duplicate_reviews import load_reviews
        from data.storage import Store

        with Store() as store:  # DATABASE_URL, else the default SQLite file
            flags = apply_reviews(flags, load_reviews(store, dataset=args.dataset))
        n_closed = int((flags["status"] == "reviewed").sum())
        flags = open_flags(flags)
    out = Path(args.out)
    stem = out.with_suffix("")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        columns = [*FLAGS_CSV_COLUMNS, *(["status", "new_record_keys"] if args.dataset else [])]
        write_csv(flags[columns], out)
        write_csv(result.rejected, Path(f"{stem}_rejected.csv"))
        write_csv(result.warnings, Path(f"{stem}_warnings.csv"))
        summary = {
            **result.summary,
            "input": Path(args.records).name,
            "input_sha256": hashlib.sha256(Path(args.records).read_bytes()).hexdigest(),
            "catalogue": Path(args.catalogue).name if args.catalogue else "built-in",
            "period": args.period,
            "flags": len(flags),
            "reviews_dataset": args.dataset,
            "reviewed_closed": n_closed,
            "flagged_records": int(flags["n_records"].sum()),
            "flagged_amount": float(flags["amount"].fillna(0).sum()),
        }
        Path(f"{stem}_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        msg = f"无法写入输出文件 {out}：{exc} (cannot write output)"
        raise CliError(msg) from exc
    s = result.summary
    reasons = "，".join(f"{k} {v}" for k, v in sorted(s["reasons"].items(), key=lambda kv: -kv[1]))
    print(
        f"读取 {s['read']} 条记录：接受 {s['accepted']} 条，拒绝 {s['rejected']} 条"
        + (f"（{reasons}）" if reasons else "")
        + f"；疑似重复救助 {len(flags)} 处（周期：{args.period}）"
        + (f"，另有 {n_closed} 处已复核为合理、未再列出" if n_closed else "")
        + f"；输出 {out}"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``duplicates`` on the sub-parsers of ``python -m data``."""
    p = sub.add_parser(
        "duplicates",
        help="多部门重复救助筛查 (flag duplicate provision across departments)",
        description="读取各部门的服务记录，找出同一对象在同一周期内从两个及以上部门获得同一类服务的情况。",
    )
    p.add_argument(
        "--records", required=True, help="服务记录 CSV / XLSX（记录编号、身份证号或户编号、服务项目、部门、日期、金额）"
    )
    p.add_argument("--catalogue", help="服务目录 CSV / XLSX（item_id、name、need_type、delivery，可选 group、aliases）")
    p.add_argument("--period", default=DEFAULT_PERIOD, choices=PERIODS, help="统计周期：month（默认）、quarter、year")
    p.add_argument(
        "--households", help="可选：救助对象导入结果 accepted.csv（beneficiary_id、id_hash），用于按户编号关联"
    )
    p.add_argument(
        "--out", required=True, help="输出的 FLAGS.csv；旁边另写 _rejected.csv、_warnings.csv、_summary.json"
    )
    p.add_argument(
        "--dataset",
        help="可选：数据集名称（如 user）；给出时读取数据库中已复核的疑点，已复核且无新记录的不再列出",
    )
    p.set_defaults(func=run_duplicates)
