"""Risk-classified supervision (issue 37): the city's hidden violations and its inspectors, the
classes, the draw (reproducible, every class a chance, the exclusions) and the loop on a small city."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from chengxin import config, workspace
from chengxin.city import generate, violations
from chengxin.supervision import classes, draw, plans

CFG = config.supervision()
ROSTER = list(config.departments().departments[CFG.lead_department].inspectors)


def _inputs(n: int = 2000, seed: int = 0, recent_share: float = 0.0) -> pd.DataFrame:
    """An input list as `draw.inputs` makes it: classes at the declared shares."""
    rng = np.random.default_rng(seed)
    ids = [f"91610300{k:09d}X" for k in range(n)]
    stratum = classes.cut(rng.random(n), np.arange(n), {k: c.share for k, c in CFG.classes.items()})
    return pd.DataFrame({"subject_id": ids, "stratum": stratum, "recent": rng.random(n) < recent_share,
                         "last_inspectors": ""})


# --- the city -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("svcity") / "city"
    generate(out, 1500, 300, 30, seed=23, start="2023-07")
    return out


def test_the_city_hides_violations_it_never_uploads(city):
    hidden = pd.read_csv(city / "_truth" / violations.TRUTH_VIOLATIONS, dtype={"subject_id": str}, parse_dates=["start", "end"])
    assert set(hidden["kind"]) == set(CFG.violations)
    assert (hidden["end"].isna() | (hidden["end"] >= hidden["start"])).all()
    register = pd.read_csv(city / "_truth" / "subjects.csv", dtype={"subject_id": str})
    assert set(hidden["subject_id"]) <= set(register.loc[register["subject_type"] == "enterprise", "subject_id"])
    risk = pd.read_csv(city / "_truth" / violations.TRUTH_RISK, dtype={"subject_id": str})
    assert risk["p_violation"].between(0, 1).all() and 0.02 < risk["p_violation"].mean() < 0.2
    # the truth is never among the uploads: no source folder starts with "_" but the truth
    assert [p.name for p in city.iterdir() if p.name.startswith("_")] == ["_truth"]
    assert not any("violation" in p.name for p in city.rglob("*") if "_truth" not in p.parts)


def test_violations_concentrate_in_risky_firms_but_are_not_default_risk(city):
    risk = pd.read_csv(city / "_truth" / violations.TRUTH_RISK, dtype={"subject_id": str})
    pds = pd.read_csv(city / "_truth" / "monthly_pd.csv", dtype={"subject_id": str})
    m = risk.merge(pds, on=["subject_id", "month"])
    corr = np.corrcoef(np.log(m["p_violation"].clip(1e-6)), np.log(m["true_pd_12m"]))[0, 1]
    assert 0.3 < corr < 0.95, corr
    top = m["p_violation"] >= m["p_violation"].quantile(0.92)
    assert m.loc[top, "p_violation"].mean() > 4 * m["p_violation"].mean()


def test_the_city_s_own_inspections_are_an_upload_of_the_inspection_source(city):
    files = sorted((city / "inspection").glob("inspection_*"))
    assert files
    truth = pd.read_csv(city / "_truth" / violations.TRUTH_INSPECTED, dtype=str, keep_default_na=False)
    assert set(truth["result"]) <= {"no_problem", "problems_found", "unreachable"}
    found = truth[truth["result"] == "problems_found"]
    assert len(found) and (found["problems_found"].astype(int) == found["problems"].str.count(";") + 1).all()
    assert (truth.loc[truth["result"] != "problems_found", "problems"] == "").all()
    assert set(truth["department"]) == {config.departments().departments[CFG.lead_department].zh}


def _plan(city: Path, tmp_path: Path, firms: list[str], day: str) -> Path:
    plan = pd.DataFrame({"plan_no": "P", "inspection_no": [f"P-{k}" for k in range(len(firms))], "month": day[:7],
                         "department": "市场监督管理局", "subject_id": firms, "inspection_date": day,
                         "inspectors": "王建国、李红梅", "items": ";".join(CFG.violations)})
    path = tmp_path / f"plan_{day}.csv"
    plan.to_csv(path, index=False)
    return path


def test_inspect_finds_what_is_there_the_same_way_twice_and_rectified_is_gone(city, tmp_path):
    hidden = pd.read_csv(city / "_truth" / violations.TRUTH_VIOLATIONS, dtype={"subject_id": str}, parse_dates=["start", "end"])
    day = pd.Timestamp("2025-06-16")
    on = hidden[(hidden["start"] <= day) & (hidden["end"].isna() | (hidden["end"] >= day))]
    live = pd.read_csv(city / "_truth" / violations.TRUTH_RISK, dtype={"subject_id": str})
    live = set(live.loc[live["month"] == "2025-07", "subject_id"])
    guilty = sorted(set(on["subject_id"]) & live)[:40]
    clean = sorted(live - set(hidden["subject_id"]))[:40]
    plan = _plan(city, tmp_path, guilty + clean, "2025-06-16")
    first = violations.play(city, plan, tmp_path / "out")
    again = violations.play(city, plan, tmp_path / "out")  # re-running gives the same file
    assert first["out"] == again["out"]
    results = pd.read_csv(first["out"], dtype=str, keep_default_na=False)
    assert len(results) == 80 and set(results["received_date"]) == set(results["publication_date"])
    mine = results.set_index("subject_id")
    assert (mine.loc[clean, "result"] != "problems_found").all()  # nothing is found where nothing is hidden
    hit = (mine.loc[guilty, "result"] == "problems_found").mean()
    assert hit > 0.5, hit  # detection 0.7-0.9 per kind, a few unreachable
    # found is rectified: a week later the same firms show again only violations that started since
    found = mine[mine["result"] == "problems_found"]
    later = violations.play(city, _plan(city, tmp_path, list(found.index), "2025-06-23"), tmp_path / "out")
    again = pd.read_csv(later["out"], dtype=str, keep_default_na=False).set_index("subject_id")
    fresh = hidden[hidden["start"] > day].groupby("subject_id")["kind"].agg(set)
    for sid, row in found.iterrows():
        repeated = set(row["problems"].split(";")) & set(again.loc[sid, "problems"].split(";"))
        assert repeated <= fresh.get(sid, set()), (sid, repeated)


def test_inspect_refuses_what_is_not_a_plan_or_a_city(city, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", "utf-8")
    with pytest.raises(workspace.UserError, match="lacks the columns"):
        violations.play(city, bad, tmp_path / "out")
    with pytest.raises(workspace.UserError, match="not found"):
        violations.play(city, tmp_path / "none.csv", tmp_path / "out")
    with pytest.raises(workspace.UserError, match="generate"):
        violations.play(tmp_path, _plan(city, tmp_path, ["x"], "2025-06-16"), tmp_path / "out")


# --- classes and the draw ---------------------------------------------------------------------


def test_classes_are_cut_at_the_declared_shares_ties_broken_by_a_fixed_order():
    n = 1000
    score = np.zeros(n)  # every firm tied: the order decides, the shares still hold
    shares = {k: c.share for k, c in CFG.classes.items()}
    ids = pd.Series([f"id{k}" for k in range(n)])
    out = classes.cut(score, classes.tiebreak(ids, "2026-10-31"), shares)
    counts = pd.Series(out).value_counts()
    for k, s in shares.items():
        assert abs(counts[k] - s * n) <= 1
    again = classes.cut(score, classes.tiebreak(ids.iloc[::-1].reset_index(drop=True), "2026-10-31"), shares)
    assert dict(zip(ids, out)) == dict(zip(ids.iloc[::-1], again))  # the order rows arrive in does not matter


def test_the_risk_classifier_ranks_by_declared_points_and_gives_its_reasons():
    X = pd.DataFrame({s: np.zeros(400) for s in CFG.signals})
    X.loc[:9, "problems_24m"] = 3  # ten firms where inspectors found problems three times
    model = classes.RiskClassifier({k: s.weight for k, s in CFG.signals.items()},
                                   {k: c.share for k, c in CFG.classes.items()}).fit(X)
    got = model.predict(X, np.arange(400))
    assert set(got[:10]) == {"D"}
    codes, zh, en = classes.reasons(model.contributions(X), CFG)
    assert codes[0] == "problems_24m" and zh[0] == CFG.signals["problems_24m"].zh
    assert codes[50] == "" and "median" in en[50]


def test_the_same_input_list_and_seed_give_the_same_plan_and_digest():
    frame = _inputs()
    a, meta_a = draw.draw(frame, "2026-11", seed=7, share=0.05)
    b, meta_b = draw.draw(frame.sample(frac=1, random_state=3), "2026-11", seed=7, share=0.05)  # shuffled rows
    pd.testing.assert_frame_equal(a, b)
    assert meta_a["input_digest"] == meta_b["input_digest"] == draw.digest(frame.sort_values("subject_id"))
    c, _ = draw.draw(frame, "2026-11", seed=8, share=0.05)
    assert set(a["subject_id"]) != set(c["subject_id"])
    # a month draws a twelfth of the yearly share
    assert len(a) == round(0.05 * len(frame) / 12) == meta_a["budget"]
    assert a["inspection_date"].map(lambda d: d.strftime("%Y-%m")).eq("2026-11").all()
    assert a["inspection_no"].is_unique and a["subject_id"].is_unique


def test_every_class_keeps_a_chance_and_the_riskier_are_drawn_more_often():
    frame = _inputs()
    drawn = pd.concat([draw.draw(frame, "2026-11", seed=s, budget=20)[0] for s in range(200)])
    size = frame["stratum"].value_counts()
    rate = drawn["stratum"].value_counts() / size / 200
    assert set(rate.index) == set(CFG.classes)  # class A too: no class is exempt (不免抽)
    assert rate["A"] < rate["B"] < rate["C"] < rate["D"]
    expected = {k: CFG.classes[k].yearly_ratio for k in CFG.classes}
    ratio = rate / rate["A"]
    for k in CFG.classes:
        assert ratio[k] == pytest.approx(expected[k] / expected["A"], rel=0.35)


def test_the_allocation_sums_to_the_budget_and_caps_a_class_at_its_size():
    sizes = {"A": 100, "B": 50, "C": 10, "D": 2}
    ratios = {k: c.yearly_ratio for k, c in CFG.classes.items()}
    for u in np.linspace(0, 0.999, 25):
        got = draw.allocate(sizes, ratios, 30, float(u))
        assert sum(got.values()) == 30 and got["D"] == 2 and got["C"] == 10
    assert sum(draw.allocate(sizes, ratios, 1000, 0.5).values()) == 162  # never more than the firms


def test_recently_inspected_firms_are_skipped_unless_class_d_and_then_drawn_last():
    frame = _inputs(recent_share=0.5)
    plan, meta = draw.draw(frame, "2026-11", seed=1, budget=60)
    recent = set(frame.loc[frame["recent"], "subject_id"])
    drawn_recent = plan[plan["subject_id"].isin(recent)]
    assert set(drawn_recent["stratum"]) <= {"D"}
    d_fresh = int(((frame["stratum"] == "D") & ~frame["recent"]).sum())
    d_drawn = int((plan["stratum"] == "D").sum())
    assert len(drawn_recent) == max(0, d_drawn - d_fresh)
    assert meta["by_stratum"]["A"]["eligible"] == int(((frame["stratum"] == "A") & ~frame["recent"]).sum())


def test_inspectors_are_two_of_the_roster_never_the_last_one_nor_a_declared_conflict(tmp_path, monkeypatch):
    frame = _inputs(300)
    frame["last_inspectors"] = "、".join(ROSTER[:3])
    home = tmp_path / "home"
    home.mkdir()
    victim = frame["subject_id"].iloc[0]
    (home / "supervision.yaml").write_text(yaml.safe_dump({"conflicts": [
        {"inspector": name, "subject_id": victim, "reason": "亲属任法定代表人"} for name in ROSTER[3:9]]},
        allow_unicode=True), "utf-8")
    monkeypatch.setenv("CHENGXIN_HOME", str(home))
    frame.loc[0, "stratum"] = "D"
    plan, _ = draw.draw(frame, "2026-11", seed=5, budget=300)
    for who in plan["inspectors"]:
        names = who.split("、")
        assert len(names) == 2 and len(set(names)) == 2 and set(names) <= set(ROSTER[3:])
    mine = plan.loc[plan["subject_id"] == victim, "inspectors"].iloc[0].split("、")
    assert set(mine) <= set(ROSTER[9:])
    # a roster that leaves fewer than two free inspectors is an error that says what to do
    (home / "supervision.yaml").write_text(yaml.safe_dump({"conflicts": [
        {"inspector": name, "subject_id": victim} for name in ROSTER]}, allow_unicode=True), "utf-8")
    with pytest.raises(workspace.UserError, match="add inspectors"):
        draw.draw(frame, "2026-11", seed=5, budget=300)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one"), ({"share": 0.05, "budget": 3}, "exactly one"), ({"share": 5}, "between 0 and 1"),
    ({"share": 0.0}, "between 0 and 1"), ({"budget": 0}, "at least one"), ({"budget": 3, "department": "税务"}, "unknown department"),
])
def test_a_bad_plan_request_is_an_error_that_says_what_to_do(kwargs, message):
    with pytest.raises(workspace.UserError, match=message):
        draw.draw(_inputs(100), "2026-11", seed=1, **kwargs)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "２０２６-11", "٢٠٢٦-11", "2026-11-01"])
def test_a_month_that_is_not_one_is_refused(month):
    with pytest.raises(workspace.UserError, match="YYYY-MM"):
        draw.month_bounds(month)


def test_a_department_s_plan_checks_its_own_items():
    plan, meta = draw.draw(_inputs(600), "2026-11", seed=1, budget=10, department="environment")
    assert set(plan["items"]) == {"emissions"} and meta["department"] == "生态环境局"
    assert set("、".join(plan["inspectors"]).split("、")) <= set(config.departments().departments["environment"].inspectors)
    tax = config.departments().departments["tax"]
    with pytest.raises(workspace.UserError, match="checks none"):
        draw.draw(_inputs(100), "2026-11", seed=1, budget=3, department=tax.zh)


# --- the loop on a small city ---------------------------------------------------------------------


def _backtest(city: Path, work: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chengxin", "supervise", "backtest", "--city", str(city), "--months", "2",
                           "--budget", "15", "--seed", "4", "--work", str(work), *extra],
                          capture_output=True, text=True, env={**os.environ, "CHENGXIN_HOME": str(work.parent / "h")})


@pytest.fixture(scope="module")
def loop(city, tmp_path_factory):
    """The loop on the small city, run as a user runs it: `chengxin supervise backtest --json`."""
    work = tmp_path_factory.mktemp("backtest") / "work"
    out = _backtest(city, work, "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout), work


def test_the_loop_runs_every_strategy_on_the_same_budget(loop):
    result, work = loop
    assert set(result["strategies"]) == {"classified", "uniform", "oracle", "rules"}
    for name, s in result["strategies"].items():
        assert s["inspections"] == 30, name  # 15 a month for 2 months
        assert 0 <= s["hit_rate"] <= 1 and s["hits"] == sum(c["hits"] for c in s["by_class"].values())
    assert set(result["strategies"]["uniform"]["by_class"]) == {"all"}
    for key in ("lift_vs_uniform", "ratio_to_oracle", "ratio_to_rules"):
        lo, hi = result["intervals_95"][key]
        assert result[key] is None or lo is None or lo <= result[key] <= hi
    assert result["months"] == ["2025-11", "2025-12"] and len(result["by_month"]) == 2
    assert 0 <= result["repeat_share"] <= 1


def test_the_loop_ingests_each_month_s_results_before_classifying_the_next(loop):
    import duckdb

    result, work = loop
    # the last strategy's workspace holds the city's own inspections before the loop and the loop's
    con = duckdb.connect(str(work / "home" / "warehouse.duckdb"), read_only=True)
    months = {r[0] for r in con.execute("SELECT DISTINCT strftime(inspection_date, '%Y-%m') FROM rec_inspection "
                                        "WHERE plan_no LIKE '%抽%'").fetchall()}
    assert months == {"2025-11", "2025-12"}
    before = con.execute("SELECT max(inspection_date) FROM rec_inspection WHERE plan_no IS NULL OR plan_no = ''").fetchone()[0]
    assert before < dt.date(2025, 11, 1)  # the city's own inspections stop where the loop starts
    # classified's classes of the second month were stored after the first month's results came in
    runs = sorted((work / "home" / "published" / "supervision" / "classes").glob("as_of=*"))
    assert [p.name for p in runs] == ["as_of=2025-10-31", "as_of=2025-11-30"]


def test_the_backtest_command_prints_one_json_object_and_never_reuses_a_workspace(loop, city):
    result, work = loop  # stdout held exactly one JSON object (the fixture parsed it whole)
    assert {"strategies", "lift_vs_uniform", "ratio_to_oracle", "ratio_to_rules", "repeat_share"} <= set(result)
    assert {"inspections", "hits", "hit_rate", "by_class"} <= set(result["strategies"]["classified"])
    again = _backtest(city, work)
    assert again.returncode == 1 and "not empty" in again.stderr and "\n" not in again.stderr.strip()


def test_a_month_s_plan_from_the_command_line_is_stored_the_same_twice_and_its_results_ingest(loop, city, tmp_path):
    _, work = loop
    env = {**os.environ, "CHENGXIN_HOME": str(work / "home")}

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "chengxin", *args, "--json"], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    from chengxin import warehouse

    month = f"{warehouse.latest_as_of(work / 'home') + dt.timedelta(days=1):%Y-%m}"  # `next`: after the latest as-of
    first = cli("supervise", "plan", "--month", "next", "--share", "0.05", "--seed", "9", "--out", str(tmp_path / "a.csv"))
    second = cli("supervise", "plan", "--month", month, "--share", "0.05", "--seed", "9", "--out", str(tmp_path / "b.csv"))
    assert first["month"] == month and first["classes_as_of"] == "2025-11-30"  # the latest classes before the month
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert first["input_digest"] == second["input_digest"] and first["stored"] != second["stored"]  # kept, not overwritten
    stored = plans.stored(month, home=work / "home")
    assert len(stored) == 2 and stored[-1][1]["seed"] == 9
    inputs = pd.read_csv(Path(first["stored"]).with_suffix(".inputs.csv"), dtype={"subject_id": str}, keep_default_na=False)
    assert draw.digest(inputs) == first["input_digest"]  # anyone can check the published list against the digest
    again, _ = draw.draw(inputs, month, seed=9, share=0.05)  # ... and draw it again
    assert list(again["subject_id"]) == list(pd.read_csv(tmp_path / "a.csv", dtype={"subject_id": str})["subject_id"])
    done = cli("city", "inspect", "--city", str(city), "--plan", str(tmp_path / "a.csv"), "--out", str(tmp_path / "results"))
    assert done["inspections"] == first["inspections"] > 0
    loaded = cli("ingest", str(tmp_path / "results"))
    assert loaded["by_source"]["inspection"]["accepted"] == first["inspections"]
