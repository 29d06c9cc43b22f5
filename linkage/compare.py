"""Compare two aligned Series field by field into agreement levels.

Every function takes two Series of raw values (aligned by position), normalises
them, and returns a categorical Series of levels, best first:

* strings (names, kana, addresses): ``exact`` (same as written), ``variant``
  (same key: old glyphs, kana width, small kana, spacing, notation), ``close``
  (loose key equal or Jaro-Winkler of the keys above a threshold),
  ``different``, ``missing`` (either side empty).
* dates: ``exact``, ``swapped`` (day and month exchanged), ``one_digit`` (one
  digit of YYYYMMDD differs), ``year_month`` (same year and month),
  ``different``, ``missing``.
* sex: ``exact``, ``different``, ``missing``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from .normalize import address as _address
from .normalize._unique import on_unique
from .normalize import dates as _dates
from .normalize import kana as _kana
from .normalize import names as _names
from .normalize import translit as _translit
from .normalize.sex import sex as _sex_codes

STRING_LEVELS = ("exact", "variant", "close", "different", "missing")
DATE_LEVELS = ("exact", "swapped", "one_digit", "year_month", "different", "missing")
SEX_LEVELS = ("exact", "different", "missing")

#: Jaro-Winkler similarity of the keys at or above which two values are "close".
THRESHOLDS = {"name": 0.90, "kana": 0.90, "address": 0.90, "translit": 0.85}

KeyFunc = Callable[[pd.Series], pd.Series]


def _series(values: Any) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    return s.reset_index(drop=True)


def _levels(codes: np.ndarray, levels: tuple[str, ...], index: pd.Index) -> pd.Series:
    cat = pd.Categorical.from_codes(codes, categories=list(levels))
    return pd.Series(cat, index=index)


def compare_strings(
    a: Any,
    b: Any,
    key: KeyFunc,
    loose: KeyFunc | None = None,
    close: float = 0.90,
) -> pd.Series:
    """Grade two aligned string Series into :data:`STRING_LEVELS`.

    ``key`` is the strict normaliser (equal keys = ``variant``), ``loose`` an
    optional looser one (equal loose keys = ``close``); Jaro-Winkler of the
    strict keys at or above ``close`` is also ``close`` (see :func:`grade_keys`).
    """
    index = a.index if isinstance(a, pd.Series) else pd.RangeIndex(len(b))
    a_s, b_s = _series(a), _series(b)
    la, lb = (_obj(loose(a_s)), _obj(loose(b_s))) if loose is not None else (None, None)
    graded = grade_keys(_obj(key(a_s)), _obj(key(b_s)), la, lb, close)
    exact = (a_s.astype("string").str.strip() == b_s.astype("string").str.strip()).fillna(False).to_numpy(dtype=bool)
    codes = np.select([graded == UNKNOWN, (graded == AGREE) & exact, graded == AGREE, graded == CLOSE],
                      [4, 0, 1, 2], default=3).astype(np.int8)
    return _levels(codes, STRING_LEVELS, index)


def compare_name(a: Any, b: Any) -> pd.Series:
    """Kanji (or alphabet) names: variants folded, 斎/斉-type near pairs ``close``."""
    return compare_strings(a, b, _names.name_key, _names.name_near_key, THRESHOLDS["name"])


def compare_kana(a: Any, b: Any) -> pd.Series:
    """Kana names: width, small kana, spacing folded; ヂ/ジ, コウ/コー ``close``."""
    return compare_strings(a, b, _kana.kana_key, _kana.kana_key_loose, THRESHOLDS["kana"])


def compare_address(a: Any, b: Any) -> pd.Series:
    """Addresses: notation folded (一丁目2番3号 = 1-2-3); near spellings ``close``."""
    return compare_strings(a, b, _address.address_key, None, THRESHOLDS["address"])


def _as_dates(values: Any) -> pd.Series:
    s = _series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    return _dates.birth_date(s)


def _date_matches(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """How two aligned datetime64 arrays agree, as boolean masks over the pairs
    where both are known (``known``): ``exact``, ``swapped`` (day and month
    exchanged), ``one_digit`` (of YYYYMMDD), ``year_month`` and ``wrong_era``
    (same month and day, years apart by the distance between two eras' first
    years: S60 typed as H60)."""
    known = ~np.isnat(a) & ~np.isnat(b)
    da, db = pd.DatetimeIndex(a[known]), pd.DatetimeIndex(b[known])
    ya, ma, dd_a = da.year.to_numpy(), da.month.to_numpy(), da.day.to_numpy()
    yb, mb, dd_b = db.year.to_numpy(), db.month.to_numpy(), db.day.to_numpy()
    return {
        "known": known,
        "exact": (ya == yb) & (ma == mb) & (dd_a == dd_b),
        "swapped": (ya == yb) & (ma == dd_b) & (dd_a == mb),
        "one_digit": (_digits(ya, ma, dd_a) != _digits(yb, mb, dd_b)).sum(axis=1) == 1,
        "year_month": (ya == yb) & (ma == mb),
        "wrong_era": (ma == mb) & (dd_a == dd_b) & np.isin(np.abs(ya - yb), ERA_OFFSETS),
    }


def compare_dates(a: Any, b: Any) -> pd.Series:
    """Grade two aligned date Series (raw text or datetimes) into :data:`DATE_LEVELS`."""
    index = a.index if isinstance(a, pd.Series) else pd.RangeIndex(len(b))
    m = _date_matches(_as_dates(a).to_numpy(dtype="datetime64[ns]"), _as_dates(b).to_numpy(dtype="datetime64[ns]"))
    codes = np.full(len(m["known"]), 5, dtype=np.int8)  # missing
    codes[m["known"]] = np.select([m["exact"], m["swapped"], m["one_digit"], m["year_month"]], [0, 1, 2, 3],
                                  default=4)
    return _levels(codes, DATE_LEVELS, index)


def _digits(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The eight digits of YYYYMMDD as an (n, 8) integer array (NaN rows → -1)."""
    ymd = np.nan_to_num(year * 10000 + month * 100 + day, nan=-1).astype(np.int64)
    powers = 10 ** np.arange(7, -1, -1, dtype=np.int64)
    return (ymd[:, None] // powers) % 10


def compare_sex(a: Any, b: Any) -> pd.Series:
    """Grade two aligned sex Series (raw codes) into :data:`SEX_LEVELS`."""
    index = a.index if isinstance(a, pd.Series) else pd.RangeIndex(len(b))
    sa, sb = _sex_codes(_series(a)), _sex_codes(_series(b))
    missing = (sa.isna() | sb.isna()).to_numpy()
    same = (sa == sb).fillna(False).to_numpy(dtype=bool)
    codes = np.select([missing, same], [2, 0], default=1).astype(np.int8)
    return _levels(codes, SEX_LEVELS, index)


# --- pair features on prepared tables --------------------------------------
#
# The audit compares prepared tables (see ``linkage.normalize.tables``) pair
# by pair: a record with its card holder, with household members, with
# candidates.  Each field is graded into a small integer code.

AGREE, CLOSE, DISAGREE, UNKNOWN = 0, 1, 2, 3
PART_LEVELS = ("agree", "close", "disagree", "unknown")
BIRTH_LEVELS = ("exact", "near", "different", "unknown")
FEATURES = ("fam", "giv", "birth", "sex", "addr")
#: Differences between era base years (明治1867, 大正1911, 昭和1925, 平成1988, 令和2018).
_BASES = (1867, 1911, 1925, 1988, 2018)
ERA_OFFSETS = sorted({abs(a - b) for a in _BASES for b in _BASES if a != b})


def _obj(values: pd.Series | np.ndarray) -> np.ndarray:
    """Object array with ``None`` for every missing value."""
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    arr = s.to_numpy(dtype=object, na_value=None)
    return arr


def grade_keys(a: np.ndarray, b: np.ndarray, la: np.ndarray | None = None,
               lb: np.ndarray | None = None, close: float = 0.90) -> np.ndarray:
    """Grade aligned key arrays: AGREE (equal), CLOSE (loose keys equal or
    Jaro-Winkler ≥ ``close``), DISAGREE, UNKNOWN (either side missing)."""
    present = pd.notna(a) & pd.notna(b)
    out = np.full(len(a), UNKNOWN, dtype=np.int8)
    if not present.any():
        return out
    eq = np.zeros(len(a), dtype=bool)
    eq[present] = a[present] == b[present]
    near = np.zeros(len(a), dtype=bool)
    rest = present & ~eq
    if rest.any():
        near[rest] = cpdist(list(a[rest]), list(b[rest]), scorer=JaroWinkler.normalized_similarity,
                            workers=-1) >= close
        if la is not None and lb is not None:
            lp = rest & pd.notna(la) & pd.notna(lb)
            near[lp] |= la[lp] == lb[lp]
    out[present] = np.where(eq[present], AGREE, np.where(near[present], CLOSE, DISAGREE))
    return out


def combine(*levels: np.ndarray) -> np.ndarray:
    """Combine gradings of one field from several views (kanji, kana, reading).

    Agreement wins unless another view disagrees (then CLOSE: a conflict);
    UNKNOWN only when no view could compare.
    """
    stack = np.vstack(levels)
    any_agree = (stack == AGREE).any(axis=0)
    any_close = (stack == CLOSE).any(axis=0)
    any_dis = (stack == DISAGREE).any(axis=0)
    return np.select(
        [any_agree & ~any_dis, any_agree | (any_close & ~any_dis), any_dis],
        [AGREE, CLOSE, DISAGREE],
        UNKNOWN,
    ).astype(np.int8)


def _split_by_other(full: np.ndarray, part: np.ndarray, other_fam: np.ndarray, other_giv: np.ndarray):
    """Where a name is unsplit, split it where the other side's family name
    ends (山田太郎 vs 山田 太郎) or its given name begins (田中花子 vs 鈴木 花子,
    a former name): returns (family, given) arrays."""
    fam = part.copy()
    giv = np.full(len(full), None, dtype=object)
    todo = np.flatnonzero(pd.isna(part) & pd.notna(full) & (pd.notna(other_fam) | pd.notna(other_giv)))
    for i in todo:
        f, o, g = full[i], other_fam[i], other_giv[i]
        if o is not None and f.startswith(o) and len(f) > len(o):
            fam[i], giv[i] = o, f[len(o):]
        elif g is not None and f.endswith(g) and len(f) > len(g):
            fam[i], giv[i] = f[: len(f) - len(g)], g
    return fam, giv


def _near(keys: np.ndarray) -> np.ndarray:
    """Near keys of name keys: 斎/斉-type pairs folded for kanji; for alphabet
    names the Metaphone code (jellyfish), so SMITH and SMYTH grade ``close``."""
    s = pd.Series(keys, dtype=object)
    out = _obj(_names.name_near_key(s))
    latin = np.array([isinstance(k, str) and k.isascii() for k in keys], dtype=bool)
    if latin.any():
        out[latin] = _obj(on_unique(lambda k: "~" + jellyfish.metaphone(k), s[latin]))
    return out


def _loose(keys: np.ndarray) -> np.ndarray:
    return _obj(_kana.kana_key_loose(pd.Series(keys, dtype=object)))


def _phonetic_side(side: dict[str, np.ndarray], part: str, need: np.ndarray) -> np.ndarray:
    """Phonetic keys of one side's name part: the stored one for alphabet names,
    romanised kana (or katakana written in the name column) where ``need``."""
    out = side[f"{part}_ph"].copy()
    if need.any():
        kana_first = np.where(pd.notna(side[f"{part}_kana"]), side[f"{part}_kana"], side[f"{part}_key"])
        out[need] = _obj(_translit.phonetic(pd.Series(kana_first[need], dtype=object)))
    return out


def _near_of(frame: pd.DataFrame, col: str, idx: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Near keys of name-part ``keys``: stored by the normalise stage where it
    has them; computed where a part was split here or the name is in the
    alphabet (Metaphone)."""
    if col not in frame.columns:
        return _near(keys)
    out = _take(frame, col, idx)
    fix = (pd.isna(out) & pd.notna(keys)) | np.array([isinstance(k, str) and k.isascii() for k in keys], dtype=bool)
    if fix.any():
        out[fix] = _near(keys[fix])
    return out


def _loose_of(frame: pd.DataFrame, col: str, idx: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Loose kana keys of name-part ``keys``: stored where available, computed
    where a part was split here."""
    if col not in frame.columns:
        return _loose(keys)
    out = _take(frame, col, idx)
    fix = pd.isna(out) & pd.notna(keys)
    if fix.any():
        out[fix] = _loose(keys[fix])
    return out


def _take(frame: pd.DataFrame, col: str, idx: np.ndarray) -> np.ndarray:
    return _obj(frame[col]).take(idx) if len(idx) else np.array([], dtype=object)


def pair_features(left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray,
                  lexicon=None) -> pd.DataFrame:
    """Compare ``left.iloc[li]`` with ``right.iloc[ri]`` field by field.

    ``left`` is typically records and ``right`` residents (whose missing kana
    can be checked against the reading ``lexicon``).  Returns int8 codes:
    ``fam``/``giv`` in :data:`PART_LEVELS`, ``birth`` in :data:`BIRTH_LEVELS`,
    ``sex`` and ``addr`` (agree/close/disagree/unknown), plus the views
    behind them (``fam_kanji``, ``fam_kana``, ``fam_reading`` …).
    """
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    cols = ("name_key", "fam_key", "giv_key", "kana_key", "fam_kana", "giv_kana", "fam_ph", "giv_ph")
    L = {c: _take(left, c, li) for c in cols}
    R = {c: _take(right, c, ri) for c in cols}
    l_latin = left["latin"].to_numpy(dtype=bool)[li] if len(li) else np.zeros(0, dtype=bool)
    r_latin = right["latin"].to_numpy(dtype=bool)[ri] if len(ri) else np.zeros(0, dtype=bool)
    mixed = l_latin != r_latin  # alphabet on one side only: kanji keys cannot meet
    out: dict[str, np.ndarray] = {}

    # Split an unsplit name where the other side's parts fit.
    for A, B in ((L, R), (R, L)):
        fam, giv = _split_by_other(A["name_key"], A["fam_key"], B["fam_key"], B["giv_key"])
        A["giv_key"] = np.where(pd.isna(A["giv_key"]), giv, A["giv_key"])
        A["fam_key"] = fam
        fam, giv = _split_by_other(A["kana_key"], A["fam_kana"], B["fam_kana"], B["giv_kana"])
        A["giv_kana"] = np.where(pd.isna(A["giv_kana"]), giv, A["giv_kana"])
        A["fam_kana"] = fam

    for part in ("fam", "giv"):
        lk, rk = L[f"{part}_key"], R[f"{part}_key"]
        lq, rq = L[f"{part}_kana"], R[f"{part}_kana"]
        kanji = grade_keys(lk, rk, _near_of(left, f"{part}_near", li, lk), _near_of(right, f"{part}_near", ri, rk),
                           THRESHOLDS["name"])
        kanji[mixed] = UNKNOWN
        kana_ = grade_keys(lq, rq, _loose_of(left, f"{part}_loose", li, lq), _loose_of(right, f"{part}_loose", ri, rq),
                           THRESHOLDS["kana"])
        # Alphabet against katakana: a transliteration can confirm, never refute.
        translit = np.full(len(li), UNKNOWN, dtype=np.int8)
        if mixed.any():
            lp = _phonetic_side(L, part, mixed & ~l_latin)
            rp = _phonetic_side(R, part, mixed & ~r_latin)
            ok = mixed & pd.notna(lp) & pd.notna(rp)
            if ok.any():
                sim = cpdist(list(lp[ok]), list(rp[ok]), scorer=JaroWinkler.normalized_similarity, workers=-1)
                translit[ok] = np.where(sim >= THRESHOLDS["translit"], CLOSE, UNKNOWN)
        reading = np.full(len(li), UNKNOWN, dtype=np.int8)
        if lexicon is not None:
            # The right side has kanji but no kana: is the left kana a reading of it?
            ask = pd.isna(rq) & pd.notna(lq) & pd.notna(rk)
            if ask.any():
                graded = lexicon.lookup(part, rk[ask], lq[ask])
                reading[ask] = np.where(graded == 3, UNKNOWN, graded)
        out[f"{part}_kanji"], out[f"{part}_kana"], out[f"{part}_reading"] = kanji, kana_, reading
        out[f"{part}_translit"] = translit
        out[part] = combine(kanji, kana_, reading, translit)

    # Neither part comparable (e.g. both unsplit and different): grade the full names.
    full_kanji = grade_keys(L["name_key"], R["name_key"], _near(L["name_key"]), _near(R["name_key"]),
                            THRESHOLDS["name"])
    full_kanji[mixed] = UNKNOWN
    full_kana = grade_keys(L["kana_key"], R["kana_key"], _loose(L["kana_key"]), _loose(R["kana_key"]),
                           THRESHOLDS["kana"])
    full = combine(full_kanji, full_kana)
    for part in ("fam", "giv"):
        out[part] = np.where(out[part] == UNKNOWN, full, out[part]).astype(np.int8)
    out["name_full"] = full

    # Birth date.
    lb = left["birth"].to_numpy(dtype="datetime64[ns]").take(li) if len(li) else np.array([], "datetime64[ns]")
    rb = right["birth"].to_numpy(dtype="datetime64[ns]").take(ri) if len(ri) else np.array([], "datetime64[ns]")
    out["birth"] = _grade_birth(lb, rb)

    # Sex.
    ls = left["sex"].to_numpy(dtype="float64", na_value=np.nan).take(li) if len(li) else np.array([])
    rs = right["sex"].to_numpy(dtype="float64", na_value=np.nan).take(ri) if len(ri) else np.array([])
    known = ~np.isnan(ls) & ~np.isnan(rs)
    out["sex"] = np.where(known, np.where(ls == rs, AGREE, DISAGREE), UNKNOWN).astype(np.int8)

    # Address.
    la, ra = _take(left, "addr_key", li), _take(right, "addr_key", ri)
    out["addr"] = grade_keys(la, ra, None, None, THRESHOLDS["address"])
    return pd.DataFrame(out)


def _grade_birth(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """exact / near (swapped, one digit, same year-month, wrong era) / different / unknown."""
    m = _date_matches(a, b)
    out = np.full(len(a), UNKNOWN, dtype=np.int8)
    near = m["swapped"] | m["one_digit"] | m["year_month"] | m["wrong_era"]
    out[m["known"]] = np.select([m["exact"], near], [AGREE, CLOSE], DISAGREE)
    return out
