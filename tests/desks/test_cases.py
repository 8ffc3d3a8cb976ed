"""The subject's rights, end to end on a small rated city: objections, repair applications and
reviews filed, flagged, decided by whom configuration says, written as new record versions,
re-rated at once and published to every face; and bad input refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from chengxin import catalog, readmodel, state, users
from chengxin.desks import cases
from chengxin.flows import rerate
from chengxin.features import engine
from chengxin.readmodel.subject import subject_cards
from chengxin.workspace import UserError

AS_OF = dt.date(2025, 3, 31)  # conftest.DASHBOARD_DAY


@pytest.fixture(scope="module")
def case_home(dashboard_home, tmp_path_factory):
    """A copy of the rated city with its own users: a department user for every department that
    decided a penalty, the office admin, a lender and a firm's own account."""
    home = tmp_path_factory.mktemp("cases") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    with duckdb.connect(str(catalog.warehouse(home)), read_only=True) as con:
        departments = [d for (d,) in con.execute("SELECT DISTINCT deciding_department FROM rec_penalty ORDER BY 1").fetchall()]
    pw = users.hash_password("x")
    people = {"admin1": {"role": "admin", "password_bcrypt": pw}, "lender1": {"role": "lender", "password_bcrypt": pw},
              "firm1": {"role": "subject", "subject": "PLACEHOLDER", "password_bcrypt": pw}}
    for k, d in enumerate(departments):
        people[f"dept{k}"] = {"role": "department", "department": d, "password_bcrypt": pw}
    (home / "users.yaml").write_text(yaml.safe_dump({"users": people}, allow_unicode=True), "utf-8")
    before = os.environ.get("CHENGXIN_HOME")
    os.environ["CHENGXIN_HOME"] = str(home)
    yield home, {d: f"dept{k}" for k, d in enumerate(departments)}
    if before is None:
        os.environ.pop("CHENGXIN_HOME", None)
    else:
        os.environ["CHENGXIN_HOME"] = before


def _lender_card(home, sid, as_of=None):
    return subject_cards(readmodel.current(home), [sid], users.role("lender", home), as_of=as_of, home=home)[0]


def _case_counts(home):
    with state.connect(home) as con:
        return (con.scalar(sa.select(sa.func.count()).select_from(state.CASES)),
                con.scalar(sa.select(sa.func.count()).select_from(state.CASE_EVENTS)))


