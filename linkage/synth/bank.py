"""Public-benefit account registrations (公金受取口座) and the errors injected into them.

A card carries at most one account.  Most adults register their own; some
children and elderly people have none.  Every injected error replaces (or
creates) the record on the card it lands on, so the truth of each record is
exactly what the error says.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Ctx
from .people import CHILD, ELDER, HEAD, SPOUSE, new_numbers, number_text
from .rates import EXPECTED, draw_count
from .render import join, pick, zengin_long_vowels, zero_pad

#: Major bank codes (全銀協 金融機関コード) and their weights; the rest are drawn
#: from regional (0116–0199) and shinkin (1001–1999) ranges.
MAJOR_BANKS = {"9900": 0.20, "0005": 0.12, "0009": 0.10, "0001": 0.08, "0010": 0.04, "0017": 0.02,
               "0036": 0.04, "0038": 0.03, "0033": 0.02}
P_REGIONAL, P_SHINKIN = 0.25, 0.10
ZENGIN_LIMIT = 30          # positions kept by banks that truncate long names
P_TRUNCATING_BANK = 0.5
HOLDER_LONG_VOWEL = (0.6, 0.25, 0.15)  # ｰ, -, dropped
FOREIGN_ALPHABET = 0.7
CORPORATE = (("ｶ)", "", ("ｼﾖｳｼﾞ", "ｺｳｷﾞﾖｳ", "ｹﾝｾﾂ", "ｻﾝｷﾞﾖｳ", "ｳﾝﾕ")),
             ("", "(ｶ", ("ｼﾖｳｼﾞ", "ｺｳｷﾞﾖｳ", "ｾｲｻｸｼﾖ")),
             ("ﾕ)", "", ("ｼﾖｳﾃﾝ", "ｺｳﾑﾃﾝ", "ｼﾖｳｶｲ")),
             ("ｲ)", "", ("ｸﾘﾆﾂｸ", "ｶｲ")))

COLUMNS = ["record_id", "my_number", "bank_code", "branch_code", "account_type", "account_number", "holder_kana"]


def _account_has(ctx: Ctx, rng: np.random.Generator) -> np.ndarray:
    """Who registered their own account: most adults, some children and elderly."""
    age = ctx.age
    p = np.select([age < 18, age < 25, age < 75], [0.12, 0.70, 0.88], default=0.70)
    p = np.where(ctx.col("foreign"), p * 0.85, p)
    return rng.random(ctx.n) < p


def _accounts(n: int, rng: np.random.Generator, existing: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` distinct accounts (bank, branch, type, number) as text, none equal to one in ``existing``."""
    codes = np.array(list(MAJOR_BANKS) + ["regional", "shinkin"], dtype=object)
    w = np.array(list(MAJOR_BANKS.values()) + [P_REGIONAL, P_SHINKIN])
    kind = pick(rng, n, w)
    bank = codes[kind].copy()
    reg, shk = kind == len(MAJOR_BANKS), kind == len(MAJOR_BANKS) + 1
    bank[reg] = zero_pad(rng.integers(116, 200, int(reg.sum())), 4)
    bank[shk] = zero_pad(rng.integers(1001, 2000, int(shk.sum())), 4)
    branch = zero_pad(rng.integers(1, 1000, n), 3)
    number = rng.integers(1, 10**7, n)
    old = existing[["bank_code", "branch_code", "account_number"]] if existing is not None else None
    while True:
        new = pd.DataFrame({"bank_code": bank, "branch_code": branch, "account_number": zero_pad(number, 7)})
        both = new if old is None else pd.concat([old, new], ignore_index=True)
        dup = both.duplicated().to_numpy()[len(both) - n:]
        if not dup.any():
            break
        number[dup] = rng.integers(1, 10**7, int(dup.sum()))
    new.insert(2, "account_type", np.where(rng.random(n) < 0.97, "普通", "当座").astype(object))
    return new


