"""Training and scoring at city scale (issue 4's speed targets).

Runs, as child processes on an ingested warehouse (by default the 1,000,000-subject city that
`ingest_benchmark.py --keep` leaves in benchmarks/work/home):

- `chengxin train --subject S` for each subject type: both models on the monthly series of the
  training window (snapshots, fitting, calibration, validation, MLflow logging, registration);
- `chengxin score --as-of latest --subject S` for each subject type: every subject rated.

Wall time and peak memory of each; targets: training one subject type <= 20 minutes, scoring
1,000,000 subjects <= 2 minutes, on 2 cores.

    .venv/bin/python benchmarks/rating_benchmark.py --home benchmarks/work/home
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import machine, markdown_table, peak_rss_mib, write_section

ROOT = Path(__file__).resolve().parents[1]

CLI = str(ROOT / ".venv" / "bin" / "chengxin")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "work" / "home")
    ap.add_argument("--subjects", default="enterprise,individual")
    args = ap.parse_args()
    env = {"CHENGXIN_HOME": str(args.home.resolve())}
    rows, scored, score_seconds = [], 0, 0.0
    for subject in args.subjects.split(","):
        run = peak_rss_mib([CLI, "train", "--subject", subject, "--json"], env)
        out = json.loads(run["stdout"])
        rows.append({"step": f"train {subject}", "wall time": f"{run['seconds']:.0f} s", "CPU time": f"{run['cpu_seconds']:.0f} s",
                     "peak memory": f"{run['peak_rss_mib']:,} MiB",
                     "volume": f"{sum(out['rows'].values()):,} rows (fit {out['rows']['fit']:,}, calibrate "
                               f"{out['rows']['calibrate']:,}, out of time {out['rows']['oot']:,})",
                     "result": "; ".join(f"{k} AUC {v['auc']:.3f}" for k, v in out["models"].items()),
                     "target": "<= 1200 s"})
        print(rows[-1], flush=True)
    for subject in args.subjects.split(","):
        run = peak_rss_mib([CLI, "score", "--as-of", "latest", "--subject", subject, "--json"], env)
        out = json.loads(run["stdout"])
        scored += out["rated"]
        score_seconds += run["seconds"]
        rows.append({"step": f"score {subject}", "wall time": f"{run['seconds']:.0f} s", "CPU time": f"{run['cpu_seconds']:.0f} s",
                     "peak memory": f"{run['peak_rss_mib']:,} MiB", "volume": f"{out['rated']:,} subjects",
                     "result": f"champion v{out['model_version']}, {out['in_default']:,} in default", "target": ""})
        print(rows[-1], flush=True)
    import pandas as pd

    body = "\n".join([
        "## Training and scoring (`benchmarks/rating_benchmark.py`)", "",
        f"Command: `.venv/bin/python benchmarks/rating_benchmark.py --home {args.home}` after "
        "`ingest_benchmark.py --keep` (`make benchmark` runs both).", f"Machine: {machine()}.", "",
        "Each step is a separate `chengxin` process; wall time includes start-up, indicator snapshots, "
        "MLflow logging and writing the ratings. CPU time is user + system time of the process and its "
        "children: with other work on the machine, wall time overstates what the step needs.", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"Scoring all {scored:,} subjects took {score_seconds:.0f} s (target <= 120 s for 1,000,000).",
    ])
    write_section("rating", body)
    print(body)


if __name__ == "__main__":
    main()
