"""Tests for the Read stage: linkage.read.read_table, file_digest, InputError."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.errors import InputError
from linkage import read as reader
from linkage.read import ALIASES, REQUIRED, ROW, file_digest, read_table

BANK_HEADER = "record_id,my_number,holder_kana"
RES_JA = "個人番号,氏名,氏名カナ,生年月日,性別,住所,世帯番号,続柄"
SECRET = "ﾋﾐﾂﾉﾅﾏｴ"  # a cell value that must never appear in an error message


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return p


def bank_csv(tmp_path: Path, body: str, name: str = "bank.csv", encoding: str = "utf-8") -> Path:
    return write(tmp_path, name, BANK_HEADER + "\n" + body, encoding)


def raises(source, kind: str) -> InputError:
    with pytest.raises(InputError) as info:
        read_table(source, kind)
    err = info.value
    text = str(err)
    assert "\n" not in text and "\r" not in text, "message must be one line"
    assert SECRET not in text, "message must not show cell values"
    if isinstance(source, Path):
        assert text.startswith(str(source)), text
        assert err.path == str(source)
    return err


def values(df: pd.DataFrame, col: str) -> list:
    return [None if pd.isna(v) else v for v in df[col]]


# --------------------------------------------------------------- CSV basics
def test_utf8_csv_keeps_text_and_lays_out_columns(tmp_path):
    p = write(
        tmp_path,
        "bank.csv",
        "record_id,my_number,bank_code,holder_kana,備考\n"
        "0001,012345678901,0005,ﾀﾅｶ ﾀﾛｳ,first\n"
        "0002, ,0009,  ,\n",
    )
    df = read_table(p, "bank")
    assert list(df.columns) == [*ALIASES["bank"], "備考", ROW]
    assert values(df, "record_id") == ["0001", "0002"]
    assert values(df, "my_number") == ["012345678901", None]  # blank -> NA
    assert values(df, "bank_code") == ["0005", "0009"]  # leading zeros kept
    assert values(df, "holder_kana") == ["ﾀﾅｶ ﾀﾛｳ", None]
    assert values(df, "備考") == ["first", None]
    assert values(df, "branch_code") == [None, None]  # optional, absent -> NA
    assert df[ROW].tolist() == [2, 3] and df[ROW].dtype == np.int64
    assert all(str(df[c].dtype) == "string" for c in df.columns if c != ROW)


@pytest.mark.parametrize(
    "encoding,prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp932", b""), ("utf-16", b"")],
    ids=["utf8", "utf8-bom", "cp932", "utf16-bom"],
)
def test_encodings_detected_with_japanese_headers(tmp_path, encoding, prefix):
    text = (
        RES_JA + "\n"
        "123456789018,髙橋 恭子,ﾀｶﾊｼ ｷｮｳｺ,昭和60年4月12日,2,東京都千代田区一丁目２－３,0001,妻\n"
    )
    p = write(tmp_path, "res.csv", prefix + text.encode(encoding))
    df = read_table(p, "residents")
    assert list(df.columns)[:8] == list(ALIASES["residents"])
    row = df.iloc[0]
    got = row[["name", "name_kana", "birth_date", "address", "household_id", "relationship"]]
    assert got.tolist() == ["髙橋 恭子", "ﾀｶﾊｼ ｷｮｳｺ", "昭和60年4月12日", "東京都千代田区一丁目２－３", "0001", "妻"]
    assert df[ROW].tolist() == [2]


@pytest.mark.parametrize(
    "name,sep",
    [("b.tsv", "\t"), ("b.txt", "\t"), ("b.csv", "\t"), ("b.tsv", ","), ("b.dat", ",")],
)
def test_delimiter_is_sniffed(tmp_path, name, sep):
    kana = "ｱ,ｲ" if sep == "\t" else "ｱ"
    lines = [sep.join(["record_id", "my_number", "holder_kana"]), sep.join(["1", "0012", kana])]
    p = write(tmp_path, name, "\n".join(lines) + "\n")
    df = read_table(p, "bank")
    assert values(df, "my_number") == ["0012"]
    assert values(df, "holder_kana") == (["ｱ,ｲ"] if sep == "\t" else ["ｱ"])


@pytest.mark.parametrize(
    "header,expected",
    [
        ("　個人番号　", "my_number"),  # full-width spaces around
        (" マイナンバー ", "my_number"),
        ("ＭＹ＿ＮＵＭＢＥＲ", "my_number"),  # full-width Latin (NFKC)
        ("My Number", "my_number"),
        ("MY-NUMBER", "my_number"),
        ("ﾚｺｰﾄﾞID", "record_id"),  # half-width kana (NFKC)
        ("レコードＩＤ", "record_id"),
        ("Record_ID", "record_id"),
        ("\ufeffrecord_id", "record_id"),
        ("口座名義ｶﾅ", "holder_kana"),
    ],
)
def test_header_variants_map_to_english(tmp_path, header, expected):
    cols = {"record_id": "record_id", "my_number": "my_number", "holder_kana": "holder_kana"}
    cols[expected] = header
    p = write(tmp_path, "bank.csv", ",".join(cols.values()) + "\nR1,0001,ｱ\n")
    df = read_table(p, "bank")
    assert header not in df.columns or header == expected
    assert values(df, expected) == [{"record_id": "R1", "my_number": "0001", "holder_kana": "ｱ"}[expected]]


@pytest.mark.parametrize(
    "kind,english,alias",
    [(k, e, a) for k, table in ALIASES.items() for e, aliases in table.items() for a in aliases],
)
def test_every_alias_is_accepted(kind, english, alias):
    frame = {c: ["v"] for c in REQUIRED[kind]}
    if kind == "insurance":
        frame["name"] = ["v"]
    frame.pop(english, None)
    frame[alias] = ["x"]
    df = read_table(pd.DataFrame(frame), kind)
    assert values(df, english) == ["x"]
    assert alias not in df.columns


def test_extra_columns_kept_unchanged_and_deduplicated(tmp_path):
    p = write(tmp_path, "bank.csv", "record_id,my_number,holder_kana, Memo ,Memo,Memo, ,\n1,2,ｱ,a,b,c,d,\n")
    df = read_table(p, "bank")
    assert list(df.columns)[len(ALIASES["bank"]):] == [" Memo ", "Memo", "Memo.1", "Unnamed: 6", ROW]
    assert df.iloc[0][[" Memo ", "Memo", "Memo.1", "Unnamed: 6"]].tolist() == ["a", "b", "c", "d"]


# ------------------------------------------------------------- row numbers
@pytest.mark.parametrize(
    "body,rows,kana",
    [
        ("1,2,ｱ\n2,3,ｲ\n", [2, 3], ["ｱ", "ｲ"]),
        ("1,2,ｱ\r\n2,3,ｲ\r\n", [2, 3], ["ｱ", "ｲ"]),  # CRLF
        ("1,2,ｱ\n\n\n2,3,ｲ\n\n", [2, 5], ["ｱ", "ｲ"]),  # blank lines skipped, counted
        ("1,2,\"ｱ\nｲ\"\n2,3,ｳ\n", [2, 4], ["ｱ\nｲ", "ｳ"]),  # embedded newline
        ("1,2,\"ｱ\r\n\r\nｲ\"\r\n2,3,ｳ\r\n", [2, 5], ["ｱ\r\n\r\nｲ", "ｳ"]),
        ("1,\"2\n\",\"ｱ\nｲ\"\n2,3,ｳ", [2, 5], ["ｱ\nｲ", "ｳ"]),  # several, no final break
        ("1,2,ｱ\n,,\n2,3\n", [2, 4], ["ｱ", None]),  # empty row dropped; short row padded
        ("1,2,ｱ\n\x1a", [2], ["ｱ"]),  # DOS end-of-file mark
    ],
)
def test_row_is_line_where_record_starts(tmp_path, body, rows, kana):
    df = read_table(bank_csv(tmp_path, body), "bank")
    assert df[ROW].tolist() == rows
    assert values(df, "holder_kana") == kana


def test_leading_blank_lines_shift_rows(tmp_path):
    p = write(tmp_path, "bank.csv", "\n \n" + BANK_HEADER + "\n1,2,ｱ\n")
    assert read_table(p, "bank")[ROW].tolist() == [4]


# --------------------------------------------------------------- CSV errors
def test_ragged_row_names_its_line(tmp_path):
    p = bank_csv(tmp_path, f"1,\"2\n3\",ｱ\n2,3,{SECRET}\n3,4,{SECRET},extra\n")
    err = raises(p, "bank")
    assert err.row == 5
    assert "row 5" in str(err) and "4 fields" in str(err) and "3" in str(err)


def test_unclosed_quote_names_its_line(tmp_path):
    err = raises(bank_csv(tmp_path, f"1,2,ｱ\n\n2,\"3,{SECRET}\n4,5,ｲ\n"), "bank")
    assert err.row == 4 and "row 4" in str(err)


@pytest.mark.parametrize(
    "content,row",
    [
        # UTF-8 file with one CP932 line
        ((BANK_HEADER + "\n1,2,アイ\n").encode() + "2,3,アイ\n".encode("cp932"), 3),
        # UTF-8 with BOM, CP932 line
        (b"\xef\xbb\xbf" + (BANK_HEADER + "\n").encode() + "1,2,ｱ\n".encode("cp932"), 2),
        # ASCII start, a CP932 line, then a UTF-8 line: an error, not mojibake
        ((BANK_HEADER + "\n").encode() + "1,2,髙橋\n".encode("cp932") + "2,3,髙橋\n".encode(), 3),
        ((BANK_HEADER + "\n").encode() + "1,2,ｱｲ\n".encode("cp932") + "2,3,アイ\n".encode(), 3),
        # bytes that are neither UTF-8 nor CP932
        ((BANK_HEADER + "\n1,2,a\n2,3,b\n").encode() + b"3,4,\x80\xff\n", 4),
    ],
    ids=["utf8+cp932", "bom+cp932", "cp932+utf8", "cp932+utf8-kana", "undecodable"],
)
def test_undecodable_or_mixed_encoding_names_line(tmp_path, content, row):
    err = raises(write(tmp_path, "bank.csv", content), "bank")
    assert err.row == row and f"row {row}" in str(err)


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", bytes(range(256)) * 4, b"record_id,my_number\x00,x\n"],
    ids=["png", "all-bytes", "nul"],
)
def test_binary_garbage_is_input_error(tmp_path, content):
    err = raises(write(tmp_path, "bank.csv", content), "bank")
    assert err.row is not None


def test_not_a_table_is_missing_columns(tmp_path):
    err = raises(write(tmp_path, "bank.csv", "just some notes\nabout things\n"), "bank")
    assert err.column == "record_id"


# --------------------------------------------------- required columns, dups
@pytest.mark.parametrize(
    "kind,header,column",
    [
        ("bank", "my_number,holder_kana", "record_id"),
        ("bank", "record_id,個人番号", "holder_kana"),
        ("residents", "個人番号,氏名,生年月日", "sex"),
        ("insurance", "record_id,my_number,name", "birth_date"),
        ("insurance", "record_id,my_number,birth_date,sex", "name or name_kana"),
    ],
)
def test_missing_required_column_names_it_and_its_aliases(tmp_path, kind, header, column):
    row = ",".join(str(i) for i, _ in enumerate(header.split(",")))
    err = raises(write(tmp_path, f"{kind}.csv", f"{header}\n{row}\n"), kind)
    assert err.column == column
    assert f'missing required column "{column}"' in str(err)
    first = column.split(" or ")[0]
    for alias in ALIASES[kind][first]:
        assert alias in str(err)


def test_insurance_needs_only_one_name_column(tmp_path):
    p = write(tmp_path, "ins.csv", "レコードID,個人番号,フリガナ,生年月日\nI1,0001,ﾔﾏﾀﾞ,S60.4.12\n")
    df = read_table(p, "insurance")
    assert values(df, "name_kana") == ["ﾔﾏﾀﾞ"] and values(df, "name") == [None]
    assert list(df.columns) == [*ALIASES["insurance"], ROW]


def test_error_message_matches_contract_example(tmp_path):
    p = write(tmp_path, "bank.csv", "my_number,holder_kana\n1,2\n")
    with pytest.raises(InputError) as info:
        read_table(p, "bank")
    assert str(info.value) == f'{p}: missing required column "record_id" (also accepted: レコードID)'


@pytest.mark.parametrize(
    "header", ["record_id,レコードID,my_number,holder_kana", "record_id,my_number,口座名義,口座名義カナ"]
)
def test_duplicate_columns_after_mapping(tmp_path, header):
    err = raises(write(tmp_path, "bank.csv", header + "\n1,2,3,4\n"), "bank")
    assert "duplicate" in str(err) and err.column in ("record_id", "holder_kana")


def test_row_column_name_is_reserved_in_files(tmp_path):
    err = raises(write(tmp_path, "bank.csv", BANK_HEADER + ",_row\n1,2,3,4\n"), "bank")
    assert err.column == ROW


# ------------------------------------------------------------ empty tables
@pytest.mark.parametrize("content", ["", "\n\n", BANK_HEADER + "\n", BANK_HEADER + "\n\n,,\n"])
@pytest.mark.parametrize("kind", ["bank", "insurance"])
def test_empty_bank_and_insurance_are_fine(tmp_path, content, kind):
    if kind == "insurance":
        content = content.replace(BANK_HEADER, "record_id,my_number,name,birth_date")
    df = read_table(write(tmp_path, "t.csv", content), kind)
    assert len(df) == 0 and list(df.columns)[: len(ALIASES[kind])] == list(ALIASES[kind])
    assert df[ROW].dtype == np.int64


@pytest.mark.parametrize("content", ["", RES_JA + "\n", RES_JA + "\n,,,,,,,\n"])
def test_empty_residents_is_an_error(tmp_path, content):
    err = raises(write(tmp_path, "res.csv", content), "residents")
    assert "no residents" in str(err)


def test_missing_file_and_xls(tmp_path):
    assert "not found" in str(raises(tmp_path / "nope.csv", "bank"))
    assert ".xlsx" in str(raises(write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0"), "bank"))


# ----------------------------------------------------------------- Parquet
def _residents_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "個人番号": ["012345678901", "123456789018", None],
            "氏名": ["山田 太郎", "  ", "X"],
            "生年月日": [pd.Timestamp("1985-04-12"), pd.NaT, pd.Timestamp("2001-01-01")],
            "性別": [1.0, 2.0, np.nan],
            "世帯番号": pd.array([7, None, 700000000001], dtype="Int64"),
            "score": [1.5, 2.0, np.nan],
        }
    )


def test_parquet_values_become_text_except_birth_dates(tmp_path):
    p = tmp_path / "res.parquet"
    _residents_frame().to_parquet(p)
    df = read_table(p, "residents")
    assert values(df, "my_number") == ["012345678901", "123456789018", None]
    assert values(df, "name") == ["山田 太郎", None, "X"]
    assert values(df, "sex") == ["1", "2", None]  # no ".0"
    assert values(df, "household_id") == ["7", None, "700000000001"]
    assert values(df, "score") == ["1.5", "2", None]
    assert pd.api.types.is_datetime64_any_dtype(df["birth_date"])
    assert df["birth_date"].iloc[0] == pd.Timestamp("1985-04-12") and pd.isna(df["birth_date"].iloc[1])
    assert df[ROW].tolist() == [1, 2, 3]


def test_partitioned_parquet_directory_reads_as_one_table(tmp_path):
    frame = pd.DataFrame(
        {
            "record_id": ["a", "b", "c"],
            "my_number": ["01", "02", "03"],
            "holder_kana": ["ｱ", "ｲ", "ｳ"],
            "branch": ["x", "y", "x"],
        }
    )
    frame.to_parquet(tmp_path / "bank", partition_cols=["branch"])
    df = read_table(tmp_path / "bank", "bank")
    assert sorted(values(df, "record_id")) == ["a", "b", "c"]
    assert dict(zip(values(df, "record_id"), values(df, "branch"))) == {"a": "x", "b": "y", "c": "x"}
    assert sorted(df[ROW]) == [1, 2, 3]


def test_parquet_arrow_types(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "record_id": pa.array([1, None], pa.int64()),
            "my_number": pa.array([decimal.Decimal("621498320257"), None], pa.decimal128(12, 0)),
            "holder_kana": pa.array(["ｱ", "ｲ"]).dictionary_encode(),
            "flag": pa.array([True, None]),
            "day": pa.array([dt.date(2020, 1, 2), None]),
            "raw": pa.array([b"abc", "ｱ".encode()]),
            "items": pa.array([[1, 2], None]),
            "nothing": pa.array([None, None]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    df = read_table(tmp_path / "t.parquet", "bank")
    assert values(df, "record_id") == ["1", None]
    assert values(df, "my_number") == ["621498320257", None]
    assert values(df, "holder_kana") == ["ｱ", "ｲ"]
    assert values(df, "flag") == ["TRUE", None]
    assert values(df, "day") == ["2020-01-02", None]  # not birth_date: ISO text
    assert values(df, "raw") == ["abc", "ｱ"]
    assert values(df, "items") == ["[1, 2]", None]
    assert values(df, "nothing") == [None, None]
    pq.write_table(table.append_column("bad", pa.array([b"ok", b"\xff"])), tmp_path / "b.parquet")
    err = raises(tmp_path / "b.parquet", "bank")
    assert (err.row, err.column) == (2, "bad")


@pytest.mark.parametrize("name", ["bad.parquet", "bad.pq"])
def test_unreadable_parquet(tmp_path, name):
    err = raises(write(tmp_path, name, b"PAR1 this is not parquet"), "bank")
    assert "Parquet" in str(err)


# -------------------------------------------------------------------- xlsx
def _write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=r, column=c, value=v)
    book.save(path)
    return path


def test_xlsx_one_sheet_rows_numbers_and_dates(tmp_path):
    p = _write_xlsx(
        tmp_path / "res.xlsx",
        {
            "住民": [
                [],
                ["個人番号", "氏名", "生年月日", "性別", "メモ"],
                [621498320257, "髙橋 恭子", dt.datetime(1985, 4, 12), 2, dt.datetime(2024, 1, 2)],
                [],
                ["012345678901", "佐藤", "S60.4.12", "女", 3.25],
                [None, "  ", None, None, None],
            ]
        },
    )
    df = read_table(p, "residents")
    assert df[ROW].tolist() == [3, 5]
    assert values(df, "my_number") == ["621498320257", "012345678901"]
    assert values(df, "sex") == ["2", "女"]
    assert values(df, "メモ") == ["2024-01-02", "3.25"]
    assert values(df, "birth_date") == [pd.Timestamp("1985-04-12"), "S60.4.12"]


def test_xlsx_with_several_sheets_of_records_is_refused(tmp_path):
    """Reading one sheet would silently drop the other's records: nothing may be lost."""
    p = _write_xlsx(
        tmp_path / "bank.xlsx",
        {
            "説明": [["これは説明です"]],
            "口座": [["レコードID", "個人番号", "口座名義"], ["B1", "0001", "ﾀﾛｳ"]],
            "口座2": [["レコードID", "個人番号", "口座名義"], ["B9", "0009", "ｼﾞﾛｳ"]],
        },
    )
    err = raises(p, "bank")
    assert "several sheets" in str(err) and "口座" in str(err) and "口座2" in str(err)


