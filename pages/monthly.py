"""月度清单 Monthly lists: every import kept as a version of its month; two months compared."""

from __future__ import annotations

import hashlib

import streamlit as st

from core.errors import XihuError
from data.accounts.auth import Role
from data.idcard import id_hash_key
from data.import_kinds import save_accepted
from data.monthly import LIST_KINDS, check_month, list_versions
from pages._auth import area_of, get_audit, require_user
from pages._common import DATASET_DEMO, current_dataset, current_item_names, current_tables, get_bundle, get_store
from pages._i18n import lang, t
from pages._imports import show_outcome
from pages._lists import demo_records, households_for_lists, read_upload
from service import monthly as mo
from service.imports import validate_upload

K_RESULT = "mo_result"  # (file SHA-256, kind, validation outcome) of the uploaded list
user = require_user()
af = area_of(user)
if user.role is Role.VIEWER:
    st.error(t("fb_no_access"))
    st.stop()
ds, bundle, store, audit, tables = current_dataset(), get_bundle(), get_store(), get_audit(), current_tables()
st.title(t("mo_title"))
st.caption(t("mo_note"))
can_write = user.role in (Role.ADMIN, Role.PLANNER)
versions = list_versions(store, dataset=ds)

if can_write and ds == DATASET_DEMO and len(versions) == 0 and st.button(t("mo_demo_load"), key="mo_demo_load"):
    mo.store_demo_months(store, audit, bundle.needs, bundle.offers, demo_records()[0], dataset=ds,
                         who=user.username, role=user.role.value)  # fmt: skip
    st.rerun()

with st.expander(t("mo_versions"), expanded=False):
    headers = {"kind": "kind", "month": "month", "version": "version", "n_rows": "rows", "file_name": "file",
               "author": "author"}  # fmt: skip
    shown = versions.assign(kind=[t(f"mo_kind_{k}") for k in versions["kind"]]).drop(columns=["created_at"])
    st.dataframe(shown.rename(columns={c: t(f"mo_col_{k}") for c, k in headers.items()}), hide_index=True)

all_months = sorted(set(versions["month"]))
if len(all_months) < 2:
    st.info(t("mo_need_two"))
else:
    c1, c2 = st.columns(2)
    a = c1.selectbox(t("mo_month_a"), all_months, index=len(all_months) - 2, key="mo_a")
    b = c2.selectbox(t("mo_month_b"), all_months, index=len(all_months) - 1, key="mo_b")
    diff = mo.compare_months(store, a, b, dataset=ds, households=households_for_lists(ds), area_filter=af)
    names = dict(zip(tables["providers"]["provider_id"], tables["providers"]["name"], strict=True))
    items = current_item_names()
    st.caption(
        t("mo_compared")
        + "；".join(
            t("mo_describes", month=f"{t(f'mo_kind_{k}')} {m}", v=v) for (k, m), v in sorted(diff.versions.items())
        )
    )
    sections = [
        ("mo_new_needs", mo.needs_table(diff.new_needs, lang(), items)),
        ("mo_resolved_needs", mo.needs_table(diff.resolved_needs, lang(), items)),
        ("mo_capacity_added", mo.capacity_table(diff.capacity_added, names, lang(), items)),
        ("mo_capacity_withdrawn", mo.capacity_table(diff.capacity_withdrawn, names, lang(), items)),
        ("mo_dup_found", mo.flags_table(diff.dup_found, lang())),
        ("mo_dup_cleared", mo.flags_table(diff.dup_cleared, lang())),
    ]
    cols = st.columns(6)
    for col, (key, table) in zip(cols, sections, strict=True):
        col.metric(t(key), f"{len(table):,}")
    for key, table in sections:
        with st.expander(f"{t(key)}（{len(table):,}）", expanded=False):
            if len(table):
                st.dataframe(table, hide_index=True)
            else:
                st.write(t("mo_none"))

if can_write:
    st.subheader(t("mo_import"))
    c1, c2 = st.columns(2)
    kind = c1.selectbox(t("mo_kind"), list(LIST_KINDS), format_func=lambda k: t(f"mo_kind_{k}"), key="mo_kind")
    month = c2.text_input(t("mo_month"), value=b if len(all_months) >= 2 else "", placeholder="2026-06", key="mo_month")
    upload = st.file_uploader(t("upload"), type=["csv", "xlsx"], key="mo_upload")
    if upload is not None:
        # validated once per file and kind; every rejected row is shown with its reason and downloadable
        sha = hashlib.sha256(upload.getvalue()).hexdigest()
        held = st.session_state.get(K_RESULT)
        if held is None or held[:2] != (sha, kind):
            try:
                held = (sha, kind, validate_upload(read_upload(upload), kind, tables, id_key=id_hash_key()))
            except XihuError as exc:
                st.error(str(exc))
                st.stop()
            st.session_state[K_RESULT] = held
        rows = held[2]
        show_outcome(rows, kind, upload.name, user)
        if len(rows.accepted) and st.button(t("mo_save"), key="mo_save"):
            try:
                saved = save_accepted(store, audit, kind, rows, dataset=ds, who=user.username, role=user.role.value,
                                      file_name=upload.name, file_sha256=sha, month=check_month(month),
                                      area=af.as_dict())  # fmt: skip
                st.success(t("mo_saved", kind=t(f"mo_kind_{kind}"), month=month, v=saved.version, n=saved.n_rows))
            except XihuError as exc:
                st.error(str(exc))
