"""The Excel report opened with openpyxl: its figures equal the engine's, headers Chinese, ids text."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook

from reports.content import LEVEL_TOWN, LEVEL_VILLAGE, censored_quantile
from reports.model import Report, Scope
from reports.xlsx import write_xlsx
from tests.reports import xihu_report

pytestmark = pytest.mark.xihu
CJK = re.compile(r"[\u4e00-\u9fff]")
LEVEL_SHEETS = ["区级汇总", "镇街", "村社服务点"]
OTHER_SHEETS = ["缺口六边形", "服务主体", "服务项目供给", "推荐站点", "说明"]
#: the matching section (district and town workbooks only), before 说明
MATCHING_SHEETS = ["匹配-需求类型", "匹配-未匹配原因"]


@pytest.fixture(scope="module")
def report(xihu_dir: Path) -> Report:
    return xihu_report()


@pytest.fixture(scope="module")
def books(report: Report, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Workbook]:
    out = tmp_path_factory.mktemp("xlsx")
    district = report.scopes("district")[0]
    town = next(s for s in report.scopes(LEVEL_TOWN) if s.area_id == "330106013")
    village = report.scopes(LEVEL_VILLAGE)[0]
    paths = {
        "district": write_xlsx(report, district, out / "d.xlsx"),
        "town": write_xlsx(report, town, out / "t.xlsx"),
        "village": write_xlsx(report, village, out / "v.xlsx"),
    }
    return {k: openpyxl.load_workbook(p) for k, p in paths.items()}


def rows(ws: Any) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]


def check_count(printed: Any, true: int) -> None:
    """A printed count is the true one, or a marker that tells the truth about it."""
    if printed == "<10":
        assert 0 <= true <= 9
    elif printed == "≥10":
        assert true >= 10
    else:
        assert isinstance(printed, int) and printed == true


def test_sheets_headers_frozen_and_widths(books: dict[str, Workbook]) -> None:
    wb = books["district"]
    assert wb.sheetnames == LEVEL_SHEETS + OTHER_SHEETS[:-1] + MATCHING_SHEETS + OTHER_SHEETS[-1:]
    for ws in wb:
        header = [c.value for c in ws[1]]
        assert header and all(isinstance(h, str) and CJK.search(h) for h in header), ws.title
        assert ws.freeze_panes in ("A2", "B2", "C2"), ws.title
    assert wb["镇街"].freeze_panes == "C2" and wb["村社服务点"].freeze_panes == "C2"
    # widths follow the content: the name column is wide enough for the longest hub name
    ws = wb["镇街"]
    names = [r["服务点名称"] for r in rows(ws)]
    longest = max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in n) for n in names)
    col = [c.value for c in ws[1]].index("服务点名称")
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(col + 1)].width >= longest


def test_ids_are_text_and_numbers_are_numbers(books: dict[str, Workbook]) -> None:
    wb = books["district"]
    ws = wb["村社服务点"]
    header = [c.value for c in ws[1]]
    code = header.index("区域编码") + 1
    n = header.index("救助对象户数") + 1
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(row=r, column=code)
        assert isinstance(cell.value, str) and cell.value.isdigit() and cell.number_format == "@"
        assert isinstance(ws.cell(row=r, column=n).value, int | str)
    hx = wb["缺口六边形"]
    assert all(isinstance(c.value, str) and c.number_format == "@" for c in next(hx.iter_cols(min_row=2, max_col=1)))
    d = rows(wb["区级汇总"])[0]
    assert isinstance(d["救助对象户数"], int) and isinstance(d["圈内占比(%)"], float)
    assert d["步行距离P90(米)"] == ">750"  # beyond the cutoff: text, said so in the notes


def test_figures_equal_the_engine(books: dict[str, Workbook], report: Report) -> None:
    pts = report.tables.run.points
    d = rows(books["district"]["区级汇总"])[0]
    assert d["救助对象户数"] == len(pts)
    assert d["10分钟圈内户数"] == int(pts["covered"].sum())
    assert d["圈外户数"] == int((~pts["covered"]).sum())
    assert d["圈内占比(%)"] == round(100.0 * pts["covered"].mean(), 1)
    med = censored_quantile(pts.loc[pts["covered"], "walk_m"], int((~pts["covered"]).sum()), 0.5)
    assert d["步行距离中位数(米)"] == round(med, 1)
    assert d["低保(户)"] == int((pts["category"] == "dibao").sum())
    assert d["生存型·圈外"] == int(((pts["need_type"] == "survival") & ~pts["covered"]).sum())
    towns = rows(books["district"]["镇街"])
    assert len(towns) == 12
    g = pts.groupby("town_code")
    printed_pct = 0
    for t in towns:
        sub = g.get_group(t["区域编码"])
        check_count(t["救助对象户数"], len(sub))
        check_count(t["10分钟圈内户数"], int(sub["covered"].sum()))
        check_count(t["圈外户数"], int((~sub["covered"]).sum()))
        check_count(t["紧急度5（最急）·圈外"], int(((sub["urgency"] == 5) & ~sub["covered"]).sum()))
        check_count(t["特困供养(户)"], int((sub["category"] == "tekun").sum()))
        if isinstance(t["圈内占比(%)"], float | int):
            assert t["圈内占比(%)"] == pytest.approx(round(100.0 * sub["covered"].mean(), 1))
            printed_pct += 1
        else:
            assert "≥10" in (t["10分钟圈内户数"], t["圈外户数"]) or "<10" in (t["10分钟圈内户数"], t["圈外户数"])
            # a hidden share prints what the printed counts imply, and that is true
            share, pct = 100.0 * sub["covered"].mean(), t["圈内占比(%)"]
            assert (
                pct == "—" or (pct[0] == "≥" and share >= float(pct[1:])) or (pct[0] == "≤" and share <= float(pct[1:]))
            )
            if t["圈外户数"] == "<10":
                assert pct == f"≥{int(100 * (len(sub) - 9) / len(sub))}"
        p50 = t["步行距离中位数(米)"]
        if isinstance(p50, float | int):
            cov = sub.loc[sub["covered"], "walk_m"]
            assert p50 == pytest.approx(round(censored_quantile(cov, int((~sub["covered"]).sum()), 0.5), 1))
    assert printed_pct >= 8  # most towns print their coverage share
    vill = rows(books["district"]["村社服务点"])
    assert len(vill) == 222
    counts = pts.groupby("community_code").size()
    for v in vill:
        check_count(v["救助对象户数"], int(counts.get(v["区域编码"], 0)))
    gaps = {v["村(社区)服务点"] for v in vill}
    assert gaps == {"有", "无服务点（缺口）"}


def test_gap_hexes_and_suppressed_percentages(books: dict[str, Workbook], report: Report) -> None:
    gaps = rows(books["district"]["缺口六边形"])
    hx = report.tables.hexes.set_index("h3")
    assert len(gaps) == int(hx["gap"].sum())
    for g in gaps:
        true = hx.loc[g["H3编号"]]
        assert true["outside"] > 0
        check_count(g["圈外户数"], int(true["outside"]))
        if g["圈外户数"] == "<10" or g["户数"] == "<10":
            assert g["圈内占比(%)"] == "—"  # the share of a hidden count is hidden too


def test_scope_workbooks_hold_their_area_only(books: dict[str, Workbook], report: Report) -> None:
    t = books["town"]
    assert t.sheetnames == LEVEL_SHEETS[1:] + OTHER_SHEETS[:-1] + MATCHING_SHEETS + OTHER_SHEETS[-1:]
    assert [r["名称"] for r in rows(t["镇街"])] == ["文新街道"]
    vill = rows(t["村社服务点"])
    assert vill and {v["所属镇街"] for v in vill} == {"文新街道"}
    sites = rows(t["推荐站点"])
    assert {s["站点编号"] for s in sites} <= {"NEW-01", "NEW-02", "NEW-03"}
    v = books["village"]
    assert v.sheetnames == LEVEL_SHEETS[2:] + OTHER_SHEETS
    assert len(rows(v["村社服务点"])) == 1
    first = report.scopes(LEVEL_VILLAGE)[0]
    assert isinstance(first, Scope) and rows(v["村社服务点"])[0]["服务点编号"] == first.hub_id


def test_notes_sheet_states_method_privacy_and_attribution(books: dict[str, Workbook]) -> None:
    notes = {r["项目"]: r["内容"] for r in rows(books["district"]["说明"])}
    text = "\n".join(f"{k} {v}" for k, v in notes.items())
    assert "4.5 km/h" in notes["步行速度"] and "750 米" in notes["步行时间"]
    assert "xihu.osm.pbf" in notes["路网来源"] and "EPSG:4326" in notes["坐标系"] and "9" in notes["H3 分辨率"]
    assert "© OpenStreetMap contributors" in notes["署名"] and "Vonng/adcode" in notes["署名"]
    assert "CC BY 4.0" in notes["署名"] and "ODbL" in notes["署名"]
    assert "合成" in notes["数据集"] and "合成" in notes["数据说明"]
    assert "<10" in notes["小数隐藏"] and "个人名单" in text
    assert notes["推荐站点方案"] == "测试方案"
