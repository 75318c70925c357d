"""What each role may see: the area filter, name masking, suppressed aggregates, upload checks.

The rule (PIPL art. 28: minimum necessary, strict access) is applied **on the server**,
before a table reaches any cache, page, map or export:

=================  ==========================  ==============  =============  ==========
role               beneficiaries (rows)        hubs            export rows    full names
=================  ==========================  ==============  =============  ==========
admin              whole district              all             no             no
planner            whole district              all             yes            no
town_manager       own town (``town_code``)    own town's      yes (own)      yes
village_manager    own community only          own point only  yes (own)      yes
viewer             none: suppressed counts     all             no             no
=================  ==========================  ==============  =============  ==========

Providers (organisations, a public service directory) are not personal data: every
role sees all of them. Hub locations are public too, but the hub *lists* follow the
user's area; compute coverage with every hub (a household can be served across a
border) and filter the per-household *result* with :func:`filter_frame`.

An :class:`AreaFilter` is built from the signed-in :class:`data.accounts.auth.User` only
(:meth:`AreaFilter.from_user`). A page may **narrow** it (a planner picks a town, a
town manager one of its villages) but never widen it: the user's own area is always
applied, and a request for another area (``?town=...`` in a URL, a forged widget value)
returns an empty table with the right columns, a warning in the log and, when an
:class:`data.accounts.audit.AuditLog` is given, an ``area_denied`` audit entry. Anything cached
takes :func:`cache_key` in its key.
"""

from __future__ import annotations

import codecs
import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from core.errors import AccessError, ExportNotAllowedError, UploadRejectedError
from data.accounts.auth import AREA_ROLES, Role, User
from data.idcard import mask_name
from data.schemas import KINDS

if TYPE_CHECKING:
    from data.accounts.audit import AuditLog

logger = logging.getLogger(__name__)

#: columns that may hold a full personal name / a clear ID-card number (before import masks them)
PERSON_NAME_COLUMNS: Final = ("person_name",)
ID_CARD_COLUMNS: Final = ("id_card",)
#: upload limit, in MB; the same number as ``server.maxUploadSize`` in .streamlit/config.toml
MAX_UPLOAD_MB: Final = 20
MAX_UPLOAD_BYTES: Final = MAX_UPLOAD_MB * 1024 * 1024
#: an XLSX (a ZIP) may not unpack to more than this many times its upload limit
MAX_XLSX_EXPANSION: Final = 10
ZIP_MAGIC: Final = b"PK\x03\x04"


@dataclass(frozen=True)
class RolePolicy:
    """What one role may do.

    Attributes
    ----------
    individuals : bool
        May see individual beneficiary rows (in its area).
    export_individuals : bool
        May export individual rows (Excel, CSV, GIS layers).
    full_names : bool
        May see full personal names where a table holds them.
    """

    individuals: bool
    export_individuals: bool
    full_names: bool


ROLE_POLICY: Final[dict[Role, RolePolicy]] = {
    Role.ADMIN: RolePolicy(individuals=True, export_individuals=False, full_names=False),
    Role.PLANNER: RolePolicy(individuals=True, export_individuals=True, full_names=False),
    Role.TOWN_MANAGER: RolePolicy(individuals=True, export_individuals=True, full_names=True),
    Role.VILLAGE_MANAGER: RolePolicy(individuals=True, export_individuals=True, full_names=True),
    Role.VIEWER: RolePolicy(individuals=False, export_individuals=False, full_names=False),
}


def can_see_individuals(role: Role | str) -> bool:
    """Whether ``role`` may see individual beneficiary rows (in its own area)."""
    return ROLE_POLICY[Role.parse(role)].individuals


def can_export_individuals(role: Role | str) -> bool:
    """Whether ``role`` may export individual beneficiary rows."""
    return ROLE_POLICY[Role.parse(role)].export_individuals


def can_see_full_names(role: Role | str) -> bool:
    """Whether ``role`` may see full personal names where a table holds them."""
    return ROLE_POLICY[Role.parse(role)].full_names


