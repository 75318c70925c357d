"""Cache helpers of the pages: one shared entry per key, handed to each caller without a copy."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pandas as pd
import streamlit as st

P = ParamSpec("P")
T = TypeVar("T")


def handed_out(value: T) -> T:
    """A shared cache entry as one caller gets it: every DataFrame in it (in dicts and frozen
    dataclasses too) a shallow copy. pandas copies on write, so a caller's change never reaches
    the entry, and nothing is copied or unpickled (``st.cache_data`` unpickled the whole entry
    on every call: the dataset's tables, 2 MB, on every rerun of every page)."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: handed_out(v) for k, v in value.items()}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: handed_out(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changed)  # type: ignore[return-value]
    return value


def shared_result(max_entries: int, show_spinner: bool | str = False) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """``st.cache_resource`` (one entry shared by every session, role and area in the key) with
    each call's result :func:`handed_out`: what ``st.cache_data`` guaranteed, without its copy."""

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        cached = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner)(fn)

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return handed_out(cached(*args, **kwargs))

        call.clear = cached.clear  # type: ignore[attr-defined]
        return call

    return wrap
