"""Plumbing of the 满意度 and 月度清单 pages: reading an upload (the planner's candidate file too), demo
tables (cached, read-only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import XihuError
from data.accounts.access import check_upload
from data.idcard import id_hash_key
from data.service_demo import synthetic_service_records
from data.service_records import default_catalogue, import_service_records
from data.tables import table_from_upload
from pages._common import DATASET_DEMO, current_tables, get_bundle


def read_upload(upload: object) -> pd.DataFrame:
    """The uploaded CSV/XLSX as text cells (checked first); raises an expected error with a Chinese message."""
    payload = upload.getvalue()  # type: ignore[attr-defined]
    name = str(upload.name)  # type: ignore[attr-defined]
    check_upload(name, payload)
    return table_from_upload(name, payload)


@st.cache_resource(max_entries=1, show_spinner=False)
def demo_records() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accepted synthetic service records, their households) of the demo bundle; shared read-only."""
    key = id_hash_key()
    synth = synthetic_service_records(get_bundle(), key=key)
    imported = import_service_records(synth.records, default_catalogue(), key=key, households=synth.households)
    return imported.accepted, synth.households


def households_for_lists(dataset: str) -> pd.DataFrame:
    """Households with their area: ``beneficiary_id, id_hash, town_code, community_code`` (the demo:
    the bundle's and its records' households; the imported dataset: its beneficiaries)."""
    cols = ["beneficiary_id", "id_hash", "town_code", "community_code"]
    if dataset != DATASET_DEMO:
        return current_tables()["beneficiaries"].reindex(columns=cols)
    b = get_bundle().beneficiaries
    return pd.concat([demo_records()[1].reindex(columns=cols), b.reindex(columns=cols)], ignore_index=True)


__all__ = ["XihuError", "demo_records", "households_for_lists", "read_upload"]
