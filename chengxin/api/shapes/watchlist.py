"""An institution's watchlist, its edits and the feed of its subjects' changes."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from pydantic import Field

from chengxin.api.access import BATCH_LIMIT
from chengxin.api.shapes.common import Answer, ChangeKind, Request, SubjectType


class WatchlistEdit(Request):
    """Subjects to watch and to stop watching."""
    add: list[str] = Field(default_factory=list, description=f"at most {BATCH_LIMIT:,} ids per call, with remove")
    remove: list[str] = Field(default_factory=list, description="ids to stop watching")
    purpose: str | None = Field(None, max_length=500, description="needed to watch an individual")
    authorization_ref: str | None = Field(None, max_length=200, description="needed to watch an individual")


class Rejected(Answer):
    """An id not added (or not removed), and why."""
    subject_id: str = Field(description="the id as sent (cut to the longest id)")
    status: int = Field(description="the status a look-up of it alone would have had")
    problem: str | None = Field(description="the problem type's last part")


class WatchlistEdited(Answer):
    """What an edit of the watchlist did."""
    added: list[str] = Field(description="ids added (cleaned)")
    removed: list[str] = Field(description="ids removed (cleaned)")
    rejected: list[Rejected] = Field(description="the ids not added or removed, and why")
    watching: int = Field(description="subjects the watchlist holds now")


class Watched(Answer):
    """A watched subject."""
    subject_id: str = Field(description="the id as the role may see it")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    added_at: str = Field(description="when it was added")
    purpose: str | None = Field(description="why it is watched (an individual's look-ups are audited under it)")


class Watchlist(Answer):
    """The subjects the institution watches in the key's role, as the role may see them."""
    subjects: list[str] = Field(description="the ids, as the role may see them")
    items: list[Watched] = Field(description="each watched subject, with when and why it was added")


ChangeValue = str | dict[str, str | int | None] | None


class Change(Answer):
    """One change of a watched subject."""
    seq: int = Field(description="the change's number: a cursor")
    subject_id: str = Field(description="the id as the role may see it")
    subject_type: SubjectType | None = Field(None, description="what kind of subject it is")
    kind: ChangeKind = Field(description="what changed")
    previous: ChangeValue = Field(None, description="tier, grade: the old value; list_entry_ended: the entry")
    current: ChangeValue = Field(None, description="tier, grade: the new value; list_entry_added: the entry; "
                                                   "list_entry_ended: why it ended; alert: its severity and date; "
                                                   "under_objection, objection_decided: the case, the record (and "
                                                   "the decision)")
    reason: str | None = Field(None, description="the change in English")
    reason_zh: str | None = Field(None, description="the change in Chinese")
    as_of: str | None = Field(None, description="the rating date it belongs to")
    changed_at: str = Field(description="when the platform recorded it")
    snapshot: str = Field(description="the snapshot that brought it, or `case:N`")


class ChangeFeed(Answer):
    """The changes of the watched subjects since a cursor, oldest first."""
    changes: list[Change] = Field(description="the changes, oldest first")
    next_cursor: str = Field(description="pass it as `cursor` in the next poll")
    more: bool = Field(description="more changes wait after next_cursor")
