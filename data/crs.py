"""Chinese coordinate systems: WGS-84, GCJ-02 ("Mars coordinates") and BD-09.

Addresses geocoded by Amap or Tencent come in **GCJ-02**, those from Baidu in **BD-09**;
OpenStreetMap and GPS are **WGS-84**. In Xihu, GCJ-02 sits about 500 m and BD-09 about
1.1 km away from WGS-84: a point left unconverted lands in the wrong 10-minute circle.

The forward transforms are the published closed formulas (the GCJ-02 obfuscation on the
Krasovsky 1940 ellipsoid; Baidu's polar perturbation on top of GCJ-02). Their inverses
have no closed form, so they are solved by fixed-point iteration until the round trip
agrees to ``tol_deg`` (1e-9 degree, about 0.1 mm, by default); in Xihu three or four
iterations suffice (the first already lands within 1 cm) because the offset field
changes by less than 1 % per degree.

:func:`detect_crs` guesses the system of a set of points by trying each hypothesis and
measuring how close the converted points sit to the walking network.

Every function is vectorised: arrays in, arrays out (broadcast shape); Python or numpy
scalars give numpy scalars back. NaN passes through as NaN.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, overload

import numpy as np
import numpy.typing as npt

from core.errors import InputColumnsError, UnknownCRSError
from core.i18n import labels

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from geo.snap import Snapper

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

WGS84: Final = "wgs84"
GCJ02: Final = "gcj02"
BD09: Final = "bd09"
#: the systems understood here, in the order detection reports them
CRS_CHOICES: Final[tuple[str, ...]] = (WGS84, GCJ02, BD09)

#: human names, for messages
CRS_LABEL_ZH: Final = labels("crs", "zh")
CRS_LABEL_EN: Final = labels("crs", "en")

# GCJ-02: Krasovsky 1940 semi-major axis and first eccentricity squared
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
# BD-09 perturbation: 3000 cycles per 180 degrees
_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_DLON: Final = 0.0065
_BD_DLAT: Final = 0.006

# the usual rectangle outside which GCJ-02 leaves coordinates unchanged
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)

#: defaults of the iterative inverses
DEFAULT_TOL_DEG: Final = 1e-9
DEFAULT_MAX_ITER: Final = 30


# --------------------------------------------------------------------------- helpers


def _as_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray, bool]:
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    scalar = lo.ndim == 0 and la.ndim == 0
    try:
        lo, la = np.broadcast_arrays(lo, la)
    except ValueError as exc:
        msg = f"longitude and latitude differ in shape ({lo.shape} and {la.shape})"
        raise InputColumnsError(msg) from exc
    # work on (at least 1-d) copies, so callers' arrays are never modified in place
    return np.array(lo, dtype=np.float64, ndmin=1), np.array(la, dtype=np.float64, ndmin=1), scalar


def _out(lo: FloatArray, la: FloatArray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return np.float64(lo.reshape(-1)[0]), np.float64(la.reshape(-1)[0])
    return lo, la


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether points lie outside the rectangle in which GCJ-02 applies.

    The customary test (a bounding rectangle of China); NaN is *not* out of China, so it
    flows through the arithmetic and stays NaN.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool, broadcast shape of the inputs.
    """
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    return np.asarray((lo < _CHINA_LON[0]) | (lo > _CHINA_LON[1]) | (la < _CHINA_LAT[0]) | (la > _CHINA_LAT[1]))


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 position ``(lon, lat)``."""
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq + common
    t_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq + common
    t_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    out = out_of_china(lon, lat)
    return np.where(out, 0.0, d_lon), np.where(out, 0.0, d_lat)


def _gcj_forward(lo: FloatArray, la: FloatArray) -> tuple[FloatArray, FloatArray]:
    d_lon, d_lat = _gcj_delta(lo, la)
    return lo + d_lon, la + d_lat


def _bd_forward(lo: FloatArray, la: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lo, la) + 0.00002 * np.sin(la * _X_PI)
    theta = np.arctan2(la, lo) + 0.000003 * np.cos(lo * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_inverse_approx(lo: FloatArray, la: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Baidu's published closed-form inverse (up to ~0.15 m off in Xihu); the starting guess."""
    x = lo - _BD_DLON
    y = la - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lo: FloatArray,
    la: FloatArray,
    guess: tuple[FloatArray, FloatArray],
    *,
    tol_deg: float,
    max_iter: int,
    name: str,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(p) == (lo, la)`` by fixed-point iteration ``p -= forward(p) - target``.

    ``forward`` is the identity plus an offset whose Jacobian is tiny (below 1e-2), so the
    iteration contracts by that factor per step. Non-finite inputs are left as they are.
    """
    shape = lo.shape
    lo, la = lo.reshape(-1), la.reshape(-1)
    x = np.array(guess[0], dtype=np.float64).reshape(-1)
    y = np.array(guess[1], dtype=np.float64).reshape(-1)
    active = np.isfinite(lo) & np.isfinite(la)
    for _ in range(max_iter):
        if not active.any():
            break
        fx, fy = forward(x[active], y[active])
        ex = fx - lo[active]
        ey = fy - la[active]
        x[active] -= ex
        y[active] -= ey
        still = np.maximum(np.abs(ex), np.abs(ey)) >= tol_deg
        idx = np.flatnonzero(active)
        active[idx[~still]] = False
    if active.any():  # pragma: no cover - only at the edge of the out-of-China rectangle
        log.warning("%s: %d points did not converge to %.1e degree", name, int(active.sum()), tol_deg)
    return x.reshape(shape), y.reshape(shape)


# --------------------------------------------------------------------------- pairwise transforms


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[np.float64, np.float64]: ...
@overload
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """WGS-84 to GCJ-02 (the published obfuscation formula).

    Points outside China (see :func:`out_of_china`) are returned unchanged.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : GCJ-02 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_forward(lo, la), scalar)


