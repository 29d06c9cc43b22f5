"""linkage: finds My Number links that point at the wrong person.

    import linkage
    result = linkage.audit("residents.csv", bank="bank.csv", insurance="insurance.csv")
    result.findings       # one row per linked record: status, reason, evidence, owner
    result.summary        # counts by source, status and reason
    result.write("out/")  # findings.parquet/.csv, report.html, report.xlsx, summary.json

``linkage.normalize`` holds the Japanese-aware keys (kana, kanji variants,
era dates, addresses, My Number), ``linkage.compare`` the comparison levels.
"""
from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from . import compare, normalize
from .audit import Options, run
from .errors import InputError
from .result import AuditResult

__all__ = ["audit", "evaluate", "generate", "AuditResult", "InputError", "normalize", "compare", "__version__"]

try:
    __version__ = metadata.version("linkage")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

Table = pd.DataFrame | str | os.PathLike[str]


def _describe(source: Table | None, rows: int | None) -> dict[str, Any] | None:
    if source is None or rows is None:
        return None
    from .read import file_digest

    info: dict[str, Any] = {"rows": int(rows)}
    if not isinstance(source, pd.DataFrame):
        info["file"] = Path(source).name
        if Path(source).exists():
            info["sha256"] = file_digest(source)
        else:  # a glob pattern (dask engine): every matching file, in order
            import glob
            import hashlib

            combined = hashlib.sha256()
            for f in sorted(glob.glob(os.fspath(source))):
                combined.update(f"{Path(f).name}\0{file_digest(f)}\n".encode())
            info["sha256"] = combined.hexdigest()
    return info


def audit(
    residents: Table,
    bank: Table | None = None,
    insurance: Table | None = None,
    *,
    unmask: bool = False,
    lang: str = "en",
    redact_names: bool = False,
    progress: Callable[[str], None] | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> AuditResult:
    """Audit bank and insurance links against the card-holder register.

    Each table is a DataFrame or a path (CSV in UTF-8/BOM/CP932, Parquet,
    xlsx; English or Japanese headers).  Numbers in the findings are masked
    to their last four digits unless ``unmask``.  ``lang`` ("en" or "ja")
    sets the language of the evidence.  Raises :class:`InputError` for an
    unusable input, naming the file, row and column.

    ``engine="dask"`` runs the same stages on a dask cluster, partition by
    partition, for registers larger than one machine's memory; the findings
    are identical.  Paths may then also be directories or glob patterns of
    Parquet parts.  ``scheduler`` is the address of a running cluster
    (``tcp://host:8786``); without it a local cluster of two worker processes
    is started for the audit.  ``result.explain`` is not available then.
    """
    if bank is None and insurance is None:
        raise ValueError("give bank and/or insurance records to audit")
    if lang not in ("en", "ja"):
        raise ValueError(f"lang must be 'en' or 'ja', not {lang!r}")
    if engine not in ("pandas", "dask"):
        raise ValueError(f"engine must be 'pandas' or 'dask', not {engine!r}")
    if scheduler is not None and engine != "dask":
        raise ValueError("a scheduler address needs engine='dask'")
    opts = Options(unmask=unmask, lang=lang, redact_names=redact_names)
    if engine == "dask":
        from . import dask_engine

        findings, ctx, rows = dask_engine.run(residents, bank, insurance, opts, scheduler=scheduler,
                                              progress=progress)
    else:
        from .background import in_threads
        from .pages import small_pages
        from .read import read_table

        with small_pages():
            started = time.perf_counter()
            # The three tables are read at once (Arrow decodes without the GIL); an error is
            # raised for the first bad table in this order, as if they were read one by one.
            sources = {"residents": residents, "bank": bank, "insurance": insurance}
            read = in_threads({k: partial(read_table, src, k) for k, src in sources.items() if src is not None}, 3)
            res_df, bank_df, ins_df = (read.get(k) for k in sources)
            read_time = time.perf_counter() - started
            findings, ctx = run(res_df, bank_df, ins_df, opts, progress=progress)
        ctx.timings = {"read": read_time, **ctx.timings}
        rows = {k: len(d) for k, d in (("residents", res_df), ("bank", bank_df), ("insurance", ins_df))
                if d is not None}
    rows_in = rows.get("bank", 0) + rows.get("insurance", 0)
    meta = {
        "inputs": {k: v for k, v in {"residents": _describe(residents, rows.get("residents")),
                                     "bank": _describe(bank, rows.get("bank")),
                                     "insurance": _describe(insurance, rows.get("insurance"))}.items()
                   if v is not None},
        "rows_in": int(rows_in),
        "register": ctx.register,
        "versions": {"linkage": __version__, "python": platform.python_version(), "pandas": pd.__version__},
        "parameters": {"unmask": unmask, "lang": lang, "redact_names": redact_names, "engine": engine},
        "timings_s": {k: round(v, 3) for k, v in ctx.timings.items()},
    }
    result = AuditResult(findings=findings, context=ctx, meta=meta)
    meta["households_with_mislinks"] = [{"household": h, "n": int(n)} for h, n in
                                        result.households()[["household", "mislinks"]].itertuples(index=False)]
    return result



def evaluate(truth: Table, findings: Table):
    """Score findings against a generated world's truth (see :mod:`linkage.evaluation`)."""
    from .evaluation import evaluate as _evaluate

    return _evaluate(truth, findings)


def generate(households: int, seed: int = 0, **kwargs: Any):
    """Generate a synthetic world (see :mod:`linkage.synth`)."""
    from .synth import generate_world

    return generate_world(households, seed, **kwargs)
