"""Duplicate provision on the dashboard: own area only, masked names, overlap matrix, audited export."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ExportNotAllowedError
from data.accounts.access import AreaFilter
from data.accounts.audit import AuditLog, sha256_hex
from data.accounts.auth import Role
from data.duplicates import apply_reviews, flag_duplicates
from data.storage import Store
from service.duplicates import EXPORT_ACTION, FLAG_LIST_COLUMNS, export_flag_list_csv, flag_list, overlap_matrix

TOWN_A, TOWN_B = "330106001", "330106002"
VILLAGE_A1 = TOWN_A + "001"

HOUSEHOLDS = pd.DataFrame(
    {
        "id_hash": ["p1", "p2", "p4"],
        "beneficiary_id": ["B1", "B2", "B4"],
        "name_masked": ["张*明", "李*", "王*"],
        "town_code": [TOWN_A, TOWN_B, TOWN_A],
        "community_code": [VILLAGE_A1, TOWN_B + "001", TOWN_A + "002"],
    }
)


def _records() -> pd.DataFrame:
    rows = [
        ("1", "医保", "p1", "医疗救助", "2026-03-02", 800.0),
        ("2", "慈善总会", "p1", "医疗救助", "2026-03-20", 500.0),
        ("3", "卫健", "p2", "心理疏导", "2026-03-02", float("nan")),
        ("4", "社工站", "p2", "心理疏导", "2026-03-09", float("nan")),
        ("5", "人社", "p4", "就业援助", "2026-03-02", 0.0),
        ("6", "残联", "p4", "就业援助", "2026-03-09", 300.0),
        ("7", "医保", "p4", "医疗救助", "2026-03-02", 700.0),
        ("8", "慈善总会", "p4", "医疗救助", "2026-03-05", 100.0),
        ("9", "医保", "p9", "医疗救助", "2026-03-02", 50.0),  # p9: no known household
        ("10", "民政", "p9", "医疗救助", "2026-03-03", 50.0),
    ]
    frame = pd.DataFrame(rows, columns=["record_id", "department", "person_key", "item_group", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


RECORDS = _records()
FLAGS = flag_duplicates(RECORDS)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(Store(f"sqlite:///{tmp_path / 'a.sqlite'}"), b"test-audit-key-0123456789abcdef")


def test_flag_list_own_area_only(audit: AuditLog) -> None:
    town_a = AreaFilter(Role.TOWN_MANAGER, TOWN_A)
    listed = flag_list(FLAGS, HOUSEHOLDS, town_a)
    assert list(listed.columns) == list(FLAG_LIST_COLUMNS)
    assert sorted(listed["beneficiary_id"]) == ["B1", "B4", "B4"]
    assert "person_key" not in listed.columns and set(listed["name_masked"]) == {"张*明", "王*"}
    village = flag_list(FLAGS, HOUSEHOLDS, AreaFilter(Role.VILLAGE_MANAGER, TOWN_A, VILLAGE_A1))
    assert village["beneficiary_id"].tolist() == ["B1"]
    assert len(flag_list(FLAGS, HOUSEHOLDS, AreaFilter(Role.VIEWER))) == 0
    planner = flag_list(FLAGS, HOUSEHOLDS, AreaFilter(Role.PLANNER))
    assert len(planner) == len(FLAGS) == 5  # district level: the unknown household too
    denied = flag_list(FLAGS, HOUSEHOLDS, town_a, town_code=TOWN_B, audit=audit, who="wang")
    assert len(denied) == 0 and audit.entries()[0].action == "area_denied"


def test_reviewed_flags_leave_the_list() -> None:
    first = FLAGS.loc[FLAGS["person_key"] == "p1"].iloc[0]
    reviews = pd.DataFrame(
        {"flag_id": [first["flag_id"]], "record_keys": [first["record_keys"]], "note": ["ok"],
         "reviewed_by": ["w"], "reviewed_at": ["2026-04-01"]}
    )  # fmt: skip
    flags = apply_reviews(FLAGS, reviews)
    town_a = AreaFilter(Role.TOWN_MANAGER, TOWN_A)
    assert "B1" not in set(flag_list(flags, HOUSEHOLDS, town_a)["beneficiary_id"])
    assert "B1" in set(flag_list(flags, HOUSEHOLDS, town_a, include_reviewed=True)["beneficiary_id"])


def test_overlap_matrix_counts_amounts_total() -> None:
    m = overlap_matrix(FLAGS, RECORDS, HOUSEHOLDS, AreaFilter(Role.TOWN_MANAGER, TOWN_A))
    assert m.n_flags == 3 and m.total_amount == 800 + 500 + 0 + 300 + 700 + 100
    assert m.counts.loc["医保", "医疗救助"] == 2 and m.counts.loc["慈善总会", "医疗救助"] == 2
    assert m.counts.loc["人社", "就业援助"] == 1 and m.counts.loc["医保", "就业援助"] == 0
    assert m.amounts.loc["医保", "医疗救助"] == 1500.0 and m.amounts.loc["残联", "就业援助"] == 300.0
    district = overlap_matrix(FLAGS, RECORDS, HOUSEHOLDS, AreaFilter(Role.PLANNER), lang="en")
    assert district.counts.loc["医保", "医疗救助"] == 3 and district.total_amount == 2500.0
    assert overlap_matrix(FLAGS, RECORDS, HOUSEHOLDS, AreaFilter(Role.VIEWER)).n_flags == 0


def test_export_is_role_checked_and_audited(audit: AuditLog) -> None:
    town_a = AreaFilter(Role.TOWN_MANAGER, TOWN_A)
    listed = flag_list(FLAGS, HOUSEHOLDS, town_a)
    data = export_flag_list_csv(listed, town_a, who="wang", audit=audit)
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert "姓名（脱敏）" in frame.columns and "医疗救助" in set(frame["项目组"])
    entry = audit.entries()[0]
    assert entry.action == EXPORT_ACTION and entry.row_count == 3 and entry.file_hash == sha256_hex(data)
    assert entry.filter["town_code"] == TOWN_A
    for role in (Role.VIEWER, Role.ADMIN):
        with pytest.raises(ExportNotAllowedError):
            export_flag_list_csv(listed, AreaFilter(role), who="x", audit=audit)


@pytest.mark.xihu
def test_xihu_demo_planted_duplicates_per_town(xihu_dir: Path, tmp_path: Path) -> None:
    from data.demo import load_default_bundle
    from data.service_demo import synthetic_service_records
    from data.service_records import default_catalogue, import_service_records

    key = b"test-id-hash-key-0123456789"
    bundle = load_default_bundle(xihu_dir.parent, cache_dir=tmp_path)
    synth = synthetic_service_records(bundle, 13, key=key)
    imported = import_service_records(synth.records, default_catalogue(), key=key, households=synth.households)
    flags = flag_duplicates(imported.accepted)
    cols = ["person_key", "item_group", "period"]
    assert sorted(map(tuple, flags[cols].values.tolist())) == sorted(map(tuple, synth.planted[cols].values.tolist()))
    town = str(synth.households["town_code"].iloc[0])
    listed = flag_list(flags, synth.households, AreaFilter(Role.TOWN_MANAGER, town))
    expected = synth.planted.merge(synth.households, on="beneficiary_id")
    assert len(listed) == int((expected["town_code"] == town).sum()) > 0
    assert set(listed["town_code"]) == {town}
    m = overlap_matrix(flags, imported.accepted, synth.households, AreaFilter(Role.PLANNER))
    assert m.n_flags == len(synth.planted) and int(m.counts.to_numpy().sum()) == 2 * len(synth.planted)


def test_review_only_within_own_area(tmp_path: Path) -> None:
    from core.errors import DuplicateFlagError
    from data.duplicate_reviews import load_reviews
    from service.duplicates import review_flag

    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    audit = AuditLog(store, b"test-audit-key-0123456789abcdef")
    town_a = AreaFilter(Role.TOWN_MANAGER, TOWN_A)
    p1 = FLAGS.loc[FLAGS["person_key"] == "p1", "flag_id"].item()
    p2 = FLAGS.loc[FLAGS["person_key"] == "p2", "flag_id"].item()  # town B
    common = {"note": "合规", "who": "wang", "store": store, "audit": audit, "dataset": "user"}
    with pytest.raises(DuplicateFlagError, match="辖区"):
        review_flag(FLAGS, HOUSEHOLDS, p2, area_filter=town_a, **common)
    with pytest.raises(DuplicateFlagError, match="角色"):
        review_flag(FLAGS, HOUSEHOLDS, p1, area_filter=AreaFilter(Role.VIEWER), **common)
    assert len(load_reviews(store, dataset="user")) == 0
    review_flag(FLAGS, HOUSEHOLDS, p1, area_filter=town_a, **common)
    assert load_reviews(store, dataset="user")["flag_id"].tolist() == [p1]
    entry = audit.entries()[0]
    assert entry.action == "duplicate_flag_reviewed" and entry.filter["area"]["town_code"] == TOWN_A
    reviewed = apply_reviews(FLAGS, load_reviews(store, dataset="user"))
    assert p1 not in set(flag_list(reviewed, HOUSEHOLDS, town_a)["flag_id"])
