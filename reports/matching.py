"""The reports' matching section (精准匹配): matched share by need type, unmet needs by item and reason.

One table pair per scope (the district and each town), every count published through one
:class:`geo.disclosure.Screen`: no count of 1-9 prints, and neither the row and column
sums of a table nor the town tables summed to the district's (a reader holding every
report knows those relations) reveal a withheld cell. Shares print only when both counts
print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.i18n import item_label, label
from core.vocab import MATCH_REASONS, NEED_TYPES
from geo.disclosure import Screen, ShownScreen

#: the district's key in :class:`MatchingTables`
DISTRICT_KEY = ""
#: XLSX sheet names
SHEET_BY_TYPE = "匹配-需求类型"
SHEET_UNMET = "匹配-未匹配原因"
TOTAL_ZH = "合计"


@dataclass(frozen=True)
class MatchingTables:
    """The printed matching tables per scope (``DISTRICT_KEY`` or a town code).

    Attributes
    ----------
    by_type : mapping of scope -> DataFrame
        ``need_type_zh, n, matched, unmet, share`` (text as printed), one row per need type
        and a 合计 row.
    unmet : mapping of scope -> DataFrame
        ``item_zh``, one column per reason (Chinese label) and ``total`` (text as printed),
        one row per item with unmet needs in the scope and a 合计 row.
    """

    by_type: Mapping[str, pd.DataFrame]
    unmet: Mapping[str, pd.DataFrame]


@dataclass
class _Scope:
    a: np.ndarray  # need types x (n, matched, unmet) cell ids
    a_total: np.ndarray  # (n, matched, unmet)
    b: np.ndarray  # items x reasons
    b_row: np.ndarray  # items
    b_col: np.ndarray  # reasons


def _add_scope(scr: Screen, needs: pd.DataFrame, items: Sequence[str], reasons: Sequence[str]) -> _Scope:
    n = needs.groupby("need_type").size().reindex(NEED_TYPES, fill_value=0).to_numpy()
    m = needs[needs["matched"]].groupby("need_type").size().reindex(NEED_TYPES, fill_value=0).to_numpy()
    a = scr.cells(np.stack([n, m, n - m], axis=1))
    tot = scr.cells([n.sum(), m.sum(), (n - m).sum()])
    for r in range(len(NEED_TYPES)):
        scr.relate(a[r, 1:], a[r, 0])
    for c in range(3):
        scr.relate(a[:, c], tot[c])
    scr.relate(tot[1:], tot[0])
    un = needs[~needs["matched"]]
    counts = un.groupby(["item_id", "reason"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=list(items), columns=list(reasons), fill_value=0)
    b = scr.cells(counts.to_numpy())
    b_row = scr.cells(counts.sum(axis=1).to_numpy())
    b_col = scr.cells(counts.sum(axis=0).to_numpy())
    for i in range(len(items)):
        scr.relate(b[i], b_row[i])
    for j in range(len(reasons)):
        scr.relate(b[:, j], b_col[j])
    scr.relate(b_row, tot[2])
    scr.relate(b_col, tot[2])
    return _Scope(a=a, a_total=tot, b=b, b_row=b_row, b_col=b_col)


def _by_type_frame(sc: _Scope, shown: ShownScreen) -> pd.DataFrame:
    rows = []
    for r, code in enumerate([*NEED_TYPES, TOTAL_ZH]):
        cells = sc.a[r] if r < len(NEED_TYPES) else sc.a_total
        share, _, _ = shown.pct(int(cells[1]), int(cells[0]))
        rows.append(
            {
                "need_type_zh": label("need_type", code) if code != TOTAL_ZH else TOTAL_ZH,
                "n": shown.text(int(cells[0])),
                "matched": shown.text(int(cells[1])),
                "unmet": shown.text(int(cells[2])),
                "share": share,
            }
        )
    return pd.DataFrame(rows)


def _unmet_frame(
    sc: _Scope,
    shown: ShownScreen,
    items: Sequence[str],
    reasons: Sequence[str],
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    heads = [label("match_reason", r) for r in reasons]
    rows = []
    for i, item in enumerate(items):
        if shown.values[sc.b_row[i]] == 0:
            continue  # nothing unmet for this item here (a printed 0)
        rows.append(
            {"item_zh": item_label(item, "zh", names), **dict(zip(heads, shown.texts(sc.b[i]), strict=True)),
             "total": shown.text(int(sc.b_row[i]))}
        )  # fmt: skip
    rows.append({"item_zh": TOTAL_ZH, **dict(zip(heads, shown.texts(sc.b_col), strict=True)),
                 "total": shown.text(int(sc.a_total[2]))})  # fmt: skip
    return pd.DataFrame(rows)


def matching_tables(
    needs: pd.DataFrame, town_codes: Sequence[str], names: Mapping[str, str] | None = None
) -> MatchingTables:
    """Protect and print the matching section of the district and every town.

    Parameters
    ----------
    needs : DataFrame
        The ``needs`` of a :class:`geo.matching.MatchingResult` with the household's
        ``town_code`` (needs of households with no town count in the district only).
    town_codes : the towns that get a report.
    names : the dataset's item names (:func:`core.i18n.item_names` of its catalogue).
    """
    items = sorted(needs.loc[~needs["matched"], "item_id"].dropna().astype(str).unique())
    reasons = [r for r in MATCH_REASONS if (needs["reason"] == r).any()]
    scr = Screen()
    scopes = {DISTRICT_KEY: _add_scope(scr, needs, items, reasons)}
    town = needs["town_code"].astype(str)
    for code in town_codes:
        scopes[str(code)] = _add_scope(scr, needs[town == str(code)], items, reasons)
    # the towns' tables add up to the district's (households of no town are the unprinted rest)
    d = scopes[DISTRICT_KEY]
    towns = [scopes[str(c)] for c in town_codes]
    for attr in ("a", "a_total", "b", "b_row", "b_col"):
        dist = getattr(d, attr).ravel()
        parts = np.stack([getattr(s, attr).ravel() for s in towns], axis=1) if towns else None
        for k, total in enumerate(dist):
            scr.partition(parts[k] if parts is not None else [], int(total))
    shown = scr.protect()
    return MatchingTables(
        by_type={k: _by_type_frame(s, shown) for k, s in scopes.items()},
        unmet={k: _unmet_frame(s, shown, items, reasons, names) for k, s in scopes.items()},
    )


def by_type_headers() -> dict[str, str]:
    return {"need_type_zh": "需求类型", "n": "需求数", "matched": "已匹配", "unmet": "未匹配", "share": "匹配率"}


def unmet_headers(frame: pd.DataFrame) -> dict[str, str]:
    return {c: ("服务项目" if c == "item_zh" else TOTAL_ZH if c == "total" else c) for c in frame.columns}


def scope_key(level: str, area_id: str) -> str | None:
    """The key of a report scope in :class:`MatchingTables` (None: no matching section)."""
    if level == "district":
        return DISTRICT_KEY
    if level == "town":
        return str(area_id)
    return None


__all__ = ["MatchingTables", "matching_tables", "scope_key"]
