"""Why a subject got its rating, and what would improve it.

- Contributions: for the scorecard, each indicator's points against its neutral point (the
  points a WoE of zero earns, i.e. an indicator that says nothing); they add up, with the sum of
  neutral points as base value, exactly to the subject's total points. For the boosted model,
  TreeSHAP values (LightGBM's native `pred_contrib`) in log-odds; with the base value they add
  up exactly to the model's raw score before calibration.
- Repair path: the smallest set of the credit-repair actions declared in
  ``chengxin/conf/repair.yaml`` that lifts the subject at least one master-scale grade under the
  champion. Actions touch mutable indicators only and only in their better direction; penalties
  still inside their minimum publicity period stay (the `*_locked` helper indicators).
"""

from __future__ import annotations

import functools
import itertools
from importlib import resources

import numpy as np
import pandas as pd
import yaml
from typing import Annotated

from pydantic import Field, model_validator

from chengxin.config import Strict
from chengxin.features.catalogue import Text, catalogue
from chengxin.models import grades


class RepairAction(Strict):
    name: str
    subject: str
    text: Text
    months: int = Field(0, ge=0)  # how long until the departments report the change
    sets: dict[str, Annotated[float | str, Field(union_mode="left_to_right")]]  # a number or an indicator

    @model_validator(mode="after")
    def _check(self):
        cat = catalogue()
        names = {i.name for i in cat.for_subject(self.subject)}
        for ind, to in self.sets.items():
            if ind not in names:
                raise ValueError(f"repair action {self.name}: unknown {self.subject} indicator {ind!r}")
            spec = cat[ind]
            if not spec.mutable or spec.direction == "none":
                raise ValueError(f"repair action {self.name}: {ind} is immutable or has no direction; "
                                 "an action may only change mutable indicators with a declared direction")
            if isinstance(to, str) and to not in names:
                raise ValueError(f"repair action {self.name}: target {to!r} is not an indicator")
        return self


@functools.cache
def repair_actions() -> tuple[RepairAction, ...]:
    text = resources.files("chengxin.conf").joinpath("repair.yaml").read_text("utf-8")
    return tuple(RepairAction.model_validate(a) for a in yaml.safe_load(text)["actions"])


def unwrap(calibrated):
    """The fitted rating model inside its calibration wrapper: train's `CalibratedRatingModel`,
    or the `CalibratedClassifierCV` of a bring-your-own book."""
    if not hasattr(calibrated, "calibrated_classifiers_"):
        return calibrated.estimator
    inner = calibrated.calibrated_classifiers_[0].estimator
    return getattr(inner, "estimator", inner)  # models registered before train's own map wrap a FrozenEstimator


# --- contributions ---------------------------------------------------------------------


def neutral_points(card) -> pd.Series:
    """Per selected indicator, the points a bin with WoE 0 earns (a missing value does, too)."""
    t = card.table()
    t = t[t["indicator"].isin(card.selected_)]
    # points are linear in the WoE inside one indicator: points = neutral - coef * factor * WoE
    factor = card.pdo / np.log(2)
    regular = t[~t["bin"].astype(str).isin(["Special", "Missing"])]
    neutral = regular["points"] + regular["Coefficient"] * factor * regular["WoE"]
    neutral = neutral.groupby(regular["indicator"]).median()
    if getattr(card, "integer_points", False):
        # whole points: the special-values bin scores WoE 0 by construction, rounded like every
        # bin, so contributions are whole points too
        special = t[t["bin"].astype(str) == "Special"].set_index("indicator")["points"]
        neutral = special.reindex(neutral.index).fillna(neutral.round())
    return neutral


def scorecard_contributions(card, X: pd.DataFrame, by_indicator=None) -> tuple[float, pd.DataFrame]:
    """(base value, points above or below neutral per indicator); base + row sums = total points."""
    neutral = neutral_points(card)
    by = card.points_by_indicator(X) if by_indicator is None else by_indicator
    return float(neutral[by.columns].sum()), by - neutral[by.columns]


