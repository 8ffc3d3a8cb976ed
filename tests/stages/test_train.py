"""Training both models on a generated city, tracked in MLflow (issue 4)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chengxin import tracking
from chengxin.models import grades
from chengxin.pipelines import train as stage




def test_out_of_time_split_is_ordered():
    import datetime as dt

    dates = [dt.date(2024, m, 28) for m in range(1, 13)]
    parts = stage.split(dates)
    assert parts["fit"][-1] < parts["calibrate"][0] <= parts["calibrate"][-1] < parts["oot"][0]
    assert sum(len(v) for v in parts.values()) == 12


def test_train_logs_both_models(trained):
    home, result = trained
    assert set(result["models"]) == {"scorecard", "boosted"}
    for name, m in result["models"].items():
        assert 0.6 < m["auc"] <= 1 and 0 <= m["brier"] < 0.2, (name, m)
    mlflow = tracking.setup(home)
    run = mlflow.get_run(result["run_id"])
    assert run.data.params["catalogue_version"]
    # the map each model's PDs come from (a quadratic asked for may fall back to Platt, and says so)
    assert run.data.params["scorecard_calibration"] == "platt"
    assert run.data.params["boosted_calibration"] in ("quadratic", "platt")
    assert "scorecard_oot_auc" in run.data.metrics and "boosted_oot_ks" in run.data.metrics
    client = mlflow.MlflowClient()
    name = tracking.registered_name("enterprise")
    for alias in ("champion", "challenger", "scorecard"):
        assert client.get_model_version_by_alias(name, alias)
    assert (home / "mlflow.db").exists() and (home / "mlartifacts").exists()
    logged = {a.path for a in client.list_artifacts(result["run_id"], "validation")}
    for kind in ("scorecard", "boosted"):
        for item in ("roc.png", "ks.png", "calibration.png", "model_card.md", "validation_by_grade.csv", "curves.csv"):
            assert f"validation/{kind}_{item}" in logged
    assert "validation/scorecard_table.csv" in logged
    # what the scorecard chose: its C by cross-validation, its indicators by stability
    selection = grades.rating_config().training.scorecard
    assert float(run.data.params["scorecard_C"]) in selection.c_grid
    assert set(json.loads(run.data.params["scorecard_cv_auc_by_C"])) == {str(c) for c in selection.c_grid}
    assert json.loads(run.data.params["scorecard_dropped_for_stability"]) == result["models"]["scorecard"]["chosen"]["dropped_for_stability"]
    assert result["models"]["scorecard"]["chosen"]["C"] == float(run.data.params["scorecard_C"])


@pytest.mark.parametrize("alias", ["champion", "challenger", "scorecard"])
def test_registered_model_loaded_by_alias_scores_as_trained(trained, alias):
    home, result = trained
    mlflow = tracking.setup(home)
    name = tracking.registered_name("enterprise")
    version = mlflow.MlflowClient().get_model_version_by_alias(name, alias)
    model = mlflow.sklearn.load_model(f"models:/{name}@{alias}")
    _assert_scores_as_trained(mlflow, model, version.version, result, home / "tmp" / alias)


def _assert_scores_as_trained(mlflow, model, version, result, dst: Path) -> None:
    """The loaded model gives exactly the PDs its training run logged for its input example."""
    kind = next(k for k, v in result["models"].items() if str(v["version"]) == str(version))
    local = mlflow.artifacts.download_artifacts(run_id=result["run_id"], artifact_path=f"validation/{kind}_example_scores.parquet",
                                                dst_path=str(dst))
    example = pd.read_parquet(local)
    expected = example.pop("pd_at_training").to_numpy()
    np.testing.assert_array_equal(model.predict_proba(example)[:, 1], expected)


def test_a_moved_workspace_keeps_its_models(trained, tmp_path):
    """MLflow stores absolute artifact addresses; a workspace copied and then moved elsewhere
    still loads its registered models from itself and writes nothing to where it was."""
    home, result = trained
    first, moved = tmp_path / "first", tmp_path / "elsewhere" / "home"
    shutil.copytree(home, first)
    tracking.setup(first)  # used once where it was copied to
    moved.parent.mkdir()
    first.rename(moved)
    model, version = tracking.load_model(tracking.registered_name("enterprise"), "champion", "train first", home=moved)
    mlflow = tracking.setup(moved)
    _assert_scores_as_trained(mlflow, model, version, result, moved / "tmp" / "moved")
    assert not first.exists()
    exp = mlflow.get_experiment_by_name(tracking.registered_name("enterprise"))
    assert exp.artifact_location.startswith((moved / "mlartifacts").as_uri())


def test_score_rates_everyone_and_keeps_versions(trained, tmp_path):
    import datetime as dt

    from chengxin.pipelines import score as scoring

    home, _ = trained
    day = dt.date(2025, 3, 31)
    first = scoring.score(day, "enterprise", home=home, out=tmp_path / "ratings.csv")
    ratings = pd.read_csv(tmp_path / "ratings.csv")
    assert first["rated"] == len(ratings) > 1000 and ratings["subject_id"].is_unique
    assert set(ratings["tier"]) <= {"A", "B", "C", "D"}
    assert ratings["pd"].between(0, 1).all()
    defaulted = ratings[ratings["grade"] == "D"]
    assert first["in_default"] == len(defaulted) and (defaulted["tier"] == "D").all()
    # worse tiers come with reasons
    assert ratings.loc[ratings["tier"] == "D", "reason_1"].notna().mean() > 0.9
    # the public tier follows the scorecard's points, whatever the champion is
    live = ratings[ratings["grade"] != "D"]
    assert live.groupby("tier")["score"].min().sort_index(ascending=False).is_monotonic_increasing
    second = scoring.score(day, "enterprise", home=home)
    assert first["stored"] != second["stored"]  # a new version, never overwritten
    assert Path(first["stored"]).exists() and Path(second["stored"]).exists()


def test_published_criteria_give_the_same_points_in_sql(trained):
    import datetime as dt
    import json

    import duckdb

    from chengxin.features import compute
    from chengxin.pipelines import publish
    from chengxin.models.registered import evaluation_of, load, scorecard_of

    home, _ = trained
    result = publish.publish_criteria("enterprise", effective_date=dt.date(2026, 1, 1), home=home)
    folder = Path(result["folder"])
    for name in ("criteria.md", "criteria.html", "criteria.en.md", "criteria.en.html", "criteria.json", "criteria.sql"):
        assert (folder / name).stat().st_size > 0
    text = (folder / "criteria.md").read_text("utf-8")  # the office's text, in Chinese only
    assert "评价等级" in text and "缺失" in text and "2026-01-01" in text and "Missing" not in text
    english = (folder / "criteria.en.md").read_text("utf-8")
    assert "Missing" in english and "2026-01-01" in english and "评价等级" not in english
    criteria = json.loads((folder / "criteria.json").read_text("utf-8"))
    published = load("enterprise", "scorecard", home)[0]
    card, ev = scorecard_of(published), evaluation_of(published, "enterprise")
    # the public evaluation publishes what it scores: learnt indicators and declared records
    assert [i["name"] for i in criteria["indicators"]] == ev.selected_
    assert {i["name"] for i in criteria["indicators"] if i["scoring"] == "declared"} == set(ev.records_)
    # how the learnt indicators were chosen, from the fitted card itself: its C, each one's stability
    assert "指标筛选与权重" in text and "How the indicators were chosen" in english and f"C = {card.C:g}" in text
    assert criteria["selection"]["C"] == card.C and criteria["selection"]["max_psi"] == card.max_psi
    assert all(i["stability_psi"] == card.stability_[i["name"]] <= card.max_psi
               for i in criteria["indicators"] if i["scoring"] == "learnt")
    assert set(criteria["selection"]["dropped_for_stability"]) == set(card.dropped_for_stability_)
    # a linked indicator names where its records come from: the linked subject's department
    assert all(i["department"] for i in criteria["indicators"] if i["linked"])
    features = compute(dt.date(2025, 2, 28), "enterprise", home=home)
    sql = (folder / "criteria.sql").read_text("utf-8")
    con = duckdb.connect()
    con.register("features", features)
    points = con.execute(f"SELECT {sql} AS points FROM features").df()["points"].to_numpy()
    np.testing.assert_allclose(points, ev.points(features[list(ev.feature_names_in_)]), rtol=1e-9, atol=1e-9)
    # publishing again leaves the version as it was
    assert publish.publish_criteria("enterprise", home=home)["new"] is False


def test_published_criteria_read_like_criteria_not_a_model_dump(trained):
    """Issue 19, point 11: whole points in the JSON, the SQL and the card; thresholds on each
    indicator's grid; a dimension table; the indicators too narrow to matter under "considered,
    not weighted" with their spread, and nowhere else."""
    import datetime as dt
    import json

    import duckdb

    from chengxin.features import compute
    from chengxin.models import criteria as crit
    from chengxin.pipelines import publish
    from chengxin.models.registered import evaluation_of, load, scorecard_of

    home, _ = trained
    folder = Path(publish.publish_criteria("enterprise", effective_date=dt.date(2026, 1, 1), home=home)["folder"])
    c = json.loads((folder / "criteria.json").read_text("utf-8"))
    published = load("enterprise", "scorecard", home)[0]
    card, ev = scorecard_of(published), evaluation_of(published, "enterprise")
    floor = grades.rating_config().training.scorecard.min_points_spread
    assert card.min_points_spread == floor == c["selection"]["min_points_spread"] > 0
    for i in c["indicators"]:
        assert all(isinstance(b["points"], int) for b in i["bins"]) and isinstance(i["missing_points"], int), i["name"]
        assert i["points_spread"] > 0, i["name"]  # an indicator that moves no total is not published as scored
        bounds = [b[k] for b in i["bins"] for k in ("lower", "upper") if b.get(k) is not None]
        grid = {"share": 100, "count": 1, "days": 1, "years": 1}.get(i["unit"])
        if grid:
            assert all(abs(v * grid - round(v * grid)) < 1e-9 for v in bounds), (i["name"], bounds)
        elif i["unit"] == "amount":
            assert all(float(f"{v:.2g}") == v for v in bounds), (i["name"], bounds)
    considered = {i["name"]: i for i in c["considered_not_weighted"]}
    for name, spread in card.dropped_for_spread_.items():  # (a record the rules declare is scored by them)
        assert spread < floor and name not in card.selected_
        assert name in ev.records_ or considered[name]["reason"] == "spread"
    # each indicator offered is scored or listed as considered, never both: what the card left out
    # (less the declared records) and what it weighted that the evaluation does not score
    left_out = set(card.feature_names_in_) - set(card.selected_) - set(ev.records_)
    assert set(considered) == left_out | (set(card.selected_) - set(ev.selected_))
    assert not set(considered) & {i["name"] for i in c["indicators"]}
    assert sum(d["share"] for d in c["dimensions"]) == pytest.approx(1.0)
    text = (folder / "criteria.en.md").read_text("utf-8")
    assert "Dimensions and their points" in text and "considered, not weighted" in text
    features = compute(dt.date(2025, 2, 28), "enterprise", home=home)
    con = duckdb.connect()
    con.register("features", features)
    points = con.execute(f"SELECT {crit.criteria_sql(c)} AS points FROM features").df()["points"].to_numpy()
    assert np.all(points == np.round(points))
    np.testing.assert_array_equal(points, ev.points(features[list(ev.feature_names_in_)]))


