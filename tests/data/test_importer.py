"""Import of real-world spreadsheets: aliases, encodings, every rejection reason, re-import, coordinates, CRS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Polygon

from core.errors import ColumnMappingError
from data.crs import to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from data.idcard import id_hash
from data.importer import (
    ANNOTATION_COLUMNS,
    REASONS,
    WARNINGS,
    ImportResult,
    import_table,
    map_columns,
    mappable_columns,
    parse_services,
)
from data.schemas import TABLE_COLUMNS
from data.tables import read_table
from geo.graph import WalkNetwork, great_circle_m
from geo.snap import Snapper

KEY = b"importer-test-key-0123456789"
#: a triangle: its bounding box's upper-right corner lies far outside it
AREA = Polygon([(120.00, 30.10), (120.30, 30.10), (120.00, 30.40)])
INSIDE = (120.05, 30.15)
IN_BOX_OUTSIDE = (120.28, 30.38)  # ~18 km beyond the hypotenuse
COMMUNITIES = pd.DataFrame(
    {
        "community_code": ["330106002052", "330106004101", "330106004201"],
        "community_name": ["宝石社区", "西溪社区", "西溪村"],
        "lon": [120.06, 120.07, 120.08],
        "lat": [30.16, 30.17, 30.18],
    }
)
BEN_HEADERS = [
    "编号", "姓名", "身份证号", "救助类别", "家庭人口", "经度", "纬度", "坐标系",
    "地址", "所属社区", "需求", "紧急程度", "synthetic", "备注",
]  # fmt: skip


def gb11643(first17: str) -> str:
    """Check character by the standard's definition (weights 2**(17-i) mod 11), independent of data.idcard."""
    s = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17)) % 11
    return {0: "1", 1: "0", 2: "X"}.get(s, str(12 - s))


def id_card(i: int, born: str = "19800101") -> str:
    first17 = f"330106{born}{i:03d}"
    return first17 + gb11643(first17)


def ben(i: int, **over: str) -> dict[str, str]:
    """A valid beneficiary row (Chinese headers, all cells text), with overrides."""
    row = {
        "编号": f"B{i:03d}",
        "姓名": "张三明",
        "身份证号": id_card(i),
        "救助类别": "低保",
        "家庭人口": "3",
        "经度": f"{INSIDE[0] + 0.0005 * i:.6f}",
        "纬度": f"{INSIDE[1]:.6f}",
        "坐标系": "",
        "地址": "西湖区某路1号",
        "所属社区": "宝石社区",
        "需求": "医疗救助、心理咨询",
        "紧急程度": "4",
        "synthetic": "否",
        "备注": f"备注{i}",
    }
    row.update(over)
    return row


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows).replace("", np.nan)


def run(raw: pd.DataFrame, kind: str = "beneficiaries", **kw: object) -> ImportResult:
    kw.setdefault("area", AREA)
    kw.setdefault("communities", COMMUNITIES)
    if kind == "beneficiaries":
        kw.setdefault("id_key", KEY)
    res = import_table(raw, kind, **kw)  # type: ignore[arg-type]
    assert res.summary["accepted"] + res.summary["rejected"] == res.summary["read"]
    assert len(res.accepted) + len(res.rejected) == res.summary["read"]
    return res


def reason_by_row(res: ImportResult) -> dict[int, str]:
    return dict(zip(res.rejected["source_row"].tolist(), res.rejected["reason_code"].tolist(), strict=True))


# --------------------------------------------------------------------------- crafted rows, one per reason

_BAD_CHECKSUM = id_card(20)[:17] + ("1" if id_card(20)[17] != "1" else "2")

