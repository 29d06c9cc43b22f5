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
