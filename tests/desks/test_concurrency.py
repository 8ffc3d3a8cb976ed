"""Issue 32, point 6: reports and case decisions under concurrency, against a real server
(`chengxin serve --workers 2`, uvicorn on a free port) and the library the dashboard calls.

- many credit reports at once (each kind): all 200 with a PDF (one typst compiler shared by
  threads answered 500 "Already borrowed");
- four decisions of one case at once: one 200, three 409; two departments deciding two cases
  at once: both 200 and both re-ratings published (a read-only warehouse connection beside a
  read-write one in the same process failed; two re-ratings could lose one's result);
- the warehouse opened read-only while it is open read-write in the same process (and the
  reverse), and two hosts sharing the state database deciding one case at once."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from chengxin import catalog, readmodel, reports, state, users, warehouse
from chengxin.desks import cases, institutions
from conftest import serving

N = 16  # concurrent requests of each report kind


@pytest.fixture(scope="module")
def fonts(api_home):
    if not reports.fonts_found(api_home):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk; .ci/run installs it)")


@pytest.fixture(scope="module")
def server(api_home):
    """`chengxin serve` with two worker processes (each with its thread pool) on a free port."""
    with serving(api_home, "serve", "/v1/health", "--workers", "2") as base:
        yield base


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _at_once(base: str, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """Send every request at the same moment (one connection each) and return the answers in order."""
    async def run():
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(client.request(method, url, **kw) for method, url, kw in requests))

    return asyncio.run(run())


@pytest.fixture(scope="module")
def firm(api_home) -> str:
    return readmodel.ratings(readmodel.current(api_home), "enterprise").iloc[0]["subject_id"]


def test_many_reports_of_each_kind_at_once_are_all_pdfs(server, api_home, fonts, firm):
    # with a key: without one, an address may have 10 reports a minute (roles.yaml report_rate_per_minute)
    lender = _auth(institutions.issue("concurrency lender", "lender", 10_000, home=api_home)["key"])
    url = f"/v1/subjects/{firm}/report"
    asked = [("GET", url, {"params": {"kind": kind}, "headers": lender}) for kind in reports.KINDS for _ in range(N)]
    answers = _at_once(server, asked)
    failed = [(kind, r.status_code, r.text[:300]) for (_, _, kw), r in zip(asked, answers)
              for kind in [kw["params"]["kind"]] if r.status_code != 200]
    assert failed == [], f"{len(failed)} of {len(asked)} failed: {failed[:3]}"
    for r in answers:
        assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert len({r.headers["X-Report-Number"] for r in answers}) == len(asked)
    with state.connect(api_home) as con:  # every one recorded, so every one verifies
        recorded = con.scalar(sa.select(sa.func.count()).select_from(state.REPORTS).where(
            state.REPORTS.c.number.in_([r.headers["X-Report-Number"] for r in answers])))
    assert recorded == len(asked)


def _penalties(home) -> pd.DataFrame:
    """Current penalties, one per firm, with their deciding department."""
    with warehouse.connect(home, read_only=True) as con:
        return con.execute(f"""SELECT subject_id, decision_no, deciding_department FROM rec_penalty
                               WHERE {warehouse.CURRENT} QUALIFY row_number() OVER (PARTITION BY subject_id
                               ORDER BY decision_no) = 1 ORDER BY subject_id""").df()


def _file(base: str, office: str, firm: str, decision_no: str) -> int:
    filed = httpx.post(base + "/v1/cases", headers=_auth(office), timeout=60,
                       json={"kind": "objection", "subject_id": firm, "record": f"penalty:{decision_no}",
                             "reason": "wrong fine"})
    assert filed.status_code == 201, filed.text
    return filed.json()["case_no"]


def _decision(case_no: int, key: str, fine: str) -> tuple[str, str, dict]:
    return ("POST", f"/v1/cases/{case_no}/decision",
            {"json": {"decision": "correct", "set": {"fine_amount": fine}, "note": f"the fine was {fine}"},
             "headers": _auth(key)})


@pytest.fixture(scope="module")
def penalties(server, api_home):
    """Three firms' penalties: two of different departments, and a third; and the office's key."""
    found = _penalties(api_home)
    first = found.iloc[0]
    second = found[found["deciding_department"] != first["deciding_department"]].iloc[0]
    third = found[~found["subject_id"].isin([first["subject_id"], second["subject_id"]])].iloc[0]
    return [first, second, third], institutions.issue("concurrency office", "admin", 10_000, home=api_home)["key"]


def test_four_decisions_of_one_case_at_once_one_wins_and_three_conflict(server, api_home, penalties):
    (_, _, pick), office = penalties
    case_no = _file(server, office, pick["subject_id"], pick["decision_no"])
    key = institutions.issue(pick["deciding_department"], "department", 10_000, home=api_home)["key"]
    answers = _at_once(server, [_decision(case_no, key, str(1000 + k)) for k in range(4)])
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], [(r.status_code, r.text[:300]) for r in answers]
    won = next(r for r in answers if r.status_code == 200).json()
    assert won["status"] == "decided" and won["rerated"]["cause"] == f"case:{case_no}"
    for r in answers:
        if r.status_code == 409:
            assert r.json()["type"].endswith("case-conflict")
    case = cases.show(case_no, home=api_home)
    assert [e["event"] for e in case["events"]] == ["filed", "decided", "rerated"]  # decided once, re-rated once
    assert case["changes"]["sets"] == won["changes"]["sets"]
    with warehouse.connect(api_home, read_only=True) as con:  # one new version of the record, not four
        versions = con.execute("SELECT count(*) FROM rec_penalty WHERE _case = ?", [case_no]).fetchall()[0][0]
    assert versions == 1


def test_two_departments_deciding_two_cases_at_once_both_rerate(server, api_home, penalties):
    (one, two, _), office = penalties
    picks = [one, two]
    filed = [_file(server, office, p["subject_id"], p["decision_no"]) for p in picks]
    keys = [institutions.issue(p["deciding_department"], "department", 10_000, home=api_home)["key"] for p in picks]
    answers = _at_once(server, [_decision(n, k, "777") for n, k in zip(filed, keys)])
    assert [r.status_code for r in answers] == [200, 200], [r.text[:300] for r in answers]
    # neither re-rating lost: the latest ratings run and the served snapshot carry both
    latest = pd.read_parquet(catalog.latest_ratings_run("enterprise", api_home)).set_index("subject_id")
    lender = institutions.issue("concurrency lender 2", "lender", 10_000, home=api_home)["key"]
    for p, n in zip(picks, filed):
        assert latest.loc[p["subject_id"], "cause"] == f"case:{n}"
        card = httpx.get(f"{server}/v1/subjects/{p['subject_id']}", headers=_auth(lender), timeout=60).json()
        assert card["restated"]["cause"] == f"case:{n}" and card["under_objection"] == []


def test_the_dashboards_report_button_from_two_sessions_at_once(api_home, fonts, firm):
    """What the look-up page's report button calls (app/pages/lookup.py: `reports.issue` on the
    current snapshot for the session's user), from two threads at once, in several rounds."""
    role = users.role("public", api_home)
    got, errors = [], []

    def session(barrier):
        try:
            barrier.wait()
            got.append(reports.issue(readmodel.current(api_home), firm, "public", reports.Reader("public", role),
                                     home=api_home))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(repr(exc))

    for _ in range(3):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=session, args=(barrier,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and len(got) == 6
    assert all(i.data.startswith(b"%PDF") and reports.verify_file(i.data, api_home)["number"] == i.number for i in got)


# --- the library underneath --------------------------------------------------------------------


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, out


def _count(read_only: bool, home):
    with warehouse.connect(home, read_only=read_only) as con:
        return con.execute("SELECT count(*) FROM rec_penalty").fetchall()[0][0]


def _workspace(dashboard_home, folder):
    """A workspace holding a copy of the rated city's warehouse (nothing else)."""
    folder.mkdir(parents=True)
    shutil.copy2(catalog.warehouse(dashboard_home), catalog.warehouse(folder))
    return folder


def test_the_warehouse_opens_read_only_while_open_read_write_in_the_process(dashboard_home, tmp_path):
    home = _workspace(dashboard_home, tmp_path / "home")
    with warehouse.connect(home) as writer:
        writer.execute("SELECT 1").fetchall()
        t, out = _in_thread(lambda: _count(True, home))
        t.join(timeout=60)
        assert "error" not in out, out.get("error")
        assert out["value"] > 0


def test_a_writer_waits_for_the_readers_of_the_process(dashboard_home, tmp_path):
    home = _workspace(dashboard_home, tmp_path / "home")
    with warehouse.connect(home, read_only=True) as reader:
        t, out = _in_thread(lambda: _count(False, home))
        assert reader.execute("SELECT count(*) FROM rec_penalty").fetchall()[0][0] > 0
    t.join(timeout=60)
    assert "error" not in out, out.get("error")
    assert out["value"] > 0
    with warehouse.connect(home) as con, warehouse.connect(home, read_only=True) as nested:
        assert con.execute("SELECT 1").fetchall() == nested.execute("SELECT 1").fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_hosts(request, dashboard_home, tmp_path, monkeypatch):
    """Two workspaces (two hosts: their own warehouse copies and lock files) sharing one state
    database through CHENGXIN_DB_URL."""
    url = (f"sqlite:///{tmp_path / 'shared.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    if request.param == "postgresql":
        engine = sa.create_engine(url)
        with engine.begin() as con:  # a fresh schema for this test
            state.METADATA.drop_all(con)
        engine.dispose()
    homes = [_workspace(dashboard_home, tmp_path / name) for name in ("host_a", "host_b")]
    monkeypatch.setenv(state.URL_ENV, url)
    state.forget_engines()
    yield homes
    state.forget_engines()


def test_two_hosts_sharing_the_state_cannot_both_decide_a_case(two_hosts, monkeypatch):
    a, b = two_hosts
    with warehouse.connect(a, read_only=True) as con:
        firm, decision_no = con.execute(f"SELECT subject_id, decision_no FROM rec_penalty WHERE {warehouse.CURRENT} "
                                        "ORDER BY subject_id LIMIT 1").fetchall()[0]
    case_no = cases.file("objection", firm, record=f"penalty:{decision_no}", reason="wrong", home=a)["case_no"]
    both_read_it_open = threading.Barrier(2, timeout=60)
    effect = cases._effect

    def meeting(*args, **kwargs):  # both hosts have read the case as open before either decides
        both_read_it_open.wait()
        return effect(*args, **kwargs)

    monkeypatch.setattr(cases, "_effect", meeting)
    runs = [_in_thread(lambda h=h, fine=fine: cases.decide(case_no, "correct", by=None, note="n", sets=[f"fine_amount={fine}"],
                                                          home=h)) for h, fine in ((a, "1"), (b, "2"))]
    for t, _ in runs:
        t.join(timeout=120)
    outcomes = [type(out["error"]).__name__ if "error" in out else "decided" for _, out in runs]
    assert sorted(outcomes) == ["Conflict", "decided"], [out.get("error") for _, out in runs]
    case = cases.show(case_no, home=a)
    assert [e["event"] for e in case["events"]] == ["filed", "decided"]
    won = a if outcomes[0] == "decided" else b
    lost = b if won == a else a
    for h, versions in ((won, 1), (lost, 0)):  # the loser wrote nothing to its warehouse
        with warehouse.connect(h, read_only=True) as con:
            assert con.execute("SELECT count(*) FROM rec_penalty WHERE _case = ?", [case_no]).fetchall()[0][0] == versions


def test_the_decisions_lock_holds_across_processes_and_is_reentrant_in_its_thread(tmp_path):
    from chengxin import workspace

    other = [sys.executable, "-c", "import sys; from chengxin import workspace\n"
             "try:\n    with workspace.lock('decisions', sys.argv[1], timeout=0.3): pass\n"
             "except workspace.Busy: sys.exit(3)", str(tmp_path)]
    with workspace.lock(cases.DECISIONS_LOCK, tmp_path):
        with workspace.lock(cases.DECISIONS_LOCK, tmp_path):  # the holder's own nested call goes on
            assert subprocess.run(other).returncode == 3  # another process waits, then gives up
        t, out = _in_thread(lambda: workspace.lock(cases.DECISIONS_LOCK, tmp_path, timeout=0.3).__enter__())
        t.join(timeout=30)
        assert isinstance(out.get("error"), workspace.Busy)  # and so does another thread of this one
    assert subprocess.run(other).returncode == 0
