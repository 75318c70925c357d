"""Map layers of issue #12: provider-search results and E2SFCA accessibility hexagons, and their legend.

Both are :class:`layers.geojson_layer.DataLayer` objects with tooltips built from
:func:`~layers.geojson_layer.esc`-escaped data and labels from :mod:`core.i18n`; neither
prints a household count (the accessibility tooltip shows capacity per household only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from core.errors import MapInputError
from core.i18n import LANGS, label, t
from geo.hexes import cells_to_polygons
from layers.folium_map import Legend
from layers.geojson_layer import DataLayer, esc, frame_features

ROUND_DEG = 5
#: search results: offers with capacity left, none left, and the search point
SEARCH_STYLES: tuple[dict[str, Any], ...] = (
    {"radius": 7, "color": "#ffffff", "weight": 1.5, "fillColor": "#1a9641", "fillOpacity": 1.0},
    {"radius": 7, "color": "#ffffff", "weight": 1.5, "fillColor": "#9e9e9e", "fillOpacity": 1.0},
    {"radius": 9, "color": "#b2182b", "weight": 3, "fillColor": "#ffffff", "fillOpacity": 1.0},
)
#: accessibility classes, low to high (sequential green), and the "nothing in reach" class
ACCESS_COLORS = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
NONE_COLOR = "#d7191c"
HEX_STYLE = {"color": "#555555", "weight": 0.5, "fillOpacity": 0.6}


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(LANGS)}, got {lang!r}"
        raise MapInputError(msg)
    return lang


def _minutes_text(lang: str, minutes: float | None) -> str:
    return t("map_minutes", lang, m=minutes) if minutes is not None else t("map_minutes_default", lang)


def _number(x: Any) -> str:
    v = pd.to_numeric(pd.Series([x]), errors="coerce").iloc[0]
    return f"{v:,.0f}" if pd.notna(v) else ""


def search_result_layer(
    results: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    point_lon: float,
    point_lat: float,
    minutes: float | None = None,
    lang: str = "zh",
    show: bool = True,
) -> tuple[DataLayer, list[dict[str, Any]]]:
    """Providers found by :meth:`geo.search.ProviderSearch.search`, one marker each, and the search point.

    Parameters
    ----------
    results : DataFrame
        The search result (``provider_id, name, item_id, item_name, walk_m, walk_min,
        capacity_per_month, remaining``).
    providers : DataFrame
        ``provider_id, lon, lat`` (WGS-84) of the providers.
    point_lon, point_lat : float
        The search point.
    minutes : float, optional
        The walking minutes of the search, for the layer's name.
    lang : "zh" or "en".

    Returns
    -------
    (DataLayer, legend entries ``{"label", "style", "count"}``)
        A provider is green when one of its listed offers has capacity left, grey otherwise;
        its tooltip lists every item found with the walk and the capacity left.
    """
    lang = _check_lang(lang)
    missing = {"provider_id", "name", "item_name", "walk_m", "walk_min", "remaining", "capacity_per_month"} - set(
        results.columns
    )
    if missing or not {"provider_id", "lon", "lat"} <= set(providers.columns):
        msg = "the search layer needs a geo.search result and providers with provider_id, lon, lat"
        raise MapInputError(msg)
    pids = providers["provider_id"].astype(str).tolist()
    lons = pd.to_numeric(providers["lon"], errors="coerce").to_numpy(dtype=np.float64).tolist()
    lats = pd.to_numeric(providers["lat"], errors="coerce").to_numpy(dtype=np.float64).tolist()
    where = dict(zip(pids, zip(lons, lats, strict=True), strict=True))
    feats: list[dict[str, Any]] = []
    counts = [0, 0, 1]
    for pid, rows in results.groupby(results["provider_id"].astype(str), sort=False):
        lon, lat = where.get(str(pid), (math.nan, math.nan))
        if not (math.isfinite(lon) and math.isfinite(lat)):
            continue
        has_capacity = bool((pd.to_numeric(rows["remaining"], errors="coerce") > 0).any())
        lines = [f"<b>{esc(rows['name'].iloc[0])}</b>"]
        for r in rows.to_dict("records"):
            lines.append(
                t(
                    "map_search_item",
                    lang,
                    i=esc(r["item_name"] if isinstance(r["item_name"], str) else r.get("item_id", "")),
                    w=esc(_number(r["walk_m"])),
                    t=esc(_number(r["walk_min"])),
                    r=esc(_number(r["remaining"]) or t("not_recorded", lang)),
                    c=esc(_number(r["capacity_per_month"]) or t("not_recorded", lang)),
                )
            )
        style = 0 if has_capacity else 1
        counts[style] += 1
        pt = shapely.Point(round(lon, ROUND_DEG), round(lat, ROUND_DEG))
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(pt),
                "properties": {"s": style, "t": "<br>".join(lines)},
            }
        )
    here = shapely.Point(round(float(point_lon), ROUND_DEG), round(float(point_lat), ROUND_DEG))
    feats.append(
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(here),
            "properties": {"s": 2, "t": esc(t("map_search_point", lang))},
        }
    )
    legend = [
        {"label": t("map_search_has_capacity", lang), "style": SEARCH_STYLES[0], "count": counts[0]},
        {"label": t("map_search_no_capacity", lang), "style": SEARCH_STYLES[1], "count": counts[1]},
        {"label": t("map_search_point", lang), "style": SEARCH_STYLES[2], "count": 1},
    ]
    layer = DataLayer(
        feats,
        list(SEARCH_STYLES),
        name=esc(t("map_search_results", lang, m=_minutes_text(lang, minutes))),
        key="search",
        class_name="xihu-search",
        show=show,
    )
    return layer, legend


def access_classes(values: Sequence[float] | np.ndarray, n_classes: int = len(ACCESS_COLORS)) -> np.ndarray:
    """Class edges of positive accessibility values: quantiles, ``n_classes + 1`` increasing edges."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return np.zeros(0, dtype=np.float64)
    edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, n_classes + 1)))
    return edges if edges.size >= 2 else np.array([edges[0], edges[0]], dtype=np.float64)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def accessibility_hex_layer(
    access: pd.DataFrame,
    *,
    group: str,
    minutes: float | None = None,
    lang: str = "zh",
    show: bool = True,
) -> tuple[DataLayer, list[dict[str, Any]]]:
    """Hexagons coloured by E2SFCA accessibility of one item group (quantile classes).

    Parameters
    ----------
    access : DataFrame
        ``origin_id`` (h3 string) and ``accessibility`` (the ``access`` table of
        :func:`geo.accessibility.e2sfca_by_group` for one group).
    group : str
        The item group (a need-type code today; its label comes from :mod:`core.i18n`).
    minutes : float, optional
        The catchment in walking minutes, for the labels.
    lang : "zh" or "en".

    Returns
    -------
    (DataLayer, legend entries ``{"label", "style", "count"}``)
        The first entry is "no provider within reach" (accessibility 0), then classes from
        low to high accessibility with their bounds (visits per household per month).
    """
    lang = _check_lang(lang)
    if not {"origin_id", "accessibility"} <= set(access.columns):
        msg = "the accessibility layer needs origin_id (h3) and accessibility columns"
        raise MapInputError(msg)
    access = access[access["origin_id"].notna()]
    acc = pd.to_numeric(access["accessibility"], errors="coerce").to_numpy(dtype=np.float64)
    edges = access_classes(acc)
    n = max(edges.size - 1, 0)
    cls = np.zeros(acc.shape[0], dtype=np.int64)
    pos = np.isfinite(acc) & (acc > 0)
    if n:
        cls[pos] = 1 + np.clip(np.searchsorted(edges, acc[pos], side="right") - 1, 0, n - 1)
    mtxt = _minutes_text(lang, minutes)
    legend: list[dict[str, Any]] = [
        {"label": t("map_access_none", lang, m=mtxt), "style": {**HEX_STYLE, "fillColor": NONE_COLOR}}
    ]
    colors = ACCESS_COLORS[-n:] if n else ()
    for i in range(n):
        legend.append(
            {"label": f"{_fmt(edges[i])}–{_fmt(edges[i + 1])}", "style": {**HEX_STYLE, "fillColor": colors[i]}}
        )
    for entry, c in zip(legend, np.bincount(cls, minlength=len(legend)).tolist(), strict=True):
        entry["count"] = int(c)
    tips = [
        esc(t("map_access_value", lang, a=_fmt(a))) if p else esc(t("map_access_none", lang, m=mtxt))
        for a, p in zip(acc.tolist(), pos.tolist(), strict=True)
    ]
    polys = cells_to_polygons(access["origin_id"].astype(str).tolist(), round_deg=ROUND_DEG)
    layer = DataLayer(
        frame_features(polys, cls, tips, round_deg=ROUND_DEG),
        [e["style"] for e in legend],
        name=esc(t("map_access_layer", lang, g=label("need_type", group, lang), m=mtxt)),
        key="accessibility",
        class_name="xihu-access",
        show=show,
    )
    return layer, legend