BEN_CASES: dict[str, dict[str, str]] = {
    "missing_id": {"编号": ""},
    "duplicate_id": {"编号": "B001"},
    "missing_id_card": {"身份证号": ""},
    "id_excel_mangled": {"身份证号": "3.30106E+17"},
    "id_bad_length": {"身份证号": "3301061980"},
    "id_bad_chars": {"身份证号": "33010619800101A12X"},
    "id_bad_region": {"身份证号": "990426199112010074"},  # check digit right, no province 99
    "id_bad_birthdate": {"身份证号": "330106198013010012"},
    "id_bad_checksum": {"身份证号": _BAD_CHECKSUM},
    "duplicate_id_card": {"身份证号": id_card(1)},
    "missing_category": {"救助类别": ""},
    "bad_category": {"救助类别": "低收入"},
    "bad_household_size": {"家庭人口": "三口"},
    "bad_urgency": {"紧急程度": "9"},
    "bad_flag": {"synthetic": "也许"},
    "bad_crs": {"坐标系": "北京54"},
    "bad_coords": {"经度": "120°3'15\""},
    "missing_coords": {"经度": "", "纬度": "", "所属社区": ""},
    "unknown_community": {"经度": "", "纬度": "", "所属社区": "火星社区"},
    "coords_out_of_range": {"经度": "200", "纬度": "95"},
    "coords_swapped": {"经度": str(IN_BOX_OUTSIDE[1]), "纬度": str(IN_BOX_OUTSIDE[0])},
    "outside_area": {"经度": str(IN_BOX_OUTSIDE[0]), "纬度": str(IN_BOX_OUTSIDE[1])},
}


def hub(i: int, **over: str) -> dict[str, str]:
    row = {
        "编号": f"H{i:02d}",
        "站点名称": f"服务点{i}",
        "层级": "村社",
        "上级编号": "T01",
        "所属镇街编码": "330106002",
        "服务项目": "上门探访;心理咨询",
        "开放时间": "周一至周五 9:00-17:00",
        "经度": f"{INSIDE[0]:.6f}",
        "纬度": f"{INSIDE[1] + 0.0005 * i:.6f}",
    }
    row.update(over)
    return row


HUB_CASES = {
    "missing_name": {"站点名称": ""},
    "missing_tier": {"层级": ""},
    "bad_tier": {"层级": "省级"},
    "bad_service": {"服务项目": "上门探访;算命"},
}


def provider(i: int, **over: str) -> dict[str, str]:
    row = {
        "机构编号": f"P{i:02d}",
        "机构名称": f"机构{i}",
        "主体类型": "社工站",
        "所属部门": "民政",
        "服务项目": "S01、就业援助",
        "月服务能力": "30人次/月",
        "经度": f"{INSIDE[0] + 0.0005 * i:.6f}",
        "纬度": f"{INSIDE[1] + 0.0005 * i:.6f}",
    }
    row.update(over)
    return row


PROVIDER_CASES = {
    "missing_kind": {"主体类型": ""},
    "bad_kind": {"主体类型": "个体户"},
    "bad_capacity": {"月服务能力": "很多"},
}


def _case_table(
    make: object, cases: dict[str, dict[str, str]], n_good: int = 2
) -> tuple[pd.DataFrame, dict[int, str], dict[int, int]]:
    """Good rows 1..n_good, then one row per case; returns the frame, expected code and maker index by source row."""
    assert callable(make)
    rows = [make(i) for i in range(1, n_good + 1)]
    expected: dict[int, str] = {}
    index: dict[int, int] = {}
    for k, (code, over) in enumerate(cases.items()):
        i = 10 + k
        rows.append(make(i, **over))
        expected[len(rows) + 1] = code
        index[len(rows) + 1] = i
    return frame(rows), expected, index


def _all_results() -> list[ImportResult]:
    out = []
    for make, cases, kind in ((ben, BEN_CASES, "beneficiaries"), (hub, HUB_CASES, "hubs")):
        raw, _, _ = _case_table(make, cases)
        out.append(run(raw, kind))
    raw, _, _ = _case_table(provider, PROVIDER_CASES)
    out.append(run(raw, "providers"))
    hashed = frame([{"编号": "B1", "救助类别": "低保", "经度": "120.05", "纬度": "30.15", "id_hash": "not-a-hash"}])
    out.append(run(hashed))
    from tests.data.test_matching_import import matching_case_results

    out.extend(matching_case_results())
    return out


# --------------------------------------------------------------------------- column mapping


