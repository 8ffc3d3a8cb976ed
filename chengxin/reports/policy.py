"""Who may have which report: the reader a report is issued to, the checks made before any
content is read (the kind, the role's `reports` in roles.yaml, a subject's own account, the
purpose and authorization a report on an individual needs), and the free reports a person has
on itself each year, counted from the issued reports recorded in the shared state."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from chengxin import identifiers, state
from chengxin.desks import cases
from chengxin.readmodel.lookup import NeedsPurpose
from chengxin.reports.settings import KINDS
from chengxin.state import REPORTS
from chengxin.users import Role
from chengxin.workspace import UserError


@dataclass(frozen=True)
class Reader:
    """Whom a report is issued to: a role, the user or institution, and for a subject's own
    account the subject it is."""

    name: str
    role: Role
    subject: str | None = None


class ReportNotAllowed(cases.NotAllowed):
    """The reader may not have this kind of report on this subject."""


def reader(username: str | None, home=None) -> Reader:
    """A user of users.yaml as a report's reader (None: the office's counter, with the admin's role)."""
    who = cases.actor(username, home)
    return Reader(who.user, who.role, who.subject)


def check(snap, subject_id: str, kind: str, reader: Reader, purpose: str | None,
          authorization_ref: str | None) -> tuple[str, str, bool]:
    """The subject's id and type, and whether it is the reader's own, once the reader may have
    this kind of report on it (cases.NotAllowed or UserError when not)."""
    from chengxin.readmodel.identity import subject_type

    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    sid, stype = subject_type(snap, subject_id)  # the registry's type: a person is never reported as a firm
    own = bool(reader.subject) and identifiers.normalised_or_none(reader.subject) == sid
    if reader.role.own_only and not own:
        raise ReportNotAllowed(f"{reader.name} may have reports on its own subject only")
    if kind not in reader.role.reports and not own:
        raise ReportNotAllowed(f"{reader.role.name} may not have the {kind} report (roles.yaml `reports`)")
    if stype == "individual" and not own:
        if not reader.role.individuals:
            raise ReportNotAllowed(f"{reader.role.name} may not have reports on individuals")
        if not ((purpose or "").strip() and (authorization_ref or "").strip()):
            raise NeedsPurpose("a report on an individual needs a purpose and the person's authorization reference "
                            "(--purpose, --authorization-ref); it is audited")
    return sid, stype, own


def free_reports_used(sid: str, year: int, home=None) -> int:
    """Reports issued to a person about itself in a calendar year."""
    with state.connect(home) as con:
        return int(con.scalar(sa.select(sa.func.count()).select_from(REPORTS).where(
            REPORTS.c.subject_id == sid, REPORTS.c.own == 1, REPORTS.c.issued_at.like(f"{year}-%"))) or 0)
