"""What every resource's shapes share: the base of an answer, a page of a long list, and the
path parameters several routes take."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
import enum
from typing import Annotated, Any, get_args

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from chengxin import clocks, config, identifiers, lists, state, users
from chengxin.desks.cases.kinds import DECISIONS
from chengxin.measures import EFFECTS
from chengxin.readmodel.checks import FINDINGS, VERDICTS

SUBJECT_ID_MAX = identifiers.ID_MAX_LENGTH
# case numbers are stored in 64-bit columns: a larger one is no case
CaseNumber = Annotated[int, Path(ge=1, le=state.BIGINT_MAX, description="the case's number")]
PAGE_LIMIT = 1000  # the most entries one page of a list carries


def named(name: str, values, doc: str) -> type[enum.StrEnum]:
    """A set of values the platform declares elsewhere, as one named enum of the document (a
    generated client's one type for it, wherever it appears), its values as declared."""
    kind = enum.StrEnum(name, {str(v): str(v) for v in values})
    kind.__doc__ = doc
    return kind


SubjectType = named("SubjectType", get_args(config.SubjectType), "enterprise (统一社会信用代码) or individual "
                    "(居民身份证号码)")
ListName = named("ListName", get_args(lists.ListName), "black: the dishonesty (失信) list; red: the honours (守信激励) list")
EntryStatus = named("EntryStatus", lists.ENTRY_STATUSES, "a list entry on the day shown: active, or why it ended")
ChangeKind = named("ChangeKind", state.CHANGE_KINDS, "what changed about a watched subject")
Verdict = named("Verdict", ("clear", *VERDICTS.values()), "a credit check's verdict: barred when a measure bars, "
                "restricted when one restricts, else clear")
Finding = named("Finding", FINDINGS, "what a credit check found: a clear verdict is either no entry or entries that "
                "trigger no measure for the action")
Effect = named("Effect", EFFECTS, "what a joint measure does")
CaseKind = named("CaseKind", DECISIONS, "objection (异议), repair (信用修复) or review (an individual's human review)")
CaseStatus = named("CaseStatus", state.CASE_STATUSES, "open or decided")
ClockDays = named("ClockDays", get_args(clocks.ClockDays), "the days a case's clock counts")
ReportKind = named("ReportKind", users.REPORT_KINDS, "public (公共信用信息报告), certificate (in place of "
                   "no-violation certificates) or lender")
ReportFormat = named("ReportFormat", users.REPORT_FORMATS, "pdf (signed) or html")


class Answer(BaseModel):
    """An answer of the API: exactly the members its model declares (`additionalProperties:
    false`), so a generated client reads every member by name and a member the document does not
    declare is a failed test, never a silent extra."""
    model_config = ConfigDict(extra="forbid")


class Request(BaseModel):
    """A request body: a member the API does not know is refused (400), not ignored."""
    model_config = ConfigDict(extra="forbid")


class Paging(BaseModel):
    """Which page of a long list to answer: `limit` entries from `offset` (the answer says the
    `total` and the `next_offset`, none on the last page)."""
    limit: int = Field(100, ge=1, le=PAGE_LIMIT, description=f"entries per page (at most {PAGE_LIMIT})")
    offset: int = Field(0, ge=0, le=state.BIGINT_MAX, description="how many entries to skip")

    def page(self, items: list) -> dict[str, Any]:
        """`items` cut to this page, with `total`, `offset`, `limit` and `next_offset`."""
        shown = items[self.offset:self.offset + self.limit]
        following = self.offset + len(shown)
        return {"total": len(items), "offset": self.offset, "limit": self.limit,
                "next_offset": following if following < len(items) else None, "items": shown}


class PublicTierWords(Answer):
    """A public tier of the evaluation in words (rating.yaml `public_tiers`)."""
    tier: str = Field(description="the tier: A, B, C or D")
    zh: str = Field(description="its name in Chinese (优, 良, 中, 差)")
    en: str = Field(description="its name in English")
    measures: config.Words = Field(description="what the tier means for supervision (分级分类监管)")


class Page(Answer):
    """Where a page sits in its list (`Paging`)."""
    total: int = Field(description="entries in the whole list")
    offset: int = Field(description="entries skipped before this page")
    limit: int = Field(description="the most entries this page could carry")
    next_offset: int | None = Field(description="the `offset` of the next page; none on the last page")
