"""The vectorised key path gives exactly the per-string key, whatever the text."""
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


def test_long_values_take_the_per_string_path():
    long = "ヤマダ" * 1000
    assert list(kana._strict_map().apply([long])) == [kana._strict(long)]
