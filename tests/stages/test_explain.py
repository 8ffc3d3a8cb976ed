"""Explanations add up, reasons are sentences, repair paths respect the rules, look-ups of people are audited."""

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from chengxin import audit, catalog
from chengxin.features import snapshots
from chengxin.features.catalogue import catalogue
from chengxin.models import explain as ex
from chengxin.models import grades
from chengxin.models.registered import rating_models
from chengxin.pipelines import explain as stage
from chengxin.pipelines import explain as explanation
from chengxin.workspace import UserError

DAY = dt.date(2025, 3, 31)


@pytest.fixture(scope="module")
def rated(trained):
    home, _ = trained
    m = rating_models("enterprise", home)
    X = snapshots.stored_indicators("enterprise", DAY, home=home)
    return home, m, X


def test_contributions_add_up_to_each_models_output(rated):
    _, m, X = rated
    ev, boosted = m["evaluation"], ex.unwrap(m["boosted"])
    cols = list(ev.scorecard.feature_names_in_)
    # the public evaluation: each indicator's points short of its best, from the best total
    base, contrib = ev.contributions(X[list(ev.feature_names_in_)])
    assert base == ev.max_points().sum() and (contrib.to_numpy() <= 0).all()
    np.testing.assert_allclose(base + contrib.sum(axis=1), ev.points(X[list(ev.feature_names_in_)]), rtol=0, atol=1e-8)
    # and the reasons rank the same shortfalls: the first reason's points are the largest loss
    from chengxin.models.reasons import reasons

    first = reasons(ev, X[list(ev.feature_names_in_)])[["reason_1_code", "reason_1_points"]]
    lost = -contrib
    named = first["reason_1_code"].notna().to_numpy()
    np.testing.assert_allclose(first.loc[named, "reason_1_points"], lost.max(axis=1)[named], atol=0.05)
    base, contrib = ex.boosted_contributions(boosted, X[cols])
    np.testing.assert_allclose(base + contrib.sum(axis=1), ex.raw_output(boosted, X[cols]), rtol=0, atol=1e-8)
    # the calibrated PD is a monotone function of that raw output
    p = m["boosted"].predict_proba(X[cols])[:, 1]
    order = np.argsort(ex.raw_output(boosted, X[cols]))
    assert np.all(np.diff(p[order]) >= -1e-12)


def test_explain_json_has_the_contract(rated):
    home, _, X = rated
    pick = X["subject_id"].iloc[0]
    out = explanation.explain(pick, DAY, home=home)
    for key in ("subject_id", "grade", "tier", "pd", "score", "reasons", "repair_path", "models"):
        assert key in out
    assert out["grade"] in grades.rating_config().grades and out["tier"] in {"A", "B", "C", "D"}
    for name, model in out["models"].items():
        total = model["base_value"] + sum(v for v in model["contributions"].values())
        assert total == pytest.approx(model["raw_output"], abs=1e-8), name
    # reasons are sentences from the declarations, never a bare indicator name
    names = {i.name for i in catalogue().indicators}
    assert all(r not in names and ":" in r for r in out["reasons"])


def test_repair_paths_change_only_mutable_indicators_in_their_better_direction(rated):
    home, m, X = rated
    card = m["evaluation"]
    cols = list(card.feature_names_in_)
    cat = catalogue()
    p = m["champion"].predict_proba(X[cols])[:, 1]
    # the riskiest 64: the very riskiest are often at risk for what no action changes (a turnover
    # or a headcount falling at the onset of distress), so a few climb, not every one
    risky = X.iloc[np.argsort(-p)[:64]]
    reached = 0
    for _, row in risky.iterrows():
        frame = row[cols].to_frame().T.astype(X[cols].dtypes.to_dict())
        path = ex.repair_path(frame, "enterprise", m["champion"], card)
        order = grades.rating_config().grades
        for step in path["actions"]:
            for ind, change in step["changes"].items():
                spec = cat[ind]
                assert spec.mutable and spec.direction != "none"
                better = change["to"] < change["from"] if spec.direction == "higher_worse" else change["to"] > change["from"]
                assert better, (ind, change)
        if path["reachable"]:
            reached += 1
            assert order.index(path["actions"][-1]["grade"]) < order.index(path["grade"])
    assert reached > 0  # some of the risky subjects can climb a grade


