"""The published rating criteria (公共信用综合评价标准) as data: what `chengxin publish criteria`
writes to criteria.json, with the SQL that gives the same points."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin import config
from chengxin.api.shapes.common import Answer, PublicTierWords, SubjectType
from chengxin.record_rules import Period

Number = int | float  # points are whole in published criteria; a number stays as published


class Scaling(Answer):
    """How points map to odds: `base_points` at odds `base_odds`, `pdo` points to double them."""
    base_points: float = Field(description="the points at the base odds")
    base_odds: float = Field(description="the good-to-bad odds the base points stand for")
    pdo: float = Field(description="the points that double the odds")


class Dimension(Answer):
    """A dimension of the evaluation with its point budget and what its indicators can give."""
    dimension: str = Field(description="the dimension's code")
    zh: str = Field(description="its name in Chinese")
    en: str = Field(description="its name in English")
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
    points: Number = Field(description="the points a value in the bin gives")


class Indicator(Answer):
    """A scored indicator as published: what it is, where its records come from, its bins and points."""
    name: str = Field(description="the indicator's code (a reason's `code`)")
    zh: str = Field(description="its name in Chinese")
    description: config.Words = Field(description="what it measures")
    dimension: str = Field(description="the dimension it counts in")
    source: str | None = Field(description="the record source it is built from")
    department: config.Words | None = Field(description="the department that provides those records")
    linked: bool = Field(description="built from a linked subject's records (a firm's legal representative's)")
    window_months: int | None = Field(description="the months of records it looks back over")
    direction: str = Field(description="`higher_better` or `higher_worse`")
    mutable: bool = Field(description="whether the subject can change it")
    scoring: Literal["declared", "learnt"] = Field(description="points declared by the office, or learnt from outcomes")
    type: Literal["numeric", "category"] = Field(description="numeric (binned by ranges) or category")
    unit: str | None = Field(description="the unit of a numeric indicator")
    bins: list[Bin] = Field(description="its bins, from the lowest values up")
    missing_points: Number = Field(description="points when the indicator has no value")
    max_points: Number = Field(description="the most points it gives")
    min_points: Number = Field(description="the fewest points it gives")
    points_spread: Number = Field(description="max_points - min_points")
    stability_psi: float | None = Field(description="population stability from fitting to calibration (learnt)")


class NotWeighted(Answer):
    """An indicator considered and not weighted, and why."""
    name: str = Field(description="the indicator's code")
    zh: str = Field(description="its name in Chinese")
    description: config.Words = Field(description="what it measures")
    dimension: str = Field(description="the dimension it would count in")
    reason: str = Field(description="the reason's code: spread, stability, sign, iv, empty, category, dimension")
    why: config.Words = Field(description="the reason in words")
    points_spread: float | None = Field(None, description="the points it would have spread over")


class PublicTier(PublicTierWords):
    """A public tier, its floor in points, its supervision measures and its distribution."""
    min_points: Number = Field(description="the fewest points that reach it")
    subjects: int | None = Field(None, description="subjects in it on the latest rating")
    share: float | None = Field(None, description="their share of those rated")
    outcome_rate: float | None = Field(None, description="the 12-month outcome rate of the tier, back-tested")


class TierShare(Answer):
    """How many of the rated subjects a tier holds."""
    subjects: int = Field(description="subjects in the tier")
    share: float = Field(description="their share of those rated")
    outcome_rate: float | None = Field(None, description="the tier's 12-month outcome rate, back-tested")


class GroupShares(Answer):
    """The tiers of one county or industry."""
    code: str = Field(description="the county's division code or the industry's section letter")
    name: str = Field(description="its name, with the code")
    rated: int = Field(description="subjects rated in it")
    shares: dict[str, float] = Field(description="per tier: its share of the group")


class Distribution(Answer):
    """The tiers the criteria give on the city: on the latest ratings, and back-tested on the
    latest month whose outcome is fully observed."""
    outcome_as_of: str | None = Field(None, description="the month back-tested (its outcome fully observed)")
    outcome_rated: int | None = Field(None, description="subjects rated on it")
    rated_as_of: str | None = Field(None, description="the latest rating date")
    rated: int | None = Field(None, description="subjects rated on it")
    tiers: dict[str, TierShare] | None = Field(None, description="per tier: its subjects and share")
    by_county: list[GroupShares] | None = Field(None, description="the tiers per county")
    by_industry: list[GroupShares] | None = Field(None, description="the tiers per industry section")


class MasterGrade(Answer):
    """A grade of the lenders' master scale."""
    grade: str = Field(description="the grade (AAA … C; D: in default)")
    pd_max: float | None = Field(description="the grade's highest PD; none: the grade of subjects in default")


