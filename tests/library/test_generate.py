import hashlib

import numpy as np
import pandas as pd
import pytest

from chengxin import config
from chengxin.city import _simulate_chunk, generate, month_starts, process, records
from chengxin.readers import read_table


def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "summary.json":  # the summary names its folder
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_one_folder_per_source_and_the_truth(small_city):
    out, summary = small_city
    for source in config.sources():
        files = list((out / source.name).glob(f"{source.name}_*"))
        assert files, f"no files for {source.name}"
    truth = out / "_truth"
    subjects = pd.read_csv(truth / "subjects.csv", dtype=str)
    assert {"subject_id", "subject_type"} <= set(subjects.columns)
    assert set(subjects["subject_type"]) == {"enterprise", "individual"}
    pd_ = pd.read_csv(truth / "monthly_pd.csv", dtype={"subject_id": str, "month": str})
    assert list(pd_.columns[:3]) == ["subject_id", "month", "true_pd_12m"]
    assert pd_["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert pd_["true_pd_12m"].between(0, 1).all()
    outcomes = pd.read_csv(truth / "outcomes.csv", dtype=str)
    assert list(outcomes.columns) == ["subject_id", "subject_type", "event_date", "kind"]
    assert set(outcomes["subject_id"]) <= set(subjects["subject_id"])
    assert summary["subjects"] == {"enterprise": 400, "individual": 900}


def test_summary_reports_realism(small_city):
    _, s = small_city
    for key in ("subjects", "records_per_source", "yearly_outcome_rate", "true_pd_auc_12m", "late_upload_share",
                "missing_upload_share"):
        assert key in s
    assert sum(s["records_per_source"].values()) == s["records"]
    assert 0 < s["late_upload_share"] < 0.2 and 0 < s["missing_upload_share"] < 0.1


def test_deterministic_for_a_seed(tmp_path):
    a = generate(tmp_path / "a", 60, 120, 6, seed=9)
    b = generate(tmp_path / "b", 60, 120, 6, seed=9)
    generate(tmp_path / "c", 60, 120, 6, seed=10)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    a.pop("out"), b.pop("out")
    assert a == b


def test_refuses_to_overwrite(small_city):
    with pytest.raises(FileExistsError):
        generate(small_city[0], 10, 10, 3, seed=1)


def test_files_come_in_the_departments_formats(small_city):
    out, _ = small_city
    tax = sorted((out / "tax").glob("*.csv"))[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        tax.decode("utf-8")
    tax.decode("gbk")
    assert list((out / "courts").glob("*.xlsx"))
    finance = sorted((out / "finance").glob("*.csv"))[0].read_bytes().decode("utf-8")
    assert finance.splitlines()[0].replace('"', "").startswith("subject_id,")
    courts = read_table(sorted((out / "courts").glob("*.xlsx"))[0])
    assert "案号" in courts.table.column_names


def test_the_mess_is_there(small_city):
    out, s = small_city
    mess = s["mess"]
    for kind in ("duplicate_row", "mistyped_code", "fullwidth", "old_regno", "resent_file", "bad_value"):
        assert mess.get(kind, 0) > 0, kind
    assert list(out.rglob("*_resent.*"))
    assert (out / "regno_mapping").exists()


@pytest.fixture(scope="module")
def medium_city(tmp_path_factory):
    out = tmp_path_factory.mktemp("medium") / "city"
    return out, generate(out, 3000, 4000, 30, seed=21)


def test_a_world_worth_modelling(medium_city):
    """Neither hopeless nor trivial: the true PD ranks 12-month outcomes with an AUC of
    roughly 0.75-0.90, and outcomes run at a low single-digit percent a year."""
    _, s = medium_city
    auc = s["true_pd_auc_12m"]["all"]
    assert 0.75 <= auc <= 0.92, auc
    for kind, rate in s["yearly_outcome_rate"].items():
        assert 0.005 <= rate <= 0.06, (kind, rate)


def test_trouble_shows_before_the_outcome(medium_city):
    """Enforcement cases and tax arrears build up in the months before an outcome."""
    out, _ = medium_city
    outcomes = pd.read_csv(out / "_truth" / "outcomes.csv", parse_dates=["event_date"])
    ent = outcomes[outcomes["subject_type"] == "enterprise"]
    subjects = pd.read_csv(out / "_truth" / "subjects.csv", dtype=str)
    firms = subjects[subjects["subject_type"] == "enterprise"]["subject_id"]
    courts = pd.concat([read_table(p).table.to_pandas() for p in (out / "courts").glob("*.xlsx")])
    courts = courts[courts["事件类型"] == "enforcement_opened"]
    courts["date"] = pd.to_datetime(courts["日期"], errors="coerce")
    courts = courts.merge(ent[["subject_id", "event_date"]], left_on="当事人标识", right_on="subject_id", how="left")
    before = courts[(courts["event_date"] - courts["date"]).dt.days.between(1, 180)]
    defaulters = ent["subject_id"].nunique()
    rate_before = before["当事人标识"].nunique() / max(defaulters, 1)
    others = courts[courts["event_date"].isna() & courts["当事人标识"].isin(firms)]
    rate_others = others["当事人标识"].nunique() / (len(firms) - defaulters)
    assert rate_before > 4 * rate_others, (rate_before, rate_others)


def _chunk(seed: int, enterprises: int, individuals: int, **settings):
    """One simulated chunk of 24 months with some generator settings changed."""
    s = config.settings().generator.model_copy(update=settings)
    city, months = config.city(), 24
    macro = process.make_macro(np.random.default_rng([seed, 0]), s, months, len(city.industries), len(city.counties))
    return _simulate_chunk(0, 1, seed, s, city, month_starts("2023-01", months), macro,
                           range(0, enterprises), range(0, individuals))


def _headcount_at_onset(visible_at_onset: float) -> float:
    """Median insured headcount of a firm in the first month of its distress, over its own
    average of the six months before."""
    ctx = _chunk(5, 4000, 3000, distress_visible_at_onset=visible_at_onset)
    si = records.EMITTERS["social_insurance"](ctx)
    heads = np.full(ctx.ent.paths.z.shape, np.nan)
    row = pd.Index(ctx.ent.ids).get_indexer(si["subject_id"])
    heads[row, si["_month"].to_numpy()] = si["insured_headcount"].to_numpy()
    distress = ctx.ent.paths.distress
    ratios = []
    for i, t in zip(*np.nonzero((distress[:, 1:] > 0) & (distress[:, :-1] == 0))):
        t += 1
        before = heads[i, max(0, t - 6):t]
        if t >= 6 and np.isfinite(before).all() and before.mean() >= 5 and np.isfinite(heads[i, t]):
            ratios.append(heads[i, t] / before.mean())
    assert len(ratios) >= 30, len(ratios)
    return float(np.median(ratios))


def test_distress_shows_from_its_first_month():
    """Trouble shows in the records from the month it sets in (the configured share of it),
    not only as it builds up: a firm in its first month of distress has cut its insured
    headcount (half of the configured share), far more than a pure build-up would show."""
    configured = config.settings().generator.distress_visible_at_onset
    assert configured > 0
    at_onset, build_up_only = _headcount_at_onset(configured), _headcount_at_onset(0.0)
    assert at_onset < 1 - 0.4 * configured, at_onset
    assert at_onset < build_up_only - 0.15, (at_onset, build_up_only)


def _share_in_distress(burn_in: int) -> np.ndarray:
    """Share of existing firms and people in distress (not yet in default), month by month."""
    ctx = _chunk(6, 6000, 8000, burn_in_months=burn_in)
    shares = []
    for side in (ctx.ent, ctx.ind):
        p = side.paths
        at_risk = p.exists & ~p.defaulted
        shares.append(((p.distress > 0) & at_risk).sum(axis=0) / at_risk.sum(axis=0))
    return np.mean(shares, axis=0)


def test_the_city_starts_in_its_steady_state():
    """Firms and people are already in trouble when the window opens: the share in distress in
    the first months is about what it is later, before the downturn, not an empty pool that
    fills up over the lag (what a city that starts healthy shows)."""
    configured = config.settings().generator.burn_in_months
    assert configured >= config.settings().generator.outcome_lag_months.max
    later = slice(5, 10)  # before the downturn, which starts at 0.45 of the 24 months
    steady, healthy_start = _share_in_distress(configured), _share_in_distress(0)
    assert steady[:2].mean() > 0.8 * steady[later].mean(), steady
    assert healthy_start[:2].mean() < 0.5 * healthy_start[later].mean(), healthy_start


def test_representatives_carry_signal_about_their_firms(medium_city):
    out, _ = medium_city
    subjects = pd.read_csv(out / "_truth" / "subjects.csv", dtype=str)
    outcomes = pd.read_csv(out / "_truth" / "outcomes.csv", dtype=str)
    bad = set(outcomes["subject_id"])
    firms = subjects[subjects["subject_type"] == "enterprise"]
    rep_bad = firms["legal_rep_id"].isin(bad)
    firm_bad = firms["subject_id"].isin(bad)
    # firms whose representative reaches an outcome reach one more often
    assert firm_bad[rep_bad].mean() > 1.5 * firm_bad[~rep_bad].mean()
