"""Readings of kanji names that the data itself offers.

Kana cannot be derived from kanji (恭子 is キョウコ, タカコ, チカコ …), and
registers often have no kana at all.  Instead of guessing one reading we
collect every (kanji part, kana part) pair the data shows — register rows that
carry kana, insurance records that carry both — into a :class:`Lexicon`, and
fill a resident's missing kana from evidence about *that* person: an insurance
record with the same name and birth date, or household members who share the
surname.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .keycols import factorize_first, positions_in, replace_at
from .normalize import kana as _kana
from .normalize import names


@dataclass(frozen=True)
class Lexicon:
    """Observed (part, kanji key, kana key) triples, strict and loose."""

    strict: pd.Index  # "fam\t佐藤\tサトウ"
    loose: pd.Index
    known: pd.Index  # "fam\t佐藤": kanji parts observed often enough that an unseen reading contradicts
    pairs: pd.DataFrame  # columns part, kanji, kana

    def __len__(self) -> int:
        return len(self.strict)

    def lookup(self, part: str, kanji: np.ndarray, kana: np.ndarray) -> np.ndarray:
        """Grade readings: 0 observed, 1 observed loosely, 2 contradicted (the
        kanji part was seen at least :data:`MIN_OBSERVATIONS` times, never
        with this reading), 3 unknown."""
        out = np.full(len(kanji), 3, dtype=np.int8)
        ok = pd.notna(kanji) & pd.notna(kana)
        if not ok.any():
            return out
        q = pd.Series(kana[ok], dtype=object).astype(str)
        head = f"{part}\t" + pd.Series(kanji[ok], dtype=object).astype(str)
        grade = np.where((head + "\t" + q).isin(self.strict).to_numpy(), 0, 3)
        rest = np.flatnonzero(grade == 3)  # loose readings only for what the strict ones miss
        if len(rest):
            loose_keys = head.iloc[rest] + "\t" + _kana.kana_key_loose(q.iloc[rest]).fillna("").astype(str)
            grade[rest] = np.where(loose_keys.isin(self.loose).to_numpy(), 1,
                                   np.where(head.iloc[rest].isin(self.known).to_numpy(), 2, 3))
        out[ok] = grade
        return out


#: The insurance-record columns :func:`fill_readings` and :func:`build_lexicon`
#: read: selecting just these (``rec.loc[is_insurance, INSURANCE_COLUMNS]``)
#: avoids copying every column of a million records.
INSURANCE_COLUMNS = ["name_key", "birth", "kana_key", "fam_key", "giv_key", "fam_kana", "giv_kana", "kana_loose"]

#: A kanji part must be seen this often before an unseen reading counts against a
#: match: names have readings the data has not shown yet (星南 is セナ or セイナ;
#: 竜也 is タツヤ or リュウヤ).  Given names vary far more than family names.
MIN_OBSERVATIONS = {"fam": 10, "giv": 50}


def _pairs(frame: pd.DataFrame, part: str) -> pd.DataFrame:
    k, q = frame[f"{part}_key"], frame[f"{part}_kana"]
    both = k.notna() & q.notna()
    return pd.DataFrame({"part": part, "kanji": k[both].astype(str), "kana": q[both].astype(str)})


def build_lexicon(*frames: pd.DataFrame) -> Lexicon:
    """Collect the readings shown by prepared residents and insurance records."""
    parts, kanji, kana = [], [], []
    for f in frames:
        if not len(f):
            continue
        for code, part in enumerate(("fam", "giv")):
            k, q = f[f"{part}_key"], f[f"{part}_kana"]
            both = (k.notna() & q.notna()).to_numpy(dtype=bool)
            kanji.append(k[both].reset_index(drop=True))
            kana.append(q[both].reset_index(drop=True))
            parts.append(np.full(int(both.sum()), code, dtype=np.int64))
    part_code = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    kanji_all = pd.concat(kanji, ignore_index=True) if kanji else pd.Series([], dtype="string")
    kana_all = pd.concat(kana, ignore_index=True) if kana else pd.Series([], dtype="string")
    names = np.array(["fam", "giv"], dtype=object)
    kanji_code, kanji_uniq = pd.factorize(kanji_all)
    kana_code, kana_uniq = pd.factorize(kana_all)
    # How often each (part, kanji) was seen, against the part's threshold.
    head_code = kanji_code.astype(np.int64) * 2 + part_code
    seen = np.bincount(head_code, minlength=2 * len(kanji_uniq))
    needed = np.tile([MIN_OBSERVATIONS["fam"], MIN_OBSERVATIONS["giv"]], len(kanji_uniq))
    often = np.flatnonzero((seen >= needed) & (seen > 0))
    kanji_text = np.asarray(kanji_uniq.take(often // 2), dtype=object)
    known = pd.Index(names[often % 2] + "\t" + kanji_text, dtype=object)
    # Distinct readings in order of first occurrence.
    triple = head_code * max(len(kana_uniq), 1) + kana_code
    first = factorize_first(triple)[1]
    pairs = pd.DataFrame({"part": names[part_code[first]],
                          "kanji": kanji_all.take(first).to_numpy(dtype=object),
                          "kana": kana_all.take(first).to_numpy(dtype=object)})
    head = pairs["part"] + "\t" + pairs["kanji"]
    strict = head + "\t" + pairs["kana"]
    loose = head + "\t" + _kana.kana_key_loose(pairs["kana"]).fillna("").astype(str)
    return Lexicon(pd.Index(strict.unique()), pd.Index(loose.unique()), known, pairs)


def _replace(out: pd.DataFrame, original: pd.DataFrame, col: str, pos: np.ndarray, values: object) -> pd.DataFrame:
    """``out`` with ``col`` set to ``values`` at row positions ``pos``; ``original``
    is never changed (its columns are shared, not copied, until replaced)."""
    if out is original:
        out = original.copy(deep=False)
    out[col] = replace_at(out[col], pos, values)
    return out


def _households(residents: pd.DataFrame) -> np.ndarray:
    """Household of each resident as an integer code (-1: none)."""
    return pd.factorize(residents["household"])[0].astype(np.int64)


def _among(codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where the non-negative integer ``codes`` are among ``wanted``."""
    table = np.zeros(int(max(codes.max(initial=-1), wanted.max(initial=-1))) + 1, dtype=bool)
    table[wanted] = True
    return table[codes]


