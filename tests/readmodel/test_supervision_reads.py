"""Risk-classified supervision in the read model (issue 37): every function refuses a role without
the `supervision` right (a department's only where its department inspects: `users.may_supervise`,
the one rule), reads what `chengxin supervise` stored (classes, the month's latest plan) and the
published inspection results on their 20-working-day clock, audits each read of a class and of a
plan, and no class is copied into the published snapshot or a lender's look-up."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import duckdb
import pandas as pd
import pytest
import yaml

from chengxin import audit, catalog, config, readmodel, users, workspace
from chengxin.readmodel import supervision
from chengxin.supervision import draw
from chengxin.workdays import working_days
from conftest import SUPERVISION_MONTH

CFG = config.supervision()
CLASS_WORDS = [w for c in CFG.classes.values() for w in (c.zh, c.en)]
DAY = dt.date(2025, 3, 31)  # the snapshot's date, and `clocks.today` with CHENGXIN_TODAY=rated


@pytest.fixture(scope="module")
def home(dashboard_home, tmp_path_factory):
    """A copy of the rated city with its classes, plan and results (its audit entries and the
    plan drawn again stay there)."""
    h = tmp_path_factory.mktemp("supervision_reads") / "home"
    shutil.copytree(dashboard_home, h, ignore=shutil.ignore_patterns("desk.sqlite*"))
    return h


@pytest.fixture(scope="module")
def snap(home):
    return readmodel.current(home)


@pytest.fixture(scope="module")
def analyst(home):
    return users.role("analyst", home)


# who asks: (role, the department a user or key stands for) -> may it?
CALLERS = {("department", "市场监督管理局"): True, ("department", "生态环境局"): True, ("department", "应急管理局"): True,
           ("department", "税务局"): False, ("department", None): False, ("department", "市场监管局"): False,
           ("analyst", None): True, ("admin", None): True, ("admin", "税务局"): True, ("lender", None): False,
           ("agency", None): False, ("public", None): False, ("subject", None): False}


def _reads(snap, home) -> dict:
    """Each function of the read model's supervision room, called as a role with a department."""
    return {
        "classes_summary": lambda r, d: readmodel.classes_summary(r, department=d, home=home),
        "class_distribution": lambda r, d: readmodel.class_distribution(r, "county", department=d, home=home),
        "risk_class": lambda r, d: readmodel.risk_class(snap, _firm(home), r, department=d, user="t", home=home),
        "plan_months": lambda r, d: readmodel.plan_months(r, department=d, home=home),
        "inspection_plan": lambda r, d: readmodel.inspection_plan(r, SUPERVISION_MONTH, department=d, user="t", snap=snap,
                                                                  home=home),
        "plan_results": lambda r, d: readmodel.plan_results(snap, {"rows": pd.DataFrame(columns=supervision.PLAN_COLUMNS)},
                                                            r, department=d, home=home),
        "hit_rates": lambda r, d: readmodel.hit_rates(snap, r, department=d, home=home),
    }


def _firm(home) -> str:
    return pd.read_parquet(catalog.risk_classes_runs(home)[-1], columns=["subject_id"])["subject_id"].iloc[0]


@pytest.mark.parametrize("caller,allowed", CALLERS.items(), ids=[f"{r}-{d}" for r, d in CALLERS])
def test_only_roles_with_the_right_read_and_a_department_only_where_it_inspects(snap, home, caller, allowed):
    name, department = caller
    r = users.role(name, home)
    assert users.may_supervise(r, department, home) is allowed
    assert readmodel.may_supervise(r, department, home) is allowed
    for what, read in _reads(snap, home).items():
        if allowed:
            read(r, department)
        else:
            with pytest.raises(readmodel.NotAllowed):
                read(r, department)


def test_the_rule_reads_the_departments_rosters(home, tmp_path):
    """A department inspects when departments.yaml gives it inspectors: an office that gives its
    tax bureau a roster gives its clerks the right, nothing else changes."""
    office = tmp_path / "office"
    office.mkdir()
    (office / "departments.yaml").write_text(yaml.safe_dump(
        {"departments": {"tax": {"inspectors": ["钱一", "孙二"]}}}, allow_unicode=True), "utf-8")
    clerk = users.role("department", office)
    assert users.may_supervise(clerk, "税务局", office) and not users.may_supervise(clerk, "税务局", home)
    assert not users.may_supervise(clerk, "住房和城乡建设局", office)  # still no roster
    assert not users.may_supervise(users.role("lender", office), "税务局", office)  # a lender never
    with pytest.raises(ValueError, match="never see risk classes"):
        users.RolesConfig.model_validate({"roles": {**{k: v.model_dump(exclude={"name"}) for k, v in
                                                      users.declared_roles().roles.items()},
                                                   "public": {**users.role("public").model_dump(exclude={"name"}),
                                                              "supervision": True}}, "users": {}})
    with pytest.raises(ValueError, match="need the `supervision` right"):
        users.Role(zh="x", en="x", pages=("overview", "supervision"), rating=("tier",))


