"""Satisfaction feedback (满意度): validation of staff forms and SMS / pop-up survey files, storage, synthetic demo.

A response names a provider (``provider_id``) or a hub (``hub_id``), a catalogue item, a
score 1-5, a channel (短信 / 弹窗 / 工作人员), a date and an optional comment. Comments are
text from the public: they are stored as typed and are only ever shown as text
(``st.dataframe``, or :func:`html.escape` before any HTML) and exported through
:mod:`data.safe_export` (formula guard). Nothing here evaluates them.

The town of a response (for area scoping) is the hub's town, else the town of the
provider's nearest town station (:func:`provider_towns`).

Every import follows :mod:`data.importer`: each row is accepted or rejected with a
Chinese reason, ``accepted + rejected == read``; rejected rows keep their original cells.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa

from core.errors import FeedbackError
from data.accounts.audit import AuditLog
from data.service_records import parse_dates
from data.storage import FEEDBACK, FEEDBACK_FILES, Store, utc_time

logger = logging.getLogger(__name__)

#: canonical columns of a response
FEEDBACK_COLUMNS: Final = (
    "provider_id", "hub_id", "town_code", "community_code", "item_id", "score", "channel", "date", "comment",
    "synthetic",
)  # fmt: skip
#: channel codes and the words accepted for them
CHANNELS: Final[dict[str, tuple[str, ...]]] = {
    "sms": ("短信", "sms", "短信回访"),
    "popup": ("弹窗", "popup", "pop-up", "弹窗问卷"),
    "staff": ("工作人员", "staff", "上门", "电话", "工作人员回访"),
}
_CHANNEL_OF: Final = {w.lower(): code for code, words in CHANNELS.items() for w in words}
#: header (Chinese or English) -> canonical column
INPUT_ALIASES: Final[dict[str, str]] = {
    "provider_id": "provider_id", "机构编号": "provider_id", "服务机构编号": "provider_id", "机构": "provider_id",
    "hub_id": "hub_id", "站点编号": "hub_id", "服务站编号": "hub_id", "站点": "hub_id",
    "item_id": "item_id", "服务项目": "item_id", "项目编号": "item_id", "项目": "item_id",
    "score": "score", "评分": "score", "满意度": "score", "分数": "score",
    "channel": "channel", "渠道": "channel", "来源": "channel",
    "date": "date", "日期": "date", "评价日期": "date",
    "comment": "comment", "意见": "comment", "评价": "comment", "留言": "comment", "备注": "comment",
}  # fmt: skip
REASONS: Final[dict[str, str]] = {
    "no_target": "未填写服务机构编号或站点编号",
    "unknown_provider": "服务机构编号不存在",
    "unknown_hub": "站点编号不存在",
    "unknown_item": "服务项目不在服务清单中",
    "bad_score": "评分须为 1–5 的整数",
    "bad_channel": "渠道须为 短信、弹窗 或 工作人员",
    "bad_date": "日期无法识别（如 2026-03-15）",
    "comment_too_long": "意见过长（上限 500 字）",
}
ANNOTATION_COLUMNS: Final = ("source_row", "reason_code", "reason")
MAX_COMMENT_CHARS: Final = 500
AUDIT_ACTION: Final = "feedback_recorded"


@dataclass(frozen=True)
class FeedbackImport:
    """Outcome of :func:`import_feedback`.

    Attributes
    ----------
    accepted : pandas.DataFrame
        :data:`FEEDBACK_COLUMNS`; ``score`` int64, ``date`` ISO text, ``synthetic`` False.
    rejected : pandas.DataFrame
        The original cells, then :data:`ANNOTATION_COLUMNS` (``reason`` in Chinese).
    summary : dict
        ``read``, ``accepted``, ``rejected``, ``reasons`` {code: count}, ``unmapped`` [headers].
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    summary: dict[str, Any]


def channel_code(text: object) -> str | None:
    """``"sms"``, ``"popup"`` or ``"staff"`` for a channel as typed (Chinese or English); None if unknown."""
    if not isinstance(text, str):
        return None
    return _CHANNEL_OF.get(unicodedata.normalize("NFKC", text).strip().lower())


