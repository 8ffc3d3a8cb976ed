"""Ingest speed of this tree against an earlier revision, run alternately on the same files.

This machine's speed drifts by up to a third between runs, so a speed-up is only believed
when old and new run turn about, several times, on the same files into fresh workspaces; which
goes first alternates from round to round.

    .venv/bin/python benchmarks/ingest_ab.py --against c06be4e          # 4 finance + 3 tax files of the big city
    .venv/bin/python benchmarks/ingest_ab.py --against HEAD~3 --rounds 5 --files 'benchmarks/work/city/courts/*'

The earlier revision is checked out with `git worktree` into a temporary folder, its pipelines/,
features/, models/ and app/ copied under its chengxin/ (as the installed package maps them). Each
run is a child process of .venv's Python: an earlier run has that folder first on the child's
PYTHONPATH (and `-P`, so the working directory's chengxin/ does not come first), so it imports the
earlier code with this tree's installed dependencies; a run of this tree imports the installed
package. Neither edits sys.path.
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_FILES = ["benchmarks/work/city/finance/finance_2023-1[0-3]*.csv", "benchmarks/work/city/tax/tax_2023-1[0-2].csv"]
SUBPACKAGES = ("pipelines", "features", "models", "app")
RUN = """
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
from chengxin.pipelines import ingest
home = Path(tempfile.mkdtemp(prefix="chengxin-ab-"))
try:
    started = time.perf_counter()
    summary = ingest.ingest(Path(sys.argv[1]), home=home)
    seconds = time.perf_counter() - started
finally:
    shutil.rmtree(home)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "rows": summary.rows,
                  "accepted": summary.accepted, "rejected": summary.rejected, "duplicates": summary.duplicates}))
"""


def checkout(revision: str, into: Path) -> Path:
    tree = into / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), revision],
                   check=True, capture_output=True)
    for name in SUBPACKAGES:  # importable as chengxin.<name>, as pyproject's package-dir maps them
        if (tree / name).is_dir() and not (tree / "chengxin" / name).exists():
            shutil.copytree(tree / name, tree / "chengxin" / name)
    return tree


def run(tree: str, folder: Path) -> dict:
    """Ingest `folder` in a child process: with the code of the checkout at `tree` (first on the
    child's PYTHONPATH), or with the installed package (this tree) when `tree` is empty."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    # -P: the working directory (ROOT, with this tree's chengxin/) is not put first on sys.path
    out = subprocess.run([PYTHON, "-P", "-c", RUN, str(folder)], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"ingest with {tree or 'this tree'} failed: {last} (the earlier revision's dependencies "
                         "must be installed in .venv too)")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", required=True, help="the earlier revision (a commit, tag or HEAD~N)")
    ap.add_argument("--files", nargs="+", default=DEFAULT_FILES, help="globs of the uploads to ingest")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--section", default="ingest-ab", help="the RESULTS.md section to write")
    args = ap.parse_args()

    files = sorted({Path(p).resolve() for pattern in args.files for p in glob.glob(str(ROOT / pattern))
                    if not Path(p).parent.name.startswith(("_", "."))})  # ingest skips these folders
    if not files:
        raise SystemExit(f"no files match {args.files}: generate the city first (see benchmarks/ingest_benchmark.py)")
    work = Path(tempfile.mkdtemp(prefix="chengxin-ab-"))
    try:
        folder = work / "uploads"
        for f in files:  # a folder per source, as ingest expects
            (folder / f.parent.name).mkdir(parents=True, exist_ok=True)
            (folder / f.parent.name / f.name).symlink_to(f)
        tree = checkout(args.against, work)
        results = {"earlier": [], "this tree": []}
        pair = (("earlier", str(tree)), ("this tree", ""))
        for k in range(args.rounds):
            # which goes first alternates, so that a machine slowing down (or speeding up) through
            # the runs favours neither
            for name, path in pair if k % 2 == 0 else pair[::-1]:
                r = run(path, folder)
                results[name].append(r)
                print(f"round {k + 1} {name:9s} {r['seconds']:6.1f} s  CPU {r['cpu']:6.1f} s  {r['rows']:,} rows", flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "tree")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    counts = {name: {k: rs[0][k] for k in ("accepted", "rejected", "duplicates")} for name, rs in results.items()}
    def series(rs: list[dict], key: str) -> str:
        return ", ".join(f"{r[key]:.1f}" for r in rs)

    def median(rs: list[dict], key: str = "seconds") -> float:
        return statistics.median(r[key] for r in rs)

    rows = [f"| {name} | {series(rs, 'seconds')} | {series(rs, 'cpu')} | {median(rs):.1f} | {median(rs, 'cpu'):.1f} |"
            for name, rs in results.items()]
    best = min(r["seconds"] for r in results["earlier"]) / min(r["seconds"] for r in results["this tree"])
    typical = median(results["earlier"]) / median(results["this tree"])
    this = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    body = f"""## Ingest, this tree against an earlier revision (`benchmarks/ingest_ab.py`)

Command: `.venv/bin/python benchmarks/ingest_ab.py {shlex.join(sys.argv[1:])}`: {len(files)} files,
{results['this tree'][0]['rows']:,} rows ({', '.join(sorted({f.parent.name for f in files}))}), each run into a fresh workspace, the two turn about (the earlier revision first in odd rounds, this tree first in even ones).
Machine: {machine()}.

| code | wall time per round (s) | CPU time per round (s) | median wall (s) | median CPU (s) |
|---|---|---|---|---|
{chr(10).join(rows)}

This tree: {this}. Median against median, it runs at {typical:.2f}x the speed of {args.against} (best against best
{best:.2f}x). Both load the same rows:
{'identical counts' if counts['earlier'] == counts['this tree'] else f'counts differ: {counts}'} ({counts['this tree']}).
"""
    write_section(args.section, body)


if __name__ == "__main__":
    main()
