"""匹配 Matching: matched shares, unmet needs in priority order, provider load, what-if, plan export, search."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from core.i18n import labels as labels_of
from data.accounts.access import can_export_individuals, ensure_can_export_individuals, filter_frame
from data.accounts.audit import sha256_hex
from data.safe_export import frame_to_xlsx_bytes
from pages._auth import area_key, area_of, get_audit, require_user
from pages._common import (
    accessibility_for,
    current_key,
    current_tables,
    get_basemap,
    get_bundle,
    matching_for,
    search_for,
)
from pages._i18n import lang, t
from service import matching as svc

K_CHANGES, K_ADDED, K_POINT = "match_changes", "match_added", "match_point"
user = require_user()
key = current_key(area_key(user))
tables, bundle = current_tables(), get_bundle()
changes, added = st.session_state.get(K_CHANGES, ()), st.session_state.get(K_ADDED, ())
am = matching_for(key, changes, added)
names = tables["providers"].set_index(tables["providers"]["provider_id"].astype(str))["name"]
st.title(t("match_title"))
st.caption(t("match_caption"))
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
right.dataframe(svc.share_view(am.by_item, "service", lang=lang()), width="stretch", height=260)

st.subheader(t("match_unmet_list"))
if am.unmet.empty:
    st.success(t("match_none_unmet"))
else:
    st.dataframe(svc.unmet_view(am, tables["providers"], lang=lang()), width="stretch", hide_index=True)
    if len(am.unmet) > 500:
        st.caption(t("match_unmet_more", k=500, n=f"{len(am.unmet):,}"))

st.subheader(t("match_util"))
util = svc.providers_view(am, lang=lang())
bars, col = svc.utilisation_chart(am, lang=lang())
st.bar_chart(bars, x=t("col_provider"), y=col, horizontal=True, sort=f"-{col}", height=460)
st.dataframe(util, width="stretch", hide_index=True, height=260)
if not am.district:
    st.caption(t("match_util_note"))

with st.expander(t("match_whatif"), expanded=bool(changes or added)):
    offers = list(zip(am.offers["provider_id"].astype(str), am.offers["item_id"].astype(str), strict=True))
    pick = st.selectbox(
        t("match_whatif_offer"),
        offers,
        format_func=lambda o: svc.offer_label(*o, names, lang=lang()),
        key="match_offer",
    )
    cap = st.number_input(t("match_whatif_capacity"), 0, 100_000, 0, step=10, key="match_cap")
    hubs = filter_frame("hubs", tables["hubs"], area_of(user)).sort_values("hub_id")
    hub_names = dict(zip(hubs["hub_id"].astype(str), hubs["name"].astype(str), strict=True))
    hub_id = st.selectbox(t("match_whatif_hub"), list(hub_names), format_func=hub_names.__getitem__, key="match_hub")
    item = st.selectbox(
        t("match_whatif_item"),
        list(bundle.catalogue["item_id"]),
        format_func=labels_of("service").get,
        key="match_item",
    )
    b1, b2, b3 = st.columns(3)
    if b1.button(t("match_whatif_apply"), key="match_apply", disabled=pick is None):
        st.session_state[K_CHANGES] = (*(c for c in changes if c[:2] != pick), (*pick, int(cap)))
        st.rerun()
    if b2.button(t("match_whatif_add"), key="match_add", disabled=not hub_id):
        h = hubs[hubs["hub_id"].astype(str) == hub_id].iloc[0]
        new = (f"{svc.NEW_PROVIDER_ID}-{len(added) + 1}", item, int(cap), float(h["lon"]), float(h["lat"]))
        st.session_state[K_ADDED] = (*added, new)
        st.rerun()
    if b3.button(t("match_whatif_reset"), key="match_reset"):
        st.session_state[K_CHANGES], st.session_state[K_ADDED] = (), ()
        st.rerun()

# The plan leaves the system in two steps (as on the hub page): the audit entry is written
# first, then a download button exists for that one rerun, its data generated at the click.
if can_export_individuals(user.role) and st.button(t("match_prepare"), key="match_prepare"):
    ensure_can_export_individuals(user.role)
    plan = svc.household_plan(am, tables["providers"], key.settings, lang=lang())
    xlsx = frame_to_xlsx_bytes(plan, sheet=t("match_plan_sheet"))
    get_audit().append(
        user.username,
        user.role.value,
        "export_individuals",
        {**area_of(user).as_dict(), "list": "household_plan", "whatif": len(changes) + len(added)},
        len(plan),
        file_hash=sha256_hex(xlsx),
    )
    st.caption(t("export_ready"))
    st.download_button(
        t("match_export"),
        lambda: xlsx,
        file_name="household_plan.xlsx",
        key="match_export",
        on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

st.subheader(t("search_title"))
s1, s2, s3 = st.columns(3)
item_pick = s1.selectbox(
    t("search_item"),
    ["", *bundle.catalogue["item_id"]],
    format_func=lambda c: labels_of("service").get(c, t("search_any_item")),
    key="search_item",
)
keyword = s2.text_input(t("search_keyword"), key="search_keyword")
minutes = s3.slider(t("search_minutes"), 5, 30, int(key.settings.minutes), key="search_minutes")
origin = st.radio(
    t("search_from"), ["hub", "click"], format_func=lambda o: t(f"search_from_{o}"), horizontal=True, key="search_from"
)
with_cap = st.checkbox(t("search_with_capacity"), key="search_cap")
show_access = st.checkbox(t("search_access"), key="search_access")
group = (
    st.radio(
        t("search_access_group"),
        list(labels_of("need_type")),
        format_func=labels_of("need_type").get,
        horizontal=True,
        key="search_group",
    )
    if show_access
    else "survival"
)
point = None
if origin == "hub" and hub_id:
    h = hubs[hubs["hub_id"].astype(str) == hub_id].iloc[0]
    point = (float(h["lon"]), float(h["lat"]))
elif origin == "click":
    point = st.session_state.get(K_POINT)
    if point is None:
        st.caption(t("search_click_hint"))
res = search_for(key, changes, added, point, float(minutes), item_pick, keyword, with_cap) if point else None
m = svc.matching_map(
    bundle=bundle,
    basemap=get_basemap(),
    hubs=hubs,
    providers=tables["providers"],
    search=res,
    point=point,
    access=accessibility_for(key) if show_access else None,
    access_group=group,
    settings=key.settings,
    focus_town=area_of(user).town_code or "",
    lang=lang(),
)
out = st_folium(
    m,
    returned_objects=["last_clicked"] if origin == "click" else [],
    height=520,
    use_container_width=True,
    key="match_map",
)
click = (out or {}).get("last_clicked")
if origin == "click" and click and (click["lng"], click["lat"]) != point:
    st.session_state[K_POINT] = (float(click["lng"]), float(click["lat"]))
    st.rerun()
if res is not None and len(res):
    st.dataframe(svc.search_view(res, lang=lang()), width="stretch", hide_index=True)
elif res is not None:
    st.info(t("search_none"))
st.caption(t("attribution"))