def test_all_listed_chinese_aliases_map() -> None:
    raw = frame([ben(1)])
    view, used, unmapped = map_columns(raw, "beneficiaries")
    assert used == {
        "编号": "beneficiary_id",
        "姓名": "person_name",
        "身份证号": "id_card",
        "救助类别": "category",
        "家庭人口": "household_size",
        "经度": "lon",
        "纬度": "lat",
        "坐标系": "crs",
        "地址": "address",
        "所属社区": "community_name",
        "需求": "needs",
        "紧急程度": "urgency",
        "synthetic": "synthetic",
    }
    assert unmapped == ["备注"]
    assert list(view.columns) == list(used.values())
    assert view["category"].tolist() == ["低保"]


def test_hub_and_provider_aliases_map() -> None:
    _, used, unmapped = map_columns(frame([hub(1, 地址="x", 坐标系="gcj02")]), "hubs")
    assert used == {
        "编号": "hub_id",
        "站点名称": "name",
        "层级": "tier",
        "上级编号": "parent_id",
        "所属镇街编码": "town_code",
        "服务项目": "services",
        "开放时间": "opening_hours",
        "经度": "lon",
        "纬度": "lat",
        "地址": "address",
        "坐标系": "crs",
    }
    assert unmapped == []
    _, used, _ = map_columns(frame([provider(1)]), "providers")
    assert used == {
        "机构编号": "provider_id",
        "机构名称": "name",
        "主体类型": "kind",
        "所属部门": "department",
        "服务项目": "services",
        "月服务能力": "capacity_month",
        "经度": "lon",
        "纬度": "lat",
    }
    _, used, _ = map_columns(pd.DataFrame(columns=["编号", "名称", "类型", "部门", "服务能力"]), "providers")
    assert used == {
        "编号": "provider_id",
        "名称": "name",
        "类型": "kind",
        "部门": "department",
        "服务能力": "capacity_month",
    }


def test_headers_are_normalised() -> None:
    raw = pd.DataFrame(columns=["\ufeffID", " Longitude ", "LAT", "经度(高德)", "家庭人口（人）", "救助 类别"])
    _, used, unmapped = map_columns(raw, "beneficiaries")
    assert used == {
        "\ufeffID": "beneficiary_id",
        " Longitude ": "lon",
        "LAT": "lat",
        "家庭人口（人）": "household_size",
        "救助 类别": "category",
    }
    assert unmapped == ["经度(高德)"]  # lon is taken by the first header claiming it


def test_user_mapping_wins_and_ignores() -> None:
    raw = pd.DataFrame({"对象编号X": ["a"], "X坐标": ["120.05"], "纬度": ["30.15"], "经度": ["1"], "类别": ["低保"]})
    view, used, unmapped = map_columns(
        raw, "beneficiaries", {"对象编号X": "beneficiary_id", "X坐标": "lon", "经度": None}
    )
    assert used == {"对象编号X": "beneficiary_id", "X坐标": "lon", "纬度": "lat", "类别": "category"}
    assert unmapped == []  # the ignored column is not reported
    assert view["lon"].tolist() == ["120.05"]
    res = run(raw, mapping={"对象编号X": "beneficiary_id", "X坐标": "lon", "经度": None})
    assert res.summary["accepted"] == 1 and res.accepted["lon"].iloc[0] == pytest.approx(120.05)
    assert res.summary["mapping"]["X坐标"] == "lon"


def test_mapping_errors() -> None:
    raw = pd.DataFrame(columns=["a", "b"])
    with pytest.raises(ColumnMappingError, match="不在表中"):
        map_columns(raw, "hubs", {"zzz": "hub_id"})
    with pytest.raises(ColumnMappingError, match="不能映射"):
        map_columns(raw, "hubs", {"a": "id_card"})  # beneficiaries only
    with pytest.raises(ColumnMappingError, match="同一目标列"):
        map_columns(raw, "hubs", {"a": "name", "b": "name"})
    with pytest.raises(ColumnMappingError, match="未知的数据类型"):
        map_columns(raw, "people")
    assert "id_card" in mappable_columns("beneficiaries") and "need_type" not in mappable_columns("beneficiaries")


