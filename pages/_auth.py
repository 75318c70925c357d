"""Sign-in state of a browser session: the token, the validated user, the area filter.

The token lives in ``st.session_state`` only (never in the URL); every rerun validates it
against the database, so an expired or revoked session signs the user out at once.
"""

from __future__ import annotations

import secrets

import streamlit as st

from core.errors import AuthError
from data.accounts.access import AreaFilter, cache_key
from data.accounts.audit import AuditLog, audit_key
from data.accounts.auth import MAX_PASSWORD_CHARS, MAX_USERNAME_CHARS, AuthStore, User
from pages._common import get_store

K_TOKEN = "auth_token"
K_AUTH_MSG = "auth_message"
K_CLIENT = "auth_client_id"


@st.cache_resource(max_entries=1)
def get_audit() -> AuditLog:
    return AuditLog(get_store(), audit_key())


@st.cache_resource(max_entries=1)
def get_auth() -> AuthStore:
    return AuthStore(get_store(), audit=get_audit())


def current_user() -> User | None:
    """The signed-in user of this browser session, or None (token missing, expired or revoked)."""
    token = st.session_state.get(K_TOKEN)
    if not token:
        return None
    try:
        return get_auth().validate(token)
    except AuthError as exc:
        st.session_state.pop(K_TOKEN, None)
        st.session_state[K_AUTH_MSG] = exc.message_zh
        return None


def client_id() -> str:
    """Who is signing in, for the per-client limit of :mod:`data.accounts.auth`.

    The connection's IP address (``st.context.ip_address``, Streamlit >= 1.45); Streamlit
    gives None for ``localhost`` (and behind a local reverse proxy), so then a random id
    kept in this browser session, which a new session resets: there only the per-name
    limits hold.
    """
    ip = st.context.ip_address
    if ip:
        return f"ip:{ip}"
    return f"session:{st.session_state.setdefault(K_CLIENT, secrets.token_hex(16))}"


def sign_in(username: str, password: str) -> str | None:
    """Sign in; returns an error message (Chinese) or None on success."""
    try:
        session = get_auth().authenticate(username, password, client=client_id())
    except AuthError as exc:
        return exc.message_zh
    st.session_state[K_TOKEN] = session.token
    return None


def sign_out() -> None:
    token = st.session_state.pop(K_TOKEN, None)
    if token:
        get_auth().sign_out(token)


def require_user() -> User:
    """The signed-in user; stops the page when there is none (pages are only routed when signed in)."""
    user = current_user()
    if user is None:
        st.stop()
    return user


def area_of(user: User) -> AreaFilter:
    return AreaFilter.from_user(user)


def area_key(user: User) -> tuple[str, str, str]:
    """Role and area: part of the key of every cached, filtered result."""
    return cache_key(AreaFilter.from_user(user))


def signin_form() -> None:
    """The sign-in form (shown by app.py instead of any page while nobody is signed in)."""
    from pages._i18n import t

    st.title(t("app_title"))
    st.subheader(t("signin"))
    msg = st.session_state.pop(K_AUTH_MSG, None)
    if msg:
        st.warning(msg)
    with st.form("signin_form"):
        username = st.text_input(t("username"), key="signin_username", max_chars=MAX_USERNAME_CHARS)
        password = st.text_input(t("password"), type="password", key="signin_password", max_chars=MAX_PASSWORD_CHARS)
        submitted = st.form_submit_button(t("signin"), type="primary")
    if submitted:
        error = sign_in(username, password)
        if error:
            st.error(error)
        else:
            st.rerun()
    st.caption(t("attribution"))
