"""The app in a real browser (Playwright on Debian's Chromium): what AppTest cannot see.

Every test signs in through the real form, moves between pages by the sidebar links only
(a page load starts a new Streamlit session; reload-proof sessions are tested in test_sessions.py), and checks:
the Leaflet map inside the st_folium frame with its hexagon paths counted, a screenshot
under ``artifacts/screens/``, that every request (page, frames, websocket) went to the
app's own host, and that no dialog ever opened. The data page uploads hubs whose names
are XSS payloads; their tooltips must show the payload as text and never run it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import (
    GUEST,
    PASSWORD,
    PLANNER,
    RUN_TIMEOUT_S,
    VIEWER,
    Recorded,
    missing_prerequisite,
    wait_idle,
)

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

from playwright.sync_api import Frame, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xihu,
    pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or ""),
]

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
XSS_HUBS = (
    # hub_id, name, tier, lon, lat, town_code
    ("X1", "<img src=x onerror=alert(1)>", "镇街", 120.14481, 30.271449, "330106002"),
    ("X2", '"><script>alert(2)</script>', "镇街", 120.128074, 30.276994, "330106005"),
    ("X3", "<svg onload=alert(3)>", "村社", 120.114005, 30.279174, "330106007"),
)
ESCAPED = {
    "<img src=x onerror=alert(1)>": "&lt;img src=x onerror=alert(1)&gt;",
    '"><script>alert(2)</script>': "&lt;script&gt;alert(2)&lt;/script&gt;",
    "<svg onload=alert(3)>": "&lt;svg onload=alert(3)&gt;",
}
#: a count 1-9 standing alone in a tooltip (not part of a number, a range, a decimal or a percentage)
BARE_SMALL = re.compile(r"(?<![\d.–\-<])[1-9](?![\d.–\-%])")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    """What the app must show at the default settings, computed here by geo directly."""
    from core.settings import Settings
    from data.demo import load_default_bundle
    from data.network import load_network
    from geo.analysis import coverage_run
    from geo.snap import Snapper

    bundle = load_default_bundle(Settings().shared_data)
    net = load_network(bundle.network_path, metric_crs=bundle.metric_crs)
    run = coverage_run(Snapper(net), bundle.hubs, bundle.beneficiaries, Settings(metric_crs=bundle.metric_crs))
    return {"n": len(run.points), "n_covered": run.n_covered, "n_hexes": len(run.hexes)}


# ---------------------------------------------------------------------------- helpers


def nav_links(page: Page) -> list[str]:
    return [s.strip() for s in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def open_page(page: Page, label: str, title: str) -> None:
    """Go to a page by its sidebar link (never by URL) and wait for its title."""
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=re.compile(f"^{re.escape(label)}$")).click()
    wait_idle(page)
    page.locator("h1", has_text=title).wait_for()


def title(page: Page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
    )
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def map_frame(page: Page) -> Frame:
    """The st_folium frame once Leaflet has drawn the hexagons."""
    wait_idle(page)
    iframe = page.locator(MAP_IFRAME)
    iframe.wait_for()
    assert iframe.count() == 1, f"expected one map frame, found {iframe.count()}"
    handle = iframe.element_handle()
    frame = handle.content_frame() if handle else None
    assert frame is not None, "the map iframe has no frame"
    frame.wait_for_selector(".leaflet-container", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    frame.wait_for_selector("path.xihu-hex", state="attached", timeout=RUN_TIMEOUT_S * 1000)
    page.wait_for_timeout(300)
    return frame


def visible_hexes(frame: Frame) -> int:
    """Hexagon paths with a drawn, non-empty box inside the map's view."""
    return int(
        frame.evaluate(
            """() => {
                const view = document.querySelector('.leaflet-container').getBoundingClientRect();
                return [...document.querySelectorAll('path.xihu-hex')].filter(p => {
                    const b = p.getBoundingClientRect();
                    return b.width > 0 && b.height > 0 && b.right > view.left && b.left < view.right
                        && b.bottom > view.top && b.top < view.bottom;
                }).length;
            }"""
        )
    )


def center_map(page: Page) -> None:
    """Scroll the map frame to the middle of the window (clear of Streamlit's sticky header)."""
    page.locator(MAP_IFRAME).evaluate("el => el.scrollIntoView({block: 'center', inline: 'nearest'})")
    page.wait_for_timeout(200)


def shoot_map(page: Page, path: Path) -> Path:
    """Screenshot of the map frame; fails when the image is blank (a handful of colours)."""
    from PIL import Image

    center_map(page)
    page.wait_for_timeout(200)
    page.locator(MAP_IFRAME).screenshot(path=str(path))
    with Image.open(path) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, f"the map screenshot {path} looks blank ({len(colours)} colours)"
    return path


