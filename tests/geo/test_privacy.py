"""Small-count suppression: the printed figures never give a count of 1-9 away."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from core.errors import GeoError
from geo.privacy import (
    HIDDEN_MARK,
    LT_MARK,
    band_of,
    protect_hex,
    protect_hexes,
    protect_partition,
    small_mask,
    suppress_count,
    suppress_counts,
    suppress_frame,
)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0"), (1, "<10"), (5, "<10"), (9, "<10"), (10, "10"), (11, "11"), (1234, "1234"), (None, "0"),
     (float("nan"), "0"), (np.int64(3), "<10"), (7.0, "<10")],
)  # fmt: skip
def test_suppress_count(n: object, expected: str) -> None:
    assert suppress_count(n) == expected


def test_suppress_count_threshold_and_errors() -> None:
    assert suppress_count(5, threshold=5) == "5"
    assert suppress_count(4, threshold=5) == "<5"
    with pytest.raises(GeoError):
        suppress_count(-1)
    with pytest.raises(GeoError):
        suppress_count(2.5)
    with pytest.raises(GeoError):
        suppress_count(3, threshold=1)


def test_vectorised_variants_match_the_scalar_rule() -> None:
    values = pd.Series([0, 1, 9, 10, 25, None, 3], index=list("abcdefg"), dtype="Float64")
    out = suppress_counts(values)
    assert out.index.tolist() == list("abcdefg")
    assert out.tolist() == [suppress_count(v if pd.notna(v) else 0) for v in values]
    assert small_mask(values).tolist() == [False, True, True, False, False, False, True]
    frame = pd.DataFrame({"town": ["a", "b"], "n": [4, 40], "covered": [0, 12]})
    shown = suppress_frame(frame, ["n", "covered"])
    assert shown[["n", "covered"]].to_numpy().tolist() == [["<10", "0"], ["40", "12"]]
    assert frame["n"].tolist() == [4, 40]  # the input is not modified
    with pytest.raises(GeoError):
        suppress_counts([1, -2])


def test_band_of() -> None:
    assert band_of(0) == ("0", 0, 0)
    assert band_of(7) == ("<10", 1, 9)
    assert band_of(10) == ("10–19", 10, 19)
    assert band_of(29) == ("20–29", 20, 29)
    assert band_of(1234) == ("1230–1239", 1230, 1239)
    assert band_of(7, threshold=5) == ("5–9", 5, 9)


def test_partition_prints_bands_when_a_part_is_small() -> None:
    # 15 = 12 + 3: printing 15 and 12 would give the 3 away
    p = protect_partition(15, [12, 3])
    assert [p.total.text, *[s.text for s in p.parts]] == ["10–19", "10–19", LT_MARK]
    # nothing small: printed as they are
    p = protect_partition(40, [30, 10, 0])
    assert [p.total.text, *[s.text for s in p.parts]] == ["40", "30", "10", "0"]
    assert all(s.exact for s in p.parts)
    # a small unprinted remainder would be revealed by subtraction too
    p = protect_partition(40, [30, 7], unprinted=[3])
    assert [p.total.text, *[s.text for s in p.parts]] == ["40–49", "30–39", LT_MARK]
    p = protect_partition(6, [6, 0])
    assert [p.total.text, *[s.text for s in p.parts]] == [LT_MARK, LT_MARK, "0"]
    with pytest.raises(GeoError):
        protect_partition(10, [3, 3])


def _printed(h: object) -> tuple[str, ...]:
    return (h.n.text, h.covered.text, h.uncovered.text, *[c.text for c in h.categories], h.pct_text)  # type: ignore[attr-defined]


def test_no_small_count_can_be_narrowed_by_a_reader_who_knows_the_rule() -> None:
    """Every area that prints the same figures is a candidate; each "<10" keeps >= 3 candidate values.

    Exhaustive over areas of up to 29 households, split into covered / uncovered and
    into two categories plus records without a category (not printed). A group of
    candidates is complete when the printed total allows no value above 29.
    """
    top = 29
    groups: dict[tuple[str, ...], list[tuple[int, int, int, int, int]]] = defaultdict(list)
    shown: dict[tuple[str, ...], object] = {}
    for n in range(top + 1):
        for c in range(n + 1):
            for a in range(n + 1):
                for b in range(n + 1 - a):
                    h = protect_hex(n, c, [a, b])
                    key = _printed(h)
                    groups[key].append((n, c, n - c, a, b))
                    prev = shown.setdefault(key, h)
                    # the bounds (which colour a hexagon) depend on the printed figures only
                    assert (prev.pct_lower, prev.pct_upper, prev.n.upper) == (h.pct_lower, h.pct_upper, h.n.upper)  # type: ignore[attr-defined]
    checked = 0
    for key, members in groups.items():
        h = shown[key]
        if h.n.upper > top:  # type: ignore[attr-defined]
            continue
        for text, vals in zip(key[:5], zip(*members, strict=True), strict=True):
            if text == LT_MARK:
                assert len(set(vals)) >= 3, (key, sorted(set(vals)))
                checked += 1
        for n, c, _, _, _ in members:
            if n:
                assert h.pct_lower - 1e-9 <= 100.0 * c / n <= h.pct_upper + 1e-9, (key, n, c)  # type: ignore[attr-defined]
    assert checked > 50
    assert len(groups) > 1000


def test_protect_hex_prints_exact_figures_when_nothing_is_small() -> None:
    h = protect_hex(40, 30, [25, 15])
    assert _printed(h) == ("40", "30", "10", "25", "15", "75.0%")
    assert h.exact and h.pct_lower == h.pct_upper == 75.0
    h = protect_hex(0, 0, [0])
    assert h.pct_text == HIDDEN_MARK and math.isnan(h.pct_lower)
    h = protect_hex(6, 0, [6])
    assert (h.n.text, h.covered.text, h.uncovered.text, h.pct_text) == (LT_MARK, "0", LT_MARK, "0%")
    h = protect_hex(7, 3, [7])
    assert _printed(h) == (LT_MARK, LT_MARK, LT_MARK, LT_MARK, HIDDEN_MARK)
    h = protect_hex(25, 20, [20, 5])
    assert _printed(h) == ("20–29", "20–29", LT_MARK, "20–29", LT_MARK, "68–97%")
    with pytest.raises(GeoError):
        protect_hex(5, 6)
    with pytest.raises(GeoError):
        protect_hex(5, 2, [4, 4])


def test_protect_hexes_frame() -> None:
    hexes = pd.DataFrame(
        {"n": [7, 25, 40, 0], "covered": [3, 20, 40, 0], "n_cat_a": [7, 20, 30, 0], "n_cat_b": [0, 5, 10, 0]},
        index=[10, 11, 12, 13],
    )
    out = protect_hexes(hexes, category_cols=["n_cat_a", "n_cat_b"])
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.loc[10, ["n_txt", "covered_txt", "uncovered_txt", "pct_txt"]].tolist() == [
        LT_MARK, LT_MARK, LT_MARK, HIDDEN_MARK,
    ]  # fmt: skip
    assert out.loc[11, ["n_txt", "covered_txt", "uncovered_txt", "n_cat_b_txt"]].tolist() == [
        "20–29", "20–29", LT_MARK, LT_MARK,
    ]  # fmt: skip
    assert out.loc[12, ["n_txt", "pct_txt", "n_cat_b_txt"]].tolist() == ["40", "100.0%", "10"]
    assert out.loc[11, "pct_lower"] <= 80.0 <= out.loc[11, "pct_upper"]
    assert (out.loc[11, "uncovered_lower"], out.loc[11, "uncovered_upper"]) == (1, 9)
    with pytest.raises(GeoError):
        protect_hexes(hexes.drop(columns="covered"))