def test_promote_moves_the_alias_only_when_earned(trained):
    from chengxin.pipelines import train as stage

    home, result = trained
    mlflow = tracking.setup(home)
    client = mlflow.MlflowClient()
    name = tracking.registered_name("enterprise")
    before = client.get_model_version_by_alias(name, "champion").version
    decision = stage.promote("enterprise", home=home)
    after = client.get_model_version_by_alias(name, "champion").version
    run = mlflow.get_run(decision["run_id"])
    assert "decision.txt" in [a.path for a in client.list_artifacts(run.info.run_id)]
    models = {str(v["version"]): v for v in result["models"].values()}
    challenger = models[str(client.get_model_version_by_alias(name, "challenger").version if not decision["promoted"] else before)]
    if decision["promoted"]:
        assert after != before
    else:
        assert after == before
        champion_auc = models[str(before)]["auc"]
        assert challenger["auc"] <= champion_auc or challenger["calibration_holds"] < 1


def test_public_ratings_list_masks_individuals(trained):
    import datetime as dt

    from chengxin.pipelines import publish, score as scoring
    from chengxin.pipelines import train as stage

    home, _ = trained
    stage.train("individual", home=home)
    scoring.score(dt.date(2025, 3, 31), "individual", home=home)
    result = publish.publish_ratings("individual", home=home)
    public = pd.read_csv(result["out"], dtype=str)
    assert len(public) == result["rows"] > 500
    assert public["subject_id"].str.fullmatch(r"\d{6}\*{8}[0-9X]{4}").all()
    assert public["name"].str.contains(r"\*").all()
    assert not {"pd", "grade", "score"} & set(public.columns)  # lenders' figures are not public
    ent = pd.read_csv(publish.publish_ratings("enterprise", home=home)["out"], dtype=str)
    assert ent["name"].notna().mean() > 0.99 and set(ent["tier"]) <= {"A", "B", "C", "D"}


