"""Kanji/alphabet name keys and the curated variant-kanji table."""
from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.normalize.names import (
    NEAR_PAIRS,
    VARIANTS,
    is_alphabet,
    load_variants,
    name_key,
    name_near_key,
    split_name,
)

DOMAIN_PAIRS = (
    "髙高 﨑崎 嵜崎 邊辺 邉辺 澤沢 齋斎 齊斉 濱浜 廣広 櫻桜 嶋島 嶌島 籠篭 國国 龍竜 眞真 德徳 惠恵 "
    "榮栄 實実 壽寿 彌弥 瀧滝 淵渕 冨富 桒桑 槇槙 萬万 關関 峯峰 舘館 圓円"
).split()

VS17 = "\U000E0100"  # IVS: 辻󠄀 (one-dot shinnyō), 葛󠄀 …


def key1(value):
    return name_key([value]).iloc[0]


def near1(value):
    return name_near_key([value]).iloc[0]


# ---------------------------------------------------------------- the table
def test_variant_table_is_valid():
    table = load_variants()
    assert list(table.columns) == ["variant", "standard", "kind", "note"]
    assert len(table) >= 150
    assert set(table["kind"]) <= {"old", "variant", "itaiji"}
    for col in ("variant", "standard"):
        assert table[col].str.len().eq(1).all(), col
    assert not table["variant"].duplicated().any()
    assert table["note"].notna().all()
    pairs = set(zip(table["variant"], table["standard"]))
    missing = [p for p in DOMAIN_PAIRS if (p[0], p[1]) not in pairs]
    assert not missing
    # no chains and no cycles: a standard form is never itself a variant
    assert not set(table["standard"]) & set(table["variant"])
    assert ("﨑", "埼") not in pairs and "埼" not in set(table["standard"])
    for v, s in pairs:
        assert v != s
        assert unicodedata.normalize("NFKC", s) == s  # keys stay NFKC-stable
        # a row NFKC would reroute elsewhere would be dead
        assert unicodedata.normalize("NFKC", v) in (v, s)


def test_near_pairs_are_not_variants():
    for src, dst in NEAR_PAIRS.items():
        assert src not in VARIANTS and dst not in VARIANTS
        assert dst not in NEAR_PAIRS


@pytest.mark.parametrize("variant,standard", sorted(VARIANTS.items()))
def test_every_table_row_folds(variant, standard):
    assert key1(f"山{variant}") == f"山{standard}"


# ---------------------------------------------------------------- must meet
MEET = [
    ("髙橋", "高橋"), ("髙橋 一郎", "高橋一郎"), ("渡邉 健", "渡辺 健"), ("渡邊", "渡辺"),
    ("齋藤 花子", "斎藤 花子"), ("齊藤", "斉藤"), ("山﨑", "山崎"), ("宮嵜", "宮崎"),
    ("澤田", "沢田"), ("濱田", "浜田"), ("濵田", "浜田"), ("廣瀨", "広瀬"), ("櫻井", "桜井"),
    ("中嶋", "中島"), ("中嶌", "中島"), ("國分", "国分"), ("龍一", "竜一"), ("眞理子", "真理子"),
    ("德永", "徳永"), ("惠子", "恵子"), ("榮一", "栄一"), ("實", "実"), ("壽子", "寿子"),
    ("彌生", "弥生"), ("瀧本", "滝本"), ("淵上", "渕上"), ("冨田", "富田"), ("桒原", "桑原"),
    ("槇原", "槙原"), ("萬田", "万田"), ("關口", "関口"), ("峯岸", "峰岸"), ("舘野", "館野"),
    ("圓山", "円山"), ("籠谷", "篭谷"), ("𠮷田", "吉田"), ("栁田", "柳田"), ("藏本", "蔵本"),
    ("增田", "増田"), ("淺野", "浅野"), ("兒玉", "児玉"), ("會田", "会田"), ("鐵男", "鉄男"),
    ("豐田", "豊田"), ("禮子", "礼子"), ("黑田", "黒田"), ("竹內", "竹内"), ("神戶", "神戸"),
    ("太郞", "太郎"), ("曾根", "曽根"), ("薗田", "園田"), ("小埜", "小野"),
    ("\uFA4F介", "祐介"), ("\uFA19田", "神田"), ("\uFA1B田", "福田"),  # CJK compatibility
    (f"辻{VS17}本", "辻本"), (f"葛{VS17}西", "葛西"), ("邉\U000E0102", "辺"), ("祇\uFE00園", "祇園"),
    ("⾼橋", "高橋"),  # Kangxi radical from a PDF copy
    ("山田 太郎", "山田太郎"), ("山田　太郎", "山田太郎"), ("山田・太郎", "山田太郎"),
    (" 山田  太郎 ", "山田太郎"), ("山田\u200b太郎", "山田太郎"), ("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ　ハナコ"),
    ("スミス＝ジョン", "スミス・ジョン"),
    ("SMITH JOHN", "Smith John"), ("ＳＭＩＴＨ　ＪＯＨＮ", "SMITH JOHN"), ("ｓｍｉｔｈ ｊｏｈｎ", "SMITHJOHN"),
    ("OHNO TARO", "ONO TARO"), ("OONO TARO", "ONO TARO"), ("ŌNO TARŌ", "ONO TARO"),
    ("Ôno Tarô", "Ono Taro"), ("OUNO", "ONO"), ("HOMMA", "HONMA"), ("SATOH", "SATO"),
    ("SATOU", "SATO"), ("YUUKI", "YUKI"), ("OHTA", "OTA"), ("KOUNO", "KOHNO"), ("SAMPEI", "SANPEI"),
    ("NAMBA", "NANBA"), ("OHYA", "OYA"), ("NGUYEN VAN AN", "Nguyễn Văn An"), ("O'BRIEN", "OBRIEN"),
    ("SMITH-JONES", "SMITH JONES"), ("MÜLLER", "MULLER"), ("ØSTERGAARD", "OSTERGAARD"),
    ("Đặng Thị Hoa", "DANG THI HOA"), ("KIM, MIN-JUN", "KIM MINJUN"), ("DE LA CRUZ, MARIA", "DELACRUZ MARIA"),
]


