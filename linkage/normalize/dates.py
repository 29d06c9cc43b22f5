"""Birth dates in western and Japanese era notation.

``birth_date`` reads what registers, insurers and spreadsheets hold
(1985-04-12, 1985/4/12, 19850412, 1985年4月12日, 昭和60年4月12日, 昭和六十年四月十二日,
令和元年5月1日, S60.4.12, h12/03/04, era code ``3600412``, Timestamps) and returns
``datetime64[ns]`` with NaT where a value is unreadable, impossible (2月30日)
or outside its era (昭和64年1月8日).  ``to_era`` renders dates back in any of
those styles for the synthetic-data generator.

Future dates and western years such as 1850 are *not* rejected here: that is
a validation rule.  Excel serial numbers (31149) are never guessed.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._unique import as_series, on_unique, to_arrow_strings

__all__ = ["ERAS", "Era", "birth_date", "birth_date_reason", "kanji_int", "to_era"]

UNREADABLE = "unreadable"
IMPOSSIBLE = "impossible date"
OUTSIDE_ERA = "outside era range"

EraStyle = Literal["kanji", "letter", "letter_slash", "code7", "iso", "slash", "compact"]


@dataclass(frozen=True)
class Era:
    """One Japanese era: code 1–5, names, western offset and valid days."""

    code: int
    kanji: str
    letter: str
    offset: int  # western year = offset + era year
    first: dt.date
    last: dt.date | None  # None: current era


ERAS: tuple[Era, ...] = (
    Era(1, "明治", "M", 1867, dt.date(1868, 1, 25), dt.date(1912, 7, 29)),
    Era(2, "大正", "T", 1911, dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    Era(3, "昭和", "S", 1925, dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    Era(4, "平成", "H", 1988, dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    Era(5, "令和", "R", 2018, dt.date(2019, 5, 1), None),
)
_ERA_BY_TOKEN: dict[str, Era] = {}
for _e in ERAS:
    _ERA_BY_TOKEN.update({_e.kanji: _e, _e.kanji[0]: _e, _e.letter: _e, str(_e.code): _e})
_ERA_STARTS = np.array([e.first for e in ERAS], dtype="datetime64[D]")

# datetime64[ns] bounds, as dates
_MIN_DAY = dt.date(1677, 9, 22)
_MAX_DAY = dt.date(2262, 4, 10)
_EPOCH = dt.date(1970, 1, 1)
_NS_PER_DAY = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min

# --- kanji numerals ---------------------------------------------------------
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3,
                 "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
KANJI_NUMERAL_CHARS = "".join(_KANJI_DIGITS) + "".join(_KANJI_UNITS)


def kanji_int(text: str) -> int | None:
    """Value of an ASCII or kanji numeral: ``"23"``, ``"二十三"``, ``"二三"``, ``"十"``, ``"元"`` → 1.

    Handles positional (一九八五) and unit (千九百八十五, 三十一) forms; None when
    ``text`` is not a well-formed numeral.
    """
    if not text:
        return None
    if text.isascii():
        return int(text) if text.isdigit() else None
    if text == "元":
        return 1
    total, current, last_unit = 0, None, 10**9
    for ch in text:
        if ch in _KANJI_DIGITS:
            d = _KANJI_DIGITS[ch]
            current = d if current is None else current * 10 + d
        elif ch in _KANJI_UNITS:
            unit = _KANJI_UNITS[ch]
            if unit >= last_unit:  # 十十, 十百: not a numeral
                return None
            total += (1 if current is None else current) * unit
            current, last_unit = None, unit
        else:
            return None
    return total + (current or 0)


# --- string parsing ---------------------------------------------------------
_HYPHENS = str.maketrans({c: "-" for c in "‐‑‒–—―−ー﹣－"})
_TIME = re.compile(r"[T\s]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
                   r"\s*(?:Z|[+-][0-9]{2}:?[0-9]{2})?$")
_ERA_TOKEN = r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])"
_NUM = rf"(?:[0-9]{{1,4}}|[{KANJI_NUMERAL_CHARS}]{{1,6}}|元)"
_SEPARATED = re.compile(
    rf"^(?:{_ERA_TOKEN}\.?)?(?P<y>{_NUM})(?:年|[./-])(?P<m>{_NUM})(?:月|[./-])(?P<d>{_NUM})日?$"
)
_COMPACT = re.compile(rf"^{_ERA_TOKEN}?\.?(?P<digits>[0-9]{{6,8}})(?:\.0+)?$")
_WESTERN_YEAR = re.compile(r"^(?:[0-9]{4}|[〇零一二三四五六七八九]{4})$")
_SUFFIX = re.compile(r"(?:生まれ|生)$")

_Parsed = tuple[int, str | None]  # (nanoseconds since epoch or _NAT, reason)


def _day_ns(day: dt.date) -> int:
    return (day - _EPOCH).days * _NS_PER_DAY


def _build(era: Era | None, year: int | None, month: int | None, day: int | None) -> _Parsed:
    """Check calendar and era range; western year when ``era`` is None."""
    if year is None or month is None or day is None:
        return _NAT, UNREADABLE
    western = year if era is None else era.offset + year
    try:
        date = dt.date(western, month, day)
    except ValueError:
        return _NAT, IMPOSSIBLE
    if era is not None and (year < 1 or date < era.first or (era.last and date > era.last)):
        return _NAT, OUTSIDE_ERA
    if not _MIN_DAY <= date <= _MAX_DAY:
        return _NAT, IMPOSSIBLE
    return _day_ns(date), None


def _era(token: str | None) -> Era | None:
    return None if token is None else _ERA_BY_TOKEN[token.upper()]


def _digits(digits: str, era: Era | None) -> _Parsed:
    """8-digit YYYYMMDD, 7-digit era code (3500101), era letter + YYMMDD."""
    n = len(digits)
    if era is None and n == 8:
        return _build(None, int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if era is None and n == 7:
        code = _ERA_BY_TOKEN.get(digits[0]) if digits[0] in "12345" else None
        if code is None:
            return _NAT, UNREADABLE
        return _build(code, int(digits[1:3]), int(digits[3:5]), int(digits[5:]))
    if era is not None and n == 6:
        return _build(era, int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    return _NAT, UNREADABLE


@lru_cache(maxsize=1 << 16)
def _parse_text(raw: str) -> _Parsed:
    text = unicodedata.normalize("NFKC", raw).translate(_HYPHENS).strip()
    text = _TIME.sub("", text)
    text = "".join(text.split())
    text = _SUFFIX.sub("", text)
    if not text:
        return _NAT, UNREADABLE
    if m := _COMPACT.match(text):
        return _digits(m["digits"], _era(m["era"]))
    if m := _SEPARATED.match(text):
        era = _era(m["era"])
        if era is None:
            if not _WESTERN_YEAR.match(m["y"]):
                return _NAT, UNREADABLE
        elif len(m["y"]) > 2 and m["y"].isascii():
            return _NAT, UNREADABLE
        month, day = (None if v == "元" else kanji_int(v) for v in (m["m"], m["d"]))
        return _build(era, kanji_int(m["y"]), month, day)
    return _NAT, UNREADABLE


def _parse(value: Any) -> _Parsed:
    """Parse one distinct, non-missing value."""
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, (bool, np.bool_)):
        return _NAT, UNREADABLE
    if isinstance(value, (int, np.integer)):
        return _digits(str(value), None) if value >= 0 else (_NAT, UNREADABLE)
    if isinstance(value, (float, np.floating)):
        if np.isfinite(value) and float(value).is_integer() and value >= 0:
            return _digits(str(int(value)), None)
        return _NAT, UNREADABLE
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)  # may raise only for absurd units; caught below
    if isinstance(value, dt.datetime):  # includes pd.Timestamp; wall-clock date, tz dropped
        value = value.date()
    if isinstance(value, dt.date):
        if not _MIN_DAY <= value <= _MAX_DAY:
            return _NAT, IMPOSSIBLE
        return _day_ns(value), None
    return _NAT, UNREADABLE


def _safe_parse(value: Any) -> _Parsed:
    try:
        return _parse(value)
    except (ValueError, OverflowError, TypeError):
        return _NAT, UNREADABLE


def _datetime_fast_path(s: pd.Series) -> pd.Series | None:
    """Already-datetime Series: drop tz (keep wall date) and time; None if out of ns range."""
    is_tz = isinstance(s.dtype, pd.DatetimeTZDtype)
    if not (is_tz or (isinstance(s.dtype, np.dtype) and s.dtype.kind == "M")):
        return None
    try:
        if is_tz:
            s = s.dt.tz_localize(None)
        return s.dt.normalize().astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None


def _parse_series(values: Iterable[Any] | pd.Series) -> tuple[pd.Series, pd.Series]:
    """(datetime64[ns] Series, object Series of reasons) for ``values``.

    Parses distinct non-missing values only (as ``on_unique`` does) and maps
    the results back with one ``take`` on int64 / object arrays.
    """
    s = as_series(values)
    arr = to_arrow_strings(s)
    if arr is not None:
        return _parse_arrow(s, arr)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    ns = np.full(len(uniques), _NAT, dtype=np.int64)
    reasons = np.full(len(uniques), None, dtype=object)
    slow = np.ones(len(uniques), dtype=bool)
    # Fast path: ISO (1985-04-12) and 8-digit (19850412) text, parsed by pandas in bulk;
    # anything it cannot read (2月30日-type dates included) takes the full parser for its reason.
    text = pd.Series(uniques, dtype=object)
    is_str = np.fromiter((isinstance(u, str) for u in uniques), dtype=bool, count=len(uniques))
    for pattern, fmt in ((r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "%Y-%m-%d"), (r"[0-9]{8}", "%Y%m%d")):
        match = is_str & text.where(is_str, "").str.fullmatch(pattern, case=False).to_numpy(dtype=bool) & slow
        if match.any():
            parsed = pd.to_datetime(text[match], format=fmt, errors="coerce")
            good = parsed.notna().to_numpy()
            idx = np.flatnonzero(match)[good]
            ns[idx] = parsed[good].to_numpy(dtype="datetime64[ns]").view(np.int64)
            slow[idx] = False
    for i in np.flatnonzero(slow):
        ns[i], reasons[i] = _safe_parse(uniques[i])
    ns = np.append(ns, _NAT).take(codes).view("M8[ns]")
    reasons = np.append(reasons, None).take(codes)
    dates = pd.Series(ns, index=s.index, name=s.name)
    return dates, pd.Series(reasons, index=s.index, name=s.name, dtype=object)


# Plain notations with ASCII digits, which every reading step leaves as they are
# (no NFKC change, spaces, times or suffixes): parsed for whole arrays.
_BULK_ERA = "(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])"
_BULK_SEPARATED = (f"^(?:{_BULK_ERA}\\.?)?(?P<y>[0-9]{{1,4}})(?:年|[./-])(?P<m>[0-9]{{1,2}})(?:月|[./-])"
                   "(?P<d>[0-9]{1,2})日?$")
_BULK_COMPACT = f"^{_BULK_ERA}?\\.?(?P<digits>[0-9]{{6,8}})$"
_TOKENS = list(_ERA_BY_TOKEN)
_TOKEN_OFFSET = np.array([_ERA_BY_TOKEN[t].offset for t in _TOKENS])
_TOKEN_FIRST = np.array([_ERA_BY_TOKEN[t].first for t in _TOKENS], dtype="datetime64[D]")
_TOKEN_LAST = np.array([_ERA_BY_TOKEN[t].last or _MAX_DAY for t in _TOKENS], dtype="datetime64[D]")


def _ints(field: pa.Array) -> np.ndarray:
    """Digit strings as int64 (-1 where null or empty)."""
    filled = pc.if_else(pc.equal(pc.utf8_length(field), 0), None, field)
    return pc.fill_null(pc.cast(filled, pa.int64()), -1).to_numpy()


def _era_index(token: pa.Array) -> np.ndarray:
    """Index into ``_TOKENS`` of each era token (upper-cased); -1 for none."""
    return pc.fill_null(pc.index_in(pc.utf8_upper(token), pa.array(_TOKENS)), -1).to_numpy()


def _bulk_dates(era: np.ndarray, year: np.ndarray, month: np.ndarray, day: np.ndarray,
                ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ns, ok): valid, in-era dates only; everything else is left to the full
    parser, which also says why a value is not a date."""
    has_era = era >= 0
    western = np.where(has_era, _TOKEN_OFFSET[np.maximum(era, 0)] + year, year)
    ok = ok & (month >= 1) & (month <= 12) & (day >= 1) & (western > _MIN_DAY.year) & (western < _MAX_DAY.year)
    ok &= ~has_era | (year >= 1)
    ym = np.where(ok, (western - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    first_day = ym.astype("datetime64[D]")
    days_in_month = ((ym + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    ok &= day <= days_in_month
    date = first_day + np.where(ok, day - 1, 0).astype("timedelta64[D]")
    e = np.maximum(era, 0)
    ok &= ~has_era | ((date >= _TOKEN_FIRST[e]) & (date <= _TOKEN_LAST[e]))
    return np.where(ok, date.astype("datetime64[ns]").view(np.int64), _NAT), ok


def _parse_arrow(s: pd.Series, arr: pa.Array) -> tuple[pd.Series, pd.Series]:
    """``_parse_series`` for Arrow strings: plain notations in bulk, the rest
    (era years in kanji, 元年, full-width digits, impossible dates …) per
    distinct value through the full parser."""
    encoded = pc.dictionary_encode(arr)
    distinct = encoded.dictionary
    n = len(distinct)
    ns = np.full(n, _NAT, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    if n:
        sep = pc.extract_regex(distinct, _BULK_SEPARATED)
        matched = sep.is_valid().to_numpy(zero_copy_only=False)
        era = _era_index(pc.struct_field(sep, "era"))
        year_text = pc.struct_field(sep, "y")
        # Without an era the year has four digits; with one, at most two (as the full parser).
        digits = pc.fill_null(pc.utf8_length(year_text), 0).to_numpy()
        ok = matched & np.where(era >= 0, digits <= 2, digits == 4)
        got, good = _bulk_dates(era, _ints(year_text), _ints(pc.struct_field(sep, "m")),
                                _ints(pc.struct_field(sep, "d")), ok)
        ns[good], done[good] = got[good], True
        comp = pc.extract_regex(distinct, _BULK_COMPACT)
        matched = comp.is_valid().to_numpy(zero_copy_only=False) & ~done
        era = _era_index(pc.struct_field(comp, "era"))
        text = pc.struct_field(comp, "digits")
        length = pc.fill_null(pc.utf8_length(text), 0).to_numpy()
        v = _ints(text)
        eight = matched & (era < 0) & (length == 8)  # 19850412
        seven = matched & (era < 0) & (length == 7) & (v // 1_000_000 >= 1) & (v // 1_000_000 <= 5)  # 3600412
        six = matched & (era >= 0) & (length == 6)  # S600412
        code_era = np.where(seven, _era_index(pa.array((v // 1_000_000).astype(str))), era)
        year = np.select([eight, seven], [v // 10_000, v // 10_000 % 100], v // 10_000)
        got, good = _bulk_dates(np.where(eight, -1, code_era), year, v // 100 % 100, v % 100, eight | seven | six)
        ns[good], done[good] = got[good], True
    reasons = np.full(n, None, dtype=object)
    slow = np.flatnonzero(~done)
    if len(slow):
        for i, value in zip(slow.tolist(), distinct.take(pa.array(slow)).to_pylist()):
            ns[i], reasons[i] = _safe_parse(value)
    codes = pc.fill_null(encoded.indices, n).to_numpy()
    dates = pd.Series(np.append(ns, _NAT)[codes].view("M8[ns]"), index=s.index, name=s.name)
    return dates, pd.Series(np.append(reasons, None)[codes], index=s.index, name=s.name, dtype=object)


def birth_date(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Parse birth dates in any supported notation to ``datetime64[ns]``.

    NaT where the value is missing, unreadable, an impossible calendar date or
    outside its era; ``birth_date_reason`` says which.  Time parts are dropped.
    """
    s = as_series(values)
    fast = _datetime_fast_path(s)
    if fast is not None:
        return fast
    return _parse_series(s)[0]


def birth_date_reason(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Why ``birth_date`` gave NaT: ``"unreadable"``, ``"impossible date"`` or
    ``"outside era range"``; NA where parsed OK or where the input is missing."""
    s = as_series(values)
    if _datetime_fast_path(s) is not None:
        return pd.Series(pd.NA, index=s.index, name=s.name, dtype="string")
    return _parse_series(s)[1].astype("string")


# --- rendering ----------------------------------------------------------------
def _era_of(day: dt.date) -> Era | None:
    i = int(np.searchsorted(_ERA_STARTS, np.datetime64(day, "D"), side="right")) - 1
    return ERAS[i] if i >= 0 else None


def _render(ts: Any, style: str) -> str | None:
    day = pd.Timestamp(ts).date()
    y, m, d = day.year, day.month, day.day
    if style == "iso":
        return f"{y:04d}-{m:02d}-{d:02d}"
    if style == "slash":
        return f"{y}/{m}/{d}"
    if style == "compact":
        return f"{y:04d}{m:02d}{d:02d}"
    era = _era_of(day)
    if era is None:
        return None
    ey = y - era.offset
    if style == "kanji":
        return f"{era.kanji}{'元' if ey == 1 else ey}年{m}月{d}日"
    if style == "letter":
        return f"{era.letter}{ey}.{m}.{d}"
    if style == "letter_slash":
        return f"{era.letter}{ey:02d}/{m:02d}/{d:02d}"
    if style == "code7":
        return f"{era.code}{ey:02d}{m:02d}{d:02d}"
    raise AssertionError(style)


_STYLES = ("kanji", "letter", "letter_slash", "code7", "iso", "slash", "compact")


def to_era(values: Iterable[Any] | pd.Series, style: EraStyle = "kanji") -> pd.Series:
    """Render dates as text in ``style`` (the inverse of ``birth_date``).

    ``kanji`` 昭和60年4月12日 (元年 for year 1), ``letter`` S60.4.12,
    ``letter_slash`` S60/04/12, ``code7`` 3600412, ``iso`` 1985-04-12,
    ``slash`` 1985/4/12, ``compact`` 19850412.  Era styles give NA before
    明治 (1868-01-25); missing dates give NA.
    """
    if style not in _STYLES:
        raise ValueError(f"unknown era style {style!r}; expected one of {_STYLES}")
    s = as_series(values)
    if s.dtype.kind != "M":
        s = pd.to_datetime(s, errors="coerce")
    return on_unique(lambda ts: _render(ts, style), s, dtype="string")
