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

import pandas as pd

from chengxin import catalog, workspace

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    subject_id TEXT, purpose TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS alerts (
    as_of TEXT NOT NULL, subject_id TEXT NOT NULL, subject_type TEXT NOT NULL, severity TEXT NOT NULL,
    score REAL, signals TEXT NOT NULL, reasons TEXT, reasons_zh TEXT, evidence TEXT, county TEXT, industry TEXT,
    pd REAL, grade TEXT, prev_grade TEXT, created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'closed')),
    PRIMARY KEY (as_of, subject_id));
CREATE TABLE IF NOT EXISTS alert_notes (
    as_of TEXT NOT NULL, subject_id TEXT NOT NULL, at TEXT NOT NULL, user TEXT NOT NULL,
    status TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS logins (at TEXT NOT NULL, username TEXT NOT NULL, ok INTEGER NOT NULL);
"""


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
