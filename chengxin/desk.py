"""The office's working store: alerts with their status and notes, and the audit log of look-ups.

A small SQLite file (``$CHENGXIN_HOME/desk.sqlite``), apart from the DuckDB warehouse: analysts
and the dashboard write here while pipelines write the warehouse, and SQLite lets many readers
and one writer share a file without blocking each other for long.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sqlite3
from contextlib import contextmanager

import numpy as np
import pandas as pd

from chengxin import catalog, workspace

# An alert is new until an analyst acknowledges it, then closed; `open` ones are the first two.
ALERT_STATUSES = ("new", "acknowledged", "closed")
OPEN_ALERT_STATUSES = ALERT_STATUSES[:2]

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    subject_id TEXT, purpose TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS alerts (
    as_of TEXT NOT NULL, subject_id TEXT NOT NULL, subject_type TEXT NOT NULL, severity TEXT NOT NULL,
    score REAL, signals TEXT NOT NULL, reasons TEXT, reasons_zh TEXT, evidence TEXT, county TEXT, industry TEXT,
    pd REAL, grade TEXT, prev_grade TEXT, created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ({statuses})),
    PRIMARY KEY (as_of, subject_id));
CREATE TABLE IF NOT EXISTS alert_notes (
    as_of TEXT NOT NULL, subject_id TEXT NOT NULL, at TEXT NOT NULL, user TEXT NOT NULL,
    status TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS logins (at TEXT NOT NULL, username TEXT NOT NULL, ok INTEGER NOT NULL);
""".replace("{statuses}", ", ".join(f"'{s}'" for s in ALERT_STATUSES))


@contextmanager
def connect(home=None):
    workspace.ensure(home)
    path = catalog.desk(home)
    con = sqlite3.connect(path, timeout=30)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(SCHEMA)
        yield con
        con.commit()
    finally:
        con.close()


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def audit(action: str, subject_id: str | None, purpose: str | None, *, user: str | None = None,
          role: str = "cli", detail: dict | None = None, home=None) -> None:
    """Record who looked at what, when and why."""
    with connect(home) as con:
        con.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now(), user or getpass.getuser(), role, action, subject_id, purpose,
                     json.dumps(detail, ensure_ascii=False) if detail else None))


def audit_log(home=None) -> pd.DataFrame:
    with connect(home) as con:
        return pd.read_sql_query("SELECT * FROM audit ORDER BY at DESC", con)


def record_login(username: str, ok: bool, home=None) -> None:
    with connect(home) as con:
        con.execute("INSERT INTO logins VALUES (?, ?, ?)", (now(), username, int(ok)))


def failed_logins(username: str, minutes: int, home=None) -> int:
    """Failed sign-ins of `username` in the last `minutes`, since its last successful one."""
    since = (dt.datetime.now() - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")
    with connect(home) as con:
        last_ok = con.execute("SELECT max(at) FROM logins WHERE username = ? AND ok = 1", (username,)).fetchone()[0]
        return con.execute("SELECT count(*) FROM logins WHERE username = ? AND ok = 0 AND at >= ?",
                           (username, max(since, last_ok or ""))).fetchone()[0]


# --- alerts (raised by the warn stage, worked by analysts) ----------------------------------

# The desk's order of a month's alerts: priority, ties by PD, then by subject id (`warn.rank`
# gives severities in this order; the desk lists them in it).
ALERT_ORDER = (["score", "pd", "subject_id"], [False, False, True])
ALERT_COLUMNS = ["subject_id", "subject_type", "as_of", "severity", "score", "signals", "reasons", "reasons_zh",
                 "pd", "grade", "prev_grade", "county", "industry", "evidence"]


def store_alerts(frame: pd.DataFrame, home=None) -> int:
    """Upsert alerts by (month, subject): their status and notes survive a re-run."""
    cols = list(ALERT_COLUMNS)
    with connect(home) as con:
        con.executemany(
            f"INSERT INTO alerts ({', '.join(cols)}, created_at) VALUES ({', '.join('?' * (len(cols) + 1))}) "
            "ON CONFLICT (as_of, subject_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("as_of", "subject_id")),
            [tuple(None if pd.isna(v) else (float(v) if isinstance(v, (np.floating,)) else v) for v in row) + (now(),)
             for row in frame[cols].itertuples(index=False)])
        return con.execute("SELECT count(*) FROM alerts").fetchone()[0]


def set_alert_status(as_of: str, subject_id: str, status: str, note: str | None = None, *, user: str = "analyst", home=None) -> None:
    """Acknowledge or close an alert, with an analyst's note (kept as history)."""
    if status not in ALERT_STATUSES:
        raise workspace.UserError(f"status must be one of {', '.join(ALERT_STATUSES)}")
    with connect(home) as con:
        hit = con.execute("UPDATE alerts SET status = ? WHERE as_of = ? AND subject_id = ?", (status, as_of, subject_id)).rowcount
        if not hit:
            raise workspace.UserError(f"no alert for {subject_id} in {as_of}")
        con.execute("INSERT INTO alert_notes VALUES (?, ?, ?, ?, ?, ?)", (as_of, subject_id, now(), user, status, note))


def stored_alerts(home=None, as_of: str | None = None) -> pd.DataFrame:
    with connect(home) as con:
        order = ", ".join(f"{c} {'ASC' if up else 'DESC'}" for c, up in zip(*ALERT_ORDER))
        q = "SELECT * FROM alerts" + (" WHERE as_of = ?" if as_of else "") + f" ORDER BY as_of DESC, {order}"
        return pd.read_sql_query(q, con, params=(as_of,) if as_of else None)
