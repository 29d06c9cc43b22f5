"""Health-insurance records (医療保険) linked to My Numbers, and the errors injected.

About one record per resident, written the way insurers hold people: standard
kanji (CP932 could not store every register glyph), katakana full- or
half-width or missing, era dates, address notation of their own and now and
then an old address.  Errors move a record to the wrong number or damage it.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .bank import truth_rows, typo_numbers, unknown_numbers
from .context import Ctx
from .people import ADULT_CHILD, CHILD, GRANDCHILD, HEAD, REF_DATE, SPOUSE
from .rates import draw_count
from .render import (DATE_STYLES, ERA_STYLES, SEPARATORS, address_text, date_text, join, kana_text, my_number_text,
                     pick, sex_text, zero_pad)
from .sources import Tables, encodable

COVERAGE = 0.99
DATE_STYLE_P = dict(iso=0.12, slash=0.05, compact=0.03, kanji=0.35, letter=0.20, letter_slash=0.10, code7=0.15)
NAME_SEP_P = (0.3, 0.5, 0.2)          # " ", "　", none
KANA_STYLE_P = (0.55, 0.30, 0.15)      # katakana, half-width, empty
ADDRESS_FORM_P = (0.5, 0.15, 0.15, 0.1, 0.1)
P_OLD_ADDRESS = 0.03
P_KEEP_VARIANT = 0.2                   # insurer kept the register's glyph (when CP932 has it)
P_SEX_KANJI = 0.15
P_FOREIGN_KANA_NAME = 0.3
COLUMNS = ["record_id", "my_number", "name", "name_kana", "birth_date", "sex", "address",
           "insurer_number", "symbol", "number"]

# era letter, kanji, year offset, first day (DOMAIN.md)
ERAS = (("M", "明治", 1867, dt.date(1868, 1, 25)), ("T", "大正", 1911, dt.date(1912, 7, 30)),
        ("S", "昭和", 1925, dt.date(1926, 12, 25)), ("H", "平成", 1988, dt.date(1989, 1, 8)),
        ("R", "令和", 2018, dt.date(2019, 5, 1)))
REF = REF_DATE.astype(object)


def _era(d: dt.date) -> int:
    return max(i for i, e in enumerate(ERAS) if d >= e[3])


def _in_era(d: dt.date, i: int) -> bool:
    return d >= ERAS[i][3] and (i == len(ERAS) - 1 or d < ERAS[i + 1][3])


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def typo_date(d: dt.date, rng: np.random.Generator) -> tuple[dt.date, bool] | None:
    """A plausible entry error on ``d``: day/month swapped, one digit wrong, or the
    wrong era letter (then True: write it in letter style).  None if none fits."""
    for _ in range(12):
        kind = int(rng.integers(3))
        new, letter = None, False
        if kind == 0 and d.day <= 12 and d.day != d.month:
            new = _safe_date(d.year, d.day, d.month)
        elif kind == 1:
            part = int(rng.integers(3))
            digit = int(rng.integers(10))
            if part == 0:
                new = _safe_date(d.year - d.year % 10 + digit, d.month, d.day)
            elif part == 1:
                new = _safe_date(d.year, (d.month // 10) * 10 + digit, d.day)
            else:
                new = _safe_date(d.year, d.month, (d.day // 10) * 10 + digit)
        elif kind == 2:
            e = _era(d)
            other = [i for i in (e - 1, e + 1) if 0 <= i < len(ERAS)]
            i = other[int(rng.integers(len(other)))]
            new = _safe_date(ERAS[i][2] + d.year - ERAS[e][2], d.month, d.day)
            if new is not None and not _in_era(new, i):
                new = None
            letter = True
        if new is not None and new != d and dt.date(1900, 1, 1) <= new <= REF:
            return new, letter
    return None


def broken_date(d: dt.date, rng: np.random.Generator) -> str:
    """A date that cannot exist: 2月30日, an era year past the era's end, month 13."""
    e = _era(d)
    letter, kanji, base, _ = ERAS[e]
    y = d.year - base
    ys = "元" if y == 1 else str(y)
    kind = int(rng.integers(4))
    if kind == 0 or (kind == 1 and kanji == "令和"):  # the current era has no last year
        return f"{kanji}{ys}年2月{int(rng.integers(30, 32))}日"
    if kind == 1:
        over = {"明治": 46, "大正": 16, "昭和": 65, "平成": 32}[kanji] + int(rng.integers(0, 5))
        return f"{kanji}{over}年{d.month}月{d.day}日"
    if kind == 2:
        return f"{d.year:04d}-{int(rng.choice([2, 4, 6, 9, 11])):02d}-31"
    return f"{letter}{y}.13.{d.day}"