def provider_towns(providers: pd.DataFrame, hubs: pd.DataFrame) -> dict[str, str]:
    """``provider_id`` -> ``town_code`` of the nearest town station (straight line in degrees, scaled at 30°N)."""
    towns = hubs.loc[(hubs["tier"] == "town") & hubs["lon"].notna() & hubs["lat"].notna()]
    ok = providers.loc[providers["lon"].notna() & providers["lat"].notna()]
    if len(towns) == 0 or len(ok) == 0:
        return {}
    kx = float(np.cos(np.radians(30.0)))
    dx = (ok["lon"].to_numpy(float)[:, None] - towns["lon"].to_numpy(float)[None, :]) * kx
    dy = ok["lat"].to_numpy(float)[:, None] - towns["lat"].to_numpy(float)[None, :]
    nearest = np.argmin(dx * dx + dy * dy, axis=1)
    codes = towns["town_code"].astype(str).to_numpy()[nearest]
    return dict(zip(ok["provider_id"].astype(str), codes, strict=True))


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def import_feedback(
    raw: pd.DataFrame,
    *,
    providers: pd.DataFrame,
    hubs: pd.DataFrame,
    item_ids: Iterable[str],
) -> FeedbackImport:
    """Validate survey results row by row (Chinese or English headers).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (cells as text, :func:`data.tables.read_table`).
    providers, hubs : pandas.DataFrame
        Known providers (``provider_id, lon, lat``) and hubs (``hub_id, tier, town_code, lon, lat``).
    item_ids : iterable of str
        Items of the catalogue in use.

    Returns
    -------
    FeedbackImport
    """
    mapping = {c: INPUT_ALIASES[_text(c).lower()] for c in raw.columns if _text(c).lower() in INPUT_ALIASES}
    unmapped = [str(c) for c in raw.columns if c not in mapping]
    frame = raw.rename(columns=mapping)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    for col in ("provider_id", "hub_id", "item_id", "score", "channel", "date", "comment"):
        if col not in frame.columns:
            frame[col] = ""
    cells = {c: frame[c].map(_text) for c in ("provider_id", "hub_id", "item_id", "score", "channel", "date")}
    comment = frame["comment"].map(lambda v: "" if _text(v) == "" else str(v).strip())
    known_p = set(providers["provider_id"].astype(str))
    known_h = set(hubs["hub_id"].astype(str))
    items = set(map(str, item_ids))
    scores = pd.to_numeric(cells["score"], errors="coerce")
    dates = parse_dates(cells["date"])
    channels = cells["channel"].map(channel_code)

    problems: list[list[str]] = [[] for _ in range(len(frame))]
    checks = [
        ("no_target", (cells["provider_id"] == "") & (cells["hub_id"] == "")),
        ("unknown_provider", (cells["provider_id"] != "") & ~cells["provider_id"].isin(known_p)),
        ("unknown_hub", (cells["hub_id"] != "") & ~cells["hub_id"].isin(known_h)),
        ("unknown_item", ~cells["item_id"].isin(items)),
        ("bad_score", ~(scores.isin([1, 2, 3, 4, 5]))),
        ("bad_channel", channels.isna()),
        ("bad_date", dates.isna()),
        ("comment_too_long", comment.str.len() > MAX_COMMENT_CHARS),
    ]
    for code, mask in checks:
        for i in np.flatnonzero(mask.to_numpy(dtype=bool)):
            problems[i].append(code)
    bad = np.array([bool(p) for p in problems], dtype=bool)

    hub_town = dict(zip(hubs["hub_id"].astype(str), hubs["town_code"], strict=True))
    p_town = provider_towns(providers, hubs)
    ok = ~bad
    acc = pd.DataFrame(
        {
            "provider_id": cells["provider_id"].where(cells["provider_id"] != "", None)[ok],
            "hub_id": cells["hub_id"].where(cells["hub_id"] != "", None)[ok],
            "item_id": cells["item_id"][ok],
            "score": scores[ok],
            "channel": channels[ok],
            "date": dates[ok].dt.strftime("%Y-%m-%d"),
            "comment": comment[ok].where(comment[ok] != "", None),
        }
    )
    acc["town_code"] = [
        hub_town.get(h) if isinstance(h, str) else p_town.get(str(p))
        for h, p in zip(acc["hub_id"], acc["provider_id"], strict=True)
    ]
    acc["community_code"] = [_community_of_hub(h) for h in acc["hub_id"]]
    acc["synthetic"] = False
    accepted = canonical_feedback(acc)

    rejected = raw.loc[bad].copy()
    rejected["source_row"] = np.flatnonzero(bad) + 2
    rejected["reason_code"] = [problems[i][0] for i in np.flatnonzero(bad)]
    rejected["reason"] = ["；".join(REASONS[c] for c in problems[i]) for i in np.flatnonzero(bad)]
    reasons: dict[str, int] = {}
    for c in rejected["reason_code"]:
        reasons[c] = reasons.get(c, 0) + 1
    summary = {
        "kind": "feedback",
        "read": len(raw),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "reasons": reasons,
        "unmapped": unmapped,
    }
    return FeedbackImport(accepted.reset_index(drop=True), rejected.reset_index(drop=True), summary)