def test_an_objection_deleted_by_the_providing_department_ends_the_black_list_entry_everywhere(case_home):
    home, deciders = case_home
    snap = readmodel.current(home)
    entries = pd.read_parquet(snap.path / "lists.parquet")
    listed = entries[(entries["rule"] == "serious_penalty") & (entries["status"] == "active") & (entries["records"] == 1)]
    assert len(listed), "the fixture city has a firm black-listed by one serious penalty"
    firm, decision_no = listed.iloc[0]["subject_id"], listed.iloc[0]["reference"]
    record = f"penalty:{decision_no}"
    before = _lender_card(home, firm)
    assert before["under_objection"] == []
    plain_before = engine.compute(AS_OF, "enterprise", home=home).set_index("subject_id").loc[firm]

    case = cases.file("objection", firm, record=record, reason="the penalty was revoked on appeal", home=home)
    assert case["status"] == "open" and case["record"] == record and case["days_left"] == 5
    flagged = _lender_card(home, firm)["under_objection"]  # at once, before any re-publication
    assert [(f["case"], f["record"], f["text_zh"]) for f in flagged] == [(case["case_no"], record, "异议处理中")]

    provider = case["provider"]
    result = rerate.decide(case["case_no"], "delete", by=deciders[provider], note="revoked by administrative review", home=home)
    assert result["status"] == "decided" and result["decided_for"] == provider
    rerated = result["rerated"]
    assert rerated["cause"] == f"case:{case['case_no']}"

    # the black list entry ends, the flag goes, and the card answers the new rating
    now = readmodel.current(home)
    assert now.id == rerated["snapshot"] != snap.id
    entries = pd.read_parquet(now.path / "lists.parquet")
    assert not ((entries["subject_id"] == firm) & (entries["rule"] == "serious_penalty") & (entries["status"] == "active")).any()
    after = _lender_card(home, firm)
    assert after["under_objection"] == [] and after["restated"]["cause"] == f"case:{case['case_no']}"
    stored = pd.read_parquet(catalog.latest_ratings_run("enterprise", home)).set_index("subject_id").loc[firm]
    assert (after["score"], after["grade"], after["tier"]) == (stored["score"], stored["grade"], stored["tier"])
    assert not any(e["rule"] == "serious_penalty" and e["status"] == "active" for e in after["lists"])
    # the public list carries the new version
    public = pd.read_csv(catalog.public_list("enterprise", AS_OF, home))
    assert public.set_index("subject_id").loc[firm, "tier"] == stored["tier"]
    # the watchlists' feed: flagged, decided, and the list entry that ended
    with state.connect(home) as con:
        kinds = [k for (k,) in con.execute(sa.select(state.SUBJECT_CHANGES.c.kind).where(
            state.SUBJECT_CHANGES.c.subject_id == firm).order_by(state.SUBJECT_CHANGES.c.seq))]
    assert kinds[:2] == ["under_objection", "objection_decided"] and "list_entry_ended" in kinds
    # the record store keeps both versions; the new one is a tombstone whose provenance is the case
    with duckdb.connect(str(catalog.warehouse(home)), read_only=True) as con:
        versions = con.execute("SELECT _status, _case, f.path FROM rec_penalty p JOIN ingest_files f ON f.file_id = p._file_id "
                               "WHERE decision_no = ? ORDER BY _seq", [decision_no]).fetchall()
    assert versions == [(None, None, versions[0][2]), ("deleted", case["case_no"], f"case:{case['case_no']}")]
    # the history shows both versions; an earlier day still answers the old rating
    history = pd.read_parquet(now.path / "history.parquet")
    mine = history[(history["subject_id"] == firm) & (history["as_of"] == pd.Timestamp(AS_OF))]
    assert mine["cause"].tolist()[-1] == f"case:{case['case_no']}" and len(mine) == 2
    old = _lender_card(home, firm, as_of=dt.date.today() - dt.timedelta(days=1))
    assert old["score"] == before["score"] and "restated" not in old
    # point-in-time indicators of the earlier date are unchanged; restated ones drop the penalty
    plain_after = engine.compute(AS_OF, "enterprise", home=home).set_index("subject_id").loc[firm]
    pd.testing.assert_series_equal(plain_before, plain_after)
    restated = engine.compute(AS_OF, "enterprise", home=home, known=dt.date.today()).set_index("subject_id").loc[firm]
    assert restated["penalties_serious_public"] == plain_before["penalties_serious_public"] - 1
    # the case keeps who decided for whom, when and why
    shown = cases.show(case["case_no"], home=home)
    assert [e["event"] for e in shown["events"]] == ["filed", "decided", "rerated"]
    assert cases.upheld_by_department(home)[0] | {} == {"provider": provider, "decided": 1, "upheld": 1, "upheld_share": 1.0}


def _serious_penalty(home, exclude=()):
    with duckdb.connect(str(catalog.warehouse(home)), read_only=True) as con:
        rows = con.execute("SELECT subject_id, decision_no, decision_date, deciding_department FROM rec_penalty "
                           "WHERE severity = 'serious' AND NOT coalesce(repaired, false) AND _superseded_on IS NULL "
                           "AND _status IS NULL AND decision_date BETWEEN DATE '2024-06-01' AND ? ORDER BY subject_id",
                           [AS_OF]).fetchall()
    return next(r for r in rows if r[0] not in exclude)


