"""Privacy and integrity at the seams (issue 32): people whose ID number also passes the credit-code
check are people on every face, masked names cannot be recovered by filtering, watchlists belong
to a key's institution and role, the case endpoints mask, a decision writes only its own source,
odd ids get a 4xx, institutions' look-ups of firms are recorded, lenders see no alerts on people,
reports are verified by their code, and forwarded headers are believed from nobody by default.

Driven against a real server (`chengxin serve`) over a copy of the small rated city."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest

from chengxin import audit, identifiers, readmodel, users
from chengxin.desks import alerts as alert_desk, cases, institutions
from chengxin.api.problems import TYPE_PREFIX
from conftest import serving

PURPOSE = {"purpose": "loan application 42", "authorization_ref": "consent-42"}


@pytest.fixture(scope="module")
def seams_home(api_home):
    """This module's own copy of the rated city (`api_home` copies it once per module)."""
    return api_home


@pytest.fixture(scope="module")
def api(seams_home):
    with serving(seams_home, "serve", "/v1/health", "--workers", "2") as base, \
            httpx.Client(base_url=base, timeout=120) as client:
        yield client


def _key(home, role, institution=None):
    return {"Authorization": "Bearer " + institutions.issue(institution or f"seams {role}", role, 1_000_000,
                                                            home=home)["key"]}


@pytest.fixture(scope="module")
def keys(seams_home):
    return {role: _key(seams_home, role) for role in ("lender", "agency", "department", "analyst", "admin")}


@pytest.fixture(scope="module")
def dual(seams_home):
    """Every person of the city whose resident ID number also passes the credit-code check."""
    subjects = readmodel.subjects(readmodel.current(seams_home))
    people = subjects[subjects["subject_type"] == "individual"]
    both = people[people["subject_id"].map(lambda s: identifiers.check_uscc(s)[0] == identifiers.VALID)]
    assert len(both) >= 10, "the small city should hold a few dozen such people"
    return both[["subject_id", "name"]].to_dict("records")


def _problem(response, status, slug=None):
    assert response.status_code == status, response.text
    body = response.json()
    if slug:
        assert body["type"] == TYPE_PREFIX + slug, body
    return body


# --- 1. a person is a person, on every face ------------------------------------------------------


def test_the_registry_types_a_subject_and_an_unknown_id_gets_the_stricter_policy(seams_home, dual):
    snap = readmodel.current(seams_home)
    ids = [p["subject_id"] for p in dual]
    assert set(readmodel.subject_types(snap, ids).values()) == {"individual"}
    # not in the registry, valid both ways: a person (the stricter policy)
    assert identifiers.subject_type_of(ids[0]) == "individual"
    # what the registry says wins over the check characters
    assert identifiers.subject_type_of(ids[0], frozenset({"enterprise"})) == "enterprise"
    assert identifiers.subject_type_of(ids[0], frozenset({"enterprise", "individual"})) == "individual"
    # the dashboard's search finds them as people, and only for roles that may look people up
    assert readmodel.classify(ids[0], snap) == "resident_id"
    assert readmodel.search(snap, ids[0], users.role("public", seams_home)).empty
    found = readmodel.search(snap, ids[0], users.role("lender", seams_home))
    assert list(found["subject_type"]) == ["individual"] and found["subject_id"][0] != ids[0]  # masked


