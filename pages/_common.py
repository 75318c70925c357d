"""Shared page helpers: session-state keys, the sidebar, cached resources and results.

Cached resources (bundle, network, snapper, store) are shared read-only across sessions;
never mutate what they return. Results are cached by hashable keys with a bounded size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from data.demo import Bundle, load_default_bundle
from data.network import load_network
from data.storage import Store
from geo.analysis import CoverageRun, coverage_run
from geo.engine import keys_to_dist_label, multi_source_keys
from geo.graph import WalkNetwork
from geo.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from geo.snap import Snapper
from pages._i18n import K_LANG, LANGS, t

# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"
K_DATASET = "dataset"

DATASET_DEMO = "demo"
DATASET_USER = "user"
KINDS = ("hubs", "providers", "beneficiaries")
#: how far the "nearest other hub" search looks (cm): 10 km
FAR_CUTOFF_CM = 1_000_000


def current_settings() -> Settings:
    """The analysis settings chosen in the sidebar (defaults before the sidebar ran)."""
    s = st.session_state
    return Settings(
        minutes=float(s.get(K_MINUTES, DEFAULT_MINUTES)),
        speed_kmh=float(s.get(K_SPEED, DEFAULT_SPEED_KMH)),
        h3_res=int(s.get(K_H3_RES, DEFAULT_H3_RES)),
        metric_crs=get_bundle().metric_crs,
    )


def current_dataset() -> str:
    value = st.session_state.get(K_DATASET, DATASET_DEMO)
    return value if value in (DATASET_DEMO, DATASET_USER) else DATASET_DEMO


def sidebar_settings() -> None:
    """The shared sidebar: language, dataset, walking minutes and speed, H3 resolution."""
    with st.sidebar:
        st.selectbox(t("language"), list(LANGS), format_func=LANGS.__getitem__, key=K_LANG)
        st.header(t("settings"))
        st.radio(
            t("dataset"),
            [DATASET_DEMO, DATASET_USER],
            format_func=lambda d: t("dataset_demo") if d == DATASET_DEMO else t("dataset_user"),
            key=K_DATASET,
            horizontal=True,
        )
        st.slider(t("minutes"), 5, 30, int(DEFAULT_MINUTES), step=1, key=K_MINUTES)
        st.select_slider(
            t("speed"),
            options=[ELDERLY_SPEED_KMH, 3.5, 4.0, DEFAULT_SPEED_KMH, 5.0],
            value=DEFAULT_SPEED_KMH,
            key=K_SPEED,
            help=t("speed_help"),
        )
        st.select_slider(t("h3_res"), options=[7, 8, 9, 10], value=DEFAULT_H3_RES, key=K_H3_RES)
        s = current_settings()
        st.caption(t("cutoff", m=s.minutes, s=s.speed_kmh, d=s.cutoff_m))
        bundle = get_bundle()
        st.caption(bundle.label_zh if bundle.is_fallback else f"{bundle.label_zh}")


@st.cache_resource(max_entries=1)
def get_bundle() -> Bundle:
    return load_default_bundle(Settings().shared_data)


@st.cache_resource(max_entries=2)
def get_network(path: str, metric_crs: str) -> WalkNetwork:
    return load_network(path, metric_crs=metric_crs)


@st.cache_resource(max_entries=2)
def get_snapper(path: str, metric_crs: str) -> Snapper:
    return Snapper(get_network(path, metric_crs))


@st.cache_resource(max_entries=1)
def get_store() -> Store:
    return Store()


def bundle_snapper() -> Snapper:
    b = get_bundle()
    return get_snapper(str(b.network_path), b.metric_crs)


def dataset_version(dataset: str) -> int:
    """A number that changes whenever the dataset's stored tables change (cache key part)."""
    if dataset == DATASET_DEMO:
        return 0
    return len(get_store().list_imports())


@st.cache_data(max_entries=8, show_spinner=False)
def dataset_tables(dataset: str, version: int) -> dict[str, pd.DataFrame]:
    """Hubs, providers and beneficiaries of a dataset; imported kinds replace the demo's."""
    b = get_bundle()
    tables = {"hubs": b.hubs, "providers": b.providers, "beneficiaries": b.beneficiaries}
    if dataset == DATASET_USER:
        store = get_store()
        for kind in KINDS:
            stored = store.load_table(kind, dataset=DATASET_USER)
            if len(stored):
                tables[kind] = stored
    return tables


def current_tables() -> dict[str, pd.DataFrame]:
    ds = current_dataset()
    return dataset_tables(ds, dataset_version(ds))


@st.cache_data(max_entries=16, show_spinner="计算步行覆盖… / computing coverage…")
def run_for(dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int) -> CoverageRun:
    """The coverage run for a dataset and settings (cached by these hashable keys)."""
    tables = dataset_tables(dataset, version)
    settings = Settings(minutes=minutes, speed_kmh=speed_kmh, h3_res=h3_res, metric_crs=get_bundle().metric_crs)
    return coverage_run(bundle_snapper(), tables["hubs"], tables["beneficiaries"], settings)


def current_run() -> CoverageRun:
    s = current_settings()
    ds = current_dataset()
    return run_for(ds, dataset_version(ds), s.minutes, s.speed_kmh, s.h3_res)


@st.cache_data(max_entries=32, show_spinner=False)
def nearest_other_hub(
    dataset: str, version: int, minutes: float, speed_kmh: float, h3_res: int, exclude_hub: str
) -> pd.DataFrame:
    """For every beneficiary, the nearest hub other than ``exclude_hub`` within 10 km.

    Returns a frame aligned with the run's points: ``alt_hub_id``, ``alt_walk_m`` (NaN if none).
    """
    run = run_for(dataset, version, minutes, speed_kmh, h3_res)
    keep = run.hubs["hub_id"].astype(str).to_numpy() != exclude_hub
    hs = run.hubset
    keys = multi_source_keys(
        run.engine.network, hs.node[keep], hs.access_cm[keep], cutoff_cm=FAR_CUTOFF_CM, slots=np.flatnonzero(keep)
    )
    dist, lab = keys_to_dist_label(keys)
    node = run.points["node"].to_numpy()
    ok = node >= 0
    d = np.full(len(node), -1, dtype=np.int64)
    slot = np.full(len(node), -1, dtype=np.int64)
    d[ok], slot[ok] = dist[node[ok]], lab[node[ok]]
    access_cm = np.rint(run.points["access_m"].fillna(0).to_numpy() * 100).astype(np.int64)
    reach = d >= 0
    ids = hs.hub_id
    return pd.DataFrame(
        {
            "alt_hub_id": np.where(reach, ids[np.maximum(slot, 0)], None),
            "alt_walk_m": np.where(reach, (d + access_cm) / 100.0, np.nan),
        }
    )


def share_table(points: pd.DataFrame, col: str, labels: dict[str, str]) -> pd.DataFrame:
    """Households, inside, outside and coverage % per value of ``col`` (labels applied)."""
    g = points.groupby(col, dropna=False)["covered"].agg(["size", "sum"])
    out = pd.DataFrame(
        {
            t("col_households"): g["size"].astype(int),
            t("col_inside"): g["sum"].astype(int),
            t("col_outside"): (g["size"] - g["sum"]).astype(int),
            t("col_pct"): (100.0 * g["sum"] / g["size"]).round(1),
        }
    )
    out.index = [labels.get(str(i), str(i)) for i in g.index]
    return out
