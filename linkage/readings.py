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
        strict_keys = head + "\t" + q
        loose_keys = head + "\t" + _kana.kana_key_loose(q).fillna("").astype(str)
        grade = np.select(
            [strict_keys.isin(self.strict), loose_keys.isin(self.loose), head.isin(self.known)],
            [0, 1, 2],
            3,
        )
        out[ok] = grade
        return out


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
    rows = [_pairs(f, part) for f in frames for part in ("fam", "giv") if len(f)]
    observed = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["part", "kanji", "kana"])
    seen = (observed["part"] + "\t" + observed["kanji"]).value_counts()
    needed = seen.index.str.split("\t").str[0].map(MIN_OBSERVATIONS).to_numpy()
    pairs = observed.drop_duplicates().reset_index(drop=True)
    head = pairs["part"] + "\t" + pairs["kanji"]
    strict = head + "\t" + pairs["kana"]
    loose = head + "\t" + _kana.kana_key_loose(pairs["kana"]).fillna("").astype(str)
    known = pd.Index(seen.index[seen.to_numpy() >= needed])
    return Lexicon(pd.Index(strict.unique()), pd.Index(loose.unique()), known, pairs)


def split_by_household(residents: pd.DataFrame) -> pd.DataFrame:
    """Split unsplit register names (田口蒼) where a household member's family
    name (田口) begins them, for kanji and kana alike, so that the household's
    surname reading and the observed readings of the given name apply."""
    out = residents
    for full, fam, giv, near in (("name_key", "fam_key", "giv_key", "near"), ("kana_key", "fam_kana", "giv_kana", "loose")):
        need = out[fam].isna() & out[full].notna() & out["household"].notna()
        if not need.any():
            continue
        known = out.loc[out[fam].notna() & out["household"].notna(), ["household", fam]].drop_duplicates()
        cand = out.loc[need, ["household", full]].reset_index().merge(known, on="household")
        starts = [f.startswith(p) and len(f) > len(p) for f, p in zip(cand[full], cand[fam])]
        cand = cand[np.array(starts, dtype=bool)]
        if cand.empty:
            continue
        cand = cand.assign(n=cand[fam].str.len()).sort_values(["index", "n"], ascending=[True, False])
        cand = cand.drop_duplicates("index")  # the longest family name that fits
        idx = cand["index"].to_numpy()
        fam_vals = cand[fam].to_numpy(dtype=object)
        giv_vals = np.array([f[len(p):] for f, p in zip(cand[full], fam_vals)], dtype=object)
        if out is residents:
            out = residents.copy()
        out.loc[idx, fam] = fam_vals
        out.loc[idx, giv] = giv_vals
        if near == "near" and "fam_near" in out.columns:
            out.loc[idx, "fam_near"] = names.name_near_key(pd.Series(fam_vals, dtype=object)).to_numpy()
            out.loc[idx, "giv_near"] = names.name_near_key(pd.Series(giv_vals, dtype=object)).to_numpy()
        if near == "loose" and "fam_loose" in out.columns:
            out.loc[idx, "fam_loose"] = _kana.kana_key_loose(pd.Series(fam_vals, dtype=object)).to_numpy()
            out.loc[idx, "giv_loose"] = _kana.kana_key_loose(pd.Series(giv_vals, dtype=object)).to_numpy()
    return out


def fill_readings(residents: pd.DataFrame, insurance: pd.DataFrame) -> pd.DataFrame:
    """Fill missing register kana from evidence about the same person.

    1. An insurance record with the same name key and birth date carries the
       person's kana (used only when all such records agree on it).
    2. Household members with the same family-name key share its reading.
    ``kana_source`` says where each reading came from.
    """
    out = residents
    need = out["kana_key"].isna() & out["name_key"].notna() & out["birth"].notna()
    if need.any() and len(insurance):
        ins = insurance.loc[
            insurance["kana_key"].notna() & insurance["name_key"].notna() & insurance["birth"].notna(),
            ["name_key", "birth", "kana_key", "fam_kana", "giv_kana", "kana_loose"],
        ]
        agree = ins.groupby(["name_key", "birth"])["kana_key"].transform("nunique") == 1
        ins = ins[agree].drop_duplicates(["name_key", "birth"])
        found = out.loc[need, ["name_key", "birth"]].reset_index().merge(ins, on=["name_key", "birth"])
        if len(found):
            idx = found["index"].to_numpy()
            out = out.copy()
            for col in ("kana_key", "fam_kana", "giv_kana", "kana_loose"):
                out.loc[idx, col] = found[col].to_numpy()
            out.loc[idx, "kana_source"] = "insurance"
    need = out["fam_kana"].isna() & out["fam_key"].notna() & out["household"].notna()
    if need.any():
        known = out.loc[out["fam_kana"].notna() & out["fam_key"].notna() & out["household"].notna(),
                        ["household", "fam_key", "fam_kana"]]
        unique = known.groupby(["household", "fam_key"])["fam_kana"].agg(["nunique", "first"])
        unique = unique[unique["nunique"] == 1]["first"].rename("hh_kana").reset_index()
        found = out.loc[need, ["household", "fam_key"]].reset_index().merge(unique, on=["household", "fam_key"])
        if len(found):
            out = out.copy() if out is residents else out
            idx = found["index"].to_numpy()
            out.loc[idx, "fam_kana"] = found["hh_kana"].to_numpy()
            src = out.loc[idx, "kana_source"]
            out.loc[idx, "kana_source"] = src.where(src.notna(), "household")
    return out