def ensure_can_export_individuals(role: Role | str) -> None:
    """Stop an individual-level export for a role that may not make one.

    Call it in the export code itself (not only to hide a button), then record the
    export in the audit log.

    Raises
    ------
    ExportNotAllowedError
        With a Chinese message (and the English one in brackets).
    """
    r = Role.parse(role)
    if not ROLE_POLICY[r].export_individuals:
        msg = (
            f"“{r.label_zh}”角色不能导出救助对象个人明细，只能导出汇总统计 "
            f"(the {r.label_en.lower()} role may export aggregates only, not individual records)"
        )
        raise ExportNotAllowedError(msg)


def village_hub_id(village_code: str) -> str:
    """The hub id of a community's village point: ``"V" + community code`` (as the demo bundle and imports name it)."""
    return f"V{village_code}"


def _town_of_village(village_code: str) -> str | None:
    """The town of a 12-digit statistical village code (its first 9 digits), else None."""
    return village_code[:9] if len(village_code) == 12 and village_code.isdigit() else None


# -- the area filter ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AreaFilter:
    """The rows a user may see: a role and, for managers (or a narrowed view), an area.

    Build it with :meth:`from_user`; narrow it with :meth:`narrow`. Frozen and hashable.

    Attributes
    ----------
    role : Role
    town_code : str or None
        Only this town (``town_code`` of beneficiaries and hubs).
    village_code : str or None
        Only this community (``community_code`` of beneficiaries; the hub ``V<code>``).
    """

    role: Role
    town_code: str | None = None
    village_code: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role.parse(self.role))
        if self.role is Role.TOWN_MANAGER and not self.town_code:
            msg = "a town manager's area filter needs a town code"
            raise AccessError(msg)
        if self.role is Role.VILLAGE_MANAGER and not self.village_code:
            msg = "a village manager's area filter needs a village code"
            raise AccessError(msg)

    @classmethod
    def from_user(cls, user: User) -> AreaFilter:
        """The filter of a signed-in user: the district, their town or their village."""
        if user.role in AREA_ROLES:
            village = user.village_code if user.role is Role.VILLAGE_MANAGER else None
            return cls(user.role, user.town_code, village)
        return cls(user.role)

    @property
    def level(self) -> str:
        """``"district"``, ``"town"`` or ``"village"``: how far the filter reaches."""
        return "village" if self.village_code else "town" if self.town_code else "district"

    def as_dict(self) -> dict[str, str | None]:
        """Plain JSON for audit entries: ``{"role", "town_code", "village_code"}``."""
        return {"role": self.role.value, "town_code": self.town_code, "village_code": self.village_code}

    def narrow(self, *, town_code: str | None = None, village_code: str | None = None) -> AreaFilter | None:
        """This filter, further restricted to a requested town and/or village.

        The result is always inside this filter's area (both restrictions apply).

        Parameters
        ----------
        town_code, village_code : str, optional
            The requested area (from a widget or a URL); None or "" requests nothing.

        Returns
        -------
        AreaFilter or None
            None when the request lies outside this filter's area (the caller shows
            nothing and logs it).
        """
        town = str(town_code).strip() if town_code else None
        village = str(village_code).strip() if village_code else None
        if town is None and village is None:
            return self
        if town is not None and self.town_code is not None and town != self.town_code:
            return None
        if village is not None and self.village_code is not None and village != self.village_code:
            return None
        new_town = self.town_code or town
        if village is not None:
            implied = _town_of_village(village)
            if implied is not None and new_town is not None and implied != new_town:
                return None
            new_town = new_town or implied
        return AreaFilter(self.role, new_town, self.village_code or village)


def cache_key(area_filter: AreaFilter) -> tuple[str, str, str]:
    """What every cached, filtered result must carry in its key: ``(role, town, village)``.

    Use it as a (hashable) argument of a ``st.cache_data`` function, so two users with
    different roles or areas never share a cached table.
    """
    return (area_filter.role.value, area_filter.town_code or "", area_filter.village_code or "")


# -- filtering -----------------------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        msg = f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}"
        raise AccessError(msg)


