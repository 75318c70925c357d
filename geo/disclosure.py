"""The one disclosure module: what may be printed of counts of beneficiaries, anywhere.

Every published figure goes through here: map tooltips and colours, dashboard metrics
and tables, report files (XLSX, PDF, GeoPackage, GeoJSON) and exports. Aggregates must
not reveal individuals (PIPL art. 28).

Rule set (one, everywhere)
--------------------------
* **Primary**: a count of 1 to ``threshold - 1`` (1-9) households is never printed; it
  prints ``"<10"``. 0 and counts of at least ``threshold`` print as they are.
* **Secondary**: the figures shown together (one screen, or one publication) are
  protected together. Every linear relation a reader knows between them (``n = inside +
  outside``, the parts of a row sum to its total, a column sums to the total metric, the
  hexes sum to the district) is part of the audit; more cells are withheld until no
  ``"<10"`` cell can be narrowed by those relations to fewer than three candidate
  values (``protection = 2``: the exact integer-programme audit below). A withheld
  count of at least ``threshold`` prints ``"≥10"``, a withheld 0 prints ``"<10"``.
* **Display**: a hidden count is always ``"<10"`` or ``"≥10"`` (no bands); a share (%)
  prints only when its numerator and denominator both print, otherwise ``"—"``; map
  colours come from the printed figures only.
* Figures that are not printed but take part in a relation (households without a
  category or without coordinates, the uncovered households on the network) are cells
  too: a small one is protected like a printed ``"<10"``.

API
---
* :class:`Screen` / :meth:`Screen.protect` -> :class:`ShownScreen`: any set of related
  counts (cells, relations), printed together.
* :func:`protect_coverage_screen` -> :class:`CoverageScreen`: the coverage screen of
  the dashboard (total metrics, off-network, group tables, hexes, hubs served).
* :func:`protect_hexes`: hexes alone (a map without tables).
* :func:`publish` -> :class:`PublishedReport`: a whole report publication.
* :func:`suppress` (the solver), :func:`feasible_intervals`, :func:`recoverable_cells`
  (the attack).

The solver: statistical disclosure control of published counts
--------------------------------------------------------------

Primary and secondary cell suppression, pure computation on integer counts and the
linear relations between them.

* A count of 1 to ``threshold - 1`` people (1-9) prints ``"<10"`` (:data:`PRIMARY`).
* To stop any ``"<10"`` being worked out from the totals it is printed with, more cells
  are withheld (secondary suppression): a count of at least ``threshold`` prints
  ``"≥10"`` (:data:`SECONDARY`); a 0 may print ``"<10"`` (:data:`SECONDARY_ZERO`; 0 is
  fewer than 10). Every other 0 prints 0.

So a reader knows that a ``"<10"`` holds 0..9 (``lt_lower=0``; :func:`suppress` can also
assume a reader who takes every ``"<10"`` for 1..9 with ``lt_lower=1``), a ``"≥10"`` at
least 10, every printed number and every relation ``sum(parts) == total``, and that
counts are non-negative integers. The **attack** is the integer programme over all of
that: the feasible interval of each hidden cell. The subtraction attack is its simplest
case (one relation, one hidden cell); relations combined over several tables are
covered too. A primary cell is **safe** when its interval is at least ``protection``
wide (``upper - lower >= protection``; the default 2 leaves at least three candidate
values).

Algorithm of :func:`suppress`
-----------------------------
1. The classic rule: a relation with exactly one hidden cell gets its cheapest other
   hideable cell hidden (always necessary, never in vain), until none is left.
2. Witnesses: random-objective solutions of each connected group of hidden cells (a
   HiGHS LP kept warm; integral vertices are real tables the reader cannot tell from the
   true one). A primary cell seen at two values ``protection`` apart is safe, and stays
   safe whatever else is hidden later (hiding only widens the feasible set).
3. Protection: for each cell not yet certified, the cheapest set of printed cells whose
   hiding lets it move by ``protection`` -- a linear programme over perturbations
   ``d`` with ``A d = 0`` (the classic network-flow heuristic of cell suppression), on a
   growing neighbourhood; its integral solution is itself a witness. ``cost`` weighs
   what hiding each cell loses, ``keep`` marks cells (a district's own figures) hidden
   only when nothing else works, ``eligible`` / ``last_resort`` restrict the choice.
4. Confirmation: an exact audit (LP, or MILP when a vertex is fractional) of every
   primary cell still uncertified; back to 3 if one is unsafe.

Percentages whose numerator or denominator is hidden must be hidden too; that is the
caller's rule (:func:`hide_ratio`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from core.errors import SuppressionError
from geo import highs

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StatusArray = npt.NDArray[np.int8]

#: the count is printed
PUBLISHED = 0
#: a count of 1 .. threshold-1, printed as "<10"
PRIMARY = 1
#: a count >= threshold hidden to protect a primary cell, printed as "≥10"
SECONDARY = 2
#: a zero hidden to protect a primary cell, printed as "<10" (0 is fewer than 10)
SECONDARY_ZERO = 3
DEFAULT_THRESHOLD = 10
DEFAULT_PROTECTION = 2
#: what a reader knows of a "<10" cell's minimum: 0, since a withheld 0 also prints "<10"
DEFAULT_LT_LOWER = 0
#: random-objective witness solutions per component before exact bounds (at least, at most)
_MIN_WITNESS = 4
_MAX_WITNESS = 40

Constraint = tuple[Sequence[int], int]
"""``(parts, total)``: flat cell indices of the parts and of the cell they sum to."""


def marker(threshold: int = DEFAULT_THRESHOLD) -> tuple[str, str]:
    """The printed forms of a primary and a secondary cell: ``("<10", "≥10")``."""
    return f"<{threshold}", f"≥{threshold}"


def primary_mask(values: npt.ArrayLike, *, threshold: int = DEFAULT_THRESHOLD) -> npt.NDArray[np.bool_]:
    """Counts that primary suppression hides: ``1 <= value < threshold`` (0 stays printed)."""
    v = np.asarray(values, dtype=np.int64)
    return (v >= 1) & (v < threshold)


def hide_ratio(num_status: npt.ArrayLike, den_status: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether a ratio (a percentage) must be hidden: its numerator or denominator is hidden."""
    return (np.asarray(num_status) != PUBLISHED) | (np.asarray(den_status) != PUBLISHED)


# ------------------------------------------------------------------------------ the model


@dataclass
class _Model:
    """Cells and relations as sparse matrices: row r reads ``sum(parts) - total = 0``."""

    values: IntArray
    A: sp.csr_array  # M x N, +1 parts, -1 total
    At: sp.csr_array  # N x M (the rows of each cell)
    nz_row: IntArray  # row of each stored entry of A (CSR order)

    @classmethod
    def build(cls, values: npt.ArrayLike, constraints: Sequence[Constraint], *, check: bool = True) -> _Model:
        v = np.asarray(values, dtype=np.int64).ravel()
        n = v.shape[0]
        if check and (v < 0).any():
            msg = "counts must be non-negative"
            raise SuppressionError(msg)
        rows: list[int] = []
        cols: list[int] = []
        coef: list[int] = []
        for r, (parts, total) in enumerate(constraints):
            p = [int(i) for i in parts]
            rows.extend([r] * (len(p) + 1))
            cols.extend([*p, int(total)])
            coef.extend([1] * len(p) + [-1])
        if cols and (min(cols) < 0 or max(cols) >= n):
            msg = "a relation refers to a cell outside the table"
            raise SuppressionError(msg)
        A = sp.csr_array(
            (np.asarray(coef, dtype=np.int64), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(len(constraints), n),
        )
        A.sum_duplicates()
        A.eliminate_zeros()
        resid = A @ v
        if check and np.any(resid != 0):
            r = int(np.flatnonzero(resid)[0])
            msg = f"relation {r} does not hold: its parts sum to {int(resid[r])} more than its total"
            raise SuppressionError(msg)
        nz_row = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(A.indptr))
        return cls(values=v, A=A, At=sp.csr_array(A.T), nz_row=nz_row)

    def row(self, r: int) -> tuple[IntArray, IntArray]:
        a, b = self.A.indptr[r], self.A.indptr[r + 1]
        return self.A.indices[a:b], self.A.data[a:b]

    def rows_of(self, i: int) -> IntArray:
        a, b = self.At.indptr[i], self.At.indptr[i + 1]
        return self.At.indices[a:b]

    def rows_of_cells(self, cells: IntArray) -> IntArray:
        """The sorted rows any of ``cells`` is in."""
        return np.unique(_gather(self.At, cells))

    def cells_of_rows(self, rows: IntArray) -> IntArray:
        """The sorted cells of any of ``rows``."""
        return np.unique(_gather(self.A, rows))


