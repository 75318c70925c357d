"""数据 Data: upload beneficiaries, hubs or providers; map columns; per-row results; rejected rows."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import DataError
from data.accounts.access import MAX_UPLOAD_MB, check_upload
from data.accounts.auth import Role
from data.idcard import id_hash_key
from data.importer import ImportResult, import_table, map_columns, mappable_columns
from data.safe_export import frame_to_csv_bytes
from data.schemas import KINDS
from data.storage import ImportMeta
from data.tables import read_table
from pages._aliases import need_alias_section
from pages._auth import get_audit, require_user
from pages._common import bundle_snapper, get_bundle, get_store
from pages._i18n import lang, t
from service.display import preview_table, reason_table, rejected_table, warnings_table

K_KIND = "import_kind"
K_CRS = "import_crs"
K_FILE = "import_file"
K_RESULT = "import_result"
K_MAP_PREFIX = "import_map_"
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
kind = st.radio(t("kind"), KINDS[::-1], format_func=lambda k: t(f"kind_{k}"), key=K_KIND, horizontal=True)
crs = st.selectbox(
    t("crs"),
    CRS_OPTIONS,
    format_func=lambda c: t("crs_auto") if c == "auto" else c.upper(),
    placeholder=t("choose"),
    key=K_CRS,
)
# the widget lets twice the limit through, so check_upload can say "too large" in Chinese
upload = st.file_uploader(
    t("upload"),
    type=["csv", "xlsx"],
    key=K_FILE,
    max_upload_size=UPLOAD_WIDGET_MB,
    help=t("upload_help", mb=MAX_UPLOAD_MB),
)
if upload is None:
    st.stop()

payload = upload.getvalue()
try:
    check_upload(upload.name, payload)
except DataError as exc:
    st.error(str(exc))
    st.stop()
file_sha = hashlib.sha256(payload).hexdigest()


@st.cache_data(max_entries=4, show_spinner=False)
def parse_upload(sha256: str, suffix: str, _payload: bytes) -> tuple[pd.DataFrame | None, str | None]:
    """Parse an upload once per content (keyed by its SHA-256), not on every rerun.

    Returns the frame or the error message: a refused file is not parsed again either.
    Reading is bounded (:mod:`data.tables`): size, rows, columns, cells and time.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(_payload)
        try:
            return read_table(path), None
        except DataError as exc:
            return None, str(exc)


raw, read_error = parse_upload(file_sha, Path(upload.name).suffix.lower(), payload)
if raw is None:
    st.error(read_error)
    st.stop()

_, used, unmapped = map_columns(raw, kind)
mapping: dict[str, str | None] = {}
if unmapped:
    st.subheader(t("mapping"))
    targets = mappable_columns(kind)
    options = [None, *targets]
    for col in unmapped:
        mapping[col] = st.selectbox(
            str(col),
            options,
            format_func=lambda c: t("ignore") if c is None else f"{targets[c]}（{c}）",
            placeholder=t("choose"),
            key=f"{K_MAP_PREFIX}{kind}_{col}",
        )

if st.button(t("run_import"), type="primary"):
    try:
        result = import_table(
            raw,
            kind,
            crs=crs,
            snapper=bundle_snapper(),
            area=bundle.district,
            communities=bundle.communities,
            id_key=id_hash_key(),
            mapping=mapping or None,
            need_aliases=get_store().need_aliases(),
        )
    except DataError as exc:
        st.error(str(exc))
        st.stop()
    st.session_state[K_RESULT] = (file_sha, kind, result)

stored = st.session_state.get(K_RESULT)
if not stored or stored[0] != file_sha or stored[1] != kind:
    st.stop()
res: ImportResult = stored[2]
summary = res.summary
c1, c2, c3 = st.columns(3)
c1.metric(t("read"), summary["read"])
c2.metric(t("accepted"), summary["accepted"])
c3.metric(t("rejected"), summary["rejected"])
st.info(summary.get("crs_message_zh") or "")
for note in summary.get("notes", []):
    st.caption(note)
if summary["reasons"]:
    st.subheader(t("import_reasons"))
    st.dataframe(reason_table(summary["reasons"], lang()), hide_index=True)
if len(res.warnings):
    st.subheader(t("import_warnings"))
    st.dataframe(warnings_table(res.warnings, lang()), width="stretch", hide_index=True)
if len(res.rejected):
    st.subheader(t("import_rejected"))
    st.dataframe(rejected_table(res.rejected, summary.get("mapping", {}), lang()), width="stretch", hide_index=True)
    st.download_button(
        t("download_rejected"),
        frame_to_csv_bytes(res.rejected),
        file_name=f"{Path(upload.name).stem}_rejected.csv",
        mime="text/csv",
    )
need_alias_section(summary.get("unmapped_needs") or {}, user)
if len(res.accepted):
    st.subheader(t("import_preview"))
    st.dataframe(preview_table(res.accepted.head(200), lang()), width="stretch", hide_index=True)
    if st.button(t("save_db")):
        meta = ImportMeta(
            file_name=upload.name,
            file_sha256=file_sha,
            n_read=int(summary["read"]),
            n_accepted=int(summary["accepted"]),
            n_rejected=int(summary["rejected"]),
            crs_detected=summary.get("crs_detected"),
        )
        audit = get_audit()
        try:
            # the rows and their audit entry commit together, or neither does
            n = get_store().save_table(
                kind,
                res.accepted,
                dataset="user",
                replace=True,
                import_meta=meta,
                in_transaction=lambda conn, n_rows: audit.append_in(
                    conn,
                    user.username,
                    user.role.value,
                    f"import_{kind}",
                    {"dataset": "user", "file": upload.name},
                    n_rows,
                    file_hash=file_sha,
                ),
            )
        except DataError as exc:
            st.error(str(exc))
        else:
            st.success(t("saved", n=n))
