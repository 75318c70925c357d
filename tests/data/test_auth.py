"""Sign-in: accounts, argon2 hashes, lockout, sessions, sign-out; on SQLite and PostgreSQL.

The PostgreSQL cases need ``XIHU_TEST_PG_URL`` (``scripts/pg_test_server.sh``); each test
gets its own schema. Argon2 runs with cheap parameters passed explicitly (the production
default is ``PasswordHasher()``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from core.errors import (
    AccountLockedError,
    AuthError,
    InvalidCredentialsError,
    InvalidSessionError,
    PasswordPolicyError,
    SessionExpiredError,
    UnknownUserError,
    UserExistsError,
)
from data.accounts.audit import AUDIT_LOG, AuditLog
from data.accounts.auth import (
    MAX_PASSWORD_CHARS,
    SESSIONS,
    THROTTLE,
    USERS,
    AuthStore,
    Role,
    User,
    check_user_area,
    token_digest,
)
from data.storage import Store

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
PASSWORD = "西湖-correct-horse-1"


def fast_hasher(time_cost: int = 1) -> PasswordHasher:
    """Argon2id with test-only parameters (1 pass, 8 KiB): ~1 ms instead of ~50 ms."""
    return PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1)


@pytest.fixture
def auth(store: Store) -> AuthStore:
    a = AuthStore(store, hasher=fast_hasher(), max_failures=3, lockout_minutes=15, session_minutes=30)
    a.add_user("planner1", PASSWORD, Role.PLANNER, display_name="规划科 王工", now=T0)
    a.add_user("cuiyuan", PASSWORD, "town_manager", town_code="330106005", now=T0)
    return a


# -- accounts ------------------------------------------------------------------------------------
def test_roles_have_chinese_labels_and_parse_from_either_name() -> None:
    assert Role.VILLAGE_MANAGER.label_zh == "村(社区)服务点管理员"
    assert Role.VIEWER.label_en == "Viewer"
    assert Role.parse("镇街服务站管理员") is Role.TOWN_MANAGER
    assert Role.parse(" planner ") is Role.PLANNER
    with pytest.raises(AuthError, match="未知角色"):
        Role.parse("superuser")


def test_add_user_returns_and_lists_accounts(auth: AuthStore) -> None:
    v = auth.add_user(" Baoshi ", PASSWORD, Role.VILLAGE_MANAGER, village_code="330106002052", now=T0)
    assert v == User("baoshi", Role.VILLAGE_MANAGER, "330106002", "330106002052", "baoshi", False)
    assert [u.username for u in auth.list_users()] == ["baoshi", "cuiyuan", "planner1"]
    assert auth.get_user("PLANNER1") == User("planner1", Role.PLANNER, None, None, "规划科 王工", False)
    assert auth.get_user("nobody") is None
    with pytest.raises(UserExistsError, match="已存在"):
        auth.add_user("BAOSHI", PASSWORD, Role.VIEWER)


@pytest.mark.parametrize(
    ("password", "match"),
    [
        ("short-pw1", "至少需要 10 个字符"),
        (" padded-password ", "首尾不能有空格"),
        ("x" * 257, "不能超过"),
        ("Newuser123", "不能与用户名相同"),
    ],
)
def test_password_policy(auth: AuthStore, password: str, match: str) -> None:
    with pytest.raises(PasswordPolicyError, match=match):
        auth.add_user("newuser123", password, Role.VIEWER)
    assert auth.get_user("newuser123") is None


def test_area_of_each_role_is_validated() -> None:
    assert check_user_area(Role.TOWN_MANAGER, " 330106005 ", None) == ("330106005", None)
    assert check_user_area(Role.VILLAGE_MANAGER, None, "330106013010") == ("330106013", "330106013010")
    assert check_user_area(Role.PLANNER, None, None) == (None, None)
    with pytest.raises(AuthError, match="必须指定镇街编码"):
        check_user_area(Role.TOWN_MANAGER, None, None)
    with pytest.raises(AuthError, match="无效"):
        check_user_area(Role.TOWN_MANAGER, "  ", None)
    with pytest.raises(AuthError, match="必须指定村"):
        check_user_area(Role.VILLAGE_MANAGER, "330106005", None)
    with pytest.raises(AuthError, match="不属于镇街"):
        check_user_area(Role.VILLAGE_MANAGER, "330106005", "330106013010")
    with pytest.raises(AuthError, match="不绑定区域"):
        check_user_area(Role.VIEWER, "330106005", None)


def test_passwords_and_tokens_never_stored_in_clear(auth: AuthStore, store: Store) -> None:
    session = auth.authenticate("planner1", PASSWORD, now=T0)
    with store.engine.connect() as conn:
        users = [dict(r._mapping) for r in conn.execute(sa.select(USERS))]
        sessions = [dict(r._mapping) for r in conn.execute(sa.select(SESSIONS))]
    dump = repr(users) + repr(sessions)
    assert PASSWORD not in dump and session.token not in dump
    assert all(u["password_hash"].startswith("$argon2id$") for u in users)
    assert [s["token_sha256"] for s in sessions] == [token_digest(session.token)]
    assert session.token not in repr(session)  # a logged Session does not leak its token


# -- sign-in -----------------------------------------------------------------------------------------
def test_sign_in_opens_a_session_that_validates(auth: AuthStore) -> None:
    session = auth.authenticate(" Planner1 ", PASSWORD, now=T0)
    assert len(session.token) >= 40
    assert session.user.role is Role.PLANNER
    assert session.expires_at == T0 + timedelta(minutes=30)
    assert auth.validate(session.token, now=T0 + timedelta(minutes=5)) == session.user
    other = auth.authenticate("planner1", PASSWORD, now=T0)
    assert other.token != session.token


def test_unknown_user_and_wrong_password_get_the_same_message(auth: AuthStore) -> None:
    with pytest.raises(InvalidCredentialsError) as unknown:
        auth.authenticate("nobody", PASSWORD, now=T0)
    with pytest.raises(InvalidCredentialsError) as wrong:
        auth.authenticate("planner1", PASSWORD + "x", now=T0)
    assert str(unknown.value) == str(wrong.value)
    assert unknown.value.message_zh == "用户名或密码错误"


def test_progressive_delays_after_n_failures_then_sign_in(auth: AuthStore) -> None:
    """After ``max_failures`` failures each further one doubles the wait (30 s, 60 s, ...), up to the lockout."""
    for i in range(3):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "wrong-password", now=T0 + timedelta(seconds=i))
    assert auth.failures("planner1") == 3
    failed_at = T0 + timedelta(seconds=2)
    # waiting: even the right password is refused, and the message says until when (Beijing time)
    with pytest.raises(AccountLockedError) as exc:
        auth.authenticate("planner1", PASSWORD, now=failed_at + timedelta(seconds=29))
    assert exc.value.locked_until == failed_at + timedelta(seconds=30)
    assert "2026-03-02 16:30:32" in exc.value.message_zh
    assert auth.failures("planner1") == 3  # a refused try is not counted
    # the other accounts are not affected
    assert auth.authenticate("cuiyuan", PASSWORD, now=failed_at).user.username == "cuiyuan"
    # the next failure doubles the wait, and so on up to the lockout time (15 minutes)
    t = failed_at + timedelta(seconds=30)
    waits = []
    for _ in range(7):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "wrong-password", now=t)
        with pytest.raises(AccountLockedError) as exc:
            auth.authenticate("planner1", PASSWORD, now=t)
        waits.append((exc.value.locked_until - t).total_seconds())
        t = exc.value.locked_until
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    session = auth.authenticate("planner1", PASSWORD, now=t)
    assert session.user.username == "planner1"
    assert auth.failures("planner1") == 0


def test_failures_count_only_consecutively_and_within_the_window(auth: AuthStore) -> None:
    for minutes in (0, 1):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "wrong-password", now=T0 + timedelta(minutes=minutes))
    auth.authenticate("planner1", PASSWORD, now=T0 + timedelta(minutes=2))  # success resets
    assert auth.failures("planner1") == 0
    for minutes in (0, 20, 40):  # three failures, but never two within 15 minutes
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "wrong-password", now=T0 + timedelta(hours=1, minutes=minutes))
    assert auth.authenticate("planner1", PASSWORD, now=T0 + timedelta(hours=1, minutes=41)).user.role is Role.PLANNER


def test_unknown_names_lock_like_real_ones(auth: AuthStore) -> None:
    """The lockout answer must not tell which user names exist."""
    for name in ("planner1", "ghost-user"):
        for _ in range(3):
            with pytest.raises(InvalidCredentialsError):
                auth.authenticate(name, "wrong-password", now=T0)
        with pytest.raises(AccountLockedError) as exc:
            auth.authenticate(name, "wrong-password", now=T0 + timedelta(seconds=10))
        assert exc.value.locked_until == T0 + timedelta(seconds=30)


def test_disabled_account_cannot_sign_in_and_loses_its_sessions(auth: AuthStore) -> None:
    session = auth.authenticate("cuiyuan", PASSWORD, now=T0)
    auth.disable_user("cuiyuan", now=T0)
    assert auth.get_user("cuiyuan").disabled  # type: ignore[union-attr]
    with pytest.raises(InvalidSessionError):
        auth.validate(session.token, now=T0)
    # the same answer with the right and a wrong password: "disabled" would confirm the password
    with pytest.raises(InvalidCredentialsError) as right:
        auth.authenticate("cuiyuan", PASSWORD, now=T0)
    with pytest.raises(InvalidCredentialsError) as wrong:
        auth.authenticate("cuiyuan", "wrong-password", now=T0)
    assert str(right.value) == str(wrong.value) == str(InvalidCredentialsError())
    assert "停用" not in right.value.message_zh
    auth.enable_user("cuiyuan", now=T0)
    assert auth.authenticate("cuiyuan", PASSWORD, now=T0).user.town_code == "330106005"
    with pytest.raises(UnknownUserError):
        auth.disable_user("nobody")


def test_set_password_replaces_the_old_one_and_ends_sessions(auth: AuthStore) -> None:
    session = auth.authenticate("planner1", PASSWORD, now=T0)
    auth.set_password("planner1", "another-long-pass", now=T0)
    with pytest.raises(InvalidSessionError):
        auth.validate(session.token, now=T0)
    with pytest.raises(InvalidCredentialsError):
        auth.authenticate("planner1", PASSWORD, now=T0)
    assert auth.authenticate("planner1", "another-long-pass", now=T0).user.username == "planner1"
    with pytest.raises(PasswordPolicyError):
        auth.set_password("planner1", "short")


def test_hash_is_upgraded_when_the_parameters_change(auth: AuthStore, store: Store) -> None:
    def stored_hash() -> str:
        with store.engine.connect() as conn:
            return str(conn.execute(sa.select(USERS.c.password_hash).where(USERS.c.username == "planner1")).scalar())

    before = stored_hash()
    assert "t=1," in before
    stronger = AuthStore(store, hasher=fast_hasher(time_cost=2))
    stronger.authenticate("planner1", PASSWORD, now=T0)
    after = stored_hash()
    assert after != before and "t=2," in after
    assert stronger.authenticate("planner1", PASSWORD, now=T0).user.username == "planner1"


# -- sessions -----------------------------------------------------------------------------------------
def test_idle_session_expires(auth: AuthStore) -> None:
    session = auth.authenticate("planner1", PASSWORD, now=T0)
    assert auth.validate(session.token, now=T0 + timedelta(minutes=29)).username == "planner1"
    # used at +29 min: renewed to +59 min
    assert auth.validate(session.token, now=T0 + timedelta(minutes=58)).username == "planner1"
    with pytest.raises(SessionExpiredError, match="登录已过期"):
        auth.validate(session.token, now=T0 + timedelta(minutes=58 + 30))
    with pytest.raises(InvalidSessionError):  # an expired session is gone
        auth.validate(session.token, now=T0 + timedelta(minutes=58 + 30))


def test_active_session_still_ends_at_the_absolute_maximum(store: Store) -> None:
    auth = AuthStore(store, hasher=fast_hasher(), session_minutes=30, session_max_hours=1)
    auth.add_user("planner2", PASSWORD, Role.PLANNER, now=T0)
    session = auth.authenticate("planner2", PASSWORD, now=T0)
    for minutes in (20, 40):
        auth.validate(session.token, now=T0 + timedelta(minutes=minutes))
    with pytest.raises(SessionExpiredError):
        auth.validate(session.token, now=T0 + timedelta(minutes=60))


def test_sign_out_invalidates_the_session(auth: AuthStore) -> None:
    session = auth.authenticate("planner1", PASSWORD, now=T0)
    other = auth.authenticate("planner1", PASSWORD, now=T0)
    assert auth.sign_out(session.token, now=T0) is True
    with pytest.raises(InvalidSessionError, match="未登录"):
        auth.validate(session.token, now=T0)
    assert auth.sign_out(session.token, now=T0) is False
    assert auth.validate(other.token, now=T0).username == "planner1"  # only that session ended
    for forged in ("", "x" * 43):
        with pytest.raises(InvalidSessionError):
            auth.validate(forged, now=T0)


def test_purge_removes_expired_sessions(auth: AuthStore, store: Store) -> None:
    auth.authenticate("planner1", PASSWORD, now=T0)
    live = auth.authenticate("cuiyuan", PASSWORD, now=T0 + timedelta(minutes=20))
    assert auth.purge_expired(now=T0 + timedelta(minutes=31)) == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SESSIONS)).scalar() == 1
    assert auth.validate(live.token, now=T0 + timedelta(minutes=31)).username == "cuiyuan"


def test_times_must_be_timezone_aware(auth: AuthStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        auth.authenticate("planner1", PASSWORD, now=datetime(2026, 3, 2, 8, 30))


def test_sign_ins_and_account_changes_are_audited(store: Store) -> None:
    log = AuditLog(store, b"k" * 32)
    auth = AuthStore(store, hasher=fast_hasher(), max_failures=2, audit=log)
    auth.add_user("planner3", PASSWORD, Role.PLANNER, actor="cli:root", now=T0)
    session = auth.authenticate("planner3", PASSWORD, now=T0)
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner3", "wrong-password", now=T0)
    with pytest.raises(AccountLockedError):
        auth.authenticate("planner3", PASSWORD, now=T0)
    auth.sign_out(session.token, now=T0)
    actions = [(e.who, e.action) for e in reversed(log.entries())]
    assert actions == [
        ("cli:root", "user_add"),
        ("planner3", "sign_in"),
        ("planner3", "sign_in_failed"),
        ("planner3", "sign_in_failed"),
        ("planner3", "sign_in_locked"),
        ("planner3", "sign_out"),
    ]
    assert log.entries(limit=None)[-1].filter["role"] == "planner"
    assert log.verify().ok


# -- hardening (issue #11) ----------------------------------------------------------------------
def _throttle_keys(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [r.username for r in conn.execute(sa.select(THROTTLE))]


def test_long_input_is_refused_before_anything_is_stored(store: Store) -> None:
    log = AuditLog(store, b"k" * 32)
    auth = AuthStore(store, hasher=fast_hasher(), audit=log)
    huge = "a" * 1_500_000
    for name, password in ((huge, PASSWORD), ("x" * 65, PASSWORD), ("planner1", "p" * (MAX_PASSWORD_CHARS + 1))):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate(name, password, client="ip:203.0.113.9", now=T0)
    assert all(len(k) <= 200 for k in _throttle_keys(store))
    assert all(len(e.who) <= 64 and len(str(e.filter)) < 200 for e in log.entries(limit=None))
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(AUDIT_LOG.c.who, AUDIT_LOG.c.filter_json)).all()
    assert max(len(w) + len(f) for w, f in stored) < 200


def test_typed_names_are_stored_hashed_and_purged(store: Store) -> None:
    log = AuditLog(store, b"k" * 32)
    auth = AuthStore(store, hasher=fast_hasher(), audit=log, max_failures=3)
    auth.add_user("planner1", PASSWORD, Role.PLANNER, now=T0)
    for name in ("ghost-user", "planner1"):
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate(name, "wrong-password", client="ip:198.51.100.7", now=T0)
    keys = _throttle_keys(store)
    assert keys and not any("ghost" in k or "planner1" in k or "198.51" in k for k in keys)
    whos = {e.who for e in log.entries(limit=None) if e.action == "sign_in_failed"}
    assert "planner1" in whos and "ghost-user" not in whos  # an unknown typed name only as a keyed hash
    assert auth.failures("ghost-user") == 1
    # rows idle longer than the lockout window are purged, unknown names included
    assert auth.purge_expired(now=T0 + timedelta(minutes=16)) == 0
    assert _throttle_keys(store) == []


def test_someone_else_cannot_lock_a_user_out(auth: AuthStore) -> None:
    """Failures from one client delay that client's tries only; the user signs in from their own."""
    attacker, user = "ip:203.0.113.5", "ip:192.0.2.10"
    t = T0
    for _ in range(12):
        with contextlib.suppress(InvalidCredentialsError, AccountLockedError):
            auth.authenticate("planner1", "guess-guess", client=attacker, now=t)
        t += timedelta(seconds=31)
    with pytest.raises(AccountLockedError):
        auth.authenticate("planner1", PASSWORD, client=attacker, now=t)
    assert auth.authenticate("planner1", PASSWORD, client=user, now=t).user.username == "planner1"


