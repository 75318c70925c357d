"""总览 Overview: district coverage figures, by category / need type / town, the worst gaps, the map."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from data.schemas import CATEGORY_ZH, NEED_TYPE_ZH
from pages._auth import area_key, require_user
from pages._common import (
    current_dataset,
    current_screen,
    current_settings,
    current_summary,
    dataset_version,
    get_bundle,
    map_for,
    share_table,
)
from pages._i18n import lang, t

K_METRIC = "overview_hex_metric"
METRICS = {
    "coverage_pct": ("覆盖率", "Coverage %"),
    "uncovered": ("圈外人数", "Uncovered"),
    "n": ("救助对象", "Households"),
}

user = require_user()
area = area_key(user)
bundle = get_bundle()
settings = current_settings()
st.title(t("overview_title"))
if bundle.is_fallback:
    st.warning(bundle.label_zh)
else:
    st.caption(f"{bundle.label_zh} · {bundle.note_zh}")

summary = current_summary(area)
screen = current_screen(area)  # every count below, protected together (geo.disclosure)
n, n_cov = summary.n, summary.n_covered
c1, c2, c3, c4 = st.columns(4)
if summary.suppressed:
    c1.metric(t("households"), screen.households)
    c2.metric(t("inside"), screen.inside, screen.share if n else None)
    c3.metric(t("outside"), screen.outside)
    c4.metric(t("off_network"), screen.off_network)
else:
    c1.metric(t("households"), f"{n:,}")
    c2.metric(t("inside"), f"{n_cov:,}", f"{summary.coverage_pct:.1f}%" if n else None)
    c3.metric(t("outside"), f"{n - n_cov:,}")
    c4.metric(t("off_network"), f"{summary.n_off_network:,}")

towns = bundle.towns.set_index("town_code")["name"].astype(str).to_dict()
metric = st.radio(
    "六边形着色" if lang() == "zh" else "Hexagon colour",
    list(METRICS),
    format_func=lambda m: METRICS[m][0 if lang() == "zh" else 1],
    key=K_METRIC,
    horizontal=True,
)
ds = current_dataset()
m = map_for(ds, dataset_version(ds), settings.minutes, settings.speed_kmh, settings.h3_res, area, metric, lang())
st_folium(m, returned_objects=[], height=680, use_container_width=True, key="overview_map")

cols = st.columns(2)
for i, (key, col, labels) in enumerate(
    (("by_category", "category", CATEGORY_ZH), ("by_need", "need_type", NEED_TYPE_ZH), ("by_town", "town_code", towns))
):
    with cols[i % 2]:
        st.subheader(t(key))
        shown = screen.groups[col] if summary.suppressed else None
        st.dataframe(share_table(summary.by[col], labels, shown=shown), width="stretch")
with cols[1]:
    st.subheader(t("worst_gaps"))
    gaps = summary.hexes.sort_values(["uncovered", "h3"], ascending=[False, True]).head(10)
    hex_shown = screen.hexes.loc[gaps.index]  # type: ignore[union-attr]  # as on the map
    st.dataframe(
        hex_shown.assign(h3=gaps["h3"])[["h3", "n_txt", "uncovered_txt", "pct_txt"]].rename(
            columns={"n_txt": t("col_households"), "uncovered_txt": t("col_outside"), "pct_txt": t("col_pct")}
        ),
        width="stretch",
        hide_index=True,
    )
st.caption(t("attribution"))
