"""Base-map frames read from the real Xihu files: classes, simplification, rounding, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from core.errors import BasemapDataError
from data.basemap import ROAD_CLASSES, basemap_frames_from_shared, road_class


def test_road_class_of_geofabrik_fclass() -> None:
    fclass = pd.Series(["motorway_link", "primary", "residential", "living_street", "footway", "service", None])
    out = road_class(fclass)
    assert out.iloc[:4].tolist() == ["motorway", "primary", "residential", "residential"]
    assert out.iloc[4:].isna().all()


@pytest.fixture(scope="module")
def frames(xihu_dir: Path) -> dict:
    return basemap_frames_from_shared(xihu_dir)


@pytest.mark.xihu
def test_frames_are_light_wgs84_and_labelled(frames: dict, xihu_dir: Path) -> None:
    assert set(frames) == {"roads", "water", "district", "towns"}
    for name, gdf in frames.items():
        assert gdf.crs.to_epsg() == 4326, name
        coords = shapely.get_coordinates(gdf.geometry.to_numpy())
        assert len(coords) and np.allclose(coords, np.round(coords, 5), atol=1e-12), name
        assert not gdf.geometry.is_empty.any(), name
    roads = frames["roads"]
    assert set(roads["road_class"]) <= set(ROAD_CLASSES)
    assert {"motorway", "primary", "residential"} <= set(roads["road_class"])
    raw = pyogrio.read_dataframe(xihu_dir / "roads.geojson")
    raw_vertices = len(shapely.get_coordinates(raw.geometry.to_numpy()))
    assert len(shapely.get_coordinates(roads.geometry.to_numpy())) < raw_vertices / 4  # classes + simplification
    towns = frames["towns"]
    assert len(towns) == 12 and towns["derived"].all() and towns["name"].str.endswith(("街道", "镇")).all()
    district = frames["district"].geometry.iloc[0]
    # the simplified boundary keeps the district's area (313 km²) within 0.5 %
    area_km2 = frames["district"].to_crs(32651).area.iloc[0] / 1e6
    assert 311.5 < area_km2 < 314.5
    # roads and water are clipped to the district plus 500 m
    buffered = frames["district"].to_crs(32651).buffer(520).iloc[0]
    assert frames["roads"].to_crs(32651).within(buffered).all()
    assert frames["water"].to_crs(32651).area.min() >= 5_000 * 0.9  # ponds left out (area after simplification)
    assert district.is_valid


@pytest.mark.xihu
def test_missing_file_says_what_to_do(xihu_dir: Path, tmp_path: Path) -> None:
    for name in ("district_wgs84.geojson", "water.geojson", "towns_approx_voronoi_NOT_OFFICIAL.geojson"):
        shutil.copy2(xihu_dir / name, tmp_path / name)
    with pytest.raises(BasemapDataError, match=r"roads\.geojson"):
        basemap_frames_from_shared(tmp_path)
    (tmp_path / "roads.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(BasemapDataError, match="cannot read"):
        basemap_frames_from_shared(tmp_path)


def test_named_roads_keeps_only_named_lines(xihu_dir: Path) -> None:
    from data.basemap import named_roads

    roads = named_roads(xihu_dir / "roads.geojson")
    assert list(roads.columns) == ["name", "geometry"]
    assert roads.crs.to_epsg() == 4326
    assert roads["name"].str.strip().ne("").all()
    # 2,519 of the 9,460 ways carry a name tag (see ../shared/data/README.md and the XML)
    assert len(roads) == 2519