def challenger_contributions(model, X: pd.DataFrame, n_jobs: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """(base value per row, TreeSHAP per indicator); base + row sums = raw log-odds."""
    c = model.contributions(X, n_jobs=n_jobs)
    return c["base_value"].to_numpy(), c.drop(columns="base_value")


def decision_fingerprint(model, X: pd.DataFrame) -> np.ndarray:
    """A hash per row of every split decision the boosted model can make on it: for each numeric
    indicator, which interval between the model's thresholds the value falls in (missing apart);
    categories as they are. Two rows with the same fingerprint get identical TreeSHAP values,
    so last month's can be reused when only the value moved inside an interval."""
    trees = model.booster_.booster_.trees_to_dataframe()
    splits = trees[trees["split_feature"].notna()]
    Xp = model._prepare(X)
    codes = {}
    for col in Xp.columns:
        if col in model.categorical_:
            codes[col] = Xp[col].cat.codes.to_numpy()
            continue
        ts = np.unique(pd.to_numeric(splits.loc[splits["split_feature"] == col, "threshold"], errors="coerce").dropna())
        v = Xp[col].to_numpy(dtype=float)
        codes[col] = np.where(np.isnan(v), -1, np.searchsorted(ts, v, side="left"))
    return pd.util.hash_pandas_object(pd.DataFrame(codes), index=False).to_numpy()


def raw_output(model, X: pd.DataFrame) -> np.ndarray:
    """What the contributions add up to: points for the scorecard, log-odds for the boosted model."""
    if hasattr(model, "points"):
        return model.points(X)
    return model.booster_.predict(model._prepare(X), raw_score=True)


# --- repair path -------------------------------------------------------------------------


def _apply(row: pd.Series, action: RepairAction) -> pd.Series:
    cat = catalogue()
    out = row.copy()
    for ind, to in action.sets.items():
        if ind not in out.index or pd.isna(out[ind]):
            continue
        target = row.get(to, np.nan) if isinstance(to, str) else float(to)
        if pd.isna(target):
            continue
        better = min if cat[ind].direction == "higher_worse" else max
        out[ind] = better(float(out[ind]), float(target))
    return out


def repair_path(row: pd.DataFrame, subject: str, champion, card=None, max_actions: int = 4) -> dict:
    """The smallest set of declared actions that lifts `row` (one subject's indicators, every
    column the models need) at least one grade; actions that change nothing are not offered.

    Returns {"grade", "pd", "reachable", "actions": [{name, text_en, text_zh, changes, grade, pd, tier}]},
    each action listed with the grade reached once it and the ones before it are done."""
    order = grades.rating_config().grades
    base = row.iloc[0]
    pd0 = float(champion.predict_proba(row)[:, 1][0])
    g0 = grades.grade_of(np.array([pd0]))[0]
    candidates = []
    for action in repair_actions():
        if action.subject != subject:
            continue
        after = _apply(base, action)
        changed = {k: (base[k], after[k]) for k in action.sets
                   if k in base.index and pd.notna(base[k]) and after[k] != base[k]}
        if changed:
            candidates.append((action, changed))
    result = {"grade": g0, "pd": pd0, "reachable": False, "actions": []}
    if not candidates:
        return result

    def frame(combos):
        rows = []
        for combo in combos:
            r = base.copy()
            for action, _ in combo:
                r = _apply(r, action)
            rows.append(r)
        return pd.DataFrame(rows, columns=row.columns).astype(row.dtypes.to_dict())

    best = None
    for k in range(1, min(max_actions, len(candidates)) + 1):
        combos = list(itertools.combinations(candidates, k))
        p = champion.predict_proba(frame(combos))[:, 1]
        g = grades.grade_of(p)
        better = [j for j in range(len(combos)) if order.index(g[j]) < order.index(g0)]
        if better:
            j = min(better, key=lambda j: p[j])
            best = combos[j]
            result["reachable"] = True
            break
    if best is None:  # no grade within reach: offer everything that helps, best first
        best = tuple(candidates)
    # list the chosen actions by how much each helps alone, with the grade reached step by step
    alone = champion.predict_proba(frame([(c,) for c in best]))[:, 1]
    ranked = [best[j] for j in np.argsort(alone)]
    steps = frame([ranked[: j + 1] for j in range(len(ranked))])
    p = champion.predict_proba(steps)[:, 1]
    points = card.points(steps) if card is not None else [None] * len(steps)
    tiers = grades.tier_of(np.asarray(points, float)) if card is not None else [None] * len(steps)
    for j, (action, changed) in enumerate(ranked):
        result["actions"].append({
            "name": action.name, "text_en": action.text.en, "text_zh": action.text.zh, "months": action.months,
            "changes": {k: {"from": _num(a), "to": _num(b)} for k, (a, b) in changed.items()},
            "grade": grades.grade_of(p[j:j + 1])[0], "pd": float(p[j]),
            "tier": None if card is None else str(tiers[j])})
    return result


def _num(v):
    return None if pd.isna(v) else float(v)
