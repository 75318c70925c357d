"""Every kind a user imports, validated and saved the same way by the Data page and the command line.

Kinds
-----
``hubs``, ``providers``, ``beneficiaries``
    Canonical tables (:func:`data.importer.import_table`), saved with
    :meth:`data.storage.Store.save_table`: the dataset's table is replaced, the import is
    recorded in ``imports`` and its audit entry appended, all in one transaction.
``catalogue``, ``offers``, ``needs``
    Matching tables (:func:`data.importer.import_matching_table`);
``records``
    Departments' service records (:func:`data.service_records.import_service_records`): the
    ID-card number becomes ``person_key``, the keyed hash of :func:`data.idcard.id_hash`,
    and never reaches the database;
    these four are saved as a new monthly version (:func:`data.monthly.save_version`):
    audited in the same transaction, nothing overwritten.

Every outcome has ``accepted``, ``rejected`` (original columns + ``source_row``,
``reason_code``, ``reason``), ``warnings`` and ``summary`` (``read``, ``accepted``,
``rejected``, ``reasons``, ``mapping`` ...), with ``accepted + rejected == read``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

import pandas as pd

from core.errors import CHINA_TZ, ColumnMappingError
from data.importer import (
    COLUMN_LABEL_ZH,
    MATCHING_COLUMNS,
    import_matching_table,
    map_columns,
    mappable_columns,
    normalize_header,
)
from data.monthly import check_month, current_version, save_version
from data.schemas import CATALOGUE_COLUMNS, KINDS, MATCHING_ALIASES
from data.service_records import (
    RECORD_INPUT_COLUMNS,
    Catalogue,
    catalogue_from_frame,
    default_catalogue,
    import_service_records,
    unrecognised_record_headers,
)
from data.storage import ImportMeta, Store

if TYPE_CHECKING:
    from data.accounts.audit import AuditLog

#: the canonical tables (replaced on save) and the monthly lists (a new version on save)
TABLE_KINDS: Final = KINDS
LIST_IMPORT_KINDS: Final = ("catalogue", "offers", "needs", "records")
#: every kind, in the order the Data page offers them
ALL_KINDS: Final = ("beneficiaries", "hubs", "providers", "catalogue", "offers", "needs", "records")
#: audit action of a saved canonical table (``import_<kind>``, as the Data page always wrote)
TABLE_AUDIT_PREFIX: Final = "import_"

#: Chinese labels of the matching and record columns a header may be mapped to
_EXTRA_LABELS: Final[dict[str, str]] = {
    "item_id": "项目编号",
    "group": "项目分组",
    "aliases": "别名",
    "delivery": "服务方式",
    "capacity_per_month": "月服务能力",
    "reach_m": "上门半径（米）",
    "need_id": "需求编号",
    "household_id": "户编号",
    "since": "登记日期",
    "wording": "需求表述",
    "record_id": "记录编号",
    "item_name": "服务项目",
    "date": "日期",
    "amount": "金额（元）",
}


class Outcome(Protocol):
    """What every validation returns (``ImportResult`` of :mod:`data.importer`, ``RecordsImport``)."""

    @property
    def accepted(self) -> pd.DataFrame: ...
    @property
    def rejected(self) -> pd.DataFrame: ...
    @property
    def warnings(self) -> pd.DataFrame: ...
    @property
    def summary(self) -> dict[str, Any]: ...


def check_kind(kind: str) -> str:
    """``kind`` when it is one of :data:`ALL_KINDS`."""
    if kind not in ALL_KINDS:
        msg = f"未知的数据类型“{kind}”：应为 {', '.join(ALL_KINDS)} 之一 (unknown kind)"
        raise ColumnMappingError(msg)
    return kind


def is_list_kind(kind: str) -> bool:
    """Whether ``kind`` is saved as a monthly version (else it replaces a canonical table)."""
    return check_kind(kind) in LIST_IMPORT_KINDS


def current_month(now: datetime | None = None) -> str:
    """This month in China time (``YYYY-MM``): the default month of a list import."""
    return (now or datetime.now(CHINA_TZ)).astimezone(CHINA_TZ).strftime("%Y-%m")


def mapping_targets(kind: str) -> dict[str, str]:
    """Columns a header of ``kind`` may be mapped to, with their Chinese labels."""
    check_kind(kind)
    if kind in TABLE_KINDS:
        return mappable_columns(kind)
    cols = RECORD_INPUT_COLUMNS if kind == "records" else MATCHING_COLUMNS[kind]
    return {c: _EXTRA_LABELS.get(c) or COLUMN_LABEL_ZH.get(c, c) for c in cols if c != "synthetic"}


def unmapped_headers(raw: pd.DataFrame, kind: str) -> list[str]:
    """The headers of ``raw`` the aliases of ``kind`` do not recognise (for the mapping step)."""
    check_kind(kind)
    if kind in TABLE_KINDS:
        return map_columns(raw, kind)[2]
    if kind == "records":
        return unrecognised_record_headers(raw)
    aliases = {normalize_header(c) for c in MATCHING_COLUMNS[kind]} | {
        normalize_header(h) for h in MATCHING_ALIASES[kind]
    }
    return [str(c) for c in raw.columns if normalize_header(str(c)) not in aliases]


def records_catalogue(catalogue: pd.DataFrame | None) -> Catalogue:
    """The catalogue service records are mapped through: the dataset's, else the built-in one."""
    return default_catalogue() if catalogue is None or not len(catalogue) else catalogue_from_frame(catalogue)


