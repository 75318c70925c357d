"""Every JavaScript and CSS file of the interactive map, served by the app itself.

folium's :class:`folium.Map` lists its assets in the class attributes ``default_js`` /
``default_css``, all on CDNs (jsDelivr, code.jquery.com, cdnjs, netdna): Leaflet,
jQuery, Bootstrap 5 (JS and CSS), Bootstrap 3 glyphicons, Leaflet.awesome-markers,
Font Awesome and folium's ``leaflet.awesome.rotate`` CSS. On a government network
without internet none of them loads and the map stays blank. What the map really needs:

* **Leaflet** (JS + CSS + the layer-control images the CSS references): always.
* **jQuery**: only folium's :class:`folium.Popup` (``$(`...`)[0]``), a GeoJson read
  from a URL (``$.ajax``) and ``Map.keep_in_front`` (``$(document).ready``) use it; the
  layers of this project use none of them, so it is added only when such an element is
  on the map.
* Bootstrap, glyphicons, awesome-markers, Font Awesome, awesome.rotate: only for
  ``folium.Icon`` markers, which this project does not use (hubs and providers are
  SVG ``DivIcon`` s and circle markers). Dropped.

The files come from the npm registry (``package.json`` / ``package-lock.json``, pinned
exactly), are copied by ``scripts/vendor_assets.sh`` into ``static/vendor/`` and served
by Streamlit's static file serving (``[server] enableStaticServing = true``) at
``/app/static/vendor/...``. :func:`localize_assets` points a map **instance** at them
(the class attributes are process-wide state shared by every session and are never
touched) and refuses any other element that would load a file from elsewhere.

streamlit-folium 0.27.4 collects ``default_js`` / ``default_css`` from every element of
the map (``getattr``, so instance values count) and loads them in its component iframe;
it strips ``<script src>`` and ``<link rel="stylesheet">`` from the header and keeps
the inline styles and scripts. It also adds d3 from two CDNs whenever a
``branca.colormap.ColorMap`` is on the map: :func:`localize_assets` refuses those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import branca
import folium
import folium.elements
from branca.element import CssLink, Element, JavascriptLink

from core.errors import ExternalAssetError

#: where Streamlit serves ``./static/vendor`` (``[server] enableStaticServing = true``)
DEFAULT_STATIC_BASE = "/app/static/vendor"
#: the repository's ``static/`` folder (served by Streamlit when static serving is on)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

#: name -> path under ``static/vendor`` of the JavaScript the map may load
VENDOR_JS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
}
#: name -> path under ``static/vendor`` of the CSS the map loads
VENDOR_CSS: dict[str, str] = {
    "leaflet_css": "leaflet/leaflet.css",
}
#: files the CSS references (``url(images/...)``) that must be served too
VENDOR_EXTRA: tuple[str, ...] = (
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
)
#: hosts the map may load from besides relative and root-relative URLs
LOCAL_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
#: namespace URIs that appear in markup but are never fetched
_NAMESPACE_URLS = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1999/xhtml")


def vendor_files() -> list[str]:
    """Every path under ``static/vendor`` the map can reference (for the asset check)."""
    return [*VENDOR_JS.values(), *VENDOR_CSS.values(), *VENDOR_EXTRA]


def missing_vendor_files(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The files of :func:`vendor_files` absent from ``vendor_dir`` (run ``scripts/setup.sh``)."""
    return [f for f in vendor_files() if not (vendor_dir / f).is_file()]


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def needs_jquery(m: folium.Map) -> bool:
    """Whether an element of ``m`` uses jQuery (a Popup, a GeoJson from a URL, ``keep_in_front``)."""
    if getattr(m, "objects_to_stay_in_front", None):
        return True
    for el in _walk(m):
        if isinstance(el, folium.Popup):
            return True
        if isinstance(el, folium.GeoJson) and not el.embed:
            return True
    return False


def is_local_url(url: str, *, allowed_hosts: Iterable[str] = LOCAL_HOSTS) -> bool:
    """True for relative, root-relative and ``data:`` URLs and for http(s) URLs on an allowed host."""
    u = url.strip()
    if u.startswith("//"):
        u = "http:" + u
    parts = urlsplit(u)
    if parts.scheme in ("", "data", "blob", "about"):
        return True
    if parts.scheme not in ("http", "https"):
        return False  # javascript:, file:, ftp: ... are never "local assets"
    return (parts.hostname or "") in set(allowed_hosts)


