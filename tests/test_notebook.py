"""The walkthrough notebook runs from top to bottom, so it can never rot.

It is stored without outputs; here it is executed with nbclient in a fresh
kernel (the test interpreter's), exporting into a temporary directory.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "audit_walkthrough.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from nbclient import NotebookClient

    out = tmp_path_factory.mktemp("nb") / "export"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    old = os.environ.get("LINKAGE_NOTEBOOK_OUT")
    os.environ["LINKAGE_NOTEBOOK_OUT"] = str(out)  # the kernel inherits the environment
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop("LINKAGE_NOTEBOOK_OUT", None)
        else:
            os.environ["LINKAGE_NOTEBOOK_OUT"] = old
    return nb, out


def outputs(cell) -> str:
    """Everything a cell showed, as text (plain, html and streams)."""
    parts = []
    for o in cell.outputs:
        parts.append(o.get("text", ""))
        for kind in ("text/plain", "text/html"):
            parts.append(o.get("data", {}).get(kind, ""))
    return "\n".join(parts)


def test_notebook_runs_and_shows_each_step(executed):
    nb, out = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    shown = [outputs(c) for c in code]
    text = "\n".join(shown)
    assert "linkage audit" in text and "mislink" in text  # the compact summary
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)  # result.plot() inline
    worst = next(t for c, t in zip(code, shown) if "result.households()" in c.source)
    assert "mislinks" in worst and "H0000" in worst  # the worst households are listed
    assert "the card holder's father" in text or "the card holder's mother" in text  # the parent-account case
    assert "family name" in text and "given name" in text and "氏" in text  # explain, in English and Japanese
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "findings.parquet", "report.html",
                                                    "report.xlsx", "summary.json"]
