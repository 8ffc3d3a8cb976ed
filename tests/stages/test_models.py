"""The rating estimators and the grade scales (issue 4 groundwork)."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score

from chengxin.models import grades
from chengxin.models.boosted import BoostedModel
from chengxin.models.estimators import ScorecardModel


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
    # unrounded points: what is measured here is the regression's rescaling, not the rounding
    loose = ScorecardModel(directions=directions, categorical=["sector"], C=1.0, integer_points=False).fit(X, y)
    tight = ScorecardModel(directions=directions, categorical=["sector"], C=0.0003, integer_points=False).fit(X, y)
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
                  BoostedModel(directions=directions, categorical=["sector"], n_estimators=50)):
        model.fit(X, y)
        one = model.predict_proba(X.iloc[[7]])
        assert one.shape == (1, 2)
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X))
        assert clone(model).get_params() == model.get_params()


def test_the_boosted_model_respects_monotone_constraints(book):
    X, y, directions = book
    model = BoostedModel(directions=directions, categorical=["sector"], n_estimators=80).fit(X, y)
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

    from chengxin.models.boosted import BoostedModel

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(3 - 2 * X["a"]))).astype(int)
    m = BoostedModel(directions={"a": "higher_worse"}, n_estimators=50).fit(X, y)
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


# --- the published criteria read like criteria, not a model dump (issue 19, point 11) ---------


def _whole(values) -> bool:
    v = np.asarray(values, dtype=float)
    return bool(np.all(v == np.round(v)))


def test_a_split_snaps_to_a_value_a_person_reads():
    from chengxin.models.thresholds import nice_split, snap_splits

    assert nice_split(0.7833, 0.7944, "share") == 0.79
    assert nice_split(0.788, 0.7889, "share") == 0.79  # closer than a percent apart: the nearest whole percent
    assert nice_split(10 / 12, 11 / 12, "share") == 0.9  # the roundest value that splits them alike
    assert nice_split(0.95, 1.0, "share") == 1.0 and nice_split(-0.3739, -0.3737, "share") == -0.37
    assert nice_split(0, 1, "count") == 1 and nice_split(2, 3, "days") == 3 and nice_split(1.7672, 1.7674, "years") == 2
    assert nice_split(12288, 12401, "amount") == 12000 and nice_split(5760.1, 5760.2, "amount") == 5800
    assert nice_split(0.3, 0.31, "share") == 0.31  # never float noise such as 0.31000000000000005
    with pytest.raises(ValueError):
        nice_split(1, 1, "share")
    rng = np.random.default_rng(0)
    amounts = np.r_[np.zeros(800), rng.lognormal(8, 1, 200)]  # most firms owe nothing
    cuts = [1e-6, float(np.quantile(amounts, 0.9)), float(np.quantile(amounts, 0.97))]
    snapped = snap_splits(amounts, cuts, "amount")
    assert len(snapped) == 3 and all(float(f"{s:.2g}") == s for s in snapped)
    assert 0 < snapped[0] <= amounts[amounts > 0].min()  # nothing owed stays a bin of its own
    for cut, new in zip(cuts, snapped):  # lognormal amounts are sparse up there: each cut divides them alike
        assert ((amounts < cut) == (amounts < new)).mean() > 0.995
    shares = rng.integers(0, 13, 1000) / 12
    snapped = snap_splits(shares, [0.3, 0.62, 0.95], "share")
    assert snapped == [0.3, 0.6, 1.0]  # 0.25 < 0.3 <= 0.333, 0.583 < 0.6 <= 0.667: the roundest between
    for cut, new in zip([0.3, 0.62, 0.95], snapped):
        assert ((shares < cut) == (shares < new)).all()  # the same subjects on each side
    assert snap_splits([1, 2, 2, 3], [2.4, 2.6]) == [3.0]  # two cuts between the same values become one
    trend = np.linspace(-0.05, 0.05, 1001)  # a continuous measure: values closer than a whole percent
    assert snap_splits(trend, [-0.0177], "share") == [-0.02]  # the nearest whole percent
    assert snap_splits(trend, [-0.0177], "share", with_neighbours=True) == [-0.02, -0.01]  # and the one beyond
    assert snap_splits(shares, [0.3], "share", with_neighbours=True) == [0.3]  # no row moves: no neighbours
    assert _whole(snap_splits(rng.exponential(8, 1000), [3.14159, 7.5], "years"))
    assert snap_splits(np.ones(10), [1.0], "count") == [] and snap_splits([np.nan], [0.5], "share") == []


def test_points_are_whole_numbers(book):
    X, y, directions = book
    model = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y)
    assert _whole(model.table()["points"])
    assert _whole(model.points(X)) and _whole(model.points_by_indicator(X).to_numpy())
    raw = ScorecardModel(directions=directions, categorical=["sector"], integer_points=False).fit(X, y)
    assert not _whole(raw.table()["points"])  # what rounding changes


def test_the_pd_of_whole_points_is_the_published_total_read_back(book):
    """Rounded points and the card's own probability must rank alike: the probability is the
    published total read back on the points scale, which for unrounded points is exactly the
    regression's own probability."""
    X, y, directions = book

    def read_back(m):
        good = np.log(m.base_odds) + (m.points(X) - m.base_points) * np.log(2) / m.pdo
        return 1 / (1 + np.exp(good))

    raw = ScorecardModel(directions=directions, categorical=["sector"], integer_points=False).fit(X, y)
    np.testing.assert_allclose(raw.predict_proba(X)[:, 1], read_back(raw), rtol=0, atol=1e-12)
    card = ScorecardModel(directions=directions, categorical=["sector"]).fit(X, y)
    np.testing.assert_allclose(card.predict_proba(X)[:, 1], read_back(card), rtol=0, atol=1e-12)
    # equal totals, equal PD: no two subjects with the same published points get different PDs
    by_points = pd.Series(card.predict_proba(X)[:, 1]).groupby(card.points(X)).nunique()
    assert (by_points == 1).all() and len(by_points) > 10


