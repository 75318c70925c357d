"""服务能力 Provider capacity: utilisation, unmet demand in reach, activity, trend and the sustainability indicator."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.accounts.access import can_see_individuals
from pages._auth import area_of, require_user
from pages._common import (
    current_dataset,
    current_item_names,
    current_settings,
    dataset_notice,
    dataset_version,
    get_bundle,
)
from pages._i18n import item_name, lang, t
from pages._records import capacity_for, service_records
from service.capacity import FORMULA_EN, FORMULA_ZH, scope_table

K_TREND = "cap_trend_pick"

user = require_user()
st.title(t("cap_title"))
if not can_see_individuals(user.role):  # viewers are not routed here; aggregates live in the reports
    st.info(t("no_individuals"))
    st.stop()
af = area_of(user)
ds = current_dataset()
version = dataset_version(ds)
view = capacity_for(ds, version, current_settings())
recs = service_records(ds, version)
dataset_notice(("offers", "needs", "records"))
if recs is None or recs.synthetic:
    st.caption(t("cap_synthetic") if recs is not None else t("cap_no_records"))
with st.expander(t("cap_formula"), expanded=True):
    st.markdown(FORMULA_EN if lang() == "en" else FORMULA_ZH)

town_names = dict(zip(get_bundle().towns["town_code"].astype(str), get_bundle().towns["name"].astype(str), strict=True))
providers = scope_table(view.providers, af)
towns = view.towns[view.towns["town_code"].astype(str).isin(set(providers["town_code"].astype(str)))]


def _town(code: object) -> str:
    return town_names.get(str(code), str(code)) if isinstance(code, str) else t("not_recorded")


def _shown(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = frame[cols].copy()
    if "town_code" in out:
        out["town_code"] = out["town_code"].map(_town)
    for c in ("activity_known", "sole_provider"):
        if c in out:
            out[c] = out[c].map(lambda b: t("yes") if b else t("no"))
    for c in ("utilisation", "share_of_demand", "slope_rel"):
        if c in out:
            out[c] = [f"{100 * v:.1f}%" if pd.notna(v) else t("unknown") for v in out[c]]
    for c in ("H", "A", "T", "D", "sustainability"):
        if c in out:
            fmt = "{:.1f}" if c == "sustainability" else "{:.2f}"
            out[c] = [fmt.format(v) if pd.notna(v) else t("unknown") for v in out[c]]
    renamed = {"town_code": "town", "item_id": "item"}
    names = {c: t(f"cap_col_{renamed.get(c, c)}") for c in out.columns}
    return out.rename(columns=names)


st.subheader(t("cap_town"))
util = pd.DataFrame({t("cap_col_town"): towns["town_code"].map(_town), t("cap_util_pct"): 100 * towns["utilisation"]})
st.bar_chart(util, x=t("cap_col_town"), y=t("cap_util_pct"), horizontal=True)
town_cols = ["town_code", "n_providers", "capacity_per_month", "assigned", "utilisation", "unmet_in_reach",
             "sole_items", "sustainability"]  # fmt: skip
st.dataframe(_shown(towns, town_cols), hide_index=True, width="stretch")

st.subheader(t("cap_provider"))
st.caption(t("cap_util_chart"))
top = providers.sort_values("utilisation", ascending=False).head(20)
st.bar_chart(
    pd.DataFrame({t("cap_col_name"): top["name"], t("cap_util_pct"): 100 * top["utilisation"].fillna(0)}),
    x=t("cap_col_name"), y=t("cap_util_pct"), horizontal=True, sort=False,
)  # fmt: skip
prov_cols = ["name", "department", "town_code", "capacity_per_month", "assigned", "utilisation", "unmet_in_reach",
             "n_items", "sole_items", "activity_known", "months_active", "slope_rel", "H", "A", "T", "D",
             "sustainability"]  # fmt: skip
st.dataframe(_shown(providers, prov_cols), hide_index=True, width="stretch")

st.subheader(t("cap_trend_chart"))
active = providers[providers["months_active"] > 0]
names = dict(zip(active["provider_id"], active["name"], strict=True))
picked = st.multiselect(
    t("cap_trend_pick"), list(names), default=list(names)[:5], format_func=names.__getitem__, key=K_TREND,
    placeholder=t("choose"),
)  # fmt: skip
if picked:
    trend = view.activity.loc[picked].T.rename(columns=names)
    trend.index.name = t("cap_col_month")
    st.line_chart(trend, y_label=t("cap_col_records"))

st.subheader(t("cap_items"))
items = view.items[view.items["provider_id"].isin(set(providers["provider_id"]))]
items = items.merge(providers[["provider_id", "name"]], on="provider_id")
item_names = current_item_names()  # the dataset's catalogue's wording
items = items.assign(item_id=items["item_id"].map(lambda c: item_name(c, item_names)))
item_cols = ["name", "item_id", "capacity_per_month", "assigned", "district_demand", "share_of_demand", "sole_provider"]
st.dataframe(_shown(items, item_cols), hide_index=True, width="stretch")

st.subheader(t("cap_sole"))
sole = view.sole.merge(view.providers[["provider_id", "name", "town_code"]], on="provider_id")
sole = sole.assign(item_id=sole["item_id"].map(lambda c: item_name(c, item_names)))
st.dataframe(_shown(sole, ["item_id", "name", "town_code", "capacity_per_month"]), hide_index=True, width="stretch")