def test_xlsx_notes_sheet_before_the_records_is_skipped(tmp_path):
    p = _write_xlsx(
        tmp_path / "bank.xlsx",
        {"説明": [["これは説明です"]], "口座": [["レコードID", "個人番号", "口座名義"], ["B1", "0001", "ﾀﾛｳ"]]},
    )
    df = read_table(p, "bank")
    assert values(df, "record_id") == ["B1"] and df[ROW].tolist() == [2]


def test_xlsx_without_matching_sheet_lists_sheets(tmp_path):
    sheets = {"説明": [["メモ"]], "データ": [["個人番号", "口座名義"], [1, 2]]}
    p = _write_xlsx(tmp_path / "bank.xlsx", sheets)
    err = raises(p, "bank")
    assert '"説明"' in str(err) and '"データ"' in str(err) and "no sheet" in str(err)


def test_xlsx_single_sheet_names_missing_column(tmp_path):
    p = _write_xlsx(tmp_path / "bank.xlsx", {"データ": [["個人番号", "口座名義"], [1, SECRET]]})
    assert raises(p, "bank").column == "record_id"


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken zip"])
def test_unreadable_xlsx(tmp_path, content):
    assert "Excel" in str(raises(write(tmp_path, "bank.xlsx", content), "bank"))


