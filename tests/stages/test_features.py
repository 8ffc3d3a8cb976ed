import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chengxin import config, record_rules, warehouse
from chengxin import identifiers as ids
from chengxin.features import compute
from chengxin.features import sql as fsql
from chengxin.features.catalogue import catalogue
from chengxin.features.snapshots import labels
from chengxin.pipelines.ingest import ingest

AS_OF = dt.date(2024, 3, 31)
FIRM = ids.make_uscc("9", "1", "610302", "20000001")
FIRM_B = ids.make_uscc("9", "1", "610302", "20000002")
FIRM_FAR = ids.make_uscc("9", "1", "610331", "20000003")  # Taibai: no penalty uploads there


def write(folder: Path, source: str, rows: list[dict], name: str = "x") -> Path:
    path = folder / source / f"{source}_{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def registration(code, county="610302"):
    return dict(subject_id=code, name="宝鸡测试有限公司", entity_type="company", industry="C", county=county,
                registration_date="2015-01-01", registered_capital="100", status="active", status_date="2015-01-01",
                legal_rep_id="", received_date="2020-01-01")


def penalty(code, no, decided, severity="general", repaired="false", repair_date="", received=None):
    return dict(subject_id=code, decision_no=no, deciding_department="市场监督管理局", decision_date=decided,
                publication_date=decided, severity=severity, fine_amount="1000", legal_basis="", repaired=repaired,
                repair_date=repair_date, received_date=received or decided)


@pytest.fixture
def tiny(home, tmp_path):
    up = tmp_path / "up"
    write(up, "registration", [registration(FIRM), registration(FIRM_B), registration(FIRM_FAR, "610331")])
    write(up, "penalty", [
        penalty(FIRM, "P1", "2024-01-10", "general"),
        penalty(FIRM, "P2", "2023-01-10", "serious"),
        penalty(FIRM, "P3", "2022-12-01", "general"),  # expired by 2024-03-31
    ])
    ingest(up, home=home)
    return home, up


def value(home, as_of, name, code=FIRM):
    frame = compute(as_of, "enterprise", home=home)
    return frame.set_index("subject_id").loc[code, name]


def test_penalties_count_inside_their_publicity_period(tiny):
    home, _ = tiny
    assert value(home, AS_OF, "penalties_general_public") == 1  # P1 yes, P3 past 12 months
    assert value(home, AS_OF, "penalties_serious_public") == 1  # P2 inside 36 months
    assert value(home, dt.date(2025, 1, 15), "penalties_general_public") == 0  # P1 expired after 12 months
    assert value(home, dt.date(2026, 1, 9), "penalties_serious_public") == 1
    assert value(home, dt.date(2026, 1, 11), "penalties_serious_public") == 0  # 36 months passed


def test_a_repaired_penalty_counts_as_configured(tiny, tmp_path, monkeypatch):
    home, up = tiny
    # the department re-uploads P1 as repaired, received on 2024-05-02
    write(up, "penalty", [penalty(FIRM, "P1", "2024-01-10", "general", "true", "2024-05-01", "2024-05-02")], "repair")
    ingest(up / "penalty" / "penalty_repair.csv", home=home)
    assert value(home, dt.date(2024, 4, 30), "penalties_general_public") == 1  # repair not yet known
    assert value(home, dt.date(2024, 6, 30), "penalties_general_public") == 0  # repaired, minimum 3 months passed
    # the office may decide that repaired records count until their maximum period
    fs = record_rules.feature_settings()
    monkeypatch.setattr(fsql, "feature_settings", lambda: fs.model_copy(update={"repaired_stops_after_min": False}))
    assert value(home, dt.date(2024, 6, 30), "penalties_general_public") == 1


def test_sums_are_exact_whatever_the_order(home, tmp_path):
    """Ten fines of 0.10 yuan are 1.00 yuan: a floating-point sum gives 0.9999999999999999, and its
    last bits change with the order a parallel engine adds the rows in, so a model refitted on
    the same records could split differently."""
    up = tmp_path / "up"
    write(up, "registration", [registration(FIRM)])
    write(up, "penalty", [{**penalty(FIRM, f"P{k}", "2024-01-10"), "fine_amount": "0.10"} for k in range(10)])
    ingest(up, home=home)
    assert value(home, AS_OF, "penalty_fines_public") == 1.0


def test_missing_is_not_zero(tiny):
    home, _ = tiny
    frame = compute(AS_OF, "enterprise", home=home).set_index("subject_id")
    assert frame.loc[FIRM_B, "penalties_general_public"] == 0  # covered county, no penalties: a true zero
    assert np.isnan(frame.loc[FIRM_FAR, "penalties_general_public"])  # no penalty upload for Taibai: missing
    assert frame.loc[FIRM_FAR, "coverage_penalty_12m"] == 0
    assert np.isnan(frame.loc[FIRM_B, "tax_ontime_rate_12m"])  # no tax source at all yet


