"""The one place a metric CRS is chosen: the WGS-84 UTM zone of the data's centre.

Every distance of the project (access legs, snapping, buffers, simplification, areas) is
taken in a projected CRS in metres. A zone wired in for every input is wrong away from
its central meridian: on osmnx's West-Oakland test network the straight legs in UTM 51N
(Xihu's zone) come out 1.435x the true distance, 1.27x in Germany, so points are wrongly
uncovered and the 300 m off-network limit shrinks to 209 m. The UTM zone of the data's
centre keeps the scale error under 0.1% across a city (Xihu falls in 51N, EPSG:32651).

The zone is computed from the standard 6-degree formula (like geopandas'
``estimate_utm_crs``, without a database query); the Norway/Svalbard exceptions are not
applied (they only widen zones, the formula's zone is still correct to < 0.1% there).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from core.errors import CRSMismatchError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "checked_metric_crs",
    "metric_crs_for_bounds",
    "metric_crs_for_frame",
    "metric_crs_for_lonlat",
    "utm_crs_for_lonlat",
]


def utm_crs_for_lonlat(lon: float, lat: float) -> str:
    """The WGS-84 UTM zone of one WGS-84 point as an EPSG code.

    Parameters
    ----------
    lon, lat : float
        Degrees (WGS-84). Longitudes outside [-180, 180) are wrapped.

    Returns
    -------
    str
        ``"EPSG:326zz"`` north of the equator (and on it), ``"EPSG:327zz"`` south of it,
        ``zz`` the zone 01-60.
    """
    lon, lat = float(lon), float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90.0:
        msg = f"no UTM zone for lon {lon}, lat {lat}: expected WGS-84 degrees"
        raise CRSMismatchError(msg)
    zone = int(((lon + 180.0) % 360.0) // 6.0) + 1
    return f"EPSG:{(32600 if lat >= 0.0 else 32700) + zone}"


def metric_crs_for_bounds(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> str:
    """The UTM zone (EPSG code) of the centre of a WGS-84 bounding box.

    Returns
    -------
    str
        As :func:`utm_crs_for_lonlat` for ``((min_lon + max_lon) / 2, (min_lat + max_lat) / 2)``.
    """
    return utm_crs_for_lonlat((min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0)


def metric_crs_for_lonlat(lon: npt.ArrayLike, lat: npt.ArrayLike) -> str:
    """The UTM zone (EPSG code) of the centre of the extent of WGS-84 points.

    Points with a missing (non-finite) coordinate are ignored.

    Raises
    ------
    CRSMismatchError
        When no point has both coordinates.
    """
    lo = np.asarray(lon, dtype=np.float64).ravel()
    la = np.asarray(lat, dtype=np.float64).ravel()
    ok = np.isfinite(lo) & np.isfinite(la)
    if not ok.any():
        msg = "no located point to choose a metric CRS from"
        raise CRSMismatchError(msg)
    lo, la = lo[ok], la[ok]
    return metric_crs_for_bounds(float(lo.min()), float(la.min()), float(lo.max()), float(la.max()))


def metric_crs_for_frame(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """The UTM zone (EPSG code) of the centre of a frame's extent (any CRS; WGS-84 assumed when unset)."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    bounds = np.asarray(frame.total_bounds, dtype=np.float64)
    if not np.isfinite(bounds).all():
        msg = "an empty frame has no centre to choose a metric CRS from"
        raise CRSMismatchError(msg)
    return metric_crs_for_bounds(*(float(b) for b in bounds))


def checked_metric_crs(crs: str) -> str:
    """``crs`` itself when it is a projected CRS in metres (e.g. a user's ``--metric-crs``).

    Raises
    ------
    CRSMismatchError
        When pyproj does not know it, or it is geographic or not in metres.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"unknown CRS {crs!r}: give a projected CRS in metres such as EPSG:32651 (UTM 51N)"
        raise CRSMismatchError(msg) from exc
    units = {ax.unit_name for ax in parsed.axis_info}
    if not parsed.is_projected or units != {"metre"}:
        msg = f"{crs!r} is not a projected CRS in metres: give one such as EPSG:32651 (UTM 51N)"
        raise CRSMismatchError(msg)
    return crs
