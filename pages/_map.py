"""Maps on a page: a rendered map shared by every session, the per-person layers sent on their own.

``streamlit_folium.st_folium`` renders the whole folium map on every call (the district map:
about 1 MB of script and 0.6-1.2 s of server CPU per rerun) and keys its browser component by
a hash of that script, so any change (one marker) loads a new frame and draws the map anew.
Here the map is rendered once into a :class:`MapPayload` (cached by the caller per dataset,
settings, area, colouring and language, see :func:`pages._coverage.map_payload_for`) and shown
with streamlit-folium's own browser component:

* the same payload gives the same component key: the browser keeps its frame and its map,
  and Streamlit's message cache does not send the unchanged megabyte again;
* what changes per click (a scenario's new stations, recommended sites) goes as
  ``feature_group`` script (:func:`marks_script`) that the component swaps in the live map
  (streamlit-folium's ``feature_group_to_add``);
* a click is reported at once (:data:`FAST_CLICK_JS`), not after the component's 250 ms debounce;
* ``returned_objects`` is part of the component key: the component reads it only when its
  frame is created, so a map that returned nothing (a "do nothing" click mode) would otherwise
  never start returning clicks after the mode changed.

The preparation mirrors ``st_folium`` of streamlit-folium 0.27.4 (pinned in requirements.txt)
and calls its helpers; ``tests/pages/test_map_payload.py`` checks that what is sent equals what
``st_folium`` sends for the same map.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import streamlit as st

from layers.geojson_layer import esc, js_json


def _stf() -> Any:
    """streamlit-folium, imported on first use: its component registers itself only when the
    import runs inside a session's script (not in the warm-up thread of serve.py)."""
    import streamlit_folium

    return streamlit_folium


def load_component() -> None:
    """Import streamlit-folium from a session's script (app.py, on every page, sign-in included),
    so its component is registered and the warm-up may render maps before anyone signs in."""
    _stf()


def component_ready() -> bool:
    """Whether a session has imported streamlit-folium (and so registered its component)."""
    return "streamlit_folium" in sys.modules


