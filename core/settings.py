"""Typed, frozen settings shared by every layer of the project.

The defaults follow the bureau's "10-minute assistance service circle": a walk of
10 minutes at 4.5 km/h, i.e. 750 m of network distance. GB 50180-2018 (urban residential
planning standard) speaks of a 10-minute life circle with a walking distance of about
500 m; its figure includes detours and waiting at crossings, ours is measured on the real
street network, so the two are of the same order. Elderly residents walk slower: the
``ELDERLY_SPEED_KMH`` preset (3.0 km/h, 500 m in 10 minutes) is offered in the UI and CLI.
Minutes and speed are always printed in every report.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.errors import SettingsError

DEFAULT_MINUTES = 10.0
DEFAULT_SPEED_KMH = 4.5
ELDERLY_SPEED_KMH = 3.0
DEFAULT_H3_RES = 9
MIN_H3_RES = 7
MAX_H3_RES = 10
#: a point farther than this from any network vertex is flagged ``off_network``
DEFAULT_MAX_ACCESS_M = 300.0
#: metric CRS for Xihu (UTM zone 51N), the default of ``Settings.metric_crs``; a caller that
#: has data passes the data's zone (``WalkNetwork.metric_crs``, :mod:`geo.metric`)
XIHU_METRIC_CRS = "EPSG:32651"
STORAGE_CRS = "EPSG:4326"


@functools.cache
def _default_shared_data() -> Path:
    # once per process: every Settings (each rerun of each page builds one) resolved it again
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Settings:
    """Every tunable of an analysis in one immutable object.

    Parameters
    ----------
    minutes : float
        Walking time budget of the service circle, in minutes.
    speed_kmh : float
        Walking speed in km/h.
    h3_res : int
        H3 resolution for aggregation (7-10).
    max_access_m : float
        Straight-line access leg above which a point is flagged off-network.
    metric_crs : str
        Projected CRS used for every distance (metres): the UTM zone of the data's centre
        (:mod:`geo.metric`; ``WalkNetwork.metric_crs`` of the network in use). The default
        is Xihu's zone (UTM 51N); callers with other data pass theirs.
    shared_data : Path
        Folder holding the real Xihu data (``../shared/data`` by default).
    """

    minutes: float = DEFAULT_MINUTES
    speed_kmh: float = DEFAULT_SPEED_KMH
    h3_res: int = DEFAULT_H3_RES
    max_access_m: float = DEFAULT_MAX_ACCESS_M
    metric_crs: str = XIHU_METRIC_CRS
    shared_data: Path = field(default_factory=_default_shared_data)

    def __post_init__(self) -> None:
        if not (0 < self.minutes <= 120):
            msg = f"minutes must be in (0, 120], got {self.minutes}"
            raise SettingsError(msg)
        if not (0.5 <= self.speed_kmh <= 10):
            msg = f"speed_kmh must be in [0.5, 10], got {self.speed_kmh}"
            raise SettingsError(msg)
        if not (MIN_H3_RES <= self.h3_res <= MAX_H3_RES):
            msg = f"h3_res must be in [{MIN_H3_RES}, {MAX_H3_RES}], got {self.h3_res}"
            raise SettingsError(msg)

    @property
    def cutoff_m(self) -> float:
        """Walking distance reachable in ``minutes`` at ``speed_kmh``, in metres."""
        return self.minutes * self.speed_kmh * 1000.0 / 60.0

    @property
    def cutoff_cm(self) -> int:
        """The cutoff in integer centimetres, the engine's unit."""
        return round(self.cutoff_m * 100.0)

    @property
    def metres_per_minute(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (the original is never mutated)."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_SETTINGS = Settings()


#: satisfaction feedback (满意度): providers whose mean score is below this are alerted ...
DEFAULT_FEEDBACK_THRESHOLD = 3.0
#: ... when they have at least this many responses
DEFAULT_FEEDBACK_MIN_RESPONSES = 5
#: a mean of fewer responses than this is never shown (like small counts)
FEEDBACK_MIN_SHOWN = 5


@dataclass(frozen=True)
class FeedbackSettings:
    """Alert rule of the satisfaction feedback: mean score below ``threshold`` with at least ``min_responses``.

    Parameters
    ----------
    threshold : float
        Score 1-5 below which a provider is alerted (default 3.0).
    min_responses : int
        Responses a provider needs before it can be alerted (default 5, never below
        :data:`FEEDBACK_MIN_SHOWN`: a mean of fewer responses is not shown at all).
    """

    threshold: float = DEFAULT_FEEDBACK_THRESHOLD
    min_responses: int = DEFAULT_FEEDBACK_MIN_RESPONSES

    def __post_init__(self) -> None:
        if not (1.0 <= self.threshold <= 5.0):
            msg = f"feedback threshold must be in [1, 5], got {self.threshold}"
            raise SettingsError(msg)
        if self.min_responses < FEEDBACK_MIN_SHOWN:
            msg = f"feedback min_responses must be at least {FEEDBACK_MIN_SHOWN}, got {self.min_responses}"
            raise SettingsError(msg)


DEFAULT_FEEDBACK_SETTINGS = FeedbackSettings()
