"""Credit reports (issue 23): one report of each kind, and many enterprise `public` reports on
every core.

On a rated workspace with a published dashboard (default: `make demo`'s, `.chengxin`; it records
the reports it issues: run it on a copy):

- one report of each kind (public, certificate, lender) for a black-listed firm, in a warm
  process: median of `--repeat` issues, seconds per report;
- `--many` enterprise `public` reports issued by `--workers` processes (each warms up first, as
  a server's workers would), wall time and reports per second, extrapolated to 10,000 when
  `--many` is smaller.

    cp -r .chengxin /tmp/bench-home && .venv/bin/python benchmarks/report_benchmark.py --home /tmp/bench-home
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from common import machine, markdown_table, write_section


def _issue_many(args) -> tuple[int, float]:
    home, ids = args
    os.environ["CHENGXIN_HOME"] = home
    from chengxin import readmodel, reports, users

    snap = readmodel.current(home)
    reader = reports.Reader("benchmark", users.role("admin", home))
    reports.issue(snap, ids[0], "public", reader, home=home)  # warm: fonts, template, tables
    started = time.perf_counter()
    for sid in ids[1:]:
        reports.issue(snap, sid, "public", reader, home=home)
    return len(ids) - 1, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=Path(".chengxin"))
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--many", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    home = str(args.home.resolve())
    os.environ["CHENGXIN_HOME"] = home
    from chengxin import readmodel, reports, users

    snap = readmodel.current(home)
    entries = pd.read_parquet(snap.path / "lists.parquet")
    firm = entries[(entries["rule"] == "serious_penalty") & (entries["status"] == "active")].iloc[0]["subject_id"]
    reader = reports.Reader("benchmark", users.role("admin", home))
    rows = []
    for kind in reports.KINDS:
        reports.issue(snap, firm, kind, reader, home=home)
        times, size = [], 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            issued = reports.issue(snap, firm, kind, reader, home=home)
            times.append(time.perf_counter() - t)
            size = len(issued.data)
        rows.append({"kind": kind, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
                     "kb": round(size / 1024)})
    one = pd.DataFrame(rows)
    print(one.to_string(index=False), flush=True)
    rated = pd.read_parquet(snap.path / "ratings.parquet", columns=["subject_id", "subject_type"])
    ids = rated.loc[rated["subject_type"] == "enterprise", "subject_id"].head(args.many + args.workers).tolist()
    chunks = [ids[k::args.workers] for k in range(args.workers)]
    started = time.perf_counter()
    # spawned, not forked: a fork of a process holding DuckDB's and Typst's threads can hang
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_issue_many, [(home, c) for c in chunks]))
    wall = time.perf_counter() - started
    issued = sum(n for n, _ in done)
    per_second = issued / max(s for _, s in done)
    ten_thousand = 10_000 / per_second / 60
    print(f"{issued} public reports on {args.workers} workers: {per_second:.1f}/s; 10,000 in {ten_thousand:.1f} min "
          f"(wall {wall:.0f} s with start-up)")
    body = ("## Credit reports (`benchmarks/report_benchmark.py`)\n\n"
            f"{machine()}; workspace `{args.home}` ({len(rated):,} rated subjects). One report of each kind for a "
            f"black-listed firm, warm process, median of {args.repeat}:\n\n" + markdown_table(one) +
            f"\n\n{issued:,} enterprise `public` reports on {args.workers} worker processes (each warmed up first): "
            f"**{per_second:.1f} reports/s**, so 10,000 take **{ten_thousand:.1f} min** (target ≤ 10 min; wall time "
            f"with process start-up {wall:.0f} s).\n\nReproduce: `cp -r .chengxin /tmp/bench-home && .venv/bin/python "
            "benchmarks/report_benchmark.py --home /tmp/bench-home` after `make demo`.")
    if not args.no_write:
        write_section("Credit reports (`benchmarks/report_benchmark.py`)", body)


if __name__ == "__main__":
    main()