class Rules(Answer):
    """The rules the criteria apply to records."""
    publicity_months: dict[str, Period] = Field(description="per penalty severity: its publicity period in months "
                                                            "(the least before repair, the most)")
    repaired_stops_after_min: bool = Field(description="a repaired record stops counting once its minimum "
                                                       "period has passed")
    default_lookback_months: int = Field(description="how long a default record forces tier D")
    missing: str = Field(description="how an indicator without a value is scored")


class Selection(Answer):
    """How the learnt indicators were chosen."""
    min_iv: float = Field(description="the least information value an indicator needs")
    max_psi: float | None = Field(None, description="the most population shift an indicator may show")
    C: float = Field(description="the logistic regression's inverse regularisation")
    dropped_for_stability: dict[str, float | None] = Field({}, description="indicators dropped for shifting, "
                                                                          "with their PSI")
    dropped_for_sign: list[str] = Field([], description="indicators dropped for a weight against their bins")
    min_points_spread: float | None = Field(None, description="the least spread of points an indicator needs")
    dropped_for_spread: dict[str, float] = Field({}, description="indicators dropped for too small a spread, with it")
    integer_points: bool = Field(description="points are whole numbers")
    snapped_thresholds: bool = Field(description="bin edges are rounded to numbers people read")


class Validation(Answer):
    """The lenders' model validated out of time (the criteria's companion)."""
    auc: float | None = Field(None, description="area under the ROC curve")
    gini: float | None = Field(None, description="2 AUC - 1")
    ks: float | None = Field(None, description="Kolmogorov-Smirnov statistic")
    brier: float | None = Field(None, description="Brier score of the PD")
    psi_dev_oot: float | None = Field(None, description="PD's population stability from development to out of time")
    grades_within_interval: float | None = Field(None, description="share of grades whose default rate is within "
                                                                    "their PD interval")
    calibration_holds: float | None = Field(None, description="share of grades whose calibration test holds")


class Criteria(Answer):
    """The published criteria of one subject type, in one version."""
    criteria_version: str = Field(description="the version's code (a card's `criteria_version`)")
    subject: SubjectType = Field(description="the subjects they rate")
    effective_date: str = Field(description="in force from (YYYY-MM-DD)")
    catalogue_version: str = Field(description="the indicator catalogue's version")
    total_points: int = Field(description="the most points a subject can have")
    scaling: Scaling = Field(description="how points map to odds")
    dimensions: list[Dimension] = Field(description="the dimensions and their budgets")
    unscored_dimensions: list[str] = Field(description="dimensions kept out of the points")
    direct_tiers: list[DirectTier] = Field(description="rules that decide the tier whatever the points")
    indicators: list[Indicator] = Field(description="every scored indicator with its bins and points")
    considered_not_weighted: list[NotWeighted] = Field(description="indicators considered and left out, and why")
    public_tiers: list[PublicTier] = Field(description="the tiers from best to worst, with their floors")
    distribution: Distribution = Field(description="the tiers on the city now and back-tested")
    master_scale: list[MasterGrade] = Field(description="the lenders' grades and their PD bounds")
    relation: config.Words = Field(description="how the public evaluation and the lenders' PD relate")
    rules: Rules = Field(description="publicity periods, repair and default")
    selection: Selection = Field(description="how the learnt indicators were chosen")
    validation: Validation = Field(description="the lenders' model validated out of time")
    sql: str | None = Field(description="one SQL expression that gives the same points over the indicators")
