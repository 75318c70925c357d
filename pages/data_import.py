"""数据 Data: upload any kind of table; map columns; per-row results; rejected rows; save (tables or monthly lists)."""

from __future__ import annotations

import streamlit as st

from data.accounts.auth import Role
from data.import_kinds import ALL_KINDS, is_list_kind
from pages._auth import require_user
from pages._common import (
    DATASET_USER,
    bundle_snapper,
    dataset_notice,
    dataset_tables,
    dataset_version,
    get_bundle,
)
from pages._i18n import t
from pages._imports import upload_section

K_KIND = "import_kind"
K_CRS = "import_crs"
CRS_OPTIONS = ("auto", "wgs84", "gcj02", "bd09")

user = require_user()
if user.role not in (Role.ADMIN, Role.PLANNER):
    st.error(t("no_individuals"))
    st.stop()
bundle = get_bundle()
st.title(t("data_title"))
kind = st.radio(t("kind"), ALL_KINDS, format_func=lambda k: t(f"kind_{k}"), key=K_KIND, horizontal=True)
crs = "auto"
if not is_list_kind(kind):
    crs = st.selectbox(
        t("crs"), CRS_OPTIONS, format_func=lambda c: t("crs_auto") if c == "auto" else c.upper(),
        placeholder=t("choose"), key=K_CRS,
    )  # fmt: skip
tables = dataset_tables(DATASET_USER, dataset_version(DATASET_USER))
if is_list_kind(kind):
    dataset_notice((kind,), dataset=DATASET_USER)
geo = (
    None
    if is_list_kind(kind)
    else {"crs": crs, "snapper": bundle_snapper(), "area": bundle.district, "communities": bundle.communities}
)
upload_section(kind, tables, user, geo=geo)
