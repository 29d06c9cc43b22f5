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


@pytest.mark.parametrize("helper", ["forked", "fresh interpreter"])
def test_tables_keyed_with_a_helper_equal_tables_keyed_here(tmp_path, monkeypatch, helper):
    from linkage.read import read_table
    from linkage.synth import generate_world, write_world

    write_world(generate_world(60, 5, rate_scale=20), tmp_path, fmt="csv")
    given = {k: read_table(tmp_path / f"{k}.csv", k) for k in ("residents", "bank", "insurance")}
    here = tables.prepare_tables(**given, background=False)
    used = []
    monkeypatch.setattr(tables, "can_fork", lambda: helper == "forked")
    monkeypatch.setattr(tables, "Background", lambda *a, **k: used.append("fresh") or Background(*a, **k))
    monkeypatch.setattr(tables, "side_by_side", lambda *a, **k: used.append("forked") or background.side_by_side(*a, **k))
    there = tables.prepare_tables(**given, background=True)
    assert used == (["forked"] if helper == "forked" else ["fresh"])
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


# --- side_by_side: jobs in forked children and here ---------------------------------

def _fail(message):
    def job():
        raise ValueError(message)
    return job


@pytest.mark.parametrize("fork", [True, False])
def test_side_by_side_returns_by_key_the_last_job_here(fork):
    me = os.getpid()
    out = background.side_by_side({"a": os.getpid, "b": lambda: (7, "x"), "c": os.getpid}, fork=fork)
    assert list(out) == ["a", "b", "c"] and out["b"] == (7, "x")
    assert out["c"] == me
    assert (out["a"] != me) is fork  # the first jobs ran in a child only when forking


def test_side_by_side_hands_back_big_results():
    frame = pd.DataFrame({"s": pd.array([f"x{i}" for i in range(300_000)], dtype="string[pyarrow]"),
                          "v": range(300_000)})
    out = background.side_by_side({"child": lambda: frame.iloc[::-1], "here": lambda: None}, fork=True)
    pd.testing.assert_frame_equal(out["child"], frame.iloc[::-1])


@pytest.mark.parametrize("fork", [True, False])
def test_side_by_side_raises_the_first_failure_in_order(fork):
    with pytest.raises(ValueError, match="first"):
        background.side_by_side({"a": _fail("first"), "b": _fail("second")}, fork=fork)
    with pytest.raises(ValueError, match="second"):
        background.side_by_side({"a": lambda: 1, "b": _fail("second")}, fork=fork)
    with pytest.raises(ValueError, match="first"):
        background.side_by_side({"a": _fail("first"), "b": lambda: 2}, fork=fork)


def test_a_child_that_dies_has_its_job_run_here():
    me = os.getpid()
    calls = []

    def job():
        calls.append(os.getpid())
        if os.getpid() != me:
            os.kill(os.getpid(), 9)  # the child is killed (as by the kernel when memory runs out)
        return "done here"

    assert background.side_by_side({"a": job, "b": lambda: 1}, fork=True) == {"a": "done here", "b": 1}
    assert calls == [me]  # the child's append is its own


def test_a_failed_fork_runs_the_jobs_here(monkeypatch):
    def no_process() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_process)
    me = os.getpid()
    assert background.side_by_side({"a": os.getpid, "b": os.getpid}, fork=True) == {"a": me, "b": me}


def test_side_by_side_jobs_leave_the_other_core_to_each_other(monkeypatch):
    monkeypatch.setattr(background, "_taken", 0)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert background.spare_cores() == 1
    spare = background.side_by_side({"a": background.spare_cores, "b": background.spare_cores}, fork=True)
    assert spare == {"a": 0, "b": 0}  # in the child and here
    assert background.spare_cores() == 1  # and given back after
    assert background.side_by_side({"a": background.spare_cores, "b": background.spare_cores},
                                   fork=False) == {"a": 1, "b": 1}


def test_forked_returns_the_jobs_result():
    from linkage.background import Forked

    assert Forked(lambda: {"pid": os.getpid()}, "testing").join()["pid"] != os.getpid()


