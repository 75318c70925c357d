"""Who sees what: the role x area matrix on the real Xihu demo bundle, masking, aggregates, uploads.

Counts are compared with a direct pandas computation on the whole table.
"""

from __future__ import annotations

import io
import logging
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from core.errors import AccessError, ExportNotAllowedError, UploadRejectedError
from data.accounts.access import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    AreaFilter,
    cache_key,
    can_export_individuals,
    can_see_full_names,
    can_see_individuals,
    check_upload,
    ensure_can_export_individuals,
    filter_frame,
    mask_names,
    village_hub_id,
)
from data.accounts.audit import AuditLog
from data.accounts.auth import Role, User
from data.bundle import Bundle
from data.demo import load_default_bundle
from data.schemas import BENEFICIARY_COLUMNS, KINDS
from data.storage import Store

REPO = Path(__file__).resolve().parents[2]
TOWN = "330106002"  # 北山街道
VILLAGE = "330106002052"  # 宝石社区, in 北山街道
OTHER_VILLAGE = "330106013010"  # 桂花园社区, in another town


@pytest.fixture(scope="module")
def bundle(xihu_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    b = load_default_bundle(xihu_dir.parent, cache_dir=tmp_path_factory.mktemp("bundle"))
    assert b.name == "xihu_demo" and not b.is_fallback
    return b


def user(role: Role, town: str | None = None, village: str | None = None) -> User:
    return User(f"u-{role.value}-{village or town or 'all'}", role, town, village)


def every_user(bundle: Bundle) -> list[User]:
    """Admin, planner, viewer, a manager of every town, and of every community."""
    towns = sorted(bundle.beneficiaries["town_code"].unique())
    communities = bundle.communities[["community_code", "town_code"]].itertuples(index=False)
    return [
        user(Role.ADMIN),
        user(Role.PLANNER),
        user(Role.VIEWER),
        *(user(Role.TOWN_MANAGER, t) for t in towns),
        *(user(Role.VILLAGE_MANAGER, c.town_code, c.community_code) for c in communities),
    ]


def expected_ids(bundle: Bundle, kind: str, u: User) -> set[str]:
    """What each role may see, computed directly (the specification, in pandas)."""
    b, h = bundle.beneficiaries, bundle.hubs
    if kind == "providers":
        return set(bundle.providers["provider_id"])
    if kind == "hubs":
        if u.role is Role.TOWN_MANAGER:
            return set(h.loc[h["town_code"] == u.town_code, "hub_id"])
        if u.role is Role.VILLAGE_MANAGER:
            return set(h.loc[h["hub_id"] == "V" + str(u.village_code), "hub_id"])
        return set(h["hub_id"])
    if u.role is Role.VIEWER:
        return set()
    if u.role is Role.TOWN_MANAGER:
        return set(b.loc[b["town_code"] == u.town_code, "beneficiary_id"])
    if u.role is Role.VILLAGE_MANAGER:
        return set(b.loc[b["community_code"] == u.village_code, "beneficiary_id"])
    return set(b["beneficiary_id"])


# -- the role x area matrix ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_each_role_sees_exactly_its_area(bundle: Bundle, kind: str) -> None:
    table = getattr(bundle, kind)
    id_col = table.columns[0]
    users = every_user(bundle)
    assert len(users) == 3 + 12 + 222
    seen_total = 0
    for u in users:
        out = filter_frame(kind, table, AreaFilter.from_user(u))
        assert list(out.columns) == list(table.columns)
        assert set(out[id_col]) == expected_ids(bundle, kind, u), (kind, u)
        assert len(out) == len(expected_ids(bundle, kind, u))
        if u.role is Role.VILLAGE_MANAGER:
            seen_total += len(out)
    if kind == "beneficiaries":  # every household belongs to exactly one village manager
        assert seen_total == len(table) == 4000


def test_matrix_spot_checks(bundle: Bundle) -> None:
    """A few numbers written out, so the matrix cannot be vacuously right."""
    b = bundle.beneficiaries
    counts = {u.username: len(filter_frame("beneficiaries", b, AreaFilter.from_user(u))) for u in every_user(bundle)}
    assert counts["u-planner-all"] == counts["u-admin-all"] == 4000
    assert counts["u-viewer-all"] == 0
    assert counts[f"u-town_manager-{TOWN}"] == int((b["town_code"] == TOWN).sum()) == 27
    assert counts["u-town_manager-330106013"] == 1065
    assert counts[f"u-village_manager-{VILLAGE}"] == int((b["community_code"] == VILLAGE).sum()) > 0
    hubs = filter_frame("hubs", bundle.hubs, AreaFilter.from_user(user(Role.VILLAGE_MANAGER, TOWN, VILLAGE)))
    assert list(hubs["hub_id"]) == [village_hub_id(VILLAGE)] == ["V330106002052"]


def test_policy_table() -> None:
    individuals = {r: can_see_individuals(r) for r in Role}
    exports = {r: can_export_individuals(r) for r in Role}
    names = {r: can_see_full_names(r.value) for r in Role}
    assert [r for r, ok in individuals.items() if not ok] == [Role.VIEWER]
    assert [r for r, ok in exports.items() if ok] == [Role.PLANNER, Role.TOWN_MANAGER, Role.VILLAGE_MANAGER]
    assert [r for r, ok in names.items() if ok] == [Role.TOWN_MANAGER, Role.VILLAGE_MANAGER]
    for role in (Role.ADMIN, Role.VIEWER):
        with pytest.raises(ExportNotAllowedError, match="不能导出救助对象个人明细"):
            ensure_can_export_individuals(role)
    ensure_can_export_individuals("village_manager")


# -- narrowing and probing ------------------------------------------------------------------------------
def test_village_manager_probing_another_village_gets_nothing_and_is_logged(
    bundle: Bundle, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    b = bundle.beneficiaries
    area = AreaFilter.from_user(user(Role.VILLAGE_MANAGER, TOWN, VILLAGE))
    log = AuditLog(store, b"k" * 32)
    with caplog.at_level(logging.WARNING, logger="data.accounts.access"):
        out = filter_frame("beneficiaries", b, area, village_code=OTHER_VILLAGE, audit=log, who="baoshi")
    assert out.empty and list(out.columns) == list(BENEFICIARY_COLUMNS)
    assert out.dtypes.equals(b.dtypes)
    assert "outside its area" in caplog.text and OTHER_VILLAGE in caplog.text
    entry = log.entries(limit=1)[0]
    assert (entry.who, entry.role, entry.action, entry.row_count) == ("baoshi", "village_manager", "area_denied", 0)
    assert entry.filter["requested"]["village_code"] == OTHER_VILLAGE
    # the other town, the other village's hub, a neighbour in the same town: nothing either
    assert filter_frame("beneficiaries", b, area, town_code="330106013").empty
    assert filter_frame("hubs", bundle.hubs, area, village_code=OTHER_VILLAGE).empty
    assert filter_frame("beneficiaries", b, area, village_code="330106002051").empty


def test_a_request_never_widens_the_area(bundle: Bundle) -> None:
    b = bundle.beneficiaries
    own = int((b["community_code"] == VILLAGE).sum())
    area = AreaFilter.from_user(user(Role.VILLAGE_MANAGER, TOWN, VILLAGE))
    for request in ({}, {"town_code": TOWN}, {"town_code": ""}, {"village_code": VILLAGE}, {"village_code": None}):
        assert len(filter_frame("beneficiaries", b, area, **request)) == own, request
    viewer = AreaFilter.from_user(user(Role.VIEWER))
    assert filter_frame("beneficiaries", b, viewer, town_code=TOWN).empty


def test_narrowing_inside_the_area(bundle: Bundle) -> None:
    b = bundle.beneficiaries
    planner = AreaFilter.from_user(user(Role.PLANNER))
    assert len(filter_frame("beneficiaries", b, planner, town_code=TOWN)) == int((b["town_code"] == TOWN).sum())
    town = AreaFilter.from_user(user(Role.TOWN_MANAGER, TOWN))
    narrowed = filter_frame("beneficiaries", b, town, village_code=VILLAGE)
    assert set(narrowed["beneficiary_id"]) == set(b.loc[b["community_code"] == VILLAGE, "beneficiary_id"])
    assert filter_frame("beneficiaries", b, town, village_code=OTHER_VILLAGE).empty
    assert town.narrow(village_code=VILLAGE) == AreaFilter(Role.TOWN_MANAGER, TOWN, VILLAGE)
    assert planner.narrow(village_code=VILLAGE) == AreaFilter(Role.PLANNER, TOWN, VILLAGE)
    assert town.narrow(town_code="330106013") is None


def test_area_filter_needs_the_manager_area_and_cache_keys_separate_areas() -> None:
    with pytest.raises(AccessError):
        AreaFilter(Role.TOWN_MANAGER)
    with pytest.raises(AccessError):
        AreaFilter(Role.VILLAGE_MANAGER, TOWN)
    filters = [
        AreaFilter.from_user(user(Role.PLANNER)),
        AreaFilter.from_user(user(Role.ADMIN)),
        AreaFilter.from_user(user(Role.VIEWER)),
        AreaFilter.from_user(user(Role.TOWN_MANAGER, TOWN)),
        AreaFilter.from_user(user(Role.TOWN_MANAGER, "330106013")),
        AreaFilter.from_user(user(Role.VILLAGE_MANAGER, TOWN, VILLAGE)),
        AreaFilter.from_user(user(Role.PLANNER)).narrow(town_code=TOWN),
    ]
    keys = [cache_key(f) for f in filters if f is not None]
    assert len(set(keys)) == len(keys) == 7
    assert len({hash(f) for f in filters}) == 7
    same = AreaFilter.from_user(User("other-town-user", Role.TOWN_MANAGER, TOWN, None))
    assert cache_key(same) == cache_key(filters[3]) == ("town_manager", TOWN, "")
    # a town manager's stray village code is not part of their area
    assert AreaFilter.from_user(User("t", Role.TOWN_MANAGER, TOWN, VILLAGE)).village_code is None


def test_unknown_kind_or_missing_area_columns_are_errors(bundle: Bundle) -> None:
    planner = AreaFilter.from_user(user(Role.TOWN_MANAGER, TOWN))
    with pytest.raises(AccessError, match="unknown table kind"):
        filter_frame("people", bundle.beneficiaries, planner)
    with pytest.raises(AccessError, match="missing columns town_code"):
        filter_frame("beneficiaries", bundle.beneficiaries.drop(columns="town_code"), planner)


# -- names, aggregates ------------------------------------------------------------------------------------
def test_full_names_are_masked_except_for_the_managers() -> None:
    frame = pd.DataFrame(
        {
            "person_name": ["张三明", "欧阳娜娜", None],
            "id_card": ["33010619900101123X", None, "330106900101123"],
            "name_masked": ["张*明", "欧**娜", None],
        }
    )
    planner = mask_names(frame, Role.PLANNER)
    assert planner["person_name"].tolist()[:2] == ["张*明", "欧**娜"] and planner["person_name"].isna().iloc[2]
    assert planner["id_card"].tolist()[0] == "**************123X"
    assert planner["id_card"].tolist()[2] == "***********1123"
    manager = mask_names(frame, "village_manager")
    assert manager["person_name"].tolist()[:2] == ["张三明", "欧阳娜娜"]
    assert manager["id_card"].tolist()[0] == "**************123X"  # clear ID numbers: for nobody
    assert frame["person_name"].iloc[0] == "张三明"  # the input is not modified
    canonical = pd.DataFrame({"name_masked": ["张*明"]})
    assert mask_names(canonical, Role.VIEWER) is canonical


# -- uploads and the server configuration ----------------------------------------------------------------
def xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "经度", "纬度"])  # type: ignore[union-attr]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_good_uploads_pass() -> None:
    check_upload("救助对象.XLSX", xlsx_bytes())
    check_upload("a.csv", "姓名,经度\n张三,120.1\n".encode())
    check_upload("a.csv", "\ufeff姓名,经度\n".encode())
    check_upload("gbk.csv", "姓名,经度\n张三,120.1\n".encode("gb18030"))


