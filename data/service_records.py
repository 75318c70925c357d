"""Service records of several departments and the service catalogue they are mapped through.

Input side of duplicate-provision checks (重复救助, :mod:`data.duplicates`): each department
(民政, 人社, 卫健, 医保, 残联, 慈善总会, 社工站 ...) hands in a table of what it gave to whom.
:func:`import_service_records` checks every row, in the style of :mod:`data.importer`:
a row is either **accepted** (canonical columns :data:`RECORD_COLUMNS`) or **rejected** with
a reason code of :data:`RECORD_REASONS` and a Chinese message, and
``accepted + rejected == read`` always holds.

Who a record is about
---------------------
``person_key`` is a keyed hash, never the ID-card number:

* a valid ID-card number (15 or 18 digits, lower-case ``x``, full-width digits, Excel's
  leading apostrophe, or an Excel number form that still holds every digit, see
  :func:`recover_id_text`) gives ``person_key = data.idcard.id_hash(number, key)``, the
  same value the beneficiaries import stores as ``id_hash``: the same person is recognised
  across departments' files whatever the number's form;
* an ID-card number whose digits were lost (``3.30106E+17``, ``...000``) is rejected with
  its reason (``id_excel_mangled``): guessing would merge different people;
* a row with only ``household_id`` takes the ``id_hash`` of that household from the
  ``households`` table (``beneficiary_id``, ``id_hash``) when it is known there, else
  ``HMAC(key, "household:" + household_id)`` (still keyed, but then it only meets other
  rows that name the same household id).

Catalogue
---------
A catalogue (:func:`read_catalogue`) maps item ids, names and Chinese aliases to an
``item_id`` and its ``group`` (the unit of a duplicate check: 医疗救助 from 医保 and from a
charity are the same group). :func:`default_catalogue` derives it from
:data:`core.vocab.DEFAULT_CATALOGUE` and its ``group`` column.
"""

from __future__ import annotations

import hmac
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from hashlib import sha256
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import CatalogueError, ServiceRecordsError
from core.vocab import DEFAULT_CATALOGUE
from data.idcard import ID_REASONS, check_id_card, id_hash, normalize_id_text

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- catalogue
CATALOGUE_COLUMNS: Final = ("item_id", "name", "need_type", "delivery", "group", "aliases")
CATALOGUE_REQUIRED: Final = ("item_id", "name")
CATALOGUE_ALIASES: Final[dict[str, str]] = {
    "item_id": "item_id", "项目编号": "item_id", "项目编码": "item_id", "编号": "item_id", "编码": "item_id",
    "name": "name", "项目名称": "name", "名称": "name", "服务项目": "name",
    "need_type": "need_type", "需求类型": "need_type",
    "delivery": "delivery", "服务方式": "delivery", "提供方式": "delivery",
    "group": "group", "分组": "group", "项目组": "group", "项目分组": "group", "类别": "group",
    "aliases": "aliases", "别名": "aliases", "其他名称": "aliases",
}  # fmt: skip
_ALIAS_SPLIT = re.compile(r"[;；,，、|]+")


def _key(text: object) -> str:
    """Lookup key of a name or header: NFKC, no BOM or whitespace, lower-case."""
    t = unicodedata.normalize("NFKC", "" if text is None else str(text)).replace("\ufeff", "")
    return re.sub(r"\s+", "", t).lower()


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


@dataclass(frozen=True)
class Catalogue:
    """Service items with their group, and every way of writing an item.

    Attributes
    ----------
    items : pandas.DataFrame
        ``item_id, name, need_type, delivery, group, aliases`` (text; ``group`` never empty:
        an item without one is its own group; ``aliases`` joined with ``;``).
    lookup : dict
        Lookup key (NFKC, no spaces, lower-case) of an item id, name, part of a name split
        at ``/`` or alias -> ``item_id``.
    """

    items: pd.DataFrame
    lookup: Mapping[str, str]

    def group_of(self) -> dict[str, str]:
        """``item_id -> group``."""
        return dict(zip(self.items["item_id"], self.items["group"], strict=True))

    def resolve(self, text: str) -> str | None:
        """The ``item_id`` that ``text`` (an id, a name or an alias) names, else None."""
        return self.lookup.get(_key(text))


