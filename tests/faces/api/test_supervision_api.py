"""Risk-classified supervision in the API (issue 37): the month's inspection plan and a firm's risk
class, answered only to keys whose role has the `supervision` right (a department's key only where
its department inspects), audited, and a class never reaching the public, lenders, agencies, the
lists or a credit report. A real server over the rated city, every answer checked against the
server's OpenAPI document (`documented`)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pandas as pd
import pytest

from chengxin import audit, catalog, config, identifiers, readmodel, workspace
from chengxin.api.problems import MEDIA_TYPE, TYPE_PREFIX
from chengxin.desks import institutions
from conftest import SUPERVISION_MONTH, documented, serving

CFG = config.supervision()
CLASS_WORDS = [w for c in CFG.classes.values() for w in (c.zh, c.en)]
LEAKS = [*CLASS_WORDS, "risk_class", "risk_score"]
# who calls, as (role, institution): the roles with the right, and those without it
ALLOWED = {"inspecting": ("department", "市场监督管理局"), "analyst": ("analyst", "信用办风险处"),
           "admin": ("admin", "信用办")}
REFUSED = {"lender": ("lender", "示范银行"), "agency": ("agency", "示范征信公司"), "tax": ("department", "税务局"),
           "other": ("department", "某区街道办事处")}


@pytest.fixture(scope="module")
def api(api_home):
    with serving(api_home, "serve", "/v1/health") as base:
        document = httpx.get(base + "/openapi.json").json()
        with httpx.Client(base_url=base, timeout=60, event_hooks={"response": [documented(document)]}) as client:
            yield client


@pytest.fixture(scope="module")
def keys(api_home) -> dict[str, dict]:
    return {who: institutions.issue(institution, role, 100_000, home=api_home)
            for who, (role, institution) in {**ALLOWED, **REFUSED}.items()}


def _auth(keys, who) -> dict:
    return {"Authorization": f"Bearer {keys[who]['key']}"} if who != "public" else {}


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert body["type"] == TYPE_PREFIX + slug and body["detail"] and body["detail_zh"]
    return body


@pytest.fixture(scope="module")
def stored(api_home) -> dict:
    """What `chengxin supervise` stored: the month's plan (rows, facts, its input list's file) and
    the latest classes."""
    path = [p for p in catalog.inspection_plans(api_home) if p.parent.name == SUPERVISION_MONTH][-1]
    classes = pd.read_parquet(catalog.risk_classes_runs(api_home)[-1])
    return {"plan": pd.read_csv(path, dtype=str, keep_default_na=False), "path": path,
            "meta": json.loads(path.with_suffix(".json").read_text("utf-8")),
            "classes": classes.set_index("subject_id"), "before": pd.read_parquet(catalog.risk_classes_runs(api_home)[0])}


def _audited(home, action: str, user: str) -> pd.DataFrame:
    log = audit.audit_log(home)
    return log[(log["action"] == action) & (log["user"] == user)]


def test_only_the_roles_with_the_right_get_a_plan_or_a_class(api, api_home, keys, stored):
    """An inspecting department's, an analyst's and an admin's key get both answers; a lender's,
    an agency's, a tax bureau's and any other department's key get 403, the public 401, and a
    subject's own account can have no key at all."""
    firm = stored["plan"]["subject_id"].iloc[0]
    for who in [*ALLOWED, *REFUSED, "public"]:
        plan = api.get("/v1/supervision/plan", params={"month": SUPERVISION_MONTH}, headers=_auth(keys, who))
        shown = api.get(f"/v1/supervision/classes/{firm}", headers=_auth(keys, who))
        if who in ALLOWED:
            assert plan.status_code == 200 and shown.status_code == 200, (who, plan.text, shown.text)
        elif who == "public":
            _problem(plan, 401, "unauthorized")
            _problem(shown, 401, "unauthorized")
        else:
            _problem(plan, 403, "forbidden")
            _problem(shown, 403, "forbidden")
    with pytest.raises(workspace.UserError, match="may call nothing"):
        institutions.issue("本企业", "subject", home=api_home)


