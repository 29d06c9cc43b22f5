"""My Number (個人番号): compact, validate, and say why a value is not one.

The check digit is python-stdnum's ``stdnum.jp.in_``; this module only adds
what real files need around it: full-width digits and separators, numbers
that went through a numeric column (lost leading zeros), and ``000000000000``,
which passes the checksum but is never issued.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import exceptions as stdnum_errors
from stdnum.jp import in_ as stdnum_in

from ._unique import as_series, cut, on_unique, to_arrow_strings

#: Reason codes returned by :func:`my_number_reason`, with their plain meaning.
REASONS: dict[str, str] = {
    "non_digit": "contains characters other than digits",
    "length": "is not 12 digits long",
    "all_zeros": "is all zeros",
    "check_digit": "fails the check digit",
}

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ｰー.．]+")
#: Values of only digits (either width), spaces and separators, which NFKC and
#: ``_SEPARATORS`` turn into plain digits the same way in Arrow as in Python.
_SPELLED = "^[0-9\\x{ff10}-\\x{ff19} \\t\\x{3000}\\-‐‑‒–—―−ｰー.．]+$"
_ARROW_SEPARATORS = "[ \\t\\-‐‑‒–—―−ｰー.．]+"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        return repr(value)  # not a number: reported as non-digit
    if isinstance(value, int):
        return f"{value:012d}"  # a numeric column dropped the leading zeros
    if isinstance(value, float):
        return f"{int(value):012d}" if math.isfinite(value) and value.is_integer() else str(value)
    text = unicodedata.normalize("NFKC", str(value))
    return _SEPARATORS.sub("", text).strip()


def _reason(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return "non_digit"  # a negative number is not a My Number
    text = _text(value)
    try:
        stdnum_in.validate(text)
    except stdnum_errors.InvalidLength:
        return "length" if text.isdigit() or not text else "non_digit"
    except stdnum_errors.InvalidFormat:
        return "non_digit"
    except stdnum_errors.InvalidChecksum:
        return "check_digit"
    except stdnum_errors.ValidationError:  # pragma: no cover - future stdnum errors
        return "non_digit"
    if text == "000000000000":
        return "all_zeros"
    return None


def check_digits(bodies: list[str]) -> list[str]:
    """python-stdnum's check digit of each 11-digit body (the rule: never a re-implementation)."""
    return list(map(stdnum_in.calc_check_digit, bodies))


_PLAIN_REASONS = pa.array([None, "all_zeros", "check_digit"], pa.large_string())


