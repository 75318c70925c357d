"""The tile-free base map: roads, water, district and town outlines drawn from the data.

The frames come from :func:`data.basemap.basemap_frames_from_shared` (Xihu) or
:func:`basemap_from_network` (any walking network, e.g. the fallback bundle); this
module only draws them. Nothing here reads files or loads tiles.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from folium import FeatureGroup
from folium.map import Layer

from core.i18n import t
from core.settings import STORAGE_CRS
from geo.graph import WalkNetwork
from layers.geojson_layer import DataLayer, FeatureJS, esc, frame_features

#: drawing order and style of the road classes (``road_class`` of the roads frame)
ROAD_STYLE: dict[str, dict[str, Any]] = {
    "residential": {"color": "#c9c5bd", "weight": 0.7, "opacity": 1.0},
    "tertiary": {"color": "#b3ada3", "weight": 1.2, "opacity": 1.0},
    "secondary": {"color": "#a39c90", "weight": 1.6, "opacity": 1.0},
    "primary": {"color": "#948b7e", "weight": 2.0, "opacity": 1.0},
    "trunk": {"color": "#857b6d", "weight": 2.4, "opacity": 1.0},
    "motorway": {"color": "#76695b", "weight": 2.8, "opacity": 1.0},
}
NETWORK_STYLE: dict[str, Any] = {"color": "#a8a8a8", "weight": 0.6, "opacity": 1.0}
WATER_STYLE: dict[str, Any] = {"stroke": False, "fill": True, "fillColor": "#aad3df", "fillOpacity": 1.0}
DISTRICT_STYLE: dict[str, Any] = {"color": "#333333", "weight": 2.2, "opacity": 0.9, "fill": False}
TOWN_STYLE: dict[str, Any] = {"color": "#555555", "weight": 1.2, "opacity": 0.8, "dashArray": "5 4", "fill": False}
#: land colour behind the offline base map
BACKGROUND = "#f2efe9"


def _labels(lang: str) -> dict[str, str]:
    return {key: t(f"basemap_{key}", lang) for key in ("basemap", "district", "towns", "town_tip")}


def _merge_lines(gdf: gpd.GeoDataFrame) -> Any:
    """All lines of a frame as one (Multi)LineString, chained where they meet (fewer repeated vertices)."""
    geoms = gdf.geometry.to_numpy()
    if len(geoms) == 0:
        return None
    merged = shapely.line_merge(shapely.union_all(geoms))
    return merged


#: the written feature collections of the base maps drawn lately: (id of the frame, layer key,
#: decimals, tooltips) -> (the frame, held so that its id stays its own; its collection)
_WRITTEN: OrderedDict[tuple[int, str, int | None, tuple[str, ...]], tuple[gpd.GeoDataFrame, FeatureJS]] = OrderedDict()
_WRITTEN_MAX = 16
_WRITTEN_LOCK = threading.Lock()


def _written(
    key: str, frame: gpd.GeoDataFrame, round_deg: int | None, tips: tuple[str, ...], make: Callable[[], FeatureJS]
) -> FeatureJS:
    """``make()`` once per base-map frame (the frames are read-only: cached by the app)."""
    k = (id(frame), key, round_deg, tips)
    with _WRITTEN_LOCK:
        hit = _WRITTEN.get(k)
        if hit is not None and hit[0] is frame:
            _WRITTEN.move_to_end(k)
            return hit[1]
    made = make()
    with _WRITTEN_LOCK:
        _WRITTEN[k] = (frame, made)
        _WRITTEN.move_to_end(k)
        while len(_WRITTEN) > _WRITTEN_MAX:
            _WRITTEN.popitem(last=False)
    return made


def _road_features(roads: gpd.GeoDataFrame, round_deg: int | None) -> tuple[list[str], FeatureJS]:
    classes = [c for c in ROAD_STYLE if c in set(roads["road_class"].astype(str))]

    def make() -> FeatureJS:
        geoms = [_merge_lines(roads[roads["road_class"].astype(str) == c]) for c in classes]
        merged = gpd.GeoDataFrame({"road_class": classes}, geometry=geoms, crs=roads.crs or STORAGE_CRS)
        return FeatureJS.of(frame_features(merged, np.arange(len(classes)), round_deg=round_deg))

    return classes, _written("roads", roads, round_deg, (), make)


def _frame_js(key: str, frame: gpd.GeoDataFrame, round_deg: int | None, tips: tuple[str, ...] = ()) -> FeatureJS:
    return _written(
        key, frame, round_deg, tips, lambda: FeatureJS.of(frame_features(frame, tips=tips or None, round_deg=round_deg))
    )


def basemap_layers(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    lang: str = "zh",
    attribution: str = "",
    round_deg: int | None = 5,
) -> list[Layer]:
    """folium layers of a base map: the tile-free background and the outline overlays.

    Parameters
    ----------
    frames : mapping of str to GeoDataFrame
        Any of ``"roads"`` (``road_class``), ``"network"`` (lines of a walking network),
        ``"water"``, ``"district"``, ``"towns"`` (``name``), as produced by
        :func:`data.basemap.basemap_frames_from_shared` or :func:`basemap_from_network`.
    lang : {"zh", "en"}
        Language of the layer names and tooltips.
    attribution : str
        Plain text shown while the base map is on (escaped here).
    round_deg : int or None
        Decimals of a degree kept in coordinates.

    Returns
    -------
    list of folium Layer
        A base layer (``overlay=False``) with water and roads when either frame is
        given, then the overlays ``district`` and ``towns`` when given. Each DataLayer
        has a ``key`` (``"roads"``, ``"network"``, ``"water"``, ``"district"``,
        ``"towns"``); the base FeatureGroup holds them as children.
    """
    lab = _labels(lang)
    attr = esc(attribution)
    out: list[Layer] = []
    background = FeatureGroup(name=esc(lab["basemap"]), overlay=False, control=True, show=True)
    has_background = False
    water = frames.get("water")
    if water is not None and len(water):
        DataLayer(
            _frame_js("water", water, round_deg),
            [WATER_STYLE],
            name="water",
            key="water",
            interactive=False,
            control=False,
            attribution=attr,
        ).add_to(background)
        has_background = True
    network = frames.get("network")
    if network is not None and len(network):
        DataLayer(
            _frame_js("network", network, round_deg),
            [NETWORK_STYLE],
            name="network",
            key="network",
            interactive=False,
            control=False,
            attribution=attr,
        ).add_to(background)
        has_background = True
    roads = frames.get("roads")
    if roads is not None and len(roads):
        classes, written = _road_features(roads, round_deg)
        DataLayer(
            written,
            [ROAD_STYLE[c] for c in classes],
            name="roads",
            key="roads",
            interactive=False,
            control=False,
            attribution=attr,
        ).add_to(background)
        has_background = True
    if has_background:
        out.append(background)
    district = frames.get("district")
    if district is not None and len(district):
        out.append(
            DataLayer(
                _frame_js("district", district, round_deg),
                [DISTRICT_STYLE],
                name=esc(lab["district"]),
                key="district",
                interactive=False,
                class_name="xihu-district",
            )
        )
    towns = frames.get("towns")
    if towns is not None and len(towns):
        names = towns["name"] if "name" in towns.columns else [""] * len(towns)
        tips = tuple(lab["town_tip"].format(name=esc(n)) for n in names)
        out.append(
            DataLayer(
                _frame_js("towns", towns, round_deg, tips),
                [TOWN_STYLE],
                name=esc(lab["towns"]),
                key="towns",
                class_name="xihu-town",
            )
        )
    return out


def basemap_from_network(
    network: WalkNetwork,
    *,
    simplify_m: float | None = 5.0,
    round_deg: int | None = 5,
) -> dict[str, gpd.GeoDataFrame]:
    """A base map drawn from a walking network's edges (when no road layer is at hand).

    The edges are chained into lines where they meet, simplified in the network's
    metric CRS and their coordinates rounded.

    Parameters
    ----------
    network : WalkNetwork
    simplify_m : float or None
        Douglas-Peucker tolerance in metres; None or 0 keeps every vertex.
    round_deg : int or None
        Decimals of a degree kept in coordinates.

    Returns
    -------
    dict
        ``{"network": GeoDataFrame}`` with one row, a MultiLineString (or LineString)
        in EPSG:4326; drawn thin and grey by :func:`basemap_layers`.
    """
    u, v, _ = network.edge_arrays()
    ends = np.stack(
        [
            np.column_stack([network.node_x[u], network.node_y[u]]),
            np.column_stack([network.node_x[v], network.node_y[v]]),
        ],
        axis=1,
    )
    if ends.shape[0] == 0:
        empty = gpd.GeoDataFrame({"kind": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
        return {"network": empty}
    lines = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(ends)))
    if simplify_m:
        lines = shapely.simplify(lines, simplify_m, preserve_topology=False)
    gs = gpd.GeoSeries([lines], crs=network.metric_crs).to_crs(STORAGE_CRS)
    geoms = gs.to_numpy()
    if round_deg is not None:
        geoms = shapely.set_precision(geoms, 10.0**-round_deg)
    return {"network": gpd.GeoDataFrame({"kind": ["walk_network"]}, geometry=geoms, crs=STORAGE_CRS)}