def _conditions(kind: str, area: AreaFilter) -> list[tuple[str, str]] | None:
    """Equality conditions ``(column, value)`` selecting ``kind`` rows of ``area``; None = no rows."""
    if kind == "beneficiaries":
        if not can_see_individuals(area.role):
            return None
        conds = []
        if area.town_code:
            conds.append(("town_code", area.town_code))
        if area.village_code:
            conds.append(("community_code", area.village_code))
        return conds
    if kind == "hubs":
        if area.village_code:
            return [("hub_id", village_hub_id(area.village_code))]
        return [("town_code", area.town_code)] if area.town_code else []
    return []  # providers: organisations, not personal data


def _deny(
    kind: str, area: AreaFilter, requested: dict[str, str | None], audit: AuditLog | None, who: str | None
) -> None:
    logger.warning(
        "access: %s (%s, area %s/%s) asked for %s of %s: outside its area, nothing returned",
        who or "?",
        area.role.value,
        area.town_code,
        area.village_code,
        kind,
        requested,
    )
    if audit is not None:
        audit.append(
            who or "", area.role.value, "area_denied", {"kind": kind, **area.as_dict(), "requested": requested}, 0
        )


def _resolve(
    kind: str,
    area_filter: AreaFilter,
    town_code: str | None,
    village_code: str | None,
    audit: AuditLog | None,
    who: str | None,
) -> AreaFilter | None:
    _check_kind(kind)
    effective = area_filter.narrow(town_code=town_code, village_code=village_code)
    if effective is None:
        _deny(kind, area_filter, {"town_code": town_code, "village_code": village_code}, audit, who)
    return effective


def filter_frame(
    kind: str,
    frame: pd.DataFrame,
    area_filter: AreaFilter,
    *,
    town_code: str | None = None,
    village_code: str | None = None,
    audit: AuditLog | None = None,
    who: str | None = None,
) -> pd.DataFrame:
    """The rows of ``frame`` that ``area_filter`` may see, names masked for its role.

    Parameters
    ----------
    kind : str
        ``"beneficiaries"`` (needs ``town_code`` and ``community_code`` columns; any frame
        of per-household results qualifies), ``"hubs"`` (``hub_id``, ``town_code``) or
        ``"providers"``.
    frame : pandas.DataFrame
        The whole table (or a per-household result).
    area_filter : AreaFilter
        From :meth:`AreaFilter.from_user`.
    town_code, village_code : str, optional
        A narrower area requested by the page (a widget, a URL parameter).
    audit : AuditLog, optional
        Where to record a request for another area.
    who : str, optional
        User name, for the log and the audit entry.

    Returns
    -------
    pandas.DataFrame
        Same columns and index labels as ``frame``; no rows for a viewer's beneficiaries
        or for a request outside the user's area. :func:`mask_names` applied.

    Raises
    ------
    AccessError
        Unknown ``kind`` or a needed column is missing.
    """
    effective = _resolve(kind, area_filter, town_code, village_code, audit, who)
    conds = None if effective is None else _conditions(kind, effective)
    if conds is None:
        return frame.iloc[0:0].copy()
    return mask_names(_select(kind, frame, conds), area_filter.role)


def _select(kind: str, frame: pd.DataFrame, conds: list[tuple[str, str]]) -> pd.DataFrame:
    """The rows of ``frame`` meeting every equality condition (a copy)."""
    missing = [c for c, _ in conds if c not in frame.columns]
    if missing:
        msg = f"{kind}: cannot filter by area, missing columns {', '.join(missing)}"
        raise AccessError(msg)
    keep = pd.Series(True, index=frame.index)
    for column, value in conds:
        keep &= frame[column].astype("string").eq(value).fillna(False).astype(bool)
    return frame.loc[keep].copy()


