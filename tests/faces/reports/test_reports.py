"""Credit reports on the small rated city: what each report says (read back from the PDF's
text), masking, the certificate's "none found" against "not covered", verification against a
changed byte, the free reports of a person, who looked a subject up, and reproducibility."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from chengxin import readmodel, reports, users
from chengxin.desks.cases import NotAllowed
from chengxin.readmodel.subject import subject_cards
from chengxin.workspace import UserError


@pytest.fixture(scope="module")
def report_home(dashboard_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("reports") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    return home


@pytest.fixture(scope="module")
def fonts(report_home):
    if not reports.fonts_found(report_home):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk; .ci/run installs it)")


def _text(data: bytes) -> str:
    """The PDF's text without white space (a table cell may wrap anywhere)."""
    from pypdf import PdfReader

    return re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def _firm(home, listed=True):
    snap = readmodel.current(home)
    entries = pd.read_parquet(snap.path / "lists.parquet")
    black = entries[(entries["rule"] == "serious_penalty") & (entries["status"] == "active")]
    return snap, black.iloc[0]


def test_the_public_report_says_what_the_read_model_says_and_verifies(report_home, fonts, tmp_path):
    snap, entry = _firm(report_home)
    firm = entry["subject_id"]
    admin = reports.Reader("admin1", users.role("admin", report_home))
    issued = reports.issue(snap, firm, "public", admin, home=report_home)
    text = _text(issued.data)
    card = subject_cards(snap, [firm], users.role("public", report_home), home=report_home)[0]
    for needed in ("公共信用信息报告", "基本信息", "行政处罚", "失信名单", "守信激励", "司法信息", "数据来源", "说明",
                   card["name"], firm, issued.number, issued.record["code"], f"等级：{card['tier']}", entry["reference"]):
        assert re.sub(r"\s", "", str(needed)) in text, needed
    assert issued.data.startswith(b"%PDF") and "NotoSerifCJK" in issued.data.decode("latin-1")  # the font is embedded
    # every page rendered for the artefacts, not blank
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(issued.data)
    for k in range(len(pdf)):
        image = pdf[k].render(scale=1).to_pil()
        image.save(tmp_path / f"public_{k + 1}.png")
        assert image.convert("L").getextrema()[0] < 100  # some ink
    # authentic byte for byte; one changed byte, or a number never issued, is not
    assert reports.verify_file(issued.data, report_home)["number"] == issued.number
    changed = bytearray(issued.data)
    changed[len(changed) // 2] ^= 1
    assert reports.verify_file(bytes(changed), report_home) is None
    assert reports.verify_number(issued.number, issued.record["code"], report_home)["subject"] == firm
    assert reports.verify_number(issued.number, "WRONGCODE", report_home) is None
    assert reports.verify_number("CX20260101-0000000000", None, report_home) is None


def test_the_cli_writes_and_verifies_a_report(report_home, fonts, tmp_path, monkeypatch):
    from chengxin.cli import app

    monkeypatch.setenv("CHENGXIN_HOME", str(report_home))
    snap, entry = _firm(report_home)
    out = tmp_path / "r.pdf"
    runner = CliRunner()
    made = runner.invoke(app, ["report", entry["subject_id"], "--kind", "public", "--out", str(out)])
    assert made.exit_code == 0, made.output
    ok = runner.invoke(app, ["report", "verify", str(out)])
    assert ok.exit_code == 0 and "authentic" in ok.stdout
    out.write_bytes(out.read_bytes().replace(b"%%EOF", b"%%EOG"))
    bad = runner.invoke(app, ["report", "verify", str(out)])
    assert bad.exit_code == 1 and "altered or unknown" in bad.output
    html = tmp_path / "r.html"
    assert runner.invoke(app, ["report", entry["subject_id"], "--format", "html", "--out", str(html)]).exit_code == 0
    assert "公共信用信息报告" in html.read_text("utf-8")


def test_the_certificate_says_none_found_only_where_the_domain_is_covered(report_home, fonts):
    snap, entry = _firm(report_home)
    (report_home / "reports.yaml").write_text(yaml.safe_dump({"domains": {"nowhere": {
        "zh": "未上报领域", "en": "a department that never uploaded",
        "records": [{"source": "penalty", "department": "不存在的部门"}]}}}, allow_unicode=True), "utf-8")
    try:
        admin = reports.Reader("admin1", users.role("admin", report_home))
        body = reports.content(snap, entry["subject_id"], "certificate", admin, years=3, home=report_home)
    finally:
        (report_home / "reports.yaml").unlink()
    rows = {r[0]: r for r in next(s for s in body["sections"] if "分领域" in s["title"])["table"]["rows"]}
    assert rows["未上报领域"][1].startswith("本领域数据提供部门未覆盖") and rows["未上报领域"][3] == "未覆盖"
    assert any(r[1].startswith("近 3 年未发现") and r[3] == "已覆盖" for r in rows.values())
    market = rows["市场监管"][1] if "市场监督管理局" in str(entry["reference"]) else None
    assert market is None or entry["reference"] in market


def test_the_lender_report_is_for_lenders_and_carries_the_rating(report_home, fonts):
    snap, entry = _firm(report_home)
    firm = entry["subject_id"]
    with pytest.raises(NotAllowed):
        reports.issue(snap, firm, "lender", reports.Reader("public", users.role("public", report_home)), home=report_home)
    lender = reports.Reader("lender1", users.role("lender", report_home))
    issued = reports.issue(snap, firm, "lender", lender, home=report_home)
    text = _text(issued.data)
    card = subject_cards(snap, [firm], users.role("lender", report_home), home=report_home)[0]
    assert f"信用等级{card['grade']}" in text and "信用修复路径" in text and card["model_version"] in text
    body = reports.content(snap, firm, "lender", lender, home=report_home)
    charts = next(s for s in body["sections"] if s.get("images"))
    assert set(charts["images"]) == {"chart_contributions", "chart_history"}



def test_the_report_draws_the_look_up_pages_charts_from_the_same_definition(report_home):
    """The lender's report (matplotlib) and the dashboard's look-up (plotly) draw the same bars
    and points: each renderer only draws what `chengxin.charts` computed once."""
    from chengxin import charts
    from chengxin.models import grades
    from chengxin.reports import charts as report_charts

    snap, entry = _firm(report_home)
    lender = users.role("lender", report_home)
    result = readmodel.lookup(snap, entry["subject_id"], lender, user="lender1", record=False)
    lang = report_charts.chart_language()  # the report's words: Chinese wherever a CJK font is installed
    assert lang == "zh" or not reports.fonts_found(report_home)
    table = readmodel.contribution_table(result["contributions"]["scorecard"], result["subject_type"], lang)
    bars, span = charts.waterfall_bars(table)
    assert len(bars) == len(table) >= 3 and bars["end"].iloc[-1] == pytest.approx(table["value"].iloc[-1])
    page = charts.waterfall(table, lang).data[0]  # what the look-up page draws
    assert list(page.base) == pytest.approx(list(bars["start"])) and list(page.x) == pytest.approx(list(bars["end"] - bars["start"]))
    assert list(page.marker.color) == list(bars["colour"]) and list(page.y) == list(bars["label"])
    svg = report_charts.lender_charts(result, grades.rating_config().grades)
    drawn = re.findall(r"fill: (#[0-9a-f]{6})", svg["chart_contributions"])
    for colour, count in bars["colour"].value_counts().items():
        assert drawn.count(colour) == count, colour  # one bar of each colour per bar computed
    for label in bars["label"]:
        assert f"<!-- {label} -->" in svg["chart_contributions"]  # the same words (drawn as paths, named in comments)
    order = grades.rating_config().grades
    points, axis, span = charts.history_points(result["history"], order)
    line = charts.history(result["history"], order, "en")
    assert list(line.data[0].y) == list(points["grade"]) and list(line.layout.yaxis.categoryarray) == axis
    # a time axis in months around the points, never milliseconds (one rating is one dot in a month)
    assert line.layout.xaxis.tickformat == charts.HISTORY_TICKS == "%Y-%m"
    assert span[0] < points["as_of"].min() and span[1] > points["as_of"].max()
    one, _, (lo, hi) = charts.history_points(result["history"].head(1), order)
    assert (hi - lo) >= pd.Timedelta(days=58)
    assert f"<!-- {points['as_of'].iloc[0]:%Y-%m} -->" in svg["chart_history"]  # the report's axis: the same months


def test_a_waterfall_colours_what_makes_the_subject_worse_red_whichever_way_its_scale_runs():
    """Points short of the best are worse (down); a PD model's log-odds up are worse: red either
    way, the other way green; signs and totals kept; long labels cut, whole in the hover."""
    from chengxin import charts

    table = pd.DataFrame({"label": ["Base", "short", "x" * 60, "Total"], "value": [-3.81, 0.5, -0.25, -3.56],
                          "kind": ["base", "indicator", "indicator", "total"]})
    points, _ = charts.waterfall_bars(table, 3, worse="down")
    log_odds, _ = charts.waterfall_bars(table, 3, worse="up")
    red, green = charts.WATERFALL_COLOURS["worse"], charts.WATERFALL_COLOURS["better"]
    assert list(points["colour"][1:3]) == [green, red] and list(log_odds["colour"][1:3]) == [red, green]
    assert list(log_odds["text"]) == ["-3.810", "+0.500", "-0.250", "-3.560"]  # the base keeps its sign
    assert len(log_odds["label"][2]) == charts.LABEL_CHARACTERS and log_odds["full_label"][2] == "x" * 60
    figure = charts.waterfall(table, "en", digits=3, worse="up").data[0]
    assert list(figure.customdata) == list(log_odds["full_label"]) and list(figure.marker.color) == list(log_odds["colour"])
    with pytest.raises(ValueError):
        charts.waterfall_bars(table, worse="sideways")


def test_a_tier_a_direct_rule_decided_says_so_and_default_stays_out_of_the_public_report(report_home):
    snap = readmodel.current(report_home)
    rated = readmodel.ratings(snap, "enterprise")
    admin = reports.Reader("admin1", users.role("admin", report_home))
    lender = reports.Reader("lender1", users.role("lender", report_home))

    def tier_text(sid, kind, reader):
        body = reports.content(snap, sid, kind, reader, home=report_home)
        return "".join(next(s for s in body["sections"] if s["title"].startswith("二、"))["paragraphs"])

    listed = rated[rated["tier_rule"] == "dishonest_debtor"]["subject_id"].iloc[0]
    assert "直接评级：" in tier_text(listed, "public", admin) and "失信被执行人" in tier_text(listed, "public", admin)
    defaulted = rated[rated["tier_rule"] == "in_default"]["subject_id"].iloc[0]
    assert "直接评级：" not in tier_text(defaulted, "public", admin)  # whoever issues it
    assert "直接评级：" in tier_text(defaulted, "lender", lender)


def test_which_reports_a_role_may_have_is_declared_in_roles_yaml(report_home):
    from pydantic import ValidationError

    snap, entry = _firm(report_home)
    firm = entry["subject_id"]
    for name, role in users.roles_config(report_home).roles.items():
        if role.own_only:
            continue
        reader = reports.Reader(f"{name}1", users.role(name, report_home))
        for kind in reports.KINDS:
            if kind in role.reports:
                assert reports.content(snap, firm, kind, reader, home=report_home)["sections"], (name, kind)
            else:
                with pytest.raises(NotAllowed, match="roles.yaml"):
                    reports.content(snap, firm, kind, reader, home=report_home)
    assert "lender" not in users.role("department", report_home).reports and "lender" in users.role("analyst").reports
    with pytest.raises(ValidationError, match="unknown report kind"):
        users.Role(zh="x", en="x", pages=("overview",), rating=("tier",), reports=("public", "secret"))


def test_individuals_masking_free_reports_and_who_looked_them_up(report_home, fonts, tmp_path):
    snap = readmodel.current(report_home)
    person = readmodel.ratings(snap, "individual").iloc[0]["subject_id"]
    lender = reports.Reader("lender1", users.role("lender", report_home))
    with pytest.raises(UserError, match="authorization"):
        reports.issue(snap, person, "public", lender, purpose="loan", home=report_home)
    # a lender looks the person up (audited), then has a report: masked
    subject_cards(snap, [person], users.role("lender", report_home), purpose="贷款审批", authorization_ref="AUTH-1",
                  user="lender1", home=report_home)
    theirs = _text(reports.issue(snap, person, "public", lender, purpose="贷款审批", authorization_ref="AUTH-1",
                                 home=report_home).data)
    assert person not in theirs and person[:6] + "********" in theirs
    assert "查询用途" in theirs and "贷款审批" in theirs and "AUTH-1" in theirs  # what it was issued for, on whose authority
    # the person's own reports: unmasked, with who looked it up, two free a year
    (report_home / "users.yaml").write_text(yaml.safe_dump({"users": {"self1": {
        "role": "subject", "subject": person, "password_bcrypt": users.hash_password("x")}}}), "utf-8")
    try:
        me = reports.reader("self1", report_home)
        first = _text(reports.issue(snap, person, "public", me, home=report_home).data)
        assert person in first and "查询记录" in first and "贷款审批" in first and "已出具本人信用报告1份" in first
        assert "本人查询" in first
        reports.issue(snap, person, "certificate", me, home=report_home)
        with pytest.raises(UserError, match="2 of 2 free reports"):
            reports.issue(snap, person, "public", me, home=report_home)
        other = readmodel.ratings(snap, "individual").iloc[1]["subject_id"]
        with pytest.raises(NotAllowed):
            reports.issue(snap, other, "public", me, home=report_home)
    finally:
        (report_home / "users.yaml").unlink()


def test_the_same_subject_kind_and_date_give_the_same_content(report_home, fonts):
    snap, entry = _firm(report_home)
    admin = reports.Reader("admin1", users.role("admin", report_home))
    a = reports.issue(snap, entry["subject_id"], "certificate", admin, home=report_home)
    b = reports.issue(snap, entry["subject_id"], "certificate", admin, home=report_home)
    assert a.number != b.number and a.record["content_sha256"] == b.record["content_sha256"]
    assert a.data != b.data  # the number, code and time differ
    earlier = reports.content(snap, entry["subject_id"], "public", admin, as_of=dt.date(2025, 2, 28), home=report_home)
    assert earlier["as_of"] == "2025-02-28"


def test_a_firms_legal_representative_is_named_as_the_reader_may_see_a_name(report_home):
    """By name (masked for a role that masks), with the ID number masked beside it; never the bare
    ID number where the registry knows the person."""
    from chengxin import identifiers

    snap = readmodel.current(report_home)
    info = pd.read_parquet(snap.path / "subjects.parquet")
    people = info[info["subject_type"] == "individual"].set_index("subject_id")["name"]
    firm = info[(info["subject_type"] == "enterprise") & info["legal_rep_id"].isin(people.index)].iloc[0]
    rep = firm["legal_rep_id"]

    def shown(role):
        body = reports.content(snap, firm["subject_id"], "public", reports.Reader(role, users.role(role, report_home)),
                               home=report_home)
        return dict(body["sections"][0]["table"]["rows"])["法定代表人"]

    admin, public = shown("admin"), shown("public")
    assert people[rep] in admin and identifiers.mask_resident_id(rep) in admin and rep not in admin
    assert public.startswith(identifiers.mask_name(people[rep])) and not public.startswith(people[rep])


def test_data_sources_are_dated_by_the_reports_as_of_and_the_footer_names_no_command(report_home, fonts):
    snap, entry = _firm(report_home)
    admin = reports.Reader("admin1", users.role("admin", report_home))
    body = reports.content(snap, entry["subject_id"], "public", admin, home=report_home)
    sources = next(s for s in body["sections"] if s["title"].startswith("数据来源"))
    dates = [r[2] for r in sources["table"]["rows"] if r[2]]
    assert dates and max(dates) <= body["as_of"], (max(dates), body["as_of"])
    text = _text(reports.issue(snap, entry["subject_id"], "public", admin, home=report_home).data)
    assert "核验报告" in text and "chengxin report" not in text
    assert "轻微最短" in text and "minor" not in text  # the publicity rules in words (the text without spaces)


@pytest.mark.parametrize("kind", reports.KINDS)
def test_every_report_reads_as_words(report_home, fonts, kind):
    """The guard over each report kind (issue 35), for a firm on the black list and for a person
    (with a stated purpose and authorization): no `None`, `nan`, JSON, code names, English or
    floats where a reader expects a word or a whole number (`wording.problems`)."""
    from pypdf import PdfReader

    from wording import problems

    snap, entry = _firm(report_home)
    person = readmodel.ratings(snap, "individual").iloc[0]["subject_id"]
    reader = reports.Reader("lender1" if kind == "lender" else "admin1",
                            users.role("lender" if kind == "lender" else "admin", report_home))
    for subject, asked in ((entry["subject_id"], {}), (person, {"purpose": "贷款审批", "authorization_ref": "宝信授〔2025〕1号"})):
        issued = reports.issue(snap, subject, kind, reader, home=report_home, **asked)
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.data)).pages)
        text = text.replace(issued.record["code"], " ")  # the verification code is letters by design
        assert reports.TITLES[kind][0] in re.sub(r"\s", "", text)  # the text was read
        assert not problems(text), (subject, problems(text))
