"""H3 indexing and aggregation: h3's own answers, a direct pandas groupby, the real district."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from core.errors import GeoError, InputColumnsError
from core.settings import MAX_H3_RES, MIN_H3_RES
from core.vocab import NEED_TYPES
from geo.hexes import (
    aggregate_points,
    cells_to_polygons,
    cells_to_str,
    latlng_to_cells,
    polygon_to_cells,
    polygon_to_cells_frame,
    str_to_cells,
)

LAT0, LON0 = 30.25, 120.10


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return LAT0 + rng.uniform(-0.05, 0.05, n), LON0 + rng.uniform(-0.05, 0.05, n)


@pytest.mark.parametrize("res", [MIN_H3_RES, 9, MAX_H3_RES])
def test_latlng_to_cells_equals_h3(res: int) -> None:
    lat, lon = _points(2_000, seed=res)
    cells = latlng_to_cells(lat, lon, res)
    assert cells.dtype == np.uint64
    expect = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)]
    assert cells_to_str(cells).tolist() == expect
    assert {h3.get_resolution(c) for c in expect} == {res}


def test_latlng_to_cells_nan_and_inf_give_zero() -> None:
    lat, lon = _points(6)
    lat[1] = np.nan
    lon[3] = np.nan
    lat[4] = np.inf
    cells = latlng_to_cells(lat, lon, 9)
    assert (cells[[1, 3, 4]] == 0).all()
    assert (cells[[0, 2, 5]] != 0).all()
    assert cells[0] == int(h3.str_to_int(h3.latlng_to_cell(lat[0], lon[0], 9)))
    assert latlng_to_cells([], [], 9).shape == (0,)


def test_latlng_to_cells_dedupe_gives_the_same_cells() -> None:
    lat, lon = _points(500)
    lat = np.r_[lat, lat[:200], np.nan]
    lon = np.r_[lon, lon[:200], 120.1]
    np.testing.assert_array_equal(latlng_to_cells(lat, lon, 10, dedupe=True), latlng_to_cells(lat, lon, 10))


@pytest.mark.parametrize("res", [MIN_H3_RES - 1, MAX_H3_RES + 1, 9.0, True, "9"])
def test_bad_resolution_raises(res: object) -> None:
    with pytest.raises(ValueError, match="H3 resolution"):
        latlng_to_cells([LAT0], [LON0], res)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="H3 resolution"):
        aggregate_points(pd.DataFrame({"lon": [LON0], "lat": [LAT0], "covered": [True]}), res=res)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="H3 resolution"):
        polygon_to_cells(box(120.0, 30.2, 120.1, 30.3), res)  # type: ignore[arg-type]


def test_latlng_to_cells_length_mismatch_raises() -> None:
    with pytest.raises(InputColumnsError):
        latlng_to_cells([30.2, 30.3], [120.1], 9)


def test_cell_strings_round_trip() -> None:
    lat, lon = _points(50)
    cells = latlng_to_cells(np.r_[lat, np.nan], np.r_[lon, 0.0], 9)
    ids = cells_to_str(cells)
    assert ids[-1] is None
    assert ids[:-1].tolist() == [h3.int_to_str(int(c)) for c in cells[:-1]]
    np.testing.assert_array_equal(str_to_cells(ids), cells)
    np.testing.assert_array_equal(str_to_cells(["", None, np.nan]), np.zeros(3, dtype=np.uint64))
    with pytest.raises(GeoError):
        str_to_cells(["not-a-cell"])


def _point_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat, lon = _points(n, seed)
    lat[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "covered": rng.random(n) < 0.6,
            "off_network": rng.random(n) < 0.05,
            "category": rng.choice(np.array(["dibao", "tekun", "linshi", None], dtype=object), n),
            "need_type": rng.choice(np.array(["care", "survival", None], dtype=object), n),
        }
    )


def test_aggregate_points_matches_pandas_groupby() -> None:
    pts = _point_frame(5_000, seed=3)
    res = 8
    agg = aggregate_points(pts, res=res)

    ref = pts.dropna(subset=["lat", "lon"]).copy()
    ref["h3"] = [h3.latlng_to_cell(a, b, res) for a, b in zip(ref["lat"], ref["lon"], strict=True)]
    ref["uncov"] = ~ref["covered"]
    g = ref.groupby("h3").agg(
        n=("covered", "size"),
        covered=("covered", "sum"),
        uncovered=("uncov", "sum"),
        off_network=("off_network", "sum"),
    )
    g = g.sort_index()
    assert agg["h3"].tolist() == g.index.tolist()  # sorted by h3, one row per occupied cell
    for col in ("n", "covered", "uncovered", "off_network"):
        np.testing.assert_array_equal(agg[col].to_numpy(), g[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(agg["coverage_pct"].to_numpy(), 100.0 * g["covered"].to_numpy() / g["n"].to_numpy())
    assert agg["n"].sum() == pts["lat"].notna().sum()  # points without coordinates are left out

    for col, prefix in (("category", "cat"), ("need_type", "need")):
        tab = pd.crosstab(ref["h3"], ref[col]).reindex(g.index, fill_value=0)
        unc = pd.crosstab(ref.loc[ref["uncov"], "h3"], ref.loc[ref["uncov"], col]).reindex(g.index, fill_value=0)
        for value in tab.columns:
            np.testing.assert_array_equal(agg[f"n_{prefix}_{value}"].to_numpy(), tab[value].to_numpy())
            np.testing.assert_array_equal(agg[f"uncovered_{prefix}_{value}"].to_numpy(), unc[value].to_numpy())

    assert [c for c in agg.columns if c.startswith("n_cat_")] == ["n_cat_dibao", "n_cat_linshi", "n_cat_tekun"]
    # the three need types always come first, even one absent from the data
    assert [c for c in agg.columns if c.startswith("n_need_")] == [f"n_need_{t}" for t in NEED_TYPES]
    assert (agg["n_need_development"] == 0).all()
    assert agg["h3"].map(type).eq(str).all()


def test_aggregate_points_optional_columns() -> None:
    pts = _point_frame(300, seed=4)[["lon", "lat", "covered"]]
    agg = aggregate_points(pts, res=9)
    assert list(agg.columns) == ["h3", "n", "covered", "uncovered", "coverage_pct"]
    agg2 = aggregate_points(_point_frame(300, seed=4), res=9, category_col=None, need_type_col="nope")
    assert "off_network" in agg2.columns and not any(c.startswith(("n_cat_", "n_need_")) for c in agg2.columns)


def test_aggregate_points_missing_covered_counts_as_not_covered() -> None:
    pts = pd.DataFrame({"lon": [LON0, LON0, LON0], "lat": [LAT0] * 3, "covered": pd.array([True, pd.NA, False])})
    agg = aggregate_points(pts, res=9)
    assert agg[["n", "covered", "uncovered"]].iloc[0].tolist() == [3, 1, 2]


def test_aggregate_points_reports_requested_empty_cells() -> None:
    pts = _point_frame(200, seed=5)
    occupied = aggregate_points(pts, res=9)
    far = polygon_to_cells(box(120.30, 30.40, 120.31, 30.41), 9)
    agg = aggregate_points(pts, res=9, cells=np.r_[far, str_to_cells(occupied["h3"][:3])])
    assert len(agg) == len(occupied) + len(far)
    assert agg["h3"].is_monotonic_increasing
    empty = agg[agg["h3"].isin(cells_to_str(far))]
    assert (empty["n"] == 0).all() and empty["coverage_pct"].isna().all()
    assert agg["n"].sum() == occupied["n"].sum()
    with pytest.raises(GeoError, match="resolution"):
        aggregate_points(pts, res=9, cells=polygon_to_cells(box(120.30, 30.40, 120.31, 30.41), 8))


def test_aggregate_points_missing_columns_raise() -> None:
    with pytest.raises(InputColumnsError, match="covered"):
        aggregate_points(pd.DataFrame({"lon": [LON0], "lat": [LAT0]}), res=9)


@pytest.mark.xihu
def test_district_cells_cover_its_area(xihu_dir: Path) -> None:
    district = gpd.read_file(xihu_dir / "district_wgs84.geojson").to_crs("EPSG:4326")
    geom = district.geometry.union_all()
    area_km2 = float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:32651").area.iloc[0]) / 1e6
    assert area_km2 == pytest.approx(313.0, rel=0.005)
    cells = polygon_to_cells(geom, 9)
    assert cells.dtype == np.uint64 and np.all(np.diff(cells.astype(np.float64)) > 0)
    # H3's res-9 average cell is 0.105 km² over the globe, but cells near 30°N are about
    # 0.082 km² (H3 areas vary by position): 313 km² holds about 3,800 of them, not 2,970
    cell_km2 = np.array([h3.cell_area(h3.int_to_str(int(c)), unit="km^2") for c in cells])
    assert 0.075 < cell_km2.mean() < 0.09
    assert cell_km2.sum() == pytest.approx(area_km2, rel=0.01)
    assert len(cells) == pytest.approx(area_km2 / cell_km2.mean(), rel=0.01)
    # containment modes nest: full ⊂ center ⊂ overlap
    full = polygon_to_cells(geom, 9, contain="full")
    over = polygon_to_cells_frame(geom, 9, contain="overlap")
    assert len(full) < len(cells) < len(over)
    assert set(full.tolist()) <= set(cells.tolist()) <= set(over.tolist())
    # coarser resolution: each res-7 cell holds 49 res-9 cells
    assert len(polygon_to_cells(geom, 7)) == pytest.approx(len(cells) / 49, rel=0.08)


def test_polygon_holes_and_multipolygons() -> None:
    outer = box(120.00, 30.20, 120.04, 30.24)
    hole = box(120.01, 30.21, 120.03, 30.23)
    with_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    all_cells = polygon_to_cells(outer, 9)
    ring_cells = polygon_to_cells(with_hole, 9)
    hole_cells = polygon_to_cells(hole, 9)
    assert set(ring_cells.tolist()) == set(all_cells.tolist()) - set(hole_cells.tolist())
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in ring_cells]).T
    assert not shapely.contains_xy(hole, lon, lat).any()  # no cell centre in the hole

    other = box(120.10, 30.30, 120.12, 30.32)
    multi = MultiPolygon([with_hole, other])
    np.testing.assert_array_equal(polygon_to_cells(multi, 9), np.union1d(ring_cells, polygon_to_cells(other, 9)))
    assert polygon_to_cells(Polygon(), 9).shape == (0,)


def test_polygon_to_cells_rejects_bad_input() -> None:
    with pytest.raises(GeoError, match="WGS-84"):
        polygon_to_cells(box(200_000, 3_350_000, 210_000, 3_360_000), 9)  # UTM metres
    with pytest.raises(GeoError, match="Polygon"):
        polygon_to_cells(shapely.LineString([(120.0, 30.2), (120.1, 30.3)]), 9)
    with pytest.raises(GeoError, match="contain"):
        polygon_to_cells(box(120.0, 30.2, 120.1, 30.3), 9, contain="inside")  # type: ignore[arg-type]


def test_cells_to_polygons_match_h3_boundaries() -> None:
    lat, lon = _points(40, seed=8)
    cells = np.unique(latlng_to_cells(lat, lon, 9))
    gdf = cells_to_polygons(cells)
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["h3", "geometry"]
    assert gdf["h3"].tolist() == cells_to_str(cells).tolist()
    first = h3.int_to_str(int(cells[0]))
    expect = [(b, a) for a, b in h3.cell_to_boundary(first)]
    assert shapely.get_coordinates(gdf.geometry.iloc[0])[:-1].tolist() == [list(p) for p in expect]
    area_km2 = gdf.to_crs("EPSG:32651").area.to_numpy() / 1e6
    expect_km2 = [h3.cell_area(h3.int_to_str(int(c)), unit="km^2") for c in cells]
    np.testing.assert_allclose(area_km2, expect_km2, rtol=0.01)
    assert gdf.geometry.is_valid.all()
    # the centre of each cell, indexed again, is that cell
    centre = gdf.geometry.to_crs("EPSG:32651").centroid.to_crs("EPSG:4326")
    np.testing.assert_array_equal(latlng_to_cells(centre.y.to_numpy(), centre.x.to_numpy(), 9), cells)


def test_cells_to_polygons_strings_rounding_and_empty() -> None:
    lat, lon = _points(10, seed=9)
    cells = latlng_to_cells(lat, lon, 10)
    from_str = cells_to_polygons([*cells_to_str(cells).tolist(), None], round_deg=5)
    assert len(from_str) == len(cells)
    coords = shapely.get_coordinates(from_str.geometry.to_numpy())
    np.testing.assert_array_equal(coords, np.round(coords, 5))
    exact = shapely.get_coordinates(cells_to_polygons(cells).geometry.to_numpy())
    assert np.abs(coords - exact).max() <= 0.5e-5 + 1e-12
    empty = cells_to_polygons([])
    assert len(empty) == 0 and empty.crs is not None and list(empty.columns) == ["h3", "geometry"]
    with pytest.raises(GeoError, match="valid H3"):
        cells_to_polygons([123456789])
