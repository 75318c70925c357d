"""Service records of a dataset, ready for duplicate flags and provider activity (streamlit-free).

The demo dataset's records are :func:`data.service_demo.synthetic_service_records` of the
bundle (synthetic, labelled so), imported through :func:`data.service_records.import_service_records`
with the keyed hash of :func:`data.idcard.id_hash_key`; user datasets have no stored
service records yet (``python -m data duplicates`` works on files).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from data.bundle import Bundle
from data.service_demo import synthetic_service_records
from data.service_records import default_catalogue, import_service_records

#: seed of the demo's synthetic records (the one the tests check)
DEMO_SEED = 13


@dataclass(frozen=True)
class DatasetRecords:
    """Accepted service records and the households that link persons to areas.

    Attributes
    ----------
    records : pandas.DataFrame
        :attr:`data.service_records.RecordsImport.accepted` plus ``town_code`` and
        ``community_code`` of the person's household (NaN when unknown).
    households : pandas.DataFrame
        ``beneficiary_id``, ``id_hash``, ``town_code``, ``community_code``, ``name_masked``.
    n_rejected : int
    synthetic : bool
    """

    records: pd.DataFrame
    households: pd.DataFrame
    n_rejected: int
    synthetic: bool


def records_with_areas(records: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """``records`` with ``town_code`` and ``community_code`` of the person (``person_key`` = ``id_hash``)."""
    hh = households[["id_hash", "town_code", "community_code"]].dropna(subset=["id_hash"]).drop_duplicates("id_hash")
    return records.merge(hh.rename(columns={"id_hash": "person_key"}), on="person_key", how="left")


def demo_records(bundle: Bundle, key: bytes, *, seed: int = DEMO_SEED) -> DatasetRecords:
    """The demo's synthetic service records (with planted duplicates), imported with ``key``."""
    synth = synthetic_service_records(bundle, seed, key=key)
    imported = import_service_records(synth.records, default_catalogue(), key=key, households=synth.households)
    return DatasetRecords(
        records=records_with_areas(imported.accepted, synth.households),
        households=synth.households,
        n_rejected=len(imported.rejected),
        synthetic=True,
    )
