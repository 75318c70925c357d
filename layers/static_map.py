"""Static coverage maps drawn from the data itself with matplotlib (no tiles, no browser).

Used by the minimal app and by PDF reports: streets from the network arrays, the district
outline, H3 hexes coloured by coverage, hubs by tier.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from geo.graph import WalkNetwork

TIER_STYLE: dict[str, dict[str, Any]] = {
    "district": {"marker": "*", "s": 260, "color": "#b2182b", "label": "区级助联体"},
    "town": {"marker": "s", "s": 70, "color": "#2166ac", "label": "镇街服务站"},
    "village": {"marker": "o", "s": 14, "color": "#1b7837", "label": "村(社区)服务点"},
}
_CJK_FONTS = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", "DejaVu Sans"]


def _use_cjk_font() -> None:
    matplotlib.rcParams["font.sans-serif"] = _CJK_FONTS
    matplotlib.rcParams["axes.unicode_minus"] = False


def coverage_figure(
    network: WalkNetwork,
    hexes: gpd.GeoDataFrame,
    hubs: pd.DataFrame,
    *,
    district: Any | None = None,
    value_col: str = "coverage_pct",
    title: str = "",
    attribution: str = "",
    figsize: tuple[float, float] = (9.0, 9.0),
) -> Figure:
    """A map of coverage per hex with streets and hubs.

    Parameters
    ----------
    network : the walking network (streets are drawn from its edges).
    hexes : GeoDataFrame (EPSG:4326) with hexagon polygons and ``value_col`` (0-100).
    hubs : DataFrame with ``lon, lat, tier``.
    district : optional shapely (Multi)Polygon in WGS-84, drawn as an outline.

    Returns
    -------
    matplotlib Figure (the caller closes it).
    """
    _use_cjk_font()
    fig, ax = plt.subplots(figsize=figsize, dpi=110)
    a, b, _ = network.edge_arrays()
    start = np.column_stack([network.node_lon[a], network.node_lat[a]])
    end = np.column_stack([network.node_lon[b], network.node_lat[b]])
    segs = np.stack([start, end], axis=1)
    ax.add_collection(LineCollection(list(segs), colors="#9a9a9a", linewidths=0.25, zorder=1))
    if len(hexes):
        hexes.plot(
            ax=ax, column=value_col, cmap="RdYlGn", vmin=0, vmax=100, alpha=0.7, edgecolor="none", zorder=2,
            legend=True, legend_kwds={"label": "10分钟步行覆盖率 (%)", "shrink": 0.6},
        )  # fmt: skip
    if district is not None:
        gpd.GeoSeries([district], crs=4326).boundary.plot(ax=ax, color="#333333", linewidth=1.2, zorder=3)
    for tier, st in TIER_STYLE.items():
        sub = hubs[hubs["tier"] == tier]
        if len(sub):
            ax.scatter(
                sub["lon"], sub["lat"], marker=st["marker"], s=st["s"], c=st["color"], edgecolors="white",
                linewidths=0.6, zorder=4, label=f"{st['label']} ({len(sub)})",
            )  # fmt: skip
    if district is not None:
        minx, miny, maxx, maxy = district.bounds
    else:
        minx, maxx = float(network.node_lon.min()), float(network.node_lon.max())
        miny, maxy = float(network.node_lat.min()), float(network.node_lat.max())
    pad = 0.01
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect(1.0 / np.cos(np.radians((miny + maxy) / 2)))
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    if attribution:
        ax.text(0.99, 0.005, attribution, transform=ax.transAxes, ha="right", va="bottom", fontsize=6, color="#555555")
    fig.tight_layout()
    return fig