@overload
def gcj02_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[np.float64, np.float64]: ...
@overload
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = DEFAULT_TOL_DEG, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Any, Any]:
    """GCJ-02 to WGS-84 by iterating the forward formula.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.
    tol_deg : float
        Stop when the forward transform of the estimate is within this many degrees of
        the input (1e-9 degree is about 0.1 mm).
    max_iter : int
        Upper bound on iterations (3 or 4 are typical in China).

    Returns
    -------
    (lon, lat) : WGS-84 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_delta(lo, la)  # the offset at the GCJ point is a good first guess
    x, y = _invert(_gcj_forward, lo, la, (lo - d_lon, la - d_lat), tol_deg=tol_deg, max_iter=max_iter, name="gcj02")
    return _out(x, y, scalar)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[np.float64, np.float64]: ...
@overload
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """GCJ-02 to BD-09 (Baidu's published formula).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : BD-09 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    return _out(*_bd_forward(lo, la), scalar)


@overload
def bd09_to_gcj02(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[np.float64, np.float64]: ...
@overload
def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = DEFAULT_TOL_DEG, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Any, Any]:
    """BD-09 to GCJ-02: Baidu's closed-form inverse, refined by iteration.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.
    tol_deg, max_iter
        As in :func:`gcj02_to_wgs84`.

    Returns
    -------
    (lon, lat) : GCJ-02 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    x, y = _invert(_bd_forward, lo, la, _bd_inverse_approx(lo, la), tol_deg=tol_deg, max_iter=max_iter, name="bd09")
    return _out(x, y, scalar)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[np.float64, np.float64]: ...
@overload
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """WGS-84 to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : BD-09 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    return _out(*_bd_forward(*_gcj_forward(lo, la)), scalar)


@overload
def bd09_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[np.float64, np.float64]: ...
@overload
def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = DEFAULT_TOL_DEG, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Any, Any]:
    """BD-09 to WGS-84 (through GCJ-02, both steps iterated).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.
    tol_deg, max_iter
        As in :func:`gcj02_to_wgs84`.

    Returns
    -------
    (lon, lat) : WGS-84 degrees, arrays of the broadcast shape (numpy scalars for scalars).
    """
    lo, la, scalar = _as_arrays(lon, lat)
    g_lon, g_lat = bd09_to_gcj02(lo, la, tol_deg=tol_deg, max_iter=max_iter)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat, tol_deg=tol_deg, max_iter=max_iter)
    return _out(np.asarray(w_lon, dtype=np.float64), np.asarray(w_lat, dtype=np.float64), scalar)


