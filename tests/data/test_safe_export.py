"""Formula injection: every text cell of an exported CSV / XLSX is inert, and the importer reads the guard back."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from data.safe_export import FORMULA_CHARS, frame_to_csv_bytes, neutralise_cell, strip_guard, write_cell, write_csv
from data.tables import read_table
from tests.data.test_importer import ben, reason_by_row, run

HOSTILE = [
    '=HYPERLINK("http://evil","x")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-1+2",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''-twice",
]


def assert_inert_text(value: object) -> None:
    if isinstance(value, str):
        assert not value.startswith(FORMULA_CHARS), value


@pytest.mark.parametrize("text", [*HOSTILE, "张三", "'plain", "", "a=b"])
def test_guard_is_reversible_and_inert(text: str) -> None:
    safe = neutralise_cell(text)
    assert_inert_text(safe)
    assert strip_guard(safe) == text


def test_numbers_are_not_text_and_stay_numbers() -> None:
    assert neutralise_cell(-5) == -5
    assert neutralise_cell(-1.5) == -1.5
    assert neutralise_cell(None) is None


def test_csv_cells_and_headers_are_guarded_and_read_back(tmp_path: Path) -> None:
    frame = pd.DataFrame({"姓名": HOSTILE, "=bad header": ["x"] * len(HOSTILE), "lon": [-120.5] * len(HOSTILE)})
    data = frame_to_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    raw = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for col in raw.columns:
        assert_inert_text(col)
        for v in raw[col] if col != "lon" else []:
            assert_inert_text(v)
    assert raw["lon"].tolist() == ["-120.5"] * len(HOSTILE)  # a number, not guarded
    p = tmp_path / "rejected.csv"
    write_csv(frame, p)
    back = read_table(p)
    assert list(back.columns) == list(frame.columns)
    assert back["姓名"].tolist() == HOSTILE


def test_xlsx_cells_never_hold_a_formula(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for i, text in enumerate(HOSTILE, start=1):
        write_cell(ws, i, 1, text)
        write_cell(ws, i, 2, -i)
    p = tmp_path / "x.xlsx"
    wb.save(p)
    back = openpyxl.load_workbook(p).active
    assert back is not None
    for row in back.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert_inert_text(cell.value)
    assert [r[1].value for r in back.iter_rows()] == [-i for i in range(1, len(HOSTILE) + 1)]
    # XML stores a carriage return as a line feed
    assert [strip_guard(r[0].value) for r in back.iter_rows()] == [h.replace("\r", "\n") for h in HOSTILE]


def test_rejected_rows_round_trip_through_the_export(tmp_path: Path) -> None:
    """Export rejected.csv → fix the bad cell → import again: the hostile-looking names come back unchanged."""
    rows = [ben(1, 姓名="=cmd|' /C calc'!A0", 救助类别=""), ben(2, 姓名="@张三", 备注="-注意")]
    res = run(pd.DataFrame(rows).replace("", float("nan")))
    assert reason_by_row(res) == {2: "missing_category"}
    p = tmp_path / "rejected.csv"
    p.write_bytes(frame_to_csv_bytes(res.rejected))
    assert b"'=cmd" in p.read_bytes()
    again = read_table(p)
    assert again["姓名"].tolist() == ["=cmd|' /C calc'!A0"]
    again["救助类别"] = "低保"
    fixed = run(again.drop(columns=["source_row", "reason_code", "reason"]))
    assert fixed.summary["accepted"] == 1
    assert fixed.accepted["name_masked"].tolist() == ["=****************0"[: len("=cmd|' /C calc'!A0")]]