def localize_assets(m: folium.Map, *, static_base: str = DEFAULT_STATIC_BASE) -> folium.Map:
    """Make ``m`` load Leaflet (and jQuery only if needed) from ``static_base``, nothing else.

    Sets ``default_js`` / ``default_css`` on the map **instance** (never on the class),
    drops stale CDN links an earlier render left in the figure's header, and checks every
    other element. Call it again after adding elements to a map.

    Parameters
    ----------
    m : folium.Map
    static_base : str
        URL prefix of the vendored files (root-relative ``/app/static/vendor`` when
        served by Streamlit; any prefix that serves ``static/vendor``).

    Returns
    -------
    folium.Map
        ``m`` itself.

    Raises
    ------
    ExternalAssetError
        When an element other than the map lists a non-local JS/CSS file (a folium
        plugin, ``RegularPolygonMarker``, ``folium.Icon``'s awesome-markers ...) or a
        ``branca.colormap.ColorMap`` (streamlit-folium adds d3 from a CDN for it).
    """
    base = static_base.rstrip("/")
    js = [("leaflet", f"{base}/{VENDOR_JS['leaflet']}")]
    if needs_jquery(m):
        js.insert(0, ("jquery", f"{base}/{VENDOR_JS['jquery']}"))
    m.default_js = js  # instance attributes: folium.Map.default_js stays untouched
    m.default_css = [("leaflet_css", f"{base}/{VENDOR_CSS['leaflet_css']}")]
    for el in _walk(m):
        if el is m:
            continue
        if isinstance(el, branca.colormap.ColorMap):
            msg = "a branca ColorMap makes streamlit-folium load d3 from a CDN; draw the legend as HTML instead"
            raise ExternalAssetError(msg)
        if isinstance(el, folium.Icon):
            msg = "folium.Icon needs Leaflet.awesome-markers and Font Awesome from CDNs; use a DivIcon"
            raise ExternalAssetError(msg)
        if isinstance(el, folium.elements.JSCSSMixin):
            urls = [u for _, u in [*el.default_js, *el.default_css]]
            bad = [u for u in urls if not is_local_url(u)]
            if bad:
                msg = f"{type(el).__name__} loads {bad[0]} from outside the app; vendor it under static/vendor"
                raise ExternalAssetError(msg)
    root = m.get_root()
    header = getattr(root, "header", None)
    if header is not None:
        for name, child in list(header._children.items()):
            if isinstance(child, JavascriptLink | CssLink) and not is_local_url(str(child.url)):
                del header._children[name]
    return m


# src="..." / href='...' / url(...) / @import "..."
_ATTR_URL = re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_IMPORT_URL = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_ANY_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9\-._~%]+(?::\d+)?(?:/[^\s"'<>`\\)]*)?""")
_JS_ESCAPE = re.compile(r"""\\u([0-9a-fA-F]{4})|\\(["'/\\])""")


def decode_script_escapes(text: str) -> str:
    """Undo the ``\\u003c``, ``\\"``, ``\\/`` escapes of JSON / JS strings embedded in a page."""
    return _JS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), text)


def external_urls(
    html: str,
    *,
    allowed_hosts: Iterable[str] = LOCAL_HOSTS,
    strict: bool = False,
) -> list[str]:
    """URLs in a page that a browser would fetch from outside the app's host.

    Looks at ``src`` / ``href`` / ``action`` / ``poster`` / ``data`` attributes, CSS
    ``url(...)`` and ``@import``, also inside JSON/JS strings (after undoing ``\\u003c``
    escapes and HTML entities), because tooltips and legends are markup carried in
    scripts. Relative and root-relative URLs, ``data:`` URIs and allowed hosts are
    local.

    Parameters
    ----------
    html : str
        The page (``m.get_root().render()``).
    allowed_hosts : iterable of str
        Hosts considered local (``localhost``, ``127.0.0.1``, ``::1`` by default).
    strict : bool
        Also report any absolute http(s) or protocol-relative URL anywhere in the text
        (for instance a tile-URL template in a script), except XML namespace URIs.

    Returns
    -------
    list of str
        The offending URLs, in order of appearance, without duplicates.
    """
    allowed = tuple(allowed_hosts)
    texts = [html, unescape(decode_script_escapes(html))]
    found: list[str] = []
    for text in texts:
        for rx in (_ATTR_URL, _CSS_URL, _IMPORT_URL):
            for mt in rx.finditer(text):
                url = next((g for g in mt.groups() if g is not None), "").strip()
                if url and not is_local_url(url, allowed_hosts=allowed):
                    found.append(url)
        if strict:
            for mt in _ANY_URL.finditer(text):
                url = mt.group(0)
                if not url.startswith(("http:", "https:")):
                    # "//host/...": only a protocol-relative URL if it follows a quote, = or (
                    before = text[max(0, mt.start() - 1) : mt.start()]
                    if before not in ('"', "'", "=", "(", " "):
                        continue
                if any(url.startswith(ns) for ns in _NAMESPACE_URLS):
                    continue
                if not is_local_url(url, allowed_hosts=allowed):
                    found.append(url)
    return list(dict.fromkeys(found))
