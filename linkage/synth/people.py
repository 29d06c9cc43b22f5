"""Households and the people in them: roles, sexes, birth dates, names, numbers.

Everything is drawn with one ``numpy.random.Generator`` and built column-wise;
the result is a canonical table (indices into the name pools, birth dates as
day numbers) that the renderers turn into the messy text of each source.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .sources import Tables, zipf_weights

#: The world's "today": ages and era dates are relative to it.
REF_DATE = np.datetime64("2024-04-01", "D")
REF_DAY = int(REF_DATE.astype(np.int64))
YEAR = 365.2425

# household types and their shares (mean size ≈ 2.35, as 1,000,000 / 430,000 suggests)
TYPES = ("single", "couple", "nuclear", "single_parent", "three_gen", "elder_with_child")
TYPE_P = np.array([0.36, 0.21, 0.26, 0.08, 0.06, 0.03])
FOREIGN_HOUSEHOLDS = 0.032  # ≈ 3% of residents
SEPARATE_SURNAME = 0.015   # couples keeping separate surnames (rare)
INLAW_ELDERS = 0.2         # three-generation households living with the wife's parents
SURNAME_ZIPF = 0.4   # 佐藤 ≈ 1.4% of residents, as in Japan
GIVEN_ZIPF = 0.6

# roles (register order: head, spouse, children, grandchildren, parents)
HEAD, SPOUSE, CHILD, ELDER, ADULT_CHILD, GRANDCHILD = range(6)
_ROLE_RANK = np.array([0, 1, 2, 4, 2, 3])

_CHECK_WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_POW10 = 10 ** np.arange(10, -1, -1, dtype=np.int64)


def check_digits(body: np.ndarray) -> np.ndarray:
    """My Number check digits of 11-digit bodies (vectorised; same rule as stdnum.jp.in_)."""
    digits = (np.asarray(body, dtype=np.int64)[:, None] // _POW10) % 10
    r = (digits * _CHECK_WEIGHTS).sum(axis=1) % 11
    return np.where(r <= 1, 0, 11 - r)


#: The 11-digit bodies My Numbers are drawn from: [low, high).
NUMBER_RANGE = (1, 10**11)


def new_numbers(n: int, rng: np.random.Generator, exclude: np.ndarray | None = None,
                number_range: tuple[int, int] = NUMBER_RANGE) -> np.ndarray:
    """``n`` distinct valid 12-digit My Numbers as int64 (never all zeros), none in
    ``exclude``, with bodies in ``number_range``."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        body = rng.integers(number_range[0], number_range[1], size=n - len(out) + 8, dtype=np.int64)
        cand = np.concatenate([out, body * 10 + check_digits(body)])
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
        if exclude is not None and len(exclude):
            cand = cand[~np.isin(cand, exclude)]
        out = cand
    return out[:n]


def number_text(numbers: np.ndarray) -> np.ndarray:
    """12-digit zero-padded strings of int64 numbers (object array)."""
    return pd.Series(numbers).astype(str).str.zfill(12).to_numpy(dtype=object)


def _uniform(rng: np.random.Generator, lo, hi, size=None) -> np.ndarray:
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return lo + rng.random(size if size is not None else np.broadcast(lo, hi).shape) * (hi - lo)


def _years(y) -> np.ndarray:
    return np.asarray(np.asarray(y) * YEAR, dtype=np.int64)


def _choice_counts(rng, size, values, p) -> np.ndarray:
    return np.asarray(values)[rng.choice(len(values), size=size, p=p)]


def _draw_surnames(rng: np.random.Generator, n: int, t: Tables, avoid: np.ndarray | None = None) -> np.ndarray:
    """Japanese surnames (indices) from a Zipf-like law, each != ``avoid``."""
    p = zipf_weights(t.n_jp_family, SURNAME_ZIPF)
    out = rng.choice(t.n_jp_family, size=n, p=p)
    if avoid is not None:
        same = out == avoid
        while same.any():
            out[same] = rng.choice(t.n_jp_family, size=int(same.sum()), p=p)
            same = out == avoid
    return out


def given_name_law(rng: np.random.Generator, t: Tables) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """sex → (indices of Japanese given names, probabilities): a Zipf law over a random ranking."""
    law = {}
    for sex in (1, 2):
        idx = np.flatnonzero((t.given.sex == sex) & (t.given.nat < 0))
        law[sex] = (rng.permutation(idx), zipf_weights(len(idx), GIVEN_ZIPF))
    return law


def _draw_given(rng, sex: np.ndarray, nat: np.ndarray, t: Tables, law) -> np.ndarray:
    out = np.empty(len(sex), dtype=np.int64)
    for s in (1, 2):
        m = (sex == s) & (nat < 0)
        idx, p = law[s]
        out[m] = idx[rng.choice(len(idx), size=int(m.sum()), p=p)]
        for k in range(len(t.nationalities)):
            mk = (sex == s) & (nat == k)
            if mk.any():
                pool = np.flatnonzero((t.given.sex == s) & (t.given.nat == k))
                out[mk] = pool[rng.integers(0, len(pool), int(mk.sum()))]
    return out


