"""Risk classes (信用风险分类): every live enterprise sorted into A (low) to D (high) from what the
platform knows on a date, with its reasons.

The signals (supervision.yaml `signals`) are the lender's PD, the public evaluation's points,
the month's early-warning alerts, the firm's inspection history and its industry's hit rate and
the business-conduct records; a firm's risk score is the sum of each signal's points (its value
above the city's median firm, times the declared weight). Classes are cut at the declared target
shares of the ranking. The same cut forms the classes of the other strategies a backtest compares
(`uniform`: one class; `oracle`: the city's true chance of a violation; `rules`: a count of
adverse records), so only the ranking differs.

A class is an internal tool: stored under the catalog's `supervision` folder, read only by roles
with the `supervision` right (`chengxin.readmodel.supervision`), never published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid

import numpy as np
import pandas as pd
import sqlalchemy as sa

from chengxin import catalog, config, state, workspace

STRATEGIES = ("classified", "uniform", "oracle", "rules")
UNIFORM = "all"  # the one stratum of the uniform strategy
INSPECTION = {"problems_24m": "inspection_problems_24m", "serious_problems_24m": "inspection_serious_24m",
              "unreachable_12m": "inspection_unreachable_12m", "clean_24m": "inspection_clean_24m"}


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def tiebreak(ids: pd.Series, salt: str) -> np.ndarray:
    """A fixed pseudo-random order of subjects (the same for the same date): ties in a ranking are
    broken by it, not by the order rows happen to arrive in."""
    return np.array([int.from_bytes(hashlib.sha256(f"{salt}|{s}".encode()).digest()[:6], "big") for s in ids])


def cut(score: np.ndarray, order: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Classes from a risk score: the highest `shares[last]` of the ranking in the last class,
    the next in the one before, and so on (ties broken by `order`)."""
    n = len(score)
    rank = np.lexsort((order, -np.asarray(score, dtype=float)))  # riskiest first
    names = list(shares)[::-1]
    bounds = np.round(np.cumsum([shares[c] for c in names]) * n).astype(int)
    out = np.empty(n, dtype=object)
    start = 0
    for name, end in zip(names, bounds):
        out[rank[start:end]] = name
        start = end
    out[rank[start:]] = names[-1]
    return out


class RiskClassifier:
    """The declared risk score and the classes it cuts, with scikit-learn's manners: `fit` learns
    the city's median firm (the reference the points are counted from), `predict` the classes,
    `contributions` each signal's points."""

    def __init__(self, weights: dict[str, float], shares: dict[str, float]):
        self.weights = weights
        self.shares = shares

    def fit(self, X: pd.DataFrame, y=None) -> RiskClassifier:
        self.reference_ = X[list(self.weights)].median()
        return self

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        w = pd.Series(self.weights)
        return (X[list(self.weights)] - self.reference_) * w

    def risk_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.contributions(X).sum(axis=1).to_numpy()

    def predict(self, X: pd.DataFrame, order: np.ndarray) -> np.ndarray:
        return cut(self.risk_score(X), order, self.shares)


def month_alerts(as_of: dt.date, home=None) -> pd.DataFrame:
    """The enterprises' early-warning alerts of `as_of`'s month in the desk (subject_id, severity)."""
    month = f"{as_of:%Y-%m}"
    with state.connect(home) as con:
        rows = con.execute(sa.select(state.ALERTS.c.subject_id, state.ALERTS.c.severity).where(
            state.ALERTS.c.subject_type == "enterprise", state.ALERTS.c.as_of.like(f"{month}%"))).all()
    return pd.DataFrame(rows, columns=["subject_id", "severity"])


def sector_hit_rate(feats: pd.DataFrame, prior: float) -> pd.Series:
    """Per firm, the log-odds of its industry's inspection hit rate over the last 24 months against
    the city's, the industry's rate shrunk towards the city's with `prior` inspections."""
    n = feats["inspections_24m"].fillna(0)
    hits = feats["inspection_problems_24m"].fillna(0)
    by = pd.DataFrame({"industry": feats["industry"], "n": n, "hits": hits}).groupby("industry")[["n", "hits"]].sum()
    city = (hits.sum() + 0.5) / (n.sum() + 1.0)
    rate = (by["hits"] + prior * city) / (by["n"] + prior)
    return pd.Series(_logit(feats["industry"].map(rate).fillna(city)) - _logit(city), index=feats.index)


def signal_frame(feats: pd.DataFrame, rated: pd.DataFrame, alerts: pd.DataFrame, cfg: config.Supervision) -> pd.DataFrame:
    """Each live firm's signals (supervision.yaml `signals`), from its indicators, its rating and
    the month's alerts."""
    out = pd.DataFrame({"subject_id": feats["subject_id"].to_numpy()}, index=feats.index)
    r = rated.set_index("subject_id").reindex(out["subject_id"])
    out["pd_logit"] = _logit(r["pd"].fillna(r["pd"].median()).to_numpy())
    out["evaluation_shortfall"] = ((r["score"].max() - r["score"]).fillna(0) / 100).to_numpy()
    sev = alerts.assign(w=alerts["severity"].map(cfg.alert_severity).fillna(0)).groupby("subject_id")["w"].sum()
    out["alerts"] = out["subject_id"].map(sev).fillna(0.0).to_numpy()
    for signal, indicator in INSPECTION.items():
        out[signal] = feats[indicator].fillna(0).to_numpy(dtype=float)
    out["sector_hit_rate"] = sector_hit_rate(feats, cfg.sector_prior).to_numpy()
    out["governance_records"] = feats[list(cfg.conduct_indicators)].fillna(0).sum(axis=1).to_numpy(dtype=float)
    return out


