"""The interactive map: offline assets, escaped data, small counts, payload, the real browser."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import branca.colormap
import folium
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import ExternalAssetError, MapInputError
from core.settings import Settings
from geo.coverage import engine_for_hubs, hubs_from_frame
from geo.graph import WalkNetwork, network_from_edges
from geo.hexes import aggregate_points
from geo.service_area import service_area_polygons
from geo.snap import Snapper
from layers.assets import (
    DEFAULT_STATIC_BASE,
    STATIC_DIR,
    decode_script_escapes,
    external_urls,
    localize_assets,
    missing_vendor_files,
)
from layers.basemap import basemap_from_network
from layers.folium_map import (
    OSM_TILE_URL,
    build_map,
    hex_classes,
    hex_tooltips,
    layer_payload_bytes,
    legend_html,
    map_html,
    map_html_bytes,
)
from layers.geojson_layer import esc

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = '"><script>alert(1)</script>'
XSS_TEMPLATE = "`${alert(3)}`\\"
LAT0, LON0 = 30.2535, 120.1035  # inside the 100 m lattice of tests/conftest.py (2 km x 2 km)

#: (households, covered, {category: households}) per hexagon
HEX_SPECS: list[tuple[int, int, dict[str, int]]] = [
    (7, 3, {"dibao": 7}),  # small area: every figure "<10"
    (25, 20, {"dibao": 20, "tekun": 5}),  # a small part: every figure in bands of ten
    (40, 10, {"dibao": 30, "linshi": 10}),  # exact, 25 %: a gap
    (12, 0, {"dibian": 12}),  # exact, 0 %: a gap
    (3, 3, {"zhuanxiang": 3}),  # small, fully covered
    (16, 16, {"dibao": 16}),  # exact, 100 %
]


def _cells() -> list[str]:
    """Distinct res-9 cells along the lattice's diagonal."""
    out: list[str] = []
    k = 0
    while len(out) < len(HEX_SPECS):
        c = h3.latlng_to_cell(LAT0 + 0.0025 * k, LON0 + 0.0025 * k, 9)
        if c not in out:
            out.append(c)
        k += 1
    return out


def synthetic_points() -> pd.DataFrame:
    rows = []
    for cell, (n, cov, cats) in zip(_cells(), HEX_SPECS, strict=True):
        lat, lon = h3.cell_to_latlng(cell)
        labels = [c for c, k in cats.items() for _ in range(k)]
        for i in range(n):
            rows.append({"lon": lon, "lat": lat, "covered": i < cov, "category": labels[i], "need_type": "care"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def hexes() -> pd.DataFrame:
    return aggregate_points(synthetic_points(), res=9)


@pytest.fixture(scope="module")
def hubs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hub_id": ["D1", "T1", "V1", "V2"],
            "name": ["区级助联体", XSS_IMG, XSS_SCRIPT, XSS_TEMPLATE],
            "tier": ["district", "town", "village", "village"],
            "lon": [LON0 + 0.002, LON0 + 0.009, LON0 + 0.013, LON0 + 0.004],
            "lat": [LAT0 + 0.002, LAT0 + 0.009, LAT0 + 0.004, LAT0 + 0.012],
            "served": [3, 25, 0, 12],
        }
    )


@pytest.fixture(scope="module")
def providers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": ["P1", "P2", "P3", "P4", "P5"],
            "name": [XSS_IMG, "民政办", XSS_SCRIPT, "志愿队", "其他"],
            "kind": ["government", "enterprise", "social_org", "volunteer", "unknown_kind"],
            "department": ["民政", XSS_IMG, "", None, "x"],
            "services": ["S01;C01", "D01", "X99;<b>S</b>", None, "S06"],
            "capacity_month": [398, 20, None, 5, 1200],
            "lon": [LON0 + 0.001, LON0 + 0.006, LON0 + 0.011, LON0 + 0.015, LON0 + 0.017],
            "lat": [LAT0 + 0.016, LAT0 + 0.003, LAT0 + 0.007, LAT0 + 0.010, LAT0 + 0.001],
        }
    )


