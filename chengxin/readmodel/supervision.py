"""Risk-classified supervision as the inspecting departments read it (信用风险分类 with 双随机、一公开
random inspections): a firm's latest risk class with its reasons, the classes counted by county
and by industry, a month's inspection plan (its seed and input digest), the results received
against it on their 20-working-day clock, and the hit rate of each class month by month.

A class is an internal tool (不公开): only a role with the `supervision` right reads it, and a
department's role only where its department inspects (`users.may_supervise`, asked by every
function here, so by every face). Nothing here is copied into the published snapshot, the
public list, a subject card, a report or the watchlists' feed. Each read of a firm's class and of
a plan is on the audit log before it is answered.

What is read: the classifications and plans `chengxin supervise` stored (their places are the
catalog's: `risk_classes_runs`, `inspection_plans`; read here from their files, since the library
that writes them also opens the warehouse), and the inspection results among the published
snapshot's records.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import pandas as pd

from chengxin import audit, catalog, clocks, config, i18n, users, workspace
from chengxin.readmodel import snapshot as layout
from chengxin.readmodel.identity import subject_type
from chengxin.readmodel.lookup import NotAllowed, UnknownSubject
from chengxin.readmodel.rows import records_of, rows_on_disk
from chengxin.readmodel.snapshot import Snapshot, _record_tables, records_cursor
from chengxin.supervision import plans
from chengxin.users import Role
from chengxin.workdays import working_days

MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
RESULT_CLOCKS = tuple(i18n.RESULT_CLOCK)  # on_time, late, pending, overdue
PLAN_COLUMNS = ["inspection_no", "subject_id", "name", "class", "recent", "inspection_date", "inspectors", "items"]
RESULT_COLUMNS = ["inspection_no", "subject_id", "name", "class", "inspection_date", "due_date", "received",
                  "received_date", "result", "problems_found", "severity", "follow_up", "clock"]
HIT_COLUMNS = ["month", "class", "planned", "received", "problems_found", "unreachable", "hit_rate"]


class InvalidMonth(workspace.UserError):
    """Not a month written YYYY-MM in ASCII digits."""


class UnknownPlan(workspace.UserError):
    """No inspection plan is stored for the month."""

    def __init__(self, month: str):
        super().__init__(f"no inspection plan is stored for {month}: `chengxin supervise plan --month {month}` draws one")
        self.month = month


class NotClassified(UnknownSubject):
    """A registered enterprise without a stored risk class (not live on the classification date,
    or nothing classified yet)."""


def may_see(r: Role, department: str | None = None, home=None) -> bool:
    """May this caller read risk classes and plans (`users.may_supervise`)? A face asks before
    offering them; every function here refuses otherwise."""
    return users.may_supervise(r, department, home)


def _allowed(r: Role, department: str | None, home) -> None:
    if not users.may_supervise(r, department, home):
        raise NotAllowed("this role may not see risk classes or inspection plans (the inspecting departments' own tool)")


def month_of(text: str) -> str:
    """`text` if it is a month written YYYY-MM (ASCII digits, month 01 to 12), else InvalidMonth."""
    month = (text or "").strip()
    if not MONTH.fullmatch(month):
        raise InvalidMonth(f"{text!r} is not a month: give YYYY-MM, e.g. 2025-03")
    return month


def class_words(home=None) -> dict[str, dict[str, str]]:
    """Each class (A, B, C, D) and its words (supervision.yaml `classes`)."""
    return {k: {"zh": c.zh, "en": c.en} for k, c in config.supervision(home).classes.items()}


def _latest_run(home) -> Path | None:
    runs = catalog.risk_classes_runs(home)
    return runs[-1] if runs else None


@functools.lru_cache(maxsize=8)
def _counts(path: Path) -> pd.DataFrame:
    """A classification's firms counted by county, industry and class (files are never rewritten)."""
    frame = pd.read_parquet(path, columns=["county", "industry", "class", "classified_at"])
    counted = frame.groupby(["county", "industry", "class"], dropna=False).size().rename("firms").reset_index()
    return counted.assign(classified_at=frame["classified_at"].max())


def classes_summary(r: Role, *, department: str | None = None, home=None) -> dict | None:
    """The latest classification: its date, when it ran, the firms classified and each class's
    count and share (with its words); None before any (`chengxin supervise classify`)."""
    _allowed(r, department, home)
    run = _latest_run(home)
    if run is None:
        return None
    counts = _counts(run)
    total = int(counts["firms"].sum())
    by = counts.groupby("class")["firms"].sum()
    words = class_words(home)
    return {"as_of": str(catalog.run_date(run)), "classified_at": str(counts["classified_at"].iloc[0])[:19],
            "firms": total, "classes": {k: {"firms": int(by.get(k, 0)), "share": float(by.get(k, 0)) / total if total else 0.0,
                                            **w} for k, w in words.items()}}


