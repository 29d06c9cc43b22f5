"""Messiness the contract allows, that the generator never produces, changes no verdict.

The sample world is re-spelt in ways a real municipality's export might: other
header aliases, hiragana kana, full-width and hyphenated numbers, era dates in
kanji, 男/女 codes, ・ between name parts, shuffled rows and columns, extra
columns.  Every record must keep its status and reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import linkage
from linkage.normalize import to_era
from linkage.read import read_table

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _kata_to_hira(text: object) -> object:
    if not isinstance(text, str):
        return text
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def _respell_number(value: object) -> object:
    if not isinstance(value, str) or len(value) != 12 or not value.isdigit():
        return value
    return f"{value[:4]}-{value[4:8]}-{value[8:]}".translate(FULL_WIDTH)


def _respell_dates(values: pd.Series) -> pd.Series:
    parsed = linkage.normalize.birth_date(values)
    era = to_era(parsed, "kanji")
    return era.where(parsed.notna(), values)  # unreadable ones stay as they were


def _messy(df: pd.DataFrame, rng: np.random.Generator, rename: dict[str, str]) -> pd.DataFrame:
    out = df.copy()
    if "name_kana" in out:
        out["name_kana"] = out["name_kana"].map(_kata_to_hira)
    if "my_number" in out:
        out["my_number"] = out["my_number"].map(_respell_number)
    if "birth_date" in out:
        out["birth_date"] = _respell_dates(out["birth_date"])
    if "sex" in out:
        out["sex"] = out["sex"].replace({"1": "男", "2": "女"})
    out["備考"] = "メモ"  # an extra column
    out = out.sample(frac=1.0, random_state=int(rng.integers(1 << 31)))  # row order
    out = out[list(rng.permutation(out.columns))]  # column order
    return out.rename(columns=rename)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    d = tmp_path_factory.mktemp("messy")
    rng = np.random.default_rng(1)
    tables = {kind: read_table(SAMPLES / f"{kind}.csv", kind).drop(columns="_row").astype(object)
              for kind in ("residents", "bank", "insurance")}
    tables = {k: t.where(t.notna(), None) for k, t in tables.items()}
    _messy(tables["residents"], rng, {"my_number": "マイナンバー", "name": "漢字氏名", "name_kana": "フリガナ",
                                      "birth_date": "生年月日", "sex": "性別", "address": "住所",
                                      "household_id": "世帯番号", "relationship": "続柄"}).to_csv(
        d / "residents.csv", index=False, encoding="utf-8-sig")
    _messy(tables["bank"], rng, {"record_id": "レコードID", "my_number": "個人番号", "holder_kana": "口座名義"}).to_csv(
        d / "bank.csv", index=False, encoding="utf-8")
    _messy(tables["insurance"], rng, {"name": "氏名", "name_kana": "カナ氏名"}).to_parquet(
        d / "insurance.parquet", index=False)
    original = linkage.audit(SAMPLES / "residents.csv", bank=SAMPLES / "bank.csv", insurance=SAMPLES / "insurance.csv")
    messy = linkage.audit(d / "residents.csv", bank=d / "bank.csv", insurance=d / "insurance.parquet")
    key = ["source", "record_id"]
    return (original.findings.set_index(key).sort_index(), messy.findings.set_index(key).sort_index())


def test_every_record_keeps_its_verdict(both):
    original, messy = both
    assert original.index.equals(messy.index)
    changed = (original["status"] != messy["status"]) | (original["reason"] != messy["reason"])
    assert not changed.any(), original[changed].join(messy[changed], rsuffix="_messy")[
        ["status", "reason", "status_messy", "reason_messy", "evidence_messy"]].to_string()


def test_suggested_owners_are_the_same(both):
    original, messy = both
    assert original["suggested_my_number"].fillna("").equals(messy["suggested_my_number"].fillna(""))
