"""选址规划 Planner: where the next stations should go, and live what-if scenarios."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import DataError, GeoError
from core.vocab import NEED_TYPES
from data.accounts.access import check_upload
from data.accounts.auth import Role
from data.tables import read_table
from geo.scenario import Scenario, compare_scenarios
from geo.siting import DemandWeights
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
    map_payload_for,
    page_fragment,
    recommend_for,
)
from pages._i18n import label, lang, t
from pages._map import Mark, map_value, show_map
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
K_LIVE = "planner_live"  # (run key, {name: Scenario}): this session's live scenarios
K_BASELINE = "_baseline"
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
# One fragment: a map click, a mode or a scenario button reruns only this part (the map frame
# stays, its new stations arrive as a feature group), never the recommendations above.
st.subheader(t("whatif"))
scen: dict[str, list[dict[str, Any]]] = st.session_state.setdefault(K_SCENARIOS, {n: [] for n in SCENARIO_NAMES})
snapper = bundle_snapper()


def _markers(sites: pd.DataFrame, cur: Scenario) -> list[Mark]:
    """Recommended sites and the scenario's new stations, sent to the live map (not in the cached map)."""
    marks = [
        Mark(float(lat), float(lon), f"#{int(rank)} {site}", radius=9, color="#6a1b9a", weight=3)
        for lat, lon, rank, site in zip(sites["lat"], sites["lon"], sites["rank"], sites["site_id"], strict=True)
    ]
    new_hubs = cur.hubs_table()
    new_hubs = new_hubs[new_hubs["scenario_status"] != "existing"]
    marks += [
        Mark(float(lat), float(lon), t("new_station"), fill_color="#ffd600", fill_opacity=1.0)
        for lat, lon in zip(new_hubs["lat"], new_hubs["lon"], strict=True)
    ]
    return marks


def _live_scenarios() -> dict[str, Scenario]:
    """This session's scenarios, live: kept between reruns while the run key and their edits are
    unchanged, so a click applies one incremental edit instead of replaying every edit (the
    baseline too, under :data:`K_BASELINE`)."""
    key = current_key(area)
    held = st.session_state.get(K_LIVE)
    if held is None or held[0] != key:
        held = (key, {})
        st.session_state[K_LIVE] = held
    live: dict[str, Scenario] = held[1]
    for n, e in [*scen.items(), (K_BASELINE, [])]:
        if n not in live or live[n].edits != e:
            live[n] = Scenario.from_payload({"edits": e}, run, snapper, name=n)
    return live


def _remove_chosen(active: str) -> None:
    """The "remove" button (a callback: the hub list is drawn with the hub already gone)."""
    hub_id = st.session_state.get(K_REMOVE)
    if hub_id:
        cur = _live_scenarios()[active]
        cur.remove(hub_id)
        scen[active] = cur.edits


@page_fragment
def whatif(sites: pd.DataFrame) -> None:
    active = st.radio(
        t("scenario"), SCENARIO_NAMES, format_func=lambda n: t("scenario_n", n=n), key=K_ACTIVE, horizontal=True
    )
    try:
        scenarios = _live_scenarios()
    except GeoError as exc:
        st.error(str(exc))
        return
    cur = scenarios[active]

    a1, a2, a3 = st.columns(3)
    pick = a1.selectbox(
        t("add_site"), sites["site_id"].tolist(), format_func=lambda s: f"#{s}", placeholder=t("choose"), key=K_PICK
    )
    if a1.button(t("add"), key="planner_add") and pick is not None:
        row = sites[sites["site_id"] == pick].iloc[0]
        cur.add(float(row["lon"]), float(row["lat"]), name=f"推荐站点 {pick}")
        scen[active] = cur.edits
    if a3.button(t("reset"), key="planner_reset"):
        scen[active] = []
        cur = scenarios[active] = Scenario.from_payload({"edits": []}, run, snapper, name=active)
    click_action = st.radio(
        t("click_action"),
        ["none", "add", "move"],
        format_func=lambda a: t(f"click_{a}"),
        key=K_CLICK,
        horizontal=True,
    )
    payload = map_payload_for(current_key(area), "uncovered")
    # "does nothing": the map returns nothing, so a click starts no run at all
    returned = ["last_clicked"] if click_action != "none" else []
    # the click of the last interaction, applied before the map and the figures are drawn
    last = (map_value(payload, "planner_map", returned) or {}).get("last_clicked")
    to_remove = st.session_state.get(K_REMOVE)
    if last:
        marker = (round(last["lng"], 6), round(last["lat"], 6))
        if st.session_state.get("planner_last_click") != marker:
            st.session_state["planner_last_click"] = marker
            if click_action == "add":
                cur.add(marker[0], marker[1], name="点选站点")
            elif click_action == "move" and to_remove:
                cur.move(to_remove, marker[0], marker[1])
            scen[active] = cur.edits
    removable = cur.hubs_table()["hub_id"].astype(str).tolist()
    a2.selectbox(t("pick_hub_edit"), removable, placeholder=t("choose"), key=K_REMOVE)
    a2.button(t("remove"), key="planner_remove", on_click=_remove_chosen, args=(active,))
    show_map(payload, key="planner_map", height=560, returned_objects=returned, marks=_markers(sites, cur))

    results = [scenarios[n].result(t("scenario_n", n=n)) for n in scen]
    baseline = scenarios[K_BASELINE].result(t("baseline"))
    compared = compare_scenarios(results, baseline=baseline)
    town_names = dict(zip(bundle.towns["town_code"].astype(str), bundle.towns["name"].astype(str), strict=True))
    st.dataframe(comparison_table(compared, town_names, lang()), width="stretch", hide_index=True)
    st.caption(t("whatif_note"))


whatif(sites)
active = st.session_state.get(K_ACTIVE, SCENARIO_NAMES[0])
cur = _live_scenarios()[active]

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