def check_context(
    *,
    catalogue: pd.DataFrame | None = None,
    providers: pd.DataFrame | None = None,
    beneficiaries: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """What a list is checked against (the keywords of :func:`validate_list`): the catalogue in
    use (None: the built-in one), the known providers' ids and the known households
    (``beneficiary_id, id_hash``); None where nothing is known (then not checked)."""
    return {
        "catalogue": catalogue if catalogue is not None and len(catalogue) else None,
        "provider_ids": providers["provider_id"].astype(str).tolist() if providers is not None else None,
        "households": beneficiaries.reindex(columns=["beneficiary_id", "id_hash"])
        if beneficiaries is not None
        else None,
    }


def stored_context(store: Store, dataset: str) -> dict[str, Any]:
    """:func:`check_context` of a stored dataset: its current catalogue, its imported providers and households."""
    cat = current_version(store, "catalogue", dataset=dataset)
    providers = store.load_table("providers", dataset=dataset)
    households = store.load_table("beneficiaries", dataset=dataset)
    return check_context(
        catalogue=cat.rows.reindex(columns=list(CATALOGUE_COLUMNS)) if cat is not None else None,
        providers=providers if len(providers) else None,
        beneficiaries=households if len(households) else None,
    )


def validate_list(
    raw: pd.DataFrame,
    kind: str,
    *,
    catalogue: pd.DataFrame | None = None,
    provider_ids: Iterable[str] | None = None,
    households: pd.DataFrame | None = None,
    id_key: bytes | None = None,
    need_aliases: Mapping[str, str] | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> Outcome:
    """Validate a catalogue, offers, needs or service-records table row by row.

    Parameters
    ----------
    catalogue : the dataset's catalogue (None: the built-in example catalogue).
    provider_ids : the dataset's providers (offers naming another are rejected), or None.
    households : the dataset's beneficiaries (``beneficiary_id``, ``id_hash``): needs naming
        another household are rejected; a record's ``household_id`` takes the household's
        ``id_hash`` as its person. None: not checked.
    id_key : the keyed hash's key (:func:`data.idcard.id_hash_key`); required for records.
    """
    check_kind(kind)
    if kind == "records":
        if id_key is None:
            msg = "service records need the ID hash key"
            raise ValueError(msg)
        return import_service_records(
            raw, records_catalogue(catalogue), key=id_key, households=households, mapping=mapping
        )
    if kind not in LIST_IMPORT_KINDS:
        msg = f"{kind} is a table kind: use data.importer.import_table"
        raise ValueError(msg)
    has_hh = households is not None and len(households) > 0
    return import_matching_table(
        raw,
        kind,
        catalogue=catalogue if catalogue is not None and len(catalogue) else None,
        provider_ids=list(provider_ids) if provider_ids is not None else None,
        household_ids=households["beneficiary_id"].astype(str).tolist() if has_hh else None,  # type: ignore[index]
        need_aliases=need_aliases,
        mapping=mapping,
    )


@dataclass(frozen=True)
class SavedImport:
    """What a save wrote: the kind, the rows, and for a list its month and version."""

    kind: str
    n_rows: int
    month: str | None = None
    version: int | None = None


def save_accepted(
    store: Store,
    audit: AuditLog,
    kind: str,
    result: Outcome,
    *,
    dataset: str,
    who: str,
    role: str,
    file_name: str,
    file_sha256: str,
    month: str | None = None,
    area: Mapping[str, Any] | None = None,
) -> SavedImport:
    """Write the accepted rows of an import into the database, with its audit entry, in one transaction.

    A canonical table (hubs, providers, beneficiaries) replaces the dataset's table and is
    recorded in ``imports`` (audit action ``import_<kind>``); a list (catalogue, offers, needs,
    records) becomes the next version of ``month`` (default: this month in China time; audit
    action ``monthly_list_saved``). On any failure nothing is written.

    Raises
    ------
    core.errors.StorageError, core.errors.MonthlyListError
        Bad rows or month; nothing was changed.
    """
    check_kind(kind)
    s = result.summary
    if kind in LIST_IMPORT_KINDS:
        m = check_month(month or current_month())
        version = save_version(
            store, audit, kind, m, result.accepted, dataset=dataset, who=who, role=role, file_name=file_name,
            area=area, file_hash=file_sha256,
        )  # fmt: skip
        return SavedImport(kind, len(result.accepted), m, version)
    meta = ImportMeta(
        file_name=file_name,
        file_sha256=file_sha256,
        n_read=int(s["read"]),
        n_accepted=int(s["accepted"]),
        n_rejected=int(s["rejected"]),
        crs_detected=s.get("crs_detected"),
        user_name=who,
    )
    n = store.save_table(
        kind,
        result.accepted,
        dataset=dataset,
        replace=True,
        import_meta=meta,
        in_transaction=lambda conn, n_rows: audit.append_in(
            conn,
            who,
            role,
            f"{TABLE_AUDIT_PREFIX}{kind}",
            {"dataset": dataset, "file": file_name, **dict(area or {})},
            n_rows,
            file_hash=file_sha256,
        ),
    )
    return SavedImport(kind, n)