def split_by_household(residents: pd.DataFrame) -> pd.DataFrame:
    """Split unsplit register names (田口蒼) where a household member's family
    name (田口) begins them, for kanji and kana alike, so that the household's
    surname reading and the observed readings of the given name apply."""
    out = residents
    household = _households(residents)
    has_household = household >= 0
    for full, fam, giv, near in (("name_key", "fam_key", "giv_key", "near"), ("kana_key", "fam_kana", "giv_kana", "loose")):
        fam_na = out[fam].isna().to_numpy(dtype=bool)
        need = np.flatnonzero(fam_na & out[full].notna().to_numpy(dtype=bool) & has_household)
        if not len(need):
            continue
        # Family names known in the households that need one.
        kpos = np.flatnonzero(~fam_na & has_household)
        kpos = kpos[_among(household[kpos], household[need])]
        fam_code, fam_names = pd.factorize(out[fam].take(kpos))
        known = pd.DataFrame({"household": household[kpos], "fam": fam_code}).drop_duplicates()
        cand = pd.DataFrame({"pos": need, "household": household[need]}).merge(known, on="household")
        if cand.empty:
            continue
        full_vals = out[full].take(cand["pos"].to_numpy()).to_numpy(dtype=object)
        fam_vals = np.asarray(fam_names, dtype=object)[cand["fam"].to_numpy()]
        starts = np.array([f.startswith(p) and len(f) > len(p) for f, p in zip(full_vals, fam_vals)], dtype=bool)
        cand = pd.DataFrame({"pos": cand["pos"].to_numpy()[starts], "full": full_vals[starts], "fam": fam_vals[starts]})
        if cand.empty:
            continue
        cand = cand.assign(n=cand["fam"].str.len()).sort_values(["pos", "n"], ascending=[True, False])
        cand = cand.drop_duplicates("pos")  # the longest family name that fits
        idx = cand["pos"].to_numpy()
        fam_vals = cand["fam"].to_numpy(dtype=object)
        giv_vals = np.array([f[len(p):] for f, p in zip(cand["full"], fam_vals)], dtype=object)
        out = _replace(out, residents, fam, idx, fam_vals)
        out = _replace(out, residents, giv, idx, giv_vals)
        if near == "near" and "fam_near" in out.columns:
            out = _replace(out, residents, "fam_near", idx,
                           names.name_near_key(pd.Series(fam_vals, dtype=object)).to_numpy())
            out = _replace(out, residents, "giv_near", idx,
                           names.name_near_key(pd.Series(giv_vals, dtype=object)).to_numpy())
        if near == "loose" and "fam_loose" in out.columns:
            out = _replace(out, residents, "fam_loose", idx,
                           _kana.kana_key_loose(pd.Series(fam_vals, dtype=object)).to_numpy())
            out = _replace(out, residents, "giv_loose", idx,
                           _kana.kana_key_loose(pd.Series(giv_vals, dtype=object)).to_numpy())
    return out


