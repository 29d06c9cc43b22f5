"""Bad input through the real command line: nothing lost, nothing leaked.

Every case is one bad file given to ``linkage audit``.  The outcome is either
a one-line error naming the file (and the row and column where they can be
told) with exit status 2 and no traceback, or a finished audit where the
affected rows are ``invalid`` findings.  Either way the invariant holds: the
records that went in (counted by hand below) are the findings that came out.

Errors are checked through the real command line (a subprocess each; they
all start at once on a thread pool).  Finished audits are checked through the
Python API, which runs the same audit, except the cases whose written files
matter (formulas, markup, a huge cell, line endings), which go through the
command line too.
"""
from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import linkage
from handmade import BANK, HANAKO, KEN, KYOKO, RESIDENTS, TARO, num, run_cli

BANK_HEADER = "record_id,my_number,bank_code,branch_code,account_type,account_number,holder_kana"
INS_HEADER = "record_id,my_number,insurer_number,symbol,number,name,name_kana,birth_date,sex,address"
LEADING_ZERO = num("01234567890")  # well-formed, not in the register
NEXT_YEAR = date.today().year + 1


def brow(rid: str, number: str = TARO, holder: str = "ﾔﾏﾀﾞ ﾀﾛｳ", account: str = "1000001") -> str:
    return f"{rid},{number},0001,001,1,{account},{holder}"


def irow(rid: str, birth: str = "1990-01-01", sex: str = "1", number: str = KEN, name: str = "佐藤 健",
         kana: str = "サトウ ケン") -> str:
    return f"{rid},{number},06130012,1,{rid},{name},{kana},{birth},{sex},"


def lines(*rows: str, header: str = BANK_HEADER, end: str = "\n") -> str:
    return end.join([header, *rows]) + end


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], bytes]:
    return lambda d: content.encode(encoding)


def raw(content: bytes) -> Callable[[Path], bytes]:
    return lambda d: content


def xlsx(sheets: dict[str, list[list[object]]]) -> Callable[[Path], bytes]:
    def make(d: Path) -> bytes:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, rows in sheets.items():
            ws = wb.create_sheet(title)
            for r in rows:
                ws.append(r)
        p = d / "_tmp.xlsx"
        wb.save(p)
        data = p.read_bytes()
        p.unlink()
        return data
    return make


def parquet(table: pa.Table) -> Callable[[Path], bytes]:
    def make(d: Path) -> bytes:
        p = d / "_tmp.parquet"
        pq.write_table(table, p)
        data = p.read_bytes()
        p.unlink()
        return data
    return make


@dataclass(frozen=True)
class Case:
    """One bad input file and what must come of it."""

    id: str
    kind: str  # which input is bad: residents, bank or insurance
    make: Callable[[Path], bytes]
    suffix: str = ".csv"
    rows: int | None = None  # records out when the audit runs (counted by hand)
    error: str | None = None  # words of the one-line error when it must stop
    row: int | None = None  # the row the error names (None: no row expected)
    column: str | None = None  # the column the error names
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)  # record_id -> (reason, evidence words)
    cli: bool = False  # a finished audit through the command line too (errors always are)

    @property
    def via_cli(self) -> bool:
        return self.error is not None or self.cli


_bad_numbers = [("n-letters", "12345678901A", "INVALID_MY_NUMBER", "other than digits"),
                ("n-zeros", "000000000000", "INVALID_MY_NUMBER", "all zeros"),
                ("n-11", TARO[:11], "INVALID_MY_NUMBER", "not 12 digits"),
                ("n-13", TARO + "7", "INVALID_MY_NUMBER", "not 12 digits"),
                ("n-empty", "", "INVALID_MY_NUMBER", "is empty"),
                ("n-excel-sci", "6.21498E+11", "INVALID_MY_NUMBER", "other than digits"),
                ("n-negative", "-" + TARO[1:], "INVALID_MY_NUMBER", "not 12 digits"),
                ("n-check", TARO[:11] + str((int(TARO[11]) + 1) % 10), "INVALID_MY_NUMBER", "check digit"),
                ("n-fullwidth", TARO.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "OK", ""),
                ("n-spaced", f"{TARO[:4]} {TARO[4:8]} {TARO[8:]}", "OK", "")]

