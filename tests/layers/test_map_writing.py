"""Writing maps: a DataLayer's script goes into the page as folium would print it, without a Jinja
compile of it; a base map's layers are written once and redrawn from that."""

from __future__ import annotations

import itertools
from typing import Any

import folium
import geopandas as gpd
import jinja2
import pytest
from folium.map import Layer

import layers.basemap as basemap_mod
from layers.basemap import basemap_layers
from layers.geojson_layer import DataLayer, FeatureJS, features


def _map() -> folium.Map:
    import shapely

    m = folium.Map(location=[30.25, 120.1], zoom_start=13, tiles=None)
    pts = shapely.points([120.10, 120.11, 120.12], [30.25, 30.26, 30.27])
    tips = ["<b>甲</b>", "{{ 7 * 7 }}", "{% if true %}x{% endif %}"]  # text that a template would run
    DataLayer(features(pts, [0, 1, 0], tips), [{"color": "#f00"}, {"color": "#00f"}], name="a", key="a").add_to(m)
    DataLayer(features(pts, [0, 0, 0], None), [{"radius": 4}], name="b", key="b", show=False).add_to(m)
    return m


def _page(monkeypatch: pytest.MonkeyPatch, *, folium_way: bool) -> str:
    ids = itertools.count()
    monkeypatch.setattr("branca.element.Element._generate_id", classmethod(lambda cls: f"{next(ids):032x}"))
    if folium_way:
        monkeypatch.setattr(DataLayer, "render", Layer.render)
    m = _map()
    return m.get_root().render()


def test_the_page_is_folium_s_page_for_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _page(monkeypatch, folium_way=False)
    with monkeypatch.context() as mp:
        theirs = _page(mp, folium_way=True)
    # folium ran the tooltips through Jinja: "{{ 7 * 7 }}" became 49; ours prints the text
    assert "49" in theirs and "{{ 7 * 7 }}" not in theirs
    assert "{{ 7 * 7 }}" in ours and "{% if true %}x{% endif %}" in ours
    plain = theirs.replace("49", "{{ 7 * 7 }}").replace('"x"', '"{% if true %}x{% endif %}"')
    assert ours == plain


def test_no_template_is_compiled_from_a_layer_s_script(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[int] = []
    real = jinja2.Environment.from_string

    def spy(self: jinja2.Environment, source: Any, *a: Any, **k: Any) -> Any:
        compiled.append(len(str(source)))
        return real(self, source, *a, **k)

    m = _map()
    monkeypatch.setattr(jinja2.Environment, "from_string", spy)
    m.get_root().render()
    assert all(n < 2000 for n in compiled), compiled  # folium's small templates only, no layer script


def _frames() -> dict[str, gpd.GeoDataFrame]:
    import shapely

    lines = [
        shapely.LineString([(120.10, 30.25), (120.11, 30.25)]),
        shapely.LineString([(120.11, 30.25), (120.12, 30.26)]),
    ]
    roads = gpd.GeoDataFrame({"road_class": ["primary", "residential"]}, geometry=lines, crs=4326)
    towns = gpd.GeoDataFrame({"name": ["北山<街道>"]}, geometry=[shapely.box(120.09, 30.24, 120.13, 30.27)], crs=4326)
    water = gpd.GeoDataFrame(geometry=[shapely.box(120.10, 30.255, 120.105, 30.26)], crs=4326)
    return {"roads": roads, "towns": towns, "water": water}


def _data(layers: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for layer in layers:
        for el in [layer, *layer._children.values()]:
            if isinstance(el, DataLayer):
                out[el.key] = el.data_js
    return out


def test_a_base_map_is_written_once_and_redrawn_from_that(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _frames()
    first = _data(basemap_layers(frames, lang="zh", round_deg=5))
    calls: list[int] = []
    real = basemap_mod.frame_features
    monkeypatch.setattr(basemap_mod, "frame_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = _data(basemap_layers(frames, lang="zh", round_deg=5))
    assert again == first and set(first) == {"roads", "towns", "water"} and calls == []
    # another language: the town tooltips are written again, the rest is reused
    en = _data(basemap_layers(frames, lang="en", round_deg=5))
    assert calls == [1] and en["roads"] == first["roads"] and en["towns"] != first["towns"]
    assert "北山\\u0026lt;街道\\u0026gt;" in first["towns"]  # escaped, as before
    # other frames (a new object, other data): written from that data
    moved = _frames()
    moved["roads"] = moved["roads"].set_geometry(moved["roads"].geometry.translate(0.01, 0.0))
    other = _data(basemap_layers(moved, lang="zh", round_deg=5))
    assert other["roads"] != first["roads"] and other["water"] == first["water"]
    # what is written equals what a fresh write gives
    fresh = FeatureJS.of(real(moved["water"], round_deg=5)).js
    assert other["water"] == fresh
