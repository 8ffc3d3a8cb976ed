"""The public credit evaluation: a rule the office declares (``chengxin/conf/evaluation.yaml``),
its points read from the same indicators as the lender's PD.

`PublicEvaluation` is built from the declaration and the published scorecard. Each declared
dimension has a point budget; inside it, the indicators the rules say count (`records`: a
penalty by severity, an enforcement case, a listing) score their declared points, and the
indicators the scorecard weights take the rest of the budget, their learnt relative points
scaled in as whole points (the worst bin 0, the best its share). `direct_tiers` force a tier
whatever the points while their entry is in force; `cut_offs` turn points into tiers.

It has the scorecard's manners (`points`, `points_by_indicator`, `max_points`, `adverse`), so the
score stage, the reasons and the explanations read it the way they read a scorecard.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from chengxin import config
from chengxin.config import Strict
from chengxin.features.catalogue import DIMENSIONS, catalogue
from chengxin.models import grades
from chengxin.models.estimators import Shortfalls


class RecordBin(Strict):
    start: float = Field(alias="from")  # from this value upwards
    points: int = Field(ge=0)


class RecordRule(Strict):
    """An indicator the rules say counts, with declared points by its value."""

    indicator: str
    bins: tuple[RecordBin, ...] = Field(min_length=1)
    missing: int | None = Field(default=None, ge=0)  # default: the first (best) bin's points

    @model_validator(mode="after")
    def _ordered(self):
        starts = [b.start for b in self.bins]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"{self.indicator}: bins must start at increasing values")
        points = [b.points for b in self.bins]
        if any(b > a for a, b in zip(points, points[1:])):
            raise ValueError(f"{self.indicator}: more records never earn more points (bins' points must not increase)")
        return self

    @property
    def best(self) -> int:
        return max(self.bins[0].points, self.missing_points)

    @property
    def missing_points(self) -> int:
        return self.bins[0].points if self.missing is None else self.missing


class Dimension(Strict):
    dimension: str
    budget: int = Field(gt=0)
    records: tuple[RecordRule, ...] = ()

    @model_validator(mode="after")
    def _fits(self):
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {self.dimension!r}: one of {', '.join(DIMENSIONS)}")
        declared = sum(r.best for r in self.records)
        if declared > self.budget:
            raise ValueError(f"dimension {self.dimension}: its records' points ({declared}) exceed its budget ({self.budget})")
        return self


class DirectTier(Strict):
    """A rule forcing a tier (一票否决) while its entry is in force."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tier: str
    basis: config.Words
    text: config.Words | None = None  # default: the list rule's text
    list_rule: str | None = None
    in_default: bool = False

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.list_rule) == self.in_default:
            raise ValueError(f"direct tier {self.name}: give either `list_rule` or `in_default: true`")
        if self.in_default and self.text is None:
            raise ValueError(f"direct tier {self.name}: an in_default rule needs its `text`")
        return self


class SubjectEvaluation(Strict):
    total_points: int = Field(gt=0)
    # how a learnt indicator scores a missing value (no upload, no loan, no card): `neutral`, the
    # points of an average subject (weight of evidence 0), or `fitted`, its missing bin's points
    missing: Literal["neutral", "fitted"] = "neutral"
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    direct_tiers: tuple[DirectTier, ...] = ()
    cut_offs: dict[str, float]

    @model_validator(mode="after")
    def _check(self):
        if sum(d.budget for d in self.dimensions) != self.total_points:
            raise ValueError(f"the dimensions' budgets add up to {sum(d.budget for d in self.dimensions)}, "
                             f"not the total of {self.total_points}")
        dims = [d.dimension for d in self.dimensions]
        if len(dims) != len(set(dims)):
            raise ValueError("a dimension is declared twice")
        names = [r.indicator for d in self.dimensions for r in d.records]
        if len(names) != len(set(names)):
            raise ValueError("an indicator is declared in two record rules")
        tiers = [t.tier for t in grades.rating_config().public_tiers]
        if list(self.cut_offs) != tiers[:-1]:
            raise ValueError(f"cut_offs must give the least points of {', '.join(tiers[:-1])}, in that order")
        cuts = list(self.cut_offs.values())
        if any(b >= a for a, b in zip(cuts, cuts[1:])) or not all(0 < c <= self.total_points for c in cuts):
            raise ValueError(f"cut_offs must fall from tier to tier, inside 0..{self.total_points}")
        for t in self.direct_tiers:
            if t.tier not in tiers:
                raise ValueError(f"direct tier {t.name}: unknown tier {t.tier!r}")
        rules = [t.name for t in self.direct_tiers]
        if len(rules) != len(set(rules)):
            raise ValueError("a direct tier rule is declared twice")
        return self


