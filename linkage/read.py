"""The input edge of the audit: read residents, bank and insurance tables.

``read_table`` turns a CSV/TSV (UTF-8, UTF-8 with BOM, CP932), Parquet file or
directory, Excel workbook or DataFrame into one DataFrame with English column
names (CONTRACT.md "Inputs"), every value as text (``string[pyarrow]`` dtype, blank
cells missing) except datetimes in ``birth_date``, plus ``_row``: where each
record is in the source, as a person would count (header = 1).  Any problem
with the input is an ``InputError`` naming file, row and column, never a value.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pandas as pd

from linkage.errors import InputError
from linkage.normalize._unique import on_unique

Kind = Literal["residents", "bank", "insurance"]
ROW = "_row"

_MY_NUMBER = ("個人番号", "マイナンバー")
_PERSON = {
    "name": ("氏名", "漢字氏名"),
    "name_kana": ("氏名カナ", "カナ氏名", "フリガナ"),
    "birth_date": ("生年月日",),
    "sex": ("性別",),
    "address": ("住所",),
}

#: English column -> accepted Japanese aliases, per kind, in output order.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "residents": {
        "my_number": _MY_NUMBER,
        **_PERSON,
        "household_id": ("世帯番号",),
        "relationship": ("続柄",),
    },
    "bank": {
        "record_id": ("レコードID",),
        "my_number": _MY_NUMBER,
        "bank_code": ("金融機関コード",),
        "branch_code": ("支店コード",),
        "account_type": ("預金種目",),
        "account_number": ("口座番号",),
        "holder_kana": ("口座名義", "口座名義カナ"),
    },
    "insurance": {
        "record_id": ("レコードID",),
        "my_number": _MY_NUMBER,
        "insurer_number": ("保険者番号",),
        "symbol": ("記号",),
        "number": ("番号",),
        **_PERSON,
    },
}

#: Columns that must be present; the rest of ALIASES[kind] are added as NA.
REQUIRED: dict[str, tuple[str, ...]] = {
    "residents": ("my_number", "name", "birth_date", "sex"),
    "bank": ("record_id", "my_number", "holder_kana"),
    "insurance": ("record_id", "my_number", "birth_date"),
}
#: At least one column of each group must be present.
ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "residents": (),
    "bank": (),
    "insurance": (("name", "name_kana"),),
}

_DATE_COLUMNS = frozenset({"birth_date"})
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UNNAMED = "Unnamed: {}"


@dataclass
class _Raw:
    """A table as read, before header mapping and value conversion."""

    header: list[Any]  # source column labels, in order (may repeat)
    columns: list[Any]  # one array-like of values per header entry
    rows: np.ndarray  # int64 source position of each record
    drop_blank_rows: bool  # rows with nothing in them are not records


# ----------------------------------------------------------------- public API
def read_table(source: str | os.PathLike[str] | pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Read one input table of ``kind`` ("residents", "bank" or "insurance").

    ``source`` is a path (.csv/.txt/.tsv, .parquet/.pq or a directory of
    Parquet files, .xlsx) or a DataFrame.  Returns the known columns (English
    names, contract order, absent optional ones all-NA), then extra columns
    unchanged, then ``_row`` (int64).  Raises ``InputError`` for bad input.
    """
    if kind not in ALIASES:
        raise ValueError(f"kind must be one of {', '.join(ALIASES)}, not {kind!r}")
    if isinstance(source, pd.DataFrame):
        label = f"<{kind} DataFrame>"
        raw = _raw_from_frame(source, label)
    else:
        label = os.fspath(source)
        raw = _read_path(Path(source), label, kind)
    return _finish(raw, kind, label)


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, or of every file under a directory.

    A directory's digest combines each file's relative path and digest, in
    sorted order, so renaming or editing any part file changes it.
    """
    p = Path(path)
    try:
        if not p.is_dir():
            return _sha256_file(p)
        combined = hashlib.sha256()
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            rel = f.relative_to(p).as_posix()
            combined.update(f"{rel}\0{_sha256_file(f)}\n".encode())
        return combined.hexdigest()
    except OSError as e:
        raise InputError(os.fspath(path), f"cannot read file ({_os_reason(e)})") from None


def header_key(label: object) -> str:
    """Comparison key for a header: NFKC, trimmed, case-folded, no spaces/_/-."""
    text = unicodedata.normalize("NFKC", str(label)).replace("\ufeff", "")
    return re.sub(r"[\s_\-]+", "", text.strip()).casefold()


# ----------------------------------------------------------------- by format
def _read_path(path: Path, label: str, kind: str) -> _Raw | None:
    if path.is_dir():
        return _read_parquet(path, label)
    if not path.exists():
        raise InputError(label, "file not found")
    fmt = _format_of(path, label)
    if fmt == "parquet":
        return _read_parquet(path, label)
    if fmt == "xlsx":
        return _read_xlsx(path, label, kind)
    return _read_csv(path, label)


def _format_of(path: Path, label: str) -> str:
    """"csv", "parquet" or "xlsx": by content signature, else by suffix."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise InputError(label, f"cannot read file ({_os_reason(e)})") from None
    suffix = path.suffix.lower()
    if magic == b"PAR1":
        return "parquet"
    if magic == b"PK\x03\x04" and suffix not in _PARQUET_SUFFIXES:
        return "xlsx"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix in _XLSX_SUFFIXES:
        return "xlsx"
    if suffix == ".xls":
        raise InputError(label, "old Excel .xls files are not supported: save it as .xlsx or CSV")
    return "csv"


