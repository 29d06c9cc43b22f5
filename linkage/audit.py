"""The audit executor: read → validate → normalise → join → compare → score → explain.

Pure functions on DataFrames do the work; this module only sequences them,
times each stage and assembles the findings table of the contract.  After
validation, each source's records (bank, insurance) go through join → explain
on their own: on a big input with a second core, the bank records in a forked
process (:func:`linkage.background.side_by_side`) while the insurance records
are audited here.  The findings are the same either way.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import explain, join, readings, score, validate
from .compare import FEATURES, UNKNOWN, pair_features
from .background import Handoff, can_fork, in_threads, memory_to_spare, side_by_side, spare_cores
from .evidence import Writer, masked_numbers
from .normalize import tables

FINDINGS_COLUMNS = ["source", "record_id", "my_number", "status", "reason", "score", "evidence",
                    "suggested_my_number"]
REASONS = list(explain.STATUS)
STATUSES = ["ok", "review", "mislink", "invalid"]
SOURCES = ("bank", "insurance")


@dataclass
class Options:
    """How an audit runs and what it shows."""

    unmask: bool = False
    lang: str = "en"
    redact_names: bool = False
    seed: int = 0
    u_pairs: int = 50_000


@dataclass
class Context:
    """Everything the stages computed, for drill-down (``AuditResult.explain``)."""

    residents: pd.DataFrame
    records: pd.DataFrame
    holder: np.ndarray
    holder_features: pd.DataFrame
    holder_weights: np.ndarray
    models: dict[str, score.Model]
    decisions: pd.DataFrame
    lexicon: readings.Lexicon | None = None
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    register: dict[str, object] = field(default_factory=dict)  # register problems, by row number only


class Timer:
    """Wall time per stage, in insertion order."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        self.times: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - start


def _records(bank: pd.DataFrame | None, insurance: pd.DataFrame | None) -> pd.DataFrame:
    """Prepared bank and insurance rows as one records table, with ``source``."""
    frames = [t.assign(source=src) for src, t in (("bank", bank), ("insurance", insurance)) if t is not None]
    return pd.concat(frames, ignore_index=True, sort=False)  # run() has checked there is one


def run(residents: pd.DataFrame, bank: pd.DataFrame | None, insurance: pd.DataFrame | None,
        options: Options | None = None, progress: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, Context]:
    """Audit already-read tables; return the findings and the context."""
    opts = options or Options()
    timer = Timer(progress)

    with timer.stage("normalise"):
        # A name, date, address or number on the register and on its records is normalised once.
        if bank is None and insurance is None:
            raise ValueError("nothing to audit: give bank and/or insurance records")
        prepared = tables.prepare_tables(residents, bank, insurance)
        res = prepared["residents"].reset_index(drop=True)
        rec = _records(prepared.get("bank"), prepared.get("insurance"))
    with timer.stage("validate"):
        # Validation and the register's kana readings are independent and mostly Arrow work
        # (no GIL): they run side by side, and this stage's time covers both.
        checked = in_threads({"validate": partial(_validate, rec, res), "readings": partial(_readings, rec, res)},
                             _pair())
        rec, number_reason, bad_field, register_dups = checked["validate"]
        res, lexicon = checked["readings"]
    # From here on each source's records are audited on their own (their own m-probabilities,
    # alternatives and words), side by side in two processes when that pays.  The register's
    # u-probabilities (needed by both, at their score stage) are estimated first thing by the
    # first source's job and handed to the other mid-way: in a second process they are then
    # off the audit process's path.
    handoff = Handoff(partial(score.estimate_u, res, n_pairs=opts.u_pairs, seed=opts.seed))
    spans = _spans({src: len(prepared[src]) for src in SOURCES if src in prepared})
    fork = _fork_sources(len(rec))
    first, last = list(spans)[0], list(spans)[-1]  # the last is audited here when the other goes to a second process
    jobs = {src: partial(_audit_source, src, _rows(rec, a, b), res, lexicon, handoff, number_reason[a:b], bad_field[a:b],
                         register_dups, opts, progress if src == last or not fork else None, gives_u=src == first)
            for src, (a, b) in spans.items()}
    parts = side_by_side(jobs, fork=fork, what="auditing the {} records")
    u = handoff.take()
    both = max if fork else sum  # side by side, a stage takes as long as the longer source
    for name in ("join", "compare", "score", "search", "explain"):
        timer.times[name] = both(p.timings[name] for p in parts.values())
    part = list(parts.values())
    findings = pd.concat([p.findings for p in part], ignore_index=True)
    holder = np.concatenate([p.holder for p in part])
    hf = pd.concat([p.hf for p in part], ignore_index=True)
    hw = np.concatenate([p.hw for p in part])
    decisions = pd.concat([p.decisions for p in part], ignore_index=True)
    models = {src: parts[src].model if src in parts else score.fit(hf.iloc[:0], u) for src in SOURCES}
    ctx = Context(res, rec, holder, hf, hw, models, decisions, lexicon, timer.times,
                  {"residents": len(res), "records": len(rec)},
                  {"rows": len(res), "invalid_numbers": int(res["number"].isna().sum()),
                   "duplicate_numbers": len(register_dups),
                   "duplicate_rows_first_100": register_dups["row"].head(100).tolist()})
    return findings, ctx


