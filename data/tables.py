"""Reading user tables (CSV / XLSX) with the encodings Chinese offices produce.

Reading is bounded, since uploads come from outside: an XLSX is a ZIP whose XML can unpack
to hundreds of MB from a small file (a "zip bomb"), and parsing XML in Python holds the GIL,
which slows every other session of the Streamlit server. Before parsing, the ZIP's declared
uncompressed sizes (which :mod:`zipfile` enforces while reading) and a byte-level count of
the sheets' rows and cells are checked; the sheet is then streamed with openpyxl's read-only
mode, with limits on rows, columns and time (:class:`TableLimits`). Each limit ends in a
:class:`data.errors.TableLimitError` with a Chinese message. A CSV must be text: content
with many control or unassigned characters is refused as binary.
"""

from __future__ import annotations

import re
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from core.errors import TableLimitError, TableReadError
from data.safe_export import strip_frame

ENCODINGS = ("utf-8-sig", "gb18030")
#: largest integer a float64 (an Excel number) holds exactly
_EXACT_INT_MAX = 2**53


@dataclass(frozen=True)
class TableLimits:
    """Bounds on reading one uploaded table (defaults fit a district's beneficiary list many times over).

    Attributes
    ----------
    unpacked_bytes : int
        Sum of the uncompressed sizes of an XLSX's ZIP members.
    rows, columns : int
        Data rows and columns of the sheet (CSV or XLSX).
    cells : int
        Cells in the XLSX sheets, counted in the XML before parsing.
    seconds : float
        Wall time of parsing an XLSX sheet.
    """

    unpacked_bytes: int = 50 * 1024 * 1024
    rows: int = 100_000
    columns: int = 200
    cells: int = 500_000
    seconds: float = 15.0


DEFAULT_LIMITS: Final = TableLimits()
_CELL_RE: Final = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW_RE: Final = re.compile(rb"<(?:\w+:)?row[\s>/]")
#: share of control / unassigned / replacement characters above which a "CSV" is binary
_BINARY_SHARE: Final = 0.01


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


def read_table(path: str | Path, *, dtype_str: bool = True, limits: TableLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or GB18030/GBK) or an XLSX sheet.

    Every cell is read as text when ``dtype_str`` (so ids such as ``000123`` keep their
    zeros); numbers are parsed by the caller, which can then report what failed. The
    formula guard our exports add (:mod:`data.safe_export`) is removed from text cells
    and headers, so an exported file imports back unchanged.
    """
    return strip_frame(_read_table(path, dtype_str=dtype_str, limits=limits))


def table_from_upload(file_name: str, payload: bytes, *, limits: TableLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """:func:`read_table` of an uploaded file's bytes (text cells), read as its name's extension says.

    The one way the pages read an upload; check it first with
    :func:`data.accounts.access.check_upload` (type, size, content).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(file_name).suffix.lower()}"
        path.write_bytes(payload)
        return read_table(path, limits=limits)


def _limit(zh: str, en: str) -> TableLimitError:
    return TableLimitError(f"{zh} ({en})")


def check_xlsx_size(path: Path, limits: TableLimits = DEFAULT_LIMITS) -> None:
    """Refuse an XLSX that unpacks too large or holds too many rows or cells, before any XML is parsed.

    Raises
    ------
    TableLimitError
        With a Chinese message.
    TableReadError
        Not a ZIP file.
    """
    mb = limits.unpacked_bytes / 1024 / 1024
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > limits.unpacked_bytes:
                raise _limit(
                    f"Excel 文件解压后有 {unpacked / 1024 / 1024:.0f} MB，超过 {mb:.0f} MB 的上限，可能是异常文件："
                    "请删除多余的工作表和格式，或另存为 CSV 后再上传",
                    f"the workbook unpacks to {unpacked / 1024 / 1024:.0f} MB, over the {mb:.0f} MB limit",
                )
            rows = cells = 0
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    xml = zf.read(info)  # at most the declared size: zipfile stops there
                    rows += len(_ROW_RE.findall(xml))
                    cells += len(_CELL_RE.findall(xml))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        msg = f"无法读取 Excel 文件 {path.name}：{exc} (cannot read {path.name} as Excel)"
        raise TableReadError(msg) from exc
    if rows > limits.rows + 1:
        raise _limit(
            f"Excel 文件有 {rows:,} 行，超过 {limits.rows:,} 行的上限：请分成几个文件上传",
            f"{rows:,} rows, over the limit of {limits.rows:,}",
        )
    if cells > limits.cells:
        raise _limit(
            f"Excel 文件有 {cells:,} 个单元格，超过 {limits.cells:,} 个的上限："
            "请删除多余的列和工作表，或分成几个文件上传",
            f"{cells:,} cells, over the limit of {limits.cells:,}",
        )


