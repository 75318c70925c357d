"""Service records: the same person across ID forms, catalogue aliases, reasons, nothing lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import CatalogueError, ServiceRecordsError
from data.idcard import check_digit, id_hash
from data.service_records import (
    catalogue_from_frame,
    default_catalogue,
    household_key,
    import_service_records,
    normalize_department,
    parse_dates,
    recover_id_text,
)

KEY = b"test-id-hash-key-0123456789"


def id18(first17: str) -> str:
    return first17 + check_digit(first17)


# a number whose check character is X (found by search, so the lower-case case is real)
ID_X = next(id18(f"33010619850302{n:03d}") for n in range(1000) if id18(f"33010619850302{n:03d}").endswith("X"))
OLD15 = "330106850301123"  # first-generation card: upgraded to 33010619850301123?
NEW18 = id18("33010619850301123")


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows).fillna("").astype(str)


def test_same_person_across_id_forms() -> None:
    raw = frame(
        [
            {"记录编号": "1", "身份证号": NEW18, "服务项目": "医疗救助", "部门": "医保局", "日期": "2026-03-02"},
            {"记录编号": "2", "身份证号": OLD15, "服务项目": "医疗救助", "部门": "民政局", "日期": "2026-03-03"},
            {
                "记录编号": "3",
                "身份证号": "3.30106850301123E+14",
                "服务项目": "S02",
                "部门": "慈善总会",
                "日期": "2026-03-04",
            },
            {
                "记录编号": "4",
                "身份证号": f"{NEW18[:6]} {NEW18[6:]}",
                "服务项目": "S02",
                "部门": "卫健",
                "日期": "2026-03-04",
            },
            {"记录编号": "5", "身份证号": ID_X.lower(), "服务项目": "S02", "部门": "卫健", "日期": "2026-03-04"},
            {"记录编号": "6", "身份证号": ID_X, "服务项目": "S02", "部门": "医保", "日期": "2026-03-04"},
        ]
    )
    res = import_service_records(raw, default_catalogue(), key=KEY)
    assert res.summary["rejected"] == 0, res.rejected
    keys = res.accepted["person_key"].tolist()
    assert len(set(keys[:4])) == 1 and keys[0] == id_hash(NEW18, KEY)
    assert keys[4] == keys[5] == id_hash(ID_X, KEY) != keys[0]
    assert NEW18 not in res.accepted.to_csv() and OLD15 not in res.accepted.to_csv()
    assert set(res.warnings["code"]) == {"id_upgraded_15", "id_recovered"}
    assert res.accepted["department"].tolist() == ["医保", "民政", "慈善总会", "卫健", "卫健", "医保"]


def test_unrecoverable_ids_rejected_with_reason_and_nothing_lost() -> None:
    mangled = "3.30106E+17"
    rounded = NEW18[:15] + "000"  # what Excel keeps of an 18-digit number
    raw = frame(
        [
            {"record_id": "1", "id_card": mangled, "item_name": "医疗救助", "department": "医保", "date": "2026-03-02"},
            {"record_id": "2", "id_card": rounded, "item_name": "医疗救助", "department": "医保", "date": "2026-03-02"},
            {"record_id": "3", "id_card": NEW18[:-1] + "0" if NEW18[-1] != "0" else NEW18[:-1] + "1",
             "item_name": "医疗救助", "department": "医保", "date": "2026-03-02"},
            {"record_id": "4", "id_card": "", "item_name": "医疗救助", "department": "医保", "date": "2026-03-02"},
            {"record_id": "5", "id_card": NEW18, "item_name": "不存在的项目", "department": "医保",
             "date": "2026-03-02"},
            {"record_id": "6", "id_card": NEW18, "item_name": "S02", "department": "医保", "date": "3月2日"},
            {"record_id": "6b", "id_card": NEW18, "item_name": "S02", "department": "医保", "date": "2026-03-02"},
            {"record_id": "7", "id_card": NEW18, "item_name": "S02", "department": "医保", "date": "2026-03-02",
             "amount": "-3"},
            {"record_id": "8", "id_card": NEW18, "item_name": "S02", "department": "医保", "date": "2026-03-02",
             "amount": "￥1,200.5"},
            {"record_id": "", "id_card": "", "item_name": "", "department": "", "date": "", "amount": ""},
        ]
    )  # fmt: skip
    res = import_service_records(raw, default_catalogue(), key=KEY)
    s = res.summary
    assert s["read"] == 9 and s["blank_rows"] == 1
    assert s["accepted"] + s["rejected"] == s["read"]
    assert res.rejected["reason_code"].tolist() == [
        "id_excel_mangled", "id_excel_mangled", "id_bad_checksum", "missing_person", "unknown_item",
        "bad_date", "bad_amount",
    ]  # fmt: skip
    assert res.rejected["source_row"].tolist() == [2, 3, 4, 5, 6, 7, 9]
    assert res.rejected["reason"].str.len().min() > 4
    assert res.accepted["record_id"].tolist() == ["6b", "8"]
    assert res.accepted["amount"].iloc[1] == pytest.approx(1200.5)
    assert np.isnan(res.accepted["amount"].iloc[0])


def test_duplicate_record_id_within_a_department() -> None:
    row = {"record_id": "1", "household_id": "H1", "item_id": "S02", "department": "医保", "date": "2026-03-02"}
    raw = frame([row, row, {**row, "department": "民政"}])
    res = import_service_records(raw, default_catalogue(), key=KEY)
    assert res.rejected["reason_code"].tolist() == ["duplicate_record_id"]
    assert "第 2 行" in res.rejected["reason"].iloc[0]


def test_household_rows_take_the_households_id_hash() -> None:
    households = pd.DataFrame({"beneficiary_id": ["B1"], "id_hash": [id_hash(NEW18, KEY)]})
    raw = frame(
        [
            {"record_id": "1", "household_id": "B1", "item_id": "S02", "department": "医保", "date": "2026-03-02"},
            {"record_id": "2", "id_card": NEW18, "item_id": "S02", "department": "民政", "date": "2026-03-02"},
            {"record_id": "3", "household_id": "B2", "item_id": "S02", "department": "民政", "date": "2026-03-02"},
        ]
    )
    res = import_service_records(raw, default_catalogue(), key=KEY, households=households)
    keys = res.accepted["person_key"].tolist()
    assert keys[0] == keys[1] == id_hash(NEW18, KEY)
    assert keys[2] == household_key("B2", KEY) and "B2" not in keys[2]


def test_missing_columns_is_a_file_error() -> None:
    with pytest.raises(ServiceRecordsError, match="部门"):
        import_service_records(frame([{"记录编号": "1", "身份证号": NEW18, "服务项目": "S02", "日期": "2026-03-01"}]),
                               default_catalogue(), key=KEY)  # fmt: skip


def test_catalogue_groups_and_aliases() -> None:
    cat = catalogue_from_frame(
        pd.DataFrame(
            {
                "项目编号": ["M1", "M2", "E1"],
                "项目名称": ["医疗救助", "大病补助", "就业援助"],
                "need_type": ["survival", "survival", "development"],
                "delivery": ["cash", "cash", "service"],
                "group": ["medical", "medical", ""],
                "aliases": ["医疗补助;看病补助", "重大疾病救助", ""],
            }
        )
    )
    assert cat.resolve("看病补助") == "M1" and cat.resolve("重大疾病救助") == "M2" and cat.resolve(" m1 ") == "M1"
    assert cat.group_of() == {"M1": "medical", "M2": "medical", "E1": "E1"}
    with pytest.raises(CatalogueError, match="同时指向"):
        catalogue_from_frame(pd.DataFrame({"item_id": ["A", "B"], "name": ["x", "y"], "aliases": ["z", "z"]}))
    with pytest.raises(CatalogueError, match="重复"):
        catalogue_from_frame(pd.DataFrame({"item_id": ["A", "A"], "name": ["x", "y"]}))
    with pytest.raises(CatalogueError, match="name"):
        catalogue_from_frame(pd.DataFrame({"item_id": ["A"]}))


def test_default_catalogue_uses_the_default_groups() -> None:
    cat = default_catalogue()
    assert cat.group_of()["C04"] == cat.group_of()["C07"] == cat.group_of()["C09"] == "助老照护"
    assert cat.group_of()["C01"] != cat.group_of()["C02"]
    assert cat.resolve("情绪支持") == "C02" and cat.resolve("Medical assistance") == "S02"


def test_departments_dates_and_recovery() -> None:
    assert normalize_department("西湖区民政局") == normalize_department("民政") == "民政"
    assert normalize_department("杭州市西湖区医疗保障局") == "医保"
    assert normalize_department("某某基金会") == "某某基金会"
    dates = parse_dates(pd.Series(["2026-03-15", "2026/3/5", "2026年3月5日", "20260305", "46096", "2026-03-15 00:00:00",
                                   "x", "2026-02-30"]))  # fmt: skip
    assert [d.strftime("%Y-%m-%d") if pd.notna(d) else None for d in dates] == [
        "2026-03-15", "2026-03-05", "2026-03-05", "2026-03-05", "2026-03-15", "2026-03-15", None, None,
    ]  # fmt: skip
    assert recover_id_text("3.30106E+17") == ("3.30106E+17", False)
    assert recover_id_text("3.30106850301123e14") == ("330106850301123", True)
    # an 18-digit number with ".0" is recovered unless it is a float64 value (then digits may be lost)
    as_float = int(float(int(NEW18))) == int(NEW18)
    assert recover_id_text(NEW18 + ".0") == ((NEW18 + ".0", False) if as_float else (NEW18, True))
    assert recover_id_text("330106199001011008.0") == ("330106199001011008.0", False)  # exact float64
