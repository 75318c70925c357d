"""A bureau's own files, written by the tests: every kind the Data page and ``data import --save`` take.

Derived from the demo generator's Xihu bundle (real network, synthetic people) but renamed
so that no demo id survives: households ``U…``, providers ``UP…``, needs ``UN…``; the ID-card
numbers are new valid ones; offers have other capacities; the catalogue renames one item.
Chinese headers throughout (one column needs the column mapping: ``镇街=town_code``).
Service records plant duplicate provision: the first ``n_dup`` households get 医疗救助 from
医保 and from 慈善总会 in March 2026 (household 0 also from 民政, named by household id
only); one row's ID number lost its digits in Excel and is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.i18n import CATEGORY_ZH
from data.schemas import catalogue_frame

DELIVERY_ZH = {"onsite": "到站", "home": "上门", "remote": "远程"}
NEED_TYPE_ZH = {"survival": "生存型", "care": "关爱型", "development": "发展型"}
#: the item the imported catalogue renames (and its new name)
RENAMED_ITEM = ("S06", "助餐送餐（本区）")
#: the two towns whose households are imported
TOWNS = ("330106010", "330106011")
#: what a bureau calls its files
FILE_NAMES = {"beneficiaries": "救助对象", "providers": "服务主体", "hubs": "服务站点", "catalogue": "服务清单",
              "offers": "服务供给", "needs": "需求清单", "records": "服务记录"}  # fmt: skip
#: the ``--map`` the beneficiaries file needs (its town column has a header no alias knows)
BEN_MAPPING = {"镇街": "town_code"}


def _check_digit(first17: str) -> str:
    s = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17)) % 11
    return {0: "1", 1: "0", 2: "X"}.get(s, str(12 - s))


def id_card(i: int) -> str:
    """A valid 18-digit number of Xihu (330106), born in the 1950s-80s."""
    born = (pd.Timestamp("1950-01-01") + pd.Timedelta(days=37 * i)).strftime("%Y%m%d")
    first17 = f"330106{born}{i % 1000:03d}"
    return first17 + _check_digit(first17)


@dataclass(frozen=True)
class UserFiles:
    """The written files (kind -> path) and what they hold."""

    paths: dict[str, Path]
    households: pd.DataFrame  # beneficiary_id, town_code, id_card, needs (codes)
    providers: pd.DataFrame  # provider_id
    offers: pd.DataFrame  # provider_id, item_id, capacity_per_month
    needs: pd.DataFrame  # need_id, household_id, item_id, urgency
    planted: dict[str, set[str]]  # id card -> departments of its duplicate flag
    n_records: int  # rows of the records file (one rejected)


def write_user_files(bundle: Any, folder: Path, *, max_households: int = 300, n_dup: int = 8) -> UserFiles:
    """Write ``folder/<kind>.csv`` for every kind (UTF-8 with BOM, Chinese headers)."""
    folder.mkdir(parents=True, exist_ok=True)
    ben = bundle.beneficiaries
    ben = ben[ben["town_code"].astype(str).isin(TOWNS)].head(max_households).reset_index(drop=True)
    hid = {old: f"U{k + 1:05d}" for k, old in enumerate(ben["beneficiary_id"])}
    cards = [id_card(k + 1) for k in range(len(ben))]
    code_name = dict(zip(catalogue_frame()["item_id"], catalogue_frame()["name"], strict=True))
    households = pd.DataFrame(
        {
            "编号": [hid[b] for b in ben["beneficiary_id"]],
            "姓名": ["王" + "小明" * (k % 2 + 1) for k in range(len(ben))],
            "身份证号": cards,
            "救助类别": [CATEGORY_ZH[c] for c in ben["category"]],
            "家庭人口": ben["household_size"].astype(str),
            "经度": ben["lon"].map(lambda v: f"{v:.6f}"),
            "纬度": ben["lat"].map(lambda v: f"{v:.6f}"),
            "社区编码": ben["community_code"].astype(str),
            "所属社区": ben["community_name"].astype(str),
            "镇街": ben["town_code"].astype(str),
            "需求": [
                "、".join(code_name[c] for c in str(v).split(";")) if isinstance(v, str) else "" for v in ben["needs"]
            ],
            "紧急程度": ben["urgency"].astype(str),
        }
    )
    prov = bundle.providers.reset_index(drop=True)
    pid = {old: f"UP{k + 1:04d}" for k, old in enumerate(prov["provider_id"])}
    providers = pd.DataFrame(
        {
            "编号": [pid[p] for p in prov["provider_id"]],
            "机构名称": prov["name"].str.replace("（合成）", "", regex=False),
            "主体类型": prov["kind"],
            "所属部门": prov["department"],
            "服务项目": prov["services"].fillna(""),
            "月服务能力": prov["capacity_month"].astype(str),
            "经度": prov["lon"].map(lambda v: f"{v:.6f}"),
            "纬度": prov["lat"].map(lambda v: f"{v:.6f}"),
        }
    )
    hubs = bundle.hubs.drop(columns=["synthetic"]).rename(
        columns={"hub_id": "编号", "name": "站点名称", "tier": "层级", "parent_id": "上级编号",
                 "town_code": "所属镇街编码", "lon": "经度", "lat": "纬度", "services": "服务项目",
                 "opening_hours": "开放时间", "location_source": "位置来源"}
    )  # fmt: skip
    hubs = hubs.drop(columns=["位置来源"])
    cat = catalogue_frame()
    cat.loc[cat["item_id"] == RENAMED_ITEM[0], "name"] = RENAMED_ITEM[1]
    catalogue = pd.DataFrame(
        {
            "项目编号": cat["item_id"],
            "项目名称": cat["name"],
            "需求类型": cat["need_type"].map(NEED_TYPE_ZH),
            "服务方式": cat["delivery"].map(DELIVERY_ZH),
            "项目分组": cat["group"].fillna(""),
            "别名": cat["aliases"].fillna(""),
        }
    )
    off = bundle.offers.reset_index(drop=True)
    cap = (off["capacity_per_month"] * 0.5).round().clip(lower=1).astype(int)
    offers = pd.DataFrame(
        {
            "机构编号": off["provider_id"].map(pid),
            "项目编号": off["item_id"],
            "月服务能力": cap.astype(str),
            "服务方式": off["delivery"].map(DELIVERY_ZH),
            "上门半径": off["reach_m"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        }
    )
    nd = bundle.needs[bundle.needs["household_id"].isin(set(hid))].reset_index(drop=True)
    needs = pd.DataFrame(
        {
            "需求编号": [f"UN{k + 1:06d}" for k in range(len(nd))],
            "户编号": nd["household_id"].map(hid),
            "项目编号": nd["item_id"],
            "紧急程度": nd["urgency"].astype(str),
            "登记日期": nd["since"].astype(str),
        }
    )
    recs: list[dict[str, str]] = []
    planted: dict[str, set[str]] = {}
    for k in range(n_dup):
        card = cards[k]
        shown = card if k % 2 else f"{card[:6]} {card[6:14]} {card[14:]}"  # spaces, as typed
        recs.append({"记录编号": f"YB-{k}", "身份证号": shown, "户编号": "", "服务项目": "医疗救助",
                     "部门": "西湖区医疗保障局", "日期": "2026-03-05", "金额": "800"})  # fmt: skip
        recs.append({"记录编号": f"CS-{k}", "身份证号": card, "户编号": "", "服务项目": "S02",
                     "部门": "慈善总会", "日期": "2026/3/20", "金额": "500元"})  # fmt: skip
        planted[card] = {"医保", "慈善总会"}
    recs.append({"记录编号": "MZ-0", "身份证号": "", "户编号": households["编号"].iloc[0], "服务项目": "医疗救助",
                 "部门": "民政", "日期": "2026-03-28", "金额": ""})  # fmt: skip
    planted[cards[0]].add("民政")
    for k in range(n_dup, min(n_dup + 20, len(cards))):
        recs.append({"记录编号": f"MZ-{k}", "身份证号": cards[k], "户编号": "", "服务项目": "低保金/兜底保障",
                     "部门": "民政", "日期": "2026-03-10", "金额": "1200"})  # fmt: skip
    recs.append({"记录编号": "MZ-BAD", "身份证号": "3.30106E+17", "户编号": "", "服务项目": "医疗救助",
                 "部门": "民政", "日期": "2026-03-11", "金额": "100"})  # fmt: skip
    records = pd.DataFrame(recs)
    frames = {
        "beneficiaries": households, "providers": providers, "hubs": hubs, "catalogue": catalogue,
        "offers": offers, "needs": needs, "records": records,
    }  # fmt: skip
    paths = {}
    for kind, frame in frames.items():
        paths[kind] = folder / f"{FILE_NAMES[kind]}.csv"
        frame.to_csv(paths[kind], index=False, encoding="utf-8-sig")
    hh = pd.DataFrame({"beneficiary_id": households["编号"], "town_code": households["镇街"], "id_card": cards})
    return UserFiles(
        paths=paths,
        households=hh.assign(needs=ben["needs"]),
        providers=pd.DataFrame({"provider_id": providers["编号"]}),
        offers=pd.DataFrame(
            {"provider_id": offers["机构编号"], "item_id": offers["项目编号"], "capacity_per_month": cap}
        ),
        needs=pd.DataFrame(
            {
                "need_id": needs["需求编号"],
                "household_id": needs["户编号"],
                "item_id": nd["item_id"],
                "urgency": nd["urgency"].astype(int),
            }
        ),
        planted=planted,
        n_records=len(records),
    )


#: the order a bureau imports its files in (lists are checked against the tables before them)
IMPORT_ORDER = ("hubs", "providers", "beneficiaries", "catalogue", "offers", "needs", "records")


def import_args(files: UserFiles, kind: str, out: Path, *, month: str = "2026-03", user: str = "测试员") -> list[str]:
    """The ``python -m data`` arguments that import and save one kind of ``files``."""
    args = ["import", "--kind", kind, "--input", str(files.paths[kind]), "--out", str(out / kind), "--save"]
    args += ["--user", user]
    if kind in ("hubs", "providers", "beneficiaries"):
        args += ["--network", "none", "--area", "none", "--communities", "none"]
        args += [f"--map={h}={c}" for h, c in BEN_MAPPING.items()] if kind == "beneficiaries" else []
    else:
        args += ["--month", month]
    return args