@pytest.mark.parametrize("a,b", MEET)
def test_must_meet(a, b):
    ka, kb = name_key([a, b])
    assert ka is not pd.NA and ka == kb
    assert near1(a) == near1(b)


# ------------------------------------------------------------ must not meet
APART = [
    ("斎藤", "斉藤"), ("齋藤", "齊藤"), ("山田", "山口"), ("佐藤", "佐東"), ("太郎", "次郎"),
    ("ONO", "ONODA"), ("山田 太郎", "山田 次郎"), ("田中 一郎", "中田 一郎"), ("山崎", "山埼"),
    ("渡辺", "渡部"), ("大野", "小野"), ("吉田", "古田"), ("土屋", "士屋"), ("荻原", "萩原"),
    ("藤田", "籐田"), ("柿沼", "杮沼"), ("克己", "克已"), ("祐介", "佑介"), ("巳代子", "己代子"),
    ("SMITH JOHN", "JOHN SMITH"), ("OHARA", "ORA"), ("IIDA", "IDA"), ("KIM", "KIMURA"),
    ("渡〓", "渡"), ("渡〓", "渡辺"), ("？田", "田"), ("NGUYEN VAN AN", "NGUYEN VAN ANH"), ("SATO", "SAITO"), ("KATO", "KATOU KEN"),
]


@pytest.mark.parametrize("a,b", APART)
def test_must_not_meet(a, b):
    ka, kb = name_key([a, b])
    assert ka != kb


NEAR = [("斎藤", "斉藤"), ("齋藤", "齊藤"), ("齋藤 花子", "斉藤花子"), ("荻原", "萩原"),
        ("藤田", "籐田"), ("柿沼", "杮沼"), ("克己", "克已"), ("祐介", "佑介"), ("佑介", "\uFA4F介")]


@pytest.mark.parametrize("a,b", NEAR)
def test_near_pairs_meet_only_under_near_key(a, b):
    assert near1(a) == near1(b)
    assert key1(a) != key1(b)


@pytest.mark.parametrize("a,b", [("山田", "山口"), ("斎藤", "佐藤"), ("太郎", "次郎"), ("ONO", "ONODA")])
def test_near_key_still_separates_different_names(a, b):
    assert near1(a) != near1(b)


EXACT = [
    ("髙橋 太郎", "高橋太郎"), ("OHNO TARO", "ONOTARO"), ("Ｎｇｕｙｅｎ", "NGUYEN"), ("HOMMA MOMOKO", "HONMAMOMOKO"),
    ("齋藤", "斎藤"), ("ｶﾞｸ", "ガク"), ("", pd.NA), ("  　 ", pd.NA), ("・", pd.NA), ("\uFE00", pd.NA),
    (None, pd.NA), (float("nan"), pd.NA), (pd.NA, pd.NA), ("-'.", pd.NA),
]


