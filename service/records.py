"""Service records of a dataset, ready for duplicate flags and provider activity (streamlit-free).

The demo dataset's records are :func:`data.service_demo.synthetic_service_records` of the
bundle (synthetic, labelled so), imported through :func:`data.service_records.import_service_records`
with the keyed hash of :func:`data.idcard.id_hash_key`; the user dataset's are its current
service-record list (:func:`service.datasets.dataset_tables`, ``records``), imported on the
Data page or with ``python -m data import --kind records --save`` (ID numbers hashed on import,
never stored), linked to areas through the imported households' ``id_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from data.bundle import Bundle
from data.service_demo import synthetic_service_records
from data.service_records import default_catalogue, household_key, import_service_records

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


#: the household columns that link a record's person to an area
HOUSEHOLD_COLUMNS = ("beneficiary_id", "id_hash", "town_code", "community_code", "name_masked")


def imported_records(
    records: pd.DataFrame, beneficiaries: pd.DataFrame, *, key: bytes | None = None
) -> DatasetRecords | None:
    """An imported dataset's service records with the areas of their households (None: none imported).

    Parameters
    ----------
    records : the dataset's ``records`` table (:data:`data.service_records.RECORD_COLUMNS`).
    beneficiaries : the dataset's households; ``id_hash`` = a record's ``person_key``.
    key : the keyed hash's key: a household imported without an ID number is then known by
        :func:`data.service_records.household_key` of its id, the person key its records got
        when they named it by household id only.
    """
    if not len(records):
        return None
    households = beneficiaries.reindex(columns=list(HOUSEHOLD_COLUMNS))
    if key is not None:
        missing = households["id_hash"].isna() & households["beneficiary_id"].notna()
        households.loc[missing, "id_hash"] = [
            household_key(str(b), key) for b in households.loc[missing, "beneficiary_id"]
        ]
    return DatasetRecords(
        records=records_with_areas(records, households),
        households=households,
        n_rejected=0,
        synthetic=False,
    )
