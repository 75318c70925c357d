"""Sign-in state of a browser session: the token, the validated user, the area filter.

The token lives in ``st.session_state`` and, when the app runs through ``serve.py``, in an
HttpOnly cookie (never in the URL; see :mod:`data.accounts.handoff`), so a reload or a second
tab stays signed in. Every rerun validates the token against the database, so an expired or
revoked session (a sign-out in any tab) signs the user out at once.
"""

from __future__ import annotations

import json
import secrets

import streamlit as st

from core.errors import AuthError
from data.accounts.access import AreaFilter, cache_key
from data.accounts.audit import AuditLog, audit_key
from data.accounts.auth import MAX_PASSWORD_CHARS, MAX_USERNAME_CHARS, AuthStore, User
from data.accounts.handoff import HANDOFF, SESSION_COOKIE, SESSION_ROUTE, SIGNOUT_ROUTE
from pages._common import get_store

K_TOKEN = "auth_token"
K_AUTH_MSG = "auth_message"
K_CLIENT = "auth_client_id"
K_COOKIE_CODE = "auth_cookie_code"  # one-time code still to be turned into the cookie
K_COOKIE_CLEAR = "auth_cookie_clear"  # the cookie is still to be cleared
K_DEAD_COOKIE = "auth_dead_cookie"  # the cookie's token, known signed out or expired


@st.cache_resource(max_entries=1)
def get_audit() -> AuditLog:
    return AuditLog(get_store(), audit_key())


@st.cache_resource(max_entries=1)
def get_auth() -> AuthStore:
    return AuthStore(get_store(), audit=get_audit())


def _cookie_token() -> str | None:
    """The session token the browser sent with this session's websocket (None if none or known dead)."""
    try:
        token = st.context.cookies.get(SESSION_COOKIE)
    except Exception:  # no server context (bare script)
        return None
    if not token or token == st.session_state.get(K_DEAD_COOKIE):
        return None
    return str(token)


def current_user() -> User | None:
    """The signed-in user of this browser session, or None (token missing, expired or revoked).

    The token of this session, else the one of the cookie (a reload or another tab).
    """
    token = st.session_state.get(K_TOKEN)
    from_cookie = not token
    if from_cookie:
        token = _cookie_token()
    if not token:
        return None
    try:
        user = get_auth().validate(token)
    except AuthError as exc:
        st.session_state.pop(K_TOKEN, None)
        if token == _cookie_token():
            st.session_state[K_DEAD_COOKIE] = token
        st.session_state[K_AUTH_MSG] = exc.message_zh
        return None
    if from_cookie:
        st.session_state[K_TOKEN] = token
    return user


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
    st.session_state[K_COOKIE_CODE] = HANDOFF.issue(session.token)
    return None


def sign_out() -> None:
    """End the session in the database (every tab fails validation on its next rerun) and clear the cookie."""
    token = st.session_state.pop(K_TOKEN, None)
    if token:
        get_auth().sign_out(token)
    cookie = _cookie_token()
    if cookie:
        st.session_state[K_DEAD_COOKIE] = cookie
    st.session_state.pop(K_COOKIE_CODE, None)
    st.session_state[K_COOKIE_CLEAR] = True


def _post_script(route: str, body: str) -> None:
    """A same-origin POST from the page (fire and forget); the route answers with ``Set-Cookie``."""
    js = (
        f"<script>fetch({json.dumps(route)}, {{method: 'POST', credentials: 'same-origin', "
        f"body: {json.dumps(body)}}}).catch(() => null);</script>"
    )
    st.html(js, unsafe_allow_javascript=True, width="content")


def sync_cookie() -> None:
    """Set or clear the session cookie through ``serve.py``'s routes when a sign-in or sign-out asks for it.

    The page posts a one-time code, never the token (:mod:`data.accounts.handoff`).
    """
    code = st.session_state.pop(K_COOKIE_CODE, None)
    if code:
        _post_script(SESSION_ROUTE, code)
    if st.session_state.pop(K_COOKIE_CLEAR, False):
        _post_script(SIGNOUT_ROUTE, "")


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

    sync_cookie()
    st.title(t("app_title"))
    st.subheader(t("signin"))
    msg = st.session_state.pop(K_AUTH_MSG, None)
    if msg:
        st.warning(msg)
    with st.form("signin_form"):
        username = st.text_input(
            t("username"), key="signin_username", max_chars=MAX_USERNAME_CHARS, placeholder=t("username_placeholder")
        )
        password = st.text_input(
            t("password"),
            type="password",
            key="signin_password",
            max_chars=MAX_PASSWORD_CHARS,
            placeholder=t("password_placeholder"),
        )
        submitted = st.form_submit_button(t("signin"), type="primary")
    if submitted:
        error = sign_in(username, password)
        if error:
            st.error(error)
        else:
            st.rerun()
    st.caption(t("map_attribution"))  # OSM data whatever the bundle (the sign-in page loads none)
