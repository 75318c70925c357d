"""What a report may print: primary and secondary suppression of every count of a publication.

One suppression covers everything the district, town and village reports, the XLSX,
PDF, GeoPackage and GeoJSON files can show (:func:`publish`): the area rows of the three
levels, the hexes, the households served by each hub, the households a recommended site
would newly cover. Every file prints a subset of these cells with the same status, so
any set of files handed around together is protected as one publication.

Relations the audit knows (an attacker knows them too)
------------------------------------------------------
* per area: ``inside + outside = n``; the categories sum to ``n``; per need type and
  per urgency level ``in + out = n_k``, and the ``n_k``, ``in_k``, ``out_k`` sum to ``n``,
  ``inside``, ``outside``;
* hierarchy: every count of the towns sums to the district's, of a town's village rows
  (every community of the town, with or without a village point, plus "未匹配社区")
  to the town's;
* hexes: ``inside + outside = n`` per hex, and the hexes (plus the households without
  coordinates) sum to the district's ``n``, ``inside``, ``outside``;
* hubs: the households served by all hubs sum to the district's ``inside``.

Two stages
----------
The population counts (``n``, categories, ``need_*_n``, ``urg_*_n``) do not depend on
the walking settings. They are protected first, among themselves; the coverage counts
are protected second, hiding coverage counts (a population count only when nothing else
can protect a cell: ``result.stats["last_resort"]``, 9 cells on the Xihu demo). The
population cells therefore keep the same pattern whatever the minutes, speed or H3
resolution, so reports built with different settings cannot be combined to undo it.

Hiding costs the count (at least ``threshold``) times 1000 for the district, 5 for a town,
1 for a village row, a hex or a hub: the smallest areas' figures go first, and the
district's own figures are hidden only when nothing else works (``keep``).

Derived figures
---------------
A percentage is hidden when its numerator or denominator is; the walking-distance
percentiles and the number of gap hexes of an area are printed only when its inside and
outside counts are both printed and at least ``threshold`` of its households are located
(a percentile position would otherwise bound the hidden counts); a hex's coverage
colour on a map is its percentage, hidden likewise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.suppression import (
    DEFAULT_LT_LOWER,
    DEFAULT_PROTECTION,
    DEFAULT_THRESHOLD,
    PRIMARY,
    PUBLISHED,
    SECONDARY_ZERO,
    Constraint,
    SuppressionResult,
    marker,
    suppress,
)
from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE, ReportTables

log = logging.getLogger(__name__)

HEX_COUNTS = ("n", "inside", "outside")


@dataclass(frozen=True, eq=False)
class PublishedReport:
    """The exact tables with the print status of every count.

    Attributes
    ----------
    tables : the exact figures (never printed directly).
    area_status : int8 frame aligned with ``tables.areas``, one column per count column.
    hex_status : int8 frame aligned with ``tables.hexes`` (``n, inside, outside``).
    served_status : int8 array aligned with ``tables.hubs``.
    site_status : int8 array aligned with ``tables.sites`` (``new_covered``).
    no_coords_status : int8, the status of the number of households without coordinates.
    result : the suppression's outcome (counts of primary / secondary cells, solves).
    threshold, protection : the rule's parameters.
    """

    tables: ReportTables
    area_status: pd.DataFrame
    hex_status: pd.DataFrame
    served_status: npt.NDArray[np.int8]
    site_status: npt.NDArray[np.int8]
    no_coords_status: int
    result: SuppressionResult
    population_result: SuppressionResult
    threshold: int
    protection: int
    _memo: dict[Any, pd.DataFrame] = field(default_factory=dict, repr=False)

    # -- printed forms ------------------------------------------------------------------
    @property
    def lt(self) -> str:
        """The primary marker, ``"<10"``."""
        return marker(self.threshold)[0]

    @property
    def ge(self) -> str:
        """The secondary marker, ``"≥10"``."""
        return marker(self.threshold)[1]

    def show(self, value: Any, status: int) -> Any:
        """A count as printed: the int, ``"<10"`` or ``"≥10"``."""
        if status == PUBLISHED:
            return int(value)
        return self.lt if status in (PRIMARY, SECONDARY_ZERO) else self.ge

    def area_display(self, level: str | None = None) -> pd.DataFrame:
        """Area rows as printed: counts as int or marker; derived figures as float, ``inf`` or None.

        Columns are those of ``tables.areas``; ``pct_inside`` and the ``need_*_pct`` /
        ``urg_*_pct`` columns (added here) are None when hidden (``pct_inside_bound`` then
        holds what the printed counts alone imply, e.g. ``"≥85%"``, or None); percentiles are None when
        hidden, ``inf`` beyond the cutoff; ``n_gap_hexes`` is None when hidden.
        """
        key = ("area", level)
        if key not in self._memo:
            self._memo[key] = self._area_display(level)
        return self._memo[key].copy()

    def _area_display(self, level: str | None) -> pd.DataFrame:
        areas = self.tables.areas
        st = self.area_status
        sel = np.ones(len(areas), dtype=bool) if level is None else (areas["level"] == level).to_numpy()
        a = areas[sel].reset_index(drop=True)
        s = st[sel].reset_index(drop=True)
        out = a.astype(object).copy()
        for col in s.columns:
            vals = a[col].to_numpy()
            stv = s[col].to_numpy()
            out[col] = [self.show(v, int(t)) for v, t in zip(vals, stv, strict=True)]
        out["pct_inside"] = _pct(a["inside"], a["n"], s["inside"], s["n"])
        g = self.tables.groups
        for prefix, values in (("need", g.needs), ("urg", g.urgencies)):
            for v in values:
                out[f"{prefix}_{v}_pct"] = _pct(
                    a[f"{prefix}_{v}_in"], a[f"{prefix}_{v}_n"], s[f"{prefix}_{v}_in"], s[f"{prefix}_{v}_n"]
                )
        ok = (s["inside"] == PUBLISHED) & (s["outside"] == PUBLISHED) & (a["n_located"] >= self.threshold)
        for col in ("walk_m_p50", "walk_m_p90", "walk_min_p50", "walk_min_p90"):
            out[col] = pd.Series(
                [float(v) if o and not math.isnan(float(v)) else None for v, o in zip(a[col], ok, strict=True)],
                dtype=object,
            )
        out["n_gap_hexes"] = pd.Series(
            [int(v) if o else None for v, o in zip(a["n_gap_hexes"], s["outside"] == 0, strict=True)], dtype=object
        )
        out["pct_outside"] = [None if _missing(p) else 100.0 - p for p in out["pct_inside"]]
        out["pct_inside_bound"] = [
            _pct_bound(int(n), si, so, self.threshold) if sn == PUBLISHED and _missing(p) else None
            for n, sn, si, so, p in zip(a["n"], s["n"], s["inside"], s["outside"], out["pct_inside"], strict=True)
        ]
        return out.drop(columns=["n_located"])

    def area_numeric(self, level: str | None = None) -> pd.DataFrame:
        """Area rows for GIS: hidden counts and figures as NaN (numbers stay numbers)."""
        d = self.area_display(level)
        out = d.copy()
        for col in [*self.area_status.columns, "n_gap_hexes"]:
            out[col] = pd.to_numeric(d[col].map(lambda v: v if isinstance(v, int | float) else np.nan))
        return out

    def hex_display(self) -> pd.DataFrame:
        """Hexes as printed: ``n, inside, outside`` int or marker, ``pct_inside`` None when hidden."""
        if "hex" not in self._memo:
            self._memo["hex"] = self._hex_display()
        return self._memo["hex"].copy()

    def _hex_display(self) -> pd.DataFrame:
        h = self.tables.hexes
        out = h.astype(object).copy()
        for col in HEX_COUNTS:
            out[col] = [self.show(v, int(t)) for v, t in zip(h[col], self.hex_status[col], strict=True)]
        hidden = (self.hex_status != PUBLISHED).any(axis=1).to_numpy()
        out["pct_inside"] = [None if hd else float(p) for p, hd in zip(h["pct_inside"], hidden, strict=True)]
        return out

    def hex_pct_visible(self) -> npt.NDArray[np.bool_]:
        """Hexes whose coverage percentage may be shown (and coloured on a map)."""
        return ~(self.hex_status != PUBLISHED).any(axis=1).to_numpy()

    def hubs_display(self) -> pd.DataFrame:
        """Hubs with ``served`` as printed."""
        h = self.tables.hubs.astype(object).copy()
        h["served"] = [
            self.show(v, int(t)) for v, t in zip(self.tables.hubs["served"], self.served_status, strict=True)
        ]
        return h

    def sites_display(self) -> pd.DataFrame:
        """Recommended sites with ``new_covered`` as printed (when the scenario gives it)."""
        s = self.tables.sites.astype(object).copy()
        if "new_covered" in s.columns and len(s):
            s["new_covered"] = [
                self.show(v, int(t)) for v, t in zip(self.tables.sites["new_covered"], self.site_status, strict=True)
            ]
        return s

    def no_coords_display(self) -> Any:
        return self.show(self.tables.n_no_coords, self.no_coords_status)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct_bound(n: int, s_in: int, s_out: int, threshold: int) -> str | None:
    """What the printed counts alone say of a hidden coverage share: ``"≥85%"`` or ``"≤15%"``.

    With ``n`` printed and one of inside / outside printed ``"<10"`` (0 to 9), the share
    is at least (or at most) that far from 100 % (or 0 %); the bound is derived from the
    printed marks only, so printing it tells nothing new. None when nothing useful follows.
    """
    lt = (PRIMARY, SECONDARY_ZERO)
    if n < threshold:
        return None
    if s_out in lt:
        return f"≥{math.floor(100.0 * (n - (threshold - 1)) / n)}%"
    if s_in in lt:
        return f"≤{math.ceil(100.0 * (threshold - 1) / n)}%"
    return None


def _pct(num: pd.Series, den: pd.Series, s_num: pd.Series, s_den: pd.Series) -> list[float | None]:
    out: list[float | None] = []
    for a, b, sa, sb in zip(num, den, s_num, s_den, strict=True):
        if sa != PUBLISHED or sb != PUBLISHED or b == 0:
            out.append(None)
        else:
            out.append(100.0 * float(a) / float(b))
    return out


@dataclass
class _Cells:
    values: list[int]
    population: list[bool]

    def add(self, values: npt.ArrayLike, *, population: bool) -> int:
        start = len(self.values)
        v = np.asarray(values, dtype=np.int64).ravel().tolist()
        self.values.extend(v)
        self.population.extend([population] * len(v))
        return start


def publication_model(
    tables: ReportTables,
) -> tuple[npt.NDArray[np.int64], list[Constraint], list[Constraint], npt.NDArray[np.bool_], dict[str, Any]]:
    """Cells and relations of a whole publication.

    Returns
    -------
    values : the true count of every cell.
    population_relations : relations among the population counts only.
    relations : every relation.
    population : mask of the population cells.
    index : where each table's cells start (``areas`` is row-major over the count
        columns, ``hexes`` row-major over ``n, inside, outside`` with the households
        without coordinates as a last row, ``served``, ``sites``).
    """
    areas = tables.areas
    g = tables.groups
    cols = g.count_columns()
    pop_cols = set(g.population_columns())
    F = len(cols)
    fi = {c: i for i, c in enumerate(cols)}
    cells = _Cells([], [])
    a0 = 0
    mat = areas[cols].to_numpy(dtype=np.int64)
    for r in range(mat.shape[0]):
        for c, col in enumerate(cols):
            cells.values.append(int(mat[r, c]))
            cells.population.append(col in pop_cols)

    def ac(r: int, col: str) -> int:
        return a0 + r * F + fi[col]

    pop_rel: list[Constraint] = []
    cov_rel: list[Constraint] = []
    for r in range(len(areas)):
        cov_rel.append(([ac(r, "inside"), ac(r, "outside")], ac(r, "n")))
        pop_rel.append(([ac(r, f"cat_{c}") for c in g.categories], ac(r, "n")))
        for prefix, group_values in (("need", g.needs), ("urg", g.urgencies)):
            pop_rel.append(([ac(r, f"{prefix}_{v}_n") for v in group_values], ac(r, "n")))
            cov_rel.append(([ac(r, f"{prefix}_{v}_in") for v in group_values], ac(r, "inside")))
            cov_rel.append(([ac(r, f"{prefix}_{v}_out") for v in group_values], ac(r, "outside")))
            for v in group_values:
                cov_rel.append(([ac(r, f"{prefix}_{v}_in"), ac(r, f"{prefix}_{v}_out")], ac(r, f"{prefix}_{v}_n")))
    level = areas["level"].to_numpy()
    town_code = areas["town_code"].astype(object).to_numpy()
    area_id = areas["area_id"].astype(str).to_numpy()
    dist_rows = np.flatnonzero(level == LEVEL_DISTRICT)
    town_rows = np.flatnonzero(level == LEVEL_TOWN)
    vill_rows = np.flatnonzero(level == LEVEL_VILLAGE)
    d = int(dist_rows[0])
    for col in cols:
        rel = ([ac(int(t), col) for t in town_rows], ac(d, col))
        (pop_rel if col in pop_cols else cov_rel).append(rel)
        for t in town_rows.tolist():
            kids = [int(v) for v in vill_rows if town_code[v] == area_id[t]]
            if kids:
                rel = ([ac(k, col) for k in kids], ac(t, col))
                (pop_rel if col in pop_cols else cov_rel).append(rel)
    # hexes (+ households without coordinates as a last row)
    hx = tables.hexes
    n_nc = tables.n_no_coords
    hvals = np.vstack([hx[list(HEX_COUNTS)].to_numpy(dtype=np.int64), [[n_nc, 0, n_nc]]])
    h0 = cells.add(hvals, population=False)
    nh = hvals.shape[0]
    for i in range(nh):
        cov_rel.append(([h0 + 3 * i + 1, h0 + 3 * i + 2], h0 + 3 * i))
    for j, col in enumerate(HEX_COUNTS):
        cov_rel.append(([h0 + 3 * i + j for i in range(nh)], ac(d, col)))
    # households served per hub
    s0 = cells.add(tables.hubs["served"].to_numpy(dtype=np.int64), population=False)
    cov_rel.append((list(range(s0, s0 + len(tables.hubs))), ac(d, "inside")))
    # recommended sites: households newly covered (no published relation)
    sites = tables.sites
    gain = (
        sites["new_covered"].to_numpy(dtype=np.int64)
        if "new_covered" in sites.columns and len(sites)
        else np.zeros(0, dtype=np.int64)
    )
    x0 = cells.add(gain, population=False)
    values = np.asarray(cells.values, dtype=np.int64)
    index = {"areas": a0, "n_cols": F, "columns": cols, "hexes": h0, "n_hex_rows": nh, "served": s0, "sites": x0}
    return values, pop_rel, pop_rel + cov_rel, np.asarray(cells.population, dtype=bool), index


#: how much hiding a count of each level costs, per person: keep the large areas' figures
LEVEL_COST = {LEVEL_DISTRICT: 1000.0, LEVEL_TOWN: 5.0, LEVEL_VILLAGE: 1.0}
#: bump when the model or the algorithm changes (invalidates cached suppressions)
CACHE_VERSION = 2


def _cache_key(values: npt.NDArray[np.int64], relations: list[Constraint], params: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, **params}, sort_keys=True).encode())
    h.update(values.tobytes())
    for parts, total in relations:
        h.update(np.asarray([*parts, -1, total, -2], dtype=np.int64).tobytes())
    return h.hexdigest()[:32]


def default_cache_dir() -> Path:
    """``~/.cache/xihu-service-map/suppression`` (print statuses only, no personal data)."""
    return Path.home() / ".cache" / "xihu-service-map" / "suppression"


def publish(
    tables: ReportTables,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = DEFAULT_PROTECTION,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> PublishedReport:
    """Suppress the counts of a whole publication (all levels, all files) in two stages.

    Parameters
    ----------
    tables : the exact figures.
    threshold : counts from 1 to ``threshold - 1`` are printed ``"<threshold"``.
    protection : minimum width of the interval an attacker can narrow a hidden count to.
    cache_dir, use_cache : the statuses are deterministic for given counts and relations;
        they are kept on disk (``default_cache_dir()``) so that the same data and
        settings are suppressed once (the audit takes seconds to tens of seconds).

    Returns
    -------
    PublishedReport
    """
    values, pop_rel, all_rel, population, index = publication_model(tables)
    n = values.shape[0]
    weight = np.ones(n)
    keep = np.zeros(n, dtype=bool)
    F = index["n_cols"]
    levels = tables.areas["level"].to_numpy()
    for r, level in enumerate(levels.tolist()):
        weight[index["areas"] + r * F : index["areas"] + (r + 1) * F] = LEVEL_COST[level]
        if level == LEVEL_DISTRICT:
            keep[index["areas"] + r * F : index["areas"] + (r + 1) * F] = True
    cost = np.maximum(values, threshold) * weight
    params = {"threshold": threshold, "protection": protection, "lt_lower": DEFAULT_LT_LOWER}
    key = _cache_key(values, all_rel, {**params, "population": population.tobytes().hex()})
    cdir = cache_dir if cache_dir is not None else default_cache_dir()
    path = cdir / f"{key}.npz"
    first: SuppressionResult | None = None
    second: SuppressionResult | None = None
    if use_cache and path.is_file():
        try:
            with open(path, "rb") as fh, np.load(fh) as z:
                first = _result_from(z, "first")
                second = _result_from(z, "second")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("suppression cache %s unreadable (%s); recomputing", path, exc)
            first = second = None
    if first is None or second is None:
        t0 = time.perf_counter()
        first = suppress(
            values, pop_rel, threshold=threshold, protection=protection, eligible=population, cost=cost, keep=keep
        )
        second = suppress(
            values,
            all_rel,
            threshold=threshold,
            protection=protection,
            status=first.status,
            eligible=~population,
            cost=cost,
            keep=keep,
            last_resort=population,
        )
        log.info("suppression computed in %.1f s", time.perf_counter() - t0)
        if use_cache:
            try:
                cdir.mkdir(parents=True, exist_ok=True)
                tmp = cdir / f".{key}.{os.getpid()}.npz"
                with open(tmp, "wb") as out_fh:
                    np.savez(out_fh, **_result_to(first, "first"), **_result_to(second, "second"))  # type: ignore[arg-type]
                tmp.replace(path)
            except OSError as exc:
                log.warning("cannot write the suppression cache %s: %s", path, exc)
    st = second.status
    areas = tables.areas
    a_st = st[index["areas"] : index["areas"] + len(areas) * F].reshape(len(areas), F)
    area_status = pd.DataFrame(a_st, columns=index["columns"])
    h0, nh = index["hexes"], index["n_hex_rows"]
    h_st = st[h0 : h0 + 3 * nh].reshape(nh, 3)
    hex_status = pd.DataFrame(h_st[:-1], columns=list(HEX_COUNTS))
    served = st[index["served"] : index["served"] + len(tables.hubs)].copy()
    n_sites = len(tables.sites) if "new_covered" in tables.sites.columns else 0
    sites = st[index["sites"] : index["sites"] + n_sites].copy()
    log.info(
        "suppression: %d cells, %d primary, %d secondary (population stage %d), %d solves",
        n,
        second.n_primary,
        second.n_secondary,
        first.n_secondary,
        first.stats.get("solves", 0) + second.stats.get("solves", 0),
    )
    return PublishedReport(
        tables=tables,
        area_status=area_status,
        hex_status=hex_status,
        served_status=served,
        site_status=sites,
        no_coords_status=int(h_st[-1, 0]),
        result=second,
        population_result=first,
        threshold=threshold,
        protection=protection,
    )


def _result_to(r: SuppressionResult, prefix: str) -> dict[str, npt.NDArray[Any]]:
    stats = np.array([r.rounds, r.protection, *[r.stats.get(k, 0) for k in _STAT_KEYS]], dtype=np.int64)
    return {
        f"{prefix}_status": r.status,
        f"{prefix}_lower": r.lower,
        f"{prefix}_upper": r.upper,
        f"{prefix}_stats": stats,
    }


_STAT_KEYS = ("components", "solves", "last_resort")


def _result_from(z: Any, prefix: str) -> SuppressionResult:
    stats = z[f"{prefix}_stats"].tolist()
    return SuppressionResult(
        status=z[f"{prefix}_status"].astype(np.int8),
        lower=z[f"{prefix}_lower"].astype(np.int64),
        upper=z[f"{prefix}_upper"].astype(np.int64),
        rounds=int(stats[0]),
        protection=int(stats[1]),
        stats={k: int(v) for k, v in zip(_STAT_KEYS, stats[2:], strict=True)},
    )
