"""`make bench-dask`: the dask engine on a partitioned-Parquet world (a benchmark, not a test).

Generates (once, cached in bench/.cache/) a world of about --residents people as
Parquet parts, one part per generation chunk and table, written side by side
(``linkage.synth.generate_world(..., part=(i, k))``: disjoint My Numbers and
ids per chunk).  Then audits it with ``engine="dask"`` on a LocalCluster of
--workers processes with --memory-limit each and prints residents, linked
records, wall time per phase, records per second, and the peak memory each
worker process reached (its own getrusage maxrss) and how much it spilled to
disk to stay under its limit.

Usage: python bench/dask_run.py [--residents N] [--workers 2] [--memory-limit 5GiB] [--check]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from run import PEOPLE_PER_HOUSEHOLD, table  # noqa: E402 - bench/run.py, beside this script

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
TABLES = ("residents", "bank", "insurance")


def _chunk(args: tuple[Path, int, int, int, int]) -> dict[str, int]:
    """Generate chunk ``i`` of ``k`` and write its three parts (in a worker process)."""
    out, i, k, households, seed = args
    from linkage.synth import generate_world

    w = generate_world(households, seed * 100_003 + i, part=(i, k))
    counts = {}
    for name in TABLES:
        df = getattr(w, name)
        tmp = out / name / f".part-{i:05d}.parquet"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, out / name / f"part-{i:05d}.parquet")  # a part is there whole or not at all
        counts[name] = len(df)
    return counts


def world(residents: int, seed: int, chunk_households: int, jobs: int) -> tuple[Path, float | None]:
    """Directory of a cached partitioned world of about ``residents`` people (generated if absent)."""
    households = max(1, round(residents / PEOPLE_PER_HOUSEHOLD))
    k = max(1, -(-households // chunk_households))
    out = CACHE / f"dask-world-{households}-{seed}-{k}"
    if (out / "done.json").exists():
        return out, None
    for name in TABLES:
        (out / name).mkdir(parents=True, exist_ok=True)
    sizes = [households // k + (1 if i < households % k else 0) for i in range(k)]
    todo = [(out, i, k, sizes[i], seed) for i in range(k)
            if not all((out / name / f"part-{i:05d}.parquet").exists() for name in TABLES)]
    start = time.perf_counter()
    print(f"generating {households:,} households in {k} parts ({len(todo)} to do) -> {out}", flush=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for n, _ in enumerate(pool.map(_chunk, todo), start=1):
            if n % 10 == 0 or n == len(todo):
                print(f"  {n}/{len(todo)} parts, {time.perf_counter() - start:.0f}s", flush=True)
    (out / "done.json").write_text(json.dumps({"households": households, "parts": k, "seed": seed}))
    return out, time.perf_counter() - start


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spilled_mib(dask_worker) -> float:
    try:
        return dask_worker.data.cumulative_metrics[("disk-write", "bytes")] / 2**20
    except Exception:  # noqa: BLE001 - older/newer distributed: no figure
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=10_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="5GiB",
                    help="per worker (dask syntax: 5GiB, 4GB); beyond it workers spill to disk")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk-households", type=int, default=50_000, help="households per generated part")
    ap.add_argument("--jobs", type=int, default=2, help="processes generating the world")
    ap.add_argument("--write", type=Path, help="also write the findings and reports to this directory")
    ap.add_argument("--check", action="store_true",
                    help="also audit with the pandas engine and check the findings are identical (small sizes)")
    args = ap.parse_args()

    import pandas as pd
    from distributed import Client, LocalCluster

    import linkage

    path, t_gen = world(args.residents, args.seed, args.chunk_households, args.jobs)
    print(f"linkage dask benchmark — {time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, {os.cpu_count()} cores")
    if t_gen is not None:
        print(f"world generated in {t_gen:.0f}s")
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           memory_limit=args.memory_limit, dashboard_address=":0")
    client = Client(cluster)
    try:
        start = time.perf_counter()
        result = linkage.audit(path / "residents", bank=path / "bank", insurance=path / "insurance",
                               engine="dask", scheduler=cluster.scheduler_address)
        t_audit = time.perf_counter() - start
        t_write = None
        if args.write:
            start = time.perf_counter()
            result.write(args.write)
            t_write = time.perf_counter() - start
        peaks = client.run(_peak_rss_mib)
        spilled = client.run(_spilled_mib)
        limit = next(iter(client.scheduler_info()["workers"].values()))["memory_limit"]
    finally:
        client.close()
        cluster.close()
    records = len(result.findings)
    residents = result.context.counts["residents"]
    row = {"residents": f"{residents:,}", "linked records": f"{records:,}", "workers": args.workers,
           "memory limit / worker": f"{limit / 2**30:.1f} GiB", "audit s": f"{t_audit:.0f}",
           "records/s": f"{records / t_audit:,.0f}",
           "peak RSS / worker": ", ".join(f"{peaks[w]:,.0f} MiB" for w in sorted(peaks)),
           "spilled / worker": ", ".join(f"{spilled[w]:,.0f} MiB" for w in sorted(spilled)),
           "client peak": f"{_peak_rss_mib():,.0f} MiB"}
    cols = list(row)
    if t_write is not None:
        row["write s"] = f"{t_write:.0f}"
        cols.insert(cols.index("records/s"), "write s")
    print("\n## Dask engine (partitioned Parquet, LocalCluster)\n")
    print(table([row], cols))
    print("\nWall time per phase (s):\n")
    names = list(result.timings)
    print(table([{"residents": f"{residents:,}", **{s: f"{result.timings[s]:.1f}" for s in names}}],
                ["residents", *names]))
    print("\n" + ", ".join(f"{k} {v:,}" for k, v in result.counts().items()))
    if args.check:
        start = time.perf_counter()
        expected = linkage.audit(path / "residents", bank=path / "bank", insurance=path / "insurance")
        pd.testing.assert_frame_equal(result.findings, expected.findings)
        print(f"\ncheck: identical to the pandas engine's findings (pandas engine {time.perf_counter() - start:.0f}s)")


if __name__ == "__main__":
    main()
