"""The credit services API (issue 21): a real server (`chengxin serve`, uvicorn on a free port)
over the small rated city, driven over HTTP: roles, keys, quotas, problem details, masking,
the audit log, point-in-time replay and the call log."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from chengxin import audit, identifiers, readmodel, state, users, workspace
from chengxin.desks import institutions
from chengxin.api import access, server
from chengxin.api.answers import LeanRoute
from chengxin.api.routes import subjects as subject_routes
from chengxin.api.problems import MEDIA_TYPE, TYPE_PREFIX
from conftest import documented, serving


@pytest.fixture(scope="module")
def api(api_home):
    """A client of a real server whose every answer is checked against the server's OpenAPI
    document (`documented`)."""
    with serving(api_home, "serve", "/v1/health") as base:
        document = httpx.get(base + "/openapi.json").json()
        with httpx.Client(base_url=base, timeout=60, event_hooks={"response": [documented(document)]}) as client:
            yield client


def _key(home, role, rate=None) -> str:
    return institutions.issue(f"test {role}", role, rate, home=home)["key"]


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _early_in_the_minute() -> None:
    """Quotas count per clock minute: start a counted burst where it cannot straddle two."""
    while time.time() % 60 > 40:
        time.sleep(0.5)


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert body["type"] == TYPE_PREFIX + slug and body["status"] == status
    assert body["title"] and body["detail"] and body["detail_zh"]
    return body


@pytest.fixture(scope="module")
def picks(api_home):
    snap = readmodel.current(api_home)
    firms = readmodel.ratings(snap, "enterprise")
    people = readmodel.ratings(snap, "individual")
    return {"firm": firms.iloc[0], "person": people.iloc[0], "snap": snap}


def test_health_names_the_snapshot_served_and_the_docs_need_nothing_outside(api, api_home):
    health = api.get("/v1/health")
    assert health.status_code == 200
    assert health.json()["snapshot"] == readmodel.current(api_home).id
    assert api.get("/v1/ping").json() == {"pong": True}
    assert set(access.SCOPE_WORDS) == set(users.API_SCOPES)  # every scope's 403 says what it forbids
    spec = api.get("/openapi.json").json()
    assert {"/v1/health", "/v1/subjects/{subject_id}", "/v1/subjects:batch", "/v1/lists/{which}",
            "/v1/criteria/{subject_type}"} <= set(spec["paths"])
    docs = api.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and all(a.startswith("/") for a in assets), assets
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/static-offline-docs/{asset}").status_code == 200


def test_the_public_sees_what_the_public_dashboard_shows(api, picks):
    firm = picks["firm"]
    card = api.get(f"/v1/subjects/{firm['subject_id']}").json()
    assert card["tier"] == firm["tier"] and card["name"] == firm["name"]
    assert not {"grade", "pd", "score", "reasons"} & set(card)
    # an individual is indistinguishable from an unknown id
    person = _problem(api.get(f"/v1/subjects/{picks['person']['subject_id']}"), 404, "unknown-subject")
    unknown = _problem(api.get("/v1/subjects/91610300000000001X".replace("1X", _checked_tail())), 404, "unknown-subject")
    assert {k: v for k, v in person.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    _problem(api.get(f"/v1/subjects/{firm['subject_id']}/explanation"), 401, "unauthorized")
    _problem(api.post("/v1/subjects:batch", json={"ids": [firm["subject_id"]]}), 401, "unauthorized")
    lists = api.get("/v1/lists/black").json()["entries"]
    assert lists and {e["subject_type"] for e in lists} == {"enterprise"}
    criteria = api.get("/v1/criteria/enterprise").json()
    assert criteria["subject"] == "enterprise" and "CASE" in criteria["sql"].upper()
    # a tier a list's rule decided says so, as on the dashboard; default (a bank's record) is not public
    firms = readmodel.ratings(picks["snap"], "enterprise")
    for rule, shown in (("dishonest_debtor", True), ("in_default", False)):
        row = firms[firms["tier_rule"] == rule].iloc[0]
        card = api.get(f"/v1/subjects/{row['subject_id']}").json()
        page = readmodel.lookup(picks["snap"], row["subject_id"], users.role("public"), record=False)
        assert card["tier"] == row["tier"] == "D" and card.get("tier_rule") == page.get("tier_rule")
        assert (card.get("tier_rule") or {}).get("rule") == (rule if shown else None)
    assert api.get("/v1/criteria/enterprise", params={"version": criteria["criteria_version"]}).json() == criteria


def _checked_tail() -> str:
    """The check character that makes 916103000000000010? a valid code that nobody holds."""
    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        try:
            identifiers.subject_type_of("91610300000000001" + c)
            return "1" + c
        except workspace.UserError:
            continue
    raise AssertionError("no check character fits")


def test_keys_are_checked_and_a_lender_sees_grade_pd_and_reasons(api, api_home, picks):
    firm = picks["firm"]
    _problem(api.get(f"/v1/subjects/{firm['subject_id']}", headers=_auth("cx_nope_nope")), 401, "unauthorized")
    _problem(api.get(f"/v1/subjects/{firm['subject_id']}", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    key = _key(api_home, "lender")
    card = api.get(f"/v1/subjects/{firm['subject_id']}", headers=_auth(key)).json()
    assert card["grade"] == firm["grade"] and card["pd"] == pytest.approx(firm["pd"]) and card["score"] == firm["score"]
    assert [r["text_zh"] for r in card["reasons"]] == [firm[f"reason_{k}_zh"] for k in (1, 2, 3) if isinstance(firm[f"reason_{k}_zh"], str)]
    # each reason names its indicator of the published criteria and the points it costs, worst first
    rated = readmodel.ratings(picks["snap"], "enterprise")
    forced = rated["tier_rule"].notna()  # a forced tier's first reason is its rule (below)
    firm = rated[rated["reason_2_code"].notna() & ~forced].iloc[0]
    card = api.get(f"/v1/subjects/{firm['subject_id']}", headers=_auth(key)).json()
    published = {i["name"] for i in api.get("/v1/criteria/enterprise").json()["indicators"]}
    assert [r["code"] for r in card["reasons"]] == [firm[f"reason_{k}_code"] for k in (1, 2, 3) if isinstance(firm[f"reason_{k}_code"], str)]
    assert {r["code"] for r in card["reasons"]} <= published
    points = [r["points"] for r in card["reasons"]]
    assert points == sorted(points, reverse=True) and min(points) >= 5.0
    assert card["model_version"] == str(firm["model_version"]) and card["criteria_version"] == str(firm["criteria_version"])
    # a lender sees the rule that forced a tier, default included, and it leads the reasons
    for rule in ("in_default", "dishonest_debtor"):
        firm = rated[rated["tier_rule"] == rule].iloc[0]
        card = api.get(f"/v1/subjects/{firm['subject_id']}", headers=_auth(key)).json()
        assert card["tier"] == "D" and card["tier_rule"]["rule"] == rule and card["tier_rule"]["tier"] == "D"
        assert card["reasons"][0]["code"] == ("in_default" if rule == "in_default" else f"tier_rule:{rule}")
        assert card["reasons"][0]["text_en"] == firm["reason_1"] and card["reasons"][0].get("points") is None
    stored = institutions.listed(api_home)
    assert "secret_sha256" not in stored and key not in stored.to_string()
    # a revoked key is refused (every worker within KEY_CACHE_SECONDS)
    key_id = key.split("_")[1]
    institutions.revoke(key_id, home=api_home)
    time.sleep(institutions.KEY_CACHE_SECONDS + 0.2)
    _problem(api.get(f"/v1/subjects/{firm['subject_id']}", headers=_auth(key)), 401, "unauthorized")


def test_individuals_need_a_purpose_and_are_audited_before_the_answer(api, api_home, picks):
    person = picks["person"]["subject_id"]
    lender = _auth(_key(api_home, "lender"))
    _problem(api.get(f"/v1/subjects/{person}", headers=lender), 400, "needs-purpose")
    _problem(api.get(f"/v1/subjects/{person}", params={"purpose": "loan 7"}, headers=lender), 400, "needs-purpose")
    before = len(audit.audit_log(api_home, subject_id=person))  # (firms' look-ups are logged too, a second later)
    card = api.get(f"/v1/subjects/{person}", params={"purpose": "loan application 2025-117", "authorization_ref": "AUTH-9"},
                   headers=lender).json()
    assert card["display_id"] != person and "*" in card["display_id"] and "*" in card["name"]  # masked
    log = audit.audit_log(api_home, subject_id=person)  # read as soon as the answer is in: it was written before
    assert len(log) == before + 1
    entry = log.iloc[0]
    assert entry["subject_id"] == person and entry["purpose"] == "loan application 2025-117"
    assert entry["role"] == "lender" and entry["user"].startswith("api:") and json.loads(entry["detail"])["authorization_ref"] == "AUTH-9"
    agency = _auth(_key(api_home, "agency"))
    _problem(api.get(f"/v1/subjects/{person}", params={"purpose": "x", "authorization_ref": "y"}, headers=agency),
             403, "individuals-not-allowed")
    _problem(api.get(f"/v1/subjects/{picks['firm']['subject_id']}/explanation", headers=agency), 403, "forbidden")


def test_a_batch_answers_every_id_under_the_same_policy(api, api_home, picks):
    firm, person = picks["firm"]["subject_id"], picks["person"]["subject_id"]
    nobody = "91610300000000001" + _checked_tail()[1]
    ids = [firm, "not a code", nobody, person, firm.lower()]
    answer = api.post("/v1/subjects:batch", json={"ids": ids}, headers=_auth(_key(api_home, "lender")))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [200, 400, 404, 400, 200]
    assert [r.get("problem") for r in results] == [None, "invalid-subject-id", "unknown-subject", "needs-purpose", None]
    assert results[0]["grade"] == results[4]["grade"] == picks["firm"]["grade"]
    assert answer.json()["snapshot"] == picks["snap"].id
    _problem(api.post("/v1/subjects:batch", json={"ids": [firm] * 10_001}, headers=_auth(_key(api_home, "lender", rate=20_000))),
             413, "too-many-ids")


def test_quotas_count_ids_and_answer_429_with_retry_after(api, api_home, picks):
    firm = picks["firm"]["subject_id"]
    key = _auth(_key(api_home, "lender", rate=3))
    _early_in_the_minute()
    assert [api.get(f"/v1/subjects/{firm}", headers=key).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(f"/v1/subjects/{firm}", headers=key)
    _problem(refused, 429, "quota-exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    batch_key = _auth(_key(api_home, "lender", rate=4))
    _problem(api.post("/v1/subjects:batch", json={"ids": [firm] * 5}, headers=batch_key), 429, "quota-exceeded")
    assert api.post("/v1/subjects:batch", json={"ids": [firm] * 4}, headers=batch_key).status_code == 200  # refused ids not counted


def _from(api: httpx.Client, address: str) -> httpx.Client:
    """A client of the same server connecting from another loopback address (127.0.0.0/8): a
    client address of its own, as the server sees it."""
    return httpx.Client(base_url=api.base_url, timeout=60, transport=httpx.HTTPTransport(local_address=address),
                        event_hooks=api.event_hooks)


def test_the_public_has_a_quota_per_client_address(api, api_home, picks):
    import random

    firm = picks["firm"]["subject_id"]
    override = api_home / "users.yaml"
    assert not override.exists()
    override.write_text(json.dumps({"roles": {"public": {"api_rate_per_minute": 3}}}), "utf-8")
    octet = random.randrange(2, 200)  # addresses no earlier run used in this minute
    here_address, there_address = f"127.0.{octet}.2", f"127.0.{octet}.3"
    try:
        _early_in_the_minute()
        with _from(api, here_address) as here, _from(api, there_address) as there:
            forwarded = {"X-Forwarded-For": there_address}  # no proxy is trusted by default: not believed
            assert [here.get(f"/v1/subjects/{firm}", headers=forwarded).status_code for _ in range(3)] == [200, 200, 200]
            refused = _problem(here.get("/v1/lists/red"), 429, "quota-exceeded")
            assert "address" in refused["detail"]
            assert there.get(f"/v1/subjects/{firm}").status_code == 200  # each address has its own
            assert here.get("/v1/health").status_code == 200  # health is never counted
    finally:
        override.unlink()


def test_requests_the_server_cannot_read_are_4xx_problems(api, api_home, picks):
    key = _auth(_key(api_home, "lender"))
    _problem(api.post("/v1/subjects:batch", content=b"{not json", headers={**key, "content-type": "application/json"}),
             400, "invalid-request")
    _problem(api.post("/v1/subjects:batch", json={"ids": "abc"}, headers=key), 400, "invalid-request")
    _problem(api.get(f"/v1/subjects/{picks['firm']['subject_id']}", params={"as_of": "yesterday"}, headers=key),
             400, "invalid-request")
    _problem(api.get("/v1/lists/grey"), 400, "invalid-request")
    _problem(api.get("/v1/nothing-here"), 404, "not-found")
    _problem(api.delete("/v1/health"), 405, "method-not-allowed")
    _problem(api.get("/v1/criteria/enterprise", params={"version": "no-such"}), 404, "unknown-criteria")


def test_the_lean_look_up_answers_exactly_as_fastapi_would(api_home, picks, monkeypatch):
    """The look-up is served by `LeanRoute`, which reads its key and parameters itself; the same
    requests to the same endpoint served by FastAPI's own handling get the same answers, byte
    for byte: statuses, problem details, headers that matter, cards."""
    from fastapi.testclient import TestClient

    lender, agency = _auth(_key(api_home, "lender", 100_000)), _auth(_key(api_home, "agency", 100_000))
    firm, person = picks["firm"]["subject_id"], picks["person"]["subject_id"]
    asked = {"purpose": "loan application 2025-118", "authorization_ref": "AUTH-10"}
    requests = [
        (f"/v1/subjects/{firm}", {}, lender), (f"/v1/subjects/{firm}", {}, {}), (f"/v1/subjects/{firm}", {}, agency),
        (f"/v1/subjects/{firm.lower()}", {"unknown": "ignored"}, lender),
        (f"/v1/subjects/{firm}", {"as_of": "yesterday"}, lender), (f"/v1/subjects/{firm}", {"as_of": ""}, lender),
        (f"/v1/subjects/{firm}", {"as_of": "2000-01-01"}, lender),
        (f"/v1/subjects/{firm}", {"as_of": str(picks["snap"].as_of("enterprise"))}, lender),
        ("/v1/subjects/" + "9" * 65, {}, lender), ("/v1/subjects/" + "9" * 65, {}, _auth("cx_no_such")),
        (f"/v1/subjects/{firm}", {}, _auth("")), (f"/v1/subjects/{firm}", {}, {"Authorization": "Basic abc"}),
        ("/v1/subjects/not-a-code", {}, lender), (f"/v1/subjects/{person}", {}, {}),
        (f"/v1/subjects/{person}", {}, lender), (f"/v1/subjects/{person}", {"purpose": "x" * 501, "authorization_ref": "A"}, lender),
        (f"/v1/subjects/{person}", asked, lender), (f"/v1/subjects/{person}", asked, agency),
        (f"/v1/subjects/{person}?purpose=first&purpose=second&authorization_ref=A", None, lender),
    ]
    answers, served_lean = {}, []
    lean_serve = subject_routes.get_subject.lean_serve

    async def counted(request):
        served_lean.append(request.url.path)
        return await lean_serve(request)

    monkeypatch.setattr(subject_routes.get_subject, "lean_serve", counted)
    for lean in (True, False):
        with TestClient(server.create_app(api_home, lean_lookup=lean)) as client:
            route = next(r for r in client.app.routes if getattr(r, "path", "") == "/v1/subjects/{subject_id}")
            assert isinstance(route, LeanRoute)
            served_lean.clear()
            answers[lean] = []
            for path, params, headers in requests:
                r = client.get(path, params=params, headers=headers)
                answers[lean].append((path, params, r.status_code, r.headers.get("content-type"),
                                      r.headers.get("www-authenticate"), r.json()))
            assert len(served_lean) == (len(requests) if lean else 0)  # each path served the way it was meant to
    assert answers[True] == answers[False]
    assert {a[2] for a in answers[True]} >= {200, 400, 401, 403, 404}  # every kind of answer was compared


def test_as_of_replays_what_was_published_then(api, api_home, picks):
    history = pd.read_parquet(picks["snap"].path / "history.parquet")
    kept = pd.read_parquet(picks["snap"].path / readmodel.HISTORY_REASONS)  # each version's reasons, row beside row
    assert (kept["subject_id"].to_numpy() == history["subject_id"].to_numpy()).all()
    history = pd.concat([history, kept.drop(columns=["subject_id", "as_of", "rated_at"])], axis=1)
    dates = sorted(history["as_of"].astype(str).str[:10].unique())
    assert len(dates) >= 2  # the fixture rates enterprises on two month ends
    firm = history[(history["as_of"].astype(str).str[:10] == dates[0]) & history["reason_1"].notna()].iloc[0]
    key = _auth(_key(api_home, "lender"))
    day = pd.Timestamp(dates[1]) - pd.Timedelta(days=1)  # between the two ratings
    then = api.get(f"/v1/subjects/{firm['subject_id']}", params={"as_of": day.date().isoformat()}, headers=key).json()
    assert then["as_of"] == dates[0] and then["grade"] == firm["grade"] and then["pd"] == pytest.approx(firm["pd"])
    assert then["model_version"] == str(firm["model_version"]) and "notes" not in then
    # the reasons published with that rating, as the history keeps them (on disk, read for the replay)
    published = [{"code": firm[f"reason_{k}_code"], "text_zh": firm[f"reason_{k}_zh"], "text_en": firm[f"reason_{k}"]}
                 for k in (1, 2, 3) if isinstance(firm[f"reason_{k}"], str)]
    assert published and [{k: r.get(k) for k in ("code", "text_zh", "text_en")} for r in then["reasons"]] == published
    now = api.get(f"/v1/subjects/{firm['subject_id']}", headers=key).json()
    assert now["as_of"] == dates[-1]
    _problem(api.get(f"/v1/subjects/{firm['subject_id']}", params={"as_of": "2000-01-01"}, headers=key), 404, "not-rated-then")


def test_every_call_is_logged_within_a_second(api, api_home, picks):
    key = _key(api_home, "agency")
    firm = picks["firm"]["subject_id"]
    api.get(f"/v1/subjects/{firm}", headers=_auth(key))
    api.get("/v1/lists/red", headers=_auth(key))
    time.sleep(1.5)
    calls = institutions.calls(api_home)
    mine = calls[calls["key_id"] == key.split("_")[1]]
    assert set(mine["endpoint"]) == {"/v1/subjects/{subject_id}", "/v1/lists/{which}"}
    assert (mine["status"] == 200).all() and (mine["institution"] == "test agency").all()
    assert json.loads(mine[mine["endpoint"] == "/v1/subjects/{subject_id}"]["subjects"].iloc[0]) == [firm]


def test_two_workers_share_one_quota_and_lose_no_audit_entry(api_home, picks):
    """`chengxin serve --workers 2`: 40 clients at once against a key of 25 a minute get exactly
    25 answers; every individual look-up answered is in the audit log, and every call in the
    call log once the server has stopped."""
    from concurrent.futures import ThreadPoolExecutor

    with serving(api_home, "serve", "/v1/health", "--workers", "2") as base:
        issued = institutions.issue("two workers", "lender", 25, home=api_home)
        person = picks["person"]["subject_id"]
        before = len(audit.audit_log(api_home, subject_id=person))

        def call(_):
            with httpx.Client(base_url=base, timeout=60) as client:  # a connection each: both workers serve
                return client.get(f"/v1/subjects/{person}", headers=_auth(issued["key"]),
                                  params={"purpose": "two workers", "authorization_ref": "AUTH-2"}).status_code

        _early_in_the_minute()
        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(call, range(40)))
        assert codes.count(200) == 25 and codes.count(429) == 15
        log = audit.audit_log(api_home, subject_id=person)
        assert len(log) - before == 25 and (log.head(25)["purpose"] == "two workers").all()
    calls = institutions.calls(api_home)
    mine = calls[calls["key_id"] == issued["key_id"]]
    assert len(mine) == 40 and sorted(mine["status"].value_counts().to_dict().items()) == [(200, 25), (429, 15)]


def test_a_snapshot_published_while_clients_read_fails_no_request(api, api_home, picks):
    """Clients keep asking while `chengxin publish dashboard --force` switches the snapshot: no
    request fails, each answer names one snapshot and matches what the read model gives from
    it, and a client that has seen the new snapshot never gets the old one again."""
    from concurrent.futures import ThreadPoolExecutor

    from chengxin.pipelines import snapshot as snapshot_stage

    key = _auth(_key(api_home, "lender", rate=100_000))
    firms = list(readmodel.ratings(picks["snap"], "enterprise")["subject_id"].iloc[:50])
    old = readmodel.current(api_home).id
    stop = time.monotonic() + 30

    def client(_):
        seen = []
        # not checked against the document on the way (`api` is): that would starve the publication of this process
        with httpx.Client(base_url=api.base_url, timeout=60) as c:
            while time.monotonic() < stop and (len(seen) < 5 or seen[-1][0] == old):
                r = c.post("/v1/subjects:batch", json={"ids": firms}, headers=key)
                seen.append((r.json().get("snapshot"), r.status_code, r.json().get("results")))
        return seen

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(client, i) for i in range(4)]
        time.sleep(1.0)
        new = snapshot_stage.refresh(api_home, force=True)["snapshot"]
        answers = [f.result() for f in running]
    assert new != old
    for seen in answers:
        assert all(status == 200 for _, status, _ in seen)
        ids = [s for s, _, _ in seen]
        assert set(ids) <= {old, new} and ids[-1] == new
        assert ids == sorted(ids, key=lambda s: s == new)  # old ones first, then only the new one
    snaps = {name: readmodel.Snapshot(readmodel.root(api_home) / name,
                                      json.loads((readmodel.root(api_home) / name / "manifest.json").read_text("utf-8")))
             for name in (old, new)}
    lender = users.role("lender", api_home)
    expected = {name: [(c["subject_id"], c.get("grade"), c.get("as_of"), c.get("model_version"))
                       for c in readmodel.subject_cards(snap, firms, lender, home=api_home)] for name, snap in snaps.items()}
    for seen in answers:
        for name, _, results in seen:
            assert [(c["subject_id"], c.get("grade"), c.get("as_of"), c.get("model_version")) for c in results] == expected[name]


def test_the_watchlist_feed_follows_a_new_ratings_run_without_loss_or_repeat(api, api_home, picks):
    """Watch the rated firms, rate a new month end and publish: the feed returns exactly the
    tier and grade moves of the watched firms (worked out here from the two ratings files),
    list entries added and ended, and paging by cursor neither loses nor repeats one."""
    from chengxin import catalog
    from chengxin.desks import watchlists as changes
    from chengxin.pipelines import score
    from chengxin.pipelines import snapshot as snapshot_stage

    key = _auth(_key(api_home, "lender", rate=100_000))
    changes.record(api_home)  # the snapshot served now is the baseline
    firms = readmodel.ratings(readmodel.current(api_home), "enterprise")
    watched = list(firms["subject_id"].iloc[::2])  # every other firm
    person = picks["person"]["subject_id"]
    edit = api.put("/v1/watchlist", json={"add": [*watched, person, "not a code"]}, headers=key).json()
    assert edit["watching"] == len(watched) and sorted(edit["added"]) == sorted(watched)
    assert [(r["subject_id"], r["problem"]) for r in edit["rejected"]] == [(person, "needs-purpose"), ("not a code", "invalid-subject-id")]
    assert api.get("/v1/watchlist", headers=key).json()["subjects"] == sorted(watched)
    quiet = api.get("/v1/watchlist/changes", headers=key).json()
    assert quiet == {"changes": [], "next_cursor": "0", "more": False}

    before = firms.set_index("subject_id")[["tier", "grade"]]
    day = pd.Timestamp(readmodel.current(api_home).as_of("enterprise")) + pd.offsets.MonthEnd(1)
    score.score(day.date(), "enterprise", home=api_home)
    published = snapshot_stage.refresh(api_home)
    assert published["new"] and published["changes"] > 0
    after = pd.read_parquet(catalog.latest_ratings_run("enterprise", api_home)).set_index("subject_id")[["tier", "grade"]]
    expected = {(sid, kind, before.loc[sid, kind], after.loc[sid, kind])
                for sid in watched if sid in after.index for kind in ("tier", "grade")
                if before.loc[sid, kind] != after.loc[sid, kind]}
    assert expected  # a month later some watched firms moved

    whole = api.get("/v1/watchlist/changes", headers=key).json()
    assert not whole["more"]
    moves = {(c["subject_id"], c["kind"], c["previous"], c["current"]) for c in whole["changes"] if c["kind"] in ("tier", "grade")}
    assert moves == expected
    assert {c["subject_id"] for c in whole["changes"]} <= set(watched)
    assert {c["kind"] for c in whole["changes"]} <= set(state.CHANGE_KINDS)
    assert all(c["reason"] and c["reason_zh"] and c["snapshot"] == published["snapshot"] for c in whole["changes"])
    # paging: three at a time, from the same start, gives the same changes once each
    pages, cursor = [], "0"
    while True:
        page = api.get("/v1/watchlist/changes", params={"cursor": cursor, "limit": 3}, headers=key).json()
        pages += page["changes"]
        assert int(page["next_cursor"]) > int(cursor) if page["changes"] else page["next_cursor"] == cursor
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    assert [c["seq"] for c in pages] == [c["seq"] for c in whole["changes"]]
    assert api.get("/v1/watchlist/changes", params={"cursor": cursor}, headers=key).json()["changes"] == []
    # another institution watches nothing; a role without the watchlist may not use it
    other = _auth(institutions.issue("another bank", "lender", home=api_home)["key"])
    assert api.get("/v1/watchlist/changes", headers=other).json()["changes"] == []
    _problem(api.get("/v1/watchlist/changes", headers=_auth(_key(api_home, "department"))), 403, "forbidden")
    _problem(api.get("/v1/watchlist/changes", params={"cursor": "abc"}, headers=key), 400, "invalid-request")
    # removing stops the feed for that subject
    api.put("/v1/watchlist", json={"remove": watched}, headers=key)
    assert api.get("/v1/watchlist", headers=key).json()["subjects"] == []
    assert api.get("/v1/watchlist/changes", headers=key).json()["changes"] == []


def test_a_credit_check_returns_the_measures_its_entries_trigger_and_takes_feedback(api, api_home, picks):
    """Departments check a subject inside a decision: the verdict follows the strongest measure
    that the subject's active entries trigger for that action (measures.yaml), each measure with
    its legal basis and why; the feedback is kept and counted per department and action."""
    from chengxin.measures import measures_config

    catalogue = measures_config().by_code
    served = readmodel.current(api_home)  # what the server answers from now (earlier tests publish)
    entries = readmodel.list_entries(served)
    active = entries[(entries["status"] == "active") & (entries["subject_type"] == "enterprise")]
    tax = _auth(institutions.issue("tax bureau", "department", home=api_home)["key"])

    def run(sid, action, headers=tax):
        return api.post("/v1/checks", json={"subject_id": sid, "action": action, "purpose": "licence renewal",
                                            "case_ref": "TAX-2025-88"}, headers=headers)

    seen_verdicts = set()
    for sid, mine in list(active.groupby("subject_id"))[:15]:
        for action in ("procurement", "supervision", "licence"):
            out = run(sid, action).json()
            codes = {c for rule in mine["rule"] for c in next(r.measures for r in _list_rules() if r.name == rule)
                     if action in catalogue[c].actions}
            want_measures = {c for c in codes if catalogue[c].effect != "reward"}
            assert {m["code"] for m in out["measures"]} == want_measures
            assert {m["code"] for m in out["incentives"]} == codes - want_measures
            effects = {catalogue[c].effect for c in want_measures}
            assert out["verdict"] == ("barred" if "bar" in effects else "restricted" if "restrict" in effects else "clear")
            assert {e["rule"] for e in out["entries"]} == set(mine["rule"])
            assert all(m["basis_zh"] and m["basis_en"] and m["why"]["en"] and m["why"]["zh"] for m in out["measures"])
            seen_verdicts.add(out["verdict"])
    assert "barred" in seen_verdicts
    clean = next(s for s in readmodel.ratings(served, "enterprise")["subject_id"] if s not in set(entries["subject_id"]))
    clear = run(clean, "procurement").json()
    assert clear["verdict"] == "clear" and clear["entries"] == [] and clear["measures"] == []
    # feedback: only measures the check returned; only by the institution that ran it
    barred = next(sid for sid, g in active.groupby("subject_id") if run(sid, "procurement").json()["verdict"] == "barred")
    done = run(barred, "procurement").json()
    ok = api.post(f"/v1/checks/{done['check_id']}/feedback", json={"applied": ["BAR_PROCUREMENT"], "outcome": "bid refused"},
                  headers=tax)
    assert ok.status_code == 200 and ok.json()["applied"] == ["BAR_PROCUREMENT"]
    _problem(api.post(f"/v1/checks/{done['check_id']}/feedback", json={"applied": ["AWARDS_FIRST"], "outcome": "x"},
                      headers=tax), 400, "invalid-feedback")
    other = _auth(institutions.issue("market regulator", "department", home=api_home)["key"])
    _problem(api.post(f"/v1/checks/{done['check_id']}/feedback", json={"applied": [], "outcome": "x"}, headers=other),
             404, "unknown-check")
    _problem(run(barred, "space travel"), 400, "unknown-action")
    _problem(run(barred, "procurement", headers=_auth(_key(api_home, "lender"))), 403, "forbidden")
    _problem(run(barred, "procurement", headers={}), 401, "unauthorized")
    # an individual: checked with the case as its reference, audited first
    person = picks["person"]["subject_id"]
    before = len(audit.audit_log(api_home, subject_id=person))  # (firms' checks are logged too, a second later)
    assert run(person, "hiring").status_code == 200
    assert len(audit.audit_log(api_home, subject_id=person)) == before + 1
    stats = readmodel.check_statistics(users.role("admin", api_home), api_home).set_index(["institution", "action"])
    with pytest.raises(readmodel.NotAllowed):
        readmodel.check_statistics(users.role("department", api_home), api_home)
    row = stats.loc[("tax bureau", "procurement")]
    assert row["checks"] >= 17 and row["with_feedback"] == 1 and row["measures_applied"] == 1 and row["barred"] >= 2


def _list_rules():
    from chengxin import lists

    return lists.lists_config().rules


def test_cases_over_the_api_flag_at_once_and_a_departments_key_decides_its_own_records(api, api_home, picks):
    """The office files through its key, the look-up flags the record at once, another
    department's key may not decide, the providing department's key decides and the answer
    carries the re-rating; problems are problem+json."""
    import duckdb

    from chengxin import catalog

    with duckdb.connect(str(catalog.warehouse(api_home)), read_only=True) as con:
        firm, decision_no, department = con.execute(
            "SELECT subject_id, decision_no, deciding_department FROM rec_penalty WHERE _superseded_on IS NULL "
            "AND _status IS NULL ORDER BY subject_id LIMIT 1").fetchall()[0]
    office, lender = _key(api_home, "admin"), _key(api_home, "lender")
    theirs = institutions.issue(department, "department", None, home=api_home)["key"]
    other = institutions.issue("not " + department, "department", None, home=api_home)["key"]
    body = {"kind": "objection", "subject_id": firm, "record": f"penalty:{decision_no}", "reason": "wrong fine"}
    _problem(api.post("/v1/cases", json=body), 401, "unauthorized")
    _problem(api.post("/v1/cases", json=body, headers=_auth(lender)), 403, "forbidden")
    _problem(api.post("/v1/cases", json=body, headers=_auth(theirs)), 403, "case-forbidden")  # departments do not file
    filed = api.post("/v1/cases", json=body, headers=_auth(office))
    assert filed.status_code == 201, filed.text
    case = filed.json()
    _problem(api.post("/v1/cases", json=body, headers=_auth(office)), 409, "case-conflict")
    card = api.get(f"/v1/subjects/{firm}", headers=_auth(lender)).json()
    assert card["under_objection"][0]["case"] == case["case_no"] and card["under_objection"][0]["text_zh"] == "异议处理中"
    assert [c["case_no"] for c in api.get("/v1/cases", headers=_auth(theirs)).json()["cases"]] == [case["case_no"]]
    assert api.get("/v1/cases", headers=_auth(other)).json()["cases"] == []
    desk = api.get("/v1/cases", headers=_auth(office)).json()
    one = api.get("/v1/cases", params={"limit": 1}, headers=_auth(office)).json()
    assert one["cases"] == desk["cases"][:1] and one["total"] == desk["total"] == len(desk["cases"])
    _problem(api.get(f"/v1/cases/{case['case_no']}", headers=_auth(other)), 404, "unknown-case")
    decision = {"decision": "correct", "set": {"fine_amount": "1000"}, "note": "the fine was 1000"}
    # deciding a case it may not see: the same 404 as the GET (naming no provider)
    _problem(api.post(f"/v1/cases/{case['case_no']}/decision", json=decision, headers=_auth(other)), 404, "unknown-case")
    _problem(api.post(f"/v1/cases/{case['case_no']}/decision", json={**decision, "set": {"fine_amount": "x"}},
                      headers=_auth(theirs)), 400, "invalid-case")
    done = api.post(f"/v1/cases/{case['case_no']}/decision", json=decision, headers=_auth(theirs))
    assert done.status_code == 200, done.text
    assert done.json()["decided_for"] == department and done.json()["rerated"]["cause"] == f"case:{case['case_no']}"
    card = api.get(f"/v1/subjects/{firm}", headers=_auth(lender)).json()
    assert card["under_objection"] == [] and card["restated"]["cause"] == f"case:{case['case_no']}"
    _problem(api.post(f"/v1/cases/{case['case_no']}/decision", json=decision, headers=_auth(theirs)), 409, "case-conflict")


def test_a_report_over_the_api_is_a_pdf_that_verifies_by_number(api, api_home, picks):
    from chengxin import reports

    if not reports.fonts_found(api_home):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    firm = picks["firm"]["subject_id"]
    got = api.get(f"/v1/subjects/{firm}/report", params={"kind": "public"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf" and got.content.startswith(b"%PDF")
    number, code = got.headers["X-Report-Number"], got.headers["X-Report-Code"]
    assert reports.verify_file(got.content, api_home)["number"] == number
    checked = api.get(f"/v1/reports/{number}/verify", params={"code": code}).json()
    assert checked["authentic"] and checked["subject"] == firm and checked["kind"] == "public"
    _problem(api.get(f"/v1/reports/{number}/verify", params={"code": "NOTTHECODE"}), 404, "unknown-report")
    _problem(api.get(f"/v1/subjects/{firm}/report", params={"kind": "lender"}), 401, "unauthorized")
    lender = api.get(f"/v1/subjects/{firm}/report", params={"kind": "lender"}, headers=_auth(_key(api_home, "lender")))
    assert lender.status_code == 200 and lender.headers["content-type"] == "application/pdf"


def test_every_route_declares_its_access_once_and_no_endpoint_checks_by_hand(api_home):
    """The key, role, scope and quota are one dependency per route (`access.Access`): each
    /v1/ route but the public health, ping and verification declares exactly one, and no
    route module checks a scope or counts a quota itself."""
    from fastapi.routing import APIRoute

    from chengxin.api import routes

    public = {"/v1/health", "/v1/ping", "/v1/reports/{number}/verify"}
    app = server.create_app(api_home)
    served = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1/")]
    assert len(served) >= 18
    for route in served:
        declared = [d.call for d in route.dependant.dependencies if isinstance(d.call, access.Access)]
        assert len(declared) == (0 if route.path in public else 1), (route.path, declared)
    scopes = {d.call.scope for r in served for d in r.dependant.dependencies if isinstance(d.call, access.Access)}
    assert scopes == set(users.API_SCOPES)  # every scope guards some route
    for module in Path(routes.__file__).parent.glob("*.py"):
        text = module.read_text("utf-8")
        assert ".may(" not in text and "take(" not in text and "charge(" not in text, module.name
    with pytest.raises(ValueError, match="unknown API scope"):
        access.Access("everything")


def test_an_endpoint_is_a_function_called_on_its_own(api, api_home, picks):
    """An endpoint needs no app: called with a caller and a workspace it answers what the route
    answers once in its declared shape, and raises the problem the route answers with."""
    from chengxin.api import shapes
    from chengxin.api.problems import Problem
    from chengxin.api.routes import cases as case_routes
    from chengxin.api.routes import lists as list_routes

    def declared(model, value):
        return model.model_validate(value).model_dump(mode="json", by_alias=True)

    key = _key(api_home, "agency")
    stored = institutions.authenticate(key, api_home)
    agency = access.Caller(stored, users.role(stored["role"], api_home))
    criteria = list_routes.get_criteria(agency, shapes.SubjectType.enterprise, api_home)
    assert declared(shapes.Criteria, criteria) == api.get("/v1/criteria/enterprise", headers=_auth(key)).json()
    with pytest.raises(Problem) as refused:
        list_routes.get_criteria(agency, shapes.SubjectType.enterprise, api_home, version="no-such")
    assert refused.value.slug == "unknown-criteria" and refused.value.status == 404
    desk_key = _key(api_home, "admin")
    office = institutions.authenticate(desk_key, api_home)
    admin = access.Caller(office, users.role(office["role"], api_home))
    listed = case_routes.list_cases(admin, api_home, status=None, overdue=False, subject_id=None)
    assert declared(shapes.CasePage, listed) == api.get("/v1/cases", headers=_auth(desk_key)).json()
    with pytest.raises(Problem) as refused:  # what the API raises through the dependency is the same refusal
        asyncio.run(access.Access("cases")(_request(api_home, key)))
    assert refused.value.slug == "forbidden" and "handle cases" in refused.value.body("/")["detail"]


def _request(home, key: str):
    """A bare request with a key, as an `Access` dependency reads it."""
    from starlette.requests import Request

    app = server.create_app(home)
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"authorization", f"Bearer {key}".encode())],
                    "query_string": b"", "app": app, "client": ("127.0.0.1", 1)})


def test_the_document_says_how_to_send_a_key_and_only_what_the_api_answers(api, api_home):
    """The OpenAPI document names the bearer key (Swagger's Authorize button, generated clients),
    marks it optional exactly where the public may call without one, and lists no 422: a request
    that does not validate is a 400 problem, worded in Chinese too."""
    spec = api.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["key"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["key"]["description"]}
    public = set(users.role(users.PUBLIC, api_home).api)
    assert public == {"subjects", "lists", "criteria"}
    ops = {(path, method): op for path, item in spec["paths"].items() for method, op in item.items()}
    assert ops[("/v1/subjects/{subject_id}", "get")]["security"] == [{}, {"key": []}]
    assert ops[("/v1/lists/{which}", "get")]["security"] == [{}, {"key": []}]
    for needs_a_key in [("/v1/subjects:batch", "post"), ("/v1/checks", "post"), ("/v1/cases", "get"), ("/v1/watchlist", "put")]:
        assert ops[needs_a_key]["security"] == [{"key": []}], needs_a_key
    assert "security" not in ops[("/v1/health", "get")] and "security" not in ops[("/v1/reports/{number}/verify", "get")]
    assert not [k for k, op in ops.items() if "422" in op["responses"]]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    too_long = _problem(api.get("/v1/subjects/" + "9" * 65), 400, "invalid-request")
    assert "太长（最多 64 个字符）" in too_long["detail_zh"] and "String" not in too_long["detail_zh"]
    assert "at most 64 characters" in too_long["detail"]
    empty = _problem(api.post("/v1/subjects:batch", json={"ids": []}, headers=_auth(_key(api_home, "lender"))), 400,
                     "invalid-request")
    assert "太少" in empty["detail_zh"] and "body.ids" in empty["detail_zh"]


def test_an_unknown_county_is_refused_not_an_empty_list(api, api_home):
    county = _problem(api.get("/v1/lists/red", params={"county": "XYZ"}), 400, "invalid-request")
    assert "XYZ" in county["detail"] and "区县代码" in county["detail_zh"]
    known = api.get("/v1/lists/black", params={"county": "610302"})
    assert known.status_code == 200 and all(e["county"] == "610302" for e in known.json()["entries"])
    assert all(e["county_name"] == "渭滨区" for e in known.json()["entries"])  # the county by name beside its code


def test_lists_come_a_page_at_a_time_with_their_total(api, api_home):
    whole = api.get("/v1/lists/black", params={"limit": 1000}).json()
    total = whole["total"]
    assert total == len(whole["entries"]) > 3 and whole["next_offset"] is None
    first = api.get("/v1/lists/black", params={"limit": 2}).json()
    assert len(first["entries"]) == 2 and first["total"] == total and first["next_offset"] == 2
    walked, offset = [], 0
    while offset is not None:  # following next_offset visits every entry once, in the whole list's order
        page = api.get("/v1/lists/black", params={"limit": 3, "offset": offset}).json()
        walked += page["entries"]
        offset = page["next_offset"]
    assert walked == whole["entries"]
    beyond = api.get("/v1/lists/black", params={"offset": total + 5}).json()
    assert beyond["entries"] == [] and beyond["total"] == total and beyond["next_offset"] is None
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "٣"}):  # an Arabic-Indic digit is no number here
        _problem(api.get("/v1/lists/black", params=bad), 400, "invalid-request")


def test_the_audit_log_reads_as_words(api, api_home, picks):
    """Who looked, by name (a key's institution, not `api:<id>`), the role and the action in
    words, times to the second, the detail as words, not JSON."""
    key = _key(api_home, "lender")
    person = picks["person"]["subject_id"]
    asked = {"purpose": "loan 9 words", "authorization_ref": "AUTH-9"}
    assert api.get(f"/v1/subjects/{person}", params=asked, headers=_auth(key)).status_code == 200
    entries = readmodel.audit_entries(users.role("admin", api_home), "zh", api_home)
    mine = entries[entries["purpose"] == "loan 9 words"]
    assert len(mine) == 1 and mine["user"].iloc[0] == "test lender" and mine["action"].iloc[0] == "接口查询"
    assert mine["role"].iloc[0] == "金融机构"
    assert entries["at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert not entries["user"].str.startswith("api:").any() and not entries["detail"].str.startswith("{").any()
    with pytest.raises(readmodel.NotAllowed):
        readmodel.audit_entries(users.role("lender", api_home), "zh", api_home)
