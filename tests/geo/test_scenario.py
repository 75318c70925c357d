"""What-if scenarios: edits equal a full recompute, payloads round-trip through the real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from core.errors import ScenarioError
from core.i18n import error_text
from core.settings import Settings
from data.storage import Store
from geo.analysis import CoverageRun, coverage_run
from geo.engine import CoverageEngine
from geo.graph import WalkNetwork
from geo.scenario import MAX_COMPARED, Scenario, ScenarioResult, compare_scenarios, settings_from_payload
from geo.snap import Snapper
from tests.conftest import DLAT, DLON, LAT0, LON0, Demo

N = 20


# ------------------------------------------------------------------------------ lattice


def lattice_run(net: WalkNetwork, settings: Settings) -> tuple[CoverageRun, Snapper]:
    """One hub at (0, 0); a beneficiary on every vertex of row 0 and of row 10."""
    snapper = Snapper(net)
    hubs = pd.DataFrame({"hub_id": ["H0"], "lon": [LON0], "lat": [LAT0], "tier": ["town"]})
    cols = np.r_[np.arange(N), np.arange(N)]
    rows = np.r_[np.zeros(N, dtype=int), np.full(N, 10)]
    people = pd.DataFrame(
        {
            "lon": LON0 + cols * DLON,
            "lat": LAT0 + rows * DLAT,
            "category": np.where(rows == 0, "dibao", "tekun"),
            "need_type": np.where(cols % 2 == 0, "survival", "care"),
            "town_code": np.where(cols < 10, "W", "E"),
        }
    )
    return coverage_run(snapper, hubs, people, settings), snapper


def test_lattice_edits_by_arithmetic(lattice_net: WalkNetwork, settings: Settings) -> None:
    run, snapper = lattice_run(lattice_net, settings)
    sc = Scenario(run, snapper, name="A")
    base = sc.result()
    assert base.n_covered == 8  # row 0, columns 0..7 are within 750 m of (0, 0)
    assert base.by_category.set_index("category")["covered"].to_dict() == {"dibao": 8, "tekun": 0}
    hid = sc.add(node=10 * N + 10)  # a station in the middle of row 10: columns 3..17 (7 blocks each way)
    assert hid == "NEW-01"
    now = sc.result()
    assert now.n_covered == 8 + 15
    assert now.by_town.set_index("town_code")["covered"].to_dict() == {"E": 8, "W": 15}
    assert now.by_need_type["need_type"].tolist() == ["survival", "care"]
    assert now.n_hubs == 2 and base.n_hubs == 1
    sc.move("H0", LON0 + 19 * DLON, LAT0)  # to the east end of row 0: columns 12..19
    assert sc.result().n_covered == 8 + 15
    sc.remove(hid)
    assert sc.result().n_covered == 8
    assert [e["op"] for e in sc.edits] == ["add", "move", "remove"]
    table = sc.hubs_table()
    assert table["hub_id"].tolist() == ["H0"] and table["scenario_status"].tolist() == ["moved"]
    assert table.at[0, "lon"] == pytest.approx(LON0 + 19 * DLON)
    # the run itself is untouched
    assert run.n_covered == 8 and run.engine.hub_active.tolist() == [True]


def test_edit_errors(lattice_net: WalkNetwork, settings: Settings) -> None:
    run, snapper = lattice_run(lattice_net, settings)
    sc = Scenario(run, snapper)
    with pytest.raises(ScenarioError, match="no active hub"):
        sc.remove("nope")
    with pytest.raises(ScenarioError, match="already used"):
        sc.add(LON0, LAT0, hub_id="H0")
    with pytest.raises(ScenarioError, match="out of range"):
        sc.add(500.0, LAT0)
    with pytest.raises(ScenarioError, match="lon and lat"):
        sc.add(LON0)
    with pytest.raises(ScenarioError, match="tier"):
        sc.add(LON0, LAT0, tier="county")
    with pytest.raises(ScenarioError, match="not in the network"):
        sc.move("H0", node=10**6)
    with pytest.raises(ScenarioError, match="'op'"):
        sc.apply({"op": "rename", "hub_id": "H0"})
    assert sc.edits == []  # failed edits leave no trace
    sc.remove("H0")
    sc.add(LON0, LAT0, hub_id="H0")  # a removed id may come back as a new station
    assert sc.hub_ids == ["H0"] and sc.result().n_covered == 8


def test_compare_scenarios(lattice_net: WalkNetwork, settings: Settings) -> None:
    run, snapper = lattice_run(lattice_net, settings)
    base = Scenario(run, snapper, name="现状").result()
    results: list[ScenarioResult] = []
    for k, col in enumerate((10, 15, 19)):
        sc = Scenario(run, snapper, name=f"方案{k + 1}")
        sc.add(node=10 * N + col)
        results.append(sc.result())
    table = compare_scenarios(results, baseline=base)
    assert list(table.columns[:5]) == ["group", "key", "n", "现状", "现状 %"]
    assert {"方案1", "方案1 %", "方案1 Δ", "方案1 Δpp", "方案3 Δpp"} <= set(table.columns)
    overall = table.set_index(["group", "key"])
    assert overall.loc[("overall", "covered"), "方案1 Δ"] == 15  # columns 3..17 of row 10
    assert overall.loc[("overall", "covered"), "方案2 Δ"] == 12  # 8..19
    assert overall.loc[("overall", "covered"), "方案3 Δ"] == 8  # 12..19
    assert overall.loc[("overall", "hubs"), "方案2 Δ"] == 1
    assert overall.loc[("overall", "covered"), "方案1 Δpp"] == pytest.approx(100 * 15 / 40)
    assert overall.loc[("category", "tekun"), "方案1"] == 15 and overall.loc[("category", "tekun"), "现状"] == 0
    # without an explicit baseline the first result is the baseline
    assert compare_scenarios([base, *results]).equals(table)
    with pytest.raises(ScenarioError, match=f"at most {MAX_COMPARED}"):
        compare_scenarios([*results, results[0]], baseline=base)
    with pytest.raises(ScenarioError, match="names must differ"):
        compare_scenarios([results[0], results[0]], baseline=base)


def test_result_is_reused_until_the_next_edit(lattice_net: WalkNetwork, settings: Settings) -> None:
    """The planner asks every scenario for its result on each click: unchanged, the same result."""
    run, snapper = lattice_run(lattice_net, settings)
    sc = Scenario(run, snapper, name="A")
    first = sc.result()
    assert sc.result() is first
    assert sc.result("方案A") is not first and sc.result("方案A").name == "方案A"
    sc.add(node=10 * N + 10)
    after = sc.result("方案A")
    assert after.n_covered == first.n_covered + 15 and after.n_hubs == first.n_hubs + 1
    replay = Scenario.from_payload(sc.to_payload(), run, snapper).result("方案A")
    assert replay.n_covered == after.n_covered and (replay.covered == after.covered).all()


# ------------------------------------------------------------------------------ the Xihu demo


def figures_of_run(run: CoverageRun) -> dict[str, pd.DataFrame]:
    """The scenario's figures computed independently from a full coverage run."""
    pts = run.points
    out = {}
    for col in ("category", "need_type", "town_code"):
        g = pts.groupby(col)["covered"].agg(n="size", covered="sum")
        out[col] = g.astype("int64")
    out["hexes"] = run.hexes[["h3", "n", "covered", "uncovered"]]
    return out


