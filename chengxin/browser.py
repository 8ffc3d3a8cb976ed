"""Driving the dashboard in headless Chromium (Playwright, from the `test` extra), the steps the
end-to-end tests (`tests/faces/dashboard/test_e2e.py`) and the dashboard benchmark take: a page that refuses
every request leaving the dashboard, waiting for a script run to finish, logging in.

Debian's chromium is used (`apt-get install chromium fonts-noto-cjk`); no browser is downloaded.
"""

from __future__ import annotations

import shutil

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 90_000  # the first look-up loads the models on a busy 2-core machine


def chromium() -> str | None:
    """The system's Chromium, or None when it is not installed."""
    return shutil.which("chromium")


def new_page(browser, base: str):
    """A page on the dashboard at `base`, requests outside it refused, once the overview shows."""
    page = browser.new_page(viewport={"width": 1400, "height": 2000}, locale="zh-CN")
    page.set_default_timeout(TIMEOUT_MS)

    def local_only(route):
        url = route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", local_only)
    page.goto(base)
    page.wait_for_selector("[data-testid='stApp']")
    page.get_by_text("公共信用等级分布").first.wait_for()
    return page


def settle(page, text: str | None = None, pause_ms: int = 800) -> None:
    """Wait for the script run to finish (and for a text when given), then `pause_ms` for what
    draws after it (charts)."""
    if text:
        page.get_by_text(text).first.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS)
    if pause_ms:
        page.wait_for_timeout(pause_ms)


def login(page, user: str, password: str) -> None:
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    settle(page, "当前用户")


def go(page, title: str, wait_for: str | None = None) -> None:
    """Open the page named `title` in the sidebar's navigation and wait for its run to finish."""
    # the navigation is disabled while a script run goes on (a slow run on a busy machine)
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSidebarNavLinkContainer'][disabled]\")")
    page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    settle(page, wait_for or title)


def look_up(page, query: str, label: str = "查询对象") -> None:
    """Type a name, code or ID number into the look-up's box and submit it."""
    box = page.get_by_label(label)
    box.fill(query)
    box.press("Enter")


# What a reader sees on the page: the visible text, the rows a table draws (a canvas, read from
# the grid's accessible table), the charts' SVG text; Streamlit's icon ligatures left out.
VISIBLE_TEXT_JS = """() => {
  let text = document.body.innerText;
  for (const icon of document.querySelectorAll("[data-testid='stIconMaterial']")) text = text.replace(icon.textContent, " ");
  const cells = Array.from(document.querySelectorAll("[data-testid='stDataFrame'] th, [data-testid='stDataFrame'] td"));
  const charts = Array.from(document.querySelectorAll(".js-plotly-plot svg text"));
  return [text, ...cells.map(c => c.textContent), ...charts.map(t => t.textContent)].join("\\n");
}"""


def visible_text(page) -> str:
    return page.evaluate(VISIBLE_TEXT_JS).replace("Skip to main content", " ")
