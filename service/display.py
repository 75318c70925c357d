"""Frames as a person reads them: headers and codes in the user's language, no ``None``/``nan``.

Streamlit-free; the pages call these just before ``st.dataframe``. Codes become words
through :func:`core.i18n.label`; a missing value prints as an empty cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from core.i18n import LABELS, item_label, label, t
from core.i18n import is_missing as _is_missing
from core.vocab import LIST_SEP
from data.idcard import mask_id_number, mask_name

#: vocabulary of the coded columns of imported tables
CODED_COLUMNS: dict[str, str] = {
    "category": "category",
    "need_type": "need_type",
    "tier": "tier",
    "kind": "provider_kind",
    "location_source": "location_source",
    "delivery": "delivery",
}
#: columns holding lists of service-item codes
SERVICE_LIST_COLUMNS = ("services", "needs", "item_id")
#: yes/no columns
FLAG_COLUMNS = ("synthetic", "coord_approx")
#: a cell that looks like a Chinese resident ID number (18 or 15 characters)
_ID_LIKE = re.compile(r"^\s*(\d{17}[\dXx]|\d{15})\s*$")


def is_missing(value: object) -> bool:
    """:func:`core.i18n.is_missing`, and ``pd.NA`` (whose comparison there raises and reads as present)."""
    return _is_missing(value) or value is pd.NA or value is pd.NaT


def _text(value: object) -> str:
    return "" if is_missing(value) else str(value)


def _yes_no(value: object, lang: str) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    return t("yes", lang) if bool(value) else t("no", lang)


def _service_list(value: object, lang: str, items: Mapping[str, str] | None = None) -> str:
    if is_missing(value):
        return ""
    codes = [c.strip() for c in str(value).split(LIST_SEP) if c.strip()]
    return t("map_list_sep", lang).join(item_label(c, lang, items) for c in codes)


def _coded(kind: str, value: object, lang: str) -> str:
    return "" if is_missing(value) else label(kind, value, lang)


def column_header(column: str, lang: str) -> str:
    """The header a person reads for a canonical column (the column itself when unknown)."""
    pair = LABELS["column"].get(column)
    return pair[1 if lang == "en" else 0] if pair else column


def reason_table(counts: Mapping[str, int], lang: str, *, kind: str = "import_reason") -> pd.DataFrame:
    """Reason (or warning) codes with their counts as a two-column table, most frequent first.

    Columns: ``t("col_import_reason")`` (the reason's name) and ``t("col_rows")`` (int).
    """
    items = sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    return pd.DataFrame(
        {
            t("col_import_reason", lang): [label(kind, code, lang) for code, _ in items],
            t("col_rows", lang): pd.Series([int(n) for _, n in items], dtype="int64"),
        }
    )


def preview_table(accepted: pd.DataFrame, lang: str, items: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Accepted rows of an import, every cell as text: coded values as words, lists of items
    as item names (``items``: the dataset's, :func:`core.i18n.item_names`), flags as yes/no,
    missing as empty; headers translated. ``id_hash`` is left out."""
    out: dict[str, list[str]] = {}
    for col in accepted.columns:
        if col == "id_hash":
            continue
        values = accepted[col].tolist()
        if col in CODED_COLUMNS:
            cells = [_coded(CODED_COLUMNS[col], v, lang) for v in values]
        elif col in SERVICE_LIST_COLUMNS:
            cells = [_service_list(v, lang, items) for v in values]
        elif col in FLAG_COLUMNS:
            cells = [_yes_no(v, lang) for v in values]
        elif col in ("lon", "lat"):
            cells = ["" if is_missing(v) else f"{float(v):.6f}" for v in values]
        else:
            cells = [_text(v) for v in values]
        out[column_header(col, lang)] = cells
    return pd.DataFrame(out, index=accepted.index)


def warnings_table(warnings: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Warnings of accepted rows (``source_row``, ``record_id``, ``code``, ``message``) for the screen."""
    return pd.DataFrame(
        {
            t("col_source_row", lang): [_text(v) for v in warnings.get("source_row", [])],
            t("col_id", lang): [_text(v) for v in warnings.get("record_id", [])],
            t("col_warning", lang): [_coded("import_warning", v, lang) for v in warnings.get("code", [])],
            t("col_detail", lang): [_text(v) for v in warnings.get("message", [])],
        }
    )


def rejected_table(rejected: pd.DataFrame, mapping: Mapping[str, Any], lang: str) -> pd.DataFrame:
    """Rejected rows for the screen: ID numbers and personal names masked, reasons named.

    ``mapping`` is the import's {header: canonical column}; headers mapped to ``id_card``
    or ``person_name`` are masked, and so is any other cell that looks like an ID number.
    The annotation columns (``source_row``, ``reason_code``, ``reason``) come first, with
    translated headers; the user's own headers are kept.
    """
    id_cols = {h for h, c in mapping.items() if c == "id_card"}
    name_cols = {h for h, c in mapping.items() if c == "person_name"}
    out: dict[str, list[str]] = {
        t("col_source_row", lang): [_text(v) for v in rejected.get("source_row", [])],
        t("col_import_reason", lang): [_coded("import_reason", v, lang) for v in rejected.get("reason_code", [])],
        t("col_detail", lang): [_text(v) for v in rejected.get("reason", [])],
    }
    for col in rejected.columns:
        if col in ("source_row", "reason_code", "reason"):
            continue
        values = rejected[col].tolist()
        if col in id_cols:
            cells = ["" if is_missing(v) else mask_id_number(v) for v in values]
        elif col in name_cols:
            cells = [mask_name(v) for v in values]
        else:
            cells = ["" if is_missing(v) else mask_id_number(v) if _ID_LIKE.match(str(v)) else str(v) for v in values]
        header = str(col)
        while header in out:
            header += " "
        out[header] = cells
    return pd.DataFrame(out)


def comparison_table(compared: pd.DataFrame, town_names: Mapping[str, str], lang: str) -> pd.DataFrame:
    """The planner's scenario comparison (:func:`geo.scenario.compare_scenarios`) for the screen.

    ``group`` and ``key`` become words (town codes town names, a missing key "not recorded"),
    ``n`` the households column; scenario columns keep the scenario's name with the figure
    (``%``, ``Δ``, ``Δpp``) spelled out; figures rounded to 0.1, missing ones empty.
    """

    def key_label(group: str, key: object) -> str:
        if is_missing(key):
            return t("not_recorded", lang)
        if group == "overall":
            return label("cmp_overall", key, lang)
        if group == "town":
            return town_names.get(str(key), str(key))
        return label(group, key, lang)

    groups = compared["group"].astype(str).tolist()
    out: dict[str, list[str]] = {
        t("cmp_group", lang): [label("cmp_group", g, lang) for g in groups],
        t("cmp_item", lang): [key_label(g, k) for g, k in zip(groups, compared["key"].tolist(), strict=True)],
    }
    for col in compared.columns:
        if col in ("group", "key"):
            continue
        name = str(col)
        if name == "n":
            header = t("cmp_n", lang)
        elif name.endswith(" Δpp"):
            header = t("cmp_delta_pp", lang, s=name[: -len(" Δpp")])
        elif name.endswith(" Δ"):
            header = t("cmp_delta", lang, s=name[: -len(" Δ")])
        elif name.endswith(" %"):
            header = t("cmp_pct", lang, s=name[: -len(" %")])
        else:
            header = name
        out[header] = ["" if is_missing(v) else f"{float(v):,.1f}".rstrip("0").rstrip(".") for v in compared[col]]
    return pd.DataFrame(out)
