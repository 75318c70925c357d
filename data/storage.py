"""Persistent storage of the canonical tables, import records and planner scenarios.

One :class:`Store` wraps a SQLAlchemy engine: a SQLite file by default (embedded, nothing
to install) or PostgreSQL when ``DATABASE_URL`` (or the ``url`` argument) says so, e.g.
``postgresql+psycopg://user:password@host/dbname``.

Tables
------
``hubs``, ``providers``, ``beneficiaries``
    The canonical columns of :mod:`data.schemas` plus ``dataset`` (``"demo"``, ``"user"``
    ...), so the demo bundle and user imports coexist. Primary key ``(dataset, <id>)``.
    Beneficiary ID-card numbers never reach the database: the schema only has ``id_hash``
    and ``id_last4``, and columns outside the canonical ones are dropped before writing.
``imports``
    One row per import: :data:`IMPORT_COLUMNS`.
``scenarios``
    Planner scenarios: :data:`SCENARIO_COLUMNS`, the payload as JSON.
``need_aliases``
    Need wording mapped to a catalogue item once on the Data page and remembered for the
    next import (:meth:`Store.need_aliases`, :func:`data.needs.match_need_wording`):
    ``wording`` (normalised, primary key), ``item_id``, ``created_at``, ``author``.
``duplicate_reviews``
    Duplicate-provision flags staff reviewed as legitimate (:mod:`data.duplicate_reviews`).
``feedback``
    Satisfaction feedback (满意度), one row per response (:mod:`data.feedback`).
``feedback_files``
    The survey files saved into ``feedback``, by dataset and SHA-256: the same file is saved once.
``list_versions``
    Monthly versions of the needs, offers and service-record lists (:mod:`data.monthly`):
    keyed by dataset, kind, month (``YYYY-MM``) and version; never overwritten.

A later security issue adds ``users`` and ``audit`` tables to the same :data:`METADATA`;
``imports.user_name`` and ``scenarios.author`` are plain text until then.

Every :meth:`Store.save_table` is one transaction: the dataset's old rows are deleted,
the new ones inserted and the import recorded, or, on any failure, nothing changes.
"""

from __future__ import annotations

import json
import logging
import math
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine

from core.errors import ScenarioNotFoundError, StorageError
from data.config import ENV_DATABASE_URL, default_data_dir, env_value
from data.schemas import KINDS, TABLE_COLUMNS

logger = logging.getLogger(__name__)

SQLITE_FILE_NAME: Final = "xihu.sqlite"
#: what a database that stopped, restarted or cannot be reached raises (a connection refused or
#: dropped mid-query, a server shutting down); the app shows one Chinese message for these and
#: recovers when the database answers again (pages._database.database_down)
DATABASE_DOWN_ERRORS: Final = (sa.exc.OperationalError, sa.exc.InterfaceError)
#: seconds to wait for a PostgreSQL connection before giving up
CONNECT_TIMEOUT_S: Final = 5
#: rows per INSERT round trip (executemany batches)
INSERT_CHUNK_ROWS: Final = 2000

#: canonical pandas dtypes of the stored tables: text ``str`` (missing = NaN), coordinates
#: ``float64`` (missing = NaN), counts ``Int64`` (missing = <NA>), flags ``bool`` (required)
_FLOAT_COLUMNS = frozenset({"lon", "lat"})
_INT_COLUMNS = frozenset({"household_size", "urgency", "capacity_month"})
_BOOL_COLUMNS = frozenset({"synthetic", "coord_approx"})


def _dtype_of(column: str) -> str:
    if column in _FLOAT_COLUMNS:
        return "float64"
    if column in _INT_COLUMNS:
        return "Int64"
    if column in _BOOL_COLUMNS:
        return "bool"
    return "str"


CANONICAL_DTYPES: Final[dict[str, dict[str, str]]] = {
    kind: {c: _dtype_of(c) for c in cols} for kind, cols in TABLE_COLUMNS.items()
}
#: the id column (primary key within a dataset) of each kind
ID_COLUMNS: Final[dict[str, str]] = {kind: cols[0] for kind, cols in TABLE_COLUMNS.items()}
IMPORT_COLUMNS: Final = (
    "import_id", "kind", "dataset", "file_name", "file_sha256", "n_read", "n_accepted", "n_rejected",
    "crs_detected", "created_at", "user_name",
)  # fmt: skip
SCENARIO_COLUMNS: Final = ("scenario_id", "name", "created_at", "author", "payload")
SCENARIO_OPS: Final = ("add", "remove", "move")


