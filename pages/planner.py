"""选址规划 Planner: where the next stations should go, and live what-if scenarios."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import DataError, GeoError
from data.accounts.auth import Role
from geo.scenario import Scenario
from pages._auth import area_key, require_user
from pages._common import bundle_snapper, current_key, get_bundle, get_store
from pages._coverage import current_run, recommend_for
from pages._i18n import error_text, lang, t
from pages._lists import read_upload
from pages._whatif import active_name, live_scenarios, scenario_edits, whatif
from service.planning import sites_table

K_P = "planner_p"
K_W = "planner_w_"
K_REQ = "planner_require_towns"
K_WITHIN = "planner_within_town"
K_SAVE_NAME = "planner_save_name"
K_LOAD = "planner_load_id"

user = require_user()
if user.role not in (Role.ADMIN, Role.PLANNER):
    st.error(t("no_individuals"))
    st.stop()
area = area_key(user)
bundle = get_bundle()
run = current_run(area)
key = current_key(area)
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
    st.caption(t("weights_rule"))
    cand_file = st.file_uploader(t("cand_upload"), type=["csv", "xlsx"], key="planner_candidates")
cand_frame = None
if cand_file is not None:
    try:  # checked (type, size, content), read as text cells; columns are checked by the siting
        cand_frame = read_upload(cand_file)
    except DataError as exc:
        st.error(str(exc))
        st.stop()

try:
    rec = recommend_for(key, p, (w_surv, w_care, w_dev, w_urg), tuple(require), within, cand_frame)
except (GeoError, DataError) as exc:
    st.error(error_text(exc, towns))
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
st.dataframe(sites_table(rec.sites, towns, lang()), width="stretch", hide_index=True)

# -- what-if scenarios (pages/_whatif.py: one fragment) -------------------------------------
st.subheader(t("whatif"))
snapper = bundle_snapper()
whatif(rec.sites, key, run, snapper, towns)
active = active_name()
cur = live_scenarios(key, run, snapper)[active]

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
            st.error(error_text(exc, towns))
        else:
            scenario_edits()[active] = list(loaded.payload.get("edits", []))
            st.rerun()
