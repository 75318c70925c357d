"""User-facing errors of ``data`` (import, files, storage)."""

from __future__ import annotations

from geo.errors import GeoError


class DataError(GeoError):
    """Base class of expected data errors; the message says what to fix."""


class NetworkSourceError(DataError):
    """A network source file cannot be read or has an unknown format."""
