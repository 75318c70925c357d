"""Report maps drawn from the data with matplotlib (no tiles, no browser): PNG bytes for the PDF.

A map shows the walking network's streets, the 10-minute service areas of the hubs
(display only: :mod:`geo.service_area`), the H3 hexes coloured by the share of their
households inside the circle, the hubs by tier, the recommended sites and the area's
outline. A hex whose coverage share is not printable (:mod:`geo.disclosure`: a count
of 1-9 or a hidden count) is drawn grey, never coloured: a colour is a printed figure.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image as PILImage
from shapely.geometry.base import BaseGeometry

from geo.graph import WalkNetwork
from geo.hexes import cells_to_polygons
from layers.static_map import TIER_STYLE
from reports.content import TIER_UNKNOWN_ZH

HIDDEN_COLOUR = "#cfcfcf"
CMAP = "RdYlGn"
SERVICE_AREA_COLOUR = "#2166ac"
OTHER_HUB_STYLE: dict[str, Any] = {"marker": "o", "s": 30, "color": "#6a3d9a", "label": TIER_UNKNOWN_ZH}
SITE_STYLE: dict[str, Any] = {"marker": "X", "s": 90, "color": "#d6006f", "label": "推荐站点"}


@dataclass(frozen=True, eq=False)
class MapData:
    """Geometry shared by every map of a report, prepared once.

    Attributes
    ----------
    seg_lon, seg_lat : float arrays (n_edges x 2): the streets' end points.
    hex_h3 : h3 ids, aligned with ``hex_rings`` (list of (k x 2) lon/lat arrays).
    hex_cent : (n x 2) lon/lat of each hex's centre (which hexes a map's view holds).
    hex_visible : bool per hex, its coverage share may be shown.
    hex_pct : float per hex, the share inside the circle (used only where visible).
    service_areas : GeoDataFrame (EPSG:4326) with ``hub_id`` and polygons, or None.
    hubs : DataFrame with ``hub_id, lon, lat, tier``.
    sites : DataFrame with ``lon, lat`` (recommended sites), possibly empty.
    font : the CJK font file.
    attribution : printed at the foot of every map.
    """

    seg_lon: npt.NDArray[np.float64]
    seg_lat: npt.NDArray[np.float64]
    hex_h3: npt.NDArray[np.object_]
    hex_rings: list[npt.NDArray[np.float64]]
    hex_cent: npt.NDArray[np.float64]
    hex_visible: npt.NDArray[np.bool_]
    hex_pct: npt.NDArray[np.float64]
    service_areas: gpd.GeoDataFrame | None
    hubs: pd.DataFrame
    sites: pd.DataFrame
    font: Path
    attribution: str


def map_data(
    network: WalkNetwork,
    hexes: pd.DataFrame,
    hex_visible: npt.ArrayLike,
    *,
    hubs: pd.DataFrame,
    sites: pd.DataFrame,
    service_areas: gpd.GeoDataFrame | None,
    font: Path,
    attribution: str,
) -> MapData:
    """Prepare the shared geometry (streets, hex rings) of a report's maps.

    Parameters
    ----------
    network : the walking network.
    hexes : ``h3`` and ``pct_inside`` per hex (the exact table; only visible shares are drawn).
    hex_visible : bool per hex, from :meth:`geo.disclosure.PublishedReport.hex_pct_visible`.
    hubs, sites : hubs (``lon, lat, tier``) and recommended sites (``lon, lat``).
    service_areas : display-only service-area polygons (EPSG:4326) or None.
    font : CJK font file.
    attribution : the data licences.
    """
    a, b, _ = network.edge_arrays()
    seg_lon = np.column_stack([network.node_lon[a], network.node_lon[b]])
    seg_lat = np.column_stack([network.node_lat[a], network.node_lat[b]])
    polys = cells_to_polygons(hexes["h3"].tolist())
    rings = [np.asarray(g.exterior.coords)[:, :2] for g in polys.geometry]
    return MapData(
        seg_lon=seg_lon,
        seg_lat=seg_lat,
        hex_h3=hexes["h3"].to_numpy(dtype=object),
        hex_rings=rings,
        hex_cent=np.array([r[:-1].mean(axis=0) for r in rings]) if rings else np.zeros((0, 2)),
        hex_visible=np.asarray(hex_visible, dtype=bool),
        hex_pct=hexes["pct_inside"].to_numpy(dtype=np.float64),
        service_areas=service_areas,
        hubs=hubs,
        sites=sites,
        font=font,
        attribution=attribution,
    )


def _scale_bar(ax: Any, bounds: tuple[float, float, float, float], fp: FontProperties) -> None:
    """A 1 km (or 500 m) bar in the lower right corner."""
    minx, miny, maxx, maxy = bounds
    lat = (miny + maxy) / 2
    m_per_deg = 111_320.0 * np.cos(np.radians(lat))
    width_m = (maxx - minx) * m_per_deg
    length_m = 1000.0 if width_m > 4000 else 500.0
    dx = length_m / m_per_deg
    x1 = maxx - 0.04 * (maxx - minx)
    x0 = x1 - dx
    y = miny + 0.06 * (maxy - miny)
    ax.plot([x0, x1], [y, y], color="black", linewidth=2.5, zorder=6, solid_capstyle="butt")
    fp7 = fp.copy()
    fp7.set_size(7)
    ax.text(
        (x0 + x1) / 2,
        y + 0.012 * (maxy - miny),
        f"{length_m:.0f} 米",
        ha="center",
        va="bottom",
        fontproperties=fp7,
        zorder=6,
    )


def coverage_map_png(
    md: MapData,
    *,
    bounds: tuple[float, float, float, float],
    outline: BaseGeometry | None = None,
    title: str = "",
    subtitle: str = "",
    highlight: str | None = None,
    figsize: tuple[float, float] = (7.2, 6.4),
    dpi: int = 130,
) -> bytes:
    """Draw one coverage map and return it as PNG bytes.

    Parameters
    ----------
    md : the report's shared map geometry.
    bounds : ``(minx, miny, maxx, maxy)`` in degrees (WGS-84) of the area to show.
    outline : the area's polygon (WGS-84), drawn as a dark line.
    title, subtitle : printed above the map.
    highlight : a hub id drawn larger (the village point of a village report).
    figsize, dpi : size of the image (inches) and resolution.

    Returns
    -------
    bytes of a PNG image.
    """
    fp = FontProperties(fname=str(md.font))
    minx, miny, maxx, maxy = bounds
    norm = Normalize(vmin=0, vmax=100)
    cmap = plt.get_cmap(CMAP)
    fig, ax = _canvas(figsize, dpi, str(md.font))
    try:
        # streets in view
        inside = ((md.seg_lon >= minx) & (md.seg_lon <= maxx)).any(axis=1) & (
            (md.seg_lat >= miny) & (md.seg_lat <= maxy)
        ).any(axis=1)
        # one polyline with NaN breaks: one artist instead of a path per street segment
        ax.plot(*_broken(md.seg_lon[inside], md.seg_lat[inside]), color="#a0a0a0", linewidth=0.3, zorder=1,
                scalex=False, scaley=False)  # fmt: skip
        # hexes in view
        box = shapely.box(minx, miny, maxx, maxy)
        cent = md.hex_cent
        near = shapely.contains_xy(box.buffer(0.005), cent[:, 0], cent[:, 1]) if len(cent) else np.zeros(0, bool)
        vis = near & md.hex_visible
        hid = near & ~md.hex_visible
        if hid.any():
            ax.add_collection(
                PolyCollection(
                    [md.hex_rings[i] for i in np.flatnonzero(hid)],
                    facecolors=HIDDEN_COLOUR,
                    edgecolors="white",
                    linewidths=0.3,
                    alpha=0.85,
                    zorder=2,
                ),
                autolim=False,
            )
        if vis.any():
            colours = cmap(norm(md.hex_pct[vis]))
            ax.add_collection(
                PolyCollection(
                    [md.hex_rings[i] for i in np.flatnonzero(vis)],
                    facecolors=colours,
                    edgecolors="white",
                    linewidths=0.3,
                    alpha=0.85,
                    zorder=2,
                ),
                autolim=False,
            )
        # service areas (display only)
        if md.service_areas is not None and len(md.service_areas):
            geoms = md.service_areas.geometry.to_numpy()
            geoms = geoms[shapely.intersects(geoms, box)]
            if geoms.size:
                ax.plot(*_rings_xy(geoms), color=SERVICE_AREA_COLOUR, linewidth=0.6, linestyle="--", alpha=0.7,
                        zorder=3, scalex=False, scaley=False)  # fmt: skip
        if outline is not None:
            ax.plot(*_rings_xy(np.array([outline], dtype=object)), color="#222222", linewidth=1.3, zorder=4,
                    scalex=False, scaley=False)  # fmt: skip
        handles: list[Any] = []
        hubs = md.hubs
        in_view = (hubs["lon"] >= minx) & (hubs["lon"] <= maxx) & (hubs["lat"] >= miny) & (hubs["lat"] <= maxy)
        for tier, st in TIER_STYLE.items():
            sub = hubs[in_view & (hubs["tier"] == tier)]
            if len(sub):
                ax.scatter(
                    sub["lon"],
                    sub["lat"],
                    marker=st["marker"],
                    s=st["s"],
                    c=st["color"],
                    edgecolors="white",
                    linewidths=0.6,
                    zorder=5,
                )
            handles.append(
                Line2D(
                    [], [], marker=st["marker"], color=st["color"], linestyle="none", markersize=7, label=st["label"]
                )
            )
        other = hubs[in_view & ~hubs["tier"].isin(list(TIER_STYLE))]
        if len(other):  # hubs whose tier the data does not give (geo batch --reports)
            st = OTHER_HUB_STYLE
            ax.scatter(
                other["lon"], other["lat"], marker=st["marker"], s=st["s"], c=st["color"], edgecolors="white", zorder=5
            )
            handles.append(
                Line2D(
                    [], [], marker=st["marker"], color=st["color"], linestyle="none", markersize=7, label=st["label"]
                )
            )
        if highlight is not None:
            h = hubs[hubs["hub_id"].astype(str) == highlight]
            if len(h):
                ax.scatter(
                    h["lon"],
                    h["lat"],
                    marker="o",
                    s=180,
                    facecolors="none",
                    edgecolors="#000000",
                    linewidths=1.5,
                    zorder=6,
                )
        sites = md.sites
        if len(sites):
            sv = sites[
                (sites["lon"] >= minx) & (sites["lon"] <= maxx) & (sites["lat"] >= miny) & (sites["lat"] <= maxy)
            ]
            if len(sv):
                ax.scatter(
                    sv["lon"],
                    sv["lat"],
                    marker=SITE_STYLE["marker"],
                    s=SITE_STYLE["s"],
                    c=SITE_STYLE["color"],
                    edgecolors="white",
                    linewidths=0.6,
                    zorder=6,
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=SITE_STYLE["marker"],
                    color=SITE_STYLE["color"],
                    linestyle="none",
                    markersize=8,
                    label=SITE_STYLE["label"],
                )
            )
        handles.append(Line2D([], [], color=SERVICE_AREA_COLOUR, linestyle="--", label="10分钟步行服务范围"))
        handles.append(Patch(facecolor=HIDDEN_COLOUR, edgecolor="white", label="户数少于10或已隐藏（不着色）"))
        fp7 = fp.copy()
        fp7.set_size(7)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, prop=fp7, frameon=False)
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect(1.0 / np.cos(np.radians((miny + maxy) / 2)))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        _scale_bar(ax, bounds, fp)
        fp12 = fp.copy()
        fp12.set_size(12)
        ax.set_title(title, fontproperties=fp12, pad=16 if subtitle else 6)
        if subtitle:
            ax.text(
                0.5,
                1.01,
                subtitle,
                transform=ax.transAxes,
                ha="center",
                va="bottom",
                fontproperties=fp7,
                color="#444444",
            )
        if md.attribution:
            fp5 = fp.copy()
            fp5.set_size(5.5)
            ax.text(
                0.99,
                0.005,
                md.attribution,
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontproperties=fp5,
                color="#555555",
                zorder=7,
            )
        fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.1)
        canvas = cast(FigureCanvasAgg, fig.canvas)
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]  # the figure is opaque: no alpha channel
        buf = io.BytesIO()
        # 8-bit RGB, zlib level 1: the PDF copies these bytes as they are (reports.pdf_png)
        PILImage.fromarray(rgb).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    finally:
        _clear(ax)


#: one figure per (size, dpi, font) and thread, re-used by every map drawn there (the
#: same PNG bytes as a new figure, a quarter less time): its axes and colour bar are
#: built once; each map adds its layers and removes them when saved
_LOCAL = threading.local()


def _canvas(figsize: tuple[float, float], dpi: int, font: str) -> tuple[Figure, Any]:
    """This thread's figure and map axes for this size, with the colour bar drawn beside them."""
    canvases: dict[tuple[tuple[float, float], int, str], tuple[Figure, Any]] = _LOCAL.__dict__.setdefault(
        "canvases", {}
    )
    key = (figsize, int(dpi), font)
    if key not in canvases:
        fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        sm = ScalarMappable(norm=Normalize(vmin=0, vmax=100), cmap=plt.get_cmap(CMAP))
        cb = fig.colorbar(sm, ax=ax, shrink=0.55, pad=0.01)
        fp8 = FontProperties(fname=font)
        fp8.set_size(8)
        cb.set_label("六边形内10分钟圈内户数占比（%）", fontproperties=fp8)
        canvases[key] = (fig, ax)
    return canvases[key]


