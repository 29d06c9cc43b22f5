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
from functools import partial
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from .background import in_threads, spare_cores
from .keycols import Keys, concat_equal, encode, equal, factorize_first, full_equal, joined_rows, whole_columns
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


def _ymd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of a datetime64 array without NaT (integer arithmetic)."""
    d = a.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = m.astype("datetime64[Y]")
    return (y.astype(np.int64) + 1970, (m - y).astype(np.int64) + 1, (d - m).astype(np.int64) + 1)


def _date_matches(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """How two aligned datetime64 arrays agree, as boolean masks over the pairs
    where both are known (``known``): ``exact``, ``swapped`` (day and month
    exchanged), ``one_digit`` (of YYYYMMDD), ``year_month`` and ``wrong_era``
    (same month and day, years apart by the distance between two eras' first
    years: S60 typed as H60)."""
    known = ~np.isnat(a) & ~np.isnat(b)
    ya, ma, dd_a = _ymd(a[known])
    yb, mb, dd_b = _ymd(b[known])
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
                            workers=_workers()) >= close
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


def _split_by_other(full: Keys, fam: Keys, giv: Keys, other_fam: Keys, other_giv: Keys,
                    known: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Keys, Keys]:
    """Where a name is unsplit, split it where the other side's family name
    ends (山田太郎 vs 山田 太郎) or its given name begins (田中花子 vs 鈴木 花子,
    a former name): returns the (family, given) keys, the given name filled
    only where it was missing.  ``known`` is (pairs where the other side's
    full key is its two parts run together, whether the full keys are equal):
    there the name is the other side's parts exactly where it is their full key."""
    todo = np.flatnonzero(fam.na & ~full.na & (~other_fam.na | ~other_giv.na))
    if not len(todo):
        return fam, giv
    giv_na = giv.na
    # Mostly the name is the other side's two parts run together: split it there.
    both = todo[~other_fam.na[todo] & ~other_giv.na[todo]]
    fits = np.zeros(len(both), dtype=bool)
    ask = np.ones(len(both), dtype=bool) if known is None else ~known[0][both]
    if known is not None:
        fits[~ask] = known[1][both[~ask]]
    fits[ask] = concat_equal(other_fam, other_giv, full, both[ask])
    same = both[fits]
    rest = np.setdiff1d(todo, same, assume_unique=True)
    fam = fam.replace_with(same, other_fam)
    giv = giv.replace_with(same[giv_na[same]], other_giv)
    if not len(rest):
        return fam, giv
    fv, ov, gv = full.values(rest), other_fam.values(rest), other_giv.values(rest)
    new_fam = np.full(len(rest), None, dtype=object)
    new_giv = np.full(len(rest), None, dtype=object)
    for k, (f, o, g) in enumerate(zip(fv.tolist(), ov.tolist(), gv.tolist())):
        if o is not None and f.startswith(o) and len(f) > len(o):
            new_fam[k], new_giv[k] = o, f[len(o):]
        elif g is not None and f.endswith(g) and len(f) > len(g):
            new_fam[k], new_giv[k] = f[: len(f) - len(g)], g
    done = new_fam != None  # noqa: E711
    fill = done & giv_na[rest]
    return fam.replace(rest[done], new_fam[done]), giv.replace(rest[fill], new_giv[fill])


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


def _phonetic_side(frame: pd.DataFrame, side: dict[str, Keys], part: str, idx: np.ndarray, at: np.ndarray,
                   need: np.ndarray) -> np.ndarray:
    """Phonetic keys of one side's name part at pairs ``at``: the stored one for
    alphabet names, romanised kana (or katakana written in the name column)
    where ``need``."""
    out = Keys.take(frame, f"{part}_ph", idx[at]).values()
    if need.any():
        sel = at[need]
        kana, key = side[f"{part}_kana"].values(sel), side[f"{part}_key"].values(sel)
        kana_first = np.where(pd.notna(kana), kana, key)
        out[need] = _obj(_translit.phonetic(pd.Series(kana_first, dtype=object)))
    return out


