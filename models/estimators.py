"""The scorecard, with scikit-learn's manners, and what both rating models share (predicting a
class from the PD, frames in and out, directions as trends and constraints). The other model,
`BoostedModel`, is `chengxin.models.boosted`.

- `ScorecardModel`: the published criteria. Optimal binning (optbinning) with monotonic
  trends taken from each indicator's declared direction, missing values in a bin of their
  own, indicator selection by information value and stability, WoE + logistic regression,
  points on the configured scale. `cross_validated_c` chooses its regularisation.

Constructors only store parameters; everything learned ends in ``_`` and is set in `fit`;
inputs are never modified.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

# direction of risk -> optbinning's monotonic trend of the event (default) rate
TRENDS = {"higher_worse": "ascending", "higher_better": "descending"}
CONSTRAINTS = {"higher_worse": 1, "higher_better": -1}


class _Predicts:
    def predict(self, X):
        """Default (1) where the probability of default is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def decision_function(self, X):
        """Log-odds of default: what Platt scaling (CalibratedClassifierCV) calibrates."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))


def _frame(X) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame with one column per indicator")
    return X


def _with_values(X: pd.DataFrame) -> list[str]:
    """The columns of X with at least one value (optbinning cannot bin a column that has none)."""
    return [c for c in X.columns if X[c].notna().any()]


class RescaledLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression whose weights are chosen under an L2 penalty, then scaled as a whole.

    The penalty (`C`) sets the indicators' weights relative to one another: it keeps noise from
    earning points. It also shrinks the linear predictor towards the average, which a scorecard
    cannot afford: its points are that predictor on a fixed scale (`pdo` points double the odds)
    and the public tiers are cut-offs on it. So one slope and the intercept are then fitted to
    the same rows without penalty, putting the predictor back on the log-odds scale. The ranking,
    and so the AUC, is the one the penalised weights give.
    """

    def __init__(self, C=1.0, max_iter=1000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        weights = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(X, y, sample_weight=sample_weight)
        eta = X @ weights.coef_.ravel()
        scale = LogisticRegression(C=np.inf, max_iter=self.max_iter).fit(eta[:, None], y, sample_weight=sample_weight)
        slope = max(float(scale.coef_[0, 0]), 0.0)  # a direction that ranks backwards earns no points
        self.coef_ = weights.coef_ * slope
        self.intercept_ = scale.intercept_.copy()
        self.classes_ = weights.classes_
        self.slope_ = slope
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        return np.asarray(X, dtype=float) @ self.coef_.ravel() + self.intercept_[0]

    def predict_proba(self, X):
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(int)


class Shortfalls:
    """The top adverse factors of a points model (one with `points_by_indicator`, `max_points`
    and `selected_`): the scorecard and the public evaluation rank them alike."""

    def shortfalls(self, X, k: int = 3, material: float = 5.0, by_indicator=None, exclude=()) -> list[list[str | None]]:
        """For each row, the `k` indicators where it falls furthest short of their best points
        (None where the shortfall is under `material` points): the top adverse factors."""
        return [[a[0] if a else None for a in row] for row in self.adverse(X, k, material, by_indicator, exclude)]

    def adverse(self, X, k: int = 3, material: float = 5.0, by_indicator=None,
                exclude=()) -> list[list[tuple[str, float] | None]]:
        """For each row, the `k` top adverse factors as (indicator, points short of its best
        bin), worst first; None where the shortfall is under `material` points. `by_indicator`:
        `points_by_indicator(X)` when the caller has it already; `exclude`: indicators never
        given as a reason."""
        by = self.points_by_indicator(X) if by_indicator is None else by_indicator
        gaps = self.max_points()[self.selected_] - by
        gaps = gaps.drop(columns=[c for c in exclude if c in gaps.columns])
        values = gaps.to_numpy()
        order = np.argsort(-values, axis=1)[:, :k]
        names = np.array(gaps.columns, dtype=object)
        picked = np.take_along_axis(values, order, axis=1)
        # always k entries: a scorecard that kept fewer than k indicators pads with None
        pad = [None] * max(0, k - order.shape[1])
        return [[(names[j], float(g)) if g >= material else None for j, g in zip(row, gap)] + pad
                for row, gap in zip(order, picked)]


class ScorecardModel(Shortfalls, _Predicts, ClassifierMixin, BaseEstimator):
    """Binned, WoE-encoded logistic regression scaled to points.

    Parameters
    ----------
    directions : dict, indicator -> "higher_worse" | "higher_better" | "none"
    categorical : list of categorical indicators
    min_iv : drop indicators whose information value is below this
    max_psi : drop indicators whose bins shift by more than this population stability index
        between the fitting rows and the later rows given to `fit` as `X_recent` (stability);
        None keeps every indicator whatever its shift
    max_n_bins, min_bin_size : binning granularity (min_bin_size as a share of rows)
    C : inverse regularisation of the logistic regression (`RescaledLogisticRegression`): the
        indicators' relative weights; the points keep their scale whatever C is
    base_points, base_odds, pdo : the points scale (base points at good:bad odds, points to double the odds)
    units : dict, indicator -> the grid its thresholds are published on (`models.thresholds.UNITS`:
        share, count, days, years, amount); an indicator not in it: whole numbers when its values
        all are, else two significant figures
    snap : move each numeric indicator's cut points, as the optimal binning chose them, to values
        a person reads (`models.thresholds.snap_splits`) and bin from those: the published
        thresholds are the bins'
    integer_points : each bin's points rounded to a whole number (so totals, reasons and the
        published criteria are whole numbers too)
    min_points_spread : an indicator whose points spread (best bin minus worst) less than this is
        dropped and the model refitted: it would be published as scoring while moving no total
    """

    def __init__(self, directions=None, categorical=None, min_iv=0.02, max_psi=None, max_n_bins=6, min_bin_size=0.05,
                 C=1.0, base_points=600.0, base_odds=50.0, pdo=40.0, units=None, snap=True,
                 integer_points=True, min_points_spread=0.0):
        self.directions = directions
        self.categorical = categorical
        self.min_iv = min_iv
        self.max_psi = max_psi
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.units = units
        self.snap = snap
        self.integer_points = integer_points
        self.min_points_spread = min_points_spread

    def _binning_process(self, X: pd.DataFrame, user_splits: dict[str, list[float]] | None = None):
        """The unfitted binning of X's columns, with selection by information value; numeric
        indicators in `user_splits` are binned from those cut points only."""
        from optbinning import BinningProcess

        directions = self.directions or {}
        categorical = [c for c in (self.categorical or []) if c in X]
        params = {}
        for col in X.columns:
            p = {"max_n_bins": self.max_n_bins}
            if col not in categorical:
                # a scale measure with no declared direction still gets a monotone trend, the
                # data choosing which, so its published points read in one direction
                p["monotonic_trend"] = TRENDS.get(directions.get(col, "none"), "auto_asc_desc")
                if (user_splits or {}).get(col):
                    p["user_splits"] = user_splits[col]
            params[col] = p
        return BinningProcess(
            variable_names=list(X.columns), categorical_variables=categorical, min_bin_size=self.min_bin_size,
            binning_fit_params=params, selection_criteria={"iv": {"min": self.min_iv}})

    def _snapped_splits(self, X: pd.DataFrame, y: np.ndarray, sample_weight) -> dict[str, list[float]]:
        """Each numeric indicator's cut points as the optimal binning chooses them, moved to values
        a person reads (`thresholds.snap_splits`)."""
        from chengxin.models.thresholds import snap_splits

        process = self._binning_process(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            process.fit(X, y, sample_weight=sample_weight)
        units, out = self.units or {}, {}
        for col in X.columns:
            binned = process.get_binned_variable(col)
            if binned.dtype != "categorical" and len(binned.splits):
                values = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float)
                if sample_weight is not None:  # a row of weight 0 is not in the data the cuts divide
                    values = values[np.asarray(sample_weight, dtype=float) > 0]
                # (a cut that cannot be snapped inside the data: one past it all, so the binning
                # still takes no cut of its own choosing)
                out[col] = snap_splits(values, binned.splits, units.get(col), with_neighbours=True) or [
                    float(np.nanmax(values)) + 1.0]
        return out

    def _fit_once(self, X: pd.DataFrame, y: np.ndarray, sample_weight, splits: dict[str, list[float]] | None):
        from optbinning import Scorecard

        # rounding: optbinning rounds each bin's scaled points to the nearest whole number
        scorecard = Scorecard(
            binning_process=self._binning_process(X, splits), estimator=RescaledLogisticRegression(C=self.C),
            scaling_method="pdo_odds", rounding=bool(self.integer_points),
            scaling_method_params={"pdo": self.pdo, "odds": self.base_odds, "scorecard_points": self.base_points})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scorecard.fit(X, y, sample_weight=sample_weight)
        support = scorecard.binning_process_.get_support()
        selected = [c for c, keep in zip(X.columns, support) if keep]
        return scorecard, selected

    def fit(self, X, y, sample_weight=None, X_recent=None):
        """X_recent: optional rows from a later window (train passes the calibration window); with
        `max_psi` set, an indicator whose bins shift more than that between X and X_recent is
        dropped and the model refitted. `stability_` keeps each selected indicator's shift."""
        X = _frame(X)
        y = np.asarray(y, dtype=int)
        columns = _with_values(X)  # an indicator with no value in the fitting rows cannot be binned
        # With WoE inputs every coefficient must be negative (more WoE, less risk); an indicator
        # whose coefficient comes out positive would earn points against its own bins (a
        # collinearity artefact) and is dropped, then the model is refitted.
        # An indicator whose points barely move (best bin minus worst under `min_points_spread`)
        # would be published as scoring while changing no one's total: once no indicator runs
        # against its bins or shifts, those are dropped too (`dropped_for_spread_`: each one's
        # spread) and the model refitted.
        self.dropped_for_sign_, self.dropped_for_stability_, self.stability_ = [], [], {}
        self.dropped_for_spread_ = {}
        # each indicator is binned on its own, so its snapped cuts hold for every refit: found once
        splits = self._snapped_splits(X[columns], y, sample_weight) if self.snap else None

        def reject(fitted, _columns) -> list[str]:
            scorecard, selected = fitted
            wrong = against_their_bins(selected, scorecard.estimator_.coef_.ravel())
            # each indicator is binned on its own, so a refit bins it the same: measure it once
            fresh = [c for c in selected if c not in self.stability_]
            if X_recent is not None and fresh:
                self.stability_.update(self._shifts(scorecard, X[fresh], _frame(X_recent)[fresh]))
            unstable = [c for c in selected if self.max_psi is not None and self.stability_.get(c, 0.0) > self.max_psi]
            narrow = {}
            if not wrong and not unstable and self.min_points_spread:
                spread = self._spreads(scorecard)
                narrow = {c: spread[c] for c in selected if spread[c] < self.min_points_spread}
                if len(narrow) == len(selected):  # none would be left: keep the widest
                    narrow.pop(max(narrow, key=narrow.get))
            self.dropped_for_sign_ += wrong
            self.dropped_for_stability_ += unstable
            self.dropped_for_spread_.update(narrow)
            return [*wrong, *unstable, *narrow]

        (scorecard, selected), columns = refit_dropping(
            lambda cols: self._fit_once(X[cols], y, sample_weight, splits), columns, reject)
        self.scorecard_ = scorecard
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(X.columns)
        self.used_columns_ = columns
        self.selected_ = selected
        return self

    @staticmethod
    def _spreads(scorecard) -> dict[str, float]:
        """Each selected indicator's points spread: its best bin's points minus its worst's (the
        bins for missing and special values included: a subject can land in them)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = scorecard.table(style="summary")
        points = t.groupby("Variable")["Points"]
        return {str(k): round(float(v), 4) for k, v in (points.max() - points.min()).items()}

    @staticmethod
    def _shifts(scorecard, X: pd.DataFrame, X_recent: pd.DataFrame) -> dict[str, float]:
        """Population stability index of each indicator's bins, the later rows against the fitting rows."""
        from chengxin.models.validation import psi_of_bins

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = scorecard.binning_process_.transform(X, metric="bins")
            after = scorecard.binning_process_.transform(X_recent, metric="bins")
        return {c: round(psi_of_bins(before[c], after[c]), 4) for c in X.columns}

    def predict_proba(self, X):
        """The probability the points say: with whole points, the published (rounded) total read
        back on the points scale (`base_points` at `base_odds`, `pdo` more to double the odds), so
        the PD and the published points rank every subject alike; unrounded, the same as the
        regression's own probability."""
        check_is_fitted(self, "scorecard_")
        if getattr(self, "integer_points", False):
            good_log_odds = np.log(self.base_odds) + (self.points(X) - self.base_points) * np.log(2) / self.pdo
            p = 1.0 / (1.0 + np.exp(good_log_odds))
            return np.column_stack([1 - p, p])
        X = _frame(X)[self.used_columns_]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = self.scorecard_.predict_proba(X)
        return np.asarray(p)

    def points(self, X) -> np.ndarray:
        """Total points: higher is better (lower risk)."""
        check_is_fitted(self, "scorecard_")
        X = _frame(X)[self.used_columns_]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.scorecard_.score(X), dtype=float)

    def points_by_indicator(self, X) -> pd.DataFrame:
        """Points each subject earns on each selected indicator; rows add up to `points`."""
        check_is_fitted(self, "scorecard_")
        X = _frame(X)[self.used_columns_]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bins = self.scorecard_.binning_process_.transform(X, metric="bins")
        table = self.table()
        out = {}
        for name in self.selected_:
            lookup = table[table["indicator"] == name].assign(bin=lambda d: d["bin"].astype(str)).set_index("bin")["points"]
            # a category never seen in training scores like a missing value (WoE 0)
            out[name] = bins[name].astype(str).map(lookup).fillna(lookup["Missing"]).to_numpy(dtype=float)
        return pd.DataFrame(out, index=X.index)

    def max_points(self) -> pd.Series:
        """The most points each selected indicator can give (its best bin)."""
        t = self.table()
        return t[t["indicator"].isin(self.selected_)].groupby("indicator")["points"].max()

    def table(self) -> pd.DataFrame:
        """Indicator, bin and points: the published criteria."""
        check_is_fitted(self, "scorecard_")
        cached = self.__dict__.get("_table_cache")
        if cached is None or cached[0] is not self.scorecard_:  # refitted since
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = self.scorecard_.table(style="detailed")
            cached = (self.scorecard_, t.rename(columns={"Variable": "indicator", "Bin": "bin", "Points": "points"}))
            self.__dict__["_table_cache"] = cached
        return cached[1].copy()


