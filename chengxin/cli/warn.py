"""`warn`: the month's early-warning alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chengxin.cli.common import as_of_day
from chengxin.terminal import JsonFlag, report, subject_types


def warn(
    as_of: Annotated[str, typer.Option("--as-of", help="Month end YYYY-MM-DD, or 'latest'.")],
    subject: Annotated[Optional[str], typer.Option(help="enterprise or individual (default: every subject type).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write the alerts here (.csv or .parquet).")] = None,
    as_json: JsonFlag = False,
):
    """Early-warning alerts for a month (rule, model and anomaly signals), stored without duplicates; portfolio views and drift."""
    from chengxin.pipelines import warn as stage

    types = subject_types(subject)
    day = as_of_day(as_of)
    result = stage.warn(day, types, out=out)
    report(result, as_json, f"{result['alerts']:,} alerts for {result['as_of']} ({result['by_severity']}); "
                            f"signals {result['by_signal']}" + (f" -> {result['out']}" if result["out"] else ""))
