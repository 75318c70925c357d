"""Reading user tables (CSV / XLSX) with the encodings Chinese offices produce."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import TableReadError
from data.safe_export import strip_frame

ENCODINGS = ("utf-8-sig", "gb18030")
#: largest integer a float64 (an Excel number) holds exactly
_EXACT_INT_MAX = 2**53


def _excel_cell_text(value: object) -> object:
    """An Excel cell as text; NaN (empty) stays NaN.

    A numeric cell beyond float64's exact integers (2**53) went through a double, so it
    keeps the float's form (``3.301061990010113e+17``) instead of made-up trailing digits:
    an ID-card number that Excel stored as a number stays recognisable as damaged.
    """
    if isinstance(value, float) and value != value:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_INT_MAX:
        return repr(float(value))
    return str(value)


def read_table(path: str | Path, *, dtype_str: bool = True) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or GB18030/GBK) or an XLSX sheet.

    Every cell is read as text when ``dtype_str`` (so ids such as ``000123`` keep their
    zeros); numbers are parsed by the caller, which can then report what failed. The
    formula guard our exports add (:mod:`data.safe_export`) is removed from text cells
    and headers, so an exported file imports back unchanged.
    """
    return strip_frame(_read_table(path, dtype_str=dtype_str))


def _read_table(path: str | Path, *, dtype_str: bool) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        msg = f"file not found: {p}"
        raise TableReadError(msg)
    if p.stat().st_size == 0:
        msg = f"{p.name} is empty"
        raise TableReadError(msg)
    dtype = str if dtype_str else None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            sheet = pd.read_excel(p, dtype=object if dtype_str else None, keep_default_na=False, na_values=[""])
        except Exception as exc:  # openpyxl raises many types on broken files
            msg = f"cannot read {p.name} as Excel: {exc}"
            raise TableReadError(msg) from exc
        return sheet.map(_excel_cell_text).astype("str") if dtype_str else sheet
    raw = p.read_bytes()
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        from io import StringIO

        try:
            return pd.read_csv(
                StringIO(text), dtype=dtype, keep_default_na=False, na_values=[""], skip_blank_lines=False
            )
        except pd.errors.EmptyDataError as exc:
            msg = f"{p.name} has no header row"
            raise TableReadError(msg) from exc
        except pd.errors.ParserError as exc:
            msg = f"{p.name} is not a valid CSV: {exc}"
            raise TableReadError(msg) from exc
    msg = f"{p.name}: unknown text encoding (expected UTF-8 or GB18030/GBK)"
    raise TableReadError(msg)