# ----------------------------------------------------------------------- CSV
def _read_csv(path: Path, label: str) -> _Raw | None:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(label, f"cannot read file ({_os_reason(e)})") from None
    text = _decode(data, label)
    if "\x00" in text:  # a damaged cell: keep the row, mark the cell unreadable
        text = text.replace("\x00", "\ufffd")
    return _parse_text(text, label)


def _line_of(data: bytes | str, pos: int) -> int:
    """1-based line number of position ``pos`` (\\n, \\r\\n or \\r breaks)."""
    head = data[:pos]
    nl, cr, crlf = ("\n", "\r", "\r\n") if isinstance(head, str) else (b"\n", b"\r", b"\r\n")
    return head.count(nl) + head.count(cr) - head.count(crlf) + 1


# A Japanese character encoded as UTF-8 (kana, kanji, full-width forms).
_UTF8_JA = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf]{2}|\xef[\xbc-\xbf][\x80-\xbf])")


# Single bytes Python's cp932 codec lets through that real Shift_JIS text never has.
_NOT_SJIS = re.compile("[\x80\uf8f0-\uf8f3]")
# CP932 text that can also be read as EUC-JP: only ASCII and half-width kana
# (any kana, full-width character or common kanji in CP932 is invalid EUC-JP).
_HALFWIDTH_ONLY = re.compile("[\x00-\x7f\uff61-\uff63\uff66-\uff9f]*")
_EUC_JP = "the text looks like EUC-JP, which is not supported: save the file as UTF-8 or CP932 (Shift_JIS)"


def _is_euc_jp(body: bytes) -> bool:
    """True when ``body`` has non-ASCII bytes and decodes strictly as EUC-JP."""
    if body.isascii():
        return False
    try:
        body.decode("euc_jp")
    except UnicodeDecodeError:
        return False
    return True


def _first_non_ascii_row(body: bytes) -> int:
    """Line of the first non-ASCII byte."""
    m = re.search(rb"[\x80-\xff]", body)
    return _line_of(body, m.start()) if m else 1


def _decode(data: bytes, label: str) -> str:
    """Decode strictly: UTF-8 (BOM optional), else CP932, or UTF-16; never mojibake.

    A few NUL bytes in the rows of an otherwise text file stay in the text
    (``_read_csv`` makes them U+FFFD, so validation flags those cells).
    """
    if data.startswith(_UTF16_BOMS):  # Excel's "Unicode text" export
        try:
            return _no_binary(data.decode("utf-16"), label)
        except UnicodeDecodeError as e:
            head = data[: e.start].decode("utf-16", errors="replace")
            raise InputError(label, "not valid UTF-16 text", row=_line_of(head, len(head))) from None
    if codec := _utf16_without_bom(data):
        try:
            return _no_binary(data.decode(codec), label)
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: binary, reported below
    _no_binary(data, label)
    has_bom = data.startswith(_UTF8_BOM)
    body = data[len(_UTF8_BOM):] if has_bom else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = e.start
    mixed = "mixed text encodings (save the whole file as UTF-8 or as CP932)"
    if has_bom or not body[:bad].isascii():
        raise InputError(label, f"not UTF-8 although earlier rows are: {mixed}", row=_line_of(body, bad),
                         column=_column_at(body, bad))
    try:
        text, cp932_bad = body.decode("cp932"), None
    except UnicodeDecodeError as e:
        text, cp932_bad = "", e.start
    utf8_row = _utf8_line(body)
    if cp932_bad is None and (m := _NOT_SJIS.search(text)):
        cp932_bad = len(text[: m.start()].encode("cp932"))
    euc = _is_euc_jp(body)
    if cp932_bad is None and utf8_row is None:
        if euc and _HALFWIDTH_ONLY.fullmatch(text) is None:
            # EUC-JP also reads cleanly and the CP932 reading is not plain half-width kana
            raise InputError(label, _EUC_JP, row=_first_non_ascii_row(body))
        return text
    if euc and utf8_row is None:
        raise InputError(label, _EUC_JP, row=_first_non_ascii_row(body))
    bad_row = _line_of(body, bad)
    further = bad_row if cp932_bad is None else _line_of(body, max(bad, cp932_bad))
    if utf8_row is not None and utf8_row != bad_row:
        # the line that breaks the encoding which reads further is the odd one
        raise InputError(
            label,
            f"row {utf8_row} is UTF-8 but row {bad_row} is not: {mixed}",
            row=utf8_row if cp932_bad is None else further,
        )
    at = bad if cp932_bad is None else max(bad, cp932_bad)
    raise InputError(label, "cannot decode the text as UTF-8 or CP932 (Shift_JIS)", row=further,
                     column=_column_at(body, at))