def test_a_firm_s_class_is_the_stored_one_and_each_read_is_audited(snap, home, analyst):
    classes = pd.read_parquet(catalog.risk_classes_runs(home)[-1]).set_index("subject_id")
    firm = classes[classes["class"] == "C"].index[0]
    before = len(audit.audit_log(home))
    found = readmodel.risk_class(snap, firm, analyst, user="analyst1", home=home)
    row = classes.loc[firm]
    assert found["class"] == "C" and (found["class_zh"], found["class_en"]) == (CFG.classes["C"].zh, CFG.classes["C"].en)
    assert found["as_of"] == "2025-03-31" and found["risk_score"] == pytest.approx(row["risk_score"])
    assert [x["signal"] for x in found["reasons"]] == [c for c in row["reasons"].split(";") if c]
    assert (found["reasons_zh"], found["reasons_en"]) == (row["reasons_zh"], row["reasons_en"])
    assert found["name"] == readmodel.subjects(snap).set_index("subject_id").loc[firm, "name"]
    log = audit.audit_log(home)
    mine = log[(log["user"] == "analyst1") & (log["subject_id"] == firm)]
    assert len(log) == before + 1 and len(mine) == 1  # one entry, this one
    assert mine.iloc[0][["action", "role", "purpose"]].tolist() == ["risk_class", "analyst", None]
    assert json.loads(mine.iloc[0]["detail"]) == {"as_of": "2025-03-31"}
    # the office reads it in words on the audit page
    words = readmodel.audit_entries(users.role("admin", home), "zh", home)
    assert "查看风险分类" in set(words["action"])


def test_a_person_unknown_ids_and_unclassified_firms_have_no_class(snap, home, analyst):
    person = readmodel.ratings(snap, "individual")["subject_id"].iloc[0]
    with pytest.raises(readmodel.UnknownSubject) as refused:
        readmodel.risk_class(snap, person, analyst, home=home)
    assert not isinstance(refused.value, readmodel.NotClassified)
    with pytest.raises(readmodel.InvalidSubjectId):
        readmodel.risk_class(snap, "not-a-code", analyst, home=home)
    classes = pd.read_parquet(catalog.risk_classes_runs(home)[-1], columns=["subject_id"])["subject_id"]
    registered = readmodel.subjects(snap)
    registered = registered.loc[registered["subject_type"] == "enterprise", "subject_id"]
    with pytest.raises(readmodel.NotClassified):
        readmodel.risk_class(snap, registered[~registered.isin(classes)].iloc[0], analyst, home=home)


def test_the_distribution_counts_every_classified_firm_by_county_and_industry(home, analyst):
    classes = pd.read_parquet(catalog.risk_classes_runs(home)[-1])
    summary = readmodel.classes_summary(analyst, home=home)
    assert summary["as_of"] == "2025-03-31" and summary["firms"] == len(classes)
    assert {k: v["firms"] for k, v in summary["classes"].items()} == classes["class"].value_counts().to_dict()
    assert summary["classes"]["D"]["zh"] == CFG.classes["D"].zh
    for by in ("county", "industry"):
        frame = readmodel.class_distribution(analyst, by, home=home, lang="zh")
        assert frame["firms"].sum() == len(classes)
        assert frame.groupby(by)["share"].sum().round(9).eq(1).all()
        assert frame.set_index([by, "class"])["firms"].to_dict() == classes.groupby([by, "class"]).size().to_dict()
    names = readmodel.class_distribution(analyst, "county", home=home, lang="en")
    assert set(names["label"]) == {config.city().county_name(c, "en") for c in classes["county"].unique()}


