"""Batch coverage on dask.distributed: one task per partition, resumable, results as Parquet.

The computation is :mod:`geo.batch`; this module is its storage and scheduling. Every task
is a pure function of URLs (``fsspec``: local paths, ``file://``, ``s3://`` ... as the
cluster's storage allows), so a real cluster runs it unchanged:

``OUT/_inputs/network-<sha>.npz``
    the whole network's arrays, written once by the driver; each task reads it and cuts
    its partition's buffered extract (:func:`geo.batch.extract_network`).
``OUT/_inputs/hubs-<sha>.parquet``, ``OUT/_inputs/points/<partition>-<sha>.parquet``
    the hubs (all of them, in input order) and each partition's points (as read, text).
``OUT/coverage/<partition>.parquet``
    the rows of one partition: ``geo coverage``'s OUT.csv columns plus ``partition``.
``OUT/_done/<partition>.json``
    the completion marker, written after the Parquet file is in place (both by write to a
    temporary name, then rename). It records the partition's input key (network, hubs,
    points, core, settings, buffer): a later run skips every partition whose marker holds
    the same key, and recomputes one whose inputs changed.
``OUT/summary.csv``
    one row per partition (:data:`geo.batch.SUMMARY_COLUMNS`) and a ``_total`` row.
``OUT/<step>/<partition>/...``, ``OUT/_done_<step>/<partition>.json``
    a :class:`FollowUp` step (``geo batch --reports``: :mod:`reports.batch`): one more task
    per partition, run after its coverage on the coverage Parquet file; its files are
    written one by one (temporary name, then rename), then its marker, whose key is the
    coverage key plus the step's options and the hub table as given. A step whose marker
    holds the same key is skipped; otherwise its folder is emptied and written again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from core.errors import BatchStorageError
from core.settings import Settings
from data.network import arrays_sha256
from geo.batch import (
    DEFAULT_TILE_M,
    Partition,
    buffer_radius_m,
    partition_coverage,
    polygon_partitions,
    summary_frame,
    tile_partitions,
)
from geo.graph import WalkNetwork
from geo.snap import lonlat_to_metric

log = logging.getLogger(__name__)

BATCH_FORMAT = 1


def _fs(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def _write_atomic(url: str, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``url``, then rename it into place."""
    fs, path = _fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with fs.open(tmp, "wb") as fh:
        fh.write(data)
    fs.mv(tmp, path)


def _read_bytes(url: str) -> bytes:
    fs, path = _fs(url)
    with fs.open(path, "rb") as fh:
        return bytes(fh.read())


