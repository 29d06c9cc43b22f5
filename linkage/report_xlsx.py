"""report.xlsx: Summary, Mislinks, Review, Invalid and All sheets (xlsxwriter).

Every findings sheet has a line saying what it holds (and, when capped, that
the rest is in findings.parquet), a bold frozen header, an autofilter and
widths fitted to the content; the workbook font shows Japanese.  Text that a
spreadsheet would run as a formula (``= + - @``) is neutralised with a leading
quote, as in findings.csv.

Speed: xlsxwriter spends ~5 µs per cell, which made the capped All sheet
(100,000 rows) dominate a run.  So xlsxwriter writes the structure (formats,
headers, widths, panes, filters, the Summary sheet) and the findings rows are
rendered as worksheet XML in bulk by Arrow string kernels, each distinct value
escaped once, in the same inline-string form xlsxwriter's ``constant_memory``
mode uses, and spliced into the sheets before the file is zipped.  Only the
rows a sheet shows are taken from the findings, in severity order.
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
from .report import (XLSX_ALL_CAP, arrow_column, count_by, neutralise_arrow, severity_order,
                     text_codes)
from .report_html import ACTION_WORDS, COLUMN_WORDS, REASON_WORDS, SOURCE_WORDS

if TYPE_CHECKING:
    import pyarrow as pa

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
_WIDE_RE2 = ("[\\x{1100}-\\x{115f}\\x{2e80}-\\x{a4cf}\\x{ac00}-\\x{d7a3}\\x{f900}-\\x{faff}\\x{fe30}-\\x{fe4f}"
             "\\x{ff00}-\\x{ff60}\\x{ffe0}-\\x{ffe6}]")  # _WIDE for Arrow (RE2)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def write_xlsx(result: "AuditResult", path: Path, lang: str = "en", cap: int = XLSX_ALL_CAP,
               table: "pa.Table | None" = None) -> None:
    """Write the workbook to ``path``: Summary, then the findings sheets, worst first.

    ``table`` is the findings as Arrow (:func:`linkage.report.findings_table`) when the
    caller has them: sort keys and cell text are then taken from it, not converted again.
    """
    lang = lang if lang in LABELS else "en"
    words = LABELS[lang]
    f = result.findings
    order = severity_order(f, table, per_rank=cap)  # every sheet shows at most cap rows of a status
    codes, names = text_codes(f["status"])
    n_by = np.bincount(codes, minlength=len(names))
    codes = codes[order]
    sheets = {}
    for key, s in (("Mislinks", "mislink"), ("Review", "review"), ("Invalid", "invalid"), ("All", None)):
        match = np.flatnonzero(names == s)
        sheets[key] = ((np.flatnonzero(np.isin(codes, match))[:cap], int(n_by[match].sum())) if s else
                       (np.arange(min(cap, len(order))), len(f)))
    shown = np.unique(np.concatenate([at for at, _ in sheets.values()]))  # positions in order, ascending
    rows = f.take(order[shown])
    tails = column_tails(rows, None if table is None else table.take(order[shown]))  # once for every sheet
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False,
                                   "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE,
                                                                 "font_charset": 128}})
    fmt = _formats(wb)
    _summary(wb.add_worksheet(words["Summary"]), result, words, lang, fmt)
    bodies: dict[str, tuple[memoryview, int]] = {}
    for key, (at, n) in sheets.items():
        note = words["sheet_note"][key].format(n=n)
        if n > cap:
            note = words["capped"].format(cap=cap, n=n)
        ws = wb.add_worksheet(words[key])
        pick = np.searchsorted(shown, at)
        _findings_sheet(ws, rows.iloc[pick[:WIDTH_SAMPLE]], len(at), note, n > cap, lang, fmt)
        body = _rows_xml([t.take(pick) for t in tails], len(at), first_row=2)
        bodies[f"xl/worksheets/sheet{ws.index + 1}.xml"] = (body, 2 + min(n, cap))
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
    pivot = (count_by({"source": f["source"], "status": f["status"]})
             .pivot(index="source", columns="status", values="count").reindex(columns=list(order)).fillna(0))
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
    sample = values.head(WIDTH_SAMPLE)
    if isinstance(sample.dtype, pd.StringDtype):  # by Arrow: no Python per value
        import pyarrow.compute as pc

        text = arrow_column(sample)
        widths = pc.add(pc.utf8_length(text), pc.count_substring_regex(text, _WIDE_RE2)).to_numpy(zero_copy_only=False)
        return int(np.nanmax(widths, initial=0))
    s = sample.dropna().astype(str)
    return max((len(t) + len(_WIDE.findall(t)) for t in set(s.tolist())), default=0)


def _findings_sheet(ws, sample: pd.DataFrame, n: int, note: str, capped: bool, lang: str,
                    fmt: dict[str, Any]) -> None:
    """Note, header, widths (fitted to ``sample``, the first rows), frozen panes and a filter over ``n`` rows."""
    cols = list(sample.columns)
    head = COLUMN_WORDS[lang] if lang != "en" else {}  # English: the findings column names, as in findings.csv
    ws.write_string(0, 0, note, fmt["warn"] if capped else fmt["note"])
    for j, c in enumerate(cols):
        label = head.get(c, c)
        ws.write_string(1, j, label, fmt["head"])
        limit = EVIDENCE_WIDTH if c == "evidence" else MAX_WIDTH
        width = max(MIN_WIDTH, _display_width(pd.Series([label])) + 3,
                    min(limit, _display_width(sample[c]) + 2))
        ws.set_column(j, j, width)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, 1 + max(n, 1), max(len(cols) - 1, 0))
    ws.set_landscape()
    ws.repeat_rows(1)


def _lit(text: str) -> "pa.Scalar":
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


#: Characters that need escaping in cell XML, as RE2 (Arrow) patterns.
_TODO_RE2 = r"[&<>_\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]"
_ESCAPED_RE2 = r"(_x[0-9a-fA-F]{4}_)"
_CONTROL_RE2 = r"[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]"
#: What Python's ``\s`` matches (``str.isspace``; none lies above U+3000): cells starting or ending
#: with one keep their spaces (``xml:space="preserve"``).
_SPACES = [chr(i) for i in range(0x3001) if chr(i).isspace()]


def _escape(values: "pa.Array") -> "pa.Array":
    """Cell text as XML: cut to Excel's cell limit, a literal ``_xHHHH_`` escaped as
    ``_x005F_xHHHH_``, control characters as _xHHHH_ (Excel's escape), & < > escaped."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.utf8_slice_codeunits(values, 0, CELL_LIMIT)
    if not pc.any(pc.match_substring_regex(s, _TODO_RE2)).as_py():
        return s
    s = pc.replace_substring_regex(s, _ESCAPED_RE2, r"_x005F\1")
    control = pc.fill_null(pc.match_substring_regex(s, _CONTROL_RE2), False)
    if pc.any(control).as_py():  # rare: each one in Python
        fixed = [_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", t) for t in s.filter(control).to_pylist()]
        s = pc.replace_with_mask(s, control, pa.array(fixed, type=s.type))
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        s = pc.replace_substring(s, char, entity)
    return s


def _string_tails(values: "pd.Series | pa.Array") -> "pa.Array":
    """Per value, the inline-string cell XML after ``r="A1"`` (null where empty: no cell);
    each distinct value is neutralised and escaped once.  ``values`` as text: a Series
    (converted as ``astype("string")`` does) or an Arrow text array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pd.Series):
        text = arrow_column(values if isinstance(values.dtype, pd.StringDtype) else values.astype("string"),
                            pa.large_string())
    else:
        text = pc.cast(values, pa.large_string())
    enc = pc.dictionary_encode(text)
    u = neutralise_arrow(enc.dictionary)
    first, last = pc.utf8_slice_codeunits(u, 0, 1), pc.utf8_slice_codeunits(u, -1)
    spaces = pa.array(_SPACES, type=pa.large_string())
    preserve = pc.or_(pc.is_in(first, value_set=spaces), pc.is_in(last, value_set=spaces))
    tails = pc.binary_join_element_wise(
        _lit(' t="inlineStr"><is><t'), pc.if_else(preserve, _lit(' xml:space="preserve"'), _lit("")), _lit(">"),
        _escape(u), _lit("</t></is></c>"), _lit(""))
    tails = pc.if_else(pc.equal(u, _lit("")), pa.scalar(None, pa.large_string()), tails)  # empty: no cell
    return pc.take(tails, enc.indices)


def _number_tails(values: pd.Series) -> "pa.Array":
    """Per value, the number cell XML after ``r="A1"`` (null where missing or not finite)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    codes, uniques = pd.factorize(x.view(np.int64))  # by bits: 0.0 and -0.0 print differently
    tails = pa.array([f"><v>{v!r}</v></c>" for v in uniques.view(float).tolist()], type=pa.large_string())
    return pc.if_else(pa.array(np.isfinite(x)), pc.take(tails, pa.array(codes)), pa.scalar(None, pa.large_string()))


def column_tails(df: pd.DataFrame, table: "pa.Table | None" = None) -> list["pa.Array"]:
    """Per column, each row's cell XML after ``r="A1"`` (null: no cell); a sheet's rows are
    then :func:`_rows_xml` of these, or of a ``take`` of them.  ``table``: the same rows
    as Arrow (``pa.Table.from_pandas``), whose text columns are used as they are."""
    import pyarrow as pa

    out = []
    for c in df.columns:
        v = df[c]
        numeric = pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
        if numeric:
            out.append(_number_tails(v))
            continue
        arrow = table.column(c) if table is not None else None
        text = arrow is not None and (isinstance(v.dtype, pd.StringDtype) or (
            isinstance(v.dtype, pd.CategoricalDtype) and pa.types.is_dictionary(arrow.type)
            and pa.types.is_string(arrow.type.value_type)))  # str categories: decoding is astype("string")
        out.append(_string_tails(arrow.combine_chunks() if text else v))
    return out


def _rows_xml(tails: list["pa.Array"], n: int, first_row: int) -> memoryview:
    """``<row>`` elements of ``n`` rows from 0-based sheet row ``first_row``, as UTF-8,
    joined by Arrow string kernels (no Python work per cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if n == 0:
        return memoryview(b"")
    rows = pc.cast(pa.array(np.arange(first_row + 1, first_row + 1 + n, dtype=np.int64)), pa.large_string())
    parts: list[Any] = [_lit('<row r="'), rows, _lit(f'" spans="1:{len(tails)}">')]
    for j, t in enumerate(tails):
        cells = pc.binary_join_element_wise(_lit(f'<c r="{xl_col_to_name(j)}'), rows, _lit('"'), t, _lit(""))
        parts.append(pc.fill_null(cells, _lit("")))
    parts += [_lit("</row>"), _lit("")]
    xml = pc.binary_join_element_wise(*parts)
    if isinstance(xml, pa.ChunkedArray):
        xml = xml.combine_chunks()
    offsets = np.frombuffer(xml.buffers()[1], dtype=np.int64)[xml.offset:xml.offset + n + 1]
    return memoryview(xml.buffers()[2])[offsets[0]:offsets[-1]]


def sheet_rows_utf8(df: pd.DataFrame, first_row: int = 1) -> memoryview:
    """``<row>`` elements for ``df`` starting at 0-based sheet row ``first_row``, as UTF-8.

    Strings become inline strings (neutralised, escaped once per distinct
    value), numbers numbers; missing and empty values write no cell.
    """
    return _rows_xml(column_tails(df), len(df), first_row)


def sheet_rows_xml(df: pd.DataFrame, first_row: int = 1) -> str:
    """:func:`sheet_rows_utf8` as text."""
    return bytes(sheet_rows_utf8(df, first_row)).decode("utf-8")


def _splice(data: bytes, path: Path, bodies: dict[str, tuple[memoryview, int]]) -> None:
    """Write the workbook zip to ``path`` with each sheet's body rows inserted."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=ZIP_LEVEL) as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename in bodies:
                body, last = bodies[item.filename]
                head, tail = _split_sheet(content.decode("utf-8"), last)
                content = b"".join((head.encode("utf-8"), body, tail.encode("utf-8")))
            item.compress_type = zipfile.ZIP_DEFLATED
            # the level goes with each entry: an entry copied from another zip would get zlib's default (6)
            zout.writestr(item, content, compresslevel=ZIP_LEVEL)


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
