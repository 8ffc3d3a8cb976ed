"""The public evaluation on a generated city (issue 33): tiers that order risk, points that stay
predictive while following the declared rules, and nothing published that contradicts itself.

Rated at the latest month with 12 months of outcomes after it (point in time), it prints and
appends to RESULTS.md: each tier's share and 12-month outcome rate (they must rise strictly from
A to D, each tier holding at least 1 %), the AUC of the public points for the outcome and its
ratio to the champion's AUC on the same (held-out, not in default) subjects, each dimension's
share of the points range, and the consistency check's counts on the published snapshot.

    python benchmarks/evaluation_benchmark.py                 # a new 4,000-firm, 36-month city
    python benchmarks/evaluation_benchmark.py --home HOME     # a workspace already trained, scored and published
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def build(home: Path, firms: int, people: int, months: int) -> None:
    env = dict(os.environ, CHENGXIN_HOME=str(home))
    cli = [sys.executable, "-m", "chengxin"]
    for step in (["generate", "--out", str(home / "city"), "--enterprises", str(firms), "--individuals", str(people),
                  "--months", str(months), "--seed", "7"], ["ingest", str(home / "city")], ["train"],
                 ["score", "--as-of", "latest"], ["publish", "criteria"], ["explain", "--all", "--as-of", "latest"],
                 ["warn", "--as-of", "latest"], ["publish", "dashboard"]):
        subprocess.run(cli + step, env=env, check=True)


def measure(subject: str, home: Path) -> dict:
    from sklearn.metrics import roc_auc_score

    from chengxin import warehouse
    from chengxin.features import snapshots
    from chengxin import record_rules
    from chengxin.models import grades
    from chengxin.models.registered import rating_models
    from chengxin.pipelines import train

    m = rating_models(subject, home)
    ev = m["evaluation"]
    _, last = warehouse.monthly_span(home)
    horizon = record_rules.feature_settings().outcome.horizon_months
    as_of = (pd.Timestamp(last) - pd.DateOffset(months=horizon) + pd.offsets.MonthEnd(0)).date()
    with warehouse.connect(home, read_only=True) as con:
        s = snapshots.snapshot(as_of, subject, con=con, home=home)
    s = s.merge(snapshots.standing(subject, as_of, home)[["subject_id", "forced_tier"]], on="subject_id", how="left")
    points = ev.points(s[list(ev.feature_names_in_)])
    tiers = ev.tier(points, s["forced_tier"])
    frame = pd.DataFrame({"tier": tiers, "label": s["label"].to_numpy()})
    order = [t.tier for t in grades.rating_config().public_tiers]
    by_tier = frame.groupby("tier")["label"].agg(["size", "mean"]).reindex(order)
    by_tier["share"] = by_tier["size"] / len(frame)
    held = (train.subject_group(s["subject_id"]) == "oot").to_numpy() & ~s["in_default"].to_numpy()
    cols = list(ev.scorecard.feature_names_in_)
    auc_public = roc_auc_score(s["label"][held], -points[held])
    auc_champion = roc_auc_score(s["label"][held], m["champion"].predict_proba(s.loc[held, cols])[:, 1])
    best = ev.max_points()
    dims = best.groupby(pd.Series(ev.dimension_of_)).sum() / best.sum()
    rates = by_tier["mean"].to_numpy()
    return {"subject": subject, "as_of": str(as_of), "subjects": len(frame), "by_tier": by_tier,
            "increasing": bool(np.all(np.diff(rates) > 0)), "min_share": float(by_tier["share"].min()),
            "auc_public": auc_public, "auc_champion": auc_champion, "ratio": auc_public / auc_champion,
            "held_out": int(held.sum()), "dimensions": dims}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path)
    ap.add_argument("--enterprises", type=int, default=4000)
    ap.add_argument("--individuals", type=int, default=6000)
    ap.add_argument("--months", type=int, default=36)
    args = ap.parse_args()
    home = args.home or HERE / "work" / "evaluation_home"
    if args.home is None:
        build(home, args.enterprises, args.individuals, args.months)
    os.environ["CHENGXIN_HOME"] = str(home)
    from chengxin import consistency, readmodel

    lines = [f"\n## Public evaluation (evaluation_benchmark.py, {dt.date.today()})\n"]
    for subject in ("enterprise", "individual"):
        r = measure(subject, home)
        lines += [f"### {subject}s, rated on {r['as_of']} ({r['subjects']:,} subjects), outcome within 12 months\n",
                  "| tier | share | 12-month outcome rate |", "|---|---|---|"]
        lines += [f"| {t} | {row['share']:.1%} | {row['mean']:.2%} |" for t, row in r["by_tier"].iterrows()]
        lines += ["", f"- outcome rates strictly increasing A→D: {r['increasing']}; smallest tier share {r['min_share']:.1%}",
                  f"- AUC of the public points {r['auc_public']:.4f}, champion {r['auc_champion']:.4f} on the same "
                  f"{r['held_out']:,} held-out subjects not in default: ratio {r['ratio']:.3f}",
                  "- share of the points range by dimension: " + ", ".join(f"{k} {v:.0%}" for k, v in r["dimensions"].items()), ""]
    snap = readmodel.current(home)
    found = consistency.check(snap.path)
    lines.append("- consistency check on the published snapshot: " + ", ".join(f"{k} {v['count']}" for k, v in found.items()))
    text = "\n".join(lines) + "\n"
    print(text)
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
