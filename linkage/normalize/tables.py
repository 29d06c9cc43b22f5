"""Normalise whole input tables into comparison keys.

Residents and records (bank and insurance rows) get the *same* key columns,
so one pair comparison (``linkage.compare.pair_features``) serves every
pairing: record↔card holder, record↔household member, record↔candidate and
resident↔resident (for u-probabilities).

Key columns: ``name_key``/``fam_key``/``giv_key`` (kanji or alphabet),
``near_key`` (name with near pairs like 斎/斉 folded), ``kana_key``/
``fam_kana``/``giv_kana``/``kana_loose``, ``birth`` (datetime64), ``sex``
(Int8), ``addr_key``.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from . import address, dates, kana, names, number, translit
from .sex import sex as sex_codes

KEY_COLUMNS = (
    "name_key", "fam_key", "giv_key", "near_key",
    "kana_key", "fam_kana", "giv_kana", "kana_loose",
    "birth", "sex", "addr_key",
)

# Zengin abbreviations of legal forms: ｶ) / (ｶ = 株式会社, ﾕ) 有限会社, ｲ) 医療法人 …
_CORPORATE = re.compile(
    r"^\s*(カ|ユ|イ|ザイ|シヤ|ガク|フク|ド|ゴ|メ|ソ|ギヨ|ノウ|セイ|ケン)\s*[)）]"
    r"|[(（]\s*(カ|ユ|イ|ザイ|シヤ|ガク|フク|ド|ゴ|メ)\s*[)）]?\s*$"
    r"|[(（]\s*(カ|ユ|イ)\s*[)）]"
    r"|カブシキ[ガカ]イシ[ヤャ]|ユウゲン[ガカ]イシ[ヤャ]|イリヨウホウジン|ゴウドウ[ガカ]イシ[ヤャ]"
)


def _name_parts(raw: pd.Series, prefix: str) -> pd.DataFrame:
    """Full, family and given kanji/alphabet keys of a name column."""
    parts = names.split_name(raw)
    return pd.DataFrame(
        {
            "name_key": names.name_key(raw),
            "fam_key": names.name_key(parts["family"]),
            "giv_key": names.name_key(parts["given"]),
            "near_key": names.name_near_key(raw),
        },
        index=raw.index,
    )


def _kana_parts(raw: pd.Series) -> pd.DataFrame:
    """Full, family and given kana keys of a kana column."""
    parts = names.split_name(raw)
    return pd.DataFrame(
        {
            "kana_key": kana.kana_key(raw),
            "fam_kana": kana.kana_key(parts["family"]),
            "giv_kana": kana.kana_key(parts["given"]),
            "kana_loose": kana.kana_key_loose(raw),
        },
        index=raw.index,
    )


def add_phonetic(out: pd.DataFrame) -> pd.DataFrame:
    """``latin`` (name written in the alphabet) and phonetic part keys
    ``fam_ph``/``giv_ph`` for comparing alphabet names with katakana."""
    out["latin"] = out["name_key"].str.fullmatch(r"[A-Z0-9]+").fillna(False).astype(bool)
    for part in ("fam", "giv"):
        ph = translit.phonetic(out[f"{part}_key"])
        out[f"{part}_ph"] = ph.fillna(translit.phonetic(out[f"{part}_kana"]))
    return out


def _na_strings(index: pd.Index, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(pd.NA, index=index, dtype="string") for c in columns})


def prepare_residents(df: pd.DataFrame) -> pd.DataFrame:
    """Key columns for the card-holder register (input columns kept)."""
    out = df.copy()
    out["number"] = number.my_number(df["my_number"])
    out = out.join(_name_parts(df["name"], ""))
    out = out.join(_kana_parts(df["name_kana"]))
    out["birth"] = dates.birth_date(df["birth_date"])
    out["sex"] = sex_codes(df["sex"])
    out["addr_key"] = address.address_key(df["address"])
    out["household"] = df["household_id"].astype("string")
    out["kana_source"] = np.where(out["kana_key"].notna(), "register", None)
    return add_phonetic(out)


def is_corporate(holder: pd.Series) -> pd.Series:
    """True where a bank holder name is a company (ｶ) / (ｶ / ﾕ) … abbreviations)."""
    def _corp(value: str) -> bool:
        return bool(_CORPORATE.search(unicodedata.normalize("NFKC", str(value))))

    from ._unique import on_unique

    return on_unique(_corp, holder, dtype=None).astype("boolean").fillna(False).astype(bool)


def prepare_bank(df: pd.DataFrame) -> pd.DataFrame:
    """Key columns for bank registrations: the holder name is the only identity."""
    out = df.copy()
    out["number"] = number.my_number(df["my_number"])
    holder = df["holder_kana"]
    alpha = names.is_alphabet(holder).fillna(False).astype(bool)
    kana_parts = _kana_parts(holder.where(~alpha))
    name_parts = _name_parts(holder.where(alpha), "")
    out = out.join(name_parts).join(kana_parts)
    out["birth"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    out["sex"] = pd.Series(pd.NA, index=df.index, dtype="Int8")
    out["addr_key"] = pd.Series(pd.NA, index=df.index, dtype="string")
    out["corporate"] = is_corporate(holder)
    out["account"] = _account_key(df)
    return add_phonetic(out)


def _account_key(df: pd.DataFrame) -> pd.Series:
    """bank|branch|type-less account number, digits only; NA when the number is missing."""
    def digits(col: str) -> pd.Series:
        s = df[col].astype("string").str.normalize("NFKC").str.replace(r"\D", "", regex=True)
        return s.where(s.str.len() > 0)

    acct = digits("account_number")
    key = digits("bank_code").fillna("?") + "|" + digits("branch_code").fillna("?") + "|" + acct.str.lstrip("0")
    return key.where(acct.notna())


def prepare_insurance(df: pd.DataFrame) -> pd.DataFrame:
    """Key columns for insurance records: the insurer's view of the person."""
    out = df.copy()
    out["number"] = number.my_number(df["my_number"])
    out = out.join(_name_parts(df["name"], "")).join(_kana_parts(df["name_kana"]))
    out["birth"] = dates.birth_date(df["birth_date"])
    out["sex"] = sex_codes(df["sex"])
    out["addr_key"] = address.address_key(df["address"])
    out["corporate"] = False
    out["account"] = pd.Series(pd.NA, index=df.index, dtype="string")
    return add_phonetic(out)
