"""A light GeoJSON layer for folium: compact JSON, style classes, escaped tooltips.

:class:`folium.GeoJson` embeds its data with Jinja's ``tojson`` (``", "`` separators,
``\\uXXXX`` for every Chinese character), writes one ``case`` per feature in its style
switch and builds tooltips from a field table. :class:`DataLayer` instead embeds

* the features with ``{"s": style index, "t": tooltip HTML}`` as their only
  properties, as compact JSON (no spaces, UTF-8 text) made safe for a ``<script>``
  (``<``, ``>``, ``&``, ``'``, U+2028/9 escaped as ``\\uXXXX``, like ``tojson``);
* a small table of styles (Leaflet path options, or the HTML of a ``DivIcon``).

Tooltip HTML must be built by the caller from :func:`esc`-escaped data; Leaflet puts it
in the page with ``innerHTML``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

PointKind = Literal["circle", "divicon"]


def esc(value: Any) -> str:
    """HTML-escape a value from the data (``None`` and NaN become ``""``).

    Also escapes the characters that end or interpolate a JavaScript template literal
    (`` ` ``, ``$``) and backslashes, because folium puts some texts (``folium.Tooltip``)
    inside backticks.
    """
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    s = html.escape(str(value), quote=True)
    return s.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def js_json(obj: Any) -> str:
    """Compact JSON that is safe inside an HTML ``<script>`` element (the ``tojson`` escapes)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        s.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def round_geometries(geoms: Any, round_deg: int | None) -> np.ndarray:
    """Shapely geometries with coordinates on a ``10^-round_deg`` degree grid (None: unchanged)."""
    arr = np.asarray(geoms, dtype=object)
    if round_deg is None:
        return arr
    # plain rounding of every vertex (display only: a repeated vertex is harmless to Leaflet)
    return np.asarray(shapely.transform(arr, lambda xy: np.round(xy, round_deg)), dtype=object)


def features(
    geoms: Sequence[Any] | np.ndarray,
    styles: Sequence[int] | np.ndarray,
    tips: Sequence[str | None] | None = None,
) -> list[dict[str, Any]]:
    """GeoJSON features with the compact properties ``s`` (style index) and ``t`` (tooltip).

    Empty and missing geometries are skipped.
    """
    out: list[dict[str, Any]] = []
    tip_list = list(tips) if tips is not None else [None] * len(geoms)
    for g, s, t in zip(geoms, styles, tip_list, strict=True):
        if g is None or g.is_empty:
            continue
        props: dict[str, Any] = {"s": int(s)}
        if t:
            props["t"] = t
        out.append({"type": "Feature", "geometry": mapping(g), "properties": props})
    return out


def frame_features(
    gdf: gpd.GeoDataFrame,
    styles: Sequence[int] | np.ndarray | None = None,
    tips: Sequence[str | None] | None = None,
    *,
    round_deg: int | None = 5,
) -> list[dict[str, Any]]:
    """:func:`features` of a GeoDataFrame (reprojected to EPSG:4326, coordinates rounded)."""
    g = gdf.to_crs(4326) if gdf.crs is not None and gdf.crs.to_epsg() != 4326 else gdf
    geoms = round_geometries(g.geometry.to_numpy(), round_deg)
    st = np.zeros(len(g), dtype=np.int64) if styles is None else np.asarray(styles)
    return features(geoms, st, tips)


@dataclass(frozen=True)
class FeatureJS:
    """A feature collection already written as :func:`js_json` (for layers drawn again and again
    from the same data, such as the base map: every area's map prints the same roads)."""

    js: str
    n_features: int

    @classmethod
    def of(cls, feats: list[dict[str, Any]]) -> FeatureJS:
        return cls(js_json({"type": "FeatureCollection", "features": feats}), len(feats))


class _Printed(Element):
    """Text printed into the page as it is (no Jinja template compiled from it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class DataLayer(Layer):
    """A GeoJSON layer whose features pick a style by index and carry their tooltip HTML.

    Parameters
    ----------
    feats : list of GeoJSON features from :func:`features` / :func:`frame_features`, or a
        :class:`FeatureJS` of them written once.
    styles : list of dict
        Leaflet path options per style index (``color``, ``weight``, ``fillColor`` ...);
        for ``point_kind="divicon"`` each holds ``html`` (trusted markup, not data),
        ``size`` and ``anchor`` (``[x, y]`` pixels).
    name : str
        The layer's label in the layer control (HTML: escape it).
    key : str
        A stable id of the layer (``"hexes"``, ``"hubs_town"`` ...) for measurements.
    point_kind : {"circle", "divicon"}
        How point features are drawn: a ``L.circleMarker`` styled like a path (``radius``
        in the style) or a ``L.marker`` with a ``L.divIcon``.
    interactive : bool
        False makes the layer ignore the mouse (no tooltip, clicks go through).
    class_name : str
        CSS class of every SVG path (``path.<class_name>`` selects the layer's shapes).
    sticky : bool
        Tooltips follow the mouse.
    attribution : str
        Shown in the attribution control while the layer is on (HTML: escape it).
    overlay, control, show : see :class:`folium.map.Layer`.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (S) {
                function pick(f) { return S[f.properties.s] || S[0]; }
                return L.geoJson({{ this.data_js }}, {
                    style: pick,
                    {%- if this.point_kind == "divicon" %}
                    pointToLayer: function (f, ll) {
                        var s = pick(f);
                        var icon = L.divIcon(
                            {html: s.html, className: "xihu-icon", iconSize: s.size, iconAnchor: s.anchor}
                        );
                        return L.marker(ll, {icon: icon, interactive: {{ this.interactive_js }}, keyboard: false});
                    },
                    {%- else %}
                    pointToLayer: function (f, ll) {
                        return L.circleMarker(ll, L.extend({className: {{ this.class_name_js }}}, pick(f)));
                    },
                    {%- endif %}
                    onEachFeature: function (f, layer) {
                        if (f.properties.t) {
                            layer.bindTooltip(f.properties.t, {sticky: {{ this.sticky_js }}, direction: "top"});
                        }
                    },
                    interactive: {{ this.interactive_js }},
                    className: {{ this.class_name_js }},
                    attribution: {{ this.attribution_js }}
                });
            })({{ this.styles_js }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        feats: list[dict[str, Any]] | FeatureJS,
        styles: Sequence[Mapping[str, Any]],
        *,
        name: str,
        key: str,
        point_kind: PointKind = "circle",
        interactive: bool = True,
        class_name: str = "",
        sticky: bool = True,
        attribution: str = "",
        overlay: bool = True,
        control: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "DataLayer"
        if not styles:
            msg = "a DataLayer needs at least one style"
            raise ValueError(msg)
        self.key = key
        data = feats if isinstance(feats, FeatureJS) else FeatureJS.of(feats)
        self.n_features = data.n_features
        self.point_kind = point_kind
        self.data_js = data.js
        self.styles_js = js_json([dict(s) for s in styles])
        self.interactive_js = "true" if interactive else "false"
        self.sticky_js = "true" if sticky else "false"
        self.class_name_js = js_json(class_name)
        self.attribution_js = js_json(attribution)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # MacroElement.render returns nothing
        """As :class:`folium.map.Layer` renders, except that the script (hundreds of KB of
        GeoJSON) goes into the page as it is: folium wraps every rendered script in a new
        ``Element``, which compiles it as a Jinja template (lexing all of it) only to print it
        unchanged; that was about a fifth of building a map."""
        figure = self.get_root()
        parent = self._parent
        if not isinstance(figure, Figure) or parent is None:
            msg = "a DataLayer is rendered inside a Figure"
            raise TypeError(msg)
        if self.show:  # folium.map.Layer.render: the layer adds itself to its parent
            self.add_child(
                ElementAddToElement(element_name=self.get_name(), element_parent_name=parent.get_name()),
                name=self.get_name() + "_add",
            )
        script = self._template.module.script(self, kwargs)  # type: ignore[attr-defined]
        figure.script.add_child(_Printed(str(script)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)

    def payload_bytes(self) -> int:
        """Bytes of this layer's script in the page (its data, styles and code)."""
        return len(self._template.module.script(self).encode("utf-8"))  # type: ignore[attr-defined]
