"""Cases: objections, repairs and reviews, their clocks, history and decisions."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
import datetime as dt
from typing import Any

from pydantic import Field

from chengxin.api.shapes.common import (SUBJECT_ID_MAX, Answer, CaseKind, CaseStatus, ClockDays, Page, Request,
                                        SubjectType)
from chengxin.desks.cases.kinds import DECISIONS
from chengxin.record_rules import Period


class CaseFiling(Request):
    kind: CaseKind
    subject_id: str = Field(max_length=SUBJECT_ID_MAX)
    record: str | None = Field(None, max_length=300, description="SOURCE:NATURAL_KEY of the record (objection, repair); "
                                                                  "an objection without one is against the rating")
    reason: str | None = Field(None, max_length=2000)
    commitment: str | None = Field(None, max_length=2000, description="a repair's credit commitment (信用承诺)")
    filed_on: dt.date | None = Field(None, description="the day it was received (counter or post); default today")


class CaseDecision(Request):
    decision: str | None = Field(None, max_length=40, description="; ".join(f"{kind}: {', '.join(options)}"
                                                                            for kind, options in DECISIONS.items()))
    set: dict[str, str] = Field(default_factory=dict, description="a corrected or added record's values; an override's grade")
    note: str = Field(min_length=1, max_length=4000, description="the reasons, kept with the case")
    extend: bool = Field(False, description="take the case's one extension (the note says why) instead of deciding")


class Eligibility(Answer):
    """Whether a repair may be granted, and from when."""
    severity: str | None = Field(description="the record's severity class")
    publicity_months: Period | None = Field(description="its publicity period (the least before repair, the most)")
    since: str | None = Field(description="the record's date")
    minimum_period_ends: str | None
    publicity_ends: str | None
    commitment: bool = Field(description="a credit commitment was given (or none is required)")
    eligible: bool
    eligible_from: str = Field(description="the first day it may be granted")
    not_yet: list[str] = Field(description="what stands in the way: already_repaired, minimum_period_not_passed, "
                                           "no_commitment")


class WrittenRecord(Answer):
    """The new version of a record a decision wrote."""
    source: str
    file_id: int
    provenance: str = Field(description="`case:N`")
    status: str | None = Field(description="the record's status written with it (e.g. deleted, unpublished)")
    received_date: str
    supersedes: int = Field(description="earlier versions it supersedes")
    values: dict[str, str | int | float | bool | None] = Field(description="the record's values as written (dates "
                                                                           "as YYYY-MM-DD)")


class CaseChanges(Answer):
    sets: dict[str, str] = Field(description="the values the decision set, as given (COLUMN: VALUE; an override's "
                                             "grade)")
    record: WrittenRecord | None = Field(description="the record version it wrote; none when it wrote none")


class CaseEvent(Answer):
    """One step of a case's history: filed, extended, decided, re-rated. Never changed."""
    seq: int
    case_no: int
    at: str = Field(description="when")
    user: str = Field(description="who (a key: `api:KEY_ID institution`)")
    role: str
    event: str = Field(description="filed, extended, decided or rerated")
    detail: dict[str, Any] | None = Field(description="what the step recorded")


class CaseSummary(Answer):
    """A case and its clock, as the role may see it (an individual's id masked where the role masks)."""
    case_no: int
    kind: CaseKind
    subject_id: str
    display_id: str | None = Field(None, description="the masked id, where the role masks an individual's")
    subject_type: SubjectType
    record: str | None = Field(description="SOURCE:NATURAL_KEY of the record; none: the rating (or a review)")
    source: str | None
    provider: str | None = Field(description="the department that provided the record (and decides the case)")
    reason: str | None
    commitment: str | None
    filed_on: str
    filed_at: str
    filed_by: str
    filed_role: str
    due_on: str = Field(description="the legal deadline")
    extended: bool = Field(description="whether the case's one extension was taken")
    eligible: bool | None = Field(description="a repair: whether it may be granted")
    eligible_from: str | None
    eligibility: Eligibility | None
    status: CaseStatus
    decision: str | None
    decided_on: str | None
    decided_at: str | None
    decided_by: str | None
    decided_role: str | None
    decided_for: str | None = Field(description="the department a decision was taken for")
    note: str | None
    changes: CaseChanges | None
    days_left: int | None = Field(description="days left on an open case's clock (negative: overdue)")
    overdue: bool
    due_soon: bool = Field(description="due within one day")
    days: ClockDays | None = Field(None, description="the days an open case's clock counts")


class CasePage(Page):
    cases: list[CaseSummary]


class Case(CaseSummary):
    events: list[CaseEvent] = Field(description="every step of its history, oldest first")


class RatingValues(Answer):
    grade: str | None = None
    tier: str | None = None
    pd: float | None = None
    score: float | None = None
    grade_override: str | None = None


class Rerating(Answer):
    """The subject re-rated and published at once after a decision that changed its records."""
    subject_id: str
    subject_type: SubjectType
    as_of: str
    cause: str = Field(description="`case:N`")
    previous: RatingValues | None
    current: RatingValues | None
    snapshot: str = Field(description="the snapshot that publishes it")
    changes: int = Field(description="changes sent to watchlists")
    timings: dict[str, float] = Field(description="seconds per step")
    seconds: float


class DecidedCase(Case):
    rerated: Rerating | None = Field(None, description="the re-rating, when the decision changed a record or a grade")
