"""The guard (issue 35): every page the dashboard has, visited in a real browser as every role on a
small rated city, fails when what a person reads holds `None`, `nan`, `NaT`, a JSON object, a
snake_case identifier, or (in the Chinese interface) a Latin word outside `wording.ALLOWED_LATIN`.

Each page is read as a person would use it: every tab opened, every expander unfolded, a firm
with a penalty and a list entry looked up (and a person, where the role may), an alert opened,
cases, a credit check and a stated repair on the desk. One full-page screenshot per page and role
lands in tests/artifacts/guard_<role>_<page>.png for a person to look at."""

from __future__ import annotations

import shutil
import time

import pandas as pd
import pytest
import yaml

from chengxin import i18n, readmodel, users, warehouse
from chengxin.browser import go, login, look_up, new_page, settle, visible_text
from conftest import ARTIFACTS, serving
from wording import problems

OWN_FIRM_USER, AGENCY_USER, PASSWORD = "self1", "agency1", "guard-demo"


@pytest.fixture(scope="module")
def guard_home(dashboard_home, tmp_path_factory):
    """The dashboard's city with its desks in use: a firm's own account and a credit agency's
    beside the demo users; an objection to a penalty, a repair application and a credit check
    on record; an alert acknowledged."""
    home = tmp_path_factory.mktemp("guard") / "home"
    shutil.copytree(dashboard_home, home)
    return home, desks_in_use(home)


def desks_in_use(home) -> str:
    """Put the desks of `home` to use; returns the firm that has its own account."""
    from chengxin.desks import alerts, cases, checks

    snap = readmodel.current(home)
    entries = pd.read_parquet(snap.path / "lists.parquet")
    listed = entries[(entries["rule"] == "serious_penalty") & (entries["status"] == "active")]
    firm = listed.iloc[0]["subject_id"]
    declared = {name: u.model_dump(exclude={"username"}, exclude_none=True)
                for name, u in users.roles_config(home).users.items()}
    hashed = users.hash_password(PASSWORD)
    declared[OWN_FIRM_USER] = {"display": "本企业", "role": "subject", "subject": firm, "password_bcrypt": hashed}
    declared[AGENCY_USER] = {"display": "示范征信公司", "role": "agency", "password_bcrypt": hashed}
    (home / "users.yaml").write_text(yaml.safe_dump({"users": declared}, allow_unicode=True), "utf-8")
    with warehouse.connect(home, read_only=True) as con:
        penalty = con.execute(f"SELECT decision_no FROM rec_penalty WHERE subject_id = ? AND {warehouse.CURRENT} "
                              "ORDER BY decision_no", [firm]).fetchone()[0]
    cases.file("objection", firm, record=f"penalty:{penalty}", reason="处罚金额有误", by="admin1", home=home)
    cases.file("objection", firm, reason="评级未考虑已缴清的欠款", by="admin1", home=home)
    department = users.role("department", home)
    checks.credit_check(snap, firm, "procurement", department, purpose="政府采购供应商资格审查",
                        case_ref="宝财采〔2025〕3号", institution="市财政局", user="dept1", home=home)
    first = readmodel.alerts(home).iloc[0]
    alerts.set_alert_status(str(first["as_of"]), first["subject_id"], "acknowledged", "已电话核实", user="analyst1",
                            home=home)
    return firm


@pytest.fixture(scope="module")
def server(guard_home):
    with serving(guard_home[0], "app", "/_stcore/health", "--no-refresh", wait=120) as base:
        yield base


def sign_ins(home) -> dict[str, tuple[str, str] | None]:
    """One sign-in per role (the public: none)."""
    found: dict[str, tuple[str, str] | None] = {users.PUBLIC: None}
    for name, u in users.roles_config(home).users.items():
        password = u.demo_password or PASSWORD
        found.setdefault(u.role, (name, password))
    return found


def read(page, where: str, lang: str, seen: dict[str, list[str]]) -> None:
    """Unfold the page's expanders, then read what it shows (once its run is over and its charts drawn)."""
    settle(page, pause_ms=0)
    folded = page.locator("[data-testid='stExpander'] details:not([open]) summary").all()
    for summary in folded:
        summary.click()
    page.wait_for_timeout(300 if folded or page.locator(".js-plotly-plot").count() else 100)
    errors = page.locator("[data-testid='stException']")
    if errors.count():
        seen.setdefault(where, []).append("an exception: " + errors.first.inner_text()[:300])
        return
    found = problems(visible_text(page), lang)
    if found:
        seen.setdefault(where, []).extend(found)