def _utf8_line(body: bytes, limit: int = 10_000) -> int | None:
    """Line number of the first line that is UTF-8 Japanese text, if any."""
    checked = 0
    pos = 0
    while checked < limit:
        m = _UTF8_JA.search(body, pos)
        if m is None:
            return None
        # the line around the match; searches stay within it (a file without
        # \r must not be scanned to its end once per line)
        start = max(body.rfind(b"\n", pos, m.start()), body.rfind(b"\r", pos, m.start())) + 1
        brk = _LINE_END.search(body, m.end())
        end = brk.start() if brk else len(body)
        try:
            body[start:end].decode("utf-8")
            return _line_of(body, start)
        except UnicodeDecodeError:
            pass
        pos, checked = end, checked + 1
    return None


def _no_binary(text: str | bytes, label: str) -> str | bytes:
    """``text`` unchanged, or InputError when it is binary data.

    Binary means a NUL in the header line or NULs in more than 1% of the
    content; a stray NUL in a row is a damaged cell, not a damaged file.
    """
    nul_char = "\x00" if isinstance(text, str) else b"\x00"
    nul = text.find(nul_char)
    if nul < 0:
        return text
    first_break = (_BREAK if isinstance(text, str) else _BREAK_BYTES).search(text)
    in_header = first_break is None or nul < first_break.start()
    if in_header or text.count(nul_char) * 100 > len(text):
        raise InputError(label, "binary data, not a text table (CSV/TSV)", row=_line_of(text, nul))
    return text


def _utf16_without_bom(data: bytes, sample: int = 4096) -> str | None:
    """"utf-16-le"/"utf-16-be" when ``data`` looks like UTF-16 without a BOM.

    ASCII in UTF-16 puts a NUL in every other byte, always on the same side;
    binary data scatters NULs over both.
    """
    head = data[: sample - sample % 2]
    half = len(head) // 2
    if half < 2 or len(data) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= 0.1 * half and even <= 0.01 * half:
        return "utf-16-le"
    if even >= 0.1 * half and odd <= 0.01 * half:
        return "utf-16-be"
    return None


def _column_at(body: bytes, pos: int) -> str | None:
    """Header label of the CSV/TSV cell holding byte ``pos``, when it can be told.

    Looks at the physical line only: None on the header line itself or when
    the line lies inside a quoted cell that spans lines.  In CP932 the bytes
    of ``"``, ``,`` and tab never occur inside a character, so counting them
    on bytes is safe in both encodings.
    """
    start = max(body.rfind(b"\n", 0, pos), body.rfind(b"\r", 0, pos)) + 1
    if start == 0 or body.count(b'"', 0, start) % 2:
        return None
    m = _BREAK_BYTES.search(body)
    head = body[: m.start()] if m else body
    for codec in ("utf-8", "cp932"):
        try:
            header_text = head.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    sep = "\t" if header_text.count("\t") > header_text.count(",") else ","
    labels = next(csv.reader([header_text], delimiter=sep), [])
    field, quoted = 0, False
    for byte in body[start:pos]:
        if byte == 0x22:
            quoted = not quoted
        elif byte == ord(sep) and not quoted:
            field += 1
    if field >= len(labels):
        return None
    label = labels[field].strip().lstrip("\ufeff")
    return label or None


