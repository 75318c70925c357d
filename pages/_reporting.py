"""Reports on a page: the prepared report of a dataset (shared read-only by every role) and its
preparation in the background while the person on the Reports page chooses."""

from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from core.settings import Settings
from data.duplicate_reviews import load_reviews
from data.duplicates import DEFAULT_PERIOD, apply_reviews
from data.storage import DATABASE_DOWN_ERRORS
from pages._common import bundle_network, dataset_tables, get_bundle, get_store
from pages._records import capacity_for, duplicate_flags, service_records
from reports.model import Report, ReportSection
from service import dashboard as svc
from service.report_sections import report_sections as assemble_sections

logger = logging.getLogger(__name__)


@st.cache_resource(max_entries=4, show_spinner="统计与隐私保护… / computing and protecting figures…")
def report_for(dataset: str, version: int, settings: Settings, scenario_id: str) -> Report:
    """The prepared report (protected aggregates only), shared read-only by every role; each
    page filters the scopes it writes by the user's area."""
    return svc.dashboard_report(
        get_bundle(),
        dataset_tables(dataset, version),
        settings,
        bundle_network(),
        get_store(),
        scenario_id,
        sections=report_sections(dataset, version, settings),
        dataset=dataset,
    )


#: Set by ``serve.py`` (the server, like its warm-up); ``streamlit run app.py`` and the page tests
#: prepare the report in the click.
PREPARE_REPORTS_EARLY = False
_PREPARING: set[tuple[str, int, Settings, str]] = set()
_PREPARING_LOCK = threading.Lock()


def prepare_report_soon(dataset: str, version: int, settings: Settings, scenario_id: str = "") -> None:
    """Start preparing :func:`report_for` in a background thread (at most one per key at a time).

    The Reports page calls it when it opens, so the ~10 s of statistics and privacy protection
    run while the person picks levels and formats. A click on 生成报告 then finds the report
    ready, or waits for the computation already running (``st.cache_resource`` runs one per
    key). This is not done at server start: the report holds ~200 MB that a server nobody
    builds reports on should not pay. A failure here only means the click prepares it.
    """
    if not PREPARE_REPORTS_EARLY:
        return
    key = (dataset, version, settings, scenario_id)
    with _PREPARING_LOCK:
        if key in _PREPARING:
            return
        _PREPARING.add(key)

    def work() -> None:
        # at the sessions' priority (unlike the warm-up): the person on the Reports page waits for it
        t0 = time.perf_counter()
        try:
            report_for(*key)
            if time.perf_counter() - t0 > 0.5:  # not a report already in the cache
                logger.info("report of %s prepared in the background (%.1f s)", dataset, time.perf_counter() - t0)
        except DATABASE_DOWN_ERRORS:  # the page says so in Chinese; the click prepares it when the database is back
            logger.warning("report of %s not prepared in the background: database unavailable", dataset)
        except Exception:  # the click computes it again and shows the error where it belongs
            logger.exception("preparing the report in the background failed")
        finally:
            with _PREPARING_LOCK:
                _PREPARING.discard(key)

    threading.Thread(target=work, name="xihu-report-prepare", daemon=True).start()


def report_sections(dataset: str, version: int, settings: Settings) -> tuple[ReportSection, ...]:
    """The #13 sections of the reports (:func:`service.report_sections.report_sections`, as the command line)."""
    recs = service_records(dataset, version)
    flags = None
    if recs is not None:
        flags = apply_reviews(
            duplicate_flags(dataset, version, DEFAULT_PERIOD), load_reviews(get_store(), dataset=dataset)
        )
    return assemble_sections(get_bundle().towns, capacity_for(dataset, version, settings), recs, flags)