def test_missing_required_columns_are_named() -> None:
    raw = pd.DataFrame({"编号": ["H1"], "名字": ["x"], "经度": ["120.05"], "纬度": ["30.15"]})
    with pytest.raises(ColumnMappingError, match=r"缺少必需的列.*名称（name）.*层级（tier）.*名字"):
        import_table(raw, "hubs")
    with pytest.raises(ColumnMappingError, match="纬度"):
        import_table(pd.DataFrame({"编号": ["B1"], "救助类别": ["低保"], "经度": ["120"]}), "beneficiaries")


# --------------------------------------------------------------------------- files and encodings


def _write_csv(path: Path, rows: list[dict[str, str]], encoding: str) -> None:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_encodings_with_chinese(tmp_path: Path, encoding: str) -> None:
    rows = [ben(1, 姓名="欧阳娜娜"), ben(2, 身份证号="3.30106E+17"), ben(3, 身份证号="330106198001010000")]
    p = tmp_path / f"b_{encoding}.csv"
    _write_csv(p, rows, encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            p.read_bytes().decode("utf-8")
    raw = read_table(p)
    assert list(raw.columns) == BEN_HEADERS
    res = run(raw)
    assert res.accepted["name_masked"].tolist() == ["欧**娜"]
    assert res.accepted["category"].tolist() == ["dibao"]
    assert res.accepted["community_name"].tolist() == ["宝石社区"]
    assert reason_by_row(res) == {3: "id_excel_mangled", 4: "id_excel_mangled"}
    assert res.rejected["身份证号"].tolist() == ["3.30106E+17", "330106198001010000"]  # untouched
    assert all("Excel" in r for r in res.rejected["reason"])


def test_xlsx_with_numeric_id_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(BEN_HEADERS)
    numeric_rows = {
        2: int(id_card(2)),  # an int: openpyxl, like Excel, stores a double
        3: float(id_card(3)[:15] + "000"),  # what Excel keeps of an 18-digit number
        4: 3.30106e17,
    }
    for i in range(1, 6):
        values: list[object] = list(ben(i).values())
        if i in numeric_rows:
            values[2] = numeric_rows[i]
        if i == 5:
            values[2] = 330106800101123  # a 15-digit old number, exact in a double
        values[4] = 3  # numbers elsewhere are fine
        ws.append(values)
    p = tmp_path / "b.xlsx"
    wb.save(p)
    raw = read_table(p)
    res = run(raw)
    assert reason_by_row(res) == {3: "id_excel_mangled", 4: "id_excel_mangled", 5: "id_excel_mangled"}
    assert res.accepted["beneficiary_id"].tolist() == ["B001", "B005"]
    assert res.accepted["household_size"].tolist() == [3, 3]
    assert res.warnings["code"].tolist() == ["id_upgraded_15"]
    upgraded = "33010619800101123"
    assert res.accepted["id_hash"].iloc[1] == id_hash(upgraded + gb11643(upgraded), KEY)


def test_blank_rows_skipped_and_lines_counted(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    rows = [ben(1), ben(2, 救助类别="")]
    text = pd.DataFrame(rows).to_csv(index=False)
    header, r1, r2 = text.strip().split("\n")
    p.write_text("\n".join([header, r1, "", ",,,,,,,,,,,,,", r2]) + "\n", encoding="utf-8-sig")
    res = run(read_table(p))
    assert res.summary["read"] == 2 and res.summary["blank_rows"] == 2
    assert reason_by_row(res) == {5: "missing_category"}  # line 5 of the file, as Excel numbers it


# --------------------------------------------------------------------------- every reason


def test_beneficiary_cases_give_their_reason() -> None:
    raw, expected, _ = _case_table(ben, BEN_CASES)
    res = run(raw)
    assert reason_by_row(res) == expected
    assert res.accepted["beneficiary_id"].tolist() == ["B001", "B002"]
    assert res.summary["reasons"] == dict.fromkeys(BEN_CASES, 1)


def test_hub_and_provider_cases_give_their_reason() -> None:
    for make, cases, kind in ((hub, HUB_CASES, "hubs"), (provider, PROVIDER_CASES, "providers")):
        raw, expected, _ = _case_table(make, cases)
        res = run(raw, kind)
        assert reason_by_row(res) == expected, kind
        assert len(res.accepted) == 2


def test_every_reason_code_is_produced() -> None:
    produced: set[str] = set()
    for res in _all_results():
        produced |= set(res.rejected["reason_code"])
    for code in REASONS:
        assert code in produced, f"no test row produces {code}"
    assert produced <= set(REASONS)


def test_reason_messages_are_chinese_and_format() -> None:
    ctx = {"value": "x", "where": "第 2 行", "column": "c", "detail": "", "lon": "1", "lat": "2", "area": "西湖区"}
    for table in (REASONS, WARNINGS):
        for code, template in table.items():
            text = template.format(**ctx, declared="a", detected="b", item="医疗救助")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), code


def test_reason_lists_every_problem_of_a_row() -> None:
    res = run(frame([ben(1, 救助类别="", 紧急程度="0", 经度="abc")]))
    row = res.rejected.iloc[0]
    assert row["reason_code"] == "missing_category"
    assert (
        "救助类别为空" in row["reason"]
        and "紧急程度“0”无效" in row["reason"]
        and "经纬度“abc”无法解析" in row["reason"]
    )


def test_duplicates_against_existing_data() -> None:
    raw = frame([ben(1), ben(2)])
    res = run(raw, existing_ids=["B002"], existing_id_hashes=[id_hash(id_card(1), KEY)])
    assert reason_by_row(res) == {2: "duplicate_id_card", 3: "duplicate_id"}
    assert "已存在" in res.rejected["reason"].iloc[1]


def test_rejected_keeps_original_columns_and_reimports_after_fix() -> None:
    raw, expected, index = _case_table(ben, BEN_CASES)
    first = run(raw)
    rej = first.rejected
    assert list(rej.columns) == [*raw.columns, *ANNOTATION_COLUMNS]
    # every original cell untouched
    original = raw.iloc[rej["source_row"].to_numpy() - 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(rej[list(raw.columns)], original)

    # the user fixes the flagged cells in Excel (here: the case's base values) ...
    fixed = rej.copy()
    for j, src in enumerate(rej["source_row"].tolist()):
        good = ben(index[src])
        for column in BEN_CASES[expected[src]]:
            fixed.loc[j, column] = good[column] or np.nan
    existing = first.accepted["beneficiary_id"].tolist()
    hashes = first.accepted["id_hash"].tolist()
    # ... and imports the file again, with or without the annotation columns
    for again in (fixed.drop(columns=list(ANNOTATION_COLUMNS)), fixed):
        res = run(again, existing_ids=existing, existing_id_hashes=hashes)
        assert res.summary["rejected"] == 0, res.rejected[["source_row", "reason"]].to_string()
        assert res.summary["accepted"] == len(BEN_CASES)
        assert res.summary["unmapped"] == ["备注"]


def test_invariant_on_random_junk() -> None:
    rng = np.random.default_rng(11)
    pool = ["", " ", "低保", "x", "3", "-1", "120.05", "30.15", "1e400", "NaN", "None", "3.30106E+17", "宝石社区",
            "gcj02", "是", "\u3000", "S01", "120,05", "0"]  # fmt: skip
    rows = [{h: pool[rng.integers(len(pool))] for h in BEN_HEADERS} for _ in range(300)]
    res = run(frame(rows))
    assert res.summary["read"] + res.summary["blank_rows"] == 300
    assert set(res.rejected["reason_code"]) <= set(REASONS)
    json.dumps(res.summary)


# --------------------------------------------------------------------------- accepted rows


def test_accepted_is_canonical_and_private() -> None:
    rows = [
        ben(1, 姓名="王小明", 需求="医疗救助、心理咨询", 家庭人口="4人"),
        ben(2, 需求="技能培训", 紧急程度="", 家庭人口=""),
    ]
    res = run(frame(rows))
    acc = res.accepted
    assert tuple(acc.columns) == TABLE_COLUMNS["beneficiaries"]
    cells = {str(v) for v in acc.to_numpy().ravel()}
    assert not {"王小明", "张三明", id_card(1), id_card(2)} & cells  # no clear name or ID number
    assert acc["name_masked"].tolist() == ["王*明", "张*明"]
    assert acc["id_hash"].tolist() == [id_hash(id_card(1), KEY), id_hash(id_card(2), KEY)]
    assert acc["id_last4"].tolist() == [id_card(1)[-4:], id_card(2)[-4:]]
    assert acc["needs"].tolist() == ["S02;C01", "D02"]
    assert acc["need_type"].tolist() == ["survival", "development"]
    assert acc["household_size"].tolist()[0] == 4 and acc["household_size"].isna().tolist() == [False, True]
    assert acc["urgency"].isna().tolist() == [False, True]
    assert acc["community_code"].tolist() == ["330106002052"] * 2
    assert acc["town_code"].tolist() == ["330106002"] * 2
    assert acc["coord_approx"].tolist() == [False, False] and acc["synthetic"].tolist() == [False, False]
    assert {c: str(t) for c, t in acc.dtypes.items() if c in ("lon", "household_size", "synthetic", "category")} == {
        "category": "str",
        "household_size": "Int64",
        "lon": "float64",
        "synthetic": "bool",
    }
    json.dumps(res.summary)


def test_no_key_still_validates_and_deduplicates() -> None:
    res = run(frame([ben(1), ben(2, 身份证号=id_card(1))]), id_key=None)
    assert reason_by_row(res) == {3: "duplicate_id_card"}
    assert res.accepted["id_hash"].isna().all() and res.accepted["id_last4"].tolist() == [id_card(1)[-4:]]
    assert any("密钥" in n for n in res.summary["notes"])


def test_hubs_and_providers_normalised() -> None:
    res = run(frame([hub(1), hub(2, 层级="镇街服务站", 服务项目="")]), "hubs")
    acc = res.accepted
    assert tuple(acc.columns) == TABLE_COLUMNS["hubs"]
    assert acc["tier"].tolist() == ["village", "town"]
    assert acc["services"].tolist()[0] == "C03;C01" and pd.isna(acc["services"].iloc[1])
    assert acc["location_source"].tolist() == ["imported", "imported"]
    res = run(frame([provider(1), provider(2, 主体类型="志愿者", 月服务能力="")]), "providers")
    acc = res.accepted
    assert acc["kind"].tolist() == ["social_org", "volunteer"]
    assert acc["services"].tolist() == ["S01;D01", "S01;D01"]
    assert acc["capacity_month"].tolist()[0] == 30 and pd.isna(acc["capacity_month"].iloc[1])


def test_parse_services_variants() -> None:
    assert parse_services("低保金/兜底保障；情绪支持/陪伴, home visits | s04") == (["S01", "C02", "C03", "S04"], [])
    assert parse_services("医疗救助、打麻将") == (["S02"], ["打麻将"])
    assert parse_services("") == ([], [])


# --------------------------------------------------------------------------- coordinates


def test_swapped_coordinates_fixed_inside_area() -> None:
    res = run(frame([ben(1, 经度="30.15", 纬度="120.05")]))
    assert res.summary["accepted"] == 1
    assert (res.accepted["lon"].iloc[0], res.accepted["lat"].iloc[0]) == (120.05, 30.15)
    assert res.warnings["code"].tolist() == ["coords_swapped_fixed"]
    assert "已自动交换" in res.warnings["message"].iloc[0] and res.warnings["source_row"].tolist() == [2]


def test_swapped_coordinates_rejected_outside_area() -> None:
    res = run(frame([ben(1, 经度="30.38", 纬度="120.28")]))
    assert reason_by_row(res) == {2: "coords_swapped"}
    assert res.warnings.empty


def test_swapped_without_area_uses_china() -> None:
    res = run(frame([ben(1, 经度="30.15", 纬度="120.05"), ben(2, 经度="10", 纬度="170")]), area=None)
    assert res.accepted["lon"].tolist() == [120.05]
    assert reason_by_row(res) == {3: "coords_out_of_range"}


def test_outside_area_and_buffer() -> None:
    # ~550 m beyond the triangle's western edge (lon 120.00): inside a 1 km buffer, outside a 300 m one
    near = ben(1, 经度="119.99427", 纬度="30.2")
    assert run(frame([near])).summary["accepted"] == 1
    res = run(frame([near]), area_buffer_m=300)
    assert reason_by_row(res) == {2: "outside_area"}
    assert "300 米" in res.rejected["reason"].iloc[0]


def test_zero_coordinates_count_as_missing() -> None:
    res = run(frame([ben(1, 经度="0", 纬度="0", 所属社区=""), ben(2, 经度="0", 纬度="0")]))
    assert reason_by_row(res) == {2: "missing_coords"}
    assert res.accepted["coord_approx"].tolist() == [True]


def test_community_placement_is_approximate() -> None:
    rows = [
        ben(1, 经度="", 纬度="", 所属社区="宝石"),  # short name
        ben(2, 经度="", 纬度="", 所属社区="西溪社区"),
        ben(3, 经度="", 纬度="", 所属社区="西溪"),  # ambiguous: 西溪社区 / 西溪村
        ben(4, 经度="120.05", 纬度="", 所属社区="宝石社区"),  # half a coordinate
    ]
    res = run(frame(rows))
    acc = res.accepted.set_index("beneficiary_id")
    assert acc.loc["B001", ["lon", "lat"]].tolist() == [120.06, 30.16]
    assert acc.loc["B002", ["lon", "lat"]].tolist() == [120.07, 30.17]
    assert acc["coord_approx"].all()
    assert acc.loc["B001", "community_name"] == "宝石社区" and acc.loc["B001", "community_code"] == "330106002052"
    assert reason_by_row(res) == {4: "unknown_community"}
    assert res.warnings["code"].tolist() == ["coord_approx_community"] * 3
    no_table = run(frame([ben(1, 经度="", 纬度="")]), communities=None)
    assert reason_by_row(no_table) == {2: "unknown_community"}


def test_hub_placed_at_community_with_user_mapping() -> None:
    raw = frame([hub(1, 经度="", 纬度="") | {"所属社区": "宝石社区"}])
    res = run(raw, "hubs", mapping={"所属社区": "community_name"})
    assert res.accepted["location_source"].tolist() == ["community_centroid"]
    assert res.accepted["lon"].tolist() == [120.06]
    res = run(frame([provider(1, 经度="", 纬度="")]), "providers")
    assert reason_by_row(res) == {2: "missing_coords"}


def test_row_crs_column_overrides_file_level() -> None:
    g_lon, g_lat = wgs84_to_gcj02(INSIDE[0], INSIDE[1])
    b_lon, b_lat = wgs84_to_bd09(INSIDE[0], INSIDE[1])
    rows = [
        ben(1, 经度=f"{g_lon:.9f}", 纬度=f"{g_lat:.9f}", 坐标系="GCJ-02"),
        ben(2, 经度=f"{b_lon:.9f}", 纬度=f"{b_lat:.9f}", 坐标系="百度"),
        ben(3, 经度=f"{INSIDE[0]}", 纬度=f"{INSIDE[1]}"),
    ]
    res = run(frame(rows))
    d = great_circle_m(res.accepted["lon"], res.accepted["lat"], INSIDE[0], INSIDE[1])
    assert (d < 0.01).all()
    assert res.summary["crs_source"] == "fallback" and res.summary["crs_detected"] == "wgs84"
    assert "无法自动识别" in res.summary["crs_message_zh"]
    assert res.summary["crs_rows"] == {"bd09": 1, "gcj02": 1, "wgs84": 1}
    declared = run(frame([ben(3, 经度=f"{g_lon:.9f}", 纬度=f"{g_lat:.9f}")]), crs="gcj02")
    assert great_circle_m(declared.accepted["lon"], declared.accepted["lat"], *INSIDE)[0] < 0.01
    assert declared.summary["crs_source"] == "declared"


# --------------------------------------------------------------------------- CRS detection on the real network


def _network_points(net: WalkNetwork, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(net.n_nodes, size=n, replace=False)
    # a few metres off the vertices, as geocoded addresses are
    return net.node_lon[idx] + rng.uniform(-4e-5, 4e-5, n), net.node_lat[idx] + rng.uniform(-3e-5, 3e-5, n)


def _hub_frame(lon: np.ndarray, lat: np.ndarray, **extra: str) -> pd.DataFrame:
    return frame(
        [
            {"编号": f"H{i}", "名称": f"点{i}", "层级": "村社", "经度": f"{x:.9f}", "纬度": f"{y:.9f}", **extra}
            for i, (x, y) in enumerate(zip(lon, lat, strict=True))
        ]
    )


@pytest.mark.xihu
@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_real_network_points_detected_and_restored(xihu_net: WalkNetwork, system: str) -> None:
    lon0, lat0 = _network_points(xihu_net, 150, seed=5)
    shifted = wgs84_to_gcj02(lon0, lat0) if system == "gcj02" else wgs84_to_bd09(lon0, lat0)
    res = run(_hub_frame(*shifted), "hubs", snapper=Snapper(xihu_net), area=None)
    s = res.summary
    assert (s["crs_detected"], s["crs_source"], s["crs_confident"]) == (system, "auto", True)
    assert s["accepted"] == 150 and s["crs_rows"] == {system: 150}
    assert s["crs_margin_m"] is not None and s["crs_margin_m"] > 50
    d = great_circle_m(res.accepted["lon"].to_numpy(), res.accepted["lat"].to_numpy(), lon0, lat0)
    assert d.max() < 1.0
    assert res.warnings.empty


@pytest.mark.xihu
def test_wrong_declared_crs_is_honoured_with_warnings(xihu_net: WalkNetwork) -> None:
    lon0, lat0 = _network_points(xihu_net, 80, seed=6)
    g_lon, g_lat = wgs84_to_gcj02(lon0, lat0)
    snapper = Snapper(xihu_net)
    res = run(_hub_frame(g_lon, g_lat), "hubs", snapper=snapper, area=None, crs="wgs84")
    assert res.summary["crs_detected"] == "wgs84" and res.summary["crs_source"] == "declared"
    assert (res.warnings["code"] == "crs_declared_suspect").sum() == 80
    assert "GCJ-02" in res.warnings["message"].iloc[0] and "GCJ-02" in res.summary["crs_message_zh"]
    np.testing.assert_allclose(res.accepted["lon"].to_numpy(), g_lon, atol=1e-9)  # declared, so not converted
    # the same through a per-row 坐标系 column
    res = run(_hub_frame(g_lon, g_lat, 坐标系="WGS84"), "hubs", snapper=snapper, area=None)
    assert (res.warnings["code"] == "crs_declared_suspect").sum() == 80
    # and a correct declaration raises nothing
    res = run(_hub_frame(g_lon, g_lat, 坐标系="gcj02"), "hubs", snapper=snapper, area=None)
    assert res.warnings.empty
    w_lon, _w_lat = to_wgs84(g_lon, g_lat, "gcj02")
    np.testing.assert_allclose(res.accepted["lon"].to_numpy(), w_lon)
    assert great_circle_m(res.accepted["lon"].to_numpy(), res.accepted["lat"].to_numpy(), lon0, lat0).max() < 1.0


@pytest.mark.xihu
def test_real_district_area_and_communities(xihu_dir: Path) -> None:
    from data.importer import read_area, read_communities

    area = read_area(xihu_dir / "district_wgs84.geojson")
    comm = read_communities(xihu_dir / "centroids_2016_wgs84.geojson")
    assert area.geom_type in ("Polygon", "MultiPolygon") and len(comm) == 70
    assert area.area * 111 * 96 == pytest.approx(313, rel=0.05)  # km², roughly
    rows = [
        {"编号": "B1", "救助类别": "低保", "经度": "120.13", "纬度": "30.26"},  # West Lake area
        {"编号": "B2", "救助类别": "低保", "经度": "120.30", "纬度": "30.30"},  # Shangcheng, east of Xihu
        {"编号": "B3", "救助类别": "低保", "经度": "", "纬度": "", "所属社区": "宝石社区"},
        {"编号": "B4", "救助类别": "低保", "经度": "30.26", "纬度": "120.13"},
    ]
    res = import_table(frame(rows), "beneficiaries", area=area, communities=comm, area_name="西湖区")
    assert reason_by_row(res) == {3: "outside_area"}
    assert "西湖区" in res.rejected["reason"].iloc[0]
    assert res.accepted["coord_approx"].tolist() == [False, True, False]
    assert sorted(res.warnings["code"]) == ["coord_approx_community", "coords_swapped_fixed"]
