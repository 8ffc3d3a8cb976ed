"""What the office publishes: `publish criteria|ratings|dashboard`, and `consistency` (the
dashboard snapshot's contradictions)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from chengxin.terminal import console

from chengxin.terminal import JsonFlag, Subject, emit_json, err, for_each_subject, parse_date, report, table
from chengxin.workspace import UserError

publish_app = typer.Typer(no_args_is_help=True, help="Publish the rating criteria (and, later, the ratings list).")


@publish_app.command("criteria")
def publish_criteria(
    subject: Subject = None,
    effective_date: Annotated[Optional[str], typer.Option(help="Effective date YYYY-MM-DD (default today).")] = None,
    as_json: JsonFlag = False,
):
    """The versioned, bilingual criteria document (Markdown, HTML) from the registered scorecard, with SQL and JSON exports."""
    from chengxin.pipelines import publish

    day = parse_date(effective_date, "--effective-date") if effective_date else None
    for_each_subject(subject, lambda s: publish.publish_criteria(s, effective_date=day),
                     lambda r: f"criteria {r['version']} for {r['subject']} "
                               f"{'published' if r['new'] else 'already published'} in {r['folder']}", as_json)


@publish_app.command("ratings")
def publish_ratings(subject: Subject = None, as_json: JsonFlag = False):
    """The public ratings list (public tier only; individuals masked) from the latest ratings."""
    from chengxin.pipelines import publish

    for_each_subject(subject, publish.publish_ratings,
                     lambda r: f"{r['rows']:,} {r['subject']} ratings as of {r['as_of']} published -> {r['out']}",
                     as_json)


@publish_app.command("dashboard")
def publish_dashboard(
    force: Annotated[bool, typer.Option("--force", help="Build a new snapshot even when nothing changed, and publish it "
                                        "even when the consistency check finds contradictions.")] = False,
    as_json: JsonFlag = False,
):
    """The dashboard's read-only data snapshot (ratings, records, lists, coverage, models), switched
    atomically: a running dashboard shows it on its next page view. Run it after coverage, score,
    explain --all and warn: it reads what they stored. A snapshot with contradictions (`chengxin
    consistency`) is refused unless `--force`, saying which."""
    from chengxin.pipelines import snapshot

    with err.status("building the dashboard snapshot"):
        result = snapshot.refresh(force=force)
    report(result, as_json, f"dashboard snapshot {result['snapshot']} "
                            f"{'published' if result['new'] else 'unchanged (same inputs)'} -> {result['path']}")


def consistency(as_json: JsonFlag = False):
    """Scan what the current dashboard snapshot publishes for contradictions (a tier better than a
    direct rule's entry allows, an ended entry shown in force, a red-list entry whose basis is
    gone, a record twice, a forced tier without its entry): each kind with its count and
    examples; exit 1 if any is found."""
    from chengxin import consistency as checks
    from chengxin import readmodel

    snap = readmodel.current()
    if snap is None:
        raise UserError("no dashboard snapshot yet: run `chengxin publish dashboard` first")
    result = checks.check(snap.path)
    if as_json:
        emit_json({"snapshot": snap.id, "found": checks.found(result), "kinds": result})
    else:
        rows = [{"kind": k, "count": v["count"], "what": checks.KINDS[k][1],
                 "examples": "; ".join(", ".join(f"{a}={b}" for a, b in e.items()) for e in v["examples"][:3])}
                for k, v in result.items()]
        console().print(table(f"Contradictions in snapshot {snap.id}", rows))
    if checks.found(result):
        raise typer.Exit(1)
