"""Entry point: logging, sign-in, navigation by role and the shared sidebar. Nothing else.

streamlit run app.py

A database that stops or cannot be reached (:data:`data.storage.DATABASE_DOWN_ERRORS`) is
handled here, once for every page: one Chinese message instead of a traceback, and the app
reruns by itself when the database answers again (:func:`pages._database.database_down`).
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from data.accounts.auth import Role, User
from data.storage import DATABASE_DOWN_ERRORS
from pages._auth import current_user, sign_out, signin_form, sync_cookie
from pages._common import sidebar_settings
from pages._database import database_down
from pages._i18n import t
from pages._map import load_component

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title=t("app_title"), page_icon="🗺️", layout="wide")
load_component()  # the map component registers in a session; the warm-up (serve.py) waits for it


def pages_of(user: User) -> list[Any]:
    """The pages ``user``'s role may open."""
    pages = [st.Page("pages/overview.py", title=t("nav_overview"), url_path="overview", default=True)]
    if user.role is not Role.VIEWER:
        pages.append(st.Page("pages/hubs.py", title=t("nav_hubs"), url_path="hubs"))
        pages.append(st.Page("pages/matching.py", title=t("nav_matching"), url_path="matching"))
        pages.append(st.Page("pages/providers.py", title=t("nav_providers"), url_path="providers"))
        pages.append(st.Page("pages/duplicates.py", title=t("nav_duplicates"), url_path="duplicates"))
        pages += [st.Page(f"pages/{p}.py", title=t(f"nav_{p}"), url_path=p) for p in ("feedback", "monthly")]
    if user.role in (Role.ADMIN, Role.PLANNER):
        pages.append(st.Page("pages/planner.py", title=t("nav_planner"), url_path="planner"))
        pages.append(st.Page("pages/data_import.py", title=t("nav_data"), url_path="data"))
    pages.append(st.Page("pages/reports.py", title=t("nav_reports"), url_path="reports"))
    return pages


nav = None
try:
    user = current_user()
    if user is None:
        nav = st.navigation([st.Page(signin_form, title=t("signin"))], position="hidden")
    else:
        nav = st.navigation(pages_of(user))
        with st.sidebar:
            sync_cookie()
            st.caption(t("signed_in_as", name=user.display_name or user.username, role=user.role.label_zh))
            if st.button(t("signout"), key="signout"):
                sign_out()
                st.rerun()
        sidebar_settings()
    nav.run()
except DATABASE_DOWN_ERRORS as exc:
    down: BaseException = exc

    def database_unavailable() -> None:
        database_down(down)

    if nav is None:  # before navigation: the message is the one (hidden) page of this run
        st.navigation([st.Page(database_unavailable, title=t("db_down_title"))], position="hidden").run()
    else:
        database_unavailable()