def catalogue_from_frame(frame: pd.DataFrame) -> Catalogue:
    """Build a :class:`Catalogue` from a table with Chinese or English headers.

    Parameters
    ----------
    frame : pandas.DataFrame
        At least ``item_id`` and ``name`` (or 项目编号, 项目名称); optional ``need_type``,
        ``delivery``, ``group`` and ``aliases`` (``;``-joined).

    Returns
    -------
    Catalogue

    Raises
    ------
    CatalogueError
        A required column is missing, an item id is empty or repeated, or one name or
        alias names two items.
    """
    rename: dict[Any, str] = {}
    for col in frame.columns:
        target = CATALOGUE_ALIASES.get(_key(col))
        if target is not None and target not in rename.values():
            rename[col] = target
    view = frame.rename(columns=rename)
    missing = [c for c in CATALOGUE_REQUIRED if c not in view.columns]
    if missing:
        msg = (
            f"服务目录缺少必需的列：{'、'.join(missing)}"
            "（应有 item_id、name，可选 need_type、delivery、group、aliases）"
        )
        raise CatalogueError(msg)
    items = pd.DataFrame({c: view[c].map(_cell) if c in view.columns else "" for c in CATALOGUE_COLUMNS})
    items = items.loc[(items != "").any(axis=1)].reset_index(drop=True)
    if len(items) == 0:
        raise CatalogueError("服务目录没有任何项目 (the catalogue holds no item)")
    if (items["item_id"] == "").any():
        line = int(np.flatnonzero(items["item_id"] == "")[0]) + 2
        msg = f"服务目录第 {line} 行缺少 item_id（项目编号）"
        raise CatalogueError(msg)
    dup = items["item_id"][items["item_id"].duplicated()]
    if len(dup):
        msg = f"服务目录中项目编号重复：{'、'.join(dup.unique()[:5])}"
        raise CatalogueError(msg)
    items["group"] = items["group"].where(items["group"] != "", items["item_id"])
    lookup: dict[str, str] = {}
    for item_id, name, aliases in zip(items["item_id"], items["name"], items["aliases"], strict=True):
        names = [item_id, name, *name.split("/"), *_ALIAS_SPLIT.split(aliases)]
        for n in names:
            k = _key(n)
            if not k:
                continue
            if lookup.get(k, item_id) != item_id:
                msg = f"服务目录中名称或别名“{n}”同时指向 {lookup[k]} 和 {item_id}：请删去其中一个"
                raise CatalogueError(msg)
            lookup[k] = item_id
    return Catalogue(items=items, lookup=lookup)


def default_catalogue() -> Catalogue:
    """The built-in catalogue: :data:`core.vocab.DEFAULT_CATALOGUE` with its ``group`` column."""
    frame = pd.DataFrame(
        {
            "item_id": [s.code for s in DEFAULT_CATALOGUE],
            "name": [s.name_zh for s in DEFAULT_CATALOGUE],
            "need_type": [s.need_type for s in DEFAULT_CATALOGUE],
            "delivery": [s.delivery for s in DEFAULT_CATALOGUE],
            "group": [s.group or s.code for s in DEFAULT_CATALOGUE],
            "aliases": [";".join((s.name_en, *s.aliases)) for s in DEFAULT_CATALOGUE],
        }
    )
    return catalogue_from_frame(frame)


# ----------------------------------------------------------------------------- departments
#: what departments call themselves in files -> the short name used for comparison
DEPARTMENT_ALIASES: Final[dict[str, str]] = {
    "民政局": "民政", "民政": "民政", "区民政局": "民政",
    "人力社保局": "人社", "人力资源和社会保障局": "人社", "人社局": "人社", "人社": "人社",
    "卫生健康局": "卫健", "卫健局": "卫健", "卫健委": "卫健", "卫生健康委员会": "卫健", "卫健": "卫健",
    "医疗保障局": "医保", "医保局": "医保", "医保": "医保",
    "残疾人联合会": "残联", "残联": "残联",
    "慈善总会": "慈善总会", "慈善协会": "慈善总会", "慈善会": "慈善总会",
    "社会工作站": "社工站", "社工站": "社工站",
    "住房和城乡建设局": "住建", "住建局": "住建", "住建": "住建",
    "教育局": "教育", "教育": "教育",
}  # fmt: skip
_DEPT_PREFIX = re.compile(r"^(杭州市)?(西湖区)?")


