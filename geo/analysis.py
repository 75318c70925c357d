"""One coverage run: hubs + beneficiaries on a network -> tidy frames every consumer shares.

Pages, reports and the planner all call :func:`coverage_run`, so the figures on the map,
in the XLSX/PDF and in the planner's baseline are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import HubError
from core.settings import Settings
from geo.coverage import HubSet, engine_for_hubs, hubs_from_frame, point_coverage
from geo.engine import CoverageEngine, nearest_hub_cm
from geo.figures import coverage_pct
from geo.hexes import aggregate_points
from geo.snap import Snapper


@dataclass(frozen=True, eq=False)
class CoverageRun:
    """The result of one coverage computation.

    Attributes
    ----------
    settings : the Settings used (minutes, speed, H3 resolution ...).
    points : the input beneficiaries (all their columns, input order) plus ``node``,
        ``access_m``, ``hub_id`` (nearest hub within the cutoff or None), ``walk_m``,
        ``walk_min`` (NaN beyond the cutoff), ``covered``, ``off_network``, ``status``.
    hubs : the input hubs plus ``slot`` (engine slot), ``node``, ``hub_access_m`` and
        ``served`` (beneficiaries whose nearest hub within the cutoff is this hub).
    hexes : :func:`geo.hexes.aggregate_points` of ``points`` at ``settings.h3_res``.
    engine : the CoverageEngine (node distances) — private to this run; copy before editing.
    hubset : the snapped hubs (ids, nodes, access legs).
    """

    settings: Settings
    points: pd.DataFrame
    hubs: pd.DataFrame
    hexes: pd.DataFrame
    engine: CoverageEngine
    hubset: HubSet

    @property
    def n_covered(self) -> int:
        return int(self.points["covered"].sum())

    @property
    def coverage_pct(self) -> float:
        n = len(self.points)
        return coverage_pct(self.n_covered, n)


#: the hubs of a run on the network and their engine: they depend on the hubs and settings only,
#: so every area's run of one dataset can share one (see ``coverage_run(..., base=)``)
HubEngine = tuple[HubSet, CoverageEngine]


def hub_engine(snapper: Snapper, hubs: pd.DataFrame, settings: Settings) -> HubEngine:
    """``hubs`` snapped onto the network and searched up to the settings' cutoff."""
    hubset = hubs_from_frame(hubs, snapper)
    return hubset, engine_for_hubs(snapper, hubset, settings)


def coverage_run(
    snapper: Snapper,
    hubs: pd.DataFrame,
    beneficiaries: pd.DataFrame,
    settings: Settings,
    *,
    base: HubEngine | None = None,
) -> CoverageRun:
    """Compute the coverage of ``beneficiaries`` by ``hubs`` (both with ``lon, lat`` in WGS-84).

    Parameters
    ----------
    snapper : Snapper over the walking network (its ``network`` is used by the engine).
    hubs : table with at least ``hub_id, lon, lat``.
    beneficiaries : table with at least ``lon, lat``; ``category`` and ``need_type`` are
        aggregated per hex when present.
    settings : minutes, speed, H3 resolution, off-network threshold.
    base : :func:`hub_engine` of the same ``hubs`` and ``settings``, computed once and shared
        read-only by the runs that pass it (the run's ``engine`` is then that engine: copy
        before editing, as :class:`geo.scenario.Scenario` does). Computed here when None.
    """
    if base is None:
        base = hub_engine(snapper, hubs, settings)
    hubset, engine = base
    if not np.array_equal(hubset.hub_id, hubs["hub_id"].astype(str).to_numpy(dtype=object)) or (
        engine.cutoff_cm != settings.cutoff_cm
    ):
        msg = "coverage_run: base was computed for other hubs or another cutoff"
        raise HubError(msg)
    cov = point_coverage(
        pd.to_numeric(beneficiaries["lon"], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(beneficiaries["lat"], errors="coerce").to_numpy(dtype=np.float64),
        engine=engine,
        snapper=snapper,
        hub_ids=hubset.hub_id,
        settings=settings,
    )
    rows = beneficiaries.reset_index(drop=True).drop(columns=[c for c in cov.columns if c in beneficiaries.columns])
    points = pd.concat([rows, cov], axis=1)
    served = points.loc[points["covered"], "hub_id"].value_counts()
    hub_out = hubs.reset_index(drop=True).copy()
    hub_out["slot"] = np.arange(len(hub_out))
    hub_out["node"] = hubset.node
    hub_out["hub_access_m"] = np.round(hubset.access_m, 2)
    hub_out["served"] = hub_out["hub_id"].astype(str).map(served).fillna(0).astype(np.int64)
    hexes = aggregate_points(points, res=settings.h3_res)
    return CoverageRun(settings=settings, points=points, hubs=hub_out, hexes=hexes, engine=engine, hubset=hubset)


def walk_from_point(
    snapper: Snapper, lon: float, lat: float, target_lon: npt.ArrayLike, target_lat: npt.ArrayLike, *, cutoff_cm: int
) -> npt.NDArray[np.float64]:
    """Walking distance in metres from one point to many targets (NaN beyond ``cutoff_cm``).

    Both ends include their straight access legs to the network, as for coverage.
    """
    src = snapper.snap([lon], [lat])
    eng = CoverageEngine(snapper.network, cutoff_cm=cutoff_cm)
    eng.set_hubs(src.node, src.access_cm)
    dist = eng.dist_cm
    tgt = snapper.snap(target_lon, target_lat)
    ok = tgt.node >= 0
    d = np.full(tgt.node.shape[0], -1, dtype=np.int64)
    d[ok] = dist[tgt.node[ok]]
    total = np.where(d >= 0, d + tgt.access_cm, -1)
    return np.where((total >= 0) & (total <= cutoff_cm), total / 100.0, np.nan)


#: how far the "nearest other hub" search looks (cm): 10 km
FAR_CUTOFF_CM = 1_000_000


def nearest_other_hub(run: CoverageRun, exclude_hub: str, *, cutoff_cm: int = FAR_CUTOFF_CM) -> pd.DataFrame:
    """For every point of ``run``, the nearest hub other than ``exclude_hub`` within ``cutoff_cm``.

    Returns
    -------
    DataFrame
        Aligned with ``run.points``: ``alt_hub_id`` (None when no hub is in reach) and
        ``alt_walk_m`` (network distance + the point's access leg, metres; NaN when none).
    """
    keep = run.hubs["hub_id"].astype(str).to_numpy() != exclude_hub
    hs = run.hubset
    dist_cm, slot = nearest_hub_cm(
        run.engine.network, hs.node[keep], hs.access_cm[keep], np.flatnonzero(keep), cutoff_cm
    )
    node = run.points["node"].to_numpy()
    ok = node >= 0
    d = np.full(len(node), -1, dtype=np.int64)
    lab = np.full(len(node), -1, dtype=np.int64)
    d[ok], lab[ok] = dist_cm[node[ok]], slot[node[ok]]
    access_cm = np.rint(run.points["access_m"].fillna(0).to_numpy() * 100).astype(np.int64)
    reach = d >= 0
    return pd.DataFrame(
        {
            "alt_hub_id": pd.Series(hs.hub_id[np.maximum(lab, 0)], dtype=object).where(reach, None).to_numpy(),
            "alt_walk_m": np.where(reach, (d + access_cm) / 100.0, np.nan),
        },
        index=run.points.index,
    )
