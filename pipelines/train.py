"""The train stage: both models for one subject type, validated out of time, tracked in MLflow.

As-of month ends run from the first with a year of history to the last whose 12-month outcome
is fully observed. The earliest dates fit the models, the next ones calibrate them (to the
12-month PD, by the map that `training.calibration` names for each model, `models.calibration`)
and pick the boosted model's number of trees (early stopping), the latest are the out-of-time
validation: never a random split. Subjects are split too (`partition`): each subject's rows
serve one purpose only, so validation measures how the models rate subjects they have never
seen, months after the fitting window.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import record_rules, tracking, warehouse, workspace
from chengxin.features import snapshots
from chengxin.features.catalogue import catalogue
from chengxin.models import grades, validation
from chengxin.models.calibration import DESCRIPTIONS, CalibratedRatingModel
from chengxin.models.boosted import BoostedModel
from chengxin.models.estimators import ScorecardModel, cross_validated_c
from chengxin.models.thresholds import unit_of


def window(home=None) -> list[dt.date]:
    """Month ends with a year of history before and a full outcome horizon after."""
    first, last = warehouse.monthly_span(home)
    if first is None:
        raise workspace.UserError("no records to train on: run `chengxin ingest PATH` first")
    horizon = record_rules.feature_settings().outcome.horizon_months
    start = (pd.Timestamp(first) + pd.DateOffset(months=12) + pd.offsets.MonthEnd(0)).date()
    end = (pd.Timestamp(last) - pd.DateOffset(months=horizon) + pd.offsets.MonthEnd(0)).date()
    dates = snapshots.month_ends(start, end)
    if len(dates) < 4:
        raise workspace.UserError(f"only {len(dates)} month ends have a year of history and a full outcome "
                                  f"horizon; training needs at least 4 (ingest more months)")
    return dates


def split(dates: list[dt.date]) -> dict[str, list[dt.date]]:
    """Month ends for fitting, calibrating and out-of-time validation, in that order."""
    shares = grades.rating_config().training.months
    n = len(dates)
    a = max(1, int(round(n * shares.fit)))
    b = max(a + 1, int(round(n * (shares.fit + shares.calibrate))))
    b = min(b, n - 1)
    return {"fit": dates[:a], "calibrate": dates[a:b], "oot": dates[b:]}


def _subject_hash(subject_ids: pd.Series) -> np.ndarray:
    return pd.util.hash_pandas_object(subject_ids.astype(str), index=False).to_numpy()


def subject_group(subject_ids: pd.Series) -> pd.Series:
    """'fit', 'calibrate' or 'oot' for each subject, from a stable hash of its id."""
    shares = grades.rating_config().training.subjects
    u = _subject_hash(subject_ids) % 10_000 / 10_000
    group = np.select([u < shares.fit, u < shares.fit + shares.calibrate], ["fit", "calibrate"], "oot")
    return pd.Series(group, index=subject_ids.index)


def partition(data: pd.DataFrame, dates: list[dt.date]) -> dict[str, pd.DataFrame]:
    """Rows for each purpose: its months and its subjects, so no subject's rows serve two purposes."""
    months = split(dates)
    group = subject_group(data["subject_id"])
    return {k: data[data["as_of"].isin(v) & (group == k)] for k, v in months.items()}


def rated_series(start: dt.date, end: dt.date, subject: str, home=None, progress=None) -> pd.DataFrame:
    """The indicator series of subjects that can be rated (not yet in default), one row per
    subject and as-of month end (`as_of` a date)."""
    data = snapshots.series(start, end, subject, home=home, progress=progress)
    data = data[~data["in_default"]]
    data["as_of"] = pd.to_datetime(data["as_of"]).dt.date
    return data


def recipe(subject: str) -> tuple[list[str], dict]:
    """The published indicators of a subject type and the two unfitted models over them."""
    inds = catalogue().for_subject(subject, published_only=True)
    directions = {i.name: i.direction for i in inds}
    categorical = [i.name for i in inds if i.kind == "category"]
    selection = grades.rating_config().training.scorecard
    cat = catalogue()
    units = {i.name: unit_of(i, cat) for i in inds if i.kind != "category"}  # the grid of each one's thresholds
    scorecard = ScorecardModel(directions=directions, categorical=categorical, min_iv=selection.min_iv,
                               max_psi=selection.max_psi, units=units, min_points_spread=selection.min_points_spread)
    return [i.name for i in inds], {"scorecard": scorecard,
                                    "boosted": BoostedModel(directions=directions, categorical=categorical)}


