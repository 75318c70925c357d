"""Map layers: GeoDataFrames to folium layers with locally served Leaflet, legends and static map images; no streamlit."""