def test_repair_paths_of_a_batch_are_each_subjects_own_and_the_smallest(rated):
    """The stored paths are searched for every subject at once: each equals the subject's path
    searched alone, and no smaller set of the actions that change something reaches a better grade."""
    _, m, X = rated
    card = m["evaluation"]
    cols = list(card.feature_names_in_)
    order = grades.rating_config().grades
    p = m["champion"].predict_proba(X[cols])[:, 1]
    # twelve across the riskiest 240 (every 20th): risk of every kind, some of it repairable
    pick = X.iloc[np.argsort(-p)[:240:20]][cols].reset_index(drop=True)
    batch = ex.repair_paths(pick, "enterprise", m["champion"], card, chunk=5)  # several chunks, the last one short
    assert sum(path["reachable"] for path in batch) > 0
    actions = {a.name: a for a in ex.repair_actions()}
    for i, path in enumerate(batch):
        alone = ex.repair_path(pick.iloc[[i]], "enterprise", m["champion"], card)
        assert [a["name"] for a in alone["actions"]] == [a["name"] for a in path["actions"]]
        assert [a["grade"] for a in alone["actions"]] == [a["grade"] for a in path["actions"]]
        assert alone["pd"] == pytest.approx(path["pd"], abs=1e-12) and alone["reachable"] == path["reachable"]
        if not path["reachable"]:
            continue
        row = pick.iloc[i]
        helps = [a for a in actions.values() if a.subject == "enterprise" and not ex._apply(row, a).equals(row)]
        # the action that wins back the most public points may join beyond the smallest set
        smallest = [a for a in path["actions"] if not a["for_points"]]
        assert len(smallest) >= len(path["actions"]) - 1
        for combo in itertools.combinations(helps, len(smallest) - 1):
            after = row
            for a in combo:
                after = ex._apply(after, a)
            g = grades.grade_of(m["champion"].predict_proba(after.to_frame().T.astype(pick.dtypes.to_dict()))[:, 1])[0]
            assert order.index(g) >= order.index(path["grade"]), (i, [a.name for a in combo])


def test_penalties_inside_their_minimum_publicity_period_are_not_repaired():
    row = pd.Series({"penalties_serious_public": 3.0, "penalties_serious_locked": 2.0, "penalties_general_public": 1.0,
                     "penalties_general_locked": 0.0, "penalties_minor_public": 0.0, "penalties_minor_locked": 0.0,
                     "penalty_fines_public": 900.0, "penalty_fines_locked": 500.0})
    action = next(a for a in ex.repair_actions() if a.name == "repair_penalties")
    after = ex._apply(row, action)
    assert after["penalties_serious_public"] == 2 and after["penalties_general_public"] == 0
    assert after["penalty_fines_public"] == 500


def test_an_action_may_not_touch_an_immutable_indicator():
    with pytest.raises(ValueError, match="immutable"):
        ex.RepairAction.model_validate({"name": "x", "subject": "enterprise", "text": {"zh": "x", "en": "x"},
                                        "sets": {"firm_age_years": 10}})


def test_looking_up_an_individual_needs_a_purpose_and_is_audited(trained):
    home, _ = trained
    people = snapshots.stored_indicators("individual", DAY, home=home)
    pick = people["subject_id"].iloc[0]
    with pytest.raises(UserError, match="purpose"):
        explanation.explain(pick, DAY, home=home)
    before = len(audit.audit_log(home))
    out = explanation.explain(pick, DAY, purpose="loan application 2025-117", user="analyst1", home=home)
    assert out["subject_type"] == "individual"
    log = audit.audit_log(home)
    assert len(log) == before + 1
    entry = log.iloc[0]
    assert entry["subject_id"] == pick and entry["purpose"] == "loan application 2025-117" and entry["user"] == "analyst1"


