"""Join records to their card holder, the holder's household, and candidates.

Everything returns positional index arrays into the prepared tables, so the
compare stage can grade any pairing with one call.  The owner search only runs
for the records that need it (those not already explained by their holder).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: At most this many candidates are graded per record; beyond it a name is too
#: common for the search to single anyone out.
MAX_CANDIDATES = 64


def holder_positions(records: pd.DataFrame, residents: pd.DataFrame) -> np.ndarray:
    """Position of each record's card holder in ``residents`` (−1 when the
    number is invalid or not in the register).  A number registered twice
    resolves to its first row."""
    numbers = residents["number"].to_numpy(dtype=object, na_value=None)
    pos = pd.Series(np.arange(len(residents)), index=numbers)
    pos = pos[pd.notna(pos.index) & ~pos.index.duplicated()]
    out = records["number"].map(pos)
    return out.fillna(-1).to_numpy(dtype=np.int64)


def household_pairs(xi: np.ndarray, holder: np.ndarray, residents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(record, member) pairs: every *other* member of each holder's household."""
    if len(xi) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    hh = residents["household"].to_numpy(dtype=object, na_value=None)
    left = pd.DataFrame({"x": xi, "h": holder, "household": hh[holder]}).dropna(subset=["household"])
    members = pd.DataFrame({"r": np.arange(len(residents)), "household": hh}).dropna(subset=["household"])
    pairs = left.merge(members, on="household")
    pairs = pairs[pairs["r"] != pairs["h"]]
    return pairs["x"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)


def _merge_on(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray, cols: list[str]) -> pd.DataFrame:
    left = records.iloc[xi][cols].assign(x=xi).dropna(subset=cols)
    if left.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    right = residents[cols].assign(r=np.arange(len(residents))).dropna(subset=cols)
    return left.merge(right, on=cols)[["x", "r"]]


def candidate_pairs(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray,
                    lexicon_pairs: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(record, resident) pairs of residents who could own each record.

    Searched by the full kanji/alphabet name key, the strict and loose kana
    keys, and — for residents without kana — by kanji names whose observed
    readings (``lexicon_pairs``: part, kanji, kana) give the record's kana.
    """
    found = [
        _merge_on(records, residents, xi, ["name_key"]),
        _merge_on(records, residents, xi, ["kana_key"]),
        _merge_on(records, residents, xi, ["kana_loose"]),
    ]
    if lexicon_pairs is not None and len(lexicon_pairs):
        found.append(_reading_candidates(records, residents, xi, lexicon_pairs))
    pairs = pd.concat(found, ignore_index=True).drop_duplicates()
    if pairs.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    counts = pairs.groupby("x")["r"].transform("size")
    pairs = pairs[counts <= MAX_CANDIDATES]
    return pairs["x"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)


def _reading_candidates(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray,
                        lexicon_pairs: pd.DataFrame) -> pd.DataFrame:
    rec = records.iloc[xi][["fam_kana", "giv_kana"]].assign(x=xi).dropna()
    if rec.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    fam = lexicon_pairs[lexicon_pairs["part"] == "fam"].rename(columns={"kanji": "fam_key", "kana": "fam_kana"})
    giv = lexicon_pairs[lexicon_pairs["part"] == "giv"].rename(columns={"kanji": "giv_key", "kana": "giv_kana"})
    spelled = rec.merge(fam[["fam_key", "fam_kana"]], on="fam_kana").merge(giv[["giv_key", "giv_kana"]], on="giv_kana")
    if spelled.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    right = residents[["fam_key", "giv_key"]].assign(r=np.arange(len(residents))).dropna()
    return spelled[["x", "fam_key", "giv_key"]].merge(right, on=["fam_key", "giv_key"])[["x", "r"]]


def shared_accounts(records: pd.DataFrame) -> pd.Series:
    """For each record, how many distinct card numbers carry its account (0 when
    the record has no account)."""
    acct = records["account"]
    has = acct.notna() & records["number"].notna()
    n = records[has].groupby("account")["number"].nunique()
    return acct.map(n).fillna(0).astype(np.int64)


def own_account(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """True where resident ``ri`` has the account of record ``xi`` registered on
    their own card too (strong evidence they own it)."""
    if len(xi) == 0:
        return np.zeros(0, dtype=bool)
    bank = records.loc[records["account"].notna() & records["number"].notna(), ["account", "number"]]
    owned = pd.Index((bank["account"] + "#" + bank["number"]).unique())
    acct = records["account"].to_numpy(dtype=object, na_value=None)[xi]
    num = residents["number"].to_numpy(dtype=object, na_value=None)[ri]
    keys = pd.Series([f"{a}#{n}" if a is not None and n is not None else "" for a, n in zip(acct, num)])
    return keys.isin(owned).to_numpy()
