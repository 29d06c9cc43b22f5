"""The fast paths of the audit stages give exactly what the plain definitions give.

Keys compared in Arrow or as Python objects, integer-coded joins, masks read
off normalised numbers, whitespace found by RE2: each is checked against the
plain pandas/Python meaning, and whole audits against each other for both
string storages.
"""
from __future__ import annotations

import importlib
import string
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handmade import in_storage
from linkage import evidence, join, keycols, validate
from linkage.compare import FEATURES, pair_features
from linkage.keycols import Keys
from linkage.normalize import number as _number
from linkage.normalize import tables
from linkage.synth import generate_world

audit = importlib.import_module("linkage.audit")

STORAGES = ["python", "pyarrow"]
WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
CONTROL = [chr(c) for c in (0, 1, 8, 9, 10, 11, 12, 13, 14, 0x1C, 0x1F, 0x7F, 0x84, 0x85, 0x86, 0x9F, 0xA0, 0xFFFD)]
maybe_text = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("アイウ山田 ") + CONTROL + WHITESPACE[:6]),
                                          max_size=6))


def _as(values: list, storage: str) -> pd.Series:
    return pd.Series(values, dtype=f"string[{storage}]")




# --- keys at pair positions ---------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(maybe_text, maybe_text), max_size=30), st.sampled_from(STORAGES))
def test_keys_equal_is_python_equality_of_present_values(pairs, storage):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    frame = pd.DataFrame({"a": _as(a, storage), "b": _as(b, storage)})
    idx = np.arange(len(pairs))
    ka, kb = Keys.take(frame, "a", idx), Keys.take(frame, "b", idx)
    assert ka.values().tolist() == a
    assert keycols.equal(ka, kb).tolist() == [x is not None and y is not None and x == y for x, y in pairs]


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe_text, min_size=1, max_size=20), st.data(), st.sampled_from(STORAGES))
def test_replaced_keys_read_and_compare_as_the_new_values(values, data, storage):
    frame = pd.DataFrame({"a": _as(values, storage)})
    idx = np.arange(len(values))
    pos = np.array(sorted(data.draw(st.sets(st.sampled_from(list(idx))))), dtype=np.int64)
    new = [data.draw(maybe_text) for _ in pos]
    keys = Keys.take(frame, "a", idx).replace(pos, np.array(new, dtype=object))
    expect = list(values)
    for p, v in zip(pos, new):
        expect[p] = v
    assert keys.values().tolist() == expect
    assert keys.na.tolist() == [v is None for v in expect]
    other = Keys.of(np.array(expect, dtype=object))
    assert keycols.equal(keys, other).tolist() == [v is not None for v in expect]
    assert keys.subset(idx[::-1]).values().tolist() == expect[::-1]


@pytest.mark.parametrize("storage", STORAGES)
def test_replace_at_changes_only_the_given_rows(storage):
    s = pd.Series(["a", None, "c", "d"], dtype=f"string[{storage}]", index=[10, 11, 12, 13], name="x")
    out = keycols.replace_at(s, np.array([1, 3]), np.array(["B", None], dtype=object))
    assert out.tolist() == ["a", "B", "c", pd.NA] and out.dtype == s.dtype
    assert out.index.tolist() == [10, 11, 12, 13] and out.name == "x"
    assert s.tolist() == ["a", pd.NA, "c", "d"]  # the input is untouched


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe_text, min_size=1, max_size=25), st.data(), st.sampled_from(STORAGES), st.booleans())
def test_replace_at_is_positional_assignment(values, data, storage, chunked):
    """Positions in any order, repeated (the last value wins), one value for all or a Series."""
    s = _as(values, storage)
    if chunked and storage == "pyarrow":
        half = len(values) // 2
        s = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
            [pa.array(values[:half], pa.large_string()), pa.array(values[half:], pa.large_string())])))
    pos = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=12))
    new = data.draw(st.lists(maybe_text, min_size=len(pos), max_size=len(pos)) | st.just("same"))
    want = list(values)
    for p, v in zip(pos, new if isinstance(new, list) else [new] * len(pos)):
        want[p] = v
    given_new = pd.Series(new, dtype=object) if isinstance(new, list) else new
    out = keycols.replace_at(s, np.array(pos, dtype=np.int64), given_new)
    assert out.astype(object).where(out.notna(), None).tolist() == want and out.dtype == s.dtype


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe_text, max_size=25), st.lists(maybe_text, max_size=8), st.sampled_from(STORAGES))
def test_isin_and_positions_in_never_match_missing_values(values, among, storage):
    s = _as(values, storage)
    assert keycols.isin(s, pd.Series(among, dtype=object)).tolist() == [
        v is not None and v in among for v in values]
    distinct = list(dict.fromkeys(a for a in among if a is not None))
    found = keycols.positions_in(s, np.array(distinct, dtype=object))
    assert found.tolist() == [distinct.index(v) if v in distinct else -1 for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(maybe_text, max_size=8), min_size=1, max_size=4), st.data(), st.booleans())
