"""An institution's watchlist and the changes of its subjects, as the reader's role may see them.

A watchlist belongs to an institution in the role its key is issued for (`changes.Owner`): a
lender's and a credit agency's keys under one institution name keep two lists. Every item and
every change obeys the reader's role policy, like a look-up: a role that may not see
individuals sees none, individuals are masked for roles that mask, and a person's changes are
read under the purpose and authorization the person was watched with, each read audited.
"""

from __future__ import annotations

from chengxin import changes, desk, users
from chengxin.users import Role


def _visible(kind: str, r: Role) -> bool:
    return kind != "individual" or r.individuals


def watchlist(owner: changes.Owner, r: Role, home=None) -> dict:
    """The owner's watched subjects: `subjects` (ids as the role may see them) and `items` (each
    with its type, when and why it was added)."""
    items = [{"subject_id": users.show_id(w["subject_id"], w["subject_type"], r), "subject_type": w["subject_type"],
              "added_at": w["added_at"], "purpose": w["purpose"]}
             for w in changes.watched(owner, home) if _visible(w["subject_type"], r)]
    return {"subjects": [i["subject_id"] for i in items], "items": items}


def watch_feed(owner: changes.Owner, r: Role, cursor: int = 0, limit: int = changes.FEED_LIMIT, *,
               user: str | None = None, home=None) -> dict:
    """The changes of the owner's watched subjects after `cursor` (`changes.feed`) as the role may
    see them; the people among them are audited (the purpose they were watched under) before
    the answer leaves."""
    page = changes.feed(owner, cursor, limit, home)
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
        desk.audit_many("watchlist_changes", sorted(ids), purpose, user=user, role=r.name,
                        detail={"authorization_ref": reference}, home=home)
    return {**page, "changes": shown}