# --------------------------------------------------------------------------- by name


def check_crs(crs: str) -> str:
    """Normalise a coordinate-system name (case, dashes, common aliases).

    Accepted: ``wgs84`` (also ``WGS-84``, ``EPSG:4326``, ``4326``), ``gcj02`` (``GCJ-02``,
    ``amap``, ``gaode``, ``tencent``, ``mars``), ``bd09`` (``BD-09``, ``baidu``, ``bd09ll``).

    Parameters
    ----------
    crs : str

    Returns
    -------
    str : one of :data:`CRS_CHOICES`.

    Raises
    ------
    UnknownCRSError
        For any other name.
    """
    key = str(crs).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {
        "wgs84": WGS84,
        "epsg:4326": WGS84,
        "4326": WGS84,
        "gps": WGS84,
        "gcj02": GCJ02,
        "gcj": GCJ02,
        "amap": GCJ02,
        "gaode": GCJ02,
        "tencent": GCJ02,
        "mars": GCJ02,
        "bd09": BD09,
        "bd09ll": BD09,
        "baidu": BD09,
    }
    if key not in aliases:
        msg = (
            f"unknown coordinate system {crs!r}: use one of {', '.join(CRS_CHOICES)} "
            "(WGS-84 for GPS/OpenStreetMap, GCJ-02 for Amap/Tencent, BD-09 for Baidu)"
        )
        raise UnknownCRSError(msg)
    return aliases[key]


@overload
def to_wgs84(lon: float, lat: float, crs: str) -> tuple[np.float64, np.float64]: ...
@overload
def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]: ...
def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[Any, Any]:
    """Convert from the named system to WGS-84.

    Parameters
    ----------
    lon, lat : array_like
        Coordinates in ``crs``, degrees.
    crs : str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` (see :func:`check_crs` for aliases).

    Returns
    -------
    (lon, lat) : WGS-84 degrees (copies, also for ``"wgs84"``).

    Raises
    ------
    UnknownCRSError
        For an unknown system name.
    """
    name = check_crs(crs)
    lo, la, scalar = _as_arrays(lon, lat)
    if name == GCJ02:
        return _out(*gcj02_to_wgs84(lo, la), scalar)
    if name == BD09:
        return _out(*bd09_to_wgs84(lo, la), scalar)
    return _out(lo, la, scalar)


@overload
def from_wgs84(lon: float, lat: float, crs: str) -> tuple[np.float64, np.float64]: ...
@overload
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]: ...
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[Any, Any]:
    """Convert from WGS-84 to the named system.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 degrees.
    crs : str
        Target: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    (lon, lat) : degrees in ``crs``.

    Raises
    ------
    UnknownCRSError
        For an unknown system name.
    """
    name = check_crs(crs)
    lo, la, scalar = _as_arrays(lon, lat)
    if name == GCJ02:
        return _out(*_gcj_forward(lo, la), scalar)
    if name == BD09:
        return _out(*_bd_forward(*_gcj_forward(lo, la)), scalar)
    return _out(lo, la, scalar)


def geometry_to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """Convert every vertex of a shapely geometry from ``crs`` to WGS-84.

    Parameters
    ----------
    geom : shapely geometry (any type, 2-D; a z coordinate is kept unchanged)
    crs : str
        System of ``geom``'s coordinates.

    Returns
    -------
    shapely geometry of the same type, in WGS-84 degrees.
    """
    import shapely

    name = check_crs(crs)
    if name == WGS84:
        return geom

    def convert(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64)
        out[:, 0], out[:, 1] = to_wgs84(coords[:, 0], coords[:, 1], name)
        return out

    # include_z=None keeps each geometry's dimensionality (z passes through unchanged)
    return shapely.transform(geom, convert, include_z=None)


