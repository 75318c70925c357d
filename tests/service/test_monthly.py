"""Monthly lists: every import kept as a version (nothing overwritten), two months compared = a direct recount."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import MonthlyListError
from data.accounts.access import AreaFilter
from data.accounts.audit import AuditLog
from data.accounts.auth import Role
from data.duplicates import flag_duplicates
from data.monthly import current_version, list_versions, load_version, months, save_version
from data.storage import Store
from service import monthly as mo

HOUSEHOLDS = pd.DataFrame(
    {
        "beneficiary_id": [f"B{i}" for i in range(8)],
        "id_hash": [f"h{i}" for i in range(8)],
        "town_code": ["330106001"] * 4 + ["330106002"] * 4,
        "community_code": ["330106001001"] * 4 + ["330106002051"] * 4,
    }
)


def _needs(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "need_id": [f"N{i}" for i in ids],
            "household_id": [f"B{i % 8}" for i in ids],
            "item_id": ["S01" if i % 2 else "C01" for i in ids],
            "urgency": [1 + i % 3 for i in ids],
        }
    )


def _offers(caps: dict[tuple[str, str], int]) -> pd.DataFrame:
    return pd.DataFrame([{"provider_id": p, "item_id": i, "capacity_per_month": c} for (p, i), c in caps.items()])


def _records(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    # (record_id, department, person_key, date)
    return pd.DataFrame(
        {
            "record_id": [r[0] for r in rows],
            "department": [r[1] for r in rows],
            "person_key": [r[2] for r in rows],
            "item_group": ["医疗救助"] * len(rows),
            "item_id": ["S02"] * len(rows),
            "date": pd.to_datetime([r[3] for r in rows]),
            "amount": [100.0] * len(rows),
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def _save(store: Store, audit: AuditLog, kind: str, month: str, frame: pd.DataFrame) -> int:
    return save_version(store, audit, kind, month, frame, dataset="user", who="p", role="planner", file_name="x.csv")


def test_two_imports_of_one_month_keep_two_versions(store: Store) -> None:
    audit = AuditLog(store, b"k" * 32)
    assert _save(store, audit, "needs", "2026-03", _needs([1, 2, 3])) == 1
    assert _save(store, audit, "needs", "2026-03", _needs([1, 2])) == 2
    assert _save(store, audit, "needs", "2026-04", _needs([2, 5])) == 1
    versions = list_versions(store, dataset="user", kind="needs")
    assert list(zip(versions["month"], versions["version"], versions["n_rows"], strict=True)) == [
        ("2026-03", 1, 3), ("2026-03", 2, 2), ("2026-04", 1, 2),
    ]  # fmt: skip
    assert list(load_version(store, "needs", "2026-03", dataset="user", version=1).rows["need_id"]) == [
        "N1",
        "N2",
        "N3",
    ]
    assert list(load_version(store, "needs", "2026-03", dataset="user").rows["need_id"]) == ["N1", "N2"]
    current = current_version(store, "needs", dataset="user")
    assert current is not None and (current.month, current.version) == ("2026-04", 1)
    assert months(store, dataset="user", kind="needs") == ["2026-03", "2026-04"]
    assert [e.action for e in audit.entries(limit=3)] == ["monthly_list_saved"] * 3
    assert list_versions(store, dataset="demo").empty
    with pytest.raises(MonthlyListError, match="YYYY-MM"):
        _save(store, audit, "needs", "2026-3", _needs([1]))
    with pytest.raises(MonthlyListError):
        load_version(store, "offers", "2026-03", dataset="user")


def test_month_comparison_equals_a_direct_recount(store: Store) -> None:
    audit = AuditLog(store, b"k" * 32)
    rng = np.random.default_rng(5)
    ids_a = sorted(rng.choice(60, 30, replace=False).tolist())
    ids_b = sorted(rng.choice(60, 35, replace=False).tolist())
    caps_a = {("P1", "S01"): 10, ("P1", "C01"): 5, ("P2", "S01"): 8, ("P3", "D01"): 4}
    caps_b = {("P1", "S01"): 12, ("P1", "C01"): 5, ("P2", "S01"): 3, ("P4", "C01"): 6}
    rec_a = _records([("1", "民政", "h0", "2026-03-02"), ("2", "医保", "h0", "2026-03-09"),
                      ("3", "民政", "h5", "2026-03-02"), ("4", "慈善总会", "h5", "2026-03-20")])  # fmt: skip
    rec_b = _records([("1", "民政", "h0", "2026-03-02"), ("3", "民政", "h5", "2026-03-02"),
                      ("4", "慈善总会", "h5", "2026-03-20"), ("5", "民政", "h1", "2026-04-02"),
                      ("6", "残联", "h1", "2026-04-03")])  # fmt: skip
    _save(store, audit, "needs", "2026-03", _needs(list(range(60))))  # an older version, replaced by the next
    for kind, frames in (("needs", (_needs(ids_a), _needs(ids_b))), ("offers", (_offers(caps_a), _offers(caps_b))),
                         ("records", (rec_a, rec_b))):  # fmt: skip
        _save(store, audit, kind, "2026-03", frames[0])
        _save(store, audit, kind, "2026-04", frames[1])

    diff = mo.compare_months(store, "2026-03", "2026-04", dataset="user", households=HOUSEHOLDS,
                             area_filter=AreaFilter(Role.PLANNER))  # fmt: skip
    # the recount, straight from the frames
    assert sorted(diff.new_needs["need_id"]) == sorted(f"N{i}" for i in set(ids_b) - set(ids_a))
    assert sorted(diff.resolved_needs["need_id"]) == sorted(f"N{i}" for i in set(ids_a) - set(ids_b))
    keys = set(caps_a) | set(caps_b)
    change = {k: caps_b.get(k, 0) - caps_a.get(k, 0) for k in keys}
    added = {(p, i): c for (p, i), c in change.items() if c > 0}
    withdrawn = {(p, i): c for (p, i), c in change.items() if c < 0}
    got_added = dict(zip(zip(diff.capacity_added["provider_id"], diff.capacity_added["item_id"], strict=True),
                         diff.capacity_added["change"], strict=True))  # fmt: skip
    w = diff.capacity_withdrawn
    got_withdrawn = dict(zip(zip(w["provider_id"], w["item_id"], strict=True), w["change"], strict=True))
    assert got_added == added == {("P1", "S01"): 2, ("P4", "C01"): 6}
    assert got_withdrawn == withdrawn
    fa, fb = set(flag_duplicates(rec_a)["flag_id"]), set(flag_duplicates(rec_b)["flag_id"])
    assert set(diff.dup_found["flag_id"]) == fb - fa and len(fb - fa) == 1
    assert set(diff.dup_cleared["flag_id"]) == fa - fb and len(fa - fb) == 1
    assert diff.versions[("needs", "2026-03")] == 2 and diff.versions[("records", "2026-04")] == 1
    # the page's tables: Chinese headers, no codes
    table = mo.needs_table(diff.new_needs)
    assert list(table.columns) == ["需求编号", "对象编号", "服务项目", "紧急程度"]
    assert "S01" not in set(table["服务项目"])
    assert mo.capacity_table(diff.capacity_added, {"P1": "甲"}).columns[0] == "服务机构"

    # area scoping: a town manager compares only the needs and flags of its own town
    town = mo.compare_months(store, "2026-03", "2026-04", dataset="user", households=HOUSEHOLDS,
                             area_filter=AreaFilter(Role.TOWN_MANAGER, "330106001"))  # fmt: skip
    own = {f"B{i}" for i in range(4)}
    assert set(town.new_needs["household_id"]) <= own
    assert sorted(town.new_needs["need_id"]) == sorted(f"N{i}" for i in set(ids_b) - set(ids_a) if f"B{i % 8}" in own)
    assert set(town.dup_found["person_key"]) == {"h1"} and set(town.dup_cleared["person_key"]) == {"h0"}
    other = mo.compare_months(store, "2026-03", "2026-04", dataset="user", households=HOUSEHOLDS,
                              area_filter=AreaFilter(Role.TOWN_MANAGER, "330106002"))  # fmt: skip
    assert other.dup_found.empty and other.dup_cleared.empty
    viewer = mo.compare_months(store, "2026-03", "2026-04", dataset="user", households=HOUSEHOLDS,
                               area_filter=AreaFilter(Role.VIEWER))  # fmt: skip
    assert viewer.new_needs.empty and viewer.dup_found.empty and viewer.dup_cleared.empty
