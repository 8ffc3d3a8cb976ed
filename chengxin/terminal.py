"""How the command line talks: one JSON object on stdout with --json, otherwise tables and lines
for people; progress and errors on stderr; the options every command shares; a command over
"every subject type" when --subject is left out. `chengxin.cli` holds the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chengxin.config import SUBJECT_TYPES
from chengxin.workspace import UserError

PAGE_WIDTH = 160  # the width of tables written to a file or a pipe, where rich would assume 80 columns
# progress and messages: a terminal's width, or a log's (`make demo` writes the API's to a file)
err = Console(stderr=True, width=None if sys.stderr.isatty() else PAGE_WIDTH)


def console() -> Console:
    """The console commands print to: the terminal's width in a terminal, else `COLUMNS` or
    `PAGE_WIDTH` (a table in a log or `| less` keeps its columns readable)."""
    import os

    if sys.stdout.isatty():
        return Console()
    return Console(width=int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else PAGE_WIDTH)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def report(result: dict, as_json: bool, line: str) -> None:
    """The one JSON object with --json, otherwise one line for people."""
    if as_json:
        emit_json(result)
    else:
        console().print(line)


class Bar:
    """A rich progress bar on stderr, fed by library callbacks (stage, done, total)."""

    def __init__(self, quiet: bool = False):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=True, disable=quiet)
        self.tasks = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        label = stage if len(stage) < 40 else stage[:37] + "..."
        key = "files" if total and stage not in ("simulate",) and "." in stage else stage
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[key], completed=done, description=label)


def table(title: str, rows: list[dict], columns: list[str] | None = None) -> Table:
    t = Table(title=title, show_lines=False)
    columns = columns or (list(rows[0]) if rows else [])
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if r.get(c) is None else str(r.get(c)) for c in columns])
    return t


def parse_date(text: str, flag: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} must be a date YYYY-MM-DD, got {text!r}") from None


Subject = Annotated[Optional[str], typer.Option(help="enterprise or individual (default: every subject type).")]
Engine = Annotated[str, typer.Option(help="duckdb (embedded) or spark")]


def check_subject(subject: str) -> None:
    if subject not in SUBJECT_TYPES:
        raise UserError(f"--subject must be {' or '.join(SUBJECT_TYPES)}, got {subject!r}")


def subject_types(subject: str | None) -> tuple[str, ...]:
    """What --subject means: the one type named, or every subject type when it is left out."""
    if subject is None:
        return SUBJECT_TYPES
    check_subject(subject)
    return (subject,)


def out_for(out: Path | None, subject: str, several: bool) -> Path | None:
    """One output file per subject type when a command covers several: FILE_<subject>.ext."""
    if out is None or not several:
        return out
    return out.with_name(f"{out.stem}_{subject}{out.suffix}")


def for_each_subject(subject: str | None, run, describe, as_json: bool, finish=None) -> list[dict]:
    """Run `run(subject_type)` for the type named, or for every subject type when --subject is left
    out. People see `describe(result)` as each type is done, and which types were done; --json
    prints the one result (one type) or {"subjects": [...]} (several). If a type fails, the error
    says which types were done before it. `finish(results)`, if given, runs once all are done
    (before the JSON is printed) and may return a last line for people."""
    results = []
    for s in subject_types(subject):
        try:
            result = run(s)
        except UserError as exc:
            if results:
                raise UserError(f"{exc} (done before this: {', '.join(r['subject'] for r in results)})") from None
            raise
        results.append(result)
        if not as_json:
            console().print(describe(result))
    last = finish(results) if finish else None
    if as_json:
        emit_json(results[0] if len(results) == 1 else {"subjects": results})
        return results
    if len(results) > 1:
        console().print(f"done for {len(results)} subject types: {', '.join(r['subject'] for r in results)}")
    if last:
        console().print(last)
    return results
