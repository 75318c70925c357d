"""Benchmark of duplicate-provision detection (data.duplicates) against a naive pandas groupby-apply.

    PYTHONPATH=. .venv/bin/python bench/bench_duplicates.py [--records 200000] [--repeat 5] [--period month]

Synthetic service records (:func:`data.service_demo.synthetic_service_records`, labelled
synthetic, planted duplicates) for as many made-up households as give about ``--records``
rows over twelve months; they are imported once (:func:`data.service_records.import_service_records`,
timed), then flagged:

1. :func:`data.duplicates.flag_duplicates`: integer codes, one ``np.unique`` over
   person x group x period x department, string joins for the flagged groups only
   (median of ``--repeat`` runs; target: <= 2 s for 200,000 records);
2. the naive peer: ``groupby([person, group, period]).apply(f)`` where ``f`` counts the
   departments of the group and builds the flag row (one run; it is slow).

Both must give the same flags (asserted) and the planted ones (asserted). Wall-clock on
whatever machine runs this; read the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from data.duplicates import JOIN, flag_duplicates, period_labels
from data.service_demo import synthetic_service_records
from data.service_records import default_catalogue, import_service_records

KEY = b"bench-duplicates-key-0123456789"
#: rows per household and month of the generator (measured: 1 basic + Poisson(0.6) others)
ROWS_PER_HOUSEHOLD_MONTH = 1.6


def naive_flags(records: pd.DataFrame, period: str) -> pd.DataFrame:
    """The peer: one Python call per person x group x period."""
    rec = records.assign(period=period_labels(records["date"], period))

    def one(g: pd.DataFrame) -> pd.Series:
        if g["department"].nunique() < 2:
            return pd.Series({"flag": False})
        g = g.sort_values(["date", "department", "record_id"])
        return pd.Series(
            {
                "flag": True,
                "departments": JOIN.join(sorted(set(g["department"]))),
                "record_ids": JOIN.join(g["record_id"]),
                "n_records": len(g),
                "amount": g["amount"].sum(min_count=1),
            }
        )

    out = rec.groupby(["person_key", "item_group", "period"]).apply(one, include_groups=False)  # type: ignore[call-overload]  # pandas-stubs lacks include_groups
    out = out.unstack() if isinstance(out, pd.Series) else out
    out = out.loc[out["flag"].astype(bool)].reset_index()
    return out.drop(columns="flag")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--period", default="month")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    months = 12
    n_households = round(args.records / (months * ROWS_PER_HOUSEHOLD_MONTH))
    ben = pd.DataFrame({"beneficiary_id": [f"B{i:07d}" for i in range(n_households)]})
    t0 = time.perf_counter()
    synth = synthetic_service_records(ben, seed=13, key=KEY, months=months)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    imported = import_service_records(synth.records, default_catalogue(), key=KEY, households=synth.households)
    t_import = time.perf_counter() - t0
    rec = imported.accepted
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"households {n_households:,}; records {len(rec):,} accepted of {imported.summary['read']:,} read")
    print(f"generate {t_gen:.2f} s; import (validate, hash IDs) {t_import:.2f} s")

    times = []
    flags = flag_duplicates(rec, period=args.period)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        flags = flag_duplicates(rec, period=args.period)
        times.append(time.perf_counter() - t0)
    t_ours = statistics.median(times)
    print(f"data.duplicates.flag_duplicates: {t_ours:.3f} s median of {args.repeat} (min {min(times):.3f}); "
          f"{len(flags):,} flags; target <= 2 s: {'met' if t_ours <= 2 else 'MISSED'}")  # fmt: skip
    if args.period == "month":
        planted = set(synth.planted[["person_key", "item_group", "period"]].itertuples(index=False, name=None))
        assert set(flags[["person_key", "item_group", "period"]].itertuples(index=False, name=None)) == planted
        print(f"planted duplicates found: {len(planted):,}, nothing else flagged")
    if args.no_peer:
        return
    t0 = time.perf_counter()
    peer = naive_flags(rec, args.period)
    t_peer = time.perf_counter() - t0
    cols = ["person_key", "item_group", "period", "departments", "record_ids", "n_records"]
    ours = flags[cols].astype(str).sort_values(cols).to_numpy()
    theirs = peer[cols].astype(str).sort_values(cols).to_numpy()
    assert np.array_equal(ours, theirs), "peer and data.duplicates disagree"
    print(f"naive groupby-apply peer: {t_peer:.2f} s; same flags; ratio {t_peer / t_ours:.0f}x")


if __name__ == "__main__":
    main()