def every_tab(page, where: str, lang: str, seen: dict[str, list[str]]) -> None:
    """Open each tab and read it; then back to the first (what the page opens on)."""
    tabs = page.get_by_role("tab")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        page.wait_for_timeout(200)  # a tab that reruns the page starts its run
        read(page, f"{where} · {tabs.nth(i).inner_text()}", lang, seen)
    if tabs.count():
        tabs.nth(0).click()
        page.wait_for_timeout(200)
        settle(page, pause_ms=0)


def use(page, code: str, role: users.Role, lang: str, firm: str, person: str, seen: dict[str, list[str]]) -> None:
    """What a person of `role` does on page `code` beyond opening it."""
    def t(key: str) -> str:
        return i18n.t(key, lang)

    if code == "lookup":
        if role.individuals:
            look_up(page, person, t("lookup_query"))
            settle(page, t("purpose"))
            page.get_by_label(t("purpose")).fill("贷款审批")
            page.get_by_role("button", name=t("search"), exact=True).click()
            settle(page, t("audited_note"))
            read(page, f"{code} · person", lang, seen)
            every_tab(page, f"{code} · person", lang, seen)
        look_up(page, firm, t("lookup_query"))
        settle(page, t("grade") if "grade" in role.rating else None)
        read(page, f"{code} · firm", lang, seen)
        every_tab(page, f"{code} · firm", lang, seen)
    elif code == "checks" and "checks" in role.api:  # a clerk checks the firm inside a decision
        page.get_by_label(t("check_subject")).fill(firm)
        page.get_by_label(t("check_purpose")).fill("政府采购供应商资格审查")
        page.get_by_label(t("case_ref")).fill("宝财采〔2025〕7号")
        page.get_by_role("button", name=t("run_check"), exact=True).click()
        settle(page, t("verdict"))
        read(page, f"{code} · checked", lang, seen)
    elif code == "warning":
        opener = page.get_by_role("button", name=t("open_alert"))
        if opener.count():
            purpose = page.get_by_label(t("open_individual_alert"))
            if purpose.count():  # the first alert is a person's: opened with a purpose, audited
                purpose.fill("贷后风险排查")
                purpose.press("Enter")
                settle(page)
            opener.first.click()
            settle(page, t("evidence"))
        every_tab(page, code, lang, seen)
    else:
        every_tab(page, code, lang, seen)


def crawl(browser, base: str, role: users.Role, role_name: str, sign_in, firm: str, person: str,
          lang: str = "zh") -> dict[str, list[str]]:
    """Every page `role` may open, used as that role would, in `lang`: what the guard found, by
    where it was found; a screenshot of each page (as it opens, its subject looked up)."""
    seen: dict[str, list[str]] = {}
    page = new_page(browser, base)
    if sign_in:
        login(page, *sign_in)
    if lang != "zh":
        page.get_by_text("English", exact=True).click()
        settle(page)
    for code in users.PAGES:
        if code not in role.pages:
            continue
        go(page, i18n.t(f"page_{code}", lang))
        read(page, code, lang, seen)
        use(page, code, role, lang, firm, person, seen)
        page.wait_for_timeout(300)  # charts draw after the script run ends
        page.screenshot(path=str(ARTIFACTS / f"guard_{role_name}{'' if lang == 'zh' else '_' + lang}_{code}.png"),
                        full_page=True)
    page.close()
    return seen


ROLES = ["public", "lender", "agency", "department", "analyst", "admin", "subject"]


@pytest.mark.parametrize("role_name,lang", [*((r, "zh") for r in ROLES), ("admin", "en")])
def test_every_page_reads_as_words(server, browser, guard_home, role_name, lang):
    """Every role in Chinese (the office's language) and the admin, who sees every page, in English."""
    home, firm = guard_home
    assert set(ROLES) == set(users.roles_config(home).roles), "a role the guard does not visit"
    started = time.time() - 1
    snap = readmodel.current(home)
    people = readmodel.ratings(snap, "individual")
    person = people.iloc[0]["subject_id"]
    role = users.role(role_name, home)
    seen = crawl(browser, server, role, role_name, sign_ins(home)[role_name], firm, person, lang)
    assert not seen, "\n".join(f"{where}: {hit}" for where, hits in seen.items() for hit in dict.fromkeys(hits))
    from PIL import Image, ImageStat

    for code in role.pages:  # each written by this run, with something drawn on it (not blank)
        path = ARTIFACTS / f"guard_{role_name}{'' if lang == 'zh' else '_' + lang}_{code}.png"
        assert path.stat().st_mtime >= started, path.name
        image = Image.open(path).convert("L")
        assert ImageStat.Stat(image).stddev[0] > 10 and image.getextrema()[0] < 100, path.name