def test_format_follows_content_signature(tmp_path):
    frame = pd.DataFrame({"record_id": [1], "my_number": ["0001"], "holder_kana": ["ｱ"]})
    frame.to_parquet(tmp_path / "really_parquet.csv")
    assert values(read_table(tmp_path / "really_parquet.csv", "bank"), "my_number") == ["0001"]


# --------------------------------------------------------------- DataFrame
def test_dataframe_passes_through_mapping_and_checks():
    frame = pd.DataFrame(
        {"レコードID": [10, 11], "個人番号": [621498320257.0, np.nan], "口座名義": ["ｱ", ""], "extra": [True, False]},
        index=[5, 9],
    )
    df = read_table(frame, "bank")
    assert values(df, "record_id") == ["10", "11"]
    assert values(df, "my_number") == ["621498320257", None]
    assert values(df, "holder_kana") == ["ｱ", None]
    assert values(df, "extra") == ["TRUE", "FALSE"]
    assert df[ROW].tolist() == [1, 2] and list(df.index) == [0, 1]
    with pytest.raises(InputError) as info:
        read_table(frame.drop(columns="口座名義"), "bank")
    assert info.value.column == "holder_kana" and "DataFrame" in str(info.value)


def test_dataframe_mixed_object_and_categorical_columns():
    frame = pd.DataFrame(
        {
            "record_id": pd.Categorical(["a", "b", None]),
            "my_number": ["012", 12, None],
            "holder_kana": ["ｱ", "ｲ", "ｳ"],
            "when": [dt.datetime(2020, 5, 1), "2020/5/1", None],
        }
    )
    df = read_table(frame, "bank")
    assert values(df, "record_id") == ["a", "b", None]
    assert values(df, "my_number") == ["012", "12", None]
    assert values(df, "when") == ["2020-05-01", "2020/5/1", None]


