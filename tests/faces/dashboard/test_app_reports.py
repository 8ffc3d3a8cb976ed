"""Credit reports in the dashboard with Streamlit's AppTest: issued on the look-up (by role: the
lender's report only for lender, analyst and admin; an individual's with the look-up's purpose
and an authorization reference) and on My credit (a subject's own, with its free reports
counted), downloaded as PDF, and verified by anyone on the verify page. On a copy of the rated
city, so the reports issued here stay there."""

from __future__ import annotations

import hashlib
import re
import os
import shutil

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from chengxin import audit, dashboard, i18n, readmodel, reports, users

APP = str(dashboard.app_path())
PAGES = {p: f"pages/{p}.py" for p in users.PAGES}
OWN_FIRM, OWN_PERSON = "self1", "self2"
PUBLIC_KINDS = ["公共信用信息报告", "专用信用报告（替代有无违法违规记录证明）"]  # the public and certificate reports
LENDER_KIND = "信用评价报告（金融机构版）"


@pytest.fixture(scope="module")
def report_home(dashboard_home, tmp_path_factory):
    """A copy of the rated city (its own shared state: the reports issued here stay here), with
    the demo users and two subjects' own accounts: a rated firm (self1) and a rated person (self2)."""
    home = tmp_path_factory.mktemp("reports") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    before = os.environ.get("CHENGXIN_HOME")
    os.environ["CHENGXIN_HOME"] = str(home)
    snap = readmodel.current(home)
    firm = sorted(readmodel.ratings(snap, "enterprise")["subject_id"])[0]
    rated = set(readmodel.ratings(snap, "individual")["subject_id"])
    people = readmodel.subjects(snap)
    person = sorted(people.loc[(people["subject_type"] == "individual") & people["subject_id"].isin(rated), "subject_id"])[0]
    listed = {name: u.model_dump(exclude={"username"}, exclude_none=True) for name, u in users.declared_roles().users.items()}
    for name, sid in ((OWN_FIRM, firm), (OWN_PERSON, person)):
        listed[name] = {"display": f"{name} itself", "role": "subject", "subject": sid,
                        "password_bcrypt": listed["admin1"]["password_bcrypt"]}
    (home / "users.yaml").write_text(yaml.safe_dump({"users": listed}, allow_unicode=True), "utf-8")
    yield {"home": home, "firm": firm, "person": person}
    if before is None:
        os.environ.pop("CHENGXIN_HOME", None)
    else:
        os.environ["CHENGXIN_HOME"] = before


def needs_font(home) -> None:
    if not reports.fonts_found(home):
        pytest.skip("no CJK font for the PDF (apt-get install fonts-noto-cjk)")


