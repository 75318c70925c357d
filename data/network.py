"""Adapters from street-network sources to the engine's arrays (:class:`geo.graph.WalkNetwork`).

Sources: OSM XML (``.osm``) and PBF (``.osm.pbf``) through pyosmium; road-line layers
(GeoPackage, GeoJSON, Shapefile) whose lines share vertices but are not split at junctions;
GraphML written by osmnx; and, only on the user's explicit request and when online, an
osmnx download. Every loader keeps all vertices of the walkable ways (no simplification),
so points snap to the true geometry, and measures each edge as the great-circle length
of its segment.

A built network is cached on disk as ``.npz`` arrays keyed by the source's content hash,
the loader version and the settings, so the second start skips parsing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.errors import EmptyNetworkError, NetworkSourceError
from geo.graph import WalkNetwork, great_circle_m, network_from_edges

log = logging.getLogger(__name__)

LOADER_VERSION = 1

#: osmnx 2.x ``network_type="walk"`` filter, same unanchored regex semantics as Overpass
WALK_EXCLUDED_HIGHWAY = re.compile(
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|razed|rest_area|services"
)
_EXCLUDED_TAG_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("area", re.compile("yes")),
    ("access", re.compile("private")),
    ("foot", re.compile("no")),
    ("service", re.compile("private")),
    ("sidewalk", re.compile("separate")),
    ("sidewalk:both", re.compile("separate")),
    ("sidewalk:left", re.compile("separate")),
    ("sidewalk:right", re.compile("separate")),
)

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.xml", ".osm.bz2", ".osm.gz")
LINE_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip")
GRAPHML_SUFFIXES = (".graphml",)


def is_walkable(tags: dict[str, str]) -> bool:
    """Whether a way with these OSM tags is kept by osmnx's ``network_type="walk"``."""
    highway = tags.get("highway")
    if highway is None or WALK_EXCLUDED_HIGHWAY.search(highway):
        return False
    return not any((val := tags.get(key)) is not None and pattern.search(val) for key, pattern in _EXCLUDED_TAG_VALUES)


def geofabrik_fclass_to_highway(fclass: str) -> str:
    """OSM ``highway`` value behind a Geofabrik free-shapefile ``fclass``.

    Geofabrik writes ``highway=road`` as ``unknown`` and ``tracktype=gradeN`` tracks as
    ``track_gradeN``; everything else is the OSM value itself.
    """
    if fclass == "unknown":
        return "road"
    if fclass.startswith("track_grade"):
        return "track"
    return fclass


