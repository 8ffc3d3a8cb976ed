
import pandas as pd

from chengxin.pipelines.coverage import coverage
from chengxin.workdays import working_days


def test_working_days_know_the_national_day_holiday():
    wd = working_days()
    # 2024-09-30 (Mon) -> 2024-10-08 (Tue): 1-7 October are holidays, 12 October a swapped working Saturday
    a, b = pd.Series(pd.to_datetime(["2024-09-30"])), pd.Series(pd.to_datetime(["2024-10-08"]))
    assert wd.between(a, b)[0] == 1
    # outside the official range: Monday to Friday, and it says so
    a, b = pd.Series(pd.to_datetime(["2031-03-03"])), pd.Series(pd.to_datetime(["2031-03-10"]))
    assert wd.between(a, b)[0] == 5
    assert wd.fallback_used


def test_cells_cover_every_department_county_month(ingested_home, small_city):
    cells, summary = coverage(home=ingested_home)
    expected_cols = {"source", "department", "county", "county_name", "month", "received", "expected", "missing",
                     "months_missing", "late_publication_share", "median_upload_lag_days"}
    assert expected_cols <= set(cells.columns)
    tax = cells[cells["source"] == "tax"]
    assert tax.groupby("county")["month"].nunique().eq(18).all()
    assert summary["cells"] == len(cells)


def test_missing_months_are_real_gaps(ingested_home, small_city):
    """Every tax or social-insurance month the report calls missing is an upload the
    departments skipped (or one that had not arrived by the end of the window)."""
    cells, _ = coverage(home=ingested_home)
    plan = pd.read_csv(small_city[0] / "_truth" / "uploads.csv", dtype={"county": str})
    flagged = cells[cells["missing"] & cells["source"].isin(["tax", "social_insurance"])]
    assert len(flagged) > 0
    merged = flagged.merge(plan, on=["source", "county", "month"], how="left")
    months = sorted(plan["month"].unique())
    late_beyond = merged["delay_batches"] > 0
    assert ((merged["delay_batches"] < 0) | late_beyond).all()
    skipped = plan[(plan["delay_batches"] < 0) & plan["source"].isin(["tax", "social_insurance"])
                   & plan["month"].isin(months[3:])]
    found = skipped.merge(flagged, on=["source", "county", "month"])
    assert len(found) >= 0.8 * len(skipped)


def test_late_publication_share(ingested_home):
    cells, summary = coverage(home=ingested_home)
    lp = summary["late_publication"]
    # the generator publishes about 10% of penalties and 8% of licences late
    assert 0.03 < lp["share"] < 0.25
    assert cells.loc[cells["source"] == "penalty", "late_publication_share"].notna().any()
    assert cells.loc[cells["source"] == "tax", "late_publication_share"].isna().all()


def test_coverage_over_every_source_is_stored_for_the_read_model(ingested_home):
    """The snapshot stage reads the coverage `chengxin coverage` stored (it does not run the
    stage itself): over every source the cells and the summary are written to the catalog's
    places; a one-source report leaves them as they were."""
    import json

    from chengxin import catalog

    cells, summary = coverage(home=ingested_home)
    stored_cells = pd.read_parquet(catalog.coverage_cells(ingested_home))
    assert len(stored_cells) == len(cells) and set(stored_cells["source"]) == set(cells["source"])
    assert json.loads(catalog.coverage_summary(ingested_home).read_text("utf-8"))["cells"] == summary["cells"]
    before = catalog.coverage_summary(ingested_home).stat().st_mtime_ns
    only_tax, _ = coverage(home=ingested_home, source="tax")
    assert set(only_tax["source"]) == {"tax"}
    assert catalog.coverage_summary(ingested_home).stat().st_mtime_ns == before
    assert len(pd.read_parquet(catalog.coverage_cells(ingested_home))) == len(cells)
