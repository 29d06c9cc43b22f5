"""Comparison keys for kanji and alphabet personal names.

``name_key`` makes spellings of one registered name meet: NFKC, no variation
selectors, no whitespace or separators, old/variant kanji folded through the
curated table ``data/variants.tsv``; alphabet names are upper-cased, stripped of
accents and punctuation, and Hepburn variants are folded (OHNO/ONO/OONO,
HOMMA/HONMA).  ``name_near_key`` additionally folds a few confusable but
distinct characters (斉/斎) so that a comparison can be graded "close".

Table kinds: ``old`` = 旧字体 of a 常用/人名用 character, ``itaiji`` = 異体字 or
俗字 seen in registered names (髙, 﨑, 邉), ``variant`` = a CJK compatibility
code point of the standard character (NFKC folds it as well).

Everything runs on distinct values only (``on_unique``).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.normalize._unique import as_series, encode_strings, on_unique, on_unique_arrow, to_arrow_strings
from linkage.normalize._vector import CharMap

__all__ = [
    "NEAR_PAIRS",
    "VARIANTS",
    "is_alphabet",
    "load_variants",
    "name_key",
    "name_near_key",
    "split_name",
    "split_parts",
]

_VARIANTS_FILE = "variants.tsv"


def load_variants() -> pd.DataFrame:
    """Return the curated fold table (columns variant, standard, kind, note)."""
    data = resources.files("linkage.normalize").joinpath("data")
    text = data.joinpath(_VARIANTS_FILE).read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0], [r for r in rows[1:] if r]
    return pd.DataFrame(body, columns=header, dtype="string")


def _variant_map() -> dict[str, str]:
    table = load_variants()
    return dict(zip(table["variant"], table["standard"], strict=True))


#: variant character -> standard character, loaded once from ``data/variants.tsv``.
VARIANTS: dict[str, str] = _variant_map()

#: Distinct characters that are easily confused in names: equal under
#: ``name_near_key`` only.  Each is a different character, not a variant form.
NEAR_PAIRS: dict[str, str] = {
    "斉": "斎",  # 斉藤/斎藤: different surnames, routinely mixed up (DOMAIN.md)
    "萩": "荻",  # 萩原/荻原, 萩野/荻野: look-alike surname characters
    "籐": "藤",  # rattan 籐 typed for wisteria 藤 (same reading, near-identical shape)
    "杮": "柿",  # kokera 杮 vs kaki 柿 (柿沼, 柿本): visually identical, different code points
    "已": "己",  # 克已 for 克己, 直已 for 直己: 已 is not a name character
    "佑": "祐",  # 祐介/佑介, 祐子/佑子: same reading, the commonest given-name mix-up
}

_VARIATION_SELECTORS = frozenset(
    [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0x180B, 0x180E), 0x180F]
)
# Whitespace, punctuation (・ - ＝ ゠ …), symbols, controls and format characters.
_DROP_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
                              "Sm", "Sc", "Sk", "So", "Cc", "Cf", "Cs"})
# Placeholders legacy systems write for a character they cannot encode (外字): kept,
# so that 渡〓 does not turn into 渡.  Private-use and unassigned code points are kept too.
_PLACEHOLDERS = frozenset(map(ord, "〓?□■"))


class _KanjiTable(dict[int, Any]):
    """``str.translate`` table: drops separators and variation selectors, folds variants.

    Entries are computed on first sight of a code point and cached.
    """

    def __init__(self, fold: dict[str, str]) -> None:
        super().__init__({ord(k): v for k, v in fold.items()})

    def __missing__(self, cp: int) -> int | None:
        drop = cp in _VARIATION_SELECTORS or (
            cp not in _PLACEHOLDERS and unicodedata.category(chr(cp)) in _DROP_CATEGORIES
        )
        value = None if drop else cp
        self[cp] = value
        return value


_KANJI_TABLE = _KanjiTable(VARIANTS)
_NEAR_TABLE = str.maketrans(NEAR_PAIRS)

# Latin letters that do not decompose under NFKD.
_LATIN_SPECIAL = str.maketrans({
    "Ø": "O", "Æ": "AE", "Œ": "OE", "Đ": "D", "Ð": "D", "Ł": "L", "Þ": "TH",
    "ẞ": "SS", "Ħ": "H", "Ŧ": "T", "Ŋ": "NG", "Ɨ": "I",
})
_HEP_M = re.compile(r"M(?=[BMP])")          # HOMMA -> HONMA, SAMPEI -> SANPEI
_HEP_O = re.compile(r"O(?:[OU]|H(?![AEIOU]))")  # OO, OU, OH+consonant/end -> O
_HEP_U = re.compile(r"UU")                  # YUUKI -> YUKI

_LATIN_CACHE: dict[str, bool] = {}


def _is_latin_letter(c: str) -> bool:
    hit = _LATIN_CACHE.get(c)
    if hit is None:
        hit = _LATIN_CACHE[c] = unicodedata.name(c, "").startswith("LATIN ")
    return hit


# Kana and kanji *letters* (not ・ or ゠, which are punctuation in the kana block).
_JAPANESE = re.compile(
    "[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff66-\uff9d]")
_ASCII_LETTER = re.compile("[A-Za-z]")


def _latin_only(s: str) -> bool:
    """True when ``s`` (NFKC) has letters and all of them are Latin."""
    if s.isascii():
        return bool(_ASCII_LETTER.search(s))
    if _JAPANESE.search(s):
        return False
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and all(_is_latin_letter(c) for c in letters)


def _nfkc(value: Any) -> str:
    return unicodedata.normalize("NFKC", value if isinstance(value, str) else str(value))


def _hepburn(s: str) -> str:
    while True:
        t = _HEP_U.sub("U", _HEP_O.sub("O", _HEP_M.sub("N", s)))
        if t == s:
            return t
        s = t


def _latin_key(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.upper().translate(_LATIN_SPECIAL))
    return _hepburn("".join(c for c in s if c.isalnum()))


def _key(value: Any) -> str | None:
    s = _nfkc(value)
    if _latin_only(s):
        out = _latin_key(s)
    else:  # re-NFKC: dropping a separator can leave base + combining mark (ｶ ﾞ -> ガ)
        out = unicodedata.normalize("NFKC", s.translate(_KANJI_TABLE).upper())
    return out or None


def _near_key(value: Any) -> str | None:
    k = _key(value)
    return k.translate(_NEAR_TABLE) if k else None


def name_key(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Equality key for names: variants, width, spacing and Hepburn spellings meet.

    Missing in, missing out; a value with nothing left after cleaning is missing.
    """
    return on_unique_arrow(_key_map().apply_arrow, values, _key_map().apply)


