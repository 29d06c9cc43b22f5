"""Write an audit's outputs: findings.parquet/.csv, report.html, report.xlsx, summary.json.

Files are written into a temporary sibling directory and swapped into place,
so a run that fails or is killed midway leaves the previous output intact.
Findings files hold no timestamps, so the same input gives the same bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .explain import SEVERITY

if TYPE_CHECKING:
    from .result import AuditResult

#: Characters that make a spreadsheet cell a formula (formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows of the "All" sheet: Excel's limit is 1,048,576; people read far fewer.
XLSX_ALL_CAP = 100_000


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix cells that a spreadsheet would run as a formula with a quote."""
    s = values.astype("string")
    risky = s.str.startswith(FORMULA_START).fillna(False)
    return s.where(~risky, "'" + s)


def sort_by_severity(findings: pd.DataFrame) -> pd.DataFrame:
    """Mislinks first, then invalid, review, ok; lowest score first within each."""
    order = findings["status"].astype(str).map(SEVERITY)
    return findings.assign(_o=order).sort_values(["_o", "score", "source", "record_id"], kind="mergesort").drop(
        columns="_o")


def summary_dict(result: "AuditResult") -> dict[str, Any]:
    f = result.findings
    by = {}
    for (source, status, reason), n in f.groupby(["source", "status", "reason"], observed=True).size().items():
        by.setdefault(source, {}).setdefault(status, {})[reason] = int(n)
    meta = dict(result.meta)
    return {
        "records_out": int(len(f)),
        "by_status": result.counts(),
        "by_source_status_reason": by,
        **meta,
    }


def write_outputs(result: "AuditResult", out: Path, lang: str | None = None) -> dict[str, Path]:
    """Write every output file into ``out`` atomically; return their paths."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    unmasked = bool(result.meta.get("parameters", {}).get("unmask"))
    try:
        paths = _write_all(result, tmp, lang or result.meta.get("parameters", {}).get("lang", "en"))
        if unmasked:
            for p in paths.values():
                os.chmod(p, 0o600)
        os.chmod(tmp, 0o700 if unmasked else 0o755)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {k: out / p.name for k, p in paths.items()}


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``; the old directory survives until the new one is in place."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def _write_all(result: "AuditResult", d: Path, lang: str) -> dict[str, Path]:
    f = result.findings
    paths = {
        "parquet": d / "findings.parquet",
        "csv": d / "findings.csv",
        "html": d / "report.html",
        "xlsx": d / "report.xlsx",
        "summary": d / "summary.json",
    }
    f.to_parquet(paths["parquet"], index=False)
    safe = f.copy()
    for col in ("record_id", "evidence", "my_number", "suggested_my_number"):
        safe[col] = neutralise(safe[col])
    safe.to_csv(paths["csv"], index=False, encoding="utf-8-sig", lineterminator="\n")
    from .report_html import render_html
    from .report_xlsx import write_xlsx

    paths["html"].write_text(render_html(result, lang), encoding="utf-8")
    write_xlsx(result, paths["xlsx"], lang)
    paths["summary"].write_text(json.dumps(summary_dict(result), ensure_ascii=False, indent=2, sort_keys=True,
                                           default=str) + "\n", encoding="utf-8")
    return paths
