"""Duplicate-provision flags: planted duplicates found and nothing else; periods; reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import DuplicateFlagError
from data.duplicates import apply_reviews, flag_duplicates, flag_id_of, open_flags, period_labels
from data.service_demo import synthetic_service_records
from data.service_records import default_catalogue, import_service_records

KEY = b"test-id-hash-key-0123456789"


def records(rows: list[tuple[str, str, str, str, str, float]]) -> pd.DataFrame:
    """(record_id, department, person_key, item_group, date, amount) rows."""
    frame = pd.DataFrame(rows, columns=["record_id", "department", "person_key", "item_group", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


HAND = records(
    [
        ("1", "医保", "p1", "medical", "2026-03-02", 800.0),
        ("2", "慈善总会", "p1", "medical", "2026-03-28", 500.0),  # p1 medical 2026-03: flag
        ("3", "医保", "p1", "medical", "2026-04-02", 800.0),  # next month: alone
        ("4", "医保", "p2", "medical", "2026-03-02", 800.0),
        ("5", "医保", "p2", "medical", "2026-03-12", 800.0),  # same department twice: no flag
        ("6", "卫健", "p2", "psychosocial", "2026-03-02", np.nan),
        ("7", "社工站", "p2", "psychosocial", "2026-03-05", np.nan),  # p2 psychosocial: flag, no amount
        ("8", "民政", "p3", "basic_living", "2026-01-31", 1100.0),
        ("9", "慈善总会", "p3", "basic_living", "2026-02-01", 300.0),  # other month: quarter flag only
        ("10", "民政", "p4", "medical", "2026-03-02", 100.0),  # other person, other group
    ]
)


def test_hand_flags_by_month() -> None:
    flags = flag_duplicates(HAND)
    assert flags[["person_key", "item_group", "period", "departments", "record_ids", "n_records"]].values.tolist() == [
        ["p1", "medical", "2026-03", "医保;慈善总会", "1;2", 2],
        ["p2", "psychosocial", "2026-03", "卫健;社工站", "6;7", 2],
    ]
    assert flags["amount"].iloc[0] == 1300.0 and np.isnan(flags["amount"].iloc[1])
    assert flags["flag_id"].iloc[0] == flag_id_of("p1", "medical", "2026-03")
    assert flags["record_keys"].iloc[0] == ("医保/1", "慈善总会/2")


def test_periods() -> None:
    q = flag_duplicates(HAND, period="quarter")
    assert q[["person_key", "item_group", "period"]].values.tolist() == [
        ["p3", "basic_living", "2026Q1"],  # January and February: one quarter
        ["p1", "medical", "2026Q1"],  # record 3 (April) is in Q2, alone
        ["p2", "psychosocial", "2026Q1"],
    ]
    y = flag_duplicates(HAND, period="year")
    assert y.loc[y["person_key"] == "p1", "record_ids"].item() == "1;2;3"
    assert period_labels(pd.Series(pd.to_datetime(["2026-11-30"])), "quarter").item() == "2026Q4"
    with pytest.raises(DuplicateFlagError, match="month"):
        flag_duplicates(HAND, period="week")


def test_no_records_no_flags() -> None:
    assert len(flag_duplicates(HAND.iloc[0:0])) == 0
    assert len(flag_duplicates(HAND[HAND["person_key"] == "p4"])) == 0


def test_planted_duplicates_found_and_nothing_else() -> None:
    ben = pd.DataFrame({"beneficiary_id": [f"B{i:05d}" for i in range(1500)]})
    synth = synthetic_service_records(ben, seed=7, key=KEY)
    assert (synth.records["synthetic"] == "是").all()
    res = import_service_records(synth.records, default_catalogue(), key=KEY, households=synth.households)
    assert res.summary["accepted"] + res.summary["rejected"] == res.summary["read"] == len(synth.records)
    assert res.summary["reasons"] == {"id_excel_mangled": synth.n_unreadable}
    flags = flag_duplicates(res.accepted)
    cols = ["person_key", "item_group", "period", "departments"]
    got = sorted(map(tuple, flags[cols].values.tolist()))
    expected = sorted(map(tuple, synth.planted[cols].values.tolist()))
    assert len(expected) == 60 and got == expected
    # the persons were recognised across ID forms: every planted flag joins two differently written files
    assert set(res.accepted["person_source"]) == {"id_card", "household"}


def test_reviewed_flag_stays_closed_unless_new_records_join() -> None:
    flags = flag_duplicates(HAND)
    first = flags.iloc[0]
    reviews = pd.DataFrame(
        {
            "flag_id": [first["flag_id"]],
            "record_keys": [tuple(first["record_keys"])],
            "note": ["住院费用由两部门分担，合规"],
            "reviewed_by": ["staff"],
            "reviewed_at": ["2026-04-01"],
        }
    )
    again = apply_reviews(flag_duplicates(HAND), reviews)
    assert again["status"].tolist() == ["reviewed", "open"]
    assert open_flags(again)["item_group"].tolist() == ["psychosocial"]
    # a corrected file drops nothing new: still closed; a record removed: still closed
    assert apply_reviews(flag_duplicates(HAND[HAND["record_id"] != "9"]), reviews)["status"].iloc[0] == "reviewed"
    more = pd.concat([HAND, records([("11", "民政", "p1", "medical", "2026-03-30", 200.0)])], ignore_index=True)
    reopened = apply_reviews(flag_duplicates(more), reviews)
    assert reopened["status"].iloc[0] == "reopened"
    assert reopened["new_record_keys"].iloc[0] == "民政/11"
    assert reopened["review_note"].iloc[0] == "住院费用由两部门分担，合规"