def normalize_department(text: str) -> str:
    """A department's short name: ``西湖区民政局`` -> ``民政``; unknown names are kept (NFKC, no spaces)."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    short = _DEPT_PREFIX.sub("", t)
    return DEPARTMENT_ALIASES.get(short, DEPARTMENT_ALIASES.get(t, short or t))


# ----------------------------------------------------------------------------- ID numbers
_SCI_RE = re.compile(r"^([0-9]+)(?:\.([0-9]*))?E\+?[0-9]+$")
_DEC_RE = re.compile(r"^([0-9]+)\.(0*)$")


def recover_id_text(value: object) -> tuple[str, bool]:
    """Undo the Excel number forms of an ID-card number that still hold every digit.

    * scientific notation whose mantissa carries all the digits
      (``3.30106900101123E+14`` is the 15-digit ``330106900101123``);
    * an 18-digit number followed by ``.0`` (a decimal column), when its check digit holds
      and it is not a float64 value (a float would have rounded its last digits).

    Everything else is returned as typed (:func:`data.idcard.normalize_id_text`), so
    :func:`data.idcard.check_id_card` explains it (``3.30106E+17`` stays ``id_excel_mangled``).

    Returns
    -------
    (text, recovered) : the text to check, and whether it was recovered from a number form.
    """
    text = normalize_id_text(value)
    sci = _SCI_RE.match(text)
    if sci:
        written = (sci.group(1) + (sci.group(2) or "")).lstrip("0")  # significant digits as typed
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text, False
        digits = str(int(number)) if number == number.to_integral_value() else ""
        if len(digits) in (15, 18) and len(written) >= len(digits):
            return digits, True
        return text, False
    dec = _DEC_RE.match(text)
    if dec and len(dec.group(1)) == 18:
        digits = dec.group(1)
        n = int(digits)
        if check_id_card(digits).ok and int(float(n)) != n:
            return digits, True
    return text, False


# ----------------------------------------------------------------------------- records
RECORD_COLUMNS: Final = (
    "record_id", "department", "person_key", "person_source", "household_id", "id_last4",
    "item_id", "item_group", "date", "amount", "source_row",
)  # fmt: skip
RECORD_INPUT_ALIASES: Final[dict[str, str]] = {
    "record_id": "record_id", "记录编号": "record_id", "记录号": "record_id", "流水号": "record_id",
    "编号": "record_id", "id": "record_id",
    "id_card": "id_card", "身份证号": "id_card", "身份证号码": "id_card", "证件号码": "id_card",
    "公民身份号码": "id_card", "身份证": "id_card",
    "household_id": "household_id", "户编号": "household_id", "家庭编号": "household_id", "户号": "household_id",
    "对象编号": "household_id", "beneficiary_id": "household_id",
    "item_id": "item_id", "项目编号": "item_id", "项目编码": "item_id", "服务项目编码": "item_id",
    "item_name": "item_name", "服务项目": "item_name", "项目名称": "item_name", "救助项目": "item_name",
    "项目": "item_name", "item": "item_name",
    "department": "department", "部门": "department", "实施部门": "department", "救助部门": "department",
    "提供部门": "department", "单位": "department", "所属部门": "department",
    "date": "date", "日期": "date", "发放日期": "date", "服务日期": "date", "救助日期": "date", "时间": "date",
    "amount": "amount", "金额": "amount", "救助金额": "amount", "发放金额": "amount", "金额(元)": "amount",
    "金额元": "amount",
}  # fmt: skip
#: the annotation columns added to rejected rows (recognised and replaced on re-import)
ANNOTATION_COLUMNS: Final = ("source_row", "reason_code", "reason")

#: reason code -> Chinese message template, in the order the checks run
RECORD_REASONS: Final[dict[str, str]] = {
    "missing_record_id": "缺少记录编号：每一行都需要记录编号",
    "missing_department": "缺少部门：请填写提供服务的部门（如 民政、医保、慈善总会）",
    "duplicate_record_id": "记录编号“{value}”在部门“{department}”中重复（第 {first} 行已有）",
    "missing_person": "缺少身份证号和户编号：至少填写其中一项",
    **ID_REASONS,
    "missing_item": "缺少服务项目：请填写项目编号或项目名称",
    "unknown_item": "服务项目“{value}”不在服务目录中：请使用目录中的项目编号、名称或别名",
    "missing_date": "缺少日期",
    "bad_date": "日期“{value}”无法识别：请填写如 2026-03-15 的日期",
    "bad_amount": "金额“{value}”无效：应为不小于 0 的数字（元），可以为空",
}
#: warning code -> Chinese message (accepted rows that were read with a change)
RECORD_WARNINGS: Final[dict[str, str]] = {
    "id_upgraded_15": "15 位旧身份证号已按国家标准升级为 18 位后计算哈希",
    "id_recovered": "身份证号是 Excel 数字格式（{value}），但位数完整，已还原后计算哈希",
}

_EXCEL_EPOCH: Final = pd.Timestamp("1899-12-30")
_DATE_ZH = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_AMOUNT_STRIP = re.compile(r"[¥￥,，\s元]|RMB|CNY", re.IGNORECASE)
_AMOUNT_RE = re.compile(r"^\+?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class RecordsImport:
    """Outcome of :func:`import_service_records`.

    Attributes
    ----------
    accepted : pandas.DataFrame
        :data:`RECORD_COLUMNS`: ``record_id``, ``department`` (short name,
        :func:`normalize_department`), ``person_key`` (64 hex, keyed), ``person_source``
        (``id_card`` or ``household``), ``household_id`` (text or NaN), ``id_last4``
        (text or NaN), ``item_id``, ``item_group``, ``date`` (``datetime64[ns]``), ``amount``
        (float64 yuan, NaN when not given), ``source_row`` (int64, the header being line 1).
    rejected : pandas.DataFrame
        Every original column, then ``source_row``, ``reason_code`` (first failed check, a
        key of :data:`RECORD_REASONS`) and ``reason`` (Chinese, every problem of the row).
    warnings : pandas.DataFrame
        ``source_row``, ``record_id``, ``code`` (a key of :data:`RECORD_WARNINGS`), ``message``.
    summary : dict
        JSON-serialisable: ``kind`` (``"service_records"``), ``read``, ``accepted``,
        ``rejected``, ``blank_rows``, ``reasons`` {code: count}, ``warnings`` {code: count},
        ``mapping`` {header: column}, ``unmapped`` [headers], ``departments`` {name: rows}.
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    summary: dict[str, Any]


