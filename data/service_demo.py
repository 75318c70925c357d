"""Synthetic service records for the demo households, with planted duplicate provision.

**Synthetic data, labelled so** (column ``synthetic`` = ``是`` in every row; the ID-card
numbers are made up, valid by GB 11643 only). Every household of the demo bundle gets a
made-up ID-card number and, per month, records of the departments that usually provide
each item group (:data:`HOME_DEPARTMENT`): one department per household, group and month,
so nothing is a duplicate. Then a share of households get one **planted** duplicate: a
second department serving the same group in the same month (:data:`PLANTS`: 医疗救助 from
医保 and 慈善总会, 心理咨询 from 卫健 with 心理热线 from 社工站 ...; groups of
:data:`data.service_records.DEFAULT_ITEM_GROUPS`). The expected flags are
returned with the records, so a test can check that exactly those are found.

Each department writes who the record is about its own way, as real files do:
民政 and 社工站 by household id, 医保 / 教育 / 住建 the 18-digit number, 慈善总会 with a
lower-case ``x``, 卫健 the old 15-digit number, 人社 with spaces, 残联 the 15-digit number
in Excel's scientific form (every digit kept). A few extra rows carry numbers whose digits
Excel lost (``3.30106E+17``): they must be rejected, and they are not duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.vocab import ITEM_BY_CODE
from data.bundle import Bundle
from data.idcard import check_digit, id_hash

#: (item, department) of the ordinary, single-department provision, one per catalogue group
_HOME: Final = (
    ("S01", "民政"), ("S02", "医保"), ("S03", "住建"), ("S05", "教育"), ("S06", "民政"),
    ("C01", "卫健"), ("C04", "社工站"), ("D01", "人社"), ("D03", "社工站"),
)  # fmt: skip
#: planted duplicates: (item, department) of a second provider of the same catalogue group
_PLANTED: Final = (("S02", "慈善总会"), ("C05", "社工站"), ("D04", "残联"), ("S03", "慈善总会"))
#: item group (:attr:`core.vocab.ServiceItem.group`) -> (item, department)
HOME_DEPARTMENT: Final[dict[str, tuple[str, str]]] = {ITEM_BY_CODE[i].group: (i, d) for i, d in _HOME}
PLANTS: Final[dict[str, tuple[str, str]]] = {ITEM_BY_CODE[i].group: (i, d) for i, d in _PLANTED}
#: the group every household receives every month (basic living, S01)
BASIC_GROUP: Final = ITEM_BY_CODE["S01"].group
#: typical amount in yuan of an item (None: a service without money)
AMOUNT_YUAN: Final[dict[str, float | None]] = {
    "S01": 1100.0, "S02": 800.0, "S03": 1500.0, "S04": 600.0, "S05": 1000.0, "S06": 300.0,
    "C01": None, "C02": None, "C03": None, "C04": 200.0, "C05": None, "D01": None, "D02": 500.0, "D03": None,
    "D04": None,
}  # fmt: skip
#: how each department writes the person: household id or an ID-card form
ID_STYLE: Final[dict[str, str]] = {
    "民政": "household", "社工站": "household", "医保": "id18", "教育": "id18", "住建": "id18",
    "慈善总会": "id18_lower", "卫健": "id15", "人社": "id18_spaced", "残联": "id15_sci",
}  # fmt: skip
RECORD_INPUT_COLUMNS: Final = (
    "记录编号", "身份证号", "户编号", "服务项目", "部门", "日期", "金额", "synthetic",
)  # fmt: skip
_DEPT_PREFIX: Final = {"民政": "MZ", "社工站": "SG", "医保": "YB", "教育": "JY", "住建": "ZJ", "慈善总会": "CS",
                       "卫健": "WJ", "人社": "RS", "残联": "CL"}  # fmt: skip
_XIHU_REGION: Final = "330106"


@dataclass(frozen=True)
class SyntheticRecords:
    """Outcome of :func:`synthetic_service_records`.

    Attributes
    ----------
    records : pandas.DataFrame
        As departments hand them in (text, Chinese headers :data:`RECORD_INPUT_COLUMNS`),
        one frame for all departments, rows shuffled.
    households : pandas.DataFrame
        ``beneficiary_id``, ``id_hash`` (of the made-up number, with the given key),
        ``town_code``, ``community_code``, ``name_masked``: the table that links household ids
        to persons and persons to areas.
    planted : pandas.DataFrame
        The expected flags: ``beneficiary_id``, ``person_key``, ``item_group``, ``period``
        (month label), ``departments`` (sorted, ``;``-joined).
    n_unreadable : int
        Rows whose ID lost its digits (to be rejected).
    """

    records: pd.DataFrame
    households: pd.DataFrame
    planted: pd.DataFrame
    n_unreadable: int


def _rng(seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"service-records:{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _made_up_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct valid 18-digit numbers of Xihu residents born 1940-1999."""
    births = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 365 * 60, n), unit="D")
    seq = rng.permutation(1000)[np.arange(n) % 1000]
    ids = []
    for i, (b, s) in enumerate(zip(births, seq, strict=True)):
        first17 = f"{_XIHU_REGION}{b:%Y%m%d}{(s + i // 1000) % 1000:03d}"
        ids.append(first17 + check_digit(first17))
    return ids


