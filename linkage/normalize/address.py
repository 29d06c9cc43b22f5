"""A light, offline comparison key for Japanese addresses.

The same place is written many ways: 1丁目2番3号 / 一丁目2-3 / 1-2-3, 霞が関 /
霞ヶ関 / 霞ケ関, 大字上野 / 上野, hyphen look-alikes, a leading 〒 postcode.
``address_key`` folds those spellings together without any network data:

1. NFKC; hyphen look-alikes → ``-``; spaces removed (a space between two
   digits becomes ``-``, so ``1-2-3 101`` keeps its numbers apart);
2. 〒 postcodes (and a bare leading ``123-4567``) dropped; ``ー`` after a digit → ``-``;
3. 大字 / 字 prefixes of block names dropped (``大字上野字北田`` → ``上野北田``);
4. ケ/ヶ/ヵ/が between kanji → ``ケ`` (霞が関 → 霞ケ関);
5. kanji numerals converted to digits **only** next to 丁目/番/番地/号 or
   between numbers joined by の/ノ (一丁目 → 1丁目, 二十三番 → 23番; 千代田区,
   三鷹市, 八王子市, 四谷, 一の宮 stay);
6. 丁目/番/番地/号/の/ノ/- between numbers → ``-``; a trailing 号/番地/番 is
   dropped, as is 号/番地 before a building name (not 号室, 号棟, 号館, 号線).

The prefecture is kept as written.  ``address_key(address_key(x)) == address_key(x)``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._unique import fill_slow, on_unique_arrow
from .dates import kanji_int

__all__ = ["address_key"]

_HYPHENS = re.compile("[‐‑‒–—―−⁃﹣－]")  # NFKC leaves these apart from ﹣ and －
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々"
_NAME = rf"[\u3041-\u30ff{_KANJI}〆]"  # a character that can start a place name
_NUMERALS = "〇一二三四五六七八九十百千"
_MUNICIPALITY_END = "都道府県市区町村郡"

_SPACE_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])\s+(?=[0-9])")
_POSTCODE = re.compile(r"〒[0-9]{3}[-ー]?[0-9]{4}(?![0-9])")
_LEADING_POSTCODE = re.compile(r"^(?:[0-9]{3}[-ー][0-9]{4}(?![0-9]))+")
_CHOON_AFTER_DIGIT = re.compile(r"(?<=[0-9])ー")
_OAZA_WITH_AZA = re.compile(rf"大字((?:(?!字){_NAME})+?)字(?={_NAME})")
_OAZA = re.compile(rf"(?:^|(?<=[{_MUNICIPALITY_END}]))大字(?={_NAME})")
_AZA = re.compile(rf"(?:^|(?<=[{_MUNICIPALITY_END}]))字(?={_NAME})")
_GA = re.compile(f"(?<=[{_KANJI}])[ケヶヵが](?=[{_KANJI}])")
_NUMERAL_RUN = re.compile(f"[{_NUMERALS}]+")
_SEPARATOR = re.compile(r"(?<=[0-9])(?:丁目|番地|番|号|の|ノ|-)+(?=[0-9])")
_TRAILING = re.compile(r"(?<=[0-9])(?:番地|番|号)+$")
_BEFORE_BUILDING = re.compile(r"(?<=[0-9])(?:番地|号)(?=[^0-9\-のノー丁番号室棟館線地])")

_NUMBER_CHARS = frozenset("0123456789" + _NUMERALS)
_NUMERAL_SET = frozenset(_NUMERALS)
_POSITIONAL = frozenset("十百千〇")
_GA_CHARS = frozenset("ケヶヵが")
_MARKERS_AFTER = ("丁目", "番", "号")  # 番 covers 番地
_MARKERS_BEFORE = ("丁目", "番", "番地", "号")


def _numeral_to_digits(m: re.Match[str]) -> str:
    """Digits for a kanji-numeral run that sits next to an address marker."""
    text, a, b = m.string, m.start(), m.end()
    after, before = text[b:], text[:a]
    near = (
        after.startswith(_MARKERS_AFTER)
        or (after[:1] in ("の", "ノ") and after[1:2] in _NUMBER_CHARS)
        or (before[-1:] in ("の", "ノ") and before[-2:-1] in _NUMBER_CHARS)
        or (before.endswith(_MARKERS_BEFORE) and (after == "" or after[0] in "0123456789-"))
    )
    if not near:
        return m.group()
    run = m.group()
    if len(run) > 1 and after.startswith(_MARKERS_AFTER) and not _POSITIONAL.intersection(run):
        # A kanji block number is written 二十三, not 二三: in 藤八三丁目 only the
        # last numeral is the 丁目 number, the rest belongs to the town name.
        last = kanji_int(run[-1])
        return run if last is None else run[:-1] + str(last)
    value = kanji_int(run)
    return m.group() if value is None else str(value)


def _drop_oaza(text: str) -> str:
    for _ in range(8):  # 大字/字 removal can expose another prefix ("市大字字X")
        new = _AZA.sub("", _OAZA.sub("", _OAZA_WITH_AZA.sub(r"\1", text)))
        if new == text:
            break
        text = new
    return text


def _key_once(value: str) -> str:
    text = _HYPHENS.sub("-", unicodedata.normalize("NFKC", value))
    if " " in text or not text.isprintable():  # NFKC makes most spaces " "
        text = "".join(_SPACE_BETWEEN_DIGITS.sub("-", text).split())
    if "〒" in text or text[:1].isdigit():
        text = _LEADING_POSTCODE.sub("", _POSTCODE.sub("", text))
    if "字" in text:
        text = _drop_oaza(text)
    if not _GA_CHARS.isdisjoint(text):
        text = _GA.sub("ケ", text)
    if not _NUMERAL_SET.isdisjoint(text):
        text = _NUMERAL_RUN.sub(_numeral_to_digits, text)
    if "ー" in text:
        text = _CHOON_AFTER_DIGIT.sub("-", text)
    text = _SEPARATOR.sub("-", text)
    text = _TRAILING.sub("", text)
    return _BEFORE_BUILDING.sub("", text)


def _needs_another_pass(text: str) -> bool:
    """True when an earlier step could still apply to ``text``.

    Each step is stable on its own output; only a removal (postcode, 字) or a
    numeral conversion can expose a pattern for an earlier step, and only in
    text that still holds 〒, 字, a leading digit or an unstable NFKC form.
    """
    return ("〒" in text or "字" in text or text[:1].isdigit()
            or not unicodedata.is_normalized("NFKC", text))


def _key(value: Any) -> str | None:
    text = _key_once(str(value))
    for _ in range(4):
        if not _needs_another_pass(text):
            break
        again = _key_once(text)
        if again == text:
            break
        text = again
    return text or None


def address_key(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Comparison key for addresses (``string`` dtype; NA for missing or blank).

    ``東京都千代田区霞が関1丁目2番3号`` and ``〒100-0013 東京都千代田区霞ヶ関一丁目2-3``
    both give ``東京都千代田区霞ケ関1-2-3``.  Computed once per distinct value.
    """
    return on_unique_arrow(_bulk_keys, values, lambda items: [_key(v) for v in items])


