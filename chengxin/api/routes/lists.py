"""The red and black lists, and the published rating criteria."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from chengxin import config, readmodel
from chengxin.api.access import Access, Caller, home, snapshot
from chengxin.api.problems import Problem, answers
from chengxin.api.shapes import Criteria, ListName, ListPage, Paging, SubjectType

router = APIRouter()


@router.get("/v1/lists/{which}", tags=["lists"], operation_id="list_entries", response_model=ListPage,
            responses=answers("no-snapshot"))
def list_entries(request: Request, who: Annotated[Caller, Depends(Access("lists"))], which: ListName,
                 subject_type: SubjectType | None = None,
                 county: Annotated[str | None, Query(max_length=12, description="a county's division code")] = None,
                 changed_since: Annotated[dt.date | None, Query(description="entries that started or ended on or "
                                                                             "after this date")] = None,
                 paging: Annotated[Paging, Query()] = Paging()) -> dict:
    """Entries of the red or black list with rule, since, until and measures, the county by code
    and name; by subject type, county (its division code: an unknown one is a 400), and what
    changed since a date; a page at a time (`limit` from `offset`, with the `total`)."""
    counties = {c.code for c in config.city().counties}
    if county is not None and county not in counties:
        raise Problem("invalid-request", why=f"county {county!r} is not a county code of the city: {', '.join(sorted(counties))}",
                      why_zh=f"区县代码 {county} 不属于本市：{', '.join(sorted(counties))}")
    snap = snapshot(request)
    entries = readmodel.list_feed(snap, who.role, which.value, subject_type=subject_type and subject_type.value,
                                  county=county, changed_since=changed_since)
    page = paging.page(entries)
    return {"snapshot": snap.id, "list": which.value, "entries": page.pop("items"), **page}


@router.get("/v1/criteria/{subject_type}", tags=["criteria"], operation_id="get_criteria", response_model=Criteria,
            responses=answers("unknown-criteria"))
def get_criteria(who: Annotated[Caller, Depends(Access("criteria"))], subject_type: SubjectType,
                 where: Annotated[FilePath | None, Depends(home)],
                 version: Annotated[str | None, Query(max_length=64, description="a published version's code; "
                                                                                 "default: the one in force")] = None
                 ) -> dict:
    """The published rating criteria (the version in force, or `version`): dimensions and their
    budgets, direct tiers, every indicator's bins and points, the tiers and their distribution,
    the master scale, and one SQL expression that gives the same points."""
    document = readmodel.published_criteria(subject_type.value, version, where)
    if document is None:
        raise Problem("unknown-criteria", subject=subject_type.value, version=version or "")
    return document
