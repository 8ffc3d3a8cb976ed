"""Reason codes: the factors that cost a subject the most points, as short sentences in both
languages from the indicator declarations and the subject's values; a subject in default is
explained first by the record that put it there."""

from __future__ import annotations

import numpy as np
import pandas as pd

from chengxin.features.catalogue import catalogue
from chengxin.models.thresholds import unit_of

REASONS = 3
MATERIAL_POINTS = 5.0  # a shortfall smaller than this is not worth a reason


MISSING_EN = "no data reported (scored as the criteria set for missing data)"
MISSING_ZH = "无数据（按评价标准的缺失值计分）"


def _text(value, missing: str = MISSING_EN, unit: str | None = None, lang: str = "en",
          levels: dict[float, str] | None = None) -> str:
    """A value as a person reads it: a share in percent, an amount with thousands separators (its
    unit is in the indicator's name), years and days with their unit, a coded grade as its letter
    (`levels`), any other number with at most two decimals."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if levels and v in levels:
            return levels[v]
        if unit == "share":
            return f"{v * 100:.0f}%"
        if unit == "amount":  # the indicator's name carries its unit (（元）, （万元）)
            return f"{v:,.0f}"
        if unit == "years":
            return f"{v:.1f} 年" if lang == "zh" else f"{v:.1f} years"
        if unit == "days":
            return f"{v:.0f} 天" if lang == "zh" else f"{v:.0f} days"
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(value)


# which way an indicator's value should move, in words (its declared direction)
BETTER = {"higher_worse": ("越低越好", "lower is better"), "higher_better": ("越高越好", "higher is better")}


def levels_of(indicator) -> dict[float, str]:
    """A coded indicator's codes back to what they code (a tax grade's 1..5 to A..D), read off its
    declared value (`CASE col WHEN 'A' THEN 1 ...`); empty for any other."""
    import re

    pairs = re.findall(r"WHEN\s+'([^']+)'\s+THEN\s+(-?\d+(?:\.\d+)?)", indicator.value or "")
    return {float(n): code for code, n in pairs}


def change(indicator, before, after, unit: str | None, lang: str) -> str:
    """A month's change of an indicator as a person reads it: both values in their unit and, when
    the indicator has a direction, whether the move is for the worse or the better."""
    levels = levels_of(indicator)
    name = indicator.zh if lang == "zh" else indicator.description.en
    missing = MISSING_ZH if lang == "zh" else MISSING_EN
    a, b = (_text(v, missing, unit, lang, levels) for v in (before, after))
    moved = ""
    if indicator.direction in BETTER and all(isinstance(v, (int, float, np.number)) and not np.isnan(v) for v in (before, after)) \
            and before != after:
        worse = (after > before) == (indicator.direction == "higher_worse")
        moved = ("（变差）" if worse else "（好转）") if lang == "zh" else (" (worse)" if worse else " (better)")
    return f"{name} {a}→{b}{moved}" if lang == "zh" else f"{name} {a} -> {b}{moved}"


def phrasing(indicator, unit: str | None, lang: str):
    """`sentence` for one indicator, with its name, codes and direction worked out once: a scoring
    run phrases a reason for each of a city's subjects."""
    levels = levels_of(indicator)
    name = indicator.zh if lang == "zh" else indicator.description.en
    if levels:  # the declared words say how the codes run (A=1…D=5): the value is the code's letter
        name = name.split("（")[0] if lang == "zh" else name.split(",")[0]
    missing = MISSING_ZH if lang == "zh" else MISSING_EN
    way = BETTER.get(indicator.direction)
    if levels and way:  # the codes run from best to worst or back: name the best one
        best = levels[min(levels) if indicator.direction == "higher_worse" else max(levels)]
        way = (f"{best} 最好", f"{best} is best")
    head, tail = (f"{name}：", f"（{way[0]}）" if way else "") if lang == "zh" else (f"{name}: ", f" ({way[1]})" if way else "")

    def phrase(value) -> str:
        absent = value is None or (isinstance(value, float) and np.isnan(value))
        return head + _text(value, missing, unit, lang, levels) + ("" if absent else tail)
    return phrase