# The bulk path: addresses made of kanji, kana, 々, digits and hyphens (full-width
# ones too), whose NFKC changes nothing but digit and hyphen width, and where no
# step other than ケ/が folding, a lone kanji numeral before 丁目 and the separator
# rules applies (no 〒, 字, other kanji numerals next to a marker, ー after a
# digit, leading digit).  Everything else: ``_key``.
_BULK_CHARS = ("^[\\x{3005}\\x{3041}-\\x{3096}\\x{30a1}-\\x{30fa}\\x{30fc}\\x{3400}-\\x{4dbf}\\x{4e00}-\\x{9fff}"
               "0-9\\-\\x{ff10}-\\x{ff19}\\x{ff0d}]+$")
_BULK_NUMERALS = "[〇一二三四五六七八九十百千]"
# Checked after the lone numerals are converted (which cannot create any of these
# but a leading digit): a step the bulk path does not take would apply.
_BULK_EXCLUDE = f"[字〒]|^[0-9]|[0-9]ー|{_BULK_NUMERALS}[丁番号のノ]|[目番地号のノ]{_BULK_NUMERALS}"
_BULK_WIDE = "[\\x{ff10}-\\x{ff19}\\x{ff0d}]"  # the only bulk characters NFKC changes
_BULK_KANJI = "\\x{3005}\\x{3400}-\\x{4dbf}\\x{4e00}-\\x{9fff}"
# ヶ/ヵ/が between kanji (not ケ: a match that changes nothing would take the
# kanji the next one needs, and no pass would make progress).
_BULK_GA = f"([{_BULK_KANJI}])[ヶヵが]([{_BULK_KANJI}])"
# A numeral alone (no numeral before it) right before 丁目 is its number: 三丁目 -> 3丁目.
_BULK_LONE = "[〇一二三四五六七八九十]丁目"
_BULK_NOT_LONE = f"{_BULK_NUMERALS}{_BULK_LONE}"
# A separator run between digits that is not already a single hyphen (so each
# pass makes progress: a digit taken as the right end of one match cannot be the
# left end of the next, and the following pass picks that one up).
_BULK_TOKEN = "(?:丁目|番地|番|号|の|ノ|-)"
_BULK_SEPARATOR = f"([0-9])({_BULK_TOKEN}*(?:丁目|番地|番|号|の|ノ){_BULK_TOKEN}*|-{{2,}})([0-9])"
_BULK_TRAILING = "([0-9])(?:番地|番|号)+$"
_BULK_BEFORE_BUILDING = "([0-9])(?:番地|号)([^0-9\\-のノー丁番号室棟館線地])"
_BULK_SEPARATED = f"[0-9](?:{_BULK_TOKEN}*(?:丁目|番地|番|号|の|ノ){_BULK_TOKEN}*|-{{2,}})[0-9]"  # what is left to join


