"""The subtraction attacker on what one screen shows (issue #10: one disclosure module).

Signs in as a viewer (district aggregates, small counts protected) and as a town
manager, collects every number the overview prints (the metrics and every table), and
derives what linear relations give away: per row ``households = inside + outside``,
per column ``sum(rows) = the total metric``, ``households = inside + outside`` for the
totals, and the worst-gaps rows (hexes) ``households = inside + outside``. Any hidden
figure worked out to a count of 1-9 is a disclosure.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.settings import Settings
from data.demo import load_default_bundle
from tests.pages.test_app import _isolated_store, signed_in

__all__ = ["_isolated_store"]
pytestmark = pytest.mark.xihu

H, IN, OUT = "户数", "圈内", "圈外"
METRIC_N, METRIC_IN, METRIC_OUT = "救助对象（户）", "10分钟圈内", "圈外"
_NUM = re.compile(r"^\d[\d,]*$")


def _value(text: object) -> int | None:
    """A printed count as an int, None when it is not printed exactly ("<10", "≥10", a band)."""
    s = str(text).strip()
    return int(s.replace(",", "")) if _NUM.match(s) else None


def derived_small_counts(metrics: dict[str, str], tables: list[pd.DataFrame]) -> list[tuple[str, int]]:
    """Hidden counts of 1-9 that the printed figures give away by linear relations.

    Each relation ``sum(parts) == total`` with exactly one unknown fixes it; repeated
    until nothing changes (the classic subtraction attack, chained).
    """
    known: dict[str, int | None] = {}
    relations: list[tuple[list[str], str]] = []
    for key, label in (("N", METRIC_N), ("IN", METRIC_IN), ("OUT", METRIC_OUT)):
        if label in metrics:
            known[key] = _value(metrics[label])
    if {"N", "IN", "OUT"} <= known.keys():
        relations.append((["IN", "OUT"], "N"))
    for t_i, df in enumerate(tables):
        cols = [c for c in (H, IN, OUT) if c in df.columns]
        if not {H, OUT} <= set(cols):
            continue
        rows = []
        for r_i, row in enumerate(df[cols].itertuples(index=False)):
            names = {c: f"t{t_i}r{r_i}{c}" for c in cols}
            for c, v in zip(cols, row, strict=True):
                known[names[c]] = _value(v)
            if IN in cols:
                relations.append(([names[IN], names[OUT]], names[H]))
            rows.append(names)
        if IN in cols and len(df) > 1 and {"N", "IN", "OUT"} <= known.keys():  # a full breakdown of the totals
            for c, tot in ((H, "N"), (IN, "IN"), (OUT, "OUT")):
                relations.append(([r[c] for r in rows], tot))
    hidden = {k for k, v in known.items() if v is None}
    changed = True
    while changed:
        changed = False
        for parts, total in relations:
            cells = [*parts, total]
            unknown = [c for c in cells if known[c] is None]
            if len(unknown) != 1:
                continue
            u = unknown[0]
            s = sum(known[p] or 0 for p in parts if p != u)
            known[u] = (known[total] or 0) - s if u != total else s
            changed = True
    return [(k, int(known[k] or 0)) for k in sorted(hidden) if known[k] is not None and 1 <= (known[k] or 0) <= 9]


def _screen(username: str) -> tuple[dict[str, str], list[pd.DataFrame]]:
    at = signed_in(username)
    metrics = {m.label: str(m.value) for m in at.metric}
    return metrics, [df.value for df in at.dataframe]


def test_attacker_derives_no_small_count_on_the_viewer_overview() -> None:
    metrics, tables = _screen("viewer1")
    assert {METRIC_N, METRIC_IN, METRIC_OUT} <= metrics.keys()
    assert any(IN in df.columns for df in tables)  # the group tables are there to attack
    leaks = derived_small_counts(metrics, tables)
    assert leaks == [], f"counts of 1-9 derived from the viewer's overview: {leaks}"
    # the worst gaps print what the map prints: nothing exact below 10
    for df in tables:
        for v in df.to_numpy().ravel():
            assert str(v) not in {str(i) for i in range(1, 10)}


def test_attacker_on_a_town_managers_overview_finds_no_other_town() -> None:
    # a town manager sees its own households in full; no figure of another town may be on the screen
    towns = set(load_default_bundle(Settings().shared_data).towns["name"].astype(str))
    metrics, tables = _screen("town8")
    shown_towns = {str(i) for df in tables for i in df.index if str(i) in towns}
    assert len(shown_towns) == 1, shown_towns
    by_town = next(df for df in tables if set(map(str, df.index)) & towns)
    assert _value(by_town[H].iloc[0]) == _value(metrics[METRIC_N])  # its one row is the whole screen


def test_the_attack_itself_finds_a_planted_leak() -> None:
    table = pd.DataFrame({H: [27, 60], IN: [22, 53], OUT: ["<10", "<10"]}, index=["北山", "西溪"])
    metrics = {METRIC_N: "87", METRIC_IN: "75", METRIC_OUT: "12"}
    assert derived_small_counts(metrics, [table]) == [("t0r0圈外", 5), ("t0r1圈外", 7)]