def test_birth_date_keeps_datetimes_mixed_with_text():
    frame = pd.DataFrame(
        {
            "my_number": ["1", "2", "3"],
            "name": ["a", "b", "c"],
            "birth_date": [dt.date(1985, 4, 12), "S60.4.12", 19850412],
            "sex": ["1", "2", "1"],
        }
    )
    df = read_table(frame, "residents")
    assert values(df, "birth_date") == [pd.Timestamp("1985-04-12"), "S60.4.12", "19850412"]


def test_reading_twice_is_identity(tmp_path):
    once = read_table(bank_csv(tmp_path, "1,2,ｱ\n\n2,3,ｲ\n"), "bank")
    assert read_table(once, "bank").equals(once)


# ------------------------------------------------------------ InputError
def test_input_error_format_and_pickle():
    err = InputError("bank.csv", "bad\nthing", row=7, column="my\nnumber")
    assert str(err) == 'bank.csv, row 7, column "my number": bad thing'
    assert isinstance(err, ValueError) and (err.path, err.row, err.column) == ("bank.csv", 7, "my\nnumber")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.row == 7


# ------------------------------------------------------------- file_digest
def test_file_digest_file_and_directory(tmp_path):
    f = write(tmp_path, "a.csv", b"hello")
    assert file_digest(f) == hashlib.sha256(b"hello").hexdigest()
    d = tmp_path / "d"
    (d / "x=1").mkdir(parents=True)
    write(d / "x=1", "part-0.parquet", b"one")
    write(d, "part-1.parquet", b"two")
    first = file_digest(d)
    assert first == file_digest(d) and len(first) == 64
    write(d / "x=1", "part-0.parquet", b"One")
    assert file_digest(d) != first
    with pytest.raises(InputError):
        file_digest(tmp_path / "missing.csv")


