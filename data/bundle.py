"""A data set as the app and the reports use it: geography, hubs, providers and beneficiaries.

The demo generator (:mod:`data.demo`) builds one; imported tables replace its parts
(:func:`with_tables`). Reports and pages depend on this module, never on the generator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True, eq=False)
class Bundle:
    """A complete demo data set: geography, hubs, providers and beneficiaries.

    Attributes
    ----------
    name : str
        ``"xihu_demo"``, ``"fallback_helsinki"`` or ``"own_osm"``.
    label_zh, label_en : str
        What the UI shows as the data set's name; says "synthetic" / "not Xihu".
    note_zh, note_en : str
        What is real and what is synthetic, for an info box and for reports.
    is_fallback : bool
        True when this is not Xihu data.
    network_path : Path
        OSM file (XML or PBF) of the walking network; ``data.network.network_from_osm``
        reads it.
    metric_crs : str
        Projected CRS for distances (EPSG:32651 in Xihu, the UTM zone elsewhere).
    district : shapely geometry
        The study area polygon, WGS-84.
    towns : GeoDataFrame
        ``town_code, name, area_km2, derived, geometry`` (polygons, EPSG:4326). ``derived``
        is True: the cells are Voronoi approximations, not official boundaries.
    communities : DataFrame
        ``community_code, community_name, town_code, town_name, type`` (``community`` or
        ``village``), ``lon, lat`` (WGS-84), ``synthetic`` (False where the real 2016
        centroid is used), ``location_source``.
    hubs, providers, beneficiaries : DataFrame
        Canonical tables (:data:`data.schemas.HUB_COLUMNS`, ``PROVIDER_COLUMNS``,
        ``BENEFICIARY_COLUMNS``), coordinates WGS-84.
    needs, offers, catalogue : DataFrame
        Matching tables (#12): :data:`data.schemas.NEED_COLUMNS` (one row per need,
        ``household_id`` = a ``beneficiary_id``), ``OFFER_COLUMNS`` (one row per provider x
        item) and ``CATALOGUE_COLUMNS`` (the example catalogue). Synthetic in the demo
        bundles; empty where none were built.
    attribution : str
        Licence attribution to show with any map or export of the bundle.
    seed : int
        Seed of the synthetic generator.
    meta : dict
        Provenance: ``generator_version``, ``build_s``, ``from_cache``, ``load_s``,
        ``source_path``, ``cache_dir``.
    """

    name: str
    label_zh: str
    label_en: str
    note_zh: str
    note_en: str
    is_fallback: bool
    network_path: Path
    metric_crs: str
    district: BaseGeometry
    towns: gpd.GeoDataFrame
    communities: pd.DataFrame
    hubs: pd.DataFrame
    providers: pd.DataFrame
    beneficiaries: pd.DataFrame
    attribution: str
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)
    needs: pd.DataFrame = field(default_factory=pd.DataFrame)
    offers: pd.DataFrame = field(default_factory=pd.DataFrame)
    catalogue: pd.DataFrame = field(default_factory=pd.DataFrame)


def with_tables(bundle: Bundle, tables: dict[str, pd.DataFrame]) -> Bundle:
    """A copy of ``bundle`` whose hubs, providers, beneficiaries, needs, offers or catalogue are replaced."""
    changes = {
        k: v for k, v in tables.items() if k in ("hubs", "providers", "beneficiaries", "needs", "offers", "catalogue")
    }
    return dataclasses.replace(bundle, **changes)  # type: ignore[arg-type]


def matching_frames(bundle: Bundle) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The bundle's needs, offers and catalogue, located, as :func:`geo.matching.matching_problem` takes them.

    Returns
    -------
    needs : DataFrame
        ``bundle.needs`` whose item is known (unmapped wording left out) with ``lon, lat``
        of the household (``household_id`` = ``beneficiary_id``; NaN when unknown).
    offers : DataFrame
        ``bundle.offers`` with ``lon, lat`` of the provider (NaN when unknown).
    catalogue : DataFrame
        ``bundle.catalogue``.
    """
    loc = bundle.beneficiaries[["beneficiary_id", "lon", "lat"]].rename(columns={"beneficiary_id": "household_id"})
    needs = bundle.needs[bundle.needs["item_id"].notna()] if len(bundle.needs) else bundle.needs
    needs = needs.merge(loc, on="household_id", how="left") if len(needs) else needs
    ploc = bundle.providers[["provider_id", "lon", "lat"]]
    offers = bundle.offers.merge(ploc, on="provider_id", how="left") if len(bundle.offers) else bundle.offers
    return needs.reset_index(drop=True), offers.reset_index(drop=True), bundle.catalogue
