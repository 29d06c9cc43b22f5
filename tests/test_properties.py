"""Properties over the readers, normalisers and the whole audit.

Arbitrary Unicode and arbitrary bytes: nothing raises except ``InputError``
(the documented error for bad input); what is read keeps every record; keys
are idempotent; masking never shows more than four characters.
"""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stdnum.jp import in_

import linkage
from linkage import normalize, validate
from linkage.errors import InputError
from linkage.read import ALIASES, ROW, read_table
from linkage.report import FORMULA_START, neutralise

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# the same property over many functions: fewer examples each
EACH = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any code point, surrogates and controls included: what a broken export can hold.
any_char = st.characters(codec=None, exclude_categories=())
any_text = st.text(any_char, max_size=12)
# Text a file can hold (no lone surrogates); controls, NUL and line breaks included.
file_char = st.characters(exclude_categories=("Cs",))
japanese = st.sampled_from(list("山田太郎髙橋恭子ヤマダタロウやまだｷﾖｳｺﾞｰ　 ・-－0123456789０１２S昭和年月日男女丁目番号"))
cell = st.text(st.one_of(file_char, japanese, st.sampled_from(list(',"\n\r\t\x00'))), max_size=10)
# Scalars a DataFrame cell can hold; the reader also meets lists (Parquet list columns).
scalar_value = st.one_of(
    any_text, st.none(), st.integers(-(10**13), 10**13), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.binary(max_size=6), st.dates(), st.datetimes(),
    st.just(float("nan")), st.just(pd.NaT), st.just(pd.NA),
)
cell_value = st.one_of(scalar_value, st.lists(st.integers(0, 3), max_size=2))


def valid_number(body: str) -> str:
    return body + in_.calc_check_digit(body)


# ------------------------------------------------------------------ readers
@FAST
@given(st.binary(max_size=400), st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".parquet"]),
       st.sampled_from(["bank", "insurance", "residents"]))
def test_any_bytes_give_a_table_or_an_input_error(tmp_path, data, suffix, kind):
    p = tmp_path / f"t{suffix}"
    p.write_bytes(data)
    try:
        df = read_table(p, kind)
    except InputError as e:
        assert "\n" not in str(e) and str(e).startswith(str(p))
        return
    assert list(df.columns[: len(ALIASES[kind])]) == list(ALIASES[kind])
    rows = df[ROW].to_numpy()
    assert df[ROW].dtype == np.int64 and (np.diff(rows) > 0).all() and (rows >= 1).all()
    assert len(df) <= data.count(b"\n") + data.count(b"\r") + 1


@FAST
@given(st.lists(st.tuples(cell, cell, cell), max_size=6), st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
       st.sampled_from([",", "\t"]), st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
def test_csv_of_any_text_keeps_every_record(tmp_path, rows, encoding, sep, style):
    frame = pd.DataFrame(rows, columns=["record_id", "my_number", "holder_kana"], dtype=object)
    # (with "\n" line ends the csv module leaves a lone "\r" unquoted, which is a line break)
    text = frame.to_csv(index=False, sep=sep, lineterminator=style[0], quoting=style[1])
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    p = tmp_path / "bank.csv"
    p.write_bytes(data)
    try:
        df = read_table(p, "bank")
    except InputError as e:
        assert "\n" not in str(e)
        return
    # every record with anything in it comes out (NUL marks a damaged cell, it does not drop the row)
    blank = frame.apply(lambda col: col.str.strip().eq("") & ~col.str.contains("\x00"))
    assert len(df) == int((~blank.all(axis=1)).sum())


@FAST
@given(st.lists(st.tuples(cell_value, cell_value, cell_value, cell_value), max_size=6))
def test_any_dataframe_values_give_a_table_or_an_input_error(rows):
    frame = pd.DataFrame(rows, columns=["record_id", "個人番号", "口座名義", "備考"], dtype=object)
    try:
        df = read_table(frame, "bank")
    except InputError as e:
        assert "\n" not in str(e)
        return
    assert len(df) == len(frame)  # a DataFrame's rows are all records
    for col in ("record_id", "my_number", "holder_kana"):
        assert str(df[col].dtype) == "string"


@FAST
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-5, 10**12 + 5), st.floats(0, 10**12)),
                          st.text(max_size=3)), min_size=1, max_size=5))
def test_numeric_my_numbers_get_back_their_leading_zeros(rows):
    frame = pd.DataFrame(rows, columns=["my_number", "holder_kana"], dtype=object).assign(record_id="r")
    got = read_table(frame, "bank")["my_number"]
    for (value, _), out in zip(rows, got):
        if value is None or (isinstance(value, float) and not value.is_integer()):
            continue
        if 10**8 <= value < 10**12:
            assert out == f"{int(value):012d}"
        else:
            assert out == str(int(value))


# --------------------------------------------------------------- normalisers
KEYS = [normalize.kana_key, normalize.kana_key_loose, normalize.name_key, normalize.name_near_key,
        normalize.address_key, normalize.my_number]
TOTAL = KEYS + [normalize.to_zengin, normalize.is_alphabet, normalize.birth_date, normalize.birth_date_reason,
                normalize.my_number_reason, normalize.mask, normalize.sex, normalize.sex_reason,
                normalize.split_name]


@EACH
@given(st.lists(st.one_of(any_text, st.none(), st.just(float("nan"))), max_size=6))
@pytest.mark.parametrize("func", TOTAL, ids=lambda f: f.__name__)
def test_normalisers_take_any_unicode(func, values):
    s = pd.Series(values, dtype=object, index=range(10, 10 + len(values)))
    out = func(s)
    assert len(out) == len(s) and list(out.index) == list(s.index)
    missing = s.isna().to_numpy()
    if isinstance(out, pd.Series) and func not in (normalize.is_alphabet,):
        assert out[missing].isna().all()  # missing stays missing


