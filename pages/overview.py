"""总览 Overview: district coverage figures, by category / need type / town, the worst gaps, the map."""

from __future__ import annotations

import matplotlib.pyplot as plt
import streamlit as st

from data.schemas import CATEGORY_ZH, NEED_TYPE_ZH
from geo.hexes import cells_to_polygons
from geo.privacy import suppress_count
from layers.static_map import coverage_figure
from pages._common import current_run, current_settings, get_bundle, get_network, share_table
from pages._i18n import t

bundle = get_bundle()
settings = current_settings()
st.title(t("overview_title"))
if bundle.is_fallback:
    st.warning(bundle.label_zh)
else:
    st.caption(f"{bundle.label_zh} · {bundle.note_zh}")

run = current_run()
pts = run.points
n = len(pts)
n_cov = run.n_covered
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("households"), f"{n:,}")
c2.metric(t("inside"), f"{n_cov:,}", f"{run.coverage_pct:.1f}%" if n else None)
c3.metric(t("outside"), f"{n - n_cov:,}")
c4.metric(t("off_network"), f"{int(pts['off_network'].sum()):,}")

towns = bundle.towns.set_index("town_code")["name"].astype(str).to_dict()
left, right = st.columns([3, 2])
with right:
    st.subheader(t("by_category"))
    st.dataframe(share_table(pts, "category", CATEGORY_ZH), width="stretch")
    st.subheader(t("by_need"))
    st.dataframe(share_table(pts, "need_type", NEED_TYPE_ZH), width="stretch")
    st.subheader(t("by_town"))
    st.dataframe(share_table(pts, "town_code", towns), width="stretch")
    st.subheader(t("worst_gaps"))
    gaps = run.hexes.sort_values(["uncovered", "h3"], ascending=[False, True]).head(10)
    st.dataframe(
        gaps.assign(uncovered=gaps["uncovered"].map(suppress_count), n=gaps["n"].map(suppress_count))[
            ["h3", "n", "uncovered"]
        ].rename(columns={"n": t("col_households"), "uncovered": t("col_outside")}),
        width="stretch",
        hide_index=True,
    )
with left:
    hexes = cells_to_polygons(run.hexes["h3"].tolist()).merge(run.hexes, on="h3")
    net = get_network(str(bundle.network_path), bundle.metric_crs)
    fig = coverage_figure(
        net,
        hexes,
        run.hubs,
        district=bundle.district,
        title=f"{settings.minutes:g} min × {settings.speed_kmh:g} km/h ({settings.cutoff_m:.0f} m)",
        attribution=bundle.attribution,
    )
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)
st.caption(t("attribution"))
