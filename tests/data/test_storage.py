"""Storage: round trips, one transaction per import, scenarios; on SQLite and on PostgreSQL.

The PostgreSQL cases need ``XIHU_TEST_PG_URL`` (``scripts/test.sh`` starts a throw-away
server with ``scripts/pg_test_server.sh`` and sets it); each test gets its own schema.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.testing import assert_frame_equal

import data.storage as storage
from core.errors import DataError, ScenarioNotFoundError, StorageError
from data.schemas import BENEFICIARY_COLUMNS, HUB_COLUMNS, KINDS, PROVIDER_COLUMNS
from data.storage import CANONICAL_DTYPES, ImportMeta, Store


# -- frames built in code ---------------------------------------------------------------------
def hubs_frame() -> pd.DataFrame:
    """Three hubs, ids deliberately not in order, with Chinese text and missing values."""
    return pd.DataFrame(
        {
            "hub_id": ["T02", "D01", "V0101"],
            "name": ["翠苑街道服务站", "西湖区助联体", "古荡社区服务点"],
            "tier": ["town", "district", "village"],
            "parent_id": ["D01", None, "T02"],
            "town_code": ["330106001", "330106", np.nan],
            "lon": [120.1234567890123, 120.13, np.nan],
            "lat": [30.2812345678901, 30.26, np.nan],
            "services": ["S01;C01", "S01;S02;S04", ""],
            "opening_hours": ["周一至周五 8:30-17:00", None, "工作日"],
            "synthetic": [False, False, True],
            "location_source": ["amap_gcj02", "osm", None],
        },
        columns=list(HUB_COLUMNS),
    )


def providers_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": ["P2", "P1"],
            "name": ["西湖区慈善总会", "翠苑社工站"],
            "kind": ["social_org", "social_org"],
            "department": ["慈善总会", None],
            "services": ["S04", "C01;C02"],
            "capacity_month": pd.array([120, None], dtype="Int64"),
            "lon": [120.11, 120.12],
            "lat": [30.27, 30.28],
            "synthetic": [True, False],
        },
        columns=list(PROVIDER_COLUMNS),
    )


def beneficiaries_frame(n: int = 4, *, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic beneficiaries; ids ``B00000``... shuffled; every 7th row has gaps."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n)
    gap = idx % 7 == 3
    household = pd.array(rng.integers(1, 6, n), dtype="Int64")
    household[gap] = pd.NA
    return pd.DataFrame(
        {
            "beneficiary_id": [f"B{i:05d}" for i in idx],
            "category": rng.choice(["dibao", "dibian", "tekun", "linshi", "zhuanxiang"], n),
            "household_size": household,
            "lon": np.where(gap, np.nan, 120.05 + rng.random(n) * 0.15),
            "lat": np.where(gap, np.nan, 30.20 + rng.random(n) * 0.12),
            "community_code": [f"3301060010{i % 40:02d}" for i in idx],
            "community_name": [None if g else f"古荡{i % 40}社区" for i, g in zip(idx, gap, strict=True)],
            "town_code": "330106001",
            "needs": rng.choice(["S01", "S02;C03", "D01", ""], n),
            "need_type": rng.choice(["survival", "care", "development"], n),
            "urgency": pd.array(rng.integers(1, 6, n), dtype="Int64"),
            "id_hash": [f"{i:064x}" for i in idx],
            "id_last4": [f"{i % 10_000:04d}" if i % 5 else "123X" for i in idx],
            "name_masked": [f"张*{i % 10}" for i in idx],
            "coord_approx": idx % 3 == 0,
            "synthetic": True,
        },
        columns=list(BENEFICIARY_COLUMNS),
    )


FRAMES = {"hubs": hubs_frame, "providers": providers_frame, "beneficiaries": beneficiaries_frame}


def expected(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What ``load_table`` must return: canonical dtypes spelled out here, sorted by id."""
    dtypes = {c: "str" for c in frame.columns}
    dtypes.update({c: "float64" for c in ("lon", "lat")})
    dtypes.update({c: "Int64" for c in ("household_size", "urgency", "capacity_month") if c in frame})
    dtypes.update({c: "bool" for c in ("synthetic", "coord_approx") if c in frame})
    out = frame.astype(dtypes)
    return out.sort_values(out.columns[0], ignore_index=True)


