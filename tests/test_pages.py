"""NumPy's huge pages are off while the audit runs, and as the caller had them after."""
import os

import pytest

from linkage import pages
from linkage.background import Background

switch = pages._switch()
pytestmark = pytest.mark.skipif(switch is None, reason="this NumPy has no huge-page switch")


def _state() -> bool:
    before = switch(True)
    switch(before)
    return before


@pytest.mark.parametrize("caller", [True, False])
def test_small_pages_inside_and_the_callers_setting_after(caller):
    before = switch(caller)
    try:
        with pages.small_pages():
            assert _state() is False
        assert _state() is caller
        with pytest.raises(KeyError), pages.small_pages():
            raise KeyError("x")
        assert _state() is caller
    finally:
        switch(before)


def test_the_audit_runs_with_small_pages(monkeypatch, tmp_path):
    import linkage
    seen = []
    real = linkage.run
    monkeypatch.setattr(linkage, "run", lambda *a, **k: (seen.append(_state()), real(*a, **k))[1])
    world = linkage.generate(30, seed=3)
    result = linkage.audit(world.residents, bank=world.bank, insurance=world.insurance)
    assert seen == [False]
    writes = []
    from linkage import report

    real_write = report._write_all
    monkeypatch.setattr(report, "_write_all", lambda *a, **k: (writes.append(_state()), real_write(*a, **k))[1])
    result.write(tmp_path / "out")
    assert writes == [False]


def test_the_helper_process_is_told_not_to_use_them():
    assert Background([(os.getenv, ("NUMPY_MADVISE_HUGEPAGE",))]).results() == ["0"]


linux_glibc = pytest.mark.skipif(pages._malloc_trim() is None or not os.path.exists("/proc/self/status"),
                                 reason="needs Linux with glibc")


def _rss_mib() -> float:
    from linkage.background import proc_kib

    return proc_kib("/proc/self/status", "VmRSS") / 1024


@linux_glibc
def test_memory_freed_but_still_mapped_goes_back_to_linux():
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    base = _rss_mib()
    big = pc.add(pa.array(np.arange(20_000_000)), 1)  # 160 MB from Arrow's pool
    small = [np.ones(500, dtype=np.int64) for _ in range(50_000)]  # 200 MB of small mallocs (glibc's heap)
    assert _rss_mib() > base + 300
    del big, small
    pages.give_back()
    assert _rss_mib() < base + 100


def test_memory_is_given_back_before_every_fork(monkeypatch):
    from linkage import background

    if not background.can_fork():
        pytest.skip("no fork here")
    calls = []
    monkeypatch.setattr(pages, "give_back", lambda: calls.append(os.getpid()))
    assert background.Forked(lambda: 42, "testing").join() == 42
    assert calls == [os.getpid()]
