"""Name, address and variant-glyph tables the generator draws from.

Japanese names and addresses come from gimei's bundled YAML (kanji, hiragana
and katakana triples, so a person's kanji and kana always agree); foreign
names from the small curated ``data/foreign_names.tsv``; variant glyphs from
the project's fold table ``linkage/normalize/data/variants.tsv``, read in
reverse (standard → variants) at run time.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DATA = Path(__file__).with_name("data")
_VARIANTS = Path(__file__).resolve().parent.parent / "normalize" / "data" / "variants.tsv"


@dataclass(frozen=True)
class NameTable:
    """Parallel arrays describing one pool of name parts.

    ``kanji`` holds the written form (alphabet for foreign names), ``hira``
    and ``kata`` the readings (``hira`` is empty for foreign names), ``sex``
    1/2 for given names (0 for family names), ``nat`` the nationality index
    (-1 for Japanese names).
    """

    kanji: np.ndarray
    hira: np.ndarray
    kata: np.ndarray
    sex: np.ndarray
    nat: np.ndarray

    def __len__(self) -> int:
        return len(self.kanji)


@dataclass(frozen=True)
class Tables:
    """Everything drawn from: family and given name pools (Japanese first,
    then foreign), the number of Japanese entries in each, nationalities,
    and address parts."""

    family: NameTable
    given: NameTable
    n_jp_family: int
    n_jp_given: int
    nationalities: tuple[str, ...]
    nat_weights: np.ndarray
    prefectures: np.ndarray
    cities: np.ndarray
    towns: np.ndarray


def _gimei_file(name: str) -> str:
    return resources.files("gimei").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def gimei_names() -> dict:
    """gimei's ``names.yml`` parsed once (first_name.male/female, last_name)."""
    return yaml.load(_gimei_file("names.yml"), Loader=_LOADER)


@lru_cache(maxsize=1)
def gimei_addresses() -> dict:
    """gimei's ``addresses.yml`` parsed once (prefecture, city, town)."""
    return yaml.load(_gimei_file("addresses.yml"), Loader=_LOADER)["addresses"]


#: Nationalities of the foreign-name table with their share of foreign residents.
NATIONALITY_WEIGHTS: dict[str, float] = {
    "VN": 0.30, "PH": 0.20, "BR": 0.15, "KR": 0.13, "NP": 0.12, "US": 0.10,
}


@lru_cache(maxsize=1)
def foreign_names() -> list[dict[str, str]]:
    """Rows of ``foreign_names.tsv``: nationality, part (family|given), sex, name, kana."""
    with open(_DATA / "foreign_names.tsv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _table(rows: list[tuple[str, str, str, int, int]]) -> NameTable:
    cols = list(zip(*rows)) if rows else [(), (), (), (), ()]
    return NameTable(
        kanji=np.array(cols[0], dtype=object),
        hira=np.array(cols[1], dtype=object),
        kata=np.array(cols[2], dtype=object),
        sex=np.array(cols[3], dtype=np.int8),
        nat=np.array(cols[4], dtype=np.int16),
    )


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The name and address pools, built once per process."""
    names = gimei_names()
    nats = tuple(NATIONALITY_WEIGHTS)
    fam = [(k, h, t, 0, -1) for k, h, t in names["last_name"]]
    giv = [(k, h, t, 1, -1) for k, h, t in names["first_name"]["male"]]
    giv += [(k, h, t, 2, -1) for k, h, t in names["first_name"]["female"]]
    n_fam, n_giv = len(fam), len(giv)
    for row in foreign_names():
        nat = nats.index(row["nationality"])
        if row["part"] == "family":
            fam.append((row["name"], "", row["kana"], 0, nat))
        else:
            giv.append((row["name"], "", row["kana"], 1 if row["sex"] == "M" else 2, nat))
    addr = gimei_addresses()
    weights = np.array([NATIONALITY_WEIGHTS[n] for n in nats])
    return Tables(
        family=_table(fam), given=_table(giv), n_jp_family=n_fam, n_jp_given=n_giv,
        nationalities=nats, nat_weights=weights / weights.sum(),
        prefectures=np.array([p[0] for p in addr["prefecture"]], dtype=object),
        cities=np.array([c[0] for c in addr["city"]], dtype=object),
        towns=np.array([t[0] for t in addr["town"]], dtype=object),
    )


def encodable(text: str, encoding: str = "cp932") -> bool:
    """True when ``text`` can be stored in ``encoding``."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def variant_map(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """standard character → its variant glyphs, from the fold table read in reverse.

    Read at call time (the table is curated separately).  Only single
    characters are kept, and only standards that CP932 can store (the
    insurer writes the standard form).  A missing table gives ``{}``.
    """
    path = path or _VARIANTS
    if not path.exists():
        return {}
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            var, std = (row.get("variant") or "").strip(), (row.get("standard") or "").strip()
            if len(var) == 1 and len(std) == 1 and var != std and encodable(std):
                out.setdefault(std, [])
                if var not in out[std]:
                    out[std].append(var)
    return {k: tuple(v) for k, v in out.items()}


def fold_map(path: Path | None = None) -> dict[str, str]:
    """variant → standard (the fold table as written), for tests and CP932 fallbacks."""
    return {v: s for s, vs in variant_map(path).items() for v in vs}


def zipf_weights(n: int, s: float) -> np.ndarray:
    """Probabilities ∝ 1/rank**s over ``n`` ranked items (a heavy head)."""
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** s
    return w / w.sum()
