"""Why a subject got its rating, and what would improve it.

- Contributions: for the public evaluation, each indicator's points short of its best
  (`PublicEvaluation.contributions`: the ranking the reasons read); with the best total as base
  value they add up exactly to the subject's points. For the boosted model,
  TreeSHAP values (LightGBM's native `pred_contrib`) in log-odds; with the base value they add
  up exactly to the model's raw score before calibration.
- Repair path: the smallest set of the credit-repair actions declared in
  ``chengxin/conf/repair.yaml`` that lifts the subject at least one master-scale grade under the
  champion, ordered by the public evaluation's points each wins back. Actions touch mutable indicators only and only in their better direction; penalties
  still inside their minimum publicity period stay (the `*_locked` helper indicators).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from typing import Annotated

from pydantic import Field, model_validator

from chengxin import config
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


class RepairActions(Strict):
    actions: tuple[RepairAction, ...]


def repair_actions() -> tuple[RepairAction, ...]:
    return config.declared("repair", RepairActions).actions


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


def boosted_contributions(model, X: pd.DataFrame, n_jobs: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
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
    """One subject's indicators after `action` (the rule `_apply_values` applies to many)."""
    frame = row.to_frame().T
    cols = [c for c in _touched([action]) if c in frame.columns]
    values = np.array(frame[cols].to_numpy(dtype=float))  # a writable copy
    _apply_values(values, {c: j for j, c in enumerate(cols)}, action)
    out = row.copy()
    out[cols] = values[0]
    return out


def _touched(actions) -> list[str]:
    """Every indicator the actions read or set."""
    return sorted({k for a in actions for k in a.sets} | {t for a in actions for t in a.sets.values() if isinstance(t, str)})


def _apply_values(values: np.ndarray, columns: dict[str, int], action: RepairAction) -> np.ndarray:
    """Apply `action` in place to a float matrix (rows: subjects; `columns`: indicator -> column):
    each indicator it sets moves to the target (a number, or another indicator's value before
    the action) only in its better direction; a missing value, or a missing target, stays."""
    cat = catalogue()
    before = values.copy()
    for ind, to in action.sets.items():
        if ind not in columns:
            continue
        if isinstance(to, str):
            if to not in columns:
                continue
            target = before[:, columns[to]]
        else:
            target = np.full(len(values), float(to))
        j = columns[ind]
        ok = ~np.isnan(values[:, j]) & ~np.isnan(target)
        better = np.minimum if cat[ind].direction == "higher_worse" else np.maximum
        values[ok, j] = better(values[ok, j], target[ok])
    return values


def repair_path(row: pd.DataFrame, subject: str, champion, card=None, max_actions: int = 4) -> dict:
    """The repair path of one subject (`repair_paths` of a one-row frame)."""
    return repair_paths(row, subject, champion, card, max_actions)[0]


def repair_paths(X: pd.DataFrame, subject: str, champion, card=None, max_actions: int = 4,
                 chunk: int = 20_000) -> list[dict]:
    """Per subject (a row of `X`: its indicators, every column the models need), the smallest set
    of declared actions that lifts it at least one grade under `champion`; actions that change
    nothing for it are not offered. Among the sets of the smallest size that reach a better
    grade, the one with the lowest PD; when none within `max_actions` does, every action that
    changes something, and `reachable` is False.

    Returns, per row, {"grade", "pd", "reachable", "actions": [{name, text_en, text_zh, months,
    changes, grade, pd, tier}]}: the chosen actions ordered by the public evaluation's points each
    wins back alone (`card`: the public evaluation; the ranking the reasons read), then by how much
    each lowers the PD alone, each with the grade and tier reached once it and the ones before it
    are done; the action winning back the most points is added when the set has room. Subjects are searched
    together, a set of actions at a time, in chunks of `chunk` rows."""
    X = X.reset_index(drop=True)
    out: list[dict] = []
    for lo in range(0, len(X), chunk):
        out += _repair_chunk(X.iloc[lo:lo + chunk].reset_index(drop=True), subject, champion, card, max_actions)
    return out