def _near_of(frame: pd.DataFrame, col: str, idx: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Near keys of name-part ``keys`` (rows ``idx`` of ``frame``): stored by the
    normalise stage where it has them; computed where a part was split here or
    the name is in the alphabet (Metaphone)."""
    if col not in frame.columns:
        return _near(keys)
    out = Keys.take(frame, col, idx).values()
    fix = (pd.isna(out) & pd.notna(keys)) | np.array([isinstance(k, str) and k.isascii() for k in keys], dtype=bool)
    if fix.any():
        out[fix] = _near(keys[fix])
    return out


def _loose_of(frame: pd.DataFrame, col: str, idx: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Loose kana keys of name-part ``keys`` (rows ``idx`` of ``frame``): stored
    where available, computed where a part was split here."""
    if col not in frame.columns:
        return _loose(keys)
    out = Keys.take(frame, col, idx).values()
    fix = pd.isna(out) & pd.notna(keys)
    if fix.any():
        out[fix] = _loose(keys[fix])
    return out


#: Near keys of the keys at pairs ``at``: ``(at, keys) -> keys``.
NearFunc = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _grade(a: Keys, b: Keys, close: float, near_a: NearFunc | None = None,
           near_b: NearFunc | None = None, eq: np.ndarray | None = None) -> np.ndarray:
    """:func:`grade_keys` on :class:`Keys`: strings are only looked at (and near
    keys only made) for pairs whose keys differ.  ``eq`` is :func:`equal` of
    the keys when already known; one ``near`` function for both sides is
    called once."""
    out = np.full(len(a), UNKNOWN, dtype=np.int8)
    present = ~a.na & ~b.na
    eq = equal(a, b) if eq is None else eq
    out[present] = DISAGREE
    out[eq] = AGREE
    rest = np.flatnonzero(present & ~eq)
    if len(rest):
        av, bv = a.values(rest), b.values(rest)
        near = cpdist(list(av), list(bv), scorer=JaroWinkler.normalized_similarity, workers=_workers()) >= close
        far = np.flatnonzero(~near)  # near keys can only add to what Jaro-Winkler found
        if near_a is not None and near_b is not None and len(far):
            if near_a is near_b:
                both = near_a(np.concatenate([rest[far], rest[far]]), np.concatenate([av[far], bv[far]]))
                la, lb = both[: len(far)], both[len(far):]
            else:
                la, lb = near_a(rest[far], av[far]), near_b(rest[far], bv[far])
            lp = pd.notna(la) & pd.notna(lb)
            near[far[lp]] = la[lp] == lb[lp]
        out[rest[near]] = CLOSE
    return out


def pair_features(left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray,
                  lexicon=None, detail: bool = True) -> pd.DataFrame:
    """Compare ``left.iloc[li]`` with ``right.iloc[ri]`` field by field.

    ``left`` is typically records and ``right`` residents (whose missing kana
    can be checked against the reading ``lexicon``).  Returns int8 codes:
    ``fam``/``giv`` in :data:`PART_LEVELS`, ``birth`` in :data:`BIRTH_LEVELS`,
    ``sex`` and ``addr`` (agree/close/disagree/unknown), plus the views
    behind them (``fam_kanji``, ``fam_kana``, ``fam_reading`` …) and the grade
    of the full names (``name_full``).  With ``detail=False`` only the five
    field grades (:data:`FEATURES`) come back, the same, and work that cannot
    change them is skipped: transliteration where another view already
    agrees or disagrees, the full names where both parts could be graded.
    """
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    n = len(li)
    # Name parts as integer codes; full names taken only where needed when the
    # pairs cover the tables (their equality then mostly follows from the parts').
    whole = whole_columns(left["name_key"], right["name_key"], n)
    full_keys = Keys.rows if whole else Keys.take
    L = {c: full_keys(left, c, li) for c in ("name_key", "kana_key")}
    R = {c: full_keys(right, c, ri) for c in ("name_key", "kana_key")}
    # The work on whole columns (Arrow kernels, which let other threads run) on several cores.
    jobs: dict[Any, Callable[[], Any]] = {"addr": partial(_grade_address, left["addr_key"], right["addr_key"], li, ri)}
    for c in ("fam_key", "giv_key", "fam_kana", "giv_kana"):
        jobs[c] = partial(encode, left[c], right[c], li, ri)
    if whole:
        for side, frame in enumerate((left, right)):
            for full, fam, giv in NAME_KEYS:
                jobs[full, side] = partial(joined_rows, frame[full], frame[fam], frame[giv])
    done = in_threads(jobs, threads=_threads() if whole else 1)
    for c in ("fam_key", "giv_key", "fam_kana", "giv_kana"):
        L[c], R[c] = done[c]
    joined = _joined_names(li, ri, L, R, done) if whole else {}
    l_latin = left["latin"].to_numpy(dtype=bool)[li] if n else np.zeros(0, dtype=bool)
    r_latin = right["latin"].to_numpy(dtype=bool)[ri] if n else np.zeros(0, dtype=bool)
    mixed = l_latin != r_latin  # alphabet on one side only: kanji keys cannot meet
    out: dict[str, np.ndarray] = {}

    # Split an unsplit name where the other side's parts fit.
    for other, (A, B) in enumerate(((L, R), (R, L))):
        for full, fam, giv in NAME_KEYS:
            # Where the other side's full key is its parts run together (never where
            # split here), the full keys are equal exactly where the parts fit.
            known = (joined[full][1 - other], joined[full][2]) if full in joined else None
            A[fam], A[giv] = _split_by_other(A[full], A[fam], A[giv], B[fam], B[giv], known)

    m = np.flatnonzero(mixed)
    for part in ("fam", "giv"):
        lk, rk = L[f"{part}_key"], R[f"{part}_key"]
        lq, rq = L[f"{part}_kana"], R[f"{part}_kana"]
        kanji = _grade(lk, rk, THRESHOLDS["name"],
                       lambda at, keys: _near_of(left, f"{part}_near", li[at], keys),
                       lambda at, keys: _near_of(right, f"{part}_near", ri[at], keys))
        kanji[mixed] = UNKNOWN
        kana_ = _grade(lq, rq, THRESHOLDS["kana"],
                       lambda at, keys: _loose_of(left, f"{part}_loose", li[at], keys),
                       lambda at, keys: _loose_of(right, f"{part}_loose", ri[at], keys))
        reading = np.full(n, UNKNOWN, dtype=np.int8)
        if lexicon is not None:
            # The right side has kanji but no kana: is the left kana a reading of it?
            ask = np.flatnonzero(rq.na & ~lq.na & ~rk.na)
            if len(ask):
                graded = _lookup(lexicon, part, rk, lq, ask)
                reading[ask] = np.where(graded == 3, UNKNOWN, graded)
        # Alphabet against katakana: a transliteration can confirm, never refute.
        translit = np.full(n, UNKNOWN, dtype=np.int8)
        at = m if detail else m[_undecided(kanji[m], kana_[m], reading[m])]
        if len(at):
            lp = _phonetic_side(left, L, part, li, at, ~l_latin[at])
            rp = _phonetic_side(right, R, part, ri, at, ~r_latin[at])
            ok = pd.notna(lp) & pd.notna(rp)
            if ok.any():
                sim = cpdist(list(lp[ok]), list(rp[ok]), scorer=JaroWinkler.normalized_similarity, workers=_workers())
                translit[at[ok]] = np.where(sim >= THRESHOLDS["translit"], CLOSE, UNKNOWN)
        out[f"{part}_kanji"], out[f"{part}_kana"], out[f"{part}_reading"] = kanji, kana_, reading
        out[f"{part}_translit"] = translit
        out[part] = combine(kanji, kana_, reading, translit)

    # Neither part comparable (e.g. both unsplit and different): grade the full names.
    near = lambda at, keys: _near(keys)  # noqa: E731
    loose = lambda at, keys: _loose(keys)  # noqa: E731
    at = np.arange(n) if detail else np.flatnonzero((out["fam"] == UNKNOWN) | (out["giv"] == UNKNOWN))
    names, kana = (L["name_key"], R["name_key"]), (L["kana_key"], R["kana_key"])
    names_eq, kana_eq = (joined[c][2] if c in joined else None for c in ("name_key", "kana_key"))
    if not detail:
        names, kana = tuple(k.subset(at) for k in names), tuple(k.subset(at) for k in kana)
        names_eq, kana_eq = (None if e is None else e[at] for e in (names_eq, kana_eq))
    full_kanji = _grade(*names, THRESHOLDS["name"], near, near, names_eq)
    full_kanji[mixed[at]] = UNKNOWN
    full_kana = _grade(*kana, THRESHOLDS["kana"], loose, loose, kana_eq)
    full = np.full(n, UNKNOWN, dtype=np.int8)
    full[at] = combine(full_kanji, full_kana)
    for part in ("fam", "giv"):
        out[part] = np.where(out[part] == UNKNOWN, full, out[part]).astype(np.int8)
    if detail:
        out["name_full"] = full

    # Birth date.
    lb = left["birth"].to_numpy(dtype="datetime64[ns]").take(li) if n else np.array([], "datetime64[ns]")
    rb = right["birth"].to_numpy(dtype="datetime64[ns]").take(ri) if n else np.array([], "datetime64[ns]")
    out["birth"] = _grade_birth(lb, rb)

    # Sex.
    ls = left["sex"].to_numpy(dtype="float64", na_value=np.nan).take(li) if n else np.array([])
    rs = right["sex"].to_numpy(dtype="float64", na_value=np.nan).take(ri) if n else np.array([])
    known = ~np.isnan(ls) & ~np.isnan(rs)
    out["sex"] = np.where(known, np.where(ls == rs, AGREE, DISAGREE), UNKNOWN).astype(np.int8)

    out["addr"] = done["addr"]
    return pd.DataFrame(out if detail else {f: out[f] for f in FEATURES})


def _grade_address(left: pd.Series, right: pd.Series, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Grades of the address keys ``left[li]`` against ``right[ri]`` (bank records
    have none: only pairs whose left side has one are looked at)."""
    out = np.full(len(li), UNKNOWN, dtype=np.int8)
    at = np.flatnonzero(left.notna().to_numpy(dtype=bool)[li]) if len(li) else np.zeros(0, dtype=np.int64)
    if len(at):
        out[at] = _grade(Keys.at(left, li[at]), Keys.at(right, ri[at]), THRESHOLDS["address"])
    return out


def _threads() -> int:
    """Threads for the whole-column work of one comparison (:func:`pair_features`)."""
    return min(4, spare_cores() + 1)


def _workers() -> int:
    """Threads for rapidfuzz's ``cpdist``."""
    return spare_cores() + 1


#: Full-name key columns and their (family, given) parts.
NAME_KEYS = (("name_key", "fam_key", "giv_key"), ("kana_key", "fam_kana", "giv_kana"))


def _joined_names(li: np.ndarray, ri: np.ndarray, L: dict[str, Keys], R: dict[str, Keys],
                  rows: dict[Any, np.ndarray | None]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each full-name column (where computable from Arrow columns): at the
    pairs, whether the left and the right full key is its coded parts run
    together, and whether the full keys are equal (:func:`keycols.full_equal`).
    ``rows[full, 0]`` and ``rows[full, 1]`` are :func:`keycols.joined_rows` of
    the left and right tables."""
    out = {}
    for full, fam, giv in NAME_KEYS:
        lj, rj = rows[full, 0], rows[full, 1]
        if lj is None or rj is None:
            continue
        lj, rj = lj.take(li), rj.take(ri)
        eq = full_equal(L[full], R[full], (L[fam], L[giv]), (R[fam], R[giv]), lj, rj)
        if eq is not None:
            out[full] = lj, rj, eq
    return out


def _lookup(lexicon, part: str, kanji: Keys, kana: Keys, at: np.ndarray) -> np.ndarray:
    """``lexicon.lookup`` of the (kanji, kana) keys at pairs ``at``, asked once
    per distinct pair of values."""
    kv, qv = kanji.values(at), kana.values(at)
    kc, qc = pd.factorize(kv)[0].astype(np.int64), pd.factorize(qv)[0].astype(np.int64)
    codes, first = factorize_first(kc * (int(qc.max(initial=0)) + 2) + qc)
    return lexicon.lookup(part, kv[first], qv[first])[codes]


def _undecided(*views: np.ndarray) -> np.ndarray:
    """Where no view agrees or disagrees: only there can a transliteration
    (close or unknown) change what :func:`combine` makes of the views."""
    return ~np.logical_or.reduce([(v == AGREE) | (v == DISAGREE) for v in views])


def _grade_birth(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """exact / near (swapped, one digit, same year-month, wrong era) / different / unknown."""
    out = np.full(len(a), UNKNOWN, dtype=np.int8)
    known = ~np.isnat(a) & ~np.isnat(b)
    exact = known & (a.astype("datetime64[D]") == b.astype("datetime64[D]"))
    out[known] = DISAGREE
    out[exact] = AGREE
    rest = np.flatnonzero(known & ~exact)  # the near levels only for dates that differ
    if len(rest):
        m = _date_matches(a[rest], b[rest])
        near = m["swapped"] | m["one_digit"] | m["year_month"] | m["wrong_era"]
        out[rest[near]] = CLOSE
    return out