def plan_namesakes(people: pd.DataFrame, covered: np.ndarray, k: int, rng: np.random.Generator,
                   t: Tables) -> tuple[np.ndarray, np.ndarray]:
    """``k`` pairs (X, Y) of same-reading, same-sex strangers (different household and birth date).

    X has an insurance record.  Natural 同姓同名 pairs are used first; if the
    world is too small to have enough, Y (who already shares X's surname
    reading and sex) is given X's given name, or another with the same
    reading — before anything is rendered, so every table agrees.  Modifies
    ``people["giv"]`` in that case.
    """
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    fam, giv = people["fam"].to_numpy(), people["giv"].to_numpy().copy()
    h, sex, birth = people["household"].to_numpy(), people["sex"].to_numpy(), people["birth"].to_numpy()
    jp = ~people["foreign"].to_numpy()
    fcode = pd.factorize(t.family.kata)[0][fam].astype(np.int64)
    gcodes = pd.factorize(t.given.kata)[0]
    gcode = gcodes[giv].astype(np.int64)
    key = (fcode * (gcodes.max() + 1) + gcode) * 3 + sex
    idx = np.flatnonzero(jp)
    order = idx[np.lexsort((rng.random(len(idx)), key[idx]))]
    ks = key[order]
    same = np.r_[ks[1:] == ks[:-1], False]
    start = np.r_[True, ks[1:] != ks[:-1]] if len(ks) else np.zeros(0, bool)
    group_first = order[np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))] if len(ks) else order
    partner = np.where(same, np.r_[order[1:], -1][: len(order)], group_first)
    ok = (partner != order) & (h[partner] != h[order]) & (birth[partner] != birth[order]) & covered[order]
    used = np.zeros(len(people), bool)
    xs: list[int] = []
    ys: list[int] = []
    for i in rng.permutation(np.flatnonzero(ok)).tolist():
        if len(xs) >= k:
            break
        x, y = int(order[i]), int(partner[i])
        if not used[x] and not used[y]:
            used[x] = used[y] = True
            xs.append(x)
            ys.append(y)
    if len(xs) < k:  # create namesakes among people sharing a surname reading and sex
        by = idx[np.lexsort((idx, sex[idx], fcode[idx]))]
        fs = fcode[by] * 3 + sex[by]
        for x in rng.permutation(np.flatnonzero(jp & covered)).tolist():
            if len(xs) >= k:
                break
            if used[x]:
                continue
            target = fcode[x] * 3 + sex[x]
            lo, hi = np.searchsorted(fs, target, "left"), np.searchsorted(fs, target, "right")
            pool = [int(y) for y in by[lo:hi] if h[y] != h[x] and birth[y] != birth[x] and not used[y]]
            if not pool:
                continue
            y = pool[int(rng.integers(len(pool)))]
            alike = np.flatnonzero((gcodes == gcodes[giv[x]]) & (t.given.sex == sex[x]) & (t.given.nat < 0))
            giv[y] = giv[x] if rng.random() < 0.5 else int(alike[int(rng.integers(len(alike)))])
            used[x] = used[y] = True
            xs.append(x)
            ys.append(y)
        people["giv"] = giv
    return np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)


