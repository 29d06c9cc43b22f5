"""The exported reports as their readers meet them, and the auditor's tools in Python.

report.xlsx is read back with openpyxl (sheets, frozen header, autofilter,
widths, Japanese font, neutralised formula cells, capped All sheet);
report.html is checked for self-containment, counts, masking, escaping and
languages; ``explain``, ``households``, ``plot`` and ``_repr_html_`` on the
hand-made cases; and the command line's ``--config``, logging and progress.
"""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from handmade import BANK, HANAKO, ICHIRO, INSURANCE, KEN, RESIDENTS, TARO, bank_row, run_cli, write_csvs
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import linkage
from linkage import plot
from linkage.audit import FINDINGS_COLUMNS
from linkage.cli import MaskNumbers, Progress, app
from linkage.explain import SEVERITY
from linkage.report_html import render_html
from linkage.report_xlsx import FONT, SHEETS, sheet_rows_xml, write_xlsx

# Record ids a spreadsheet would run as formulas, and text that needs XML escaping.
RISKY_IDS = ["=1+1", "+81-3", "-5", "@SUM(A1)", "<b>&x_x0041_\x07"]
EXTRA = pd.DataFrame([bank_row(rid, number, holder, f"20000{i}")
                      for i, (rid, number, holder) in enumerate(zip(
                          RISKY_IDS, [TARO, KEN, KEN, KEN, KEN],
                          ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｻﾄｳ ｹﾝ", "=ｻﾄｳ", "ｻﾄｳ ｹﾝ", "ｻﾄｳ ｹﾝ"]))])
STATUS_SHEETS = {"Mislinks": "mislink", "Review": "review", "Invalid": "invalid"}


@pytest.fixture(scope="module")
def result() -> linkage.AuditResult:
    return linkage.audit(RESIDENTS, bank=pd.concat([BANK, EXTRA], ignore_index=True), insurance=INSURANCE)


@pytest.fixture(scope="module")
def out(result, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report") / "out"
    result.write(d)
    return d


@pytest.fixture(scope="module")
def workbook(out) -> openpyxl.Workbook:
    return openpyxl.load_workbook(out / "report.xlsx")


def data_rows(ws) -> list[tuple]:
    """Rows below the header (row 1 is the note, row 2 the header)."""
    return [r for r in ws.iter_rows(min_row=3, values_only=True) if any(v is not None for v in r)]


def decode(text: str) -> str:
    """Undo Excel's _xHHHH_ escape (openpyxl hands it over as stored)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def full_numbers() -> list[str]:
    return list(RESIDENTS["my_number"])


# --- report.xlsx ----------------------------------------------------------------

def test_workbook_has_the_five_sheets_in_order(workbook):
    assert workbook.sheetnames == list(SHEETS)


@pytest.mark.parametrize("sheet", ["Mislinks", "Review", "Invalid", "All"])
def test_findings_sheets_have_frozen_header_filter_widths_and_font(workbook, result, sheet):
    ws = workbook[sheet]
    rows = data_rows(ws)
    header = [c.value for c in ws[2]]
    assert header == FINDINGS_COLUMNS
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == f"A2:H{2 + len(rows)}"
    assert all(c.font.b for c in ws[2])
    assert ws["A3"].font.name == FONT  # the workbook default: cells show Japanese
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEFGH"}
    assert widths["G"] >= 60  # evidence is long
    assert all(8 <= w <= 101 for w in widths.values())
    expected = len(result.findings) if sheet == "All" else result.counts()[STATUS_SHEETS[sheet]]
    assert len(rows) == expected
    if sheet != "All":
        assert {r[3] for r in rows} == {STATUS_SHEETS[sheet]}


def test_all_sheet_is_sorted_by_severity_and_keeps_values(workbook, result):
    rows = data_rows(workbook["All"])
    severity = [SEVERITY[r[3]] for r in rows]
    assert severity == sorted(severity)
    got = {(r[0], decode(r[1]).removeprefix("'")): r for r in rows}
    for f in result.findings.itertuples():
        r = got[(f.source, f.record_id)]
        assert (r[2], r[3], r[4]) == (f.my_number, f.status, f.reason)
        assert r[5] == pytest.approx(f.score)
        assert r[6] == f.evidence


def test_formula_cells_are_neutralised(workbook):
    seen = set()
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                assert cell.data_type != "f"
                if isinstance(v, str):
                    assert not v.startswith(("=", "+", "-", "@")), (ws.title, cell.coordinate, v)
                    if v.startswith("'"):
                        seen.add(v[1:])
    assert {"=1+1", "+81-3", "-5", "@SUM(A1)"} <= seen


def test_control_characters_and_markup_survive_as_text(workbook):
    ids = [r[1] for r in data_rows(workbook["All"])]
    # Excel's _xHHHH_ escape: the bell character and a literal "_x0041_" read back as written.
    assert "<b>&x_x0041_\x07" in [decode(i) for i in ids]


def test_all_sheet_is_capped_and_says_where_the_rest_is(result, tmp_path):
    path = tmp_path / "capped.xlsx"
    write_xlsx(result, path, cap=5)
    wb = openpyxl.load_workbook(path)
    ws = wb["All"]
    assert len(data_rows(ws)) == 5
    note = ws["A1"].value
    assert "findings.parquet" in note and f"{len(result.findings):,}" in note and "5" in note
    assert ws.auto_filter.ref == "A2:H7"
    # A sheet under the cap says what it holds, not that it is capped.
    assert "findings.parquet" not in wb["Review"]["A1"].value


def test_japanese_workbook(result, tmp_path):
    path = tmp_path / "ja.xlsx"
    write_xlsx(result, path, lang="ja")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["概要", "誤登録", "要確認", "不備", "全件"]
    assert [c.value for c in wb["全件"][2]][:3] == ["ソース", "レコードID", "個人番号"]
    assert len(data_rows(wb["全件"])) == len(result.findings)


def test_summary_sheet_counts(workbook, result):
    ws = workbook["Summary"]
    values = {(r[0], r[2]) for r in ws.iter_rows(values_only=True) if r[0] in result.counts()}
    assert values == set(result.counts().items())
    assert f"{len(result.findings):,}" in ws["A1"].value


def test_workbook_masks_numbers(workbook):
    text = "\n".join(str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row)
    assert not any(n in text for n in full_numbers())


ROW_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ROW_TEXT, st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))),
                min_size=1, max_size=5))
def test_bulk_rows_are_well_formed_xml_that_reads_back(rows):
    df = pd.DataFrame({"text": pd.array([t for t, _ in rows], dtype="string"),
                       "score": pd.array([x for _, x in rows], dtype="Float64")})
    root = ET.fromstring(f"<sheetData>{sheet_rows_xml(df, first_row=2)}</sheetData>")
    assert [r.get("r") for r in root] == [str(3 + i) for i in range(len(rows))]
    for row, (text, score) in zip(root, rows):
        cells = {c.get("r")[0]: c for c in row}
        if text:
            t = cells["A"].find("is/t").text or ""
            back = decode(t)
            expected = "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
            assert back == expected.replace("\r", "\n") or back == expected
        else:
            assert "A" not in cells
        if score is None:
            assert "B" not in cells
        else:
            assert float(cells["B"].find("v").text) == score


# --- report.html ----------------------------------------------------------------

def test_html_is_self_contained(out):
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.I)
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*stylesheet|@import|url\((?!#)", page, re.I)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for name in plot.CHARTS:  # every chart drawn in the page itself
        assert f'<figure class="chart" id="chart-{name}">' in page
    assert "<svg" not in page and "<img" not in page


def test_html_shows_the_counts_and_every_finding_that_needs_action(out, result):
    page = (out / "report.html").read_text(encoding="utf-8")
    for status, n in result.counts().items():
        assert f'data-status="{status}" data-count="{n}"' in page
    act = result.findings[result.findings["status"] != "ok"]
    assert page.count("<tr class=\"row-") == len(act)
    assert f"{len(result.findings):,}" in page
    # Most severe first: the first listed row is a mislink.
    assert re.search(r'<tr class="row-(\w+)"', page).group(1) == "mislink"


def test_html_masks_numbers_and_escapes_text(out):
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not any(n in page for n in full_numbers())
    assert "<b>&x" not in page and "&lt;b&gt;&amp;x" in page


def test_html_cap_and_language(result):
    page = render_html(result, "ja", cap=2)
    assert '<html lang="ja">' in page and "誤登録" in page and "指摘事項" in page
    assert page.count("<tr class=\"row-") == 2
    assert "findings.csv" in page and 'id="capped"' in page


def test_html_with_nothing_to_act_on():
    bank = BANK[BANK["record_id"].isin(["b-ok-width", "b-ok-small"])]
    page = render_html(linkage.audit(RESIDENTS, bank=bank))
    assert 'id="none"' in page and "<script>" not in page


# --- drill-down in Python -----------------------------------------------------------

def test_explain_parent_account_on_child_card(result):
    ex = result.explain("b-household")
    assert list(ex.index) == ["my_number", "name", "fam", "giv", "birth", "sex", "addr", "household", "total"]
    assert ex.attrs["reason"] == "HOUSEHOLD_MEMBER" and ex.attrs["status"] == "mislink"
    # The child holds the card; the account holder's given name is the father's.
    assert ex.loc["fam", "level"].startswith("agree") and ex.loc["giv", "level"].startswith("differ")
    assert ex.loc["giv", "suggested_level"].startswith("agree")
    assert ex.loc["giv", "weight"] < 0 < ex.loc["giv", "suggested_weight"]
    assert ex.loc["total", "suggested_weight"] > ex.loc["total", "weight"]
    assert ex.loc["household", "suggested_level"] == "same household"
    assert ex.loc["birth", "level"] == "not compared" and ex.loc["birth", "weight"] == 0
    assert ex.loc["my_number", "card_holder"].endswith(ICHIRO[-4:])
    assert ex.loc["my_number", "suggested"].endswith(TARO[-4:])
    text = ex.to_csv()
    assert ICHIRO not in text and TARO not in text


def test_explain_insurance_case_compares_every_field(result):
    ex = result.explain("i-birth", source="insurance", lang="ja")
    assert ex.loc["birth", "field"] == "生年月日"
    assert ex.loc["birth", "record_key"] == "1990-01-10" and ex.loc["birth", "card_holder_key"] == "1990-01-01"
    assert ex.loc["birth", "level"].startswith("近似")
    assert ex.loc["sex", "level"] == "一致" and ex.loc["sex", "weight"] > 0
    assert "suggested" not in ex.columns  # nobody fits better: the card holder stays


def test_explain_weights_add_up_to_the_total(result):
    for rid in ("b-ok-width", "i-sex", "i-other"):
        ex = result.explain(rid)
        parts = ex.loc[["fam", "giv", "birth", "sex", "addr"], "weight"].sum()
        assert ex.loc["total", "weight"] == pytest.approx(parts, abs=0.05)


def test_explain_unknown_and_invalid_numbers(result):
    ex = result.explain("i-invalid-zeros")
    assert ex.loc["my_number", "level"] == "invalid number"
    assert ex.loc["name", "card_holder"] == "(no card holder)"
    assert ex.loc["total", "weight"] != ex.loc["total", "weight"]  # NaN: there is no card holder to weigh
    with pytest.raises(KeyError, match="nope"):
        result.explain("nope")


def test_explain_redacts_names_when_the_audit_did(tmp_path):
    r = linkage.audit(RESIDENTS, bank=BANK, redact_names=True)
    ex = r.explain("b-household")
    assert "山田" not in ex.to_csv() and "ﾀﾛｳ" not in ex.loc["name", "record"]


def test_households_with_several_mislinks(result):
    hh = result.households()
    assert list(hh.columns) == ["household", "mislinks", "records", "reasons"]
    row = hh.set_index("household").loc["H1"]  # the Yamada household: several cards carry others' records
    assert row["mislinks"] >= 2 and "bank:b-household" in row["records"]
    assert (hh["mislinks"] >= 2).all() and hh["mislinks"].is_monotonic_decreasing


def test_chart_data_add_up(result):
    f = result.findings
    assert plot.by_source_status(f).to_numpy().sum() == len(f)
    assert plot.score_histogram(f).to_numpy().sum() == len(f)
    reasons = plot.by_reason(f)
    assert "OK" not in set(reasons["reason"]) and reasons["count"].sum() == (f["status"] != "ok").sum()


def test_plot(result):
    fig = result.plot()
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "Records by source and status"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue().startswith(b"\x89PNG")


def test_repr_html_is_a_compact_summary(result):
    text = result._repr_html_()
    assert len(text) < 4000
    for status, n in result.counts().items():
        assert f"{status} <b>{n:,}</b>" in text
    assert "&lt;b&gt;" not in text or "<b>&x" not in text
    assert not any(n in text for n in full_numbers())


# --- the command line: config file, logs, progress --------------------------------------

cli = run_cli


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return write_csvs(tmp_path_factory.mktemp("cfg"))


def test_config_file_keeps_options_and_the_command_line_overrides(inputs, tmp_path):
    cfg = inputs / "linkage.toml"
    cfg.write_text('[audit]\nresidents = "residents.csv"\nbank = "bank.csv"\ninsurance = "insurance.csv"\n'
                   'out = "nightly"\nlang = "ja"\nfail-on = "mislink"\nlog-level = "info"\n', encoding="utf-8")
    proc = cli("audit", "--config", str(cfg), cwd=tmp_path)  # paths are relative to the config file
    assert proc.returncode == 3, proc.stderr
    out = inputs / "nightly"
    assert json.loads((out / "summary.json").read_text())["parameters"]["lang"] == "ja"
    assert '<html lang="ja">' in (out / "report.html").read_text(encoding="utf-8")
    # Logs at info: stages and counts, never a number or a name; no progress bar off a terminal.
    assert "stage compare" in proc.stderr and "mislink HOUSEHOLD_MEMBER" in proc.stderr
    assert "\r" not in proc.stderr
    for n in full_numbers():
        assert n not in proc.stderr + proc.stdout
    for name in list(RESIDENTS["name"]) + list(BANK["holder_kana"]):
        assert not name or name not in proc.stderr + proc.stdout
    manual = tmp_path / "manual"
    res = CliRunner().invoke(app, ["audit", "--config", str(cfg), "--lang", "en", "--out", str(manual),
                                   "--log-level", "warning"])
    assert res.exit_code == 3
    assert json.loads((manual / "summary.json").read_text())["parameters"]["lang"] == "en"
    assert "INFO" not in res.stderr


@pytest.mark.parametrize("text, words", [
    ('colour = "red"\n', "unknown option 'colour'"),
    ("residents = \n", "not valid TOML"),
    ("residents = 3\n", "must be a path"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, text, words):
    cfg = tmp_path / "linkage.toml"
    cfg.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", "--config", str(cfg)])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and words in res.stderr


def test_log_filter_masks_any_twelve_digits():
    record = __import__("logging").LogRecord("linkage", 20, __file__, 1, "number %s in %s", (TARO, "x"), None)
    MaskNumbers().filter(record)
    assert TARO not in record.getMessage() and TARO[-4:] in record.getMessage()
    spaced = __import__("logging").LogRecord("linkage", 20, __file__, 1, f"{HANAKO[:4]}-{HANAKO[4:8]}-{HANAKO[8:]}",
                                             (), None)
    MaskNumbers().filter(spaced)
    assert HANAKO[:8] not in spaced.getMessage().replace("-", "")


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_only_on_a_terminal(tty):
    stream = FakeTerminal(tty)
    p = Progress(stream)
    for stage in ("read", "normalise", "compare", "write"):
        p(stage)
    p.close()
    text = stream.getvalue()
    if tty:
        assert "[" in text and "10/10 write" in text and "compare" in text
    else:
        assert text == ""
