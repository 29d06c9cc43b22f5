"""``generate_world``: a synthetic register, bank and insurance tables with ground truth."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .bank import build_bank
from .context import Ctx, build_context
from .insurance import COVERAGE, build_insurance, plan_namesakes
from .people import build_households
from .rates import draw_count, resolve_rates
from .render import SEPARATORS, DATE_STYLES, address_text, date_text, join, kana_text, my_number_text, pick, sex_text, zero_pad
from .sources import tables

RESIDENT_COLUMNS = ["my_number", "name", "name_kana", "birth_date", "sex", "address", "household_id", "relationship"]
TRUTH_COLUMNS = ["source", "record_id", "expected_status", "expected_reasons", "true_owner", "injected"]

#: Japanese headers of the bank file (UTF-8 with BOM) and insurance file (CP932).
BANK_HEADERS = {"my_number": "個人番号", "holder_kana": "口座名義カナ", "bank_code": "金融機関コード",
                "branch_code": "支店コード", "account_type": "預金種目", "account_number": "口座番号",
                "record_id": "レコードID"}
INSURANCE_HEADERS = {"my_number": "個人番号", "name": "氏名", "name_kana": "氏名カナ", "birth_date": "生年月日",
                     "sex": "性別", "address": "住所", "insurer_number": "保険者番号", "symbol": "記号",
                     "number": "番号", "record_id": "レコードID"}

# register quirks
REG_NUMBER_STYLE_P = (0.88, 0.05, 0.04, 0.03)   # plain, 1234-5678-9012, spaced, full-width
REG_NAME_SEP_P = (0.5, 0.4, 0.1)                # " ", "　", none
REG_KANA_EMPTY = 0.25
REG_KANA_EMPTY_FOREIGN = 0.8
REG_KANA_STYLE_P = (0.65, 0.20, 0.15)           # katakana, hiragana, half-width
REG_DATE_STYLE_P = dict(iso=0.45, slash=0.20, compact=0.10, kanji=0.15, letter=0.10)
REG_SEX_KANJI = 0.10
REG_ADDRESS_OTHER_NOTATION = 0.02


@dataclass
class World:
    """A generated world: the three input tables and the truth to score an audit against.

    String columns hold the text exactly as :func:`write_world` writes it
    (missing values are ``<NA>``).  ``rates`` are the effective injection rates.
    """

    residents: pd.DataFrame
    bank: pd.DataFrame
    insurance: pd.DataFrame
    truth: pd.DataFrame
    seed: int = 0
    rates: dict[str, float] = field(default_factory=dict)


def _residents(ctx: Ctx, rng: np.random.Generator) -> pd.DataFrame:
    """The register as written: variant glyphs, missing or mixed-script kana, mixed
    date formats, numbers with separators; sets ``ctx.reg_kana_empty``."""
    n = ctx.n
    p = ctx.people
    fam, giv, foreign = p["fam"].to_numpy(), p["giv"].to_numpy(), p["foreign"].to_numpy()
    sep = SEPARATORS[pick(rng, n, REG_NAME_SEP_P)]
    name = join(ctx.fam_reg, sep, ctx.giv_reg)
    name[foreign] = join(ctx.fam_std[foreign], " ", ctx.giv_std[foreign])
    kstyle = pick(rng, n, REG_KANA_STYLE_P)
    ksep = np.where(kstyle == 2, " ", SEPARATORS[pick(rng, n, REG_NAME_SEP_P)]).astype(object)
    kana = (kana_text(ctx.fam_forms, fam, kstyle) + ksep + kana_text(ctx.giv_forms, giv, kstyle)).astype(object)
    fkana = join(ctx.fam_forms.kata[fam], SEPARATORS[pick(rng, n, (0.5, 0.5))], ctx.giv_forms.kata[giv])
    kana[foreign] = fkana[foreign]
    empty = rng.random(n) < np.where(foreign, REG_KANA_EMPTY_FOREIGN, REG_KANA_EMPTY)
    kana[empty] = None
    ctx.reg_kana_empty = empty

    styles = np.array([DATE_STYLES.index(s) for s in REG_DATE_STYLE_P])[pick(rng, n, list(REG_DATE_STYLE_P.values()))]
    h = p["household"].to_numpy()
    hh = ctx.households
    t = ctx.t
    place = t.prefectures[hh["pref"].to_numpy()] + t.cities[hh["city"].to_numpy()] + t.towns[hh["town"].to_numpy()]
    blocks = [hh[c].to_numpy() for c in ("chome", "ban", "go")]
    address = address_text(place, *blocks, np.zeros(len(hh), np.int64))[h]
    other = np.flatnonzero(rng.random(n) < REG_ADDRESS_OTHER_NOTATION)
    address[other] = address_text(place[h[other]], *(b[h[other]] for b in blocks), rng.integers(1, 5, len(other)))
    return pd.DataFrame({
        "my_number": my_number_text(ctx.numbers, pick(rng, n, REG_NUMBER_STYLE_P)),
        "name": name,
        "name_kana": kana,
        "birth_date": date_text(p["birth"].to_numpy(), styles),
        "sex": sex_text(p["sex"].to_numpy(), rng.random(n) < REG_SEX_KANJI),
        "address": address,
        "household_id": zero_pad(np.arange(1, len(hh) + 1), 7, "H")[h],
        "relationship": p["relationship"].to_numpy(),
    }).astype("string")


def generate_world(households: int, seed: int, rates: dict[str, float] | None = None,
                   rate_scale: float = 1.0, part: tuple[int, int] | None = None) -> World:
    """Generate ``households`` households (≈2.3 residents each) and their bank and
    insurance records with injected errors; deterministic for a given ``seed``.

    ``rates`` overrides :data:`DEFAULT_RATES` (keys ``source.kind`` or bare
    ``kind``); ``rate_scale`` multiplies every rate.  With ``rate_scale >= 10``
    every kind is injected at least once where the world has a candidate.

    ``part=(i, k)`` makes the world part ``i`` of ``k`` of a larger one, for
    generating big worlds chunk by chunk (give each part its own seed): its
    My Numbers come from the ``i``-th of ``k`` disjoint ranges, and household
    and record ids carry the part (``H0003…``, ``B0003…``, ``I0003…``), so the
    parts' tables can be written side by side as one world.
    """
    if households < 1:
        raise ValueError("households must be at least 1")
    eff = resolve_rates(rates, rate_scale)
    guarantee = rate_scale >= 10
    number_range = (1, 10**11)
    if part is not None:
        i, k = part
        if not 0 <= i < k:
            raise ValueError(f"part must be (i, k) with 0 <= i < k, not {part!r}")
        span = (10**11 - 1) // k
        number_range = (1 + i * span, 1 + (i + 1) * span)
    rng = np.random.default_rng(seed)
    t = tables()
    hh, people = build_households(households, rng, t, number_range)
    covered = rng.random(len(people)) < COVERAGE
    k_same = draw_count(int(covered.sum()), eff["insurance.same_name_stranger"], rng, guarantee)
    pairs = plan_namesakes(people, covered, k_same, rng, t)
    ctx = build_context(hh, people, rng)
    ctx.number_range = number_range
    residents = _residents(ctx, rng)
    bank, bank_truth = build_bank(ctx, eff, rng, guarantee)
    ins_rates = {k: v for k, v in eff.items() if k != "insurance.same_name_stranger"}
    insurance, ins_truth = build_insurance(ctx, covered, pairs, ins_rates, rng, guarantee)
    truth = pd.concat([bank_truth, ins_truth], ignore_index=True)[TRUTH_COLUMNS]
    if part is not None:
        tag = f"{part[0]:04d}"
        residents["household_id"] = "H" + tag + residents["household_id"].str[1:]
        for table in (bank, insurance, truth):
            table["record_id"] = table["record_id"].str[:1] + tag + table["record_id"].str[1:]
    return World(residents=residents[RESIDENT_COLUMNS], bank=bank, insurance=insurance, truth=truth,
                 seed=seed, rates=eff)


def write_world(world: World, out: Path, fmt: Literal["csv", "parquet"] = "csv") -> dict[str, Path]:
    """Write the world to ``out``; returns name → path.

    csv: ``residents.csv`` (UTF-8, English headers), ``bank.csv`` (UTF-8 with
    BOM, Japanese headers), ``insurance.csv`` (CP932, Japanese headers).
    parquet: the three tables as ``.parquet`` with English headers.
    ``truth.csv`` (UTF-8) either way.  Same world → identical bytes.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if fmt == "csv":
        specs = (("residents", world.residents, None, "utf-8"),
                 ("bank", world.bank, BANK_HEADERS, "utf-8-sig"),
                 ("insurance", world.insurance, INSURANCE_HEADERS, "cp932"))
        for name, df, headers, enc in specs:
            paths[name] = out / f"{name}.csv"
            paths[name].write_bytes(csv_bytes(df.rename(columns=headers) if headers else df, enc))
    elif fmt == "parquet":
        for name in ("residents", "bank", "insurance"):
            paths[name] = out / f"{name}.parquet"
            getattr(world, name).to_parquet(paths[name], index=False)
    else:
        raise ValueError(f"unknown format {fmt!r}: use 'csv' or 'parquet'")
    paths["truth"] = out / "truth.csv"
    paths["truth"].write_bytes(csv_bytes(world.truth, "utf-8"))
    return paths


_NEEDS_QUOTES = (",", '"', "\n", "\r")


def _csv_field(values: list[str]) -> list[str]:
    joined = "\x00".join(values)
    if not any(ch in joined for ch in _NEEDS_QUOTES):
        return values
    return ['"' + v.replace('"', '""') + '"' if any(ch in v for ch in _NEEDS_QUOTES) else v for v in values]


def csv_bytes(df: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    """``df`` as RFC 4180 CSV (minimal quoting, ``\\n`` line ends, missing → empty) encoded in
    ``encoding``: the bytes of ``DataFrame.to_csv(index=False, lineterminator="\\n")``, several
    times faster, except that a field holding a bare ``\\r`` is quoted too."""
    columns = []
    for name in df.columns:
        col = df[name]
        values = col.to_numpy(dtype=object, na_value="").tolist()
        if not (pd.api.types.is_string_dtype(col.dtype) and all(isinstance(v, str) for v in values[:1000])):
            values = [v if isinstance(v, str) else str(v) for v in values]
        columns.append(_csv_field(values))
    lines = [",".join(_csv_field([str(c) for c in df.columns]))]
    lines += map(",".join, zip(*columns))
    return ("\n".join(lines) + "\n").encode(encoding)