@dataclass(frozen=True)
class ImportMeta:
    """What an import records next to its rows (table ``imports``).

    Parameters
    ----------
    file_name : str
        Name of the imported file, as the user uploaded it.
    file_sha256 : str
        SHA-256 of the file's bytes (hex).
    n_read, n_accepted, n_rejected : int
        Rows read from the file, accepted and rejected by validation.
    crs_detected : str or None
        Coordinate system found in the file (``"GCJ-02"``, ``"EPSG:4326"`` ...).
    user_name : str or None
        Who imported it.
    """

    file_name: str
    file_sha256: str
    n_read: int
    n_accepted: int
    n_rejected: int
    crs_detected: str | None = None
    user_name: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A stored planner scenario.

    Parameters
    ----------
    scenario_id : int
        Database id.
    name : str
        Name the planner gave it.
    created_at : datetime
        Creation time (UTC, timezone-aware).
    author : str
        Who saved it.
    payload : dict
        ``{"edits": [{"op": "add" | "remove" | "move", "hub_id": ..., "lon": ..., "lat": ...,
        "tier": ..., ...}, ...], "settings": {...}, ...}`` as saved (JSON types).
    """

    scenario_id: int
    name: str
    created_at: datetime
    author: str
    payload: dict[str, Any]


# -- schema ------------------------------------------------------------------------------
#: stable constraint names, so later migrations (users, audit) can refer to them
METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _sql_type(dtype: str) -> sa.types.TypeEngine[Any]:
    if dtype == "float64":
        return sa.Double()
    if dtype == "Int64":
        return sa.Integer()
    if dtype == "bool":
        return sa.Boolean()
    return sa.Text()


def _data_table(kind: str) -> sa.Table:
    id_col = ID_COLUMNS[kind]
    columns = [
        sa.Column(c, _sql_type(dtype), primary_key=c == id_col, nullable=c != id_col and dtype != "bool")
        for c, dtype in CANONICAL_DTYPES[kind].items()
    ]
    return sa.Table(kind, METADATA, sa.Column("dataset", sa.Text(), primary_key=True), *columns)


DATA_TABLES: Final[dict[str, sa.Table]] = {kind: _data_table(kind) for kind in KINDS}
IMPORTS = sa.Table(
    "imports",
    METADATA,
    sa.Column("import_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("dataset", sa.Text(), nullable=False),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("file_sha256", sa.Text(), nullable=False),
    sa.Column("n_read", sa.Integer(), nullable=False),
    sa.Column("n_accepted", sa.Integer(), nullable=False),
    sa.Column("n_rejected", sa.Integer(), nullable=False),
    sa.Column("crs_detected", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_name", sa.Text()),
)
SCENARIOS = sa.Table(
    "scenarios",
    METADATA,
    sa.Column("scenario_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
    sa.Column("payload", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)
#: reviewed duplicate-provision flags (:mod:`data.duplicate_reviews`): one row per dataset and
#: flag, the record keys (``department/record_id``) that were reviewed, as a JSON list
DUPLICATE_REVIEWS = sa.Table(
    "duplicate_reviews",
    METADATA,
    sa.Column("dataset", sa.Text(), primary_key=True),
    sa.Column("flag_id", sa.Text(), primary_key=True),
    sa.Column("person_key", sa.Text(), nullable=False),
    sa.Column("item_group", sa.Text(), nullable=False),
    sa.Column("period", sa.Text(), nullable=False),
    sa.Column("record_keys", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("reviewed_by", sa.Text(), nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
)


#: satisfaction feedback (:mod:`data.feedback`): one row per response, appended only
FEEDBACK = sa.Table(
    "feedback",
    METADATA,
    sa.Column("feedback_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.Text(), nullable=False),
    sa.Column("provider_id", sa.Text()),
    sa.Column("hub_id", sa.Text()),
    sa.Column("town_code", sa.Text()),
    sa.Column("community_code", sa.Text()),
    sa.Column("item_id", sa.Text(), nullable=False),
    sa.Column("score", sa.Integer(), nullable=False),
    sa.Column("channel", sa.Text(), nullable=False),
    sa.Column("date", sa.Text(), nullable=False),
    sa.Column("comment", sa.Text()),
    sa.Column("synthetic", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
)
#: survey files saved into ``feedback`` (:func:`data.feedback.save_feedback`): one row per dataset and
#: file content, written in the same transaction as the responses, so one file is never saved twice
FEEDBACK_FILES = sa.Table(
    "feedback_files",
    METADATA,
    sa.Column("dataset", sa.Text(), primary_key=True),
    sa.Column("file_sha256", sa.Text(), primary_key=True),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("n_rows", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
)
#: monthly versions of the needs / offers / service-record lists (:mod:`data.monthly`): the rows
#: of one import as JSON records; a new import of a month adds a version, nothing is replaced
LIST_VERSIONS = sa.Table(
    "list_versions",
    METADATA,
    sa.Column("dataset", sa.Text(), primary_key=True),
    sa.Column("kind", sa.Text(), primary_key=True),
    sa.Column("month", sa.Text(), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("n_rows", sa.Integer(), nullable=False),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
    sa.Column("rows", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)


NEED_ALIASES = sa.Table(
    "need_aliases",
    METADATA,
    sa.Column("wording", sa.Text(), primary_key=True),
    sa.Column("item_id", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
)


# -- URLs ----------------------------------------------------------------------------------
def default_sqlite_path() -> Path:
    """The SQLite file used when no URL is given: ``$XDG_DATA_HOME/xihu-service-map/xihu.sqlite``.

    Returns
    -------
    Path
        ``~/.local/share/xihu-service-map/xihu.sqlite`` unless ``XDG_DATA_HOME`` is set.
    """
    return default_data_dir() / SQLITE_FILE_NAME


def database_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``DATABASE_URL``, else the default SQLite file.

    ``postgres://`` and ``postgresql://`` URLs get the installed driver (psycopg 3).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL.

    Returns
    -------
    str
        A SQLAlchemy URL.
    """
    url = url or env_value(ENV_DATABASE_URL)
    if url is None:
        path = default_sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# -- frames <-> rows -------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        msg = f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}"
        raise StorageError(msg)


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"{what} must be a non-empty text, got {value!r}"
        raise StorageError(msg)


