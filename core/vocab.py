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

URGENCY_MIN, URGENCY_MAX = 1, 5  # 5 = most urgent (a household's urgency, beneficiaries table)

#: how a service item reaches the person: the beneficiary walks to the provider (到站), the
#: provider visits the home (上门), or by phone / online (远程)
DELIVERIES = ("onsite", "home", "remote")
#: why a need is left unmatched (:mod:`geo.matching`), in the order they are tested
MATCH_REASONS = ("no_offer", "no_location", "off_network", "out_of_reach", "capacity")
#: urgency of one need (needs table): 1 low, 2 medium, 3 high
NEED_URGENCY_MIN, NEED_URGENCY_MAX = 1, 3


def need_urgency_from_household(urgency: int) -> int:
    """A need's urgency (1-3) derived from its household's urgency (1-5).

    The mapping is ``1-2 -> 1`` (low), ``3 -> 2`` (medium), ``4-5 -> 3`` (high): it keeps the
    household scale's middle as the middle and puts both upper grades into "high", so that
    a household marked 4 or 5 is matched before every household marked 3 or less.
    """
    u = int(urgency)
    if not URGENCY_MIN <= u <= URGENCY_MAX:
        msg = f"household urgency must be in {URGENCY_MIN}..{URGENCY_MAX}, got {u}"
        raise ValueError(msg)
    return 1 if u <= 2 else 2 if u == 3 else 3


@dataclass(frozen=True)
class ServiceItem:
    """One service item of the catalogue."""

    code: str
    name_zh: str
    name_en: str
    need_type: str
    departments: tuple[str, ...]
    delivery: str = "onsite"
    group: str = ""
    aliases: tuple[str, ...] = ()


#: the service catalogue (from the bureau's three need types; codes are stable ids)
SERVICE_CATALOGUE: tuple[ServiceItem, ...] = (
    ServiceItem(
        "S01",
        "低保金/兜底保障",
        "Subsistence allowance",
        "survival",
        ("民政",),
        "onsite",
        "兜底保障",
        ("生活救助", "低保"),
    ),
    ServiceItem(
        "S02", "医疗救助", "Medical assistance", "survival", ("医保", "卫健"), "onsite", "医疗救助", ("看病", "医疗")
    ),
    ServiceItem("S03", "住房救助", "Housing assistance", "survival", ("住建",), "onsite", "住房救助", ("住房",)),
    ServiceItem("S04", "急难救助", "Emergency aid", "survival", ("民政", "慈善总会"), "onsite", "急难救助", ("急难",)),
    ServiceItem("S05", "教育救助", "Education assistance", "survival", ("教育",), "onsite", "教育救助", ("教育",)),
    ServiceItem(
        "S06", "助餐送餐", "Meal assistance", "survival", ("民政", "社会组织"), "home", "助餐", ("送餐", "老年食堂")
    ),
    ServiceItem(
        "C01", "心理咨询", "Psychological counselling", "care", ("社工站", "卫健"), "onsite", "心理疏导", ("心理疏导",)
    ),
    ServiceItem(
        "C02",
        "情绪支持/陪伴",
        "Emotional support and companionship",
        "care",
        ("社工站", "志愿者"),
        "onsite",
        "陪伴关怀",
        ("陪伴", "情感慰藉"),
    ),
    ServiceItem("C03", "上门探访", "Home visits", "care", ("社区", "志愿者"), "home", "探访关爱", ("探访",)),
    ServiceItem("C04", "助老照护", "Elderly care", "care", ("民政", "养老机构"), "home", "助老照护", ("养老",)),
    ServiceItem("D01", "就业援助", "Employment support", "development", ("人社",), "onsite", "就业援助", ("就业",)),
    ServiceItem(
        "D02",
        "技能培训",
        "Skills training",
        "development",
        ("人社", "企业"),
        "onsite",
        "技能培训",
        ("就业培训", "培训"),
    ),
    ServiceItem(
        "D03", "社会融入", "Social integration", "development", ("社工站", "社会组织"), "onsite", "社会融入", ("融入",)
    ),
)
SERVICE_BY_CODE = {s.code: s for s in SERVICE_CATALOGUE}

