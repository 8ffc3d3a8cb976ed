"""The dashboard, page by page and role by role, with Streamlit's AppTest: what each role may
open, what a look-up shows it, masking of personal data and the audit entry of each look-up
of an individual. Plus the library behind it: snapshot, search, lists, users."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from chengxin import audit, dashboard, i18n, identifiers, lists, readmodel, state, users, workspace
from chengxin.desks import alerts as alert_desk
from chengxin.desks import comments
from chengxin.pipelines import snapshot

APP = str(dashboard.app_path())
PAGES = {p: f"pages/{p}.py" for p in users.PAGES}
LOGINS = {"lender": "lender1", "analyst": "analyst1", "admin": "admin1", "department": "dept1"}


@pytest.fixture
def dash(dashboard_home, monkeypatch):
    monkeypatch.setenv("CHENGXIN_HOME", str(dashboard_home))
    return dashboard_home


def app(role: str = "public", lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if role != "public":
        at.session_state["user"] = users.roles_config().users[LOGINS[role]]
    at.session_state["lang"] = lang
    return at.run()


def goto(at: AppTest, page: str, **state) -> AppTest:
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    """Everything a person can read on the page, tables included."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "text"):
        values = [str(e.value) for e in getattr(at, kind)]
        if kind != "text":  # Markdown: what it shows, without the escapes `ui.plain` puts in text shown as written
            values = [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", v).replace("\u2060", "").replace("\xa0", " ") for v in values]
        parts += values
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for df in at.dataframe:
        parts.append(df.value.to_csv(index=False))
    for table in at.table:  # short tables of sentences (ui.text_table)
        parts.append(table.value.to_csv(index=False))
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title") or {}
        parts.append(title.get("text", "") if isinstance(title, dict) else str(title))
        parts += [f"<{trace.get('type', 'scatter')}>" for trace in spec["data"]]
    return "\n".join(parts)


def open_tab(at: AppTest, key: str, text_key: str) -> AppTest:
    """Open one of the look-up's tabs (only the open tab is built)."""
    at.session_state[key] = i18n.t(text_key, "zh")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def latest(dash, subject: str) -> pd.DataFrame:
    snap = readmodel.current(dash)
    return readmodel.ratings(snap, subject)


# --- navigation --------------------------------------------------------------------------------


def test_each_role_sees_its_pages_and_every_page_renders(dash):
    for role in ("public", "lender", "analyst", "admin", "department"):
        r = users.role(None if role == "public" else role)
        at = app(role)
        assert not at.exception, (role, [e.value for e in at.exception])
        for page in users.PAGES:
            if page in r.pages:
                goto(at, page)
            else:  # not in the role's navigation; run anyway, the page refuses before showing anything
                at.switch_page(PAGES[page]).run()
                assert [w.value for w in at.main.warning] == [i18n.t("not_allowed")], (role, page)
                assert not (at.title or at.dataframe or at.metric or at.get("plotly_chart")), (role, page)
    assert set(users.role(None).pages) == {"overview", "lookup", "criteria", "publication", "verify"}


def test_each_demo_user_lands_on_its_roles_home_page(dash):
    """Signed in, a department's clerk lands on the credit checks, an analyst on the warning
    desk, a firm on its own credit; a role without a declared home on its first page."""
    landed = {}
    for found in users.sign_ins():
        at = AppTest.from_file(APP, default_timeout=180)
        at.session_state["user"] = users.roles_config().users[found["user"]]
        at.session_state["lang"] = "zh"
        at.run()
        assert not at.exception, (found["user"], [e.value for e in at.exception])
        home = users.role(found["role"]).home_page
        expected = i18n.t("app_title" if home == "overview" else f"page_{home}", "zh")
        assert at.title and at.title[0].value == expected, (found["user"], home, [t.value for t in at.title])
        landed[found["user"]] = home
    assert landed == {"lender1": "overview", "dept1": "checks", "firm1": "mine", "analyst1": "warning",
                      "admin1": "overview"}
    with pytest.raises(ValueError, match="not one of the role's pages"):
        users.Role(zh="x", en="x", pages=("overview",), rating=("tier",), home="warning")


def test_overview_for_the_public_has_tiers_criteria_and_no_grades_or_alerts(dash):
    at = app("public")
    page = text(at)
    assert "公共信用等级分布" in page and "各区县等级构成" in page and "各行业等级构成" in page
    assert "信用等级分布" not in page.replace("公共信用等级分布", "")  # no master-scale grades for the public
    assert "待处理预警" not in page
    law = readmodel.criteria_in_force("enterprise", dash)
    # named by its edition, the version's code in the help: not "1-1+a2adfb76" as a headline
    assert [m.value for m in at.metric if m.label == "现行评价标准"] == [f"第 {law['edition']} 版"]
    assert [m.help for m in at.metric if m.label == "现行评价标准"] == [f"版本 {law['version']}"]


def test_overview_for_an_analyst_shows_grades_and_open_alerts(dash):
    at = goto(app("analyst"), "overview")
    page = text(at)
    assert "信用等级分布" in page and "待处理预警" in page
    # individuals in the open alerts are masked for the analyst
    opened = readmodel.open_alerts(dash)
    for sid in opened.loc[opened["subject_type"] == "individual", "subject_id"].head(10):
        assert sid not in page


def test_overview_search_goes_straight_to_the_lookup(dash):
    at = app("lender")
    code = latest(dash, "enterprise")["subject_id"].iloc[0]
    at.text_input[0].input(code)
    at.button(key="overview_go").click().run()
    assert not at.exception
    assert at.session_state["lookup_query"] == code
    assert any(t.value == "信用查询" for t in at.title)


def test_language_switch(dash):
    at = app("public", lang="en")
    assert at.title[0].value.startswith("Chengxin")
    at.sidebar.radio[0].set_value("zh").run()
    assert at.title[0].value.startswith("诚信")


def test_login_form_and_configured_passwords(dash):
    """The public sees the sign-in form; passwords are checked against the bcrypt hashes.
    (Submitting the sidebar form is exercised in the browser test: AppTest loses the sidebar's
    widgets on reruns under st.navigation.)"""
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert at.sidebar.text_input(key="login_user") and at.sidebar.text_input(key="login_password").proto.type == 1
    assert users.authenticate("analyst1", "wrong") is None and users.authenticate("nobody", "analyst-demo") is None
    found = users.authenticate("analyst1", "analyst-demo")
    assert found.role == "analyst"
    at.session_state["user"] = found
    goto(at.run(), "warning")
    assert not at.main.warning


# --- credit look-up ----------------------------------------------------------------------------


def test_public_lookup_shows_the_tier_only(dash):
    row = latest(dash, "enterprise").iloc[0]
    at = goto(app("public"), "lookup", lookup_query=row["subject_id"])
    page = text(at)
    assert f"{row['tier']} · " in page and "监管措施" in page
    assert not at.metric  # no grade, PD or score
    assert "主要扣分原因" not in page and "信用修复路径" not in page and not at.get("plotly_chart")


def test_lender_lookup_of_an_enterprise(dash):
    rated = latest(dash, "enterprise")
    row = rated[rated["reason_1_zh"].notna()].iloc[0]
    at = goto(app("lender"), "lookup", lookup_query=row["subject_id"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["信用等级"] == row["grade"]
    assert metrics["评分"] == f"{row['score']:,.0f}"
    page = text(at)
    assert row["reason_1_zh"] in page
    assert "<bar>" in page and "指标得分（公共信用综合评价分值）" in page  # the contribution waterfall (floating bars, `charts.waterfall_bars`)
    assert "比该指标最高档少得的分数" in page  # which way the bars run, in words
    assert len(at.tabs) >= 4  # contributions, history, records, repair path (and lists)
    assert not any("评价基准日" in df.value.columns for df in at.dataframe)  # only the open tab is built
    open_tab(at, "lookup_tab", "history")
    history = next(df.value for df in at.dataframe if "评价基准日" in df.value.columns)
    assert len(history) == 2  # rated on two month ends
    # records: one source at a time, picked from all the sources that hold some
    open_tab(at, "lookup_tab", "records")
    found = readmodel.records(readmodel.current(dash), row["subject_id"], users.role("lender"))
    assert len(found) > 1 and len(at.get("button_group")[0].proto.options) == len(found)
    last = list(found)[-1]
    at.session_state["lookup_source"] = last
    at.run()
    labels = readmodel.record_columns(last, "zh")
    # the store's own columns (`_case`) and whom the records are about are not shown
    expected = [labels.get(c, c) for c in found[last].columns if c not in ("subject_id", "subject_type") and not c.startswith("_")]
    assert expected in [list(df.value.columns) for df in at.dataframe]
    # the repair path is read when its tab opens, and is the one `chengxin explain` gives
    from chengxin.pipelines import explain as explanation

    open_tab(at, "lookup_tab", "repair")
    path = explanation.explain(row["subject_id"], readmodel.current(dash).as_of("enterprise"), home=dash)["repair_path"]
    page = text(at)
    assert all(step["text_zh"] in page for step in path) and (path or "暂无可行的修复措施" in page)
    # a lender's look-up of a firm is recorded (the firm's report tells it who looked), without a purpose
    mine = audit.audit_log(dash, subject_id=row["subject_id"])
    assert len(mine) and set(mine["role"]) == {"lender"} and set(mine["action"]) == {"lookup"}


def test_a_tier_a_rule_decided_shows_the_rule_beside_grade_and_pd(dash):
    """The lender's view shows both products: grade and PD beside the public tier, and the direct
    rule that decided the tier; the public sees a list's rule, not a default."""
    rated = latest(dash, "enterprise")
    listed = rated[rated["tier_rule"] == "dishonest_debtor"].iloc[0]
    at = goto(app("lender"), "lookup", lookup_query=listed["subject_id"])
    metrics = {m.label: m.value for m in at.metric}
    page = text(at)
    assert metrics["信用等级"] == listed["grade"] and "违约概率" in metrics
    assert "直接评级规则" in page and "失信被执行人" in page and "《最高人民法院关于公布失信被执行人名单信息的若干规定》" in page
    defaulted = rated[rated["tier_rule"] == "in_default"].iloc[0]
    assert "直接评级规则" in text(goto(app("lender"), "lookup", lookup_query=defaulted["subject_id"]))
    assert "直接评级规则" not in text(goto(app("public"), "lookup", lookup_query=defaulted["subject_id"]))
    assert "直接评级规则" in text(goto(app("public"), "lookup", lookup_query=listed["subject_id"]))


def test_lookup_by_name_in_characters_and_pinyin(dash):
    snap = readmodel.current(dash)
    firms = readmodel.subjects(snap).sort_values("subject_id")  # the snapshot's row order is not fixed
    firm = firms[firms["subject_type"] == "enterprise"].iloc[3]
    lender = users.role("lender")
    by_name = readmodel.search(snap, firm["name"][2:8], lender)
    assert firm["subject_id"] in by_name["subject_id"].tolist()
    by_pinyin = readmodel.search(snap, firm["pinyin"], lender)
    assert by_pinyin["subject_id"].iloc[0] == firm["subject_id"]
    assert (by_name["subject_type"] == "enterprise").all()
    # several matches: the page offers them to pick from (a fragment of one name may match it alone,
    # so ask for what every firm's name shares, the city's name)
    assert len(readmodel.search(snap, firm["name"][:2], lender)) > 1
    # initials, a pinyin fragment with the name's digits, and a typo in the characters
    assert firm["subject_id"] in readmodel.search(snap, firm["initials"][:6], lender)["subject_id"].tolist()
    assert readmodel.classify(firm["pinyin"][2:12] + "9") == "name"
    typo = firm["name"][:3] + "冇" + firm["name"][4:]
    assert typo not in set(firms["name"])
    found = readmodel.search(snap, typo, lender)
    assert found["subject_id"].iloc[0] == firm["subject_id"] and found["match"].iloc[0] < 100
    at = goto(app("lender"), "lookup", lookup_query=firm["name"][:2])
    assert at.radio(key="lookup_pick").options


def individual(dash) -> tuple[str, str]:
    snap = readmodel.current(dash)
    people = readmodel.subjects(snap)
    rated = set(latest(dash, "individual")["subject_id"])
    person = people[(people["subject_type"] == "individual") & people["subject_id"].isin(rated)].iloc[0]
    return person["subject_id"], person["name"]


def test_public_cannot_reach_an_individual(dash):
    sid, name = individual(dash)
    before = len(audit.audit_log(dash))
    at = goto(app("public"), "lookup", lookup_query=sid)
    assert at.warning and "不能查询个人" in at.warning[0].value
    assert sid not in text(at) and name not in text(at)
    assert readmodel.search(readmodel.current(dash), sid, users.role(None)).empty
    assert readmodel.search(readmodel.current(dash), name, users.role(None))["subject_type"].eq("enterprise").all()
    with pytest.raises(readmodel.NotAllowed):
        readmodel.lookup(readmodel.current(dash), sid, users.role(None), purpose="curious")
    with pytest.raises(readmodel.NotAllowed):
        readmodel.public_list(readmodel.current(dash), users.role(None), "individual")
    with pytest.raises(readmodel.NeedsPurpose):  # the repair path of a person too
        readmodel.repair(readmodel.current(dash), sid, users.role("lender"))
    assert len(audit.audit_log(dash)) == before


def test_lender_lookup_of_an_individual_needs_a_purpose_is_masked_and_audited(dash):
    sid, name = individual(dash)
    at = goto(app("lender"), "lookup", lookup_query=sid)
    assert at.text_input(key="lookup_purpose")  # asked for a purpose first
    assert not at.metric
    at.button(key="lookup_go").click().run()  # no purpose given
    assert at.warning and "用途" in at.warning[0].value
    before = len(audit.audit_log(dash))
    at.text_input(key="lookup_purpose").input("贷款审批 loan application 2025-117")
    at.button(key="lookup_go").click().run()
    assert not at.exception
    page = text(at)
    assert identifiers.mask_resident_id(sid) in page and identifiers.mask_name(name) in page
    assert sid not in page and name not in page
    sources = list(readmodel.records(readmodel.current(dash), sid, users.role("lender")))
    assert sources
    open_tab(at, "lookup_tab", "records")
    for source in sources:  # the page shows one source's records at a time: visit each
        at.session_state["lookup_source"] = source
        at.run()
        assert not at.exception
        page = text(at)
        assert sid not in page and name not in page  # nor in any source's records table
    assert {m.label for m in at.metric} >= {"信用等级", "违约概率"}
    log = audit.audit_log(dash)
    assert len(log) == before + 1
    entry = log[log["subject_id"] == sid].iloc[0]  # newest first (entries of one second in any order)
    assert (entry["subject_id"], entry["user"], entry["role"]) == (sid, "lender1", "lender")
    assert entry["purpose"] == "贷款审批 loan application 2025-117"


def test_admin_sees_personal_data_and_the_audit_log(dash):
    sid, name = individual(dash)
    at = goto(app("admin"), "lookup", lookup_query=sid)
    at.text_input(key="lookup_purpose").input("credit repair application")
    at.button(key="lookup_go").click().run()
    page = text(at)
    assert sid in page and name in page
    goto(at, "audit")
    log = next(df.value for df in at.dataframe)
    assert sid in set(log.iloc[:, 4]) and "credit repair application" in set(log.iloc[:, 5])
    assert any(b.label == "下载 CSV" for b in at.get("download_button"))
    with pytest.raises(readmodel.NotAllowed):
        readmodel.audit_log(users.role("analyst"), dash)


# --- early warning -------------------------------------------------------------------------


def test_analyst_opens_an_enterprise_alert_and_acknowledges_it(dash):
    alerts = readmodel.alerts(dash)
    at = goto(app("analyst"), "warning")
    at.multiselect(key="alert_types").set_value(["enterprise"]).run()
    at.multiselect(key="alert_severities").set_value(["high", "medium"]).run()
    pick = at.selectbox(key="alert_pick").value
    expected = readmodel.filter_alerts(alerts, severities=("high", "medium"), subject_types=("enterprise",),
                                       statuses=("new", "acknowledged"))
    assert pick in set(expected["subject_id"])
    at.button(key="alert_open_button").click().run()
    assert "证据记录" in text(at)
    at.text_area(key="alert_note").input("已致电企业财务负责人核实")
    at.radio(key="alert_action_status").set_value("acknowledged")
    at.button(key="alert_submit").click().run()
    assert not at.exception
    stored = readmodel.alerts(dash).set_index("subject_id").loc[pick]
    assert stored["status"] == "acknowledged"
    with state.connect(dash) as con:
        notes = [tuple(r) for r in con.execute(sa.text("SELECT user, note FROM alert_notes WHERE subject_id = :s"), {"s": pick})]
    assert ("analyst1", "已致电企业财务负责人核实") in notes
    # heat maps of the portfolio
    assert len(at.get("plotly_chart")) >= 2
    with pytest.raises(readmodel.NotAllowed):
        alert_desk.set_alert_status(str(stored["as_of"]), pick, "closed", "", users.role("lender"), user="lender1", home=dash)


def test_an_individuals_alert_needs_a_purpose_and_is_audited(dash):
    alerts = readmodel.alerts(dash)
    people = alerts[alerts["subject_type"] == "individual"]
    if people.empty:
        pytest.skip("no alert for an individual in this small city")
    at = goto(app("analyst"), "warning")
    at.multiselect(key="alert_types").set_value(["individual"]).run()
    pick = at.selectbox(key="alert_pick").value
    page = text(at)
    assert pick not in page and identifiers.mask_resident_id(pick) in page
    at.button(key="alert_open_button").click().run()
    assert at.warning and "用途" in at.warning[0].value
    before = len(audit.audit_log(dash))
    at.text_input(key="alert_purpose").input("portfolio review")
    at.button(key="alert_open_button").click().run()
    assert "证据记录" in text(at) and pick not in text(at)
    log = audit.audit_log(dash)
    assert len(log) == before + 1 and log.iloc[0]["action"] == "alert" and log.iloc[0]["subject_id"] == pick


# --- criteria, models, coverage, publication -------------------------------------------------


def test_criteria_page_renders_a_version_and_takes_public_comments(dash):
    at = goto(app("public"), "criteria")
    page = text(at)
    assert "公共信用综合评价标准（企业）" in page and "首次发布" in page
    assert {b.label for b in at.get("download_button")} >= {"criteria.md", "criteria.json", "criteria.sql"}
    at.text_area(key="comment_text").input("请说明社保指标的计算口径")
    at.button(key="comment_submit").click().run()
    assert at.success
    assert "请说明社保指标的计算口径" not in text(at)  # the public does not see the comments received
    admin = goto(app("admin"), "criteria")
    assert "请说明社保指标的计算口径" in text(admin)
    assert readmodel.comments(users.role("admin"), dash)["text"].iloc[0] == "请说明社保指标的计算口径"


def test_models_page_shows_metrics_calibration_and_mlflow_links(dash):
    at = goto(app("analyst"), "models")
    metrics = at.dataframe[0].value
    assert {"AUC", "KS", "Brier 分数", "模型", "违约概率校准"} <= set(metrics.columns) and len(metrics) >= 2
    # each model says how its PDs were calibrated, in words: the scorecard by Platt, as configured
    assert set(metrics["违约概率校准"]) <= {"Platt 逻辑校准", "二次逻辑校准"}
    assert (metrics.loc[metrics["模型"] == "评分卡", "违约概率校准"] == "Platt 逻辑校准").all()
    assert not any(c.islower() and "_" in c for c in metrics.columns)  # no snake_case header
    psi = readmodel.drift_table(readmodel.current(dash), "enterprise", "zh")
    assert "违约概率" in set(psi["measure"]) and not psi["measure"].str.fullmatch(r"[a-z0-9_]+").any()
    # no MLflow UI runs in the demo: the runs are named, not linked, and the page says where to read how to open them
    assert "/#/experiments/" not in text(at) and "docs/models.md" in text(at)
    summary = readmodel.models_summary(readmodel.current(dash), "enterprise")
    assert str(summary["champion"]["run_id"])[:8] in text(at)
    assert len(at.get("plotly_chart")) >= 5  # calibration by grade (x2), ROC, KS and PSI
    snap = readmodel.current(dash)
    curves = readmodel.model_curves(snap, "enterprise")
    assert set(curves["alias"]) == {"champion", "challenger"}
    for alias, c in curves.groupby("alias"):  # the curves drawn are the model's own, as its metrics say
        assert c["gap"].max() == pytest.approx(c["ks"].iloc[0], abs=0.02)


def test_a_named_mlflow_ui_gets_the_runs_linked(tmp_path):
    (tmp_path / "settings.yaml").write_text("dashboard:\n  mlflow_ui_url: http://mlflow.office:5000/\n", "utf-8")
    run = {"experiment_id": "3", "run_id": "abc"}
    assert readmodel.mlflow_link(run, tmp_path) == "http://mlflow.office:5000/#/experiments/3/runs/abc"
    assert readmodel.mlflow_link(run, tmp_path / "elsewhere") is None


def test_coverage_page(dash):
    """The page says what `chengxin coverage` stored: the months judged, the missing cells and
    their share, the late double-publicity share; the heat map has a cell per department and
    county; the missing-months table lists the worst gaps in words, not codes."""
    snap = readmodel.current(dash)
    summary = readmodel.coverage_summary(snap)
    assert summary["cells"] > 0
    at = goto(app("admin"), "coverage")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["月份"] == f"{summary['months'][0]} – {summary['months'][1]}"
    assert metrics["缺报月数"].startswith(f"{summary['missing_cells']:,}")
    assert metrics["缺报月数"].endswith(f"({summary['missing_share'] * 100:.1f}%)")
    matrix = readmodel.coverage_matrix(snap, "zh")
    assert len(matrix) and matrix.notna().to_numpy().any() and ((matrix.fillna(0) >= 0) & (matrix.fillna(0) <= 1)).all().all()
    assert len(at.get("plotly_chart")) == 1
    missing = readmodel.missing_months(snap, "zh")
    shown = [df.value for df in at.dataframe]
    if len(missing):
        assert any(len(df) == len(missing) and not df.iloc[:, 0].astype(str).str.fullmatch(r"[a-z_]+").any() for df in shown)
    # a role without the page is refused
    assert "coverage" not in users.role("lender").pages


def test_publication_lists_and_exports(dash):
    snap = readmodel.current(dash)
    lender = users.role("lender")
    public = readmodel.public_list(snap, lender, "enterprise")
    assert len(public) == len(latest(dash, "enterprise"))
    assert not {"pd", "grade", "score"} & set(public.columns)
    people = readmodel.public_list(snap, lender, "individual")
    assert people["subject_id"].str.contains(r"\*{8}").all()
    assert pd.read_csv(__import__("io").BytesIO(readmodel.to_csv(public)), encoding="utf-8-sig").shape[0] == len(public)
    assert readmodel.to_excel(public.head(5))[:2] == b"PK"
    at = goto(app("public"), "publication")
    assert not at.radio  # the public sees the enterprise lists only
    assert any(b.label == "下载 Excel" for b in at.get("download_button"))
    black = readmodel.red_black(snap, users.role(None), "black")
    assert len(black) and black["measures"].str.len().gt(0).all() and black["ends"].notna().all()
    # filters, and a name filter that never sees through the masking
    firm = public.iloc[0]
    hit = readmodel.public_list(snap, lender, "enterprise", counties=[latest(dash, "enterprise").set_index("subject_id")
                                                                      .loc[firm["subject_id"], "county"]],
                                tiers=[firm["tier"]], name=firm["name"][2:6])
    assert firm["subject_id"] in set(hit["subject_id"]) and (hit["tier"] == firm["tier"]).all()
    person = readmodel.subjects(snap).query("subject_type == 'individual'")
    person = person[person["subject_id"].isin(latest(dash, "individual")["subject_id"])].iloc[0]
    assert readmodel.public_list(snap, lender, "individual", name=person["name"]).empty


def test_long_lists_show_their_first_rows_and_download_them_all(dash):
    (dash / "settings.yaml").write_text("dashboard:\n  table_rows: 5\n", "utf-8")
    try:
        at = goto(app("public"), "publication")
        shown = at.dataframe[0].value
        assert len(shown) == 5 and "显示前 5 行" in text(at)
        total = len(readmodel.public_list(readmodel.current(dash), users.role(None), "enterprise"))
        assert i18n.number(total, "zh") in text(at)  # the size of the whole list, which the downloads hold
    finally:
        (dash / "settings.yaml").unlink()


# --- library ---------------------------------------------------------------------------------


def test_refresh_is_atomic_and_skips_unchanged_inputs(dash):
    import json

    from typer.testing import CliRunner

    from chengxin.cli import app as cli

    first = readmodel.current(dash)
    again = snapshot.refresh(dash)
    assert not again["new"] and again["snapshot"] == first.id
    published = CliRunner().invoke(cli, ["publish", "dashboard", "--json"])  # what a pipeline runs after score
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout) == {"snapshot": first.id, "new": False, "path": str(first.path)}
    assert not readmodel.stale(first, dash)
    readmodel.ratings(first, None)  # a table of the old snapshot, now cached
    assert readmodel.rows._parquet.cache_info().currsize > 0
    forced = snapshot.refresh(dash, force=True)
    assert forced["new"] and readmodel.current(dash).id == forced["snapshot"]
    assert readmodel.rows._parquet.cache_info().currsize == 0  # the old snapshot's tables are let go
    assert not any(p.name.startswith(".building") for p in readmodel.root(dash).iterdir())
    # a ratings file still being written is not read: the snapshot keeps the last complete one
    folder = dash / "published" / "ratings" / "enterprise" / f"as_of={readmodel.current(dash).as_of()}"
    partial = folder / "ratings_99999999T999999_zzzzzz.parquet"
    partial.write_bytes(b"PAR1 not yet")
    try:
        assert readmodel.snapshot._readable(sorted(folder.glob("ratings_*.parquet"))) != partial
    finally:
        partial.unlink()


def test_overview_counts_come_from_the_snapshot_summary_and_match_the_ratings(dash):
    snap = readmodel.current(dash)
    assert (snap.path / readmodel.SUMMARY).exists()
    for subject in ("enterprise", "individual"):
        rated = latest(dash, subject)
        assert readmodel.rated_count(snap, subject) == len(rated)
        for column in ("tier", "grade"):
            got = readmodel.distribution(snap, column, subject).set_index(column)["count"]
            assert got[got > 0].to_dict() == rated[column].value_counts().to_dict()
    by = readmodel.tiers_by(snap, "county")
    expected = latest(dash, "enterprise").groupby(["county", "tier"]).size()
    assert by.set_index(["county", "tier"])["count"].sort_index().to_dict() == expected.sort_index().to_dict()
    assert by.groupby("county")["share"].sum().round(9).eq(1).all()


def test_lookup_reads_stored_contributions_that_match_explain(dash):
    from chengxin.pipelines import explain as explanation

    snap = readmodel.current(dash)
    assert snap.manifest["subjects"]["enterprise"].get("explanations")
    sid = latest(dash, "enterprise")["subject_id"].iloc[5]
    stored = readmodel.stored_contributions(snap, "enterprise", sid)
    live = explanation.explain(sid, snap.as_of("enterprise"), home=dash)["models"]
    for model in ("scorecard", "boosted"):
        assert stored[model]["raw_output"] == pytest.approx(live[model]["raw_output"], abs=1e-6)
        assert stored[model]["base_value"] == pytest.approx(live[model]["base_value"], abs=1e-6)
    table = readmodel.contribution_table(stored["scorecard"], "enterprise", "zh", top=5)
    assert table["value"].iloc[:-1].sum() == pytest.approx(table["value"].iloc[-1], abs=1e-6)
    assert readmodel.stored_contributions(snap, "individual", "610302199001011234") is None


def test_a_lookup_reads_and_never_explains(dash, tmp_path, monkeypatch):
    """A date `chengxin explain --all` did not store: the look-up shows the published rating and
    says the explanation is unavailable; nothing is scored, explained or built on the way."""
    import shutil

    from chengxin.features import snapshots
    from chengxin.models import explain as ex
    from chengxin.models import registered

    def refuse(*args, **kwargs):
        raise AssertionError("a read computed")

    for module, name in ((registered, "rating_models"), (snapshots, "stored_indicators"), (ex, "repair_paths"),
                         (ex, "boosted_contributions")):
        monkeypatch.setattr(module, name, refuse)
    snap = readmodel.current(dash)
    sid = latest(dash, "enterprise")["subject_id"].iloc[7]
    lender = users.role("lender")
    stored = readmodel.lookup(snap, sid, lender)
    assert stored["contributions"] and not stored["notes"]
    assert readmodel.repair(snap, sid, lender)["repair_path"] == readmodel.stored_repair(snap, "enterprise", sid)["repair_path"]
    copy = tmp_path / "home" / "published" / "dashboard" / snap.id
    shutil.copytree(snap.path, copy, ignore=shutil.ignore_patterns("explanations"))
    bare = readmodel.Snapshot(copy, snap.manifest)
    looked = readmodel.lookup(bare, sid, lender)
    assert looked["rated"] and looked["grade"] == stored["grade"] and "contributions" not in looked
    assert "explain_unavailable" in looked["notes"]
    fix = readmodel.repair(bare, sid, lender)
    assert fix["repair_path"] == [] and "explain_unavailable" in fix["notes"]


def test_the_app_keeps_serving_while_a_pipeline_writes_the_warehouse(dash):
    """A process holding DuckDB's write lock (as ingest or score do) blocks neither the pages nor
    a look-up; a refresh meanwhile fails cleanly and the last snapshot stays published."""
    import subprocess
    import sys

    code = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(dash / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = readmodel.current(dash).id
        with pytest.raises(workspace.UserError, match="being written"):
            snapshot.refresh(dash, force=True)
        assert readmodel.current(dash).id == before
        assert not any(p.name.startswith(".building") for p in readmodel.root(dash).iterdir())
        rated = latest(dash, "enterprise")
        row = rated[rated["grade"] != "D"].iloc[7]
        at = goto(app("lender"), "lookup", lookup_query=row["subject_id"])
        assert {m.label: m.value for m in at.metric}["信用等级"] == row["grade"]
        assert "信用修复路径" in [t.label for t in at.tabs]
        for page in ("overview", "warning", "criteria", "models", "coverage", "publication", "audit"):
            goto(app("admin"), page)
    finally:
        holder.kill()
        holder.wait()


def test_masking_policy():
    lender, admin = users.role("lender"), users.role("admin")
    frame = pd.DataFrame({"subject_id": ["610302199001011234", "91610300000665723L"], "subject_type": ["individual", "enterprise"],
                          "name": ["张三丰", "宝鸡某某有限公司"]})
    masked = users.mask_frame(frame, lender)
    assert masked["subject_id"].tolist() == ["610302********1234", "91610300000665723L"]
    assert masked["name"].tolist() == ["张**", "宝鸡某某有限公司"]
    assert users.mask_frame(frame, admin).equals(frame)
    reg = pd.DataFrame({"subject_id": ["91610300000665723L"], "subject_type": ["enterprise"], "legal_rep_id": ["610302199001011234"]})
    assert users.mask_frame(reg, lender, source="registration", name_col=None)["legal_rep_id"].iloc[0] == "610302********1234"
    assert users.personal_columns("resident") == ["subject_id", "name"]


def test_users_and_roles_are_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("CHENGXIN_HOME", str(tmp_path / "default"))  # sign-ins are recorded in the workspace
    assert users.authenticate("lender1", "lender-demo").role == "lender"
    assert users.authenticate("lender1", "nope") is None and users.authenticate("ghost", "x") is None
    (tmp_path / "users.yaml").write_text(json.dumps({"users": {"bank7": {"role": "lender", "password_bcrypt": users.hash_password("s3cret")}}}))
    assert users.authenticate("bank7", "s3cret", tmp_path).role == "lender"
    assert users.authenticate("lender1", "lender-demo", tmp_path) is None  # the demo users are replaced


def test_repeated_failed_sign_ins_lock_the_name_for_a_while(tmp_path):
    from chengxin import config

    limits = config.settings(tmp_path).dashboard
    assert users.authenticate("lender1", "lender-demo", tmp_path)
    for _ in range(limits.login_max_failures):
        assert users.authenticate("lender1", "guess", tmp_path) is None
    with pytest.raises(users.LockedOut):  # even the right password now waits
        users.authenticate("lender1", "lender-demo", tmp_path)
    assert users.authenticate("analyst1", "analyst-demo", tmp_path)  # other names are not affected
    with state.connect(tmp_path) as con:  # the window passes
        con.execute(sa.text("UPDATE logins SET at = '2000-01-01T00:00:00' WHERE username = 'lender1'"))
    assert users.authenticate("lender1", "lender-demo", tmp_path).role == "lender"


def test_public_comments_pause_when_too_many_arrive(tmp_path):
    from chengxin import config

    limit = config.settings(tmp_path).dashboard.comments_per_hour
    for k in range(limit):
        comments.add_comment("enterprise", "v1", f"comment {k}", home=tmp_path)
    with pytest.raises(comments.CommentsPaused):
        comments.add_comment("enterprise", "v1", "one too many", home=tmp_path)
    assert len(readmodel.comments(users.role("admin"), tmp_path)) == limit
    (tmp_path / "users.yaml").write_text(json.dumps({"roles": {"public": {"individuals": True}}}))
    with pytest.raises(ValueError, match="public role"):
        users.roles_config(tmp_path)


def test_list_rules_end_dates_repair_and_lifting():
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE rec_penalty AS SELECT * FROM (VALUES "
                "('F1', 'D1', DATE '2024-01-10', 'serious', false, NULL::DATE, DATE '2024-01-20'),"
                "('F2', 'D2', DATE '2024-01-10', 'serious', true, DATE '2024-06-01', DATE '2024-01-20'),"
                "('F3', 'D3', DATE '2020-06-10', 'serious', false, NULL::DATE, DATE '2020-06-20'),"
                "('F4', 'D4', DATE '2024-01-10', 'general', false, NULL::DATE, DATE '2024-01-20')) "
                "t(subject_id, decision_no, decision_date, severity, repaired, repair_date, received_date)")
    con.execute("CREATE TABLE rec_courts AS SELECT * FROM (VALUES "
                "('P1', 'individual', 'C1', 'dishonest_listed', DATE '2024-03-01', DATE '2024-03-05'),"
                "('P1', 'individual', 'C1', 'dishonest_removed', DATE '2024-09-01', DATE '2024-09-05'),"
                "('P2', 'individual', 'C2', 'dishonest_listed', DATE '2024-03-01', DATE '2024-03-05')) "
                "t(subject_id, subject_type, case_no, event_type, event_date, received_date)")
    for table in ("annual_report", "procurement", "honours"):
        cols = {"annual_report": "subject_id VARCHAR, event_type VARCHAR, event_date DATE, received_date DATE",
                "procurement": "subject_id VARCHAR, record_no VARCHAR, event_type VARCHAR, event_date DATE, end_date DATE, received_date DATE",
                "honours": "subject_id VARCHAR, honour_no VARCHAR, honour VARCHAR, event_date DATE, valid_until DATE, received_date DATE"}[table]
        con.execute(f"CREATE TABLE rec_{table} ({cols})")
    con.execute("INSERT INTO rec_honours VALUES ('F1', 'H1', 'a_grade_taxpayer', DATE '2024-05-01', DATE '2025-05-01', DATE '2024-05-02'),"
                "('F5', 'H2', 'a_grade_taxpayer', DATE '2024-05-01', DATE '2025-05-01', DATE '2024-05-02'),"
                "('F7', 'H3', 'a_grade_taxpayer', DATE '2024-05-01', DATE '2025-05-01', DATE '2024-05-02')")
    # the tax bureau's latest grades: F5 still A; F7 fell to C after its honour was granted
    con.execute("CREATE TABLE rec_tax AS SELECT * FROM (VALUES "
                "('F5', DATE '2024-04-01', 'A', DATE '2024-04-20'), ('F7', DATE '2024-04-01', 'A', DATE '2024-04-20'),"
                "('F7', DATE '2024-10-01', 'C', DATE '2024-10-20'), ('F5', DATE '2025-02-01', 'C', DATE '2025-02-20')) "
                "t(subject_id, period, tax_credit_grade, received_date)")
    # inspectors could not reach F8 (abnormal operations); F9 was reached again later (lifted)
    con.execute("CREATE TABLE rec_inspection AS SELECT * FROM (VALUES "
                "('F8', 'I1', DATE '2024-06-03', 'unreachable', DATE '2024-06-20'),"
                "('F9', 'I2', DATE '2024-03-04', 'unreachable', DATE '2024-03-20'),"
                "('F9', 'I3', DATE '2024-08-05', 'no_problem', DATE '2024-08-20')) "
                "t(subject_id, inspection_no, inspection_date, result, received_date)")
    ratings = pd.DataFrame({"subject_id": ["F1", "F5", "F6", "F7"], "subject_type": "enterprise", "tier": ["A", "A", "D", "A"]})
    out = lists.build(con, ratings, dt.date(2024, 12, 31)).set_index(["rule", "subject_id"])
    assert out.loc[("serious_penalty", "F1"), "status"] == "active"
    assert out.loc[("serious_penalty", "F1"), "ends"] == dt.date(2027, 1, 10)  # 36 months of publicity
    # repaired: ends after the 12-month minimum period, not at the repair date
    assert out.loc[("serious_penalty", "F2"), "ends"] == dt.date(2025, 1, 10)
    assert ("serious_penalty", "F3") not in out.index  # ended long ago
    assert ("serious_penalty", "F4") not in out.index  # general penalties are not on the black list
    assert out.loc[("dishonest_debtor", "P1"), "status"] == "lifted"
    assert out.loc[("dishonest_debtor", "P1"), "ends"] == dt.date(2024, 9, 1)
    assert out.loc[("dishonest_debtor", "P2"), "status"] == "active"
    assert out.loc[("tier_d", "F6"), "ends"] == dt.date(2025, 12, 31)
    assert out.loc[("abnormal_unreachable", "F8"), "status"] == "active"
    assert out.loc[("abnormal_unreachable", "F8"), "ends"] == dt.date(2027, 6, 3)
    assert out.loc[("abnormal_unreachable", "F9"), "status"] == "lifted"
    assert out.loc[("abnormal_unreachable", "F9"), "ends"] == dt.date(2024, 8, 5)
    # the red list leaves out a subject with an active black-list entry
    assert ("a_grade_taxpayer", "F5") in out.index and ("a_grade_taxpayer", "F1") not in out.index
    # an honour whose basis is gone (the latest grade known on the day is no longer A) is lifted;
    # a grade received after the day does not count yet
    assert out.loc[("a_grade_taxpayer", "F7"), "status"] == "lifted"
    assert out.loc[("a_grade_taxpayer", "F5"), "status"] == "active"
    assert out["measures_zh"].str.len().gt(0).all()


def test_app_ships_with_the_package_and_the_cli_starts_it_headless():
    from typer.testing import CliRunner

    from chengxin.cli import app as cli

    assert dashboard.app_path().name == "Home.py" and dashboard.app_path().exists()
    assert (dashboard.app_path().parent / "pages" / "lookup.py").exists()
    flags = dashboard.streamlit_flags(8600)
    assert flags[flags.index("--browser.gatherUsageStats") + 1] == "false"
    assert flags[flags.index("--server.headless") + 1] == "true"
    result = CliRunner().invoke(cli, ["app", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_a_department_checks_a_listed_firm_and_reports_back_and_the_office_counts_it(dash):
    """The Credit checks page: a department runs a check on a black-listed firm for public
    procurement, sees the verdict and the measures with their legal basis, records what it
    applied; the analyst sees it counted. The publication page shows the same catalogue."""
    snap = readmodel.current(dash)
    e = readmodel.list_entries(snap)
    listed = e[(e["status"] == "active") & (e["rule"] == "dishonest_debtor") & (e["subject_type"] == "enterprise")]
    assert len(listed)
    firm = listed["subject_id"].iloc[0]
    at = goto(app("department"), "checks")
    at.text_input(key="check_subject").input(firm)
    at.selectbox(key="check_action").set_value("procurement")
    at.text_input(key="check_purpose").input("tender 2025-17 bid review")
    at.text_input(key="check_case_ref").input("PROC-2025-17")
    at.button[0].click().run()
    assert not at.exception, [x.value for x in at.exception]
    shown = text(at)
    assert "禁止" in shown and "限制参与政府采购和招标投标活动" in shown and "《中华人民共和国政府采购法》第二十二条" in shown
    before = readmodel.check_statistics(users.role("analyst"))
    done = before[(before["institution"] == "市市场监管局") & (before["action"] == "procurement")]
    assert int(done["checks"].sum()) >= 1
    at.text_input(key="check_outcome").input("bid refused")
    at.button[1].click().run()
    assert not at.exception and i18n.t("feedback_saved") in text(at)
    after = readmodel.check_statistics(users.role("analyst"))
    row = after[(after["institution"] == "市市场监管局") & (after["action"] == "procurement")]
    assert int(row["with_feedback"].sum()) >= 1 and int(row["measures_applied"].sum()) >= 1
    stats = text(goto(app("analyst"), "checks"))
    assert i18n.t("check_statistics") in stats and "市市场监管局" in stats
    assert "政府采购和招标投标" in stats and "procurement" not in stats  # the action in words
    catalogue = text(goto(app("public"), "publication"))
    assert "限制参与政府采购和招标投标活动" in catalogue and "国发〔2016〕33号" in catalogue
    assert "BAR_PROCUREMENT" not in catalogue  # the measures by what they do, not by code
