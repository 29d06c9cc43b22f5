"""report.xlsx: Summary, Mislinks, Review, Invalid and All sheets (xlsxwriter)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xlsxwriter

from .report import XLSX_ALL_CAP, neutralise, sort_by_severity

if TYPE_CHECKING:
    from .result import AuditResult

LABELS = {
    "en": {"Summary": "Summary", "Mislinks": "Mislinks", "Review": "Review", "Invalid": "Invalid", "All": "All",
           "capped": "Only the first {cap:,} of {n:,} records are listed here; every record is in findings.parquet "
                     "and findings.csv.",
           "title": "linkage audit", "records": "linked records"},
    "ja": {"Summary": "概要", "Mislinks": "誤登録", "Review": "要確認", "Invalid": "不備", "All": "全件",
           "capped": "このシートは{n:,}件中の先頭{cap:,}件のみ。全件は findings.parquet と findings.csv にあります。",
           "title": "linkage 点検結果", "records": "件の紐付け"},
}
WIDTHS = {"source": 10, "record_id": 14, "my_number": 15, "status": 9, "reason": 20, "score": 7,
          "evidence": 90, "suggested_my_number": 18, "count": 9}
FONT = "Meiryo UI"  # ships with Japanese Windows; Excel falls back elsewhere


def write_xlsx(result: "AuditResult", path: Path, lang: str = "en", cap: int = XLSX_ALL_CAP) -> None:
    words = LABELS.get(lang, LABELS["en"])
    f = sort_by_severity(result.findings)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    base = wb.add_format({"font_name": FONT, "font_size": 10})
    head = wb.add_format({"font_name": FONT, "font_size": 10, "bold": True, "bg_color": "#DDE4EE", "border": 1})
    title = wb.add_format({"font_name": FONT, "font_size": 14, "bold": True})
    ws = wb.add_worksheet(words["Summary"])
    ws.write(0, 0, f"{words['title']}: {len(f):,} {words['records']}", title)
    summary = result.summary
    _table(ws, summary, 2, head, base)
    for key, status in (("Mislinks", "mislink"), ("Review", "review"), ("Invalid", "invalid")):
        part = f[f["status"] == status]
        _sheet(wb, words[key], part.head(cap), head, base,
               note=words["capped"].format(cap=cap, n=len(part)) if len(part) > cap else None)
    _sheet(wb, words["All"], f.head(cap), head, base,
           note=words["capped"].format(cap=cap, n=len(f)) if len(f) > cap else None)
    wb.close()


def _sheet(wb: xlsxwriter.Workbook, name: str, df: pd.DataFrame, head, base, note: str | None) -> None:
    ws = wb.add_worksheet(name)
    start = 0
    if note:
        ws.write(0, 0, note, base)
        start = 1
    _table(ws, df, start, head, base)


def _table(ws, df: pd.DataFrame, start: int, head, base) -> None:
    cols = list(df.columns)
    for j, c in enumerate(cols):
        ws.write(start, j, c, head)
        ws.set_column(j, j, WIDTHS.get(c, 14), base)
    for j, c in enumerate(cols):
        values = df[c]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            data = values.to_numpy()
            for i, v in enumerate(data):
                if pd.notna(v):
                    ws.write_number(start + 1 + i, j, float(v), base)
        else:
            text = neutralise(values.astype("string")).fillna("").to_numpy(dtype=object)
            for i, v in enumerate(text):
                if v:
                    ws.write_string(start + 1 + i, j, v, base)
    ws.freeze_panes(start + 1, 0)
    if len(cols):
        ws.autofilter(start, 0, start + max(len(df), 1), len(cols) - 1)
