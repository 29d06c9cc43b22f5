"""Sex codes: JIS X 0303 (1 male, 2 female, 0 unknown, 9 not applicable) and words.

``sex`` gives ``Int8`` 1/2 from 1/2 (ints, floats, strings, full-width), 男/女,
男性/女性, M/F and male/female in any case; 0 and 9 are the standard's
"unknown" codes and become NA, as does anything unrecognised.  ``sex_reason``
tells the two apart: NA for a readable value, a missing value or an unknown
code, ``"not a sex code"`` otherwise.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._unique import as_series, on_unique

__all__ = ["sex", "sex_reason"]

NOT_A_SEX_CODE = "not a sex code"
_UNKNOWN = 0  # sentinel: JIS X 0303 code 0 or 9
_WORDS = {"1": 1, "2": 2, "0": _UNKNOWN, "9": _UNKNOWN,
          "男": 1, "女": 2, "男性": 1, "女性": 2,
          "M": 1, "F": 2, "MALE": 1, "FEMALE": 2}


def _code(value: Any) -> int | None:
    """1, 2, ``_UNKNOWN`` (0/9) or None (not a sex code) for one non-missing value."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer, float, np.floating)):
        if not float(value).is_integer():
            return None
        value = str(int(value))
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if text.endswith(".0") and text[:-2].isdigit():  # "1.0" from a float column written as text
        text = text[:-2]
    return _WORDS.get(text)


def sex(values: Iterable[Any] | pd.Series) -> pd.Series:
    """1 (male) / 2 (female) as ``Int8``; NA for missing, 0/9 and unrecognised values."""
    return on_unique(lambda v: _code(v) or None, values, dtype="Int8")


def sex_reason(values: Iterable[Any] | pd.Series) -> pd.Series:
    """``"not a sex code"`` where ``sex`` could not read a present value; NA otherwise."""
    s = as_series(values)
    return on_unique(lambda v: NOT_A_SEX_CODE if _code(v) is None else None, s, dtype="string")