def _xlsx_value(value: Any) -> Any:
    """A read-only cell value as pandas' openpyxl reader gives it (integral floats as int, empty as NaN)."""
    if value is None or value == "":
        return float("nan")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read_xlsx(path: Path, limits: TableLimits) -> pd.DataFrame:
    """The first sheet, streamed (openpyxl read-only), header in the first row; bounded by ``limits``."""
    import openpyxl

    check_xlsx_size(path, limits)
    started = time.monotonic()
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on broken files
        msg = f"cannot read {path.name} as Excel: {exc}"
        raise TableReadError(msg) from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # the <dimension> tag is the file's claim, not a fact: never pad to it
        rows: list[list[Any]] = []
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            values = list(row)
            while values and (values[-1] is None or values[-1] == ""):
                values.pop()
            if len(values) > limits.columns:
                raise _limit(
                    f"Excel 文件第 {i + 1} 行有 {len(values)} 列，超过 {limits.columns} 列的上限：请删除多余的列",
                    f"row {i + 1} has {len(values)} columns, over the limit of {limits.columns}",
                )
            if i > limits.rows:
                raise _limit(
                    f"Excel 文件超过 {limits.rows:,} 行的上限：请分成几个文件上传",
                    f"more than {limits.rows:,} rows",
                )
            if time.monotonic() - started > limits.seconds:
                raise _limit(
                    f"Excel 文件读取超过 {limits.seconds:.0f} 秒，已停止：请另存为 CSV 或分成几个文件上传",
                    f"reading took more than {limits.seconds:.0f} s",
                )
            rows.append(values)
    except TableLimitError:
        raise
    except Exception as exc:  # broken XML inside a valid ZIP
        msg = f"cannot read {path.name} as Excel: {exc}"
        raise TableReadError(msg) from exc
    finally:
        wb.close()
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    header = rows[0] + [None] * (width - len(rows[0]))
    names: list[str] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        name = f"Unnamed: {j}" if h is None or h == "" else str(_xlsx_value(h))
        if name in seen:  # as pandas: "a", "a.1", "a.2"
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    body = [[_xlsx_value(v) for v in r] + [float("nan")] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=names, dtype=object)


def looks_binary(text: str) -> bool:
    """Whether decoded "text" is really binary: more than 1% control (except tab, CR, LF, FF),
    unassigned, private-use or replacement characters."""
    if not text:
        return False
    sample = text[:200_000]
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (ch not in "\t\r\n\f" and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs"))
    )
    return bad > _BINARY_SHARE * len(sample)


def _check_rows(frame: pd.DataFrame, limits: TableLimits) -> pd.DataFrame:
    if len(frame) > limits.rows:
        raise _limit(
            f"表格有 {len(frame):,} 行，超过 {limits.rows:,} 行的上限：请分成几个文件上传",
            f"{len(frame):,} rows, over the limit of {limits.rows:,}",
        )
    if frame.shape[1] > limits.columns:
        raise _limit(
            f"表格有 {frame.shape[1]} 列，超过 {limits.columns} 列的上限：请删除多余的列",
            f"{frame.shape[1]} columns, over the limit of {limits.columns}",
        )
    return frame


def _read_table(path: str | Path, *, dtype_str: bool, limits: TableLimits) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        msg = f"file not found: {p}"
        raise TableReadError(msg)
    if p.stat().st_size == 0:
        msg = f"{p.name} is empty"
        raise TableReadError(msg)
    dtype = str if dtype_str else None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        sheet = _read_xlsx(p, limits)
        if not dtype_str:
            sheet = sheet.infer_objects()
        return _check_rows(sheet.map(_excel_cell_text).astype("str") if dtype_str else sheet, limits)
    raw = p.read_bytes()
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if looks_binary(text):
            msg = (
                f"{p.name} 不是文本表格（含大量控制字符或无法识别的字符），可能是二进制文件："
                "请在 Excel 中另存为 CSV（UTF-8 或 GB18030）后再上传 (binary content, not a text table)"
            )
            raise TableReadError(msg)
        from io import StringIO

        try:
            frame = pd.read_csv(
                StringIO(text), dtype=dtype, keep_default_na=False, na_values=[""], skip_blank_lines=False
            )
        except pd.errors.EmptyDataError as exc:
            msg = f"{p.name} has no header row"
            raise TableReadError(msg) from exc
        except pd.errors.ParserError as exc:
            msg = f"{p.name} is not a valid CSV: {exc}"
            raise TableReadError(msg) from exc
        return _check_rows(frame, limits)
    msg = f"{p.name}: unknown text encoding (expected UTF-8 or GB18030/GBK)"
    raise TableReadError(msg)
