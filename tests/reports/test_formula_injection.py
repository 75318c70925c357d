"""Hostile names from an upload end as inert text in the XLSX report (no live formula, no DDE call)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openpyxl
import pytest

from data.demo import load_default_bundle
from data.importer import import_table
from data.safe_export import FORMULA_CHARS, strip_guard
from data.tables import read_table
from reports.build import prepare_report
from reports.xlsx import write_xlsx
from tests.reports import SCENARIO

pytestmark = pytest.mark.xihu
HOSTILE = ['=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "+1+2", "-1+2", "@SUM(A1)", "=2*3"]


def test_uploaded_hostile_names_are_inert_in_the_xlsx_report(xihu_dir: Path, tmp_path: Path) -> None:
    bundle = load_default_bundle()
    providers = bundle.providers.copy()
    providers.loc[providers.index[: len(HOSTILE)], "name"] = HOSTILE
    upload = tmp_path / "providers.csv"
    providers.to_csv(upload, index=False, encoding="utf-8-sig")  # what a user uploads: raw formulas
    res = import_table(read_table(upload), "providers", area=bundle.district, communities=bundle.communities)
    assert set(HOSTILE) <= set(res.accepted["name"])
    sites = SCENARIO.assign(name=["=1+1", "@x", "-y"])
    report = prepare_report(
        dataclasses.replace(bundle, providers=res.accepted), scenario_sites=sites, scenario_name="=evil()"
    )
    path = write_xlsx(report, report.scopes("district")[0], tmp_path / "d.xlsx")
    wb = openpyxl.load_workbook(path)
    texts: list[str] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_CHARS), (ws.title, cell.coordinate, cell.value)
                    texts.append(strip_guard(cell.value))
    assert set(HOSTILE) <= set(texts)  # the names are there, as text
    assert {"=1+1", "@x", "-y"} <= set(texts)
