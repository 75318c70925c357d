"""ID-card numbers: GB 11643 check digits by an independent implementation, Excel damage, hashing, masking."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest

from core.errors import IdHashKeyError
from data.idcard import ID_HASH_KEY_ENV, check_digit, check_id_card, id_hash, id_hash_key, id_last4, mask_name

KEY = b"test-key-0123456789abcdef"


def gb11643(first17: str) -> str:
    """Check character written from the standard's definition: weights 2**(17-i) mod 11."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    s = sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11
    return {0: "1", 1: "0", 2: "X"}.get(s, str(12 - s))


def valid(first17: str) -> str:
    return first17 + gb11643(first17)


def test_independent_check_digit_agrees_with_module() -> None:
    for first17 in ("11010519491231002", "33010619900101123", "33010620000229100", "44030419850615777"):
        assert check_digit(first17) == gb11643(first17)
    # the weights the standard prints
    assert [pow(2, 17 - i, 11) for i in range(17)] == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def test_published_example_is_valid() -> None:
    # the example number of GB 11643-1999 (Beijing Chaoyang, born 1949-12-31)
    res = check_id_card("11010519491231002X")
    assert res.ok and res.code is None and res.normalized == "11010519491231002X" and not res.upgraded
    assert gb11643("11010519491231002") == "X"


@pytest.mark.parametrize(
    "typed",
    [" 11010519491231002x ", "１１０１０５１９４９１２３１００２Ｘ", "'11010519491231002X", "110105 19491231 002X"],
)
def test_spelling_variants_normalise(typed: str) -> None:
    res = check_id_card(typed)
    assert res.ok and res.normalized == "11010519491231002X"


def test_generated_valid_numbers_pass() -> None:
    for first17 in ("33010619900101123", "33010619851231456", "33010620000229001", "33010619700615999"):
        n = valid(first17)
        res = check_id_card(n)
        assert res.ok, (n, res)
        assert res.normalized == n


def test_bad_checksum() -> None:
    good = valid("33010619900101123")
    wrong = good[:17] + ("1" if good[17] != "1" else "2")
    res = check_id_card(wrong)
    assert not res.ok and res.code == "id_bad_checksum"
    assert "校验位" in res.message_zh
    assert check_id_card("110105194912310021").code == "id_bad_checksum"


@pytest.mark.parametrize("value", ["", None, float("nan"), "1101051949123100", "1101051949123100221", "330106"])
def test_bad_length(value: object) -> None:
    res = check_id_card(value)
    assert not res.ok and res.code == "id_bad_length"


@pytest.mark.parametrize(
    "value", ["11010519491231002Y", "1101051949123X002X", "11010519491231002-", "身份证11010519491"]
)
def test_bad_chars(value: str) -> None:
    assert check_id_card(value).code == "id_bad_chars"


def test_bad_birthdate() -> None:
    assert check_id_card(valid("11010519491331002")).code == "id_bad_birthdate"  # month 13
    assert check_id_card(valid("11010519490230002")).code == "id_bad_birthdate"  # 30 February
    future = valid("11010520990101002")
    assert check_id_card(future, today=dt.date(2025, 1, 1)).code == "id_bad_birthdate"
    assert check_id_card(valid("11010518000101002")).code == "id_bad_birthdate"  # before 1850
    assert check_id_card(valid("11010518491231002")).code == "id_bad_birthdate"
    assert check_id_card(valid("11010518500101002")).ok


def test_standards_own_example_born_1880_is_valid() -> None:
    # GB 11643-1999's example: Guangdong Chao'an (440524), born 1880-01-01, female
    res = check_id_card("440524188001015368")
    assert res.ok and res.normalized == "440524188001015368"
    assert gb11643("44052418800101536") == "8"


# every province-level code of GB/T 2260, written out independently of the module
GB2260_PROVINCES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
]


@pytest.mark.parametrize("province", range(100))
def test_province_code_is_checked(province: int) -> None:
    number = valid(f"{province:02d}0426199112010{province % 10}7")
    old = f"{province:02d}0426911201{province % 10}07"  # the same check on a 15-digit number
    if province in GB2260_PROVINCES:
        assert check_id_card(number).ok, number
        assert check_id_card(old).ok, old
    else:
        for n in (number, old):
            res = check_id_card(n)
            assert not res.ok and res.code == "id_bad_region", n
            assert "省级行政区划代码" in res.message_zh and "GB/T 2260" in res.message_zh


