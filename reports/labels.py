"""Chinese headers, printed forms of the figures and the methods text shared by every format."""

from __future__ import annotations

import math
from typing import Any

from core.i18n import PROVIDER_KIND_ZH
from geo.disclosure import PublishedReport
from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE, Groups, ReportInfo

HIDDEN = "—"
MISSING_HUB = "无服务点（缺口）"

#: fixed columns of the level sheets: canonical name -> Chinese header
AREA_HEADERS: dict[str, str] = {
    "area_id": "区域编码",
    "name": "名称",
    "town_name": "所属镇街",
    "community_type": "类型",
    "hub_status": "村(社区)服务点",
    "hub_id": "服务点编号",
    "hub_name": "服务点名称",
    "n": "救助对象户数",
    "inside": "10分钟圈内户数",
    "outside": "圈外户数",
    "pct_inside": "圈内占比(%)",
    "walk_m_p50": "步行距离中位数(米)",
    "walk_m_p90": "步行距离P90(米)",
    "walk_min_p50": "步行时间中位数(分钟)",
    "walk_min_p90": "步行时间P90(分钟)",
    "n_gap_hexes": "缺口六边形数",
    "n_providers": "服务主体数",
    "capacity_month": "月服务能力合计(人次)",
    "n_sites": "推荐站点数",
}
HEX_HEADERS = {
    "h3": "H3编号",
    "town_name": "所属镇街（多数住户）",
    "n": "户数",
    "inside": "圈内户数",
    "outside": "圈外户数",
    "pct_inside": "圈内占比(%)",
}
PROVIDER_HEADERS = {
    "provider_id": "主体编号",
    "name": "名称",
    "kind_zh": "主体类型",
    "department": "所属部门",
    "services_zh": "服务项目",
    "capacity_month": "月服务能力(人次)",
    "town_name": "所在镇街",
    "community_name": "最近社区",
    "lon": "经度",
    "lat": "纬度",
}
ITEM_HEADERS = {
    "level_zh": "层级",
    "area_id": "区域编码",
    "area_name": "区域名称",
    "service_code": "服务项目编码",
    "service_zh": "服务项目",
    "need_zh": "需求类型",
    "n_providers": "提供该项目的主体数",
    "capacity_month": "月服务能力合计(人次)",
}
SITE_HEADERS = {
    "rank": "序号",
    "site_id": "站点编号",
    "name": "名称",
    "tier_zh": "层级",
    "town_name": "所在镇街",
    "community_name": "最近社区",
    "new_covered": "新增覆盖户数",
    "lon": "经度",
    "lat": "纬度",
}
ID_COLUMNS = {"area_id", "hub_id", "h3", "provider_id", "site_id", "service_code", "town_code", "community_code"}


def group_columns(groups: Groups) -> dict[str, str]:
    """Breakdown columns of an area row in print order: canonical name -> Chinese header."""
    out: dict[str, str] = {}
    for c in groups.categories:
        out[f"cat_{c}"] = f"{groups.label('cat', c)}(户)"
    for prefix, kind, values in (("need", "need", groups.needs), ("urg", "urg", groups.urgencies)):
        for v in values:
            lab = groups.label(kind, v)
            out[f"{prefix}_{v}_n"] = f"{lab}·户数"
            out[f"{prefix}_{v}_in"] = f"{lab}·圈内"
            out[f"{prefix}_{v}_out"] = f"{lab}·圈外"
            out[f"{prefix}_{v}_pct"] = f"{lab}·圈内占比(%)"
    return out


def level_columns(level: str, groups: Groups) -> dict[str, str]:
    """Columns of a level sheet (district / town / village) in print order."""
    fixed = ["area_id", "name"]
    if level == LEVEL_VILLAGE:
        fixed += ["town_name", "community_type", "hub_status", "hub_id", "hub_name"]
    elif level == LEVEL_TOWN:
        fixed += ["hub_id", "hub_name"]
    counts = ["n", "inside", "outside", "pct_inside", "walk_m_p50", "walk_m_p90", "walk_min_p50", "walk_min_p90"]
    tail = ["n_gap_hexes", "n_providers", "capacity_month", "n_sites"]
    out = {c: AREA_HEADERS[c] for c in fixed + counts}
    out.update(group_columns(groups))
    out.update({c: AREA_HEADERS[c] for c in tail})
    return out


# ------------------------------------------------------------------------------ printed forms


def fmt_count(value: Any) -> str:
    """A printed count: ``1,234``, ``"<10"``, ``"≥10"``; ``—`` for None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return HIDDEN
    if isinstance(value, str):
        return value
    return f"{int(value):,}"


def fmt_pct(value: Any, digits: int = 1, bound: Any = None) -> str:
    """A printed percentage (``64.4%``); when hidden, the bound the printed counts imply (``≥85%``) or ``—``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return bound if isinstance(bound, str) else HIDDEN
    return f"{float(value):.{digits}f}%"