@pytest.fixture(scope="module")
def service_areas(lattice_net: WalkNetwork, hubs: pd.DataFrame) -> gpd.GeoDataFrame:
    snapper = Snapper(lattice_net)
    engine = engine_for_hubs(snapper, hubs_from_frame(hubs, snapper), Settings(minutes=3.0))
    return service_area_polygons(engine)


@pytest.fixture(scope="module")
def basemap(lattice_net: WalkNetwork) -> dict[str, gpd.GeoDataFrame]:
    frames = basemap_from_network(lattice_net)
    box = shapely.box(LON0 - 0.004, LAT0 - 0.004, LON0 + 0.024, LAT0 + 0.02)
    frames["district"] = gpd.GeoDataFrame({"name": ["测试区"]}, geometry=[box], crs=4326)
    left, right = shapely.box(*box.bounds[:2], LON0 + 0.01, box.bounds[3]), shapely.box(LON0 + 0.01, *box.bounds[1:])
    frames["towns"] = gpd.GeoDataFrame({"name": ["西湖街道", XSS_SCRIPT]}, geometry=[left, right], crs=4326)
    frames["water"] = gpd.GeoDataFrame(
        {"name": [XSS_IMG]}, geometry=[shapely.box(LON0, LAT0, LON0 + 0.002, LAT0 + 0.002)], crs=4326
    )
    return frames


@pytest.fixture(scope="module")
def full_map(basemap: Any, hexes: pd.DataFrame, hubs: Any, providers: Any, service_areas: Any) -> folium.Map:
    return build_map(
        basemap=basemap, hexes=hexes, hubs=hubs, providers=providers, service_areas=service_areas, minutes=3.0
    )


@pytest.fixture(scope="module")
def full_html(full_map: folium.Map) -> str:
    return map_html(full_map)


def _layer_names(m: folium.Map) -> tuple[list[str], list[str]]:
    map_html(m)
    control = next(c for c in m._children.values() if isinstance(c, folium.LayerControl))
    return list(control.base_layers), list(control.overlays)


# ------------------------------------------------------------------------------ assets


def test_every_layer_map_loads_nothing_from_outside(full_html: str) -> None:
    assert external_urls(full_html) == []
    # the only absolute URL anywhere is the optional online tile template (off at start)
    assert external_urls(full_html, strict=True) == [OSM_TILE_URL]
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn", "d3js.org"):
        assert cdn not in full_html


def test_offline_map_without_tiles_has_no_absolute_url(basemap: Any, hexes: pd.DataFrame, hubs: Any) -> None:
    m = build_map(basemap=basemap, hexes=hexes, hubs=hubs, osm_tiles=False)
    html = map_html(m)
    assert external_urls(html, strict=True) == []
    assert "tile.openstreetmap.org" not in html


def test_the_map_references_the_vendored_leaflet_only(full_map: folium.Map, full_html: str) -> None:
    assert f'<script src="{DEFAULT_STATIC_BASE}/leaflet/leaflet.js"></script>' in full_html
    assert f'<link rel="stylesheet" href="{DEFAULT_STATIC_BASE}/leaflet/leaflet.css"/>' in full_html
    srcs = re.findall(r'<script src="([^"]+)"', full_html)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', full_html)
    assert srcs == [f"{DEFAULT_STATIC_BASE}/leaflet/leaflet.js"]  # no jQuery, Bootstrap, awesome-markers
    assert hrefs == [f"{DEFAULT_STATIC_BASE}/leaflet/leaflet.css"]
    # the instance was changed, never the class (process-wide state shared by every session)
    assert full_map.default_js == [("leaflet", f"{DEFAULT_STATIC_BASE}/leaflet/leaflet.js")]
    assert folium.Map.default_js[0][1].startswith("https://cdn.jsdelivr.net/")
    assert len(folium.Map.default_css) == 6
    assert folium.Map().default_js is folium.Map.default_js


