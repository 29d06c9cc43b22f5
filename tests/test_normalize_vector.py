"""The vectorised key path gives exactly the per-string key, whatever the text."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.normalize import kana, names

# Characters the tables handle, the dakuten marks they join, and characters they
# leave to the per-string path (Latin with diacritics, variation selectors, Greek …).
ALPHABET = st.sampled_from(
    list("ヤマダキョウコやまだきょうこﾔﾏﾀﾞｷﾖｳｺｶﾊﾟﾝｧｯｬｰー・ 　-.ABCxyzＡＢｃ０１9髙橋高渡邉辺齋斎﨑崎々〆ヴゔ")
    + ["\uff9e", "\uff9f", "\u309b", "\u309c", "\u3099", "\u309a", "\ufe00", "\U000e0100", "é", "Ō", "Ω", "\u200b",
       "\uf929", "\u2f00", "ｦ", "ﾝ"]
)
TEXT = st.text(alphabet=ALPHABET, max_size=20)


@settings(max_examples=500, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=30))
def test_kana_key_vector_path_equals_per_string(values):
    assert list(kana._strict_map().apply(values)) == [kana._strict(v) or None for v in values]


@settings(max_examples=500, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=30))
def test_name_key_vector_path_equals_per_string(values):
    assert list(names._key_map().apply(values)) == [names._key(v) or None for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("斉斎萩荻籐藤杮柿已己佑祐髙高 ﾀﾞSMITH")), max_size=8) | TEXT,
                min_size=1, max_size=30))
def test_name_near_key_vector_path_equals_per_string(values):
    assert list(names._near_map().apply(values)) == [names._near_key(v) or None for v in values]



def test_long_values_are_keyed_whole():
    long = "ヤマダ" * 1000
    assert list(kana._strict_map().apply([long])) == [kana._strict(long)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=30), st.integers(0, 5))
def test_public_keys_agree_for_every_string_storage(values, cut):
    """object, python ``string`` and Arrow-backed input (also a sliced Arrow
    array, whose buffers start at an offset) give one key, and keys come back
    Arrow-backed and aligned with the input's index."""
    import pandas as pd

    index = pd.RangeIndex(100, 100 + len(values))
    for func, per_string in ((kana.kana_key, kana._strict), (names.name_key, names._key)):
        expected = [None if v is None else (per_string(v) or None) for v in values]
        for dtype in (object, "string", "string[pyarrow]"):
            out = func(pd.Series(values, index=index, dtype=dtype))
            assert out.dtype == "string[pyarrow]"
            assert out.index.equals(index)
            assert [None if v is pd.NA else v for v in out.tolist()] == expected
        sliced = pd.Series(["ﾀﾞﾐｰ"] * cut + values, dtype="string[pyarrow]").iloc[cut:]
        assert [None if v is pd.NA else v for v in func(sliced).tolist()] == expected


def test_non_string_values_take_the_per_string_path():
    import pandas as pd

    out = names.name_key(pd.Series([1, "髙橋 一郎", None], dtype=object))
    assert out.tolist()[:2] == ["1", "高橋一郎"] and out.isna().tolist() == [False, False, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=30), st.integers(0, 5))
def test_arrow_kernel_reads_sliced_buffers(values, cut):
    import pyarrow as pa

    arr = pa.array(["ﾀﾞﾐｰ ｱ"] * cut + values, type=pa.string()).slice(cut)
    for cmap, per_string in ((kana._strict_map(), kana._strict), (names._key_map(), names._key)):
        assert cmap.apply_arrow(arr).to_pylist() == [per_string(v) or None for v in values]


SPLIT_ALPHABET = st.sampled_from(list("山田太郎ﾔﾏﾀﾞｶﾞ ｱ　\t\n-・ーSMITHＪｏｈｎé¨\u00a0\u2003\u3099\x1c\u200b①"))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=SPLIT_ALPHABET, max_size=12), min_size=1, max_size=20))
def test_split_name_arrow_path_equals_per_string(values):
    import pandas as pd

    out = names.split_name(pd.Series(values, dtype="string[pyarrow]"))
    for value, fam, giv in zip(values, out["family"].tolist(), out["given"].tolist()):
        expected = names._split(value)
        got = None if fam is pd.NA else (fam, giv)
        assert got == expected, value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=SPLIT_ALPHABET, max_size=8)), min_size=1, max_size=20))
def test_is_alphabet_arrow_path_equals_per_string(values):
    import pandas as pd

    out = names.is_alphabet(pd.Series(values, dtype="string[pyarrow]")).tolist()
    assert out == [v is not None and names._latin_only(names._nfkc(v)) for v in values]


