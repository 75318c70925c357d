"""Point coverage on the 100 m lattice: walking distances by arithmetic, statuses, hub-table errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from core.errors import GeoError, HubError, InputColumnsError
from core.settings import Settings
from geo.coverage import (
    STATUS_COVERED,
    STATUS_NO_COORDS,
    STATUS_OFF_NETWORK,
    STATUS_UNCOVERED,
    HubSet,
    engine_for_hubs,
    hubs_from_frame,
    point_coverage,
)
from geo.graph import WalkNetwork
from geo.snap import Snapper

N = 20  # the conftest lattice is 20 x 20, node i * N + j, every edge 100 m


def node(i: int, j: int) -> int:
    return i * N + j


def lonlat_near(net: WalkNetwork, i: int, j: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    """WGS-84 point ``(dx, dy)`` metres (in the metric CRS) from lattice node ``(i, j)``."""
    to_wgs = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(net.node_x[node(i, j)] + dx, net.node_y[node(i, j)] + dy)
    return float(lon), float(lat)


def hub_frame(net: WalkNetwork, hubs: dict[str, tuple[int, int, float, float]]) -> pd.DataFrame:
    rows = [(hid, *lonlat_near(net, i, j, dx, dy)) for hid, (i, j, dx, dy) in hubs.items()]
    return pd.DataFrame(rows, columns=["hub_id", "lon", "lat"])


def cover(
    net: WalkNetwork, hubs: pd.DataFrame, points: list[tuple[float, float]], settings: Settings
) -> tuple[pd.DataFrame, HubSet]:
    snapper = Snapper(net)
    hubset = hubs_from_frame(hubs, snapper)
    engine = engine_for_hubs(snapper, hubset, settings)
    lon = [p[0] for p in points]
    lat = [p[1] for p in points]
    return point_coverage(lon, lat, engine=engine, snapper=snapper, hub_ids=hubset.hub_id, settings=settings), hubset


def test_walk_is_access_plus_network_plus_hub_access(lattice_net: WalkNetwork, settings: Settings) -> None:
    hubs = hub_frame(lattice_net, {"A": (2, 3, 6.0, 8.0), "B": (15, 15, 0.0, 0.0)})  # A is 10 m off its node
    points = [
        lonlat_near(lattice_net, 5, 5, -9.0, 12.0),  # 15 m + 5 x 100 m to A's node + 10 m
        lonlat_near(lattice_net, 14, 15, 3.0, 4.0),  # 5 m + 100 m to B
        lonlat_near(lattice_net, 2, 3),  # on A's node: only A's access leg
        lonlat_near(lattice_net, 15, 15, 0.0, -20.0),  # 20 m, on B's node
    ]
    cov, hubset = cover(lattice_net, hubs, points, settings)
    np.testing.assert_array_equal(hubset.node, [node(2, 3), node(15, 15)])
    np.testing.assert_allclose(hubset.access_m, [10.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(hubset.access_cm, [1_000, 0])

    columns = ["node", "access_m", "hub_id", "walk_m", "walk_min", "covered", "off_network", "status"]
    assert cov.columns.tolist() == columns
    assert cov["node"].tolist() == [node(5, 5), node(14, 15), node(2, 3), node(15, 15)]
    assert cov["access_m"].tolist() == [15.0, 5.0, 0.0, 20.0]
    assert cov["hub_id"].tolist() == ["A", "B", "A", "B"]
    expect_m = [15 + 500 + 10, 5 + 100 + 0, 0 + 0 + 10, 20 + 0 + 0]
    assert cov["walk_m"].tolist() == expect_m
    assert cov["walk_min"].tolist() == [round(m / 75.0, 2) for m in expect_m]  # 4.5 km/h = 75 m/min
    assert cov["covered"].tolist() == [True] * 4
    assert cov["status"].tolist() == [STATUS_COVERED] * 4
    assert not cov["off_network"].any()


def test_slower_walkers_get_more_minutes(lattice_net: WalkNetwork) -> None:
    slow = Settings(speed_kmh=3.0)  # 50 m/min: the cutoff is 500 m
    hubs = hub_frame(lattice_net, {"A": (0, 0, 0.0, 0.0)})
    cov, _ = cover(lattice_net, hubs, [lonlat_near(lattice_net, 2, 3), lonlat_near(lattice_net, 3, 3)], slow)
    assert cov["walk_m"].tolist()[0] == 500.0 and cov["walk_min"].tolist()[0] == 10.0
    assert cov["covered"].tolist() == [True, False]
    assert cov["hub_id"].tolist() == ["A", None]


def test_covered_exactly_at_the_cutoff(lattice_net: WalkNetwork, settings: Settings) -> None:
    assert settings.cutoff_cm == 75_000
    hubs = hub_frame(lattice_net, {"A": (0, 0, 0.0, 0.0)})
    points = [
        lonlat_near(lattice_net, 3, 4, 30.0, 40.0),  # 50 m + 700 m = 750 m: covered (<=)
        lonlat_near(lattice_net, 3, 4, 30.0, 40.01),  # 50.008 m -> 5001 cm: 1 cm over
        lonlat_near(lattice_net, 10, 10),  # 2 km away on the network
    ]
    cov, _ = cover(lattice_net, hubs, points, settings)
    assert cov["walk_m"].tolist()[0] == 750.0 and cov["walk_min"].tolist()[0] == 10.0
    assert cov["covered"].tolist() == [True, False, False]
    assert cov["status"].tolist() == [STATUS_COVERED, STATUS_UNCOVERED, STATUS_UNCOVERED]
    assert cov["hub_id"].tolist() == ["A", None, None]
    assert cov["walk_m"].isna().tolist() == [False, True, True]
    assert cov["walk_min"].isna().tolist() == [False, True, True]
    assert cov["access_m"].tolist()[1] == 50.01  # the access leg is still reported


def test_cutoff_boundary_from_the_hub_side(lattice_net: WalkNetwork, settings: Settings) -> None:
    hubs = hub_frame(lattice_net, {"A": (0, 0, 30.0, 40.0)})  # the hub's own 50 m leg counts
    points = [lonlat_near(lattice_net, 3, 4), lonlat_near(lattice_net, 4, 4)]
    cov, _ = cover(lattice_net, hubs, points, settings)
    assert cov["walk_m"].tolist()[0] == 750.0
    assert cov["covered"].tolist() == [True, False]
    assert math.isnan(cov["walk_m"].tolist()[1]) and cov["hub_id"].tolist()[1] is None


def test_off_network_points(lattice_net: WalkNetwork, settings: Settings) -> None:
    hubs = hub_frame(lattice_net, {"A": (0, 0, 0.0, 0.0)})
    points = [
        lonlat_near(lattice_net, 0, 0, -300.5, 0.0),  # west of the lattice: access leg 300.5 m > 300 m
        lonlat_near(lattice_net, 0, 0, -299.5, 0.0),  # just within the access limit
        lonlat_near(lattice_net, 0, 0, -1_000.0, 0.0),  # far off, and beyond the cutoff too
    ]
    cov, _ = cover(lattice_net, hubs, points, settings)
    assert cov["node"].tolist() == [0, 0, 0]
    assert cov["access_m"].tolist() == [300.5, 299.5, 1_000.0]
    assert cov["off_network"].tolist() == [True, False, True]
    assert cov["covered"].tolist() == [False, True, False]
    assert cov["status"].tolist() == [STATUS_OFF_NETWORK, STATUS_COVERED, STATUS_OFF_NETWORK]
    # the walk is still reported when it is within the cutoff
    assert cov["walk_m"].tolist()[:2] == [300.5, 299.5] and cov["hub_id"].tolist()[:2] == ["A", "A"]
    assert math.isnan(cov["walk_m"].tolist()[2])


def test_missing_coordinates(lattice_net: WalkNetwork, settings: Settings) -> None:
    hubs = hub_frame(lattice_net, {"A": (0, 0, 0.0, 0.0)})
    lon0, lat0 = lonlat_near(lattice_net, 0, 1)
    points = [(math.nan, lat0), (lon0, lat0), (lon0, math.nan), (math.inf, lat0)]
    cov, _ = cover(lattice_net, hubs, points, settings)
    assert cov["status"].tolist() == [STATUS_NO_COORDS, STATUS_COVERED, STATUS_NO_COORDS, STATUS_NO_COORDS]
    assert cov["node"].tolist() == [-1, node(0, 1), -1, -1]
    assert cov["covered"].tolist() == [False, True, False, False]
    assert cov["off_network"].tolist() == [False] * 4
    assert cov["hub_id"].tolist() == [None, "A", None, None]
    assert cov["walk_m"].isna().tolist() == [True, False, True, True]
    assert cov["access_m"].isna().tolist() == [True, False, True, True]
    assert cov["walk_m"].tolist()[1] == 100.0


def test_tie_goes_to_the_first_hub_in_the_table(lattice_net: WalkNetwork, settings: Settings) -> None:
    hubs = hub_frame(lattice_net, {"east": (0, 6, 0.0, 0.0), "west": (0, 0, 0.0, 0.0)})
    cov, _ = cover(lattice_net, hubs, [lonlat_near(lattice_net, 0, 3), lonlat_near(lattice_net, 0, 2)], settings)
    assert cov["walk_m"].tolist() == [300.0, 200.0]
    assert cov["hub_id"].tolist() == ["east", "west"]  # equidistant: the lower slot, i.e. the first row


def test_empty_point_list(lattice_net: WalkNetwork, settings: Settings) -> None:
    cov, _ = cover(lattice_net, hub_frame(lattice_net, {"A": (0, 0, 0.0, 0.0)}), [], settings)
    assert len(cov) == 0 and "walk_m" in cov.columns


def test_hub_ids_become_text(lattice_net: WalkNetwork) -> None:
    frame = pd.DataFrame({"hub_id": [7, 8], "lon": [120.1, 120.101], "lat": [30.25, 30.25]})
    hubset = hubs_from_frame(frame, Snapper(lattice_net))
    assert hubset.hub_id.tolist() == ["7", "8"]


@pytest.mark.parametrize(
    ("frame", "error", "pattern"),
    [
        (pd.DataFrame({"hub_id": ["A"], "lon": [120.1]}), InputColumnsError, r"hub table lacks column\(s\): lat$"),
        (
            pd.DataFrame({"id": ["A"], "x": [1.0], "y": [2.0]}),
            InputColumnsError,
            r"lacks column\(s\): hub_id, lon, lat",
        ),
        (pd.DataFrame({"hub_id": [], "lon": [], "lat": []}), HubError, r"^the hub table is empty$"),
        (
            pd.DataFrame({"hub_id": ["A", "B", "A", "B", "C"], "lon": [120.1] * 5, "lat": [30.25] * 5}),
            HubError,
            r"^duplicate hub_id: A, B$",
        ),
        (pd.DataFrame({"hub_id": [1, "1"], "lon": [120.1] * 2, "lat": [30.25] * 2}), HubError, r"duplicate hub_id: 1"),
        (
            pd.DataFrame({"hub_id": ["A", "B", "C"], "lon": [120.1, None, "east"], "lat": [30.25, 30.25, 30.25]}),
            InputColumnsError,
            r"^hub\(s\) without valid lon/lat: B, C$",
        ),
    ],
    ids=["no-lat", "no-columns", "empty", "duplicates", "duplicates-across-types", "bad-coordinates"],
)
def test_hub_table_errors(lattice_net: WalkNetwork, frame: pd.DataFrame, error: type[GeoError], pattern: str) -> None:
    with pytest.raises(error, match=pattern) as info:
        hubs_from_frame(frame, Snapper(lattice_net))
    assert isinstance(info.value, ValueError)  # pages and the CLI catch these