def test_cross_validation_folds_keep_each_subjects_months_together():
    import datetime as dt

    ids = [f"S{k:05d}" for k in range(900)]
    rows = pd.DataFrame([(s, d) for s in ids for d in (dt.date(2024, m, 28) for m in range(1, 7))],
                        columns=["subject_id", "as_of"])
    folds = stage.subject_folds(rows, 3)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(rows)))  # every row tested exactly once
    for train, test in folds:
        assert not set(rows["subject_id"].iloc[train]) & set(rows["subject_id"].iloc[test])
        assert 0.25 < len(test) / len(rows) < 0.42
    # independent of the fit / calibrate / out-of-time groups: every fold holds subjects of each
    group = stage.subject_group(rows["subject_id"])
    assert all(group.iloc[test].nunique() == 3 for _, test in folds)


def test_partition_gives_each_subject_one_purpose():
    import datetime as dt

    import pandas as pd

    dates = [dt.date(2024, m, 28) for m in range(1, 13)]
    ids = [f"S{k:05d}" for k in range(3000)]
    data = pd.DataFrame([(s, d) for s in ids for d in dates], columns=["subject_id", "as_of"])
    sets = stage.partition(data, dates)
    seen = {k: set(v["subject_id"]) for k, v in sets.items()}
    assert not (seen["fit"] & seen["calibrate"]) and not (seen["fit"] & seen["oot"]) and not (seen["calibrate"] & seen["oot"])
    # the shares in rating.yaml, roughly, and the months in order
    assert 0.5 < len(seen["fit"]) / len(ids) < 0.7 and 0.12 < len(seen["oot"]) / len(ids) < 0.28
    assert sets["fit"]["as_of"].max() < sets["calibrate"]["as_of"].min() <= sets["calibrate"]["as_of"].max() < sets["oot"]["as_of"].min()
    # stable: the same subject lands in the same group every time
    assert stage.subject_group(pd.Series(ids)).equals(stage.subject_group(pd.Series(ids)))