def test_the_plan_is_the_month_s_latest_with_its_published_facts(snap, home, analyst):
    plan = readmodel.inspection_plan(analyst, SUPERVISION_MONTH, user="analyst1", snap=snap, home=home)
    path = [p for p in catalog.inspection_plans(home) if p.parent.name == SUPERVISION_MONTH][-1]
    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert {k: plan[k] for k in ("plan_no", "seed", "input_digest", "live_firms", "budget", "classes_as_of")} == \
        {k: meta[k] for k in ("plan_no", "seed", "input_digest", "live_firms", "budget", "classes_as_of")}
    assert plan["input_digest"] == hashlib.sha256(path.with_suffix(".inputs.csv").read_bytes()).hexdigest()
    stored = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert plan["rows"]["inspection_no"].tolist() == stored["inspection_no"].tolist()
    assert plan["rows"]["class"].tolist() == stored["stratum"].tolist() and plan["rows"]["name"].notna().all()
    assert readmodel.plan_months(analyst, home=home) == [SUPERVISION_MONTH]
    with pytest.raises(readmodel.UnknownPlan):
        readmodel.inspection_plan(analyst, "2024-12", home=home)
    log = audit.audit_log(home)
    read = log[(log["action"] == "inspection_plan") & (log["user"] == "analyst1")]
    assert len(read) == 1 and json.loads(read.iloc[0]["detail"]) == {"month": SUPERVISION_MONTH, "plan_no": meta["plan_no"]}


@pytest.mark.parametrize("month", ["2025-3", "2025-13", "2025-00", "٢٠٢٥-03", "２０２５-03", "2025-03 ", "25-03", ""])
def test_a_month_is_yyyy_mm_in_ascii_digits(month, analyst):
    if month == "2025-03 ":
        assert readmodel.month_of(month) == "2025-03"  # surrounding blanks are forgiven
        return
    with pytest.raises(readmodel.InvalidMonth):
        readmodel.month_of(month)
    with pytest.raises(workspace.UserError):
        readmodel.inspection_plan(analyst, month)


def test_the_clock_of_a_result():
    due = dt.date(2025, 4, 1)
    assert supervision.clock(due, dt.date(2025, 3, 20), dt.date(2025, 6, 1)) == "on_time"
    assert supervision.clock(due, due, due) == "on_time"
    assert supervision.clock(due, dt.date(2025, 4, 2), dt.date(2025, 6, 1)) == "late"
    assert supervision.clock(due, None, due) == "pending"
    assert supervision.clock(due, None, dt.date(2025, 4, 2)) == "overdue"


def test_results_are_joined_to_the_plan_on_their_20_working_day_clock(snap, home, analyst):
    """Received: an inspection record with the plan's number in the published snapshot, received
    by the day shown; due: the inspection's date plus 20 working days (the inspection source's
    deadline); on the snapshot's date early ones are in and the rest pending, months later every
    one is in, on time or late."""
    first = [p for p in catalog.inspection_plans(home) if p.parent.name == SUPERVISION_MONTH][0]  # the fixture's draw
    rows, meta = supervision._read_plan(first)
    plan = {"rows": rows.assign(name=None)[supervision.PLAN_COLUMNS]}
    assert readmodel.due_days(home) == config.sources()["inspection"].publication_due_working_days == 20
    with readmodel.records_con(snap.path) as con:
        records = con.execute(f"SELECT inspection_no, result, received_date FROM {config.sources()['inspection'].table} "
                              "WHERE plan_no = ?", [meta["plan_no"]]).df().set_index("inspection_no")
    assert len(records) == len(rows)  # the city's inspectors answered every inspection
    now = readmodel.plan_results(snap, plan, analyst, home=home)
    later = readmodel.plan_results(snap, plan, analyst, home=home, today=dt.date(2025, 12, 31))
    for out, day in ((now, DAY), (later, dt.date(2025, 12, 31))):
        assert out["inspection_no"].tolist() == rows["inspection_no"].tolist()
        for r in out.itertuples():
            assert r.due_date == working_days().add(r.inspection_date, 20)[0]
            got = pd.Timestamp(records.loc[r.inspection_no, "received_date"]).date()
            assert r.received == (got <= day)
            if r.received:
                assert r.result == records.loc[r.inspection_no, "result"] and r.received_date == got
                assert r.clock == ("on_time" if got <= r.due_date else "late")
            else:
                assert pd.isna(r.result) and r.clock == ("pending" if day <= r.due_date else "overdue")
    assert set(now["clock"]) == {"on_time", "pending"} and later["received"].all()
    # an inspection nobody reported on is overdue once its deadline has passed
    missing = plan["rows"].head(1).assign(inspection_no="宝市监抽〔2025〕3号-9999")
    lost = readmodel.plan_results(snap, {"rows": missing}, analyst, home=home, today=dt.date(2025, 12, 31))
    assert lost["clock"].tolist() == ["overdue"] and not lost["received"].any()


