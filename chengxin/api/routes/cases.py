"""Cases: objections, repairs and reviews, filed at the office's counter and decided by the
department that provided the record (the office on ratings and reviews)."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chengxin import readmodel
from chengxin.desks import cases
from chengxin.api.access import Access, Caller, home
from chengxin.api.problems import Problem, answers
from chengxin.api.shapes import (SUBJECT_ID_MAX, Case, CaseDecision, CaseFiling, CaseNumber, CasePage, CaseStatus,
                                 DecidedCase, Paging)

router = APIRouter(tags=["cases"])
CASES = Access("cases")


def actor(who: Caller) -> cases.Actor:
    """The key acting on cases: its role's case rights, its institution standing for the
    department whose records it decides on."""
    return cases.Actor(f"{who.user} {who.institution}", who.role, department=who.institution)


@router.get("/v1/cases", operation_id="list_cases", response_model=CasePage)
def list_cases(who: Annotated[Caller, Depends(CASES)], where: Annotated[FilePath | None, Depends(home)],
               status: CaseStatus | None = None, overdue: bool = False,
               subject_id: Annotated[str | None, Query(max_length=SUBJECT_ID_MAX)] = None,
               paging: Annotated[Paging, Query()] = Paging()) -> dict:
    """The cases this key may see (the office's desk every case, a department those about its
    own records), with their clocks: days left, due within one working day, overdue; a page at
    a time (`limit` from `offset`, with the `total`)."""
    page = paging.page(readmodel.list_cases(actor(who), who.role, status=status and status.value, overdue=overdue,
                                            subject=subject_id, home=where))
    return {"cases": page.pop("items"), **page}


@router.get("/v1/cases/{case_no}", operation_id="get_case", response_model=Case, responses=answers("unknown-case"))
def get_case(who: Annotated[Caller, Depends(CASES)], case_no: CaseNumber,
             where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """One case and every step of its history."""
    return readmodel.show_case(case_no, actor(who), who.role, home=where)


@router.post("/v1/cases", status_code=201, operation_id="file_case", response_model=Case,
             responses=answers("invalid-case", "case-forbidden", "case-conflict"))
def file_case(who: Annotated[Caller, Depends(CASES)], body: CaseFiling,
              where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """File a case (the office's counter): its number, deadline and, for a repair, whether it
    is eligible and from when. A record under objection is flagged at once."""
    filed = cases.file(body.kind, body.subject_id, record=body.record, reason=body.reason, commitment=body.commitment,
                       filed_on=body.filed_on, by=actor(who), home=where)
    return readmodel.case_view(filed, who.role)


@router.post("/v1/cases/{case_no}/decision", operation_id="decide_case", response_model=DecidedCase,
             responses=answers("invalid-case", "case-forbidden", "case-conflict", "unknown-case"))
def decide_case(who: Annotated[Caller, Depends(CASES)], case_no: CaseNumber, body: CaseDecision,
                where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """Decide a case (the department that provided the record, the office on ratings and
    reviews): a decision that changes a record writes its new version and re-rates the subject
    at once; the answer carries the re-rating."""
    from chengxin.flows import rerate

    if not body.extend and not body.decision:
        raise Problem("invalid-case", why="`decision` is required (or `extend`)")
    decided = rerate.decide(case_no, body.decision or "", by=actor(who), note=body.note,
                            sets=[f"{k}={v}" for k, v in body.set.items()], extend=body.extend, home=where)
    return readmodel.case_view(decided, who.role)