def assert_same_figures(res: ScenarioResult, run: CoverageRun) -> None:
    assert res.n_covered == run.n_covered
    assert res.coverage_pct == pytest.approx(run.coverage_pct)
    assert np.array_equal(res.covered, run.points["covered"].to_numpy())
    full = figures_of_run(run)
    for frame, col in ((res.by_category, "category"), (res.by_need_type, "need_type"), (res.by_town, "town_code")):
        got = frame.set_index(col)[["n", "covered"]].sort_index()
        want = full[col].sort_index()
        assert got.index.astype(str).tolist() == want.index.astype(str).tolist()
        assert np.array_equal(got.to_numpy(), want.to_numpy())
    assert_frame_equal(res.hexes, full["hexes"], check_dtype=False)


@pytest.mark.xihu
def test_random_edits_equal_a_full_recompute(demo: Demo) -> None:
    run, snapper = demo.run, demo.snapper
    net = snapper.network
    sc = Scenario(run, snapper, name="random")
    assert_same_figures(sc.result(), run)
    rng = np.random.default_rng(2024)
    kinds = {"add": 0, "move": 0, "remove": 0}
    for step in range(90):
        ids = sc.hub_ids
        op = ("add", "move", "remove")[(step + int(rng.integers(2))) % 3]
        if op == "add" or len(ids) < 5:
            if rng.random() < 0.5:
                sc.add(node=int(rng.integers(net.n_nodes)), tier="village")
            else:  # off the vertices: the access leg counts
                k = int(rng.integers(net.n_nodes))
                sc.add(net.node_lon[k] + rng.normal(0, 3e-4), net.node_lat[k] + rng.normal(0, 3e-4))
            kinds["add"] += 1
        elif op == "move":
            k = int(rng.integers(net.n_nodes))
            sc.move(ids[int(rng.integers(len(ids)))], net.node_lon[k] + rng.normal(0, 2e-4), net.node_lat[k])
            kinds["move"] += 1
        else:
            sc.remove(ids[int(rng.integers(len(ids)))])
            kinds["remove"] += 1
        # after every edit: the engine's incremental state equals a fresh full search
        fresh = CoverageEngine(net, cutoff_cm=run.settings.cutoff_cm)
        fresh.set_hubs(sc.engine.hub_node, sc.engine.hub_offset_cm)
        fresh.hub_active[:] = sc.engine.hub_active
        fresh.recompute()
        assert np.array_equal(fresh.dist_cm, sc.engine.dist_cm)
        # every tenth edit: the figures equal geo.analysis.coverage_run on the edited hub table
        if step % 10 == 9:
            full = coverage_run(snapper, sc.hubs_table(), demo.bundle.beneficiaries, run.settings)
            assert_same_figures(sc.result(), full)
    assert min(kinds.values()) >= 20
    assert sc.result().n_covered != run.n_covered  # the edits changed something


