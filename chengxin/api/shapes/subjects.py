"""A subject's look-up (its card), a batch of them, and its explanation with the repair path."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
import datetime as dt
from pydantic import BaseModel, ConfigDict, Field

from chengxin import config
from chengxin.api.access import BATCH_LIMIT
from chengxin.api.shapes.common import Answer, EntryStatus, ListName, PublicTierWords, Request, SubjectType



class LookupQuery(BaseModel):
    """The query of a look-up: who asks for an individual and on what authority, and the date
    to replay."""
    purpose: str | None = Field(None, max_length=500, description="needed for an individual: why it is looked up")
    authorization_ref: str | None = Field(None, max_length=200, description="needed for an individual: "
                                                                             "the subject's consent reference")
    as_of: dt.date | None = Field(None, description="answer with what was published on or before this date")


class Batch(Request):
    """Many subjects in one call, under one purpose."""
    ids: list[str] = Field(min_length=1, description=f"at most {BATCH_LIMIT:,} subject ids")
    purpose: str | None = Field(None, max_length=500, description="needed for individuals: why they are looked up")
    authorization_ref: str | None = Field(None, max_length=200, description="needed for individuals: the subjects' "
                                                                             "consent reference")


class TierWords(PublicTierWords):
    """A public tier in words, with its floor on the scorecard's scale."""
    scorecard_min_points: float = Field(description="the tier's floor on the scorecard's scale")


class Reason(Answer):
    """Why the subject is short of the best rating: one indicator (or a rule) in words."""
    code: str | None = Field(None, description="the indicator of the published criteria; `tier_rule:<rule>`: a direct "
                                               "rule of the criteria forced the tier; `in_default`: a record put the "
                                               "subject in default, which forces tier D and grade D")
    text_zh: str | None = Field(None, description="the reason in Chinese")
    text_en: str | None = Field(None, description="the reason in English")
    points: float | None = Field(None, description="points the subject is short of the indicator's best bin")


class TierRule(Answer):
    """The direct rule of the published criteria that decided the public tier (一票否决)."""
    rule: str = Field(description="the rule's name in the criteria's `direct_tiers`")
    tier: str = Field(description="the tier it forces, whatever the points")
    text: config.Words = Field(description="what the rule is about")
    basis: config.Words = Field(description="its legal basis")
    list_rule: str | None = Field(None, description="the list rule whose entry in force triggers it (`/v1/lists`); "
                                                    "none for the rule of subjects in default")


class RepairNotice(Answer):
    """When and where a listed subject may apply for credit repair (信用修复告知, sent with the
    decision: 两书同达)."""
    text_zh: str = Field(description="the notice in Chinese")
    text_en: str = Field(description="the notice in English")


class Entry(Answer):
    """An entry of the red or black list (红黑名单): the rule it is on, since when and until when,
    and the document that listed the subject."""
    list: ListName = Field(description="the list")
    rule: str = Field(description="the list rule (`chengxin/conf/lists.yaml`)")
    text_zh: str | None = Field(None, description="the rule in Chinese")
    text_en: str | None = Field(None, description="the rule in English")
    start: str | None = Field(None, description="listed since (YYYY-MM-DD)")
    ends: str | None = Field(None, description="listed until (YYYY-MM-DD); none: until removed")
    reference: str | None = Field(None, description="the document that listed the subject (decision or judgment number)")


class ListEntry(Entry):
    """A list entry with its status on the day shown and the joint measures it triggers."""
    status: EntryStatus | None = Field(None, description="on the day shown: `active`, or why it ended: `expired`, `repaired`, `lifted`")
    measures: str | None = Field(None, description="codes of the joint measures the entry triggers, comma-separated "
                                                   "(`chengxin/conf/measures.yaml`)")
    measures_zh: str | None = Field(None, description="the measures in Chinese")
    measures_en: str | None = Field(None, description="the measures in English")
    repair_from: str | None = Field(None, description="from when credit repair may be applied for (YYYY-MM-DD)")
    repair_notice: RepairNotice | None = Field(None, description="an active entry's repair notice")


class Objection(Answer):
    """A record of the subject under objection (异议处理中), flagged the day it is filed."""
    case: int = Field(description="the case's number (`/v1/cases/{case_no}`)")
    record: str = Field(description="SOURCE:NATURAL_KEY of the record, or `rating`")
    since: str = Field(description="filed on (YYYY-MM-DD)")
    text_zh: str = Field("异议处理中", description="the flag in Chinese")
    text_en: str = Field("under objection", description="the flag in English")


class Restated(Answer):
    """Re-rated after a case decision, not by the monthly run."""
    cause: str = Field(description="`case:N`: the case whose decision re-rated the subject")
    rated_at: str | None = Field(None, description="when it was re-rated")


class GradeOverride(Answer):
    """A grade a person set on review (PIPL Art 24), shown beside the model's grade."""
    grade: str = Field(description="the grade set on review")
    reason: str | None = Field(None, description="why, as the reviewer wrote it")
    case: int | None = Field(None, description="the review case's number")
    model_grade: str | None = Field(None, description="the model's own grade")