def test_the_plan_is_the_stored_draw_with_its_seed_digest_classes_and_inspectors(api, keys, stored):
    """The seed and the input list's digest are published with the plan (the digest is the
    SHA-256 of the stored input list, so anyone can check it); the inspections are the stored
    ones, each firm with the class it had when the plan was drawn, two inspectors of the roster
    and the department's items in words."""
    body = api.get("/v1/supervision/plan", params={"month": SUPERVISION_MONTH}, headers=_auth(keys, "inspecting")).json()
    meta, plan = stored["meta"], stored["plan"]
    assert body["seed"] == meta["seed"] == 1 and body["plan_no"] == meta["plan_no"] and body["budget"] == 30
    assert body["input_digest"] == meta["input_digest"]
    assert body["input_digest"] == hashlib.sha256(stored["path"].with_suffix(".inputs.csv").read_bytes()).hexdigest()
    assert body["classes_as_of"] == "2025-02-28" and body["department"] == "市场监督管理局"
    assert body["count"] == len(body["inspections"]) == len(plan) == 30
    assert {d["stratum"]: d["drawn"] for d in body["by_class"]} == {k: v["drawn"] for k, v in meta["by_stratum"].items()}
    before = stored["before"].set_index("subject_id")["class"]
    roster = set(config.departments().departments["market_regulation"].inspectors)
    rows = plan.set_index("inspection_no")
    for item in body["inspections"]:
        row = rows.loc[item["inspection_no"]]
        assert item["subject_id"] == row["subject_id"] and item["inspection_date"] == row["inspection_date"]
        assert item["stratum"] == row["stratum"] == before[item["subject_id"]]
        assert len(item["inspectors"]) == 2 and set(item["inspectors"]) <= roster
        assert [i["code"] for i in item["items"]] == row["items"].split(";")
        assert all(i["zh"] == CFG.violations[i["code"]].zh for i in item["items"])
        assert item["name"]  # the firm by name, from the published registry
    assert [i["inspection_date"] for i in body["inspections"]] == sorted(i["inspection_date"] for i in body["inspections"])


def test_a_firm_s_class_is_its_latest_with_reasons_in_both_languages(api, keys, stored):
    classes = stored["classes"]
    firm = classes[classes["class"] == "D"].index[0]
    body = api.get(f"/v1/supervision/classes/{firm}", headers=_auth(keys, "analyst")).json()
    row = classes.loc[firm]
    assert body["risk_class"] == "D" and body["words"] == {"zh": CFG.classes["D"].zh, "en": CFG.classes["D"].en}
    assert body["as_of"] == stored_run(stored) == "2025-03-31"
    assert body["risk_score"] == pytest.approx(row["risk_score"])
    assert body["summary"] == {"zh": row["reasons_zh"], "en": row["reasons_en"]}
    assert [r["signal"] for r in body["reasons"]] == row["reasons"].split(";")
    assert [r["text_zh"] for r in body["reasons"]] == [CFG.signals[s].zh for s in row["reasons"].split(";")]
    assert {s["signal"]: s["value"] for s in body["signals"]} == pytest.approx({s: row[s] for s in CFG.signals})
    assert {s["signal"]: s["weight"] for s in body["signals"]} == {s: v.weight for s, v in CFG.signals.items()}
    assert body["county_name"] == config.city().county_name(row["county"])


def stored_run(stored) -> str:
    return str(stored["classes"]["as_of"].iloc[0])[:10]


def test_each_read_is_audited_and_a_refusal_is_not(api, api_home, keys, stored):
    firm = stored["classes"].query("`class` == 'B'").index[3]  # a firm no other test looks up
    analyst, lender = f"api:{keys['analyst']['key_id']}", f"api:{keys['lender']['key_id']}"
    before = _audited(api_home, "risk_class", analyst)
    assert (before["subject_id"] == firm).sum() == 0
    assert api.get(f"/v1/supervision/classes/{firm}", headers=_auth(keys, "analyst")).status_code == 200
    entries = _audited(api_home, "risk_class", analyst)
    assert len(entries) == len(before) + 1
    entry = entries[entries["subject_id"] == firm].iloc[0]
    assert entry["role"] == "analyst" and json.loads(entry["detail"]) == {"as_of": stored_run(stored)}
    plans = len(_audited(api_home, "inspection_plan", analyst))
    assert api.get("/v1/supervision/plan", params={"month": SUPERVISION_MONTH}, headers=_auth(keys, "analyst")).status_code == 200
    read = _audited(api_home, "inspection_plan", analyst)
    assert len(read) == plans + 1 and read["subject_id"].isna().all()
    assert {json.loads(d)["month"] for d in read["detail"]} == {SUPERVISION_MONTH}
    assert {json.loads(d)["plan_no"] for d in read["detail"]} == {stored["meta"]["plan_no"]}
    # refused: nothing was read, nothing is on record
    assert api.get(f"/v1/supervision/classes/{firm}", headers=_auth(keys, "lender")).status_code == 403
    assert _audited(api_home, "risk_class", lender).empty


