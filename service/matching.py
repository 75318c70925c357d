"""The matching page's streamlit-free layer: the district's matching, cut to the viewer's area.

Capacity is shared by the whole district (a provider in one town serves households of the
next), so the matching is solved once for the district (:func:`district_problem`, keyed by
dataset, version and settings only) and every result is cut to the viewer's area
(:func:`area_matching`) before a page sees or caches it. A town or village manager sees
only the needs of the households of the own area, exact; what other areas take of a
provider's capacity is a count about other households and is printed through
:func:`geo.disclosure.count_alone` (no 1-9), and the utilisation and remaining capacity that
would reveal it are withheld when it is.

Tables, columns and units: see :class:`AreaMatching`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import folium
import numpy as np
import pandas as pd

from core.i18n import attribution_text, item_label, label, t
from core.settings import Settings
from core.vocab import NEED_PRIORITY, NEED_TYPES
from data.accounts.access import can_see_individuals, filter_frame
from data.bundle import Bundle, matching_frames, with_tables
from geo.disclosure import HIDDEN_MARK, count_alone
from geo.figures import coverage_pct
from geo.matching import MatchingProblem, MatchingResult, matching_problem
from geo.search import ProviderSearch
from geo.snap import Snapper
from service.dashboard import RunKey

#: a what-if capacity: (provider_id, item_id, capacity_per_month)
CapacityChange = tuple[str, str, int]
#: a what-if offer: (provider_id, item_id, capacity_per_month, lon, lat)
AddedOffer = tuple[str, str, int, float, float]
#: the provider id of a what-if offer at a new place
NEW_PROVIDER_ID = "WHATIF-NEW"


def matching_inputs(bundle: Bundle, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Needs (located at their household), offers (at their provider) and the catalogue of a dataset."""
    return matching_frames(with_tables(bundle, tables))


def district_problem(
    snapper: Snapper, bundle: Bundle, tables: dict[str, pd.DataFrame], settings: Settings
) -> MatchingProblem:
    """The district's matching problem (all needs, all offers): its arcs are computed once.

    Holds every household's needs: never shown as it is; :func:`area_matching` cuts it.
    """
    needs, offers, catalogue = matching_inputs(bundle, tables)
    return matching_problem(needs, offers, catalogue, snapper=snapper, settings=settings)


def with_added_offers(problem: MatchingProblem, added: Sequence[AddedOffer]) -> MatchingProblem:
    """The problem with what-if offers added (only their arcs are computed)."""
    if not added:
        return problem
    frame = pd.DataFrame(added, columns=["provider_id", "item_id", "capacity_per_month", "lon", "lat"])
    return problem.with_offers(frame)


@dataclass(frozen=True)
class AreaMatching:
    """The matching as one area sees it.

    Attributes
    ----------
    needs : DataFrame
        The area's needs (:class:`geo.matching.MatchingResult` ``needs``) with the household's
        ``name_masked, category, town_code, community_code``.
    by_need_type, by_item : DataFrame
        Index need-type code / item id; ``n`` (needs), ``matched``, ``pct`` (matched share, %).
    unmet : DataFrame
        The area's unmatched needs in priority order (survival, care, development; urgency
        high to low; need id).
    providers : DataFrame
        ``provider_id, name, capacity_per_month, area_load`` (needs of the area matched to it),
        ``other_load`` (of other areas; 0 for a district role), ``other_txt`` (printed form),
        ``utilisation_pct`` and ``remaining`` (NaN where they would reveal a withheld count);
        providers that serve the area or offer an item it needs, most loaded first.
    offers : DataFrame
        ``provider_id, item_id, capacity_per_month`` of those providers (for the what-if).
    district : bool
        Whether the viewer sees the whole district.
    """

    needs: pd.DataFrame
    by_need_type: pd.DataFrame
    by_item: pd.DataFrame
    unmet: pd.DataFrame
    providers: pd.DataFrame
    offers: pd.DataFrame
    district: bool


