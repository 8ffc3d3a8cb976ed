"""The shared state (`chengxin.state`) on both databases it supports: SQLite (the default) and a
real PostgreSQL server (`CHENGXIN_DB_URL`). The same behaviour on each: keys, quotas under
concurrent workers, the call log, the desk's audit log, alerts and comments (issue 21)."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from chengxin import audit, readmodel, state, users
from chengxin.desks import alerts as alert_desk
from chengxin.desks import comments, institutions, signins
from chengxin.readmodel import criteria as criteria_room


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch):
    """A workspace whose shared state is an empty SQLite file or an emptied PostgreSQL database."""
    monkeypatch.setenv("CHENGXIN_HOME", str(tmp_path))
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv(state.URL_ENV, url)
        state.forget_engines()
        state.METADATA.drop_all(state.engine(tmp_path))
        state.forget_engines()  # the next engine() creates the tables again
    else:
        monkeypatch.delenv(state.URL_ENV, raising=False)
    yield tmp_path
    state.forget_engines()
    for kept in (institutions._KNOWN, institutions._LEASES, institutions._LEFT):
        kept.clear()


def test_the_url_says_which_database(db):
    assert state.engine(db).dialect.name in ("sqlite", "postgresql")
    assert set(state.METADATA.tables) <= set(__import__("sqlalchemy").inspect(state.engine(db)).get_table_names())


def test_keys_are_stored_as_hashes_and_revocation_holds(db):
    issued = institutions.issue("Demo Bank", "lender", 30, home=db)
    assert issued["key"].startswith(f"cx_{issued['key_id']}_") and len(issued["key"]) > 40
    with state.connect(db) as con:
        stored = con.execute(state.API_KEYS.select()).mappings().one()
    assert issued["key"] not in str(dict(stored)) and stored["secret_sha256"] != issued["key"]
    found = institutions.authenticate(issued["key"], db)
    assert found["institution"] == "Demo Bank" and found.role.name == "lender" and found["rate_per_minute"] == 30
    wrong = issued["key"][:-2] + ("aa" if not issued["key"].endswith("aa") else "bb")
    assert institutions.authenticate(wrong, db) is None  # the right id with the wrong secret
    assert institutions.authenticate("cx_nothing", db) is None
    institutions.revoke(issued["key_id"], home=db)
    assert institutions.authenticate(issued["key"], db) is None
    listed = institutions.listed(db)
    assert list(listed["key_id"]) == [issued["key_id"]] and listed["revoked_at"].notna().all()
    with pytest.raises(institutions.UnknownKey):
        institutions.revoke("no-such-id", home=db)
    for role in (users.PUBLIC, "nobody"):
        with pytest.raises(institutions.workspace.UserError):
            institutions.issue("X", role, home=db)


def test_a_quota_is_counted_once_by_many_threads_at_once(db):
    key = institutions.authenticate(institutions.issue("Busy Bank", "lender", 20, home=db)["key"], db)
    minute = 1_000_000 * 60.0 + 5  # a fixed minute: the test does not straddle two
    answers = []

    def call():
        answers.append(institutions.take(key, 1, db, now=minute))

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(0) == 20 and all(a == 55 for a in answers if a)  # Retry-After: the minute's rest
    assert institutions.take(key, 1, db, now=minute + 60) == 0  # the next minute starts afresh
    assert institutions.take(key, 21, db, now=minute + 120) > 0  # a batch larger than the quota
    assert institutions.take(key, 20, db, now=minute + 120) == 0  # ... was not counted


def test_the_call_log_keeps_every_row_it_was_given(db):
    log = institutions.CallLog(db, interval=0.05)
    log.start()
    key = institutions.authenticate(institutions.issue("Agency", "agency", home=db)["key"], db)
    for i in range(30):
        log.add(key=key if i % 2 else None, role="agency" if i % 2 else "public", method="GET",
                endpoint="/v1/subjects/{subject_id}", subjects=[f"id{i}"], purpose=None, authorization_ref=None,
                status=200, ms=1.0)
    log.stop()
    calls = institutions.calls(db)
    assert len(calls) == 30 and calls["key_id"].notna().sum() == 15
    assert set(calls["subjects"]) == {f'["id{i}"]' for i in range(30)}


def test_the_desk_works_the_same_on_either_database(db):
    audit.audit_many("api_lookup", ["610302198001011234", "610302198001021230"], "loan 7", user="api:abc", role="lender",
                    detail={"authorization_ref": "AUTH-1"}, home=db)
    log = audit.audit_log(db)
    assert sorted(log["subject_id"]) == ["610302198001011234", "610302198001021230"] and set(log["user"]) == {"api:abc"}
    alerts = pd.DataFrame([{c: None for c in state.ALERT_COLUMNS} | {
        "subject_id": f"9161010{i}MA000000{i}X", "subject_type": "enterprise", "as_of": "2025-03-31", "severity": "high",
        "score": 10.0 - i, "signals": "[]", "pd": 0.1} for i in range(3)])
    assert alert_desk.store_alerts(alerts, home=db) == 3
    first = alerts["subject_id"].iloc[0]
    alert_desk.set_alert_status("2025-03-31", first, "acknowledged", "called them", user="analyst1", home=db)
    assert alert_desk.store_alerts(alerts.assign(severity="medium"), home=db) == 3  # re-raised: status kept
    stored = readmodel.alerts(db).set_index("subject_id")
    assert stored.loc[first, "status"] == "acknowledged" and set(stored["severity"]) == {"medium"}
    assert list(readmodel.alerts(db)["subject_id"]) == list(alerts["subject_id"])  # the desk's order
    comments.add_comment("enterprise", "1", "too strict on arrears", name="Li", home=db)
    assert criteria_room.comments(users.role("admin", db), db)["text"].tolist() == ["too strict on arrears"]
    for ok in (False, True):
        signins.record_login("lender1", ok, home=db)
    assert signins.failed_logins("lender1", 5, db) == 0


def test_a_large_quota_is_drawn_in_leases_and_never_served_twice(db, monkeypatch):
    """A key of 1,000 a minute is counted in leases of 10: two workers (two lease books) taking
    turns are served at most 1,000 in the minute, and at least 1,000 less what each may hold
    unused; the database is written about once per lease, not once per request."""
    key = institutions.authenticate(institutions.issue("Big Bank", "lender", 1000, home=db)["key"], db)
    minute = 2_000_000 * 60.0
    books = [{}, {}]  # each worker's leases
    served, writes = 0, []
    real_connect = state.connect

    def counting(home=None):
        writes.append(1)
        return real_connect(home)

    monkeypatch.setattr(state, "connect", counting)
    refusals = [{}, {}]
    for i in range(1200):
        monkeypatch.setattr(institutions, "_LEASES", books[i % 2])
        monkeypatch.setattr(institutions, "_LEFT", refusals[i % 2])
        served += institutions.take(key, 1, db, now=minute + i * 0.01) == 0
    assert 1000 - 2 * 10 <= served <= 1000
    assert len(writes) < 1000 / 10 + 10  # a write per lease (and a refusal per worker), not per request
    monkeypatch.setattr(state, "connect", real_connect)
    with state.connect(db) as con:
        used = con.execute(state.API_QUOTA.select()).mappings().one()["used"]
    assert used <= 1000
