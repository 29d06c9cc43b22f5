"""How the audit's arrays get their memory pages from Linux.

NumPy asks for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every
array of 4 MiB or more.  The audit makes and drops thousands of such arrays,
each one a fresh mapping, so the kernel zeroes whole 2 MiB pages again and
again: at a million residents that was a fifth of the run, counted as system
time (``perf``: ``clear_page_erms`` under ``do_huge_pmd_anonymous_page``).
With ordinary pages only the pages an array touches are zeroed.  NumPy's own
documentation names the same trade-off for its ``NUMPY_MADVISE_HUGEPAGE``
setting.
"""
from __future__ import annotations

from collections.abc import Iterator
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