def test_batch_explanations_reuse_only_what_is_exactly_the_same(rated):
    home, m, X = rated
    prev = dt.date(2025, 2, 28)
    stage.explain_all("enterprise", prev, home=home)
    result = stage.explain_all("enterprise", DAY, home=home)
    stored = pd.read_parquet(result["out"])
    assert result["reused"] + result["treeshap"] == len(stored) == len(X)
    # the repair paths are a file of their own, row for row beside the contributions
    repair = pd.read_parquet(result["repair_out"])
    assert list(repair.columns) == ["subject_id", *catalog.REPAIR_COLUMNS]
    assert repair["subject_id"].tolist() == stored["subject_id"].tolist()
    assert not set(catalog.REPAIR_COLUMNS) & set(stored.columns)
    boosted = ex.unwrap(m["boosted"])
    cols = list(boosted.feature_names_in_)
    base, fresh = ex.boosted_contributions(boosted, X.set_index("subject_id").loc[stored["subject_id"], cols].reset_index(drop=True))
    np.testing.assert_allclose(stored[[f"shap__{c}" for c in cols]].to_numpy(), fresh[cols].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(stored["boosted_base"], base, atol=1e-12)


def test_a_subject_in_default_is_explained_by_the_record_that_put_it_there(dashboard_home):
    """Graded D: the first reason, in both languages, is the outcome record (what, when, which
    case or loan), in the ratings file, the look-up and `explain`; the repair path starts there."""
    import pyarrow.parquet as pq

    from chengxin import readmodel, users
    from chengxin.features import snapshots
    from chengxin import record_rules

    ratings = pq.read_table(sorted((dashboard_home / "published" / "ratings" / "enterprise" / f"as_of={DAY}")
                                   .glob("ratings_*.parquet"))[-1]).to_pandas()
    d = ratings[ratings["grade"] == grades.rating_config().default_grade]
    assert len(d) > 5
    records = snapshots.in_default("enterprise", DAY, dashboard_home).set_index("subject_id")
    # the first reason: the record, then the direct rule it triggers (declared first among the D rules)
    stood = snapshots.standing("enterprise", DAY, dashboard_home).set_index("subject_id")
    assert set(d["subject_id"]) <= set(records.index)  # every subject graded D has its record (some with one are not rated)
    kinds = {r.kind: r for r in record_rules.feature_settings().outcome.enterprise}
    for sid, row in d.set_index("subject_id").iterrows():
        record = records.loc[sid]
        lead = stood.loc[sid]
        assert lead["forced_rule"] == "in_default" and lead["forced_tier"] == "D" and row["tier"] == "D"
        assert row["reason_1"] == lead["forced_reason"] and row["reason_1_zh"] == lead["forced_reason_zh"]
        assert row["reason_1"].startswith(record["default_reason"] + ": tier D by rule")
        assert row["reason_1_zh"].startswith(record["default_reason_zh"] + "：依")
        assert row["reason_1_code"] == "in_default"
        assert str(record["default_date"])[:7] in row["reason_1"]  # when: the record's date (or month)
    # every kind of record reads as its declaration says, e.g. "Listed as a dishonest judgment debtor on ..., case ..."
    for kind, group in records.groupby("default_kind"):
        head = kinds[kind].text.en.split("{date}")[0]
        assert group["default_reason"].str.startswith(head).all(), kind
        if kinds[kind].ref_text is not None:
            assert group["default_reason"].str.contains(kinds[kind].ref_text.en.split("{ref}")[0], regex=False).any()
    # the look-up and explain say the same first
    sid = d["subject_id"].iloc[0]
    looked = readmodel.lookup(readmodel.current(dashboard_home), sid, users.role("lender"))
    assert looked["reasons"][0] == stood.loc[sid, "forced_reason"]
    assert looked["reasons_zh"][0] == stood.loc[sid, "forced_reason_zh"]
    out = explanation.explain(sid, DAY, home=dashboard_home)
    assert out["grade"] == "D" and out["reasons"][0] == stood.loc[sid, "forced_reason"]
    assert out["reasons_zh"][0] == stood.loc[sid, "forced_reason_zh"]
    first = out["repair_path"][0]
    assert first["name"] == f"resolve_{records.loc[sid, 'default_kind']}" and first["text_en"] == records.loc[sid, "default_repair"]
    assert first["from"] == str(records.loc[sid, "default_until"]) and records.loc[sid, "default_reason"] in out["repair_note"]
    # a subject not in default keeps the scorecard's reasons
    live = ratings[ratings["grade"] != "D"].dropna(subset=["reason_1"]).iloc[0]
    assert live["subject_id"] not in records.index and ":" in live["reason_1"]


def test_a_reason_says_the_value_as_a_person_reads_it_and_which_way_it_should_move():
    """Shares in percent, a coded grade as its letter with the best one named, days and years with
    their unit, and the direction in words; missing data said as missing, with no direction."""
    from chengxin.features.catalogue import catalogue
    from chengxin.models import reasons
    from chengxin.models.thresholds import unit_of

    cat = catalogue()

    def both(name, value):
        ind = cat[name]
        return reasons.sentence(ind, value, unit_of(ind, cat), "zh"), reasons.sentence(ind, value, unit_of(ind, cat), "en")

    zh, en = both("tax_credit_grade_score", 4.0)
    assert zh == "纳税信用等级：C（A 最好）" and en.endswith(": C (A is best)")
    shares = [n for n in cat.names("enterprise") if unit_of(cat[n], cat) == "share" and cat[n].direction == "higher_better"]
    zh, en = both(shares[0], 0.46)
    assert zh.endswith("：46%（越高越好）") and en.endswith(": 46% (higher is better)")
    days = [n for n in cat.names("enterprise") if unit_of(cat[n], cat) == "days"]
    assert both(days[0], 45.0)[0].endswith("：45 天（越低越好）")
    zh, en = both(shares[0], float("nan"))
    assert zh.endswith(reasons.MISSING_ZH) and en.endswith(reasons.MISSING_EN) and "越" not in zh
    assert reasons.levels_of(cat["tax_credit_grade_score"]) == {1.0: "A", 2.0: "B", 3.0: "M", 4.0: "C", 5.0: "D"}
    assert reasons.levels_of(cat[shares[0]]) == {}