def _plain_numbers(arr: pa.Array, is_plain: pa.Array, plain: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(number, reason) where ``plain`` (12 ASCII digits), null elsewhere.  The numbers
    are handled as integers (a 12-digit number fits in int64): the distinct ones go to
    stdnum's check digit as 11-digit bodies, and no string is copied but the valid ones."""
    value = pc.cast(pc.if_else(is_plain, arr, "0"), pa.int64()).to_numpy()
    codes, distinct = pd.factorize(value[plain])
    bodies = pc.utf8_lpad(pc.cast(pa.array(distinct // 10), pa.string()), 11, "0").to_pylist()
    check = np.frombuffer("".join(check_digits(bodies)).encode("ascii"), dtype=np.uint8) - 48
    why = np.where(distinct == 0, 1, np.where(distinct % 10 == check, 0, 2)).astype(np.int8)  # 000000000000 passes the checksum
    code = np.zeros(len(value), dtype=np.int8)
    code[plain] = why[codes]
    good = plain & (code == 0)
    number = pc.if_else(pa.array(good), arr, pa.scalar(None, arr.type)).cast(pa.large_string())
    return number, _PLAIN_REASONS.take(pa.array(code))


def _twelve_digits(arr: pa.Array) -> pa.Array:
    """Where a value is 12 ASCII digits (``^[0-9]{12}$``, without a regex pass)."""
    return pc.fill_null(pc.and_(pc.equal(pc.binary_length(arr), 12), pc.ascii_is_decimal(arr)), False)


def analyse(values: Iterable[Any] | pd.Series) -> tuple[pd.Series, pd.Series]:
    """(12-digit number or NA, reason or NA) for every value.

    Plain 12-digit ASCII strings, by far the common case, take a fast path
    straight to stdnum's check digit, once per distinct number; everything
    else goes through :func:`_reason` (separators, full-width digits, numeric
    cells …).
    """
    s = as_series(values)
    text = pa.large_string()
    number = pa.nulls(len(s), text)
    reason = pa.nulls(len(s), text)
    arr = to_arrow_strings(s)
    if arr is None:  # numbers, bytes and other objects: the careful path for every value
        plain = np.zeros(len(s), dtype=bool)
    else:
        is_plain = _twelve_digits(arr)
        # Digits with separators or full width (6214 9832 0257, ６２１４－…) are the same
        # number once ``_text`` has cleaned them: cleaned in Arrow, then checked as plain.
        others = np.flatnonzero(~is_plain.to_numpy(zero_copy_only=False))
        other = arr.take(pa.array(others))
        spelled = pc.fill_null(pc.match_substring_regex(other, _SPELLED), False)
        if pc.any(spelled).as_py():
            cleaned = pc.replace_substring_regex(pc.utf8_normalize(other.filter(spelled), "NFKC"), _ARROW_SEPARATORS, "")
            where = np.zeros(len(arr), dtype=bool)
            where[others[spelled.to_numpy(zero_copy_only=False)]] = True
            arr = pc.replace_with_mask(arr, pa.array(where), cleaned.cast(arr.type))
            is_plain = _twelve_digits(arr)
        plain = is_plain.to_numpy(zero_copy_only=False)
        if plain.any():
            number, reason = _plain_numbers(arr, is_plain, plain)
    rest = ~plain & s.notna().to_numpy()
    if rest.any():
        sub = s[rest]
        why_rest = on_unique(_reason, sub, dtype=None)
        num_rest = on_unique(lambda v: stdnum_in.compact(_text(v)), sub, dtype=None).where(why_rest.isna(), None)
        mask = pa.array(rest)
        number = pc.replace_with_mask(number, mask, pa.array(num_rest.to_numpy(dtype=object), text))
        reason = pc.replace_with_mask(reason, mask, pa.array(why_rest.to_numpy(dtype=object), text))
    return (pd.Series(pd.arrays.ArrowStringArray(number), index=s.index, name=s.name),
            pd.Series(pd.arrays.ArrowStringArray(reason), index=s.index, name=s.name))


def analyse_many(*columns: pd.Series) -> list[tuple[pd.Series, pd.Series]]:
    """:func:`analyse` of several columns at once: a number that is in the
    register and on its records is checked once, not once per table."""
    columns = tuple(as_series(c) for c in columns)
    number, reason = analyse(pd.concat([c.reset_index(drop=True) for c in columns], ignore_index=True))
    return list(zip(cut(number, columns), cut(reason, columns)))


def my_number(values: Iterable[Any] | pd.Series) -> pd.Series:
    """12-digit My Number strings; NA where missing or invalid.

    Accepts spaces, hyphens (and look-alikes), full-width digits and integers.
    ``my_number_reason`` says why a value was rejected.
    """
    return analyse(values)[0]


def my_number_reason(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Why each value is not a valid My Number: ``non_digit``, ``length``,
    ``all_zeros`` or ``check_digit``; NA where valid or missing.  See
    :data:`REASONS` for the words."""
    return analyse(values)[1]


def mask(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Mask all but the last four characters: ``621498320257`` → ``********0257``.

    Values that are not 12 digits are masked the same way, so nothing but the
    last four characters of an input shows, and never its length.
    """
    def _mask(value: Any) -> str | None:
        text = _text(value)
        return "********" + text[-4:] if text else None

    return on_unique(_mask, values)
