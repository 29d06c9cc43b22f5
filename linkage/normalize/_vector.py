"""Vectorised character mapping for keys that work character by character.

A :class:`CharMap` is *derived from* a per-string key function by running it
on every single character of the ranges it will handle: each character maps
to one character, to nothing (dropped), or is left to the exact per-string
path.  Strings made only of handled characters are then keyed for whole
arrays at once in numpy (UTF-32 code units); dakuten marks are joined to the
kana before them as NFKC would.  Anything else — other scripts, combining
marks in odd places, very long values — goes through the per-string
function, so both paths give the same key (checked by a property test).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

UNHANDLED = -1
#: Longer values take the per-string path (a 1 MB cell must not become a 1 MB-wide array).
MAX_WIDTH = 48
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
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        short = np.flatnonzero((lengths > 0) & (lengths <= MAX_WIDTH))
        done = np.zeros(len(values), dtype=bool)
        if len(short):
            width = int(lengths[short].max())
            arr = np.array([values[i] for i in short] if len(short) < len(values) else values, dtype=f"<U{width}")
            cps = np.minimum(arr.view(np.uint32).reshape(len(short), width), 0xFFFF)  # astral → unhandled
            padding = np.arange(width) >= lengths[short][:, None]
            ok = np.ones(len(short), dtype=bool)
            if self.mark_kind is not None:
                cps, ok, padding = self._join_marks(cps, padding)
            mapped = self.table[cps]
            mapped[padding] = 0
            ok &= ~(mapped == UNHANDLED).any(axis=1)
            # Dropped characters become NUL inside the fixed-width strings; a real NUL
            # never gets here (the table leaves it unhandled), so removing NULs is exact.
            keys = mapped[ok].astype(np.uint32).view(f"<U{width}").ravel().tolist()
            keys = np.array([k.replace("\x00", "") or None for k in keys], dtype=object)
            out[short[ok]] = keys
            done[short[ok]] = True
        for i in np.flatnonzero(~done).tolist():
            out[i] = self.func(values[i]) or None
        return out

    def _join_marks(self, cps: np.ndarray, padding: np.ndarray):
        """Join each voicing mark to the kana before it (カ+ﾞ → ガ); the mark's
        place becomes padding.  Rows where a mark follows something it cannot
        join are left to the per-string path."""
        ok = np.ones(len(cps), dtype=bool)
        kind = self.mark_kind[cps]
        r, c = np.nonzero(kind)
        if len(r) == 0:
            return cps, ok, padding
        k = kind[r, c]
        prev = np.where(c > 0, cps[r, np.maximum(c - 1, 0)], 0)
        base = np.maximum(self.table[prev], 0)
        joined = np.where(k == 1, self.voiced[base], self.semi[base])
        bad = (c == 0) | (joined == 0) | (self.mark_kind[prev] != 0)
        ok[r[bad]] = False
        r, c, joined = r[~bad], c[~bad], joined[~bad]
        cps = cps.copy()
        cps[r, c - 1] = joined
        padding = padding.copy()
        padding[r, c] = True
        return cps, ok, padding
