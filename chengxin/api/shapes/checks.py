"""Credit checks inside departments' decisions (联合奖惩) and the feedback on them."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin import config
from chengxin.api.shapes.common import SUBJECT_ID_MAX, Answer, Effect, Finding, Request, SubjectType, Verdict
from chengxin.api.shapes.subjects import Entry


class CheckRequest(Request):
    """A credit check inside a department's decision."""
    subject_id: str = Field(max_length=SUBJECT_ID_MAX, description="the subject the decision is about")
    action: str = Field(max_length=40, description="one of the actions of chengxin/conf/measures.yaml")
    purpose: str = Field(min_length=1, max_length=500, description="what the decision is")
    case_ref: str = Field(min_length=1, max_length=200, description="the decision's case or file number")


class Feedback(Request):
    """What the department did after a check."""
    applied: list[str] = Field(default_factory=list, description="codes of the measures applied")
    outcome: str = Field(min_length=1, max_length=200, description="e.g. refused, approved with conditions")
    note: str | None = Field(None, max_length=2000, description="anything the department adds")


class CheckEntry(Entry):
    """An active list entry the check found."""


class Measure(Answer):
    """A joint measure an entry triggers for the action, with its legal basis and why it applies."""
    code: str = Field(description="the measure's code (feedback's `applied`)")
    effect: Effect = Field(description="what it does: bar, restrict, or reward")
    text_zh: str = Field(description="the measure in Chinese")
    text_en: str = Field(description="the measure in English")
    basis_zh: str = Field(description="its legal basis in Chinese")
    basis_en: str = Field(description="its legal basis in English")
    rule: str = Field(description="the list rule of the entry that triggers it")
    why: config.Words = Field(description="the entry and the decision it applies to, in words")


class Check(Answer):
    """A credit check's answer, stored with its `check_id` before it is answered."""
    check_id: str = Field(description="the check's id (for feedback)")
    subject_id: str = Field(description="the id as the role may see it")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    name: str | None = Field(None, description="the subject's name as the role may see it")
    action: str = Field(description="the decision's action (measures.yaml `actions`)")
    verdict: Verdict = Field(description="what the department may do")
    finding: Finding = Field(description="what the check found")
    finding_zh: str = Field(description="the finding in Chinese")
    finding_en: str = Field(description="the finding in English")
    entries: list[CheckEntry] = Field(description="the subject's active list entries")
    measures: list[Measure] = Field(description="the measures the entries trigger for this action")
    incentives: list[Measure] = Field(description="the red list's incentives for this action")
    tier: str | None = Field(None, description="the subject's public tier")
    as_of: str | None = Field(None, description="the rating's as-of date")
    snapshot: str = Field(description="the published snapshot the check read")
    status: Literal[200] = Field(200, description="200: the subject was checked")


class FeedbackTaken(Answer):
    """The feedback kept with the check (a later one replaces it)."""
    check_id: str = Field(description="the check it is about")
    applied: list[str] = Field(description="the measures applied, by code")
    outcome: str = Field(description="the outcome of the decision")
