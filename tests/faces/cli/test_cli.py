import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args, home=None):
    env = dict(os.environ)
    if home:
        env["CHENGXIN_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "chengxin.cli", *args], capture_output=True, text=True, env=env)


def _commands() -> list[list[str]]:
    """Every command and group of the command line, from the app itself (none typed by hand)."""
    import typer

    from chengxin.cli import app

    out = []

    def walk(command, path):
        out.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def test_the_command_line_starts_and_lists_its_commands():
    r = cli("--help")
    assert r.returncode == 0 and "Usage" in r.stdout
    assert all(name in r.stdout for name in {c[0] for c in _commands() if c})


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "chengxin")
def test_every_command_has_help(command):
    """Every command says what each option and sub-command is for: every option it declares is
    listed in its `--help` with a help text, every sub-command with one."""
    import typer
    from typer.testing import CliRunner

    from chengxin.cli import app

    r = CliRunner().invoke(app, [*command, "--help"])
    assert r.exit_code == 0 and "Usage" in r.output
    declared = typer.main.get_command(app)
    for word in command:
        declared = declared.commands[word]
    options = [p for p in declared.params if p.param_type_name == "option" and not p.hidden]
    assert options or not command or getattr(declared, "commands", None), command  # a command takes options
    for param in options:
        assert param.opts[0] in r.output, (command, param.opts[0])
        assert (param.help or "").strip(), f"{' '.join(command)} {param.opts[0]} has no help text"
    for name, sub in getattr(declared, "commands", {}).items():
        assert name in r.output and (sub.help or sub.short_help or "").strip(), (command, name)


def test_json_output_is_one_object(tmp_path, ingested_home):
    out = tmp_path / "city"
    r = cli("generate", "--out", str(out), "--enterprises", "30", "--individuals", "60", "--months", "4", "--json",
            home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["subjects"] == {"enterprise": 30, "individual": 60}
    r = cli("ingest", str(out), "--json", home=tmp_path / "home")
    s = json.loads(r.stdout)
    assert {"files", "rows", "accepted", "rejected", "duplicates"} <= set(s)
    assert s["accepted"] + s["rejected"] + s["duplicates"] == s["rows"]
    for command in (["coverage", "--json"], ["quarantine", "list", "--json"], ["sources", "--json"]):
        r = cli(*command, home=ingested_home)
        assert r.returncode == 0, r.stderr
        assert isinstance(json.loads(r.stdout), dict)  # exactly one JSON document


def test_a_city_ends_in_the_last_complete_month_unless_told(tmp_path):
    """A demo rates a current month: by default the city's last month is the one before this one."""
    import datetime as dt

    r = cli("generate", "--out", str(tmp_path / "now"), "--enterprises", "5", "--individuals", "10", "--months", "2",
            "--json", home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    last = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    before = last.replace(day=1) - dt.timedelta(days=1)
    assert json.loads(r.stdout)["start"] == before.strftime("%Y-%m")
    r = cli("generate", "--out", str(tmp_path / "then"), "--enterprises", "5", "--individuals", "10", "--months", "2",
            "--start", "2023-01", "--end", "2024-01", home=tmp_path / "home")
    assert r.returncode != 0 and "not both" in r.stderr


def test_state_stays_in_the_workspace(tmp_path):
    """Nothing is written outside $CHENGXIN_HOME (and the output folder asked for)."""
    work = tmp_path / "cwd"
    work.mkdir()
    home = tmp_path / "home"
    env = dict(os.environ, CHENGXIN_HOME=str(home))
    subprocess.run([sys.executable, "-m", "chengxin.cli", "generate", "--out", str(tmp_path / "c"), "--enterprises", "20",
                    "--individuals", "30", "--months", "3"], cwd=work, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "chengxin.cli", "ingest", str(tmp_path / "c")], cwd=work, env=env,
                   check=True, capture_output=True)
    assert list(work.iterdir()) == []
    assert (home / "warehouse.duckdb").exists()


def test_coverage_without_a_warehouse_says_what_to_do(tmp_path):
    r = cli("coverage", home=tmp_path / "empty")
    assert r.returncode == 1 and "chengxin ingest" in r.stderr and "Traceback" not in r.stderr


def test_features_commands(ingested_copy, tmp_path):
    r = cli("features", "--as-of", "2023-12-31", "--subject", "individual", "--json", home=ingested_copy)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["rows"] > 100 and info["indicators"] >= 20
    import pandas as pd

    frame = pd.read_parquet(info["out"])
    assert len(frame) == info["rows"] and frame["subject_id"].is_unique
    r = cli("features", "catalogue", "--out-dir", str(tmp_path), "--json", home=ingested_copy)
    info = json.loads(r.stdout)
    assert info["enterprise"] >= 40 and info["individual"] >= 20
    text = (tmp_path / "catalogue.md").read_text("utf-8")
    assert "近12个月按期申报率" in text and "Share of months filed on time" in text
    csv = pd.read_csv(tmp_path / "catalogue.csv", encoding="utf-8-sig")
    assert {"name", "zh", "direction", "mutable", "description_zh", "description_en"} <= set(csv.columns)
    # without --subject: every subject type, one object each
    r = cli("features", "series", "--start", "2023-06-30", "--end", "2023-12-31", "--step-months", "3", "--json",
            "--out", str(tmp_path / "series.parquet"), home=ingested_copy)
    info = json.loads(r.stdout)
    assert [i["subject"] for i in info["subjects"]] == ["enterprise", "individual"]
    for i in info["subjects"]:
        assert i["snapshots"] == 3 and 0 < i["label_rate"] < 0.2
        assert i["out"] == str(tmp_path / f"series_{i['subject']}.parquet") and len(pd.read_parquet(i["out"])) == i["rows"]
    r = cli("features", "--as-of", "yesterday", home=ingested_copy)
    assert r.returncode == 1 and "YYYY-MM-DD" in r.stderr


def test_users_lists_the_demo_sign_ins_as_the_manual_does():
    from typer.testing import CliRunner

    from chengxin import users
    from chengxin.cli import app

    r = CliRunner().invoke(app, ["users", "--json"])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.stdout)["sign_ins"]
    assert [(x["user"], x["password"], x["role"]) for x in listed] == [
        (u.username, u.demo_password, u.role) for u in users.roles_config().users.values() if u.demo_password]
    table = CliRunner().invoke(app, ["users"])
    assert table.exit_code == 0 and all(x["user"] in table.stdout and x["password"] in table.stdout for x in listed)
    manual = (Path(__file__).resolve().parents[3] / "docs" / "dashboard.md").read_text("utf-8")
    assert all(f"| `{x['user']}` | `{x['password']}` |" in manual for x in listed)
