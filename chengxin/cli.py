"""`chengxin`: one command line for the platform. Commands are thin: they call library functions.

With ``--json`` a command prints exactly one JSON object on stdout; progress and logs go
to stderr. Errors a user can fix end with a one-line message and a non-zero exit.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from chengxin import catalog, workspace
from chengxin.api.commands import keys_app, serve  # the credit services' commands
from chengxin.terminal import (Bar, Engine, JsonFlag, Subject, emit_json, err, for_each_subject, out_for, parse_date,
                               report, subject_types, table)
from chengxin.workspace import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="诚信 chengxin: public credit rating and risk analytics for a city's social credit office.")
quarantine_app = typer.Typer(no_args_is_help=True, help="Rows held back by ingestion: list them, release them.")
app.add_typer(quarantine_app, name="quarantine")
publish_app = typer.Typer(no_args_is_help=True, help="Publish the rating criteria (and, later, the ratings list).")
app.add_typer(publish_app, name="publish")
app.add_typer(keys_app, name="keys")
app.command("serve")(serve)
cases_app = typer.Typer(no_args_is_help=True, help="The subject's rights: objections, credit-repair applications and reviews, on legal clocks.")
app.add_typer(cases_app, name="cases")
features_app = typer.Typer(help="Indicators: compute them point-in-time, write the catalogue, build training snapshots.")
app.add_typer(features_app, name="features")
@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the city's uploads into (must be new or empty).")],
    enterprises: Annotated[int, typer.Option(min=1, help="Number of enterprises.")] = 20_000,
    individuals: Annotated[int, typer.Option(min=1, help="Number of individuals.")] = 50_000,
    months: Annotated[int, typer.Option(min=1, max=240, help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2023-01",
    end: Annotated[Optional[str], typer.Option(help="Last month instead of --start: YYYY-MM, or `last` for the last "
                                                    "complete month before today (a demo publishes current statuses).")] = None,
    as_json: JsonFlag = False,
):
    """Generate a synthetic city: every department's uploads, with realistic mess, and the truth in _truth/."""
    import datetime as dt

    from chengxin.city import generate as run

    if end is not None:
        if end == "last":
            first_of_month = dt.date.today().replace(day=1)
            end = (first_of_month - dt.timedelta(days=1)).strftime("%Y-%m")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", end):
            raise UserError(f"--end must be YYYY-MM or `last`, got {end!r}")
        y, m = map(int, end.split("-"))
        k = y * 12 + (m - 1) - (months - 1)
        start = f"{k // 12:04d}-{k % 12 + 1:02d}"
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
        raise UserError(f"--start must be YYYY-MM, got {start!r}")
    with Bar(quiet=False) as bar:
        summary = run(out, enterprises, individuals, months, seed, start, progress=bar)
    if as_json:
        emit_json(summary)
        return
    err.print(f"[bold]City written to {summary['out']}[/bold]")
    rows = [{"source": k, "records": v} for k, v in summary["records_per_source"].items()]
    Console().print(table("Records per source", rows))
    facts = {k: summary[k] for k in ("subjects", "records", "files", "yearly_outcome_rate", "true_pd_auc_12m",
                                     "late_upload_share", "missing_upload_share", "mess")}
    Console().print_json(json.dumps(facts, ensure_ascii=False))


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file or a folder of department uploads (one sub-folder per source).")],
    source: Annotated[Optional[str], typer.Option(help="Source of the file(s), when the folder or file name does not say.")] = None,
    as_json: JsonFlag = False,
):
    """Load department files into the record store; failing rows go to quarantine with a reason."""
    from chengxin.pipelines.ingest import ingest as run

    with Bar() as bar:
        summary = run(path, source=source, progress=bar)
    result = summary.as_dict()
    if as_json:
        emit_json(result)
    else:
        rows = [{"source": k, **v} for k, v in sorted(summary.by_source.items())]
        Console().print(table("Ingested", rows))
        Console().print(f"files {summary.files}  rows {summary.rows}  accepted {summary.accepted}  "
                        f"rejected {summary.rejected} (review {summary.review})  duplicates {summary.duplicates}  "
                        f"superseded {summary.superseded}  in {summary.seconds}s")
    for bad in summary.unreadable:
        sys.stderr.write(f"unreadable: {bad['reason']}\n")
    if summary.unreadable:
        raise typer.Exit(1)


