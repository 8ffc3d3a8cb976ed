"""scikit-learn's estimator checks (`parametrize_with_checks`) on the rating models.

The models in `models/estimators.py` and `models/calibration.py` are checked twice over:

1. As they are. `ScorecardModel` and `BoostedModel` take a DataFrame with one named column per
   indicator and refuse numpy arrays by design, so most checks (which hand them arrays) stop at
   that TypeError; only the API checks (cloning, parameters, tags, repr, unfitted errors) reach them.
2. Through `_AsFrame`, a test-only adapter that does nothing but name the columns of the check's
   array (x0, x1, ...) and hand the estimator a DataFrame, and declares what the models'
   docstrings say: they rate default (0/1), so they are binary classifiers. With it the checks
   reach the models' own fit/predict: idempotence, sample-order and subset invariance, pickling,
   sample weights, read-only inputs, the unfitted state...

Every check an estimator cannot honour is listed below with the reason, and the checks run with
``xfail_strict=True``: a listed check that starts passing fails this file, so the lists stay true.
Reasons starting "BUG:" are defects in product code (reported, not fixed here).

Parameters are chosen so that the checks test something: `BoostedModel` with its default
`min_child_samples=100` grows no tree on the checks' 20-100 row data sets and predicts a
constant, which passes invariance checks vacuously; `n_estimators=30, min_child_samples=5` lets it
learn (and keeps it fast). `ScorecardModel(min_iv=0.0)` keeps every binned indicator, so the
checks' weakly informative columns are not all dropped before the regression.
`CalibratedRatingModel` wraps an already fitted model; it is given a frozen stand-in whose
log-odds are the row sum, so it takes the checks' data of any width.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from chengxin.models.calibration import CalibratedRatingModel
from chengxin.models.boosted import BoostedModel
from chengxin.models.estimators import RescaledLogisticRegression, ScorecardModel

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:.*:pandas.errors.Pandas4Warning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


# --------------------------------------------------------------------------------- test doubles


class _AsFrame(ClassifierMixin, BaseEstimator):
    """Hands the wrapped rating model the check's array as a DataFrame with columns x0, x1, ...

    Nothing else: no validation, no label encoding, so what the checks see is the model's own
    behaviour. Declares the models binary (they rate default, 0/1), as their docstrings say."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    @staticmethod
    def _frame(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def fit(self, X, y, sample_weight=None):
        self.estimator_ = clone(self.estimator).fit(self._frame(X), y, sample_weight=sample_weight)
        self.classes_ = self.estimator_.classes_
        if hasattr(self.estimator_, "n_features_in_"):  # reported only if the model sets it
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(self._frame(X))

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._frame(X))

    def decision_function(self, X):
        check_is_fitted(self)
        return self.estimator_.decision_function(self._frame(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class _BinaryRescaledLogisticRegression(RescaledLogisticRegression):
    """`RescaledLogisticRegression` unchanged, declaring what it is: binary (one row of weights)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class _RowSumModel(ClassifierMixin, BaseEstimator):
    """A fitted stand-in rating model for the calibrator: its log-odds are the row sum."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return np.asarray(X, dtype=float).sum(axis=1)


# ------------------------------------------------------------------------------------- reasons

DATAFRAME_ONLY = "takes a DataFrame with one named column per indicator; numpy arrays are refused (TypeError) by design"
DATAFRAME_ONLY_ERR = DATAFRAME_ONLY + ", so the check meets that TypeError instead of the error it looks for"
SPARSE = "dense indicator tables only; sparse input is not refused with a message naming sparsity"
LABELS_01 = "y is the default flag, cast to int: labels must be 0/1 (string labels raise ValueError in int())"
Y_NOT_VALIDATED = "y is cast to int without validation: a continuous or infinite target is truncated, not refused"
Y_NONE = "y=None is not refused with sklearn's 'requires y' ValueError: np.asarray(None, dtype=int) raises TypeError"
NO_N_FEATURES_IN = "fit records feature_names_in_ (the indicator names) but not n_features_in_"
ONE_D = "not applicable: a DataFrame is always 2-D; the 1-D array is refused by this file's adapter, not the model"
LABELS_1_2 = ("the check's labels are not 0/1 (1/2, or 0/1/2); y must be the 0/1 default flag, and optbinning, "
              "finding no events in its bins, fails with 'Found array with 0 sample(s)'")

_API_ONLY_FAILURES = [  # the checks that hand numpy arrays to fit: everything past the API checks
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_estimators_dtypes", "check_sample_weights_not_an_array", "check_sample_weights_list",
    "check_all_zero_sample_weights_error", "check_sample_weights_shape", "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data", "check_complex_data", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_classifier_data_not_an_array", "check_classifiers_classes", "check_supervised_y_2d",
    "check_decision_proba_consistency", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged", "check_fit_idempotent",
    "check_fit_check_is_fitted", "check_n_features_in", "check_fit1d", "check_fit2d_predict1d", "check_requires_y_none",
]
_API_ONLY_ERROR_CHECKS = [  # checks expecting a particular error that get the DataFrame TypeError instead
    "check_positive_only_tag_during_fit", "check_estimators_empty_data_messages", "check_estimators_nan_inf",
    "check_classifiers_one_label", "check_classifiers_one_label_sample_weights", "check_classifiers_train",
    "check_classifiers_regression_target", "check_supervised_y_no_nan",
]


def _dataframe_only(extra: dict[str, str]) -> dict[str, str]:
    reasons = dict.fromkeys(_API_ONLY_FAILURES, DATAFRAME_ONLY)
    reasons.update(dict.fromkeys(_API_ONLY_ERROR_CHECKS, DATAFRAME_ONLY_ERR))
    reasons.update(dict.fromkeys(["check_estimator_sparse_tag", "check_estimator_sparse_array",
                                  "check_estimator_sparse_matrix"], DATAFRAME_ONLY_ERR))
    reasons.update(extra)
    return reasons


SCORECARD = ScorecardModel(min_iv=0.0)
SCORECARD_REASONS = _dataframe_only({
    "check_sample_weights_pandas_series": "the check's DataFrame has integer column labels; optbinning needs "
                                          "indicator names that are strings ('name must be a string')",
})

BOOSTED = BoostedModel(n_estimators=30, min_child_samples=5)
BOOSTED_REASONS = {k: v for k, v in _dataframe_only({}).items()}  # its pandas-Series check passes a DataFrame

SCORECARD_FRAMES = _AsFrame(ScorecardModel(min_iv=0.0))
SCORECARD_FRAMES_REASONS = {
    "check_n_features_in_after_fitting": NO_N_FEATURES_IN,
    "check_n_features_in": NO_N_FEATURES_IN,
    "check_estimators_dtypes": LABELS_1_2,
    "check_sample_weights_pandas_series": LABELS_1_2,
    "check_sample_weights_shape": LABELS_1_2,
    "check_sample_weights_not_overwritten": LABELS_1_2,
    "check_classifier_data_not_an_array": LABELS_1_2,
    "check_fit2d_1feature": LABELS_1_2,
    "check_sample_weights_not_an_array": "sample_weight goes to optbinning unconverted, which iterates it "
                                         "('_NotAnArray' object is not iterable)",
    "check_dtype_object": "numbers in object columns fit (binned as categories by optbinning), but a column "
                          "holding a dict is refused by optbinning with TypeError('unhashable type'), not "
                          "numpy's 'argument must be a string or a number'",
    "check_estimators_empty_data_messages": "an empty table is refused by optbinning with KeyError('iv'), not ValueError",
    "check_estimators_nan_inf": "missing values are welcome by design (a bin of their own) and infinities fall in "
                                "the outer bins; the allow_nan tag is not declared",
    "check_estimator_sparse_tag": SPARSE,
    "check_estimator_sparse_array": SPARSE,
    "check_estimator_sparse_matrix": SPARSE,
    "check_classifiers_one_label": "a single class is refused by optbinning with an opaque 'Found array with 0 "
                                   "sample(s)' ValueError that does not mention the class",
    "check_classifiers_one_label_sample_weights": "a single class is refused by optbinning with an opaque 'Found "
                                                  "array with 0 sample(s)' ValueError that does not mention the class",
    "check_classifiers_classes": LABELS_01,
    "check_classifiers_train": "indicators are read by name (used_columns_) and other columns ignored, by design: "
                               "a table with a different number of columns is scored, not refused",
    "check_classifiers_regression_target": Y_NOT_VALIDATED,
    "check_supervised_y_2d": "a column-vector y is not raveled; optbinning fails indexing it (IndexError)",
    "check_classifier_not_supporting_multiclass": "multiclass y is refused by optbinning ('Target type multiclass "
                                                  "is not supported'), not with sklearn's 'Only binary "
                                                  "classification' message",
    "check_fit2d_1sample": "one row is refused by optbinning's opaque 'Found array with 0 sample(s)', not a "
                           "message naming the sample count",
    "check_fit2d_predict1d": ONE_D,
    "check_requires_y_none": Y_NONE,
}

LIGHTGBM_ERROR = "refused by LightGBM with LightGBMError, which is not a ValueError"
BOOSTED_FRAMES = _AsFrame(BoostedModel(n_estimators=30, min_child_samples=5))
BOOSTED_FRAMES_REASONS = {
    "check_n_features_in_after_fitting": NO_N_FEATURES_IN,
    "check_n_features_in": NO_N_FEATURES_IN,
    "check_sample_weights_not_an_array": "sample_weight goes to LightGBM unconverted, which takes only a list, "
                                         "ndarray or Series",
    "check_all_zero_sample_weights_error": "sample_weight goes to LightGBM unchecked: all-zero weights are not refused",
    "check_sample_weights_shape": "sample_weight goes to LightGBM unchecked: weights of the wrong length or shape "
                                  "are accepted without error",
    "check_sample_weight_equivalence_on_dense_data": "LightGBM is not weight/repetition equivalent: "
                                                     "min_child_samples and its histograms count rows, not weight",
    "check_complex_data": "refused by LightGBM ('pandas dtypes must be int, float or bool'), not with "
                          "'Complex data not supported'",
    "check_dtype_object": "LightGBM takes numeric or declared categorical columns; a table of object dtype is refused",
    "check_estimators_empty_data_messages": LIGHTGBM_ERROR,
    "check_fit2d_1sample": "one row: bagging (subsample=0.8) keeps none of it and LightGBM fails with LightGBMError "
                           "('num_data > 0'), not a ValueError naming the sample count",
    "check_estimators_nan_inf": "missing values are welcome by design (LightGBM routes them); the allow_nan tag "
                                "is not declared",
    "check_estimator_sparse_tag": SPARSE,
    "check_estimator_sparse_array": SPARSE,
    "check_estimator_sparse_matrix": SPARSE,
    "check_classifiers_one_label": "BUG: fitted where every row has the same label it predicts the other one: with "
                                   "y all 1 the booster's only class is 1, its predict_proba column 1 is that of "
                                   "the encoded class that never occurs, and BoostedModel reads it as the PD "
                                   "(~1e-15 for subjects that all defaulted), while claiming classes_ [0, 1]",
    "check_classifiers_classes": LABELS_01,
    "check_classifiers_train": "mismatched X and y lengths are " + LIGHTGBM_ERROR,
    "check_classifiers_regression_target": Y_NOT_VALIDATED,
    "check_supervised_y_no_nan": Y_NOT_VALIDATED,
    "check_classifier_not_supporting_multiclass": "binary (default flag) only, but a multiclass y is not refused: "
                                                  "LightGBM quietly fits a multiclass booster",
    "check_fit2d_predict1d": ONE_D,
    "check_requires_y_none": Y_NONE,
}

RLR_BINARY_ONLY = ("binary only: its weights are one row (coef_.ravel()), so a multiclass y (which this check "
                   "uses) breaks with a matmul shape error; its tags do not declare multi_class=False")
RLR_UNVALIDATED = ("no input validation (np.asarray): its one caller, optbinning's Scorecard, hands it a finite, "
                   "dense WoE matrix")
RLR_CLASSES = ("BUG: predict returns 0/1 whatever the labels: (decision_function > 0).astype(int), not "
               "classes_[...], so with labels other than 0/1 (here 'one'/'two') it predicts labels never seen")
RLR_NO_N_FEATURES_IN = "does not record n_features_in_ (X is taken with np.asarray, unvalidated)"

RLR = RescaledLogisticRegression()
RLR_REASONS = {
    **dict.fromkeys([
        "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_sample_weights_list",
        "check_sample_weight_equivalence_on_dense_data", "check_dtype_object", "check_f_contiguous_array_estimator",
        "check_classifiers_train", "check_supervised_y_2d", "check_non_transformer_estimators_n_iter",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_dict_unchanged",
        "check_fit2d_predict1d"], RLR_BINARY_ONLY),
    "check_estimators_nan_inf": RLR_UNVALIDATED,
    "check_estimator_sparse_tag": RLR_UNVALIDATED,
    "check_estimator_sparse_array": RLR_UNVALIDATED,
    "check_estimator_sparse_matrix": RLR_UNVALIDATED,
    "check_classifiers_classes": RLR_CLASSES,
    "check_n_features_in": RLR_NO_N_FEATURES_IN,
}

RLR_BINARY = _BinaryRescaledLogisticRegression()
RLR_BINARY_REASONS = {
    "check_n_features_in_after_fitting": RLR_NO_N_FEATURES_IN,
    "check_n_features_in": RLR_NO_N_FEATURES_IN,
    "check_estimators_nan_inf": RLR_UNVALIDATED,
    "check_estimator_sparse_tag": RLR_UNVALIDATED,
    "check_estimator_sparse_array": RLR_UNVALIDATED,
    "check_estimator_sparse_matrix": RLR_UNVALIDATED,
    "check_fit2d_predict1d": RLR_UNVALIDATED + ": a 1-D row is scored as a dot product instead of refused",
    "check_classifiers_classes": RLR_CLASSES,
    "check_non_transformer_estimators_n_iter": "has max_iter but exposes no n_iter_ (its two inner "
                                               "LogisticRegression fits' iterations are not kept)",
    "check_classifier_not_supporting_multiclass": "a multiclass y is not refused with sklearn's 'Only binary "
                                                  "classification' ValueError (it fails later, in a matmul)",
}

CALIBRATOR = CalibratedRatingModel(FrozenEstimator(_RowSumModel().fit()))
CALIBRATOR_UNVALIDATED = ("no input validation of its own: X only goes to the wrapped model's decision_function "
                          "(here a stand-in that takes any numbers), which is where validation belongs")
CALIBRATOR_REASONS = {
    "check_n_features_in_after_fitting": "records the wrapped model's feature_names_in_ when it has them, but "
                                         "never n_features_in_",
    "check_n_features_in": "records the wrapped model's feature_names_in_ when it has them, but never n_features_in_",
    "check_complex_data": CALIBRATOR_UNVALIDATED,
    "check_estimators_empty_data_messages": CALIBRATOR_UNVALIDATED,
    "check_estimators_nan_inf": CALIBRATOR_UNVALIDATED,
    "check_estimator_sparse_tag": CALIBRATOR_UNVALIDATED,
    "check_estimator_sparse_array": CALIBRATOR_UNVALIDATED,
    "check_estimator_sparse_matrix": CALIBRATOR_UNVALIDATED,
    "check_classifiers_train": CALIBRATOR_UNVALIDATED + " (a table of another width is scored)",
    "check_fit2d_predict1d": CALIBRATOR_UNVALIDATED,
    "check_classifiers_classes": LABELS_01,
    "check_classifiers_regression_target": Y_NOT_VALIDATED,
    "check_requires_y_none": Y_NONE,
}

CASES = [
    (RLR, RLR_REASONS),
    (RLR_BINARY, RLR_BINARY_REASONS),
    (SCORECARD, SCORECARD_REASONS),
    (BOOSTED, BOOSTED_REASONS),
    (SCORECARD_FRAMES, SCORECARD_FRAMES_REASONS),
    (BOOSTED_FRAMES, BOOSTED_FRAMES_REASONS),
    (CALIBRATOR, CALIBRATOR_REASONS),
]


def _expected_failures(estimator) -> dict[str, str]:
    return next(reasons for case, reasons in CASES if case is estimator)


@parametrize_with_checks([case for case, _ in CASES], expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# ------------------------------------------------------- what the checks cannot see on toy data


def _credit_like(n=600, seed=0):
    """Noisy indicators with missing values: no perfectly separating column (optbinning merges a
    bin that is all default or none, so on the checks' separable toy sets a scorecard is flat)."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame({"a": rng.uniform(size=n).round(2), "b": rng.randint(0, 8, n).astype(float),
                      "c": rng.normal(size=n).round(2)})
    X.loc[rng.uniform(size=n) < 0.1, "c"] = np.nan
    y = (rng.uniform(size=n) < 0.1 + 0.4 * X["a"] + 0.03 * X["b"]).astype(int).to_numpy()
    return X, y


def test_the_checked_configurations_learn_something():
    """The configurations above are not constant predictors (which would pass invariance checks vacuously)."""
    X, y = _credit_like()
    for model in (SCORECARD, BOOSTED):
        p = clone(model).fit(X, y).predict_proba(X)[:, 1]
        assert len(np.unique(p.round(9))) >= 3, model
        assert np.corrcoef(p, X["a"])[0, 1] > 0.3, model  # riskier with a, as generated


@pytest.mark.parametrize("model", [SCORECARD, BOOSTED], ids=["scorecard", "boosted"])
def test_pickle_round_trip_on_a_scorecard_that_ranks(model):
    """check_estimators_pickle runs on separable blobs, where the scorecard is flat."""
    X, y = _credit_like()
    fitted = clone(model).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(fitted.predict_proba(X), again.predict_proba(X))
    np.testing.assert_array_equal(fitted.predict(X), again.predict(X))
    if isinstance(model, ScorecardModel):
        np.testing.assert_array_equal(fitted.points(X), again.points(X))


@pytest.mark.parametrize("snap", [False, True], ids=["snap-off", "snap-on"])
def test_scorecard_sample_weight_is_repetition(snap):
    """check_sample_weight_equivalence_on_dense_data passes vacuously (flat scorecard on separable
    data); on noisy data an integer weight must act as repeating the row."""
    X, y = _credit_like()
    weights = np.random.RandomState(1).randint(0, 3, len(y))
    weighted = ScorecardModel(snap=snap).fit(X, y, sample_weight=weights)
    rows = np.repeat(np.arange(len(y)), weights)
    repeated = ScorecardModel(snap=snap).fit(X.iloc[rows].reset_index(drop=True), y[rows])
    assert weighted.selected_ == repeated.selected_
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-9)