def _finish_holder(text: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Long-vowel spelling and truncation by banks with a 30-position limit."""
    text = zengin_long_vowels(text, pick(rng, len(text), HOLDER_LONG_VOWEL))
    lengths = pd.Series(text, dtype=object).str.len().to_numpy()
    cut = (lengths > ZENGIN_LIMIT) & (rng.random(len(text)) < P_TRUNCATING_BANK)
    if cut.any():
        text = text.copy()
        text[cut] = pd.Series(text[cut], dtype=object).str[:ZENGIN_LIMIT].str.rstrip().to_numpy(dtype=object)
    return text, cut


def _holders(ctx: Ctx, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each person's account holder name as their bank writes it, and a clean label."""
    fam, giv = ctx.col("fam"), ctx.col("giv")
    foreign = ctx.col("foreign")
    kana = join(ctx.fam_forms.zengin[fam], " ", ctx.giv_forms.zengin[giv])
    alpha = foreign & (rng.random(ctx.n) < FOREIGN_ALPHABET)
    text = np.where(alpha, join(ctx.fam_std, " ", ctx.giv_std), kana).astype(object)
    text, cut = _finish_holder(text, rng)
    label = np.select([alpha, foreign, cut], ["foreign_alphabet", "foreign_kana", "truncated_name"],
                      default="clean").astype(object)
    return text, label


class _Rows:
    """Error rows collected per kind."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, kind: str, card, number, account: pd.DataFrame, holder, owner) -> None:
        n = len(account)
        if n == 0:
            return
        df = account.reset_index(drop=True).copy()
        df["card"] = np.broadcast_to(np.asarray(card, dtype=np.int64), (n,))
        df["my_number"] = np.asarray(number, dtype=object)
        df["holder_kana"] = np.asarray(holder, dtype=object)
        df["owner"] = np.broadcast_to(np.asarray(owner, dtype=np.int64), (n,))
        df["injected"] = kind
        self.parts.append(df)


def _sample(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    pool = np.asarray(pool)
    if k <= 0 or len(pool) == 0:
        return pool[:0]
    return rng.choice(pool, size=min(k, len(pool)), replace=False)


def _typo_number(number: str, rng: np.random.Generator) -> str:
    """One digit of ``number`` changed so that the check digit fails."""
    from .people import check_digits

    while True:
        pos = int(rng.integers(12))
        digit = str((int(number[pos]) + int(rng.integers(1, 10))) % 10)
        cand = number[:pos] + digit + number[pos + 1:]
        if int(cand[11]) != int(check_digits(np.array([int(cand[:11])]))[0]):
            return cand


def typo_numbers(numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each number with one digit changed so that the check digit fails."""
    return np.array([_typo_number(x, rng) for x in numbers.tolist()], dtype=object)


def unknown_numbers(ctx: Ctx, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` valid My Numbers that nobody in the register has."""
    return number_text(new_numbers(k, rng, exclude=ctx.col("number"), number_range=ctx.number_range))


def build_bank(ctx: Ctx, rates: dict[str, float], rng: np.random.Generator, guarantee: bool
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bank table and its truth rows."""
    has = _account_has(ctx, rng)
    acct = _accounts(ctx.n, rng)
    holder, clean_label = _holders(ctx, rng)
    no_kana = ctx.reg_kana_empty
    clean_label = np.where((clean_label == "clean") & no_kana, "no_register_kana", clean_label).astype(object)
    n_rec = int(has.sum())
    used = np.zeros(ctx.n, bool)
    rows = _Rows()
    h, role, age = ctx.col("household"), ctx.col("role"), ctx.age
    foreign = ctx.col("foreign")
    adult = age >= 18
    key = ctx.key
    counts = {k.split(".", 1)[1]: draw_count(n_rec, r, rng, guarantee) for k, r in rates.items()
              if k.startswith("bank.")}

    def take(cards, owners, kind, holders=None):
        used[cards] = True
        rows.add(kind, cards, ctx.numbers[cards], acct.iloc[owners],
                 holder[owners] if holders is None else holders, owners)

    # a son's/daughter's account on an elderly parent's card
    rel = ctx.col("relationship")
    elder_child = np.full(ctx.n, -1, dtype=np.int64)
    el = role == ELDER
    elder_child[el] = np.where(np.isin(rel[el], ["妻の父", "妻の母"]), ctx.spouse_of[h[el]], ctx.head_of[h[el]])
    hs = np.isin(role, [HEAD, SPOUSE])
    elder_child[hs] = ctx.adult_child_of[h[hs]]
    ok = (age >= 65) & (elder_child >= 0)
    ok[ok] &= (ctx.age[elder_child[ok]] >= 18) & (key[elder_child[ok]] != key[ok])
    cards = _sample(rng, np.flatnonzero(ok & ~used), counts.get("child_account_on_elderly_parent", 0))
    take(cards, elder_child[cards], "child_account_on_elderly_parent")

    # a parent's account on the children's cards (often the same account on several)
    k = counts.get("parent_account_on_child", 0)
    minors = np.flatnonzero((role == CHILD) & (age < 18) & ~used)
    if k and len(minors):
        hh_ids = np.unique(h[minors])
        parent = np.where((ctx.spouse_of[hh_ids] >= 0) & (rng.random(len(hh_ids)) < 0.5),
                          ctx.spouse_of[hh_ids], ctx.head_of[hh_ids])
        minors = minors[np.argsort(h[minors], kind="stable")]
        lo = np.searchsorted(h[minors], hh_ids, "left")
        hi = np.searchsorted(h[minors], hh_ids, "right")
        chosen_cards: list[int] = []
        chosen_owner: list[int] = []
        for j in rng.permutation(len(hh_ids)).tolist():
            if len(chosen_cards) >= k:
                break
            p = int(parent[j])
            kids = [int(c) for c in minors[lo[j]:hi[j]] if key[c] != key[p]]
            if not kids:
                continue
            if rng.random() < 0.4:
                kids = [kids[int(rng.integers(len(kids)))]]
            kids = kids[: k - len(chosen_cards)]
            chosen_cards += kids
            chosen_owner += [p] * len(kids)
        take(np.array(chosen_cards, dtype=np.int64), np.array(chosen_owner, dtype=np.int64),
             "parent_account_on_child")

    # a married woman's account under her former surname
    maiden = ctx.col("maiden")
    cand = np.flatnonzero((maiden >= 0) & ~foreign & ~used)
    if len(cand):
        fkey = ctx.fam_key[maiden[cand]] + ctx.giv_key[ctx.col("giv")[cand]]
        cand = cand[~pd.Series(fkey).isin(pd.unique(key)).to_numpy()]
    cards = _sample(rng, cand, counts.get("former_surname", 0))
    text = join(ctx.fam_forms.zengin[maiden[cards]], " ", ctx.giv_forms.zengin[ctx.col("giv")[cards]])
    take(cards, cards, "former_surname", _finish_holder(text, rng)[0])

    # the previous visitor's account (support terminal not logged out)
    k = counts.get("previous_visitor", 0)
    cards = _sample(rng, np.flatnonzero(adult & ~used), k)
    unique_key = ~pd.Series(key).duplicated(keep=False).to_numpy()
    visitors = np.flatnonzero(adult & has & unique_key)
    if len(cards) and len(visitors):
        vis = visitors[rng.integers(0, len(visitors), len(cards))]
        bad = (h[vis] == h[cards]) | (key[vis] == key[cards])
        for _ in range(50):
            if not bad.any():
                break
            vis[bad] = visitors[rng.integers(0, len(visitors), int(bad.sum()))]
            bad = (h[vis] == h[cards]) | (key[vis] == key[cards])
        take(cards[~bad], vis[~bad], "previous_visitor")

    # one outsider's account on the cards of 2-3 people in different households
    k = counts.get("nonresident_shared", 0)
    if k:
        sizes: list[int] = []
        while sum(sizes) < k:
            sizes.append(int(rng.integers(2, 4)))
        pool = _sample(rng, np.flatnonzero(adult & ~used), sum(sizes) * 2).tolist()
        shared: list[int] = []
        groups: list[int] = []
        for g, size in enumerate(sizes):
            members: list[int] = []
            while len(members) < size and pool:
                c = int(pool.pop(0))
                if all(h[c] != h[m] for m in members):
                    members.append(c)
            if len(members) >= 2:
                shared += members
                groups += [g] * len(members)
        on = np.array(shared, dtype=np.int64)
        group = np.array(groups, dtype=np.int64)
        outsider = _finish_holder(_outsider_holders(ctx, len(sizes), rng), rng)[0]
        used[on] = True
        rows.add("nonresident_shared", on, ctx.numbers[on], _accounts(len(sizes), rng, existing=acct).iloc[group],
                 outsider[group], -1)

    # a company's account on a personal card
    cards = _sample(rng, np.flatnonzero(adult & ~used), counts.get("corporate_account", 0))
    if len(cards):
        own = rng.random(len(cards)) < 0.5
        fam_idx = np.where(own & ~foreign[cards], ctx.col("fam")[cards],
                           rng.integers(0, ctx.t.n_jp_family, len(cards)))
        names = []
        for f in ctx.fam_forms.zengin[fam_idx].tolist():
            pre, post, trades = CORPORATE[int(rng.integers(len(CORPORATE)))]
            names.append(pre + f + trades[int(rng.integers(len(trades)))] + post)
        used[cards] = True
        rows.add("corporate_account", cards, ctx.numbers[cards],
                 _accounts(len(cards), rng, existing=acct), np.array(names, dtype=object), -1)

    # a mistyped or unknown number on the person's own record; an empty holder name
    for kind in ("check_digit_typo", "unknown_number", "missing_field"):
        cards = _sample(rng, np.flatnonzero(has & ~used), counts.get(kind, 0))
        if not len(cards):
            continue
        used[cards] = True
        if kind == "check_digit_typo":
            numbers = typo_numbers(ctx.numbers[cards], rng)
        elif kind == "unknown_number":
            numbers = unknown_numbers(ctx, len(cards), rng)
        else:
            numbers = ctx.numbers[cards]
        hold = np.full(len(cards), None, dtype=object) if kind == "missing_field" else holder[cards]
        rows.add(kind, cards, numbers, acct.iloc[cards], hold, cards)

    clean = np.flatnonzero(has & ~used)
    base = acct.iloc[clean].reset_index(drop=True)
    base["card"], base["my_number"], base["holder_kana"] = clean, ctx.numbers[clean], holder[clean]
    base["owner"], base["injected"] = clean, clean_label[clean]
    table = pd.concat([base] + rows.parts, ignore_index=True)
    table = table.iloc[rng.permutation(len(table))].reset_index(drop=True)
    table["record_id"] = zero_pad(np.arange(1, len(table) + 1), 7, "B")
    return table[COLUMNS].astype("string"), truth_rows("bank", table, ctx)


def _outsider_holders(ctx: Ctx, k: int, rng: np.random.Generator) -> np.ndarray:
    """Zengin names of ``k`` people who are not in the register (no resident has the reading)."""
    t = ctx.t
    taken = set(ctx.key.tolist())
    out: list[str] = []
    fk, gk = ctx.fam_key.tolist(), ctx.giv_key.tolist()
    while len(out) < k:
        f = int(rng.integers(t.n_jp_family))
        g = int(rng.integers(t.n_jp_given))
        if fk[f] + gk[g] in taken:
            continue
        out.append(ctx.fam_forms.zengin[f] + " " + ctx.giv_forms.zengin[g])
    return np.array(out, dtype=object)


def truth_rows(source: str, table: pd.DataFrame, ctx: Ctx) -> pd.DataFrame:
    """Truth for each row of ``table`` (needs columns record_id, owner, injected)."""
    injected = table["injected"].astype(object)
    status = injected.map({k: v[0] for k, v in EXPECTED.items()}).fillna("ok").to_numpy(dtype=object)
    reasons = injected.map({k: v[1] for k, v in EXPECTED.items()}).fillna("OK").to_numpy(dtype=object)
    injected = injected.to_numpy(dtype=object)
    owner = table["owner"].to_numpy()
    true_owner = np.where(owner >= 0, ctx.numbers[np.clip(owner, 0, None)], None)
    return pd.DataFrame({
        "source": source, "record_id": table["record_id"].to_numpy(), "expected_status": status,
        "expected_reasons": reasons, "true_owner": true_owner, "injected": injected,
    }).astype("string")
