"""Sign-ins to the dashboard: each one with the client it came from, what the lockout counts
(`chengxin.users.sign_in`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from chengxin.state import LOGINS, connect, now


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
