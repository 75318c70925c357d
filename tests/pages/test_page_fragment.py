"""pages._database.page_fragment: a database error in a fragment-only rerun reruns the whole app
(where app.py shows the Chinese message); in a full run it reaches app.py unchanged."""

from __future__ import annotations

import types

import pytest
import sqlalchemy.exc
from streamlit.testing.v1 import AppTest

import pages._database as database
from pages._i18n import t

SCRIPT = """
import sqlalchemy.exc
import streamlit as st
import pages._database
from pages._database import page_fragment

pages._database.database_reachable = lambda: False  # the database is still down at the first check

@page_fragment
def part():
    st.write("in the fragment")
    raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

part()
st.write("after the fragment")
"""


def test_full_run_error_shows_the_message_not_a_traceback() -> None:
    at = AppTest.from_string(SCRIPT).run(timeout=60)
    assert not at.exception  # no traceback
    assert [e.value for e in at.error] == [t("db_down")]
    assert "in the fragment" in [m.value for m in at.markdown]
    assert "after the fragment" in [m.value for m in at.markdown]  # the rest of the page still runs


class _RerunError(Exception):
    pass


def test_fragment_rerun_error_reruns_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    scopes: list[str] = []

    def rerun(*, scope: str = "app") -> None:
        scopes.append(scope)
        raise _RerunError

    calls: list[int] = []

    def body() -> None:
        calls.append(1)
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(database.st, "fragment", lambda fn: fn)  # the guard itself, without a session
    monkeypatch.setattr(database.st, "rerun", rerun)
    guarded = database.page_fragment(body)
    monkeypatch.setattr(database, "get_script_run_ctx", lambda: types.SimpleNamespace(fragment_ids_this_run=["f1"]))
    with pytest.raises(_RerunError):
        guarded()
    assert scopes == ["app"] and calls == [1]
    with pytest.raises(ValueError):  # other errors are not the guard's
        database.page_fragment(lambda: (_ for _ in ()).throw(ValueError("x")))()
