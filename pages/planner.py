"""选址规划 Planner: where the next stations should go, and live what-if scenarios."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from core.errors import DataError, GeoError
from core.vocab import NEED_TYPES
from data.accounts.access import check_upload
from data.accounts.auth import Role
from data.tables import read_table
from geo.scenario import Scenario, compare_scenarios
from geo.siting import DemandWeights
from layers.assets import localize_assets
from pages._auth import area_key, require_user
from pages._common import (
    bundle_snapper,
    current_dataset,
    current_key,
    current_run,
    current_settings,
    dataset_version,
    get_bundle,
    get_store,
    map_for,
    recommend_for,
)
from pages._i18n import label, lang, t
from service.display import comparison_table

K_P = "planner_p"
K_W = "planner_w_"
K_REQ = "planner_require_towns"
K_WITHIN = "planner_within_town"
K_SCENARIOS = "planner_scenarios"  # name -> list of edits
K_ACTIVE = "planner_active"
K_PICK = "planner_pick_site"
K_REMOVE = "planner_remove_hub"
K_CLICK = "planner_click_mode"
K_SAVE_NAME = "planner_save_name"
K_LOAD = "planner_load_id"
SCENARIO_NAMES = ("A", "B", "C")  # session keys; shown as t("scenario_n"): 方案A / Scenario A

user = require_user()
if user.role not in (Role.ADMIN, Role.PLANNER):
    st.error(t("no_individuals"))
    st.stop()
area = area_key(user)
bundle = get_bundle()
settings = current_settings()
run = current_run(area)
ds = current_dataset()
version = dataset_version(ds)
st.title(t("planner_title"))
towns = bundle.towns.set_index("town_code")["name"].astype(str).to_dict()

# -- recommendations ------------------------------------------------------------------
with st.expander(t("planner_settings"), expanded=True):
    c1, c2, c3, c4, c5 = st.columns(5)
    p = c1.slider(t("planner_p"), 1, 5, 3, key=K_P)
    w_surv = c2.number_input(t("w_survival"), 0.0, 10.0, 3.0, 0.5, key=K_W + "survival")
    w_care = c3.number_input(t("w_care"), 0.0, 10.0, 2.0, 0.5, key=K_W + "care")
    w_dev = c4.number_input(t("w_development"), 0.0, 10.0, 1.0, 0.5, key=K_W + "development")
    w_urg = c5.number_input(t("w_urgency"), 0.0, 2.0, 0.25, 0.05, key=K_W + "urgency")
    r1, r2 = st.columns(2)
    require = r1.multiselect(
        t("require_towns"), list(towns), format_func=towns.__getitem__, placeholder=t("choose"), key=K_REQ
    )
    within = r2.selectbox(
        t("within_town"), ["", *towns], format_func=lambda c: towns.get(c, t("anywhere")), key=K_WITHIN
    )
    weights = DemandWeights(survival=w_surv, care=w_care, development=w_dev, urgency_factor=w_urg)
    st.caption(t("weights_rule"))
    cand_file = st.file_uploader(t("cand_upload"), type=["csv", "xlsx"], key="planner_candidates")
cand_frame = None
if cand_file is not None:
    try:
        check_upload(cand_file.name, cand_file.getvalue())
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"cands{Path(cand_file.name).suffix.lower()}"
            path.write_bytes(cand_file.getvalue())
            cand_frame = read_table(path)
    except DataError as exc:
        st.error(str(exc))
        st.stop()
    missing = [c for c in ("site_id", "lon", "lat") if c not in cand_frame.columns]
    if missing:
        st.error(t("cand_columns", cols=", ".join(missing)))
        st.stop()

try:
    rec = recommend_for(current_key(area), p, (w_surv, w_care, w_dev, w_urg), tuple(require), within, cand_frame)
except (GeoError, DataError) as exc:
    st.error(str(exc))
    st.stop()
summary = rec.summary()
m1, m2, m3 = st.columns(3)
m1.metric(t("covered_before"), f"{summary['n_covered_before']:,}")
m2.metric(
    t("covered_after"), f"{summary['n_covered_after']:,}", f"{summary['pct_after'] - summary['pct_before']:+.1f} pp"
)
m3.metric(t("optimal"), t("yes") if rec.solution.proven_optimal else t("no"))
st.caption(
    f"{t('share')}: {summary['pct_before']:.1f}% → {summary['pct_after']:.1f}% · "
    f"{t('mip_gap')}: {100 * rec.solution.gap:.1f}%"
)
sites = rec.sites.assign(town=rec.sites["town_code"].map(towns))
shown_cols = {
    "rank": t("col_rank"),
    "site_id": t("col_site"),
    "town": t("col_town"),
    "road_name": t("col_road"),
    "newly_covered": t("col_new_weighted"),
    "newly_covered_n": t("col_new_n"),
    **{f"n_need_{k}": label("need_type", k) for k in NEED_TYPES},
    "lon": t("col_lon"),
    "lat": t("col_lat"),
}
view = sites[[c for c in shown_cols if c in sites.columns]]
st.dataframe(
    view.rename(columns=shown_cols),
    width="stretch",
    hide_index=True,
)

# -- what-if scenarios ----------------------------------------------------------------
st.subheader(t("whatif"))
scen: dict[str, list[dict[str, Any]]] = st.session_state.setdefault(K_SCENARIOS, {n: [] for n in SCENARIO_NAMES})
active = st.radio(
    t("scenario"), SCENARIO_NAMES, format_func=lambda n: t("scenario_n", n=n), key=K_ACTIVE, horizontal=True
)
snapper = bundle_snapper()
try:
    scenarios = {
        n: Scenario.from_payload({"edits": e}, run, snapper, name=t("scenario_n", n=n)) for n, e in scen.items()
    }
except GeoError as exc:
    st.error(str(exc))
    st.stop()
cur = scenarios[active]

a1, a2, a3 = st.columns(3)
pick = a1.selectbox(
    t("add_site"), sites["site_id"].tolist(), format_func=lambda s: f"#{s}", placeholder=t("choose"), key=K_PICK
)
if a1.button(t("add"), key="planner_add") and pick is not None:
    row = sites[sites["site_id"] == pick].iloc[0]
    cur.add(float(row["lon"]), float(row["lat"]), name=f"推荐站点 {pick}")
    scen[active] = cur.edits
active_hubs = cur.hubs_table()
removable = active_hubs["hub_id"].astype(str).tolist()
to_remove = a2.selectbox(t("pick_hub_edit"), removable, placeholder=t("choose"), key=K_REMOVE)
if a2.button(t("remove"), key="planner_remove") and to_remove:
    cur.remove(to_remove)
    scen[active] = cur.edits
if a3.button(t("reset"), key="planner_reset"):
    scen[active] = []
    cur = Scenario.from_payload({"edits": []}, run, snapper, name=t("scenario_n", n=active))

click_action = st.radio(
    t("click_action"),
    ["none", "add", "move"],
    format_func=lambda a: t(f"click_{a}"),
    key=K_CLICK,
    horizontal=True,
)
m = map_for(current_key(area), "uncovered")
# markers go straight onto the map: a FeatureGroup added after build_map's layer control
# leaves the st_folium frame empty (height 0)
for _, r in sites.iterrows():
    folium.CircleMarker(
        [r["lat"], r["lon"]], radius=9, color="#6a1b9a", weight=3, fill=True, fill_opacity=0.3,
        tooltip=f"#{int(r['rank'])} {r['site_id']}",
    ).add_to(m)  # fmt: skip
new_hubs = cur.hubs_table()
for _, r in new_hubs[new_hubs["scenario_status"] != "existing"].iterrows():
    folium.CircleMarker(
        [r["lat"], r["lon"]], radius=7, color="#000000", weight=2, fill=True, fill_color="#ffd600",
        fill_opacity=1.0, tooltip=t("new_station"),
    ).add_to(m)  # fmt: skip
localize_assets(m)
clicked = st_folium(m, returned_objects=["last_clicked"], height=560, use_container_width=True, key="planner_map")
last = (clicked or {}).get("last_clicked")
if last:
    marker = (round(last["lng"], 6), round(last["lat"], 6))
    if st.session_state.get("planner_last_click") != marker:
        st.session_state["planner_last_click"] = marker
        if click_action == "add":
            cur.add(marker[0], marker[1], name="点选站点")
        elif click_action == "move" and to_remove:
            cur.move(to_remove, marker[0], marker[1])
        if click_action != "none":
            scen[active] = cur.edits
            st.rerun()

results = [s.result() for s in scenarios.values()]
results[SCENARIO_NAMES.index(active)] = cur.result()
baseline = Scenario.from_payload({"edits": []}, run, snapper, name=t("baseline")).result()
compared = compare_scenarios(results, baseline=baseline)
town_names = dict(zip(bundle.towns["town_code"].astype(str), bundle.towns["name"].astype(str), strict=True))
st.dataframe(comparison_table(compared, town_names, lang()), width="stretch", hide_index=True)
st.caption(t("whatif_note"))

# -- save / load ---------------------------------------------------------------------------
s1, s2 = st.columns(2)
name = s1.text_input(
    t("scenario_name"),
    value=f"{t('scenario_n', n=active)} {pd.Timestamp.now():%Y-%m-%d}",
    placeholder=t("scenario_name_placeholder"),
    key=K_SAVE_NAME,
)
if s1.button(t("save"), key="planner_save"):
    sid = get_store().save_scenario(name, cur.to_payload(), author=user.username)
    st.success(t("saved_scenario", id=sid))
stored = get_store().list_scenarios()
if len(stored):
    sid = s2.selectbox(
        t("load"), stored["scenario_id"].tolist(),
        format_func=lambda i: str(stored.loc[stored["scenario_id"] == i, "name"].iloc[0]),
        placeholder=t("choose"), key=K_LOAD,
    )  # fmt: skip
    if s2.button(t("load"), key="planner_load"):
        loaded = get_store().load_scenario(int(sid))
        try:
            Scenario.from_payload(loaded.payload, run, snapper)
        except GeoError as exc:
            st.error(str(exc))
        else:
            scen[active] = list(loaded.payload.get("edits", []))
            st.rerun()
