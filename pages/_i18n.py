"""The session's language; the strings themselves live in :mod:`core.i18n` (the one catalogue)."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core import i18n
from core.i18n import LANGS

K_LANG = "lang"
__all__ = ["K_LANG", "LANGS", "error_text", "item_name", "label", "lang", "t"]


def lang() -> str:
    """The session's language code (``zh`` by default)."""
    value = st.session_state.get(K_LANG, i18n.DEFAULT_LANG)
    return value if value in LANGS else i18n.DEFAULT_LANG


def t(key: str, **fmt: object) -> str:
    """The UI string ``key`` in the session's language, formatted with ``fmt``."""
    return i18n.t(key, lang(), **fmt)


def error_text(exc: BaseException, town_names: Mapping[str, str] | None = None) -> str:
    """An expected error as the person reads it, in the session's language (:func:`core.i18n.error_text`)."""
    return i18n.error_text(exc, lang(), town_names=town_names)


def item_name(code: object, items: Mapping[str, str] | None) -> str:
    """An item's name in the session's language (:func:`core.i18n.item_label`; ``items`` from
    :func:`pages._common.current_item_names`)."""
    return i18n.item_label(code, lang(), items)


def label(kind: str, code: object) -> str:
    """What the user reads for a vocabulary code (category, need type, tier, service ...)."""
    return i18n.label(kind, code, lang())
