"""The interactive district map (folium / Leaflet), offline and light.

What :func:`build_map` draws, each as a layer of the layer control:

* a tile-free base map from the data (:mod:`layers.basemap`), and an optional
  OpenStreetMap tile layer (online, off by default; never GCJ-02 tiles such as Amap);
* H3 hexagons coloured by coverage %, households or uncovered households
  (``hex_metric``), with tooltips a manager needs;
* gap hexagons (someone uncovered and coverage below ``gap_threshold_pct``) outlined red;
* walking service areas of the hubs (display only: figures come from the point
  distances, see :mod:`geo.service_area`);
* hubs by tier (district star, town square, village circle) and providers by kind.

Privacy: no beneficiary point is ever drawn; every count shown for a hexagon or a hub
goes through :mod:`geo.disclosure` (1-9 prints as "<10", figures withheld to protect it
print "≥10" or "<10", a share with a hidden count prints "—", so nothing can be recovered
by subtraction). A page that shows tables with the map passes the hexes' and hubs'
display columns of its whole screen (``n_txt`` ..., ``served_txt``); the map then prints
exactly those. The hexagon colours are computed from the printed
figures only, so a colour reveals nothing a tooltip hides. Every string from the data
is HTML-escaped (:func:`layers.geojson_layer.esc`).

Assets: the map loads Leaflet (and jQuery only if a page adds a Popup) from
``static_base`` (``/app/static/vendor``, served by Streamlit), see :mod:`layers.assets`.
The legend is plain HTML in a Leaflet control (no branca colormap, which would pull d3
from a CDN).

Pages render the map once per run key with :func:`pages._map.payload_of` and show it with
:func:`pages._map.show_map` (streamlit-folium's component; display only unless they ask for
clicks), or with ``streamlit_folium.st_folium``; after adding anything to the map they call
:func:`layers.assets.localize_assets` again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import ElementAddToElement
from folium.template import Template

from core.errors import MapInputError
from core.i18n import LANGS, item_label, label, t
from geo.disclosure import DEFAULT_THRESHOLD, HEX_DISPLAY_COLUMNS, count_alone, protect_hexes
from geo.hexes import category_columns, cells_to_polygons
from geo.metric import metric_crs_for_frame
from layers.assets import DEFAULT_STATIC_BASE, localize_assets
from layers.basemap import BACKGROUND, basemap_layers
from layers.geojson_layer import DataLayer, esc, frame_features, js_json, round_geometries

HEX_METRICS = ("coverage_pct", "n", "uncovered")
#: every layer :func:`build_map` can draw, in drawing order (keys of ``show=``)
LAYER_KEYS = (
    "basemap", "osm_tiles", "district", "towns", "service_areas", "hexes", "gaps",
    "providers", "hubs_village", "hubs_town", "hubs_district",
)  # fmt: skip
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
ROUND_DEG = 5

# ---------------------------------------------------------------------------- styles
PCT_EDGES = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
PCT_COLORS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
#: class edges of household counts: [1, 10) is the "<10" class
COUNT_EDGES = (1.0, 10.0, 20.0, 50.0, 100.0, 200.0, math.inf)
N_COLORS = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b")
UNCOVERED_COLORS = ("#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15")
ZERO_COLOR = "#ffffff"
SUPPRESSED_COLOR = "#b0b0b0"
HEX_STYLE = {"color": "#ffffff", "weight": 0.6, "opacity": 0.9, "fillOpacity": 0.62}
GAP_STYLE = {"color": "#e31a1c", "weight": 1.6, "opacity": 0.95, "fill": False}
SERVICE_AREA_STYLE = {
    "color": "#2b5c9e", "weight": 1.0, "opacity": 0.55, "fillColor": "#6a9bd8", "fillOpacity": 0.13,
}  # fmt: skip
TIER_COLOR = {"district": "#b2182b", "town": "#2166ac", "village": "#1b7837"}
KIND_COLOR = {"government": "#6a3d9a", "enterprise": "#8c510a", "social_org": "#e7298a", "volunteer": "#01665e"}
OTHER_KIND_COLOR = "#555555"


def _star_svg(size: int, color: str) -> str:
    r_out, r_in, c = size / 2 - 1, size / 5, size / 2
    pts = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = math.pi / 2 + i * math.pi / 5
        pts.append(f"{c + r * math.cos(a):.1f},{c - r * math.sin(a):.1f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<polygon points="{" ".join(pts)}" fill="{color}" stroke="#fff" stroke-width="1.5"/></svg>'
    )


def _square_svg(size: int, color: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<rect x="1" y="1" width="{size - 2}" height="{size - 2}" fill="{color}" stroke="#fff" stroke-width="1.5"/>'
        "</svg>"
    )


def _diamond_svg(size: int, color: str) -> str:
    c = size / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<polygon points="{c:g},1 {size - 1},{c:g} {c:g},{size - 1} 1,{c:g}" fill="{color}" '
        'stroke="#fff" stroke-width="1.2"/></svg>'
    )


def _circle_svg(size: int, color: str) -> str:
    c = size / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<circle cx="{c:g}" cy="{c:g}" r="{c - 1.5:g}" fill="{color}" stroke="#fff" stroke-width="1.5"/></svg>'
    )


DISTRICT_ICON = {"html": _star_svg(30, TIER_COLOR["district"]), "size": [30, 30], "anchor": [15, 15]}
TOWN_ICON = {"html": _square_svg(16, TIER_COLOR["town"]), "size": [16, 16], "anchor": [8, 8]}
VILLAGE_STYLE = {
    "radius": 5, "color": "#ffffff", "weight": 1.2, "fillColor": TIER_COLOR["village"], "fillOpacity": 1.0,
}  # fmt: skip
PROVIDER_ICON_SIZE = 12


def _lang(lang: str) -> str:
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(LANGS)}, got {lang!r}"
        raise MapInputError(msg)
    return lang


def _t(lang: str, key: str, **kw: Any) -> str:
    return t(f"map_{key}", lang, **kw)


def _minutes_text(lang: str, minutes: float | None) -> str:
    return _t(lang, "minutes", m=minutes) if minutes is not None else _t(lang, "minutes_default")


def tier_label(tier: str, lang: str = "zh") -> str:
    """Display name of a hub tier."""
    return label("tier", tier, lang)


def kind_label(kind: str, lang: str = "zh") -> str:
    """Display name of a provider kind."""
    return label("provider_kind", kind, lang)


def category_label(code: str, lang: str = "zh") -> str:
    """Display name of a beneficiary category code."""
    return label("category", code, lang)


def service_names(codes: Any, lang: str = "zh", items: Mapping[str, str] | None = None) -> list[str]:
    """Display names of a ``;``-separated list of service codes (:func:`core.i18n.item_label`:
    the dataset's names ``items``, else the built-in ones; unknown codes kept as they are)."""
    if codes is None or (isinstance(codes, float) and math.isnan(codes)):
        return []
    out = []
    for c in str(codes).split(";"):
        c = c.strip()
        if not c:
            continue
        out.append(item_label(c, lang, items))
    return out


# ---------------------------------------------------------------------------- classes


def _bin_of(x: float, edges: Sequence[float]) -> int:
    """Index of the class ``[edges[i], edges[i+1])`` holding ``x`` (the last class closed), or -1."""
    if not math.isfinite(x):
        return len(edges) - 2 if x == math.inf and edges[-1] == math.inf else -1
    for i in range(len(edges) - 1):
        last = i == len(edges) - 2
        if edges[i] <= x < edges[i + 1] or (last and x == edges[i + 1]):
            return i
    return -1


def _count_label(i: int, lang: str) -> str:
    lo, hi = COUNT_EDGES[i], COUNT_EDGES[i + 1]
    if lo == 1 and hi == DEFAULT_THRESHOLD:
        return f"<{DEFAULT_THRESHOLD}"
    if hi == math.inf:
        return f"≥{lo:.0f}"
    return f"{lo:.0f}–{hi - 1:.0f}"


def hex_classes(shown: pd.DataFrame, metric: str, *, lang: str = "zh") -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The colour class of every hexagon from its printed figures (:func:`geo.disclosure.protect_hexes`).

    A hexagon gets the class holding the whole interval a reader can deduce for its
    value; when that interval straddles classes it gets the neutral "not shown" class.

    Parameters
    ----------
    shown : DataFrame from :func:`geo.disclosure.protect_hexes`.
    metric : one of :data:`HEX_METRICS`.
    lang : "zh" or "en".

    Returns
    -------
    (classes, legend)
        ``classes``: int array, an index into ``legend`` per row; ``legend``: list of
        ``{"label", "style", "count"}`` (Leaflet path options, hexagons in the class),
        the neutral class first.
    """
    if metric not in HEX_METRICS:
        msg = f"hex_metric must be one of {', '.join(HEX_METRICS)}, got {metric!r}"
        raise MapInputError(msg)
    neutral = {"label": _t(lang, "suppressed" if metric == "coverage_pct" else "suppressed_count"),
               "style": {**HEX_STYLE, "fillColor": SUPPRESSED_COLOR}}  # fmt: skip
    legend: list[dict[str, Any]] = [neutral]
    if metric == "coverage_pct":
        lo, hi = shown["pct_lower"].to_numpy(float), shown["pct_upper"].to_numpy(float)
        for i, color in enumerate(PCT_COLORS):
            a, b = PCT_EDGES[i], PCT_EDGES[i + 1]
            label = f"{a:.0f}–{b:.0f}%" if i == len(PCT_COLORS) - 1 else f"{a:.0f}–<{b:.0f}%"
            legend.append({"label": label, "style": {**HEX_STYLE, "fillColor": color}})
        edges: Sequence[float] = PCT_EDGES
        offset = 1
    else:
        col = "n" if metric == "n" else "uncovered"
        lo, hi = shown[f"{col}_lower"].to_numpy(float), shown[f"{col}_upper"].to_numpy(float)
        colors = N_COLORS if metric == "n" else UNCOVERED_COLORS
        if metric == "uncovered":
            legend.append({"label": "0", "style": {**HEX_STYLE, "fillColor": ZERO_COLOR, "fillOpacity": 0.35}})
        offset = len(legend)
        for i, color in enumerate(colors):
            legend.append({"label": _count_label(i, lang), "style": {**HEX_STYLE, "fillColor": color}})
        edges = COUNT_EDGES
    out = np.zeros(len(shown), dtype=np.int64)
    for k in range(len(shown)):
        if metric == "uncovered" and lo[k] == 0 and hi[k] == 0:
            out[k] = 1
            continue
        b_lo, b_hi = _bin_of(lo[k], edges), _bin_of(hi[k], edges)
        out[k] = b_lo + offset if b_lo >= 0 and b_lo == b_hi else 0
    counts = np.bincount(out, minlength=len(legend))
    for entry, c in zip(legend, counts.tolist(), strict=True):
        entry["count"] = int(c)
    return out, legend


# ---------------------------------------------------------------------------- tooltips


def hex_tooltips(hexes: pd.DataFrame, shown: pd.DataFrame, *, lang: str = "zh") -> list[str]:
    """Tooltip HTML of every hexagon, from its printed figures only (escaped).

    Parameters
    ----------
    hexes : the aggregate table (for the category column names).
    shown : :func:`geo.disclosure.protect_hexes` of it, same row order.
    lang : "zh" or "en".
    """
    cats = category_columns(hexes)
    sep = _t(lang, "list_sep")
    tips: list[str] = []
    for row in shown.to_dict("records"):
        exact: list[tuple[int, str]] = []
        other: list[str] = []
        for col in cats:
            txt = str(row[f"{col}_txt"])
            if txt == "0":
                continue
            label = esc(category_label(col.removeprefix("n_cat_"), lang))
            if txt.isdigit():
                exact.append((int(txt), f"{label} {txt}"))
            else:
                other.append(f"{label} {esc(txt)}")
        # printed counts by size, then the hidden ones in the fixed category order (no rank leaks)
        items = [s for _, s in sorted(exact, key=lambda p: -p[0])] + other
        lines = [
            _t(lang, "households", n=esc(row["n_txt"])),
            _t(lang, "covered", c=esc(row["covered_txt"]), u=esc(row["uncovered_txt"])),
            _t(lang, "pct", p=esc(row["pct_txt"])),
        ]
        if items:
            lines.append(_t(lang, "cats", c=sep.join(items)))
        tips.append("<br>".join(lines))
    return tips


def hub_tooltips(hubs: pd.DataFrame, *, lang: str = "zh", threshold: int = DEFAULT_THRESHOLD) -> list[str]:
    """Tooltip HTML of every hub: name, tier and households served (suppressed 1-9), escaped."""
    tips = []
    for row in hubs.to_dict("records"):
        lines = [f"<b>{esc(row.get('name', row.get('hub_id', '')))}</b>", esc(tier_label(str(row.get("tier")), lang))]
        if "served_txt" in row:  # protected with the rest of the page (geo.disclosure)
            lines.append(_t(lang, "served", n=esc(row["served_txt"])))
        elif "served" in row:
            lines.append(_t(lang, "served", n=esc(count_alone(row["served"], threshold=threshold))))
        tips.append("<br>".join(lines))
    return tips


def provider_tooltips(
    providers: pd.DataFrame, *, lang: str = "zh", items: Mapping[str, str] | None = None
) -> list[str]:
    """Tooltip HTML of every provider: name, kind, services (by name), capacity, escaped."""
    sep = _t(lang, "list_sep")
    tips = []
    for row in providers.to_dict("records"):
        lines = [
            f"<b>{esc(row.get('name', row.get('provider_id', '')))}</b>",
            _t(lang, "kind", k=esc(kind_label(str(row.get("kind")), lang))),
        ]
        dept = row.get("department")
        if isinstance(dept, str) and dept.strip():
            lines.append(_t(lang, "department", d=esc(dept)))
        services = service_names(row.get("services"), lang, items)
        if services:
            lines.append(_t(lang, "services", s=sep.join(esc(s) for s in services)))
        cap = pd.to_numeric(pd.Series([row.get("capacity_month")]), errors="coerce").iloc[0]
        if pd.notna(cap):
            lines.append(_t(lang, "capacity", c=f"{int(cap):,}"))
        tips.append("<br>".join(lines))
    return tips


# ---------------------------------------------------------------------------- layers


def _hex_frame(hexes: pd.DataFrame) -> gpd.GeoDataFrame:
    """Hexagons with geometry (built from ``h3`` when absent), without empty ones."""
    if "n" not in hexes.columns or "covered" not in hexes.columns:
        msg = "the hexagon table needs the columns n and covered (geo.hexes.aggregate_points)"
        raise MapInputError(msg)
    h = hexes[pd.to_numeric(hexes["n"], errors="coerce").fillna(0) > 0]
    if isinstance(h, gpd.GeoDataFrame) and h.geometry.name in h.columns:
        return h.reset_index(drop=True)
    if "h3" not in h.columns:
        msg = "the hexagon table needs a geometry or an h3 column"
        raise MapInputError(msg)
    polys = cells_to_polygons(h["h3"].astype(str).tolist(), round_deg=ROUND_DEG)
    return gpd.GeoDataFrame(h.reset_index(drop=True), geometry=polys.geometry.to_numpy(), crs=polys.crs)


def hex_layers(
    hexes: pd.DataFrame,
    *,
    metric: str = "coverage_pct",
    gap_threshold_pct: float = 50.0,
    minutes: float | None = None,
    lang: str = "zh",
    threshold: int = DEFAULT_THRESHOLD,
    show_hexes: bool = True,
    show_gaps: bool = True,
) -> tuple[DataLayer, DataLayer | None, list[dict[str, Any]]]:
    """The hexagon layer, the gap layer and the hexagon legend entries.

    Parameters
    ----------
    hexes : DataFrame or GeoDataFrame
        :func:`geo.hexes.aggregate_points` output (``h3``, ``n``, ``covered``,
        ``uncovered``, ``n_cat_*`` ...), with or without polygons (built from ``h3``
        otherwise). Hexagons without beneficiaries are not drawn. With the display
        columns of :func:`geo.disclosure.protect_hexes` (``n_txt`` ...), those are
        printed; otherwise the hexagons are protected on their own.
    metric : one of :data:`HEX_METRICS`.
    gap_threshold_pct : a hexagon is a gap when a reader can tell someone is uncovered
        and the middle of its printed coverage band is below this.
    minutes : the walking minutes, for the labels.
    lang : "zh" or "en".
    threshold : small-count threshold (10).

    Returns
    -------
    (hex layer, gap layer or None when there is no gap, legend entries of the classes)
    """
    gdf = _hex_frame(hexes)
    cats = category_columns(gdf)
    display = [*HEX_DISPLAY_COLUMNS, *[f"{c}_txt" for c in cats]]
    if all(c in gdf.columns for c in display):  # protected with the rest of the page
        shown = pd.DataFrame(gdf[display])
    else:
        shown = protect_hexes(gdf, category_cols=cats, threshold=threshold)
    classes, legend = hex_classes(shown, metric, lang=lang)
    tips = hex_tooltips(gdf, shown, lang=lang)
    mtxt = _minutes_text(lang, minutes)
    layer = DataLayer(
        frame_features(gdf, classes, tips, round_deg=ROUND_DEG),
        [e["style"] for e in legend],
        name=esc(_t(lang, f"hexes_{metric}", m=mtxt)),
        key="hexes",
        class_name="xihu-hex",
        show=show_hexes,
    )
    mid = (shown["pct_lower"].to_numpy(float) + shown["pct_upper"].to_numpy(float)) / 2.0
    gap = (shown["uncovered_lower"].to_numpy(float) >= 1) & (mid < gap_threshold_pct)
    gap_layer = None
    if gap.any():
        gap_layer = DataLayer(
            frame_features(gdf[gap], round_deg=ROUND_DEG),
            [GAP_STYLE],
            name=esc(_t(lang, "gaps", p=gap_threshold_pct)),
            key="gaps",
            interactive=False,
            class_name="xihu-gap",
            show=show_gaps,
        )
    return layer, gap_layer, legend


def _points(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with valid lon/lat and their shapely points (rounded)."""
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    ok = (lon.notna() & lat.notna()).to_numpy()
    pts = shapely.points(np.round(lon[ok].to_numpy(float), ROUND_DEG), np.round(lat[ok].to_numpy(float), ROUND_DEG))
    return frame[ok].reset_index(drop=True), np.asarray(pts, dtype=object)


def hub_layers(
    hubs: pd.DataFrame, *, lang: str = "zh", threshold: int = DEFAULT_THRESHOLD, show: Mapping[str, bool] | None = None
) -> list[DataLayer]:
    """One layer per hub tier present: district stars, town squares, village circles.

    Parameters
    ----------
    hubs : DataFrame with ``name``, ``tier``, ``lon``, ``lat`` (WGS-84) and optionally
        ``served`` (households served, from :func:`geo.analysis.coverage_run`).
    """
    if not {"lon", "lat", "tier"} <= set(hubs.columns):
        msg = "the hub table needs the columns tier, lon and lat"
        raise MapInputError(msg)
    rows, pts = _points(hubs)
    tips = hub_tooltips(rows, lang=lang, threshold=threshold)
    out: list[DataLayer] = []
    tiers = rows["tier"].astype(str).to_numpy()
    for tier in ("village", "town", "district"):
        sel = tiers == tier
        if not sel.any():
            continue
        feats_ = [
            {"type": "Feature", "geometry": shapely.geometry.mapping(p), "properties": {"s": 0, "t": t}}
            for p, t in zip(pts[sel], np.asarray(tips, dtype=object)[sel], strict=True)
        ]
        key = f"hubs_{tier}"
        visible = True if show is None else show.get(key, True)
        if tier == "village":
            layer = DataLayer(
                feats_, [VILLAGE_STYLE], name=esc(tier_label(tier, lang)), key=key, class_name="xihu-hub", show=visible
            )
        else:
            icon = DISTRICT_ICON if tier == "district" else TOWN_ICON
            layer = DataLayer(
                feats_, [icon], name=esc(tier_label(tier, lang)), key=key, point_kind="divicon", show=visible
            )
        out.append(layer)
    return out


def provider_layer(
    providers: pd.DataFrame, *, lang: str = "zh", show: bool = True, items: Mapping[str, str] | None = None
) -> DataLayer:
    """Providers as diamonds coloured by kind (one layer)."""
    if not {"lon", "lat"} <= set(providers.columns):
        msg = "the provider table needs the columns lon and lat"
        raise MapInputError(msg)
    rows, pts = _points(providers)
    kinds = rows["kind"].astype(str).tolist() if "kind" in rows.columns else [""] * len(rows)
    order = [*KIND_COLOR, "other"]
    idx = np.array([order.index(k) if k in KIND_COLOR else len(order) - 1 for k in kinds], dtype=np.int64)
    s = PROVIDER_ICON_SIZE
    styles = [
        {"html": _diamond_svg(s, KIND_COLOR.get(k, OTHER_KIND_COLOR)), "size": [s, s], "anchor": [s // 2, s // 2]}
        for k in order
    ]
    tips = provider_tooltips(rows, lang=lang, items=items)
    feats_ = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(p), "properties": {"s": int(i), "t": t}}
        for p, i, t in zip(pts, idx, tips, strict=True)
    ]
    return DataLayer(feats_, styles, name=esc(_t(lang, "providers")), key="providers", point_kind="divicon", show=show)


def service_area_layer(
    service_areas: gpd.GeoDataFrame,
    hubs: pd.DataFrame | None = None,
    *,
    minutes: float | None = None,
    lang: str = "zh",
    simplify_m: float | None = 10.0,
    show: bool = True,
) -> DataLayer:
    """Hub service areas (:func:`geo.service_area.service_area_polygons`), simplified for display.

    Parameters
    ----------
    service_areas : GeoDataFrame with ``slot`` (and ``area_km2``), polygons.
    hubs : optional hub table with ``slot`` (or ``hub_id``) and ``name`` for the tooltips.
    simplify_m : extra Douglas-Peucker tolerance in metres (in the frame's UTM zone).
    """
    geoms0 = service_areas.geometry.to_numpy()
    sa = service_areas[~(shapely.is_missing(geoms0) | shapely.is_empty(geoms0))]
    sa = sa.to_crs(4326) if sa.crs is not None and sa.crs.to_epsg() != 4326 else sa
    if simplify_m and len(sa):
        utm = metric_crs_for_frame(sa)
        geoms = shapely.simplify(sa.to_crs(utm).geometry.to_numpy(), simplify_m, preserve_topology=True)
        sa = sa.set_geometry(gpd.GeoSeries(geoms, index=sa.index, crs=utm).to_crs(4326))
    names: list[str] = [""] * len(sa)
    if hubs is not None and "name" in hubs.columns:
        for key in ("slot", "hub_id"):
            if key in sa.columns and key in hubs.columns:
                lookup = dict(zip(hubs[key].tolist(), hubs["name"].astype(str).tolist(), strict=True))
                names = [lookup.get(v, "") for v in sa[key].tolist()]
                break
    mtxt = _minutes_text(lang, minutes)
    areas = sa["area_km2"].to_numpy(float) if "area_km2" in sa.columns else np.full(len(sa), np.nan)
    tips = []
    for name, a in zip(names, areas, strict=True):
        lines = [f"<b>{esc(name)}</b>"] if name else []
        if math.isfinite(a):
            lines.append(esc(_t(lang, "area", m=mtxt, a=a)))
        tips.append("<br>".join(lines))
    geoms = round_geometries(sa.geometry.to_numpy(), ROUND_DEG)
    feats_ = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {"s": 0, "t": t}}
        for g, t in zip(geoms, tips, strict=True)
        if g is not None and not g.is_empty
    ]
    return DataLayer(
        feats_,
        [SERVICE_AREA_STYLE],
        name=esc(_t(lang, "service_areas", m=mtxt)),
        key="service_areas",
        class_name="xihu-service-area",
        show=show,
    )


