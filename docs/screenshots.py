"""The README's and docs/reports.md's pictures, taken from the workspace `make demo` built
(`make screenshots`, after `make demo`): the landing page, a lender's look-up, the analyst's
warning desk and the supervision page (docs/supervision.md) in headless Chromium (the dashboard served on a free port, no request leaving this
machine), and the first page of each kind of credit report (the lender report's second, where
its rating is) rendered from the PDF.

    python docs/screenshots.py [--firm USCC]

The firm shown is the demo's own account (firm1 in roles.yaml) unless --firm names another."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PICTURES = HERE / "img"
REPORT_PICTURES = HERE / "reports"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "chengxin", "app", "--no-refresh", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the dashboard did not start within 120 s")


def pages(firm: str) -> None:
    from playwright.sync_api import sync_playwright

    from chengxin.browser import CHROMIUM_ARGS, chromium, go, login, look_up, new_page, settle

    port = free_port()
    proc = dashboard(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = new_page(browser, base)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(PICTURES / "overview.png"))
            login(page, "lender1", "lender-demo")
            go(page, "信用查询")
            look_up(page, firm)
            settle(page, "主要扣分原因")
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(PICTURES / "lender_lookup.png"))
            page.close()
            page = new_page(browser, base)
            login(page, "analyst1", "analyst-demo")
            go(page, "风险预警", "预警队列")
            page.get_by_role("button", name="打开预警").first.click()
            settle(page, "证据记录")
            page.screenshot(path=str(PICTURES / "warning.png"))
            go(page, "分类监管", "抽查计划")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(PICTURES / "supervision.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def report_pages(firm: str) -> None:
    import pypdfium2 as pdfium

    from chengxin import readmodel, reports

    snap = readmodel.current()
    for kind, reader, shown in (("public", "admin1", 0), ("certificate", "admin1", 0), ("lender", "lender1", 1)):
        issued = reports.issue(snap, firm, kind, reports.reader(reader))
        pdf = pdfium.PdfDocument(issued.data)
        pdf[min(shown, len(pdf) - 1)].render(scale=1.4).to_pil().save(REPORT_PICTURES / f"{kind}.png")


def main() -> None:
    from chengxin import users

    demo_firm = users.declared_roles().users["firm1"].subject
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--firm", default=demo_firm, help="the firm to look up and report on")
    firm = ask.parse_args().firm
    PICTURES.mkdir(exist_ok=True)
    REPORT_PICTURES.mkdir(exist_ok=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    pages(firm)
    report_pages(firm)
    print(f"written: {PICTURES.relative_to(HERE.parent)}/, {REPORT_PICTURES.relative_to(HERE.parent)}/")


if __name__ == "__main__":
    main()