@pytest.mark.xihu
def test_payload_round_trip_through_sqlite(demo: Demo, tmp_path: Path) -> None:
    run, snapper = demo.run, demo.snapper
    net = snapper.network
    sc = Scenario(run, snapper, name="两站方案")
    rng = np.random.default_rng(8)
    new = sc.add(node=int(rng.integers(net.n_nodes)), name="新站（规划）")
    sc.add(float(net.node_lon[100]) + 1e-4, float(net.node_lat[100]), hub_id="NEW-X", tier="village")
    sc.move(new, float(net.node_lon[2000]), float(net.node_lat[2000]))
    sc.move(str(run.hubs["hub_id"].iloc[3]), float(net.node_lon[3000]), float(net.node_lat[3000]))
    sc.remove(str(run.hubs["hub_id"].iloc[5]))
    before = sc.result()
    payload = sc.to_payload()
    with Store(f"sqlite:///{tmp_path / 'planner.sqlite'}") as store:
        sid = store.save_scenario(sc.name, payload, author="planner")
        loaded = store.load_scenario(sid)
    assert loaded.payload == payload
    assert settings_from_payload(loaded.payload) == run.settings
    again = Scenario.from_payload(loaded.payload, run, snapper)
    after = again.result()
    assert after.name == "两站方案"
    assert after.n_covered == before.n_covered and after.n_hubs == before.n_hubs
    assert np.array_equal(after.covered, before.covered)
    for a, b in (
        (after.by_category, before.by_category),
        (after.by_need_type, before.by_need_type),
        (after.by_town, before.by_town),
        (after.hexes, before.hexes),
    ):
        assert_frame_equal(a, b)
    assert_frame_equal(again.hubs_table(), sc.hubs_table())
    assert again.hubs_table()["scenario_status"].value_counts().to_dict() == {"existing": 166, "new": 2, "moved": 1}
    # a scenario saved with other minutes is refused on this base run
    other = {**payload, "settings": {**payload["settings"], "minutes": 15.0}}
    with pytest.raises(ScenarioError, match=r"minutes 15\.0") as refused:
        Scenario.from_payload(other, run, snapper)
    # the page says it in the user's language, with both settings
    assert error_text(refused.value, "zh") == (
        "该方案保存时为 15 分钟、4.5 公里/小时、H3 9 级，当前为 10 分钟、4.5 公里/小时、H3 9 级："
        "请在侧边栏改为相同设置后再载入"
    )
    assert error_text(refused.value, "en").startswith("The scenario was saved at 15 min, 4.5 km/h, H3 9;")
    assert settings_from_payload(other).minutes == 15.0
    bad = {**payload, "edits": [*payload["edits"], {"op": "remove", "hub_id": "ghost"}]}
    with pytest.raises(ScenarioError, match="edit 6") as refused:
        Scenario.from_payload(bad, run, snapper)
    assert error_text(refused.value, "zh").startswith("方案的第 6 项修改（站点 ghost）无法用于当前数据")