def assert_own_host_only(rec: Recorded) -> None:
    """Every request of the page and its frames (and the websocket) went to the app's host."""
    assert rec.requests, "no request was recorded"
    bad = []
    for url in rec.requests:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            continue  # never leaves the browser
        if parts.scheme not in ("http", "https", "ws", "wss") or parts.netloc != rec.server.netloc:
            bad.append(url)
    assert not bad, f"requests left {rec.server.netloc}: {bad[:5]}"


def assert_clean(rec: Recorded) -> None:
    """No dialog, no JavaScript error, no request elsewhere, no uncaught exception in the server log."""
    hosts = Counter(urlsplit(u).netloc or urlsplit(u).scheme for u in rec.requests)
    print(f"requests: {len(rec.requests)} by host {dict(hosts)}; page errors: {rec.page_errors}")
    assert not rec.dialogs, f"a dialog opened: {rec.dialogs}"
    assert not rec.page_errors, f"uncaught JavaScript errors: {rec.page_errors}"
    assert_own_host_only(rec)
    log = rec.server.log_since(rec.log_offset)
    assert "Traceback" not in log and "Uncaught app exception" not in log, log[-3000:]


def hover_tooltip(page: Page, frame: Frame, x: float, y: float) -> tuple[str, str]:
    """Move the real mouse to (x, y) of the map frame; the open tooltip's (text, HTML) or ("", "")."""
    center_map(page)
    box = page.locator(MAP_IFRAME).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + x, box["y"] + y)
    tip = frame.locator(".leaflet-tooltip")
    try:
        tip.first.wait_for(state="visible", timeout=2000)
    except Exception:
        return "", ""
    return tip.last.inner_text(), tip.last.inner_html()


def table_cells(page: Page) -> list[list[str]]:
    """Every cell of every st.dataframe on the page (scrolling each grid, which draws visible rows only)."""
    tables = []
    frames = page.locator('[data-testid="stDataFrame"]')
    for i in range(frames.count()):
        df = frames.nth(i)
        df.scroll_into_view_if_needed()
        df.locator('td[role="gridcell"]').first.wait_for(state="attached")
        n_rows = int(df.locator('table[role="grid"]').get_attribute("aria-rowcount") or "1") - 1
        cells: dict[str, str] = {}
        for _ in range(50):
            for td in df.locator('td[role="gridcell"]').all():
                cells[td.get_attribute("data-testid") or ""] = td.inner_text().strip()
            rows_seen = {k.rsplit("-", 1)[-1] for k in cells}
            if len(rows_seen) >= n_rows:
                break
            df.locator(".dvn-scroller").evaluate("el => { el.scrollTop += el.clientHeight / 2; }")
            page.wait_for_timeout(150)
        rows_seen = {k.rsplit("-", 1)[-1] for k in cells}
        assert len(rows_seen) == n_rows, f"read {len(rows_seen)} of {n_rows} rows of table {i}"
        tables.append(list(cells.values()))
    return tables


def hubs_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["编号", "名称", "层级", "经度", "纬度", "镇街编码", "服务项目"])
    for row in XSS_HUBS:
        w.writerow([*row, "S01;S02"])
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------- tests