def test_thresholds_are_values_a_person_reads(book):
    X, y, directions = book
    X = X.assign(rate=np.random.default_rng(1).integers(0, 25, len(X)) / 24)
    directions = {**directions, "rate": "higher_better"}
    units = {"age": "years", "arrears": "count", "rate": "share"}
    model = ScorecardModel(directions=directions, categorical=["sector"], units=units, min_iv=0.0).fit(X, y)
    process = model.scorecard_.binning_process_
    splits = {c: process.get_binned_variable(c).splits for c in ("age", "arrears", "noise", "rate")}
    assert _whole(splits["age"]) and _whole(splits["arrears"]) and len(splits["age"]) >= 3
    assert all(round(s * 100) == pytest.approx(s * 100, abs=1e-9) for s in splits["rate"])
    assert all(float(f"{s:.2g}") == s for s in splits["noise"])  # undeclared: two significant figures
    # the binning still follows each declared direction
    table = model.table()
    age = table[(table["indicator"] == "age") & ~table["bin"].astype(str).isin(["Special", "Missing"])]["points"]
    assert (np.diff(age.to_numpy()) >= 0).all()
    raw = ScorecardModel(directions=directions, categorical=["sector"], units=units, min_iv=0.0, snap=False).fit(X, y)
    assert not _whole(raw.scorecard_.binning_process_.get_binned_variable("age").splits)  # what snapping changes


def test_an_indicator_whose_points_barely_move_is_not_weighted(book):
    X, y, directions = book
    free = ScorecardModel(directions=directions, categorical=["sector"], min_iv=0.0).fit(X, y)
    spread = free._spreads(free.scorecard_)
    narrowest = min(spread, key=spread.get)
    floor = spread[narrowest] + 0.5
    assert sorted(spread.values())[1] > floor  # only the narrowest falls under the floor
    card = ScorecardModel(directions=directions, categorical=["sector"], min_iv=0.0, min_points_spread=floor).fit(X, y)
    assert list(card.dropped_for_spread_) == [narrowest] and card.dropped_for_spread_[narrowest] < floor
    assert narrowest not in card.selected_ and narrowest not in card.points_by_indicator(X).columns
    assert set(card.selected_) == set(free.selected_) - {narrowest}
    assert min(card._spreads(card.scorecard_).values()) >= floor
    assert free.dropped_for_spread_ == {}  # no floor (the estimator's default): nothing dropped


