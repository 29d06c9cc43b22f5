"""How the audit's arrays get their memory pages from Linux.

NumPy asks for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every
array of 4 MiB or more.  The audit makes and drops thousands of such arrays,
each one a fresh mapping, so the kernel zeroes whole 2 MiB pages again and
again: at a million residents that was a fifth of the run, counted as system
time (``perf``: ``clear_page_erms`` under ``do_huge_pmd_anonymous_page``).
With ordinary pages only the pages an array touches are zeroed.  NumPy's own
documentation names the same trade-off for its ``NUMPY_MADVISE_HUGEPAGE``
setting.

Before a ``fork`` (:class:`linkage.background.Forked`), memory that is free but
still mapped goes back to Linux (:func:`give_back`), so that the two processes
do not copy pages of dead arrays between them.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Set in the environment of helper processes (NumPy reads it when imported).
ENV = {"NUMPY_MADVISE_HUGEPAGE": "0"}


def _switch():
    """NumPy's run-time switch (``_set_madvise_hugepage(bool) -> previous``), or None."""
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, "_set_madvise_hugepage", None)


@contextmanager
def small_pages() -> Iterator[None]:
    """NumPy arrays made inside use ordinary pages; the caller's setting is restored after."""
    switch = _switch()
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


def give_back() -> None:
    """Return memory that is free but still mapped to Linux: Arrow's pool and glibc's heap.

    Called before ``fork``: a page the child shares is copied as soon as either
    process writes to it, and a freed page is written again as soon as it is
    reused.  Given back, new arrays get fresh pages of their own and the child
    shares only live data (at a million residents ~0.3 GB less while the reports
    are written)."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