def class_distribution(r: Role, by: str, *, department: str | None = None, lang: str = "zh", home=None) -> pd.DataFrame:
    """The latest classes by county or by industry: long format (by, label, class, firms, share
    of the county's or industry's firms), labels by name; empty before any classification."""
    if by not in ("county", "industry"):
        raise ValueError(f"classes are counted by county or industry, not {by!r}")
    _allowed(r, department, home)
    run = _latest_run(home)
    if run is None:
        return pd.DataFrame(columns=[by, "label", "class", "firms", "share"])
    g = _counts(run).groupby([by, "class"])["firms"].sum().reset_index()
    g = g[g["firms"] > 0]
    g["share"] = g["firms"] / g.groupby(by)["firms"].transform("sum")
    g["label"] = g[by].map(lambda x: i18n.county(x, lang) if by == "county" else i18n.industry(x, lang))
    return g[[by, "label", "class", "firms", "share"]].reset_index(drop=True)


def risk_class(snap: Snapshot, subject_id: str, r: Role, *, department: str | None = None, user: str | None = None,
               home=None) -> dict:
    """One firm's latest risk class: the class and its words, the risk score, the reasons (the
    signals that add the most points: code and words; and as one sentence in each language), each signal's value and weight, the
    classification's date. Audited (who, when, which firm) before it is answered. An individual
    is no firm (UnknownSubject, as an unknown id); a registered firm without a class,
    NotClassified."""
    _allowed(r, department, home)
    home = home or snap.home
    sid, kind = subject_type(snap, subject_id)
    if kind != "enterprise":
        raise UnknownSubject("risk classes are kept for enterprises only")
    run = _latest_run(home)
    cfg = config.supervision(home)
    found = rows_on_disk(run, sid, ["class", "risk_score", "reasons", "reasons_zh", "reasons_en", "industry", "county",
                                    *cfg.signals, "as_of"]) if run is not None else []
    info = records_of(snap.file(layout.SUBJECT_INFO), [sid], ["subject_id", "name", "county", "industry"])
    if not found:
        if not info:
            raise UnknownSubject(f"no published record of {sid}")
        raise NotClassified(f"no risk class is stored for {sid}" + (f" on {catalog.run_date(run)}" if run else
                                                                   ": run `chengxin supervise classify` first"))
    row, as_of = found[0], catalog.run_date(run)
    audit.audit("risk_class", sid, None, user=user, role=r.name, detail={"as_of": str(as_of)}, home=home)
    words = class_words(home)[row["class"]]
    codes = [c for c in str(row.get("reasons") or "").split(";") if c]
    reasons = [{"signal": c, "text_zh": cfg.signals[c].zh if c in cfg.signals else c,
                "text_en": cfg.signals[c].en if c in cfg.signals else c} for c in codes]
    return {"subject_id": sid, "name": (info[0].get("name") if info else None),
            "county": row.get("county"), "industry": row.get("industry"), "as_of": str(as_of),
            "class": row["class"], "class_zh": words["zh"], "class_en": words["en"],
            "risk_score": None if row.get("risk_score") is None else float(row["risk_score"]),
            "reasons": reasons, "reasons_zh": row.get("reasons_zh") or "", "reasons_en": row.get("reasons_en") or "",
            "signals": [{"signal": s, "zh": sig.zh, "en": sig.en, "weight": sig.weight,
                         "value": None if row.get(s) is None else float(row[s])} for s, sig in cfg.signals.items()]}


def _read_plan(path: Path) -> tuple[pd.DataFrame, dict]:
    """A stored plan's rows (each inspection's stratum read as its class) and published facts."""
    rows, meta = plans.read(path)
    return rows.rename(columns={"stratum": "class"}), meta


def _names(snap: Snapshot | None, ids) -> dict[str, str]:
    if snap is None:
        return {}
    return {row["subject_id"]: row.get("name") for row in records_of(snap.file(layout.SUBJECT_INFO), list(ids),
                                                                      ["subject_id", "name"])}


def plan_months(r: Role, *, department: str | None = None, home=None) -> list[str]:
    """The months with a stored plan, latest first."""
    _allowed(r, department, home)
    return sorted(plans.latest_by_month(home), reverse=True)


PLAN_FACTS = ("plan_no", "month", "department", "strategy", "seed", "input_digest", "live_firms", "share", "budget",
              "classes_as_of", "skip_recent_months", "drawn_at")


