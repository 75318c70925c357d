"""Point coverage: nearest hub and walking distance of every point (tidy frames).

A point's walking distance = its straight access leg to the nearest network vertex +
the network distance from that vertex to the nearest hub's vertex + the hub's own access
leg. It is covered when that sum is within the cutoff. A point whose access leg exceeds
``max_access_m`` is ``off_network``: reported as such and never counted as covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import HubError, InputColumnsError
from core.settings import Settings
from geo.engine import CoverageEngine
from geo.snap import Snapper

STATUS_COVERED = "covered"
STATUS_UNCOVERED = "uncovered"
STATUS_OFF_NETWORK = "off_network"
STATUS_NO_COORDS = "no_coords"


@dataclass
class HubSet:
    """Hubs placed on the network: ids, snapped nodes and access legs (cm)."""

    hub_id: npt.NDArray[np.object_]
    node: npt.NDArray[np.int64]
    access_m: npt.NDArray[np.float64]

    @property
    def access_cm(self) -> npt.NDArray[np.int64]:
        return np.rint(self.access_m * 100.0).astype(np.int64)


def hubs_from_frame(hubs: pd.DataFrame, snapper: Snapper) -> HubSet:
    """Snap a hub table with ``hub_id, lon, lat`` (WGS-84) onto the network."""
    missing = [c for c in ("hub_id", "lon", "lat") if c not in hubs.columns]
    if missing:
        msg = f"hub table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    if hubs.empty:
        msg = "the hub table is empty"
        raise HubError(msg)
    ids = hubs["hub_id"].astype(str)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        msg = f"duplicate hub_id: {', '.join(map(str, dup[:5]))}"
        raise HubError(msg)
    lon = pd.to_numeric(hubs["lon"], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(hubs["lat"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        msg = f"hub(s) without valid lon/lat: {', '.join(ids[bad].head(5))}"
        raise InputColumnsError(msg)
    sn = snapper.snap(lon, lat)
    return HubSet(hub_id=ids.to_numpy(dtype=object), node=sn.node, access_m=sn.access_m)


def engine_for_hubs(snapper: Snapper, hubs: HubSet, settings: Settings) -> CoverageEngine:
    """A :class:`CoverageEngine` with ``hubs`` in slots 0..n-1, searched up to the settings' cutoff."""
    eng = CoverageEngine(snapper.network, cutoff_cm=settings.cutoff_cm)
    eng.set_hubs(hubs.node, hubs.access_cm)
    return eng


def point_coverage(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    engine: CoverageEngine,
    snapper: Snapper,
    hub_ids: npt.ArrayLike,
    settings: Settings,
) -> pd.DataFrame:
    """Nearest hub and walking distance for every point.

    Returns
    -------
    DataFrame, one row per input point, in input order, with columns
    ``node`` (int, -1 if no coordinates), ``access_m`` (float), ``hub_id`` (str or None
    when no hub is within the cutoff), ``walk_m`` and ``walk_min`` (float, NaN when no
    hub is within the cutoff), ``covered`` (bool), ``off_network`` (bool) and ``status``
    (covered / uncovered / off_network / no_coords).
    """
    ids = np.asarray(hub_ids, dtype=object)
    sn = snapper.snap(lon, lat)
    has = sn.node >= 0
    node_dist = np.full(sn.node.shape[0], -1, dtype=np.int64)
    node_lab = np.full(sn.node.shape[0], -1, dtype=np.int64)
    dist_cm, label = engine.dist_cm, engine.label
    node_dist[has] = dist_cm[sn.node[has]]
    node_lab[has] = label[sn.node[has]]
    walk_cm = np.where(node_dist >= 0, node_dist + sn.access_cm, -1)
    within = (walk_cm >= 0) & (walk_cm <= settings.cutoff_cm)
    off = has & (sn.access_m > settings.max_access_m)
    walk_m = np.where(within, walk_cm / 100.0, np.nan)
    hub = np.full(sn.node.shape[0], None, dtype=object)
    hub[within] = ids[node_lab[within]]
    covered = within & ~off
    status = np.where(
        ~has, STATUS_NO_COORDS, np.where(off, STATUS_OFF_NETWORK, np.where(covered, STATUS_COVERED, STATUS_UNCOVERED))
    )
    return pd.DataFrame(
        {
            "node": sn.node,
            "access_m": np.round(sn.access_m, 2),
            "hub_id": pd.Series(hub, dtype=object),  # keep None: pandas 3 would infer str with NaN
            "walk_m": np.round(walk_m, 2),
            "walk_min": np.round(walk_m / settings.metres_per_minute, 2),
            "covered": covered,
            "off_network": off,
            "status": status,
        }
    )