# --------------------------------------------------------------------------- detection

#: a converted point "sits on the network" when a network vertex is this close (metres)
HIT_RADIUS_M: Final = 30.0
#: fewer usable points than this: no detection, the declared system (or WGS-84) is used
MIN_POINTS: Final = 5
#: at most this many points are snapped per hypothesis (a seeded random sample)
MAX_SAMPLE: Final = 2000
#: confidence: the winner's share of on-network points leads the runner-up's by this much
MIN_HIT_LEAD: Final = 0.05
#: confidence: one-sided sign-test p-value of winner vs runner-up on the discordant points
MAX_P_VALUE: Final = 0.01


@dataclass(frozen=True)
class CrsDetection:
    """Which coordinate system a set of points is in, judged against the walking network.

    Attributes
    ----------
    crs : str
        The system to use: the detected one when ``confident``, otherwise ``declared``
        (or WGS-84 when nothing was declared).
    detected : str or None
        The best hypothesis, whether confident or not (``None`` with too few points).
    n_points : int
        Points measured (finite coordinates, at most :data:`MAX_SAMPLE`).
    median_access_m : dict[str, float]
        Per hypothesis, the median straight distance (m) from the converted points to the
        nearest network vertex.
    hit_rate : dict[str, float]
        Per hypothesis, the share of converted points within :data:`HIT_RADIUS_M` of a
        network vertex. This is the decision criterion.
    margin_m : float
        Runner-up's median access minus the winner's, in metres (NaN with too few points).
        Usually positive; it can be negative for points of which most lie far from any
        road (e.g. a district boundary over hills), where the median says little.
    hit_lead : float
        Winner's ``hit_rate`` minus the runner-up's (NaN with too few points).
    p_value : float
        One-sided sign test over the points that sit on the network under exactly one of
        winner and runner-up: the chance of a lead this large if both were equally good.
    confident : bool
        ``n_points >= MIN_POINTS``, ``hit_lead >= MIN_HIT_LEAD`` and ``p_value <= MAX_P_VALUE``.
    declared : str or None
        The system the user declared, normalised.
    declared_looks_wrong : bool
        A system was declared and a different one was detected with confidence.
    message_zh, message_en : str
        The decision and its evidence, in Simplified Chinese and in English.
    """

    crs: str
    detected: str | None
    n_points: int
    median_access_m: dict[str, float] = field(default_factory=dict)
    hit_rate: dict[str, float] = field(default_factory=dict)
    margin_m: float = math.nan
    hit_lead: float = math.nan
    p_value: float = math.nan
    confident: bool = False
    declared: str | None = None
    declared_looks_wrong: bool = False
    message_zh: str = ""
    message_en: str = ""


def _sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact binomial p-value of ``wins`` or more out of ``wins + losses`` at 1/2."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(wins, n + 1))
    return float(tail / 2**n)