@app.command()
def coverage(
    source: Annotated[Optional[str], typer.Option(help="Only this source.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write every department x county x month cell to this CSV.")] = None,
    as_json: JsonFlag = False,
):
    """Upload completeness per department x county x month, and late double-publicity publications."""
    from chengxin.pipelines.coverage import coverage as run

    cells, summary = run(source=source)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        cells.to_csv(out, index=False)
        summary["out"] = str(out)
    if as_json:
        emit_json({**summary, "rows": cells.to_dict(orient="records")})
        return
    con = Console()
    con.print(table("Uploads by department", summary["by_department"]))
    if summary["most_missing"]:
        con.print(table("Most months missing (department x county)", summary["most_missing"]))
    lp = summary["late_publication"]
    con.print(f"cells {summary['cells']}  missing {summary['missing_cells']} ({summary['missing_share']:.1%})  "
              f"months {summary['months'][0]}..{summary['months'][1]}")
    if lp["share"] is not None:
        con.print(f"double publicity: {lp['share']:.1%} of {lp['published']} penalties and licences published "
                  f"more than {lp['due_working_days']} working days after the decision ({lp['calendar']})")


@app.command()
def sources(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the data contract as Markdown.")] = False,
    as_json: JsonFlag = False,
):
    """The record sources and their columns: the data contract departments upload against."""
    from chengxin import docs

    if markdown:
        sys.stdout.write(docs.sources_markdown())
    elif as_json:
        from chengxin import config

        emit_json({"version": config.sources().version,
                   "sources": {k: v.model_dump() for k, v in config.sources().sources.items()}})
    else:
        Console().print(table("Record sources", docs.sources_rows()))


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[Optional[str], typer.Option(help="Only this source.")] = None,
    status: Annotated[Optional[str], typer.Option(help="rejected | review | released")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    as_json: JsonFlag = False,
):
    """Counts by source, status and reason, and the latest rows."""
    from chengxin.pipelines import quarantine

    report = quarantine.report(source=source, status=status, limit=limit)
    if as_json:
        emit_json(report)
        return
    con = Console()
    con.print(table("Quarantine", report["by_reason"]))
    con.print(table("Latest rows", report["rows"], ["source", "path", "row_number", "column", "value", "reason", "status"]))


@quarantine_app.command("release")
def quarantine_release(
    code: Annotated[Optional[list[str]], typer.Option("--code", help="A legal code that fails its check (pilot region): allow-list it.")] = None,
    note: Annotated[str, typer.Option(help="Why these codes are legal.")] = "",
    as_json: JsonFlag = False,
):
    """Re-check rows held for review (after allow-listing codes or loading a mapping table) and load those that now pass."""
    from chengxin.pipelines import quarantine

    result = quarantine.release(codes=code or [], note=note)
    report(result, as_json, f"re-checked {result['rechecked']} rows: released {result['released']}, "
                            f"still held {result['still_held']}")


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
    from chengxin import cases

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
    from chengxin import cases

    rows = cases.list_cases(status=status, overdue=overdue, subject=subject)
    upheld = cases.upheld_by_department()
    if as_json:
        emit_json({"cases": rows, "upheld_by_department": upheld})
        return
    con = Console()
    con.print(table("Cases", rows, [*CASE_COLUMNS[:7], "overdue", "due_soon", *CASE_COLUMNS[8:]]))
    if upheld:
        con.print(table("Objections upheld per providing department", upheld))


@cases_app.command("show")
def cases_show(case: Annotated[int, typer.Argument(help="The case number.")], as_json: JsonFlag = False):
    """One case and every step of its history."""
    from chengxin import cases

    c = cases.show(case)
    if as_json:
        emit_json(c)
        return
    con = Console()
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
    from chengxin import rerate

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
    from chengxin import rerate

    r = rerate.rerate_case(case)
    report(r, as_json, f"re-rated {r['subject_id']} in {r['seconds']}s: {r['previous']} -> {r['current']}")