def _written(id18: str, style: str) -> str:
    old15 = id18[:6] + id18[8:17]
    if style == "id18_lower":
        return id18.lower()
    if style == "id15":
        return old15
    if style == "id18_spaced":
        return f"{id18[:6]} {id18[6:14]} {id18[14:]}"
    if style == "id15_sci":
        return f"{old15[0]}.{old15[1:]}E+14"
    return id18


def synthetic_service_records(
    bundle: Bundle | pd.DataFrame,
    seed: int = 13,
    *,
    key: bytes,
    year: int = 2026,
    months: int = 6,
    extra_rate: float = 0.6,
    planted_share: float = 0.04,
    n_unreadable: int = 5,
) -> SyntheticRecords:
    """Synthetic records of several departments for the bundle's households, with planted duplicates.

    Parameters
    ----------
    bundle : Bundle or pandas.DataFrame
        The demo bundle (its ``beneficiaries``) or a beneficiaries table with
        ``beneficiary_id`` (and ``town_code``, ``community_code``, ``name_masked`` when known).
    seed : int
        Same seed, same records.
    key : bytes
        Key of :func:`data.idcard.id_hash` used for ``households.id_hash`` and ``planted``.
    year, months : int
        Records fall in the first ``months`` months of ``year``.
    extra_rate : float
        Mean number of further (non-basic) items per household and month.
    planted_share : float
        Share of households given one planted duplicate.
    n_unreadable : int
        Extra rows whose ID-card number lost its digits.

    Returns
    -------
    SyntheticRecords
    """
    ben = bundle.beneficiaries if isinstance(bundle, Bundle) else bundle
    rng = _rng(seed)
    hh = ben["beneficiary_id"].astype(str).to_numpy()
    n = len(hh)
    ids = np.array(_made_up_ids(n, rng), dtype=object)
    groups = np.array(list(HOME_DEPARTMENT), dtype=object)
    other = groups[groups != BASIC_GROUP]

    # ordinary provision: basic living every month, plus Poisson-many other groups (distinct per month)
    rows_h: list[np.ndarray] = []
    rows_g: list[np.ndarray] = []
    rows_m: list[np.ndarray] = []
    for m in range(1, months + 1):
        rows_h.append(np.arange(n))
        rows_g.append(np.full(n, BASIC_GROUP, dtype=object))
        rows_m.append(np.full(n, m))
        k = np.minimum(rng.poisson(extra_rate, n), len(other))
        picks = np.argsort(rng.random((n, len(other))), axis=1)
        for j in range(int(k.max(initial=0))):
            who = np.flatnonzero(k > j)
            rows_h.append(who)
            rows_g.append(other[picks[who, j]])
            rows_m.append(np.full(len(who), m))
    h = np.concatenate(rows_h)
    g = np.concatenate(rows_g)
    month = np.concatenate(rows_m)
    item = np.array([HOME_DEPARTMENT[x][0] for x in g], dtype=object)
    dept = np.array([HOME_DEPARTMENT[x][1] for x in g], dtype=object)

    # planted: a second department for one (group, month) the household already receives
    n_plant = round(planted_share * n)
    plant_h = rng.choice(n, size=min(n_plant, n), replace=False)
    plant_groups = np.array(list(PLANTS), dtype=object)
    p_g = plant_groups[rng.integers(0, len(plant_groups), len(plant_h))]
    p_m = rng.integers(1, months + 1, len(plant_h))
    # make sure the household has the home record of that group in that month
    need_home = p_g != BASIC_GROUP
    h = np.concatenate([h, plant_h[need_home], plant_h])
    g = np.concatenate([g, p_g[need_home], p_g])
    month = np.concatenate([month, p_m[need_home], p_m])
    item = np.concatenate([item, [HOME_DEPARTMENT[x][0] for x in p_g[need_home]], [PLANTS[x][0] for x in p_g]]).astype(
        object
    )
    dept = np.concatenate([dept, [HOME_DEPARTMENT[x][1] for x in p_g[need_home]], [PLANTS[x][1] for x in p_g]]).astype(
        object
    )
    # the home record added for a plant may repeat an ordinary one: drop exact repeats
    frame = pd.DataFrame({"h": h, "g": g, "m": month, "item": item, "dept": dept})
    frame = frame.drop_duplicates(["h", "g", "m", "dept"], ignore_index=True)

    day = rng.integers(1, 29, len(frame))
    dates = [f"{year}-{m:02d}-{d:02d}" for m, d in zip(frame["m"], day, strict=True)]
    amounts = [AMOUNT_YUAN[i] for i in frame["item"]]
    jitter = rng.integers(-3, 4, len(frame)) * 10
    styles = [ID_STYLE[d] for d in frame["dept"]]
    id_cards = ["" if s == "household" else _written(ids[i], s) for i, s in zip(frame["h"], styles, strict=True)]
    records = pd.DataFrame(
        {
            "记录编号": "",
            "身份证号": id_cards,
            "户编号": [hh[i] if s == "household" else "" for i, s in zip(frame["h"], styles, strict=True)],
            "服务项目": frame["item"].to_numpy(),
            "部门": frame["dept"].to_numpy(),
            "日期": dates,
            "金额": ["" if a is None else f"{a + j:.0f}" for a, j in zip(amounts, jitter, strict=True)],
            "synthetic": "是",
        }
    )
    if n_unreadable:
        bad = records.loc[records["部门"] == "医保"].head(n_unreadable).copy()
        bad["身份证号"] = [f"{x[0]}.{x[1:6]}E+17" for x in bad["身份证号"]]
        records = pd.concat([records, bad], ignore_index=True)
    records = records.sample(frac=1.0, random_state=np.random.RandomState(seed % 2**32)).reset_index(drop=True)
    seq = records.groupby("部门").cumcount() + 1
    records["记录编号"] = [f"{_DEPT_PREFIX[d]}{s:07d}" for d, s in zip(records["部门"], seq, strict=True)]
    records = records[list(RECORD_INPUT_COLUMNS)]

    hashes = [id_hash(x, key) for x in ids]
    households = pd.DataFrame(
        {
            "beneficiary_id": hh,
            "id_hash": hashes,
            **{c: ben[c].to_numpy() for c in ("town_code", "community_code", "name_masked") if c in ben.columns},
        }
    )
    planted = pd.DataFrame(
        {
            "beneficiary_id": hh[plant_h],
            "person_key": [hashes[i] for i in plant_h],
            "item_group": p_g,
            "period": [f"{year}-{m:02d}" for m in p_m],
            "departments": [";".join(sorted({HOME_DEPARTMENT[x][1], PLANTS[x][1]})) for x in p_g],
        }
    )
    return SyntheticRecords(records=records, households=households, planted=planted, n_unreadable=n_unreadable)
