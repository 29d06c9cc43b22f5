"""String key columns, fast for both ``string`` and ``string[pyarrow]`` storage.

A pair comparison needs, for every pair, only whether each side has a key and
whether the two keys are equal; the strings themselves are needed only for the
few pairs whose keys differ (Jaro-Winkler, near and loose keys).  :class:`Keys`
holds one side of one key column at the pair positions: its missing mask at
once, its values on demand.  Arrow-backed columns stay in Arrow — equality runs
in Arrow's kernels and no Python string is made for the pairs that agree;
other columns (``string``, object) become an object array.

Name parts (a few thousand distinct values) are better still as integer codes
into one :class:`Vocab` for both sides (:func:`encode`): equality is an integer
comparison, and when the pairs cover the tables the whole columns are encoded
in one sequential pass, cheaper than taking strings at random rows.  Full
names then mostly need no strings at all (:func:`full_equal`).

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



#: Take rows chunk by chunk when fewer than this share of a column's rows are
#: taken: Arrow joins the chunks first, whatever the number of rows taken.
_CHUNKWISE_SHARE = 1 / 16


def take(data: pa.ChunkedArray, idx: np.ndarray) -> pa.ChunkedArray:
    """``data.take(idx)``, a few rows of a column in several chunks taken chunk
    by chunk (see :data:`_CHUNKWISE_SHARE`)."""
    idx = np.asarray(idx, dtype=np.int64)
    if data.num_chunks <= 1 or len(idx) >= _CHUNKWISE_SHARE * len(data):
        return data.take(pa.array(idx, type=pa.int64()))
    starts = np.cumsum([0] + [len(c) for c in data.chunks])
    chunk = np.searchsorted(starts, idx, side="right") - 1
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(data.num_chunks + 1))
    pieces = [data.chunk(k).take(pa.array(idx[order[bounds[k]:bounds[k + 1]]] - starts[k], type=pa.int64()))
              for k in range(data.num_chunks) if bounds[k + 1] > bounds[k]]
    joined = pa.concat_arrays(pieces) if pieces else pa.array([], type=data.type)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return pa.chunked_array([joined.take(pa.array(back, type=pa.int64()))], type=data.type)


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


class Vocab:
    """The distinct strings of one key column on both sides of a comparison:
    code ``i`` stands for ``strings[i]``, -1 for a missing value.  Coded
    :class:`Keys` of the two sides share one, so equality is an integer
    comparison and the strings of a few pairs are a lookup in a small array."""

    __slots__ = ("_strings", "arrow")

    def __init__(self, strings: np.ndarray | None = None, arrow: pa.Array | None = None) -> None:
        self._strings = None if strings is None else np.append(np.asarray(strings, dtype=object), None)
        self.arrow = arrow  # the strings as an Arrow array, when they came from Arrow

    @property
    def strings(self) -> np.ndarray:
        """The strings as an object array, with None last (code -1 reads as None)."""
        if self._strings is None:
            self._strings = np.append(np.asarray(self.arrow.to_numpy(zero_copy_only=False), dtype=object), None)
        return self._strings

    def __len__(self) -> int:
        return len(self.arrow) if self._strings is None else len(self._strings) - 1

    def byte_lengths(self) -> np.ndarray:
        """UTF-8 length of each string by code, 0 for code -1 (Arrow-made vocabularies only)."""
        return np.append(pc.binary_length(self.arrow).to_numpy(zero_copy_only=False).astype(np.int64), 0)


#: Encode whole columns (then take the codes) rather than the values at the
#: pairs when the pairs number at least this share of the rows of both columns:
#: hashing a column in sequence is several times cheaper per row than taking
#: its strings at random positions.
_ENCODE_WHOLE_SHARE = 0.25


def whole_columns(a: pd.Series, b: pd.Series, pairs: int) -> bool:
    """Whether ``pairs`` pairs of rows of ``a`` and ``b`` are enough to work on
    the whole columns (see :data:`_ENCODE_WHOLE_SHARE`)."""
    da = arrow_strings(a)
    rows = len(a) if da is not None and da is arrow_strings(b) else len(a) + len(b)
    return 2 * pairs >= _ENCODE_WHOLE_SHARE * rows


def encode(a: pd.Series, b: pd.Series, ai: np.ndarray, bi: np.ndarray) -> tuple["Keys", "Keys"]:
    """Column ``a`` at row positions ``ai`` and column ``b`` at ``bi`` as coded
    :class:`Keys` sharing one :class:`Vocab` (Arrow's dictionary encoding where
    both columns are Arrow strings, ``pd.factorize`` otherwise)."""
    ai, bi = np.asarray(ai, dtype=np.int64), np.asarray(bi, dtype=np.int64)
    da, db = arrow_strings(a), arrow_strings(b)
    if da is not None and db is not None:
        same = da is db
        if whole_columns(a, b, max(len(ai), len(bi))):
            codes, vocab = _dictionary_encode([da] if same else [da, db])
            ca = codes[: len(da)].take(ai)
            cb = (codes[: len(da)] if same else codes[len(da):]).take(bi)
        else:
            codes, vocab = _dictionary_encode([take(da, ai), take(db, bi)])
            ca, cb = codes[: len(ai)], codes[len(ai):]
    else:
        va = _objects(a).take(ai)
        vb = _objects(b).take(bi)
        codes, uniques = pd.factorize(np.concatenate([va, vb]))
        vocab = Vocab(np.asarray(uniques, dtype=object))
        ca, cb = codes[: len(ai)], codes[len(ai):]
    return Keys(ca < 0, codes=ca, vocab=vocab), Keys(cb < 0, codes=cb, vocab=vocab)


def _objects(s: pd.Series) -> np.ndarray:
    """A string column as an object array with None for missing values."""
    if isinstance(s.array, pd.arrays.StringArray):
        base = np.asarray(s.array, dtype=object).copy()
        base[pd.isna(base)] = None
        return base
    return s.to_numpy(dtype=object, na_value=None)


def _dictionary_encode(parts: list[pa.ChunkedArray]) -> tuple[np.ndarray, Vocab]:
    """Codes of the values of ``parts`` run together (-1 missing) and their vocabulary."""
    if len({p.type for p in parts}) > 1:
        parts = [p.cast(pa.large_string()) for p in parts]
    data = pa.chunked_array([c for p in parts for c in p.chunks], type=parts[0].type)
    enc = pc.dictionary_encode(data)
    chunks = enc.chunks
    if len({len(c.dictionary) for c in chunks}) > 1:  # one dictionary for all chunks, to be sure
        enc = pc.dictionary_encode(data.combine_chunks())
        chunks = [enc]
    dictionary = chunks[-1].dictionary if chunks else pa.array([], type=data.type)
    indices = pa.chunked_array([c.indices for c in chunks], type=pa.int32())
    codes = indices.fill_null(-1).to_numpy().astype(np.int32, copy=False)
    return codes, Vocab(arrow=dictionary)


class Keys:
    """One side of one key column at the pair positions.

    ``na`` is the missing mask (bool array); :meth:`values` gives the strings
    (object array, ``None`` where missing) at selected pairs; :meth:`replace`
    returns a copy with some pairs' values changed; :func:`equal` compares two.
    The values live in one of three forms: integer codes into a :class:`Vocab`
    shared with the other side (:func:`encode`), an Arrow array, or an object
    array; replaced values are kept apart (``_pos``/``_val``) in the first two.
    """

    __slots__ = ("na", "_arrow", "_rows", "_obj", "_codes", "_vocab", "_pos", "_val")

    def __init__(self, na: np.ndarray, arrow: pa.ChunkedArray | None = None, obj: np.ndarray | None = None,
                 pos: np.ndarray | None = None, val: np.ndarray | None = None, codes: np.ndarray | None = None,
                 vocab: Vocab | None = None, rows: np.ndarray | None = None) -> None:
        self.na = na
        self._arrow = arrow  # Arrow values (when the column is Arrow-backed) …
        self._rows = rows  # … at these rows of ``arrow`` when given (taken only when needed) …
        self._obj = obj  # … or an object array with None for missing …
        self._codes = codes  # … or codes into ``vocab``
        self._vocab = vocab
        self._pos = pos  # sorted pair positions whose value was replaced (Arrow and codes only)
        self._val = val

    def __len__(self) -> int:
        return len(self.na)

    @classmethod
    def take(cls, frame: pd.DataFrame, col: str, idx: np.ndarray) -> "Keys":
        """Column ``col`` of ``frame`` at row positions ``idx``."""
        return cls.at(frame[col], idx)

    @classmethod
    def at(cls, s: pd.Series, idx: np.ndarray) -> "Keys":
        """Column ``s`` at row positions ``idx``."""
        idx = np.asarray(idx, dtype=np.int64)
        arrow = arrow_strings(s)
        if arrow is not None:
            taken = take(arrow, idx)
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
    def rows(cls, frame: pd.DataFrame, col: str, idx: np.ndarray) -> "Keys":
        """Like :meth:`take`, but an Arrow column's strings are taken only for
        the pairs whose values are asked for (:meth:`values`, :meth:`arrow`)."""
        arrow = arrow_strings(frame[col])
        if arrow is None:
            return cls.take(frame, col, idx)
        idx = np.asarray(idx, dtype=np.int64)
        na = arrow.is_null().to_numpy().astype(bool, copy=False).take(idx)
        if arrow.num_chunks > 1:  # Arrow joins the chunks for every take: join them once
            arrow = pa.chunked_array([arrow.combine_chunks()], type=arrow.type)
        return cls(na, arrow=arrow, rows=idx)

    def _arrow_at(self, sel: np.ndarray | None = None) -> pa.ChunkedArray:
        """The Arrow values at pair positions ``sel`` (all pairs when None), before replacements."""
        if self._rows is None:
            return self._arrow if sel is None else take(self._arrow, sel)
        return take(self._arrow, self._rows if sel is None else self._rows[sel])

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
        if self._codes is not None:
            out = self._vocab.strings.take(self._codes[sel])
        else:
            out = np.asarray(self._arrow_at(sel).to_numpy(zero_copy_only=False), dtype=object)
        if self._pos is not None and len(sel):
            at = np.searchsorted(self._pos, sel).clip(0, len(self._pos) - 1)
            hit = self._pos[at] == sel
            out[hit] = self._val[at[hit]]
        return out

    def arrow(self, sel: np.ndarray) -> pa.Array | None:
        """Strings at pair positions ``sel`` as an Arrow array, or None when the
        values are not held in Arrow (then use :meth:`values`)."""
        sel = np.asarray(sel, dtype=np.int64)
        if self._pos is not None and np.isin(sel, self._pos).any():
            return None
        if self._codes is not None and self._vocab.arrow is not None:
            codes = self._codes[sel]
            return self._vocab.arrow.take(pa.array(codes, mask=codes < 0))
        if self._arrow is not None:
            return self._arrow_at(sel).combine_chunks()
        return None

    def subset(self, sel: np.ndarray) -> "Keys":
        """The keys of pairs ``sel`` only."""
        sel = np.asarray(sel, dtype=np.int64)
        if self._obj is not None:
            return Keys(self.na[sel], obj=self._obj[sel])
        if self._codes is not None and self._pos is None:
            return Keys(self.na[sel], codes=self._codes[sel], vocab=self._vocab)
        if self._rows is not None and self._pos is None:
            return Keys(self.na[sel], arrow=self._arrow, rows=self._rows[sel])
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
        return Keys(na, arrow=self._arrow, pos=pos[order], val=np.where(na[pos[order]], None, values[order]),
                    codes=self._codes, vocab=self._vocab, rows=self._rows)

    def replace_with(self, pos: np.ndarray, other: "Keys") -> "Keys":
        """A copy with the values at pair positions ``pos`` (distinct) replaced
        by ``other``'s values at the same pairs (codes copied where both sides
        share a vocabulary)."""
        pos = np.asarray(pos, dtype=np.int64)
        if not len(pos):
            return self
        if self._codes is None or other._vocab is not self._vocab or other._pos is not None:
            return self.replace(pos, other.values(pos))
        codes = self._codes.copy()
        codes[pos] = other._codes[pos]
        na = self.na.copy()
        na[pos] = other.na[pos]
        keep = None if self._pos is None else ~np.isin(self._pos, pos)
        if keep is None or not keep.any():
            return Keys(na, codes=codes, vocab=self._vocab)
        return Keys(na, codes=codes, vocab=self._vocab, pos=self._pos[keep], val=self._val[keep])


def equal(a: Keys, b: Keys) -> np.ndarray:
    """True where both sides have a key and the keys are equal."""
    present = ~a.na & ~b.na
    if a._codes is not None and b._codes is not None and a._vocab is b._vocab:
        eq = (a._codes == b._codes) & present
    elif a._arrow is not None and b._arrow is not None:
        eq = pc.equal(a._arrow_at(), b._arrow_at()).fill_null(False).to_numpy(zero_copy_only=False).astype(
            bool, copy=False)
        eq = eq & present
    else:
        av = a._obj if a._obj is not None else a.values()
        bv = b._obj if b._obj is not None else b.values()
        return (av == bv) & present
    changed = [k._pos for k in (a, b) if k._pos is not None]
    if changed:
        at = pd.unique(np.concatenate(changed))
        at = at[present[at]]
        eq[at] = a.values(at) == b.values(at)
    return eq


def equal_at(a: Keys, b: Keys, at: np.ndarray) -> np.ndarray:
    """:func:`equal` of the (present) keys at pairs ``at`` only, in Arrow where possible."""
    if not len(at):
        return np.zeros(0, dtype=bool)
    x, y = a.arrow(at), b.arrow(at)
    if x is not None and y is not None:
        return pc.equal(x, y.cast(x.type) if y.type != x.type else y).fill_null(False).to_numpy(
            zero_copy_only=False).astype(bool, copy=False)
    return a.values(at) == b.values(at)


def concat_equal(fam: Keys, giv: Keys, full: Keys, at: np.ndarray) -> np.ndarray:
    """Whether ``fam`` + ``giv`` equals ``full`` at pairs ``at`` (all present),
    in Arrow's kernels where the values are held in Arrow."""
    if not len(at):
        return np.zeros(0, dtype=bool)
    arrays = [k.arrow(at) for k in (fam, giv, full)]
    if all(a is not None for a in arrays):
        f, g, n = (a.cast(pa.large_string()) if a.type != pa.large_string() else a for a in arrays)
        joined = pc.binary_join_element_wise(f, g, pa.scalar("", pa.large_string()))
        return pc.equal(joined, n).fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    return (fam.values(at) + giv.values(at)) == full.values(at)


