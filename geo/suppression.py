"""Statistical disclosure control of published counts: primary and secondary cell suppression.

Pure computation on integer counts and the linear relations between them; the reports
(:mod:`reports.privacy`) build the cells and relations of a whole publication and call
:func:`suppress`.

Printed rule
------------
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

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from geo import highs
from geo.errors import GeoError

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


class SuppressionError(GeoError):
    """The counts or relations are inconsistent, or a primary cell cannot be protected."""


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
        rows = np.unique(np.concatenate([model.rows_of(int(c)) for c in frontier]))
        rows = rows[~seen_rows[rows]]
        seen_rows[rows] = True
        if rows.size == 0:
            break
        members = np.unique(np.concatenate([model.row(int(r))[0] for r in rows]))
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
        rows = np.unique(np.concatenate([model.rows_of(int(c)) for c in cells]))
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

    def step(self, step: int, stats: _Stats) -> tuple[IntArray, FloatArray] | None:
        """The cheapest perturbation moving cell ``i`` by ``step``: (printed cells to hide, d), or None."""
        if step in self._memo:
            return self._memo[step]
        self._memo[step] = None
        if not (self.lo_i <= self.v_i + step <= self.hi_i):
            return None
        lb, ub = self.lb.copy(), self.ub.copy()
        lb[self.k] = ub[self.k] = float(step)
        res = linprog(
            self.c, A_eq=self.M, b_eq=np.zeros(self.M.shape[0]), bounds=np.column_stack([lb, ub]), method="highs"
        )
        stats.solves += 1
        if res.status != 0 or res.x is None:
            return None
        x = np.asarray(res.x, dtype=np.float64)
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


def _milp(c: FloatArray, A: sp.csr_array, b: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """An integer optimum of ``c @ x`` subject to ``A x = b``, ``lo <= x <= hi``."""
    res = milp(
        c,
        constraints=LinearConstraint(A, b, b),
        integrality=np.ones(c.shape[0]),
        bounds=Bounds(lo.astype(np.float64), hi.astype(np.float64)),
    )
    if res.x is None:  # cannot happen for a consistent table: the true values are feasible
        msg = f"the disclosure audit found no solution ({res.message})"
        raise SuppressionError(msg)
    return np.rint(res.x)


class _Lp:
    """One component's linear relaxation, kept in HiGHS and re-solved warm for each objective.

    Vertex solutions of these tables are nearly always integral; a fractional one is
    never used as a witness, and an exact bound with a fractional optimum is recomputed
    as an integer programme (:func:`_milp`). The relaxation stays loaded in HiGHS
    (:class:`geo.highs.Model`) and re-solves warm (about 5x faster than ``linprog``).
    """

    def __init__(self, A: sp.csr_array, b: FloatArray, lo: IntArray, hi: IntArray) -> None:
        self.A, self.b, self.lo, self.hi = A, b, lo, hi
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
        return x if integral else _milp(c, self.A, self.b, self.lo, self.hi)


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
    lp = _Lp(A, b, lo[cells], hi[cells])

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


__all__ = [
    "DEFAULT_PROTECTION",
    "DEFAULT_THRESHOLD",
    "PRIMARY",
    "PUBLISHED",
    "SECONDARY",
    "RecoveredCell",
    "SuppressionError",
    "SuppressionResult",
    "feasible_intervals",
    "hide_ratio",
    "marker",
    "primary_mask",
    "recoverable_cells",
    "suppress",
]
