"""`features` (every indicator for one as-of date), `features catalogue` and `features series`
(training snapshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chengxin.cli.common import as_of_day
from chengxin.terminal import (Bar, Engine, JsonFlag, Subject, for_each_subject, out_for, parse_date, report,
                               subject_types)
from chengxin.workspace import UserError

features_app = typer.Typer(help="Indicators: compute them point-in-time, write the catalogue, build training snapshots.")


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
    day = as_of_day(as_of)
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
