"""GIS layers of a coverage report: one GeoPackage and one GeoJSON file per layer.

Layers (WGS-84, EPSG:4326; Chinese field names kept, which GeoPackage and GeoJSON store
as UTF-8):

``hexes``
    H3 cells holding beneficiaries: ``H3编号, 所属镇街, 户数, 圈内户数, 圈外户数, 圈内占比,
    隐藏说明`` (Polygon).
``gaps``
    the hexes of the area with households outside the circle, same fields.
``hubs``
    service hubs: ``编号, 名称, 层级, 镇街编码, 社区编码, 服务户数, 隐藏说明`` (Point);
    ``服务户数`` counts the households whose nearest hub within the cutoff it is.
``service_areas``
    each hub's 10-minute service area, DISPLAY ONLY (every figure comes from the
    households' walking distances): ``编号, 名称, 层级, 面积平方公里, 服务户数``
    (Polygon / MultiPolygon).
``recommended_sites``
    the chosen scenario's sites: ``编号, 名称, 层级, 序号, 所在镇街, 最近社区`` and
    ``新增覆盖户数`` when the scenario gives it (Point); empty without a scenario.

A hidden count is NULL (the field stays numeric) and ``隐藏说明`` says which fields are
hidden and how they print (``"圈外户数<10"``). GeoJSON follows RFC 7946 (lon/lat order,
WGS-84, right-hand polygons). No Shapefile is written: its field names are limited to
ten bytes, and GDAL cuts UTF-8 Chinese names into unreadable ones; GeoPackage is read by
every current GIS (QGIS, ArcGIS Pro, MapInfo).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from core.i18n import TIER_ZH
from geo.disclosure import PUBLISHED, PublishedReport
from geo.hexes import cells_to_polygons
from reports.content import LEVEL_TOWN, LEVEL_VILLAGE, tier_zh
from reports.model import Report, Scope, scope_hexes, scope_mask

LAYERS = ("hexes", "gaps", "hubs", "service_areas", "recommended_sites")
HEX_FIELDS = {
    "h3": "H3编号",
    "town_name": "所属镇街",
    "n": "户数",
    "inside": "圈内户数",
    "outside": "圈外户数",
    "pct_inside": "圈内占比",
}
HUB_FIELDS = {
    "hub_id": "编号",
    "name": "名称",
    "tier_zh": "层级",
    "town_code": "镇街编码",
    "community_code": "社区编码",
    "served": "服务户数",
}
SITE_FIELDS = {
    "site_id": "编号",
    "name": "名称",
    "tier_zh": "层级",
    "rank": "序号",
    "town_name": "所在镇街",
    "community_name": "最近社区",
    "new_covered": "新增覆盖户数",
}
NOTE_FIELD = "隐藏说明"
_SYNC = "OGR_SQLITE_SYNCHRONOUS"
#: the layers' coordinate reference system (one object: parsing "EPSG:4326" per layer was slow)
WGS84 = CRS.from_epsg(4326)
#: coordinate grid of the polygon layers (GeoJSON's 7 decimals, about 1 cm)
GRID_DEG = 1e-7
GEOM_TYPES = {
    "hexes": "Polygon",
    "gaps": "Polygon",
    "hubs": "Point",
    "service_areas": "MultiPolygon",
    "recommended_sites": "Point",
}


def _numeric(values: pd.Series) -> Any:
    """Printed counts as a nullable integer column: hidden markers become NULL."""
    return pd.array([v if isinstance(v, int | np.integer) else None for v in values], dtype="Int64")


def _note(printed: pd.DataFrame, fields: dict[str, str], cols: tuple[str, ...]) -> list[str]:
    out = []
    for rec in printed.to_dict("records"):
        hidden = [f"{fields[c]}{rec[c]}" for c in cols if isinstance(rec.get(c), str)]
        out.append("；".join(hidden))
    return out


def _multipolygon(geom: Any) -> Any:
    """A valid MultiPolygon on a 1e-7 degree grid of the polygonal parts; None when empty.

    GeoJSON keeps 7 decimals: snapping first keeps the rounded polygons valid (GDAL would
    otherwise repair them into collections with stray lines). A hub whose every reachable
    street is nearer another hub has no area of its own: its geometry is NULL.
    """
    snapped = shapely.set_precision(geom, GRID_DEG)
    parts = [p for p in shapely.get_parts(snapped) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys) if polys else None


def _frame(data: dict[str, Any], geoms: Any) -> gpd.GeoDataFrame:
    """A layer: the columns of ``data`` and a ``geometry`` column of ``geoms`` (EPSG:4326).

    The geometry goes in as a geometry array: ``GeoDataFrame(data, geometry=list, crs=...)``
    looked up a CRS on the frame it was still building, several times slower.
    """
    arr = gpd.array.from_shapely(np.asarray(geoms, dtype=object), crs=WGS84)
    return gpd.GeoDataFrame({**data, "geometry": arr}, geometry="geometry")


def _hex_polygons(report: Report) -> dict[str, Any]:
    """h3 -> hexagon polygon of every hex of the report, built once."""
    if "hex_polygons" not in report.memo:
        h3 = report.published.tables.hexes["h3"].astype(str).tolist()
        polys = cells_to_polygons(h3).geometry.tolist() if h3 else []
        report.memo["hex_polygons"] = dict(zip(h3, polys, strict=True))
    return report.memo["hex_polygons"]  # type: ignore[no-any-return]


def _hex_layer(report: Report, printed: pd.DataFrame) -> gpd.GeoDataFrame:
    polygons = _hex_polygons(report)
    geom = [polygons[h] for h in printed["h3"].astype(str)]
    data: dict[str, Any] = {
        HEX_FIELDS["h3"]: printed["h3"].astype(str).to_numpy(),
        HEX_FIELDS["town_name"]: printed["town_name"].astype(str).to_numpy(),
    }
    for c in ("n", "inside", "outside"):
        data[HEX_FIELDS[c]] = _numeric(printed[c])
    data[HEX_FIELDS["pct_inside"]] = pd.array(
        [None if v is None else round(float(v), 1) for v in printed["pct_inside"]], dtype="Float64"
    )
    data[NOTE_FIELD] = _note(printed, HEX_FIELDS, ("n", "inside", "outside"))
    return _frame(data, geom)


def scope_layers(report: Report, scope: Scope) -> dict[str, gpd.GeoDataFrame]:
    """The GIS layers of a scope, keyed by layer name (see the module docstring)."""
    key = ("layers", scope)
    if key not in report.memo:
        report.memo[key] = _scope_layers(report, scope)
    return {k: v.copy() for k, v in report.memo[key].items()}


def _hubs(report: Report) -> tuple[pd.DataFrame, pd.Series]:
    """The printed hubs and each one's town code as text (None when unknown), computed once."""
    if "gis_hubs" not in report.memo:
        hubs = report.published.hubs_display()
        town = hubs["town_code"].astype(object).map(lambda v: None if pd.isna(v) else str(v))
        report.memo["gis_hubs"] = (hubs, town)
    hubs, town = report.memo["gis_hubs"]
    return hubs.copy(), town


