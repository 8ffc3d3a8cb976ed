"""Explanation speed (issue 5): both TreeSHAP paths, the batch pass over every subject, one look-up.

On a trained, rated workspace (default: the 1,000,000-subject city of `ingest_benchmark.py
--keep` after `rating_benchmark.py`):

- LightGBM's native `pred_contrib` against `shap.TreeExplainer` on the same rows of the
  enterprise boosted model: rows per second and the largest difference;
- `explain_all` (what `chengxin explain --all` runs) for each subject type: wall time, rows
  explained by TreeSHAP and rows reused from the previous month;
- a single `explain()` in a warm process (models and snapshot cached): median of 20 subjects.

    .venv/bin/python benchmarks/explain_benchmark.py --home benchmarks/work/home
Needs `shap` (the `bench` extra: `pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import machine, markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "work" / "home")
    ap.add_argument("--sample", type=int, default=20_000, help="rows for the TreeSHAP path comparison")
    args = ap.parse_args()
    os.environ["CHENGXIN_HOME"] = str(args.home)
    import shap

    from chengxin import catalog
    from chengxin.features import snapshots
    from chengxin.models import explain as ex
    from chengxin.models.registered import rating_models
    from chengxin.pipelines import explain as stage
    from chengxin.readmodel import explanation

    rows = []
    subject = "enterprise"
    dates = catalog.rated_dates(subject, args.home)
    day = dates[-1]
    m = rating_models(subject, args.home)
    boosted = ex.unwrap(m["boosted"])
    X = snapshots.stored_indicators(subject, day, home=args.home)
    sample = X[list(boosted.feature_names_in_)].head(args.sample)
    prepared = boosted._prepare(sample)
    t = time.perf_counter()
    native = boosted.booster_.predict(prepared, pred_contrib=True)
    t_native = time.perf_counter() - t
    explainer = shap.TreeExplainer(boosted.booster_.booster_)
    t = time.perf_counter()
    values = explainer.shap_values(prepared)
    t_shap = time.perf_counter() - t
    values = values[1] if isinstance(values, list) else values
    diff = float(np.max(np.abs(values - native[:, :-1])))
    trees = boosted.booster_.booster_.num_trees()
    for name, secs in (("LightGBM pred_contrib", t_native), ("shap.TreeExplainer", t_shap)):
        rows.append({"measurement": f"{name}, {len(sample):,} rows, {trees} trees x {boosted.num_leaves} leaves, {sample.shape[1]} indicators",
                     "result": f"{secs:.1f} s ({len(sample) / secs:,.0f} rows/s; {1e6 / (len(sample) / secs) / 60:.1f} min per million)"})
    rows.append({"measurement": "largest difference between the two (shap hands a LightGBM model to LightGBM's own "
                                "pred_contrib, so both paths are one computation and their timings differ by warm-up and noise only)", "result": f"{diff:.2e}"})
    total_rows, total_secs = 0, 0.0
    for s in ("enterprise", "individual"):
        r = stage.explain_all(s, day, home=args.home)
        total_rows += r["subjects"]
        total_secs += r["seconds"]
        rows.append({"measurement": f"explain_all {s} ({r['as_of']})",
                     "result": f"{r['seconds']:.0f} s for {r['subjects']:,} subjects ({r['treeshap']:,} TreeSHAP, {r['reused']:,} reused)"})
    ids = X["subject_id"].sample(20, random_state=0).tolist()
    explanation.explain(ids[0], day, home=args.home)  # warm: models and snapshot metadata
    times = []
    for sid in ids:
        t = time.perf_counter()
        explanation.explain(sid, day, home=args.home)
        times.append(time.perf_counter() - t)
    rows.append({"measurement": "one explain() in a warm process (grade, reasons, contributions, repair path), median of 20",
                 "result": f"{statistics.median(times):.2f} s (max {max(times):.2f} s)"})
    body = "\n".join([
        "## Explanations (`benchmarks/explain_benchmark.py`)", "",
        f"Command: `.venv/bin/python benchmarks/explain_benchmark.py --home {args.home}`.", f"Machine: {machine()}.", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"All subjects: {total_rows:,} explained in {total_secs:.0f} s (target: 1,000,000 within 300 s); "
        f"one look-up: target under 1 s.",
    ])
    write_section("explain", body)
    print(body)


if __name__ == "__main__":
    main()
