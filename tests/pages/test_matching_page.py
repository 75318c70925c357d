"""AppTest of the matching page (匹配): figures equal the library's, a capacity what-if, area
scoping for town and village managers, the plan export audited before it is offered."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from core.settings import Settings
from data.bundle import matching_frames
from geo.matching import MatchingProblem, matching_problem
from geo.snap import Snapper
from tests.pages.test_app import _isolated_store, _metric, _num, direct, signed_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.xihu
PAGE = "pages/matching.py"


@pytest.fixture(scope="module")
def problem(direct: tuple[object, Snapper]) -> MatchingProblem:  # noqa: F811
    bundle, snapper = direct
    needs, offers, cat = matching_frames(bundle)  # type: ignore[arg-type]
    return matching_problem(needs, offers, cat, snapper=snapper, settings=Settings(metric_crs=bundle.metric_crs))  # type: ignore[attr-defined]


def _on_page(username: str):  # type: ignore[no-untyped-def]
    at = signed_in(username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _area_needs(direct: tuple[object, Snapper], problem: MatchingProblem, col: str, code: str) -> pd.DataFrame:  # noqa: F811
    bundle, _ = direct
    ben = bundle.beneficiaries  # type: ignore[attr-defined]
    own = set(ben.loc[ben[col].astype(str) == code, "beneficiary_id"])
    res = problem.solve().needs
    return res[res["household_id"].isin(own)]


def test_planner_figures_equal_the_library_and_a_capacity_whatif_changes_them(problem: MatchingProblem) -> None:
    at = _on_page("planner1")
    base = problem.solve()
    assert _num(_metric(at, "需求数")) == len(base.needs)
    assert _num(_metric(at, "已匹配")) == int(base.needs["matched"].sum())
    by_type = next(df.value for df in at.dataframe if "生存型" in df.value.index)
    assert int(by_type["已匹配"].sum()) == int(base.needs["matched"].sum())
    # no code, None or nan on the Chinese screen
    for df in at.dataframe:
        text = " ".join(map(str, df.value.to_numpy().ravel())) + " ".join(map(str, df.value.index))
        assert "None" not in text and "nan" not in text and "survival" not in text
    # what-if: the offer with most needs left for capacity gets 50 more places
    short = base.needs[base.needs["reason"] == "capacity"]
    pid, item = short.groupby(["nearest_provider_id", "item_id"]).size().idxmax()
    cap = int(base.offers.set_index(["provider_id", "item_id"]).loc[(pid, item), "capacity_per_month"]) + 50
    at.selectbox(key="match_offer").set_value((pid, item))
    at.number_input(key="match_cap").set_value(cap)
    at.button(key="match_apply").click().run()
    assert not at.exception, at.exception
    expected = problem.solve(capacity_overrides={(pid, item): cap})
    assert _num(_metric(at, "已匹配")) == int(expected.needs["matched"].sum()) > int(base.needs["matched"].sum())


@pytest.mark.parametrize(
    ("user", "col", "code"), [("town8", "town_code", "330106008"), ("village1", "community_code", "330106002051")]
)
def test_managers_see_only_their_own_households_needs(
    direct: tuple[object, Snapper],  # noqa: F811
    problem: MatchingProblem,
    user: str,
    col: str,
    code: str,
) -> None:
    at = _on_page(user)
    own = _area_needs(direct, problem, col, code)
    assert 0 < len(own) < len(problem.needs)
    assert _num(_metric(at, "需求数")) == len(own)
    assert _num(_metric(at, "已匹配")) == int(own["matched"].sum())
    unmet = next(df.value for df in at.dataframe if "未匹配原因" in df.value.columns)
    assert set(unmet["户编号"]) <= set(own["household_id"])
    # other areas' load of a provider is never printed as 1-9
    util = next(df.value for df in at.dataframe if "其他辖区占用" in df.value.columns)
    assert not set(util["其他辖区占用"].astype(str)) & {str(i) for i in range(1, 10)}


def test_viewer_has_no_matching_page() -> None:
    at = signed_in("viewer1")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)


def test_plan_export_is_audited_before_it_is_offered(direct: tuple[object, Snapper], problem: MatchingProblem) -> None:  # noqa: F811
    from data.accounts.audit import AuditLog
    from data.storage import Store

    at = _on_page("town8")
    assert not at.get("download_button")
    log = AuditLog(Store(os.environ["DATABASE_URL"]), os.environ["XIHU_AUDIT_KEY"].encode())
    before = len(log.entries(who="town8", limit=None))
    at.button(key="match_prepare").click().run()
    assert not at.exception, at.exception
    after = log.entries(who="town8", limit=None)
    assert len(after) == before + 1 and len(at.get("download_button")) == 1
    own = _area_needs(direct, problem, "town_code", "330106008")
    assert after[0].action == "export_individuals" and after[0].row_count == len(own)
    assert after[0].file_hash and len(after[0].file_hash) == 64
    at.run()
    assert not at.get("download_button")
    assert len(log.entries(who="town8", limit=None)) == before + 1


def test_data_page_maps_unknown_need_wording_once_remembered_and_audited() -> None:
    from data.accounts.audit import AuditLog
    from data.storage import Store

    csv = (
        "编号,姓名,身份证号,救助类别,家庭人口,经度,纬度,需求,紧急程度\n"
        "B1,张三明,11010519491231002X,低保,2,120.1305,30.2720,生活帮扶补贴,4\n"
    ).encode("gb18030")
    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    at.get("file_uploader")[0].upload("b.csv", csv, "text/csv")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:3] == ["1", "1", "0"]  # the household is kept
    box = at.selectbox(key="need_alias_生活帮扶补贴")
    assert box.value is None and "暂不对应" in box.format_func(None)  # type: ignore[attr-defined]
    store = Store(os.environ["DATABASE_URL"])
    log = AuditLog(store, os.environ["XIHU_AUDIT_KEY"].encode())
    before = len(log.entries(who="planner1", limit=None))
    box.set_value("S01").run()
    at.button(key="alias_save").click().run()
    assert not at.exception, at.exception
    from data.needs import normalize_wording

    assert store.need_aliases()[normalize_wording("生活帮扶补贴")] == "S01"
    entries = log.entries(who="planner1", limit=None)
    assert len(entries) == before + 1 and entries[0].action == "save_need_alias"
    # the next import maps the wording: nothing left to map
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not [s for s in at.selectbox if s.key and s.key.startswith("need_alias_")]


def test_adding_an_offer_at_a_hub_equals_the_library(direct: tuple[object, Snapper], problem: MatchingProblem) -> None:  # noqa: F811
    bundle, _ = direct
    at = _on_page("planner1")
    base = int(problem.solve().needs["matched"].sum())
    hub_id = at.selectbox(key="match_hub").value
    hub = bundle.hubs.set_index("hub_id").loc[hub_id]  # type: ignore[attr-defined]
    at.selectbox(key="match_item").set_value("C02")
    at.number_input(key="match_cap").set_value(40)
    at.button(key="match_add").click().run()
    assert not at.exception, at.exception
    new = pd.DataFrame(
        {"provider_id": ["WHATIF-NEW-1"], "item_id": ["C02"], "capacity_per_month": [40],
         "lon": [float(hub["lon"])], "lat": [float(hub["lat"])]}
    )  # fmt: skip
    expected = int(problem.with_offers(new).solve().needs["matched"].sum())
    assert _num(_metric(at, "已匹配")) == expected >= base
    plan_provider = next(df.value for df in at.dataframe if "利用率" in df.value.columns)["服务主体"]
    assert "WHATIF" not in " ".join(plan_provider.astype(str))  # the new offer reads in Chinese