def test_spark_scoring_gives_the_same_ratings(trained):
    """On Spark the registered models are applied partition by partition; the ratings match DuckDB's."""
    import datetime as dt
    import shutil

    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java: .ci/run installs openjdk-17-jre-headless")
    from chengxin.pipelines import score as scoring

    home, _ = trained
    day = dt.date(2025, 3, 31)
    duck = pd.read_parquet(scoring.score(day, "enterprise", home=home)["stored"]).drop(columns="rated_at")
    result = scoring.score(day, "enterprise", home=home, engine_name="spark")
    sprk = pd.read_parquet(result["stored"]).drop(columns="rated_at")
    assert result["engine"] == "spark" and len(sprk) == len(duck) > 1000
    pd.testing.assert_frame_equal(duck, sprk, check_exact=False, rtol=1e-9)


def test_the_champion_is_chosen_for_calibration_first_then_discrimination():
    from chengxin.pipelines.train import choose_champion

    def m(auc, within):
        return {"auc": auc, "grades_within_interval": within, "calibration_holds": float(within >= 0.8)}

    assert choose_champion({"scorecard": m(0.75, 0.9), "boosted": m(0.78, 0.85)}) == "boosted"
    assert choose_champion({"scorecard": m(0.75, 0.9), "boosted": m(0.78, 0.6)}) == "scorecard"  # only one holds
    # none holds: the better calibrated, whatever the AUC; equally calibrated: the better AUC
    assert choose_champion({"scorecard": m(0.75, 0.5), "boosted": m(0.78, 0.75)}) == "boosted"
    assert choose_champion({"scorecard": m(0.75, 0.7), "boosted": m(0.78, 0.6)}) == "scorecard"
    assert choose_champion({"scorecard": m(0.75, 0.6), "boosted": m(0.78, 0.6)}) == "boosted"


