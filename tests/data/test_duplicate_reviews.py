"""Reviewed duplicate flags: stored, audited, and closed on the next run unless new records join."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from core.errors import DuplicateFlagError
from data.accounts.audit import AuditLog
from data.duplicate_reviews import AUDIT_ACTION, load_reviews, mark_reviewed
from data.duplicates import apply_reviews, flag_duplicates, open_flags
from data.storage import Store

AUDIT_KEY = b"test-audit-key-0123456789abcdef"


def records(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["record_id", "department", "person_key", "item_group", "date"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["amount"] = 100.0
    return frame


RUN1 = records(
    [
        ("1", "医保", "p1", "medical", "2026-03-02"),
        ("2", "慈善总会", "p1", "medical", "2026-03-20"),
        ("3", "卫健", "p2", "psychosocial", "2026-03-02"),
        ("4", "社工站", "p2", "psychosocial", "2026-03-09"),
    ]
)


def test_reviewed_flag_stays_closed_on_the_next_run(store: Store) -> None:
    audit = AuditLog(store, AUDIT_KEY)
    flags = flag_duplicates(RUN1)
    at = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    note = "大病医疗：慈善补充在医保之后，合规"
    mark_reviewed(
        store, audit, flags.iloc[0].to_dict(), note=note, who="wang", role="town_manager",
        dataset="user", area={"town_code": "330106001"}, now=at,
    )  # fmt: skip
    reviews = load_reviews(store, dataset="user")
    assert reviews["flag_id"].tolist() == [flags["flag_id"].iloc[0]]
    assert reviews["record_keys"].iloc[0] == ("医保/1", "慈善总会/2")
    assert reviews["reviewed_at"].iloc[0] == pd.Timestamp(at)
    assert len(load_reviews(store, dataset="demo")) == 0

    # next run, same files: the reviewed flag does not come back
    next_run = apply_reviews(flag_duplicates(RUN1), load_reviews(store, dataset="user"))
    assert open_flags(next_run)["person_key"].tolist() == ["p2"]
    # a new record joins it: reopened, with the earlier note
    run3 = pd.concat([RUN1, records([("5", "民政", "p1", "medical", "2026-03-25")])], ignore_index=True)
    again = apply_reviews(flag_duplicates(run3), load_reviews(store, dataset="user"))
    row = again.loc[again["person_key"] == "p1"].iloc[0]
    assert row["status"] == "reopened" and row["new_record_keys"] == "民政/5"
    # reviewed again with the new record: closed, the stored review replaced
    mark_reviewed(store, audit, row.to_dict(), note="三方分担", who="li", role="planner", dataset="user")
    closed = apply_reviews(flag_duplicates(run3), load_reviews(store, dataset="user"))
    assert closed.loc[closed["person_key"] == "p1", "status"].item() == "reviewed"
    assert len(load_reviews(store, dataset="user")) == 1

    entries = sorted((e for e in audit.entries() if e.action == AUDIT_ACTION), key=lambda e: e.seq)
    assert audit.verify().ok
    assert [e.who for e in entries] == ["wang", "li"]
    assert entries[0].filter["flag_id"] == flags["flag_id"].iloc[0] and entries[0].row_count == 2
    assert entries[1].row_count == 3
    assert "合规" not in str(entries[0].filter)  # the note stays in the review table


def test_review_needs_a_note(store: Store) -> None:
    audit = AuditLog(store, AUDIT_KEY)
    flag = flag_duplicates(RUN1).iloc[0].to_dict()
    with pytest.raises(DuplicateFlagError, match="复核说明"):
        mark_reviewed(store, audit, flag, note="  ", who="wang", role="planner", dataset="user")
    assert len(load_reviews(store, dataset="user")) == 0
