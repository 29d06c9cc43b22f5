"""Score an audit's findings against the ground truth of a synthetic world.

The truth (``truth.csv``) has one row per bank/insurance record: ``source``,
``record_id``, ``expected_status``, ``expected_reasons`` (codes joined by "|",
any of them is acceptable), ``true_owner`` (12 digits, empty when nobody in the
register) and ``injected`` (a free-text label of what was injected).  The
findings follow CONTRACT.md "Output: findings".

Every score is computed over the truth records.  A truth record without a
finding counts as predicted ``missing``; findings whose ``(source, record_id)``
is not in the truth are only counted (``unexpected``), and repeated findings
keep their first row and are counted (``duplicated``).
"""
from __future__ import annotations

import html
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.normalize._unique import on_unique

STATUSES = ("ok", "review", "mislink", "invalid")
REASONS = (
    "OK",
    "FORMER_NAME",
    "BIRTHDATE_MISMATCH",
    "SEX_MISMATCH",
    "HOUSEHOLD_MEMBER",
    "OTHER_PERSON",
    "SHARED_ACCOUNT",
    "UNKNOWN_MY_NUMBER",
    "INVALID_MY_NUMBER",
    "BAD_RECORD",
)
SOURCES = ("bank", "insurance")
STR = "string[pyarrow]"
ALL = "all"
MISSING = "missing"
BLANK = "(blank)"
UNLABELLED = "(unlabelled)"
KEYS = ["source", "record_id"]
TRUTH_COLUMNS = ("source", "record_id", "expected_status", "expected_reasons")
FINDINGS_COLUMNS = ("source", "record_id", "status", "reason")

TableLike = pd.DataFrame | str | Path

# metric key -> (label, what the denominator counts)
_METRICS: dict[str, tuple[str, str]] = {
    "mislink_recall": ("mislink recall", "truth mislink records"),
    "mislink_precision": ("mislink precision", "predicted mislinks"),
    "false_alarm_rate": ("false alarm rate", "truth ok records"),
    "review_load": ("review load", "truth ok records"),
    "reason_accuracy": ("reason accuracy", "mislinks caught"),
    "owner_accuracy": ("owner accuracy", "mislinks caught that have a true owner"),
    "invalid_recall": ("invalid recall", "truth invalid records"),
    "review_recall": ("review recall", "truth review records"),
}
# check() argument -> (metric key, "min" or "max", command-line option)
_LIMITS: dict[str, tuple[str, str, str]] = {
    "min_recall": ("mislink_recall", "min", "--min-recall"),
    "max_false_alarm": ("false_alarm_rate", "max", "--max-false-alarm"),
    "max_review_load": ("review_load", "max", "--max-review-load"),
    "min_reason_accuracy": ("reason_accuracy", "min", "--min-reason-accuracy"),
    "min_owner_accuracy": ("owner_accuracy", "min", "--min-owner-accuracy"),
}


class EvaluationInputError(ValueError):
    """Truth or findings are unusable: missing or unreadable file, missing column."""


# --------------------------------------------------------------------------- input


def read_table(obj: TableLike, what: str) -> pd.DataFrame:
    """Return ``obj`` as a DataFrame (CSV with or without BOM, Parquet or xlsx path).

    Text columns are read as strings, so record ids keep leading zeros.  Column
    names are trimmed and lower-cased.  Raises :class:`EvaluationInputError`.
    """
    if isinstance(obj, pd.DataFrame):
        df = obj.copy()
    else:
        path = Path(obj)
        if not path.is_file():
            raise EvaluationInputError(f"{what} file not found: {path}")
        suffix = path.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                df = pd.read_parquet(path)
            elif suffix in (".xlsx", ".xlsm"):
                df = pd.read_excel(path, dtype=str, keep_default_na=False)
            else:
                df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (OSError, ValueError, ImportError) as exc:
            raise EvaluationInputError(
                f"{what} file {path} cannot be read ({type(exc).__name__})"
            ) from exc
    df.columns = [str(c).replace("\ufeff", "").strip().lower() for c in df.columns]
    return df


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise EvaluationInputError(f"{what} lacks column(s): {', '.join(absent)}")


def _text(s: pd.Series) -> pd.Series:
    """Trimmed strings with empty values as NA; whole floats lose their '.0'."""
    if pd.api.types.is_float_dtype(s) and bool((s.dropna() % 1 == 0).all()):
        s = s.astype("Int64")
    out = s.astype(STR).str.strip()
    return out.mask(out == "")