def test_wrong_password_shows_error_and_no_content(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(GUEST, PASSWORD + "-wrong")
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    assert error.inner_text().strip(), "the error message is empty"
    # still the sign-in form, and nothing of any page
    assert page.get_by_label("密码").count() == 1
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    assert page.locator(MAP_IFRAME).count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert "已登录" not in page.locator("body").inner_text()
    page.screenshot(path=str(screens_dir / "wrong_password.png"))
    assert_clean(recorded)


def test_planner_overview_map(recorded: Recorded, screens_dir: Path, expected: dict[str, Any]) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    assert title(page) == "西湖区 10分钟救助服务圈 · 总览"
    assert nav_links(page)[:2] == ["总览", "镇街 / 村社"] and "数据" in nav_links(page)
    assert metric(page, "救助对象（户）") == f"{expected['n']:,}"
    assert metric(page, "10分钟圈内") == f"{expected['n_covered']:,}"

    frame = map_frame(page)
    n_hex, n_vis = frame.locator("path.xihu-hex").count(), visible_hexes(frame)
    print(f"overview: {n_hex} hexagon paths ({n_vis} in view), expected {expected['n_hexes']}")
    assert n_hex == expected["n_hexes"]
    assert n_vis > 0.5 * expected["n_hexes"]
    assert frame.locator(".xihu-icon").count() > 0, "no hub or provider icon on the map"
    assert frame.locator(".xihu-legend").count() == 1
    assert any(urlsplit(u).path == "/app/static/vendor/leaflet/leaflet.js" for u in recorded.requests)

    # a real hover on a hexagon near the middle of the map opens its tooltip
    rect = frame.evaluate(
        """() => {
            const v = document.querySelector('.leaflet-container').getBoundingClientRect();
            const cx = (v.left + v.right) / 2, cy = (v.top + v.bottom) / 2;
            let best = null, bestD = Infinity;
            for (const p of document.querySelectorAll('path.xihu-hex')) {
                const b = p.getBoundingClientRect();
                if (b.width < 6) continue;
                const d = Math.hypot(b.left + b.width / 2 - cx, b.top + b.height / 2 - cy);
                if (d < bestD) { bestD = d; best = b; }
            }
            return best && {x: best.left + best.width / 2, y: best.top + best.height / 2};
        }"""
    )
    assert rect, "no hexagon large enough to hover"
    text, _ = hover_tooltip(page, frame, rect["x"], rect["y"])
    assert "救助对象" in text and "覆盖率" in text, f"hexagon tooltip not shown: {text!r}"
    shoot_map(page, screens_dir / "planner_overview.png")
    assert_clean(recorded)


def test_planner_hub_page_map(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    map_frame(page)
    open_page(page, "镇街 / 村社", "镇街服务站 / 村社服务点")
    frame = map_frame(page)
    n, n_vis = frame.locator("path.xihu-hex").count(), visible_hexes(frame)
    print(f"hub view: {n} hexagon paths ({n_vis} in view)")
    assert n > 0
    assert n_vis > 0
    assert frame.locator(".xihu-icon").count() > 0
    shoot_map(page, screens_dir / "planner_hubs.png")
    assert_clean(recorded)


def test_uploaded_xss_names_never_run(recorded: Recorded, screens_dir: Path) -> None:
    page = recorded.page
    recorded.sign_in(PLANNER)
    frame = map_frame(page)
    # the dialog listener sees the map frame: a deliberate alert is caught (and then forgotten)
    frame.evaluate("() => alert('probe')")
    assert recorded.dialogs == ["alert: probe"]
    recorded.dialogs.clear()

    open_page(page, "数据", "数据导入")
    page.locator('[data-testid="stRadio"]').filter(has_text="数据类型").get_by_text("服务站点", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "hubs_xss.csv", "mimeType": "text/csv", "buffer": hubs_csv()}]
    )
    wait_idle(page)
    page.get_by_role("button", name="校验并导入").click()
    wait_idle(page)
    assert metric(page, "接受") == str(len(XSS_HUBS)), metric(page, "拒绝")
    page.get_by_role("button", name="保存到数据库（替换已导入的同类数据）").click()
    wait_idle(page)
    page.get_by_text(f"已保存 {len(XSS_HUBS)} 行到数据库。").wait_for()
    assert page.locator('img[src="x"]').count() == 0 and not recorded.dialogs

    page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').get_by_text("已导入数据", exact=True).click()
    wait_idle(page)
    open_page(page, "总览", "总览")
    frame = map_frame(page)

    # every tooltip carrying a payload carries it escaped
    tips: list[str] = frame.evaluate(
        """() => {
            const out = [];
            window.map.eachLayer(l => {
                const t = l.getTooltip && l.getTooltip();
                const c = t && t.getContent();
                if (typeof c === 'string' && c.includes('alert(')) out.push(c);
            });
            return out;
        }"""
    )
    for raw, esc in ESCAPED.items():
        carrying = [t for t in tips if esc in t]
        assert carrying, f"no tooltip carries {raw!r} (escaped)"
    assert not [t for t in tips if re.search(r"<(img|script|svg)\b", t)], tips

    # hover each payload hub with the real mouse: the tooltip shows the payload as text
    shown = {}
    for raw in ESCAPED:
        pos = frame.evaluate(
            """(name) => {
                let hit = null;
                window.map.eachLayer(l => {
                    const t = l.getTooltip && l.getTooltip();
                    const el = l._icon || l._path;
                    if (!hit && t && el && l.getLatLng && t.getContent().includes(name)) hit = l;
                });
                if (!hit) return null;
                window.map.setView(hit.getLatLng(), 17, {animate: false});
                const b = (hit._icon || hit._path).getBoundingClientRect();
                return {x: b.left + b.width / 2, y: b.top + b.height / 2};
            }""",
            ESCAPED[raw],
        )
        assert pos, f"no hub marker for {raw!r}"
        page.wait_for_timeout(300)
        text, html = hover_tooltip(page, frame, pos["x"], pos["y"])
        assert raw in text, f"hovering the hub {raw!r} showed {text!r}"
        assert ESCAPED[raw] in html
        shown[raw] = text
        if raw.startswith("<img"):
            shoot_map(page, screens_dir / "planner_xss_tooltip.png")
        page.mouse.move(0, 0)

    page.wait_for_timeout(500)
    assert not recorded.dialogs, f"an XSS payload ran: {recorded.dialogs}"
    assert frame.locator('img[src="x"]').count() == 0
    assert page.locator('img[src="x"]').count() == 0
    assert frame.evaluate("() => document.querySelectorAll('[onerror],[onload]').length") == 0
    assert frame.evaluate("() => [...document.scripts].filter(s => /^alert\\(/.test(s.textContent.trim())).length") == 0
    assert len(shown) == len(ESCAPED)
    print(f"payload tooltips: {len(tips)}; hovered: {shown}; hexagons: {frame.locator('path.xihu-hex').count()}")

    # positive control: the same tooltip fed the raw payload does run it, and the checks above see it
    frame.evaluate(
        """(raw) => {
            let hit = null;
            window.map.eachLayer(l => {
                const t = l.getTooltip && l.getTooltip();
                if (!hit && t && l._icon && String(t.getContent()).includes('onerror')) hit = l;
            });
            hit.setTooltipContent(raw);
            hit.openTooltip();
        }""",
        XSS_HUBS[0][1],
    )
    for _ in range(50):
        if recorded.dialogs:
            break
        page.wait_for_timeout(100)
    assert recorded.dialogs == ["alert: 1"], "an unescaped payload did not fire the dialog listener"
    assert frame.locator('img[src="x"]').count() == 1
    recorded.dialogs.clear()

    # the hub view lists the imported hubs by name (as text) and maps them
    open_page(page, "镇街 / 村社", "镇街服务站 / 村社服务点")
    picked = page.get_by_role("combobox", name="选择站点").input_value()
    assert picked == f"{XSS_HUBS[0][1]}（{XSS_HUBS[0][0]}）"
    frame = map_frame(page)
    assert frame.locator("path.xihu-hex").count() > 0
    page.wait_for_timeout(500)
    assert not recorded.dialogs, f"an XSS payload ran on the hub view: {recorded.dialogs}"
    assert page.locator('img[src="x"]').count() == 0
    assert frame.locator('img[src="x"]').count() == 0
    assert_clean(recorded)


