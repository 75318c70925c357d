"""PDF coverage report (reportlab), Chinese text embedded with a CJK TrueType font.

District report: a title page (headline figures, district map, methods box), a table of
the towns, one section per town (map, figures, breakdowns by category, need type and
urgency, providers by service item, gap hexes, recommended sites), the village points
and communities table, and the notes (disclosure control, data, attribution). A town
report is its section plus its villages; a village report is one page of its own.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, Groups, records
from reports.labels import (
    LEVEL_NAME_ZH,
    MISSING_HUB,
    data_lines,
    fmt_count,
    fmt_pct,
    fmt_walk,
    methods_lines,
    privacy_lines,
)
from reports.matching import by_type_headers, scope_key, unmet_headers
from reports.model import Report, Scope
from reports.pdf_png import PngImage, png_data
from reports.xlsx import scope_frames

# Images as binary streams, not ASCII85 text: without reportlab's C accelerator (a separate
# package, not installed) ASCII85 runs in Python and took most of a PDF's time. Every PDF
# reader takes binary streams; the files are ~20% smaller too.
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
BODY_W = PAGE_W - 2 * MARGIN
GAP_ROWS = 15
GRID = colors.HexColor("#b0b0b0")
HEAD_BG = colors.HexColor("#dde6f0")
BOX_BG = colors.HexColor("#f4f6f8")


def register_font(path: Path) -> str:
    """Register the CJK font with reportlab (once per file) and return its name."""
    name = "CJK-" + hashlib.sha1(str(path).encode()).hexdigest()[:8]
    if name not in pdfmetrics.getRegisteredFontNames():
        kwargs: dict[str, Any] = {"subfontIndex": 0} if str(path).lower().endswith(".ttc") else {}
        pdfmetrics.registerFont(TTFont(name, str(path), **kwargs))
    return name


class _Styles:
    def __init__(self, font: str) -> None:
        self.font = font
        # CJK text has no spaces: reportlab wraps it only with wordWrap="CJK"
        self.title = ParagraphStyle(
            "title", fontName=font, wordWrap="CJK", fontSize=20, leading=26, alignment=TA_CENTER, spaceAfter=6
        )
        self.subtitle = ParagraphStyle(
            "subtitle",
            fontName=font,
            wordWrap="CJK",
            fontSize=10,
            leading=14,
            alignment=TA_CENTER,
            textColor=colors.HexColor("#444444"),
            spaceAfter=8,
        )
        self.h1 = ParagraphStyle(
            "h1", fontName=font, wordWrap="CJK", fontSize=15, leading=20, spaceBefore=4, spaceAfter=6
        )
        self.h2 = ParagraphStyle(
            "h2", fontName=font, wordWrap="CJK", fontSize=11.5, leading=15, spaceBefore=6, spaceAfter=3
        )
        self.body = ParagraphStyle("body", fontName=font, wordWrap="CJK", fontSize=9, leading=13)
        self.small = ParagraphStyle(
            "small", fontName=font, wordWrap="CJK", fontSize=7.5, leading=10.5, textColor=colors.HexColor("#333333")
        )
        self.cell = ParagraphStyle("cell", fontName=font, wordWrap="CJK", fontSize=7.5, leading=9.5)
        self.warn = ParagraphStyle(
            "warn", fontName=font, wordWrap="CJK", fontSize=9, leading=13, textColor=colors.HexColor("#b2182b")
        )


def _table(rows: list[list[Any]], widths: list[float] | None, font: str, *, head: int = 1, size: float = 7.5) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=head, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size + 2),
        ("GRID", (0, 0), (-1, -1), 0.3, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, head), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if head:
        style += [("BACKGROUND", (0, 0), (-1, head - 1), HEAD_BG), ("ALIGN", (0, 0), (-1, head - 1), "CENTER")]
    t.setStyle(TableStyle(style))
    return t


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (``<``, ``&`` in data and in "<10" are escaped, not markup)."""
    return Paragraph(escape(str(text)), style)


def _box(lines: list[tuple[str, str]], st: _Styles, title: str) -> Table:
    rows: list[list[Any]] = [[Paragraph(f"<b>{escape(title)}</b>", st.body), ""]]
    rows += [[_p(k, st.small), _p(v, st.small)] for k, v in lines]
    t = Table(rows, colWidths=[28 * mm, BODY_W - 28 * mm], hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (1, 0)),
                ("FONTNAME", (0, 0), (-1, -1), st.font),
                ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#555555")),
                ("BACKGROUND", (0, 0), (-1, -1), BOX_BG),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return t


