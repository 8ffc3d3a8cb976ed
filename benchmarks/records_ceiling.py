"""Do the records carry more about individuals than the indicators do?

The individual champion stays below 95% of the true PD's AUC, and an unconstrained LightGBM on
every indicator of the catalogue (`model_quality.py`'s observable ceiling) does no better. This
checks the step before: it adds to the indicators what the raw records held on each as-of date
and the catalogue does not compute (utilities: the current arrears run, months since the last
arrears, months in arrears over 6 and 24 months and ever, the longest run; courts: enforcement
cases opened in 6 months, days since the last one opened, civil judgments in 6 and 12 months,
days since the last court record; traffic: violations in 3 and 36 months) and, separately,
the indicators of the firms a person represents (the largest value over those firms; a firm and
its representative carry signal about each other in the generator), fits the same
unconstrained LightGBM with and without them and compares the out-of-time AUC, for everyone and
for people with and without a loan or card. Same visibility rule as the indicators: a record
counts from the day the platform received it, in the version it held then.

    .venv/bin/python benchmarks/records_ceiling.py     # after benchmarks/model_quality.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from common import machine, markdown_table, write_section
from model_quality import catalogue_numeric, unconstrained

ROOT = Path(__file__).resolve().parents[1]

WORK = ROOT / "benchmarks" / "work"


def record_features(con, as_of) -> pd.DataFrame:
    """Per individual, what the raw utilities, courts and traffic records held on `as_of`."""
    from chengxin.features.sql import lit, months_before, visible

    a, seen = lit(as_of), visible(as_of)

    def since(months: int) -> str:
        return lit(months_before(as_of, months))

    utilities = con.sql(f"""
        WITH v AS (SELECT subject_id, period, arrears_months FROM rec_utilities
                   WHERE subject_type = 'individual' AND {seen} AND period <= {a}),
             latest AS (SELECT subject_id, max(period) AS last_period FROM v GROUP BY ALL)
        SELECT subject_id,
               max(arrears_months) FILTER (WHERE period = last_period) AS u_run_latest,
               date_diff('month', max(period), {a}) AS u_months_since,
               count(DISTINCT period) FILTER (WHERE period > {since(6)}) AS u_months_6m,
               count(DISTINCT period) FILTER (WHERE period > {since(24)}) AS u_months_24m,
               count(DISTINCT period) AS u_months_ever,
               max(arrears_months) AS u_run_longest
        FROM v JOIN latest USING (subject_id) GROUP BY ALL""").df()
    courts = con.sql(f"""
        SELECT subject_id,
               count(*) FILTER (WHERE event_type = 'enforcement_opened' AND event_date > {since(6)}) AS c_enforcement_6m,
               date_diff('day', max(event_date) FILTER (WHERE event_type = 'enforcement_opened'), {a}) AS c_days_since_enforcement,
               count(*) FILTER (WHERE event_type = 'civil_judgment' AND event_date > {since(6)}) AS c_civil_6m,
               count(*) FILTER (WHERE event_type = 'civil_judgment' AND event_date > {since(12)}) AS c_civil_12m,
               date_diff('day', max(event_date), {a}) AS c_days_since_any
        FROM rec_courts WHERE subject_type = 'individual' AND {seen} AND event_date <= {a} GROUP BY ALL""").df()
    traffic = con.sql(f"""
        SELECT subject_id, count(*) AS t_violations_36m,
               count(*) FILTER (WHERE event_date > {since(3)}) AS t_violations_3m
        FROM rec_traffic WHERE {seen} AND event_date <= {a} AND event_date > {since(36)} GROUP BY ALL""").df()
    return (utilities.merge(courts, on="subject_id", how="outer").merge(traffic, on="subject_id", how="outer")
            .assign(as_of=as_of))


def firm_features(con, firms: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per person, the indicators of the firms they represent on `as_of` (the largest value over
    those firms, in default or not), from the registrations the platform held then. Leaves out
    the firms' own indicators about their representative (`rep_*`)."""
    from chengxin.features.sql import visible

    link = con.sql(f"""SELECT DISTINCT subject_id AS firm_id, legal_rep_id AS subject_id FROM rec_registration
                       WHERE {visible(as_of)} AND legal_rep_id IS NOT NULL""").df()
    cols = [c for c in firms.columns if c in catalogue_numeric("enterprise") and not c.startswith("rep_")]
    own = firms.loc[firms["as_of"] == as_of, ["subject_id", "in_default", *cols]].rename(columns={"subject_id": "firm_id"})
    own["in_default"] = own["in_default"].astype(float)
    return (own.merge(link, on="firm_id").drop(columns="firm_id").groupby("subject_id").max()
            .add_prefix("firm_").reset_index().assign(as_of=as_of))


