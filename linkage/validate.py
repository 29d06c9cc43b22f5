"""Find the records that cannot be judged, and say why.

Nothing is dropped: an unreadable row becomes an ``invalid`` finding
(``INVALID_MY_NUMBER`` or ``BAD_RECORD`` naming the field and input row).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .normalize import dates, number

#: Birth dates before this are treated as typing errors, not people.
EARLIEST_BIRTH = pd.Timestamp("1868-01-25")
#: Longest value accepted in a checked text field: longer ones are broken exports.
MAX_FIELD_CHARS = 1_000
#: Characters no real value holds: C0/C1 controls (not tab or line breaks), DEL,
#: and U+FFFD, which marks bytes lost in decoding (the reader puts it for NUL).
GARBLED = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffd]"


def garbled(values: pd.Series) -> np.ndarray:
    """True where a text value holds control characters or U+FFFD, or is
    longer than ``MAX_FIELD_CHARS`` (bool array; missing values are False)."""
    v = values.astype("string")
    codes, uniques = pd.factorize(v, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.zeros(len(v), dtype=bool)
    u = pd.Series(uniques, dtype="string")
    bad = (u.str.contains(GARBLED, regex=True) | (u.str.len() > MAX_FIELD_CHARS)).fillna(False)
    flags = np.append(bad.to_numpy(dtype=bool), False)  # code -1 (missing) is not garbled
    return flags[codes]


def number_problems(records: pd.DataFrame) -> np.ndarray:
    """Why each record's My Number is unusable (object array, None when valid)."""
    raw = records["my_number"]
    # The normalise stage already checked every number (linkage.normalize.tables).
    known = records["number_reason"] if "number_reason" in records.columns else None
    reason = (known if known is not None else number.my_number_reason(raw)).astype(object)
    empty = raw.isna() | (raw.astype("string").str.strip() == "")
    reason = reason.where(~empty, "missing")
    return reason.to_numpy(dtype=object, na_value=None)


def record_problems(records: pd.DataFrame, today: pd.Timestamp | None = None) -> np.ndarray:
    """The first unusable required field of each record, coded
    ``problem|field|row|detail`` (object array, None when the record can be
    judged).  ``linkage.evidence.problem_words`` turns a code into words."""
    n = len(records)
    out = np.full(n, None, dtype=object)
    row = records["_row"].to_numpy() if "_row" in records.columns else np.arange(2, n + 2)
    source = records["source"].to_numpy(dtype=object)
    today = today or pd.Timestamp.today().normalize()

    def blank(col: str) -> np.ndarray:
        if col not in records.columns:
            return np.ones(n, dtype=bool)
        v = records[col].astype("string").str.strip()
        return (v.isna() | (v == "")).to_numpy(dtype=bool)

    def unreadable(col: str) -> np.ndarray:
        if col not in records.columns:
            return np.zeros(n, dtype=bool)
        return garbled(records[col])

    # Problems are coded "problem|field|row|detail"; linkage.evidence words them.
    # Earlier checks win: a record is reported with its first problem.
    checks: list[tuple[np.ndarray, object]] = [(blank("record_id"), "empty|record_id")]
    checks.append((unreadable("record_id"), "unreadable|record_id"))
    bank = source == "bank"
    ins = source == "insurance"
    checks.append((bank & blank("holder_kana"), "empty|holder_kana"))
    checks.append((bank & unreadable("holder_kana"), "unreadable|holder_kana"))
    checks.append((ins & blank("name") & blank("name_kana"), "empty|name"))
    checks.append((ins & unreadable("name"), "unreadable|name"))
    checks.append((ins & unreadable("name_kana"), "unreadable|name_kana"))
    no_birth = blank("birth_date")
    checks.append((ins & no_birth, "empty|birth_date"))
    if "birth_date" in records.columns:
        birth = records["birth"] if "birth" in records.columns else dates.birth_date(records["birth_date"])
        checks.append((ins & ~no_birth & birth.isna().to_numpy(), "unreadable|birth_date"))
        checks.append((ins & (birth > today).fillna(False).to_numpy(dtype=bool), "future|birth_date"))
        checks.append((ins & (birth < EARLIEST_BIRTH).fillna(False).to_numpy(dtype=bool), "ancient|birth_date"))
    if "sex_reason" in records.columns:  # a present value that is not a JIS X 0303 code or 男/女/M/F
        checks.append((ins & records["sex_reason"].notna().to_numpy(dtype=bool), "unreadable|sex"))
    if "_duplicate_of" in records.columns:
        dup = records["_duplicate_of"].notna().to_numpy(dtype=bool)
        first = records["_duplicate_of"].to_numpy(dtype=object, na_value=None)
        checks.append((dup, np.array([f"duplicate|record_id|{{row}}|{f}" for f in first], dtype=object)))
    for mask, message in reversed(checks):
        out = np.where(mask, message, out)
    has = out != None  # noqa: E711
    out[has] = [f"{code.split('|{row}|')[0]}|{r}|{code.split('|{row}|')[1]}" if "|{row}|" in code else f"{code}|{r}|"
                for code, r in zip(out[has], row[has])]
    return out