_bad_births = [("d-future", f"{NEXT_YEAR}-01-01", "BAD_RECORD", "birth_date is in the future"),
               ("d-1850", "1850-06-01", "BAD_RECORD", "birth_date is before 1868"),
               ("d-feb30", "2月30日", "BAD_RECORD", "birth_date is unreadable"),
               ("d-iso-feb30", "1990-02-30", "BAD_RECORD", "birth_date is unreadable"),
               ("d-showa65", "昭和65年1月1日", "BAD_RECORD", "birth_date is unreadable"),
               ("d-showa64-jan8", "昭和64年1月8日", "BAD_RECORD", "birth_date is unreadable"),
               ("d-empty", "", "BAD_RECORD", "birth_date is empty"),
               ("d-era-letter", "H2.1.1", "OK", "")]


def _register_with(*extra: dict) -> Callable[[Path], bytes]:
    frame = pd.concat([RESIDENTS, pd.DataFrame(list(extra))], ignore_index=True)
    return lambda d: frame.to_csv(index=False).encode()


def _resident(**kw: str) -> dict:
    base = dict(my_number=num("30000000001"), name="別人 次郎", name_kana="ベツジン ジロウ", birth_date="1970-01-01",
                sex="1", address="沖縄県那覇市1-1", household_id="H9", relationship="世帯主")
    return {**base, **kw}


