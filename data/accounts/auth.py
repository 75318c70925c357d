"""Sign-in: accounts, roles, argon2 password hashes, sessions, lockout, sign-out.

Accounts live in the project's database (:class:`data.storage.Store`, SQLite or
PostgreSQL), in tables added to the shared :data:`data.storage.METADATA`:

``users``
    One row per account: ``username`` (unique, normalised: NFKC, stripped, lower-case),
    ``password_hash`` (argon2id, PHC string; the password itself is never stored),
    ``role`` (:class:`Role`), ``town_code`` / ``village_code`` (the area of the manager
    roles), ``display_name``, ``disabled``, ``created_at``, ``updated_at``,
    ``last_login_at``.
``auth_sessions``
    One row per signed-in session: the SHA-256 of the session token (the token itself
    only ever exists in the user's browser session), ``user_id``, ``created_at``,
    ``expires_at`` (idle timeout, renewed on use, never past ``created_at`` plus the
    absolute maximum).
``login_throttle``
    Consecutive failed sign-ins and ``locked_until`` per *key*: a keyed hash (HMAC-SHA256,
    :meth:`data.accounts.audit.AuditLog.derived_key`) of the typed user name, **known or not** (so
    the answer does not tell an attacker which names exist), of the name plus the client,
    and of the client. Typed names are never stored in clear, and every key is 64
    characters however long the input. Rows idle longer than ``lockout_minutes`` are
    purged on every failed sign-in, so names nobody uses do not pile up.

Sign-in protection (OWASP's authentication and credential-stuffing guidance): input is
bounded before anything is hashed or stored (a user name of at most
:data:`MAX_USERNAME_CHARS`, a password of at most :data:`MAX_PASSWORD_CHARS` characters;
longer input fails like a wrong password and counts against the client only). Then

* **per client** (the connection's IP address, or the browser session where the app sees
  no address) a hard limit: ``client_max_failures`` failures within ``lockout_minutes``
  block that client for ``lockout_minutes``; its attempts no longer touch any account;
* **per account and client**, after ``max_failures`` consecutive failures, a progressive
  delay: each further failure doubles the wait (``backoff_seconds``, then 2x, 4x, ...,
  at most ``lockout_minutes``); tries during the wait are refused without checking the
  password;
* **per account over all clients** the same progressive delay after
  ``account_max_failures`` failures (a distributed guesser).

So someone who types a real user's name and wrong passwords delays only their own tries
from their own client; the real user, from another client, signs in normally unless many
clients fail on that name together. A success clears the account's rows (never the
client's: an attacker with one valid account cannot reset their own count).
:class:`AccountLockedError` says until when (Beijing time).

Sign-in answers the same :class:`InvalidCredentialsError` message for an unknown user, a
wrong password and a disabled account (right password or not: "disabled" would confirm
the password), and spends the same argon2 work on each. A hash made with older argon2
parameters is re-hashed on the next successful sign-in.

Every time is UTC and can be injected (``now=``) so tests need no sleeping. Roles and
what they may see are in :mod:`data.accounts.access`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from core.errors import (
    AccountDisabledError,
    AccountLockedError,
    AuthError,
    InvalidCredentialsError,
    InvalidSessionError,
    PasswordPolicyError,
    SessionExpiredError,
    UnknownUserError,
    UserExistsError,
)
from core.i18n import label
from data.storage import METADATA, Store

if TYPE_CHECKING:
    from data.accounts.audit import AuditLog

logger = logging.getLogger(__name__)

#: Beijing time (no daylight saving), for the times shown to users

MIN_PASSWORD_CHARS: Final = 10
#: longer passwords are refused: argon2 would hash them, but it is a cheap denial of service;
#: at sign-in a longer one is refused before any hashing
MAX_PASSWORD_CHARS: Final = 256
#: longest user name (also checked at sign-in, before anything is stored)
MAX_USERNAME_CHARS: Final = 64
#: bytes of randomness of a session token (``secrets.token_urlsafe``: 43 characters)
TOKEN_BYTES: Final = 32
_USERNAME_RE: Final = re.compile(r"^[\w.@-]{2,64}$")
_AREA_CODE_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Role(StrEnum):
    """The five roles; what each may see is decided in :mod:`data.accounts.access`."""

    ADMIN = "admin"
    PLANNER = "planner"
    TOWN_MANAGER = "town_manager"
    VILLAGE_MANAGER = "village_manager"
    VIEWER = "viewer"

    @property
    def label_zh(self) -> str:
        """The role's Chinese name, as shown in the interface."""
        return label("role", self.value, "zh")

    @property
    def label_en(self) -> str:
        """The role's English name."""
        return label("role", self.value, "en")

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        """A role from its code (``"town_manager"``) or its Chinese name (``"镇街服务站管理员"``).

        Raises
        ------
        AuthError
            ``value`` names no role.
        """
        if isinstance(value, Role):
            return value
        text = str(value).strip()
        for role in cls:
            if text in (role.value, role.label_zh):
                return role
        codes = "、".join(f"{r.value}（{r.label_zh}）" for r in cls)
        raise AuthError(f"未知角色“{text}”，可选：{codes}", f"unknown role {text!r}")


