"""The coded paths of pair_features give what the plain string definitions give.

Name parts compared as integer codes (one vocabulary for both sides, whole
columns or the values at the pairs), full names equal by their parts where
they are their parts run together, unsplit names split by Arrow kernels,
readings looked up once per distinct pair: each is checked against the plain
Python meaning, and pair_features in every mode and string storage against
each other.
"""
from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handmade import in_storage
from linkage import compare, join, keycols, readings
from linkage.compare import FEATURES, pair_features
from linkage.keycols import Keys
from linkage.normalize import tables
from linkage.synth import generate_world

audit = importlib.import_module("linkage.audit")

STORAGES = ["python", "pyarrow"]
# Few short parts, so that equal values, one name split in two places
# (山+田ア / 山田+ア) and empty strings all turn up often.
part = st.one_of(st.sampled_from([None, "", "山", "田", "ア", "山田", "田ア", "山田ア"]),
                 st.text(alphabet="山田ア", min_size=0, max_size=3))


def _as(values: list, storage: str) -> pd.Series:
    return pd.Series(values, dtype=f"string[{storage}]")


@settings(max_examples=150, deadline=None)
@given(st.lists(part, min_size=1, max_size=12), st.lists(part, min_size=1, max_size=12), st.data(),
       st.sampled_from(STORAGES), st.booleans(), st.booleans())
def test_codes_are_equal_exactly_where_the_values_are(a, b, data, storage, whole, same_column):
    keycols_share = keycols._ENCODE_WHOLE_SHARE
    keycols._ENCODE_WHOLE_SHARE = 0.0 if whole else float("inf")
    try:
        sa = _as(a, storage)
        sb = sa if same_column else _as(b, storage)
        b = a if same_column else b
        n = data.draw(st.integers(0, 15))
        ai = np.array(data.draw(st.lists(st.integers(0, len(a) - 1), min_size=n, max_size=n)), dtype=np.int64)
        bi = np.array(data.draw(st.lists(st.integers(0, len(b) - 1), min_size=n, max_size=n)), dtype=np.int64)
        ka, kb = keycols.encode(sa, sb, ai, bi)
    finally:
        keycols._ENCODE_WHOLE_SHARE = keycols_share
    va, vb = [a[i] for i in ai], [b[i] for i in bi]
    assert ka.values().tolist() == va and kb.values().tolist() == vb
    assert ka.na.tolist() == [v is None for v in va]
    assert keycols.equal(ka, kb).tolist() == [x is not None and x == y for x, y in zip(va, vb)]
    # Replacing with the other side's values (codes copied) or new strings (kept apart).
    pos = np.arange(0, n, 2)
    moved = ka.replace_with(pos, kb)
    expect = [vb[i] if i % 2 == 0 else va[i] for i in range(n)]
    assert moved.values().tolist() == expect
    assert keycols.equal(moved, kb).tolist() == [x is not None and x == y for x, y in zip(expect, vb)]
    fresh = moved.replace(np.arange(1, n, 2), np.array(["新"] * len(range(1, n, 2)), dtype=object))
    expect = [vb[i] if i % 2 == 0 else "新" for i in range(n)]
    assert fresh.values().tolist() == expect and fresh.na.tolist() == [v is None for v in expect]
    assert keycols.equal(fresh, kb).tolist() == [x is not None and x == y for x, y in zip(expect, vb)]
    assert fresh.subset(np.arange(n)[::-1]).values().tolist() == expect[::-1]
    # Later replacements win, whichever way they were made.
    back = fresh.replace_with(np.arange(n), ka)
    assert back.values().tolist() == va and back.na.tolist() == ka.na.tolist()
    assert keycols.equal(back, kb).tolist() == keycols.equal(ka, kb).tolist()


@pytest.mark.parametrize("storage", STORAGES)
def test_rows_keys_read_like_taken_keys(storage):
    frame = pd.DataFrame({"a": _as(["山田", None, "ア", ""], storage)})
    idx = np.array([3, 0, 1, 0, 2])
    lazy, taken = Keys.rows(frame, "a", idx), Keys.take(frame, "a", idx)
    assert lazy.values().tolist() == taken.values().tolist() == ["", "山田", None, "山田", "ア"]
    assert lazy.na.tolist() == taken.na.tolist()
    assert keycols.equal(lazy, taken).tolist() == [True, True, False, True, True]
    assert lazy.subset(np.array([4, 1])).values().tolist() == ["ア", "山田"]
    assert lazy.replace(np.array([2]), np.array(["田"], dtype=object)).values(np.array([2, 3])).tolist() == [
        "田", "山田"]