CASES = [
    # ------------------------------------------------------ the register
    Case("residents-empty", "residents", raw(b""), error="no residents"),
    Case("residents-header-only", "residents", text("my_number,name,name_kana,birth_date,sex\n"),
         error="no residents"),
    Case("residents-missing-sex", "residents", text("個人番号,氏名,生年月日\n1,2,3\n"), error="missing required column",
         column="sex"),
    Case("residents-same-number-twice", "residents",
         _register_with(_resident(my_number=TARO, name="別人 太郎", name_kana="ベツジン タロウ")),
         rows=len(BANK), expect={"b-ok-width": ("OK", "")}),  # the first register row is the card holder
    Case("residents-bad-rows", "residents",
         _register_with(_resident(my_number="12345"), _resident(my_number=num("30000000002"), name="壊\x00れ"),
                        _resident(my_number=num("30000000003"), birth_date="1850-01-01"),
                        _resident(my_number=num("30000000004"), name="", name_kana="")),
         rows=len(BANK), expect={"b-ok-width": ("OK", "")}),
    # ------------------------------------------------------- empty tables
    Case("empty-file", "bank", raw(b""), rows=0),
    Case("header-only", "bank", text(lines()), rows=0),
    Case("whitespace-only", "bank", text("  \n\t\n\u3000\n\n"), rows=0),
    Case("bom-only", "bank", raw(b"\xef\xbb\xbf"), rows=0),
    # ------------------------------------------------------------ columns
    Case("missing-required-column", "bank", text("record_id,my_number\nB1,1\n"), error="missing required column",
         column="holder_kana"),
    Case("insurance-missing-birth-date", "insurance", text("record_id,my_number,name\nI1,1,x\n"),
         error="missing required column", column="birth_date"),
    Case("duplicate-japanese-alias", "bank", text(f"レコードID,個人番号,マイナンバー,口座名義\nB1,{TARO},{TARO},ﾔﾏﾀﾞ\n"),
         error='duplicate column "my_number"', column="my_number"),
    Case("trailing-delimiter", "bank", text(lines(brow("B1") + ",", brow("B2", holder="") + ",",
                                                   header=BANK_HEADER + ",")),
         rows=2, expect={"B1": ("OK", ""), "B2": ("BAD_RECORD", "holder_kana is empty (row 3)")}),
    # ---------------------------------------------------------- encodings
    Case("eucjp", "bank", text(lines(brow("B1"), brow("B2", KYOKO, "ﾀｶﾊｼ ｷﾖｳｺ")), "euc_jp"), error="EUC-JP",
         row=2),
    Case("utf8-with-cp932-row", "bank",
         raw(lines(brow("B1")).encode() + (brow("B2", HANAKO, "山田 花子") + "\n").encode("cp932")),
         error="not UTF-8", row=3, column="holder_kana"),
    Case("bom-then-cp932", "bank", raw(b"\xef\xbb\xbf" + lines(brow("B1")).encode("cp932")), error="not UTF-8",
         row=2, column="holder_kana"),
    Case("cp932-tsv-japanese-header", "bank",
         text("レコードID\t個人番号\t口座名義カナ\r\nB1\t" + TARO + "\tﾔﾏﾀﾞ ﾀﾛｳ\r\n", "cp932"), rows=1,
         expect={"B1": ("OK", "")}),
    Case("utf16-bom", "bank", text(lines(brow("B1"), brow("B2", holder="")), "utf-16"), rows=2,
         expect={"B1": ("OK", ""), "B2": ("BAD_RECORD", "holder_kana is empty (row 3)")}),
    Case("utf16-without-bom", "bank", text(lines(brow("B1"), brow("B2", holder="")), "utf-16-le"), rows=2,
         expect={"B1": ("OK", ""), "B2": ("BAD_RECORD", "holder_kana is empty (row 3)")}),
    Case("binary-garbage", "bank", raw(random.Random(6).randbytes(4096)), error="", row=-1),
    Case("zip-named-csv", "bank", raw(b"PK\x03\x04" + bytes(200)), error="cannot read as an Excel"),
    # ------------------------------------------------------ line structure
    Case("crlf", "bank", text(lines(brow("B1"), brow("B2"), brow("B3", holder=""), end="\r\n")), rows=3,
         expect={"B3": ("BAD_RECORD", "holder_kana is empty (row 4)")}),
    Case("cr-only", "bank", text(lines(brow("B1"), brow("B2"), brow("B3", holder=""), end="\r")), rows=3,
         expect={"B3": ("BAD_RECORD", "holder_kana is empty (row 4)")}),
    Case("dos-eof-mark", "bank", text(lines(brow("B1")) + "\x1a"), rows=1, expect={"B1": ("OK", "")}),
    Case("ragged-too-many", "bank", text(lines(brow("B1"), brow("B2") + ",extra")), error="8 fields", row=3),
    Case("ragged-too-few", "bank", text(lines(brow("B1"), f"B2,{HANAKO}")), rows=2,
         expect={"B2": ("BAD_RECORD", "holder_kana is empty (row 3)")}),
    Case("unclosed-quote", "bank", text(lines(brow("B1"), brow("B2", holder='"ﾔﾏﾀﾞ'), brow("B3"))),
         error="never closed", row=3),
    Case("embedded-newline", "bank", text(lines(brow("B1"), brow("B2", HANAKO, '"ﾔﾏﾀﾞ\nﾊﾅｺ"'),
                                                brow("B3", holder=""))), rows=3,
         expect={"B2": ("OK", ""), "B3": ("BAD_RECORD", "holder_kana is empty (row 5)")}),
    Case("nul-in-cell", "bank", text(lines(brow("B1"), brow("B2", HANAKO, "ﾔﾏﾀﾞ\x00ﾊﾅｺ"), brow("B3"),
                                           *(brow(f"B{i}") for i in range(4, 12)))), rows=11,
         expect={"B1": ("OK", ""), "B2": ("BAD_RECORD", "holder_kana is unreadable"), "B3": ("OK", "")}),
    Case("nul-in-header", "bank", text("record_id,my_number\x00,holder_kana\n" + brow("B1") + "\n"),
         error="binary data", row=1),
    Case("one-megabyte-field", "bank", text(lines(brow("B1"), brow("B2", HANAKO, "ﾔ" * 1_000_000))), rows=2,
         expect={"B2": ("BAD_RECORD", "holder_kana is unreadable")}, cli=True),
    Case("very-long-line", "bank", text(lines(brow("B1"), brow("B2") + "," * 50_000)), error="fields", row=3),
    # ------------------------------------------------------------- values
    Case("duplicate-record-id", "bank", text(lines(brow("B1"), brow("B1", HANAKO, "ﾔﾏﾀﾞ ﾊﾅｺ"), brow("B2"))),
         rows=3, expect={"B1": ("OK", ""), "B1#row3": ("BAD_RECORD", "record_id repeats the one on row 2 (row 3)"),
                         "B2": ("OK", "")}),
    Case("bad-my-numbers", "bank", text(lines(*(brow(rid, n) for rid, n, _, _ in _bad_numbers))),
         rows=len(_bad_numbers), expect={rid: (reason, words) for rid, _, reason, words in _bad_numbers}),
    Case("bad-birth-dates", "insurance", text(lines(*(irow(rid, b) for rid, b, _, _ in _bad_births),
                                                    header=INS_HEADER)),
         rows=len(_bad_births), expect={rid: (reason, words) for rid, _, reason, words in _bad_births}),
    Case("sex-unknown-codes", "insurance", text(lines(irow("s-0", sex="0"), irow("s-9", sex="9"),
                                                      irow("s-word", sex="男性"), irow("s-empty", sex=""),
                                                      header=INS_HEADER)),
         rows=4, expect={"s-0": ("OK", ""), "s-9": ("OK", ""), "s-word": ("OK", ""), "s-empty": ("OK", "")}),
    Case("sex-outside-code-list", "insurance", text(lines(irow("s-3", sex="3"), irow("s-x", sex="X"),
                                                          irow("s-1", sex="1"), header=INS_HEADER)),
         rows=3, expect={"s-3": ("BAD_RECORD", "sex is not a valid code"),
                         "s-x": ("BAD_RECORD", "sex is not a valid code"), "s-1": ("OK", "")}),
    Case("formulas-and-markup", "bank", text(lines(
        brow("=1+1"), brow("+B2"), brow("-B3"), brow("@B4"), brow("B5", holder="=HYPERLINK(\"http://x\")"),
        brow("<script>alert(1)</script>", "12345"), brow("B7", KEN, "<b>ｲﾉｳｴ</b>"))), rows=7, cli=True,
         expect={"=1+1": ("OK", ""), "-B3": ("OK", ""), "<script>alert(1)</script>": ("INVALID_MY_NUMBER", "")}),
    # -------------------------------------------------------------- Excel
    Case("xlsx-several-sheets", "bank", xlsx({
        "口座": [BANK_HEADER.split(","), brow("B1").split(",")],
        "口座2": [BANK_HEADER.split(","), brow("B9", HANAKO, "ﾔﾏﾀﾞ ﾊﾅｺ").split(",")]}), suffix=".xlsx",
         error="several sheets"),
    Case("xlsx-no-usable-sheet", "bank", xlsx({"メモ": [["説明"]], "空": []}), suffix=".xlsx",
         error="no sheet has the required columns"),
    Case("xlsx-notes-template-and-data", "bank", xlsx({
        "説明": [["このファイルは口座の一覧です"]],
        "ひな形": [BANK_HEADER.split(",")],
        "データ": [BANK_HEADER.split(","), [], brow("B1").split(","), brow("B2", holder="").split(",")]}),
         suffix=".xlsx", rows=2, expect={"B1": ("OK", ""), "B2": ("BAD_RECORD", "holder_kana is empty (row 4)")}),
    Case("xlsx-numbers-and-formulas", "bank", xlsx({"data": [
        BANK_HEADER.split(","),
        ["B1", int(TARO), 1, 1, 1, 1000001, "ﾔﾏﾀﾞ ﾀﾛｳ"],
        ["B2", int(LEADING_ZERO), 1, 1, 1, 1000002, "ﾔﾏﾀﾞ ﾀﾛｳ"],  # Excel dropped the leading zero
        ["B3", TARO, 1, 1, 1, 1000003, "=A1"]]}),  # a formula without a cached value
         suffix=".xlsx", rows=3, expect={"B1": ("OK", ""), "B2": ("UNKNOWN_MY_NUMBER", "not in the register"),
                                         "B3": ("BAD_RECORD", "holder_kana is empty")}),
    # ------------------------------------------------------------ Parquet
    Case("parquet-wrong-types", "bank", parquet(pa.table({
        "record_id": pa.array([1.0, 2.5, None]),
        "my_number": pa.array([int(TARO), int(LEADING_ZERO), None], pa.int64()),
        "holder_kana": pa.array(["ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ", None]),
        "bank_code": pa.array([True, False, None]),
        "tags": pa.array([[1, 2], [], None], pa.list_(pa.int8())),
    })), suffix=".parquet", rows=3,
         expect={"1": ("OK", ""), "2.5": ("UNKNOWN_MY_NUMBER", "not in the register"),
                 "(row 3)": ("INVALID_MY_NUMBER", "is empty")}),
    Case("parquet-bytes-not-utf8", "bank", parquet(pa.table({
        "record_id": ["B1", "B2"], "my_number": [TARO, TARO],
        "holder_kana": pa.array(["ﾔﾏﾀﾞ".encode(), b"\xff\xfe"], pa.binary())})), suffix=".parquet",
         error="not UTF-8", row=2, column="holder_kana"),
    Case("parquet-truncated", "bank", lambda d: parquet(pa.table({"record_id": ["B1"] * 50}))(d)[:-40],
         suffix=".parquet", error="cannot read as a Parquet file"),
]
assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)

