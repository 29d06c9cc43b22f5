"""Write an audit's outputs: findings.parquet/.csv, report.html, report.xlsx, summary.json.

Files are written into a temporary sibling directory and swapped into place,
so a run that fails or is killed midway leaves the previous output intact.
Findings files hold no timestamps, so the same input gives the same bytes.

Speed: the findings become one Arrow table, for both findings files and the
workbook's sort keys.  From :data:`PARALLEL_MIN_ROWS` rows (Linux, two or
more cores) a forked child (:class:`linkage.background.Forked`) writes
report.xlsx while this process writes findings.parquet, findings.csv,
report.html and summary.json; the child's exception is raised here, a failure here stops the
child, and without ``fork`` everything is written here, one file after another.
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
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .background import Forked, can_fork, memory_to_spare, spare_cores
from .explain import SEVERITY
from .pages import small_pages

if TYPE_CHECKING:
    import pyarrow as pa

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


def neutralise_arrow(values: "pa.Array | pa.ChunkedArray") -> "pa.Array | pa.ChunkedArray":
    """:func:`neutralise` for an Arrow string array, in bulk (nulls stay null): a value is
    risky when its first bytes are one of :data:`FORMULA_START`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = values.cast(pa.binary() if pa.types.is_string(values.type) else pa.large_binary())  # no copy
    starts = [s.encode("utf-8") for s in FORMULA_START]
    risky = None
    for size in sorted({len(b) for b in starts}):
        hit = pc.is_in(pc.binary_slice(raw, 0, size), value_set=pa.array([b for b in starts if len(b) == size]))
        risky = hit if risky is None else pc.or_(risky, hit)
    if not pc.any(risky).as_py():
        return values
    quote, empty = pa.scalar("'", values.type), pa.scalar("", values.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, values, empty), values)


def as_str(values: pd.Series) -> pd.Series:
    """``values.astype(str)``, without converting every row of a categorical one by one."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(str)
    codes, names = text_codes(values)
    return pd.Series(names[codes], index=values.index, name=values.name, dtype=object)


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``values.astype(str)`` as ``(codes, names)`` with ``names[codes]`` the text of each row;
    a categorical one is coded without converting its rows (missing: the last name)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        names = pd.Series(values.cat.categories, dtype=object).astype(str).to_numpy(dtype=object)
        names = np.append(names, np.array([str(np.nan)], dtype=object))  # "nan", as astype(str) writes it
        codes = values.cat.codes.to_numpy()
        return np.where(codes < 0, len(names) - 1, codes), names
    codes, names = pd.factorize(values.astype(str).to_numpy(dtype=object))
    return codes, np.asarray(names, dtype=object)


def text_is(values: pd.Series, text: str) -> np.ndarray:
    """``(values.astype(str) == text).to_numpy()``, by codes for a categorical."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, names = text_codes(values)
        return np.isin(codes, np.flatnonzero(names == text))
    return (values.astype(str) == text).to_numpy(dtype=bool)


