"""Early warning: declared rules fire as written, alerts are stored once per month with their status,
and the portfolio views add up."""

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from chengxin import readmodel
from chengxin.features.catalogue import catalogue
from chengxin.models.warning_rules import Severity, warning_config
from chengxin.pipelines import warn as stage
from chengxin.workspace import UserError
from chengxin.desks import alerts as alert_desk

DAY = dt.date(2025, 3, 31)


@pytest.fixture(scope="module")
def warned(trained, tmp_path_factory):
    home, _ = trained
    out = tmp_path_factory.mktemp("warn") / "alerts.csv"
    return home, stage.warn(DAY, home=home, out=out), out


def test_alerts_csv_has_the_contract(warned):
    home, result, out = warned
    alerts = pd.read_csv(out)
    assert result["alerts"] == len(alerts) > 0
    for col in ("subject_id", "subject_type", "severity", "signals", "reasons"):
        assert col in alerts
    assert set(alerts["severity"]) <= {"high", "medium", "low"}
    assert alerts["reasons"].map(lambda r: isinstance(r, str) and bool(r)).all()


def test_severity_is_the_desks_capacity_by_rank_within_the_month(warned):
    """Issue 19: `high` for at most `high_share` of the month's rated subjects of a type, `medium`
    for the next `medium_share`, in priority order (before, every alert whose signal weights
    summed to 3 was high, however many there were)."""
    home, result, out = warned
    alerts = pd.read_csv(out, dtype={"subject_id": str})
    cfg = warning_config().severity
    level = {"high": 0, "medium": 1, "low": 2}
    rated_all = high_all = 0
    for subject in ("enterprise", "individual"):
        cur = stage._rate(subject, DAY, home)
        rated = int((~cur["in_default"]).sum())
        assert result["subjects"][subject]["rated"] == rated
        group = alerts[alerts["subject_type"] == subject]
        n = group["severity"].value_counts().reindex(list(level), fill_value=0)
        assert n["high"] <= cfg.high_share * rated
        assert n["high"] + n["medium"] <= (cfg.high_share + cfg.medium_share) * rated
        # the capacity is used: as many high (and medium) alerts as the shares allow, or every alert
        high, medium = math.floor(cfg.high_share * rated), math.floor((cfg.high_share + cfg.medium_share) * rated)
        assert n["high"] == min(len(group), high) and n["high"] + n["medium"] == min(len(group), medium)
        # every high alert outranks every medium one, every medium every low one:
        # by priority, then PD, then subject id
        ranked = group.sort_values(["score", "pd", "subject_id"], ascending=[False, False, True])
        assert ranked["severity"].map(level).is_monotonic_increasing
        rated_all, high_all = rated_all + rated, high_all + n["high"]
    assert 0 < high_all <= cfg.high_share * rated_all
    assert result["by_severity"].get("high", 0) == high_all


def test_severity_shares_are_validated_and_rounded_down():
    with pytest.raises(ValidationError):
        Severity(high_share=0, medium_share=0.02)
    with pytest.raises(ValidationError):
        Severity(high_share=0.6, medium_share=0.5)
    with pytest.raises(ValidationError):
        Severity(high=3, medium=2)  # the old weight thresholds are no longer accepted
    assert Severity(high_share=0.01, medium_share=0.02).capacity(1499) == (14, 30)
    assert Severity(high_share=0.29, medium_share=0.0).capacity(100) == (29, 0)
    assert list(stage.severities(5, 200)) == ["high"] * 2 + ["medium"] * 3
    assert list(stage.severities(8, 200)) == ["high"] * 2 + ["medium"] * 4 + ["low"] * 2


def test_rule_signals_match_their_declared_conditions(warned):
    """Recompute two rules by hand from the two months' indicators."""
    home, _, out = warned
    cur = stage._rate("enterprise", DAY, home)
    prev = stage._rate("enterprise", stage.previous_month_end(DAY), home)
    both = cur.merge(prev, on="subject_id", how="left", suffixes=("", "_prev"))
    both = both[~both["in_default"]]
    expected_30 = set(both.loc[(both["loan_dpd_latest"] >= 30) & (both["loan_dpd_latest_prev"].fillna(0) < 30), "subject_id"])
    expected_enf = set(both.loc[both["enforcement_opened_all"] > both["enforcement_opened_all_prev"].fillna(0), "subject_id"])
    alerts = pd.read_csv(out)
    ent = alerts[alerts["subject_type"] == "enterprise"]
    fired = lambda name: set(ent.loc[ent["signals"].str.split(",").map(lambda s: name in s), "subject_id"])  # noqa: E731
    assert fired("loan_30dpd") == expected_30
    assert fired("new_enforcement_case") == expected_enf
    # evidence: the records behind a rule signal
    with_cases = ent[ent["subject_id"].isin(expected_enf)]
    if len(with_cases):
        ev = json.loads(with_cases["evidence"].iloc[0])
        assert any(e["source"] == "courts" and e["event_type"] == "enforcement_opened" for e in ev)


