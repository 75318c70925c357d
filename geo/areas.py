"""Which households belong to a hub: the one definition of a hub's area.

A town station's area is its town (``town_code``); a village point's area is its
community: the hub's ``community_code`` column when the hub table has one, else its id
``"V" + community_code`` (the demo bundle's convention). A district hub's area is the
whole district.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def hub_community(hubs: pd.DataFrame, community_codes: Collection[str] | None = None) -> pd.Series:
    """The community code of each village hub (``None`` for other tiers and unknown ones).

    Parameters
    ----------
    hubs : DataFrame
        ``hub_id, tier`` and optionally ``community_code``.
    community_codes : collection of str, optional
        Known community codes; an id-derived code outside it is ``None``. Without it,
        every ``"V..."`` id is taken at its word.
    """
    ids = hubs["hub_id"].astype(str)
    if "community_code" in hubs.columns:
        com = [_text(v) for v in hubs["community_code"].astype(object)]
    else:
        known = None if community_codes is None else set(community_codes)
        com = [h[1:] if h.startswith("V") and (known is None or h[1:] in known) else None for h in ids]
    village = (hubs["tier"].astype(str) == "village").to_numpy()
    return pd.Series([c if v else None for c, v in zip(com, village, strict=True)], index=hubs.index, dtype=object)


def hub_area_mask(hub: Mapping[str, Any], points: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which of ``points`` (with ``town_code``, ``community_code``) lie in ``hub``'s area.

    ``hub`` is one row of a hub table (``hub_id, tier, town_code`` and optionally
    ``community_code``).
    """
    tier = str(hub.get("tier"))
    if tier == "town":
        return (points["town_code"].astype(str) == str(hub.get("town_code"))).to_numpy()
    if tier == "village":
        row = pd.DataFrame([dict(hub)])
        code = hub_community(row).iloc[0]
        if code is None:
            return np.zeros(len(points), dtype=bool)
        return (points["community_code"].astype(str) == code).to_numpy()
    return np.ones(len(points), dtype=bool)