def cli(*args, home):
    import os
    import subprocess
    import sys

    env = dict(os.environ, CHENGXIN_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "chengxin.cli", *args], capture_output=True, text=True, env=env)


def _rows_with_outcomes(defaulters: list[str], n: int = 600) -> pd.DataFrame:
    import datetime as dt

    ids = [f"S{k:05d}" for k in range(n)]
    rows = pd.DataFrame([(s, d) for s in ids for d in (dt.date(2024, m, 28) for m in (1, 2))],
                        columns=["subject_id", "as_of"])
    rows["label"] = rows["subject_id"].isin(defaulters).astype(int)
    return rows


def test_a_window_short_of_outcomes_stops_training_in_one_line():
    import datetime as dt

    need = grades.rating_config().training.min_outcomes
    months = {k: [dt.date(2024, 1, 31), dt.date(2024, 2, 29)] for k in ("fit", "calibrate", "oot")}
    ok = _rows_with_outcomes([f"S{k:05d}" for k in range(max(need.fit, need.calibrate, need.oot))])
    short = _rows_with_outcomes([f"S{k:05d}" for k in range(need.calibrate - 1)])
    plenty = _rows_with_outcomes([f"S{k:05d}" for k in range(need.few)])
    assert stage.check_outcomes({"fit": plenty, "calibrate": plenty, "oot": plenty}, months, "enterprise") == []
    notes = stage.check_outcomes({"fit": plenty, "calibrate": plenty, "oot": ok}, months, "enterprise")
    if max(need.fit, need.calibrate, need.oot) < need.few:  # enough to judge on, too few for firm figures
        assert len(notes) == 1 and "out-of-time window" in notes[0] and "rough" in notes[0]
    with pytest.raises(stage.workspace.UserError) as exc:
        stage.check_outcomes({"fit": ok, "calibrate": short, "oot": ok}, months, "enterprise")
    message = str(exc.value)
    assert "\n" not in message and "calibration window" in message and "2024-01-31..2024-02-29" in message
    assert f"has {need.calibrate - 1} subjects reaching the outcome" in message
    assert f"needs at least {need.calibrate}" in message and "more months" in message


