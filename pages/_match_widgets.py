"""Widgets of the matching page (匹配): what-if controls, the audited plan export, the search form.

Session-state keys of the page are here; the page reads them through :func:`whatif_state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.i18n import labels as labels_of
from core.settings import Settings
from data.accounts.access import can_export_individuals, ensure_can_export_individuals
from data.accounts.audit import sha256_hex
from data.accounts.auth import User
from data.safe_export import frame_to_xlsx_bytes
from pages._auth import area_of, get_audit
from pages._i18n import item_name, lang, t
from service import matching as svc

K_CHANGES, K_ADDED, K_POINT = "match_changes", "match_added", "match_point"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def whatif_state() -> tuple[tuple[svc.CapacityChange, ...], tuple[svc.AddedOffer, ...]]:
    """The session's what-if: capacity changes and added offers (empty: the data as it is)."""
    return st.session_state.get(K_CHANGES, ()), st.session_state.get(K_ADDED, ())


def clicked_point() -> tuple[float, float] | None:
    return st.session_state.get(K_POINT)


def remember_click(out: dict[str, object] | None, point: tuple[float, float] | None) -> None:
    """Keep a new map click as the search point and rerun."""
    click = (out or {}).get("last_clicked")
    if isinstance(click, dict) and (click["lng"], click["lat"]) != point:
        st.session_state[K_POINT] = (float(click["lng"]), float(click["lat"]))
        st.rerun()


def whatif_controls(
    am: svc.AreaMatching, names: pd.Series, hubs: pd.DataFrame, items: list[str], item_names: Mapping[str, str]
) -> str:
    """Change an offer's capacity or add an offer at a hub (the what-if); returns the chosen hub id."""
    changes, added = whatif_state()
    with st.expander(t("match_whatif"), expanded=bool(changes or added)):
        offers: list[tuple[str, str]] = list(
            zip(am.offers["provider_id"].astype(str), am.offers["item_id"].astype(str), strict=True)
        )

        def offer_text(o: tuple[str, str]) -> str:
            return svc.offer_label(o[0], o[1], names, lang=lang(), items=item_names)

        pick = st.selectbox(t("match_whatif_offer"), offers, key="match_offer", format_func=offer_text)
        cap = st.number_input(t("match_whatif_capacity"), 0, 100_000, 0, step=10, key="match_cap")
        hub_names = dict(zip(hubs["hub_id"].astype(str), hubs["name"].astype(str), strict=True))
        hub_id = st.selectbox(
            t("match_whatif_hub"), list(hub_names), format_func=hub_names.__getitem__, key="match_hub"
        )
        item = st.selectbox(
            t("match_whatif_item"), items, format_func=lambda c: item_name(c, item_names), key="match_item"
        )
        b1, b2, b3 = st.columns(3)
        if b1.button(t("match_whatif_apply"), key="match_apply", disabled=pick is None):
            st.session_state[K_CHANGES] = (*(c for c in changes if c[:2] != pick), (*pick, int(cap)))
            st.rerun()
        if b2.button(t("match_whatif_add"), key="match_add", disabled=not hub_id):
            h = hubs[hubs["hub_id"].astype(str) == hub_id].iloc[0]
            new = (f"{svc.NEW_PROVIDER_ID}-{len(added) + 1}", item, int(cap), float(h["lon"]), float(h["lat"]))
            st.session_state[K_ADDED] = (*added, new)
            st.rerun()
        if b3.button(t("match_whatif_reset"), key="match_reset"):
            st.session_state[K_CHANGES], st.session_state[K_ADDED] = (), ()
            st.rerun()
    return str(hub_id or "")


def plan_export(
    user: User, am: svc.AreaMatching, providers: pd.DataFrame, settings: Settings, item_names: Mapping[str, str]
) -> None:
    """The 一户一策 XLSX in two steps (as on the hub page): the audit entry is written first,
    then a download button exists for that one rerun, its data generated at the click."""
    if not (can_export_individuals(user.role) and st.button(t("match_prepare"), key="match_prepare")):
        return
    ensure_can_export_individuals(user.role)
    plan = svc.household_plan(am, providers, settings, lang=lang(), items=item_names)
    xlsx = frame_to_xlsx_bytes(plan, sheet=t("match_plan_sheet"))
    changes, added = whatif_state()
    get_audit().append(
        user.username, user.role.value, "export_individuals",
        {**area_of(user).as_dict(), "list": "household_plan", "whatif": len(changes) + len(added)},
        len(plan), file_hash=sha256_hex(xlsx),
    )  # fmt: skip
    st.caption(t("export_ready"))
    st.download_button(
        t("match_export"), lambda: xlsx, file_name="household_plan.xlsx", key="match_export", on_click="ignore",
        mime=XLSX_MIME,
    )  # fmt: skip


@dataclass(frozen=True)
class SearchForm:
    """What the search form asks for."""

    item_id: str
    keyword: str
    minutes: float
    origin: str  # "hub" or "click"
    with_capacity: bool
    access_group: str | None  # None: no accessibility layer


def search_form(items: list[str], minutes: float, item_names: Mapping[str, str]) -> SearchForm:
    """The provider search (检索) form."""
    s1, s2, s3 = st.columns(3)
    item = s1.selectbox(
        t("search_item"), ["", *items], key="search_item",
        format_func=lambda c: item_name(c, item_names) if c else t("search_any_item"),
    )  # fmt: skip
    keyword = s2.text_input(t("search_keyword"), key="search_keyword")
    m = s3.slider(t("search_minutes"), 5, 30, int(minutes), key="search_minutes")
    origin = st.radio(
        t("search_from"), ["hub", "click"], format_func=lambda o: t(f"search_from_{o}"), horizontal=True,
        key="search_from",
    )  # fmt: skip
    with_cap = st.checkbox(t("search_with_capacity"), key="search_cap")
    group = None
    if st.checkbox(t("search_access"), key="search_access"):
        types = labels_of("need_type")
        group = st.radio(
            t("search_access_group"), list(types), format_func=types.get, horizontal=True, key="search_group"
        )
    return SearchForm(str(item or ""), keyword or "", float(m), str(origin), bool(with_cap), group)
