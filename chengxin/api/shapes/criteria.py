"""The published rating criteria (公共信用综合评价标准) as data: what `chengxin publish criteria`
writes to criteria.json, with the SQL that gives the same points."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin import config
from chengxin.api.shapes.common import Answer, SubjectType
from chengxin.record_rules import Period

Number = int | float  # points are whole in published criteria; a number stays as published


class Scaling(Answer):
    """How points map to odds: `base_points` at odds `base_odds`, `pdo` points to double them."""
    base_points: float
    base_odds: float
    pdo: float


class Dimension(Answer):
    """A dimension of the evaluation with its point budget and what its indicators can give."""
    dimension: str = Field(description="the dimension's code")
    zh: str
    en: str
    indicators: int = Field(description="scored indicators in it")
    budget: int | None = Field(None, description="its declared point budget")
    min_points: Number = Field(description="the fewest points its indicators give together")
    max_points: Number = Field(description="the most points its indicators give together")
    declared: int = Field(description="indicators whose points the office declares (not learnt)")
    share: float = Field(description="its share of the whole range of points (the shares add to 1)")


class DirectTier(Answer):
    """A rule that decides the tier whatever the points (一票否决)."""
    name: str = Field(description="the rule's name (a card's `tier_rule.rule`)")
    tier: str = Field(description="the tier it forces")
    text: config.Words = Field(description="what it is about")
    basis: config.Words = Field(description="its legal basis")
    list_rule: str | None = Field(description="the list rule whose entry in force triggers it; none: default")
    in_default: bool = Field(description="the rule of subjects in default")
    holds: config.Words = Field(description="for how long it holds")


class Bin(Answer):
    """One bin of an indicator and its points: a numeric range [lower, upper), or categories."""
    lower: float | None = Field(None, description="inclusive lower bound; none: no bound (numeric)")
    upper: float | None = Field(None, description="exclusive upper bound; none: no bound (numeric)")
    categories: list[str] | None = Field(None, description="the values of a category indicator in this bin")
    points: Number


class Indicator(Answer):
    """A scored indicator as published: what it is, where its records come from, its bins and points."""
    name: str = Field(description="the indicator's code (a reason's `code`)")
    zh: str = Field(description="its name in Chinese")
    description: config.Words
    dimension: str
    source: str | None = Field(description="the record source it is built from")
    department: config.Words | None = Field(description="the department that provides those records")
    linked: bool = Field(description="built from a linked subject's records (a firm's legal representative's)")
    window_months: int | None = Field(description="the months of records it looks back over")
    direction: str = Field(description="`higher_better` or `higher_worse`")
    mutable: bool = Field(description="whether the subject can change it")
    scoring: Literal["declared", "learnt"] = Field(description="points declared by the office, or learnt from outcomes")
    type: Literal["numeric", "category"]
    unit: str | None = Field(description="the unit of a numeric indicator")
    bins: list[Bin]
    missing_points: Number = Field(description="points when the indicator has no value")
    max_points: Number
    min_points: Number
    points_spread: Number = Field(description="max_points - min_points")
    stability_psi: float | None = Field(description="population stability from fitting to calibration (learnt)")


class NotWeighted(Answer):
    """An indicator considered and not weighted, and why."""
    name: str
    zh: str
    description: config.Words
    dimension: str
    reason: str = Field(description="the reason's code: spread, stability, sign, iv, empty, category, dimension")
    why: config.Words
    points_spread: float | None = None


class PublicTier(Answer):
    """A public tier, its floor in points, its supervision measures and its distribution."""
    tier: str
    zh: str
    en: str
    min_points: Number = Field(description="the fewest points that reach it")
    measures: config.Words = Field(description="what the tier means for supervision")
    subjects: int | None = Field(None, description="subjects in it on the latest rating")
    share: float | None = Field(None, description="their share of those rated")
    outcome_rate: float | None = Field(None, description="the 12-month outcome rate of the tier, back-tested")


class TierShare(Answer):
    subjects: int
    share: float
    outcome_rate: float | None = None


class GroupShares(Answer):
    code: str = Field(description="the county's division code or the industry's section letter")
    name: str
    rated: int
    shares: dict[str, float] = Field(description="per tier: its share of the group")


class Distribution(Answer):
    """The tiers the criteria give on the city: on the latest ratings, and back-tested on the
    latest month whose outcome is fully observed."""
    outcome_as_of: str | None = None
    outcome_rated: int | None = None
    rated_as_of: str | None = None
    rated: int | None = None
    tiers: dict[str, TierShare] | None = None
    by_county: list[GroupShares] | None = None
    by_industry: list[GroupShares] | None = None


class MasterGrade(Answer):
    grade: str
    pd_max: float | None = Field(description="the grade's highest PD; none: the grade of subjects in default")


class Rules(Answer):
    publicity_months: dict[str, Period] = Field(description="per penalty severity: its publicity period in months "
                                                            "(the least before repair, the most)")
    repaired_stops_after_min: bool = Field(description="a repaired record stops counting once its minimum "
                                                       "period has passed")
    default_lookback_months: int = Field(description="how long a default record forces tier D")
    missing: str = Field(description="how an indicator without a value is scored")


class Selection(Answer):
    """How the learnt indicators were chosen."""
    min_iv: float
    max_psi: float | None = None
    C: float = Field(description="the logistic regression's inverse regularisation")
    dropped_for_stability: dict[str, float | None] = {}
    dropped_for_sign: list[str] = []
    min_points_spread: float | None = None
    dropped_for_spread: dict[str, float] = {}
    integer_points: bool
    snapped_thresholds: bool


class Validation(Answer):
    """The lenders' model validated out of time (the criteria's companion)."""
    auc: float | None = None
    gini: float | None = None
    ks: float | None = None
    brier: float | None = None
    psi_dev_oot: float | None = None
    grades_within_interval: float | None = None
    calibration_holds: float | None = None


class Criteria(Answer):
    """The published criteria of one subject type, in one version."""
    criteria_version: str = Field(description="the version's code (a card's `criteria_version`)")
    subject: SubjectType
    effective_date: str = Field(description="in force from (YYYY-MM-DD)")
    catalogue_version: str = Field(description="the indicator catalogue's version")
    total_points: int = Field(description="the most points a subject can have")
    scaling: Scaling = Field(description="how points map to odds")
    dimensions: list[Dimension]
    unscored_dimensions: list[str] = Field(description="dimensions kept out of the points")
    direct_tiers: list[DirectTier]
    indicators: list[Indicator]
    considered_not_weighted: list[NotWeighted]
    public_tiers: list[PublicTier]
    distribution: Distribution
    master_scale: list[MasterGrade] = Field(description="the lenders' grades and their PD bounds")
    relation: config.Words = Field(description="how the public evaluation and the lenders' PD relate")
    rules: Rules
    selection: Selection
    validation: Validation
    sql: str | None = Field(description="one SQL expression that gives the same points over the indicators")