def test_every_role_at_every_endpoint_treats_them_as_people(api, seams_home, dual, keys):
    ids = [p["subject_id"] for p in dual]
    names = {p["subject_id"]: p["name"] for p in dual}

    def leaks(text: str, sid: str) -> bool:  # the name, or the ID number, in an answer (beyond the path asked)
        body = json.loads(text)
        body.pop("instance", None)
        text = json.dumps(body, ensure_ascii=False)
        return names[sid] in text or sid in text

    for sid in ids[:5]:  # the public: no report (its report quota is 10 a minute)
        r = api.get(f"/v1/subjects/{sid}/report")
        assert r.status_code in (401, 404) and not leaks(r.text, sid)
    for sid in ids:
        # the public: as an unknown id
        _problem(api.get(f"/v1/subjects/{sid}"), 404, "unknown-subject")
        # a credit agency may not see people; a lender needs a purpose, then sees them masked
        _problem(api.get(f"/v1/subjects/{sid}", headers=keys["agency"]), 403, "individuals-not-allowed")
        _problem(api.get(f"/v1/subjects/{sid}", headers=keys["lender"]), 400, "needs-purpose")
        card = api.get(f"/v1/subjects/{sid}", params=PURPOSE, headers=keys["lender"]).json()
        assert card["subject_type"] == "individual" and card["display_id"] == identifiers.mask_resident_id(sid)
        assert card["name"] != names[sid] and card["name"] == identifiers.mask_name(names[sid])
        _problem(api.get(f"/v1/subjects/{sid}/explanation", headers=keys["lender"]), 400, "needs-purpose")
        # a department's credit check shows the name masked
        check = api.post("/v1/checks", headers=keys["department"],
                         json={"subject_id": sid, "action": next(iter(readmodel.check_actions())), **{
                             "purpose": "licence decision", "case_ref": "dept-1"}})
        assert check.status_code == 200, check.text
        assert check.json()["subject_type"] == "individual" and names[sid] not in check.text
        # the admin sees them in full, as people
        full = api.get(f"/v1/subjects/{sid}", params=PURPOSE, headers=keys["admin"]).json()
        assert full["subject_type"] == "individual" and full["name"] == names[sid]
    # batches: the same policy per id
    for role, status in (("agency", 403), ("lender", 400)):
        results = api.post("/v1/subjects:batch", json={"ids": ids}, headers=keys[role]).json()["results"]
        assert {r["status"] for r in results} == {status}
        assert not any(names[r["subject_id"]] in json.dumps(r, ensure_ascii=False) for r in results)
    _problem(api.post("/v1/subjects:batch", json={"ids": ids}), 401, "unauthorized")
    # a watchlist: an agency may not add them, a lender only with a purpose
    rejected = api.put("/v1/watchlist", json={"add": ids}, headers=keys["agency"]).json()["rejected"]
    assert {r["problem"] for r in rejected} == {"individuals-not-allowed"}
    rejected = api.put("/v1/watchlist", json={"add": ids}, headers=keys["lender"]).json()["rejected"]
    assert {r["problem"] for r in rejected} == {"needs-purpose"}
    # reports: an agency may not have them; a lender's, with a purpose, is a person's report, masked
    r = api.get(f"/v1/subjects/{ids[0]}/report", headers=keys["agency"])
    assert r.status_code == 403 and not leaks(r.text, ids[0])
    r = api.get(f"/v1/subjects/{ids[0]}/report", params={"kind": "lender", **PURPOSE}, headers=keys["lender"])
    assert r.status_code == 200, r.text
    from chengxin import reports

    found = reports.verify_number(r.headers["X-Report-Number"], r.headers["X-Report-Code"], seams_home)
    assert found["subject"] == identifiers.mask_resident_id(ids[0])
    # a case: a review is a person's right, and the case keeps the registry's type
    filed = api.post("/v1/cases", json={"kind": "review", "subject_id": ids[1], "reason": "please review"},
                     headers=keys["admin"])
    assert filed.status_code == 201, filed.text
    assert filed.json()["subject_type"] == "individual"


def test_audit_entries_match_the_people_answered_under_concurrent_load(api, seams_home, dual, keys):
    ids = [p["subject_id"] for p in dual]
    firms = list(readmodel.ratings(readmodel.current(seams_home), "enterprise")["subject_id"].iloc[:20])
    tag = f"concurrent-{time.time_ns()}"
    asks = [(sid, True) for sid in ids * 3] + [(sid, False) for sid in firms * 3]

    def ask(item):
        sid, person = item
        params = {"purpose": tag, "authorization_ref": "c-1"} if person else None
        return person, api.get(f"/v1/subjects/{sid}", params=params, headers=keys["lender"]).status_code

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, asks))
    answered_people = sum(1 for person, status in answers if person and status == 200)
    assert answered_people == len(ids) * 3
    assert all(status == 200 for _, status in answers)
    log = audit.audit_log(seams_home)
    assert int((log["purpose"] == tag).sum()) == answered_people  # written before the answer: no wait needed


# --- 2. a masked name cannot be found by its real letters ---------------------------------------


