"""镇街 / 村社 Hub view: one town station or village point, its area, who is outside, alternatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.i18n import labels as labels_of
from core.vocab import NEED_PRIORITY
from data.accounts.access import can_export_individuals, ensure_can_export_individuals, filter_frame
from data.accounts.audit import sha256_hex
from data.safe_export import frame_to_csv_bytes
from geo.analysis import walk_from_point
from geo.areas import hub_area_mask
from geo.figures import coverage_pct
from pages._auth import area_key, area_of, get_audit, require_user
from pages._common import (
    bundle_snapper,
    current_item_names,
    current_key,
    current_run,
    current_settings,
    current_tables,
    get_bundle,
    map_payload_for,
    nearest_other_hub,
    share_table,
)
from pages._i18n import item_name, label, t
from pages._map import show_map
from service.dashboard import town_bounds

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

pts = run.points
area_pts = pts[hub_area_mask({str(k): v for k, v in hub.items()}, pts)]

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
counts = area_pts.groupby("category").agg(n=("covered", "size"), covered=("covered", "sum")).astype(int)
st.dataframe(share_table(counts, labels_of("category")), width="stretch")  # own area: a role that sees households

st.subheader(t("outside_list"))
outside = area_pts[~area_pts["covered"]].copy()
if outside.empty:
    st.success(t("no_outside"))
else:
    alt = nearest_other_hub(current_key(area), hub_id)
    outside = outside.join(alt)
    outside["_prio"] = outside["need_type"].map(NEED_PRIORITY).fillna(len(NEED_PRIORITY))
    outside = outside.sort_values(["_prio", "urgency", "beneficiary_id"], ascending=[True, False, True])
    names = dict(zip(run.hubs["hub_id"].astype(str), run.hubs["name"].astype(str), strict=True))
    view = pd.DataFrame(
        {
            t("col_id"): outside["beneficiary_id"].astype(str),
            t("col_name"): outside["name_masked"].fillna(""),
            t("col_category"): outside["category"].map(lambda c: label("category", c)),
            t("col_need_type"): outside["need_type"].map(lambda c: label("need_type", c)),
            t("col_urgency"): outside["urgency"],
            t("nearest_alt"): outside["alt_hub_id"].map(lambda h: names.get(str(h), "—") if h else "—"),
            t("col_walk_m"): np.round(outside["alt_walk_m"], 0),
        }
    )
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
prov = current_tables()["providers"]
radius_cm = 2 * settings.cutoff_cm
walk = walk_from_point(
    bundle_snapper(), float(hub["lon"]), float(hub["lat"]), prov["lon"], prov["lat"], cutoff_cm=radius_cm
)
near = prov.assign(walk_m=walk)[np.isfinite(walk)]
st.caption(f"≤ {radius_cm / 100:.0f} m")
rows = [
    {"service": code, "provider": r["name"], "capacity_month": r["capacity_month"], "walk_m": round(r["walk_m"])}
    for _, r in near.iterrows()
    for code in str(r["services"]).split(";")
    if code
]
if rows:
    by_item, item_names = pd.DataFrame(rows), current_item_names()
    by_item["service"] = by_item["service"].map(lambda c: item_name(c, item_names))
    by_item = by_item.sort_values(["service", "walk_m"]).rename(
        columns={"service": t("col_service"), "provider": t("col_provider"),
                 "capacity_month": t("col_capacity"), "walk_m": t("col_walk_m")}
    )  # fmt: skip
    st.dataframe(by_item, width="stretch", hide_index=True)
st.caption(t("attribution"))
