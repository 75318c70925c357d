"""Report sections of #13 (XLSX sheets 服务能力 and 重复救助), protected, per report scope.

A scope is a report's district, town or village point (:class:`reports.model.Scope`). Rows
are already as printed: counts of households or records go through
:func:`geo.disclosure.count_alone` (each row stands alone; no total of them is printed), and
an amount of yuan prints only beside a count that prints (else ``"—"``), so a small group's
money does not single it out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from core.i18n import t
from data.duplicates import open_flags
from geo.disclosure import HIDDEN_MARK, count_alone, primary_mask
from reports.content import LEVEL_TOWN, LEVEL_VILLAGE
from reports.model import ReportSection, Scope
from service.capacity import FORMULA_ZH, CapacityView
from service.duplicates import flags_with_households, overlap_table

CAPACITY_HEADERS = {
    "area": "镇街 / 服务主体",
    "department": "部门/类型",
    "n_providers": "主体数",
    "capacity_per_month": "月供给能力",
    "assigned": "已匹配需求",
    "utilisation": "利用率",
    "unmet_in_reach": "可承接的未满足需求",
    "sole_items": "独家项目数",
    "months_active": "活跃月数",
    "sustainability": "可持续性指数",
}
DUPLICATE_HEADERS = {
    "department": "部门",
    "item_group": "项目组",
    "n_flags": "疑点数",
    "n_records": "记录数",
    "amount": "金额（元）",
}


def _town_of(scope: Scope) -> str | None:
    if scope.level == LEVEL_TOWN:
        return scope.area_id
    if scope.level == LEVEL_VILLAGE:
        return scope.area_id[:9]  # a 12-digit village code starts with its town's
    return None


def capacity_rows(view: CapacityView, scope: Scope, town_names: Mapping[str, str]) -> pd.DataFrame:
    """District: one row per town; town or village point: one row per provider of its town."""
    town = _town_of(scope)
    if town is None:
        frame = view.towns.assign(area=view.towns["town_code"].map(lambda c: town_names.get(str(c), str(c))))
        frame["department"], frame["months_active"] = "—", "—"
    else:
        frame = view.providers.loc[view.providers["town_code"].astype(str) == town].copy()
        frame["area"], frame["n_providers"] = frame["name"], 1
        frame["months_active"] = [
            str(int(m)) if known else t("unknown")
            for m, known in zip(frame["months_active"], frame["activity_known"], strict=True)
        ]
    out = frame.copy()
    for col in ("assigned", "unmet_in_reach"):
        out[col] = [count_alone(int(v)) for v in out[col]]
    out["utilisation"] = [f"{100 * u:.1f}%" if pd.notna(u) else HIDDEN_MARK for u in out["utilisation"]]
    out["sustainability"] = [f"{s:.1f}" if pd.notna(s) else HIDDEN_MARK for s in out["sustainability"]]
    return out.reindex(columns=list(CAPACITY_HEADERS)).reset_index(drop=True)


def duplicate_rows(flags: pd.DataFrame, records: pd.DataFrame, households: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Open flags of the scope's area, department × item group: flags, records, amount (protected)."""
    joined = flags_with_households(open_flags(flags) if "status" in flags.columns else flags, households)
    town = _town_of(scope)
    if town is not None:
        joined = joined.loc[joined["town_code"].astype(str) == town]
    if scope.level == LEVEL_VILLAGE:
        joined = joined.loc[joined["community_code"].astype(str) == scope.area_id]
    table = overlap_table(joined, records)
    small = primary_mask(table["n_flags"].to_numpy()) | primary_mask(table["n_records"].to_numpy())
    out = table.astype(object)
    out["n_flags"] = [count_alone(int(v)) for v in table["n_flags"]]
    out["n_records"] = [count_alone(int(v)) for v in table["n_records"]]
    out["amount"] = [
        HIDDEN_MARK if hide else round(float(a), 2) for a, hide in zip(table["amount"], small, strict=True)
    ]
    total = float(joined["amount"].sum()) if len(joined) else 0.0
    shown_total: object = round(total, 2) if len(joined) >= 10 or len(joined) == 0 else HIDDEN_MARK
    total_row = {"department": "合计", "item_group": "—", "n_flags": count_alone(len(joined)), "n_records": "—",
                 "amount": shown_total}  # fmt: skip
    return pd.concat([out, pd.DataFrame([total_row])], ignore_index=True)


def capacity_section(view: CapacityView, town_names: Mapping[str, str]) -> ReportSection:
    return ReportSection(
        sheet=t("rep_capacity"),
        headers=CAPACITY_HEADERS,
        rows_for=lambda scope: capacity_rows(view, scope, town_names),
        note=FORMULA_ZH,
    )


def duplicates_section(flags: pd.DataFrame, records: pd.DataFrame, households: pd.DataFrame) -> ReportSection:
    return ReportSection(
        sheet=t("rep_duplicates"),
        headers=DUPLICATE_HEADERS,
        rows_for=lambda scope: duplicate_rows(flags, records, households, scope),
        note=(
            "重复救助：同一户同一周期（月）同一项目组由两个及以上部门提供；只计未复核的疑点；"
            "1–9 记为“<10”，其金额不列出。"
        ),
    )