def joined_rows(full: pd.Series, fam: pd.Series, giv: pd.Series) -> np.ndarray | None:
    """Rows whose ``full`` key is their ``fam`` and ``giv`` keys run together
    (None unless all three are Arrow string columns)."""
    cols = [arrow_strings(c) for c in (fam, giv, full)]
    if any(c is None for c in cols):
        return None
    f, g, n = (c.cast(pa.large_string()) if c.type != pa.large_string() else c for c in cols)
    joined = pc.binary_join_element_wise(f, g, pa.scalar("", pa.large_string()))
    return pc.equal(joined, n).fill_null(False).to_numpy().astype(bool, copy=False)


def full_equal(lf: Keys, rf: Keys, lp: tuple[Keys, Keys], rp: tuple[Keys, Keys], lj: np.ndarray,
               rj: np.ndarray) -> np.ndarray | None:
    """:func:`equal` of full-name keys ``lf`` and ``rf`` with few strings read.

    ``lp``/``rp`` are the coded (family, given) keys of each side, ``lj``/``rj``
    where a side's full key is those two run together (:func:`joined_rows` at
    the pairs).  Where both are, the full keys are equal exactly where the
    parts are, or where one name is split in two places (family names of
    different lengths, same total: those strings are compared).  Where one
    side is, its parts (a small vocabulary) stand in for its full key.  Only
    where neither is are the full keys compared as they are.  None unless the
    parts are coded from Arrow, as :func:`encode` made them (none replaced).
    """
    (lfam, lgiv), (rfam, rgiv) = lp, rp
    if any(k._codes is None or k._vocab.arrow is None or k._pos is not None for k in (lfam, lgiv, rfam, rgiv)):
        return None
    present = ~lf.na & ~rf.na
    joined = present & lj & rj
    parts = equal(lfam, rfam) & equal(lgiv, rgiv)
    eq = joined & parts
    fam_len, giv_len = lfam._vocab.byte_lengths(), lgiv._vocab.byte_lengths()
    lfl, rfl = fam_len[lfam._codes], fam_len[rfam._codes]
    moved = joined & ~parts & (lfl != rfl) & (lfl + giv_len[lgiv._codes] == rfl + giv_len[rgiv._codes])
    at = np.flatnonzero(moved | (present & ~lj & ~rj))
    eq[at] = equal_at(lf, rf, at)
    at = np.flatnonzero(present & ~lj & rj)
    eq[at] = concat_equal(rfam, rgiv, lf, at)
    at = np.flatnonzero(present & lj & ~rj)
    eq[at] = concat_equal(lfam, lgiv, rf, at)
    return eq
