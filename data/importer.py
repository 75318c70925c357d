"""Import of user spreadsheets (beneficiaries, hubs, providers) with row-level validation.

The pipeline is pure (no files, no streamlit): :func:`map_columns` maps the headers
(Chinese or English, :data:`data.schemas.ALIASES` plus the user's own mapping from the
UI's column-mapping step) onto canonical names, and :func:`import_table` checks every
row. Each row is either **accepted** (canonical columns of
:data:`data.schemas.TABLE_COLUMNS`, WGS-84) or **rejected** with a reason code of
:data:`REASONS` and a Chinese message; nothing is lost:
``accepted + rejected == read`` always holds. Rejected rows keep every original column
untouched, so the user can download them, fix them in Excel and import them again (the
annotation columns ``source_row``, ``reason_code`` and ``reason`` are recognised and
replaced on re-import).

Coordinates
-----------
* A per-row ``坐标系`` column (``crs``) overrides the file-level choice for that row.
* ``crs="auto"`` with a :class:`geo.snap.Snapper` detects WGS-84 / GCJ-02 / BD-09 from
  how well the points fit the walking network (:func:`data.crs.detect_crs`); without a
  snapper the file is read as WGS-84 and the summary says so. A declared system (file or
  row) is honoured, but when the network says it looks wrong, a warning is raised.
* Swapped longitude / latitude (e.g. ``经度 30.25, 纬度 120.10``) is detected when the
  point is implausible as given and plausible swapped (inside the area's bounding box
  plus about 5 km, or inside China without an area); it is fixed with a warning only
  when the swapped point, converted to WGS-84, falls inside the area (plus the buffer),
  and rejected otherwise (``coords_swapped``).
* ``0, 0`` counts as empty (Excel's blank numeric cell).
* A row without coordinates but with a known community is placed at that community's
  point, flagged approximate (``coord_approx=True`` for beneficiaries,
  ``location_source="community_centroid"`` for hubs). Providers have no such flag, so
  they need coordinates.

Privacy
-------
Beneficiaries keep only ``id_hash`` (HMAC-SHA256 with the caller's key),
``id_last4`` and ``name_masked``: the clear ID-card number and the full name never reach
``accepted``. They do stay in ``rejected``, which is the user's own file handed back to
be fixed; treat it as confidential.

Blank rows (every cell empty) are skipped and counted (``summary["blank_rows"]``); they
are not part of ``read``.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import ColumnMappingError, DataError, UnknownCRSError
from core.i18n import CATEGORY_ZH, PROVIDER_KIND_ZH, TIER_ZH
from core.vocab import (
    ITEM_BY_CODE,
    LIST_SEP,
    NEED_URGENCY_MAX,
    NEED_URGENCY_MIN,
    SERVICE_CATALOGUE,
    URGENCY_MAX,
    URGENCY_MIN,
    need_type_of,
    need_urgency_from_household,
)
from data.crs import CRS_LABEL_ZH, WGS84, check_crs, detect_crs, out_of_china, to_wgs84
from data.idcard import ID_REASONS, check_id_card, id_hash, mask_name
from data.needs import HOW_SIMILAR, match_need_wording
from data.schemas import (
    ALIASES,
    CATALOGUE_COLUMNS,
    CATEGORY_ALIASES,
    DELIVERY_ALIASES,
    KINDS,
    MATCHING_ALIASES,
    MATCHING_KINDS,
    NEED_COLUMNS,
    NEED_TYPE_ALIASES,
    OFFER_COLUMNS,
    PROVIDER_KIND_ALIASES,
    SERVICE_ALIASES,
    TABLE_COLUMNS,
    TIER_ALIASES,
)
from geo.metric import utm_crs_for_lonlat

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from geo.snap import Snapper

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: the id column of each kind
ID_COLUMN: Final[dict[str, str]] = {kind: cols[0] for kind, cols in TABLE_COLUMNS.items()}
#: columns read from a file but never stored (beyond the canonical ones), per kind
INPUT_ONLY_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "beneficiaries": ("person_name", "id_card", "crs", "address"),
    "hubs": ("crs", "address", "community_name", "community_code"),
    "providers": ("crs", "address"),
}
#: canonical columns that are always computed, never read
DERIVED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {"beneficiaries": ("need_type",), "hubs": (), "providers": ()}
#: columns that must be mapped for an import to start (coordinates: see ``_check_required``)
REQUIRED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "beneficiaries": ("beneficiary_id", "category"),
    "hubs": ("hub_id", "name", "tier"),
    "providers": ("provider_id", "name", "kind"),
}
#: the annotation columns this module adds to rejected rows (recognised on re-import)
ANNOTATION_COLUMNS: Final = ("source_row", "reason_code", "reason")

#: largest household accepted
MAX_HOUSEHOLD: Final = 30
#: swapped-coordinate plausibility box: the area's bounds widened by this many degrees
SWAP_BOX_PAD_DEG: Final = 0.05
#: ``location_source`` of hubs placed from the file / at a community point
LOCATION_IMPORTED: Final = "imported"
LOCATION_COMMUNITY: Final = "community_centroid"

_CATEGORY_LIST = "、".join(CATEGORY_ZH.values())
_TIER_LIST = "、".join(TIER_ZH.values())
_KIND_LIST = "、".join(PROVIDER_KIND_ZH.values())
_SERVICE_LIST = "、".join(f"{s.code} {s.name_zh}" for s in SERVICE_CATALOGUE)

#: reason code -> Chinese message template (``str.format`` fields in braces), in the
#: order the checks run; a row's ``reason_code`` is its first failed check and its
#: ``reason`` lists every problem found, so one round of fixing is enough
REASONS: Final[dict[str, str]] = {
    "missing_id": "缺少编号：每一行都需要唯一的编号",
    "duplicate_id": "编号“{value}”重复：{where}",
    "missing_name": "缺少名称",
    "missing_id_card": "缺少身份证号",
    **ID_REASONS,
    "duplicate_id_card": "身份证号与{where}重复（同一人出现多次）",
    "bad_id_hash": "id_hash 不是 64 位十六进制的哈希值（请勿手工修改该列）",
    "missing_category": f"救助类别为空：请填写 {_CATEGORY_LIST} 之一",
    "bad_category": f"救助类别“{{value}}”无法识别：应为 {_CATEGORY_LIST} 之一",
    "bad_household_size": f"家庭人口“{{value}}”无效：应为 1 到 {MAX_HOUSEHOLD} 之间的整数",
    "bad_urgency": f"紧急程度“{{value}}”无效：应为 {URGENCY_MIN}（最低）到 {URGENCY_MAX}（最紧急）之间的整数",
    "bad_service": f"服务项目中有无法识别的项：{{value}}。可用的项目：{_SERVICE_LIST}",
    "missing_tier": f"缺少层级：请填写 {_TIER_LIST} 之一",
    "bad_tier": f"层级“{{value}}”无法识别：应为 {_TIER_LIST} 之一",
    "missing_kind": f"缺少主体类型：请填写 {_KIND_LIST} 之一",
    "bad_kind": f"主体类型“{{value}}”无法识别：应为 {_KIND_LIST} 之一",
    "bad_capacity": "月服务能力“{value}”无效：应为不小于 0 的整数",
    "bad_flag": "“{column}”的值“{value}”无法识别：应为 是 或 否",
    "bad_crs": "坐标系“{value}”无法识别：应为 WGS84（GPS/天地图/OpenStreetMap）、GCJ02（高德/腾讯）或 BD09（百度）",
    "bad_coords": "经纬度“{value}”无法解析：请填写十进制度数，例如 经度 120.1234、纬度 30.2567",
    "missing_coords": "缺少经纬度{detail}",
    "unknown_community": "缺少经纬度，且所属社区“{value}”没有已知位置：请补充经纬度，或填写正确的社区名称/编码",
    "coords_out_of_range": "经纬度超出取值范围（经度 {lon}，纬度 {lat}）：经度应在 -180~180，纬度应在 -90~90",
    "coords_swapped": "经纬度疑似填反（经度 {lon}，纬度 {lat}），但交换后仍不在{area}范围内，无法自动更正",
    "outside_area": "坐标（经度 {lon}，纬度 {lat}，换算为 WGS-84 后）不在{area}范围内",
    # matching tables (import_matching_table)
    "missing_need_type": "缺少需求类型：请填写 生存型、关爱型、发展型 之一",
    "bad_need_type": "需求类型“{value}”无法识别：应为 生存型、关爱型、发展型 之一",
    "missing_delivery": "缺少服务方式：请填写 到站、上门、远程 之一",
    "bad_delivery": "服务方式“{value}”无法识别：应为 到站、上门、远程 之一",
    "unknown_item": "服务项目“{value}”不在服务清单中：请先在服务清单中添加，或填写清单中的项目编号",
    "duplicate_offer": "同一机构重复提供服务项目“{value}”：{where}",
    "missing_capacity": "缺少月服务能力（每月可服务的人次）",
    "bad_reach": "上门服务半径“{value}”无效：应为不小于 0 的米数",
    "unknown_provider": "机构编号“{value}”不在服务主体表中",
    "missing_household": "缺少户编号：每条需求都要对应一户救助对象",
    "unknown_household": "户编号“{value}”不在救助对象表中",
    "bad_need_urgency": "紧急程度“{value}”无效：应为 1（低）、2（中）或 3（高）",
    "bad_since": "登记日期“{value}”无法识别：请填写如 2026-11-01 的日期",
}

#: warning code -> Chinese message template (rows that were accepted with a change)
WARNINGS: Final[dict[str, str]] = {
    "coords_swapped_fixed": "经纬度填反，已自动交换为 经度 {lon}、纬度 {lat}",
    "coord_approx_community": "没有经纬度，已放在所属社区“{value}”的中心点（近似位置）",
    "id_upgraded_15": "15 位旧身份证号已按国家标准升级为 18 位后计算哈希",
    "crs_declared_suspect": "声明的坐标系是 {declared}，但与路网比对更像 {detected}：请核对坐标来源",
    "need_similar": "需求“{value}”按相近名称对应为服务项目“{item}”：请核对",
    "need_unmapped": (
        "需求“{value}”未能对应服务清单中的项目：已保留为未匹配需求，可在数据页面指定对应项目（记住后下次自动对应）"
    ),
}

#: what people write in a ``坐标系`` cell, beyond the names :func:`data.crs.check_crs` knows
#: (keys upper-case, no spaces; CGCS2000 / 天地图 differ from WGS-84 by centimetres)
CRS_ZH_ALIASES: Final[dict[str, str]] = {
    "WGS84": "wgs84", "GPS": "wgs84", "北斗": "wgs84", "CGCS2000": "wgs84", "天地图": "wgs84",
    "OSM": "wgs84", "OPENSTREETMAP": "wgs84",
    "GCJ02": "gcj02", "高德": "gcj02", "高德地图": "gcj02", "腾讯": "gcj02", "腾讯地图": "gcj02",
    "火星坐标": "gcj02", "火星坐标系": "gcj02", "国测局": "gcj02", "国测局坐标": "gcj02",
    "BD09": "bd09", "百度": "bd09", "百度地图": "bd09", "百度坐标": "bd09",
}  # fmt: skip

#: ``坐标系`` cells meaning "use the file-level choice"
CRS_FILE_LEVEL_WORDS: Final = frozenset({"AUTO", "自动", "自动识别", "未知", "不详", "-"})

#: Chinese label of a canonical column, for messages and the mapping step
COLUMN_LABEL_ZH: Final[dict[str, str]] = {
    "beneficiary_id": "编号",
    "hub_id": "编号",
    "provider_id": "编号",
    "person_name": "姓名",
    "id_card": "身份证号",
    "category": "救助类别",
    "household_size": "家庭人口",
    "lon": "经度",
    "lat": "纬度",
    "crs": "坐标系",
    "address": "地址",
    "community_name": "所属社区",
    "community_code": "社区编码",
    "town_code": "镇街编码",
    "needs": "需求",
    "need_type": "需求类型",
    "urgency": "紧急程度",
    "id_hash": "身份证哈希",
    "id_last4": "身份证后四位",
    "name_masked": "姓名（脱敏）",
    "coord_approx": "近似位置",
    "synthetic": "模拟数据",
    "name": "名称",
    "tier": "层级",
    "parent_id": "上级编号",
    "services": "服务项目",
    "opening_hours": "开放时间",
    "location_source": "位置来源",
    "kind": "主体类型",
    "department": "所属部门",
    "capacity_month": "月服务能力",
}

_TRUE = frozenset({"1", "true", "t", "yes", "y", "是", "真", "√", "✓"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "否", "假", "×"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INT_RE = re.compile(r"^\+?(\d+)(\.0*)?$")
_LIST_SPLIT = re.compile(r"[;；,，、|]+")
_PART_SPLIT = re.compile(r"[/\s]+")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_COMMUNITY_SUFFIXES = ("社区居民委员会", "村民委员会", "社区居委会", "居委会", "村委会", "社区", "村")


@dataclass(frozen=True)
class ImportResult:
    """Outcome of :func:`import_table`.

    Attributes
    ----------
    accepted : pandas.DataFrame
        Canonical columns of ``TABLE_COLUMNS[kind]`` in order; text ``str`` (missing NaN),
        ``lon``/``lat`` float64 WGS-84 degrees, counts ``Int64``, flags ``bool``.
    rejected : pandas.DataFrame
        Every original column untouched, then ``source_row`` (1-based spreadsheet line,
        the header being line 1), ``reason_code`` (first failed check, a key of
        :data:`REASONS`) and ``reason`` (Chinese, every problem of the row).
    warnings : pandas.DataFrame
        One row per warning on an accepted row: ``source_row``, ``record_id``, ``code``
        (a key of :data:`WARNINGS`), ``message`` (Chinese).
    summary : dict
        JSON-serialisable: ``kind``, ``read``, ``accepted``, ``rejected``, ``blank_rows``,
        ``reasons`` {code: count}, ``warnings`` {code: count}, ``crs_detected``,
        ``crs_source`` (``auto``, ``auto_unconfident``, ``declared``, ``fallback``),
        ``crs_confident``, ``crs_margin_m``, ``crs_message_zh``, ``crs_rows``
        {crs: accepted rows}, ``mapping`` {header: column}, ``unmapped`` [headers],
        ``notes`` [Chinese remarks]; for beneficiaries also ``unmapped_needs``
        {wording: accepted households} (need wording no catalogue item matched).
    needs : pandas.DataFrame
        Beneficiaries only: one row per need of an accepted household
        (:data:`data.schemas.NEED_COLUMNS`): ``need_id`` = ``<beneficiary_id>-<k>``,
        ``household_id``, ``item_id`` (None for an unmapped wording, kept with its
        ``wording``), ``urgency`` 1-3 from the household's 1-5
        (:func:`core.vocab.need_urgency_from_household`; 1 when the household has none).
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    summary: dict[str, Any]
    needs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(NEED_COLUMNS)))


