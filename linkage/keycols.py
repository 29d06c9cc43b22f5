"""String key columns, fast for both ``string`` and ``string[pyarrow]`` storage.

A pair comparison needs, for every pair, only whether each side has a key and
whether the two keys are equal; the strings themselves are needed only for the
few pairs whose keys differ (Jaro-Winkler, near and loose keys).  :class:`Keys`
holds one side of one key column at the pair positions: its missing mask at
once, its values on demand.  Arrow-backed columns stay in Arrow — equality runs
in Arrow's kernels and no Python string is made for the pairs that agree;
other columns (``string``, object) become an object array.

The column helpers (:func:`isin`, :func:`positions_in`, :func:`replace_at`)
do what the pandas methods do, in Arrow's hash and take kernels where a column
is Arrow-backed: pandas 2 makes a Python object of every value looked for.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Take the missing mask of the whole column (one sequential pass) rather than
#: of the taken values when the pairs cover at least this share of the rows.
_WHOLE_COLUMN_SHARE = 0.25


def arrow_strings(values: pd.Series) -> pa.ChunkedArray | None:
    """The column's Arrow data when it is an Arrow string column, else None."""
    arr = values.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        data = arr.__arrow_array__()
        data = data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            return data
    return None



def isin(values: pd.Series, among: pd.Series | np.ndarray) -> np.ndarray:
    """``values.isin(among)`` as a bool array, missing values never in; in
    Arrow's hash kernels where ``values`` is an Arrow string column (pandas
    would make a Python object of every value looked for)."""
    data = arrow_strings(values)
    among = among if isinstance(among, pd.Series) else pd.Series(among, dtype=object)
    try:
        wanted = None if data is None else _arrow_of(among.dropna(), data.type).unique()
    except (pa.ArrowException, UnicodeEncodeError):  # values with no UTF-8 form: pandas' way
        wanted = None
    if wanted is None:
        obj = pd.Series(values.to_numpy(dtype=object, na_value=None), dtype=object)
        return (obj.isin(among.to_numpy(dtype=object, na_value=None)) & obj.notna()).to_numpy(dtype=bool)
    hit = pc.is_in(data, value_set=wanted).fill_null(False)
    return hit.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _arrow_of(values: pd.Series | np.ndarray, like: pa.DataType) -> pa.Array:
    """``values`` (strings, distinct or not) as one Arrow array of type ``like``."""
    data = arrow_strings(values) if isinstance(values, pd.Series) else None
    if data is None and isinstance(values, pd.api.extensions.ExtensionArray):
        data = arrow_strings(pd.Series(values))
    if data is not None:
        return data.cast(like).combine_chunks()
    return pa.array(np.asarray(values, dtype=object), type=like, from_pandas=True)