def test_a_masked_role_filters_lists_by_what_it_sees(seams_home):
    snap = readmodel.current(seams_home)
    entries = readmodel.list_entries(snap)
    people = entries[(entries["subject_type"] == "individual") & (entries["status"] == "active")]
    assert len(people), "the small city lists some people"
    which = people["list"].iloc[0]
    person = people[people["list"] == which].iloc[0]
    lender, admin = users.role("lender", seams_home), users.role("admin", seams_home)
    assert len(readmodel.red_black(snap, admin, which, "individual", name=person["name"]))  # the admin sees names
    # a real name, or its second character, finds nothing a masked name would not
    assert readmodel.red_black(snap, lender, which, "individual", name=person["name"]).empty
    if len(person["name"]) > 1:
        assert readmodel.red_black(snap, lender, which, "individual", name=person["name"][1]).empty
    shown = readmodel.red_black(snap, lender, which, "individual", name=identifiers.mask_name(person["name"]))
    assert identifiers.mask_resident_id(person["subject_id"]) in set(shown["subject_id"])
    # an ID number the lender holds already, typed in full, is found (shown masked)
    held = readmodel.red_black(snap, lender, which, "individual", name=person["subject_id"])
    assert list(held["subject_id"].unique()) == [identifiers.mask_resident_id(person["subject_id"])]
    # the public list too
    rated = readmodel.ratings(snap, "individual").iloc[0]
    assert readmodel.public_list(snap, lender, "individual", name=rated["name"]).empty
    # and the order of what is shown follows what is shown, never the hidden digits
    listed = readmodel.list_feed(snap, lender, which, subject_type="individual")
    keys = [(e["start"], e["subject_id"]) for e in listed]
    assert keys == sorted(keys)


# --- 3. watchlists belong to an institution in a role ---------------------------------------------


def test_a_watchlist_belongs_to_the_keys_institution_and_role(api, seams_home, dual, keys):
    person = dual[2]["subject_id"]
    lender = _key(seams_home, "lender", "Bank X")
    agency = _key(seams_home, "agency", "Bank X")  # another role under the same institution name
    added = api.put("/v1/watchlist", json={"add": [person], **PURPOSE}, headers=lender).json()
    assert added["added"] == [person] and added["watching"] == 1
    assert api.get("/v1/watchlist", headers=agency).json()["subjects"] == []
    mine = api.get("/v1/watchlist", headers=lender).json()
    assert mine["subjects"] == [identifiers.mask_resident_id(person)] and person not in json.dumps(mine)
    # the agency cannot remove it either
    api.put("/v1/watchlist", json={"remove": [person]}, headers=agency)
    assert api.get("/v1/watchlist", headers=lender).json()["items"][0]["purpose"] == PURPOSE["purpose"]
    # a change of the person reaches the lender, masked and audited under the purpose it was added with
    record = _record_of(seams_home, person)
    cases.file("objection", person, record=record, reason="not mine", home=seams_home)
    feed = api.get("/v1/watchlist/changes", headers=lender).json()["changes"]
    assert [c["kind"] for c in feed] == ["under_objection"]
    assert feed[0]["subject_id"] == identifiers.mask_resident_id(person) and person not in json.dumps(feed)
    log = audit.audit_log(seams_home, subject_id=person)
    assert (log["action"] == "watchlist_changes").sum() == 1
    assert log.loc[log["action"] == "watchlist_changes", "purpose"].iloc[0] == PURPOSE["purpose"]
    assert api.get("/v1/watchlist/changes", headers=agency).json()["changes"] == []


def _record_of(home, sid) -> str:
    """A record of the subject that an objection may name (SOURCE:NATURAL_KEY)."""
    snap = readmodel.current(home)
    for source, frame in readmodel.records(snap, sid, users.role("admin", home)).items():
        if len(frame):
            return cases.record_ref(source, frame.iloc[0].to_dict())
    pytest.fail(f"{sid} has no records")


# --- 4. the case endpoints mask; 5. a decision writes only its own source --------------------------


def test_case_endpoints_mask_people_and_refuse_what_a_get_would_not_show(api, seams_home, dual, keys):
    person = dual[3]["subject_id"]
    record = _record_of(seams_home, person)
    filed = api.post("/v1/cases", json={"kind": "objection", "subject_id": person, "record": record,
                                        "reason": "wrong"}, headers=keys["admin"])
    assert filed.status_code == 201 and person in filed.text  # the admin sees people in full
    n = filed.json()["case_no"]
    for answer in (api.get("/v1/cases", headers=keys["analyst"]), api.get(f"/v1/cases/{n}", headers=keys["analyst"])):
        assert answer.status_code == 200 and person not in answer.text
        assert identifiers.mask_resident_id(person) in answer.text
    # a department that does not provide the record cannot see the case: deciding it is a 404 as well
    stranger = _key(seams_home, "department", "不相干的局")
    _problem(api.get(f"/v1/cases/{n}", headers=stranger), 404, "unknown-case")
    refused = _problem(api.post(f"/v1/cases/{n}/decision", json={"decision": "reject", "note": "x"},
                                headers=stranger), 404, "unknown-case")
    assert filed.json()["provider"] not in json.dumps(refused, ensure_ascii=False)