_DATE_PIECES = st.sampled_from(["明治", "大正", "昭和", "平成", "令和", "明", "昭", "M", "T", "S", "H", "R", "s", "h",
                                "r", ".", "/", "-", "年", "月", "日", "元", "0", "1", "2", "3", "4", "5", "6", "9",
                                "12", "31", "19", "20", "64", "30", "29", "02", "１", "十", " ", "生"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_DATE_PIECES, max_size=8).map("".join),
                          st.dates().map(lambda d: d.strftime(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"][d.day % 3]))),
                min_size=1, max_size=20),
       st.sampled_from(["kanji", "letter", "letter_slash", "code7", "iso", "slash", "compact"]),
       st.lists(st.dates(min_value=dt.date(1868, 1, 1), max_value=dt.date(2262, 1, 1)), max_size=5))
def test_birth_date_bulk_path_equals_the_full_parser(values, style, days):
    import pandas as pd

    from linkage.normalize import dates

    values = values + dates.to_era(pd.Series(pd.to_datetime(days), dtype="datetime64[ns]"), style).tolist()
    values = [None if v is pd.NA else v for v in values]
    got, why = dates._parse_series(pd.Series(values, dtype="string[pyarrow]"))
    for value, ns, reason in zip(values, got.to_numpy().view("int64"), why):
        expected = (dates._NAT, None) if value is None else dates._safe_parse(value)
        assert (int(ns), reason) == expected, value


_ADDRESS_PIECES = st.sampled_from(["東京都", "千代田区", "霞", "が", "ケ", "ヶ", "関", "大字", "字", "上野", "三鷹市", "八王子",
                                   "一", "二", "十", "三", "丁目", "番地", "番", "号", "の", "ノ", "-", "－", "‐", "ー",
                                   "1", "2", "23", "１", "２", "〒", "100-0013", " ", "　", "号室", "棟", "マンション",
                                   "A", "101", "四谷", "々", "ヵ", "五", "九", "百", "〇", "町", "丘"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_ADDRESS_PIECES, max_size=10).map("".join)), min_size=1, max_size=20))
def test_address_key_bulk_path_equals_per_string(values):
    import pandas as pd

    from linkage.normalize import address

    out = address.address_key(pd.Series(values, dtype="string[pyarrow]")).tolist()
    assert [None if v is pd.NA else v for v in out] == [None if v is None else address._key(v) for v in values]


_LOOSE_ALPHABET = st.sampled_from(list("ヴアイウエオコソトノホモヨロゴゾドボポクスツヌフムユルグズブプヂヅヲヰヱサカァォッーｳｵﾞ ") + ["う"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(_LOOSE_ALPHABET, max_size=10)), min_size=1, max_size=20))
def test_kana_key_loose_bulk_path_equals_per_string(values):
    import pandas as pd

    for given_values in (values, [None if v is None else kana._strict(v) for v in values]):
        out = kana.kana_key_loose(pd.Series(given_values, dtype="string[pyarrow]")).tolist()
        assert [None if v is pd.NA else v for v in out] == [None if v is None else kana._loose(v)
                                                          for v in given_values]


_NUMBER_ALPHABET = st.sampled_from(list("0123456789０１２ -‐－ー.．　\tx") + ["621498320257", "6214 9832 0257"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_NUMBER_ALPHABET, max_size=16).map("".join)), min_size=1, max_size=20))
def test_my_number_arrow_paths_equal_the_per_value_reason(values):
    import pandas as pd

    from linkage.normalize import number

    got, why = number.analyse(pd.Series(values, dtype="string[pyarrow]"))
    for value, n, r in zip(values, got.tolist(), why.tolist()):
        if value is None:
            assert n is pd.NA and r is pd.NA
            continue
        reason = number._reason(value)
        assert (None if r is pd.NA else r) == reason, value
        assert (None if n is pd.NA else n) == (None if reason else number.stdnum_in.compact(number._text(value)))


_CORP_ALPHABET = st.sampled_from(list("ｶ)ﾕｲ(（）カユイ ﾔﾏﾀﾞｼﾖｳｼﾞ　\t\x0b\x1c\n") + ["ｶﾌﾞｼｷｶﾞｲｼﾔ", "ｲﾘﾖｳﾎｳｼﾞﾝ", "\u2003",
                                                                            "\u00a0", "Ｋ", "é", "\u2028"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_CORP_ALPHABET, max_size=10).map("".join)), min_size=1, max_size=20))
def test_is_corporate_arrow_path_equals_the_python_regex(values):
    import pandas as pd

    from linkage.normalize import tables

    got = tables.is_corporate(pd.Series(values, dtype="string[pyarrow]")).tolist()
    assert got == [v is not None and tables._is_corporate_one(v) for v in values]