def _pack_coords(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """A unique int64 key per coordinate rounded to 1e-7 degree (~1 cm)."""
    lq = np.rint(lon * 1e7).astype(np.int64) + 1_800_000_000
    aq = np.rint(lat * 1e7).astype(np.int64) + 900_000_000
    return (lq << 31) | aq


def network_from_paths(
    path_offsets: npt.ArrayLike,
    vert_lon: npt.ArrayLike,
    vert_lat: npt.ArrayLike,
    vert_key: npt.ArrayLike | None = None,
    *,
    metric_crs: str | None = None,
    meta: dict[str, Any] | None = None,
) -> WalkNetwork:
    """Build a network from vertex sequences (ways or lines).

    Parameters
    ----------
    path_offsets : int array of length n_paths + 1; path ``i`` is vertices
        ``path_offsets[i]:path_offsets[i+1]``.
    vert_lon, vert_lat : WGS-84 coordinates of every vertex of every path.
    vert_key : identity of each vertex (e.g. OSM node id); vertices with equal keys are
        one node. When ``None``, vertices with equal coordinates (to 1e-7 degree) are one
        node, which rebuilds topology from shared vertices.
    metric_crs : projected CRS for the network's metric coordinates; by default the UTM
        zone of the network's centre (:mod:`geo.metric`).
    """
    off = np.asarray(path_offsets, dtype=np.int64)
    lon = np.asarray(vert_lon, dtype=np.float64)
    lat = np.asarray(vert_lat, dtype=np.float64)
    key = _pack_coords(lon, lat) if vert_key is None else np.asarray(vert_key, dtype=np.int64)
    if lon.shape[0] == 0:
        msg = "the source holds no walkable way"
        raise EmptyNetworkError(msg)
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    # consecutive vertices of the same path form an edge
    seg = np.ones(lon.shape[0], dtype=bool)
    seg[off[:-1][off[:-1] < lon.shape[0]]] = False  # a path's first vertex starts no segment
    b = np.flatnonzero(seg)
    a = b - 1
    length = great_circle_m(lon[a], lat[a], lon[b], lat[b])
    osmid = uniq if vert_key is not None else None
    return network_from_edges(
        lon[first], lat[first], inv[a], inv[b], length, metric_crs=metric_crs, node_osmid=osmid, meta=meta
    )


def network_from_osm(path: str | Path, *, metric_crs: str | None = None) -> WalkNetwork:
    """Read walkable ways of an OSM XML or PBF file (pyosmium).

    Node ids may be negative (as in edited or synthetic extracts); their locations are
    collected from the file itself, so ids are never used as array indexes.
    """
    import osmium

    p = Path(path)
    node_id: list[int] = []
    node_lon: list[float] = []
    node_lat: list[float] = []
    way_refs: list[int] = []
    offsets = [0]
    try:
        obj: Any
        for obj in osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node():
                loc = obj.location
                if loc.valid():
                    node_id.append(obj.id)
                    node_lon.append(loc.lon)
                    node_lat.append(loc.lat)
            elif obj.is_way():
                tags = obj.tags
                if "highway" not in tags or not is_walkable(dict(tags)):
                    continue
                refs = [n.ref for n in obj.nodes]
                if len(refs) >= 2:
                    way_refs.extend(refs)
                    offsets.append(len(way_refs))
    except RuntimeError as exc:  # libosmium parse errors
        msg = f"cannot read OSM file {p.name}: {exc}"
        raise NetworkSourceError(msg) from exc
    if not way_refs:
        msg = f"{p.name} holds no walkable way (network_type='walk')"
        raise EmptyNetworkError(msg)
    ids = np.asarray(node_id, dtype=np.int64)
    order = np.argsort(ids)
    ids_sorted = ids[order]
    refs_arr = np.asarray(way_refs, dtype=np.int64)
    pos = np.searchsorted(ids_sorted, refs_arr)
    pos = np.clip(pos, 0, ids_sorted.shape[0] - 1)
    found = ids_sorted[pos] == refs_arr
    off = np.asarray(offsets, dtype=np.int64)
    n_missing = int((~found).sum())
    if n_missing:
        # extracts clipped at a boundary keep ways whose outer nodes were cut off: split
        # each way at its missing vertices instead of refusing the file
        log.warning("%s: %d way vertices reference nodes missing from the file; ways split there", p.name, n_missing)
        run = np.zeros(refs_arr.shape[0], dtype=np.int64)
        run[off[:-1]] = 1
        run[1:] += ~found[:-1]
        run = np.cumsum(run)[found]
        refs_arr, pos = refs_arr[found], pos[found]
        if refs_arr.shape[0] == 0:
            msg = f"{p.name}: no way vertex has a location in the file"
            raise NetworkSourceError(msg)
        starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
        off = np.r_[starts, refs_arr.shape[0]]
    src = order[pos]
    lon = np.asarray(node_lon, dtype=np.float64)[src]
    lat = np.asarray(node_lat, dtype=np.float64)[src]
    return network_from_paths(
        off, lon, lat, refs_arr, metric_crs=metric_crs, meta={"source_kind": "osm", "missing_vertices": n_missing}
    )


def _line_parts(geoms: Iterable[Any]) -> tuple[list[int], list[npt.NDArray[np.float64]]]:
    import shapely

    offsets = [0]
    coords: list[npt.NDArray[np.float64]] = []
    total = 0
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = g.geoms if g.geom_type == "MultiLineString" else [g]
        for part in parts:
            c = shapely.get_coordinates(part)
            if c.shape[0] >= 2:
                coords.append(c)
                total += c.shape[0]
                offsets.append(total)
    return offsets, coords


def network_from_lines(
    path: str | Path,
    *,
    metric_crs: str | None = None,
    layer: str | None = None,
    highway_column: str | None = None,
) -> WalkNetwork:
    """Read a road-line layer whose lines share vertices but are not split at junctions.

    Topology is rebuilt from shared vertices (equal to 1e-7 degree). When the layer has a
    ``fclass`` or ``highway`` column (Geofabrik free-shapefile schema or OSM tags), the
    walk filter is applied to it; otherwise every line is walkable.
    """
    import pyogrio

    p = Path(path)
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        msg = f"cannot read road layer {p.name}: {exc}"
        raise NetworkSourceError(msg) from exc
    if gdf.crs is None:
        msg = f"{p.name} has no coordinate reference system; expected WGS-84 (EPSG:4326)"
        raise NetworkSourceError(msg)
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    col = highway_column or next((c for c in ("fclass", "highway") if c in gdf.columns), None)
    if col is not None:
        values = gdf[col].fillna("").astype(str)
        if col == "fclass":
            values = values.map(geofabrik_fclass_to_highway)
        keep = values.map(lambda v: is_walkable({"highway": v}) if v else False)
        gdf = gdf[keep.to_numpy(dtype=bool)]
    offsets, coords = _line_parts(gdf.geometry.to_numpy())
    if not coords:
        msg = f"{p.name} holds no walkable line"
        raise EmptyNetworkError(msg)
    xy = np.concatenate(coords)
    return network_from_paths(
        np.asarray(offsets), xy[:, 0], xy[:, 1], None, metric_crs=metric_crs, meta={"source_kind": "lines"}
    )


def _crs_is_projected(crs: str) -> bool:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return bool(CRS.from_user_input(crs).is_projected)
    except CRSError:  # unknown text: the coordinate range check below decides
        return False


def network_from_graphml(path: str | Path, *, metric_crs: str | None = None) -> WalkNetwork:
    """Read a GraphML written by osmnx (``ox.save_graphml``).

    Node ``x``/``y`` are WGS-84; an edge's ``geometry`` (WKT), when present, supplies its
    interior vertices, which become nodes like the OSM loaders' vertices. Edges whose
    ``highway`` fails the walk filter are dropped (all kept if no edge has the tag).
    """
    import shapely

    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, OSError) as exc:
        msg = f"cannot read GraphML {p.name}: {exc}"
        raise NetworkSourceError(msg) from exc
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    keys = {k.get("id"): (k.get("for"), k.get("attr.name")) for k in root.findall("g:key", ns)}
    graph = root.find("g:graph", ns)
    if graph is None:
        msg = f"{p.name} is not a GraphML file"
        raise NetworkSourceError(msg)

    def attrs(el: ET.Element) -> dict[str, str]:
        return {keys.get(d.get("key"), (None, d.get("key")))[1] or "": d.text or "" for d in el.findall("g:data", ns)}

    crs = attrs(graph).get("crs")
    if crs and _crs_is_projected(crs):
        msg = f"{p.name} is projected ({crs}); save the unprojected (WGS-84) graph with ox.save_graphml"
        raise NetworkSourceError(msg)
    xy: dict[str, tuple[float, float]] = {}
    for n in graph.findall("g:node", ns):
        a = attrs(n)
        try:
            xy[n.get("id") or ""] = (float(a["x"]), float(a["y"]))
        except (KeyError, ValueError) as exc:
            msg = f"{p.name}: node {n.get('id')} lacks numeric x/y"
            raise NetworkSourceError(msg) from exc
    offsets = [0]
    coords: list[npt.NDArray[np.float64]] = []
    total = 0
    for e in graph.findall("g:edge", ns):
        a = attrs(e)
        hw = a.get("highway")
        if hw:
            values = re.findall(r"[A-Za-z_]+", hw)
            other: dict[str, str] = {k: a[k] for k in ("area", "access", "foot", "service") if k in a}
            if values and not any(is_walkable({"highway": v, **other}) for v in values):
                continue
        u, v = xy[e.get("source") or ""], xy[e.get("target") or ""]
        if a.get("geometry"):
            c = shapely.get_coordinates(shapely.from_wkt(a["geometry"]))
        else:
            c = np.array([u, v], dtype=np.float64)
        coords.append(c)
        total += c.shape[0]
        offsets.append(total)
    if not coords:
        msg = f"{p.name} holds no walkable edge"
        raise EmptyNetworkError(msg)
    allxy = np.concatenate(coords)
    if (np.abs(allxy[:, 0]) > 180).any() or (np.abs(allxy[:, 1]) > 90).any():
        msg = f"{p.name}: node x/y are not WGS-84 longitude/latitude; save the unprojected graph"
        raise NetworkSourceError(msg)
    return network_from_paths(
        np.asarray(offsets), allxy[:, 0], allxy[:, 1], None, metric_crs=metric_crs, meta={"source_kind": "graphml"}
    )


