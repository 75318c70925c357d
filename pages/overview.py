"""总览 Overview: district coverage figures, by category / need type / town, the worst gaps, the map."""

from __future__ import annotations

import streamlit as st

from core.i18n import CATEGORY_ZH, NEED_TYPE_ZH
from pages._auth import area_key, require_user
from pages._common import attribution_caption, current_key, current_settings, dataset_notice, get_bundle
from pages._coverage import current_screen, current_summary, map_payload_for, share_table, shown_hexes_for
from pages._i18n import t
from pages._map import show_map
from service.dashboard import grouped, worst_gaps

K_METRIC = "overview_hex_metric"
METRICS = ("coverage_pct", "uncovered", "n")

user = require_user()
area = area_key(user)
bundle = get_bundle()
settings = current_settings()
st.title(t("overview_title"))
if bundle.is_fallback:
    st.warning(bundle.label_zh)
else:
    st.caption(f"{bundle.label_zh} · {bundle.note_zh}")
dataset_notice(("hubs", "providers", "beneficiaries"))  # imported data: what stands in for what is missing

summary = current_summary(area)
screen = current_screen(area)  # viewers: every count below, protected together (geo.disclosure)
n, n_cov = summary.n, summary.n_covered
c1, c2, c3, c4, c5 = st.columns(5)
if screen is not None:
    c1.metric(t("households"), grouped(screen.households))
    c2.metric(t("inside"), grouped(screen.inside))
    c3.metric(t("share"), screen.share)
    c4.metric(t("outside"), grouped(screen.outside))
    c5.metric(t("off_network"), grouped(screen.off_network))
else:
    c1.metric(t("households"), f"{n:,}")
    c2.metric(t("inside"), f"{n_cov:,}")
    c3.metric(t("share"), f"{summary.coverage_pct:.1f}%" if n else "—")
    c4.metric(t("outside"), f"{n - n_cov:,}")
    c5.metric(t("off_network"), f"{summary.n_off_network:,}")

towns = bundle.towns.set_index("town_code")["name"].astype(str).to_dict()
metric = st.radio(
    t("hex_colour"),
    list(METRICS),
    format_func=lambda m: t(f"hex_metric_{m}"),
    key=K_METRIC,
    horizontal=True,
)
show_map(map_payload_for(current_key(area), metric), height=680, key="overview_map")

cols = st.columns(2)
for i, (key, col, labels) in enumerate(
    (("by_category", "category", CATEGORY_ZH), ("by_need", "need_type", NEED_TYPE_ZH), ("by_town", "town_code", towns))
):
    with cols[i % 2]:
        st.subheader(t(key))
        shown = screen.groups[col] if screen is not None else None
        st.dataframe(share_table(summary.by[col], labels, shown=shown), width="stretch")
with cols[1]:
    st.subheader(t("worst_gaps"))
    hexes = shown_hexes_for(current_key(area))  # printed as on the map
    gaps = worst_gaps(hexes, 10)
    st.dataframe(
        gaps[["h3", "n_txt", "uncovered_txt", "pct_txt"]].rename(
            columns={
                "h3": t("col_hex"),
                "n_txt": t("col_households"),
                "uncovered_txt": t("col_outside"),
                "pct_txt": t("col_pct"),
            }
        ),
        width="stretch",
        hide_index=True,
    )
attribution_caption()
