"""Page plumbing: session-state keys, the shared sidebar, the shared read-only resources and the
cache helpers every page module uses.

Cached resources (bundle, network, snapper, store, base map) are shared read-only across
sessions; never mutate what they return. What is computed from them lives beside its pages,
each cached with a bounded size and, where it depends on the person, keyed by
:class:`service.dashboard.RunKey` (dataset, version, settings, area):
:mod:`pages._coverage` (coverage, maps, siting), :mod:`pages._match_data`
(matching), :mod:`pages._records` (service records, duplicates, capacity, feedback),
:mod:`pages._reporting` (reports), :mod:`pages._database` (the database down) and
:mod:`pages._warm_up` (what a first session would wait for, at server start).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd
import streamlit as st

from core.i18n import attribution_text, item_names
from core.settings import DEFAULT_H3_RES, DEFAULT_MINUTES, DEFAULT_SPEED_KMH, ELDERLY_SPEED_KMH, Settings
from data.basemap import basemap_frames_from_shared, named_roads
from data.bundle import Bundle
from data.config import xihu_file
from data.demo import load_default_bundle
from data.network import load_network
from data.storage import Store
from geo.graph import WalkNetwork
from geo.service_area import NodeCells
from geo.snap import Snapper
from layers.basemap import basemap_from_network
from pages._i18n import K_LANG, LANGS, lang, t
from service import dashboard as svc
from service.dashboard import DATASET_DEMO, DATASET_USER, AreaKey, RunKey, Summary
from service.datasets import dataset_notes

P = ParamSpec("P")
T = TypeVar("T")


def handed_out(value: T) -> T:
    """A shared cache entry as one caller gets it: every DataFrame in it (in dicts and frozen
    dataclasses too) a shallow copy. pandas copies on write, so a caller's change never reaches
    the entry, and nothing is copied or unpickled (``st.cache_data`` unpickled the whole entry
    on every call: the dataset's tables, 2 MB, on every rerun of every page)."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: handed_out(v) for k, v in value.items()}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: handed_out(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changed)  # type: ignore[return-value]
    return value


def shared_result(max_entries: int, show_spinner: bool | str = False) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """``st.cache_resource`` (one entry shared by every session, role and area in the key) with
    each call's result :func:`handed_out`: what ``st.cache_data`` guaranteed, without its copy."""

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        cached = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner)(fn)

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return handed_out(cached(*args, **kwargs))

        call.clear = cached.clear  # type: ignore[attr-defined]
        return call

    return wrap


# session-state keys (widget keys)
K_MINUTES = "minutes"
K_SPEED = "speed_kmh"
K_H3_RES = "h3_res"
K_DATASET = "dataset"
__all__ = ["DATASET_DEMO", "DATASET_USER", "RunKey", "Summary"]


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


@st.cache_resource(max_entries=1)
def get_named_roads() -> gpd.GeoDataFrame | None:
    """Named roads for "nearest named road" of recommended sites (None without shared data)."""
    path = xihu_file(Settings().shared_data, "roads")
    if get_bundle().is_fallback or not path.is_file():
        return None
    return named_roads(path)


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
    """The settings of a session whose sidebar has not moved (as :func:`current_settings` reads them)."""
    return Settings(
        minutes=float(DEFAULT_MINUTES),
        speed_kmh=float(DEFAULT_SPEED_KMH),
        h3_res=int(DEFAULT_H3_RES),
        metric_crs=get_bundle().metric_crs,
    )
