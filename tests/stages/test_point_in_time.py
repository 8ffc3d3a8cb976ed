"""A brute-force point-in-time reference for the indicator engine, as Feast tests its joins.

A small city is generated and ingested; the stored records are read out of the DuckDB warehouse
as they are (a plain SELECT *, read-only), and a handful of indicators are recomputed from them
with pandas alone, straight from the rules the office states:

- a record counts in the version the platform held on the as-of date: of the versions sharing its
  natural key (`sources.yaml` `key`), the last one received on or before that date (versions are
  ordered here by received date and ingest order; the warehouse's `_superseded_on` bookkeeping
  is not used, so it is tested too);
- events count by their own date inside the window: after the day `window_months` calendar months
  before the as-of date, up to and including the as-of date;
- the subjects are the enterprises active in the register (as known then) and registered by then,
  or the residents known then;
- an indicator is missing (not zero) when its source had no upload for the subject's county inside
  the window; otherwise counts, sums and flags of subjects without records are 0.

The engine's SQL (`chengxin.features.engine.compute`) must agree exactly (floats to 1e-9) on every
subject at every as-of date. The as-of dates include the day a corrected re-upload arrived and the
day before, and a test checks that ignoring versions or received dates would change the answer,
so the comparison has teeth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from chengxin import config, warehouse
from chengxin.features import engine
from chengxin.features.catalogue import catalogue

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SOURCES = ["registration", "resident", "tax", "courts", "finance"]
FIXED_DATES = [dt.date(2023, 6, 30), dt.date(2023, 11, 15), dt.date(2024, 2, 29), dt.date(2024, 6, 30)]


# --------------------------------------------------------------------------------- the city


@pytest.fixture(scope="module")
def pit_home(tmp_path_factory):
    from chengxin.city import generate
    from chengxin.pipelines.ingest import ingest

    root = tmp_path_factory.mktemp("pit")
    generate(root / "city", 200, 200, 18, seed=11)
    home = root / "home"
    ingest(root / "city", home=home)
    return home


@pytest.fixture(scope="module")
def stored(pit_home) -> dict[str, pd.DataFrame]:
    """Every stored version of every record of the sources read here, as pandas frames."""
    out = {}
    with warehouse.connect(pit_home, read_only=True) as con:
        for name in SOURCES:
            frame = con.execute(f"SELECT * FROM {config.sources()[name].table}").df()
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = pd.to_datetime(frame[col]).dt.normalize()
            out[name] = frame
    return out


def _corrections(records: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The versions that replaced an earlier one (a later version of the same key)."""
    ordered = records.sort_values(["received_date", "_seq"], kind="stable")
    return ordered[ordered.duplicated(key, keep="first")]


@pytest.fixture(scope="module")
def as_of_dates(stored) -> list[dt.date]:
    """Month ends and mid-months, plus the day the first corrected tax and finance records of
    each subject type arrived and the day before (each version is current on one of them)."""
    days = set(FIXED_DATES)
    for name in ("tax", "finance"):
        fixed = _corrections(stored[name], list(config.sources()[name].key))
        assert len(fixed), f"the city has no corrected {name} record to test versions with"
        for _, of_type in fixed.groupby("subject_type"):
            first = of_type["received_date"].min().date()
            days |= {first, first - dt.timedelta(days=1)}
    return sorted(days)


@pytest.fixture(scope="module")
def computed(pit_home, as_of_dates) -> dict[tuple[str, dt.date], pd.DataFrame]:
    return {(subject, day): engine.compute(day, subject, home=pit_home).set_index("subject_id")
            for subject in ("enterprise", "individual") for day in as_of_dates}


# ------------------------------------------------------------------------------ the reference


class Records:
    """The records as the office knew them on a day, from every stored version.

    hindsight=True forgets point in time (every record in its final version, whenever it
    arrived): only for showing that the comparison would notice."""

    def __init__(self, stored: dict[str, pd.DataFrame], as_of: dt.date, hindsight: bool = False):
        self.stored, self.as_of, self.hindsight = stored, pd.Timestamp(as_of), hindsight

    def known(self, source: str) -> pd.DataFrame:
        rows = self.stored[source]
        if not self.hindsight:
            rows = rows[rows["received_date"] <= self.as_of]
        rows = rows.sort_values(["received_date", "_seq"], kind="stable")
        return rows.drop_duplicates(list(config.sources()[source].key), keep="last")

    def population(self, subject: str) -> pd.Series:
        """subject_id -> county of the subjects rated on the day."""
        if subject == "enterprise":
            reg = self.known("registration")
            reg = reg[(reg["status"] == "active") & (reg["registration_date"] <= self.as_of)]
        else:
            reg = self.known("resident")
        return reg.set_index("subject_id")["subject_county"]

    def window(self, source: str, subject: str, months: int) -> pd.DataFrame:
        """The source's records of `subject`s with their event inside the last `months` months."""
        rows = self.known(source)
        rows = rows[rows["subject_type"] == subject]
        event = rows[config.sources()[source].event_date]
        start = self.as_of - pd.DateOffset(months=months)
        return rows[(event > start) & (event <= self.as_of)]

    def indicator(self, subject: str, rows: pd.DataFrame, per_subject: pd.Series, zero: bool) -> pd.Series:
        """Per-subject values over the population: 0 (zero=True) or missing without records,
        missing in a county the source sent nothing for inside the window (`rows`)."""
        pop = self.population(subject)
        values = pd.Series(pop.index.map(per_subject), index=pop.index, dtype="float64")
        if zero:
            values = values.fillna(0.0)
        covered = pop.isin(set(rows["subject_county"]))
        return values.where(covered)