def network_from_osmnx_graph(graph: Any, *, metric_crs: str | None = None) -> WalkNetwork:
    """Adapter from an unprojected osmnx MultiDiGraph (edge geometry used when present)."""
    import shapely

    offsets = [0]
    coords: list[npt.NDArray[np.float64]] = []
    total = 0
    nodes = graph.nodes
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is not None:
            c = shapely.get_coordinates(geom)
        else:
            c = np.array([[nodes[u]["x"], nodes[u]["y"]], [nodes[v]["x"], nodes[v]["y"]]], dtype=np.float64)
        coords.append(c)
        total += c.shape[0]
        offsets.append(total)
    if not coords:
        msg = "the osmnx graph has no edge"
        raise EmptyNetworkError(msg)
    allxy = np.concatenate(coords)
    return network_from_paths(
        np.asarray(offsets), allxy[:, 0], allxy[:, 1], None, metric_crs=metric_crs, meta={"source_kind": "osmnx"}
    )


def download_network(place: str, out: str | Path) -> Path:  # pragma: no cover - online only
    """Download the walking network of ``place`` with osmnx and save it as GraphML at ``out``.

    The one place the project goes online, and only when a user asks for it
    (``python -m data download-network``); never called by tests. The saved file loads
    like any other network source (:func:`load_network`, ``--network`` of the CLIs).
    """
    import osmnx as ox

    g = ox.graph_from_place(place, network_type="walk", simplify=False, retain_all=True)
    path = Path(out)
    ox.save_graphml(g, filepath=path)
    return path


