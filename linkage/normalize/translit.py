"""A rough phonetic meeting point for alphabet names and their katakana.

Foreign residents are registered in the alphabet (REYES JOSE); banks and
insurers often hold a katakana rendering (ﾚｲｴｽ ﾎｾ).  Kana is romanised
(Hepburn, via jaconv) and both sides are folded to a crude phonetic form:
epenthetic vowels dropped (SUMISU → SMIS), similar consonants merged (V/B,
L/R, TH/S, C/K …).  It is evidence for, never against: renderings vary too
much (JOSE is ホセ, LEE is イ) to call a low similarity a mismatch.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import jaconv
import pandas as pd

from ._unique import on_unique

_RULES = [
    (r"([BCDFGHJKLMNPQRSTVWXZ])IY([AOU])", r"\1Y\2"),  # ジヨ (bank large kana) ≈ ジョ
    (r"(SH|CH|J)Y", r"\1"),
    (r"PH", "F"), (r"TH", "S"), (r"CK", "K"), (r"C(?=[EIY])", "S"), (r"C", "K"), (r"Q", "K"), (r"X", "KS"),
    (r"V", "B"), (r"L", "R"), (r"W", "U"), (r"Y", "I"), (r"Z", "S"), (r"SH", "S"), (r"CH", "S"), (r"TS", "S"),
    (r"J", "S"), (r"(?<=[A-Z])H", ""),
    (r"([BDFGKMNPRST])[UO](?=[BDFGKMNPRST]|$)", r"\1"),  # epenthetic vowels
    (r"(.)\1+", r"\1"),
]
_COMPILED = [(re.compile(a), b) for a, b in _RULES]
_LATIN = re.compile(r"^[A-Z]+$")


def _fold(text: str) -> str | None:
    t = unicodedata.normalize("NFKD", text.upper())
    t = "".join(c for c in t if "A" <= c <= "Z")
    for rx, repl in _COMPILED:
        t = rx.sub(repl, t)
    return t or None


def _from_kana(value: Any) -> str | None:
    kana = unicodedata.normalize("NFKC", str(value))
    return _fold(jaconv.kata2alphabet(jaconv.hira2kata(kana)))


def _from_any(value: Any) -> str | None:
    text = unicodedata.normalize("NFKC", str(value)).upper()
    if _LATIN.match(re.sub(r"[\s.\-']", "", text) or "-"):
        return _fold(text)
    return _from_kana(text)


def phonetic(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Crude phonetic key of alphabet or kana names (NA for kanji or empty).

    >>> phonetic(pd.Series(["SMITH", "スミス", "ｽﾐｽ"])).tolist()
    ['SMIS', 'SMIS', 'SMIS']
    """
    return on_unique(_from_any, values)
