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
import pyarrow as pa
import pyarrow.compute as pc

from . import address, dates, kana, names, number, translit
from ._unique import to_arrow_strings
from .sex import sex as sex_codes
from .sex import sex_reason

# Zengin abbreviations of legal forms: ｶ) / (ｶ = 株式会社, ﾕ) 有限会社, ｲ) 医療法人 …
_CORPORATE = re.compile(
    r"^\s*(カ|ユ|イ|ザイ|シヤ|ガク|フク|ド|ゴ|メ|ソ|ギヨ|ノウ|セイ|ケン)\s*[)）]"
    r"|[(（]\s*(カ|ユ|イ|ザイ|シヤ|ガク|フク|ド|ゴ|メ)\s*[)）]?\s*$"
    r"|[(（]\s*(カ|ユ|イ)\s*[)）]"
    r"|カブシキ[ガカ]イシ[ヤャ]|ユウゲン[ガカ]イシ[ヤャ]|イリヨウホウジン|ゴウドウ[ガカ]イシ[ヤャ]"
)


#: (number, reason) of a table's ``my_number`` column, when computed for all
#: tables at once (``number.analyse_many``: a number is checked once).
Numbers = tuple[pd.Series, pd.Series]


def _joined(full: pd.Series, fam: pd.Series, giv: pd.Series, key, exact: pd.Series) -> pd.Series:
    """Full-name key: family key + given key where the name is split (keys do
    not depend on the separator, and parts repeat far more than full names),
    computed directly where it is not split or where ``exact`` asks for it."""
    joined = fam + giv
    direct = (joined.isna() | exact).to_numpy()
    if direct.any():
        both = pa.chunked_array([_arrow(joined), _arrow(key(full[direct]).reindex(full.index))])
        joined = pd.Series(pd.arrays.ArrowStringArray(pc.if_else(pa.array(direct), both.chunk(1), both.chunk(0))),
                           index=full.index, name=full.name)
    return joined


def _arrow(s: pd.Series) -> pa.Array:
    """A key Series as one Arrow large_string array."""
    arr = to_arrow_strings(s)
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def _name_parts(raw: pd.Series) -> pd.DataFrame:
    """Full, family and given kanji/alphabet keys of a name column."""
    parts = names.split_name(raw)
    fam, giv = names.name_key(parts["family"]), names.name_key(parts["given"])
    latin = names.is_alphabet(raw).fillna(False).astype(bool)  # Hepburn folds across the space
    fam_near, giv_near = names.name_near_key(fam), names.name_near_key(giv)
    return pd.DataFrame(
        {
            "name_key": _joined(raw, fam, giv, names.name_key, latin),
            "fam_key": fam,
            "giv_key": giv,
            "near_key": _joined(raw, fam_near, giv_near, names.name_near_key, latin),
            "fam_near": fam_near,
            "giv_near": giv_near,
        },
        index=raw.index,
    )


def _kana_parts(raw: pd.Series) -> pd.DataFrame:
    """Full, family and given kana keys of a kana column."""
    parts = names.split_name(raw)
    fam, giv = kana.kana_key(parts["family"]), kana.kana_key(parts["given"])
    fam_loose, giv_loose = kana.kana_key_loose(fam), kana.kana_key_loose(giv)
    none = pd.Series(False, index=raw.index)
    return pd.DataFrame(
        {
            "kana_key": _joined(raw, fam, giv, kana.kana_key, none),
            "fam_kana": fam,
            "giv_kana": giv,
            "kana_loose": _joined(raw, fam_loose, giv_loose, kana.kana_key_loose, none),
            "fam_loose": fam_loose,
            "giv_loose": giv_loose,
        },
        index=raw.index,
    )


def add_phonetic(out: pd.DataFrame) -> pd.DataFrame:
    """``latin`` (name written in the alphabet) and phonetic part keys
    ``fam_ph``/``giv_ph`` for comparing alphabet names with katakana."""
    out["latin"] = out["name_key"].str.fullmatch(r"[A-Z0-9]+").fillna(False).astype(bool)
    for part in ("fam", "giv"):
        # Only alphabet names get one here; the kana side of an alphabet-vs-kana
        # pair is romanised on demand (see linkage.compare.pair_features).
        out[f"{part}_ph"] = translit.phonetic(out[f"{part}_key"].where(out["latin"]))
    return out


def prepare_residents(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for the card-holder register (input columns kept)."""
    out = df.copy()
    out["number"], out["number_reason"] = numbers or number.analyse(df["my_number"])
    out = out.join(_name_parts(df["name"]))
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


def prepare_bank(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for bank registrations: the holder name is the only identity."""
    out = df.copy()
    out["number"], out["number_reason"] = numbers or number.analyse(df["my_number"])
    holder = df["holder_kana"]
    alpha = names.is_alphabet(holder).fillna(False).astype(bool)
    kana_parts = _kana_parts(holder.where(~alpha))
    name_parts = _name_parts(holder.where(alpha))
    out = out.join(name_parts).join(kana_parts)
    out["birth"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    out["sex"] = pd.Series(pd.NA, index=df.index, dtype="Int8")
    out["addr_key"] = pd.Series(pd.NA, index=df.index, dtype="string[pyarrow]")
    out["corporate"] = is_corporate(holder)
    out["account"] = _account_key(df)
    return add_phonetic(out)


def _account_key(df: pd.DataFrame) -> pd.Series:
    """bank|branch|type-less account number, digits only; NA when the number is missing."""
    def digits(col: str) -> pd.Series:
        s = df[col].astype("string[pyarrow]").str.normalize("NFKC").str.replace(r"[^0-9]", "", regex=True)
        return s.where(s.str.len() > 0)

    acct = digits("account_number")
    key = digits("bank_code").fillna("?") + "|" + digits("branch_code").fillna("?") + "|" + acct.str.lstrip("0")
    return key.where(acct.notna())


def prepare_insurance(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for insurance records: the insurer's view of the person."""
    out = df.copy()
    out["number"], out["number_reason"] = numbers or number.analyse(df["my_number"])
    out = out.join(_name_parts(df["name"])).join(_kana_parts(df["name_kana"]))
    out["birth"] = dates.birth_date(df["birth_date"])
    out["sex"] = sex_codes(df["sex"])
    out["sex_reason"] = sex_reason(df["sex"])  # a code outside the list makes the record unreadable
    out["addr_key"] = address.address_key(df["address"])
    out["corporate"] = False
    out["account"] = pd.Series(pd.NA, index=df.index, dtype="string[pyarrow]")
    return add_phonetic(out)
