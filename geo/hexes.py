"""H3 hexagon indexing and per-cell aggregation of point coverage (h3 v4 API).

Cells are handled as ``uint64`` arrays inside ``geo`` (``0`` stands for "no cell", e.g.
a point without coordinates) and as h3 strings (``"89309a5519bffff"``) in frames meant
for display or export. H3 takes coordinates in (lat, lng) order; shapely and this
project's tables use (lon, lat): the functions here do the swap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any, Literal

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from core.errors import GeoError, InputColumnsError
from core.settings import MAX_H3_RES, MIN_H3_RES, STORAGE_CRS
from core.vocab import NEED_TYPES  # ``n_need_*`` columns always hold these, plus any other value found
from geo.figures import coverage_pct

log = logging.getLogger(__name__)

CellArray = npt.NDArray[np.uint64]
Contain = Literal["center", "full", "overlap", "bbox_overlap"]

CONTAIN_MODES: tuple[str, ...] = ("center", "full", "overlap", "bbox_overlap")

# bits 52-55 of an H3 index hold its resolution
_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF)


def check_res(res: int) -> int:
    """Validate an H3 resolution for this project (``MIN_H3_RES``..``MAX_H3_RES``) and return it.

    Raises
    ------
    GeoError
        (a ``ValueError``) when ``res`` is not an integer in the supported range.
    """
    if isinstance(res, bool) or not isinstance(res, int | np.integer) or not (MIN_H3_RES <= res <= MAX_H3_RES):
        msg = f"H3 resolution must be an integer from {MIN_H3_RES} to {MAX_H3_RES}, got {res!r}"
        raise GeoError(msg)
    return int(res)


def latlng_to_cells(lat: npt.ArrayLike, lon: npt.ArrayLike, res: int, *, dedupe: bool = False) -> CellArray:
    """H3 cell of every WGS-84 point.

    h3 v4 has no array version of ``latlng_to_cell``; this maps the C function over plain
    Python floats, which is the fastest way through the public API (about 0.05 s per
    100,000 points). Set ``dedupe`` when many points share exact coordinates (geocoded to
    the same building): each distinct point is then indexed once.

    Parameters
    ----------
    lat, lon : array-like of float
        WGS-84 latitude and longitude in degrees, same length.
    res : int
        H3 resolution, ``MIN_H3_RES``..``MAX_H3_RES`` (7-10).
    dedupe : bool
        Index each distinct ``(lat, lon)`` pair only once.

    Returns
    -------
    ndarray of uint64
        One cell per point, in input order; ``0`` where a coordinate is NaN or infinite.
    """
    r = check_res(res)
    la = np.asarray(lat, dtype=np.float64).ravel()
    lo = np.asarray(lon, dtype=np.float64).ravel()
    if la.shape != lo.shape:
        msg = f"lat and lon differ in length ({la.shape[0]} vs {lo.shape[0]})"
        raise InputColumnsError(msg)
    out = np.zeros(la.shape[0], dtype=np.uint64)
    ok = np.isfinite(la) & np.isfinite(lo)
    all_ok = bool(ok.all())
    la_ok, lo_ok = (la, lo) if all_ok else (la[ok], lo[ok])
    inverse: npt.NDArray[np.intp] | None = None
    if dedupe and la_ok.shape[0] > 1:
        # complex128 sorts by (real, imag): exact pairs, no rounding
        uniq, inverse = np.unique(la_ok + 1j * lo_ok, return_inverse=True)
        la_ok, lo_ok = uniq.real, uniq.imag
    k = la_ok.shape[0]
    cells = np.fromiter(map(h3n.latlng_to_cell, la_ok.tolist(), lo_ok.tolist(), repeat(r)), dtype=np.uint64, count=k)
    if inverse is not None:
        cells = cells[inverse]
    if all_ok:
        return cells
    out[ok] = cells
    return out


def cells_to_str(cells: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """h3 string ids (lower-case hex, as ``h3.int_to_str``) of ``uint64`` cells; ``None`` for ``0``."""
    arr = np.asarray(cells, dtype=np.uint64).ravel()
    return np.array([format(c, "x") if c else None for c in arr.tolist()], dtype=object)


def str_to_cells(ids: Iterable[Any]) -> CellArray:
    """``uint64`` cells of h3 string ids; ``0`` for ``None``, NaN or ``""``.

    Raises
    ------
    GeoError
        When a string is not hexadecimal.
    """
    values = list(ids)
    out = np.zeros(len(values), dtype=np.uint64)
    for i, s in enumerate(values):
        if isinstance(s, str) and s:
            try:
                out[i] = int(s, 16)
            except ValueError:
                msg = f"not an H3 cell id: {s!r}"
                raise GeoError(msg) from None
    return out


def as_cells(cells: Iterable[Any] | npt.ArrayLike) -> CellArray:
    """Cells given as integers or as h3 strings, as a ``uint64`` array."""
    values: list[Any]
    if isinstance(cells, np.ndarray):
        if cells.dtype.kind in "iu":
            return cells.astype(np.uint64).ravel()
        values = cells.ravel().tolist()
    elif isinstance(cells, Iterable) and not isinstance(cells, str | bytes):
        values = list(cells)
    else:
        values = [cells]
    if any(isinstance(v, str) for v in values):
        return str_to_cells(values)
    return np.asarray(values, dtype=np.uint64).ravel()


def cells_resolution(cells: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Resolution of each ``uint64`` cell, read from the index bits (no validity check)."""
    arr = np.asarray(cells, dtype=np.uint64)
    return ((arr >> _RES_SHIFT) & _RES_MASK).astype(np.int64)