def test_one_client_has_a_hard_limit_over_all_names(store: Store) -> None:
    auth = AuthStore(store, hasher=fast_hasher(), max_failures=3, client_max_failures=6)
    auth.add_user("planner1", PASSWORD, Role.PLANNER, now=T0)
    for i in range(6):  # a different name each time: no name reaches its own limit
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate(f"guess{i}", "wrong-password", client="ip:203.0.113.5", now=T0)
    with pytest.raises(AccountLockedError) as exc:  # blocked, even with a right password
        auth.authenticate("planner1", PASSWORD, client="ip:203.0.113.5", now=T0 + timedelta(minutes=14))
    assert exc.value.locked_until == T0 + timedelta(minutes=15)
    assert auth.failures("planner1") == 0  # the blocked client's tries touched no account
    assert auth.authenticate("planner1", PASSWORD, client="ip:192.0.2.10", now=T0).user.role is Role.PLANNER
    session = auth.authenticate("planner1", PASSWORD, client="ip:203.0.113.5", now=T0 + timedelta(minutes=15))
    assert session.user.username == "planner1"


def test_many_clients_failing_on_one_name_delay_it_for_everyone(store: Store) -> None:
    auth = AuthStore(store, hasher=fast_hasher(), max_failures=3, account_max_failures=8)
    auth.add_user("planner1", PASSWORD, Role.PLANNER, now=T0)
    for i in range(8):  # a botnet: one try per address
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "wrong-password", client=f"ip:203.0.113.{i}", now=T0)
    with pytest.raises(AccountLockedError) as exc:
        auth.authenticate("planner1", PASSWORD, client="ip:192.0.2.10", now=T0 + timedelta(seconds=10))
    assert exc.value.locked_until == T0 + timedelta(seconds=30)
    assert auth.authenticate("planner1", PASSWORD, client="ip:192.0.2.10", now=T0 + timedelta(seconds=30))
