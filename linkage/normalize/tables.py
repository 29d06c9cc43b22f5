"""Normalise whole input tables into comparison keys.

Residents and records (bank and insurance rows) get the *same* key columns,
so one pair comparison (``linkage.compare.pair_features``) serves every
pairing: record↔card holder, record↔household member, record↔candidate and
resident↔resident (for u-probabilities).

Key columns: ``name_key``/``fam_key``/``giv_key`` (kanji or alphabet),
``fam_near``/``giv_near`` (name parts with near pairs like 斎/斉 folded), ``kana_key``/
``fam_kana``/``giv_kana``/``kana_loose``/``fam_loose``/``giv_loose``, ``birth``
(datetime64), ``sex`` (Int8), ``addr_key``, and last ``latin`` (the name is in the
alphabet) with ``fam_ph``/``giv_ph`` (phonetic keys of alphabet name parts).

Names and kana are keyed once per distinct value, and their family and given
parts once per distinct part (:class:`_Parts`): at a million residents 2.7
million kana are 1.1 million distinct names but only a few thousand parts.
"""
from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..background import Background, Call, can_fork, side_by_side, worth_it
from . import address, dates, kana, names, number, translit
from ._unique import encode_strings, fill_slow, on_columns, on_unique, to_arrow_strings
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
        keys = _arrow(key(full[direct]))
        joined = pd.Series(pd.arrays.ArrowStringArray(pc.replace_with_mask(_arrow(joined), pa.array(direct), keys)),
                           index=full.index, name=full.name)
    return joined


def _arrow(s: pd.Series) -> pa.Array:
    """A key Series as one Arrow large_string array."""
    arr = to_arrow_strings(s)
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


class _Parts(NamedTuple):
    """A name column as its distinct values, each split into family and given
    parts (before NFKC: the keys apply it), the parts dictionary-encoded: there
    are far fewer distinct parts than distinct names."""

    rows: pa.Array  #: each row's position in ``distinct``; ``len(distinct)`` where missing
    distinct: pa.Array
    fam: pa.DictionaryArray  #: per distinct value; null where it has no separator
    giv: pa.DictionaryArray

    def at_rows(self, column: pd.Series) -> pd.arrays.ArrowStringArray:
        """A key column per distinct value, taken to the rows (missing where the row is)."""
        return pd.arrays.ArrowStringArray(pa.concat_arrays([_arrow(column), pa.nulls(1, pa.large_string())])
                                          .take(self.rows))

    def codes(self, column: str) -> pa.Array:
        """Which part each distinct name has for a ``fam…`` or ``giv…`` column (null: none)."""
        return (self.fam if column.startswith("fam") else self.giv).indices

    def part_at_rows(self, codes: pa.Array, keys: pd.Series) -> pd.arrays.ArrowStringArray:
        """A key of each distinct part (``keys``), at the rows: ``codes`` says which
        part each distinct name has (null: none); taken straight from the small table."""
        codes = pa.concat_arrays([codes, pa.nulls(1, codes.type)]).take(self.rows)
        return pd.arrays.ArrowStringArray(_arrow(keys).take(codes))

    @staticmethod
    def per_value(part: pa.DictionaryArray, keys: pd.Series) -> pd.Series:
        """A key of each distinct part, at each distinct name (missing where unsplit)."""
        return pd.Series(pd.arrays.ArrowStringArray(_arrow(keys).take(part.indices)))


def _parts(raw: pd.Series) -> _Parts | None:
    """``raw`` split as :class:`_Parts`, or None when some value is not a string."""
    encoded = encode_strings(raw)
    if encoded is None:
        return None
    fam, giv = names.split_parts(encoded.dictionary)
    return _Parts(pc.fill_null(encoded.indices, len(encoded.dictionary)), encoded.dictionary,
                  pc.dictionary_encode(fam), pc.dictionary_encode(giv))


def _of(values: pa.Array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(values))