_LEADING_BLANK = re.compile(r"(?:[ \t\u3000]*(?:\r\n|\r|\n))*")
_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_LINE_END = re.compile(rb"[\r\n]")
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _parse_text(text: str, label: str) -> _Raw | None:
    """Parse decoded CSV/TSV text; None when there is no header at all."""
    lead = _LEADING_BLANK.match(text)
    skipped = _line_of(text, lead.end()) - 1
    text = text[lead.end():]
    if text.endswith("\x1a"):  # DOS end-of-file mark from older systems
        text = text.rstrip("\x1a")
    if not text or text.isspace():
        return None
    first_break = _BREAK.search(text)
    first_line = text[: first_break.start()] if first_break else text
    sep = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        data = text.encode("utf-8")  # the C parser is fastest on bytes
        frame = _csv_frame(data, sep)
    except pd.errors.ParserError as e:
        raise _parser_error(e, data, sep, skipped, label) from None
    except (pd.errors.EmptyDataError, ValueError, OverflowError):
        raise InputError(label, "cannot parse as CSV/TSV") from None
    starts = _record_starts(frame, data) + skipped
    cols = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    header = [c[0] for c in cols]
    # Cells go to Arrow strings here, once: every cell is a str (no NA filtering).
    return _Raw(header, [_arrow_text(c[1:]) for c in cols], starts[1:], drop_blank_rows=True)


def _csv_frame(data: bytes, sep: str, nrows: int | None = None) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data),
        encoding="utf-8",
        sep=sep,
        header=None,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        index_col=False,
        engine="c",
        nrows=nrows,
    )


def _record_starts(frame: pd.DataFrame, data: bytes) -> np.ndarray:
    """1-based line on which each parsed record starts (header record first)."""
    n = len(frame)
    lines = _count_breaks(data) + (0 if data.endswith((b"\n", b"\r")) else 1)
    if lines == n:  # no line breaks inside quoted cells: one record per line
        return np.arange(1, n + 1, dtype=np.int64)
    extra = np.zeros(n, dtype=np.int64)
    for c in frame.columns:
        col = frame[c]
        has = col.str.contains("\n", regex=False) | col.str.contains("\r", regex=False)
        if has.any():
            extra[has.to_numpy()] += col[has].str.count(_BREAK.pattern).to_numpy(dtype=np.int64)
    per_record = 1 + extra
    return 1 + np.concatenate(([0], np.cumsum(per_record)[:-1])).astype(np.int64)


def _count_breaks(data: bytes) -> int:
    """Line breaks (\\n, \\r\\n or \\r) in UTF-8 text (counted on bytes: fast)."""
    cr = data.count(b"\r")
    return data.count(b"\n") + cr - (data.count(b"\r\n") if cr else 0)


def _parser_error(err: Exception, data: bytes, sep: str, skipped: int, label: str) -> InputError:
    """Turn a pandas tokenizer error into an InputError with the file line."""
    msg = str(err)
    if m := _RAGGED.search(msg):
        expected, record, saw = int(m[1]), int(m[2]) - 1, int(m[3])
        what = f"{saw} fields, but the header has {expected}"
    elif m := _OPEN_QUOTE.search(msg):
        record = int(m[1])
        what = 'a quoted cell (") is never closed'
    else:
        return InputError(label, "cannot parse as CSV/TSV")
    return InputError(label, what, row=_start_of_record(data, sep, record) + skipped)


def _start_of_record(data: bytes, sep: str, record: int) -> int:
    """Line on which 0-based ``record`` starts (all records before it parse)."""
    try:
        before = _csv_frame(data, sep, nrows=record)
    except (pd.errors.ParserError, ValueError):  # pragma: no cover - defensive
        return record + 1
    breaks = sum(int(before[c].str.count(_BREAK.pattern).sum()) for c in before.columns)
    return len(before) + breaks + 1


# ------------------------------------------------------------------- Parquet
def _read_parquet(path: Path, label: str) -> _Raw:
    what = "a directory of Parquet files" if path.is_dir() else "a Parquet file"
    try:
        table = _parquet_table(path)
        keep = [n for n in table.column_names if not re.fullmatch(r"__index_level_\d+__", n)]
        columns = [_arrow_values(table.column(n)) for n in keep]
    except Exception as e:  # pyarrow raises many types for a bad file
        raise InputError(label, f"cannot read as {what} ({type(e).__name__})") from None
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return _Raw(keep, columns, rows, drop_blank_rows=False)


def _parquet_table(path: Path) -> pa.Table:
    """The table in a Parquet file or directory of files.

    A file is read directly: threads across columns, one chunk per row group,
    no dataset layer.  The dataset reader (``pq.read_table``) reads directories
    (partitions) and has the last word on any file the direct read cannot take
    (damaged, duplicate column names), so what fails, and how, is unchanged.
    """
    import pyarrow.parquet as pq

    if not path.is_dir():
        try:
            with pq.ParquetFile(path) as file:
                table = file.read(use_threads=True)
            if len(set(table.column_names)) == table.num_columns:
                return table
        except Exception:  # noqa: BLE001 - the dataset reader below raises its own error
            pass
    return pq.read_table(path)