NAMES = [n for n in RESIDENTS["name"]] + ["ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾊﾅｺ", "ﾀｶﾊｼ ｷﾖｳｺ", "別人 太郎", "別人 次郎"]
NUMBERS = list(RESIDENTS["my_number"]) + [LEADING_ZERO]


def _write_inputs(case: Case, base: Path) -> dict[str, Path | None]:
    d = base / case.id
    d.mkdir()
    bad = d / f"{case.kind}{case.suffix}"
    bad.write_bytes(case.make(d))
    inputs: dict[str, Path | None] = {"residents": base / "residents.csv", "bank": None, "insurance": None}
    inputs[case.kind] = bad
    if case.kind == "residents":
        inputs["bank"] = base / "bank.csv"
    return inputs


def _run_cli(case: Case, inputs: dict[str, Path | None]) -> subprocess.CompletedProcess:
    args = [a for k, p in inputs.items() if p is not None for a in (f"--{k}", str(p))]
    out = inputs[case.kind].parent / "out"
    return run_cli("audit", *args, "--out", str(out), timeout=120)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Every case's files written, and the command-line runs started (futures)."""
    base = tmp_path_factory.mktemp("bad")
    RESIDENTS.to_csv(base / "residents.csv", index=False)
    BANK.to_csv(base / "bank.csv", index=False)
    inputs = {c.id: _write_inputs(c, base) for c in CASES}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {c.id: pool.submit(_run_cli, c, inputs[c.id]) for c in CASES if c.via_cli}
        yield inputs, futures


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, prepared, capfd) -> None:
    all_inputs, futures = prepared
    inputs = all_inputs[case.id]
    bad = inputs[case.kind]
    if case.via_cli:
        proc = futures[case.id].result()
        console = proc.stdout + proc.stderr
        assert "Traceback" not in console
        if case.error is not None:
            _check_error(case, proc, bad, bad.parent / "out")
        else:
            assert proc.returncode == 0, proc.stderr
            assert f"{case.rows:,} records audited" in proc.stdout
            _check_written(case, bad.parent / "out")
    else:
        result = linkage.audit(inputs["residents"], bank=inputs["bank"], insurance=inputs["insurance"])
        _check_findings(case, result.findings, result.meta["rows_in"])
        captured = capfd.readouterr()
        console = captured.out + captured.err
    for secret in NAMES + NUMBERS:
        assert secret not in console


