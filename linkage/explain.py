"""Decide the verdict and cause of every record, and say it in plain words.

The rules run in a fixed order; the first that applies wins:

1. ``INVALID_MY_NUMBER`` / ``BAD_RECORD`` — the record cannot be judged;
2. ``UNKNOWN_MY_NUMBER`` — a well-formed number not in the register;
3. ``OTHER_PERSON`` — the account holder is a company (ｶ) / (ｶ …);
4. ``OK`` — the record fits its card holder (spelling variants allowed);
5. ``HOUSEHOLD_MEMBER`` — it fits another member of the holder's household;
6. ``FORMER_NAME`` — given name (and birth data) agree, family name differs;
7. ``OTHER_PERSON`` with an owner — one resident fits clearly better;
8. ``SEX_MISMATCH`` / ``BIRTHDATE_MISMATCH`` — one field off, nobody fits better;
9. ``OTHER_PERSON`` without owner — several residents fit equally;
10. ``SHARED_ACCOUNT`` — one account on several people's cards, unexplained;
11. ``OK`` (unverified) — nothing contradicts the holder, but the name could
    not be fully compared (no kana, no known reading);
12. ``OTHER_PERSON`` without owner — it does not fit the holder, nobody fits.

Rules 7, 9 and 10 apply only when something in the record contradicts the
card holder (or, for 7, the other resident has the account on their own
card): a namesake elsewhere in the register is no reason to doubt a link.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compare import AGREE, CLOSE, DISAGREE, UNKNOWN

STATUS = {
    "OK": "ok",
    "FORMER_NAME": "review",
    "BIRTHDATE_MISMATCH": "review",
    "SEX_MISMATCH": "review",
    "HOUSEHOLD_MEMBER": "mislink",
    "OTHER_PERSON": "mislink",
    "SHARED_ACCOUNT": "mislink",
    "UNKNOWN_MY_NUMBER": "mislink",
    "INVALID_MY_NUMBER": "invalid",
    "BAD_RECORD": "invalid",
}
#: Severity order for sorting findings (most urgent first).
SEVERITY = {"mislink": 0, "invalid": 1, "review": 2, "ok": 3}

#: A candidate must beat the card holder by this many bits to be "clearly better".
MARGIN = 4.0
#: Candidates within this many bits of the best count as a tie.
TIE = 1.0
#: Bonus (bits) for a candidate who has the same account on their own card.
OWN_ACCOUNT_BONUS = 8.0


@dataclass
class Best:
    """The best-fitting alternative resident for each record (−1: none)."""

    pos: np.ndarray
    weight: np.ndarray
    ties: np.ndarray  # how many fitting residents are within TIE bits of the best
    own: np.ndarray  # the best has the record's account on their own card
    fam: np.ndarray
    giv: np.ndarray
    birth: np.ndarray
    sex: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Best":
        z = np.zeros(n)
        u = np.full(n, UNKNOWN, dtype=np.int8)
        return cls(np.full(n, -1, dtype=np.int64), np.full(n, -np.inf), z.astype(np.int64),
                   z.astype(bool), u, u.copy(), u.copy(), u.copy())


def fits(fam: np.ndarray, giv: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Whole name agrees, and birth date and sex agree or are not available."""
    return ((fam == AGREE) & (giv == AGREE) & np.isin(birth, (AGREE, UNKNOWN))
            & np.isin(sex, (AGREE, UNKNOWN)))


def best_alternative(n: int, xi: np.ndarray, ri: np.ndarray, feats: pd.DataFrame,
                     weights: np.ndarray, own: np.ndarray) -> Best:
    """Pick, per record, the fitting resident with the highest weight."""
    best = Best.empty(n)
    if len(xi) == 0:
        return best
    f = fits(feats["fam"].to_numpy(), feats["giv"].to_numpy(), feats["birth"].to_numpy(), feats["sex"].to_numpy())
    if not f.any():
        return best
    w = weights + np.where(own, OWN_ACCOUNT_BONUS, 0.0)
    df = pd.DataFrame({"x": xi[f], "r": ri[f], "w": w[f], "own": own[f], "k": np.flatnonzero(f)})
    df = df.sort_values(["x", "w", "r"], ascending=[True, False, True], kind="mergesort")
    top = df.drop_duplicates("x")
    df = df.merge(top[["x", "w"]].rename(columns={"w": "best"}), on="x")
    ties = df[df["w"] >= df["best"] - TIE].groupby("x").size()
    x = top["x"].to_numpy()
    k = top["k"].to_numpy()
    best.pos[x] = top["r"].to_numpy()
    best.weight[x] = top["w"].to_numpy()
    best.own[x] = top["own"].to_numpy()
    best.ties[x] = ties.reindex(x).to_numpy()
    for col in ("fam", "giv", "birth", "sex"):
        getattr(best, col)[x] = feats[col].to_numpy()[k]
    return best


