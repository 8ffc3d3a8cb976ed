"""Generate and ingest a city at scale: wall time, records per second and peak memory.

    .venv/bin/python benchmarks/ingest_benchmark.py                       # 1,000,000 subjects, 36 months
    .venv/bin/python benchmarks/ingest_benchmark.py --enterprises 20000 --individuals 30000 --months 12

Targets (issue 2): ingest at >= 1 million records/s on 2 cores with peak memory <= 4 GB.
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from common import machine, peak_rss_mib, relative, write_section

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "chengxin")


def read_only(city: Path) -> dict:
    """Reading every upload as ingest reads it (decoding, CSV / Excel / Parquet parsing) and
    nothing else: the floor under any ingest built on these readers, on this machine."""
    from chengxin import config, readers
    from chengxin.pipelines import ingest

    sniff = config.settings().ingest.encoding_sniff_bytes
    rows, started = 0, time.perf_counter()
    for path in ingest.discover(city):
        rows += readers.read_table(path, sniff).table.num_rows
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 1), "rate": rows / seconds}


def store_as_read(city: Path, work: Path) -> dict:
    """Reading every upload as ingest reads it and storing its rows as read, text columns, in a
    scratch DuckDB database set up as the warehouse is: one table per source and header, one
    transaction per file, the next files read ahead on `ingest.read_ahead` threads as ingest reads
    them. No checks, no duplicate detection, no versions: the floor under any ingest that reads
    these files with these readers and keeps them in the DuckDB warehouse, on this machine."""
    import collections
    import resource
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    from chengxin import config, readers, warehouse
    from chengxin.pipelines import ingest

    settings = config.settings().ingest
    scratch = work / "store_as_read"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    paths = ingest.discover(city)
    tables: dict[tuple, str] = {}
    rows, started = 0, time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    con = duckdb.connect(str(scratch / "warehouse.duckdb"), config=warehouse.duckdb_config(scratch))
    with ThreadPoolExecutor(settings.read_ahead) as pool:
        def read(p):
            return pool.submit(readers.read_table, p, settings.encoding_sniff_bytes)

        ahead = collections.deque(map(read, paths[:settings.read_ahead]))
        for k, path in enumerate(paths):
            raw = ahead.popleft().result().table
            if k + settings.read_ahead < len(paths):
                ahead.append(read(paths[k + settings.read_ahead]))
            name = tables.setdefault((path.parent.name, *raw.column_names), f"t{len(tables)}")
            con.execute("BEGIN TRANSACTION")
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS FROM raw LIMIT 0")
            con.execute(f"INSERT INTO {name} FROM raw")
            con.execute("COMMIT")
            rows += raw.num_rows
    con.close()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"rows": rows, "seconds": round(seconds, 1), "rate": rows / seconds,
            "cpu_seconds": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enterprises", type=int, default=400_000)
    ap.add_argument("--individuals", type=int, default=600_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work")
    ap.add_argument("--keep", action="store_true", help="keep the city and warehouse afterwards")
    ap.add_argument("--city", type=Path, help="ingest this already generated city (its summary.json) instead of "
                    "generating one; the warehouse goes to <work>/ingest_home and is removed afterwards")
    args = ap.parse_args()

    work = args.work
    if args.city:
        city, home = args.city, work / "ingest_home"
        shutil.rmtree(home, ignore_errors=True)
        summary = json.loads((city / "_truth" / "summary.json").read_text("utf-8"))
        gen = None
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        city, home = work / "city", work / "home"
        gen = peak_rss_mib([CLI, "generate", "--out", str(city), "--enterprises", str(args.enterprises),
                            "--individuals", str(args.individuals), "--months", str(args.months),
                            "--seed", str(args.seed), "--json"], {"CHENGXIN_HOME": str(home)})
        summary = json.loads(gen["stdout"])
        print(f"generate: {gen['seconds']} s, peak {gen['peak_rss_mib']} MiB, {summary['records']:,} records", flush=True)
    env = {"CHENGXIN_HOME": str(home)}
    size = sum(p.stat().st_size for p in city.rglob("*") if p.is_file() and "_truth" not in p.parts)

    floor = read_only(city)
    print(f"reading alone: {floor['seconds']} s, {floor['rate']:,.0f} rows/s", flush=True)
    stored = store_as_read(city, work)
    print(f"reading and storing as read: {stored['seconds']} s, {stored['rate']:,.0f} rows/s", flush=True)
    ing = peak_rss_mib([CLI, "ingest", str(city), "--json"], env)
    result = json.loads(ing["stdout"])
    rate = result["rows"] / ing["seconds"]
    print(f"ingest: {ing['seconds']} s, peak {ing['peak_rss_mib']} MiB, {result['rows']:,} rows, {rate:,.0f} rows/s",
          flush=True)

    cores = os.cpu_count()
    command = (f"--city {relative(args.city)}" if args.city else
               f"--enterprises {args.enterprises} --individuals {args.individuals} --months {args.months} --seed {args.seed}")
    generated = (f"| generate | {gen['seconds']:,} s | {gen['peak_rss_mib']:,} MiB | {summary['records']:,} records in "
                 f"{summary['files']} files ({size / 2**30:.1f} GiB) | {summary['records'] / gen['seconds']:,.0f} records/s |\n"
                 if gen else "")
    body = f"""## Generate and ingest (`benchmarks/ingest_benchmark.py`)

