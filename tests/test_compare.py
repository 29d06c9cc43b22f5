"""Comparison levels: every level of every field, on aligned Series."""
import numpy as np
import pandas as pd
import pytest

from linkage.compare import (
    AGREE, CLOSE, DISAGREE, UNKNOWN, compare_address, compare_dates, compare_kana, compare_name, compare_sex,
    pair_features,
)
from linkage.normalize import tables


def levels(func, pairs):
    a = pd.Series([p[0] for p in pairs], dtype=object)
    b = pd.Series([p[1] for p in pairs], dtype=object)
    return func(a, b).astype(str).tolist()


@pytest.mark.parametrize("a,b,level", [
    ("山田 太郎", "山田 太郎", "exact"),
    ("髙橋 恭子", "高橋 恭子", "variant"),
    ("山田　太郎", "山田太郎", "variant"),
    ("渡邉", "渡辺", "variant"),
    ("斎藤 一", "斉藤 一", "close"),
    ("SMITH JOHN", "SMYTH JOHN", "close"),
    ("山田 太郎", "鈴木 一郎", "different"),
    ("山田 太郎", None, "missing"),
    ("", "山田", "missing"),
])
def test_name_levels(a, b, level):
    assert levels(compare_name, [(a, b)]) == [level]


@pytest.mark.parametrize("a,b,level", [
    ("ヤマダ タロウ", "ヤマダ タロウ", "exact"),
    ("ヤマダ キョウコ", "ﾔﾏﾀﾞ ｷﾖｳｺ", "variant"),
    ("やまだ たろう", "ヤマダ　タロウ", "variant"),
    ("コウノ", "ｺｰﾉ", "close"),
    ("チヂワ", "チジワ", "close"),
    ("サトウ", "サドウ", "different"),
    ("ハヤシ", "バヤシ", "different"),
    ("ヤマダ", None, "missing"),
])
def test_kana_levels(a, b, level):
    assert levels(compare_kana, [(a, b)]) == [level]


@pytest.mark.parametrize("a,b,level", [
    ("1985-04-12", "S60.4.12", "exact"),
    ("昭和60年4月12日", "19850412", "exact"),
    ("1985-04-12", "1985-12-04", "swapped"),
    ("1985-04-12", "1985-04-13", "one_digit"),
    ("1985-04-12", "1986-04-12", "one_digit"),
    ("1985-04-12", "1985-04-29", "year_month"),
    ("1985-04-12", "1990-07-01", "different"),
    ("1985-04-12", "昭和64年1月8日", "missing"),  # that day does not exist
    (None, "1985-04-12", "missing"),
])
def test_date_levels(a, b, level):
    assert levels(compare_dates, [(a, b)]) == [level]


@pytest.mark.parametrize("a,b,level", [
    ("1", "男", "exact"), ("2", "F", "exact"), ("1", "2", "different"), ("9", "1", "missing"), ("0", "2", "missing"),
])
def test_sex_levels(a, b, level):
    assert levels(compare_sex, [(a, b)]) == [level]


@pytest.mark.parametrize("a,b,level", [
    ("東京都千代田区霞が関1丁目2番3号", "東京都千代田区霞が関1丁目2番3号", "exact"),
    ("東京都千代田区霞が関1丁目2番3号", "東京都千代田区霞ヶ関一丁目2-3", "variant"),
    ("東京都千代田区霞が関1-2-3", "東京都千代田区霞が関1-2-4", "close"),
    ("東京都千代田区霞が関1-2-3", "大阪府大阪市北区梅田1-1", "different"),
])
def test_address_levels(a, b, level):
    assert levels(compare_address, [(a, b)]) == [level]


def test_index_of_left_side_is_kept():
    a = pd.Series(["山田"], index=[42])
    assert compare_name(a, pd.Series(["山田"])).index.tolist() == [42]


def _people(rows):
    df = pd.DataFrame(rows, columns=["my_number", "name", "name_kana", "birth_date", "sex", "address",
                                     "household_id", "relationship"])
    return tables.prepare_residents(df)


def test_pair_features_grades_every_field():
    left = _people([
        ("", "山田 太郎", "ヤマダ タロウ", "1978-05-01", "1", "東京都港区1-1", "H", ""),
        ("", "田中 花子", "タナカ ハナコ", "1985-03-03", "2", "", "H", ""),
        ("", "山田太郎", "", "1978-01-05", "2", "", "H", ""),
        ("", "REYES JOSE", "", "1970-01-01", "1", "", "H", ""),
    ])
    right = _people([
        ("", "山田 太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "S53.5.1", "男", "東京都港区一丁目1番", "H", ""),
        ("", "鈴木 花子", "スズキ ハナコ", "1985-03-03", "2", "", "H", ""),
        ("", "山田 太郎", "", "1978-05-01", "1", "", "H", ""),
        ("", "レイエス ホセ", "レイエス ホセ", "1970-01-01", "1", "", "H", ""),
    ])
    f = pair_features(left, right, np.arange(4), np.arange(4))
    assert f.loc[0, ["fam", "giv", "birth", "sex", "addr"]].tolist() == [AGREE] * 5
    assert f.loc[1, ["fam", "giv", "birth", "sex"]].tolist() == [DISAGREE, AGREE, AGREE, AGREE]
    # Unsplit kanji split at the other side's family name; swapped day/month is near.
    assert f.loc[2, ["fam", "giv", "birth", "sex"]].tolist() == [AGREE, AGREE, CLOSE, DISAGREE]
    # Alphabet against katakana: transliteration confirms the family name, never refutes.
    assert f.loc[3, "fam"] == CLOSE and f.loc[3, "giv"] in (CLOSE, UNKNOWN)
