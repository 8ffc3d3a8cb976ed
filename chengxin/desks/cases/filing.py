"""Filing a case: every check (the subject, the filer's right, the dates, the record) comes
before anything is written; then the case, its first step and (an objection) the watchlists'
feed are written in one transaction, and every reader is told that cases changed.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from chengxin import clocks, state
from chengxin.desks.cases.actors import actor, may_file
from chengxin.desks.cases.decisions import record_event
from chengxin.desks.cases.eligible import eligibility, filing_date, record_filed
from chengxin.desks.cases.notices import subject_change, touch
from chengxin.desks.cases.kinds import Conflict
from chengxin.desks.cases.queries import show
from chengxin.desks.cases.records import provider
from chengxin.clocks import CASE_KINDS
from chengxin.state import CASES
from chengxin.workspace import UserError

# --- filing -----------------------------------------------------------------------------------


def _subject(subject_id: str, home=None) -> tuple[str, str, bool]:
    """The cleaned id, its type as the record store's registry says (`chengxin.registry`), and
    whether the registry knows it (a case is filed on a registered subject only)."""
    from chengxin import registry

    try:
        return registry.subject(subject_id, home)
    except UserError as exc:
        raise UserError(f"--subject: {exc}") from None


def file(kind: str, subject_id: str, *, record: str | None = None, reason: str | None = None,
         commitment: str | None = None, filed_on: dt.date | None = None, by: str | None = None, home=None) -> dict:
    """File a case; returns it with its number, its deadline and (a repair) its eligibility.
    Every check comes before anything is written: a refused filing changes nothing."""
    if kind not in CASE_KINDS:
        raise UserError(f"--kind must be one of {', '.join(CASE_KINDS)}, got {kind!r}")
    who = actor(by, home)
    sid, stype, registered = _subject(subject_id, home)
    may_file(who, sid)
    if not registered:
        raise UserError(f"no subject {sid} in the record store")
    filed_on = filing_date(filed_on, record, stype, sid, home)
    record, src, found = record_filed(kind, record, sid, filed_on, home)
    if kind == "review" and stype != "individual":
        raise UserError("a review (PIPL Art 24: explanation and human review of an automated decision) is an "
                        "individual's right; an enterprise files an objection against its rating")
    due = clocks.deadline(kind, filed_on, home=home)
    elig = eligibility(src, found, filed_on, commitment, home) if kind == "repair" else None
    row = {"kind": kind, "subject_id": sid, "subject_type": stype, "record": record, "source": src.name if src else None,
           "provider": provider(src, found, home) if src else None, "reason": reason, "commitment": commitment,
           "filed_on": str(filed_on), "filed_at": state.now(), "filed_by": who.user, "filed_role": who.role.name,
           "due_on": str(due.due), "eligible": None if elig is None else int(elig["eligible"]),
           "eligible_from": elig["eligible_from"] if elig else None,
           "eligibility": json.dumps(elig, ensure_ascii=False) if elig else None, "status": "open",
           "open_key": record or f"{sid}:{'rating' if kind == 'objection' else kind}"}
    try:
        with state.connect(home) as con:
            case_no = con.execute(CASES.insert().values(**row)).inserted_primary_key[0]
            record_event(con, case_no, who, "filed", {"deadline": due.model_dump(mode="json"), "eligibility": elig})
            if kind == "objection":
                subject_change(con, row | {"case_no": case_no}, "under_objection")
    except sa.exc.IntegrityError:
        with state.connect(home) as con:
            other = con.execute(sa.select(CASES.c.case_no, CASES.c.kind).where(CASES.c.open_key == row["open_key"])).first()
        what = record or f"the {'rating' if kind == 'objection' else kind} of {sid}"
        raise Conflict(f"{what} already has an open case: {other.kind} {other.case_no}; decide it first") from None
    touch(home)
    return show(case_no, home=home)
