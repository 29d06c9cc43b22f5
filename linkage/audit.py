"""The audit executor: read → validate → normalise → join → compare → score → explain.

Pure functions on DataFrames do the work; this module only sequences them,
times each stage and assembles the findings table of the contract.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import explain, join, readings, score, validate
from .compare import FEATURES, UNKNOWN, pair_features
from .evidence import Writer
from .normalize import number as _number
from .normalize import tables

FINDINGS_COLUMNS = ["source", "record_id", "my_number", "status", "reason", "score", "evidence",
                    "suggested_my_number"]
REASONS = list(explain.STATUS)
STATUSES = ["ok", "review", "mislink", "invalid"]


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
    frames = []
    if bank is not None:
        frames.append(tables.prepare_bank(bank).assign(source="bank"))
    if insurance is not None:
        frames.append(tables.prepare_insurance(insurance).assign(source="insurance"))
    if not frames:
        raise ValueError("nothing to audit: give bank and/or insurance records")
    records = pd.concat(frames, ignore_index=True, sort=False)
    return records


def run(residents: pd.DataFrame, bank: pd.DataFrame | None, insurance: pd.DataFrame | None,
        options: Options | None = None, progress: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, Context]:
    """Audit already-read tables; return the findings and the context."""
    opts = options or Options()
    timer = Timer(progress)

    with timer.stage("normalise"):
        res = tables.prepare_residents(residents).reset_index(drop=True)
        rec = _records(bank, insurance)
        rec = validate.mark_duplicate_ids(rec)
    with timer.stage("validate"):
        number_reason = validate.number_problems(rec)
        bad_field = validate.record_problems(rec)
        register_dups = validate.duplicate_numbers(res)
    with timer.stage("readings"):
        ins = rec[rec["source"] == "insurance"]
        res = readings.split_by_household(res)
        res = readings.fill_readings(res, ins)
        lexicon = readings.build_lexicon(res, ins)
    with timer.stage("join"):
        holder = join.holder_positions(rec, res)
        holder = np.where(number_reason == None, holder, -1)  # noqa: E711
        shared = join.shared_accounts(rec).to_numpy()
    with timer.stage("compare"):
        has = np.flatnonzero(holder >= 0)
        hf_part = pair_features(rec, res, has, holder[has], lexicon)
        hf = _full(hf_part, has, len(rec))
    with timer.stage("score"):
        u = score.estimate_u(res, n_pairs=opts.u_pairs, seed=opts.seed)
        source = rec["source"].to_numpy(dtype=object)
        models: dict[str, score.Model] = {}
        hw = np.zeros(len(rec))
        hp = np.zeros(len(rec))
        for src in ("bank", "insurance"):
            sel = (source == src) & (holder >= 0)
            models[src] = score.fit(hf[sel], u)
            if sel.any():
                hw[sel] = models[src].weights(hf[sel])
                hp[sel] = models[src].probability(hf[sel])
    with timer.stage("search"):
        prelim = explain.fits(*(hf[c].to_numpy() for c in ("fam", "giv", "birth", "sex")))
        need = np.flatnonzero(~prelim | (holder < 0))
        need = need[bad_field[need] == None]  # noqa: E711
        member = _alternatives(rec, res, need[holder[need] >= 0], holder, lexicon, models, source, "member")
        cand = _alternatives(rec, res, need, holder, lexicon, models, source, "candidate")
    with timer.stage("explain"):
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
        findings["evidence"] = _note_register_duplicates(findings["evidence"], holder, register_dups, opts.lang)
    ctx = Context(res, rec, holder, hf, hw, models, decisions, lexicon, timer.times,
                  {"residents": len(res), "records": len(rec)},
                  {"rows": len(res), "invalid_numbers": int(res["number"].isna().sum()),
                   "duplicate_numbers": len(register_dups),
                   "duplicate_rows_first_100": register_dups["row"].head(100).tolist()})
    return findings, ctx


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
    feats = pair_features(rec, res, px, pr, lexicon)
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
    writer = Writer(rec, res, mask, lang=opts.lang, redact=opts.redact_names)
    feats = {c: hf[c].to_numpy() for c in FEATURES}
    reading = _reading_source(rec, res, holder, hf)
    evidence = np.empty(len(rec), dtype=object)

    # OK records (nearly all of them) are worded by pattern, not one by one.
    ok = np.flatnonzero(detail == "fits")
    if len(ok):
        pattern = pd.DataFrame({"source": rec["source"].to_numpy(dtype=object)[ok],
                                "fam": feats["fam"][ok], "giv": feats["giv"][ok], "addr": feats["addr"][ok],
                                "reading": pd.Series(reading[ok], dtype=object).fillna("")})
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pattern))
        first = pd.Series(np.arange(len(ok))).groupby(codes).first().to_numpy()
        words = np.array([writer.ok_sentence(int(ok[i]), "fits", {c: int(feats[c][ok[i]]) for c in FEATURES},
                                             {"reading": reading[ok[i]]}) for i in first], dtype=object)
        evidence[ok] = words[codes]

    member_own = decisions["member_own"].to_numpy()
    cand_own = decisions["cand_own"].to_numpy()
    ties = decisions["ties"].to_numpy()
    rec_birth = rec["birth"].to_numpy()
    rec_sex = rec["sex"].to_numpy(dtype="float64", na_value=np.nan)
    for x in np.flatnonzero(detail != "fits"):
        f = {c: int(feats[c][x]) for c in FEATURES}
        extra: dict[str, Any] = {
            "number_reason": number_reason[x], "bad_field": bad_field[x], "shared": shared[x],
            "own": member_own[x] if detail[x] == "member" else cand_own[x], "ties": ties[x],
            "rec_birth": rec_birth[x], "rec_sex": None if np.isnan(rec_sex[x]) else int(rec_sex[x]),
            "reading": reading[x],
        }
        evidence[x] = writer.sentence(x, reason[x], detail[x], int(holder[x]), int(owner[x]), f, extra)

    numbers = res["number"].to_numpy(dtype=object, na_value=None)
    suggested = np.full(len(rec), None, dtype=object)
    has_owner = owner >= 0
    suggested[has_owner] = numbers[owner[has_owner]]
    raw_number = rec["my_number"]
    shown = _number.mask(raw_number) if not opts.unmask else raw_number.astype("string").str.strip()
    status = pd.Series(reason).map(explain.STATUS).to_numpy()
    out = pd.DataFrame({
        "source": rec["source"].astype("string"),
        "record_id": rec["record_id"].astype("string"),
        "my_number": shown.astype("string"),
        "status": pd.Categorical(status, categories=STATUSES),
        "reason": pd.Categorical(reason, categories=REASONS),
        "score": decisions["score"].round(4).to_numpy(),
        "evidence": pd.array(evidence, dtype="string"),
        "suggested_my_number": pd.array(suggested, dtype="string"),
    })
    if not opts.unmask:
        out["suggested_my_number"] = _number.mask(out["suggested_my_number"]).astype("string")
    return out


def _reading_source(rec: pd.DataFrame, res: pd.DataFrame, holder: np.ndarray, hf: pd.DataFrame) -> np.ndarray:
    """Where the holder's reading came from when a bank name matched it without register kana."""
    out = np.full(len(rec), None, dtype=object)
    src = res["kana_source"].to_numpy(dtype=object, na_value=None)
    ok = holder >= 0
    out[ok] = src[holder[ok]]
    lex = (hf["fam_reading"].to_numpy() == 0) | (hf["giv_reading"].to_numpy() == 0)
    out[lex] = "lexicon"
    out[out == "register"] = None
    return out