def _foreign_family(rng, nat: np.ndarray, t: Tables) -> np.ndarray:
    out = np.full(len(nat), -1, dtype=np.int64)
    for k in range(len(t.nationalities)):
        m = nat == k
        if m.any():
            pool = np.flatnonzero(t.family.nat == k)
            out[m] = pool[rng.integers(0, len(pool), int(m.sum()))]
    return out


def build_households(n: int, rng: np.random.Generator, t: Tables,
                     number_range: tuple[int, int] = NUMBER_RANGE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` households and their members.

    Returns ``(households, people)``.  ``households``: type, foreign, nat,
    surname, address parts (pref, city, town, chome (0 = none), ban, go).
    ``people`` (register order): household, role, relationship, sex (1/2),
    birth (day number), foreign, nat, fam / giv (indices into the name
    pools), maiden (former surname index or -1), number (int64 My Number).
    """
    hh = np.arange(n)
    typ = rng.choice(len(TYPES), size=n, p=TYPE_P)
    T = {name: typ == i for i, name in enumerate(TYPES)}
    foreign = rng.random(n) < FOREIGN_HOUSEHOLDS
    nat = np.where(foreign, rng.choice(len(t.nationalities), size=n, p=t.nat_weights), -1)

    # head: age by type, sex by type
    u = rng.random(n)
    single_age = np.where(u < 0.4, _uniform(rng, 20, 40, n),
                          np.where(u < 0.7, _uniform(rng, 40, 65, n), _uniform(rng, 65, 95, n)))
    couple_age = np.where(rng.random(n) < 0.5, _uniform(rng, 25, 60, n), _uniform(rng, 60, 90, n))
    head_age = np.select(
        [T["single"], T["couple"], T["nuclear"], T["single_parent"], T["three_gen"]],
        [single_age, couple_age, _uniform(rng, 28, 58, n), _uniform(rng, 25, 55, n), _uniform(rng, 32, 55, n)],
        default=_uniform(rng, 65, 90, n),
    )
    has_spouse = T["couple"] | T["nuclear"] | T["three_gen"] | (T["elder_with_child"] & (rng.random(n) < 0.5))
    p_female = np.select(
        [T["single"] & (head_age >= 65), T["single"], T["single_parent"], T["elder_with_child"] & ~has_spouse],
        [0.62, 0.5, 0.85, 0.65], default=0.08,
    )
    head_sex = np.where(rng.random(n) < p_female, 2, 1)
    head_birth = REF_DAY - _years(head_age)

    # spouse: similar age (wife ~2 years younger), adult
    diff = np.clip(rng.normal(2.0, 3.0, n), -8, 8) * np.where(head_sex == 1, -1, 1)
    spouse_age = np.clip(head_age + diff, 21, None)
    spouse_birth = np.where(has_spouse, REF_DAY - _years(spouse_age), head_birth)
    young_birth = np.maximum(head_birth, spouse_birth)  # the younger parent
    young_age = REF_DAY - young_birth

    n_child = np.select(
        [T["nuclear"], T["single_parent"], T["three_gen"]],
        [_choice_counts(rng, n, [1, 2, 3], [0.4, 0.45, 0.15]),
         _choice_counts(rng, n, [1, 2], [0.6, 0.4]),
         _choice_counts(rng, n, [0, 1, 2, 3], [0.2, 0.35, 0.35, 0.1])], default=0)
    n_elder = np.where(T["three_gen"], _choice_counts(rng, n, [1, 2], [0.55, 0.45]), 0)
    n_adult = T["elder_with_child"].astype(int)
    n_grand = np.where(T["elder_with_child"] & (rng.random(n) < 0.4), _choice_counts(rng, n, [1, 2], [0.6, 0.4]), 0)
    inlaw = T["three_gen"] & (head_sex == 1) & ~foreign & (rng.random(n) < INLAW_ELDERS)

    parts: list[dict[str, np.ndarray]] = []

    def add(idx, role, sex, birth, rel):
        parts.append(dict(household=idx, role=np.full(len(idx), role, np.int8), sex=np.asarray(sex, np.int8),
                          birth=np.asarray(birth, np.int64), relationship=np.asarray(rel, dtype=object)))

    add(hh, HEAD, head_sex, head_birth, np.full(n, "世帯主", dtype=object))
    sp = hh[has_spouse]
    sp_sex = 3 - head_sex[sp]
    add(sp, SPOUSE, sp_sex, spouse_birth[sp], np.where(sp_sex == 2, "妻", "夫"))

    ch = np.repeat(hh, n_child)
    gap = _uniform(rng, 20 * YEAR + 1, np.minimum(37 * YEAR, young_age[ch]))
    add(ch, CHILD, rng.integers(1, 3, len(ch)), young_birth[ch] + gap.astype(np.int64), np.full(len(ch), "子", dtype=object))

    el = np.repeat(hh, n_elder)
    first = np.r_[True, el[1:] != el[:-1]] if len(el) else np.zeros(0, bool)
    pair = n_elder[el] == 2
    el_sex = np.where(pair, np.where(first, 1, 2), np.where(rng.random(len(el)) < 0.65, 2, 1))
    el_gap = np.where(el_sex == 2, _uniform(rng, 22, 38, len(el)), _uniform(rng, 24, 44, len(el)))
    el_rel = np.where(el_sex == 1, "父", "母")
    el_rel = np.where(inlaw[el], np.where(el_sex == 1, "妻の父", "妻の母"), el_rel)
    el_child_birth = np.where(inlaw[el], spouse_birth[el], head_birth[el])  # whose parent they are
    add(el, ELDER, el_sex, el_child_birth - _years(el_gap), el_rel)

    ac = hh[n_adult > 0]
    ac_birth = young_birth[ac] + _years(_uniform(rng, 22, 37, len(ac)))
    add(ac, ADULT_CHILD, rng.integers(1, 3, len(ac)), ac_birth, np.full(len(ac), "子", dtype=object))
    ac_birth_by_hh = np.zeros(n, np.int64)
    ac_birth_by_hh[ac] = ac_birth

    gc = np.repeat(hh, n_grand)
    gc_age_parent = REF_DAY - ac_birth_by_hh[gc]
    gc_gap = _uniform(rng, 20 * YEAR + 1, np.minimum(37 * YEAR, gc_age_parent))
    add(gc, GRANDCHILD, rng.integers(1, 3, len(gc)), ac_birth_by_hh[gc] + gc_gap.astype(np.int64),
        np.full(len(gc), "孫", dtype=object))

    people = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    order = np.lexsort((people["birth"].to_numpy(), _ROLE_RANK[people["role"].to_numpy()],
                        people["household"].to_numpy()))
    people = people.iloc[order].reset_index(drop=True)

    h = people["household"].to_numpy()
    role = people["role"].to_numpy()
    sex = people["sex"].to_numpy()
    p_nat = nat[h]
    is_jp = p_nat < 0
    people["foreign"] = foreign[h]
    people["nat"] = p_nat.astype(np.int16)

    # surnames: the household's; rare separate surname for a spouse; in-law parents
    surname = np.where(foreign, _foreign_family(rng, nat, t), _draw_surnames(rng, n, t))
    fam = surname[h].copy()
    is_sp = role == SPOUSE
    separate = is_sp & is_jp & (rng.random(len(h)) < SEPARATE_SURNAME)
    fam[separate] = _draw_surnames(rng, int(separate.sum()), t, avoid=fam[separate])
    maiden = np.full(len(h), -1, dtype=np.int64)
    wife = is_sp & (sex == 2) & is_jp & ~separate
    maiden[wife] = _draw_surnames(rng, int(wife.sum()), t, avoid=fam[wife])
    # the wife's parents carry her former surname (or her current one if she kept it)
    wife_family = np.full(n, -1, dtype=np.int64)
    sp_rows = np.flatnonzero(is_sp & is_jp)
    wife_family[h[sp_rows]] = np.where(maiden[sp_rows] >= 0, maiden[sp_rows], fam[sp_rows])
    inlaw_p = (role == ELDER) & inlaw[h] & is_jp & (wife_family[h] >= 0)
    fam[inlaw_p] = wife_family[h[inlaw_p]]
    mother = (role == ELDER) & (sex == 2) & is_jp
    maiden[mother] = _draw_surnames(rng, int(mother.sum()), t, avoid=fam[mother])
    people["fam"] = fam
    people["maiden"] = maiden
    people["giv"] = _draw_given(rng, sex, p_nat, t, given_name_law(rng, t))
    people["number"] = new_numbers(len(people), rng, number_range=number_range)

    has_chome = rng.random(n) < 0.65
    households = pd.DataFrame({
        "type": np.array(TYPES, dtype=object)[typ],
        "foreign": foreign,
        "nat": nat,
        "surname": surname,
        "pref": rng.integers(0, len(t.prefectures), n),
        "city": rng.integers(0, len(t.cities), n),
        "town": rng.integers(0, len(t.towns), n),
        "chome": np.where(has_chome, _choice_counts(rng, n, np.arange(1, 10), zipf_weights(9, 0.7)), 0),
        "ban": np.where(has_chome, rng.integers(1, 31, n), rng.integers(1, 2500, n)),
        "go": rng.integers(1, 31, n),
    })
    return households, people


def age_years(birth: np.ndarray) -> np.ndarray:
    """Whole years of age on ``REF_DATE`` for birth day numbers."""
    b = np.asarray(birth, dtype=np.int64).astype("datetime64[D]")
    year = b.astype("datetime64[Y]").astype(np.int64) + 1970
    month = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    ref = REF_DATE.astype(object)
    not_yet = (month > ref.month) | ((month == ref.month) & (day > ref.day))
    return ref.year - year - not_yet.astype(np.int64)
