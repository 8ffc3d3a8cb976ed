"""Credit checks inside departments' decisions (joint reward and punishment), and their feedback."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
import functools
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from chengxin import readmodel
from chengxin.desks import checks as checks_desk
from chengxin.api.access import Access, Caller, home, ready, snapshot
from chengxin.api.answers import json_response
from chengxin.api.middleware import on_looked_up, on_record
from chengxin.api.problems import Problem, answers
from chengxin.api.shapes import Check, CheckRequest, Feedback, FeedbackTaken

router = APIRouter(tags=["checks"])
CHECKS = Access("checks")


@router.post("/v1/checks", operation_id="run_check", response_model=Check,
             responses=answers("unknown-action", "invalid-subject-id", "individuals-not-allowed", "unknown-subject",
                               "no-snapshot"))
async def run_check(request: Request, who: Annotated[Caller, Depends(CHECKS)], body: CheckRequest,
                    where: Annotated[FilePath | None, Depends(home)]) -> Response:
    """A credit check inside a decision: the subject's active list entries, the measures
    they trigger for this action (code, text, legal basis, why), the red list's incentives,
    and the verdict `clear`, `restricted` or `barred`. Stored with its `check_id` before
    it is answered."""
    on_record(request, [body.subject_id], body.purpose, body.case_ref)
    snap = await ready(snapshot(request))
    judge = functools.partial(readmodel.judge_check, snap, body.subject_id, body.action, who.role,
                              purpose=body.purpose, case_ref=body.case_ref, user=who.user, home=where)
    # the judgement is a read (on the event loop) unless it audits an individual
    audited = readmodel.writes_audit(snap, [body.subject_id], who.role, body.purpose, body.case_ref)
    out = await run_in_threadpool(judge) if audited else judge()
    if out["status"] != 200:
        raise Problem(out["problem"])
    on_looked_up(request, [out])
    await run_in_threadpool(checks_desk.record_check, out, who.role, purpose=body.purpose, case_ref=body.case_ref,
                            institution=who.institution, key_id=who.key["key_id"], home=where)
    return json_response(out)


@router.post("/v1/checks/{check_id}/feedback", operation_id="check_feedback", response_model=FeedbackTaken,
             responses=answers("unknown-check", "invalid-feedback"))
def check_feedback(who: Annotated[Caller, Depends(CHECKS)], check_id: Annotated[str, Path(max_length=40)],
                   body: Feedback, where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """What the department applied after the check (measure codes among those returned) and
    the outcome of its decision."""
    return checks_desk.check_feedback(check_id, body.applied, body.outcome, body.note, institution=who.institution,
                                    role=who.role.name, key_id=who.key["key_id"], home=where)