def _until_stable(step: Callable[[pa.Array], pa.Array], text: pa.Array) -> pa.Array:
    """``step`` applied until nothing changes (RE2 matches do not overlap and have
    no look-behind, so a rule that needs its neighbour may take several passes)."""
    for _ in range(8):
        nxt = step(text)
        if nxt.equals(text):
            break
        text = nxt
    return text


def _where(text: pa.Array, pattern: str, step: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``step`` of the values that match ``pattern`` only (the others stay)."""
    hit = pc.match_substring_regex(text, pattern)
    if not pc.any(hit).as_py():
        return text
    return pc.replace_with_mask(text, hit, step(text.filter(hit)))


def _ga(text: pa.Array) -> pa.Array:
    return _until_stable(lambda t: pc.replace_substring_regex(t, _BULK_GA, "\\1ケ\\2"), text)


def _lone_numerals(text: pa.Array) -> pa.Array:
    for numeral in "〇一二三四五六七八九十":
        text = pc.replace_substring(text, f"{numeral}丁目", f"{kanji_int(numeral)}丁目")
    return text


def _join_numbers(text: pa.Array) -> pa.Array:
    """The separator rule: one pass over all values, then more over those where a
    separator is still left (a digit that ended one match began the next)."""
    text = pc.replace_substring_regex(text, _BULK_SEPARATOR, "\\1-\\3")
    for _ in range(8):
        before = text
        text = _where(text, _BULK_SEPARATED, lambda t: pc.replace_substring_regex(t, _BULK_SEPARATOR, "\\1-\\3"))
        if text is before:
            break
    return text


def _bulk_keys(distinct: pa.Array) -> pa.Array:
    """``_key`` of every distinct value: the plain ones with Arrow regex
    replacements on whole arrays (or on the values a rule can touch), the rest
    one by one."""
    plain = pc.match_substring_regex(distinct, _BULK_CHARS)
    text = _where(pc.if_else(plain, distinct, ""), _BULK_WIDE, lambda t: pc.utf8_normalize(t, "NFKC"))
    text = _where(text, "[ヶヵが]", _ga)
    # 八一丁目: only the last numeral is the number (a rule left to ``_key``).
    plain = pc.and_(plain, pc.invert(pc.match_substring_regex(text, _BULK_NOT_LONE)))
    text = _where(text, _BULK_LONE, _lone_numerals)
    plain = pc.and_(plain, pc.invert(pc.match_substring_regex(text, _BULK_EXCLUDE)))
    text = _join_numbers(text)
    text = _where(text, "[番号地]", lambda t: pc.replace_substring_regex(
        pc.replace_substring_regex(t, _BULK_TRAILING, "\\1"), _BULK_BEFORE_BUILDING, "\\1\\2"))
    text = pc.if_else(pc.equal(text, ""), None, text)
    return fill_slow(text, distinct, np.flatnonzero(~plain.to_numpy(zero_copy_only=False)), _key)
