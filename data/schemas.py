"""Canonical tables of the project: columns, Chinese aliases, enumerations, service catalogue.

Every table is stored and passed around with the canonical English column names below;
coordinates are WGS-84 (EPSG:4326). Imports map Chinese or English headers onto them
(:data:`ALIASES`). Beneficiary ID-card numbers are never stored in clear: only
``id_hash`` (a keyed HMAC-SHA256, for de-duplication) and ``id_last4``.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- enumerations ---------------------------------------------------------------------
TIERS = ("district", "town", "village")
TIER_ZH = {"district": "区级助联体", "town": "镇街服务站", "village": "村(社区)服务点"}

PROVIDER_KINDS = ("government", "enterprise", "social_org", "volunteer")
PROVIDER_KIND_ZH = {
    "government": "政府部门",
    "enterprise": "企事业单位",
    "social_org": "社会组织",
    "volunteer": "志愿团队",
}

CATEGORIES = ("dibao", "dibian", "tekun", "linshi", "zhuanxiang")
CATEGORY_ZH = {
    "dibao": "低保",
    "dibian": "低边",
    "tekun": "特困供养",
    "linshi": "临时救助",
    "zhuanxiang": "专项救助",
}
#: what people write in spreadsheets -> category code
CATEGORY_ALIASES = {
    "低保": "dibao",
    "最低生活保障": "dibao",
    "低保户": "dibao",
    "低边": "dibian",
    "低保边缘": "dibian",
    "低边户": "dibian",
    "特困": "tekun",
    "特困供养": "tekun",
    "特困人员": "tekun",
    "临时救助": "linshi",
    "临时": "linshi",
    "急难救助": "linshi",
    "急难": "linshi",
    "专项": "zhuanxiang",
    "专项救助": "zhuanxiang",
    **{c: c for c in CATEGORIES},
}

NEED_TYPES = ("survival", "care", "development")  # priority order
NEED_TYPE_ZH = {"survival": "生存型", "care": "关爱型", "development": "发展型"}
NEED_PRIORITY = {t: i for i, t in enumerate(NEED_TYPES)}  # lower = more urgent

URGENCY_MIN, URGENCY_MAX = 1, 5  # 5 = most urgent


@dataclass(frozen=True)
class ServiceItem:
    """One service item of the catalogue."""

    code: str
    name_zh: str
    name_en: str
    need_type: str
    departments: tuple[str, ...]


#: the service catalogue (from the bureau's three need types; codes are stable ids)
SERVICE_CATALOGUE: tuple[ServiceItem, ...] = (
    ServiceItem("S01", "低保金/兜底保障", "Subsistence allowance", "survival", ("民政",)),
    ServiceItem("S02", "医疗救助", "Medical assistance", "survival", ("医保", "卫健")),
    ServiceItem("S03", "住房救助", "Housing assistance", "survival", ("住建",)),
    ServiceItem("S04", "急难救助", "Emergency aid", "survival", ("民政", "慈善总会")),
    ServiceItem("S05", "教育救助", "Education assistance", "survival", ("教育",)),
    ServiceItem("S06", "助餐送餐", "Meal assistance", "survival", ("民政", "社会组织")),
    ServiceItem("C01", "心理咨询", "Psychological counselling", "care", ("社工站", "卫健")),
    ServiceItem("C02", "情绪支持/陪伴", "Emotional support and companionship", "care", ("社工站", "志愿者")),
    ServiceItem("C03", "上门探访", "Home visits", "care", ("社区", "志愿者")),
    ServiceItem("C04", "助老照护", "Elderly care", "care", ("民政", "养老机构")),
    ServiceItem("D01", "就业援助", "Employment support", "development", ("人社",)),
    ServiceItem("D02", "技能培训", "Skills training", "development", ("人社", "企业")),
    ServiceItem("D03", "社会融入", "Social integration", "development", ("社工站", "社会组织")),
)
SERVICE_BY_CODE = {s.code: s for s in SERVICE_CATALOGUE}
#: Chinese service names people type -> code
SERVICE_ALIASES = {
    **{s.code: s.code for s in SERVICE_CATALOGUE},
    **{s.name_zh: s.code for s in SERVICE_CATALOGUE},
    **{part: s.code for s in SERVICE_CATALOGUE for part in s.name_zh.split("/")},
    **{s.name_en.lower(): s.code for s in SERVICE_CATALOGUE},
}
LIST_SEP = ";"  # multi-valued cells (services, needs) are joined with ';'

# -- tables -----------------------------------------------------------------------------
HUB_COLUMNS = (
    "hub_id", "name", "tier", "parent_id", "town_code", "lon", "lat",
    "services", "opening_hours", "synthetic", "location_source",
)  # fmt: skip
PROVIDER_COLUMNS = (
    "provider_id", "name", "kind", "department", "services", "capacity_month", "lon", "lat", "synthetic",
)  # fmt: skip
BENEFICIARY_COLUMNS = (
    "beneficiary_id", "category", "household_size", "lon", "lat", "community_code", "community_name",
    "town_code", "needs", "need_type", "urgency", "id_hash", "id_last4", "name_masked", "coord_approx",
    "synthetic",
)  # fmt: skip
AREA_COLUMNS = ("area_id", "level", "name", "parent_id", "derived", "geometry")
TABLE_COLUMNS = {"hubs": HUB_COLUMNS, "providers": PROVIDER_COLUMNS, "beneficiaries": BENEFICIARY_COLUMNS}
KINDS = tuple(TABLE_COLUMNS)

#: header (as typed in a spreadsheet, Chinese or English) -> canonical column, per kind
_COMMON_ALIASES = {
    "经度": "lon", "lng": "lon", "longitude": "lon", "x": "lon",
    "纬度": "lat", "latitude": "lat", "y": "lat",
    "坐标系": "crs", "坐标系统": "crs", "crs": "crs",
    "地址": "address", "address": "address",
    "名称": "name", "name": "name",
}  # fmt: skip
ALIASES: dict[str, dict[str, str]] = {
    "beneficiaries": {
        **_COMMON_ALIASES,
        "编号": "beneficiary_id", "对象编号": "beneficiary_id", "id": "beneficiary_id",
        "姓名": "person_name", "身份证号": "id_card", "身份证号码": "id_card", "证件号码": "id_card",
        "救助类别": "category", "类别": "category", "家庭人口": "household_size", "家庭人数": "household_size",
        "所属社区": "community_name", "社区": "community_name", "村社区": "community_name",
        "社区编码": "community_code", "需求": "needs", "服务需求": "needs",
        "紧急程度": "urgency", "紧急度": "urgency",
    },
    "hubs": {
        **_COMMON_ALIASES,
        "编号": "hub_id", "站点编号": "hub_id", "id": "hub_id", "站点名称": "name",
        "层级": "tier", "级别": "tier", "上级编号": "parent_id", "所属镇街编码": "town_code",
        "镇街编码": "town_code", "服务项目": "services", "开放时间": "opening_hours",
    },
    "providers": {
        **_COMMON_ALIASES,
        "编号": "provider_id", "机构编号": "provider_id", "id": "provider_id", "机构名称": "name",
        "类型": "kind", "主体类型": "kind", "所属部门": "department", "部门": "department",
        "服务项目": "services", "月服务能力": "capacity_month", "服务能力": "capacity_month",
    },
}  # fmt: skip
TIER_ALIASES = {
    "区级": "district", "区级助联体": "district", "district": "district",
    "镇街": "town", "镇街服务站": "town", "街道": "town", "town": "town",
    "村社": "village", "村(社区)服务点": "village", "村级服务点": "village", "社区": "village", "village": "village",
}  # fmt: skip
PROVIDER_KIND_ALIASES = {
    **{v: k for k, v in PROVIDER_KIND_ZH.items()},
    "政府": "government", "企业": "enterprise", "事业单位": "enterprise", "社工站": "social_org",
    "慈善基地": "social_org", "志愿者": "volunteer", **{k: k for k in PROVIDER_KINDS},
}  # fmt: skip


def need_type_of(service_codes: list[str]) -> str | None:
    """The most urgent need type among service codes (survival > care > development)."""
    types = [SERVICE_BY_CODE[c].need_type for c in service_codes if c in SERVICE_BY_CODE]
    return min(types, key=NEED_PRIORITY.__getitem__) if types else None


def service_label(code: str, lang: str = "zh") -> str:
    """Display name of a service code in ``lang`` (the code itself when unknown)."""
    item = SERVICE_BY_CODE.get(code)
    if item is None:
        return code
    return item.name_en if lang == "en" else item.name_zh
