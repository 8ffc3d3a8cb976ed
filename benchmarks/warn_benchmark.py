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

Per severity (issue 19: severity is the desk's capacity, `severity` in
`chengxin/conf/warnings.yaml`), per subject type and for both: alerts per month, precision (the
share of the severity's alerted subjects whose outcome falls in the 6 months after the month
end) and recall (of the month's rated subjects, not in default, whose outcome falls in those 6
months, the share alerted that month at that severity or above); and the `high` band as it would
be chosen by the signal weights first (then PD) and by the former rule (signal weights >= 3).

    .venv/bin/python benchmarks/warn_benchmark.py --home benchmarks/work/quality/home --city benchmarks/work/quality/city
(after `benchmarks/model_quality.py`, which leaves that trained workspace, or on any generated,
ingested and trained city: `chengxin generate`, `chengxin ingest`, `chengxin train`)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd

from common import machine, markdown_table, write_section
from common import relative as _rel

ROOT = Path(__file__).resolve().parents[1]

FAMILIES = ("rules", "model", "anomaly", "combined")


HORIZON = 6  # months after the month end in which an alerted subject's outcome counts
LEVELS = ("high", "medium", "low")


def _ahead(frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.Series:
    """Per row of (month, subject_id): whether the subject's first outcome falls in the horizon."""
    when = frame[["subject_id"]].merge(outcomes[["subject_id", "event_date"]], on="subject_id", how="left")["event_date"]
    when.index = frame.index
    return (when > frame["month"]) & (when <= frame["month"] + pd.offsets.MonthEnd(HORIZON))


def severity_tables(raised: pd.DataFrame, rated: pd.DataFrame, outcomes: pd.DataFrame, n_months: int, cfg) -> tuple:
    """(precision and recall per subject type and severity, the high band chosen three ways)."""
    raised = raised.assign(hit=_ahead(raised, outcomes), weight=(raised["score"] - cfg.pd_weight * raised["pd"]).round(6))
    rated = rated.assign(hit=_ahead(rated, outcomes))
    level = {s: k for k, s in enumerate(LEVELS)}
    rows = []
    for name, sel_a, sel_r in [(t, raised["subject_type"] == t, rated["subject_type"] == t) for t in ("enterprise", "individual")] + \
            [("both", raised["subject_type"].notna(), rated["subject_type"].notna())]:
        a, r = raised[sel_a], rated[sel_r]
        eventual = r[r["hit"]][["month", "subject_id"]].merge(a[["month", "subject_id", "severity"]], on=["month", "subject_id"], how="left")
        for sev in LEVELS + ("any",):
            these = a if sev == "any" else a[a["severity"] == sev]
            at_or_above = eventual["severity"].notna() if sev == "any" else eventual["severity"].map(level).le(level[sev])
            rows.append({"subjects": name, "severity": sev if sev != "any" else "any alert",
                         "alerts per month": f"{len(these) / n_months:,.0f}",
                         "share of rated subjects": f"{len(these) / len(r):.2%}",
                         f"precision ({HORIZON} months)": f"{these['hit'].mean():.3f}" if len(these) else "-",
                         "recall at this severity or above": f"{at_or_above.mean():.3f} of {len(eventual):,}"})
    bands = []
    for label, order in [("priority, then PD (used)", (["score", "pd", "subject_id"], [False, False, True])),
                         ("signal weights, then PD", (["weight", "pd", "subject_id"], [False, False, True]))]:
        bands.append(_band(label, _top(raised, rated, order, cfg.severity.high_share), rated, n_months))
    bands.append(_band("former rule: signal weights >= 3", raised[raised["weight"] >= 3], rated, n_months))
    return pd.DataFrame(rows), pd.DataFrame(bands)


def _top(raised: pd.DataFrame, rated: pd.DataFrame, order, share: float) -> pd.DataFrame:
    """Per month and subject type, the first `share` of the rated subjects' count of alerts in `order`."""
    counts = rated.groupby(["month", "subject_type"]).size()
    parts = []
    for key, group in raised.groupby(["month", "subject_type"]):
        k = int(share * counts.loc[key] + 1e-9)
        parts.append(group.sort_values(order[0], ascending=order[1]).head(k))
    return pd.concat(parts, ignore_index=True)


def _band(label: str, band: pd.DataFrame, rated: pd.DataFrame, n_months: int) -> dict:
    eventual = rated[rated["hit"]][["month", "subject_id"]].merge(band[["month", "subject_id"]].assign(on=True),
                                                                   on=["month", "subject_id"], how="left")
    return {"high band chosen by": label, "high alerts per month": f"{len(band) / n_months:,.0f}",
            "share of rated subjects": f"{len(band) / len(rated):.2%}",
            f"precision ({HORIZON} months)": f"{band['hit'].mean():.3f}",
            "recall": f"{eventual['on'].notna().mean():.3f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "work" / "quality" / "home")
    ap.add_argument("--city", type=Path, default=ROOT / "benchmarks" / "work" / "quality" / "city")
    ap.add_argument("--months", type=int, default=12, help="month ends evaluated (the latest with 6 months of outcomes after)")
    ap.add_argument("--share", type=float, default=0.01, help="top share of rated subjects on the list")
    args = ap.parse_args()
    os.environ["CHENGXIN_HOME"] = str(args.home)
    started = time.perf_counter()

    from chengxin.features import snapshots
    from chengxin import warehouse
    from chengxin.models.warning_rules import warning_config
    from chengxin.pipelines import warn

    last = (pd.Timestamp(warehouse.latest_as_of(args.home)) - pd.DateOffset(months=7) + pd.offsets.MonthEnd(0)).date()
    months = snapshots.month_ends((pd.Timestamp(last) - pd.DateOffset(months=args.months - 1)).date(), last)
    rules = {r.name for r in warning_config().rules}
    family_of = lambda s: "rules" if s in rules else ("model" if s in ("pd_jump", "downgrade") else "anomaly")  # noqa: E731

    lists = []  # month, subject_id, family, rank within the family list
    raised, rated = [], []  # every alert with its severity; every rated subject not in default
    for k, day in enumerate(months):
        for subject in ("enterprise", "individual"):
            alerts, cur, _ = warn.alerts(subject, day, home=args.home)
            raised.append(alerts[["subject_id", "severity", "score", "pd"]].assign(month=pd.Timestamp(day), subject_type=subject))
            rated.append(pd.DataFrame({"month": pd.Timestamp(day), "subject_type": subject,
                                       "subject_id": cur.loc[~cur["in_default"], "subject_id"].to_numpy()}))
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
    by_severity, bands = severity_tables(pd.concat(raised, ignore_index=True), pd.concat(rated, ignore_index=True),
                                         outcomes, len(months), warning_config())
    sev = warning_config().severity
    city = json.loads((args.city / "_truth" / "summary.json").read_text("utf-8"))
    body = "\n".join([
        "## Early warning against the truth (`benchmarks/warn_benchmark.py`)", "",
        f"Command: `.venv/bin/python benchmarks/warn_benchmark.py --home {_rel(args.home)} --city {_rel(args.city)} --months {args.months}` "
        f"on a trained workspace: `benchmarks/model_quality.py` leaves one in `benchmarks/work/quality`, or "
        f"`export CHENGXIN_HOME={_rel(args.home)}; .venv/bin/chengxin generate --out {_rel(args.city)} "
        f"--enterprises {city['subjects']['enterprise']} --individuals {city['subjects']['individual']} "
        f"--months {city['months']} --seed {city['seed']} --start {city['start']}; .venv/bin/chengxin ingest {_rel(args.city)}; "
        f".venv/bin/chengxin train`.", f"City: {city['subjects']['enterprise']:,} enterprises, "
        f"{city['subjects']['individual']:,} individuals, {city['months']} months from {city['start']}, seed {city['seed']}. "
        f"Machine: {machine()}. Wall time: {time.perf_counter() - started:,.0f} s.", "",
        f"Month ends {months[0]}..{months[-1]}; each month's list holds the top {args.share:.0%} of rated subjects "
        "of each type by alert priority (the family's own alerts for a family row). Outcomes: the generator's "
        "`_truth/outcomes.csv`, first per subject, whose 6 preceding month ends were all evaluated.", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"Target: the combined top-1% list catches >= 40% of outcomes with a median lead >= 3 months: "
        f"{'met' if catch >= 0.4 and lead >= 3 else 'not met'} ({catch:.0%}, {lead:.1f} months).", "",
        "### Per severity", "",
        f"Severity by rank within the month and subject type (`severity` in `chengxin/conf/warnings.yaml`: "
        f"`high` for at most {sev.high_share:.0%} of the type's rated subjects, `medium` for the next "
        f"{sev.medium_share:.0%}, in priority order). Precision: the share of the severity's alerted subjects whose "
        f"outcome falls in the {HORIZON} months after the month end. Recall: of the month's rated subjects (not in "
        f"default) whose outcome falls in those {HORIZON} months, the share alerted that month at that severity or "
        "above; pooled over the evaluated months.", "",
        markdown_table(by_severity), "",
        "The `high` band chosen three ways from the same alerts, per month and subject type: by priority (signal "
        "weights + `pd_weight` x PD, the order used), by the signal weights first and PD only to break ties, and by "
        "the former rule (signal weights summing to 3 or more, however many that makes).", "",
        markdown_table(bands),
    ])
    write_section("warn", body)
    print(body)


if __name__ == "__main__":
    main()
