"""`report`: issue a credit report, or `report verify FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chengxin.terminal import JsonFlag, emit_json, err, parse_date, report
from chengxin.workspace import UserError


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
