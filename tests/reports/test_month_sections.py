"""Reports name their month in every format and read that month's lists; the PDF carries the protected
服务能力 and 重复救助 sections; ``python -m reports build --dataset imported`` builds from the database."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from core.settings import Settings
from data.accounts.audit import AuditLog
from data.bundle import Bundle
from data.demo import build_fallback_bundle
from data.monthly import save_version
from data.network import load_network
from data.storage import Store
from geo.graph import WalkNetwork
from reports.build import write_reports
from reports.matching import DISTRICT_KEY, TOTAL_ZH
from service.report_sections import PROTECTED_COLUMNS
from service.reporting import DatasetReport, dataset_report
from tests.conftest import run_module

KEY = b"k" * 32
MONTH = "2026-03"
SMALL = {str(i) for i in range(1, 10)}
POPPLER = shutil.which("pdftotext")


@pytest.fixture(scope="module")
def fallback() -> tuple[Bundle, WalkNetwork]:
    bundle = build_fallback_bundle()
    return bundle, load_network(bundle.network_path, metric_crs=bundle.metric_crs)


@pytest.fixture(scope="module")
def built(fallback: tuple[Bundle, WalkNetwork], tmp_path_factory: pytest.TempPathFactory) -> DatasetReport:
    """The demo's report with a stored needs list of March 2026 (half of the bundle's needs)."""
    bundle, net = fallback
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('db') / 'db.sqlite'}")
    audit = AuditLog(store, KEY)
    half = bundle.needs.iloc[: len(bundle.needs) // 2]
    save_version(store, audit, "needs", MONTH, half, dataset="demo", who="t", role="planner")
    return dataset_report(bundle, net, store, dataset="demo", settings=Settings(), key=KEY)


@pytest.fixture(scope="module")
def files(built: DatasetReport, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    report = built.report
    keep = {report.scopes("town")[0], report.scopes("village")[0], report.scopes("district")[0]}
    return write_reports(report, tmp_path_factory.mktemp("out"), scope_filter=lambda s: s in keep)


def test_default_month_is_the_current_lists_month_and_its_needs_are_read(
    built: DatasetReport, fallback: tuple[Bundle, WalkNetwork]
) -> None:
    bundle, _ = fallback
    assert built.month == MONTH and built.month_versions == {"needs": 1}
    half = bundle.needs.iloc[: len(bundle.needs) // 2]
    n_needs = int(half["item_id"].notna().sum())
    by_type = built.report.matching.by_type[DISTRICT_KEY].set_index("need_type_zh")
    assert n_needs >= 10 and by_type.loc[TOTAL_ZH, "n"] == str(n_needs)  # the month's list, not the bundle's
    assert len(bundle.needs) > n_needs


def test_every_format_names_the_month(files: list[Path]) -> None:
    names = {p.name for p in files if p.suffix != ".geojson"} | {p.parent.name for p in files if p.suffix == ".geojson"}
    assert all(MONTH in n for n in names), names
    xlsx = [p for p in files if p.suffix == ".xlsx"]
    assert len(xlsx) == 3
    for p in xlsx:
        wb = openpyxl.load_workbook(p)
        notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
        assert notes["报告月份"] == MONTH and MONTH in notes["报告"]
        assert MONTH in str(wb.properties.title)
    for p in (p for p in files if p.suffix == ".gpkg"):
        for layer in pyogrio.list_layers(p)[:, 0]:
            info = pyogrio.read_info(p, layer=layer)
            assert f"报告月份 {MONTH}" in info["layer_metadata"]["DESCRIPTION"]
        assert pyogrio.read_info(p, layer="hexes")["dataset_metadata"]["report_month"] == MONTH
    for p in (p for p in files if p.suffix == ".geojson"):
        assert f"报告月份 {MONTH}" in json.loads(p.read_text(encoding="utf-8"))["description"]
    if POPPLER:
        for p in (p for p in files if p.suffix == ".pdf"):
            text = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout
            assert f"报告月份 {MONTH}" in text and f"覆盖报告（{MONTH}）" in text


def test_sections_print_no_small_count_in_any_scope(built: DatasetReport) -> None:
    report = built.report
    assert [s.sheet for s in report.sections] == ["服务能力", "重复救助"]
    seen_lt = 0
    for level in ("district", "town", "village"):
        for scope in report.scopes(level):
            for section, kind in zip(report.sections, ("capacity", "duplicates"), strict=True):
                rows = section.rows_for(scope)
                for col in PROTECTED_COLUMNS[kind]:
                    printed = set(rows[col].astype(str))
                    assert not printed & SMALL, (scope, section.sheet, col)
                    seen_lt += "<10" in printed
    assert seen_lt > 0  # the demo has small counts: they print as <10


def test_capacity_towns_cannot_be_recovered_from_their_providers(built: DatasetReport) -> None:
    """A town's printed load is the sum of its providers' (town reports): never exactly one hidden provider."""
    cap = built.report.sections[0]
    district = cap.rows_for(built.report.scopes("district")[0])
    for scope in built.report.scopes("town"):
        rows = cap.rows_for(scope)
        total = district.loc[district["area"] == scope.name]
        for col in PROTECTED_COLUMNS["capacity"]:
            hidden = int((~rows[col].astype(str).str.fullmatch(r"\d+")).sum())
            town_printed = bool(re.fullmatch(r"\d+", str(total[col].iloc[0])))
            assert hidden != 1 or not town_printed, (scope.name, col)
            if hidden == 0 and town_printed:
                assert int(total[col].iloc[0]) == rows[col].astype(int).sum()
        # a utilisation prints only beside a printed load
        shown = rows["utilisation"] != "—"
        assert rows.loc[shown, "assigned"].astype(str).str.fullmatch(r"\d+").all()


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) are not installed")
def test_pdf_has_the_capacity_and_duplicate_sections(files: list[Path], built: DatasetReport) -> None:
    district = next(p for p in files if p.suffix == ".pdf" and p.parent.name == "district")
    text = subprocess.run(["pdftotext", "-layout", str(district), "-"], capture_output=True, text=True).stdout
    lines = [ln.strip() for ln in text.splitlines()]
    assert "服务能力" in lines and "重复救助" in lines  # section headings
    start = re.search(r"^\s*服务能力\s*$", text, flags=re.M)
    assert start is not None
    part = text[start.start() : text.index("隐私保护", start.start())]
    assert "可持续性指数 S = 100" in part and "疑点数" in part and "<10" in part
    # every printed row of the district's duplicate table is there, as printed
    for rec in built.report.sections[1].rows_for(built.report.scopes("district")[0]).to_dict("records"):
        assert re.search(rf"{re.escape(str(rec['department']))}\s+\S+\s+{re.escape(str(rec['n_flags']))}", part)


# -- the command line on the imported dataset -------------------------------------------------------------
def _user_rows(bundle: Bundle) -> pd.DataFrame:
    rows = bundle.beneficiaries.sample(300, random_state=7).reset_index(drop=True)
    rows["beneficiary_id"] = [f"U{i:04d}" for i in range(len(rows))]
    rows["synthetic"] = False
    return rows


def test_cli_imported_builds_from_the_database(
    fallback: tuple[Bundle, WalkNetwork], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, _ = fallback
    url = f"sqlite:///{tmp_path / 'user.sqlite'}"
    stored = _user_rows(bundle)
    with Store(url) as store:
        store.save_table("beneficiaries", stored, dataset="user")
        stored = store.load_table("beneficiaries", dataset="user")
        # imported data never borrows the demo's lists: the offers are imported as February's list
        save_version(
            store, AuditLog(store, KEY), "offers", "2026-02", bundle.offers, dataset="user", who="t", role="planner"
        )
    monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "out"
    res = run_module(
        "reports", "build", "--dataset", "imported", "--bundle", "fallback", "--month", "2026-02",
        "--level", "district,town", "--format", "xlsx", "--out", out, home=tmp_path, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2026-02" in res.stdout.splitlines()[-1] and "导入数据" in res.stdout.splitlines()[-1]
    wb = openpyxl.load_workbook(next((out / "district").glob("district_*_2026-02.xlsx")))
    head = [c.value for c in wb["区级汇总"][1]]
    n_col = head.index("救助对象户数")
    assert wb["区级汇总"][2][n_col].value == len(stored) == 300
    t_col = [c.value for c in wb["镇街"][1]].index("救助对象户数")
    towns = {r[0].value: r[t_col].value for r in wb["镇街"].iter_rows(min_row=2)}
    recount = stored["town_code"].astype(str).value_counts()
    for code, printed in towns.items():
        true = int(recount.get(code, 0))
        assert printed == true if isinstance(printed, int) else (printed == "<10" and true < 10) or printed == "≥10"
    assert any(isinstance(v, int) and v >= 10 for v in towns.values())
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
    assert notes["报告月份"] == "2026-02" and "导入" in notes["数据集"] and "救助对象" in notes["数据说明"]
    assert "服务能力" in wb.sheetnames  # the same sections as the app's Reports page
    assert "重复救助" not in wb.sheetnames  # no service records imported: no section, never the demo's


def test_cli_imported_without_offers_has_no_capacity_sheet(
    fallback: tuple[Bundle, WalkNetwork], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, _ = fallback
    url = f"sqlite:///{tmp_path / 'user.sqlite'}"
    with Store(url) as store:
        store.save_table("beneficiaries", _user_rows(bundle), dataset="user")
    monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "out"
    res = run_module(
        "reports", "build", "--dataset", "imported", "--bundle", "fallback", "--month", "2026-02",
        "--level", "district", "--format", "xlsx", "--out", out, home=tmp_path, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    wb = openpyxl.load_workbook(next((out / "district").glob("district_*_2026-02.xlsx")))
    assert "服务能力" not in wb.sheetnames  # the demo's synthetic offers are never mixed into imported data


def test_cli_imported_on_an_empty_database_exits_2_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    res = run_module(
        "reports", "build", "--dataset", "imported", "--bundle", "fallback", "--out", tmp_path / "o", home=tmp_path
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "数据库中没有导入的数据" in res.stderr
    assert not (tmp_path / "o").exists()


def test_bad_month_is_refused(tmp_path: Path) -> None:
    res = run_module("reports", "build", "--bundle", "fallback", "--month", "2026-13", "--out", tmp_path / "o",
                     home=tmp_path)  # fmt: skip
    assert res.returncode == 2 and "YYYY-MM" in res.stderr and not (tmp_path / "o").exists()


def test_parallel_writing_gives_the_same_files(built: DatasetReport, tmp_path: Path) -> None:
    report = built.report
    keep = {*report.scopes("town")[:2], *report.scopes("village")[:3]}
    one = write_reports(report, tmp_path / "a", formats=["xlsx", "geojson"], scope_filter=lambda s: s in keep)
    two = write_reports(report, tmp_path / "b", formats=["xlsx", "geojson"], scope_filter=lambda s: s in keep,
                        workers=2)  # fmt: skip
    # as the Reports page writes them: the report (with its sections) pickled to processes of a fork server
    three = write_reports(report, tmp_path / "c", formats=["xlsx", "geojson"], scope_filter=lambda s: s in keep,
                          workers=2, start_method="forkserver")  # fmt: skip
    assert [p.relative_to(tmp_path / "a") for p in one] == [p.relative_to(tmp_path / "b") for p in two]
    assert [p.relative_to(tmp_path / "a") for p in one] == [p.relative_to(tmp_path / "c") for p in three]
    for a, b in [*zip(one, two, strict=True), *zip(one, three, strict=True)]:
        if a.suffix == ".geojson":
            assert a.read_bytes() == b.read_bytes()
        else:
            wa, wb = openpyxl.load_workbook(a), openpyxl.load_workbook(b)
            assert wa.sheetnames == wb.sheetnames
            for name in wa.sheetnames:
                va = np.array([[c.value for c in r] for r in wa[name].iter_rows()], dtype=object)
                vb = np.array([[c.value for c in r] for r in wb[name].iter_rows()], dtype=object)
                assert (va == vb).all()
