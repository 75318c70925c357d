"""pages._map sends streamlit-folium's component exactly what ``st_folium`` sends for the same map."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from pages._map import FAST_CLICK_JS, Mark, marks_script

SCRIPT = """
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium
from layers.folium_map import build_map
from pages._map import Mark, payload_of, show_map

def make():
    hubs = pd.DataFrame({"hub_id": ["a", "b"], "name": ["站<b>", "二"], "tier": ["town", "village"],
                         "lon": [120.1, 120.12], "lat": [30.25, 30.26], "served": [4, 12]})
    return build_map(hubs=hubs)

st_folium(make(), key="ref", height=400, returned_objects=["last_clicked"], use_container_width=True)
show_map(payload_of(make()), key="ours", height=400, returned_objects=["last_clicked"],
         marks=[Mark(30.25, 120.11, "新站 <b>x</b>'`")])
show_map(payload_of(make()), key="ours", height=400, returned_objects=[])
"""


def _args() -> list[dict[str, object]]:
    at = AppTest.from_string(SCRIPT).run(timeout=60)
    assert not at.exception
    comps = [e for e in at.main if getattr(e, "type", "") == "component_instance"]
    assert len(comps) == 3
    return [json.loads(c.proto.json_args) for c in comps]


def test_payload_equals_what_st_folium_sends() -> None:
    ref, ours, _ = _args()
    assert set(ref) == set(ours)
    for name in ref:
        if name in ("key", "feature_group"):
            continue
        assert ours[name] == ref[name], name
    # the marks as a feature group in the component's form, then the immediate click report
    assert ref["feature_group"] is None
    sent = str(ours["feature_group"])
    assert sent == marks_script([Mark(30.25, 120.11, "新站 <b>x</b>'`")]) + FAST_CLICK_JS
    assert "var feature_group_feature_group_0 = L.featureGroup();" in sent
    assert "map_div.addLayer(feature_group_feature_group_0)" in sent
    assert "window.feature_group.push(feature_group_feature_group_0)" in sent
    # the tooltip is data: HTML-escaped, and the JSON holds no quote or bracket that ends it
    assert "<b>" not in sent and "\\u0026lt;b\\u0026gt;x" in sent and "'`" not in sent
    assert marks_script([]) is None


def test_returned_objects_are_part_of_the_component_key() -> None:
    """The component reads ``returned_objects`` only when its frame is made: another list, another frame."""
    _, clicks, nothing = _args()
    assert clicks["returned_objects"] == ["last_clicked"]
    assert clicks["default"] == {"last_clicked": None}
    assert nothing["returned_objects"] == []
    assert nothing["default"] == {}
    assert clicks["key"] != nothing["key"]
    assert nothing["feature_group"] is None  # nothing to add, no click to report
    assert clicks["script"] == nothing["script"]
