"""Satisfaction feedback for the dashboard: scoped responses, protected means, alerts, trend, export.

Streamlit-free. A mean of fewer than :data:`core.settings.FEEDBACK_MIN_SHOWN` (5) responses is
never given out: :func:`mean_scores` leaves it NaN and :func:`shown_mean` prints "样本不足".
The number of responses is a small count like any other: the tables print it through the one
disclosure rule (:func:`geo.disclosure.count_alone`: 1-9 as ``"<10"``; each row stands alone,
no total of them is printed). Responses are scoped like beneficiary rows
(:func:`data.accounts.access.filter_frame`: own town / own community, none for a viewer),
on the server, before anything is counted. Comments stay text: pages show them in
``st.dataframe`` (no HTML) or through :func:`escape_comment`; the export guards formulas.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from core.i18n import item_label, t
from core.settings import DEFAULT_FEEDBACK_SETTINGS, FEEDBACK_MIN_SHOWN, FeedbackSettings
from data.accounts.access import AreaFilter, audit_details, ensure_can_export_individuals, filter_frame
from data.accounts.audit import AuditLog, sha256_hex
from data.bundle import Bundle
from data.feedback import FEEDBACK_COLUMNS, load_feedback, synthetic_feedback
from data.safe_export import frame_to_csv_bytes
from data.storage import Store
from geo.disclosure import count_alone

#: what :func:`mean_scores` groups by
LEVELS: Final = {"provider": ("provider_id",), "item": ("item_id",), "hub": ("town_code",)}
MEAN_COLUMNS: Final = ("n_responses", "mean_score")
EXPORT_ACTION: Final = "export_feedback_csv"
EXPORT_COLUMNS: Final = ("provider_id", "hub_id", "town_code", "item_id", "score", "channel", "date", "comment")


def feedback_frame(bundle: Bundle, store: Store | None, dataset: str, *, demo: bool) -> pd.DataFrame:
    """Every response of ``dataset``: the stored ones, plus the synthetic ones of the demo bundle."""
    stored = load_feedback(store, dataset=dataset) if store is not None else None
    parts = [p for p in (stored,) if p is not None]
    if demo and len(bundle.offers):
        parts.insert(0, synthetic_feedback(bundle.providers, bundle.offers, bundle.hubs, seed=bundle.seed)[0])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FEEDBACK_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def scoped(
    frame: pd.DataFrame, area_filter: AreaFilter, *, audit: AuditLog | None = None, who: str | None = None
) -> pd.DataFrame:
    """The responses ``area_filter`` may see (own town / community; none for a viewer)."""
    return filter_frame("beneficiaries", frame, area_filter, audit=audit, who=who)


def scoped_hubs(hubs: pd.DataFrame, area_filter: AreaFilter) -> pd.DataFrame:
    """The hubs of ``area_filter``'s area (the ones its staff may record feedback for)."""
    return filter_frame("hubs", hubs, area_filter)


