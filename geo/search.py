"""Provider search (检索): who offers an item, or matches a keyword, within N minutes' walk of a point.

Tables in, one tidy table out, so it works on today's tables and on the matching tables of
issue #12 alike:

- offers: ``provider_id, item_id, capacity_per_month`` and optionally ``remaining`` or
  ``used`` (this month's use); :func:`offers_from_providers` makes it from today's
  provider table (``services`` joined by ``;``, one ``capacity_month`` per provider);
- providers: ``provider_id, name, lon, lat`` (WGS-84);
- catalogue: ``item_id, name, need_type`` and optionally ``aliases`` (joined by ``;``);
  :func:`catalogue_from_vocab` makes it from :data:`core.vocab.DEFAULT_CATALOGUE`.

A keyword matches, as a substring after Unicode NFKC normalisation and case folding (so
English is case-insensitive and full-width letters equal half-width ones), an item's id,
name or aliases, or a provider's name. Walking distance is measured as in
:mod:`geo.coverage`: the point's straight access leg + the network distance + the
provider's access leg, in integer centimetres, from one bounded search from the point.
Providers more than ``Settings.max_access_m`` from the network are never listed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.errors import InputColumnsError, ProviderSearchError
from core.settings import Settings
from core.vocab import DEFAULT_CATALOGUE, LIST_SEP, ServiceItem
from geo.engine import nearest_hub_cm
from geo.snap import Snapper

RESULT_COLUMNS = (
    "provider_id",
    "name",
    "item_id",
    "item_name",
    "walk_m",
    "walk_min",
    "capacity_per_month",
    "remaining",
)


def normalise_text(text: object) -> str:
    """Search form of a text: NFKC, case-folded, surrounding spaces removed ("" for missing)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return unicodedata.normalize("NFKC", str(text)).casefold().strip()


def catalogue_from_vocab(items: Sequence[ServiceItem] = DEFAULT_CATALOGUE) -> pd.DataFrame:
    """The service catalogue as a search table.

    Returns
    -------
    DataFrame
        ``item_id`` (the code), ``name`` (Chinese name), ``need_type`` and ``aliases``:
        the English name and the parts of a Chinese name written with ``/`` (``低保金/兜底保障``
        gives ``低保金`` and ``兜底保障``), joined by ``;``.
    """
    rows = []
    for s in items:
        parts = [p for p in s.name_zh.split("/") if p and p != s.name_zh] if "/" in s.name_zh else []
        rows.append((s.code, s.name_zh, s.need_type, LIST_SEP.join([s.name_en, *parts])))
    return pd.DataFrame(rows, columns=["item_id", "name", "need_type", "aliases"])


def offers_from_providers(providers: pd.DataFrame) -> pd.DataFrame:
    """Offers from today's provider table: one row per provider and listed service.

    Today's table has one ``capacity_month`` per provider; each offered item gets that
    figure as its ``capacity_per_month`` (the matching tables of issue #12 give one per offer).

    Returns
    -------
    DataFrame
        ``provider_id, item_id, capacity_per_month`` (float, NaN where unknown).
    """
    missing = [c for c in ("provider_id", "services") if c not in providers.columns]
    if missing:
        msg = f"the provider table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)
    cap = (
        pd.to_numeric(providers["capacity_month"], errors="coerce")
        if "capacity_month" in providers.columns
        else pd.Series(np.nan, index=providers.index)
    )
    items = providers["services"].fillna("").astype(str).str.split(LIST_SEP)
    frame = pd.DataFrame(
        {"provider_id": providers["provider_id"].astype(str), "item_id": items, "capacity_per_month": cap}
    ).explode("item_id")
    frame["item_id"] = frame["item_id"].str.strip()
    frame = frame[frame["item_id"] != ""]
    return frame.drop_duplicates(["provider_id", "item_id"]).reset_index(drop=True)


