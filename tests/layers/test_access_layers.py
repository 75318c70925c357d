"""Search-result and accessibility layers: features, classes, escaped tooltips, both languages."""

from __future__ import annotations

import json
from typing import Any

import folium
import h3
import numpy as np
import pandas as pd
import pytest

from core.errors import MapInputError
from layers.access_layers import (
    ACCESS_COLORS,
    NONE_COLOR,
    access_classes,
    accessibility_hex_layer,
    legend_block_html,
    matching_legend,
    search_result_layer,
)
from layers.folium_map import map_html
from layers.geojson_layer import DataLayer

EVIL = '<img src=x onerror="alert(1)">`${x}`'


def _data(layer: DataLayer) -> list[dict[str, Any]]:
    feats: list[dict[str, Any]] = json.loads(layer.data_js)["features"]
    return feats


@pytest.fixture
def results() -> tuple[pd.DataFrame, pd.DataFrame]:
    res = pd.DataFrame(
        [
            ("D", "社工站", "D02", "技能培训", 100.0, 1.33, 3.0, 2.0),
            ("A", EVIL, "C01", "心理咨询", 200.0, 2.67, 5.0, 0.0),
            ("A", EVIL, "S06", "助餐送餐", 200.0, 2.67, 10.0, np.nan),
            ("Z", "无坐标", "S06", "助餐送餐", 300.0, 4.0, 1.0, 1.0),
        ],
        columns=[
            "provider_id",
            "name",
            "item_id",
            "item_name",
            "walk_m",
            "walk_min",
            "capacity_per_month",
            "remaining",
        ],
    )
    providers = pd.DataFrame(
        {"provider_id": ["A", "D", "Z"], "lon": [120.1, 120.11, np.nan], "lat": [30.25, 30.26, np.nan]}
    )
    return res, providers


def test_search_layer_one_marker_per_provider_and_the_point(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res, providers = results
    layer, legend = search_result_layer(res, providers, point_lon=120.105, point_lat=30.255, minutes=10)
    feats = _data(layer)
    assert [f["properties"]["s"] for f in feats] == [0, 1, 2]  # D has capacity, A none left, then the point
    assert feats[0]["geometry"]["coordinates"] == [120.11, 30.26]
    assert feats[2]["geometry"]["coordinates"] == [120.105, 30.255]
    tip_a = feats[1]["properties"]["t"]
    assert "<img" not in tip_a and "&lt;img" in tip_a and "&#96;" in tip_a and "&#36;" in tip_a
    assert "心理咨询：步行 200 米（约 3 分钟），本月剩余 0 / 5 人次" in tip_a
    assert "助餐送餐：步行 200 米（约 3 分钟），本月剩余 未填 / 10 人次" in tip_a  # unknown remaining
    assert [e["count"] for e in legend] == [1, 1, 1]  # Z has no coordinates: not drawn
    assert layer.layer_name == "检索结果：10分钟步行可达的服务主体"
    en, legend_en = search_result_layer(res, providers, point_lon=120.105, point_lat=30.255, lang="en")
    assert "技能培训: 100 m walk (about 1 min), 2 of 3 visits left this month" in _data(en)[0]["properties"]["t"]
    assert legend_en[0]["label"] == "Capacity left"
    html = map_html(folium.Map(tiles=None).add_child(layer))  # the page holds no raw markup from the data
    assert "<img src=x" not in html


def test_access_classes_are_quantiles_of_positive_values() -> None:
    edges = access_classes([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan], n_classes=4)
    np.testing.assert_allclose(edges, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert access_classes([0.0, np.nan]).size == 0
    np.testing.assert_allclose(access_classes([2.0, 2.0]), [2.0, 2.0])


def test_accessibility_layer_classes_tooltips_and_labels() -> None:
    base = h3.latlng_to_cell(30.25, 120.10, 9)
    cells = sorted(h3.grid_disk(base, 1))[:6]
    acc = pd.DataFrame({"origin_id": cells, "accessibility": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    layer, legend = accessibility_hex_layer(acc, group="care", minutes=10)
    assert layer.layer_name == "六边形：关爱型服务可及性（10分钟步行）"
    assert legend[0]["label"] == "10分钟步行范围内无服务主体"
    assert legend[0]["style"]["fillColor"] == NONE_COLOR
    assert [e["label"] for e in legend[1:]] == ["1–1.8", "1.8–2.6", "2.6–3.4", "3.4–4.2", "4.2–5"]
    assert [e["style"]["fillColor"] for e in legend[1:]] == list(ACCESS_COLORS)
    feats = _data(layer)
    assert [f["properties"]["s"] for f in feats] == [0, 1, 2, 3, 4, 5]
    assert [e["count"] for e in legend] == [1, 1, 1, 1, 1, 1]
    assert feats[1]["properties"]["t"] == "可及性：每户每月 1 人次"
    assert feats[0]["properties"]["t"] == "10分钟步行范围内无服务主体"
    en, legend_en = accessibility_hex_layer(acc, group="care", lang="en")
    assert en.layer_name == "Hexagons: access to Care services (10-minute walk)"
    assert _data(en)[5]["properties"]["t"] == "Accessibility: 5 visits per household per month"
    block = legend_block_html(EVIL, legend_en, note="E2SFCA")
    assert "<img" not in block and "&lt;img" in block


def test_layers_refuse_bad_input(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res, providers = results
    with pytest.raises(MapInputError, match="lang"):
        search_result_layer(res, providers, point_lon=120.1, point_lat=30.2, lang="fr")
    with pytest.raises(MapInputError, match=r"geo\.search result"):
        search_result_layer(res.drop(columns="walk_m"), providers, point_lon=120.1, point_lat=30.2)
    with pytest.raises(MapInputError, match="origin_id"):
        accessibility_hex_layer(pd.DataFrame({"h3": ["x"]}), group="care")


def test_matching_legend_has_a_block_per_layer_in_both_languages(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res, providers = results
    _, search = search_result_layer(res, providers, point_lon=120.1, point_lat=30.2, minutes=10)
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(30.25, 120.10, 9), 1))[:4]
    acc = pd.DataFrame({"origin_id": cells, "accessibility": [0.0, 1.0, 2.0, 3.0]})
    _, access = accessibility_hex_layer(acc, group="care", minutes=10)
    m = folium.Map(location=(30.25, 120.1), zoom_start=13)
    matching_legend(search=search, access=access, group="care", minutes=10).add_to(m)
    html = m.get_root().render()
    for text in ("检索结果：10分钟步行可达的服务主体", "有剩余服务能力", "检索起点", "关爱型服务可及性（每户每月人次）",
                 "10分钟步行范围内无服务主体", "E2SFCA", "bottomright"):  # fmt: skip
        assert text in html, text
    # the classes low to high, then "nothing in reach" last
    assert html.index(access[1]["label"]) < html.index(access[-1]["label"]) < html.index("10分钟步行范围内无服务主体")
    _, search_en = search_result_layer(res, providers, point_lon=120.1, point_lat=30.2, minutes=10, lang="en")
    only_search = matching_legend(search=search_en, lang="en", minutes=10)
    m2 = folium.Map(location=(30.25, 120.1), zoom_start=13)
    only_search.add_to(m2)
    html2 = m2.get_root().render()
    assert "Capacity left" in html2 and "Access to" not in html2 and "检索" not in html2
    with pytest.raises(MapInputError, match="lang"):
        matching_legend(search=search, lang="fr")