def _check_error(case: Case, proc: subprocess.CompletedProcess, bad: Path, out: Path) -> None:
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"linkage: {bad}"), err
    assert case.error in err
    if case.row == -1:
        assert ", row " in err
    elif case.row is not None:
        assert f", row {case.row}" in err
    if case.column is not None:
        assert f'"{case.column}"' in err
    assert not out.exists()


def _check_findings(case: Case, findings: pd.DataFrame, rows_in: int) -> None:
    # the invariant: rows in = rows out, and every record exactly once
    assert len(findings) == rows_in == case.rows
    assert not findings.duplicated(["source", "record_id"]).any()
    by_id = findings.set_index("record_id")
    for rid, (reason, words) in case.expect.items():
        assert rid in by_id.index, rid
        got = by_id.loc[rid]
        assert got["reason"] == reason, (rid, got["evidence"])
        assert words in got["evidence"], (rid, got["evidence"])
        if reason in ("BAD_RECORD", "INVALID_MY_NUMBER"):
            assert got["status"] == "invalid"


def _check_written(case: Case, out: Path) -> None:
    """The same invariant in every findings file the command line wrote."""
    findings = pd.read_parquet(out / "findings.parquet")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    csv = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(csv) == len(findings) == summary["records_out"]
    _check_findings(case, findings, summary["rows_in"])


def _out(prepared, case_id: str) -> Path:
    inputs, futures = prepared
    case = next(c for c in CASES if c.id == case_id)
    assert futures[case_id].result().returncode == 0
    return inputs[case_id][case.kind].parent / "out"


def test_a_megabyte_of_garbage_stays_out_of_the_reports(prepared) -> None:
    out = _out(prepared, "one-megabyte-field")
    for name in ("findings.csv", "report.html", "summary.json"):
        assert (out / name).stat().st_size < 200_000, name


