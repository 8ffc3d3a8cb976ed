"""The API's contract as a bank's integration team meets it (issue 38): the OpenAPI document names
every operation, types every answer and lists, per operation, exactly the problems it gives; a
client generated from it with a well-kept generator (openapi-python-client), installed as a
package, drives every operation against a real server with a lender's, a department's and an
admin's key, and every answer it gets is the type the document declares."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

import pandas as pd

from chengxin import catalog, identifiers, readmodel, users, warehouse
from chengxin.api import problems
from chengxin.desks import institutions
from conftest import SUPERVISION_MONTH, documented, serving

OPERATIONS = {"get_health", "ping", "get_subject", "batch_subjects", "get_explanation", "list_entries", "get_criteria",
              "get_watchlist", "edit_watchlist", "watchlist_changes", "run_check", "check_feedback", "get_report",
              "verify_report", "list_cases", "file_case", "get_case", "decide_case", "get_inspection_plan",
              "get_risk_class"}
# the one free-form member of the answers, and why: a step's record is the step's own (filed: its
# deadline; decided: the decision and the record written; rerated: the re-rating)
FREE_FORM = {("CaseEvent", "detail")}
CLIENT_SETTINGS = Path(__file__).resolve().parents[3] / "docs" / "client" / "openapi-python-client.yaml"
# the generator's own venv beside the test venv (Makefile: CLIENT_GENERATOR)
GENERATOR = Path(sys.prefix) / "client-generator" / "bin" / "openapi-python-client"
# a role of this workspace's own (users.yaml): may explain and check, but not see individuals
INSPECTOR = {"zh": "检查员", "en": "inspector", "pages": ["overview"], "rating": ["tier", "contributions", "repair"],
             "individuals": False, "api": ["subjects", "explanation", "checks"]}


@pytest.fixture(scope="module")
def contract_home(dashboard_home, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("contract") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    (home / "users.yaml").write_text(yaml.safe_dump({"roles": {"inspector": INSPECTOR}}, allow_unicode=True), "utf-8")
    return home


@pytest.fixture(scope="module")
def base(contract_home):
    with serving(contract_home, "serve", "/v1/health") as url:
        yield url


@pytest.fixture(scope="module")
def document(base) -> dict:
    return httpx.get(base + "/openapi.json").json()


def _key(home, role: str, rate: int | None = 100_000, institution: str | None = None) -> str:
    return institutions.issue(institution or f"contract {role}", role, rate, home=home)["key"]


@pytest.fixture(scope="module")
def world(contract_home) -> dict:
    """What the calls are about: a black-listed firm, a rated person, a firm nobody holds, a
    penalty record with the department that provided it, the month with an inspection plan, a
    firm with a risk class and a registered firm without one."""
    snap = readmodel.current(contract_home)
    entries = readmodel.list_entries(snap)
    black = entries[(entries["list"] == "black") & (entries["subject_type"] == "enterprise")
                    & (entries["status"] == "active")]
    firm = black["subject_id"].iloc[0]
    person = readmodel.ratings(snap, "individual")["subject_id"].iloc[0]
    with warehouse.connect(contract_home, read_only=True) as con:
        penalised, decision_no, department = con.execute(
            f"SELECT subject_id, decision_no, deciding_department FROM rec_penalty WHERE {warehouse.CURRENT} "
            "ORDER BY subject_id LIMIT 1").fetchone()
    classes = pd.read_parquet(catalog.risk_classes_runs(contract_home)[-1], columns=["subject_id"])
    registered = readmodel.subjects(snap)
    registered = registered.loc[registered["subject_type"] == "enterprise", "subject_id"]
    return {"firm": firm, "person": person, "nobody": identifiers.make_uscc("9", "1", "610300", "99999999"),
            "penalised": penalised, "record": f"penalty:{decision_no}", "department": department,
            "asked": {"purpose": "loan application 2025-118", "authorization_ref": "AUTH-10"},
            "month": SUPERVISION_MONTH, "classified": classes["subject_id"].iloc[0],
            "unclassified": registered[~registered.isin(classes["subject_id"])].iloc[0]}


# --- the document ---------------------------------------------------------------------------
def _operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_is_named_tagged_and_answers_a_declared_type(document):
    """Each operation has the name a generated client calls and one resource tag; each success
    is a named schema (the report: a PDF or HTML file); each schema of an answer declares its
    members exactly (no `additionalProperties: true`, but the one free-form member); every
    schema and every member of one says what it is."""
    named = {operation["operationId"]: (path, method, operation) for path, method, operation in _operations(document)}
    assert set(named) == OPERATIONS
    tags = {t["name"] for t in document["tags"]}
    schemas = document["components"]["schemas"]
    for name, (path, method, operation) in named.items():
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, name
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert len(success) == 1, name
        content = operation["responses"][success[0]]["content"]
        if name == "get_report":
            assert content == {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                               "text/html": {"schema": {"type": "string"}}}
        else:
            assert set(content) == {"application/json"}, name
            assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), name
    loose = set()

    def walk(schema, where):
        if isinstance(schema, dict):
            if schema.get("type") == "object" and "properties" in schema and schema.get("additionalProperties") is not False:
                loose.add(where)
            if schema.get("additionalProperties") is True or (schema.get("type") == "object" and not schema.get("properties")
                                                              and "additionalProperties" not in schema):
                loose.add(where)
            for key, value in schema.items():
                walk(value, (where[0], key) if key not in ("anyOf", "items", "additionalProperties", "properties")
                     and where[1] is None else where)
        elif isinstance(schema, list):
            for value in schema:
                walk(value, where)

    for name, schema in schemas.items():
        if name in ("Batch", "WatchlistEdit", "CheckRequest", "Feedback", "CaseFiling", "CaseDecision"):
            continue  # requests: refused when they carry a member not declared (400)
        for member, prop in schema.get("properties", {}).items():
            walk(prop, (name, member))
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            loose.add((name, None))
    assert loose == FREE_FORM
    assert not [name for name, schema in schemas.items() if not schema.get("description")]
    assert not [(name, member) for name, schema in schemas.items() for member, prop in schema.get("properties", {}).items()
                if not prop.get("description")]


def test_each_operation_declares_its_problems_by_type_and_its_key(document):
    """Each error status names the problem types it carries (`x-problems`), each a known type of
    that status, with the problem detail's schema and an example of each; no 422 (a request
    that does not validate is a 400 problem); the bearer key on every operation that takes
    one, optional where the public may call without one."""
    scheme = document["components"]["securitySchemes"]["key"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    keyless = {"get_health", "ping", "verify_report"}
    public = {"get_subject", "list_entries", "get_criteria", "get_report"}
    for path, method, operation in _operations(document):
        name = operation["operationId"]
        errors = {code: answer for code, answer in operation["responses"].items() if int(code) >= 400}
        assert "422" not in errors, name
        for code, answer in errors.items():
            types = answer["x-problems"]
            assert types, (name, code)
            for t in types:
                slug = t.removeprefix(problems.TYPE_PREFIX)
                assert problems.PROBLEMS[slug][0] == int(code), (name, slug)
            media = answer["content"][problems.MEDIA_TYPE]
            assert media["schema"] == {"$ref": "#/components/schemas/ProblemDetail"}
            assert {problems.TYPE_PREFIX + s for s in media["examples"]} == set(types)
        if name in keyless:
            assert "security" not in operation, name
        else:
            assert {"key": []} in operation["security"], name
            assert ({} in operation["security"]) == (name in public), name


# --- the generated client --------------------------------------------------------------------
@pytest.fixture(scope="module")
def client_package(base, tmp_path_factory):
    """The client openapi-python-client generates from the server's document with the settings
    docs/api.md gives (docs/client/), built and installed as a package (pip, its own build
    backend, no network) into a folder of its own."""
    if not GENERATOR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no client generator at {GENERATOR}: `make .venv/.installed-test` installs it")
        pytest.skip(f"no client generator at {GENERATOR}: `make .venv/.installed-test` installs it")
    root = tmp_path_factory.mktemp("client")
    run = dict(check=True, capture_output=True, text=True)
    generated = subprocess.run([str(GENERATOR), "generate", "--url", base + "/openapi.json",
                                "--config", str(CLIENT_SETTINGS), "--output-path", str(root / "chengxin-client"),
                                "--fail-on-warning"], **run)
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(root / "site"), str(root / "chengxin-client")], **run)
    sys.path.insert(0, str(root / "site"))
    try:
        yield importlib.import_module("chengxin_client")
    finally:
        sys.path.remove(str(root / "site"))
        for module in [m for m in sys.modules if m == "chengxin_client" or m.startswith("chengxin_client.")]:
            del sys.modules[module]


def test_a_generated_client_drives_every_operation_with_typed_answers(client_package, document, base, contract_home,
                                                                      world):
    """Every operation through the generated client: with the public's (no key), a lender's, a
    department's, an inspecting department's and an admin's key; each answer parsed as its
    declared model, and its raw JSON valid against the document (no member the document does not
    declare)."""
    cx = client_package
    api = importlib.import_module("chengxin_client.api")
    models = importlib.import_module("chengxin_client.models")
    ops = {name: importlib.import_module(f"chengxin_client.api.{tag}.{name}")
           for tag in ("subjects", "lists", "criteria", "watchlist", "checks", "reports", "cases", "supervision", "service")
           for name in [p.stem for p in (Path(api.__file__).parent / tag).glob("*.py") if p.stem != "__init__"]}
    assert set(ops) == OPERATIONS
    checked = documented(document)  # every raw answer against the document, as it arrives
    hooked = dict(raise_on_unexpected_status=True, httpx_args={"event_hooks": {"response": [checked]}})
    public = cx.Client(base_url=base, **hooked)
    lender = cx.AuthenticatedClient(base_url=base, token=_key(contract_home, "lender"), **hooked)
    department = cx.AuthenticatedClient(base_url=base, token=_key(contract_home, "department",
                                                                   institution=world["department"]), **hooked)
    admin = cx.AuthenticatedClient(base_url=base, token=_key(contract_home, "admin"), **hooked)
    inspecting = cx.AuthenticatedClient(base_url=base, token=_key(contract_home, "department", institution="市场监督管理局"),
                                        **hooked)
    called: dict[str, set[int]] = {}

    def call(name, client, model, status=200, **kwargs):
        response = ops[name].sync_detailed(client=client, **kwargs)
        assert response.status_code == status, (name, response.content[:500])
        called.setdefault(name, set()).add(status)
        assert checked.checked[-1] == name  # the hook checked this very answer against the document
        if name == "get_report":  # a file: its bytes as they came, and the headers that name it
            assert isinstance(response.parsed, cx.types.File) and response.parsed.payload.read() == response.content
            return response
        assert isinstance(response.parsed, model), (name, type(response.parsed))
        return response.parsed

    firm, person, asked = world["firm"], world["person"], world["asked"]
    health = call("get_health", public, models.Health)
    assert health.status == "ok" and health.snapshot
    assert call("ping", public, models.Pong).pong is True
    card = call("get_subject", public, models.SubjectCard, subject_id=firm)
    assert card.subject_type == models.SubjectType.ENTERPRISE and card.tier and isinstance(card.grade, cx.types.Unset)
    card = call("get_subject", lender, models.SubjectCard, subject_id=firm)
    assert isinstance(card.pd, float) and card.tier_words.measures.zh and card.lists[0].list_ == models.ListName.BLACK
    assert card.lists[0].status == models.EntryStatus.ACTIVE and card.reasons[0].text_zh
    refused = call("get_subject", lender, models.ProblemDetail, 400, subject_id=person)
    assert refused.type_ == problems.TYPE_PREFIX + "needs-purpose" and refused.detail_zh
    someone = call("get_subject", lender, models.SubjectCard, subject_id=person, **asked)
    assert someone.subject_type == models.SubjectType.INDIVIDUAL and "*" in someone.display_id  # masked for lenders
    batch = call("batch_subjects", lender, models.BatchAnswer,
                 body=models.Batch(ids=[firm, world["nobody"], "x"], **asked))
    assert [r.status for r in batch.results] == [200, 404, 400] and batch.results[2].problem == "invalid-subject-id"
    explained = call("get_explanation", lender, models.Explanation, subject_id=firm)
    assert explained.models.scorecard.contributions.additional_properties and explained.repair.repair_path is not None
    page = call("list_entries", public, models.ListPage, which=models.ListName.BLACK, limit=2)
    assert len(page.entries) == 2 and page.next_offset == 2 and page.entries[0].county_name
    criteria = call("get_criteria", public, models.Criteria, subject_type=models.SubjectType.ENTERPRISE)
    assert criteria.indicators[0].bins and criteria.public_tiers[0].measures.zh and criteria.sql
    # the watchlist: edited, read, and its feed
    edited = call("edit_watchlist", lender, models.WatchlistEdited,
                  body=models.WatchlistEdit(add=[firm, person, "nonsense"], remove=[], **asked))
    assert set(edited.added) == {firm, person} and edited.rejected[0].problem == "invalid-subject-id"
    watching = call("get_watchlist", lender, models.Watchlist)
    assert {i.subject_type for i in watching.items} == {models.SubjectType.ENTERPRISE, models.SubjectType.INDIVIDUAL}
    feed = call("watchlist_changes", lender, models.ChangeFeed)
    assert isinstance(feed.more, bool) and isinstance(feed.next_cursor, str)
    # a credit check inside a decision, and its feedback
    check = call("run_check", department, models.Check,
                 body=models.CheckRequest(subject_id=firm, action="procurement", purpose="tender 2025-7", case_ref="T-7"))
    assert check.verdict in set(models.Verdict) and check.entries and check.finding in set(models.Finding)
    applied = [m.code for m in check.measures][:1]
    taken = call("check_feedback", department, models.FeedbackTaken, check_id=check.check_id,
                 body=models.Feedback(applied=applied, outcome="bid refused"))
    assert taken.applied == applied
    # a report, as PDF and as HTML, and its verification by number and code
    pdf = call("get_report", lender, None, subject_id=firm)
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    html = call("get_report", lender, None, subject_id=firm, format_=models.ReportFormat.HTML)
    assert html.headers["content-type"].startswith("text/html") and b"<html" in html.content.lower()
    verified = call("verify_report", public, models.Verification, number=pdf.headers["x-report-number"],
                    code=pdf.headers["x-report-code"])
    assert verified.authentic is True and verified.kind == models.ReportKind.PUBLIC
    # cases: the office files, the providing department decides its record; a person's review
    filed = call("file_case", admin, models.Case, 201,
                 body=models.CaseFiling(kind=models.CaseKind.OBJECTION, subject_id=world["penalised"],
                                        record=world["record"], reason="the fine was wrong"))
    assert filed.status == models.CaseStatus.OPEN and filed.events[0].event == "filed" and filed.extended is False
    mine = call("list_cases", department, models.CasePage)
    assert [c.case_no for c in mine.cases] == [filed.case_no] and mine.total == 1
    shown = call("get_case", department, models.Case, case_no=filed.case_no)
    assert shown.provider == world["department"] and shown.days in set(models.ClockDays)
    decided = call("decide_case", department, models.DecidedCase, case_no=filed.case_no,
                   body=models.CaseDecision(decision="reject", note="the fine stands"))
    assert decided.status == models.CaseStatus.DECIDED and decided.decision == "reject"
    review = call("file_case", admin, models.Case, 201,
                  body=models.CaseFiling(kind=models.CaseKind.REVIEW, subject_id=person, reason="a person should look"))
    overridden = call("decide_case", admin, models.DecidedCase, case_no=review.case_no,
                      body=models.CaseDecision(decision="override", set_=models.CaseDecisionSet.from_dict({"grade": "BB"}),
                                               note="reviewed by hand"))
    assert overridden.rerated.current.grade_override == "BB" and overridden.rerated.cause == f"case:{review.case_no}"
    # risk-classified supervision: the month's plan and a firm's class, for an inspecting department
    plan = call("get_inspection_plan", inspecting, models.InspectionPlan, month=world["month"])
    assert plan.month == world["month"] and plan.seed == 1 and len(plan.input_digest) == 64
    assert plan.count == len(plan.inspections) and plan.strategy == models.Strategy.CLASSIFIED
    assert {d.stratum for d in plan.by_class} == set(models.Stratum) - {models.Stratum.ALL}
    first = plan.inspections[0]
    assert first.stratum in set(models.Stratum) and len(first.inspectors) == 2 and first.items[0].zh
    refused = call("get_inspection_plan", lender, models.ProblemDetail, 403, month=world["month"])
    assert refused.type_ == problems.TYPE_PREFIX + "forbidden"
    shown = call("get_risk_class", admin, models.RiskClassCard, subject_id=first.subject_id)
    assert shown.risk_class in set(models.RiskClass) and shown.words.zh and shown.summary.en and shown.signals[0].text_zh
    tax = cx.AuthenticatedClient(base_url=base, token=_key(contract_home, "department", institution="税务局"), **hooked)
    refused = call("get_risk_class", tax, models.ProblemDetail, 403, subject_id=first.subject_id)
    assert refused.type_ == problems.TYPE_PREFIX + "forbidden"  # a department that does not inspect
    assert set(called) == OPERATIONS


# --- every problem an operation declares, given ------------------------------------------------
@pytest.fixture(scope="module")
def unpublished(contract_home, tmp_path_factory):
    """The API over a workspace where nothing is published yet (its roles as the contract's), in
    process: (client, workspace)."""
    from fastapi.testclient import TestClient

    from chengxin.api import server

    empty = tmp_path_factory.mktemp("unpublished") / "home"
    empty.mkdir()
    shutil.copy(contract_home / "users.yaml", empty / "users.yaml")
    with TestClient(server.create_app(empty)) as client:
        yield client, empty


def test_each_operation_gives_every_problem_it_declares(document, base, contract_home, world, unpublished):
    """For each operation, a request that gives each problem the document declares for it (so
    the document lists none it cannot give; schemathesis checks it gives none it does not list)."""
    roles = users.roles_config(contract_home).roles
    keys = {role: _key(contract_home, role) for role in ("lender", "agency", "department", "analyst", "admin", "inspector")}
    keys["provider"] = _key(contract_home, "department", institution=world["department"])
    firm, person, asked = world["firm"], world["person"], world["asked"]
    http = httpx.Client(base_url=base, timeout=60, event_hooks={"response": [documented(document)]})

    def send(method, path, *, key=None, params=None, body=None, client=http, headers=None):
        headers = dict(headers or {}, **({"Authorization": f"Bearer {keys.get(key, key)}"} if key else {}))
        return client.request(method, path, params=params, json=body, headers=headers)

    check = send("POST", "/v1/checks", key="provider", body={"subject_id": firm, "action": "procurement",
                                                              "purpose": "tender", "case_ref": "T-1"}).json()
    report = send("GET", f"/v1/subjects/{firm}/report", key="lender")
    objection = send("POST", "/v1/cases", key="admin", body={"kind": "objection", "subject_id": world["penalised"],
                                                             "record": world["record"], "reason": "wrong"}).json()
    decided = send("POST", "/v1/cases", key="admin", body={"kind": "objection", "subject_id": firm,
                                                           "reason": "the rating is wrong"}).json()
    send("POST", f"/v1/cases/{decided['case_no']}/decision", key="admin", body={"decision": "reject", "note": "stands"})
    # each operation called well: (method, path, params, body, the role that may)
    calls = {
        "get_health": ("GET", "/v1/health", None, None, None),
        "ping": ("GET", "/v1/ping", None, None, None),
        "get_subject": ("GET", "/v1/subjects/{}", None, None, "lender", firm),
        "batch_subjects": ("POST", "/v1/subjects:batch", None, {"ids": [firm]}, "lender"),
        "get_explanation": ("GET", "/v1/subjects/{}/explanation", None, None, "lender", firm),
        "list_entries": ("GET", "/v1/lists/{}", None, None, "lender", "black"),
        "get_criteria": ("GET", "/v1/criteria/{}", None, None, "lender", "enterprise"),
        "get_watchlist": ("GET", "/v1/watchlist", None, None, "lender"),
        "edit_watchlist": ("PUT", "/v1/watchlist", None, {"add": [firm]}, "lender"),
        "watchlist_changes": ("GET", "/v1/watchlist/changes", None, None, "lender"),
        "run_check": ("POST", "/v1/checks", None, {"subject_id": firm, "action": "procurement", "purpose": "tender",
                                                   "case_ref": "T-2"}, "provider"),
        "check_feedback": ("POST", "/v1/checks/{}/feedback", None, {"applied": [], "outcome": "granted"}, "provider",
                           check["check_id"]),
        "get_report": ("GET", "/v1/subjects/{}/report", None, None, "lender", firm),
        "verify_report": ("GET", "/v1/reports/{}/verify", {"code": report.headers["x-report-code"]}, None, None,
                          report.headers["x-report-number"]),
        "list_cases": ("GET", "/v1/cases", None, None, "admin"),
        "file_case": ("POST", "/v1/cases", None, {"kind": "objection", "subject_id": firm, "reason": "wrong"}, "admin"),
        "get_case": ("GET", "/v1/cases/{}", None, None, "admin", objection["case_no"]),
        "decide_case": ("POST", "/v1/cases/{}/decision", None, {"decision": "reject", "note": "stands"}, "provider",
                        objection["case_no"]),
        "get_inspection_plan": ("GET", "/v1/supervision/plan", {"month": world["month"]}, None, "analyst"),
        "get_risk_class": ("GET", "/v1/supervision/classes/{}", None, None, "analyst", world["classified"]),
    }

    def well(name, *, key="as declared", path_value=None, **changes):
        method, path, params, body, role, *value = calls[name]
        args = {"key": role if key == "as declared" else key, "params": params, "body": body, **changes}
        return send(method, path.format(*(value if path_value is None else [path_value])), **args)

    # the scope each operation needs (roles.yaml `api`)
    scoped = {"subjects": {"get_subject", "get_report"}, "batch": {"batch_subjects"}, "explanation": {"get_explanation"},
              "lists": {"list_entries"}, "criteria": {"get_criteria"},
              "watchlist": {"get_watchlist", "edit_watchlist", "watchlist_changes"}, "checks": {"run_check", "check_feedback"},
              "cases": {"list_cases", "file_case", "get_case", "decide_case"},
              "supervision": {"get_inspection_plan", "get_risk_class"}}

    def lacking(name):  # a key of a role without the operation's scope
        scope = next(s for s in users.API_SCOPES if name in scoped[s])
        role = next(r for r, spec in roles.items() if r != users.PUBLIC and spec.api and scope not in spec.api)
        return keys.get(role) or _key(contract_home, role)

    nothing_published, empty = unpublished

    def unpublished(name):
        method, path, params, body, role, *value = calls[name]
        key = _key(empty, role if role != "provider" else "department") if role else None
        return send(method, path.format(*value), key=key, params=params, body=body, client=nothing_published)

    def over_quota(name):  # the key's one call a minute spent on a request that changes nothing (a 400)
        method, path, params, body, role, *value = calls[name]
        slow = _key(contract_home, "department" if role == "provider" else role, rate=1,
                    institution=world["department"] if role == "provider" else None)
        answers = [send(method, path.format(*value), key=slow, params=params, body=None if body is None else {})
                   for _ in range(3)]
        return next((a for a in answers if a.status_code == 429), answers[-1])

    generic = {
        "unauthorized": lambda name: well(name, key="cx_no_such_key"),
        "forbidden": lambda name: well(name, key=lacking(name)),
        "quota-exceeded": over_quota,
        "no-snapshot": unpublished,
        "body-too-large": lambda name: well(name, body={"padding": "x" * 2_200_000}),
        "not-found": lambda name: well(name, path_value=""),
    }
    person_check = {"subject_id": person, "action": "hiring", "purpose": "hiring", "case_ref": "H-1"}
    specific = {
        ("get_subject", "invalid-request"): lambda: well("get_subject", params={"as_of": "yesterday"}),
        ("get_subject", "invalid-subject-id"): lambda: well("get_subject", path_value="not-a-code"),
        ("get_subject", "needs-purpose"): lambda: well("get_subject", path_value=person),
        ("get_subject", "individuals-not-allowed"): lambda: well("get_subject", path_value=person, key="agency",
                                                                 params=asked),
        ("get_subject", "unknown-subject"): lambda: well("get_subject", path_value=world["nobody"]),
        ("get_subject", "not-rated-then"): lambda: well("get_subject", params={"as_of": "2000-01-01"}),
        ("batch_subjects", "invalid-request"): lambda: well("batch_subjects", body={"ids": []}),
        ("batch_subjects", "too-many-ids"): lambda: well("batch_subjects", body={"ids": [firm] * 10_001}),
        ("get_explanation", "invalid-request"): lambda: well("get_explanation", params={"purpose": "x" * 501}),
        ("get_explanation", "invalid-subject-id"): lambda: well("get_explanation", path_value="not-a-code"),
        ("get_explanation", "needs-purpose"): lambda: well("get_explanation", path_value=person),
        ("get_explanation", "individuals-not-allowed"): lambda: well("get_explanation", path_value=person,
                                                                     key="inspector", params=asked),
        ("get_explanation", "unknown-subject"): lambda: well("get_explanation", path_value=world["nobody"]),
        ("list_entries", "invalid-request"): lambda: well("list_entries", params={"county": "999999"}),
        ("get_criteria", "invalid-request"): lambda: well("get_criteria", path_value="martians"),
        ("get_criteria", "unknown-criteria"): lambda: well("get_criteria", params={"version": "no-such"}),
        ("edit_watchlist", "invalid-request"): lambda: well("edit_watchlist", body={"add": [firm], "colour": "red"}),
        ("edit_watchlist", "too-many-ids"): lambda: well("edit_watchlist", body={"add": [firm] * 10_001}),
        ("watchlist_changes", "invalid-request"): lambda: well("watchlist_changes", params={"cursor": "abc"}),
        ("run_check", "invalid-request"): lambda: well("run_check", body={"subject_id": firm, "action": "procurement"}),
        ("run_check", "invalid-subject-id"): lambda: well("run_check", body={**calls["run_check"][3], "subject_id": "x"}),
        ("run_check", "unknown-action"): lambda: well("run_check", body={**calls["run_check"][3], "action": "space travel"}),
        ("run_check", "individuals-not-allowed"): lambda: well("run_check", key="inspector", body=person_check),
        ("run_check", "unknown-subject"): lambda: well("run_check", body={**calls["run_check"][3],
                                                                           "subject_id": world["nobody"]}),
        ("check_feedback", "invalid-request"): lambda: well("check_feedback", body={"applied": []}),
        ("check_feedback", "invalid-feedback"): lambda: well("check_feedback", body={"applied": ["AWARDS_FIRST"],
                                                                                      "outcome": "x"}),
        ("check_feedback", "unknown-check"): lambda: well("check_feedback", path_value="chk_0000000000000000"),
        ("get_report", "invalid-request"): lambda: well("get_report", params={"kind": "novel"}),
        ("get_report", "invalid-subject-id"): lambda: well("get_report", path_value="not-a-code"),
        ("get_report", "needs-purpose"): lambda: well("get_report", path_value=person),
        ("get_report", "report-not-allowed"): lambda: well("get_report", key="department", params={"kind": "lender"}),
        ("get_report", "unknown-subject"): lambda: well("get_report", path_value=world["nobody"]),
        ("verify_report", "invalid-request"): lambda: well("verify_report", params={}),
        ("verify_report", "unknown-report"): lambda: well("verify_report", params={"code": "WRONG"}),
        ("list_cases", "invalid-request"): lambda: well("list_cases", params={"status": "pending"}),
        ("file_case", "invalid-request"): lambda: well("file_case", body={"kind": "complaint", "subject_id": firm}),
        ("file_case", "invalid-case"): lambda: well("file_case", body={"kind": "review", "subject_id": firm}),
        ("file_case", "case-forbidden"): lambda: well("file_case", key="department"),
        ("file_case", "case-conflict"): lambda: well("file_case", body={"kind": "objection", "subject_id": world["penalised"],
                                                                         "record": world["record"]}),
        ("get_case", "invalid-request"): lambda: well("get_case", path_value="first"),
        ("get_case", "unknown-case"): lambda: well("get_case", path_value="987654321"),
        ("decide_case", "invalid-request"): lambda: well("decide_case", body={"decision": "reject"}),
        ("decide_case", "invalid-case"): lambda: well("decide_case", body={"decision": "shrug", "note": "x"}),
        ("decide_case", "case-forbidden"): lambda: well("decide_case", key="analyst"),
        ("decide_case", "case-conflict"): lambda: well("decide_case", key="admin", path_value=decided["case_no"]),
        ("decide_case", "unknown-case"): lambda: well("decide_case", path_value="987654321"),
        ("get_inspection_plan", "invalid-request"): lambda: well("get_inspection_plan", params={"month": "2025-13"}),
        ("get_inspection_plan", "unknown-plan"): lambda: well("get_inspection_plan", params={"month": "1999-01"}),
        ("get_risk_class", "invalid-request"): lambda: well("get_risk_class", path_value="9" * 100),
        ("get_risk_class", "invalid-subject-id"): lambda: well("get_risk_class", path_value="not-a-code"),
        ("get_risk_class", "unknown-subject"): lambda: well("get_risk_class", path_value=world["nobody"]),
        ("get_risk_class", "not-classified"): lambda: well("get_risk_class", path_value=world["unclassified"]),
    }
    declared = {(o["operationId"], t.removeprefix(problems.TYPE_PREFIX))
                for _, _, o in _operations(document) for code, answer in o["responses"].items() if int(code) >= 400
                for t in answer["x-problems"]}
    assert {pair for pair in specific} <= declared  # no provocation of a problem the document does not declare
    wrong = {}
    for name, slug in sorted(declared):
        if (name, slug) in specific:
            answer = specific[(name, slug)]()
        elif slug in generic:
            answer = generic[slug](name)
        else:
            wrong[(name, slug)] = "no request gives it"
            continue
        body = answer.json() if answer.headers.get("content-type", "").startswith(problems.MEDIA_TYPE) else {}
        if answer.status_code != problems.PROBLEMS[slug][0] or body.get("type") != problems.TYPE_PREFIX + slug:
            wrong[(name, slug)] = f"{answer.status_code} {body.get('type') or answer.text[:200]}"
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
