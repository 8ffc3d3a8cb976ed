"""An institution's watchlist, in the role its key is issued for, and the feed of its changes."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from chengxin import identifiers, readmodel, state
from chengxin.desks import watchlists
from chengxin.api.access import Access, Caller, home, ids_in, snapshot
from chengxin.api.middleware import on_looked_up, on_record
from chengxin.api.problems import answers
from chengxin.api.shapes import SUBJECT_ID_MAX, ChangeFeed, Watchlist, WatchlistEdit, WatchlistEdited

router = APIRouter(tags=["watchlist"])
WATCH = Access("watchlist")


def owner(who: Caller) -> state.WatchlistOwner:
    """Whose watchlist a key reaches: its institution's, in the role the key is issued for."""
    return state.WatchlistOwner(who.key["institution"], who.role.name)


@router.put("/v1/watchlist", operation_id="edit_watchlist", response_model=WatchlistEdited,
            responses=answers("no-snapshot"))
def edit_watchlist(request: Request, who: Annotated[Caller, Depends(Access("watchlist", cost=ids_in("add", "remove")))],
                   body: WatchlistEdit, where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """Add subjects to the institution's watchlist and remove others. Each id added is
    checked as a look-up is (an individual needs purpose and authorization_ref, and is
    audited); `rejected` lists the ids not added and why."""
    on_record(request, body.add + body.remove, body.purpose, body.authorization_ref)
    cards = readmodel.subject_cards(snapshot(request), body.add, who.role, purpose=body.purpose,
                                    authorization_ref=body.authorization_ref, user=who.user, home=where)
    ok = {c["subject_id"]: c["subject_type"] for c in cards if c["status"] == 200}
    on_looked_up(request, cards)
    rejected = [{"subject_id": c["subject_id"], "status": c["status"], "problem": c["problem"]}
                for c in cards if c["status"] != 200]
    removed = []
    for raw in body.remove:
        sid = identifiers.normalised_or_none(raw)
        if sid is None:
            rejected.append({"subject_id": str(raw)[:SUBJECT_ID_MAX], "status": 400, "problem": "invalid-subject-id"})
        else:
            removed.append(sid)
    people = any(kind == "individual" for kind in ok.values())
    result = watchlists.watch(owner(who), ok, removed, purpose=body.purpose if people else None,
                           authorization_ref=body.authorization_ref if people else None, added_by=who.user, home=where)
    return {"added": list(ok), "removed": removed, "rejected": rejected, **result}


@router.get("/v1/watchlist", operation_id="get_watchlist", response_model=Watchlist)
def get_watchlist(who: Annotated[Caller, Depends(WATCH)], where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """The subjects the institution watches in this key's role, as the role may see them
    (individuals masked where the role masks)."""
    return readmodel.watchlist(owner(who), who.role, where)


@router.get("/v1/watchlist/changes", operation_id="watchlist_changes", response_model=ChangeFeed)
def watchlist_changes(who: Annotated[Caller, Depends(WATCH)], where: Annotated[FilePath | None, Depends(home)],
                      cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]*$")] = None,
                      limit: Annotated[int, Query(ge=1, le=state.FEED_LIMIT)] = state.FEED_LIMIT) -> dict:
    """Each change of a watched subject since `cursor` (tier, grade, list entry added or
    ended, new early-warning alert), oldest first, with the next cursor: a change is never
    lost or repeated between two polls. A person's changes are read under the purpose it was
    watched with, and audited."""
    return readmodel.watch_feed(owner(who), who.role, readmodel.parse_cursor(cursor), limit, user=who.user, home=where)
