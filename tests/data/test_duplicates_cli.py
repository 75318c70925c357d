"""``python -m data duplicates`` end to end in a subprocess: flags, rejected rows, summary, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.idcard import check_digit, id_hash
from data.service_demo import synthetic_service_records
from tests.conftest import REPO

KEY_TEXT = "cli-test-key-0123456789"
FLAG_HEADER = ["flag_id", "person_key", "item_group", "period", "departments", "record_ids", "n_records", "amount"]


def cli(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "XIHU_ID_HASH_KEY": KEY_TEXT}
    return subprocess.run(
        [sys.executable, "-m", "data", "duplicates", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, encoding="utf-8", timeout=180, check=False,
    )  # fmt: skip


def test_cli_end_to_end(tmp_path: Path) -> None:
    first17 = "33010619850302123"
    id18 = first17 + check_digit(first17)
    rows = [
        ("R1", id18, "医疗救助", "医保局", "2026-03-02", "800"),
        ("R2", id18[:6] + id18[8:17], "大病补助", "慈善总会", "2026/3/20", "500"),  # 15-digit form, an alias
        ("R3", "3.30106E+17", "医疗救助", "民政", "2026-03-05", "100"),  # digits lost: rejected
        ("R4", id18, "就业援助", "人社", "2026-03-05", ""),
        ("R5", "=HYPERLINK(1)", "就业援助", "人社", "2026-03-05", ""),  # rejected, written back guarded
    ]
    records = pd.DataFrame(rows, columns=["记录编号", "身份证号", "服务项目", "部门", "日期", "金额"])
    records.to_csv(tmp_path / "records.csv", index=False, encoding="gb18030")
    catalogue = pd.DataFrame(
        {
            "item_id": ["M1", "M2", "E1"],
            "name": ["医疗救助", "大病补助", "就业援助"],
            "need_type": ["survival", "survival", "development"],
            "delivery": ["cash", "cash", "service"],
            "group": ["medical", "medical", "employment"],
        }
    )
    catalogue.to_csv(tmp_path / "cat.csv", index=False, encoding="utf-8-sig")
    out = tmp_path / "out" / "flags.csv"
    proc = cli(tmp_path, "--records", tmp_path / "records.csv", "--catalogue", tmp_path / "cat.csv", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "疑似重复救助 1 处" in proc.stdout
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and id18.encode() not in raw
    flags = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(flags.columns[:8]) == FLAG_HEADER
    assert flags[["item_group", "period", "departments", "record_ids", "n_records", "amount"]].values.tolist() == [
        ["medical", "2026-03", "医保;慈善总会", "R1;R2", "2", "1300.0"]
    ]
    assert flags["person_key"].item() == id_hash(id18, KEY_TEXT.encode())
    rejected = pd.read_csv(tmp_path / "out" / "flags_rejected.csv", encoding="utf-8-sig", dtype=str)
    assert rejected["reason_code"].tolist() == ["id_excel_mangled", "id_bad_chars"]
    assert rejected["身份证号"].iloc[1].startswith("'=")  # formula guard of data.safe_export
    summary = json.loads((tmp_path / "out" / "flags_summary.json").read_text(encoding="utf-8"))
    assert summary["read"] == 5 and summary["accepted"] + summary["rejected"] == summary["read"]
    assert summary["flags"] == 1 and summary["period"] == "month" and summary["catalogue"] == "cat.csv"


def test_cli_synthetic_records_quarter(tmp_path: Path) -> None:
    ben = pd.DataFrame({"beneficiary_id": [f"B{i:04d}" for i in range(300)]})
    synth = synthetic_service_records(ben, seed=3, key=KEY_TEXT.encode())
    synth.records.to_csv(tmp_path / "r.csv", index=False, encoding="utf-8-sig")
    synth.households.to_csv(tmp_path / "households.csv", index=False, encoding="utf-8-sig")
    out = tmp_path / "f.csv"
    args = ("--records", tmp_path / "r.csv", "--households", tmp_path / "households.csv", "--out", out)
    proc = cli(tmp_path, *args, "--period", "year")
    assert proc.returncode == 0, proc.stderr
    flags = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    expected = {(k, g) for k, g in synth.planted[["person_key", "item_group"]].itertuples(index=False)}
    assert set(flags[["person_key", "item_group"]].itertuples(index=False, name=None)) == expected


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("记录编号,身份证号,服务项目,日期\n1,x,S02,2026-03-01\n", "部门"),
        ("记录编号,身份证号,服务项目,部门,日期\n", "没有数据行"),
    ],
)
def test_cli_bad_file_exits_2_with_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "r.csv").write_text(content, encoding="utf-8")
    proc = cli(tmp_path, "--records", tmp_path / "r.csv", "--out", tmp_path / "f.csv")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and fragment in lines[0]
    assert not (tmp_path / "f.csv").exists()


def test_cli_missing_catalogue_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("记录编号,户编号,服务项目,部门,日期\n1,H1,S02,民政,2026-03-01\n", encoding="utf-8")
    proc = cli(tmp_path, "--records", tmp_path / "r.csv", "--catalogue", tmp_path / "nope.csv", "--out", tmp_path / "f")
    assert proc.returncode == 2 and "服务目录" in proc.stderr


def test_cli_leaves_out_reviewed_flags(tmp_path: Path) -> None:
    from data.accounts.audit import AuditLog
    from data.duplicate_reviews import mark_reviewed
    from data.duplicates import flag_duplicates
    from data.service_records import default_catalogue, import_service_records
    from data.storage import Store

    ben = pd.DataFrame({"beneficiary_id": [f"B{i:04d}" for i in range(200)]})
    synth = synthetic_service_records(ben, seed=5, key=KEY_TEXT.encode())
    synth.records.to_csv(tmp_path / "r.csv", index=False, encoding="utf-8-sig")
    synth.households.to_csv(tmp_path / "h.csv", index=False, encoding="utf-8-sig")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    accepted = import_service_records(
        synth.records, default_catalogue(), key=KEY_TEXT.encode(), households=synth.households
    ).accepted
    flags = flag_duplicates(accepted)
    with Store(url) as store:
        audit = AuditLog(store, b"test-audit-key-0123456789abcdef")
        mark_reviewed(store, audit, flags.iloc[0].to_dict(), note="合规", who="w", role="planner", dataset="user")
    out = tmp_path / "f.csv"
    env_args = ("--records", tmp_path / "r.csv", "--households", tmp_path / "h.csv", "--out", out, "--dataset", "user")
    proc = subprocess.run(
        [sys.executable, "-m", "data", "duplicates", *map(str, env_args)],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=180, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path), "XIHU_ID_HASH_KEY": KEY_TEXT,
             "DATABASE_URL": url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    listed = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert len(listed) == len(flags) - 1 and flags["flag_id"].iloc[0] not in set(listed["flag_id"])
    assert set(listed["status"]) == {"open"} and "已复核为合理" in proc.stdout
