"""Where the next stations should go: maximal covering and set covering on the walking network.

The models follow the spopt habit of a numeric core on matrices and a thin adapter on
frames:

* core: :func:`maximal_covering` (MCLP: place ``p`` new stations to maximise the weighted
  demand newly covered), :func:`set_covering` (fewest new stations so the covered share of
  a target group reaches a goal), :func:`greedy_max_cover` and :func:`lp_relaxation_bound`,
  all on a sparse candidates x demand-points matrix from
  :func:`geo.candidates.coverage_matrix`. Existing hubs are fixed: demand they already
  cover (``base_covered``) adds nothing to a new site's value.
* adapter: :func:`siting_problem` / :func:`problem_from_run` build a
  :class:`SitingProblem` from a coverage run and a candidate frame;
  :func:`recommend_sites` and :func:`fewest_sites` return a :class:`SitingResult` whose
  ``sites`` frame lists the recommended sites in rank order.

Exact solutions are mixed-integer programmes solved by HiGHS (through :mod:`geo.highs`), built with its
own API: binary columns ``x_j`` for sites, continuous ``y_k`` in [0, 1] for demand,
rows ``y_k <= sum_j a_kj x_j`` and ``sum_j x_j = p``. Demand points with the same set of
covering sites are merged into one row first (their weights add up), which leaves the
optimum unchanged and shrinks the model (Xihu demo: 1,349 coverable households -> 658 rows). Every MILP is warm-started
with the lazy-greedy solution, so within a time limit the MILP is never worse than greedy.

Ranking: the chosen sites are ordered greedily by marginal gain (the site adding most new
demand first, given the ones before it), and each row's ``newly_covered`` is that gain.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse

from core.errors import CRSMismatchError, InputColumnsError, SitingError
from core.settings import Settings
from core.vocab import NEED_TYPES
from geo import highs
from geo.analysis import CoverageRun
from geo.candidates import CANDIDATE_COLUMNS, coverage_matrix
from geo.figures import coverage_pct
from geo.graph import WalkNetwork
from geo.snap import lonlat_to_metric

log = logging.getLogger(__name__)

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Method = Literal["auto", "milp", "greedy"]

#: relative tolerance under which a MIP gap counts as zero (``proven_optimal``)
OPTIMALITY_TOL = 1e-6
#: above this many usable candidates ``method="auto"`` uses lazy greedy instead of the MILP
DEFAULT_EXACT_MAX_SITES = 5000
DEFAULT_TIME_LIMIT_S = 30.0


# ------------------------------------------------------------------------------ demand weights


@dataclass(frozen=True)
class DemandWeights:
    """How much covering one beneficiary household is worth, by need type and urgency.

    ``weight = type_weight(need_type) * (1 + urgency_factor * (urgency - 1))``, times the
    household size when ``by_household_size``. With the defaults a survival-need
    household of urgency 5 weighs 3 x 2 = 6, a development-need household of urgency 1
    weighs 1: survival needs come first, as the bureau asks, without ignoring the others.

    Parameters
    ----------
    survival, care, development : float
        Weight of a household whose most urgent need is of that type (生存型, 关爱型, 发展型).
    unknown : float
        Weight when the need type is missing or not one of the three.
    urgency_factor : float
        Extra weight per urgency step above 1 (urgency runs 1-5; missing counts as 1);
        0 ignores urgency.
    by_household_size : bool
        Multiply by ``household_size`` (missing counts as 1): people instead of households.
    """

    survival: float = 3.0
    care: float = 2.0
    development: float = 1.0
    unknown: float = 1.0
    urgency_factor: float = 0.25
    by_household_size: bool = False

    def __post_init__(self) -> None:
        for name in ("survival", "care", "development", "unknown", "urgency_factor"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                msg = f"demand weight {name} must be a finite number >= 0, got {v!r}"
                raise SitingError(msg)

    def type_weight(self, need_type: str | None) -> float:
        """The weight of one need type (``unknown`` for anything else)."""
        return float(getattr(self, need_type)) if need_type in NEED_TYPES else float(self.unknown)

    def weights_for(self, points: pd.DataFrame) -> FloatArray:
        """One weight per row of a beneficiary table.

        Parameters
        ----------
        points : DataFrame
            Optional columns ``need_type`` (str), ``urgency`` (1-5) and
            ``household_size``; missing columns or values count as unknown / 1 / 1.

        Returns
        -------
        ndarray of float64, one per row.
        """
        n = len(points)
        if "need_type" in points.columns:
            nt = points["need_type"].astype(object).to_numpy()
            tw = np.full(n, float(self.unknown))
            for t in NEED_TYPES:
                tw[nt == t] = self.type_weight(t)
        else:
            tw = np.full(n, float(self.unknown))
        urg = np.ones(n)
        if "urgency" in points.columns:
            u = pd.to_numeric(points["urgency"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            urg = np.clip(np.nan_to_num(u, nan=1.0), 1.0, 5.0)
        w = tw * (1.0 + self.urgency_factor * (urg - 1.0))
        if self.by_household_size and "household_size" in points.columns:
            hs = pd.to_numeric(points["household_size"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            w = w * np.clip(np.nan_to_num(hs, nan=1.0), 1.0, None)
        return np.asarray(w, dtype=np.float64)

    def table(self) -> pd.DataFrame:
        """The weights to show the planner: one row per need type and urgency.

        Returns
        -------
        DataFrame
            ``need_type`` (survival, care, development, unknown), ``urgency`` (1-5),
            ``weight`` (per household).
        """
        rows = [
            {"need_type": t, "urgency": u, "weight": self.type_weight(t) * (1.0 + self.urgency_factor * (u - 1))}
            for t in (*NEED_TYPES, "unknown")
            for u in range(1, 6)
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON types (for reports and saved scenarios)."""
        return asdict(self)


# ------------------------------------------------------------------------------ solutions


