"""The reports of a dataset (demo or imported) for a month: one function for the command line.

``python -m reports build`` calls :func:`dataset_report`; the Reports page calls
:func:`service.dashboard.dashboard_report` with its cached parts. Both name the month the
report describes (:func:`report_month`) and assemble the #13 sections with the one
:func:`service.report_sections.report_sections`.

The month
---------
:func:`service.monthly.report_month`. Default: the month of the dataset's current monthly
version (:mod:`data.monthly`: the latest month holding a version of its needs, offers or
service records), else the current month in China time (:data:`core.errors.CHINA_TZ`). For
a chosen month, the needs, offers and service records of that month's latest version
replace the current ones where such a version exists; the others stay as they are (the
report's notes say which).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.errors import ReportError
from core.i18n import t
from core.settings import Settings
from data.bundle import Bundle, with_tables
from data.monthly import months
from data.storage import Store
from geo.graph import WalkNetwork
from geo.snap import Snapper
from reports.build import Progress, check_report_month, finish_report, start_report
from reports.model import Report
from service.dashboard import DATASET_DEMO, DATASET_USER, KINDS, dataset_tables
from service.matching import district_problem, matching_inputs
from service.monthly import MONTH_KINDS, month_tables, report_month
from service.records import DatasetRecords, demo_records, imported_records, records_with_areas
from service.report_sections import dataset_sections

log = logging.getLogger(__name__)

#: the command line's dataset names -> the app's
CLI_DATASETS = {"demo": DATASET_DEMO, "imported": DATASET_USER}


def _dated(records: pd.DataFrame) -> pd.DataFrame:
    if "date" in records.columns and not pd.api.types.is_datetime64_any_dtype(records["date"]):
        return records.assign(date=pd.to_datetime(records["date"], errors="coerce"))
    return records


def dataset_records(bundle: Bundle, tables: dict[str, pd.DataFrame], dataset: str, key: bytes) -> DatasetRecords | None:
    """The service records a dataset's reports read (None: no duplicates section).

    ``tables["records"]`` (the dataset's current or chosen month's accepted records) when
    present; else the demo's synthetic records for the demo dataset, none for imported data.
    Persons are placed by the households: the demo's synthetic ones, or the dataset's
    beneficiaries (``id_hash``).
    """
    stored = tables.get("records")
    if dataset == DATASET_DEMO:
        demo = demo_records(bundle, key)
        if stored is None or not len(stored):
            return demo
        recs = records_with_areas(_dated(stored).drop(columns=["town_code", "community_code"], errors="ignore"),
                                  demo.households)  # fmt: skip
        return replace(demo, records=recs)
    if stored is None or not len(stored):
        return None
    own = _dated(stored).drop(columns=["town_code", "community_code"], errors="ignore")
    return imported_records(own, tables["beneficiaries"], key=key)  # the one home of an imported dataset's records


def has_imported_data(store: Store) -> bool:
    """Whether the database holds any imported table or monthly list of the imported dataset."""
    if any(len(store.load_table(kind, dataset=DATASET_USER)) for kind in KINDS):
        return True
    return any(months(store, dataset=DATASET_USER, kind=kind) for kind in MONTH_KINDS)


def _imported_label(store: Store, used: dict[str, int], month: str) -> tuple[str, str]:
    own = [kind for kind in KINDS if len(store.load_table(kind, dataset=DATASET_USER))]
    demo = [kind for kind in KINDS if kind not in own]
    label = t("rep_imported_label")
    note = "导入的表：" + "、".join(t(f"ds_kind_{k}") for k in own)
    if demo:
        note += "；其余（" + "、".join(t(f"ds_kind_{k}") for k in demo) + "）为演示数据（合成）"
    if used:
        note += f"；{month} 月度清单：" + "、".join(f"{t(f'mo_kind_{k}')}第 {v} 版" for k, v in used.items())
    return label, note + "。"


def check_dataset(store: Store | None, dataset: str) -> None:
    """Raise :class:`core.errors.ReportError` (Chinese message) when ``dataset`` is the imported
    one and the database holds no imported data."""
    if dataset == DATASET_USER and (store is None or not has_imported_data(store)):
        raise ReportError(t("rep_no_imported"))


@dataclass(frozen=True)
class DatasetReport:
    """A prepared report and what it was built from."""

    report: Report
    month: str
    dataset: str
    month_versions: dict[str, int]


def dataset_report(
    bundle: Bundle,
    network: WalkNetwork,
    store: Store | None,
    *,
    dataset: str,
    settings: Settings,
    key: bytes,
    month: str | None = None,
    scenario_sites: pd.DataFrame | None = None,
    scenario_name: str = "",
    font: str | Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    background: bool = False,
) -> DatasetReport:
    """The protected report of a dataset (``demo`` or ``user``) for a month, with the matching,
    服务能力 and 重复救助 sections, as the Reports page builds it.

    With ``background`` the disclosure control runs in another process while this one
    solves the matching and builds the sections (the command line; the server computes in
    its own process). The report is the same.

    Raises
    ------
    ReportError
        ``dataset`` is the imported one and the database holds no imported data (in Chinese).
    """
    check_dataset(store, dataset)
    month = check_report_month(month) if month else report_month(store, dataset)
    tables, used = month_tables(dataset_tables(bundle, store, dataset), store, dataset, month)
    data = with_tables(bundle, tables)
    s = settings.with_(metric_crs=bundle.metric_crs)
    label, note = ("", "")
    if dataset == DATASET_USER and store is not None:
        label, note = _imported_label(store, used, month)
    if not used and store is not None and any(months(store, dataset=dataset, kind=k) for k in MONTH_KINDS):
        note = (note or bundle.note_zh) + " " + t("rep_month_no_lists", month=month)
    draft = start_report(
        data, settings=s, network=network, scenario_sites=scenario_sites, scenario_name=scenario_name, font=font,
        use_cache=use_cache, month=month, label_zh=label, note_zh=note, progress=progress, background=background,
    )  # fmt: skip
    try:
        # what does not depend on the disclosure control (it may be running in another process)
        t0 = time.perf_counter()
        needs, offers, _ = matching_inputs(bundle, tables)
        match = district_problem(Snapper(network), bundle, tables, s).solve() if len(needs) and len(offers) else None
        t_match = time.perf_counter() - t0
        t0 = time.perf_counter()
        recs = dataset_records(bundle, tables, dataset, key)
        sections = dataset_sections(data, match, recs, store, dataset)
        t_sections = time.perf_counter() - t0
    except BaseException:
        draft.cancel()
        raise
    report = finish_report(draft, matching_result=match)
    report.timings["matching"] = report.timings.get("matching", 0.0) + t_match
    report.timings["sections"] = t_sections
    return DatasetReport(replace(report, sections=sections), month, dataset, used)


__all__ = [
    "CLI_DATASETS",
    "DatasetReport",
    "check_dataset",
    "dataset_report",
    "has_imported_data",
    "month_tables",
    "report_month",
]