def _cut(s: Any) -> tuple[float, float]:
    return float(s.cutoff_m), float(s.minutes)


def _figures(row: dict[str, Any], report: Report, st: _Styles) -> Table:
    """The headline figures of one area (two columns of label / value pairs)."""
    cm, cmin = _cut(report.tables.settings)
    pairs = [
        ("救助对象户数", fmt_count(row["n"])),
        ("10分钟圈内户数", fmt_count(row["inside"])),
        ("圈外户数", fmt_count(row["outside"])),
        ("圈内占比", fmt_pct(row["pct_inside"], bound=row.get("pct_inside_bound"))),
        ("步行距离 中位数 / P90（米）", f"{fmt_walk(row['walk_m_p50'], cm, 0)} / {fmt_walk(row['walk_m_p90'], cm, 0)}"),
        (
            "步行时间 中位数 / P90（分钟）",
            f"{fmt_walk(row['walk_min_p50'], cmin, 1)} / {fmt_walk(row['walk_min_p90'], cmin, 1)}",
        ),
        ("缺口六边形", fmt_count(row["n_gap_hexes"])),
        ("服务主体 / 月服务能力", f"{fmt_count(row['n_providers'])} / {fmt_count(row['capacity_month'])}"),
        ("推荐站点", fmt_count(row["n_sites"])),
    ]
    half = (len(pairs) + 1) // 2
    rows = []
    for k in range(half):
        left = pairs[k]
        right = pairs[k + half] if k + half < len(pairs) else ("", "")
        rows.append([left[0], left[1], right[0], right[1]])
    w = BODY_W / 4
    t = Table(rows, colWidths=[w * 1.25, w * 0.75, w * 1.25, w * 0.75], hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), st.font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.3, GRID),
                ("BACKGROUND", (0, 0), (0, -1), HEAD_BG),
                ("BACKGROUND", (2, 0), (2, -1), HEAD_BG),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("ALIGN", (3, 0), (3, -1), "RIGHT"),
            ]
        )
    )
    return t


def _breakdowns(row: dict[str, Any], groups: Groups, st: _Styles) -> list[Flowable]:
    cat = [["救助类别", "户数"]] + [[groups.label("cat", c), fmt_count(row[f"cat_{c}"])] for c in groups.categories]
    need = [["需求类型", "户数", "圈内", "圈外", "圈内占比"]]
    for k in groups.needs:
        need.append(
            [
                groups.label("need", k),
                fmt_count(row[f"need_{k}_n"]),
                fmt_count(row[f"need_{k}_in"]),
                fmt_count(row[f"need_{k}_out"]),
                fmt_pct(row[f"need_{k}_pct"]),
            ]
        )
    urg = [["紧急程度", "户数", "圈内", "圈外", "圈内占比"]]
    for u in groups.urgencies:
        urg.append(
            [
                groups.label("urg", u),
                fmt_count(row[f"urg_{u}_n"]),
                fmt_count(row[f"urg_{u}_in"]),
                fmt_count(row[f"urg_{u}_out"]),
                fmt_pct(row[f"urg_{u}_pct"]),
            ]
        )
    t_cat = _table(cat, [24 * mm, 14 * mm], st.font)
    t_need = _table(need, [22 * mm, 13 * mm, 13 * mm, 13 * mm, 15 * mm], st.font)
    t_urg = _table(urg, [26 * mm, 13 * mm, 13 * mm, 13 * mm, 15 * mm], st.font)
    side = Table([[t_cat, t_need]], colWidths=[42 * mm, BODY_W - 42 * mm], hAlign="LEFT")
    side.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), st.font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [side, Spacer(1, 3 * mm), t_urg]


def _items(items: pd.DataFrame, st: _Styles) -> Flowable:
    if items.empty:
        return Paragraph("本范围内没有登记的服务主体。", st.body)
    rows = [["服务项目", "需求类型", "主体数", "月服务能力（人次）"]]
    rows += [
        [r["service_zh"], r["need_zh"], fmt_count(r["n_providers"]), fmt_count(r["capacity_month"])]
        for r in items.to_dict("records")
    ]
    return _table(rows, [40 * mm, 20 * mm, 16 * mm, 30 * mm], st.font)