def inspection_plan(r: Role, month: str, *, department: str | None = None, user: str | None = None,
                    snap: Snapshot | None = None, home=None) -> dict:
    """A month's latest stored plan (`chengxin supervise plan`): what is published with it (plan
    number, department, seed, the input list's SHA-256 digest, live firms, budget, the classes'
    date, each class's firms, eligible firms and draws: `by_class`) and its inspections (`rows`:
    inspection number, firm and its name where `snap` has it, class, date, inspectors, items).
    Audited (who, when, which plan) before it is answered; UnknownPlan when none is stored."""
    _allowed(r, department, home)
    month = month_of(month)
    path = plans.latest_by_month(home).get(month)
    if path is None:
        raise UnknownPlan(month)
    rows, meta = _read_plan(path)
    names = _names(snap, rows["subject_id"])
    rows["name"] = rows["subject_id"].map(names)
    audit.audit("inspection_plan", None, None, user=user, role=r.name,
                detail={"month": month, "plan_no": meta.get("plan_no")}, home=home or (snap.home if snap else None))
    out = {k: meta.get(k) for k in PLAN_FACTS}
    out["month"] = month
    out["inspections"] = len(rows)
    out["by_class"] = [{"class": k, **{n: int(v.get(n, 0)) for n in ("firms", "eligible", "drawn")}}
                       for k, v in (meta.get("by_stratum") or {}).items()]
    out["rows"] = rows[PLAN_COLUMNS].reset_index(drop=True)
    return out


def due_days(home=None) -> int:
    """Working days a department has to publish an inspection's result (sources.yaml
    `inspection.publication_due_working_days`, else the coverage settings' deadline)."""
    return config.sources()["inspection"].due_working_days(config.settings(home).coverage)


def _received(snap: Snapshot, inspection_nos: list[str], today: dt.date) -> pd.DataFrame:
    """The snapshot's inspection records with these numbers received by `today` (its upload day,
    else the day it was published), one per number (the latest version)."""
    cols = ["inspection_no", "subject_id", "result", "problems_found", "severity", "follow_up", "received_date"]
    table = config.sources()["inspection"].table
    if not inspection_nos or table not in _record_tables(snap.path):
        return pd.DataFrame(columns=cols)
    with records_cursor(snap.path) as con:
        got = con.execute(f"SELECT {', '.join(cols[:-1])}, coalesce(received_date, publication_date) AS received_date "
                          f"FROM {table} WHERE inspection_no IN (SELECT unnest(?))", [list(inspection_nos)]).df()
    got["received_date"] = pd.to_datetime(got["received_date"]).dt.date
    return got[got["received_date"] <= today].drop_duplicates("inspection_no", keep="last")


def clock(due: dt.date, received: dt.date | None, today: dt.date) -> str:
    """An inspection's result against its deadline: on time or late once received, pending until
    the deadline passes, overdue after."""
    if received is not None:
        return "on_time" if received <= due else "late"
    return "pending" if today <= due else "overdue"


def plan_results(snap: Snapshot, plan: dict, r: Role, *, department: str | None = None, today: dt.date | None = None,
                 home=None) -> pd.DataFrame:
    """Each inspection of a plan (`inspection_plan`) with its result as the published snapshot's
    records have it: received (a record with its inspection number received by `today`, default
    `clocks.today`), the result, problems found, severity and follow-up, its due date (the
    inspection's date plus `due_days` working days) and its clock (`RESULT_CLOCKS`)."""
    _allowed(r, department, home)
    today = today or clocks.today(snap.as_of())
    rows = plan["rows"]
    got = _received(snap, rows["inspection_no"].tolist(), today)
    out = rows.merge(got, on=["inspection_no", "subject_id"], how="left")
    wd, n = working_days(), due_days(home)
    out["inspection_date"] = pd.to_datetime(out["inspection_date"]).dt.date
    out["due_date"] = [wd.add(d, n)[0] for d in out["inspection_date"]]
    out["received"] = out["result"].notna()
    out["received_date"] = [d if ok else None for d, ok in zip(out["received_date"], out["received"])]
    out["clock"] = [clock(due, got_on, today) for due, got_on in zip(out["due_date"], out["received_date"])]
    out["problems_found"] = out["problems_found"].astype("Int64")
    return out[RESULT_COLUMNS]


def hit_rates(snap: Snapshot, r: Role, *, department: str | None = None, today: dt.date | None = None,
              home=None) -> pd.DataFrame:
    """Month by month and class by class, over each month's latest stored plan: inspections
    planned, results received (by `today`), problems found, firms unreachable, and the hit rate
    (problems found per result received)."""
    _allowed(r, department, home)
    today = today or clocks.today(snap.as_of())
    drawn = [_read_plan(p)[0] for p in plans.latest_by_month(home or snap.home).values()]
    if not drawn:
        return pd.DataFrame(columns=HIT_COLUMNS)
    rows = pd.concat(drawn, ignore_index=True)
    got = _received(snap, rows["inspection_no"].tolist(), today)
    joined = rows.merge(got[["inspection_no", "subject_id", "result"]], on=["inspection_no", "subject_id"], how="left")
    out = joined.assign(received=joined["result"].notna(), found=joined["result"].eq("problems_found"),
                        away=joined["result"].eq("unreachable")).groupby(["month", "class"]).agg(
        planned=("inspection_no", "size"), received=("received", "sum"), problems_found=("found", "sum"),
        unreachable=("away", "sum")).reset_index()
    out["hit_rate"] = (out["problems_found"] / out["received"].where(out["received"] > 0)).astype(float)
    return out[HIT_COLUMNS].sort_values(["month", "class"], ignore_index=True)
