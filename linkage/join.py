"""Join records to their card holder, the holder's household, and candidates.

Everything returns positional index arrays into the prepared tables, so the
compare stage can grade any pairing with one call.  The owner search only runs
for the records that need it (those not already explained by their holder).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .keycols import arrow_strings, isin, positions_in

#: At most this many candidates are graded per record; beyond it a name is too
#: common for the search to single anyone out.
MAX_CANDIDATES = 64


def _number_codes(numbers: pd.Series) -> np.ndarray | None:
    """12-digit numbers as int64 (-1 where missing), or None when some value
    is not 12 ASCII digits."""
    arr = numbers.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        text = arr.__arrow_array__()
    else:
        raw = np.asarray(arr, dtype=object) if isinstance(arr, pd.arrays.StringArray) else numbers.to_numpy(
            dtype=object, na_value=None)
        try:
            text = pa.array(raw, type=pa.string(), from_pandas=True)
        except (pa.ArrowException, UnicodeEncodeError):
            return None
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    twelve_digits = pc.and_(pc.equal(pc.binary_length(text), 12), pc.ascii_is_decimal(text))
    if not pc.all(twelve_digits).as_py() in (True, None):
        return None
    return pc.cast(text, pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def holder_positions(records: pd.DataFrame, residents: pd.DataFrame) -> np.ndarray:
    """Position of each record's card holder in ``residents`` (−1 when the
    number is invalid or not in the register).  A number registered twice
    resolves to its first row."""
    reg, linked = _number_codes(residents["number"]), _number_codes(records["number"])
    if reg is None or linked is None:  # numbers not from the normaliser: match them as text
        numbers = residents["number"].to_numpy(dtype=object, na_value=None)
        pos = pd.Series(np.arange(len(residents)), index=numbers)
        pos = pos[pd.notna(pos.index) & ~pos.index.duplicated()]
        return records["number"].map(pos).fillna(-1).to_numpy(dtype=np.int64)
    first = np.flatnonzero((reg >= 0) & ~pd.Index(reg).duplicated())  # a number's first row
    found = pd.Index(reg[first]).get_indexer(linked)
    return np.where((found >= 0) & (linked >= 0), first[found], -1).astype(np.int64)


def household_pairs(xi: np.ndarray, holder: np.ndarray, residents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(record, member) pairs: every *other* member of each holder's household."""
    if len(xi) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    # Households as integers: positions among the holders' households (-1: another or none).
    household = residents["household"]
    wanted = household.take(holder)
    among = pd.unique(wanted.dropna().to_numpy(dtype=object))
    left_code, code = positions_in(wanted, among), positions_in(household, among)
    left = pd.DataFrame({"x": xi, "h": holder, "household": left_code})[left_code >= 0]
    members = np.flatnonzero(code >= 0)
    pairs = left.merge(pd.DataFrame({"r": members, "household": code[members]}), on="household")
    pairs = pairs[pairs["r"] != pairs["h"]]
    return pairs["x"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)