#: what a record file's header may be mapped to (the inputs of :func:`import_service_records`)
RECORD_INPUT_COLUMNS: Final = ("record_id", "id_card", "household_id", "item_id", "item_name", "department", "date",
                               "amount")  # fmt: skip


def map_record_columns(
    raw: pd.DataFrame, mapping: Mapping[str, str | None] | None = None
) -> tuple[dict[Any, str], list[str]]:
    """Headers of ``raw`` -> canonical record columns; the headers left unmapped.

    ``mapping`` (the user's column mapping, header -> a column of :data:`RECORD_INPUT_COLUMNS`
    or None to ignore it) wins over the aliases.

    Raises
    ------
    ServiceRecordsError
        When ``record_id``, ``department``, ``date``, one of ``id_card`` / ``household_id``
        or one of ``item_id`` / ``item_name`` is missing.
    """
    user = dict(mapping or {})
    for header, target in user.items():
        if header not in {str(c) for c in raw.columns}:
            msg = f"映射中的列“{header}”不在表中 (column not in the table)"
            raise ServiceRecordsError(msg)
        if target and target not in RECORD_INPUT_COLUMNS:
            msg = f"不能映射到“{target}”：可用的目标列为 {', '.join(RECORD_INPUT_COLUMNS)} (unknown target column)"
            raise ServiceRecordsError(msg)
    chosen = [c for c in user.values() if c]
    if len(chosen) != len(set(chosen)):
        msg = "多个列被映射到同一目标列 (several columns mapped to one)"
        raise ServiceRecordsError(msg)
    mapping_used: dict[Any, str] = {}
    unmapped: list[str] = []
    for col in raw.columns:
        if str(col) in ANNOTATION_COLUMNS:
            continue
        if str(col) in user:
            if user[str(col)]:
                mapping_used[col] = str(user[str(col)])
            continue
        target = RECORD_INPUT_ALIASES.get(_key(col))
        if target is None or target in mapping_used.values() or target in chosen:
            unmapped.append(str(col))
        else:
            mapping_used[col] = target
    have = set(mapping_used.values())
    missing = [c for c in ("record_id", "department", "date") if c not in have]
    if not have & {"id_card", "household_id"}:
        missing.append("id_card（身份证号）或 household_id（户编号）")
    if not have & {"item_id", "item_name"}:
        missing.append("item_id（项目编号）或 item_name（服务项目）")
    if missing:
        labels = {"record_id": "record_id（记录编号）", "department": "department（部门）", "date": "date（日期）"}
        msg = f"服务记录表缺少必需的列：{'、'.join(labels.get(m, m) for m in missing)}"
        raise ServiceRecordsError(msg)
    return mapping_used, unmapped


