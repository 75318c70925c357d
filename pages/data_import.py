"""数据 Data: upload any kind of table; map columns; per-row results; rejected rows; save (tables or monthly lists)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core.errors import DataError
from data.accounts.access import MAX_UPLOAD_MB, check_upload
from data.accounts.auth import Role
from data.idcard import id_hash_key
from data.import_kinds import ALL_KINDS, is_list_kind
from pages._auth import area_of, require_user
from pages._common import (
    DATASET_USER,
    bundle_snapper,
    dataset_notice,
    dataset_tables,
    dataset_version,
    get_bundle,
    get_store,
)
from pages._i18n import t
from pages._imports import mapping_widgets, parse_upload, save_section, show_outcome
from service.imports import validate_upload

K_KIND = "import_kind"
K_CRS = "import_crs"
K_FILE = "import_file"
K_RESULT = "import_result"
CRS_OPTIONS = ("auto", "wgs84", "gcj02", "bd09")
#: what the widget accepts (= server.maxUploadSize in .streamlit/config.toml); check_upload then
#: refuses anything over MAX_UPLOAD_MB in Chinese
UPLOAD_WIDGET_MB = 2 * MAX_UPLOAD_MB

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
# the widget lets twice the limit through, so check_upload can say "too large" in Chinese
upload = st.file_uploader(
    t("upload"), type=["csv", "xlsx"], key=K_FILE, max_upload_size=UPLOAD_WIDGET_MB,
    help=t("upload_help", mb=MAX_UPLOAD_MB),
)  # fmt: skip
if upload is None:
    st.stop()

payload = upload.getvalue()
try:
    check_upload(upload.name, payload)
except DataError as exc:
    st.error(str(exc))
    st.stop()
file_sha = hashlib.sha256(payload).hexdigest()
raw, read_error = parse_upload(file_sha, Path(upload.name).suffix.lower(), payload)
if raw is None:
    st.error(read_error)
    st.stop()

mapping = mapping_widgets(raw, kind)
if st.button(t("run_import"), type="primary"):
    geo = {"crs": crs, "snapper": bundle_snapper(), "area": bundle.district, "communities": bundle.communities}
    try:
        result = validate_upload(
            raw, kind, tables, id_key=id_hash_key(), mapping=mapping, need_aliases=get_store().need_aliases(),
            geo=None if is_list_kind(kind) else geo,
        )  # fmt: skip
    except DataError as exc:
        st.error(str(exc))
        st.stop()
    st.session_state[K_RESULT] = (file_sha, kind, result)

stored = st.session_state.get(K_RESULT)
if not stored or stored[0] != file_sha or stored[1] != kind:
    st.stop()
show_outcome(stored[2], kind, upload.name, user)
save_section(stored[2], kind, upload.name, file_sha, user, area_of(user).as_dict())
