"""What the command modules share: the root command, the way a command ends on an error a user
can fix (one line on stderr, exit 1), and the options naming a month or a rating day. How the
commands print (one JSON object with --json, tables, progress bars on stderr) and the options
every command takes live in `chengxin.terminal`, which the API's commands use too."""

from __future__ import annotations

import datetime as dt
import re
import sys

import typer

from chengxin import warehouse
from chengxin.terminal import parse_date
from chengxin.workspace import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="诚信 chengxin: public credit rating and risk analytics for a city's social credit office.")

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def as_of_day(as_of: str) -> dt.date:
    """--as-of: a date YYYY-MM-DD, or `latest` (the last month end with monthly uploads)."""
    return warehouse.latest_as_of() if as_of == "latest" else parse_date(as_of, "--as-of")


def first_month(start: str | None, end: str | None, months: int) -> str:
    """The first month YYYY-MM: --start, or with --end (YYYY-MM, or `last`: the last complete
    month before today; the default when neither is given) the first of the `months` months
    that end there."""
    if start is not None and end is not None:
        raise UserError("give --start or --end, not both: the city's months are counted from one of them")
    if start is None and end is None:
        end = "last"
    if end is not None:
        if end == "last":
            first_of_month = dt.date.today().replace(day=1)
            end = (first_of_month - dt.timedelta(days=1)).strftime("%Y-%m")
        if not MONTH.fullmatch(end):
            raise UserError(f"--end must be YYYY-MM or `last`, got {end!r}")
        y, m = map(int, end.split("-"))
        k = y * 12 + (m - 1) - (months - 1)
        start = f"{k // 12:04d}-{k % 12 + 1:02d}"
    if not MONTH.fullmatch(start):
        raise UserError(f"--start must be YYYY-MM, got {start!r}")
    return start


def main() -> None:
    try:
        app()
    except (UserError, FileExistsError) as exc:
        sys.stderr.write(f"error: {exc}\n")  # one line, never wrapped
        sys.exit(1)