def test_hit_rates_by_class_count_the_month_s_latest_plan_and_its_results(snap, home, analyst):
    rates = readmodel.hit_rates(snap, analyst, home=home, today=dt.date(2025, 12, 31))
    path = [p for p in catalog.inspection_plans(home) if p.parent.name == SUPERVISION_MONTH][-1]
    rows, _ = supervision._read_plan(path)
    assert rates["month"].unique().tolist() == [SUPERVISION_MONTH]
    assert rates.set_index("class")["planned"].to_dict() == rows["class"].value_counts().to_dict()
    results = readmodel.plan_results(snap, {"rows": rows.assign(name=None)[supervision.PLAN_COLUMNS]}, analyst, home=home,
                                     today=dt.date(2025, 12, 31))
    by = results.assign(found=results["result"].eq("problems_found")).groupby("class")
    assert rates.set_index("class")["received"].to_dict() == by["received"].sum().to_dict()
    assert rates.set_index("class")["problems_found"].to_dict() == by["found"].sum().to_dict()
    received = rates[rates["received"] > 0]
    assert (received["hit_rate"] == received["problems_found"] / received["received"]).all()


def test_no_class_is_in_the_snapshot_or_a_lender_s_look_up(snap, home):
    """The published snapshot (every table, the records' too) holds no class, no risk score and
    none of the classes' words; a lender's look-up of a class D firm neither."""
    for path in snap.path.rglob("*.parquet"):
        frame = pd.read_parquet(path)
        assert not {"class", "risk_class", "risk_score", "stratum"} & set(frame.columns), path.name
        text = frame.select_dtypes(include=["object", "string"]).astype(str)
        for word in CLASS_WORDS:
            assert not text.apply(lambda c: c.str.contains(word, regex=False)).any().any(), (path.name, word)
    con = duckdb.connect(str(snap.path / "records.duckdb"), read_only=True)
    try:
        columns = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()}
    finally:
        con.close()
    assert not {"class", "risk_class", "risk_score", "stratum"} & columns
    assert "supervision" not in json.dumps(snap.manifest)
    classes = pd.read_parquet(catalog.risk_classes_runs(home)[-1])
    firm = classes.loc[classes["class"] == "D", "subject_id"].iloc[0]
    seen = readmodel.lookup(snap, firm, users.role("lender", home), user="lender1", home=home)
    text = json.dumps({k: (v.to_dict("records") if isinstance(v, pd.DataFrame) else
                           {s: f.to_dict("records") for s, f in v.items()} if k == "records" else v)
                       for k, v in seen.items()}, ensure_ascii=False, default=str)
    assert not [w for w in [*CLASS_WORDS, "risk_class", "risk_score"] if w in text]


def test_a_subject_s_own_report_does_not_tell_it_who_read_its_class(snap, home):
    """The report a firm has on itself lists who looked it up (the audit log), but not the reads
    of its risk class: a class is not published, nor that it was read."""
    from chengxin.reports import Reader
    from chengxin.reports.sections import content

    classes = pd.read_parquet(catalog.risk_classes_runs(home)[-1])
    firm = classes.loc[classes["class"] == "B", "subject_id"].iloc[5]
    readmodel.risk_class(snap, firm, users.role("analyst", home), user="analyst1", home=home)
    readmodel.lookup(snap, firm, users.role("lender", home), user="lender1", home=home)
    body = content(snap, firm, "public", Reader("本企业", users.role("subject", home), firm), home=home)
    looked = next(s for s in body["sections"] if s["title"].startswith("查询记录"))
    who = [row[1] for row in looked["table"]["rows"]]
    shown = {u.username: u.shown() for u in users.roles_config(home).users.values()}
    assert shown["lender1"] in who and shown["analyst1"] not in who
    text = json.dumps(body, ensure_ascii=False, default=str)
    assert not [w for w in [*CLASS_WORDS, "risk_class", "risk_score"] if w in text]


def test_a_plan_drawn_again_is_the_one_read(snap, home, analyst):
    """Drawn again with another seed on the same input list (the same digest), the month's latest
    plan is the one every face reads, and the hit rates count it (its results not in yet)."""
    first = readmodel.inspection_plan(analyst, SUPERVISION_MONTH, snap=snap, home=home)
    again = draw.plan_month(SUPERVISION_MONTH, seed=2, budget=30, home=home)
    latest = readmodel.inspection_plan(analyst, SUPERVISION_MONTH, snap=snap, home=home)
    assert latest["seed"] == 2 and latest["input_digest"] == again["input_digest"] == first["input_digest"]
    assert set(latest["rows"]["subject_id"]) != set(first["rows"]["subject_id"])
    rates = readmodel.hit_rates(snap, analyst, home=home, today=dt.date(2025, 12, 31))
    assert rates["planned"].sum() == 30
    results = readmodel.plan_results(snap, latest, analyst, home=home)
    assert set(results["clock"]) <= {"pending", "overdue", "on_time", "late"}