def _insurers(ctx: Ctx, rng: np.random.Generator) -> pd.DataFrame:
    """Insurer number, symbol and number per person: shared by a household, except
    that people of 75 and over are in their prefecture's 後期高齢者 scheme (no symbol)."""
    n_h = len(ctx.households)
    kind = pick(rng, n_h, (0.35, 0.25, 0.30, 0.10))  # 協会けんぽ, 組合, 国保, 共済
    pool = rng.integers(100000, 1000000, max(20, n_h // 40))
    insurer = np.array(["01", "06", "00", "31"], dtype=object)[kind] + zero_pad(pool[rng.integers(0, len(pool), n_h)], 6)
    symbol = zero_pad(rng.integers(1, 10**6, n_h), 1)
    number = zero_pad(rng.integers(1, 10**6, n_h), 1)
    h = ctx.col("household")
    out = pd.DataFrame({"insurer_number": insurer[h], "symbol": symbol[h], "number": number[h]})
    old = ctx.age >= 75
    pref = ctx.households["pref"].to_numpy()[h[old]] + 1
    out.loc[old, "insurer_number"] = "39" + zero_pad(pref, 2) + "0000"
    out.loc[old, "symbol"] = None
    out.loc[old, "number"] = zero_pad(rng.integers(1, 10**8, int(old.sum())), 8)
    return out


def _identity(key_codes: np.ndarray, sex: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """An integer per (reading, sex, birth date); -1 where the reading is unknown."""
    ident = (key_codes.astype(np.int64) * 3 + sex) * 200_000 + (np.asarray(birth, np.int64) + 100_000)
    return np.where(key_codes >= 0, ident, -1)


def _cp932(values: np.ndarray, fold: dict[str, str]) -> np.ndarray:
    """Values CP932 can store: variant glyphs folded, selectors dropped (the insurer's system)."""
    table = str.maketrans({**fold, **{chr(c): None for c in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))}})
    s = pd.Series(values, dtype=object)
    bad = {v for v in s.dropna().unique().tolist() if not encodable(v)}
    if not bad:
        return values
    fix = {v: "".join(ch if encodable(ch) else "〓" for ch in v.translate(table)) for v in bad}
    return s.map(lambda v: fix.get(v, v)).to_numpy(dtype=object)


def _presample(rng: np.random.Generator, cand: np.ndarray, k: int) -> np.ndarray:
    """A random subset of ``cand`` big enough to pick ``k`` from after filtering."""
    if len(cand) <= 4 * k + 100:
        return cand
    return np.sort(rng.choice(cand, size=4 * k + 100, replace=False))


def build_insurance(ctx: Ctx, covered: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                    rates: dict[str, float], rng: np.random.Generator, guarantee: bool
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The insurance table and its truth rows."""
    from .sources import fold_map

    o = np.flatnonzero(covered)
    R = len(o)
    fam, giv = ctx.col("fam")[o], ctx.col("giv")[o]
    foreign = ctx.col("foreign")[o]
    hh = ctx.col("household")[o]
    households = ctx.households

    # names as the insurer holds them
    keep = ctx.variant[o] & (rng.random(R) < P_KEEP_VARIANT)
    fam_w = np.where(keep, ctx.fam_reg[o], ctx.fam_std[o]).astype(object)
    giv_w = np.where(keep, ctx.giv_reg[o], ctx.giv_std[o]).astype(object)
    fold = fold_map()
    fam_w, giv_w = _cp932(fam_w, fold), _cp932(giv_w, fold)
    sep = SEPARATORS[pick(rng, R, NAME_SEP_P)]
    kana_style = pick(rng, R, KANA_STYLE_P)  # 0 katakana, 1 half-width (style 2 of kana_text), 2 empty
    kstyle = np.where(kana_style == 1, 2, 0)
    ksep = np.where(kana_style == 1, " ", SEPARATORS[pick(rng, R, NAME_SEP_P)]).astype(object)
    name = join(fam_w, sep, giv_w)
    kana = (kana_text(ctx.fam_forms, fam, kstyle) + ksep + kana_text(ctx.giv_forms, giv, kstyle)).astype(object)
    kana[kana_style == 2] = None
    fkata = join(ctx.fam_forms.kata[fam], " ", ctx.giv_forms.kata[giv])
    fkana_name = foreign & (rng.random(R) < P_FOREIGN_KANA_NAME)
    name[foreign] = join(ctx.fam_std[o][foreign], " ", ctx.giv_std[o][foreign])
    name[fkana_name] = fkata[fkana_name]
    kana[foreign] = np.where(rng.random(int(foreign.sum())) < 0.5, fkata[foreign], None)

    # birth date, sex, address
    birth = ctx.col("birth")[o].copy()
    styles = list(DATE_STYLE_P)
    bstyle = np.array([DATE_STYLES.index(s) for s in styles])[pick(rng, R, list(DATE_STYLE_P.values()))]
    birth_override = np.full(R, None, dtype=object)
    sex = ctx.col("sex")[o].copy()
    sex_kanji = rng.random(R) < P_SEX_KANJI
    form = pick(rng, R, ADDRESS_FORM_P)
    old = rng.random(R) < P_OLD_ADDRESS
    t = ctx.t
    parts = {c: households[c].to_numpy()[hh] for c in ("pref", "city", "town", "chome", "ban", "go")}
    parts["city"][old] = rng.integers(0, len(t.cities), int(old.sum()))
    parts["town"][old] = rng.integers(0, len(t.towns), int(old.sum()))
    parts["ban"][old] = rng.integers(1, 31, int(old.sum()))
    address = address_text(t.prefectures[parts["pref"]] + t.cities[parts["city"]] + t.towns[parts["town"]],
                           parts["chome"], parts["ban"], parts["go"], form)
    ke = pd.Series(address, dtype=object).str.contains("[ケヶ]").to_numpy() & (rng.random(R) < 0.5)
    address[ke] = pd.Series(address[ke], dtype=object).str.translate(str.maketrans("ケヶ", "ヶケ")).to_numpy(dtype=object)

    era = np.isin(bstyle, [DATE_STYLES.index(s) for s in ERA_STYLES])
    reg_name_differs = ctx.variant[o] & ((fam_w != ctx.fam_reg[o]) | (giv_w != ctx.giv_reg[o]))
    injected = np.select(
        [fkana_name, foreign, reg_name_differs, old, (form != 0) | ke, kana_style == 1, era, ctx.reg_kana_empty[o]],
        ["foreign_kana", "foreign_alphabet", "kanji_variant", "old_address", "address_notation", "kana_width",
         "era_date", "no_register_kana"], default="clean").astype(object)

    # errors
    counts = {k.split(".", 1)[1]: draw_count(R, r, rng, guarantee) for k, r in rates.items()
              if k.startswith("insurance.")}
    rec_of = np.full(ctx.n, -1, dtype=np.int64)
    rec_of[o] = np.arange(R)
    owner, card = o.copy(), o.copy()
    number = ctx.numbers[o].copy()
    used = np.zeros(R, bool)
    role = ctx.col("role")[o]
    key_codes_all, key_uniques = pd.factorize(ctx.key)
    known = _identity(key_codes_all, ctx.col("sex"), ctx.col("birth"))
    key_index = pd.Index(key_uniques)

    def pool(mask):
        return np.flatnonzero(mask & ~used)

    def sample(mask, kind):
        cand = pool(mask)
        k = min(counts.get(kind, 0), len(cand))
        return rng.choice(cand, size=k, replace=False) if k else cand[:0]

    # a same-name stranger's record (found by kana name + sex)
    xs, ys = pairs
    r = rec_of[xs]
    r, ys = r[r >= 0], ys[r >= 0]
    card[r], injected[r], used[r] = ys, "same_name_stranger", True
    used[rec_of[ys][rec_of[ys] >= 0]] = True

    # a dependant's record on the head's number, and the reverse
    head = ctx.head_of[hh]
    dep_roles = np.isin(role, [SPOUSE, CHILD, ADULT_CHILD, GRANDCHILD])
    r = sample(dep_roles, "dependant_on_parent")
    card[r], injected[r], used[r] = head[r], "dependant_on_parent", True
    deps = np.flatnonzero(np.isin(ctx.col("role"), [SPOUSE, CHILD, ADULT_CHILD, GRANDCHILD]))
    deps = deps[rng.permutation(len(deps))]
    dep_of = np.full(len(households), -1, dtype=np.int64)
    first = ~pd.Series(ctx.col("household")[deps]).duplicated().to_numpy()
    dep_of[ctx.col("household")[deps[first]]] = deps[first]
    r = sample((role == HEAD) & (dep_of[hh] >= 0), "parent_on_dependant")
    card[r], injected[r], used[r] = dep_of[hh[r]], "parent_on_dependant", True

    # a married woman's record under her former surname
    maiden = ctx.col("maiden")[o]
    cand = _presample(rng, pool((maiden >= 0) & ~foreign), counts.get("former_surname", 0))
    if len(cand):
        codes = key_index.get_indexer(ctx.fam_key[maiden[cand]] + ctx.giv_key[giv[cand]])
        cand = cand[~np.isin(_identity(codes, sex[cand], birth[cand]), known)]
    k = min(counts.get("former_surname", 0), len(cand))
    r = rng.choice(cand, size=k, replace=False) if k else cand[:0]
    if len(r):
        m = maiden[r]
        name[r] = join(ctx.fam_forms.kanji[m], sep[r], giv_w[r])
        has_kana = kana_style[r] != 2
        kana[r] = np.where(has_kana, kana_text(ctx.fam_forms, m, kstyle[r]) + ksep[r]
                           + kana_text(ctx.giv_forms, giv[r], kstyle[r]), None)
        injected[r], used[r] = "former_surname", True

    # typos in birth date and sex: nobody else in the register may fit the record better
    own_codes = key_codes_all[o]
    r = _presample(rng, pool(np.ones(R, bool)), counts.get("birthdate_typo", 0))
    r = r[rng.permutation(len(r))]
    known_lookup = set(known.tolist()) if counts.get("birthdate_typo", 0) else set()
    done: list[int] = []
    for i in r.tolist():
        if len(done) >= counts.get("birthdate_typo", 0):
            break
        res = typo_date(_date(birth[i]), rng)
        if res is None:
            continue
        new = _day(res[0])
        if _identity(own_codes[i:i + 1], sex[i:i + 1], np.array([new]))[0] in known_lookup:
            continue
        birth[i] = new
        if res[1]:
            bstyle[i] = DATE_STYLES.index("letter")
        done.append(i)
    r = np.array(done, dtype=np.int64)
    injected[r], used[r] = "birthdate_typo", True

    cand = _presample(rng, pool(np.ones(R, bool)), counts.get("sex_mixup", 0))
    cand = cand[~np.isin(_identity(own_codes[cand], 3 - sex[cand], birth[cand]), known)]
    k = min(counts.get("sex_mixup", 0), len(cand))
    r = rng.choice(cand, size=k, replace=False) if k else cand[:0]
    sex[r] = 3 - sex[r]
    injected[r], used[r] = "sex_mixup", True

    r = sample(np.ones(R, bool), "check_digit_typo")
    number[r], card[r], injected[r], used[r] = typo_numbers(number[r], rng), -1, "check_digit_typo", True
    r = sample(np.ones(R, bool), "unknown_number")
    number[r], card[r], injected[r], used[r] = unknown_numbers(ctx, len(r), rng), -1, "unknown_number", True
    r = sample(np.ones(R, bool), "missing_field")
    no_date = rng.random(len(r)) < 0.5
    birth_override[r[no_date]] = ""
    name[r[~no_date]], kana[r[~no_date]] = None, None
    injected[r], used[r] = "missing_field", True
    r = sample(np.ones(R, bool), "broken_row")
    birth_override[r] = np.array([broken_date(_date(birth[i]), rng) for i in r.tolist()], dtype=object)
    injected[r], used[r] = "broken_row", True

    moved = (card >= 0) & (card != o)
    number[moved] = ctx.numbers[card[moved]]
    birth_text = date_text(birth, bstyle)
    has_override = birth_override != None  # noqa: E711
    birth_text[has_override] = birth_override[has_override]
    birth_text[birth_text == ""] = None
    insurers = _insurers(ctx, rng).iloc[o].reset_index(drop=True)
    table = pd.DataFrame({
        "my_number": my_number_text(number, pick(rng, R, (0.97, 0.03))),
        "name": name, "name_kana": kana, "birth_date": birth_text,
        "sex": sex_text(sex, sex_kanji), "address": address,
    })
    table = pd.concat([table, insurers], axis=1)
    table["owner"], table["injected"] = owner, injected
    table = table.iloc[rng.permutation(R)].reset_index(drop=True)
    table["record_id"] = zero_pad(np.arange(1, R + 1), 7, "I")
    return table[COLUMNS].astype("string"), truth_rows("insurance", table, ctx)