@app.command("report")
def report_command(
    subject_or_verify: Annotated[str, typer.Argument(metavar="SUBJECT_ID | verify", help="The subject's USCC or ID number, or `verify`.")],
    file: Annotated[Optional[Path], typer.Argument(help="With `verify`: the report file to verify.")] = None,
    kind: Annotated[str, typer.Option(help="public | certificate | lender")] = "public",
    as_of: Annotated[Optional[str], typer.Option(help="The rating published on this day and the records until then (YYYY-MM-DD).")] = None,
    years: Annotated[Optional[int], typer.Option(min=1, max=20, help="The certificate's look-back in years (default: reports.yaml).")] = None,
    purpose: Annotated[Optional[str], typer.Option(help="Why (an individual's report needs it; audited).")] = None,
    authorization_ref: Annotated[Optional[str], typer.Option(help="The person's authorization reference (an individual's report).")] = None,
    by: Annotated[Optional[str], typer.Option(help="Issued to this user of users.yaml (default: the office's counter).")] = None,
    format_: Annotated[str, typer.Option("--format", help="pdf | html")] = "pdf",
    out: Annotated[Optional[Path], typer.Option(help="Where to write the report.")] = None,
    as_json: JsonFlag = False,
):
    """Issue a credit report (PDF with a verification code), or `report verify FILE`: exit 0 when the file is authentic, 1 when it is altered or unknown."""
    from chengxin import readmodel, reports

    if subject_or_verify == "verify":
        if file is None or not file.exists():
            raise UserError("usage: chengxin report verify FILE (an issued report)")
        found = reports.verify_file(file.read_bytes())
        if found is None:
            if as_json:
                emit_json({"authentic": False})
            else:
                err.print("altered or unknown: no report the platform issued has exactly this content")
            raise typer.Exit(1)
        report(found | {"authentic": True}, as_json, f"authentic: report {found['number']} ({found['kind']}) on "
                                                    f"{found['subject']}, issued {found['issued_at']}")
        return
    if out is None:
        raise UserError("--out FILE is required: where to write the report")
    snap = readmodel.current()
    if snap is None:
        raise UserError("nothing published yet: run `chengxin publish dashboard` first")
    issued = reports.issue(snap, subject_or_verify, kind, reports.reader(by), purpose=purpose,
                           authorization_ref=authorization_ref, years=years, fmt=format_,
                           as_of=parse_date(as_of, "--as-of") if as_of else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(issued.data)
    report(issued.record | {"out": str(out)}, as_json, f"report {issued.number} ({kind}) written to {out}; verification code "
                                                       f"{issued.record['code']}")


@features_app.callback(invoke_without_command=True)
def features(
    ctx: typer.Context,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Compute as the office knew it on this date, YYYY-MM-DD, or 'latest' (the last month end with monthly uploads).")] = None,
    subject: Subject = None,
    engine: Engine = "duckdb",
    out: Annotated[Optional[Path], typer.Option(help="Parquet file to write (default $CHENGXIN_HOME/features/<subject>_<date>.parquet; for every subject type FILE_<subject>.parquet).")] = None,
    as_json: JsonFlag = False,
):
    """Compute every indicator for one as-of date: `chengxin features --as-of 2025-06-30`."""
    if ctx.invoked_subcommand:
        return
    if not as_of:
        raise UserError("give --as-of YYYY-MM-DD (or a subcommand: catalogue, series)")
    from chengxin.pipelines import features as stage

    several = len(subject_types(subject)) > 1
    day = catalog.latest_as_of() if as_of == "latest" else parse_date(as_of, "--as-of")
    for_each_subject(subject, lambda s: stage.build(day, s, engine, out_for(out, s, several)),
                     lambda r: f"{r['rows']:,} {r['subject']} subjects x {r['indicators']} indicators as of "
                               f"{r['as_of']} ({engine}, {r['seconds']} s) -> {r['out']}", as_json)


@features_app.command("catalogue")
def features_catalogue(
    out_dir: Annotated[Optional[Path], typer.Option(help="Folder for catalogue.md and catalogue.csv (default $CHENGXIN_HOME/published).")] = None,
    as_json: JsonFlag = False,
):
    """Write the indicator catalogue as Markdown and CSV (bilingual)."""
    from chengxin.pipelines import features as stage

    result = stage.write_catalogue(out_dir)
    report(result, as_json, f"catalogue {result['version']}: {result['enterprise']} enterprise and {result['individual']} "
                            f"individual indicators -> {result['markdown']}, {result['csv']}")


@features_app.command("series")
def features_series(
    start: Annotated[str, typer.Option(help="First as-of month end, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last as-of month end, YYYY-MM-DD.")],
    subject: Subject = None,
    step_months: Annotated[int, typer.Option(min=1, help="Take every n-th month end.")] = 1,
    engine: Engine = "duckdb",
    out: Annotated[Optional[Path], typer.Option(help="Parquet file (default $CHENGXIN_HOME/features/<subject>_series.parquet; for every subject type FILE_<subject>.parquet).")] = None,
    as_json: JsonFlag = False,
):
    """Training snapshots: indicators at month ends with the 12-month outcome label and the in-default flag."""
    from chengxin.pipelines import features as stage

    several = len(subject_types(subject)) > 1
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    with Bar() as bar:
        for_each_subject(
            subject, lambda s: stage.build_series(first, last, s, step_months, engine, out_for(out, s, several),
                                                  progress=bar),
            lambda r: f"{r['subject']}: {r['rows']:,} rows over {r['snapshots']} month ends, label rate "
                      f"{r['label_rate']:.2%}, {r['in_default']:,} in default -> {r['out']}", as_json)


@app.command()
def train(
    subject: Subject = None,
    data: Annotated[Optional[Path], typer.Option(help="Bring your own book: a CSV or Parquet file with a 0/1 target.")] = None,
    target: Annotated[Optional[str], typer.Option(help="With --data: the 0/1 target column.")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id", help="With --data: an id column to leave out of the model.")] = None,
    name: Annotated[Optional[str], typer.Option(help="With --data: the registered model name.")] = None,
    as_json: JsonFlag = False,
):
    """Train the scorecard and the boosted model (on the warehouse, or on --data), validate, track in MLflow; the better one becomes champion, the other challenger."""
    if data is not None:
        from chengxin.pipelines import byo

        if not target or not name:
            raise UserError("with --data give --target COLUMN and --name MODEL_NAME")
        result = byo.train_book(data, target, name, id_col)
        lines = [f"{name}: {result['rows']:,} rows, champion {result['champion']}"] + [
            f"  {k} v{m['version']}: test AUC {m['auc']:.3f}, KS {m['ks']:.3f}, Brier {m['brier']:.4f}"
            for k, m in result["models"].items()]
        report(result, as_json, "\n".join(lines))
        return
    from chengxin.pipelines import train as stage

    def describe(result: dict) -> str:
        lines = [f"{result['subject']}: run {result['run_id']}, champion {result['aliases']['champion']}"]
        for kind, m in result["models"].items():
            lines.append(f"  {kind} v{m['version']}: out-of-time AUC {m['auc']:.3f}, KS {m['ks']:.3f}, "
                         f"Brier {m['brier']:.4f}, PSI {m['psi_dev_oot']:.3f}, grades within interval "
                         f"{m['grades_within_interval']:.0%}")
        card = result["models"]["scorecard"]["chosen"]
        lines.append(f"  scorecard C {card['C']:g} (cross-validated); dropped as unstable: "
                     f"{', '.join(card['dropped_for_stability']) or 'none'}")
        return "\n".join(lines + [f"  note: {note}" for note in result["notes"]])

    with Bar() as bar:
        for_each_subject(subject, lambda s: stage.train(s, progress=bar), describe, as_json)


@app.command()
def promote(subject: Subject = None, as_json: JsonFlag = False):
    """Swap the roles: make the challenger (whichever model holds it) champion only if its out-of-time AUC is better and its calibration holds."""
    from chengxin.pipelines import train as stage

    for_each_subject(subject, stage.promote,
                     lambda r: f"{r['subject']}: " + ("promoted" if r["promoted"] else "kept the champion")
                               + f" (v{r['champion']}): " + "; ".join(r["reasons"]), as_json)


@app.command()
def score(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Rate the warehouse's subjects as of this date, YYYY-MM-DD, or 'latest'.")] = None,
    subject: Subject = None,
    data: Annotated[Optional[Path], typer.Option(help="Score your own file instead (CSV or Parquet).")] = None,
    model: Annotated[Optional[str], typer.Option(help="With --data: NAME or NAME@alias (default @champion).")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id", help="With --data: the id column to carry into the output.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the ratings here (.csv or .parquet).")] = None,
    engine: Engine = "duckdb",
    as_json: JsonFlag = False,
):
    """Rate subjects: PD and grade from the champion, points and public tier from the scorecard, reasons."""
    if data is not None:
        from chengxin.pipelines import byo

        if not model or not out:
            raise UserError("with --data give --model NAME[@alias] and --out FILE")
        result = byo.score_book(data, model, out, id_col)
        report(result, as_json, f"{result['rows']:,} rows scored with {model} -> {result['out']}")
        return
    if not as_of:
        raise UserError("give --as-of YYYY-MM-DD (or 'latest'), or --data FILE --model NAME")
    from chengxin.pipelines import score as stage

    day = catalog.latest_as_of() if as_of == "latest" else parse_date(as_of, "--as-of")

    def write(results: list[dict]) -> str | None:  # every subject type's ratings in the one file asked for
        if out:
            stage.write_ratings(results, out)
            return f"{sum(r['rated'] for r in results):,} ratings -> {out}"
        return None

    for_each_subject(subject, lambda s: stage.score(day, s, engine_name=engine),
                     lambda r: f"{r['rated']:,} {r['subject']} subjects rated as of {r['as_of']} on {engine} (champion "
                               f"v{r['model_version']}, scorecard v{r['scorecard_version']}): grades {r['grades']}, "
                               f"tiers {r['tiers']} -> {r['stored']}", as_json, finish=write)


@app.command()
def explain(
    subject_id: Annotated[Optional[str], typer.Argument(help="Unified social credit code or resident ID number.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="YYYY-MM-DD or 'latest' (default: the latest rated date).")] = None,
    purpose: Annotated[Optional[str], typer.Option(help="Why you look this up (required for individuals; audited).")] = None,
    all_subjects: Annotated[bool, typer.Option("--all", help="Store the contributions and repair paths of every subject instead (what the faces read).")] = False,
    subject: Annotated[Optional[str], typer.Option(help="With --all: enterprise or individual (default: every subject type).")] = None,
    as_json: JsonFlag = False,
):
    """One subject's grade, PD, score, reasons, per-indicator contributions and credit-repair path."""
    from chengxin.pipelines import explain as stage

    day = None
    if as_of:
        day = catalog.latest_as_of() if as_of == "latest" else parse_date(as_of, "--as-of")
    if all_subjects:
        day = day or catalog.latest_as_of()
        results = [stage.explain_all(s, day) for s in subject_types(subject)]
        report({"as_of": str(day), "subjects": results}, as_json, "; ".join(
            f"{r['subject']}: {r['subjects']:,} explained ({r['treeshap']:,} by TreeSHAP, {r['reused']:,} reused) "
            f"in {r['seconds']} s -> {r['out']}" for r in results))
        return
    if not subject_id:
        raise UserError("give a SUBJECT_ID, or --all to explain every subject")
    result = stage.explain(subject_id, day, purpose=purpose)
    if as_json:
        emit_json(result)
        return
    con = Console()
    con.print(f"[bold]{result['subject_id']}[/] ({result['subject_type']}) as of {result['as_of']}: grade "
              f"[bold]{result['grade']}[/], public tier {result['tier']}, PD {result['pd']:.2%}, score {result['score']}")
    for en, zh in zip(result["reasons"], result["reasons_zh"]):
        con.print(f"  - {en} / {zh}")
    if result.get("repair_note"):
        con.print(f"Repair: {result['repair_note']}")
    for step in result["repair_path"]:
        after = f" (from {step['from']})" if step.get("from") else ""
        con.print(f"  -> {step['text_en']} / {step['text_zh']}: grade {step['grade']} (PD {step['pd']:.2%}){after}")


@app.command()
def warn(
    as_of: Annotated[str, typer.Option("--as-of", help="Month end YYYY-MM-DD, or 'latest'.")],
    subject: Annotated[Optional[str], typer.Option(help="enterprise or individual (default: every subject type).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write the alerts here (.csv or .parquet).")] = None,
    as_json: JsonFlag = False,
):
    """Early-warning alerts for a month (rule, model and anomaly signals), stored without duplicates; portfolio views and drift."""
    from chengxin.pipelines import warn as stage

    types = subject_types(subject)
    day = catalog.latest_as_of() if as_of == "latest" else parse_date(as_of, "--as-of")
    result = stage.warn(day, types, out=out)
    report(result, as_json, f"{result['alerts']:,} alerts for {result['as_of']} ({result['by_severity']}); "
                            f"signals {result['by_signal']}" + (f" -> {result['out']}" if result["out"] else ""))


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


@app.command()
def consistency(as_json: JsonFlag = False):
    """Scan what the current dashboard snapshot publishes for contradictions (a tier better than a
    direct rule's entry allows, an ended entry shown in force, a red-list entry whose basis is
    gone, a record twice, a forced tier without its entry): each kind with its count and
    examples; exit 1 if any is found."""
    from chengxin import consistency as checks
    from chengxin import readmodel

    snap = readmodel.current()
    if snap is None:
        raise workspace.UserError("no dashboard snapshot yet: run `chengxin publish dashboard` first")
    result = checks.check(snap.path)
    if as_json:
        emit_json({"snapshot": snap.id, "found": checks.found(result), "kinds": result})
    else:
        rows = [{"kind": k, "count": v["count"], "what": checks.KINDS[k][1],
                 "examples": "; ".join(", ".join(f"{a}={b}" for a, b in e.items()) for e in v["examples"][:3])}
                for k, v in result.items()]
        Console().print(table(f"Contradictions in snapshot {snap.id}", rows))
    if checks.found(result):
        raise typer.Exit(1)


@app.command("app")
def app_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (default this machine only).")] = "127.0.0.1",
    refresh: Annotated[bool, typer.Option("--refresh/--no-refresh", help="Refresh the dashboard's data snapshot before starting.")] = True,
):
    """Start the dashboard (Streamlit, headless, no telemetry) on the last published snapshot."""
    import os

    from chengxin import dashboard
    from chengxin.pipelines import snapshot

    if refresh:
        try:
            result = snapshot.refresh()
            err.print(f"dashboard snapshot {result['snapshot']} ({'new' if result['new'] else 'unchanged'})")
        except UserError as exc:  # nothing rated yet, or the warehouse is being written: serve what there is
            err.print(f"dashboard snapshot not refreshed: {exc}")
    env = dict(os.environ, CHENGXIN_HOME=str(workspace.home()), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    cmd = [sys.executable, "-m", "streamlit", "run", str(dashboard.app_path()), *dashboard.streamlit_flags(port, address)]
    err.print(f"chengxin dashboard on http://{address}:{port} (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    # become the server (no child left behind when this process is stopped or killed)
    os.execve(sys.executable, cmd, env)


def main() -> None:
    try:
        app()
    except (UserError, FileExistsError) as exc:
        sys.stderr.write(f"error: {exc}\n")  # one line, never wrapped
        sys.exit(1)


__all__ = ["app", "main", "workspace"]


if __name__ == "__main__":
    main()