def positions_in(values: pd.Series, among: pd.Series | np.ndarray) -> np.ndarray:
    """Position of each value in ``among`` (distinct strings), -1 where the
    value is missing or not among them; in Arrow's hash kernels where
    ``values`` is an Arrow string column."""
    data = arrow_strings(values)
    try:
        wanted = None if data is None else _arrow_of(among, data.type)
    except (pa.ArrowException, UnicodeEncodeError):  # values with no UTF-8 form: pandas' way
        wanted = None
    if wanted is None:
        among = among.to_numpy(dtype=object, na_value=None) if isinstance(among, pd.Series) else among
        return pd.Index(np.asarray(among, dtype=object)).get_indexer(
            values.to_numpy(dtype=object, na_value=None)).astype(np.int64)
    found = pc.index_in(data, value_set=wanted).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def factorize_first(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` codes of ``values`` (no missing values) and the
    position where each code first occurs (ascending, as codes are numbered
    in order of appearance)."""
    codes = pd.factorize(values)[0]
    if not len(codes):
        return codes, np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    return codes, np.flatnonzero(np.r_[True, codes[1:] > seen[:-1]])


def replace_at(values: pd.Series, pos: np.ndarray, new: pd.Series | np.ndarray | object) -> pd.Series:
    """A copy of ``values`` (same dtype and index) with the values at row
    positions ``pos`` replaced by ``new`` (a Series or array aligned with
    ``pos``, or one value for all)."""
    pos = np.asarray(pos, dtype=np.int64)
    data = arrow_strings(values)
    if data is None or not len(pos):
        out = values.copy()
        out.iloc[pos] = new.to_numpy(dtype=object, na_value=None) if isinstance(new, pd.Series) else new
        return out
    if not isinstance(new, pd.Series) and not np.ndim(new):
        new = np.full(len(pos), new, dtype=object)
    added = _arrow_of(new, data.type)
    index = np.arange(len(values), dtype=np.int64)
    index[pos] = len(values) + np.arange(len(pos))
    merged = pa.chunked_array([*data.chunks, added], type=data.type).take(pa.array(index))
    return pd.Series(pd.array(merged, dtype=values.dtype), index=values.index, name=values.name)


class Keys:
    """One side of one key column at the pair positions.

    ``na`` is the missing mask (bool array); :meth:`values` gives the strings
    (object array, ``None`` where missing) at selected pairs; :meth:`replace`
    returns a copy with some pairs' values changed; :func:`equal` compares two.
    """

    __slots__ = ("na", "_arrow", "_obj", "_pos", "_val")

    def __init__(self, na: np.ndarray, arrow: pa.ChunkedArray | None = None, obj: np.ndarray | None = None,
                 pos: np.ndarray | None = None, val: np.ndarray | None = None) -> None:
        self.na = na
        self._arrow = arrow  # Arrow values (when the column is Arrow-backed) …
        self._obj = obj  # … or an object array with None for missing
        self._pos = pos  # sorted pair positions whose value was replaced (Arrow only)
        self._val = val

    def __len__(self) -> int:
        return len(self.na)

    @classmethod
    def take(cls, frame: pd.DataFrame, col: str, idx: np.ndarray) -> "Keys":
        """Column ``col`` of ``frame`` at row positions ``idx``."""
        s = frame[col]
        idx = np.asarray(idx, dtype=np.int64)
        arrow = arrow_strings(s)
        if arrow is not None:
            taken = arrow.take(pa.array(idx, type=pa.int64()))
            return cls(taken.is_null().to_numpy(zero_copy_only=False).astype(bool, copy=False), arrow=taken)
        base = np.asarray(s.array, dtype=object) if isinstance(s.array, pd.arrays.StringArray) else \
            s.to_numpy(dtype=object)
        obj = base.take(idx)
        if len(idx) >= _WHOLE_COLUMN_SHARE * len(s) and len(idx):
            na = s.isna().to_numpy(dtype=bool).take(idx)
        else:
            na = pd.isna(obj)
        if na.any():
            obj[na] = None
        return cls(na, obj=obj)

    @classmethod
    def of(cls, values: np.ndarray | pd.Series) -> "Keys":
        """Keys from an array of strings (None/NA/NaN missing)."""
        obj = np.asarray(pd.Series(values, dtype=object).to_numpy(dtype=object, na_value=None), dtype=object)
        return cls(pd.isna(obj), obj=obj)

    def values(self, sel: np.ndarray | None = None) -> np.ndarray:
        """Strings at pair positions ``sel`` (all pairs when None): object array, None where missing."""
        if sel is None:
            sel = np.arange(len(self.na))
        sel = np.asarray(sel, dtype=np.int64)
        if self._obj is not None:
            return self._obj[sel]
        out = self._arrow.take(pa.array(sel, type=pa.int64())).to_numpy(zero_copy_only=False)
        out = np.asarray(out, dtype=object)
        if self._pos is not None and len(sel):
            at = np.searchsorted(self._pos, sel).clip(0, len(self._pos) - 1)
            hit = self._pos[at] == sel
            out[hit] = self._val[at[hit]]
        return out

    def subset(self, sel: np.ndarray) -> "Keys":
        """The keys of pairs ``sel`` only."""
        sel = np.asarray(sel, dtype=np.int64)
        if self._obj is not None:
            return Keys(self.na[sel], obj=self._obj[sel])
        return Keys(self.na[sel], obj=self.values(sel))

    def replace(self, pos: np.ndarray, values: np.ndarray) -> "Keys":
        """A copy with the values at pair positions ``pos`` (distinct) replaced."""
        pos = np.asarray(pos, dtype=np.int64)
        if not len(pos):
            return self
        values = np.asarray(values, dtype=object)
        na = self.na.copy()
        na[pos] = pd.isna(values)
        if self._obj is not None:
            obj = self._obj.copy()
            obj[pos] = np.where(na[pos], None, values)
            return Keys(na, obj=obj)
        if self._pos is not None:  # later replacements win
            keep = ~np.isin(self._pos, pos)
            pos, values = np.concatenate([self._pos[keep], pos]), np.concatenate([self._val[keep], values])
        order = np.argsort(pos, kind="stable")
        return Keys(na, arrow=self._arrow, pos=pos[order], val=np.where(na[pos[order]], None, values[order]))


def equal(a: Keys, b: Keys) -> np.ndarray:
    """True where both sides have a key and the keys are equal."""
    present = ~a.na & ~b.na
    if a._arrow is not None and b._arrow is not None:
        eq = pc.equal(a._arrow, b._arrow).fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
        eq = eq & present
        changed = [k._pos for k in (a, b) if k._pos is not None]
        if changed:
            at = pd.unique(np.concatenate(changed))
            at = at[present[at]]
            eq[at] = a.values(at) == b.values(at)
        return eq
    av = a._obj if a._obj is not None else a.values()
    bv = b._obj if b._obj is not None else b.values()
    return (av == bv) & present
