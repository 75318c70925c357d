"""The tables of a dataset, in one dict every page and report reads: the demo bundle's or the user's imports.

``dataset_tables(bundle, store, dataset)`` returns

``hubs``, ``providers``, ``beneficiaries``
    The stored table of the user dataset (:meth:`data.storage.Store.load_table`); a kind
    the user has not imported yet is the demo's (labelled so in ``sources``).
``needs``, ``offers``, ``catalogue``, ``records``
    The user dataset's *current* lists: the latest version of the latest month
    (:func:`data.monthly.current_version`). Never the demo's synthetic lists:

    * needs not imported: the needs the imported households state in their 需求 column
      (:func:`data.needs.needs_from_households`, what the beneficiary import read), else none;
    * offers or service records not imported: none (matching then reports ``no_offer``; the
      duplicate and activity views say there are no records);
    * catalogue not imported: the built-in example catalogue (:func:`data.schemas.catalogue_frame`).
``sources``
    One row per kind: ``kind``, ``source`` (:data:`SOURCES`), ``month``, ``version`` and
    ``n_rows``; :func:`dataset_notes` says in words what is missing or derived.

Streamlit-free; the pages cache the dict by dataset and :meth:`data.storage.Store.dataset_version`.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from core.i18n import t
from data.bundle import Bundle
from data.monthly import current_version
from data.needs import needs_from_households
from data.schemas import CATALOGUE_COLUMNS, NEED_COLUMNS, OFFER_COLUMNS, catalogue_frame
from data.service_records import RECORD_COLUMNS
from data.storage import Store

DATASET_DEMO: Final = "demo"
DATASET_USER: Final = "user"
DATASETS: Final = (DATASET_DEMO, DATASET_USER)
#: the canonical tables (replaced by an import) and the monthly lists (a version per import)
TABLE_KINDS: Final = ("hubs", "providers", "beneficiaries")
LIST_KINDS: Final = ("catalogue", "offers", "needs", "records")
#: where a table of a dataset came from
SOURCES: Final = ("demo", "imported", "households", "default", "none")
SOURCE_COLUMNS: Final = ("kind", "source", "month", "version", "n_rows")


def _list_frame(kind: str, rows: pd.DataFrame) -> pd.DataFrame:
    """A stored list version's JSON rows in the columns and dtypes the consumers take."""
    cols = {"needs": NEED_COLUMNS, "offers": OFFER_COLUMNS, "catalogue": CATALOGUE_COLUMNS, "records": RECORD_COLUMNS}
    out = rows.reindex(columns=list(cols[kind]))
    if kind == "needs":
        out = out.astype({"need_id": "str", "household_id": "str"})
        out["urgency"] = pd.to_numeric(out["urgency"]).astype("int64")
        out["item_id"] = out["item_id"].where(out["item_id"].notna(), None)
    elif kind == "offers":
        out = out.astype({"provider_id": "str", "item_id": "str"})
        out["capacity_per_month"] = pd.to_numeric(out["capacity_per_month"]).astype("int64")
        out["reach_m"] = pd.to_numeric(out["reach_m"]).astype("float64")
    elif kind == "records":
        out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
        out["amount"] = pd.to_numeric(out["amount"]).astype("float64")
        out["source_row"] = pd.to_numeric(out["source_row"]).astype("int64")
    if "synthetic" in out.columns:
        out["synthetic"] = out["synthetic"].fillna(False).astype(bool)
    return out.reset_index(drop=True)


def _empty(kind: str) -> pd.DataFrame:
    cols = {"needs": NEED_COLUMNS, "offers": OFFER_COLUMNS, "records": RECORD_COLUMNS}[kind]
    return _list_frame(kind, pd.DataFrame(columns=list(cols)))


def demo_tables(bundle: Bundle) -> dict[str, pd.DataFrame]:
    """The demo dataset: the bundle's tables (its needs, offers and catalogue are synthetic / the example)."""
    tables = {
        "hubs": bundle.hubs,
        "providers": bundle.providers,
        "beneficiaries": bundle.beneficiaries,
        "needs": bundle.needs,
        "offers": bundle.offers,
        "catalogue": bundle.catalogue if len(bundle.catalogue) else catalogue_frame(),
    }
    sources = [(k, "demo", "", 0, len(v)) for k, v in tables.items()]
    return {**tables, "sources": pd.DataFrame(sources, columns=list(SOURCE_COLUMNS))}


def user_tables(bundle: Bundle, store: Store, dataset: str = DATASET_USER) -> dict[str, pd.DataFrame]:
    """The imported dataset's tables (see the module docstring); nothing of the demo's lists."""
    tables: dict[str, pd.DataFrame] = {}
    sources: list[tuple[str, str, str, int, int]] = []
    demo = {"hubs": bundle.hubs, "providers": bundle.providers, "beneficiaries": bundle.beneficiaries}
    for kind in TABLE_KINDS:
        stored = store.load_table(kind, dataset=dataset)
        tables[kind] = stored if len(stored) else demo[kind]
        sources.append((kind, "imported" if len(stored) else "demo", "", 0, len(tables[kind])))
    imported_households = sources[2][1] == "imported"
    for kind in LIST_KINDS:
        version = current_version(store, kind, dataset=dataset)
        if version is not None:
            tables[kind] = _list_frame(kind, version.rows)
            sources.append((kind, "imported", version.month, version.version, len(tables[kind])))
            continue
        if kind == "catalogue":
            tables[kind], source = catalogue_frame(), "default"
        elif kind == "needs" and imported_households:
            tables[kind], source = needs_from_households(tables["beneficiaries"]), "households"
        else:
            tables[kind], source = _empty(kind), "none"
        sources.append((kind, source, "", 0, len(tables[kind])))
    return {**tables, "sources": pd.DataFrame(sources, columns=list(SOURCE_COLUMNS))}


def dataset_tables(bundle: Bundle, store: Store | None, dataset: str) -> dict[str, pd.DataFrame]:
    """Every table of a dataset: ``hubs, providers, beneficiaries, needs, offers, catalogue``, for
    the user dataset also ``records``, and ``sources`` (see the module docstring)."""
    if dataset == DATASET_USER and store is not None:
        return user_tables(bundle, store, dataset)
    return demo_tables(bundle)


def dataset_notes(tables: dict[str, pd.DataFrame], lang: str, kinds: tuple[str, ...] | None = None) -> list[str]:
    """What a person should know about where the dataset's tables (of ``kinds``; default all)
    came from: missing, derived from the households, the example catalogue, the demo's, or
    the imported month and version."""
    sources = tables["sources"]
    if (sources["source"] == "demo").all():
        return []  # the demo dataset itself: labelled synthetic in the sidebar
    notes: list[str] = []
    for kind, source, month, version, _n in sources.itertuples(index=False, name=None):
        if kinds is not None and kind not in kinds:
            continue
        name = t(f"ds_kind_{kind}", lang)
        if source == "imported":
            if month:
                notes.append(t("ds_note_list", lang, kind=name, month=month, v=version))
        else:
            notes.append(t(f"ds_note_{source}", lang, kind=name))
    return notes
