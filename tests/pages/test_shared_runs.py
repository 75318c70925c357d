"""Every area's coverage run shares one hub engine, and a run is one shared cache entry.

The runs were ``st.cache_data`` entries: pickled (~8 MB each, most of it the hub engine, which is
the same for every area) and unpickled on every rerun of the hub and planner pages. Now the
engine is computed once per dataset and settings and each area's run is kept once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import HubError
from core.settings import Settings
from geo.analysis import coverage_run, hub_engine
from geo.scenario import Scenario
from tests.conftest import Demo


def _town_rows(demo: Demo) -> pd.DataFrame:
    ben = demo.bundle.beneficiaries
    town = str(demo.bundle.towns["town_code"].iloc[0])
    return ben[ben["town_code"].astype(str) == town]


def test_a_shared_base_gives_the_same_runs(demo: Demo) -> None:
    settings = Settings()
    base = hub_engine(demo.snapper, demo.bundle.hubs, settings)
    for rows in (demo.bundle.beneficiaries, _town_rows(demo)):
        alone = coverage_run(demo.snapper, demo.bundle.hubs, rows, settings)
        shared = coverage_run(demo.snapper, demo.bundle.hubs, rows, settings, base=base)
        assert shared.engine is base[1] and shared.hubset is base[0]
        pd.testing.assert_frame_equal(shared.points, alone.points)
        pd.testing.assert_frame_equal(shared.hubs, alone.hubs)
        pd.testing.assert_frame_equal(shared.hexes, alone.hexes)
        assert np.array_equal(shared.engine.keys, alone.engine.keys)


def test_a_base_of_other_hubs_or_another_cutoff_is_refused(demo: Demo) -> None:
    settings = Settings()
    hubs = demo.bundle.hubs
    fewer = hub_engine(demo.snapper, hubs.iloc[1:], settings)
    with pytest.raises(HubError, match="other hubs"):
        coverage_run(demo.snapper, hubs, demo.bundle.beneficiaries, settings, base=fewer)
    other = hub_engine(demo.snapper, hubs, settings.with_(minutes=15))
    with pytest.raises(HubError, match="another cutoff"):
        coverage_run(demo.snapper, hubs, demo.bundle.beneficiaries, settings, base=other)


def test_a_scenario_leaves_the_shared_engine_alone(demo: Demo) -> None:
    settings = Settings()
    base = hub_engine(demo.snapper, demo.bundle.hubs, settings)
    before = base[1].keys.copy()
    run = coverage_run(demo.snapper, demo.bundle.hubs, demo.bundle.beneficiaries, settings, base=base)
    sc = Scenario(run, demo.snapper, name="A")
    far = demo.bundle.beneficiaries[~run.points["covered"].to_numpy()].iloc[0]
    sc.apply({"op": "add", "hub_id": "new-1", "lon": float(far["lon"]), "lat": float(far["lat"])})
    assert sc.result().n_covered > run.n_covered
    assert np.array_equal(base[1].keys, before)


def test_the_pages_share_one_engine_and_keep_each_run_once(demo: Demo) -> None:
    from pages._common import DATASET_DEMO, RunKey, dataset_version, default_settings
    from pages._coverage import run_for

    town = str(demo.bundle.towns["town_code"].iloc[0])
    keys = [
        RunKey(DATASET_DEMO, dataset_version(DATASET_DEMO), default_settings(), area)
        for area in (("planner", "", ""), ("town_manager", town, ""))
    ]
    district, in_town = (run_for(k) for k in keys)
    assert district.engine is in_town.engine  # one engine for every area
    assert len(in_town.points) < len(district.points)
    covered = district.points["covered"].copy()
    district.points["covered"] = False  # a caller's change stays with it
    district.points.loc[0, "hub_id"] = "x"
    again = run_for(keys[0])
    assert again.engine is district.engine and again is not district
    assert again.points["covered"].equals(covered) and again.points.loc[0, "hub_id"] != "x"


def test_the_warm_up_leaves_matching_and_capacity_ready(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the warm-up, a first visit of 匹配 or 服务能力 computes neither the district's matching
    nor the provider capacity again (it waited 1.6-2.0 s for them)."""
    import pages._match_data as match_data
    import pages._records as records
    import pages._warm_up as warm
    from pages._common import DATASET_DEMO, default_settings

    monkeypatch.setenv("XIHU_ID_HASH_KEY", "test-id-key-0123456789abcdef")
    monkeypatch.setattr(warm, "WARM_UP_WAIT_S", 0.0)  # the maps need a session: not waited for here
    monkeypatch.setattr(warm, "component_ready", lambda: False)
    for cached in (match_data.matching_problem_for, match_data.matching_result_for, records.capacity_for):
        cached.clear()
    computed: list[str] = []
    real_problem, real_view = match_data.svc_match.district_problem, records.capacity_view

    def problem(*args: object, **kwargs: object) -> object:
        computed.append("matching")
        return real_problem(*args, **kwargs)  # type: ignore[arg-type]

    def view(*args: object, **kwargs: object) -> object:
        computed.append("capacity")
        return real_view(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(match_data.svc_match, "district_problem", problem)
    monkeypatch.setattr(records, "capacity_view", view)
    warm.warm_up(areas=(("planner", "", ""),))
    assert computed == ["matching", "capacity"]
    settings = default_settings()
    match_data.matching_result_for(DATASET_DEMO, 0, settings)  # what the pages call
    records.capacity_for(DATASET_DEMO, 0, settings)
    assert computed == ["matching", "capacity"]  # nothing computed again
