"""The subject's rights as cases: objections, credit-repair applications and reviews of automated
grades, on the legal clocks of `chengxin.clocks`, kept in the shared state (`state.CASES`, every
step in `state.CASE_EVENTS`).

A case is filed against a subject, and for an objection or a repair against one stored record
(``SOURCE:NATURAL_KEY``: the source's key columns other than the subject, joined by ``/``). A
record under objection is flagged at once wherever it is shown (`under_objection`). A decision
is taken by whom configuration says (roles.yaml `cases`, the record's providing department:
谁产生、谁负责) and, when it changes a record, writes a new version of it in the record store
with provenance ``case:<number>`` (`chengxin.loading.write_decision`); the subject is then
re-rated at once (`chengxin.flows.rerate`). Nothing is deleted: a case keeps who decided,
for whom, when and why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from chengxin import catalog, clocks, config, identifiers, state, users, workspace
from chengxin.clocks import CASE_KINDS
from chengxin.state import CASE_EVENTS, CASES, SUBJECT_CHANGES
from chengxin.workspace import UserError

# What each kind of case may be decided as. `changes_record`: the decisions that write a new
# version of the record (or a new record) and so re-rate the subject.
DECISIONS = {
    "objection": ("correct", "delete", "add", "stop_publishing", "remove_from_list", "reject"),
    "repair": ("approve", "reject"),
    "review": ("confirm", "override"),
}
CHANGES_RECORD = {"correct": None, "delete": "deleted", "add": None, "stop_publishing": "unpublished",
                  "remove_from_list": "unpublished", "approve": None}
UPHELD = ("correct", "delete", "add", "stop_publishing", "remove_from_list")  # an objection the office agreed with
FLAG = {"zh": "异议处理中", "en": "under objection"}


class NotAllowed(UserError):
    """The user's role or department may not do this with the case."""


class Conflict(UserError):
    """The case is closed, or the record already has an open case."""


class UnknownCase(UserError):
    """No such case (or none this viewer may see)."""
KEY_SEPARATOR = "/"


rules = clocks.cases_config  # the clocks, who provides a record, what may be repaired (cases.yaml)


# --- who acts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """A user acting on cases: the role's rights, the user's department or own subject."""

    user: str
    role: users.Role
    department: str | None = None
    subject: str | None = None

    def may(self, right: str) -> bool:
        return right in self.role.cases


COUNTER = "counter"  # the office's counter: the CLI operator when no --by is given


def actor(username: "str | Actor | None", home=None) -> Actor:
    """The user `username` of users.yaml (None: the office counter, with the admin's rights)."""
    if isinstance(username, Actor):  # e.g. an API key acting for its institution
        return username
    cfg = users.roles_config(home)
    if username in (None, "", COUNTER):
        return Actor(COUNTER, cfg.roles["admin"])
    u = cfg.users.get(username)
    if u is None:
        raise UserError(f"unknown user {username!r}: users are {', '.join(sorted(cfg.users))}")
    return Actor(u.username, cfg.roles[u.role], u.department, u.subject)


# --- records ----------------------------------------------------------------------------------


def parse_record(ref: str) -> tuple[config.Source, dict]:
    """``SOURCE:NATURAL_KEY`` -> the source and its key values (other than the subject)."""
    source_name, sep, natural = str(ref or "").partition(":")
    catalogue = config.sources()
    if not sep or source_name not in catalogue.sources:
        raise UserError(f"--record must be SOURCE:NATURAL_KEY with SOURCE one of {', '.join(catalogue.sources)}; "
                        f"got {ref!r}")
    src = catalogue[source_name]
    names = [k for k in src.key if k != "subject_id"]
    parts = natural.split(KEY_SEPARATOR) if names else []
    if len(parts) != len(names) or not all(parts):
        raise UserError(f"the natural key of {source_name} is {KEY_SEPARATOR.join(names).upper()}: "
                        f"e.g. --record {source_name}:{KEY_SEPARATOR.join(n.upper() for n in names)}")
    return src, dict(zip(names, parts))


def record_ref(source: str, row: dict) -> str:
    """The ``SOURCE:NATURAL_KEY`` of a stored record (a row with the source's key columns)."""
    src = config.sources()[source]
    return source + ":" + KEY_SEPARATOR.join(str(row[k])[:10] if isinstance(row[k], (dt.date, dt.datetime)) else str(row[k])
                                             for k in src.key if k != "subject_id")


