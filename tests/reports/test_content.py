"""The report's exact figures equal groupbys of the engine's per-household results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from core.vocab import CATEGORIES
from data.bundle import Bundle
from data.demo import load_default_bundle
from data.network import load_network
from geo.analysis import CoverageRun, coverage_run
from geo.snap import Snapper
from reports.content import (
    LEVEL_DISTRICT,
    LEVEL_TOWN,
    LEVEL_VILLAGE,
    ReportInfo,
    ReportTables,
    build_report_tables,
    censored_quantile,
)

pytestmark = pytest.mark.xihu


@pytest.fixture(scope="module")
def bundle(xihu_dir: object) -> Bundle:
    b = load_default_bundle()
    assert not b.is_fallback
    return b


@pytest.fixture(scope="module")
def run(bundle: Bundle) -> CoverageRun:
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    return coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, Settings(metric_crs=bundle.metric_crs))


@pytest.fixture(scope="module")
def tables(bundle: Bundle, run: CoverageRun) -> ReportTables:
    sites = pd.DataFrame(
        {"site_id": ["N1", "N2"], "lon": [120.09, 120.13], "lat": [30.29, 30.27], "new_covered": [12, 3]}
    )
    return build_report_tables(
        run,
        towns=bundle.towns,
        communities=bundle.communities,
        providers=bundle.providers,
        info=ReportInfo(district_code="330106", district_name="西湖区"),
        scenario_sites=sites,
        scenario_name="测试方案",
    )


def test_censored_quantile_matches_numpy_and_marks_beyond() -> None:
    x = np.array([120.0, 300.5, 410.0, 733.3, 52.0])
    for q in (0.5, 0.9, 0.25, 1.0, 0.0):
        assert censored_quantile(x, 0, q) == pytest.approx(float(np.quantile(x, q)), abs=1e-12)
    # 5 finite + 5 beyond: the median interpolates between the 5th value and the first "beyond" -> beyond
    assert math.isinf(censored_quantile(x, 5, 0.5))
    # 5 finite + 1 beyond: the median lies between the 3rd and 4th finite values
    assert censored_quantile(x, 1, 0.5) == pytest.approx(float(np.quantile(np.sort(x)[:4], 2.5 / 3)), abs=1e-9)
    assert censored_quantile(x, 1, 0.5) == pytest.approx(300.5 + 0.5 * (410.0 - 300.5))
    assert math.isnan(censored_quantile([], 0, 0.5))


def test_levels_and_counts_equal_the_engine(tables: ReportTables, run: CoverageRun, bundle: Bundle) -> None:
    pts = run.points
    d = tables.level(LEVEL_DISTRICT).iloc[0]
    assert d["n"] == len(pts) and d["inside"] == int(pts["covered"].sum()) == run.n_covered
    assert d["pct_inside"] == pytest.approx(run.coverage_pct)
    towns = tables.level(LEVEL_TOWN)
    assert towns["area_id"].tolist() == sorted(bundle.towns["town_code"])
    assert towns["name"].tolist() == bundle.towns.sort_values("town_code")["name"].tolist()
    g = pts.groupby("town_code")["covered"].agg(["size", "sum"])
    for rec in towns.to_dict("records"):
        assert rec["n"] == g.loc[rec["area_id"], "size"]
        assert rec["inside"] == g.loc[rec["area_id"], "sum"]
        assert rec["outside"] == rec["n"] - rec["inside"]
    for c in CATEGORIES:
        by = pts[pts["category"] == c].groupby("town_code").size()
        assert towns.set_index("area_id")[f"cat_{c}"].to_dict() == {k: int(by.get(k, 0)) for k in towns["area_id"]}
    for k in ("survival", "care", "development"):
        sub = pts[pts["need_type"] == k]
        assert d[f"need_{k}_n"] == len(sub) and d[f"need_{k}_in"] == int(sub["covered"].sum())
    for u in range(1, 6):
        sub = pts[pts["urgency"] == u]
        assert d[f"urg_{u}_n"] == len(sub) and d[f"urg_{u}_out"] == int((~sub["covered"]).sum())


def test_hierarchy_adds_up(tables: ReportTables) -> None:
    cols = tables.groups.count_columns()
    towns = tables.level(LEVEL_TOWN)
    vill = tables.level(LEVEL_VILLAGE)
    d = tables.level(LEVEL_DISTRICT).iloc[0]
    assert (towns[cols].sum() == d[cols]).all()
    for t in towns.to_dict("records"):
        kids = vill[vill["town_code"] == t["area_id"]]
        assert (kids[cols].sum() == pd.Series({c: t[c] for c in cols})).all()


def test_village_rows_follow_the_hub_rule(tables: ReportTables, bundle: Bundle, run: CoverageRun) -> None:
    vill = tables.level(LEVEL_VILLAGE)
    assert len(vill) == len(bundle.communities) == 222
    vhubs = bundle.hubs[bundle.hubs["tier"] == "village"]
    with_hub = vill[vill["has_hub"]]
    assert len(with_hub) == len(vhubs) == 155
    assert set(with_hub["hub_id"]) == set(vhubs["hub_id"])
    assert (with_hub["hub_id"] == "V" + with_hub["area_id"]).all()
    # communities without a village point are listed (the gaps of the network of points)
    assert (~vill["has_hub"]).sum() == 222 - 155
    assert vill.loc[~vill["has_hub"], "hub_id"].isna().all()
    counts = run.points.groupby("community_code")["covered"].agg(["size", "sum"])
    for rec in vill.sample(40, random_state=1).to_dict("records"):
        n = int(counts["size"].get(rec["area_id"], 0))
        assert rec["n"] == n and rec["inside"] == int(counts["sum"].get(rec["area_id"], 0))


def test_walk_percentiles_over_located_households(tables: ReportTables, run: CoverageRun) -> None:
    pts = run.points
    d = tables.level(LEVEL_DISTRICT).iloc[0]
    cov = pts.loc[pts["covered"], "walk_m"].to_numpy()
    beyond = int((~pts["covered"]).sum())
    expect = censored_quantile(cov, beyond, 0.5)
    assert d["walk_m_p50"] == pytest.approx(expect)
    # the median of all households: half of them walk less, beyond-cutoff ones count as farther
    vals = np.r_[np.sort(cov), np.full(beyond, np.inf)]
    assert (vals <= d["walk_m_p50"]).mean() >= 0.5
    assert math.isinf(d["walk_m_p90"])  # coverage is 64 %: the 90th percentile lies beyond 750 m
    # a town where every quantile is finite equals numpy on its walking distances
    full = pts[pts["town_code"] == "330106109"]
    t = tables.level(LEVEL_TOWN).set_index("area_id").loc["330106109"]
    w = full.loc[full["covered"], "walk_min"].to_numpy()
    assert t["walk_min_p50"] == pytest.approx(censored_quantile(w, int((~full["covered"]).sum()), 0.5))


def test_hexes_providers_and_sites(tables: ReportTables, run: CoverageRun, bundle: Bundle) -> None:
    hx = tables.hexes
    assert hx["n"].sum() == len(run.points) - tables.n_no_coords
    assert (hx["inside"] + hx["outside"] == hx["n"]).all()
    assert hx["gap"].sum() == (run.hexes["uncovered"] > 0).sum()
    d = tables.level(LEVEL_DISTRICT).iloc[0]
    assert d["n_gap_hexes"] == hx["gap"].sum()
    assert d["n_providers"] == len(bundle.providers)
    assert d["capacity_month"] == bundle.providers["capacity_month"].sum()
    towns = tables.level(LEVEL_TOWN)
    assert towns["n_providers"].sum() + (tables.providers["town_code"] == "__unknown_town__").sum() == len(
        bundle.providers
    )
    items = tables.provider_items
    s01 = bundle.providers["services"].str.split(";").map(lambda xs: "S01" in xs)
    row = items[(items["level"] == LEVEL_DISTRICT) & (items["service_code"] == "S01")].iloc[0]
    assert row["n_providers"] == s01.sum()
    assert row["capacity_month"] == bundle.providers.loc[s01, "capacity_month"].sum()
    assert row["service_zh"] == "低保金/兜底保障"
    assert len(tables.sites) == 2 and tables.scenario_name == "测试方案"
    assert set(tables.sites["town_code"]) <= set(towns["area_id"])
    assert d["n_sites"] == 2 and towns["n_sites"].sum() == 2
