"""Injected error kinds, their default rates and what the audit should say.

Rates are fractions of that source's records (bank or insurance), counted
on the records before injection.  The defaults give about 3% injected errors
per source (bank 3.0%, insurance 3.1%) — far above the 0.010% the 2023
inspection found, so that recall can be measured on a modest world.  About
two thirds are mislinks or invalid rows, one third "review" cases (former
surname, birth-date typo, sex mix-up).
"""
from __future__ import annotations

from collections.abc import Mapping

#: ``source.kind`` → default rate (fraction of that source's records).
DEFAULT_RATES: dict[str, float] = {
    # bank: public-benefit accounts (公金受取口座)
    "bank.parent_account_on_child": 0.010,        # a parent's account on a child's card
    "bank.child_account_on_elderly_parent": 0.004,  # a son's account on his elderly mother's card
    "bank.previous_visitor": 0.002,               # support terminal not logged out
    "bank.nonresident_shared": 0.002,             # one outsider's account on 2-3 strangers' cards
    "bank.corporate_account": 0.001,              # ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ on a personal card
    "bank.former_surname": 0.006,                 # a married woman's account in her maiden name
    "bank.check_digit_typo": 0.002,               # number fails the check digit
    "bank.unknown_number": 0.001,                 # valid number, nobody in the register
    "bank.missing_field": 0.002,                  # empty holder name
    # insurance: health-insurance records (医療保険)
    "insurance.same_name_stranger": 0.003,        # 同姓同名: looked up by kana + sex
    "insurance.dependant_on_parent": 0.005,       # a child's/spouse's record on the head's number
    "insurance.parent_on_dependant": 0.003,       # the head's record on a dependant's number
    "insurance.birthdate_typo": 0.006,            # day/month swapped, one digit, wrong era letter
    "insurance.sex_mixup": 0.002,
    "insurance.former_surname": 0.005,
    "insurance.check_digit_typo": 0.002,
    "insurance.unknown_number": 0.001,
    "insurance.missing_field": 0.002,             # empty birth date, or empty name and kana
    "insurance.broken_row": 0.002,                # 2月30日, 昭和65年 …
}

#: kind → (expected_status, expected_reasons) for the truth table.
EXPECTED: dict[str, tuple[str, str]] = {
    "parent_account_on_child": ("mislink", "HOUSEHOLD_MEMBER"),
    "child_account_on_elderly_parent": ("mislink", "HOUSEHOLD_MEMBER"),
    "previous_visitor": ("mislink", "OTHER_PERSON"),
    "nonresident_shared": ("mislink", "SHARED_ACCOUNT"),
    "corporate_account": ("mislink", "OTHER_PERSON"),
    "same_name_stranger": ("mislink", "OTHER_PERSON"),
    "dependant_on_parent": ("mislink", "HOUSEHOLD_MEMBER"),
    "parent_on_dependant": ("mislink", "HOUSEHOLD_MEMBER"),
    "former_surname": ("review", "FORMER_NAME"),
    "birthdate_typo": ("review", "BIRTHDATE_MISMATCH"),
    "sex_mixup": ("review", "SEX_MISMATCH"),
    "check_digit_typo": ("invalid", "INVALID_MY_NUMBER"),
    "unknown_number": ("mislink", "UNKNOWN_MY_NUMBER"),
    "missing_field": ("invalid", "BAD_RECORD"),
    "broken_row": ("invalid", "BAD_RECORD"),
}

#: Harmless variants a clean record may carry (truth: ok / OK).
CLEAN_LABELS: tuple[str, ...] = (
    "clean", "kanji_variant", "kana_width", "era_date", "address_notation", "old_address",
    "no_register_kana", "foreign_alphabet", "foreign_kana", "truncated_name",
)


def resolve_rates(rates: Mapping[str, float] | None = None, rate_scale: float = 1.0) -> dict[str, float]:
    """Defaults overridden by ``rates`` and multiplied by ``rate_scale`` (capped at 1).

    Keys are ``source.kind``; a bare ``kind`` sets it for every source that
    has it.  Unknown kinds and rates outside [0, 1] raise ``ValueError``.
    """
    if rate_scale < 0:
        raise ValueError(f"rate_scale must be >= 0, got {rate_scale}")
    out = dict(DEFAULT_RATES)
    for key, value in (rates or {}).items():
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"rate for {key!r} must be between 0 and 1, got {value}")
        targets = [key] if key in out else [k for k in out if k.split(".", 1)[1] == key]
        if not targets:
            raise ValueError(f"unknown error kind {key!r}; known: {', '.join(DEFAULT_RATES)}")
        for t in targets:
            out[t] = value
    return {k: min(1.0, v * rate_scale) for k, v in out.items()}


def draw_count(n_records: int, rate: float, rng, guarantee: bool) -> int:
    """How many records of one kind to inject: Binomial(n_records, rate), at least 1 when
    ``guarantee`` and the rate is positive."""
    if rate <= 0 or n_records <= 0:
        return 0
    k = int(rng.binomial(n_records, min(rate, 1.0)))
    return max(k, 1) if guarantee else k
