"""The import flow of the Data page (数据) and the 月度清单 page: the upload, column mapping, the
outcome of a validation, and the save step (:func:`upload_section`, one flow for both pages, so a
file validates the same on either).

Validation is :func:`service.imports.validate_upload`, saving is
:func:`data.import_kinds.save_accepted` (what ``python -m data import --save`` calls too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import DataError, MonthlyListError, XihuError
from data.accounts.access import MAX_UPLOAD_MB, check_upload
from data.accounts.auth import User
from data.idcard import id_hash_key
from data.import_kinds import Outcome, current_month, is_list_kind, mapping_targets, save_accepted, unmapped_headers
from data.monthly import check_month
from data.safe_export import frame_to_csv_bytes
from data.tables import table_from_upload
from pages._aliases import need_alias_section
from pages._auth import area_of, get_audit
from pages._common import DATASET_USER, current_item_names, get_store
from pages._i18n import lang, t
from service.display import reason_table, warnings_table
from service.imports import accepted_view, rejected_view, validate_upload

K_MAP_PREFIX = "import_map_"
K_MONTH = "import_month"
K_FILE = "import_file"
K_RESULT = "import_result"  # (file SHA-256, kind, validation outcome)
#: what the widget accepts (= server.maxUploadSize in .streamlit/config.toml); check_upload then
#: refuses anything over MAX_UPLOAD_MB in Chinese
UPLOAD_WIDGET_MB = 2 * MAX_UPLOAD_MB


@st.cache_data(max_entries=4, show_spinner=False)
def parse_upload(sha256: str, suffix: str, _payload: bytes) -> tuple[pd.DataFrame | None, str | None]:
    """Parse an upload once per content (keyed by its SHA-256), not on every rerun.

    Returns the frame or the error message: a refused file is not parsed again either.
    Reading is bounded (:mod:`data.tables`): size, rows, columns, cells and time.
    """
    try:
        return table_from_upload(f"upload{suffix}", _payload), None
    except DataError as exc:
        return None, str(exc)


def mapping_widgets(raw: pd.DataFrame, kind: str) -> dict[str, str | None]:
    """A pick list for every header the aliases of ``kind`` do not recognise; the user's mapping."""
    unmapped = unmapped_headers(raw, kind)
    mapping: dict[str, str | None] = {}
    if not unmapped:
        return mapping
    st.subheader(t("mapping"))
    targets = mapping_targets(kind)
    for col in unmapped:
        mapping[col] = st.selectbox(
            str(col),
            [None, *targets],
            format_func=lambda c: t("ignore") if c is None else f"{targets[c]}（{c}）",
            placeholder=t("choose"),
            key=f"{K_MAP_PREFIX}{kind}_{col}",
        )
    return {h: c for h, c in mapping.items() if c}


def show_outcome(res: Outcome, kind: str, file_name: str, user: User) -> None:
    """Counts, reasons, warnings, rejected rows (masked on screen, downloadable) and a preview."""
    summary = res.summary
    c1, c2, c3 = st.columns(3)
    c1.metric(t("read"), summary["read"])
    c2.metric(t("accepted"), summary["accepted"])
    c3.metric(t("rejected"), summary["rejected"])
    if summary.get("crs_message_zh"):
        st.info(summary["crs_message_zh"])
    if kind == "records":
        st.caption(t("records_hashed"))
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
        st.dataframe(rejected_view(res, lang()), width="stretch", hide_index=True)
        st.download_button(
            t("download_rejected"),
            frame_to_csv_bytes(res.rejected),
            file_name=f"{Path(file_name).stem}_rejected.csv",
            mime="text/csv",
        )
    if kind == "beneficiaries":
        need_alias_section(summary.get("unmapped_needs") or {}, user)
    if len(res.accepted):
        st.subheader(t("import_preview"))
        st.dataframe(
            accepted_view(res, lang(), kind=kind, items=current_item_names()), width="stretch", hide_index=True
        )


def upload_section(
    kind: str,
    tables: Mapping[str, pd.DataFrame],
    user: User,
    *,
    dataset: str = DATASET_USER,
    geo: Mapping[str, Any] | None = None,
    month_default: str | None = None,
) -> None:
    """Upload a table of ``kind`` into ``dataset``: the file checked and read, unknown headers
    mapped, the rows validated on the button (against ``tables``, the dataset's), then the outcome
    (:func:`show_outcome`: every rejected row with its reason, downloadable) and the save step."""
    # the widget lets twice the limit through, so check_upload can say "too large" in Chinese
    upload = st.file_uploader(
        t("upload"), type=["csv", "xlsx"], key=K_FILE, max_upload_size=UPLOAD_WIDGET_MB,
        help=t("upload_help", mb=MAX_UPLOAD_MB),
    )  # fmt: skip
    if upload is None:
        return
    payload = upload.getvalue()
    try:
        check_upload(upload.name, payload)
    except DataError as exc:
        st.error(str(exc))
        return
    file_sha = hashlib.sha256(payload).hexdigest()
    raw, read_error = parse_upload(file_sha, Path(upload.name).suffix.lower(), payload)
    if raw is None:
        st.error(read_error)
        return
    mapping = mapping_widgets(raw, kind)
    if st.button(t("run_import"), type="primary"):
        try:
            result = validate_upload(
                raw, kind, tables, id_key=id_hash_key(), mapping=mapping, need_aliases=get_store().need_aliases(),
                geo=geo,
            )  # fmt: skip
        except XihuError as exc:
            st.error(str(exc))
            return
        st.session_state[K_RESULT] = (file_sha, kind, result)
    stored = st.session_state.get(K_RESULT)
    if not stored or stored[0] != file_sha or stored[1] != kind:
        return
    show_outcome(stored[2], kind, upload.name, user)
    save_section(
        stored[2], kind, upload.name, file_sha, user, area_of(user).as_dict(), dataset=dataset,
        month_default=month_default,
    )  # fmt: skip


def save_section(
    res: Outcome,
    kind: str,
    file_name: str,
    file_sha: str,
    user: User,
    area: Mapping[str, object],
    *,
    dataset: str = DATASET_USER,
    month_default: str | None = None,
) -> None:
    """The save step: a canonical table replaces the imported one; a list becomes a new monthly version."""
    if not len(res.accepted):
        return
    month = None
    if is_list_kind(kind):
        month = st.text_input(
            t("import_month"), value=month_default or current_month(), help=t("import_month_help"), key=K_MONTH
        )
    if not st.button(t("save_list") if is_list_kind(kind) else t("save_db"), key="import_save"):
        return
    if month is not None:
        try:
            month = check_month(month)
        except MonthlyListError:
            st.error(t("import_month_bad"))
            return
    try:
        # the rows and their audit entry commit together, or neither does
        saved = save_accepted(
            get_store(), get_audit(), kind, res, dataset=dataset, who=user.username, role=user.role.value,
            file_name=file_name, file_sha256=file_sha, month=month, area=area,
        )  # fmt: skip
    except DataError as exc:
        st.error(str(exc))
        return
    if saved.version is not None:
        done = t("saved_list", n=saved.n_rows, kind=t(f"kind_{kind}"), month=saved.month, v=saved.version)
    else:
        done = t("saved", n=saved.n_rows)
    st.success(done)
