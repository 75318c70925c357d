"""Page plumbing: session-state keys, the shared sidebar and the shared read-only resources.

Cached resources (bundle, network, snapper, store, base map) are shared read-only across
sessions; never mutate what they return. What is computed from them lives beside its pages,
each cached with a bounded size and, where it depends on the person, keyed by
:class:`service.dashboard.RunKey` (dataset, version, settings, area):
:mod:`pages._coverage` (coverage, maps, siting), :mod:`pages._match_data`
(matching), :mod:`pages._records` (service records, duplicates, capacity, feedback),
:mod:`pages._reporting` (reports), :mod:`pages._database` (the database down) and
:mod:`pages._warm_up` (what a first session would wait for, at server start); the cache
helpers are in :mod:`pages._cache`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from core.i18n import attribution_text, item_names
from core.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from data.basemap import basemap_frames_from_shared
from data.bundle import Bundle
from data.demo import load_default_bundle
from data.network import load_network
from data.storage import Store
from geo.graph import WalkNetwork
from geo.service_area import NodeCells
from geo.snap import Snapper
from layers.basemap import basemap_from_network
from pages._cache import shared_result
from pages._i18n import K_LANG, LANGS, lang, t
from service import dashboard as svc
from service.dashboard import DATASET_DEMO, DATASET_USER, AreaKey, RunKey, Summary
from service.datasets import dataset_notes

# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"
K_DATASET = "dataset"
__all__ = ["DATASET_DEMO", "DATASET_USER", "RunKey", "Summary"]


def _settings_from(state: Any) -> Settings:
    """The settings the sidebar's keys in ``state`` (the session state, or ``{}``) choose."""
    return Settings(
        minutes=float(state.get(K_MINUTES, DEFAULT_MINUTES)),
        speed_kmh=float(state.get(K_SPEED, DEFAULT_SPEED_KMH)),
        h3_res=int(state.get(K_H3_RES, DEFAULT_H3_RES)),
        metric_crs=get_bundle().metric_crs,
    )


def current_settings() -> Settings:
    """The analysis settings chosen in the sidebar (defaults before the sidebar ran)."""
    return _settings_from(st.session_state)


def current_dataset() -> str:
    value = st.session_state.get(K_DATASET, DATASET_DEMO)
    return value if value in svc.DATASETS else DATASET_DEMO


def sidebar_settings() -> None:
    """The shared sidebar: language, dataset, walking minutes and speed, H3 resolution."""
    with st.sidebar:
        st.selectbox(t("language"), list(LANGS), format_func=LANGS.__getitem__, placeholder=t("choose"), key=K_LANG)
        st.header(t("settings"))
        st.radio(
            t("dataset"),
            list(svc.DATASETS),
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
        st.caption(get_bundle().label_zh)


# -- shared resources (read-only) ---------------------------------------------------------
@st.cache_resource(max_entries=1)
def get_bundle() -> Bundle:
    return load_default_bundle(Settings().shared_data)


@st.cache_resource(max_entries=2)
def get_network(path: str, metric_crs: str) -> WalkNetwork:
    return load_network(path, metric_crs=metric_crs)


@st.cache_resource(max_entries=2)
def get_snapper(path: str, metric_crs: str) -> Snapper:
    return Snapper(get_network(path, metric_crs))


@st.cache_resource(max_entries=2)
def get_node_cells(path: str, metric_crs: str) -> NodeCells:
    return NodeCells(get_network(path, metric_crs))


@st.cache_resource(max_entries=1)
def get_store() -> Store:
    return Store()


def bundle_network() -> WalkNetwork:
    b = get_bundle()
    return get_network(str(b.network_path), b.metric_crs)


def bundle_snapper() -> Snapper:
    b = get_bundle()
    return get_snapper(str(b.network_path), b.metric_crs)


@st.cache_resource(max_entries=1)
def get_basemap() -> dict[str, object]:
    """Base-map frames: drawn from the real Xihu layers, or from the network for a fallback."""
    b = get_bundle()
    xihu = Settings().shared_data / "xihu"
    if not b.is_fallback and xihu.is_dir():
        return dict(basemap_frames_from_shared(xihu))
    return dict(basemap_from_network(bundle_network()))


# -- keys ----------------------------------------------------------------------------------
def dataset_version(dataset: str) -> int:
    """A number that changes whenever any stored table or list version of the dataset changes
    (cache key part; :meth:`data.storage.Store.dataset_version`)."""
    if dataset == DATASET_DEMO:
        return 0
    return get_store().dataset_version(dataset)


def current_key(area: AreaKey) -> RunKey:
    """The run key of this session: dataset and version, sidebar settings, the user's area."""
    ds = current_dataset()
    return RunKey(ds, dataset_version(ds), current_settings(), area)


# -- cached results --------------------------------------------------------------------------
@shared_result(max_entries=8)
def dataset_tables(dataset: str, version: int) -> dict[str, pd.DataFrame]:
    return svc.dataset_tables(get_bundle(), get_store() if dataset == DATASET_USER else None, dataset)


def current_tables() -> dict[str, pd.DataFrame]:
    ds = current_dataset()
    return dataset_tables(ds, dataset_version(ds))


@st.cache_resource(max_entries=8, show_spinner=False)
def _item_names(dataset: str, version: int, lang_code: str) -> Mapping[str, str]:
    return MappingProxyType(item_names(dataset_tables(dataset, version)["catalogue"], lang_code))


def current_item_names() -> Mapping[str, str]:
    """The current dataset's item names in the session's language (:func:`core.i18n.item_names`):
    what every page passes as ``items`` wherever an item code becomes words (read-only, shared)."""
    ds = current_dataset()
    return _item_names(ds, dataset_version(ds), lang())


def attribution_caption() -> None:
    """The licences of the data on this page (the bundle's), in the session's language."""
    st.caption(attribution_text(get_bundle().attribution, lang()))


def dataset_notice(kinds: tuple[str, ...] | None = None, *, dataset: str | None = None) -> None:
    """Say where the tables of ``kinds`` of ``dataset`` (default: the current one) came from (nothing for the demo)."""
    ds = dataset or current_dataset()
    notes = dataset_notes(dataset_tables(ds, dataset_version(ds)), lang(), kinds)
    if notes:
        st.info("\n\n".join(notes))


def default_settings() -> Settings:
    """The settings of a session whose sidebar has not moved (:func:`current_settings` of no choice)."""
    return _settings_from({})
