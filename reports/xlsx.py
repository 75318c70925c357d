"""Excel workbook of a coverage report (openpyxl).

Sheets: 区级汇总 (district scope only), 镇街, 村社服务点, 缺口六边形, 服务主体, 服务项目供给,
推荐站点, 说明. Headers are Chinese and frozen; counts, percentages and distances are
numbers; ids and codes are text (format ``@``); a hidden count is the text ``"<10"`` or
``"≥10"``, a hidden percentage or percentile the text ``"—"``, a percentile beyond the
cutoff the text ``">750"``. Column widths follow the content.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from data.safe_export import neutralise_cell
from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE, UNKNOWN_TOWN, records
from reports.labels import (
    HEX_HEADERS,
    HIDDEN,
    ID_COLUMNS,
    ITEM_HEADERS,
    LEVEL_NAME_ZH,
    PROVIDER_HEADERS,
    SITE_HEADERS,
    data_lines,
    hub_status,
    kind_zh,
    level_columns,
    methods_lines,
    privacy_lines,
)
from reports.matching import SHEET_BY_TYPE, SHEET_UNMET, by_type_headers, scope_key, unmet_headers
from reports.model import Report, Scope, scope_hexes, scope_mask

SHEET_LEVEL = {LEVEL_DISTRICT: "区级汇总", LEVEL_TOWN: "镇街", LEVEL_VILLAGE: "村社服务点"}
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
HEADER_FONT = Font(bold=True)
#: number formats by column kind
FMT_COUNT = "#,##0"
FMT_PCT = "0.0"
FMT_M = "0"
FMT_MIN = "0.0"
FMT_DEG = "0.000000"


def _text_width(value: Any) -> int:
    """Display width of a cell's text (East Asian wide characters count 2)."""
    s = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _kind(col: str) -> str:
    if col in ID_COLUMNS:
        return "id"
    if col.endswith("_pct") or col in ("pct_inside", "pct_outside"):
        return "pct"
    if col.startswith("walk_m_"):
        return "walk_m"
    if col.startswith("walk_min_"):
        return "walk_min"
    if col in ("lon", "lat"):
        return "deg"
    return "value"


def _cell_value(value: Any, kind: str, cutoff: tuple[float, float]) -> tuple[Any, str | None]:
    """The value to store and its number format."""
    if kind == "id":
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).startswith(UNKNOWN_TOWN):
            return "", "@"  # no code for the rows of households of no known town ("未知镇街", "未匹配社区")
        return str(value), "@"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return HIDDEN, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return ("是" if value else "否"), None
    if kind == "pct":
        return round(float(value), 1), FMT_PCT
    if kind in ("walk_m", "walk_min"):
        v = float(value)
        if math.isinf(v):
            return f">{cutoff[0] if kind == 'walk_m' else cutoff[1]:g}", None
        return (round(v, 1), FMT_M) if kind == "walk_m" else (round(v, 2), FMT_MIN)
    if kind == "deg":
        return float(value), FMT_DEG
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value), FMT_COUNT
    return value, None


_RIGHT = Alignment(horizontal="right")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
_TOP = Alignment(vertical="top")
_TOP_WRAP = Alignment(wrap_text=True, vertical="top")


def _cell(ws: Worksheet, value: Any) -> WriteOnlyCell:
    """A streamed cell that can never hold a formula (text guarded as :func:`data.safe_export.write_cell` does)."""
    safe = neutralise_cell(value)
    cell = WriteOnlyCell(ws, value=safe)
    if isinstance(safe, str):
        cell.data_type = "s"
    return cell


def write_sheet(
    ws: Worksheet, frame: pd.DataFrame, headers: dict[str, str], *, cutoff: tuple[float, float], freeze: str = "A2"
) -> None:
    """Write ``frame``'s ``headers`` columns with Chinese headers, typed cells, frozen header, fitted widths.

    ``ws`` is a sheet of a write-only workbook (rows are streamed: widths are fitted first).
    """
    cols = list(headers)
    widths = [min(_text_width(headers[c]), 18) for c in cols]
    head = []
    for c in cols:
        cell = _cell(ws, headers[c])
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, _HEAD_ALIGN
        head.append(cell)
    kinds = [_kind(c) for c in cols]
    rows = []
    for rec in frame.to_dict("records"):
        row = []
        for j, (c, kind) in enumerate(zip(cols, kinds, strict=True)):
            raw = rec.get(c)
            hidden = raw is None or (isinstance(raw, float) and math.isnan(raw))
            if c == "pct_inside" and hidden and isinstance(rec.get("pct_inside_bound"), str):
                raw = rec["pct_inside_bound"].rstrip("%")  # what the printed counts imply: "≥85"
            value, fmt = _cell_value(raw, kind, cutoff)
            cell = _cell(ws, value)
            if fmt is not None:
                cell.number_format = fmt
            if isinstance(value, str) and kind != "id" and (value == HIDDEN or value[:1] in ("<", "≥", ">")):
                cell.alignment = _RIGHT
            widths[j] = max(widths[j], _text_width(value if fmt != FMT_COUNT else f"{value:,}"))
            row.append(cell)
        rows.append(row)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(6, min(w + 2, 48))
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = freeze
    ws.append(head)
    for row in rows:
        ws.append(row)