def source_kind(path: str | Path) -> str:
    """``"osm"``, ``"lines"`` or ``"graphml"`` from the file name."""
    name = Path(path).name.lower()
    if name.endswith(OSM_SUFFIXES):
        return "osm"
    if name.endswith(GRAPHML_SUFFIXES):
        return "graphml"
    if name.endswith(LINE_SUFFIXES):
        return "lines"
    msg = f"unknown network format: {Path(path).name} (use .osm, .osm.pbf, .gpkg, .geojson, .shp or .graphml)"
    raise NetworkSourceError(msg)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "xihu-service-map" / "networks"


def network_from_file(path: str | Path, *, metric_crs: str | None = None, layer: str | None = None) -> WalkNetwork:
    """Parse any supported source without the cache."""
    kind = source_kind(path)
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        msg = f"network file {Path(path).name} is empty"
        raise NetworkSourceError(msg)
    if kind == "osm":
        return network_from_osm(path, metric_crs=metric_crs)
    if kind == "graphml":
        return network_from_graphml(path, metric_crs=metric_crs)
    return network_from_lines(path, metric_crs=metric_crs, layer=layer)


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a network's arrays (sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _cache_mismatch(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], sha: str) -> str | None:
    """Why a cached network cannot be used (None when it can).

    The cache files must describe the source file (its SHA-256), hold as many nodes and edges
    as their metadata says, form a consistent CSR graph, and carry the checksum written with
    them: a file of another network under the same key is refused, not silently used.
    """
    if meta.get("sha256") != sha:
        return "metadata of another source file"
    expected = meta.get("arrays_sha256")
    if not isinstance(expected, str):
        return "no checksum"
    n = int(np.asarray(arrays["node_lon"]).shape[0])
    indptr = np.asarray(arrays["indptr"])
    indices = np.asarray(arrays["indices"])
    if meta.get("n_nodes") != n or meta.get("n_edges") != int(indices.shape[0] // 2):
        said = f"{meta.get('n_nodes')} and {meta.get('n_edges')}"
        return f"{n} nodes and {indices.shape[0] // 2} edges, metadata says {said}"
    sizes = {k: int(np.asarray(arrays[k]).shape[0]) for k in ("node_lat", "node_x", "node_y", "node_osmid")}
    if any(v != n for v in sizes.values()) or indptr.shape[0] != n + 1 or int(indptr[-1]) != indices.shape[0]:
        return "array lengths disagree"
    if arrays_sha256(arrays) != expected:
        return "checksum differs"
    return None


def load_network(
    path: str | Path,
    *,
    metric_crs: str | None = None,
    layer: str | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> WalkNetwork:
    """Load a network, from the on-disk cache when the same file was built before.

    The metric CRS is ``metric_crs`` when given, else the UTM zone of the network's centre
    (:mod:`geo.metric`: EPSG:32651 in Xihu, EPSG:32635 in Helsinki). The cache key is the
    SHA-256 of the file's bytes, the loader version, the CRS asked for (``"auto"`` when
    none) and the layer, so an edited file or changed settings never reuse a stale
    network; the CRS an ``"auto"`` entry was built in is stored with it.
    A cache entry is used only when its arrays agree with its metadata (source hash,
    node and edge counts, CSR shape) and with the checksum written with them; otherwise
    a warning is logged and the network is rebuilt (and the entry rewritten).

    Returns
    -------
    WalkNetwork whose ``meta`` has ``source`` (file name), ``sha256``, ``source_date``
    (file modification date), ``from_cache``, ``n_nodes``, ``n_edges``.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"network file not found: {p}"
        raise NetworkSourceError(msg)
    sha = file_sha256(p)
    settings_key = json.dumps({"v": LOADER_VERSION, "crs": metric_crs or "auto", "layer": layer}, sort_keys=True)
    key = hashlib.sha256((sha + settings_key).encode()).hexdigest()[:32]
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    npz = cdir / f"{key}.npz"
    meta_path = cdir / f"{key}.json"
    source_date = time.strftime("%Y-%m-%d", time.localtime(p.stat().st_mtime))
    if use_cache and npz.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            built_crs = meta.pop("metric_crs", None) or metric_crs  # entries written before "auto" lack it
            if not isinstance(built_crs, str):
                msg = "no metric_crs in the cache entry"
                raise KeyError(msg)
            # open the file ourselves: np.load leaks its handle when the zip is truncated
            with open(npz, "rb") as fh, np.load(fh) as z:
                arrays = dict(z)
            problem = _cache_mismatch(arrays, meta, sha)
            if problem is None:
                net = WalkNetwork.from_arrays(arrays, metric_crs=built_crs, meta=meta)
                # the key is the content: the same bytes may come under another name or date
                net.meta.update({"source": p.name, "source_date": source_date, "from_cache": True})
                return net
            log.warning("network cache %s does not match its metadata (%s); rebuilding", npz, problem)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("network cache %s unreadable (%s); rebuilding", npz, exc)
    net = network_from_file(p, metric_crs=metric_crs, layer=layer)
    net.meta.update(
        {
            "source": p.name,
            "sha256": sha,
            "source_date": source_date,
            "n_nodes": net.n_nodes,
            "n_edges": net.n_edges,
            "from_cache": False,
        }
    )
    if use_cache:
        try:
            cdir.mkdir(parents=True, exist_ok=True)
            tmp = cdir / f"{key}.tmp.npz"
            arrays = net.to_arrays()
            np.savez(tmp, **arrays)  # type: ignore[arg-type]
            saved = {k: v for k, v in net.meta.items() if k != "from_cache"}
            saved["arrays_sha256"] = arrays_sha256(arrays)
            tmp.replace(npz)
            saved["metric_crs"] = net.metric_crs
            meta_path.write_text(json.dumps(saved), encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write network cache %s: %s", npz, exc)
    return net


def largest_component_mask(network: WalkNetwork) -> npt.NDArray[np.bool_]:
    """Boolean mask of the nodes in the largest connected component."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = network.n_nodes
    m = csr_matrix((np.ones(network.indices.shape[0], dtype=np.int8), network.indices, network.indptr), shape=(n, n))
    _, lab = connected_components(m, directed=False)
    return np.asarray(lab == np.bincount(lab).argmax())


def summarize(networks: Sequence[WalkNetwork]) -> list[dict[str, Any]]:
    """Node/edge counts of several networks (for logs and docs)."""
    return [{"n_nodes": n.n_nodes, "n_edges": n.n_edges, **n.meta} for n in networks]