def test_cross_validation_uses_fewer_folds_when_a_fold_would_lack_outcomes():
    floor = grades.rating_config().training.min_outcomes.fold
    wanted = grades.rating_config().training.scorecard.cv_folds
    rows = _rows_with_outcomes([])
    ids = rows.drop_duplicates("subject_id")
    by_fold = {k: [ids["subject_id"].iloc[t] for t in test[::2]]
               for k, (_, test) in enumerate(stage.subject_folds(ids, wanted))}
    # every fold of `wanted` holds `floor` defaulters but one, which holds one too few
    defaulters = [s for k, s_ in by_fold.items() for s in s_[: floor - (k == 0)]]
    rows["label"] = rows["subject_id"].isin(defaulters).astype(int)
    splits, notes = stage.cv_folds(rows)
    assert len(splits) < wanted and len(notes) == 1
    assert f"over {len(splits)} folds instead of {wanted}" in notes[0] and f"hold {floor - 1} subjects" in notes[0]
    assert all(stage.outcomes(rows.iloc[test]) >= floor for _, test in splits)
    # with outcomes enough, the configured folds and no note
    rows["label"] = rows["subject_id"].isin([s for s_ in by_fold.values() for s in s_[:floor]]).astype(int)
    splits, notes = stage.cv_folds(rows)
    assert len(splits) == wanted and notes == []
    # too few for even two folds: a one-line error
    rows["label"] = rows["subject_id"].isin(defaulters[:1]).astype(int)
    with pytest.raises(stage.workspace.UserError, match="cannot be cross-validated"):
        stage.cv_folds(rows)


def test_commands_without_subject_cover_every_subject_type(trained, tmp_path):
    """`score`, `promote` and `publish` without --subject do enterprises and individuals, and say so;
    `score --out` holds both."""
    home = tmp_path / "home"
    shutil.copytree(trained[0], home, ignore=shutil.ignore_patterns("published", "desk.sqlite*"))
    out = tmp_path / "ratings.csv"
    r = cli("score", "--as-of", "2025-03-31", "--out", str(out), "--json", home=home)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert [x["subject"] for x in result["subjects"]] == ["enterprise", "individual"]
    ratings = pd.read_csv(out, dtype={"subject_id": str})
    counts = ratings["subject_type"].value_counts().to_dict()
    assert counts == {x["subject"]: x["rated"] for x in result["subjects"]} and counts["individual"] > 500
    for command in (["promote"], ["publish", "ratings"], ["publish", "criteria"]):
        r = cli(*command, home=home)
        assert r.returncode == 0, (command, r.stderr)
        assert "enterprise" in r.stdout and "individual" in r.stdout
        assert "done for 2 subject types: enterprise, individual" in r.stdout
    assert sorted(p.name for p in (home / "published" / "criteria").iterdir()) == ["enterprise", "individual"]
    r = cli("score", "--as-of", "2025-03-31", "--subject", "enterprise", "--json", home=home)
    assert r.returncode == 0 and json.loads(r.stdout)["subject"] == "enterprise"  # one type: its own object


def test_a_small_city_trains_what_it_can_and_says_which_window_is_short(tmp_path):
    """A county pilot: 600 firms and 300 people over 30 months. `chengxin train` (no --subject)
    trains the enterprises, then stops on the individuals' window that lacks outcomes, in one
    line, with no scikit-learn traceback."""
    from chengxin.city import generate
    from chengxin.pipelines.ingest import ingest

    home = tmp_path / "home"
    generate(tmp_path / "city", 600, 300, 30, seed=5)
    ingest(tmp_path / "city", home=home)
    r = cli("train", home=home)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    error = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "window of the individuals" in error[0] and "needs at least" in error[0]
    assert "done before this: enterprise" in error[0]
    assert "enterprise: run" in r.stdout
    version = tracking.model_version(tracking.registered_name("enterprise"), "champion", "", home)
    assert version.tags["kind"] in ("scorecard", "boosted")
