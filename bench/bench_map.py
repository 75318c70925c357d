"""Payload and build time of the district map, against folium's default way, in the same run.

    PYTHONPATH=. .venv/bin/python bench/bench_map.py [--repeat 3] [--res 9]

Both maps hold the same content on the Xihu demo (all layers: hexagons with the same
privacy-safe tooltip texts, gap outlines, service areas, hubs, providers, base map):

* **ours**: :func:`layers.folium_map.build_map` with
  :func:`data.basemap.basemap_frames_from_shared` (roads by class clipped to the
  district, simplified 8 m, water without ponds, coordinates rounded to 5 decimals,
  compact JSON, style classes, service areas simplified 10 m);
* **peer**: what folium does by default: ``folium.GeoJson`` of the unrounded,
  unsimplified frames (raw ``roads.geojson`` major + residential classes, raw water,
  district and town cells, cells_to_polygons without rounding, the service areas as
  geo returns them) with ``style_function`` and ``GeoJsonTooltip``, and one
  ``folium.CircleMarker`` + ``folium.Tooltip`` per hub and provider (folium's usual
  point idiom), the default CDN assets.

Prints the bytes of every layer and of the whole page (``m.get_root().render()``), the
build and render times (best of ``--repeat``) and the ratios peer / ours. Wall-clock
numbers are from whatever machine runs this; read the ratios.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import pyogrio

from core.settings import Settings
from data.basemap import basemap_frames_from_shared, road_class
from data.demo import load_default_bundle
from data.network import load_network
from geo.analysis import coverage_run
from geo.disclosure import protect_hexes
from geo.hexes import cells_to_polygons
from geo.service_area import NodeCells, service_area_polygons
from geo.snap import Snapper
from layers.basemap import ROAD_STYLE
from layers.folium_map import (
    GAP_STYLE,
    SERVICE_AREA_STYLE,
    TIER_COLOR,
    build_map,
    hex_classes,
    hex_tooltips,
    hub_tooltips,
    layer_payload_bytes,
    map_html,
    provider_tooltips,
)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, list[float]]:
    times: list[float] = []
    out: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), times


def _script_bytes(el: Any) -> int:
    """Bytes of an element's script and its descendants' (after a full render)."""
    n = 0
    tmpl = getattr(el, "_template", None)
    module = getattr(tmpl, "module", None) if tmpl is not None else None
    if module is not None and hasattr(module, "script"):
        n += len(str(module.script(el)).encode("utf-8"))
    for child in getattr(el, "_children", {}).values():
        n += _script_bytes(child)
    return n


def peer_map(ctx: dict[str, Any]) -> tuple[folium.Map, dict[str, folium.map.Layer]]:
    """The same content drawn the way folium does it by default."""
    m = folium.Map(location=[30.25, 120.12], zoom_start=12, tiles=None)
    layers: dict[str, Any] = {}
    roads = ctx["raw_roads"]
    layers["roads"] = folium.GeoJson(
        roads,
        name="roads",
        style_function=lambda f: ROAD_STYLE[f["properties"]["road_class"]],
    )
    layers["water"] = folium.GeoJson(ctx["raw_water"], name="water", style_function=lambda f: {"fillColor": "#aad3df"})
    layers["district"] = folium.GeoJson(ctx["raw_district"], name="district")
    layers["towns"] = folium.GeoJson(
        ctx["raw_towns"], name="towns", tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)
    )
    sa = ctx["service_areas"].copy()
    sa["tip"] = ctx["sa_tips"]
    layers["service_areas"] = folium.GeoJson(
        sa[["tip", "geometry"]],
        name="service areas",
        style_function=lambda f: SERVICE_AREA_STYLE,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    hexes = ctx["hex_gdf_raw"]
    layers["hexes"] = folium.GeoJson(
        hexes[["h3", "tip", "cls", "geometry"]],
        name="hexes",
        style_function=lambda f: ctx["hex_styles"][f["properties"]["cls"]],
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    layers["gaps"] = folium.GeoJson(
        hexes.loc[hexes["gap"], ["h3", "geometry"]], name="gaps", style_function=lambda f: GAP_STYLE
    )
    for key, frame, tips, color_of in (
        ("hubs", ctx["hubs"], ctx["hub_tips"], lambda r: TIER_COLOR.get(r["tier"], "#333")),
        ("providers", ctx["providers"], ctx["provider_tips"], lambda r: "#6a3d9a"),
    ):
        fg = folium.FeatureGroup(name=key)
        for row, tip in zip(frame.to_dict("records"), tips, strict=True):
            folium.CircleMarker(
                [row["lat"], row["lon"]], radius=5, color=color_of(row), fill=True, tooltip=folium.Tooltip(tip)
            ).add_to(fg)
        layers[key] = fg
    for layer in layers.values():
        layer.add_to(m)
    folium.LayerControl().add_to(m)
    return m, layers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--res", type=int, default=9)
    args = ap.parse_args()

    bundle = load_default_bundle()
    if bundle.is_fallback:
        print("the Xihu data is absent (../shared/data/xihu): nothing to measure", file=sys.stderr)
        return 2
    settings = Settings(metric_crs=bundle.metric_crs, h3_res=args.res)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    run = coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, settings)
    areas = service_area_polygons(run.engine, node_cells=NodeCells(net))
    xihu = settings.shared_data / "xihu"
    basemap, t_basemap, _ = best_of(lambda: basemap_frames_from_shared(xihu), 1)

    kwargs = {
        "basemap": basemap,
        "hexes": run.hexes,
        "hubs": run.hubs,
        "providers": bundle.providers,
        "service_areas": areas,
        "minutes": settings.minutes,
        "attribution": bundle.attribution,
    }
    ours, t_build, builds = best_of(lambda: build_map(**kwargs), args.repeat)
    html, t_render, _ = best_of(lambda: map_html(ours), args.repeat)
    per_layer = layer_payload_bytes(ours)

    # the peer's inputs: raw frames, the same tooltip texts
    raw_roads = pyogrio.read_dataframe(xihu / "roads.geojson")
    raw_roads["road_class"] = road_class(raw_roads["fclass"])
    raw_roads = raw_roads[raw_roads["road_class"].notna()][["road_class", "geometry"]]
    raw_roads["road_class"] = raw_roads["road_class"].astype(str)
    hex_gdf = cells_to_polygons(run.hexes["h3"].tolist())
    hex_gdf = gpd.GeoDataFrame(run.hexes.reset_index(drop=True), geometry=hex_gdf.geometry.to_numpy(), crs=4326)
    hex_gdf = hex_gdf[hex_gdf["n"] > 0].reset_index(drop=True)
    cat_cols = [c for c in hex_gdf.columns if c.startswith("n_cat_")]
    shown = protect_hexes(hex_gdf, category_cols=cat_cols)
    cls, legend = hex_classes(shown, "coverage_pct")
    hex_gdf["tip"] = hex_tooltips(hex_gdf, shown)
    hex_gdf["cls"] = cls
    mid = (shown["pct_lower"] + shown["pct_upper"]) / 2
    hex_gdf["gap"] = ((shown["uncovered_lower"] >= 1) & (mid < 50)).to_numpy()
    names = dict(zip(run.hubs["slot"], run.hubs["name"], strict=True))
    ctx = {
        "raw_roads": raw_roads,
        "raw_water": pyogrio.read_dataframe(xihu / "water.geojson")[["name", "geometry"]],
        "raw_district": pyogrio.read_dataframe(xihu / "district_wgs84.geojson")[["name", "geometry"]],
        "raw_towns": pyogrio.read_dataframe(xihu / "towns_approx_voronoi_NOT_OFFICIAL.geojson")[["name", "geometry"]],
        "service_areas": areas,
        "sa_tips": [str(names.get(s, "")) for s in areas["slot"]],
        "hex_gdf_raw": hex_gdf,
        "hex_styles": [e["style"] for e in legend],
        "hubs": run.hubs,
        "hub_tips": hub_tooltips(run.hubs),
        "providers": bundle.providers,
        "provider_tips": provider_tooltips(bundle.providers),
    }
    (peer, peer_layers), t_peer_build, _ = best_of(lambda: peer_map(ctx), args.repeat)
    peer_html, t_peer_render, _ = best_of(lambda: map_html(peer), args.repeat)
    peer_sizes = {k: _script_bytes(v) for k, v in peer_layers.items()}
    peer_total = len(peer_html.encode("utf-8"))

    groups = {
        "roads": ["roads"],
        "water": ["water"],
        "district": ["district"],
        "towns": ["towns"],
        "service_areas": ["service_areas"],
        "hexes": ["hexes"],
        "gaps": ["gaps"],
        "hubs": ["hubs_district", "hubs_town", "hubs_village"],
        "providers": ["providers"],
    }
    print(f"# district map payload, Xihu demo, H3 res {args.res} ({platform.python_version()}, {platform.machine()})")
    print(
        f"hexagons drawn: {len(hex_gdf)}, hubs: {len(run.hubs)}, providers: {len(bundle.providers)}, "
        f"service areas: {len(areas)}"
    )
    print(f"{'layer':<15}{'ours (bytes)':>14}{'peer (bytes)':>14}{'peer/ours':>11}")
    for key, parts in groups.items():
        o = sum(per_layer.get(p, 0) for p in parts)
        q = peer_sizes.get(key, 0)
        print(f"{key:<15}{o:>14,}{q:>14,}{(q / o if o else float('nan')):>11.1f}")
    total = len(html.encode("utf-8"))
    print(f"{'other':<15}{per_layer['other']:>14,}")
    print(f"{'TOTAL page':<15}{total:>14,}{peer_total:>14,}{peer_total / total:>11.1f}")
    print(f"under 3 MB: {total < 3_000_000} (ours {total / 1e6:.2f} MB, peer {peer_total / 1e6:.2f} MB)")
    print()
    print(f"base-map frames read + simplified (data.basemap, once per process): {t_basemap:.2f} s")
    print(f"{'time (best of ' + str(args.repeat) + ')':<24}{'ours (s)':>10}{'peer (s)':>10}{'peer/ours':>11}")
    print(f"{'build':<24}{t_build:>10.3f}{t_peer_build:>10.3f}{t_peer_build / t_build:>11.2f}")
    print(f"{'render':<24}{t_render:>10.3f}{t_peer_render:>10.3f}{t_peer_render / t_render:>11.2f}")
    tb, tp = t_build + t_render, t_peer_build + t_peer_render
    print(f"{'build + render':<24}{tb:>10.3f}{tp:>10.3f}{tp / tb:>11.2f}")
    print(f"(our build times: median {statistics.median(builds):.3f} s of {builds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
