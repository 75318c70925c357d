"""A bureau's imported dataset end to end: every table from the database, every figure from the imported rows.

The files (:mod:`tests.imported_data`) are saved with ``python -m data import --save`` into a
SQLite database; then the same service functions the pages call compute the matching, the
provider search, the capacity view and the duplicate flags, which are checked against a
recount from the files, and no demo id may appear anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.settings import Settings
from data.__main__ import main
from data.duplicates import flag_duplicates
from data.idcard import id_hash
from data.storage import Store
from geo.matching import MatchingResult
from service.capacity import capacity_view
from service.dashboard import RunKey
from service.datasets import dataset_notes, dataset_tables, user_tables
from service.duplicates import flag_list
from service.matching import area_matching, district_problem, provider_search
from service.records import imported_records
from tests.imported_data import IMPORT_ORDER, TOWNS, UserFiles, import_args, write_user_files

ID_KEY = "imported-test-id-hash-key-0123456789"
AUDIT_KEY = "imported-test-audit-key-0123456789"
DEMO_PREFIX = "SYN-"


@dataclass
class World:
    bundle: Any
    snapper: Any
    url: str
    files: UserFiles
    tables: dict[str, pd.DataFrame]
    result: MatchingResult
    out: Path


@pytest.fixture(scope="module")
def world(demo: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("imported")
    url = f"sqlite:///{tmp / 'app.sqlite'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("XIHU_ID_HASH_KEY", ID_KEY)
        mp.setenv("XIHU_AUDIT_KEY", AUDIT_KEY)
        mp.setenv("XDG_DATA_HOME", str(tmp / "xdg"))
        files = write_user_files(demo.bundle, tmp / "files")
        for kind in IMPORT_ORDER:
            assert main(import_args(files, kind, tmp / "out")) == 0, kind
        with Store(url) as store:
            tables = dataset_tables(demo.bundle, store, "user")
        result = district_problem(demo.snapper, demo.bundle, tables, Settings()).solve()
        yield World(demo.bundle, demo.snapper, url, files, tables, result, tmp / "out")


def _ids(frame: pd.DataFrame) -> set[str]:
    cols = [c for c in ("need_id", "household_id", "provider_id", "beneficiary_id", "record_id") if c in frame]
    return {str(v) for c in cols for v in frame[c].dropna()}


def test_every_table_comes_from_the_imports(world: World) -> None:
    sources = world.tables["sources"].set_index("kind")
    assert (sources["source"] == "imported").all()
    assert sources.loc[["catalogue", "offers", "needs", "records"], "month"].tolist() == ["2026-03"] * 4
    assert world.tables["catalogue"].set_index("item_id").loc["S06", "name"] == "助餐送餐（本区）"
    for kind in ("beneficiaries", "providers", "needs", "offers", "records"):
        ids = _ids(world.tables[kind])
        assert ids and not any(i.startswith(DEMO_PREFIX) for i in ids), kind
    assert len(world.tables["needs"]) == len(world.files.needs)
    assert dataset_notes(world.tables, "zh") == [
        f"{name}：2026-03 第 1 版（已导入）。" for name in ("服务清单", "服务供给清单", "需求清单", "服务记录")
    ]


def test_matching_is_computed_from_the_imported_rows(world: World) -> None:
    res, files = world.result, world.files
    assert sorted(res.needs["need_id"]) == sorted(files.needs["need_id"])
    assert not any(i.startswith(DEMO_PREFIX) for i in _ids(res.needs) | _ids(res.offers))
    # the offers' capacities are the file's, and no offer serves more than its capacity
    cap = files.offers.groupby(["provider_id", "item_id"])["capacity_per_month"].sum()
    got = res.offers.set_index(["provider_id", "item_id"])["capacity_per_month"]
    pd.testing.assert_series_equal(
        got.sort_index().astype("int64"), cap.sort_index().astype("int64"), check_names=False
    )
    load = res.needs[res.needs["matched"]].groupby(["provider_id", "item_id"]).size()
    assert (load <= cap.reindex(load.index)).all()
    assert res.needs["matched"].sum() > 0 and (~res.needs["matched"]).sum() > 0
    # each need keeps the file's item and urgency
    merged = res.needs.merge(files.needs, on="need_id", suffixes=("", "_file"))
    assert (merged["item_id"] == merged["item_id_file"]).all()
    assert (merged["urgency"].astype(int) == merged["urgency_file"]).all()


def test_capacity_view_is_a_recount_of_the_imported_rows(world: World) -> None:
    recs = imported_records(world.tables["records"], world.tables["beneficiaries"])
    assert recs is not None and not recs.synthetic
    view = capacity_view(world.result, world.tables["providers"], world.bundle.towns, recs.records)
    prov = view.providers.set_index("provider_id")
    assert set(prov.index) <= set(world.files.providers["provider_id"])
    capacity = world.files.offers.groupby("provider_id")["capacity_per_month"].sum()
    assert prov["capacity_per_month"].astype(int).to_dict() == capacity.astype(int).to_dict()
    matched = world.result.needs[world.result.needs["matched"]].groupby("provider_id").size()
    assert prov["assigned"].astype(int).to_dict() == matched.reindex(prov.index, fill_value=0).astype(int).to_dict()


def test_duplicate_flags_are_the_planted_ones(world: World) -> None:
    recs = imported_records(world.tables["records"], world.tables["beneficiaries"])
    assert recs is not None
    flags = flag_duplicates(recs.records)
    key = ID_KEY.encode()
    expected = {id_hash(card, key): depts for card, depts in world.files.planted.items()}
    got = {pk: set(d.split(";")) for pk, d in zip(flags["person_key"], flags["departments"], strict=True)}
    assert got == expected
    assert set(flags["period"]) == {"2026-03"}
    # every record's person is linked to an imported household's area (household id rows included)
    assert recs.records["town_code"].notna().all()


def test_role_scoping_holds_on_the_imported_dataset(world: World) -> None:
    town = TOWNS[0]
    key = RunKey("user", 1, Settings(), ("town_manager", town, ""))
    am = area_matching(world.result, key, world.tables["beneficiaries"], world.tables["providers"])
    own = set(world.files.households.loc[world.files.households["town_code"] == town, "beneficiary_id"])
    expected = set(world.files.needs.loc[world.files.needs["household_id"].isin(own), "need_id"])
    assert set(am.needs["need_id"]) == expected and not am.district
    with pytest.raises(PermissionError):
        area_matching(world.result, RunKey("user", 1, Settings(), ("viewer", "", "")), world.tables["beneficiaries"],
                      world.tables["providers"])  # fmt: skip
    recs = imported_records(world.tables["records"], world.tables["beneficiaries"])
    assert recs is not None
    flags = flag_duplicates(recs.records)
    listed = flag_list(flags, recs.households, key.area_filter)
    towns_of = dict(zip(recs.households["id_hash"], recs.households["town_code"], strict=True))
    keys_in_town = {k for k in flags["person_key"] if towns_of.get(k) == town}
    assert set(listed["flag_id"]) == set(flags.loc[flags["person_key"].isin(keys_in_town), "flag_id"])
    assert 0 < len(listed) < len(flags)


def test_provider_search_lists_imported_providers_only(world: World) -> None:
    key = RunKey("user", 1, Settings(), ("planner", "", ""))
    am = area_matching(world.result, key, world.tables["beneficiaries"], world.tables["providers"])
    offering = world.files.offers.loc[world.files.offers["item_id"] == "S06", "provider_id"]
    prov = world.tables["providers"].set_index("provider_id").loc[offering.iloc[0]]
    res = provider_search(
        world.snapper, world.result, world.tables["providers"], world.tables["catalogue"], Settings(), am,
        lon=float(prov["lon"]), lat=float(prov["lat"]), minutes=10, item_id=None, keyword="助餐送餐（本区）",
        with_capacity=False,
    )  # fmt: skip
    assert len(res) > 0 and set(res["item_id"]) == {"S06"}  # the imported catalogue's name finds the item
    assert set(res["provider_id"]) <= set(world.files.providers["provider_id"])


def test_a_new_needs_version_becomes_current(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", world.url)
    monkeypatch.setenv("XIHU_ID_HASH_KEY", ID_KEY)
    monkeypatch.setenv("XIHU_AUDIT_KEY", AUDIT_KEY)
    half = pd.read_csv(world.files.paths["needs"], dtype=str, encoding="utf-8-sig").iloc[::2]
    path = tmp_path / "needs_april.csv"
    half.to_csv(path, index=False, encoding="utf-8-sig")
    files = UserFiles({**world.files.paths, "needs": path}, *(getattr(world.files, f) for f in (
        "households", "providers", "offers", "needs", "planted", "n_records")))  # fmt: skip
    with Store(world.url) as store:
        before = store.dataset_version("user")
        assert main(import_args(files, "needs", tmp_path, month="2026-04")) == 0
        assert store.dataset_version("user") != before
        tables = dataset_tables(world.bundle, store, "user")
    assert sorted(tables["needs"]["need_id"]) == sorted(half["需求编号"])
    assert tables["sources"].set_index("kind").loc["needs", "month"] == "2026-04"


def test_households_without_a_needs_list(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only households imported: their 需求 column is the needs list; nothing else is made up."""
    monkeypatch.setenv("DATABASE_URL", world.url)
    monkeypatch.setenv("XIHU_ID_HASH_KEY", ID_KEY)
    monkeypatch.setenv("XIHU_AUDIT_KEY", AUDIT_KEY)
    args = [*import_args(world.files, "beneficiaries", tmp_path), "--dataset", "only_households"]
    assert main(args) == 0
    with Store(world.url) as store:
        tables = user_tables(world.bundle, store, "only_households")
    sources = tables["sources"].set_index("kind")["source"].to_dict()
    assert sources["needs"] == "households" and sources["offers"] == "none" and sources["catalogue"] == "default"
    stated = world.files.households["needs"].dropna().map(lambda v: len(v.split(";"))).sum()
    assert len(tables["needs"]) == stated and len(tables["offers"]) == 0 and len(tables["records"]) == 0
    assert set(tables["needs"]["household_id"]) <= set(world.files.households["beneficiary_id"])
    notes = dataset_notes(tables, "zh")
    assert any("需求取自已导入救助对象表" in n for n in notes)
    assert any(n.startswith("尚未导入服务供给清单") for n in notes)
    assert any("内置示例服务清单" in n for n in notes)
    assert any("演示数据（合成）" in n for n in notes)  # hubs and providers: the demo's stand in, said so


