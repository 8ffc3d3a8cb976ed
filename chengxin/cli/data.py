"""The data commands: `generate` (a synthetic city), `ingest`, `coverage`, `sources` (the data
contract) and `quarantine list|release` (the rows ingestion held back)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from chengxin.terminal import console

from chengxin.cli.common import first_month
from chengxin.terminal import Bar, JsonFlag, emit_json, err, report, table

quarantine_app = typer.Typer(no_args_is_help=True, help="Rows held back by ingestion: list them, release them.")


def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the city's uploads into (must be new or empty).")],
    enterprises: Annotated[int, typer.Option(min=1, help="Number of enterprises.")] = 20_000,
    individuals: Annotated[int, typer.Option(min=1, help="Number of individuals.")] = 50_000,
    months: Annotated[int, typer.Option(min=1, max=240, help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    start: Annotated[Optional[str], typer.Option(help="First month, YYYY-MM (instead of --end).")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last month: YYYY-MM, or `last` (the default) for the last complete "
                                                    "month before today, so a demo publishes current statuses.")] = None,
    as_json: JsonFlag = False,
):
    """Generate a synthetic city: every department's uploads, with realistic mess, and the truth in _truth/."""
    from chengxin.city import generate as run

    start = first_month(start, end, months)
    with Bar(quiet=False) as bar:
        summary = run(out, enterprises, individuals, months, seed, start, progress=bar)
    if as_json:
        emit_json(summary)
        return
    err.print(f"[bold]City written to {summary['out']}[/bold]")
    rows = [{"source": k, "records": v} for k, v in summary["records_per_source"].items()]
    console().print(table("Records per source", rows))
    facts = {k: summary[k] for k in ("subjects", "records", "files", "yearly_outcome_rate", "true_pd_auc_12m",
                                     "late_upload_share", "missing_upload_share", "mess")}
    console().print_json(json.dumps(facts, ensure_ascii=False))


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
        console().print(table("Ingested", rows))
        console().print(f"files {summary.files}  rows {summary.rows}  accepted {summary.accepted}  "
                        f"rejected {summary.rejected} (review {summary.review})  duplicates {summary.duplicates}  "
                        f"superseded {summary.superseded}  in {summary.seconds}s")
    for bad in summary.unreadable:
        sys.stderr.write(f"unreadable: {bad['reason']}\n")
    if summary.unreadable:
        raise typer.Exit(1)


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
    con = console()
    con.print(table("Uploads by department", summary["by_department"]))
    if summary["most_missing"]:
        con.print(table("Most months missing (department x county)", summary["most_missing"]))
    lp = summary["late_publication"]
    con.print(f"cells {summary['cells']}  missing {summary['missing_cells']} ({summary['missing_share']:.1%})  "
              f"months {summary['months'][0]}..{summary['months'][1]}")
    if lp["share"] is not None:
        con.print(f"published late: {lp['share']:.1%} of {lp['published']} decisions and inspection results, each past its "
                  f"deadline (double publicity {lp['due_working_days']} working days; a source may set its own) ({lp['calendar']})")
        con.print(table("Published late, by source and department", lp.get("by_department", [])))


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
        console().print(table("Record sources", docs.sources_rows()))


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
    con = console()
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
