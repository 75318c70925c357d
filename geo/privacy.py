"""Small-count suppression of the figures a map or a report prints about beneficiaries.

Aggregates must not reveal individuals (PIPL art. 28 "minimum necessary", the bureau's
de-identification rule). The rules used everywhere a count of beneficiaries is shown:

**One count on its own** (:func:`suppress_count`): 1 to ``threshold - 1`` (1-9) prints
as ``"<10"`` (:data:`LT_MARK`); 0 and counts of at least ``threshold`` print as they are.

**Counts printed together with the total they add up to** (households of a hexagon =
covered + uncovered = the sum of its categories; :func:`protect_hex`,
:func:`protect_partition`). Printing ``n = 15, covered = 12, uncovered "<10"`` gives the
3 away by subtraction, and cleverer rules that hide "just enough" leak through their
own decisions to a reader who knows them (hiding a neighbour only when a small count
would be pinned tells the reader that it would have been pinned). The rule here depends
only on what it prints, so knowing it tells a reader nothing more:

* no count of the area is small: every count prints exactly;
* the total is 1-9: it prints ``"<10"`` and so does every non-zero part;
* the total is at least ``threshold`` and some part is 1-9 (a printed one, or the
  unprinted remainder such as "no category recorded"): **every** count of the area
  prints as its band of ``threshold``: ``"0"``, ``"<10"``, ``"10–19"``, ``"20–29"`` ...

A reader who knows the rule and every printed band still has at least three candidate
values for every ``"<10"`` (checked exhaustively in ``tests/geo/test_privacy.py`` for
areas of up to 40 households). A ratio (coverage %) prints exactly only when every
count prints exactly; otherwise as the band of values the printed counts allow
(``"55–95%"``), or ``"—"`` when the total itself is ``"<10"`` (``"0%"`` / ``"100%"``
when a printed zero makes it certain). Colours must be derived from the printed figures
(the ``*_lower`` / ``*_upper`` bounds returned here), never from the true counts.

:mod:`geo.suppression` protects whole report tables (many overlapping relations, an
integer-programming audit); the ``"<10"`` mark is the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import GeoError

DEFAULT_THRESHOLD = 10
LT_MARK = "<10"
#: a ratio that cannot be printed (its total is "<10" or the area is empty)
HIDDEN_MARK = "—"


def _marks(threshold: int) -> tuple[str]:
    return (f"<{threshold}",)


def _check_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 2:
        msg = f"the suppression threshold must be an integer >= 2, got {threshold!r}"
        raise GeoError(msg)
    return int(threshold)


def _as_count(value: Any) -> int:
    """A count as a non-negative int (NaN / None count as 0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return 0
    v = int(value)
    if v < 0 or v != value:
        msg = f"a count must be a non-negative integer, got {value!r}"
        raise GeoError(msg)
    return v


def is_small(n: Any, *, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether a count is suppressed by the primary rule (``1 <= n < threshold``)."""
    v = _as_count(n)
    return 1 <= v < _check_threshold(threshold)


def suppress_count(n: Any, *, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count of people as it may be printed: ``"0"``, ``"<10"`` or the number.

    Parameters
    ----------
    n : int-like
        A count (NaN and None count as 0).
    threshold : int
        Counts from 1 to ``threshold - 1`` are printed ``"<threshold"``.

    Returns
    -------
    str
        ``"0"``, ``"<10"``, or the count in decimal digits (``"1234"``; callers may
        format thousands separators themselves for counts of at least ``threshold``).

    Raises
    ------
    GeoError
        When ``n`` is negative or not an integer.
    """
    t = _check_threshold(threshold)
    v = _as_count(n)
    return _marks(t)[0] if 1 <= v < t else str(v)


def small_mask(values: npt.ArrayLike | pd.Series, *, threshold: int = DEFAULT_THRESHOLD) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`is_small`: ``1 <= value < threshold`` (missing values are 0)."""
    t = _check_threshold(threshold)
    v = pd.to_numeric(pd.Series(values), errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    return np.asarray((v >= 1) & (v < t), dtype=bool)


def suppress_counts(values: npt.ArrayLike | pd.Series, *, threshold: int = DEFAULT_THRESHOLD) -> pd.Series:
    """Vectorised :func:`suppress_count` for a column of counts.

    Parameters
    ----------
    values : Series or array-like of int
        Counts (missing values are 0).
    threshold : int
        Counts from 1 to ``threshold - 1`` become ``"<threshold"``.

    Returns
    -------
    Series of str
        Same index as ``values`` when it is a Series (a RangeIndex otherwise).

    Raises
    ------
    GeoError
        When a value is negative or not an integer.
    """
    t = _check_threshold(threshold)
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    num = pd.to_numeric(s, errors="coerce").fillna(0)
    arr = num.to_numpy(dtype=np.float64)
    if (arr < 0).any() or (arr != np.floor(arr)).any():
        msg = "counts must be non-negative integers"
        raise GeoError(msg)
    ints = arr.astype(np.int64)
    out = np.where((ints >= 1) & (ints < t), _marks(t)[0], ints.astype(str))
    return pd.Series(out, index=s.index, dtype=object)


def suppress_frame(frame: pd.DataFrame, columns: Sequence[str], *, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """A copy of ``frame`` whose count ``columns`` are printed with :func:`suppress_counts` (str)."""
    out = frame.copy()
    for c in columns:
        out[c] = suppress_counts(frame[c], threshold=threshold)
    return out


# --------------------------------------------------------------------- areas

#: how a count of an area is printed
EXACT = "exact"
SMALL = "small"
BAND = "band"


def band_of(n: Any, *, threshold: int = DEFAULT_THRESHOLD) -> tuple[str, int, int]:
    """The band of ``threshold`` holding a count: ``("0", 0, 0)``, ``("<10", 1, 9)``, ``("20–29", 20, 29)``."""
    t = _check_threshold(threshold)
    v = _as_count(n)
    if v == 0:
        return "0", 0, 0
    if v < t:
        return _marks(t)[0], 1, t - 1
    lo = (v // t) * t
    return f"{lo}–{lo + t - 1}", lo, lo + t - 1


@dataclass(frozen=True)
class ShownCount:
    """One printed count and what the print tells about it.

    Attributes
    ----------
    text : what is printed (``"12"``, ``"<10"``, ``"20–29"``).
    status : ``"exact"``, ``"small"`` (1..threshold-1) or ``"band"``.
    lower, upper : the values the printed text allows (equal when exact).
    """

    text: str
    status: str
    lower: int
    upper: int

    @property
    def exact(self) -> bool:
        return self.status == EXACT

    @property
    def width(self) -> int:
        return self.upper - self.lower


def _shown(value: int, mode: str, threshold: int) -> ShownCount:
    if mode == EXACT or value == 0:
        return ShownCount(str(value), EXACT, value, value)
    text, lo, hi = band_of(value, threshold=threshold)
    return ShownCount(text, SMALL if hi < threshold else BAND, lo, hi)


def _area_mode(total: int, parts: Sequence[int], threshold: int) -> str:
    """``"exact"`` when no count is small, ``"band"`` otherwise (a small total gives small parts)."""
    small = 1 <= total < threshold or any(1 <= p < threshold for p in parts)
    return BAND if small else EXACT


@dataclass(frozen=True)
class ShownPartition:
    """A total and its parts as printed (:func:`protect_partition`)."""

    total: ShownCount
    parts: tuple[ShownCount, ...]


def protect_partition(
    total: int,
    parts: Sequence[int],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    unprinted: Sequence[int] = (),
) -> ShownPartition:
    """Print a total and the parts it splits into without giving any count of 1..9 away.

    Parameters
    ----------
    total : int
        The total (e.g. households of a town).
    parts : sequence of int
        The printed parts; with ``unprinted`` they add up to ``total``.
    threshold : int
        Counts from 1 to ``threshold - 1`` are small.
    unprinted : sequence of int
        Parts that are not printed (e.g. records without a category); a small one
        puts the area in band mode too, since the printed figures would reveal it.

    Returns
    -------
    ShownPartition

    Raises
    ------
    GeoError
        When the parts do not add up to the total or a count is negative.
    """
    t = _check_threshold(threshold)
    tot = _as_count(total)
    vals = [_as_count(p) for p in parts]
    rest = [_as_count(p) for p in unprinted]
    if sum(vals) + sum(rest) != tot:
        msg = f"the parts ({sum(vals) + sum(rest)}) do not add up to the total ({tot})"
        raise GeoError(msg)
    mode = _area_mode(tot, [*vals, *rest], t)
    return ShownPartition(total=_shown(tot, mode, t), parts=tuple(_shown(v, mode, t) for v in vals))


@dataclass(frozen=True)
class ShownHex:
    """The printed figures of one area (:func:`protect_hex`).

    Attributes
    ----------
    n, covered, uncovered : ShownCount
    categories : tuple of ShownCount, one per category count given (same order).
    pct_text : coverage as printed: ``"87.5%"``, a band ``"55–95%"`` or ``"—"``.
    pct_lower, pct_upper : the coverage % the printed counts allow (0-100; ``nan``
        for an empty area).
    """

    n: ShownCount
    covered: ShownCount
    uncovered: ShownCount
    categories: tuple[ShownCount, ...]
    pct_text: str
    pct_lower: float
    pct_upper: float

    @property
    def pct_mid(self) -> float:
        return (self.pct_lower + self.pct_upper) / 2.0

    @property
    def exact(self) -> bool:
        return self.n.exact and self.covered.exact and self.uncovered.exact


def _pct_band(n: ShownCount, covered: ShownCount, uncovered: ShownCount) -> tuple[str, float, float]:
    """Coverage % over every (covered, uncovered) pair the printed bands allow."""
    if n.upper == 0:
        return HIDDEN_MARK, math.nan, math.nan
    if n.exact and covered.exact:
        p = 100.0 * covered.lower / n.lower
        return f"{p:.1f}%", p, p
    lo, hi = math.inf, -math.inf
    for c in range(covered.lower, covered.upper + 1):
        u_lo = max(uncovered.lower, n.lower - c)
        u_hi = min(uncovered.upper, n.upper - c)
        if u_lo > u_hi or c + u_lo == 0:
            continue
        # c / (c + u) falls as u grows
        lo = min(lo, 100.0 * c / (c + u_hi))
        hi = max(hi, 100.0 * c / (c + u_lo) if c + u_lo else 0.0)
    if lo == hi:
        return f"{lo:.0f}%", lo, hi
    if n.status == SMALL:
        return HIDDEN_MARK, lo, hi
    return f"{math.floor(lo):.0f}–{math.ceil(hi):.0f}%", lo, hi


def protect_hex(
    n: int,
    covered: int,
    categories: Sequence[int] = (),
    *,
    threshold: int = DEFAULT_THRESHOLD,
) -> ShownHex:
    """The figures of one area (a hexagon) safe to print together.

    ``n = covered + uncovered = sum(categories) + no category recorded``: when any of
    these counts is small, every count of the area prints as its band (see the module
    docstring); otherwise all print exactly.

    Parameters
    ----------
    n : int
        Beneficiaries (households) in the area.
    covered : int
        Those inside the walking circle (``uncovered = n - covered``).
    categories : sequence of int
        Counts per category; their shortfall from ``n`` is an unprinted part.
    threshold : int
        Counts from 1 to ``threshold - 1`` are small.

    Returns
    -------
    ShownHex
    """
    t = _check_threshold(threshold)
    tot = _as_count(n)
    cov = _as_count(covered)
    if cov > tot:
        msg = f"covered ({cov}) exceeds the total ({tot})"
        raise GeoError(msg)
    cats = [_as_count(c) for c in categories]
    rest = tot - sum(cats)
    if rest < 0:
        msg = f"the category counts ({sum(cats)}) exceed the total ({tot})"
        raise GeoError(msg)
    mode = _area_mode(tot, [cov, tot - cov, *cats, rest], t)
    shown_n = _shown(tot, mode, t)
    shown_c = _shown(cov, mode, t)
    shown_u = _shown(tot - cov, mode, t)
    text, lo, hi = _pct_band(shown_n, shown_c, shown_u)
    return ShownHex(
        n=shown_n,
        covered=shown_c,
        uncovered=shown_u,
        categories=tuple(_shown(c, mode, t) for c in cats),
        pct_text=text,
        pct_lower=lo,
        pct_upper=hi,
    )


def protect_hexes(
    hexes: pd.DataFrame,
    *,
    category_cols: Sequence[str] = (),
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """:func:`protect_hex` for every row of an aggregate table (e.g. :func:`geo.hexes.aggregate_points`).

    Parameters
    ----------
    hexes : DataFrame
        With columns ``n`` and ``covered`` (int) and the ``category_cols``.
    category_cols : sequence of str
        Per-category counts of the same rows (e.g. ``n_cat_dibao`` ...).
    threshold : int
        Counts from 1 to ``threshold - 1`` are small.

    Returns
    -------
    DataFrame
        Same index as ``hexes``, columns ``n_txt``, ``covered_txt``, ``uncovered_txt``
        (str), ``pct_txt`` (str), ``pct_lower``, ``pct_upper`` (float, 0-100, NaN for an
        empty area), ``n_lower``, ``n_upper``, ``covered_lower``, ``covered_upper``,
        ``uncovered_lower``, ``uncovered_upper`` (int: the values the printed text
        allows), then ``<col>_txt`` (str) for every category column.
    """
    missing = [c for c in ("n", "covered", *category_cols) if c not in hexes.columns]
    if missing:
        msg = f"the aggregate table lacks column(s): {', '.join(missing)}"
        raise GeoError(msg)
    n = hexes["n"].to_numpy()
    cov = hexes["covered"].to_numpy()
    cats = hexes[list(category_cols)].to_numpy() if category_cols else np.zeros((len(hexes), 0), dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for i in range(len(hexes)):
        h = protect_hex(n[i], cov[i], cats[i].tolist(), threshold=threshold)
        row: dict[str, Any] = {
            "n_txt": h.n.text,
            "covered_txt": h.covered.text,
            "uncovered_txt": h.uncovered.text,
            "pct_txt": h.pct_text,
            "pct_lower": h.pct_lower,
            "pct_upper": h.pct_upper,
            "n_lower": h.n.lower,
            "n_upper": h.n.upper,
            "covered_lower": h.covered.lower,
            "covered_upper": h.covered.upper,
            "uncovered_lower": h.uncovered.lower,
            "uncovered_upper": h.uncovered.upper,
        }
        for col, shown in zip(category_cols, h.categories, strict=True):
            row[f"{col}_txt"] = shown.text
        rows.append(row)
    columns = [
        "n_txt", "covered_txt", "uncovered_txt", "pct_txt", "pct_lower", "pct_upper", "n_lower", "n_upper",
        "covered_lower", "covered_upper", "uncovered_lower", "uncovered_upper",
        *[f"{c}_txt" for c in category_cols],
    ]  # fmt: skip
    return pd.DataFrame(rows, index=hexes.index, columns=columns)


__all__ = [
    "DEFAULT_THRESHOLD",
    "HIDDEN_MARK",
    "LT_MARK",
    "ShownCount",
    "ShownHex",
    "ShownPartition",
    "band_of",
    "is_small",
    "protect_hex",
    "protect_hexes",
    "protect_partition",
    "small_mask",
    "suppress_count",
    "suppress_counts",
    "suppress_frame",
]
