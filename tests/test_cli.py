"""The command line as a scheduler sees it: files, exit codes, stderr, masking."""
from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from handmade import BANK, INSURANCE, RESIDENTS
from handmade import run_cli as run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("in")
    RESIDENTS.to_csv(d / "residents.csv", index=False)
    BANK.rename(columns={"my_number": "個人番号", "holder_kana": "口座名義カナ"}).to_csv(
        d / "bank.csv", index=False, encoding="utf-8-sig")
    INSURANCE.to_csv(d / "insurance.csv", index=False, encoding="cp932")
    return d


def audit(inputs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run("audit", "--residents", str(inputs / "residents.csv"), "--bank", str(inputs / "bank.csv"),
               "--insurance", str(inputs / "insurance.csv"), "--out", str(out), *extra)


def test_audit_writes_every_output_masked(inputs, tmp_path):
    out = tmp_path / "out"
    proc = audit(inputs, out)
    assert proc.returncode == 0, proc.stderr
    names = {"findings.parquet", "findings.csv", "report.html", "report.xlsx", "summary.json"}
    assert names <= {p.name for p in out.iterdir()}
    assert (out / "findings.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    findings = pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig")
    assert len(findings) == len(BANK) + len(INSURANCE)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["records_out"] == summary["rows_in"] == len(findings)
    # No full My Number anywhere: outputs (xlsx is a zip, so read it back), stdout, stderr.
    texts = [proc.stdout, proc.stderr, (out / "report.html").read_text(), (out / "findings.csv").read_text(),
             (out / "summary.json").read_text(), pd.read_parquet(out / "findings.parquet").to_csv()]
    texts += [df.to_csv() for df in pd.read_excel(out / "report.xlsx", sheet_name=None, dtype=str).values()]
    for number in RESIDENTS["my_number"]:
        assert not any(number in t for t in texts)
    # No name on the console.
    for name in RESIDENTS["name"]:
        assert name not in proc.stdout + proc.stderr


def test_fail_on_mislink_exits_3(inputs, tmp_path):
    proc = audit(inputs, tmp_path / "o", "--fail-on", "mislink")
    assert proc.returncode == 3


def test_unmask_shows_numbers_to_the_owner_only(inputs, tmp_path):
    out = tmp_path / "o"
    proc = audit(inputs, out, "--unmask")
    assert proc.returncode == 0, proc.stderr
    text = (out / "findings.csv").read_text(encoding="utf-8-sig")
    assert any(n in text for n in RESIDENTS["my_number"])
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_missing_column_is_one_line_exit_2(inputs, tmp_path):
    bad = tmp_path / "bank.csv"
    BANK.drop(columns=["record_id"]).to_csv(bad, index=False)
    proc = run("audit", "--residents", str(inputs / "residents.csv"), "--bank", str(bad), "--out",
               str(tmp_path / "o"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "bank.csv" in proc.stderr and "record_id" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [
    ("audit", "--residents", "nope.csv", "--bank", "nope.csv", "--out", "o"),
    ("audit", "--residents", "r.csv", "--out", "o"),
    ("audit", "--no-such-option"),
])
def test_unusable_arguments_exit_2(args, tmp_path):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_failed_run_keeps_previous_output(inputs, tmp_path):
    out = tmp_path / "o"
    assert audit(inputs, out).returncode == 0
    before = (out / "findings.csv").read_bytes()
    bad = tmp_path / "bank.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    proc = run("audit", "--residents", str(inputs / "residents.csv"), "--bank", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert (out / "findings.csv").read_bytes() == before


def test_same_input_same_bytes(inputs, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert audit(inputs, a).returncode == 0 and audit(inputs, b).returncode == 0
    for name in ("findings.csv", "findings.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_japanese_evidence_on_request(inputs, tmp_path):
    out = tmp_path / "o"
    assert audit(inputs, out, "--lang", "ja").returncode == 0
    text = (out / "findings.csv").read_text(encoding="utf-8-sig")
    assert "カード所有者" in text


def test_generate_is_reproducible_and_evaluate_exits_on_limits(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        proc = run("generate", "--out", str(out), "--households", "300", "--seed", "5", "--rate-scale", "5")
        assert proc.returncode == 0, proc.stderr
    for name in ("residents.csv", "bank.csv", "insurance.csv", "truth.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert run("generate", "--out", str(tmp_path / "c"), "--rate", "no_such_kind=0.1").returncode == 2

    audit_out = tmp_path / "audit"
    proc = run("audit", "--residents", str(a / "residents.csv"), "--bank", str(a / "bank.csv"),
               "--insurance", str(a / "insurance.csv"), "--out", str(audit_out))
    assert proc.returncode == 0, proc.stderr
    findings = str(audit_out / "findings.csv")
    ok = run("evaluate", "--truth", str(a / "truth.csv"), "--findings", findings, "--min-recall", "0.5")
    assert ok.returncode == 0, ok.stderr
    assert "mislink recall" in ok.stdout
    # A record missing from the findings always fails the evaluation.
    short = tmp_path / "short.csv"
    pd.read_csv(findings, dtype=str, encoding="utf-8-sig").iloc[1:].to_csv(short, index=False)
    missed = run("evaluate", "--truth", str(a / "truth.csv"), "--findings", str(short))
    assert missed.returncode == 3 and "missing" in (missed.stdout + missed.stderr)
    assert run("evaluate", "--truth", str(tmp_path / "none.csv"), "--findings", findings).returncode == 2
