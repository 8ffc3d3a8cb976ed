"""When a case may be filed and a repair granted: the filing date (not in the future, not before
the subject's first rating or the record's own date), the record an objection or a repair names
and a review may not, and a repair's eligibility (severity, minimum publicity period, commitment).
"""

from __future__ import annotations

import datetime as dt

from chengxin import catalog, config
from chengxin.desks.cases.kinds import rules
from chengxin.desks.cases.records import find_record, parse_record, record_ref
from chengxin.workspace import UserError


def filing_date(filed_on: dt.date | None, record: str | None, stype: str, sid: str, home=None) -> dt.date:
    """The day a case is filed (today unless given), checked: not in the future and, for a case
    about the rating, not before the subject's first rating."""
    today = dt.date.today()
    filed_on = filed_on or today
    if filed_on > today:
        raise UserError(f"--filed-on {filed_on} is in the future")
    if not record:  # about the rating: not before the subject's first rating (a record's case: not before the record)
        first = catalog.rated_dates(stype, home)
        if first and filed_on < first[0]:
            raise UserError(f"--filed-on {filed_on} is before the first rating of {sid} could be objected to ({first[0]})")
    return filed_on


def record_filed(kind: str, record: str | None, sid: str, filed_on: dt.date, home=None):
    """The record an objection or a repair names (its ``SOURCE:NATURAL_KEY`` as stored, its source,
    its current version), checked against the filing date; (None, None, None) for a case about
    the rating. A repair must name a record, a review may not."""
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
    return record, src, found


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