def mean_scores(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Mean score and number of responses per provider, item or hub's town.

    Returns
    -------
    pandas.DataFrame
        The key column(s) of :data:`LEVELS`, ``n_responses`` (int64) and ``mean_score``
        (float64, NaN when ``n_responses`` < 5: such a mean is never shown); sorted by key.
    """
    keys = list(LEVELS[level])
    sub = frame.dropna(subset=keys)
    if len(sub) == 0:
        out = pd.DataFrame({k: pd.Series(dtype=object) for k in keys})
        return out.assign(n_responses=pd.Series(dtype="int64"), mean_score=pd.Series(dtype="float64"))
    g = sub.groupby(keys, sort=True)["score"].agg(["size", "mean"]).reset_index()
    g = g.rename(columns={"size": "n_responses", "mean": "mean_score"}).astype({"n_responses": "int64"})
    g.loc[g["n_responses"] < FEEDBACK_MIN_SHOWN, "mean_score"] = np.nan
    return g


def shown_mean(value: float, n: int, lang: str = "zh") -> str:
    """A mean as printed: ``"3.8"``, or "样本不足" for fewer than 5 responses (never a mean of n<5)."""
    if n < FEEDBACK_MIN_SHOWN or not np.isfinite(value):
        return t("fb_too_few", lang)
    return f"{value:.1f}"


def alerts(frame: pd.DataFrame, settings: FeedbackSettings = DEFAULT_FEEDBACK_SETTINGS) -> pd.DataFrame:
    """Providers whose mean score is below ``settings.threshold`` with at least ``settings.min_responses``.

    Returns
    -------
    pandas.DataFrame
        ``provider_id``, ``n_responses``, ``mean_score``; lowest mean first.
    """
    means = mean_scores(frame, "provider")
    hit = (means["n_responses"] >= settings.min_responses) & (means["mean_score"] < settings.threshold)
    return means.loc[hit].sort_values(["mean_score", "provider_id"], kind="stable", ignore_index=True)


def monthly_trend(frame: pd.DataFrame, *, provider_id: str | None = None) -> pd.DataFrame:
    """Mean score per month (``YYYY-MM`` index), district or one provider; months with < 5 responses are NaN.

    Returns
    -------
    pandas.DataFrame
        Index ``month``; columns ``n_responses`` (int64), ``mean_score`` (float64).
    """
    sub = frame if provider_id is None else frame.loc[frame["provider_id"] == provider_id]
    if len(sub) == 0:
        return pd.DataFrame(
            {"n_responses": pd.Series(dtype="int64"), "mean_score": pd.Series(dtype="float64")},
            index=pd.Index([], name="month"),
        )
    month = sub["date"].astype(str).str.slice(0, 7).rename("month")
    g = sub.groupby(month, sort=True)["score"].agg(["size", "mean"])
    g = g.rename(columns={"size": "n_responses", "mean": "mean_score"}).astype({"n_responses": "int64"})
    g.loc[g["n_responses"] < FEEDBACK_MIN_SHOWN, "mean_score"] = np.nan
    return g


def shown_counts(n_responses: pd.Series) -> list[str]:
    """Numbers of responses as printed: 1-9 as ``"<10"`` (:func:`geo.disclosure.count_alone`)."""
    return [count_alone(int(n)) for n in n_responses]


def labelled_means(
    means: pd.DataFrame, level: str, names: dict[str, str], lang: str = "zh", items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """:func:`mean_scores` as the page shows it: names, counts (1-9 as ``"<10"``) and the mean or
    "样本不足", Chinese headers."""
    key = LEVELS[level][0]
    if level == "item":
        shown_key = [item_label(v, lang, items) for v in means[key]]
    else:
        shown_key = [names.get(str(v), str(v)) for v in means[key]]
    return pd.DataFrame(
        {
            t(f"fb_col_{level}", lang): shown_key,
            t("fb_col_n", lang): shown_counts(means["n_responses"]),
            t("fb_col_mean", lang): [
                shown_mean(m, int(n), lang) for m, n in zip(means["mean_score"], means["n_responses"], strict=True)
            ],
        }
    )


def labelled_trend(trend: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """:func:`monthly_trend` as the page's table shows it: month, count (1-9 as ``"<10"``), mean or "样本不足"."""
    return pd.DataFrame(
        {
            t("mo_col_month", lang): trend.index.astype(str),
            t("fb_col_n", lang): shown_counts(trend["n_responses"]),
            t("fb_col_mean", lang): [
                shown_mean(m, int(n), lang) for m, n in zip(trend["mean_score"], trend["n_responses"], strict=True)
            ],
        }
    )


def escape_comment(text: object) -> str:
    """A comment made safe for HTML or markdown (``<script>`` becomes ``&lt;script&gt;``)."""
    if not isinstance(text, str):
        return ""
    escaped = html.escape(text, quote=True)
    # markdown: backslash-escape what st.markdown would format or link
    for ch in "\\`*_[]()#!|~$":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


def comments_table(
    frame: pd.DataFrame, names: dict[str, str], lang: str = "zh", items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The responses with a comment, newest first, Chinese headers (for ``st.dataframe``: text, never HTML)."""
    sub = frame.loc[frame["comment"].notna()].sort_values("date", ascending=False, kind="stable")
    return pd.DataFrame(
        {
            t("fb_col_provider", lang): [
                names.get(str(p), str(p)) if isinstance(p, str) else names.get(str(h), t("not_recorded", lang))
                for p, h in zip(sub["provider_id"], sub["hub_id"], strict=True)
            ],
            t("fb_col_item", lang): [item_label(v, lang, items) for v in sub["item_id"]],
            t("fb_col_score", lang): sub["score"].astype("int64").to_numpy(),
            t("fb_col_channel", lang): [t(f"fb_channel_{c}", lang) for c in sub["channel"]],
            t("fb_col_date", lang): sub["date"].astype(str).to_numpy(),
            t("fb_col_comment", lang): sub["comment"].astype(str).to_numpy(),
        }
    )


def export_feedback_csv(
    frame: pd.DataFrame, area_filter: AreaFilter, *, who: str, audit: AuditLog, lang: str = "zh"
) -> bytes:
    """CSV of the (already scoped) responses, Chinese headers, every text cell formula-guarded; audited.

    Raises
    ------
    ExportNotAllowedError
        The role may not export rows (comments come from individuals).
    """
    ensure_can_export_individuals(area_filter.role)
    out = frame.reindex(columns=list(EXPORT_COLUMNS)).copy()
    out["channel"] = [t(f"fb_channel_{c}", lang) for c in out["channel"]]
    out = out.rename(columns={c: t(f"fb_export_{c}", lang) for c in EXPORT_COLUMNS})
    data = frame_to_csv_bytes(out)
    details = audit_details(area_filter, page="feedback", kind="feedback")
    audit.append(who, area_filter.role.value, EXPORT_ACTION, details, len(frame), sha256_hex(data))
    return data