def _name_parts(raw: pd.Series) -> pd.DataFrame:
    """Full, family and given kanji/alphabet keys of a name column (as
    :func:`_name_parts_rows`, computed on distinct names and distinct parts)."""
    split = _parts(raw)
    if split is None:
        return _name_parts_rows(raw)
    out = {}
    full = _of(split.distinct)
    for part, name in ((split.fam, "fam"), (split.giv, "giv")):
        keys = names.name_key(_of(part.dictionary))
        out[f"{name}_key"] = keys
        out[f"{name}_near"] = names.name_near_key(keys)
    alphabet = pd.Series(names.alphabet_flags(split.distinct))  # Hepburn folds across the space
    name_key = _joined(full, _Parts.per_value(split.fam, out["fam_key"]), _Parts.per_value(split.giv, out["giv_key"]),
                       names.name_key, alphabet)
    columns = {"name_key": split.at_rows(name_key)}
    for col in ("fam_key", "giv_key", "fam_near", "giv_near"):
        columns[col] = split.part_at_rows(split.codes(col), out[col])
    latin = _latin(name_key)
    columns["latin"] = np.append(latin, False)[split.rows.to_numpy()]
    for part, name in ((split.fam, "fam"), (split.giv, "giv")):
        # The phonetic key of the parts of alphabet names only (a few), then at the rows.
        codes = pc.if_else(pa.array(latin), part.indices, pa.scalar(None, part.indices.type))
        used = np.unique(pc.drop_null(codes).to_numpy())
        ph = np.full(len(part.dictionary), None, dtype=object)
        ph[used] = translit.phonetic(out[f"{name}_key"].iloc[used]).to_numpy(dtype=object, na_value=None)
        columns[f"{name}_ph"] = split.part_at_rows(codes, pd.Series(ph, dtype="string"))
    return pd.DataFrame(columns, index=raw.index)


def _name_parts_rows(raw: pd.Series) -> pd.DataFrame:
    parts = names.split_name(raw)
    fam, giv = names.name_key(parts["family"]), names.name_key(parts["given"])
    latin = names.is_alphabet(raw).fillna(False).astype(bool)  # Hepburn folds across the space
    fam_near, giv_near = names.name_near_key(fam), names.name_near_key(giv)
    name_key = _joined(raw, fam, giv, names.name_key, latin)
    written = pd.Series(_latin(name_key), index=raw.index)
    return pd.DataFrame(
        {
            "name_key": name_key,
            "fam_key": fam,
            "giv_key": giv,
            "fam_near": fam_near,
            "giv_near": giv_near,
            "latin": written,
            # Only alphabet names get one here; the kana side of an alphabet-vs-kana
            # pair is romanised on demand (see linkage.compare.pair_features).
            "fam_ph": translit.phonetic(fam.where(written)),
            "giv_ph": translit.phonetic(giv.where(written)),
        },
        index=raw.index,
    )


def _latin(name_key: pd.Series) -> np.ndarray:
    """Where a name key is in the alphabet (``latin``: a name written in Latin letters)."""
    return name_key.str.fullmatch(r"[A-Z0-9]+").fillna(False).to_numpy(dtype=bool)


def _kana_parts(raw: pd.Series) -> pd.DataFrame:
    """Full, family and given kana keys of a kana column (as
    :func:`_kana_parts_rows`, computed on distinct names and distinct parts)."""
    split = _parts(raw)
    if split is None:
        return _kana_parts_rows(raw)
    out = {}
    for part, name in ((split.fam, "fam"), (split.giv, "giv")):
        out[f"{name}_kana"] = kana.kana_key(_of(part.dictionary))
        out[f"{name}_loose"] = kana.kana_key_loose(out[f"{name}_kana"])
    full = _of(split.distinct)
    none = pd.Series(False, index=full.index)
    kana_key = _joined(full, _Parts.per_value(split.fam, out["fam_kana"]),
                       _Parts.per_value(split.giv, out["giv_kana"]), kana.kana_key, none)
    # Where the parts give no loose key they gave no strict key either, and the
    # strict key is the whole value's: its loose key is the value's (the loose
    # key starts from the strict one), and on strict keys it takes the Arrow path.
    kana_loose = _joined(kana_key, _Parts.per_value(split.fam, out["fam_loose"]),
                         _Parts.per_value(split.giv, out["giv_loose"]), kana.kana_key_loose, none)
    columns = {"kana_key": split.at_rows(kana_key)}
    for col in ("fam_kana", "giv_kana"):
        columns[col] = split.part_at_rows(split.codes(col), out[col])
    columns["kana_loose"] = split.at_rows(kana_loose)
    for col in ("fam_loose", "giv_loose"):
        columns[col] = split.part_at_rows(split.codes(col), out[col])
    return pd.DataFrame(columns, index=raw.index)


def _kana_parts_rows(raw: pd.Series) -> pd.DataFrame:
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


def prepare_tables(residents: pd.DataFrame | None = None, bank: pd.DataFrame | None = None,
                   insurance: pd.DataFrame | None = None, background: bool | None = None) -> dict[str, pd.DataFrame]:
    """Key columns for the register and its records at once, by table name.

    The same as :func:`prepare_residents`, :func:`prepare_bank` and
    :func:`prepare_insurance` one by one, but a name, kana, date, address or
    number that appears in several tables is normalised once.  With
    ``background`` (default: when the tables are big and there is a spare
    core) the My Numbers, the address keys and the bank table's own keys are
    computed in a helper process meanwhile (:mod:`linkage.background`: a forked child, or a fresh
    interpreter where there is no ``fork``).
    """
    given = {k: t for k, t in (("residents", residents), ("bank", bank), ("insurance", insurance)) if t is not None}
    if background is None:
        background = worth_it(sum(len(t) for t in given.values()))
    return _prepare(given, background=background)