def _bool_values(col: pd.Series) -> npt.NDArray[np.bool_]:
    """A boolean column as a numpy array; missing values count as ``False``."""
    return col.to_numpy(dtype=bool, na_value=False)


def _group_counts(
    inv: npt.NDArray[np.intp],
    n_cells: int,
    values: pd.Series,
    uncovered: npt.NDArray[np.bool_],
    *,
    prefix: str,
    fixed: Sequence[str] = (),
) -> dict[str, npt.NDArray[np.int64]]:
    """``n_<prefix>_<value>`` and ``uncovered_<prefix>_<value>`` counts per cell."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    order = list(fixed) + sorted(set(labels) - set(fixed))
    pos = {lab: i for i, lab in enumerate(order)}
    # two raw values with the same string form (1 and "1") land in one column
    remap = np.array([pos[lab] for lab in labels] + [-1], dtype=np.int64)
    code = remap[codes]  # -1 (missing) -> remap[-1] == -1
    k = len(order)
    has = code >= 0
    flat = inv[has].astype(np.int64) * k + code[has]
    n_tab = np.bincount(flat, minlength=n_cells * k).reshape(n_cells, k)
    u_tab = np.bincount(flat[uncovered[has]], minlength=n_cells * k).reshape(n_cells, k)
    cols: dict[str, npt.NDArray[np.int64]] = {}
    for i, lab in enumerate(order):
        cols[f"n_{prefix}_{lab}"] = n_tab[:, i].astype(np.int64)
        cols[f"uncovered_{prefix}_{lab}"] = u_tab[:, i].astype(np.int64)
    return cols


def category_columns(hexes: pd.DataFrame) -> list[str]:
    """The per-category count columns (``n_cat_<code>``) of an :func:`aggregate_points` table,
    without any printed-form column (``n_cat_<code>_txt``) added to it later."""
    return [c for c in hexes.columns if c.startswith("n_cat_") and not c.endswith("_txt")]


def aggregate_points(
    frame: pd.DataFrame,
    *,
    res: int,
    category_col: str | None = "category",
    need_type_col: str | None = "need_type",
    cells: npt.ArrayLike | Iterable[Any] | None = None,
) -> pd.DataFrame:
    """Count points and their coverage per H3 cell.

    Points whose ``lon``/``lat`` is missing have no cell and are left out (their number
    is logged); use the point table itself to report them.

    Parameters
    ----------
    frame : DataFrame
        One row per point with at least ``lon``, ``lat`` (WGS-84 degrees) and ``covered``
        (bool; missing counts as not covered). Optional: ``off_network`` (bool), the
        category column and the need-type column.
    res : int
        H3 resolution (7-10).
    category_col, need_type_col : str or None
        Columns whose values get per-cell counts; ignored when ``None`` or absent.
        Missing values are counted in ``n`` but in no per-value column.
    cells : array-like of cells (uint64 or h3 strings), optional
        Cells to report even when no point falls in them (e.g. the district's cells from
        :func:`polygon_to_cells`); they must have resolution ``res``. The output holds the
        union of these and the cells that contain points.

    Returns
    -------
    DataFrame
        One row per cell, sorted by ``h3``, with a fresh ``RangeIndex`` and columns:

        - ``h3`` (str): the cell's h3 id at resolution ``res``;
        - ``n`` (int): points in the cell;
        - ``covered`` (int): points with ``covered`` true;
        - ``uncovered`` (int): ``n - covered`` (off-network points included);
        - ``off_network`` (int): points flagged ``off_network``, only when the input has
          that column (they are a part of ``uncovered``);
        - ``coverage_pct`` (float): ``100 * covered / n``, NaN where ``n == 0``;
        - ``n_cat_<value>``, ``uncovered_cat_<value>`` (int): points and uncovered points
          of each category value (values sorted), when the category column exists;
        - ``n_need_<value>``, ``uncovered_need_<value>`` (int): the same per need type,
          when the need-type column exists; ``survival``, ``care``, ``development`` always
          come first, then any other value found, sorted.

    Raises
    ------
    InputColumnsError
        When ``lon``, ``lat`` or ``covered`` is missing.
    GeoError
        When ``res`` is out of range or ``cells`` holds a cell of another resolution.
    """
    r = check_res(res)
    missing = [c for c in ("lon", "lat", "covered") if c not in frame.columns]
    if missing:
        msg = f"the point table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    cell = latlng_to_cells(lat, lon, r)
    placed = cell != 0
    n_unplaced = int((~placed).sum())
    if n_unplaced:
        log.debug("aggregate_points: %d point(s) without coordinates left out", n_unplaced)
    extra = np.zeros(0, dtype=np.uint64) if cells is None else as_cells(cells)
    extra = extra[extra != 0]
    if extra.size and (cells_resolution(extra) != r).any():
        msg = f"the cells to report must all have resolution {r}"
        raise GeoError(msg)
    uniq = np.unique(np.concatenate([cell[placed], extra]))
    m = int(uniq.shape[0])
    inv = np.searchsorted(uniq, cell[placed])
    covered = _bool_values(frame["covered"])[placed]
    n = np.bincount(inv, minlength=m).astype(np.int64)
    n_cov = np.bincount(inv[covered], minlength=m).astype(np.int64)
    out: dict[str, Any] = {"h3": cells_to_str(uniq), "n": n, "covered": n_cov, "uncovered": n - n_cov}
    if "off_network" in frame.columns:
        off = _bool_values(frame["off_network"])[placed]
        out["off_network"] = np.bincount(inv[off], minlength=m).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage_pct"] = coverage_pct(n_cov, n)
    for col, prefix, fixed in ((category_col, "cat", ()), (need_type_col, "need", NEED_TYPES)):
        if col is not None and col in frame.columns:
            values = frame[col][placed].reset_index(drop=True)
            out.update(_group_counts(inv, m, values, ~covered, prefix=prefix, fixed=fixed))
    return pd.DataFrame(out)


def _ring_latlng(coords: npt.NDArray[np.float64]) -> list[tuple[float, float]]:
    """A shapely ring's (lon, lat) coordinates as h3's open (lat, lng) loop."""
    xy = coords[:, :2]
    if xy.shape[0] > 1 and np.array_equal(xy[0], xy[-1]):
        xy = xy[:-1]
    return list(zip(xy[:, 1].tolist(), xy[:, 0].tolist(), strict=True))


def geometry_to_h3shape(geometry: BaseGeometry) -> h3.H3Shape | None:
    """An h3 ``LatLngPoly`` / ``LatLngMultiPoly`` of a WGS-84 shapely (Multi)Polygon, holes kept.

    Returns ``None`` for an empty geometry.

    Raises
    ------
    GeoError
        When the geometry is not polygonal or its coordinates are not degrees.
    """
    if isinstance(geometry, Polygon):
        parts = [geometry]
    elif isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    else:
        msg = f"a Polygon or MultiPolygon is needed, got {geometry.geom_type}"
        raise GeoError(msg)
    parts = [p for p in parts if not p.is_empty]
    if not parts:
        return None
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        msg = "the polygon's coordinates are not WGS-84 degrees (reproject it to EPSG:4326 first)"
        raise GeoError(msg)
    polys = [
        h3n.LatLngPoly(
            _ring_latlng(np.asarray(p.exterior.coords)), *[_ring_latlng(np.asarray(r.coords)) for r in p.interiors]
        )
        for p in parts
    ]
    return polys[0] if len(polys) == 1 else h3n.LatLngMultiPoly(*polys)


def polygon_to_cells(geometry: BaseGeometry, res: int, *, contain: Contain = "center") -> CellArray:
    """H3 cells of a WGS-84 shapely Polygon or MultiPolygon (a district, a town).

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
        In WGS-84 (lon, lat) degrees; holes are respected.
    res : int
        H3 resolution (7-10).
    contain : {"center", "full", "overlap", "bbox_overlap"}
        Which cells count as inside: those whose centre is inside (the default, a
        partition of the plane: adjacent polygons share no cell), those entirely inside,
        those that overlap it at all, or those whose bounding box overlaps it. The last
        three use h3's ``h3shape_to_cells_experimental``.

    Returns
    -------
    ndarray of uint64
        The cells, sorted, without duplicates (empty for an empty geometry).
    """
    r = check_res(res)
    if contain not in CONTAIN_MODES:
        msg = f"contain must be one of {', '.join(CONTAIN_MODES)}, got {contain!r}"
        raise GeoError(msg)
    shape = geometry_to_h3shape(geometry)
    if shape is None:
        return np.zeros(0, dtype=np.uint64)
    if contain == "center":
        cells = h3n.h3shape_to_cells(shape, r)
    else:
        cells = h3n.h3shape_to_cells_experimental(shape, r, contain)
    return np.unique(np.asarray(cells, dtype=np.uint64))


#: the name used in the project brief; same function
polygon_to_cells_frame = polygon_to_cells


def cells_to_polygons(cells: npt.ArrayLike | Iterable[Any], *, round_deg: int | None = None) -> gpd.GeoDataFrame:
    """Hexagon (or pentagon) polygons of H3 cells, for maps and GIS exports.

    Parameters
    ----------
    cells : array-like of uint64 cells or h3 strings
        Any resolution; ``0`` / ``None`` entries are skipped.
    round_deg : int, optional
        Round the vertex coordinates to this many decimals of a degree (5 is about 1 m)
        to keep a web map's payload small.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326, one row per given cell in input order (fresh ``RangeIndex``), with
        columns ``h3`` (str) and ``geometry`` (Polygon).

    Raises
    ------
    GeoError
        When an entry is not a valid H3 cell.
    """
    arr = as_cells(cells)
    arr = arr[arr != 0]
    ids = arr.tolist()
    bad = [c for c in ids if not h3n.is_valid_cell(c)]
    if bad:
        msg = f"not a valid H3 cell: {format(bad[0], 'x')} ({len(bad)} invalid)"
        raise GeoError(msg)
    if round_deg is not None and not (0 <= round_deg <= 15):
        msg = f"round_deg must be from 0 to 15, got {round_deg}"
        raise GeoError(msg)
    if not ids:
        return gpd.GeoDataFrame({"h3": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([]), crs=STORAGE_CRS)
    bounds = [h3n.cell_to_boundary(c) for c in ids]
    sizes = np.fromiter(map(len, bounds), dtype=np.int64, count=len(bounds))
    latlng = np.array([pt for b in bounds for pt in b], dtype=np.float64)
    xy = latlng[:, ::-1]
    if round_deg is not None:
        xy = np.round(xy, round_deg)
    rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(ids)), sizes))
    return gpd.GeoDataFrame({"h3": cells_to_str(arr).astype(str)}, geometry=shapely.polygons(rings), crs=STORAGE_CRS)
