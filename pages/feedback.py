"""满意度 Satisfaction feedback: scores per provider, item and town, alerts, trend, staff form, survey import."""

from __future__ import annotations

import datetime as dt
import hashlib

import streamlit as st

from core.errors import XihuError
from core.settings import DEFAULT_FEEDBACK_THRESHOLD, FeedbackSettings
from data.accounts.auth import Role
from data.feedback import CHANNELS, form_response, import_feedback, save_feedback, saved_file
from data.safe_export import frame_to_csv_bytes
from pages._auth import area_of, get_audit, require_user
from pages._common import current_dataset, current_item_names, current_tables, get_bundle, get_store
from pages._i18n import item_name, lang, t
from pages._lists import read_upload
from pages._records import feedback_for
from service import feedback as fb
from service.display import rejected_table

K_FLASH = "fb_flash"
user = require_user()
af = area_of(user)
if user.role is Role.VIEWER:
    st.error(t("fb_no_access"))
    st.stop()
ds, bundle, store = current_dataset(), get_bundle(), get_store()
tables = current_tables()  # the dataset's providers, hubs and catalogue
item_names = current_item_names()
st.title(t("fb_title"))
st.caption(t("fb_note"))
if K_FLASH in st.session_state:  # what the last save said, shown after the rerun that includes it
    st.success(st.session_state.pop(K_FLASH))
names = {**dict(zip(tables["providers"]["provider_id"], tables["providers"]["name"], strict=True)),
         **dict(zip(tables["hubs"]["hub_id"], tables["hubs"]["name"], strict=True)),
         **dict(zip(bundle.towns["town_code"], bundle.towns["name"], strict=True))}  # fmt: skip
audit = get_audit()
frame = feedback_for(ds, af)
tab_sum, tab_form, tab_import = st.tabs([t("fb_tab_summary"), t("fb_tab_form"), t("fb_tab_import")])

with tab_sum:
    if len(frame) == 0:
        st.info(t("fb_none"))
    threshold = st.number_input(t("fb_threshold"), 1.0, 5.0, DEFAULT_FEEDBACK_THRESHOLD, 0.1, key="fb_threshold")
    rule = FeedbackSettings(threshold=float(threshold))
    st.subheader(t("fb_alerts", th=rule.threshold, n=rule.min_responses))
    alerts = fb.alerts(frame, rule)
    if len(alerts):
        st.dataframe(fb.labelled_means(alerts, "provider", names, lang()), hide_index=True)
    else:
        st.success(t("fb_no_alerts"))
    level = st.radio(t("fb_by_level"), list(fb.LEVELS), format_func=lambda v: t(f"fb_level_{v}"), horizontal=True,
                     key="fb_level")  # fmt: skip
    st.dataframe(fb.labelled_means(fb.mean_scores(frame, level), level, names, lang(), item_names), hide_index=True)
    st.subheader(t("fb_trend"))
    rated = sorted(set(frame["provider_id"].dropna()))
    pick = st.selectbox(t("fb_trend_provider"), ["", *rated], key="fb_trend_pick",
                        format_func=lambda p: names.get(p, p) if p else t("fb_trend_all"))  # fmt: skip
    trend = fb.monthly_trend(frame, provider_id=pick or None)
    st.line_chart(trend["mean_score"].rename(t("fb_col_mean")), y_label=t("fb_col_mean"), x_label=t("mo_col_month"))
    st.dataframe(fb.labelled_trend(trend, lang()), hide_index=True)
    st.subheader(t("fb_comments"))
    st.dataframe(fb.comments_table(frame, names, lang(), item_names), hide_index=True, key="fb_comments")
    if st.button(t("fb_export"), key="fb_export"):
        try:
            data = fb.export_feedback_csv(frame, af, who=user.username, audit=audit, lang=lang())
            st.download_button(t("fb_export_download"), data, file_name="feedback.csv", mime="text/csv")
        except XihuError as exc:
            st.error(str(exc))

items = list(tables["catalogue"]["item_id"]) if len(tables["catalogue"]) else []
hubs = fb.scoped_hubs(tables["hubs"], af)
with tab_form, st.form("fb_form", clear_on_submit=True):
    kind = st.radio(t("fb_target_kind"), ["provider", "hub"], format_func=lambda v: t(f"fb_target_{v}"),
                    horizontal=True, key="fb_form_kind")  # fmt: skip
    pid = st.selectbox(t("fb_target_provider"), list(tables["providers"]["provider_id"]), key="fb_form_provider",
                       format_func=lambda p: names.get(p, p))  # fmt: skip
    hid = st.selectbox(
        t("fb_target_hub"), list(hubs["hub_id"]), key="fb_form_hub", format_func=lambda h: names.get(h, h)
    )
    item = st.selectbox(t("fb_col_item"), items, key="fb_form_item", format_func=lambda i: item_name(i, item_names))
    score = st.slider(t("fb_col_score"), 1, 5, 4, key="fb_form_score")
    channel = st.selectbox(t("fb_col_channel"), list(CHANNELS), index=2, key="fb_form_channel",
                           format_func=lambda c: t(f"fb_channel_{c}"))  # fmt: skip
    on = st.date_input(t("fb_col_date"), dt.date.today(), key="fb_form_date")
    comment = st.text_area(t("fb_col_comment"), key="fb_form_comment", max_chars=500)
    if st.form_submit_button(t("fb_save")):
        target = {"provider_id": pid} if kind == "provider" else {"hub_id": hid}
        try:
            row = form_response(target=target, item_id=item, score=score, channel=channel, on=on, comment=comment,
                                providers=tables["providers"], hubs=hubs)  # fmt: skip
            n = save_feedback(store, audit, row, dataset=ds, who=user.username, role=user.role.value, source="form",
                              area=af.as_dict())  # fmt: skip
            st.session_state[K_FLASH] = t("fb_saved", n=n)
            st.rerun()
        except XihuError as exc:
            st.error(str(exc))

with tab_import:
    upload = st.file_uploader(t("upload"), type=["csv", "xlsx"], key="fb_upload", help=t("fb_upload_help"))
    if upload is not None:
        try:
            result = import_feedback(read_upload(upload), providers=tables["providers"], hubs=hubs, item_ids=items)
        except XihuError as exc:
            st.error(str(exc))
            st.stop()
        s = result.summary
        st.info(t("fb_import_result", read=s["read"], acc=s["accepted"], rej=s["rejected"]))
        if len(result.rejected):
            # reasons named, ID-like cells masked; the download keeps the rows as they came, for fixing
            st.dataframe(rejected_table(result.rejected, {}, lang()), hide_index=True, key="fb_rejected")
            st.download_button(t("fb_rejected_download"), frame_to_csv_bytes(result.rejected),
                               file_name="feedback_rejected.csv", mime="text/csv", key="fb_rejected_dl")  # fmt: skip
        sha = hashlib.sha256(upload.getvalue()).hexdigest()
        if saved_file(store, dataset=ds, file_sha256=sha) is not None:
            st.warning(t("fb_file_saved_before"))
        elif len(result.accepted) and st.button(t("fb_save"), key="fb_import_save"):
            try:
                n = save_feedback(store, audit, result.accepted, dataset=ds, who=user.username, role=user.role.value,
                                  source="import", area=af.as_dict(), file_sha256=sha,
                                  file_name=upload.name)  # fmt: skip
            except XihuError as exc:  # saved meanwhile (another click or session): nothing written twice
                st.error(str(exc))
            else:
                st.session_state[K_FLASH] = t("fb_saved", n=n)
                st.rerun()
