"""The closed form for hexagons under ten households is what the exact audit certifies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.disclosure import PRIMARY, PUBLISHED, Screen, feasible_intervals, protect_hexes

CATS = ["n_cat_a", "n_cat_b", "n_cat_c", "n_cat_d", "n_cat_e"]


def random_small_hexes(n_hex: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_hex):
        n = int(rng.integers(1, 10))
        cov = int(rng.integers(0, n + 1))
        cats = rng.multinomial(int(rng.integers(0, n + 1)), [0.2] * 5)
        rows.append({"n": n, "covered": cov, **dict(zip(CATS, cats.tolist(), strict=True))})
    # the tight cases: every category of one household each, and one all-covered hexagon
    rows.append({"n": 5, "covered": 5, **dict.fromkeys(CATS, 1)})
    rows.append({"n": 6, "covered": 3, **dict.fromkeys(CATS, 1)})
    rows.append({"n": 9, "covered": 0, "n_cat_a": 9, **dict.fromkeys(CATS[1:], 0)})
    return pd.DataFrame(rows)


def test_small_hexagons_keep_three_candidates_for_every_hidden_count() -> None:
    hexes = random_small_hexes(300, seed=3)
    shown = protect_hexes(hexes, category_cols=CATS)
    for k, rec in enumerate(hexes.itertuples(index=False)):
        screen = Screen(threshold=10)
        cells = screen.cells(np.array([[rec.n, rec.covered, rec.n - rec.covered]]))[0]
        cats = screen.cells(np.array([[getattr(rec, c) for c in CATS]]))[0]
        screen.relate(cells[1:], int(cells[0]))
        screen.partition(cats, int(cells[0]))
        values = np.asarray(screen.values, dtype=np.int64)
        texts = [shown.iloc[k][f"{name}_txt"] for name in ("n", "covered", "uncovered")]
        texts += [shown.iloc[k][f"{c}_txt"] for c in CATS]
        status = np.full(values.size, PRIMARY, dtype=np.int8)  # the unprinted remainder too
        for i, text in enumerate(texts):
            assert text in ("0", "<10")
            assert (text == "0") == (values[i] == 0)
            status[i] = PUBLISHED if text == "0" else PRIMARY
        lo, hi = feasible_intervals(values, status, screen.relations)
        hidden = status != PUBLISHED
        assert (hi[hidden] - lo[hidden] + 1 >= 3).all(), (rec, lo, hi)


def test_mixed_table_keeps_row_order_and_protects_the_large_hexagons_by_the_solver() -> None:
    small = random_small_hexes(5, seed=4)
    big = pd.DataFrame([{"n": 40, "covered": 31, "n_cat_a": 20, "n_cat_b": 15, "n_cat_c": 5,
                         "n_cat_d": 0, "n_cat_e": 0}])  # fmt: skip
    hexes = pd.concat([small.iloc[:2], big, small.iloc[2:]], ignore_index=True)
    shown = protect_hexes(hexes, category_cols=CATS)
    assert list(shown.index) == list(hexes.index)
    assert shown.loc[2, "n_txt"] == "40"
    assert shown.loc[2, "n_cat_c_txt"] != "5"  # a small count never prints
    assert (shown.drop(index=2)["n_txt"] == "<10").all()
