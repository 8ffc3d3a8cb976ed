"""Grades: the internal master scale (PD -> grade) and the public tiers (points -> A/B/C/D).

Both are configuration (``chengxin/conf/rating.yaml``), validated here; the functions are
pure and vectorised.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from pydantic import AliasChoices, Field, field_validator, model_validator

from chengxin import config
from chengxin.config import Strict
from chengxin.models.calibration import Method


class Grade(Strict):
    grade: str
    pd_max: float = Field(gt=0, le=1)


class Tier(Strict):
    tier: str
    zh: str
    en: str
    scorecard_min_points: float  # a lender's own book (byo), on the scorecard's scale
    measures: config.Words


class Scaling(Strict):
    base_points: float
    base_odds: float = Field(gt=0)
    pdo: float = Field(gt=0)


class Shares(Strict):
    fit: float = Field(gt=0, lt=1)
    calibrate: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _room(self):
        if self.fit + self.calibrate >= 1:
            raise ValueError("fit + calibrate must leave a share for validation")
        return self


class Calibration(Strict):
    """The map from each model's log-odds to PD (see `models.calibration`)."""

    scorecard: Method
    boosted: Method = Field(validation_alias=AliasChoices("boosted", "challenger"))  # its name before issue 20


class ScorecardSelection(Strict):
    """How the scorecard chooses its indicators and its regularisation."""

    min_iv: float = Field(ge=0)
    max_psi: float | None = Field(default=None, gt=0)
    c_grid: tuple[float, ...] = Field(min_length=1)
    cv_folds: int = Field(ge=2)
    # an indicator whose points spread (best bin minus worst) is under this is not weighted
    min_points_spread: float = Field(default=3.0, ge=0)

    @field_validator("c_grid")
    @classmethod
    def _positive(cls, grid):
        if any(c <= 0 for c in grid):
            raise ValueError("every C must be positive")
        return tuple(sorted(grid))


class MinOutcomes(Strict):
    """The fewest subjects reaching the outcome that each window (and each cross-validation fold
    of the fitting rows) needs before a model is fitted on it or judged by it."""

    fit: int = Field(ge=1)
    calibrate: int = Field(ge=1)
    oot: int = Field(ge=1)
    fold: int = Field(ge=1)
    few: int = Field(ge=1)  # below this a window's figures are reported as resting on few outcomes


class Training(Strict):
    months: Shares
    subjects: Shares
    calibration: Calibration
    scorecard: ScorecardSelection
    min_outcomes: MinOutcomes


class RatingConfig(Strict):
    master_scale: tuple[Grade, ...]
    default_grade: str
    worst_grades: tuple[str, ...] = ()
    max_grade_share: float = Field(gt=0, le=1)
    public_tiers: tuple[Tier, ...]
    scorecard_scaling: Scaling
    training: Training

    @model_validator(mode="after")
    def _check(self):
        pds = [g.pd_max for g in self.master_scale]
        if len(pds) < 7:
            raise ValueError("the master scale needs at least 7 non-default grades")
        if any(b <= a for a, b in zip(pds, pds[1:])):
            raise ValueError("master scale PD bounds must increase strictly")
        if pds[-1] != 1.0:
            raise ValueError("the last grade must reach PD 1.0")
        unknown = set(self.worst_grades) - {g.grade for g in self.master_scale}
        if unknown:
            raise ValueError(f"worst_grades {sorted(unknown)} are not on the master scale")
        points = [t.scorecard_min_points for t in self.public_tiers]
        if any(b >= a for a, b in zip(points, points[1:])):
            raise ValueError("public tiers must be listed from the highest points down")
        return self

    @property
    def grades(self) -> list[str]:
        return [g.grade for g in self.master_scale] + [self.default_grade]

    @property
    def worst(self) -> set[str]:
        """The worst grades (`worst_grades`) and the default grade."""
        return {*self.worst_grades, self.default_grade}


def rating_config() -> RatingConfig:
    return config.declared("rating", RatingConfig)


def pd_words(pd_, grade: str | None, lang: str = "zh") -> str:
    """A PD as people read it: a percentage, or "in default" for a subject the default grade
    marks (its PD of 100 % is a fact, not a forecast)."""
    from chengxin import i18n

    if grade is not None and grade == rating_config().default_grade:
        return i18n.t("in_default", lang)
    return i18n.pct(pd_, lang)


def grade_of(pd_: np.ndarray | pd.Series, in_default: np.ndarray | None = None, cfg: RatingConfig | None = None) -> np.ndarray:
    """Master-scale grade of each PD; subjects in default get the default grade."""
    cfg = cfg or rating_config()
    bounds = np.array([g.pd_max for g in cfg.master_scale])
    names = np.array([g.grade for g in cfg.master_scale], dtype=object)
    idx = np.searchsorted(bounds, np.clip(np.asarray(pd_, dtype=float), 0, 1), side="left")
    out = names[np.minimum(idx, len(names) - 1)]
    if in_default is not None:
        out = np.where(np.asarray(in_default, dtype=bool), cfg.default_grade, out)
    return out


def tier_of(points: np.ndarray | pd.Series, in_default: np.ndarray | None = None, cfg: RatingConfig | None = None) -> np.ndarray:
    """The tier band (A/B/C/D) of each score on the scorecard's scale (`scorecard_min_points`),
    for a lender's own book; the public evaluation's tiers are `PublicEvaluation.tier`. Subjects
    in default are the lowest."""
    cfg = cfg or rating_config()
    pts = np.asarray(points, dtype=float)
    out = np.full(len(pts), cfg.public_tiers[-1].tier, dtype=object)
    for tier in reversed(cfg.public_tiers):
        out = np.where(pts >= tier.scorecard_min_points, tier.tier, out)
    if in_default is not None:
        out = np.where(np.asarray(in_default, dtype=bool), cfg.public_tiers[-1].tier, out)
    return out


def points_of(pd_: np.ndarray, cfg: RatingConfig | None = None) -> np.ndarray:
    """Points on the configured scale for a probability of default: base points at the base
    odds (good:bad), `pdo` more points each time the odds double."""
    s = (cfg or rating_config()).scorecard_scaling
    p = np.clip(np.asarray(pd_, dtype=float), 1e-9, 1 - 1e-9)
    odds = (1 - p) / p
    return s.base_points + s.pdo / np.log(2) * np.log(odds / s.base_odds)


def concentration(grades: np.ndarray, cfg: RatingConfig | None = None) -> dict:
    """Share of rated (non-default) subjects per grade and whether any grade is too full."""
    cfg = cfg or rating_config()
    g = pd.Series(grades)
    g = g[g != cfg.default_grade]
    share = g.value_counts(normalize=True).reindex([x.grade for x in cfg.master_scale], fill_value=0.0)
    return {"share": share.round(4).to_dict(), "max_share": float(share.max()),
            "concentrated": bool(share.max() > cfg.max_grade_share)}