@dataclass(frozen=True)
class MapPayload:
    """Everything the browser component needs of a rendered map (immutable: shared across sessions)."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: tuple[tuple[float | None, float | None], tuple[float | None, float | None]]
    zoom: Any
    digest: str  # of the standardised script (streamlit-folium's generate_js_hash)

    def default(self, returned_objects: Sequence[str]) -> dict[str, Any]:
        """The component's value before any interaction (as ``st_folium``'s ``defaults``)."""
        (s, w), (n, e) = self.bounds
        base: dict[str, Any] = {
            "last_clicked": None,
            "last_object_clicked": None,
            "last_object_clicked_count": None,
            "last_object_clicked_tooltip": None,
            "last_object_clicked_popup": None,
            "all_drawings": None,
            "last_active_drawing": None,
            "bounds": {"_southWest": {"lat": s, "lng": w}, "_northEast": {"lat": n, "lng": e}},
            "zoom": self.zoom,
            "last_circle_radius": None,
            "last_circle_polygon": None,
            "selected_layers": None,
            "selected_tags": None,
            "last_geocoder_result": None,
        }
        return {k: v for k, v in base.items() if k in returned_objects}


def payload_of(m: folium.Map) -> MapPayload:
    """Render ``m`` once as ``st_folium`` does (``m`` is consumed: do not render it again)."""
    stf = _stf()
    m.get_root().render()
    m.render()
    html = stf._get_html(m)
    header = stf._get_header(m)
    script = stf._get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    stack: list[Any] = [m]
    while stack:  # depth-first, children in order (st_folium's walk)
        el = stack.pop()
        css.extend(href for _, href in getattr(el, "default_css", []))
        js.extend(src for _, src in getattr(el, "default_js", []))
        stack.extend(reversed(list(getattr(el, "_children", {}).values())))
    try:
        bounds = m.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    return MapPayload(
        script=script,
        header=header,
        html=html,
        map_id=stf.get_full_id(m),
        css_links=tuple(dict.fromkeys(css)),
        js_links=tuple(dict.fromkeys(js)),
        bounds=((bounds[0][0], bounds[0][1]), (bounds[1][0], bounds[1][1])),
        zoom=m.options.get("zoom"),
        digest=stf.generate_js_hash(script, None, False),
    )


@dataclass(frozen=True)
class Mark:
    """A circle marker drawn on the live map, not in the shared rendered map (a scenario's new
    stations, recommended sites). ``tooltip`` is plain text (escaped when sent)."""

    lat: float
    lon: float
    tooltip: str
    radius: int = 7
    color: str = "#000000"
    weight: int = 2
    fill_color: str = ""  # "" = ``color``
    fill_opacity: float = 0.3


def marks_script(marks: Sequence[Mark]) -> str | None:
    """The script that adds ``marks`` to the live map as one feature group, in the form
    streamlit-folium's component expects of ``feature_group_to_add`` (a ``feature_group_*``
    layer added to ``map_div`` and pushed on ``window.feature_group``, which the component
    removes before the next one). Written here rather than rendered through folium's templates:
    a planner click sends it, and folium compiled a Jinja template per marker (~45 ms a click)."""
    if not marks:
        return None
    rows = [
        [float(m.lat), float(m.lon), int(m.radius), m.color, int(m.weight), m.fill_color or m.color,
         float(m.fill_opacity), esc(m.tooltip)]
        for m in marks
    ]  # fmt: skip
    return (
        "var feature_group_feature_group_0 = L.featureGroup();\n"
        f"{js_json(rows)}.forEach(function (m) {{\n"
        "    L.circleMarker([m[0], m[1]], {radius: m[2], color: m[3], weight: m[4], fill: true,"
        " fillColor: m[5], fillOpacity: m[6]})\n"
        "        .bindTooltip('<div>' + m[7] + '</div>', {sticky: true})\n"
        "        .addTo(feature_group_feature_group_0);\n"
        "});\n"
        "map_div.addLayer(feature_group_feature_group_0);\n"
        "window.feature_group = window.feature_group || [];\n"
        "window.feature_group.push(feature_group_feature_group_0);\n"
    )


#: Sent with a map that returns only its last click: streamlit-folium's frame reports map events
#: 250 ms after the last one (a debounce, for panning); a click is reported at once instead, with
#: the value the debounced report would send (which then finds it sent and sends nothing).
FAST_CLICK_JS = """
(function () {
    var map = window.map, g = window.__GLOBAL_DATA__;
    if (!map || !g || map.__xihuFastClick) return;
    map.__xihuFastClick = true;
    map.on("click", function (e) {
        if (JSON.stringify(g.returned_objects) !== '["last_clicked"]') return;
        g.lat_lng_clicked = e.latlng;
        var data = {last_clicked: e.latlng};
        if (JSON.stringify(g.previous_data) === JSON.stringify(data)) return;
        g.previous_data = data;
        window.Streamlit.setComponentValue(data);
    });
})();
"""


Bounds = tuple[tuple[float, float], tuple[float, float]]


def _dynamic_script(marks: Sequence[Mark], returned_objects: Sequence[str], fit_bounds: Bounds | None) -> str | None:
    script = marks_script(marks) or ""
    if list(returned_objects) == ["last_clicked"]:
        script += FAST_CLICK_JS
    if fit_bounds is not None:
        (s, w), (n, e) = fit_bounds
        script += f"\nwindow.map.fitBounds([[{float(s)!r}, {float(w)!r}], [{float(n)!r}, {float(e)!r}]]);\n"
    return script or None


def component_key(payload: MapPayload, key: str, returned_objects: Sequence[str]) -> str:
    """The component's key: the page's key, the map and what it returns (see the module docstring)."""
    tail = hashlib.sha256(f"{payload.digest}|{','.join(returned_objects)}".encode()).hexdigest()[:20]
    return f"{key}-{tail}"


def map_value(payload: MapPayload, key: str, returned_objects: Sequence[str]) -> dict[str, Any] | None:
    """What the map returned at the last interaction, readable before :func:`show_map` draws it
    (so a click can change what is drawn in the same run)."""
    value = st.session_state.get(component_key(payload, key, returned_objects))
    return value if isinstance(value, dict) else None


def show_map(
    payload: MapPayload,
    *,
    key: str,
    height: int,
    returned_objects: Sequence[str] = (),
    marks: Sequence[Mark] = (),
    fit_bounds: Bounds | None = None,
) -> dict[str, Any] | None:
    """Show ``payload`` full width with streamlit-folium's component; returns its value.

    ``marks`` are drawn on the live map; ``fit_bounds`` ((south, west), (north, east))
    moves its view there, whenever it changes (another town) without loading the map again.
    """
    objs = list(returned_objects)
    value = _stf()._component_func(
        script=payload.script,
        header=payload.header,
        html=payload.html,
        id=payload.map_id,
        key=component_key(payload, key, objs),
        height=height,
        width=None,
        returned_objects=objs,
        default=payload.default(objs),
        zoom=None,
        center=None,
        feature_group=_dynamic_script(marks, objs, fit_bounds),
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(payload.css_links),
        js_links=list(payload.js_links),
        on_change=None,
        wrap_longitude=False,
    )
    return value if isinstance(value, dict) else None
