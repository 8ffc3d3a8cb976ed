"""The supervision page (app/pages/supervision.py) with Streamlit's AppTest, role by role: offered
and rendered for an analyst, an admin and the clerk of a department that inspects (the classes
by county and industry, the month's plan with its seed, input digest and inspectors, the results
on their clock, the hit rates by class), each read of a class and of a plan on the audit log;
never offered to the public, a lender, an agency, a tax bureau's clerk or a firm's own account;
an empty state that says what to run."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chengxin import audit, catalog, config, dashboard, i18n, users
from conftest import SUPERVISION_MONTH
from wording import problems

APP = str(dashboard.app_path())
PAGE = "pages/supervision.py"
CFG = config.supervision()
HASH = users.declared_roles().users["lender1"].password_bcrypt  # any valid bcrypt hash: nobody signs in here
PEOPLE = {
    "analyst": users.declared_roles().users["analyst1"],
    "admin": users.declared_roles().users["admin1"],
    "inspecting": users.declared_roles().users["dept1"],  # 市场监督管理局: it inspects
    "lender": users.declared_roles().users["lender1"],
    "agency": users.User(username="agency1", display="示范征信公司", role="agency", password_bcrypt=HASH),
    "tax": users.User(username="tax1", display="市税务局", role="department", department="税务局", password_bcrypt=HASH),
    "own": users.declared_roles().users["firm1"],
    "public": None,
}
ALLOWED = {"analyst", "admin", "inspecting"}


@pytest.fixture(scope="module")
def dash(dashboard_home, tmp_path_factory):
    """A copy of the rated city (its audit entries stay there)."""
    home = tmp_path_factory.mktemp("supervision_page") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    return home


@pytest.fixture
def at_home(dash, monkeypatch):
    monkeypatch.setenv("CHENGXIN_HOME", str(dash))
    return dash


def app(who: str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if PEOPLE[who] is not None:
        at.session_state["user"] = PEOPLE[who]
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    """What a person reads on the page: titles, words, metrics and tables (as test_app reads it),
    without the charts."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(e.value)).replace("\xa0", " ") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [df.value.to_csv(index=False) for df in at.dataframe]
    parts += [t.value.to_csv(index=False) for t in at.table]
    return "\n".join(parts)


def offered(at: AppTest) -> bool:
    """Is the page in the navigation? AppTest switches only to a registered page on the first go."""
    try:
        at.switch_page(PAGE)
    except ValueError as exc:
        assert "Could not find a navigation page" in str(exc)
        return False
    return True


@pytest.mark.parametrize("who", list(PEOPLE))
def test_the_page_is_offered_only_to_the_roles_with_the_right(at_home, who):
    at = app(who)
    assert offered(at) is (who in ALLOWED), who
    if who in ALLOWED:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == i18n.t("page_supervision", "zh")
        return
    # reached anyway (its address typed): refused before anything is read
    home_page = users.role(PEOPLE[who].role if PEOPLE[who] else None).home_page
    at.switch_page(f"pages/{home_page}.py").run()
    at.switch_page(PAGE).run()
    assert [w.value for w in at.main.warning] == [i18n.t("not_allowed")], who
    assert not (at.title or at.dataframe or at.metric or at.get("plotly_chart") or at.table), who
    page = text(at)
    assert not [w for c in CFG.classes.values() for w in (c.zh, c.en) if w in page]


