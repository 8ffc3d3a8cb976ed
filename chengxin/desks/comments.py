"""The public's comments on the criteria put to public comment (the criteria page). The office
reads them through the read model (`chengxin.readmodel.comments`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from chengxin import config, state, workspace
from chengxin.state import COMMENTS


class CommentsPaused(workspace.UserError):
    pass


def add_comment(subject: str, version: str | None, text: str, *, name: str = "", contact: str = "", home=None) -> None:
    """A comment of the public on the criteria under comment (`version`), at most
    `dashboard.comments_per_hour` from everyone together (settings.yaml)."""
    text = (text or "").strip()
    if not text:
        raise workspace.UserError("a comment needs some text")
    limit = config.settings(home).dashboard.comments_per_hour
    since = (dt.datetime.now() - dt.timedelta(hours=1)).isoformat(timespec="seconds")
    with state.connect(home) as con:
        if con.scalar(sa.select(sa.func.count()).select_from(COMMENTS).where(COMMENTS.c.at >= since)) >= limit:
            raise CommentsPaused("many comments arrived in the last hour: please try again later")
        con.execute(COMMENTS.insert().values(at=state.now(), subject=subject, criteria_version=version,
                                             name=(name or "").strip()[:200], contact=(contact or "").strip()[:200],
                                             text=text[:5000]))
