"""Errors that tell the user what to do.

Each is a ``ValueError`` subclass; pages and command lines catch them and show the
message (in the user's language where a translation exists). Anything else is a bug.
"""

from __future__ import annotations


class GeoError(ValueError):
    """Base class of the expected, user-facing errors of ``geo``."""


class EmptyNetworkError(GeoError):
    """The source holds no walkable way."""


class CRSMismatchError(GeoError):
    """Inputs are in a CRS the computation cannot use."""


class InputColumnsError(GeoError):
    """A table misses required columns or holds unparsable values."""


class HubError(GeoError):
    """A hub set is invalid (empty, duplicate ids, unknown hub)."""
