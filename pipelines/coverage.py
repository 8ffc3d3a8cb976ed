"""Data coverage for the credit office: who uploads what, for which county and month, and how late.

Per department x county x month: records received, records expected (the median of the
department's earlier months for that county), whether the month is missing, the median
upload lag, and for penalties and licences (double publicity) the share published more than
the configured number of working days after the decision.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from chengxin import catalog, config, warehouse, workspace
from chengxin.workdays import WorkingDays, working_days



def _department_expr(source: config.Source) -> str:
    for column in ("deciding_department", "department"):
        if column in source.column_names:
            return column
    return f"'{source.department.zh}'"


def _month_expr(source: config.Source) -> str:
    return f"date_trunc('month', \"{source.event_date}\")"


def coverage(home=None, source: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Cells (source x department x county x month) and a summary. Over every source, both are
    also stored (`catalog.coverage_cells`, `catalog.coverage_summary`) for the read model."""
    cells, summary = _measure(home, source)
    if source is None:
        store(cells, summary, home)
    return cells, summary


def store(cells: pd.DataFrame, summary: dict, home=None) -> None:
    """Write the coverage where the dashboard's snapshot stage reads it (each file replaced whole)."""
    import json

    workspace.ensure(home)
    path = catalog.coverage_summary(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells_path = catalog.coverage_cells(home)
    if len(cells):
        cells.to_parquet(cells_path.with_suffix(".partial"), index=False)
        cells_path.with_suffix(".partial").replace(cells_path)
    else:
        cells_path.unlink(missing_ok=True)
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, default=str), "utf-8")
    tmp.replace(path)


def _measure(home=None, source: str | None = None) -> tuple[pd.DataFrame, dict]:
    s = config.settings(home).coverage
    catalogue = config.sources()
    wanted = [catalogue[source]] if source else [x for x in catalogue if not x.is_reference and x.grain != "entity"]
    frames = []
    late_frames = []
    with warehouse.connect(home, read_only=True) as con:
        for src in wanted:
            frames.append(con.execute(f"""
                SELECT '{src.name}' AS source, {_department_expr(src)} AS department, subject_county AS county,
                       CAST({_month_expr(src)} AS DATE) AS month, count(*) AS received,
                       median(date_diff('day', CAST({_month_expr(src)} + INTERVAL 1 MONTH AS DATE), received_date)) AS median_upload_lag_days
                FROM {src.table} WHERE {warehouse.CURRENT} GROUP BY ALL""").df())
            if src.double_publicity:
                late_frames.append(con.execute(f"""
                    SELECT '{src.name}' AS source, {_department_expr(src)} AS department, subject_county AS county,
                           CAST({_month_expr(src)} AS DATE) AS month, "{src.event_date}" AS decision_date, publication_date,
                           {src.due_working_days(s)} AS due_working_days
                    FROM {src.table} WHERE {warehouse.CURRENT} AND publication_date IS NOT NULL""").df())
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if cells.empty:
        return cells, {"cells": 0}
    cells = _complete_grid(cells)
    cells = _expected_and_missing(cells, s)
    wd = working_days()
    if late_frames:
        pub = pd.concat(late_frames, ignore_index=True)
        pub["late"] = wd.between(pd.to_datetime(pub["decision_date"]), pd.to_datetime(pub["publication_date"])) > pub["due_working_days"]
        late = pub.groupby(["source", "department", "county", "month"], as_index=False).agg(
            published=("late", "size"), published_late=("late", "sum"))
        late["month"] = pd.to_datetime(late["month"])
        cells = cells.merge(late, on=["source", "department", "county", "month"], how="left")
        cells["late_publication_share"] = (cells["published_late"] / cells["published"]).round(4)
    else:
        cells["published"] = cells["published_late"] = cells["late_publication_share"] = np.nan
    city = config.city()
    cells.insert(3, "county_name", [city.county_name(c) for c in cells["county"]])
    cells["month"] = pd.to_datetime(cells["month"]).dt.strftime("%Y-%m")
    summary = _summary(cells, wd, s)
    summary["late_publication"]["by_department"] = _late_by_department(pub) if late_frames else []
    return cells, summary


def _late_by_department(pub: pd.DataFrame) -> list[dict]:
    """Per source and department: its deadline, publications and the share published late."""
    g = pub.groupby(["source", "department", "due_working_days"], as_index=False).agg(
        published=("late", "size"), published_late=("late", "sum"))
    g["share"] = (g["published_late"] / g["published"]).round(4)
    g["published_late"] = g["published_late"].astype(int)
    return g.to_dict(orient="records")


def _complete_grid(cells: pd.DataFrame) -> pd.DataFrame:
    """Every department x county x month between a source's first and last month, zeros included."""
    cells["month"] = pd.to_datetime(cells["month"])
    parts = []
    for src, g in cells.groupby("source"):
        months = pd.date_range(g["month"].min(), g["month"].max(), freq="MS")
        units = g[["department", "county"]].drop_duplicates()
        grid = units.merge(pd.DataFrame({"month": months}), how="cross")
        grid.insert(0, "source", src)
        parts.append(grid.merge(g, on=["source", "department", "county", "month"], how="left"))
    out = pd.concat(parts, ignore_index=True)
    out["received"] = out["received"].fillna(0).astype(int)
    return out.sort_values(["source", "department", "county", "month"], ignore_index=True)


def _expected_and_missing(cells: pd.DataFrame, s: config.CoverageSettings) -> pd.DataFrame:
    def expected(g: pd.Series) -> pd.Series:
        history = g.where(g > 0).shift(1)
        return history.rolling(s.expected_window_months, min_periods=3).median()

    cells["expected"] = (cells.groupby(["source", "department", "county"])["received"].transform(expected).round(1))
    # Too few records expected to tell a gap from a quiet month: not judged.
    seasonal = [x.name for x in config.sources() if x.seasonal]
    cells["judged"] = (cells["expected"].notna() & (cells["expected"] >= s.min_expected_records)
                       & ~cells["source"].isin(seasonal))
    cells["missing"] = cells["judged"] & (cells["received"] < s.missing_below_share * cells["expected"])
    cells["months_missing"] = cells.groupby(["source", "department", "county"])["missing"].transform("sum").astype(int)
    return cells


def _summary(cells: pd.DataFrame, wd: WorkingDays, s: config.CoverageSettings) -> dict:
    by_dept = cells.groupby(["source", "department"]).agg(
        counties=("county", "nunique"), months=("month", "nunique"), received=("received", "sum"),
        missing_cells=("missing", "sum"), median_upload_lag_days=("median_upload_lag_days", "median"),
    ).reset_index()
    by_dept["missing_cells"] = by_dept["missing_cells"].astype(int)
    worst = cells[cells["missing"]].groupby(["source", "department", "county", "county_name"]).size() \
        .sort_values(ascending=False).head(10).reset_index(name="months_missing")
    published = cells["published"].sum()
    return {
        "cells": int(len(cells)),
        "months": [cells["month"].min(), cells["month"].max()],
        "missing_cells": int(cells["missing"].sum()),
        "missing_share": round(float(cells["missing"].mean()), 4),
        "by_department": by_dept.to_dict(orient="records"),
        "most_missing": worst.to_dict(orient="records"),
        "late_publication": {
            "due_working_days": s.publication_due_working_days,
            "published": int(published),
            "share": round(float(cells["published_late"].sum() / published), 4) if published else None,
            "calendar": f"official working days {wd.official_range[0]}..{wd.official_range[1]}"
                        + ("; Monday-Friday used outside that range" if wd.fallback_used else ""),
        },
    }