def _named(rows: list[tuple], storage: str) -> pd.DataFrame:
    """A frame of (full, family, given) keys."""
    full, fam, giv = zip(*rows) if rows else ((), (), ())
    return pd.DataFrame({"name_key": _as(list(full), storage), "fam_key": _as(list(fam), storage),
                         "giv_key": _as(list(giv), storage)})


# A side of a pair: split (the full key is its parts run together), unsplit
# (full key only), or a full key that is not its parts (alphabet names, keys
# filled in by other stages).
side = st.one_of(
    st.tuples(part, part).map(lambda p: (None if p[0] is None or p[1] is None else p[0] + p[1], *p)),
    part.map(lambda f: (f, None, None)),
    st.tuples(part, part, part),
)


@st.composite
def sides(draw, n: int = 20) -> list[tuple]:
    """Pairs of sides, the right one often made of the left one's pieces."""
    out = []
    for _ in range(draw(st.integers(1, n))):
        a = draw(side)
        how = draw(st.sampled_from(["any", "same", "resplit", "unsplit", "parts"]))
        full = a[0] or ""
        cut = draw(st.integers(0, len(full)))
        b = {"any": lambda: draw(side), "same": lambda: a,
             "resplit": lambda: (a[0], full[:cut], full[cut:]),  # the same name split elsewhere
             "unsplit": lambda: (a[0], None, draw(st.one_of(st.none(), part))),
             "parts": lambda: (draw(part), a[1], a[2])}[how]()
        out.append((a, b) if draw(st.booleans()) else (b, a))
    return out


@settings(max_examples=300, deadline=None)
@given(sides())
def test_full_names_equal_by_their_parts_exactly_where_the_strings_are(pairs):
    left, right = _named([p[0] for p in pairs], "pyarrow"), _named([p[1] for p in pairs], "pyarrow")
    idx = np.arange(len(pairs))
    lf, rf = Keys.rows(left, "name_key", idx), Keys.rows(right, "name_key", idx)
    lfam, rfam = keycols.encode(left["fam_key"], right["fam_key"], idx, idx)
    lgiv, rgiv = keycols.encode(left["giv_key"], right["giv_key"], idx, idx)
    lj = keycols.joined_rows(left["name_key"], left["fam_key"], left["giv_key"])
    rj = keycols.joined_rows(right["name_key"], right["fam_key"], right["giv_key"])
    assert lj.tolist() == [f is not None and g is not None and n == f + g for n, f, g in (p[0] for p in pairs)]
    eq = keycols.full_equal(lf, rf, (lfam, lgiv), (rfam, rgiv), lj, rj)
    assert eq.tolist() == [a[0] is not None and a[0] == b[0] for a, b in pairs]


def _split_plain(full, fam, giv, other_fam, other_giv):
    """The split of one pair's side, value by value (the definition)."""
    if fam is not None or full is None or (other_fam is None and other_giv is None):
        return fam, giv
    if other_fam is not None and other_giv is not None and other_fam + other_giv == full:
        new = (other_fam, other_giv)
    elif other_fam is not None and full.startswith(other_fam) and len(full) > len(other_fam):
        new = (other_fam, full[len(other_fam):])
    elif other_giv is not None and full.endswith(other_giv) and len(full) > len(other_giv):
        new = (full[: len(full) - len(other_giv)], other_giv)
    else:
        return fam, giv
    return new[0], new[1] if giv is None else giv


@settings(max_examples=300, deadline=None)
@given(sides(), st.sampled_from(STORAGES))
def test_unsplit_names_are_split_as_defined(pairs, storage):
    left, right = _named([p[0] for p in pairs], storage), _named([p[1] for p in pairs], storage)
    idx = np.arange(len(pairs))
    full = Keys.take(left, "name_key", idx)
    fam, ofam = keycols.encode(left["fam_key"], right["fam_key"], idx, idx)
    giv, ogiv = keycols.encode(left["giv_key"], right["giv_key"], idx, idx)
    new_fam, new_giv = compare._split_by_other(full, fam, giv, ofam, ogiv)
    expect = [_split_plain(a[0], a[1], a[2], b[1], b[2]) for a, b in pairs]
    assert list(zip(new_fam.values().tolist(), new_giv.values().tolist())) == expect
    assert new_fam.na.tolist() == [f is None for f, _ in expect]
    assert keycols.equal(new_fam, ofam).tolist() == [f is not None and f == b[1] for (f, _), (_, b) in
                                                     zip(expect, pairs)]