def _label(s: pd.Series, case: str) -> pd.Series:
    """A low-cardinality code column, trimmed and case-folded on its distinct values only."""

    def fold(value: Any) -> str | None:
        text = str(value).strip()
        return (text.lower() if case == "lower" else text.upper()) or None

    return on_unique(fold, s, dtype=STR)


def _number(s: pd.Series) -> pd.Series:
    """My Numbers as text; numeric columns get their leading zeros back."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    out = _text(s)
    return out.str.zfill(12) if numeric else out


def _digits(s: pd.Series) -> pd.Series:
    """Digits of a (possibly masked, full-width or hyphenated) number."""
    return s.astype(STR).str.normalize("NFKC").str.replace(r"\D", "", regex=True)


def _optional(df: pd.DataFrame, column: str, convert) -> pd.Series:
    """``convert(df[column])``, or an all-missing column when ``df`` has none."""
    return convert(df[column]) if column in df else pd.Series([pd.NA] * len(df), dtype=STR, index=df.index)


def _prepare_truth(df: pd.DataFrame) -> pd.DataFrame:
    _require(df, TRUTH_COLUMNS, "truth")
    out = pd.DataFrame(
        {
            "source": _label(df["source"], "lower"),
            "record_id": _text(df["record_id"]),
            "expected_status": _label(df["expected_status"], "lower"),
            "expected_reasons": _label(df["expected_reasons"], "upper"),
            "true_owner": _optional(df, "true_owner", _number),
            "injected": _optional(df, "injected", _text),
        }
    ).reset_index(drop=True)
    out["injected"] = out["injected"].fillna(UNLABELLED)
    if out[KEYS].isna().any(axis=None):
        raise EvaluationInputError("truth has rows without source or record_id")
    bad = sorted(set(out["expected_status"].dropna().unique()) - set(STATUSES))
    if bad or out["expected_status"].isna().any():
        shown = ", ".join(bad) if bad else "empty"
        raise EvaluationInputError(f"truth has unknown expected_status: {shown}")
    return out


def _prepare_findings(df: pd.DataFrame) -> pd.DataFrame:
    _require(df, FINDINGS_COLUMNS, "findings")
    out = pd.DataFrame(
        {
            "source": _label(df["source"], "lower"),
            "record_id": _text(df["record_id"]),
            "status": _label(df["status"], "lower"),
            "reason": _label(df["reason"], "upper"),
            "suggested": _optional(df, "suggested_my_number", _number),
        }
    ).reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- scoring


def _objects(s: pd.Series, fill: str) -> np.ndarray:
    """A text column as a numpy object array with NA replaced by ``fill``."""
    return s.astype(object).where(s.notna(), fill).to_numpy(dtype=object)


def _take(values: np.ndarray, positions: np.ndarray, fill: Any) -> np.ndarray:
    """``values[positions]`` with ``fill`` where a position is -1."""
    out = np.full(len(positions), fill, dtype=object)
    hit = positions >= 0
    out[hit] = values[positions[hit]]
    return out


def _ordered(values: Any, known: tuple[str, ...], last: tuple[str, ...] = ()) -> list[str]:
    """Known labels in their fixed order, then other labels sorted, then ``last``."""
    seen = {v for v in pd.unique(pd.Series(values, dtype=object).dropna()) if isinstance(v, str)}
    extra = sorted(seen - set(known) - set(last))
    return [k for k in known if k in seen] + extra + [k for k in last if k in seen]


def _ratio(num: int, den: int) -> float:
    return float(num) / float(den) if den else math.nan


def _grid(rows: Any, cols: Any, row_labels: list[str], col_labels: list[str]) -> np.ndarray:
    """Counts of (row, col) label pairs on fixed axes (the labels must cover the values)."""
    ri = pd.Categorical(rows, categories=row_labels).codes.astype(np.int64)
    ci = pd.Categorical(cols, categories=col_labels).codes.astype(np.int64)
    size = len(row_labels) * len(col_labels)
    return np.bincount(ri * len(col_labels) + ci, minlength=size).reshape(len(row_labels), len(col_labels))


def _crosstab(rows: Any, cols: Any, row_labels: list[str], col_labels: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        _grid(rows, cols, row_labels, col_labels),
        index=pd.Index(row_labels, name="expected"),
        columns=pd.Index(col_labels, name="predicted"),
    )


Pairs = tuple[np.ndarray, np.ndarray]  # (source, label) per counted item


def _score_table(support: Pairs, predicted: Pairs, tp: Pairs, label: str, known: tuple[str, ...]) -> pd.DataFrame:
    """Support, predicted, tp, precision and recall per (source, label), then an "all" source.

    Rows appear only for labels with support or predictions in that source.
    """
    sources = _ordered(np.concatenate([support[0], predicted[0]]), SOURCES)
    labels = _ordered(np.concatenate([support[1], predicted[1]]), known)
    grids = {name: _grid(*pairs, sources, labels) for name, pairs in
             (("support", support), ("predicted", predicted), ("tp", tp))}
    keys: list[tuple[str, str]] = []
    picks: list[np.ndarray] = []
    for i, source in enumerate(sources):
        used = np.flatnonzero((grids["support"][i] + grids["predicted"][i]) > 0)
        keys += [(source, labels[j]) for j in used]
        picks.append(np.stack([grids[k][i, used] for k in grids], axis=1))
    totals = np.stack([grids[k].sum(axis=0) for k in grids], axis=1)
    used = np.flatnonzero(totals[:, 0] + totals[:, 1] > 0)
    keys += [(ALL, labels[j]) for j in used]
    picks.append(totals[used])
    data = np.concatenate(picks) if picks else np.zeros((0, 3), dtype=np.int64)
    table = pd.DataFrame(
        data.astype(np.int64),
        index=pd.MultiIndex.from_tuples(keys, names=["source", label]),
        columns=list(grids),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["precision"] = np.where(table["predicted"] > 0, table["tp"] / table["predicted"], np.nan)
        table["recall"] = np.where(table["support"] > 0, table["tp"] / table["support"], np.nan)
    return table


def _expected_long(reasons: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Acceptable reasons as (row, reason) pairs plus each row's first reason (BLANK if none).

    The "|"-joined lists are split on their distinct values only.
    """
    codes, uniques = pd.factorize(reasons, use_na_sentinel=True)
    lists = []
    for value in uniques:
        parts = [p.strip() for p in str(value).split("|")]
        lists.append(list(dict.fromkeys(p for p in parts if p)))
    lengths = np.array([len(x) for x in lists] + [0], dtype=np.int64)  # last slot: missing
    flat = np.array([r for x in lists for r in x] + [BLANK], dtype=object)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_len = lengths[codes]  # code -1 picks the empty last slot
    rows = np.repeat(np.arange(len(codes)), row_len)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(row_len) - row_len, row_len)
    long_reason = flat[starts[codes][rows] + within] if len(rows) else np.empty(0, dtype=object)
    primary = np.where(row_len > 0, flat[np.minimum(starts[codes], len(flat) - 1)], BLANK)
    return rows, long_reason, primary.astype(object)



