"""The case desk's pages with Streamlit's AppTest: the office's queue, a department's own
queue, deciding and filing at the counter (app/pages/cases.py), and a subject's own page
(app/pages/mine.py), refused to every other role. On the small ingested city (no published
snapshot: the desk reads the shared state and the record store). What a subject or a record
says is shown as text, never as Markdown (`ui.plain`)."""

from __future__ import annotations

import html
import re

import pytest
import yaml
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from chengxin import dashboard, i18n, identifiers, ui, users, warehouse
from chengxin.desks import cases
from chengxin.workspace import UserError

APP = str(dashboard.app_path())
PAGES = {p: f"pages/{p}.py" for p in users.PAGES}
SUBJECT_USER = "self1"


def penalty(department: str, *, other_than: tuple[str, ...] = ()) -> tuple[str, str]:
    """A registered enterprise (not one of `other_than`) and the record of one of its penalties decided by
    `department`."""
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(f"SELECT subject_id, decision_no FROM rec_penalty WHERE deciding_department = ? "
                           f"AND {warehouse.CURRENT} AND subject_id IN (SELECT subject_id FROM rec_registration "
                           f"WHERE {warehouse.CURRENT}) ORDER BY subject_id, decision_no", [department]).fetchall()
    sid, number = next(row for row in rows if row[0] not in other_than)
    return sid, f"penalty:{number}"


@pytest.fixture
def city(ingested_copy):
    """The small city, with a subject's own account (self1, an enterprise with a penalty of the
    market regulator) beside the demo users, and one objection to another firm's penalty of
    the market regulator and one to a tax office's penalty, filed at the counter."""
    own, _ = penalty("市场监督管理局")
    listed = {name: u.model_dump(exclude={"username"}, exclude_none=True) for name, u in users.roles_config().users.items()}
    listed[SUBJECT_USER] = {"display": "本企业 the firm itself", "role": "subject", "subject": own,
                            "password_bcrypt": listed["admin1"]["password_bcrypt"]}
    (ingested_copy / "users.yaml").write_text(yaml.safe_dump({"users": listed}, allow_unicode=True), "utf-8")
    market, market_record = penalty("市场监督管理局", other_than=(own,))
    tax, tax_record = penalty("税务局", other_than=(own, market))
    cases.file("objection", market, record=market_record, reason="wrong amount", by="admin1")
    cases.file("objection", tax, record=tax_record, reason="paid already", by="admin1")
    return {"own": own, "market": (market, market_record), "tax": (tax, tax_record)}