def count_by(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """``DataFrame(columns as text).groupby(list(columns)).size()`` as a frame with ``count``:
    one row per combination that occurs, in the order groupby sorts them, counted by codes."""
    coded = [text_codes(v) for v in columns.values()]
    dims = tuple(max(len(names), 1) for _, names in coded)
    key, n = np.unique(np.ravel_multi_index([codes for codes, _ in coded], dims), return_counts=True)
    parts = np.unravel_index(key, dims)
    small = pd.DataFrame({c: names[k] for c, (_, names), k in zip(columns, coded, parts)})
    small["count"] = n.astype(np.int64)
    return small.groupby(list(columns), sort=True, as_index=False)["count"].sum()  # equal texts: one row


#: Text columns of findings.csv that could start a formula.
_CSV_NEUTRALISED = ("record_id", "evidence", "my_number", "suggested_my_number")


def arrow_column(values: pd.Series, type: "pa.DataType | None" = None) -> "pa.Array":
    """``values`` as Arrow, as ``pa.Table.from_pandas`` converts a column; a pandas string
    column with Python storage is read as it is stored (pd.NA is null), without the copy
    and missing-value pass its own conversion makes."""
    import pyarrow as pa

    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "python":
        return pa.array(np.asarray(values.array), type=type or pa.string(), from_pandas=True)
    return pa.array(values, type=type, from_pandas=True)


def findings_table(findings: pd.DataFrame) -> "pa.Table | None":
    """The findings as Arrow, as ``DataFrame.to_parquet(index=False)`` converts them, made once
    for findings.parquet and findings.csv; None when a column :func:`neutralise` treats is
    not a pandas string column (pandas then writes both files as it always did)."""
    import pyarrow as pa

    if not all(isinstance(findings[c].dtype, pd.StringDtype) for c in _CSV_NEUTRALISED):
        return None
    if any(dtype == object for dtype in findings.dtypes) or not findings.columns.is_unique:
        table = pa.Table.from_pandas(findings, preserve_index=False)  # object columns: pandas infers from values
    else:  # the pandas metadata depends on the dtypes alone: take it from no rows, convert columns directly
        schema = pa.Table.from_pandas(findings.iloc[:0], preserve_index=False).schema
        table = pa.Table.from_arrays([arrow_column(findings[name], field.type)
                                      for name, field in zip(findings.columns, schema)], schema=schema)
    if findings.attrs:  # as pandas keeps them
        table = table.replace_schema_metadata({**table.schema.metadata, "PANDAS_ATTRS": json.dumps(findings.attrs)})
    return table


def write_parquet(findings: pd.DataFrame, table: "pa.Table | None", path: Path) -> None:
    """findings.parquet, the bytes ``findings.to_parquet(path, index=False)`` writes."""
    import pyarrow.parquet as pq

    if table is None:
        findings.to_parquet(path, index=False)
    else:
        pq.write_table(table, str(path), compression="snappy")


def write_findings_csv(findings: pd.DataFrame, table: "pa.Table | None", path: Path) -> None:
    """findings.csv with text a spreadsheet would run as a formula neutralised (:func:`write_csv`)."""
    if table is None:
        safe = findings.copy()
        for col in _CSV_NEUTRALISED:
            safe[col] = neutralise(safe[col])
        write_csv(safe, path)
        return
    for col in _CSV_NEUTRALISED:
        i = table.schema.get_field_index(col)
        table = table.set_column(i, table.field(i), neutralise_arrow(table.column(i)))
    _write_csv_table(table, path)


def write_csv(findings: pd.DataFrame, path: Path) -> None:
    """findings.csv: UTF-8 with a BOM (so Excel opens it), text quoted, written by Arrow's CSV writer."""
    import pyarrow as pa

    _write_csv_table(pa.Table.from_pandas(findings, preserve_index=False), path)


def _write_csv_table(table: "pa.Table", path: Path) -> None:
    import pyarrow.csv as pacsv

    with open(path, "wb") as fh:
        fh.write(codecs.BOM_UTF8)
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(quoting_style="needed"))


