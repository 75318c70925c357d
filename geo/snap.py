"""Snap points to the nearest vertex of the walking network in a metric CRS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from scipy.spatial import cKDTree

from core.errors import InputColumnsError
from geo.graph import WalkNetwork


@lru_cache(maxsize=8)
def _to_metric(metric_crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)


def lonlat_to_metric(
    lon: npt.ArrayLike, lat: npt.ArrayLike, metric_crs: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Project WGS-84 lon/lat to ``metric_crs`` (metres)."""
    x, y = _to_metric(metric_crs).transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


@dataclass(frozen=True)
class Snapped:
    """Result of snapping: per point, the network node and the straight access leg.

    ``node`` is ``-1`` and ``access_m`` NaN for points whose coordinates are missing.
    """

    node: npt.NDArray[np.int64]
    access_m: npt.NDArray[np.float64]

    @property
    def access_cm(self) -> npt.NDArray[np.int64]:
        """Access legs rounded to whole centimetres (0 for unsnapped points)."""
        return np.rint(np.nan_to_num(self.access_m, nan=0.0) * 100.0).astype(np.int64)


class Snapper:
    """A KD-tree over the network's vertices, built once and shared read-only.

    Parameters
    ----------
    network : WalkNetwork
    mask : optional boolean mask of the nodes eligible as snap targets (e.g. the largest
        component); all nodes by default.
    """

    def __init__(self, network: WalkNetwork, mask: npt.NDArray[np.bool_] | None = None) -> None:
        self.network = network
        self._ids = np.arange(network.n_nodes) if mask is None else np.flatnonzero(mask)
        self._tree = cKDTree(np.column_stack([network.node_x[self._ids], network.node_y[self._ids]]))

    def snap(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Snapped:
        """Nearest vertex of every WGS-84 point; NaN coordinates give node ``-1``."""
        lo = np.asarray(lon, dtype=np.float64)
        la = np.asarray(lat, dtype=np.float64)
        if lo.shape != la.shape:
            msg = "lon and lat differ in length"
            raise InputColumnsError(msg)
        ok = np.isfinite(lo) & np.isfinite(la)
        node = np.full(lo.shape[0], -1, dtype=np.int64)
        dist = np.full(lo.shape[0], np.nan, dtype=np.float64)
        if ok.any():
            x, y = lonlat_to_metric(lo[ok], la[ok], self.network.metric_crs)
            d, i = self._tree.query(np.column_stack([x, y]), k=1, workers=-1)
            node[ok] = self._ids[i]
            dist[ok] = d
        return Snapped(node=node, access_m=dist)

    def snap_xy(self, x: npt.ArrayLike, y: npt.ArrayLike) -> Snapped:
        """Nearest vertex of points already in the network's metric CRS."""
        d, i = self._tree.query(np.column_stack([np.asarray(x), np.asarray(y)]), k=1, workers=-1)
        return Snapped(node=self._ids[i].astype(np.int64), access_m=np.asarray(d, dtype=np.float64))
