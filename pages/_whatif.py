"""The planner's what-if scenarios (情景模拟): up to three scenarios of new, moved and removed
stations on the live map, compared with today's network.

One fragment: a map click, a mode or a scenario button reruns only this part (the map frame
stays, its new stations arrive as a feature group), never the recommendations above it.
The scenarios are :class:`geo.scenario.Scenario` objects kept live in the session.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.errors import GeoError
from geo.analysis import CoverageRun
from geo.scenario import Scenario, compare_scenarios
from geo.snap import Snapper
from pages._coverage import map_payload_for
from pages._database import page_fragment
from pages._i18n import error_text, lang, t
from pages._map import Mark, map_value, show_map
from service.dashboard import RunKey
from service.display import comparison_table

K_SCENARIOS = "planner_scenarios"  # name -> list of edits
K_ACTIVE = "planner_active"
K_PICK = "planner_pick_site"
K_REMOVE = "planner_remove_hub"
K_CLICK = "planner_click_mode"
K_LAST_CLICK = "planner_last_click"
K_LIVE = "planner_live"  # (run key, {name: Scenario}): this session's live scenarios
K_BASELINE = "_baseline"
SCENARIO_NAMES = ("A", "B", "C")  # session keys; shown as t("scenario_n"): 方案A / Scenario A


def scenario_edits() -> dict[str, list[dict[str, Any]]]:
    """This session's scenarios as their edits (what is saved), by name."""
    edits: dict[str, list[dict[str, Any]]] = st.session_state.setdefault(K_SCENARIOS, {n: [] for n in SCENARIO_NAMES})
    return edits


def active_name() -> str:
    """The scenario chosen in the fragment (A before it ran)."""
    return str(st.session_state.get(K_ACTIVE, SCENARIO_NAMES[0]))


def live_scenarios(key: RunKey, run: CoverageRun, snapper: Snapper) -> dict[str, Scenario]:
    """This session's scenarios, live: kept between reruns while the run key and their edits are
    unchanged, so a click applies one incremental edit instead of replaying every edit (the
    baseline too, under :data:`K_BASELINE`)."""
    held = st.session_state.get(K_LIVE)
    if held is None or held[0] != key:
        held = (key, {})
        st.session_state[K_LIVE] = held
    live: dict[str, Scenario] = held[1]
    for n, e in [*scenario_edits().items(), (K_BASELINE, [])]:
        if n not in live or live[n].edits != e:
            live[n] = Scenario.from_payload({"edits": e}, run, snapper, name=n)
    return live


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


def _remove_chosen(key: RunKey, run: CoverageRun, snapper: Snapper, active: str) -> None:
    """The "remove" button (a callback: the hub list is drawn with the hub already gone)."""
    hub_id = st.session_state.get(K_REMOVE)
    if hub_id:
        cur = live_scenarios(key, run, snapper)[active]
        cur.remove(hub_id)
        scenario_edits()[active] = cur.edits


@page_fragment
def whatif(sites: pd.DataFrame, key: RunKey, run: CoverageRun, snapper: Snapper, town_names: dict[str, str]) -> None:
    """The scenario picker, edit buttons, click mode, live map and comparison table."""
    scen = scenario_edits()
    active = st.radio(
        t("scenario"), SCENARIO_NAMES, format_func=lambda n: t("scenario_n", n=n), key=K_ACTIVE, horizontal=True
    )
    try:
        scenarios = live_scenarios(key, run, snapper)
    except GeoError as exc:
        st.error(error_text(exc, town_names))
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
        t("click_action"), ["none", "add", "move"], format_func=lambda a: t(f"click_{a}"), key=K_CLICK, horizontal=True
    )
    payload = map_payload_for(key, "uncovered")
    # "does nothing": the map returns nothing, so a click starts no run at all
    returned = ["last_clicked"] if click_action != "none" else []
    # the click of the last interaction, applied before the map and the figures are drawn
    last = (map_value(payload, "planner_map", returned) or {}).get("last_clicked")
    to_remove = st.session_state.get(K_REMOVE)
    if last:
        marker = (round(last["lng"], 6), round(last["lat"], 6))
        if st.session_state.get(K_LAST_CLICK) != marker:
            st.session_state[K_LAST_CLICK] = marker
            if click_action == "add":
                cur.add(marker[0], marker[1], name="点选站点")
            elif click_action == "move" and to_remove:
                cur.move(to_remove, marker[0], marker[1])
            scen[active] = cur.edits
    removable = cur.hubs_table()["hub_id"].astype(str).tolist()
    a2.selectbox(t("pick_hub_edit"), removable, placeholder=t("choose"), key=K_REMOVE)
    a2.button(t("remove"), key="planner_remove", on_click=_remove_chosen, args=(key, run, snapper, active))
    show_map(payload, key="planner_map", height=560, returned_objects=returned, marks=_markers(sites, cur))

    results = [scenarios[n].result(t("scenario_n", n=n)) for n in scen]
    baseline = scenarios[K_BASELINE].result(t("baseline"))
    compared = compare_scenarios(results, baseline=baseline)
    st.dataframe(comparison_table(compared, town_names, lang()), width="stretch", hide_index=True)
    st.caption(t("whatif_note"))
