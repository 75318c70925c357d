"""Live what-if for planners: add, move or remove stations and see the figures at once.

A :class:`Scenario` wraps a *copy* of a coverage run's :class:`~geo.engine.CoverageEngine`
and the beneficiaries' snapped positions (network node + access leg in cm). Every edit is
applied incrementally by the engine (only the part of the network that changes is
searched again) and :meth:`Scenario.result` recounts the figures from the points' node
distances: covered count and share overall, by category, by need type, by town, and the
uncovered count per H3 cell (cells computed once). The figures equal those of a full
:func:`geo.analysis.coverage_run` on :meth:`Scenario.hubs_table` exactly (integer
centimetres throughout).

Edits serialise to the JSON payload that :meth:`data.storage.Store.save_scenario` keeps::

    {"version": 1,
     "edits": [{"op": "add", "hub_id": "NEW-01", "lon": 120.1, "lat": 30.2, "tier": "town"},
               {"op": "move", "hub_id": "T330106004", "lon": 120.14, "lat": 30.28},
               {"op": "remove", "hub_id": "V330106004001"}],
     "settings": {"minutes": 10.0, "speed_kmh": 4.5, "h3_res": 9, "max_access_m": 300.0}}

and :meth:`Scenario.from_payload` replays them on a base run computed with the same
settings. :func:`compare_scenarios` puts a baseline and up to three scenarios side by side.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import ScenarioError
from core.settings import Settings
from core.vocab import NEED_TYPES
from geo.analysis import CoverageRun
from geo.figures import coverage_pct
from geo.hexes import cells_to_str, latlng_to_cells
from geo.kernel import INF_KEY, LABEL_BITS
from geo.snap import Snapper

log = logging.getLogger(__name__)

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

PAYLOAD_VERSION = 1
SCENARIO_OPS = ("add", "move", "remove")
HUB_TIERS = ("district", "town", "village")
#: at most this many scenarios are compared with a baseline
MAX_COMPARED = 3
#: ``scenario_status`` of a row of :meth:`Scenario.hubs_table`
STATUS_EXISTING, STATUS_MOVED, STATUS_NEW = "existing", "moved", "new"
#: columns a coverage run adds to the hub table (dropped from :meth:`Scenario.hubs_table`)
_RUN_HUB_COLUMNS = ("slot", "node", "hub_access_m", "served")


def settings_to_payload(settings: Settings) -> dict[str, Any]:
    """The settings a scenario depends on, as plain JSON values."""
    return {
        "minutes": float(settings.minutes),
        "speed_kmh": float(settings.speed_kmh),
        "h3_res": int(settings.h3_res),
        "max_access_m": float(settings.max_access_m),
    }


def settings_from_payload(payload: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """The :class:`Settings` a saved scenario was made with (``base``'s other fields kept).

    Use it to compute the base run before :meth:`Scenario.from_payload`.
    """
    base = base or Settings()
    raw = payload.get("settings") or {}
    if not isinstance(raw, Mapping):
        msg = "scenario payload: 'settings' must be a mapping"
        raise ScenarioError(msg)
    changes = {k: raw[k] for k in ("minutes", "speed_kmh", "h3_res", "max_access_m") if k in raw}
    try:
        return base.with_(**changes)
    except (TypeError, ValueError) as exc:
        msg = f"scenario payload: bad settings {dict(raw)!r}: {exc}"
        raise ScenarioError(msg) from exc


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """The figures of a scenario at one moment.

    Attributes
    ----------
    name : str
    settings : Settings
    n_points, n_covered, n_hubs : int
        Beneficiaries, those covered, active hubs.
    by_category, by_need_type, by_town : DataFrame
        One row per value (``category`` sorted; ``need_type`` survival, care, development,
        then others sorted; ``town_code`` sorted) with ``n``, ``covered``, ``uncovered``
        (int) and ``coverage_pct`` (float). Missing values are in no row; an absent
        column gives an empty frame.
    hexes : DataFrame
        ``h3`` (str, at ``settings.h3_res``), ``n``, ``covered``, ``uncovered`` (int), one
        row per cell holding a beneficiary, sorted by ``h3`` (as
        :func:`geo.hexes.aggregate_points`).
    covered : ndarray of bool
        Per beneficiary, in the base run's order.
    edits : tuple of dict
        The edits applied, as in the payload.
    """

    name: str
    settings: Settings
    n_points: int
    n_covered: int
    n_hubs: int
    by_category: pd.DataFrame
    by_need_type: pd.DataFrame
    by_town: pd.DataFrame
    hexes: pd.DataFrame
    covered: BoolArray
    edits: tuple[dict[str, Any], ...]

    @property
    def coverage_pct(self) -> float:
        return coverage_pct(self.n_covered, self.n_points)


@dataclass(frozen=True, eq=False)
class _Groups:
    """Factorised codes of one grouping column (``-1`` = missing)."""

    column: str
    codes: IntArray
    labels: tuple[str, ...]

    def frame(self, covered: BoolArray) -> pd.DataFrame:
        k = len(self.labels)
        has = self.codes >= 0
        n = np.bincount(self.codes[has], minlength=k).astype(np.int64)
        cov = np.bincount(self.codes[has & covered], minlength=k).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = coverage_pct(cov, n)
        return pd.DataFrame(
            {
                self.column: pd.Series(list(self.labels), dtype="str"),
                "n": n,
                "covered": cov,
                "uncovered": n - cov,
                "coverage_pct": pct,
            }
        )


def _groups(points: pd.DataFrame, column: str, fixed: Sequence[str] = ()) -> _Groups:
    if column not in points.columns:
        return _Groups(column, np.full(len(points), -1, dtype=np.int64), ())
    codes, uniques = pd.factorize(points[column].reset_index(drop=True), use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    order = [f for f in fixed if f in labels] + sorted(set(labels) - set(fixed))
    pos = {lab: i for i, lab in enumerate(order)}
    remap = np.array([pos[lab] for lab in labels] + [-1], dtype=np.int64)
    return _Groups(column, remap[codes], tuple(order))


# ------------------------------------------------------------------------------ scenario


def _finite_lonlat(lon: Any, lat: Any, what: str) -> tuple[float, float]:
    try:
        lo, la = float(lon), float(lat)
    except (TypeError, ValueError):
        msg = f"{what}: lon/lat must be numbers, got {lon!r}, {lat!r}"
        raise ScenarioError(msg) from None
    if not (math.isfinite(lo) and math.isfinite(la)) or abs(lo) > 180 or abs(la) > 90:
        msg = f"{what}: lon/lat out of range ({lo}, {lat})"
        raise ScenarioError(msg)
    return lo, la


class Scenario:
    """What-if edits on a copy of a coverage run, with figures recounted after each edit.

    Parameters
    ----------
    run : CoverageRun
        The base: its hubs, beneficiaries, settings and engine (the engine is copied, the
        run is never modified).
    snapper : Snapper
        The snapper the run was computed with (new and moved stations are snapped by it).
    name : str
        Shown in comparisons.
    """

    def __init__(self, run: CoverageRun, snapper: Snapper, *, name: str = "scenario") -> None:
        self.run = run
        self.snapper = snapper
        self.settings = run.settings
        self.name = str(name)
        self.engine = run.engine.copy()
        self._cutoff = int(self.settings.cutoff_cm)
        pts = run.points
        lon = pd.to_numeric(pts["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        lat = pd.to_numeric(pts["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        sn = snapper.snap(lon, lat)
        has = sn.node >= 0
        off = has & (sn.access_m > self.settings.max_access_m)
        self._elig = np.flatnonzero(has & ~off)
        self._node = sn.node[self._elig]
        self._acc = sn.access_cm[self._elig]
        self.n_points = len(pts)
        self._cat = _groups(pts, "category")
        self._need = _groups(pts, "need_type", NEED_TYPES)
        self._town = _groups(pts, "town_code")
        cells = latlng_to_cells(lat, lon, self.settings.h3_res)
        placed = cells != 0
        self._placed = np.flatnonzero(placed)
        self._cells, self._cell_inv = np.unique(cells[placed], return_inverse=True)
        self._cell_ids = pd.Series(cells_to_str(self._cells), dtype="str")
        hubs = run.hubs.reset_index(drop=True)
        base_cols = [c for c in hubs.columns if c not in _RUN_HUB_COLUMNS]
        self._rows: list[dict[str, Any]] = []
        for raw in hubs[base_cols].to_dict("records"):
            rec = {str(k): v for k, v in raw.items()}
            rec["scenario_status"] = STATUS_EXISTING
            self._rows.append(rec)
        self._columns = [*base_cols, "scenario_status"]
        self._slot: dict[str, int] = {str(h): int(s) for h, s in zip(hubs["hub_id"], hubs["slot"], strict=True)}
        self._edits: list[dict[str, Any]] = []
        self._memo: tuple[int, str, ScenarioResult] | None = None  # the last result (edits only append)
        self._n_new = 0

    # -- state -------------------------------------------------------------------------
    @property
    def edits(self) -> list[dict[str, Any]]:
        """The edits applied so far (copies, JSON types)."""
        return [dict(e) for e in self._edits]

    @property
    def hub_ids(self) -> list[str]:
        """Ids of the active hubs, in slot order."""
        return [h for h, _ in sorted(self._slot.items(), key=lambda kv: kv[1])]

    def covered(self) -> BoolArray:
        """Whether each beneficiary (base run order) is within the walking cutoff of a hub now."""
        keys = self.engine.keys[self._node]
        reached = keys != INF_KEY
        dist = np.where(reached, keys >> LABEL_BITS, 0)
        ok = reached & (dist + self._acc <= self._cutoff)
        out = np.zeros(self.n_points, dtype=bool)
        out[self._elig[ok]] = True
        return out

    # -- edits -------------------------------------------------------------------------
    def _place(self, lon: Any, lat: Any, node: int | None, what: str) -> tuple[float, float, int, int]:
        if node is not None:
            n = int(node)
            if not (0 <= n < self.snapper.network.n_nodes):
                msg = f"{what}: node {node} is not in the network"
                raise ScenarioError(msg)
            lon, lat = float(self.snapper.network.node_lon[n]), float(self.snapper.network.node_lat[n])
        lo, la = _finite_lonlat(lon, lat, what)
        sn = self.snapper.snap([lo], [la])
        if sn.access_m[0] > self.settings.max_access_m:
            log.warning("%s is %.0f m from the nearest walkable way", what, sn.access_m[0])
        return lo, la, int(sn.node[0]), int(sn.access_cm[0])

    def _new_id(self) -> str:
        used = {str(r["hub_id"]) for r in self._rows}
        while True:
            self._n_new += 1
            hid = f"NEW-{self._n_new:02d}"
            if hid not in used:
                return hid

    def add(
        self,
        lon: float | None = None,
        lat: float | None = None,
        *,
        node: int | None = None,
        hub_id: str | None = None,
        tier: str = "town",
        name: str | None = None,
    ) -> str:
        """Add a station at ``lon, lat`` (WGS-84) or at network vertex ``node``.

        Parameters
        ----------
        lon, lat : float, optional
            Where (snapped to the nearest vertex; the access leg counts).
        node : int, optional
            A network vertex instead of coordinates (its coordinates are recorded).
        hub_id : str, optional
            A new unique id; ``NEW-01``, ``NEW-02`` ... by default.
        tier : {"district", "town", "village"}
        name : str, optional

        Returns
        -------
        str
            The hub id.
        """
        if tier not in HUB_TIERS:
            msg = f"tier must be one of {', '.join(HUB_TIERS)}, got {tier!r}"
            raise ScenarioError(msg)
        hid = self._new_id() if hub_id is None else str(hub_id).strip()
        if not hid or hid in self._slot:
            msg = f"hub id {hid!r} is empty or already used by an active hub"
            raise ScenarioError(msg)
        if node is None and (lon is None or lat is None):
            msg = f"add {hid}: give lon and lat, or a node"
            raise ScenarioError(msg)
        lo, la, nd, acc = self._place(lon, lat, node, f"add {hid}")
        slot = self.engine.add_hub(nd, acc)
        rec: dict[str, Any] = dict.fromkeys(self._columns)
        rec.update(hub_id=hid, lon=lo, lat=la, tier=tier, scenario_status=STATUS_NEW)
        if name is not None:
            rec["name"] = name
        self._rows.append(rec)
        if slot != len(self._rows) - 1:  # pragma: no cover - the engine appends slots
            msg = "scenario and engine slots disagree"
            raise ScenarioError(msg)
        self._slot[hid] = slot
        edit: dict[str, Any] = {"op": "add", "hub_id": hid, "lon": lo, "lat": la, "tier": tier}
        if name is not None:
            edit["name"] = str(name)
        self._edits.append(edit)
        return hid

    def move(self, hub_id: str, lon: float | None = None, lat: float | None = None, *, node: int | None = None) -> None:
        """Move an active hub (existing or new) to ``lon, lat`` or to vertex ``node``; it keeps its slot."""
        hid = str(hub_id)
        slot = self._check_hub(hid, "move")
        if node is None and (lon is None or lat is None):
            msg = f"move {hid}: give lon and lat, or a node"
            raise ScenarioError(msg)
        lo, la, nd, acc = self._place(lon, lat, node, f"move {hid}")
        self.engine.move_hub(slot, nd, acc)
        rec = self._rows[slot]
        rec.update(lon=lo, lat=la)
        if rec["scenario_status"] == STATUS_EXISTING:
            rec["scenario_status"] = STATUS_MOVED
        self._edits.append({"op": "move", "hub_id": hid, "lon": lo, "lat": la})

    def remove(self, hub_id: str) -> None:
        """Remove an active hub (existing or new)."""
        hid = str(hub_id)
        slot = self._check_hub(hid, "remove")
        self.engine.remove_hub(slot)
        del self._slot[hid]
        self._edits.append({"op": "remove", "hub_id": hid})

    def apply(self, edit: Mapping[str, Any]) -> None:
        """Apply one edit given as a payload mapping (``op``, ``hub_id``, ``lon``, ``lat``, ``tier``)."""
        if not isinstance(edit, Mapping):
            msg = f"an edit is a mapping, got {type(edit).__name__}"
            raise ScenarioError(msg)
        op = edit.get("op")
        hid = edit.get("hub_id")
        if op not in SCENARIO_OPS or not hid:
            msg = f"an edit needs 'op' ({' / '.join(SCENARIO_OPS)}) and 'hub_id', got {dict(edit)!r}"
            raise ScenarioError(msg)
        if op == "add":
            self.add(
                edit.get("lon"), edit.get("lat"), hub_id=str(hid), tier=str(edit.get("tier", "town")),
                name=edit.get("name"),
            )  # fmt: skip
        elif op == "move":
            self.move(str(hid), edit.get("lon"), edit.get("lat"))
        else:
            self.remove(str(hid))

    def apply_all(self, edits: Iterable[Mapping[str, Any]]) -> None:
        """Apply edits in order."""
        for e in edits:
            self.apply(e)

    def _check_hub(self, hid: str, op: str) -> int:
        if hid not in self._slot:
            msg = f"{op}: no active hub {hid!r} in this scenario"
            raise ScenarioError(msg)
        return self._slot[hid]

    # -- outputs -----------------------------------------------------------------------
    def hubs_table(self) -> pd.DataFrame:
        """The edited hub table: active hubs in slot order, ready for :func:`geo.analysis.coverage_run`.

        Returns
        -------
        DataFrame
            The base run's hub columns (without the run's ``slot, node, hub_access_m,
            served``) plus ``scenario_status`` (``existing``, ``moved``, ``new``); moved
            hubs carry their new ``lon, lat``.
        """
        active = sorted(self._slot.values())
        out = pd.DataFrame([self._rows[s] for s in active], columns=self._columns)
        out["hub_id"] = out["hub_id"].astype(str)
        out["lon"] = out["lon"].astype(np.float64)
        out["lat"] = out["lat"].astype(np.float64)
        return out.reset_index(drop=True)

    def result(self, name: str | None = None) -> ScenarioResult:
        """The figures now (see :class:`ScenarioResult`). Asked again with no edit in between,
        the same (read-only) result is returned: the planner asks every scenario on each click."""
        label = self.name if name is None else str(name)
        if self._memo is not None and self._memo[:2] == (len(self._edits), label):
            return self._memo[2]
        res = self._result(label)
        self._memo = (len(self._edits), label, res)
        return res

    def _result(self, name: str) -> ScenarioResult:
        cov = self.covered()
        k = self._cells.shape[0]
        n_cell = np.bincount(self._cell_inv, minlength=k).astype(np.int64)
        c_cell = np.bincount(self._cell_inv[cov[self._placed]], minlength=k).astype(np.int64)
        hexes = pd.DataFrame({"h3": self._cell_ids, "n": n_cell, "covered": c_cell, "uncovered": n_cell - c_cell})
        return ScenarioResult(
            name=name,
            settings=self.settings,
            n_points=self.n_points,
            n_covered=int(cov.sum()),
            n_hubs=len(self._slot),
            by_category=self._cat.frame(cov),
            by_need_type=self._need.frame(cov),
            by_town=self._town.frame(cov),
            hexes=hexes,
            covered=cov,
            edits=tuple(self.edits),
        )

    def to_payload(self) -> dict[str, Any]:
        """The edits and settings as plain JSON (for :meth:`data.storage.Store.save_scenario`)."""
        return {
            "version": PAYLOAD_VERSION,
            "name": self.name,
            "edits": self.edits,
            "settings": settings_to_payload(self.settings),
        }

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], run: CoverageRun, snapper: Snapper, *, name: str | None = None
    ) -> Scenario:
        """Replay a saved scenario on ``run`` (computed with the payload's settings).

        Raises
        ------
        ScenarioError
            The payload is malformed, was saved with other settings (compute the base
            run with :func:`settings_from_payload` first), or an edit cannot be applied.
        """
        if not isinstance(payload, Mapping):
            msg = f"a scenario payload is a mapping, got {type(payload).__name__}"
            raise ScenarioError(msg)
        edits = payload.get("edits", [])
        if not isinstance(edits, list):
            msg = "scenario payload: 'edits' must be a list"
            raise ScenarioError(msg)
        if "settings" in payload:
            want = settings_to_payload(settings_from_payload(payload, run.settings))
            have = settings_to_payload(run.settings)
            if want != have:
                diff = ", ".join(f"{k} {want[k]} (base run: {have[k]})" for k in want if want[k] != have[k])
                msg = f"the scenario was saved with other settings: {diff}; recompute the base run with them"
                raise ScenarioError(
                    msg, key="scenario_other_settings",
                    minutes_saved=want["minutes"], speed_saved=want["speed_kmh"], res_saved=want["h3_res"],
                    minutes_now=have["minutes"], speed_now=have["speed_kmh"], res_now=have["h3_res"],
                )  # fmt: skip
        sc = cls(run, snapper, name=name or str(payload.get("name") or "scenario"))
        for i, e in enumerate(edits):
            try:
                sc.apply(e)
            except ScenarioError as exc:
                msg = f"scenario edit {i + 1}: {exc}"
                hub = e.get("hub_id", "") if isinstance(e, Mapping) else ""
                raise ScenarioError(msg, key="scenario_bad_edit", n=i + 1, hub_id=str(hub)) from exc
        return sc


# ------------------------------------------------------------------------------ comparison


def compare_scenarios(results: Sequence[ScenarioResult], *, baseline: ScenarioResult | None = None) -> pd.DataFrame:
    """A baseline and up to three scenarios side by side, with differences to the baseline.

    Parameters
    ----------
    results : sequence of ScenarioResult
        The scenarios; without ``baseline`` the first one is the baseline.
    baseline : ScenarioResult, optional

    Returns
    -------
    DataFrame
        One row per figure: ``group`` (``overall``, ``category``, ``need_type``,
        ``town``), ``key`` (``covered`` and ``hubs`` for overall, else the value), ``n``
        (beneficiaries in the group; NaN for hubs); then for each scenario (baseline
        first) ``<name>`` (covered count, or hub count) and ``<name> %`` (coverage
        share), and for the others ``<name> Δ`` (count difference to the baseline) and
        ``<name> Δpp`` (difference of the share, percentage points).

    Raises
    ------
    ScenarioError
        No scenario, more than three besides the baseline, repeated names, or results
        over different beneficiaries or settings.
    """
    items = list(results)
    if baseline is None:
        if not items:
            msg = "nothing to compare"
            raise ScenarioError(msg)
        baseline, others = items[0], items[1:]
    else:
        others = items
    if len(others) > MAX_COMPARED:
        msg = f"at most {MAX_COMPARED} scenarios can be compared with the baseline, got {len(others)}"
        raise ScenarioError(msg)
    every = [baseline, *others]
    names = [r.name for r in every]
    if len(set(names)) != len(names):
        msg = f"scenario names must differ to be compared: {', '.join(names)}"
        raise ScenarioError(msg)
    for r in others:
        if r.n_points != baseline.n_points or settings_to_payload(r.settings) != settings_to_payload(baseline.settings):
            msg = f"scenario {r.name!r} is over other beneficiaries or settings than the baseline"
            raise ScenarioError(msg)

    def rows(r: ScenarioResult) -> tuple[list[tuple[str, str]], FloatArray, FloatArray, FloatArray]:
        """(group, key) per row, then n, value and pct (plain arrays: a click's comparison is
        rebuilt on every planner rerun, where small DataFrames and a merge cost ~70 ms)."""
        keys: list[tuple[str, str]] = [("overall", "covered"), ("overall", "hubs")]
        n: list[FloatArray] = [np.array([float(r.n_points), np.nan])]
        value: list[FloatArray] = [np.array([float(r.n_covered), float(r.n_hubs)])]
        pct: list[FloatArray] = [np.array([r.coverage_pct, np.nan])]
        for group, frame, col in (
            ("category", r.by_category, "category"),
            ("need_type", r.by_need_type, "need_type"),
            ("town", r.by_town, "town_code"),
        ):
            if len(frame):
                keys.extend((group, str(k)) for k in frame[col].tolist())
                n.append(frame["n"].to_numpy(dtype=np.float64))
                value.append(frame["covered"].to_numpy(dtype=np.float64))
                pct.append(frame["coverage_pct"].to_numpy(dtype=np.float64))
        return keys, np.concatenate(n), np.concatenate(value), np.concatenate(pct)

    keys, base_n, base_value, base_pct = rows(baseline)
    columns: dict[str, Any] = {
        "group": [g for g, _ in keys],
        "key": [k for _, k in keys],
        "n": base_n,
        baseline.name: base_value,
        f"{baseline.name} %": base_pct,
    }
    for r in others:
        cur_keys, _, cur_value, cur_pct = rows(r)
        where = {k: i for i, k in enumerate(cur_keys)}
        # the baseline's rows, in its order; a row the scenario lacks is NaN (a left join)
        idx = np.array([where.get(k, -1) for k in keys], dtype=np.int64)
        value = np.where(idx >= 0, cur_value[idx], np.nan)
        pct = np.where(idx >= 0, cur_pct[idx], np.nan)
        columns[r.name] = value
        columns[f"{r.name} %"] = pct
        columns[f"{r.name} Δ"] = value - base_value
        columns[f"{r.name} Δpp"] = pct - base_pct
    return pd.DataFrame(columns)