def test_criteria_read_as_dimensions_indicators_and_points():
    """The criteria document of a scorecard over real indicator names: whole points, round
    thresholds, a dimension table whose shares add to 100%, the narrow indicator under
    "considered, not weighted" with its spread, and SQL that gives exactly the card's points."""
    import duckdb

    from chengxin.models import criteria as crit
    from chengxin.models import criteria_document

    rng = np.random.default_rng(7)
    n = 8000
    X = pd.DataFrame({
        "tax_arrears_months_12m": rng.poisson(0.4, n).astype(float),
        "firm_age_years": rng.exponential(8, n),
        "tax_ontime_rate_12m": rng.integers(6, 13, n) / 12,
        "tax_paid_12m": rng.lognormal(10, 1.2, n),
        "industry": pd.Series(rng.choice(list("CEFGH"), n), dtype="str"),
        "honours_valid": rng.poisson(0.3, n).astype(float),  # no bearing on the outcome
    })
    logit = (-3.0 + 0.8 * X["tax_arrears_months_12m"] - 0.06 * X["firm_age_years"] - 2.0 * (X["tax_ontime_rate_12m"] - 1)
             - 0.3 * np.log(X["tax_paid_12m"] / 20000) + np.where(X["industry"] == "E", 0.5, 0.0))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X.loc[rng.random(n) < 0.05, "tax_paid_12m"] = np.nan
    from chengxin.features.catalogue import catalogue
    from chengxin.models.thresholds import unit_of

    cat = catalogue()
    directions = {c: cat[c].direction for c in X.columns}
    units = {c: unit_of(cat[c], cat) for c in X.columns if c != "industry"}
    card = ScorecardModel(directions=directions, categorical=["industry"], units=units, min_iv=0.0, C=0.3,
                          min_points_spread=3).fit(X, y)
    assert "honours_valid" in card.dropped_for_spread_ and card.dropped_for_spread_["honours_valid"] < 3
    from chengxin.models.evaluation import PublicEvaluation, SubjectEvaluation

    declared = SubjectEvaluation.model_validate({
        "total_points": 1000, "cut_offs": {"A": 850, "B": 700, "C": 550}, "dimensions": [
            {"dimension": "basic", "budget": 200}, {"dimension": "honours", "budget": 100},
            {"dimension": "finance_tax", "budget": 700, "records": [
                {"indicator": "tax_arrears_months_12m", "bins": [{"from": 0, "points": 100}, {"from": 1, "points": 40},
                                                                 {"from": 3, "points": 0}]}]}]})
    ev = PublicEvaluation(card, "enterprise", declared).fit()
    c = crit.criteria_json(ev, subject="enterprise", version="t1", effective_date="2026-01-01")
    assert [i["name"] for i in c["indicators"]] == ev.selected_
    # the budgets hold: honours has nothing to score (its one indicator moved no total), so its
    # budget went to the others in proportion; each dimension's points run from 0 to its budget
    assert c["unscored_dimensions"] == ["honours"] and sum(ev.budgets_.values()) == 1000
    assert {d["dimension"]: (d["min_points"], d["max_points"]) for d in c["dimensions"]} == \
        {d: (0, b) for d, b in ev.budgets_.items()}
    arrears = next(i for i in c["indicators"] if i["name"] == "tax_arrears_months_12m")
    assert arrears["scoring"] == "declared" and [b["points"] for b in arrears["bins"]] == [100, 40, 0]
    # a category is never scored, and says why
    assert "industry" not in ev.selected_
    for i in c["indicators"]:
        assert all(isinstance(b["points"], int) for b in i["bins"]) and isinstance(i["missing_points"], int)
        assert i["points_spread"] >= 3
        bounds = [b[k] for b in i["bins"] for k in ("lower", "upper") if b.get(k) is not None]
        if i["unit"] == "share":
            assert all(round(v * 100) == pytest.approx(v * 100, abs=1e-9) for v in bounds), i["name"]
        elif i["unit"] in ("count", "years"):
            assert _whole(bounds), i["name"]
        elif i["unit"] == "amount":
            assert all(float(f"{v:.2g}") == v for v in bounds), i["name"]
    # considered, not weighted: listed with why, and no points anywhere
    considered = {i["name"]: i for i in c["considered_not_weighted"]}
    assert considered["honours_valid"]["reason"] == "spread" and "spread" in considered["honours_valid"]["why"]["en"]
    assert considered["industry"]["reason"] == "category"
    assert "honours_valid" not in [i["name"] for i in c["indicators"]]
    sql = crit.criteria_sql(c)
    assert "honours_valid" not in sql
    # dimensions: each one's range of points and share of the whole range, adding to 100%
    dims = c["dimensions"]
    assert {d["dimension"] for d in dims} == {i["dimension"] for i in c["indicators"]}
    assert sum(d["share"] for d in dims) == pytest.approx(1.0)
    for d in dims:
        group = [i for i in c["indicators"] if i["dimension"] == d["dimension"]]
        assert d["min_points"] == sum(i["min_points"] for i in group) and d["max_points"] == sum(i["max_points"] for i in group)
    md = criteria_document.criteria_markdown(c, criteria_document.changes(c, None))
    english = criteria_document.criteria_markdown(c, criteria_document.changes(c, None, "en"), "en")
    assert "评价维度与分值" in md and "考虑但未计分" in md and "Dimensions and their points" not in md
    assert "Dimensions and their points" in english and "considered, not weighted" in english
    assert "轻微：" in md and "严重：" in md and "minor: " in english  # severities in words
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", md)  # no field names in the document people read (criteria.json has them)
    validated = criteria_document.criteria_markdown(
        c | {"validation": {"auc": 0.8123, "psi_dev_oot": 0.0123, "calibration_holds": 1.0, "grades_within_interval": 0.9}}, [])
    part = validated.split("## 指标权重模型验证")[1].split("##")[0]
    assert "| AUC | 0.812 |" in part and "| 校准检验通过 | 是 |" in part and "| 90% |" in part
    assert "psi_dev_oot" not in part and "calibration_holds" not in part
    table = md.split("## 评价维度与分值")[1].split("\n\n")[1].splitlines()[2:]
    percents = [int(row.rstrip(" |").rsplit("|", 1)[1].strip().rstrip("%")) for row in table[:-1]]
    assert sum(percents) == 100 and table[-1].endswith("| 100% |")
    assert "0.788889" not in md and not any(ch.isdigit() and "." in row.split("|")[2] for row in md.splitlines()
                                            if row.startswith("| ") and "得分" not in row and row.count("|") == 3
                                            for ch in row.split("|")[2])  # points cells hold whole numbers
    # the SQL gives exactly the card's (whole) points
    con = duckdb.connect()
    con.register("features", X)
    points = con.execute(f"SELECT {sql} AS points FROM features").df()["points"].to_numpy()
    np.testing.assert_array_equal(points, ev.points(X))
    assert _whole(points)
    # portable SQL: the same points from SQLite (a missing indicator stored as NULL)
    import sqlite3

    lite = sqlite3.connect(":memory:")
    X.to_sql("features", lite, index=False)
    np.testing.assert_array_equal([row[0] for row in lite.execute(f"SELECT {sql} FROM features")], ev.points(X))
    assert "isnan" not in sql


def test_psi_bands_and_worst_grades_are_read_from_one_declaration():
    from pydantic import ValidationError

    from chengxin.models import grades, validation

    assert list(validation.psi_status([0.0, 0.099, 0.1, 0.249, 0.25, 2.0])) == [
        "stable", "stable", "watch", "watch", "shifted", "shifted"]
    cfg = grades.rating_config()
    assert cfg.worst == {*cfg.worst_grades, cfg.default_grade} and cfg.worst_grades
    with pytest.raises(ValidationError, match="not on the master scale"):
        grades.RatingConfig.model_validate({**cfg.model_dump(), "worst_grades": ["ZZZ"]})
