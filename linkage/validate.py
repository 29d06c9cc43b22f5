"""Find the records that cannot be judged, and say why.

Nothing is dropped: an unreadable row becomes an ``invalid`` finding
(``INVALID_MY_NUMBER`` or ``BAD_RECORD`` naming the field and input row).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .keycols import factorize_first
from .normalize import dates, number
from .read import SPACE_RE2

#: Birth dates before this are treated as typing errors, not people.
EARLIEST_BIRTH = pd.Timestamp("1868-01-25")
#: Longest value accepted in a checked text field: longer ones are broken exports.
MAX_FIELD_CHARS = 1_000
#: Characters no real value holds: C0/C1 controls (not tab or line breaks), DEL,
#: and U+FFFD, which marks bytes lost in decoding (the reader puts it for NUL).
GARBLED = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffd]"


#: ``GARBLED`` and the characters ``str.strip()`` removes (``str.isspace``), for
#: Arrow's RE2 engine, so that whole columns are checked without a Python call
#: per value.
_GARBLED_RE2 = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{84}\x{86}-\x{9f}\x{fffd}]"
_BLANK_RE2 = f"^[{SPACE_RE2}]*$"
_EDGE_SPACE_RE2 = f"^[{SPACE_RE2}]|[{SPACE_RE2}]$"


def _arrow_text(values: pd.Series) -> pa.ChunkedArray | None:
    """A text column as Arrow strings (values that are not text as ``str``
    gives them), or None when some value has no UTF-8 form."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    arr = values.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        data = arr.__arrow_array__()
        return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])
    raw = np.asarray(arr, dtype=object) if isinstance(arr, pd.arrays.StringArray) else values.to_numpy(
        dtype=object, na_value=None)
    try:
        return pa.chunked_array([pa.array(raw, type=pa.large_string(), from_pandas=True)])
    except (pa.ArrowException, UnicodeEncodeError):
        return None


