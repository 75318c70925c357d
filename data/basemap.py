"""Base-map frames read from the real, read-only Xihu files (the interactive map has no tiles).

The interactive map (:mod:`layers.folium_map`) draws its background from the data
itself, so it works on a government network without internet: major roads by class and
residential streets lightly (``roads.geojson``, Geofabrik schema, OpenStreetMap ODbL),
water (``water.geojson``), the district boundary (Vonng/adcode, CC BY 4.0) and the town
cells (``towns_approx_voronoi_NOT_OFFICIAL.geojson``: Voronoi approximations, **not**
official boundaries, flagged ``derived``).

Every geometry is simplified in the metric CRS and its coordinates rounded to
``round_deg`` decimals of a degree (5 = about 1 m), so the whole-district map stays
light. The files are read from ``../shared/data/xihu`` and never copied.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from core.errors import BasemapDataError
from core.settings import STORAGE_CRS
from data.config import XIHU_FILES
from geo.metric import metric_crs_for_frame

log = logging.getLogger(__name__)

#: road classes drawn as major roads (``_link`` ramps join their parent class)
MAJOR_ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary")
#: residential streets, drawn thin and light
MINOR_ROAD_CLASSES = ("residential", "living_street")
ROAD_CLASSES = (*MAJOR_ROAD_CLASSES, "residential")

BASEMAP_FILES = {
    layer: XIHU_FILES[role]
    for layer, role in (("roads", "roads"), ("water", "water"), ("district", "district"), ("towns", "town_cells"))
}


def _read(path: Path) -> gpd.GeoDataFrame:
    import pyogrio

    if not path.is_file():
        msg = f"base-map file not found: {path} (the base map needs the files of ../shared/data/xihu)"
        raise BasemapDataError(msg)
    try:
        gdf = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        msg = f"cannot read the base-map file {path.name}: {exc}"
        raise BasemapDataError(msg) from exc
    if gdf.crs is None:
        gdf = gdf.set_crs(STORAGE_CRS)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(STORAGE_CRS)
    return gdf


def road_class(fclass: pd.Series) -> pd.Series:
    """Display class of Geofabrik ``fclass`` values: a :data:`ROAD_CLASSES` value or NA.

    ``motorway_link`` and the other ramps join their parent class; ``living_street``
    joins ``residential``; every other class (service, footway ...) is not drawn.
    """
    base = fclass.astype("string").str.removesuffix("_link")
    out = base.where(base.isin(MAJOR_ROAD_CLASSES))
    return out.mask(fclass.astype("string").isin(MINOR_ROAD_CLASSES), "residential")


def lighten(
    gdf: gpd.GeoDataFrame,
    *,
    simplify_m: float | None,
    round_deg: int | None,
    metric_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Simplify (topology kept) in ``metric_crs`` and round coordinates to ``round_deg`` decimals.

    Parameters
    ----------
    gdf : GeoDataFrame in any CRS.
    simplify_m : Douglas-Peucker tolerance in metres, or None / 0 to keep every vertex.
    round_deg : decimals of a degree to keep, or None.
    metric_crs : projected CRS (metres) for the simplification; by default the UTM zone of
        the frame's centre (:mod:`geo.metric`).

    Returns
    -------
    GeoDataFrame
        In EPSG:4326, same columns and index; rows whose geometry became empty dropped.
    """
    if simplify_m and metric_crs is None and len(gdf):
        metric_crs = metric_crs_for_frame(gdf)
    out = gdf.to_crs(metric_crs) if simplify_m and metric_crs else gdf.to_crs(STORAGE_CRS)
    geoms = out.geometry.to_numpy()
    if simplify_m and metric_crs:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=metric_crs)).to_crs(STORAGE_CRS)
        geoms = out.geometry.to_numpy()
    if round_deg is not None:
        # GEOS snaps to the grid as round(v * 10^k) / 10^k: the floats print with <= k decimals
        geoms = shapely.set_precision(geoms, 10.0**-round_deg)
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=STORAGE_CRS))
    return out[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


def basemap_frames_from_shared(
    xihu_dir: Path | str,
    *,
    simplify_m: float = 8.0,
    round_deg: int = 5,
    min_water_m2: float = 5_000.0,
    clip_buffer_m: float = 500.0,
    metric_crs: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """The base-map layers of Xihu, light enough for a whole-district web map.

    Parameters
    ----------
    xihu_dir : Path
        The ``../shared/data/xihu`` folder (read-only).
    simplify_m : float
        Douglas-Peucker tolerance in metres, topology kept.
    round_deg : int
        Decimals of a degree kept in every coordinate (5 = about 1 m).
    min_water_m2 : float
        Water polygons smaller than this (ponds) are left out.
    clip_buffer_m : float
        Roads and water are clipped to the district boundary buffered by this much.
    metric_crs : str, optional
        Projected CRS for simplification, areas and buffers; by default the UTM zone of the
        district's centre (:mod:`geo.metric`; UTM 51N, EPSG:32651, for Xihu).

    Returns
    -------
    dict of str to GeoDataFrame, all in EPSG:4326
        ``"roads"``: ``road_class`` (one of :data:`ROAD_CLASSES`), LineString /
        MultiLineString; ``"water"``: ``name``, (Multi)Polygon; ``"district"``: ``name``,
        (Multi)Polygon; ``"towns"``: ``town_code``, ``name``, ``derived`` (True: not an
        official boundary), Polygon.

    Raises
    ------
    BasemapDataError
        When a file is missing or unreadable.
    """
    root = Path(xihu_dir)
    raw = {k: _read(root / f) for k, f in BASEMAP_FILES.items()}
    district = raw["district"]
    name_col = "name" if "name" in district.columns else None
    district_out = gpd.GeoDataFrame(
        {"name": district[name_col].astype(str) if name_col else pd.Series(["西湖区"] * len(district))},
        geometry=district.geometry.to_numpy(),
        crs=STORAGE_CRS,
    )
    metric_crs = metric_crs or metric_crs_for_frame(district)
    clip_geom: Any = district.to_crs(metric_crs).geometry.union_all().buffer(clip_buffer_m)

    roads = raw["roads"]
    cls = road_class(roads["fclass"]) if "fclass" in roads.columns else pd.Series(pd.NA, index=roads.index)
    keep = cls.notna().to_numpy()
    roads_m = gpd.GeoDataFrame(
        {"road_class": cls[keep].astype(str).to_numpy()},
        geometry=roads.geometry[keep].to_crs(metric_crs).to_numpy(),
        crs=metric_crs,
    )
    roads_m = roads_m[roads_m.geometry.intersects(clip_geom)]
    roads_m = roads_m.set_geometry(roads_m.geometry.intersection(clip_geom))

    water = raw["water"]
    water_m = gpd.GeoDataFrame(
        {"name": water["name"].astype("string").fillna("").to_numpy() if "name" in water.columns else ""},
        geometry=water.geometry.to_crs(metric_crs).to_numpy(),
        crs=metric_crs,
    )
    water_m = water_m[water_m.geometry.intersects(clip_geom)]
    water_m = water_m.set_geometry(water_m.geometry.intersection(clip_geom))
    water_m = water_m[water_m.geometry.area >= min_water_m2]

    towns = raw["towns"]
    towns_out = gpd.GeoDataFrame(
        {
            "town_code": towns["code"].astype(str).to_numpy() if "code" in towns.columns else "",
            "name": towns["name"].astype(str).to_numpy() if "name" in towns.columns else "",
            "derived": np.ones(len(towns), dtype=bool),
        },
        geometry=towns.geometry.to_numpy(),
        crs=STORAGE_CRS,
    )

    def light(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return lighten(g, simplify_m=simplify_m, round_deg=round_deg, metric_crs=metric_crs).reset_index(drop=True)

    frames = {
        "roads": light(roads_m),
        "water": light(water_m),
        "district": light(district_out),
        "towns": light(towns_out),
    }
    log.debug("base map: %s", {k: len(v) for k, v in frames.items()})
    return frames


def named_roads(path: Path) -> gpd.GeoDataFrame:
    """The named road lines of a road layer (``name`` + geometry, WGS-84), for labelling sites.

    Parameters
    ----------
    path : Path
        A road-line layer with a ``name`` column (e.g. ``xihu/roads.geojson``).

    Returns
    -------
    GeoDataFrame with ``name`` (str) and LineString geometry in EPSG:4326.
    """
    gdf = _read(Path(path))
    if "name" not in gdf.columns:
        msg = f"{Path(path).name} has no 'name' column"
        raise BasemapDataError(msg)
    named = gdf[gdf["name"].notna() & (gdf["name"].astype(str).str.strip() != "")]
    return named[["name", "geometry"]].reset_index(drop=True)