# ------------------------------------------------------------------------------ cells


def _cell(value: object) -> str:
    """A cell as stripped text ("" for empty / NaN / None)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _norm(text: str) -> str:
    """NFKC (full-width digits and brackets to ASCII), stripped."""
    return unicodedata.normalize("NFKC", text).strip()


def normalize_header(header: object) -> str:
    """Header key for alias lookup: NFKC, no BOM, no whitespace, lower-case."""
    text = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "")
    return re.sub(r"\s+", "", text).lower()


def _parse_float(text: str) -> float | None:
    """Decimal degrees; a trailing ``°`` is tolerated. None when unparsable or not finite."""
    t = _norm(text).rstrip("°").strip()
    if not _FLOAT_RE.match(t):
        return None
    value = float(t)
    return value if math.isfinite(value) else None


def _parse_int(text: str, units: str = "") -> int | None:
    """A non-negative integer (``"3"``, ``"3.0"``, ``"3人"`` with ``units="人"``); None otherwise."""
    t = _norm(text)
    if units:
        t = t.rstrip(units).strip()
    m = _INT_RE.match(t)
    return int(m.group(1)) if m else None


def _parse_flag(text: str) -> bool | None:
    t = _norm(text).lower()
    if t in _TRUE:
        return True
    if t in _FALSE or t == "":
        return False
    return None


def _lookup(text: str, aliases: Mapping[str, str]) -> str | None:
    t = _norm(text)
    for key in (t, t.lower(), t.upper(), re.sub(r"\s+", "", t)):
        if key in aliases:
            return aliases[key]
    return None


def parse_services(text: str) -> tuple[list[str], list[str]]:
    """Service codes in a multi-valued cell, and the parts that were not recognised.

    Items are separated by ``;`` ``；`` ``,`` ``，`` ``、`` or ``|``; an item may be a code
    (``S01``), a Chinese name (``医疗救助``, ``低保金/兜底保障`` or one of its halves) or
    an English name. Codes come back in first-seen order, without repeats.
    """
    codes: list[str] = []
    unknown: list[str] = []
    for item in _LIST_SPLIT.split(_norm(text)):
        item = item.strip()
        if not item:
            continue
        code = _lookup(item, SERVICE_ALIASES)
        found = [code] if code else [_lookup(p, SERVICE_ALIASES) for p in _PART_SPLIT.split(item) if p]
        if not found or any(c is None for c in found):
            unknown.append(item)
            continue
        codes.extend(c for c in found if c is not None and c not in codes)
    return codes, unknown


# ------------------------------------------------------------------------------ columns


def _targets(kind: str) -> tuple[str, ...]:
    """Canonical names a column of ``kind`` may be mapped to."""
    return tuple(c for c in (*TABLE_COLUMNS[kind], *INPUT_ONLY_COLUMNS[kind]) if c not in DERIVED_COLUMNS[kind])


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        msg = f"未知的数据类型“{kind}”：应为 {', '.join(KINDS)} 之一 (unknown kind)"
        raise ColumnMappingError(msg)


def _alias_table(kind: str) -> dict[str, str]:
    """Normalised header -> canonical column: the kind's canonical names, then ALIASES."""
    table = {normalize_header(c): c for c in _targets(kind)}
    for header, col in ALIASES[kind].items():
        if kind == "beneficiaries" and col == "name":  # "名称"/"name" of a person is the name
            col = "person_name"
        table.setdefault(normalize_header(header), col)
    return table


