"""Kana keys under which register kana and bank (Zengin) kana meet.

Register kana is typed full-width katakana or hiragana, spaced or not; banks
store half-width katakana with small kana written large (キョウコ → ｷﾖｳｺ) and
long vowels as ｰ, - or nothing.  ``kana_key`` folds all of that away;
``kana_key_loose`` further folds spellings of one sound (ヂ/ジ, ヅ/ズ, ヲ/オ,
ヴ/ブ, コウ/コオ/コー) and is for scoring, not identity.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache
from collections.abc import Iterable
from typing import Any

import jaconv
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._unique import fill_slow, on_unique, on_unique_arrow
from ._vector import CharMap

_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)} | {0x309D: 0x30FD, 0x309E: 0x30FE}
_SMALL_TO_LARGE = {ord(s): ord(l) for s, l in zip("ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ",
                                                   "アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロ")}
# Separators and marks that carry no identity: spaces, middle dots, long-vowel
# marks and their look-alikes (banks write ｰ as "-"), Zengin punctuation.
_DROP = " \t\r\n\u3000・･.．-‐‑‒–—―−ｰー～〜_,、'’\"「」()（）/\\"
_KANA_FOLD = {**_SMALL_TO_LARGE, **{h: _SMALL_TO_LARGE.get(k, k) for h, k in _HIRA_TO_KATA.items()}}
_KEY_TABLE = {**_KANA_FOLD, **{ord(c): None for c in _DROP}}

_LOOSE_TABLE = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヴ": "ブ", "ヰ": "イ", "ヱ": "エ"})
_VU = re.compile("ヴ([アイエオ])")
_VU_ROW = {"ア": "バ", "イ": "ビ", "エ": "ベ", "オ": "ボ"}
_O_ROW = "オコソトノホモヨロゴゾドボポ"
_U_ROW = "ウクスツヌフムユルグズブプ"
_LONG_O = re.compile(f"(?<=[{_O_ROW}])[ウオ]+")
_LONG_U = re.compile(f"(?<=[{_U_ROW}])ウ+")

_WS = re.compile(r"\s+")


def _fixpoint(step, text: str) -> str:
    """Apply ``step`` until the text stops changing (NFKC can recompose what
    dropping a mark left behind), so keys are idempotent."""
    for _ in range(4):
        nxt = step(text)
        if nxt == text:
            break
        text = nxt
    return text


def _strict_step(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper().translate(_KEY_TABLE))


def _loose_step(text: str) -> str:
    text = _VU.sub(lambda m: _VU_ROW[m.group(1)], _strict_step(text)).translate(_LOOSE_TABLE)
    return _LONG_U.sub("", _LONG_O.sub("", text))


def _strict(value: Any) -> str | None:
    return _fixpoint(_strict_step, str(value)) or None


def _loose(value: Any) -> str | None:
    return _fixpoint(_loose_step, str(value)) or None


def kana_key(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Strict comparison key for kana names.

    NFKC (folds half-width kana and joins ﾞ/ﾟ), hiragana → katakana, small
    kana enlarged, upper case, spaces, middle dots and long-vowel marks
    dropped.  ``ヤマダ　キョウコ``, ``やまだきょうこ`` and ``ﾔﾏﾀﾞ ｷﾖｳｺ`` share one
    key.  Missing or empty values give NA.
    """
    return on_unique_arrow(_strict_map().apply_arrow, values, _strict_map().apply)


#: Characters the vectorised kana key handles (ASCII, full-width ASCII, kana of
#: both widths, kanji); anything else takes the per-string path.
_KANA_RANGES = ((0x20, 0x7E), (0x3000, 0x3000), (0x3041, 0x3096), (0x309D, 0x309E), (0x30A1, 0x30FC),
                (0xFF01, 0xFF5E), (0xFF61, 0xFF9D), (0x3400, 0x4DBF), (0x4E00, 0x9FFF))


@cache
def _strict_map() -> CharMap:
    return CharMap(_strict, _KANA_RANGES, compose=True)


def kana_key_loose(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Looser key for scoring: also folds ヂ/ジ, ヅ/ズ, ヲ/オ, ヴ/ブ and long
    vowels spelt out (コウノ, コーノ, ｺｵﾉ → コノ; ユウコ → ユコ)."""
    return on_unique_arrow(_loose_arrow, values, lambda items: [_loose(v) for v in items])


# The loose key of a value that is already a strict key made of katakana letters
# (what the tables and comparisons hold): the rewriting rules as Arrow passes on
# whole arrays, repeated until nothing changes as ``_fixpoint`` does.  RE2 has no
# look-behind, so the row character is captured and written back.
_KATAKANA_KEY = "^[\\x{30a2}\\x{30a4}\\x{30a6}\\x{30a8}\\x{30aa}-\\x{30c2}\\x{30c4}-\\x{30e2}\\x{30e4}\\x{30e6}\\x{30e8}-\\x{30ed}\\x{30ef}-\\x{30f4}]+$"
_LOOSE_PASSES = ([(f"ヴ{v}", b) for v, b in _VU_ROW.items()]
                 + [(a, b) for a, b in (("ヂ", "ジ"), ("ヅ", "ズ"), ("ヲ", "オ"), ("ヴ", "ブ"), ("ヰ", "イ"), ("ヱ", "エ"))])
_LONG_O_CAPTURE = f"([{_O_ROW}])[ウオ]+"
_LONG_U_CAPTURE = f"([{_U_ROW}])ウ+"


def _loose_arrow(distinct: pa.Array) -> pa.Array:
    bulk = pc.match_substring_regex(distinct, _KATAKANA_KEY)
    text = pc.if_else(bulk, distinct, "")
    for _ in range(4):
        step = text
        for old, new in _LOOSE_PASSES:
            step = pc.replace_substring(step, old, new)
        step = pc.replace_substring_regex(pc.replace_substring_regex(step, _LONG_O_CAPTURE, "\\1"),
                                          _LONG_U_CAPTURE, "\\1")
        if step.equals(text):
            break
        text = step
    text = pc.if_else(pc.equal(text, ""), None, text)
    return fill_slow(text, distinct, np.flatnonzero(~bulk.to_numpy(zero_copy_only=False)), _loose)


def _zengin(value: Any) -> str | None:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = _WS.sub(" ", text.replace("・", " "))
    text = text.translate(_KANA_FOLD).replace("〜", "ー").upper()
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True)
    return text or None


def to_zengin(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Render register kana the way a bank stores an account holder name.

    Half-width katakana, small kana written large (キョウコ → ｷﾖｳｺ), long
    vowel as ｰ, one half-width space between name parts, middle dot as a
    space, Latin letters upper case.
    """
    return on_unique(_zengin, values)
