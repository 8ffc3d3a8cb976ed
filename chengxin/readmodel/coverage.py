"""Data coverage: uploads per department x county x month, late publications, missing months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chengxin import config, i18n
from chengxin.readmodel.lookup import source_label
from chengxin.readmodel.snapshot import Snapshot, coverage_cells


def coverage_matrix(snap: Snapshot, lang: str = "zh", months: int = 12) -> pd.DataFrame:
    """Share of judged months uploaded (not missing) per source-department x county over the
    last `months` months; NaN where nothing was judged."""
    cells = coverage_cells(snap)
    if cells.empty:
        return pd.DataFrame()
    recent = sorted(cells["month"].unique())[-months:]
    c = cells[cells["month"].isin(recent) & cells["judged"]]
    by_department = [s.name for s in config.sources() if s.double_publicity]  # each record names its department
    c = c.assign(unit=c["source"].map(lambda s: source_label(s, lang)) + np.where(
        c["source"].isin(by_department), " · " + c["department"].astype(str), ""),
        place=c["county"].map(lambda x: i18n.county(x, lang)))
    m = c.groupby(["unit", "place"])["missing"].agg(lambda s: 1 - s.mean()).unstack("place")
    return m


def late_publications(snap: Snapshot, lang: str = "zh") -> pd.DataFrame:
    cells = coverage_cells(snap)
    if cells.empty or "published" not in cells:
        return pd.DataFrame()
    c = cells[cells["published"].fillna(0) > 0]
    g = c.groupby(["source", "department"]).agg(published=("published", "sum"), late=("published_late", "sum")).reset_index()
    g["late_share"] = g["late"] / g["published"]
    g["source"] = g["source"].map(lambda s: source_label(s, lang))
    return g.sort_values("late_share", ascending=False, ignore_index=True)


def missing_months(snap: Snapshot, lang: str = "zh", top: int = 20) -> pd.DataFrame:
    cells = coverage_cells(snap)
    if cells.empty:
        return pd.DataFrame()
    m = cells[cells["missing"]].groupby(["source", "department", "county"]).agg(
        months_missing=("missing", "sum"), last_missing=("month", "max")).reset_index()
    m["source"] = m["source"].map(lambda s: source_label(s, lang))
    m["county"] = m["county"].map(lambda x: i18n.county(x, lang))
    return m.sort_values("months_missing", ascending=False, ignore_index=True).head(top)
