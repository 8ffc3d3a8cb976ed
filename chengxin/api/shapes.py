"""What the API's requests and answers look like: the pydantic models the routes declare, which
the OpenAPI document, schemathesis and the generated clients read."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from chengxin import config, identifiers, state
from chengxin.api.access import BATCH_LIMIT

SUBJECT_ID_MAX = identifiers.ID_MAX_LENGTH
# case numbers are stored in 64-bit columns: a larger one is no case
CaseNumber = Annotated[int, Path(ge=1, le=state.BIGINT_MAX, description="the case's number")]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


PAGE_LIMIT = 1000  # the most entries one page of a list carries


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


class Reason(BaseModel):
    code: str | None = Field(None, description="the indicator of the published criteria; `tier_rule:<rule>`: a direct "
                                               "rule of the criteria forced the tier; `in_default`: a record put the "
                                               "subject in default, which forces tier D and grade D")
    text_zh: str | None = None
    text_en: str | None = None
    points: float | None = Field(None, description="points the subject is short of the indicator's best bin")


class Words(BaseModel):
    zh: str
    en: str


class TierRule(BaseModel):
    """The direct rule of the published criteria that decided the public tier (一票否决)."""
    rule: str = Field(description="the rule's name in the criteria's `direct_tiers`")
    tier: str = Field(description="the tier it forces, whatever the points")
    text: Words = Field(description="what the rule is about")
    basis: Words = Field(description="its legal basis")
    list_rule: str | None = Field(None, description="the list rule whose entry in force triggers it (`/v1/lists`); "
                                                    "none for the rule of subjects in default")


class ListEntry(_Open):
    list: Literal["black", "red"]
    rule: str
    text_zh: str | None = None
    text_en: str | None = None
    start: str | None = None
    ends: str | None = None
    status: str | None = None


class Objection(BaseModel):
    case: int
    record: str = Field(description="SOURCE:NATURAL_KEY of the record, or `rating`")
    since: str
    text_zh: str = "异议处理中"
    text_en: str = "under objection"


class SubjectCard(_Open):
    subject_id: str
    found: bool
    status: int = Field(description="200, or the status this id alone would have had")
    problem: str | None = Field(None, description="why the id was not answered (a problem type's last part)")
    subject_type: config.SubjectType | None = None
    display_id: str | None = None
    name: str | None = None
    county: str | None = Field(None, description="the county's administrative division code")
    county_name: str | None = Field(None, description="the county's name")
    industry: str | None = Field(None, description="the industry's GB/T 4754 section letter")
    industry_name: str | None = Field(None, description="the industry section's name")
    rated: bool | None = None
    as_of: str | None = None
    tier: str | None = None
    tier_rule: TierRule | None = Field(None, description="the direct rule that decided the tier, when one did")
    grade: str | None = None
    pd: float | None = None
    score: float | None = None
    reasons: list[Reason] | None = None
    lists: list[ListEntry] | None = None
    model_version: str | None = None
    criteria_version: str | None = None
    under_objection: list[Objection] | None = Field(None, description="records of the subject under objection "
                                                                       "(异议处理中), flagged the day the objection is filed")
    restated: dict | None = Field(None, description="re-rated after a case decision: its `cause` (case:N) and when")
    grade_override: dict | None = Field(None, description="a grade a person set on review, beside the model's grade")
    notes: list[str] | None = None


class LookupQuery(BaseModel):
    """The query of a look-up: who asks for an individual and on what authority, and the date
    to replay."""
    purpose: str | None = Field(None, max_length=500, description="needed for an individual: why it is looked up")
    authorization_ref: str | None = Field(None, max_length=200, description="needed for an individual: "
                                                                             "the subject's consent reference")
    as_of: dt.date | None = Field(None, description="answer with what was published on or before this date")




class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1, description=f"at most {BATCH_LIMIT:,} subject ids")
    purpose: str | None = Field(None, max_length=500)
    authorization_ref: str | None = Field(None, max_length=200)


class WatchlistEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, description=f"at most {BATCH_LIMIT:,} ids per call, with remove")
    remove: list[str] = Field(default_factory=list)
    purpose: str | None = Field(None, max_length=500, description="needed to watch an individual")
    authorization_ref: str | None = Field(None, max_length=200, description="needed to watch an individual")


class Change(BaseModel):
    seq: int
    subject_id: str
    subject_type: str | None = None
    kind: str = Field(description=" | ".join(state.CHANGE_KINDS))
    previous: Any = None
    current: Any = None
    reason: str | None = None
    reason_zh: str | None = None
    as_of: str | None = None
    changed_at: str
    snapshot: str


class ChangeFeed(BaseModel):
    changes: list[Change]
    next_cursor: str = Field(description="pass it as `cursor` in the next poll")
    more: bool = Field(description="more changes wait after next_cursor")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(max_length=SUBJECT_ID_MAX)
    action: str = Field(max_length=40, description="one of the actions of chengxin/conf/measures.yaml")
    purpose: str = Field(min_length=1, max_length=500)
    case_ref: str = Field(min_length=1, max_length=200, description="the decision's case or file number")


class CaseFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["objection", "repair", "review"]
    subject_id: str = Field(max_length=SUBJECT_ID_MAX)
    record: str | None = Field(None, max_length=300, description="SOURCE:NATURAL_KEY of the record (objection, repair)")
    reason: str | None = Field(None, max_length=2000)
    commitment: str | None = Field(None, max_length=2000, description="a repair's credit commitment (信用承诺)")
    filed_on: dt.date | None = Field(None, description="the day it was received (counter or post); default today")


class CaseDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str | None = Field(None, max_length=40, description="objection: correct, delete, add, stop_publishing, "
                                 "remove_from_list, reject; repair: approve, reject; review: confirm, override")
    set: dict[str, str] = Field(default_factory=dict, description="a corrected or added record's values; an override's grade")
    note: str = Field(min_length=1, max_length=4000, description="the reasons, kept with the case")
    extend: bool = Field(False, description="take the case's one extension (the note says why) instead of deciding")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applied: list[str] = Field(default_factory=list, description="codes of the measures applied")
    outcome: str = Field(min_length=1, max_length=200, description="e.g. refused, approved with conditions")
    note: str | None = Field(None, max_length=2000)


class BatchAnswer(BaseModel):
    snapshot: str
    results: list[SubjectCard]


class Health(BaseModel):
    status: str
    snapshot: str
    created: str | None = None
    as_of: dict[str, str | None]