@dataclass(frozen=True)
class SitingSolution:
    """The answer of one siting model on a matrix.

    Attributes
    ----------
    chosen : ndarray of int64
        Candidate positions (rows of the matrix), in rank order.
    gains : ndarray of float64
        Marginal weighted demand newly covered by each chosen site, given the ones ranked
        before it (sums to ``objective``).
    objective : float
        Weighted demand newly covered by the chosen sites (base coverage excluded).
    bound : float
        For ``model="mclp"``: an upper bound of ``objective`` over every feasible choice
        (the MIP dual bound, or the LP relaxation for greedy). For
        ``model="set_covering"``: a lower bound of the number of sites.
    gap : float
        Relative distance to ``bound``: ``(bound - objective) / bound`` for MCLP,
        ``(n_sites - bound) / n_sites`` for set covering; 0 when proven optimal.
    proven_optimal : bool
        HiGHS reported optimal with a zero gap (within :data:`OPTIMALITY_TOL`).
    method : str
        ``"milp"``, ``"greedy"``, or ``"enumeration"`` (``p = 1`` asked of the exact
        solver: every single site is scored, which is exact and instant).
    model : str
        ``"mclp"`` or ``"set_covering"``.
    status : str
        HiGHS's model status (``"Optimal"``, ``"Time limit reached"`` ...) or ``"greedy"``.
    runtime_s : float
        Wall time of the solve.
    target_weight : float or None
        Set covering only: the weight the new sites had to add to reach the target.
    """

    chosen: IntArray
    gains: FloatArray
    objective: float
    bound: float
    gap: float
    proven_optimal: bool
    method: str
    model: str
    status: str
    runtime_s: float
    target_weight: float | None = None

    @property
    def n_sites(self) -> int:
        return int(self.chosen.shape[0])


@dataclass(eq=False)
class _Reduced:
    """A model restricted to useful demand, merged by covering pattern.

    ``cover`` is (allowed sites x patterns); ``weight`` the summed weight of each pattern;
    ``site`` maps the rows back to candidate positions; ``groups`` hold row positions.
    """

    cover: sparse.csr_matrix
    weight: FloatArray
    site: IntArray
    groups: list[IntArray] = field(default_factory=list)


def _as_csr(matrix: Any) -> sparse.csr_matrix:
    mat = sparse.csr_matrix(matrix)
    mat.sum_duplicates()
    mat.sort_indices()
    return mat


def _check_inputs(
    matrix: sparse.csr_matrix,
    weights: npt.ArrayLike,
    base_covered: npt.ArrayLike | None,
    allowed: npt.ArrayLike | None,
) -> tuple[FloatArray, BoolArray, BoolArray]:
    n_sites, n_dem = matrix.shape
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape[0] != n_dem:
        msg = f"{w.shape[0]} weights for {n_dem} demand points"
        raise SitingError(msg)
    if not np.isfinite(w).all() or (w < 0).any():
        msg = "demand weights must be finite and >= 0"
        raise SitingError(msg)
    base = np.zeros(n_dem, dtype=bool) if base_covered is None else np.asarray(base_covered, dtype=bool).ravel()
    if base.shape[0] != n_dem:
        msg = f"base_covered has {base.shape[0]} entries for {n_dem} demand points"
        raise SitingError(msg)
    ok = np.ones(n_sites, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).ravel()
    if ok.shape[0] != n_sites:
        msg = f"allowed has {ok.shape[0]} entries for {n_sites} candidate sites"
        raise SitingError(msg)
    return w, base, ok


def _reduce(
    matrix: sparse.csr_matrix,
    w: FloatArray,
    base: BoolArray,
    allowed: BoolArray,
    required: Sequence[npt.ArrayLike],
) -> _Reduced:
    """Keep allowed sites and uncovered, positive demand; merge demand by covering pattern."""
    site = np.flatnonzero(allowed).astype(np.int64)
    pos = np.full(matrix.shape[0], -1, dtype=np.int64)
    pos[site] = np.arange(site.shape[0])
    groups: list[IntArray] = []
    for k, g in enumerate(required):
        gi = np.unique(np.asarray(g, dtype=np.int64))
        if gi.size and (gi.min() < 0 or gi.max() >= matrix.shape[0]):
            msg = f"required group {k} names a candidate outside the matrix"
            raise SitingError(msg)
        gp = pos[gi]
        gp = gp[gp >= 0]
        if gp.size == 0:
            msg = f"required group {k} has no allowed candidate site"
            raise SitingError(msg)
        groups.append(gp)
    dem = np.flatnonzero(~base & (w > 0))
    sub = matrix[site][:, dem]
    by_dem = sparse.csr_matrix(sub.T)
    by_dem.sort_indices()
    patterns: dict[bytes, int] = {}
    pat_of = np.full(dem.shape[0], -1, dtype=np.int64)
    ptr, ind = by_dem.indptr, by_dem.indices
    for i in range(dem.shape[0]):
        if ptr[i + 1] == ptr[i]:
            continue
        key = ind[ptr[i] : ptr[i + 1]].tobytes()
        pat_of[i] = patterns.setdefault(key, len(patterns))
    n_pat = len(patterns)
    has = pat_of >= 0
    pw = np.bincount(pat_of[has], weights=w[dem[has]], minlength=n_pat).astype(np.float64)
    # one representative demand row per pattern gives the pattern's sites
    first = np.full(n_pat, -1, dtype=np.int64)
    rows = np.flatnonzero(has)
    first[pat_of[rows]] = rows
    rep = by_dem[first] if n_pat else sparse.csr_matrix((0, site.shape[0]), dtype=np.int8)
    cover = sparse.csr_matrix(rep.T, dtype=np.int8)
    cover.sort_indices()
    return _Reduced(cover=cover, weight=pw, site=site, groups=groups)


def _row_gain(cover: sparse.csr_matrix, w: FloatArray, covered: BoolArray, j: int) -> float:
    idx = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
    return float(w[idx[~covered[idx]]].sum())


def _mark(cover: sparse.csr_matrix, covered: BoolArray, j: int) -> None:
    covered[cover.indices[cover.indptr[j] : cover.indptr[j + 1]]] = True


