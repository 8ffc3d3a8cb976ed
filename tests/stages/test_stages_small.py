"""Single stages and library pieces on tiny fixtures: no generated city, a workspace in tmp_path."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from chengxin import catalog, readmodel, state, warehouse, workspace
from chengxin.pipelines import coverage, snapshot
from chengxin.readmodel import snapshot as published
from chengxin.desks import alerts as alert_desk


def test_the_catalog_finds_scoring_runs_by_date_and_stamp(tmp_path):
    assert catalog.rated_dates("enterprise", tmp_path) == [] and catalog.latest_ratings_run("enterprise", tmp_path) is None
    runs = [catalog.ratings_run("enterprise", dt.date(2025, m, 28), stamp, tmp_path)
            for m, stamp in ((2, "20250301T000000_a"), (3, "20250401T000000_a"), (3, "20250402T000000_b"))]
    for path in runs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert catalog.rated_dates("enterprise", tmp_path) == [dt.date(2025, 2, 28), dt.date(2025, 3, 28)]
    assert catalog.ratings_runs("enterprise", dt.date(2025, 3, 28), tmp_path) == runs[1:]
    assert catalog.latest_ratings_run("enterprise", tmp_path) == runs[2]
    assert catalog.rated_dates("individual", tmp_path) == []
    assert all(str(p).startswith(str(catalog.published(tmp_path))) for p in runs)


def test_the_calendar_comes_from_the_monthly_sources(tmp_path):
    from chengxin import config, warehouse

    monthly = {s.name for s in warehouse.monthly_sources()}
    assert monthly == {s.name for s in config.sources() if s.grain == "monthly"} and {"tax", "finance"} <= monthly
    with warehouse.connect(tmp_path):  # an empty warehouse: its tables, no records
        pass
    assert warehouse.monthly_span(tmp_path) == (None, None)
    with pytest.raises(workspace.UserError, match="no monthly records"):
        warehouse.latest_as_of(tmp_path)


def test_the_latest_rating_date_is_after_the_last_month_and_never_in_the_future(ingested_home):
    _, last = warehouse.monthly_span(ingested_home)  # the first day of the last month of monthly uploads
    month_end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    after = (pd.Timestamp(month_end) + pd.offsets.MonthEnd(1)).date()  # by then that month's uploads have arrived
    assert warehouse.latest_as_of(ingested_home, today=after + dt.timedelta(days=40)) == after
    assert warehouse.latest_as_of(ingested_home, today=after) == after
    # a city whose last month ended a week ago is rated at the last month end that has passed
    assert warehouse.latest_as_of(ingested_home, today=month_end + dt.timedelta(days=7)) == month_end
    assert warehouse.latest_as_of(ingested_home, today=month_end) == month_end


def test_coverage_is_stored_whole_and_an_empty_measure_leaves_no_old_cells(tmp_path):
    cells = pd.DataFrame({"source": ["tax", "tax"], "county": ["610102", "610103"], "month": ["2025-01", "2025-01"],
                          "received": [10, 0]})
    coverage.store(cells, {"cells": 2}, tmp_path)
    assert pd.read_parquet(catalog.coverage_cells(tmp_path)).equals(cells)
    assert json.loads(catalog.coverage_summary(tmp_path).read_text("utf-8")) == {"cells": 2}
    coverage.store(pd.DataFrame(), {"cells": 0}, tmp_path)
    assert not catalog.coverage_cells(tmp_path).exists()
    assert json.loads(catalog.coverage_summary(tmp_path).read_text("utf-8")) == {"cells": 0}
    assert not list(catalog.coverage_summary(tmp_path).parent.glob("*.partial"))


def test_the_snapshot_stage_refuses_an_empty_workspace_and_the_read_side_finds_nothing(tmp_path):
    assert published.current(tmp_path) is None
    assert published.inputs(tmp_path)["enterprise"] == {} and published.inputs(tmp_path)["coverage"] is None
    with pytest.raises(workspace.UserError, match="no ratings yet"):
        snapshot.refresh(tmp_path)
    assert published.current(tmp_path) is None


def _alert(subject_id: str, severity: str = "high") -> dict:
    return {"subject_id": subject_id, "subject_type": "enterprise", "as_of": "2025-03-31", "severity": severity,
            "score": 3.5, "signals": "tax_arrears", "reasons": "tax arrears", "reasons_zh": "欠税", "pd": 0.12,
            "grade": "CC", "prev_grade": "B", "county": "610102", "industry": "C", "evidence": "[]"}


def test_alerts_keep_their_status_and_notes_when_the_month_is_raised_again(tmp_path):
    frame = pd.DataFrame([_alert("91610102MA0000001X"), _alert("91610102MA0000002X", "low")])
    assert alert_desk.store_alerts(frame, tmp_path) == 2
    alert_desk.set_alert_status("2025-03-31", "91610102MA0000001X", "acknowledged", "called", user="a1", home=tmp_path)
    again = frame.assign(severity=["medium", "low"])
    assert alert_desk.store_alerts(again, tmp_path) == 2  # the same month again: updated, not duplicated
    stored = readmodel.alerts(tmp_path, "2025-03-31").set_index("subject_id")
    assert stored.loc["91610102MA0000001X", "status"] == "acknowledged"
    assert stored.loc["91610102MA0000001X", "severity"] == "medium"
    assert stored.loc["91610102MA0000002X", "status"] == state.ALERT_STATUSES[0]
    with pytest.raises(workspace.UserError, match="status must be one of"):
        alert_desk.set_alert_status("2025-03-31", "91610102MA0000001X", "done", "", home=tmp_path)
    with pytest.raises(workspace.UserError, match="no alert"):
        alert_desk.set_alert_status("2025-03-31", "nobody", "closed", "", home=tmp_path)


def test_a_workspace_trained_before_the_kinds_were_renamed_reads_under_todays_names(tmp_path):
    """Issue 20: the boosted model's kind was called `challenger`, like the role. What such a
    workspace logged and stored reads under `boosted`; the roles keep their names."""
    import pickle

    import numpy as np

    from chengxin import tracking
    from chengxin.models import grades
    from chengxin.models.boosted import BoostedModel
    from chengxin.readmodel import explanation

    assert tracking.MODEL_KINDS == ("scorecard", "boosted") and "challenger" in tracking.ALIASES
    assert tracking.model_kind("challenger") == "boosted" and tracking.model_kind("scorecard") == "scorecard"
    logged = {"challenger_oot_auc": 0.81, "challenger_oot_ks": 0.4, "scorecard_oot_auc": 0.78, "boosted_oot_ks": 0.5}
    assert tracking.oot_metrics(logged, "boosted") == {"auc": 0.81, "ks": 0.5}  # today's name wins
    assert tracking.oot_metrics(logged, "challenger") == tracking.oot_metrics(logged, "boosted")
    assert tracking.oot_metrics(logged, "scorecard") == {"auc": 0.78}
    assert tracking.renamed({"challenger_calibration": "quadratic"}) == {"boosted_calibration": "quadratic"}
    assert tracking.validation_artifacts("boosted", "curves") == ["boosted_curves.csv", "challenger_curves.csv"]
    # a workspace's rating.yaml of then, and a model pickled under the class's old name
    assert grades.Calibration.model_validate({"scorecard": "platt", "challenger": "quadratic"}).boosted == "quadratic"
    rng = np.random.default_rng(0)
    X, y = pd.DataFrame({"a": rng.normal(size=200)}), (rng.random(200) < 0.3).astype(int)
    model = BoostedModel(n_estimators=5, min_child_samples=5).fit(X, y)
    then = pickle.dumps(model, protocol=0)  # names the class as text: "module\nname\n"
    assert b"\nBoostedModel\n" in then
    old = pickle.loads(then.replace(b"\nBoostedModel\n", b"\nChallengerModel\n"))
    assert isinstance(old, BoostedModel) and np.allclose(old.predict_proba(X), model.predict_proba(X))
    # explanations stored then
    folder = tmp_path / "home" / "published" / "dashboard" / "snap"
    (folder / "explanations").mkdir(parents=True)
    pd.DataFrame({"subject_id": ["91610102MA0000001X"], "versions": ["1/2"], "scorecard_base": [500.0],
                  "challenger_base": [-2.0], "points__a": [10.0], "shap__a": [0.5]}).to_parquet(
        folder / "explanations" / "enterprise.parquet")
    snap = published.Snapshot(folder, {"subjects": {}})
    stored = explanation.stored_contributions(snap, "enterprise", "91610102MA0000001X")
    assert stored["boosted"]["raw_output"] == -1.5 and stored["scorecard"]["raw_output"] == 510.0
    assert explanation.stored_repair(snap, "enterprise", "91610102MA0000001X") is None  # no paths stored then


def test_every_declaration_is_read_by_the_one_loader_with_the_one_override_rule(tmp_path):
    """Issue 20: one loader (`config.declared`), one rule (`config.merge`): mappings merge key by
    key, anything else and the sections a declaration replaces whole are replaced."""
    import ast
    from importlib import resources
    from pathlib import Path

    from chengxin import config, users

    files = {p.name for p in resources.files("chengxin.conf").iterdir() if p.name.endswith(".yaml")}
    assert files == {d.file for d in config.DECLARATIONS.values()}
    root = Path(__file__).resolve().parents[2]
    for folder in ("chengxin", "features", "models", "pipelines", "app"):  # nobody else parses YAML
        for path in (root / folder).rglob("*.py"):
            calls = [n for n in ast.walk(ast.parse(path.read_text("utf-8"))) if isinstance(n, ast.Attribute)
                     and n.attr in ("safe_load", "load") and isinstance(n.value, ast.Name) and n.value.id == "yaml"]
            assert not calls or path.name == "config.py", f"{path} parses YAML itself: use config.declared"
    assert config.merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": 2}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert config.merge({"u": {"x": 1}}, {"u": {"y": 2}}, replaced_whole=("u",)) == {"u": {"y": 2}}
    # settings and roles: the workspace's file over the package's, by the same rule
    (tmp_path / "settings.yaml").write_text("dashboard:\n  table_rows: 7\n", "utf-8")
    assert config.settings(tmp_path).dashboard.table_rows == 7
    assert config.settings(tmp_path).ingest == config.settings(tmp_path / "nowhere").ingest
    (tmp_path / "users.yaml").write_text("roles:\n  lender:\n    zh: 银行\n", "utf-8")
    merged = users.roles_config(tmp_path)
    assert merged.roles["lender"].zh == "银行" and merged.roles["lender"].pages == users.declared_roles().roles["lender"].pages
    assert set(merged.users) == set(users.declared_roles().users)  # no `users` section: the package's stay
    (tmp_path / "settings.yaml").write_text("dashboard: [", "utf-8")
    with pytest.raises(workspace.UserError, match="settings.yaml is not valid YAML"):
        config.settings(tmp_path)


class _StubChampion:
    """A champion whose PD is a sum the test can read: a base per subject plus a fixed amount for
    each problem still on the record."""

    def predict_proba(self, X):
        import numpy as np

        p = (X["base"].to_numpy(float) + 0.02 * (X["p_loan_dpd_latest"].to_numpy(float) > 0)
             + 0.03 * (X["p_card_utilisation"].to_numpy(float) > 0.5) + 0.05 * (X["p_dishonest_debtor"].to_numpy(float) > 0))
        return np.column_stack([1 - p, p])


def test_repair_paths_find_the_smallest_set_for_every_subject_at_once():
    """`models.explain.repair_paths` on five made-up people and a champion whose PD the test can
    work out by hand: no city, no trained model."""
    from chengxin.models import explain as ex

    zero = {c: 0.0 for c in ("p_loan_worst_dpd_12m", "p_loan_months_overdue_12m", "p_loan_months_overdue_3m",
                             "p_utility_arrears_months_12m", "p_utility_arrears_months_3m", "p_enforcement_open")}
    people = pd.DataFrame([
        {**zero, "base": 0.03, "p_loan_dpd_latest": 40.0, "p_card_utilisation": 0.9, "p_dishonest_debtor": 1.0},  # 0.13 CC
        {**zero, "base": 0.03, "p_loan_dpd_latest": 0.0, "p_card_utilisation": 0.2, "p_dishonest_debtor": 0.0},   # nothing to do
        {**zero, "base": 0.03, "p_loan_dpd_latest": 0.0, "p_card_utilisation": 0.6, "p_dishonest_debtor": 0.0},   # 0.06 CCC
        {**zero, "base": 0.50, "p_loan_dpd_latest": 30.0, "p_card_utilisation": 0.7, "p_dishonest_debtor": 1.0},  # out of reach
        {**zero, "base": 0.03, "p_loan_dpd_latest": float("nan"), "p_card_utilisation": 0.9, "p_dishonest_debtor": 0.0},
    ])
    paths = ex.repair_paths(people, "individual", _StubChampion(), chunk=2)
    names = [[a["name"] for a in p["actions"]] for p in paths]
    # one action lifts the first from CC (0.13) to CCC (0.08): leaving the list helps most
    assert names[0] == ["p_leave_dishonest_debtor_list"] and paths[0]["reachable"] and paths[0]["grade"] == "CC"
    assert paths[0]["actions"][0]["grade"] == "CCC" and abs(paths[0]["actions"][0]["pd"] - 0.08) < 1e-12
    assert paths[0]["actions"][0]["changes"] == {"p_dishonest_debtor": {"from": 1.0, "to": 0.0}}
    assert names[1] == [] and paths[1]["reachable"] is False and paths[1]["grade"] == "B"
    assert names[2] == ["p_reduce_card_utilisation"] and paths[2]["actions"][0]["grade"] == "B"
    assert paths[2]["actions"][0]["changes"] == {"p_card_utilisation": {"from": 0.6, "to": 0.5}}
    # out of reach (C whatever is done): every action that changes something, the most helpful first
    assert paths[3]["reachable"] is False and names[3][0] == "p_leave_dishonest_debtor_list"
    assert set(names[3]) == {"p_stay_current_on_loans", "p_clear_overdue_loans", "p_reduce_card_utilisation",
                             "p_leave_dishonest_debtor_list"}
    assert [a["grade"] for a in paths[3]["actions"]] == ["C"] * 4 and paths[3]["actions"][-1]["pd"] == 0.5
    # a missing value is never "repaired"
    assert names[4] == ["p_reduce_card_utilisation"]
    assert paths == [ex.repair_path(people.iloc[[i]], "individual", _StubChampion()) for i in range(len(people))]
