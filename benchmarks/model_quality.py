"""Rating-model quality against the generator's truth (issue 4's quality bars).

Generates a city (or reuses one), ingests it, trains both models per subject type and compares,
on the out-of-time validation rows (later months, subjects never used for fitting or
calibration), the champion's AUC with the AUC of the generator's true 12-month PD on the same
subjects and months. Calibration is the share of master-scale grades whose predicted PD lies in
the Jeffreys 95% interval of the observed default rate. The truth is read here only, never by
training or scoring.

    .venv/bin/python benchmarks/model_quality.py     # three cities the demo's size (20,000 firms, 50,000 people,
                                                     # 36 months), seeds 2026, 2027 and 2028
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from common import machine, markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]


def unconstrained(data: pd.DataFrame, cols: list[str], dates: list) -> tuple[pd.DataFrame, np.ndarray]:
    """An unconstrained LightGBM (no monotone constraints) on `cols`, fitted on all the rows the
    real recipe may use (fit and calibration subjects, fit and calibration months); returns the
    out-of-time rows and its predictions for them."""
    import lightgbm as lgb

    from chengxin.pipelines import train

    parts, group = train.split(dates), train.subject_group(data["subject_id"])
    fit = data[data["as_of"].isin(parts["fit"] + parts["calibrate"]) & (group != "oot")]
    oot = data[data["as_of"].isin(parts["oot"]) & (group == "oot")]
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=200, verbose=-1)
    model.fit(fit[cols].astype(float), fit["label"])
    return oot, model.predict_proba(oot[cols].astype(float))[:, 1]


def catalogue_numeric(subject: str) -> set[str]:
    """Every numeric indicator of the catalogue for the subject type, published or not."""
    from chengxin.features.catalogue import catalogue

    return {i.name for i in catalogue().for_subject(subject, published_only=False) if i.kind != "category"}


def observable_ceiling(subject: str, home: Path, dates: list) -> tuple[float, int]:
    """What the indicators can carry at most: `unconstrained` on every numeric indicator of the
    catalogue, scored on the same out-of-time rows as the champion. Returns its AUC and the
    number of indicators."""
    from chengxin.pipelines import train

    data = train.rated_series(dates[0], dates[-1], subject, home)
    cols = [c for c in data.columns if c in catalogue_numeric(subject)]
    oot, p = unconstrained(data, cols, dates)
    return roc_auc_score(oot["label"], p), len(cols)


def ratio_interval(label, model, truth, subjects, resamples: int = 400, seed: int = 0) -> tuple[float, float]:
    """95% interval of AUC(model) / AUC(truth) on the same rows, by a bootstrap over subjects
    (a subject's monthly rows share its features and its outcome, so they are drawn together)."""
    codes, uniques = pd.factorize(pd.Series(subjects).reset_index(drop=True))
    rng = np.random.default_rng(seed)
    label, model, truth = (np.asarray(a) for a in (label, model, truth))
    ratios = []
    for _ in range(resamples):
        weight = rng.multinomial(len(uniques), np.full(len(uniques), 1 / len(uniques)))[codes]
        keep = weight > 0
        w, y = weight[keep], label[keep]
        ratios.append(roc_auc_score(y, model[keep], sample_weight=w) / roc_auc_score(y, truth[keep], sample_weight=w))
    return tuple(np.quantile(ratios, [0.025, 0.975]))


def evaluate(args, seed: int, work: Path) -> list[dict]:
    """Generate (or reuse) one city, train both subject types, and measure them against its truth."""
    city, home = work / "city", work / "home"
    os.environ["CHENGXIN_HOME"] = str(home)

    from chengxin.city import generate
    from chengxin.models import registered
    from chengxin.pipelines import train
    from chengxin.pipelines.ingest import ingest

    if not (city / "_truth" / "summary.json").exists():
        generate(city, args.enterprises, args.individuals, args.months, seed=seed)
        ingest(city, home=home)
    truth = pd.read_csv(city / "_truth" / "monthly_pd.csv", dtype={"subject_id": str}, usecols=["subject_id", "month", "true_pd_12m"])
    late = json.loads((city / "_truth" / "summary.json").read_text("utf-8"))["late_departments"]

    rows, segments = [], []
    for subject in ("enterprise", "individual"):
        started = time.perf_counter()
        run = train.train(subject, home=home)
        seconds = time.perf_counter() - started
        dates = train.window(home)
        oot_dates = train.split(dates)["oot"]
        oot = train.partition(train.rated_series(oot_dates[0], oot_dates[-1], subject, home), dates)["oot"].copy()
        # the true PD of the as-of month, and what a perfect rater sees with the records' delay: the
        # true PD of one and two months before it (a month's uploads arrive in the next, some weeks later)
        pd_cols = {0: "true_pd_12m", 1: "true_pd_1m_before", 2: "true_pd_2m_before"}
        for lag, column in pd_cols.items():
            month = (pd.to_datetime(oot["as_of"]) - pd.DateOffset(months=lag)).dt.strftime("%Y-%m")
            oot = (oot.assign(month=month)
                   .merge(truth.rename(columns={"true_pd_12m": column}), on=["subject_id", "month"], how="left"))
        # a subject the truth has no row for did not exist that month: no chance of an outcome
        oot = oot.drop(columns="month")
        oot[list(pd_cols.values())] = oot[list(pd_cols.values())].fillna(0.0)
        champion, _ = registered.load(subject, "champion", home)
        names = [c for c in champion.feature_names_in_]
        p_model = champion.predict_proba(oot[names])[:, 1]
        model_auc = roc_auc_score(oot["label"], p_model)
        true_auc = roc_auc_score(oot["label"], oot["true_pd_12m"])
        low, high = ratio_interval(oot["label"], p_model, oot["true_pd_12m"], oot["subject_id"])
        delayed = {lag: roc_auc_score(oot["label"], oot[f"true_pd_{lag}m_before"]) / true_auc for lag in (1, 2)}
        kind = run["aliases"]["champion"]
        m = run["models"][kind]
        ceiling, n_indicators = observable_ceiling(subject, home, dates)
        rows.append({"seed": seed, "late departments": ", ".join(late) or "none", "subject": subject, "champion": kind, "oot rows": len(oot), "label rate": oot["label"].mean(),
                     "champion AUC": model_auc, "true-PD AUC": true_auc, "ratio": model_auc / true_auc, "ratio 95% interval": f"{low:.3f}–{high:.3f}",
                     "observable ceiling AUC": ceiling, "ceiling ratio": ceiling / true_auc, "indicators": n_indicators,
                     "true PD 1 month earlier, ratio": delayed[1], "2 months earlier, ratio": delayed[2],
                     "grades within interval": m["grades_within_interval"],
                     "scorecard AUC": run["models"]["scorecard"]["auc"], "boosted AUC": run["models"]["boosted"]["auc"],
                     "train seconds": seconds})
        print(rows[-1], flush=True)
        if subject == "individual":  # where the gap is: people the banks know and people they do not
            thin = (oot["p_loan_count"].fillna(0) == 0).to_numpy()
            for name, sel in (("no loan or card", thin), ("a loan or card", ~thin)):
                y = oot["label"][sel]
                m_auc, t_auc = roc_auc_score(y, p_model[sel]), roc_auc_score(y, oot["true_pd_12m"][sel])
                segments.append({"seed": seed, "individuals with": name, "share of rows": sel.mean(),
                                 "label rate": y.mean(), "champion AUC": m_auc, "true-PD AUC": t_auc,
                                 "ratio": m_auc / t_auc})

    return rows, segments


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--individuals", type=int, default=50_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seeds", type=int, nargs="+", default=[2026, 2027, 2028],
                    help="one city per seed (which departments upload late is drawn from the seed)")
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "quality",
                    help="workspace of the first seed; the others go beside it as <work>_<seed>")
    ap.add_argument("--section", default="quality",
                    help="section of benchmarks/RESULTS.md to write (another name keeps the main one, e.g. for a bigger city)")
    args = ap.parse_args()
    rows, segments = [], []
    for k, seed in enumerate(args.seeds):
        r, g = evaluate(args, seed, args.work if k == 0 else args.work.with_name(f"{args.work.name}_{seed}"))
        rows, segments = rows + r, segments + g
    by_segment = pd.DataFrame(segments)
    for c in ("share of rows", "label rate", "champion AUC", "true-PD AUC", "ratio"):
        by_segment[c] = by_segment[c].map(lambda v: f"{v:.3f}")

    table = pd.DataFrame(rows)
    fmt = table.copy()
    for c in ("label rate", "champion AUC", "true-PD AUC", "ratio", "observable ceiling AUC", "ceiling ratio",
              "true PD 1 month earlier, ratio", "2 months earlier, ratio", "grades within interval", "scorecard AUC", "boosted AUC"):
        fmt[c] = fmt[c].map(lambda v: f"{v:.3f}")
    fmt["train seconds"] = fmt["train seconds"].map(lambda v: f"{v:.0f}")
    fmt["oot rows"] = fmt["oot rows"].map(lambda v: f"{v:,}")
    auc_ok = (table["ratio"] >= 0.95).all()
    cal_ok = (table["grades within interval"] >= 0.8).all()
    body = "\n".join([
        "## Rating models against the truth (`benchmarks/model_quality.py`)"
        + ("" if args.section == "quality" else f": {args.enterprises:,} firms, {args.individuals:,} people"), "",
        f"Command: `.venv/bin/python benchmarks/model_quality.py --enterprises {args.enterprises} --individuals {args.individuals} "
        f"--months {args.months} --seeds {' '.join(map(str, args.seeds))}"
        + ("" if args.section == "quality" else f" --work {args.work.relative_to(ROOT) if args.work.is_relative_to(ROOT) else args.work} --section {args.section}")
        + "`", f"Machine: {machine()}.", "",
        "Out-of-time rows: the last months of the training window, subjects never used to fit or calibrate "
        "(each subject serves one purpose; see `training` in `chengxin/conf/rating.yaml`). "
        "True-PD AUC: the generator's `true_pd_12m` on the same rows. Ratio 95% interval: a bootstrap over "
        "subjects (400 resamples; a subject's monthly rows are drawn together). Observable ceiling: an unconstrained "
        "LightGBM on every numeric indicator of the catalogue (published or not), fitted on every row the recipe may "
        "use, scored on the same rows: what the indicators carry at most, whatever the model. "
        "True PD 1 (2) months earlier: the AUC of the generator's true PD of the month before (two months before) "
        "the as-of month on the same rows, over the true-PD AUC: a perfect rater that sees the world with the "
        "records' delay (a month's uploads arrive in the next month, some departments weeks later). "
        "Grades within interval: the champion's share of master-scale grades whose mean predicted PD lies in the "
        "Jeffreys 95% interval of the observed default rate, each subject counted once (its first out-of-time month).", "",
        markdown_table(fmt), "",
        "Individuals by whether the banks report a loan or card for them (`p_loan_count`), same rows and models:", "",
        markdown_table(by_segment), "",
        f"Bars: champion AUC >= 95% of the true-PD AUC: {'met' if auc_ok else 'not met'}; "
        f"predicted PD inside the Jeffreys interval for >= 80% of grades: {'met' if cal_ok else 'not met'}.",
    ])
    write_section(args.section, body)
    print(body)


if __name__ == "__main__":
    main()
