"""`make bench`: throughput figures on a generated world (a benchmark, not a test).

Sections (all by default):
  normalise  values normalised per second on 1,000,000 realistic values (Arrow-backed
             strings, as the reader returns them; object input shown too), against a
             naive per-row baseline (Series.map over every row) in the same run
  generate   time to generate the world (cached afterwards in bench/.cache/)
  audit      the full audit at several sizes, wall time per stage, records per
             second and peak memory; each run in a fresh process, --repeat timed
             runs per size (the run with the median total is shown, with the
             range of all of them: the machine is shared and single runs vary)

Usage: python bench/run.py [--sections normalise,generate,audit] [--residents N] [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
PEOPLE_PER_HOUSEHOLD = 2.33  # measured on generated worlds


def households_for(residents: int) -> int:
    return max(1, round(residents / PEOPLE_PER_HOUSEHOLD))


def world(residents: int, seed: int = 7) -> tuple[Path, float | None]:
    """Path of a cached world with about ``residents`` people (generated if absent)."""
    from linkage.synth import generate_world, write_world

    hh = households_for(residents)
    out = CACHE / f"world-{hh}-{seed}"
    if (out / "truth.csv").exists():
        return out, None
    start = time.perf_counter()
    w = generate_world(hh, seed)
    write_world(w, out, fmt="parquet")
    return out, time.perf_counter() - start


def table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    line = "| " + " | ".join(c.ljust(widths[c]) for c in cols) + " |"
    sep = "|" + "|".join("-" * (widths[c] + 2) for c in cols) + "|"
    body = ["| " + " | ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def bench_normalise(residents: int) -> None:
    from linkage import normalize
    from linkage.normalize import kana as _kana
    from linkage.normalize import names as _names

    path, _ = world(residents)
    res = pd.read_parquet(path / "residents.parquet")
    ins = pd.read_parquet(path / "insurance.parquet")
    bank = pd.read_parquet(path / "bank.parquet")
    n = 1_000_000
    rng = np.random.default_rng(0)

    def sample(values: pd.Series) -> pd.Series:
        # Arrow-backed strings, as linkage.read returns every text column.
        v = values.dropna().to_numpy(dtype=object)
        return pd.Series(v[rng.integers(0, len(v), n)], dtype="string[pyarrow]")

    kana_values = sample(pd.concat([res["name_kana"], ins["name_kana"], bank["holder_kana"]]))
    name_values = sample(pd.concat([res["name"], ins["name"]]))
    date_values = sample(pd.concat([res["birth_date"].astype(str), ins["birth_date"].astype(str)]))
    addr_values = sample(pd.concat([res["address"], ins["address"]]))
    number_values = sample(res["my_number"].astype(str))
    parts = normalize.split_name(pd.concat([res["name"], ins["name"]]).dropna())
    kana_parts = normalize.split_name(pd.concat([res["name_kana"], bank["holder_kana"]]).dropna())
    name_part_values = sample(pd.concat([parts["family"], parts["given"]]))
    kana_part_values = sample(pd.concat([kana_parts["family"], kana_parts["given"]]))
    cases = [
        ("kana_key (full names)", normalize.kana_key, kana_values, lambda s: s.map(_kana._strict)),
        ("name_key (full names)", normalize.name_key, name_values, lambda s: s.map(_names._key)),
        ("kana_key (full names, object input)", normalize.kana_key, kana_values.astype(object), None),
        ("name_key (full names, object input)", normalize.name_key, name_values.astype(object), None),
        ("kana_key (氏/名 parts)", normalize.kana_key, kana_part_values, lambda s: s.map(_kana._strict)),
        ("name_key (氏/名 parts)", normalize.name_key, name_part_values, lambda s: s.map(_names._key)),
        ("birth_date", normalize.birth_date, date_values, None),
        ("address_key", normalize.address_key, addr_values, None),
        ("my_number", normalize.my_number, number_values, None),
    ]
    rows = []
    for name, func, values, naive in cases:
        func(values.head(1000))  # warm up imports and tables
        t = _best(lambda: func(values))
        row = {"function": name, "values": f"{n:,}", "distinct": f"{values.nunique():,}",
               "seconds": f"{t:.3f}", "values/s": f"{n / t:,.0f}"}
        if naive is not None:
            tn = _best(lambda: naive(values), repeat=1)
            row["naive per-row s"] = f"{tn:.2f}"
            row["speed-up"] = f"{tn / t:.1f}x"
        rows.append(row)
    print("\n## Normalisation (1,000,000 values drawn from a generated world, Arrow-backed strings as read)\n")
    print(table(rows, ["function", "values", "distinct", "seconds", "values/s", "naive per-row s", "speed-up"]))


def _best(func, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def bench_generate(residents: int) -> None:
    from linkage.synth import generate_world

    hh = households_for(residents)
    start = time.perf_counter()
    w = generate_world(hh, 11)
    t_gen = time.perf_counter() - start
    out = CACHE / "generate-csv"
    from linkage.synth import write_world

    start = time.perf_counter()
    write_world(w, out, fmt="csv")
    t_write = time.perf_counter() - start
    print("\n## Generate\n")
    print(table([{"households": f"{hh:,}", "residents": f"{len(w.residents):,}",
                  "bank + insurance": f"{len(w.bank) + len(w.insurance):,}",
                  "generate s": f"{t_gen:.1f}", "write csv s": f"{t_write:.1f}",
                  "total s": f"{t_gen + t_write:.1f}"}],
                ["households", "residents", "bank + insurance", "generate s", "write csv s", "total s"]))


class MemorySampler:
    """Peak memory of this process and of the helper processes it starts.

    ``ru_maxrss`` survives ``exec`` on Linux (a process started by a big one
    reports the big one's peak), and a forked child's resident set counts the
    pages it shares with its parent.  So this reads the kernel's own figures:
    ``VmHWM`` (this process's peak resident set) and, sampled every 0.25 s, the
    sum of the proportional set sizes (``Pss``, shared pages split between the
    processes sharing them) of this process and its children: the memory the
    whole audit holds at once.
    """

    def __init__(self) -> None:
        import threading

        self.peak_total_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _pss(pid: int) -> int:
        from linkage.background import proc_kib

        return proc_kib(f"/proc/{pid}/smaps_rollup", "Pss") or 0

    @staticmethod
    def _children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                out += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
        return out

    def _run(self) -> None:
        import os

        me = os.getpid()
        while not self._stop.wait(0.25):
            total = self._pss(me) + sum(self._pss(c) for c in self._children(me))
            self.peak_total_kib = max(self.peak_total_kib, total)

    def stop(self) -> tuple[float, float]:
        """(this process's peak MiB, all processes' sampled peak MiB)."""
        self._stop.set()
        self._thread.join()
        hwm = own_peak_kib()
        return hwm / 1024, max(self.peak_total_kib, hwm) / 1024


def own_peak_kib() -> int:
    """This process's peak resident memory (the kernel's ``VmHWM``), in KiB."""
    from linkage.background import proc_kib

    return proc_kib("/proc/self/status", "VmHWM") or 0


def _audit_child(path: str, sample: bool) -> None:
    """Run one audit and write in this (fresh) process and print its figures as JSON.

    With ``sample``, the summed memory of all its processes is sampled meanwhile
    (reading their page tables every 0.25 s slows the audit by seconds at a
    million residents, so the times come from a run without it)."""
    import linkage

    p = Path(path)
    memory = MemorySampler() if sample else None
    start = time.perf_counter()
    result = linkage.audit(p / "residents.parquet", bank=p / "bank.parquet", insurance=p / "insurance.parquet")
    t_audit = time.perf_counter() - start
    start = time.perf_counter()
    result.write(CACHE / "audit-out")
    t_write = time.perf_counter() - start
    if memory is not None:
        peak_mib, total_mib = memory.stop()
        print(json.dumps({"peak_mib": peak_mib, "total_peak_mib": total_mib}))
        return
    from linkage import baseline

    peak_mib = own_peak_kib() / 1024
    ctx = result.context
    pairs, t_baseline = baseline.timed(ctx.records, ctx.residents, ctx.holder)
    print(json.dumps({"records": len(result.findings), "residents": ctx.counts["residents"],
                      "timings": result.timings, "audit": t_audit, "write": t_write, "peak_mib": peak_mib,
                      "baseline_pairs": pairs, "baseline_s": t_baseline}))


def _child_figures(path: Path, sample: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), *(["--sample"] if sample else [])],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def total_s(run: dict) -> float:
    """A run's total time: the audit and the writing of its files."""
    return run["audit"] + run["write"]


def median_run(runs: list[dict]) -> dict:
    """The run whose total is the median (the lower middle one of an even count)."""
    ranked = sorted(runs, key=total_s)
    return ranked[(len(ranked) - 1) // 2]


def bench_audit(sizes: list[int], repeat: int = 3) -> None:
    rows, stages = [], {}
    for residents in sizes:
        path, _ = world(residents)
        runs = [_child_figures(path, sample=False) for _ in range(repeat)]
        r = median_run(runs)
        totals = [total_s(x) for x in runs]
        memory = _child_figures(path, sample=True)
        total = total_s(r)
        compare_s = r["timings"].get("compare", float("nan"))
        rows.append({"residents": f"{r['residents']:,}", "linked records": f"{r['records']:,}",
                     "audit s": f"{r['audit']:.1f}", "write s": f"{r['write']:.1f}", "total s": f"{total:.1f}",
                     f"total s, {repeat} runs": f"{min(totals):.1f}-{max(totals):.1f}",
                     "records/s": f"{r['records'] / total:,.0f}", "peak MiB": f"{r['peak_mib']:,.0f}",
                     "all processes peak MiB": f"{memory['total_peak_mib']:,.0f}",
                     "recordlinkage s": f"{r['baseline_s']:.1f}",
                     "rl / audit compare": f"{r['baseline_s'] / compare_s:.1f}x",
                     "rl / whole audit": f"{r['baseline_s'] / r['audit']:.2f}x"})
        stages[r["residents"]] = r["timings"]
    print("\n## Full audit (read, validate, compare, score, explain, owner search, findings and reports)\n")
    print(table(rows, ["residents", "linked records", "audit s", "write s", "total s", f"total s, {repeat} runs",
                       "records/s", "peak MiB",
                       "all processes peak MiB", "recordlinkage s", "rl / audit compare", "rl / whole audit"]))
    print(f"\nEach size ran {repeat} times, each in a fresh process; the row shows the run with the median total"
          " (its stages, memory and recordlinkage time are from that run), and the range of the totals.")
    print("recordlinkage: a plain Compare (Jaro-Winkler on kana, exact birth date and sex) on the same"
          " record-card holder pairs (linkage.baseline); ratios are its time over the audit's.")
    print("peak MiB: the audit process's own peak resident memory (VmHWM); all processes: the peak of the"
          " summed proportional set sizes (Pss, sampled every 0.25 s) of the audit and its helper processes"
          " (linkage.background: the forked helpers for My Numbers and address keys and for the bank records,"
          " then the forked writer of report.xlsx), measured in a second run of the same audit, as sampling"
          " slows the run it measures.")
    names = list(next(iter(stages.values())))
    print("\nWall time per stage (s; from join to explain the bank and insurance records are audited side by"
          " side, each stage shows the longer of the two):\n")
    print(table([{"residents": f"{k:,}", **{s: f"{v.get(s, 0):.2f}" for s in names}} for k, v in stages.items()],
                ["residents", *names]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="normalise,generate,audit")
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per size (the median is shown)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sample", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _audit_child(args.child, args.sample)
        return
    sections = args.sections.split(",")
    print(f"linkage benchmark — {time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}")
    if "normalise" in sections:
        bench_normalise(args.residents)
    if "generate" in sections:
        bench_generate(args.residents)
    if "audit" in sections:
        n = args.residents
        bench_audit([n // 4, n // 2, n], max(1, args.repeat))


if __name__ == "__main__":
    main()
