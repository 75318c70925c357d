"""UI strings in Simplified Chinese (default) and English; ``t(key)`` picks the session's language."""

from __future__ import annotations

import streamlit as st

K_LANG = "lang"
LANGS = {"zh": "简体中文", "en": "English"}

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("西湖区助联体 10分钟救助服务圈", "Xihu assistance consortium: 10-minute service circle"),
    "nav_overview": ("总览", "Overview"),
    "nav_hubs": ("镇街 / 村社", "Hub view"),
    "nav_data": ("数据", "Data"),
    "nav_planner": ("选址规划", "Planner"),
    "nav_reports": ("报告", "Reports"),
    "settings": ("分析设置", "Analysis settings"),
    "language": ("语言 / Language", "Language / 语言"),
    "dataset": ("数据集", "Dataset"),
    "dataset_demo": ("演示数据", "Demo data"),
    "dataset_user": ("已导入数据", "Imported data"),
    "minutes": ("步行时间（分钟）", "Walking time (minutes)"),
    "speed": ("步行速度（km/h）", "Walking speed (km/h)"),
    "speed_help": (
        "4.5 km/h 为默认步速；3.0 km/h 适用于老年人。GB 50180-2018 的10分钟生活圈约500米步行距离。",
        "4.5 km/h by default; 3.0 km/h for elderly walkers. "
        "GB 50180-2018 puts the 10-minute life circle at about 500 m.",
    ),
    "h3_res": ("H3 分辨率", "H3 resolution"),
    "cutoff": (
        "阈值：{m:g} 分钟 × {s:g} km/h = {d:.0f} 米网络距离",
        "Cutoff: {m:g} min × {s:g} km/h = {d:.0f} m on the network",
    ),
    "overview_title": ("西湖区 10分钟救助服务圈 · 总览", "Xihu 10-minute assistance circle · Overview"),
    "households": ("救助对象（户）", "Beneficiary households"),
    "inside": ("10分钟圈内", "Inside the circle"),
    "outside": ("圈外", "Outside"),
    "off_network": ("离路网过远", "Far from streets"),
    "by_category": ("按救助类别", "By category"),
    "by_need": ("按需求类型", "By need type"),
    "by_town": ("按镇街", "By town"),
    "worst_gaps": ("缺口最大的六边形", "Largest gaps (hexagons)"),
    "col_households": ("户数", "Households"),
    "col_inside": ("圈内", "Inside"),
    "col_outside": ("圈外", "Outside"),
    "col_pct": ("覆盖率%", "Coverage %"),
    "col_town": ("镇街", "Town"),
    "hub_title": ("镇街服务站 / 村社服务点", "Town stations / village points"),
    "pick_tier": ("层级", "Tier"),
    "pick_hub": ("选择站点", "Choose a hub"),
    "hub_area": ("责任区域", "Area of responsibility"),
    "hub_vs_district": ("本站点与全区对比", "This hub against the district"),
    "outside_list": (
        "圈外救助对象（按优先级：生存型、紧急程度高者在前）",
        "Outside the circle (survival needs and urgency first)",
    ),
    "nearest_alt": ("最近的其他站点", "Nearest other hub"),
    "providers_near": ("附近服务主体（按服务项目）", "Providers nearby by service item"),
    "no_outside": ("该区域所有救助对象均在10分钟圈内。", "Everyone in this area is inside the circle."),
    "data_title": ("数据导入", "Data import"),
    "kind": ("数据类型", "Kind of table"),
    "kind_beneficiaries": ("救助对象", "Beneficiaries"),
    "kind_hubs": ("服务站点", "Hubs"),
    "kind_providers": ("服务主体", "Providers"),
    "upload": ("上传 CSV 或 XLSX 文件", "Upload a CSV or XLSX file"),
    "upload_help": (
        "CSV（UTF-8 或 GB18030）或 Excel（.xlsx），不超过 {mb} MB。",
        "CSV (UTF-8 or GB18030) or Excel (.xlsx), at most {mb} MB.",
    ),
    "crs": ("坐标系", "Coordinate system"),
    "crs_auto": ("自动识别", "Detect automatically"),
    "mapping": ("列映射（未识别的列）", "Column mapping (unrecognised columns)"),
    "ignore": ("（忽略）", "(ignore)"),
    "run_import": ("校验并导入", "Validate"),
    "accepted": ("接受", "Accepted"),
    "rejected": ("拒绝", "Rejected"),
    "read": ("读取", "Read"),
    "download_rejected": ("下载被拒绝的行（含原因）", "Download rejected rows (with reasons)"),
    "save_db": ("保存到数据库（替换已导入的同类数据）", "Save to the database (replaces imported rows of this kind)"),
    "saved": ("已保存 {n} 行到数据库。", "Saved {n} rows to the database."),
    "signin": ("登录", "Sign in"),
    "signout": ("退出登录", "Sign out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "signed_in_as": ("已登录：{name}（{role}）", "Signed in: {name} ({role})"),
    "no_individuals": ("当前角色只能查看汇总数据。", "Your role sees aggregates only."),
    "planner_title": ("选址规划：下一个服务站放在哪里", "Planner: where the next station should go"),
    "planner_settings": ("模型设置", "Model settings"),
    "cand_upload": (
        "上传候选站点（可选：site_id, lon, lat，WGS-84；不上传则在缺口周边自动生成）",
        "Upload candidate sites (optional: site_id, lon, lat in WGS-84; automatic around the gaps otherwise)",
    ),
    "cand_columns": ("候选站点文件缺少列：{cols}", "The candidate file lacks columns: {cols}"),
    "planner_p": ("新增站点数", "New stations"),
    "w_survival": ("生存型权重", "Survival weight"),
    "w_care": ("关爱型权重", "Care weight"),
    "w_development": ("发展型权重", "Development weight"),
    "w_urgency": ("紧急程度系数", "Urgency factor"),
    "weights_rule": (
        "权重 = 需求类型权重 × (1 + 紧急程度系数 × (紧急程度 − 1))；覆盖矩阵来自路网步行距离（非直线）。",
        "weight = need-type weight × (1 + urgency factor × (urgency − 1)); coverage from network walking distances.",
    ),
    "require_towns": ("每个所选镇街至少一个新站", "At least one new station in each of"),
    "within_town": ("只在此镇街内选址", "Only sites inside"),
    "anywhere": ("全区", "Whole district"),
    "covered_before": ("现状覆盖", "Covered now"),
    "covered_after": ("新增站点后覆盖", "Covered with new stations"),
    "optimal": ("已证明最优", "Proven optimal"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "whatif": ("情景模拟（最多三个方案）", "What-if scenarios (up to three)"),
    "scenario": ("当前方案", "Active scenario"),
    "add_site": ("推荐站点", "Recommended site"),
    "add": ("加入方案", "Add to scenario"),
    "remove_hub": ("撤除站点", "Remove a hub"),
    "remove": ("撤除", "Remove"),
    "reset": ("清空当前方案", "Reset this scenario"),
    "click_action": ("点击地图时", "A click on the map"),
    "click_none": ("不操作", "does nothing"),
    "click_add": ("在点击处添加站点", "adds a station there"),
    "click_move": ("把所选站点迁移到点击处", "moves the chosen hub there"),
    "pick_hub_edit": ("所选站点（撤除或迁移）", "Chosen hub (remove or move)"),
    "recommended": ("推荐站点", "Recommended sites"),
    "new_station": ("方案中的新站点", "New station in scenario"),
    "baseline": ("现状", "Baseline"),
    "whatif_note": (
        "方案数字由增量引擎即时计算，与全量重算完全一致。",
        "Scenario figures come from the incremental engine and equal a full recompute.",
    ),
    "scenario_name": ("方案名称", "Scenario name"),
    "save": ("保存方案", "Save scenario"),
    "load": ("载入方案", "Load scenario"),
    "saved_scenario": ("方案已保存（编号 {id}）。", "Scenario saved (id {id})."),
    "reports_title": ("覆盖报告", "Coverage reports"),
    "reports_note": (
        "报告只含汇总数字：1–9 人显示为“<10”，并做二次隐藏，无法用总数相减反推。",
        'Reports hold aggregates only: 1-9 people print as "<10", with secondary suppression.',
    ),
    "report_levels": ("报告层级", "Levels"),
    "report_formats": ("格式", "Formats"),
    "report_scenario": ("附上规划方案的推荐站点", "Include the sites of a saved scenario"),
    "report_build": ("生成报告", "Build reports"),
    "report_done": ("已生成 {n} 个文件。", "{n} files built."),
    "report_download": ("下载报告（ZIP）", "Download reports (ZIP)"),
    "export_outside": ("下载圈外名单（CSV）", "Download the list (CSV)"),
    "prepare_outside": (
        "准备导出圈外名单（CSV，姓名已脱敏，记入审计日志）",
        "Prepare the export of the list (CSV, masked names, audited)",
    ),
    "export_ready": (
        "已记入审计日志。下载按钮只在此刻有效：页面有任何操作后需重新准备。",
        "Recorded in the audit log. The download is offered until your next action on the page.",
    ),
    "synthetic_note": ("合成数据", "synthetic data"),
    "attribution": (
        "地图数据 © OpenStreetMap 贡献者（ODbL）；区界：Vonng/adcode（CC BY 4.0）",
        "Map data © OpenStreetMap contributors (ODbL); district boundary: Vonng/adcode (CC BY 4.0)",
    ),
}


def lang() -> str:
    """The session's language code (``zh`` by default)."""
    value = st.session_state.get(K_LANG, "zh")
    return value if value in LANGS else "zh"


def t(key: str, **fmt: object) -> str:
    """The UI string ``key`` in the session's language, formatted with ``fmt``."""
    zh, en = TEXT[key]
    text = en if lang() == "en" else zh
    return text.format(**fmt) if fmt else text