class EvaluationConfig(Strict):
    enterprise: SubjectEvaluation
    individual: SubjectEvaluation

    @model_validator(mode="after")
    def _known(self):
        from chengxin.lists import lists_config

        cat, rules = catalogue(), {r.name: r for r in lists_config().rules}
        for subject in config.SUBJECT_TYPES:
            decl: SubjectEvaluation = getattr(self, subject)
            known = {i.name: i for i in cat.for_subject(subject)}
            for d in decl.dimensions:
                for r in d.records:
                    ind = known.get(r.indicator)
                    if ind is None:
                        raise ValueError(f"{subject}: {r.indicator} is no {subject} indicator")
                    if ind.dimension != d.dimension:
                        raise ValueError(f"{subject}: {r.indicator} belongs to dimension {ind.dimension}, not {d.dimension}")
                    if ind.direction != "higher_worse":
                        raise ValueError(f"{subject}: record rule {r.indicator} must be an indicator where more is worse")
            for t in decl.direct_tiers:
                if t.list_rule and (t.list_rule not in rules or subject not in rules[t.list_rule].subjects):
                    raise ValueError(f"{subject}: direct tier {t.name}: no list rule {t.list_rule!r} for {subject}s "
                                     "(chengxin/conf/lists.yaml)")
                if t.list_rule and rules[t.list_rule].tiers:
                    raise ValueError(f"direct tier {t.name}: list rule {t.list_rule} is itself made from tiers")
        return self


def evaluation_config() -> EvaluationConfig:
    return config.declared("evaluation", EvaluationConfig)


def digest() -> str:
    """A short digest of the declaration: part of the criteria version, so a change to a budget,
    a record's points, a direct rule or a cut-off publishes new criteria."""
    import hashlib
    import json

    text = json.dumps(evaluation_config().model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)
    return "e" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def declared_for(subject: str) -> SubjectEvaluation:
    return getattr(evaluation_config(), subject)


def rule_words(subject: str, name: str) -> dict | None:
    """A direct-tier rule as the faces show it: its name, the tier it forces, its text and legal
    basis in both languages; None for a rule no longer declared."""
    from chengxin.lists import lists_config

    rule = next((t for t in declared_for(subject).direct_tiers if t.name == name), None)
    if rule is None:
        return None
    text = rule.text or next(r.text for r in lists_config().rules if r.name == rule.list_rule)
    return {"rule": rule.name, "tier": rule.tier, "text": text.model_dump(), "basis": rule.basis.model_dump(),
            "list_rule": rule.list_rule}


def whole_shares(weights: list[float], total: int) -> list[int]:
    """`total` split in whole numbers in proportion to `weights` (largest remainders)."""
    if not weights or sum(weights) <= 0:
        return [0] * len(weights)
    raw = [total * w / sum(weights) for w in weights]
    out = [math.floor(r) for r in raw]
    for k in sorted(range(len(raw)), key=lambda k: out[k] - raw[k])[:total - sum(out)]:
        out[k] += 1
    return out


