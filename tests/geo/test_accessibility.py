"""E2SFCA: a case computed by hand, PySAL ``access`` on the same cost table, the lattice network, Xihu."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from core.errors import AccessibilityError, InputColumnsError
from core.settings import Settings
from geo.accessibility import (
    DEFAULT_ZONES,
    accessibility_from_network,
    cost_table_from_network,
    decay_weights,
    e2sfca,
    e2sfca_by_group,
    hex_demand,
    zone_bounds_m,
)
from geo.graph import WalkNetwork
from geo.snap import Snapper

N = 20  # conftest lattice: 20 x 20, node i * N + j, every edge 100 m


def lonlat_near(net: WalkNetwork, i: int, j: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    to_wgs = Transformer.from_crs(net.metric_crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(net.node_x[i * N + j] + dx, net.node_y[i * N + j] + dy)
    return float(lon), float(lat)


def test_decay_weights_step_at_thirds_upper_bound_included() -> None:
    assert zone_bounds_m(300.0) == {100.0: 1.0, 200.0: 0.68, 300.0: 0.22}
    w = decay_weights([0.0, 100.0, 100.01, 200.0, 250.0, 300.0, 300.01], 300.0)
    np.testing.assert_array_equal(w, [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0])
    custom = decay_weights([10.0, 60.0], 100.0, zones=((0.5, 1.0), (1.0, 0.5)))
    np.testing.assert_array_equal(custom, [1.0, 0.5])
    with pytest.raises(AccessibilityError, match="fractions increasing to 1"):
        decay_weights([1.0], 100.0, zones=((0.5, 1.0), (0.9, 0.5)))


def _hand_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    costs = pd.DataFrame(
        [
            ("a", "P", 50.0),  # w 1.00
            ("b", "P", 250.0),  # w 0.22
            ("a", "Q", 150.0),  # w 0.68
            ("b", "Q", 100.0),  # w 1.00 (upper bound of the first zone)
            ("a", "R", 400.0),  # beyond the 300 m catchment: ignored
        ],
        columns=["origin_id", "dest_id", "cost_m"],
    )
    supply = pd.DataFrame({"dest_id": ["P", "Q", "R"], "supply": [6.0, 3.0, 5.0]})
    demand = pd.DataFrame({"origin_id": ["a", "b", "c"], "demand": [10.0, 20.0, 5.0]})
    return costs, supply, demand


def test_e2sfca_by_hand() -> None:
    costs, supply, demand = _hand_tables()
    res = e2sfca(costs, supply, demand, catchment_m=300.0)
    r_p = 6.0 / (10 * 1.0 + 20 * 0.22)
    r_q = 3.0 / (10 * 0.68 + 20 * 1.0)
    assert res.ratios.columns.tolist() == ["dest_id", "supply", "weighted_demand", "ratio"]
    assert res.ratios["dest_id"].tolist() == ["P", "Q", "R"]
    np.testing.assert_allclose(res.ratios["weighted_demand"], [14.4, 26.8, 0.0], rtol=1e-15)
    np.testing.assert_allclose(res.ratios["ratio"][:2], [r_p, r_q], rtol=1e-15)
    assert np.isnan(res.ratios["ratio"].iloc[2])  # R reaches nobody: undefined, contributes nothing
    assert res.access.columns.tolist() == ["origin_id", "demand", "accessibility", "n_dest"]
    assert res.access["origin_id"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(res.access["accessibility"], [r_p + 0.68 * r_q, 0.22 * r_p + r_q, 0.0], rtol=1e-15)
    assert res.access["n_dest"].tolist() == [2, 2, 0]
    # capacity is conserved: demand-weighted accessibility sums to the supply that reaches anyone
    # (with one zone of weight 1, i.e. plain 2SFCA)
    flat = e2sfca(costs, supply, demand, catchment_m=300.0, zones=((1.0, 1.0),))
    assert float((flat.access["demand"] * flat.access["accessibility"]).sum()) == pytest.approx(9.0)


def test_e2sfca_rejects_unknown_ids_and_negative_values() -> None:
    costs, supply, demand = _hand_tables()
    with pytest.raises(AccessibilityError, match=r"origin_id\(s\) missing from the demand table: a"):
        e2sfca(costs, supply, demand[demand["origin_id"] != "a"], catchment_m=300.0)
    with pytest.raises(AccessibilityError, match="supply must be finite and >= 0"):
        e2sfca(costs, supply.assign(supply=[6.0, -1.0, 5.0]), demand, catchment_m=300.0)
    with pytest.raises(AccessibilityError, match="duplicate dest_id"):
        e2sfca(costs, pd.concat([supply, supply]), demand, catchment_m=300.0)
    with pytest.raises(InputColumnsError, match="cost_m"):
        e2sfca(costs.drop(columns="cost_m"), supply, demand, catchment_m=300.0)


def _random_tables(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float]:
    rng = np.random.default_rng(seed)
    n_o, n_d, catch = 60, 15, 750.0
    o = [f"h{i}" for i in range(n_o)]
    d = [f"p{j}" for j in range(n_d)]
    pairs = [(a, b) for a in o for b in d if rng.random() < 0.4]
    costs = pd.DataFrame(pairs, columns=["origin_id", "dest_id"])
    costs["cost_m"] = np.round(rng.uniform(0.0, 1.2 * catch, len(costs)), 2)  # some beyond the catchment
    costs.loc[::17, "cost_m"] = 250.0  # exactly on a zone bound
    supply = pd.DataFrame({"dest_id": d, "supply": rng.integers(5, 60, n_d).astype(float)})
    demand = pd.DataFrame({"origin_id": o, "demand": rng.integers(1, 40, n_o).astype(float)})
    return costs, supply, demand, catch


@pytest.mark.parametrize("seed", [1, 2, 3])
# PySAL access 1.1.10 calls set_index(inplace=True), deprecated in pandas 3.1: theirs, not ours
@pytest.mark.filterwarnings("ignore:The inplace keyword:pandas.errors.Pandas4Warning")
def test_e2sfca_equals_pysal_access(seed: int) -> None:
    from access import Access, fca, weights

    costs, supply, demand, catch = _random_tables(seed)
    res = e2sfca(costs, supply, demand, catchment_m=catch)
    fn = weights.step_fn(zone_bounds_m(catch, DEFAULT_ZONES))
    acc = Access(
        demand_df=demand,
        demand_index="origin_id",
        demand_value="demand",
        supply_df=supply,
        supply_index="dest_id",
        supply_value="supply",
        cost_df=costs,
        cost_origin="origin_id",
        cost_dest="dest_id",
        cost_name="cost_m",
    )
    theirs = acc.enhanced_two_stage_fca(name="e2sfca", max_cost=catch, weight_fn=fn)["e2sfca_supply"]
    ours = res.access.set_index("origin_id")["accessibility"]
    assert (theirs.isna() == (res.access.set_index("origin_id")["n_dest"] == 0).reindex(theirs.index)).all()
    pd.testing.assert_series_equal(
        ours.reindex(theirs.index), theirs.fillna(0.0), check_names=False, rtol=1e-12, atol=0.0
    )
    # the ratios: PySAL's own first step (weighted demand per destination), then supply / it
    wd = fca.weighted_catchment(
        demand.set_index("origin_id"),
        costs,
        catch,
        cost_source="origin_id",
        cost_dest="dest_id",
        cost_cost="cost_m",
        loc_index=True,
        loc_value="demand",
        weight_fn=fn,
    )
    ratio_theirs = supply.set_index("dest_id")["supply"].reindex(wd.index) / wd
    ratio_ours = res.ratios.set_index("dest_id")["ratio"].reindex(wd.index)
    pd.testing.assert_series_equal(ratio_ours, ratio_theirs, check_names=False, rtol=1e-12, atol=0.0)


def test_e2sfca_by_group_runs_each_group_on_its_own_supply() -> None:
    costs, supply, demand = _hand_tables()
    sup = pd.DataFrame({"dest_id": ["P", "Q", "Q"], "group": ["care", "care", "survival"], "supply": [6.0, 3.0, 4.0]})
    res = e2sfca_by_group(costs, sup, demand, catchment_m=300.0)
    assert res.access.columns.tolist() == ["group", "origin_id", "demand", "accessibility", "n_dest"]
    care = res.access[res.access["group"] == "care"]["accessibility"].to_numpy()
    expect = e2sfca(costs, supply.iloc[:2], demand, catchment_m=300.0).access["accessibility"].to_numpy()
    np.testing.assert_allclose(care, expect, rtol=1e-15)
    surv = res.access[res.access["group"] == "survival"]["accessibility"].to_numpy()
    r_q = 4.0 / (10 * 0.68 + 20 * 1.0)
    np.testing.assert_allclose(surv, [0.68 * r_q, r_q, 0.0], rtol=1e-15)
    # demand per group: a group nobody needs in b leaves Q's whole capacity to a
    dem_g = pd.DataFrame({"origin_id": ["a", "b", "c"], "group": ["survival", "care", "care"], "demand": [10.0, 20, 5]})
    res_g = e2sfca_by_group(costs, sup, dem_g, catchment_m=300.0)
    surv_g = res_g.ratios[res_g.ratios["group"] == "survival"]
    assert surv_g["dest_id"].tolist() == ["Q"]
    assert surv_g["weighted_demand"].tolist() == [pytest.approx(6.8)]
    assert res.ratios[res.ratios["group"] == "care"]["dest_id"].tolist() == ["P", "Q"]
    with pytest.raises(AccessibilityError, match=r"duplicate \(dest_id, group\)"):
        e2sfca_by_group(costs, pd.concat([sup, sup]), demand, catchment_m=300.0)


def test_cost_table_on_the_lattice_is_access_plus_network_plus_access(lattice_net: WalkNetwork) -> None:
    snapper = Snapper(lattice_net)
    origins = pd.DataFrame(
        [("o1", *lonlat_near(lattice_net, 5, 5, 3.0, 4.0)), ("o2", *lonlat_near(lattice_net, 9, 9)),
         ("far", *lonlat_near(lattice_net, 19, 19)), ("off", *lonlat_near(lattice_net, 0, 0, -400.0, 0.0))],
        columns=["origin_id", "lon", "lat"],
    )  # fmt: skip
    dests = pd.DataFrame(
        [("P", *lonlat_near(lattice_net, 5, 7, 0.0, 6.0)), ("Q", *lonlat_near(lattice_net, 5, 7, 0.0, 6.0)),
         ("R", *lonlat_near(lattice_net, 8, 9))],
        columns=["dest_id", "lon", "lat"],
    )  # fmt: skip
    costs = cost_table_from_network(snapper, origins, dests, catchment_m=750.0, max_access_m=300.0)
    got = {(o, d): c for o, d, c in costs.itertuples(index=False)}
    assert got == pytest.approx(
        {
            ("o1", "P"): 5 + 200 + 6,
            ("o1", "Q"): 5 + 200 + 6,
            ("o2", "P"): 0 + 600 + 6,
            ("o2", "Q"): 0 + 600 + 6,
            ("o1", "R"): 5 + 700 + 0,
            ("o2", "R"): 0 + 100 + 0,
        }
    )  # "far" is 2000 m away, "off" 400 m off the network: no pair


def test_accessibility_from_network_on_the_lattice(lattice_net: WalkNetwork) -> None:
    snapper = Snapper(lattice_net)
    settings = Settings(h3_res=10)
    hh = pd.DataFrame([lonlat_near(lattice_net, 5, 5)] * 3 + [lonlat_near(lattice_net, 12, 12)], columns=["lon", "lat"])
    sup = pd.DataFrame(
        [("P", *lonlat_near(lattice_net, 5, 6), "survival", 12.0), ("P", *lonlat_near(lattice_net, 5, 6), "care", 2.0)],
        columns=["provider_id", "lon", "lat", "group", "supply"],
    )
    res, costs = accessibility_from_network(snapper, hh, sup, settings=settings)
    demand = hex_demand(hh, res=10)
    assert sorted(demand["demand"].tolist()) == [1.0, 3.0]
    assert set(costs["dest_id"]) == {"P"} and len(costs) == 1  # only the hex at (5, 5) is within 750 m
    near = costs["origin_id"].iloc[0]
    acc = res.access.set_index(["group", "origin_id"])["accessibility"]
    # one provider, one hex in reach: the whole capacity per household of that hex
    assert acc[("survival", near)] == pytest.approx(12.0 / 3.0)
    assert acc[("care", near)] == pytest.approx(2.0 / 3.0)
    assert (acc.drop(index=near, level="origin_id") == 0.0).all()


def test_hex_demand_counts_per_cell_and_places_the_origin(lattice_net: WalkNetwork) -> None:
    pts = pd.DataFrame(
        [(*lonlat_near(lattice_net, 5, 5, dx, 0.0), g) for dx, g in ((0.0, "care"), (4.0, "care"), (8.0, "survival"))]
        + [(np.nan, np.nan, "care")],
        columns=["lon", "lat", "group"],
    )
    per_cell = hex_demand(pts, res=9)
    assert per_cell.columns.tolist() == ["origin_id", "demand", "lon", "lat"]
    assert per_cell["demand"].tolist() == [3.0]  # the row without coordinates is left out
    assert per_cell["lon"].iloc[0] == pytest.approx(lonlat_near(lattice_net, 5, 5, 4.0, 0.0)[0], abs=1e-9)
    cell = hex_demand(pts, res=9, location="cell")
    lat, lon = h3.cell_to_latlng(per_cell["origin_id"].iloc[0])
    assert (cell["lon"].iloc[0], cell["lat"].iloc[0]) == (pytest.approx(lon), pytest.approx(lat))
    grouped = hex_demand(pts, res=9, group_col="group")
    assert grouped[["group", "demand"]].values.tolist() == [["care", 2.0], ["survival", 1.0]]
    assert grouped["lon"].nunique() == 1  # one origin point per cell, whatever the group
    with pytest.raises(AccessibilityError, match="location"):
        hex_demand(pts, res=9, location="centroid")  # type: ignore[arg-type]


def test_cost_table_refuses_duplicate_ids(lattice_net: WalkNetwork) -> None:
    here = lonlat_near(lattice_net, 5, 5)
    pts = pd.DataFrame([("x", *here), ("x", *here)], columns=["dest_id", "lon", "lat"])
    with pytest.raises(AccessibilityError, match="duplicate dest_id: x"):
        cost_table_from_network(
            Snapper(lattice_net), pts.rename(columns={"dest_id": "origin_id"}).iloc[:1], pts, catchment_m=750.0,
            max_access_m=300.0,
        )  # fmt: skip


@pytest.mark.xihu
def test_cost_table_on_xihu_equals_scipy_dijkstra(xihu_net: WalkNetwork) -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    net = xihu_net
    rng = np.random.default_rng(7)
    pick = rng.choice(net.n_nodes, 400, replace=False)
    origins = pd.DataFrame(
        {"origin_id": np.arange(300), "lon": net.node_lon[pick[:300]], "lat": net.node_lat[pick[:300]]}
    )
    dests = pd.DataFrame({"dest_id": np.arange(100), "lon": net.node_lon[pick[300:]], "lat": net.node_lat[pick[300:]]})
    snapper = Snapper(net)
    costs = cost_table_from_network(snapper, origins, dests, catchment_m=2_000.0, max_access_m=300.0)
    sn_o = snapper.snap(origins["lon"], origins["lat"])
    sn_d = snapper.snap(dests["lon"], dests["lat"])
    g = csr_matrix((net.weight_cm.astype(np.float64), net.indices, net.indptr), shape=(net.n_nodes, net.n_nodes))
    d = dijkstra(g, indices=sn_d.node, limit=200_000.0)[:, sn_o.node]
    cm = d + sn_d.access_cm[:, None] + sn_o.access_cm[None, :]
    di, oi = np.nonzero(cm <= 200_000)
    expect = pd.DataFrame({"origin_id": oi, "dest_id": di, "cost_m": cm[di, oi] / 100.0})
    expect = expect.sort_values(["dest_id", "origin_id"]).reset_index(drop=True)
    assert len(expect) > 100
    pd.testing.assert_frame_equal(costs, expect, check_dtype=False)