#: From this many records the two sources are audited in two processes (Linux, a second core).
SPLIT_MIN_RECORDS = 100_000
#: Memory the second process may add, as a share of this process's resident memory.
SPLIT_MEMORY_SHARE = 0.5


def _fork_sources(records: int) -> bool:
    """Whether the second source is audited in a forked process meanwhile."""
    return (records >= SPLIT_MIN_RECORDS and can_fork() and spare_cores() >= 1
            and memory_to_spare(SPLIT_MEMORY_SHARE))


def _spans(sizes: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Where each source's records are in the records table (one block each, in ``sizes``' order)."""
    out, start = {}, 0
    for src, n in sizes.items():
        out[src] = (start, start + n)
        start += n
    return out


def _rows(df: pd.DataFrame, a: int, b: int) -> pd.DataFrame:
    """Rows ``a:b`` numbered from 0, without copying the columns."""
    return df.iloc[a:b].set_axis(pd.RangeIndex(b - a), copy=False)


@dataclass
class Part:
    """What the record stages give for one source's records."""

    findings: pd.DataFrame
    holder: np.ndarray
    hf: pd.DataFrame
    hw: np.ndarray
    decisions: pd.DataFrame
    model: score.Model
    timings: dict[str, float]


def _audit_source(source: str, rec: pd.DataFrame, res: pd.DataFrame, lexicon: readings.Lexicon,
                  u: Handoff, number_reason: np.ndarray, bad_field: np.ndarray,
                  register_dups: pd.DataFrame, opts: Options, progress: Callable[[str], None] | None = None,
                  gives_u: bool = False) -> Part:
    """Join, compare, score, search and explain the records of one source (``rec``).

    ``u`` hands over the register's u-probabilities: made here first thing when
    ``gives_u`` (timed with "score"), else taken at the score stage."""
    timer = Timer(progress)
    if gives_u:
        started = time.perf_counter()
        u.give()
        timer.times["score"] = time.perf_counter() - started
    with timer.stage("join"):
        holder = join.holder_positions(rec, res)
        holder = np.where(number_reason == None, holder, -1)  # noqa: E711
        shared = join.shared_accounts(rec).to_numpy()
    with timer.stage("compare"):
        has = np.flatnonzero(holder >= 0)
        hf = _full(pair_features(rec, res, has, holder[has], lexicon), has, len(rec))
    with timer.stage("score"):
        sources = np.full(len(rec), source, dtype=object)
        models = {source: score.fit(hf[holder >= 0], u.take())}
        hw, hp = weigh(hf, holder, sources, models)
    with timer.stage("search"):
        need = needs_search(hf, holder, bad_field)
        found = in_threads({kind: partial(_alternatives, rec, res, xi, holder, lexicon, models, sources, kind)
                            for kind, xi in (("member", need[holder[need] >= 0]), ("candidate", need))},
                           _pair())
    with timer.stage("explain"):
        findings, decisions = judge(rec, res, holder, hf, hw, hp, found["member"], found["candidate"], number_reason,
                                    bad_field, shared, register_dups, opts)
    return Part(findings, holder, hf, hw, decisions, models[source], timer.times)


