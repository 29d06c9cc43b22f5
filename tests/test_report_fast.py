"""Writing an audit's files fast gives the same files.

The bulk paths (one Arrow table for findings.parquet and findings.csv, an
Arrow sort, sheet XML joined by Arrow kernels, the page's rows escaped in one
call, chart tables from codes) are checked against the straightforward pandas
code they replace, kept here as references.  report.xlsx and findings.csv
are written by a forked process at scale: its files equal
in-process ones, its errors surface here as the same exception, a failure
here stops it, and without ``fork`` everything is written in-process.
"""
from __future__ import annotations

import dataclasses
import errno
import io
import os
import re
import signal
import time
import zipfile
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from handmade import BANK, INSURANCE, RESIDENTS
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import xl_col_to_name

import linkage
from linkage import plot, report, report_html, report_xlsx
from linkage.explain import SEVERITY
from linkage.background import Forked
from linkage.report import (FORMULA_START, as_str, count_by, findings_table, neutralise,
                            neutralise_arrow, severity_order, text_codes, text_is)
from linkage.synth import generate_world

OUTPUTS = ("findings.parquet", "findings.csv", "report.html", "summary.json")
NASTY = ["=x", " lead", "trail\u3000", "\u3000both ", "a\x00b", "_x0041_", "<&>\"'", "", "x" * 33_000, "\t=tab",
         "line\nbreak\n", "'quoted", "日本語テキスト", "-1", "@", "\r", "\x07bell", "ｶ) ﾔﾏﾀﾞ"]


# --- references: the code the fast paths replace ------------------------------------

def reference_sort(f: pd.DataFrame) -> pd.DataFrame:
    order = f["status"].astype(str).map(SEVERITY)
    keys = f.assign(_o=order)
    # pandas' hash tables stop a string at a NUL ("a\x00" sorts as "a": their rows keep their input
    # order), so text is sorted as its rank among the distinct values in Python's order (missing last).
    for c in ("source", "record_id"):
        if isinstance(f[c].dtype, pd.StringDtype):  # (mixed Python objects: pandas decides, as the code does)
            values = f[c].astype(object).where(f[c].notna(), None).tolist()
            rank = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
            keys[c] = pd.array([rank.get(v) for v in values], dtype="Float64")
    order = keys.reset_index(drop=True).sort_values(["_o", "score", "source", "record_id"], kind="mergesort").index
    return f.iloc[order]


def reference_csv(f: pd.DataFrame, path: Path) -> bytes:
    safe = f.copy()
    for col in ("record_id", "evidence", "my_number", "suggested_my_number"):
        safe[col] = neutralise(safe[col])
    report.write_csv(safe, path)
    return path.read_bytes()


def reference_rows_xml(df: pd.DataFrame, first_row: int) -> str:
    """The per-value Python rendering of sheet rows (inline strings, numbers by repr)."""
    def escape(s: str) -> str:
        s = s[:report_xlsx.CELL_LIMIT]
        s = re.sub(r"(_x[0-9a-fA-F]{4}_)", r"_x005F\1", s)
        s = re.sub(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]", lambda m: f"_x{ord(m.group(0)):04X}_", s)
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def cell(v, numeric: bool) -> str:
        if numeric:
            x = pd.to_numeric(pd.Series([v]), errors="coerce").to_numpy(dtype=float, na_value=np.nan)[0]
            return f"><v>{float(x)!r}</v></c>" if np.isfinite(x) else ""
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return ""
        t = str(v)
        t = "'" + t if t.startswith(FORMULA_START) else t
        if t == "":
            return ""
        keep = ' xml:space="preserve"' if re.match(r"^\s", t) or re.search(r"\s$", t) else ""
        return f' t="inlineStr"><is><t{keep}>{escape(t)}</t></is></c>'

    out = []
    for i, values in enumerate(df.itertuples(index=False)):
        r = first_row + 1 + i
        cells = []
        for j, (c, v) in enumerate(zip(df.columns, values)):
            numeric = pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
            tail = cell(v, numeric)
            cells.append(f'<c r="{xl_col_to_name(j)}{r}"{tail}' if tail else "")
        out.append(f'<row r="{r}" spans="1:{len(df.columns)}">{"".join(cells)}</row>')
    return "".join(out)


