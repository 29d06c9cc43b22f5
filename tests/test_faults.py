"""Faults while writing: a killed run, a full disk, an output directory that
cannot be used.  The previous output always survives whole, and the same
input always gives the same findings bytes."""
from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from handmade import BANK, INSURANCE, run_cli, write_csvs

import linkage
from linkage import report
from linkage.synth import generate_world, write_world

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
OUTPUTS = set(report.OUTPUT_NAMES)


cli = run_cli


def audit_args(d: Path, out: Path) -> list[str]:
    return ["audit", "--residents", str(d / "residents.csv"), "--bank", str(d / "bank.csv"),
            "--insurance", str(d / "insurance.csv"), "--out", str(out)]


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def scratch(out: Path) -> list[Path]:
    """Temporary siblings of ``out`` (``.<out>.*``)."""
    return sorted(out.parent.glob(f".{out.name}.*"))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(autouse=True)
def quick_page(monkeypatch):
    """In-process writes here are about files, not pages: skip drawing the charts."""
    monkeypatch.setattr("linkage.report_html.render_html", lambda result, *a, **k: "<!DOCTYPE html><p>report</p>")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return write_csvs(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def small_result(small):
    return linkage.audit(small / "residents.csv", bank=small / "bank.csv", insurance=small / "insurance.csv")


# ------------------------------------------------------------- killed run
def test_killed_run_leaves_previous_output_intact(tmp_path, small_result):
    world = tmp_path / "world"
    write_world(generate_world(20_000, 6), world)
    out = tmp_path / "out"
    small_result.write(out)
    before = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "linkage.cli", *audit_args(world, out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    partial: list[str] = []
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                partial = [f.name for p in scratch(out) if ".tmp-" in p.name for f in p.iterdir()]
            except FileNotFoundError:  # swapped away between listing and looking inside
                partial = []
            if partial:
                proc.send_signal(signal.SIGKILL)  # midway through writing: some files are there
                break
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed while writing"
    assert partial and set(partial) <= OUTPUTS
    assert snapshot(out) == before  # same files, same bytes: nothing half-written replaced them
    assert scratch(out), "the killed run's scratch directory is expected to be left behind"
    # the next run clears the dead run's scratch and replaces the output whole
    small_result.write(out)
    assert scratch(out) == [] and set(snapshot(out)) == OUTPUTS


# ------------------------------------------------------------ determinism
def test_same_input_same_findings_bytes_across_processes(tmp_path):
    outs = [tmp_path / f"o{seed}" for seed in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "linkage.cli", *audit_args(SAMPLES, o)],
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
             for seed, o in zip((1, 2), outs)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    a, b = (snapshot(o) for o in outs)
    for name in ("findings.csv", "findings.parquet"):
        assert a[name] == b[name], name
    # summary.json differs only in its timings (the reports show them too)
    sa, sb = (json.loads(x["summary.json"]) for x in (a, b))
    sa.pop("timings_s"), sb.pop("timings_s")
    assert sa == sb


def test_findings_follow_the_input_order(small, small_result):
    f = small_result.findings
    again = linkage.audit(small / "residents.csv", bank=small / "bank.csv", insurance=small / "insurance.csv")
    pd.testing.assert_frame_equal(f, again.findings)
    assert list(f["source"]) == ["bank"] * len(BANK) + ["insurance"] * len(INSURANCE)
    assert list(f["record_id"]) == list(BANK["record_id"]) + list(INSURANCE["record_id"])


# ------------------------------------------------------------- full disk
def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_is_a_clear_error_and_keeps_previous_output(tmp_path, small_result):
    out = tmp_path / "out"
    small_result.write(out)
    before = snapshot(out)
    # writes past 40 kB fail (EFBIG, as a full disk fails with ENOSPC); Python ignores SIGXFSZ
    proc = cli(*audit_args(SAMPLES, out), preexec_fn=_file_size_limit(40_000))
    assert proc.returncode in (1, 2)
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("linkage: ") and "too large" in err.lower()
    assert snapshot(out) == before and scratch(out) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_write_failure_midway_keeps_previous_output(tmp_path, small_result, monkeypatch, code):
    out = tmp_path / "out"
    small_result.write(out)
    before = snapshot(out)

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("linkage.report_xlsx.write_xlsx", fail)  # after the findings files are written
    with pytest.raises(OSError) as info:
        small_result.write(out)
    assert info.value.errno == code
    assert snapshot(out) == before and scratch(out) == []


# ------------------------------------------------- unusable output places
def test_output_under_a_file_is_a_clear_error(tmp_path, small):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    proc = cli(*audit_args(small, blocker / "out"))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and str(blocker) in err
    assert blocker.read_text() == "not a directory"


def test_output_that_is_a_file_is_refused(tmp_path, small_result):
    target = tmp_path / "out"
    target.write_text("keep me")
    with pytest.raises(NotADirectoryError):
        small_result.write(target)
    assert target.read_text() == "keep me" and scratch(target) == []


def test_output_directory_with_other_files_is_refused_not_emptied(tmp_path, small):
    # e.g. --out pointing at the input directory: replacing it would delete the inputs
    before = snapshot(small)
    proc = cli(*audit_args(small, small))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "did not write" in err and "residents.csv" not in err
    assert snapshot(small) == before and scratch(small) == []


def test_output_place_can_be_checked_before_a_long_audit(tmp_path, small_result):
    report.check_output_dir(tmp_path / "new")  # missing: fine
    small_result.write(tmp_path / "old")
    report.check_output_dir(tmp_path / "old")  # a previous output: fine
    (tmp_path / "old" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        report.check_output_dir(tmp_path / "old")
    with pytest.raises(NotADirectoryError):
        report.check_output_dir(tmp_path / "old" / "notes.txt")


def test_previous_output_and_desktop_files_may_be_replaced(tmp_path, small_result):
    out = tmp_path / "out"
    small_result.write(out)
    (out / ".DS_Store").write_bytes(b"\0")
    small_result.write(out)
    assert set(snapshot(out)) == OUTPUTS


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_parent_is_a_clear_error(tmp_path, small_result):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            small_result.write(parent / "out")
    finally:
        parent.chmod(0o700)


# ----------------------------------------------------- the swap itself
def test_swap_without_atomic_exchange(tmp_path, small_result, monkeypatch):
    monkeypatch.setattr(report, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    small_result.write(out)
    small_result.write(out)
    assert set(snapshot(out)) == OUTPUTS and scratch(out) == []


def test_output_set_aside_by_a_killed_swap_is_put_back(tmp_path, small_result, monkeypatch):
    out = tmp_path / "out"
    small_result.write(out)
    before = snapshot(out)
    aside = out.with_name(f".{out.name}.old-{dead_pid()}")
    out.rename(aside)  # the moment between the two renames of the fallback swap
    monkeypatch.setattr("linkage.report_xlsx.write_xlsx", lambda *a, **k: (_ for _ in ()).throw(OSError(
        errno.ENOSPC, "No space left on device")))
    with pytest.raises(OSError):
        small_result.write(out)  # fails, but first puts the set-aside output back
    assert snapshot(out) == before and scratch(out) == []


def test_scratch_of_a_live_run_is_left_alone(tmp_path, small_result):
    out = tmp_path / "out"
    live = out.with_name(f".{out.name}.tmp-{os.getppid()}-abc")  # our parent process is alive
    live.mkdir()
    (live / "findings.csv").write_text("in progress")
    small_result.write(out)
    assert (live / "findings.csv").read_text() == "in progress"