class SubjectCard(Answer):
    """One subject as the caller's role may see it. A member the role may not see, or that has
    no value, is left out."""
    subject_id: str = Field(description="the id as asked, cleaned: a unified social credit code (enterprise) or a "
                                        "resident ID number (individual)")
    found: bool = Field(description="whether the id was answered")
    status: int = Field(description="200, or the status this id alone would have had")
    problem: str | None = Field(None, description="why the id was not answered (a problem type's last part)")
    subject_type: SubjectType | None = Field(None, description="what kind of subject the registry says it is")
    display_id: str | None = Field(None, description="the id as the role may see it (an individual's masked where "
                                                     "the role masks)")
    name: str | None = Field(None, description="the subject's name (an individual's masked where the role masks)")
    county: str | None = Field(None, description="the county's administrative division code")
    county_name: str | None = Field(None, description="the county's name")
    industry: str | None = Field(None, description="the industry's GB/T 4754 section letter")
    industry_name: str | None = Field(None, description="the industry section's name")
    rated: bool | None = Field(None, description="whether the subject has a published rating")
    as_of: str | None = Field(None, description="the rating's as-of date (YYYY-MM-DD)")
    tier: str | None = Field(None, description="the public evaluation's tier (A/B/C/D)")
    tier_words: TierWords | None = Field(None, description="the tier in words, its floor on the scorecard's scale and "
                                                      "its supervision measures")
    tier_rule: TierRule | None = Field(None, description="the direct rule that decided the tier, when one did")
    grade: str | None = Field(None, description="the lender's grade on the master scale (roles that see it)")
    pd: float | None = Field(None, description="the 12-month probability of default (roles that see it)")
    score: float | None = Field(None, description="the scorecard's points (roles that see them)")
    reasons: list[Reason] | None = Field(None, description="the main reasons, worst first (roles that see them)")
    lists: list[ListEntry] | None = Field(None, description="the subject's red and black list entries (roles that "
                                                            "see the lists)")
    model_version: str | None = Field(None, description="the version of the model that rated it")
    criteria_version: str | None = Field(None, description="the version of the published criteria (`/v1/criteria`)")
    under_objection: list[Objection] | None = Field(None, description="records of the subject under objection "
                                                                       "(异议处理中), flagged the day the objection is filed")
    restated: Restated | None = Field(None, description="re-rated after a case decision")
    grade_override: GradeOverride | None = Field(None, description="a grade a person set on review, beside the "
                                                                   "model's grade")
    notes: list[str] | None = Field(None, description="`reasons_not_kept`: a replay of a rating published before past "
                                                      "ratings kept their reasons")


class BatchAnswer(Answer):
    """One card per id asked."""
    snapshot: str = Field(description="the published snapshot every card was read from")
    results: list[SubjectCard] = Field(description="one card per id asked, in the order asked")


class ModelContributions(Answer):
    """One model's explanation of a subject's rating: where it starts and what each indicator adds."""
    base_value: float = Field(description="the model's value before any indicator (scorecard: points; boosted: "
                                          "log-odds)")
    versions: str = Field(description="the model's versions (`scorecard/boosted` registry versions)")
    contributions: dict[str, float | None] = Field(description="per indicator: what it adds to the base value "
                                                              "(scorecard: points; boosted: SHAP log-odds)")


class ExplanationModels(Answer):
    """Both models' explanations of a rating."""
    scorecard: ModelContributions | None = Field(None, description="the scorecard's points per indicator")
    boosted: ModelContributions | None = Field(None, description="the boosted model's SHAP values per indicator")


class IndicatorChange(Answer):
    """What one step of a repair path changes in one indicator."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: float | None = Field(None, alias="from", description="the indicator's value now")
    to: float | None = Field(None, description="its value after the step")


class RepairStep(Answer):
    """One action of a repair path and where it takes the subject, with the actions before it. A
    subject in default starts from the record that put it there (`record`), whose effect ends
    on a day (`from`)."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(description="the action (`chengxin/conf/repair.yaml`; `resolve_<kind>`: put a default right)")
    text_zh: str = Field(description="the action in Chinese")
    text_en: str = Field(description="the action in English")
    months: int | None = Field(None, description="how long it takes, in months")
    changes: dict[str, IndicatorChange] = Field(description="per indicator it changes: from what, to what")
    grade: str | None = Field(None, description="the grade after this step")
    pd: float | None = Field(None, description="the PD after this step")
    tier: str | None = Field(None, description="the public tier after this step")
    for_points: bool = Field(False, description="the step the public evaluation's points need most, added to the "
                                                "path")
    record: str | None = Field(None, description="the default record the step puts right (English)")
    record_zh: str | None = Field(None, description="the same in Chinese")
    from_: str | None = Field(None, alias="from", description="the day the grade returns, once the last default "
                                                             "record is older than the lookback (YYYY-MM-DD)")


class Repair(Answer):
    """The credit-repair path (信用修复路径): the actions that would improve the rating, in order."""
    repair_path: list[RepairStep] = Field(description="the steps, first to do first")
    repair_reachable: bool | None = Field(description="whether the path reaches a better grade; none when not stored")
    repair_note: str | None = Field(description="why there is no path (e.g. a subject in default)")
    repair_note_zh: str | None = Field(description="the same in Chinese")
    notes: list[str] = Field(description="`explain_unavailable`: the rating date was not explained")


class Explanation(Answer):
    """Why a subject is rated as it is, and what would improve it."""
    subject_id: str = Field(description="the id asked, cleaned")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    as_of: str | None = Field(description="the rating's as-of date; none when not rated")
    models: ExplanationModels = Field(description="both models' contributions (empty when not explained)")
    repair: Repair | None = Field(description="the repair path; none when not rated")
    notes: list[str] = Field(description="`explain_unavailable`: the rating date was not explained")
