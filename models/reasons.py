"""Reason codes: the factors that cost a subject the most points, as short sentences in both
languages from the indicator declarations and the subject's values; a subject in default is
explained first by the record that put it there."""

from __future__ import annotations

import numpy as np
import pandas as pd

from chengxin.features.catalogue import catalogue

REASONS = 3
MATERIAL_POINTS = 5.0  # a shortfall smaller than this is not worth a reason


def _text(value, missing: str = "no data") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def reasons(card, X: pd.DataFrame, k: int = REASONS, by_indicator=None) -> pd.DataFrame:
    """The top adverse factors as short sentences from the declarations and the subject's values."""
    cat = catalogue()
    # a category (county, industry, legal form) is not something to hold against a subject or to fix
    categories = [c for c in card.selected_ if cat[c].kind == "category"]
    picked = np.array(card.shortfalls(X, k, MATERIAL_POINTS, by_indicator, categories), dtype=object).reshape(len(X), k)
    out = {}
    for j in range(k):
        en = np.full(len(X), None, dtype=object)
        zh = np.full(len(X), None, dtype=object)
        for name in pd.unique(picked[:, j][pd.notna(picked[:, j])]):
            rows = picked[:, j] == name
            ind = cat[name]
            raw = X[name].to_numpy()[rows]
            en[rows] = [f"{ind.description.en}: {_text(v)}" for v in raw]
            zh[rows] = [f"{ind.zh}：{_text(v, '无数据')}" for v in raw]
        out[f"reason_{j + 1}"], out[f"reason_{j + 1}_zh"] = en, zh
    order = [f"reason_{j + 1}" for j in range(k)] + [f"reason_{j + 1}_zh" for j in range(k)]
    return pd.DataFrame(out, index=X.index)[order]


def lead_with_default(reasons_frame: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """For a subject in default, the record that put it there (`default_reason`, `_zh` from
    `snapshots.in_default`) is the first reason, and the scorecard's reasons follow it."""
    if "default_reason" not in feats:
        return reasons_frame
    lead = feats["default_reason"].notna().to_numpy() & feats["in_default"].fillna(False).astype(bool).to_numpy()
    if not lead.any():
        return reasons_frame
    out = reasons_frame.copy()
    k = sum(1 for c in out.columns if c.startswith("reason_") and not c.endswith("_zh"))
    for suffix, source in (("", "default_reason"), ("_zh", "default_reason_zh")):
        for j in range(k, 1, -1):  # shift the scorecard's reasons down by one
            out.loc[lead, f"reason_{j}{suffix}"] = out.loc[lead, f"reason_{j - 1}{suffix}"]
        out.loc[lead, f"reason_1{suffix}"] = feats.loc[lead, source].to_numpy()
    return out
