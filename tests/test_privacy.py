"""Nothing leaked: every output of a run is scanned for the register's numbers,
and the console and logs for names.

The sample world (data/samples) is synthetic; its numbers pass the check digit
like real ones.  Four runs start at once: masked, names redacted (English and
Japanese), and unmasked (which proves the scanner finds what it looks for).
"""
from __future__ import annotations

import functools
import logging
import os
import re
import stat
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import linkage
from linkage.read import read_table

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
RUNS = {
    "masked": ["--log-level", "debug"],
    "redacted": ["--redact-names", "--log-level", "debug"],
    "redacted-ja-unmasked": ["--redact-names", "--lang", "ja", "--unmask"],
    "unmasked": ["--unmask", "--log-level", "debug"],
}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _digits(value: object) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", str(value)))


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {k: read_table(SAMPLES / f"{k}.csv", k) for k in ("residents", "bank", "insurance")}


@pytest.fixture(scope="module")
def numbers(tables) -> set[str]:
    """Every 12-digit number in the inputs: the register's and the records' (even invalid ones)."""
    out = set()
    for df in tables.values():
        out |= {d for d in map(_digits, df["my_number"].dropna()) if len(d) == 12}
    assert len(out) > 300
    return out


def number_forms(n: str) -> list[str]:
    return [n, f"{n[:4]}-{n[4:8]}-{n[8:]}", f"{n[:4]} {n[4:8]} {n[8:]}", n.translate(FULLWIDTH)]


@pytest.fixture(scope="module")
def names(tables) -> tuple[set[str], set[str]]:
    """(whole names, name parts of two or more characters) of everyone in the inputs."""
    whole: set[str] = set()
    for kind, cols in {"residents": ["name", "name_kana"], "bank": ["holder_kana"],
                       "insurance": ["name", "name_kana"]}.items():
        for col in cols:
            whole |= {str(v).strip() for v in tables[kind][col].dropna()}
    parts = {p for n in whole for p in re.split(r"[\s\u3000]+", n) if len(p) >= 2}
    assert len(whole) > 300 and len(parts) > 300
    return whole, parts


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    base = tmp_path_factory.mktemp("privacy")
    started = {}
    for name, extra in RUNS.items():
        out = base / name
        args = ["audit", "--residents", str(SAMPLES / "residents.csv"), "--bank", str(SAMPLES / "bank.csv"),
                "--insurance", str(SAMPLES / "insurance.csv"), "--out", str(out), *extra]
        started[name] = (subprocess.Popen([sys.executable, "-m", "linkage.cli", *args], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True), out)
    done = {}
    for name, (proc, out) in started.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        done[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out)
    return done


def output_texts(out: Path) -> dict[str, str]:
    """Every output file as text, whatever its format: xlsx members, parquet values and metadata."""
    texts: dict[str, str] = {}
    for p in sorted(out.iterdir()):
        data = p.read_bytes()
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for member in z.namelist():
                    texts[f"{p.name}:{member}"] = z.read(member).decode("utf-8", errors="replace")
        elif p.suffix == ".parquet":
            table = pq.read_table(p)
            texts[p.name] = table.to_pandas().to_csv() + str(table.schema.metadata)
            texts[f"{p.name}:bytes"] = data.decode("utf-8", errors="replace")  # statistics are stored plain
        else:
            texts[p.name] = data.decode("utf-8-sig")
    assert {"findings.csv", "findings.parquet", "report.html", "summary.json"} <= set(texts)
    assert any(k.startswith("report.xlsx:xl/worksheets/") for k in texts)
    return texts


_SCRIPT = {"kana": "ぁ-ゖァ-ヺー･-ﾟ", "kanji": "一-鿿々〆豈-﫿", "latin": "A-Za-z"}


def _class(c: str) -> str | None:
    return next((k for k, r in _SCRIPT.items() if re.fullmatch(f"[{r}]", c)), None)


@functools.lru_cache(maxsize=None)
def name_pattern(part: str) -> re.Pattern[str]:
    """``part`` as a word of its own script: ジョン is in スミス ジョン, not in バージョン."""
    before, after = _class(part[0]), _class(part[-1])
    head = f"(?<![{_SCRIPT[before]}])" if before else ""
    tail = f"(?![{_SCRIPT[after]}])" if after else ""
    return re.compile(head + re.escape(part) + tail)


def leaked_names(texts: dict[str, str], whole: set[str], parts: set[str]) -> list[tuple[str, str]]:
    found = []
    for where, text in texts.items():
        if where.endswith(":bytes"):
            continue
        found += [(where, n) for n in whole if n in text]
        found += [(where, p) for p in parts if p in text and name_pattern(p).search(text)]
    return sorted(set(found))


def leaked_numbers(texts: dict[str, str], numbers: set[str]) -> list[tuple[str, str]]:
    found = []
    for where, text in texts.items():
        runs_of_digits = set(re.findall(r"\d{12}", text)) | set(
            re.findall(r"\d{4}[- ]\d{4}[- ]\d{4}", text)) | set(re.findall(r"[０-９]{12}", text))
        for r in runs_of_digits:
            if _digits(r) in numbers:
                found.append((where, "********" + _digits(r)[-4:]))
    return found


