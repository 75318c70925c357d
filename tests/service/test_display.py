"""Frames as a person reads them: Chinese headers and values, no codes, no None/nan, IDs masked."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core.i18n import LABELS
from data.importer import REASONS, WARNINGS
from service.display import comparison_table, preview_table, reason_table, rejected_table, warnings_table

#: internal codes that must never reach a screen
CODES = re.compile(
    r"\b(dibao|dibian|tekun|linshi|zhuanxiang|survival|care|development|[SCD]0\d|None|nan|NaN|overall|covered)\b"
)


def _cells(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]


def _no_codes(frame: pd.DataFrame) -> None:
    bad = [c for c in _cells(frame) if CODES.search(c)]
    assert not bad, f"internal codes on screen: {bad[:5]}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reason_and_warning_code_has_a_name(lang: str) -> None:
    from data.feedback import REASONS as FEEDBACK_REASONS  # a survey's rejected rows show on the 满意度 page

    for kind, codes in (("import_reason", REASONS), ("import_reason", FEEDBACK_REASONS), ("import_warning", WARNINGS)):
        missing = set(codes) - set(LABELS[kind])
        assert not missing, f"{kind} without a name: {sorted(missing)}"
    table = reason_table(dict.fromkeys(REASONS, 1), lang)
    assert not any(name in REASONS for name in table.iloc[:, 0]), "a reason code is shown as its name"


def test_reason_table_names_and_counts_most_frequent_first() -> None:
    table = reason_table({"bad_category": 2, "id_bad_checksum": 5}, "zh")
    assert list(table.columns) == ["原因", "行数"]
    assert table.to_dict("records") == [
        {"原因": "身份证号校验位不符", "行数": 5},
        {"原因": "救助类别无法识别", "行数": 2},
    ]


def test_preview_speaks_chinese() -> None:
    accepted = pd.DataFrame(
        {
            "beneficiary_id": ["B1", "B2"],
            "category": ["dibao", None],
            "household_size": pd.array([3, pd.NA], dtype="Int64"),
            "lon": [120.1, np.nan],
            "lat": [30.2, np.nan],
            "community_name": ["翠苑一区", np.nan],
            "needs": ["C03;S01", None],
            "need_type": ["survival", "care"],
            "id_hash": ["ab" * 32, "cd" * 32],
            "synthetic": [True, False],
        }
    )
    view = preview_table(accepted, "zh")
    _no_codes(view)
    assert "身份证哈希" not in view.columns
    first = view.iloc[0].to_dict()
    assert first["救助类别"] == "低保" and first["需求类型"] == "生存型"
    assert first["需求"] == "上门探访、低保金/兜底保障" and first["模拟数据"] == "是"
    second = view.iloc[1].to_dict()
    assert second["救助类别"] == "" and second["家庭人口"] == "" and second["经度"] == "" and second["需求"] == ""


def test_warnings_table_headers_and_names() -> None:
    warnings = pd.DataFrame(
        {"source_row": [3], "record_id": ["B3"], "code": ["coords_swapped_fixed"], "message": ["经纬度填反"]}
    )
    view = warnings_table(warnings, "zh")
    assert list(view.columns) == ["行号", "编号", "提示", "说明"]
    assert view.iloc[0]["提示"] == "经纬度填反，已自动更正"


def test_rejected_rows_mask_id_numbers_and_names_on_screen() -> None:
    rejected = pd.DataFrame(
        {
            "编号": ["B1", "B2"],
            "姓名": ["张三明", None],
            "身份证号": ["330106199001011235", "33010619900101123X"],
            "备注": ["330106199001011234", np.nan],  # an ID number in an unmapped column
            "source_row": [2, 3],
            "reason_code": ["id_bad_checksum", "bad_category"],
            "reason": ["身份证号校验位不符", "救助类别无法识别"],
        }
    )
    mapping = {"编号": "beneficiary_id", "姓名": "person_name", "身份证号": "id_card"}
    view = rejected_table(rejected, mapping, "zh")
    _no_codes(view)
    assert list(view.columns[:3]) == ["行号", "原因", "说明"]
    assert view["身份证号"].tolist() == ["**************1235", "**************123X"]
    assert view["备注"].tolist() == ["**************1234", ""]
    assert view["姓名"].tolist() == ["张*明", ""]
    assert view["原因"].tolist() == ["身份证号校验位不符", "救助类别无法识别"]
    assert not any("330106" in c for c in _cells(view))
    # the frame itself (the download) keeps the numbers
    assert rejected["身份证号"].iloc[0] == "330106199001011235"


def test_comparison_table_rows_and_columns_in_chinese() -> None:
    compared = pd.DataFrame(
        {
            "group": ["overall", "overall", "category", "need_type", "town", "category"],
            "key": ["covered", "hubs", "dibao", "survival", "330106002", "None"],
            "n": [100.0, np.nan, 40.0, 50.0, 30.0, 10.0],
            "现状": [60.0, 12.0, 20.0, 30.0, 15.0, 5.0],
            "现状 %": [60.0, np.nan, 50.0, 60.0, 50.0, 50.0],
            "方案A": [70.0, 13.0, 25.0, 35.0, 18.0, 5.0],
            "方案A %": [70.0, np.nan, 62.5, 70.0, 60.0, 50.0],
            "方案A Δ": [10.0, 1.0, 5.0, 5.0, 3.0, 0.0],
            "方案A Δpp": [10.0, np.nan, 12.5, 10.0, 10.0, 0.0],
        }
    )
    view = comparison_table(compared, {"330106002": "北山街道"}, "zh")
    _no_codes(view)
    assert list(view.columns) == [
        "分组", "项目", "救助对象（户）", "现状", "现状 覆盖率%",
        "方案A", "方案A 覆盖率%", "方案A 增减", "方案A 增减（百分点）",
    ]  # fmt: skip
    assert view["分组"].tolist() == ["总体", "总体", "救助类别", "需求类型", "镇街", "救助类别"]
    assert view["项目"].tolist() == ["圈内户数", "站点数", "低保", "生存型", "北山街道", "未填"]
    assert view.iloc[1]["救助对象（户）"] == "" and view.iloc[2]["方案A 覆盖率%"] == "62.5"