def find_record(src: config.Source, key: dict, subject_id: str, home=None) -> dict | None:
    """The current version of a subject's record (as the office holds it now), or None."""
    from chengxin import warehouse

    where = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in key)
    with warehouse.connect(home, read_only=True) as con:
        found = con.execute(f"SELECT * EXCLUDE (_key, _hash) FROM {src.table} WHERE subject_id = ? AND {where} "
                            f"AND {warehouse.CURRENT} ORDER BY _seq DESC LIMIT 1", [subject_id, *key.values()]).df()
    if found.empty:
        return None
    return {k: (None if _missing(v) else v) for k, v in found.iloc[0].to_dict().items()}


def _missing(v) -> bool:
    try:
        return v is None or bool(v != v)
    except (TypeError, ValueError):
        return False


def provider(src: config.Source, record: dict | None, home=None) -> str:
    """The department that provided a record: its own column where the source has one (e.g. the
    deciding department of a penalty), else the source's department."""
    column = rules(home).provider_columns.get(src.name)
    if column and record and record.get(column):
        return str(record[column])
    return src.department.zh


# --- repair eligibility ---------------------------------------------------------------------


def eligibility(src: config.Source, record: dict, filed_on: dt.date, commitment: str | None, home=None) -> dict:
    """Whether a repair filed on `filed_on` may be granted: the record's severity class, its
    publicity period, whether the minimum period has passed and whether a commitment was given;
    when not, the first date from which it may be."""
    from chengxin.record_rules import feature_settings

    rule = rules(home).repair.get(src.name)
    if rule is None:
        raise UserError(f"a repair applies to records of {', '.join(rules(home).repair) or 'no source'} "
                        f"(cases.yaml `repair`); {src.name} records are not repaired by application")
    severity = record.get(rule.severity)
    fs = feature_settings()
    period = fs.publicity_months.get(str(severity))
    since = record.get(rule.since)
    if isinstance(since, dt.datetime):  # a pandas Timestamp too
        since = since.date()
    min_until, max_until = fs.publicity(severity, since)
    passed = min_until is None or filed_on >= min_until
    committed = bool((commitment or "").strip()) or not rules(home).commitment_required
    already = bool(record.get(rule.repaired))
    reasons = []
    if already:
        reasons.append("already_repaired")
    if not passed:
        reasons.append("minimum_period_not_passed")
    if not committed:
        reasons.append("no_commitment")
    return {"severity": severity, "publicity_months": period.model_dump() if period else None,
            "since": str(since) if since else None, "minimum_period_ends": str(min_until) if min_until else None,
            "publicity_ends": str(max_until) if max_until else None, "commitment": committed,
            "eligible": not reasons, "eligible_from": str(max(filed_on, min_until) if min_until else filed_on),
            "not_yet": reasons}


# --- filing -----------------------------------------------------------------------------------


def _subject(subject_id: str, home=None) -> tuple[str, str, bool]:
    """The cleaned id, its type as the record store's registry says (`chengxin.registry`), and
    whether the registry knows it (a case is filed on a registered subject only)."""
    from chengxin import registry

    try:
        return registry.subject(subject_id, home)
    except UserError as exc:
        raise UserError(f"--subject: {exc}") from None


