"""Risk classes and the month's inspection plan (信用风险分类, 双随机), for the roles with the
`supervision` right only: an internal tool of the departments that inspect, never published."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from pydantic import Field

from chengxin import config, i18n
from chengxin.api.shapes.common import Answer, named
from chengxin.supervision.classes import UNIFORM

CLASSES = tuple(config.supervision().classes)
RiskClass = named("RiskClass", CLASSES, "a risk class of supervision.yaml, from the lowest risk (A) to the highest (D): "
                  "the inspecting departments' own tool, not a credit rating and never published")
Stratum = named("Stratum", (*CLASSES, UNIFORM), f"what a firm was drawn from: its risk class, or `{UNIFORM}` in a plan "
                "drawn at one uniform rate")
Strategy = named("Strategy", tuple(i18n.STRATEGY), "how a plan was drawn: by risk class at each class's declared "
                 "ratio (classified), or at one rate for every firm (uniform)")


class ClassReason(Answer):
    """A signal that adds the most points to a firm's risk score above the city's median firm."""
    signal: str = Field(description="the signal's code (supervision.yaml `signals`)")
    text_zh: str = Field(description="the reason in Chinese")
    text_en: str = Field(description="the reason in English")


class SignalValue(Answer):
    """One signal of the risk score, as the firm's value of it and the weight it is counted with."""
    signal: str = Field(description="the signal's code (supervision.yaml `signals`)")
    text_zh: str = Field(description="what a high value means, in Chinese")
    text_en: str = Field(description="what a high value means, in English")
    weight: float = Field(description="its weight: points per unit above the city's median firm")
    value: float | None = Field(description="the firm's value of the signal on the classification date")


class RiskClassCard(Answer):
    """An enterprise's latest risk class with its reasons (audited: who looked, when)."""
    subject_id: str = Field(description="the enterprise's unified social credit code")
    name: str | None = Field(None, description="its registered name")
    county: str | None = Field(None, description="its county's code")
    county_name: str | None = Field(None, description="its county by name (Chinese)")
    industry: str | None = Field(None, description="its industry section (GB/T 4754)")
    industry_name: str | None = Field(None, description="its industry section by name (Chinese)")
    as_of: str = Field(description="the date of the classification (YYYY-MM-DD)")
    risk_class: RiskClass = Field(description="its risk class")
    words: config.Words = Field(description="the class in words")
    risk_score: float | None = Field(description="its risk score: the sum of the signals' points above the city's median firm")
    reasons: list[ClassReason] = Field(description="why: the signals adding the most points, the first the most")
    summary: config.Words = Field(description="the reasons as one sentence (or that no signal is above the median firm)")
    signals: list[SignalValue] = Field(description="every signal of the risk score, with the firm's value")


class ClassDraw(Answer):
    """How many firms of one stratum a plan could draw and drew."""
    stratum: Stratum = Field(description="the stratum: a risk class, or every firm in a uniform plan")
    firms: int = Field(description="live firms in the stratum")
    eligible: int = Field(description="those that could be drawn (not inspected recently, but for class D)")
    drawn: int = Field(description="inspections drawn from it this month")


class InspectionItem(Answer):
    """What an inspection checks: a violation kind of supervision.yaml."""
    code: str = Field(description="the violation kind's code (supervision.yaml `violations`)")
    zh: str = Field(description="the kind in Chinese")
    en: str = Field(description="the kind in English")


class PlannedInspection(Answer):
    """One inspection of the plan: the firm drawn, its stratum, the day and the inspectors."""
    inspection_no: str = Field(description="the inspection's number (the inspection source's `inspection_no`)")
    subject_id: str = Field(description="the firm's unified social credit code")
    name: str | None = Field(None, description="the firm's registered name")
    stratum: Stratum = Field(description="the stratum it was drawn from: its risk class when the plan was drawn")
    recent: bool = Field(description="inspected in the last `skip_recent_months` months (drawn again only in class D)")
    inspection_date: str = Field(description="the working day of the inspection (YYYY-MM-DD)")
    inspectors: list[str] = Field(description="the two (or declared number of) inspectors drawn from the roster")
    items: list[InspectionItem] = Field(description="the violation kinds the inspectors check")


class InspectionPlan(Answer):
    """A month's latest stored inspection plan (双随机): what is published with it (the seed and the
    input list's digest let anyone draw it again) and its inspections."""
    plan_no: str = Field(description="the plan's number")
    month: str = Field(description="the month inspected (YYYY-MM)")
    department: str = Field(description="the department leading the inspections (Chinese name)")
    strategy: Strategy = Field(description="how it was drawn")
    seed: int = Field(description="the published seed of the draw")
    input_digest: str = Field(description="SHA-256 of the draw's input list (each live firm's stratum, whether "
                                          "inspected recently, who inspected it last)")
    live_firms: int = Field(description="live firms on the input list")
    budget: int = Field(description="inspections the month's budget allowed")
    share: float | None = Field(None, description="the yearly share of live firms asked for, when the budget was given as one")
    classes_as_of: str | None = Field(None, description="the date of the classification it drew on (YYYY-MM-DD)")
    skip_recent_months: int | None = Field(None, description="months within which an inspected firm is not drawn "
                                                             "again (but in class D)")
    drawn_at: str | None = Field(None, description="when it was drawn (YYYY-MM-DD HH:MM:SS, the server's time)")
    count: int = Field(description="inspections in the plan")
    by_class: list[ClassDraw] = Field(description="per stratum: firms, eligible firms, inspections drawn")
    inspections: list[PlannedInspection] = Field(description="the inspections, by date")