def _greedy_rows(
    cover: sparse.csr_matrix, w: FloatArray, p: int, groups: Sequence[IntArray], among: IntArray | None = None
) -> tuple[list[int], list[float]]:
    """Lazy greedy on the rows of ``cover``; ties go to the lower row. Honours ``groups``."""
    n = cover.shape[0]
    rows = np.arange(n) if among is None else np.asarray(among, dtype=np.int64)
    covered = np.zeros(cover.shape[1], dtype=bool)
    heap: list[tuple[float, int]] = [(-_row_gain(cover, w, covered, int(j)), int(j)) for j in rows]
    heapq.heapify(heap)
    site_groups: dict[int, list[int]] = {}
    for gk, members in enumerate(groups):
        for j in members.tolist():
            site_groups.setdefault(int(j), []).append(gk)
    unsat = set(range(len(groups)))
    chosen: list[int] = []
    taken: set[int] = set()
    gains: list[float] = []
    for step in range(p):
        best_j, best_gain = -1, -1.0
        if unsat and p - step <= len(unsat):
            # the remaining slots are needed for the unsatisfied groups
            pool = sorted({int(j) for gk in unsat for j in groups[gk].tolist()} - taken)
            for j in pool:
                gain = _row_gain(cover, w, covered, j)
                if gain > best_gain:
                    best_j, best_gain = j, gain
        else:
            while True:
                _, j = heapq.heappop(heap)
                if j in taken:
                    continue
                gain = _row_gain(cover, w, covered, j)
                if not heap or (-gain, j) <= heap[0]:
                    best_j, best_gain = j, gain
                    break
                heapq.heappush(heap, (-gain, j))
        chosen.append(best_j)
        taken.add(best_j)
        gains.append(best_gain)
        _mark(cover, covered, best_j)
        for gk in site_groups.get(best_j, []):
            unsat.discard(gk)
    return chosen, gains


def _rank(cover: sparse.csr_matrix, w: FloatArray, chosen: Iterable[int]) -> tuple[list[int], list[float]]:
    """Order a chosen set greedily by marginal gain (ties: lower row)."""
    left = sorted(set(chosen))
    covered = np.zeros(cover.shape[1], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while left:
        best = max(left, key=lambda j: (_row_gain(cover, w, covered, j), -j))
        order.append(best)
        gains.append(_row_gain(cover, w, covered, best))
        _mark(cover, covered, best)
        left.remove(best)
    return order, gains


# ------------------------------------------------------------------------------ HiGHS models


def _model(
    mat: sparse.csc_matrix,
    cost: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    row_lower: FloatArray,
    row_upper: FloatArray,
    *,
    n_int: int,
    maximize: bool,
    time_limit_s: float,
) -> highs.Model:
    n = int(mat.shape[1])
    try:
        return highs.Model(
            cost,
            mat,
            row_lower=row_lower,
            row_upper=row_upper,
            col_lower=col_lower,
            col_upper=col_upper,
            integrality=np.arange(n) < n_int,
            sense="max" if maximize else "min",
            time_limit_s=time_limit_s,
            mip_rel_gap=0.0,
        )
    except highs.SolverError as exc:
        msg = "HiGHS rejected the siting model"
        raise SitingError(msg) from exc


def _cover_rows(red: _Reduced) -> sparse.csr_matrix:
    """Rows ``y_k - sum_j a_kj x_j <= 0`` as a (patterns x (sites + patterns)) matrix."""
    n_s, n_p = red.cover.shape
    if n_p == 0:
        return sparse.csr_matrix((0, n_s))
    left = -sparse.csr_matrix(red.cover.T, dtype=np.float64)
    return sparse.hstack([left, sparse.identity(n_p, format="csr")], format="csr")


def _group_rows(red: _Reduced, n_cols: int) -> sparse.csr_matrix:
    if not red.groups:
        return sparse.csr_matrix((0, n_cols))
    rows = np.concatenate([np.full(g.shape[0], k) for k, g in enumerate(red.groups)])
    cols = np.concatenate(red.groups)
    return sparse.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(len(red.groups), n_cols))


def _start_vector(red: _Reduced, rows: Iterable[int]) -> FloatArray:
    n_s, n_p = red.cover.shape
    x = np.zeros(n_s + n_p)
    sel = list(rows)
    x[sel] = 1.0
    if n_p:
        hit = np.asarray(red.cover[sel].sum(axis=0)).ravel() > 0 if sel else np.zeros(n_p, dtype=bool)
        x[n_s:] = hit.astype(np.float64)
    return x


def _mclp_highs(red: _Reduced, p: int, *, integer: bool, time_limit_s: float) -> highs.Model:
    n_s, n_p = red.cover.shape
    n_cols = n_s + n_p
    card = sparse.csr_matrix((np.ones(n_s), (np.zeros(n_s, dtype=np.int64), np.arange(n_s))), shape=(1, n_cols))
    mat = sparse.vstack([_cover_rows(red), card, _group_rows(red, n_cols)], format="csc")
    n_g = len(red.groups)
    return _model(
        mat,
        cost=np.r_[np.zeros(n_s), red.weight],
        col_lower=np.zeros(n_cols),
        col_upper=np.ones(n_cols),
        row_lower=np.r_[np.full(n_p, -highs.INF), float(p), np.ones(n_g)],
        row_upper=np.r_[np.zeros(n_p), float(p), np.full(n_g, highs.INF)],
        n_int=n_s if integer else 0,
        maximize=True,
        time_limit_s=time_limit_s,
    )


def _check_p(p: int, red: _Reduced) -> None:
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        msg = f"the number of new stations must be a whole number >= 1, got {p!r}"
        raise SitingError(msg)
    if p > red.site.shape[0]:
        msg = f"{p} new stations asked but only {red.site.shape[0]} candidate sites are allowed"
        raise SitingError(msg, key="siting_too_few_sites", p=int(p), n=int(red.site.shape[0]))
    if len(red.groups) > p:
        msg = f"{len(red.groups)} towns must each get a station but only {p} stations are to be placed"
        raise SitingError(msg, key="siting_too_many_required", n=len(red.groups), p=int(p))


