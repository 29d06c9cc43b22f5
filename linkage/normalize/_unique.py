"""Apply a per-value function to the distinct values of a Series only.

Names, dates and addresses repeat heavily (a million residents share a few
thousand surnames), so every normaliser works on ``pd.factorize`` uniques and
maps the results back with one ``take``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd


def as_series(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Return ``values`` as a Series (a list, array or Index is wrapped)."""
    if isinstance(values, pd.Series):
        return values
    return pd.Series(values, dtype=object)


def _map_distinct(
    batch: Callable[[list[Any]], Any],
    values: Iterable[Any] | pd.Series,
    dtype: str | None,
    as_text: bool,
) -> pd.Series:
    """Factorize ``values``, key the distinct non-missing ones with ``batch``
    (one call, a list in, a sequence out) and map the keys back with one take."""
    s = as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    items = [u if isinstance(u, str) else str(u) for u in uniques] if as_text else list(uniques)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = batch(items)
    mapped[-1] = None  # code -1 (missing) indexes the last slot
    out = mapped.take(codes)
    if dtype is None:
        return pd.Series(out, index=s.index, name=s.name, dtype=object)
    return pd.Series(out, index=s.index, name=s.name).astype(dtype)


def on_unique(
    func: Callable[[Any], Any],
    values: Iterable[Any] | pd.Series,
    dtype: str | None = "string",
) -> pd.Series:
    """Map ``func`` over the distinct non-missing values of ``values``.

    Missing inputs (None, NaN, NA) stay missing without calling ``func``; a
    ``func`` result of ``None`` becomes missing.  The result keeps the index
    and name of the input.
    """
    return _map_distinct(lambda items: [func(u) for u in items], values, dtype, as_text=False)


def on_unique_strings(
    func: Callable[[list[str]], Any],
    values: Iterable[Any] | pd.Series,
    dtype: str | None = "string",
) -> pd.Series:
    """Like :func:`on_unique`, but ``func`` keys the list of distinct values
    (as str) in one call, so it can work on whole arrays at once."""
    return _map_distinct(func, values, dtype, as_text=True)