def _matches(text: pa.ChunkedArray, pattern: str) -> np.ndarray:
    """Where ``text`` matches the RE2 ``pattern`` (False where missing)."""
    hit = pc.match_substring_regex(text, pattern=pattern).fill_null(False)
    return hit.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def garbled(values: pd.Series, text: pa.ChunkedArray | None = None) -> np.ndarray:
    """True where a text value holds control characters or U+FFFD, or is
    longer than ``MAX_FIELD_CHARS`` (bool array; missing values are False).
    ``text``: the values as Arrow strings, when already at hand."""
    text = _arrow_text(values) if text is None else text
    if text is not None:
        long = pc.greater(pc.utf8_length(text), MAX_FIELD_CHARS).fill_null(False)
        return _matches(text, _GARBLED_RE2) | long.to_numpy(zero_copy_only=False).astype(bool, copy=False)
    v = values.astype("string")
    codes, uniques = pd.factorize(v, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.zeros(len(v), dtype=bool)
    u = pd.Series(uniques, dtype="string")
    bad = (u.str.contains(GARBLED, regex=True) | (u.str.len() > MAX_FIELD_CHARS)).fillna(False)
    flags = np.append(bad.to_numpy(dtype=bool), False)  # code -1 (missing) is not garbled
    return flags[codes]


def blank(values: pd.Series, text: pa.ChunkedArray | None = None) -> np.ndarray:
    """True where a value is missing or only whitespace (``str.strip()`` leaves
    nothing).  ``text``: the values as Arrow strings, when already at hand."""
    text = _arrow_text(values) if text is None else text
    if text is not None:
        return text.is_null().to_numpy(zero_copy_only=False).astype(bool) | _matches(text, _BLANK_RE2)
    v = values.astype("string").str.strip()
    return (v.isna() | (v == "")).to_numpy(dtype=bool)


def strip(values: pd.Series) -> pd.Series:
    """``values.astype("string").str.strip()``, with Python called only for the
    values that start or end with whitespace (Arrow-backed text stays Arrow-backed)."""
    v = values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")
    text = _arrow_text(v)
    if text is None:
        return v.str.strip()
    edge = np.flatnonzero(_matches(text, _EDGE_SPACE_RE2))
    if len(edge):
        v = v.copy()
        v.iloc[edge] = v.iloc[edge].str.strip()
    return v


def number_problems(records: pd.DataFrame) -> np.ndarray:
    """Why each record's My Number is unusable (object array, None when valid)."""
    raw = records["my_number"]
    # The normalise stage already checked every number (linkage.normalize.tables).
    known = records["number_reason"] if "number_reason" in records.columns else None
    reason = (known if known is not None else number.my_number_reason(raw)).to_numpy(dtype=object, na_value=None)
    reason[blank(raw)] = "missing"
    return reason


def record_problems(records: pd.DataFrame, today: pd.Timestamp | None = None) -> np.ndarray:
    """The first unusable required field of each record, coded
    ``problem|field|row|detail`` (object array, None when the record can be
    judged).  ``linkage.evidence.problem_words`` turns a code into words."""
    n = len(records)
    out = np.full(n, None, dtype=object)
    row = records["_row"].to_numpy() if "_row" in records.columns else np.arange(2, n + 2)
    source = records["source"].to_numpy(dtype=object)
    today = today or pd.Timestamp.today().normalize()

    texts: dict[str, pa.ChunkedArray | None] = {}

    def text(col: str) -> pa.ChunkedArray | None:
        if col not in texts:
            texts[col] = _arrow_text(records[col])
        return texts[col]

    def empty(col: str) -> np.ndarray:
        if col not in records.columns:
            return np.ones(n, dtype=bool)
        return blank(records[col], text(col))

    def unreadable(col: str) -> np.ndarray:
        if col not in records.columns:
            return np.zeros(n, dtype=bool)
        return garbled(records[col], text(col))

    # Problems are coded "problem|field|row|detail"; linkage.evidence words them.
    # Earlier checks win: a record is reported with its first problem.
    checks: list[tuple[np.ndarray, object]] = [(empty("record_id"), "empty|record_id")]
    checks.append((unreadable("record_id"), "unreadable|record_id"))
    bank = source == "bank"
    ins = source == "insurance"
    checks.append((bank & empty("holder_kana"), "empty|holder_kana"))
    checks.append((bank & unreadable("holder_kana"), "unreadable|holder_kana"))
    checks.append((ins & empty("name") & empty("name_kana"), "empty|name"))
    checks.append((ins & unreadable("name"), "unreadable|name"))
    checks.append((ins & unreadable("name_kana"), "unreadable|name_kana"))
    no_birth = empty("birth_date")
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
        message = np.full(n, None, dtype=object)
        message[dup] = [f"duplicate|record_id|{{row}}|{f}" for f in first[dup]]
        checks.append((dup, message))
    which = np.full(n, len(checks), dtype=np.int64)  # the first check each record fails
    for i in range(len(checks) - 1, -1, -1):
        which[checks[i][0]] = i
    has = np.flatnonzero(which < len(checks))
    codes = [message if isinstance(message, str) else message[x] for x, (_, message) in
             zip(has.tolist(), (checks[i] for i in which[has]))]
    out[has] = np.array([f"{code.split('|{row}|')[0]}|{r}|{code.split('|{row}|')[1]}" if "|{row}|" in code
                         else f"{code}|{r}|" for code, r in zip(codes, row[has].tolist())], dtype=object)
    return out


def mark_duplicate_ids(records: pd.DataFrame) -> pd.DataFrame:
    """Rows repeating an earlier ``record_id`` of the same source get a unique
    id (``B001#row17``) and ``_duplicate_of`` (the first row), so that
    ``(source, record_id)`` stays unique in the findings and nothing is lost.

    The other columns are the input's own (not copied)."""
    rid = strip(records["record_id"])
    rid_code = pd.factorize(rid)[0]
    first = np.arange(len(rid_code))  # each row's first row with its (source, record_id)
    present = rid_code >= 0
    again = np.flatnonzero(present & (np.bincount(rid_code[present], minlength=1)[np.maximum(rid_code, 0)] > 1))
    if len(again):  # only ids found on several rows can repeat within a source
        source_code = pd.factorize(records["source"].to_numpy(dtype=object)[again])[0] + 1  # 0: no source
        codes, first_of = factorize_first(rid_code[again].astype(np.int64) * (source_code.max() + 1) + source_code)
        first[again] = again[first_of[codes]]
    dup = pd.Series(present & (first < np.arange(len(rid_code))), index=records.index)
    out = records.copy(deep=False)
    out["record_id"] = rid
    out["_duplicate_of"] = pd.Series(pd.NA, index=records.index, dtype="object")
    if dup.any():
        out.loc[dup, "_duplicate_of"] = records["_row"].to_numpy()[first[dup.to_numpy()]]
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
    numbers = residents["number"] if "number" in residents.columns else number.my_number(residents["my_number"])
    n = len(residents)
    rows = residents["_row"].to_numpy(dtype=np.int64) if "_row" in residents.columns else np.arange(2, n + 2)
    codes, first_of_code = factorize_first(pd.factorize(numbers)[0])  # missing numbers share one code, unused
    first_of_row = first_of_code[codes]
    pos = np.flatnonzero(pd.notna(numbers).to_numpy(dtype=bool) & (first_of_row < np.arange(n)))
    first = first_of_row[pos].astype(np.int64)
    return pd.DataFrame({
        "position": pos.astype(np.int64),
        "row": rows[pos],
        "first_position": first,
        "first_row": rows[first],
    })