def file(kind: str, subject_id: str, *, record: str | None = None, reason: str | None = None,
         commitment: str | None = None, filed_on: dt.date | None = None, by: str | None = None, home=None) -> dict:
    """File a case; returns it with its number, its deadline and (a repair) its eligibility.
    Every check comes before anything is written: a refused filing changes nothing."""
    if kind not in CASE_KINDS:
        raise UserError(f"--kind must be one of {', '.join(CASE_KINDS)}, got {kind!r}")
    who = actor(by, home)
    sid, stype, registered = _subject(subject_id, home)
    if who.role.own_only:
        if sid != (who.subject or "").upper():
            raise NotAllowed(f"{who.user} may file only for its own subject {who.subject}")
    elif not who.may("file"):
        raise NotAllowed(f"{who.user} ({who.role.name}) may not file cases; the office's counter or the subject itself files")
    if not registered:
        raise UserError(f"no subject {sid} in the record store")
    today = dt.date.today()
    filed_on = filed_on or today
    if filed_on > today:
        raise UserError(f"--filed-on {filed_on} is in the future")
    if not record:  # about the rating: not before the subject's first rating (a record's case: not before the record)
        first = catalog.rated_dates(stype, home)
        if first and filed_on < first[0]:
            raise UserError(f"--filed-on {filed_on} is before the first rating of {sid} could be objected to ({first[0]})")
    src = found = None
    if kind in ("objection", "repair") and record:
        src, key = parse_record(record)
        found = find_record(src, key, sid, home)
        if found is None:
            raise UserError(f"no record {record} of {sid}: check the source and natural key (`chengxin cases file "
                            f"--record SOURCE:NATURAL_KEY`)")
        record = record_ref(src.name, found)
        happened = found.get(src.event_date)
        happened = happened.date() if isinstance(happened, dt.datetime) else happened
        if isinstance(happened, dt.date) and filed_on < happened:
            raise UserError(f"--filed-on {filed_on} is before the record's date {happened}")
    elif kind == "repair":
        raise UserError("a repair application names the record to repair: --record SOURCE:NATURAL_KEY")
    elif record:
        raise UserError("a review is of the subject's automated grade: it takes no --record")
    if kind == "review" and stype != "individual":
        raise UserError("a review (PIPL Art 24: explanation and human review of an automated decision) is an "
                        "individual's right; an enterprise files an objection against its rating")
    due = clocks.deadline(kind, filed_on, home=home)
    elig = eligibility(src, found, filed_on, commitment, home) if kind == "repair" else None
    row = {"kind": kind, "subject_id": sid, "subject_type": stype, "record": record, "source": src.name if src else None,
           "provider": provider(src, found, home) if src else None, "reason": reason, "commitment": commitment,
           "filed_on": str(filed_on), "filed_at": state.now(), "filed_by": who.user, "filed_role": who.role.name,
           "due_on": str(due.due), "eligible": None if elig is None else int(elig["eligible"]),
           "eligible_from": elig["eligible_from"] if elig else None,
           "eligibility": json.dumps(elig, ensure_ascii=False) if elig else None, "status": "open",
           "open_key": record or f"{sid}:{'rating' if kind == 'objection' else kind}"}
    try:
        with state.connect(home) as con:
            case_no = con.execute(CASES.insert().values(**row)).inserted_primary_key[0]
            record_event(con, case_no, who, "filed", {"deadline": due.model_dump(mode="json"), "eligibility": elig})
            if kind == "objection":
                _subject_change(con, row | {"case_no": case_no}, "under_objection")
    except sa.exc.IntegrityError:
        with state.connect(home) as con:
            other = con.execute(sa.select(CASES.c.case_no, CASES.c.kind).where(CASES.c.open_key == row["open_key"])).first()
        what = record or f"the {'rating' if kind == 'objection' else kind} of {sid}"
        raise Conflict(f"{what} already has an open case: {other.kind} {other.case_no}; decide it first") from None
    _touch(home)
    return show(case_no, home=home)


def record_event(con, case_no: int, who: Actor, event: str, detail: dict | None = None) -> None:
    """One step of a case's history (never updated)."""
    con.execute(CASE_EVENTS.insert().values(case_no=case_no, at=state.now("microseconds"), user=who.user,
                                            role=who.role.name, event=event,
                                            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None))


def _subject_change(con, case: dict, kind: str) -> None:
    """A change in the watchlists' feed: a record put under objection, or its objection decided."""
    what = case["record"] or "rating"
    if kind == "under_objection":
        current, reason = {"case": case["case_no"], "record": what}, f"Under objection: {what} (case {case['case_no']})"
        reason_zh = f"{FLAG['zh']}：{what}（案件 {case['case_no']}）"
    else:
        current = {"case": case["case_no"], "record": what, "decision": case["decision"]}
        reason = f"Objection decided ({case['decision']}): {what} (case {case['case_no']})"
        reason_zh = f"异议已处理（{case['decision']}）：{what}（案件 {case['case_no']}）"
    con.execute(SUBJECT_CHANGES.insert().values(
        subject_id=case["subject_id"], subject_type=case["subject_type"], kind=kind,
        previous=None, current=json.dumps(current, ensure_ascii=False), reason=reason, reason_zh=reason_zh,
        as_of=None, changed_at=state.now("microseconds"), snapshot=f"case:{case['case_no']}"))