#: roles bound to an area: the town, resp. the village (community) code is required
AREA_ROLES: Final = frozenset({Role.TOWN_MANAGER, Role.VILLAGE_MANAGER})


# -- errors ------------------------------------------------------------------------------------


# -- values ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class User:
    """A signed-in (or listed) account, without its password hash.

    Attributes
    ----------
    username : str
        Normalised user name (lower-case).
    role : Role
        What the user may see (:mod:`data.accounts.access`).
    town_code : str or None
        Town (镇街) code of a town or village manager, e.g. ``"330106002"``.
    village_code : str or None
        Community / village code of a village manager, e.g. ``"330106002051"`` (its
        village point is the hub ``V330106002051``).
    display_name : str
        Name shown in the interface.
    disabled : bool
        Disabled accounts cannot sign in.
    """

    username: str
    role: Role
    town_code: str | None = None
    village_code: str | None = None
    display_name: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class Session:
    """A signed-in session, as returned once by :meth:`AuthStore.authenticate`.

    Attributes
    ----------
    token : str
        Secret bearer token (``secrets.token_urlsafe``); keep it in the user's session
        state only. The database holds its SHA-256.
    created_at, expires_at : datetime
        UTC; ``expires_at`` moves forward while the session is used.
    user : User
    """

    token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    user: User


