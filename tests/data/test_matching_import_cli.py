"""``python -m data import --kind catalogue|offers|needs``: the same four outputs, ids checked, wording kept."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data.schemas import CATALOGUE_COLUMNS, NEED_COLUMNS, OFFER_COLUMNS
from tests.data.test_import_cli import cli, home  # noqa: F401 (fixture)
from tests.data.test_matching_import import cat_row, need_row, offer_row


def _read(path: Path) -> pd.DataFrame:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_catalogue_offers_and_needs_from_the_command_line(tmp_path: Path, home: Path) -> None:  # noqa: F811
    cat = tmp_path / "服务清单.csv"
    pd.DataFrame([cat_row(1), cat_row(2, 项目名称="助餐送餐", 需求类型="生存型", 服务方式="到站")]).to_csv(
        cat, index=False, encoding="gb18030"
    )
    proc = cli(home, "--kind", "catalogue", "--input", cat, "--out", tmp_path / "cat")
    assert proc.returncode == 0, proc.stderr
    acc = _read(tmp_path / "cat" / "accepted.csv")
    assert list(acc.columns)[: len(CATALOGUE_COLUMNS)] == list(CATALOGUE_COLUMNS)
    assert set(acc["item_id"]) == {"X01", "X02"} and set(acc["need_type"]) == {"care", "survival"}
    summary = json.loads((tmp_path / "cat" / "summary.json").read_text(encoding="utf-8"))
    assert summary["kind"] == "catalogue" and summary["accepted"] == 2 and summary["input"] == "服务清单.csv"

    providers = tmp_path / "providers.csv"
    pd.DataFrame({"provider_id": ["P01"]}).to_csv(providers, index=False)
    offers = tmp_path / "offers.csv"
    pd.DataFrame([offer_row(1, 服务项目="X01"), offer_row(2, 服务项目="X02")]).to_csv(offers, index=False)
    proc = cli(home, "--kind", "offers", "--input", offers, "--catalogue", tmp_path / "cat" / "accepted.csv",
               "--providers", providers, "--out", tmp_path / "off")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    acc, rej = _read(tmp_path / "off" / "accepted.csv"), _read(tmp_path / "off" / "rejected.csv")
    assert list(acc.columns)[: len(OFFER_COLUMNS)] == list(OFFER_COLUMNS)
    assert list(acc["provider_id"]) == ["P01"] and list(rej["source_row"]) == ["3"]  # P02 is not a known provider
    assert "拒绝 1 行" in proc.stdout

    needs = tmp_path / "needs.csv"
    pd.DataFrame([need_row(1, 服务项目="助餐"), need_row(2, 服务项目="说不清的需求")]).to_csv(needs, index=False)
    proc = cli(home, "--kind", "needs", "--input", needs, "--catalogue", tmp_path / "cat" / "accepted.csv",
               "--out", tmp_path / "needs")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    acc = _read(tmp_path / "needs" / "accepted.csv")
    assert list(acc.columns)[: len(NEED_COLUMNS)] == list(NEED_COLUMNS)
    assert len(acc) == 2  # unknown wording costs nothing: kept as an unmapped need
    assert acc.set_index("need_id").loc["N001", "item_id"] == "X02"  # 助餐 -> 助餐送餐
    summary = json.loads((tmp_path / "needs" / "summary.json").read_text(encoding="utf-8"))
    assert summary["unmapped_needs"] == {"说不清的需求": 1}
    assert "1 条需求的表述未对应服务项目" in proc.stdout


@pytest.mark.parametrize("kind", ["offers", "needs"])
def test_a_missing_catalogue_file_exits_2_with_one_line(tmp_path: Path, home: Path, kind: str) -> None:  # noqa: F811
    src = tmp_path / "t.csv"
    pd.DataFrame([offer_row(1) if kind == "offers" else need_row(1)]).to_csv(src, index=False)
    proc = cli(home, "--kind", kind, "--input", src, "--catalogue", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "文件不存在" in proc.stderr