def unrecognised_record_headers(raw: pd.DataFrame) -> list[str]:
    """Headers of ``raw`` that no alias of :data:`RECORD_INPUT_ALIASES` names (for the mapping step)."""
    return [str(c) for c in raw.columns if str(c) not in ANNOTATION_COLUMNS and _key(c) not in RECORD_INPUT_ALIASES]


def parse_dates(texts: pd.Series) -> pd.Series:
    """Dates as typed in department files -> ``datetime64[ns]`` (NaT when unreadable).

    Accepts ``2026-03-15``, ``2026/3/15``, ``2026.3.15``, ``2026年3月15日``, ``20260315``,
    an Excel date read as text (``2026-03-15 00:00:00``) and an Excel serial day number
    (``46096``).
    """
    t = texts.astype("str").str.strip().map(lambda s: unicodedata.normalize("NFKC", s))
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    zh = t.str.extract(_DATE_ZH)
    compact = t.str.extract(_DATE_COMPACT)
    parts = zh.fillna(compact)
    has = parts.notna().all(axis=1)
    if has.any():
        ymd = parts.loc[has].astype(int)
        frame = pd.DataFrame({"year": ymd[0], "month": ymd[1], "day": ymd[2]})
        out.loc[has] = pd.to_datetime(frame, errors="coerce")
    serial = ~has & t.str.fullmatch(r"\d{5}(\.0+)?")
    if serial.any():
        days = t[serial].astype(float)
        out.loc[serial] = _EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
    return out


def _parse_amount(text: str) -> float | None:
    """Yuan: ``1,200.50``, ``¥1200``, ``1200元``; NaN for empty; None when invalid or negative."""
    if text == "":
        return float("nan")
    t = _AMOUNT_STRIP.sub("", unicodedata.normalize("NFKC", text))
    return float(t) if _AMOUNT_RE.match(t) else None


def household_key(household_id: str, key: bytes) -> str:
    """Keyed hash of a household id, for rows that name no ID-card number."""
    return hmac.new(key, f"household:{household_id}".encode(), sha256).hexdigest()