# -------------------------------------------------------------- properties
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_give_a_table_or_input_error(tmp_path, data):
    p = write(tmp_path, "bank.csv", data)
    try:
        df = read_table(p, "bank")
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert {"record_id", "my_number", "holder_kana", ROW} <= set(df.columns)


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('\n,"\t 0'),
    max_size=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=6),
    st.sampled_from([",", "\t"]),
    st.booleans(),
)
def test_csv_round_trip(tmp_path, rows, sep, bom):
    frame = pd.DataFrame(rows, columns=["record_id", "my_number", "holder_kana"])
    text = frame.to_csv(index=False, sep=sep, lineterminator="\n")
    p = write(tmp_path, "bank.csv", ("\ufeff" if bom else "") + text)
    df = read_table(p, "bank")
    blank = frame.apply(lambda col: col.str.strip() == "")
    kept = frame[~blank.all(axis=1)].reset_index(drop=True)
    for col in frame.columns:
        expected = [None if not v.strip() else v for v in kept[col]]
        assert values(df, col) == expected
    # each record starts after the lines used by the records before it
    lines = 1 + frame.apply(lambda col: col.str.count("\n")).sum(axis=1)
    starts = 2 + np.concatenate(([0], np.cumsum(lines)[:-1]))
    assert df[ROW].tolist() == starts[~blank.all(axis=1).to_numpy()].tolist()