def evaluate(work: Path) -> list[dict]:
    os.environ["CHENGXIN_HOME"] = str(work / "home")
    from chengxin import warehouse
    from chengxin.features import snapshots
    from chengxin.pipelines import train

    home = work / "home"
    dates = train.window(home)
    data = train.rated_series(dates[0], dates[-1], "individual", home)
    firms = snapshots.series(dates[0], dates[-1], "enterprise", home=home)
    firms["as_of"] = pd.to_datetime(firms["as_of"]).dt.date
    as_ofs = sorted(data["as_of"].unique())
    with warehouse.connect(home, read_only=True) as con:
        extra = pd.concat([record_features(con, d) for d in as_ofs], ignore_index=True)
        linked = pd.concat([firm_features(con, firms, d) for d in as_ofs], ignore_index=True)
    data = (data.merge(extra, on=["subject_id", "as_of"], how="left")
            .merge(linked, on=["subject_id", "as_of"], how="left"))
    indicators = [c for c in data.columns if c in catalogue_numeric("individual")]
    records = [c for c in extra.columns if c not in ("subject_id", "as_of")]
    firm = [c for c in linked.columns if c not in ("subject_id", "as_of")]
    rows = []
    for name, cols in (("indicators (the observable ceiling)", indicators),
                       ("indicators + raw-record features", indicators + records),
                       ("indicators + the represented firms' indicators", indicators + firm)):
        oot, p = unconstrained(data, cols, dates)
        thin = (oot["p_loan_count"].fillna(0) == 0).to_numpy()
        rep = oot["firm_in_default"].notna().to_numpy()
        y = oot["label"].to_numpy()
        rows.append({"city": work.name, "inputs": name, "columns": len(cols), "oot rows": len(oot),
                     "AUC": roc_auc_score(y, p), "no loan or card": roc_auc_score(y[thin], p[thin]),
                     "a loan or card": roc_auc_score(y[~thin], p[~thin]),
                     "share representing a firm": rep.mean(), "representing a firm": roc_auc_score(y[rep], p[rep])})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cities", nargs="+", default=["quality", "quality_2027", "quality_2028"],
                    help="model-quality workspaces under benchmarks/work (each with home/)")
    args = ap.parse_args()
    table = pd.DataFrame([r for name in args.cities for r in evaluate(WORK / name)])
    fmt = table.copy()
    for c in ("AUC", "no loan or card", "a loan or card", "share representing a firm", "representing a firm"):
        fmt[c] = fmt[c].map(lambda v: f"{v:.4f}")
    fmt["oot rows"] = fmt["oot rows"].map(lambda v: f"{v:,}")
    body = "\n".join([
        "## Individuals: what the raw records add to the indicators (`benchmarks/records_ceiling.py`)", "",
        f"Command: `.venv/bin/python benchmarks/records_ceiling.py --cities {' '.join(args.cities)}` after "
        "`benchmarks/model_quality.py` has built those cities.", f"Machine: {machine()}.", "",
        "The same unconstrained LightGBM as the observable ceiling of the model-quality table, fitted on the same "
        "rows and scored on the same out-of-time rows, once on the catalogue's indicators and once with features "
        "computed straight from the utilities, courts and traffic records as the platform held them on each as-of "
        "date (see the script's docstring), and once with the indicators of the firms each person represents as "
        "legal representative on that date (the largest value over those firms). AUC for everyone, for people with "
        "and without a loan or card, and for the people who represent a firm.", "",
        markdown_table(fmt),
    ])
    write_section("records-ceiling", body)
    print(body)


if __name__ == "__main__":
    main()