def test_a_decision_writes_only_the_source_of_the_record_under_objection(api, seams_home, keys):
    from chengxin import warehouse

    snap = readmodel.current(seams_home)
    firm = next(sid for sid in readmodel.ratings(snap, "enterprise")["subject_id"]
                if "penalty" in readmodel.records(snap, sid, users.role("admin", seams_home)))
    frame = readmodel.records(snap, firm, users.role("admin", seams_home))["penalty"]
    row = frame.iloc[0].to_dict()
    dept = row["deciding_department"]
    filed = api.post("/v1/cases", json={"kind": "objection", "subject_id": firm,
                                        "record": cases.record_ref("penalty", row), "reason": "wrong"},
                     headers=keys["admin"])
    assert filed.status_code == 201, filed.text
    n = filed.json()["case_no"]
    own = _key(seams_home, "department", dept)

    def courts() -> int:
        with warehouse.connect(seams_home, read_only=True) as con:
            return con.execute("SELECT count(*) FROM rec_courts WHERE subject_id = ?", [firm]).fetchall()[0][0]

    before = courts()
    forged = {"decision": "add", "note": "adding a court record", "set": {
        "source": "courts", "case_no": "(2026)陕03执999号", "event_type": "dishonest_listed", "event_date": "2026-01-05"}}
    _problem(api.post(f"/v1/cases/{n}/decision", json=forged, headers=own), 403, "case-forbidden")
    assert courts() == before
    # nor may a correction hand the record to another department
    moved = {"decision": "correct", "note": "x", "set": {"deciding_department": "市税务局"}}
    _problem(api.post(f"/v1/cases/{n}/decision", json=moved, headers=own), 403, "case-forbidden")
    assert cases.show(n, home=seams_home)["status"] == "open"


# --- 7. odd input gets a 4xx -----------------------------------------------------------------------


ODD_IDS = ["٩١٦١٠٣٠٠٠٠٠٠٠٠٠٠٠١", "¹²³⁴⁵⁶⁷⁸", "9161030000000000０1", "91610300\u0660000000001X", "%00", "a" * 64,
           "ＡＢＣ", "9" * 18]