def _prepare(given: dict[str, pd.DataFrame], numbers: dict[str, Numbers] | None = None,
             background: bool = False) -> dict[str, pd.DataFrame]:
    inputs = {kind: _INPUTS[kind](df) for kind, df in given.items()}
    work = {field: [kind for kind in given if field in inputs[kind]] for field in _FIELDS}
    calls: dict[str, Call] = {field: (on_columns, (_FIELDS[field], *(inputs[kind][field] for kind in work[field])))
                              for field in _FIELDS if work[field]}
    if numbers is None:  # every number once across tables, stdnum's check digit per distinct number
        calls["numbers"] = (number.analyse_many, tuple(t["my_number"] for t in given.values()))
    for kind, (func, columns) in _OWN.items():  # keys of one table's own columns
        if kind in given:
            calls[kind] = (func, (given[kind][list(columns)],))  # only these go to a fresh helper
    remote = {k: calls.pop(k) for k in _REMOTE if k in calls} if background else {}
    if remote and can_fork():  # a forked helper shares the columns: nothing to send, nothing to import
        both = side_by_side({"helper": partial(_call_all, remote), "here": partial(_call_all, calls)},
                            fork=True, what="keying {} columns")
        results = {**both["here"], **both["helper"]}
    else:
        with Background(list(remote.values()), enabled=bool(remote)) as helper:
            results = _call_all(calls)
            results.update(zip(remote, helper.results()))
    if numbers is None:
        numbers = dict(zip(given, results.pop("numbers")))
    own = {kind: results.pop(kind) for kind in _OWN if kind in given}
    keyed: dict[str, dict[str, pd.DataFrame | pd.Series]] = {kind: {} for kind in given}
    for field, per_kind in results.items():
        for kind, result in zip(work[field], per_kind):
            keyed[kind][field] = result
    for kind, extra in own.items():
        keyed[kind].update(extra)
    return {kind: _ASSEMBLE[kind](df, numbers[kind], keyed[kind]) for kind, df in given.items()}


def _call_all(calls: dict[str, Call]) -> dict[str, Any]:
    """The result of each ``(func, args)`` call, by name."""
    return {name: func(*args) for name, (func, args) in calls.items()}


