"""`cases file|list|show|decide|rerate`: the subject's rights (objections, credit-repair
applications, reviews) on their legal clocks."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from chengxin.terminal import console

from chengxin.terminal import JsonFlag, emit_json, parse_date, report, table
from chengxin.workspace import UserError

cases_app = typer.Typer(no_args_is_help=True, help="The subject's rights: objections, credit-repair applications and reviews, on legal clocks.")


CASE_COLUMNS = ["case_no", "kind", "subject_id", "record", "status", "filed_on", "due_on", "days_left", "eligible_from",
                "decision", "decided_by", "decided_for"]


def _case_line(c: dict) -> str:
    line = f"case {c['case_no']}: {c['kind']} of {c['subject_id']}" + (f" against {c['record']}" if c["record"] else "")
    line += f", {c['status']}"
    if c["status"] == "open":
        line += f", due {c['due_on']} ({c['days_left']} {c.get('days', 'working')} days left)"
    else:
        line += f": {c['decision']} on {c['decided_on']} by {c['decided_by']}" + (f" for {c['decided_for']}" if c.get("decided_for") else "")
    if c["kind"] == "repair" and c["status"] == "open":
        line += "; eligible" if c["eligible"] else f"; not eligible yet: eligible from {c['eligible_from']}"
    return line


@cases_app.command("file")
def cases_file(
    kind: Annotated[str, typer.Option(help="objection | repair | review")],
    subject: Annotated[str, typer.Option(help="The subject's USCC or ID number.")],
    record: Annotated[Optional[str], typer.Option(help="The record: SOURCE:NATURAL_KEY (e.g. penalty:DECISION_NO).")] = None,
    reason: Annotated[Optional[str], typer.Option(help="Why the subject objects or applies.")] = None,
    commitment: Annotated[Optional[str], typer.Option(help="A repair's credit commitment (信用承诺).")] = None,
    filed_on: Annotated[Optional[str], typer.Option(help="The day the application was received (counter or post), YYYY-MM-DD.")] = None,
    by: Annotated[Optional[str], typer.Option(help="The user filing (default: the office's counter).")] = None,
    as_json: JsonFlag = False,
):
    """File a case; prints its number, deadline and (a repair) eligibility."""
    from chengxin.desks import cases

    case = cases.file(kind, subject, record=record, reason=reason, commitment=commitment,
                      filed_on=parse_date(filed_on, "--filed-on") if filed_on else None, by=by)
    report(case, as_json, _case_line(case))


@cases_app.command("list")
def cases_list(
    status: Annotated[Optional[str], typer.Option(help="open | decided")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases past their deadline.")] = False,
    subject: Annotated[Optional[str], typer.Option(help="Only this subject's cases.")] = None,
    as_json: JsonFlag = False,
):
    """Cases with their clocks: days left, due within one working day, overdue; objections upheld per department."""
    from chengxin.desks import cases

    rows = cases.list_cases(status=status, overdue=overdue, subject=subject)
    upheld = cases.upheld_by_department()
    if as_json:
        emit_json({"cases": rows, "upheld_by_department": upheld})
        return
    con = console()
    con.print(table("Cases", rows, [*CASE_COLUMNS[:7], "overdue", "due_soon", *CASE_COLUMNS[8:]]))
    if upheld:
        con.print(table("Objections upheld per providing department", upheld))


@cases_app.command("show")
def cases_show(case: Annotated[int, typer.Argument(help="The case number.")], as_json: JsonFlag = False):
    """One case and every step of its history."""
    from chengxin.desks import cases

    c = cases.show(case)
    if as_json:
        emit_json(c)
        return
    con = console()
    con.print(_case_line(c))
    for k in ("reason", "commitment", "provider", "note"):
        if c.get(k):
            con.print(f"  {k}: {c[k]}")
    if c.get("eligibility"):
        con.print_json(json.dumps(c["eligibility"], ensure_ascii=False))
    con.print(table("History", [{**e, "detail": json.dumps(e["detail"], ensure_ascii=False)[:160] if e["detail"] else ""}
                                for e in c["events"]], ["at", "user", "role", "event", "detail"]))


@cases_app.command("decide")
def cases_decide(
    case: Annotated[int, typer.Argument(help="The case number.")],
    by: Annotated[str, typer.Option(help="The user deciding (users.yaml).")],
    note: Annotated[str, typer.Option(help="The reasons, kept with the case.")],
    decision: Annotated[Optional[str], typer.Option(help="objection: correct|delete|add|stop_publishing|remove_from_list|reject; "
                                                          "repair: approve|reject; review: confirm|override")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="COLUMN=VALUE: a corrected or added record's values; an override's grade=G.")] = None,
    extend: Annotated[bool, typer.Option("--extend", help="Take the case's one extension (the note says why) instead of deciding.")] = False,
    as_json: JsonFlag = False,
):
    """Decide a case: a decision that changes a record writes its new version and re-rates the subject at once."""
    from chengxin.flows import rerate

    if not extend and not decision:
        raise UserError("--decision is required (or --extend to take the one extension)")
    c = rerate.decide(case, decision or "", by=by, note=note, sets=set_, extend=extend)
    line = _case_line(c)
    if c.get("rerated"):
        r = c["rerated"]
        line += (f"\nre-rated {r['subject_id']} in {r['seconds']}s: {r['previous']} -> {r['current']}; "
                 f"snapshot {r['snapshot']}, {r['changes']} changes")
    report(c, as_json, line)


@cases_app.command("rerate")
def cases_rerate(case: Annotated[int, typer.Argument(help="A decided case number.")], as_json: JsonFlag = False):
    """Re-rate a decided case's subject again and publish it (after a re-rating that failed half-way)."""
    from chengxin.flows import rerate

    r = rerate.rerate_case(case)
    report(r, as_json, f"re-rated {r['subject_id']} in {r['seconds']}s: {r['previous']} -> {r['current']}")