# --- reading ----------------------------------------------------------------------------------


def _row(r) -> dict:
    d = dict(r)
    for k in ("eligibility", "changes"):
        if d.get(k):
            d[k] = json.loads(d[k])
    d.pop("open_key", None)
    return d


def _with_clock(case: dict, today: dt.date, home=None) -> dict:
    if case["status"] == "open":
        due = clocks.deadline(case["kind"], dt.date.fromisoformat(case["filed_on"]), extended=bool(case["extended"]), home=home)
        left = clocks.days_left(due, today)
        case.update(days_left=left, overdue=left < 0, due_soon=0 <= left <= 1, days=due.days)
    else:
        case.update(days_left=None, overdue=False, due_soon=False)
    return case


def visible_to(viewer: Actor | None):
    """The cases a viewer may see: the desk every case; a department those about its own records;
    a subject its own; the counter (no viewer) every case."""
    c = CASES.c
    if viewer is None or viewer.may("desk") or viewer.user == COUNTER:
        return sa.true()
    if viewer.role.own_only:
        return c.subject_id == (viewer.subject or "").upper()
    if viewer.may("decide_records"):
        return c.provider == viewer.department
    return sa.false()


def list_cases(*, status: str | None = None, overdue: bool = False, subject: str | None = None, kind: str | None = None,
               viewer: Actor | None = None, today: dt.date | None = None, home=None) -> list[dict]:
    """Cases, oldest first, each with its clock (days left in its own days, due within one
    working day, overdue)."""
    if status not in (None, *state.CASE_STATUSES):
        raise UserError(f"--status must be one of {', '.join(state.CASE_STATUSES)}")
    q = sa.select(CASES).where(visible_to(viewer)).order_by(CASES.c.case_no)
    if status:
        q = q.where(CASES.c.status == status)
    if subject:
        q = q.where(CASES.c.subject_id == identifiers.normalise(subject))
    if kind:
        q = q.where(CASES.c.kind == kind)
    with state.connect(home) as con:
        rows = [_with_clock(_row(r), today or dt.date.today(), home) for r in con.execute(q).mappings()]
    return [r for r in rows if r["overdue"]] if overdue else rows


def show(case_no: int, *, viewer: Actor | None = None, home=None) -> dict:
    """One case with every step of its history."""
    with state.connect(home) as con:
        found = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no), visible_to(viewer))).mappings().first()
        if found is None:
            raise UnknownCase(f"no case {case_no}")
        events = [dict(e) for e in con.execute(sa.select(CASE_EVENTS).where(CASE_EVENTS.c.case_no == int(case_no))
                                                .order_by(CASE_EVENTS.c.seq)).mappings()]
    for e in events:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else None
    case = _with_clock(_row(found), dt.date.today(), home)
    case["events"] = events
    return case


def upheld_by_department(home=None) -> list[dict]:
    """Per providing department: objections decided, and how many were upheld (the office's
    feedback on its providers' data quality)."""
    c = CASES.c
    upheld = sa.func.sum(sa.case((c.decision.in_(UPHELD), 1), else_=0))
    q = (sa.select(c.provider, sa.func.count().label("decided"), upheld.label("upheld"))
         .where(c.kind == "objection", c.status == "decided", c.provider.is_not(None)).group_by(c.provider)
         .order_by(upheld.desc()))
    with state.connect(home) as con:
        rows = [dict(r) for r in con.execute(q).mappings()]
    for r in rows:
        r["upheld"] = int(r["upheld"] or 0)
        r["upheld_share"] = round(r["upheld"] / r["decided"], 3) if r["decided"] else None
    return rows


# --- records under objection, for every face ------------------------------------------------


