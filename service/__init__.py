"""The dashboard's service layer: what pages show, computed without streamlit.

Pages hold widgets and the ``st.cache_*`` wrappers; everything they compute is here,
keyed by one :class:`service.dashboard.RunKey` (dataset, version, settings, area),
typed and reachable by unit tests.
"""
