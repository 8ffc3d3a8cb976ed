"""The audit log: who looked at what, when and why. The one thing a read writes: a look-up of an
individual is on record before its answer leaves (`chengxin.readmodel`), and institutions'
look-ups of firms are recorded with their calls (`chengxin.desks.institutions.CallLog`).

It lives in the shared state (`chengxin.state`: the workspace's ``desk.sqlite`` by default,
PostgreSQL when ``CHENGXIN_DB_URL`` names one).
"""

from __future__ import annotations

import getpass
import json

import pandas as pd
import sqlalchemy as sa

from chengxin import state
from chengxin.state import AUDIT, connect, now


# reads of the inspecting departments' own tool (a firm's risk class, `chengxin.readmodel.supervision`):
# on the log like every read, but never told in the subject's report (a class is not published, 不公开)
INTERNAL_ACTIONS = frozenset({"risk_class", "inspection_plan"})


def audit(action: str, subject_id: str | None, purpose: str | None, *, user: str | None = None,
          role: str = "cli", detail: dict | None = None, home=None) -> None:
    """Record who looked at what, when and why."""
    audit_many(action, [subject_id], purpose, user=user, role=role, detail=detail, home=home)


def audit_many(action: str, subject_ids: list[str | None], purpose: str | None, *, user: str | None = None,
               role: str = "cli", detail: dict | None = None, home=None) -> None:
    """One audit entry per subject, all committed (on disk) before this returns: a look-up is on
    record before its answer leaves."""
    at, who = now(), user or getpass.getuser()
    text = json.dumps(detail, ensure_ascii=False) if detail else None
    state.write(AUDIT, [{"at": at, "user": who, "role": role, "action": action, "subject_id": sid,
                         "purpose": purpose, "detail": text} for sid in subject_ids], home)


def audit_log(home=None, *, subject_id: str | None = None, since: str | None = None) -> pd.DataFrame:
    """The audit log, newest first; `subject_id` and `since` (ISO text): only that subject's
    entries from then on (what a report tells its subject)."""
    q = sa.select(AUDIT).order_by(AUDIT.c.at.desc())
    if subject_id is not None:
        q = q.where(AUDIT.c.subject_id == subject_id)
    if since is not None:
        q = q.where(AUDIT.c.at >= since)
    with connect(home) as con:
        return pd.read_sql_query(q, con)
