"""The dask engine: the audit's stages on a distributed cluster.

Every difference between the pandas and the dask engine lives in this module.
The stages are the same functions (``linkage.normalize.tables``,
``validate``, ``readings``, ``join``, ``compare``, ``score``, ``explain`` and
the executor's ``weigh``/``needs_search``/``judge``/``_alternatives``); what
changes is how the data reaches them:

* per-row stages (normalise, validate, compare, weigh, judge) run on each
  partition of rows; the household stages (readings.split_by_household,
  fill_readings) on partitions of whole households: those in one partition
  stay there, the few spanning two are gathered into one more;
* register-wide answers are reductions whose small results are computed once
  and handed to every partition: duplicate record ids and register numbers,
  shared accounts, the readings lexicon, pattern counts for EM, the
  u-probability sample;
* where a stage needs rows from elsewhere, the partition gets exactly the rows
  that can change its answer ("ghost rows") and the same function runs on
  partition + ghosts: the first earlier row of a duplicated record id, the
  other numbers of a shared account;
* the two large joins are dask merges (records with their card holder by
  number, residents with insurance readings by name and birth date); the owner
  search runs in chunks of the few records that need it, each with the
  residents fetched for it (holders, households, candidates by key).

Results equal the pandas engine's exactly: same functions on the same values
and dtypes (strings travel as Arrow strings and are turned back into the
pandas engine's dtypes before any stage sees them), positions are global
(register row and record row numbers), EM runs on the same pattern counts,
and the findings come back in input order.  ``import linkage`` does not import
dask: this module is imported only when ``engine="dask"`` is asked for.
"""
from __future__ import annotations

import contextlib
import glob
import importlib
import logging
import operator
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import explain, join, readings, score, validate
from .compare import FEATURES, pair_features
from .errors import InputError
from .normalize import tables
from .read import read_table

_audit = importlib.import_module("linkage.audit")  # the module: ``linkage.audit`` the attribute is the function

#: A LocalCluster started for one audit: workers, threads per worker, memory per worker.
LOCAL_WORKERS = 2
LOCAL_THREADS = 1
LOCAL_MEMORY_LIMIT = "4GiB"
#: Rows per partition when a table arrives in bigger pieces (one CSV file, a DataFrame).
CHUNK_ROWS = 100_000
#: Records per owner-search task (at least; whole record partitions are grouped).
SEARCH_CHUNK = 20_000
#: Comparison keys of the prepared tables: needed to compare, not to word a finding.
KEY_COLUMNS = ("name_key", "fam_key", "giv_key", "fam_near", "giv_near", "kana_key", "fam_kana",
               "giv_kana", "kana_loose", "fam_loose", "giv_loose", "addr_key", "fam_ph", "giv_ph")
#: Raw input columns kept after normalising (the rest are replaced by keys).
KEEP_RESIDENT_INPUT = ("name", "name_kana", "relationship", "sex", "_row")
KEEP_RECORD_INPUT = ("record_id", "my_number", "holder_kana", "name", "name_kana", "sex", "number", "_row")
#: Columns of the insurance readings that fill register kana (readings.fill_readings).
READING_COLUMNS = ("kana_key", "fam_kana", "giv_kana", "kana_loose")
ARROW_STRING = pd.StringDtype("pyarrow")
_FIRST_SHIFT = 40  # lexicon first-occurrence key: (frame * 2 + part) << 40 | position


# ============================================================ public entry
def run(residents: Any, bank: Any, insurance: Any, options: _audit.Options | None = None,
        scheduler: str | None = None, progress: Callable[[str], None] | None = None,
        ) -> tuple[pd.DataFrame, _audit.Context, dict[str, int]]:
    """Audit the tables (paths or DataFrames) on a dask cluster.

    ``scheduler`` is the address of a running cluster; without it a
    ``LocalCluster`` of :data:`LOCAL_WORKERS` workers (:data:`LOCAL_MEMORY_LIMIT`
    each) is started and closed afterwards.  Returns the findings, the context
    (drill-down limited, see :class:`Unavailable`) and the rows read per input.
    """
    import dask

    opts = options or _audit.Options()
    with _client(scheduler) as client, dask.config.set({"dataframe.convert-string": False,
                                                        "dataframe.shuffle.method": "p2p"}):
        return _Run(client, opts, progress).audit(residents, bank, insurance)


@contextlib.contextmanager
def _client(scheduler: str | None) -> Iterator[Any]:
    """A distributed Client: to ``scheduler``, or to a LocalCluster started here."""
    from distributed import Client, LocalCluster

    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.shuffle")]
    levels = [q.level for q in quiet]
    for q in quiet:  # p2p shuffles log at WARNING; keep the command line's stderr to itself
        q.setLevel(logging.ERROR)
    cluster = None
    try:
        if scheduler is None:
            with warnings.catch_warnings():  # e.g. "port 8787 is already in use": not the user's concern
                warnings.simplefilter("ignore")
                cluster = LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=LOCAL_THREADS, processes=True,
                                       memory_limit=LOCAL_MEMORY_LIMIT, dashboard_address=":0",
                                       silence_logs=logging.CRITICAL)  # a failed task is reported once, here
            client = Client(cluster, set_as_default=False)
        else:
            try:
                client = Client(scheduler, set_as_default=False)
            except (OSError, ValueError) as err:  # refused, timed out, malformed address
                raise ClusterError(f"cannot connect to the dask scheduler at {scheduler} ({err})") from None
        try:
            with client.as_current():
                yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        for q, level in zip(quiet, levels):
            q.setLevel(level)


class ClusterError(RuntimeError):
    """The dask cluster cannot be reached or used (one line, no personal data)."""


class Unavailable:
    """Stands for a part of the audit context that stays on the cluster:
    using it raises a clear error instead of giving wrong data."""

    def __init__(self, what: str) -> None:
        self._what = what

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{self._what} is not kept by the dask engine, so record drill-down (AuditResult.explain) is not "
            "available: audit with engine='pandas' to drill down")

    __getattr__ = __getitem__ = __len__ = __iter__ = __array__ = _fail


# ======================================================= packing (Arrow strings)
def _pack(df: pd.DataFrame) -> pd.DataFrame:
    """Strings (Python-backed or object) as Arrow strings: several times smaller,
    and safe through p2p shuffles.  :func:`_unpack` restores the dtypes."""
    out = {}
    for c in df.columns:
        s = df[c]
        if s.dtype == object or (isinstance(s.dtype, pd.StringDtype) and s.dtype != ARROW_STRING):
            if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
                try:
                    s = s.astype(ARROW_STRING)
                except Exception:  # noqa: BLE001 - e.g. unpaired surrogates: keep as they are
                    pass
        out[c] = s
    return pd.DataFrame(out, index=df.index)


