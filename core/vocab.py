"""The domain vocabulary: the codes every layer speaks in, and the service catalogue.

Codes only: what a person reads for a code comes from :mod:`core.i18n`. Spreadsheet
wording (Chinese aliases of codes and headers) is input parsing and lives in
:mod:`data.schemas`.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("district", "town", "village")
PROVIDER_KINDS = ("government", "enterprise", "social_org", "volunteer")
CATEGORIES = ("dibao", "dibian", "tekun", "linshi", "zhuanxiang")
NEED_TYPES = ("survival", "care", "development")  # priority order
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
LIST_SEP = ";"  # multi-valued cells (services, needs) are joined with ';'


def need_type_of(service_codes: list[str]) -> str | None:
    """The most urgent need type among service codes (survival > care > development)."""
    types = [SERVICE_BY_CODE[c].need_type for c in service_codes if c in SERVICE_BY_CODE]
    return min(types, key=NEED_PRIORITY.__getitem__) if types else None
