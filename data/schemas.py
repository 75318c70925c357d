"""Canonical tables of the project: columns, Chinese aliases, enumerations, service catalogue.

Every table is stored and passed around with the canonical English column names below;
coordinates are WGS-84 (EPSG:4326). Imports map Chinese or English headers onto them
(:data:`ALIASES`). Beneficiary ID-card numbers are never stored in clear: only
``id_hash`` (a keyed HMAC-SHA256, for de-duplication) and ``id_last4``.
"""

from __future__ import annotations

import pandas as pd

from core.i18n import PROVIDER_KIND_ZH
from core.vocab import (
    CATEGORIES,
    DEFAULT_CATALOGUE,
    DELIVERIES,
    LIST_SEP,
    NEED_TYPES,
    PROVIDER_KINDS,
    SERVICE_CATALOGUE,
    ServiceItem,
)

# -- spreadsheet wording -> codes -------------------------------------------------------
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

#: Chinese service names people type -> code
SERVICE_ALIASES = {
    **{s.code: s.code for s in SERVICE_CATALOGUE},
    **{s.name_zh: s.code for s in SERVICE_CATALOGUE},
    **{part: s.code for s in SERVICE_CATALOGUE for part in s.name_zh.split("/")},
    **{s.name_en.lower(): s.code for s in SERVICE_CATALOGUE},
}

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
#: matching (#12): the service catalogue (服务清单), offers (provider x item) and needs (one item each)
CATALOGUE_COLUMNS = ("item_id", "name", "need_type", "delivery", "group", "aliases")
OFFER_COLUMNS = ("provider_id", "item_id", "capacity_per_month", "delivery", "reach_m", "synthetic")
#: ``item_id`` is None for a need whose wording matched no item (kept, with its ``wording``)
NEED_COLUMNS = ("need_id", "household_id", "item_id", "urgency", "since", "wording", "synthetic")
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
#: headers of the matching tables (#12), per kind (canonical names are recognised too)
MATCHING_ALIASES: dict[str, dict[str, str]] = {
    "catalogue": {
        "项目编号": "item_id", "服务项目编号": "item_id", "编号": "item_id", "id": "item_id",
        "项目名称": "name", "服务项目": "name", "名称": "name", "需求类型": "need_type", "类型": "need_type",
        "服务方式": "delivery", "提供方式": "delivery", "项目分组": "group", "分组": "group",
        "别名": "aliases", "其他叫法": "aliases",
    },
    "offers": {
        "机构编号": "provider_id", "服务主体编号": "provider_id", "项目编号": "item_id", "服务项目": "item_id",
        "月服务能力": "capacity_per_month", "每月名额": "capacity_per_month", "服务能力": "capacity_per_month",
        "服务方式": "delivery", "上门半径": "reach_m", "服务半径": "reach_m", "上门服务半径": "reach_m",
    },
    "needs": {
        "需求编号": "need_id", "编号": "need_id", "户编号": "household_id", "对象编号": "household_id",
        "家庭编号": "household_id", "服务项目": "item_id", "需求": "item_id", "项目编号": "item_id",
        "紧急程度": "urgency", "紧急度": "urgency", "登记日期": "since", "提出日期": "since",
    },
}  # fmt: skip
MATCHING_KINDS = tuple(MATCHING_ALIASES)
#: wording of need types and deliveries in a spreadsheet -> code
NEED_TYPE_ALIASES = {
    "生存型": "survival", "生存": "survival", "关爱型": "care", "关爱": "care",
    "发展型": "development", "发展": "development", **{t: t for t in NEED_TYPES},
}  # fmt: skip
DELIVERY_ALIASES = {
    "到站": "onsite", "到店": "onsite", "现场": "onsite", "上门": "home", "入户": "home",
    "远程": "remote", "线上": "remote", "电话": "remote", **{d: d for d in DELIVERIES},
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


def catalogue_frame(items: tuple[ServiceItem, ...] = DEFAULT_CATALOGUE) -> pd.DataFrame:
    """A catalogue as a table (``CATALOGUE_COLUMNS``; ``aliases`` joined with ``;``).

    The default is :data:`core.vocab.DEFAULT_CATALOGUE`, an example for Xihu that the
    bureau edits and replaces by importing its own list.
    """
    return pd.DataFrame(
        {
            "item_id": [s.code for s in items],
            "name": [s.name_zh for s in items],
            "need_type": [s.need_type for s in items],
            "delivery": [s.delivery for s in items],
            "group": [s.group for s in items],
            "aliases": [LIST_SEP.join(s.aliases) for s in items],
        },
        columns=list(CATALOGUE_COLUMNS),
    )