@dataclass(repr=False)
class Evaluation:
    """An audit scored against the truth: metric dict plus tables for Jupyter.

    ``records`` has one row per truth record (no numbers or names) for drilling
    down; ``fractions`` the (numerator, denominator) behind each rate;
    ``integrity`` the record counts per source.
    """

    metrics: dict[str, Any]
    by_reason: pd.DataFrame
    by_status: pd.DataFrame
    confusion: pd.DataFrame
    reason_confusion: pd.DataFrame
    by_injected: pd.DataFrame
    integrity: pd.DataFrame
    records: pd.DataFrame
    fractions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"Evaluation(records_truth={m['records_truth']}, mislink_recall={_fmt(m['mislink_recall'])}, "
            f"false_alarm_rate={_fmt(m['false_alarm_rate'])}, missing={m['missing']}, "
            f"duplicated={m['duplicated']})"
        )

    def __str__(self) -> str:
        return self.to_text()

    def check(
        self,
        min_recall: float | None = None,
        max_false_alarm: float | None = None,
        max_review_load: float | None = None,
        min_reason_accuracy: float | None = None,
        min_owner_accuracy: float | None = None,
    ) -> list[str]:
        """One plain sentence per missed minimum (or exceeded maximum); [] when all are met.

        Missing and duplicated findings always fail.  A limit whose metric has
        no denominator (NaN) fails too: it cannot be shown to hold.
        """
        limits = {
            "min_recall": min_recall,
            "max_false_alarm": max_false_alarm,
            "max_review_load": max_review_load,
            "min_reason_accuracy": min_reason_accuracy,
            "min_owner_accuracy": min_owner_accuracy,
        }
        validate_limits(limits)
        m = self.metrics
        out: list[str] = []
        if m["missing"]:
            n = m["missing"]
            out.append(f"{_plural(n, 'truth record')} {'has' if n == 1 else 'have'} no finding.")
        if m["duplicated"]:
            n = m["duplicated"]
            out.append(
                f"{_plural(n, 'finding')} {'repeats' if n == 1 else 'repeat'} a (source, record_id) already listed."
            )
        for arg, limit in limits.items():
            if limit is None:
                continue
            key, kind, _ = _LIMITS[arg]
            label, denominator = _METRICS[key]
            value = m[key]
            bound = "minimum" if kind == "min" else "maximum"
            if math.isnan(value):
                out.append(
                    f"{label.capitalize()} cannot be measured (there are no {denominator}), "
                    f"so the {bound} {_fmt(limit)} is not met."
                )
                continue
            if (kind == "min" and value >= limit) or (kind == "max" and value <= limit):
                continue
            v, lim = _fmt_pair(value, limit)
            num, den = self.fractions[key]
            side = "below" if kind == "min" else "above"
            note = " (compared on the last four digits)" if key == "owner_accuracy" and m["owner_compared_on"] == "last4" else ""
            out.append(f"{label.capitalize()} is {v} ({num} of {den} {denominator}), {side} the {bound} {lim}{note}.")
        return out

    def _metric_rows(self) -> pd.DataFrame:
        rows = []
        for key, (label, denominator) in _METRICS.items():
            num, den = self.fractions[key]
            rows.append({"metric": label, "value": self.metrics[key], "of": f"{num}/{den}", "denominator": denominator})
        return pd.DataFrame(rows).set_index("metric")

    def _owner_note(self) -> str:
        if self.metrics["owner_compared_on"] == "last4":
            return "Owner accuracy compares the last four digits only: the suggested numbers are masked."
        return "Owner accuracy compares full My Numbers."

    def to_text(self) -> str:
        """Aligned plain-text report for the console; holds counts and rates, no record contents."""
        m = self.metrics
        lines = [
            f"Evaluation: {m['records_truth']} truth records, {m['records_findings']} findings",
            "",
            "Metrics",
        ]
        width = max(len(label) for label, _ in _METRICS.values())
        fracs = {key: f"{num}/{den}" for key, (num, den) in self.fractions.items()}
        fwidth = max(len(v) for v in fracs.values())
        for key, (label, denominator) in _METRICS.items():
            lines.append(f"  {label:<{width}}  {_fmt(m[key]):>6}  {fracs[key]:>{fwidth}}  of {denominator}")
        lines.append(f"  {self._owner_note()}")
        sections = [
            ("By source and reason", self.by_reason),
            ("Status confusion (rows: expected, columns: predicted)", self.confusion),
            ("By injected label", self.by_injected),
            ("Records (missing: in truth, no finding; duplicated: repeated finding; unexpected: not in truth)",
             self.integrity),
        ]
        for title, table in sections:
            lines += ["", title, _table_text(table)]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        m = self.metrics
        parts = [
            '<div class="linkage-evaluation">',
            f"<h3>Evaluation: {m['records_truth']} truth records, {m['records_findings']} findings</h3>",
            _table_html(self._metric_rows()),
            f"<p>{html.escape(self._owner_note())}</p>",
        ]
        for title, table in (
            ("Records", self.integrity),
            ("By source and status", self.by_status),
            ("By source and reason", self.by_reason),
            ("Status confusion (rows: expected, columns: predicted)", self.confusion),
            ("Reason confusion (rows: first expected reason, columns: predicted)", self.reason_confusion),
            ("By injected label", self.by_injected),
        ):
            parts += [f"<h4>{html.escape(title)}</h4>", _table_html(table)]
        parts.append("</div>")
        return "\n".join(parts)