def _latest(rows: pd.DataFrame, event: str, value: str, how: str) -> pd.Series:
    """Per subject, the value(s) at its latest event: their max, or their sum."""
    last = rows.groupby("subject_id")[event].transform("max")
    at_last = rows[rows[event] == last]
    grouped = at_last.groupby("subject_id")[value]
    return grouped.max() if how == "max" else grouped.sum()


def enforcement_new_12m(r: Records) -> pd.Series:
    """Enforcement cases opened against the firm in the last 12 months (courts: both subject types)."""
    rows = r.window("courts", "enterprise", 12)
    hits = rows[rows["event_type"] == "enforcement_opened"]
    return r.indicator("enterprise", rows, hits.groupby("subject_id").size(), zero=True)


def consumption_restricted(r: Records) -> pd.Series:
    """1 if a consumption restriction was ordered against the firm in the last 36 months."""
    rows = r.window("courts", "enterprise", 36)
    hits = rows[rows["event_type"] == "consumption_restriction"]
    return r.indicator("enterprise", rows, pd.Series(1.0, index=hits["subject_id"].unique()), zero=True)


def tax_arrears_amount_latest(r: Records) -> pd.Series:
    """Arrears in the firm's latest tax return of the last 3 months (missing without one)."""
    rows = r.window("tax", "enterprise", 3)
    return r.indicator("enterprise", rows, _latest(rows, "period", "arrears_amount", "max"), zero=False)


def tax_ontime_rate_12m(r: Records) -> pd.Series:
    """Share of the firm's tax returns of the last 12 months filed on time (missing without any)."""
    rows = r.window("tax", "enterprise", 12)
    share = rows["filed_on_time"].astype(float).groupby(rows["subject_id"]).mean()
    return r.indicator("enterprise", rows, share, zero=False)


def tax_paid_12m(r: Records) -> pd.Series:
    """Tax paid over the last 12 months (corrected re-uploads change tax_paid)."""
    rows = r.window("tax", "enterprise", 12)
    return r.indicator("enterprise", rows, rows.groupby("subject_id")["tax_paid"].sum(), zero=True)


def p_card_balance_latest(r: Records) -> pd.Series:
    """A person's card balances in their latest finance report of the last 3 months, summed over
    cards (finance: both subject types; corrected re-uploads change balance)."""
    rows = r.window("finance", "individual", 3)
    cards = rows[rows["product"] == "credit_card"]
    return r.indicator("individual", rows, _latest(cards, "period", "balance", "sum"), zero=True)


# name -> (subject, what the catalogue must still declare for this reference to be the rule, reference)
REFERENCES: dict[str, tuple[str, dict, Callable[[Records], pd.Series]]] = {
    "enforcement_new_12m": ("enterprise", {"source": "courts", "agg": "count", "window_months": 12,
                                           "where": "event_type = 'enforcement_opened'"}, enforcement_new_12m),
    "consumption_restricted": ("enterprise", {"source": "courts", "agg": "exists", "window_months": 36,
                                              "where": "event_type = 'consumption_restriction'"}, consumption_restricted),
    "tax_arrears_amount_latest": ("enterprise", {"source": "tax", "agg": "latest", "window_months": 3,
                                                 "value": "arrears_amount", "where": None}, tax_arrears_amount_latest),
    "tax_ontime_rate_12m": ("enterprise", {"source": "tax", "agg": "avg", "window_months": 12,
                                           "value": "CAST(filed_on_time AS DOUBLE)", "where": None}, tax_ontime_rate_12m),
    "tax_paid_12m": ("enterprise", {"source": "tax", "agg": "sum", "window_months": 12, "value": "tax_paid",
                                    "where": None}, tax_paid_12m),
    "p_card_balance_latest": ("individual", {"source": "finance", "agg": "sum_latest", "window_months": 3,
                                             "value": "balance", "where": "product = 'credit_card'"}, p_card_balance_latest),
}


