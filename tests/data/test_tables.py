"""Bounded reading of uploaded tables: XLSX bombs, row / column / cell / time limits, binary "CSV" files."""

from __future__ import annotations

import random
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from core.errors import TableLimitError
from data.tables import TableLimits, TableReadError, read_table

CJK = "\u4e00-\u9fff"
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WB_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    b'Target="worksheets/sheet1.xml"/></Relationships>'
)


def bomb_xlsx(path: Path, unpacked_mb: int) -> Path:
    """A valid-looking workbook whose one sheet repeats the same row until it unpacks to ``unpacked_mb``."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c></row>'
    chunk = row * (1024 * 1024 // len(row))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/')
            sheet.write(b'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>')
            for _ in range(unpacked_mb):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return path


def test_xlsx_bomb_is_refused_in_chinese_within_10_s(tmp_path: Path) -> None:
    from data.accounts.access import check_upload

    path = bomb_xlsx(tmp_path / "bomb.xlsx", 120)
    assert path.stat().st_size < 1024 * 1024  # a small file ...
    check_upload("bomb.xlsx", path.read_bytes())  # ... that the upload check lets through (under 200 MB unpacked)
    started = time.monotonic()
    with pytest.raises(TableLimitError, match="解压后") as exc:
        read_table(path)
    assert time.monotonic() - started < 10
    assert "MB" in str(exc.value)


def _sheet(path: Path, n_rows: int, n_cols: int) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([f"列{j}" for j in range(n_cols)])
    for i in range(n_rows):
        ws.append([f"r{i}c{j}" for j in range(n_cols)])
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("limits", "n_rows", "n_cols", "message"),
    [
        (TableLimits(rows=50), 60, 3, "行"),
        (TableLimits(columns=10), 5, 12, "列"),
        (TableLimits(cells=100), 40, 3, "单元格"),
        (TableLimits(seconds=0.0), 5, 3, "秒"),
        (TableLimits(unpacked_bytes=2000), 5, 3, "解压后"),
    ],
)
def test_each_limit_ends_in_a_chinese_message(
    tmp_path: Path, limits: TableLimits, n_rows: int, n_cols: int, message: str
) -> None:
    path = _sheet(tmp_path / "t.xlsx", n_rows, n_cols)
    assert len(read_table(path)) == n_rows  # fine with the default limits
    with pytest.raises(TableLimitError, match=message):
        read_table(path, limits=limits)


def test_csv_row_limit(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b\n" + "1,2\n" * 60, encoding="utf-8")
    with pytest.raises(TableLimitError, match="行"):
        read_table(p, limits=TableLimits(rows=50))


def test_xlsx_stream_reads_like_pandas(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["编号", "姓名", None, "编号", "人数"])
    ws.append(["B1", "张三", None, "x", 3])
    ws.append(["B2", None, None, "y", 2.5])
    ws.append([None, None, None, None, None])
    p = tmp_path / "s.xlsx"
    wb.save(p)
    raw = read_table(p)
    assert list(raw.columns) == ["编号", "姓名", "Unnamed: 2", "编号.1", "人数"]
    assert raw["人数"].tolist() == ["3", "2.5"]
    assert raw["姓名"].iloc[0] == "张三" and pd.isna(raw["姓名"].iloc[1])


def _random_gb18030_binary(n: int, seed: int = 11) -> bytes:
    """Random bytes with no NUL that still decode as GB18030 (what passed the old checks).

    No comma, quote or line break either: read as one column, the import only said that the
    required columns were missing.
    """
    rng = random.Random(seed)
    single = [b for b in range(1, 0x80) if b not in b',"\n\r']
    out = bytearray()
    while len(out) < n:
        if rng.random() < 0.5:
            out.append(rng.choice(single))
        else:
            out += bytes([rng.randint(0x81, 0xFE), rng.choice([rng.randint(0x40, 0x7E), rng.randint(0x80, 0xFE)])])
    return bytes(out)


def test_binary_csv_is_refused_as_not_text(tmp_path: Path) -> None:
    from data.accounts.access import check_upload

    data = _random_gb18030_binary(20_000)
    assert b"\x00" not in data
    data.decode("gb18030")  # decodes: the encoding check alone lets it through
    check_upload("b.csv", data)
    p = tmp_path / "b.csv"
    p.write_bytes(data)
    with pytest.raises(TableReadError, match="不是文本表格"):
        read_table(p)


def test_chinese_text_with_a_stray_control_character_is_still_text(tmp_path: Path) -> None:
    p = tmp_path / "ok.csv"
    p.write_text("编号,备注\n" + "".join(f"B{i},西湖区某路{i}号\n" for i in range(50)) + "B99,含\x0b换行\n", "gb18030")
    assert len(read_table(p)) == 51
