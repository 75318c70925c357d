"""The one wrapper of the HiGHS solver (``highspy``), on its public API.

Every linear and mixed-integer programme of ``geo`` (siting, disclosure audits) is built
and solved here; no other module imports ``highspy``. A programme reads

    minimise (or maximise)  c @ x
    subject to              row_lower <= A @ x <= row_upper
                            col_lower <= x <= col_upper
                            x[j] integer where ``integrality[j]``

with ``A`` any scipy sparse matrix. :class:`Model` keeps the programme loaded so that it
can be re-solved warm with a new cost vector (:meth:`Model.set_cost`) or from a start
point; :func:`solve` is the one-shot form. Results come back as :class:`HighsResult`.

Output: every solver is created with ``output_flag`` off. ``highspy.Highs()`` also
prints a version banner on file descriptor 1 when the first solver of a process is
created, before any option can be set; :func:`_new_solver` creates that first solver
once, under a lock, with descriptor 1 pointed at ``/dev/null`` (command lines keep
their stdout for their own result lines).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from core.errors import SolverError

FloatArray = npt.NDArray[np.float64]

#: HiGHS' infinity (row or column bounds without a limit)
INF: float = float(highspy.kHighsInf)

_first_lock = threading.Lock()
_banner_done = False


def _new_solver() -> highspy.Highs:
    """A silent ``highspy.Highs``; the process's first is created with stdout closed (banner)."""
    global _banner_done
    if not _banner_done:
        with _first_lock:
            if not _banner_done:
                sys.stdout.flush()
                saved = os.dup(1)
                try:
                    with open(os.devnull, "w", encoding="utf-8") as null:
                        os.dup2(null.fileno(), 1)
                        h = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                _banner_done = True
                h.setOptionValue("output_flag", False)
                return h
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def quiet_banner() -> None:
    """Create (and drop) the process's first solver now, so no banner reaches stdout later."""
    _new_solver()


@dataclass(frozen=True)
class HighsResult:
    """The outcome of one solve.

    Attributes
    ----------
    status : HiGHS' model status as text (``"Optimal"``, ``"Time limit reached"`` ...).
    optimal : whether the model status is optimal.
    x : the column values of the solution (possibly empty when none was found).
    objective : the objective value of ``x``.
    dual_bound : the MIP dual bound (the best bound proven; NaN-like ``inf`` for an LP).
    mip_gap : the relative MIP gap at the end (``inf`` when none).
    runtime_s : wall-clock seconds spent in the solver.
    """

    status: str
    optimal: bool
    x: FloatArray
    objective: float
    dual_bound: float
    mip_gap: float
    runtime_s: float


class Model:
    """A linear or mixed-integer programme loaded into HiGHS.

    Parameters
    ----------
    c : array-like of float, shape (n,)
        Objective coefficients.
    A : scipy sparse matrix, shape (m, n)
        Constraint matrix.
    row_lower, row_upper : array-like of float, shape (m,)
        Row bounds (``-INF`` / ``INF`` for none; equal for an equality).
    col_lower, col_upper : array-like of float, shape (n,)
        Column bounds.
    integrality : array-like of bool, shape (n,), optional
        Integer columns (a linear programme when None or all false).
    sense : ``"min"`` or ``"max"``
    time_limit_s : float, optional
        Solver time limit in seconds (HiGHS' default, none, when None).
    mip_rel_gap : float, optional
        Relative MIP gap at which HiGHS stops (its default when None).
    presolve : bool
        HiGHS' presolve (on by default). Off for a model re-solved warm many times with
        small changes: each solve then starts from the last basis without reducing the
        model again.

    Raises
    ------
    SolverError
        When HiGHS rejects the programme.
    """

    def __init__(
        self,
        c: npt.ArrayLike,
        A: Any,
        *,
        row_lower: npt.ArrayLike,
        row_upper: npt.ArrayLike,
        col_lower: npt.ArrayLike,
        col_upper: npt.ArrayLike,
        integrality: npt.ArrayLike | None = None,
        sense: Literal["min", "max"] = "min",
        time_limit_s: float | None = None,
        mip_rel_gap: float | None = None,
        presolve: bool = True,
    ) -> None:
        csc = sp.csc_array(A)
        m, n = (int(s) for s in csc.shape)
        self.n = n
        h = _new_solver()
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(time_limit_s))
        if mip_rel_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        if not presolve:
            h.setOptionValue("presolve", "off")
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = np.asarray(c, dtype=np.float64)
        lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
        lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
        lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
        lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
        if sense == "max":
            lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(np.float64)
        if integrality is not None:
            integer = np.asarray(integrality, dtype=bool)
            if integer.any():
                lp.integrality_ = [
                    highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous for k in integer.tolist()
                ]
        if h.passModel(lp) == highspy.HighsStatus.kError:
            msg = f"HiGHS rejected a programme of {m} rows and {n} columns"
            raise SolverError(msg)
        self._h = h
        self._cols = np.arange(n, dtype=np.int32)

    def set_cost(self, c: npt.ArrayLike) -> None:
        """Replace the objective coefficients (the next solve starts warm from the last basis)."""
        self._h.changeColsCost(self.n, self._cols, np.asarray(c, dtype=np.float64))

    def set_col_bounds(self, cols: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> None:
        """Replace the bounds of the columns ``cols`` (the next solve starts warm from the last basis)."""
        idx = np.asarray(cols, dtype=np.int32).ravel()
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), idx.shape).copy()
        up = np.broadcast_to(np.asarray(upper, dtype=np.float64), idx.shape).copy()
        self._h.changeColsBounds(int(idx.shape[0]), idx, lo, up)

    def solve(self, start: npt.ArrayLike | None = None) -> HighsResult:
        """Solve, optionally from a start point (a feasible ``x`` for a MIP's first incumbent)."""
        h = self._h
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = np.asarray(start, dtype=np.float64).tolist()
            h.setSolution(sol)
        t0 = time.perf_counter()
        h.run()
        rt = time.perf_counter() - t0
        ms = h.getModelStatus()
        info = h.getInfo()
        gap = float(info.mip_gap)
        return HighsResult(
            status=h.modelStatusToString(ms),
            optimal=ms == highspy.HighsModelStatus.kOptimal,
            x=np.asarray(h.getSolution().col_value, dtype=np.float64),
            objective=float(info.objective_function_value),
            dual_bound=float(info.mip_dual_bound),
            mip_gap=gap if math.isfinite(gap) else math.inf,
            runtime_s=rt,
        )


def solve(
    c: npt.ArrayLike,
    A: Any,
    *,
    row_lower: npt.ArrayLike,
    row_upper: npt.ArrayLike,
    col_lower: npt.ArrayLike,
    col_upper: npt.ArrayLike,
    integrality: npt.ArrayLike | None = None,
    sense: Literal["min", "max"] = "min",
    time_limit_s: float | None = None,
    mip_rel_gap: float | None = None,
    start: npt.ArrayLike | None = None,
) -> HighsResult:
    """Build and solve a programme once (see :class:`Model` for the parameters)."""
    model = Model(
        c,
        A,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=col_lower,
        col_upper=col_upper,
        integrality=integrality,
        sense=sense,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
    )
    return model.solve(start)


__all__ = ["INF", "HighsResult", "Model", "SolverError", "quiet_banner", "solve"]
