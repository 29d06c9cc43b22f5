"""Apply a per-value function to the distinct values of a Series only.

Names, dates and addresses repeat heavily (a million residents share a few
thousand surnames), so every normaliser works on ``pd.factorize`` uniques and
maps the results back with one ``take``.  Keys computed on Arrow buffers
(:func:`on_unique_arrow`) use Arrow's dictionary encoding and come back as
``string[pyarrow]`` Series, with no Python string per row.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


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
    distinct = uniques.array if isinstance(uniques, pd.Index) else uniques
    if isinstance(distinct, (pd.arrays.ArrowStringArray, pd.arrays.ArrowExtensionArray)):
        items = distinct._pa_array.to_pylist()  # noqa: SLF001 - far faster than iterating the array
    else:
        items = list(uniques)
    if as_text:
        items = [u if isinstance(u, str) else str(u) for u in items]
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = batch(items)
    mapped[-1] = None  # code -1 (missing) indexes the last slot
    out = mapped.take(codes)
    if dtype is None:
        return pd.Series(out, index=s.index, name=s.name, dtype=object)
    if dtype == "string":  # Arrow-backed, like the reader's columns, unless a value has no UTF-8 form
        try:
            return pd.Series(pd.arrays.ArrowStringArray(pa.array(out, type=pa.large_string(), from_pandas=True)),
                             index=s.index, name=s.name)
        except (UnicodeEncodeError, pa.ArrowException):
            pass
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


def to_arrow_strings(values: Iterable[Any] | pd.Series) -> pa.Array | None:
    """``values`` as one Arrow string array (missing → null), or None when
    some value is not a string or has no UTF-8 form (lone surrogates)."""
    s = as_series(values)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        chunked = s.array._pa_array  # noqa: SLF001 - pandas keeps the Arrow data here
        return chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    if isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_string(s.dtype.pyarrow_dtype) | pa.types.is_large_string(
            s.dtype.pyarrow_dtype):
        return s.array._pa_array.combine_chunks()  # noqa: SLF001
    if _is_dictionary(s):
        return s.array._pa_array.combine_chunks().dictionary_decode()  # noqa: SLF001
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return None
    try:
        return pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    except (UnicodeEncodeError, pa.ArrowException):
        return None


def _is_dictionary(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_dictionary(s.dtype.pyarrow_dtype) and (
        pa.types.is_string(s.dtype.pyarrow_dtype.value_type) or pa.types.is_large_string(s.dtype.pyarrow_dtype.value_type))


def encode_strings(values: Iterable[Any] | pd.Series) -> pa.DictionaryArray | None:
    """The distinct strings of ``values`` and where each row's is (an Arrow
    dictionary array whose entries are all used), or None when some value is
    not a string or has no UTF-8 form.  A dictionary column (Arrow ``dictionary``
    type) is reused: only the entries its rows still use are kept."""
    s = as_series(values)
    if not _is_dictionary(s):
        arr = to_arrow_strings(s)
        return None if arr is None else pc.dictionary_encode(arr)
    arr = s.array._pa_array.combine_chunks()  # noqa: SLF001
    if arr.indices.type.bit_width < 32:  # callers put the missing value at len(dictionary): room for it
        arr = pa.DictionaryArray.from_arrays(arr.indices.cast(pa.int32()), arr.dictionary)
    indices = arr.indices
    codes = pc.fill_null(indices, 0).to_numpy()
    used = np.zeros(len(arr.dictionary), dtype=bool)
    used[codes[indices.is_valid().to_numpy(zero_copy_only=False)]] = True
    if used.all():
        return arr
    remap = (np.cumsum(used) - 1).astype(codes.dtype)
    kept = pa.array(remap[codes], mask=indices.is_null().to_numpy(zero_copy_only=False))
    return pa.DictionaryArray.from_arrays(kept, arr.dictionary.filter(pa.array(used)))


def on_unique_arrow(
    func: Callable[[pa.Array], pa.Array],
    values: Iterable[Any] | pd.Series,
    fallback: Callable[[list[str]], Any],
) -> pd.Series:
    """Key the distinct values of a string Series with ``func`` (a null-free
    Arrow string array in, an aligned Arrow string array out) and return a
    ``string[pyarrow]`` Series aligned to ``values``.  Columns that are not
    all strings go through ``fallback`` (see :func:`on_unique_strings`)."""
    s = as_series(values)
    encoded = encode_strings(s)
    if encoded is None:
        return on_unique_strings(fallback, s)  # python "string": a lone surrogate has no Arrow form
    keys = func(encoded.dictionary).take(encoded.indices)
    return pd.Series(pd.arrays.ArrowStringArray(keys), index=s.index, name=s.name)


def fill_slow(keys: pa.Array, distinct: pa.Array, slow: np.ndarray, func: Callable[[str], Any]) -> pa.Array:
    """``keys`` with the values at positions ``slow`` replaced by ``func`` of
    the matching ``distinct`` value: the per-value path next to a bulk one."""
    if len(slow) == 0:
        return keys
    mask = np.zeros(len(distinct), dtype=bool)
    mask[slow] = True
    values = [func(v) for v in distinct.take(pa.array(slow)).to_pylist()]
    return pc.replace_with_mask(keys, pa.array(mask), pa.array(values, type=keys.type))


def on_columns(func: Callable[[pd.Series], Any], *columns: pd.Series) -> list[Any]:
    """``func`` (a row-wise normaliser: Series in, aligned Series or DataFrame
    out) of several columns in one call, so that a value found in several of
    them is keyed once (every normaliser works on distinct values); one result
    per column, aligned to it.  Columns of different dtypes are keyed apart."""
    if len(columns) < 2 or len({c.dtype for c in columns}) > 1:
        return [func(c) for c in columns]
    arrays = [to_arrow_strings(c) for c in columns]
    if all(a is not None for a in arrays) and len({a.type for a in arrays}) == 1:
        # One Arrow chunk: every step below reads it without concatenating again.
        joined = pd.Series(pd.arrays.ArrowStringArray(pa.concat_arrays(arrays)))
    else:
        joined = pd.concat([c.reset_index(drop=True) for c in columns], ignore_index=True)
    return cut(func(joined), columns)


def cut(keyed: pd.Series | pd.DataFrame, columns: tuple[pd.Series, ...]) -> list[Any]:
    """``keyed``, computed on ``columns`` one after another, cut back into one
    piece per column, aligned to it (its index, and its name for a Series)."""
    out, start = [], 0
    for c in columns:
        part = keyed.iloc[start:start + len(c)]
        start += len(c)
        out.append(part.set_axis(c.index).rename(c.name) if isinstance(part, pd.Series) else part.set_axis(c.index))
    return out
