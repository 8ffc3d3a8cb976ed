"""Bring your own data: the same two-model recipe on a lender's own book.

Any CSV or Parquet with a 0/1 target, numeric and categorical columns and missing values.
Without declared directions the scorecard lets optbinning choose each indicator's trend; small
books are the norm (1,000 rows is common), so bins stay few (six at most), the boosted model stays small,
and everything that adapts to the book is chosen by cross-validation inside the fitting part:
the scorecard's regularisation, the boosted model's number of trees, the calibration and the
champion (`fit_recipe`, which `benchmarks/byo_benchmark.py` measures against public recipes).
A stratified 70/30 split keeps the 30% test part for measuring both models, never for choosing
between them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import tracking, workspace
from chengxin.models import grades, validation
from chengxin.models.boosted import BoostedModel
from chengxin.models.estimators import ScorecardModel, cross_validated_c


def read_book(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise workspace.UserError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding_errors="replace")
    except Exception as exc:  # pandas raises many kinds for unreadable files
        raise workspace.UserError(f"{path}: not a readable CSV or Parquet table ({str(exc).splitlines()[0]})") from None


def _columns(book: pd.DataFrame, target: str, id_col: str | None):
    if target not in book:
        raise workspace.UserError(f"target column {target!r} is not in the file (columns: {', '.join(map(str, book.columns))})")
    if id_col and id_col not in book:
        raise workspace.UserError(f"id column {id_col!r} is not in the file")
    y = pd.to_numeric(book[target], errors="coerce")
    if y.isna().any() or not set(y.unique()) <= {0, 1} or y.nunique() < 2:
        raise workspace.UserError(f"target column {target!r} must hold 0 and 1 only (no blanks)")
    features = [c for c in book.columns if c not in (target, id_col)]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(book[c])]
    return features, categorical, y.astype(int)


def _prepare(book: pd.DataFrame, features: list[str], categorical: list[str]) -> pd.DataFrame:
    X = book[features].copy()
    for c in categorical:
        X[c] = X[c].astype("str").where(X[c].notna())
    for c in features:
        if c not in categorical:
            X[c] = pd.to_numeric(X[c], errors="coerce").astype(float)
    return X


# The scorecard's regularisation and the boosted model's number of trees depend on the book (its
# size, its default rate, how many of its columns are noise), so both are chosen by
# cross-validation on the fitting part rather than fixed; the scorecard's C from the grid that
# `chengxin train` uses (`training.scorecard.c_grid` in rating.yaml).
MAX_TREES = 1000


def recipe(rows: int, categorical: list[str]) -> dict:
    """The two models, unfitted, sized for a book with `rows` fitting rows (before tuning)."""
    small = rows < 5000
    return {
        # Six bins at most whatever the book's size: on the benchmark's 1,000-row books a cap of
        # four lost resolution on smooth numeric effects (German credit 0.7854 -> 0.7857, a
        # 1,000-row credit_data sample 0.8289 -> 0.8300; benchmarks/byo_benchmark.py).
        "scorecard": ScorecardModel(categorical=categorical, max_n_bins=6, min_bin_size=0.05),
        "boosted": BoostedModel(categorical=categorical, n_estimators=150 if small else 300,
                                      num_leaves=7 if small else 15, min_child_samples=max(20, rows // 50),
                                      learning_rate=0.05),
    }


def _boosted_trees(boosted: BoostedModel, X: pd.DataFrame, y: np.ndarray, splits) -> int:
    """The number of trees by early stopping: on each split, boosting stops once the held-out
    fold's log-loss has not improved for `early_stopping_rounds`; the mean of the kept counts."""
    from sklearn.base import clone

    kept = [clone(boosted).set_params(n_estimators=MAX_TREES)
            .fit(X.iloc[train], y[train], eval_set=(X.iloc[test], y[test])).n_trees_ for train, test in splits]
    return max(10, int(round(float(np.mean(kept)))))