REFERENCE_ROW = jinja2.Environment(autoescape=True, keep_trailing_newline=True).from_string(
    '<tr class="row-{{ r.status }}" data-status="{{ r.status }}" data-reason="{{ r.reason }}" '
    'data-source="{{ r.source }}" data-household="{{ r.household }}"><td>{{ source_words.get(r.source, r.source) }}'
    '</td><td class="id">{{ r.record_id }}</td><td class="mn">{{ r.my_number }}</td><td><span class="badge '
    's-{{ r.status }}">{{ status_words[r.status] }}</span></td><td>{{ r.reason }}</td><td class="num">'
    '{{ r.score }}</td><td class="ev">{{ r.evidence }}</td><td class="mn">{{ r.suggested_my_number }}</td></tr>\n')


# --- fixtures -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def world_result() -> linkage.AuditResult:
    """Thousands of records, households with several mislinks."""
    w = generate_world(1500, 3, rate_scale=10)
    return linkage.audit(w.residents, bank=w.bank, insurance=w.insurance)


@pytest.fixture(scope="module")
def nasty_result() -> linkage.AuditResult:
    """Text a spreadsheet or a page must neutralise or escape, ties and gaps in the sort keys."""
    base = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE)
    f = base.findings.copy()
    n = len(f)
    f["evidence"] = pd.array([NASTY[i % len(NASTY)] for i in range(n)], dtype="string")
    f["record_id"] = pd.array([NASTY[(i + 3) % len(NASTY)][:20] + str(i % 3) for i in range(n)], dtype="string")
    f.loc[f.index[::3], "suggested_my_number"] = pd.NA
    score = f["score"].to_numpy().copy()
    score[::4], score[1::5], score[2::5] = np.nan, -0.0, 0.0
    f["score"] = score
    return dataclasses.replace(base, findings=f)


def children() -> set[int]:
    """Child processes of this one (Linux), zombies included."""
    out = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text().split()
        out |= {int(x) for x in text}
    return out


@pytest.fixture
def no_new_children():
    """Fails a test that leaves a child process behind (other tests' helpers may live on)."""
    before = children()
    yield
    assert children() <= before


def xlsx_parts(path: Path) -> dict[str, bytes]:
    stamp = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*<")  # the workbook's creation time
    with zipfile.ZipFile(path) as z:
        return {n: stamp.sub(b"", z.read(n)) for n in z.namelist()}


@pytest.fixture
def parallel(monkeypatch):
    """Force the forked writer on small results (and count the forks)."""
    forks = []
    real = os.fork

    def fork() -> int:
        forks.append(1)
        return real()

    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(os, "fork", fork)
    return forks


pytestmark = [pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/task").exists(),
                                 reason="the forked writer runs on Linux"),
              pytest.mark.usefixtures("no_new_children")]


# --- the forked writer --------------------------------------------------------------

@pytest.mark.parametrize("name", ["world_result", "nasty_result"])
def test_forked_write_gives_the_in_process_files(name, request, tmp_path, monkeypatch, parallel):
    result = request.getfixturevalue(name)
    result.write(tmp_path / "par")
    assert parallel == [1]
    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 10**12)
    result.write(tmp_path / "seq")
    assert parallel == [1]
    for n in OUTPUTS:
        assert (tmp_path / "par" / n).read_bytes() == (tmp_path / "seq" / n).read_bytes(), n
    assert xlsx_parts(tmp_path / "par" / "report.xlsx") == xlsx_parts(tmp_path / "seq" / "report.xlsx")