def _arrow_values(col: Any) -> Any:
    """Arrow column -> pandas values; integers become exact text, not floats."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        col = pa.chunked_array([c.dictionary_decode() for c in col.chunks], type=t.value_type)
        t = col.type
    if pa.types.is_integer(t):  # Python ints, not floats, where there are nulls
        return col.to_pandas(integer_object_nulls=True)
    if pa.types.is_decimal(t) and t.scale == 0:
        col = pc.cast(col, pa.string())
    elif pa.types.is_null(t):
        return pd.Series([None] * len(col), dtype=object)
    if pa.types.is_string(t) or pa.types.is_large_string(t):  # stays Arrow: no Python str per cell
        return pd.Series(pd.arrays.ArrowStringArray(col))
    return col.to_pandas(date_as_object=False)


# --------------------------------------------------------------------- Excel
def _read_xlsx(path: Path, label: str, kind: str) -> _Raw:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a bad workbook
        raise InputError(label, f"cannot read as an Excel .xlsx workbook ({type(e).__name__})") from None
    names: list[str] = []
    headers: list[list[Any]] = []
    tables: list[tuple[str, _Raw]] = []
    try:
        for sheet in book.worksheets:
            names.append(sheet.title)
            header, raw = _read_sheet(sheet, kind)
            if raw is not None:
                tables.append((sheet.title, raw))
            if header is not None:
                headers.append(header)
    except Exception as e:
        raise InputError(label, f"cannot read the Excel workbook ({type(e).__name__})") from None
    finally:
        book.close()
    # Never drop a sheet silently: several sheets of records are an error.
    filled = [(n, r) for n, r in tables if len(r.rows)]
    if len(filled) > 1:
        listed = ", ".join(f'"{n}"' for n, _ in filled)
        raise InputError(label, f"several sheets hold {kind} records ({listed}): put them on one sheet, "
                                "or save each sheet as its own file")
    if filled or tables:
        return (filled or tables)[0][1]
    if len(names) == 1 and headers:  # one sheet: say exactly what is missing
        _map_header(_Raw(headers[0], [], np.empty(0, np.int64), False), kind, label)
    need = ", ".join(REQUIRED[kind] + tuple(" or ".join(g) for g in ONE_OF[kind]))
    listed = ", ".join(f'"{n}"' for n in names) or "none"
    raise InputError(label, f"no sheet has the required columns {need} (sheets: {listed})")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _read_sheet(sheet: Any, kind: str) -> tuple[list[Any] | None, _Raw | None]:
    """The header of a sheet, and the sheet as a table if it has the required columns.

    The header is the first non-empty row; ``_row`` is the sheet row number.
    """
    sheet.reset_dimensions()  # stored dimensions are often wrong
    rows = sheet.iter_rows(values_only=True)
    header: list[Any] | None = None
    number = 0
    for number, values in enumerate(rows, start=1):
        if not all(_blank(v) for v in values):
            header = ["" if v is None else str(v) for v in values]
            break
    if header is None or _missing(_target_names(header, kind), kind):
        return header, None
    records: list[tuple[Any, ...]] = []
    numbers: list[int] = []
    for number, values in enumerate(rows, start=number + 1):
        if not all(_blank(v) for v in values):
            records.append(values)
            numbers.append(number)
    width = max([len(header), *map(len, records)])
    header += [""] * (width - len(header))
    columns = [np.empty(len(records), dtype=object) for _ in range(width)]
    for i, values in enumerate(records):
        for j, v in enumerate(values):
            columns[j][i] = v
    return header, _Raw(header, columns, np.asarray(numbers, dtype=np.int64), drop_blank_rows=True)


# ----------------------------------------------------------------- DataFrame
def _raw_from_frame(frame: pd.DataFrame, label: str) -> _Raw:
    header = list(frame.columns)
    columns = [frame.iloc[:, j] for j in range(frame.shape[1])]
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    positions = [j for j, h in enumerate(header) if h == ROW]
    if len(positions) == 1:  # already read once: keep the source positions
        j = positions[0]
        try:
            given = pd.to_numeric(columns[j], errors="raise")
            if given.isna().any() or (given != np.floor(given)).any():
                raise ValueError
            rows = given.to_numpy(dtype=np.int64)
        except (ValueError, TypeError):
            raise InputError(label, "column holds something other than row numbers", column=ROW) from None
        del header[j], columns[j]
    return _Raw(header, columns, rows, drop_blank_rows=False)


# ----------------------------------------------------- mapping and checking
def _lookup(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for english, aliases in ALIASES[kind].items():
        for name in (english, *aliases):
            table[header_key(name)] = english
    return table


def _target_names(header: Sequence[Any], kind: str) -> list[Any]:
    """English name for each known header, the label itself for extras."""
    lookup = _lookup(kind)
    out: list[Any] = []
    for label in header:
        key = header_key(label) if label is not None else ""
        out.append(lookup.get(key, label))
    return out


def _missing(targets: Sequence[Any], kind: str) -> list[str]:
    present = set(t for t in targets if isinstance(t, str))
    missing = [c for c in REQUIRED[kind] if c not in present]
    for group in ONE_OF[kind]:
        if not present.intersection(group):
            missing.append(" or ".join(group))
    return missing


def _also(kind: str, column: str) -> str:
    names = [a for c in column.split(" or ") for a in ALIASES[kind].get(c, ())]
    return f" (also accepted: {', '.join(names)})" if names else ""


def _map_header(raw: _Raw, kind: str, label: str) -> list[Any]:
    """Output column names: English for known columns, extras de-duplicated."""
    targets = _target_names(raw.header, kind)
    known = set(ALIASES[kind])
    seen: dict[Any, int] = {}
    for j, (name, original) in enumerate(zip(targets, raw.header)):
        if name in known:
            if name in seen:
                first = raw.header[seen[name]]
                raise InputError(
                    label,
                    f'duplicate column "{name}" (headers "{first}" and "{original}")',
                    column=name,
                )
            seen[name] = j
    missing = _missing(targets, kind)
    if missing:
        col = missing[0]
        raise InputError(label, f'missing required column "{col}"{_also(kind, col)}', column=col)
    taken: set[Any] = {t for t in targets if t in known}
    out: list[Any] = []
    for j, name in enumerate(targets):
        if name in known:
            out.append(name)
            continue
        if name == ROW:
            raise InputError(label, 'column "_row" is reserved for row numbers: rename it', column=ROW)
        if _is_unnamed(name):
            name = _UNNAMED.format(j)
        base, k = name, 0
        while name in taken:
            k += 1
            name = f"{base}.{k}"
        taken.add(name)
        out.append(name)
    return out


# ------------------------------------------------------- value conversion
def _cell_text(v: Any) -> str | None:
    """One cell as text: integers without ".0", dates as ISO, blanks missing."""
    if isinstance(v, str):
        return v if v.strip() else None
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return None
        if f.is_integer() and abs(f) < 1e16:
            return str(int(f))
        return repr(f)
    if isinstance(v, decimal.Decimal):
        if v.is_nan():
            return None
        return str(int(v)) if v == v.to_integral_value() else str(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is None and v.time() == dt.time(0):
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return _cell_text(bytes(v).decode("utf-8"))
    if isinstance(v, np.ndarray):
        return str(v.tolist())
    return str(v)


def _cell_date_or_text(v: Any) -> Any:
    """Like ``_cell_text`` but datetimes and dates stay dates (as Timestamps)."""
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v)
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v)
    return _cell_text(v)



#: Text columns come out as Arrow-backed strings (no Python object per cell).
TEXT = "string[pyarrow]"
#: Python's ``str.isspace`` characters: a cell made only of them is blank.
_SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
           + "\u2028\u2029\u202f\u205f\u3000")
#: ``_SPACES`` as the body of an RE2 character class (Arrow's regex), shared with
#: ``linkage.validate``, which checks blank and padded values the same way.
SPACE_RE2 = "".join(f"\\x{{{ord(c):x}}}" for c in _SPACES)
_BLANK = f"^[{SPACE_RE2}]*$"


def _first_two_bytes(spaces: str) -> np.ndarray:
    """Lookup table over (first byte << 8 | second byte) of a cell: True where
    the cell may start with one of ``spaces`` (any second byte after a one-byte
    character, as the cell may end there)."""
    table = np.zeros(1 << 16, dtype=bool)
    for c in spaces:
        b = c.encode("utf-8")
        if len(b) == 1:
            table[b[0] << 8: (b[0] + 1) << 8] = True
        else:
            table[b[0] << 8 | b[1]] = True
    return table


_MAY_START_BLANK = _first_two_bytes(_SPACES)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _blank_to_na(values: np.ndarray) -> pd.Series:
    """Object array of str (or missing) -> ``string[pyarrow]`` Series; blank cells missing."""
    return _text_from_arrow(_arrow_strings(values))


def _arrow_text(values: np.ndarray) -> pd.Series:
    """Object array of str (or missing) -> ``string[pyarrow]`` Series, cells as they are."""
    return pd.Series(pd.arrays.ArrowStringArray(_arrow_strings(values)))


def _arrow_strings(values: np.ndarray) -> pa.LargeStringArray:
    """Object array of str (or missing) -> Arrow ``large_string``."""
    values = np.asarray(values, dtype=object)
    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (UnicodeEncodeError, pa.ArrowException):
        # A lone surrogate (no UTF-8 form) can only come from a damaged source: U+FFFD, as for bad bytes.
        fixed = [_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in values]
        return pa.array(fixed, type=pa.large_string(), from_pandas=True)


def _text_from_arrow(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Arrow strings -> ``string[pyarrow]`` Series with blank cells missing and
    NULs as U+FFFD (a NUL inside a cell, as Parquet and DataFrames can carry,
    marks it damaged, as for CSV)."""
    arr = _one_large_string(arr)
    offsets, data = _string_buffers(arr)
    if _has_nul(offsets, data) and pc.any(pc.match_substring(arr, "\x00")).as_py():
        arr = pc.replace_substring(arr, "\x00", "\ufffd")
        offsets, data = _string_buffers(arr)
    blank = _blank_cells(arr, offsets, data)
    if blank is not None:
        arr = pc.if_else(blank, pa.scalar(None, arr.type), arr)
    return pd.Series(pd.arrays.ArrowStringArray(arr))


