"""Shared fixtures: one small generated city per test session, ingested once, trained and rated
once, published once (`dashboard_home`, `api_home`), and a real server on a free port
(`serving`: the API or the dashboard)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from chengxin.city import generate

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots for a person to look at (git-ignored)

# CI replays the same examples every run (a red CI then means a change broke something);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
# The test cities are fixed past cities: faces show their statuses for the rating date, as
# published then (`clocks.today`); the tests of statuses on a later day pin that day themselves.
os.environ.setdefault("CHENGXIN_TODAY", "rated")

if os.environ.get("CI"):
    settings.load_profile("ci")

SMALL = dict(enterprises=400, individuals=900, months=18, seed=5)


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("city") / "city"
    summary = generate(out, **SMALL)
    return out, summary


@pytest.fixture(scope="session")
def ingested_home(small_city, tmp_path_factory) -> Path:
    """A workspace with the small city ingested (read-only use; copy it to change it)."""
    from chengxin.pipelines.ingest import ingest

    home = tmp_path_factory.mktemp("home")
    ingest(small_city[0], home=home)
    return home


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty workspace for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("CHENGXIN_HOME", str(h))
    return h


@pytest.fixture
def ingested_copy(ingested_home, tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    shutil.copytree(ingested_home, h)
    monkeypatch.setenv("CHENGXIN_HOME", str(h))
    return h


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A mid-sized city (30 months) ingested and both subject types trained: (home, enterprise run)."""
    from chengxin.pipelines import train
    from chengxin.pipelines.ingest import ingest

    root = tmp_path_factory.mktemp("train")
    generate(root / "city", 1500, 1500, 30, seed=17)
    home = root / "home"
    ingest(root / "city", home=home)
    result = train.train("enterprise", home=home)
    train.train("individual", home=home)
    return home, result


DASHBOARD_DAY = "2025-03-31"


@pytest.fixture(scope="session")
def dashboard_home(trained, tmp_path_factory) -> Path:
    """A copy of the trained workspace, rated on two month ends (enterprises) and one
    (individuals), warned, with its criteria published and the dashboard snapshot built."""
    import datetime as dt

    from chengxin.pipelines import coverage, explain, publish, score, snapshot, warn

    home = tmp_path_factory.mktemp("dashboard") / "home"
    shutil.copytree(trained[0], home, ignore=shutil.ignore_patterns("published", "desk.sqlite*"))
    day = dt.date.fromisoformat(DASHBOARD_DAY)
    score.score(dt.date(2025, 2, 28), "enterprise", home=home)
    score.score(day, "enterprise", home=home)
    score.score(day, "individual", home=home)
    warn.warn(day, home=home)
    explain.explain_all("enterprise", day, home=home)  # stored contributions and repair paths
    explain.explain_all("individual", day, home=home)
    publish.publish_criteria("enterprise", effective_date=dt.date(2025, 4, 1), home=home)
    publish.publish_criteria("individual", effective_date=dt.date(2025, 4, 1), home=home)
    coverage.coverage(home)
    supervised(home, trained[0].parent / "city", day, tmp_path_factory.mktemp("inspections"))
    snapshot.refresh(home)
    return home


SUPERVISION_MONTH = "2025-03"  # the month `dashboard_home` has a plan of, drawn with seed 1 and a budget of 30