# ---------------------------------------------------------------------------- legend


def _swatch(style: Mapping[str, Any]) -> str:
    fill = style.get("fillColor", "#fff")
    return (
        f'<i style="display:inline-block;width:14px;height:12px;margin-right:5px;vertical-align:-1px;'
        f'background:{fill};border:1px solid #999"></i>'
    )


def legend_html(
    *,
    hex_legend: Sequence[Mapping[str, Any]] = (),
    hex_metric: str | None = None,
    tiers: Sequence[str] = (),
    provider_kinds: Sequence[str] = (),
    gap_threshold_pct: float | None = None,
    service_areas: bool = False,
    minutes: float | None = None,
    lang: str = "zh",
) -> str:
    """The map legend as self-contained, escaped HTML (no external file, no colormap).

    Parameters
    ----------
    hex_legend : entries ``{"label", "style"}`` from :func:`hex_classes`.
    hex_metric : the metric of the hexagons (its title), or None without hexagons.
    tiers : hub tiers drawn.
    provider_kinds : provider kinds drawn.
    gap_threshold_pct : the gap threshold when gaps are drawn.
    service_areas : whether service areas are drawn.
    minutes : walking minutes (titles).
    lang : "zh" or "en".
    """
    lang = _lang(lang)
    mtxt = _minutes_text(lang, minutes)
    parts: list[str] = []
    if hex_metric is not None and hex_legend:
        parts.append(f"<div class='xl-h'>{esc(_t(lang, f'legend_{hex_metric}', m=mtxt))}</div>")
        # the ordered classes, then the neutral class when a hexagon has it
        for e in [*hex_legend[1:], *[e for e in hex_legend[:1] if e.get("count", 1)]]:
            parts.append(f"<div>{_swatch(e['style'])}{esc(e['label'])}</div>")
    if gap_threshold_pct is not None:
        parts.append(
            "<div><i style='display:inline-block;width:12px;height:10px;margin-right:5px;"
            f"border:3px solid {GAP_STYLE['color']}'></i>{esc(_t(lang, 'gap_legend', p=gap_threshold_pct))}</div>"
        )
    if service_areas:
        parts.append(f"<div>{_swatch(SERVICE_AREA_STYLE)}{esc(_t(lang, 'service_area_legend', m=mtxt))}</div>")
    if tiers:
        parts.append(f"<div class='xl-h'>{esc(_t(lang, 'hubs'))}</div>")
        icons = {
            "district": _star_svg(16, TIER_COLOR["district"]),
            "town": _square_svg(12, TIER_COLOR["town"]),
            "village": _circle_svg(12, TIER_COLOR["village"]),
        }
        for tier in ("district", "town", "village"):
            if tier in tiers:
                parts.append(f"<div><span class='xl-i'>{icons[tier]}</span>{esc(tier_label(tier, lang))}</div>")
    if provider_kinds:
        parts.append(f"<div class='xl-h'>{esc(_t(lang, 'providers_legend'))}</div>")
        for kind in [
            *[k for k in KIND_COLOR if k in provider_kinds],
            *[k for k in provider_kinds if k not in KIND_COLOR],
        ]:
            icon = _diamond_svg(12, KIND_COLOR.get(kind, OTHER_KIND_COLOR))
            parts.append(f"<div><span class='xl-i'>{icon}</span>{esc(kind_label(kind, lang))}</div>")
    if hex_metric is not None:
        parts.append(f"<div class='xl-n'>{esc(_t(lang, 'privacy'))}</div>")
    return "<div class='xihu-legend'>" + "".join(parts) + "</div>"