def _gaps(gaps: pd.DataFrame, row: dict[str, Any], report: Report, st: _Styles) -> list[Flowable]:
    if row.get("n_gap_hexes") is None:
        return [Paragraph("圈外户数已隐藏，不列出缺口六边形。", st.body)]
    if gaps.empty:
        return [Paragraph("没有缺口六边形：全部救助对象都在10分钟圈内。", st.body)]
    head = [["H3 六边形", "所属镇街", "户数", "圈内", "圈外", "圈内占比"]]
    body = [
        [
            r["h3"],
            r["town_name"],
            fmt_count(r["n"]),
            fmt_count(r["inside"]),
            fmt_count(r["outside"]),
            fmt_pct(r["pct_inside"], bound=r.get("pct_inside_bound")),
        ]
        for r in gaps.head(GAP_ROWS).to_dict("records")
    ]
    out: list[Flowable] = [_table(head + body, [34 * mm, 24 * mm, 14 * mm, 14 * mm, 14 * mm, 16 * mm], st.font)]
    if len(gaps) > GAP_ROWS:
        out.append(
            Paragraph(f"按圈外户数列出前 {GAP_ROWS} 个，共 {len(gaps)} 个（完整名单见 Excel 与 GIS 图层）。", st.small)
        )
    return out


def _sites(sites: pd.DataFrame, report: Report, st: _Styles) -> Flowable:
    name = report.tables.scenario_name
    if not name:
        return Paragraph("未选择推荐站点方案。", st.body)
    if sites.empty:
        return _p(f"方案“{name}”在本范围内没有推荐站点。", st.body)
    gain = "new_covered" in sites.columns
    rows = [["序号", "站点", "层级", "所在镇街", "最近社区"] + (["新增覆盖户数"] if gain else [])]
    for r in sites.to_dict("records"):
        rows.append(
            [str(r.get("rank", "")), str(r["name"]), str(r["tier_zh"]), str(r["town_name"]), str(r["community_name"])]
            + ([fmt_count(r["new_covered"])] if gain else [])
        )
    return _table(rows, None, st.font)


def _villages(villages: pd.DataFrame, report: Report, st: _Styles, *, with_town: bool) -> Flowable:
    cm, _ = _cut(report.tables.settings)
    head = (["镇街"] if with_town else []) + [
        "社区/村",
        "村(社区)服务点",
        "户数",
        "圈内",
        "圈外",
        "圈内占比",
        "距离中位数(米)",
    ]
    rows = [head]
    for r in villages.to_dict("records"):
        hub = str(r["hub_id"]) if r.get("has_hub") else MISSING_HUB
        rows.append(
            ([str(r["town_name"])] if with_town else [])
            + [
                str(r["name"]),
                hub,
                fmt_count(r["n"]),
                fmt_count(r["inside"]),
                fmt_count(r["outside"]),
                fmt_pct(r["pct_inside"], bound=r.get("pct_inside_bound")),
                fmt_walk(r["walk_m_p50"], cm, 0),
            ]
        )
    widths = ([20 * mm] if with_town else []) + [30 * mm, 34 * mm, 14 * mm, 14 * mm, 14 * mm, 16 * mm, 22 * mm]
    return _table(rows, widths, st.font, size=7)


def _towns_table(towns: pd.DataFrame, report: Report, st: _Styles) -> Flowable:
    cm, _ = _cut(report.tables.settings)
    rows = [
        [
            "镇街",
            "户数",
            "圈内",
            "圈外",
            "圈内占比",
            "距离中位数(米)",
            "距离P90(米)",
            "缺口六边形",
            "服务主体",
            "推荐站点",
        ]
    ]
    for r in towns.to_dict("records"):
        rows.append(
            [
                str(r["name"]),
                fmt_count(r["n"]),
                fmt_count(r["inside"]),
                fmt_count(r["outside"]),
                fmt_pct(r["pct_inside"], bound=r.get("pct_inside_bound")),
                fmt_walk(r["walk_m_p50"], cm, 0),
                fmt_walk(r["walk_m_p90"], cm, 0),
                fmt_count(r["n_gap_hexes"]),
                fmt_count(r["n_providers"]),
                fmt_count(r["n_sites"]),
            ]
        )
    return _table(
        rows, [24 * mm, 15 * mm, 15 * mm, 15 * mm, 16 * mm, 22 * mm, 20 * mm, 18 * mm, 15 * mm, 15 * mm], st.font
    )


def _map(report: Report, scope: Scope, height_mm: float) -> Flowable:
    png = report.map_png(scope)
    data = png_data(png)
    # the PNG's pixel data copied as it is (reports.pdf_png), else reportlab's own image
    img = PngImage(data) if data is not None else Image(io.BytesIO(png))
    ratio = img.imageWidth / img.imageHeight
    w = min(BODY_W, height_mm * mm * ratio)
    img.drawWidth, img.drawHeight = w, w / ratio
    return img


