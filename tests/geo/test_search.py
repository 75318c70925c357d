"""Provider search on the 100 m lattice (answers by arithmetic) and on the Xihu demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from core.errors import InputColumnsError, ProviderSearchError
from core.settings import Settings
from core.vocab import DEFAULT_CATALOGUE
from geo.graph import WalkNetwork, great_circle_m
from geo.search import (
    RESULT_COLUMNS,
    ProviderSearch,
    catalogue_from_vocab,
    normalise_text,
    offers_from_providers,
    search_providers,
)
from geo.snap import Snapper
from tests.conftest import Demo

N = 20  # conftest lattice: 20 x 20, node i * N + j, every edge 100 m


def lonlat_near(net: WalkNetwork, i: int, j: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    to_wgs = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(net.node_x[i * N + j] + dx, net.node_y[i * N + j] + dy)
    return float(lon), float(lat)


@pytest.fixture(scope="module")
def index(lattice_net: WalkNetwork) -> ProviderSearch:
    providers = pd.DataFrame(
        [
            ("A", "西湖助餐中心", *lonlat_near(lattice_net, 5, 7)),  # 200 m from (5, 5)
            ("B", "阳光社工站", *lonlat_near(lattice_net, 8, 5, 6.0, 8.0)),  # 300 m + 10 m access leg
            ("C", "远方慈善基地", *lonlat_near(lattice_net, 12, 12)),  # 1,400 m: out of reach
            ("D", "Sunshine Care", *lonlat_near(lattice_net, 5, 4)),  # 100 m
            ("E", "离网机构", *lonlat_near(lattice_net, 5, 0, -350.0, 0.0)),  # 350 m off the network, 850 m walk
        ],
        columns=["provider_id", "name", "lon", "lat"],
    )
    offers = pd.DataFrame(
        [
            ("A", "S06", 10, 10),  # 助餐送餐, fully used
            ("A", "C01", 5, 1),
            ("B", "C01", 8, 0),
            ("B", "C02", 6, 2),
            ("C", "S06", 20, 0),
            ("D", "D02", 3, 1),
            ("E", "S06", 9, 0),
        ],
        columns=["provider_id", "item_id", "capacity_per_month", "used"],
    )
    return ProviderSearch(offers, providers, catalogue_from_vocab(), snapper=Snapper(lattice_net), settings=Settings())


def _rows(frame: pd.DataFrame) -> list[tuple[str, str, float]]:
    return [(p, i, w) for p, i, w in frame[["provider_id", "item_id", "walk_m"]].itertuples(index=False)]


def test_catalogue_from_vocab_has_every_item_with_aliases() -> None:
    cat = catalogue_from_vocab()
    assert cat.columns.tolist() == ["item_id", "name", "need_type", "aliases"]
    assert cat["item_id"].tolist() == [s.code for s in DEFAULT_CATALOGUE]
    s01 = cat.set_index("item_id").loc["S01"]
    assert s01["name"] == "低保金/兜底保障"
    assert s01["aliases"].split(";") == ["Subsistence allowance", "低保金", "兜底保障"]
    assert normalise_text("  ＭＥＡＬ Help ") == "meal help"  # full-width folds to half-width, case-folded


def test_everything_within_ten_minutes_nearest_first(lattice_net: WalkNetwork, index: ProviderSearch) -> None:
    res = index.search(*lonlat_near(lattice_net, 5, 5))
    assert res.columns.tolist() == list(RESULT_COLUMNS)
    assert _rows(res) == [
        ("D", "D02", 100.0),
        ("A", "C01", 200.0),
        ("A", "S06", 200.0),
        ("B", "C01", 310.0),
        ("B", "C02", 310.0),
    ]  # C is 1,400 m away; E is off the network and never listed
    assert res["walk_min"].tolist() == [round(m / 75.0, 2) for m in res["walk_m"]]  # 4.5 km/h = 75 m/min
    assert res["item_name"].tolist() == ["技能培训", "心理咨询", "助餐送餐", "心理咨询", "情绪支持/陪伴"]
    assert res["capacity_per_month"].tolist() == [3, 5, 10, 8, 6]
    assert res["remaining"].tolist() == [2, 4, 0, 8, 4]
    assert index.n_unplaced == 1


def test_point_access_leg_counts_and_minutes_bound(lattice_net: WalkNetwork, index: ProviderSearch) -> None:
    # 30 m off node (5, 5): every walk grows by 30 m
    res = index.search(*lonlat_near(lattice_net, 5, 5, 0.0, -30.0), minutes=3.0)  # 225 m
    assert _rows(res) == [("D", "D02", 130.0)]  # A at 230 m is beyond 225 m
    res = index.search(*lonlat_near(lattice_net, 5, 5, 0.0, -30.0), minutes=230 / 75)
    assert [r[0] for r in _rows(res)] == ["D", "A", "A"]  # exactly at the bound is within


def test_search_by_item_keyword_and_capacity(lattice_net: WalkNetwork, index: ProviderSearch) -> None:
    here = lonlat_near(lattice_net, 5, 5)
    assert _rows(index.search(*here, item_id="C01")) == [("A", "C01", 200.0), ("B", "C01", 310.0)]
    assert _rows(index.search(*here, item_id=["C02", "D02"])) == [("D", "D02", 100.0), ("B", "C02", 310.0)]
    assert _rows(index.search(*here, keyword="心理")) == [("A", "C01", 200.0), ("B", "C01", 310.0)]  # item name
    # "西湖助餐中心" matches by its name: all its offers are listed
    assert _rows(index.search(*here, keyword="助餐")) == [("A", "C01", 200.0), ("A", "S06", 200.0)]
    assert _rows(index.search(*here, keyword="MEAL")) == [("A", "S06", 200.0)]  # English alias, any case
    assert _rows(index.search(*here, keyword="sunshine")) == [("D", "D02", 100.0)]  # provider name, any case
    assert [r[0] for r in _rows(index.search(*here, keyword="社工"))] == ["B", "B"]
    assert _rows(index.search(*here, keyword="s06", with_capacity=True)) == []  # A's meals are used up
    assert _rows(index.search(*here, keyword="s06", minutes=30)) == [("A", "S06", 200.0), ("C", "S06", 1400.0)]
    assert index.search(*here, keyword="没有这种服务").empty
    assert index.search(*here, keyword="没有这种服务").columns.tolist() == list(RESULT_COLUMNS)


def test_search_errors_say_what_to_do(lattice_net: WalkNetwork, index: ProviderSearch) -> None:
    here = lonlat_near(lattice_net, 5, 5)
    with pytest.raises(ProviderSearchError, match="unknown service item"):
        index.search(*here, item_id="X99")
    with pytest.raises(ProviderSearchError, match="minutes must be a positive"):
        index.search(*here, minutes=0)
    with pytest.raises(ProviderSearchError, match="pick a point nearer a street"):
        index.search(*lonlat_near(lattice_net, 0, 0, -1000.0, 0.0))
    with pytest.raises(ProviderSearchError, match="no valid coordinates"):
        index.search(float("nan"), 30.0)
    with pytest.raises(InputColumnsError, match="capacity_per_month"):
        ProviderSearch(
            pd.DataFrame({"provider_id": ["A"], "item_id": ["S06"]}),
            pd.DataFrame({"provider_id": ["A"], "name": ["x"], "lon": [here[0]], "lat": [here[1]]}),
            catalogue_from_vocab(),
            snapper=Snapper(lattice_net),
            settings=Settings(),
        )


def test_offers_from_todays_provider_table() -> None:
    providers = pd.DataFrame({"provider_id": ["P1", "P2"], "services": ["S01;C03", ""], "capacity_month": [40, 10]})
    offers = offers_from_providers(providers)
    assert offers.to_dict("records") == [
        {"provider_id": "P1", "item_id": "S01", "capacity_per_month": 40},
        {"provider_id": "P1", "item_id": "C03", "capacity_per_month": 40},
    ]


@pytest.mark.xihu
def test_search_on_the_xihu_demo_equals_scipy_dijkstra(demo: Demo) -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    settings = Settings()
    providers = demo.bundle.providers
    hubs = demo.bundle.hubs
    # the hub with the most providers within 1 km as the crow flies
    near = great_circle_m(
        hubs["lon"].to_numpy()[:, None], hubs["lat"].to_numpy()[:, None], providers["lon"], providers["lat"]
    )
    hub = hubs.iloc[int(np.argmax((near <= 1000.0).sum(axis=1)))]
    res = search_providers(
        offers_from_providers(providers),
        providers,
        catalogue_from_vocab(),
        snapper=demo.snapper,
        settings=settings,
        lon=float(hub["lon"]),
        lat=float(hub["lat"]),
        minutes=20,
    )
    assert res["provider_id"].nunique() >= 3
    assert res["walk_m"].is_monotonic_increasing
    assert (res["walk_m"] <= 1500.0).all()
    # every provider's walk by scipy from the hub's vertex, plus both access legs
    net = demo.snapper.network
    g = csr_matrix((net.weight_cm.astype(np.float64), net.indices, net.indptr), shape=(net.n_nodes, net.n_nodes))
    sh = demo.snapper.snap([hub["lon"]], [hub["lat"]])
    d = dijkstra(g, indices=int(sh.node[0]))
    sp = demo.snapper.snap(providers["lon"], providers["lat"])
    on = sp.access_m <= settings.max_access_m
    walk = (d[sp.node] + sp.access_cm + sh.access_cm[0]) / 100.0
    within = providers.loc[on & (walk <= 1500.0), "provider_id"].astype(str)
    expect = dict(zip(providers["provider_id"].astype(str), np.round(walk, 2), strict=True))
    assert set(res["provider_id"]) == set(within) - set(
        providers.loc[providers["services"].fillna("") == "", "provider_id"].astype(str)
    )
    for pid, w in res[["provider_id", "walk_m"]].drop_duplicates().itertuples(index=False):
        assert w == pytest.approx(expect[pid], abs=0.006)
