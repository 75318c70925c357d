"""Service records on a page: the dataset's records, duplicate flags (重复救助), provider capacity
and satisfaction feedback (满意度), each cached with a bounded size."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.settings import Settings
from data.accounts.access import AreaFilter
from data.accounts.audit import sha256_hex
from data.bundle import with_tables
from data.duplicates import flag_duplicates
from data.feedback import feedback_version
from data.idcard import id_hash_key
from pages._common import dataset_tables, get_bundle, get_store
from pages._match_data import matching_result_for
from service import feedback as svc_fb
from service.capacity import CapacityView, capacity_view
from service.dashboard import DATASET_DEMO
from service.records import DatasetRecords, demo_records, imported_records


# -- service records, duplicate flags, provider capacity (#13) ------------------------------
@st.cache_resource(max_entries=3, show_spinner="读取服务记录… / reading service records…")
def _records_for(dataset: str, version: int, key_sha: str) -> DatasetRecords | None:
    if dataset == DATASET_DEMO:
        return demo_records(get_bundle(), id_hash_key())
    tables = dataset_tables(dataset, version)
    return imported_records(tables["records"], tables["beneficiaries"], key=id_hash_key())


def service_records(dataset: str, version: int) -> DatasetRecords | None:
    """The dataset's service records (demo: synthetic; user: the current imported list, None when
    none is imported), keyed by the keyed hash's key; read-only."""
    return _records_for(dataset, version, sha256_hex(id_hash_key()))


@st.cache_data(max_entries=4, show_spinner="筛查重复救助… / flagging duplicates…")
def duplicate_flags(dataset: str, version: int, period: str) -> pd.DataFrame:
    """Every flag of the dataset (no review status; :func:`data.duplicates.apply_reviews` per rerun)."""
    recs = service_records(dataset, version)
    return flag_duplicates(recs.records if recs is not None else pd.DataFrame(), period=period)


@st.cache_data(max_entries=4, show_spinner="匹配供需… / matching needs and offers…")
def capacity_for(dataset: str, version: int, settings: Settings) -> CapacityView:
    """Provider capacity and sustainability of the whole district (scope with :func:`service.capacity.scope_table`)."""
    tables = dataset_tables(dataset, version)
    bundle = with_tables(get_bundle(), tables)
    match = matching_result_for(dataset, version, settings)  # the one district matching, shared
    recs = service_records(dataset, version)
    records = recs.records if recs is not None else pd.DataFrame(columns=["department", "item_id", "town_code", "date"])
    return capacity_view(match, bundle.providers, bundle.towns, records)


# -- satisfaction feedback (满意度) ----------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def _feedback_for(dataset: str, version: tuple[int, int], area: AreaFilter) -> pd.DataFrame:
    frame = svc_fb.feedback_frame(get_bundle(), get_store(), dataset, demo=dataset == DATASET_DEMO)
    return svc_fb.scoped(frame, area)


def feedback_for(dataset: str, area: AreaFilter) -> pd.DataFrame:
    """The responses ``area`` may see (stored + the demo's synthetic ones), scoped before caching.

    Read once per version (:func:`data.feedback.feedback_version`, which every save changes):
    a rerun asks the database for that version only, never for the rows again.
    """
    return _feedback_for(dataset, feedback_version(get_store(), dataset=dataset), area)
