"""Need wording never costs a household: matched by name, alias, similarity or a remembered alias, else unmapped."""

from __future__ import annotations

import pandas as pd
import pytest

from data.importer import import_table, parse_need_cell
from data.needs import HOW_EXACT, HOW_SIMILAR, HOW_STORED, match_need_wording
from data.schemas import NEED_COLUMNS
from data.storage import Store
from tests.data.test_importer import AREA, COMMUNITIES, KEY, ben, frame


@pytest.mark.parametrize(
    ("wording", "item", "how"),
    [
        ("S02", "S02", HOW_EXACT),
        ("医疗救助", "S02", HOW_EXACT),
        ("兜底保障", "S01", HOW_EXACT),  # one half of 低保金/兜底保障
        ("生活救助", "S01", HOW_EXACT),  # a catalogue alias
        ("就业培训", "D02", HOW_EXACT),
        ("ＭＥＡＬ ASSISTANCE", "S06", HOW_EXACT),  # full-width, upper case, English name
        ("助餐", "S06", HOW_SIMILAR),  # contained in 助餐送餐 only
        ("医疗救助申请", "S02", HOW_SIMILAR),  # contains 医疗救助 only
        ("救助", None, None),  # in many names: no guess
        ("心理", None, None),  # 心理咨询 and 心理热线
        ("打麻将", None, None),
        ("助", None, None),  # too short to compare
    ],
)
def test_match_need_wording(wording: str, item: str | None, how: str | None) -> None:
    m = match_need_wording(wording)
    assert (m.item_id, m.how) == (item, how)


def test_remembered_alias_wins_and_unknown_items_in_it_are_ignored() -> None:
    assert match_need_wording("打麻将", aliases={"打麻将": "D03"}).item_id == "D03"
    assert match_need_wording("打麻将", aliases={"打麻将": "D03"}).how == HOW_STORED
    assert match_need_wording("助餐", aliases={" 助 餐": "C04"}).item_id == "C04"  # keys normalised too
    assert match_need_wording("打麻将", aliases={"打麻将": "Z99"}).item_id is None


def test_need_cell_parts_repeats_and_words() -> None:
    got = parse_need_cell("医疗救助；助餐、打麻将,医疗救助,住房/教育")
    assert got == [
        ("S02", "医疗救助", HOW_EXACT),
        ("S06", "助餐", HOW_SIMILAR),
        (None, "打麻将", None),
        ("S03", "住房", HOW_EXACT),
        ("S05", "教育", HOW_EXACT),
    ]
    assert parse_need_cell("") == []


def _import(rows: list[dict[str, str]], **kw: object) -> object:
    res = import_table(frame(rows), "beneficiaries", area=AREA, communities=COMMUNITIES, id_key=KEY, **kw)  # type: ignore[arg-type]
    assert res.summary["accepted"] + res.summary["rejected"] == res.summary["read"]
    return res


def test_unknown_wording_keeps_every_household() -> None:
    """The issue's case: 生活救助, 就业培训, 助餐 and real unknown wording; no valid household is lost."""
    rows = [
        ben(1, 需求="生活救助"),
        ben(2, 需求="就业培训、助餐"),
        ben(3, 需求="打麻将、医疗救助", 紧急程度="5"),
        ben(4, 需求="打麻将", 紧急程度=""),
        ben(5, 需求=""),
        ben(6, 救助类别="低收入", 需求="助餐"),  # rejected for its category, not its needs
    ]
    res = _import(rows)
    assert res.summary["accepted"] == 5 and res.rejected["reason_code"].tolist() == ["bad_category"]
    acc = res.accepted.set_index("beneficiary_id")
    assert acc.loc["B001", "needs"] == "S01" and acc.loc["B001", "need_type"] == "survival"
    assert acc.loc["B002", "needs"] == "D02;S06" and acc.loc["B002", "need_type"] == "survival"
    assert acc.loc["B003", "needs"] == "S02"
    assert pd.isna(acc.loc["B004", "needs"]) and pd.isna(acc.loc["B005", "needs"])
    w = res.warnings
    assert set(zip(w["record_id"], w["code"], strict=True)) == {
        ("B002", "need_similar"),
        ("B003", "need_unmapped"),
        ("B004", "need_unmapped"),
    }
    assert "打麻将" in w.loc[w["record_id"] == "B003", "message"].iloc[0]
    assert res.summary["unmapped_needs"] == {"打麻将": 2}
    needs = res.needs
    assert tuple(needs.columns) == NEED_COLUMNS
    assert needs["need_id"].tolist() == ["B001-1", "B002-1", "B002-2", "B003-1", "B003-2", "B004-1"]
    assert needs["item_id"].fillna("-").tolist() == ["S01", "D02", "S06", "-", "S02", "-"]
    assert needs["wording"].tolist()[3] == "打麻将"
    # urgency 1-3 from the household's 1-5 (4 -> 3, 5 -> 3, none -> 1)
    assert needs.set_index("need_id")["urgency"].to_dict() == {
        "B001-1": 3, "B002-1": 3, "B002-2": 3, "B003-1": 3, "B003-2": 3, "B004-1": 1,
    }  # fmt: skip
    assert not needs["synthetic"].any()


def test_alias_store_is_used_by_the_next_import(store: Store) -> None:
    rows = [ben(1, 需求="打麻将、助餐"), ben(2, 需求="老年助浴")]
    first = _import(rows)
    assert set(first.summary["unmapped_needs"]) == {"打麻将", "老年助浴"}
    store.save_need_alias("打麻将", "D03", author="planner1")
    store.save_need_alias("老年助浴", "C04", author="planner1")
    store.save_need_alias(" 老年助浴 ", "C07", author="planner2")  # the same wording: replaced
    assert store.need_aliases() == {"打麻将": "D03", "老年助浴": "C07"}
    second = _import(rows, need_aliases=store.need_aliases())
    assert second.summary["unmapped_needs"] == {}
    assert second.accepted.set_index("beneficiary_id")["needs"].to_dict() == {"B001": "D03;S06", "B002": "C07"}
    assert set(second.warnings["code"]) == {"need_similar"}  # only 助餐 is a guess to check
    assert store.delete_need_alias("打麻将") and not store.delete_need_alias("打麻将")
    assert store.need_aliases() == {"老年助浴": "C07"}


def test_other_kinds_have_no_needs() -> None:
    from tests.data.test_importer import hub

    res = import_table(frame([hub(1)]), "hubs", area=AREA, communities=COMMUNITIES)
    assert res.needs.empty and tuple(res.needs.columns) == NEED_COLUMNS
    assert "unmapped_needs" not in res.summary