def test_static_base_prefix_and_jquery_only_when_a_popup_needs_it(hubs: pd.DataFrame) -> None:
    m = build_map(hubs=hubs, static_base="/custom/vendor/")
    html = map_html(m)
    assert '<script src="/custom/vendor/leaflet/leaflet.js"></script>' in html
    assert "jquery" not in html.lower()
    # a page that adds a Popup (folium renders it with $(...)) gets the vendored jQuery
    folium.CircleMarker([LAT0, LON0], popup=folium.Popup("<b>x</b>")).add_to(m)
    localize_assets(m, static_base="/custom/vendor")
    html = map_html(m)
    assert '<script src="/custom/vendor/jquery/jquery.min.js"></script>' in html
    assert external_urls(html) == []


@pytest.mark.parametrize(
    "element",
    [
        lambda: folium.Marker([LAT0, LON0], icon=folium.Icon(icon="home")),
        lambda: folium.RegularPolygonMarker([LAT0, LON0]),
        lambda: branca.colormap.LinearColormap(["red", "green"], vmin=0, vmax=1),
    ],
    ids=["awesome-markers icon", "leaflet-dvf marker", "branca colormap (d3)"],
)
def test_elements_that_pull_cdn_files_are_refused(hubs: pd.DataFrame, element: Any) -> None:
    m = build_map(hubs=hubs)
    element().add_to(m)
    with pytest.raises(ExternalAssetError):
        localize_assets(m)


def test_external_urls_detector() -> None:
    html = (
        "<script src=\"https://cdn.example.com/a.js\"></script><link href='//fonts.example.net/x.css'>"
        '<div style="background:url(https://img.example.org/p.png)"></div><img src="/app/static/x.png">'
        '<a href="http://localhost:8501/app">x</a><style>@import "https://css.example.com/i.css";</style>'
        '<script>var t = {"tip": "\\u003cimg src=\\"https://evil.example.com/t.gif\\"\\u003e"};'
        'var tiles = "https://tiles.example.com/{z}/{x}/{y}.png"; var ns = "http://www.w3.org/2000/svg";</script>'
        '<img src="data:image/png;base64,AAAA">'
    )
    assert external_urls(html) == [
        "https://cdn.example.com/a.js",
        "//fonts.example.net/x.css",
        "https://img.example.org/p.png",
        "https://css.example.com/i.css",
        "https://evil.example.com/t.gif",
    ]
    strict = external_urls(html, strict=True)
    assert "https://tiles.example.com/{z}/{x}/{y}.png" in strict
    assert not any("w3.org" in u or "localhost" in u for u in strict)
    assert external_urls(html, allowed_hosts=["cdn.example.com", "localhost"])[0] == "//fonts.example.net/x.css"


# ------------------------------------------------------------------------------ escaping


def test_data_strings_reach_the_page_only_escaped(full_html: str) -> None:
    for raw in (XSS_IMG, XSS_SCRIPT, "<script>alert", "onerror=alert(1)>", "${alert(3)}", "<b>S</b>"):
        assert raw not in full_html
    # the names are there, as text: escaped for HTML, then for the script they sit in
    decoded = decode_script_escapes(full_html)
    assert esc(XSS_IMG) in decoded
    assert esc(XSS_SCRIPT) in decoded
    assert "&#96;&#36;{alert(3)}&#96;&#92;" in decoded
    assert decoded.count(esc(XSS_IMG)) >= 3  # town hub, provider name, provider department


