"""Early warning measured against the generator's truth (issue 5).

For each of the evaluated month ends, the alerts `chengxin warn` would raise (computed, not
stored); then, against `_truth/outcomes.csv`:

- precision of the top-K: the share of the K highest-priority alerted subjects (K = 1% of the
  rated subjects that month) whose outcome falls in the 6 months after the month end;
- catch rate: of the outcomes whose 6 preceding month ends were all evaluated, the share whose
  subject was on the list 1-6 months before;
- median lead time: months from the first such alert to the outcome.

Per signal family (rules, model, anomaly) and combined. The target: the combined top-1% list
catches >= 40% of the next 6 months' outcomes with a median lead time >= 3 months.

    .venv/bin/python benchmarks/warn_benchmark.py --home benchmarks/work/quality/home --city benchmarks/work/quality/city
(after `benchmarks/model_quality.py`, which leaves that trained workspace)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import machine, markdown_table, write_section  # noqa: E402
from common import relative as _rel  # noqa: E402

FAMILIES = ("rules", "model", "anomaly", "combined")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "work" / "quality" / "home")
    ap.add_argument("--city", type=Path, default=ROOT / "benchmarks" / "work" / "quality" / "city")
    ap.add_argument("--months", type=int, default=12, help="month ends evaluated (the latest with 6 months of outcomes after)")
    ap.add_argument("--share", type=float, default=0.01, help="top share of rated subjects on the list")
    args = ap.parse_args()
    os.environ["CHENGXIN_HOME"] = str(args.home)

    from chengxin.features import snapshots
    from chengxin.pipelines import features as feature_stage
    from chengxin.pipelines import warn

    last = (pd.Timestamp(feature_stage.latest_as_of(args.home)) - pd.DateOffset(months=7) + pd.offsets.MonthEnd(0)).date()
    months = snapshots.month_ends((pd.Timestamp(last) - pd.DateOffset(months=args.months - 1)).date(), last)
    rules = {r.name for r in warn.warning_config().rules}
    family_of = lambda s: "rules" if s in rules else ("model" if s in ("pd_jump", "downgrade") else "anomaly")  # noqa: E731

    lists = []  # month, subject_id, family, rank within the family list
    for k, day in enumerate(months):
        for subject in ("enterprise", "individual"):
            alerts, cur, _ = warn.alerts(subject, day, home=args.home)
            k_top = max(1, int(round(args.share * int((~cur["in_default"]).sum()))))
            fam = alerts.assign(family=alerts["signals"].str.split(",")).explode("family")
            fam["family"] = fam["family"].map(family_of)
            fam = fam.drop_duplicates(["subject_id", "family"])
            for name, group in list(fam.groupby("family")) + [("combined", alerts)]:
                top = group.sort_values("score", ascending=False).head(k_top)
                lists.append(pd.DataFrame({"month": pd.Timestamp(day), "subject_id": top["subject_id"],
                                           "family": name, "subject_type": subject}))
        print(f"{day}: {k + 1}/{len(months)} months", flush=True)
    lists = pd.concat(lists, ignore_index=True)

    outcomes = pd.read_csv(args.city / "_truth" / "outcomes.csv", dtype={"subject_id": str}, parse_dates=["event_date"])
    outcomes = outcomes.sort_values("event_date").drop_duplicates("subject_id")
    outcomes["month"] = outcomes["event_date"] + pd.offsets.MonthEnd(0)
    first, final = pd.Timestamp(months[0]), pd.Timestamp(months[-1])
    # outcomes whose 6 preceding month ends were all evaluated
    eligible = outcomes[(outcomes["month"] > first + pd.offsets.MonthEnd(6)) & (outcomes["month"] <= final + pd.offsets.MonthEnd(1))]

    rows = []
    for family in FAMILIES:
        lst = lists[lists["family"] == family]
        # precision: listed subjects with an outcome within 6 months after the month end
        hit = lst.merge(outcomes[["subject_id", "event_date"]], on="subject_id", how="left")
        ahead = (hit["event_date"] > hit["month"]) & (hit["event_date"] <= hit["month"] + pd.offsets.MonthEnd(6))
        precision = ahead.mean() if len(hit) else float("nan")
        # catch rate and lead time
        m = eligible.merge(lst[["subject_id", "month"]].rename(columns={"month": "listed"}), on="subject_id", how="left")
        lead = ((m["month"].dt.year - m["listed"].dt.year) * 12 + (m["month"].dt.month - m["listed"].dt.month))
        m = m.assign(lead=lead.where((lead >= 1) & (lead <= 6)))
        best = m.groupby("subject_id")["lead"].max()
        caught = best.notna()
        rows.append({"signals": family, "listed per month": f"{len(lst) / len(months):,.0f}",
                     f"precision of top {args.share:.0%}": f"{precision:.3f}",
                     "outcomes caught 1-6 months ahead": f"{caught.mean():.3f} of {len(best):,}",
                     "median lead (months)": f"{best[caught].median():.1f}" if caught.any() else "-"})
        print(rows[-1], flush=True)
    # FAMILIES ends with "combined": the last loop's figures are the ones the target is about
    catch, lead = float(caught.mean()), float(best[caught].median()) if caught.any() else 0.0
    body = "\n".join([
        "## Early warning against the truth (`benchmarks/warn_benchmark.py`)", "",
        f"Command: `.venv/bin/python benchmarks/warn_benchmark.py --home {_rel(args.home)} --city {_rel(args.city)} --months {args.months}` "
        "after `benchmarks/model_quality.py` (which leaves that trained workspace).", f"Machine: {machine()}.", "",
        f"Month ends {months[0]}..{months[-1]}; each month's list holds the top {args.share:.0%} of rated subjects "
        "of each type by alert priority (the family's own alerts for a family row). Outcomes: the generator's "
        "`_truth/outcomes.csv`, first per subject, whose 6 preceding month ends were all evaluated.", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"Target: the combined top-1% list catches >= 40% of outcomes with a median lead >= 3 months: "
        f"{'met' if catch >= 0.4 and lead >= 3 else 'not met'} ({catch:.0%}, {lead:.1f} months).",
    ])
    write_section("warn", body)
    print(body)


if __name__ == "__main__":
    main()
