"""Where things are: environment variables, the user's data folder, the shared Xihu files.

The one module that reads the process environment (every other module asks here) and
that names the files of ``../shared/data/xihu`` (see ``shared/data/README.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

#: SQLAlchemy URL of the database (default: the SQLite file in the data folder)
ENV_DATABASE_URL: Final = "DATABASE_URL"
#: key of the ID-number hash (at least 16 bytes of UTF-8 text)
ENV_ID_HASH_KEY: Final = "XIHU_ID_HASH_KEY"
#: key of the audit log's HMAC chain (at least 16 bytes of UTF-8 text)
ENV_AUDIT_KEY: Final = "XIHU_AUDIT_KEY"
#: a CJK TrueType font to embed in PDF reports
ENV_REPORT_FONT: Final = "XIHU_REPORT_FONT"
#: the XDG base folder of user data
ENV_XDG_DATA_HOME: Final = "XDG_DATA_HOME"

APP_DIR_NAME: Final = "xihu-service-map"

#: the files of ``shared/data/xihu`` by role
XIHU_FILES: Final[dict[str, str]] = {
    "network": "xihu.osm.pbf",
    "network_xml": "xihu.osm",
    "roads": "roads.geojson",
    "water": "water.geojson",
    "landuse": "landuse.geojson",
    "district": "district_wgs84.geojson",
    "district_gcj02": "district_gcj02.geojson",
    "centroids": "centroids_2016_wgs84.geojson",
    "towns": "towns_2023.csv",
    "divisions": "divisions_2023.csv",
    "town_cells": "towns_approx_voronoi_NOT_OFFICIAL.geojson",
}


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The environment variable ``name`` (``None`` when unset or empty)."""
    environ = os.environ if env is None else env
    return environ.get(name) or None


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's data folder for this app (``$XDG_DATA_HOME`` or ``~/.local/share``)."""
    base = env_value(ENV_XDG_DATA_HOME, env) or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


def xihu_file(shared_data: Path, role: str) -> Path:
    """The path of one shared Xihu file (``role`` a key of :data:`XIHU_FILES`)."""
    return Path(shared_data) / "xihu" / XIHU_FILES[role]