def test_odd_ids_and_numbers_are_answered_with_a_4xx(api, seams_home, keys):
    firm = readmodel.ratings(readmodel.current(seams_home), "enterprise")["subject_id"].iloc[0]
    wide = firm.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    assert api.get(f"/v1/subjects/{wide}").json()["subject_id"] == firm  # folded, as ingestion folds
    for odd in ODD_IDS:
        for path in (f"/v1/subjects/{odd}", f"/v1/subjects/{odd}/explanation", f"/v1/subjects/{odd}/report"):
            r = api.get(path, headers=keys["admin"], params=PURPOSE)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        r = api.post("/v1/checks", headers=keys["admin"], json={"subject_id": odd, "action": next(iter(readmodel.check_actions())),
                                                                 "purpose": "p", "case_ref": "c"})
        assert 400 <= r.status_code < 500, (odd, r.text)
    batch = api.post("/v1/subjects:batch", json={"ids": [*ODD_IDS, firm]}, headers=keys["admin"]).json()["results"]
    assert [r["status"] for r in batch][-1] == 200 and all(r["status"] in (400, 404) for r in batch[:-1])
    edit = api.put("/v1/watchlist", json={"add": ODD_IDS, "remove": ODD_IDS}, headers=keys["admin"])
    assert edit.status_code == 200
    for path in (f"/v1/cases/{2**70}", f"/v1/cases/{2**64}", "/v1/cases/0", "/v1/cases/-1"):
        assert api.get(path, headers=keys["admin"]).status_code in (400, 404), path
    assert api.post(f"/v1/cases/{2**70}/decision", json={"decision": "reject", "note": "x"},
                    headers=keys["admin"]).status_code in (400, 404)
    for cursor in (str(2**70), "٣", "³"):
        _problem(api.get("/v1/watchlist/changes", params={"cursor": cursor}, headers=keys["admin"]), 400)
    # a trailing slash: a 404 problem, never a redirect built from the caller's Host header
    r = api.get(f"/v1/subjects/{firm}/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
    # a case received more than the configured days ago, or before its record, is refused
    old = api.post("/v1/cases", json={"kind": "objection", "subject_id": firm, "filed_on": "1900-01-01"},
                   headers=keys["admin"])
    _problem(old, 400, "invalid-case")


def test_a_body_over_the_limit_is_refused_before_it_is_read(api):
    big = b'{"ids": ["' + b"9" * 3_000_000 + b'"]}'
    r = api.post("/v1/subjects:batch", content=big, headers={"Content-Type": "application/json"})
    _problem(r, 413, "body-too-large")

    def chunks():  # no Content-Length: refused as the bytes pass the limit
        yield b'{"ids": ["'
        for _ in range(40):
            yield b"9" * 100_000
        yield b'"]}'

    r = api.post("/v1/subjects:batch", content=chunks(), headers={"Content-Type": "application/json"})
    _problem(r, 413, "body-too-large")


# --- 8. institutions' look-ups of firms are recorded and shown to the firm -------------------------


def test_a_firm_is_told_which_institution_looked_it_up(api, seams_home):
    from chengxin import reports

    snap = readmodel.current(seams_home)
    firm = readmodel.ratings(snap, "enterprise")["subject_id"].iloc[5]
    bank = _key(seams_home, "lender", "示范银行 Looking Bank")
    assert api.get(f"/v1/subjects/{firm}", headers=bank).status_code == 200
    assert api.get(f"/v1/subjects/{firm}/report", params={"kind": "lender"}, headers=bank).status_code == 200
    deadline = time.monotonic() + 15  # the call log writes look-ups of firms within a second or two
    while time.monotonic() < deadline:
        log = audit.audit_log(seams_home, subject_id=firm)
        if len(log) >= 2:
            break
        time.sleep(0.3)
    assert {"api_lookup", "report"} <= set(log["action"])
    own = reports.Reader("firm itself", users.role("subject", seams_home), subject=firm)
    body = reports.content(snap, firm, "public", own, home=seams_home)
    looked = next(s for s in body["sections"] if s["title"].startswith("查询记录"))
    assert any("示范银行 Looking Bank" in row[1] for row in looked["table"]["rows"]), looked


# --- 9. lenders see no alerts on people --------------------------------------------------------------


def test_lenders_see_no_alerts_on_people(seams_home, dual):
    snap = readmodel.current(seams_home)
    firm = readmodel.ratings(snap, "enterprise").iloc[0]
    month = str(snap.as_of("enterprise"))
    alert = {"as_of": month, "severity": "high", "score": 9.0, "signals": "pd_jump", "reasons": "PD jump",
             "reasons_zh": "违约概率跳升", "pd": 0.3, "grade": "B", "prev_grade": "A", "county": firm["county"],
             "evidence": None}
    alert_desk.store_alerts(pd.DataFrame([{**alert, "subject_id": firm["subject_id"], "subject_type": "enterprise",
                                     "industry": firm["industry"]},
                                    {**alert, "subject_id": dual[0]["subject_id"], "subject_type": "individual",
                                     "industry": None}]), seams_home)
    lender = readmodel.open_alerts(seams_home, users.role("lender", seams_home))
    assert len(lender) and (lender["subject_type"] == "enterprise").all()
    analyst = readmodel.open_alerts(seams_home, users.role("analyst", seams_home))
    assert (analyst["subject_type"] == "individual").any()
    assert dual[0]["subject_id"] not in set(analyst["subject_id"])  # masked for the analyst


# --- 10. smaller holes -------------------------------------------------------------------------------


def test_verification_needs_the_code_and_masks_a_person(api, seams_home, keys):
    firm = readmodel.ratings(readmodel.current(seams_home), "enterprise")["subject_id"].iloc[7]
    r = api.get(f"/v1/subjects/{firm}/report", headers=keys["lender"])
    number, code = r.headers["X-Report-Number"], r.headers["X-Report-Code"]
    _problem(api.get(f"/v1/reports/{number}/verify"), 400)
    _problem(api.get(f"/v1/reports/{number}/verify", params={"code": "٣"}), 404, "unknown-report")
    assert api.get(f"/v1/reports/{number}/verify", params={"code": code}).json()["authentic"] is True


@pytest.fixture(scope="module")
def strict_home(dashboard_home, tmp_path_factory):
    """A workspace whose public has small quotas: 6 requests and 2 reports a minute per address."""
    home = tmp_path_factory.mktemp("strict") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    (home / "users.yaml").write_text("roles:\n  public:\n    api_rate_per_minute: 6\n    report_rate_per_minute: 2\n",
                                     "utf-8")
    return home


def test_forwarded_headers_pick_no_quota_and_reports_have_their_own(strict_home):
    with serving(strict_home, "serve", "/v1/health") as base:
        firm = readmodel.ratings(readmodel.current(strict_home), "enterprise")["subject_id"].iloc[0]
        with httpx.Client(base_url=base, timeout=60) as api:
            _wait_for_a_fresh_minute()
            reports = [api.get(f"/v1/subjects/{firm}/report").status_code for _ in range(3)]
            assert reports == [200, 200, 429]  # the reports' own quota
            statuses = [api.get(f"/v1/subjects/{firm}", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
                        for i in range(4)]
            # 3 reports + 3 look-ups fill the address's 6: the forwarded addresses are not believed
            assert statuses == [200, 200, 200, 429], statuses
    # a proxy the operator names is believed: each address it forwards has its own quota
    (strict_home / "settings.yaml").write_text("api:\n  trusted_proxies: ['127.0.0.1']\n", "utf-8")
    with serving(strict_home, "serve", "/v1/health") as base:
        with httpx.Client(base_url=base, timeout=60) as api:
            _wait_for_a_fresh_minute()
            statuses = [api.get(f"/v1/subjects/{firm}", headers={"X-Forwarded-For": f"10.0.1.{i % 2}"}).status_code
                        for i in range(12)]
            assert statuses.count(200) == 12, statuses
            assert api.get(f"/v1/subjects/{firm}", headers={"X-Forwarded-For": "10.0.1.0"}).status_code == 429


def _wait_for_a_fresh_minute() -> None:
    """Quotas count per clock minute: start early in one."""
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)


def test_a_checks_feedback_comes_from_its_institution_in_its_role(api, seams_home):
    firm = readmodel.ratings(readmodel.current(seams_home), "enterprise")["subject_id"].iloc[2]
    dept = _key(seams_home, "department", "市税务局 Checks")
    same_name = _key(seams_home, "analyst", "市税务局 Checks")  # another role's key under the same name
    check = api.post("/v1/checks", headers=dept, json={"subject_id": firm, "action": next(iter(readmodel.check_actions())),
                                                       "purpose": "p", "case_ref": "c"}).json()
    feedback = {"applied": [], "outcome": "approved"}
    _problem(api.post(f"/v1/checks/{check['check_id']}/feedback", json=feedback, headers=same_name), 404, "unknown-check")
    assert api.post(f"/v1/checks/{check['check_id']}/feedback", json=feedback, headers=dept).status_code == 200


# --- issue 33, point 5: a check never says "nothing found" next to an entry ---------------------


def test_a_check_says_what_it_found_beside_its_verdict(seams_home):
    from chengxin.measures import measures_config

    snap = readmodel.current(seams_home)
    dept = users.role("department", seams_home)
    entries = readmodel.list_entries(snap)
    black = entries[(entries["list"] == "black") & (entries["status"] == "active") & (entries["subject_type"] == "enterprise")]
    by_code = measures_config().by_code
    actions = list(readmodel.check_actions())

    def covered(sid) -> set:  # the actions the measures of the subject's active entries apply to
        mine = entries[(entries["subject_id"] == sid) & (entries["status"] == "active")]
        codes = set().union(*(str(m).split(",") for m in mine["measures"].dropna()))
        return set().union(*(set(by_code[c].actions) for c in codes if c in by_code))

    def check(sid, action):
        return readmodel.judge_check(snap, sid, action, dept, purpose="p", case_ref="c", home=seams_home)

    firm = next(sid for sid in black["subject_id"] if covered(sid) and set(actions) - covered(sid))
    hit = check(firm, next(a for a in actions if a in covered(firm)))
    assert hit["verdict"] in ("restricted", "barred") and hit["finding"] == "measures"
    # listed, but this action has no measure: clear, and it says it found the entry
    quiet = check(firm, next(a for a in actions if a not in covered(firm)))
    assert quiet["verdict"] == "clear" and quiet["entries"] and quiet["finding"] == "no_measure_for_action"
    assert "无对应惩戒措施" in quiet["finding_zh"]
    listed = set(entries.loc[entries["status"] == "active", "subject_id"])
    clean = next(s for s in readmodel.ratings(snap, "enterprise")["subject_id"] if s not in listed)
    nothing = check(clean, actions[0])
    assert nothing["verdict"] == "clear" and not nothing["entries"] and nothing["finding"] == "no_entries"
