"""geo.highs: the one HiGHS wrapper (LP, MILP, warm re-solve, silence)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from geo import highs


def test_milp_knapsack_optimum_and_gap() -> None:
    # max 5a + 4b + 3c  s.t. 2a + 3b + c <= 5, binary: a + c = 8, a + b = 9 -> {a, b}
    A = sp.csr_array(np.array([[2.0, 3.0, 1.0]]))
    res = highs.solve(
        [5.0, 4.0, 3.0], A, row_lower=[-highs.INF], row_upper=[5.0], col_lower=np.zeros(3),
        col_upper=np.ones(3), integrality=[True, True, True], sense="max", time_limit_s=10.0, mip_rel_gap=0.0,
    )  # fmt: skip
    assert res.optimal and res.status == "Optimal"
    np.testing.assert_allclose(res.x, [1.0, 1.0, 0.0])
    assert res.objective == pytest.approx(9.0)
    assert res.dual_bound == pytest.approx(9.0)
    assert res.mip_gap == pytest.approx(0.0)


def test_lp_relaxation_is_fractional() -> None:
    A = sp.csr_array(np.array([[2.0, 3.0, 1.0]]))
    res = highs.solve(
        [5.0, 4.0, 3.0], A, row_lower=[-highs.INF], row_upper=[5.0], col_lower=np.zeros(3),
        col_upper=np.ones(3), sense="max",
    )  # fmt: skip
    assert res.optimal
    assert res.objective == pytest.approx(5.0 + 3.0 + 4.0 * 2.0 / 3.0)


def test_warm_resolve_with_new_cost() -> None:
    # x + y = 4, 0 <= x, y <= 3: min x -> 1, min -x -> 3
    model = highs.Model(
        [1.0, 0.0], sp.csr_array(np.array([[1.0, 1.0]])), row_lower=[4.0], row_upper=[4.0],
        col_lower=[0.0, 0.0], col_upper=[3.0, 3.0],
    )  # fmt: skip
    assert model.solve().x[0] == pytest.approx(1.0)
    model.set_cost([-1.0, 0.0])
    assert model.solve().x[0] == pytest.approx(3.0)


def test_warm_resolve_with_new_column_bounds_presolve_off() -> None:
    # x + y + z = 6, 0 <= x, y, z <= 4, min x + 2y + 3z; fixing x, then infeasible, then fixed again
    A = sp.csr_array(np.array([[1.0, 1.0, 1.0]]))
    m = highs.Model(
        [1.0, 2.0, 3.0], A, row_lower=[6.0], row_upper=[6.0], col_lower=np.zeros(3), col_upper=np.full(3, 4.0),
        presolve=False,
    )  # fmt: skip
    first = m.solve()
    np.testing.assert_allclose(first.x, [4.0, 2.0, 0.0])
    m.set_col_bounds([0], 1.0, 1.0)
    res = m.solve()
    assert res.optimal
    np.testing.assert_allclose(res.x, [1.0, 4.0, 1.0])
    m.set_col_bounds([1, 2], [0.0, 0.0], [1.0, 1.0])  # 1 + 1 + 1 < 6
    assert not m.solve().optimal
    m.set_col_bounds([0, 1, 2], 0.0, 4.0)
    again = m.solve()
    assert again.optimal
    np.testing.assert_allclose(again.x, first.x)


def test_infeasible_is_not_optimal() -> None:
    res = highs.solve(
        [1.0], sp.csr_array(np.array([[1.0]])), row_lower=[5.0], row_upper=[5.0], col_lower=[0.0], col_upper=[1.0]
    )
    assert not res.optimal
    assert res.status != "Optimal"


def test_no_banner_on_stdout() -> None:
    code = "from geo import highs; import scipy.sparse as sp, numpy as np; " + (
        "highs.solve([1.0], sp.csr_array(np.ones((1, 1))), row_lower=[1.0], row_upper=[1.0], "
        "col_lower=[0.0], col_upper=[2.0]); print('done')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "done\n"


def test_only_geo_highs_imports_highspy() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    users = [
        p.relative_to(root).as_posix()
        for pkg in ("geo", "data", "layers", "reports", "pages")
        for p in (root / pkg).rglob("*.py")
        if "import highspy" in p.read_text(encoding="utf-8")
    ]
    assert users == ["geo/highs.py"]
