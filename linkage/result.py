"""The audit result: findings, summary, drill-down and export."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .audit import STATUSES, Context


@dataclass
class AuditResult:
    """What :func:`linkage.audit` returns.

    ``findings`` is the contract's findings table (one row per bank and
    insurance record), ``summary`` the counts by source, status and reason.
    """

    findings: pd.DataFrame
    context: Context = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """Counts by source, status and reason (only combinations that occur)."""
        f = self.findings
        out = (f.groupby(["source", "status", "reason"], observed=True).size().rename("count").reset_index())
        order = {s: i for i, s in enumerate(STATUSES)}
        out = out.sort_values(["source", "status", "count"], key=lambda s: s.map(order) if s.name == "status"
                              else (-s if s.name == "count" else s), kind="mergesort")
        return out.reset_index(drop=True)

    @property
    def timings(self) -> dict[str, float]:
        """Wall time per stage, seconds."""
        return dict(self.context.timings)

    def counts(self) -> dict[str, int]:
        """Records per status."""
        vc = self.findings["status"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATUSES}

    def write(self, directory: str | Path, **kwargs: Any) -> dict[str, Path]:
        """Write findings.parquet/.csv, report.html, report.xlsx and summary.json
        into ``directory`` atomically (a failed write leaves the old files)."""
        from .report import write_outputs

        return write_outputs(self, Path(directory), **kwargs)

    def _repr_html_(self) -> str:
        c = self.counts()
        total = len(self.findings)
        head = " · ".join(f"<b>{html.escape(k)}</b> {v:,}" for k, v in c.items())
        table = self.summary.to_html(index=False, border=0)
        return (f"<div><p>linkage audit: {total:,} linked records — {head}</p>{table}</div>")

    def __repr__(self) -> str:
        c = self.counts()
        return (f"AuditResult({len(self.findings):,} records: "
                + ", ".join(f"{k} {v:,}" for k, v in c.items()) + ")")
