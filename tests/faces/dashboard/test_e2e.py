"""The dashboard in a real browser: `chengxin app` serving a test workspace, driven by Playwright
through Debian's headless Chromium (no browser is downloaded; requests leaving this machine are
aborted). Screenshots land in tests/artifacts/ (git-ignored); every page as every role: test_guard."""

from __future__ import annotations

import socket

import pytest

from chengxin import identifiers, readmodel
from chengxin.browser import go, login, new_page, settle
from chengxin.browser import look_up as lookup
from conftest import ARTIFACTS, serving


@pytest.fixture(scope="module")
def server(dashboard_home):
    with serving(dashboard_home, "app", "/_stcore/health", "--no-refresh", wait=120) as base:
        yield base
    # `chengxin app` becomes the server: stopping it leaves no Streamlit child holding the port
    port = int(base.rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "a dashboard server outlived `chengxin app`"


def shoot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_public_reaches_no_individual(server, browser, dashboard_home):
    snap = readmodel.current(dashboard_home)
    people = readmodel.subjects(snap)
    person = people[people["subject_type"] == "individual"].iloc[0]
    page = new_page(browser, server)
    shoot(page, "public_overview")
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "信用查询" in nav and "风险预警" not in nav and "审计日志" not in nav
    go(page, "信用查询")
    lookup(page, person["subject_id"])
    settle(page, "当前角色不能查询个人信息")
    body = page.locator("body").inner_text()
    assert person["subject_id"] not in body and person["name"] not in body
    shoot(page, "public_lookup_individual_refused")
    go(page, "评价结果公示", "公共信用评价结果")
    body = page.locator("body").inner_text()
    assert "主体类型" not in body  # no switch to the individuals' list
    assert identifiers.mask_resident_id(person["subject_id"]) not in body and person["subject_id"] not in body
    shoot(page, "public_publication")
    page.close()


def test_lender_looks_up_an_enterprise_and_sees_grade_and_reasons(server, browser, dashboard_home):
    snap = readmodel.current(dashboard_home)
    rated = readmodel.ratings(snap, "enterprise")
    firm = rated[rated["reason_1_zh"].notna()].iloc[0]
    page = new_page(browser, server)
    login(page, "lender1", "lender-demo")
    go(page, "信用查询")
    lookup(page, firm["subject_id"])
    settle(page, "主要扣分原因")
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any("信用等级" in m and firm["grade"] in m for m in metrics), metrics
    assert page.get_by_text(firm["reason_1_zh"]).first.is_visible()
    page.locator(".js-plotly-plot").first.wait_for()
    shoot(page, "lender_lookup_enterprise")
    # the tabs are built when opened: the repair path, then the records one source at a time
    page.get_by_role("tab", name="信用修复路径").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.locator("[data-testid='stTabs']").get_by_text("→").first.or_(page.get_by_text("暂无可行的修复措施")).first.wait_for()
    shoot(page, "lender_lookup_repair")
    page.get_by_role("tab", name="归集记录（按来源）").click()
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    shoot(page, "lender_lookup_records")
    # an individual: a stated purpose first, then masked ID and name
    people = readmodel.subjects(snap)
    rated_people = set(readmodel.ratings(snap, "individual")["subject_id"])
    person = people[(people["subject_type"] == "individual") & people["subject_id"].isin(rated_people)].iloc[0]
    lookup(page, person["subject_id"])
    settle(page, "查询用途")
    page.get_by_label("查询用途（必填，将记入审计日志）").fill("贷款审批 e2e")
    page.get_by_role("button", name="查询").click()
    settle(page, "本次查询已记入审计日志")
    body = page.locator("body").inner_text()
    assert identifiers.mask_resident_id(person["subject_id"]) in body and identifiers.mask_name(person["name"]) in body
    assert person["name"] not in body
    shoot(page, "lender_lookup_individual")
    page.close()