def _notes(ws: Worksheet, report: Report, scope: Scope, extra: list[tuple[str, str]]) -> None:
    pub = report.published
    rows: list[tuple[str, str]] = [
        ("报告", f"{scope.name} 10分钟救助服务圈覆盖报告（{LEVEL_NAME_ZH[scope.level]}，{pub.tables.info.month}）"),
        *data_lines(pub),
        *methods_lines(pub),
        *privacy_lines(pub),
        (
            "各表说明",
            "区级汇总/镇街/村社服务点：各级区域的户数、圈内外、步行距离、按类别、需求类型与紧急度的分组；"
            "缺口六边形：有圈外救助对象的H3六边形；服务主体：本范围内的服务主体；服务项目供给：按服务项目统计的主体数与"
            "月服务能力（同一主体提供多项服务时计入每一项，各项不可相加）；推荐站点：所选方案的推荐站点。",
        ),
        *extra,
    ]
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 110
    ws.freeze_panes = "A2"
    head = [_cell(ws, "项目"), _cell(ws, "内容")]
    for cell in head:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    ws.append(head)
    for k, v in rows:
        a, b = _cell(ws, k), _cell(ws, v)
        a.alignment, b.alignment = _TOP, _TOP_WRAP
        ws.append([a, b])


def scope_frames(report: Report, scope: Scope) -> dict[str, pd.DataFrame]:
    """The printed tables of a scope, keyed by sheet name (shared with the PDF writer)."""
    key = ("frames", scope)
    if key not in report.memo:
        report.memo[key] = _scope_frames(report, scope)
    return {k: v.copy() for k, v in report.memo[key].items()}


def _level_rows(report: Report, level: str) -> pd.DataFrame:
    """The printed area rows of a level with their ``hub_status`` (computed once; a copy)."""
    key = ("level_rows", level)
    if key not in report.memo:
        d = report.published.area_display(level)
        d["hub_status"] = [hub_status(r) for r in records(d)]
        report.memo[key] = d
    return report.memo[key].copy()  # type: ignore[no-any-return]


def _area_names(report: Report) -> dict[tuple[str, str], str]:
    """(level, area id) -> area name, computed once."""
    if "area_names" not in report.memo:
        a = report.published.tables.areas
        report.memo["area_names"] = {
            (lv, ai): n for lv, ai, n in zip(a["level"], a["area_id"].astype(str), a["name"], strict=True)
        }
    return report.memo["area_names"]  # type: ignore[no-any-return]