def test_take_from_chunks_is_arrow_take(chunks, data, chunkwise):
    column = pa.chunked_array([pa.array(c, type=pa.large_string()) for c in chunks], type=pa.large_string())
    rows = len(column)
    idx = np.array(data.draw(st.lists(st.integers(0, max(rows - 1, 0)), max_size=20 if rows else 0)), dtype=np.int64)
    share = keycols._CHUNKWISE_SHARE
    keycols._CHUNKWISE_SHARE = float("inf") if chunkwise else 0.0
    try:
        taken = keycols.take(column, idx)
    finally:
        keycols._CHUNKWISE_SHARE = share
    assert taken.type == column.type
    assert taken.to_pylist() == [column[int(i)].as_py() for i in idx]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40))
def test_factorize_first_gives_pandas_codes_and_first_positions(values):
    codes, first = keycols.factorize_first(np.array(values, dtype=np.int64))
    assert codes.tolist() == pd.factorize(np.array(values, dtype=np.int64))[0].tolist()
    assert first.tolist() == sorted({v: i for i, v in reversed(list(enumerate(values)))}.values())


# --- text checks of the validate stage -----------------------------------------

@pytest.mark.parametrize("storage", STORAGES)
def test_blank_and_strip_know_every_python_whitespace_character(storage):
    values = WHITESPACE + [" x ", "x\u3000", "\x1fx\x1c", "", None, "\u200b"]
    s = _as(values, storage)
    assert validate.blank(s).tolist() == [v is None or not v.strip() for v in values]
    assert validate.strip(s).tolist() == [pd.NA if v is None else v.strip() for v in values]
    if isinstance(s.dtype, pd.StringDtype):  # text stays in its storage (no copy into Python strings)
        assert validate.strip(s).dtype == s.dtype


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(maybe_text, st.text(max_size=3)), max_size=20), st.sampled_from(STORAGES + ["object"]))
def test_garbled_and_blank_match_their_python_definitions(values, storage):
    try:
        s = pd.Series(values, dtype=object if storage == "object" else f"string[{storage}]")
    except UnicodeEncodeError:  # Arrow cannot hold lone surrogates at all
        return
    import re

    assert validate.garbled(s).tolist() == [
        v is not None and (bool(re.search(validate.GARBLED, v)) or len(v) > validate.MAX_FIELD_CHARS) for v in values]
    assert validate.blank(s).tolist() == [v is None or not v.strip() for v in values]


# --- numbers -------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789", min_size=12, max_size=12),
                          st.text(alphabet="0123456789０１２ -", max_size=14)), max_size=15),
       st.sampled_from(STORAGES))
def test_masked_numbers_are_the_mask_of_the_raw_values(raw, storage):
    raw_s = _as(raw, storage)
    number = _number.my_number(raw_s).astype(f"string[{storage}]")
    expect = _number.mask(raw_s).to_numpy(dtype=object, na_value=None).tolist()
    assert evidence.masked_numbers(raw_s, number).tolist() == expect