def _area_section(
    report: Report, scope: Scope, row: dict[str, Any], frames: dict[str, pd.DataFrame], st: _Styles, *, map_mm: float
) -> list[Flowable]:
    """Map, figures, breakdowns, providers, gaps and sites of one area."""
    t = report.tables
    out: list[Flowable] = [_map(report, scope, map_mm), Spacer(1, 2 * mm), _figures(row, report, st)]
    out += [Paragraph("按救助类别、需求类型与紧急程度", st.h2), *_breakdowns(row, t.groups, st)]
    items = frames["服务项目供给"]
    level = scope.level
    own = items[(items["level"] == level) & (items["area_id"].astype(str) == scope.area_id)]
    out += [CondPageBreak(40 * mm), Paragraph("服务主体（按服务项目）", st.h2), _items(own, st)]
    out.append(Paragraph("同一主体提供多项服务时计入每一项，各项能力不可相加。", st.small))
    gaps = frames["缺口六边形"]
    out += [CondPageBreak(40 * mm), Paragraph("缺口六边形（有圈外救助对象）", st.h2), *_gaps(gaps, row, report, st)]
    sites = frames["推荐站点"]
    out += [CondPageBreak(30 * mm), Paragraph("推荐站点", st.h2), _sites(sites, report, st)]
    return out


def _footer(report: Report, scope: Scope, font: str) -> Any:
    info = report.tables.info
    label = info.label_zh

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, 9 * mm, f"{scope.name} 10分钟救助服务圈覆盖报告 · {info.month} · {label}")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"第 {doc.page} 页")
        canvas.setFont(font, 6)
        canvas.drawString(MARGIN, 5.5 * mm, info.attribution)
        canvas.restoreState()

    return draw


def _matching(report: Report, scope: Scope, st: _Styles) -> list[Flowable]:
    """The matching section of a district or town report (protected tables of :mod:`reports.matching`)."""
    key = scope_key(scope.level, scope.area_id)
    if report.matching is None or key is None or key not in report.matching.by_type:
        return []
    by_type = report.matching.by_type[key]
    heads = by_type_headers()
    rows = [list(heads.values()), *by_type[list(heads)].to_numpy().tolist()]
    unmet = report.matching.unmet[key]
    uheads = unmet_headers(unmet)
    urows = [[_p(h, st.small) for h in uheads.values()], *unmet[list(uheads)].to_numpy().tolist()]
    n = len(uheads) - 1
    return [
        CondPageBreak(60 * mm),
        Paragraph("供需匹配", st.h1),
        _p(
            "每项需求至多匹配一个提供该服务项目的主体，在步行可达与月服务能力内，按生存型、关爱型、发展型及紧急程度优先；"
            "小于10的数显示为“<10”，可由合计推算的数一并隐藏。",
            st.small,
        ),
        Paragraph("按需求类型的匹配率", st.h2),
        _table(rows, [30 * mm, 22 * mm, 22 * mm, 22 * mm, 22 * mm], st.font),
        Spacer(1, 3 * mm),
        Paragraph("未匹配需求：按服务项目与原因", st.h2),
        _table(urows, [34 * mm, *([(140 / n) * mm] * n)], st.font),
    ]


def _sections(report: Report, scope: Scope, st: _Styles) -> list[Flowable]:
    """The extra sections (服务能力, 重复救助 ...: :class:`reports.model.ReportSection`), rows as printed."""
    out: list[Flowable] = []
    for section in report.sections:
        frame = section.rows_for(scope)
        cols = list(section.headers)
        out += [CondPageBreak(50 * mm), _p(section.sheet, st.h1)]
        if section.note:
            out.append(_p(section.note, st.small))
        if frame.empty:
            out.append(_p("本范围内没有可列出的行。", st.body))
            continue
        head = [_p(section.headers[c], st.cell) for c in cols]
        body = [[_p(_section_cell(v), st.cell) for v in row] for row in frame.reindex(columns=cols).to_numpy().tolist()]
        first = 0.24 if len(cols) > 6 else 0.3
        rest = (1.0 - first) / max(len(cols) - 1, 1)
        out.append(_table([head, *body], [BODY_W * first] + [BODY_W * rest] * (len(cols) - 1), st.font, size=7))
    return out