def fill_readings(residents: pd.DataFrame, insurance: pd.DataFrame) -> pd.DataFrame:
    """Fill missing register kana from evidence about the same person.

    1. An insurance record with the same name key and birth date carries the
       person's kana (used only when all such records agree on it).
    2. Household members with the same family-name key share its reading.
    ``kana_source`` says where each reading came from.
    """
    out = residents
    need = np.flatnonzero((out["kana_key"].isna() & out["name_key"].notna() & out["birth"].notna()).to_numpy(bool))
    if len(need) and len(insurance):
        found, rows = _insurance_readings(out, need, insurance)
        if len(found):
            for col in ("kana_key", "fam_kana", "giv_kana", "kana_loose"):
                out = _replace(out, residents, col, found, insurance[col].take(rows).reset_index(drop=True))
            out = _replace(out, residents, "kana_source", found, "insurance")
    household = _households(out)
    fam_kana_na = out["fam_kana"].isna().to_numpy(dtype=bool)
    fam_key_ok = out["fam_key"].notna().to_numpy(dtype=bool) & (household >= 0)
    need = np.flatnonzero(fam_kana_na & fam_key_ok)
    if len(need):
        kpos = np.flatnonzero(~fam_kana_na & fam_key_ok)
        kpos = kpos[_among(household[kpos], household[need])]
        # Group by (household, family-name key) over the known rows and the needing rows together.
        fam_code = pd.factorize(out["fam_key"].take(np.concatenate([kpos, need])))[0].astype(np.int64)
        width = int(fam_code.max(initial=0)) + 1
        group = np.concatenate([household[kpos], household[need]]) * width + fam_code
        known_group, need_group = group[: len(kpos)], group[len(kpos):]
        g, first = factorize_first(known_group)
        kana_code = pd.factorize(out["fam_kana"].take(kpos))[0].astype(np.int64)
        distinct = pd.unique(g * (int(kana_code.max(initial=0)) + 1) + kana_code)
        readings = np.bincount(distinct // (int(kana_code.max(initial=0)) + 1), minlength=len(first))
        at = pd.Index(known_group[first]).get_indexer(need_group)
        hit = at >= 0
        hit[hit] = readings[at[hit]] == 1  # the household agrees on one reading
        if hit.any():
            idx = need[hit]
            src = out["kana_source"].iloc[idx]
            out = _replace(out, residents, "fam_kana", idx,
                           out["fam_kana"].take(kpos[first[at[hit]]]).reset_index(drop=True))
            out = _replace(out, residents, "kana_source", idx, src.where(src.notna(), "household").to_numpy())
    return out


def _insurance_readings(residents: pd.DataFrame, need: np.ndarray,
                        insurance: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Residents ``need`` (positions) that an insurance record with the same
    name key and birth date gives kana to — all such records agreeing on it —
    and the first such record of each (positions in ``insurance``)."""
    names_needed = pd.unique(residents["name_key"].take(need))
    ins_name = positions_in(insurance["name_key"], names_needed)
    usable = np.flatnonzero((ins_name >= 0) & (insurance["kana_key"].notna() & insurance["birth"].notna()).to_numpy(
        dtype=bool))
    if not len(usable):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    need_name = positions_in(residents["name_key"].take(need), names_needed)
    births = np.concatenate([insurance["birth"].to_numpy(dtype="datetime64[ns]")[usable],
                             residents["birth"].to_numpy(dtype="datetime64[ns]")[need]]).view(np.int64)
    birth_code = pd.factorize(births)[0].astype(np.int64)
    width = int(birth_code.max(initial=0)) + 1
    ins_key = ins_name[usable] * width + birth_code[: len(usable)]
    need_key = need_name * width + birth_code[len(usable):]
    g, first = factorize_first(ins_key)
    kana_code = pd.factorize(insurance["kana_key"].take(usable))[0].astype(np.int64)
    span = int(kana_code.max(initial=0)) + 1
    kana_count = np.bincount(pd.unique(g * span + kana_code) // span, minlength=len(first))
    at = pd.Index(ins_key[first]).get_indexer(need_key)
    hit = at >= 0
    hit[hit] = kana_count[at[hit]] == 1  # all the person's insurance records agree on the kana
    return need[hit], usable[first[at[hit]]]