def _one_large_string(arr: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    """One contiguous ``large_string`` array (the type ``string[pyarrow]`` holds)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr if arr.type == pa.large_string() else pc.cast(arr, pa.large_string())


def _string_buffers(arr: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """Views (no copy) of a ``large_string`` array's offsets (n + 1) and value bytes."""
    _, offsets, data = arr.buffers()
    if offsets is None:  # an empty array may have no buffers
        return np.zeros(len(arr) + 1, dtype=np.int64), np.empty(0, dtype=np.uint8)
    starts = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    return starts, (np.empty(0, dtype=np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8))


def _has_nul(offsets: np.ndarray, data: np.ndarray) -> bool:
    """Whether the bytes the cells span hold a zero byte: one vectorised pass."""
    span = data[offsets[0]: offsets[-1]]
    return bool(span.size) and int(span.min()) == 0


def _blank_cells(arr: pa.LargeStringArray, offsets: np.ndarray, data: np.ndarray) -> pa.Array | None:
    """Boolean mask of the cells that are empty or only ``_SPACES``; None when none is.

    Only cells that are empty or start with the bytes of a space character can
    be blank: those few are tested with the regex, the rest never reach it.
    """
    n = len(arr)
    if n == 0:
        return None
    starts = offsets[:-1]
    maybe = offsets[1:] == starts
    if data.size:  # the bytes at a cell's start (past a short cell's end they only add candidates)
        first = data.take(starts, mode="clip").astype(np.uint16)
        first <<= 8
        first |= data.take(starts + 1, mode="clip")
        maybe |= _MAY_START_BLANK[first]
    if arr.null_count:  # a missing cell stays missing: not a candidate
        bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
        maybe &= np.unpackbits(bits, count=arr.offset + n, bitorder="little")[arr.offset:].view(bool)
    which = np.flatnonzero(maybe)
    if not which.size:
        return None
    found = pc.match_substring_regex(arr.take(pa.array(which)), _BLANK)
    which = which[found.to_numpy(zero_copy_only=False)]
    if not which.size:
        return None
    mask = np.zeros(n, dtype=bool)
    mask[which] = True
    return pa.array(mask)


def _as_text(values: Any) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.reset_index(drop=True)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _as_text(s.astype(object))
    if pd.api.types.is_bool_dtype(dtype):
        return _each(_cell_text, s)
    if pd.api.types.is_integer_dtype(dtype):
        return s.astype(TEXT)
    if pd.api.types.is_float_dtype(dtype):
        return _float_text(s)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return _text_from_arrow(s.array._pa_array)  # noqa: SLF001 - pandas keeps the Arrow data here
    if isinstance(dtype, pd.StringDtype) or (
        dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    ):
        return _blank_to_na(s.to_numpy(dtype=object, na_value=None))
    return _each(_cell_text, s)


def _each(func: Any, s: pd.Series, dtype: str | None = TEXT) -> pd.Series:
    """``on_unique``, falling back to every value for unhashable ones (lists)."""
    try:
        out = on_unique(func, s, dtype=None)
    except TypeError:
        out = pd.Series([None if _is_missing(v) else func(v) for v in s], index=s.index, dtype=object)
    if dtype == TEXT:
        return _blank_to_na(out.to_numpy(dtype=object)).set_axis(s.index)
    return out if dtype is None else out.astype(dtype)


def _is_missing(v: Any) -> bool:
    return v is None or (pd.api.types.is_scalar(v) and bool(pd.isna(v)))


def _float_text(s: pd.Series) -> pd.Series:
    v = s.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(v), None, dtype=object)
    finite = np.isfinite(v)
    integral = finite & (np.floor(v) == v) & (np.abs(v) < 1e16)
    out[integral] = v[integral].astype(np.int64).astype(str).astype(object)
    rest = finite & ~integral
    if rest.any():
        out[rest] = [repr(float(x)) for x in v[rest]]
    return pd.Series(pd.array(out, dtype=TEXT))