# -- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_gives_equal_frame(store: Store, kind: str) -> None:
    frame = FRAMES[kind]()
    assert store.save_table(kind, frame, dataset="user") == len(frame)
    loaded = store.load_table(kind, dataset="user")
    assert_frame_equal(loaded, expected(kind, frame))
    assert dict(loaded.dtypes.astype(str)) == CANONICAL_DTYPES[kind]


def test_round_trip_keeps_chinese_missing_values_booleans_and_floats_exactly(store: Store) -> None:
    store.save_table("hubs", hubs_frame(), dataset="user")
    hubs = store.load_table("hubs", dataset="user").set_index("hub_id")
    assert list(hubs.index) == ["D01", "T02", "V0101"]
    assert hubs.loc["T02", "name"] == "翠苑街道服务站"
    assert hubs.loc["T02", "lon"] == 120.1234567890123  # double precision, not rounded
    assert hubs["parent_id"].isna().tolist() == [True, False, False]
    assert hubs["lon"].isna().tolist() == [False, False, True]
    assert hubs.loc["V0101", "services"] == ""  # empty text is not missing
    assert hubs["synthetic"].tolist() == [False, False, True]


def test_empty_dataset_loads_as_empty_canonical_frame(store: Store) -> None:
    loaded = store.load_table("beneficiaries", dataset="nothing")
    assert loaded.empty
    assert tuple(loaded.columns) == BENEFICIARY_COLUMNS
    assert dict(loaded.dtypes.astype(str)) == CANONICAL_DTYPES["beneficiaries"]


def test_datasets_coexist_and_replace_touches_only_its_own(store: Store) -> None:
    demo, user = beneficiaries_frame(10, seed=1), beneficiaries_frame(6, seed=2)
    store.save_table("beneficiaries", demo, dataset="demo")
    store.save_table("beneficiaries", user, dataset="user")
    store.save_table("hubs", hubs_frame(), dataset="demo")
    assert store.datasets("beneficiaries") == ["demo", "user"]
    assert store.datasets("hubs") == ["demo"]
    assert store.datasets("providers") == []

    smaller = user.iloc[:2]
    assert store.save_table("beneficiaries", smaller, dataset="user") == 2
    assert_frame_equal(store.load_table("beneficiaries", dataset="user"), expected("beneficiaries", smaller))
    assert_frame_equal(store.load_table("beneficiaries", dataset="demo"), expected("beneficiaries", demo))


def test_append_without_replace(store: Store) -> None:
    frame = beneficiaries_frame(8)
    store.save_table("beneficiaries", frame.iloc[:5], dataset="user")
    store.save_table("beneficiaries", frame.iloc[5:], dataset="user", replace=False)
    assert_frame_equal(store.load_table("beneficiaries", dataset="user"), expected("beneficiaries", frame))


def test_data_persists_across_store_instances(store_url: str) -> None:
    with Store(store_url) as first:
        first.save_table("providers", providers_frame(), dataset="user")
    with Store(store_url) as second:
        assert_frame_equal(second.load_table("providers", dataset="user"), expected("providers", providers_frame()))


