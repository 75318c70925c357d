"""The Data page's streamlit-free layer: validate an upload of any kind against the dataset, shape it for the screen.

Validation and saving are :mod:`data.import_kinds` (the command line's ``import --save``
calls the same functions); here the dataset's own tables supply what a list is checked
against, and the outcome is made readable (codes as words, ID numbers and names masked,
hashes left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from core.i18n import item_names
from data.import_kinds import LIST_IMPORT_KINDS, Outcome, check_context, check_kind, validate_list
from data.importer import import_table
from service.display import preview_table, rejected_table

#: accepted columns never shown on screen (keyed hashes, the reader's own row number)
HIDDEN_COLUMNS = ("id_hash", "person_key", "person_source", "source_row")


def list_context(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """What a list of the dataset is checked against (:func:`data.import_kinds.check_context`): its
    catalogue, and its providers and households where they were imported (the demo's stand-ins
    are not a check)."""
    sources = tables["sources"].set_index("kind")["source"] if "sources" in tables else pd.Series(dtype=str)
    imported = {k for k, v in sources.items() if v == "imported"}
    return check_context(
        catalogue=tables.get("catalogue"),
        providers=tables["providers"] if "providers" in imported else None,
        beneficiaries=tables["beneficiaries"] if "beneficiaries" in imported else None,
    )


def validate_upload(
    raw: pd.DataFrame,
    kind: str,
    tables: Mapping[str, pd.DataFrame],
    *,
    id_key: bytes,
    mapping: Mapping[str, str | None] | None = None,
    need_aliases: Mapping[str, str] | None = None,
    geo: Mapping[str, Any] | None = None,
) -> Outcome:
    """Validate an uploaded table of ``kind`` row by row.

    Parameters
    ----------
    tables : the dataset's tables (:func:`service.datasets.dataset_tables`).
    id_key : the keyed hash's key (beneficiaries' ``id_hash``, records' ``person_key``).
    geo : for hubs, providers and beneficiaries: ``crs``, ``snapper``, ``area``,
        ``communities`` (keywords of :func:`data.importer.import_table`).
    """
    check_kind(kind)
    if kind in LIST_IMPORT_KINDS:
        return validate_list(
            raw, kind, **list_context(tables), id_key=id_key, need_aliases=need_aliases, mapping=mapping or None
        )
    return import_table(
        raw,
        kind,
        **dict(geo or {}),
        id_key=id_key,
        mapping=mapping or None,
        need_aliases=need_aliases,
    )


def accepted_view(
    result: Outcome, lang: str, *, kind: str = "", limit: int = 200, items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The first accepted rows as a person reads them (no hashes; dates as dates; item codes as
    the names of ``items``, the dataset's catalogue, and of the catalogue being imported when
    ``kind`` is ``catalogue``)."""
    rows = result.accepted.head(limit).drop(columns=[c for c in HIDDEN_COLUMNS if c in result.accepted.columns])
    for col in rows.columns:
        if pd.api.types.is_datetime64_any_dtype(rows[col]):
            rows[col] = rows[col].dt.strftime("%Y-%m-%d")
    if kind == "catalogue" and {"item_id", "name"} <= set(result.accepted.columns):
        items = {**(items or {}), **item_names(result.accepted, lang)}
    return preview_table(rows, lang, items)


def rejected_view(result: Outcome, lang: str) -> pd.DataFrame:
    """The rejected rows for the screen: reasons named, ID numbers and names masked."""
    return rejected_table(result.rejected, result.summary.get("mapping", {}), lang)
