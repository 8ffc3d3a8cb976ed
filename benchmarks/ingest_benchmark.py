"""Generate and ingest a city at scale: wall time, records per second and peak memory.

    .venv/bin/python benchmarks/ingest_benchmark.py                       # 1,000,000 subjects, 36 months
    .venv/bin/python benchmarks/ingest_benchmark.py --enterprises 20000 --individuals 30000 --months 12

Targets (issue 2): ingest at >= 1 million records/s on 2 cores with peak memory <= 4 GB.
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, peak_rss_mib, relative, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "chengxin")


def read_only(city: Path) -> dict:
    """Reading every upload as ingest reads it (decoding, CSV / Excel / Parquet parsing) and
    nothing else: the floor under any ingest built on these readers, on this machine."""
    sys.path.insert(0, str(ROOT))
    from chengxin import config, readers
    from chengxin.pipelines import ingest

    sniff = config.settings().ingest.encoding_sniff_bytes
    rows, started = 0, time.perf_counter()
    for path in ingest.discover(city):
        rows += readers.read_table(path, sniff).table.num_rows
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 1), "rate": rows / seconds}


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
    ing = peak_rss_mib([CLI, "ingest", str(city), "--json"], env)
    result = json.loads(ing["stdout"])
    rate = result["rows"] / ing["seconds"]
    print(f"ingest: {ing['seconds']} s, peak {ing['peak_rss_mib']} MiB, {result['rows']:,} rows, {rate:,.0f} rows/s",
          flush=True)

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

Targets: ingest >= 1,000,000 records/s and <= 4 GB peak memory.
Ingest {'meets' if rate >= 1e6 else 'misses'} the speed target ({rate / 1e6:.2f}x) and {'meets' if ing['peak_rss_mib'] <= 4096 else 'misses'} the memory target.
Reading the files alone, with the same readers and nothing else, runs at {floor['rate'] / 1e6:.2f} million rows/s: that is the ceiling for any ingest built on them on this machine.
City realism: yearly outcome rate {summary['yearly_outcome_rate']}, true-PD AUC {summary['true_pd_auc_12m']['all']}.
"""
    write_section("ingest", body)
    if args.city:
        shutil.rmtree(home, ignore_errors=True)
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
