"""Who acts on cases and with what rights: a user of users.yaml (or the office counter) as an
`Actor`, and the rights checks: who may file for a subject, which cases a viewer may see
(`visible_to`) and for whom a user decides a case (`_may_decide`: 谁产生、谁负责).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from chengxin import users
from chengxin.desks.cases.kinds import NotAllowed
from chengxin.state import CASES
from chengxin.workspace import UserError

# --- who acts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """A user acting on cases: the role's rights, the user's department or own subject."""

    user: str
    role: users.Role
    department: str | None = None
    subject: str | None = None

    def may(self, right: str) -> bool:
        return right in self.role.cases


COUNTER = "counter"  # the office's counter: the CLI operator when no --by is given


def actor(username: "str | Actor | None", home=None) -> Actor:
    """The user `username` of users.yaml (None: the office counter, with the admin's rights)."""
    if isinstance(username, Actor):  # e.g. an API key acting for its institution
        return username
    cfg = users.roles_config(home)
    if username in (None, "", COUNTER):
        return Actor(COUNTER, cfg.roles["admin"])
    u = cfg.users.get(username)
    if u is None:
        raise UserError(f"unknown user {username!r}: users are {', '.join(sorted(cfg.users))}")
    return Actor(u.username, cfg.roles[u.role], u.department, u.subject)


def may_file(who: Actor, sid: str) -> None:
    """Raise unless `who` may file a case on the subject `sid`: a subject only on itself, else a
    role with the right to file."""
    if who.role.own_only:
        if sid != (who.subject or "").upper():
            raise NotAllowed(f"{who.user} may file only for its own subject {who.subject}")
    elif not who.may("file"):
        raise NotAllowed(f"{who.user} ({who.role.name}) may not file cases; the office's counter or the subject itself files")


def visible_to(viewer: Actor | None):
    """The cases a viewer may see: the desk every case; a department those about its own records;
    a subject its own; the counter (no viewer) every case."""
    c = CASES.c
    if viewer is None or viewer.may("desk") or viewer.user == COUNTER:
        return sa.true()
    if viewer.role.own_only:
        return c.subject_id == (viewer.subject or "").upper()
    if viewer.may("decide_records"):
        return c.provider == viewer.department
    return sa.false()


def _may_decide(who: Actor, case: dict) -> str | None:
    """For whom `who` decides this case (its own department, or the one it records a decision
    for), or raise why it may not."""
    if case["record"] is not None:  # a record: its providing department decides (谁产生、谁负责)
        if who.may("decide_records") and who.department == case["provider"]:
            return who.department
        if who.may("on_behalf"):
            return case["provider"]
        raise NotAllowed(f"{who.user} ({who.role.name}) may not decide case {case['case_no']}: "
                         f"{case['provider']} decides on its own records, or the office admin on its behalf")
    if who.may("decide_ratings"):
        return None
    raise NotAllowed(f"{who.user} ({who.role.name}) may not decide case {case['case_no']}: the office decides "
                     f"on ratings and reviews")