class PublicEvaluation(Shortfalls, BaseEstimator):
    """The declared public evaluation over a fitted scorecard.

    Parameters
    ----------
    scorecard : the fitted `ScorecardModel` whose learnt points are scaled into the budgets
    subject : "enterprise" or "individual"
    declaration : a `SubjectEvaluation` (default: the subject's in ``conf/evaluation.yaml``)
    """

    def __init__(self, scorecard=None, subject="enterprise", declaration=None):
        self.scorecard = scorecard
        self.subject = subject
        self.declaration = declaration

    def fit(self, X=None, y=None):
        """Works out each indicator's whole points from the declaration and the scorecard (X and
        y are not used: the scorecard was fitted already)."""
        decl = self.declaration or declared_for(self.subject)
        cat, card = catalogue(), self.scorecard
        records = {r.indicator: r for d in decl.dimensions for r in d.records}
        declared_dims = {d.dimension for d in decl.dimensions}
        learnt = [n for n in card.selected_ if n not in records and cat[n].kind != "category"
                  and cat[n].dimension in declared_dims]
        table = card.table()
        table = table[table["indicator"].isin(learnt)].copy()
        if decl.missing == "neutral":  # the missing bin scores like an average subject (WoE 0)
            from chengxin.models.explain import neutral_points

            neutral = neutral_points(card)
            table.loc[table["bin"].astype(str) == "Missing", "points"] = \
                table.loc[table["bin"].astype(str) == "Missing", "indicator"].map(neutral).to_numpy()
        self.missing_ = {n: float(table.loc[(table["indicator"] == n) & (table["bin"].astype(str) == "Missing"), "points"].iloc[0])
                         for n in learnt}
        low, high = table.groupby("indicator")["points"].min(), table.groupby("indicator")["points"].max()
        scored = [d for d in decl.dimensions if d.records or any(cat[n].dimension == d.dimension for n in learnt)]
        budgets = dict(zip([d.dimension for d in scored], whole_shares([d.budget for d in scored], decl.total_points)))
        self.unscored_dimensions_ = [d.dimension for d in decl.dimensions if d not in scored]
        self.budgets_, self.dimension_of_, self.learnt_, self.records_ = budgets, {}, {}, {}
        for d in scored:
            mine = [n for n in learnt if cat[n].dimension == d.dimension]
            rules = list(d.records)
            rest = budgets[d.dimension] - sum(r.best for r in rules)
            if mine:  # the learnt indicators share the rest in proportion to their learnt spread
                spans = [float(high[n] - low[n]) for n in mine]
                for n, span, top in zip(mine, spans, whole_shares(spans, rest)):
                    self.learnt_[n] = (float(low[n]), span, top)
            elif rules and rest:  # only records: their declared points scaled to fill the budget
                factor = budgets[d.dimension] / sum(r.best for r in rules)
                rules = [r.model_copy(update={
                    "bins": tuple(b.model_copy(update={"points": int(round(b.points * factor))}) for b in r.bins),
                    "missing": None if r.missing is None else int(round(r.missing * factor))}) for r in rules]
            for r in rules:
                self.records_[r.indicator] = r
            for n in [*mine, *(r.indicator for r in rules)]:
                self.dimension_of_[n] = d.dimension
        self.selected_ = list(self.dimension_of_)
        extra = [n for n in self.records_ if n not in set(card.feature_names_in_)]
        self.feature_names_in_ = np.array([*card.feature_names_in_, *extra])
        self.total_points_ = decl.total_points
        self.declaration_ = decl
        self.direct_tiers_ = decl.direct_tiers
        self.cut_offs_ = dict(decl.cut_offs)
        return self

    # --- points ---------------------------------------------------------------------------

    def scaled(self, name: str, points) -> np.ndarray:
        """A learnt indicator's scorecard points as whole points of the public evaluation."""
        low, span, top = self.learnt_[name]
        return np.clip(np.round((np.asarray(points, dtype=float) - low) / span * top), 0, top)

    def record_points(self, name: str, values) -> np.ndarray:
        """A record rule's declared points for each value (the missing points where there is none)."""
        rule = self.records_[name]
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        starts = np.array([b.start for b in rule.bins])
        points = np.array([b.points for b in rule.bins], dtype=float)
        at = np.clip(np.searchsorted(starts, np.nan_to_num(v, nan=starts[0]), side="right") - 1, 0, len(points) - 1)
        return np.where(np.isnan(v), float(rule.missing_points), points[at])

    def points_by_indicator(self, X) -> pd.DataFrame:
        """Whole points each subject earns on each scored indicator; rows add up to `points`."""
        check_is_fitted(self, "selected_")
        learnt = [n for n in self.selected_ if n in self.learnt_]
        by = self.scorecard.points_by_indicator(X) if learnt else pd.DataFrame(index=X.index)
        out = {}
        for n in self.selected_:
            if n in self.learnt_:
                missing = X[n].isna().to_numpy() if n in X else np.zeros(len(X), dtype=bool)
                out[n] = self.scaled(n, np.where(missing, self.missing_[n], by[n]))
            else:
                out[n] = self.record_points(n, X[n].to_numpy())
        return pd.DataFrame(out, index=X.index, columns=self.selected_)

    def points(self, X) -> np.ndarray:
        return self.points_by_indicator(X).sum(axis=1).to_numpy(dtype=float)

    def max_points(self) -> pd.Series:
        """The most points each scored indicator can give (its best bin)."""
        check_is_fitted(self, "selected_")
        return pd.Series({n: float(self.learnt_[n][2]) if n in self.learnt_ else float(self.records_[n].best)
                          for n in self.selected_})

    def contributions(self, X, by_indicator=None) -> tuple[float, pd.DataFrame]:
        """(the best total, each indicator's points short of its best as a negative number): the
        chart and the reasons read the same ranking; best + row sums = the subject's points."""
        by = self.points_by_indicator(X) if by_indicator is None else by_indicator
        best = self.max_points()[by.columns]
        return float(best.sum()), by - best

    # --- tiers ----------------------------------------------------------------------------

    def tier(self, points, forced=None) -> np.ndarray:
        """The tier of each total (`cut_offs`), made no better than a tier a direct rule forces
        (`forced`: a tier or None per subject)."""
        check_is_fitted(self, "cut_offs_")
        order = [t.tier for t in grades.rating_config().public_tiers]
        pts = np.asarray(points, dtype=float)
        out = np.full(len(pts), order[-1], dtype=object)
        for name in reversed(order[:-1]):
            out = np.where(pts >= self.cut_offs_[name], name, out)
        if forced is not None:
            rank = {t: k for k, t in enumerate(order)}
            f = pd.Series(forced, dtype=object).to_numpy()
            worse = np.array([x in rank and rank[x] > rank[o] for x, o in zip(f, out)], dtype=bool)
            out = np.where(worse, f, out)
        return out

    def published_bins(self, name: str) -> dict:
        """A scored indicator as the criteria publish it: its bins (numeric ranges or categories)
        with whole points, and its missing points."""
        if name in self.records_:
            rule = self.records_[name]
            starts = [b.start for b in rule.bins]
            bins = [{"lower": None if k == 0 else float(s), "upper": float(starts[k + 1]) if k + 1 < len(starts) else None,
                     "points": int(b.points)} for k, (s, b) in enumerate(zip(starts, rule.bins))]
            return {"type": "numeric", "bins": bins, "missing_points": int(rule.missing_points), "kind": "declared"}
        card = self.scorecard
        binned = card.scorecard_.binning_process_.get_binned_variable(name)
        t = card.table()
        rows = t[t["indicator"] == name]
        pts = [int(x) for x in self.scaled(name, rows["points"].to_numpy(dtype=float))]
        missing = int(self.scaled(name, [self.missing_[name]])[0])
        if binned.dtype == "categorical":
            bins = [{"categories": sorted(str(c) for c in list(cats)), "points": p} for cats, p in zip(binned.splits, pts)]
            kind = "category"
        else:
            edges = [-math.inf, *[float(s) for s in binned.splits], math.inf]
            bins = [{"lower": None if math.isinf(lo) else lo, "upper": None if math.isinf(hi) else hi, "points": p}
                    for lo, hi, p in zip(edges[:-1], edges[1:], pts)]
            kind = "numeric"
        return {"type": kind, "bins": bins, "missing_points": missing, "kind": "learnt"}
