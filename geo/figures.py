"""The figures users see, each computed in one place.

Vocabulary, the same in code, UI and reports:

- ``covered`` (per household): a hub lies within the walking cutoff. The UI and the reports
  print it as 圈内 / "inside the circle"; report tables name the count of covered
  households of an area ``inside`` and the rest ``outside``.
- the coverage share: :func:`coverage_pct` (``100 * covered / n``), wherever it is shown.
- ``served`` (per hub): the covered households whose nearest hub it is; a different fact,
  summed over hubs it equals the covered count.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@overload
def coverage_pct(covered: int | float, n: int | float) -> float: ...
@overload
def coverage_pct(covered: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray: ...
def coverage_pct(covered: npt.ArrayLike, n: npt.ArrayLike) -> float | FloatArray:
    """Share of covered households in percent: ``100 * covered / n``, NaN where ``n == 0``.

    Scalars give a float; arrays (or Series) give a float array of the same shape.
    """
    c = np.asarray(covered, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    out = np.where(m > 0, 100.0 * c / np.maximum(m, 1.0), np.nan)
    if out.ndim == 0:
        return float(out)
    return out
