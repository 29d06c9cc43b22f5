"""Write an audit's outputs: findings.parquet/.csv, report.html, report.xlsx, summary.json.

Files are written into a temporary sibling directory and swapped into place,
so a run that fails or is killed midway leaves the previous output intact.
Findings files hold no timestamps, so the same input gives the same bytes.
"""
from __future__ import annotations

import codecs
import errno
import glob
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from collections.abc import Collection
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
    if isinstance(values.dtype, pd.StringDtype):
        s = values
    else:
        try:
            s = values.astype("string[pyarrow]")
        except UnicodeEncodeError:  # a lone surrogate has no Arrow form
            s = values.astype("string")
    risky = s.str.startswith(FORMULA_START).fillna(False)
    return s.where(~risky, "'" + s) if risky.any() else s


def write_csv(findings: pd.DataFrame, path: Path) -> None:
    """findings.csv: UTF-8 with a BOM (so Excel opens it), text quoted, written by Arrow's CSV writer."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(findings, preserve_index=False)
    with open(path, "wb") as fh:
        fh.write(codecs.BOM_UTF8)
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(quoting_style="needed"))


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


#: The files an audit writes; an existing output directory may hold only these.
OUTPUT_NAMES = ("findings.parquet", "findings.csv", "report.html", "report.xlsx", "summary.json")
#: Files a desktop adds to any directory; replacing them loses nothing.
_DESKTOP_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_SCRATCH = re.compile(r"\.(?:tmp|old)-(\d+)(?:-.*)?")


def write_outputs(result: "AuditResult", out: Path, lang: str | None = None) -> dict[str, Path]:
    """Write every output file into ``out`` atomically; return their paths.

    The files go to a temporary sibling directory that is swapped with ``out``
    in one step, so a run that fails or is killed leaves the previous output
    intact.  Raises ``NotADirectoryError`` when ``out`` is a file and
    ``FileExistsError`` when it holds files an audit did not write (they would
    be lost), ``OSError`` when the disk is full or not writable.
    """
    out = Path(out).resolve()
    check_output_dir(out, expected=None)  # not a file; its contents are checked once the names are known
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_scratch(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    unmasked = bool(result.meta.get("parameters", {}).get("unmask"))
    try:
        paths = _write_all(result, tmp, lang or result.meta.get("parameters", {}).get("lang", "en"))
        check_output_dir(out, expected={p.name for p in paths.values()})  # exactly what gets replaced
        for p in paths.values():
            if unmasked:
                os.chmod(p, 0o600)
            _fsync(p)
        os.chmod(tmp, 0o700 if unmasked else 0o777 & ~_umask())  # mkdtemp made it 0700
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {k: out / p.name for k, p in paths.items()}


def check_output_dir(out: str | os.PathLike[str], expected: Collection[str] | None = OUTPUT_NAMES) -> None:
    """Raise ``NotADirectoryError`` when ``out`` is a file, ``FileExistsError``
    when it is a directory holding files other than ``expected`` outputs
    (replacing it would delete them; ``None`` skips this).  A missing or empty
    directory, or a previous output, is fine.  Callers may check before a long
    audit; ``write_outputs`` always checks, with the names it wrote."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
    if expected is None:
        return
    foreign = [p for p in out.iterdir() if p.name not in expected and p.name not in _DESKTOP_FILES]
    if foreign:  # counted, not named: file names can be personal too
        raise FileExistsError(
            errno.EEXIST,
            f"holds {len(foreign)} file(s) that linkage did not write, which replacing the directory would "
            "delete: give a new or empty directory, or a previous linkage output",
            str(out),
        )


def _clean_scratch(out: Path) -> None:
    """Remove temporary siblings left by killed runs (their process is gone);
    put back a previous output that a killed swap left aside."""
    prefix = f".{out.name}"
    for p in out.parent.glob(glob.escape(prefix) + ".*"):
        m = _SCRATCH.fullmatch(p.name[len(prefix):])
        if not m or not p.is_dir() or _alive(int(m[1])):
            continue
        if p.name.startswith(f"{prefix}.old-") and not out.exists():
            os.rename(p, out)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _umask() -> int:
    """The process umask (masked outputs get the permissions it allows, no more)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # elsewhere: read it by setting it (restored at once)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # no permission to signal it: it exists
        return True
    return True


def _swap(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in the place of ``out``.

    Where the system can exchange two directories in one step (Linux
    ``renameat2``), ``out`` is never missing; elsewhere the old directory is
    moved aside first and survives until the new one is in place.
    """
    if not out.exists():
        os.rename(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous output
    else:
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    _fsync(out.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel or a file system without exchange
    raise OSError(err, os.strerror(err), str(b))


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    write_csv(safe, paths["csv"])
    from .report_html import render_html
    from .report_xlsx import write_xlsx

    paths["html"].write_text(render_html(result, lang), encoding="utf-8")
    write_xlsx(result, paths["xlsx"], lang)
    paths["summary"].write_text(json.dumps(summary_dict(result), ensure_ascii=False, indent=2, sort_keys=True,
                                           default=str) + "\n", encoding="utf-8")
    return paths