# Every character Python's str.isspace accepts, and some it does not (zero-width space, BOM, NUL).
_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\u200b", "\ufeff", "\x00", "a", "ｱ"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_SPACES), max_size=4), min_size=1, max_size=8))
def test_blank_cells_are_exactly_the_python_whitespace_ones(cells):
    frame = pd.DataFrame({"record_id": [f"r{i}" for i in range(len(cells))], "my_number": "1",
                          "holder_kana": cells})
    out = read_table(frame, "bank")
    assert out["holder_kana"].dtype == "string[pyarrow]"
    expected = [None if not c.strip() else c.replace("\x00", "\ufffd") for c in cells]
    assert [None if v is pd.NA else v for v in out["holder_kana"].tolist()] == expected


def test_a_lone_surrogate_becomes_a_damaged_cell_not_a_crash():
    frame = pd.DataFrame({"record_id": ["a"], "my_number": ["1"], "holder_kana": ["ﾔﾏﾀﾞ\ud800"]})
    assert read_table(frame, "bank")["holder_kana"].tolist() == ["ﾔﾏﾀﾞ\ufffd"]


# ------------------------------------------ fast paths: blank cells and NULs
# Characters that share their first UTF-8 bytes with a space character (or are
# otherwise close to one) but are not spaces: they must never be made missing.
_NEAR_SPACES = ["\u200b", "\u2010", "\u202a", "\u2060", "\u205e", "\u3001", "\u3041", "\u1681", "\xa1", "\x86",
                "\ufeff", "\x1b", "\x7f", "ｱ", "a"]
