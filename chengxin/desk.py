"""The office's working store: alerts with their status and notes, public comments, sign-ins,
and the audit log of look-ups.

Its tables live in the shared state (`chengxin.state`: the workspace's ``desk.sqlite`` by
default, PostgreSQL when ``CHENGXIN_DB_URL`` names one), apart from the DuckDB warehouse:
analysts, the dashboard and the API's workers write here while pipelines write the warehouse.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json

import numpy as np
import pandas as pd
import sqlalchemy as sa

from chengxin import state, workspace
from chengxin.state import ALERT_NOTES, ALERT_STATUSES, ALERTS, AUDIT, LOGINS, connect, now

# An alert is new until an analyst acknowledges it, then closed; `open` ones are the first two.
OPEN_ALERT_STATUSES = ALERT_STATUSES[:2]


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


def record_login(username: str, ok: bool, home=None, client: str = "") -> None:
    """One sign-in of `username` from `client` (its address; '' when unknown)."""
    at = now("microseconds")  # sign-ins in one second keep their order
    with connect(home) as con:
        con.execute(LOGINS.insert().values(at=at, username=username, ok=int(ok), client=client))


def failed_logins(username: str, minutes: int, home=None, client: str | None = None) -> int:
    """Failed sign-ins of `username` in the last `minutes`, since its last successful one: from
    every client (None), or from `client` alone, since that client's last success."""
    since = (dt.datetime.now() - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")
    mine = [LOGINS.c.username == username] + ([] if client is None else [LOGINS.c.client == client])
    with connect(home) as con:
        last_ok = con.scalar(sa.select(sa.func.max(LOGINS.c.at)).where(*mine, LOGINS.c.ok == 1))
        after = LOGINS.c.at > last_ok if last_ok and last_ok >= since else LOGINS.c.at >= since
        return con.scalar(sa.select(sa.func.count()).select_from(LOGINS).where(*mine, LOGINS.c.ok == 0, after))


def known_client(username: str, client: str, home=None) -> bool:
    """Whether `username` has ever signed in successfully from `client`."""
    with connect(home) as con:
        return con.scalar(sa.select(LOGINS.c.at).where(
            LOGINS.c.username == username, LOGINS.c.client == client, LOGINS.c.ok == 1).limit(1)) is not None


# --- alerts (raised by the warn stage, worked by analysts) ----------------------------------

# The desk's order of a month's alerts: priority, ties by PD, then by subject id (`warn.rank`
# gives severities in this order; the desk lists them in it).
ALERT_ORDER = (["score", "pd", "subject_id"], [False, False, True])
ALERT_COLUMNS = ["subject_id", "subject_type", "as_of", "severity", "score", "signals", "reasons", "reasons_zh",
                 "pd", "grade", "prev_grade", "county", "industry", "evidence"]


def store_alerts(frame: pd.DataFrame, home=None) -> int:
    """Upsert alerts by (month, subject): their status and notes survive a re-run."""
    cols = list(ALERT_COLUMNS)
    rows = [dict(zip(cols, (None if pd.isna(v) else (float(v) if isinstance(v, np.floating) else v) for v in row)),
                 created_at=now()) for row in frame[cols].itertuples(index=False)]
    with connect(home) as con:
        if rows:
            stmt = state.insert(con, ALERTS)
            keep = [c for c in cols if c not in ("as_of", "subject_id")]
            con.execute(stmt.on_conflict_do_update(index_elements=["as_of", "subject_id"],
                                                   set_={c: stmt.excluded[c] for c in keep}), rows)
        return con.scalar(sa.select(sa.func.count()).select_from(ALERTS))


def set_alert_status(as_of: str, subject_id: str, status: str, note: str | None = None, *, user: str = "analyst", home=None) -> None:
    """Acknowledge or close an alert, with an analyst's note (kept as history)."""
    if status not in ALERT_STATUSES:
        raise workspace.UserError(f"status must be one of {', '.join(ALERT_STATUSES)}")
    with connect(home) as con:
        hit = con.execute(ALERTS.update().where(ALERTS.c.as_of == as_of, ALERTS.c.subject_id == subject_id)
                          .values(status=status)).rowcount
        if not hit:
            raise workspace.UserError(f"no alert for {subject_id} in {as_of}")
        con.execute(ALERT_NOTES.insert().values(as_of=as_of, subject_id=subject_id, at=now(), user=user, status=status,
                                                note=note))


def stored_alerts(home=None, as_of: str | None = None) -> pd.DataFrame:
    with connect(home) as con:
        order = [ALERTS.c[c].asc() if up else ALERTS.c[c].desc() for c, up in zip(*ALERT_ORDER)]
        q = sa.select(ALERTS).order_by(ALERTS.c.as_of.desc(), *order)
        return pd.read_sql_query(q.where(ALERTS.c.as_of == as_of) if as_of else q, con)