def _clear(ax: Any) -> None:
    """Remove one map's layers, texts, legend and title from the re-used axes."""
    for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches]:
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    ax.set_title("")


def _broken(seg_x: npt.NDArray[np.float64], seg_y: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """Segments (n x 2 end points) as one x and one y array with a NaN after each segment."""
    nan = np.full((seg_x.shape[0], 1), np.nan)
    return np.hstack([seg_x, nan]).ravel(), np.hstack([seg_y, nan]).ravel()


def _rings_xy(geoms: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every ring of the polygons as one x and one y array, rings separated by NaN."""
    rings = _rings(geoms)
    if not rings:
        return np.zeros(0), np.zeros(0)
    xy = np.vstack([np.vstack([r, [[np.nan, np.nan]]]) for r in rings])
    return xy[:, 0], xy[:, 1]


def _rings(geoms: npt.NDArray[np.object_]) -> list[npt.NDArray[np.float64]]:
    """Every ring of the polygons as an (n x 2) lon/lat array (for a LineCollection)."""
    lines = shapely.get_parts(shapely.boundary(shapely.get_parts(geoms)))
    lines = lines[~shapely.is_empty(lines)]
    if lines.size == 0:
        return []
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return np.split(xy, cuts)


def padded_bounds(
    geom_bounds: tuple[float, float, float, float], pad_m: float = 300.0
) -> tuple[float, float, float, float]:
    """Bounds grown by ``pad_m`` metres on every side (degrees, WGS-84)."""
    minx, miny, maxx, maxy = geom_bounds
    lat = (miny + maxy) / 2
    dlat = pad_m / 110_574.0
    dlon = pad_m / (111_320.0 * np.cos(np.radians(lat)))
    return (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)