def test_records_named_by_household_link_to_households_imported_without_id_numbers() -> None:
    from data.service_records import default_catalogue, import_service_records

    key = b"records-link-key-0123456789"
    ben = pd.DataFrame(
        {"beneficiary_id": ["H1", "H2"], "id_hash": [None, "f" * 64], "town_code": ["330106001", "330106002"],
         "community_code": ["330106001001", "330106002001"], "name_masked": ["王*", "李*"]}
    )  # fmt: skip
    raw = pd.DataFrame(
        {"记录编号": ["R1", "R2"], "户编号": ["H1", "H2"], "服务项目": ["医疗救助", "医疗救助"],
         "部门": ["民政", "医保"], "日期": ["2026-03-01", "2026-03-02"]}
    )  # fmt: skip
    accepted = import_service_records(raw, default_catalogue(), key=key, households=ben).accepted
    assert accepted["person_key"].iloc[1] == "f" * 64
    recs = imported_records(accepted, ben, key=key)
    assert recs is not None
    assert recs.records["town_code"].tolist() == ["330106001", "330106002"]
    assert imported_records(accepted, ben) is not None
    assert imported_records(accepted, ben).records["town_code"].isna().tolist() == [True, False]  # type: ignore[union-attr]
    assert imported_records(accepted.iloc[:0], ben, key=key) is None