# -- schema ----------------------------------------------------------------------------------------
USERS = sa.Table(
    "users",
    METADATA,
    sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text(), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("town_code", sa.Text()),
    sa.Column("village_code", sa.Text()),
    sa.Column("display_name", sa.Text(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(sa.column("role").in_([r.value for r in Role]), name="role"),
)
SESSIONS = sa.Table(
    "auth_sessions",
    METADATA,
    sa.Column("token_sha256", sa.Text(), primary_key=True),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey(USERS.c.user_id, ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
THROTTLE = sa.Table(
    "login_throttle",
    METADATA,
    sa.Column("username", sa.Text(), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)
AUTH_TABLES: Final = (USERS, SESSIONS, THROTTLE)


# -- helpers -----------------------------------------------------------------------------------------
def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (must be timezone-aware) in UTC, or the current time.

    Raises
    ------
    ValueError
        ``now`` is naive: a naive time would silently be read as local or UTC.
    """
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        msg = "now must be timezone-aware (e.g. datetime.now(UTC))"
        raise ValueError(msg)
    return now.astimezone(UTC)


def _from_db(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _db_time(value: datetime) -> datetime:
    """A time in UTC, as every time is written (SQLite keeps the wall time only; :func:`_from_db` reads it as UTC)."""
    return value.astimezone(UTC)


def normalize_username(username: str) -> str:
    """NFKC, stripped, lower-case: ``" Admin "`` and ``"ａｄｍｉｎ"`` are the same account."""
    return unicodedata.normalize("NFKC", str(username)).strip().lower()


def token_digest(token: str) -> str:
    """SHA-256 (hex) of a session token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password_policy(password: str, *, username: str | None = None) -> None:
    """Refuse a password that is too short, too long, blank-padded or equal to the user name.

    Raises
    ------
    PasswordPolicyError
        With a Chinese message saying what to change.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise PasswordPolicyError(
            f"密码至少需要 {MIN_PASSWORD_CHARS} 个字符", f"the password needs at least {MIN_PASSWORD_CHARS} characters"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordPolicyError(
            f"密码不能超过 {MAX_PASSWORD_CHARS} 个字符", f"the password must not exceed {MAX_PASSWORD_CHARS} characters"
        )
    if password != password.strip():
        raise PasswordPolicyError("密码首尾不能有空格", "the password must not start or end with blanks")
    if username is not None and normalize_username(password) == normalize_username(username):
        raise PasswordPolicyError("密码不能与用户名相同", "the password must differ from the user name")


def _check_area_code(value: str | None, what_zh: str, what_en: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not _AREA_CODE_RE.match(text):
        raise AuthError(
            f"{what_zh}“{value}”无效：应为非空的字母、数字编码（如 330106002）",
            f"invalid {what_en} {value!r}: expected a non-empty code of letters and digits",
        )
    return text


def check_user_area(role: Role, town_code: str | None, village_code: str | None) -> tuple[str | None, str | None]:
    """The (town, village) codes an account of ``role`` keeps, validated.

    Town managers need a town code, village managers a village (community) code; a
    village manager's town is derived from a 12-digit statistical village code (its
    first 9 digits) when not given, and must match it when given. Other roles have no
    area (given codes are refused, so an account's reach is never ambiguous).

    Returns
    -------
    tuple of (str or None, str or None)

    Raises
    ------
    AuthError
        A required code is missing or invalid, or the codes do not fit the role.
    """
    town = _check_area_code(town_code, "镇街编码", "town code")
    village = _check_area_code(village_code, "村(社区)编码", "village code")
    if role not in AREA_ROLES:
        if town or village:
            raise AuthError(
                f"角色“{role.label_zh}”不绑定区域，请勿指定镇街或村(社区)编码",
                f"role {role.value} has no area; do not give a town or village code",
            )
        return None, None
    if role is Role.TOWN_MANAGER:
        if town is None:
            raise AuthError("镇街服务站管理员必须指定镇街编码（--town）", "a town manager needs a town code (--town)")
        if village is not None:
            raise AuthError(
                "镇街服务站管理员不绑定村(社区)，请勿指定村(社区)编码", "a town manager has no village code"
            )
        return town, None
    if village is None:
        raise AuthError(
            "村(社区)服务点管理员必须指定村(社区)编码（--village）",
            "a village manager needs a village code (--village)",
        )
    derived = village[:9] if len(village) == 12 and village.isdigit() else None
    if town is None:
        town = derived
    elif derived is not None and derived != town:
        raise AuthError(
            f"村(社区)编码 {village} 不属于镇街 {town}", f"village {village} does not belong to town {town}"
        )
    return town, village


def _user_from_row(row: Any) -> User:
    return User(
        username=row.username,
        role=Role(row.role),
        town_code=row.town_code,
        village_code=row.village_code,
        display_name=row.display_name,
        disabled=bool(row.disabled),
    )


def _upsert(conn: Connection, table: sa.Table, values: dict[str, Any], key: str, update: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE, on SQLite and PostgreSQL."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=update))


# -- the store -------------------------------------------------------------------------------------
class AuthStore:
    """Accounts, sign-in and sessions on a :class:`data.storage.Store`.

    Parameters
    ----------
    store : Store
        The database (its tables are created when missing).
    hasher : argon2.PasswordHasher, optional
        Password hasher; default ``PasswordHasher()`` (argon2id, RFC 9106 low-memory
        profile: 3 passes, 64 MiB, 4 lanes). Tests pass a cheap one explicitly.
    max_failures : int
        Consecutive failed sign-ins of a user name from one client before the progressive
        delays start.
    lockout_minutes : float
        Longest delay, how long a blocked client waits, and how long failures are
        remembered.
    backoff_seconds : float
        First delay; each further failure doubles it (up to ``lockout_minutes``).
    client_max_failures : int
        Failures from one client (any names) within ``lockout_minutes`` that block it.
    account_max_failures : int, optional
        Failures of a user name over all clients before its delays start; default four
        times ``max_failures``.
    session_minutes : float
        Idle timeout: a session unused this long expires.
    session_max_hours : float
        Absolute lifetime of a session, however active.
    audit : AuditLog, optional
        When given, sign-ins, failures, lockouts, sign-outs and account changes are
        recorded there (unknown typed names only as a keyed hash).
    name_key : bytes, optional
        Key of the hashed throttle keys; default derived from the audit key (the same in
        every process), else random per instance.

    Notes
    -----
    One instance per process is enough (``st.cache_resource``); it holds no per-user
    state.
    """

    def __init__(
        self,
        store: Store,
        *,
        hasher: PasswordHasher | None = None,
        max_failures: int = 5,
        lockout_minutes: float = 15,
        session_minutes: float = 30,
        session_max_hours: float = 12,
        audit: AuditLog | None = None,
        backoff_seconds: float = 30,
        client_max_failures: int = 20,
        account_max_failures: int | None = None,
        name_key: bytes | None = None,
    ) -> None:
        account_max = 4 * max_failures if account_max_failures is None else account_max_failures
        if (
            min(max_failures, client_max_failures, account_max) < 1
            or min(lockout_minutes, session_minutes, session_max_hours, backoff_seconds) <= 0
        ):
            msg = "the failure limits, times and delays must be positive"
            raise ValueError(msg)
        self.store = store
        self.hasher = hasher if hasher is not None else PasswordHasher()
        self.max_failures = int(max_failures)
        self.lockout = timedelta(minutes=lockout_minutes)
        self.session_idle = timedelta(minutes=session_minutes)
        self.session_max = timedelta(hours=session_max_hours)
        self.audit = audit
        self.backoff = timedelta(seconds=backoff_seconds)
        self.client_max_failures = int(client_max_failures)
        self.account_max_failures = int(account_max)
        if name_key is None:
            name_key = audit.derived_key("login-throttle") if audit is not None else secrets.token_bytes(32)
        self._name_key = bytes(name_key)
        self._dummy_hash: str | None = None
        METADATA.create_all(store.engine, tables=list(AUTH_TABLES))

    def __repr__(self) -> str:
        return f"AuthStore({self.store!r}, max_failures={self.max_failures}, lockout={self.lockout})"

    # -- audit
    def _record(self, who: str, role: str, action: str, details: dict[str, Any], now: datetime) -> None:
        if self.audit is not None:
            self.audit.append(who, role, action, details, 0, now=now)

    # -- accounts
    def add_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        *,
        town_code: str | None = None,
        village_code: str | None = None,
        display_name: str | None = None,
        actor: str = "system",
        now: datetime | None = None,
    ) -> User:
        """Create an account.

        Parameters
        ----------
        username : str
            2-64 letters, digits or ``_ . @ -``; stored normalised (:func:`normalize_username`).
        password : str
            At least :data:`MIN_PASSWORD_CHARS` characters (:func:`check_password_policy`).
        role : Role or str
            A :class:`Role` or its code / Chinese name.
        town_code, village_code : str, optional
            The area of a town or village manager (:func:`check_user_area`).
        display_name : str, optional
            Shown in the interface; default the user name.
        actor : str
            Who creates the account (for the audit log).
        now : datetime, optional
            Creation time (UTC-aware), for tests.

        Returns
        -------
        User

        Raises
        ------
        AuthError
            Bad user name, role or area (:class:`PasswordPolicyError` for the password,
            :class:`UserExistsError` when the name is taken).
        """
        name = normalize_username(username)
        if not _USERNAME_RE.match(name):
            raise AuthError(
                f"用户名“{username}”无效：需 2-64 个字母、数字或 _ . @ -",
                f"invalid user name {username!r}: use 2-64 letters, digits or _ . @ -",
            )
        role = Role.parse(role)
        town, village = check_user_area(role, town_code, village_code)
        check_password_policy(password, username=name)
        t = utc_now(now)
        shown = (display_name or "").strip() or name
        row = {
            "username": name,
            "password_hash": self.hasher.hash(password),
            "role": role.value,
            "town_code": town,
            "village_code": village,
            "display_name": shown,
            "disabled": False,
            "created_at": _db_time(t),
            "updated_at": _db_time(t),
        }
        try:
            with self.store.engine.begin() as conn:
                conn.execute(USERS.insert(), row)
        except sa.exc.IntegrityError as exc:
            raise UserExistsError(f"用户名“{name}”已存在", f"user {name!r} exists already") from exc
        logger.info("account %s created (%s)", name, role.value)
        self._record(
            actor, "admin", "user_add", {"username": name, "role": role.value, "town": town, "village": village}, t
        )
        return User(name, role, town, village, shown, False)

    def get_user(self, username: str) -> User | None:
        """The account of ``username``, or None."""
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.username == normalize_username(username))).one_or_none()
        return None if row is None else _user_from_row(row)

    def list_users(self) -> list[User]:
        """Every account, sorted by user name."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(USERS)).all()
        return sorted((_user_from_row(r) for r in rows), key=lambda u: u.username)

    def _update_user(self, username: str, values: dict[str, Any], now: datetime) -> int:
        name = normalize_username(username)
        with self.store.engine.begin() as conn:
            user_id = conn.execute(sa.select(USERS.c.user_id).where(USERS.c.username == name)).scalar_one_or_none()
            if user_id is None:
                raise UnknownUserError(f"用户“{name}”不存在", f"no user {name!r}")
            conn.execute(USERS.update().where(USERS.c.user_id == user_id).values(**values, updated_at=_db_time(now)))
            # every change of password or status ends the account's sessions
            conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.user_id == user_id))
        return int(user_id)

    def set_password(self, username: str, password: str, *, actor: str = "system", now: datetime | None = None) -> None:
        """Set a new password; signs the account out everywhere and clears its lockout.

        Raises
        ------
        PasswordPolicyError, UnknownUserError
        """
        name = normalize_username(username)
        check_password_policy(password, username=name)
        t = utc_now(now)
        self._update_user(name, {"password_hash": self.hasher.hash(password)}, t)
        with self.store.engine.begin() as conn:
            self._clear_account(conn, name)
        self._record(actor, "admin", "user_set_password", {"username": name}, t)

    def disable_user(self, username: str, *, actor: str = "system", now: datetime | None = None) -> None:
        """Disable an account and end its sessions (the row stays, for the audit trail).

        Raises
        ------
        UnknownUserError
        """
        t = utc_now(now)
        self._update_user(username, {"disabled": True}, t)
        self._record(actor, "admin", "user_disable", {"username": normalize_username(username)}, t)

    def enable_user(self, username: str, *, actor: str = "system", now: datetime | None = None) -> None:
        """Enable a disabled account again.

        Raises
        ------
        UnknownUserError
        """
        t = utc_now(now)
        self._update_user(username, {"disabled": False}, t)
        self._record(actor, "admin", "user_enable", {"username": normalize_username(username)}, t)

    # -- sign-in
    def _verify_dummy(self, password: str) -> None:
        """Spend the same argon2 work as a real check, so timing does not reveal unknown names."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        with contextlib.suppress(VerificationError):
            self.hasher.verify(self._dummy_hash, password)

    # -- throttle
    def _hash(self, *parts: str) -> str:
        body = "\x00".join(parts).encode("utf-8")
        return hmac.new(self._name_key, body, hashlib.sha256).hexdigest()

    def _keys(self, name: str, client: str | None) -> dict[str, str]:
        """Throttle keys: the account (all clients), the account from this client, the client."""
        account = self._hash("name", name)
        keys = {
            "account": f"a:{account}",
            "account_client": f"ac:{account[:32]}:{self._hash('ac', name, client or '')}",
        }
        if client:
            keys["client"] = f"c:{self._hash('client', client)}"
        return keys

    def _delay(self, failures: int, threshold: int) -> timedelta | None:
        """The wait after ``failures`` consecutive failures (None below ``threshold``)."""
        if failures < threshold:
            return None
        steps = min(failures - threshold, 30)
        return min(self.backoff * (2**steps), self.lockout)

    def _purge_throttle(self, conn: Connection, now: datetime) -> None:
        """Forget the failures of keys with no failure and no wait for the last ``lockout_minutes``."""
        old = _db_time(now - self.lockout)
        conn.execute(
            sa.delete(THROTTLE).where(
                THROTTLE.c.last_failure_at <= old,
                sa.or_(THROTTLE.c.locked_until.is_(None), THROTTLE.c.locked_until <= old),
            )
        )

    def _clear_account(self, conn: Connection, name: str) -> None:
        account = self._hash("name", name)
        conn.execute(
            sa.delete(THROTTLE).where(
                sa.or_(THROTTLE.c.username == f"a:{account}", THROTTLE.c.username.like(f"ac:{account[:32]}:%"))
            )
        )

    def _waiting_until(self, conn: Connection, keys: dict[str, str], now: datetime) -> datetime | None:
        rows = conn.execute(sa.select(THROTTLE).where(THROTTLE.c.username.in_(list(keys.values())))).all()
        waits = [u for u in (_from_db(r.locked_until) for r in rows) if u is not None and u > now]
        return max(waits) if waits else None

    def _count_failure(self, keys: dict[str, str], now: datetime) -> datetime | None:
        """Add a failure to each key; returns the latest wait this failure sets (None when none)."""
        thresholds = {
            "account": self.account_max_failures,
            "account_client": self.max_failures,
            "client": self.client_max_failures,
        }
        latest: datetime | None = None
        with self.store.engine.begin() as conn:
            self._purge_throttle(conn, now)
            for kind, key in keys.items():
                _upsert(
                    conn,
                    THROTTLE,
                    {"username": key, "failures": 1, "last_failure_at": _db_time(now), "locked_until": None},
                    "username",
                    {"failures": THROTTLE.c.failures + 1, "last_failure_at": _db_time(now)},
                )
                n = conn.execute(sa.select(THROTTLE.c.failures).where(THROTTLE.c.username == key)).scalar_one()
                if kind == "client":  # a hard limit: the client waits the whole lockout
                    wait = self.lockout if n >= thresholds[kind] else None
                else:
                    wait = self._delay(int(n), thresholds[kind])
                if wait is None:
                    continue
                until = now + wait
                conn.execute(THROTTLE.update().where(THROTTLE.c.username == key).values(locked_until=_db_time(until)))
                latest = until if latest is None else max(latest, until)
        return latest

    def failures(self, username: str, *, client: str | None = None) -> int:
        """Consecutive failed sign-ins recorded for ``username`` (known or not): over all
        clients, or from ``client`` when given."""
        keys = self._keys(normalize_username(username), client)
        key = keys["account_client"] if client else keys["account"]
        with self.store.engine.connect() as conn:
            n = conn.execute(sa.select(THROTTLE.c.failures).where(THROTTLE.c.username == key)).scalar_one_or_none()
        return int(n or 0)

    def _audit_name(self, name: str, known: bool) -> str:
        """Who a failed sign-in is recorded as: the account, or a keyed hash of an unknown typed name."""
        return name if known else f"?{self._hash('audit', name)[:16]}"

    def authenticate(
        self, username: str, password: str, *, client: str | None = None, now: datetime | None = None
    ) -> Session:
        """Check a user name and password and open a session.

        Parameters
        ----------
        username, password : str
            As typed in the sign-in form.
        client : str, optional
            Who is signing in: the connection's IP address (or a browser-session id where
            there is none), for the per-client limit. Without it only the per-name limits
            apply.
        now : datetime, optional
            Current time (UTC-aware), for tests.

        Returns
        -------
        Session
            Its ``token`` is shown only here; keep it in the user's session state.

        Raises
        ------
        InvalidCredentialsError
            Unknown user, wrong password, disabled account, or input longer than any
            account's (the same message for all).
        AccountLockedError
            Too many failures of this name or from this client; tried again before
            :attr:`AccountLockedError.locked_until`. The password is not even checked.
        """
        t = utc_now(now)
        client_text = str(client)[:200] if client else None
        too_long = (
            not isinstance(username, str)
            or not isinstance(password, str)
            or len(username) > 4 * MAX_USERNAME_CHARS
            or len(password) > MAX_PASSWORD_CHARS
        )
        name = "" if too_long else normalize_username(username)
        if too_long or len(name) > MAX_USERNAME_CHARS:
            # nothing of the input is hashed or stored; only the client's count grows
            keys = {"client": f"c:{self._hash('client', client_text)}"} if client_text else {}
            with self.store.engine.begin() as conn:
                locked = self._waiting_until(conn, keys, t)
            if locked is not None:
                raise AccountLockedError(locked)
            if keys:
                self._count_failure(keys, t)
            self._record("?", "", "sign_in_failed", {"reason": "input_too_long"}, t)
            raise InvalidCredentialsError()
        keys = self._keys(name, client_text)
        with self.store.engine.begin() as conn:
            locked = self._waiting_until(conn, keys, t)
            row = conn.execute(sa.select(USERS).where(USERS.c.username == name)).one_or_none()
        who = self._audit_name(name, row is not None)
        if locked is not None:
            self._record(who, row.role if row else "", "sign_in_locked", {"locked_until": locked.isoformat()}, t)
            raise AccountLockedError(locked)
        ok = False
        if row is None:
            self._verify_dummy(password)
        else:
            try:
                ok = self.hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if row is None or not ok or row.disabled:
            until = self._count_failure(keys, t)
            action = "sign_in_disabled" if row is not None and ok else "sign_in_failed"
            self._record(who, row.role if row else "", action, {"locks": until is not None}, t)
            if until is not None:
                logger.warning("sign-in: %s waits until %s", who, until)
            raise InvalidCredentialsError()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires = min(t + self.session_idle, t + self.session_max)
        values: dict[str, Any] = {"last_login_at": _db_time(t)}
        if self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)
            logger.info("sign-in: re-hashed the password of %s with the current argon2 parameters", name)
        with self.store.engine.begin() as conn:
            self._clear_account(conn, name)
            conn.execute(USERS.update().where(USERS.c.user_id == row.user_id).values(**values))
            conn.execute(
                SESSIONS.insert(),
                {
                    "token_sha256": token_digest(token),
                    "user_id": row.user_id,
                    "created_at": _db_time(t),
                    "expires_at": _db_time(expires),
                },
            )
        user = _user_from_row(row)
        self._record(name, user.role.value, "sign_in", {}, t)
        return Session(token=token, created_at=t, expires_at=expires, user=user)

    # -- sessions
    def validate(self, token: str, *, now: datetime | None = None) -> User:
        """The user of a session; renews the idle timeout.

        The account is read afresh, so a role change or a disabling applies at once.

        Parameters
        ----------
        token : str
            :attr:`Session.token`.
        now : datetime, optional
            Current time (UTC-aware), for tests.

        Returns
        -------
        User

        Raises
        ------
        InvalidSessionError
            Unknown or signed-out token.
        SessionExpiredError
            Idle longer than the timeout, or older than the absolute maximum; the
            session is deleted.
        AccountDisabledError
            The account was disabled since sign-in.
        """
        t = utc_now(now)
        if not isinstance(token, str) or not token:
            raise InvalidSessionError()
        digest = token_digest(token)
        query = (
            sa.select(
                SESSIONS.c.created_at.label("session_created"), SESSIONS.c.expires_at.label("session_expires"), USERS
            )
            .join(USERS, USERS.c.user_id == SESSIONS.c.user_id)
            .where(SESSIONS.c.token_sha256 == digest)
        )
        with self.store.engine.begin() as conn:
            row = conn.execute(query).one_or_none()
            if row is None:
                raise InvalidSessionError()
            created = _from_db(row.session_created)
            expires = _from_db(row.session_expires)
            assert created is not None and expires is not None
            if t >= expires:
                conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.token_sha256 == digest))
                expired = True
            else:
                expired = False
                renewed = min(t + self.session_idle, created + self.session_max)
                # write only when it moves noticeably: a rerun per click must not mean a write per click
                if renewed - expires > self.session_idle / 10:
                    conn.execute(
                        SESSIONS.update().where(SESSIONS.c.token_sha256 == digest).values(expires_at=_db_time(renewed))
                    )
        if expired:
            raise SessionExpiredError()
        if row.disabled:
            raise AccountDisabledError()
        return _user_from_row(row)

    def sign_out(self, token: str, *, now: datetime | None = None) -> bool:
        """End a session; returns whether it existed."""
        t = utc_now(now)
        digest = token_digest(token)
        query = (
            sa.select(USERS.c.username, USERS.c.role)
            .join(SESSIONS, USERS.c.user_id == SESSIONS.c.user_id)
            .where(SESSIONS.c.token_sha256 == digest)
        )
        with self.store.engine.begin() as conn:
            row = conn.execute(query).one_or_none()
            deleted = conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.token_sha256 == digest)).rowcount
        if row is not None:
            self._record(row.username, row.role, "sign_out", {}, t)
        return bool(deleted)

    def purge_expired(self, *, now: datetime | None = None) -> int:
        """Delete the expired sessions and the sign-in failures that are over; returns the sessions deleted."""
        t_utc = utc_now(now)
        t = _db_time(t_utc)
        with self.store.engine.begin() as conn:
            n = conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.expires_at <= t)).rowcount
            self._purge_throttle(conn, t_utc)
        return int(n)


__all__ = [
    "AREA_ROLES",
    "MAX_PASSWORD_CHARS",
    "MAX_USERNAME_CHARS",
    "AccountDisabledError",
    "AccountLockedError",
    "AuthError",
    "AuthStore",
    "InvalidCredentialsError",
    "InvalidSessionError",
    "PasswordPolicyError",
    "Role",
    "Session",
    "SessionExpiredError",
    "UnknownUserError",
    "User",
    "UserExistsError",
    "check_password_policy",
    "check_user_area",
    "normalize_username",
    "token_digest",
    "utc_now",
]
