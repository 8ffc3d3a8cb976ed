"""The red and black lists, and the published rating criteria."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from chengxin import config, readmodel
from chengxin.api.access import Access, Caller, home, snapshot
from chengxin.api.problems import ERRORS, Problem
from chengxin.api.shapes import Paging

router = APIRouter(responses=ERRORS)


@router.get("/v1/lists/{which}", tags=["lists"])
def lists(request: Request, who: Annotated[Caller, Depends(Access("lists"))], which: Literal["black", "red"],
          subject_type: config.SubjectType | None = None,
          county: Annotated[str | None, Query(max_length=12)] = None,
          changed_since: dt.date | None = None, paging: Annotated[Paging, Query()] = Paging()) -> dict[str, Any]:
    """Entries of the red or black list with rule, since, until and measures, the county by code
    and name; by subject type, county (its division code: an unknown one is a 400), and what
    changed since a date; a page at a time (`limit` from `offset`, with the `total`)."""
    counties = {c.code for c in config.city().counties}
    if county is not None and county not in counties:
        raise Problem("invalid-request", why=f"county {county!r} is not a county code of the city: {', '.join(sorted(counties))}",
                      why_zh=f"区县代码 {county} 不属于本市：{', '.join(sorted(counties))}")
    snap = snapshot(request)
    entries = readmodel.list_feed(snap, who.role, which, subject_type=subject_type, county=county,
                                  changed_since=changed_since)
    page = paging.page(entries)
    return {"snapshot": snap.id, "list": which, "entries": page.pop("items"), **page}


@router.get("/v1/criteria/{subject_type}", tags=["criteria"])
def criteria(who: Annotated[Caller, Depends(Access("criteria"))], subject_type: config.SubjectType,
             where: Annotated[FilePath | None, Depends(home)],
             version: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """The published rating criteria (the version in force, or `version`)."""
    document = readmodel.published_criteria(subject_type, version, where)
    if document is None:
        raise Problem("unknown-criteria", subject=subject_type, version=version or "")
    return document