def decide(
    *,
    source: np.ndarray,
    number_reason: np.ndarray,
    bad_field: np.ndarray,
    holder: np.ndarray,
    corporate: np.ndarray,
    shared: np.ndarray,
    hf: pd.DataFrame,
    hw: np.ndarray,
    member: Best,
    cand: Best,
) -> pd.DataFrame:
    """Vectorised verdicts: reason code, owner position and a detail tag."""
    n = len(source)
    fam, giv, birth, sex = (hf[c].to_numpy() for c in ("fam", "giv", "birth", "sex"))
    has_holder = holder >= 0
    bank = source == "bank"
    name_ok = np.isin(fam, (AGREE, CLOSE)) & np.isin(giv, (AGREE, CLOSE))
    holder_fits = has_holder & name_ok & np.isin(birth, (AGREE, UNKNOWN)) & np.isin(sex, (AGREE, UNKNOWN))
    # Something in the record speaks against the card holder.  Without that, a
    # namesake elsewhere in the register is no reason to doubt the link.
    contradicted = has_holder & ((fam == DISAGREE) | (giv == DISAGREE) | np.isin(birth, (DISAGREE, CLOSE))
                                 | (sex == DISAGREE))
    unverified = has_holder & ~contradicted & ~holder_fits
    clear_member = (member.pos >= 0) & (member.weight > hw + MARGIN)
    unique_cand = (cand.pos >= 0) & (cand.ties == 1)
    clear_cand = unique_cand & (cand.weight > hw + MARGIN) & (contradicted | cand.own | ~has_holder)
    # Insurance: family name off, birth date exact.  Bank (no birth date): family name off.
    former = has_holder & (giv == AGREE) & (
        (np.isin(fam, (DISAGREE, CLOSE)) & (birth == AGREE)) | (bank & (fam == DISAGREE)))
    former &= np.isin(sex, (AGREE, UNKNOWN))
    # A bank account under another name that a resident owns on their own card
    # is that resident's, not the card holder's former name.
    former &= ~(clear_cand & cand.own)
    sex_mismatch = has_holder & name_ok & (birth == AGREE) & (sex == DISAGREE)
    birth_near = has_holder & name_ok & (birth == CLOSE) & np.isin(sex, (AGREE, UNKNOWN))
    ambiguous = (cand.pos >= 0) & (cand.ties > 1) & contradicted

    conditions = [
        number_reason != None,  # noqa: E711 - object array of str/None
        bad_field != None,  # noqa: E711
        ~has_holder,
        corporate,
        holder_fits,
        clear_member,
        former,
        clear_cand,
        sex_mismatch,
        birth_near,
        ambiguous,
        bank & (shared > 1) & contradicted,
        unverified,
    ]
    reasons = [
        "INVALID_MY_NUMBER", "BAD_RECORD", "UNKNOWN_MY_NUMBER", "OTHER_PERSON", "OK",
        "HOUSEHOLD_MEMBER", "FORMER_NAME", "OTHER_PERSON", "SEX_MISMATCH", "BIRTHDATE_MISMATCH",
        "OTHER_PERSON", "SHARED_ACCOUNT", "OK",
    ]
    details = [
        "invalid_number", "bad_field", "unknown_number", "corporate", "fits",
        "member", "former", "candidate", "sex", "birth", "ambiguous", "shared", "unverified",
    ]
    idx = np.select(conditions, list(range(len(conditions))), default=len(conditions))
    reason = np.array(reasons + ["OTHER_PERSON"], dtype=object)[idx]
    detail = np.array(details + ["nobody"], dtype=object)[idx]

    owner = np.full(n, -1, dtype=np.int64)
    use_member = detail == "member"
    owner[use_member] = member.pos[use_member]
    use_cand = np.isin(detail, ("candidate", "invalid_number", "unknown_number")) & unique_cand
    owner[use_cand] = cand.pos[use_cand]
    keep_holder = np.isin(detail, ("fits", "former", "sex", "birth", "unverified"))
    owner[keep_holder] = holder[keep_holder]
    # An invalid or unknown number with several equally fitting residents: nobody.
    return pd.DataFrame({"reason": reason, "detail": detail, "owner": owner})