def _scope_frames(report: Report, scope: Scope) -> dict[str, pd.DataFrame]:
    pub = report.published
    t = pub.tables
    out: dict[str, pd.DataFrame] = {}
    levels = {
        LEVEL_DISTRICT: (LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE),
        LEVEL_TOWN: (LEVEL_TOWN, LEVEL_VILLAGE),
        LEVEL_VILLAGE: (LEVEL_VILLAGE,),
    }[scope.level]
    for level in levels:
        d = _level_rows(report, level)
        if scope.level == LEVEL_TOWN:
            d = d[d["town_code"].astype(str) == scope.area_id]
        elif scope.level == LEVEL_VILLAGE:
            d = d[d["area_id"].astype(str) == scope.area_id]
        out[SHEET_LEVEL[level]] = d.reset_index(drop=True)
    _, gaps = scope_hexes(report, scope)
    out["缺口六边形"] = gaps
    prov = t.providers[scope_mask(report, scope, t.providers, town_col="town_code", community_col="community_code")]
    prov = prov.copy()
    prov["kind_zh"] = prov["kind"].map(kind_zh)
    names = t.town_names()
    com_names = t.village_names()
    prov["town_name"] = prov["town_code"].map(names).fillna("区外")
    prov["community_name"] = prov["community_code"].map(com_names).fillna("—")
    out["服务主体"] = prov.sort_values("provider_id").reset_index(drop=True)
    items = t.provider_items
    if scope.level == LEVEL_DISTRICT:
        sel = items["level"].isin([LEVEL_DISTRICT, LEVEL_TOWN])
    elif scope.level == LEVEL_TOWN:
        kids = set(t.level(LEVEL_VILLAGE).query("town_code == @scope.area_id")["area_id"].astype(str))
        sel = ((items["level"] == LEVEL_TOWN) & (items["area_id"] == scope.area_id)) | (
            (items["level"] == LEVEL_VILLAGE) & items["area_id"].isin(kids)
        )
    else:
        sel = (items["level"] == LEVEL_VILLAGE) & (items["area_id"] == scope.area_id)
    it = items[sel].copy()
    area_names = _area_names(report)
    it["area_name"] = [area_names.get((lv, str(a)), str(a)) for lv, a in zip(it["level"], it["area_id"], strict=True)]
    it["level_zh"] = it["level"].map(LEVEL_NAME_ZH)
    it["need_zh"] = it["need_type"].map(lambda k: t.groups.label("need", str(k)))
    out["服务项目供给"] = it.reset_index(drop=True)
    sites = pub.sites_display()
    if len(sites):
        sites = sites[scope_mask(report, scope, t.sites, town_col="town_code", community_col="community_code")].copy()
        sites["tier_zh"] = (
            sites["tier"].map({"district": "区级", "town": "镇街", "village": "村(社区)"}).fillna(sites["tier"])
        )
        sites["town_name"] = sites["town_code"].map(names).fillna("区外")
        sites["community_name"] = sites["community_code"].map(com_names).fillna("—")
    out["推荐站点"] = sites.reset_index(drop=True)
    return out


def _matching_sheets(wb: Workbook, report: Report, scope: Scope, cutoff: tuple[float, float]) -> None:
    """The matching section (district and town scopes): two protected sheets, see :mod:`reports.matching`."""
    key = scope_key(scope.level, scope.area_id)
    if report.matching is None or key is None or key not in report.matching.by_type:
        return
    by_type = report.matching.by_type[key]
    write_sheet(wb.create_sheet(SHEET_BY_TYPE), by_type, by_type_headers(), cutoff=cutoff, freeze="B2")
    unmet = report.matching.unmet[key]
    write_sheet(wb.create_sheet(SHEET_UNMET), unmet, unmet_headers(unmet), cutoff=cutoff, freeze="B2")


def write_xlsx(report: Report, scope: Scope, path: Path) -> Path:
    """Write the workbook of one scope; returns its path."""
    pub = report.published
    t = pub.tables
    s = t.settings
    cutoff = (s.cutoff_m, s.minutes)
    frames = scope_frames(report, scope)
    wb = Workbook(write_only=True)  # rows streamed: a few times faster than cell by cell
    for level in (LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE):
        name = SHEET_LEVEL[level]
        if name not in frames:
            continue
        write_sheet(wb.create_sheet(name), frames[name], level_columns(level, t.groups), cutoff=cutoff, freeze="C2")
    gap_headers = dict(HEX_HEADERS)
    write_sheet(wb.create_sheet("缺口六边形"), frames["缺口六边形"], gap_headers, cutoff=cutoff, freeze="B2")
    write_sheet(wb.create_sheet("服务主体"), frames["服务主体"], PROVIDER_HEADERS, cutoff=cutoff, freeze="C2")
    write_sheet(wb.create_sheet("服务项目供给"), frames["服务项目供给"], ITEM_HEADERS, cutoff=cutoff, freeze="A2")
    site_headers = {k: v for k, v in SITE_HEADERS.items() if k != "new_covered" or "new_covered" in t.sites.columns}
    write_sheet(wb.create_sheet("推荐站点"), frames["推荐站点"], site_headers, cutoff=cutoff, freeze="A2")
    _matching_sheets(wb, report, scope, cutoff)
    for section in report.sections:
        write_sheet(wb.create_sheet(section.sheet), section.rows_for(scope), section.headers, cutoff=cutoff)
    _notes(wb.create_sheet("说明"), report, scope, [(x.sheet, x.note) for x in report.sections if x.note])
    wb.properties.title = f"{scope.name} 10分钟救助服务圈覆盖报告 {t.info.month}"
    wb.properties.subject = f"报告月份 {t.info.month}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


__all__ = ["scope_frames", "write_sheet", "write_xlsx"]