@pytest.mark.parametrize("value,expected", EXACT)
def test_exact_keys(value, expected):
    got = key1(value)
    assert (got is pd.NA) if expected is pd.NA else got == expected


def test_series_shape_index_and_dtype_are_kept():
    s = pd.Series(["髙橋", None, "髙橋", "SMITH"], index=[10, 20, 30, 40], name="name")
    for fn in (name_key, name_near_key):
        out = fn(s)
        assert out.dtype == "string" and list(out.index) == [10, 20, 30, 40] and out.name == "name"
        assert out.tolist() == ["高橋", pd.NA, "高橋", "SMITH"]


# --------------------------------------------------------------- split_name
SPLIT = [
    ("山田 太郎", "山田", "太郎"), ("山田　太郎", "山田", "太郎"), ("  山田 \u3000 太郎 ", "山田", "太郎"),
    ("山田太郎", None, None), ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ", "タロウ"), ("やまだ　たろう", "やまだ", "たろう"),
    ("NGUYEN VAN AN", "NGUYEN", "VAN AN"), ("ＳＭＩＴＨ　ＪＯＨＮ", "SMITH", "JOHN"), ("SMITH", None, None),
    ("", None, None), (None, None, None), ("山田\u00a0花子", "山田", "花子"),
]


def test_split_name():
    out = split_name([v for v, _, _ in SPLIT])
    assert list(out.columns) == ["family", "given"]
    assert (out.dtypes == "string").all()
    got = [tuple(None if pd.isna(x) else x for x in row) for row in out.itertuples(index=False)]
    assert got == [(fam, giv) for _, fam, giv in SPLIT]


def test_split_name_keeps_index():
    s = pd.Series(["山田 太郎", "山田 太郎"], index=["a", "b"])
    out = split_name(s)
    assert list(out.index) == ["a", "b"] and out["family"].tolist() == ["山田", "山田"]


# -------------------------------------------------------------- is_alphabet
ALPHA = [
    ("SMITH JOHN", True), ("Nguyễn Văn An", True), ("ＳＭＩＴＨ", True), ("O'BRIEN", True),
    ("Đặng Thị Hoa", True), ("山田 太郎", False), ("ヤマダ", False), ("ｽﾐｽ", False),
    ("山田 JOHN", False), ("123", False), ("", False), (None, False), ("Ιωάννης", False),
]


def test_is_alphabet():
    out = is_alphabet([v for v, _ in ALPHA])
    assert out.dtype == bool
    assert out.tolist() == [e for _, e in ALPHA]


# --------------------------------------------------------------- properties
NAME_CHARS = list("山田太郎花子高橋渡辺斎藤斉佐東一二三々ヶーあいうアイウカガﾊﾟAOHUMNBPTKaeiouō") + sorted(VARIANTS)
names = st.text(alphabet=st.sampled_from(NAME_CHARS), min_size=1, max_size=8)
seps = st.sampled_from([" ", "\u3000", "  ", "・", "･", "\t", " \u3000 "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=5))
def test_keys_are_idempotent(values):
    for fn in (name_key, name_near_key):
        once = fn(values)
        twice = fn(once)
        assert once.isna().tolist() == twice.isna().tolist()
        assert once.dropna().tolist() == twice.dropna().tolist()


@settings(max_examples=200, deadline=None)
@given(names, names, seps)
def test_key_does_not_depend_on_separator(family, given_name, sep):
    assert key1(family + sep + given_name) == key1(family + given_name)
    assert near1(family + sep + given_name) == near1(family + given_name)


@settings(max_examples=200, deadline=None)
@given(names, st.data())
def test_key_ignores_inserted_separators_and_selectors(name, data):
    pos = data.draw(st.integers(0, len(name)))
    junk = data.draw(st.sampled_from([" ", "\u3000", "・", "\uFE00", VS17, "\u200b"]))
    assert key1(name[:pos] + junk + name[pos:]) == key1(name)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(float("nan")), st.text(max_size=6)), max_size=8))
def test_na_in_na_out(values):
    out = name_key(values)
    assert len(out) == len(values)
    for v, k in zip(values, out, strict=True):
        if v is None or isinstance(v, float):
            assert k is pd.NA
        elif k is not pd.NA:
            assert k != ""


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=10), max_size=5))
def test_no_exception_on_arbitrary_unicode(values):
    name_key(values)
    name_near_key(values)
    split_name(values)
    is_alphabet(values)
