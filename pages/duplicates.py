"""重复救助 Duplicate provision: per-hub flagged list, department × item-group overlap, review, audited export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import DuplicateFlagError
from data.accounts.access import can_export_individuals, can_see_individuals, filter_frame
from data.duplicate_reviews import load_reviews
from data.duplicates import PERIODS, apply_reviews
from pages._auth import area_of, get_audit, require_user
from pages._common import current_dataset, current_tables, dataset_notice, dataset_version, get_bundle, get_store
from pages._i18n import t
from pages._records import duplicate_flags, service_records
from service.duplicates import FLAG_LIST_COLUMNS, export_flag_list_csv, flag_list, overlap_matrix, review_flag

K_PERIOD, K_HUB, K_FLAG, K_NOTE, K_DONE = "dup_period", "dup_hub", "dup_flag", "dup_note", "dup_done_msg"

user = require_user()
st.title(t("dup_title"))
if not can_see_individuals(user.role):  # viewers are not routed here; aggregates live in the reports
    st.info(t("no_individuals"))
    st.stop()
af = area_of(user)
ds = current_dataset()
version = dataset_version(ds)
recs = service_records(ds, version)
dataset_notice(("records",))
if recs is None:
    st.info(t("dup_no_records"))
    st.stop()
if recs.synthetic:
    st.caption(t("dup_synthetic"))
period = st.selectbox(t("dup_period"), list(PERIODS), format_func=lambda p: t(f"dup_period_{p}"), key=K_PERIOD)
flags = apply_reviews(duplicate_flags(ds, version, period), load_reviews(get_store(), dataset=ds))

hubs = filter_frame("hubs", current_tables()["hubs"], af)
hubs = hubs[hubs["tier"].isin(["town", "village"])].sort_values(["tier", "hub_id"])
hub_names = {"": t("dup_scope_all")} | dict(zip(hubs["hub_id"].astype(str), hubs["name"].astype(str), strict=True))
hub_id = st.selectbox(t("dup_scope"), list(hub_names), format_func=hub_names.__getitem__, key=K_HUB)
town = village = None
if hub_id:
    row = hubs[hubs["hub_id"].astype(str) == hub_id].iloc[0]
    town, village = (str(row["town_code"]), hub_id[1:]) if row["tier"] == "village" else (str(row["town_code"]), None)
audit = get_audit()
listed = flag_list(flags, recs.households, af, town_code=town, village_code=village, audit=audit, who=user.username)
matrix = overlap_matrix(
    flags, recs.records, recs.households, af, town_code=town, village_code=village, audit=audit, who=user.username
)
c1, c2 = st.columns(2)
c1.metric(t("dup_n_open"), f"{matrix.n_flags:,}")
c2.metric(t("dup_total_amount"), f"{matrix.total_amount:,.0f}")

st.subheader(t("dup_overlap"))
for title, frame, fmt in ((t("dup_counts"), matrix.counts, "{:,.0f}"), (t("dup_amounts"), matrix.amounts, "{:,.0f}")):
    st.caption(title)
    shown = frame.rename_axis(index=t("dup_col_department"), columns=t("dup_col_item_group"))
    st.dataframe(shown.style.format(fmt), width="stretch")

st.subheader(t("dup_flag_list"))
msg = st.session_state.pop(K_DONE, None)
if msg:
    st.success(msg)
if listed.empty:
    st.success(t("dup_none"))
    st.stop()
view = listed.reindex(columns=list(FLAG_LIST_COLUMNS)).copy()
view["status"] = view["status"].map(lambda s: t(f"dup_status_{s}"))
towns = dict(zip(get_bundle().towns["town_code"].astype(str), get_bundle().towns["name"].astype(str), strict=True))
view["town_code"] = view["town_code"].map(lambda c: t("not_recorded") if pd.isna(c) else towns.get(str(c), str(c)))
view["amount"] = [f"{a:,.2f}" if pd.notna(a) else "—" for a in view["amount"]]
view = view.astype(object).map(lambda v: ";".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
headers = {c: t("cap_col_town") if c == "town_code" else t(f"dup_col_{c}") for c in FLAG_LIST_COLUMNS}
view = view.where(view.notna(), "—").astype(str).rename(columns=headers)
st.dataframe(view, hide_index=True, width="stretch")

with st.form("dup_review", clear_on_submit=True):
    about = {f: f"{n} · {g} · {p}" for f, n, g, p in listed[["flag_id", "name_masked", "item_group", "period"]].values}
    flag_id = st.selectbox(t("dup_pick_flag"), list(about), format_func=about.__getitem__, key=K_FLAG)
    note = st.text_area(t("dup_review_note"), key=K_NOTE, max_chars=500)
    if st.form_submit_button(t("dup_mark_reviewed")):
        if not note.strip():
            st.error(t("dup_note_required"))
        else:
            try:
                review_flag(flags, recs.households, flag_id, note=note.strip(), area_filter=af, who=user.username,
                            store=get_store(), audit=get_audit(), dataset=ds)  # fmt: skip
            except DuplicateFlagError as exc:
                st.error(str(exc))
            else:
                st.session_state[K_DONE] = t("dup_reviewed_ok")
                st.rerun()

# Two steps, as on the hub page: "prepare" writes the audit entry (with the file's hash)
# before anything can be fetched; the download button exists for that one rerun only,
# its data deferred (a callable) and on_click="ignore".
if can_export_individuals(user.role) and st.button(t("dup_prepare"), key="dup_prepare"):
    csv = export_flag_list_csv(listed, af, who=user.username, audit=get_audit())
    st.caption(t("export_ready"))
    st.download_button(t("dup_export"), lambda: csv, file_name=f"duplicates_{hub_id or 'area'}.csv",
                       mime="text/csv", key="dup_export", on_click="ignore")  # fmt: skip
