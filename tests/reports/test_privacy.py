"""The whole publication (all levels, hexes, hubs, sites) withstands the subtraction attack and sharper ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from data.demo import build_fallback_bundle
from geo.disclosure import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    SECONDARY_ZERO,
    PublishedReport,
    feasible_intervals,
    primary_mask,
    publication_model,
)
from reports.build import prepare_report
from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE
from reports.model import Report, scope_hexes
from tests.reports import xihu_report


@pytest.fixture(scope="module")
def report(xihu_dir: Path) -> Report:
    return xihu_report()


@pytest.fixture(scope="module")
def model(report: Report) -> tuple[np.ndarray, list, np.ndarray]:
    values, _, relations, _, _ = publication_model(report.tables)
    return values, relations, report.published.result.status


@pytest.mark.xihu
def test_every_small_count_is_hidden_and_district_figures_kept(report: Report, model: tuple) -> None:
    values, _, status = model
    pub = report.published
    assert (status[primary_mask(values)] == PRIMARY).all()
    assert (values[status == SECONDARY] >= 10).all() and (values[status == SECONDARY_ZERO] == 0).all()
    assert pub.result.unsafe.size == 0
    d = pub.area_status[report.tables.areas["level"] == LEVEL_DISTRICT]
    assert (d[["n", "inside", "outside"]] == PUBLISHED).all().all()
    assert (pub.area_status.to_numpy() != PUBLISHED).sum() > 1000  # the village level is mostly small counts
    # most towns keep their headline figures
    t = pub.area_status[report.tables.areas["level"] == LEVEL_TOWN]
    assert (t[["n", "inside", "outside"]] == PUBLISHED).all(axis=1).sum() >= 8


@pytest.mark.xihu
def test_no_relation_leaves_a_single_hidden_cell(model: tuple) -> None:
    _, relations, status = model
    single = [r for r, (parts, total) in enumerate(relations) if sum(status[[*parts, total]] != PUBLISHED) == 1]
    assert single == []


@pytest.mark.xihu
def test_exact_attack_on_a_sample_of_hidden_counts(model: tuple, report: Report) -> None:
    values, relations, status = model
    prim = np.flatnonzero(status == PRIMARY)
    rng = np.random.default_rng(11)
    n_areas = len(report.tables.areas)
    n_cols = len(report.tables.groups.count_columns())
    town_rows = np.flatnonzero(report.tables.areas["level"].to_numpy() == LEVEL_TOWN)
    town_cells = np.concatenate([np.arange(r * n_cols, (r + 1) * n_cols) for r in town_rows])
    sample = np.unique(np.r_[rng.choice(prim, size=12, replace=False), np.intersect1d(prim, town_cells)[:12]])
    assert sample.size >= 12 and (sample < n_areas * n_cols).any()
    lo, hi = feasible_intervals(values, status, relations, cells=sample)
    assert (hi[sample] - lo[sample] >= 2).all()
    assert ((lo[sample] <= values[sample]) & (values[sample] <= hi[sample])).all()


@pytest.mark.xihu
def test_derived_figures_follow_their_counts(report: Report) -> None:
    pub: PublishedReport = report.published
    for level in (LEVEL_TOWN, LEVEL_VILLAGE):
        d = pub.area_display(level)
        st = pub.area_status[report.tables.areas["level"] == level].reset_index(drop=True)
        hidden = (st["inside"] != PUBLISHED) | (st["n"] != PUBLISHED)
        assert d.loc[hidden, "pct_inside"].isna().all()
        assert d.loc[~hidden & (d["n"] != 0), "pct_inside"].notna().all()
        either = (st["inside"] != PUBLISHED) | (st["outside"] != PUBLISHED)
        assert d.loc[either, "walk_m_p50"].isna().all()
        assert d.loc[st["outside"] != PUBLISHED, "n_gap_hexes"].isna().all()
        assert d.loc[st["outside"] == PUBLISHED, "n_gap_hexes"].notna().all()
        care = (st["need_care_in"] != PUBLISHED) | (st["need_care_n"] != PUBLISHED)
        assert d.loc[care, "need_care_pct"].isna().all()
    # an area whose households count is hidden lists no hexes (their number would bound it)
    vill = pub.area_display(LEVEL_VILLAGE)
    small = vill[vill["n"] == pub.lt].iloc[0]
    scope = next(s for s in report.scopes(LEVEL_VILLAGE) if s.area_id == small["area_id"]) if small["has_hub"] else None
    if scope is not None:
        allh, gaps = scope_hexes(report, scope)
        assert allh.empty and gaps.empty
    hx = pub.hex_display()
    assert (hx.loc[~pub.hex_pct_visible(), "pct_inside"].isna()).all()


def test_population_cells_keep_their_pattern_across_settings(tmp_path: Path) -> None:
    """Reports with other minutes cannot be combined to undo the population counts' suppression."""
    bundle = build_fallback_bundle()
    runs = [prepare_report(bundle, settings=Settings(minutes=m), use_cache=False).published for m in (10.0, 15.0)]
    a, b = (p.population_result.status for p in runs)
    _, _, _, population, _ = publication_model(runs[0].tables)
    assert np.array_equal(a[population], b[population])
    assert (a[population] != PUBLISHED).any()
    assert not np.array_equal(runs[0].tables.areas["inside"], runs[1].tables.areas["inside"])
    for p in runs:
        assert p.result.unsafe.size == 0
        final = p.result.status
        extra = population & (final != PUBLISHED) & (p.population_result.status == PUBLISHED)
        assert extra.sum() == 0 or p.result.stats["last_resort"] > 0
