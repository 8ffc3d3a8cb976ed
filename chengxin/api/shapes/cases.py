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
    """An objection, a repair application or a review, filed at the office's counter."""
    kind: CaseKind = Field(description="what is filed")
    subject_id: str = Field(max_length=SUBJECT_ID_MAX, description="the subject it is about")
    record: str | None = Field(None, max_length=300, description="SOURCE:NATURAL_KEY of the record (objection, repair); "
                                                                  "an objection without one is against the rating")
    reason: str | None = Field(None, max_length=2000, description="why, as the subject says it")
    commitment: str | None = Field(None, max_length=2000, description="a repair's credit commitment (信用承诺)")
    filed_on: dt.date | None = Field(None, description="the day it was received (counter or post); default today")


class CaseDecision(Request):
    """A case's decision, or its one extension."""
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
    minimum_period_ends: str | None = Field(description="when the least publicity period ends")
    publicity_ends: str | None = Field(description="when the publicity period ends in any case")
    commitment: bool = Field(description="a credit commitment was given (or none is required)")
    eligible: bool = Field(description="whether it may be granted now")
    eligible_from: str = Field(description="the first day it may be granted")
    not_yet: list[str] = Field(description="what stands in the way: already_repaired, minimum_period_not_passed, "
                                           "no_commitment")


class WrittenRecord(Answer):
    """The new version of a record a decision wrote."""
    source: str = Field(description="the record's source")
    file_id: int = Field(description="the upload the version is stored as")
    provenance: str = Field(description="`case:N`")
    status: str | None = Field(description="the record's status written with it (e.g. deleted, unpublished)")
    received_date: str = Field(description="the day the version was written")
    supersedes: int = Field(description="earlier versions it supersedes")
    values: dict[str, str | int | float | bool | None] = Field(description="the record's values as written (dates "
                                                                           "as YYYY-MM-DD)")


class CaseChanges(Answer):
    """What a decision changed."""
    sets: dict[str, str] = Field(description="the values the decision set, as given (COLUMN: VALUE; an override's "
                                             "grade)")
    record: WrittenRecord | None = Field(description="the record version it wrote; none when it wrote none")


class CaseEvent(Answer):
    """One step of a case's history: filed, extended, decided, re-rated. Never changed."""
    seq: int = Field(description="the step's number among all cases' steps")
    case_no: int = Field(description="the case")
    at: str = Field(description="when")
    user: str = Field(description="who (a key: `api:KEY_ID institution`)")
    role: str = Field(description="in which role")
    event: str = Field(description="filed, extended, decided or rerated")
    detail: dict[str, Any] | None = Field(description="what the step recorded")


class CaseSummary(Answer):
    """A case and its clock, as the role may see it (an individual's id masked where the role masks)."""
    case_no: int = Field(description="the case's number")
    kind: CaseKind = Field(description="what was filed")
    subject_id: str = Field(description="the subject, as the role may see it")
    display_id: str | None = Field(None, description="the masked id, where the role masks an individual's")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    record: str | None = Field(description="SOURCE:NATURAL_KEY of the record; none: the rating (or a review)")
    source: str | None = Field(description="the record's source")
    provider: str | None = Field(description="the department that provided the record (and decides the case)")
    reason: str | None = Field(description="why, as the subject said it")
    commitment: str | None = Field(description="a repair's credit commitment")
    filed_on: str = Field(description="the day it was received (its clock starts)")
    filed_at: str = Field(description="when it was entered")
    filed_by: str = Field(description="who entered it")
    filed_role: str = Field(description="in which role")
    due_on: str = Field(description="the legal deadline")
    extended: bool = Field(description="whether the case's one extension was taken")
    eligible: bool | None = Field(description="a repair: whether it may be granted")
    eligible_from: str | None = Field(description="a repair: the first day it may be granted")
    eligibility: Eligibility | None = Field(description="a repair: why it may or may not be granted")
    status: CaseStatus = Field(description="where the case stands")
    decision: str | None = Field(description="the decision (objection: correct, delete, add, stop_publishing, "
                                             "remove_from_list, reject; repair: approve, reject; review: confirm, "
                                             "override)")
    decided_on: str | None = Field(description="the day it was decided")
    decided_at: str | None = Field(description="when")
    decided_by: str | None = Field(description="who decided")
    decided_role: str | None = Field(description="in which role")
    decided_for: str | None = Field(description="the department a decision was taken for")
    note: str | None = Field(description="the decision's reasons")
    changes: CaseChanges | None = Field(description="what the decision changed")
    days_left: int | None = Field(description="days left on an open case's clock (negative: overdue)")
    overdue: bool = Field(description="an open case past its deadline")
    due_soon: bool = Field(description="due within one day")
    days: ClockDays | None = Field(None, description="the days an open case's clock counts")


class CasePage(Page):
    """A page of the cases the key may see, oldest first."""
    cases: list[CaseSummary] = Field(description="this page's cases")


class Case(CaseSummary):
    """A case with every step of its history."""
    events: list[CaseEvent] = Field(description="every step of its history, oldest first")


class RatingValues(Answer):
    """A subject's rating, before or after a re-rating."""
    grade: str | None = Field(None, description="the lenders' grade")
    tier: str | None = Field(None, description="the public tier")
    pd: float | None = Field(None, description="the 12-month probability of default")
    score: float | None = Field(None, description="the scorecard's points")
    grade_override: str | None = Field(None, description="a grade set on review")


class Rerating(Answer):
    """The subject re-rated and published at once after a decision that changed its records."""
    subject_id: str = Field(description="the subject re-rated")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    as_of: str = Field(description="the rating date re-rated")
    cause: str = Field(description="`case:N`")
    previous: RatingValues | None = Field(description="the rating before")
    current: RatingValues | None = Field(description="the rating after")
    snapshot: str = Field(description="the snapshot that publishes it")
    changes: int = Field(description="changes sent to watchlists")
    timings: dict[str, float] = Field(description="seconds per step")
    seconds: float = Field(description="seconds in all")


class DecidedCase(Case):
    """A case as its decision left it, with the re-rating it caused."""
    rerated: Rerating | None = Field(None, description="the re-rating, when the decision changed a record or a grade")
