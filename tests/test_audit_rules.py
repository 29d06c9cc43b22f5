"""Hand-written cases: every reason code, and every spelling variant that is *not* a finding."""
from __future__ import annotations

import pandas as pd
import pytest

import linkage


from handmade import (  # noqa: E402 - tests/ is on sys.path under pytest
    BANK, HANAKO, ICHIRO, INSURANCE, KEN, KONO, KYOKO, RESIDENTS, SMITH, SUZUKI, TARO, bank_row, ins_row,
)


@pytest.fixture(scope="module")
def findings() -> pd.DataFrame:
    result = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE, unmask=True)
    return result.findings.set_index(["source", "record_id"])


EXPECTED = [
    ("bank", "b-ok-width", "ok", "OK", TARO),
    ("bank", "b-ok-small", "ok", "OK", KYOKO),
    ("bank", "b-ok-hyphen-number", "ok", "OK", HANAKO),
    ("bank", "b-ok-alphabet", "ok", "OK", SMITH),
    ("bank", "b-ok-long-vowel", "ok", "OK", TARO),
    ("bank", "b-household", "mislink", "HOUSEHOLD_MEMBER", TARO),
    ("bank", "b-other", "mislink", "OTHER_PERSON", KYOKO),
    ("bank", "b-former", "review", "FORMER_NAME", SUZUKI),
    ("bank", "b-shared-1", "mislink", "SHARED_ACCOUNT", None),
    ("bank", "b-shared-2", "mislink", "SHARED_ACCOUNT", None),
    ("bank", "b-corporate", "mislink", "OTHER_PERSON", None),
    ("bank", "b-unknown", "mislink", "UNKNOWN_MY_NUMBER", KEN),
    ("bank", "b-invalid", "invalid", "INVALID_MY_NUMBER", TARO),
    ("bank", "b-bad", "invalid", "BAD_RECORD", None),
    ("insurance", "i-ok-variant", "ok", "OK", KYOKO),
    ("insurance", "i-ok-spacing", "ok", "OK", TARO),
    ("insurance", "i-ok-kono", "ok", "OK", KONO),
    ("insurance", "i-ok-fullwidth-number", "ok", "OK", KEN),
    ("insurance", "i-household", "mislink", "HOUSEHOLD_MEMBER", ICHIRO),
    ("insurance", "i-sex", "review", "SEX_MISMATCH", KEN),
    ("insurance", "i-birth", "review", "BIRTHDATE_MISMATCH", KEN),
    ("insurance", "i-former", "review", "FORMER_NAME", SUZUKI),
    ("insurance", "i-other", "mislink", "OTHER_PERSON", KYOKO),
    ("insurance", "i-unknown", "mislink", "UNKNOWN_MY_NUMBER", KEN),
    ("insurance", "i-invalid-zeros", "invalid", "INVALID_MY_NUMBER", KEN),
    ("insurance", "i-bad-date", "invalid", "BAD_RECORD", None),
    ("insurance", "i-bad-name", "invalid", "BAD_RECORD", None),
]


@pytest.mark.parametrize("source,record_id,status,reason,owner", EXPECTED, ids=[e[1] for e in EXPECTED])
def test_verdict(findings, source, record_id, status, reason, owner):
    row = findings.loc[(source, record_id)]
    assert (row["status"], row["reason"]) == (status, reason), row["evidence"]
    if owner is None:
        assert pd.isna(row["suggested_my_number"])
    else:
        assert row["suggested_my_number"] == owner


def test_every_record_comes_out_once(findings):
    assert len(findings) == len(BANK) + len(INSURANCE)
    assert findings.index.is_unique


def test_scores_are_probabilities_and_ok_scores_high(findings):
    assert findings["score"].between(0, 1).all()
    ok = findings[findings["reason"] == "OK"]["score"]
    mislinks = findings[findings["status"] == "mislink"]["score"]
    assert ok.min() > mislinks.max()


def test_evidence_names_the_true_owner(findings):
    ev = findings.loc[("bank", "b-household"), "evidence"]
    assert "father" in ev and "山田 太郎" in ev and "same household" in ev
    ev = findings.loc[("insurance", "i-household"), "evidence"]
    assert "son" in ev
    ev = findings.loc[("insurance", "i-bad-date"), "evidence"]
    assert "birth_date" in ev and "row" in ev
    ev = findings.loc[("bank", "b-shared-1"), "evidence"]
    assert "2 different people" in ev


def test_numbers_masked_by_default():
    result = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE)
    f = result.findings
    assert f["my_number"].str.fullmatch(r"\*{8}.{4}").all()
    shown = f["suggested_my_number"].dropna()
    assert shown.str.fullmatch(r"\*{8}\d{4}").all()
    text = f.astype(str).to_csv()
    for number in RESIDENTS["my_number"]:
        assert number not in text


def test_japanese_evidence():
    result = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE, lang="ja")
    f = result.findings.set_index("record_id")
    assert "父" in f.loc["b-household", "evidence"]
    assert "旧姓" in f.loc["b-former", "evidence"]


def test_unverifiable_register_name_is_not_a_finding():
    """No register kana, no reading anywhere in the data: nothing contradicts the link."""
    res = RESIDENTS[RESIDENTS["my_number"] == KONO]
    bank = pd.DataFrame([bank_row("b1", KONO, "ｺｳﾉ ﾖｳﾍｲ", "1")])
    f = linkage.audit(res, bank=bank).findings.iloc[0]
    assert f["status"] == "ok" and "not verified" in f["evidence"]


def test_reading_from_the_persons_insurance_record():
    """河野 has no register kana; the insurance record (same name and birth date) says コウノ."""
    bank = pd.DataFrame([bank_row("b1", KONO, "ｺｳﾉ ﾖｳﾍｲ", "1"), bank_row("b2", KONO, "ｶﾜﾉ ﾖｳﾍｲ", "2")])
    ins = pd.DataFrame([ins_row("i1", KONO, "河野 洋平", "コウノ ヨウヘイ", "1960-06-06", "1")])
    f = linkage.audit(RESIDENTS, bank=bank, insurance=ins).findings.set_index("record_id")
    assert f.loc["b1", "status"] == "ok" and "insurance record" in f.loc["b1", "evidence"]
    assert f.loc["b2", "status"] != "ok"


def test_number_twice_in_the_register_is_said_not_hidden():
    register = pd.concat([RESIDENTS, RESIDENTS.iloc[[0]]], ignore_index=True)
    result = linkage.audit(register, bank=BANK, insurance=INSURANCE)
    assert result.meta["register"]["duplicate_numbers"] == 1
    assert result.meta["register"]["duplicate_rows_first_100"] == [len(register)]
    f = result.findings.set_index("record_id")
    assert f.loc["b-ok-width", "status"] == "ok"
    assert f"rows 1, {len(register)}, the first is used" in f.loc["b-ok-width", "evidence"]
    assert len(result.findings) == len(BANK) + len(INSURANCE)