#: further items of the default matching catalogue (服务清单). Together with the 13 items
#: above (whose codes hubs, providers and the demo use) they form :data:`DEFAULT_CATALOGUE`,
#: an *example* for Xihu that the bureau edits and replaces by importing its own list.
#: ``group`` joins the items several departments provide for the same purpose (e.g. 医疗救助),
#: so duplicate provision can be flagged; ``aliases`` are wordings seen in spreadsheets.
EXTRA_CATALOGUE: tuple[ServiceItem, ...] = (
    ServiceItem("S07", "特困供养", "Extreme-poverty support", "survival", ("民政",), "onsite", "兜底保障", ("特困",)),
    ServiceItem("S08", "临时救助", "Temporary assistance", "survival", ("民政",), "onsite", "急难救助", ("临时",)),
    ServiceItem("S09", "大病医疗补助", "Serious illness subsidy", "survival", ("医保",), "onsite", "医疗救助"),
    ServiceItem("S10", "慈善医疗援助", "Charity medical aid", "survival", ("慈善总会",), "onsite", "医疗救助"),
    ServiceItem("S11", "康复护理上门", "Home rehabilitation care", "survival", ("卫健",), "home", "医疗救助"),
    ServiceItem("S12", "租赁补贴", "Rent subsidy", "survival", ("住建",), "onsite", "住房救助", ("廉租房",)),
    ServiceItem(
        "S13",
        "冬季取暖/物资发放",
        "Winter and material aid",
        "survival",
        ("民政", "慈善总会"),
        "home",
        "急难救助",
        ("物资",),
    ),
    ServiceItem("S14", "法律援助", "Legal aid", "survival", ("司法",), "onsite", "专项救助"),
    ServiceItem("S15", "助学金", "School grant", "survival", ("教育",), "onsite", "教育救助", ("助学",)),
    ServiceItem("C05", "心理热线", "Psychological hotline", "care", ("卫健",), "remote", "心理疏导", ("热线",)),
    ServiceItem("C06", "电话问候", "Phone check-in", "care", ("社区", "志愿者"), "remote", "探访关爱", ("电话随访",)),
    ServiceItem("C07", "助浴助洁", "Bathing and cleaning help", "care", ("养老机构",), "home", "助老照护", ("助洁",)),
    ServiceItem("C08", "儿童关爱", "Child care and tutoring", "care", ("妇联", "社工站"), "onsite", "陪伴关怀"),
    ServiceItem("C09", "残疾人照护", "Disability care", "care", ("残联",), "home", "助老照护", ("助残",)),
    ServiceItem("D04", "职业介绍", "Job placement", "development", ("人社",), "onsite", "就业援助", ("就业推荐",)),
    ServiceItem("D05", "创业指导", "Start-up guidance", "development", ("人社", "企业"), "onsite", "就业援助"),
    ServiceItem(
        "D06", "线上技能课程", "Online skills courses", "development", ("人社",), "remote", "技能培训", ("网课",)
    ),
    ServiceItem("D07", "公益岗位", "Public-welfare jobs", "development", ("人社", "民政"), "onsite", "就业援助"),
)
#: the example matching catalogue: the 13 core items and :data:`EXTRA_CATALOGUE`, 31 items
DEFAULT_CATALOGUE: tuple[ServiceItem, ...] = (*SERVICE_CATALOGUE, *EXTRA_CATALOGUE)
ITEM_BY_CODE = {s.code: s for s in DEFAULT_CATALOGUE}
LIST_SEP = ";"  # multi-valued cells (services, needs) are joined with ';'


def need_type_of(service_codes: list[str]) -> str | None:
    """The most urgent need type among service codes (survival > care > development)."""
    types = [ITEM_BY_CODE[c].need_type for c in service_codes if c in ITEM_BY_CODE]
    return min(types, key=NEED_PRIORITY.__getitem__) if types else None