def _service_area_shapes(report: Report, sa: gpd.GeoDataFrame) -> list[Any]:
    """:func:`_multipolygon` of each hub's service area, computed once per hub."""
    shapes: dict[str, Any] = report.memo.setdefault("gis_service_areas", {})
    out = []
    for hub, g in zip(sa["hub_id"].astype(str), sa.geometry, strict=True):
        if hub not in shapes:
            shapes[hub] = _multipolygon(g)
        out.append(shapes[hub])
    return out


def _scope_layers(report: Report, scope: Scope) -> dict[str, gpd.GeoDataFrame]:
    pub: PublishedReport = report.published
    t = pub.tables
    allh, gaps = scope_hexes(report, scope)
    layers: dict[str, gpd.GeoDataFrame] = {"hexes": _hex_layer(report, allh), "gaps": _hex_layer(report, gaps)}
    hubs, hub_town = _hubs(report)
    if scope.level == LEVEL_TOWN:
        sel = (hub_town == scope.area_id).to_numpy()
    elif scope.level == LEVEL_VILLAGE:
        sel = (hubs["hub_id"].astype(str) == scope.hub_id).to_numpy()
    else:
        sel = np.ones(len(hubs), dtype=bool)
    hubs = hubs[sel].reset_index(drop=True)
    hub_data: dict[str, Any] = {}
    for c, f in HUB_FIELDS.items():
        if c == "served":
            hub_data[f] = _numeric(hubs["served"])
        else:
            hub_data[f] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in hubs[c]]
    hub_data[NOTE_FIELD] = _note(hubs, HUB_FIELDS, ("served",))
    layers["hubs"] = _frame(hub_data, shapely.points(hubs["lon"].to_numpy(float), hubs["lat"].to_numpy(float)))
    sa = report.service_areas
    sa = sa[sa["hub_id"].isin(set(hubs["hub_id"].astype(str)))].reset_index(drop=True)
    served = dict(zip(hubs["hub_id"].astype(str), hubs["served"], strict=True))
    geoms = _service_area_shapes(report, sa)
    layers["service_areas"] = _frame(
        {
            "编号": sa["hub_id"].astype(str).to_numpy(),
            "名称": sa["name"].astype(str).to_numpy(),
            "层级": sa["tier"].map(tier_zh).astype(str).to_numpy(),
            "面积平方公里": np.round(sa["area_km2"].to_numpy(float), 4),
            "服务户数": _numeric(pd.Series([served.get(h) for h in sa["hub_id"].astype(str)], dtype=object)),
        },
        geoms,
    )
    sites = pub.sites_display()
    if len(sites):
        sites = sites[scope_mask(report, scope, t.sites, town_col="town_code", community_col="community_code")]
    sites = sites.reindex(columns=[*sites.columns, *[c for c in ("town_code", "community_code") if c not in sites]])
    names = t.town_names()
    com_names = t.village_names()
    sdata: dict[str, Any] = {
        "编号": [str(v) for v in sites["site_id"]],
        "名称": [str(v) for v in sites["name"]],
        "层级": [TIER_ZH.get(str(v), str(v)) for v in sites["tier"]],
        "序号": pd.array([None if pd.isna(v) else int(v) for v in sites["rank"]], dtype="Int64"),
        "所在镇街": [names.get(str(v), "区外") for v in sites["town_code"]],
        "最近社区": [com_names.get(str(v), "—") for v in sites["community_code"]],
    }
    if "new_covered" in t.sites.columns:
        sdata["新增覆盖户数"] = _numeric(sites["new_covered"])
    pts = shapely.points(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)) if len(sites) else []
    layers["recommended_sites"] = _frame(sdata, pts)
    return layers


