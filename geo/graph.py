"""The walking network as plain arrays (CSR), independent of where it came from.

Loaders (OSM XML/PBF, road-line layers, GraphML, osmnx) live in ``data.network`` and
only produce the arrays this module takes, like pandana's
``Network(node_x, node_y, edge_from, edge_to, weights)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

from core.errors import EmptyNetworkError
from geo.metric import metric_crs_for_lonlat

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), as osmnx uses

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


def great_circle_m(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike) -> FloatArray:
    """Haversine distance in metres between WGS-84 coordinates (vectorised)."""
    lo1, la1, lo2, la2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in (lon1, lat1, lon2, lat2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """An undirected walking network in compressed sparse row form.

    Every undirected edge is stored in both directions. Weights are integer centimetres
    (``weight_cm``): integer arithmetic makes shortest-path sums exact, so ties are real
    ties and incremental updates equal a full recompute bit for bit.

    Attributes
    ----------
    node_lon, node_lat : float64 arrays, WGS-84 degrees, one per node.
    node_x, node_y : float64 arrays, metres in ``metric_crs``.
    indptr : int64 array of length n_nodes + 1.
    indices : int32 array, neighbour of each directed arc.
    weight_cm : int32 array, length of each arc in centimetres (>= 1).
    node_osmid : int64 array, the source's node ids (or -1 where unknown).
    metric_crs : str, the projected CRS of ``node_x``/``node_y``.
    meta : dict, provenance (source path, hash, date) for reports.
    """

    node_lon: FloatArray
    node_lat: FloatArray
    node_x: FloatArray
    node_y: FloatArray
    indptr: IntArray
    indices: Int32Array
    weight_cm: Int32Array
    node_osmid: IntArray
    metric_crs: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.node_lon.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.indices.shape[0] // 2)

    def edge_arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        """Undirected edges once each as ``(u, v, weight_cm)`` with ``u < v``."""
        src = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        dst = self.indices.astype(np.int64)
        keep = src < dst
        return src[keep], dst[keep], self.weight_cm[keep].astype(np.int64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays to persist (see :meth:`from_arrays`)."""
        return {
            "node_lon": self.node_lon,
            "node_lat": self.node_lat,
            "node_x": self.node_x,
            "node_y": self.node_y,
            "indptr": self.indptr,
            "indices": self.indices,
            "weight_cm": self.weight_cm,
            "node_osmid": self.node_osmid,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, metric_crs: str, meta: dict[str, Any]) -> WalkNetwork:
        return cls(
            node_lon=np.asarray(arrays["node_lon"], dtype=np.float64),
            node_lat=np.asarray(arrays["node_lat"], dtype=np.float64),
            node_x=np.asarray(arrays["node_x"], dtype=np.float64),
            node_y=np.asarray(arrays["node_y"], dtype=np.float64),
            indptr=np.asarray(arrays["indptr"], dtype=np.int64),
            indices=np.asarray(arrays["indices"], dtype=np.int32),
            weight_cm=np.asarray(arrays["weight_cm"], dtype=np.int32),
            node_osmid=np.asarray(arrays["node_osmid"], dtype=np.int64),
            metric_crs=metric_crs,
            meta=dict(meta),
        )


def network_from_edges(
    node_lon: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    edge_u: npt.ArrayLike,
    edge_v: npt.ArrayLike,
    length_m: npt.ArrayLike,
    *,
    metric_crs: str | None = None,
    node_osmid: npt.ArrayLike | None = None,
    drop_isolated: bool = True,
    meta: dict[str, Any] | None = None,
) -> WalkNetwork:
    """Build the undirected CSR network from an edge list.

    Walking ignores ``oneway``: each edge is usable both ways. Of parallel edges (same
    pair of nodes, either direction) the shortest is kept; self-loops are dropped.
    Nodes that no edge touches are dropped when ``drop_isolated``.

    Parameters
    ----------
    node_lon, node_lat : WGS-84 coordinates of the nodes, in degrees.
    edge_u, edge_v : node positions (0-based) of each edge's ends.
    length_m : each edge's length in metres (great-circle length of its geometry).
    metric_crs : projected CRS in metres for ``node_x``/``node_y``; by default the UTM
        zone of the network's centre (:func:`geo.metric.metric_crs_for_lonlat`; EPSG:32651 in Xihu).
    node_osmid : optional source ids of the nodes.

    Returns
    -------
    WalkNetwork
    """
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(edge_u, dtype=np.int64)
    v = np.asarray(edge_v, dtype=np.int64)
    w = np.maximum(np.rint(np.asarray(length_m, dtype=np.float64) * 100.0), 1).astype(np.int64)
    osmid = np.full(lon.shape[0], -1, dtype=np.int64) if node_osmid is None else np.asarray(node_osmid, dtype=np.int64)
    if u.shape[0] == 0:
        msg = "the network has no walkable edge"
        raise EmptyNetworkError(msg)
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    a, b = np.minimum(u, v), np.maximum(u, v)
    # shortest of parallel edges: sort by (a, b, w) and keep the first of each pair
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(a.shape[0], dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, w = a[first], b[first], w[first]
    if a.shape[0] == 0:
        msg = "the network has no walkable edge"
        raise EmptyNetworkError(msg)
    if drop_isolated:
        used = np.zeros(lon.shape[0], dtype=bool)
        used[a] = True
        used[b] = True
        remap = np.cumsum(used) - 1
        lon, lat, osmid = lon[used], lat[used], osmid[used]
        a, b = remap[a], remap[b]
    n = lon.shape[0]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w])
    order = np.lexsort((dst, src))
    src, dst, ww = src[order], dst[order], ww[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    if metric_crs is None:
        metric_crs = metric_crs_for_lonlat(lon, lat)
    x, y = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True).transform(lon, lat)
    return WalkNetwork(
        node_lon=lon,
        node_lat=lat,
        node_x=np.asarray(x, dtype=np.float64),
        node_y=np.asarray(y, dtype=np.float64),
        indptr=indptr,
        indices=dst.astype(np.int32),
        weight_cm=ww.astype(np.int32),
        node_osmid=osmid,
        metric_crs=metric_crs,
        meta=dict(meta or {}),
    )
