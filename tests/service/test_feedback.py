"""Satisfaction feedback: import, storage (audited), protected means, alerts, escaping, export, scoping."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import ExportNotAllowedError, FeedbackError
from core.settings import FeedbackSettings
from data.accounts.access import AreaFilter
from data.accounts.audit import AuditLog
from data.accounts.auth import Role
from data.feedback import form_response, import_feedback, load_feedback, save_feedback, synthetic_feedback
from data.storage import Store
from service import feedback as fb

PROVIDERS = pd.DataFrame(
    {"provider_id": ["P1", "P2", "P3"], "name": ["甲", "乙", "丙"], "lon": [120.10, 120.20, 120.10], "lat": [30.2] * 3}
)
HUBS = pd.DataFrame(
    {
        "hub_id": ["T1", "T2", "V330106002051"],
        "tier": ["town", "town", "village"],
        "town_code": ["330106001", "330106002", "330106002"],
        "name": ["一站", "二站", "点"],
        "lon": [120.10, 120.20, 120.21],
        "lat": [30.2, 30.2, 30.2],
    }
)
ITEMS = ["S01", "C01"]


def _rows(provider: str, scores: list[int], month: str = "2026-03") -> list[dict[str, str]]:
    return [
        {
            "机构编号": provider,
            "服务项目": "S01",
            "评分": str(s),
            "渠道": "短信",
            "日期": f"{month}-1{i % 9}",
            "意见": "",
        }
        for i, s in enumerate(scores)
    ]


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return import_feedback(pd.DataFrame(rows), providers=PROVIDERS, hubs=HUBS, item_ids=ITEMS).accepted


def test_import_accepts_and_rejects_every_row_with_chinese_reasons() -> None:
    raw = pd.DataFrame(
        [
            {"机构编号": "P1", "服务项目": "S01", "评分": "5", "渠道": "短信", "日期": "2026年3月5日", "意见": "很好"},
            {"机构编号": "", "服务项目": "S01", "评分": "4", "渠道": "弹窗", "日期": "2026-03-05", "意见": ""},
            {"机构编号": "P9", "服务项目": "X99", "评分": "7", "渠道": "微信", "日期": "昨天", "意见": ""},
            {"站点编号": "T2", "服务项目": "C01", "评分": "2", "渠道": "工作人员", "日期": "2026-04-01", "意见": ""},
        ]
    )
    raw.loc[3, "机构编号"] = ""
    result = import_feedback(raw, providers=PROVIDERS, hubs=HUBS, item_ids=ITEMS)
    assert result.summary["read"] == len(raw) == result.summary["accepted"] + result.summary["rejected"]
    assert list(result.accepted["score"]) == [5, 2]
    assert list(result.accepted["town_code"]) == ["330106001", "330106002"]
    assert list(result.rejected["source_row"]) == [3, 4]
    assert result.rejected["reason"].iloc[0] == "未填写服务机构编号或站点编号"
    assert "评分须为 1–5 的整数" in result.rejected["reason"].iloc[1]
    assert "渠道须为" in result.rejected["reason"].iloc[1] and "日期无法识别" in result.rejected["reason"].iloc[1]


def test_means_of_fewer_than_five_responses_are_never_shown() -> None:
    frame = _frame(_rows("P1", [1, 1, 1, 1]) + _rows("P2", [4, 5, 4, 5, 4]))
    means = fb.mean_scores(frame, "provider").set_index("provider_id")
    assert means.loc["P1", "n_responses"] == 4 and np.isnan(means.loc["P1", "mean_score"])
    assert means.loc["P2", "mean_score"] == pytest.approx(4.4)
    shown = fb.labelled_means(fb.mean_scores(frame, "provider"), "provider", {"P1": "甲", "P2": "乙"})
    assert list(shown["平均分"]) == ["样本不足", "4.4"]
    assert fb.shown_mean(1.0, 4) == "样本不足"
    trend = fb.monthly_trend(frame, provider_id="P1")
    assert trend["mean_score"].isna().all()
    # an alert never reveals a small sample either
    assert "P1" not in set(fb.alerts(frame)["provider_id"])


def test_alert_list_threshold_and_minimum_responses() -> None:
    frame = _frame(_rows("P1", [2, 3, 2, 3, 2]) + _rows("P2", [3, 3, 3, 3, 3]) + _rows("P3", [1, 2, 1]))
    alerts = fb.alerts(frame)
    assert list(alerts["provider_id"]) == ["P1"]
    assert alerts["mean_score"].iloc[0] == pytest.approx(2.4)
    assert list(fb.alerts(frame, FeedbackSettings(threshold=3.5))["provider_id"]) == ["P1", "P2"]
    assert list(fb.alerts(frame, FeedbackSettings(min_responses=6))["provider_id"]) == []


def test_synthetic_demo_feedback_plants_low_providers_found_by_the_alerts() -> None:
    offers = pd.DataFrame({"provider_id": ["P1", "P2", "P3"], "item_id": ["S01", "S01", "C01"]})
    frame, low = synthetic_feedback(PROVIDERS, offers, HUBS, seed=13, low_providers=2)
    assert frame["synthetic"].all() and len(low) == 2
    again, _ = synthetic_feedback(PROVIDERS, offers, HUBS, seed=13, low_providers=2)
    pd.testing.assert_frame_equal(frame, again)
    # recount by hand: mean < 3.0 with at least 5 responses
    g = frame.groupby("provider_id")["score"].agg(["size", "mean"])
    expected = sorted(g.index[(g["size"] >= 5) & (g["mean"] < 3.0)])
    assert sorted(fb.alerts(frame)["provider_id"]) == expected
    assert set(low) <= set(expected)


def test_comments_are_escaped_and_exports_neutralised(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script>'
    assert fb.escape_comment(evil) == "&lt;script&gt;alert\\(&quot;x&quot;\\)&lt;/script&gt;"
    rows = _rows("P1", [5]) + _rows("P1", [4])
    rows[0]["意见"], rows[1]["意见"] = evil, "=cmd|' /C calc'!A0"
    frame = _frame(rows)
    assert list(frame["comment"]) == [evil, "=cmd|' /C calc'!A0"]  # stored as typed, never altered
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        audit = AuditLog(store, b"k" * 32)
        data = fb.export_feedback_csv(frame, AreaFilter(Role.PLANNER), who="p", audit=audit)
        text = data.decode("utf-8-sig")
        assert "'=cmd|" in text and "\n=cmd" not in text and ",=cmd" not in text
        assert "意见" in text.splitlines()[0]
        back = pd.read_csv(io.StringIO(text), dtype=str)
        assert evil in set(back["意见"])
        assert audit.entries(limit=1)[0].action == fb.EXPORT_ACTION
        with pytest.raises(ExportNotAllowedError):
            fb.export_feedback_csv(frame, AreaFilter(Role.VIEWER), who="v", audit=audit)
        with pytest.raises(ExportNotAllowedError):
            fb.export_feedback_csv(frame, AreaFilter(Role.ADMIN), who="a", audit=audit)


def test_stored_audited_and_scoped_by_area(tmp_path: Path) -> None:
    frame = _frame(_rows("P1", [5, 4]) + _rows("P2", [2]))
    hub_row = form_response(
        target={"hub_id": "V330106002051"}, item_id="C01", score=3, channel="staff", on=date(2026, 3, 9),
        comment="", providers=PROVIDERS, hubs=HUBS,
    )  # fmt: skip
    with pytest.raises(FeedbackError, match="评分"):
        form_response(target={"provider_id": "P1"}, item_id="S01", score=9, channel="staff", on=date(2026, 3, 9),
                      comment="", providers=PROVIDERS, hubs=HUBS)  # fmt: skip
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        audit = AuditLog(store, b"k" * 32)
        assert save_feedback(store, audit, frame, dataset="user", who="p", role="planner", source="import") == 3
        save_feedback(store, audit, hub_row, dataset="user", who="v", role="village_manager", source="form")
        assert [e.action for e in audit.entries(limit=2)] == ["feedback_recorded"] * 2
        stored = load_feedback(store, dataset="user")
        assert len(stored) == 4 and len(load_feedback(store, dataset="demo")) == 0
    planner = fb.scoped(stored, AreaFilter(Role.PLANNER))
    town1 = fb.scoped(stored, AreaFilter(Role.TOWN_MANAGER, "330106001"))
    town2 = fb.scoped(stored, AreaFilter(Role.TOWN_MANAGER, "330106002"))
    village = fb.scoped(stored, AreaFilter(Role.VILLAGE_MANAGER, "330106002", "330106002051"))
    viewer = fb.scoped(stored, AreaFilter(Role.VIEWER))
    assert len(planner) == 4
    assert set(town1["provider_id"]) == {"P1"} and len(town1) == 2
    assert len(town2) == 2 and set(town2["town_code"]) == {"330106002"}
    assert list(village["hub_id"]) == ["V330106002051"]
    assert len(viewer) == 0
    assert list(fb.scoped_hubs(HUBS, AreaFilter(Role.TOWN_MANAGER, "330106001"))["hub_id"]) == ["T1"]


def test_numbers_of_responses_follow_the_one_disclosure_rule() -> None:
    """A count of 1-9 responses prints as "<10" (geo.disclosure.count_alone), beside "样本不足" or a mean."""
    frame = _frame(_rows("P1", [1, 1, 1]) + _rows("P2", [4, 5, 4, 5, 4, 4]) + _rows("P3", [3] * 12))
    shown = fb.labelled_means(fb.mean_scores(frame, "provider"), "provider", {"P1": "甲", "P2": "乙", "P3": "丙"})
    assert list(shown["反馈数"]) == ["<10", "<10", "12"]
    assert list(shown["平均分"]) == ["样本不足", "4.3", "3.0"]
    trend = fb.labelled_trend(fb.monthly_trend(frame))
    assert list(trend.columns) == ["月份", "反馈数", "平均分"] and list(trend["反馈数"]) == ["21"]
    one = fb.labelled_trend(fb.monthly_trend(frame, provider_id="P1"))
    assert list(one["反馈数"]) == ["<10"] and list(one["平均分"]) == ["样本不足"]
