"""Vectorised character mapping for keys that work character by character.

A :class:`CharMap` is *derived from* a per-string key function by running it
on every single character of the ranges it will handle: each character maps
to one character, to nothing (dropped), or is left to the exact per-string
path.  Strings made only of handled characters are then keyed for whole
arrays at once in numpy (UTF-32 code units); dakuten marks are joined to the
kana before them as NFKC would.  Anything else — other scripts, combining
marks in odd places — goes through the per-string
function, so both paths give the same key (checked by a property test).

The table runs directly on Arrow's UTF-8 buffers (:meth:`CharMap.apply_arrow`):
decode the code points, map them, join the voicing marks, drop what the key
drops and encode the result, all as whole-array numpy operations, so a million
names cost a few numpy passes rather than a million Python calls.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa

from ._unique import fill_slow

UNHANDLED = -1
#: Voicing marks: half-width, spacing and combining forms of ゛ and ゜.
VOICED_MARKS = (0xFF9E, 0x309B, 0x3099)
SEMI_VOICED_MARKS = (0xFF9F, 0x309C, 0x309A)


class CharMap:
    """Per-character table derived from ``func``; ``compose`` joins dakuten."""

    def __init__(self, func: Callable[[str], str | None], ranges: Iterable[tuple[int, int]],
                 compose: bool = False) -> None:
        table = np.full(0x10000, UNHANDLED, dtype=np.int32)
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                out = func(chr(cp))
                if not out:
                    table[cp] = 0
                elif len(out) == 1 and ord(out) < 0x10000:
                    table[cp] = ord(out)
        self.table = table
        self.func = func
        self.voiced = self.semi = self.mark_kind = None
        if compose:
            self.mark_kind = np.zeros(0x10000, dtype=np.uint8)
            self.mark_kind[list(VOICED_MARKS)] = 1
            self.mark_kind[list(SEMI_VOICED_MARKS)] = 2
            self.voiced = np.zeros(0x10000, dtype=np.int32)
            self.semi = np.zeros(0x10000, dtype=np.int32)
            for cp in range(0x3041, 0x30FF):
                for mark, target in ((0x3099, self.voiced), (0x309A, self.semi)):
                    joined = func(chr(cp) + chr(mark))
                    if joined and len(joined) == 1 and func(chr(cp)):
                        target[ord(func(chr(cp)))] = ord(joined)
            table[list(VOICED_MARKS + SEMI_VOICED_MARKS)] = UNHANDLED  # joined, never mapped alone
        table[0] = UNHANDLED  # an embedded NUL (padding is told apart by position)
        table[0xFFFF] = UNHANDLED  # stands for every astral character

    def apply(self, values: list[str]) -> np.ndarray:
        """Keys of ``values`` (all str) as an object array, the same as
        ``[func(v) or None for v in values]``."""
        out = np.full(len(values), None, dtype=object)
        if not values:
            return out
        try:
            arr = pa.array(values, type=pa.string())
        except (UnicodeEncodeError, pa.ArrowException):  # lone surrogates: no UTF-8 form
            return np.array([self.func(v) or None for v in values] + [None], dtype=object)[:-1]
        out[:] = self.apply_arrow(arr).to_pylist()
        return out

    def apply_arrow(self, arr: pa.Array) -> pa.Array:
        """Keys of a (null-free) Arrow string array, as a ``large_string`` array
        with nulls where the key is empty."""
        m = len(arr)
        if m == 0:
            return pa.array([], type=pa.large_string())
        offs, data = _buffers(arr)
        cp, coff = _decode(data, offs)
        counts = np.diff(coff)
        sid = np.repeat(np.arange(m, dtype=np.int32), counts)
        mapped = self.table[cp]
        if self.mark_kind is not None:
            self._join_marks(cp, mapped, coff[:-1][counts > 0])
        unhandled = mapped == UNHANDLED
        fallback = np.zeros(m, dtype=bool)
        if unhandled.any():
            fallback[sid[unhandled]] = True
            keep = (mapped > 0) & ~fallback[sid]
        else:
            keep = mapped > 0
        chars = mapped[keep].astype(np.uint16)
        kept = np.bincount(sid[keep], minlength=m)
        data_out, ends = _encode(chars)
        offsets = np.zeros(m + 1, dtype=np.int64)
        offsets[1:] = np.concatenate([[0], ends])[np.cumsum(kept)]
        valid = np.packbits((kept > 0) & ~fallback, bitorder="little")
        out = pa.Array.from_buffers(pa.large_string(), m, [pa.py_buffer(valid), pa.py_buffer(offsets),
                                                           pa.py_buffer(data_out)])
        return fill_slow(out, arr, np.flatnonzero(fallback), lambda v: self.func(v) or None)

    def _join_marks(self, cp: np.ndarray, mapped: np.ndarray, first: np.ndarray) -> None:
        """Join each voicing mark to the kana before it (カ+ﾞ → ガ) in ``mapped``
        and drop the mark; a mark that cannot join (first character, after
        another mark or after something with no voiced form) stays unhandled,
        so its string takes the per-string path.  ``first``: positions of the
        strings' first characters."""
        kind = self.mark_kind[cp]
        p = np.flatnonzero(kind)
        if len(p) == 0:
            return
        starts = np.zeros(len(cp), dtype=bool)
        starts[first] = True
        prev = cp[np.maximum(p - 1, 0)]
        base = np.maximum(self.table[prev], 0)
        joined = np.where(kind[p] == 1, self.voiced[base], self.semi[base])
        good = ~(starts[p] | (joined == 0) | (self.mark_kind[prev] != 0))
        mapped[p[good] - 1] = joined[good]
        mapped[p[good]] = 0


