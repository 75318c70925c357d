"""月度清单 Monthly lists: every import kept as a version of its month; two months compared."""

from __future__ import annotations

import streamlit as st

from data.accounts.auth import Role
from data.monthly import LIST_KINDS, list_versions
from pages._auth import area_of, get_audit, require_user
from pages._common import DATASET_DEMO, current_dataset, current_item_names, current_tables, get_bundle, get_store
from pages._i18n import lang, t
from pages._imports import upload_section
from pages._lists import demo_records, households_for_lists
from service import monthly as mo

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
    kind = st.selectbox(t("mo_kind"), list(LIST_KINDS), format_func=lambda k: t(f"mo_kind_{k}"), key="mo_kind")
    # the Data page's flow (column mapping, need aliases, every rejected row shown), into this dataset;
    # the month offered is the later of the two compared
    upload_section(kind, tables, user, dataset=ds, month_default=b if len(all_months) >= 2 else None)