def sentence(indicator, value, unit: str | None, lang: str) -> str:
    """One reason: the indicator, the subject's value as a person reads it, and which way it
    should move."""
    return phrasing(indicator, unit, lang)(value)


# the columns of one reason, by suffix: English text, Chinese text, code (the indicator), points lost
PARTS = ("", "_zh", "_code", "_points")
DEFAULT_CODE = "in_default"  # the code of the reason "a record put the subject in default"


def columns(k: int = REASONS) -> list[str]:
    """The reason columns of a ratings table: reason_1..k, then their _zh, _code and _points."""
    return [f"reason_{j + 1}{part}" for part in PARTS for j in range(k)]


def reasons(card, X: pd.DataFrame, k: int = REASONS, by_indicator=None) -> pd.DataFrame:
    """The top adverse factors: short sentences in both languages from the declarations and the
    subject's values, the indicator as the reason's code, and the points it costs (short of the
    indicator's best bin). `card`: the public evaluation (or a scorecard): the reasons rank what
    the contribution chart shows, points short of each indicator's best."""
    cat = catalogue()
    # a category (county, industry, legal form) is not something to hold against a subject or to fix
    categories = [c for c in card.selected_ if cat[c].kind == "category"]
    adverse = card.adverse(X, k, MATERIAL_POINTS, by_indicator, categories)
    picked = np.array([[a[0] if a else None for a in row] for row in adverse], dtype=object).reshape(len(X), k)
    lost = np.array([[a[1] if a else np.nan for a in row] for row in adverse], dtype=float).reshape(len(X), k)
    out = {}
    for j in range(k):
        en = np.full(len(X), None, dtype=object)
        zh = np.full(len(X), None, dtype=object)
        for name in pd.unique(picked[:, j][pd.notna(picked[:, j])]):
            rows = picked[:, j] == name
            ind = cat[name]
            raw = X[name].to_numpy()[rows]
            unit = unit_of(ind, cat)
            # a missing value is no fact about the subject: said as missing data, scored as declared
            in_en, in_zh = phrasing(ind, unit, "en"), phrasing(ind, unit, "zh")
            en[rows] = [in_en(v) for v in raw]
            zh[rows] = [in_zh(v) for v in raw]
        out[f"reason_{j + 1}"], out[f"reason_{j + 1}_zh"] = en, zh
        out[f"reason_{j + 1}_code"], out[f"reason_{j + 1}_points"] = picked[:, j], np.round(lost[:, j], 1)
    return pd.DataFrame(out, index=X.index)[columns(k)]


def rule_code(rule: str) -> str:
    """The reason code of a direct-tier rule: `in_default` for the rule of subjects in default."""
    return DEFAULT_CODE if rule == DEFAULT_CODE else f"tier_rule:{rule}"


def lead_with_rule(reasons_frame: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """For a subject whose tier a direct rule forces, that rule and its record (`forced_reason`,
    `_zh`, `forced_rule` from `score.standing`; no points: the tier holds whatever the points) are
    the first reason, and the points' reasons follow it."""
    if "forced_reason" not in feats:
        return reasons_frame
    lead = feats["forced_reason"].notna().to_numpy()
    if not lead.any():
        return reasons_frame
    out = reasons_frame.copy()
    k = sum(1 for c in out.columns if c.startswith("reason_") and c.removeprefix("reason_").isdigit())
    first = {"": feats.loc[lead, "forced_reason"].to_numpy(), "_zh": feats.loc[lead, "forced_reason_zh"].to_numpy(),
             "_code": [rule_code(r) for r in feats.loc[lead, "forced_rule"]], "_points": np.nan}
    for suffix, value in first.items():
        if f"reason_1{suffix}" not in out:
            continue
        for j in range(k, 0, -1):
            if suffix != "_points":  # texts and codes: a column of None alone must take text
                out[f"reason_{j}{suffix}"] = out[f"reason_{j}{suffix}"].astype(object)
        for j in range(k, 1, -1):  # shift the points' reasons down by one
            out.loc[lead, f"reason_{j}{suffix}"] = out.loc[lead, f"reason_{j - 1}{suffix}"]
        out.loc[lead, f"reason_1{suffix}"] = value
    return out
