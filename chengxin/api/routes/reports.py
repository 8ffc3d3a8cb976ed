"""Credit reports as signed PDFs, and their verification by number and code."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from chengxin.api.access import Access, Caller, home, snapshot
from chengxin.api.problems import Problem, answers
from chengxin.api.shapes import SUBJECT_ID_MAX, ReportFormat, ReportKind, Verification

router = APIRouter(tags=["reports"])


@router.get("/v1/subjects/{subject_id}/report", operation_id="get_report", response_class=Response,
            responses={200: {"description": "the report: a PDF, or HTML where `format=html` asks",
                             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                                         "text/html": {"schema": {"type": "string"}}},
                             "headers": {"X-Report-Number": {"description": "the report's number",
                                                             "schema": {"type": "string"}},
                                         "X-Report-Code": {"description": "its verification code",
                                                           "schema": {"type": "string"}}}},
                       **answers("invalid-subject-id", "needs-purpose", "report-not-allowed", "unknown-subject",
                                 "no-snapshot")})
def get_report(request: Request, who: Annotated[Caller, Depends(Access("subjects", reports=True))],
               subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
               where: Annotated[FilePath | None, Depends(home)],
               kind: ReportKind = ReportKind.public,
               format: Annotated[ReportFormat, Query(description="pdf (signed, the default) or html")] = ReportFormat.pdf,
               as_of: dt.date | None = None, years: Annotated[int | None, Query(ge=1, le=20)] = None,
               purpose: Annotated[str | None, Query(max_length=500)] = None,
               authorization_ref: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """A credit report, numbered and signed: `public` (公共信用信息报告), `certificate` (in
    place of no-violation certificates, per domain over `years`) or `lender` (lender, analyst
    and admin roles); a PDF, or HTML where asked. Its number and verification code are in the
    file and in the headers `X-Report-Number` and `X-Report-Code`."""
    from chengxin import reports

    issued = reports.issue(snapshot(request), subject_id, kind.value, reports.Reader(who.institution or "public", who.role),
                           purpose=purpose, authorization_ref=authorization_ref, years=years, as_of=as_of, fmt=format.value,
                           home=where)
    return Response(issued.data, media_type=issued.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{issued.filename}"',
                             "X-Report-Number": issued.number, "X-Report-Code": issued.record["code"]})


@router.get("/v1/reports/{number}/verify", operation_id="verify_report", response_model=Verification,
            responses=answers("unknown-report"))
def verify_report(number: Annotated[str, Path(max_length=40)],
                  code: Annotated[str, Query(min_length=1, max_length=40, description="the verification code "
                                             "printed on the report: a number alone confirms nothing")],
                  where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """Did the platform issue this report number with this verification code? What it
    issued: kind, subject (an individual masked), as-of date, time, and the SHA-256 of the
    file, to compare with yours."""
    from chengxin import reports

    found = reports.verify_number(number, code, home=where)
    if found is None:
        raise Problem("unknown-report")
    return {"authentic": True, **found}
