"""Map layers: GeoDataFrames to folium layers (locally served Leaflet), legends, static map images; no streamlit."""