def severity_order(findings: pd.DataFrame, table: "pa.Table | None" = None, per_rank: int | None = None
                   ) -> np.ndarray:
    """Row positions in :func:`sort_by_severity`'s order: a stable sort by Arrow (pandas
    when a key column holds Python objects).  ``table``, the findings as Arrow
    (:func:`findings_table`) when the caller has them, saves converting text keys.
    With ``per_rank``, only the first ``per_rank`` rows of each status are kept (the
    order's prefix of every status, what capped sheets show): the million ok rows
    are then not sorted, only their first ones picked."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def key(name: str) -> "pa.Array | pa.ChunkedArray":
        values = findings[name]
        if table is not None and (isinstance(values.dtype, pd.StringDtype) or values.dtype == np.float64):
            return table.column(name)  # as _sort_key makes it: text as is, NaN as null
        return _sort_key(values)

    rank = _severity_rank(findings["status"])
    names = ("score", "source", "record_id")
    try:
        arrow = pa.table({"_o": pa.array(rank, from_pandas=True), **{k: key(k) for k in names}})
    except (pa.ArrowException, TypeError, ValueError, UnicodeEncodeError):  # Python objects: pandas sorts them
        frame = findings[list(names)].reset_index(drop=True).assign(_o=rank)
        order = frame.sort_values(["_o", *names], kind="mergesort").index.to_numpy()
        return order if per_rank is None else _first_of_each(order, rank, per_rank)
    if per_rank is None:
        return pc.sort_indices(arrow, sort_keys=[(k, "ascending") for k in ("_o", *names)]).to_numpy()
    out = []
    for group in _rank_groups(rank):
        part = arrow.take(group)
        if len(group) > per_rank:  # the per_rank first (position breaks ties, as the stable sort does)
            part = part.append_column("_pos", pa.array(np.arange(len(group))))
            keep = pc.select_k_unstable(part, per_rank, [(k, "ascending") for k in (*names, "_pos")]).to_numpy()
            group, part = group[keep], part.take(keep)
            keys = [(k, "ascending") for k in (*names, "_pos")]
        else:
            keys = [(k, "ascending") for k in names]
        out.append(group[pc.sort_indices(part, sort_keys=keys).to_numpy()])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _rank_groups(rank: np.ndarray) -> list[np.ndarray]:
    """Positions of each severity rank, most severe first, unknown (NaN) last."""
    known = np.unique(rank[~np.isnan(rank)])
    groups = [np.flatnonzero(rank == r) for r in known]
    unknown = np.flatnonzero(np.isnan(rank))
    return groups + ([unknown] if len(unknown) else [])


def _first_of_each(order: np.ndarray, rank: np.ndarray, per_rank: int) -> np.ndarray:
    """``order`` with only the first ``per_rank`` rows of each rank."""
    r = rank[order]
    r = np.where(np.isnan(r), np.inf, r)
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    within = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order[within < per_rank]


def _severity_rank(status: pd.Series) -> np.ndarray:
    """SEVERITY of each status (NaN for an unknown one: last)."""
    if isinstance(status.dtype, pd.CategoricalDtype):
        rank = pd.Series(status.cat.categories).astype(str).map(SEVERITY).to_numpy(dtype=float)
        codes = status.cat.codes.to_numpy()
        return np.append(rank, np.nan)[np.where(codes < 0, len(rank), codes)]
    return status.astype(str).map(SEVERITY).to_numpy(dtype=float)


def _sort_key(values: pd.Series) -> "pa.Array":
    """One sort key as Arrow, ordered as pandas orders it: categories by their codes, missing last."""
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        return pa.array(codes, mask=codes < 0)
    if values.dtype == object:
        raise TypeError("object column: sorted by pandas")
    if pd.api.types.is_float_dtype(values.dtype):  # NaN and NA alike: missing
        return pa.array(values.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)
    return arrow_column(values)


def sort_by_severity(findings: pd.DataFrame) -> pd.DataFrame:
    """Mislinks first, then invalid, review, ok; lowest score first within each."""
    return findings.take(severity_order(findings))


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
        with small_pages():
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


#: Rows from which a second process writes some files alongside (Linux, two or more cores).
PARALLEL_MIN_ROWS = 50_000
#: The files the second process writes (at a million records the workbook takes about as long
#: as the other four files here; the findings files stay here, where their buffers add less to
#: the memory both processes hold at once).
CHILD_FILES = ("xlsx",)


def _write_all(result: "AuditResult", d: Path, lang: str) -> dict[str, Path]:
    f = result.findings
    paths = {
        "parquet": d / "findings.parquet",
        "csv": d / "findings.csv",
        "html": d / "report.html",
        "xlsx": d / "report.xlsx",
        "summary": d / "summary.json",
    }
    from . import report_html, report_xlsx  # looked up at the call: tests replace the writers

    table = findings_table(f)  # before the fork: the child shares it
    jobs: dict[str, Callable[[], Any]] = {
        "parquet": lambda: write_parquet(f, table, paths["parquet"]),
        "csv": lambda: write_findings_csv(f, table, paths["csv"]),
        "html": lambda: paths["html"].write_text(report_html.render_html(result, lang), encoding="utf-8"),
        "xlsx": lambda: report_xlsx.write_xlsx(result, paths["xlsx"], lang, table=table),
        "summary": lambda: paths["summary"].write_text(json.dumps(summary_dict(result), ensure_ascii=False, indent=2,
                                                                  sort_keys=True, default=str) + "\n",
                                                       encoding="utf-8"),
    }
    child = None
    if _parallel(len(f)):
        theirs = [jobs[k] for k in CHILD_FILES]
        try:
            child = Forked(lambda: [job() for job in theirs],
                           "writing " + ", ".join(paths[k].name for k in CHILD_FILES))
        except OSError:  # no process to spare (EAGAIN, ENOMEM): all of it here
            pass
        else:
            for k in CHILD_FILES:
                del jobs[k]
    try:
        for job in jobs.values():
            job()
        if child is not None:
            child.join()
    except BaseException:
        if child is not None:
            child.kill()
        raise
    return paths


#: Memory the forked writer may add, as a share of this process's resident memory
#: (measured: about 0.3 at a million records, pages it copies and its own work).
CHILD_MEMORY_SHARE = 0.5


def _parallel(rows: int) -> bool:
    """Whether a second process pays: enough rows, a second core, ``fork`` (Linux),
    and memory to spare for it (else the files are written one after another)."""
    return (rows >= PARALLEL_MIN_ROWS and can_fork() and spare_cores() >= 1
            and memory_to_spare(CHILD_MEMORY_SHARE))
