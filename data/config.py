"""Where things are: environment variables, the user's data folder, the shared Xihu files.

The one module that reads the process environment (every other module asks here) and
that names the files of ``../shared/data/xihu`` (see ``shared/data/README.md``).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from core.errors import XihuError

logger = logging.getLogger(__name__)

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
#: shortest accepted secret key (bytes)
MIN_KEY_BYTES: Final = 16

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


def read_or_create_key_file(path: Path, *, n_bytes: int = 32) -> tuple[bytes, bool]:
    """Read a secret key file, creating it with ``n_bytes`` random bytes on first use.

    The new key is written to a private (0600) temporary file and linked into place, so
    concurrent first uses either win the link or read the winner's complete key.

    Returns
    -------
    (key, created) : the key's bytes and whether this call created the file.

    Raises
    ------
    OSError
        When the file cannot be read or created.
    """
    created = False
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(n_bytes))
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes(), created


def secret_key(
    env_name: str,
    file_name: str,
    *,
    error: type[XihuError],
    what_zh: str,
    what_en: str,
    env: Mapping[str, str] | None = None,
    key_file: str | Path | None = None,
    create: bool = True,
) -> bytes:
    """A secret key: the environment variable ``env_name`` (its UTF-8 bytes), else a private key file.

    The one reading of a secret key (the ID-number hash's, :func:`data.idcard.id_hash_key`;
    the audit chain's, :func:`data.accounts.audit.audit_key`). Without the variable the key is
    read from ``key_file`` (default ``<data dir>/<file_name>``), created on first use with 32
    random bytes (``secrets.token_bytes``), readable by its owner only.

    Parameters
    ----------
    env_name, file_name : str
        The variable and the default key file's name.
    error : type
        The exception class to raise (its message is Chinese, then English in brackets).
    what_zh, what_en : str
        The key's name in messages (``"审计密钥"`` / ``"audit key"``).
    env : mapping, optional
        Environment to read (default ``os.environ``).
    key_file : path, optional
        Key file location.
    create : bool
        Create the key file when missing; False (e.g. to verify data made with an existing key)
        raises instead.

    Returns
    -------
    bytes
        At least :data:`MIN_KEY_BYTES` bytes.

    Raises
    ------
    error
        The key is too short, missing (``create=False``), or its file cannot be read or created.
    """
    from_env = env_value(env_name, env)
    if from_env:
        key = from_env.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            msg = f"{env_name} 至少需要 {MIN_KEY_BYTES} 字节 ({env_name} must hold at least {MIN_KEY_BYTES} bytes)"
            raise error(msg)
        return key
    path = Path(key_file) if key_file is not None else default_data_dir(env) / file_name
    if not create and not path.is_file():
        msg = f"找不到{what_zh}：请设置环境变量 {env_name} 或提供密钥文件 {path} (no {what_en}: set {env_name})"
        raise error(msg)
    try:
        key, created = read_or_create_key_file(path)
    except OSError as exc:
        msg = f"无法读取或创建{what_zh}文件 {path}：{exc} (cannot read or create the {what_en} file)"
        raise error(msg) from exc
    if created:
        logger.warning("created a new %s file %s; back it up", what_en, path)
    if len(key) < MIN_KEY_BYTES:
        msg = (
            f"{what_zh}文件 {path} 只有 {len(key)} 字节，至少需要 {MIN_KEY_BYTES} 字节 "
            f"({what_en} file {path} holds {len(key)} bytes, need at least {MIN_KEY_BYTES})"
        )
        raise error(msg)
    return key
