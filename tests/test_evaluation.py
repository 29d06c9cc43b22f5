"""Evaluator: hand-computed metrics on a 20-record world, files, check() and exit codes."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.evaluation import EvaluationInputError, evaluate, evaluate_command

TRUTH_COLS = ["source", "record_id", "expected_status", "expected_reasons", "true_owner", "injected"]
FIND_COLS = ["source", "record_id", "status", "reason", "suggested_my_number"]

# fmt: off
TRUTH = [
    ("bank", "bk-01", "ok", "OK", "100000000001", "clean"),
    ("bank", "bk-02", "ok", "OK", "", "clean"),
    ("bank", "bk-03", "ok", "OK", "", "clean"),
    ("bank", "bk-04", "ok", "OK", "", "kanji_variant"),
    ("bank", "bk-05", "ok", "OK", "", "kanji_variant"),
    ("bank", "bk-06", "mislink", "HOUSEHOLD_MEMBER", "111122223333", "parent_account_on_child"),
    ("bank", "bk-07", "mislink", "HOUSEHOLD_MEMBER", "222233334444", "parent_account_on_child"),
    ("bank", "bk-08", "mislink", "OTHER_PERSON|SHARED_ACCOUNT", "333344445555", "shared_account"),
    ("bank", "bk-09", "mislink", "UNKNOWN_MY_NUMBER", "", "unknown_number"),
    ("bank", "bk-10", "invalid", "INVALID_MY_NUMBER", "", "bad_check_digit"),
    ("insurance", "in-01", "ok", "OK", "", "clean"),
    ("insurance", "in-02", "ok", "OK", "", "clean"),
    ("insurance", "in-03", "ok", "OK", "", "kanji_variant"),
    ("insurance", "in-04", "review", "FORMER_NAME", "", "former_name"),
    ("insurance", "in-05", "review", "SEX_MISMATCH", "", "sex_mismatch"),
    ("insurance", "in-06", "mislink", "OTHER_PERSON", "044455556666", "same_name_stranger"),
    ("insurance", "in-07", "mislink", "HOUSEHOLD_MEMBER", "555566667777", "dependant_on_parent"),
    ("insurance", "in-08", "invalid", "BAD_RECORD", "", "missing_field"),
    ("insurance", "in-09", "ok", "OK", "", "clean"),
    ("insurance", "in-10", "mislink", "OTHER_PERSON", "666677778888", "same_name_stranger"),
]
FINDINGS = [
    ("bank", "bk-01", "ok", "OK", ""),
    ("bank", "bk-02", "ok", "OK", ""),
    ("bank", "bk-03", "review", "FORMER_NAME", ""),                   # review load
    ("bank", "bk-04", "mislink", "OTHER_PERSON", "123412341234"),     # false alarm
    ("bank", "bk-05", "ok", "OK", ""),
    ("bank", "bk-06", "mislink", "HOUSEHOLD_MEMBER", "111122223333"), # right reason, right owner
    ("bank", "bk-07", "mislink", "OTHER_PERSON", "999999994444"),     # wrong reason; owner wrong, same last4
    ("bank", "bk-08", "mislink", "SHARED_ACCOUNT", ""),               # 2nd acceptable reason; no owner
    ("bank", "bk-09", "ok", "OK", ""),                                # missed mislink
    ("bank", "bk-10", "invalid", "INVALID_MY_NUMBER", ""),
    ("bank", "bk-10", "invalid", "INVALID_MY_NUMBER", ""),            # duplicated
    ("insurance", "in-01", "ok", "OK", ""),
    # in-02 missing
    ("insurance", "in-03", "ok", "OK", ""),
    ("insurance", "in-04", "review", "FORMER_NAME", ""),
    ("insurance", "in-05", "ok", "OK", ""),                           # missed review
    ("insurance", "in-06", "mislink", "OTHER_PERSON", "044455556666"),
    ("insurance", "in-07", "mislink", "HOUSEHOLD_MEMBER", "555566667777"),
    ("insurance", "in-08", "invalid", "BAD_RECORD", ""),
    ("insurance", "in-09", "ok", "OK", ""),
    ("insurance", "in-10", "review", "BIRTHDATE_MISMATCH", ""),       # missed mislink
    ("insurance", "in-99", "ok", "OK", ""),                           # unexpected
]
# fmt: on
NAN = math.nan


def truth_df() -> pd.DataFrame:
    return pd.DataFrame(TRUTH, columns=TRUTH_COLS)


def findings_df(masked: bool = False) -> pd.DataFrame:
    f = pd.DataFrame(FINDINGS, columns=FIND_COLS)
    if masked:
        s = f["suggested_my_number"]
        f["suggested_my_number"] = s.where(s == "", "********" + s.str[-4:])
    return f


def clean_findings() -> pd.DataFrame:
    """Findings that match the truth exactly (first reason, true owner suggested)."""
    t = truth_df()
    return pd.DataFrame(
        {
            "source": t["source"],
            "record_id": t["record_id"],
            "status": t["expected_status"],
            "reason": t["expected_reasons"].str.split("|").str[0],
            "suggested_my_number": t["true_owner"],
        }
    )


@pytest.fixture(scope="module")
def ev():
    return evaluate(truth_df(), findings_df())


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


# ------------------------------------------------------------------ metrics


@pytest.mark.parametrize(
    "key, expected",
    [
        ("mislink_recall", 5 / 7),      # bk-06,07,08, in-06,07 of 7 truth mislinks
        ("mislink_precision", 5 / 6),   # + bk-04 false alarm
        ("false_alarm_rate", 1 / 9),    # bk-04 of 9 truth ok
        ("review_load", 1 / 9),         # bk-03
        ("reason_accuracy", 4 / 5),     # bk-07 has the wrong reason
        ("owner_accuracy", 3 / 5),      # bk-07 wrong number, bk-08 none suggested
        ("invalid_recall", 1.0),
        ("review_recall", 1 / 2),       # in-05 predicted ok
        ("records_truth", 20),
        ("records_findings", 21),
        ("missing", 1),
        ("duplicated", 1),
        ("unexpected", 1),
        ("owner_compared_on", "full"),
    ],
)
def test_metrics_by_hand(ev, key, expected):
    assert ev.metrics[key] == pytest.approx(expected) if isinstance(expected, float) else ev.metrics[key] == expected


def test_fractions_back_the_rates(ev):
    assert ev.fractions["mislink_recall"] == (5, 7)
    assert ev.fractions["false_alarm_rate"] == (1, 9)
    assert ev.fractions["owner_accuracy"] == (3, 5)


def test_masked_owner_compares_last_four_digits():
    ev = evaluate(truth_df(), findings_df(masked=True))
    assert ev.metrics["owner_compared_on"] == "last4"
    # bk-07 suggested 999999994444 vs true 222233334444: wrong in full, equal on last four
    assert ev.fractions["owner_accuracy"] == (4, 5)
    assert ev.metrics["owner_accuracy"] == pytest.approx(0.8)
    assert "last four digits" in ev.to_text()
    rec = ev.records.set_index("record_id")
    assert rec.loc["bk-07", "owner_match"] and not rec.loc["bk-08", "owner_match"]
    assert rec["owner_match"].isna().sum() == 15  # compared only for the 5 caught mislinks with an owner
    assert not {"true_owner", "suggested_my_number", "my_number"} & set(ev.records.columns)


def test_owner_without_digits_never_matches_an_empty_suggestion():
    t = truth_df()
    t.loc[t["record_id"] == "bk-08", "true_owner"] = "-"  # bk-08: caught, nothing suggested
    ev = evaluate(t, findings_df())
    assert ev.fractions["owner_accuracy"] == (3, 5)


def test_empty_denominators_are_nan():
    t = truth_df()
    t = t[t["expected_status"] == "ok"]
    f = clean_findings().merge(t[["source", "record_id"]])
    ev = evaluate(t, f)
    for key in ("mislink_recall", "mislink_precision", "reason_accuracy", "owner_accuracy",
                "invalid_recall", "review_recall"):
        assert math.isnan(ev.metrics[key]), key
    assert ev.metrics["false_alarm_rate"] == 0.0


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize(
    "source, reason, support, predicted, tp, precision, recall",
    [
        ("bank", "OK", 5, 4, 3, 3 / 4, 3 / 5),
        ("bank", "FORMER_NAME", 0, 1, 0, 0.0, NAN),
        ("bank", "HOUSEHOLD_MEMBER", 2, 1, 1, 1.0, 1 / 2),
        ("bank", "OTHER_PERSON", 1, 2, 0, 0.0, 0.0),
        ("bank", "SHARED_ACCOUNT", 1, 1, 1, 1.0, 1.0),
        ("bank", "UNKNOWN_MY_NUMBER", 1, 0, 0, NAN, 0.0),
        ("insurance", "OK", 4, 4, 3, 3 / 4, 3 / 4),  # in-99 (unexpected) is not counted
        ("insurance", "BIRTHDATE_MISMATCH", 0, 1, 0, 0.0, NAN),
        ("insurance", "SEX_MISMATCH", 1, 0, 0, NAN, 0.0),
        ("insurance", "OTHER_PERSON", 2, 1, 1, 1.0, 1 / 2),
        ("all", "OK", 9, 8, 6, 6 / 8, 6 / 9),
        ("all", "FORMER_NAME", 1, 2, 1, 1 / 2, 1.0),
        ("all", "HOUSEHOLD_MEMBER", 3, 2, 2, 1.0, 2 / 3),
        ("all", "OTHER_PERSON", 3, 3, 1, 1 / 3, 1 / 3),
        ("all", "BAD_RECORD", 1, 1, 1, 1.0, 1.0),
    ],
)
def test_by_reason_by_hand(ev, source, reason, support, predicted, tp, precision, recall):
    row = ev.by_reason.loc[(source, reason)]
    assert (row["support"], row["predicted"], row["tp"]) == (support, predicted, tp)
    assert same(row["precision"], precision) and same(row["recall"], recall)


def test_by_reason_rows_only_for_seen_codes(ev):
    assert ("bank", "BAD_RECORD") not in ev.by_reason.index
    assert ("insurance", "SHARED_ACCOUNT") not in ev.by_reason.index
    assert list(ev.by_reason.index.get_level_values("source").unique()) == ["bank", "insurance", "all"]


@pytest.mark.parametrize(
    "source, status, support, predicted, tp",
    [
        ("bank", "ok", 5, 4, 3),
        ("bank", "review", 0, 1, 0),
        ("bank", "mislink", 4, 4, 3),
        ("insurance", "mislink", 3, 2, 2),
        ("all", "ok", 9, 8, 6),
        ("all", "review", 2, 3, 1),
        ("all", "mislink", 7, 6, 5),
        ("all", "invalid", 2, 2, 2),
    ],
)
def test_by_status_by_hand(ev, source, status, support, predicted, tp):
    row = ev.by_status.loc[(source, status)]
    assert (row["support"], row["predicted"], row["tp"]) == (support, predicted, tp)


def test_status_confusion_by_hand(ev):
    expected = pd.DataFrame(
        [[6, 1, 1, 0, 1], [1, 1, 0, 0, 0], [1, 1, 5, 0, 0], [0, 0, 0, 2, 0]],
        index=pd.Index(["ok", "review", "mislink", "invalid"], name="expected"),
        columns=pd.Index(["ok", "review", "mislink", "invalid", "missing"], name="predicted"),
    )
    pd.testing.assert_frame_equal(ev.confusion, expected)


@pytest.mark.parametrize(
    "expected, predicted, count",
    [
        ("OK", "OK", 6),
        ("OK", "missing", 1),
        ("OK", "OTHER_PERSON", 1),
        ("HOUSEHOLD_MEMBER", "OTHER_PERSON", 1),
        ("OTHER_PERSON", "SHARED_ACCOUNT", 1),  # bk-08: primary reason is the first listed
        ("OTHER_PERSON", "BIRTHDATE_MISMATCH", 1),
        ("UNKNOWN_MY_NUMBER", "OK", 1),
        ("SEX_MISMATCH", "OK", 1),
    ],
)
def test_reason_confusion_by_hand(ev, expected, predicted, count):
    assert ev.reason_confusion.loc[expected, predicted] == count
    assert ev.reason_confusion.to_numpy().sum() == 20
    assert "SHARED_ACCOUNT" not in ev.reason_confusion.index


@pytest.mark.parametrize(
    "label, count, status_match, reason_match",
    [
        ("clean", 6, 4 / 6, 4 / 6),            # bk-03 review, in-02 missing
        ("kanji_variant", 3, 2 / 3, 2 / 3),    # bk-04 false alarm
        ("parent_account_on_child", 2, 1.0, 1 / 2),
        ("shared_account", 1, 1.0, 1.0),
        ("same_name_stranger", 2, 1 / 2, 1 / 2),
        ("unknown_number", 1, 0.0, 0.0),
        ("sex_mismatch", 1, 0.0, 0.0),
    ],
)
def test_by_injected_by_hand(ev, label, count, status_match, reason_match):
    row = ev.by_injected.loc[label]
    assert row["count"] == count
    assert row["status_match"] == pytest.approx(status_match)
    assert row["reason_match"] == pytest.approx(reason_match)


def test_integrity_per_source(ev):
    assert ev.integrity.loc["bank"].tolist() == [10, 11, 0, 1, 0]
    assert ev.integrity.loc["insurance"].tolist() == [10, 10, 1, 0, 1]
    assert ev.integrity.loc["all"].tolist() == [20, 21, 1, 1, 1]


def test_clean_findings_score_perfectly():
    ev = evaluate(truth_df(), clean_findings())
    for key in ("mislink_recall", "mislink_precision", "reason_accuracy", "owner_accuracy",
                "invalid_recall", "review_recall"):
        assert ev.metrics[key] == 1.0, key
    assert ev.metrics["false_alarm_rate"] == 0.0 and ev.metrics["review_load"] == 0.0
    assert ev.check(min_recall=1, max_false_alarm=0, max_review_load=0,
                    min_reason_accuracy=1, min_owner_accuracy=1) == []


def test_normalises_case_and_spaces():
    f = clean_findings()
    f["status"] = f["status"].str.upper() + " "
    f["reason"] = " " + f["reason"].str.lower()
    f["source"] = f["source"].str.title()
    ev = evaluate(truth_df(), f)
    assert ev.metrics["mislink_recall"] == 1.0 and ev.metrics["reason_accuracy"] == 1.0


# ------------------------------------------------------------------ check()


def test_check_sentences(ev):
    assert ev.check(min_recall=0.9, max_false_alarm=0.2, max_review_load=0.05,
                    min_reason_accuracy=0.8, min_owner_accuracy=0.5) == [
        "1 truth record has no finding.",
        "1 finding repeats a (source, record_id) already listed.",
        "Mislink recall is 0.714 (5 of 7 truth mislink records), below the minimum 0.900.",
        "Review load is 0.111 (1 of 9 truth ok records), above the maximum 0.050.",
    ]


def test_check_masked_owner_sentence_and_nan():
    ev = evaluate(truth_df(), findings_df(masked=True))
    assert ev.check(min_owner_accuracy=0.9)[-1] == (
        "Owner accuracy is 0.800 (4 of 5 mislinks caught that have a true owner), "
        "below the minimum 0.900 (compared on the last four digits)."
    )
    t = truth_df()[lambda d: d["expected_status"] == "ok"]
    ev = evaluate(t, clean_findings().merge(t[["source", "record_id"]]))
    assert ev.check(min_recall=0.5) == [
        "Mislink recall cannot be measured (there are no truth mislink records), so the minimum 0.500 is not met."
    ]


def test_check_shows_more_digits_when_rounding_hides_the_gap():
    ev = evaluate(truth_df(), findings_df())
    assert "is 0.714286 " in ev.check(min_recall=0.7143)[-1]


def test_check_rejects_limits_outside_unit_interval(ev):
    with pytest.raises(EvaluationInputError, match="--min-recall"):
        ev.check(min_recall=1.5)


# ------------------------------------------------------------------ reports


def test_text_and_html_hold_no_record_contents(ev):
    text, page = ev.to_text(), ev._repr_html_()
    for secret in ("bk-0", "in-0", "in-99", "111122223333", "3333", "044455556666"):
        assert secret not in text and secret not in page
    lines = text.splitlines()
    assert lines[0] == "Evaluation: 20 truth records, 21 findings"
    assert lines[3].split() == ["mislink", "recall", "0.714", "5/7", "of", "truth", "mislink", "records"]
    assert text.index("Metrics") < text.index("By source and reason") < text.index("Status confusion")
    assert "<table" in page and "mislink recall" in page and "Reason confusion" in page


# ------------------------------------------------------------------ files and command


def write_csv(df: pd.DataFrame, path: Path, bom: bool = True) -> Path:
    df.to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8")
    return path


def test_files_keep_leading_zeros(tmp_path):
    t = truth_df()
    t["record_id"] = t["record_id"].str.replace("bk-", "00", regex=False)
    f = clean_findings()
    f["record_id"] = t["record_id"]
    tp = write_csv(t, tmp_path / "truth.csv", bom=True)
    fp = tmp_path / "findings.parquet"
    f.to_parquet(fp)
    ev = evaluate(tp, fp)
    assert ev.metrics["missing"] == 0 and ev.metrics["unexpected"] == 0
    assert ev.metrics["owner_accuracy"] == 1.0  # in-06 owner 0444... survives the CSV
    ev2 = evaluate(str(tp), write_csv(f, tmp_path / "findings.csv", bom=False))
    assert ev2.metrics == ev.metrics


def test_numeric_owner_column_gets_leading_zero_back():
    t = truth_df()
    t["true_owner"] = pd.to_numeric(t["true_owner"].replace("", None))
    ev = evaluate(t, clean_findings())
    assert ev.metrics["owner_accuracy"] == 1.0


def test_command_exit_codes(tmp_path, capsys):
    tp = write_csv(truth_df(), tmp_path / "truth.csv")
    good = write_csv(clean_findings(), tmp_path / "good.csv")
    bad = write_csv(findings_df(), tmp_path / "bad.csv")

    assert evaluate_command(tp, good, min_recall=0.9, max_false_alarm=0.01) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Evaluation: 20 truth records, 20 findings") and err == ""

    t = truth_df()
    nolimit_f = clean_findings()
    nolimit_f.loc[t["record_id"] == "bk-06", ["status", "reason"]] = ["ok", "OK"]
    missed = write_csv(nolimit_f, tmp_path / "missed.csv")
    assert evaluate_command(tp, missed, min_recall=0.9) == 3
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "Mislink recall is 0.857 (6 of 7 truth mislink records), below the minimum 0.900."
    ]
    assert evaluate_command(tp, missed) == 0  # no limit given, nothing missing
    capsys.readouterr()

    assert evaluate_command(tp, bad) == 3  # missing and duplicated always fail
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        "1 truth record has no finding.",
        "1 finding repeats a (source, record_id) already listed.",
    ]


@pytest.mark.parametrize("case", ["no_truth", "no_findings", "no_column", "bad_limit", "dup_truth", "bad_status"])
def test_command_unusable_input_exits_2(tmp_path, capsys, case):
    tp = write_csv(truth_df(), tmp_path / "truth.csv")
    fp = write_csv(clean_findings(), tmp_path / "findings.csv")
    limit = None
    if case == "no_truth":
        tp = tmp_path / "absent.csv"
    elif case == "no_findings":
        fp = tmp_path / "absent.parquet"
    elif case == "no_column":
        fp = write_csv(clean_findings().drop(columns="status"), tmp_path / "findings.csv")
    elif case == "bad_limit":
        limit = 1.5
    elif case == "dup_truth":
        tp = write_csv(pd.concat([truth_df(), truth_df().head(1)]), tmp_path / "truth.csv")
    elif case == "bad_status":
        t = truth_df()
        t.loc[0, "expected_status"] = "wrong"
        tp = write_csv(t, tmp_path / "truth.csv")
    assert evaluate_command(tp, fp, min_recall=limit) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("linkage evaluate: error: ")
    assert "Traceback" not in err
    if case == "no_column":
        assert "status" in err
    if case.startswith("no_") and case != "no_column":
        assert "absent" in err


# ------------------------------------------------------------------ properties

statuses = st.sampled_from(["ok", "review", "mislink", "invalid"])


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["bank", "insurance"]), statuses, statuses,
                  st.integers(min_value=0, max_value=2)),  # 0 missing, 1 present, 2 duplicated
        max_size=30,
    ),
    extra=st.integers(min_value=0, max_value=3),
)
def test_counts_are_consistent(rows, extra):
    t = pd.DataFrame(
        [(s, f"r{i}", e, e.upper(), "", "x") for i, (s, e, _, _) in enumerate(rows)], columns=TRUTH_COLS
    )
    f_rows = [(s, f"r{i}", p, p.upper(), "") for i, (s, _, p, n) in enumerate(rows) for _ in range(n)]
    f_rows += [("bank", f"extra{j}", "ok", "OK", "") for j in range(extra)]
    ev = evaluate(t, pd.DataFrame(f_rows, columns=FIND_COLS))
    m = ev.metrics
    assert m["records_findings"] == m["records_truth"] - m["missing"] + m["duplicated"] + m["unexpected"]
    assert m["unexpected"] == extra
    assert int(ev.confusion.to_numpy().sum()) == len(rows)
    assert int(ev.confusion["missing"].sum()) == m["missing"]
    st_all = ev.by_status[ev.by_status.index.get_level_values("source") == "all"]
    assert int(st_all["support"].sum()) == len(rows)
    assert int(st_all["predicted"].sum()) == len(rows) - m["missing"]
    assert (ev.by_status["tp"] <= ev.by_status[["support", "predicted"]].min(axis=1)).all()
    for key, (num, den) in ev.fractions.items():
        assert 0 <= num <= den
        assert same(m[key], num / den if den else NAN)
    # reasons mirror statuses here, so reason and status tables agree
    assert st_all["tp"].sum() == ev.by_reason.loc[ev.by_reason.index.get_level_values("source") == "all", "tp"].sum()