def test_viewer_sees_aggregates_only(recorded: Recorded, screens_dir: Path, expected: dict[str, Any]) -> None:
    page = recorded.page
    recorded.sign_in(VIEWER)
    assert title(page) == "西湖区 10分钟救助服务圈 · 总览"
    # the overview and the (district-only, protected) reports: no hub view, planner or data page
    assert set(nav_links(page)) == {"总览", "报告"}
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    for other in ("镇街 / 村社", "选址规划", "数据导入"):
        assert other not in sidebar
    assert not any(link in ("数据", "镇街 / 村社") for link in nav_links(page))
    # the district figures, the same as the planner's
    assert metric(page, "救助对象（户）") == f"{expected['n']:,}"
    assert metric(page, "10分钟圈内") == f"{expected['n_covered']:,}"

    # no table cell shows a bare count 1-9
    tables = table_cells(page)
    assert len(tables) >= 3 and all(tables)
    small = [c for cells in tables for c in cells if re.fullmatch(r"[1-9]", c)]
    assert not small, f"a viewer sees small counts: {small}"

    frame = map_frame(page)
    n_hex, n_vis = frame.locator("path.xihu-hex").count(), visible_hexes(frame)
    print(f"viewer overview: {n_hex} hexagon paths ({n_vis} in view), expected {expected['n_hexes']}")
    assert n_hex == expected["n_hexes"]
    assert n_vis > 0
    tips: list[str] = frame.evaluate(
        """() => {
            const out = [];
            window.map.eachLayer(l => {
                const t = l.getTooltip && l.getTooltip();
                if (t && l._path && l._path.classList.contains('xihu-hex')) out.push(t.getContent());
            });
            return out;
        }"""
    )
    assert len(tips) == expected["n_hexes"]
    bare = [t for t in tips if BARE_SMALL.search(re.sub(r"<[^>]+>", " ", t))]
    assert not bare, f"hexagon tooltips print small counts: {bare[:3]}"
    shoot_map(page, screens_dir / "viewer_overview.png")
    assert_clean(recorded)
