"""Reading cases: the list a viewer may see, each with its clock (days left, due soon, overdue),
one case with every step of its history, and the office's feedback on its providers (how many
objections to each department's records were upheld).
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from chengxin import clocks, identifiers, state
from chengxin.desks.cases.actors import Actor, visible_to
from chengxin.desks.cases.kinds import UPHELD, UnknownCase
from chengxin.state import CASE_EVENTS, CASES
from chengxin.workspace import UserError

# --- reading ----------------------------------------------------------------------------------


def _row(r) -> dict:
    d = dict(r)
    for k in ("eligibility", "changes"):
        if d.get(k):
            d[k] = json.loads(d[k])
    d.pop("open_key", None)
    return d


def _with_clock(case: dict, today: dt.date, home=None) -> dict:
    if case["status"] == "open":
        due = clocks.deadline(case["kind"], dt.date.fromisoformat(case["filed_on"]), extended=bool(case["extended"]), home=home)
        left = clocks.days_left(due, today)
        case.update(days_left=left, overdue=left < 0, due_soon=0 <= left <= 1, days=due.days)
    else:
        case.update(days_left=None, overdue=False, due_soon=False)
    return case



def list_cases(*, status: str | None = None, overdue: bool = False, subject: str | None = None, kind: str | None = None,
               viewer: Actor | None = None, today: dt.date | None = None, home=None) -> list[dict]:
    """Cases, oldest first, each with its clock (days left in its own days, due within one
    working day, overdue)."""
    if status not in (None, *state.CASE_STATUSES):
        raise UserError(f"--status must be one of {', '.join(state.CASE_STATUSES)}")
    q = sa.select(CASES).where(visible_to(viewer)).order_by(CASES.c.case_no)
    if status:
        q = q.where(CASES.c.status == status)
    if subject:
        q = q.where(CASES.c.subject_id == identifiers.normalise(subject))
    if kind:
        q = q.where(CASES.c.kind == kind)
    with state.connect(home) as con:
        rows = [_with_clock(_row(r), today or dt.date.today(), home) for r in con.execute(q).mappings()]
    return [r for r in rows if r["overdue"]] if overdue else rows


def show(case_no: int, *, viewer: Actor | None = None, home=None) -> dict:
    """One case with every step of its history."""
    with state.connect(home) as con:
        found = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no), visible_to(viewer))).mappings().first()
        if found is None:
            raise UnknownCase(f"no case {case_no}")
        events = [dict(e) for e in con.execute(sa.select(CASE_EVENTS).where(CASE_EVENTS.c.case_no == int(case_no))
                                                .order_by(CASE_EVENTS.c.seq)).mappings()]
    for e in events:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else None
    case = _with_clock(_row(found), dt.date.today(), home)
    case["events"] = events
    return case


def upheld_by_department(home=None) -> list[dict]:
    """Per providing department: objections decided, and how many were upheld (the office's
    feedback on its providers' data quality)."""
    c = CASES.c
    upheld = sa.func.sum(sa.case((c.decision.in_(UPHELD), 1), else_=0))
    q = (sa.select(c.provider, sa.func.count().label("decided"), upheld.label("upheld"))
         .where(c.kind == "objection", c.status == "decided", c.provider.is_not(None)).group_by(c.provider)
         .order_by(upheld.desc()))
    with state.connect(home) as con:
        rows = [dict(r) for r in con.execute(q).mappings()]
    for r in rows:
        r["upheld"] = int(r["upheld"] or 0)
        r["upheld_share"] = round(r["upheld"] / r["decided"], 3) if r["decided"] else None
    return rows
