"""Look at the district map in a real browser, served by a real Streamlit, offline.

Run by hand (not part of the test suite)::

    PYTHONPATH=. .venv/bin/python bench/shot_map.py [--out /tmp/xihu_map.png] [--metric coverage_pct]

What it does:

1. builds the whole-district map on the Xihu demo (all layers) and saves its HTML to
   ``/tmp/xihu_map.html``;
2. writes a throw-away Streamlit script under a temporary folder (its ``static`` is a
   link to this repository's ``static/``, the folder Streamlit serves next to the main
   script) that renders the same map with ``streamlit_folium.st_folium``, and starts
   ``streamlit run`` on it with static serving on, from the repository root (so
   ``.streamlit/config.toml`` applies);
3. opens it in Debian's Chromium through Playwright, records every request, waits for
   the Leaflet map inside the component's iframe, counts the hexagon paths, hovers one
   hexagon, checks that no request left the machine, that no dialog opened (a provider
   is renamed to an XSS payload on purpose) and takes a screenshot.

Prints the polygon counts, the request hosts and the screenshot path; exits non-zero
when a check fails.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
XSS_NAME = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'

APP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import streamlit as st
    from streamlit_folium import st_folium
    from bench.shot_map import district_map

    st.set_page_config(page_title="map shot", layout="wide")

    @st.cache_resource
    def _map():
        return district_map({metric!r})

    m = _map()
    st_folium(m, returned_objects=[], height=720, use_container_width=True, key="xihu")
    """
)


def district_map(metric: str = "coverage_pct", *, xss: bool = True):  # type: ignore[no-untyped-def]
    """The whole-district map on the Xihu demo with every layer (one provider renamed to an XSS payload)."""
    from core.settings import Settings
    from data.basemap import basemap_frames_from_shared
    from data.demo import load_default_bundle
    from data.network import load_network
    from geo.analysis import coverage_run
    from geo.service_area import NodeCells, service_area_polygons
    from geo.snap import Snapper
    from layers.folium_map import build_map

    bundle = load_default_bundle()
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    settings = Settings(metric_crs=bundle.metric_crs)
    run = coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, settings)
    areas = service_area_polygons(run.engine, node_cells=NodeCells(net))
    providers = bundle.providers.copy()
    if xss:
        providers.loc[providers.index[0], "name"] = XSS_NAME
    return build_map(
        basemap=basemap_frames_from_shared(settings.shared_data / "xihu"),
        hexes=run.hexes,
        hubs=run.hubs,
        providers=providers,
        service_areas=areas,
        hex_metric=metric,
        minutes=settings.minutes,
        attribution=bundle.attribution,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 90.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            msg = f"streamlit exited with code {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    msg = f"streamlit did not become healthy at {url}"
    raise RuntimeError(msg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/xihu_map.png")
    ap.add_argument("--metric", default="coverage_pct")
    args = ap.parse_args()

    from layers.assets import external_urls, missing_vendor_files
    from layers.folium_map import map_html

    missing = missing_vendor_files()
    if missing:
        print(f"static/vendor is incomplete ({missing[0]} ...): run scripts/setup.sh", file=sys.stderr)
        return 2
    m = district_map(args.metric)
    html = map_html(m)
    Path("/tmp/xihu_map.html").write_text(html, encoding="utf-8")
    print(f"map HTML: {len(html.encode()):,} bytes -> /tmp/xihu_map.html; external URLs: {external_urls(html)}")

    from playwright.sync_api import Dialog, sync_playwright

    port = _free_port()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="xihu_shot_") as tmp:
        app = Path(tmp) / "shot_app.py"
        app.write_text(APP.format(root=str(ROOT), metric=args.metric), encoding="utf-8")
        (Path(tmp) / "static").symlink_to(ROOT / "static", target_is_directory=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true",
            "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(f"{base}/_stcore/health", proc)
            requests: list[str] = []
            dialogs: list[str] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = browser.new_page(viewport={"width": 1400, "height": 950})
                page.on("request", lambda r: requests.append(r.url))

                def on_dialog(d: Dialog) -> None:
                    dialogs.append(d.message)
                    d.dismiss()

                page.on("dialog", on_dialog)
                t0 = time.monotonic()
                page.goto(base, wait_until="domcontentloaded")
                iframe = page.wait_for_selector("iframe[title*='st_folium'], iframe", timeout=120_000)
                assert iframe is not None
                frame = iframe.content_frame()
                assert frame is not None
                frame.wait_for_selector(".leaflet-container", timeout=120_000)
                frame.wait_for_selector("path.xihu-hex", timeout=120_000)
                t_map = time.monotonic() - t0
                page.wait_for_timeout(1500)
                counts = {
                    sel: frame.locator(sel).count()
                    for sel in (
                        "path.xihu-hex", "path.xihu-gap", "path.xihu-service-area", "path.xihu-hub",
                        "path.leaflet-interactive", ".xihu-icon", ".xihu-legend",
                    )
                }  # fmt: skip
                # hover a hexagon near the middle of the map and read its tooltip
                tip = ""
                box = iframe.bounding_box()
                hexes = frame.locator("path.xihu-hex")
                for i in range(0, min(hexes.count(), 400), 7):
                    hb = hexes.nth(i).bounding_box()
                    if hb and box and hb["width"] > 4 and 200 < hb["y"] < box["height"] - 100:
                        page.mouse.move(box["x"] + hb["x"] + hb["width"] / 2, box["y"] + hb["y"] + hb["height"] / 2)
                        page.wait_for_timeout(400)
                        if frame.locator(".leaflet-tooltip").count():
                            tip = frame.locator(".leaflet-tooltip").first.inner_text()
                            if "户" in tip and "覆盖率" in tip:
                                break
                xss_in_dom = frame.locator("img[src='x']").count()
                page.screenshot(path=args.out, full_page=False)
                # a closer look: two zoom levels in, around the map's centre
                frame.evaluate("window.map.setZoom(window.map.getZoom() + 2)")
                page.wait_for_timeout(1500)
                zoomed = str(Path(args.out).with_name(Path(args.out).stem + "_zoom.png"))
                page.screenshot(path=zoomed, full_page=False)
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    hosts = Counter(urlsplit(u).hostname for u in requests if u.startswith("http"))
    other = sorted(
        {u for u in requests if u.startswith("http") and urlsplit(u).hostname not in ("127.0.0.1", "localhost")}
    )
    vendor = sorted({urlsplit(u).path for u in requests if "/app/static/" in u})
    print(f"map visible after {t_map:.1f} s; element counts: {counts}")
    print(f"hovered hexagon tooltip: {tip!r}")
    print(f"requests: {len(requests)} by host {dict(hosts)}; vendored files: {vendor}")
    print(f"screenshots: {args.out}, {zoomed}")
    if other:
        failures.append(f"requests left the machine: {other[:5]}")
    if dialogs or xss_in_dom:
        failures.append(f"XSS payload executed or rendered as markup: dialogs={dialogs}, img={xss_in_dom}")
    if "覆盖率" not in tip:
        failures.append(f"no hexagon tooltip could be read (got {tip!r})")
    if counts["path.xihu-hex"] < 100:
        failures.append(f"only {counts['path.xihu-hex']} hexagon paths")
    if not any(v.endswith("leaflet.js") for v in vendor):
        failures.append("Leaflet was not loaded from /app/static/vendor")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
