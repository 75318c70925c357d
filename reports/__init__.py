"""Coverage reports of the district, each town and each village service point.

Excel (:mod:`reports.xlsx`), PDF with maps (:mod:`reports.pdf`, :mod:`reports.maps`) and
GIS layers (:mod:`reports.gis`), all drawn from one :class:`geo.analysis.CoverageRun`
(:mod:`reports.content`) and one disclosure control of the whole publication
(:mod:`geo.disclosure`). Entry points:
:func:`reports.build.prepare_report` and :func:`reports.build.write_reports`, and the
command line ``python -m reports build``. No streamlit here (``reports/ruff.toml``).
"""