def test_readings_are_looked_up_once_per_distinct_pair():
    res = tables.prepare_residents(pd.DataFrame({
        "my_number": [""] * 12, "name": ["佐藤 花子"] * 10 + ["佐藤 一", "鈴木 一"],
        "name_kana": ["サトウ ハナコ"] * 10 + ["サトウ ハジメ", "スズキ ハジメ"], "birth_date": ["1980-01-01"] * 12,
        "sex": ["2"] * 12, "address": [""] * 12, "household_id": [str(i) for i in range(12)],
        "relationship": [""] * 12}))
    lex = readings.build_lexicon(res)
    asked = []

    class Counting(type(lex)):
        def lookup(self, part, kanji, kana):
            asked.append(len(kanji))
            return super().lookup(part, kanji, kana)

    counting = Counting(lex.strict, lex.loose, lex.known, lex.pairs)
    kanji = Keys.of(np.array(["佐藤", "佐藤", "鈴木", "佐藤", "佐藤"], dtype=object))
    kana = Keys.of(np.array(["サトウ", "サトウ", "サトウ", "サドウ", "サトウ"], dtype=object))
    at = np.arange(5)
    got = compare._lookup(counting, "fam", kanji, kana, at)
    assert asked == [3]  # (佐藤, サトウ), (鈴木, サトウ), (佐藤, サドウ)
    assert got.tolist() == lex.lookup("fam", kanji.values(), kana.values()).tolist()
    assert got.tolist()[:2] == [0, 0]


# --- whole pair comparisons ------------------------------------------------------

@pytest.fixture(scope="module")
def prepared():
    world = generate_world(300, 5, rate_scale=3)
    prepared = tables.prepare_tables(world.residents, world.bank, world.insurance, background=False)
    res = prepared.pop("residents").reset_index(drop=True)
    rec = audit._records(**prepared)
    ins = rec.loc[rec["source"].to_numpy() == "insurance", readings.INSURANCE_COLUMNS]
    res = readings.fill_readings(readings.split_by_household(res), ins)
    return res, rec, readings.build_lexicon(res, ins)




@pytest.mark.parametrize("detail", [True, False])
def test_pair_features_are_the_same_in_every_mode_and_storage(prepared, detail, monkeypatch):
    res, rec, lexicon = prepared
    rng = np.random.default_rng(1)
    holder = join.holder_positions(rec, res)
    has = np.flatnonzero(holder >= 0)
    # Card holders, household members and random residents: agreeing, near and different names.
    li = np.concatenate([has, rng.integers(0, len(rec), 3000)])
    ri = np.concatenate([holder[has], rng.integers(0, len(res), 3000)])
    got = {}
    for storage in STORAGES:
        r, x = in_storage(res, storage), in_storage(rec, storage)
        # Whole columns on one thread or several, or only the values at the pairs.
        for share, threads in ((0.0, 1), (0.0, 3), (float("inf"), 3)):
            monkeypatch.setattr(keycols, "_ENCODE_WHOLE_SHARE", share)
            monkeypatch.setattr(compare, "_threads", lambda threads=threads: threads)
            got[storage, share, threads] = pair_features(x, r, li, ri, lexicon, detail=detail)
            got[storage, share, threads, "residents"] = pair_features(r, r, ri, ri[::-1].copy(), detail=detail)
    first = got[("python", 0.0, 1)]
    assert (first["fam"].iloc[: len(has)] == compare.AGREE).mean() > 0.5  # holders mostly fit …
    assert (first["fam"].iloc[len(has):] == compare.DISAGREE).mean() > 0.5  # … random residents do not
    for key, frame in got.items():
        ref = got[("python", 0.0, 1, "residents")] if "residents" in key else first
        pd.testing.assert_frame_equal(frame, ref)
    if detail:
        pd.testing.assert_frame_equal(pair_features(rec, res, li, ri, lexicon, detail=False),
                                      first[list(FEATURES)])


def test_no_pairs_and_empty_tables(prepared):
    res, rec, lexicon = prepared
    none = np.zeros(0, dtype=np.int64)
    assert len(pair_features(rec, res, none, none, lexicon)) == 0
    assert list(pair_features(rec.iloc[:0], res.iloc[:0], none, none, detail=False).columns) == list(FEATURES)