def _exists(url: str) -> bool:
    fs, path = _fs(url)
    return bool(fs.exists(path))


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _frame_sha(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def file_stem(pid: str) -> str:
    """A file-name-safe, stable name for a partition id (Chinese names included)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", pid)[:40]
    return f"{safe}-{hashlib.sha1(pid.encode()).hexdigest()[:8]}"


def network_to_npz_bytes(network: WalkNetwork) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **network.to_arrays())  # type: ignore[arg-type]
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def network_from_url(url: str, metric_crs: str) -> WalkNetwork:
    """The network arrays written by the driver (:func:`network_to_npz_bytes`).

    Kept for the next task of the same worker process: the file name holds the arrays'
    SHA-256, so a cached network is never stale; callers never modify it.
    """
    with np.load(io.BytesIO(_read_bytes(url))) as z:
        arrays = dict(z)
    return WalkNetwork.from_arrays(arrays, metric_crs=metric_crs, meta={"source": url})


@dataclass(frozen=True)
class PartitionTask:
    """Everything one task needs, as URLs and plain values (picklable, cluster-ready)."""

    pid: str
    core_wkb: bytes | None
    network_url: str
    hubs_url: str
    points_url: str
    out_url: str
    done_url: str
    key: str
    settings: Settings
    radius_m: float
    n_points: int = 0


def run_partition(task: PartitionTask) -> dict[str, Any]:
    """Compute one partition from its URLs and write its Parquet file, then its marker.

    Returns the partition's summary row (:data:`geo.batch.SUMMARY_COLUMNS`).
    """
    t0 = time.perf_counter()
    network = network_from_url(task.network_url, task.settings.metric_crs)
    hubs = pd.read_parquet(io.BytesIO(_read_bytes(task.hubs_url)))
    points = pd.read_parquet(io.BytesIO(_read_bytes(task.points_url)))
    core = None if task.core_wkb is None else shapely.from_wkb(task.core_wkb)
    rows, stats = partition_coverage(
        network, Partition(task.pid, core), points, hubs, task.settings, radius_m=task.radius_m
    )
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    _write_atomic(task.out_url, _parquet_bytes(rows))
    marker = {"format": BATCH_FORMAT, "key": task.key, "stats": stats, "rows": len(rows)}
    _write_atomic(task.done_url, json.dumps(marker, ensure_ascii=False).encode())
    return stats


def _marker_stats(done_url: str, key: str) -> dict[str, Any] | None:
    """The stats of a done marker written with the same format and key, else ``None``."""
    if not _exists(done_url):
        return None
    try:
        marker = json.loads(_read_bytes(done_url))
    except (OSError, ValueError):
        return None
    if marker.get("format") != BATCH_FORMAT or marker.get("key") != key:
        return None
    stats = marker.get("stats")
    return stats if isinstance(stats, dict) else None


def finished_stats(task: PartitionTask) -> dict[str, Any] | None:
    """The stats of a partition finished with the same inputs, else ``None``."""
    if not _exists(task.out_url):
        return None
    return _marker_stats(task.done_url, task.key)


def boundaries_from_file(url: str, metric_crs: str, id_column: str | None = None) -> tuple[list[Any], list[str]]:
    """Polygons and ids of a boundary file (GeoJSON / GeoPackage ...), in ``metric_crs``.

    The id is ``id_column`` when given, else the first of ``id``, ``name``, ``adcode``,
    ``code`` the file has.
    """
    import pyogrio

    try:
        gdf = pyogrio.read_dataframe(url)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        msg = f"cannot read boundary file {url}: {exc}"
        raise BatchStorageError(msg) from exc
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    col = id_column or next((c for c in ("id", "name", "adcode", "code") if c in gdf.columns), None)
    if col is None or col not in gdf.columns:
        msg = f"boundary file {url}: no id column (looked for {id_column or 'id, name, adcode, code'})"
        raise BatchStorageError(msg)
    geoms = gdf.to_crs(metric_crs).geometry.to_numpy()
    return list(geoms), gdf[col].astype(str).tolist()


@dataclass
class BatchResult:
    """What a batch run did: partitions computed now, skipped as already finished, the summary."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    out_dir: str = ""
    #: the follow-up step (reports): partitions done now, skipped as already done, their stats
    followed: list[str] = field(default_factory=list)
    follow_skipped: list[str] = field(default_factory=list)
    follow_stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan_tasks(
    network: WalkNetwork,
    hubs: pd.DataFrame,
    points: pd.DataFrame,
    settings: Settings,
    out_dir: str,
    *,
    partition: str = "tiles",
    tile_m: float = DEFAULT_TILE_M,
    id_column: str | None = None,
) -> list[PartitionTask]:
    """Partition the points, write the inputs under ``out_dir/_inputs`` (once), return the tasks."""
    settings = settings.with_(metric_crs=network.metric_crs)
    lon = np.asarray(pd.to_numeric(points["lon"], errors="coerce"), dtype=np.float64)
    lat = np.asarray(pd.to_numeric(points["lat"], errors="coerce"), dtype=np.float64)
    x, y = lonlat_to_metric(lon, lat, network.metric_crs)
    if partition == "tiles":
        parts, part = tile_partitions(x, y, tile_m=tile_m)
    else:
        polys, ids = boundaries_from_file(partition, network.metric_crs, id_column)
        parts, part = polygon_partitions(x, y, polys, ids)
    radius = buffer_radius_m(settings)
    inputs = _join(out_dir, "_inputs")
    net_sha = arrays_sha256(network.to_arrays())
    net_url = _join(inputs, f"network-{net_sha[:16]}.npz")
    if not _exists(net_url):
        _write_atomic(net_url, network_to_npz_bytes(network))
    hub_table = hubs[["hub_id", "lon", "lat"]].astype(str).reset_index(drop=True)
    hubs_sha = _frame_sha(hub_table)
    hubs_url = _join(inputs, f"hubs-{hubs_sha}.parquet")
    if not _exists(hubs_url):
        _write_atomic(hubs_url, _parquet_bytes(hub_table))
    common = json.dumps(
        {
            "network": net_sha,
            "hubs": hubs_sha,
            "minutes": settings.minutes,
            "speed_kmh": settings.speed_kmh,
            "max_access_m": settings.max_access_m,
            "metric_crs": settings.metric_crs,
            "radius_m": radius,
        },
        sort_keys=True,
    )
    tasks = []
    for k, p in enumerate(parts):
        pts = points[part == k].reset_index(drop=True)
        pts_sha = _frame_sha(pts)
        stem = file_stem(p.pid)
        pts_url = _join(inputs, "points", f"{stem}-{pts_sha}.parquet")
        if not _exists(pts_url):
            _write_atomic(pts_url, _parquet_bytes(pts))
        wkb = None if p.core is None else shapely.to_wkb(p.core)
        core_sha = hashlib.sha256(wkb or b"").hexdigest()[:16]
        key = hashlib.sha256(f"{common}|{p.pid}|{pts_sha}|{core_sha}".encode()).hexdigest()[:32]
        tasks.append(
            PartitionTask(
                pid=p.pid,
                core_wkb=wkb,
                network_url=net_url,
                hubs_url=hubs_url,
                points_url=pts_url,
                out_url=_join(out_dir, "coverage", f"{stem}.parquet"),
                done_url=_join(out_dir, "_done", f"{stem}.json"),
                key=key,
                settings=settings,
                radius_m=radius,
                n_points=len(pts),
            )
        )
    _check_stale(out_dir, tasks)
    return tasks


def _check_stale(out_dir: str, tasks: list[PartitionTask]) -> None:
    """Remove result files of partitions this run does not have (another partitioning, other points)."""
    fs, path = _fs(_join(out_dir, "coverage"))
    if not fs.exists(path):
        return
    wanted = {t.out_url.rsplit("/", 1)[1] for t in tasks}
    for f in fs.ls(path, detail=False):
        name = str(f).rsplit("/", 1)[1]
        if name.endswith(".parquet") and name not in wanted:
            log.warning("removing %s: not a partition of this run", name)
            fs.rm(f)
            done = _join(out_dir, "_done", name.removesuffix(".parquet") + ".json")
            if _exists(done):
                _fs(done)[0].rm(_fs(done)[1])


TaskFn = Callable[[PartitionTask], dict[str, Any]]


@dataclass(frozen=True)
class FollowUpTask:
    """One partition's follow-up step (its reports): URLs and plain values, cluster-ready.

    Attributes
    ----------
    coverage : the partition's coverage task (its inputs' URLs and ``out_url``, the Parquet file).
    hub_info_url : the hub table as given (every column, text), for names and tiers.
    out_url : the step's folder of this partition (``OUT/<step>/<partition file stem>``).
    done_url : the step's marker.
    key : coverage key + step options + hub table.
    options : the step's JSON-able options.
    """

    coverage: PartitionTask
    hub_info_url: str
    out_url: str
    done_url: str
    key: str
    options: dict[str, Any]

    @property
    def pid(self) -> str:
        return self.coverage.pid


FollowUpFn = Callable[[FollowUpTask], dict[str, Any]]


@dataclass(frozen=True)
class FollowUp:
    """A step run per partition after its coverage, writing files under ``OUT/<name>/<partition>/``.

    Attributes
    ----------
    name : folder name of the step (``reports``).
    fn : a module-level function of a :class:`FollowUpTask` that writes the files under
        its ``out_url`` (each with :func:`write_file`) and returns a JSON-able dict.
    options : JSON-able options of the step; part of its key.
    applies : whether a partition gets the step (default: every partition).
    """

    name: str
    fn: FollowUpFn
    options: dict[str, Any] = field(default_factory=dict)
    applies: Callable[[PartitionTask], bool] | None = None


def write_file(url: str, data: bytes) -> None:
    """Write one file of a step (temporary name, then rename), for :class:`FollowUp` functions."""
    _write_atomic(url, data)


def read_coverage(task: PartitionTask) -> pd.DataFrame:
    """The finished coverage rows of a partition (its Parquet file)."""
    return pd.read_parquet(io.BytesIO(_read_bytes(task.out_url)))


def read_table_url(url: str) -> pd.DataFrame:
    """A Parquet table written by the driver under ``OUT/_inputs``."""
    return pd.read_parquet(io.BytesIO(_read_bytes(url)))


def run_follow_up(fn: FollowUpFn, task: FollowUpTask, _coverage: Any = None) -> dict[str, Any]:
    """Empty the step's folder, run ``fn``, then write the step's marker (``_coverage``: the dependency)."""
    fs, path = _fs(task.out_url)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    t0 = time.perf_counter()
    stats = dict(fn(task))
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    marker = {"format": BATCH_FORMAT, "key": task.key, "stats": stats}
    _write_atomic(task.done_url, json.dumps(marker, ensure_ascii=False).encode())
    return stats


def finished_follow_up(task: FollowUpTask) -> dict[str, Any] | None:
    """The stats of a step finished with the same key, else ``None``."""
    return _marker_stats(task.done_url, task.key)


def plan_follow_ups(
    tasks: list[PartitionTask], hubs: pd.DataFrame, out_dir: str, step: FollowUp
) -> dict[str, FollowUpTask]:
    """The step's task of every partition it applies to (the hub table written once under ``_inputs``)."""
    info = hubs.astype(str).where(hubs.notna(), None).reset_index(drop=True)
    info.columns = [str(c) for c in info.columns]
    info_sha = _frame_sha(info)
    info_url = _join(out_dir, "_inputs", f"hub-info-{info_sha}.parquet")
    if not _exists(info_url):
        _write_atomic(info_url, _parquet_bytes(info))
    opts = json.dumps(step.options, sort_keys=True, ensure_ascii=False)
    out: dict[str, FollowUpTask] = {}
    wanted = {t.out_url.rsplit("/", 1)[1].removesuffix(".parquet") for t in tasks}
    fs, root = _fs(_join(out_dir, step.name))
    if fs.exists(root):
        for f in fs.ls(root, detail=False):  # folders of partitions this run does not have
            name = str(f).rstrip("/").rsplit("/", 1)[1]
            if name not in wanted:
                log.warning("removing %s/%s: not a partition of this run", step.name, name)
                fs.rm(f, recursive=True)
                done = _join(out_dir, f"_done_{step.name}", f"{name}.json")
                if _exists(done):
                    _fs(done)[0].rm(_fs(done)[1])
    for t in tasks:
        if step.applies is not None and not step.applies(t):
            continue
        stem = t.out_url.rsplit("/", 1)[1].removesuffix(".parquet")
        key = hashlib.sha256(f"{t.key}|{step.name}|{opts}|{info_sha}".encode()).hexdigest()[:32]
        out[t.pid] = FollowUpTask(
            coverage=t,
            hub_info_url=info_url,
            out_url=_join(out_dir, step.name, stem),
            done_url=_join(out_dir, f"_done_{step.name}", f"{stem}.json"),
            key=key,
            options=dict(step.options),
        )
    return out


def run_batch(
    network: WalkNetwork,
    hubs: pd.DataFrame,
    points: pd.DataFrame,
    settings: Settings,
    out_dir: str,
    *,
    partition: str = "tiles",
    tile_m: float = DEFAULT_TILE_M,
    id_column: str | None = None,
    scheduler: str = "local",
    workers: int = 2,
    progress: bool = False,
    task_fn: TaskFn = run_partition,
    retries: int = 2,
    follow_up: FollowUp | None = None,
) -> BatchResult:
    """Coverage of every point, one dask task per unfinished partition; writes ``out_dir``.

    Parameters
    ----------
    network, hubs, points, settings : as for ``geo coverage`` (tables as read, text cells).
    out_dir : folder or fsspec URL every worker can reach.
    partition : ``"tiles"`` or the URL of a polygon file (GeoJSON ...).
    tile_m : side of a tile in metres (``partition="tiles"``).
    scheduler : ``"local"`` starts a ``LocalCluster`` of ``workers`` processes (one thread
        each); ``tcp://host:8786`` uses a running scheduler.
    progress : show distributed's progress bar on the console.
    task_fn : the task (tests wrap :func:`run_partition` to kill a worker).
    retries : extra tries of a task that raised (a killed worker's task is rescheduled by
        the scheduler regardless, up to ``distributed.scheduler.allowed-failures``).
    follow_up : a step per partition after its coverage (``--reports``), resumable the same way.

    Returns
    -------
    BatchResult; ``summary`` is also written to ``out_dir/summary.csv``.
    """
    from distributed import Client, LocalCluster
    from distributed import progress as show_progress

    tasks = plan_tasks(
        network, hubs, points, settings, out_dir, partition=partition, tile_m=tile_m, id_column=id_column
    )
    result = BatchResult(out_dir=out_dir)
    stats: dict[str, dict[str, Any]] = {}
    todo = []
    for t in tasks:
        done = finished_stats(t)
        if done is None:
            todo.append(t)
        else:
            stats[t.pid] = done
            result.skipped.append(t.pid)
    follow = {} if follow_up is None else plan_follow_ups(tasks, hubs, out_dir, follow_up)
    follow_todo = []
    for pid, ft in follow.items():
        done = finished_follow_up(ft)
        if done is None:
            follow_todo.append(ft)
        else:
            result.follow_stats[pid] = done
            result.follow_skipped.append(pid)
    if todo or follow_todo:
        cluster = None
        if scheduler == "local":
            # dashboard on a free port: several runs (or engineers) on one machine never collide
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            # the largest partitions first, so the last task to finish is a short one
            todo.sort(key=lambda t: -t.n_points)
            futures = client.map(task_fn, todo, key=[f"partition-{t.key}" for t in todo], retries=retries, pure=False)
            by_pid = {t.pid: f for t, f in zip(todo, futures, strict=True)}
            follow_todo.sort(key=lambda t: -t.coverage.n_points)
            after = [
                client.submit(
                    run_follow_up,
                    follow_up.fn,  # type: ignore[union-attr]
                    ft,
                    by_pid.get(ft.pid),  # runs after the partition's coverage when that is computed now
                    key=f"{follow_up.name}-{ft.key}",  # type: ignore[union-attr]
                    retries=retries,
                    pure=False,
                )
                for ft in follow_todo
            ]
            if progress:
                show_progress(futures + after)
            for t, res in zip(todo, client.gather(futures), strict=True):
                stats[t.pid] = res
                result.computed.append(t.pid)
            for ft, res in zip(follow_todo, client.gather(after), strict=True):
                result.follow_stats[ft.pid] = res
                result.followed.append(ft.pid)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    result.summary = summary_frame([stats[t.pid] for t in tasks])
    _write_atomic(_join(out_dir, "summary.csv"), result.summary.to_csv(index=False).encode("utf-8-sig"))
    return result


def read_batch(out_dir: str) -> pd.DataFrame:
    """Every row of a finished batch, partition after partition (each point once)."""
    fs, path = _fs(_join(out_dir, "coverage"))
    files = sorted(str(f) for f in fs.ls(path, detail=False) if str(f).endswith(".parquet"))
    frames = []
    for f in files:
        with fs.open(f, "rb") as fh:
            frames.append(pd.read_parquet(fh))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
