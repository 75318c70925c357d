"""Every expected, user-facing error of the project, in one tree.

Each is a ``ValueError`` subclass whose message says what to do; pages and command lines
catch them and show the message (in the user's language where one is given). Anything
else is a bug and must surface in tests. The families are siblings under
:class:`XihuError`, one per concern::

    XihuError
    ├── SettingsError an analysis setting out of range
    ├── GeoError      computation: networks, hubs, candidates, siting, scenarios, matching,
    │                 disclosure, accessibility, provider search
    ├── DataError     files, tables, coordinate systems, storage, uploads, the demo bundle,
    │                 service records and duplicate-provision flags
    ├── AccountError  sign-in (AuthError), area access (AccessError), the audit log (AuditError)
    ├── CliError      a command line was called wrongly
    ├── MapError      a map cannot be drawn as asked
    └── ReportError   a report cannot be written

Messages are built as ``msg = ...; raise X(msg)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

#: Beijing time, for every date and time shown to users (storage is UTC)
CHINA_TZ: Final = timezone(timedelta(hours=8), "CST")


class XihuError(ValueError):
    """Root of the expected errors: catch this where any user-facing error may arrive.

    Parameters
    ----------
    msg : str
        The message (English where the raise is in a computation; logs and command lines print it).
    key : str, optional
        The message's entry in the one catalogue (:data:`core.i18n.TEXT`), for an error a person
        can cause from a page; :func:`core.i18n.error_text` gives it in the user's language.
    **params
        The values the catalogue entry is formatted with (``town_code`` / ``town_codes`` are
        shown as town names where the page knows them).
    """

    def __init__(self, msg: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(msg)
        self.key = key
        self.params = params


class SettingsError(XihuError):
    """An analysis setting is out of its range (minutes, speed, H3 resolution)."""


# -- geo: computation ------------------------------------------------------------------
class GeoError(XihuError):
    """An expected problem of a computation; the message says what to change."""


class EmptyNetworkError(GeoError):
    """The source holds no walkable way."""


class CRSMismatchError(GeoError):
    """Inputs are in a CRS the computation cannot use."""


class InputColumnsError(GeoError):
    """A table misses required columns or holds unparsable values."""


class HubError(GeoError):
    """A hub set is invalid (empty, duplicate ids, unknown hub)."""


class CandidateError(GeoError):
    """Candidate sites cannot be built as asked (no gap, no site in a town, bad list)."""


class ScenarioError(GeoError):
    """An edit or a saved scenario cannot be applied (unknown hub, bad coordinates, other settings)."""


class SitingError(GeoError):
    """A siting model cannot be set up or has no solution (too few sites, unreachable target)."""


class SolverError(GeoError):
    """The solver (HiGHS) failed or stopped without a usable answer; the message says why."""


class MatchingError(GeoError):
    """Needs, offers or a catalogue cannot be matched as given (bad table, unknown item or offer)."""


class SuppressionError(GeoError):
    """The counts or relations are inconsistent, or a primary cell cannot be protected."""


class AccessibilityError(GeoError):
    """An accessibility (E2SFCA) input is inconsistent: unknown ids, negative values, bad decay zones."""


class ProviderSearchError(GeoError):
    """A provider search cannot run as asked (no point, bad minutes, unknown item, missing columns)."""


class PartitionError(GeoError):
    """A batch cannot be partitioned as asked (tile size, boundary polygons, duplicate ids)."""


# -- data: the outside world -----------------------------------------------------------
class DataError(XihuError):
    """An expected problem with a file, a table or the database; the message says what to fix."""


class NetworkSourceError(DataError):
    """A network source file cannot be read or has an unknown format."""


class TableReadError(DataError):
    """A table file cannot be read."""


class TableLimitError(DataError):
    """An uploaded table is too big to read (unpacked size, rows, columns, cells or parse time).

    The message (Chinese, English in brackets) says which limit and what to do.
    """


class ColumnMappingError(DataError):
    """The column mapping is invalid or a required column is missing; the message says which."""


class UnknownCRSError(DataError):
    """A coordinate-system name is not one of ``wgs84``, ``gcj02``, ``bd09``."""


class BasemapDataError(DataError):
    """A base-map file is missing or unreadable."""


class DemoDataError(DataError):
    """The demo bundle cannot be built from the files at hand."""


class IdHashKeyError(DataError):
    """The ID hashing key is missing, too short or unreadable."""


class StorageError(DataError):
    """A table or scenario cannot be stored as given (columns, values, duplicate ids)."""


class ScenarioNotFoundError(StorageError):
    """No scenario has the requested id."""


class UploadRejectedError(DataError):
    """An uploaded file has the wrong type, size or content; the message says what to do."""


class BatchStorageError(DataError):
    """A batch's boundary file or output folder cannot be used (unreadable, another run's output)."""


# -- accounts: sign-in, access, audit --------------------------------------------------
class AccountError(XihuError):
    """An expected problem of accounts, area access or the audit log."""


class AuthError(AccountError):
    """An expected sign-in or account problem.

    ``str(exc)`` is the Chinese message followed by the English one in brackets; pages
    show :attr:`message_zh` (or :attr:`message_en`).

    Parameters
    ----------
    message_zh : str
        What to tell the user, in Simplified Chinese.
    message_en : str
        The same in English.
    """

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh = message_zh
        self.message_en = message_en


class InvalidCredentialsError(AuthError):
    """Unknown user name or wrong password: one message for both, by design."""

    def __init__(self) -> None:
        super().__init__("用户名或密码错误", "wrong user name or password")


class AccountLockedError(AuthError):
    """Too many failed sign-ins (for this name or from this client): wait until :attr:`locked_until` (UTC)."""

    def __init__(self, locked_until: datetime) -> None:
        local = locked_until.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(
            f"登录失败次数过多，请于 {local}（北京时间）后再试",
            f"too many failed sign-ins; try again after {local} Beijing time",
        )
        self.locked_until = locked_until


class AccountDisabledError(AuthError):
    """The account was disabled by an administrator (raised for a live session; sign-in says
    :class:`InvalidCredentialsError` instead, so it does not confirm the password)."""

    def __init__(self) -> None:
        super().__init__("该账户已停用，请联系系统管理员", "this account is disabled; ask the administrator")


class SessionExpiredError(AuthError):
    """The session timed out: sign in again."""

    def __init__(self) -> None:
        super().__init__("登录已过期，请重新登录", "the session has expired; please sign in again")


class InvalidSessionError(AuthError):
    """The session token is unknown or was signed out."""

    def __init__(self) -> None:
        super().__init__("未登录或登录已失效，请重新登录", "not signed in, or signed out; please sign in")


class PasswordPolicyError(AuthError):
    """The new password does not meet the policy."""


class UserExistsError(AuthError):
    """An account with this user name exists already."""


class UnknownUserError(AuthError):
    """An administrator named an account that does not exist."""


class AccessError(AccountError):
    """A table cannot be filtered as asked (unknown kind, missing area columns)."""


class ExportNotAllowedError(AccessError):
    """The role may not export individual rows; the message says what it may export instead."""


class AuditError(AccountError):
    """The audit log cannot be written or its key cannot be read."""


class AuditKeyError(AuditError):
    """The audit HMAC key is missing, too short or unreadable."""


# -- the rest --------------------------------------------------------------------------
class CliError(XihuError):
    """An expected command-line problem; the message is printed on one line."""


class MapError(XihuError):
    """A map cannot be drawn as asked."""


class MapInputError(MapError):
    """An argument of the map builder cannot be drawn; the message says which."""


class ExternalAssetError(MapError):
    """An element of the map would load a file from outside the app (a CDN)."""


class ReportError(XihuError):
    """A report cannot be written as asked."""


class FontMissingError(ReportError):
    """No CJK font is available to embed in the reports."""


# -- service records and duplicate provision (重复救助) ------------------------------------
class ServiceRecordsError(DataError):
    """A service-records file cannot be used (a required column is missing, no data rows)."""


class CatalogueError(DataError):
    """A service catalogue file cannot be used (missing columns, repeated item ids, clashing aliases)."""


class DuplicateFlagError(DataError):
    """Duplicate-provision flags cannot be computed or reviewed as asked (bad period, unknown flag, empty note)."""


class CapacityInputError(DataError):
    """Provider capacity cannot be assessed from the tables given (missing columns of records or offers)."""


class FeedbackError(DataError):
    """Satisfaction feedback cannot be recorded as given (score, channel, provider or hub, date)."""


class MonthlyListError(DataError):
    """A monthly list version cannot be stored or compared (kind, month, rows)."""
