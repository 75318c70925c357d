"""AppTest over app.py and every page: no exception, key figures equal geo's, one interaction each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.settings import Settings
from data.demo import load_default_bundle
from data.network import load_network
from geo.analysis import coverage_run
from geo.snap import Snapper

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
pytestmark = pytest.mark.xihu
TIMEOUT = 120


PASSWORD = "correct-horse-battery"
USERS = {
    "planner1": ("planner", None, None),
    "viewer1": ("viewer", None, None),
    "town8": ("town_manager", "330106008", None),
    "village1": ("village_manager", None, "330106002051"),
}


@pytest.fixture(scope="module", autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, xihu_dir: Path) -> Iterator[None]:
    # a private SQLite database and keys for the app; accounts made as an admin would
    from argon2 import PasswordHasher

    from data.accounts.auth import AuthStore, Role
    from data.storage import Store

    db = tmp_path_factory.mktemp("db") / "app.sqlite"
    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", f"sqlite:///{db}")
    mp.setenv("XIHU_AUDIT_KEY", "test-audit-key-0123456789")
    mp.setenv("XIHU_ID_HASH_KEY", "test-id-key-0123456789abcdef")
    auth = AuthStore(Store(f"sqlite:///{db}"), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for name, (role, town, village) in USERS.items():
        auth.add_user(name, PASSWORD, Role(role), town_code=town, village_code=village)
    # the app caches its Store per process: start from a clean cache
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
    mp.undo()


def signed_in(username: str) -> AppTest:
    """The app after signing in through the real form."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def direct() -> tuple[object, Snapper]:
    bundle = load_default_bundle(Settings().shared_data)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    return bundle, Snapper(net)


def _metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return str(m.value)
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def _num(text: str) -> int:
    return int(text.replace(",", ""))


def test_overview_figures_equal_geo(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("planner1")
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    assert _num(_metric(at, "救助对象（户）")) == len(bundle.beneficiaries)  # type: ignore[attr-defined]
    assert _num(_metric(at, "10分钟圈内")) == run.n_covered
    assert _num(_metric(at, "圈外")) == len(run.points) - run.n_covered
    # the by-town table holds every town with the engine's counts
    towns = next(df.value for df in at.dataframe if "北山街道" in df.value.index)
    direct_town = run.points.groupby("town_code")["covered"].sum()
    assert int(towns["圈内"].sum()) == int(direct_town.sum())
    assert len(towns) == run.points["town_code"].nunique()


def test_overview_change_minutes_recomputes(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("planner1")
    at.sidebar.slider(key="minutes").set_value(15).run()
    assert not at.exception, at.exception
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings(minutes=15))  # type: ignore[attr-defined]
    assert _num(_metric(at, "10分钟圈内")) == run.n_covered
    assert run.n_covered > coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings()).n_covered  # type: ignore[attr-defined]