def _section_cell(value: Any) -> str:
    """A section's cell as printed (numbers grouped; amounts with two decimals; missing as "—")."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if not value.is_integer() else f"{value:,.0f}"
    return str(value)


def build_story(report: Report, scope: Scope, st: _Styles) -> list[Flowable]:
    """The flowables of a scope's report."""
    pub = report.published
    t = pub.tables
    s = t.settings
    frames = scope_frames(report, scope)
    story: list[Flowable] = []
    title = f"{scope.name} 10分钟救助服务圈覆盖报告（{t.info.month}）"
    sub = (
        f"报告月份 {t.info.month} · {LEVEL_NAME_ZH[scope.level]}报告 · "
        f"{s.minutes:g}分钟 × {s.speed_kmh:g} km/h（{s.cutoff_m:.0f} 米）· "
        f"H3 分辨率 {s.h3_res} · {t.info.generated}"
    )
    story += [_p(title, st.title), _p(sub, st.subtitle), _p(t.info.label_zh, st.warn)]
    if t.info.is_fallback:
        story.append(Paragraph("注意：本报告使用的不是西湖区数据（备用演示数据）。", st.warn))
    if scope.level == LEVEL_DISTRICT:
        row = records(frames["区级汇总"].iloc[0:1])[0]
        story += [_map(report, scope, 118), Spacer(1, 2 * mm), _figures(row, report, st), Spacer(1, 3 * mm)]
        story += [_box(methods_lines(pub), st, "方法")]
        story += [PageBreak(), Paragraph("各镇街", st.h1), _towns_table(frames["镇街"], report, st)]
        story += [Spacer(1, 3 * mm), Paragraph("全区", st.h2), *_breakdowns(row, t.groups, st)]
        story += [CondPageBreak(40 * mm), Paragraph("推荐站点", st.h2), _sites(frames["推荐站点"], report, st)]
        for town in report.scopes(LEVEL_TOWN):
            towns = frames["镇街"]
            trow = records(towns[towns["area_id"].astype(str) == town.area_id])[0]
            tframes = scope_frames(report, town)
            story += [PageBreak(), _p(town.name, st.h1)]
            story += _area_section(report, town, trow, tframes, st, map_mm=105)
        story += [PageBreak(), Paragraph("村(社区)服务点与社区", st.h1)]
        story.append(Paragraph("每个社区（村）一行；“无服务点（缺口）”为尚未设村(社区)服务点的社区。", st.small))
        story.append(_villages(frames["村社服务点"], report, st, with_town=True))
    elif scope.level == LEVEL_TOWN:
        row = records(frames["镇街"].iloc[0:1])[0]
        story += _area_section(report, scope, row, frames, st, map_mm=112)
        story += [PageBreak(), Paragraph("村(社区)服务点与社区", st.h1)]
        story.append(_villages(frames["村社服务点"], report, st, with_town=False))
        story += [Spacer(1, 4 * mm), _box(methods_lines(pub), st, "方法")]
    else:
        row = records(frames["村社服务点"].iloc[0:1])[0]
        hub = f"服务点：{row['hub_name']}（{row['hub_id']}）· 所属镇街：{row['town_name']}"
        story.append(_p(hub, st.body))
        story += _area_section(report, scope, row, frames, st, map_mm=92)
        story += [Spacer(1, 4 * mm), _box(methods_lines(pub), st, "方法")]
    story += _matching(report, scope, st)
    story += _sections(report, scope, st)
    story += [CondPageBreak(70 * mm), Spacer(1, 4 * mm), KeepTogether([_box(privacy_lines(pub), st, "隐私保护")])]
    story += [Spacer(1, 3 * mm), KeepTogether([_box(data_lines(pub), st, "数据与署名")])]
    return story


def write_pdf(report: Report, scope: Scope, path: Path) -> Path:
    """Write the PDF of one scope; returns its path."""
    font = register_font(report.font)
    st = _Styles(font)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        initialFontName=font,  # else the canvas starts in Helvetica, a font the PDF does not embed
        initialFontSize=9,
        title=f"{scope.name} 10分钟救助服务圈覆盖报告（{report.tables.info.month}）",
        author="西湖区社会救助服务联合体",
        subject=f"报告月份 {report.tables.info.month} · {report.tables.info.label_zh}",
    )
    footer = _footer(report, scope, font)
    doc.build(build_story(report, scope, st), onFirstPage=footer, onLaterPages=footer)
    return path


__all__ = ["build_story", "register_font", "write_pdf"]
