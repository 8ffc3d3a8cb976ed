"""The rating estimators and the grade scales (issue 4 groundwork)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score

from chengxin.models import grades
from chengxin.models.estimators import ChallengerModel, ScorecardModel


@pytest.fixture(scope="module")
def book():
    """A synthetic book: risk rises with arrears and falls with age; one noise column; some missing."""
    rng = np.random.default_rng(3)
    n = 6000
    arrears = rng.poisson(0.5, n).astype(float)
    age = rng.exponential(8, n)
    noise = rng.normal(size=n)
    sector = rng.choice(["C", "F", "E"], n)
    logit = -3.2 + 0.9 * arrears - 0.08 * age + np.where(sector == "E", 0.6, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    arrears[rng.random(n) < 0.1] = np.nan
    X = pd.DataFrame({"arrears": arrears, "age": age, "noise": noise, "sector": pd.Series(sector, dtype="str")})
    directions = {"arrears": "higher_worse", "age": "higher_better", "noise": "higher_worse", "sector": "none"}
    return X, y, directions


def test_scorecard_learns_and_keeps_directions(book):
    X, y, directions = book
    original = X.copy()
    model = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y)
    pd.testing.assert_frame_equal(X, original)  # inputs are never modified
    p = model.predict_proba(X)[:, 1]
    assert roc_auc_score(y, p) > 0.7
    assert "arrears" in model.selected_ and "age" in model.selected_
    table = model.table()
    arrears = table[(table["indicator"] == "arrears") & ~table["bin"].astype(str).isin(["Special", "Missing"])]
    assert (np.diff(arrears["points"].to_numpy()) <= 1e-9).all()  # more arrears never earns more points
    age = table[(table["indicator"] == "age") & ~table["bin"].astype(str).isin(["Special", "Missing"])]
    assert (np.diff(age["points"].to_numpy()) >= -1e-9).all()
    assert (model.scorecard_.estimator_.coef_ <= 0).all()
    points = model.points(X)
    from scipy.stats import spearmanr

    assert spearmanr(points, p).statistic < -0.99  # points are the log-odds rescaled: more points, less risk


def test_points_by_indicator_add_up(book):
    X, y, directions = book
    model = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y)
    assert "sector" in model.selected_  # a categorical indicator takes part
    parts = model.points_by_indicator(X)
    np.testing.assert_allclose(parts.sum(axis=1), model.points(X), rtol=0, atol=1e-9)
    odd = X.head(4).copy()
    odd["sector"] = ["Q", None, "C", "新行业"]  # unseen and missing categories
    np.testing.assert_allclose(model.points_by_indicator(odd).sum(axis=1), model.points(odd), rtol=0, atol=1e-9)
    assert (parts.le(model.max_points()[parts.columns] + 1e-9)).all().all()


def test_an_indicator_that_shifts_after_the_fitting_window_is_dropped(book):
    X, y, directions = book
    later = X.copy()
    later["age"] = later["age"] + 40  # every firm in the oldest bin: the bins no longer hold
    kept = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y, X_recent=later)
    assert "age" in kept.selected_ and kept.stability_["age"] > 1.0  # measured, kept: no threshold
    assert kept.stability_["arrears"] < 0.01
    stable = ScorecardModel(directions=directions, categorical=["sector"], max_psi=0.25).fit(X, y, X_recent=later)
    assert stable.dropped_for_stability_ == ["age"]
    assert "age" not in stable.selected_ and "arrears" in stable.selected_
    assert set(stable.points_by_indicator(X).columns) == set(stable.selected_)
    # without later rows nothing is measured and nothing dropped
    assert ScorecardModel(directions=directions, categorical=["sector"], max_psi=0.25).fit(X, y).dropped_for_stability_ == []


def test_points_keep_their_scale_under_a_strong_penalty(book):
    from sklearn.linear_model import LogisticRegression

    X, y, directions = book
    loose = ScorecardModel(directions=directions, categorical=["sector"], C=1.0).fit(X, y)
    tight = ScorecardModel(directions=directions, categorical=["sector"], C=0.0003).fit(X, y)
    spread = {k: np.subtract(*np.percentile(m.points(X), [95, 5])) for k, m in (("loose", loose), ("tight", tight))}
    assert 0.75 < spread["tight"] / spread["loose"] < 1.33
    # the penalised weights alone would have squeezed the points towards the average
    process = tight.scorecard_.binning_process_
    woe = process.transform(X[tight.used_columns_], metric="woe")
    squeezed = LogisticRegression(C=0.0003, max_iter=1000).fit(woe, y).decision_function(woe)
    assert np.subtract(*np.percentile(squeezed, [95, 5])) < 0.5 * np.subtract(*np.percentile(tight.decision_function(X), [95, 5]))
    # rescaling keeps the penalised ranking
    assert roc_auc_score(y, tight.predict_proba(X)[:, 1]) == pytest.approx(roc_auc_score(y, squeezed), abs=1e-9)


def test_cross_validated_c_penalises_a_small_book_full_of_noise(book):
    from chengxin.models.estimators import cross_validated_c

    X, y, directions = book
    rng = np.random.default_rng(5)
    small = X.iloc[:800].copy()
    for k in range(12):  # many categories with no bearing on the outcome
        small[f"noise_{k}"] = pd.Series(rng.choice(list("ABCDEFGH"), len(small)), index=small.index, dtype="str")
    categorical = ["sector"] + [f"noise_{k}" for k in range(12)]
    folds = [(np.flatnonzero(np.arange(len(small)) % 3 != k), np.flatnonzero(np.arange(len(small)) % 3 == k)) for k in range(3)]
    grid = (0.0003, 0.003, 0.03, 0.3, 3.0)
    c, auc_by_c = cross_validated_c(ScorecardModel(directions=directions, categorical=categorical, min_iv=0.0),
                                    small, y[:800], folds, grid)
    assert list(auc_by_c) == [str(g) for g in grid]
    assert auc_by_c[str(c)] == max(auc_by_c.values())
    assert c < 3.0 and auc_by_c[str(c)] > auc_by_c["3.0"]


def test_missing_values_get_their_own_bin(book):
    X, y, directions = book
    model = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y)
    missing = model.table()
    row = missing[(missing["indicator"] == "arrears") & (missing["bin"].astype(str) == "Missing")]
    assert len(row) == 1 and row["Count"].iloc[0] > 0


def test_single_row_and_round_trip(book):
    X, y, directions = book
    for model in (ScorecardModel(directions=directions, categorical=["sector"]),
                  ChallengerModel(directions=directions, categorical=["sector"], n_estimators=50)):
        model.fit(X, y)
        one = model.predict_proba(X.iloc[[7]])
        assert one.shape == (1, 2)
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X))
        assert clone(model).get_params() == model.get_params()


def test_challenger_respects_monotone_constraints(book):
    X, y, directions = book
    model = ChallengerModel(directions=directions, categorical=["sector"], n_estimators=80).fit(X, y)
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.7
    probe = pd.concat([X.iloc[[0]]] * 8, ignore_index=True)
    probe["arrears"] = np.arange(8, dtype=float)
    p = model.predict_proba(probe)[:, 1]
    assert (np.diff(p) >= -1e-12).all()
    contrib = model.contributions(X.head(20))
    raw = model.booster_.predict(model._prepare(X.head(20)), raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-9, atol=1e-9)


def test_master_scale_and_tiers():
    cfg = grades.rating_config()
    assert len(cfg.master_scale) >= 7 and cfg.default_grade == "D"
    g = grades.grade_of(np.array([0.0005, 0.003, 0.05, 0.5]), in_default=np.array([False, False, False, True]))
    assert list(g) == ["AAA", "A", "CCC", "D"]
    pd_ = np.array([0.001, 0.01, 0.05, 0.2])
    pts = grades.points_of(pd_)
    assert (np.diff(pts) < 0).all()
    assert abs(grades.points_of(np.array([1 / 51]))[0] - cfg.scorecard_scaling.base_points) < 1e-6
    tiers = grades.tier_of(np.array([700, 600, 500, 100]))
    assert list(tiers) == ["A", "B", "C", "D"]
    conc = grades.concentration(np.array(["AAA"] * 9 + ["BB"]))
    assert conc["concentrated"] and conc["max_share"] == 0.9


def test_bad_scales_are_refused():
    cfg = grades.rating_config().model_dump()
    cfg["master_scale"][2]["pd_max"] = 0.001
    with pytest.raises(ValueError, match="increase strictly"):
        grades.RatingConfig.model_validate(cfg)


def test_calibration_figure_copes_with_a_grade_without_defaults(tmp_path):
    from chengxin.models import validation

    y = np.r_[np.zeros(60, int), np.ones(3, int), np.zeros(40, int)]  # grade B: no default at all
    p = np.r_[np.full(63, 0.02), np.full(40, 0.1)]
    table = validation.by_grade(y, p, np.array(["A"] * 63 + ["B"] * 40), ["A", "B"])
    assert table.loc[1, "defaults"] == 0 and table.loc[1, "jeffreys_low"] > 0
    validation.calibration_figure(table, "test").savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_the_per_grade_test_counts_each_subject_once():
    """A firm rated in three out-of-time months is one observation for the default-rate test,
    taken at its earliest month, whatever the order of the rows."""
    from chengxin.models import validation

    ids = np.array(["b", "a", "b", "c", "a", "b"])
    months = np.array(["2024-12", "2024-11", "2024-10", "2024-12", "2024-10", "2024-11"])
    first = validation.first_per_subject(ids, months)
    assert sorted(zip(ids[first], months[first])) == [("a", "2024-10"), ("b", "2024-10"), ("c", "2024-12")]


def test_roc_and_ks_curves_agree_with_the_metrics():
    """The small curve table logged with every model draws the same ROC and KS as the metrics."""
    from chengxin.models import validation

    rng = np.random.default_rng(5)
    p = rng.random(3000)
    y = (rng.random(3000) < p * 0.2).astype(int)
    full = validation.curves(y, p, points=10_000)  # every subject: exact
    assert full["gap"].max() == pytest.approx(validation.ks(y, p))
    assert np.trapezoid(full["true_positive_rate"], full["false_positive_rate"]) == pytest.approx(roc_auc_score(y, p))
    small = validation.curves(y, p)  # what is logged: 201 points + the origin
    assert len(small) == 202 and small["share"].is_monotonic_increasing and small["pd_cutoff"].is_monotonic_decreasing
    assert small[["true_positive_rate", "false_positive_rate"]].iloc[-1].tolist() == [1.0, 1.0]
    assert small["gap"].max() == pytest.approx(validation.ks(y, p), abs=0.02)


def test_decision_function_is_the_log_odds_platt_scaling_calibrates():
    import numpy as np
    import pandas as pd

    from chengxin.models.estimators import ChallengerModel

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(3 - 2 * X["a"]))).astype(int)
    m = ChallengerModel(directions={"a": "higher_worse"}, n_estimators=50).fit(X, y)
    p = m.predict_proba(X)[:, 1]
    assert np.allclose(1 / (1 + np.exp(-m.decision_function(X))), p)


class _GivenLogOdds(ClassifierMixin, BaseEstimator):
    """A fitted 'model' whose log-odds are the column `s`: the calibrator sees only log-odds."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return X["s"].to_numpy(dtype=float)


