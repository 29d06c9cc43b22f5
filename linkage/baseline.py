"""A plain recordlinkage pipeline over the audit's links, for comparison.

This is how a user of the toolkit would compare the same record↔card-holder
pairs: ``recordlinkage.Compare`` with Jaro-Winkler on the kana and exact
birth date and sex, on the values as they come.  ``make bench`` times it
against the audit on the same pairs.  recordlinkage (which needs pandas < 3)
is used in this module only.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import recordlinkage


def links(records: pd.DataFrame, holder: np.ndarray) -> pd.MultiIndex:
    """The audit's record↔card-holder pairs as a recordlinkage candidate index."""
    has = np.flatnonzero(holder >= 0)
    return pd.MultiIndex.from_arrays([has, holder[has]], names=["record", "resident"])


def compare(records: pd.DataFrame, residents: pd.DataFrame, pairs: pd.MultiIndex) -> pd.DataFrame:
    """recordlinkage features for ``pairs``: kana Jaro-Winkler, exact birth date and sex."""
    left = pd.DataFrame({
        "kana": records["holder_kana"].fillna(records["name_kana"]) if "holder_kana" in records else records["name_kana"],
        "birth_date": records["birth_date"].astype(object),
        "sex": records["sex"].astype(object) if "sex" in records else None,
    }).reset_index(drop=True)
    right = pd.DataFrame({
        "kana": residents["name_kana"],
        "birth_date": residents["birth_date"].astype(object),
        "sex": residents["sex"].astype(object),
    }).reset_index(drop=True)
    c = recordlinkage.Compare()
    c.string("kana", "kana", method="jarowinkler", label="kana")
    c.exact("birth_date", "birth_date", label="birth_date")
    c.exact("sex", "sex", label="sex")
    return c.compute(pairs, left, right)


def timed(records: pd.DataFrame, residents: pd.DataFrame, holder: np.ndarray) -> tuple[int, float]:
    """(number of pairs, seconds) for the recordlinkage comparison of the audit's links."""
    pairs = links(records, holder)
    start = time.perf_counter()
    compare(records, residents, pairs)
    return len(pairs), time.perf_counter() - start