def test_the_catalogue_covers_every_source():
    cat = catalogue()
    assert len(cat.for_subject("enterprise", published_only=True)) >= 40
    assert len(cat.for_subject("individual", published_only=True)) >= 20
    used = {i.source for i in cat.indicators if i.source}
    data_sources = {s.name for s in config.sources() if not s.is_reference}
    assert data_sources <= used, data_sources - used
    for i in cat.indicators:
        assert i.description.zh and i.description.en and i.zh


# --- point in time, against the generated city --------------------------------------------

CITY_AS_OF = dt.date(2023, 12, 31)


@pytest.fixture(scope="module")
def city_features(ingested_home):
    return {s: compute(CITY_AS_OF, s, home=ingested_home) for s in ("enterprise", "individual")}


FUTURE = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                  phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking a warehouse is slow


@FUTURE
@given(data=st.data())
def test_records_received_after_the_as_of_date_change_nothing(ingested_home, city_features, tmp_path_factory, data):
    """Add random records (new ones and corrected versions of old ones) received after the
    as-of date, through the real ingestion: every indicator stays identical."""
    home = tmp_path_factory.mktemp("pit") / "home"
    shutil.copytree(ingested_home, home)
    up = home.parent / "future"
    names = data.draw(st.lists(st.sampled_from(["tax", "social_insurance", "finance", "courts", "penalty", "utilities",
                                                "traffic", "registration", "annual_report"]), min_size=1, max_size=4,
                               unique=True))
    with warehouse.connect(home, read_only=True) as con:
        for name in names:
            src = config.sources()[name]
            cols = ", ".join(f'"{c}"' for c in src.column_names)
            rows = con.execute(f"SELECT {cols} FROM {src.table} USING SAMPLE 30 ROWS (reservoir, 7)").df()
            shift = data.draw(st.integers(1, 400))
            rows["received_date"] = (pd.Timestamp(CITY_AS_OF) + pd.Timedelta(days=shift)).strftime("%Y-%m-%d")
            for c in src.columns:
                if c.type in ("int", "float") and data.draw(st.booleans()):
                    rows[c.name] = rows[c.name].fillna(0) + 1  # a correction of an old record
                if c.type in ("date",) and data.draw(st.booleans()):
                    rows[c.name] = pd.to_datetime(rows[c.name]) - pd.Timedelta(days=data.draw(st.integers(0, 300)))
                if c.type == "month":
                    rows[c.name] = pd.to_datetime(rows[c.name]).dt.strftime("%Y-%m")
            write(up, name, rows.to_dict(orient="records"), f"future{shift}")
    summary = ingest(up, home=home)
    assert summary.rows > 0
    for subject, before in city_features.items():
        after = compute(CITY_AS_OF, subject, home=home)
        pd.testing.assert_frame_equal(before, after)


def test_labels_agree_with_the_truth(ingested_home, small_city):
    truth = pd.read_csv(small_city[0] / "_truth" / "outcomes.csv", parse_dates=["event_date"])
    as_of = dt.date(2023, 6, 30)
    with warehouse.connect(ingested_home, read_only=True) as con:
        lab = labels(con, "enterprise", as_of)
    feats = compute(as_of, "enterprise", home=ingested_home)
    lab = feats[["subject_id"]].merge(lab, how="left").fillna({"label": 0, "in_default": False})
    lab = lab[~lab["in_default"].astype(bool)]
    end = pd.Timestamp(as_of) + pd.DateOffset(months=12)
    true_ids = set(truth[(truth["event_date"] > pd.Timestamp(as_of)) & (truth["event_date"] <= end)]["subject_id"])
    labelled = set(lab.loc[lab["label"] == 1, "subject_id"])
    population = set(lab["subject_id"])
    true_here = true_ids & population
    assert len(true_here) > 3
    # records can be skipped or late, so allow a little disagreement
    assert len(labelled & true_here) >= 0.8 * len(true_here)
    assert len(labelled - true_here) <= 0.2 * max(len(labelled), 1)


def test_series_may_start_before_the_data(ingested_copy, tmp_path):
    """A month end before the first upload gives an empty snapshot; the file still takes the later ones."""
    from chengxin.pipelines.features import build_series

    result = build_series(dt.date(2022, 12, 31), dt.date(2023, 6, 30), "enterprise", 2, out=tmp_path / "s.parquet")
    frame = pd.read_parquet(result["out"])
    assert result["snapshots"] == 4 and len(frame) == result["rows"] > 0
    assert frame["as_of"].nunique() == 3  # nothing was known on 2022-12-31
