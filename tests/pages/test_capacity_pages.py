"""AppTest over 服务能力 and 重复救助: role and area scoping, a review that closes a flag, the audited export."""

from __future__ import annotations

import os

import pytest

from data.accounts.audit import AuditLog
from data.storage import Store
from tests.pages.test_app import _isolated_store, report_month_of_app, signed_in  # noqa: F401  (the module's app database)

pytestmark = pytest.mark.xihu
TOWN8_NAME = "西湖街道"


def _log() -> AuditLog:
    return AuditLog(Store(os.environ["DATABASE_URL"]), os.environ["XIHU_AUDIT_KEY"].encode())


def _texts(at: object) -> str:
    return " ".join(str(x.value) for x in [*at.markdown, *at.caption, *at.info])  # type: ignore[attr-defined]


def test_providers_page_planner_and_town_manager() -> None:
    at = signed_in("planner1")
    at.switch_page("pages/providers.py").run()
    assert not at.exception, at.exception
    assert "可持续性指数 S = 100" in _texts(at)
    towns = at.dataframe[0].value
    assert len(towns) == 12 and towns["利用率"].str.endswith("%").all()
    providers = at.dataframe[1].value
    assert providers["可持续性指数"].map(float).between(0, 100).all()
    assert not providers.astype(str).isin(["None", "nan", "NaN"]).any().any()
    # interaction: pick one provider's trend
    first = at.multiselect(key="cap_trend_pick").options[0]
    at.multiselect(key="cap_trend_pick").set_value([first]).run()
    assert not at.exception, at.exception
    town = signed_in("town8")
    town.switch_page("pages/providers.py").run()
    assert not town.exception, town.exception
    own = town.dataframe[1].value
    assert len(own) > 0 and set(own["镇街"]) == {TOWN8_NAME}
    assert len(own) < len(providers)


def test_viewer_is_not_routed_and_sees_no_rows() -> None:
    at = signed_in("viewer1")
    for page in ("pages/providers.py", "pages/duplicates.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_duplicates_review_closes_a_flag_and_is_audited() -> None:
    at = signed_in("town8")
    at.switch_page("pages/duplicates.py").run()
    assert not at.exception, at.exception
    listed = at.dataframe[-1].value
    assert len(listed) > 0 and set(listed["镇街"]) == {TOWN8_NAME}
    assert listed["姓名（脱敏）"].str.contains("*", regex=False).all()
    n_open = int(at.metric[0].value.replace(",", ""))
    assert n_open == len(listed)
    flag_id = at.selectbox(key="dup_flag").value
    at.text_area(key="dup_note").input("已核实：两部门分别报销不同费用")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    after = at.dataframe[-1].value
    assert flag_id not in set(after["疑点编号"]) and len(after) == n_open - 1
    entries = _log().entries(who="town8", limit=None)
    assert any(e.action == "duplicate_flag_reviewed" for e in entries)
    # the export: audited in the run that first offers the file
    assert not at.get("download_button")
    before = len(_log().entries(who="town8", limit=None))
    at.button(key="dup_prepare").click().run()
    assert not at.exception, at.exception
    new = _log().entries(who="town8", limit=None)
    assert len(new) == before + 1 and any(e.action == "export_duplicate_flags_csv" for e in new)
    assert len(at.get("download_button")) == 1


def test_town_manager_report_has_capacity_and_duplicate_sheets_of_own_town() -> None:
    import io
    import zipfile

    from openpyxl import load_workbook

    at = signed_in("town8")
    at.switch_page("pages/reports.py").run()
    at.multiselect(key="report_formats").set_value(["xlsx"]).run()
    at.button(key="report_build").click().run(timeout=300)
    assert not at.exception, at.exception
    with zipfile.ZipFile(io.BytesIO(at.session_state["report_zip"])) as zf:
        name = f"towns/town_330106008_{report_month_of_app()}.xlsx"
        assert zf.namelist() == [name]
        wb = load_workbook(io.BytesIO(zf.read(name)), read_only=True)
    assert "服务能力" in wb.sheetnames and "重复救助" in wb.sheetnames
    cap = list(wb["服务能力"].values)
    assert cap[0][0] == "镇街 / 服务主体" and len(cap) > 1
    small = {str(i) for i in range(1, 10)}
    for row in cap[1:]:  # household counts: matched needs (col 5), unmet demand in reach (col 7)
        assert str(row[4]) not in small and str(row[6]) not in small
    dup = list(wb["重复救助"].values)
    assert dup[0] == ("部门", "项目组", "疑点数", "记录数", "金额（元）") and dup[-1][0] == "合计"
    for row in dup[1:]:
        assert str(row[2]) not in small and str(row[3]) not in small
