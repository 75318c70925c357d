"""User-facing errors of ``data`` (import, files, storage)."""

from __future__ import annotations

from geo.errors import GeoError


class DataError(GeoError):
    """Base class of expected data errors; the message says what to fix."""


class NetworkSourceError(DataError):
    """A network source file cannot be read or has an unknown format."""


class TableLimitError(DataError):
    """An uploaded table is too big to read (unpacked size, rows, columns, cells or parse time).

    The message (Chinese, English in brackets) says which limit and what to do.
    """
