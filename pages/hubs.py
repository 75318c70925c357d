"""镇街 / 村社 Hub view: one town station or village point, its area, who is outside, alternatives."""

from __future__ import annotations

import streamlit as st

from core.i18n import labels as labels_of
from data.accounts.access import can_export_individuals, ensure_can_export_individuals, filter_frame
from data.accounts.audit import sha256_hex
from data.safe_export import frame_to_csv_bytes
from geo.figures import coverage_pct
from pages._auth import area_key, area_of, get_audit, require_user
from pages._common import (
    attribution_caption,
    bundle_snapper,
    current_item_names,
    current_key,
    current_settings,
    current_tables,
    get_bundle,
)
from pages._coverage import current_run, map_payload_for, nearest_other_hub, share_table
from pages._i18n import label, lang, t
from pages._map import show_map
from service.dashboard import town_bounds
from service.hub_view import category_counts, hub_households, outside_list, providers_near

K_TIER = "hub_tier"
K_HUB = "hub_pick"

user = require_user()
area = area_key(user)
bundle = get_bundle()
settings = current_settings()
run = current_run(area)
st.title(t("hub_title"))

hubs = filter_frame("hubs", run.hubs, area_of(user))
tiers = [x for x in ("town", "village") if (hubs["tier"] == x).any()]
if not tiers:
    st.info(t("no_individuals"))
    st.stop()
tier = st.radio(t("pick_tier"), tiers, format_func=lambda x: label("tier", x), key=K_TIER, horizontal=True)
choices = hubs[hubs["tier"] == tier].sort_values("hub_id")
labels = dict(zip(choices["hub_id"].astype(str), choices["name"].astype(str), strict=True))
if not labels:
    st.info("—")
    st.stop()
hub_id = st.selectbox(
    t("pick_hub"), list(labels), format_func=lambda h: f"{labels[h]}（{h}）", placeholder=t("choose"), key=K_HUB
)
hub = choices[choices["hub_id"].astype(str) == hub_id].iloc[0]

area_pts = hub_households(run, hub)

c1, c2, c3 = st.columns(3)
n = len(area_pts)
n_in = int(area_pts["covered"].sum())
pct = coverage_pct(n_in, n)
c1.metric(t("households"), f"{n:,}")
c2.metric(t("inside"), f"{n_in:,}")
c3.metric(t("outside"), f"{n - n_in:,}")
# the run holds the households this user may see: the district, or a manager's own town or village
versus = t("hub_vs_area") if area_of(user).town_code else t("hub_vs_district")
st.caption(f"{versus}: {pct:.1f}% / {run.coverage_pct:.1f}%")

st.subheader(t("hub_area"))
# one map for every hub of the area (drawn once, kept in the browser); the view moves to the hub's town
home = area_of(user).town_code or str(hubs["town_code"].min())
bounds = town_bounds(bundle, str(hub["town_code"]))
show_map(map_payload_for(current_key(area), "uncovered", focus_town=home), height=520, key="hub_map", fit_bounds=bounds)

st.subheader(t("by_category"))
# own area: a role that sees households
st.dataframe(share_table(category_counts(area_pts), labels_of("category")), width="stretch")

st.subheader(t("outside_list"))
if area_pts["covered"].all():
    st.success(t("no_outside"))
else:
    names = dict(zip(run.hubs["hub_id"].astype(str), run.hubs["name"].astype(str), strict=True))
    view = outside_list(area_pts, nearest_other_hub(current_key(area), hub_id), names, lang())
    st.dataframe(view, width="stretch", hide_index=True)
    # The individual list leaves the system in two steps, so it is never offered unaudited:
    # 1. "prepare" writes the audit entry (with the file's hash) before anything can be fetched;
    # 2. only in that one rerun a download button is shown. Its data is deferred (a callable):
    #    no file sits behind a /media URL until the click, which comes over this signed-in
    #    session. on_click="ignore" keeps the button for that click; the next rerun (any
    #    action on the page) drops it, and Streamlit deletes the orphaned file at its next sweep.
    if can_export_individuals(user.role) and st.button(t("prepare_outside"), key="prepare_outside"):
        ensure_can_export_individuals(user.role)
        csv = frame_to_csv_bytes(view)  # text cells guarded against formula injection
        get_audit().append(
            user.username,
            user.role.value,
            "export_individuals",
            {**area_of(user).as_dict(), "hub_id": hub_id, "list": "outside_circle"},
            len(view),
            file_hash=sha256_hex(csv),
        )
        st.caption(t("export_ready"))
        st.download_button(
            t("export_outside"),
            lambda: csv,
            file_name=f"outside_{hub_id}.csv",
            mime="text/csv",
            key="export_outside",
            on_click="ignore",
        )

st.subheader(t("providers_near"))
radius_cm = 2 * settings.cutoff_cm
near = providers_near(
    bundle_snapper(), float(hub["lon"]), float(hub["lat"]), current_tables()["providers"],
    cutoff_cm=radius_cm, lang=lang(), items=current_item_names(),
)  # fmt: skip
st.caption(f"≤ {radius_cm / 100:.0f} m")
if len(near):
    st.dataframe(near, width="stretch", hide_index=True)
attribution_caption()