def _need(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = f"the {what} table lacks column(s): {', '.join(missing)}"
        raise InputColumnsError(msg)


class ProviderSearch:
    """Offers joined with their providers and item names, snapped once; search many times.

    Build it once per dataset and network (shared, read-only: ``st.cache_resource``), then
    call :meth:`search` per query.

    Parameters
    ----------
    offers : DataFrame
        ``provider_id, item_id, capacity_per_month`` [+ ``remaining`` or ``used``].
    providers : DataFrame
        ``provider_id, name, lon, lat`` (WGS-84); other columns are ignored.
    catalogue : DataFrame
        ``item_id, name, need_type`` [+ ``aliases`` joined by ``;``].
    snapper : Snapper
        On the walking network.
    settings : Settings
        ``max_access_m``, walking speed and default minutes.
    """

    def __init__(
        self,
        offers: pd.DataFrame,
        providers: pd.DataFrame,
        catalogue: pd.DataFrame,
        *,
        snapper: Snapper,
        settings: Settings,
    ) -> None:
        _need(offers, ("provider_id", "item_id", "capacity_per_month"), "offers")
        _need(providers, ("provider_id", "name", "lon", "lat"), "provider")
        _need(catalogue, ("item_id", "name"), "catalogue")
        self.snapper = snapper
        self.settings = settings
        prov = providers[["provider_id", "name", "lon", "lat"]].copy()
        prov["provider_id"] = prov["provider_id"].astype(str)
        if prov["provider_id"].duplicated().any():
            dup = prov.loc[prov["provider_id"].duplicated(), "provider_id"].unique()[:5]
            msg = f"duplicate provider_id in the provider table: {', '.join(dup)}"
            raise ProviderSearchError(msg)
        cat = catalogue.copy()
        cat["item_id"] = cat["item_id"].astype(str)
        self.item_ids = frozenset(cat["item_id"])
        aliases = cat["aliases"] if "aliases" in cat.columns else pd.Series("", index=cat.index)
        item_text = [
            LIST_SEP.join(normalise_text(t) for t in (i, n, *str(a if isinstance(a, str) else "").split(LIST_SEP)))
            for i, n, a in zip(cat["item_id"], cat["name"], aliases, strict=True)
        ]
        cat = pd.DataFrame({"item_id": cat["item_id"], "item_name": cat["name"], "_item_text": item_text})
        off = offers.copy()
        off["provider_id"] = off["provider_id"].astype(str)
        off["item_id"] = off["item_id"].astype(str)
        unknown = sorted(set(off["provider_id"]) - set(prov["provider_id"]))
        if unknown:
            msg = f"offers name provider(s) missing from the provider table: {', '.join(unknown[:5])}"
            raise ProviderSearchError(msg)
        capacity = pd.to_numeric(off["capacity_per_month"], errors="coerce")
        if "remaining" in off.columns:
            remaining = pd.to_numeric(off["remaining"], errors="coerce")
        elif "used" in off.columns:
            remaining = capacity - pd.to_numeric(off["used"], errors="coerce").fillna(0.0)
        else:
            remaining = capacity
        off = off.assign(capacity_per_month=capacity, remaining=remaining)[
            ["provider_id", "item_id", "capacity_per_month", "remaining"]
        ]
        table = off.merge(prov, on="provider_id", how="left").merge(cat, on="item_id", how="left")
        table["_item_text"] = table["_item_text"].fillna(table["item_id"].map(normalise_text))
        table["_name_text"] = table["name"].map(normalise_text)
        sn = snapper.snap(
            pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=np.float64),
            pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=np.float64),
        )
        on_net = (sn.node >= 0) & (sn.access_m <= settings.max_access_m)
        table["_node"] = sn.node
        table["_access_cm"] = sn.access_cm
        self.table = table[on_net].reset_index(drop=True)
        self.n_unplaced = int((~on_net).sum())  # offers without coordinates or off the network

    def search(
        self,
        lon: float,
        lat: float,
        *,
        minutes: float | None = None,
        item_id: str | Sequence[str] | None = None,
        keyword: str | None = None,
        with_capacity: bool = False,
    ) -> pd.DataFrame:
        """Offers within ``minutes`` of walking from a point, nearest first.

        Parameters
        ----------
        lon, lat : float
            The point (a hub, a clicked point), WGS-84.
        minutes : float, optional
            Walking time budget (default ``settings.minutes``), at ``settings.speed_kmh``.
        item_id : str or sequence of str, optional
            Only these catalogue items.
        keyword : str, optional
            Substring of an item's id, name or alias, or of a provider's name (see module).
        with_capacity : bool
            Only offers whose remaining capacity is > 0 (unknown capacity is left out).

        Returns
        -------
        DataFrame
            ``provider_id, name, item_id, item_name, walk_m, walk_min, capacity_per_month,
            remaining``, one row per offer, sorted by ``walk_m`` then ``provider_id`` and
            ``item_id``; ``walk_m`` in metres (2 decimals), ``walk_min`` at the settings' speed.
        """
        budget_min = self.settings.minutes if minutes is None else float(minutes)
        if not (np.isfinite(budget_min) and budget_min > 0):
            msg = f"minutes must be a positive number, got {minutes}"
            raise ProviderSearchError(msg)
        sel = np.ones(len(self.table), dtype=bool)
        if item_id is not None:
            wanted = {item_id} if isinstance(item_id, str) else set(map(str, item_id))
            unknown = sorted(wanted - self.item_ids)
            if unknown:
                msg = f"unknown service item(s): {', '.join(unknown)}"
                raise ProviderSearchError(msg)
            sel &= self.table["item_id"].isin(wanted).to_numpy()
        if keyword is not None and normalise_text(keyword):
            k = normalise_text(keyword)
            hit = self.table["_item_text"].str.contains(k, regex=False) | self.table["_name_text"].str.contains(
                k, regex=False
            )
            sel &= hit.to_numpy()
        if with_capacity:
            sel &= (self.table["remaining"] > 0).to_numpy()
        sn = self.snapper.snap([lon], [lat])
        if sn.node[0] < 0:
            msg = "the search point has no valid coordinates"
            raise ProviderSearchError(msg)
        if sn.access_m[0] > self.settings.max_access_m:
            msg = (
                f"the search point is {sn.access_m[0]:.0f} m from the nearest walkable street "
                f"(more than {self.settings.max_access_m:.0f} m): pick a point nearer a street"
            )
            raise ProviderSearchError(msg)
        cutoff_cm = round(budget_min * self.settings.metres_per_minute * 100.0)
        cand = self.table[sel]
        if cand.empty:
            return self._result(cand, np.zeros(0, dtype=np.int64))
        dist, _ = nearest_hub_cm(self.snapper.network, [int(sn.node[0])], [int(sn.access_cm[0])], [0], cutoff_cm)
        net = dist[cand["_node"].to_numpy()]
        walk = net + cand["_access_cm"].to_numpy()
        ok = (net >= 0) & (walk <= cutoff_cm)
        return self._result(cand[ok], walk[ok])

    def _result(self, rows: pd.DataFrame, walk_cm: np.ndarray) -> pd.DataFrame:
        walk_m = walk_cm / 100.0
        out = pd.DataFrame(
            {
                "provider_id": rows["provider_id"].to_numpy(),
                "name": rows["name"].to_numpy(),
                "item_id": rows["item_id"].to_numpy(),
                "item_name": rows["item_name"].to_numpy(),
                "walk_m": np.round(walk_m, 2),
                "walk_min": np.round(walk_m / self.settings.metres_per_minute, 2),
                "capacity_per_month": rows["capacity_per_month"].to_numpy(dtype=np.float64),
                "remaining": rows["remaining"].to_numpy(dtype=np.float64),
            }
        )
        return out.sort_values(["walk_m", "provider_id", "item_id"], kind="stable").reset_index(drop=True)


def search_providers(
    offers: pd.DataFrame,
    providers: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    snapper: Snapper,
    settings: Settings,
    lon: float,
    lat: float,
    minutes: float | None = None,
    item_id: str | Sequence[str] | None = None,
    keyword: str | None = None,
    with_capacity: bool = False,
) -> pd.DataFrame:
    """One search without keeping the index: :class:`ProviderSearch` then :meth:`ProviderSearch.search`."""
    index = ProviderSearch(offers, providers, catalogue, snapper=snapper, settings=settings)
    return index.search(lon, lat, minutes=minutes, item_id=item_id, keyword=keyword, with_capacity=with_capacity)
