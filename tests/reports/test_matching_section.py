"""The reports' matching section: figures equal geo.matching's, no 1-9 count prints, no cell recoverable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from core.settings import Settings
from data.bundle import matching_frames
from data.demo import load_default_bundle
from geo.disclosure import recoverable_cells
from geo.matching import matching_problem
from geo.snap import Snapper
from reports.content import LEVEL_TOWN, LEVEL_VILLAGE
from reports.matching import DISTRICT_KEY, SHEET_BY_TYPE, SHEET_UNMET, TOTAL_ZH
from reports.model import Report
from reports.pdf import _Styles, build_story
from reports.xlsx import write_xlsx
from tests.reports import xihu_report

pytestmark = pytest.mark.xihu
SMALL = {str(i) for i in range(1, 10)}


@pytest.fixture(scope="module")
def report(xihu_dir: Path) -> Report:
    return xihu_report()


@pytest.fixture(scope="module")
def needs(report: Report) -> pd.DataFrame:
    bundle = load_default_bundle()
    n, o, c = matching_frames(bundle)
    res = matching_problem(n, o, c, snapper=Snapper(report.network), settings=Settings(metric_crs=bundle.metric_crs))
    town = bundle.beneficiaries[["beneficiary_id", "town_code"]].rename(columns={"beneficiary_id": "household_id"})
    return res.solve().needs.merge(town, on="household_id", how="left")


def _rows(ws: Any) -> list[list[Any]]:
    return [[c.value for c in r] for r in ws.iter_rows()]


def _check(printed: Any, true: int) -> None:
    if printed == "<10":
        assert 0 <= true <= 9
    elif printed == "≥10":
        assert true >= 10
    else:
        assert int(printed) == true


def test_xlsx_matching_sheets_print_no_small_count(report: Report, tmp_path: Path) -> None:
    scopes = [report.scopes("district")[0], *report.scopes(LEVEL_TOWN)]
    for scope in scopes:
        wb = openpyxl.load_workbook(write_xlsx(report, scope, tmp_path / f"{scope.area_id}.xlsx"))
        for name in (SHEET_BY_TYPE, SHEET_UNMET):
            rows = _rows(wb[name])
            assert len(rows) > 2
            for row in rows[1:]:
                for v in row[1:]:
                    assert str(v) not in SMALL, f"{scope.name} {name}: {row}"
                    assert v is not None and str(v) not in ("nan", "None")
    village = report.scopes(LEVEL_VILLAGE)[0]
    wb = openpyxl.load_workbook(write_xlsx(report, village, tmp_path / "v.xlsx"))
    assert SHEET_BY_TYPE not in wb.sheetnames  # district and town reports only


def test_printed_figures_tell_the_truth(report: Report, needs: pd.DataFrame) -> None:
    d = report.matching.by_type[DISTRICT_KEY].set_index("need_type_zh")
    assert d.loc[TOTAL_ZH, "n"] == str(len(needs))  # large counts print exactly
    assert d.loc[TOTAL_ZH, "matched"] == str(int(needs["matched"].sum()))
    for code in report.matching.by_type:
        sub = needs if code == DISTRICT_KEY else needs[needs["town_code"].astype(str) == code]
        u = report.matching.unmet[code].set_index("item_zh")
        _check(u.loc[TOTAL_ZH, "total"], int((~sub["matched"]).sum()))
        t = report.matching.by_type[code].set_index("need_type_zh")
        _check(t.loc["生存型", "matched"], int((sub["matched"] & (sub["need_type"] == "survival")).sum()))


def test_no_hidden_cell_is_recoverable_from_the_sums(report: Report) -> None:
    for code, u in report.matching.unmet.items():
        body = u[u["item_zh"] != TOTAL_ZH]
        reasons = [c for c in u.columns if c not in ("item_zh", "total")]
        total = u[u["item_zh"] == TOTAL_ZH].iloc[0]
        got = recoverable_cells(
            body[reasons].to_numpy().tolist(),
            row_totals=body["total"].tolist(),
            col_totals=[total[r] for r in reasons],
            grand_total=total["total"],
            lt_lower=0,
        )
        # a recovered value is only acceptable when it is a zero (zeros are not protected)
        assert all(c.lower == c.upper == 0 for c in got), (code, got[:3])


def test_pdf_has_the_section_for_district_and_town_only(report: Report) -> None:
    from reports.pdf import register_font

    st = _Styles(register_font(report.font))

    def heads(scope: Any) -> list[str]:
        return [getattr(f, "text", "") for f in build_story(report, scope, st)]

    assert "供需匹配" in heads(report.scopes("district")[0])
    assert "供需匹配" in heads(report.scopes(LEVEL_TOWN)[0])
    assert "供需匹配" not in heads(report.scopes(LEVEL_VILLAGE)[0])