def _frame(X: pd.DataFrame, rows: np.ndarray, cols: list[str], values: np.ndarray) -> pd.DataFrame:
    """The rows `rows` of `X` with the indicators `cols` replaced by `values`, in `X`'s dtypes."""
    frame = X.iloc[rows].reset_index(drop=True)
    for j, c in enumerate(cols):
        frame[c] = pd.Series(values[:, j]).astype(X[c].dtype)
    return frame


def _repair_chunk(X: pd.DataFrame, subject: str, champion, card, max_actions: int) -> list[dict]:
    """Repair paths of the rows of `X` (one chunk), all at once: see `_RepairSearch`."""
    search = _RepairSearch(X, subject, champion)
    search.smallest_combinations(max_actions)
    search.add_the_action_for_points(card, max_actions)
    return search.paths(card)


class _RepairSearch:
    """The search for every row's repair path, vectorised over the rows: each action's effect
    alone; for k = 1, 2, ... the first combination of k actions that reaches a better grade (or,
    out of reach, every action that helps); the action winning back the most public-evaluation
    points added when there is room; then the chosen actions in order, each step's grade, PD and
    tier. The phases are methods sharing the rows' arrays."""

    def __init__(self, X: pd.DataFrame, subject: str, champion):
        self.X, self.champion = X, champion
        self.rank = {g: i for i, g in enumerate(grades.rating_config().grades)}
        self.actions = [a for a in repair_actions() if a.subject == subject]
        self.cols = [c for c in _touched(self.actions) if c in X.columns]
        self.columns = {c: j for j, c in enumerate(self.cols)}
        self.base = X[self.cols].astype(float).to_numpy() if self.cols else np.empty((len(X), 0))
        self.p0 = champion.predict_proba(X)[:, 1] if len(X) else np.array([])
        self.g0 = grades.grade_of(self.p0)
        self.g0_rank = np.array([self.rank[g] for g in self.g0], dtype=int)
        # what each action changes for each subject, alone
        self.changed, self.after, self.applied = [], [], []
        for a in self.actions:
            v = _apply_values(self.base.copy(), self.columns, a)
            own = [self.columns[k] for k in a.sets if k in self.columns]
            self.changed.append(~np.isnan(self.base[:, own]) & (v[:, own] != self.base[:, own]))
            self.after.append(v[:, own])
            self.applied.append(v)
        self.candidate = (np.column_stack([c.any(axis=1) for c in self.changed]) if self.actions
                          else np.zeros((len(X), 0), bool))
        self.best: list[tuple | None] = [None] * len(X)
        self.reachable = np.zeros(len(X), dtype=bool)
        self.alone = np.full(self.candidate.shape, np.nan)  # PD after each action alone
        self.added: list[int | None] = [None] * len(X)  # the action joined for the points, not the grade

    def smallest_combinations(self, max_actions: int) -> None:
        """For each row the first combination of the fewest actions reaching a better grade (the
        lowest PD among those); out of reach, every action that helps."""
        base, columns, actions = self.base, self.columns, self.actions
        open_ = self.candidate.any(axis=1)
        for k in range(1, max_actions + 1):
            combos, rows, vals = [], [], []
            for combo in itertools.combinations(range(len(actions)), k):
                idx = np.flatnonzero(open_ & self.candidate[:, list(combo)].all(axis=1))
                if not len(idx):
                    continue
                v = base[idx].copy()
                for a in combo:
                    _apply_values(v, columns, actions[a])
                combos += [combo] * len(idx)
                rows.append(idx)
                vals.append(v)
            if not rows:
                break
            rows_ = np.concatenate(rows)
            p = self.champion.predict_proba(_frame(self.X, rows_, self.cols, np.concatenate(vals)))[:, 1]
            if k == 1:
                self.alone[rows_, [c[0] for c in combos]] = p
            tried = pd.DataFrame({"row": rows_, "seq": np.arange(len(rows_)), "p": p})
            tried = tried[np.array([self.rank[g] for g in grades.grade_of(p)]) < self.g0_rank[rows_]]
            for r, seq in tried.sort_values(["row", "p", "seq"]).drop_duplicates("row")[["row", "seq"]].itertuples(index=False):
                self.best[r] = combos[seq]
                self.reachable[r] = True
            open_[tried["row"].unique()] = False
        for r in np.flatnonzero(open_):  # no better grade within reach: every action that helps
            self.best[r] = tuple(np.flatnonzero(self.candidate[r]))

    def add_the_action_for_points(self, card, max_actions: int) -> None:
        """The action winning back the most public-evaluation points alone joins the path when
        there is room (`gain`: the points each action wins back alone, for the ranking)."""
        X, candidate = self.X, self.candidate
        self.gain = np.zeros(candidate.shape)
        if card is not None and hasattr(card, "points") and len(X) and self.actions:
            now = np.asarray(card.points(X), float)
            everyone = np.arange(len(X))
            for a in range(len(self.actions)):
                if candidate[:, a].any():
                    self.gain[:, a] = np.where(candidate[:, a], np.asarray(card.points(
                        _frame(X, everyone, self.cols, self.applied[a])), float) - now, 0.0)
        for r, combo in enumerate(self.best):
            top = int(np.argmax(self.gain[r])) if self.gain.shape[1] else 0
            if combo and self.gain.shape[1] and self.gain[r, top] > 0 and top not in combo and len(combo) < max_actions:
                self.best[r], self.added[r] = (*combo, top), top
                if np.isnan(self.alone[r, top]):
                    self.alone[r, top] = 1.0

    def paths(self, card) -> list[dict]:
        """The chosen actions in the order of the points each wins back alone (the ranking the
        reasons and the contribution chart read), then of how much each lowers the PD alone; each
        step applied in turn, with the grade, PD and tier after it."""
        alone, gain, actions, columns = self.alone, self.gain, self.actions, self.columns
        ranked = {r: [combo[j] for j in np.lexsort((alone[r, list(combo)].round(12), -gain[r, list(combo)]))]
                  for r, combo in enumerate(self.best) if combo}
        steps: dict[int, list] = {r: [] for r in ranked}
        current = self.base.copy()
        for j in range(max((len(v) for v in ranked.values()), default=0)):
            at = np.array([r for r, v in ranked.items() if len(v) > j], dtype=int)
            for a in range(len(actions)):
                mine = at[[ranked[r][j] == a for r in at]]
                if len(mine):
                    current[mine] = _apply_values(current[mine], columns, actions[a])
            frame = _frame(self.X, at, self.cols, current[at])
            p = self.champion.predict_proba(frame)[:, 1]
            tiers = card.tier(np.asarray(card.points(frame), float)) if card is not None else [None] * len(at)
            for r, pj, g, t in zip(at, p, grades.grade_of(p), tiers):
                steps[r].append((float(pj), g, None if t is None else str(t)))
        out = []
        for r in range(len(self.X)):
            result = {"grade": self.g0[r], "pd": float(self.p0[r]), "reachable": bool(self.reachable[r]), "actions": []}
            for a, (pj, g, t) in zip(ranked.get(r, []), steps.get(r, [])):
                action, own = actions[a], [k for k in actions[a].sets if k in columns]
                result["actions"].append({
                    "name": action.name, "text_en": action.text.en, "text_zh": action.text.zh, "months": action.months,
                    "changes": {k: {"from": _num(self.base[r, columns[k]]), "to": _num(self.after[a][r, i])}
                                for i, k in enumerate(own) if self.changed[a][r, i]},
                    "grade": g, "pd": pj, "tier": t, "for_points": a == self.added[r]})
            out.append(result)
        return out


def _num(v):
    return None if pd.isna(v) else float(v)