def supervised(home: Path, city: Path, day, work: Path) -> None:
    """Risk-classified supervision in a rated workspace: the classes of the month end before
    `SUPERVISION_MONTH`, that month's plan, the city's inspectors' results ingested, and the
    classes of `day` (after them)."""
    import datetime as dt

    from chengxin.city import violations
    from chengxin.pipelines import supervise
    from chengxin.pipelines.ingest import ingest
    from chengxin.supervision import draw

    supervise.classify(dt.date(2025, 2, 28), home=home)
    plan_csv = work / "plan.csv"
    draw.plan_month(SUPERVISION_MONTH, seed=1, budget=30, home=home, out=plan_csv)
    played = violations.play(city, plan_csv, work / "results")
    ingest(Path(played["out"]), source="inspection", home=home)
    supervise.classify(day, home=home)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(home: Path, command: str, health: str, *extra: str, wait: float = 60):
    """`chengxin COMMAND` (`serve`: the API; `app`: the dashboard) on a free port over the
    workspace `home`, its output in home/logs: yields its base URL once `health` answers 200,
    and stops it when the block ends (what it wrote is then all written)."""
    port = free_port()
    log_path = home / "logs" / f"{command}_{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "chengxin", command, "--port", str(port), *extra],
                                env=dict(os.environ, CHENGXIN_HOME=str(home)), stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + wait
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if urllib.request.urlopen(base + health, timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"`chengxin {command}` did not start within {wait:.0f} s:\n{log_path.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def documented(document: dict):
    """An httpx response hook that fails the request (and so the test) when an answer of the API
    is not what its OpenAPI document declares for its operation and status: a status it does not
    list, another media type, or JSON that does not validate (members the schema does not
    declare included). A request that is no operation (another method, an empty path segment,
    /openapi.json) is left alone; the hook's `checked` lists the operations it checked."""
    import re

    import jsonschema

    def template(path: str) -> re.Pattern:
        parts = re.split(r"(\{[^}]+\})", path)
        return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")

    operations = [(template(path), methods) for path, methods in document["paths"].items()]
    validators: dict[tuple, jsonschema.Validator] = {}

    def check(response) -> None:
        request = response.request
        path = request.url.raw_path.decode("ascii").split("?")[0]
        methods = next((m for pattern, m in operations if pattern.match(path)), {})
        operation = methods.get(request.method.lower())
        if operation is None:
            return
        where = f"{request.method} {path} answered {response.status_code}"
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, f"{where}: a status its operation does not declare"
        media = response.headers.get("content-type", "").split(";")[0]
        assert media in declared.get("content", {}), f"{where} as {media}: declared {list(declared.get('content', {}))}"
        if media.endswith("json"):
            key = (operation["operationId"], response.status_code, media)
            if key not in validators:
                validators[key] = jsonschema.Draft202012Validator(
                    {**declared["content"][media]["schema"], "components": document["components"]})
            response.read()
            error = jsonschema.exceptions.best_match(validators[key].iter_errors(response.json()))
            assert error is None, f"{where}: not as documented: {error.message} at {list(error.absolute_path)}"
        check.checked.append(operation["operationId"])

    check.checked = []
    return check


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server (Debian's, installed by .ci/run) in a temporary folder,
    for the shared state's tests; stopped when the session ends. Skipped where PostgreSQL is
    not installed, except in CI, where its absence is a failure."""
    import glob
    import subprocess
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="chengxin-pg-"))
    as_owner = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as Debian's postgres user
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run([*as_owner, str(bindir / "initdb"), "-D", str(folder / "db"), "-A", "trust", "-U", "chengxin",
                    "--no-sync", "-E", "UTF8"], **run)
    subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(folder / "db"), "-w", "-l", str(folder / "log"),
                    "-o", f"-p {port} -h 127.0.0.1 -k {folder} -c fsync=off", "start"], **run)
    try:
        yield f"postgresql+psycopg://chengxin@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(folder / "db"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def api_home(dashboard_home, tmp_path_factory):
    """A copy of the rated city for the API's tests, so their keys, calls, checks and audit
    entries (and the snapshots they publish) stay there."""
    home = tmp_path_factory.mktemp("api") / "home"
    shutil.copytree(dashboard_home, home, ignore=shutil.ignore_patterns("desk.sqlite*"))
    return home


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser is downloaded)."""
    from playwright.sync_api import sync_playwright

    from chengxin.browser import CHROMIUM_ARGS, chromium

    found = chromium()
    assert found, "Debian's chromium is missing: `apt-get install chromium fonts-noto-cjk` (.ci/run installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=found, args=CHROMIUM_ARGS)
        yield b
        b.close()