def refit_dropping(fit, columns: list[str], reject, rounds: int = 10):
    """Fit on `columns`, drop the ones `reject(fitted, columns)` names, and refit, until none is
    rejected (at most `rounds` fits). Returns the last fit and the columns it was fitted on. The
    one home of the scorecard's refit loop (`ScorecardModel.fit`, `cross_validated_c`)."""
    for round_ in range(rounds):
        fitted = fit(columns)
        dropped = reject(fitted, columns)
        if not dropped or round_ == rounds - 1:
            break
        columns = [c for c in columns if c not in dropped]
    return fitted, columns


def against_their_bins(columns: list[str], coef) -> list[str]:
    """The indicators whose weight runs against their own bins. With WoE inputs every
    coefficient must be negative (more WoE, less risk); a positive one would earn points against
    the indicator's bins (a collinearity artefact): `ScorecardModel.fit` and `cross_validated_c`
    both drop such indicators and refit."""
    return [c for c, b in zip(columns, np.ravel(coef)) if b > 0]


def _against_unless_all(lr, columns: list[str]) -> list[str]:
    """The indicators against their bins, unless that is all of them."""
    wrong = against_their_bins(columns, lr.coef_.ravel())
    return [] if len(wrong) == len(columns) else wrong


def cross_validated_c(scorecard: ScorecardModel, X: pd.DataFrame, y, splits, grid) -> tuple[float, dict[str, float]]:
    """The scorecard's C (logistic regression) with the best cross-validated AUC, and the mean AUC
    at each C of `grid`. On each (train, test) split of `splits` the bins (and the selection by
    information value) are fitted once on the train rows; at every C the regression is fitted on
    their WoE, dropping indicators whose weight runs against their bins as `ScorecardModel.fit`
    does, and scored on the test rows. Ties go to the smaller C (fewer points on noise)."""
    from sklearn.metrics import roc_auc_score

    X = _frame(X)
    y = np.asarray(y, dtype=int)
    grid = sorted(grid)
    aucs = np.zeros((len(splits), len(grid)))
    for i, (train, test) in enumerate(splits):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fold = X.iloc[train][_with_values(X.iloc[train])]
            process = scorecard._binning_process(fold).fit(fold, y[train])
            woe_train = process.transform(fold, metric="woe")
            woe_test = process.transform(X.iloc[test][fold.columns], metric="woe")
        if woe_train.shape[1] == 0:  # nothing informative in this fold: no C ranks better than chance
            aucs[i] = 0.5
            continue
        for j, c in enumerate(grid):
            lr, columns = refit_dropping(lambda cols: LogisticRegression(C=c, max_iter=1000).fit(woe_train[cols], y[train]),
                                         list(woe_train.columns), _against_unless_all)
            aucs[i, j] = roc_auc_score(y[test], lr.decision_function(woe_test[columns]))
    mean = aucs.mean(axis=0)
    return float(grid[int(np.argmax(mean))]), {str(c): round(float(a), 4) for c, a in zip(grid, mean)}


def __getattr__(name: str):
    """`BoostedModel` by its old address: models stored before it had its own module name it here."""
    if name == "BoostedModel":
        from chengxin.models.boosted import BoostedModel

        return BoostedModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
