"""Shared builders of the report tests: the Xihu report is prepared once per test session."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from data.demo import load_default_bundle
from reports.build import prepare_report
from reports.model import Report

#: three recommended sites of a made-up scenario (two in 文新/三墩, one in 转塘)
SCENARIO = pd.DataFrame(
    {
        "site_id": ["NEW-01", "NEW-02", "NEW-03"],
        "name": ["新增站点甲", "新增站点乙", "新增站点丙"],
        "tier": ["village", "village", "town"],
        "lon": [120.0905, 120.0700, 120.1050],
        "lat": [30.2950, 30.3150, 30.2000],
        "new_covered": [25, 4, 0],
    }
)


@lru_cache(maxsize=1)
def xihu_report() -> Report:
    """The Xihu demo report with :data:`SCENARIO` (call only after the ``xihu_dir`` fixture)."""
    bundle = load_default_bundle()
    if bundle.is_fallback:  # pragma: no cover - the xihu_dir fixture skips first
        msg = "the Xihu bundle is not available"
        raise RuntimeError(msg)
    return prepare_report(bundle, scenario_sites=SCENARIO, scenario_name="测试方案")
