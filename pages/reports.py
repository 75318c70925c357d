"""报告 Reports: coverage reports per district, town and village point (XLSX, PDF, GeoPackage, GeoJSON).

Reports hold protected aggregates only (counts 1-9 print "<10", secondary suppression).
Each role gets the scopes of its area: planners and admins every scope, a town manager
the town and its village points, a village manager the village point, a viewer the district.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from data.accounts.auth import Role
from pages._auth import area_of, get_audit, require_user
from pages._common import current_dataset, current_settings, dataset_notice, dataset_version, get_bundle, get_store
from pages._i18n import label, t
from pages._reporting import prepare_report_soon, report_for
from reports.build import FORMATS, LEVELS, write_reports
from reports.model import Scope
from service.dashboard import scope_in_area

K_LEVELS = "report_levels"
K_FORMATS = "report_formats"
K_SCENARIO = "report_scenario"

user = require_user()
af = area_of(user)
settings = current_settings()
st.title(t("reports_title"))
st.caption(t("reports_note"))
dataset_notice()  # imported data: the month and version of each list the reports describe, what is missing

allowed_levels = {
    Role.ADMIN: LEVELS,
    Role.PLANNER: LEVELS,
    Role.TOWN_MANAGER: ("town", "village"),
    Role.VILLAGE_MANAGER: ("village",),
    Role.VIEWER: ("district",),
}[user.role]


communities = get_bundle().communities
town_of_community = dict(
    zip(communities["community_code"].astype(str), communities["town_code"].astype(str), strict=True)
)


def in_area(scope: Scope) -> bool:
    """Whether the signed-in user's area covers this report scope."""
    return scope_in_area(scope, af, town_of_community)


ds = current_dataset()
# the report without a scenario: prepared while the person chooses (a scenario's on the click)
prepare_report_soon(ds, dataset_version(ds), settings)

c1, c2 = st.columns(2)
levels = c1.multiselect(
    t("report_levels"),
    list(allowed_levels),
    default=list(allowed_levels)[:1],
    format_func=lambda lv: label("level", lv),
    placeholder=t("choose"),
    key=K_LEVELS,
)
formats = c2.multiselect(
    t("report_formats"), list(FORMATS), default=["xlsx", "pdf"], placeholder=t("choose"), key=K_FORMATS
)
scenario_id = None
if user.role in (Role.ADMIN, Role.PLANNER):
    stored = get_store().list_scenarios()
    options = [None, *stored["scenario_id"].tolist()]
    names = dict(zip(stored["scenario_id"], stored["name"], strict=True))
    scenario_id = st.selectbox(
        t("report_scenario"),
        options,
        format_func=lambda i: "—" if i is None else str(names[i]),
        placeholder=t("choose"),
        key=K_SCENARIO,
    )

if st.button(t("report_build"), type="primary", disabled=not (levels and formats), key="report_build"):
    bar = st.progress(0.0, text=t("report_build"))

    def progress(share: float, message: str) -> None:
        bar.progress(min(max(share, 0.0), 1.0), text=message)

    sites_key = "" if scenario_id is None else str(scenario_id)
    report = report_for(ds, dataset_version(ds), settings, sites_key)
    with tempfile.TemporaryDirectory() as tmp:
        # one writer process per CPU, started by a fork server (the server's own threads are never forked)
        files = write_reports(
            report, tmp, levels=levels, formats=formats, progress=progress, scope_filter=in_area, workers=0,
            start_method="forkserver",
        )  # fmt: skip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for f in files:
                # PDF and XLSX are compressed already: stored as they are
                packed = Path(f).suffix in (".pdf", ".xlsx")
                zf.write(f, Path(f).relative_to(tmp).as_posix(), zipfile.ZIP_STORED if packed else None)
    payload = buf.getvalue()
    get_audit().append(
        user.username, user.role.value, "export_report",
        {**af.as_dict(), "levels": levels, "formats": formats}, len(files),
    )  # fmt: skip
    st.session_state["report_zip"] = payload
    st.success(t("report_done", n=len(files)))
if st.session_state.get("report_zip"):
    st.download_button(
        t("report_download"), st.session_state["report_zip"], file_name="xihu_coverage_reports.zip",
        mime="application/zip",
    )  # fmt: skip
