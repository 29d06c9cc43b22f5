"""Turn canonical values into the text each source writes.

Numbers, dates, sexes, addresses and name parts in the notations real
registers, banks and insurers use.  Functions work on whole object arrays;
per-value Python runs on name-pool entries, on distinct values, or in one
list comprehension where numpy has no string operation to offer.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jaconv
import numpy as np
import pandas as pd

from linkage.normalize.kana import to_zengin

from .sources import tables

ZEN = str.maketrans("0123456789-", "０１２３４５６７８９－")
KANJI_DIGIT = np.array(["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"], dtype=object)
_SMALL = 10000
_NUM = np.array([str(i) for i in range(_SMALL)], dtype=object)

DATE_STYLES = ("iso", "slash", "compact", "kanji", "letter", "letter_slash", "code7")
ERA_STYLES = frozenset({"kanji", "letter", "letter_slash", "code7"})
SEPARATORS = np.array([" ", "\u3000", ""], dtype=object)


def pick(rng: np.random.Generator, n: int, p) -> np.ndarray:
    """``n`` category codes drawn with probabilities ``p``."""
    return rng.choice(len(p), size=n, p=np.asarray(p, dtype=float) / np.sum(p))


def num(values: np.ndarray) -> np.ndarray:
    """Decimal text of non-negative ints (object array)."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) and 0 <= v.min() and v.max() < _SMALL:
        return _NUM[v]
    return np.array([str(x) for x in v.tolist()], dtype=object)


def zero_pad(values: np.ndarray, width: int, prefix: str = "") -> np.ndarray:
    """Zero-padded decimal text, optionally prefixed (object array)."""
    fmt = f"{prefix}{{:0{width}d}}".format
    return np.array([fmt(x) for x in np.asarray(values, dtype=np.int64).tolist()], dtype=object)


def fullwidth(values: np.ndarray) -> np.ndarray:
    """Digits and hyphens as full-width characters."""
    return np.array([v.translate(ZEN) for v in values.tolist()], dtype=object)


def my_number_text(digits12: np.ndarray, style: np.ndarray) -> np.ndarray:
    """12-digit strings written plain (0), ``1234-5678-9012`` (1), spaced (2) or full-width (3)."""
    out = digits12.copy()
    for code, sep in ((1, "-"), (2, " ")):
        m = style == code
        if m.any():
            s = pd.Series(digits12[m])
            out[m] = (s.str[:4] + sep + s.str[4:8] + sep + s.str[8:]).to_numpy(dtype=object)
    m = style == 3
    if m.any():
        out[m] = fullwidth(digits12[m])
    return out


def date_text(days: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Day numbers rendered in ``DATE_STYLES[style]`` (era styles via ``normalize.dates.to_era``)."""
    from linkage.normalize.dates import to_era

    out = np.empty(len(days), dtype=object)
    dt = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    for code, name in enumerate(DATE_STYLES):
        m = style == code
        if m.any():
            out[m] = to_era(pd.Series(dt[m]), name).astype(object).to_numpy()
    return out


def sex_text(sex: np.ndarray, kanji: np.ndarray) -> np.ndarray:
    """1/2, or 男/女 where ``kanji``."""
    return np.where(kanji, np.where(sex == 1, "男", "女"), np.where(sex == 1, "1", "2")).astype(object)


_CHOME_FORMS = ("{c}丁目{b}番{g}号", "{k}丁目{b}-{g}", "{c}-{b}-{g}", "{c}丁目{b}番{g}号", "{c}丁目{b}番地{g}")
_BANCHI_FORMS = ("{b}番地{g}", "{b}-{g}", "{b}-{g}", "{b}番地{g}", "{b}番地{g}")


def address_tail(chome: int, ban: int, go: int, form: int) -> str:
    """Block numbers in one of five notations of the same place.

    With a 丁目: 0 ``1丁目2番3号``, 1 ``一丁目2-3``, 2 ``1-2-3``, 3 full-width
    ``１丁目２番３号``, 4 ``1丁目2番地3``.  Without: 0/4 ``123番地4``, 1/2
    ``123-4``, 3 full-width ``１２３番地４``.
    """
    pattern = (_CHOME_FORMS if chome else _BANCHI_FORMS)[form]
    text = pattern.format(c=chome, k=KANJI_DIGIT[chome % 10], b=ban, g=go)
    return text.translate(ZEN) if form == 3 else text


def address_text(place: np.ndarray, chome, ban, go, form) -> np.ndarray:
    """``place`` (prefecture + city + town) followed by the block numbers in ``form``."""
    rows = zip(place.tolist(), np.asarray(chome).tolist(), np.asarray(ban).tolist(), np.asarray(go).tolist(),
               np.asarray(form).tolist())
    return np.array([p + address_tail(c, b, g, f) for p, c, b, g, f in rows], dtype=object)


@dataclass(frozen=True)
class Forms:
    """Per name-pool entry: kanji, katakana, hiragana, half-width katakana, Zengin."""

    kanji: np.ndarray
    kata: np.ndarray
    hira: np.ndarray
    half: np.ndarray
    zengin: np.ndarray


def _forms(kanji, hira, kata) -> Forms:
    half = np.array([jaconv.z2h(k, kana=True, ascii=False, digit=False) for k in kata.tolist()], dtype=object)
    zen = to_zengin(pd.Series(kata, dtype=object)).astype(object).to_numpy()
    hira = np.where(hira == "", kata, hira).astype(object)
    return Forms(kanji=kanji, kata=kata, hira=hira, half=half, zengin=zen)


@lru_cache(maxsize=1)
def name_forms() -> tuple[Forms, Forms]:
    """(family, given) forms of every pool entry of ``sources.tables()``, computed once."""
    t = tables()
    return (_forms(t.family.kanji, t.family.hira, t.family.kata),
            _forms(t.given.kanji, t.given.hira, t.given.kata))


def kana_text(forms: Forms, idx: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Kana of pool entries ``idx``: katakana (0), hiragana (1) or half-width (2)."""
    return np.select([style == 1, style == 2], [forms.hira[idx], forms.half[idx]], default=forms.kata[idx]).astype(object)


def join(a: np.ndarray, sep, b: np.ndarray) -> np.ndarray:
    """Element-wise ``a + sep + b`` on object arrays."""
    return (a + sep + b).astype(object)


def zengin_long_vowels(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Write the Zengin long-vowel mark ｰ as ｰ (0), ``-`` (1) or nothing (2)."""
    out = values.copy()
    for code, rep in ((1, "-"), (2, "")):
        m = (style == code) & pd.Series(values, dtype=object).str.contains("ｰ", regex=False).to_numpy()
        if m.any():
            out[m] = pd.Series(values[m], dtype=object).str.replace("ｰ", rep, regex=False).to_numpy(dtype=object)
    return out


def variant_spelling(text: str, vmap: dict[str, tuple[str, ...]], rng: np.random.Generator) -> str | None:
    """``text`` with one character that has variant glyphs replaced by one of them; None if none has."""
    pos = [i for i, ch in enumerate(text) if ch in vmap]
    if not pos:
        return None
    i = pos[int(rng.integers(len(pos)))]
    options = vmap[text[i]]
    return text[:i] + options[int(rng.integers(len(options)))] + text[i + 1:]