_PY_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]


def test_space_set_is_exactly_python_isspace():
    assert sorted(reader._SPACES) == [chr(c) for c in range(0x110000) if chr(c).isspace()]


def _tricky_cells() -> list[str | None]:
    near = _NEAR_SPACES
    cells: list[str | None] = ["", None, "ﾔﾏﾀﾞ\x00ﾀﾛｳ", "\x00", " \x00 ", "山田 太郎", " 山田", "ｱ "]
    cells += _PY_SPACES + [a + b for a, b in zip(_PY_SPACES, reversed(_PY_SPACES))]
    cells += near + [s + near[i % len(near)] for i, s in enumerate(_PY_SPACES)]
    cells += [near[i % len(near)] + s for i, s in enumerate(_PY_SPACES)]
    return cells


def _expected(cells: list[str | None]) -> list[str | None]:
    return [None if c is None or not c.strip() else c.replace("\x00", "\ufffd") for c in cells]


def _bank_table(cells: list[str | None]):
    import pyarrow as pa

    return pa.table({"record_id": [f"r{i}" for i in range(len(cells))], "my_number": ["1"] * len(cells),
                     "holder_kana": pa.array(cells, pa.string())})


@pytest.mark.parametrize("route", ["parquet", "parquet-row-groups", "parquet-directory", "dataframe-slice"])
def test_blank_and_nul_cells_on_every_arrow_route(tmp_path, route):
    import pyarrow.parquet as pq

    cells = _tricky_cells()
    table = _bank_table(cells)
    ids = [f"r{i}" for i in range(len(cells))]
    if route == "parquet":
        pq.write_table(table, tmp_path / "b.parquet")
        source = tmp_path / "b.parquet"
    elif route == "parquet-row-groups":  # several chunks per column
        pq.write_table(table, tmp_path / "b.parquet", row_group_size=7)
        source = tmp_path / "b.parquet"
    elif route == "parquet-directory":
        (tmp_path / "d").mkdir()
        pq.write_table(table.slice(0, 20), tmp_path / "d" / "part-0.parquet")
        pq.write_table(table.slice(20), tmp_path / "d" / "part-1.parquet")
        source = tmp_path / "d"
    else:  # Arrow-backed DataFrame column that starts inside its buffers (offset > 0)
        frame = table.to_pandas().astype("string[pyarrow]").iloc[5:]
        cells, ids, source = cells[5:], ids[5:], frame
    df = read_table(source, "bank")
    assert df["holder_kana"].dtype == "string[pyarrow]"
    assert df["holder_kana"].array._pa_array.type == "large_string"
    assert values(df, "holder_kana") == _expected(cells)
    assert values(df, "record_id") == ids


def test_blank_and_nul_cells_in_csv(tmp_path):
    cells = [c for c in _tricky_cells() if c is not None]
    frame = pd.DataFrame({"record_id": [f"r{i}" for i in range(len(cells))], "my_number": "1", "holder_kana": cells})
    p = write(tmp_path, "bank.csv", frame.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL))
    df = read_table(p, "bank")
    assert values(df, "holder_kana") == _expected(cells)
    assert df["holder_kana"].dtype == "string[pyarrow]"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.none() | st.text(alphabet=st.sampled_from(_PY_SPACES + _NEAR_SPACES + ["\x00"]), max_size=4),
                min_size=1, max_size=30),
       st.integers(min_value=1, max_value=8))