@pytest.mark.parametrize("storage", STORAGES)
def test_holder_positions_take_the_first_register_row_of_a_number(storage):
    res = pd.DataFrame({"number": _as(["621498320257", "123456789018", None, "621498320257"], storage)})
    rec = pd.DataFrame({"number": _as(["621498320257", None, "123456789018", "000000000019"], storage)})
    assert join.holder_positions(rec, res).tolist() == [0, -1, 1, -1]
    odd = res.assign(number=_as(["6214", "123456789018", None, "6214"], storage))  # not from the normaliser
    assert join.holder_positions(rec.assign(number=_as(["6214", None, "x", None], storage)), odd).tolist() == [
        0, -1, -1, -1]


@pytest.mark.parametrize("storage", STORAGES)
def test_shared_accounts_count_distinct_numbers_per_account(storage):
    rec = pd.DataFrame({"account": _as(["a", "a", "a", "b", None, "c"], storage),
                        "number": _as(["1" * 12, "2" * 12, "1" * 12, None, "3" * 12, "4" * 12], storage)})
    assert join.shared_accounts(rec).tolist() == [2, 2, 2, 0, 0, 1]


# --- whole stages on a generated world -------------------------------------------

@pytest.fixture(scope="module")
def world():
    return generate_world(300, 5, rate_scale=3)


@pytest.fixture(scope="module")
def prepared(world):
    res = tables.prepare_residents(world.residents).reset_index(drop=True)
    return res, audit._records(**tables.prepare_tables(bank=world.bank, insurance=world.insurance))


@pytest.mark.parametrize("storage", STORAGES)
def test_only_the_five_grades_are_the_same_without_detail(prepared, storage):
    res, rec = (in_storage(f, storage) for f in prepared)
    rng = np.random.default_rng(0)
    li = np.concatenate([np.arange(len(rec)), rng.integers(0, len(rec), 2000)])
    ri = np.concatenate([join.holder_positions(rec, res).clip(0), rng.integers(0, len(res), 2000)])
    full = pair_features(rec, res, li, ri)
    five = pair_features(rec, res, li, ri, detail=False)
    assert list(five.columns) == list(FEATURES)
    pd.testing.assert_frame_equal(five, full[list(FEATURES)])


def test_findings_do_not_depend_on_the_string_storage(world, monkeypatch):
    findings = []
    for storage in STORAGES:
        plain = tables.prepare_tables
        monkeypatch.setattr(tables, "prepare_tables", lambda *a, plain=plain, storage=storage, **k:
                            {kind: in_storage(t, storage) for kind, t in plain(*a, **k).items()})
        findings.append(audit.run(world.residents, world.bank, world.insurance)[0])
        monkeypatch.undo()
    pd.testing.assert_frame_equal(*findings)
    assert set(findings[0]["reason"].astype(str)) >= {"OK", "HOUSEHOLD_MEMBER", "OTHER_PERSON", "BAD_RECORD"}
    assert not set(string.digits) & set("".join(findings[0]["my_number"].dropna().str[:8]))  # masked


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["bank", "insurance", None]),
                          st.one_of(st.none(), st.sampled_from(["A", " A", "B", "C "]))),
                max_size=25),
       st.sampled_from(STORAGES))
def test_duplicate_ids_are_earlier_rows_of_the_same_source(rows, storage):
    """A row is marked when an earlier row of its own source has the same
    (stripped) id, sources interleaved or not (no source is a source of its
    own); the id names the row."""
    frame = pd.DataFrame({"source": [s for s, _ in rows], "record_id": _as([r for _, r in rows], storage),
                          "_row": np.arange(2, len(rows) + 2)})
    out = validate.mark_duplicate_ids(frame)
    seen: dict[tuple[str, str], int] = {}
    for i, (src, rid) in enumerate(rows):
        key = None if rid is None else (src, rid.strip())
        if key is None:
            assert out["record_id"].iloc[i] == f"(row {i + 2})" and out["_duplicate_of"].iloc[i] is pd.NA
        elif key in seen:
            assert out["_duplicate_of"].iloc[i] == seen[key] and out["record_id"].iloc[i] == f"{key[1]}#row{i + 2}"
        else:
            seen[key] = i + 2
            assert out["_duplicate_of"].iloc[i] is pd.NA and out["record_id"].iloc[i] == key[1]