def test_a_firm_objects_to_an_inspection_result_and_the_inspecting_department_decides(case_home):
    """Issue 37: an inspection result is a record like any other: the firm objects, the department
    that inspected decides (cases.yaml `provider_columns`), the deleted result stops counting."""
    home, deciders = case_home
    with duckdb.connect(str(catalog.warehouse(home)), read_only=True) as con:
        row = con.execute("""SELECT subject_id, inspection_no, department FROM rec_inspection
                             WHERE _superseded_on IS NULL AND _status IS NULL AND result = 'problems_found'
                               AND inspection_date > ? AND received_date <= ? ORDER BY inspection_no LIMIT 1""",
                          [AS_OF - dt.timedelta(days=300), AS_OF]).fetchone()
    assert row, "the fixture city's own inspections found problems"
    firm, number, department = row
    before = engine.compute(AS_OF, "enterprise", home=home, known=dt.date.today()).set_index("subject_id").loc[firm]
    case = cases.file("objection", firm, record=f"inspection:{number}", reason="整改已完成，检查结论有误", home=home)
    assert case["provider"] == department and case["record"] == f"inspection:{number}"
    assert [f["record"] for f in _lender_card(home, firm)["under_objection"]] == [f"inspection:{number}"]
    other = next(u for d, u in deciders.items() if d != department)
    with pytest.raises(UserError):  # another department may not decide on this department's record
        rerate.decide(case["case_no"], "delete", by=other, note="无权", home=home)
    rerate.decide(case["case_no"], "delete", by=deciders[department], note="复核后撤销检查结论", home=home)
    after = engine.compute(AS_OF, "enterprise", home=home, known=dt.date.today()).set_index("subject_id").loc[firm]
    assert after["inspection_problems_24m"] == before["inspection_problems_24m"] - 1


def test_a_repair_filed_too_early_gets_its_date_and_once_approved_the_penalty_stops_counting(case_home):
    home, deciders = case_home
    firm, decision_no, decided, department = _serious_penalty(home)
    record = f"penalty:{decision_no}"
    early = cases.file("repair", firm, record=record, commitment="承诺守法经营", filed_on=decided + dt.timedelta(days=31),
                       home=home)
    eligible_from = (pd.Timestamp(decided) + pd.DateOffset(months=12)).date()  # serious: a 12-month minimum period
    assert not early["eligible"] and early["eligible_from"] == str(eligible_from)
    assert early["eligibility"]["not_yet"] == ["minimum_period_not_passed"]
    with pytest.raises(UserError, match=f"eligible from {eligible_from}"):
        cases.decide(early["case_no"], "approve", by=deciders[department], note="ok", home=home)
    cases.decide(early["case_no"], "reject", by=deciders[department], note="minimum period not passed", home=home)
    uncommitted = cases.file("repair", firm, record=record, filed_on=eligible_from, home=home)
    assert not uncommitted["eligible"] and uncommitted["eligibility"]["not_yet"] == ["no_commitment"]
    cases.decide(uncommitted["case_no"], "reject", by=deciders[department], note="no commitment", home=home)

    counted = engine.compute(AS_OF, "enterprise", home=home, known=dt.date.today()).set_index("subject_id").loc[firm]
    case = cases.file("repair", firm, record=record, commitment="承诺守法经营", filed_on=eligible_from, home=home)
    assert case["eligible"] and case["due_on"] > case["filed_on"]
    result = rerate.decide(case["case_no"], "approve", by="admin1", note="corrected and committed", home=home)
    assert result["decided_for"] == department and result["changes"]["record"]["values"]["repaired"] is True
    now = engine.compute(AS_OF, "enterprise", home=home, known=dt.date.today()).set_index("subject_id").loc[firm]
    assert now["penalties_serious_public"] == counted["penalties_serious_public"] - 1
    entries = pd.read_parquet(readmodel.current(home).path / "lists.parquet")
    mine = entries[(entries["subject_id"] == firm) & (entries["rule"] == "serious_penalty")]
    assert not (mine["status"] == "active").any() or mine["records"].iloc[0] >= 1


def test_a_review_override_is_kept_beside_the_models_grade(case_home):
    home, _ = case_home
    rated = pd.read_parquet(catalog.latest_ratings_run("individual", home))
    person = rated.iloc[0]["subject_id"]
    case = cases.file("review", person, reason="PIPL Art 24: I ask for a human review", home=home)
    assert case["days"] == "calendar" and case["due_on"] == str(dt.date.today() + dt.timedelta(days=15))
    with pytest.raises(UserError, match="grade=G"):
        cases.decide(case["case_no"], "override", by="admin1", note="x", sets=["grade=Z"], home=home)
    result = rerate.decide(case["case_no"], "override", by="admin1", note="income records were late", sets=["grade=BBB"],
                          home=home)
    assert result["rerated"]["current"]["grade_override"] == "BBB"
    card = subject_cards(readmodel.current(home), [person], users.role("admin", home), purpose="review",
                         authorization_ref="case", home=home)[0]
    assert card["grade_override"]["grade"] == "BBB" and card["grade_override"]["reason"] == "income records were late"
    assert card["grade"] == card["grade_override"]["model_grade"]  # the model's grade stays, shown as such


