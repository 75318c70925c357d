"""Need wording -> catalogue item: what people write in a 需求 cell, matched conservatively.

A 需求 cell of a beneficiary spreadsheet says things like ``医疗救助``, ``S02``, ``生活救助``,
``就业培训`` or ``助餐``. :func:`match_need_wording` finds the item in this order:

1. the user's remembered aliases (the ``need_aliases`` table of :mod:`data.storage`,
   written once on the Data page for wording nothing else matches);
2. exactly: an item's code, Chinese name, a ``/``-part of it, English name, or one of its
   catalogue aliases (:attr:`core.vocab.ServiceItem.aliases`), after NFKC and case folding;
3. a conservative similarity: the wording (at least 2 characters) is contained in exactly
   one item's name or alias, or exactly one item's name (at least 2 characters) is
   contained in the wording (``助餐`` -> 助餐送餐; ``医疗救助申请`` -> 医疗救助). Wording
   that fits several items (``救助``) matches none.

Wording that matches nothing is kept by the importer as an *unmapped* need, with a
warning; it never costs the household its row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pandas as pd

from core.vocab import (
    DEFAULT_CATALOGUE,
    ITEM_BY_CODE,
    LIST_SEP,
    NEED_URGENCY_MIN,
    ServiceItem,
    need_urgency_from_household,
)
from data.schemas import NEED_COLUMNS

#: how a wording was matched (:attr:`NeedMatch.how`)
HOW_STORED: Final = "stored_alias"
HOW_EXACT: Final = "exact"
HOW_SIMILAR: Final = "similar"
#: shortest wording tried by similarity
MIN_SIMILAR_CHARS: Final = 2


def normalize_wording(text: str) -> str:
    """NFKC, no whitespace, lower-case: the key of exact and stored matches."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower()


@dataclass(frozen=True)
class NeedMatch:
    """Result of :func:`match_need_wording`: ``item_id`` None when nothing matched."""

    wording: str
    item_id: str | None
    how: str | None


def _exact_table(catalogue: tuple[ServiceItem, ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for s in catalogue:
        for word in (s.code, s.name_zh, *s.name_zh.split("/"), s.name_en, *s.aliases):
            table.setdefault(normalize_wording(word), s.code)
    return table


_DEFAULT_EXACT: Final = _exact_table(DEFAULT_CATALOGUE)


def match_need_wording(
    wording: str,
    *,
    aliases: Mapping[str, str] | None = None,
    catalogue: tuple[ServiceItem, ...] = DEFAULT_CATALOGUE,
) -> NeedMatch:
    """The catalogue item a need's wording stands for.

    Parameters
    ----------
    wording : str
        One need as written (one part of a 需求 cell).
    aliases : mapping of wording -> item_id, optional
        Remembered aliases (:meth:`data.storage.Store.need_aliases`); keys are compared
        after :func:`normalize_wording`. They win over everything else.
    catalogue : tuple of ServiceItem
        The items to match against (:data:`core.vocab.DEFAULT_CATALOGUE`).

    Returns
    -------
    NeedMatch
        ``how`` is ``"stored_alias"``, ``"exact"``, ``"similar"`` or None (no match).
    """
    key = normalize_wording(wording)
    codes = {s.code for s in catalogue}
    if aliases:
        stored = {normalize_wording(k): v for k, v in aliases.items()}
        if key in stored and stored[key] in codes:
            return NeedMatch(wording, stored[key], HOW_STORED)
    exact = _DEFAULT_EXACT if catalogue is DEFAULT_CATALOGUE else _exact_table(catalogue)
    if key in exact:
        return NeedMatch(wording, exact[key], HOW_EXACT)
    if len(key) >= MIN_SIMILAR_CHARS:
        hits = set()
        for s in catalogue:
            names = [normalize_wording(w) for w in (s.name_zh, *s.name_zh.split("/"), *s.aliases)]
            if any(key in n for n in names) or any(len(n) >= MIN_SIMILAR_CHARS and n in key for n in names):
                hits.add(s.code)
        if len(hits) == 1:
            return NeedMatch(wording, hits.pop(), HOW_SIMILAR)
    return NeedMatch(wording, None, None)


def catalogue_items(catalogue: pd.DataFrame) -> tuple[ServiceItem, ...]:
    """A catalogue table (``item_id, name`` and optional ``need_type, delivery, aliases``) as items.

    The default catalogue's table gives :data:`core.vocab.DEFAULT_CATALOGUE` itself.
    """
    items = []
    for row in catalogue.to_dict("records"):
        code = str(row["item_id"])
        base = ITEM_BY_CODE.get(code)
        aliases = row.get("aliases")
        alias_t = tuple(a for a in str(aliases).split(LIST_SEP) if a) if isinstance(aliases, str) else ()
        items.append(
            ServiceItem(
                code,
                str(row.get("name") or (base.name_zh if base else code)),
                base.name_en if base else code,
                str(row.get("need_type") or (base.need_type if base else "")),
                base.departments if base else (),
                str(row.get("delivery") or (base.delivery if base else "onsite")),
                str(row.get("group") or ""),
                alias_t,
            )
        )
    out = tuple(items)
    return DEFAULT_CATALOGUE if out == DEFAULT_CATALOGUE else out


def needs_from_households(beneficiaries: pd.DataFrame) -> pd.DataFrame:
    """The needs a beneficiaries table states in its 需求 column, one row per item of a household.

    What the beneficiary import produces (:attr:`data.importer.ImportResult.needs`) from the
    stored table, for a dataset whose needs list was not imported on its own: ``need_id`` =
    ``<beneficiary_id>-<k>`` (k = 1, 2, ... over the household's items), ``household_id``,
    ``item_id`` (the stored codes; wording no item matched was not stored), ``urgency`` 1-3
    from the household's 1-5 (:func:`core.vocab.need_urgency_from_household`; 1 when it
    has none), ``since`` and ``wording`` empty, ``synthetic`` as the household's.

    Returns
    -------
    pandas.DataFrame
        :data:`data.schemas.NEED_COLUMNS`; ``urgency`` int64, ``synthetic`` bool.
    """
    rows: list[tuple[object, ...]] = []
    cols = beneficiaries.reindex(columns=["beneficiary_id", "needs", "urgency", "synthetic"])
    for bid, cell, urg, synth in cols.itertuples(index=False, name=None):
        if not isinstance(cell, str) or not cell.strip():
            continue
        level = NEED_URGENCY_MIN if pd.isna(urg) else need_urgency_from_household(int(urg))
        codes = list(dict.fromkeys(c.strip() for c in cell.split(LIST_SEP) if c.strip()))
        for k, code in enumerate(codes, start=1):
            rows.append((f"{bid}-{k}", str(bid), code, level, None, None, bool(synth) if pd.notna(synth) else False))
    frame = pd.DataFrame(rows, columns=list(NEED_COLUMNS))
    return frame.astype(
        {"need_id": "str", "household_id": "str", "item_id": "str", "urgency": "int64", "synthetic": "bool"}
    )
