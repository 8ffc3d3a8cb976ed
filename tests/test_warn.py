"""Early warning: declared rules fire as written, alerts are stored once per month with their status,
and the portfolio views add up."""

import datetime as dt
import json

import pandas as pd
import pytest

from chengxin.pipelines import warn as stage
from chengxin.workspace import UserError

DAY = dt.date(2025, 3, 31)


@pytest.fixture(scope="module")
def warned(trained, tmp_path_factory):
    home, _ = trained
    out = tmp_path_factory.mktemp("warn") / "alerts.csv"
    return home, stage.warn(DAY, home=home, out=out), out


def test_alerts_csv_has_the_contract_and_severity_follows_weights(warned):
    home, result, out = warned
    alerts = pd.read_csv(out)
    assert result["alerts"] == len(alerts) > 0
    for col in ("subject_id", "subject_type", "severity", "signals", "reasons"):
        assert col in alerts
    cfg = stage.warning_config()
    weights = {r.name: r.weight for r in cfg.rules} | {"pd_jump": cfg.pd_jump.weight, "downgrade": cfg.downgrade.weight,
                                                       "anomaly": cfg.anomaly.weight}
    for _, a in alerts.iterrows():
        total = sum(weights[s] for s in a["signals"].split(","))
        expected = "high" if total >= cfg.severity.high else "medium" if total >= cfg.severity.medium else "low"
        assert a["severity"] == expected
        assert isinstance(a["reasons"], str) and a["reasons"]


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
    stored = stage.stored_alerts(home, str(DAY))
    first = stored.iloc[0]
    stage.set_status(str(DAY), first["subject_id"], "acknowledged", "called the firm", user="analyst1", home=home)
    again = stage.warn(DAY, home=home)
    after = stage.stored_alerts(home, str(DAY))
    assert len(after) == len(stored) == again["alerts"]
    assert after.set_index("subject_id").loc[first["subject_id"], "status"] == "acknowledged"
    with pytest.raises(UserError):
        stage.set_status(str(DAY), "nobody", "closed", home=home)


def test_portfolio_views(warned):
    home, _, _ = warned
    cur = stage._rate("enterprise", DAY, home)
    prev = stage._rate("enterprise", stage.previous_month_end(DAY), home)
    m = stage.migration(cur, prev)
    assert m.to_numpy().sum() == len(set(cur["subject_id"]) & set(prev["subject_id"]))
    rm = stage.risk_map(cur)
    assert rm["subjects"].sum() == len(cur) and rm["mean_pd"].between(0, 1).all()
    psi = stage.drift("enterprise", cur, prev)
    assert psi.loc[psi["measure"] == "pd", "psi"].iloc[0] >= 0
    # the same month against itself does not drift
    assert stage.drift("enterprise", cur, cur)["psi"].abs().max() < 1e-9
