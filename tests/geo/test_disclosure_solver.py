"""Disclosure control on crafted small tables: the attacks succeed without secondary suppression, fail after."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import SuppressionError
from geo.disclosure import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    SECONDARY_ZERO,
    Constraint,
    _bounds,
    _Model,
    _propagate,
    feasible_intervals,
    hide_ratio,
    marker,
    primary_mask,
    recoverable_cells,
    suppress,
)

LT, GE = marker()


def two_way(table: np.ndarray) -> tuple[np.ndarray, list[Constraint]]:
    """Cells of an r x c table with row totals, column totals and the grand total, and its relations."""
    r, c = table.shape
    values = np.r_[table.ravel(), table.sum(axis=1), table.sum(axis=0), table.sum()]
    n = r * c
    rel: list[Constraint] = [([i * c + j for j in range(c)], n + i) for i in range(r)]
    rel += [([i * c + j for i in range(r)], n + r + j) for j in range(c)]
    rel += [(list(range(n, n + r)), n + r + c), (list(range(n + r, n + r + c)), n + r + c)]
    return values, rel


def printed(values: np.ndarray, status: np.ndarray) -> list[object]:
    return [int(v) if s == PUBLISHED else (GE if s == SECONDARY else LT) for v, s in zip(values, status, strict=True)]


def split_two_way(cells: list[object], r: int, c: int) -> dict[str, object]:
    n = r * c
    return {
        "table": [cells[i * c : (i + 1) * c] for i in range(r)],
        "row_totals": cells[n : n + r],
        "col_totals": cells[n + r : n + r + c],
        "grand_total": cells[n + r + c],
    }


def test_primary_rule_keeps_zero_and_hides_one_to_nine() -> None:
    m = primary_mask([0, 1, 5, 9, 10, 11, 250])
    assert m.tolist() == [False, True, True, True, False, False, False]
    assert marker(10) == ("<10", "≥10")
    assert primary_mask([4, 5], threshold=5).tolist() == [True, False]


def test_subtraction_attack_recovers_a_lone_small_count() -> None:
    # one row: 3 + 25 + 40 = 68, only the 3 hidden
    found = recoverable_cells([[LT, 25, 40]], row_totals=[68])
    assert [(f.row, f.col, f.lower, f.upper) for f in found] == [(0, 0, 3, 3)]


def test_secondary_suppression_defeats_the_subtraction_attack() -> None:
    values = np.array([3, 25, 40, 68])
    res = suppress(values, [([0, 1, 2], 3)])
    assert res.status[0] == PRIMARY
    assert res.status[1] == SECONDARY  # the smallest other part, not the total
    assert res.status[2] == PUBLISHED and res.status[3] == PUBLISHED
    cells = printed(values, res.status)
    assert cells == [LT, GE, 40, 68]
    assert recoverable_cells([cells[:3]], row_totals=[68]) == []
    lo, hi = feasible_intervals(values, res.status, [([0, 1, 2], 3)])
    assert (lo[0], hi[0]) == (0, 9)  # "<10" may be anything 0..9 once 25 is hidden too
    assert res.unsafe.size == 0


def test_next_smallest_alone_can_still_pin_the_cell() -> None:
    # 1 + 10 + 40 = 51: hiding the 1 and the 10 leaves 1 + x = 11 with x >= 10, so the 1 is pinned
    found = recoverable_cells([[LT, GE, 40]], row_totals=[51], lt_lower=1)
    assert (found[0].row, found[0].col, found[0].lower, found[0].upper) == (0, 0, 1, 1)
    res = suppress([1, 10, 40, 51], [([0, 1, 2], 3)], lt_lower=1)
    assert (res.status[:3] != PUBLISHED).all()  # a third cell had to go
    assert recoverable_cells([printed(np.array([1, 10, 40, 51]), res.status)[:3]], row_totals=[51], lt_lower=1) == []


def test_two_way_table_attack_and_protection() -> None:
    table = np.array([[3, 20, 31], [12, 7, 40], [25, 30, 18]])
    values, rel = two_way(table)
    prim = primary_mask(values).astype(np.int8)
    naive = printed(values, prim)
    found = recoverable_cells(**split_two_way(naive, 3, 3))
    assert {(f.row, f.col) for f in found} == {(0, 0), (1, 1)}
    assert {(f.lower, f.upper) for f in found} == {(3, 3), (7, 7)}
    res = suppress(values, rel)
    cells = printed(values, res.status)
    assert recoverable_cells(**split_two_way(cells, 3, 3)) == []
    assert recoverable_cells(**split_two_way(cells, 3, 3), protection=2) == []
    lo, hi = feasible_intervals(values, res.status, rel)
    for i in np.flatnonzero(res.status == PRIMARY):
        assert hi[i] - lo[i] >= 2
        assert lo[i] <= values[i] <= hi[i]
    # every relation keeps at least two hidden cells
    for parts, total in rel:
        members = [*parts, total]
        assert sum(res.status[m] != PUBLISHED for m in members) != 1


def test_linear_system_attack_beats_per_row_rules() -> None:
    # each relation has two hidden cells (the classic rule is satisfied) but the three relations pin them:
    # x0 + x1 = 5, x1 + x2 = 5, x0 + x2 = 6  ->  x0 = 3, x1 = 2, x2 = 3
    values = np.array([3, 2, 3, 5, 5, 6])
    rel: list[Constraint] = [([0, 1], 3), ([1, 2], 4), ([0, 2], 5)]
    status = np.array([PRIMARY, PRIMARY, PRIMARY, PUBLISHED, PUBLISHED, PUBLISHED], dtype=np.int8)
    for parts, total in rel:
        assert sum(status[m] != PUBLISHED for m in [*parts, total]) == 2
    lo, hi = feasible_intervals(values, status, rel)
    assert lo[:3].tolist() == [3, 2, 3] and hi[:3].tolist() == [3, 2, 3]
    # the totals are primary too: suppress() hides them and then the cells are safe
    res = suppress(values, rel)
    assert res.n_primary == 6 and res.unsafe.size == 0


def test_children_count_attack_needs_the_zero_rule() -> None:
    # a "<10" total of 9 over nine "<10" parts and two zeros: a reader who takes "<10" for 1-9
    # knows the total is at least 9, so it is 9 and every part is 1 -- no secondary cell can help
    values = np.array([1] * 9 + [0, 0, 9])
    rel: list[Constraint] = [(list(range(11)), 11)]
    status = primary_mask(values).astype(np.int8)
    lo, hi = feasible_intervals(values, status, rel, lt_lower=1)
    assert lo[:9].tolist() == [1] * 9 and hi[:9].tolist() == [1] * 9 and (lo[11], hi[11]) == (9, 9)
    with pytest.raises(SuppressionError, match="cannot be protected"):
        suppress(values, rel, lt_lower=1)
    # under the printed rule ("<10" is 0-9: a withheld 0 prints "<10" too) none is pinned
    lo, hi = feasible_intervals(values, status, rel)
    assert (hi[:9] - lo[:9] >= 2).all()
    # and with that rule suppress() keeps every "<10" at least two values wide
    res = suppress(values, rel)
    assert res.unsafe.size == 0


def test_zero_can_be_withheld_and_prints_as_lt10() -> None:
    # 4 + 0 + 30 = 34: hiding the zero (cheaper than the 30) protects the 4
    values = np.array([4, 0, 30, 34])
    res = suppress(values, [([0, 1, 2], 3)], cost=[10, 1, 300, 340])
    assert res.status[1] == SECONDARY_ZERO
    assert res.status[2] == PUBLISHED
    lo, hi = feasible_intervals(values, res.status, [([0, 1, 2], 3)])
    assert (lo[0], hi[0]) == (0, 4)
    assert (lo[1], hi[1]) == (0, 4)


def test_keep_and_eligible_steer_what_is_hidden() -> None:
    values = np.array([3, 25, 40, 68])
    res = suppress(values, [([0, 1, 2], 3)], keep=[False, True, False, False])
    assert res.status[1] == PUBLISHED and res.status[2] == SECONDARY
    with pytest.raises(SuppressionError, match="cannot be protected"):
        suppress(values, [([0, 1, 2], 3)], eligible=[False, False, False, False])
    res = suppress(
        values, [([0, 1, 2], 3)], eligible=[False, False, False, False], last_resort=[False, True, True, True]
    )
    assert res.stats["last_resort"] == 1 and res.unsafe.size == 0


def test_random_tables_are_protected_and_deterministic() -> None:
    rng = np.random.default_rng(7)
    for _ in range(25):
        r, c = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        table = rng.integers(0, 25, size=(r, c))
        values, rel = two_way(table)
        res = suppress(values, rel)
        again = suppress(values, rel)
        assert np.array_equal(res.status, again.status)
        assert (res.status[primary_mask(values)] == PRIMARY).all()
        sec = np.isin(res.status, (SECONDARY, SECONDARY_ZERO))
        assert ((values[sec] >= 10) | (values[sec] == 0)).all()
        assert (values[res.status == SECONDARY_ZERO] == 0).all()
        prim = np.flatnonzero(res.status == PRIMARY)
        if prim.size:
            lo, hi = feasible_intervals(values, res.status, rel, cells=prim)
            assert (hi[prim] - lo[prim] >= 2).all()
            assert ((lo[prim] <= values[prim]) & (values[prim] <= hi[prim])).all()


def test_bound_propagation_never_claims_more_than_the_exact_attack() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        table = rng.integers(0, 14, size=(int(rng.integers(2, 4)), int(rng.integers(2, 4))))
        values, rel = two_way(table)
        status = primary_mask(values).astype(np.int8)
        big = int(values.max())
        model = _Model.build(values, rel)
        plo, phi = _propagate(model, *_bounds(status, values, 10, big))
        elo, ehi = feasible_intervals(values, status, rel)
        hidden = status != PUBLISHED
        assert (plo[hidden] <= elo[hidden]).all() and (phi[hidden] >= ehi[hidden]).all()


def test_ratio_hidden_when_numerator_or_denominator_is() -> None:
    assert hide_ratio([0, 1, 0, 2], [0, 0, 1, 2]).tolist() == [False, True, True, True]


def test_inconsistent_relations_are_refused() -> None:
    with pytest.raises(SuppressionError, match="does not hold"):
        suppress([1, 2, 4], [([0, 1], 2)])
    with pytest.raises(SuppressionError, match="outside the table"):
        suppress([1, 2, 3], [([0, 5], 2)])
    with pytest.raises(SuppressionError, match="non-negative"):
        suppress([-1, 2, 1], [([0, 1], 2)])


def _publication_args(table: np.ndarray) -> tuple[object, ...]:
    values, rel = two_way(table)
    n = values.shape[0]
    population = np.ones(n, dtype=bool)  # every cell a population count: the first stage hides
    cost = np.maximum(values, 10).astype(np.float64)
    return (values, rel, rel, population, cost, np.zeros(n, dtype=bool), 10, 3)


def test_suppression_worker_gives_what_the_caller_would_compute() -> None:
    from geo.disclosure import SuppressionWorker, _suppress_publication

    args = _publication_args(np.array([[3, 40, 25], [12, 6, 30], [20, 22, 2]]))
    want = _suppress_publication(*args)  # type: ignore[arg-type]
    worker = SuppressionWorker()
    worker.submit(args)
    got = worker.result()
    for g, w in zip(got[:2], want[:2], strict=True):
        assert np.array_equal(g.status, w.status)
        assert (g.status == SECONDARY).any()
    assert not worker._proc and not __import__("os").path.exists(worker._dir)  # closed, files removed


def test_suppression_worker_raises_the_error_in_the_caller_and_can_be_closed_early() -> None:
    from geo.disclosure import SuppressionWorker

    values, rel, *rest = _publication_args(np.array([[3, 40], [12, 6]]))
    broken = np.asarray(values).copy()
    broken[-1] += 1  # the grand total no longer adds up
    worker = SuppressionWorker()
    worker.submit((broken, rel, *rest))
    with pytest.raises(SuppressionError, match="does not hold"):
        worker.result()
    idle = SuppressionWorker()
    proc = idle._proc
    idle.close()  # never given any work: stopped, nothing left behind
    assert proc is not None and proc.poll() is not None
    idle.close()
    with pytest.raises(SuppressionError, match="closed"):
        idle.submit(())