def detect_crs(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    snapper: Snapper,
    *,
    declared: str | None = None,
    max_points: int = MAX_SAMPLE,
    seed: int = 0,
) -> CrsDetection:
    """Guess whether points are WGS-84, GCJ-02 or BD-09 from how well they fit the network.

    Each hypothesis converts the points to WGS-84 and snaps them to the walking network.
    Under the right one, points that lie next to a street land next to it; under a wrong
    one they are displaced by 0.5-1.1 km in Xihu and fall at random between streets.

    Criterion: the share of points within :data:`HIT_RADIUS_M` (30 m) of a network vertex
    (``hit_rate``); the highest wins. The median access distance, the obvious alternative,
    is kept as a diagnostic only: it fails whenever more than half of the points lie far
    from every road, which is common (villages among tea hills, a district boundary that
    follows ridges and rivers: for Xihu's published GCJ-02 boundary the WGS-84 hypothesis
    has the *smaller* median, 107 m against 131 m, while GCJ-02 puts 25 % of the vertices
    within 30 m of the network against 15 %). Far points miss under every hypothesis, so
    they do not disturb the hit rate.

    The decision is confident when the winner leads the runner-up by at least
    :data:`MIN_HIT_LEAD` (5 percentage points) and a one-sided exact sign test over the
    points that hit under exactly one of the two gives ``p <= MAX_P_VALUE`` (0.01). The
    test needs at least 7 such points, so a handful of points never overrides the
    declared system. Points are a sample, so the p-value is optimistic when they are
    strongly clustered (e.g. consecutive boundary vertices); the lead threshold guards
    against tiny but "significant" differences.

    Parameters
    ----------
    lon, lat : array_like
        The points' coordinates, in the unknown system (degrees). NaN rows are ignored.
    snapper : geo.snap.Snapper
        Snapper over the walking network (WGS-84 network).
    declared : str, optional
        The system the user or the file declares (any name :func:`check_crs` accepts).
    max_points : int
        Sample size cap; a seeded random sample keeps the answer reproducible.
    seed : int
        Seed of the sample.

    Returns
    -------
    CrsDetection

    Raises
    ------
    UnknownCRSError
        When ``declared`` is not a known system name.
    """
    declared_name = check_crs(declared) if declared is not None else None
    fallback = declared_name or WGS84
    lo, la, _ = _as_arrays(lon, lat)
    lo, la = lo.reshape(-1), la.reshape(-1)
    ok = np.isfinite(lo) & np.isfinite(la)
    lo, la = lo[ok], la[ok]
    if lo.shape[0] > max_points:
        pick = np.sort(np.random.default_rng(seed).choice(lo.shape[0], size=max_points, replace=False))
        lo, la = lo[pick], la[pick]
    n = int(lo.shape[0])
    if n < MIN_POINTS:
        zh, en = _messages_too_few(n, fallback, declared_name)
        return CrsDetection(
            crs=fallback, detected=None, n_points=n, declared=declared_name, message_zh=zh, message_en=en
        )

    hits: dict[str, npt.NDArray[np.bool_]] = {}
    median: dict[str, float] = {}
    rate: dict[str, float] = {}
    for name in CRS_CHOICES:
        w_lon, w_lat = to_wgs84(lo, la, name)
        access = snapper.snap(w_lon, w_lat).access_m
        hits[name] = np.asarray(access <= HIT_RADIUS_M)
        median[name] = float(np.median(access))
        rate[name] = float(hits[name].mean())
    # rank by hit rate, ties broken by the smaller median, then by the order of CRS_CHOICES
    ranked = sorted(CRS_CHOICES, key=lambda h: (-rate[h], median[h], CRS_CHOICES.index(h)))
    best, second = ranked[0], ranked[1]
    wins = int((hits[best] & ~hits[second]).sum())
    losses = int((hits[second] & ~hits[best]).sum())
    p = _sign_test_p(wins, losses)
    lead = rate[best] - rate[second]
    margin = median[second] - median[best]
    confident = bool(lead >= MIN_HIT_LEAD and p <= MAX_P_VALUE)
    chosen = best if confident else fallback
    looks_wrong = bool(declared_name is not None and confident and best != declared_name)
    det = CrsDetection(
        crs=chosen,
        detected=best,
        n_points=n,
        median_access_m=median,
        hit_rate=rate,
        margin_m=float(margin),
        hit_lead=float(lead),
        p_value=p,
        confident=confident,
        declared=declared_name,
        declared_looks_wrong=looks_wrong,
    )
    zh, en = _messages(det, second)
    log.info("crs detection: %s", en)
    return replace(det, message_zh=zh, message_en=en)


_SHORT: Final[dict[str, str]] = {WGS84: "WGS-84", GCJ02: "GCJ-02", BD09: "BD-09"}