def _bank_own(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Keys of the bank table's own columns: company holders and accounts."""
    return {"corporate": is_corporate(df["holder_kana"]), "account": _account_key(df)}


def _person_inputs(df: pd.DataFrame) -> dict[str, pd.Series]:
    return {"name": df["name"], "kana": df["name_kana"], "birth": df["birth_date"], "sex": df["sex"],
            "addr": df["address"]}


def _bank_inputs(df: pd.DataFrame) -> dict[str, pd.Series]:
    holder = df["holder_kana"]
    alpha = names.is_alphabet(holder).fillna(False).astype(bool)
    return {"name": holder.where(alpha), "kana": holder.where(~alpha)}


#: Key columns computed from one input column, each distinct value once across tables.
_FIELDS = {"name": _name_parts, "kana": _kana_parts, "birth": dates.birth_date, "sex": sex_codes,
           "addr": address.address_key}
#: Keys of one table's own columns (no value shared with another table).
_OWN = {"bank": (_bank_own, ("holder_kana", "bank_code", "branch_code", "account_number"))}
#: Work done in the helper process when there is one: addresses, My Numbers and the bank
#: table's own keys (at a million residents the two processes then finish about together).
_REMOTE = ("addr", "numbers", "bank")
_INPUTS = {"residents": _person_inputs, "insurance": _person_inputs, "bank": _bank_inputs}


#: Columns of the name keys that every table ends with: whether the name is in the
#: alphabet, and phonetic part keys for comparing alphabet names with katakana.
_PHONETIC = ["latin", "fam_ph", "giv_ph"]


def _with_identity(df: pd.DataFrame, numbers: Numbers, keyed: dict) -> pd.DataFrame:
    """The input columns, the checked number and the name and kana keys: what every table has."""
    out = df.copy()
    out["number"], out["number_reason"] = numbers
    return out.join(keyed["name"].drop(columns=_PHONETIC)).join(keyed["kana"])


def _phonetic(out: pd.DataFrame, keyed: dict) -> pd.DataFrame:
    return out.join(keyed["name"][_PHONETIC])


def _residents(df: pd.DataFrame, numbers: Numbers, keyed: dict) -> pd.DataFrame:
    out = _with_identity(df, numbers, keyed)
    out["birth"] = keyed["birth"]
    out["sex"] = keyed["sex"]
    out["addr_key"] = keyed["addr"]
    household = df["household_id"]  # text, Arrow-backed as read (households are factorized in several stages)
    out["household"] = household if isinstance(household.dtype, pd.StringDtype) else household.astype("string")
    out["kana_source"] = np.where(out["kana_key"].notna(), "register", None)
    return _phonetic(out, keyed)


def _bank(df: pd.DataFrame, numbers: Numbers, keyed: dict) -> pd.DataFrame:
    out = _with_identity(df, numbers, keyed)
    out["birth"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    out["sex"] = pd.Series(pd.NA, index=df.index, dtype="Int8")
    out["addr_key"] = pd.Series(pd.NA, index=df.index, dtype="string[pyarrow]")
    out["corporate"] = keyed["corporate"]
    out["account"] = keyed["account"]
    return _phonetic(out, keyed)


def _insurance(df: pd.DataFrame, numbers: Numbers, keyed: dict) -> pd.DataFrame:
    out = _with_identity(df, numbers, keyed)
    out["birth"] = keyed["birth"]
    out["sex"] = keyed["sex"]
    out["sex_reason"] = sex_reason(df["sex"])  # a code outside the list makes the record unreadable
    out["addr_key"] = keyed["addr"]
    out["corporate"] = False
    out["account"] = pd.Series(pd.NA, index=df.index, dtype="string[pyarrow]")
    return _phonetic(out, keyed)


_ASSEMBLE = {"residents": _residents, "bank": _bank, "insurance": _insurance}


def prepare_residents(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for the card-holder register (input columns kept)."""
    return _prepare({"residents": df}, None if numbers is None else {"residents": numbers})["residents"]


def _is_corporate_one(value: str) -> bool:
    return bool(_CORPORATE.search(unicodedata.normalize("NFKC", str(value))))


# Python's ``\s`` within names[_SPLIT_SAFE] after NFKC; RE2's ``\s`` lacks \x0b and \x1c-\x1f.
_CORPORATE_RE2 = _CORPORATE.pattern.replace("\\s", "[\\x09-\\x0d\\x1c-\\x20]")


def is_corporate(holder: pd.Series) -> pd.Series:
    """True where a bank holder name is a company (ｶ) / (ｶ / ﾕ) … abbreviations)."""
    encoded = encode_strings(holder)
    if encoded is None:
        flags = on_unique(_is_corporate_one, holder, dtype=None)
        return flags.astype("boolean").fillna(False).astype(bool)
    distinct = encoded.dictionary
    # Characters whose NFKC is the same in Arrow and Python: Arrow's regex; the rest one by one.
    safe = pc.match_substring_regex(distinct, names._SPLIT_SAFE).to_numpy(zero_copy_only=False)
    flags = pc.match_substring_regex(pc.utf8_normalize(distinct, "NFKC"), _CORPORATE_RE2).to_numpy(
        zero_copy_only=False)
    slow = np.flatnonzero(~safe)
    if len(slow):
        flags[slow] = [_is_corporate_one(v) for v in distinct.take(pa.array(slow)).to_pylist()]
    codes = pc.fill_null(encoded.indices, len(distinct)).to_numpy()
    return pd.Series(np.append(flags, False)[codes], index=holder.index, name=holder.name)


def prepare_bank(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for bank registrations: the holder name is the only identity."""
    return _prepare({"bank": df}, None if numbers is None else {"bank": numbers})["bank"]


def _digits_one(value: str) -> str:
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", value))


def _account_digits(values: pd.Series) -> pd.Series:
    """The digits of an account field after NFKC; NA where there are none."""
    arr = to_arrow_strings(values.astype("string[pyarrow]"))
    if arr is None:  # a lone surrogate: per value
        s = values.astype("string").map(_digits_one, na_action="ignore").astype("string[pyarrow]")
    else:
        ascii_ = pc.fill_null(pc.string_is_ascii(arr), True)  # NFKC leaves ASCII alone
        digits = fill_slow(pc.replace_substring_regex(arr, "[^0-9]", ""), arr,
                           np.flatnonzero(~ascii_.to_numpy(zero_copy_only=False)), _digits_one)
        s = pd.Series(pd.arrays.ArrowStringArray(digits), index=values.index)
    return s.where(s.str.len() > 0)


def _account_key(df: pd.DataFrame) -> pd.Series:
    """bank|branch|type-less account number, digits only; NA when the number is missing."""
    acct = _account_digits(df["account_number"])
    key = (_account_digits(df["bank_code"]).fillna("?") + "|" + _account_digits(df["branch_code"]).fillna("?")
           + "|" + acct.str.lstrip("0"))
    return key.where(acct.notna())


def prepare_insurance(df: pd.DataFrame, numbers: Numbers | None = None) -> pd.DataFrame:
    """Key columns for insurance records: the insurer's view of the person."""
    return _prepare({"insurance": df}, None if numbers is None else {"insurance": numbers})["insurance"]
