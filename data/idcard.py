"""Chinese resident ID-card numbers (GB 11643-1999): validation, keyed hashing, masking.

A beneficiary's ID-card number is sensitive personal information (PIPL art. 28). It is
checked here on import, then only a keyed hash (:func:`id_hash`, HMAC-SHA256, for
de-duplication) and the last four characters (:func:`id_last4`, for staff to recognise a
record) are kept; the clear number is never stored.

Numbers that Excel turned into floating-point numbers are recognised and explained
(``id_excel_mangled``): Excel keeps only 15 significant digits, so an 18-digit number
typed into a cell in "General" format shows as ``3.30106E+17`` and its last three digits
become ``000``; a file written by a program that stored the number as a double comes back
as the double's exact value (e.g. ``330106199001011008``), which is why a number that is
exactly representable as a float64 above 2**53 and fails the check digit is also flagged.

Old 15-digit numbers (first-generation cards, issued until 2004) are **upgraded** to 18
digits by the standard rule: insert ``19`` before the two-digit birth year and append the
check digit. The upgraded number is the one printed on the holder's second-generation
card, so the two forms of the same person hash alike. :class:`IdCheck` reports the
upgrade (``upgraded=True``) so the importer can warn about it.

The first six digits are the holder's address code (GB/T 2260); its first two, the
province-level code, are checked against :data:`PROVINCE_CODES` (``id_bad_region``). The
county part is not checked: codes of merged or renamed counties stay on cards for life.
Births from :data:`EARLIEST_BIRTH` are accepted: the standard's own example,
``440524188001015368``, was born in 1880.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import numbers
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.errors import IdHashKeyError
from data.config import ENV_ID_HASH_KEY, MIN_KEY_BYTES, secret_key

#: GB 11643-1999 weights of the first 17 digits (2**(17-i) mod 11)
ID_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: check character by weighted sum mod 11
ID_CHECK_CHARS: Final = "10X98765432"

#: GB/T 2260 province-level codes, the first two digits of every resident ID number
#: (GB 11643 address code). 83 (Taiwan residents' residence permits) and the 9x of the
#: 2023 foreigners' permanent residence card are not resident ID numbers.
PROVINCE_CODES: Final[dict[str, str]] = {
    # North China: Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    # Northeast: Liaoning, Jilin, Heilongjiang
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    # East China: Shanghai, Jiangsu, Zhejiang, Anhui, Fujian, Jiangxi, Shandong
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    # Central and South: Henan, Hubei, Hunan, Guangdong, Guangxi, Hainan
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    # Southwest: Chongqing, Sichuan, Guizhou, Yunnan, Tibet
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    # Northwest: Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    # Taiwan; Hong Kong and Macau (special administrative regions)
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
#: earliest accepted birth date (the standard's example was born in 1880)
EARLIEST_BIRTH: Final = dt.date(1850, 1, 1)

#: environment variable holding the hashing key (at least 16 bytes of UTF-8 text)
ID_HASH_KEY_ENV: Final = ENV_ID_HASH_KEY
#: file name of the generated key under :func:`default_data_dir`
ID_HASH_KEY_FILE: Final = "id_hash.key"

#: reason code -> Chinese explanation of an ID-card number problem
ID_REASONS: Final[dict[str, str]] = {
    "id_excel_mangled": (
        "身份证号被 Excel 当成数字处理，末几位已丢失（如 3.30106E+17 或末尾变成 000）："
        "请把该列设为“文本”格式，重新输入或从原始系统复制后再导入"
    ),
    "id_bad_length": "身份证号位数不对：应为 18 位（或旧版 15 位）",
    "id_bad_chars": "身份证号含有非法字符：前 17 位必须是数字，最后一位是数字或 X",
    "id_bad_region": "身份证号前两位不是有效的省级行政区划代码（GB/T 2260，如浙江为 33），可能有输错的数字",
    "id_bad_birthdate": "身份证号中的出生日期无效",
    "id_bad_checksum": "身份证号校验位不符（GB 11643），可能有输错的数字",
}

_SCI_RE = re.compile(r"^[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$")
_DECIMAL_RE = re.compile(r"^([0-9]+)\.([0-9]*)$")
_ID18_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID15_RE = re.compile(r"^[0-9]{15}$")


@dataclass(frozen=True)
class IdCheck:
    """Outcome of :func:`check_id_card`.

    Attributes
    ----------
    ok : bool
        Whether the number is valid.
    code : str or None
        Reason code (a key of :data:`ID_REASONS`) when not ``ok``.
    normalized : str or None
        The valid 18-character number (upper-case ``X``), when ``ok``.
    upgraded : bool
        Whether ``normalized`` was upgraded from a 15-digit number.
    message_zh : str
        Chinese explanation for the user ("" when ``ok``).
    """

    ok: bool
    code: str | None
    normalized: str | None
    upgraded: bool = False
    message_zh: str = ""


def _fail(code: str) -> IdCheck:
    return IdCheck(ok=False, code=code, normalized=None, message_zh=ID_REASONS[code])


def check_digit(first17: str) -> str:
    """GB 11643 check character of the first 17 digits.

    Parameters
    ----------
    first17 : str
        Exactly 17 ASCII digits.

    Returns
    -------
    str : one of ``0-9`` or ``X``.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        msg = f"expected 17 digits, got {first17!r}"
        raise ValueError(msg)
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_text(value: object) -> str:
    """The cell's text as typed: NFKC (full-width digits), no spaces or apostrophe, upper-case."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"\s+", "", text).lstrip("'").upper()
    return text


def _valid_birthdate(yyyymmdd: str, today: dt.date) -> bool:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return EARLIEST_BIRTH <= born <= today


def _looks_float_rounded(digits: str) -> bool:
    """An 18-digit number that went through a float: ``...00`` or an exact float64 above 2**53."""
    if digits.endswith("00"):
        return True
    n = int(digits)
    return n > 2**53 and int(float(n)) == n


def check_id_card(value: object, *, today: dt.date | None = None) -> IdCheck:
    """Validate a resident ID-card number (GB 11643-1999).

    Checks, in order: empty (``id_bad_length``), Excel damage (``id_excel_mangled``:
    scientific notation such as ``3.30106E+17``, a decimal point, or an all-digit number
    whose check digit fails and whose tail was rounded by a float), allowed characters
    (``id_bad_chars``), length (``id_bad_length``), province code (``id_bad_region``, one
    of :data:`PROVINCE_CODES`), birth date (``id_bad_birthdate``, 1850-01-01 up to
    ``today``) and the check digit (``id_bad_checksum``). A valid
    15-digit number is upgraded to 18 digits (see the module docstring).

    Parameters
    ----------
    value : object
        The cell (string, number or None). Full-width digits, spaces and Excel's leading
        apostrophe are tolerated; a lower-case ``x`` is read as ``X``. A number (int or
        float) above 2**53 is always ``id_excel_mangled``: a spreadsheet number is a
        float64, which cannot hold 18 digits.
    today : datetime.date, optional
        Latest allowed birth date (default: today's date).

    Returns
    -------
    IdCheck
    """
    today = today or dt.date.today()
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
        number = float(value)
        if abs(number) >= 2**53:  # a number cell cannot hold 18 digits: it went through a float
            return _fail("id_excel_mangled")
        if number.is_integer():
            value = int(number)  # 15-digit old numbers fit a double exactly
    text = normalize_id_text(value)
    if not text:
        return _fail("id_bad_length")
    if _SCI_RE.match(text):
        return _fail("id_excel_mangled")
    dec = _DECIMAL_RE.match(text)
    if dec:
        whole, frac = dec.groups()
        # a 15-digit old number survives a numeric cell exactly: "330106900101123.0"
        if len(whole) == 15 and frac.strip("0") == "":
            text = whole
        else:
            return _fail("id_excel_mangled")
    if len(text) == 18 and text.isdigit() and check_digit(text[:17]) != text[17] and _looks_float_rounded(text):
        return _fail("id_excel_mangled")
    if not re.fullmatch(r"[0-9X]+", text) or "X" in text[:-1]:
        return _fail("id_bad_chars")
    if _ID15_RE.match(text):
        if text[:2] not in PROVINCE_CODES:
            return _fail("id_bad_region")
        if not _valid_birthdate("19" + text[6:12], today):
            return _fail("id_bad_birthdate")
        first17 = text[:6] + "19" + text[6:]
        return IdCheck(ok=True, code=None, normalized=first17 + check_digit(first17), upgraded=True)
    if not _ID18_RE.match(text):
        return _fail("id_bad_length")
    if text[:2] not in PROVINCE_CODES:
        return _fail("id_bad_region")
    if not _valid_birthdate(text[6:14], today):
        return _fail("id_bad_birthdate")
    if check_digit(text[:17]) != text[17]:
        return _fail("id_bad_checksum")
    return IdCheck(ok=True, code=None, normalized=text)


def id_hash(value: object, key: bytes) -> str:
    """Keyed hash of an ID-card number: HMAC-SHA256, hex.

    The number is normalised first (a valid 15-digit number is upgraded to 18 digits),
    so different spellings of one number hash alike. The key must be kept secret and
    stable: without it the hash cannot be recomputed, with it a number can be confirmed.

    Parameters
    ----------
    value : object
        The ID-card number.
    key : bytes
        Secret key, at least 16 bytes (see :func:`id_hash_key`).

    Returns
    -------
    str : 64 lower-case hex characters.
    """
    if len(key) < MIN_KEY_BYTES:
        msg = f"ID hashing key too short ({len(key)} bytes, need {MIN_KEY_BYTES})"
        raise IdHashKeyError(msg)
    if isinstance(value, str) and _ID18_RE.match(value):
        text = value  # already in normal form (valid or not, normalising would not change it)
    else:
        check = check_id_card(value)
        text = check.normalized if check.ok and check.normalized else normalize_id_text(value)
    return hmac.new(key, text.encode("ascii", "backslashreplace"), hashlib.sha256).hexdigest()


def id_last4(value: object) -> str:
    """Last four characters of the (normalised, 18-digit when valid) ID-card number."""
    check = check_id_card(value)
    text = check.normalized if check.ok and check.normalized else normalize_id_text(value)
    return text[-4:]


def mask_id_number(value: object) -> str:
    """Mask an ID-card number for a screen: every character but the last four becomes ``*``.

    ``"330106199001011234"`` -> ``"**************1234"``; four characters or fewer are
    masked whole; empty stays empty. (Downloads for fixing keep the number.)
    """
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def mask_name(name: object) -> str:
    """Mask a personal name, keeping its first and last characters.

    ``"张三明"`` -> ``"张*明"``, ``"张三"`` -> ``"张*"``, ``"欧阳娜娜"`` -> ``"欧**娜"``;
    a one-character name becomes ``"*"``; empty stays empty.
    """
    text = "" if name is None or (isinstance(name, float) and name != name) else str(name).strip()
    n = len(text)
    if n == 0:
        return ""
    if n == 1:
        return "*"
    if n == 2:
        return text[0] + "*"
    return text[0] + "*" * (n - 2) + text[-1]


def id_hash_key(*, env: Mapping[str, str] | None = None, key_file: str | Path | None = None) -> bytes:
    """The secret key for :func:`id_hash`.

    Taken from the environment variable ``XIHU_ID_HASH_KEY`` (its UTF-8 bytes) when set;
    otherwise read from ``key_file`` (default ``<data dir>/id_hash.key``), which is
    created on first use with 32 random bytes (``secrets.token_bytes``), readable by the
    owner only. Back the file up: hashes made with a lost key can no longer be matched.

    Parameters
    ----------
    env : mapping, optional
        Environment to read (default ``os.environ``).
    key_file : path, optional
        Key file location.

    Returns
    -------
    bytes : at least 16 bytes.

    Raises
    ------
    IdHashKeyError
        When the key is too short or the key file cannot be read or created.
    """
    return secret_key(
        ID_HASH_KEY_ENV,
        ID_HASH_KEY_FILE,
        error=IdHashKeyError,
        what_zh="身份证号哈希密钥",
        what_en="ID hashing key",
        env=env,
        key_file=key_file,
    )