#: Characters the vectorised name key handles: kanji (incl. compatibility forms),
#: kana of both widths, spaces and middle dots.  Latin letters are not among
#: them (Hepburn folding needs the whole name), so alphabet names take the
#: per-string path.
_NAME_RANGES = ((0x20, 0x20), (0x3000, 0x3000), (0x3005, 0x3006), (0x3041, 0x3096), (0x309D, 0x309E),
                (0x30A1, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF61, 0xFF9D))


@cache
def _key_map() -> CharMap:
    return CharMap(_key, _NAME_RANGES, compose=True)


@cache
def _near_map() -> CharMap:
    return CharMap(_near_key, _NAME_RANGES, compose=True)


def name_near_key(values: Iterable[Any] | pd.Series) -> pd.Series:
    """``name_key`` that also folds confusable distinct characters (斉→斎, ``NEAR_PAIRS``)."""
    return on_unique_arrow(_near_map().apply_arrow, values, _near_map().apply)


_WS = re.compile(r"\s+")


def _split(value: Any) -> tuple[str, str] | None:
    parts = _WS.split(_nfkc(value).strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else None


#: Characters whose NFKC is the character alone (no space created, none removed),
#: so splitting them before NFKC equals splitting after: names of these take the
#: Arrow path of :func:`split_name`; anything else the per-string one.
_SPLIT_SAFE = ("^[\\x09-\\x0d\\x1c-\\x7e\\x{3000}\\x{3005}\\x{3041}-\\x{3096}\\x{309d}\\x{309e}\\x{30a1}-\\x{30fc}"
               "\\x{3400}-\\x{4dbf}\\x{4e00}-\\x{9fff}\\x{ff01}-\\x{ff5e}\\x{ff61}-\\x{ff9f}]*$")
_SPLIT_SPACE = "[\\x09-\\x0d\\x1c-\\x20\\x{3000}]+"


def split_name(values: Iterable[Any] | pd.Series) -> pd.DataFrame:
    """Split names at the first run of whitespace (after NFKC) into family and given.

    Both parts are missing when the name has no separator or is missing.
    """
    s = as_series(values)
    encoded = encode_strings(s)
    if encoded is None:  # not all strings: per distinct value
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        split = [_split(u) for u in uniques] + [None]  # last slot: code -1 (missing)
        cols = {}
        for i, col in enumerate(("family", "given")):
            mapped = np.array([p[i] if p else None for p in split], dtype=object)
            cols[col] = pd.Series(mapped.take(codes), index=s.index, dtype="string")
        return pd.DataFrame(cols, index=s.index)
    cols = {col: pd.Series(pd.arrays.ArrowStringArray(pc.utf8_normalize(part, "NFKC").take(encoded.indices)),
                           index=s.index)
            for col, part in zip(("family", "given"), split_parts(encoded.dictionary))}
    return pd.DataFrame(cols, index=s.index)


_SPLIT_TRIM = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u3000"  # the characters of _SPLIT_SPACE


def split_parts(distinct: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Family and given part of each value of a null-free string array, as in
    :func:`split_name` but not yet NFKC'd (the name and kana keys apply NFKC
    first, so they need not be); null where a value has no separator."""
    safe = pc.match_substring_regex(distinct, _SPLIT_SAFE).to_numpy(zero_copy_only=False)
    pieces = pc.split_pattern_regex(pc.utf8_trim(distinct, _SPLIT_TRIM), _SPLIT_SPACE, max_splits=1)
    two = pc.equal(pc.list_value_length(pieces), 2).to_numpy(zero_copy_only=False) & safe
    slow = np.flatnonzero(~safe)
    slow_split = [_split(v) for v in distinct.take(pa.array(slow)).to_pylist()]
    flat = pc.list_flatten(pieces)
    starts = pieces.offsets.to_numpy()[:-1]
    out = []
    for i in range(2):
        part = flat.take(pa.array(np.where(two, starts + i, 0))) if two.any() else pa.nulls(len(distinct), flat.type)
        part = pc.if_else(pa.array(two), part, pa.scalar(None, part.type))
        if len(slow):
            mask = np.zeros(len(distinct), dtype=bool)
            mask[slow] = True
            part = pc.replace_with_mask(part, pa.array(mask), pa.array([p[i] if p else None for p in slow_split],
                                                                       type=part.type))
        out.append(part)
    return out[0], out[1]


_JAPANESE_RAW = "[\\x{3041}-\\x{3096}\\x{30a1}-\\x{30fa}\\x{3400}-\\x{4dbf}\\x{4e00}-\\x{9fff}\\x{ff66}-\\x{ff9d}]"


def is_alphabet(values: Iterable[Any] | pd.Series) -> pd.Series:
    """True where the name is written in Latin letters (SMITH JOHN, Ｎｇｕｙｅｎ); False for NA."""
    s = as_series(values)
    encoded = encode_strings(s)
    if encoded is None:
        flags = on_unique(lambda v: _latin_only(_nfkc(v)), s, dtype="boolean")
        return flags.fillna(False).astype(bool)
    codes = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy()  # missing: the False appended
    out = np.append(alphabet_flags(encoded.dictionary), False)[codes]
    return pd.Series(out, index=s.index, name=s.name)


def alphabet_flags(distinct: pa.Array) -> np.ndarray:
    """:func:`is_alphabet` of each value of a null-free string array (no encoding:
    for values already distinct)."""
    # ASCII: a Latin letter decides; kana or kanji: never alphabet (NFKC keeps them
    # kana and kanji); anything else per distinct value.
    ascii_ = pc.string_is_ascii(distinct).to_numpy(zero_copy_only=False)
    flags = pc.match_substring_regex(distinct, "[A-Za-z]").to_numpy(zero_copy_only=False) & ascii_
    japanese = pc.match_substring_regex(distinct, _JAPANESE_RAW).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~ascii_ & ~japanese)
    if len(rest):
        flags[rest] = [_latin_only(_nfkc(v)) for v in distinct.take(pa.array(rest)).to_pylist()]
    return flags
