"""Credit checks inside departments' decisions (联合奖惩) and the feedback on them."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin import config
from chengxin.api.shapes.common import SUBJECT_ID_MAX, Answer, Effect, Finding, ListName, Request, SubjectType, Verdict


class CheckRequest(Request):
    subject_id: str = Field(max_length=SUBJECT_ID_MAX, description="the subject the decision is about")
    action: str = Field(max_length=40, description="one of the actions of chengxin/conf/measures.yaml")
    purpose: str = Field(min_length=1, max_length=500, description="what the decision is")
    case_ref: str = Field(min_length=1, max_length=200, description="the decision's case or file number")


class Feedback(Request):
    applied: list[str] = Field(default_factory=list, description="codes of the measures applied")
    outcome: str = Field(min_length=1, max_length=200, description="e.g. refused, approved with conditions")
    note: str | None = Field(None, max_length=2000)


class CheckEntry(Answer):
    """An active list entry the check found."""
    list: ListName
    rule: str
    text_zh: str | None = None
    text_en: str | None = None
    start: str | None = Field(None, description="listed since (YYYY-MM-DD)")
    ends: str | None = Field(None, description="listed until (YYYY-MM-DD); none: until removed")
    reference: str | None = Field(None, description="the document that listed the subject")


class Measure(Answer):
    """A joint measure an entry triggers for the action, with its legal basis and why it applies."""
    code: str = Field(description="the measure's code (feedback's `applied`)")
    effect: Effect
    text_zh: str
    text_en: str
    basis_zh: str
    basis_en: str
    rule: str = Field(description="the list rule of the entry that triggers it")
    why: config.Words = Field(description="the entry and the decision it applies to, in words")


class Check(Answer):
    """A credit check's answer, stored with its `check_id` before it is answered."""
    check_id: str = Field(description="the check's id (for feedback)")
    subject_id: str = Field(description="the id as the role may see it")
    subject_type: SubjectType
    name: str | None = Field(None, description="the subject's name as the role may see it")
    action: str
    verdict: Verdict
    finding: Finding
    finding_zh: str
    finding_en: str
    entries: list[CheckEntry] = Field(description="the subject's active list entries")
    measures: list[Measure] = Field(description="the measures the entries trigger for this action")
    incentives: list[Measure] = Field(description="the red list's incentives for this action")
    tier: str | None = Field(None, description="the subject's public tier")
    as_of: str | None = Field(None, description="the rating's as-of date")
    snapshot: str = Field(description="the published snapshot the check read")
    status: Literal[200] = 200


class FeedbackTaken(Answer):
    check_id: str
    applied: list[str] = Field(description="the measures applied, by code")
    outcome: str
