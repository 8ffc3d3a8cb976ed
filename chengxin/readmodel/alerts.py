"""The early-warning desk as a role may see it: the month's alerts, an alert's evidence and
notes, grade migration and the risk map. Acknowledging and closing alerts is the desk's write
(`chengxin.desks.alerts`).
"""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from chengxin import audit, i18n, state, users, workspace
from chengxin.readmodel.lookup import NeedsPurpose, NotAllowed
from chengxin.readmodel.snapshot import Snapshot, monitoring
from chengxin.state import ALERT_NOTES, ALERT_ORDER, ALERTS, OPEN_ALERT_STATUSES
from chengxin.users import Role


def open_alerts(home=None, r: Role | None = None) -> pd.DataFrame:
    """Open (new or acknowledged) alerts of the latest month that the role may see, masked as it
    requires. Alerts on individuals only for the roles that work the warning desk
    (`act_on_alerts`): anyone else may see a person only by looking the person up, with a
    purpose and an audit entry, and an alert is no way around that. Without a role: the
    enterprises' alerts only."""
    a = alerts(home)
    if a.empty:
        return a
    a = a[(a["as_of"] == a["as_of"].max()) & a["status"].isin(OPEN_ALERT_STATUSES)]
    if r is None or not r.act_on_alerts:
        a = a[a["subject_type"] != "individual"]
    return users.mask_frame(a, r, name_col=None) if r else a


def alerts(home=None, as_of: str | None = None) -> pd.DataFrame:
    """The stored alerts (of the month `as_of`), newest month first, each month in the desk's
    order (`state.ALERT_ORDER`); unmasked: the pages ask `open_alerts` or `alert_queue`."""
    order = [ALERTS.c[c].asc() if up else ALERTS.c[c].desc() for c, up in zip(*ALERT_ORDER)]
    q = sa.select(ALERTS).order_by(ALERTS.c.as_of.desc(), *order)
    try:
        with state.connect(home) as con:
            return pd.read_sql_query(q.where(ALERTS.c.as_of == as_of) if as_of else q, con)
    except Exception:
        return pd.DataFrame()


def alert_queue(frame: pd.DataFrame, r: Role, **filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The alerts the filters keep (`filter_alerts`), and the same rows as the role may see them
    (personal columns masked): the first to act on by subject id, the second to show."""
    shown = filter_alerts(frame, **filters)
    return shown, users.mask_frame(shown, r, name_col=None)


def filter_alerts(frame: pd.DataFrame, *, counties=(), industries=(), severities=(), signals=(), subject_types=(),
                  statuses=()) -> pd.DataFrame:
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if counties:
        keep &= frame["county"].isin(counties)
    if industries:
        keep &= frame["industry"].isin(industries)
    if severities:
        keep &= frame["severity"].isin(severities)
    if subject_types:
        keep &= frame["subject_type"].isin(subject_types)
    if statuses:
        keep &= frame["status"].isin(statuses)
    if signals:
        keep &= frame["signals"].fillna("").str.split(",").map(lambda s: bool(set(s) & set(signals)))
    return frame[keep]


MODEL_SIGNALS = {"pd_jump": ("违约概率跳升", "PD jump"), "downgrade": ("等级下调", "downgrade"),
                 "anomaly": ("异常变化", "unusual change")}


def signal_label(name: str, lang: str = "zh") -> str:
    """A signal's words: the declared rule's text, or the model signal's name."""
    from chengxin.models import warning_rules

    for rule in warning_rules.warning_config().rules:
        if rule.name == name:
            return rule.text.zh if lang == "zh" else rule.text.en
    return i18n.word(MODEL_SIGNALS, name, lang)


def signals_label(signals: str, lang: str = "zh") -> str:
    return ("、" if lang == "zh" else ", ").join(signal_label(s, lang) for s in str(signals or "").split(",") if s)


def alert_signals(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []
    return sorted(set(frame["signals"].fillna("").str.split(",").explode()) - {""})


def open_alert(as_of: str, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
               home=None, lang: str | None = None) -> dict:
    """One alert with its evidence records and notes; an individual's needs a purpose and is audited.
    `lang`: besides, `evidence_shown` (each source's records with the signal they back, in words
    and labelled as the data contract names their columns) and the notes in words."""
    a = alerts(home, as_of)
    a = a[a["subject_id"] == subject_id]
    if a.empty:
        raise workspace.UserError(f"no alert for {subject_id} in {as_of}")
    alert = a.iloc[0].to_dict()
    if alert["subject_type"] == "individual":
        if not r.individuals:
            raise NotAllowed("this role may not see individuals' alerts")
        if not (purpose and purpose.strip()):
            raise NeedsPurpose("opening an individual's alert needs a stated purpose; it is audited")
        audit.audit("alert", subject_id, purpose, user=user, role=r.name, detail={"as_of": as_of}, home=home)
    evidence = pd.DataFrame(json.loads(alert.get("evidence") or "[]"))
    if len(evidence):
        masked = []
        for source, g in evidence.groupby("source", sort=False):
            masked.append(users.mask_frame(g.dropna(axis=1, how="all"), r, source=source, name_col=None))
        evidence = pd.concat(masked, ignore_index=True)
    with state.connect(home) as con:
        n = ALERT_NOTES.c
        notes = pd.read_sql_query(sa.select(n.at, n.user, n.status, n.note).where(n.as_of == as_of, n.subject_id == subject_id)
                                  .order_by(n.at.desc()), con)
    alert["display_id"] = users.show_id(subject_id, alert["subject_type"], r)
    alert["evidence"] = evidence
    alert["notes"] = notes
    if lang:
        from chengxin.readmodel.lookup import people_in_words, readable_records, record_columns, source_label

        alert["evidence_shown"] = [
            {"title": f"{source_label(source, lang)} · {signal_label(signal, lang)}",
             "records": readable_records(g.drop(columns=["source", "signal"]).dropna(axis=1, how="all"), source, lang),
             "labels": record_columns(source, lang)}
            for (source, signal), g in (evidence.groupby(["source", "signal"], sort=False) if len(evidence) else [])]
        who, _ = people_in_words(lang, home)
        alert["shown_in"] = lang
        alert["notes_shown"] = notes.assign(at=i18n.moments(notes["at"]),
                                            user=notes["user"].map(who),
                                            status=notes["status"].map(lambda x: i18n.word(i18n.STATUS, x, lang)))
    return alert


def migration_long(snap: Snapshot, subject: str) -> pd.DataFrame:
    """Counts by last month's grade (rows) and this month's (columns)."""
    m = monitoring(snap, subject, "migration")
    return m.set_index("from") if len(m) else m


def risk_matrix(snap: Snapshot, lang: str = "zh", value: str = "mean_pd") -> pd.DataFrame:
    """Enterprises' mean PD of those not in default (or worst-grade share, or a count: `subjects`,
    `in_default`) by county (rows) x industry (columns)."""
    rm = monitoring(snap, "enterprise", "risk_map")
    if rm.empty or value not in rm:
        return pd.DataFrame()
    m = rm.pivot_table(index="county", columns="industry", values=value, aggfunc="sum" if value in ("subjects", "in_default") else "mean")
    m.index = [i18n.county(c, lang) for c in m.index]
    m.columns = [i18n.industry(c, lang) for c in m.columns]
    return m