def _touch(home=None) -> None:
    """Tell every reader (dashboard sessions, API workers) that cases changed."""
    path = catalog.cases_stamp(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{dt.datetime.now().timestamp()}")
    tmp.write_text(state.now("microseconds"), "utf-8")
    tmp.replace(path)


_OPEN: dict = {}  # stamp file -> (its stamp, {subject_id: [open objections]})


def under_objection(home=None) -> dict[str, list[dict]]:
    """The open objections by subject: what is flagged "异议处理中 / under objection". Read again
    only when a case changed (one stat per call otherwise), so a look-up can ask every time."""
    path = _stamp_file(workspace.home(home))
    stamp = workspace.stamp(path)
    if stamp is None:
        return {}
    cached = _OPEN.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    c = CASES.c
    out: dict[str, list[dict]] = {}
    with state.connect(home) as con:
        for r in con.execute(sa.select(c.case_no, c.subject_id, c.record, c.filed_on)
                             .where(c.kind == "objection", c.status == "open").order_by(c.case_no)).mappings():
            out.setdefault(r["subject_id"], []).append({"case": r["case_no"], "record": r["record"] or "rating",
                                                        "since": r["filed_on"], **{f"text_{k}": v for k, v in FLAG.items()}})
    _OPEN[path] = (stamp, out)
    return out


@functools.lru_cache(maxsize=64)
def _stamp_file(home: Path) -> str:
    return str(catalog.cases_stamp(home))


# --- deciding ---------------------------------------------------------------------------------


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for p in pairs or []:
        k, sep, v = str(p).partition("=")
        if not sep or not k.strip():
            raise UserError(f"--set takes COLUMN=VALUE, got {p!r}")
        out[k.strip()] = v.strip()
    return out


def _may_decide(who: Actor, case: dict) -> str | None:
    """For whom `who` decides this case (its own department, or the one it records a decision
    for), or raise why it may not."""
    if case["record"] is not None:  # a record: its providing department decides (谁产生、谁负责)
        if who.may("decide_records") and who.department == case["provider"]:
            return who.department
        if who.may("on_behalf"):
            return case["provider"]
        raise NotAllowed(f"{who.user} ({who.role.name}) may not decide case {case['case_no']}: "
                         f"{case['provider']} decides on its own records, or the office admin on its behalf")
    if who.may("decide_ratings"):
        return None
    raise NotAllowed(f"{who.user} ({who.role.name}) may not decide case {case['case_no']}: the office decides "
                     f"on ratings and reviews")


def _typed(src: config.Source, column: str, text: str):
    """A --set value as its column's type, or a clear error."""
    if column not in src.column_names:
        raise UserError(f"{src.name} has no column {column!r}: columns are {', '.join(src.column_names)}")
    col = src.column(column)
    if text == "" and not col.required:
        return None
    try:
        match col.type:
            case "int":
                return int(text)
            case "float":
                return float(text)
            case "bool":
                if text.lower() not in ("true", "false", "1", "0", "yes", "no", "是", "否"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes", "是")
            case "date" | "month":
                return dt.date.fromisoformat(text)
            case "enum":
                if text not in col.values:
                    raise ValueError(text)
                return text
            case _:
                return text
    except ValueError:
        allowed = f" (one of {', '.join(col.values)})" if col.type == "enum" else ""
        raise UserError(f"--set {column}={text!r}: not a {col.type}{allowed}") from None


def _effect(case: dict, decision: str, sets: dict[str, str], decided_on: dt.date, home=None) -> dict | None:
    """What the decision writes to the record store: the source, the current record (None for
    an added one), the new values and the status of the new version; None: no record changes."""
    if decision not in CHANGES_RECORD:
        if decision == "override":
            from chengxin.models import grades

            grade = sets.get("grade")
            scale = [g.grade for g in grades.rating_config().master_scale]
            if grade not in scale:
                raise UserError(f"an override sets the grade: --set grade=G with G one of {', '.join(scale)}")
        elif sets:
            raise UserError(f"a {decision} decision sets nothing (--set)")
        return None
    if decision == "add":
        source = sets.pop("source", None)
        if source not in config.sources().sources:
            raise UserError("an added record names its source: --set source=SOURCE and its columns as --set COLUMN=VALUE")
        src = config.sources()[source]
        values = {k: _typed(src, k, v) for k, v in sets.items()}
        missing = [c.name for c in src.columns if c.required and c.name not in values and c.name not in ("subject_id", "subject_type")]
        if missing:
            raise UserError(f"an added {source} record needs --set for {', '.join(missing)}")
        key = {k: values[k] for k in src.key if k != "subject_id"}
        if find_record(src, {k: str(v) for k, v in key.items()}, case["subject_id"], home) is not None:
            raise UserError(f"{record_ref(source, key | {'subject_id': case['subject_id']})} exists already: object to it instead")
        return {"source": src, "current": None, "values": values, "status": None}
    if case["record"] is None:
        raise UserError(f"a {decision} decision changes a record, and case {case['case_no']} names none")
    src, key = parse_record(case["record"])
    current = find_record(src, key, case["subject_id"], home)
    if current is None:
        raise UserError(f"{case['record']} is no longer in the record store (another decision or upload changed it)")
    values = {}
    if decision == "correct":
        if not sets:
            raise UserError("a correct decision sets the new values: --set COLUMN=VALUE ...")
        for k, v in sets.items():
            if k in src.key or k == "subject_id":
                raise UserError(f"{k} is part of the record's identity; delete the record and add the right one instead")
            values[k] = _typed(src, k, v)
    elif decision == "approve":
        rule = rules(home).repair[src.name]
        values = {rule.repaired: True, rule.repair_date: decided_on}
    elif sets:
        raise UserError(f"a {decision} decision sets nothing (--set)")
    return {"source": src, "current": current, "values": values, "status": CHANGES_RECORD[decision]}


def _writes_own_source(case: dict, source: str | None) -> None:
    """谁产生、谁负责: a decision writes only into the source of the record under objection; a case
    about a rating writes no record. Refused before anything is written."""
    n = case["case_no"]
    if case["source"] is None:
        raise NotAllowed(f"case {n} is about a rating, not a record: its decision writes no record (a missing record "
                         f"is added by the department that provides it, deciding an objection to one of its records)")
    if source != case["source"]:
        raise NotAllowed(f"case {n} is about a {case['source']} record: its decision writes only {case['source']} "
                         f"records, not {source}")


def _keeps_its_provider(case: dict, effect: dict, decided_for: str | None, home=None) -> None:
    """The record a decision writes stays the providing department's (the one deciding, or the one
    the office decides for): an added record names it, a correction may not hand it to another."""
    column = rules(home).provider_columns.get(effect["source"].name)
    if column is None:
        return
    owner = decided_for or case["provider"]
    named = effect["values"].get(column, (effect["current"] or {}).get(column))
    if effect["current"] is None and named is None:
        effect["values"][column] = owner  # an added record: the deciding department provides it
    elif named != owner:
        raise NotAllowed(f"case {case['case_no']}: the record would name {named} as its {column}; {owner} decides "
                         f"only on its own records (谁产生、谁负责)")


def rerates(case: dict) -> bool:
    """Does this decided case re-rate its subject (a record changed, or a person set a grade)?"""
    return case["status"] == "decided" and (case["decision"] in CHANGES_RECORD or case["decision"] == "override")


# A decision's write side (deciding, then re-rating and publishing: `chengxin.flows.rerate`) holds this
# workspace lock, one at a time across the API's workers, the dashboard and the CLI: a decider
# who waited for it reads the case afresh and finds it decided (`Conflict`).
DECISIONS_LOCK = "decisions"


def _claim(con, case_no: int, values: dict, open_only=None) -> None:
    """Take the case for this decider, in the caller's transaction: one UPDATE of an open case
    (`open_only`: a further condition), whose row count says who won, so that deciders that do
    not share a lock (two hosts sharing the state database) cannot both decide; the loser's
    UPDATE waits for the winner's transaction and then finds the case closed: `Conflict`."""
    where = [CASES.c.case_no == int(case_no), CASES.c.status == "open"]
    if open_only is not None:
        where.append(open_only)
    if con.execute(CASES.update().where(*where).values(**values)).rowcount == 1:
        return
    now = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no))).mappings().first()
    if now is None:
        raise UnknownCase(f"no case {case_no}")
    if now["status"] == "open":
        raise Conflict(f"case {case_no} was extended once already")
    raise Conflict(f"case {case_no} is closed: decided {now['decision']} on {now['decided_on']} by {now['decided_by']}")