def test_rerunning_a_month_keeps_status_and_makes_no_duplicates(warned):
    home, result, _ = warned
    stored = readmodel.alerts(home, str(DAY))
    first = stored.iloc[0]
    alert_desk.set_alert_status(str(DAY), first["subject_id"], "acknowledged", "called the firm", user="analyst1", home=home)
    again = stage.warn(DAY, home=home)
    after = readmodel.alerts(home, str(DAY))
    assert len(after) == len(stored) == again["alerts"]
    assert after.set_index("subject_id").loc[first["subject_id"], "status"] == "acknowledged"
    # a re-run gives the same severities, in the same order
    assert after[["subject_id", "severity"]].equals(stored[["subject_id", "severity"]])
    with pytest.raises(UserError):
        alert_desk.set_alert_status(str(DAY), "nobody", "closed", home=home)


def test_portfolio_views(warned):
    home, _, _ = warned
    cur = stage._rate("enterprise", DAY, home)
    prev = stage._rate("enterprise", stage.previous_month_end(DAY), home)
    m = stage.migration(cur, prev)
    assert m.to_numpy().sum() == len(set(cur["subject_id"]) & set(prev["subject_id"]))
    rm = stage.risk_map(cur)
    assert rm["subjects"].sum() == len(cur) and rm["mean_pd"].dropna().between(0, 1).all()
    # the mean PD is of those not in default, who are counted beside it
    from chengxin.models import grades

    defaulted = cur["grade"] == grades.rating_config().default_grade
    assert rm["in_default"].sum() == defaulted.sum()
    live = cur[~defaulted].groupby(["county", "industry"])["pd"].mean()
    got = rm.set_index(["county", "industry"])["mean_pd"].dropna()
    assert (got.reindex(live.index) - live).abs().max() < 1e-12
    # a drift put into the data is found: this month's PDs tripled, one indicator moved up by a
    # standard deviation; nothing else moved
    numeric = [i.name for i in catalogue().for_subject("enterprise", published_only=True) if i.kind == "numeric"]
    moved = max(numeric, key=lambda c: cur[c].nunique())
    shifted = cur.copy()
    shifted["pd"] = (cur["pd"] * 3).clip(upper=1)
    shifted[moved] = cur[moved] + cur[moved].std()
    psi = stage.drift("enterprise", shifted, cur).set_index("measure")
    assert psi.loc[["pd", moved], "psi"].min() >= 0.25
    assert set(psi.index[psi["status"] == "shifted"]) == {"pd", moved}
    assert psi.drop(["pd", moved])["psi"].abs().max() < 1e-9
    # and none is found where there is none: two random halves of the same month
    half = np.random.default_rng(0).random(len(cur)) < 0.5
    same = stage.drift("enterprise", cur[half], cur[~half])
    assert same["psi"].max() < 0.1 and (same["status"] == "stable").all()
    # the same month against itself does not drift
    assert stage.drift("enterprise", cur, cur)["psi"].abs().max() < 1e-9


def test_anomalies_are_about_what_can_change_unusually_said_in_rounded_words(warned):
    """An age grows by a month every month: it is never an anomaly. The values of an unusual
    change are rounded in their unit, and say whether the move is for the worse."""
    import re

    home, _, out = warned
    alerts = pd.read_csv(out)
    anomalies = alerts[alerts["signals"].str.contains("anomaly")]
    assert len(anomalies), "the small city should raise some anomaly (1 % of the rated)"
    cat = catalogue()
    ages = {cat[n].zh for s in ("enterprise", "individual") for n in cat.names(s) if cat[n].agg == "age_years"}
    assert ages
    for zh in anomalies["reasons_zh"]:
        unusual = [part for part in zh.split(" | ") if part.startswith("上月以来异常变化")]
        assert unusual and not any(age in part for age in ages for part in unusual), zh
        assert not any(re.search(r"\d\.\d{3,}", part) for part in unusual), zh  # no seven-digit floats