def _messages_too_few(n: int, fallback: str, declared: str | None) -> tuple[str, str]:
    src_zh = "按声明的坐标系" if declared else "按默认的"
    src_en = "the declared system" if declared else "the default"
    zh = (
        f"只有 {n} 个有效坐标点（至少需要 {MIN_POINTS} 个），无法自动识别坐标系，"
        f"{src_zh} {CRS_LABEL_ZH[fallback]} 处理。"
    )
    en = (
        f"Only {n} usable points (at least {MIN_POINTS} needed): the coordinate system cannot be detected; "
        f"using {src_en}, {CRS_LABEL_EN[fallback]}."
    )
    return zh, en


def _messages(det: CrsDetection, second: str) -> tuple[str, str]:
    best = det.detected or WGS84
    r = det.hit_rate
    m = det.median_access_m
    ev_zh = (
        f"换算后 {r[best]:.0%} 的点距路网 {HIT_RADIUS_M:.0f} 米以内（中位距离 {m[best]:.0f} 米），"
        f"领先第二名 {_SHORT[second]}（{r[second]:.0%}，中位 {m[second]:.0f} 米）"
        f"{det.hit_lead * 100:.0f} 个百分点；共检测 {det.n_points} 个点"
    )
    ev_en = (
        f"after conversion {r[best]:.0%} of the points lie within {HIT_RADIUS_M:.0f} m of the network "
        f"(median {m[best]:.0f} m), {det.hit_lead * 100:.0f} percentage points ahead of the runner-up {_SHORT[second]} "
        f"({r[second]:.0%}, median {m[second]:.0f} m); {det.n_points} points checked"
    )
    if det.confident:
        zh = f"坐标系自动识别为 {CRS_LABEL_ZH[best]}：{ev_zh}。"
        en = f"Coordinate system detected as {CRS_LABEL_EN[best]}: {ev_en}."
        if det.declared_looks_wrong and det.declared is not None:
            zh += f"注意：文件声明的是 {CRS_LABEL_ZH[det.declared]}，但坐标看起来不是，请核对数据来源。"
            en += (
                f" Warning: the file declares {CRS_LABEL_EN[det.declared]}, but the coordinates do not look like it;"
                " please check where the data came from."
            )
        return zh, en
    src_zh = "按声明的坐标系" if det.declared else "按默认的"
    src_en = "the declared system" if det.declared else "the default"
    hint_zh = "请确认坐标来源（高德/腾讯为 GCJ-02，百度为 BD-09，GPS/OpenStreetMap 为 WGS-84）。"
    hint_en = "Please check the source (Amap/Tencent give GCJ-02, Baidu BD-09, GPS/OpenStreetMap WGS-84)."
    if max(r.values()) == 0.0:
        far_km = min(m.values()) / 1000.0
        zh = (
            f"无法识别坐标系：无论按哪种坐标系换算，{det.n_points} 个点都不在路网附近"
            f"（中位距离至少 {far_km:.1f} 公里），"
            f"可能不在本区范围内或经纬度填反；暂{src_zh} {CRS_LABEL_ZH[det.crs]} 处理。{hint_zh}"
        )
        en = (
            f"The coordinate system cannot be detected: under every system the {det.n_points} points lie far from "
            f"the network (median distance at least {far_km:.1f} km); they may be outside the area or have longitude "
            f"and latitude swapped. Using {src_en}, {CRS_LABEL_EN[det.crs]}, for now. {hint_en}"
        )
        return zh, en
    zh = (
        f"无法可靠识别坐标系：最接近的是 {_SHORT[best]}，{ev_zh}，差距不足以下结论。"
        f"{src_zh} {CRS_LABEL_ZH[det.crs]} 处理；{hint_zh}"
    )
    en = (
        f"The coordinate system could not be detected reliably: the closest is {_SHORT[best]}; {ev_en}; "
        f"the lead is not clear enough. Using {src_en}, {CRS_LABEL_EN[det.crs]}. {hint_en}"
    )
    return zh, en
