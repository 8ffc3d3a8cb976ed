"""Calibration: the map from a fitted rating model's log-odds to a 12-month PD.

The map is fitted after the model, on its own window (the calibration months and subjects),
and is strictly increasing, so it never changes how the model ranks subjects. Two maps:

- ``platt``: logit(PD) = a + b·s, Platt scaling (what `CalibratedClassifierCV` does with
  ``method="sigmoid"``).
- ``quadratic``: logit(PD) = a + b·s + c·s², in the spirit of beta calibration (Kull et al.,
  2017): a straight line cannot correct a model whose log-odds are too spread at one end of the
  scale and too compressed at the other, which is how a gradient-boosted model's tails usually
  come out. Inside the range of the calibration rows' scores the quadratic is used as fitted;
  beyond it the map goes on as a straight line with the slope it has at the edge, so an extreme
  score cannot bend back. Where the fitted quadratic is not increasing across the range, the
  calibrator falls back to Platt and says so in ``method_``.

`benchmarks/calibration_methods.py` measures both (and isotonic regression) against the
generated cities' out-of-time defaults.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

Method = Literal["platt", "quadratic"]  # what `training.calibration` may name
METHODS = get_args(Method)
# how a model card says it
DESCRIPTIONS = {"platt": "Platt scaling", "quadratic": "a quadratic in the log-odds"}


class CalibratedRatingModel(ClassifierMixin, BaseEstimator):
    """A fitted rating model and the increasing map from its log-odds to a calibrated PD.

    Parameters
    ----------
    estimator : a fitted classifier with ``decision_function`` (its log-odds of default); it is
        not refitted.
    method : "platt" or "quadratic"

    Attributes
    ----------
    method_ : the map in use ("platt" where a quadratic was asked for but was not increasing)
    coef_ : (a, b, c) of logit(PD) = a + b·u + c·u², u = (s - center_) / scale_ (c = 0 for Platt)
    range_ : (low, high) of u on the calibration rows
    """

    def __init__(self, estimator=None, method: str = "platt"):
        self.estimator = estimator
        self.method = method

    def fit(self, X, y):
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration method {self.method!r}; use one of {', '.join(METHODS)}")
        check_is_fitted(self.estimator)
        s = self.estimator.decision_function(X)
        y = np.asarray(y).astype(int)
        self.center_, self.scale_ = float(s.mean()), float(s.std() or 1.0)
        u = (s - self.center_) / self.scale_
        self.range_ = (float(u.min()), float(u.max()))
        self.method_ = self.method
        if self.method == "quadratic":
            self.coef_ = _logistic(np.c_[u, u**2], y)
            _, b, c = self.coef_
            if not all(b + 2 * c * edge > 0 for edge in self.range_):  # the slope is linear in u
                self.method_ = "platt"
        if self.method_ == "platt":
            self.coef_ = _logistic(u[:, None], y) + (0.0,)
        self.classes_ = np.array([0, 1])
        if hasattr(self.estimator, "feature_names_in_"):
            self.feature_names_in_ = self.estimator.feature_names_in_
        return self

    def calibrated_log_odds(self, s) -> np.ndarray:
        """logit(PD) for the model's log-odds `s`."""
        check_is_fitted(self, "coef_")
        a, b, c = self.coef_
        low, high = self.range_
        u = (np.asarray(s, dtype=float) - self.center_) / self.scale_
        inside = np.clip(u, low, high)
        slope = b + 2 * c * inside  # at the edge when u lies beyond it
        return a + b * inside + c * inside**2 + slope * (u - inside)

    def predict_proba(self, X) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.calibrated_log_odds(self.estimator.decision_function(X))))
        return np.c_[1 - p, p]

    def predict(self, X) -> np.ndarray:
        """Default (1) where the calibrated probability of default is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _logistic(features: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Intercept and coefficients of an unpenalised logistic regression."""
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(features, y)
    return (float(model.intercept_[0]), *map(float, model.coef_[0]))