def map_columns(
    df: pd.DataFrame, kind: str, mapping: Mapping[str, str | None] | None = None
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Map a table's headers onto the canonical columns of ``kind``.

    Headers are matched case-insensitively after NFKC normalisation and removal of
    whitespace (``" 经度 "``, ``"LON"``); a header with a bracketed suffix
    (``"经度(高德)"``, ``"家庭人口（人）"``) is tried without it. The user's ``mapping``
    (the UI's column-mapping step) wins over the aliases; mapping a header to ``None`` or
    ``""`` ignores that column. When two headers claim the same column, the first wins
    and the other is reported as unmapped.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read (any headers).
    kind : str
        ``"beneficiaries"``, ``"hubs"`` or ``"providers"``.
    mapping : mapping of str to str or None, optional
        Original header -> canonical column (see :func:`mappable_columns`).

    Returns
    -------
    (view, mapping_used, unmapped)
        ``view``: a frame with the canonical column names (same index, values as in
        ``df``); ``mapping_used``: original header -> canonical column;
        ``unmapped``: original headers not used (this module's annotation columns
        ``source_row``/``reason_code``/``reason`` are ignored silently).

    Raises
    ------
    ColumnMappingError
        For an unknown kind, a mapping to an unknown column or from a missing header,
        or two headers mapped to one column by the user.
    """
    _check_kind(kind)
    headers = [str(c) for c in df.columns]
    user = _checked_user_mapping(df, mapping, _targets(kind))

    aliases = _alias_table(kind)
    own = _own_annotations(headers)
    used: dict[str, str] = {h: c for h, c in user.items() if c}
    taken = set(used.values())
    unmapped: list[str] = []
    for header in headers:
        if header in user or header in own:
            continue
        key = normalize_header(header)
        col = aliases.get(key) or aliases.get(_PAREN.sub("", key))
        if col is None or col in taken:
            unmapped.append(header)
            continue
        used[header] = col
        taken.add(col)
    positions = {h: i for i, h in enumerate(headers)}
    ordered = sorted(used.items(), key=lambda hc: positions[hc[0]])
    view = pd.DataFrame(
        {col: df.iloc[:, positions[header]] for header, col in ordered}, index=df.index, columns=[c for _, c in ordered]
    )
    return view, dict(ordered), unmapped


def mappable_columns(kind: str) -> dict[str, str]:
    """Canonical columns a header of ``kind`` may be mapped to, with their Chinese labels."""
    _check_kind(kind)
    return {c: COLUMN_LABEL_ZH.get(c, c) for c in _targets(kind)}


def _own_annotations(headers: Iterable[str]) -> set[str]:
    """Annotation columns left by a previous import (only when ``reason_code`` is present)."""
    hs = set(headers)
    return set(ANNOTATION_COLUMNS) & hs if "reason_code" in hs else set()


def _check_required(view: pd.DataFrame, kind: str, unmapped: list[str]) -> None:
    cols = set(view.columns)
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in cols]
    has_xy = {"lon", "lat"} <= cols
    if ("lon" in cols) != ("lat" in cols):
        missing.append("lat" if "lon" in cols else "lon")
    elif not has_xy:
        can_place = kind != "providers" and bool({"community_name", "community_code"} & cols)
        if not can_place:
            missing.extend(["lon", "lat"])
    if missing:
        names = "、".join(f"{COLUMN_LABEL_ZH.get(c, c)}（{c}）" for c in missing)
        hint = f"；未识别的列：{'、'.join(unmapped)}，可在列映射中指定" if unmapped else ""
        msg = f"缺少必需的列：{names}{hint} (missing required columns: {', '.join(missing)})"
        raise ColumnMappingError(msg)


# ------------------------------------------------------------------------------ area & communities


def _area_tester(
    area: BaseGeometry | None, buffer_m: float, metric_crs: str | None
) -> Callable[[FloatArray, FloatArray], BoolArray]:
    """Vectorised "inside the area plus ``buffer_m``" test for WGS-84 points (China without an area)."""
    if area is None:
        return lambda lo, la: ~out_of_china(lo, la)
    import shapely
    from pyproj import Transformer

    c = area.centroid
    crs = metric_crs or utm_crs_for_lonlat(float(c.x), float(c.y))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    metric = shapely.transform(area, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    zone = shapely.buffer(metric, float(buffer_m)) if buffer_m > 0 else metric
    shapely.prepare(zone)

    def inside(lo: FloatArray, la: FloatArray) -> BoolArray:
        out = np.zeros(lo.shape[0], dtype=bool)
        ok = np.isfinite(lo) & np.isfinite(la) & (np.abs(lo) <= 180) & (np.abs(la) <= 90)
        if ok.any():
            x, y = fwd.transform(lo[ok], la[ok])
            out[ok] = shapely.contains_xy(zone, np.asarray(x), np.asarray(y))
        return out

    return inside


def _plausible_box(area: BaseGeometry | None) -> Callable[[FloatArray, FloatArray], BoolArray]:
    """Coarse "could be in the area" test used to recognise swapped coordinates."""
    if area is None:
        return lambda lo, la: ~out_of_china(lo, la)
    x0, y0, x1, y1 = area.bounds
    p = SWAP_BOX_PAD_DEG
    return lambda lo, la: (lo >= x0 - p) & (lo <= x1 + p) & (la >= y0 - p) & (la <= y1 + p)


def _community_key(name: str) -> str:
    t = _squash(name)
    for suffix in _COMMUNITY_SUFFIXES:
        if t.endswith(suffix) and len(t) > len(suffix):
            return t[: -len(suffix)]
    return t


class _Communities:
    """Lookup of community points by code, exact name, or name without its suffix.

    ``"宝石"`` finds ``"宝石社区"`` and ``"龙井村"`` finds ``"龙井村委会"``; a short name that
    two communities share (``"西溪"`` for ``西溪社区`` and ``西溪村``) finds neither.
    """

    def __init__(self, table: pd.DataFrame | None) -> None:
        self.rows: list[tuple[str, str, float, float]] = []
        self.by_code: dict[str, int] = {}
        self.by_exact: dict[str, int] = {}
        self.by_base: dict[str, int] = {}
        if table is None or len(table) == 0:
            return
        missing = {"community_code", "community_name", "lon", "lat"} - set(table.columns)
        if missing:
            msg = f"社区表缺少列：{', '.join(sorted(missing))} (communities table lacks columns)"
            raise ColumnMappingError(msg)
        ambiguous: set[str] = set()
        for code, name, lon, lat in table[["community_code", "community_name", "lon", "lat"]].itertuples(index=False):
            lo, la = float(lon), float(lat)
            if not (math.isfinite(lo) and math.isfinite(la)):
                continue
            i = len(self.rows)
            code_t, name_t = _norm(_cell(code)), _cell(name)
            self.rows.append((code_t, name_t, lo, la))
            if code_t:
                self.by_code.setdefault(code_t, i)
            if name_t:
                self.by_exact.setdefault(_squash(name_t), i)
                base = _community_key(name_t)
                if base in self.by_base and self.rows[self.by_base[base]][1] != name_t:
                    ambiguous.add(base)
                self.by_base.setdefault(base, i)
        for base in ambiguous:
            del self.by_base[base]

    def find(self, code: str, name: str) -> int | None:
        """Row of the community with this code or name (code first); None when unknown."""
        if code and _norm(code) in self.by_code:
            return self.by_code[_norm(code)]
        if not name:
            return None
        hit = self.by_exact.get(_squash(name))
        return hit if hit is not None else self.by_base.get(_community_key(name))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", _norm(text))


def read_area(path: str | Path) -> BaseGeometry:
    """The union of a polygon layer's geometries, in WGS-84 (GeoJSON, GeoPackage, Shapefile).

    Raises
    ------
    DataError
        When the file cannot be read, has no CRS or no polygon.
    """
    import pyogrio
    import shapely

    p = Path(path)
    try:
        gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        msg = f"无法读取区域文件 {p.name}：{exc} (cannot read area file)"
        raise DataError(msg) from exc
    if gdf.crs is None:
        msg = f"区域文件 {p.name} 没有坐标参考系；应为 WGS-84 (area file has no CRS)"
        raise DataError(msg)
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geoms = [g for g in gdf.geometry if g is not None and not g.is_empty and g.geom_type.endswith("Polygon")]
    if not geoms:
        msg = f"区域文件 {p.name} 中没有面要素 (area file holds no polygon)"
        raise DataError(msg)
    return shapely.union_all(geoms)


def read_communities(path: str | Path) -> pd.DataFrame:
    """Community points from a centroid layer (``centroids_2016_wgs84.geojson`` schema).

    Keeps features whose ``level`` is ``village`` (all when there is no ``level``);
    coordinates from ``lon_wgs84``/``lat_wgs84`` when present, else the point geometry.

    Returns
    -------
    pandas.DataFrame with ``community_code``, ``community_name``, ``lon``, ``lat`` (WGS-84).
    """
    import pyogrio

    p = Path(path)
    try:
        gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        msg = f"无法读取社区文件 {p.name}：{exc} (cannot read communities file)"
        raise DataError(msg) from exc
    if "level" in gdf.columns:
        gdf = gdf[gdf["level"] == "village"]
    if {"lon_wgs84", "lat_wgs84"} <= set(gdf.columns):
        lon = gdf["lon_wgs84"].astype("float64")
        lat = gdf["lat_wgs84"].astype("float64")
    else:
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        lon, lat = gdf.geometry.x, gdf.geometry.y
    return pd.DataFrame(
        {
            "community_code": gdf["code"].astype("str").to_numpy() if "code" in gdf.columns else "",
            "community_name": gdf["name"].astype("str").to_numpy(),
            "lon": np.asarray(lon, dtype=np.float64),
            "lat": np.asarray(lat, dtype=np.float64),
        }
    )


# ------------------------------------------------------------------------------ the import


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else "空"


def _dtype_of(column: str) -> str:
    """Canonical dtype of a stored column (the rule of ``data.storage``)."""
    if column in ("lon", "lat"):
        return "float64"
    if column in ("household_size", "urgency", "capacity_month"):
        return "Int64"
    if column in ("synthetic", "coord_approx"):
        return "bool"
    return "str"


class _Rows:
    """Per-row problems and warnings, in the order they were found."""

    def __init__(self, n: int, source_row: list[int]) -> None:
        self.problems: list[list[tuple[str, str]]] = [[] for _ in range(n)]
        self.warnings: list[tuple[int, str, str]] = []
        self.source_row = source_row

    def reject(self, i: int, code: str, **ctx: object) -> None:
        self.problems[i].append((code, REASONS[code].format(**ctx)))

    def warn(self, i: int, code: str, **ctx: object) -> None:
        self.warnings.append((i, code, WARNINGS[code].format(**ctx)))

    def ok(self, i: int) -> bool:
        return not self.problems[i]


def import_table(
    raw: pd.DataFrame,
    kind: str,
    *,
    crs: str = "auto",
    snapper: Snapper | None = None,
    area: BaseGeometry | None = None,
    area_buffer_m: float = 1000.0,
    area_name: str = "导入区域",
    communities: pd.DataFrame | None = None,
    id_key: bytes | None = None,
    existing_ids: Iterable[str] = (),
    existing_id_hashes: Iterable[str] = (),
    mapping: Mapping[str, str | None] | None = None,
    need_aliases: Mapping[str, str] | None = None,
) -> ImportResult:
    """Validate a user table row by row: accepted canonical rows, rejected original rows.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (ideally every cell as text, see :func:`data.tables.read_table`).
    kind : str
        ``"beneficiaries"``, ``"hubs"`` or ``"providers"``.
    crs : str
        File-level coordinate system: ``"auto"`` (detect with ``snapper``; WGS-84 without
        one) or a name :func:`data.crs.check_crs` accepts. A per-row ``坐标系`` wins.
    snapper : geo.snap.Snapper, optional
        Snapper over the walking network, for CRS detection.
    area : shapely Polygon or MultiPolygon, optional
        The area the points must lie in (WGS-84); China's rectangle when ``None``.
    area_buffer_m : float
        Tolerance around ``area``, metres.
    area_name : str
        Name of the area in messages (e.g. ``"西湖区"``).
    communities : pandas.DataFrame, optional
        ``community_code``, ``community_name``, ``lon``, ``lat`` (WGS-84): where to place
        rows without coordinates, and how to complete community codes.
    id_key : bytes, optional
        Key for :func:`data.idcard.id_hash`; without it ``id_hash`` stays empty (the
        numbers are still validated and de-duplicated).
    existing_ids : iterable of str
        Record ids already stored: rows reusing one are rejected (``duplicate_id``).
    existing_id_hashes : iterable of str
        ID-card hashes already stored (same key): ``duplicate_id_card``.
    mapping : mapping, optional
        The user's column mapping (see :func:`map_columns`).
    need_aliases : mapping of wording -> item_id, optional
        Remembered need wording (:meth:`data.storage.Store.need_aliases`): a 需求 cell's
        wording is matched by :func:`data.needs.match_need_wording`; what matches nothing
        is kept as an unmapped need with a warning (``need_unmapped``), never rejected.

    Returns
    -------
    ImportResult

    Raises
    ------
    ColumnMappingError
        When a required column is missing or the mapping is invalid.
    UnknownCRSError
        When ``crs`` is not a known system name.
    """
    _check_kind(kind)
    file_crs = None if _norm(crs).lower() == "auto" else check_crs(crs)
    raw = raw.reset_index(drop=True)
    view, mapping_used, unmapped = map_columns(raw, kind, mapping)
    _check_required(view, kind, unmapped)

    own = _own_annotations(str(c) for c in raw.columns)
    data_cols = [c for c in raw.columns if str(c) not in own]
    cells = raw[data_cols].map(_cell).to_numpy(dtype=object)
    blank = np.asarray((cells == "").all(axis=1), dtype=bool) if data_cols else np.ones(len(raw), dtype=bool)
    keep = np.flatnonzero(~blank)
    source_row = (keep + 2).tolist()  # header is line 1
    view = view.iloc[keep].reset_index(drop=True)
    n = len(keep)
    rows = _Rows(n, source_row)
    text = {c: [_cell(v) for v in view[c].tolist()] for c in view.columns}

    def col(name: str) -> list[str]:
        return text.get(name, [""] * n)

    out: dict[str, list[Any]] = {}
    notes: list[str] = []
    _check_ids(kind, col(ID_COLUMN[kind]), rows, out, set(map(str, existing_ids)))
    if kind == "beneficiaries":
        _check_beneficiary_fields(text, col, rows, out, notes, id_key, set(existing_id_hashes), need_aliases)
    elif kind == "hubs":
        _check_hub_fields(col, rows, out)
    else:
        _check_provider_fields(col, rows, out)
    for flag in ("synthetic", "coord_approx"):
        if flag in TABLE_COLUMNS[kind]:
            values: list[Any] = []
            for i, t in enumerate(col(flag)):
                parsed = _parse_flag(t)
                if parsed is None:
                    rows.reject(i, "bad_flag", column=COLUMN_LABEL_ZH[flag], value=t)
                values.append(bool(parsed))
            out[flag] = values

    crs_info = _resolve_coordinates(
        kind,
        col,
        rows,
        out,
        file_crs=file_crs,
        snapper=snapper,
        area=area,
        area_buffer_m=area_buffer_m,
        area_name=area_name,
        communities=_Communities(communities),
    )

    ok = np.array([rows.ok(i) for i in range(n)], dtype=bool)
    accepted = _accepted_frame(kind, out, ok)
    rejected = _rejected_frame(raw, keep[~ok], [rows.problems[i] for i in np.flatnonzero(~ok)])
    id_col = col(ID_COLUMN[kind])
    warn_rows = [(source_row[i], id_col[i], code, msg) for i, code, msg in rows.warnings if ok[i]]
    warnings = pd.DataFrame(warn_rows, columns=["source_row", "record_id", "code", "message"]).astype(
        {"source_row": "int64", "record_id": "str", "code": "str", "message": "str"}
    )
    if len(accepted) + len(rejected) != n:  # the invariant: nothing is lost
        msg = f"import lost rows: {len(accepted)} accepted + {len(rejected)} rejected != {n} read"
        raise AssertionError(msg)

    needs = _needs_frame(out, ok) if kind == "beneficiaries" else _empty_needs()
    reasons = rejected["reason_code"].value_counts().to_dict() if len(rejected) else {}
    warn_counts = warnings["code"].value_counts().to_dict() if len(warnings) else {}
    crs_rows: dict[str, BoolArray] = crs_info.pop("rows_by_crs")
    notes.extend(crs_info.pop("notes"))
    summary: dict[str, Any] = {
        "kind": kind,
        "read": int(n),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "blank_rows": int(blank.sum()),
        "reasons": {str(k): int(v) for k, v in reasons.items()},
        "warnings": {str(k): int(v) for k, v in warn_counts.items()},
        **crs_info,
        "crs_rows": {k: int((np.asarray(v) & ok).sum()) for k, v in crs_rows.items() if (np.asarray(v) & ok).any()},
        "mapping": mapping_used,
        "unmapped": unmapped,
        "notes": notes,
    }
    if kind == "beneficiaries":
        unmapped_needs = needs.loc[needs["item_id"].isna(), "wording"].value_counts()
        summary["unmapped_needs"] = {str(k): int(v) for k, v in unmapped_needs.items()}
    log.info("import %s: %d read, %d accepted, %d rejected", kind, n, len(accepted), len(rejected))
    return ImportResult(accepted=accepted, rejected=rejected, warnings=warnings, summary=summary, needs=needs)


def _check_ids(kind: str, ids: list[str], rows: _Rows, out: dict[str, list[Any]], existing: set[str]) -> None:
    clean = []
    for raw_id in ids:
        rid = _norm(raw_id)
        if re.fullmatch(r"\d+\.0+", rid):  # an integer id that went through a numeric cell
            rid = rid.split(".")[0]
        clean.append(rid)
    _unique_ids(clean, rows, existing)
    out[ID_COLUMN[kind]] = [rid or None for rid in clean]


def _text_or_none(values: list[str]) -> list[Any]:
    return [v or None for v in values]


def _check_beneficiary_fields(
    text: dict[str, list[str]],
    col: Callable[[str], list[str]],
    rows: _Rows,
    out: dict[str, list[Any]],
    notes: list[str],
    id_key: bytes | None,
    existing_hashes: set[str],
    need_aliases: Mapping[str, str] | None = None,
) -> None:
    n = len(rows.problems)
    hashes: list[Any] = [None] * n
    last4: list[Any] = [None] * n
    if "id_card" in text:
        seen: dict[str, int] = {}
        for i, value in enumerate(col("id_card")):
            if not value:
                rows.reject(i, "missing_id_card")
                continue
            check = check_id_card(value)
            if not check.ok or check.normalized is None:
                rows.reject(i, check.code or "id_bad_length")
                continue
            number = check.normalized
            if check.upgraded:
                rows.warn(i, "id_upgraded_15")
            h = id_hash(number, id_key) if id_key is not None else None
            if h is not None and h in existing_hashes:
                rows.reject(i, "duplicate_id_card", where="现有数据中的记录")
            elif number in seen:
                rows.reject(i, "duplicate_id_card", where=f"第 {rows.source_row[seen[number]]} 行")
            else:
                seen[number] = i
            hashes[i] = h
            last4[i] = number[-4:]
        if id_key is None:
            notes.append("未提供身份证哈希密钥：身份证号已校验和查重，但没有保存哈希值（id_hash 为空）")
    else:
        if "id_hash" in text:
            seen_h: dict[str, int] = {}
            for i, value in enumerate(col("id_hash")):
                h = _norm(value).lower()
                if not h:
                    continue
                if not _HEX64.match(h):
                    rows.reject(i, "bad_id_hash")
                    continue
                if h in existing_hashes:
                    rows.reject(i, "duplicate_id_card", where="现有数据中的记录")
                elif h in seen_h:
                    rows.reject(i, "duplicate_id_card", where=f"第 {rows.source_row[seen_h[h]]} 行")
                else:
                    seen_h[h] = i
                hashes[i] = h
        last4 = _text_or_none([_norm(v)[-4:] for v in col("id_last4")])
        if "id_hash" not in text:
            notes.append("文件中没有身份证号列：无法按身份证查重")
    out["id_hash"] = hashes
    out["id_last4"] = last4
    if "person_name" in text:
        out["name_masked"] = [mask_name(v) or None for v in col("person_name")]
    else:
        out["name_masked"] = _text_or_none(col("name_masked"))

    _check_required_code(col, rows, out, "category", CATEGORY_ALIASES)

    sizes: list[Any] = []
    for i, value in enumerate(col("household_size")):
        size = _parse_int(value, "人口户") if value else None
        if value and (size is None or not 1 <= size <= MAX_HOUSEHOLD):
            rows.reject(i, "bad_household_size", value=value)
            size = None
        sizes.append(size)
    out["household_size"] = sizes

    needs: list[Any] = []
    need_types: list[Any] = []
    per_row: list[list[tuple[str | None, str]]] = []
    for i, value in enumerate(col("needs")):
        found = parse_need_cell(value, need_aliases)
        for item, wording, how in found:
            if item is None:
                rows.warn(i, "need_unmapped", value=wording)
            elif how == HOW_SIMILAR:
                rows.warn(i, "need_similar", value=wording, item=ITEM_BY_CODE[item].name_zh)
        codes = list(dict.fromkeys(item for item, _, _ in found if item is not None))
        needs.append(LIST_SEP.join(codes) or None)
        need_types.append(need_type_of(codes))
        per_row.append([(item, wording) for item, wording, _ in found])
    out["needs"] = needs
    out["need_type"] = need_types
    out["_needs_per_row"] = per_row

    urgency: list[Any] = []
    for i, value in enumerate(col("urgency")):
        level = _parse_int(value, "级") if value else None
        if value and (level is None or not URGENCY_MIN <= level <= URGENCY_MAX):
            rows.reject(i, "bad_urgency", value=value)
            level = None
        urgency.append(level)
    out["urgency"] = urgency
    out["town_code"] = _text_or_none([_norm(v) for v in col("town_code")])


def parse_need_cell(text: str, aliases: Mapping[str, str] | None = None) -> list[tuple[str | None, str, str | None]]:
    """Every need of a 需求 cell as ``(item_id or None, wording, how)``, in order, without repeats.

    Items are separated like :func:`parse_services`; each is matched by
    :func:`data.needs.match_need_wording` (stored aliases, exact, conservative
    similarity); an item made of several words (``医疗救助 助餐``, ``住房/教育``) is taken
    word by word when every word matches exactly. Unmatched wording comes back with
    ``item_id`` None.
    """
    found: list[tuple[str | None, str, str | None]] = []
    for raw_item in _LIST_SPLIT.split(_norm(text)):
        item = raw_item.strip()
        if not item:
            continue
        whole = match_need_wording(item, aliases=aliases)
        parts = [p for p in _PART_SPLIT.split(item) if p]
        matches = [whole]
        if len(parts) > 1 and (whole.item_id is None or whole.how == HOW_SIMILAR):
            each = [match_need_wording(p, aliases=aliases) for p in parts]
            if all(m.item_id and m.how != HOW_SIMILAR for m in each):
                matches = each
        for m in matches:
            if m.item_id is not None and m.item_id not in {f[0] for f in found}:
                found.append((m.item_id, m.wording, m.how))
            elif m.item_id is None and m.wording not in {f[1] for f in found if f[0] is None}:
                found.append((None, m.wording, None))
    return found


def _empty_needs() -> pd.DataFrame:
    return pd.DataFrame(columns=list(NEED_COLUMNS))


def _needs_frame(out: dict[str, list[Any]], ok: BoolArray) -> pd.DataFrame:
    """One row per need of each accepted household (``ImportResult.needs``)."""
    rows: list[tuple[Any, ...]] = []
    for i in np.flatnonzero(ok):
        hid = out["beneficiary_id"][i]
        urg = out["urgency"][i]
        level = need_urgency_from_household(urg) if urg is not None else NEED_URGENCY_MIN
        for k, (item, wording) in enumerate(out["_needs_per_row"][i], start=1):
            rows.append((f"{hid}-{k}", hid, item, level, None, wording, False))
    frame = pd.DataFrame(rows, columns=list(NEED_COLUMNS))
    return frame.astype({"need_id": "str", "household_id": "str", "urgency": "int64", "synthetic": "bool"})


def _check_name(col: Callable[[str], list[str]], rows: _Rows, out: dict[str, list[Any]]) -> None:
    names = col("name")
    for i, value in enumerate(names):
        if not value:
            rows.reject(i, "missing_name")
    out["name"] = _text_or_none(names)


def _check_services(col: Callable[[str], list[str]], rows: _Rows, out: dict[str, list[Any]]) -> None:
    values: list[Any] = []
    for i, value in enumerate(col("services")):
        codes, unknown = parse_services(value)
        if unknown:
            rows.reject(i, "bad_service", value="、".join(unknown))
        values.append(LIST_SEP.join(codes) or None)
    out["services"] = values


def _check_required_code(
    col: Callable[[str], list[str]],
    rows: _Rows,
    out: dict[str, list[Any]],
    column: str,
    aliases: Mapping[str, str],
) -> None:
    """A required coded column (category, tier, kind): ``missing_<column>`` or ``bad_<column>``."""
    codes: list[Any] = []
    for i, value in enumerate(col(column)):
        code = _lookup(value, aliases) if value else None
        if not value:
            rows.reject(i, f"missing_{column}")
        elif code is None:
            rows.reject(i, f"bad_{column}", value=value)
        codes.append(code)
    out[column] = codes


def _check_hub_fields(col: Callable[[str], list[str]], rows: _Rows, out: dict[str, list[Any]]) -> None:
    _check_name(col, rows, out)
    _check_required_code(col, rows, out, "tier", TIER_ALIASES)
    _check_services(col, rows, out)
    for name in ("parent_id", "town_code", "opening_hours", "location_source"):
        out[name] = _text_or_none(col(name))


def _check_provider_fields(col: Callable[[str], list[str]], rows: _Rows, out: dict[str, list[Any]]) -> None:
    _check_name(col, rows, out)
    _check_required_code(col, rows, out, "kind", PROVIDER_KIND_ALIASES)
    out["department"] = _text_or_none(col("department"))
    _check_services(col, rows, out)
    capacity: list[Any] = []
    for i, value in enumerate(col("capacity_month")):
        cap = _parse_int(value, "人次户个/月") if value else None
        if value and cap is None:
            rows.reject(i, "bad_capacity", value=value)
        capacity.append(cap)
    out["capacity_month"] = capacity


def _resolve_coordinates(
    kind: str,
    col: Callable[[str], list[str]],
    rows: _Rows,
    out: dict[str, list[Any]],
    *,
    file_crs: str | None,
    snapper: Snapper | None,
    area: BaseGeometry | None,
    area_buffer_m: float,
    area_name: str,
    communities: _Communities,
) -> dict[str, Any]:
    """Parse, un-swap, convert, area-check and place coordinates; fills ``out`` lon/lat (WGS-84)."""
    n = len(rows.problems)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon_txt, lat_txt = col("lon"), col("lat")
    parse_ok = np.ones(n, dtype=bool)
    for i in range(n):
        lo = _parse_float(lon_txt[i]) if lon_txt[i] else math.nan
        la = _parse_float(lat_txt[i]) if lat_txt[i] else math.nan
        if lo is None or la is None:
            bad = " / ".join(t for t, v in ((lon_txt[i], lo), (lat_txt[i], la)) if v is None)
            rows.reject(i, "bad_coords", value=bad)
            parse_ok[i] = False
            continue
        if lo == 0.0 and la == 0.0:  # Excel's empty numeric cell
            continue
        lon[i], lat[i] = lo, la
    has = np.isfinite(lon) & np.isfinite(lat)
    partial = parse_ok & ~has & (np.isfinite(lon) | np.isfinite(lat))

    # per-row coordinate system
    row_crs: list[str | None] = [None] * n
    for i, value in enumerate(col("crs")):
        if not value:
            continue
        key = _squash(value).upper()
        if key in CRS_FILE_LEVEL_WORDS:
            continue
        try:
            row_crs[i] = CRS_ZH_ALIASES.get(key) or check_crs(key)
        except UnknownCRSError:
            rows.reject(i, "bad_crs", value=value)

    # swapped longitude / latitude: implausible as given, plausible swapped
    plausible = _plausible_box(area)
    swap = has & ~plausible(lon, lat) & plausible(lat, lon)
    src_lon = np.where(swap, lat, lon)
    src_lat = np.where(swap, lon, lat)

    # the file-level system
    declared_rows = np.array([c is not None for c in row_crs], dtype=bool)
    file_rows = has & ~declared_rows
    sample = file_rows & plausible(src_lon, src_lat)
    info: dict[str, Any] = {"crs_confident": False, "crs_margin_m": None}
    crs_notes: list[str] = []
    suspect: dict[str, tuple[BoolArray, str]] = {}
    if file_crs is None:
        if snapper is not None:
            det = detect_crs(src_lon[sample], src_lat[sample], snapper)
            used = det.crs
            info.update(
                crs_source="auto" if det.confident else "auto_unconfident",
                crs_confident=det.confident,
                crs_margin_m=round(det.margin_m, 1) if math.isfinite(det.margin_m) else None,
                crs_message_zh=det.message_zh,
            )
        else:
            used = WGS84
            info.update(
                crs_source="fallback",
                crs_message_zh=(
                    "未加载路网，无法自动识别坐标系，按 WGS-84 处理；如果坐标来自高德/腾讯（GCJ-02）"
                    "或百度（BD-09），请明确指定坐标系。"
                ),
            )
    else:
        used = file_crs
        info.update(crs_source="declared", crs_message_zh=f"按指定的坐标系 {CRS_LABEL_ZH[used]} 处理。")
        if snapper is not None:
            det = detect_crs(src_lon[sample], src_lat[sample], snapper, declared=used)
            info.update(
                crs_confident=det.confident,
                crs_margin_m=round(det.margin_m, 1) if math.isfinite(det.margin_m) else None,
            )
            if det.declared_looks_wrong and det.detected is not None:
                suspect[used] = (file_rows, det.detected)
                info["crs_message_zh"] = det.message_zh
    info["crs_detected"] = used
    crs_of_row = [c or used for c in row_crs]
    names = np.array(crs_of_row, dtype=object)

    # rows declaring their own system: checked per system against the network
    if snapper is not None:
        for name in sorted({c for c in row_crs if c is not None}):
            group = has & (names == name) & declared_rows
            pick = group & plausible(src_lon, src_lat)
            det = detect_crs(src_lon[pick], src_lat[pick], snapper, declared=name)
            if det.declared_looks_wrong and det.detected is not None:
                suspect[f"row:{name}"] = (group, det.detected)
                crs_notes.append(det.message_zh)
    for (group, detected), key in zip(suspect.values(), suspect, strict=True):
        declared_name = key.removeprefix("row:")
        for i in np.flatnonzero(group).tolist():
            rows.warn(i, "crs_declared_suspect", declared=CRS_LABEL_ZH[declared_name], detected=CRS_LABEL_ZH[detected])

    # conversion to WGS-84, per system
    w_lon = np.full(n, np.nan)
    w_lat = np.full(n, np.nan)
    rows_by_crs: dict[str, BoolArray] = {}
    in_range = has & (np.abs(src_lon) <= 180) & (np.abs(src_lat) <= 90)
    for name in sorted(set(crs_of_row)):
        group = in_range & (names == name)
        rows_by_crs[name] = group
        if group.any():
            w_lon[group], w_lat[group] = to_wgs84(src_lon[group], src_lat[group], name)

    inside = _area_tester(area, area_buffer_m, snapper.network.metric_crs if snapper is not None else None)(
        w_lon, w_lat
    )
    where = f"{area_name}（含 {area_buffer_m:.0f} 米缓冲）" if area is not None else "中国"
    for i in np.flatnonzero(has).tolist():
        lo_s, la_s = _fmt(lon[i]), _fmt(lat[i])
        if swap[i]:
            if inside[i]:
                rows.warn(i, "coords_swapped_fixed", lon=_fmt(src_lon[i]), lat=_fmt(src_lat[i]))
            else:
                rows.reject(i, "coords_swapped", lon=lo_s, lat=la_s, area=where)
        elif not in_range[i]:
            rows.reject(i, "coords_out_of_range", lon=lo_s, lat=la_s)
        elif not inside[i]:
            rows.reject(i, "outside_area", lon=lo_s, lat=la_s, area=where)

    # communities: place rows without coordinates, complete names and codes
    approx = np.zeros(n, dtype=bool)
    c_names, c_codes = col("community_name"), col("community_code")
    out_names: list[Any] = _text_or_none(c_names)
    out_codes: list[Any] = _text_or_none([_norm(v) for v in c_codes])
    for i in range(n):
        hit = communities.find(c_codes[i], c_names[i])
        if hit is not None:
            code, cname, clon, clat = communities.rows[hit]
            out_codes[i], out_names[i] = code or out_codes[i], cname or out_names[i]
        if has[i] or not parse_ok[i]:
            continue
        label = c_names[i] or c_codes[i]
        detail = "（只填了经度或纬度之一）" if partial[i] else ""
        if hit is not None and kind != "providers":
            w_lon[i], w_lat[i] = clon, clat
            approx[i] = True
            rows.warn(i, "coord_approx_community", value=label)
        elif label and kind != "providers":
            rows.reject(i, "unknown_community", value=label)
        else:
            rows.reject(i, "missing_coords", detail=detail)
    out["lon"] = w_lon.tolist()
    out["lat"] = w_lat.tolist()
    if kind == "beneficiaries":
        out["community_name"], out["community_code"] = out_names, out_codes
        out["coord_approx"] = [
            bool(a) or bool(b) for a, b in zip(out.get("coord_approx", [False] * n), approx, strict=True)
        ]
        out["town_code"] = [
            t or (c[:9] if c and len(c) >= 9 and c[:9].isdigit() else None)
            for t, c in zip(out["town_code"], out_codes, strict=True)
        ]
    elif kind == "hubs":
        out["location_source"] = [
            LOCATION_COMMUNITY if a else (s or LOCATION_IMPORTED)
            for a, s in zip(approx, out["location_source"], strict=True)
        ]
    info["rows_by_crs"] = rows_by_crs
    info["notes"] = crs_notes
    return info


def _accepted_frame(kind: str, out: dict[str, list[Any]], ok: BoolArray) -> pd.DataFrame:
    idx = np.flatnonzero(ok)
    data: dict[str, Any] = {}
    for column in TABLE_COLUMNS[kind]:
        values = out.get(column)
        picked = [values[i] for i in idx] if values is not None else [None] * len(idx)
        dtype = _dtype_of(column)
        if dtype == "bool":
            data[column] = pd.Series([bool(v) for v in picked], dtype="bool")
        elif dtype == "float64":
            data[column] = pd.Series(picked, dtype="float64")
        elif dtype == "Int64":
            data[column] = pd.Series(picked, dtype="Int64")
        else:
            data[column] = pd.Series(picked, dtype="str")
    return pd.DataFrame(data, columns=list(TABLE_COLUMNS[kind]))


def _rejected_frame(
    raw: pd.DataFrame, positions: npt.NDArray[np.intp], problems: list[list[tuple[str, str]]]
) -> pd.DataFrame:
    own = _own_annotations(str(c) for c in raw.columns)
    frame = raw.drop(columns=[c for c in raw.columns if str(c) in own]).iloc[positions].reset_index(drop=True)
    names = []
    for base in ANNOTATION_COLUMNS:  # never overwrite a user's own column of the same name
        name = base
        while name in frame.columns:
            name += "_"
        names.append(name)
    frame[names[0]] = pd.Series((positions + 2).astype("int64"), dtype="int64")
    frame[names[1]] = pd.Series([p[0][0] for p in problems], dtype="str")
    frame[names[2]] = pd.Series(["；".join(msg for _, msg in p) for p in problems], dtype="str")
    return frame


# ------------------------------------------------------------------------------ matching tables (#12)

#: canonical columns of each matching kind, and those that must be mapped
MATCHING_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "catalogue": CATALOGUE_COLUMNS,
    "offers": OFFER_COLUMNS,
    "needs": NEED_COLUMNS,
}
MATCHING_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "catalogue": ("item_id", "name", "need_type", "delivery"),
    "offers": ("provider_id", "item_id", "capacity_per_month"),
    "needs": ("need_id", "household_id", "item_id", "urgency"),
}


def import_matching_table(
    raw: pd.DataFrame,
    kind: str,
    *,
    catalogue: pd.DataFrame | None = None,
    provider_ids: Iterable[str] | None = None,
    household_ids: Iterable[str] | None = None,
    existing_ids: Iterable[str] = (),
    need_aliases: Mapping[str, str] | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> ImportResult:
    """Validate a service catalogue, offers or needs table row by row (Chinese or English headers).

    Same contract as :func:`import_table`: every row is accepted (canonical columns of
    :data:`data.schemas.CATALOGUE_COLUMNS`, ``OFFER_COLUMNS`` or ``NEED_COLUMNS``) or
    rejected with a reason of :data:`REASONS`; ``accepted + rejected == read``.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (cells as text).
    kind : str
        ``"catalogue"``, ``"offers"`` or ``"needs"``.
    catalogue : pandas.DataFrame, optional
        The catalogue in use (``item_id, name, aliases``; :func:`data.schemas.catalogue_frame`
        by default): offers must name one of its items (``unknown_item``); a need's item
        may be an id or wording, matched by :func:`data.needs.match_need_wording`, and is
        kept as unmapped (``item_id`` None, warning ``need_unmapped``) when nothing matches.
    provider_ids, household_ids : iterable of str, optional
        Known providers (offers) / households (needs); a row naming another is rejected.
    existing_ids : iterable of str
        Ids already stored (catalogue item_id, need need_id): ``duplicate_id``.
    need_aliases : mapping, optional
        Remembered need wording (:meth:`data.storage.Store.need_aliases`).
    mapping : mapping of str to str or None, optional
        The user's column mapping (original header -> column of :data:`MATCHING_COLUMNS`;
        None or ``""`` ignores the header); it wins over the aliases, as in :func:`map_columns`.

    Returns
    -------
    ImportResult
        ``summary`` has ``kind, read, accepted, rejected, blank_rows, reasons, warnings,
        mapping, unmapped, notes`` (and ``unmapped_needs`` for needs).
    """
    from data.schemas import catalogue_frame

    if kind not in MATCHING_KINDS:
        msg = f"未知的数据类型“{kind}”：应为 {', '.join(MATCHING_KINDS)} 之一 (unknown kind)"
        raise ColumnMappingError(msg)
    raw = raw.reset_index(drop=True)
    aliases = {normalize_header(c): c for c in MATCHING_COLUMNS[kind]}
    for header, c in MATCHING_ALIASES[kind].items():
        aliases.setdefault(normalize_header(header), c)
    own = _own_annotations(str(c) for c in raw.columns)
    user = _checked_user_mapping(raw, mapping, MATCHING_COLUMNS[kind])
    used: dict[str, str] = {h: c for h, c in user.items() if c}
    unmapped: list[str] = []
    for header in map(str, raw.columns):
        if header in own or header in user:
            continue
        key = normalize_header(header)
        target = aliases.get(key) or aliases.get(_PAREN.sub("", key))
        if target is None or target in used.values():
            unmapped.append(header)
        else:
            used[header] = target
    missing = [c for c in MATCHING_REQUIRED[kind] if c not in used.values()]
    if missing:
        hint = f"；未识别的列：{'、'.join(unmapped)}" if unmapped else ""
        msg = f"缺少必需的列：{'、'.join(missing)}{hint} (missing required columns: {', '.join(missing)})"
        raise ColumnMappingError(msg)
    data_cols = [c for c in raw.columns if str(c) not in own]
    cells = raw[data_cols].map(_cell).to_numpy(dtype=object)
    blank = np.asarray((cells == "").all(axis=1), dtype=bool) if data_cols else np.ones(len(raw), dtype=bool)
    keep = np.flatnonzero(~blank)
    n = len(keep)
    rows = _Rows(n, (keep + 2).tolist())
    by_col = {c: h for h, c in used.items()}

    def col(name: str) -> list[str]:
        h = by_col.get(name)
        return [_cell(v) for v in raw[h].iloc[keep].tolist()] if h is not None else [""] * n

    cat = catalogue if catalogue is not None else catalogue_frame()
    known_items = set(cat["item_id"].astype(str))
    out: dict[str, list[Any]] = {}
    id_col = {"catalogue": "item_id", "offers": "provider_id", "needs": "need_id"}[kind]
    ids = [_norm(v) for v in col(id_col)]
    out[id_col] = [v or None for v in ids]
    if kind != "offers":
        _unique_ids(ids, rows, set(map(str, existing_ids)))
    else:
        for i, v in enumerate(ids):
            if not v:
                rows.reject(i, "missing_id")
    if kind == "catalogue":
        _check_name(col, rows, out)
        _check_required_code(col, rows, out, "need_type", NEED_TYPE_ALIASES)
        _check_required_code(col, rows, out, "delivery", DELIVERY_ALIASES)
        out["group"] = _text_or_none(col("group"))
        out["aliases"] = [LIST_SEP.join(p for p in _LIST_SPLIT.split(_norm(v)) if p) or None for v in col("aliases")]
    elif kind == "offers":
        _check_offer_fields(col, rows, out, known_items, provider_ids)
    else:
        _check_need_fields(col, rows, out, cat, household_ids, need_aliases)
    out["synthetic"] = [False] * n

    ok = np.array([rows.ok(i) for i in range(n)], dtype=bool)
    idx = np.flatnonzero(ok)
    accepted = pd.DataFrame(
        {c: [out.get(c, [None] * n)[i] for i in idx] for c in MATCHING_COLUMNS[kind]},
        columns=list(MATCHING_COLUMNS[kind]),
    )
    for c in ("capacity_per_month", "urgency"):
        if c in accepted.columns:
            accepted[c] = accepted[c].astype("int64")
    if "reach_m" in accepted.columns:
        accepted["reach_m"] = accepted["reach_m"].astype("float64")
    if "synthetic" in accepted.columns:
        accepted["synthetic"] = accepted["synthetic"].astype(bool)
    rejected = _rejected_frame(raw, keep[~ok], [rows.problems[i] for i in np.flatnonzero(~ok)])
    warn_rows = [(rows.source_row[i], str(ids[i]), code, m) for i, code, m in rows.warnings if ok[i]]
    warnings = pd.DataFrame(warn_rows, columns=["source_row", "record_id", "code", "message"]).astype(
        {"source_row": "int64", "record_id": "str", "code": "str", "message": "str"}
    )
    if len(accepted) + len(rejected) != n:  # the invariant: nothing is lost
        msg = f"import lost rows: {len(accepted)} accepted + {len(rejected)} rejected != {n} read"
        raise AssertionError(msg)
    summary: dict[str, Any] = {
        "kind": kind,
        "read": int(n),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "blank_rows": int(blank.sum()),
        "reasons": {str(k): int(v) for k, v in rejected["reason_code"].value_counts().items()} if len(rejected) else {},
        "warnings": {str(k): int(v) for k, v in warnings["code"].value_counts().items()} if len(warnings) else {},
        "mapping": used,
        "unmapped": unmapped,
        "notes": [],
    }
    needs = accepted if kind == "needs" else pd.DataFrame(columns=list(NEED_COLUMNS))
    if kind == "needs":
        counts = accepted.loc[accepted["item_id"].isna(), "wording"].value_counts()
        summary["unmapped_needs"] = {str(k): int(v) for k, v in counts.items()}
    log.info("import %s: %d read, %d accepted, %d rejected", kind, n, len(accepted), len(rejected))
    return ImportResult(accepted=accepted, rejected=rejected, warnings=warnings, summary=summary, needs=needs)


def _checked_user_mapping(
    raw: pd.DataFrame, mapping: Mapping[str, str | None] | None, targets: Iterable[str]
) -> dict[str, str | None]:
    """The user's mapping, checked as in :func:`map_columns` (header present, known target, no target twice)."""
    user = dict(mapping or {})
    headers = {str(c) for c in raw.columns}
    allowed = set(targets)
    for header, c in user.items():
        if header not in headers:
            msg = f"映射中的列“{header}”不在表中 (column not in the table)"
            raise ColumnMappingError(msg)
        if c and c not in allowed:
            msg = f"不能映射到“{c}”：可用的目标列为 {', '.join(sorted(allowed))} (unknown target column)"
            raise ColumnMappingError(msg)
    chosen = [c for c in user.values() if c]
    dup = sorted({c for c in chosen if chosen.count(c) > 1})
    if dup:
        msg = f"多个列被映射到同一目标列：{', '.join(dup)} (several columns mapped to one)"
        raise ColumnMappingError(msg)
    return user


def _unique_ids(ids: list[str], rows: _Rows, existing: set[str]) -> None:
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if not rid:
            rows.reject(i, "missing_id")
        elif rid in existing:
            rows.reject(i, "duplicate_id", value=rid, where="已存在于现有数据中")
        elif rid in seen:
            rows.reject(i, "duplicate_id", value=rid, where=f"与第 {rows.source_row[seen[rid]]} 行相同")
        else:
            seen[rid] = i


def _check_offer_fields(
    col: Callable[[str], list[str]],
    rows: _Rows,
    out: dict[str, list[Any]],
    known_items: set[str],
    provider_ids: Iterable[str] | None,
) -> None:
    providers = set(map(str, provider_ids)) if provider_ids is not None else None
    items: list[Any] = []
    seen: dict[tuple[str, str], int] = {}
    for i, (pid, value) in enumerate(zip(out["provider_id"], col("item_id"), strict=True)):
        item = _norm(value)
        items.append(item or None)
        if item not in known_items:
            rows.reject(i, "unknown_item", value=value)
        elif pid is not None and (pid, item) in seen:
            rows.reject(i, "duplicate_offer", value=item, where=f"与第 {rows.source_row[seen[(pid, item)]]} 行相同")
        elif pid is not None:
            seen[(pid, item)] = i
        if pid is not None and providers is not None and pid not in providers:
            rows.reject(i, "unknown_provider", value=pid)
    out["item_id"] = items
    capacity: list[Any] = []
    for i, value in enumerate(col("capacity_per_month")):
        cap = _parse_int(value, "人次户个/月") if value else None
        if not value:
            rows.reject(i, "missing_capacity")
        elif cap is None:
            rows.reject(i, "bad_capacity", value=value)
        capacity.append(cap)
    out["capacity_per_month"] = capacity
    deliveries: list[Any] = []
    for i, value in enumerate(col("delivery")):
        code = _lookup(value, DELIVERY_ALIASES) if value else None
        if value and code is None:
            rows.reject(i, "bad_delivery", value=value)
        deliveries.append(code)
    out["delivery"] = deliveries
    reach: list[Any] = []
    for i, value in enumerate(col("reach_m")):
        metres = _parse_float(_norm(value).removesuffix("米").removesuffix("m")) if value else None
        if value and (metres is None or metres < 0):
            rows.reject(i, "bad_reach", value=value)
            metres = None
        reach.append(metres)
    out["reach_m"] = reach


def _check_need_fields(
    col: Callable[[str], list[str]],
    rows: _Rows,
    out: dict[str, list[Any]],
    cat: pd.DataFrame,
    household_ids: Iterable[str] | None,
    need_aliases: Mapping[str, str] | None,
) -> None:
    from data.needs import catalogue_items

    households = set(map(str, household_ids)) if household_ids is not None else None
    hids = [_norm(v) for v in col("household_id")]
    for i, hid in enumerate(hids):
        if not hid:
            rows.reject(i, "missing_household")
        elif households is not None and hid not in households:
            rows.reject(i, "unknown_household", value=hid)
    out["household_id"] = [h or None for h in hids]
    items = catalogue_items(cat)
    item_ids: list[Any] = []
    wording: list[Any] = []
    for i, value in enumerate(col("item_id")):
        m = match_need_wording(value, aliases=need_aliases, catalogue=items) if value else None
        if m is None or m.item_id is None:
            rows.warn(i, "need_unmapped", value=value or "（空）")
        elif m.how == HOW_SIMILAR:
            rows.warn(i, "need_similar", value=value, item=m.item_id)
        item_ids.append(m.item_id if m is not None else None)
        wording.append(value or None)
    out["item_id"] = item_ids
    out["wording"] = wording
    urgency: list[Any] = []
    for i, value in enumerate(col("urgency")):
        level = _parse_int(value, "级") if value else None
        if level is None or not NEED_URGENCY_MIN <= level <= NEED_URGENCY_MAX:
            rows.reject(i, "bad_need_urgency", value=value or "空")
        urgency.append(level)
    out["urgency"] = urgency
    since: list[Any] = []
    for i, value in enumerate(col("since")):
        day = pd.to_datetime(_norm(value).replace("/", "-").replace(".", "-"), errors="coerce") if value else pd.NaT
        if value and pd.isna(day):
            rows.reject(i, "bad_since", value=value)
        since.append(None if pd.isna(day) else pd.Timestamp(day).strftime("%Y-%m-%d"))
    out["since"] = since