# ---------------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("name", list(REFERENCES))
def test_engine_matches_the_pandas_reference(name, stored, computed, as_of_dates):
    subject, declared, reference = REFERENCES[name]
    ind = catalogue()[name]
    assert ind.subject == subject
    assert {k: getattr(ind, k) for k in declared} == declared, "the declaration changed: update the reference"

    assert len(as_of_dates) >= 3
    seen_values = seen_missing = 0
    for day in as_of_dates:
        expected = reference(Records(stored, day)).sort_index()
        got = computed[(subject, day)][name].sort_index()
        assert list(got.index) == list(expected.index), f"{name} on {day}: not the same subjects"
        assert got.isna().equals(expected.isna()), (
            f"{name} on {day}: missing for {sorted(got.index[got.isna() != expected.isna()])[:5]} ...")
        both = expected.notna()
        np.testing.assert_allclose(got[both].to_numpy(), expected[both].to_numpy(), rtol=1e-9, atol=1e-9,
                                   err_msg=f"{name} on {day}")
        seen_values += int((expected.fillna(0) != 0).sum())
        seen_missing += int(expected.isna().sum())
    assert seen_values > 0, f"{name}: the reference found no record at any as-of date; the test says nothing"
    if name in ("enforcement_new_12m", "consumption_restricted", "tax_arrears_amount_latest"):
        assert seen_missing > 0, f"{name}: no county without uploads was met; the coverage rule went untested"


def test_population_is_who_the_office_knew(stored, computed, as_of_dates):
    """Enterprises before their registration (or before the register said so) are not rated yet."""
    for day in as_of_dates:
        for subject in ("enterprise", "individual"):
            expected = set(Records(stored, day).population(subject).index)
            assert set(computed[(subject, day)].index) == expected, (subject, day)
    first, last = as_of_dates[0], as_of_dates[-1]
    assert len(computed[("enterprise", first)]) < len(computed[("enterprise", last)])


@pytest.mark.parametrize("name", ["tax_paid_12m", "p_card_balance_latest", "enforcement_new_12m"])
def test_the_comparison_would_notice_hindsight(name, stored, computed, as_of_dates):
    """Computed with hindsight (final versions, late records as if on time), the reference differs
    from the engine on some as-of date: the test above would catch an engine that leaked the
    future. tax and finance carry corrected re-uploads; courts records arrive late."""
    subject, _, reference = REFERENCES[name]
    differs = []
    for day in as_of_dates:
        leaky = reference(Records(stored, day, hindsight=True)).sort_index()
        got = computed[(subject, day)][name].reindex(leaky.index)
        if not np.allclose(got.fillna(-1).to_numpy(), leaky.fillna(-1).to_numpy(), rtol=1e-9, atol=1e-9):
            differs.append(day)
    assert differs, f"{name}: hindsight gives the engine's answer on every as-of date; pick other dates"


@pytest.mark.parametrize("source, indicator", [("tax", "tax_paid_12m"), ("finance", "p_card_balance_latest")])
def test_the_dates_straddle_a_correction(source, indicator, stored, computed):
    """The first corrected re-upload of `source` for the indicator's subjects: the day before it arrived the original version is
    the one known, from that day the corrected one; the warehouse's own bookkeeping
    (`_superseded_on`) says the same; and the record lies inside the indicator's window for a rated
    subject, so the comparison above meets both versions."""
    records = stored[source]
    key = list(config.sources()[source].key)
    fixed = _corrections(records, key)
    fixed = fixed[fixed["subject_type"] == catalogue()[indicator].subject]  # a record the indicator reads
    row = fixed.loc[fixed["received_date"].idxmin()]
    day = row["received_date"].date()
    same_key = (records[key] == row[key]).all(axis=1)
    versions = records[same_key].sort_values(["received_date", "_seq"])
    original = versions[versions["received_date"] < row["received_date"]].iloc[-1]
    column = {"tax": "tax_paid", "finance": "balance"}[source]
    assert original[column] != row[column]
    assert original["_superseded_on"] == row["received_date"]

    def known_value(on):
        known = Records(stored, on).known(source)
        return known[(known[key] == row[key]).all(axis=1)][column].tolist()

    assert known_value(day - dt.timedelta(days=1)) == [original[column]]
    assert known_value(day) == [row[column]]
    window = catalogue()[indicator].window_months
    event = row[config.sources()[source].event_date]
    assert pd.Timestamp(day) - pd.DateOffset(months=window) < event <= pd.Timestamp(day)
    subject = catalogue()[indicator].subject
    assert row["subject_id"] in computed[(subject, day)].index