def app(username: str | None, page: str, lang: str = "zh", **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if username:
        at.session_state["user"] = users.roles_config().users[username]
    at.session_state["lang"] = lang
    ok(at.run())
    for k, v in state.items():
        at.session_state[k] = v
    return ok(at.switch_page(PAGES[page]).run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def downloads(at: AppTest) -> list:
    return [b for b in at.get("download_button") if b.label == i18n.t("report_download")]


# --- verify ------------------------------------------------------------------------------------


def test_every_role_may_verify():
    assert all("verify" in role.pages for role in users.declared_roles().roles.values())


def test_the_public_verifies_a_report_by_number_and_code(report_home):
    at = app(None, "verify")
    assert [t.value for t in at.title] == ["核验报告"]
    assert not at.error and not at.success  # nothing asked yet
    ok(at.button(key="verify_go").click().run())  # nothing given
    assert [w.value for w in at.warning] == [i18n.t("verify_needs")]

    at.text_input(key="verify_number").input("CX20250101-0123456789")  # made up
    at.text_input(key="verify_code").input("ABCDEFGHIJKLMNOPQRST")
    ok(at.button(key="verify_go").click().run())
    assert [e.value for e in at.error] == [i18n.t("report_unknown")] and not at.success
    assert "不存在或已被篡改" in at.error[0].value

    # a report the platform issued (HTML needs no font; the number and code are checked the same)
    snap = readmodel.current(report_home["home"])
    issued = reports.issue(snap, report_home["firm"], "public", reports.Reader("admin1", users.role("admin")), fmt="html")
    at.text_input(key="verify_number").input(issued.number)
    at.text_input(key="verify_code").input(issued.record["code"].lower())  # as a person may type it
    ok(at.button(key="verify_go").click().run())
    assert [s.value for s in at.success] == [i18n.t("report_authentic")] and not at.error
    page = re.sub(r"\\(.)", r"\1", "\n".join(m.value for m in at.markdown))  # as shown: without `ui.plain`'s escapes
    for value in (issued.number, report_home["firm"], issued.record["as_of"], issued.record["issued_at"],
                  hashlib.sha256(issued.data).hexdigest(), "公共信用信息报告"):
        assert value in page
    assert i18n.t("report_sha_note") in [c.value for c in at.caption]

    at.text_input(key="verify_code").input("A" + issued.record["code"][1:] if issued.record["code"][0] != "A"
                                           else "B" + issued.record["code"][1:])  # a wrong code
    ok(at.button(key="verify_go").click().run())
    assert [e.value for e in at.error] == [i18n.t("report_unknown")] and not at.success


def test_the_verify_page_in_english(report_home):
    at = app("lender1", "verify", lang="en")
    assert [t.value for t in at.title] == ["Verify a report"]


# --- the look-up -------------------------------------------------------------------------------


def test_the_report_kinds_offered_follow_the_role(report_home):
    firm = report_home["firm"]
    offered = {}
    for username in (None, "lender1", "dept1", "analyst1", "admin1"):
        at = app(username, "lookup", lookup_query=firm)
        offered[username] = at.selectbox(key="report_kind").options
        assert "report_authorization" not in [t.key for t in at.text_input]  # an enterprise: no authorization asked
    assert offered[None] == offered["dept1"] == PUBLIC_KINDS
    assert offered["lender1"] == offered["analyst1"] == offered["admin1"] == PUBLIC_KINDS + [LENDER_KIND]


def test_the_admin_issues_and_downloads_a_report_from_the_lookup(report_home):
    needs_font(report_home["home"])
    firm = report_home["firm"]
    at = app("admin1", "lookup", lookup_query=firm)
    assert not downloads(at)
    at.selectbox(key="report_kind").set_value("certificate")
    ok(at.button(key="report_issue").click().run())
    assert not at.error, [e.value for e in at.error]
    username, subject, issued = at.session_state["lookup_report"]
    assert (username, subject, issued.record["kind"], issued.record["issued_to"]) == ("admin1", firm, "certificate", "admin1")
    assert issued.data.startswith(b"%PDF") and issued.filename == f"{issued.number}.pdf"
    assert [s.value for s in at.success] == [i18n.t("report_issued").format(number=issued.number)]
    [button] = downloads(at)
    assert button.proto.label == i18n.t("report_download")
    assert reports.verify_number(issued.number, issued.record["code"])["file_sha256"] == hashlib.sha256(issued.data).hexdigest()
    assert reports.verify_file(issued.data)["number"] == issued.number
    # the download button outlives the click: still there on the next rerun, for the same subject only
    ok(at.run())
    assert downloads(at) and at.session_state["lookup_report"][2].number == issued.number
    other = sorted(readmodel.ratings(readmodel.current(), "enterprise")["subject_id"])[1]
    at.session_state["lookup_query"] = other
    ok(at.run())
    assert not downloads(at)


def test_an_individuals_report_needs_the_authorization_and_is_audited(report_home):
    needs_font(report_home["home"])
    person = report_home["person"]
    at = app("lender1", "lookup", lookup_query=person)
    at.text_input(key="lookup_purpose").input("贷款审批 loan 2025-9")
    ok(at.button(key="lookup_go").click().run())
    at.selectbox(key="report_kind").set_value("lender")
    ok(at.button(key="report_issue").click().run())  # no authorization reference: refused in one line
    assert len(at.error) == 1 and "authorization" in at.error[0].value and not downloads(at)
    before = len(audit.audit_log())
    at.text_input(key="report_authorization").input("AUTH-2025-0042")
    ok(at.button(key="report_issue").click().run())
    assert not at.error, [e.value for e in at.error]
    _, _, issued = at.session_state["lookup_report"]
    assert (issued.record["kind"], issued.record["purpose"], issued.record["own"]) == ("lender", "贷款审批 loan 2025-9", 0)
    assert downloads(at)
    log = audit.audit_log()
    assert len(log) > before
    reported = log[(log["subject_id"] == person) & (log["action"] == "report")]
    assert [(e["user"], e["role"], e["purpose"]) for _, e in reported.iterrows()] == [
        ("lender1", "lender", "贷款审批 loan 2025-9")]
    assert issued.number in reported.iloc[0]["detail"] and "AUTH-2025-0042" in reported.iloc[0]["detail"]
    assert person not in "\n".join(m.value for m in [*at.markdown, *at.caption, *at.success])  # still masked for the lender


# --- my credit ---------------------------------------------------------------------------------


def test_a_subject_issues_its_own_report_and_counts_its_free_ones(report_home):
    needs_font(report_home["home"])
    person = report_home["person"]
    total = reports.reports_config().free_per_year
    at = app(OWN_PERSON, "mine")
    assert at.selectbox(key="mine_report_kind").options == PUBLIC_KINDS
    used = i18n.t("report_free_used")
    assert used.format(used=0, total=total) in [c.value for c in at.caption]
    ok(at.button(key="mine_report_issue").click().run())
    assert not at.error, [e.value for e in at.error]
    username, issued = at.session_state["mine_report"]
    assert (username, issued.record["subject_id"], issued.record["own"], issued.record["kind"]) == (
        OWN_PERSON, person, 1, "public")
    assert used.format(used=1, total=total) in [c.value for c in at.caption]
    assert [b.label for b in at.get("download_button")] == [i18n.t("report_download")]
    assert reports.free_reports_used(person, int(issued.record["issued_at"][:4])) == 1


def test_a_firms_own_page_offers_its_report_without_a_free_count(report_home):
    at = app(OWN_FIRM, "mine")
    assert at.selectbox(key="mine_report_kind").options == PUBLIC_KINDS
    assert not any("免费" in c.value for c in at.caption)
