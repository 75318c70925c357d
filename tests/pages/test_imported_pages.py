"""AppTest on the imported dataset: the Data page saves lists as monthly versions; the pages compute from the imports.

A bureau's files (:mod:`tests.imported_data`) are saved with ``python -m data import --save``
into the app's database first; the pages then run on "已导入数据".
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data.__main__ import main
from data.accounts.audit import AuditLog
from data.monthly import list_versions, load_version
from data.storage import Store
from tests.imported_data import IMPORT_ORDER, UserFiles, import_args, write_user_files
from tests.pages.test_app import _isolated_store, _metric, _num, signed_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.xihu
DEMO_PREFIX = "SYN-"


@pytest.fixture(scope="module")
def files(_isolated_store: None, tmp_path_factory: pytest.TempPathFactory) -> UserFiles:  # noqa: F811
    from core.settings import Settings
    from data.demo import load_default_bundle

    tmp = tmp_path_factory.mktemp("user_files")
    user_files = write_user_files(load_default_bundle(Settings().shared_data), tmp, max_households=120, n_dup=4)
    for kind in IMPORT_ORDER:
        assert main(import_args(user_files, kind, tmp / "out")) == 0, kind
    return user_files


def _store() -> Store:
    return Store(os.environ["DATABASE_URL"])


def _imported(username: str, page: str) -> AppTest:
    at = signed_in(username)
    at.switch_page(page)
    at.session_state["dataset"] = "user"  # the sidebar's dataset radio (已导入数据)
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    parts = [str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.title, *at.subheader)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_string() for d in at.dataframe if isinstance(d.value, pd.DataFrame)]
    return "\n".join(parts)


def test_matching_page_runs_on_the_imported_rows(files: UserFiles) -> None:
    at = _imported("planner1", "pages/matching.py")
    assert _num(_metric(at, "需求数")) == len(files.needs)
    text = _text(at)
    assert DEMO_PREFIX not in text
    assert "需求清单：2026-03 第 1 版（已导入）" in text
    assert "助餐送餐（本区）" in text  # the imported catalogue's wording of S06
    for code in ("None", "nan", "survival", "no_offer"):
        assert code not in text, code


def test_town_manager_sees_own_imported_needs_only(files: UserFiles) -> None:
    at = _imported("town8", "pages/matching.py")
    # town 330106008 has no imported household: nothing of the other towns leaks
    assert _num(_metric(at, "需求数")) == 0


def test_duplicates_page_lists_the_planted_flags(files: UserFiles) -> None:
    at = _imported("planner1", "pages/duplicates.py")
    assert _num(_metric(at, "待复核疑点")) == len(files.planted)
    assert "合成" not in "\n".join(str(c.value) for c in at.caption)  # imported records are not called synthetic


def test_providers_page_runs_on_the_imported_rows(files: UserFiles) -> None:
    at = _imported("planner1", "pages/providers.py")
    text = _text(at)
    assert DEMO_PREFIX not in text and "（合成）" not in text  # the imported providers' names
    assert "助餐送餐（本区）" in text  # the imported catalogue's wording


def test_data_page_saves_a_needs_list_as_a_new_monthly_version(files: UserFiles) -> None:
    raw = pd.read_csv(files.paths["needs"], dtype=str, encoding="utf-8-sig").head(6)
    raw.loc[5, "户编号"] = "NOT-A-HOUSEHOLD"
    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    at.radio(key="import_kind").set_value("needs").run()
    assert not at.exception, at.exception
    at.get("file_uploader")[0].upload("需求.csv", raw.to_csv(index=False).encode("gb18030"), "text/csv")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:3] == ["6", "5", "1"]
    at.text_input(key="import_month").input("2026-05").run()
    log = AuditLog(_store(), os.environ["XIHU_AUDIT_KEY"].encode())
    before = len(log.entries(limit=None))
    at.button(key="import_save").click().run()
    assert not at.exception, at.exception
    assert any("2026-05 第 1 版" in s.value for s in at.success)
    v = list_versions(_store(), dataset="user", kind="needs")
    assert list(zip(v["month"], v["version"], strict=True)) == [("2026-03", 1), ("2026-05", 1)]
    assert sorted(load_version(_store(), "needs", "2026-05", dataset="user").rows["need_id"]) == sorted(
        raw["需求编号"].head(5)
    )
    entries = log.entries(limit=None)
    assert len(entries) == before + 1 and entries[0].action == "monthly_list_saved"
    assert entries[0].who == "planner1" and entries[0].filter["month"] == "2026-05"


def test_data_page_service_records_masks_and_hashes_id_numbers(files: UserFiles) -> None:
    raw = pd.read_csv(files.paths["records"], dtype=str, encoding="utf-8-sig").fillna("")
    card = files.households["id_card"].iloc[30]
    bad = card[:-1] + ("0" if card[-1] != "0" else "1")  # a wrong check digit
    raw.loc[len(raw)] = ["BAD-1", bad, "", "医疗救助", "民政", "2026-03-02", "10"]
    raw = raw.rename(columns={"部门": "办理单位名称"})  # a header only the column mapping knows
    at = signed_in("planner1")
    at.switch_page("pages/data_import.py").run()
    at.radio(key="import_kind").set_value("records").run()
    at.get("file_uploader")[0].upload("记录.csv", raw.to_csv(index=False).encode("utf-8-sig"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="import_map_records_办理单位名称").set_value("department").run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:3] == [str(len(raw)), str(len(raw) - 2), "2"]
    shown = "\n".join(d.value.to_string() for d in at.dataframe if isinstance(d.value, pd.DataFrame))
    assert bad not in shown and bad[:14] not in shown  # masked on screen
    assert not any(c in shown for c in files.households["id_card"])
    at.text_input(key="import_month").input("2026-06").run()
    at.button(key="import_save").click().run()
    assert not at.exception, at.exception
    rows = load_version(_store(), "records", "2026-06", dataset="user").rows
    assert len(rows) == len(raw) - 2
    assert not any(c in rows.to_string() for c in files.households["id_card"])


def test_dataset_version_follows_a_list_import(files: UserFiles, tmp_path: Path) -> None:
    from pages._common import dataset_version  # the page's cache-key part, outside a session

    before = dataset_version("user")
    assert main(import_args(files, "offers", tmp_path, month="2026-07")) == 0
    assert dataset_version("user") != before


def test_monthly_page_lists_the_imported_versions(files: UserFiles) -> None:
    at = _imported("planner1", "pages/monthly.py")
    versions = next(d.value for d in at.dataframe if isinstance(d.value, pd.DataFrame))
    shown = versions.to_string()
    for kind in ("需求清单", "供给清单", "服务记录", "服务清单"):
        assert kind in shown, kind
    assert "catalogue" not in shown and "needs" not in shown
    assert not any(c in _text(at) for c in files.households["id_card"])