def test_an_analyst_reads_the_classes_the_plan_its_results_and_the_hit_rates(at_home):
    path = [p for p in catalog.inspection_plans(at_home) if p.parent.name == SUPERVISION_MONTH][-1]
    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    classes = pd.read_parquet(catalog.risk_classes_runs(at_home)[-1])
    before = audit.audit_log(at_home)
    at = app("analyst")
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    page = text(at)
    # the classes: each class with its words and count, by county and by industry
    shown = {m.label: m.value for m in at.metric}
    for k, c in CFG.classes.items():
        n = int((classes["class"] == k).sum())
        assert shown[f"{k} {c.zh} · {n / len(classes):.1%}"] == f"{n:,}"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [(c["layout"].get("title") or {}).get("text") for c in charts]
    assert i18n.t("classes_by_county") in titles and i18n.t("classes_by_industry") in titles
    county = next(c for c in charts if (c["layout"].get("title") or {}).get("text") == i18n.t("classes_by_county"))
    assert [t["name"] for t in county["data"]] == [f"{k} {c.zh}" for k, c in CFG.classes.items()]
    # this month's plan (the day shown is the rating date, in its month): seed, digest, inspectors
    assert f"{i18n.t('plan_no')}:** {meta['plan_no']}" in page and shown[i18n.t("seed")] == str(meta["seed"])
    assert meta["input_digest"] in page
    shown = at.dataframe[0].value  # the plan's inspections (no firm looked up yet: no table of its signals)
    assert shown[i18n.t("inspection_no")].tolist() == plan["inspection_no"].tolist()
    assert shown[i18n.t("inspectors")].tolist() == plan["inspectors"].tolist()
    assert shown[i18n.t("risk_class")].tolist() == [f"{k} {CFG.classes[k].zh}" for k in plan["stratum"]]
    assert shown[i18n.t("items")].iloc[0] == i18n.violation_kinds(plan["items"].iloc[0])
    # its results on their clock: some in, the rest pending on the rating date; none late yet
    results = at.dataframe[1].value
    clocks = set(results[i18n.t("result_clock")])
    assert clocks <= {i18n.word(i18n.RESULT_CLOCK, k) for k in ("on_time", "pending")} and len(clocks) == 2
    assert i18n.t("plan_results").format(days=20) in page
    # the hit rates, a line per class drawn
    assert i18n.t("hit_rate") in titles
    assert not problems(page, "zh"), problems(page, "zh")
    # on the audit log: the plan, once (a rerun reads it from the session)
    at.run()
    log = audit.audit_log(at_home)
    reads = log[(log["action"] == "inspection_plan") & (log["user"] == "analyst1")]
    assert len(reads) == 1 + ((before["action"] == "inspection_plan") & (before["user"] == "analyst1")).sum()


def test_a_firm_s_class_is_looked_up_with_its_reasons_and_audited(at_home):
    classes = pd.read_parquet(catalog.risk_classes_runs(at_home)[-1]).set_index("subject_id")
    firm = classes[classes["class"] == "D"].index[2]
    at = app("inspecting")
    at.switch_page(PAGE).run()
    at.text_input(key="class_subject").input(firm)
    at.button(key="class_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    page = text(at)
    assert f"{i18n.t('risk_class')}: **D {CFG.classes['D'].zh}**" in page
    assert classes.loc[firm, "reasons_zh"] in page
    signals = at.dataframe[0].value
    assert signals[i18n.t("risk_signal")].tolist() == [s.zh for s in CFG.signals.values()]
    log = audit.audit_log(at_home)
    mine = log[(log["action"] == "risk_class") & (log["subject_id"] == firm)]
    assert mine[["user", "role"]].values.tolist() == [["dept1", "department"]]
    # a person, or an id nobody holds, has no class
    at.text_input(key="class_subject").input("not-a-code")
    at.button(key="class_go").click().run()
    assert i18n.t("no_match") in [w.value for w in at.warning]


def test_the_page_reads_in_english(at_home):
    at = app("admin", "en")
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    page = text(at)
    assert "Supervision" in page and CFG.classes["A"].en in page
    assert not problems(page, "en"), problems(page, "en")


def test_with_nothing_classified_the_page_says_what_to_run(dashboard_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*", "supervision"))
    assert not catalog.risk_classes_runs(home)
    monkeypatch.setenv("CHENGXIN_HOME", str(home))
    at = app("analyst")
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [i.value for i in at.info] == [i18n.t("no_classes")]
    assert "chengxin supervise classify" in at.info[0].value
    assert not (at.dataframe or at.get("plotly_chart"))
