"""End to end on generated worlds: audit, then score against the truth.

The full-size check (≥ 20,000 residents, several seeds) is in the README and
the closing notes; here a smaller world with more injected errors must meet
looser but still meaningful limits, on files written in the contract's
formats (CP932 insurance file with Japanese headers, BOM bank file).
"""
from __future__ import annotations

import pandas as pd
import pytest

import linkage
from linkage.synth import generate_world, write_world


@pytest.fixture(scope="module", params=[3, 8])
def world(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"world{request.param}")
    w = generate_world(1500, request.param, rate_scale=3)
    write_world(w, out)
    result = linkage.audit(out / "residents.csv", bank=out / "bank.csv", insurance=out / "insurance.csv",
                           unmask=True)
    return out, result


def test_nothing_lost_nothing_duplicated(world):
    out, result = world
    truth = pd.read_csv(out / "truth.csv", dtype=str)
    f = result.findings
    assert len(f) == len(truth)
    assert not f.duplicated(["source", "record_id"]).any()
    assert set(zip(f["source"], f["record_id"])) == set(zip(truth["source"], truth["record_id"]))


def test_meets_the_accuracy_limits(world):
    out, result = world
    ev = linkage.evaluate(out / "truth.csv", result.findings)
    m = ev.metrics
    assert m["mislink_recall"] >= 0.95, ev.to_text()
    assert m["false_alarm_rate"] <= 0.005, ev.to_text()
    assert m["review_load"] <= 0.03, ev.to_text()
    assert m["reason_accuracy"] >= 0.90, ev.to_text()
    assert m["owner_accuracy"] >= 0.85, ev.to_text()
    assert m["invalid_recall"] >= 0.95, ev.to_text()
    assert ev.check(min_recall=0.95, max_false_alarm=0.005) == []


def test_every_reason_code_is_exercised(world):
    _, result = world
    from linkage.explain import STATUS

    assert set(result.findings["reason"].astype(str)) == set(STATUS)


def test_audit_is_deterministic(world):
    out, result = world
    again = linkage.audit(out / "residents.csv", bank=out / "bank.csv", insurance=out / "insurance.csv",
                          unmask=True)
    pd.testing.assert_frame_equal(result.findings, again.findings)


@pytest.mark.parametrize("given", [("bank", "insurance"), ("bank",), ("insurance",), ("bank:empty", "insurance")])
def test_sources_audited_side_by_side_equal_one_after_another(world, monkeypatch, given):
    import importlib

    from linkage import background

    audit_module = importlib.import_module("linkage.audit")  # linkage.audit is also the function

    out, _ = world
    tables = {"bank": pd.read_csv(out / "bank.csv", dtype=str, encoding="utf-8-sig"),
              "insurance": linkage.read.read_table(out / "insurance.csv", "insurance")}
    kw = {g.split(":")[0]: tables[g.split(":")[0]].iloc[:0] if g.endswith(":empty") else tables[g] for g in given}
    forks = []

    class Counted(background.Forked):
        def __init__(self, *args, **kwargs):
            forks.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(background, "Forked", Counted)
    monkeypatch.setattr(audit_module, "spare_cores", lambda: 1)
    estimated = []  # u-probabilities estimated in this process (a child's appends are its own)
    real_u = audit_module.score.estimate_u
    monkeypatch.setattr(audit_module.score, "estimate_u", lambda *a, **k: (estimated.append(1), real_u(*a, **k))[1])
    runs, u_here = {}, {}
    for mode, threshold in (("here", 10**12), ("forked", 0)):
        monkeypatch.setattr(audit_module, "SPLIT_MIN_RECORDS", threshold)
        runs[mode] = linkage.audit(out / "residents.csv", unmask=True, **kw)
        u_here[mode] = len(estimated)
        estimated.clear()
    assert len(forks) == (len(given) > 1)  # a second process only when there are two sources
    # Once per audit; with a second process, there (handed over mid-way), not here.
    assert u_here == {"here": 1, "forked": 0 if len(given) > 1 else 1}
    a, b = runs["here"], runs["forked"]
    pd.testing.assert_frame_equal(a.findings, b.findings)
    assert len(a.findings) == sum(len(v) for v in kw.values())
    for name in ("holder", "holder_weights"):
        assert (getattr(a.context, name) == getattr(b.context, name)).all()
    pd.testing.assert_frame_equal(a.context.holder_features, b.context.holder_features)
    pd.testing.assert_frame_equal(a.context.decisions, b.context.decisions)
    assert {k: repr(m) for k, m in a.context.models.items()} == {k: repr(m) for k, m in b.context.models.items()}
    assert list(a.timings) == list(b.timings) == ["read", "normalise", "validate", "join", "compare", "score",
                                                  "search", "explain"]


def test_readings_take_the_insurance_rows_wherever_they_are(world):
    import importlib

    import numpy as np

    from linkage.normalize import tables

    audit_module = importlib.import_module("linkage.audit")
    out, _ = world
    read = {k: linkage.read.read_table(out / f"{k}.csv", k) for k in ("residents", "bank", "insurance")}
    prepared = tables.prepare_tables(**read)
    res = prepared["residents"].reset_index(drop=True)
    rec = audit_module._records(prepared["bank"], prepared["insurance"])
    src = rec["source"].to_numpy()
    within = pd.Series(src).groupby(src).cumcount().to_numpy()  # each row's rank in its own source
    mixed = rec.iloc[np.argsort(within, kind="stable")]  # sources alternate, each in its own order
    assert not (np.diff(np.flatnonzero(mixed["source"].to_numpy() == "insurance")) == 1).all()
    (a_res, a_lex), (b_res, b_lex) = audit_module._readings(rec, res), audit_module._readings(mixed, res)
    pd.testing.assert_frame_equal(a_res, b_res)
    pd.testing.assert_frame_equal(a_lex.pairs, b_lex.pairs)
