"""The institutions that call the credit services API: their keys, quotas and the log of their
calls, in the shared state (`chengxin.state`) so that every worker sees the same.

A key reads `cx_<key_id>_<secret>`: the id finds the stored row, and the SHA-256 of the whole
key is compared with the stored one in constant time. The key itself is shown once, when it is
issued, and stored nowhere. A quota counts units per key and minute (a batch counts its ids) in
one row that every worker increments in the database, so two workers share one quota.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time

import pandas as pd
import sqlalchemy as sa

from chengxin import state, users, workspace
from chengxin.state import API_CALLS, API_KEYS, API_QUOTA, AUDIT

PREFIX = "cx"
DEFAULT_RATE = 600  # units per minute when `keys issue` names none


class UnknownKey(workspace.UserError):
    pass


class Key(dict):
    """A stored key: key_id, institution, role, rate_per_minute, created_at, revoked_at."""

    @property
    def role(self) -> users.Role:
        return users.role(self["role"])


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue(institution: str, role: str, rate: int | None = None, home=None) -> dict:
    """A new key for an institution: the key (shown this once), its id, institution and role."""
    institution = (institution or "").strip()
    if not institution:
        raise workspace.UserError("a key needs the institution it is issued to (--institution)")
    known = users.roles_config(home).roles
    if role not in known or role == users.PUBLIC:
        raise workspace.UserError(f"unknown role {role!r}: a key's role is one of "
                                  f"{', '.join(r for r in known if r != users.PUBLIC)} (chengxin/conf/roles.yaml)")
    if not known[role].api:
        raise workspace.UserError(f"the role {role!r} may call nothing in the API (its `api:` in roles.yaml is empty)")
    rate = DEFAULT_RATE if rate is None else int(rate)
    if rate < 1:
        raise workspace.UserError("--rate is requests (ids, for a batch) per minute: at least 1")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    with state.connect(home) as con:
        con.execute(API_KEYS.insert().values(key_id=key_id, secret_sha256=_digest(key), institution=institution,
                                             role=role, rate_per_minute=rate, created_at=state.now()))
    return {"key": key, "key_id": key_id, "institution": institution, "role": role, "rate_per_minute": rate}


def listed(home=None) -> pd.DataFrame:
    """Every key issued (never the key itself): key_id, institution, role, rate, created, revoked."""
    cols = [c for c in API_KEYS.c if c.name != "secret_sha256"]
    with state.connect(home) as con:
        return pd.read_sql_query(sa.select(*cols).order_by(API_KEYS.c.created_at, API_KEYS.c.key_id), con)


def revoke(key_id: str, home=None) -> dict:
    """Revoke a key: from now on it is refused (401). Revoking twice keeps the first date."""
    with state.connect(home) as con:
        row = con.execute(sa.select(API_KEYS).where(API_KEYS.c.key_id == key_id)).mappings().first()
        if row is None:
            raise UnknownKey(f"no key with id {key_id!r}: `chengxin keys list` shows them")
        if row["revoked_at"] is None:
            con.execute(API_KEYS.update().where(API_KEYS.c.key_id == key_id).values(revoked_at=state.now()))
    _KNOWN.clear()
    return {"key_id": key_id, "institution": row["institution"], "revoked": True}


_KNOWN: dict[str, tuple[float, Key | None]] = {}  # key digest -> (when read, the key or None)
KEY_CACHE_SECONDS = 2.0  # a revoked key is refused by every worker within this time


def authenticate(key: str, home=None) -> Key | None:
    """The stored key a presented key matches, or None (unknown, malformed or revoked). A worker
    keeps what it read for `KEY_CACHE_SECONDS`, so a revocation reaches it within that time."""
    digest = _digest(key)
    hit = _KNOWN.get(digest)
    if hit and time.monotonic() - hit[0] < KEY_CACHE_SECONDS:
        return hit[1]
    found = None
    parts = key.split("_", 2)
    if len(parts) == 3 and parts[0] == PREFIX:
        with state.connect(home) as con:
            row = con.execute(sa.select(API_KEYS).where(API_KEYS.c.key_id == parts[1])).mappings().first()
        if row is not None and hmac.compare_digest(row["secret_sha256"], digest) and row["revoked_at"] is None:
            found = Key({k: v for k, v in row.items() if k != "secret_sha256"})
    if len(_KNOWN) > 10_000:
        _KNOWN.clear()
    _KNOWN[digest] = (time.monotonic(), found)
    return found


def address_quota(address: str, rate: int) -> Key:
    """The quota of callers without a key, per client address: counted as a key's is, in the
    shared state, so the workers share it (the address is stored as a digest)."""
    return Key({"key_id": "ip_" + _digest(address)[:24], "institution": None, "role": users.PUBLIC,
                "rate_per_minute": rate})


LEASE_FROM_RATE = 1000  # keys of at least this many units a minute are counted in leases
LEASE_SHARE = 100  # a lease is 1/100 of the minute's quota
_LEASES: dict[str, tuple[int, int]] = {}  # key_id -> (minute, units this worker may still use)
_LEFT: dict[str, tuple[int, int]] = {}  # key_id -> (minute, most units the quota had left at a refusal)
_LEASE_LOCK = threading.Lock()


def take_held(key: Key, units: int, *, now: float | None = None) -> int | None:
    """`take` from what this worker holds, without the database: 0 when the units fit in its
    lease, the seconds to wait when the quota was found spent earlier in this minute, else None
    (ask the database: `take`)."""
    now = time.time() if now is None else now
    minute, kid = int(now // 60), key["key_id"]
    with _LEASE_LOCK:
        held_minute, held = _LEASES.get(kid, (minute, 0))
        held = held if held_minute == minute else 0
        if held >= units:
            _LEASES[kid] = (minute, held - units)
            return 0
        left_minute, left = _LEFT.get(kid, (None, 0))
        if left_minute == minute and units > left:  # refused before in this minute: it only fills up
            return max(1, 60 - int(now % 60))
    return None


def take(key: Key, units: int, home=None, *, now: float | None = None) -> int:
    """Count `units` against the key's quota of this minute. Returns 0 when they fit, else the
    seconds until the next minute (the caller answers 429 with Retry-After); units refused are
    not counted.

    The count lives in the database, so every worker shares it and a quota is never served
    twice over. A key of `LEASE_FROM_RATE` or more a minute is drawn in leases of 1/`LEASE_SHARE`
    of its quota, so a worker writes once per lease instead of once per request; what a worker
    leased and did not use by the end of the minute is not served (at most 1% per worker)."""
    now = time.time() if now is None else now
    held = take_held(key, units, now=now)
    if held is not None:
        return held
    minute, rate, kid = int(now // 60), int(key["rate_per_minute"]), key["key_id"]
    lease = rate // LEASE_SHARE if rate >= LEASE_FROM_RATE else 0
    want = units + lease
    with state.connect(home) as con:
        stmt = state.insert(con, API_QUOTA).values(key_id=kid, minute=minute, used=want)
        used = con.execute(stmt.on_conflict_do_update(index_elements=["key_id", "minute"],
                                                      set_={"used": API_QUOTA.c.used + want})
                           .returning(API_QUOTA.c.used)).scalar_one()
        granted = min(want, max(0, rate - (used - want)))  # what fits under the quota
        if granted < want:  # give back what does not fit
            con.execute(API_QUOTA.update().where(API_QUOTA.c.key_id == kid, API_QUOTA.c.minute == minute)
                        .values(used=API_QUOTA.c.used - (want - granted)))
        if used == want:  # the minute's first draw: forget minutes long past
            con.execute(API_QUOTA.delete().where(API_QUOTA.c.key_id == kid, API_QUOTA.c.minute < minute - 60))
    if granted < units:
        with state.connect(home) as con:  # not even the units fit: give those back too
            con.execute(API_QUOTA.update().where(API_QUOTA.c.key_id == kid, API_QUOTA.c.minute == minute)
                        .values(used=API_QUOTA.c.used - granted))
        with _LEASE_LOCK:
            _LEFT[kid] = (minute, granted)
        return max(1, 60 - int(now % 60))
    with _LEASE_LOCK:
        held_minute, held = _LEASES.get(kid, (minute, 0))
        _LEASES[kid] = (minute, (held if held_minute == minute else 0) + granted - units)
    return 0


class CallLog:
    """Every API call, written to `api_calls` at most a second after it ends (a background
    thread flushes the buffer each second and when the server stops). Look-ups of individuals
    do not wait for it: the read model writes them to the audit log before answering."""

    def __init__(self, home=None, interval: float = 1.0):
        self.home, self.interval = home, interval
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chengxin-call-log", daemon=True)
            self._thread.start()

    def add(self, *, key: Key | None, role: str, method: str, endpoint: str, subjects: list[str] | None,
            purpose: str | None, authorization_ref: str | None, status: int, ms: float,
            looked_up: list[str] | None = None) -> None:
        """Keep a call for the next flush; its row is written out there, off the request's path.
        `looked_up`: enterprises the call answered to an institution's key, written to the audit
        log with the flush (what the firm's report shows as "who looked me up"; individuals are
        audited before the answer, by the read model)."""
        call = (dt.datetime.now(), key, role, method, endpoint, subjects, purpose, authorization_ref, status, ms,
                looked_up)
        with self._lock:
            self._rows.append(call)

    @staticmethod
    def _looked_up(call: tuple) -> list[dict]:
        at, key, role, _, endpoint, _, purpose, _, status, _, looked_up = call
        if not looked_up or key is None or status >= 400:
            return []
        detail = json.dumps({"endpoint": endpoint, "institution": key["institution"]}, ensure_ascii=False)
        return [{"at": at.isoformat(timespec="seconds"), "user": f"api:{key['key_id']}", "role": role,
                 "action": "api_lookup", "subject_id": sid, "purpose": purpose, "detail": detail} for sid in looked_up]

    @staticmethod
    def _row(call: tuple) -> dict:
        at, key, role, method, endpoint, subjects, purpose, authorization_ref, status, ms, _ = call
        return {"at": at.isoformat(timespec="milliseconds"), "key_id": key and key["key_id"],
                "institution": key and key["institution"], "role": role, "method": method, "endpoint": endpoint,
                "subjects": json.dumps(subjects, ensure_ascii=False) if subjects else None,
                "n_subjects": len(subjects) if subjects else 0, "purpose": purpose,
                "authorization_ref": authorization_ref, "status": status, "ms": round(ms, 2)}

    def flush(self) -> int:
        with self._lock:
            calls, self._rows = self._rows, []
        if calls:
            rows = [self._row(c) for c in calls]
            looked_up = [row for c in calls for row in self._looked_up(c)]
            try:
                with state.connect(self.home) as con:
                    con.execute(API_CALLS.insert(), rows)
                    if looked_up:
                        con.execute(AUDIT.insert(), looked_up)
            except Exception:  # the database is away: keep the calls for the next flush
                with self._lock:
                    self._rows = calls + self._rows
                raise
        return len(calls)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:
                pass  # retried on the next tick

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def calls(home=None) -> pd.DataFrame:
    """The API's call log, newest first."""
    with state.connect(home) as con:
        return pd.read_sql_query(sa.select(API_CALLS).order_by(API_CALLS.c.at.desc()), con)