def test_findings_files_are_what_pandas_writes(nasty_result, tmp_path, parallel):
    f = nasty_result.findings
    nasty_result.write(tmp_path / "out")
    f.to_parquet(tmp_path / "ref.parquet", index=False)
    assert (tmp_path / "out" / "findings.parquet").read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    assert (tmp_path / "out" / "findings.csv").read_bytes() == reference_csv(f, tmp_path / "ref.csv")
    back = pd.read_csv(tmp_path / "out" / "findings.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert not back["evidence"].str.startswith(FORMULA_START).any()


def test_error_in_the_child_is_raised_here_and_keeps_the_previous_output(world_result, tmp_path, monkeypatch,
                                                                          parallel):
    out = tmp_path / "out"
    world_result.write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "report.xlsx")

    monkeypatch.setattr("linkage.report_xlsx.write_xlsx", full)  # replaced before the fork: the child runs it
    with pytest.raises(OSError) as info:
        world_result.write(out)
    assert (info.value.errno, info.value.strerror, info.value.filename) == (
        errno.ENOSPC, os.strerror(errno.ENOSPC), "report.xlsx")
    assert len(parallel) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(tmp_path.iterdir()) == [out]


class Refused(Exception):
    """An exception of this project's own kind."""


class TwoArgs(Exception):
    """Pickles, but cannot be rebuilt from its args."""

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")


@pytest.mark.parametrize("err, kind, text", [
    (ValueError("bad value"), ValueError, "bad value"),
    (Refused("no"), Refused, "no"),
    (KeyError("k"), KeyError, "'k'"),
    (TwoArgs("broken", "x"), RuntimeError, "TwoArgs: broken at x"),
])
def test_forked_job_raises_its_exception_here(err, kind, text):
    def job() -> None:
        raise err

    child = Forked(job, "writing a file")
    with pytest.raises(kind) as info:
        child.join()
    assert str(info.value) == text


def test_forked_job_killed_by_a_signal_is_an_error():
    child = Forked(lambda: os.kill(os.getpid(), signal.SIGKILL), "writing a file")
    with pytest.raises(RuntimeError, match="writing a file ended with signal 9"):
        child.join()


def test_failure_here_stops_the_child(world_result, tmp_path, monkeypatch, parallel):
    def slow(*args, **kwargs):
        time.sleep(120)

    def broken(*args, **kwargs):
        raise ValueError("page")

    monkeypatch.setattr("linkage.report_xlsx.write_xlsx", slow)
    monkeypatch.setattr("linkage.report_html.render_html", broken)
    start = time.monotonic()
    with pytest.raises(ValueError, match="page"):
        world_result.write(tmp_path / "out")
    assert time.monotonic() - start < 60 and parallel == [1]
    assert list(tmp_path.iterdir()) == []


def test_without_fork_everything_is_written_here(world_result, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.delattr(os, "fork")
    assert not report._parallel(10**9)
    world_result.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(report.OUTPUT_NAMES)


def test_a_failed_fork_falls_back_to_writing_here(world_result, tmp_path, monkeypatch):
    def no_process() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(os, "fork", no_process)
    world_result.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(report.OUTPUT_NAMES)


def test_arrow_thread_pools_work_in_the_child(tmp_path):
    df = pd.DataFrame({"k": pd.array([f"r{i % 997}" for i in range(200_000)], dtype="string"),
                       "x": np.arange(200_000, dtype=float)})
    pq.write_table(pa.Table.from_pandas(df, nthreads=4), tmp_path / "a.parquet")  # the pools run here first
    assert pq.read_table(tmp_path / "a.parquet", use_threads=True).num_rows == len(df)

    def job() -> None:  # threaded reads, a sort and a write in the child
        t = pq.read_table(tmp_path / "a.parquet", use_threads=True)
        t = t.take(pa.compute.sort_indices(t, sort_keys=[("k", "ascending"), ("x", "descending")]))
        pq.write_table(t, tmp_path / "b.parquet")

    old = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("child hangs")))
    signal.alarm(120)
    try:
        Forked(job, "b.parquet").join()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    back = pq.read_table(tmp_path / "b.parquet").to_pandas()
    assert back["k"].is_monotonic_increasing and len(back) == len(df)


# --- bulk paths against their references -------------------------------------------

STATUS = st.sampled_from(["ok", "review", "mislink", "invalid", None])
SCORE = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 0.5, 1.0]), st.floats(0, 1))
TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "B", "", "é", "日本", "a\x00", "_x0041_"]),
                 st.text(max_size=4))