def describe(report: Report, scope: Scope) -> str:
    """The text every layer carries as its description: report, month, data set."""
    info = report.tables.info
    return f"{scope.name} 10分钟救助服务圈覆盖报告 · 报告月份 {info.month} · {info.label_zh}"


def write_gpkg(report: Report, scope: Scope, path: Path) -> Path:
    """Write the scope's layers to one GeoPackage (replacing an existing file); returns its path.

    The month is in the dataset metadata (``report_month``) and in every layer's description
    (``gpkg_contents.description``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    month = report.tables.info.month
    text = describe(report, scope)
    # SQLite's fsync after every statement made most of a file's time: the file is written
    # whole and can be written again, so none is needed (restored afterwards)
    before = pyogrio.get_gdal_config_option(_SYNC)
    pyogrio.set_gdal_config_options({_SYNC: "OFF"})
    try:
        for k, (name, gdf) in enumerate(scope_layers(report, scope).items()):
            pyogrio.write_dataframe(
                gdf, path, layer=name, driver="GPKG", geometry_type=GEOM_TYPES[name],
                layer_options={"DESCRIPTION": text},
                dataset_metadata={"report_month": month, "DESCRIPTION": text} if k == 0 else None,
            )  # fmt: skip
    finally:
        pyogrio.set_gdal_config_options({_SYNC: before})
    return path


def write_geojson(report: Report, scope: Scope, folder: Path) -> list[Path]:
    """Write each layer as an RFC 7946 GeoJSON file in ``folder``; returns the paths.

    Each file names its month in the collection's ``description`` member (a foreign member
    RFC 7946 allows; GDAL reads it as the layer's description).
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    text = describe(report, scope)
    for name, gdf in scope_layers(report, scope).items():
        p = folder / f"{name}.geojson"
        if p.exists():
            p.unlink()
        if len(gdf):
            pyogrio.write_dataframe(gdf, p, driver="GeoJSON", layer_options={"RFC7946": "YES", "DESCRIPTION": text})
        else:
            doc = {"type": "FeatureCollection", "name": name, "description": text, "features": []}
            p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        out.append(p)
    return out


__all__ = ["LAYERS", "PUBLISHED", "scope_layers", "write_geojson", "write_gpkg"]