def test_numbers_of_the_issue_fail_on_their_province() -> None:
    # both passed before: a valid check digit and date, but no province 99 or 01
    assert check_digit("99042619911201007") == "4"
    assert check_id_card("990426199112010074").code == "id_bad_region"
    assert check_id_card("010101491001001").code == "id_bad_region"
    assert check_id_card("330106491001001").ok  # the same 15 digits in Zhejiang


@pytest.mark.parametrize(
    "mangled",
    [
        "3.30106E+17",  # what Excel shows and writes to CSV for an 18-digit number
        "3.30106e+17",
        "3.30106199001011e+17",  # str() of the float
        "330106199001011200",  # zeroed tail (the example of the issue)
        "330106199001011000",  # Excel's 15 significant digits
        "330106199001011008",  # a float64 read back as an integer
        "330106199001011234.0",
        "3301061990010112.5",
    ],
)
def test_excel_mangled(mangled: str) -> None:
    res = check_id_card(mangled)
    assert not res.ok and res.code == "id_excel_mangled", res
    assert "Excel" in res.message_zh and "文本" in res.message_zh


def test_numbers_beyond_float_precision_are_mangled() -> None:
    number = int(valid("33010619900101124"))
    # a spreadsheet number is a float64: an 18-digit number in a number cell is always damaged
    assert check_id_card(float(number)).code == "id_excel_mangled"
    assert check_id_card(number).code == "id_excel_mangled"
    # as text, the float's digits fail the check digit and are recognised as rounded
    assert check_id_card("330106199001011008").code == "id_excel_mangled"
    # 15-digit old numbers fit a double exactly
    assert check_id_card(330106900101123.0).ok
    assert check_id_card(330106900101123).normalized == valid("33010619900101123")


def test_valid_number_that_is_an_exact_float_still_passes() -> None:
    # about 1 in 32 real numbers is exactly a float64; the Excel heuristic must not reject them
    exact = [
        n
        for n in (valid(f"33010619900101{seq:03d}") for seq in range(1000))
        if n.isdigit() and int(float(int(n))) == int(n) and not n.endswith("00")
    ]
    assert len(exact) >= 5
    assert all(check_id_card(n).ok for n in exact)


def test_fifteen_digit_numbers_are_upgraded() -> None:
    res = check_id_card("330106900101123")
    expected = valid("33010619900101123")
    assert res.ok and res.upgraded and res.normalized == expected
    assert check_id_card("330106900101123.0").normalized == expected  # numeric cell, exact in a double
    assert check_id_card("330106901301123").code == "id_bad_birthdate"
    assert id_hash("330106900101123", KEY) == id_hash(expected, KEY)


def test_id_hash_is_keyed_hmac_sha256() -> None:
    n = "11010519491231002X"
    h = id_hash(n, KEY)
    assert h == hmac.new(KEY, n.encode(), hashlib.sha256).hexdigest()
    assert len(h) == 64 and h == id_hash(" 11010519491231002x", KEY)
    assert h != id_hash(n, KEY + b"!")
    assert n not in h
    with pytest.raises(IdHashKeyError):
        id_hash(n, b"short")


def test_last4_and_mask_name() -> None:
    assert id_last4("11010519491231002x") == "002X"
    assert id_last4("330106900101123") == valid("33010619900101123")[-4:]
    assert mask_name("张三明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name(" 李 ") == "*"
    assert mask_name("") == "" and mask_name(None) == "" and mask_name(float("nan")) == ""


def test_key_from_environment() -> None:
    assert id_hash_key(env={ID_HASH_KEY_ENV: "a-long-enough-secret"}) == b"a-long-enough-secret"
    with pytest.raises(IdHashKeyError):
        id_hash_key(env={ID_HASH_KEY_ENV: "short"})


def test_key_file_created_once_private_and_random(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "a")}
    k1 = id_hash_key(env=env)
    path = tmp_path / "a" / "xihu-service-map" / "id_hash.key"
    assert path.is_file() and len(k1) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert id_hash_key(env=env) == k1  # stable
    assert id_hash_key(env={"XDG_DATA_HOME": str(tmp_path / "b")}) != k1  # random, not hard-coded
    assert id_hash_key(env={}, key_file=path) == k1
    assert not list(path.parent.glob("*.tmp"))


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "k"
    p.write_bytes(b"tiny")
    with pytest.raises(IdHashKeyError):
        id_hash_key(env={}, key_file=p)
