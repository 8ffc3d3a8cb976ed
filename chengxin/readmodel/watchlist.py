"""An institution's watchlist and the changes of its subjects, as the reader's role may see them.

A watchlist belongs to an institution in the role its key is issued for (`WatchlistOwner`): a
lender's and a credit agency's keys under one institution name keep two lists. Every item and
every change obeys the reader's role policy, like a look-up: a role that may not see
individuals sees none, individuals are masked for roles that mask, and a person's changes are
read under the purpose and authorization the person was watched with, each read audited.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from chengxin import audit, state, users, workspace
from chengxin.state import FEED_LIMIT, SUBJECT_CHANGES, WATCHLIST, WatchlistOwner
from chengxin.users import Role


def _visible(kind: str, r: Role) -> bool:
    return kind != "individual" or r.individuals


def watchlist(owner: WatchlistOwner, r: Role, home=None) -> dict:
    """The owner's watched subjects: `subjects` (ids as the role may see them) and `items` (each
    with its type, when and why it was added)."""
    items = [{"subject_id": users.show_id(w["subject_id"], w["subject_type"], r), "subject_type": w["subject_type"],
              "added_at": w["added_at"], "purpose": w["purpose"]}
             for w in watched(owner, home) if _visible(w["subject_type"], r)]
    return {"subjects": [i["subject_id"] for i in items], "items": items}


def watch_feed(owner: WatchlistOwner, r: Role, cursor: int = 0, limit: int = FEED_LIMIT, *,
               user: str | None = None, home=None) -> dict:
    """The changes of the owner's watched subjects after `cursor` (`feed`) as the role may
    see them; the people among them are audited (the purpose they were watched under) before
    the answer leaves."""
    page = feed(owner, cursor, limit, home)
    shown, people = [], {}
    for c in page["changes"]:
        purpose, reference = c.pop("watch_purpose"), c.pop("watch_authorization_ref")
        kind = c.get("subject_type") or "enterprise"
        if not _visible(kind, r):
            continue
        if kind == "individual":
            people.setdefault((purpose, reference), set()).add(c["subject_id"])
            c["subject_id"] = users.show_id(c["subject_id"], kind, r)
        shown.append(c)
    for (purpose, reference), ids in people.items():
        audit.audit_many("watchlist_changes", sorted(ids), purpose, user=user, role=r.name,
                        detail={"authorization_ref": reference}, home=home)
    return {**page, "changes": shown}


def watched(owner: WatchlistOwner, home=None) -> list[dict]:
    """The owner's watched subjects (id, type, when and why added), by id."""
    w = WATCHLIST.c
    with state.connect(home) as con:
        return [dict(r) for r in con.execute(sa.select(w.subject_id, w.subject_type, w.added_at, w.purpose,
                                                       w.authorization_ref).where(owner.mine())
                                             .order_by(w.subject_id)).mappings()]


def parse_cursor(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    text = str(cursor)
    if not (text.isascii() and text.isdigit()) or int(text) > state.BIGINT_MAX:  # changes are numbered in 64 bits
        raise workspace.UserError("a cursor is the `next_cursor` of an earlier answer (digits)")
    return int(text)


def feed(owner: WatchlistOwner, cursor: int = 0, limit: int = FEED_LIMIT, home=None) -> dict:
    """The changes of the owner's watched subjects after `cursor`, oldest first, at most `limit`,
    each with the purpose and authorization its subject was watched under; `next_cursor` is
    where the next poll starts (the same cursor again gives the same answer). Raw: the read
    model (`readmodel.watch_feed`) applies the reader's role policy."""
    c, w = SUBJECT_CHANGES.c, WATCHLIST.c
    q = (sa.select(c.seq, c.subject_id, c.subject_type, c.kind, c.previous, c.current, c.reason, c.reason_zh, c.as_of,
                   c.changed_at, c.snapshot, w.purpose.label("watch_purpose"),
                   w.authorization_ref.label("watch_authorization_ref"))
         .join_from(SUBJECT_CHANGES, WATCHLIST, (w.subject_id == c.subject_id) & owner.mine())
         .where(c.seq > cursor, c.seq > w.from_seq).order_by(c.seq).limit(limit + 1))
    with state.connect(home) as con:
        rows = [dict(r) for r in con.execute(q).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        r["previous"] = json.loads(r["previous"]) if r["previous"] else None
        r["current"] = json.loads(r["current"]) if r["current"] else None
    return {"changes": rows, "next_cursor": str(rows[-1]["seq"] if rows else cursor), "more": more}