def _unpack(df: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """The pandas engine's dtypes back (``dtypes``: column -> dtype); object
    columns get ``None`` for missing values, as the stages make them."""
    out = {}
    for c in df.columns:
        s = df[c]
        want = dtypes.get(c)
        if want is not None and s.dtype != want:
            if want == object:
                s = pd.Series(s.to_numpy(dtype=object, na_value=None), index=s.index, dtype=object)
            elif want == bool:
                s = s.astype("boolean").fillna(False).astype(bool)
            else:
                s = s.astype(want)
        out[c] = s
    return pd.DataFrame(out, index=df.index, columns=df.columns)


def _packed_dtype(dtype: Any) -> Any:
    """The dtype :func:`_pack` gives a column of ``dtype``."""
    return ARROW_STRING if dtype == object or isinstance(dtype, pd.StringDtype) else dtype


def _conform(df: pd.DataFrame, columns: Sequence[str], dtypes: dict[str, Any]) -> pd.DataFrame:
    """``columns`` in order, absent ones all missing in their ``dtypes`` (as
    concatenating bank and insurance records makes them)."""
    out = {}
    for c in columns:
        if c in df.columns:
            out[c] = df[c]
        elif dtypes[c] == bool:
            out[c] = pd.Series(False, index=df.index)
        elif isinstance(dtypes[c], np.dtype) and dtypes[c].kind in "iu":
            out[c] = pd.Series(-1, index=df.index, dtype=dtypes[c])
        else:
            out[c] = pd.Series(index=df.index, dtype=dtypes[c])
    return pd.DataFrame(out, index=df.index)


def _dtypes(df: pd.DataFrame) -> dict[str, Any]:
    return {c: df[c].dtype for c in df.columns}


# ============================================================ partition tasks
def _read(piece: Any, kind: str) -> pd.DataFrame:
    """One input piece (a file path, or an already read DataFrame chunk)."""
    return read_table(piece, kind) if isinstance(piece, str) else piece


def _prepare_residents(raw: pd.DataFrame, start: int, stop: int, row_offset: int, pos0: int,
                       pack: bool = True) -> pd.DataFrame:
    df = raw.iloc[start:stop]
    if row_offset:
        df = df.assign(_row=df["_row"] + row_offset)
    out = tables.prepare_residents(df)
    out.index = pd.RangeIndex(pos0, pos0 + len(out))
    out = out.drop(columns=[c for c in df.columns if c not in KEEP_RESIDENT_INPUT] + ["number_reason"])
    return _pack(out) if pack else out


def _prepare_records(raw: pd.DataFrame, start: int, stop: int, row_offset: int, x0: int, source: str,
                     pack: bool = True) -> pd.DataFrame:
    df = raw.iloc[start:stop]
    if row_offset:
        df = df.assign(_row=df["_row"] + row_offset)
    prepare = tables.prepare_bank if source == "bank" else tables.prepare_insurance
    out = prepare(df).assign(source=source)
    out.index = pd.RangeIndex(x0, x0 + len(out))
    out = out.drop(columns=[c for c in df.columns if c not in KEEP_RECORD_INPUT and c != "birth_date"])
    return _pack(out) if pack else out


def _record_schema(bank: pd.DataFrame | None, insurance: pd.DataFrame | None, today: pd.Timestamp,
                   ) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Columns and dtypes of the records as the pandas engine concatenates them
    (``union``), and of the validated, narrowed records (``checked``)."""
    heads = [h for h in (bank, insurance) if h is not None]
    both = pd.concat(heads, ignore_index=True, sort=False)  # as audit._records concatenates them
    columns, union = list(both.columns), _dtypes(both)
    checked = _validate_records(both, columns, union, _no_ghosts(), today, pack=False)
    return columns, union, _dtypes(checked)


def _no_ghosts() -> pd.DataFrame:
    return pd.DataFrame({"_x": pd.Series(dtype=np.int64), "source": pd.Series(dtype=object),
                         "record_id": pd.Series(dtype="string"), "_row": pd.Series(dtype=np.int64)})


def _validate_records(part: pd.DataFrame, columns: list[str], union: dict[str, Any], ghosts: pd.DataFrame,
                      today: pd.Timestamp, pack: bool = True) -> pd.DataFrame:
    """Duplicate ids, number and field problems of prepared records; then the
    raw columns are dropped.  ``ghosts``: the first row of every record id that
    repeats, so that a repeat in a later partition is still marked."""
    packed = part
    part = _conform(_unpack(part, union), columns, union)
    start = part.index[0] if len(part) else 0
    g = ghosts[ghosts["_x"] < start]
    cols = ["source", "record_id", "_row"]
    marked = validate.mark_duplicate_ids(pd.concat([g[cols], part[cols]], ignore_index=True)).iloc[len(g):]
    part = part.copy()
    part["record_id"] = marked["record_id"].array
    part["_duplicate_of"] = marked["_duplicate_of"].to_numpy(dtype=object)
    part["_number_reason"] = validate.number_problems(part)
    part["_bad_field"] = validate.record_problems(part, today=today)
    part["_x"] = part.index.to_numpy(dtype=np.int64)
    drop = [c for c in ("birth_date", "number_reason", "sex_reason", "_duplicate_of") if c in part.columns]
    if not pack:
        return part.drop(columns=drop)
    # Columns the checks did not change go out as they came (already packed).
    out = _conform(packed, columns, {c: _packed_dtype(t) for c, t in union.items()})
    for c in ("record_id", "_number_reason", "_bad_field", "_x"):
        out[c] = part[c]
    return _pack(out.drop(columns=[c for c in drop if c in out.columns]))


def _hash(values: pd.Series) -> pd.Series:
    """64-bit hashes of the present values: cheap to count over the whole table.
    Equal values hash equal, so a count of hashes is never below the count of
    values; the few values whose hash repeats are then checked exactly."""
    values = values.dropna()
    return pd.Series(pd.util.hash_pandas_object(values.astype(object), index=False).to_numpy(), dtype=np.uint64)


def _id_keys(part: pd.DataFrame) -> pd.Series:
    """``source␟record_id`` of each row (missing without an id), as mark_duplicate_ids compares them."""
    rid = part["record_id"].astype("string").str.strip()
    return part["source"].astype("string") + "\x1f" + rid


def _id_hashes(part: pd.DataFrame) -> pd.Series:
    return _hash(_id_keys(part))


def _rows_with_ids(part: pd.DataFrame, hashes: np.ndarray) -> pd.DataFrame:
    k = _id_keys(part)
    h = pd.util.hash_pandas_object(k.astype(object), index=False).to_numpy()
    sel = k.notna().to_numpy(dtype=bool) & np.isin(h, hashes)
    return pd.DataFrame({"_x": part.index.to_numpy(dtype=np.int64)[sel], "key": k[sel].to_numpy(dtype=object),
                         "source": part["source"].to_numpy(dtype=object)[sel],
                         "record_id": part["record_id"][sel].astype("string").array,
                         "_row": part["_row"].to_numpy(dtype=np.int64)[sel]})


def _insurance_readings(part: pd.DataFrame) -> pd.DataFrame:
    """Insurance rows whose kana can fill a register reading (readings.fill_readings)."""
    ins = part[(part["source"] == "insurance").to_numpy(dtype=bool)]
    ok = ins["kana_key"].notna() & ins["name_key"].notna() & ins["birth"].notna()
    out = ins.loc[ok, ["name_key", "birth", *READING_COLUMNS]].assign(_x=ins.index[ok.to_numpy()])
    return out.drop_duplicates(["name_key", "birth", "kana_key"])


def _agreeing_first(part: pd.DataFrame) -> pd.DataFrame:
    """Per name and birth date: the first insurance row, where all agree on the kana."""
    part = part.sort_values("_x", kind="stable")
    agree = part.groupby(["name_key", "birth"])["kana_key"].transform("nunique") == 1
    return part[agree.to_numpy(dtype=bool)].drop_duplicates(["name_key", "birth"])


def _residents_needing_kana(part: pd.DataFrame) -> pd.DataFrame:
    need = part["kana_key"].isna() & part["name_key"].notna() & part["birth"].notna()
    return part.loc[need, ["name_key", "birth"]].assign(_pos=part.index[need.to_numpy()])


def _household_hashes(part: pd.DataFrame) -> pd.Series:
    return _hash(pd.Series(part["household"].dropna().unique()))


def _in_households(part: pd.DataFrame, hashes: np.ndarray) -> np.ndarray:
    h = pd.util.hash_pandas_object(part["household"].astype(object), index=False).to_numpy()
    return part["household"].notna().to_numpy(dtype=bool) & np.isin(h, hashes)


def _rows_in_households(part: pd.DataFrame, hashes: np.ndarray) -> pd.DataFrame:
    return part[_in_households(part, hashes)]


def _household_stage(part: pd.DataFrame, res_dtypes: dict[str, Any], ins_dtypes: dict[str, Any],
                     elsewhere: np.ndarray | None = None) -> pd.DataFrame:
    """readings.split_by_household and fill_readings on whole households; the
    insurance readings found for this partition's residents come along as
    ``_f_*`` columns.  Rows of households in ``elsewhere`` (hashes: households
    that span partitions) are left out; they are done together in one more."""
    if elsewhere is not None and len(elsewhere):
        part = part[~_in_households(part, elsewhere)]
    part = part.sort_index()
    f_cols = [f"_f_{c}" for c in READING_COLUMNS]
    found = part[f_cols]
    res = _unpack(part.drop(columns=f_cols), res_dtypes)
    sel = found["_f_kana_key"].notna().to_numpy(dtype=bool)
    ins = pd.DataFrame({"name_key": res["name_key"][sel], "birth": res["birth"][sel],
                        **{c: found[f"_f_{c}"][sel] for c in READING_COLUMNS}})
    ins = _unpack(ins, ins_dtypes).reset_index(drop=True)
    res = readings.split_by_household(res)
    res = readings.fill_readings(res, ins)
    return _pack(res)


def _holder_side(part: pd.DataFrame, later_duplicates: np.ndarray) -> pd.DataFrame:
    """Residents that can be a card holder (a valid number, its first row), prefixed ``h_``."""
    keep = part["number"].notna().to_numpy(dtype=bool) & ~np.isin(part.index.to_numpy(), later_duplicates)
    h = part[keep].drop(columns=["_row"]).add_prefix("h_")
    h["h_pos"] = part.index.to_numpy(dtype=np.int64)[keep]
    return h.reset_index(drop=True)


def _holder_stage(part: pd.DataFrame, lexicon: readings.Lexicon, rec_dtypes: dict[str, Any],
                  res_dtypes: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Compare each record with its card holder.  Returns the records for the
    verdicts (keys dropped), the records the owner search needs, and the
    agreement-pattern counts for EM."""
    part = part.sort_values("_x", kind="stable").reset_index(drop=True)
    # Only what the comparison reads is turned back into the pandas engine's dtypes.
    compared = [c for c in (*KEY_COLUMNS, "latin", "birth", "sex") if c in rec_dtypes]
    rec = _unpack(part[[*compared, "_number_reason", "_bad_field"]], rec_dtypes)
    h_cols = [f"h_{c}" for c in res_dtypes if c != "_row"]
    hres = _unpack(part[[f"h_{c}" for c in compared]].rename(columns=lambda c: c[2:]), res_dtypes)
    n = len(part)
    number_reason = rec["_number_reason"].to_numpy(dtype=object)
    hpos = part["h_pos"].to_numpy(dtype=float, na_value=np.nan)
    holder = np.where(~np.isnan(hpos) & (number_reason == None), hpos, -1).astype(np.int64)  # noqa: E711
    has = np.flatnonzero(holder >= 0)
    hf = _audit._full(pair_features(rec, hres, has, has, lexicon), has, n)
    need = _audit.needs_search(hf, holder, rec["_bad_field"].to_numpy(dtype=object))
    source = part["source"].to_numpy(dtype=object)
    patterns = []
    for src in _audit.SOURCES:
        sel = (source == src) & (holder >= 0)
        if sel.any():
            counts = hf.loc[sel, list(FEATURES)].value_counts(sort=False).rename("n").reset_index()
            patterns.append(counts.assign(source=src))
    patterns_df = pd.concat(patterns, ignore_index=True) if patterns else pd.DataFrame()
    keep_rec = [c for c in rec_dtypes if c not in KEY_COLUMNS]
    keep_res = [c for c in h_cols if c[2:] not in KEY_COLUMNS]
    slim = pd.concat([part[keep_rec], part[keep_res], hf.add_prefix("f_")], axis=1)
    slim["_holder"] = holder
    wanted = part.iloc[need][list(rec_dtypes)].assign(_holder=holder[need], h_household=part["h_household"].iloc[need])
    return _pack(slim), _pack(wanted), patterns_df


def _need_keys(need: pd.DataFrame) -> pd.DataFrame:
    return need[["_x", "name_key", "kana_key", "kana_loose", "fam_kana", "giv_kana"]]


def candidates_of(records: pd.DataFrame, residents: pd.DataFrame, lexicon_pairs: pd.DataFrame) -> pd.DataFrame:
    """(x, r): every resident join.candidate_pairs pairs with each record, before
    its cap on candidates per record (the cap needs whole-register counts).

    The same keys as join.candidate_pairs; the reading join runs from the
    residents' side (their kanji name spelled in the kana the lexicon knows),
    which gives the same pairs without spelling every record's kana once per
    partition of the register."""
    xi = np.arange(len(records))
    found = [join._merge_on(records, residents, xi, [c]) for c in ("name_key", "kana_key", "kana_loose")]
    if len(lexicon_pairs):
        fam = lexicon_pairs[lexicon_pairs["part"] == "fam"].rename(columns={"kanji": "fam_key", "kana": "fam_kana"})
        giv = lexicon_pairs[lexicon_pairs["part"] == "giv"].rename(columns={"kanji": "giv_key", "kana": "giv_kana"})
        res = residents[["fam_key", "giv_key"]].assign(r=np.arange(len(residents))).dropna()
        res = res.astype({"fam_key": object, "giv_key": object})
        spelled = (res.merge(fam[["fam_key", "fam_kana"]], on="fam_key")
                   .merge(giv[["giv_key", "giv_kana"]], on="giv_key")[["r", "fam_kana", "giv_kana"]])
        rec = records[["fam_kana", "giv_kana"]].assign(x=xi).dropna().astype({"fam_kana": object, "giv_kana": object})
        found.append(rec.merge(spelled, on=["fam_kana", "giv_kana"])[["x", "r"]])
    return pd.concat(found, ignore_index=True).drop_duplicates()


def _candidate_pairs(part: pd.DataFrame, keys: pd.DataFrame, lexicon_pairs: pd.DataFrame,
                     res_dtypes: dict[str, Any], cap: int) -> tuple[pd.Series, pd.DataFrame]:
    """:func:`candidates_of` the records ``keys`` among one partition's residents:
    the count per record, and the pairs of records not already over ``cap`` here."""
    cols = ["name_key", "kana_key", "kana_loose", "fam_key", "giv_key"]
    pairs = candidates_of(keys, _unpack(part[cols], res_dtypes), lexicon_pairs)
    x = keys["_x"].to_numpy(dtype=np.int64)[pairs["x"].to_numpy(dtype=np.int64)]
    pos = part.index.to_numpy(dtype=np.int64)[pairs["r"].to_numpy(dtype=np.int64)]
    counts = pd.Series(x).value_counts()
    keep = counts.reindex(x).to_numpy() <= cap
    return counts, pd.DataFrame({"_x": x[keep], "_pos": pos[keep]})


def _fetch(part: pd.DataFrame, positions: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """Residents wanted by search chunks: by position (holders, candidates, the u
    sample) or by household (members); ``_chunk`` says which chunk wants each."""
    pos = pd.DataFrame({"_pos": part.index.to_numpy(dtype=np.int64)})
    by_pos = pos.merge(positions, on="_pos")
    hh = pd.DataFrame({"_pos": pos["_pos"], "household": part["household"].astype(object).to_numpy()}).dropna()
    by_hh = hh.merge(households, on="household")[["_pos", "_chunk"]]
    want = pd.concat([by_pos, by_hh], ignore_index=True).drop_duplicates()
    rows = part.loc[want["_pos"].to_numpy()]
    rows = rows.assign(_chunk=want["_chunk"].to_numpy(dtype=np.int64))
    return rows


def _select_chunk(rows: pd.DataFrame, chunk: int) -> pd.DataFrame:
    return rows[(rows["_chunk"] == chunk).to_numpy()].drop(columns="_chunk")


def _household_codes(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Positions and household codes (−1 missing) of a household partition."""
    codes, uniques = pd.factorize(part["household"])
    return part.index.to_numpy(dtype=np.int64), codes.astype(np.int64), len(uniques)


def _lexicon_triples(part: pd.DataFrame, frame: int, dtypes: dict[str, Any]) -> pd.DataFrame:
    """(part, kanji, kana) readings of one partition with their count and first
    occurrence, for readings.build_lexicon (``frame``: 0 residents, 1 insurance)."""
    if frame == 1:
        part = part[(part["source"] == "insurance").to_numpy(dtype=bool)]
    cols = ["fam_key", "fam_kana", "giv_key", "giv_kana"]
    df = _unpack(part[cols], dtypes)
    out = []
    for k, p in enumerate(("fam", "giv")):
        t = readings._pairs(df, p)
        first = ((frame * 2 + k) << _FIRST_SHIFT) + t.index.to_numpy(dtype=np.int64)
        out.append(t.assign(first=first))
    both = pd.concat(out, ignore_index=True)
    return both.groupby(["part", "kanji", "kana"], sort=False).agg(n=("first", "size"), first=("first", "min")
                                                                   ).reset_index()


def _account_pairs(part: pd.DataFrame) -> pd.DataFrame:
    both = part["account"].notna() & part["number"].notna()
    return part.loc[both, ["account", "number"]].drop_duplicates()


def _account_hashes(pairs: pd.DataFrame) -> pd.Series:
    return _hash(pairs["account"])


def _pairs_of_accounts(pairs: pd.DataFrame, hashes: np.ndarray) -> pd.DataFrame:
    h = pd.util.hash_pandas_object(pairs["account"].astype(object), index=False).to_numpy()
    return pairs[np.isin(h, hashes)]


def _accounts_without_number(part: pd.DataFrame) -> np.ndarray:
    sel = part["account"].notna() & part["number"].isna()
    return part.loc[sel, "account"].astype(object).unique()


def _account_rows(part: pd.DataFrame, wanted: pd.DataFrame) -> pd.DataFrame:
    """Records holding an account a search chunk asks about (join.own_account)."""
    rows = part.loc[part["account"].notna() & part["number"].notna(), ["_x", "account", "number"]]
    rows = rows.assign(account=rows["account"].astype(object))
    return rows.merge(wanted, on="account")


def _search_chunk(need_parts: list[pd.DataFrame], res_parts: list[pd.DataFrame], acct_parts: list[pd.DataFrame],
                  ok: np.ndarray, lexicon: readings.Lexicon, models: dict[str, score.Model],
                  rec_dtypes: dict[str, Any], res_dtypes: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The owner search (household members, register candidates) for one chunk
    of records, with the residents fetched for it."""
    need = pd.concat(need_parts).sort_values("_x", kind="stable")
    need = _unpack(need, {**rec_dtypes, "h_household": object})
    acct = pd.concat(acct_parts, ignore_index=True) if acct_parts else pd.DataFrame(
        {"_x": pd.Series(dtype=np.int64), "account": pd.Series(dtype="string"), "number": pd.Series(dtype="string")})
    acct = acct[~acct["_x"].isin(need["_x"])].drop_duplicates("_x").sort_values("_x")
    extra = _conform(_unpack(acct[["account", "number"]], rec_dtypes), list(rec_dtypes), rec_dtypes)
    rec = pd.concat([need[list(rec_dtypes)], extra], ignore_index=True)
    res = pd.concat(res_parts).sort_index() if res_parts else pd.DataFrame()
    res = res[~res.index.duplicated()]
    res = _unpack(res[[c for c in res_dtypes]], res_dtypes)
    res_pos = res.index.to_numpy(dtype=np.int64)
    res = res.reset_index(drop=True)
    m = len(need)
    holder_g = np.concatenate([need["_holder"].to_numpy(dtype=np.int64), np.full(len(extra), -1, np.int64)])
    holder = pd.Index(res_pos).get_indexer(holder_g)
    holder[holder_g < 0] = -1
    source = rec["source"].to_numpy(dtype=object)
    xi = np.arange(m)
    member = _audit._alternatives(rec, res, xi[holder[xi] >= 0], holder, lexicon, models, source, "member")
    cand_xi = xi[np.isin(need["_x"].to_numpy(dtype=np.int64), ok)]
    cand = _audit._alternatives(rec, res, cand_xi, holder, lexicon, models, source, "candidate")
    out = {"_x": need["_x"].to_numpy(dtype=np.int64)}
    owners = []
    for tag, best in (("m", member), ("c", cand)):
        pos = best.pos[:m]
        out[f"{tag}_pos"] = np.where(pos >= 0, res_pos[np.maximum(pos, 0)] if len(res_pos) else -1, -1)
        for name in ("weight", "ties", "own", "fam", "giv", "birth", "sex"):
            out[f"{tag}_{name}"] = getattr(best, name)[:m]
        owners.append(pos[pos >= 0])
    s = pd.DataFrame(out).set_index("_x")
    at = np.unique(np.concatenate(owners)) if owners else np.empty(0, np.int64)
    owner_rows = res.iloc[at].set_axis(res_pos[at])
    return s, _pack(owner_rows)


def _judge_part(part: pd.DataFrame, search: tuple[pd.DataFrame, pd.DataFrame] | None, ghosts: pd.DataFrame,
                register_dups: pd.DataFrame, models: dict[str, score.Model], opts: _audit.Options,
                rec_dtypes: dict[str, Any], res_dtypes: dict[str, Any]) -> pd.DataFrame:
    """Verdicts and findings of one partition of records (audit.judge)."""
    part = part.sort_values("_x", kind="stable").reset_index(drop=True)
    n = len(part)
    rec_cols = [c for c in rec_dtypes if c not in KEY_COLUMNS]
    rec = _unpack(part[rec_cols], rec_dtypes)
    res_cols = [c for c in res_dtypes if c not in KEY_COLUMNS and c != "_row"]
    res_dt = {c: res_dtypes[c] for c in res_cols}
    holder_res = _unpack(part[[f"h_{c}" for c in res_cols]].rename(columns=lambda c: c[2:]), res_dt)
    hf = part[[c for c in part.columns if c.startswith("f_")]].rename(columns=lambda c: c[2:])
    holder_g = part["_holder"].to_numpy(dtype=np.int64)
    holder = np.where(holder_g >= 0, np.arange(n), -1)
    number_reason = rec["_number_reason"].to_numpy(dtype=object)
    bad_field = rec["_bad_field"].to_numpy(dtype=object)
    accounts = pd.concat([rec[["account", "number"]], ghosts], ignore_index=True)
    shared = join.shared_accounts(accounts).to_numpy()[:n]
    source = rec["source"].to_numpy(dtype=object)
    hw, hp = _audit.weigh(hf, holder, source, models)
    member, cand = explain.Best.empty(n), explain.Best.empty(n)
    res = holder_res
    if search is not None and len(search[0]):
        s, owners = search
        k = s.index.get_indexer(part["_x"].to_numpy(dtype=np.int64))
        rows = np.flatnonzero(k >= 0)
        s = s.iloc[k[rows]]
        wanted = np.unique(np.concatenate([s["m_pos"].to_numpy(), s["c_pos"].to_numpy()]))
        wanted = wanted[wanted >= 0]
        own_rows = _unpack(owners.loc[wanted, res_cols], res_dt)
        res = pd.concat([holder_res, own_rows], ignore_index=True)
        local = pd.Index(wanted)
        for tag, best in (("m", member), ("c", cand)):
            pos = s[f"{tag}_pos"].to_numpy(dtype=np.int64)
            best.pos[rows] = np.where(pos >= 0, n + local.get_indexer(pos), -1)
            for name in ("weight", "ties", "own", "fam", "giv", "birth", "sex"):
                getattr(best, name)[rows] = s[f"{tag}_{name}"].to_numpy()
    findings, _ = _audit.judge(rec, res, holder, hf, hw, hp, member, cand, number_reason, bad_field, shared,
                               register_dups, opts, register_holder=holder_g)
    findings["_x"] = part["_x"].to_numpy(dtype=np.int64)
    # The card holder's household, for the reports' households with several mislinks and the rows
    # that need action (AuditResult.households, report.html): kept where the status is not ok.
    act = (holder_g >= 0) & (findings["status"] != "ok").to_numpy(dtype=bool)
    findings["_household"] = np.where(act, holder_res["household"].to_numpy(dtype=object, na_value=None), None)
    return findings


# ================================================================ u sample
def u_pairs(n: int, households: pd.Series, n_pairs: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The register pairs ``score.estimate_u`` compares, for ``n`` residents with
    these ``households`` (any values that are equal where the households are):
    random pairs, then pairs within households.  None below two residents."""
    rng = np.random.default_rng(seed)
    if n < 2:
        return None
    k = min(n_pairs, n * (n - 1))
    a = rng.integers(0, n, k)
    b = rng.integers(0, n - 1, k)
    b = np.where(b >= a, b + 1, b)
    ha, hb = score._household_pairs(pd.DataFrame({"household": households}), min(n_pairs, 20_000), rng)
    return a, b, ha, hb


def u_from_pairs(residents: pd.DataFrame, pairs: tuple[np.ndarray, ...] | None) -> dict[str, np.ndarray]:
    """u-probabilities from the pairs of :func:`u_pairs`; ``residents`` holds at
    least those rows, indexed by register position."""
    if pairs is None:
        return {f: np.array([0.01, 0.04, 0.95]) for f in FEATURES}
    a, b, ha, hb = pairs
    at = residents.index.get_indexer
    res = residents.reset_index(drop=True)
    feats = pair_features(res, res, at(a), at(b), detail=False)
    u = {f: score._frequencies(feats[f].to_numpy(), None, None) for f in FEATURES}
    u["sex"][1] = max(u["sex"][1], 1e-3)
    if len(ha):
        inside = pair_features(res, res, at(ha), at(hb), detail=False)
        for f in score.HOUSEHOLD_FIELDS:
            u[f] = ((1 - score.HOUSEHOLD_SHARE) * u[f]
                    + score.HOUSEHOLD_SHARE * score._frequencies(inside[f].to_numpy(), None, None))
    return u


def _u_task(parts: list[pd.DataFrame], pairs: tuple[np.ndarray, ...] | None, res_dtypes: dict[str, Any]
            ) -> dict[str, np.ndarray]:
    rows = pd.concat(parts).sort_index() if parts else pd.DataFrame(columns=list(res_dtypes))
    rows = rows[~rows.index.duplicated()]
    return u_from_pairs(_unpack(rows[list(res_dtypes)], res_dtypes), pairs)


# ================================================================ inputs
@dataclass
class _Input:
    """One input table split into pieces read on the workers."""

    kind: str
    source: Any  # what the caller gave
    pieces: list[Any]  # file paths (str) or DataFrame chunks
    continuous_rows: bool  # Parquet parts: row numbers continue from part to part
    lengths: list[int] = field(default_factory=list)


def _input(table: Any, kind: str) -> _Input:
    """Pieces of one table: a DataFrame, a file (CSV, Parquet, xlsx), a directory
    of Parquet parts, or a glob pattern of files."""
    if isinstance(table, pd.DataFrame):
        df = read_table(table, kind)
        chunks = [df.iloc[i:i + CHUNK_ROWS] for i in range(0, len(df), CHUNK_ROWS)] or [df]
        return _Input(kind, table, chunks, False)
    path = os.fspath(table)
    p = Path(path)
    if not p.exists() and glob.has_magic(path):
        files = sorted(glob.glob(path))
        if not files:
            raise InputError(path, "no file matches this pattern")
        parquet = all(Path(f).suffix.lower() in (".parquet", ".pq") for f in files)
        return _Input(kind, table, files, parquet)
    if p.is_dir():
        import pyarrow.parquet as pq

        try:
            files = list(pq.ParquetDataset(path).files)
        except Exception:  # noqa: BLE001 - pyarrow raises many types: let the reader say what is wrong
            files = []
        if not files:
            read_table(path, kind)  # raises the reader's error (or reads an empty table)
            return _Input(kind, table, [path], False)
        return _Input(kind, table, files, True)
    if not p.exists():
        raise InputError(path, "file not found")
    return _Input(kind, table, [path], False)


@dataclass
class _Parts:
    """A table held by the cluster: one future per partition, in order."""

    futures: list[Any]
    starts: np.ndarray  # global position of each partition's first row
    lengths: np.ndarray

    @property
    def total(self) -> int:
        return int(self.lengths.sum())

    def divisions(self) -> tuple[int, ...]:
        if not len(self.futures):
            return (0, 0)
        return tuple(int(s) for s in self.starts) + (int(self.starts[-1] + self.lengths[-1] - 1),)


# ================================================================ the run
class _Run:
    """One audit on one client; phases are timed with the executor's Timer."""

    def __init__(self, client: Any, opts: _audit.Options, progress: Callable[[str], None] | None) -> None:
        self.client = client
        self.opts = opts
        self.timer = _audit.Timer(progress)

    # -- helpers -------------------------------------------------------------
    def _map(self, func: Callable, *iterables: Sequence[Any], **kwargs: Any) -> list[Any]:
        if not len(iterables[0]):
            return []
        return self.client.map(func, *iterables, pure=False, **kwargs)

    def _gather(self, futures: list[Any]) -> list[Any]:
        return self.client.gather(futures) if futures else []

    def _scatter(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=True, hash=False)

    def _frame(self, futures: list[Any], divisions: tuple | None = None) -> Any:
        """A dask DataFrame over partition futures."""
        import dask.dataframe as dd

        meta = self.client.submit(lambda df: df.iloc[:0], futures[0], pure=False).result()
        return dd.from_delayed(futures, meta=meta, divisions=divisions)

    def _persist(self, ddf: Any) -> list[Any]:
        """Compute a dask DataFrame into futures, one per partition, in order."""
        futures = self.client.compute(ddf.to_delayed())
        from distributed import wait

        wait(futures)
        return futures

    def _read(self, inp: _Input) -> list[tuple[Any, int, int, int]]:
        """Read every piece on the workers; (future, start, stop, row offset) per chunk."""
        futures = self._map(_read, [p if isinstance(p, str) else self._scatter_one(p) for p in inp.pieces],
                            kind=inp.kind)
        lengths = self._gather(self._map(len, futures))
        inp.lengths = list(lengths)
        chunks = []
        offset = 0
        for fut, n in zip(futures, lengths):
            row_offset = offset if inp.continuous_rows else 0
            if n == 0:
                chunks.append((fut, 0, 0, row_offset))  # no rows, but its columns count (see _record_schema)
            for start in range(0, n, CHUNK_ROWS):
                stop = min(n, start + CHUNK_ROWS)
                if n - stop < CHUNK_ROWS // 2:  # no small last chunk
                    stop = n
                chunks.append((fut, start, stop, row_offset))
                if stop == n:
                    break
            offset += n
        return chunks

    def _scatter_one(self, df: pd.DataFrame) -> Any:
        return self.client.scatter(df, hash=False)

    # -- phases ----------------------------------------------------------------
    def audit(self, residents: Any, bank: Any, insurance: Any) -> tuple[pd.DataFrame, _audit.Context, dict]:
        if bank is None and insurance is None:
            raise ValueError("nothing to audit: give bank and/or insurance records")
        inputs = {"residents": _input(residents, "residents")}
        if bank is not None:
            inputs["bank"] = _input(bank, "bank")
        if insurance is not None:
            inputs["insurance"] = _input(insurance, "insurance")
        today = pd.Timestamp.today().normalize()
        t = self.timer
        with t.stage("normalise"):
            R0, res_dtypes = self._prepare_residents(inputs["residents"])
            P0, first = self._prepare_records(inputs)
            columns, union, rec_dtypes = self.client.submit(
                _record_schema, first.get("bank"), first.get("insurance"), today, pure=False).result()
            ins_dtypes = {c: union[c] for c in ("name_key", "birth", *READING_COLUMNS)}
        with t.stage("validate"):
            dups, later = self._register_duplicates(R0)
            if not P0.futures:  # bank and insurance tables without a single row
                invalid = sum(self._gather(self._map(_count_missing_numbers, R0.futures)))
                ctx = self._context(pd.Series([], dtype=object), {}, None, dups, R0.total, invalid, 0)
                return empty_findings(), ctx, {name: int(sum(inp.lengths)) for name, inp in inputs.items()}
            ghosts = self._duplicate_ids(P0)
        with t.stage("readings"):
            R2 = self._readings(R0, P0, res_dtypes, ins_dtypes)
            del R0
            lexicon = self._lexicon(R2, P0, res_dtypes, union)
        with t.stage("join"):
            ghosts_f = self._scatter(ghosts)
            P1 = [self._delayed(_validate_records)(f, columns, union, ghosts_f, today) for f in P0.futures]
            J, need, patterns = self._holder_join(P1, R2, lexicon, rec_dtypes, res_dtypes, later)
            del P0, P1
            shared_ghosts = self._shared_accounts(J)
        with t.stage("score"):
            chunk_of = self._chunks(need)
            keys = self._need_keys(need)
            ok, cand_pos = self._candidates(R2, keys, lexicon, rec_dtypes, res_dtypes)
            codes = self._household_codes(R2)
            pairs = u_pairs(R2.total, codes, self.opts.u_pairs, self.opts.seed)
            fetched, n_chunks = self._fetch(R2, need, chunk_of, keys, cand_pos, pairs)
            u_parts = [self.client.submit(_select_chunk, f, -1, pure=False) for f in fetched]
            u = self.client.submit(_u_task, u_parts, pairs, res_dtypes, pure=False).result()
            models = self._fit(patterns, u)
        with t.stage("search"):
            search = self._search(need, chunk_of, n_chunks, fetched, ok, J, lexicon, models, rec_dtypes, res_dtypes)
        with t.stage("explain"):
            dups_f, models_f = self._scatter(dups), self._scatter(models)
            sg = self._scatter(shared_ghosts)
            parts = [self.client.submit(_judge_part, j, search.get(chunk_of[i]), sg, dups_f, models_f, self.opts,
                                        rec_dtypes, res_dtypes, pure=False) for i, j in enumerate(J)]
            findings = _in_order(self._gather(parts))
            households = findings.pop("_household")
        invalid = sum(self._gather(self._map(_count_missing_numbers, R2.futures)))
        ctx = self._context(households, models, lexicon, dups, R2.total, invalid, len(findings))
        rows = {name: int(sum(inp.lengths)) for name, inp in inputs.items()}
        return findings, ctx, rows

    def _context(self, households: pd.Series, models: dict[str, score.Model], lexicon: readings.Lexicon | None,
                 dups: pd.DataFrame, residents: int, invalid: int, records: int) -> _audit.Context:
        """The audit context the client keeps: the card holders' households of the
        findings that need action, the models and the register's figures."""
        codes, uniques = pd.factorize(households)
        return _audit.Context(
            residents=pd.DataFrame({"household": pd.array(uniques, dtype="string")}),
            records=Unavailable("the records table"), holder=codes.astype(np.int64),
            holder_features=Unavailable("the card-holder comparison"),
            holder_weights=Unavailable("the card-holder weights"), models=models,
            decisions=Unavailable("the verdicts' details"), lexicon=lexicon, timings=self.timer.times,
            counts={"residents": residents, "records": records},
            register={"rows": residents, "invalid_numbers": int(invalid), "duplicate_numbers": len(dups),
                      "duplicate_rows_first_100": dups["row"].head(100).tolist()})

    def _delayed(self, func: Callable) -> Callable:
        import dask

        return dask.delayed(func, pure=False)

    def _prepare_residents(self, inp: _Input) -> tuple[_Parts, dict[str, Any]]:
        chunks = self._read(inp)
        starts = np.cumsum([0] + [c[2] - c[1] for c in chunks])[:-1]
        futures = [self.client.submit(_prepare_residents, f, a, b, off, int(s), pure=False)
                   for (f, a, b, off), s in zip(chunks, starts)]
        lengths = np.array([c[2] - c[1] for c in chunks], dtype=np.int64)
        f0, a0, b0, off0 = chunks[0]
        dtypes = self.client.submit(lambda *a: _dtypes(_prepare_residents(*a, pack=False)), f0, a0,
                                    min(b0, a0 + 1000), off0, 0, pure=False).result()
        from distributed import wait

        wait(futures)
        return _Parts(futures, np.asarray(starts, dtype=np.int64), lengths), dtypes

    def _prepare_records(self, inputs: dict[str, _Input]) -> tuple[_Parts, dict[str, Any]]:
        futures, starts, lengths, first = [], [], [], {}
        x = 0
        for src in _audit.SOURCES:
            if src not in inputs:
                continue
            chunks = self._read(inputs[src])
            for i, (f, a, b, off) in enumerate(chunks):
                futures.append(self.client.submit(_prepare_records, f, a, b, off, x, src, pure=False))
                starts.append(x)
                lengths.append(b - a)
                x += b - a
            f0, a0, b0, off0 = max(chunks, key=lambda c: c[2] - c[1])  # a chunk with rows if there is one
            first[src] = self.client.submit(_prepare_records, f0, a0, min(b0, a0 + 1000), off0, 0, src,
                                            pack=False, pure=False)
        from distributed import wait

        wait(futures)
        keep = [i for i, n in enumerate(lengths) if n > 0]
        parts = _Parts([futures[i] for i in keep], np.array([starts[i] for i in keep], dtype=np.int64),
                       np.array([lengths[i] for i in keep], dtype=np.int64))
        return parts, first

    def _repeated(self, futures: list[Any], hashes: Callable[[pd.DataFrame], pd.Series]) -> np.ndarray:
        """Hashes that occur more than once over all partitions."""
        if not futures:
            return np.empty(0, np.uint64)
        counts = self._frame(self._map(hashes, futures)).value_counts(split_out=True)
        return self.client.compute(counts[counts > 1]).result().index.to_numpy(dtype=np.uint64)

    def _duplicate_ids(self, P0: _Parts) -> pd.DataFrame:
        """The first row of every (source, record id) that occurs more than once."""
        repeated = self._repeated(P0.futures, _id_hashes)
        if not len(repeated):
            return _no_ghosts()
        rows = pd.concat(self._gather(self._map(_rows_with_ids, P0.futures, hashes=self._scatter(repeated))),
                         ignore_index=True).sort_values("_x", kind="stable")
        rows = rows[rows.duplicated("key", keep=False).to_numpy()].drop_duplicates("key")
        return rows.drop(columns="key").reset_index(drop=True)

    def _register_duplicates(self, R0: _Parts) -> tuple[pd.DataFrame, np.ndarray]:
        """validate.duplicate_numbers over the whole register, and the positions of the later rows."""
        repeated = self._repeated(R0.futures, _number_hashes)
        empty = validate.duplicate_numbers(pd.DataFrame({"number": pd.Series(dtype="string"),
                                                         "_row": pd.Series(dtype=np.int64)}))
        if not len(repeated):
            return empty, np.empty(0, np.int64)
        rows = pd.concat(self._gather(self._map(_rows_with_numbers, R0.futures, hashes=self._scatter(repeated))))
        rows = rows.sort_index()
        positions = rows.index.to_numpy(dtype=np.int64)
        dups = validate.duplicate_numbers(rows.reset_index(drop=True))
        for col in ("position", "first_position"):
            dups[col] = positions[dups[col].to_numpy(dtype=np.int64)]
        return dups, dups["position"].to_numpy(dtype=np.int64)

    def _readings(self, R0: _Parts, P0: _Parts, res_dtypes: dict[str, Any], ins_dtypes: dict[str, Any]) -> _Parts:
        """Residents after split_by_household and fill_readings, each household in one partition."""
        import dask
        from distributed import wait

        res = self._frame(R0.futures, R0.divisions())
        ins_parts = self._map(_insurance_readings, P0.futures)
        f_cols = [f"_f_{c}" for c in READING_COLUMNS]
        if ins_parts:
            ins = self._frame(ins_parts).shuffle(["name_key", "birth"]).map_partitions(_agreeing_first)
            need = self._frame(self._map(_residents_needing_kana, R0.futures))
            found = need.merge(ins, on=["name_key", "birth"], how="inner")[["_pos", *READING_COLUMNS]]
            found = found.rename(columns={c: f"_f_{c}" for c in READING_COLUMNS})
            found = found.set_index("_pos", divisions=res.divisions)
            res = res.join(found, how="left")
        else:
            res = res.map_partitions(_no_readings)
        # Households mostly lie within one partition (registers list them together): those are done in
        # place; the few that span partitions are gathered into one more partition.
        spanning = self._scatter(self._repeated(R0.futures, _household_hashes))
        stage = dask.delayed(_household_stage, pure=False)
        parts = res.to_delayed()
        moved = dask.delayed(pd.concat, pure=False)(
            [dask.delayed(_rows_in_households, pure=False)(p, spanning) for p in parts])
        futures = self.client.compute([stage(p, res_dtypes, ins_dtypes, spanning) for p in parts]
                                      + [stage(moved, res_dtypes, ins_dtypes)])
        wait(futures)
        lengths = np.array(self._gather(self._map(len, futures)), dtype=np.int64)
        return _Parts(futures, np.zeros(len(futures), np.int64), lengths)

    def _lexicon(self, R2: _Parts, P0: _Parts, res_dtypes: dict[str, Any], union: dict[str, Any]) -> readings.Lexicon:
        """readings.build_lexicon over the whole register and all insurance records.

        The lexicon depends on each (part, kanji, kana) reading's count only up
        to readings.MIN_OBSERVATIONS, so each reading is given to build_lexicon
        that many times at most, in order of first occurrence."""
        parts = (self._map(_lexicon_triples, R2.futures, frame=0, dtypes=res_dtypes)
                 + self._map(_lexicon_triples, P0.futures, frame=1, dtypes=union))
        triples = self._frame(parts).groupby(["part", "kanji", "kana"]).agg({"n": "sum", "first": "min"})
        t = self.client.compute(triples).result().reset_index().sort_values("first", kind="stable")
        cap = t["part"].map(readings.MIN_OBSERVATIONS).to_numpy(dtype=np.int64)
        reps = np.minimum(t["n"].to_numpy(dtype=np.int64), cap)
        t = t.loc[t.index.repeat(reps)]
        group = t["first"].to_numpy(dtype=np.int64) >> _FIRST_SHIFT
        frames = []
        for g in range(4):  # residents fam, residents giv, insurance fam, insurance giv
            sel = t[group == g]
            p, other = ("fam", "giv") if g % 2 == 0 else ("giv", "fam")
            frames.append(pd.DataFrame({f"{p}_key": sel["kanji"].to_numpy(dtype=object),
                                        f"{p}_kana": sel["kana"].to_numpy(dtype=object),
                                        f"{other}_key": None, f"{other}_kana": None}))
        return readings.build_lexicon(*frames)

    def _holder_join(self, P1: list[Any], R2: _Parts, lexicon: readings.Lexicon, rec_dtypes: dict[str, Any],
                     res_dtypes: dict[str, Any], later: np.ndarray) -> tuple[list[Any], list[Any], pd.DataFrame]:
        """Records with their card holder (merge on the number), compared."""
        import dask
        import dask.dataframe as dd
        from distributed import wait

        meta = _pack(pd.DataFrame({c: pd.Series(dtype=t) for c, t in rec_dtypes.items()}))
        rec = dd.from_delayed(P1, meta=meta)
        side = self._frame(self._map(_holder_side, R2.futures, later_duplicates=self._scatter(later)))
        merged = rec.merge(side, how="left", left_on="number", right_on="h_number")
        lex_f = self._scatter(lexicon)
        stage = dask.delayed(_holder_stage, pure=False, nout=3)
        staged = self.client.compute([stage(p, lex_f, rec_dtypes, res_dtypes) for p in merged.to_delayed()])
        J = self._map(operator.getitem, staged, [0] * len(staged))
        need = self._map(operator.getitem, staged, [1] * len(staged))
        patterns = [p for p in self._gather(self._map(operator.getitem, staged, [2] * len(staged))) if len(p)]
        wait(J + need)
        del staged
        return J, need, (pd.concat(patterns, ignore_index=True) if patterns else pd.DataFrame())


    def _shared_accounts(self, J: list[Any]) -> pd.DataFrame:
        """Ghost rows for join.shared_accounts: every (account, number) of the
        accounts on several numbers, or on a record without a valid number."""
        pairs_parts = self._map(_account_pairs, J)
        repeated = self._repeated(pairs_parts, _account_hashes)  # accounts on several rows of distinct pairs
        loose = self._gather(self._map(_accounts_without_number, J))
        loose = np.unique(np.concatenate(loose)) if loose else np.empty(0, object)
        wanted = np.union1d(repeated, _hash(pd.Series(loose, dtype=object)).to_numpy()) if len(loose) else repeated
        if not len(wanted):
            return pd.DataFrame({"account": pd.Series(dtype="string"), "number": pd.Series(dtype="string")})
        rows = self._gather(self._map(_pairs_of_accounts, pairs_parts, hashes=self._scatter(wanted)))
        ghosts = pd.concat(rows, ignore_index=True).drop_duplicates()
        return ghosts.astype("string").reset_index(drop=True)

    def _chunks(self, need: list[Any]) -> list[int]:
        """Search chunk of each record partition: consecutive partitions until
        :data:`SEARCH_CHUNK` records need a search."""
        sizes = self._gather(self._map(len, need))
        chunk_of, chunk, filled = [], 0, 0
        for n in sizes:
            chunk_of.append(chunk)
            filled += n
            if filled >= SEARCH_CHUNK:
                chunk, filled = chunk + 1, 0
        return chunk_of

    def _need_keys(self, need: list[Any]) -> pd.DataFrame:
        parts = [p for p in self._gather(self._map(_need_keys, need)) if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["_x", "name_key", "kana_key", "kana_loose", "fam_kana", "giv_kana"])

    def _candidates(self, R2: _Parts, keys: pd.DataFrame, lexicon: readings.Lexicon, rec_dtypes: dict[str, Any],
                    res_dtypes: dict[str, Any]) -> tuple[np.ndarray, pd.DataFrame]:
        """Records whose candidates stay within join.MAX_CANDIDATES over the whole
        register, and those candidates (``_x``, ``_pos``)."""
        if keys.empty:
            return np.empty(0, np.int64), pd.DataFrame({"_x": [], "_pos": []}, dtype=np.int64)
        keys = _unpack(keys, rec_dtypes)
        cap = join.MAX_CANDIDATES
        out = self._map(_candidate_pairs, R2.futures, keys=self._scatter(keys),
                        lexicon_pairs=self._scatter(lexicon.pairs), res_dtypes=res_dtypes, cap=cap)
        results = self._gather(out)
        counts = pd.concat([c for c, _ in results]).groupby(level=0).sum()
        too_many = counts.index[counts.to_numpy() > cap].to_numpy()
        ok = np.setdiff1d(keys["_x"].to_numpy(dtype=np.int64), too_many)
        pairs = pd.concat([p for _, p in results], ignore_index=True)
        return ok, pairs[pairs["_x"].isin(ok).to_numpy()]

    def _household_codes(self, R2: _Parts) -> pd.Series:
        """Household of every register row as an integer (missing: NA), in register
        order: the households' identity is all u_pairs needs."""
        out = np.full(R2.total, -1, dtype=np.int64)
        offset = 0
        for pos, codes, n in self._gather(self._map(_household_codes, R2.futures)):
            out[pos] = np.where(codes >= 0, codes + offset, -1)
            offset += n
        return pd.Series(pd.array(np.where(out >= 0, out, 0), dtype="Int64")).mask(out < 0)

    def _fetch(self, R2: _Parts, need: list[Any], chunk_of: list[int], keys: pd.DataFrame,
               cand_pos: pd.DataFrame, pairs: tuple[np.ndarray, ...] | None) -> tuple[list[Any], int]:
        """Residents each search chunk needs (chunk −1: the u sample), one future per register partition."""
        holders = pd.concat([p for p in self._gather(self._map(_holders_of, need, chunk_of)) if len(p)]
                            or [pd.DataFrame({"_x": [], "_pos": [], "household": [], "_chunk": []})],
                            ignore_index=True)
        chunk_x = holders[["_x", "_chunk"]]
        wanted = [holders.loc[holders["_pos"] >= 0, ["_pos", "_chunk"]],
                  cand_pos.merge(chunk_x, on="_x")[["_pos", "_chunk"]]]
        if pairs is not None:
            u_pos = np.unique(np.concatenate(pairs))
            wanted.append(pd.DataFrame({"_pos": u_pos, "_chunk": -1}))
        positions = pd.concat(wanted, ignore_index=True).astype(np.int64).drop_duplicates()
        hh = holders.loc[holders["_pos"] >= 0, ["household", "_chunk"]].dropna().drop_duplicates()
        hh = hh.astype({"household": object, "_chunk": np.int64})
        fetched = self._map(_fetch, R2.futures, positions=self._scatter(positions), households=self._scatter(hh))
        n_chunks = (max(chunk_of) + 1) if chunk_of else 0
        return fetched, n_chunks

    def _fit(self, patterns: pd.DataFrame, u: dict[str, np.ndarray]) -> dict[str, score.Model]:
        """score.fit per source on the pattern counts of all partitions."""
        models = {}
        empty = pd.DataFrame({f: pd.Series(dtype=np.int8) for f in FEATURES})
        for src in _audit.SOURCES:
            sel = patterns[patterns["source"] == src] if len(patterns) else patterns
            if len(sel):
                models[src] = score.fit(sel, u, counts=sel["n"].to_numpy())
            else:
                models[src] = score.fit(empty, u)
        return models

    def _search(self, need: list[Any], chunk_of: list[int], n_chunks: int, fetched: list[Any], ok: np.ndarray,
                J: list[Any], lexicon: readings.Lexicon, models: dict[str, score.Model],
                rec_dtypes: dict[str, Any], res_dtypes: dict[str, Any]) -> dict[int, Any]:
        """The owner search, one task per chunk of records: {chunk: future of (s, owners)}."""
        if not n_chunks:
            return {}
        accounts = pd.concat([p for p in self._gather(self._map(_need_accounts, need, chunk_of)) if len(p)]
                             or [pd.DataFrame({"account": [], "_chunk": []})], ignore_index=True)
        accounts = accounts.astype({"account": object, "_chunk": np.int64}).drop_duplicates()
        acct_rows = self._map(_account_rows, J, wanted=self._scatter(accounts)) if len(accounts) else []
        lex_f, models_f = self._scatter(lexicon), self._scatter(models)
        ok_f = self._scatter(ok)
        out = {}
        for c in range(n_chunks):
            parts = [f for f, k in zip(need, chunk_of) if k == c]
            res_parts = [self.client.submit(_select_chunk, f, c, pure=False) for f in fetched]
            acct_parts = [self.client.submit(_select_chunk, f, c, pure=False) for f in acct_rows]
            out[c] = self.client.submit(_search_chunk, parts, res_parts, acct_parts, ok_f, lex_f, models_f,
                                        rec_dtypes, res_dtypes, pure=False)
        return out


def empty_findings() -> pd.DataFrame:
    """The findings table without rows (no bank or insurance record at all)."""
    text = {c: pd.array([], dtype="string") for c in _audit.FINDINGS_COLUMNS}
    return pd.DataFrame({**text, "status": pd.Categorical([], categories=_audit.STATUSES),
                         "reason": pd.Categorical([], categories=_audit.REASONS),
                         "score": np.array([], dtype=float)})[_audit.FINDINGS_COLUMNS]


def _in_order(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The findings of all partitions in input order (by ``_x``), column by
    column: only arrays of references are copied, never the strings."""
    x = np.concatenate([p["_x"].to_numpy(dtype=np.int64) for p in parts])
    order = np.argsort(x, kind="stable")
    columns = [c for c in parts[0].columns if c != "_x"]
    out = {}
    for c in columns:
        out[c] = pd.concat([p[c] for p in parts], ignore_index=True).take(order).reset_index(drop=True)
        for p in parts:
            del p[c]
    return pd.DataFrame(out)


def _no_readings(part: pd.DataFrame) -> pd.DataFrame:
    return part.assign(**{f"_f_{c}": pd.Series(index=part.index, dtype=ARROW_STRING) for c in READING_COLUMNS})


def _number_hashes(part: pd.DataFrame) -> pd.Series:
    return _hash(part["number"])


def _rows_with_numbers(part: pd.DataFrame, hashes: np.ndarray) -> pd.DataFrame:
    h = pd.util.hash_pandas_object(part["number"].astype(object), index=False).to_numpy()
    sel = part["number"].notna().to_numpy(dtype=bool) & np.isin(h, hashes)
    return pd.DataFrame({"number": part["number"][sel].astype("string").array,
                         "_row": part["_row"].to_numpy(dtype=np.int64)[sel]}, index=part.index[sel])


def _count_missing_numbers(part: pd.DataFrame) -> int:
    return int(part["number"].isna().sum())


def _holders_of(need: pd.DataFrame, chunk: int) -> pd.DataFrame:
    return pd.DataFrame({"_x": need["_x"].to_numpy(dtype=np.int64), "_pos": need["_holder"].to_numpy(dtype=np.int64),
                         "household": need["h_household"].astype(object).to_numpy(), "_chunk": chunk})


def _need_accounts(need: pd.DataFrame, chunk: int) -> pd.DataFrame:
    acct = need["account"].dropna().astype(object).unique()
    return pd.DataFrame({"account": acct, "_chunk": chunk})
