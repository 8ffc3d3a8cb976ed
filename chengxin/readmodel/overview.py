"""Counts of rated subjects by county, industry, tier and grade, for the overview.
"""

from __future__ import annotations

import pandas as pd

from chengxin import i18n
from chengxin.readmodel.snapshot import SUMMARY, Snapshot, ratings
from chengxin.readmodel.rows import _parquet


def _summary(snap: Snapshot, subject: str) -> pd.DataFrame:
    """Rated subjects counted by county, industry, tier and grade (one snapshot file)."""
    path = snap.path / SUMMARY
    if path.exists():
        s = _parquet(path)
        return s[s["subject_type"] == subject]
    r = ratings(snap, subject)  # a snapshot made before the summary existed
    return r.groupby(["county", "industry", "tier", "grade"], dropna=False).size().rename("count").reset_index() \
        if len(r) else pd.DataFrame(columns=["county", "industry", "tier", "grade", "count"])


def rated_count(snap: Snapshot, subject: str = "enterprise") -> int:
    return int(_summary(snap, subject)["count"].sum())


def distribution(snap: Snapshot, column: str, subject: str = "enterprise") -> pd.DataFrame:
    """Counts and shares of tiers or grades, in the configured order."""
    from chengxin.models import grades

    cfg = grades.rating_config()
    order = [t.tier for t in cfg.public_tiers] if column == "tier" else cfg.grades
    counts = _summary(snap, subject).groupby(column)["count"].sum().reindex(order, fill_value=0)
    out = counts.rename("count").rename_axis(column).reset_index()
    out["share"] = out["count"] / max(1, out["count"].sum())
    return out


def tier_table(lang: str = "zh") -> pd.DataFrame:
    """The public tiers, their meaning and the supervision measures they trigger."""
    from chengxin.models import grades

    return pd.DataFrame([{"tier": t.tier, "words": getattr(t, lang), "measures": getattr(t.measures, lang)}
                         for t in grades.rating_config().public_tiers])


def tiers_by(snap: Snapshot, by: str, subject: str = "enterprise", lang: str = "zh") -> pd.DataFrame:
    """Tier shares by county or industry: long format (by, label, tier, count, share)."""
    summary = _summary(snap, subject)
    if summary.empty or by not in summary or summary[by].isna().all():
        return pd.DataFrame(columns=[by, "label", "tier", "count", "share"])
    g = summary.groupby([by, "tier"])["count"].sum().reset_index()
    g = g[g["count"] > 0]
    g["share"] = g["count"] / g.groupby(by)["count"].transform("sum")
    g["label"] = g[by].map(lambda x: i18n.county(x, lang) if by == "county" else i18n.industry(x, lang))
    return g