ROWS = st.lists(st.tuples(STATUS, SCORE, st.sampled_from(["bank", "insurance", None]), TEXT), max_size=40)


def frame(rows, source_category: bool) -> pd.DataFrame:
    f = pd.DataFrame({"status": pd.Categorical([r[0] for r in rows], categories=["ok", "review", "mislink", "invalid"]),
                      "score": pd.array([r[1] for r in rows], dtype="float64"),
                      "source": pd.array([r[2] for r in rows], dtype="string"),
                      "record_id": pd.array([r[3] for r in rows], dtype="string")})
    if source_category:  # categories in an order of their own: pandas sorts by it
        f["source"] = pd.Categorical(f["source"].astype(object), categories=["insurance", "bank"])
    return f


@settings(max_examples=300, deadline=None)
@given(ROWS, st.booleans())
def test_severity_order_is_the_pandas_sort(rows, source_category):
    f = frame(rows, source_category)
    ref = reference_sort(f)
    pd.testing.assert_frame_equal(report.sort_by_severity(f), ref)
    table = pa.Table.from_pandas(f, preserve_index=False)
    assert list(severity_order(f, table)) == list(ref.index)


@settings(max_examples=300, deadline=None)
@given(ROWS, st.booleans(), st.integers(0, 6), st.booleans())
def test_severity_order_per_rank_is_the_prefix_of_each_status(rows, source_category, per_rank, with_table):
    f = frame(rows, source_category)
    full = list(reference_sort(f).index)
    rank = f["status"].astype(object).map(report.SEVERITY).to_numpy(dtype=float)
    seen: dict = {}
    expected = []
    for x in full:  # the full order, keeping the first per_rank rows of each status (unknown: one group)
        r = "unknown" if np.isnan(rank[x]) else rank[x]
        seen[r] = seen.get(r, 0) + 1
        if seen[r] <= per_rank:
            expected.append(x)
    table = pa.Table.from_pandas(f, preserve_index=False) if with_table else None
    assert list(severity_order(f, table, per_rank=per_rank)) == expected


def test_severity_order_of_python_objects_is_the_pandas_sort():
    f = frame([("ok", 0.5, "bank", "b"), ("ok", 0.5, "bank", 2), ("ok", 0.5, "bank", "a")], False)
    f["record_id"] = pd.Series(["b", 2, "a"], dtype=object)  # mixed: Arrow refuses, pandas decides
    pd.testing.assert_frame_equal(report.sort_by_severity(f), reference_sort(f))
    assert list(report.sort_by_severity(f)["record_id"]) == [2, "a", "b"]
    assert list(severity_order(f, per_rank=2)) == list(reference_sort(f).index[:2])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
                          st.sampled_from(list(FORMULA_START))), max_size=20))
def test_neutralise_arrow_is_neutralise(values):
    s = pd.Series(values, dtype="string")
    assert neutralise_arrow(pa.array(s)).to_pylist() == pa.array(neutralise(s)).to_pylist()


CELL_TEXT = st.one_of(st.none(), st.sampled_from(NASTY), st.text(st.characters(blacklist_categories=("Cs",)),
                                                                 max_size=12))
CELL_NUMBER = st.one_of(st.none(), st.sampled_from([0.0, -0.0, float("inf"), float("nan"), 1e-300, 0.1]),
                        st.floats())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(CELL_TEXT, CELL_NUMBER, st.sampled_from(["ok", "mislink", None])), min_size=1,
                max_size=12), st.integers(0, 5))
def test_sheet_rows_are_the_per_value_rendering(rows, first_row):
    df = pd.DataFrame({"text": pd.array([r[0] for r in rows], dtype="string"),
                       "score": pd.array([r[1] for r in rows], dtype="float64"),
                       "status": pd.Categorical([r[2] for r in rows])})
    assert report_xlsx.sheet_rows_xml(df, first_row) == reference_rows_xml(df, first_row)
    with_table = report_xlsx.column_tails(df, pa.Table.from_pandas(df, preserve_index=False))
    assert [t.to_pylist() for t in with_table] == [t.to_pylist() for t in report_xlsx.column_tails(df)]


