"""The helper process: same results as computing here, whatever happens to it."""
import os
import sys

import pandas as pd
import pytest

from linkage import background
from linkage.background import Background
from linkage.normalize import tables


def test_calls_run_in_another_process_and_come_back_in_order():
    helper = Background([(os.getpid, ()), (divmod, (17, 5)), (sorted, ("cab",))])
    pid, qr, letters = helper.results()
    assert pid != os.getpid()
    assert (qr, letters) == ((3, 2), ["a", "b", "c"])


def test_disabled_runs_the_calls_here():
    assert Background([(os.getpid, ())], enabled=False).results() == [os.getpid()]


def test_an_error_in_the_helper_is_raised_here_as_itself():
    with pytest.raises(ZeroDivisionError):
        Background([(divmod, (1, 0))]).results()


def test_a_call_the_helper_cannot_import_runs_here():
    assert Background([(lambda x: x + 1, (41,))]).results() == [42]


def test_a_helper_that_cannot_start_changes_nothing(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert Background([(os.getpid, ())]).results() == [os.getpid()]


def test_a_killed_helper_changes_nothing():
    helper = Background([(os.getpid, ())])
    helper._proc.kill()
    assert helper.results() == [os.getpid()]


def test_worth_it_only_for_big_inputs_with_a_core_and_memory_to_spare(monkeypatch):
    monkeypatch.setattr(background, "spare_cores", lambda: 1)
    monkeypatch.setattr(background, "memory_to_spare", lambda share: True)
    assert not background.worth_it(background.MIN_VALUES - 1)
    assert background.worth_it(background.MIN_VALUES)
    monkeypatch.setattr(background, "memory_to_spare", lambda share: False)
    assert not background.worth_it(background.MIN_VALUES)
    monkeypatch.setattr(background, "memory_to_spare", lambda share: True)
    monkeypatch.setattr(background, "spare_cores", lambda: 0)
    assert not background.worth_it(background.MIN_VALUES)


def test_tables_keyed_with_a_helper_equal_tables_keyed_here(tmp_path):
    from linkage.read import read_table
    from linkage.synth import generate_world, write_world

    write_world(generate_world(60, 5, rate_scale=20), tmp_path, fmt="csv")
    given = {k: read_table(tmp_path / f"{k}.csv", k) for k in ("residents", "bank", "insurance")}
    here = tables.prepare_tables(**given, background=False)
    there = tables.prepare_tables(**given, background=True)
    alone = {"residents": tables.prepare_residents(given["residents"]), "bank": tables.prepare_bank(given["bank"]),
             "insurance": tables.prepare_insurance(given["insurance"])}
    for kind in given:
        pd.testing.assert_frame_equal(there[kind], here[kind])
        pd.testing.assert_frame_equal(alone[kind], here[kind])


def test_memory_to_spare_reads_the_kernel_figures(monkeypatch):
    figures = {"/proc/meminfo": {"MemAvailable": 1_000}, "/proc/self/status": {"VmRSS": 1_500}}
    monkeypatch.setattr(background, "proc_kib", lambda path, field: figures[path][field])
    assert background.memory_to_spare(0.5)
    assert not background.memory_to_spare(0.9)
    monkeypatch.setattr(background, "proc_kib", lambda path, field: None)
    assert background.memory_to_spare(10.0)  # unknown: no reason to hold back


def test_meminfo_parses_this_machine():
    from pathlib import Path

    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc")
    assert background.proc_kib("/proc/meminfo", "MemAvailable") > 0
    assert background.proc_kib("/proc/self/status", "VmRSS") > 0
    assert background.proc_kib("/proc/self/status", "NoSuchField") is None


def test_in_threads_returns_by_key_and_raises_the_first_failure_in_order():
    from linkage.background import in_threads

    assert in_threads({"a": lambda: 1, "b": lambda: 2}, 2) == {"a": 1, "b": 2}

    def fail(message):
        def job():
            raise ValueError(message)
        return job

    for threads in (1, 3):
        with pytest.raises(ValueError, match="first"):
            in_threads({"ok": lambda: 0, "x": fail("first"), "y": fail("second")}, threads)