def _community_of_hub(hub_id: object) -> str | None:
    """A village point ``V<community_code>`` names its community; other hubs none."""
    if isinstance(hub_id, str) and hub_id.startswith("V") and hub_id[1:].isdigit():
        return hub_id[1:]
    return None


def canonical_feedback(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly :data:`FEEDBACK_COLUMNS` and their dtypes (text ``object``, ``score`` int64)."""
    out = frame.reindex(columns=list(FEEDBACK_COLUMNS)).copy()
    for c in FEEDBACK_COLUMNS:
        if c not in ("score", "synthetic"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    out["score"] = out["score"].astype("int64")
    out["synthetic"] = out["synthetic"].astype(bool)
    return out


def form_response(
    *,
    target: Mapping[str, str | None],
    item_id: str,
    score: int,
    channel: str,
    on: date,
    comment: str,
    providers: pd.DataFrame,
    hubs: pd.DataFrame,
) -> pd.DataFrame:
    """One response typed by staff in the form, as a one-row canonical frame.

    Parameters
    ----------
    target : Mapping
        ``{"provider_id": ...}`` or ``{"hub_id": ...}``.

    Raises
    ------
    FeedbackError
        A score outside 1-5, an unknown channel, provider or hub, or a too long comment.
    """
    raw = pd.DataFrame(
        [
            {
                "provider_id": target.get("provider_id") or "",
                "hub_id": target.get("hub_id") or "",
                "item_id": item_id,
                "score": str(score),
                "channel": channel,
                "date": on.isoformat(),
                "comment": comment or "",
            }
        ]
    )
    result = import_feedback(raw, providers=providers, hubs=hubs, item_ids=[item_id])
    if len(result.rejected):
        raise FeedbackError(str(result.rejected["reason"].iloc[0]))
    return result.accepted


def saved_file(store: Store, *, dataset: str, file_sha256: str) -> dict[str, Any] | None:
    """When a survey file with this SHA-256 was saved into ``dataset``: ``file_name``, ``n_rows``,
    ``created_at`` (UTC), ``author``; None if never."""
    t = FEEDBACK_FILES
    query = sa.select(t.c.file_name, t.c.n_rows, t.c.created_at, t.c.author).where(
        (t.c.dataset == dataset) & (t.c.file_sha256 == file_sha256)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return {"file_name": row.file_name, "n_rows": int(row.n_rows), "created_at": utc_time(row.created_at),
            "author": row.author}  # fmt: skip


def _already_saved_error(info: Mapping[str, Any]) -> FeedbackError:
    when = info["created_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    msg = (
        f"该文件已于 {when}（UTC）由 {info['author']} 保存过（{info['n_rows']} 条反馈），不再重复保存；"
        "如有新的反馈，请导入新的文件"
    )
    return FeedbackError(msg)


def save_feedback(
    store: Store,
    audit: AuditLog,
    frame: pd.DataFrame,
    *,
    dataset: str,
    who: str,
    role: str,
    source: str,
    area: Mapping[str, Any] | None = None,
    file_sha256: str | None = None,
    file_name: str | None = None,
) -> int:
    """Append responses to the ``feedback`` table and the audit log, in one transaction.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical rows (:func:`import_feedback` accepted, :func:`form_response`).
    source : str
        ``"form"`` or ``"import"`` (for the audit entry).
    file_sha256, file_name : str, optional
        The survey file's SHA-256 and name (imports): recorded in ``feedback_files`` in the same
        transaction; a file already saved into ``dataset`` is refused (a rerun, a second click, a
        second session), so the same responses are never stored twice.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    FeedbackError
        The file was saved before (Chinese message with when and by whom); nothing was written.
    """
    rows = canonical_feedback(frame)
    now = datetime.now(UTC)
    records: list[dict[str, Any]] = []
    for r in rows.astype(object).to_dict("records"):
        rec: dict[str, Any] = {str(k): v for k, v in r.items()}
        rec.update(
            score=int(rec["score"]), synthetic=bool(rec["synthetic"]), dataset=dataset, created_at=now, author=who
        )
        records.append(rec)
    details: dict[str, Any] = {"dataset": dataset, "source": source, "area": dict(area or {})}
    if file_sha256 is not None:
        known = saved_file(store, dataset=dataset, file_sha256=file_sha256)
        if known is not None:
            raise _already_saved_error(known)
        details["file"] = file_name or ""
    try:
        with store.engine.begin() as conn:
            if file_sha256 is not None:
                # first, so that a concurrent save of the same file waits here and then fails
                conn.execute(
                    FEEDBACK_FILES.insert(),
                    {"dataset": dataset, "file_sha256": file_sha256, "file_name": file_name or "",
                     "n_rows": len(records), "created_at": now, "author": who},
                )  # fmt: skip
            if records:
                conn.execute(FEEDBACK.insert(), records)
            audit.append_in(conn, who, role, AUDIT_ACTION, details, len(records), file_hash=file_sha256)
    except sa.exc.IntegrityError as exc:
        known = saved_file(store, dataset=dataset, file_sha256=file_sha256) if file_sha256 is not None else None
        if known is None:
            raise
        raise _already_saved_error(known) from exc
    logger.info("feedback: %d responses stored by %s (%s)", len(records), who, source)
    return len(records)


def feedback_version(store: Store, *, dataset: str) -> tuple[int, int]:
    """``(number of responses, largest feedback_id)`` of ``dataset``: changes with every save
    (the table is append-only), a cache key part for :func:`load_feedback`."""
    t = FEEDBACK
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(t.c.feedback_id), 0)).where(t.c.dataset == dataset)
    with store.engine.connect() as conn:
        n, last = conn.execute(query).one()
    return int(n), int(last)


def load_feedback(store: Store, *, dataset: str) -> pd.DataFrame:
    """Every stored response of ``dataset``: :data:`FEEDBACK_COLUMNS`, in the order they were stored."""
    t = FEEDBACK
    query = sa.select(*(t.c[c] for c in FEEDBACK_COLUMNS)).where(t.c.dataset == dataset).order_by(t.c.feedback_id)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return canonical_feedback(pd.DataFrame.from_records(rows, columns=list(FEEDBACK_COLUMNS)))


def synthetic_feedback(
    providers: pd.DataFrame,
    offers: pd.DataFrame,
    hubs: pd.DataFrame,
    *,
    seed: int = 13,
    year: int = 2026,
    months: int = 6,
    low_providers: int = 2,
) -> tuple[pd.DataFrame, list[str]]:
    """Synthetic responses for the demo providers (labelled ``synthetic``), some planted below 3.0.

    Parameters
    ----------
    providers, offers, hubs : pandas.DataFrame
        The demo bundle's tables; a provider is rated on the items it offers.
    seed : int
        Same seed, same responses.
    low_providers : int
        Providers (with enough responses) whose scores are drawn low (mean about 2.3).

    Returns
    -------
    (pandas.DataFrame, list of str)
        Canonical responses and the planted low providers' ids.
    """
    rng = np.random.default_rng(seed)
    items_of = offers.groupby("provider_id")["item_id"].agg(list).to_dict()
    ids = [p for p in providers["provider_id"].astype(str) if p in items_of]
    low = [str(p) for p in rng.choice(ids, size=min(low_providers, len(ids)), replace=False)]
    p_town = provider_towns(providers, hubs)
    rows = []
    channels = np.array(["sms", "popup", "staff"])
    for pid in ids:
        n = int(rng.integers(12, 30)) if pid in low else int(rng.integers(0, 16))
        p_scores = [0.04, 0.06, 0.15, 0.40, 0.35] if pid not in low else [0.25, 0.35, 0.25, 0.10, 0.05]
        scores = rng.choice(np.arange(1, 6), size=n, p=p_scores)
        for s in scores:
            month = int(rng.integers(1, months + 1))
            rows.append(
                {
                    "provider_id": pid,
                    "hub_id": None,
                    "town_code": p_town.get(pid),
                    "community_code": None,
                    "item_id": str(rng.choice(items_of[pid])),
                    "score": int(s),
                    "channel": str(rng.choice(channels)),
                    "date": f"{year}-{month:02d}-{int(rng.integers(1, 29)):02d}",
                    "comment": None,
                    "synthetic": True,
                }
            )
    frame = canonical_feedback(pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS)))
    return frame, sorted(low)