def test_formula_cells_are_neutralised(prepared) -> None:
    out = _out(prepared, "formulas-and-markup")
    csv = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert {"'=1+1", "'+B2", "'-B3", "'@B4", "B5"} <= set(csv["record_id"])
    for col in csv.columns:
        assert not csv[col].str.match(r"[=+\-@\t\r]").any(), col
    wb = openpyxl.load_workbook(out / "report.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), (ws.title, cell.value)


def test_markup_in_values_is_escaped_in_the_page(prepared) -> None:
    out = _out(prepared, "formulas-and-markup")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "\\u003cscript" in page
    assert "<script>alert(1)" not in page and "<b>ｲﾉｳｴ</b>" not in page


# ----------------------------------------------------- validation helpers
def test_register_numbers_used_twice_are_listed_by_row() -> None:
    from linkage.validate import duplicate_numbers

    register = pd.DataFrame({"my_number": [TARO, HANAKO, f"{TARO[:4]}-{TARO[4:8]}-{TARO[8:]}", "12345", None, HANAKO,
                                           TARO],
                             "_row": [2, 3, 4, 5, 6, 7, 9]})
    dups = duplicate_numbers(register)
    assert dups.to_dict("list") == {"position": [2, 5, 6], "row": [4, 7, 9], "first_position": [0, 1, 0],
                                    "first_row": [2, 3, 2]}
    assert TARO not in dups.to_string() and duplicate_numbers(register.iloc[:2]).empty


@pytest.mark.parametrize("value,garbled", [
    ("ﾔﾏﾀﾞ ﾀﾛｳ", False), ("山田\u3000太郎", False), ("ﾔﾏﾀﾞ\nﾀﾛｳ", False), ("ﾔﾏﾀﾞ\tﾀﾛｳ", False), (None, False),
    ("ﾔﾏﾀﾞ\ufffdﾀﾛｳ", True), ("ﾔﾏﾀﾞ\x00", True), ("\x1bｱ", True), ("ｱ\x7f", True), ("\x90ｱ", True),
    ("ｱ" * 1000, False), ("ｱ" * 1001, True),
])
def test_garbled_values(value, garbled) -> None:
    from linkage.validate import garbled as is_garbled

    assert is_garbled(pd.Series([value, "ok"], dtype=object)).tolist() == [garbled, False]


def test_sex_outside_the_code_list_is_a_bad_record_when_the_reason_is_kept() -> None:
    from linkage.validate import record_problems

    records = pd.DataFrame({"source": ["insurance", "insurance", "bank"], "record_id": ["I1", "I2", "B1"],
                            "name": ["佐藤 健"] * 3, "name_kana": [None] * 3, "holder_kana": ["ｻﾄｳ ｹﾝ"] * 3,
                            "birth_date": ["1990-01-01"] * 3, "sex_reason": ["not a sex code", None, "not a sex code"],
                            "_row": [2, 3, 4]})
    assert record_problems(records).tolist() == ["unreadable|sex|2|", None, None]


def test_nul_inside_dataframe_cells_does_not_merge_values() -> None:
    """pandas' hashing stops at a NUL: 'ﾔﾏﾀﾞ\\x00A' and 'ﾔﾏﾀﾞ\\x00B' must not become one value."""
    import linkage

    bank = pd.DataFrame({"record_id": ["N1", "N2", "N3"], "my_number": [TARO, TARO, TARO],
                         "holder_kana": ["ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ\x00ｱ", "ﾔﾏﾀﾞ ﾀﾛｳ\x00ｲ"]})
    f = linkage.audit(RESIDENTS, bank=bank).findings.set_index("record_id")
    assert len(f) == 3
    assert f.loc["N1", "status"] == "ok"
    assert f.loc["N2", "reason"] == "BAD_RECORD" and f.loc["N3", "reason"] == "BAD_RECORD"


def test_the_first_bad_table_in_order_is_named_although_tables_are_read_at_once(tmp_path) -> None:
    """Residents, bank and insurance are read concurrently; the error is still
    the one a one-by-one read would raise first."""
    from handmade import write_csvs

    d = write_csvs(tmp_path)
    (d / "bank.csv").write_text("record_id,my_number\nb1,1\n", encoding="utf-8")  # columns missing
    (d / "insurance.csv").write_bytes(b"\x00\xff garbage")
    with pytest.raises(linkage.InputError, match="bank"):
        linkage.audit(d / "residents.csv", bank=d / "bank.csv", insurance=d / "insurance.csv")
    (d / "residents.csv").write_text("nothing,useful\n1,2\n", encoding="utf-8")
    with pytest.raises(linkage.InputError, match="residents"):
        linkage.audit(d / "residents.csv", bank=d / "bank.csv", insurance=d / "insurance.csv")
