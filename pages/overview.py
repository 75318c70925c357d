"""总览 Overview: district coverage figures and map."""

from __future__ import annotations

import matplotlib.pyplot as plt
import streamlit as st

from data.schemas import CATEGORY_ZH, NEED_TYPE_ZH
from geo.hexes import cells_to_polygons
from layers.static_map import coverage_figure
from pages._common import coverage_for, current_settings, get_bundle, get_network

bundle = get_bundle()
settings = current_settings()
st.title("西湖区 10分钟救助服务圈 · 总览")
if bundle.is_fallback:
    st.warning(bundle.label_zh)
else:
    st.caption(bundle.label_zh)

res = coverage_for(bundle.name, settings.minutes, settings.speed_kmh, settings.h3_res)
pts = res.points
n = len(pts)
n_cov = int(pts["covered"].sum())
c1, c2, c3, c4 = st.columns(4)
c1.metric("救助对象（户）", f"{n:,}")
c2.metric("10分钟圈内", f"{n_cov:,}", f"{100.0 * n_cov / n:.1f}%" if n else None)
c3.metric("圈外", f"{n - n_cov:,}")
c4.metric("离路网过远", f"{int(pts['off_network'].sum()):,}")


def _share(col: str, labels: dict[str, str]) -> None:
    g = pts.groupby(col)["covered"].agg(["size", "sum"]).rename(columns={"size": "户数", "sum": "圈内"})
    g["覆盖率%"] = (100.0 * g["圈内"] / g["户数"]).round(1)
    g.index = [labels.get(str(i), str(i)) for i in g.index]
    st.dataframe(g, width="stretch")


left, right = st.columns([3, 2])
with right:
    st.subheader("按救助类别")
    _share("category", CATEGORY_ZH)
    st.subheader("按需求类型")
    _share("need_type", NEED_TYPE_ZH)
with left:
    hexes = res.hexes
    gdf = cells_to_polygons(hexes["h3"].tolist())
    gdf = gdf.merge(hexes, on="h3")
    net = get_network(str(bundle.network_path), bundle.metric_crs)
    fig = coverage_figure(
        net,
        gdf,
        bundle.hubs,
        district=bundle.district,
        title=f"{settings.minutes:g}分钟 × {settings.speed_kmh:g} km/h（{settings.cutoff_m:.0f} 米）步行覆盖率",
        attribution=bundle.attribution,
    )
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)
st.caption(bundle.attribution)
