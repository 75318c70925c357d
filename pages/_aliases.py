"""The Data page's "map need wording once" section: unmapped 需求 wording -> catalogue item, remembered as aliases."""

from __future__ import annotations

import streamlit as st

from core.errors import DataError
from core.i18n import labels
from data.accounts.auth import User
from data.needs import normalize_wording
from pages._auth import get_audit
from pages._common import get_bundle, get_store
from pages._i18n import t

K_ALIAS_PREFIX = "need_alias_"
#: at most this many wordings per import are offered (most frequent first)
MAX_WORDINGS = 40


def need_alias_section(unmapped: dict[str, int], user: User) -> None:
    """Offer each unmapped wording a catalogue item; save the chosen ones as aliases (audited)."""
    if not unmapped:
        return
    st.subheader(t("alias_title"))
    st.caption(t("alias_help"))
    items = [str(i) for i in get_bundle().catalogue["item_id"]]
    names = labels("service")
    known = get_store().need_aliases()  # keyed by the normalised wording
    norm = {w: normalize_wording(w) for w in unmapped}
    chosen: dict[str, str] = {}
    for wording, n in sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_WORDINGS]:
        pick = st.selectbox(
            t("alias_wording", w=wording, n=n),
            [None, *items],
            index=items.index(known[norm[wording]]) + 1 if known.get(norm[wording]) in items else 0,
            format_func=lambda c: t("alias_none") if c is None else f"{names.get(c, c)}（{c}）",
            key=f"{K_ALIAS_PREFIX}{wording}",
        )
        if pick is not None:
            chosen[wording] = pick
    if st.button(t("alias_save"), key="alias_save", disabled=not chosen):
        store = get_store()
        for wording, item in chosen.items():
            try:
                store.save_need_alias(wording, item, author=user.username)
                get_audit().append(
                    user.username, user.role.value, "save_need_alias", {"wording": wording, "item_id": item}, 1
                )
            except DataError as exc:
                store.delete_need_alias(wording)
                st.error(str(exc))
                return
        st.success(t("alias_saved", n=len(chosen)))
