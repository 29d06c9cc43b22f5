"""The dask engine gives exactly the pandas engine's findings.

A real two-worker ``distributed.LocalCluster`` audits a generated world with
raised error rates (every reason code), mutated so that the register-wide steps
must look across partitions: record ids repeated in later partitions, register
numbers on several rows, an invalid register number, a resident without a
household.  Partitions are made small so that every table spans several.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from handmade import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import linkage
from linkage import dask_engine, score
from linkage.explain import STATUS
from linkage.normalize import tables
from linkage.read import read_table
from linkage.synth import generate_world, write_world

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB",
                                  dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module", autouse=True)
def small_partitions():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dask_engine, "CHUNK_ROWS", 150)  # several partitions per table
        mp.setattr(dask_engine, "SEARCH_CHUNK", 25)  # several owner-search chunks
        yield


def _mutate(world) -> None:
    """Make the whole-table steps look across partitions."""
    res, bank, ins = world.residents, world.bank, world.insurance
    late = res.iloc[[3, 10, 11]].assign(name=["重複 一郎", "重複 二郎", "重複 三郎"])
    res2 = pd.concat([res, late], ignore_index=True)  # numbers repeated on later rows
    res2.loc[5, "my_number"] = "123456789012"  # fails the check digit
    res2.loc[7, "household_id"] = pd.NA
    world.residents = res2.astype("string")
    for table, ids in ((bank, (-5, -9)), (ins, (-3,))):
        for i in ids:
            table.loc[table.index[i], "record_id"] = table["record_id"].iat[2]  # a later repeat of an early id
    bank.loc[bank.index[-7], "record_id"] = pd.NA


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    w = generate_world(200, 11, rate_scale=10)
    _mutate(w)
    out = tmp_path_factory.mktemp("world")
    write_world(w, out)  # CSV: residents UTF-8, bank UTF-8 with BOM, insurance CP932 (Japanese headers)
    for name in ("residents", "bank", "insurance"):
        parts = out / f"{name}_parts"
        parts.mkdir()
        df = getattr(w, name)
        for j, start in enumerate(range(0, len(df), 120)):
            df.iloc[start:start + 120].to_parquet(parts / f"part-{j:02d}.parquet", index=False)
    return out


def _paths(d: Path, suffix: str) -> dict[str, Path]:
    return {"residents": d / f"residents{suffix}", "bank": d / f"bank{suffix}", "insurance": d / f"insurance{suffix}"}


@pytest.fixture(scope="module")
def pandas_csv(world):
    p = _paths(world, ".csv")
    return linkage.audit(p["residents"], bank=p["bank"], insurance=p["insurance"])


def test_csv_findings_equal_the_pandas_engine(world, cluster, pandas_csv):
    p = _paths(world, ".csv")
    result = linkage.audit(p["residents"], bank=p["bank"], insurance=p["insurance"], engine="dask",
                           scheduler=cluster)
    pd.testing.assert_frame_equal(result.findings, pandas_csv.findings)
    assert set(result.findings["reason"].astype(str)) == set(STATUS)  # every code, so every path compared
    assert result.meta["register"] == pandas_csv.meta["register"]
    assert result.meta["register"]["duplicate_numbers"] == 3
    assert result.meta["rows_in"] == pandas_csv.meta["rows_in"]
    pd.testing.assert_frame_equal(result.households(min_mislinks=1, top=None),
                                  pandas_csv.households(min_mislinks=1, top=None))
    assert (result.findings["evidence"].str.contains("repeats the one on row")).sum() == 3
    with pytest.raises(NotImplementedError, match="engine='pandas'"):
        result.explain(str(result.findings["record_id"].iat[0]), source="bank")


def test_parquet_parts_findings_equal_the_pandas_engine(world, cluster, monkeypatch):
    from linkage import join

    p = _paths(world, "_parts")
    uncapped = linkage.audit(p["residents"], bank=p["bank"], insurance=p["insurance"], lang="ja", unmask=True)
    # At most one candidate per record: the cap, which needs whole-register counts, now matters.
    monkeypatch.setattr(join, "MAX_CANDIDATES", 1)
    expected = linkage.audit(p["residents"], bank=p["bank"], insurance=p["insurance"], lang="ja", unmask=True)
    assert not expected.findings.equals(uncapped.findings)
    residents = pd.read_parquet(p["residents"])  # a DataFrame works too (rows numbered 1.. like the parts)
    result = linkage.audit(residents, bank=p["bank"], insurance=p["insurance"], lang="ja", unmask=True,
                           engine="dask", scheduler=cluster)
    pd.testing.assert_frame_equal(result.findings, expected.findings)
    # a glob of the same parts is the same table
    by_glob, by_dir = dask_engine._input(p["bank"] / "part-*.parquet", "bank"), dask_engine._input(p["bank"], "bank")
    assert by_glob.pieces == by_dir.pieces and len(by_dir.pieces) > 1 and by_glob.continuous_rows


def test_cli_engine_dask_writes_the_same_findings(world, cluster, pandas_csv, tmp_path):
    p = _paths(world, ".csv")
    proc = run_cli("audit", "--residents", str(p["residents"]), "--bank", str(p["bank"]), "--insurance",
                   str(p["insurance"]), "--out", str(tmp_path / "dask"), "--engine", "dask", "--scheduler", cluster)
    assert proc.returncode == 0, proc.stderr
    assert "distributed" not in proc.stderr and "Traceback" not in proc.stderr  # the cluster's logs stay quiet
    pandas_csv.write(tmp_path / "pandas")
    assert (tmp_path / "dask" / "findings.csv").read_bytes() == (tmp_path / "pandas" / "findings.csv").read_bytes()


def test_bad_input_exits_2_with_the_same_line(world, tmp_path):
    bad = tmp_path / "bank.csv"
    lines = (world / "bank.csv").read_bytes().split(b"\n")
    lines[40] += b",extra"
    bad.write_bytes(b"\n".join(lines))
    args = ["audit", "--residents", str(world / "residents.csv"), "--bank", str(bad)]
    pandas_proc = run_cli(*args, "--out", str(tmp_path / "p"))
    dask_proc = run_cli(*args, "--out", str(tmp_path / "d"), "--engine", "dask")  # starts its own LocalCluster
    assert pandas_proc.returncode == dask_proc.returncode == 2
    assert dask_proc.stderr == pandas_proc.stderr
    assert dask_proc.stderr.count("\n") == 1 and "row 41" in dask_proc.stderr


@pytest.mark.parametrize("seed", [0, 3])
def test_u_sample_replica_equals_estimate_u(world, seed):
    res = tables.prepare_residents(read_table(world / "residents.csv", "residents")).reset_index(drop=True)
    expected = score.estimate_u(res, n_pairs=2_000, seed=seed)
    # the dask engine passes households as integer codes: only their equality matters
    codes = pd.Series(pd.factorize(res["household"])[0]).astype("Int64").mask(res["household"].isna())
    got = dask_engine.u_from_pairs(res, dask_engine.u_pairs(len(res), codes, 2_000, seed))
    assert got.keys() == expected.keys()
    for f in expected:
        np.testing.assert_array_equal(got[f], expected[f])


def test_fit_on_pattern_counts_equals_fit_on_links(pandas_csv):
    ctx = pandas_csv.context
    hf = ctx.holder_features[ctx.holder >= 0]
    u = {f: np.array([0.05, 0.1, 0.85]) for f in ("fam", "giv", "birth", "sex", "addr")}
    cols = ["fam", "giv", "birth", "sex", "addr"]
    halves = [hf.iloc[: len(hf) // 2], hf.iloc[len(hf) // 2:]]
    counts = pd.concat([h[cols].value_counts().rename("n").reset_index() for h in halves], ignore_index=True)
    a, b = score.fit(hf, u), score.fit(counts, u, counts=counts["n"].to_numpy())
    assert a.prior == b.prior and a.iterations == b.iterations
    for f in cols:
        np.testing.assert_array_equal(a.m[f], b.m[f])


def test_import_linkage_does_not_import_dask():
    code = "import sys, linkage, linkage.cli; assert not any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_candidates_of_equals_candidate_pairs_before_the_cap(world):
    from linkage import join
    from linkage.readings import build_lexicon

    res = tables.prepare_residents(read_table(world / "residents.csv", "residents")).reset_index(drop=True)
    rec = tables.prepare_insurance(read_table(world / "insurance.csv", "insurance")).reset_index(drop=True)
    pairs = build_lexicon(res, rec).pairs
    got = dask_engine.candidates_of(rec, res, pairs)
    for cap in (1, join.MAX_CANDIDATES):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(join, "MAX_CANDIDATES", cap)
            x, r = join.candidate_pairs(rec, res, np.arange(len(rec)), pairs)
        capped = got[got.groupby("x")["r"].transform("size") <= cap]
        assert set(zip(capped["x"], capped["r"])) == set(zip(x, r))


def test_record_schema_is_the_concatenation_even_for_an_empty_table(world):
    import importlib

    run = importlib.import_module("linkage.audit")
    bank = read_table(world / "bank.csv", "bank").iloc[:0]
    ins = read_table(world / "insurance.csv", "insurance")
    expected = run._records(**tables.prepare_tables(bank=bank, insurance=ins))
    heads = [dask_engine._prepare_records(t, 0, 50, 0, 0, src, pack=False) for t, src in ((bank, "bank"), (ins, "insurance"))]
    columns, union, _ = dask_engine._record_schema(*heads, pd.Timestamp.today().normalize())
    assert columns == [c for c in expected.columns if c in columns]
    assert {c: str(t) for c, t in union.items()} == {c: str(expected[c].dtype) for c in columns}


def test_no_records_at_all(world, cluster, tmp_path):
    empty = tmp_path / "bank.csv"
    empty.write_bytes((world / "bank.csv").read_bytes().split(b"\n")[0] + b"\n")  # the header only
    expected = linkage.audit(world / "residents.csv", bank=empty)
    result = linkage.audit(world / "residents.csv", bank=empty, engine="dask", scheduler=cluster)
    assert len(result.findings) == 0
    pd.testing.assert_frame_equal(result.findings, expected.findings)
    assert result.meta["register"] == expected.meta["register"]


text = st.one_of(st.none(), st.text(st.characters(codec=None, exclude_categories=()), max_size=8))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(text, text, st.one_of(st.none(), st.integers(1, 2)), st.booleans()), max_size=6))
def test_pack_then_unpack_gives_the_frame_back(rows):
    """Strings travel as Arrow strings between the stages; the stages get exactly what they made."""
    df = pd.DataFrame({
        "s": pd.array([r[0] for r in rows], dtype="string"),
        "o": np.array([r[1] for r in rows] or [], dtype=object),  # object strings with None, like kana_source
        "i": pd.array([r[2] for r in rows], dtype="Int8"),
        "b": np.array([r[3] for r in rows], dtype=bool),
        "d": pd.to_datetime(["2000-01-02" if r[3] else None for r in rows]),
    })
    back = dask_engine._unpack(dask_engine._pack(df), dask_engine._dtypes(df))
    pd.testing.assert_frame_equal(back, df)
    assert [v is None for v in back["o"]] == [v is None for v in df["o"]]
