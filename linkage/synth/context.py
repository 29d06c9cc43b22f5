"""Per-person facts shared by the register, bank and insurance renderers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.normalize.kana import kana_key

from .people import HEAD, SPOUSE, ADULT_CHILD, age_years, number_text
from .render import Forms, name_forms, variant_spelling
from .sources import Tables, tables, variant_map

P_FAMILY_VARIANT = 0.12   # households whose surname could be written with an old/variant glyph
P_GIVEN_VARIANT = 0.02
P_IVS = 0.003             # surname with an ideographic variation selector on the register
IVS = "\U000E0100"


@dataclass
class Ctx:
    """Canonical people plus the derived arrays every source needs."""

    t: Tables
    households: pd.DataFrame
    people: pd.DataFrame
    fam_forms: Forms
    giv_forms: Forms
    vmap: dict[str, tuple[str, ...]]
    numbers: np.ndarray      # 12-digit text per person
    age: np.ndarray
    fam_std: np.ndarray      # standard kanji (alphabet for foreign residents)
    giv_std: np.ndarray
    fam_reg: np.ndarray      # as written on the register (old/variant glyphs)
    giv_reg: np.ndarray
    key: np.ndarray          # strict kana key of the full reading (family + given)
    fam_key: np.ndarray      # strict kana key per family-name pool entry
    giv_key: np.ndarray      # strict kana key per given-name pool entry
    head_of: np.ndarray      # household → person index of the head
    spouse_of: np.ndarray    # household → spouse or -1
    adult_child_of: np.ndarray  # household → adult child (elder_with_child) or -1
    reg_kana_empty: np.ndarray | None = None  # set when the register is rendered
    number_range: tuple[int, int] = (1, 10**11)  # bodies of this world's My Numbers (see generate_world's part)

    @property
    def n(self) -> int:
        return len(self.people)

    @property
    def variant(self) -> np.ndarray:
        return (self.fam_reg != self.fam_std) | (self.giv_reg != self.giv_std)

    def col(self, name: str) -> np.ndarray:
        return self.people[name].to_numpy()


def _by_household(people: pd.DataFrame, n_households: int, role: int) -> np.ndarray:
    out = np.full(n_households, -1, dtype=np.int64)
    rows = np.flatnonzero(people["role"].to_numpy() == role)
    out[people["household"].to_numpy()[rows]] = rows
    return out


def build_context(households: pd.DataFrame, people: pd.DataFrame, rng: np.random.Generator) -> Ctx:
    """Register spellings (variant glyphs), kana keys and household lookups."""
    t = tables()
    fam_forms, giv_forms = name_forms()
    vmap = variant_map()
    fam, giv = people["fam"].to_numpy(), people["giv"].to_numpy()
    h = people["household"].to_numpy()
    foreign = people["foreign"].to_numpy()
    fam_std, giv_std = fam_forms.kanji[fam], giv_forms.kanji[giv]
    fam_reg, giv_reg = fam_std.copy(), giv_std.copy()

    # old/variant glyphs: a household's surname as on its koseki; some given names
    surname = households["surname"].to_numpy()
    jp_h = ~households["foreign"].to_numpy()
    hh_variant = np.full(len(households), None, dtype=object)
    if vmap:
        eligible = np.zeros(len(t.family), bool)
        eligible[: t.n_jp_family] = [any(c in vmap for c in k) for k in t.family.kanji[: t.n_jp_family]]
        chosen = np.flatnonzero(jp_h & eligible[surname] & (rng.random(len(households)) < P_FAMILY_VARIANT))
        for i in chosen.tolist():
            hh_variant[i] = variant_spelling(t.family.kanji[surname[i]], vmap, rng)
    ivs = np.flatnonzero(jp_h & (hh_variant == None) & (rng.random(len(households)) < P_IVS))  # noqa: E711
    for i in ivs.tolist():
        k = t.family.kanji[surname[i]]
        hh_variant[i] = k[0] + IVS + k[1:]
    own = (fam == surname[h]) & (hh_variant[h] != None)  # noqa: E711
    fam_reg[own] = hh_variant[h[own]]
    if vmap:
        g_ok = np.array([any(c in vmap for c in k) for k in giv_forms.kanji.tolist()])
        gv = np.flatnonzero(~foreign & g_ok[giv] & (rng.random(len(people)) < P_GIVEN_VARIANT))
        for i in gv.tolist():
            giv_reg[i] = variant_spelling(giv_std[i], vmap, rng)

    fkey = kana_key(pd.Series(fam_forms.kata, dtype=object)).fillna("").astype(object).to_numpy()
    gkey = kana_key(pd.Series(giv_forms.kata, dtype=object)).fillna("").astype(object).to_numpy()
    return Ctx(
        t=t, households=households, people=people, fam_forms=fam_forms, giv_forms=giv_forms, vmap=vmap,
        numbers=number_text(people["number"].to_numpy()), age=age_years(people["birth"].to_numpy()),
        fam_std=fam_std, giv_std=giv_std, fam_reg=fam_reg, giv_reg=giv_reg, key=fkey[fam] + gkey[giv],
        fam_key=fkey, giv_key=gkey,
        head_of=_by_household(people, len(households), HEAD),
        spouse_of=_by_household(people, len(households), SPOUSE),
        adult_child_of=_by_household(people, len(households), ADULT_CHILD),
    )
