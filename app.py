"""Entry point: logging, navigation and the shared sidebar. Nothing else.

streamlit run app.py
"""

from __future__ import annotations

import logging

import streamlit as st

from pages._common import sidebar_settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="西湖区助联体 10分钟救助服务圈", page_icon="🗺️", layout="wide")

nav = st.navigation([st.Page("pages/overview.py", title="总览 Overview", default=True)])
sidebar_settings()
nav.run()