def test_bad_input_is_one_clear_line_and_changes_nothing(case_home):
    home, deciders = case_home
    firm, decision_no, _, department = _serious_penalty(home, exclude=())
    counts = _case_counts(home)
    for call, message in [
        (lambda: cases.file("objection", firm, record="penalty:NO-SUCH-DECISION", home=home), "no record penalty:NO-SUCH"),
        (lambda: cases.file("objection", firm, record="nosource:1", home=home), "SOURCE:NATURAL_KEY"),
        (lambda: cases.file("appeal", firm, home=home), "--kind must be one of"),
        (lambda: cases.file("review", firm, home=home), "individual's right"),
        (lambda: cases.file("objection", "12345", home=home), "--subject"),
        (lambda: cases.file("objection", firm, by="lender1", home=home), "may not file"),
    ]:
        with pytest.raises(UserError, match=message) as err:
            call()
        assert "\n" not in str(err.value)
    assert _case_counts(home) == counts
    case = cases.file("objection", firm, record=f"penalty:{decision_no}", reason="wrong amount", home=home)
    with pytest.raises(UserError, match="already has an open case"):
        cases.file("objection", firm, record=f"penalty:{decision_no}", home=home)
    other = next(d for d in deciders if d != department)
    counts = _case_counts(home)
    for who in (deciders[other], "lender1"):  # a case they may not see is no case to them (as a GET would say)
        with pytest.raises(cases.UnknownCase, match="no case"):
            cases.decide(case["case_no"], "reject", by=who, note="no", home=home)
    with pytest.raises(UserError, match="decided as one of"):
        cases.decide(case["case_no"], "approve", by=deciders[department], note="no", home=home)
    with pytest.raises(UserError, match="not a float"):
        cases.decide(case["case_no"], "correct", by=deciders[department], note="x", sets=["fine_amount=lots"], home=home)
    assert _case_counts(home) == counts
    cases.decide(case["case_no"], "correct", by=deciders[department], note="the fine was 5000", sets=["fine_amount=5000"],
                 home=home)
    with pytest.raises(UserError, match="is closed"):
        cases.decide(case["case_no"], "reject", by=deciders[department], note="again", home=home)
    with duckdb.connect(str(catalog.warehouse(home)), read_only=True) as con:
        amounts = con.execute("SELECT fine_amount, _case FROM rec_penalty WHERE decision_no = ? AND _status IS NULL "
                              "ORDER BY _seq", [decision_no]).fetchall()
    assert amounts[-1] == (5000.0, case["case_no"])


def test_the_cli_files_lists_and_shows_cases_as_json(case_home):
    from typer.testing import CliRunner

    from chengxin.cli import app

    home, _ = case_home
    firm = _serious_penalty(home)[0]
    runner = CliRunner()
    filed = runner.invoke(app, ["cases", "file", "--kind", "objection", "--subject", firm, "--reason", "rating", "--json"])
    assert filed.exit_code == 0, filed.output
    number = json.loads(filed.stdout)["case_no"]
    listed = json.loads(runner.invoke(app, ["cases", "list", "--status", "open", "--subject", firm, "--json"]).stdout)
    assert number in [c["case_no"] for c in listed["cases"]] and "upheld_by_department" in listed
    assert json.loads(runner.invoke(app, ["cases", "list", "--overdue", "--json"]).stdout)["cases"] == []
    shown = runner.invoke(app, ["cases", "show", str(number)])
    assert shown.exit_code == 0 and f"case {number}" in shown.stdout
    bad = runner.invoke(app, ["cases", "decide", str(number), "--decision", "reject", "--by", "lender1", "--note", "x"])
    assert isinstance(bad.exception, UserError) and "no case" in str(bad.exception)  # main() prints it as one line
