"""Report sections of #13 (服务能力 and 重复救助): assembled here, once, for the page and the command line.

:func:`report_sections` is the one assembly: the Reports page (through its cached wrapper in
``pages/_reporting.py``) and ``python -m reports build`` (through :func:`dataset_sections`) call
it. The XLSX writer prints each section as a sheet, the PDF writer as a section of the
report.

A scope is a report's district, town or village point (:class:`reports.model.Scope`).
Every count of households, needs or flags is protected by the one disclosure module
(:class:`geo.disclosure.Screen`), all scopes of a section in one screen, with the
relations a reader holding every report knows:

* 服务能力: a town's matched load (已匹配需求) and unmet demand in reach are the sums of its
  providers' (printed in the town and village reports); all providers' loads add up to the
  district's matched needs, which the matching section prints. A utilisation prints only when its
  load prints (capacity is public, so a utilisation would give the load back); an indicator
  likewise (its headroom term is the utilisation), and a town's indicator (capacity-weighted
  mean of its providers') only when every provider's load of the town prints.
* 重复救助: per department × item group, the flags (疑点数) and records (记录数) of the village
  points add up to their town's, the towns' to the district's (flags of households in no
  town or community are the unprinted remainder); the scope's total of flags likewise. An
  amount of yuan prints only beside counts that print (else ``"—"``).

Counts 1–9 print ``"<10"``; counts withheld against recovery ``"≥10"`` (or ``"<10"`` for a
withheld 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from core.i18n import t
from data.bundle import Bundle
from data.duplicate_reviews import load_reviews
from data.duplicates import DEFAULT_PERIOD, apply_reviews, flag_duplicates, open_flags
from data.storage import Store
from geo.disclosure import HIDDEN_MARK, Screen, ShownScreen
from geo.matching import MatchingResult
from reports.content import LEVEL_DISTRICT, LEVEL_TOWN, LEVEL_VILLAGE
from reports.model import ReportSection, Scope
from service.capacity import FORMULA_ZH, CapacityView, capacity_view
from service.duplicates import flags_with_households, overlap_table
from service.records import DatasetRecords

CAPACITY_HEADERS = {
    "area": "镇街 / 服务主体",
    "department": "部门/类型",
    "n_providers": "主体数",
    "capacity_per_month": "月供给能力",
    "assigned": "已匹配需求",
    "utilisation": "利用率",
    "unmet_in_reach": "可承接的未满足需求",
    "sole_items": "独家项目数",
    "months_active": "活跃月数",
    "sustainability": "可持续性指数",
}
DUPLICATE_HEADERS = {
    "department": "部门",
    "item_group": "项目组",
    "n_flags": "疑点数",
    "n_records": "记录数",
    "amount": "金额（元）",
}
#: the columns of each section that are counts of households, needs, flags or records
KNOWN_WEIGHT = 1e6  # the cost of withholding a count another section prints
PROTECTED_COLUMNS = {"capacity": ("assigned", "unmet_in_reach"), "duplicates": ("n_flags", "n_records")}
CAPACITY_NOTE = (
    FORMULA_ZH + "已匹配需求与可承接的未满足需求为户的需求数：1–9 记为“<10”，可由镇街合计推算的数一并隐藏；"
    "已匹配需求未列出时，其利用率与可持续性指数也不列出（“—”）。"
)
DUPLICATE_NOTE = (
    "重复救助：同一户同一周期（月）同一项目组由两个及以上部门提供；只计未复核的疑点。"
    "1–9 记为“<10”，可由上下级合计推算的数一并隐藏（“≥10”）；数未列出时其金额也不列出（“—”）。"
)
TOTAL_ZH = "合计"


def town_of_scope(scope: Scope) -> str | None:
    """The town of a town or village scope (a 12-digit village code starts with its town's); None for the district."""
    if scope.level == LEVEL_TOWN:
        return scope.area_id
    if scope.level == LEVEL_VILLAGE:
        return scope.area_id[:9]
    return None


# -- 服务能力 ---------------------------------------------------------------------------------------
def _pct(value: float) -> str:
    return f"{100 * value:.1f}%" if pd.notna(value) else HIDDEN_MARK


def _index(value: float) -> str:
    return f"{value:.1f}" if pd.notna(value) else HIDDEN_MARK


def capacity_frames(view: CapacityView, town_names: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """The printed 服务能力 tables: ``""`` (the district: one row per town) and one per town code
    (one row per provider of the town), protected together (see the module docstring)."""
    prov = view.providers.copy()
    prov["town_code"] = prov["town_code"].astype(object).map(lambda v: None if pd.isna(v) else str(v))
    towns = view.towns.copy()
    towns["town_code"] = towns["town_code"].astype(str)
    scr = Screen()
    p_cells = {c: scr.cells(prov[c].to_numpy(dtype=np.int64)) for c in PROTECTED_COLUMNS["capacity"]}
    t_cells = {c: scr.cells(towns[c].to_numpy(dtype=np.int64), weight=2.0) for c in PROTECTED_COLUMNS["capacity"]}
    for j, code in enumerate(towns["town_code"]):
        rows = np.flatnonzero((prov["town_code"] == code).to_numpy())
        for c in PROTECTED_COLUMNS["capacity"]:
            scr.relate(p_cells[c][rows], int(t_cells[c][j]))
    # the district's matched needs are the providers' loads summed: the matching section prints
    # that total, so it is known here (a weight no solution pays: never withheld in this screen,
    # as it is not there; a total of 1-9 is "<10" in both)
    scr.relate(p_cells["assigned"], scr.cell(int(prov["assigned"].sum()), weight=KNOWN_WEIGHT))
    shown = scr.protect()

    def printed(cells: np.ndarray) -> list[str]:
        return shown.texts(cells)

    p_ok = np.array([shown.printed(int(i)) for i in p_cells["assigned"]], dtype=bool)
    out: dict[str, pd.DataFrame] = {}
    frame = towns.assign(area=towns["town_code"].map(lambda c: town_names.get(c, c)))
    frame["department"], frame["months_active"] = "—", "—"
    for c in PROTECTED_COLUMNS["capacity"]:
        frame[c] = printed(t_cells[c])
    all_ok = [bool(p_ok[(prov["town_code"] == code).to_numpy()].all()) for code in towns["town_code"]]
    t_ok = [shown.printed(int(i)) for i in t_cells["assigned"]]
    frame["utilisation"] = [_pct(u) if ok else HIDDEN_MARK for u, ok in zip(frame["utilisation"], t_ok, strict=True)]
    frame["sustainability"] = [
        _index(s) if ok else HIDDEN_MARK for s, ok in zip(frame["sustainability"], all_ok, strict=True)
    ]
    out[""] = frame.reindex(columns=list(CAPACITY_HEADERS)).reset_index(drop=True)
    pf = prov.assign(area=prov["name"], n_providers=1)
    for c in PROTECTED_COLUMNS["capacity"]:
        pf[c] = printed(p_cells[c])
    pf["utilisation"] = [_pct(u) if ok else HIDDEN_MARK for u, ok in zip(pf["utilisation"], p_ok, strict=True)]
    pf["sustainability"] = [_index(s) if ok else HIDDEN_MARK for s, ok in zip(pf["sustainability"], p_ok, strict=True)]
    pf["months_active"] = [
        str(int(m)) if known else t("unknown")
        for m, known in zip(pf["months_active"], pf["activity_known"], strict=True)
    ]
    for code in towns["town_code"]:
        sel = pf.loc[(pf["town_code"] == code).to_numpy()]
        out[code] = sel.reindex(columns=list(CAPACITY_HEADERS)).reset_index(drop=True)
    return out


def capacity_section(view: CapacityView, town_names: Mapping[str, str]) -> ReportSection:
    """The 服务能力 section: district: one row per town; town or village point: one row per provider of its town."""
    rows_for = _CapacityRows(capacity_frames(view, town_names), pd.DataFrame(columns=list(CAPACITY_HEADERS)))
    return ReportSection(sheet=t("rep_capacity"), headers=CAPACITY_HEADERS, rows_for=rows_for, note=CAPACITY_NOTE)


@dataclass(frozen=True, eq=False)
class _CapacityRows:
    """A scope's 服务能力 rows: its town's (the towns' at district level); a plain object, so
    that a report can be handed to writer processes (pickled)."""

    frames: dict[str, pd.DataFrame]
    empty: pd.DataFrame

    def __call__(self, scope: Scope) -> pd.DataFrame:
        town = town_of_scope(scope)
        return self.frames.get("" if town is None else town, self.empty).copy()


def capacity_rows(view: CapacityView, scope: Scope, town_names: Mapping[str, str]) -> pd.DataFrame:
    """The printed 服务能力 rows of one scope (:func:`capacity_section`'s ``rows_for``)."""
    return capacity_section(view, town_names).rows_for(scope)


# -- 重复救助 ---------------------------------------------------------------------------------------
@dataclass
class _DupScope:
    table: pd.DataFrame  # overlap_table of the scope (rows with flags only)
    cells: np.ndarray  # rows x (n_flags, n_records)
    total: int  # the cell of the scope's number of flags
    total_amount: float


def duplicate_frames(
    flags: pd.DataFrame, records: pd.DataFrame, households: pd.DataFrame
) -> dict[tuple[str, str], pd.DataFrame]:
    """The printed 重复救助 tables per scope key ``(level, area)``: ``("district", "")``, ``("town", code)``,
    ``("village", community code)``; open flags only, protected together (see the module docstring)."""
    joined = flags_with_households(open_flags(flags) if "status" in flags.columns else flags, households)
    joined["_t"] = joined["town_code"].astype(object).map(lambda v: None if pd.isna(v) else str(v))
    joined["_c"] = joined["community_code"].astype(object).map(lambda v: None if pd.isna(v) else str(v))
    joined["_a"] = pd.to_numeric(joined["amount"], errors="coerce").fillna(0.0)
    in_town = joined.loc[joined["_t"].notna()]
    in_com = in_town.loc[in_town["_c"].notna()]
    # one pass per level (overlap_table grouped by the area), not one per scope
    per_level = {
        LEVEL_DISTRICT: (overlap_table(joined, records).assign(_key=""), joined.assign(_key="")),
        LEVEL_TOWN: (overlap_table(in_town, records, by=["_t"]).rename(columns={"_t": "_key"}),
                     in_town.assign(_key=in_town["_t"])),
        LEVEL_VILLAGE: (overlap_table(in_com, records, by=["_c"]).rename(columns={"_c": "_key"}),
                        in_com.assign(_key=in_com["_c"])),
    }  # fmt: skip
    scr = Screen()
    scopes: dict[tuple[str, str], _DupScope] = {}
    for level, (table, rows) in per_level.items():
        table = table.loc[table["n_flags"] > 0]
        n = rows.groupby("_key").size()
        amount = rows.groupby("_key")["_a"].sum()
        weight = {LEVEL_DISTRICT: 4.0, LEVEL_TOWN: 2.0, LEVEL_VILLAGE: 1.0}[level]
        groups = dict(iter(table.groupby("_key", sort=True))) if len(table) else {}
        keys = sorted(set(n.index.astype(str))) if level != LEVEL_DISTRICT else [""]
        for key in keys:
            t = groups.get(key, table.iloc[0:0]).drop(columns="_key").reset_index(drop=True)
            cells = scr.cells(t[["n_flags", "n_records"]].to_numpy(dtype=np.int64).reshape(-1, 2), weight=weight)
            total = scr.cell(int(n.get(key, 0)), weight=weight)
            scopes[(level, key)] = _DupScope(t, cells, total, float(amount.get(key, 0.0)))

    def relate(parent: _DupScope, children: list[_DupScope]) -> None:
        child_cells: dict[tuple[str, str], list[np.ndarray]] = {}
        for ch in children:
            for r, key in enumerate(zip(ch.table["department"], ch.table["item_group"], strict=True)):
                child_cells.setdefault(key, []).append(ch.cells[r])
        for r, key in enumerate(zip(parent.table["department"], parent.table["item_group"], strict=True)):
            found = child_cells.get(key, [])
            for k in (0, 1):
                scr.partition([int(c[k]) for c in found], int(parent.cells[r, k]))
        scr.partition([ch.total for ch in children], parent.total)

    towns = sorted(k for lv, k in scopes if lv == LEVEL_TOWN)
    relate(scopes[(LEVEL_DISTRICT, "")], [scopes[(LEVEL_TOWN, c)] for c in towns])
    village_town = dict(zip(in_com["_c"], in_com["_t"], strict=True))
    for code in towns:
        kids = [s for (lv, a), s in scopes.items() if lv == LEVEL_VILLAGE and village_town.get(a) == code]
        relate(scopes[(LEVEL_TOWN, code)], kids)
    shown = scr.protect()
    return {key: _dup_printed(sc, shown) for key, sc in scopes.items()}


def _dup_printed(sc: _DupScope, shown: ShownScreen) -> pd.DataFrame:
    out = sc.table.astype(object)
    ok = [shown.printed(int(a)) and shown.printed(int(b)) for a, b in sc.cells]
    out["n_flags"] = shown.texts(sc.cells[:, 0]) if len(sc.cells) else []
    out["n_records"] = shown.texts(sc.cells[:, 1]) if len(sc.cells) else []
    out["amount"] = [round(float(a), 2) if k else HIDDEN_MARK for a, k in zip(sc.table["amount"], ok, strict=True)]
    total_ok = shown.printed(sc.total)
    total = {"department": TOTAL_ZH, "item_group": "—", "n_flags": shown.text(sc.total), "n_records": "—",
             "amount": round(sc.total_amount, 2) if total_ok else HIDDEN_MARK}  # fmt: skip
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True).reindex(columns=list(DUPLICATE_HEADERS))


def duplicates_section(flags: pd.DataFrame, records: pd.DataFrame, households: pd.DataFrame) -> ReportSection:
    """The 重复救助 section: department × item group of the open flags of the scope's area."""
    empty = pd.DataFrame(
        [{"department": TOTAL_ZH, "item_group": "—", "n_flags": "0", "n_records": "—", "amount": 0.0}]
    ).reindex(columns=list(DUPLICATE_HEADERS))
    rows_for = _DuplicateRows(duplicate_frames(flags, records, households), empty)
    return ReportSection(sheet=t("rep_duplicates"), headers=DUPLICATE_HEADERS, rows_for=rows_for, note=DUPLICATE_NOTE)


@dataclass(frozen=True, eq=False)
class _DuplicateRows:
    """A scope's 重复救助 rows (a plain object, see :class:`_CapacityRows`)."""

    frames: dict[tuple[str, str], pd.DataFrame]
    empty: pd.DataFrame

    def __call__(self, scope: Scope) -> pd.DataFrame:
        area = "" if scope.level == LEVEL_DISTRICT else scope.area_id
        return self.frames.get((scope.level, area), self.empty).copy()


def duplicate_rows(flags: pd.DataFrame, records: pd.DataFrame, households: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """The printed 重复救助 rows of one scope (:func:`duplicates_section`'s ``rows_for``)."""
    return duplicates_section(flags, records, households).rows_for(scope)


# -- the one assembly -------------------------------------------------------------------------------
def report_sections(
    towns: gpd.GeoDataFrame,
    capacity: CapacityView | None,
    records: DatasetRecords | None,
    flags: pd.DataFrame | None,
) -> tuple[ReportSection, ...]:
    """The #13 sections of a report: 服务能力 (when needs and offers were matched), 重复救助 when the
    dataset has service records.

    Parameters
    ----------
    towns : the towns (``town_code``, ``name``) whose names the capacity rows print.
    capacity : :func:`service.capacity.capacity_view` of the district (None: no needs or offers to match,
        no capacity section).
    records : the dataset's service records (None: no duplicates section).
    flags : every flag of the records (:func:`data.duplicates.flag_duplicates`), reviews
        applied (:func:`data.duplicates.apply_reviews`) when there are any.
    """
    names = dict(zip(towns["town_code"].astype(str), towns["name"].astype(str), strict=True))
    sections = [] if capacity is None else [capacity_section(capacity, names)]
    if records is not None:
        f = flags if flags is not None else flag_duplicates(records.records, period=DEFAULT_PERIOD)
        sections.append(duplicates_section(f, records.records, records.households))
    return tuple(sections)


def dataset_sections(
    bundle: Bundle,
    match: MatchingResult | None,
    records: DatasetRecords | None,
    store: Store | None,
    dataset: str,
) -> tuple[ReportSection, ...]:
    """:func:`report_sections` computed from scratch (the command line): capacity from ``match``
    (the district's matching of ``bundle``), flags of ``records`` with the stored reviews."""
    empty = pd.DataFrame(columns=["department", "item_id", "town_code", "date"])
    recs = records.records if records is not None else empty
    view = None if match is None else capacity_view(match, bundle.providers, bundle.towns, recs)
    flags = None
    if records is not None:
        flags = flag_duplicates(records.records, period=DEFAULT_PERIOD)
        if store is not None:
            flags = apply_reviews(flags, load_reviews(store, dataset=dataset))
    return report_sections(bundle.towns, view, records, flags)


__all__ = [
    "CAPACITY_HEADERS",
    "DUPLICATE_HEADERS",
    "PROTECTED_COLUMNS",
    "capacity_rows",
    "capacity_section",
    "dataset_sections",
    "duplicate_rows",
    "duplicates_section",
    "report_sections",
]