# -- one import, one transaction ------------------------------------------------------------------
def _snapshot(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    return store.load_table("beneficiaries", dataset="user"), store.list_imports()


def test_failure_after_delete_and_first_insert_leaves_stored_data(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = ImportMeta("old.csv", "a" * 64, 10, 10, 0, "EPSG:4326", "张三")
    store.save_table("beneficiaries", beneficiaries_frame(10, seed=1), dataset="user", import_meta=meta)
    before, imports_before = _snapshot(store)

    calls: list[int] = []
    real_insert = storage._insert_chunk

    def failing_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:  # the old rows are deleted and the first chunk is inserted by now
            raise RuntimeError("disk full")
        real_insert(conn, table, rows)

    monkeypatch.setattr(storage, "INSERT_CHUNK_ROWS", 3)
    monkeypatch.setattr(storage, "_insert_chunk", failing_insert)
    new = beneficiaries_frame(9, seed=5)
    with pytest.raises(RuntimeError, match="disk full"):
        store.save_table("beneficiaries", new, dataset="user", import_meta=meta)
    assert calls == [3, 3]

    after, imports_after = _snapshot(store)
    assert_frame_equal(after, before)
    assert_frame_equal(imports_after, imports_before)
    assert len(imports_after) == 1


def test_database_error_midway_rolls_back(store: Store) -> None:
    old = beneficiaries_frame(6, seed=1)
    store.save_table("beneficiaries", old, dataset="user")
    before, imports_before = _snapshot(store)
    # new ids first, then one id that is already stored: the database refuses the last row
    fresh = beneficiaries_frame(30, seed=3).iloc[:]
    fresh["beneficiary_id"] = [f"N{i:03d}" for i in range(len(fresh))]
    clash = pd.concat([fresh, old.iloc[[0]]], ignore_index=True)
    meta = ImportMeta("new.csv", "b" * 64, 31, 31, 0)
    with pytest.raises(StorageError, match="nothing was changed"):
        store.save_table("beneficiaries", clash, dataset="user", replace=False, import_meta=meta)
    after, imports_after = _snapshot(store)
    assert_frame_equal(after, before)
    assert not after["beneficiary_id"].str.startswith("N").any()
    assert_frame_equal(imports_after, imports_before)


def test_duplicate_ids_in_frame_are_refused_before_writing(store: Store) -> None:
    store.save_table("hubs", hubs_frame(), dataset="user")
    dup = pd.concat([hubs_frame().iloc[[1]], hubs_frame()], ignore_index=True)
    with pytest.raises(StorageError, match="hub_id repeated in the table: D01"):
        store.save_table("hubs", dup, dataset="user")
    assert_frame_equal(store.load_table("hubs", dataset="user"), expected("hubs", hubs_frame()))


# -- validation --------------------------------------------------------------------------------------
def test_missing_columns_are_named(store: Store) -> None:
    frame = hubs_frame().drop(columns=["lon", "tier"])
    with pytest.raises(StorageError, match="missing columns tier, lon") as info:
        store.save_table("hubs", frame, dataset="user")
    assert isinstance(info.value, DataError)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("synthetic", None, "hubs.synthetic must be true/false"),
        ("synthetic", "False", "hubs.synthetic must be true/false"),
        ("lon", "东经120度", "hubs.lon cannot be stored as float64"),
        ("hub_id", None, "1 rows have no hub_id"),
        ("hub_id", " ", "1 rows have no hub_id"),
    ],
)
def test_bad_values_are_refused(store: Store, column: str, value: Any, message: str) -> None:
    frame = hubs_frame().astype({column: object})
    frame.loc[1, column] = value
    with pytest.raises(StorageError, match=message):
        store.save_table("hubs", frame, dataset="user")
    assert store.datasets("hubs") == []


def test_non_integer_counts_are_refused(store: Store) -> None:
    frame = providers_frame().astype({"capacity_month": "float64"})
    frame.loc[0, "capacity_month"] = 12.5
    with pytest.raises(StorageError, match="capacity_month cannot be stored as Int64"):
        store.save_table("providers", frame, dataset="user")


def test_unknown_kind_and_bad_dataset(store: Store) -> None:
    with pytest.raises(StorageError, match="unknown table kind 'areas'"):
        store.load_table("areas", dataset="user")
    with pytest.raises(StorageError, match="dataset must be a non-empty text"):
        store.save_table("hubs", hubs_frame(), dataset=" ")


def test_id_card_numbers_never_reach_the_database(store: Store) -> None:
    frame = beneficiaries_frame(3)
    frame["id_card"] = ["330106199001011234", "330106199001015678", "33010619900101901X"]
    frame["person_name"] = ["张三", "李四", "王五"]
    store.save_table("beneficiaries", frame, dataset="user")
    stored_columns = {c["name"] for c in sa.inspect(store.engine).get_columns("beneficiaries")}
    assert stored_columns == {"dataset", *BENEFICIARY_COLUMNS}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(storage.DATA_TABLES["beneficiaries"])).all()
    text = repr(rows)
    assert "330106199001011234" not in text and "张三" not in text
    assert_frame_equal(
        store.load_table("beneficiaries", dataset="user"), expected("beneficiaries", beneficiaries_frame(3))
    )


# -- imports and scenarios ---------------------------------------------------------------------------
def test_imports_are_recorded_newest_first(store: Store) -> None:
    t0 = datetime.now(UTC)
    store.save_table("hubs", hubs_frame(), dataset="demo")  # no record without import_meta
    store.save_table(
        "hubs", hubs_frame(), dataset="user", import_meta=ImportMeta("站点.xlsx", "c" * 64, 4, 3, 1, "GCJ-02", "李四")
    )
    store.save_table("providers", providers_frame(), dataset="user", import_meta=ImportMeta("p.csv", "d" * 64, 2, 2, 0))
    imports = store.list_imports()
    assert tuple(imports.columns) == storage.IMPORT_COLUMNS
    assert imports["kind"].tolist() == ["providers", "hubs"]
    hub_import = imports.iloc[1]
    assert (hub_import["file_name"], hub_import["n_read"], hub_import["n_accepted"], hub_import["n_rejected"]) == (
        "站点.xlsx",
        4,
        3,
        1,
    )
    assert (hub_import["dataset"], hub_import["crs_detected"], hub_import["user_name"]) == ("user", "GCJ-02", "李四")
    assert pd.isna(imports.iloc[0]["crs_detected"])
    assert str(imports["created_at"].dtype) == "datetime64[us, UTC]"
    assert (imports["created_at"] >= pd.Timestamp(t0) - timedelta(seconds=1)).all()
    assert store.list_imports(kind="hubs")["file_name"].tolist() == ["站点.xlsx"]


