"""AppTest of the 满意度 and 月度清单 pages: smoke, one interaction each, escaping, role and area scoping."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.pages.test_app import _isolated_store, signed_in  # noqa: F401  (module fixture: private DB and keys)

pytestmark = pytest.mark.xihu


def _all_text(at: object) -> str:
    parts = [str(e.value) for e in at.markdown] + [str(e.value) for e in at.caption]  # type: ignore[attr-defined]
    for df in at.dataframe:  # type: ignore[attr-defined]
        parts.append(df.value.to_string())
    return "\n".join(parts)


def test_feedback_page_alerts_and_protected_means() -> None:
    at = signed_in("planner1")
    at.switch_page("pages/feedback.py").run()
    assert not at.exception, at.exception
    alerts = at.dataframe[0].value
    assert list(alerts.columns) == ["服务机构", "反馈数", "平均分"]
    assert len(alerts) >= 2 and all(float(m) < 3.0 for m in alerts["平均分"])
    # counts of responses follow the one disclosure rule: 1-9 print "<10", never the number
    assert all(n == "<10" or int(n) >= 10 for n in alerts["反馈数"])
    means = at.dataframe[1].value
    assert not means["反馈数"].isin([str(n) for n in range(1, 10)]).any()
    small = means.loc[means["平均分"] == "样本不足", "反馈数"]
    assert len(small) > 0 and set(small) == {"<10"}
    text = _all_text(at)
    assert "SYN-P" not in text and "None" not in text and "nan" not in text
    # one interaction: group by item, names not codes
    at.radio(key="fb_level").set_value("item").run()
    assert not at.exception, at.exception
    items = at.dataframe[1].value
    assert items.columns[0] == "服务项目" and not items["服务项目"].str.fullmatch(r"[A-Z]\d\d").any()


def test_feedback_form_script_comment_is_only_text() -> None:
    at = signed_in("town8")
    at.switch_page("pages/feedback.py").run()
    assert not at.exception, at.exception
    evil = "<script>window.__x=1</script>"
    at.radio(key="fb_form_kind").set_value("hub").run()
    at.text_area(key="fb_form_comment").input(evil)
    [submit] = [b for b in at.button if b.label == "保存反馈"]
    submit.click().run()
    assert not at.exception, at.exception
    assert any("已保存 1 条反馈" in s.value for s in at.success)
    at.run()
    [comments] = [df.value for df in at.dataframe if "意见" in df.value.columns]
    assert evil in set(comments["意见"])
    # never in any markdown/HTML element; only the data frame holds it, as text
    assert all("<script" not in str(m.value) for m in at.markdown)
    # a town manager sees its own town only
    towns = at.radio(key="fb_level").set_value("hub").run().dataframe[1].value
    assert len(towns) == 1 and not towns["镇街"].str.contains("330106").any()


def test_viewer_gets_neither_page() -> None:
    at = signed_in("viewer1")
    for page in ("pages/feedback.py", "pages/monthly.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_monthly_page_loads_demo_months_and_compares() -> None:
    at = signed_in("planner1")
    at.switch_page("pages/monthly.py").run()
    assert not at.exception, at.exception
    at.button(key="mo_demo_load").click().run(timeout=300)
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["新增需求", "已解决（不再出现）的需求", "新增供给能力", "撤回供给能力",
                      "新发现的重复救助疑点", "已消除的重复救助疑点"]  # fmt: skip
    values = [int(m.value.replace(",", "")) for m in at.metric]
    assert all(v > 0 for v in values), values
    assert any("2026-05" in c.value for c in at.caption)
    text = _all_text(at)
    assert "None" not in text and "nan" not in text
    # a town manager compares its own town only, and cannot import
    town = signed_in("town8")
    town.switch_page("pages/monthly.py").run()
    assert not town.exception, town.exception
    assert not [b for b in town.button if b.key == "import_save"] and not town.get("file_uploader")
    town_values = [int(m.value.replace(",", "")) for m in town.metric]
    assert town_values[0] < values[0] and town_values[2:4] == values[2:4]  # offers are public
    new_needs = pd.concat([df.value for df in town.dataframe if "需求编号" in df.value.columns])
    assert len(new_needs) > 0


def test_feedback_is_read_once_per_version_and_a_saved_response_shows_at_once() -> None:
    """Reruns do not read the responses again (cached by a version every save changes); a save shows at once."""
    import sqlalchemy as sa

    from pages._common import get_store

    at = signed_in("planner1")
    at.switch_page("pages/feedback.py").run()
    assert not at.exception, at.exception
    reads: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "FROM feedback" in statement and "feedback.score" in statement:
            reads.append(statement)

    engine = get_store().engine
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        at.radio(key="fb_level").set_value("item").run()
        at.radio(key="fb_level").set_value("provider").run()
        assert not at.exception, at.exception
        assert reads == [], "a rerun read the responses again"
        before = {str(c) for c in at.dataframe[-1].value["意见"]} if len(at.dataframe) else set()
        marker = "缓存测试：新保存的意见"
        assert marker not in before
        at.text_area(key="fb_form_comment").input(marker)
        [submit] = [b for b in at.button if b.label == "保存反馈"]
        submit.click().run()
        assert not at.exception, at.exception
        assert len(reads) == 1, "the save did not change the version, or it was read more than once"
        [comments] = [df.value for df in at.dataframe if "意见" in df.value.columns]
        assert marker in set(comments["意见"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)


def test_monthly_import_shows_every_rejected_row_before_saving() -> None:
    """A list with a bad row: read = accepted + rejected on screen, the reason in Chinese, the rows
    downloadable; saving keeps the accepted rows only."""
    from core.settings import Settings
    from data.demo import load_default_bundle

    bundle = load_default_bundle(Settings().shared_data)
    hh = bundle.beneficiaries["beneficiary_id"].astype(str).tolist()[:2]
    item = str(bundle.needs["item_id"].iloc[0])
    csv = f"need_id,household_id,item_id,urgency\nT1,{hh[0]},{item},3\nT2,{hh[1]},{item},2\nT3,{hh[1]},{item},很急\n"
    at = signed_in("planner1")
    at.switch_page("pages/monthly.py").run()
    at.selectbox(key="mo_kind").set_value("needs")
    at.get("file_uploader")[0].upload("needs.csv", csv.encode(), "text/csv")
    at.run()
    [validate] = [b for b in at.button if b.label == "校验并导入"]  # the Data page's flow
    validate.click().run()
    assert not at.exception, at.exception
    counts = {m.label: int(str(m.value).replace(",", "")) for m in at.metric}
    assert (counts["读取"], counts["接受"], counts["拒绝"]) == (3, 2, 1)
    rejected = next(df.value for df in at.dataframe if "原因" in df.value.columns and "行号" in df.value.columns)
    assert rejected["原因"].tolist() == ["紧急程度无效"]
    assert "bad_need_urgency" not in _all_text(at)
    assert [b for b in at.get("download_button")]  # the rejected rows, with their reasons
    at.text_input(key="import_month").input("2026-09")
    at.button(key="import_save").click().run()
    assert not at.exception, at.exception
    assert any("2 " in s.value or "2条" in s.value or "2 条" in s.value for s in at.success), [
        s.value for s in at.success
    ]