def subject_folds(rows: pd.DataFrame, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) positions of `rows` for cross-validation, each subject's monthly rows in one
    fold (they share features and outcome; split apart, a fold would be tested on subjects it
    was fitted on). Folds come from a stable hash of the id, independent of `subject_group`'s."""
    fold = (_subject_hash(rows["subject_id"]) // 10_000) % folds
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


WINDOW_NAMES = {"fit": "fitting", "calibrate": "calibration", "oot": "out-of-time"}


def outcomes(rows: pd.DataFrame) -> int:
    """How many subjects among `rows` reach the outcome (each counted once)."""
    return int(rows.loc[rows["label"] == 1, "subject_id"].nunique())


def check_outcomes(sets: dict[str, pd.DataFrame], months: dict[str, list[dt.date]], subject: str) -> list[str]:
    """Stop, in one line, when a window has too few outcomes to fit or judge a model on; notes
    for the windows whose figures rest on few outcomes."""
    need = grades.rating_config().training.min_outcomes
    notes = [f"the {WINDOW_NAMES[part]} window holds only {outcomes(rows)} subjects reaching the outcome: its "
             "figures are rough" for part, rows in sets.items() if getattr(need, part) <= outcomes(rows) < need.few]
    for part, rows in sets.items():
        have, floor = outcomes(rows), getattr(need, part)
        if have < floor:
            span = f"{months[part][0]}..{months[part][-1]}" if months[part] else "no month ends"
            raise workspace.UserError(
                f"the {WINDOW_NAMES[part]} window of the {subject}s (as of {span}, {len(rows):,} rows) has {have} "
                f"subject{'s' if have != 1 else ''} reaching the outcome and needs at least {floor} "
                f"(training.min_outcomes.{part} in rating.yaml): ingest more months or more subjects, or lengthen "
                "the outcome window (outcome.horizon_months in features.yaml)")
    return notes


def cv_folds(fit: pd.DataFrame) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """The scorecard's cross-validation folds over the fitting rows: `cv_folds` of them, or fewer
    when a fold would hold fewer outcomes than `min_outcomes.fold` (never fewer than 2), and a
    note saying so."""
    wanted = grades.rating_config().training.scorecard.cv_folds
    floor = grades.rating_config().training.min_outcomes.fold
    short = None  # the fewest outcomes in a fold with as many folds as configured
    for folds in range(wanted, 1, -1):
        splits = subject_folds(fit, folds)
        fewest = min(outcomes(fit.iloc[test]) for _, test in splits)
        short = fewest if short is None else short
        if fewest >= floor:
            return splits, [] if folds == wanted else [
                f"the scorecard's C was cross-validated over {folds} folds instead of {wanted}: with {wanted}, a fold "
                f"of the fitting rows would hold {short} subjects reaching the outcome (at least {floor} needed, "
                "training.min_outcomes.fold in rating.yaml)"]
    raise workspace.UserError(
        f"the fitting rows cannot be cross-validated: even over 2 folds one holds {fewest} subjects reaching the "
        f"outcome, and each needs at least {floor} (training.min_outcomes.fold in rating.yaml): ingest more months "
        "or more subjects, or lengthen the outcome window (outcome.horizon_months in features.yaml)")


def fit_model(model, fit: pd.DataFrame, cal: pd.DataFrame, cols: list[str], splits=None) -> dict:
    """Fit one model on the fitting rows. The boosted model's number of trees is chosen on the
    calibration window (early stopping); the scorecard's C by cross-validation over the fitting
    subjects, and its indicators' stability is measured against the calibration window.
    Returns what was chosen, for the run's parameters."""
    if isinstance(model, BoostedModel):
        model.fit(fit[cols], fit["label"], eval_set=(cal[cols], cal["label"]))
        return {"trees": model.n_trees_}
    selection = grades.rating_config().training.scorecard
    splits = subject_folds(fit, selection.cv_folds) if splits is None else splits
    c, auc_by_c = cross_validated_c(model, fit[cols], fit["label"], splits, selection.c_grid)
    model.set_params(C=c).fit(fit[cols], fit["label"], X_recent=cal[cols])
    return {"C": c, "cv_auc_by_C": auc_by_c, "dropped_for_stability": model.dropped_for_stability_,
            "dropped_for_sign": model.dropped_for_sign_}


def grade_table(rows: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    """Observed against predicted default per master-scale grade, each subject counted once (at
    its first as-of month among `rows`), with Jeffreys intervals."""
    once = validation.first_per_subject(rows["subject_id"], rows["as_of"])
    return validation.by_grade(rows["label"][once], p[once], grades.grade_of(p[once]), grades.rating_config().grades)


def calibrate(name: str, model, cal: pd.DataFrame, cols: list[str]) -> CalibratedRatingModel:
    """The fitted model and its map to PD, fitted on the calibration rows by the configured method."""
    method = getattr(grades.rating_config().training.calibration, name)
    return CalibratedRatingModel(model, method=method).fit(cal[cols], cal["label"])


def _train_model(mlflow, name: str, model, sets: dict, cols: list[str], splits, subject: str, catalogue_version: str,
                 parts: dict) -> dict:
    """One model: fitted (its choices logged), calibrated, validated out of time, its validation
    artefacts and model card logged, and registered."""
    fit, cal, oot = sets["fit"], sets["calibrate"], sets["oot"]
    chosen = fit_model(model, fit, cal, cols, splits)
    mlflow.log_params({f"{name}_{k}": json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in chosen.items()})
    calibrated = calibrate(name, model, cal, cols)
    mlflow.log_param(f"{name}_calibration", calibrated.method_)
    p_dev = calibrated.predict_proba(fit[cols])[:, 1]
    p_oot = calibrated.predict_proba(oot[cols])[:, 1]
    metrics = validation.discrimination(oot["label"], p_oot)
    metrics["psi_dev_oot"] = validation.psi(p_dev, p_oot)
    table = grade_table(oot, p_oot)
    metrics["grades_within_interval"] = float(table["within"].mean())
    metrics["calibration_holds"] = float(validation.calibration_holds(table))
    mlflow.log_metrics({tracking.oot_metric(name, k): v for k, v in metrics.items()})
    example = oot[cols].head(5)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table.to_csv(tmp / tracking.validation_artifact(name, "validation_by_grade"), index=False)
        curve = validation.curves(oot["label"], p_oot)
        curve.to_csv(tmp / tracking.validation_artifact(name, "curves"), index=False)
        # what the model scored at training time, for the round-trip check after loading
        example.assign(pd_at_training=calibrated.predict_proba(example)[:, 1]).to_parquet(
            tmp / tracking.validation_artifact(name, "example_scores", "parquet"), index=False)
        if name == "scorecard":
            model.table().to_csv(tmp / "scorecard_table.csv", index=False)
        for figure, fig in (("roc", validation.roc_figure(curve, metrics["auc"], name)),
                            ("ks", validation.ks_figure(curve, metrics["ks"], name)),
                            ("calibration", validation.calibration_figure(table, name))):
            fig.savefig(tmp / f"{name}_{figure}.png")
        (tmp / f"{name}_model_card.md").write_text(
            _model_card(name, subject, catalogue_version, parts, cols, calibrated, metrics, table), "utf-8")
        mlflow.log_artifacts(str(tmp), artifact_path=tracking.VALIDATION_FOLDER)
    info = mlflow.sklearn.log_model(
        calibrated, name=name, input_example=example, serialization_format="cloudpickle",
        pip_requirements=["scikit-learn", "optbinning", "lightgbm", "pandas"],
        registered_model_name=tracking.registered_name(subject))
    return {"metrics": metrics, "version": info.registered_model_version, "chosen": chosen}


def train(subject: str = "enterprise", *, home=None, progress=None) -> dict:
    """Fit, calibrate and validate each rating model of `subject` on the window's rows split by
    time and subject, log them to MLflow and register them; returns what was trained."""
    started = time.perf_counter()
    cat = catalogue()
    cols, models = recipe(subject)

    dates = window(home)
    parts = split(dates)
    sets = partition(rated_series(dates[0], dates[-1], subject, home, progress), dates)
    fit, cal, oot = sets["fit"], sets["calibrate"], sets["oot"]
    notes = check_outcomes(sets, parts, subject)
    splits, fold_notes = cv_folds(fit)
    notes += fold_notes

    results = {}
    mlflow = tracking.setup(home)
    exp = tracking.experiment(mlflow, f"chengxin-{subject}", home)
    with mlflow.start_run(experiment_id=exp, run_name=f"train-{subject}") as run:
        mlflow.log_params({
            "subject": subject, "catalogue_version": cat.version, "indicators": len(cols),
            "fit_months": f"{parts['fit'][0]}..{parts['fit'][-1]}",
            "calibrate_months": f"{parts['calibrate'][0]}..{parts['calibrate'][-1]}",
            "oot_months": f"{parts['oot'][0]}..{parts['oot'][-1]}",
            "rows_fit": len(fit), "rows_calibrate": len(cal), "rows_oot": len(oot),
            "subject_shares": json.dumps(grades.rating_config().training.subjects.model_dump()),
            "scorecard_cv_folds": len(splits),
            **{f"outcomes_{k}": outcomes(v) for k, v in sets.items()},
            "snapshot_identity": _identity(home, dates),
        })
        for name, model in models.items():
            results[name] = _train_model(mlflow, name, model, sets, cols, splits, subject, cat.version, parts)
        aliases = _assign_aliases(mlflow, subject, results)
        mlflow.set_tags({"aliases": json.dumps(aliases)})
        if notes:
            mlflow.set_tag("notes", " | ".join(notes))
    return {"subject": subject, "run_id": run.info.run_id, "months": [str(dates[0]), str(dates[-1])],
            "rows": {k: len(v) for k, v in sets.items()}, "outcomes": {k: outcomes(v) for k, v in sets.items()},
            "label_rate_oot": round(float(oot["label"].mean()), 4), "notes": notes,
            "models": {k: {"version": v["version"], **{m: round(x, 4) for m, x in v["metrics"].items()},
                           "chosen": v["chosen"]} for k, v in results.items()},
            "aliases": aliases, "seconds": round(time.perf_counter() - started, 1)}


def _model_card(name, subject, catalogue_version, parts, cols, calibrated, metrics, table) -> str:
    used = getattr(calibrated.estimator, "selected_", cols)
    how = DESCRIPTIONS[calibrated.method_]
    lines = [f"# Model card: {name} for {subject}", "",
             f"- Purpose: 12-month probability of serious dishonesty or default ({subject}s); "
             + ("the published criteria (public tier) and a candidate lender PD." if name == "scorecard"
                else "a candidate lender PD (never the public tier)."),
             f"- Indicator catalogue {catalogue_version}; {len(used)} of {len(cols)} indicators used.",
             *([f"- Indicators kept with an information value of at least {calibrated.estimator.min_iv:g} and bins that "
                f"shift by a PSI of at most {calibrated.estimator.max_psi} into the calibration window (dropped as "
                f"unstable: {', '.join(calibrated.estimator.dropped_for_stability_) or 'none'}); C = "
                f"{calibrated.estimator.C:g}, chosen by cross-validation over the fitting subjects."]
               if name == "scorecard" else []),
             f"- Fitted on as-of months {parts['fit'][0]}..{parts['fit'][-1]}, calibrated ({how}) on "
             f"{parts['calibrate'][0]}..{parts['calibrate'][-1]}, validated out of time on {parts['oot'][0]}..{parts['oot'][-1]}, each step on its own subjects (no subject serves two steps).",
             "- Subjects already in default at an as-of date are left out (graded D).", "",
             "## Out-of-time validation", "", "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in metrics.items()]
    lines += ["", "## By grade", "",
              "Each subject counted once, at its first out-of-time month (its monthly rows share features and "
              "outcome); `within`: the mean predicted PD lies inside the Jeffreys 95% interval of the observed "
              "default rate.", "",
              "```", table.round(4).to_string(index=False), "```", "",
              "## Limits", "", "- Validated on one out-of-time window; watch PSI and the per-grade table after each month.",
              "- Monotone in each indicator's declared direction; indicators whose weight contradicted it were dropped."]
    return "\n".join(lines)


def _identity(home, dates) -> str:
    with warehouse.connect(home, read_only=True) as con:
        files, last = con.execute("SELECT count(*), max(file_id) FROM ingest_files").fetchall()[0]
    return f"files={files};last_file={last};as_of={dates[0]}..{dates[-1]}"


def choose_champion(metrics: dict[str, dict]) -> str:
    """The model whose PDs lenders get: the better out-of-time AUC among models whose
    calibration holds; when none holds, the better calibrated (more grades inside their
    interval), then the better AUC."""
    ok = [k for k, m in metrics.items() if m["calibration_holds"] >= 1]
    if ok:
        return max(ok, key=lambda k: metrics[k]["auc"])
    return max(metrics, key=lambda k: (metrics[k]["grades_within_interval"], metrics[k]["auc"]))


def _assign_aliases(mlflow, subject: str, results: dict) -> dict:
    """The published scorecard carries `scorecard`; `champion` goes to `choose_champion`'s
    pick; the other model is the `challenger`. Aliases are roles; each version's `kind` tag
    says what it is (`tracking.MODEL_KINDS`)."""
    client = mlflow.MlflowClient()
    name = tracking.registered_name(subject)
    champion = choose_champion({k: v["metrics"] for k, v in results.items()})
    challenger = next(k for k in results if k != champion)
    aliases = {"scorecard": results["scorecard"]["version"], "champion": results[champion]["version"],
               "challenger": results[challenger]["version"]}
    for alias, version in aliases.items():
        client.set_registered_model_alias(name, alias, version)
    for kind, r in results.items():
        client.set_model_version_tag(name, r["version"], "kind", kind)
    return {"champion": champion, "challenger": challenger, **{f"{k}_version": v for k, v in aliases.items()}}


def promote(subject: str = "enterprise", *, home=None) -> dict:
    """Move `champion` to the current `challenger` only if its out-of-time AUC is better and its
    calibration holds; the decision and its reasons are logged as an MLflow run."""
    mlflow = tracking.setup(home)
    client = mlflow.MlflowClient()
    name = tracking.registered_name(subject)
    hint = f"run `chengxin train --subject {subject}`"
    champ = tracking.model_version(name, "champion", hint, home)
    chall = tracking.model_version(name, "challenger", hint, home)

    def oot(mv) -> dict:
        kind = tracking.model_kind(mv.tags["kind"])  # train tags every version it registers
        metrics = mlflow.get_run(mv.run_id).data.metrics
        oot_ = tracking.oot_metrics(metrics, kind)
        return {"kind": kind, "auc": oot_.get("auc", float("nan")), "calibration_holds": oot_.get("calibration_holds", 0.0) >= 1}

    a, b = oot(champ), oot(chall)
    better = b["auc"] > a["auc"]
    promoted = bool(better and b["calibration_holds"])
    reasons = [f"challenger ({b['kind']} v{chall.version}) out-of-time AUC {b['auc']:.4f} vs champion ({a['kind']} "
               f"v{champ.version}) {a['auc']:.4f}: " + ("better" if better else "not better"),
               f"challenger ({b['kind']}) calibration {'holds' if b['calibration_holds'] else 'does not hold'} "
               "(predicted PD inside the Jeffreys interval for at least 80% of grades)"]
    if promoted:
        client.set_registered_model_alias(name, "champion", chall.version)
        client.set_registered_model_alias(name, "challenger", champ.version)
    exp = tracking.experiment(mlflow, f"chengxin-{subject}", home)
    with mlflow.start_run(experiment_id=exp, run_name=f"promote-{subject}") as run:
        mlflow.log_params({"champion_before": champ.version, "challenger_before": chall.version, "promoted": promoted})
        mlflow.log_text("\n".join(reasons), "decision.txt")
    return {"subject": subject, "promoted": promoted, "champion": chall.version if promoted else champ.version,
            "reasons": reasons, "run_id": run.info.run_id}