def test_report_matching_section_counts_the_imported_needs(world: World, xihu_net: Any) -> None:
    from data.bundle import with_tables
    from reports.build import _matching_section
    from reports.matching import DISTRICT_KEY

    towns = world.bundle.towns["town_code"].astype(str).tolist()
    tables = _matching_section(with_tables(world.bundle, world.tables), xihu_net, Settings(), towns)
    assert tables is not None
    total = tables.by_type[DISTRICT_KEY].set_index("need_type_zh").loc["合计"]
    matched = int(world.result.needs["matched"].sum())
    assert (total["n"], total["matched"]) == (str(len(world.files.needs)), str(matched))
    # a town with no imported household has no imported need: its table says 0 (or is withheld), never the demo's
    empty = tables.by_type["330106008"].set_index("need_type_zh").loc["合计", "n"]
    assert empty in ("0", "—", "<10")


def test_the_imported_catalogues_wording_is_what_people_read(world: World) -> None:
    from core.i18n import item_names
    from service.matching import search_view, share_view

    key = RunKey("user", 1, Settings(), ("planner", "", ""))
    am = area_matching(world.result, key, world.tables["beneficiaries"], world.tables["providers"])
    assert "S06" in set(am.by_item.index)
    zh = item_names(world.tables["catalogue"], "zh")
    shown = share_view(am.by_item, "service", lang="zh", items=zh)
    assert "助餐送餐（本区）" in shown.index and "助餐送餐" not in shown.index
    assert not any(str(i).startswith(("S", "C", "D")) and str(i)[1:].isdigit() for i in shown.index)
    en = item_names(world.tables["catalogue"], "en")
    assert en["S06"] == "Meal assistance"  # a built-in item keeps its English name
    cat = pd.DataFrame({"item_id": ["X01"], "name": ["社区理发"]})
    res = pd.DataFrame({"provider_id": ["UP0001"], "name": ["某社工站"], "item_id": ["X01"], "walk_m": [120.0],
                        "walk_min": [1.6], "capacity_per_month": [10], "remaining": [4]})  # fmt: skip
    for lang in ("zh", "en"):
        assert search_view(res, lang=lang, items=item_names(cat, lang)).iloc[0, 1] == "社区理发"  # its own name