def test_display_width_by_arrow_is_the_python_count():
    values = pd.Series(["ab", "日本語", None, "ｶﾀｶﾅ", "한국어abc", "\u3000x", ""], dtype="string")
    assert report_xlsx._display_width(values) == max(len(v) + len(report_xlsx._WIDE.findall(v))
                                                     for v in values.dropna())
    assert report_xlsx._display_width(pd.Series([None], dtype="string")) == 0


@pytest.mark.parametrize("values", [
    pd.Series(pd.Categorical(["ok", None, "mislink", "ok"])),
    pd.Series(pd.Categorical([2, None, 1], categories=[2, 1, 3])),
    pd.Series(pd.Categorical([], categories=["a"])),
    pd.Series(["bank", None, "insurance"], dtype="string"),
    pd.Series(["x", 1, None], dtype=object),
])
def test_text_codes_are_astype_str(values):
    pd.testing.assert_series_equal(as_str(values), values.astype(str))
    codes, names = text_codes(values)
    assert list(names[codes]) == list(values.astype(str))
    assert list(text_is(values, "ok")) == list(values.astype(str) == "ok")
    other = pd.Series(["u", "v", "u", "w"][:len(values)], dtype="string")
    ref = pd.DataFrame({"a": values.astype(str), "b": other.astype(str)}).groupby(["a", "b"]).size()
    pd.testing.assert_frame_equal(count_by({"a": values, "b": other}), ref.rename("count").reset_index())


def test_findings_table_is_what_pandas_converts(world_result):
    f = world_result.findings
    variants = [f, f.assign(evidence=f["evidence"].astype("string[pyarrow]")), f.copy()]
    variants[2].attrs = {"note": "kept"}
    for g in variants:
        expected = pa.Table.from_pandas(g, preserve_index=False)
        if g.attrs:
            expected = expected.replace_schema_metadata({**expected.schema.metadata,
                                                         b"PANDAS_ATTRS": b'{"note": "kept"}'})
        assert findings_table(g).equals(expected, check_metadata=True)
        buf, ref = io.BytesIO(), io.BytesIO()
        pq.write_table(findings_table(g), buf, compression="snappy")
        g.to_parquet(ref, index=False)
        assert buf.getvalue() == ref.getvalue()
    assert findings_table(f.assign(evidence=f["evidence"].astype(object))) is None  # pandas writes those


def test_chart_tables_and_households_are_what_plot_computes(world_result):
    assert len(plot.households(world_result)) > 1
    f = world_result.findings
    act = report.sort_by_severity(f[f["status"].astype(str) != "ok"])
    ours, theirs = report_html.chart_data(world_result, act), plot.chart_data(world_result)
    assert list(ours) == list(theirs)
    for name in theirs:
        pd.testing.assert_frame_equal(ours[name], theirs[name])


def test_page_rows_are_escaped_as_the_template_escaped():
    d = pd.DataFrame({"status": ["mislink", "review", "<b>"], "reason": ["OK", "A&B", "\"q'"],
                      "source": ["bank", "insurance", "other<"], "household": ["H1", "", "h\x00"],
                      "record_id": ["=1", "<script>", "a\x00b"], "my_number": ["***1", "", "'\""],
                      "score": ["0.100", "", "1.000"], "evidence": NASTY[:3], "suggested_my_number": ["", "x", "&"]},
                     dtype=object)
    words, status_words = report_html.SOURCE_WORDS["ja"], plot.STATUS_WORDS["ja"]
    expected = "".join(REFERENCE_ROW.render(r=r, source_words=words, status_words=status_words)
                       for r in d.to_dict("records"))
    assert str(report_html._rows_html(d, words, status_words)) == expected


def test_without_memory_to_spare_everything_is_written_here(world_result, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(report, "memory_to_spare", lambda share: False)
    forks = []
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or 0)
    assert not report._parallel(10**9)
    world_result.write(tmp_path / "out")
    assert forks == [] and sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(report.OUTPUT_NAMES)
