"""Symbols of the static (matplotlib) maps drawn from the data itself (no tiles, no browser).

The report maps (:mod:`reports.maps`) draw hubs by tier with these markers.
"""

from __future__ import annotations

from typing import Any

TIER_STYLE: dict[str, dict[str, Any]] = {
    "district": {"marker": "*", "s": 260, "color": "#b2182b", "label": "区级助联体"},
    "town": {"marker": "s", "s": 70, "color": "#2166ac", "label": "镇街服务站"},
    "village": {"marker": "o", "s": 14, "color": "#1b7837", "label": "村(社区)服务点"},
}
