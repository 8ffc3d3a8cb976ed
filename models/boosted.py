"""The boosted rating model: gradient-boosted trees (LightGBM) with monotone constraints from the
indicators' declared directions, with scikit-learn's manners (constructors only store
parameters; everything learned ends in ``_`` and is set in `fit`; inputs are never modified)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from chengxin.models.estimators import CONSTRAINTS, _Predicts, _frame


class BoostedModel(_Predicts, ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (LightGBM) with monotone constraints from the declared directions.

    The number of trees is chosen by validation, not habit: with an `eval_set` given to `fit`
    (train passes a later time window), boosting stops once the log-loss there has not improved
    for `early_stopping_rounds` rounds, and `n_estimators` is only the ceiling; `n_trees_`
    is what was kept. Shallow trees (depth 4) rate as well as 31-leaf ones on the generated city's
    held-out subjects (AUC 0.790 against 0.791) and make TreeSHAP several times cheaper.
    """

    def __init__(self, directions=None, categorical=None, n_estimators=1000, learning_rate=0.03, num_leaves=15,
                 max_depth=4, min_child_samples=100, subsample=0.8, colsample_bytree=0.8, reg_lambda=1.0, early_stopping_rounds=50,
                 random_state=0, n_jobs=1):
        self.directions = directions
        self.categorical = categorical
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        X = _frame(X)[list(self.feature_names_in_)].copy()
        for col in self.categorical_:
            X[col] = pd.Categorical(X[col].astype("object"), categories=self.categories_[col])
        return X

    def fit(self, X, y, sample_weight=None, eval_set=None):
        """eval_set: optional (X, y) from a later window, for early stopping."""
        import lightgbm as lgb

        X = _frame(X)
        directions = self.directions or {}
        self.feature_names_in_ = np.array(X.columns)
        self.categorical_ = [c for c in (self.categorical or []) if c in X]
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique()) for c in self.categorical_}
        Xp = self._prepare(X)
        constraints = [0 if c in self.categorical_ else CONSTRAINTS.get(directions.get(c, "none"), 0) for c in X.columns]
        self.booster_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples, subsample=self.subsample, subsample_freq=1,
            colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda, monotone_constraints=constraints,
            monotone_constraints_method="advanced", random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1)
        extra = {}
        if eval_set is not None and self.early_stopping_rounds:
            extra = {"eval_X": (self._prepare(eval_set[0]),), "eval_y": (np.asarray(eval_set[1], dtype=int),),
                     "eval_metric": "binary_logloss",
                     "callbacks": [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]}
        self.booster_.fit(Xp, np.asarray(y, dtype=int), sample_weight=sample_weight, **extra)
        self.n_trees_ = self.booster_.best_iteration_ or self.n_estimators
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "booster_")
        return self.booster_.predict_proba(self._prepare(X))

    def contributions(self, X, n_jobs: int | None = None) -> pd.DataFrame:
        """TreeSHAP contributions (log-odds) per indicator, plus the base value; they add up to the raw score.
        `n_jobs`: threads for this call (default: the model's own setting)."""
        check_is_fitted(self, "booster_")
        extra = {"num_threads": n_jobs} if n_jobs else {}
        raw = self.booster_.predict(self._prepare(X), pred_contrib=True, **extra)
        return pd.DataFrame(raw, columns=list(self.feature_names_in_) + ["base_value"], index=X.index)


# Models registered before issue 20 were pickled under the old name of the boosted model's class.
ChallengerModel = BoostedModel