def test_esc_covers_template_literals() -> None:
    assert esc(XSS_IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert esc(XSS_SCRIPT) == "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc("`${x}`\\") == "&#96;&#36;{x}&#96;&#92;"
    assert esc(None) == "" and esc(float("nan")) == ""


# ------------------------------------------------------------------------------ privacy


def test_small_counts_never_print_as_digits(hexes: pd.DataFrame, full_html: str) -> None:
    from geo.disclosure import protect_hexes

    cats = [c for c in hexes.columns if c.startswith("n_cat_")]
    shown = protect_hexes(hexes, category_cols=cats)
    tips = dict(zip(hexes["n"].tolist(), hex_tooltips(hexes, shown), strict=True))
    small = tips[7]  # 7 households, 3 covered
    assert "救助对象：<b>&lt;10</b> 户" in small
    assert "圈内：&lt;10　圈外：&lt;10" in small
    assert "覆盖率：—" in small
    assert set(re.findall(r"\d+", small)) == {"10"}  # no 7, 3 or 4 anywhere, not even in a percentage
    banded = tips[25]  # 25 = 20 + 5 and 20 dibao + 5 tekun: the 5s hidden, and a partner of each ("≥10", "<10")
    assert "<b>25</b>" in banded and "圈内：≥10　圈外：&lt;10" in banded and "覆盖率：—" in banded
    assert "低保 20、低边 &lt;10、特困供养 &lt;10" in banded  # tekun 5 is 0..5 with dibian 0..9
    assert not re.search(r"(?<![\d–])5(?![\d–%])", banded)
    exact = tips[40]
    assert "<b>40</b>" in exact and "圈内：10　圈外：30" in exact and "25.0%" in exact
    assert "低保 30、临时救助 10" in exact
    fully = tips[3]
    assert "覆盖率：—" in fully and set(re.findall(r"\d+", fully)) == {"0", "10"}
    # the same texts reach the page; the hubs' served counts are suppressed too
    decoded = decode_script_escapes(full_html)
    assert "救助对象：<b>&lt;10</b> 户" in decoded
    assert "圈内服务对象：&lt;10 户" in decoded  # served = 3
    assert "圈内服务对象：3 户" not in decoded
    assert "圈内服务对象：25 户" in decoded


def test_colours_follow_the_printed_figures_only() -> None:
    from geo.disclosure import protect_hexes

    # pairs of areas whose printed figures are identical must get the same colour class
    table = pd.DataFrame({"n": [5, 8, 2, 9, 27, 24, 40, 12], "covered": [0, 0, 1, 5, 21, 23, 10, 0]})
    shown = protect_hexes(table)
    for metric in ("coverage_pct", "n", "uncovered"):
        cls, legend = hex_classes(shown, metric)
        printed = shown[["n_txt", "covered_txt", "uncovered_txt", "pct_txt"]].apply(tuple, axis=1)
        for key in set(printed):
            assert len(set(cls[(printed == key).to_numpy()])) == 1, (metric, key)
        assert sum(e["count"] for e in legend) == len(table)
    cls, legend = hex_classes(shown, "coverage_pct")
    labels = [legend[i]["label"] for i in cls]
    assert labels[6] == "20–<40%" and labels[7] == "0–<20%"
    # a share with a hidden count prints "—" (geo.disclosure): the neutral class
    assert labels[0] == labels[1] == labels[2] == labels[3] == legend[0]["label"]
    with pytest.raises(MapInputError):
        hex_classes(shown, "density")


def test_no_beneficiary_point_reaches_the_page(full_html: str) -> None:
    pts = synthetic_points()
    for lon, lat in zip(pts["lon"].round(5), pts["lat"].round(5), strict=True):
        assert f"[{lon},{lat}]" not in full_html


# ------------------------------------------------------------------------------ layers, legend


def test_layer_names_in_chinese_and_english(
    basemap: Any, hexes: Any, hubs: Any, providers: Any, service_areas: Any
) -> None:
    kw = {"basemap": basemap, "hexes": hexes, "hubs": hubs, "providers": providers, "service_areas": service_areas}
    base, over = _layer_names(build_map(**kw, minutes=3.0))
    assert base == ["离线底图（OSM 路网、水系）", "OpenStreetMap 在线底图（需联网）"]
    assert over == [
        "区界", "镇街范围（近似，非官方边界）", "3分钟步行服务范围（示意）", "六边形：3分钟步行覆盖率",
        "服务缺口（覆盖率低于 50%）", "服务主体", "村(社区)服务点", "镇街服务站", "区级助联体",
    ]  # fmt: skip
    base_en, over_en = _layer_names(build_map(**kw, lang="en", hex_metric="uncovered", gap_threshold_pct=30))
    assert base_en[0] == "Offline base map (OSM roads, water)"
    assert "Hexagons: households outside the circle" in over_en and "Gaps (coverage below 30%)" in over_en
    assert not any(re.search(r"[\u4e00-\u9fff]", name) for name in base_en + over_en)


def test_osm_tiles_are_off_at_start_and_gaps_are_the_right_hexagons(full_map: folium.Map, basemap: Any) -> None:
    tiles = [c for c in full_map._children.values() if isinstance(c, folium.TileLayer)]
    assert len(tiles) == 1 and tiles[0].show is False and tiles[0].overlay is False
    offline = next(c for c in full_map._children.values() if isinstance(c, folium.FeatureGroup) and not c.overlay)
    assert offline.show is True
    # asking for the tiles at start switches the (exclusive) offline base layer off
    online = build_map(basemap=basemap, show={"osm_tiles": True})
    bases = [c for c in online._children.values() if isinstance(c, folium.map.Layer) and not c.overlay]
    assert [type(c).__name__ for c in bases if c.show] == ["TileLayer"]
    assert "amap" not in map_html(full_map).lower() and "autonavi" not in map_html(full_map).lower()
    sizes = layer_payload_bytes(full_map)
    gaps = next(c for c in full_map._children.values() if getattr(c, "key", "") == "gaps")
    hex_layer = next(c for c in full_map._children.values() if getattr(c, "key", "") == "hexes")
    assert hex_layer.n_features == len(HEX_SPECS)
    # 40 households at 25 % and 12 at 0 % are gaps; 7 "<10" (band 0-100 %) and the covered ones are not
    assert gaps.n_features == 2
    assert sizes["total"] == map_html_bytes(full_map) == map_html_bytes(full_map)  # renders are repeatable
    assert set(sizes) >= {"hexes", "gaps", "providers", "service_areas", "network", "district", "towns", "other"}


def test_legend_is_our_own_escaped_html(full_html: str) -> None:
    html = legend_html(
        hex_legend=[{"label": "<x>", "style": {"fillColor": "#fff"}, "count": 0}, {"label": "a&b", "style": {}}],
        hex_metric="n",
        tiers=["district", "village"],
        provider_kinds=["government", "<kind>"],
        gap_threshold_pct=50,
        service_areas=True,
    )
    assert "&lt;kind&gt;" in html and "a&amp;b" in html and "<x>" not in html
    assert "&lt;x&gt;" not in html  # the neutral class is left out when no hexagon has it
    assert "区级助联体" in html and "镇街服务站" not in html and "政府部门" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    decoded = decode_script_escapes(full_html)
    assert "xihu-legend" in decoded and "隐私保护" in decoded
    assert "d3.min.js" not in full_html and "legend = L.control" in full_html


def test_bad_arguments_raise(hexes: pd.DataFrame) -> None:
    with pytest.raises(MapInputError):
        build_map(hexes=hexes, hex_metric="density")
    with pytest.raises(MapInputError):
        build_map(hexes=hexes, lang="fr")
    with pytest.raises(MapInputError):
        build_map(hexes=hexes.drop(columns="covered"))


# ------------------------------------------------------------------------------ streamlit-folium


def test_st_folium_component_loads_only_app_files() -> None:
    """What streamlit-folium sends to its component: JS/CSS links, header, script (AppTest, real component)."""
    from streamlit.testing.v1 import AppTest

    script = f"""
import pandas as pd
from streamlit_folium import st_folium
from layers.folium_map import build_map
hubs = pd.DataFrame({{"hub_id": ["a"], "name": [{XSS_IMG!r}], "tier": ["town"], "lon": [120.1], "lat": [30.25],
                     "served": [4]}})
st_folium(build_map(hubs=hubs), returned_objects=[], key="m", height=400)
"""
    at = AppTest.from_string(script).run(timeout=60)
    assert not at.exception
    comp = next(e for e in at.main if getattr(e, "type", "") == "component_instance")
    args = json.loads(comp.proto.json_args)
    assert args["js_links"] == [f"{DEFAULT_STATIC_BASE}/leaflet/leaflet.js"]
    assert args["css_links"] == [f"{DEFAULT_STATIC_BASE}/leaflet/leaflet.css"]
    for part in ("header", "html", "script"):
        assert external_urls(args[part] or "") == [], part
    assert external_urls(args["script"], strict=True) == [OSM_TILE_URL]
    assert XSS_IMG not in json.dumps(args, ensure_ascii=False)


# ------------------------------------------------------------------------------ Xihu


@pytest.mark.xihu
def test_xihu_district_map_is_light_and_offline(xihu_dir: Path) -> None:
    from data.basemap import basemap_frames_from_shared
    from data.demo import load_default_bundle
    from data.network import load_network
    from geo.analysis import coverage_run
    from geo.service_area import NodeCells

    bundle = load_default_bundle(xihu_dir.parent)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    settings = Settings(metric_crs=bundle.metric_crs, h3_res=9)
    run = coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, settings)
    areas = service_area_polygons(run.engine, node_cells=NodeCells(net))
    m = build_map(
        basemap=basemap_frames_from_shared(xihu_dir),
        hexes=run.hexes,
        hubs=run.hubs,
        providers=bundle.providers,
        service_areas=areas,
        minutes=settings.minutes,
        attribution=bundle.attribution,
    )
    html = map_html(m)
    size = len(html.encode("utf-8"))
    assert size < 3_000_000, f"district map payload {size:,} bytes"
    assert external_urls(html) == []
    sizes = layer_payload_bytes(m)
    assert len(run.hexes) > 500 and len(run.hubs) > 150 and len(bundle.providers) > 100
    assert all(sizes[k] > 0 for k in ("roads", "water", "district", "towns", "hexes", "service_areas", "providers"))
    # individual beneficiaries never reach the district view
    sample = bundle.beneficiaries.sample(200, random_state=1)
    for lon, lat in zip(sample["lon"].round(5), sample["lat"].round(5), strict=True):
        assert f"[{lon},{lat}]" not in html


