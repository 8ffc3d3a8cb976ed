"""Subjects: one look-up (the hot path, a `LeanRoute`), a batch of up to 10,000, and one
subject's explanation with its repair path."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
import asyncio
import functools
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from chengxin import readmodel
from chengxin.api.access import Access, Caller, home, home_of, ids_in, ready, snapshot
from chengxin.api.answers import LeanRoute, json_response, served_by
from chengxin.api.middleware import on_looked_up, on_record
from chengxin.api.problems import Problem, answers, invalid
from chengxin.api.shapes import SUBJECT_ID_MAX, Batch, BatchAnswer, Explanation, LookupQuery, SubjectCard

router = APIRouter(tags=["subjects"])
# what a look-up of one subject can be refused for, whatever else the route does
REFUSED = ("invalid-subject-id", "needs-purpose", "individuals-not-allowed", "unknown-subject", "no-snapshot")
LOOKUP = Access("subjects")
EMPTY_LOOKUP = LookupQuery()  # a look-up without a query string


async def serve_lookup(request: Request) -> Response:
    """`get_subject` with its caller and parameters read as FastAPI would (the key first, then the
    same checks and the same 400s)."""
    who = await LOOKUP(request)
    subject_id = request.path_params["subject_id"]
    if len(subject_id) > SUBJECT_ID_MAX:
        raise invalid([{"type": "string_too_long", "loc": ("path", "subject_id"), "ctx": {"max_length": SUBJECT_ID_MAX},
                        "msg": f"String should have at most {SUBJECT_ID_MAX} characters"}])
    try:
        query = LookupQuery.model_validate(dict(request.query_params)) if request.scope["query_string"] else EMPTY_LOOKUP
    except ValidationError as exc:
        raise invalid([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()])
    return await get_subject(request, who, subject_id, query, home_of(request))


@served_by(serve_lookup)
async def get_subject(request: Request, who: Annotated[Caller, Depends(LOOKUP)],
                 subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                 query: Annotated[LookupQuery, Query()], where: Annotated[FilePath | None, Depends(home)]) -> Response:
    """One subject as the caller's role may see it; `as_of` answers with what was published
    on or before that date. Individuals: roles that may see them, with `purpose` and
    `authorization_ref`; audited before the answer."""
    purpose, authorization_ref, as_of = query.purpose, query.authorization_ref, query.as_of
    on_record(request, [subject_id], purpose, authorization_ref)
    snap = await ready(snapshot(request))
    read = functools.partial(readmodel.subject_cards, snap, [subject_id], who.role, purpose=purpose,
                             authorization_ref=authorization_ref, as_of=as_of, user=who.user, home=where)
    # a replay reads past reasons from the snapshot's files (the disk thread), and a look-up of an
    # individual writes the audit log first (a worker thread): neither on the event loop
    if as_of is not None:
        card = (await asyncio.get_running_loop().run_in_executor(request.app.state.disk, read))[0]
    elif readmodel.writes_audit(snap, [subject_id], who.role, purpose, authorization_ref):
        card = (await run_in_threadpool(read))[0]
    else:
        card = read()[0]
    if card["status"] != 200:
        raise Problem(card["problem"])
    if as_of is not None and not card["rated"]:
        raise Problem("not-rated-then", as_of=str(as_of))
    on_looked_up(request, [card])
    return json_response(card)


router.add_api_route("/v1/subjects/{subject_id}", get_subject, methods=["GET"], operation_id="get_subject",
                     response_model=SubjectCard, response_model_exclude_none=True, route_class_override=LeanRoute,
                     responses=answers(*REFUSED, "not-rated-then"))


@router.post("/v1/subjects:batch", operation_id="batch_subjects", response_model=BatchAnswer,
             response_model_exclude_none=True, responses=answers("no-snapshot"))
def batch_subjects(request: Request, who: Annotated[Caller, Depends(Access("batch", cost=ids_in("ids")))], body: Batch,
                   where: Annotated[FilePath | None, Depends(home)]) -> Response:
    """Up to 10,000 subjects in one call, one result per id (found or not), the same policy
    per id; the quota counts the ids."""
    on_record(request, body.ids, body.purpose, body.authorization_ref)
    snap = snapshot(request)
    cards = readmodel.subject_cards(snap, body.ids, who.role, purpose=body.purpose,
                                    authorization_ref=body.authorization_ref, user=who.user, home=where)
    on_looked_up(request, cards)
    return json_response({"snapshot": snap.id, "results": cards})


@router.get("/v1/subjects/{subject_id}/explanation", operation_id="get_explanation", response_model=Explanation,
            responses=answers(*REFUSED))
def get_explanation(request: Request, who: Annotated[Caller, Depends(Access("explanation"))],
                    subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                    where: Annotated[FilePath | None, Depends(home)],
                    purpose: Annotated[str | None, Query(max_length=500)] = None,
                    authorization_ref: Annotated[str | None, Query(max_length=200)] = None) -> dict:
    """Both models' contributions with their base values, and the credit-repair path."""
    on_record(request, [subject_id], purpose, authorization_ref)
    snap = snapshot(request)
    card = readmodel.subject_cards(snap, [subject_id], who.role, purpose=purpose,
                                   authorization_ref=authorization_ref, user=who.user, home=where)[0]
    if card["status"] != 200:
        raise Problem(card["problem"])
    on_looked_up(request, [card])
    sid, kind = card["subject_id"], card["subject_type"]
    models = readmodel.stored_contributions(snap, kind, sid) if card["rated"] else None
    fix = readmodel.repair(snap, sid, who.role, user=who.user, purpose=purpose, home=where) if card["rated"] else None
    notes = [] if models else ["explain_unavailable"]
    return {"subject_id": sid, "subject_type": kind, "as_of": card.get("as_of"),
            "models": {m: {"base_value": v["base_value"], "versions": str(v["versions"]),
                           "contributions": v["contributions"]}
                       for m, v in (models or {}).items()},
            "repair": fix, "notes": notes + (fix or {}).get("notes", [])}
