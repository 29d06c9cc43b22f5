"""My Number compaction, validation reasons and masking."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import in_ as stdnum_in

from linkage.normalize.number import mask, my_number, my_number_reason

VALID = [
    ("621498320257", "621498320257"),
    ("123456789018", "123456789018"),
    ("6214 9832 0257", "621498320257"),
    ("6214-9832-0257", "621498320257"),
    ("６２１４９８３２０２５７", "621498320257"),
    ("６２１４　９８３２　０２５７", "621498320257"),
    ("6214−9832−0257", "621498320257"),
    (" 621498320257 ", "621498320257"),
    (621498320257, "621498320257"),
    (621498320257.0, "621498320257"),
]

INVALID = [
    ("621498320258", "check_digit"),
    ("12345678901", "length"),
    ("1234567890123", "length"),
    ("000000000000", "all_zeros"),
    ("62149832025A", "non_digit"),
    ("6214983202５X", "non_digit"),
    ("abc", "non_digit"),
    ("12345", "length"),
    ("NaN", "non_digit"),
]


@pytest.mark.parametrize("raw,expected", VALID)
def test_valid_numbers_compact(raw, expected):
    s = pd.Series([raw], dtype=object)
    assert my_number(s)[0] == expected
    assert pd.isna(my_number_reason(s)[0])


@pytest.mark.parametrize("raw,reason", INVALID)
def test_invalid_numbers_say_why(raw, reason):
    s = pd.Series([raw], dtype=object)
    assert pd.isna(my_number(s)[0])
    assert my_number_reason(s)[0] == reason


def test_missing_is_na_not_invalid():
    s = pd.Series([None, float("nan")], dtype=object)
    assert my_number(s).isna().all() and my_number_reason(s).isna().all()


def test_mask_keeps_last_four_only():
    out = mask(pd.Series(["621498320257", "6214-9832-0257", None]))
    assert out[0] == "********0257" and out[1] == "********0257" and pd.isna(out[2])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.sampled_from(["", " ", "-", "\u3000"]),
       st.booleans())
def test_valid_number_survives_formatting(body, sep, fullwidth):
    number = body + stdnum_in.calc_check_digit(body)
    if number == "000000000000":
        return
    text = sep.join([number[:4], number[4:8], number[8:]])
    if fullwidth:
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert my_number(pd.Series([text]))[0] == number


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats()))
def test_never_raises(value):
    s = pd.Series([value], dtype=object)
    valid, reason = my_number(s)[0], my_number_reason(s)[0]
    assert pd.isna(valid) or (len(valid) == 12 and valid.isdigit())
    assert pd.isna(valid) != pd.isna(reason) or pd.isna(value)


def test_analyse_many_checks_each_distinct_number_once_and_splits_back(monkeypatch):
    from linkage.normalize import number as number_module

    calls = []
    real = number_module.stdnum_in.calc_check_digit
    monkeypatch.setattr(number_module.stdnum_in, "calc_check_digit", lambda body: calls.append(body) or real(body))
    register = pd.Series(["621498320257", "123456789018", None], dtype="string[pyarrow]", index=[10, 11, 12])
    records = pd.Series(["621498320257", "621498320257", "6214 9832 0257", "621498320258"], dtype="string[pyarrow]")
    (n1, r1), (n2, r2) = number_module.analyse_many(register, records)
    # Six numbers (the spaced one is the same number once cleaned), three distinct ones.
    assert sorted(calls) == ["12345678901", "62149832025", "62149832025"]
    assert list(n1.index) == [10, 11, 12] and list(n2.index) == [0, 1, 2, 3]
    for col, (n, r) in ((register, (n1, r1)), (records, (n2, r2))):
        alone_n, alone_r = number_module.analyse(col)
        assert n.equals(alone_n) and r.equals(alone_r)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=12, max_size=12)
                | st.sampled_from(["000000000000", "000000000019", "000000000108", "099999999991"]), max_size=40))
def test_plain_numbers_as_integers_give_what_stdnum_gives_one_by_one(values):
    """The bulk path handles 12 ASCII digits as int64: leading zeros, all zeros and
    repeats come out as stdnum and the per-value rules say, in Arrow and object storage."""
    from linkage.normalize.number import _reason, analyse

    want_reason = [_reason(v) for v in values]
    want_number = [v if r is None else None for v, r in zip(values, want_reason)]
    for dtype in ("string[pyarrow]", object):
        number, reason = analyse(pd.Series(values, dtype=dtype))
        assert number.astype(object).where(number.notna(), None).tolist() == want_number
        assert reason.astype(object).where(reason.notna(), None).tolist() == want_reason