def mark_duplicate_ids(records: pd.DataFrame) -> pd.DataFrame:
    """Rows repeating an earlier ``record_id`` of the same source get a unique
    id (``B001#row17``) and ``_duplicate_of`` (the first row), so that
    ``(source, record_id)`` stays unique in the findings and nothing is lost."""
    rid = records["record_id"].astype("string").str.strip()
    dup = rid.notna() & records.assign(_rid=rid).duplicated(["source", "_rid"], keep="first")
    out = records.copy()
    out["record_id"] = rid
    out["_duplicate_of"] = pd.Series(pd.NA, index=records.index, dtype="object")
    if dup.any():
        first_row = (records.assign(_rid=rid)[~dup].drop_duplicates(["source", "_rid"])
                     .set_index(["source", "_rid"])["_row"])
        keys = pd.MultiIndex.from_arrays([records.loc[dup, "source"], rid[dup]])
        out.loc[dup, "_duplicate_of"] = first_row.reindex(keys).to_numpy()
        out.loc[dup, "record_id"] = rid[dup] + "#row" + records.loc[dup, "_row"].astype(str)
    missing = rid.isna()
    if missing.any():
        out.loc[missing, "record_id"] = "(row " + records.loc[missing, "_row"].astype(str) + ")"
    return out


def duplicate_numbers(residents: pd.DataFrame) -> pd.DataFrame:
    """Register rows whose My Number repeats an earlier row's.

    The audit takes the first row as the card holder (``join.holder_positions``);
    the later ones are listed here so that the run can say so.  Returns one row
    per later duplicate: ``position`` (0-based), ``row`` (its ``_row``),
    ``first_position`` and ``first_row`` (the row that wins).  Numbers are compared normalised
    (``number`` column when present) and never returned.
    """
    if "number" in residents.columns:
        numbers = residents["number"].astype("string")
    else:
        numbers = number.my_number(residents["my_number"])
    n = len(residents)
    rows = residents["_row"].to_numpy(dtype=np.int64) if "_row" in residents.columns else np.arange(2, n + 2)
    valid = numbers.notna().to_numpy(dtype=bool)
    dup = numbers.duplicated(keep="first").to_numpy(dtype=bool) & valid
    pos = np.flatnonzero(dup)
    codes = pd.factorize(numbers)[0]
    first_pos = pd.Series(np.arange(n)[valid], index=codes[valid]).groupby(level=0).first()
    first = first_pos.reindex(codes[pos]).to_numpy(dtype=np.int64) if len(pos) else np.empty(0, dtype=np.int64)
    return pd.DataFrame({
        "position": pos.astype(np.int64),
        "row": rows[pos],
        "first_position": first,
        "first_row": rows[first],
    })
