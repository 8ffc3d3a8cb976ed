"""The scorecard's indicator selection and regularisation, before and after they were chosen from the data.

Before: the logistic regression's C fixed at 1 and indicators kept by information value alone.
After (what `chengxin train` does): C chosen by cross-validation over the fitting subjects
(`training.scorecard.c_grid`, `cv_folds`), indicators also kept only if their bins hold from the
fitting window to the calibration window (`max_psi`), and the points rescaled to the log-odds
whatever C is. Both are fitted on the same rows and measured on the same out-of-time rows
(later months, subjects never used to fit or calibrate), for small cities, where a fixed C
overfits, and cities the demo's size.

    .venv/bin/python benchmarks/scorecard_selection.py   # 2,000 firms / 5,000 people and 20,000 / 50,000,
                                                         # seeds 2026, 2027 and 2028 each

`--compare criteria` measures the published form of the criteria instead (issue 19, point 11).
Before: the same recipe with points to the decimal, thresholds wherever the binning put them and
every indicator that passed selection published. After (what `chengxin train` fits): whole
points, the binning's cuts moved to each indicator's grid (whole percent, counts, days, years,
round amounts) and indicators spreading fewer than `min_points_spread` points dropped. The AUC is the one of the
published points (the ranking the public tiers follow), on the same out-of-time rows.

    .venv/bin/python benchmarks/scorecard_selection.py --compare criteria --sizes small
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from common import machine, markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]

SIZES = {"small": (2_000, 5_000), "demo": (20_000, 50_000)}


def paired_difference(label, before, after, subjects, resamples: int = 200, seed: int = 0) -> tuple[float, float]:
    """95% interval of AUC(after) - AUC(before), by a bootstrap over subjects (a subject's monthly
    rows drawn together)."""
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(pd.Series(subjects))
    rows_of = pd.Series(np.arange(len(codes))).groupby(codes).apply(np.asarray).to_list()
    label, before, after = map(np.asarray, (label, before, after))
    diffs = []
    for _ in range(resamples):
        rows = np.concatenate([rows_of[i] for i in rng.integers(0, len(uniques), len(uniques))])
        if 0 < label[rows].sum() < len(rows):
            diffs.append(roc_auc_score(label[rows], after[rows]) - roc_auc_score(label[rows], before[rows]))
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def tier_shares(points: np.ndarray) -> str:
    from chengxin.models import grades

    shares = pd.Series(grades.tier_of(points)).value_counts(normalize=True)
    return " / ".join(f"{shares.get(t.tier, 0.0):.2f}" for t in grades.rating_config().public_tiers)


def describe(model, oot: pd.DataFrame, cols: list[str], categorical: list[str]) -> dict:
    table = model.table()
    table = table[table["indicator"].isin(model.selected_)]
    spread = table.groupby("indicator")["points"].agg(lambda s: s.max() - s.min())
    points = model.points(oot[cols])
    return {"auc": roc_auc_score(oot["label"], model.predict_proba(oot[cols])[:, 1]), "indicators": len(model.selected_),
            "categorical points": float(spread.reindex(categorical).fillna(0).max()),
            "points p5-p95": float(np.subtract(*np.percentile(points, [95, 5]))), "tiers": tier_shares(points)}


def _city(work: Path, size: str, seed: int, months: int) -> Path:
    """The workspace of one generated city (generated and ingested the first time)."""
    city, home = work / "city", work / "home"
    os.environ["CHENGXIN_HOME"] = str(home)

    from chengxin.city import generate
    from chengxin.pipelines.ingest import ingest

    if not (city / "_truth" / "summary.json").exists():
        generate(city, *SIZES[size], months, seed=seed)
        ingest(city, home=home)
    return home


def evaluate(work: Path, size: str, seed: int, months: int) -> list[dict]:
    from sklearn.base import clone

    from chengxin.pipelines import train

    home = _city(work, size, seed, months)
    rows = []
    for subject in ("enterprise", "individual"):
        cols, models = train.recipe(subject)
        categorical = list(models["scorecard"].categorical)
        dates = train.window(home)
        sets = train.partition(train.rated_series(dates[0], dates[-1], subject, home), dates)
        fit, cal, oot = sets["fit"], sets["calibrate"], sets["oot"]
        before = clone(models["scorecard"]).set_params(C=1.0, max_psi=None)
        started = time.perf_counter()
        before.fit(fit[cols], fit["label"])
        before_seconds = time.perf_counter() - started
        after = models["scorecard"]
        started = time.perf_counter()
        chosen = train.fit_model(after, fit, cal, cols)
        after_seconds = time.perf_counter() - started
        b, a = describe(before, oot, cols, categorical), describe(after, oot, cols, categorical)
        low, high = paired_difference(oot["label"], before.predict_proba(oot[cols])[:, 1],
                                      after.predict_proba(oot[cols])[:, 1], oot["subject_id"])
        defaulters = lambda d: d.loc[d["label"] == 1, "subject_id"].nunique()  # noqa: E731
        rows.append({
            "city": f"{size} {seed}", "subject": subject, "fitting subjects in default": defaulters(fit),
            "oot subjects in default": defaulters(oot), "C": chosen["C"],
            "dropped for stability": ", ".join(after.dropped_for_stability_) or "-",
            "AUC before": b["auc"], "AUC after": a["auc"], "difference 95% interval": f"{low:+.3f} to {high:+.3f}",
            "indicators before / after": f"{b['indicators']} / {a['indicators']}",
            "most points on a category, before / after": f"{b['categorical points']:.0f} / {a['categorical points']:.0f}",
            "points p5-p95, before / after": f"{b['points p5-p95']:.0f} / {a['points p5-p95']:.0f}",
            "tiers A / B / C / D before": b["tiers"], "after": a["tiers"],
            "seconds before / after": f"{before_seconds:.0f} / {after_seconds:.0f}",
        })
        print(rows[-1], flush=True)
    return rows


def _spread(model) -> pd.Series:
    t = model.table()
    t = t[t["indicator"].isin(model.selected_)]
    return t.groupby("indicator")["points"].agg(lambda s: s.max() - s.min())


def _has_decimals(values) -> bool:
    v = np.asarray(values, dtype=float)
    return bool(np.any(np.abs(v - np.round(v)) > 1e-9))


def evaluate_criteria(work: Path, size: str, seed: int, months: int) -> list[dict]:
    """Published points before (decimals, thresholds as fitted, no minimum spread) and after."""
    from sklearn.base import clone

    from chengxin.pipelines import train

    home = _city(work, size, seed, months)
    rows = []
    for subject in ("enterprise", "individual"):
        cols, models = train.recipe(subject)
        dates = train.window(home)
        sets = train.partition(train.rated_series(dates[0], dates[-1], subject, home), dates)
        fit, cal, oot = sets["fit"], sets["calibrate"], sets["oot"]
        before = clone(models["scorecard"]).set_params(snap=False, integer_points=False, min_points_spread=0.0)
        after = models["scorecard"]
        seconds = {}
        for name, model in (("before", before), ("after", after)):
            started = time.perf_counter()
            train.fit_model(model, fit, cal, cols)
            seconds[name] = time.perf_counter() - started
        pts = {name: m.points(oot[cols]) for name, m in (("before", before), ("after", after))}
        pd_auc = {name: roc_auc_score(oot["label"], m.predict_proba(oot[cols])[:, 1]) for name, m in (("before", before), ("after", after))}
        # points: more is better, so the AUC of default is that of minus the points
        low, high = paired_difference(oot["label"], -pts["before"], -pts["after"], oot["subject_id"])
        spread = {name: _spread(m) for name, m in (("before", before), ("after", after))}
        floor = after.min_points_spread
        units = after.units or {}
        thresholds = {name: [(s, units.get(c)) for c in m.selected_
                             if m.scorecard_.binning_process_.get_binned_variable(c).dtype != "categorical"
                             for s in m.scorecard_.binning_process_.get_binned_variable(c).splits]
                      for name, m in (("before", before), ("after", after))}
        rows.append({
            "city": f"{size} {seed}", "subject": subject, "oot subjects in default": train.outcomes(oot),
            "AUC of points before": roc_auc_score(oot["label"], -pts["before"]),
            "AUC of points after": roc_auc_score(oot["label"], -pts["after"]),
            "difference 95% interval": f"{low:+.3f} to {high:+.3f}",
            "AUC of the PD before / after": f"{pd_auc['before']:.3f} / {pd_auc['after']:.3f}",
            "indicators before / after": f"{len(before.selected_)} / {len(after.selected_)}",
            f"published with spread < {floor:g} before": int((spread["before"] < floor).sum()),
            "dropped for spread": ", ".join(after.dropped_for_spread_) or "-",
            "thresholds off the grid before / after": f"{sum(_off_grid(*t) for t in thresholds['before'])} / "
                                                        f"{sum(_off_grid(*t) for t in thresholds['after'])} of "
                                                        f"{len(thresholds['before'])} / {len(thresholds['after'])}",
            "points with decimals after": "yes" if _has_decimals(pts["after"]) or _has_decimals(after.table()["points"]) else "no",
            "tiers A / B / C / D before": tier_shares(pts["before"]), "after": tier_shares(pts["after"]),
            "seconds before / after": f"{seconds['before']:.0f} / {seconds['after']:.0f}",
        })
        print(rows[-1], flush=True)
    return rows


def _off_grid(x: float, unit: str | None) -> bool:
    """A threshold off its indicator's grid: not a whole percent (shares), not a whole number
    (counts, days, years), more than two significant figures (amounts and the undeclared)."""
    if unit == "share":
        return abs(x * 100 - round(x * 100)) > 1e-9
    if unit in ("count", "days", "years"):
        return x != round(x)
    return float(f"{x:.2g}") != x


def main_criteria(args) -> None:
    rows = [r for size in args.sizes for seed in args.seeds
            for r in evaluate_criteria(args.work / f"{size}_{seed}", size, seed, args.months)]
    # one section per choice of sizes: the small cities' three seeds and a demo-size city are run apart
    report(args, rows, ("AUC of points before", "AUC of points after"),
           "Scorecard: criteria as published, whole points and round thresholds", "--compare criteria ",
           "scorecard-criteria" + "".join(f"-{s}" for s in args.sizes if s != "small"),
           "Before: the scorecard `chengxin train` fitted until issue 19 point 11: points to the decimal, thresholds "
           "wherever the binning put them, every selected indicator published however little its points move. After, as "
           "`chengxin train` fits it now: whole points (each bin's rounded), each cut the binning chose moved to the roundest "
           "value dividing the data alike on the indicator's grid (whole percent, whole counts, days and years, amounts in two "
           "significant figures) and the binning refitted on those, "
           "and an indicator whose points spread less than `training.scorecard.min_points_spread` dropped and the card "
           "refitted. Both with C chosen by cross-validation and the stability rule. Same fitting rows, same out-of-time "
           "rows. AUC of points: the ranking by the published total points (ties count half), which the public tiers "
           "follow; the difference interval is after minus before, a bootstrap over subjects (200 resamples). AUC of the "
           "PD: the scorecard's own probability (its logistic regression, unrounded). Thresholds off the grid: cut points "
           "off each indicator's grid (of the cut points of all the selected numeric indicators).")


def report(args, rows: list[dict], auc_columns: tuple[str, ...], title: str, flags: str, section: str, how: str) -> None:
    """The table of `rows` in RESULTS.md, with the command that measured it."""
    table = pd.DataFrame(rows)
    for c in auc_columns:
        table[c] = table[c].map(lambda v: f"{v:.3f}")
    sizes = ", ".join(f"{s}: {e:,} firms and {i:,} people" for s, (e, i) in SIZES.items() if s in args.sizes)
    body = "\n".join([
        f"## {title} (`benchmarks/scorecard_selection.py{' ' + flags.strip() if flags else ''}`)", "",
        f"Command: `.venv/bin/python benchmarks/scorecard_selection.py {flags}--sizes {' '.join(args.sizes)} "
        f"--seeds {' '.join(map(str, args.seeds))}` ({sizes}; {args.months} months).",
        f"Machine: {machine()}.", "", how, "", markdown_table(table),
    ])
    write_section(section, body)
    print(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", choices=("selection", "criteria"), default="selection",
                    help="selection: C and indicators chosen from the data (default); criteria: the published form")
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[2026, 2027, 2028])
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "selection",
                    help="one workspace per city below it, <size>_<seed>; an existing city is reused")
    args = ap.parse_args()
    if args.compare == "criteria":
        main_criteria(args)
        return
    rows = [r for size in args.sizes for seed in args.seeds
            for r in evaluate(args.work / f"{size}_{seed}", size, seed, args.months)]
    report(args, rows, ("AUC before", "AUC after"), "Scorecard: indicators and regularisation chosen from the data", "",
           "scorecard-selection",
           "Before: C = 1 and indicators kept by information value alone. After, as `chengxin train` fits it: C chosen by "
           "cross-validation over the fitting subjects, indicators whose bins shift by a PSI over `max_psi` from the fitting "
           "to the calibration window dropped, and the points rescaled to the log-odds (`RescaledLogisticRegression`). "
           "Same fitting rows, same out-of-time rows (the scorecard's own AUC, before calibration, which does not change "
           "the ranking). Difference interval: AUC after minus before, a bootstrap over subjects (200 resamples). Most "
           "points on a category: the widest range of points on `industry`, `county`, `entity_type` (or `p_county`, "
           "`p_gender`), which the generator barely uses. Tiers: the shares of out-of-time rows in each public tier.")


if __name__ == "__main__":
    main()