def test_the_imported_catalogues_wording_on_every_other_screen_and_report(world: World) -> None:
    """The renamed item reads as the imported catalogue names it on 月度清单, 满意度, the Data
    preview, map tooltips and the report's matching section, and a new code by its own name."""
    from core.i18n import item_names
    from layers.folium_map import provider_tooltips
    from reports.matching import matching_tables
    from service import feedback as fb
    from service import monthly as mo
    from service.display import preview_table

    zh = item_names(world.tables["catalogue"], "zh")
    new, renamed = "助餐送餐（本区）", "助餐送餐"
    needs = world.tables["needs"].head(5).assign(item_id="S06")
    assert set(mo.needs_table(needs, "zh", zh).iloc[:, 2]) == {new}
    cap = pd.DataFrame({"provider_id": ["UP0001"], "item_id": ["S06"], "capacity_a": [1], "capacity_b": [3],
                        "change": [2]})  # fmt: skip
    assert mo.capacity_table(cap, {}, "zh", zh).iloc[0, 1] == new
    means = pd.DataFrame({"item_id": ["S06"], "n_responses": [12], "mean_score": [4.2]})
    assert fb.labelled_means(means, "item", {}, "zh", zh).iloc[0, 0] == new
    offers = pd.DataFrame({"provider_id": ["UP0001"], "item_id": ["S06"], "capacity_per_month": [3]})
    assert preview_table(offers, "zh", zh).iloc[0, 1] == new
    prov = pd.DataFrame({"provider_id": ["UP0001"], "name": ["某社工站"], "kind": ["social_org"],
                         "services": ["S06;X01"], "capacity_month": [3]})  # fmt: skip
    tip = provider_tooltips(prov, lang="zh", items={**zh, "X01": "社区理发"})[0]
    assert new in tip and "社区理发" in tip and "X01" not in tip
    unmet = world.result.needs.assign(town_code="330106001")
    unmet = unmet.assign(matched=False, reason=unmet["reason"].fillna("no_offer"), item_id="S06")
    frame = matching_tables(unmet, ["330106001"], zh).unmet[""]
    assert new in set(frame["item_zh"]) and renamed not in set(frame["item_zh"])
