"""Birth dates (western, era, code7), era rendering and sex codes."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.normalize.dates import birth_date, birth_date_reason, kanji_int, to_era
from linkage.normalize.sex import sex, sex_reason

STYLES = ["kanji", "letter", "letter_slash", "code7", "iso", "slash", "compact"]

READABLE = [
    # western
    ("1985-04-12", "1985-04-12"),
    ("1985-04-12 13:45:00", "1985-04-12"),
    ("1985-04-12T00:00:00", "1985-04-12"),
    ("1985-04-12T23:30:00+09:00", "1985-04-12"),
    ("1985/4/12", "1985-04-12"),
    ("1985/04/12 0:00", "1985-04-12"),
    ("1985.4.12", "1985-04-12"),
    ("19850412", "1985-04-12"),
    ("19850412.0", "1985-04-12"),
    ("1985年4月12日", "1985-04-12"),
    ("１９８５年４月１２日", "1985-04-12"),
    ("一九八五年四月十二日", "1985-04-12"),
    (" 1985-04-12 ", "1985-04-12"),
    ("1850-01-01", "1850-01-01"),  # old, but rejecting it is validation's job
    ("2099-12-31", "2099-12-31"),  # future: likewise
    # era text
    ("昭和50年1月1日", "1975-01-01"),
    ("昭和５０年１月１日", "1975-01-01"),
    ("昭和五十年一月一日", "1975-01-01"),
    ("平成二十三年十二月三十一日", "2011-12-31"),
    ("昭和 50年 1月 1日", "1975-01-01"),
    ("昭和50年1月1日生", "1975-01-01"),
    ("昭50.1.1", "1975-01-01"),
    ("㍼50年1月1日", "1975-01-01"),
    ("令和元年5月1日", "2019-05-01"),
    ("平成元年1月8日", "1989-01-08"),
    ("昭和64年1月7日", "1989-01-07"),
    ("大正15年12月24日", "1926-12-24"),
    ("昭和元年12月25日", "1926-12-25"),
    ("明治元年1月25日", "1868-01-25"),
    ("明治45年7月29日", "1912-07-29"),
    ("大正元年7月30日", "1912-07-30"),
    # era letters
    ("S50.1.1", "1975-01-01"),
    ("s50.1.1", "1975-01-01"),
    ("S50/1/1", "1975-01-01"),
    ("S.50.1.1", "1975-01-01"),
    ("H12/03/04", "2000-03-04"),
    ("h12-03-04", "2000-03-04"),
    ("R1.5.1", "2019-05-01"),
    ("r01/05/01", "2019-05-01"),
    ("T3.2.1", "1914-02-01"),
    ("m40.1.1", "1907-01-01"),
    ("Ｓ５０．１．１", "1975-01-01"),
    ("S500101", "1975-01-01"),
    # era codes 1-5
    ("3500101", "1975-01-01"),
    ("4120304", "2000-03-04"),
    ("5010501", "2019-05-01"),
    ("1450729", "1912-07-29"),
    ("2150101", "1926-01-01"),
]

NAT = [
    # (value, reason)
    ("昭和64年1月8日", "outside era range"),
    ("平成元年1月7日", "outside era range"),
    ("昭和65年1月1日", "outside era range"),
    ("令和元年4月30日", "outside era range"),
    ("明治元年1月24日", "outside era range"),
    ("昭和0年1月1日", "outside era range"),
    ("S65.1.1", "outside era range"),
    ("3640108", "outside era range"),
    ("2001年2月30日", "impossible date"),
    ("昭和50年2月30日", "impossible date"),
    ("1985-13-01", "impossible date"),
    ("19850230", "impossible date"),
    ("1985-04-00", "impossible date"),
    ("0001-01-01", "impossible date"),
    ("31149", "unreadable"),  # an Excel serial: never guessed
    ("85/4/12", "unreadable"),  # two-digit western year
    ("12/04/1985", "unreadable"),  # day-first is ambiguous
    ("6500101", "unreadable"),  # era code 6 does not exist
    ("X50.1.1", "unreadable"),
    ("昭和50年", "unreadable"),
    ("abc", "unreadable"),
    ("", "unreadable"),
    ("元年5月1日", "unreadable"),  # 元 needs an era
    ("昭和五十年一月元日", "unreadable"),
]


@pytest.mark.parametrize(("value", "expected"), READABLE)
def test_birth_date_reads(value: str, expected: str) -> None:
    s = pd.Series([value], dtype=object)
    assert birth_date(s).iloc[0] == pd.Timestamp(expected)
    assert birth_date_reason(s).isna().all()


@pytest.mark.parametrize(("value", "reason"), NAT)
def test_birth_date_rejects_with_reason(value: str, reason: str) -> None:
    s = pd.Series([value], dtype=object)
    assert pd.isna(birth_date(s).iloc[0])
    assert birth_date_reason(s).iloc[0] == reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (19850412, "1985-04-12"),
        (3500101, "1975-01-01"),
        (np.int64(4120304), "2000-03-04"),
        (19850412.0, "1985-04-12"),
        (pd.Timestamp("1985-04-12 10:30"), "1985-04-12"),
        (pd.Timestamp("1985-04-12 23:30", tz="Asia/Tokyo"), "1985-04-12"),
        (dt.date(1985, 4, 12), "1985-04-12"),
        (dt.datetime(1985, 4, 12, 5, 6), "1985-04-12"),
        (np.datetime64("1985-04-12"), "1985-04-12"),
        (31149, None),  # Excel serial
        (31149.0, None),
        (19850412.5, None),
        (-19850412, None),
        (True, None),
        (dt.date(1500, 1, 1), None),  # not representable in datetime64[ns]
    ],
)
def test_birth_date_non_text(value: object, expected: str | None) -> None:
    got = birth_date(pd.Series([value], dtype=object)).iloc[0]
    assert (pd.isna(got) if expected is None else got == pd.Timestamp(expected))


def test_birth_date_missing_inputs_have_no_reason() -> None:
    s = pd.Series([None, np.nan, pd.NA, pd.NaT, "S50.1.1"], dtype=object, index=list("abcde"), name="dob")
    dates, reasons = birth_date(s), birth_date_reason(s)
    assert dates.dtype == "datetime64[ns]" and reasons.dtype == "string"
    assert dates.isna().tolist() == [True, True, True, True, False]
    assert reasons.isna().all()
    assert list(dates.index) == list("abcde") and dates.name == "dob"


def test_birth_date_datetime_series_fast_path() -> None:
    s = pd.Series(pd.to_datetime(["1985-04-12 10:00", None]).tz_localize("Asia/Tokyo"))
    assert birth_date(s).tolist()[0] == pd.Timestamp("1985-04-12")
    assert birth_date(s).dtype == "datetime64[ns]"
    assert birth_date_reason(s).isna().all()
    s_us = pd.Series(np.array(["1500-01-01", "1985-04-12"], dtype="datetime64[us]"))
    assert birth_date(s_us).isna().tolist() == [True, False]
    assert birth_date_reason(s_us).iloc[0] == "impossible date"


def test_birth_date_maps_repeats_and_accepts_lists() -> None:
    values = ["S60.4.12", "昭和60年4月12日", None, "S60.4.12", "bad"] * 3
    got = birth_date(values)
    assert got.iloc[:5].tolist()[:2] == [pd.Timestamp("1985-04-12")] * 2
    assert got.isna().tolist() == [False, False, True, False, True] * 3
    assert birth_date_reason(values).tolist()[:5] == [pd.NA, pd.NA, pd.NA, pd.NA, "unreadable"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("23", 23), ("二十三", 23), ("十", 10), ("十五", 15), ("三十一", 31), ("一九八五", 1985),
     ("千九百八十五", 1985), ("元", 1), ("〇", 0), ("十十", None), ("x", None), ("", None)],
)
def test_kanji_int(text: str, value: int | None) -> None:
    assert kanji_int(text) == value


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("kanji", ["昭和60年4月12日", "令和元年5月1日", "平成31年4月30日", "明治元年1月25日"]),
        ("letter", ["S60.4.12", "R1.5.1", "H31.4.30", "M1.1.25"]),
        ("letter_slash", ["S60/04/12", "R01/05/01", "H31/04/30", "M01/01/25"]),
        ("code7", ["3600412", "5010501", "4310430", "1010125"]),
        ("iso", ["1985-04-12", "2019-05-01", "2019-04-30", "1868-01-25"]),
        ("slash", ["1985/4/12", "2019/5/1", "2019/4/30", "1868/1/25"]),
        ("compact", ["19850412", "20190501", "20190430", "18680125"]),
    ],
)
def test_to_era_styles(style: str, expected: list[str]) -> None:
    d = pd.Series(pd.to_datetime(["1985-04-12", "2019-05-01", "2019-04-30", "1868-01-25", None]))
    got = to_era(d, style)
    assert got.dtype == "string"
    assert got.iloc[:4].tolist() == expected and pd.isna(got.iloc[4])


def test_to_era_before_meiji_and_bad_style() -> None:
    d = pd.Series(pd.to_datetime(["1850-01-01"]))
    assert to_era(d, "kanji").isna().all() and to_era(d, "iso").tolist() == ["1850-01-01"]
    with pytest.raises(ValueError, match="style"):
        to_era(d, "roman")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1868, 1, 25), max_value=dt.date(2030, 12, 31)),
       st.sampled_from(STYLES))
def test_to_era_round_trips(day: dt.date, style: str) -> None:
    d = pd.Series([pd.Timestamp(day)])
    assert birth_date(to_era(d, style)).iloc[0] == pd.Timestamp(day)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none(),
                          st.dates(), st.datetimes()), max_size=10))
def test_birth_date_never_raises(values: list[object]) -> None:
    s = pd.Series(values, dtype=object)
    dates, reasons = birth_date(s), birth_date_reason(s)
    assert len(dates) == len(reasons) == len(values)
    # a reason exactly where a present value gave NaT
    present = ~s.isna()
    assert (reasons.notna() == (dates.isna() & present)).all()


# --- sex -----------------------------------------------------------------------
SEX = [
    (1, 1), (2, 2), (1.0, 1), (2.0, 2), (np.int64(2), 2), ("1", 1), ("2", 2), ("１", 1), ("２", 2),
    (" 2 ", 2), ("2.0", 2), ("男", 1), ("女", 2), ("男性", 1), ("女性", 2), ("M", 1), ("f", 2),
    ("Ｍ", 1), ("male", 1), ("FEMALE", 2), ("Female", 2),
]
SEX_UNKNOWN = [0, 9, "0", "9", "９", 0.0]  # JIS X 0303: NA without a reason
SEX_BAD = [3, "3", 1.5, "x", "男女", "unknown", "", "-1"]


@pytest.mark.parametrize(("value", "code"), SEX)
def test_sex_reads(value: object, code: int) -> None:
    s = pd.Series([value], dtype=object)
    assert sex(s).iloc[0] == code
    assert sex_reason(s).isna().all()


@pytest.mark.parametrize("value", SEX_UNKNOWN)
def test_sex_unknown_codes_are_na_without_reason(value: object) -> None:
    s = pd.Series([value], dtype=object)
    assert pd.isna(sex(s).iloc[0]) and sex_reason(s).isna().all()


@pytest.mark.parametrize("value", SEX_BAD)
def test_sex_rejects_with_reason(value: object) -> None:
    s = pd.Series([value], dtype=object)
    assert pd.isna(sex(s).iloc[0])
    assert sex_reason(s).iloc[0] == "not a sex code"


def test_sex_dtype_missing_and_numeric_columns() -> None:
    got = sex(pd.Series([1, 2, None, 9], dtype="Int64"))
    assert got.dtype == "Int8" and got.tolist() == [1, 2, pd.NA, pd.NA]
    assert sex(pd.Series([1.0, np.nan, 2.0])).tolist() == [1, pd.NA, 2]
    assert sex_reason(pd.Series([None, np.nan], dtype=object)).isna().all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=6), st.integers(), st.floats(), st.none()), max_size=10))
def test_sex_never_raises(values: list[object]) -> None:
    got = sex(pd.Series(values, dtype=object))
    assert got.dtype == "Int8" and set(got.dropna().tolist()) <= {1, 2}
