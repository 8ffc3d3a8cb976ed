"""The public evaluation as the rules write it (issue 33): declared dimensions and budgets, direct
tiers while their entry is in force, statuses for the day shown, and the consistency check."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from chengxin import consistency, lists, readmodel, workspace
from chengxin.features import snapshots
from chengxin.models.registered import rating_models
from conftest import DASHBOARD_DAY

DAY = dt.date.fromisoformat(DASHBOARD_DAY)


def test_a_direct_rule_forces_its_tier_while_its_entry_is_in_force_and_not_after(dashboard_home):
    home = dashboard_home
    ev = rating_models("enterprise", home)["evaluation"]
    # the points alone would give A; the rule's D wins, and a forced tier is never better than the points'
    assert list(ev.tier([990, 990, 100], ["D", None, "C"])) == ["D", "A", "D"]
    standing = snapshots.standing("enterprise", DAY, home).set_index("subject_id")
    from chengxin import warehouse

    with warehouse.connect(home, read_only=True) as con:
        entries = lists.in_force(con, ["dishonest_debtor"], "enterprise", DAY, current=warehouse.CURRENT)
    assert len(entries), "the test city has dishonest judgment debtors"
    for sid in entries["subject_id"]:
        assert standing.loc[sid, "forced_tier"] == "D"
    # the ratings published that day say so, with the rule as the tier's reason and the first reason
    ratings = pd.read_parquet(readmodel.current(home).path / "ratings.parquet").set_index("subject_id")
    listed = ratings.loc[ratings.index.intersection(entries["subject_id"])]
    assert (listed["tier"] == "D").all()
    ruled = listed[listed["tier_rule"] == "dishonest_debtor"]
    assert len(ruled) and ruled["reason_1_code"].eq("tier_rule:dishonest_debtor").all()
    # once the entry has ended, the rule no longer holds
    one = entries.sort_values("ends").iloc[0]
    after = pd.Timestamp(one["ends"]).date()
    later = snapshots.standing("enterprise", after, home, subject_ids=[one["subject_id"]])
    still = later[later["forced_rule"] == "dishonest_debtor"]
    with warehouse.connect(home, read_only=True) as con:
        again = lists.in_force(con, ["dishonest_debtor"], "enterprise", after, current=warehouse.CURRENT)
    assert still.empty == (one["subject_id"] not in set(again["subject_id"]))


def test_an_ended_entry_is_not_shown_in_force(dashboard_home, monkeypatch):
    snap = readmodel.current(dashboard_home)
    stored = pd.read_parquet(snap.path / "lists.parquet")
    active = stored[stored["status"] == "active"]
    assert len(active)
    first_end = pd.to_datetime(active["ends"]).min().date()
    # shown on the rating date: as published
    monkeypatch.setenv("CHENGXIN_TODAY", "rated")
    assert (readmodel.snapshot.list_entries(snap)["status"] == "active").sum() == len(active)
    # shown on a later day: what ended by then is expired, in the lists and on the subject's card
    monkeypatch.setenv("CHENGXIN_TODAY", str(first_end))
    shown = readmodel.snapshot.list_entries(snap)
    ended = shown[pd.to_datetime(shown["ends"]).dt.date <= first_end]
    assert len(ended) and not (ended["status"] == "active").any()
    assert ((shown["status"] == "active") == ((stored["status"] == "active")
                                              & (pd.to_datetime(stored["ends"]).dt.date > first_end))).all()
    # the subject's card (look-up, reports) and a credit check read the same status for that day
    from chengxin import users

    gone = active[pd.to_datetime(active["ends"]).dt.date == first_end].iloc[0]  # in force as published, ended by then
    sid, rule = gone["subject_id"], gone["rule"]
    card = readmodel.lookup(snap, sid, users.role("admin"), purpose="test", record=False)
    mine = card["lists"][card["lists"]["rule"] == rule]
    assert len(mine) and (mine["status"] != "active").all()
    check = readmodel.judge_check(snap, sid, "procurement", users.role("admin"), purpose="tender", case_ref="T-2")
    assert rule not in {e["rule"] for e in check["entries"]}
    monkeypatch.setenv("CHENGXIN_TODAY", "rated")
    card = readmodel.lookup(snap, sid, users.role("admin"), purpose="test", record=False)
    assert ((card["lists"]["rule"] == rule) & (card["lists"]["status"] == "active")).any()


def _planted(folder, tmp_path):
    copy = tmp_path / "snap"
    shutil.copytree(folder, copy)
    return copy


def test_the_consistency_check_finds_a_planted_contradiction_of_each_kind(dashboard_home, tmp_path):
    snap = readmodel.current(dashboard_home)
    assert consistency.found(consistency.check(snap.path)) == 0  # what was published holds together
    copy = _planted(snap.path, tmp_path)
    ratings = pd.read_parquet(copy / "ratings.parquet")
    entries = pd.read_parquet(copy / "lists.parquet")
    debtor = entries[(entries["rule"] == "dishonest_debtor") & (entries["status"] == "active")
                     & (entries["subject_type"] == "enterprise")]["subject_id"].iloc[0]
    unlisted = ratings[~ratings["subject_id"].isin(entries["subject_id"]) & (ratings["subject_type"] == "enterprise")]
    ratings.loc[ratings["subject_id"] == debtor, "tier"] = "A"  # 1. a better tier than the rule's
    ratings.loc[ratings["subject_id"] == unlisted["subject_id"].iloc[0], "tier_rule"] = "dishonest_debtor"  # 5.
    ratings.to_parquet(copy / "ratings.parquet", index=False)
    stale = entries.iloc[[0]].assign(status="active", ends=DAY - dt.timedelta(days=3), subject_id="STALE")  # 2.
    con = duckdb.connect(str(copy / readmodel.RECORDS))
    not_a = con.execute("SELECT subject_id FROM rec_tax WHERE tax_credit_grade IN ('B', 'C', 'D') "
                        f"AND period <= DATE '{DAY}' GROUP BY subject_id "
                        "HAVING arg_max(tax_credit_grade, period) <> 'A' LIMIT 1").fetchone()[0]
    red = entries.iloc[[0]].assign(list="red", rule="a_grade_taxpayer", status="active", subject_id=not_a,
                                   ends=DAY + dt.timedelta(days=90))  # 3.
    pd.concat([entries, stale, red], ignore_index=True).to_parquet(copy / "lists.parquet", index=False)
    con.execute("INSERT INTO rec_penalty SELECT * FROM rec_penalty LIMIT 1")  # 4. the same record twice
    con.close()
    found = consistency.check(copy)
    counts = {k: v["count"] for k, v in found.items()}
    # the debtor's tier contradicts each of its entries under a direct rule (one or more)
    assert counts.pop("direct_tier_better") >= 1 and counts == {
        "ended_shown_in_force": 1, "red_list_basis_gone": 1, "record_twice": 1, "tier_rule_without_entry": 1}
    assert {e["subject_id"] for e in found["direct_tier_better"]["examples"]} == {debtor}
    assert len(consistency.describe(found)) == 5


def test_publishing_refuses_a_snapshot_that_contradicts_itself(dashboard_home, tmp_path, monkeypatch):
    from chengxin.pipelines import snapshot

    home = tmp_path / "home"
    shutil.copytree(dashboard_home, home)
    (readmodel.root(home) / readmodel.POINTER).unlink()  # no current snapshot: a new one is built
    planted = {k: {"count": 0, "examples": []} for k in consistency.KINDS} | {
        "direct_tier_better": {"count": 2, "examples": [{"subject_id": "X"}]}}
    monkeypatch.setattr(consistency, "check", lambda folder, day=None: planted)
    with pytest.raises(workspace.UserError, match="contradicts itself.*2 × an entry of a direct-tier rule"):
        snapshot.refresh(home, force=False)
    assert readmodel.current(home) is None  # nothing was switched to
    forced = snapshot.refresh(home, force=True)  # --force publishes it anyway, and says what it holds
    assert forced["new"] and json.loads((readmodel.current(home).path / "manifest.json").read_text("utf-8"))[
        "consistency"]["direct_tier_better"] == 2


def test_the_criteria_read_as_dimensions_overrides_and_tiers(dashboard_home):
    from chengxin.readmodel.criteria import published_criteria

    c = published_criteria("enterprise", home=dashboard_home)
    scored = {i["name"]: i for i in c["indicators"]}
    considered = {i["name"] for i in c["considered_not_weighted"]}
    overrides = {t["list_rule"] for t in c["direct_tiers"]}
    for name in ("dishonest_debtor", "penalties_serious_public", "enforcement_open"):
        assert name in scored and name not in considered
        assert scored[name]["scoring"] == "declared" and scored[name]["max_points"] > scored[name]["min_points"]
    assert {"dishonest_debtor", "serious_dishonest_list"} <= overrides
    assert sum(d["budget"] for d in c["dimensions"]) == c["total_points"]
    assert all(d["max_points"] == d["budget"] for d in c["dimensions"])
    law = next(d for d in c["dimensions"] if d["dimension"] == "law_abiding")
    assert law["share"] >= 0.2  # dishonesty counts
    tiers = c["public_tiers"]
    assert [t["min_points"] for t in tiers][:-1] == sorted([t["min_points"] for t in tiers][:-1], reverse=True)
    assert abs(sum(t["share"] for t in tiers) - 1) < 1e-3 and c["distribution"]["by_county"]
    md = (readmodel.criteria.criteria_versions("enterprise", dashboard_home)[0]["folder"] / "criteria.md").read_text("utf-8")
    assert md.index("直接评级规则") < md.index("评价指标与分值") and "12个月失信违约率" in md
    assert np.isfinite([t["outcome_rate"] for t in tiers if t.get("outcome_rate") is not None]).all()
