"""Survey files are saved once: a rerun, a second click or a second session never stores the same responses twice.

On SQLite and on PostgreSQL (``XIHU_TEST_PG_URL``, see ``scripts/pg_test_server.sh``).
"""

from __future__ import annotations

import hashlib
import threading

import pandas as pd
import pytest

from core.errors import FeedbackError
from data.accounts.audit import AuditLog
from data.feedback import feedback_version, import_feedback, load_feedback, save_feedback, saved_file
from data.storage import Store

PROVIDERS = pd.DataFrame({"provider_id": ["P1"], "name": ["甲"], "lon": [120.10], "lat": [30.2]})
HUBS = pd.DataFrame(
    {"hub_id": ["T1"], "tier": ["town"], "town_code": ["330106001"], "name": ["一站"], "lon": [120.1], "lat": [30.2]}
)
KEY = b"feedback-test-audit-key-0123"
CSV = "机构编号,服务项目,评分,渠道,日期\nP1,S01,5,短信,2026-03-01\nP1,S01,3,弹窗,2026-03-02\n".encode()
SHA = hashlib.sha256(CSV).hexdigest()


def _accepted() -> pd.DataFrame:
    raw = pd.DataFrame({"机构编号": ["P1", "P1"], "服务项目": ["S01", "S01"], "评分": ["5", "3"],
                        "渠道": ["短信", "弹窗"], "日期": ["2026-03-01", "2026-03-02"]})  # fmt: skip
    return import_feedback(raw, providers=PROVIDERS, hubs=HUBS, item_ids=["S01"]).accepted


def _save(store: Store, audit: AuditLog, dataset: str = "user") -> int:
    return save_feedback(store, audit, _accepted(), dataset=dataset, who="p", role="planner", source="import",
                         file_sha256=SHA, file_name="survey.csv")  # fmt: skip


def test_the_same_file_is_saved_once_per_dataset(store: Store) -> None:
    audit = AuditLog(store, KEY)
    v0 = feedback_version(store, dataset="user")
    assert saved_file(store, dataset="user", file_sha256=SHA) is None
    assert _save(store, audit) == 2
    v1 = feedback_version(store, dataset="user")
    assert v1 != v0 and v1[0] == 2
    info = saved_file(store, dataset="user", file_sha256=SHA)
    assert info is not None and (info["file_name"], info["n_rows"], info["author"]) == ("survey.csv", 2, "p")
    n_audit = len(audit.entries())
    with pytest.raises(FeedbackError, match="保存过"):
        _save(store, audit)
    assert len(load_feedback(store, dataset="user")) == 2
    assert feedback_version(store, dataset="user") == v1
    assert len(audit.entries()) == n_audit  # the refused save wrote no audit entry either
    # the same file into another dataset is a different save
    assert _save(store, audit, dataset="demo") == 2
    assert audit.verify().ok


def test_two_sessions_saving_the_same_file_at_once_store_it_once(store_url: str) -> None:
    """Two writers (each with its own engine, as two server processes) race on one file: one wins."""
    outcomes: list[str] = []
    barrier = threading.Barrier(4, timeout=30)
    with Store(store_url) as st:  # the schema first (creating it is not what races here)
        AuditLog(st, KEY)

    def one() -> None:
        with Store(store_url) as st:
            audit = AuditLog(st, KEY)
            barrier.wait()
            try:
                _save(st, audit)
                outcomes.append("saved")
            except FeedbackError:
                outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(outcomes) == ["refused", "refused", "refused", "saved"]
    with Store(store_url) as st:
        assert len(load_feedback(st, dataset="user")) == 2
        assert AuditLog(st, KEY).verify().ok