def _rows(frame: pd.DataFrame, pos: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """Columns ``cols`` of ``frame`` at row positions ``pos`` (only those columns are taken)."""
    return pd.DataFrame({c: frame[c].take(pos).to_numpy() for c in cols})


def _merge_on(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray, cols: list[str]) -> pd.DataFrame:
    left = _rows(records, xi, cols).assign(x=xi).dropna(subset=cols)
    if left.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    return _join_codes(left, residents, cols)[["x", "r"]]


def _join_codes(left: pd.DataFrame, residents: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """``left.merge(residents, on=cols)`` (inner, the residents' positions as
    ``r``) on integer codes: the keys are looked up among the left's distinct
    ones, so each resident key is hashed once and never copied."""
    left_code = np.zeros(len(left), dtype=np.int64)
    right_code = np.zeros(len(residents), dtype=np.int64)
    for c in cols:
        among = pd.unique(left[c].to_numpy(dtype=object))
        found = positions_in(residents[c], among)
        right_code = np.where((right_code >= 0) & (found >= 0), right_code * len(among) + found, -1)
        left_code = left_code * len(among) + pd.Index(among).get_indexer(left[c].to_numpy(dtype=object))
    pos = np.flatnonzero(right_code >= 0)
    right = pd.DataFrame({"_code": right_code[pos], "r": pos})
    return left.assign(_code=left_code).merge(right, on="_code").drop(columns="_code")


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
    x = np.concatenate([f["x"].to_numpy(np.int64) for f in found])
    r = np.concatenate([f["r"].to_numpy(np.int64) for f in found])
    first = ~pd.Series(x * max(len(residents), 1) + r).duplicated().to_numpy()  # each pair once, first kept
    x, r = x[first], r[first]
    if not len(x):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    keep = np.bincount(x)[x] <= MAX_CANDIDATES
    return x[keep], r[keep]


def _reading_candidates(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray,
                        lexicon_pairs: pd.DataFrame) -> pd.DataFrame:
    rec = _rows(records, xi, ["fam_kana", "giv_kana"]).assign(x=xi).dropna()
    if rec.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    fam = lexicon_pairs[lexicon_pairs["part"] == "fam"].rename(columns={"kanji": "fam_key", "kana": "fam_kana"})
    giv = lexicon_pairs[lexicon_pairs["part"] == "giv"].rename(columns={"kanji": "giv_key", "kana": "giv_kana"})
    spelled = rec.merge(fam[["fam_key", "fam_kana"]], on="fam_kana").merge(giv[["giv_key", "giv_kana"]], on="giv_kana")
    if spelled.empty:
        return pd.DataFrame({"x": [], "r": []}, dtype=np.int64)
    return _join_codes(spelled[["x", "fam_key", "giv_key"]], residents, ["fam_key", "giv_key"])[["x", "r"]]


def shared_accounts(records: pd.DataFrame) -> pd.Series:
    """For each record, how many distinct card numbers carry its account (0 when
    the record has no account)."""
    account, _ = pd.factorize(records["account"])
    has = np.flatnonzero(account >= 0)
    out = np.zeros(len(records), dtype=np.int64)
    if len(has):
        numbers = records["number"].take(has)
        digits = _number_codes(numbers)
        number, _ = pd.factorize(digits if digits is not None else numbers)
        number = np.where(digits == -1, -1, number) if digits is not None else number
        both = number >= 0
        span = int(number.max(initial=0)) + 1
        pairs = pd.unique(account[has][both].astype(np.int64) * span + number[both])
        per_account = np.bincount(pairs // span, minlength=int(account.max()) + 1)
        out[has] = per_account[account[has]]
    return pd.Series(out, index=records.index, name="account")


def own_account(records: pd.DataFrame, residents: pd.DataFrame, xi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """True where resident ``ri`` has the account of record ``xi`` registered on
    their own card too (strong evidence they own it)."""
    if len(xi) == 0:
        return np.zeros(0, dtype=bool)
    acct = records["account"].take(xi)
    has = np.flatnonzero(acct.notna().to_numpy(dtype=bool))  # only bank records have an account
    out = np.zeros(len(xi), dtype=bool)
    if not len(has):
        return out
    acct = acct.iloc[has].reset_index(drop=True)
    num = residents["number"].take(ri[has]).reset_index(drop=True)
    # The (account, card number) registrations of the accounts asked about.
    asked = np.flatnonzero(isin(records["account"], acct) & records["number"].notna().to_numpy(dtype=bool))
    owned = _joined(records["account"].take(asked), records["number"].take(asked))
    out[has] = isin(_joined(acct, num), owned)
    return out


def _joined(account: pd.Series, number: pd.Series) -> pd.Series:
    """``account#number`` (missing where either is)."""
    a, n = arrow_strings(account), arrow_strings(number)
    if a is not None and n is not None:
        text = pc.binary_join_element_wise(a.cast(pa.large_string()), n.cast(pa.large_string()),
                                           pa.scalar("#", pa.large_string()))
        return pd.Series(pd.arrays.ArrowStringArray(text))
    return (account.astype("string").reset_index(drop=True) + "#"
            + number.astype("string").reset_index(drop=True))