def _as_dates(values: Any) -> pd.Series:
    """``birth_date``: datetime values stay datetimes, everything else text."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return _as_text(s)
    out = _each(_cell_date_or_text, s, dtype=None)
    present = out.dropna()
    if len(present) and all(isinstance(x, pd.Timestamp) for x in present):
        try:
            return pd.to_datetime(out)
        except (ValueError, TypeError, OverflowError):
            return out
    return out


_NUMBER_DIGITS = 12


def _number_cell(v: Any) -> Any:
    """A My Number held as a number (an integer column, an Excel cell) lost its
    leading zeros: give 9 to 11 digits back their 12.  Anything else (short
    numbers are typing errors, not lost zeros) is unchanged."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return v
    f = float(v)
    if not (f == f and f.is_integer() and 10 ** (_NUMBER_DIGITS - 4) <= f < 10**_NUMBER_DIGITS):
        return v
    return f"{int(v):0{_NUMBER_DIGITS}d}"


def _numbers_as_text(values: Any) -> Any:
    """``my_number`` values with numeric cells as 12-digit text (see ``_number_cell``)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.reset_index(drop=True)
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return values
    if pd.api.types.is_numeric_dtype(dtype):  # vectorised: a whole integer or float column
        v = s.to_numpy(dtype=float, na_value=np.nan)
        pad = np.isfinite(v) & (np.floor(v) == v) & (v >= 10 ** (_NUMBER_DIGITS - 4)) & (v < 10**_NUMBER_DIGITS)
        if not pad.any():
            return values
        out = s.astype(object).to_numpy()
        out[pad] = np.char.zfill(v[pad].astype(np.int64).astype(str), _NUMBER_DIGITS)
        return pd.Series(out, dtype=object)
    if dtype != object or pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return values
    return _each(_number_cell, s, dtype=None)


def _convert(values: Any, is_date: bool, name: Any, label: str, rows: np.ndarray) -> pd.Series:
    try:
        if name == "my_number":
            values = _numbers_as_text(values)
        return _as_dates(values) if is_date else _as_text(values)
    except UnicodeDecodeError:
        row = _first_bad_bytes(values, rows)
        raise InputError(label, "holds bytes that are not UTF-8 text", row=row, column=str(name)) from None


def _first_bad_bytes(values: Any, rows: np.ndarray) -> int | None:
    for i, v in enumerate(values):
        if isinstance(v, (bytes, bytearray)):
            try:
                bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                return int(rows[i])
    return None


# -------------------------------------------------------------- assembling
def _empty_raw(kind: str) -> _Raw:
    header = list(ALIASES[kind])
    return _Raw(header, [np.empty(0, dtype=object) for _ in header], np.empty(0, np.int64), False)


def _finish(raw: _Raw | None, kind: str, label: str) -> pd.DataFrame:
    """Map headers, check them, convert values and lay out the result."""
    if raw is None:  # an empty file: no header, no rows
        if kind == "residents":
            raise InputError(label, "no residents: the file is empty")
        raw = _empty_raw(kind)
    known = ALIASES[kind]
    names = _map_header(raw, kind, label)
    n = len(raw.rows)
    data: dict[Any, pd.Series] = {}
    for name, values, original in zip(names, raw.columns, raw.header):
        is_date = name in _DATE_COLUMNS and name in known
        col = _convert(values, is_date, name, label, raw.rows)
        if name not in known and _is_unnamed(original) and col.isna().all():
            continue  # an empty column without a header: a trailing delimiter
        data[name] = col
    rows = raw.rows
    if raw.drop_blank_rows and n and data:
        blank = np.logical_and.reduce([c.isna().to_numpy() for c in data.values()])
        if blank.any():
            keep = np.flatnonzero(~blank)
            data = {k: c.take(keep).reset_index(drop=True) for k, c in data.items()}
            rows = rows[keep]
    m = len(rows)
    ordered: dict[Any, Any] = {}
    for col in known:
        ordered[col] = data.pop(col) if col in data else pd.Series(pd.NA, index=range(m), dtype=TEXT)
    ordered.update(data)
    ordered[ROW] = pd.Series(np.asarray(rows, dtype=np.int64))
    if kind == "residents" and m == 0:
        raise InputError(label, "no residents: the table has a header but no rows")
    return pd.DataFrame(ordered, index=pd.RangeIndex(m), copy=False)


def _is_unnamed(label: Any) -> bool:
    return label is None or (isinstance(label, str) and not label.strip())


# ----------------------------------------------------------------- helpers
def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _os_reason(err: OSError) -> str:
    return err.strerror or type(err).__name__
