"""Import of the matching tables (#12): service catalogue, offers and needs, Chinese headers, nothing lost."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import ColumnMappingError
from data.importer import ImportResult, import_matching_table
from data.schemas import CATALOGUE_COLUMNS, NEED_COLUMNS, OFFER_COLUMNS, catalogue_frame


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows).replace("", float("nan"))


def cat_row(i: int, **over: str) -> dict[str, str]:
    row = {"项目编号": f"X{i:02d}", "项目名称": f"项目{i}", "需求类型": "关爱型", "服务方式": "上门",
           "项目分组": "探访关爱", "别名": "探望、看望"}  # fmt: skip
    row.update(over)
    return row


def offer_row(i: int, **over: str) -> dict[str, str]:
    row = {"机构编号": f"P{i:02d}", "服务项目": "S06", "每月名额": "20人次/月", "服务方式": "", "上门半径": ""}
    row.update(over)
    return row


def need_row(i: int, **over: str) -> dict[str, str]:
    row = {"需求编号": f"N{i:03d}", "户编号": "B001", "服务项目": "医疗救助", "紧急程度": "3", "登记日期": "2026/10/5"}
    row.update(over)
    return row


CATALOGUE_CASES = {
    "missing_id": {"项目编号": ""},
    "duplicate_id": {"项目编号": "X01"},
    "missing_name": {"项目名称": ""},
    "missing_need_type": {"需求类型": ""},
    "bad_need_type": {"需求类型": "紧急型"},
    "missing_delivery": {"服务方式": ""},
    "bad_delivery": {"服务方式": "邮寄"},
}
OFFER_CASES = {
    "missing_id": {"机构编号": ""},
    "unknown_item": {"服务项目": "Z99"},
    "duplicate_offer": {"机构编号": "P01"},
    "missing_capacity": {"每月名额": ""},
    "bad_capacity": {"每月名额": "很多"},
    "bad_delivery": {"服务方式": "快递"},
    "bad_reach": {"服务方式": "上门", "上门半径": "两公里"},
    "unknown_provider": {"机构编号": "P77"},
}
NEED_CASES = {
    "missing_id": {"需求编号": ""},
    "duplicate_id": {"需求编号": "N001"},
    "missing_household": {"户编号": ""},
    "unknown_household": {"户编号": "B999"},
    "bad_need_urgency": {"紧急程度": "5"},
    "bad_since": {"登记日期": "去年冬天"},
}
MAKERS = {"catalogue": (cat_row, CATALOGUE_CASES), "offers": (offer_row, OFFER_CASES), "needs": (need_row, NEED_CASES)}
KNOWN = {"provider_ids": [f"P{i:02d}" for i in range(30)], "household_ids": ["B001", "B002"]}


def run_case(kind: str) -> tuple[ImportResult, dict[int, str]]:
    make, cases = MAKERS[kind]
    rows = [make(1), make(2)]
    expected = {}
    for k, (code, over) in enumerate(cases.items()):
        rows.append(make(10 + k, **over))
        expected[len(rows) + 1] = code
    kw = {"provider_ids": KNOWN["provider_ids"]} if kind == "offers" else {}
    if kind == "needs":
        kw = {"household_ids": KNOWN["household_ids"]}
    res = import_matching_table(frame(rows), kind, **kw)  # type: ignore[arg-type]
    assert res.summary["accepted"] + res.summary["rejected"] == res.summary["read"] == len(rows)
    return res, expected


def matching_case_results() -> list[ImportResult]:
    """One result per kind with one crafted row per reason (for test_every_reason_code_is_produced)."""
    return [run_case(kind)[0] for kind in MAKERS]


@pytest.mark.parametrize("kind", list(MAKERS))
def test_each_case_gives_its_reason(kind: str) -> None:
    res, expected = run_case(kind)
    got = dict(zip(res.rejected["source_row"], res.rejected["reason_code"], strict=True))
    assert got == expected
    assert len(res.accepted) == 2
    assert tuple(res.accepted.columns) == {"catalogue": CATALOGUE_COLUMNS, "offers": OFFER_COLUMNS,
                                           "needs": NEED_COLUMNS}[kind]  # fmt: skip


def test_catalogue_rows_become_codes() -> None:
    res = import_matching_table(
        frame([cat_row(1), cat_row(2, 需求类型="survival", 服务方式="远程", 别名="")]), "catalogue"
    )
    acc = res.accepted.set_index("item_id")
    assert acc.loc["X01", ["need_type", "delivery", "group", "aliases"]].tolist() == [
        "care",
        "home",
        "探访关爱",
        "探望;看望",
    ]
    assert acc.loc["X02", ["need_type", "delivery"]].tolist() == ["survival", "remote"]
    # the exported default catalogue imports back unchanged
    default = catalogue_frame()
    back = import_matching_table(default.astype(str).replace("", float("nan")), "catalogue").accepted
    pd.testing.assert_frame_equal(back.fillna(""), default.fillna(""), check_dtype=False)


def test_offer_values() -> None:
    rows = [offer_row(1, 服务方式="入户", 上门半径="1500米"), offer_row(2, 服务项目="C05", 每月名额="0")]
    acc = import_matching_table(frame(rows), "offers").accepted
    assert acc["capacity_per_month"].tolist() == [20, 0] and str(acc["capacity_per_month"].dtype) == "int64"
    assert acc["delivery"].fillna("-").tolist() == ["home", "-"]
    assert acc["reach_m"].fillna(-1).tolist() == [1500.0, -1]
    # an offer of an item of the user's own catalogue
    own = pd.DataFrame({"item_id": ["X01"], "name": ["项目1"]})
    res = import_matching_table(frame([offer_row(1, 服务项目="X01"), offer_row(2)]), "offers", catalogue=own)
    assert res.rejected["reason_code"].tolist() == ["unknown_item"]


def test_need_wording_is_matched_or_kept_unmapped() -> None:
    rows = [need_row(1), need_row(2, 服务项目="助餐"), need_row(3, 服务项目="打麻将"), need_row(4, 服务项目="S14")]
    res = import_matching_table(frame(rows), "needs")
    assert res.summary["accepted"] == 4
    assert res.accepted["item_id"].fillna("-").tolist() == ["S02", "S06", "-", "S14"]
    assert res.accepted["since"].tolist() == ["2026-10-05"] * 4
    assert res.summary["unmapped_needs"] == {"打麻将": 1}
    assert res.warnings["code"].tolist() == ["need_similar", "need_unmapped"]
    remembered = import_matching_table(frame(rows), "needs", need_aliases={"打麻将": "D03"})
    assert remembered.accepted["item_id"].tolist() == ["S02", "S06", "D03", "S14"]
    assert res.needs is res.accepted


def test_missing_columns_and_unknown_kind() -> None:
    with pytest.raises(ColumnMappingError, match="capacity_per_month"):
        import_matching_table(frame([{"机构编号": "P1", "服务项目": "S01"}]), "offers")
    with pytest.raises(ColumnMappingError, match="unknown kind"):
        import_matching_table(frame([need_row(1)]), "wishes")