PAYLOAD: dict[str, Any] = {
    "edits": [
        {"op": "add", "hub_id": "NEW1", "lon": 120.101, "lat": 30.27, "tier": "town", "name": "新建服务站"},
        {"op": "remove", "hub_id": "V0101"},
        {"op": "move", "hub_id": "T02", "lon": 120.12, "lat": 30.281},
    ],
    "settings": {"minutes": 10.0, "speed_kmh": 4.5, "h3_res": 9},
    "note": "北山街道缺口",
    "flags": [True, False, None],
}


def test_scenarios_round_trip(store: Store) -> None:
    first = store.save_scenario("方案一", PAYLOAD, author="规划科")
    second = store.save_scenario("空方案", {"edits": []}, author="王五")
    assert first != second
    loaded = store.load_scenario(first)
    assert (loaded.scenario_id, loaded.name, loaded.author) == (first, "方案一", "规划科")
    assert loaded.payload == PAYLOAD
    assert loaded.created_at.tzinfo is not None
    assert abs(loaded.created_at - datetime.now(UTC)) < timedelta(minutes=1)

    listed = store.list_scenarios()
    assert listed["scenario_id"].tolist() == [second, first]
    assert listed["name"].tolist() == ["空方案", "方案一"]
    assert "payload" not in listed.columns

    store.delete_scenario(second)
    assert store.list_scenarios()["scenario_id"].tolist() == [first]
    with pytest.raises(ScenarioNotFoundError, match=f"no scenario with id {second}"):
        store.load_scenario(second)
    with pytest.raises(ScenarioNotFoundError):
        store.delete_scenario(second)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"edits": [{"op": "rotate", "hub_id": "T02"}]}, "needs 'op'"),
        ({"edits": [{"op": "add"}]}, "needs 'op'"),
        ({"edits": {"op": "add"}}, "'edits' must be a list"),
        ({"edits": [], "settings": {"minutes": math.nan}}, "not plain JSON"),
        ({"edits": [], "when": datetime(2026, 1, 1)}, "not plain JSON"),
    ],
)
def test_bad_scenario_payloads_are_refused(store: Store, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(StorageError, match=message):
        store.save_scenario("坏方案", payload, author="me")
    assert store.list_scenarios().empty


# -- speed ---------------------------------------------------------------------------------------------
def test_five_thousand_beneficiaries_save_and_load_quickly(store: Store) -> None:
    frame = beneficiaries_frame(5000, seed=7)
    store.save_table("beneficiaries", beneficiaries_frame(5000, seed=8), dataset="user")  # replaced below
    t0 = time.perf_counter()
    store.save_table("beneficiaries", frame, dataset="user")
    t_save = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = store.load_table("beneficiaries", dataset="user")
    t_load = time.perf_counter() - t0
    assert_frame_equal(loaded, expected("beneficiaries", frame))
    assert t_save < 1.0, f"saving 5,000 rows took {t_save:.2f} s"
    assert t_load < 1.0, f"loading 5,000 rows took {t_load:.2f} s"


# -- URLs and the default SQLite file ---------------------------------------------------------------------
def test_default_is_a_sqlite_file_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Store() as st:
        path = tmp_path / ".local" / "share" / "xihu-service-map" / "xihu.sqlite"
        assert st.url == f"sqlite:///{path}"
        st.save_table("hubs", hubs_frame(), dataset="demo")
        with st.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert path.is_file()


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert storage.database_url() == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert storage.database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert storage.database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert storage.database_url("postgresql://u@h:5433/db") == "postgresql+psycopg://u@h:5433/db"


def test_repr_hides_the_password() -> None:
    st = Store.__new__(Store)
    st.engine = sa.create_engine("postgresql+psycopg://u:secret@h/db")
    assert "secret" not in repr(st)
    st.engine.dispose()
