"""Fellegi–Sunter match weights: how strongly the evidence says a link is right.

* u-probabilities (chance agreement) come from random pairs of *different*
  register residents, compared exactly as links are.
* m-probabilities (agreement of true matches) are fitted by EM on the links
  themselves: almost all links are right, so the links are a good start and a
  few iterations separate out the wrong ones.
* A level that could not be compared (``unknown``) carries no weight.

The score of a link is the posterior probability that it is right.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .compare import FEATURES, UNKNOWN, pair_features

N_LEVELS = 3  # agree/exact, close/near, disagree/different (UNKNOWN = 3 carries no weight)

#: Prior m-probabilities (agree, close, disagree) used as Dirichlet pseudo-counts.
M_PRIOR = {
    "fam": (0.93, 0.03, 0.04),
    "giv": (0.96, 0.02, 0.02),
    "birth": (0.97, 0.02, 0.01),
    "sex": (0.99, 0.0, 0.01),
    "addr": (0.80, 0.10, 0.10),
}
PSEUDO = 20.0


@dataclass
class Model:
    """Per-field level probabilities and the prior share of true links."""

    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    prior: float = 0.95
    iterations: int = 0
    history: list[float] = field(default_factory=list)

    def weight_table(self) -> pd.DataFrame:
        """m, u and the weight log2(m/u) for every field and level."""
        rows = []
        names = ("agree", "close", "disagree")
        for f in FEATURES:
            for lvl in range(N_LEVELS):
                m, u = self.m[f][lvl], self.u[f][lvl]
                rows.append({"field": f, "level": names[lvl], "m": m, "u": u, "weight": np.log2(m / u)})
        return pd.DataFrame(rows)

    def field_weights(self, features: pd.DataFrame) -> pd.DataFrame:
        """Weight of each field for each pair (0 where the level is unknown)."""
        out = {}
        for f in FEATURES:
            codes = features[f].to_numpy()
            w = np.log2(self.m[f] / self.u[f])
            w = np.append(w, 0.0)  # UNKNOWN
            out[f] = w[np.minimum(codes, UNKNOWN)]
        return pd.DataFrame(out, index=features.index)

    def weights(self, features: pd.DataFrame) -> np.ndarray:
        """Total match weight (bits) of each pair: the field weights added up
        in :data:`FEATURES` order."""
        total = np.zeros(len(features))
        for f in FEATURES:
            w = np.append(np.log2(self.m[f] / self.u[f]), 0.0)  # UNKNOWN
            total = total + w[np.minimum(features[f].to_numpy(), UNKNOWN)]
        return total

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        """Posterior probability that each pair is a true match."""
        return _posterior(self.weights(features), self.prior)


def _posterior(weights: np.ndarray, prior: float) -> np.ndarray:
    logit = weights + np.log2(prior / (1 - prior))
    return 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))


def _frequencies(codes: np.ndarray, weights: np.ndarray | None, prior: tuple[float, ...] | None) -> np.ndarray:
    known = codes < UNKNOWN
    w = np.ones(len(codes)) if weights is None else weights
    counts = np.bincount(codes[known], weights=w[known], minlength=N_LEVELS)[:N_LEVELS].astype(float)
    if prior is not None:
        counts += PSEUDO * np.asarray(prior)
    counts += 0.5  # never zero
    return counts / counts.sum()


#: Fields that members of one household share.  Most wrong links point at a
#: household member (a parent's account on a child's card), so their
#: u-probabilities mix random register pairs with pairs inside households.
HOUSEHOLD_FIELDS = ("fam", "addr")
HOUSEHOLD_SHARE = 0.5


def estimate_u(residents: pd.DataFrame, n_pairs: int = 100_000, seed: int = 0) -> dict[str, np.ndarray]:
    """u-probabilities from random pairs of different residents; for family
    name and address, half from pairs within households (see
    :data:`HOUSEHOLD_FIELDS`)."""
    n = len(residents)
    rng = np.random.default_rng(seed)
    if n < 2:
        return {f: np.array([0.01, 0.04, 0.95]) for f in FEATURES}
    k = min(n_pairs, n * (n - 1))
    a = rng.integers(0, n, k)
    b = rng.integers(0, n - 1, k)
    b = np.where(b >= a, b + 1, b)  # never the same resident
    feats = pair_features(residents, residents, a, b, detail=False)
    u = {f: _frequencies(feats[f].to_numpy(), None, None) for f in FEATURES}
    u["sex"][1] = max(u["sex"][1], 1e-3)
    ha, hb = _household_pairs(residents, min(n_pairs, 20_000), rng)
    if len(ha):
        inside = pair_features(residents, residents, ha, hb, detail=False)
        for f in HOUSEHOLD_FIELDS:
            u[f] = (1 - HOUSEHOLD_SHARE) * u[f] + HOUSEHOLD_SHARE * _frequencies(inside[f].to_numpy(), None, None)
    return u


def _household_pairs(residents: pd.DataFrame, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``k`` random pairs of different members of one household."""
    hh = pd.factorize(residents["household"])[0]  # households as integers (-1: none)
    df = pd.DataFrame({"h": hh, "i": np.arange(len(residents))})
    df = df[hh >= 0]
    size = df.groupby("h")["i"].transform("size")
    df = df[size >= 2]
    if df.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    a = df.sample(n=min(k, len(df)), random_state=int(rng.integers(2**31)), replace=len(df) < k)
    partners = df.merge(a[["h"]].drop_duplicates(), on="h")
    pairs = a.merge(partners, on="h", suffixes=("", "_b"))
    pairs = pairs[pairs["i"] != pairs["i_b"]].drop_duplicates("i")
    return pairs["i"].to_numpy(np.int64), pairs["i_b"].to_numpy(np.int64)


def fit(features: pd.DataFrame, u: dict[str, np.ndarray], prior: float = 0.95,
        iterations: int = 8, counts: np.ndarray | None = None) -> Model:
    """Fit m-probabilities and the prior by EM on the links' features.

    EM runs on agreement patterns: the distinct rows of ``features[FEATURES]``,
    sorted, with how many links show each.  ``counts`` says how many links each
    row of ``features`` stands for (default one), so pattern counts made piece
    by piece (one table per partition of a distributed audit) and passed
    concatenated give exactly the model the links themselves give.
    """
    m = {f: np.asarray(M_PRIOR[f], dtype=float) + 1e-3 for f in FEATURES}
    m = {f: v / v.sum() for f, v in m.items()}
    model = Model(m=m, u=u, prior=prior)
    if len(features) == 0:
        return model
    cols = list(FEATURES)
    n = np.ones(len(features)) if counts is None else np.asarray(counts, dtype=float)
    table = (pd.DataFrame({f: features[f].to_numpy(dtype=np.int64) for f in cols}).assign(_n=n)
             .groupby(cols, sort=True)["_n"].sum())
    table = table[table > 0]
    if table.empty:
        return model
    patterns = table.index.to_frame(index=False)
    weight = table.to_numpy(dtype=float)
    total = float(weight.sum())
    codes = {f: patterns[f].to_numpy() for f in cols}
    for it in range(iterations):
        p = model.probability(patterns)
        new_prior = float(np.clip(np.dot(p, weight) / total, 0.5, 0.9999))
        model.m = {f: _frequencies(codes[f], p * weight, M_PRIOR[f]) for f in cols}
        model.iterations = it + 1
        model.history.append(new_prior)
        converged = abs(new_prior - model.prior) < 1e-5
        model.prior = new_prior
        if converged:
            break
    return model