def fit_recipe(X_fit: pd.DataFrame, y_fit, categorical: list[str], folds: int = 3) -> dict:
    """The bring-your-own recipe on the fitting part alone: no other row plays any part.

    On `folds` stratified folds of the fitting rows, the scorecard's regularisation (C) and the
    boosted model's number of trees are chosen by cross-validation; each model is then calibrated
    (Platt scaling) on the same folds, and its fold models, each scored on the fold it did not
    see, give its cross-validated AUC. The boosted model is champion only if its AUC beats the
    scorecard's by more than one standard error of their fold-by-fold difference: on a small
    book three folds cannot tell models apart finely, and the explainable model keeps the title
    unless the evidence is clear (as `chengxin promote` does out of time).

    Returns {"models": {kind: fitted CalibratedClassifierCV}, "cv_auc": {kind: mean AUC},
    "cv_fold_auc": {kind: [AUC per fold]}, "champion": kind, "tuned": {...}}.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    y_fit = np.asarray(y_fit, dtype=int)
    cv = StratifiedKFold(n_splits=folds)
    splits = list(cv.split(X_fit, y_fit))
    base = recipe(len(X_fit), categorical)
    c, c_auc = cross_validated_c(base["scorecard"], X_fit, y_fit, splits, grades.rating_config().training.scorecard.c_grid)
    trees = _boosted_trees(base["boosted"], X_fit, y_fit, splits)
    tuned = {"scorecard": base["scorecard"].set_params(C=c), "boosted": base["boosted"].set_params(n_estimators=trees)}
    models, fold_auc = {}, {}
    for kind, model in tuned.items():
        calibrated = CalibratedClassifierCV(model, method="sigmoid", cv=cv).fit(X_fit, y_fit)
        # one (model, calibrator) pair per fold, in the splitter's order: each model saw
        # every fitting row but those of its own fold
        fold_auc[kind] = [float(roc_auc_score(y_fit[test], pair.estimator.predict_proba(X_fit.iloc[test])[:, 1]))
                          for pair, (_, test) in zip(calibrated.calibrated_classifiers_, splits, strict=True)]
        models[kind] = calibrated
    gain = np.subtract(fold_auc["boosted"], fold_auc["scorecard"])
    champion = "boosted" if gain.mean() > gain.std(ddof=1) / np.sqrt(len(gain)) else "scorecard"
    return {"models": models, "cv_auc": {k: float(np.mean(v)) for k, v in fold_auc.items()}, "cv_fold_auc": fold_auc,
            "champion": champion,
            "tuned": {"scorecard_C": c, "scorecard_cv_auc_by_C": c_auc, "boosted_trees": trees}}


def train_book(path: Path, target: str, name: str, id_col: str | None = None, *, home=None, seed: int = 0) -> dict:
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    book = read_book(path)
    features, categorical, y = _columns(book, target, id_col)
    X = _prepare(book, features, categorical)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    fitted = fit_recipe(X_fit, y_fit, categorical)
    champion = fitted["champion"]
    mlflow = tracking.setup(home)
    exp = tracking.experiment(mlflow, f"byo-{name}", home)
    results = {}
    with mlflow.start_run(experiment_id=exp, run_name=f"train-{name}") as run:
        mlflow.log_params({"data": str(path), "target": target, "rows": len(book), "features": len(features),
                           "categorical": len(categorical), "default_rate": round(float(y.mean()), 4),
                           "scorecard_C": fitted["tuned"]["scorecard_C"],
                           "boosted_trees": fitted["tuned"]["boosted_trees"]})
        for kind, calibrated in fitted["models"].items():
            p = calibrated.predict_proba(X_test)[:, 1]
            metrics = validation.discrimination(y_test, p)
            mlflow.log_metrics({f"{kind}_test_{k}": v for k, v in metrics.items()})
            mlflow.log_metric(f"{kind}_cv_auc", fitted["cv_auc"][kind])
            info = mlflow.sklearn.log_model(calibrated, name=kind, input_example=X_test.head(5),
                                            serialization_format="cloudpickle",
                                            pip_requirements=["scikit-learn", "optbinning", "lightgbm", "pandas"],
                                            registered_model_name=name)
            results[kind] = {"version": info.registered_model_version, **{k: round(v, 4) for k, v in metrics.items()},
                             "cv_auc": round(fitted["cv_auc"][kind], 4)}
        client = mlflow.MlflowClient()
        # the champion was named by cross-validated AUC on the fitting part; the test figures
        # above only measure it
        aliases = {"scorecard": results["scorecard"]["version"], "champion": results[champion]["version"],
                   "challenger": results[next(k for k in results if k != champion)]["version"]}
        for alias, version in aliases.items():
            client.set_registered_model_alias(name, alias, version)
        for model in results.values():  # `score --data` carries the id column by default
            client.set_model_version_tag(name, model["version"], ID_TAG, id_col or "")
        mlflow.set_tag("champion_chosen_by", "cross-validated AUC on the fitting part (the boosted model only if ahead by > 1 SE)")
        mlflow.set_tag("columns", ",".join(features))
    return {"name": name, "run_id": run.info.run_id, "rows": len(book), "champion": champion, "models": results,
            "seconds": round(time.perf_counter() - started, 1)}


ID_TAG = "id_column"  # the model version's tag naming the id column the book was trained with


def _load(ref: str, home=None):
    """The model behind NAME[@alias] (default champion), the published scorecard, and the id
    column the book was trained with (None if it had none)."""
    name, _, alias = ref.partition("@")
    hint = f"train it with `chengxin train --data ... --name {name}`"
    version = tracking.model_version(name, alias or "champion", hint, home)
    model, _ = tracking.load_model(name, alias or "champion", hint, home)
    card, _ = tracking.load_model(name, "scorecard", hint, home)
    return model, card, version.tags.get(ID_TAG) or None


def card_points(pair, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """The scorecard's points on the configured scale, and what one of its own points is worth there.

    `pair` is one (scorecard, Platt calibrator) pair of a calibrated scorecard. The scorecard's own
    points are a linear function of its regression's log-odds, which regularisation pulls towards
    the average; its calibrator, fitted on the fold the scorecard did not see, maps those log-odds
    linearly onto calibrated ones. So the points the tiers read are the configured scale's points
    for the pair's calibrated PD: the scorecard's own points stretched by a constant factor, in the
    same order, each indicator's share stretched alike.
    """
    card, calibrator = pair.estimator, pair.calibrators[0]
    factor = -float(calibrator.a_) * grades.rating_config().scorecard_scaling.pdo / card.pdo
    if not factor > 0:  # a calibrator that reverses the scorecard: keep the scorecard's own points
        return card.points(X), 1.0
    return grades.points_of(pair.predict_proba(X)[:, 1]), factor


def score_book(path: Path, ref: str, out: Path, id_col: str | None = None, *, home=None) -> dict:
    """One row per input row: id (or row number), pd, score, grade, tier, reason_1..3.

    The id column is `id_col`, else the one the model was trained with, else the row number."""
    model, calibrated_card, trained_id = _load(ref, home)
    pair = calibrated_card.calibrated_classifiers_[0]
    card = pair.estimator
    book = read_book(path)
    id_col = id_col or trained_id
    if id_col and id_col not in book:
        why = ("given with --id" if id_col != trained_id else
               f"the id column {ref} was trained with: add it, or name another with --id COLUMN")
        raise workspace.UserError(f"{path}: no column {id_col!r} ({why})")
    features = list(card.feature_names_in_)
    missing = [c for c in features if c not in book]
    if missing:
        raise workspace.UserError(f"the file lacks columns the model needs: {', '.join(missing)}")
    X = _prepare(book, features, list(card.categorical or []))
    pd_ = model.predict_proba(X)[:, 1]
    points, factor = card_points(pair, X)
    result = pd.DataFrame({
        (id_col or "row"): book[id_col] if id_col else np.arange(1, len(book) + 1),
        "pd": pd_, "score": np.round(points, 1), "grade": grades.grade_of(pd_), "tier": grades.tier_of(points)})
    adverse = card.shortfalls(X, 3, material=5.0 / factor)  # 5 points on the configured scale
    for k in range(3):
        result[f"reason_{k + 1}"] = [
            None if names[k] is None else
            f"{names[k]}: {'missing' if pd.isna(X.iloc[r][names[k]]) else X.iloc[r][names[k]]}"
            for r, names in enumerate(adverse)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(out, index=False) if out.suffix == ".parquet" else result.to_csv(out, index=False)
    return {"model": ref, "rows": len(result), "out": str(out), "grades": result["grade"].value_counts().to_dict()}