@pytest.mark.parametrize("memfd", [True, False])
def test_forked_results_come_back_whole_and_writable(monkeypatch, memfd):
    import numpy as np
    import pyarrow as pa

    from linkage.background import Forked

    if not memfd:  # no in-memory file (an old kernel): the result comes through the pipe
        monkeypatch.delattr(os, "memfd_create")
    strings = pd.Series(pd.array([f"名前{i}" if i % 7 else None for i in range(200_000)], dtype="string[pyarrow]"))
    numbers = np.arange(100_000, dtype=np.int64)

    def job():
        return {"strings": strings, "numbers": numbers * 3, "table": pa.table({"x": numbers}), "small": (1, "a"),
                "empty": np.zeros(0)}

    child = Forked(job, "testing")
    assert (child.shared is not None) is memfd
    before = len(os.listdir("/proc/self/fd"))
    out = child.join()
    assert child.shared is None and len(os.listdir("/proc/self/fd")) == before - 1 - memfd  # pipe and file closed
    assert out["numbers"].flags.aligned and out["numbers"].flags.writeable
    pd.testing.assert_series_equal(out["strings"], strings)
    assert (out["numbers"] == numbers * 3).all() and out["table"].column("x").to_pylist()[:3] == [0, 1, 2]
    assert out["small"] == (1, "a") and len(out["empty"]) == 0
    out["numbers"][:10] = -1  # writable, as unpickled arrays are
    assert out["numbers"][0] == -1


def test_a_result_that_cannot_be_handed_back_is_computed_here():
    me = os.getpid()

    def job():
        return (os.getpid(), lambda: None)  # a lambda does not pickle

    out = background.side_by_side({"a": job, "b": lambda: 1}, fork=True)
    assert out["a"][0] == me and out["b"] == 1


def test_the_child_keeps_the_parents_objects_frozen():
    import gc

    from linkage.background import Forked

    assert Forked(gc.get_freeze_count, "testing").join() > 0
    assert gc.get_freeze_count() == 0


def test_an_interruption_stops_the_children(tmp_path):
    import signal
    import time

    pid_file = tmp_path / "pid"

    def slow():
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    def interrupt(*args):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(2)  # while this process waits for the child
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            background.side_by_side({"a": slow, "b": lambda: None}, fork=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - start < 30
    child = int(pid_file.read_text())
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left
        os.waitpid(child, os.WNOHANG)
    assert not os.path.exists(f"/proc/{child}")


# --- Handoff: a value one job makes for another, mid-way ------------------------------

def test_handoff_in_one_process_keeps_the_value_made_once():
    made = []
    h = background.Handoff(lambda: made.append(1) or len(made))
    assert h.give() == 1 and h.take() == 1 and h.take() == 1
    assert made == [1]


def test_handoff_without_a_giver_makes_the_value_where_it_is_taken():
    h = background.Handoff(os.getpid)
    assert h.take() == os.getpid()


@pytest.mark.skipif(not background.can_fork(), reason="no fork here")
def test_handoff_from_a_forked_child_arrives_before_the_child_ends():
    import time

    h = background.Handoff(os.getpid)

    def child_job():
        h.give()
        time.sleep(30)  # the child goes on working long after
        return "late"

    child = background.Forked(child_job, "testing")
    try:
        started = time.perf_counter()
        value = h.take()
        assert time.perf_counter() - started < 20
        assert value == child.pid != os.getpid()  # made in the child, sent through the pipe
    finally:
        child.kill()


@pytest.mark.skipif(not background.can_fork(), reason="no fork here")
def test_handoff_from_a_child_that_dies_first_is_made_here():
    h = background.Handoff(os.getpid)

    def child_job():
        os.kill(os.getpid(), 9)

    child = background.Forked(child_job, "testing")
    assert h.take() == os.getpid()
    with pytest.raises(background.ChildDied):
        child.join()


@pytest.mark.skipif(not background.can_fork(), reason="no fork here")
def test_handoff_through_side_by_side_gives_the_taker_the_givers_value():
    h = background.Handoff(os.getpid)
    out = background.side_by_side({"a": lambda: h.give(), "b": lambda: h.take()}, fork=True)
    assert out["a"] == out["b"] != os.getpid()  # the child's value, in the child and here
    assert h.take() == out["a"]  # kept


@pytest.mark.skipif(not background.can_fork(), reason="no fork here")
def test_handoff_of_a_value_too_big_for_the_pipe_is_made_again_by_the_taker():
    h = background.Handoff(lambda: (os.getpid(), b"x" * 200_000))
    out = background.side_by_side({"a": lambda: h.give()[0], "b": lambda: h.take()[0]}, fork=True)
    assert out["a"] != os.getpid() == out["b"]  # the child was not held up writing it; made here after