# ------------------------------------------------------------------------------ real browser


@pytest.fixture(scope="module")
def served(full_html: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The map page on a local HTTP server that also serves ``static/`` at ``/app/static/``."""
    if missing_vendor_files():
        pytest.skip("static/vendor is not populated: run scripts/setup.sh (npm ci + scripts/vendor_assets.sh)")
    folder = tmp_path_factory.mktemp("page")
    (folder / "map.html").write_text(full_html, encoding="utf-8")

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            p = urlsplit(path).path
            if p.startswith("/app/static/"):
                return str(STATIC_DIR / p.removeprefix("/app/static/"))
            return str(folder / p.lstrip("/"))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_browser_draws_the_map_offline_and_never_runs_data(served: str) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's Chromium is not installed (scripts/setup.sh --dev installs it)")
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{served}/map.html")
            page.wait_for_selector("path.xihu-hex", timeout=20_000)
            assert page.locator("path.xihu-hex").count() == len(HEX_SPECS)
            assert page.locator("path.xihu-gap").count() == 2
            assert page.locator("path.xihu-hub").count() == 2  # village circles
            assert page.locator(".xihu-icon").count() == 2 + 5  # district star, town square, 5 providers
            assert page.locator(".xihu-legend").count() == 1
            legend = page.locator("details.xihu-legend-details")
            assert legend.evaluate("d => d.open") is True, "the legend starts closed on a roomy map"
            assert legend.locator("summary").inner_text() == "图例"
            page.add_style_tag(content=".xihu-legend-box{display:none}")  # it covers the south-west hexagon
            # hover the hexagon of 7 households: its tooltip says "<10"
            hexes = page.locator("path.xihu-hex")
            tips = []
            for i in range(hexes.count()):
                hexes.nth(i).hover(force=True)
                page.wait_for_timeout(150)
                tips.append(page.locator(".leaflet-tooltip").last.inner_text())
            assert any("<10" in t and "覆盖率：—" in t for t in tips), tips
            # the providers named like XSS payloads show their names as text (icons 0 and 2: P1 and P3)
            shown = []
            for i in (0, 2):
                page.locator(".xihu-icon").nth(i).hover(force=True)
                page.wait_for_timeout(150)
                shown.append(page.locator(".leaflet-tooltip").last.inner_text())
            assert XSS_IMG in shown[0] and XSS_SCRIPT in shown[1], shown
            page.wait_for_timeout(300)
            assert page.locator("img[src='x']").count() == 0
            assert page.locator("script", has_text="alert(1)").count() == 0
        finally:
            browser.close()
    assert dialogs == []
    assert requests and all(u.startswith(served) for u in requests), sorted(set(requests))
    assert f"{served}/app/static/vendor/leaflet/leaflet.js" in requests
    assert f"{served}/app/static/vendor/leaflet/leaflet.css" in requests


def test_round_trip_of_the_page_json(full_map: folium.Map) -> None:
    """Each layer's data is compact JSON that parses back to the features it was built from."""
    layer = next(c for c in full_map._children.values() if getattr(c, "key", "") == "hexes")
    data = json.loads(layer.data_js)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == len(HEX_SPECS)
    coords = np.array([xy for f in data["features"] for xy in f["geometry"]["coordinates"][0]])
    assert np.allclose(coords, np.round(coords, 5))
    assert ", " not in layer.data_js  # compact
    assert not re.search(r"\\u[4-9][0-9a-f]{3}", layer.data_js) and "救助对象" in layer.data_js
    assert {"s", "t"} == set(data["features"][0]["properties"])


def test_basemap_from_network_keeps_the_streets_with_fewer_vertices(lattice_net: WalkNetwork) -> None:
    frames = basemap_from_network(lattice_net)
    gdf = frames["network"]
    assert list(frames) == ["network"] and len(gdf) == 1 and gdf.crs.to_epsg() == 4326
    length_m = float(gdf.to_crs(32651).length.iloc[0])
    assert length_m == pytest.approx(2 * 20 * 19 * 100.0, rel=0.01)  # 760 edges of 100 m
    coords = shapely.get_coordinates(gdf.geometry.to_numpy())
    assert len(coords) <= 2 * lattice_net.n_edges
    assert np.allclose(coords, np.round(coords, 5), atol=1e-12)
    # a street drawn with 60 vertices on a straight line: chained into one line of two vertices
    k = 60
    street = network_from_edges(
        LON0 + np.arange(k) * 0.0002, np.full(k, LAT0), np.arange(k - 1), np.arange(1, k), np.full(k - 1, 19.2),
        metric_crs="EPSG:32651",
    )  # fmt: skip
    line = basemap_from_network(street)["network"].geometry.iloc[0]
    assert len(shapely.get_coordinates(line)) == 2
    assert basemap_from_network(street, simplify_m=None)["network"].geometry.iloc[0].length > 0.0117


@pytest.mark.browser
def test_legend_starts_closed_on_a_narrow_frame_and_opens_on_a_click(served: str) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's Chromium is not installed (scripts/setup.sh --dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 420, "height": 640})
            page.goto(f"{served}/map.html")
            page.wait_for_selector("path.xihu-hex", timeout=20_000)
            legend = page.locator("details.xihu-legend-details")
            assert legend.evaluate("d => d.open") is False, "the legend covers a narrow map"
            box = page.locator(".xihu-legend-box").bounding_box()
            assert box is not None and box["width"] * box["height"] < 0.05 * 420 * 640
            legend.locator("summary").click()
            assert legend.evaluate("d => d.open") is True
            assert page.locator(".xihu-legend").is_visible()
        finally:
            browser.close()
