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

    # Problems are coded "problem|field|row|detail"; linkage.evidence words them.
    checks: list[tuple[np.ndarray, object]] = [(blank("record_id"), "empty|record_id")]
    bank = source == "bank"
    ins = source == "insurance"
    checks.append((bank & blank("holder_kana"), "empty|holder_kana"))
    checks.append((ins & blank("name") & blank("name_kana"), "empty|name"))
    no_birth = blank("birth_date")
    checks.append((ins & no_birth, "empty|birth_date"))
    if "birth_date" in records.columns:
        birth = records["birth"] if "birth" in records.columns else dates.birth_date(records["birth_date"])
        checks.append((ins & ~no_birth & birth.isna().to_numpy(), "unreadable|birth_date"))
        checks.append((ins & (birth > today).fillna(False).to_numpy(dtype=bool), "future|birth_date"))
        checks.append((ins & (birth < EARLIEST_BIRTH).fillna(False).to_numpy(dtype=bool), "ancient|birth_date"))
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