def test_parquet_blank_cells_are_exactly_the_python_whitespace_ones(tmp_path, cells, row_group_size):
    import pyarrow.parquet as pq

    p = tmp_path / "b.parquet"
    pq.write_table(_bank_table(cells), p, row_group_size=row_group_size)
    assert values(read_table(p, "bank"), "holder_kana") == _expected(cells)


def test_parquet_with_several_row_groups_reads_like_one(tmp_path):
    import pyarrow.parquet as pq

    table = _bank_table([f"ﾔﾏﾀﾞ {i}" if i % 3 else " " for i in range(50)])
    pq.write_table(table, tmp_path / "one.parquet")
    pq.write_table(table, tmp_path / "many.parquet", row_group_size=6)
    one, many = read_table(tmp_path / "one.parquet", "bank"), read_table(tmp_path / "many.parquet", "bank")
    pd.testing.assert_frame_equal(one, many)
    assert one[ROW].tolist() == list(range(1, 51)) and one["holder_kana"].isna().sum() == 17


# ------------------------------------------ fast paths: encoding detection
def _utf8_line_reference(body: bytes, limit: int = 10_000) -> int | None:
    """The plain scan ``_utf8_line`` must agree with (whole-file searches per line)."""
    import re

    ja = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf]{2}|\xef[\xbc-\xbf][\x80-\xbf])")
    checked = pos = 0
    while checked < limit:
        m = ja.search(body, pos)
        if m is None:
            return None
        start = max(body.rfind(b"\n", 0, m.start()), body.rfind(b"\r", 0, m.start())) + 1
        ends = [i for i in (body.find(b"\n", m.end()), body.find(b"\r", m.end())) if i >= 0]
        end = min(ends) if ends else len(body)
        try:
            body[start:end].decode("utf-8")
            head = body[:start]
            return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
        except UnicodeDecodeError:
            pass
        pos, checked = end, checked + 1
    return None


_PIECES = [b"\n", b"\r", b"\r\n", "ア".encode(), "ア".encode("cp932"), "髙".encode("cp932"), "ｱ".encode("cp932"),
           b"\xe3\x82", b"\xe3\x82\xa2\xe3", b"a,", b"\xef\xbd\xb1", b"\x82\xa0"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.integers(min_value=1, max_value=6))
def test_utf8_line_finds_the_line_the_plain_scan_finds(pieces, limit):
    body = b"".join(pieces)
    assert reader._utf8_line(body, limit) == _utf8_line_reference(body, limit)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_utf8_line_after_many_cp932_lines_names_its_row(tmp_path, newline):
    lines = [BANK_HEADER] + [f"{i},{i},髙橋ｱｲ" for i in range(3000)]
    content = newline.join(lines).encode("cp932") + newline.encode() + f"x,y,髙橋{newline}".encode()
    err = raises(write(tmp_path, "bank.csv", content), "bank")
    assert err.row == 3002 and "row 3002" in str(err)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_cp932_file_reads_with_any_line_break(tmp_path, newline):
    lines = [RES_JA] + [f"12345678901{i % 10},髙橋 {i},ﾀｶﾊｼ,S60.4.12,1,東京都,{i},世帯主" for i in range(300)]
    p = write(tmp_path, "res.csv", newline.join(lines) + newline, encoding="cp932")
    df = read_table(p, "residents")
    assert len(df) == 300 and df[ROW].tolist() == list(range(2, 302))
    assert values(df, "name")[:2] == ["髙橋 0", "髙橋 1"]


def test_parquet_files_the_direct_read_cannot_take_still_fail_cleanly(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dup = pa.Table.from_arrays([pa.array(["a"]), pa.array(["1"]), pa.array(["ｱ"]), pa.array(["ｲ"])],
                               names=["record_id", "my_number", "holder_kana", "holder_kana"])
    pq.write_table(dup, tmp_path / "dup.parquet")
    assert "cannot read as a Parquet file" in str(raises(tmp_path / "dup.parquet", "bank"))
    pq.write_table(_bank_table([f"ﾔﾏﾀﾞ {i}" for i in range(3000)]), tmp_path / "ok.parquet", compression="none")
    data = bytearray((tmp_path / "ok.parquet").read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64  # a damaged data page, intact footer
    err = raises(write(tmp_path, "damaged.parquet", bytes(data)), "bank")
    assert "cannot read as a Parquet file" in str(err)