@pytest.mark.parametrize(
    ("name", "data", "kwargs", "match"),
    [
        ("a.exe", b"MZ", {}, "不支持的文件类型"),
        ("a.xls", b"\xd0\xcf\x11\xe0", {}, "不支持的文件类型"),
        ("noext", b"a,b", {}, "无扩展名"),
        ("a.csv", b"", {}, "文件是空的"),
        ("a.csv", b"a,b\n" * 300, {"max_bytes": 1000}, "文件过大"),
        ("a.xlsx", b"a,b\n1,2\n", {}, "不是有效的 Excel"),
        ("a.xlsx", b"PK\x03\x04not really a zip", {}, "不是有效的 Excel"),
        ("a.xlsx", zip_bytes({"word/document.xml": b"<w/>"}), {}, "不是有效的 Excel"),
        ("a.xlsx", zip_bytes({"xl/workbook.xml": b"0" * 50_000}), {"max_bytes": 2000}, "解压后过大"),
        ("a.csv", b"a,b\n\x00\x01\x02", {}, "NUL"),
        ("a.csv", b"a,b\n\xff\xfe\xff\xff", {}, "编码无法识别"),
        ("a.csv", b"a,b", {"allowed": (".xlsx",)}, "请上传 .xlsx"),
    ],
)
def test_bad_uploads_are_refused(name: str, data: bytes, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UploadRejectedError, match=match):
        check_upload(name, data, **kwargs)  # type: ignore[arg-type]


def test_streamlit_config_is_hardened() -> None:
    from streamlit import config as st_config

    conf = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert conf["server"]["headless"] is True
    assert conf["server"]["enableXsrfProtection"] is True
    assert conf["server"]["enableCORS"] is True
    # the server lets twice the app's limit through, so the app (check_upload) says "too large" in Chinese
    assert conf["server"]["maxUploadSize"] == 2 * MAX_UPLOAD_MB == 2 * MAX_UPLOAD_BYTES // 2**20
    assert conf["browser"]["gatherUsageStats"] is False
    assert conf["client"]["showErrorDetails"] == st_config.ShowErrorDetailsConfigOptions.NONE.value
    assert conf["client"]["toolbarMode"] == "viewer"
    known = st_config._config_options_template
    unknown = [f"{s}.{k}" for s, opts in conf.items() for k in opts if f"{s}.{k}" not in known]
    assert unknown == [], "options this Streamlit version does not know"


def test_suppression_input_is_not_modified(bundle: Bundle) -> None:
    b = bundle.beneficiaries
    before = b.copy()
    filter_frame("beneficiaries", b, AreaFilter(Role.PLANNER))
    assert_frame_equal(b, before)
    assert np.array_equal(b.index, before.index)
