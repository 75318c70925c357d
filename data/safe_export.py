"""One writer for every spreadsheet-like file that leaves the system (CSV and XLSX).

Names, addresses and headers come from uploaded files. A text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (``=HYPERLINK("http://evil","x")``, the DDE payload
``=cmd|' /C calc'!A0``): "CSV / formula injection" (OWASP). Every text cell written here
gets a leading apostrophe when it could start a formula, so the spreadsheet shows text.

The guard is reversible: :func:`strip_guard` removes it again, and the importer applies it
to every text cell and header it reads, so a round trip (export ``rejected.csv`` → fix in
Excel → import again) gives back the original text. To keep that exact, a text that
already starts with apostrophes followed by a formula character gets one more apostrophe.

Only text is guarded: numbers (negative ones included) stay numbers.

GeoJSON and GeoPackage files (:mod:`reports.gis`) need no guard: they are not
spreadsheets, and GIS programs never evaluate attribute text as a formula. PDF is
drawn text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

#: first characters that make a spreadsheet read a cell as a formula (or a DDE call); a line
#: feed too, since XML turns a carriage return into one
FORMULA_CHARS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
GUARD: Final = "'"
_GUARDED_RE: Final = re.compile(r"^'+[=+\-@\t\r\n]")


def needs_guard(text: str) -> bool:
    """Whether ``text`` would be read as a formula (or is already a guarded-looking text)."""
    return text.startswith(FORMULA_CHARS) or _GUARDED_RE.match(text) is not None


def neutralise_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text that could start a formula gets a leading ``'``.

    Non-text values (numbers, booleans, None, dates) are returned unchanged.
    """
    if isinstance(value, str) and needs_guard(value):
        return GUARD + value
    return value


def strip_guard(value: Any) -> Any:
    """The inverse of :func:`neutralise_cell` for text read back from an exported file."""
    if isinstance(value, str) and _GUARDED_RE.match(value):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through :func:`neutralise_cell`."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.map(neutralise_cell).astype(s.dtype)
    out.columns = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def strip_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the guard of :func:`neutralise_cell` removed from text cells and column names (in place)."""
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            frame[col] = s.map(strip_guard).astype(s.dtype)
    frame.columns = [strip_guard(c) for c in frame.columns]
    return frame


def frame_to_csv_bytes(frame: pd.DataFrame, *, encoding: str = "utf-8-sig") -> bytes:
    """CSV bytes of ``frame`` (no index; UTF-8 with BOM so Excel opens it), every text cell guarded.

    Lines end in CRLF, so a cell holding a lone carriage return is quoted (with ``\n`` line
    ends the csv module leaves it bare, and readers split the row there).
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n").encode(encoding)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write :func:`frame_to_csv_bytes` to ``path``."""
    Path(path).write_bytes(frame_to_csv_bytes(frame))


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Set one openpyxl cell to ``value`` so it can never hold a formula.

    Text is guarded (:func:`neutralise_cell`) and stored as a string (``data_type`` ``"s"``),
    so openpyxl does not turn a leading ``=`` into a formula.
    """
    cell = ws.cell(row=row, column=column)
    safe = neutralise_cell(value)
    cell.value = safe
    if isinstance(safe, str):
        cell.data_type = "s"
    return cell


def frame_to_xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "Sheet1") -> bytes:
    """XLSX bytes of ``frame`` (one sheet, header row, no index), every cell written by :func:`write_cell`."""
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    for j, col in enumerate(frame.columns, start=1):
        write_cell(ws, 1, j, str(col))
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            write_cell(ws, i, j, None if pd.isna(value) else value.item() if hasattr(value, "item") else value)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = [
    "FORMULA_CHARS",
    "frame_to_csv_bytes",
    "frame_to_xlsx_bytes",
    "needs_guard",
    "neutralise_cell",
    "neutralise_frame",
    "strip_frame",
    "strip_guard",
    "write_cell",
    "write_csv",
]
