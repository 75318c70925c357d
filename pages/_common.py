"""Shared page helpers: session-state keys, the sidebar, cached resources and results.

Cached resources (bundle, network, snapper) are shared read-only across sessions; never
mutate what they return. Results are cached by hashable keys with a bounded size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from data.demo import Bundle, load_default_bundle
from data.network import load_network
from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage
from geo.graph import WalkNetwork
from geo.hexes import aggregate_points
from geo.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from geo.snap import Snapper

# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"


def current_settings() -> Settings:
    """The analysis settings chosen in the sidebar (defaults before the sidebar ran)."""
    s = st.session_state
    return Settings(
        minutes=float(s.get(K_MINUTES, DEFAULT_MINUTES)),
        speed_kmh=float(s.get(K_SPEED, DEFAULT_SPEED_KMH)),
        h3_res=int(s.get(K_H3_RES, DEFAULT_H3_RES)),
    )


def sidebar_settings() -> None:
    """The shared sidebar: walking minutes and speed, H3 resolution."""
    with st.sidebar:
        st.header("分析设置")
        st.slider("步行时间（分钟）", 5, 30, int(DEFAULT_MINUTES), step=1, key=K_MINUTES)
        st.select_slider(
            "步行速度（km/h）",
            options=[ELDERLY_SPEED_KMH, 3.5, 4.0, DEFAULT_SPEED_KMH, 5.0],
            value=DEFAULT_SPEED_KMH,
            key=K_SPEED,
            help="4.5 km/h 为默认步速；3.0 km/h 适用于老年人。GB 50180-2018 的10分钟生活圈约500米步行距离。",
        )
        st.select_slider("H3 分辨率", options=[7, 8, 9, 10], value=DEFAULT_H3_RES, key=K_H3_RES)
        s = current_settings()
        st.caption(f"阈值：{s.minutes:g} 分钟 × {s.speed_kmh:g} km/h = {s.cutoff_m:.0f} 米网络距离")


@st.cache_resource(max_entries=2)
def get_bundle() -> Bundle:
    return load_default_bundle(Settings().shared_data)


@st.cache_resource(max_entries=2)
def get_network(path: str, metric_crs: str) -> WalkNetwork:
    return load_network(path, metric_crs=metric_crs)


@st.cache_resource(max_entries=2)
def get_snapper(path: str, metric_crs: str) -> Snapper:
    return Snapper(get_network(path, metric_crs))


@dataclass(frozen=True)
class CoverageResult:
    points: pd.DataFrame  # beneficiaries + coverage columns
    hexes: pd.DataFrame  # per-cell aggregates


@st.cache_data(max_entries=16, show_spinner="计算步行覆盖…")
def coverage_for(bundle_name: str, minutes: float, speed_kmh: float, h3_res: int) -> CoverageResult:
    """Coverage of the bundle's beneficiaries by its hubs for the given settings."""
    bundle = get_bundle()
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, h3_res=h3_res, metric_crs=bundle.metric_crs)
    snapper = get_snapper(str(bundle.network_path), bundle.metric_crs)
    hubs = hubs_from_frame(bundle.hubs, snapper)
    engine = engine_for_hubs(snapper, hubs, settings)
    ben = bundle.beneficiaries
    cov = point_coverage(
        ben["lon"].to_numpy(dtype=np.float64),
        ben["lat"].to_numpy(dtype=np.float64),
        engine=engine,
        snapper=snapper,
        hub_ids=hubs.hub_id,
        settings=settings,
    )
    points = pd.concat([ben.reset_index(drop=True), cov], axis=1)
    return CoverageResult(points=points, hexes=aggregate_points(points, res=h3_res))