def legend_block_html(title: str, entries: Sequence[Mapping[str, Any]], *, note: str = "") -> str:
    """A legend block (title, one swatch per entry, an optional note) as escaped HTML."""
    rows = []
    for e in entries:
        fill = esc(e["style"].get("fillColor", "#ffffff"))
        rows.append(
            f'<div><i style="display:inline-block;width:14px;height:12px;margin-right:5px;'
            f'background:{fill};border:1px solid #999"></i>{esc(e["label"])}</div>'
        )
    tail = f"<div><small>{esc(note)}</small></div>" if note else ""
    return f"<div><b>{esc(title)}</b>{''.join(rows)}{tail}</div>"


def matching_legend(
    *,
    search: Sequence[Mapping[str, Any]] = (),
    access: Sequence[Mapping[str, Any]] = (),
    group: str = "",
    minutes: float | None = None,
    lang: str = "zh",
) -> Legend:
    """The legend of the search and accessibility layers: a second Leaflet control (bottom right),
    built like the map's own (:class:`layers.folium_map.Legend`), one block per layer drawn.

    Parameters
    ----------
    search : legend entries of :func:`search_result_layer` (empty: no search layer).
    access : legend entries of :func:`accessibility_hex_layer` (empty: no accessibility layer).
    group : the accessibility layer's need type (its title).
    minutes : walking minutes (titles).
    lang : "zh" or "en".
    """
    lang = _check_lang(lang)
    mtxt = _minutes_text(lang, minutes)
    blocks: list[str] = []
    if search:
        blocks.append(legend_block_html(t("map_search_results", lang, m=mtxt), search))
    if access:
        # the ordered classes, then "no provider within reach"
        entries = [*access[1:], access[0]]
        title = t("map_access_legend", lang, g=label("need_type", group, lang))
        blocks.append(legend_block_html(title, entries, note=t("map_access_method", lang)))
    html = "<div class='xihu-legend'>" + "".join(blocks) + "</div>"
    return Legend(html, title=t("map_legend_title", lang), position="bottomright")