def live_indicators(as_of: dt.date, home=None, known: dt.date | None = None) -> pd.DataFrame:
    """The indicators of every enterprise registered and live on `as_of`, as the office knew them
    (`known`: restated with the case decisions made until then, as `chengxin score` rates)."""
    from chengxin.features import engine

    feats = engine.compute(as_of, "enterprise", home=home, known=known)
    return feats[feats["registered_active"].fillna(0).astype(int) == 1].reset_index(drop=True)


def reasons(contributions: pd.DataFrame, cfg: config.Supervision, top: int = 2) -> tuple[list, list, list]:
    """The signals that add the most points above the median firm, as codes and in words."""
    codes, zh, en = [], [], []
    values = contributions.to_numpy()
    names = np.array(contributions.columns)
    for row in values:
        order = np.argsort(-row)[:top]
        mine = [names[k] for k in order if row[k] > 1e-9]
        codes.append(";".join(mine))
        zh.append("；".join(cfg.signals[s].zh for s in mine) or "各项信号不高于全市中位企业")
        en.append("; ".join(cfg.signals[s].en for s in mine) or "no signal above the city's median firm")
    return codes, zh, en


def classify(feats: pd.DataFrame, as_of: dt.date, *, strategy: str = "classified", ratings: pd.DataFrame | None = None,
             alerts: pd.DataFrame | None = None, truth: pd.Series | None = None, home=None) -> pd.DataFrame:
    """Every live enterprise's class on `as_of` under `strategy`, from its indicators (`feats`,
    `live_indicators`) and, for the platform's `classified`, its rating on that date (`ratings`:
    subject_id, pd, score, as `chengxin score` stored them) and the month's `alerts`; `truth`:
    the oracle's true chance of a violation, by subject. One row per firm: subject_id, industry,
    county, class, risk_score, reasons (codes) and reasons_zh / reasons_en, and the signals
    (classified)."""
    if strategy not in STRATEGIES:
        raise workspace.UserError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    cfg = config.supervision(home)
    shares = {k: c.share for k, c in cfg.classes.items()}
    if feats.empty:
        raise workspace.UserError(f"no live enterprise on {as_of}: ingest the register first (`chengxin ingest`)")
    order = tiebreak(feats["subject_id"], str(as_of))
    out = feats[["subject_id", "industry", "county"]].copy()
    if strategy == "classified":
        if ratings is None:
            raise workspace.UserError(f"no ratings of {as_of}: run `chengxin score --as-of {as_of}` first")
        X = signal_frame(feats, ratings, alerts if alerts is not None else month_alerts(as_of, home), cfg)
        model = RiskClassifier({k: s.weight for k, s in cfg.signals.items()}, shares).fit(X)
        out["class"] = model.predict(X, order)
        out["risk_score"] = np.round(model.risk_score(X), 4)
        out["reasons"], out["reasons_zh"], out["reasons_en"] = reasons(model.contributions(X), cfg)
        for s in cfg.signals:
            out[s] = np.round(X[s].to_numpy(dtype=float), 4)
        return out
    if strategy == "uniform":
        out["class"], out["risk_score"] = UNIFORM, 0.0
    elif strategy == "oracle":
        if truth is None:
            raise workspace.UserError("the oracle needs the city's truth (a backtest gives it)")
        out["risk_score"] = out["subject_id"].map(truth).fillna(0.0).to_numpy()
        out["class"] = cut(out["risk_score"].to_numpy(), order, shares)
    else:  # rules
        missing = [c for c in cfg.rules_indicators if c not in feats]
        if missing:
            raise workspace.UserError(f"supervision.yaml rules_indicators: unknown indicators {', '.join(missing)}")
        out["risk_score"] = feats[list(cfg.rules_indicators)].fillna(0).sum(axis=1).to_numpy(dtype=float)
        out["class"] = cut(out["risk_score"].to_numpy(), order, shares)
    out["reasons"] = out["reasons_zh"] = out["reasons_en"] = ""
    return out


def store(classes: pd.DataFrame, as_of: dt.date, home=None) -> dict:
    """Store a classification of `as_of` under its own stamp (never overwriting one)."""
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
    workspace.ensure(home)
    path = catalog.risk_classes_run(as_of, stamp, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame = classes.assign(as_of=pd.Timestamp(as_of), classified_at=pd.Timestamp.now().floor("s"),
                           settings=config.fingerprint("supervision", home))
    workspace.write_subject_table(frame, partial)
    partial.replace(path)
    return {"as_of": str(as_of), "firms": len(classes), "stored": str(path),
            "classes": {k: int(v) for k, v in classes["class"].value_counts().sort_index().items()}}


def before(day: dt.date, home=None) -> tuple[dt.date, pd.DataFrame]:
    """The latest classification made on a date before `day` (a month's plan draws on the classes
    of the month before), or an error that says what to run."""
    runs = [r for r in catalog.risk_classes_runs(home) if catalog.run_date(r) < day]
    if not runs:
        raise workspace.UserError(f"no risk classes before {day}: run `chengxin supervise classify --as-of "
                                  f"{day - dt.timedelta(days=1)}` first")
    return catalog.run_date(runs[-1]), pd.read_parquet(runs[-1])
