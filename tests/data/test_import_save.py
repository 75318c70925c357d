"""``python -m data import ... --save``: every kind lands in the database with its audit entry, or nothing does.

Runs against SQLite and the throw-away PostgreSQL (``store_url``). The files are a bureau's
own (:mod:`tests.imported_data`, derived from the demo generator on the real Xihu data, ids
renamed, Chinese headers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.errors import AuditError
from data.__main__ import main
from data.accounts.audit import AuditLog
from data.idcard import id_hash
from data.monthly import list_versions, load_version
from data.storage import Store
from tests.imported_data import IMPORT_ORDER, UserFiles, import_args, write_user_files

ROOT = Path(__file__).resolve().parents[2]
ID_KEY = "save-test-id-hash-key-0123456789"
AUDIT_KEY = "save-test-audit-key-0123456789ab"
LIST_KINDS = ("catalogue", "offers", "needs", "records")


@pytest.fixture(scope="module")
def files(xihu_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> UserFiles:
    from data.demo import load_default_bundle

    bundle = load_default_bundle(xihu_dir.parent, cache_dir=tmp_path_factory.mktemp("bundle"))
    return write_user_files(bundle, tmp_path_factory.mktemp("files"), max_households=40, n_dup=3)


@pytest.fixture
def env(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The command line's environment: the test database, its own keys and data folder."""
    monkeypatch.setenv("DATABASE_URL", store_url)
    monkeypatch.setenv("XIHU_ID_HASH_KEY", ID_KEY)
    monkeypatch.setenv("XIHU_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return store_url


def _audit(store: Store) -> AuditLog:
    return AuditLog(store, AUDIT_KEY.encode())


def test_save_writes_every_kind_with_its_audit_entry(files: UserFiles, env: str, tmp_path: Path) -> None:
    for kind in IMPORT_ORDER:
        assert main(import_args(files, kind, tmp_path)) == 0, kind
    with Store(env) as store:
        ben = store.load_table("beneficiaries", dataset="user")
        assert sorted(ben["beneficiary_id"]) == sorted(files.households["beneficiary_id"])
        assert set(ben["town_code"]) <= {"330106010", "330106011"}  # the mapped column (镇街=town_code)
        assert len(store.load_table("providers", dataset="user")) == len(files.providers)
        assert store.load_table("hubs", dataset="user")["hub_id"].is_unique
        assert sorted(store.list_imports()["kind"]) == ["beneficiaries", "hubs", "providers"]
        assert (store.list_imports()["user_name"] == "测试员").all()
        versions = list_versions(store, dataset="user")
        assert sorted(versions["kind"]) == sorted(LIST_KINDS)
        assert set(versions["month"]) == {"2026-03"} and set(versions["version"]) == {1}
        needs = load_version(store, "needs", "2026-03", dataset="user").rows
        assert sorted(needs["need_id"]) == sorted(files.needs["need_id"])
        offers = load_version(store, "offers", "2026-03", dataset="user").rows
        assert offers["capacity_per_month"].sum() == files.offers["capacity_per_month"].sum()
        cat = load_version(store, "catalogue", "2026-03", dataset="user").rows
        assert cat.set_index("item_id").loc["S06", "name"] == "助餐送餐（本区）"
        records = load_version(store, "records", "2026-03", dataset="user").rows
        assert len(records) == files.n_records - 1  # the Excel-mangled ID number is rejected
        stored_text = json.dumps(records.to_dict("records"), ensure_ascii=False)
        cards = files.households["id_card"].tolist()
        assert not any(c in stored_text or c[:17] in stored_text for c in cards)  # never in clear
        keys = {id_hash(c, ID_KEY.encode()) for c in files.planted}
        assert keys <= set(records["person_key"])
        entries = _audit(store).entries(limit=None)
        assert _audit(store).verify().ok
    actions = sorted(e.action for e in entries)
    assert actions == sorted(["import_hubs", "import_providers", "import_beneficiaries", *["monthly_list_saved"] * 4])
    by_kind = {e.filter.get("kind", e.action): e for e in entries}
    assert by_kind["records"].row_count == files.n_records - 1
    assert by_kind["needs"].filter["month"] == "2026-03" and by_kind["needs"].who == "测试员"
    assert all(e.file_hash and len(e.file_hash) == 64 for e in entries)


def test_a_second_import_of_a_month_is_a_new_version(files: UserFiles, env: str, tmp_path: Path) -> None:
    assert main(import_args(files, "needs", tmp_path)) == 0
    assert main(import_args(files, "needs", tmp_path)) == 0
    assert main(import_args(files, "needs", tmp_path, month="2026-04")) == 0
    with Store(env) as store:
        v = list_versions(store, dataset="user", kind="needs")
        assert list(zip(v["month"], v["version"], strict=True)) == [("2026-03", 1), ("2026-03", 2), ("2026-04", 1)]
        assert len(load_version(store, "needs", "2026-03", dataset="user", version=1).rows) == len(files.needs)


@pytest.mark.parametrize("kind", ["beneficiaries", "needs", "records"])
def test_a_failing_audit_entry_leaves_nothing_half(
    files: UserFiles, env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:  # fmt: skip
    def broken(*_a: object, **_k: object) -> int:
        raise AuditError("审计日志不可写 (audit log not writable)")

    monkeypatch.setattr(AuditLog, "append_in", broken)
    assert main(import_args(files, kind, tmp_path)) == 2
    assert "审计日志不可写" in capsys.readouterr().err
    with Store(env) as store:
        assert len(store.load_table("beneficiaries", dataset="user")) == 0
        assert len(store.list_imports()) == 0
        assert len(list_versions(store, dataset="user")) == 0
        assert _audit(store).entries(limit=None) == []
    assert (tmp_path / kind / "accepted.csv").is_file()  # the validated files are still written


def test_month_is_checked_and_only_with_save(
    files: UserFiles, env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = import_args(files, "offers", tmp_path, month="2026-13")
    assert main(args) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    no_save = [a for a in import_args(files, "offers", tmp_path) if a != "--save"]
    assert main(no_save) == 2
    assert "--save" in capsys.readouterr().err
    with Store(env) as store:
        assert len(list_versions(store, dataset="user")) == 0


def test_dataset_version_changes_with_every_save(files: UserFiles, env: str, tmp_path: Path) -> None:
    with Store(env) as store:
        seen = [store.dataset_version("user")]
        demo = store.dataset_version("demo")
        for kind in ("providers", "offers", "offers", "needs"):
            assert main(import_args(files, kind, tmp_path)) == 0
            seen.append(store.dataset_version("user"))
        assert len(set(seen)) == len(seen)
        assert store.dataset_version("demo") == demo  # another dataset: untouched


def test_the_entry_point_saves(files: UserFiles, tmp_path: Path, store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the process entry point")
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": store_url, "XIHU_ID_HASH_KEY": ID_KEY,
        "XIHU_AUDIT_KEY": AUDIT_KEY, "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "data", *import_args(files, "records", tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "已保存到数据库：records 2026-03 第 1 版" in proc.stdout
    with Store(store_url) as store:
        rows = load_version(store, "records", "2026-03", dataset="user").rows
    assert len(rows) == files.n_records - 1
    assert pd.read_csv(tmp_path / "records" / "rejected.csv", dtype=str)["reason_code"].tolist() == ["id_excel_mangled"]
