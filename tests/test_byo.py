"""Bring your own data: train and score a lender's book from a file."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


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
    assert set(result["models"]) == {"scorecard", "challenger"}
    oracle = book_oracle(book)
    assert result["models"]["scorecard"]["auc"] > oracle - 0.06, (result, oracle)
    assert result["models"]["challenger"]["auc"] > oracle - 0.10, (result, oracle)  # small books: no overfitting
    out = tmp_path / "scores.csv"
    r = cli("score", "--data", str(book), "--model", "bank-a@champion", "--id", "loan_id", "--out", str(out), "--json",
            home=home)
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["loan_id", "pd", "score", "grade", "tier", "reason_1", "reason_2", "reason_3"]
    assert len(scores) == 1200 and scores["pd"].between(0, 1).all()
    # without an id column: the row number
    r = cli("score", "--data", str(book), "--model", "bank-a", "--out", str(tmp_path / "s2.csv"), home=home)
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path / "s2.csv")["row"].tolist()[:3] == [1, 2, 3]


def test_bad_book_input_is_explained(book, tmp_path):
    home = tmp_path / "home"
    r = cli("train", "--data", str(book), "--target", "region", "--name", "x", home=home)
    assert r.returncode == 1 and "0 and 1" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", "--data", str(tmp_path / "nope.csv"), "--target", "bad", "--name", "x", home=home)
    assert r.returncode == 1 and "no such file" in r.stderr
    r = cli("score", "--data", str(book), "--model", "never-trained", "--out", str(tmp_path / "o.csv"), home=home)
    assert r.returncode == 1 and "no registered model" in r.stderr