def _solution(
    red: _Reduced,
    order: list[int],
    gains: list[float],
    *,
    bound: float,
    proven: bool,
    method: str,
    model: str,
    status: str,
    runtime_s: float,
    target_weight: float | None = None,
) -> SitingSolution:
    obj = float(sum(gains))
    if model == "mclp":
        if proven:
            gap = 0.0
        elif not math.isfinite(bound):
            gap = math.inf
        else:
            gap = max(bound - obj, 0.0) / bound if bound > 0 else 0.0
    else:
        gap = 0.0 if proven or not order else max(len(order) - bound, 0.0) / len(order)
    return SitingSolution(
        chosen=red.site[np.asarray(order, dtype=np.int64)] if order else np.zeros(0, dtype=np.int64),
        gains=np.asarray(gains, dtype=np.float64),
        objective=obj,
        bound=float(bound),
        gap=float(gap),
        proven_optimal=bool(proven),
        method=method,
        model=model,
        status=status,
        runtime_s=float(runtime_s),
        target_weight=target_weight,
    )


def lp_relaxation_bound(
    matrix: Any,
    weights: npt.ArrayLike,
    p: int,
    *,
    base_covered: npt.ArrayLike | None = None,
    allowed: npt.ArrayLike | None = None,
    required: Sequence[npt.ArrayLike] = (),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> float:
    """Optimum of the MCLP's LP relaxation (``0 <= x_j <= 1``): an upper bound of any choice of ``p`` sites.

    Parameters are those of :func:`maximal_covering`.

    Returns
    -------
    float
        The bound on the weighted demand newly covered.
    """
    mat = _as_csr(matrix)
    w, base, ok = _check_inputs(mat, weights, base_covered, allowed)
    red = _reduce(mat, w, base, ok, required)
    _check_p(p, red)
    return _lp_bound(red, p, time_limit_s)


def _lp_bound(red: _Reduced, p: int, time_limit_s: float) -> float:
    if red.cover.shape[1] == 0:
        return 0.0
    run = _mclp_highs(red, p, integer=False, time_limit_s=time_limit_s).solve()
    if not run.optimal:
        msg = f"the LP relaxation did not solve: {run.status}"
        raise SitingError(msg)
    return run.objective


def greedy_max_cover(
    matrix: Any,
    weights: npt.ArrayLike,
    p: int,
    *,
    base_covered: npt.ArrayLike | None = None,
    allowed: npt.ArrayLike | None = None,
    required: Sequence[npt.ArrayLike] = (),
    with_bound: bool = True,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingSolution:
    """Lazy greedy MCLP: add the site of largest marginal gain, ``p`` times.

    A priority queue holds each site's last known gain; gains only shrink as sites are
    added (coverage is submodular), so a popped site whose recomputed gain still tops the
    queue is the true best. The result covers at least ``1 - 1/e`` (63 %) of the optimum
    when no town is required.

    Parameters
    ----------
    Those of :func:`maximal_covering`, plus ``with_bound``: also solve the LP relaxation
    with HiGHS and report the gap to it.

    Returns
    -------
    SitingSolution
        ``method="greedy"``; ``bound`` is the LP relaxation (``inf`` without
        ``with_bound``) and ``gap = (bound - objective) / bound``; ``proven_optimal`` when
        the objective reaches the bound.
    """
    mat = _as_csr(matrix)
    w, base, ok = _check_inputs(mat, weights, base_covered, allowed)
    red = _reduce(mat, w, base, ok, required)
    _check_p(p, red)
    return _greedy_solution(red, p, with_bound=with_bound, time_limit_s=time_limit_s)


def _greedy_solution(red: _Reduced, p: int, *, with_bound: bool, time_limit_s: float) -> SitingSolution:
    t0 = time.perf_counter()
    order, gains = _greedy_rows(red.cover, red.weight, p, red.groups)
    rt = time.perf_counter() - t0
    bound = _lp_bound(red, p, time_limit_s) if with_bound else math.inf
    obj = float(sum(gains))
    proven = with_bound and bound - obj <= OPTIMALITY_TOL * max(1.0, abs(obj))
    return _solution(
        red, order, gains, bound=bound, proven=proven, method="greedy", model="mclp", status="greedy", runtime_s=rt
    )


def maximal_covering(
    matrix: Any,
    weights: npt.ArrayLike,
    p: int,
    *,
    base_covered: npt.ArrayLike | None = None,
    allowed: npt.ArrayLike | None = None,
    required: Sequence[npt.ArrayLike] = (),
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    exact_max_sites: int = DEFAULT_EXACT_MAX_SITES,
) -> SitingSolution:
    """Maximal covering: choose ``p`` new sites maximising the weighted demand newly covered.

    Parameters
    ----------
    matrix : sparse or dense array, shape (n_sites, n_points)
        Nonzero where a site covers a point (:func:`geo.candidates.coverage_matrix`).
    weights : array-like of float, one per point
        Value of covering each point (>= 0).
    p : int
        Number of new sites (>= 1).
    base_covered : array-like of bool, optional
        Points the existing hubs already cover; they add nothing.
    allowed : array-like of bool, optional
        Sites that may be chosen (e.g. inside one town, not off-network); all by default.
    required : sequence of index arrays
        Groups of sites (e.g. one per town) of which at least one each must be chosen.
    method : {"auto", "milp", "greedy"}
        ``"milp"``: exact with HiGHS (warm-started with greedy) within ``time_limit_s``
        (for ``p = 1``: every site scored, ``method="enumeration"``);
        ``"greedy"``: lazy greedy with its gap to the LP relaxation; ``"auto"``: MILP up
        to ``exact_max_sites`` allowed sites, greedy beyond.
    time_limit_s : float
        HiGHS time limit. When hit, the best solution found is returned with
        ``proven_optimal=False`` and the MIP gap.

    Returns
    -------
    SitingSolution
        ``chosen`` in rank order with their marginal ``gains``.

    Raises
    ------
    SitingError
        Bad shapes or weights, ``p`` < 1 or larger than the allowed sites, more required
        groups than ``p``, or a required group without an allowed site.
    """
    if method not in ("auto", "milp", "greedy"):
        msg = f"method must be auto, milp or greedy, got {method!r}"
        raise SitingError(msg)
    mat = _as_csr(matrix)
    w, base, ok = _check_inputs(mat, weights, base_covered, allowed)
    red = _reduce(mat, w, base, ok, required)
    _check_p(p, red)
    if method == "greedy" or (method == "auto" and red.site.shape[0] > exact_max_sites):
        return _greedy_solution(red, p, with_bound=True, time_limit_s=time_limit_s)
    t0 = time.perf_counter()
    g_order, g_gains = _greedy_rows(red.cover, red.weight, p, red.groups)
    if p == 1:
        # one site: the greedy step scans every allowed site (its group, if one is required), so it is exact
        rt = time.perf_counter() - t0
        return _solution(
            red, g_order, g_gains, bound=float(sum(g_gains)), proven=True, method="enumeration", model="mclp",
            status="Optimal", runtime_s=rt,
        )  # fmt: skip
    if red.cover.shape[1] == 0:
        # nothing left to cover: every choice is optimal
        order, gains = _rank(red.cover, red.weight, g_order)
        rt = time.perf_counter() - t0
        return _solution(
            red, order, gains, bound=0.0, proven=True, method="milp", model="mclp", status="Optimal", runtime_s=rt
        )
    h = _mclp_highs(red, p, integer=True, time_limit_s=time_limit_s)
    run = h.solve(_start_vector(red, g_order))
    n_s = red.cover.shape[0]
    pick = np.flatnonzero(run.x[:n_s] > 0.5).tolist() if run.x.shape[0] >= n_s else []
    if len(pick) != p:
        log.warning("HiGHS returned no usable solution (%s): keeping the greedy one", run.status)
        pick = g_order
    order, gains = _rank(red.cover, red.weight, pick)
    if sum(gains) < sum(g_gains):  # a time-limited run may end on a worse incumbent
        order, gains = _rank(red.cover, red.weight, g_order)
    obj = float(sum(gains))
    bound = run.dual_bound
    if not math.isfinite(bound):
        # stopped before HiGHS had a bound of its own: the LP relaxation is one
        try:
            bound = _lp_bound(red, p, max(time_limit_s, 10.0))
        except SitingError:
            bound = math.inf
    proven = run.optimal and bound - obj <= OPTIMALITY_TOL * max(1.0, abs(obj))
    rt = time.perf_counter() - t0
    return _solution(
        red, order, gains, bound=bound, proven=proven, method="milp", model="mclp", status=run.status, runtime_s=rt
    )


def set_covering(
    matrix: Any,
    weights: npt.ArrayLike,
    target_share: float,
    *,
    base_covered: npt.ArrayLike | None = None,
    allowed: npt.ArrayLike | None = None,
    required: Sequence[npt.ArrayLike] = (),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    maximize_coverage: bool = True,
) -> SitingSolution:
    """Fewest new sites so that covered weight reaches ``target_share`` of the total weight.

    The target counts what the existing hubs already cover (``base_covered``). The total
    is the weight of *all* points, including those no site can reach (no coordinates,
    off the network), so the share is the one a report would print.

    Parameters
    ----------
    matrix, base_covered, allowed, required, time_limit_s
        As for :func:`maximal_covering`.
    weights : array-like of float
        Weight of each point in the target (e.g. 1 for survival-need households, 0 for
        the others).
    target_share : float
        Goal in (0, 1], e.g. 0.95.
    maximize_coverage : bool
        Among the minimum number of sites, choose those covering the most target weight
        (a second MILP with ``p`` fixed to that minimum).

    Returns
    -------
    SitingSolution
        ``model="set_covering"``; ``chosen`` in rank order (empty when the hubs already
        reach the target); ``objective`` is the target weight newly covered;
        ``target_weight`` the weight that had to be added; ``bound`` a lower bound of the
        number of sites; ``proven_optimal`` when the count is proven minimal.

    Raises
    ------
    SitingError
        ``target_share`` outside (0, 1], or the target cannot be reached even with every
        allowed site (the message says the best share reachable).
    """
    if not (isinstance(target_share, int | float) and 0 < target_share <= 1):
        msg = f"target_share must be in (0, 1], got {target_share!r}"
        raise SitingError(msg)
    mat = _as_csr(matrix)
    w, base, ok = _check_inputs(mat, weights, base_covered, allowed)
    red = _reduce(mat, w, base, ok, required)
    total = float(w.sum())
    base_w = float(w[base].sum())
    need = target_share * total - base_w - 1e-9 * max(1.0, total)
    t0 = time.perf_counter()
    if need <= 0 and not red.groups:
        return _solution(
            red, [], [], bound=0.0, proven=True, method="milp", model="set_covering", status="Optimal",
            runtime_s=0.0, target_weight=0.0,
        )  # fmt: skip
    reach = float(red.weight.sum())
    if reach < need:
        best = 100.0 * (base_w + reach) / total if total else 0.0
        msg = (
            f"the target of {100 * target_share:.1f}% cannot be reached: with every allowed candidate site "
            f"the coverage is at most {best:.1f}%"
        )
        raise SitingError(msg)
    n_s, n_p = red.cover.shape
    # greedy start: the smallest k whose greedy choice reaches the need
    k = max(1, len(red.groups))
    while True:
        g_order, g_gains = _greedy_rows(red.cover, red.weight, k, red.groups)
        if sum(g_gains) >= need or k >= n_s:
            break
        k += 1
    n_cols = n_s + n_p
    weight_row = sparse.csr_matrix(np.r_[np.zeros(n_s), red.weight][None, :])
    mat_all = sparse.vstack([_cover_rows(red), weight_row, _group_rows(red, n_cols)], format="csc")
    n_g = len(red.groups)
    h = _model(
        mat_all,
        cost=np.r_[np.ones(n_s), np.zeros(n_p)],
        col_lower=np.zeros(n_cols),
        col_upper=np.ones(n_cols),
        row_lower=np.r_[np.full(n_p, -highs.INF), max(need, 0.0), np.ones(n_g)],
        row_upper=np.r_[np.zeros(n_p), highs.INF, np.full(n_g, highs.INF)],
        n_int=n_s,
        maximize=False,
        time_limit_s=time_limit_s,
    )
    run = h.solve(_start_vector(red, g_order))
    pick = np.flatnonzero(run.x[:n_s] > 0.5).tolist() if run.x.shape[0] >= n_s else []
    _, pg = _rank(red.cover, red.weight, pick)
    if not pick or sum(pg) < need or len(pick) > len(g_order):
        pick = g_order
        _, pg = _rank(red.cover, red.weight, pick)
    bound = math.ceil(run.dual_bound - 1e-6) if math.isfinite(run.dual_bound) else 0.0
    proven = run.optimal and len(pick) <= bound
    status = run.status
    if maximize_coverage and pick:
        remaining = max(0.0, time_limit_s - (time.perf_counter() - t0))
        h2 = _mclp_highs(red, len(pick), integer=True, time_limit_s=max(remaining, 1.0))
        run2 = h2.solve(_start_vector(red, pick))
        pick2 = np.flatnonzero(run2.x[:n_s] > 0.5).tolist() if run2.x.shape[0] >= n_s else []
        _, g2 = _rank(red.cover, red.weight, pick2)
        if len(pick2) == len(pick) and sum(g2) >= sum(pg) and sum(g2) >= need:
            pick = pick2
    order, gains = _rank(red.cover, red.weight, pick)
    rt = time.perf_counter() - t0
    return _solution(
        red, order, gains, bound=float(bound), proven=proven, method="milp", model="set_covering", status=status,
        runtime_s=rt, target_weight=max(need, 0.0),
    )  # fmt: skip


def covered_weight(
    matrix: Any, weights: npt.ArrayLike, chosen: npt.ArrayLike, *, base_covered: npt.ArrayLike | None = None
) -> float:
    """Weighted demand newly covered by the sites ``chosen`` (beyond ``base_covered``).

    Returns
    -------
    float
    """
    mat = _as_csr(matrix)
    w, base, _ = _check_inputs(mat, weights, base_covered, None)
    sel = np.asarray(chosen, dtype=np.int64)
    if sel.size == 0:
        return 0.0
    hit = np.asarray(mat[sel].sum(axis=0)).ravel() > 0
    return float(w[hit & ~base].sum())


# ------------------------------------------------------------------------------ frames


def nearest_road_names(
    lon: npt.ArrayLike, lat: npt.ArrayLike, roads: gpd.GeoDataFrame, *, metric_crs: str
) -> tuple[npt.NDArray[np.object_], FloatArray]:
    """The nearest *named* road of each WGS-84 point (shapely STRtree, in a metric CRS).

    Parameters
    ----------
    lon, lat : array-like of float
    roads : GeoDataFrame
        Line geometries with a ``name`` column and a CRS; unnamed rows are ignored.
    metric_crs : str
        Projected CRS in metres for the distance.

    Returns
    -------
    (names, dist_m)
        ``names`` object array (``None`` where no named road exists), ``dist_m`` metres
        (NaN likewise).

    Raises
    ------
    InputColumnsError, CRSMismatchError
        No ``name`` column; no CRS.
    """
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    names = np.full(lo.shape[0], None, dtype=object)
    dist = np.full(lo.shape[0], np.nan)
    if "name" not in roads.columns:
        msg = "the roads layer lacks a name column"
        raise InputColumnsError(msg)
    if roads.crs is None:
        msg = "the roads layer has no CRS; set it (EPSG:4326 for WGS-84 lon/lat)"
        raise CRSMismatchError(msg)
    nm = roads["name"]
    named = roads.loc[nm.notna() & (nm.astype(str).str.strip() != "")]
    if named.empty or lo.shape[0] == 0:
        return names, dist
    geo = named.to_crs(metric_crs)
    tree = shapely.STRtree(np.asarray(geo.geometry.to_numpy(), dtype=object))
    x, y = lonlat_to_metric(lo, la, metric_crs)
    ok = np.isfinite(x) & np.isfinite(y)
    idx, d = tree.query_nearest(shapely.points(x[ok], y[ok]), return_distance=True, all_matches=False)
    road_names = named["name"].astype(str).to_numpy(dtype=object)
    pos = np.flatnonzero(ok)[idx[0]]
    names[pos] = road_names[idx[1]]
    dist[pos] = np.round(d, 1)
    return names, dist


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Everything the siting models need, built once per coverage run and candidate set.

    Attributes
    ----------
    candidates : DataFrame
        :data:`geo.candidates.CANDIDATE_COLUMNS`, fresh ``RangeIndex``.
    points : DataFrame
        The demand points (a coverage run's ``points``: ``covered``, ``off_network`` and
        any of ``category``, ``need_type``, ``town_code``), fresh ``RangeIndex``.
    matrix : scipy.sparse.csr_matrix, shape (n_candidates, n_points)
        Which points each candidate covers (network walking distance).
    weights : ndarray of float64, one per point
    base_covered : ndarray of bool, one per point (covered by the existing hubs)
    settings : Settings
    """

    candidates: pd.DataFrame
    points: pd.DataFrame
    matrix: sparse.csr_matrix
    weights: FloatArray
    base_covered: BoolArray
    settings: Settings

    @property
    def usable(self) -> BoolArray:
        """Candidates the models may choose (not ``off_network``)."""
        return ~self.candidates["off_network"].to_numpy(dtype=bool)

    @property
    def weight_total(self) -> float:
        return float(self.weights.sum())

    @property
    def weight_before(self) -> float:
        return float(self.weights[self.base_covered].sum())


def siting_problem(
    points: pd.DataFrame,
    candidates: pd.DataFrame,
    network: WalkNetwork,
    settings: Settings,
    *,
    weights: DemandWeights | npt.ArrayLike | None = None,
    weight_column: str | None = None,
) -> SitingProblem:
    """Build the coverage matrix of ``candidates`` over ``points`` and their weights.

    Parameters
    ----------
    points : DataFrame
        One row per beneficiary with ``node`` (-1 without coordinates), ``access_m``,
        ``covered`` (by the existing hubs) and ``off_network``: the ``points`` of a
        :class:`geo.analysis.CoverageRun` computed with the same ``settings``.
    candidates : DataFrame
        :data:`geo.candidates.CANDIDATE_COLUMNS`.
    network : WalkNetwork
        The network the points were snapped to.
    settings : Settings
        Minutes and speed (the cutoff).
    weights : DemandWeights or array-like, optional
        Per-point weights, or the rule to derive them (``DemandWeights()`` by default).
    weight_column : str, optional
        Take the weights from this numeric column of ``points`` instead.

    Returns
    -------
    SitingProblem

    Raises
    ------
    InputColumnsError
        A required column is missing or the weight column is not numeric / negative.
    """
    missing = [c for c in ("node", "access_m", "covered", "off_network") if c not in points.columns]
    missing += [f"candidates.{c}" for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        msg = f"siting needs column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    pts = points.reset_index(drop=True)
    cands = candidates.reset_index(drop=True)
    if weight_column is not None:
        if weight_column not in pts.columns:
            msg = f"the points have no weight column {weight_column!r}"
            raise InputColumnsError(msg)
        raw = pts[weight_column]
        num = pd.to_numeric(raw, errors="coerce")
        if num.isna().any() or (num < 0).any():
            bad = raw[num.isna() | (num < 0)].iloc[0]
            msg = f"weight column {weight_column!r} must hold numbers >= 0, found {bad!r}"
            raise InputColumnsError(msg)
        w = num.to_numpy(dtype=np.float64)
    elif weights is None or isinstance(weights, DemandWeights):
        w = (weights or DemandWeights()).weights_for(pts)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape[0] != len(pts):
            msg = f"{w.shape[0]} weights for {len(pts)} points"
            raise InputColumnsError(msg)
    node = pts["node"].to_numpy(dtype=np.int64)
    acc = np.rint(np.nan_to_num(pts["access_m"].to_numpy(dtype=np.float64), nan=0.0) * 100.0).astype(np.int64)
    off = pts["off_network"].to_numpy(dtype=bool)
    s_acc = np.rint(cands["access_m"].to_numpy(dtype=np.float64) * 100.0).astype(np.int64)
    s_node = np.where(cands["off_network"].to_numpy(dtype=bool), -1, cands["node"].to_numpy(dtype=np.int64))
    mat = coverage_matrix(network, s_node, s_acc, node, acc, cutoff_cm=settings.cutoff_cm, eligible=~off)
    return SitingProblem(
        candidates=cands,
        points=pts,
        matrix=mat,
        weights=w,
        base_covered=pts["covered"].to_numpy(dtype=bool),
        settings=settings,
    )


def problem_from_run(
    run: CoverageRun,
    candidates: pd.DataFrame,
    *,
    weights: DemandWeights | npt.ArrayLike | None = None,
    weight_column: str | None = None,
) -> SitingProblem:
    """:func:`siting_problem` on a :class:`geo.analysis.CoverageRun` (its points, network and settings)."""
    return siting_problem(
        run.points, candidates, run.engine.network, run.settings, weights=weights, weight_column=weight_column
    )


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Recommended sites with their figures.

    Attributes
    ----------
    sites : DataFrame
        One row per recommended site, best first: ``rank`` (1..), ``site_id``, ``lon``,
        ``lat``, ``node``, ``access_m``, ``town_code``, ``newly_covered`` (weighted
        demand this site adds after the ones ranked before it), ``newly_covered_n``
        (beneficiaries it adds), ``n_cat_<category>`` and ``n_need_<need type>`` (those
        beneficiaries by category and need type; survival, care, development always),
        ``road_name`` and ``road_dist_m`` (nearest named road; None / NaN without roads).
    solution : SitingSolution
    weight_total, weight_before, weight_after : float
        Weighted demand in all, covered by the existing hubs, and with the new sites.
    n_points, n_covered_before, n_covered_after : int
        The same as counts of beneficiaries.
    """

    sites: pd.DataFrame
    solution: SitingSolution
    weight_total: float
    weight_before: float
    weight_after: float
    n_points: int
    n_covered_before: int
    n_covered_after: int

    @property
    def pct_before(self) -> float:
        return coverage_pct(self.n_covered_before, self.n_points)

    @property
    def pct_after(self) -> float:
        return coverage_pct(self.n_covered_after, self.n_points)

    def summary(self) -> dict[str, Any]:
        """The headline figures as plain values (for a page, a report or a CLI line)."""
        s = self.solution
        return {
            "model": s.model,
            "method": s.method,
            "n_sites": s.n_sites,
            "proven_optimal": s.proven_optimal,
            "status": s.status,
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "runtime_s": s.runtime_s,
            "weight_total": self.weight_total,
            "weight_before": self.weight_before,
            "weight_after": self.weight_after,
            "n_points": self.n_points,
            "n_covered_before": self.n_covered_before,
            "n_covered_after": self.n_covered_after,
            "pct_before": self.pct_before,
            "pct_after": self.pct_after,
        }


def _site_constraints(
    problem: SitingProblem, require_towns: Sequence[str], within_towns: Sequence[str] | str | None
) -> tuple[BoolArray, list[IntArray]]:
    town = problem.candidates["town_code"].astype(object).to_numpy()
    allowed = problem.usable.copy()
    if within_towns is not None:
        wt = [within_towns] if isinstance(within_towns, str) else list(within_towns)
        allowed &= np.isin(town, np.asarray([str(t) for t in wt], dtype=object))
        if not allowed.any():
            msg = f"no usable candidate site inside town(s) {', '.join(map(str, wt))}"
            raise SitingError(msg, key="siting_within_empty", town_codes=tuple(map(str, wt)))
    groups: list[IntArray] = []
    for code in dict.fromkeys(str(t) for t in require_towns):
        g = np.flatnonzero(allowed & (town == code)).astype(np.int64)
        if g.size == 0:
            msg = f"town {code} must get a station but has no usable candidate site"
            raise SitingError(msg, key="siting_required_empty", town_code=code)
        groups.append(g)
    return allowed, groups


def _value_columns(points: pd.DataFrame, col: str, fixed: Sequence[str]) -> list[str]:
    if col not in points.columns:
        return list(fixed)
    found = {str(v) for v in points[col].dropna().unique()}
    return list(fixed) + sorted(found - set(fixed))


def _sites_frame(problem: SitingProblem, solution: SitingSolution, roads: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The ranked site table: attribution of newly covered points along the rank order."""
    cands = problem.candidates
    pts = problem.points
    mat = problem.matrix
    covered = problem.base_covered.copy()
    cats = _value_columns(pts, "category", ())
    needs = _value_columns(pts, "need_type", NEED_TYPES)
    cat_v = pts["category"].astype(object).to_numpy() if "category" in pts.columns else None
    need_v = pts["need_type"].astype(object).to_numpy() if "need_type" in pts.columns else None
    rows: list[dict[str, Any]] = []
    for rank, j in enumerate(solution.chosen.tolist(), start=1):
        idx = mat.indices[mat.indptr[j] : mat.indptr[j + 1]]
        new = idx[~covered[idx]]
        covered[new] = True
        row: dict[str, Any] = {
            "rank": rank,
            **{c: cands.at[j, c] for c in ("site_id", "lon", "lat", "node", "access_m", "town_code")},
            "newly_covered": float(problem.weights[new].sum()),
            "newly_covered_n": int(new.shape[0]),
        }
        for c in cats:
            row[f"n_cat_{c}"] = int((cat_v[new] == c).sum()) if cat_v is not None else 0
        for t in needs:
            row[f"n_need_{t}"] = int((need_v[new] == t).sum()) if need_v is not None else 0
        rows.append(row)
    columns = ["rank", "site_id", "lon", "lat", "node", "access_m", "town_code", "newly_covered", "newly_covered_n"]
    columns += [f"n_cat_{c}" for c in cats] + [f"n_need_{t}" for t in needs]
    out = pd.DataFrame(rows, columns=columns)
    out = out.astype({"rank": "int64", "node": "int64", "newly_covered_n": "int64", "newly_covered": "float64"})
    if roads is not None:
        names, dist = nearest_road_names(out["lon"], out["lat"], roads, metric_crs=problem.settings.metric_crs)
    else:
        names, dist = np.full(len(out), None, dtype=object), np.full(len(out), np.nan)
    out["road_name"] = pd.Series(names, dtype=object)
    out["road_dist_m"] = dist
    return out


def _result(problem: SitingProblem, solution: SitingSolution, roads: gpd.GeoDataFrame | None) -> SitingResult:
    sites = _sites_frame(problem, solution, roads)
    n_new = int(sites["newly_covered_n"].sum())
    w_new = float(sites["newly_covered"].sum())
    n_before = int(problem.base_covered.sum())
    return SitingResult(
        sites=sites,
        solution=solution,
        weight_total=problem.weight_total,
        weight_before=problem.weight_before,
        weight_after=problem.weight_before + w_new,
        n_points=len(problem.points),
        n_covered_before=n_before,
        n_covered_after=n_before + n_new,
    )


def recommend_sites(
    problem: SitingProblem,
    p: int,
    *,
    method: Method = "auto",
    require_towns: Sequence[str] = (),
    within_towns: Sequence[str] | str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    roads: gpd.GeoDataFrame | None = None,
) -> SitingResult:
    """Where ``p`` new stations should go (maximal covering on the problem's weights).

    Parameters
    ----------
    problem : SitingProblem
    p : int
        Number of new stations.
    method : {"auto", "milp", "greedy"}
        See :func:`maximal_covering`.
    require_towns : sequence of str
        Town codes that must each get at least one new station.
    within_towns : str or sequence of str, optional
        Only sites inside these towns.
    time_limit_s : float
        HiGHS time limit.
    roads : GeoDataFrame, optional
        Named road lines (``name``), to give each site its nearest named road.

    Returns
    -------
    SitingResult
    """
    allowed, groups = _site_constraints(problem, require_towns, within_towns)
    sol = maximal_covering(
        problem.matrix,
        problem.weights,
        p,
        base_covered=problem.base_covered,
        allowed=allowed,
        required=groups,
        method=method,
        time_limit_s=time_limit_s,
    )
    return _result(problem, sol, roads)


def target_weights(points: pd.DataFrame, need_types: Sequence[str] | None = ("survival",)) -> FloatArray:
    """1 for the households in the target group (need type in ``need_types``; all when ``None``), else 0."""
    if need_types is None:
        return np.ones(len(points))
    if "need_type" not in points.columns:
        msg = "the points have no need_type column to select the target group"
        raise InputColumnsError(msg)
    return np.asarray(points["need_type"].astype(object).isin(list(need_types)), dtype=np.float64)


def fewest_sites(
    problem: SitingProblem,
    target_share: float = 0.95,
    *,
    need_types: Sequence[str] | None = ("survival",),
    weighted: bool = False,
    require_towns: Sequence[str] = (),
    within_towns: Sequence[str] | str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    roads: gpd.GeoDataFrame | None = None,
) -> SitingResult:
    """The fewest new stations so that ``target_share`` of a target group is covered.

    Parameters
    ----------
    problem : SitingProblem
    target_share : float
        Goal in (0, 1], e.g. 0.95 for "95 % of survival-need households".
    need_types : sequence of str or None
        The target group by need type; ``None`` for every beneficiary.
    weighted : bool
        Count the target with the problem's weights instead of households.
    require_towns, within_towns, time_limit_s, roads
        As for :func:`recommend_sites`.

    Returns
    -------
    SitingResult
        ``sites`` ranked by the target weight each adds (``newly_covered`` is in the
        problem's weights); ``solution.model == "set_covering"``.
    """
    tw = target_weights(problem.points, need_types)
    if weighted:
        tw = tw * problem.weights
    allowed, groups = _site_constraints(problem, require_towns, within_towns)
    sol = set_covering(
        problem.matrix,
        tw,
        target_share,
        base_covered=problem.base_covered,
        allowed=allowed,
        required=groups,
        time_limit_s=time_limit_s,
    )
    return _result(problem, sol, roads)


def solution_to_frame(solution: SitingSolution, candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """A solution as a table: ``rank``, ``candidate`` (row position), ``gain`` and, with candidates, ``site_id``."""
    out = pd.DataFrame(
        {
            "rank": np.arange(1, solution.n_sites + 1, dtype=np.int64),
            "candidate": solution.chosen,
            "gain": solution.gains,
        }
    )
    if candidates is not None:
        out["site_id"] = candidates["site_id"].to_numpy()[solution.chosen] if solution.n_sites else []
    return out


__all__ = [
    "DemandWeights",
    "SitingError",
    "SitingProblem",
    "SitingResult",
    "SitingSolution",
    "covered_weight",
    "fewest_sites",
    "greedy_max_cover",
    "lp_relaxation_bound",
    "maximal_covering",
    "nearest_road_names",
    "problem_from_run",
    "recommend_sites",
    "set_covering",
    "siting_problem",
    "solution_to_frame",
    "target_weights",
]
