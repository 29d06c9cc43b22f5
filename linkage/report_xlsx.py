"""report.xlsx: Summary, Mislinks, Review, Invalid and All sheets (xlsxwriter).

Every findings sheet has a line saying what it holds (and, when capped, that
the rest is in findings.parquet), a bold frozen header, an autofilter and
widths fitted to the content; the workbook font shows Japanese.  Text that a
spreadsheet would run as a formula (``= + - @``) is neutralised with a leading
quote, as in findings.csv.

Speed: xlsxwriter spends ~5 µs per cell, which made the capped All sheet
(100,000 rows) dominate a run.  So xlsxwriter writes the structure (formats,
headers, widths, panes, filters, the Summary sheet) and the findings rows are
rendered as worksheet XML in bulk, string values escaped once per distinct
value, in the same inline-string form xlsxwriter's ``constant_memory`` mode
uses, and spliced into the sheets before the file is zipped.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from .plot import STATUS_WORDS, households
from .report import XLSX_ALL_CAP, neutralise, sort_by_severity
from .report_html import ACTION_WORDS, COLUMN_WORDS, REASON_WORDS, SOURCE_WORDS

if TYPE_CHECKING:
    from .result import AuditResult

SHEETS = ("Summary", "Mislinks", "Review", "Invalid", "All")
LABELS = {
    "en": {"Summary": "Summary", "Mislinks": "Mislinks", "Review": "Review", "Invalid": "Invalid", "All": "All",
           "title": "linkage audit", "records": "linked records audited",
           "masked": "My Numbers are masked to their last four digits.",
           "unmasked": "This workbook shows full My Numbers: keep it confidential.",
           "sheet_note": {"Mislinks": "{n:,} records linked to the wrong person, most certain first.",
                          "Review": "{n:,} records that are probably the card holder's but need a look.",
                          "Invalid": "{n:,} records that cannot be judged: fix the number or the field named.",
                          "All": "All {n:,} records, most severe first."},
           "capped": "Only the first {cap:,} of {n:,} records are listed here (a sheet holds at most 1,048,576 "
                     "rows); every record is in findings.parquet and findings.csv.",
           "by_status": "Records by status", "status": "status", "count": "records", "share": "share",
           "what": "what to do", "by_source": "Records by source and status", "source": "source",
           "by_reason": "Records by reason", "reason": "reason", "meaning": "meaning",
           "households": "Households with several mislinks", "household": "household", "mislinks": "mislinks",
           "records_col": "records", "run": "About this run", "key": "item", "value": "value",
           "files": "Every record is in findings.csv (UTF-8 with BOM) and findings.parquet; summary.json has "
                    "the counts, input hashes, versions and timings."},
    "ja": {"Summary": "概要", "Mislinks": "誤登録", "Review": "要確認", "Invalid": "不備", "All": "全件",
           "title": "linkage 点検結果", "records": "件の紐付けを点検",
           "masked": "個人番号は下4桁以外を伏せています。",
           "unmasked": "このブックには個人番号が全桁表示されています。取り扱いに注意してください。",
           "sheet_note": {"Mislinks": "別人に紐付けられた記録 {n:,}件（確度の高い順）。",
                          "Review": "カード所有者本人の可能性が高いが確認が必要な記録 {n:,}件。",
                          "Invalid": "判定できない記録 {n:,}件: 番号または根拠に示す項目を修正してください。",
                          "All": "全{n:,}件（重大な順）。"},
           "capped": "このシートは{n:,}件中の先頭{cap:,}件のみです（1シートは最大1,048,576行）。全件は findings.parquet と "
                     "findings.csv にあります。",
           "by_status": "判定別の件数", "status": "判定", "count": "件数", "share": "割合", "what": "対応",
           "by_source": "ソース・判定別の件数", "source": "ソース", "by_reason": "理由別の件数", "reason": "理由",
           "meaning": "意味", "households": "誤登録が複数ある世帯", "household": "世帯", "mislinks": "誤登録",
           "records_col": "記録", "run": "この実行について", "key": "項目", "value": "値",
           "files": "全件は findings.csv（BOM付きUTF-8）と findings.parquet にあります。件数・入力ファイルのハッシュ・"
                    "バージョン・所要時間は summary.json にあります。"},
}
#: Workbook font: ships with Japanese Windows and shows kana and kanji; Excel substitutes elsewhere.
FONT = "Meiryo UI"
FONT_SIZE = 10
#: Column width limits (characters); CJK characters count twice.
MIN_WIDTH, MAX_WIDTH, EVIDENCE_WIDTH = 8, 40, 100
#: Rows sampled to fit column widths.
WIDTH_SAMPLE = 2_000
#: zlib level of the workbook zip: 1 is several times faster than 6 and the XML still shrinks ~8×.
ZIP_LEVEL = 1
#: Excel's limit on the characters in one cell.
CELL_LIMIT = 32_767

_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")


def write_xlsx(result: "AuditResult", path: Path, lang: str = "en", cap: int = XLSX_ALL_CAP) -> None:
    """Write the workbook to ``path``: Summary, then the findings sheets, worst first."""
    lang = lang if lang in LABELS else "en"
    words = LABELS[lang]
    f = sort_by_severity(result.findings)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False,
                                   "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE,
                                                                 "font_charset": 128}})
    fmt = _formats(wb)
    _summary(wb.add_worksheet(words["Summary"]), result, words, lang, fmt)
    bodies: dict[str, tuple[str, int]] = {}
    status = f["status"].astype(str)
    for key, part in (("Mislinks", f[status == "mislink"]), ("Review", f[status == "review"]),
                      ("Invalid", f[status == "invalid"]), ("All", f)):
        note = words["sheet_note"][key].format(n=len(part))
        if len(part) > cap:
            note = words["capped"].format(cap=cap, n=len(part))
        ws = wb.add_worksheet(words[key])
        body = _findings_sheet(ws, part.head(cap), note, len(part) > cap, lang, fmt)
        bodies[f"xl/worksheets/sheet{ws.index + 1}.xml"] = (body, 2 + min(len(part), cap))
    wb.close()
    _splice(buf.getvalue(), Path(path), bodies)


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    base = {"font_name": FONT, "font_size": FONT_SIZE, "font_charset": 128}
    return {
        "title": wb.add_format({**base, "font_size": 14, "bold": True}),
        "section": wb.add_format({**base, "font_size": 11, "bold": True}),
        "head": wb.add_format({**base, "bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True,
                               "valign": "top"}),
        "note": wb.add_format({**base, "italic": True, "font_color": "#444444"}),
        "warn": wb.add_format({**base, "bold": True, "font_color": "#B3261E"}),
        "int": wb.add_format({**base, "num_format": "#,##0"}),
        "pct": wb.add_format({**base, "num_format": "0.00%"}),
        "text": wb.add_format(base),
    }


def _summary(ws, result: "AuditResult", words: dict[str, Any], lang: str, fmt: dict[str, Any]) -> None:
    """Headline counts, counts by source and by reason, households, run details."""
    f = result.findings
    total = len(f)
    counts = result.counts()
    unmasked = bool(result.meta.get("parameters", {}).get("unmask"))
    ws.write_string(0, 0, f"{words['title']}: {total:,} {words['records']}", fmt["title"])
    ws.write_string(1, 0, words["unmasked"] if unmasked else words["masked"], fmt["warn"] if unmasked else fmt["note"])
    ws.write_string(2, 0, words["files"], fmt["note"])
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 3, 12)
    ws.set_column(4, 4, 70)
    row = 4
    sw = STATUS_WORDS[lang]

    def table(title: str, header: list[str], rows: list[list[Any]], kinds: list[str]) -> None:
        nonlocal row
        ws.write_string(row, 0, title, fmt["section"])
        row += 1
        for j, h in enumerate(header):
            ws.write_string(row, j, h, fmt["head"])
        row += 1
        for values in rows:
            for j, (v, kind) in enumerate(zip(values, kinds)):
                if kind == "int":
                    ws.write_number(row, j, int(v), fmt["int"])
                elif kind == "pct":
                    ws.write_number(row, j, float(v), fmt["pct"])
                else:
                    ws.write_string(row, j, _safe(str(v)), fmt["text"])
            row += 1
        row += 1

    order = ("mislink", "invalid", "review", "ok")
    table(words["by_status"], [words["status"], "", words["count"], words["share"], words["what"]],
          [[s, sw[s], counts.get(s, 0), counts.get(s, 0) / total if total else 0.0, ACTION_WORDS[lang][s]]
           for s in order], ["text", "text", "int", "pct", "text"])
    pivot = pd.crosstab(f["source"].astype(str), f["status"].astype(str)).reindex(columns=list(order), fill_value=0)
    table(words["by_source"], [words["source"]] + [sw[s] for s in order],
          [[SOURCE_WORDS[lang].get(src, src)] + [int(pivot.at[src, s]) for s in order] for src in pivot.index],
          ["text"] + ["int"] * len(order))
    s = result.summary
    rank = {st: i for i, st in enumerate(order)}
    s = s.assign(_o=s["status"].astype(str).map(rank)).sort_values(["source", "_o", "count"],
                                                                   ascending=[True, True, False], kind="mergesort")
    table(words["by_reason"], [words["source"], words["status"], words["reason"], words["count"], words["meaning"]],
          [[SOURCE_WORDS[lang].get(str(r.source), str(r.source)), sw[str(r.status)], str(r.reason), int(r.count),
            REASON_WORDS[lang].get(str(r.reason), "")] for r in s.itertuples()],
          ["text", "text", "text", "int", "text"])
    hh = households(result)
    if len(hh):
        table(words["households"], [words["household"], words["mislinks"], words["reason"], "", words["records_col"]],
              [[h.household, h.mislinks, h.reasons, "", h.records] for h in hh.itertuples()],
              ["text", "int", "text", "text", "text"])
    meta = result.meta
    info: list[list[Any]] = []
    for name, d in meta.get("inputs", {}).items():
        info.append([name, f"{d.get('file', '(DataFrame)')}: {d.get('rows', 0):,} rows"
                     + (f", sha256 {d['sha256']}" if d.get("sha256") else "")])
    if "rows_in" in meta:
        info.append(["rows in / out", f"{meta['rows_in']:,} / {total:,}"])
    info += [[f"version {k}", str(v)] for k, v in meta.get("versions", {}).items()]
    info += [[f"parameter {k}", str(v)] for k, v in meta.get("parameters", {}).items()]
    timings = meta.get("timings_s") or {}
    if timings:
        info.append(["timings (s)", ", ".join(f"{k} {v:g}" for k, v in timings.items())])
    if info:
        ws.write_string(row, 0, words["run"], fmt["section"])
        for k, v in info:
            row += 1
            ws.write_string(row, 0, _safe(k), fmt["text"])
            ws.write_string(row, 1, _safe(v), fmt["text"])


def _safe(text: str) -> str:
    return text if not text.startswith(("=", "+", "-", "@", "\t", "\r")) else "'" + text


def _display_width(values: pd.Series) -> int:
    """Widest value in characters, CJK counted twice (on a sample)."""
    s = values.head(WIDTH_SAMPLE).dropna().astype(str)
    if s.empty:
        return 0
    u = pd.Series(s.unique())
    return int((u.str.len() + u.str.count(_WIDE.pattern)).max())


def _findings_sheet(ws, df: pd.DataFrame, note: str, capped: bool, lang: str, fmt: dict[str, Any]) -> str:
    """Note, header, widths, frozen panes and filter; return the XML rows of the body."""
    cols = list(df.columns)
    head = COLUMN_WORDS[lang] if lang != "en" else {}  # English: the findings column names, as in findings.csv
    ws.write_string(0, 0, note, fmt["warn"] if capped else fmt["note"])
    for j, c in enumerate(cols):
        label = head.get(c, c)
        ws.write_string(1, j, label, fmt["head"])
        limit = EVIDENCE_WIDTH if c == "evidence" else MAX_WIDTH
        width = max(MIN_WIDTH, _display_width(pd.Series([label])) + 3,
                    min(limit, _display_width(df[c]) + 2))
        ws.set_column(j, j, width)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, 1 + max(len(df), 1), max(len(cols) - 1, 0))
    ws.set_landscape()
    ws.repeat_rows(1)
    return sheet_rows_xml(df, first_row=2)


def _escape(values: pd.Series) -> pd.Series:
    """Cell text as XML: control characters as _xHHHH_ (Excel's escape), & < > escaped."""
    s = values.str.slice(0, CELL_LIMIT)
    todo = s.str.contains(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]", regex=True).fillna(False).to_numpy(dtype=bool)
    if not todo.any():
        return s
    t = s[todo]
    t = t.str.replace(_ESCAPED, r"_x005F\1", regex=True)
    t = t.str.replace(_CONTROL, lambda m: f"_x{ord(m.group(0)):04X}_", regex=True)
    t = t.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(
        ">", "&gt;", regex=False)
    s = s.copy()
    s[todo] = t
    return s


def _string_cells(values: pd.Series) -> np.ndarray:
    """Per value, the inline-string cell XML after ``r="A1"`` ('' where empty)."""
    text = values.astype("string")
    if text.str.contains("\x00", regex=False).any():
        # pandas hashes strings up to a NUL only ("a\x00b" == "a"): no dedupe here.
        codes = np.where(text.isna().to_numpy(), -1, np.arange(len(text)))
        uniques = text.to_numpy()
    else:
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
    u = neutralise(pd.Series(uniques, dtype="string"))
    esc = _escape(u)
    preserve = (u.str.match(r"^\s") | u.str.contains(r"\s$", regex=True)).fillna(False).to_numpy(dtype=bool)
    keep = ' xml:space="preserve"'
    tails = np.array([f' t="inlineStr"><is><t{keep if p else ""}>{e}</t></is></c>'
                      for e, p in zip(esc.fillna("").tolist(), preserve)] + [""], dtype=object)
    tails[:-1][(u.fillna("") == "").to_numpy()] = ""  # empty strings: no cell
    return tails[codes]


def _number_cells(values: pd.Series) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    return np.array([f"><v>{v!r}</v></c>" if ok else "" for v, ok in zip(x.tolist(), finite)], dtype=object)


def sheet_rows_xml(df: pd.DataFrame, first_row: int = 1) -> str:
    """``<row>`` elements for ``df`` starting at 0-based sheet row ``first_row``.

    Strings become inline strings (neutralised, escaped once per distinct
    value), numbers numbers; missing and empty values write no cell.
    """
    n = len(df)
    if n == 0:
        return ""
    rows = [str(i) for i in range(first_row + 1, first_row + 1 + n)]
    columns = []
    for j, c in enumerate(df.columns):
        v = df[c]
        numeric = pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
        tails = (_number_cells(v) if numeric else _string_cells(v)).tolist()
        ref = f'<c r="{xl_col_to_name(j)}'
        columns.append([f'{ref}{r}"{t}' if t else "" for r, t in zip(rows, tails)])
    spans = f' spans="1:{len(df.columns)}">'
    return "".join([f'<row r="{r}"{spans}{"".join(cells)}</row>' for r, *cells in zip(rows, *columns)])


def _splice(data: bytes, path: Path, bodies: dict[str, tuple[str, int]]) -> None:
    """Write the workbook zip to ``path`` with each sheet's body rows inserted."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=ZIP_LEVEL) as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename not in bodies:
                zout.writestr(item, content)
                continue
            body, last = bodies[item.filename]
            head, tail = _split_sheet(content.decode("utf-8"), last)
            item.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(item, "w", force_zip64=True) as out:
                out.write(head.encode("utf-8"))
                out.write(body.encode("utf-8"))
                out.write(tail.encode("utf-8"))


_DIMENSION = re.compile(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')


def _split_sheet(xml: str, last: int) -> tuple[str, str]:
    """Split sheet XML where body rows go (end of ``<sheetData>``), with
    ``<dimension>`` widened to row ``last`` (1-based)."""

    def widen(m: re.Match) -> str:
        c1, r1, c2, r2 = m.group(1), m.group(2), m.group(3) or m.group(1), int(m.group(4) or m.group(2))
        return f'<dimension ref="{c1}{r1}:{c2}{max(r2, last)}"/>'

    xml = _DIMENSION.sub(widen, xml, count=1)
    if "</sheetData>" in xml:
        i = xml.index("</sheetData>")
        return xml[:i], xml[i:]
    i = xml.index("<sheetData/>")
    return xml[:i] + "<sheetData>", "</sheetData>" + xml[i + len("<sheetData/>"):]