_ACCOUNT_ALPHABET = st.sampled_from(list("0123456789０１２ -x①²") + ["\U0001d7ce", "\u0663"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(*[st.one_of(st.none(), st.lists(_ACCOUNT_ALPHABET, max_size=8).map("".join))] * 3),
                min_size=1, max_size=20))
def test_account_key_arrow_path_equals_per_value(rows):
    import re
    import unicodedata

    import pandas as pd

    from linkage.normalize import tables

    df = pd.DataFrame(rows, columns=["bank_code", "branch_code", "account_number"], dtype="string[pyarrow]")

    def digits(v):
        d = None if v is None else re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", v))
        return d or None

    expected = []
    for bank, branch, acct in rows:
        a = digits(acct)
        expected.append(None if a is None else f"{digits(bank) or '?'}|{digits(branch) or '?'}|{a.lstrip('0')}")
    got = [None if v is pd.NA else v for v in tables._account_key(df).tolist()]
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=30), st.integers(0, 3))
def test_name_and_kana_parts_keyed_once_per_distinct_value_equal_row_by_row(values, repeat):
    """The key frames computed on the distinct values (an Arrow dictionary
    column, taken back to the rows) equal the frames computed row by row."""
    import pandas as pd

    from linkage.normalize import tables

    rows = values + values[:repeat]
    index = pd.RangeIndex(7, 7 + len(rows))
    for once, row_by_row in ((tables._name_parts, tables._name_parts_rows),
                             (tables._kana_parts, tables._kana_parts_rows)):
        expected = row_by_row(pd.Series(rows, index=index, dtype=object))
        for dtype in ("string[pyarrow]", object):
            pd.testing.assert_frame_equal(once(pd.Series(rows, index=index, dtype=dtype)), expected,
                                          check_dtype=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "ヤマダ", ""])), min_size=1, max_size=20),
       st.lists(st.booleans(), min_size=20, max_size=20))
def test_a_dictionary_column_is_reused_keeping_only_the_entries_in_use(values, keep):
    import pandas as pd

    import pyarrow as pa
    import pyarrow.compute as pc

    from linkage.normalize._unique import encode_strings

    s = pd.Series(pd.arrays.ArrowExtensionArray(pc.dictionary_encode(pa.array(values, pa.string()))))
    subset = s[[k for k, _ in zip(keep, values)]]
    enc = encode_strings(subset)
    decoded = enc.dictionary.take(enc.indices).to_pylist() if len(enc) else []
    assert decoded == [None if v is pd.NA else v for v in subset.astype(object).tolist()]
    assert sorted(enc.dictionary.to_pylist()) == sorted({v for v in decoded if v is not None})


def test_name_and_kana_parts_on_hand_written_edges():
    """Part keys that come out empty (ー ヤマダ), a long vowel across the space
    (ヤマコ ウタ), unsplit and blank names: the distinct-part path gives the
    row-by-row frames."""
    import pandas as pd

    from linkage.normalize import tables

    values = ["ー ヤマダ", "ヤマコ ウタ", "ｺｳﾉ ﾕｳｺ", "コウノユウコ", "ヤマダ ー", " ", "ヴァ イオ", None, "やまだ　たろう",
              "オオノ", "SMITH JOHN", "ＯＨＮＯ　ＴＡＲＯ", "髙橋 一郎", "斉藤\u3000花子", "山田太郎"]
    for once, row_by_row in ((tables._name_parts, tables._name_parts_rows),
                             (tables._kana_parts, tables._kana_parts_rows)):
        expected = row_by_row(pd.Series(values, dtype=object))
        pd.testing.assert_frame_equal(once(pd.Series(values, dtype="string[pyarrow]")), expected, check_dtype=False)


def test_a_dictionary_column_with_narrow_indices_and_a_missing_value():
    """128 distinct names in an int8-indexed dictionary column, and a missing one:
    the missing value's slot (index 128) must fit."""
    import pandas as pd
    import pyarrow as pa

    from linkage.normalize import names, tables

    values = [f"山田 {i}" for i in range(128)] + [None]
    encoded = pa.array(values).dictionary_encode()
    column = pd.Series(pd.arrays.ArrowExtensionArray(
        pa.DictionaryArray.from_arrays(encoded.indices.cast(pa.int8()), encoded.dictionary)))
    plain = pd.Series(values, dtype=object)
    pd.testing.assert_frame_equal(tables._name_parts(column), tables._name_parts_rows(plain), check_dtype=False)
    pd.testing.assert_frame_equal(tables._kana_parts(column), tables._kana_parts_rows(plain), check_dtype=False)
    assert names.is_alphabet(column).tolist() == [False] * 129
