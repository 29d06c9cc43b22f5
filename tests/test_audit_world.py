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
