"""The one catalogue: every key in both languages, every code of the vocabulary labelled."""

from __future__ import annotations

import string

import pandas as pd
import pytest

from core.i18n import LABELS, TEXT, label, labels, t
from core.vocab import (
    CATEGORIES,
    DEFAULT_CATALOGUE,
    DELIVERIES,
    MATCH_REASONS,
    NEED_TYPES,
    PROVIDER_KINDS,
    SERVICE_CATALOGUE,
    TIERS,
)


def test_every_string_has_both_languages_with_the_same_fields() -> None:
    fmt = string.Formatter()
    for key, (zh, en) in TEXT.items():
        assert zh and en, key
        fields_zh = {f for _, f, _, _ in fmt.parse(zh) if f}
        fields_en = {f for _, f, _, _ in fmt.parse(en) if f}
        assert fields_zh == fields_en, key


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("category", CATEGORIES),
        ("need_type", NEED_TYPES),
        ("tier", TIERS),
        ("provider_kind", PROVIDER_KINDS),
        ("delivery", DELIVERIES),
        ("match_reason", MATCH_REASONS),
    ],
)
def test_every_code_has_a_chinese_and_an_english_label(kind: str, codes: tuple[str, ...]) -> None:
    assert set(codes) == set(LABELS[kind])
    for code in codes:
        zh, en = label(kind, code, "zh"), label(kind, code, "en")
        assert zh != code and en != code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_missing_codes_read_not_recorded_and_services_use_the_catalogue() -> None:
    for missing in (None, float("nan"), "", "None", "nan", pd.NA, pd.NaT):
        assert label("category", missing) == "未填"
    assert label("need_type", None, "en") == "not recorded"
    item = SERVICE_CATALOGUE[0]
    assert label("service", item.code) == item.name_zh
    assert labels("service", "en")[item.code] == item.name_en
    extra = DEFAULT_CATALOGUE[-1]
    assert extra.code not in {s.code for s in SERVICE_CATALOGUE}
    assert label("service", extra.code) == extra.name_zh
    assert set(labels("service")) == {s.code for s in DEFAULT_CATALOGUE}
    assert t("cutoff", "en", m=10, s=4.5, d=750).startswith("Cutoff")