def _book_with_log_odds(true_logit, n=40000, low=-2.0, high=3.0, seed=5):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"s": rng.uniform(low, high, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit(X["s"].to_numpy())))).astype(int)
    return X, y, _GivenLogOdds().fit(X)


def test_quadratic_calibration_follows_a_bent_map_and_keeps_the_ranking():
    from chengxin.models.calibration import CalibratedRatingModel

    def bent(s):  # increasing on [-2, 3]: a model too compressed at the risky end
        return -3.0 + 0.8 * s + 0.15 * s**2

    X, y, model = _book_with_log_odds(bent)
    quad = CalibratedRatingModel(model, method="quadratic").fit(X, y)
    platt = CalibratedRatingModel(model, method="platt").fit(X, y)
    assert quad.method_ == "quadratic" and platt.method_ == "platt"
    grid = pd.DataFrame({"s": np.linspace(-2, 3, 51)})
    truth = 1 / (1 + np.exp(-bent(grid["s"].to_numpy())))
    error = {name: np.abs(m.predict_proba(grid)[:, 1] - truth).max() for name, m in (("quad", quad), ("platt", platt))}
    assert error["quad"] < 0.02 < error["platt"], error
    # a strictly increasing map: same ranking as the model, inside the calibration range and far beyond it
    wide = pd.DataFrame({"s": np.linspace(-30, 30, 601)})
    assert np.all(np.diff(quad.calibrated_log_odds(wide["s"])) > 0)
    p = quad.predict_proba(X)[:, 1]
    assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, X["s"]))
    assert np.allclose(quad.predict_proba(X).sum(axis=1), 1.0)
    assert (quad.predict(X) == (p >= 0.5)).all()


def test_a_quadratic_that_would_bend_back_falls_back_to_platt():
    from chengxin.models.calibration import CalibratedRatingModel

    X, y, model = _book_with_log_odds(lambda s: -3.0 + 0.6 * s**2)  # risk rises at both ends: not increasing
    calibrated = CalibratedRatingModel(model, method="quadratic").fit(X, y)
    assert calibrated.method_ == "platt" and calibrated.coef_[2] == 0.0
    assert np.all(np.diff(calibrated.calibrated_log_odds(np.linspace(-30, 30, 601))) > 0)
    with pytest.raises(ValueError, match="unknown calibration method"):
        CalibratedRatingModel(model, method="isotonic").fit(X, y)
