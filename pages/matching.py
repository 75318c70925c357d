"""匹配 Matching: matched shares, unmet needs in priority order, provider load, what-if, plan export, search."""

from __future__ import annotations

import streamlit as st

from data.accounts.access import filter_frame
from pages._auth import area_key, area_of, require_user
from pages._common import (
    attribution_caption,
    current_item_names,
    current_key,
    current_tables,
    dataset_notice,
    get_bundle,
)
from pages._i18n import lang, t
from pages._map import show_map
from pages._match_data import matching_for, matching_map_payload, search_for
from pages._match_widgets import (
    clicked_point,
    plan_export,
    remember_click,
    search_form,
    whatif_controls,
    whatif_state,
)
from service import matching as svc

user = require_user()
key = current_key(area_key(user))
tables, bundle = current_tables(), get_bundle()
items = [str(i) for i in tables["catalogue"]["item_id"]]
item_names = current_item_names()  # the dataset's catalogue's wording
changes, added = whatif_state()
am = matching_for(key, changes, added)
names = tables["providers"].set_index(tables["providers"]["provider_id"].astype(str))["name"]
hubs = filter_frame("hubs", tables["hubs"], area_of(user)).sort_values("hub_id")
st.title(t("match_title"))
st.caption(t("match_caption"))
dataset_notice(("catalogue", "offers", "needs"))
c1, c2, c3 = st.columns(3)
n, n_matched = len(am.needs), int(am.needs["matched"].sum())
c1.metric(t("match_total"), f"{n:,}")
c2.metric(t("match_matched"), f"{n_matched:,}")
c3.metric(t("match_unmet"), f"{n - n_matched:,}")
if changes or added:
    st.info(t("match_whatif_active", k=len(changes) + len(added)))
left, right = st.columns(2)
left.subheader(t("match_by_type"))
left.dataframe(svc.share_view(am.by_need_type, "need_type", lang=lang()), width="stretch")
right.subheader(t("match_by_item"))
right.dataframe(svc.share_view(am.by_item, "service", lang=lang(), items=item_names), width="stretch", height=260)

st.subheader(t("match_unmet_list"))
if am.unmet.empty:
    st.success(t("match_none_unmet"))
else:
    st.dataframe(
        svc.unmet_view(am, tables["providers"], lang=lang(), items=item_names), width="stretch", hide_index=True
    )
    if len(am.unmet) > 500:
        st.caption(t("match_unmet_more", k=500, n=f"{len(am.unmet):,}"))

st.subheader(t("match_util"))
bars, col = svc.utilisation_chart(am, lang=lang())
st.bar_chart(bars, x=t("col_provider"), y=col, horizontal=True, sort=f"-{col}", height=460)
st.dataframe(svc.providers_view(am, lang=lang()), width="stretch", hide_index=True, height=260)
if not am.district:
    st.caption(t("match_util_note"))
hub_id = whatif_controls(am, names, hubs, items, item_names)
plan_export(user, am, tables["providers"], key.settings, item_names)

st.subheader(t("search_title"))
form = search_form(items, key.settings.minutes, item_names)
point = clicked_point() if form.origin == "click" else None
if form.origin == "hub" and hub_id:
    h = hubs[hubs["hub_id"].astype(str) == hub_id].iloc[0]
    point = (float(h["lon"]), float(h["lat"]))
elif point is None:
    st.caption(t("search_click_hint"))
search = None
if point is not None:
    search = (point, form.minutes, form.item_id, form.keyword, form.with_capacity)
res = None if search is None else search_for(key, changes, added, *search)
payload = matching_map_payload(key, changes, added, search, form.access_group or "", lang())
clicks = ["last_clicked"] if form.origin == "click" else []
out = show_map(payload, key="match_map", height=520, returned_objects=clicks)
if form.origin == "click":
    remember_click(out, point)
if res is not None and len(res):
    st.dataframe(svc.search_view(res, lang=lang(), items=item_names), width="stretch", hide_index=True)
elif res is not None:
    st.info(t("search_none"))
attribution_caption()