def canonical_frame(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns of ``frame``, in canonical order and dtypes (:data:`CANONICAL_DTYPES`).

    Parameters
    ----------
    kind : str
        ``"hubs"``, ``"providers"`` or ``"beneficiaries"``.
    frame : pandas.DataFrame
        Holds at least the canonical columns of ``kind``; other columns are dropped.

    Returns
    -------
    pandas.DataFrame
        Exactly the columns ``TABLE_COLUMNS[kind]``, index unchanged.

    Raises
    ------
    StorageError
        A canonical column is missing or holds values of the wrong type, a flag is missing,
        or an id is missing or repeated.
    """
    _check_kind(kind)
    columns = TABLE_COLUMNS[kind]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{kind}: missing columns {', '.join(missing)} (expected {', '.join(columns)})"
        raise StorageError(msg)
    out = {}
    for col, dtype in CANONICAL_DTYPES[kind].items():
        s = frame[col]
        if dtype == "bool" and not pd.api.types.is_bool_dtype(s.dtype):
            bad = ~s.isin([True, False])
            if bad.any():
                msg = f"{kind}.{col} must be true/false; found {s[bad].iloc[0]!r} ({int(bad.sum())} rows)"
                raise StorageError(msg)
        try:
            out[col] = s.astype(pd.api.types.pandas_dtype(dtype))
        except (TypeError, ValueError) as exc:
            msg = f"{kind}.{col} cannot be stored as {dtype}: {exc}"
            raise StorageError(msg) from exc
    result = pd.DataFrame(out, index=frame.index)
    ids = result[ID_COLUMNS[kind]]
    blank = ids.isna() | (ids.str.strip() == "")
    if blank.any():
        msg = f"{kind}: {int(blank.sum())} rows have no {ID_COLUMNS[kind]}"
        raise StorageError(msg)
    dup = ids[ids.duplicated()]
    if len(dup):
        msg = f"{kind}: {ID_COLUMNS[kind]} repeated in the table: {', '.join(dup.unique()[:5])}"
        raise StorageError(msg)
    return result


def _column_values(s: pd.Series, dtype: str) -> list[Any]:
    """A column as plain Python values, missing -> ``None``."""
    if dtype == "float64":
        return [None if math.isnan(v) else v for v in s.to_numpy(dtype=float).tolist()]
    if dtype == "bool":
        return s.to_numpy(dtype=bool).tolist()
    values = s.to_numpy(dtype=object)
    values[s.isna().to_numpy()] = None
    return values.tolist()


def _rows_from_frame(kind: str, frame: pd.DataFrame, dataset: str) -> list[dict[str, Any]]:
    columns = [_column_values(frame[c], dtype) for c, dtype in CANONICAL_DTYPES[kind].items()]
    names = ("dataset", *TABLE_COLUMNS[kind])
    return [dict(zip(names, (dataset, *values), strict=True)) for values in zip(*columns, strict=True)]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert_chunk(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """One executemany round trip (a seam for the transactionality tests)."""
    conn.execute(table.insert(), rows)


def utc_time(value: datetime) -> datetime:
    """SQLite returns naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        msg = f"a scenario payload is a mapping, got {type(payload).__name__}"
        raise StorageError(msg)
    edits = payload.get("edits", [])
    if not isinstance(edits, list):
        msg = "scenario payload: 'edits' must be a list"
        raise StorageError(msg)
    for i, edit in enumerate(edits):
        if not isinstance(edit, Mapping) or edit.get("op") not in SCENARIO_OPS or not edit.get("hub_id"):
            msg = f"scenario edit {i}: needs 'op' ({' / '.join(SCENARIO_OPS)}) and 'hub_id', got {edit!r}"
            raise StorageError(msg)
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        msg = f"scenario payload is not plain JSON (finite numbers, text, lists, mappings): {exc}"
        raise StorageError(msg) from exc
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# -- the store --------------------------------------------------------------------------------
class Store:
    """The project's database: canonical tables per dataset, imports and scenarios.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default ``DATABASE_URL``, else a SQLite file under the user data
        directory (:func:`default_sqlite_path`, created). Tables are created when missing.

    Notes
    -----
    The engine is thread-safe: one ``Store`` per process is enough (``st.cache_resource``).
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        # pool_pre_ping: a pooled connection that died with a database restart is replaced
        # before use, so the first query after the restart succeeds instead of failing
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if self.url.startswith("postgresql") else {}
        self.engine: Engine = sa.create_engine(self.url, pool_pre_ping=True, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_on_connect)
        METADATA.create_all(self.engine)
        logger.info("storage: %s", self.engine.url.render_as_string(hide_password=True))

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def ping(self) -> None:
        """Ask the database for ``SELECT 1``.

        Raises
        ------
        sqlalchemy.exc.OperationalError
            The database cannot be reached (one of :data:`DATABASE_DOWN_ERRORS`).
        """
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return str(self.engine.dialect.name)

    # -- canonical tables
    def save_table(
        self,
        kind: str,
        frame: pd.DataFrame,
        *,
        dataset: str,
        replace: bool = True,
        import_meta: ImportMeta | None = None,
        in_transaction: Callable[[Connection, int], object] | None = None,
    ) -> int:
        """Store a canonical table in one transaction.

        Parameters
        ----------
        kind : str
            ``"hubs"``, ``"providers"`` or ``"beneficiaries"``.
        frame : pandas.DataFrame
            The rows, with the canonical columns (:func:`canonical_frame`).
        dataset : str
            Dataset the rows belong to (``"demo"``, ``"user"`` ...).
        replace : bool
            Delete the dataset's stored rows of ``kind`` first; otherwise add to them
            (an id already stored is then an error).
        import_meta : ImportMeta, optional
            Recorded in ``imports`` in the same transaction.
        in_transaction : callable, optional
            Called as ``in_transaction(conn, n_rows)`` after the rows are written, inside
            the same transaction, e.g. to append the import's audit entry
            (:meth:`data.accounts.audit.AuditLog.append_in`): the rows and the entry are committed
            together or not at all. An exception it raises rolls back everything and
            propagates.

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StorageError
            Bad columns, values or ids; nothing was changed.
        """
        _check_name(dataset, "dataset")
        _check_kind(kind)
        table = DATA_TABLES[kind]
        rows = _rows_from_frame(kind, canonical_frame(kind, frame), dataset)
        try:
            with self.engine.begin() as conn:
                if replace:
                    conn.execute(sa.delete(table).where(table.c.dataset == dataset))
                for chunk in _chunks(rows, INSERT_CHUNK_ROWS):
                    _insert_chunk(conn, table, chunk)
                if import_meta is not None:
                    record = {**asdict(import_meta), "kind": kind, "dataset": dataset, "created_at": datetime.now(UTC)}
                    conn.execute(IMPORTS.insert(), record)
                if in_transaction is not None:
                    in_transaction(conn, len(rows))
        except sa.exc.IntegrityError as exc:
            msg = (
                f"{kind}: cannot store dataset {dataset!r}, nothing was changed "
                f"(a {ID_COLUMNS[kind]} is already stored, or a required value is missing): {exc.orig}"
            )
            raise StorageError(msg) from exc
        logger.info("stored %d %s in dataset %r (replace=%s)", len(rows), kind, dataset, replace)
        return len(rows)

    def load_table(self, kind: str, *, dataset: str) -> pd.DataFrame:
        """A stored table, in canonical columns and dtypes, sorted by id.

        Parameters
        ----------
        kind : str
            ``"hubs"``, ``"providers"`` or ``"beneficiaries"``.
        dataset : str
            Dataset to read; an unknown dataset gives an empty table.

        Returns
        -------
        pandas.DataFrame
            Columns ``TABLE_COLUMNS[kind]`` with :data:`CANONICAL_DTYPES`, a ``RangeIndex``,
            rows in code-point order of the id (the same on every database).
        """
        _check_kind(kind)
        table = DATA_TABLES[kind]
        columns = TABLE_COLUMNS[kind]
        query = sa.select(*(table.c[c] for c in columns)).where(table.c.dataset == dataset)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records(rows, columns=list(columns))
        frame = frame.astype(CANONICAL_DTYPES[kind])
        # sorted here, not by ORDER BY: PostgreSQL's order depends on the database collation
        return frame.sort_values(ID_COLUMNS[kind], kind="stable", ignore_index=True)

    def datasets(self, kind: str) -> list[str]:
        """Names of the datasets holding rows of ``kind``, sorted."""
        _check_kind(kind)
        table = DATA_TABLES[kind]
        with self.engine.connect() as conn:
            names = conn.execute(sa.select(table.c.dataset).distinct()).scalars().all()
        return sorted(names)

    def list_imports(self, *, kind: str | None = None) -> pd.DataFrame:
        """The import records, newest first.

        Parameters
        ----------
        kind : str, optional
            Only the imports of this kind.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`IMPORT_COLUMNS`; ``created_at`` is ``datetime64[us, UTC]``.
        """
        query = sa.select(*(IMPORTS.c[c] for c in IMPORT_COLUMNS)).order_by(IMPORTS.c.import_id.desc())
        if kind is not None:
            _check_kind(kind)
            query = query.where(IMPORTS.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records(rows, columns=list(IMPORT_COLUMNS))
        frame["created_at"] = pd.to_datetime([utc_time(t) for t in frame["created_at"]], utc=True).as_unit("us")
        ints = ["import_id", "n_read", "n_accepted", "n_rejected"]
        return frame.astype({c: "int64" if c in ints else "str" for c in IMPORT_COLUMNS if c != "created_at"})

    def dataset_version(self, dataset: str) -> int:
        """A number that changes whenever anything stored for ``dataset`` changes: an import of
        its hubs, providers or beneficiaries (table ``imports``) or a list version of its needs,
        offers, service records or catalogue (table ``list_versions``). A cache-key part.

        Both tables are append-only (an import or a version is never deleted or rewritten),
        so the set of their keys identifies the stored state.
        """
        _check_name(dataset, "dataset")
        with self.engine.connect() as conn:
            imports = conn.execute(
                sa.select(sa.func.count(), sa.func.max(IMPORTS.c.import_id)).where(IMPORTS.c.dataset == dataset)
            ).one()
            t = LIST_VERSIONS
            lists = conn.execute(sa.select(t.c.kind, t.c.month, t.c.version).where(t.c.dataset == dataset)).all()
        state = repr((tuple(imports), sorted(tuple(r) for r in lists)))
        return zlib.crc32(state.encode("utf-8"))

    # -- scenarios
    def save_scenario(self, name: str, payload: Mapping[str, Any], *, author: str) -> int:
        """Store a planner scenario.

        Parameters
        ----------
        name : str
            Name shown in the planner.
        payload : Mapping
            Plain JSON: ``{"edits": [{"op": "add" | "remove" | "move", "hub_id": ..., ...}],
            "settings": {...}}``; every edit needs ``op`` and ``hub_id``.
        author : str
            Who saves it.

        Returns
        -------
        int
            The new scenario id.
        """
        _check_name(name, "scenario name")
        _check_name(author, "author")
        clean = _check_payload(payload)
        row = {"name": name, "created_at": datetime.now(UTC), "author": author, "payload": clean}
        with self.engine.begin() as conn:
            new_id = conn.execute(SCENARIOS.insert().returning(SCENARIOS.c.scenario_id), row).scalar_one()
        return int(new_id)

    def load_scenario(self, scenario_id: int) -> Scenario:
        """A stored scenario.

        Raises
        ------
        ScenarioNotFoundError
            No scenario has this id.
        """
        query = sa.select(*(SCENARIOS.c[c] for c in SCENARIO_COLUMNS)).where(SCENARIOS.c.scenario_id == scenario_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            msg = f"no scenario with id {scenario_id}"
            raise ScenarioNotFoundError(msg)
        return Scenario(int(row.scenario_id), row.name, utc_time(row.created_at), row.author, dict(row.payload))

    def list_scenarios(self) -> pd.DataFrame:
        """The stored scenarios without their payloads, newest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``scenario_id`` (int64), ``name``, ``created_at`` (``datetime64[us, UTC]``),
            ``author``.
        """
        columns = [c for c in SCENARIO_COLUMNS if c != "payload"]
        query = sa.select(*(SCENARIOS.c[c] for c in columns)).order_by(SCENARIOS.c.scenario_id.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records(rows, columns=columns)
        frame["created_at"] = pd.to_datetime([utc_time(t) for t in frame["created_at"]], utc=True).as_unit("us")
        return frame.astype({"scenario_id": "int64", "name": "str", "author": "str"})

    # -- need wording
    def save_need_alias(self, wording: str, item_id: str, *, author: str) -> None:
        """Remember that ``wording`` in a 需求 cell means catalogue item ``item_id`` (replaces any earlier one).

        The wording is stored normalised (:func:`data.needs.normalize_wording`); the next
        import matches it before anything else. Whether ``item_id`` is in the catalogue in
        use is the caller's check (the Data page offers only catalogue items).
        """
        from data.needs import normalize_wording

        key = normalize_wording(wording)
        _check_name(key, "need wording")
        _check_name(item_id, "item_id")
        _check_name(author, "author")
        row = {"wording": key, "item_id": item_id, "created_at": datetime.now(UTC), "author": author}
        with self.engine.begin() as conn:
            conn.execute(sa.delete(NEED_ALIASES).where(NEED_ALIASES.c.wording == key))
            conn.execute(NEED_ALIASES.insert(), row)

    def need_aliases(self) -> dict[str, str]:
        """Every remembered need wording -> item_id (for :func:`data.importer.import_table`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(NEED_ALIASES.c.wording, NEED_ALIASES.c.item_id)).all()
        return {str(w): str(i) for w, i in rows}

    def delete_need_alias(self, wording: str) -> bool:
        """Forget a remembered wording; True when there was one."""
        from data.needs import normalize_wording

        with self.engine.begin() as conn:
            n = conn.execute(
                sa.delete(NEED_ALIASES).where(NEED_ALIASES.c.wording == normalize_wording(wording))
            ).rowcount
        return bool(n)

    def delete_scenario(self, scenario_id: int) -> None:
        """Delete a scenario.

        Raises
        ------
        ScenarioNotFoundError
            No scenario has this id.
        """
        with self.engine.begin() as conn:
            deleted = conn.execute(sa.delete(SCENARIOS).where(SCENARIOS.c.scenario_id == scenario_id)).rowcount
        if not deleted:
            msg = f"no scenario with id {scenario_id}"
            raise ScenarioNotFoundError(msg)
