"""The GeoPackage and GeoJSON layers read back with pyogrio equal what was written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest

from reports.content import LEVEL_TOWN, LEVEL_VILLAGE
from reports.gis import LAYERS, NOTE_FIELD, scope_layers, write_geojson, write_gpkg
from reports.model import Report
from tests.reports import xihu_report

pytestmark = pytest.mark.xihu


@pytest.fixture(scope="module")
def report(xihu_dir: Path) -> Report:
    return xihu_report()


@pytest.fixture(scope="module")
def written(report: Report, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("gis")
    district = report.scopes("district")[0]
    town = next(s for s in report.scopes(LEVEL_TOWN) if s.area_id == "330106013")
    return {
        "gpkg": write_gpkg(report, district, out / "d.gpkg"),
        "town_gpkg": write_gpkg(report, town, out / "t.gpkg"),
        "geojson": write_geojson(report, district, out / "d_geojson"),
        "layers": scope_layers(report, district),
        "town_layers": scope_layers(report, town),
    }


def test_gpkg_layers_counts_and_chinese_fields(written: dict[str, object], report: Report) -> None:
    path = written["gpkg"]
    assert isinstance(path, Path)
    listed = pyogrio.list_layers(path)
    assert [str(x) for x in listed[:, 0]] == list(LAYERS)
    layers = written["layers"]
    assert isinstance(layers, dict)
    for name in LAYERS:
        info = pyogrio.read_info(path, layer=name)
        assert info["features"] == len(layers[name]), name
        assert list(info["fields"]) == [c for c in layers[name].columns if c != "geometry"], name
        assert info["crs"] == "EPSG:4326"
    hexes = pyogrio.read_dataframe(path, layer="hexes")
    assert list(hexes.columns[:6]) == ["H3编号", "所属镇街", "户数", "圈内户数", "圈外户数", "圈内占比"]
    assert len(hexes) == len(report.tables.hexes)
    assert pyogrio.read_info(path, layer="hubs")["features"] == len(report.tables.hubs)
    sa = pyogrio.read_dataframe(path, layer="service_areas")
    assert set(sa.columns) >= {"编号", "名称", "层级", "面积平方公里", "服务户数"}
    assert len(sa) == len(report.tables.hubs)
    sites = pyogrio.read_dataframe(path, layer="recommended_sites")
    assert sorted(sites["编号"]) == ["NEW-01", "NEW-02", "NEW-03"]


def test_gpkg_values_equal_the_engine_or_are_null_when_hidden(written: dict[str, object], report: Report) -> None:
    path = written["gpkg"]
    assert isinstance(path, Path)
    hexes = pyogrio.read_dataframe(path, layer="hexes").set_index("H3编号")
    true = report.tables.hexes.set_index("h3")
    st = report.published.hex_status.set_index(report.tables.hexes["h3"])
    shown = st["n"] == 0
    assert shown.any() and (~shown).any()
    np.testing.assert_array_equal(hexes.loc[shown[shown].index, "户数"].to_numpy(), true.loc[shown[shown].index, "n"])
    assert hexes.loc[shown[~shown].index, "户数"].isna().all()
    notes = hexes.loc[shown[~shown].index, NOTE_FIELD]
    assert notes.str.contains("户数<10|户数≥10").all()
    # the coverage share is printed only where every count of the hex is
    full = (st == 0).all(axis=1)
    assert hexes.loc[full[~full].index, "圈内占比"].isna().all()
    np.testing.assert_allclose(
        hexes.loc[full[full].index, "圈内占比"].to_numpy(float), true.loc[full[full].index, "pct_inside"].round(1)
    )
    hubs = pyogrio.read_dataframe(path, layer="hubs").set_index("编号")
    served = report.tables.hubs.set_index("hub_id")["served"]
    printed = hubs["服务户数"].dropna()
    assert len(printed) > 0
    assert (printed.astype(int) == served.loc[printed.index]).all()
    assert (
        served.loc[hubs.index[hubs["服务户数"].isna()]].between(1, 9)
        | (served.loc[hubs.index[hubs["服务户数"].isna()]] >= 10)
    ).all()
    # geometry: hexagons in WGS-84 around Xihu, points on the hubs
    b = hexes.total_bounds
    assert 119.9 < b[0] < b[2] < 120.3 and 30.0 < b[1] < b[3] < 30.4
    np.testing.assert_allclose(
        hubs.geometry.x.to_numpy(), report.tables.hubs.set_index("hub_id").loc[hubs.index, "lon"]
    )


def test_town_package_holds_its_area(written: dict[str, object], report: Report) -> None:
    layers = written["town_layers"]
    assert isinstance(layers, dict)
    assert set(layers["hubs"]["镇街编码"]) == {"330106013"}
    assert (layers["hexes"]["所属镇街"] == "文新街道").all()
    assert len(layers["gaps"]) <= len(layers["hexes"])
    assert set(layers["service_areas"]["编号"]) == set(layers["hubs"]["编号"])
    path = written["town_gpkg"]
    assert isinstance(path, Path)
    assert pyogrio.read_info(path, layer="gaps")["features"] == len(layers["gaps"])


def positions(coords: object) -> list[list[float]]:
    """Every [lon, lat] position of a GeoJSON coordinates array."""
    if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
        return [coords]
    assert isinstance(coords, list)
    return [p for c in coords for p in positions(c)]


def test_geojson_is_rfc7946(written: dict[str, object]) -> None:
    files = written["geojson"]
    assert isinstance(files, list)
    assert [p.stem for p in files] == list(LAYERS)
    layers = written["layers"]
    assert isinstance(layers, dict)
    for p in files:
        doc = json.loads(p.read_text(encoding="utf-8"))
        assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946: WGS-84 only, no crs member
        assert len(doc["features"]) == len(layers[p.stem])
        for f in doc["features"][:50]:
            if f["geometry"] is None:  # a hub left without an area of its own
                assert p.stem == "service_areas"
                continue
            xy = np.asarray(list(positions(f["geometry"]["coordinates"])), dtype=float)
            lon, lat = xy[:, 0], xy[:, 1]
            assert ((lon > 119.9) & (lon < 120.4)).all() and ((lat > 30.0) & (lat < 30.5)).all()  # lon first
    hexes = json.loads(files[0].read_text(encoding="utf-8"))
    props = hexes["features"][0]["properties"]
    assert {"H3编号", "户数", "圈内户数", "圈外户数", "圈内占比", NOTE_FIELD} <= set(props)
    village_layers = scope_layers(xihu_report(), xihu_report().scopes(LEVEL_VILLAGE)[0])
    assert len(village_layers["hubs"]) == 1