# UTF-8 lead byte → sequence length; the encoder's first and second bytes per code point.
_SEQ_LEN = np.ones(256, dtype=np.uint8)
_SEQ_LEN[0x80:0xC0], _SEQ_LEN[0xC0:0xE0], _SEQ_LEN[0xE0:0xF0], _SEQ_LEN[0xF0:] = 0, 2, 3, 4
_BMP = np.arange(0x10000, dtype=np.uint32)
_ENC_LEN = (1 + (_BMP >= 0x80) + (_BMP >= 0x800)).astype(np.uint8)
_ENC_B0 = np.where(_BMP < 0x80, _BMP, np.where(_BMP < 0x800, 0xC0 | (_BMP >> 6), 0xE0 | (_BMP >> 12))).astype(np.uint8)
_ENC_B1 = np.where(_BMP < 0x800, 0x80 | (_BMP & 0x3F), 0x80 | ((_BMP >> 6) & 0x3F)).astype(np.uint8)


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, UTF-8 bytes padded with 3 NULs) of a string array."""
    m = len(arr)
    bufs = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(bufs[1], dtype=width)[arr.offset: arr.offset + m + 1].astype(np.int64)
    raw = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    data = np.zeros(int(offs[-1] - offs[0]) + 3, dtype=np.uint8)
    data[:-3] = raw[offs[0]:offs[-1]]
    return offs - offs[0], data


def _decode(data: np.ndarray, offs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code points (uint16; astral ones as 0xFFFF, which the table leaves
    unhandled) and the offset of each string's first code point."""
    pos = np.flatnonzero((data[:-3] & 0xC0) != 0x80)
    b0 = data[pos]
    length = _SEQ_LEN[b0]
    b0 = b0.astype(np.uint16)
    b1 = data[pos + 1].astype(np.uint16) & 0x3F
    b2 = data[pos + 2].astype(np.uint16) & 0x3F
    cp = ((b0 & 0x0F) << 12) | (b1 << 6) | b2
    if not (length == 3).all():
        cp = np.where(length == 1, b0, cp)
        two = length == 2
        cp[two] = ((b0[two] & 0x1F) << 6) | b1[two]
        cp[length == 4] = 0xFFFF
    return cp, np.searchsorted(pos, offs)


def _encode(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of BMP code points and the end offset of each one's bytes."""
    n = len(chars)
    last = (0x80 | (chars & 0x3F)).astype(np.uint8)
    if n and bool((chars >= 0x800).all()):  # kana and kanji only: three bytes each
        out = np.empty((n, 3), dtype=np.uint8)
        out[:, 0], out[:, 1], out[:, 2] = 0xE0 | (chars >> 12), 0x80 | ((chars >> 6) & 0x3F), last
        return out.ravel(), np.arange(3, 3 * n + 1, 3, dtype=np.int64)
    length = _ENC_LEN[chars]
    ends = np.cumsum(length, dtype=np.int64)
    starts = ends - length
    out = np.empty(int(ends[-1]) + 2 if n else 0, dtype=np.uint8)
    # Later bytes first: what a shorter character writes past its end lands on
    # the next characters' bytes, which are written afterwards.
    out[starts + 2] = last
    out[starts + 1] = _ENC_B1[chars]
    out[starts] = _ENC_B0[chars]
    return out[:-2] if n else out, ends