def fmt_walk(value: Any, cutoff: float, digits: int) -> str:
    """A walking distance / time percentile: a number, ``">750"`` beyond the cutoff, ``—`` when hidden."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return HIDDEN
    if math.isinf(float(value)):
        return f">{cutoff:g}"
    return f"{float(value):.{digits}f}"


def hub_status(row: dict[str, Any]) -> str:
    return "有" if row.get("has_hub") else MISSING_HUB


def kind_zh(kind: Any) -> str:
    return PROVIDER_KIND_ZH.get(str(kind), str(kind))


LEVEL_NAME_ZH = {LEVEL_DISTRICT: "区级", LEVEL_TOWN: "镇街", LEVEL_VILLAGE: "村(社区)"}


# ------------------------------------------------------------------------------ methods and notes


def methods_lines(pub: PublishedReport) -> list[tuple[str, str]]:
    """The methods box: ``(label, text)`` pairs in Chinese."""
    t = pub.tables
    s = t.settings
    info: ReportInfo = t.info
    net = info.network
    sha = str(net.get("sha256", ""))
    src = f"{net.get('source', '未知')}（OpenStreetMap 步行路网"
    if net.get("n_nodes"):
        src += f"，{int(net['n_nodes']):,} 个节点、{int(net.get('n_edges', 0)):,} 条边"
    src += "）"
    cutoff = s.cutoff_m
    lines = [
        ("步行速度", f"{s.speed_kmh:g} km/h（老年人可按 3.0 km/h 另行出报）"),
        ("步行时间", f"{s.minutes:g} 分钟，即路网步行距离 {cutoff:.0f} 米"),
        ("路网来源", src),
        ("路网文件日期", f"{net.get('source_date', '未知')}（文件修改日期）；SHA-256 {sha[:16]}…" if sha else "未知"),
        ("坐标系", f"存储与显示 WGS-84（EPSG:4326）；距离计算 {s.metric_crs}"),
        ("H3 分辨率", f"{s.h3_res}（六边形汇总与缺口）"),
        (
            "覆盖判定",
            f"住址到最近路网节点的直线接入段 + 路网步行距离 + 服务点接入段 ≤ {cutoff:.0f} 米为圈内；"
            f"距路网超过 {s.max_access_m:.0f} 米者一律计为圈外",
        ),
        (
            "步行距离分位数",
            f"按本区域有坐标的全部救助对象计算：圈内者取实际步行距离，圈外者距离未计算（只搜索到 {cutoff:.0f} 米），"
            f"按“超过 {cutoff:.0f} 米”计；分位数落在圈外对象上时印为“>{cutoff:.0f}”（时间为“>{s.minutes:g}”）。"
            "线性插值；本区域圈内或圈外户数被隐藏、或有坐标者少于10户时不印。",
        ),
        (
            "村(社区)服务点口径",
            "村(社区)服务点的对象 = 所在社区（村）与该服务点相同的救助对象；没有服务点的社区也逐一列出（缺口）。"
            "服务主体与推荐站点按坐标归入镇街（近似范围）和最近的社区点。",
        ),
        ("统计依据", "全部数字来自逐户的路网步行距离（不是服务范围多边形；多边形仅用于地图显示）。"),
    ]
    return lines


def privacy_lines(pub: PublishedReport) -> list[tuple[str, str]]:
    """The disclosure-control rules as printed, with this report's counts."""
    lt, ge = pub.lt, pub.ge
    r = pub.result
    n_zero = int((r.status == 3).sum())
    return [
        ("小数隐藏", f"1至{pub.threshold - 1}户的数字一律显示为“{lt}”；0 显示为 0。"),
        (
            "防反推隐藏",
            f"为使任何“{lt}”都无法由合计相减（或联立多张表）推算出来，另有部分数字被隐藏："
            f"不少于{pub.threshold}的显示为“{ge}”，个别 0 也显示为“{lt}”（“{lt}”即0至{pub.threshold - 1}）。"
            f"经整数规划逐格核验，任何“{lt}”可能的取值至少有 {pub.protection + 1} 个。",
        ),
        (
            "百分比与分位数",
            f"分子或分母被隐藏的百分比不显示（{HIDDEN}），或只显示由已印数字推出的范围（如“≥85%”）；"
            "地图上对应的六边形不着色（灰色）。",
        ),
        (
            "本报告隐藏情况",
            f"共 {r.status.shape[0]:,} 个计数，其中 {r.n_primary:,} 个显示为“{lt}”（小数），"
            f"{r.n_secondary - n_zero:,} 个显示为“{ge}”、{n_zero:,} 个 0 显示为“{lt}”（防反推）。",
        ),
        ("个人名单", "本报告只含汇总数字，不导出任何个人名单（姓名、证件号码）。"),
    ]


def data_lines(pub: PublishedReport) -> list[tuple[str, str]]:
    """Data set, provenance, attribution."""
    info = pub.tables.info
    out = [("报告月份", info.month or "—"), ("数据集", info.label_zh or "—")]
    if info.note_zh:
        out.append(("数据说明", info.note_zh))
    if info.is_fallback:
        out.append(("注意", "本报告使用的不是西湖区数据（备用演示数据）。"))
    if pub.tables.n_no_coords:
        out.append(("无坐标", f"{pub.no_coords_display()} 户没有坐标，计入圈外，不计入六边形与分位数。"))
    out.append(("推荐站点方案", pub.tables.scenario_name or "未选择方案"))
    out.append(("署名", info.attribution or "—"))
    out.append(("生成日期", info.generated))
    return out