def _pair() -> int:
    """Threads for two independent stages run side by side (one where there is no second core)."""
    return min(2, spare_cores() + 1)


def _validate(rec: pd.DataFrame, res: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """The records with repeated ids marked, why each record's number is unusable,
    its unreadable field, and register numbers on several rows."""
    rec = validate.mark_duplicate_ids(rec)
    return rec, validate.number_problems(rec), validate.record_problems(rec), validate.duplicate_numbers(res)


def _readings(rec: pd.DataFrame, res: pd.DataFrame) -> tuple[pd.DataFrame, readings.Lexicon]:
    """The register with split names and filled kana readings, and the reading lexicon."""
    at = np.flatnonzero(rec["source"].to_numpy() == "insurance")
    if len(at) and at[-1] - at[0] + 1 == len(at):  # one block (as _records builds it): a view, not a copy
        ins = rec[readings.INSURANCE_COLUMNS].iloc[at[0]:at[-1] + 1]
    else:
        ins = rec[readings.INSURANCE_COLUMNS].take(at)
    res = readings.split_by_household(res)
    res = readings.fill_readings(res, ins)
    return res, readings.build_lexicon(res, ins)


def weigh(hf: pd.DataFrame, holder: np.ndarray, source: np.ndarray,
          models: dict[str, score.Model]) -> tuple[np.ndarray, np.ndarray]:
    """Match weight and posterior of each record's card-holder link (0 without a holder)."""
    hw = np.zeros(len(hf))
    hp = np.zeros(len(hf))
    for src, model in models.items():
        sel = (source == src) & (holder >= 0)
        if sel.any():
            hw[sel] = model.weights(hf[sel])
            hp[sel] = model.probability(hf[sel])
    return hw, hp


def needs_search(hf: pd.DataFrame, holder: np.ndarray, bad_field: np.ndarray) -> np.ndarray:
    """Positions of the records the owner search looks at: those that can be judged
    but do not plainly fit their card holder (or have none)."""
    prelim = explain.fits(*(hf[c].to_numpy() for c in ("fam", "giv", "birth", "sex")))
    need = np.flatnonzero(~prelim | (holder < 0))
    return need[bad_field[need] == None]  # noqa: E711


def judge(rec: pd.DataFrame, res: pd.DataFrame, holder: np.ndarray, hf: pd.DataFrame, hw: np.ndarray,
          hp: np.ndarray, member: explain.Best, cand: explain.Best, number_reason: np.ndarray,
          bad_field: np.ndarray, shared: np.ndarray, register_dups: pd.DataFrame, opts: Options,
          register_holder: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts, scores and findings of records ``rec`` (the explain stage).

    ``holder`` and the alternatives' positions index ``res``; ``register_holder``
    (default ``holder``) gives the holders' positions in the whole register,
    where ``register_dups`` counts, when ``res`` holds only some residents.
    """
    source = rec["source"].to_numpy(dtype=object)
    decisions = explain.decide(
        source=source, number_reason=number_reason, bad_field=bad_field, holder=holder,
        corporate=rec["corporate"].to_numpy(dtype=bool), shared=shared, hf=hf, hw=hw,
        member=member, cand=cand,
    )
    decisions["score"] = _scores(decisions, holder, hp, hw, member, cand)
    decisions["member_own"] = member.own
    decisions["cand_own"] = cand.own
    decisions["ties"] = cand.ties
    findings = _findings(rec, res, decisions, hf, holder, number_reason, bad_field, shared, opts)
    findings["evidence"] = _note_register_duplicates(
        findings["evidence"], holder if register_holder is None else register_holder, register_dups, opts.lang)
    return findings, decisions


def _note_register_duplicates(evidence: pd.Series, holder: np.ndarray, dups: pd.DataFrame, lang: str) -> pd.Series:
    """Say so where the card holder's number is on several register rows (the first is used)."""
    if dups.empty:
        return evidence
    rows_of = {int(p): [int(g["first_row"].iat[0]), *map(int, g["row"])] for p, g in dups.groupby("first_position")}
    out = evidence.copy()
    for x in np.flatnonzero(np.isin(holder, list(rows_of))):
        rows = ", ".join(map(str, rows_of[int(holder[x])]))
        out.iat[x] += (f"; note: the register has this number on rows {rows}, the first is used" if lang == "en"
                       else f"。注: 住民登録の{rows}行目に同じ番号があり、最初の行を使用")
    return out


def _scores(decisions: pd.DataFrame, holder: np.ndarray, hp: np.ndarray, hw: np.ndarray,
            member: explain.Best, cand: explain.Best) -> np.ndarray:
    """The probability that each link is right.

    The card-holder link's Fellegi–Sunter posterior; where another resident
    fits better, the odds of the holder against that resident instead
    (``1 / (1 + 2^(w_other − w_holder))``): a parent's account on a child's
    card shares the surname, but the parent explains it far better.  Zero
    where the number is invalid or not in the register, or the account
    belongs to a company.
    """
    detail = decisions["detail"].to_numpy(dtype=object)
    score = np.where((holder >= 0) & (detail != "corporate"), hp, 0.0)
    for tag, best in (("member", member), ("candidate", cand)):
        sel = (detail == tag) & (holder >= 0)
        if sel.any():
            against = 1.0 / (1.0 + np.exp2(np.clip(best.weight[sel] - hw[sel], -60, 60)))
            score[sel] = np.minimum(score[sel], against)
    return score


def _full(part: pd.DataFrame, pos: np.ndarray, n: int) -> pd.DataFrame:
    """Spread features computed for ``pos`` rows over all ``n`` records (UNKNOWN elsewhere)."""
    out = {}
    for col in part.columns:
        arr = np.full(n, UNKNOWN, dtype=np.int8)
        arr[pos] = part[col].to_numpy()
        out[col] = arr
    return pd.DataFrame(out)


def _alternatives(rec: pd.DataFrame, res: pd.DataFrame, xi: np.ndarray, holder: np.ndarray,
                  lexicon: readings.Lexicon, models: dict[str, score.Model], source: np.ndarray,
                  kind: str) -> explain.Best:
    """Best fitting household member or register candidate for records ``xi``."""
    n = len(rec)
    if len(xi) == 0:
        return explain.Best.empty(n)
    if kind == "member":
        px, pr = join.household_pairs(xi, holder[xi], res)
    else:
        px, pr = join.candidate_pairs(rec, res, xi, lexicon.pairs)
        keep = pr != holder[px]  # the card holder is not an alternative to themself
        px, pr = px[keep], pr[keep]
    if len(px) == 0:
        return explain.Best.empty(n)
    feats = pair_features(rec, res, px, pr, lexicon, detail=False)
    w = np.zeros(len(px))
    for src, model in models.items():
        sel = source[px] == src
        if sel.any():
            w[sel] = model.weights(feats[sel])
    own = join.own_account(rec, res, px, pr)
    return explain.best_alternative(n, px, pr, feats, w, own)


def _findings(rec: pd.DataFrame, res: pd.DataFrame, decisions: pd.DataFrame, hf: pd.DataFrame,
              holder: np.ndarray, number_reason: np.ndarray, bad_field: np.ndarray, shared: np.ndarray,
              opts: Options) -> pd.DataFrame:
    mask: Callable[[str], str] = (lambda s: s) if opts.unmask else (lambda s: "********" + s[-4:])
    reason = decisions["reason"].to_numpy(dtype=object)
    detail = decisions["detail"].to_numpy(dtype=object)
    owner = decisions["owner"].to_numpy()
    feats = {c: hf[c].to_numpy() for c in FEATURES}
    reading = _reading_source(rec, res, holder, hf)
    evidence = np.empty(len(rec), dtype=object)
    ok = detail == "fits"
    rest = np.flatnonzero(~ok)
    named = np.concatenate([holder[rest], owner[rest]])
    writer = Writer(rec, res, mask, lang=opts.lang, redact=opts.redact_names, record_rows=rest,
                    resident_rows=pd.unique(named[named >= 0]))

    # OK records (nearly all of them) are worded by pattern, not one by one.
    ok = np.flatnonzero(ok)
    evidence[ok] = writer.ok_sentences(ok, feats, reading)

    # The other records one by one, from plain lists (no NumPy scalar per value).
    own = np.where(detail == "member", decisions["member_own"].to_numpy(), decisions["cand_own"].to_numpy())
    rec_birth = rec["birth"].to_numpy().take(rest)
    rec_sex = rec["sex"].to_numpy(dtype="float64", na_value=np.nan).take(rest)
    rest_sex = [None if np.isnan(s) else int(s) for s in rec_sex.tolist()]
    columns = zip(rest.tolist(), reason[rest].tolist(), detail[rest].tolist(), holder[rest].tolist(),
                  owner[rest].tolist(), number_reason[rest].tolist(), bad_field[rest].tolist(), shared[rest].tolist(),
                  own[rest].tolist(), decisions["ties"].to_numpy()[rest].tolist(), reading[rest].tolist(), rest_sex,
                  zip(*(feats[c][rest].tolist() for c in FEATURES)))
    words = []
    for k, (x, why, what, h, o, number_why, bad, n_shared, owns, n_ties, read, sex, f) in enumerate(columns):
        extra: dict[str, Any] = {"number_reason": number_why, "bad_field": bad, "shared": n_shared, "own": owns,
                                 "ties": n_ties, "rec_birth": rec_birth[k], "rec_sex": sex, "reading": read}
        words.append(writer.sentence(x, why, what, h, o, dict(zip(FEATURES, f)), extra))
    evidence[rest] = np.array(words, dtype=object) if words else evidence[rest]

    has_owner = owner >= 0
    suggested = np.full(len(rec), None, dtype=object)
    if opts.unmask:
        shown = rec["my_number"].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
        suggested[has_owner] = res["number"].to_numpy(dtype=object, na_value=None)[owner[has_owner]]
    else:
        shown = masked_numbers(rec["my_number"], rec["number"] if "number" in rec.columns else None)
        suggested[has_owner] = masked_numbers(res["number"], res["number"])[owner[has_owner]]
    cat = pd.Categorical(reason, categories=REASONS)
    status = np.array([explain.STATUS[r] for r in REASONS], dtype=object)[cat.codes]
    return pd.DataFrame({
        "source": rec["source"].astype("string"),
        "record_id": rec["record_id"].astype("string"),
        "my_number": pd.array(shown, dtype="string"),
        "status": pd.Categorical(status, categories=STATUSES),
        "reason": cat,
        "score": decisions["score"].round(4).to_numpy(),
        "evidence": pd.array(evidence, dtype="string"),
        "suggested_my_number": pd.array(suggested, dtype="string"),
    }, index=rec.index)


def _reading_source(rec: pd.DataFrame, res: pd.DataFrame, holder: np.ndarray, hf: pd.DataFrame) -> np.ndarray:
    """Where the holder's reading came from when a bank name matched it without register kana."""
    codes, sources = pd.factorize(res["kana_source"])
    labels = np.array([*(None if v == "register" else v for v in sources), None, "lexicon"], dtype=object)
    none, lexicon = len(sources), len(sources) + 1
    code = np.full(len(rec), none, dtype=np.int64)
    ok = holder >= 0
    code[ok] = np.where(codes == -1, none, codes)[holder[ok]]
    code[(hf["fam_reading"].to_numpy() == 0) | (hf["giv_reading"].to_numpy() == 0)] = lexicon
    return labels[code]