@pytest.mark.parametrize("run", ["masked", "redacted"])
def test_no_full_number_in_any_output_or_on_the_console(runs, numbers, run):
    proc, out = runs[run]
    texts = output_texts(out)
    texts["stdout"], texts["stderr"] = proc.stdout, proc.stderr
    assert leaked_numbers(texts, numbers) == []
    assert "********" in texts["findings.csv"]  # masked numbers are shown


def test_the_scan_finds_numbers_when_they_are_unmasked(runs, numbers):
    proc, out = runs["unmasked"]
    texts = output_texts(out)
    leaks = {where.split(":")[0] for where, _ in leaked_numbers(texts, numbers)}
    assert {"findings.csv", "findings.parquet", "report.html", "report.xlsx"} <= leaks
    assert leaked_numbers({"stdout": proc.stdout, "stderr": proc.stderr}, numbers) == []


@pytest.mark.parametrize("run", list(RUNS))
def test_no_name_on_the_console_or_in_the_logs(runs, names, run):
    proc, _ = runs[run]
    whole, parts = names
    console = proc.stdout + proc.stderr
    if RUNS[run].count("debug"):
        assert "linkage: " in proc.stderr  # the logs are there, and on stderr
    assert leaked_names({"console": console}, whole, parts) == []


@pytest.mark.parametrize("run", ["redacted", "redacted-ja-unmasked"])
def test_redact_names_masks_them_in_evidence_and_reports(runs, names, run):
    _, out = runs[run]
    whole, parts = names
    assert leaked_names(output_texts(out), whole, parts) == []
    evidence = pd.read_parquet(out / "findings.parquet")["evidence"]
    assert evidence.str.contains(r"\S\*\* \S\*\*").sum() > 20  # ﾔﾏﾀﾞ ﾀﾛｳ → ﾔ** ﾀ**


def test_names_are_shown_without_redact_names(runs, names):
    _, out = runs["masked"]
    whole, parts = names
    shown = leaked_names({"csv": (out / "findings.csv").read_text(encoding="utf-8-sig")}, whole, parts)
    assert len({n for _, n in shown}) > 100  # the scan finds names where they are meant to be


@pytest.mark.parametrize("run", ["unmasked", "redacted-ja-unmasked"])
def test_unmasked_outputs_are_owner_only(runs, run):
    _, out = runs[run]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name


def test_masked_outputs_are_not_writable_by_others(runs):
    _, out = runs["masked"]
    for p in [out, *out.iterdir()]:
        assert not p.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH), p.name


def test_library_logs_hold_no_numbers_or_names(caplog, numbers, names):
    whole, parts = names
    with caplog.at_level(logging.DEBUG):
        linkage.audit(SAMPLES / "residents.csv", bank=SAMPLES / "bank.csv", insurance=SAMPLES / "insurance.csv")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert leaked_numbers({"log": text}, numbers) == []
    assert leaked_names({"log": text}, whole, parts) == []


def test_errors_name_the_place_but_never_the_value(tmp_path, numbers, names):
    whole, _ = names
    bank = pd.read_csv(SAMPLES / "bank.csv", dtype=str, encoding="utf-8-sig")
    bad = tmp_path / "bank.csv"
    text = bank.head(5).to_csv(index=False)
    # row 4 gets an extra field; row 5 is CP932 in a UTF-8 file
    rows = text.splitlines()
    for variant, content, row in [("ragged", "\n".join(rows[:3] + [rows[3] + ",x"] + rows[4:]).encode(), 4),
                                  ("mixed", "\n".join(rows[:5]).encode() + b"\n" + rows[5].encode("cp932"), 6)]:
        bad.write_bytes(content)
        proc = subprocess.run([sys.executable, "-m", "linkage.cli", "audit", "--residents",
                               str(SAMPLES / "residents.csv"), "--bank", str(bad), "--out", str(tmp_path / "o")],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and f"row {row}" in proc.stderr, (variant, proc.stderr)
        assert leaked_numbers({"stderr": proc.stderr}, numbers) == []
        assert [n for n in whole if n in proc.stderr] == []
        assert not any(cell in proc.stderr for cell in bank.head(5).to_numpy().ravel() if len(str(cell)) > 3)


def test_report_page_loads_nothing_from_elsewhere(runs):
    _, out = runs["masked"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", page)


def test_no_network_during_an_audit(tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    for name in ("create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = linkage.audit(SAMPLES / "residents.csv", bank=SAMPLES / "bank.csv", insurance=SAMPLES / "insurance.csv")
    result.write(tmp_path / "out")
    assert (tmp_path / "out" / "report.html").exists()


@pytest.mark.parametrize("umask,mode", [(0o077, 0o700), (0o022, 0o755)])
def test_masked_outputs_follow_the_umask(tmp_path, umask, mode):
    result = linkage.audit(SAMPLES / "residents.csv", bank=SAMPLES / "bank.csv")
    old = os.umask(umask)
    try:
        result.write(tmp_path / "out")
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == mode  # a strict umask is never widened
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p.name
