"""Dashboard speed on the Xihu demo: cold start to first map, warm rerun after changing minutes, map payload.

Run by hand (never by pytest)::

    PYTHONPATH=. .venv/bin/python bench/bench_dashboard.py [--repeats 5]

It drives ``app.py`` headlessly with Streamlit's AppTest (the same script a browser runs,
without the browser's own rendering time) in a temporary database with one planner account:

- cold: a fresh process-level cache (``st.cache_*`` cleared), sign-in, then the overview
  page up to its map: bundle + network load, coverage, hexes, service areas, base map,
  folium build;
- warm: the minutes slider moved to a value not seen before (a cache miss for the
  coverage of that setting): the recomputation through the cached engine and the map build;
- warm, seen: moving back to a value already computed (cache hit);
- peer: the same coverage recomputed the naive way, ``networkx.multi_source_dijkstra_path_length``
  on the same graph plus the same snapping, to show what the cached engine saves per rerun.

The map payload is the HTML of the folium map as Streamlit sends it (``map_html_bytes``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_dash_"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    os.environ.setdefault("XIHU_AUDIT_KEY", "bench-audit-key-0123456789")
    os.environ.setdefault("XIHU_ID_HASH_KEY", "bench-id-key-0123456789abcdef")

    import networkx as nx
    import numpy as np
    import streamlit as st
    from argon2 import PasswordHasher
    from streamlit.testing.v1 import AppTest

    from core.settings import Settings
    from data.accounts.auth import AuthStore, Role
    from data.demo import load_default_bundle
    from data.network import load_network
    from data.storage import Store
    from geo.analysis import coverage_run
    from geo.snap import Snapper
    from layers.folium_map import map_html_bytes
    from pages._common import default_settings
    from pages._coverage import map_for  # imported before the runs, so its module is warm in both cases
    from service.dashboard import DATASET_DEMO, RunKey

    password = "bench-password-123"
    AuthStore(
        Store(os.environ["DATABASE_URL"]), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    ).add_user("bench", password, Role.PLANNER)

    def signed_in() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        at.text_input(key="signin_username").input("bench")
        at.text_input(key="signin_password").input(password)
        at.button[0].click().run()
        assert not at.exception, at.exception
        return at

    cold, warm_new, warm_seen = [], [], []
    minutes_cycle = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    for r in range(args.repeats):
        st.cache_data.clear()
        st.cache_resource.clear()
        t0 = time.perf_counter()
        at = signed_in()  # sign-in + overview with its map
        cold.append(time.perf_counter() - t0)
        m = minutes_cycle[r % len(minutes_cycle)]
        t0 = time.perf_counter()
        at.session_state["minutes"] = m  # what moving the sidebar slider does
        at.run()
        warm_new.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
        changed = next(x.value for x in at.metric if x.label == "10分钟圈内")
        t0 = time.perf_counter()
        at.session_state["minutes"] = 10
        at.run()
        assert next(x.value for x in at.metric if x.label == "10分钟圈内") != changed
        warm_seen.append(time.perf_counter() - t0)

    # payload of the district map as the overview builds it (a planner's, default settings)
    key = RunKey(DATASET_DEMO, 0, default_settings(), ("planner", "", ""))
    payload = map_html_bytes(map_for(key, "coverage_pct", lang_code="zh"))

    bundle = load_default_bundle(Settings().shared_data)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    snapper = Snapper(net)
    s = Settings()

    # peer: the naive recompute of one setting (networkx + same snapping), and ours
    a, b, w = net.edge_arrays()
    g = nx.Graph()
    g.add_weighted_edges_from(zip(a.tolist(), b.tolist(), w.tolist(), strict=True))
    hub_nodes = set(snapper.snap(bundle.hubs["lon"], bundle.hubs["lat"]).node.tolist())
    peer, ours = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        nx.multi_source_dijkstra_path_length(g, hub_nodes, cutoff=s.cutoff_cm)
        snapper.snap(bundle.beneficiaries["lon"], bundle.beneficiaries["lat"])
        peer.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        coverage_run(snapper, bundle.hubs, bundle.beneficiaries, s.with_(minutes=13))
        ours.append(time.perf_counter() - t0)

    med = statistics.median
    rows = [
        ("cold start: sign-in to overview with map", med(cold), "s"),
        ("warm rerun: minutes changed (new setting)", med(warm_new), "s"),
        ("warm rerun: minutes changed back (cached)", med(warm_seen), "s"),
        ("coverage recompute, ours (coverage_run)", med(ours), "s"),
        ("coverage recompute, peer (networkx + snapping)", med(peer), "s"),
        ("district map payload (HTML)", payload / 1e6, "MB"),
    ]
    print(f"| measure (median of {args.repeats}) | value | unit |")
    print("|---|---:|---|")
    for name, value, unit in rows:
        print(f"| {name} | {value:.3f} | {unit} |")
    print(f"\nratio peer / ours (coverage recompute): {med(peer) / med(ours):.1f}x")
    print(
        f"warm rerun target < 1 s: {'PASS' if med(warm_new) < 1.0 else 'FAIL'}; payload < 3 MB: "
        f"{'PASS' if payload < 3e6 else 'FAIL'}; load average {os.getloadavg()[0]:.1f}"
    )
    return 0 if np.isfinite(med(cold)) else 1


if __name__ == "__main__":
    sys.exit(main())
