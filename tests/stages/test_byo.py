"""Bring your own data: train and score a lender's book from a file."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from chengxin.models import grades


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 1200  # small books are the norm
    income = rng.lognormal(10, 0.6, n)
    late = rng.poisson(0.4, n).astype(float)
    region = rng.choice(["north", "south", "west"], n)
    logit = -2.6 + 1.2 * late - 1.0 * (np.log(income) - 10) + np.where(region == "west", 0.7, 0)
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    late[rng.random(n) < 0.05] = np.nan
    frame = pd.DataFrame({"loan_id": [f"L{i:05d}" for i in range(n)], "income": income, "late_payments": late,
                          "region": region, "bad": bad})
    path = tmp_path_factory.mktemp("book") / "book.csv"
    frame.to_csv(path, index=False)
    return path


def book_oracle(path) -> float:
    from sklearn.metrics import roc_auc_score

    frame = pd.read_csv(path)
    logit = (1.2 * frame["late_payments"].fillna(0) - 1.0 * (np.log(frame["income"]) - 10)
             + np.where(frame["region"] == "west", 0.7, 0))
    return roc_auc_score(frame["bad"], logit)


def cli(*args, home):
    env = dict(os.environ, CHENGXIN_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "chengxin.cli", *args], capture_output=True, text=True, env=env)


def test_train_and_score_a_book(book, tmp_path):
    home = tmp_path / "home"
    r = cli("train", "--data", str(book), "--target", "bad", "--id", "loan_id", "--name", "bank-a", "--json", home=home)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result["models"]) == {"scorecard", "boosted"}
    oracle = book_oracle(book)
    assert result["models"]["scorecard"]["auc"] > oracle - 0.06, (result, oracle)
    assert result["models"]["boosted"]["auc"] > oracle - 0.10, (result, oracle)  # small books: no overfitting
    out = tmp_path / "scores.csv"
    r = cli("score", "--data", str(book), "--model", "bank-a@champion", "--id", "loan_id", "--out", str(out), "--json",
            home=home)
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["loan_id", "pd", "score", "grade", "tier", "reason_1", "reason_2", "reason_3"]
    assert len(scores) == 1200 and scores["pd"].between(0, 1).all()
    # without --id: the id column the model was trained with
    r = cli("score", "--data", str(book), "--model", "bank-a", "--out", str(tmp_path / "s2.csv"), home=home)
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path / "s2.csv")["loan_id"].tolist() == scores["loan_id"].tolist()
    # --id still overrides it
    r = cli("score", "--data", str(book), "--model", "bank-a", "--id", "region", "--out", str(tmp_path / "s3.csv"),
            home=home)
    assert r.returncode == 0, r.stderr
    assert list(pd.read_csv(tmp_path / "s3.csv").columns)[0] == "region"
    # a file without the trained id column: one line saying so
    pd.read_csv(book).drop(columns="loan_id").to_csv(tmp_path / "no_id.csv", index=False)
    r = cli("score", "--data", str(tmp_path / "no_id.csv"), "--model", "bank-a", "--out", str(tmp_path / "s4.csv"),
            home=home)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "'loan_id'" in r.stderr and "--id" in r.stderr
    assert not (tmp_path / "s4.csv").exists()


def test_a_book_whose_scorecard_keeps_few_indicators_scores_with_empty_reasons(tmp_path):
    """Four columns, two of them noise: the scorecard keeps fewer than three indicators, and
    scoring still gives reason_1..3, the missing ones empty. Trained without --id: row numbers."""
    from chengxin.models.explain import unwrap
    from chengxin.pipelines import byo

    rng = np.random.default_rng(3)
    n = 6000
    late = rng.poisson(0.5, n).astype(float)
    frame = pd.DataFrame({"late": late, "income": rng.lognormal(10, 0.5, n),
                          "channel": rng.choice(["web", "branch", "agent"], n), "segment": rng.choice(["p", "q"], n)})
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(2.5 - 1.3 * late))).astype(int)
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    home = tmp_path / "home"
    r = cli("train", "--data", str(path), "--target", "bad", "--name", "tiny", home=home)
    assert r.returncode == 0, r.stderr
    _, calibrated_card, id_col = byo._load("tiny", home)
    kept = unwrap(calibrated_card).selected_
    assert 1 <= len(kept) < 3 and id_col is None
    out = tmp_path / "tiny_scores.csv"
    r = cli("score", "--data", str(path), "--model", "tiny", "--out", str(out), home=home)
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["row", "pd", "score", "grade", "tier", "reason_1", "reason_2", "reason_3"]
    assert scores["row"].tolist()[:3] == [1, 2, 3] and len(scores) == n
    assert scores[f"reason_{len(kept) + 1}"].isna().all()  # no reason beyond the kept indicators
    given = scores["reason_1"].dropna()
    assert len(given) > 0 and given.str.split(":").str[0].isin(kept).all()


def test_bad_book_input_is_explained(book, tmp_path):
    home = tmp_path / "home"
    r = cli("train", "--data", str(book), "--target", "region", "--name", "x", home=home)
    assert r.returncode == 1 and "0 and 1" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", "--data", str(tmp_path / "nope.csv"), "--target", "bad", "--name", "x", home=home)
    assert r.returncode == 1 and "no such file" in r.stderr
    r = cli("score", "--data", str(book), "--model", "never-trained", "--out", str(tmp_path / "o.csv"), home=home)
    assert r.returncode == 1 and "no registered model" in r.stderr


def _split_book(path):
    from sklearn.model_selection import train_test_split

    from chengxin.pipelines import byo

    book = byo.read_book(path)
    features, categorical, y = byo._columns(book, "bad", "loan_id")
    X = byo._prepare(book, features, categorical)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    return X_fit, X_test, y_fit.to_numpy(), y_test.to_numpy(), categorical


@pytest.fixture(scope="module")
def recipe(book):
    from chengxin.pipelines import byo

    X_fit, X_test, y_fit, _, categorical = _split_book(book)
    return X_fit, X_test, y_fit, byo.fit_recipe(X_fit, y_fit, categorical)


def test_recipe_tunes_calibrates_and_names_the_champion_on_the_fitting_rows(recipe):
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    X_fit, _, y_fit, fitted = recipe
    assert set(fitted["models"]) == {"scorecard", "boosted"}
    assert fitted["tuned"]["scorecard_C"] in grades.rating_config().training.scorecard.c_grid and fitted["tuned"]["boosted_trees"] >= 10
    pairs = {k: m.calibrated_classifiers_ for k, m in fitted["models"].items()}
    assert {p.estimator.C for p in pairs["scorecard"]} == {fitted["tuned"]["scorecard_C"]}
    assert {p.estimator.n_estimators for p in pairs["boosted"]} == {fitted["tuned"]["boosted_trees"]}
    # each fold's AUC comes from a model that never saw that fold: refitting on the other folds
    # alone gives the very same predictions
    splits = list(StratifiedKFold(3).split(X_fit, y_fit))
    for kind in ("scorecard", "boosted"):
        train, test = splits[1]
        again = clone(pairs[kind][1].estimator).fit(X_fit.iloc[train], y_fit[train])
        np.testing.assert_allclose(again.predict_proba(X_fit.iloc[test]), pairs[kind][1].estimator.predict_proba(X_fit.iloc[test]))
        assert len(fitted["cv_fold_auc"][kind]) == 3
        assert fitted["cv_auc"][kind] == pytest.approx(np.mean(fitted["cv_fold_auc"][kind]))
    # the boosted model is champion only when clearly ahead
    gain = np.subtract(fitted["cv_fold_auc"]["boosted"], fitted["cv_fold_auc"]["scorecard"])
    clearly = gain.mean() > gain.std(ddof=1) / np.sqrt(3)
    assert fitted["champion"] == ("boosted" if clearly else "scorecard")


def test_train_book_never_lets_the_test_rows_choose(book, tmp_path, monkeypatch):
    """The champion train_book registers is the one fit_recipe named from the fitting rows:
    turning the test figures upside down changes nothing."""
    from chengxin.pipelines import byo

    seen = {}
    fit_recipe = byo.fit_recipe

    def spy(X_fit, y_fit, categorical, **kw):
        seen["rows"] = set(X_fit.index)
        seen["result"] = fit_recipe(X_fit, y_fit, categorical, **kw)
        return seen["result"]

    discrimination = byo.validation.discrimination

    def upside_down(y, p):
        return discrimination(y, 1 - np.asarray(p))

    monkeypatch.setattr(byo, "fit_recipe", spy)
    monkeypatch.setattr(byo.validation, "discrimination", upside_down)
    result = byo.train_book(book, "bad", "bank-b", "loan_id", home=tmp_path / "home")
    _, X_test, _, _, _ = _split_book(book)
    assert seen["rows"].isdisjoint(X_test.index) and len(seen["rows"]) == 840
    assert result["champion"] == seen["result"]["champion"]
    for kind, m in result["models"].items():
        assert m["auc"] < 0.5  # the upside-down test figures are reported, and were not consulted
        assert m["cv_auc"] == round(seen["result"]["cv_auc"][kind], 4)


def test_scorecard_points_sit_on_the_configured_scale(recipe):
    from chengxin.models import grades
    from chengxin.pipelines import byo

    _, X_test, _, fitted = recipe
    pair = fitted["models"]["scorecard"].calibrated_classifiers_[0]
    points, factor = byo.card_points(pair, X_test)
    own = pair.estimator.points(X_test)
    assert factor > 0
    # the card's own points, stretched by `factor`: same order, same per-indicator shares
    slope, _ = np.polyfit(own, points, 1)
    assert slope == pytest.approx(factor, rel=1e-6)
    np.testing.assert_allclose(points, grades.points_of(pair.predict_proba(X_test)[:, 1]))