class Legend(folium.MacroElement):
    """A Leaflet control holding :func:`legend_html`, plus the map's CSS (inline, no file).

    The legend is a ``<details>`` element: a click on its title opens or closes it; it
    starts closed on a map narrower than :attr:`MIN_OPEN_WIDTH_PX` or lower than
    :attr:`MIN_OPEN_HEIGHT_PX`.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var legend = L.control({position: {{ this.position_js }}});
                var map = {{ this._parent.get_name() }};
                legend.onAdd = function () {
                    var div = L.DomUtil.create("div", "xihu-legend-box leaflet-bar");
                    var details = L.DomUtil.create("details", "xihu-legend-details", div);
                    var summary = L.DomUtil.create("summary", "xl-s", details);
                    summary.textContent = {{ this.title_js }};
                    details.insertAdjacentHTML("beforeend", {{ this.html_js }});
                    // open on a roomy map, closed (a small "legend" button) on a narrow frame
                    var size = map.getSize();
                    details.open = size.x >= {{ this.min_open_width }} && size.y >= {{ this.min_open_height }};
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                legend.addTo(map);
            })();
        {% endmacro %}
        """
    )

    CSS = (
        ".leaflet-container{background:" + BACKGROUND + "}"
        ".xihu-legend-box{background:rgba(255,255,255,.93);padding:6px 9px;font:12px/1.45 "
        "'WenQuanYi Zen Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222;"
        "max-width:260px;max-height:55vh;overflow:auto}"
        ".xihu-legend-details>summary{cursor:pointer;font-weight:bold;user-select:none}"
        ".xihu-legend .xl-h{font-weight:bold;margin:4px 0 2px}"
        ".xihu-legend .xl-i{display:inline-block;width:18px;text-align:center;margin-right:4px;vertical-align:middle}"
        ".xihu-legend .xl-i svg{vertical-align:middle}"
        ".xihu-legend .xl-n{margin-top:5px;color:#555;font-size:11px}"
        ".xihu-icon{background:none;border:none}"
        ".leaflet-tooltip{font:12px/1.5 'WenQuanYi Zen Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
    )

    #: below this map width or height (px) the legend starts closed (it would cover a third of the map)
    MIN_OPEN_WIDTH_PX = 700
    MIN_OPEN_HEIGHT_PX = 450

    def __init__(self, html: str, *, title: str, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "Legend"
        self.html_js = js_json(html)
        self.title_js = js_json(title)
        self.position_js = js_json(position)
        self.min_open_width = int(self.MIN_OPEN_WIDTH_PX)
        self.min_open_height = int(self.MIN_OPEN_HEIGHT_PX)
        self.css = self.CSS


# ---------------------------------------------------------------------------- the map


def _bounds_of(frames: Sequence[Any]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) of the first non-empty geometry source."""
    for f in frames:
        if f is None or len(f) == 0:
            continue
        if isinstance(f, gpd.GeoDataFrame):
            g = f.to_crs(4326) if f.crs is not None and f.crs.to_epsg() != 4326 else f
            minx, miny, maxx, maxy = g.total_bounds
        else:
            lon = pd.to_numeric(f["lon"], errors="coerce").dropna()
            lat = pd.to_numeric(f["lat"], errors="coerce").dropna()
            if lon.empty:
                continue
            minx, maxx, miny, maxy = lon.min(), lon.max(), lat.min(), lat.max()
        if all(map(math.isfinite, (minx, miny, maxx, maxy))):
            return (float(miny), float(minx)), (float(maxy), float(maxx))
    return None


def build_map(
    *,
    basemap: Mapping[str, gpd.GeoDataFrame] | None = None,
    hexes: pd.DataFrame | None = None,
    hubs: pd.DataFrame | None = None,
    providers: pd.DataFrame | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    hex_metric: str = "coverage_pct",
    gap_threshold_pct: float = 50.0,
    minutes: float | None = None,
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    lang: str = "zh",
    static_base: str = DEFAULT_STATIC_BASE,
    osm_tiles: bool = True,
    attribution: str | None = None,
    show: Mapping[str, bool] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    service_area_simplify_m: float | None = 10.0,
    collapsed_control: bool = True,
    items: Mapping[str, str] | None = None,
) -> folium.Map:
    """The interactive coverage map, offline (every asset served by the app) and light.

    Parameters
    ----------
    basemap : mapping of str to GeoDataFrame, optional
        Base-map frames (:func:`data.basemap.basemap_frames_from_shared` or
        :func:`layers.basemap.basemap_from_network`).
    hexes : DataFrame or GeoDataFrame, optional
        Per-hexagon aggregates (:func:`geo.hexes.aggregate_points`, e.g.
        ``CoverageRun.hexes``), with polygons or an ``h3`` column.
    hubs : DataFrame, optional
        ``hub_id, name, tier, lon, lat`` and optionally ``slot``, ``served``
        (``CoverageRun.hubs``).
    providers : DataFrame, optional
        ``name, kind, services, capacity_month, lon, lat`` (``Bundle.providers``).
    service_areas : GeoDataFrame, optional
        :func:`geo.service_area.service_area_polygons` (``slot``, ``area_km2``).
    hex_metric : {"coverage_pct", "n", "uncovered"}
        What colours the hexagons.
    gap_threshold_pct : float
        Hexagons with someone uncovered and coverage below this are outlined red.
    minutes : float, optional
        Walking minutes of the analysis, for the labels (``Settings.minutes``).
    center : (lat, lon), optional
        Initial centre; with ``zoom``. Without it the map fits ``bounds``.
    zoom : int, optional
        Initial zoom (12 by default when ``center`` is given).
    bounds : ((south, west), (north, east)), optional
        Area to fit; by default the district, else the hexagons, hubs or providers.
    lang : {"zh", "en"}
    static_base : str
        URL prefix serving ``static/vendor`` (``/app/static/vendor`` under Streamlit).
    osm_tiles : bool
        Offer the online OpenStreetMap tiles as a second base layer (off at start).
    attribution : str, optional
        Plain text for the attribution control (the bundle's ``attribution``); the
        OpenStreetMap notice by default.
    show : mapping of layer key to bool, optional
        Which overlays are on at start (keys of :data:`LAYER_KEYS`; all on by default).
    threshold : int
        Small-count threshold: counts 1 to ``threshold - 1`` print as "<10".
    service_area_simplify_m : float or None
        Extra simplification of the service areas for display, in metres.
    collapsed_control : bool
        Collapse the layer control into its button.
    items : mapping of str to str, optional
        The dataset's item names (:func:`core.i18n.item_names`) for the providers' services.

    Returns
    -------
    folium.Map
        With ``tiles=None``, the layers above, a layer control and the legend; its
        ``default_js`` / ``default_css`` point at ``static_base``.

    Raises
    ------
    MapInputError
        When ``hex_metric`` or ``lang`` is unknown or a table lacks its columns.
    """
    lang = _lang(lang)
    if hex_metric not in HEX_METRICS:
        msg = f"hex_metric must be one of {', '.join(HEX_METRICS)}, got {hex_metric!r}"
        raise MapInputError(msg)
    vis = {k: True for k in LAYER_KEYS} | {"osm_tiles": False} | dict(show or {})
    if vis["osm_tiles"] and "basemap" not in (show or {}):
        vis["basemap"] = False  # base layers are exclusive: the tiles replace the offline background
    district = basemap.get("district") if basemap else None
    fit = bounds or _bounds_of([district, hexes if isinstance(hexes, gpd.GeoDataFrame) else None, hubs, providers])
    if fit is None and hexes is not None and len(hexes):
        fit = _bounds_of([_hex_frame(hexes)])
    location = center or (((fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2) if fit else (30.25, 120.12))
    m = folium.Map(
        location=list(location),
        zoom_start=zoom if zoom is not None else 12,
        tiles=None,
        control_scale=True,
        max_zoom=19,
        prefer_canvas=False,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    attr = attribution if attribution is not None else _t(lang, "attribution")
    if basemap:
        for layer in basemap_layers(basemap, lang=lang, attribution=attr, round_deg=ROUND_DEG):
            key = getattr(layer, "key", "basemap")
            if key in vis:
                layer.show = vis[key]
            layer.add_to(m)
    if osm_tiles:
        if not basemap:
            folium.FeatureGroup(name=esc(_t(lang, "no_basemap")), overlay=False, show=True).add_to(m)
        folium.TileLayer(
            tiles=OSM_TILE_URL,
            attr=esc(_t(lang, "attribution")),
            name=esc(_t(lang, "osm_tiles")),
            overlay=False,
            control=True,
            show=vis["osm_tiles"],
            max_zoom=19,
            max_native_zoom=19,
        ).add_to(m)
    if service_areas is not None and len(service_areas):
        service_area_layer(
            service_areas,
            hubs,
            minutes=minutes,
            lang=lang,
            simplify_m=service_area_simplify_m,
            show=vis["service_areas"],
        ).add_to(m)
    hex_legend: list[dict[str, Any]] = []
    has_gaps = False
    if hexes is not None and len(hexes):
        hex_layer, gap_layer, hex_legend = hex_layers(
            hexes,
            metric=hex_metric,
            gap_threshold_pct=gap_threshold_pct,
            minutes=minutes,
            lang=lang,
            threshold=threshold,
            show_hexes=vis["hexes"],
            show_gaps=vis["gaps"],
        )
        hex_layer.add_to(m)
        if gap_layer is not None:
            gap_layer.add_to(m)
            has_gaps = True
    kinds: list[str] = []
    if providers is not None and len(providers):
        provider_layer(providers, lang=lang, show=vis["providers"], items=items).add_to(m)
        kinds = sorted(set(providers["kind"].astype(str))) if "kind" in providers.columns else []
    tiers: list[str] = []
    if hubs is not None and len(hubs):
        for layer in hub_layers(hubs, lang=lang, threshold=threshold, show=vis):
            layer.add_to(m)
        tiers = sorted(set(hubs["tier"].astype(str)))
    html = legend_html(
        hex_legend=hex_legend,
        hex_metric=hex_metric if hex_legend else None,
        tiers=tiers,
        provider_kinds=kinds,
        gap_threshold_pct=gap_threshold_pct if has_gaps else None,
        service_areas=service_areas is not None and len(service_areas) > 0,
        minutes=minutes,
        lang=lang,
    )
    Legend(html, title=_t(lang, "legend_title")).add_to(m)
    folium.LayerControl(collapsed=collapsed_control, position="topright").add_to(m)
    if center is None and fit is not None:
        m.fit_bounds([list(fit[0]), list(fit[1])])
    return localize_assets(m, static_base=static_base)


# ---------------------------------------------------------------------------- measures


def map_html(m: folium.Map) -> str:
    """The whole page of the map (``m.get_root().render()``), the same on every call.

    folium's ``Layer.render`` adds a fresh ``ElementAddToElement`` (``layer.addTo(map)``)
    to the page's script on every render, so a second ``render()`` repeats those lines;
    the stale ones are dropped first (they are made again by this render).
    """
    root = m.get_root()
    script = getattr(root, "script", None)
    if script is not None:
        stack: list[Any] = [m]
        while stack:
            el = stack.pop()
            for child in el._children.values():
                if isinstance(child, ElementAddToElement):
                    script._children.pop(child.get_name(), None)
                stack.append(child)
    return str(root.render())


def map_html_bytes(m: folium.Map) -> int:
    """Size in bytes (UTF-8) of the map's whole page."""
    return len(map_html(m).encode("utf-8"))


def layer_payload_bytes(m: folium.Map) -> dict[str, int]:
    """Bytes of each :class:`DataLayer`'s script in the page, by layer key, plus ``"total"``.

    ``"other"`` is the rest of the page (Leaflet set-up, controls, legend, CSS).
    """
    total = map_html_bytes(m)
    out: dict[str, int] = {}

    def walk(el: Any) -> None:
        if isinstance(el, DataLayer):
            out[el.key] = out.get(el.key, 0) + el.payload_bytes()
        for child in list(getattr(el, "_children", {}).values()):
            walk(child)

    walk(m)
    out["other"] = total - sum(out.values())
    out["total"] = total
    return out