def app(username: str | None, page: str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if username:
        at.session_state["user"] = users.roles_config().users[username]
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(PAGES[page]).run()
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # the syntax Streamlit parses (GFM)
# GitHub's autolinks, which Streamlit finds in the text once the Markdown is parsed (its own pattern)
AUTOLINK = re.compile(r"(?i)(https?://|www(?=\.))[-.\w]+|[-.\w+]+@[-\w]+(\.[-\w]+)+")


def rendered(body: str) -> str:
    return MARKDOWN.render(body)


def shown(body: str) -> str:
    """The text a Markdown body shows (its invisible word joiners dropped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(body))).replace("\u2060", "").replace("\xa0", " ")


def bodies(at: AppTest) -> list[str]:
    """Every Markdown body on the page (the elements that render Markdown)."""
    return [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                                 "success") for e in getattr(at, kind)]


def test_the_desk_sees_every_case_and_the_departments_feedback(city):
    at = ok(app("admin1", "cases"))
    assert [t.value for t in at.title] == ["案件"]
    assert metrics(at) == {"办理中案件": "2", "一个工作日内到期": "0", "已超期": "0"}
    queue = at.dataframe[0].value
    assert list(queue.columns)[:4] == ["案件编号", "案件类型", "统一社会信用代码 / 身份证号", "涉及记录"]
    assert set(queue["涉及记录"]) == {i18n.record_ref(city["market"][1]), i18n.record_ref(city["tax"][1])}
    assert set(queue["案件类型"]) == {"异议"}
    assert "各提供部门异议成立情况" in [s.value for s in at.subheader]
    assert at.button(key="file_submit")  # the admin files at the counter


def test_the_analysts_desk_masks_individuals_and_neither_decides_nor_files(city):
    with warehouse.connect(read_only=True) as con:
        person = con.execute(f"SELECT subject_id FROM rec_resident WHERE {warehouse.CURRENT} ORDER BY subject_id").fetchone()[0]
    cases.file("review", person, reason="explain my grade", by="admin1")
    at = ok(app("analyst1", "cases", lang="en"))
    assert metrics(at)["Open cases"] == "3"
    ids = list(at.dataframe[0].value["Credit code / ID number"])
    assert person not in ids and identifiers.mask_resident_id(person) in ids
    at.selectbox(key="cases_pick").set_value(3).run()
    assert not at.exception and person not in "\n".join(m.value for m in at.markdown)
    keys = [b.key for b in at.button]
    assert "decide_submit" not in keys and "file_submit" not in keys
    assert person in list(ok(app("admin1", "cases")).dataframe[0].value["统一社会信用代码 / 身份证号"])  # full for the admin


def test_a_department_sees_and_decides_its_own_records_only(city):
    at = ok(app("dept1", "cases", lang="en"))
    assert metrics(at)["Open cases"] == "1"
    queue = at.dataframe[0].value
    assert list(queue["Record"]) == [i18n.record_ref(city["market"][1], "en")]
    assert "Objections upheld per providing department" not in [s.value for s in at.subheader]
    assert "file_submit" not in [b.key for b in at.button]  # a department does not file
    at.selectbox(key="decide_decision").set_value("reject")
    at.text_area(key="decide_note").input("the fine was right")
    ok(at.button(key="decide_submit").click().run())
    assert [s.value for s in at.success] == ["Case 1 decided: reject"]
    decided = cases.show(1)
    assert (decided["status"], decided["decided_by"], decided["decided_for"]) == ("decided", "dept1", "市场监督管理局")
    assert [e["event"] for e in decided["events"]] == ["filed", "decided"]
    assert cases.show(2)["status"] == "open"  # the tax office's record is not its to decide


def test_a_decision_needs_a_note_and_refusals_are_one_line(city):
    at = ok(app("admin1", "cases", lang="en"))
    at.selectbox(key="cases_pick").set_value(2).run()
    at.selectbox(key="decide_decision").set_value("correct")
    ok(at.button(key="decide_submit").click().run())
    assert [w.value for w in at.warning] == [i18n.t("note_needed", "en")]
    at.text_area(key="decide_note").input("no values given")
    ok(at.button(key="decide_submit").click().run())
    assert len(at.error) == 1 and "--set" in shown(at.error[0].value)  # the library's reason, as it gave it
    assert cases.show(2)["status"] == "open"


def test_filing_at_the_counter(city):
    at = ok(app("admin1", "cases"))
    sid, record = penalty("生态环境局", other_than=(city["own"], city["market"][0], city["tax"][0]))
    at.selectbox(key="file_kind").set_value("objection")
    at.text_input(key="file_subject").input(sid)
    at.text_input(key="file_record").input(record)
    at.text_area(key="file_reason").input("not our firm")
    ok(at.button(key="file_submit").click().run())
    assert len(at.success) == 1 and at.success[0].value.startswith("已受理案件 3")
    filed = cases.show(3)
    assert (filed["subject_id"], filed["record"], filed["filed_by"], filed["provider"]) == (sid, record, "admin1", "生态环境局")
    assert metrics(at)["办理中案件"] == "3"
    at.text_input(key="file_subject").input("91XXXXXXXXXXXXXXXX")  # not a subject: refused in one line
    ok(at.button(key="file_submit").click().run())
    assert len(at.error) == 1 and not at.success
    assert len(cases.list_cases()) == 3


def test_my_credit_is_refused_to_other_roles(city):
    for username in ("lender1", "admin1", "dept1", None):
        at = AppTest.from_file(APP, default_timeout=120)
        if username:
            at.session_state["user"] = users.roles_config().users[username]
        ok(at.run())
        with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in its navigation
            at.switch_page(PAGES["mine"])
        # and the page itself, reached anyway, refuses before showing anything
        at = AppTest.from_file(str(dashboard.app_path().parent / PAGES["mine"]), default_timeout=120)
        if username:
            at.session_state["user"] = users.roles_config().users[username]
        ok(at.run())
        assert [w.value for w in at.main.warning] == [i18n.t("not_allowed")], username
        assert not (at.title or at.dataframe or at.metric or at.text_input), username


def test_a_subject_follows_and_files_its_own_cases_only(city):
    at = ok(app(SUBJECT_USER, "mine"))
    assert [t.value for t in at.title] == ["我的信用"]
    assert i18n.t("no_snapshot") in [x.value for x in at.info]  # no card before a publication
    assert not at.dataframe  # the objections filed so far are other firms'
    assert at.text_input(key="mine_subject").value == city["own"] and at.text_input(key="mine_subject").disabled
    _, record = penalty("市场监督管理局")
    at.selectbox(key="mine_kind").set_value("objection")
    at.text_input(key="mine_record_text").input(record)
    at.text_area(key="mine_reason").input("the decision was withdrawn")
    ok(at.button(key="mine_submit").click().run())
    assert len(at.success) == 1, [e.value for e in at.error]
    mine = cases.list_cases(subject=city["own"])
    assert [(c["record"], c["filed_by"], c["filed_role"]) for c in mine] == [(record, SUBJECT_USER, "subject")]
    assert list(at.dataframe[0].value["涉及记录"]) == [i18n.record_ref(record)]  # the record in words
    assert any(i18n.record_ref(record) in shown(w.value) for w in at.warning)  # flagged under objection at once
    # the desk sees the subject's case too
    assert metrics(ok(app("admin1", "cases")))["办理中案件"] == "3"
    with pytest.raises(UserError, match="only for its own subject"):
        cases.file("objection", city["market"][0], by=SUBJECT_USER)  # never another subject


REASON = "![x](http://example.com/x.png) **bold**"
COMMITMENT = "# we promise\n\n    <img src=http://example.com/y.png> :red[paid] $x$ - see www.example.com or a@example.com"


def test_a_subjects_words_are_shown_as_text_on_the_desk_and_its_own_page(city):
    """A reason and commitment a subject files (an image link, emphasis, a heading, HTML, an
    indented block, colour, LaTeX, links) reach the desk's browser as the text it typed:
    nothing of it becomes an image, a link or formatting."""
    _, record = penalty("市场监督管理局")
    at = ok(app(SUBJECT_USER, "mine"))
    at.selectbox(key="mine_kind").set_value("objection")
    at.text_input(key="mine_record_text").input(record)
    at.text_area(key="mine_reason").input(REASON)
    at.text_area(key="mine_commitment").input(COMMITMENT)
    ok(at.button(key="mine_submit").click().run())
    assert len(at.success) == 1, [e.value for e in at.error]
    (case,) = cases.list_cases(subject=city["own"])
    assert (case["reason"], case["commitment"]) == (REASON, COMMITMENT)
    pages = {"mine": bodies(at)}

    at = ok(app("admin1", "cases", lang="en"))
    at.selectbox(key="cases_pick").set_value(case["case_no"]).run()
    pages["cases"] = bodies(ok(at))
    facts = "\n".join(shown(b) for b in pages["cases"])
    assert f"Reason: {REASON}" in facts  # literally, asterisks and brackets included
    for line in COMMITMENT.splitlines():
        assert line.strip() in facts
    theirs = 0
    for page, found in pages.items():
        for body in found:
            out = rendered(body)
            assert not re.search(r"<(img|a)\b", out), (page, body, out)  # no image, no link anywhere
            assert not AUTOLINK.search(html.unescape(re.sub(r"<[^>]+>", "", out))), (page, body)
            if "example.com" in shown(body):  # the subject's words: no formatting either (but the labels')
                theirs += 1
                assert not re.search(r"<(em|h\d|code|pre|ul|ol|blockquote|table|del)\b", out), (page, body, out)
                assert "bold" not in re.findall(r"<strong>(.*?)</strong>", out), (page, body, out)
    assert theirs


def test_plain_shows_text_as_written():
    written = (REASON, COMMITMENT, "# title\n\n    four spaces\n- item\n1. one\n> quote\n| a | b |\n|---|---|\n---",
               "<b>html</b> &amp; `code` ~~struck~~ _under_ \\ :blue[colour] $x^2$ [link](http://example.com)",
               "http://example.com https://example.com/a WWW.example.com someone@example.com")
    for text in written:
        body = ui.plain(text)
        out = rendered(body)
        assert not re.search(r"<(img|a|strong|em|h\d|hr|code|pre|ul|ol|li|blockquote|table|del)\b", out), (text, out)
        assert not AUTOLINK.search(html.unescape(re.sub(r"<[^>]+>", "", out))), (text, out)
        assert not re.search(r"(?<!\\)[:$\[]", body)  # Streamlit's colours, icons and LaTeX start there
        assert [line.strip() for line in shown(body).splitlines()] == [line.strip() for line in text.splitlines()]
    assert ui.plain(None) == "" and ui.plain("") == ""
    assert ui.plain("no markup here") == "no markup here"