@pytest.mark.parametrize("month", ["2025-3", "2025-13", "2025-00", "٢٠٢٥-03", "２０２５-03", "2025-03-01", "March"])
def test_a_month_that_is_not_yyyy_mm_in_ascii_digits_is_a_400(api, keys, month):
    _problem(api.get("/v1/supervision/plan", params={"month": month}, headers=_auth(keys, "analyst")), 400, "invalid-request")


def test_no_month_is_a_400_and_a_month_without_a_plan_a_404(api, keys):
    _problem(api.get("/v1/supervision/plan", headers=_auth(keys, "analyst")), 400, "invalid-request")
    body = _problem(api.get("/v1/supervision/plan", params={"month": "2030-01"}, headers=_auth(keys, "analyst")),
                    404, "unknown-plan")
    assert "2030-01" in body["detail"] and "2030-01" in body["detail_zh"]


def test_a_person_is_no_firm_and_a_firm_without_a_class_says_so(api, api_home, keys, stored):
    """An individual's ID answers as an id nobody holds (404 unknown-subject) and is not on the
    audit log; a registered firm without a class (not live on the classification date) is 404
    not-classified; what is no id at all is 400."""
    snap = readmodel.current(api_home)
    person = readmodel.ratings(snap, "individual")["subject_id"].iloc[0]
    nobody = identifiers.make_uscc("9", "1", "610300", "99999999")
    analyst = f"api:{keys['analyst']['key_id']}"
    before = len(_audited(api_home, "risk_class", analyst))
    as_person = _problem(api.get(f"/v1/supervision/classes/{person}", headers=_auth(keys, "analyst")), 404, "unknown-subject")
    registered = readmodel.subjects(snap)
    registered = registered.loc[registered["subject_type"] == "enterprise", "subject_id"]
    unclassified = registered[~registered.isin(stored["classes"].index)].iloc[0]
    _problem(api.get(f"/v1/supervision/classes/{unclassified}", headers=_auth(keys, "analyst")), 404, "not-classified")
    _problem(api.get("/v1/supervision/classes/not-a-code", headers=_auth(keys, "analyst")), 400, "invalid-subject-id")
    unknown = _problem(api.get(f"/v1/supervision/classes/{nobody}", headers=_auth(keys, "analyst")), 404, "unknown-subject")
    assert {k: v for k, v in as_person.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    assert len(_audited(api_home, "risk_class", analyst)) == before


def _text(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False) if "json" in response.headers["content-type"] else response.text


def test_no_class_reaches_the_public_lenders_agencies_the_lists_or_a_report(api, api_home, keys, stored):
    """For a class D firm that was just looked up by an inspector: the public's, a lender's and an
    agency's cards, a batch, the explanation, the lists, a watchlist and its feed, and credit
    reports as HTML hold none of the classes' words, nor `risk_class` or `risk_score`."""
    classes = stored["classes"]
    firm = classes[classes["class"] == "D"].index[1]
    inspected = api.get(f"/v1/supervision/classes/{firm}", headers=_auth(keys, "inspecting"))
    assert CFG.classes["D"].zh in _text(inspected) and "risk_class" in _text(inspected)  # what the check looks for
    answers = []
    for who in ("public", "lender", "agency"):
        answers.append(api.get(f"/v1/subjects/{firm}", headers=_auth(keys, who)))
        answers.append(api.get("/v1/lists/black", params={"limit": 1000}, headers=_auth(keys, who)))
        answers.append(api.get("/v1/lists/red", params={"limit": 1000}, headers=_auth(keys, who)))
        answers.append(api.get(f"/v1/subjects/{firm}/report", params={"format": "html"}, headers=_auth(keys, who)))
    for who in ("lender", "agency"):
        answers.append(api.post("/v1/subjects:batch", json={"ids": [firm, *classes.index[:50]]}, headers=_auth(keys, who)))
        answers.append(api.put("/v1/watchlist", json={"add": [firm]}, headers=_auth(keys, who)))
        answers.append(api.get("/v1/watchlist", headers=_auth(keys, who)))
        answers.append(api.get("/v1/watchlist/changes", headers=_auth(keys, who)))
    answers.append(api.get(f"/v1/subjects/{firm}/explanation", headers=_auth(keys, "lender")))
    answers.append(api.get(f"/v1/subjects/{firm}/report", params={"format": "html", "kind": "lender"},
                           headers=_auth(keys, "lender")))
    for response in answers:
        assert response.status_code == 200, (response.request.url, response.text[:300])
        text = _text(response)
        found = [w for w in LEAKS if w in text]
        assert not found, (str(response.request.url), found)
    assert "<html" in answers[3].text.lower()  # the reports were read as HTML
