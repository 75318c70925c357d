"""pages._cache.shared_result: one shared entry, and what a caller changes never reaches it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pages._cache import handed_out, shared_result

CALLS: list[int] = []


@dataclass(frozen=True)
class Held:
    n: int
    by: dict[str, pd.DataFrame]
    hexes: pd.DataFrame


@shared_result(max_entries=4)
def _compute(k: int) -> Held:
    CALLS.append(k)
    return Held(k, {"town": pd.DataFrame({"n": [1, 2]})}, pd.DataFrame({"h3": ["a", "b"], "n": [3, 4]}))


def test_computed_once_and_changes_stay_with_the_caller() -> None:
    _compute.clear()  # type: ignore[attr-defined]
    CALLS.clear()
    first = _compute(1)
    first.hexes["n"] = [0, 0]  # a caller writing into its frames ...
    first.hexes.loc[0, "h3"] = "x"
    del first.by["town"]["n"]
    first.by["new"] = pd.DataFrame()
    second = _compute(1)
    assert CALLS == [1]  # ... one computation, shared
    assert second.hexes["n"].tolist() == [3, 4] and second.hexes["h3"].tolist() == ["a", "b"]
    assert second.by["town"]["n"].tolist() == [1, 2] and set(second.by) == {"town"}
    assert second is not first and second.hexes is not first.hexes


def test_handed_out_leaves_other_values_alone() -> None:
    assert handed_out(3) == 3 and handed_out("a") == "a" and handed_out(None) is None
    frame = pd.DataFrame({"a": [1]})
    out = handed_out({"t": frame, "k": (1, 2)})
    assert out["k"] == (1, 2) and out["t"] is not frame and out["t"].equals(frame)