Command: `.venv/bin/python benchmarks/ingest_benchmark.py {command}`
Machine: {machine()}.{"" if gen else f" The city: {summary['subjects']['enterprise']:,} enterprises and {summary['subjects']['individual']:,} individuals over {summary['months']} months, generated earlier ({summary['records']:,} records in {summary['files']} files, {size / 2**30:.1f} GiB)."}

| step | wall time | peak memory | volume | rate |
|---|---|---|---|---|
{generated}| ingest | {ing['seconds']:,} s (CPU {ing['cpu_seconds']:,} s) | {ing['peak_rss_mib']:,} MiB | {result['rows']:,} rows: {result['accepted']:,} accepted, {result['rejected']:,} rejected, {result['duplicates']:,} duplicates | {rate:,.0f} rows/s |
| reading alone (no checks, no writes) | {floor['seconds']:,} s | | {floor['rows']:,} rows | {floor['rate']:,.0f} rows/s |
| reading and storing as read (no checks, no duplicate detection; text columns, a transaction per file, files read ahead) | {stored['seconds']:,} s (CPU {stored['cpu_seconds']:,} s) | | {stored['rows']:,} rows | {stored['rate']:,.0f} rows/s |

Targets: ingest >= 1,000,000 records/s and <= 4 GB peak memory.
Ingest {'meets' if rate >= 1e6 else 'misses'} the speed target ({rate / 1e6:.2f}x) and {'meets' if ing['peak_rss_mib'] <= 4096 else 'misses'} the memory target.
Reading the files alone, with the same readers and nothing else, runs at {floor['rate'] / 1e6:.2f} million rows/s.
Reading them and storing every row as read in DuckDB, set up as the warehouse is, with nothing checked, runs at {stored['rate']:,.0f} rows/s ({stored['rate'] / 1e6:.2f}x the target): that is the ceiling for any ingest that reads these files with these readers and keeps them in the DuckDB warehouse, on this machine. Ingest runs at {rate / stored['rate']:.2f}x that ceiling.
At the target pace the city would have {result['rows'] / 1e6:.1f} s, {cores * result['rows'] / 1e6:.1f} CPU seconds on {cores} cores; reading and storing alone used {stored['cpu_seconds']:,} CPU seconds.
City realism: yearly outcome rate {summary['yearly_outcome_rate']}, true-PD AUC {summary['true_pd_auc_12m']['all']}.
"""
    write_section("ingest", body)
    if args.city:
        shutil.rmtree(home, ignore_errors=True)
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
