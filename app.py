"""Entry point: logging, navigation and the shared sidebar. Nothing else.

streamlit run app.py
"""

from __future__ import annotations

import logging

import streamlit as st

from pages._common import sidebar_settings
from pages._i18n import t

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title=t("app_title"), page_icon="🗺️", layout="wide")

nav = st.navigation(
    [
        st.Page("pages/overview.py", title=t("nav_overview"), url_path="overview", default=True),
        st.Page("pages/hubs.py", title=t("nav_hubs"), url_path="hubs"),
        st.Page("pages/data_import.py", title=t("nav_data"), url_path="data"),
    ]
)
sidebar_settings()
nav.run()