def _mask_id_card(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return value
    text = str(value).strip()
    return "*" * max(len(text) - 4, 0) + text[-4:]


def mask_names(frame: pd.DataFrame, role: Role | str) -> pd.DataFrame:
    """``frame`` with full names masked (``张三明`` -> ``张*明``) unless ``role`` may see them.

    Clear ID-card numbers (column ``id_card``, e.g. in an import preview) keep only their
    last four characters, for every role. ``name_masked`` is already masked. The input
    is not modified.

    Parameters
    ----------
    frame : pandas.DataFrame
    role : Role or str

    Returns
    -------
    pandas.DataFrame
        A copy when something was masked, else ``frame`` itself.
    """
    names = [] if can_see_full_names(role) else [c for c in PERSON_NAME_COLUMNS if c in frame.columns]
    ids = [c for c in ID_CARD_COLUMNS if c in frame.columns]
    if not names and not ids:
        return frame
    out = frame.copy()
    for c in names:
        out[c] = out[c].map(mask_name, na_action="ignore")
    for c in ids:
        out[c] = out[c].map(_mask_id_card, na_action="ignore")
    return out


# -- uploads ------------------------------------------------------------------------------------------
def check_upload(
    name: str,
    data: bytes,
    *,
    allowed: Sequence[str] = (".csv", ".xlsx"),
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> None:
    """Refuse an uploaded file of the wrong type, size or content before anything parses it.

    Checks the extension against ``allowed``, the size, and that the content matches
    the extension: an XLSX is a ZIP (starts with ``PK\\x03\\x04``) holding
    ``xl/workbook.xml`` and unpacking to at most :data:`MAX_XLSX_EXPANSION` times
    ``max_bytes``; a CSV decodes as UTF-8 (with or without BOM) or GB18030 and holds no
    NUL byte.

    Parameters
    ----------
    name : str
        File name as uploaded (only its extension is used).
    data : bytes
        The file's content.
    allowed : sequence of str
        Accepted extensions, lower-case with the dot.
    max_bytes : int
        Largest accepted size.

    Raises
    ------
    UploadRejectedError
        With a Chinese message (and the English one in brackets) saying what to do.
    """
    suffix = PurePath(str(name)).suffix.lower()
    allowed_text = "、".join(allowed)
    if suffix not in {a.lower() for a in allowed}:
        msg = f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 {allowed_text} 文件 (file type not allowed)"
        raise UploadRejectedError(msg)
    size_mb = len(data) / 1024 / 1024
    if len(data) > max_bytes:
        msg = f"文件过大（{size_mb:.1f} MB），上限为 {max_bytes / 1024 / 1024:.0f} MB (file too large)"
        raise UploadRejectedError(msg)
    if not data:
        raise UploadRejectedError("文件是空的 (empty file)")
    if suffix == ".xlsx":
        _check_xlsx(data, max_bytes)
    elif suffix == ".csv":
        _check_csv(data)


def _check_xlsx(data: bytes, max_bytes: int) -> None:
    bad = "文件内容不是有效的 Excel 工作簿（.xlsx）：请在 Excel 中另存为 .xlsx 或 CSV 后再上传 (not an XLSX workbook)"
    if not data.startswith(ZIP_MAGIC):
        raise UploadRejectedError(bad)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRejectedError(bad) from exc
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise UploadRejectedError(bad)
    if sum(i.file_size for i in infos) > MAX_XLSX_EXPANSION * max_bytes:
        msg = "Excel 文件解压后过大，可能是异常文件：请删除多余的工作表或另存为 CSV (workbook unpacks too large)"
        raise UploadRejectedError(msg)


def _check_csv(data: bytes) -> None:
    if b"\x00" in data:
        msg = "CSV 文件含有二进制内容（NUL 字节），不是文本表格：请从 Excel 另存为 CSV (binary content in CSV)"
        raise UploadRejectedError(msg)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.decode(data, encoding)
            return
        except UnicodeDecodeError:
            continue
    msg = "CSV 文件编码无法识别：请另存为 UTF-8 或 GB18030（GBK）编码的 CSV (not UTF-8 or GB18030 text)"
    raise UploadRejectedError(msg)


def audit_details(area_filter: AreaFilter, **details: Any) -> dict[str, Any]:
    """The ``filter`` of an audit entry: the area plus the page's own details (plain JSON)."""
    return {**area_filter.as_dict(), **details}


__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "ROLE_POLICY",
    "AccessError",
    "AreaFilter",
    "ExportNotAllowedError",
    "RolePolicy",
    "UploadRejectedError",
    "audit_details",
    "cache_key",
    "can_export_individuals",
    "can_see_full_names",
    "can_see_individuals",
    "check_upload",
    "ensure_can_export_individuals",
    "filter_frame",
    "mask_names",
    "village_hub_id",
]
