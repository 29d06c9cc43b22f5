"""Address comparison keys: notation variants meet, different places do not."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.normalize.address import address_key

KASUMI = "東京都千代田区霞ケ関1-2-3"

KEYS = [
    # (input, expected key)
    ("東京都千代田区霞が関1丁目2番3号", KASUMI),
    ("東京都千代田区霞ヶ関一丁目2-3", KASUMI),
    ("東京都千代田区霞ケ関一丁目二番三号", KASUMI),
    ("東京都千代田区霞ヵ関1丁目2番地3", KASUMI),
    ("〒100-0013 東京都千代田区霞が関1-2-3", KASUMI),
    ("〒1000013東京都千代田区霞が関1-2-3", KASUMI),
    ("100-0013 東京都千代田区霞が関1-2-3", KASUMI),
    ("東京都　千代田区　霞が関　１－２－３", KASUMI),  # full-width spaces and digits
    ("東京都千代田区霞が関1−2−3", KASUMI),  # U+2212 minus
    ("東京都千代田区霞が関1‐2‐3", KASUMI),  # U+2010 hyphen
    ("東京都千代田区霞が関1–2—3", KASUMI),  # en and em dash
    ("東京都千代田区霞が関1ー2ー3", KASUMI),  # long-vowel mark after digits
    ("東京都千代田区霞が関1ｰ2ｰ3", KASUMI),  # half-width long-vowel mark
    ("東京都千代田区霞が関1 2 3", KASUMI),
    ("東京都千代田区霞が関1丁目2の3", KASUMI),
    ("東京都千代田区霞が関1丁目2番地の3", KASUMI),
    # kanji numerals only next to 丁目/番/番地/号/の
    ("東京都三鷹市下連雀三丁目十番一号", "東京都三鷹市下連雀3-10-1"),
    ("東京都八王子市元本郷町三丁目二十四番一号", "東京都八王子市元本郷町3-24-1"),
    ("東京都新宿区四谷一丁目", "東京都新宿区四谷1丁目"),
    ("二十三番", "23"),
    ("三の五", "3-5"),
    ("千代田区一番町十番地", "千代田区1番町10"),
    ("一の宮町一丁目", "一の宮町1丁目"),
    ("埼玉県川口市安行藤八三丁目7-19", "埼玉県川口市安行藤八3-7-19"),  # 藤八 is the town, 三 the 丁目
    ("東京都足立区六町三丁目5番", "東京都足立区六町3-5"),
    ("九十九里町一丁目", "九十九里町1丁目"),
    ("東京都千代田区千代田1番1号", "東京都千代田区千代田1-1"),
    ("京都府京都市上京区一条通", "京都府京都市上京区一条通"),
    ("三鷹市", "三鷹市"),
    ("八王子市", "八王子市"),
    ("四谷三栄町", "四谷三栄町"),
    # 大字 / 字 prefixes
    ("埼玉県秩父郡皆野町大字皆野1234番地", "埼玉県秩父郡皆野町皆野1234"),
    ("大字上野", "上野"),
    ("字上野", "上野"),
    ("長野県北安曇郡白馬村大字北城字新田123", "長野県北安曇郡白馬村北城新田123"),
    ("千葉県成田市大字成田1番地", "千葉県成田市成田1"),
    ("十字町1番地", "十字町1"),  # 字 inside a name stays
    ("東京都大田区赤字路1", "東京都大田区赤字路1"),
    # ケ/ヶ/が
    ("神奈川県茅ヶ崎市", "神奈川県茅ケ崎市"),
    ("東京都目黒区自由が丘1丁目", "東京都目黒区自由ケ丘1丁目"),
    ("岐阜県不破郡関ケ原町", "岐阜県不破郡関ケ原町"),
    ("ケーキ通り", "ケーキ通り"),  # katakana word: not between kanji
    ("センター1丁目", "センター1丁目"),  # ー after a letter stays
    # rooms, buildings and trailing markers
    ("霞が関1-2-3 101号室", "霞ケ関1-2-3-101号室"),
    ("霞が関1丁目2番3号霞ビル5階", "霞ケ関1-2-3霞ビル5階"),
    ("霞が関1丁目2番", "霞ケ関1-2"),
    ("霞が関1-2-3号棟", "霞ケ関1-2-3号棟"),
    ("東京都", "東京都"),
    ("   ", None),
    ("", None),
]


@pytest.mark.parametrize(("address", "key"), KEYS)
def test_address_key(address: str, key: str | None) -> None:
    got = address_key(pd.Series([address])).iloc[0]
    assert (pd.isna(got) if key is None else got == key)


MUST_DIFFER = [
    ("東京都千代田区霞が関1-2-3", "東京都千代田区霞が関1-2-4"),
    ("東京都千代田区霞が関1丁目2番3号", "東京都千代田区霞が関1丁目23番"),
    ("東京都千代田区霞が関1-2-3", "東京都千代田区霞が関12-3"),
    ("千代田区", "1000代田区"),
    ("大阪府大阪市", "大阪府大坂市"),
    ("東京都港区", "京都府港区"),
    ("霞が関1-2-3 101号室", "霞が関1-2-3 102号室"),
]


@pytest.mark.parametrize(("a", "b"), MUST_DIFFER)
def test_different_places_keep_different_keys(a: str, b: str) -> None:
    ka, kb = address_key([a, b])
    assert ka != kb


def test_keeps_index_name_and_missing() -> None:
    s = pd.Series(["霞が関1丁目", None, "霞ヶ関一丁目"], index=[10, 20, 30], name="address")
    got = address_key(s)
    assert got.dtype == "string" and got.name == "address" and list(got.index) == [10, 20, 30]
    assert pd.isna(got.loc[20]) and got.loc[10] == got.loc[30] == "霞ケ関1丁目"


_ADDRESS_ALPHABET = list("東京都千代田区霞関丁目番地号の之ノ大字上野町村市郡ケヶヵが〒 　-−ーｰ－.一二三十〇百千0123456789１２室棟ビル") + [
    "\u3099", "\u0301", "\u309b", "\u3000",
]


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from(_ADDRESS_ALPHABET), max_size=25))
def test_idempotent_on_address_like_text(text: str) -> None:
    once = address_key([text]).iloc[0]
    if pd.notna(once):
        assert address_key([once]).iloc[0] == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_idempotent_and_total_on_arbitrary_unicode(text: str) -> None:
    once = address_key([text]).iloc[0]
    if pd.notna(once):
        assert address_key([once]).iloc[0] == once
        assert not any(c.isspace() for c in once)


_BULK_ALPHABET = list("東京都千代田区霞関原谷町市郡村上野丘丁目番地号のノ々ケヶヵが字〒-－ー一二三四五六七八九十〇百千"
                      "0123456789０１２３室棟館線ビル") + ["\u3000", " "]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(st.sampled_from(_BULK_ALPHABET), min_size=1, max_size=20), min_size=1, max_size=20))
def test_bulk_path_is_the_per_value_key(values: list[str]) -> None:
    """The Arrow path (whole arrays, for the plain addresses) gives exactly the
    per-value rules, including ケ/が folding, 三丁目 and joined block numbers."""
    import pyarrow as pa

    from linkage.normalize.address import _bulk_keys, _key

    assert _bulk_keys(pa.array(values, pa.string())).to_pylist() == [_key(v) for v in values]


@pytest.mark.parametrize("address", [
    "霞が関ヶ原ケ谷三丁目2番3号", "八一丁目2-3", "二十三丁目4番", "一丁目一丁目", "三丁目２番１号ビル",
    "久々江9丁目24番6号", "上野5丁目2番3号4", "十丁目1-2", "一丁目", "町三丁目の四",
])
def test_bulk_path_on_hand_written_addresses(address: str) -> None:
    import pyarrow as pa

    from linkage.normalize.address import _bulk_keys, _key

    assert _bulk_keys(pa.array([address])).to_pylist() == [_key(address)]