def _match(truth: pd.DataFrame, findings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair findings with truth rows on (source, record_id).

    Returns, per truth row, the position of its first finding (-1 if none);
    per finding, whether it repeats an earlier one; and whether it is unexpected.
    """
    n = len(truth)
    src = pd.concat([truth["source"], findings["source"]], ignore_index=True).fillna("")
    rid = pd.concat([truth["record_id"], findings["record_id"]], ignore_index=True).fillna("")
    sc, su = pd.factorize(src)
    ic, iu = pd.factorize(rid)
    key = sc.astype(np.int64) * max(len(iu), 1) + ic
    tkey, fkey = pd.Index(key[:n]), pd.Index(key[n:])
    if tkey.has_duplicates:
        raise EvaluationInputError(
            f"truth repeats (source, record_id) in {int(tkey.duplicated().sum())} row(s)"
        )
    dup = fkey.duplicated(keep="first")
    pos = tkey.get_indexer(fkey)
    first = ~dup
    finding_of = np.full(n, -1, dtype=np.int64)
    kept = first & (pos >= 0)
    finding_of[pos[kept]] = np.flatnonzero(kept)
    return finding_of, dup, first & (pos < 0)


def evaluate(truth: TableLike, findings: TableLike) -> Evaluation:
    """Score ``findings`` (an audit's output) against ``truth``; both DataFrames or file paths.

    Raises :class:`EvaluationInputError` when a file is missing or unreadable,
    a required column is absent, or the truth itself is inconsistent.
    """
    t = _prepare_truth(read_table(truth, "truth"))
    f = _prepare_findings(read_table(findings, "findings"))
    finding_of, dup, unexpected = _match(t, f)
    found = finding_of >= 0

    source = _objects(t["source"], BLANK)
    exp = _objects(t["expected_status"], BLANK)
    pred = _take(_objects(f["status"], BLANK), finding_of, MISSING)
    pred_reason = _take(_objects(f["reason"], BLANK), finding_of, MISSING)
    long_row, long_reason, primary = _expected_long(t["expected_reasons"])
    hit = long_reason == pred_reason[long_row]
    reason_match = np.zeros(len(t), dtype=bool)
    reason_match[long_row[hit]] = True
    status_match = exp == pred

    caught = (exp == "mislink") & (pred == "mislink")
    has_owner = t["true_owner"].notna().to_numpy(dtype=bool)
    masked = f["suggested"].str.contains(r"[*＊]", regex=True).fillna(False)
    owner_on = "last4" if bool(masked.any()) else "full"
    compared = np.flatnonzero(caught & has_owner)
    owner = _digits(t["true_owner"].iloc[compared])
    suggested = _digits(f["suggested"].iloc[finding_of[compared]])
    if owner_on == "last4":
        owner, suggested = owner.str[-4:], suggested.str[-4:]
    owner_key, suggested_key = _objects(owner, ""), _objects(suggested, "")
    same = (owner_key == suggested_key) & (owner_key != "")
    owner_match = pd.array(np.full(len(t), pd.NA), dtype="boolean")
    owner_match[compared] = same.astype(bool)

    is_ok, is_mislink = exp == "ok", exp == "mislink"
    fractions = {
        "mislink_recall": (int(caught.sum()), int(is_mislink.sum())),
        "mislink_precision": (int(caught.sum()), int((pred == "mislink").sum())),
        "false_alarm_rate": (int((is_ok & (pred == "mislink")).sum()), int(is_ok.sum())),
        "review_load": (int((is_ok & (pred == "review")).sum()), int(is_ok.sum())),
        "reason_accuracy": (int((caught & reason_match).sum()), int(caught.sum())),
        "owner_accuracy": (int(same.sum()), len(compared)),
        "invalid_recall": (int(((exp == "invalid") & (pred == "invalid")).sum()), int((exp == "invalid").sum())),
        "review_recall": (int(((exp == "review") & (pred == "review")).sum()), int((exp == "review").sum())),
    }
    metrics: dict[str, Any] = {k: _ratio(*v) for k, v in fractions.items()}
    metrics.update(
        records_truth=len(t),
        records_findings=len(f),
        missing=int((~found).sum()),
        duplicated=int(dup.sum()),
        unexpected=int(unexpected.sum()),
        owner_compared_on=owner_on,
    )

    by_status = _score_table(
        (source, exp), (source[found], pred[found]), (source[status_match], exp[status_match]), "status", STATUSES
    )
    by_reason = _score_table(
        (source[long_row], long_reason),
        (source[found], pred_reason[found]),
        (source[long_row[hit]], long_reason[hit]),
        "reason",
        REASONS,
    )
    pred_cols = _ordered(np.concatenate([np.array(STATUSES, dtype=object), pred[found]]), STATUSES, (BLANK,))
    confusion = _crosstab(exp, pred, list(STATUSES), pred_cols + [MISSING])
    reason_confusion = _crosstab(
        primary,
        pred_reason,
        _ordered(primary, REASONS, (BLANK,)),
        _ordered(pred_reason[found], REASONS, (BLANK,)) + [MISSING],
    )

    records = pd.DataFrame(
        {
            "source": t["source"],
            "record_id": t["record_id"],
            "injected": t["injected"],
            "expected_status": t["expected_status"],
            "expected_reasons": t["expected_reasons"],
            "predicted_status": pred,
            "predicted_reason": pred_reason,
            "found": found,
            "status_match": status_match,
            "reason_match": reason_match,
            "has_owner": has_owner,
            "owner_match": owner_match,
        }
    )
    return Evaluation(
        metrics=metrics,
        by_reason=by_reason,
        by_status=by_status,
        confusion=confusion,
        reason_confusion=reason_confusion,
        by_injected=_by_injected(t["injected"], status_match, reason_match),
        integrity=_integrity(source, found, _objects(f["source"], BLANK), dup, unexpected),
        records=records,
        fractions=fractions,
    )


def _by_injected(injected: pd.Series, status_match: np.ndarray, reason_match: np.ndarray) -> pd.DataFrame:
    """Per injected label: count and the shares with the expected status / an acceptable reason."""
    codes, labels = pd.factorize(injected, sort=True)
    count = np.bincount(codes, minlength=len(labels))
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "count": count.astype(np.int64),
                "status_match": np.bincount(codes, weights=status_match, minlength=len(labels)) / count,
                "reason_match": np.bincount(codes, weights=reason_match, minlength=len(labels)) / count,
            },
            index=pd.Index(np.asarray(labels, dtype=object), name="injected"),
        )
    return table


def _integrity(
    source: np.ndarray, found: np.ndarray, fsource: np.ndarray, dup: np.ndarray, unexpected: np.ndarray
) -> pd.DataFrame:
    """Record counts per source: truth, findings rows, missing, duplicated, unexpected."""
    sources = _ordered(np.concatenate([source, fsource]), SOURCES, (BLANK,))
    parts = {
        "truth": source,
        "findings": fsource,
        "missing": source[~found],
        "duplicated": fsource[dup],
        "unexpected": fsource[unexpected],
    }
    table = pd.DataFrame(
        {k: pd.Series(v, dtype=object).value_counts().reindex(sources, fill_value=0) for k, v in parts.items()},
        index=sources,
    )
    table = table.fillna(0).astype("int64")
    table.loc[ALL] = table.sum()
    table.index.name = "source"
    return table



# --------------------------------------------------------------------------- formatting


def _fmt(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _fmt_pair(value: float, limit: float) -> tuple[str, str]:
    """Format a value and its limit so that a difference stays visible."""
    v, lim = f"{value:.3f}", f"{limit:.3f}"
    return (v, lim) if v != lim else (f"{value:.6g}", f"{limit:.6g}")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _table_text(df: pd.DataFrame, indent: str = "  ") -> str:
    if df.empty:
        return indent + "(none)"
    text = df.to_string(float_format=lambda x: f"{x:.3f}", na_rep="-")
    return "\n".join(indent + line for line in text.splitlines())


def _table_html(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p>(none)</p>"
    return df.to_html(float_format=lambda x: f"{x:.3f}", na_rep="-", border=0)


# --------------------------------------------------------------------------- command


def validate_limits(limits: dict[str, float | None]) -> None:
    """Raise :class:`EvaluationInputError` unless every given limit is a number in [0, 1]."""
    for arg, limit in limits.items():
        if limit is None:
            continue
        option = _LIMITS[arg][2]
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0.0 <= float(limit) <= 1.0:
            raise EvaluationInputError(f"{option} must be a number between 0 and 1, got {limit!r}")


def evaluate_command(
    truth: Path,
    findings: Path,
    min_recall: float | None = None,
    max_false_alarm: float | None = None,
    max_review_load: float | None = None,
    min_reason_accuracy: float | None = None,
    min_owner_accuracy: float | None = None,
) -> int:
    """Run ``linkage evaluate``: report on stdout, failed limits on stderr; return the exit code.

    0 every limit met, 3 a limit missed (or findings missing/duplicated),
    2 unusable input (one line on stderr, no traceback).
    """
    limits = {
        "min_recall": min_recall,
        "max_false_alarm": max_false_alarm,
        "max_review_load": max_review_load,
        "min_reason_accuracy": min_reason_accuracy,
        "min_owner_accuracy": min_owner_accuracy,
    }
    try:
        validate_limits(limits)
        result = evaluate(Path(truth), Path(findings))
    except EvaluationInputError as exc:
        print(f"linkage evaluate: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.to_text())
    failures = result.check(**limits)
    for line in failures:
        print(line, file=sys.stderr)
    return 3 if failures else 0