def import_service_records(
    raw: pd.DataFrame,
    catalogue: Catalogue,
    *,
    key: bytes,
    households: pd.DataFrame | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> RecordsImport:
    """Validate service records row by row: accepted canonical rows, rejected original rows.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (every cell as text, :func:`data.tables.read_table`), Chinese or
        English headers (:data:`RECORD_INPUT_ALIASES`).
    catalogue : Catalogue
        Maps ``item_id`` / ``item_name`` to an item and its group.
    key : bytes
        Key of :func:`data.idcard.id_hash` (:func:`data.idcard.id_hash_key`).
    households : pandas.DataFrame, optional
        ``beneficiary_id`` and ``id_hash`` (same key): a ``household_id`` found there takes
        that household's ``id_hash`` as its ``person_key``.
    mapping : mapping of str to str or None, optional
        The user's column mapping (:func:`map_record_columns`).

    Returns
    -------
    RecordsImport

    Raises
    ------
    ServiceRecordsError
        When a required column is missing.
    """
    mapping, unmapped = map_record_columns(raw, mapping)
    raw = raw.reset_index(drop=True)
    data_cols = [c for c in raw.columns if str(c) not in ANNOTATION_COLUMNS]
    cells = raw[data_cols].map(_cell)
    blank = (cells == "").all(axis=1).to_numpy() if data_cols else np.ones(len(raw), dtype=bool)
    keep = np.flatnonzero(~blank)
    n = len(keep)
    view = cells.iloc[keep].rename(columns=mapping).reset_index(drop=True)
    source_row = keep + 2

    def col(name: str) -> pd.Series:
        return view[name] if name in view.columns else pd.Series("", index=view.index)

    problems: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    warnings: list[tuple[int, str, str]] = []

    def reject(i: int, code: str, **ctx: object) -> None:
        problems[i].append((code, RECORD_REASONS[code].format(**ctx)))

    record_id = col("record_id")
    dept_raw = col("department")
    dept_map = {d: normalize_department(d) for d in dept_raw.unique() if d}
    department = dept_raw.map(lambda d: dept_map.get(d, ""))
    seen: dict[tuple[str, str], int] = {}
    for i, (rid, dept) in enumerate(zip(record_id, department, strict=True)):
        if not rid:
            reject(i, "missing_record_id")
        if not dept:
            reject(i, "missing_department")
        if rid and dept:
            first = seen.setdefault((dept, rid), i)
            if first != i:
                reject(i, "duplicate_record_id", value=rid, department=dept, first=int(source_row[first]))

    # who: ID-card numbers checked once per distinct text
    id_text = col("id_card")
    hh = col("household_id")
    hh_hash: dict[str, str] = {}
    if households is not None and {"beneficiary_id", "id_hash"} <= set(households.columns):
        known = households.dropna(subset=["beneficiary_id", "id_hash"])
        hh_hash = dict(zip(known["beneficiary_id"].astype(str), known["id_hash"].astype(str), strict=True))
    #: text as typed -> (normalised number or None, reason code, keyed hash, upgraded, recovered)
    checked: dict[str, tuple[str | None, str | None, str, bool, bool]] = {}
    person_key: list[Any] = [None] * n
    person_source: list[Any] = [None] * n
    last4: list[Any] = [None] * n
    for i, (text, household) in enumerate(zip(id_text, hh, strict=True)):
        if text:
            if text not in checked:
                recovered, was_recovered = recover_id_text(text)
                check = check_id_card(recovered)
                if check.ok and check.normalized:
                    checked[text] = (
                        check.normalized,
                        None,
                        id_hash(check.normalized, key),
                        check.upgraded,
                        was_recovered,
                    )
                else:
                    checked[text] = (None, check.code, "", False, False)
            normalized, code, hashed, upgraded, was_recovered = checked[text]
            if normalized is None:
                reject(i, code or "id_bad_length")
                continue
            person_key[i] = hashed
            person_source[i] = "id_card"
            last4[i] = normalized[-4:]
            if upgraded:
                warnings.append((i, "id_upgraded_15", RECORD_WARNINGS["id_upgraded_15"]))
            if was_recovered:
                warnings.append((i, "id_recovered", RECORD_WARNINGS["id_recovered"].format(value=text)))
        elif household:
            person_key[i] = hh_hash.get(household) or household_key(household, key)
            person_source[i] = "household"
        else:
            reject(i, "missing_person")

    # what: item id or name through the catalogue
    item_text = col("item_id").where(col("item_id") != "", col("item_name"))
    resolved = {t: catalogue.resolve(t) for t in item_text.unique() if t}
    groups = catalogue.group_of()
    item_id: list[Any] = [None] * n
    for i, t in enumerate(item_text):
        if not t:
            reject(i, "missing_item")
        elif resolved[t] is None:
            reject(i, "unknown_item", value=t)
        else:
            item_id[i] = resolved[t]

    # when and how much
    date_text = col("date")
    dates = parse_dates(date_text)
    amount_text = col("amount")
    amounts = {t: _parse_amount(t) for t in amount_text.unique()}
    for i, (t, d, a) in enumerate(zip(date_text, dates, amount_text, strict=True)):
        if not t:
            reject(i, "missing_date")
        elif pd.isna(d):
            reject(i, "bad_date", value=t)
        if amounts[a] is None:
            reject(i, "bad_amount", value=a)

    ok = np.array([not p for p in problems], dtype=bool)
    idx = np.flatnonzero(ok)
    accepted = pd.DataFrame(
        {
            "record_id": record_id.iloc[idx].to_numpy(dtype=object),
            "department": department.iloc[idx].to_numpy(dtype=object),
            "person_key": [person_key[i] for i in idx],
            "person_source": [person_source[i] for i in idx],
            "household_id": hh.iloc[idx].replace("", np.nan).to_numpy(dtype=object),
            "id_last4": [last4[i] for i in idx],
            "item_id": [item_id[i] for i in idx],
            "item_group": [groups[item_id[i]] for i in idx],
            "date": dates.iloc[idx].to_numpy(),
            "amount": amount_text.iloc[idx].map(amounts).to_numpy(dtype=float),
            "source_row": source_row[idx].astype("int64"),
        },
        columns=list(RECORD_COLUMNS),
    )
    for c in ("record_id", "department", "person_key", "person_source", "household_id", "id_last4"):
        accepted[c] = accepted[c].astype("str").where(accepted[c].notna(), np.nan)
    accepted["item_id"] = accepted["item_id"].astype("str")
    accepted["item_group"] = accepted["item_group"].astype("str")
    accepted["date"] = accepted["date"].astype("datetime64[ns]")

    bad = np.flatnonzero(~ok)
    rejected = raw.drop(columns=[c for c in raw.columns if str(c) in ANNOTATION_COLUMNS]).iloc[keep[bad]]
    rejected = rejected.reset_index(drop=True)
    rejected["source_row"] = pd.Series(source_row[bad].astype("int64"), dtype="int64")
    rejected["reason_code"] = pd.Series([problems[i][0][0] for i in bad], dtype="str")
    rejected["reason"] = pd.Series(["；".join(m for _, m in problems[i]) for i in bad], dtype="str")
    warn = pd.DataFrame(
        [(int(source_row[i]), record_id.iloc[i], code, m) for i, code, m in warnings if ok[i]],
        columns=["source_row", "record_id", "code", "message"],
    ).astype({"source_row": "int64", "record_id": "str", "code": "str", "message": "str"})
    if len(accepted) + len(rejected) != n:  # the invariant: nothing is lost
        msg = f"service records lost rows: {len(accepted)} + {len(rejected)} != {n}"
        raise AssertionError(msg)
    summary: dict[str, Any] = {
        "kind": "service_records",
        "read": int(n),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "blank_rows": int(blank.sum()),
        "reasons": {str(k): int(v) for k, v in rejected["reason_code"].value_counts().items()},
        "warnings": {str(k): int(v) for k, v in warn["code"].value_counts().items()},
        "mapping": {str(k): v for k, v in mapping.items()},
        "unmapped": unmapped,
        "departments": {str(k): int(v) for k, v in accepted["department"].value_counts().sort_index().items()},
    }
    log.info("service records: %d read, %d accepted, %d rejected", n, len(accepted), len(rejected))
    return RecordsImport(accepted=accepted, rejected=rejected, warnings=warn, summary=summary)
