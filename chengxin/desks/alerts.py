"""The early-warning desk's writes: the warn stage's alerts stored (their status and notes survive
a re-run), and an analyst acknowledging or closing one. The desk's reads are the read model's
(`chengxin.readmodel.alerts`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from chengxin import state, workspace
from chengxin.readmodel.lookup import NotAllowed
from chengxin.state import ALERT_COLUMNS, ALERT_NOTES, ALERT_STATUSES, ALERTS, connect, now
from chengxin.users import Role


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


def set_alert_status(as_of: str, subject_id: str, status: str, note: str | None = None, r: Role | None = None, *,
                     user: str = "analyst", home=None) -> None:
    """Acknowledge or close an alert, with an analyst's note (kept as history). `r`: the role
    acting, which must work the warning desk (`act_on_alerts`); none for the command line."""
    if r is not None and not r.act_on_alerts:
        raise NotAllowed("this role may not acknowledge or close alerts")
    if status not in ALERT_STATUSES:
        raise workspace.UserError(f"status must be one of {', '.join(ALERT_STATUSES)}")
    with connect(home) as con:
        hit = con.execute(ALERTS.update().where(ALERTS.c.as_of == as_of, ALERTS.c.subject_id == subject_id)
                          .values(status=status)).rowcount
        if not hit:
            raise workspace.UserError(f"no alert for {subject_id} in {as_of}")
        con.execute(ALERT_NOTES.insert().values(as_of=as_of, subject_id=subject_id, at=now(), user=user, status=status,
                                                note=note))