@EACH
@given(st.lists(scalar_value, max_size=6))
@pytest.mark.parametrize("func", TOTAL, ids=lambda f: f.__name__)
def test_normalisers_take_any_scalar(func, values):
    s = pd.Series(values, dtype=object)
    assert len(func(s)) == len(s)


@EACH
@given(st.lists(st.one_of(any_text, japanese.map(str)), min_size=1, max_size=6))
@pytest.mark.parametrize("key", KEYS, ids=lambda f: f.__name__)
def test_keys_are_idempotent(key, values):
    once = key(pd.Series(values, dtype=object))
    twice = key(once)
    assert once.fillna("<NA>").tolist() == twice.fillna("<NA>").tolist()


@FAST
@given(st.text("0123456789", min_size=11, max_size=11), st.lists(st.sampled_from(["", " ", "-", "‐", "　", "ー"]),
                                                                   min_size=3, max_size=3), st.booleans())
def test_mask_shows_at_most_the_last_four_digits(body, seps, fullwidth):
    number = valid_number(body)
    shown = number[:4] + seps[0] + number[4:8] + seps[1] + number[8:] + seps[2]
    if fullwidth:
        shown = shown.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    masked = normalize.mask(pd.Series([shown]))[0]
    assert masked.endswith(number[-4:]) and set(masked[:-4]) == {"*"}


@FAST
@given(any_text)
def test_mask_never_shows_more_than_four_characters(value):
    masked = normalize.mask(pd.Series([value], dtype=object))[0]
    if masked is not pd.NA and masked is not None:
        assert len(masked.replace("*", "")) <= 4


@FAST
@given(st.lists(st.one_of(any_text, st.none()), max_size=6))
def test_valid_numbers_have_no_reason_and_invalid_ones_do(values):
    s = pd.Series(values, dtype=object)
    number, reason = normalize.my_number(s), normalize.my_number_reason(s)
    for value, n, r in zip(s, number, reason):
        if value is None:
            assert n is pd.NA and r is pd.NA
        else:
            assert (n is pd.NA) != (r is pd.NA), (value, n, r)


# ---------------------------------------------------------- validation, export
@EACH
@given(st.lists(st.tuples(any_text, any_text, any_text, any_text), max_size=6),
       st.sampled_from(["bank", "insurance"]))
def test_validation_takes_anything(rows, source):
    frame = pd.DataFrame(rows, columns=["record_id", "holder_kana", "name", "birth_date"], dtype=object)
    frame = frame.assign(source=source, name_kana=None, _row=np.arange(2, len(frame) + 2))
    problems = validate.record_problems(frame)
    assert len(problems) == len(frame)
    for code, rid in zip(problems, frame["record_id"]):
        assert code is None or code.count("|") == 3
    assert len(validate.mark_duplicate_ids(frame)) == len(frame)


@FAST
@given(st.lists(st.one_of(any_text, st.none()), max_size=8))
def test_neutralise_quotes_exactly_the_formulas(values):
    s = pd.Series(values, dtype=object)
    out = neutralise(s)
    for before, after in zip(s, out):
        if before is None:
            assert after is pd.NA
        elif before.startswith(FORMULA_START):
            assert after == "'" + before
        else:
            assert after == before


@FAST
@given(st.text(any_char, max_size=20), st.text(any_char, max_size=20), st.text(any_char, max_size=10),
       st.one_of(st.none(), st.integers(0, 10**6)))
def test_input_errors_are_one_line(path, message, column, row):
    text = str(InputError(path, message, row=row, column=column))
    assert not any(c in text for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


# ------------------------------------------------------------- whole audit
RESIDENTS = pd.DataFrame({
    "my_number": [valid_number("10000000001"), valid_number("10000000002"), valid_number("10000000001")],
    "name": ["山田 太郎", "山田 花子", "別人 太郎"], "name_kana": ["ヤマダ タロウ", None, "ベツジン タロウ"],
    "birth_date": ["1978-05-01", "S55.2.3", "1850-01-01"], "sex": ["1", "女", "X"],
    "address": ["東京都千代田区1-2-3", None, ""], "household_id": ["H1", "H1", None],
})
number_value = st.one_of(st.sampled_from(list(RESIDENTS["my_number"])), st.text("0123456789-", max_size=13),
                         cell_value)


@SLOW
@given(
    st.lists(st.tuples(cell_value, number_value, st.one_of(cell_value, st.sampled_from(["ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾊﾅｺ"]))),
             max_size=5),
    st.lists(st.tuples(cell_value, number_value, cell_value, cell_value, st.one_of(cell_value, st.dates()),
                       cell_value), max_size=5),
)
def test_audit_of_anything_keeps_every_record(bank_rows, ins_rows):
    bank = pd.DataFrame(bank_rows, columns=["record_id", "my_number", "holder_kana"], dtype=object)
    ins = pd.DataFrame(ins_rows, columns=["record_id", "my_number", "name", "name_kana", "birth_date", "sex"],
                       dtype=object)
    try:
        result = linkage.audit(RESIDENTS, bank=bank, insurance=ins)
    except InputError:
        return
    f = result.findings
    assert len(f) == len(bank) + len(ins) == result.meta["rows_in"]
    assert not f.duplicated(["source", "record_id"]).any()
    assert f["status"].notna().all() and f["reason"].notna().all() and f["evidence"].notna().all()
    assert f["score"].between(0, 1).all()
    for n in RESIDENTS["my_number"]:
        assert not f.astype(str).apply(lambda col: col.str.contains(n, regex=False)).any().any()