def test_english_switch() -> None:
    at = signed_in("planner1")
    at.sidebar.selectbox(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    assert any(m.label == "Inside the circle" for m in at.metric)


def test_hub_view_pick_a_town(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("planner1")
    at.switch_page("pages/hubs.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="hub_pick").set_value("T330106008").run()
    assert not at.exception, at.exception
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    area = run.points[run.points["town_code"].astype(str) == "330106008"]
    assert _num(_metric(at, "救助对象（户）")) == len(area)
    assert _num(_metric(at, "10分钟圈内")) == int(area["covered"].sum())
    by_cat = at.dataframe[0].value
    expect = area.groupby("category")["covered"].agg(["size", "sum"])
    assert int(by_cat["户数"].sum()) == len(area) and int(by_cat["圈内"].sum()) == int(expect["sum"].sum())
    assert by_cat["户数"].notna().all()
    pct = 100.0 * int(area["covered"].sum()) / len(area)
    assert any(c.value == f"本站点与全区对比: {pct:.1f}% / {run.coverage_pct:.1f}%" for c in at.caption)
    outside = at.dataframe[1].value
    assert len(outside) == int((~area["covered"]).sum())
    # priority order: survival needs first, then urgency descending
    prio = outside["需求类型"].map({"生存型": 0, "关爱型": 1, "发展型": 2}).to_numpy()
    assert (np.diff(prio) >= 0).all()


def test_data_page_upload_small_file() -> None:
    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    assert not at.exception, at.exception
    csv = (
        "编号,姓名,身份证号,救助类别,家庭人口,经度,纬度,需求,紧急程度\n"
        "B1,张三明,11010519491231002X,低保,2,120.1305,30.2720,医疗救助,4\n"
        "B2,李四,3.30106E+17,低边,1,120.13,30.27,心理咨询,2\n"
    ).encode("gb18030")
    at.get("file_uploader")[0].upload("b.csv", csv, "text/csv")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:3] == ["2", "1", "1"]
    frames = [d.value for d in at.dataframe]
    assert all(isinstance(f, pd.DataFrame) for f in frames)
    # the reasons as a table of Chinese names and counts, not a dict of codes
    assert frames[0].to_dict("records") == [{"原因": "身份证号被 Excel 改写", "行数": 1}]
    rejected = next(f for f in frames if "行号" in f.columns and "说明" in f.columns and "李*" in f.to_string())
    assert list(rejected["原因"]) == ["身份证号被 Excel 改写"]
    assert list(rejected["姓名"]) == ["李*"]  # masked on screen (the download keeps the row as it was)
    preview = frames[-1]
    assert list(preview["救助类别"]) == ["低保"] and list(preview["需求"]) == ["医疗救助"]
    shown = "\n".join(f.to_string() for f in frames)
    assert "张三明" not in shown  # accepted rows hold no clear name
    for code in ("dibao", "dibian", "survival", "S02", "id_excel_mangled", "None", "nan", "reason_code"):
        assert code not in shown, code


def test_data_page_too_large_upload_is_refused_in_chinese() -> None:
    """The widget lets a file over the app's limit through, so the refusal is the app's Chinese one."""
    from data.accounts.access import MAX_UPLOAD_MB

    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    uploader = at.get("file_uploader")[0]
    assert uploader.proto.max_upload_size_mb == 2 * MAX_UPLOAD_MB
    assert f"{MAX_UPLOAD_MB} MB" in uploader.proto.help
    big = b"a,b\n" + b"1,2\n" * ((MAX_UPLOAD_MB * 1024 * 1024) // 4 + 1000)
    uploader.upload("big.csv", big, "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert any("文件过大" in e.value for e in at.error)


def test_data_page_xlsx_bomb_is_refused_fast_while_another_session_signs_in(tmp_path: Path) -> None:
    """A small XLSX that unpacks to 120 MB: a Chinese message within 10 s, and a sign-in meanwhile works."""
    import threading
    import time

    from tests.data.test_tables import bomb_xlsx

    bomb = bomb_xlsx(tmp_path / "bomb.xlsx", 120).read_bytes()
    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    other: dict[str, object] = {}

    def sign_in_meanwhile() -> None:
        started = time.monotonic()
        second = signed_in("viewer1")
        other["seconds"] = time.monotonic() - started
        other["signed_in"] = any(b.key == "signout" for b in second.button)

    at.get("file_uploader")[0].upload("bomb.xlsx", bomb, "application/vnd.ms-excel")
    thread = threading.Thread(target=sign_in_meanwhile)
    started = time.monotonic()
    thread.start()
    at.run()
    elapsed = time.monotonic() - started
    thread.join(TIMEOUT)
    assert not at.exception, at.exception
    assert any("解压后" in e.value for e in at.error), [e.value for e in at.error]
    assert elapsed < 10
    assert other.get("signed_in") is True, other


def test_wrong_password_is_refused() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="signin_username").input("planner1")
    at.text_input(key="signin_password").input("wrong-password-000")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.error and not at.metric  # still on the sign-in page, nothing shown


def test_viewer_sees_suppressed_district_aggregates_only(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("viewer1")
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    assert _num(_metric(at, "10分钟圈内")) == run.n_covered  # district aggregates
    # no page listing households: the hub view and the data page are not routed for a viewer
    for page in ("pages/hubs.py", "pages/data_import.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    # small cells of the by-town table are printed protected, never as 1..9
    at2 = signed_in("viewer1")
    for df in at2.dataframe:
        for v in df.value.to_numpy().ravel():
            assert str(v) not in {str(i) for i in range(1, 10)}


def test_town_manager_sees_own_town_only(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("town8")
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    own = run.points[run.points["town_code"].astype(str) == "330106008"]
    assert _num(_metric(at, "救助对象（户）")) == len(own)
    assert _num(_metric(at, "10分钟圈内")) == int(own["covered"].sum())
    at.switch_page("pages/hubs.py").run()
    assert not at.exception, at.exception
    hub_choices = at.selectbox(key="hub_pick").options
    assert hub_choices and all("T330106008" in o or "V330106008" in o for o in hub_choices)
    # the second figure is the manager's own town (all the run holds), and says so
    versus = [c.value for c in at.caption if "本站点与" in c.value]
    town_pct = 100.0 * int(own["covered"].sum()) / len(own)
    assert len(versus) == 1 and versus[0].startswith("本站点与本辖区对比: ")
    assert versus[0].endswith(f" / {town_pct:.1f}%") and "全区" not in versus[0]


def test_planner_recommends_and_whatif_equals_recompute(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("planner1")
    at.switch_page("pages/planner.py").run()
    assert not at.exception, at.exception
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    assert _num(_metric(at, "现状覆盖")) == run.n_covered
    sites = at.dataframe[0].value.rename(columns={"排名": "rank", "站点": "site_id", "经度": "lon", "纬度": "lat"})
    assert len(sites) == 3 and list(sites["rank"]) == [1, 2, 3]
    after = _num(_metric(at, "新增站点后覆盖"))
    # adding the top recommended site through the what-if: the figures equal a full recompute
    at.selectbox(key="planner_pick_site").set_value(sites["site_id"].iloc[0]).run()
    at.button(key="planner_add").click().run()
    assert not at.exception, at.exception
    top = sites.iloc[0]
    hubs = pd.concat(
        [bundle.hubs, pd.DataFrame([{"hub_id": "NEW1", "lon": top["lon"], "lat": top["lat"], "tier": "town"}])],  # type: ignore[attr-defined]
        ignore_index=True,
    )
    full = coverage_run(snapper, hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    table = at.dataframe[-1].value
    row = table[(table["分组"] == "总体") & (table["项目"] == "圈内户数")].iloc[0]
    assert _num(row["方案A"]) == full.n_covered
    assert _num(row["现状"]) == run.n_covered and _num(row["方案B"]) == run.n_covered
    # rows and columns in Chinese: no group/key/overall/covered/dibao/None on screen
    shown = " ".join([*map(str, table.columns), *table.astype(str).to_numpy().ravel()])
    for code in ("group", "key", "overall", "covered", "dibao", "survival", "None", "nan", "3301"):
        assert code not in shown, code
    assert full.n_covered <= after


def _zip_names(at: AppTest) -> list[str]:
    import io
    import zipfile

    data = at.session_state["report_zip"]
    return sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())


def report_month_of_app() -> str:
    """The month the app's reports name (files end with it): the demo's current lists' month, else this month."""
    import os

    from data.storage import Store
    from service.monthly import report_month

    with Store(os.environ["DATABASE_URL"]) as store:
        return report_month(store, "demo")


def test_reports_page_town_manager_gets_own_town_only() -> None:
    at = signed_in("town8")
    at.switch_page("pages/reports.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="report_levels").options == ["镇街", "村(社区)"]
    at.button(key="report_build").click().run(timeout=300)
    assert not at.exception, at.exception
    names = _zip_names(at)
    m = report_month_of_app()
    assert names == [f"towns/town_330106008_{m}.pdf", f"towns/town_330106008_{m}.xlsx"]


def test_reports_page_viewer_gets_district_and_export_is_audited() -> None:
    from data.accounts.audit import AuditLog
    from data.storage import Store

    at = signed_in("viewer1")
    at.switch_page("pages/reports.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="report_levels").options == ["区级"]
    at.multiselect(key="report_formats").set_value(["xlsx"]).run()
    at.button(key="report_build").click().run(timeout=300)
    assert not at.exception, at.exception
    assert _zip_names(at) == [f"district/district_330106_{report_month_of_app()}.xlsx"]
    import os

    log = AuditLog(Store(os.environ["DATABASE_URL"]), os.environ["XIHU_AUDIT_KEY"].encode())
    entries = log.entries(who="viewer1")
    assert any(e.action == "export_report" and e.row_count == 1 for e in entries)
    assert log.verify().ok


def test_reports_page_prepares_the_report_while_the_person_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under serve.py the page starts preparing its report when it opens; the click then uses that one."""
    import threading

    import pages._reporting as reporting

    calls: list[str] = []
    real = reporting.svc.dashboard_report

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reporting.svc, "dashboard_report", counted)
    monkeypatch.setattr(reporting, "PREPARE_REPORTS_EARLY", True)
    reporting.report_for.clear()
    at = signed_in("viewer1")
    at.switch_page("pages/reports.py").run()
    assert not at.exception, at.exception
    for th in [th for th in threading.enumerate() if th.name == "xihu-report-prepare"]:
        th.join(timeout=300)
    assert calls == ["xihu-report-prepare"]  # prepared once, in the background, before any click
    at.multiselect(key="report_formats").set_value(["xlsx"]).run()  # a rerun starts no second preparation
    at.button(key="report_build").click().run(timeout=300)
    assert not at.exception, at.exception
    assert calls == ["xihu-report-prepare"]  # the click used the prepared report
    assert _zip_names(at) == [f"district/district_330106_{report_month_of_app()}.xlsx"]


def test_hub_view_export_of_individuals_is_audited_before_it_is_offered() -> None:
    """The list is offered only in the rerun after an audited "prepare", and never again without one."""
    import os

    from data.accounts.audit import AuditLog
    from data.storage import Store

    at = signed_in("town8")
    at.switch_page("pages/hubs.py").run()
    assert not at.exception, at.exception
    assert not at.get("download_button")  # nothing to fetch before the audit entry
    log = AuditLog(Store(os.environ["DATABASE_URL"]), os.environ["XIHU_AUDIT_KEY"].encode())
    before = len(log.entries(who="town8", limit=None))
    at.button(key="prepare_outside").click().run()
    assert not at.exception, at.exception
    after = log.entries(who="town8", limit=None)
    assert len(after) == before + 1  # written in the run that first shows the download
    assert len(at.get("download_button")) == 1
    entry = after[0]
    outside = next(df.value for df in at.dataframe if "最近的其他站点" in df.value.columns)
    assert entry.action == "export_individuals" and entry.row_count == len(outside) > 0
    assert entry.file_hash and len(entry.file_hash) == 64
    # any other rerun: the list is no longer offered, and nothing more is audited
    at.run()
    assert not at.exception, at.exception
    assert not at.get("download_button")
    assert len(log.entries(who="town8", limit=None)) == before + 1
    assert log.verify().ok


def test_planner_scenario_saved_then_used_by_reports() -> None:
    at = signed_in("planner1")
    at.switch_page("pages/planner.py").run()
    at.button(key="planner_add").click().run()
    at.text_input(key="planner_save_name").input("测试方案").run()
    at.button(key="planner_save").click().run()
    assert not at.exception, at.exception
    assert any("方案已保存" in s.value for s in at.success)
    at.switch_page("pages/reports.py").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="report_scenario")
    assert "测试方案" in box.options


def test_planner_move_edit_equals_recompute(direct: tuple[object, Snapper]) -> None:
    # the page's move path (map click with "move") applies Scenario.move; replay it through AppTest state
    bundle, snapper = direct
    at = signed_in("planner1")
    at.switch_page("pages/planner.py").run()
    at.session_state["planner_scenarios"] = {
        "A": [{"op": "move", "hub_id": "T330106008", "lon": 120.1000, "lat": 30.2700}],
        "B": [],
        "C": [],
    }
    at.run()
    assert not at.exception, at.exception
    hubs = bundle.hubs.copy()  # type: ignore[attr-defined]
    hubs.loc[hubs["hub_id"] == "T330106008", ["lon", "lat"]] = [120.1000, 30.2700]
    full = coverage_run(snapper, hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    table = at.dataframe[-1].value
    row = table[(table["分组"] == "总体") & (table["项目"] == "圈内户数")].iloc[0]
    assert _num(row["方案A"]) == full.n_covered
    assert at.radio(key="planner_active").options == ["方案A", "方案B", "方案C"]
    # the scenario names come from the catalogue: English on an English screen, edits kept
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="planner_active").options == ["Scenario A", "Scenario B", "Scenario C"]
    assert "Scenario A" in at.dataframe[-1].value.columns


def test_village_manager_sees_own_village_only(direct: tuple[object, Snapper]) -> None:
    bundle, snapper = direct
    at = signed_in("village1")
    run = coverage_run(snapper, bundle.hubs, bundle.beneficiaries, Settings())  # type: ignore[attr-defined]
    own = run.points[run.points["community_code"].astype(str) == "330106002051"]
    assert _num(_metric(at, "救助对象（户）")) == len(own) > 0
    assert _num(_metric(at, "10分钟圈内")) == int(own["covered"].sum())
    for page in ("pages/planner.py", "pages/data_import.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.switch_page("pages/hubs.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="hub_pick").options == ["上保社区服务点（合成）（V330106002051）"] or all(
        "V330106002051" in o for o in at.selectbox(key="hub_pick").options
    )
    at.switch_page("pages/reports.py").run()
    assert at.multiselect(key="report_levels").options == ["村(社区)"]
    at.button(key="report_build").click().run(timeout=300)
    assert not at.exception, at.exception
    m = report_month_of_app()
    assert _zip_names(at) == [f"villages/village_V330106002051_{m}.pdf", f"villages/village_V330106002051_{m}.xlsx"]


def _planner_with_candidates(csv: bytes) -> AppTest:
    """The planner page of planner1 after ``csv`` was uploaded as its candidate file."""
    at = signed_in("planner1")
    at.switch_page("pages/planner.py").run()
    at.get("file_uploader")[0].upload("cands.csv", csv, "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def test_planner_uploaded_candidates_are_used() -> None:
    at = _planner_with_candidates(b"site_id,lon,lat\nU1,120.0993,30.2865\nU2,120.1300,30.2700\nU3,120.0876,30.2864\n")
    sites = at.dataframe[0].value
    assert set(sites["站点"]) <= {"U1", "U2", "U3"} and len(sites) == 3


def test_planner_refusals_read_in_the_users_language(direct: tuple[object, Snapper]) -> None:
    """A wrong candidate file or contradictory town choices: the reason in Chinese (town names,
    not codes), in English on an English screen; never the computation's English message."""
    bundle, _ = direct
    towns = bundle.towns.set_index("town_code")["name"].astype(str).to_dict()  # type: ignore[attr-defined]
    at = _planner_with_candidates(b"site_id,lon,lat\nU1,120.0993,30.2865\nU1,120.1300,30.2700\n")
    assert [e.value for e in at.error] == ["候选站点编号重复：U1"]
    at.session_state["lang"] = "en"
    at.run()
    assert [e.value for e in at.error] == ["Repeated site_id in the candidate file: U1"]

    at = signed_in("planner1")
    at.switch_page("pages/planner.py").run()
    first, second = sorted(towns)[:2]
    at.session_state["planner_within_town"] = first
    at.session_state["planner_require_towns"] = [second]
    at.run()
    assert not at.exception, at.exception
    [shown] = [e.value for e in at.error]
    assert shown.startswith(f"{towns[second]}必须新增站点") and second not in shown