def _gather(m: sp.csr_array, rows: IntArray) -> IntArray:
    """The column indices stored in the given rows of ``m``, concatenated (with repeats)."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = m.indptr[rows].astype(np.int64)
    lens = m.indptr[rows + 1].astype(np.int64) - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=m.indices.dtype)
    offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return m.indices[offsets + np.arange(total)]


def _bounds(
    status: StatusArray, values: IntArray, threshold: int, big: int, lt_lower: int = 0
) -> tuple[IntArray, IntArray]:
    """What the reader knows of each cell: printed = its value, "<t" = lt_lower..t-1, "≥t" = t..big."""
    lo = values.copy()
    hi = values.copy()
    lo[status == PRIMARY] = lt_lower
    hi[status == PRIMARY] = threshold - 1
    lo[status == SECONDARY] = threshold
    hi[status == SECONDARY] = big
    lo[status == SECONDARY_ZERO] = lt_lower
    hi[status == SECONDARY_ZERO] = threshold - 1
    return lo, hi


def _propagate(model: _Model, lo: IntArray, hi: IntArray, *, max_passes: int = 500) -> tuple[IntArray, IntArray]:
    """Tighten every cell's bounds from each relation in turn until nothing changes.

    Every step is a valid deduction, so the result bounds what an attacker can know from
    outside: a primary cell narrower than the protection here is certainly unsafe. The
    exact audit (:func:`_audit`) is still needed to prove the others safe.
    """
    lo = lo.copy()
    hi = hi.copy()
    c = model.A.indices
    a = model.A.data
    r = model.nz_row
    m = model.A.shape[0]
    pos = a > 0
    for _ in range(max_passes):
        tmin = np.where(pos, lo[c], -hi[c])
        tmax = np.where(pos, hi[c], -lo[c])
        smin = np.zeros(m, dtype=np.int64)
        smax = np.zeros(m, dtype=np.int64)
        np.add.at(smin, r, tmin)
        np.add.at(smax, r, tmax)
        rest_min = smin[r] - tmin
        rest_max = smax[r] - tmax
        cand_lo = np.where(pos, -rest_max, rest_min)
        cand_hi = np.where(pos, -rest_min, rest_max)
        new_lo = lo.copy()
        new_hi = hi.copy()
        np.maximum.at(new_lo, c, cand_lo)
        np.minimum.at(new_hi, c, cand_hi)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    if np.any(lo > hi):  # the true values are feasible: this cannot happen for a consistent table
        msg = "the disclosure audit found the printed table inconsistent"
        raise SuppressionError(msg)
    return lo, hi


# ------------------------------------------------------------------------------ choosing secondary cells


def _hidden_status(value: int) -> int:
    """Status of a printed cell hidden as a secondary cell: a zero prints "<10", others "≥10"."""
    return SECONDARY_ZERO if value == 0 else SECONDARY


def _cheapest(model: _Model, rows: Sequence[int], status: StatusArray, eligible: BoolArray, cost: FloatArray) -> int:
    """The cheapest printed count that may be hidden in ``rows`` (ties: lowest index), or -1."""
    if len(rows) == 0:
        return -1
    idx = np.concatenate([model.row(int(r))[0] for r in rows])
    idx = idx[(status[idx] == PUBLISHED) & eligible[idx]]
    if idx.size == 0:
        return -1
    return int(idx[np.lexsort((idx, cost[idx]))[0]])


def _single_hidden_pass(model: _Model, status: StatusArray, eligible: BoolArray, cost: FloatArray) -> int:
    """The classic rule: a relation with exactly one hidden cell gives it away; hide the cheapest other.

    Always necessary whatever else is hidden, so it never hides in vain; iterates until no
    relation has a single hidden cell (or none can be helped here). Returns cells hidden.
    """
    added = 0
    nz_hidden = (status[model.A.indices] != PUBLISHED).astype(np.int64)
    while True:
        per_row = np.add.reduceat(nz_hidden, model.A.indptr[:-1]) if nz_hidden.size else np.zeros(0, np.int64)
        per_row[np.diff(model.A.indptr) == 0] = 0
        single = np.flatnonzero(per_row == 1)
        changed = False
        for r in single.tolist():
            idx, _ = model.row(r)
            if np.count_nonzero(status[idx] != PUBLISHED) != 1:
                continue  # fixed earlier in this sweep
            c = _cheapest(model, [r], status, eligible, cost)
            if c < 0:
                continue  # the exact protection below finds a cell farther away
            status[c] = _hidden_status(int(model.values[c]))
            added += 1
            changed = True
        if not changed:
            return added
        nz_hidden = (status[model.A.indices] != PUBLISHED).astype(np.int64)


def _neighbourhood(model: _Model, i: int, variable: BoolArray, depth: int | None) -> IntArray:
    """Cells that may move (hidden or hideable) within ``depth`` relations of cell ``i`` (all: None)."""
    seen = np.zeros(model.values.shape[0], dtype=bool)
    seen[i] = True
    seen_rows = np.zeros(model.A.shape[0], dtype=bool)
    frontier = np.array([i], dtype=np.int64)
    level = 0
    while frontier.size and (depth is None or level < depth):
        rows = model.rows_of_cells(frontier)
        rows = rows[~seen_rows[rows]]
        seen_rows[rows] = True
        if rows.size == 0:
            break
        members = model.cells_of_rows(rows)
        new = members[variable[members] & ~seen[members]]
        seen[new] = True
        frontier = new
        level += 1
    return np.flatnonzero(seen)


def _protect(
    model: _Model,
    i: int,
    status: StatusArray,
    lo: IntArray,
    hi: IntArray,
    eligible: BoolArray,
    cost: FloatArray,
    *,
    threshold: int,
    protection: int,
    big: int,
    stats: _Stats,
) -> tuple[IntArray, IntArray, list[FloatArray]] | None:
    """The cheapest set of printed cells whose hiding lets primary cell ``i`` move by ``protection``.

    A linear programme over the perturbations ``d`` of the cells near ``i``: ``A d = 0``,
    every hidden cell stays within what the attacker knows of it, a hideable printed
    cell ``j`` may move as far as a hidden one could (``>= threshold``, or ``0..t-1`` for
    a zero) at a price ``cost[j]`` per unit, every other printed cell stays put, and
    ``d_i`` is a given step. Its support on printed cells is what must be hidden;
    ``values + d`` is then a second table the attacker cannot tell from the true one (a
    witness of ``i``'s safety). Steps ``+protection`` or ``-protection`` are tried, then
    pairs ``+a`` and ``-(protection - a)``. The neighbourhood grows until one works.

    Returns
    -------
    ``(cells, to_hide, perturbations)`` -- the cells of the programme, the printed ones
    among them to hide, and one perturbation per step -- or None when no hideable cell
    can protect ``i``.
    """
    hidden = status != PUBLISHED
    variable = hidden | ((status == PUBLISHED) & eligible)
    options = [(protection,), (-protection,), *[(a, a - protection) for a in range(1, protection)]]
    for depth in (3, 6, None):
        prog = _PerturbationLp(
            model, i, _neighbourhood(model, i, variable, depth), hidden, lo, hi, cost, threshold=threshold, big=big
        )
        best: tuple[float, IntArray, list[FloatArray]] | None = None
        for option in options:
            found = [prog.step(st, stats) for st in option]
            steps = [f for f in found if f is not None]
            if len(steps) < len(found):
                continue
            to_hide = np.unique(np.concatenate([f[0] for f in steps]))
            total = float(cost[to_hide].sum())
            if best is None or total < best[0]:
                best = (total, to_hide, [f[1] for f in steps])
        if best is not None:
            return prog.cells, best[1], best[2]
    return None


class _PerturbationLp:
    """The programme of :func:`_protect` on one neighbourhood (columns: ``d`` of hidden cells,
    ``p`` and ``q`` of hideable printed ones, ``d = p - q``)."""

    def __init__(
        self,
        model: _Model,
        i: int,
        cells: IntArray,
        hidden: BoolArray,
        lo: IntArray,
        hi: IntArray,
        cost: FloatArray,
        *,
        threshold: int,
        big: int,
    ) -> None:
        v = model.values
        self.i, self.cells = i, cells
        self.v_i, self.lo_i, self.hi_i = int(v[i]), int(lo[i]), int(hi[i])
        rows = model.rows_of_cells(cells)
        A = model.A[rows][:, cells]
        free = hidden[cells]
        self.hid = np.flatnonzero(free)
        self.pub = np.flatnonzero(~free)
        nh, npub = self.hid.shape[0], self.pub.shape[0]
        Ap = A[:, self.pub]
        self.M = sp.hstack([A[:, self.hid], Ap, -Ap], format="csr")
        self.c = np.concatenate([np.zeros(nh), cost[cells[self.pub]], cost[cells[self.pub]]])
        vp = v[cells[self.pub]]
        # a hideable printed count may become anything a hidden one could be: >= threshold, or 0..t-1 for a 0
        up = np.where(vp == 0, threshold - 1, big - vp)
        down = np.where(vp == 0, 0, vp - threshold)
        vh = v[cells[self.hid]]
        self.lb = np.concatenate([lo[cells[self.hid]] - vh, np.zeros(2 * npub)]).astype(np.float64)
        self.ub = np.concatenate([hi[cells[self.hid]] - vh, up, down]).astype(np.float64)
        self.k = int(np.flatnonzero(cells[self.hid] == i)[0])
        self._memo: dict[int, tuple[IntArray, FloatArray] | None] = {}
        self._lp: highs.Model | None = None

    def step(self, step: int, stats: _Stats) -> tuple[IntArray, FloatArray] | None:
        """The cheapest perturbation moving cell ``i`` by ``step``: (printed cells to hide, d), or None.

        The programme stays loaded in HiGHS (presolve off) and the steps re-solve warm from
        the last basis: only the bounds of ``d_i`` change between them.
        """
        if step in self._memo:
            return self._memo[step]
        self._memo[step] = None
        if not (self.lo_i <= self.v_i + step <= self.hi_i):
            return None
        if self._lp is None:
            zero = np.zeros(self.M.shape[0])
            self._lp = highs.Model(
                self.c, self.M, row_lower=zero, row_upper=zero, col_lower=self.lb, col_upper=self.ub, presolve=False
            )
        self._lp.set_col_bounds([self.k], float(step), float(step))
        res = self._lp.solve()
        stats.solves += 1
        if not res.optimal:
            return None
        x = res.x
        nh, npub = self.hid.shape[0], self.pub.shape[0]
        d = np.zeros(self.cells.shape[0])
        d[self.hid] = x[:nh]
        move = x[nh : nh + npub] - x[nh + npub :]
        d[self.pub] = move
        # a fractional perturbation still says which cells must be hidden; it is no witness
        # (NaN), and the confirming audit checks the cell exactly
        integral = np.abs(x - np.rint(x)).max(initial=0.0) <= 1e-6
        found = (self.cells[self.pub[np.abs(move) > 1e-9]], np.rint(d) if integral else np.full_like(d, np.nan))
        self._memo[step] = found
        return found


# ------------------------------------------------------------------------------ exact audit


@dataclass
class _Stats:
    components: int = 0
    solves: int = 0
    last_resort: int = 0


def _milp(
    c: FloatArray, A: sp.csr_array, b: FloatArray, lo: IntArray, hi: IntArray, start: FloatArray | None = None
) -> FloatArray:
    """An integer optimum of ``c @ x`` subject to ``A x = b``, ``lo <= x <= hi`` (proven: no gap).

    ``start``, a known integer solution (the true table), gives HiGHS its first incumbent.
    """
    res = highs.solve(
        c,
        A,
        row_lower=b,
        row_upper=b,
        col_lower=lo.astype(np.float64),
        col_upper=hi.astype(np.float64),
        integrality=np.ones(c.shape[0], dtype=bool),
        mip_rel_gap=0.0,
        start=start,
    )
    if not res.optimal:  # cannot happen for a consistent table: the true values are feasible
        msg = f"the disclosure audit found no solution ({res.status})"
        raise SuppressionError(msg)
    return np.rint(res.x)


class _Lp:
    """One component's linear relaxation, kept in HiGHS and re-solved warm for each objective.

    Vertex solutions of these tables are nearly always integral; a fractional one is
    never used as a witness, and an exact bound with a fractional optimum is recomputed
    as an integer programme (:func:`_milp`). The relaxation stays loaded in HiGHS
    (:class:`geo.highs.Model`) and re-solves warm (about 5x faster than ``linprog``).
    """

    def __init__(
        self, A: sp.csr_array, b: FloatArray, lo: IntArray, hi: IntArray, truth: FloatArray | None = None
    ) -> None:
        self.A, self.b, self.lo, self.hi, self.truth = A, b, lo, hi, truth
        self.n = A.shape[1]
        self._model = highs.Model(
            np.zeros(self.n),
            A,
            row_lower=b,
            row_upper=b,
            col_lower=lo.astype(np.float64),
            col_upper=hi.astype(np.float64),
        )

    def solve(self, c: FloatArray) -> tuple[FloatArray, bool]:
        """A vertex optimum of ``c @ x`` and whether it is integral."""
        self._model.set_cost(c)
        res = self._model.solve()
        if not res.optimal:
            msg = "the disclosure audit found no solution"
            raise SuppressionError(msg)
        x = res.x
        r = np.rint(x)
        integral = bool(np.abs(x - r).max(initial=0.0) < 1e-6)
        return (r if integral else np.asarray(x, dtype=np.float64)), integral

    def integer(self, c: FloatArray) -> FloatArray:
        """An integer optimum (the LP's vertex when integral, else an integer programme)."""
        x, integral = self.solve(c)
        return x if integral else _milp(c, self.A, self.b, self.lo, self.hi, start=self.truth)


def _components(model: _Model, unknown: IntArray) -> list[tuple[IntArray, IntArray]]:
    """Groups of hidden cells linked by relations: ``(cells, rows)`` per group."""
    sub = model.A[:, unknown]
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[rows]
    u, m = unknown.shape[0], rows.shape[0]
    inc = sp.csr_array((np.ones(sub.nnz), sub.indices, sub.indptr), shape=(m, u))
    graph = sp.block_array([[None, inc.T], [inc, None]], format="csr")
    _, lab = connected_components(graph, directed=False)
    cell_lab, row_lab = lab[:u], lab[u:]
    row_groups: dict[int, list[int]] = {}
    for k, lab_r in enumerate(row_lab.tolist()):
        row_groups.setdefault(lab_r, []).append(int(rows[k]))
    order_c = np.argsort(cell_lab, kind="stable")
    split = np.flatnonzero(np.diff(cell_lab[order_c])) + 1
    out: list[tuple[IntArray, IntArray]] = []
    for grp in np.split(order_c, split):
        if grp.size:
            out.append((unknown[grp], np.asarray(row_groups.get(int(cell_lab[grp[0]]), []), dtype=np.int64)))
    return out


def _component_widths(
    model: _Model,
    cells: IntArray,
    rows: IntArray,
    lo: IntArray,
    hi: IntArray,
    targets: BoolArray,
    *,
    protection: int | None,
    rng: np.random.Generator,
    stats: _Stats,
    exact: bool = True,
) -> tuple[IntArray, IntArray]:
    """Feasible interval of the component's cells (exact where needed).

    With ``protection`` set, a target cell is settled as soon as two integer solutions
    (witnesses: random objectives, then its own minimum and maximum) differ by at least
    ``protection`` in it; its returned interval is then the observed one, inside the true
    one. Without, every target gets its exact integer minimum and maximum.
    """
    A = model.A[rows][:, cells]
    known = np.ones(model.values.shape[0], dtype=bool)
    known[cells] = False
    b = -(model.A[rows][:, known] @ model.values[known]).astype(np.float64)
    obs_lo = model.values[cells].astype(np.int64).copy()  # the truth is one solution
    obs_hi = obs_lo.copy()
    if not targets.any():
        return obs_lo, obs_hi
    stats.components += 1
    lp = _Lp(A, b, lo[cells], hi[cells], truth=model.values[cells].astype(np.float64))

    def see(x: FloatArray) -> None:
        xi = x.astype(np.int64)
        np.minimum(obs_lo, xi, out=obs_lo)
        np.maximum(obs_hi, xi, out=obs_hi)

    if protection is not None:
        open_n = int((targets & (obs_hi - obs_lo < protection)).sum())
        for k in range(_MAX_WITNESS):
            if open_n == 0:
                break
            x, integral = lp.solve(rng.standard_normal(size=(cells.shape[0],)))
            stats.solves += 1
            if integral:
                see(x)
            now = int((targets & (obs_hi - obs_lo < protection)).sum())
            if k + 1 >= _MIN_WITNESS and now > open_n * 0.9:
                break  # witnesses stopped paying off: exact bounds for the rest
            open_n = now
    if not exact:
        return obs_lo, obs_hi
    for k in np.flatnonzero(targets).tolist():
        for sign in (1.0, -1.0):
            if protection is not None and obs_hi[k] - obs_lo[k] >= protection:
                break
            c = np.zeros(cells.shape[0])
            c[k] = sign
            see(lp.integer(c))
            stats.solves += 1
    return obs_lo, obs_hi


def _audit(
    model: _Model,
    status: StatusArray,
    lo: IntArray,
    hi: IntArray,
    *,
    protection: int | None,
    stats: _Stats,
    all_hidden: bool = False,
    only: BoolArray | None = None,
    exact: bool = True,
    seed: int = 0,
) -> tuple[IntArray, IntArray]:
    """Interval of every hidden cell given the printed ones and the bounds ``lo``, ``hi``.

    Primary cells (every hidden cell with ``all_hidden``) get their exact interval, or an
    observed one at least ``protection`` wide; with ``exact`` false only the observed
    range of the witness solutions (inside the exact one). A hidden cell in no relation
    keeps its bounds.
    """
    out_lo, out_hi = lo.copy(), hi.copy()
    unknown = np.flatnonzero(status != PUBLISHED)
    if unknown.size == 0:
        return out_lo, out_hi
    rng = np.random.default_rng(seed)
    for cells, rows in _components(model, unknown):
        targets = np.ones(cells.shape[0], dtype=bool) if all_hidden else status[cells] == PRIMARY
        if only is not None:
            targets &= only[cells]
        if rows.size == 0 or not targets.any():
            continue
        clo, chi = _component_widths(
            model, cells, rows, lo, hi, targets, protection=protection, rng=rng, stats=stats, exact=exact
        )
        out_lo[cells[targets]], out_hi[cells[targets]] = clo[targets], chi[targets]
    return out_lo, out_hi


# ------------------------------------------------------------------------------ public API


@dataclass(frozen=True)
class SuppressionResult:
    """The outcome of :func:`suppress`.

    Attributes
    ----------
    status : int8 array, one per cell: :data:`PUBLISHED`, :data:`PRIMARY` or :data:`SECONDARY`.
    lower, upper : int arrays, the attacker's interval of every primary cell after
        suppression (a printed cell's value twice; a secondary cell's bounds). For a
        primary cell certified safe by witness solutions the interval is the observed one,
        which lies inside the exact one.
    rounds : protect-and-confirm rounds needed.
    protection : the width every primary interval reaches.
    stats : ``components`` audited, linear / integer programmes ``solves``d, and
        ``last_resort`` cells protected only by hiding cells outside the eligible set.
    """

    status: StatusArray
    lower: IntArray
    upper: IntArray
    rounds: int
    protection: int
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n_primary(self) -> int:
        return int((self.status == PRIMARY).sum())

    @property
    def n_secondary(self) -> int:
        return int(np.isin(self.status, (SECONDARY, SECONDARY_ZERO)).sum())

    @property
    def unsafe(self) -> IntArray:
        """Primary cells still narrower than ``protection`` (empty after a successful run)."""
        return np.flatnonzero((self.status == PRIMARY) & (self.upper - self.lower < self.protection))


def suppress(
    values: npt.ArrayLike,
    constraints: Sequence[Constraint],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = DEFAULT_PROTECTION,
    status: npt.ArrayLike | None = None,
    eligible: npt.ArrayLike | None = None,
    cost: npt.ArrayLike | None = None,
    keep: npt.ArrayLike | None = None,
    last_resort: npt.ArrayLike | None = None,
    lt_lower: int = DEFAULT_LT_LOWER,
    max_rounds: int = 20,
    seed: int = 0,
) -> SuppressionResult:
    """Primary and secondary suppression of counts linked by published totals.

    Parameters
    ----------
    values : array-like of int
        The true counts, one per cell (flat index).
    constraints : sequence of ``(parts, total)``
        Each says ``sum(values[parts]) == values[total]`` and is known to the reader.
    threshold : int
        Counts from 1 to ``threshold - 1`` are primary-suppressed.
    protection : int
        Minimum width ``upper - lower`` of the feasible interval of every primary cell.
    status : array-like of int8, optional
        A previous suppression to extend (e.g. of the cells that do not depend on the
        analysis settings); its hidden cells stay hidden.
    eligible : array-like of bool, optional
        Cells that may be hidden as secondary cells (all by default); only counts of at
        least ``threshold`` ever are.
    cost : array-like of float, optional
        Information lost by hiding each cell (its value by default); the cheapest cells
        that protect a primary cell are hidden. Weigh totals of large areas up to keep
        them printed.
    keep : array-like of bool, optional
        Eligible cells to hide only when the others cannot protect a primary cell (e.g.
        the district's own figures).
    last_resort : array-like of bool, optional
        Cells that may be hidden only when no eligible cell can protect a primary cell
        (counted in ``stats["last_resort"]`` and logged).
    lt_lower : int
        The least value a reader assumes behind ``"<10"``: 0 (the printed rule: a withheld
        zero prints ``"<10"`` too) or 1 (a reader who takes every ``"<10"`` for 1-9).
    max_rounds : int
        Protect-and-confirm rounds before giving up (one or two are usual).
    seed : int
        Seed of the witness objectives (the result is deterministic for a given seed).

    Returns
    -------
    SuppressionResult

    Raises
    ------
    SuppressionError
        When a relation does not hold for ``values``, or a primary cell cannot be made
        safe (no printable count is left to hide next to it).
    """
    model = _Model.build(values, constraints)
    v = model.values
    n = v.shape[0]
    st = np.zeros(n, dtype=np.int8) if status is None else np.asarray(status, dtype=np.int8).copy()
    if st.shape[0] != n:
        msg = "status must have one entry per cell"
        raise SuppressionError(msg)
    if np.any((st == SECONDARY) & (v < threshold)) or np.any((st == SECONDARY_ZERO) & (v != 0)):
        msg = f"a secondary cell must hold 0 or at least {threshold}"
        raise SuppressionError(msg)
    st[(st == PUBLISHED) & primary_mask(v, threshold=threshold)] = PRIMARY
    hideable = (v >= threshold) | (v == 0)
    elig = np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool).copy()
    elig &= hideable
    w = np.maximum(v, threshold).astype(np.float64) if cost is None else np.asarray(cost, dtype=np.float64)
    big = max(int(v.max()) if n else 0, threshold)
    stats = _Stats()
    _single_hidden_pass(model, st, elig if keep is None else elig & ~np.asarray(keep, dtype=bool), w)
    lo, hi = _bounds(st, v, threshold, big, lt_lower)
    # witnesses: integer tables the attacker cannot tell from the true one
    obs_lo, obs_hi = _audit(model, st, lo, hi, protection=protection, stats=stats, seed=seed, exact=False)
    fallback = np.zeros(n, dtype=bool) if last_resort is None else np.asarray(last_resort, dtype=bool) & hideable
    keep_mask = np.zeros(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    tiers = [elig & ~keep_mask, elig, elig | fallback]
    tiers = [t for k, t in enumerate(tiers) if k == 0 or not np.array_equal(t, tiers[k - 1])]
    n_last = 0
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        todo = np.flatnonzero((st == PRIMARY) & (obs_hi - obs_lo < protection))
        if todo.size == 0:
            break
        for i in todo.tolist():
            if obs_hi[i] - obs_lo[i] >= protection:
                continue  # a witness found for another cell settled this one too
            lo, hi = _bounds(st, v, threshold, big, lt_lower)
            found = None
            for tier, mask in enumerate(tiers):
                found = _protect(
                    model, i, st, lo, hi, mask, w, threshold=threshold, protection=protection, big=big, stats=stats
                )
                if found is not None:
                    n_last += int(tier == len(tiers) - 1 and fallback.any())
                    break
            if found is None:
                msg = f"cell {i} (value {int(v[i])}) cannot be protected: nothing printable is left to hide"
                raise SuppressionError(msg)
            cells, to_hide, moves = found
            st[to_hide] = np.where(v[to_hide] == 0, SECONDARY_ZERO, SECONDARY)
            for d in moves:
                if np.isnan(d).any():
                    continue
                x = v[cells] + d.astype(np.int64)
                obs_lo[cells] = np.minimum(obs_lo[cells], x)
                obs_hi[cells] = np.maximum(obs_hi[cells], x)
        # every hidden cell's interval can only have grown: confirm the rest exactly
        lo, hi = _bounds(st, v, threshold, big, lt_lower)
        e_lo, e_hi = _audit(model, st, lo, hi, protection=protection, stats=stats, seed=seed + rounds)
        obs_lo, obs_hi = np.minimum(obs_lo, e_lo), np.maximum(obs_hi, e_hi)
    else:
        msg = f"secondary suppression did not converge in {max_rounds} rounds"
        raise SuppressionError(msg)
    if n_last:
        log.info("%d cell(s) could only be protected by hiding cells outside the eligible set", n_last)
    lo, hi = obs_lo, obs_hi
    stats.last_resort = n_last
    log.debug(
        "suppression: %d cells, %d primary, %d secondary, %d rounds, %d solves",
        n,
        int((st == PRIMARY).sum()),
        int((st == SECONDARY).sum()),
        rounds,
        stats.solves,
    )
    return SuppressionResult(
        status=st,
        lower=lo,
        upper=hi,
        rounds=rounds,
        protection=protection,
        stats={"components": stats.components, "solves": stats.solves, "last_resort": stats.last_resort},
    )


def feasible_intervals(
    values: npt.ArrayLike,
    status: npt.ArrayLike,
    constraints: Sequence[Constraint],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    upper_bound: int | None = None,
    lt_lower: int = DEFAULT_LT_LOWER,
    cells: npt.ArrayLike | None = None,
) -> tuple[IntArray, IntArray]:
    """The attacker's exact interval of every hidden cell, given what is printed.

    Parameters
    ----------
    values : array-like of int
        The true values (printed cells are what is printed; hidden ones only serve as one
        feasible solution). To attack from printed marks alone, see :func:`recoverable_cells`.
    status : array-like of int8
        :data:`PUBLISHED`, :data:`PRIMARY` (known to be 1..threshold-1) or
        :data:`SECONDARY` (known to be >= threshold).
    constraints : relations ``(parts, total)``.
    upper_bound : int, optional
        Largest value any cell may take (the largest value by default).
    lt_lower : int
        The least value the attacker assumes behind ``"<10"`` (see :func:`suppress`).
    cells : array-like of int, optional
        Only these cells' intervals are computed (the others keep what their mark says).

    Returns
    -------
    (lower, upper) : int arrays, the minimum and maximum of each hidden cell over all
        integer tables consistent with the printed values (a printed cell's value twice).
    """
    model = _Model.build(values, constraints)
    st = np.asarray(status, dtype=np.int8)
    big = int(upper_bound) if upper_bound is not None else max(int(model.values.max()), threshold)
    lo, hi = _propagate(model, *_bounds(st, model.values, threshold, big, lt_lower))
    only = None
    if cells is not None:
        only = np.zeros(model.values.shape[0], dtype=bool)
        only[np.asarray(cells, dtype=np.int64)] = True
    return _audit(model, st, lo, hi, protection=None, stats=_Stats(), all_hidden=True, only=only)


class RecoveredCell(NamedTuple):
    """A hidden cell of a printed table and the interval an attacker narrows it to."""

    row: int
    col: int
    lower: int
    upper: int


def _parse_printed(cell: object, threshold: int) -> tuple[int, int | None]:
    """``(status, value)`` of a printed cell: a number, ``"<10"`` or ``"≥10"``."""
    lt, ge = marker(threshold)
    if isinstance(cell, str):
        s = cell.strip()
        if s == lt:
            return PRIMARY, None
        if s in (ge, f">={threshold}"):
            return SECONDARY, None
        try:
            return PUBLISHED, int(s)
        except ValueError:
            msg = f"not a printed count: {cell!r}"
            raise SuppressionError(msg) from None
    if isinstance(cell, int | np.integer):
        return PUBLISHED, int(cell)
    msg = f"not a printed count: {cell!r}"
    raise SuppressionError(msg)


def recoverable_cells(
    table: Sequence[Sequence[object]] | npt.ArrayLike,
    *,
    row_totals: Sequence[object] | None = None,
    col_totals: Sequence[object] | None = None,
    grand_total: object | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = 1,
    lt_lower: int = DEFAULT_LT_LOWER,
) -> list[RecoveredCell]:
    """The subtraction attack (and every sharper one) on a printed two-way table.

    Each printed cell is a number, ``"<10"`` or ``"≥10"``. Interior cells sum to the row
    totals and column totals when given; those sum to the grand total when it is given.
    The attacker's exact integer intervals are computed for the hidden interior cells.

    Parameters
    ----------
    table : rows of printed cells.
    row_totals, col_totals : printed totals of each row / column, optional.
    grand_total : printed grand total, optional.
    protection : a hidden cell is reported when ``upper - lower < protection``; the
        default 1 reports the cells the attacker recovers exactly.
    lt_lower : the least value assumed behind ``"<10"`` (0: a withheld zero prints so too).

    Returns
    -------
    list of RecoveredCell
        ``(row, col, lower, upper)`` of every hidden interior cell narrower than
        ``protection``, in row-major order.
    """
    rows = [list(r) for r in np.asarray(table, dtype=object)]
    nr = len(rows)
    nc = len(rows[0]) if nr else 0
    printed: list[object] = [c for r in rows for c in r]
    idx_row: list[int] = []
    idx_col: list[int] = []
    if row_totals is not None:
        idx_row = list(range(len(printed), len(printed) + nr))
        printed.extend(row_totals)
    if col_totals is not None:
        idx_col = list(range(len(printed), len(printed) + nc))
        printed.extend(col_totals)
    idx_grand = -1
    if grand_total is not None:
        idx_grand = len(printed)
        printed.append(grand_total)
    parsed = [_parse_printed(c, threshold) for c in printed]
    status = np.array([p[0] for p in parsed], dtype=np.int8)
    known = [p[1] for p in parsed if p[1] is not None]
    big = max([*known, threshold]) if known else threshold
    constraints: list[Constraint] = []
    for i in range(nr):
        if idx_row:
            constraints.append(([i * nc + j for j in range(nc)], idx_row[i]))
    for j in range(nc):
        if idx_col:
            constraints.append(([i * nc + j for i in range(nr)], idx_col[j]))
    if idx_grand >= 0 and idx_row:
        constraints.append((idx_row, idx_grand))
    if idx_grand >= 0 and idx_col:
        constraints.append((idx_col, idx_grand))
    lo, hi = _attack(status, [p[1] for p in parsed], constraints, threshold=threshold, big=big, lt_lower=lt_lower)
    out: list[RecoveredCell] = []
    for k in range(nr * nc):
        if status[k] != PUBLISHED and hi[k] - lo[k] < protection:
            out.append(RecoveredCell(k // nc, k % nc, int(lo[k]), int(hi[k])))
    return out


def _attack(
    status: StatusArray,
    known: list[int | None],
    constraints: Sequence[Constraint],
    *,
    threshold: int,
    big: int,
    lt_lower: int,
) -> tuple[IntArray, IntArray]:
    """Exact min / max of every hidden cell from printed values only (no true values needed)."""
    printed = np.array([0 if k is None else k for k in known], dtype=np.int64)
    model = _Model.build(printed, constraints, check=False)
    lo, hi = _bounds(status, printed, threshold, big, lt_lower)
    out_lo, out_hi = lo.copy(), hi.copy()
    hidden = np.flatnonzero(status != PUBLISHED)
    if hidden.size == 0 or not constraints:
        return out_lo, out_hi
    pub = np.flatnonzero(status == PUBLISHED)
    b = -(model.A[:, pub] @ printed[pub]).astype(np.float64)
    for cells, rows in _components(model, hidden):
        if rows.size == 0:
            continue
        A = model.A[rows][:, cells]
        for k in range(cells.shape[0]):
            for sign in (1.0, -1.0):
                c = np.zeros(cells.shape[0])
                c[k] = sign
                x = _milp(c, A, b[rows], lo[cells], hi[cells])
                if sign > 0:
                    out_lo[cells[k]] = int(x[k])
                else:
                    out_hi[cells[k]] = int(x[k])
    return out_lo, out_hi


# ------------------------------------------------------------------------------ screens


def count_text(status: int, value: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count as printed from its status: the number, ``"<10"`` or ``"≥10"``."""
    if status == PUBLISHED:
        return str(int(value))
    lt, ge = marker(threshold)
    return ge if status == SECONDARY else lt


def printed_order(values: pd.Series, ge: str) -> pd.Series:
    """A sort key on printed counts: numbers (largest first), then ``"≥10"``, then ``"<10"``.

    Printed numbers may be ints or digit strings. Sorting on the true values would tell
    the order of hidden counts.
    """

    def key(v: object) -> tuple[int, int]:
        if isinstance(v, int | np.integer) or (isinstance(v, str) and v.isdigit()):
            return (0, -int(v))  # type: ignore[arg-type]
        return (1, 0) if v == ge else (2, 0)

    return values.map(key)


def count_alone(value: int, *, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count printed with no related figure on the same screen: ``"<10"`` for 1-9."""
    v = int(value)
    return count_text(PRIMARY if 1 <= v < threshold else PUBLISHED, v, threshold)


@dataclass(frozen=True)
class ShownScreen:
    """The print status of every cell of a :class:`Screen`."""

    values: IntArray
    status: StatusArray
    threshold: int

    def printed(self, i: int) -> bool:
        return bool(self.status[i] == PUBLISHED)

    def text(self, i: int) -> str:
        """Cell ``i`` as printed: ``"12"``, ``"<10"`` or ``"≥10"``."""
        return count_text(int(self.status[i]), int(self.values[i]), self.threshold)

    def texts(self, cells: npt.ArrayLike) -> list[str]:
        return [self.text(int(i)) for i in np.asarray(cells, dtype=np.int64).ravel()]

    def bounds(self, i: int) -> tuple[float, float]:
        """What the printed text says of cell ``i``: ``(v, v)``, ``(0, 9)`` or ``(10, inf)``."""
        st = int(self.status[i])
        if st == PUBLISHED:
            return float(self.values[i]), float(self.values[i])
        if st == SECONDARY:
            return float(self.threshold), math.inf
        return 0.0, float(self.threshold - 1)

    def pct(self, num: int, den: int) -> tuple[str, float, float]:
        """A share as printed: ``("87.5%", p, p)`` when both counts print, else ``("—", 0, 100)``.

        ``(lower, upper)`` are NaN for a printed empty denominator.
        """
        if self.printed(num) and self.printed(den):
            d = int(self.values[den])
            if d == 0:
                return HIDDEN_MARK, math.nan, math.nan
            p = 100.0 * int(self.values[num]) / d
            return f"{p:.1f}%", p, p
        return HIDDEN_MARK, 0.0, 100.0


#: a share that cannot be printed
HIDDEN_MARK = "—"


@dataclass
class Screen:
    """The counts one screen (or file) shows together and the relations a reader knows.

    Add cells with :meth:`cell` / :meth:`cells` (``printed=False`` for a count that is
    not shown but takes part in a relation, e.g. households without a category), add
    ``sum(parts) == total`` relations with :meth:`relate`, then :meth:`protect`.
    ``weight`` scales the cost of withholding a cell (large areas' figures higher);
    ``keep`` marks cells withheld only when nothing else protects a small count.
    """

    threshold: int = DEFAULT_THRESHOLD
    values: list[int] = field(default_factory=list)
    shown: list[bool] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    keep: list[bool] = field(default_factory=list)
    relations: list[Constraint] = field(default_factory=list)

    def cells(
        self, values: npt.ArrayLike, *, printed: bool = True, weight: float = 1.0, keep: bool = False
    ) -> IntArray:
        """Add counts as cells; returns their indices (same shape as ``values``)."""
        v = np.asarray(values, dtype=np.int64)
        if (v < 0).any():
            msg = "counts must be non-negative"
            raise SuppressionError(msg)
        start = len(self.values)
        self.values.extend(v.ravel().tolist())
        self.shown.extend([printed] * v.size)
        self.weight.extend([weight] * v.size)
        self.keep.extend([keep] * v.size)
        return np.arange(start, start + v.size, dtype=np.int64).reshape(v.shape)

    def cell(self, value: int, *, printed: bool = True, weight: float = 1.0, keep: bool = False) -> int:
        return int(self.cells([int(value)], printed=printed, weight=weight, keep=keep)[0])

    def relate(self, parts: Sequence[int] | npt.ArrayLike, total: int) -> None:
        """Known to the reader: ``sum(values[parts]) == values[total]``."""
        self.relations.append(([int(i) for i in np.asarray(parts, dtype=np.int64).ravel()], int(total)))

    def partition(self, parts: npt.ArrayLike, total: int, *, weight: float = 1.0) -> None:
        """Relate ``parts`` to ``total``, with an unprinted remainder cell when they fall short."""
        idx = [int(i) for i in np.asarray(parts, dtype=np.int64).ravel()]
        rest = self.values[total] - sum(self.values[i] for i in idx)
        if rest < 0:
            msg = f"parts ({self.values[total] - rest}) exceed their total ({self.values[total]})"
            raise SuppressionError(msg)
        if rest:
            idx.append(self.cell(rest, printed=False, weight=weight))
        self.relate(idx, total)

    def protect(self, *, protection: int = DEFAULT_PROTECTION, seed: int = 0) -> ShownScreen:
        """Primary and secondary suppression of the screen (see the module docstring)."""
        t = self.threshold
        v = np.asarray(self.values, dtype=np.int64)
        shown = np.asarray(self.shown, dtype=bool)
        if v.size == 0:
            return ShownScreen(values=v, status=np.zeros(0, dtype=np.int8), threshold=t)
        init = np.zeros(v.shape[0], dtype=np.int8)
        hidden_kind = np.where(v == 0, SECONDARY_ZERO, np.where(v < t, PRIMARY, SECONDARY)).astype(np.int8)
        init[~shown] = hidden_kind[~shown]
        res = suppress(
            v,
            self.relations,
            threshold=t,
            protection=protection,
            status=init,
            eligible=shown,
            cost=np.maximum(v, t) * np.asarray(self.weight, dtype=np.float64),
            keep=np.asarray(self.keep, dtype=bool),
            seed=seed,
        )
        return ShownScreen(values=v, status=res.status, threshold=t)


#: columns of a protected hexagon table (:func:`protect_hexes`), besides ``<category>_txt``
HEX_DISPLAY_COLUMNS = (
    "n_txt", "covered_txt", "uncovered_txt", "pct_txt", "pct_lower", "pct_upper", "n_lower", "n_upper",
    "covered_lower", "covered_upper", "uncovered_lower", "uncovered_upper",
)  # fmt: skip


def _add_hexes(
    screen: Screen, hexes: pd.DataFrame, category_cols: Sequence[str]
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Cells ``n, covered, uncovered`` (and categories) of every hex, with their relations."""
    n = hexes["n"].to_numpy(dtype=np.int64)
    cov = hexes["covered"].to_numpy(dtype=np.int64)
    if (cov > n).any():
        msg = "a hexagon has more covered households than households"
        raise SuppressionError(msg)
    cells = screen.cells(np.column_stack([n, cov, n - cov]))
    cats = hexes[list(category_cols)].to_numpy(dtype=np.int64) if category_cols else np.zeros((len(n), 0), np.int64)
    cat_cells = screen.cells(cats)
    for k in range(len(n)):
        screen.relate(cells[k, 1:], int(cells[k, 0]))
        if category_cols:
            screen.partition(cat_cells[k], int(cells[k, 0]))
    return cells[:, 0], cells[:, 1], cells[:, 2], cat_cells


def _hex_display(
    shown: ShownScreen,
    index: pd.Index,
    cells: tuple[IntArray, IntArray, IntArray, IntArray],
    category_cols: Sequence[str],
) -> pd.DataFrame:
    n_c, cov_c, unc_c, cat_c = cells
    rows: list[dict[str, Any]] = []
    for k in range(len(n_c)):
        row: dict[str, Any] = {}
        for name, c in (("n", n_c[k]), ("covered", cov_c[k]), ("uncovered", unc_c[k])):
            row[f"{name}_txt"] = shown.text(int(c))
            row[f"{name}_lower"], row[f"{name}_upper"] = shown.bounds(int(c))
        row["n_lower"] = max(row["n_lower"], 1.0)  # a hexagon holds at least one household
        row["pct_txt"], row["pct_lower"], row["pct_upper"] = shown.pct(int(cov_c[k]), int(n_c[k]))
        for j, col in enumerate(category_cols):
            row[f"{col}_txt"] = shown.text(int(cat_c[k, j]))
        rows.append(row)
    columns = [*HEX_DISPLAY_COLUMNS, *[f"{c}_txt" for c in category_cols]]
    return pd.DataFrame(rows, index=index, columns=columns)


def protect_hexes(
    hexes: pd.DataFrame,
    *,
    category_cols: Sequence[str] = (),
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """The figures of hexagons shown on their own (a map without tables), protected together.

    Relations per hex: ``n = covered + uncovered``, ``n = sum(categories) + none recorded``.

    Parameters
    ----------
    hexes : DataFrame with ``n``, ``covered`` (int) and the ``category_cols``.
    category_cols : per-category counts of the same rows (``n_cat_dibao`` ...).
    threshold : counts from 1 to ``threshold - 1`` are small.

    Returns
    -------
    DataFrame
        Same index as ``hexes``: ``n_txt``, ``covered_txt``, ``uncovered_txt``, ``pct_txt``
        (str), ``pct_lower``, ``pct_upper`` (0-100, NaN for an empty hex), ``n_lower`` ...
        ``uncovered_upper`` (float: the values the printed text allows, ``inf`` for
        ``"≥10"``), then ``<col>_txt`` per category column.
    """
    missing = [c for c in ("n", "covered", *category_cols) if c not in hexes.columns]
    if missing:
        msg = f"the aggregate table lacks column(s): {', '.join(missing)}"
        raise SuppressionError(msg)
    small = hexes["n"].to_numpy(dtype=np.int64) < threshold
    parts = []
    if small.any():
        parts.append(_small_hex_display(hexes[small], category_cols, threshold))
    if (~small).any():
        big = hexes[~small]
        screen = Screen(threshold=threshold)
        cells = _add_hexes(screen, big, category_cols)
        parts.append(_hex_display(screen.protect(), big.index, cells, category_cols))
    columns = [*HEX_DISPLAY_COLUMNS, *[f"{c}_txt" for c in category_cols]]
    if not parts:
        return pd.DataFrame(columns=columns, index=hexes.index)
    return pd.concat(parts).reindex(hexes.index)[columns]


def _small_hex_display(hexes: pd.DataFrame, category_cols: Sequence[str], threshold: int) -> pd.DataFrame:
    """Hexagons holding fewer than ``threshold`` households, in closed form: every nonzero
    count prints ``"<10"``, zeros print as they are.

    Exact for this screen: a hexagon's relations are ``n = covered + uncovered`` and
    ``n = sum(categories) + none recorded`` (at most ``len(category_cols) + 1`` parts), its
    hidden cells are known only to lie in ``1..threshold-1``, and the printed zeros drop out.
    With ``k`` hidden parts summing to a hidden ``n``, the reader learns ``n`` in
    ``k..threshold-1`` and each part in ``1..threshold-k``; both keep at least three
    candidates while ``k <= threshold - 3`` (7 parts for the threshold of 10), which holds for
    the five categories plus "none". This is what the integer-programme audit of
    :func:`suppress` certifies for these hexagons (tested), without solving it 700 times.
    """
    if len(category_cols) + 1 > threshold - 3:
        msg = f"closed form needs at most {threshold - 4} categories, got {len(category_cols)}"
        raise SuppressionError(msg)
    lt = marker(threshold)[0]
    hi = float(threshold - 1)
    rows: list[dict[str, Any]] = []
    for rec in hexes[["n", "covered", *category_cols]].itertuples(index=False):
        n, cov = int(rec[0]), int(rec[1])
        row: dict[str, Any] = {}
        for name, v in (("n", n), ("covered", cov), ("uncovered", n - cov)):
            row[f"{name}_txt"] = lt if v else "0"
            row[f"{name}_lower"], row[f"{name}_upper"] = (0.0, hi) if v else (0.0, 0.0)
        row["n_lower"] = max(row["n_lower"], 1.0)  # a hexagon holds at least one household
        if n:
            row["pct_txt"], row["pct_lower"], row["pct_upper"] = HIDDEN_MARK, 0.0, 100.0
        else:
            row["pct_txt"], row["pct_lower"], row["pct_upper"] = HIDDEN_MARK, math.nan, math.nan
        for j, col in enumerate(category_cols):
            row[f"{col}_txt"] = lt if int(rec[2 + j]) else "0"
        rows.append(row)
    columns = [*HEX_DISPLAY_COLUMNS, *[f"{c}_txt" for c in category_cols]]
    return pd.DataFrame(rows, index=hexes.index, columns=columns)


@dataclass(frozen=True)
class CoverageScreen:
    """The coverage figures of one screen as printed (:func:`protect_coverage_screen`).

    Attributes
    ----------
    households, inside, outside, off_network : the total metrics (str).
    share : coverage share of the total (``"87.5%"`` or ``"—"``).
    groups : per table name, a frame with the input's index and the columns ``n``,
        ``inside``, ``outside``, ``pct`` (str).
    hexes : the hexagon display (:data:`HEX_DISPLAY_COLUMNS` + categories), or None.
    served : households served per hub (str, same order as given), or None.
    """

    households: str
    inside: str
    outside: str
    off_network: str
    share: str
    groups: dict[str, pd.DataFrame]
    hexes: pd.DataFrame | None
    served: list[str] | None


#: the cost of withholding a figure, per household: totals > group tables > hexes, hubs
TOTAL_WEIGHT, GROUP_WEIGHT, DETAIL_WEIGHT = 1000.0, 5.0, 1.0


def protect_coverage_screen(
    n: int,
    inside: int,
    *,
    off_network: int = 0,
    groups: Mapping[str, pd.DataFrame] | None = None,
    hexes: pd.DataFrame | None = None,
    category_cols: Sequence[str] = (),
    served: npt.ArrayLike | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = DEFAULT_PROTECTION,
) -> CoverageScreen:
    """Protect together every count a coverage screen shows.

    Relations: ``inside + outside = n``; the off-network households are part of
    ``outside``; in every group table ``inside + outside = n`` per row and each column
    sums to its total (an unprinted remainder where it falls short); every hex as in
    :func:`protect_hexes`, the hexes sum to the totals (the households without
    coordinates are the unprinted remainder); the households served by the hubs sum to
    ``inside``.

    Parameters
    ----------
    n, inside : total households and those inside the walking circle.
    off_network : households more than 300 m from the network (outside the circle).
    groups : table name -> frame with ``n`` and ``covered`` per group (e.g. by town).
    hexes : :func:`geo.hexes.aggregate_points` rows (``n``, ``covered``, categories).
    category_cols : the hexes' category columns shown with them.
    served : households served per hub.
    threshold, protection : see :func:`suppress`.

    Returns
    -------
    CoverageScreen
    """
    screen = Screen(threshold=threshold)
    tot_n, tot_in, tot_out = (int(i) for i in screen.cells([n, inside, n - inside], weight=TOTAL_WEIGHT, keep=True))
    screen.relate([tot_in, tot_out], tot_n)
    off = screen.cell(off_network, weight=TOTAL_WEIGHT, keep=True)
    screen.partition([off], tot_out)
    group_cells: dict[str, IntArray] = {}
    for name, frame in (groups or {}).items():
        gn = frame["n"].to_numpy(dtype=np.int64)
        gc = frame["covered"].to_numpy(dtype=np.int64)
        cells = screen.cells(np.column_stack([gn, gc, gn - gc]).reshape(-1, 3), weight=GROUP_WEIGHT)
        for k in range(cells.shape[0]):
            screen.relate(cells[k, 1:], int(cells[k, 0]))
        for j, tot in enumerate((tot_n, tot_in, tot_out)):
            screen.partition(cells[:, j], tot, weight=GROUP_WEIGHT)
        group_cells[name] = cells
    hex_cells = None
    if hexes is not None:
        hex_cells = _add_hexes(screen, hexes, category_cols)
        for cells_j, tot in zip(hex_cells[:3], (tot_n, tot_in, tot_out), strict=True):
            screen.partition(cells_j, tot)
    served_cells = None
    if served is not None:
        served_cells = screen.cells(np.asarray(served, dtype=np.int64))
        screen.partition(served_cells, tot_in)
    shown = screen.protect(protection=protection)
    tables: dict[str, pd.DataFrame] = {}
    for name, cells in group_cells.items():
        frame = (groups or {})[name]
        tables[name] = pd.DataFrame(
            {
                "n": shown.texts(cells[:, 0]),
                "inside": shown.texts(cells[:, 1]),
                "outside": shown.texts(cells[:, 2]),
                "pct": [shown.pct(int(c[1]), int(c[0]))[0] for c in cells],
            },
            index=frame.index,
        )
    return CoverageScreen(
        households=shown.text(tot_n),
        inside=shown.text(tot_in),
        outside=shown.text(tot_out),
        off_network=shown.text(off),
        share=shown.pct(tot_in, tot_n)[0],
        groups=tables,
        hexes=None
        if hexes is None or hex_cells is None
        else _hex_display(shown, hexes.index, hex_cells, category_cols),
        served=None if served_cells is None else shown.texts(served_cells),
    )


# ------------------------------------------------------------------------------ report publications
#
# What a report may print: primary and secondary suppression of every count of a publication.
#
# One suppression covers everything the district, town and village reports, the XLSX,
# PDF, GeoPackage and GeoJSON files can show (:func:`publish`): the area rows of the three
# levels, the hexes, the households served by each hub, the households a recommended site
# would newly cover. Every file prints a subset of these cells with the same status, so
# any set of files handed around together is protected as one publication.
#
# Relations the audit knows (an attacker knows them too)
# ------------------------------------------------------
# * per area: ``inside + outside = n``; the categories sum to ``n``; per need type and
#   per urgency level ``in + out = n_k``, and the ``n_k``, ``in_k``, ``out_k`` sum to ``n``,
#   ``inside``, ``outside``;
# * hierarchy: every count of the towns sums to the district's, of a town's village rows
#   (every community of the town, with or without a village point, plus "未匹配社区")
#   to the town's;
# * hexes: ``inside + outside = n`` per hex, and the hexes (plus the households without
#   coordinates) sum to the district's ``n``, ``inside``, ``outside``;
# * hubs: the households served by all hubs sum to the district's ``inside``.
#
# Two stages
# ----------
# The population counts (``n``, categories, ``need_*_n``, ``urg_*_n``) do not depend on
# the walking settings. They are protected first, among themselves; the coverage counts
# are protected second, hiding coverage counts (a population count only when nothing else
# can protect a cell: ``result.stats["last_resort"]``, 9 cells on the Xihu demo). The
# population cells therefore keep the same pattern whatever the minutes, speed or H3
# resolution, so reports built with different settings cannot be combined to undo it.
#
# Hiding costs the count (at least ``threshold``) times 1000 for the district, 5 for a town,
# 1 for a village row, a hex or a hub: the smallest areas' figures go first, and the
# district's own figures are hidden only when nothing else works (``keep``).
#
# Derived figures
# ---------------
# A percentage is hidden when its numerator or denominator is; the walking-distance
# percentiles and the number of gap hexes of an area are printed only when its inside and
# outside counts are both printed and at least ``threshold`` of its households are located
# (a percentile position would otherwise bound the hidden counts); a hex's coverage
# colour on a map is its percentage, hidden likewise.

LEVEL_DISTRICT = "district"
LEVEL_TOWN = "town"
LEVEL_VILLAGE = "village"

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

    tables: Any
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
    tables: Any,
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


def _suppress_publication(
    values: npt.NDArray[np.int64],
    pop_rel: list[Constraint],
    all_rel: list[Constraint],
    population: npt.NDArray[np.bool_],
    cost: FloatArray,
    keep: BoolArray,
    threshold: int,
    protection: int,
) -> tuple[SuppressionResult, SuppressionResult, float]:
    """The two stages of :func:`publish` (population counts, then the rest): results and seconds."""
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
    return first, second, time.perf_counter() - t0


class SuppressionWorker:
    """A process (``python -m geo.disclosure_worker``) ready to run one publication's suppression.

    Started early (its imports overlap the caller's own work), given its arguments by
    :func:`start_publish`, read by :meth:`result`; :meth:`close` stops it whatever state
    it is in. A new interpreter, not a fork: the caller may hold solver threads, and a
    lean module imports faster than the caller's main module would.
    """

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="disclosure-")
        self._out = Path(self._dir) / "result.pickle"
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "geo.disclosure_worker", str(self._out)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=root,
        )

    def submit(self, args: tuple[Any, ...]) -> None:
        """Send the arguments of :func:`_suppress_publication` (once)."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            msg = "the suppression worker is closed"
            raise SuppressionError(msg)
        try:
            pickle.dump(args, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.close()
        except BrokenPipeError as exc:
            msg = f"the suppression worker stopped (exit status {proc.poll()})"
            raise SuppressionError(msg) from exc

    def result(self) -> tuple[SuppressionResult, SuppressionResult, float]:
        """Wait for the worker and return its results (its exception is raised here)."""
        proc = self._proc
        if proc is None:
            msg = "the suppression worker is closed"
            raise SuppressionError(msg)
        code = proc.wait()
        try:
            with open(self._out, "rb") as fh:
                status, value = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            msg = f"the suppression worker gave no result (exit status {code})"
            raise SuppressionError(msg) from exc
        finally:
            self.close()
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the worker (if running) and remove its files (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class PendingPublication:
    """A publication whose suppression is being computed (see :func:`start_publish`).

    :meth:`result` waits for it and returns the :class:`PublishedReport`; :meth:`cancel`
    stops a background computation that is no longer wanted.
    """

    def __init__(
        self,
        tables: Any,
        index: dict[str, Any],
        *,
        threshold: int,
        protection: int,
        path: Path | None,
        done: tuple[SuppressionResult, SuppressionResult, float] | None = None,
        worker: SuppressionWorker | None = None,
    ) -> None:
        self._tables, self._index = tables, index
        self._threshold, self._protection = threshold, protection
        self._path = path
        self._done = done
        self._worker = worker
        self._background = worker is not None
        self._published: PublishedReport | None = None
        #: seconds the suppression took where it ran (0 when read from the cache)
        self.seconds = 0.0

    @property
    def background(self) -> bool:
        """Whether the suppression runs (or ran) in another process."""
        return self._background

    def cancel(self) -> None:
        """Stop the background process, if any (idempotent)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def result(self) -> PublishedReport:
        """The protected publication (waits for a background computation)."""
        if self._published is not None:
            return self._published
        if self._done is None:
            if self._worker is None:
                msg = "the suppression was cancelled"
                raise SuppressionError(msg)
            try:
                self._done = self._worker.result()
            finally:
                self.cancel()
            self._write_cache()
        first, second, self.seconds = self._done
        self._published = _published(self._tables, self._index, first, second, self._threshold, self._protection)
        return self._published

    def _write_cache(self) -> None:
        if self._path is None or self._done is None:
            return
        first, second, sec = self._done
        log.info("suppression computed in %.1f s", sec)
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.parent / f".{self._path.stem}.{os.getpid()}.npz"
            with open(tmp, "wb") as out_fh:
                np.savez(out_fh, **_result_to(first, "first"), **_result_to(second, "second"))  # type: ignore[arg-type]
            tmp.replace(self._path)
        except OSError as exc:
            log.warning("cannot write the suppression cache %s: %s", self._path, exc)


def start_publish(
    tables: Any,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = DEFAULT_PROTECTION,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    worker: SuppressionWorker | None = None,
) -> PendingPublication:
    """Start suppressing the counts of a whole publication (see :func:`publish`).

    With a ``worker`` (:class:`SuppressionWorker`) the suppression, when not cached, runs
    in that process so that the caller can compute what does not depend on it meanwhile;
    :meth:`PendingPublication.result` collects it (the same result as :func:`publish`'s).
    The worker is closed when the suppression is read from the cache.
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
    kw: dict[str, Any] = {"threshold": threshold, "protection": protection, "path": path if use_cache else None}
    if use_cache and path.is_file():
        try:
            with open(path, "rb") as fh, np.load(fh) as z:
                done = (_result_from(z, "first"), _result_from(z, "second"), 0.0)
            if worker is not None:
                worker.close()
            return PendingPublication(tables, index, done=done, **{**kw, "path": None})
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("suppression cache %s unreadable (%s); recomputing", path, exc)
    args = (values, pop_rel, all_rel, population, cost, keep, threshold, protection)
    if worker is not None:
        try:
            worker.submit(args)
        except BaseException:
            worker.close()
            raise
        return PendingPublication(tables, index, worker=worker, **kw)
    pending = PendingPublication(tables, index, done=_suppress_publication(*args), **kw)
    pending._write_cache()
    return pending


def publish(
    tables: Any,
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
    return start_publish(
        tables, threshold=threshold, protection=protection, cache_dir=cache_dir, use_cache=use_cache
    ).result()


def _published(
    tables: Any,
    index: dict[str, Any],
    first: SuppressionResult,
    second: SuppressionResult,
    threshold: int,
    protection: int,
) -> PublishedReport:
    """The :class:`PublishedReport` of the two stages' results."""
    n = second.status.shape[0]
    F = index["n_cols"]
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


__all__ = [
    "DEFAULT_LT_LOWER",
    "DEFAULT_PROTECTION",
    "DEFAULT_THRESHOLD",
    "HEX_DISPLAY_COLUMNS",
    "HIDDEN_MARK",
    "LEVEL_DISTRICT",
    "LEVEL_TOWN",
    "LEVEL_VILLAGE",
    "PRIMARY",
    "PUBLISHED",
    "SECONDARY",
    "SECONDARY_ZERO",
    "CoverageScreen",
    "PendingPublication",
    "PublishedReport",
    "RecoveredCell",
    "Screen",
    "ShownScreen",
    "SuppressionError",
    "SuppressionResult",
    "SuppressionWorker",
    "count_alone",
    "count_text",
    "feasible_intervals",
    "hide_ratio",
    "marker",
    "primary_mask",
    "protect_coverage_screen",
    "protect_hexes",
    "publication_model",
    "publish",
    "recoverable_cells",
    "start_publish",
    "suppress",
]
