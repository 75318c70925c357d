"""The CJK font that PDF reports embed and report maps draw with.

Debian's ``fonts-wqy-zenhei`` package (installed by ``scripts/setup.sh``) provides
``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc``; any TrueType font or collection with
Simplified Chinese glyphs will do. The font is looked up, in order: the ``path`` given,
the ``XIHU_REPORT_FONT`` environment variable, then :data:`CANDIDATES`.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import FontMissingError
from data.config import ENV_REPORT_FONT, env_value

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
CANDIDATES = (
    DEFAULT_FONT,
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
ENV_VAR = ENV_REPORT_FONT


def find_cjk_font(path: str | Path | None = None) -> Path:
    """The CJK font file to use.

    Parameters
    ----------
    path : str or Path, optional
        An explicit font file (``.ttf`` or ``.ttc``); it must exist.

    Returns
    -------
    Path of an existing font file.

    Raises
    ------
    FontMissingError
        When the given file, the environment variable's file or every candidate is missing.
    """
    explicit = path if path is not None else env_value(ENV_VAR)
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            msg = (
                f"找不到报告用中文字体文件 {p}（the CJK font {p} does not exist）；"
                f"请检查 --font 参数或环境变量 {ENV_VAR}"
            )
            raise FontMissingError(msg)
        return p
    for p in CANDIDATES:
        if p.is_file():
            return p
    msg = (
        "找不到中文字体：请安装 Debian 软件包 fonts-wqy-zenhei（sudo apt-get install fonts-wqy-zenhei），"
        f"或用 --font / 环境变量 {ENV_VAR} 指定一个含简体中文字形的 .ttf/.ttc 文件"
        " (no CJK font found: install fonts-wqy-zenhei or pass --font)"
    )
    raise FontMissingError(msg)