def _shares(needs: pd.DataFrame, col: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    g: pd.DataFrame = needs.groupby(col)["matched"].agg(n="size", matched="sum").astype(int)  # type: ignore[assignment]
    if order is not None:
        g = g.reindex([c for c in order if c in g.index])
    g["pct"] = np.round(coverage_pct(g["matched"].to_numpy(), g["n"].to_numpy()), 1)
    return g


def priority_order(needs: pd.DataFrame) -> pd.DataFrame:
    """Needs sorted survival → care → development, urgency high to low, then need id."""
    prio = needs["need_type"].map(NEED_PRIORITY).fillna(len(NEED_PRIORITY))
    return (
        needs.assign(_p=prio)
        .sort_values(["_p", "urgency", "need_id"], ascending=[True, False, True])
        .drop(columns="_p")
    )


def area_matching(
    result: MatchingResult, key: RunKey, beneficiaries: pd.DataFrame, providers: pd.DataFrame
) -> AreaMatching:
    """Cut a district matching to ``key.area`` (server-side; the only form a page receives).

    Parameters
    ----------
    result : the district's :class:`MatchingResult`.
    key : the viewer's run key (its area filter decides the households).
    beneficiaries : the dataset's households (``beneficiary_id, town_code, community_code, name_masked, category``).
    providers : the dataset's providers (``provider_id, name``).

    Raises
    ------
    PermissionError
        For a role that sees no household (the page is not offered to it).
    """
    area = key.area_filter
    if not can_see_individuals(area.role):
        msg = "matching results are for roles that see households of their area"
        raise PermissionError(msg)
    ben = filter_frame("beneficiaries", beneficiaries, area)
    cols = ["beneficiary_id", "name_masked", "category", "town_code", "community_code"]
    hh = ben[[c for c in cols if c in ben.columns]].rename(columns={"beneficiary_id": "household_id"})
    needs = result.needs.merge(hh, on="household_id", how="inner")
    district = len(ben) == len(beneficiaries)
    area_load = needs[needs["matched"]].groupby("provider_id").size()
    prov = result.providers[["provider_id", "capacity_per_month", "assigned"]].copy()
    prov["area_load"] = prov["provider_id"].map(area_load).fillna(0).astype(int)
    prov["other_load"] = (prov["assigned"] - prov["area_load"]).astype(int)
    wanted = set(needs["item_id"])
    offering = set(result.offers.loc[result.offers["item_id"].isin(wanted), "provider_id"])
    prov = prov[(prov["area_load"] > 0) | prov["provider_id"].isin(offering)]
    cap = prov["capacity_per_month"].astype(float)
    if district:
        prov["other_txt"] = ""
        revealing = np.zeros(len(prov), dtype=bool)
    else:
        prov["other_txt"] = [count_alone(int(v)) for v in prov["other_load"]]
        revealing = ((prov["other_load"] > 0) & (prov["other_load"] < 10)).to_numpy()
    util = np.where(cap > 0, 100.0 * prov["assigned"] / cap.where(cap > 0, 1.0), np.nan)
    prov["utilisation_pct"] = np.where(revealing, np.nan, np.round(util, 1))
    prov["remaining"] = np.where(revealing, np.nan, (cap - prov["assigned"]).clip(lower=0))
    names = providers.set_index(providers["provider_id"].astype(str))["name"]
    prov.insert(1, "name", prov["provider_id"].astype(str).map(names).fillna(prov["provider_id"].astype(str)))
    prov = prov.drop(columns="assigned").sort_values(["area_load", "provider_id"], ascending=[False, True])
    return AreaMatching(
        needs=needs,
        by_need_type=_shares(needs, "need_type", NEED_TYPES),
        by_item=_shares(needs, "item_id"),
        unmet=priority_order(needs[~needs["matched"]]),
        providers=prov.reset_index(drop=True),
        offers=result.offers.loc[
            result.offers["provider_id"].isin(set(prov["provider_id"])),
            ["provider_id", "item_id", "capacity_per_month"],
        ].reset_index(drop=True),
        district=district,
    )


def provider_name(pid: object, names: pd.Series, lang: str) -> str:
    """A provider's name; a what-if offer's provider reads "新增服务（情景）"; nothing reads "—"."""
    if not isinstance(pid, str) or not pid:
        return HIDDEN_MARK
    if pid.startswith(NEW_PROVIDER_ID):
        return t("match_new_provider", lang)
    return str(names.get(pid, pid))


def _names(providers: pd.DataFrame) -> pd.Series:
    return providers.set_index(providers["provider_id"].astype(str))["name"]


def _walk_min(walk_m: pd.Series, settings: Settings) -> pd.Series:
    return (walk_m / (settings.speed_kmh * 1000.0 / 60.0)).round(1)


def unmet_view(
    am: AreaMatching, providers: pd.DataFrame, *, lang: str, limit: int = 500, items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The unmet needs as the page prints them (Chinese labels, ``—`` for nothing)."""
    names = _names(providers)
    u = am.unmet.head(limit)
    return pd.DataFrame(
        {
            t("col_household", lang): u["household_id"].astype(str),
            t("col_name", lang): u["name_masked"].fillna("—"),
            t("col_need_type", lang): [label("need_type", c, lang) for c in u["need_type"]],
            t("col_service", lang): [item_label(c, lang, items) for c in u["item_id"]],
            t("col_urgency", lang): u["urgency"].astype(int),
            t("col_reason", lang): [label("match_reason", c, lang) for c in u["reason"]],
            t("col_if_capacity", lang): [provider_name(p, names, lang) for p in u["nearest_provider_id"]],
            t("col_walk_m", lang): [f"{w:,.0f}" if pd.notna(w) else "—" for w in u["nearest_walk_m"]],
        }
    )


def share_view(shares: pd.DataFrame, kind: str, *, lang: str, items: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Needs, matched and matched % per need type or item, labelled."""
    return pd.DataFrame(
        {
            t("col_needs", lang): shares["n"].to_numpy(),
            t("col_matched", lang): shares["matched"].to_numpy(),
            t("col_match_pct", lang): shares["pct"].to_numpy(),
        },
        index=[item_label(c, lang, items) if kind == "service" else label(kind, c, lang) for c in shares.index],
    )


def providers_view(am: AreaMatching, *, lang: str) -> pd.DataFrame:
    """Provider utilisation as printed (withheld figures as ``—``)."""
    p = am.providers
    names = p.set_index("provider_id")["name"]
    out = pd.DataFrame(
        {
            t("col_provider", lang): [provider_name(x, names, lang) for x in p["provider_id"]],
            t("col_capacity", lang): p["capacity_per_month"].astype(int),
            t("col_area_load", lang): p["area_load"].astype(int),
        }
    )
    if not am.district:
        out[t("col_other_load", lang)] = p["other_txt"].to_numpy()
    out[t("col_util_pct", lang)] = [f"{v:.1f}%" if pd.notna(v) else HIDDEN_MARK for v in p["utilisation_pct"]]
    out[t("col_remaining", lang)] = [f"{v:,.0f}" if pd.notna(v) else HIDDEN_MARK for v in p["remaining"]]
    return out


def utilisation_chart(am: AreaMatching, *, lang: str, top: int = 20) -> tuple[pd.DataFrame, str]:
    """The bars of the utilisation chart: utilisation % (district roles) or the area's load (area
    roles, whose utilisation may be withheld), the ``top`` highest; returns the frame and its value column."""
    p = am.providers
    names = p.set_index("provider_id")["name"]
    col = t("col_util_pct" if am.district else "col_area_load", lang)
    value = p["utilisation_pct"] if am.district else p["area_load"]
    frame = pd.DataFrame(
        {t("col_provider", lang): [provider_name(x, names, lang) for x in p["provider_id"]], col: value.to_numpy()}
    )
    return frame.dropna().nlargest(top, col), col


def household_plan(
    am: AreaMatching, providers: pd.DataFrame, settings: Settings, *, lang: str, items: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """一户一策: one row per need of each household of the area, masked names, walking minutes."""
    names = _names(providers)
    n = am.needs.sort_values(["household_id", "need_id"])
    return pd.DataFrame(
        {
            t("col_household", lang): n["household_id"].astype(str),
            t("col_name", lang): n["name_masked"].fillna("—"),
            t("col_need_type", lang): [label("need_type", c, lang) for c in n["need_type"]],
            t("col_service", lang): [item_label(c, lang, items) for c in n["item_id"]],
            t("col_urgency", lang): n["urgency"].astype(int),
            t("col_provider", lang): [
                provider_name(p, names, lang) if m else "—" for p, m in zip(n["provider_id"], n["matched"], strict=True)
            ],
            t("col_delivery", lang): [
                label("delivery", d, lang) if m else "—" for d, m in zip(n["delivery"], n["matched"], strict=True)
            ],
            t("col_walk_min", lang): [
                f"{w:.1f}" if pd.notna(w) else "—" for w in _walk_min(n["walk_m"].astype(float), settings)
            ],
            t("col_reason", lang): [
                label("match_reason", r, lang) if not m else "—" for r, m in zip(n["reason"], n["matched"], strict=True)
            ],
        }
    )


def provider_search(
    snapper: Snapper,
    result: MatchingResult,
    providers: pd.DataFrame,
    catalogue: pd.DataFrame,
    settings: Settings,
    am: AreaMatching,
    *,
    lon: float,
    lat: float,
    minutes: float,
    item_id: str | None,
    keyword: str | None,
    with_capacity: bool,
) -> pd.DataFrame:
    """Offers near a point, with remaining capacity = capacity − matched load of the offer.

    Returns the table of :meth:`geo.search.ProviderSearch.search`; for an area role,
    ``remaining`` is NaN where the offer's load from other areas (its load − the area's) is
    1-9, which printing it would reveal.
    """
    offers = result.offers[["provider_id", "item_id", "capacity_per_month", "assigned"]].rename(
        columns={"assigned": "used"}
    )
    offers = offers[offers["provider_id"].astype(str).isin(set(providers["provider_id"].astype(str)))]
    search = ProviderSearch(offers, providers, catalogue, snapper=snapper, settings=settings)
    res = search.search(lon, lat, minutes=minutes, item_id=item_id or None, keyword=keyword or None)
    res = res.copy()
    if not am.district:
        # an offer's load from other areas = its load − the area's (known to the reader): 1-9 withheld
        own = am.needs[am.needs["matched"]].groupby(["provider_id", "item_id"]).size()
        used = result.offers.set_index(["provider_id", "item_id"])["assigned"]
        pairs = list(zip(res["provider_id"].astype(str), res["item_id"].astype(str), strict=True))
        other = np.array([int(used.get(k, 0)) - int(own.get(k, 0)) for k in pairs], dtype=np.int64)
        res["_hide"] = (other > 0) & (other < 10)
    else:
        res["_hide"] = False
    has_left = res["remaining"].fillna(0) > 0
    res.loc[res["_hide"], "remaining"] = np.nan
    if with_capacity:
        res = res[has_left.to_numpy()]
    return res.drop(columns="_hide").reset_index(drop=True)


def accessibility_by_need_type(
    snapper: Snapper, bundle: Bundle, tables: dict[str, pd.DataFrame], settings: Settings, key: RunKey
) -> pd.DataFrame:
    """E2SFCA per H3 hex and need type (``group, origin_id, accessibility``) over the area's hexes.

    Demand is every household's needs of the type (capacity is shared by the district);
    only the hexes holding households of ``key.area`` are returned. For roles that see
    households only (a hex's value can reveal a small count, see :mod:`geo.accessibility`).
    """
    from geo.accessibility import accessibility_from_network
    from geo.hexes import cells_to_str, latlng_to_cells

    if not can_see_individuals(key.area_filter.role):
        msg = "accessibility per hexagon is for roles that see households of their area"
        raise PermissionError(msg)
    needs, offers, catalogue = matching_inputs(bundle, tables)
    need_type = catalogue.set_index("item_id")["need_type"]
    hh = needs.assign(group=needs["item_id"].map(need_type)).dropna(subset=["lon", "lat", "group"])
    hh = hh.drop_duplicates(["household_id", "group"])[["lon", "lat", "group"]]
    sup = offers.assign(group=offers["item_id"].map(need_type)).dropna(subset=["lon", "lat", "group"])
    sup = sup.groupby(["provider_id", "group"], as_index=False).agg(
        lon=("lon", "first"), lat=("lat", "first"), supply=("capacity_per_month", "sum")
    )
    res, _ = accessibility_from_network(snapper, hh, sup, settings=settings, group_col="group")
    ben = filter_frame("beneficiaries", tables["beneficiaries"], key.area_filter)
    ben = ben.dropna(subset=["lon", "lat"])
    own = set(
        cells_to_str(
            latlng_to_cells(ben["lat"].to_numpy(dtype=float), ben["lon"].to_numpy(dtype=float), settings.h3_res)
        )
    )
    acc = res.access
    return acc[acc["origin_id"].isin(own)][["group", "origin_id", "accessibility"]].reset_index(drop=True)


def matching_map(
    *,
    bundle: Bundle,
    basemap: dict[str, object],
    hubs: pd.DataFrame,
    providers: pd.DataFrame,
    search: pd.DataFrame | None,
    point: tuple[float, float] | None,
    access: pd.DataFrame | None,
    access_group: str,
    settings: Settings,
    focus_town: str,
    lang: str,
) -> folium.Map:
    """The matching page's map: base map and hubs, the search result and, optionally, accessibility hexes."""
    from layers.access_layers import accessibility_hex_layer, matching_legend, search_result_layer
    from layers.folium_map import build_map
    from service.dashboard import town_bounds

    m = build_map(
        basemap=basemap,  # type: ignore[arg-type]
        hubs=hubs,
        minutes=settings.minutes,
        center=(point[1], point[0]) if point is not None else None,
        zoom=15 if point is not None else None,
        bounds=town_bounds(bundle, focus_town) if focus_town and point is None else None,
        lang=lang,
        attribution=attribution_text(bundle.attribution, lang),
    )
    access_legend: list[dict[str, object]] = []
    search_legend: list[dict[str, object]] = []
    if access is not None and len(access):
        layer, access_legend = accessibility_hex_layer(
            access[access["group"] == access_group], group=access_group, minutes=settings.minutes, lang=lang
        )
        layer.add_to(m)
    if search is not None and point is not None:
        layer, search_legend = search_result_layer(
            search, providers, point_lon=point[0], point_lat=point[1], minutes=settings.minutes, lang=lang
        )
        layer.add_to(m)
    if access_legend or search_legend:
        matching_legend(
            search=search_legend, access=access_legend, group=access_group, minutes=settings.minutes, lang=lang
        ).add_to(m)
    # folium's layer control lists every layer at render time: keep it after the layers added here,
    # or its script runs before their variables exist
    for name, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(name)
    return m


def search_view(res: pd.DataFrame, *, lang: str, items: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The search result as printed: provider, item, walk, capacity, capacity left (``—`` withheld)."""
    return pd.DataFrame(
        {
            t("col_provider", lang): res["name"].astype(str),
            t("col_item_name", lang): [item_label(c, lang, items) for c in res["item_id"]],
            t("col_walk_m", lang): [f"{w:,.0f}" for w in res["walk_m"]],
            t("col_walk_min", lang): [f"{w:.1f}" for w in res["walk_min"]],
            t("col_capacity", lang): [f"{c:,.0f}" if pd.notna(c) else HIDDEN_MARK for c in res["capacity_per_month"]],
            t("col_remaining", lang): [f"{c:,.0f}" if pd.notna(c) else HIDDEN_MARK for c in res["remaining"]],
        }
    )


def offer_label(
    provider: str, item: str, names: pd.Series, *, lang: str, items: Mapping[str, str] | None = None
) -> str:
    """The pick-list text of an offer: provider name · item."""
    return f"{provider_name(provider, names, lang)} · {item_label(item, lang, items)}"