@workspace.locked(DECISIONS_LOCK)
def decide(case_no: int, decision: str, *, by: str, note: str, sets: list[str] | None = None,
           extend: bool = False, home=None) -> dict:
    """Decide a case (or, with `extend`, take its one extension, `note` saying why). A decision
    that changes a record writes its new version and closes the case; every check comes before
    anything is written. Re-rating the subject is the faces' next step (`chengxin.flows.rerate.decide`).
    One decision at a time per workspace (`DECISIONS_LOCK`), and the case is claimed in SQL
    (`_claim`) in the one transaction that records the decision, committed after the record's
    new version: a decision failing midway (or its process killed) leaves the case open, never
    claimed but undecided (at worst, a failure between the two commits, the new version is kept
    and a second decision supersedes it)."""
    who = actor(by, home)
    if not (note or "").strip():
        raise UserError("a decision needs --note (the reasons, kept with the case)")
    with state.connect(home) as con:
        # a case the decider may not see is no case to it: a refusal reveals no more than a GET would
        found = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no), visible_to(who))).mappings().first()
    if found is None:
        raise UnknownCase(f"no case {case_no}")
    case = _row(found)
    if case["status"] != "open":
        raise Conflict(f"case {case_no} is closed: decided {case['decision']} on {case['decided_on']} by {case['decided_by']}")
    decided_for = _may_decide(who, case)
    if extend:
        return _extend(case, who, note, home)
    if decision not in DECISIONS[case["kind"]]:
        raise UserError(f"a {case['kind']} is decided as one of {', '.join(DECISIONS[case['kind']])}, not {decision!r}")
    today = dt.date.today()
    values = parse_sets(sets)
    if case["kind"] == "repair" and decision == "approve" and not case["eligible"]:
        elig = case.get("eligibility") or {}
        raise UserError(f"case {case_no} is not eligible for repair: {', '.join(elig.get('not_yet', []))}; "
                        f"eligible from {case['eligible_from']} (file again then, with a commitment)")
    if decision == "add":  # who may write where, before what is written is even read
        _writes_own_source(case, values.get("source"))
    effect = _effect(case, decision, dict(values), today, home)
    if effect is not None:
        _writes_own_source(case, effect["source"].name)
        _keeps_its_provider(case, effect, decided_for, home)
    changes = {"sets": values, "record": None}
    update = {"status": "decided", "decision": decision, "decided_on": str(today), "decided_at": state.now(),
              "decided_by": who.user, "decided_role": who.role.name, "decided_for": decided_for, "note": note,
              "changes": json.dumps(changes, ensure_ascii=False, default=str), "open_key": None}
    from chengxin import loading, warehouse

    # the warehouse opened first, then one state transaction: claim, write the record's new
    # version, record the decision; an error (or a lost claim) anywhere rolls the claim back
    with (warehouse.connect(home) if effect is not None else contextlib.nullcontext()) as wcon, \
            state.connect(home) as con:
        _claim(con, case_no, update)
        if effect is not None:
            changes["record"] = loading.write_decision(
                wcon, effect["source"], effect["current"], effect["values"], subject_id=case["subject_id"],
                subject_type=case["subject_type"], case_no=int(case_no), status=effect["status"], on=today)
            update["changes"] = json.dumps(changes, ensure_ascii=False, default=str)
            con.execute(CASES.update().where(CASES.c.case_no == int(case_no)).values(changes=update["changes"]))
        record_event(con, case_no, who, "decided", {"decision": decision, "for": decided_for, "note": note, **changes})
        if case["kind"] == "objection":
            _subject_change(con, case | update | {"case_no": case_no}, "objection_decided")
    _touch(home)
    return show(case_no, home=home)


def _extend(case: dict, who: Actor, note: str, home=None) -> dict:
    if case["extended"]:
        raise Conflict(f"case {case['case_no']} was extended once already")
    due = clocks.deadline(case["kind"], dt.date.fromisoformat(case["filed_on"]), extended=True, home=home)
    with state.connect(home) as con:  # claimed like a decision: extended once, and only while open
        _claim(con, case["case_no"], {"extended": 1, "due_on": str(due.due)}, open_only=CASES.c.extended == 0)
        record_event(con, case["case_no"], who, "extended", {"due": str(due.due), "note": note})
    return show(case["case_no"], home=home)
