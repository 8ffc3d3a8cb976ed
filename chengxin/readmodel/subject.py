"""Subjects as an institution's system asks for them (the credit services API): one card per
id, many ids at once, the role's policy applied per id. A card is what the published snapshot
says of the subject (name, type, public tier, and as the role allows grade, PD, score, reasons,
list entries, the rating date and the model and criteria versions), or on an earlier date
(`as_of`) what was published then.

Policy per id, the same as the dashboard's: an individual only for a role that may see
individuals, only with a stated purpose and the subject's authorization reference, and every
such look-up written to the audit log before the answer leaves; for the public an individual
is the same as an unknown id.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd

from chengxin import audit, i18n, identifiers, users
from chengxin.desks.cases.flags import under_objection
from chengxin.readmodel.identity import subject_types
from chengxin.models.reasons import REASONS
from chengxin.models.reasons import columns as reason_columns
from chengxin.readmodel.lookup import refusal, tier_rule_shown
from chengxin.readmodel.snapshot import HISTORY_REASONS, Snapshot, list_entries
from chengxin.readmodel.rows import mark_ready, ready, records_of, rows_on_disk, warm
from chengxin.users import Role
from chengxin.readmodel import snapshot as layout

LIST_FIELDS = ["list", "rule", "text_zh", "text_en", "start", "ends", "status", "reference", "measures", "measures_zh",
               "measures_en", "repair_from"]
REPAIR_NOTICE = {"zh": "自{day}起可申请信用修复：提交信用承诺书，在“我的信用”页、信用办窗口或向认定部门提出申请",
                 "en": "Credit repair may be applied for from {day}: file a credit commitment on the My credit page, "
                       "at the credit office's counter or with the deciding department"}


def _value(v):
    """A stored value as JSON has it: no NaN, dates as ISO days, numpy scalars as Python's."""
    kind = type(v)
    if kind is str or kind is int or kind is bool or v is None:  # most values: as they are
        return v
    if kind is float:
        return None if v != v else v
    if isinstance(v, (pd.Timestamp, dt.date)):
        return v.isoformat()[:10]
    if not isinstance(v, (str, int, float)) and pd.isna(v):
        return None
    return v.item() if hasattr(v, "item") else v


def _typed(snap: Snapshot, subject_ids) -> list[tuple[str, str | None, str | None]]:
    """(raw id, cleaned id, type) per id asked, in order; an id that is not a subject id has
    neither (`identity.subject_types`: the registry's type, never a checksum's guess)."""
    cleaned = [(raw, identifiers.normalised_or_none(raw)) for raw in subject_ids]
    kinds = subject_types(snap, [sid for _, sid in cleaned if sid is not None])
    return [(raw, sid, kinds.get(sid)) for raw, sid in cleaned]


def writes_audit(snap: Snapshot, subject_ids, r: Role, purpose: str | None, authorization_ref: str | None = None) -> bool:
    """Would `subject_cards` write the audit log for these ids (an individual the role may look
    up)? The API answers other look-ups on its event loop and these in a worker thread."""
    if refusal("individual", r, purpose, authorization_ref, reference_needed=True) is not None:
        return False  # no individual is answered to this role with this purpose: nothing to audit
    return any(kind == "individual" for _, _, kind in _typed(snap, subject_ids))


def _refused(sid: str, status: int, problem: str) -> dict:
    return {"subject_id": sid, "found": False, "status": status, "problem": problem}


def subject_cards(snap: Snapshot, subject_ids: list[str], r: Role, *, purpose: str | None = None,
                  authorization_ref: str | None = None, as_of: dt.date | None = None, user: str | None = None,
                  home=None) -> list[dict]:
    """One card per id, in the order asked. A card the role may not have, or of an unknown id,
    says so: `status` 400 (not a code or ID number; an individual without purpose and
    authorization reference), 403 (a role that may not see individuals), 404 (unknown; for the
    public also every individual), else 200 with the subject. An id's type is the registry's
    (`identity.subject_types`), so a person whose ID number also passes the credit-code check
    is a person."""
    cards: list[dict | None] = []
    allowed: dict[str, str] = {}
    typed = _typed(snap, subject_ids)
    for raw, sid, kind in typed:
        if kind is None:
            cards.append(_refused(str(raw)[:identifiers.ID_MAX_LENGTH], 400, "invalid-subject-id"))
            continue
        refused = refusal(kind, r, purpose, authorization_ref, reference_needed=True)  # the dashboard's policy
        if refused:
            cards.append(_refused(sid, *refused))  # the id as the caller sent it, cleaned
            continue
        allowed[sid] = kind
        cards.append(None)
    people = [sid for sid, kind in allowed.items() if kind == "individual"]
    if people:  # on record before anything about them is answered
        audit.audit_many("api_lookup", people, purpose, user=user, role=r.name,
                        detail={"authorization_ref": authorization_ref, "as_of": str(as_of) if as_of else None},
                        home=home or snap.home)
    found = _cards(snap, allowed, r, as_of)
    out = []
    for (raw, sid, kind), card in zip(typed, cards):
        out.append(card if card is not None else found.get(sid) or _refused(sid, 404, "unknown-subject"))
    return out


RATING_FIELDS = ["subject_id", "as_of", "tier", "tier_rule", "grade", "pd", "score", "model_version", "criteria_version",
                 "name", "county", "industry", *reason_columns(), "rated_at", "cause", "grade_override", "override_reason",
                 "override_case"]
INFO_FIELDS = ["subject_id", "name", "county", "industry"]


CARD_TABLES = (layout.RATINGS, layout.SUBJECT_INFO, layout.LISTS)  # what cards keep in memory (not the history)
_WARMING = threading.Lock()


def cards_ready(snap: Snapshot) -> bool:
    """Are this snapshot's tables for cards in memory (`warm_cards`)? Until they are, a look-up
    reads them (seconds on a city of a million): the API does that in a worker thread."""
    return ready([snap.path])


def warm_cards(snap: Snapshot) -> None:
    """Read the tables cards come from and make their values ready to pick, once however many
    callers ask at the same time."""
    with _WARMING:
        for table in CARD_TABLES:
            warm(snap.path / table)
        mark_ready(snap.path)
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # what reading took beyond the tables kept


def in_force(row: dict, day: dt.date) -> bool:
    """Was this version of a rating published on `day`? A run's version from its as-of date; a
    version a case decision made (`cause`) only from the day it was rated."""
    rated_on = _day(row["as_of"])
    if rated_on is None or rated_on > day:
        return False
    if row.get("cause") and row.get("rated_at") is not None:
        return _day(row["rated_at"]) <= day
    return True


def _day(v) -> dt.date | None:
    return None if v is None else (v.date() if isinstance(v, dt.datetime) else v)


def _cards(snap: Snapshot, allowed: dict[str, str], r: Role, as_of: dt.date | None) -> dict[str, dict]:
    """The cards of the ids the role may have, read row by row from the snapshot's tables (a
    binary search per id, no pandas: a look-up costs microseconds on a city of a million)."""
    from chengxin.models import grades

    if not allowed:
        return {}
    ids = list(allowed)
    rated = _rated_rows(snap, ids, r, as_of)
    unrated = [sid for sid in ids if sid not in rated or "name" not in rated[sid]]
    info = {row["subject_id"]: row for row in records_of(snap.file(layout.SUBJECT_INFO), unrated, INFO_FIELDS)} if unrated else {}
    by_subject = _list_entries(snap, ids, as_of, info) if r.lists else {}
    parts = [p for p in ("grade", "pd", "score") if r.sees(p)]
    objections = under_objection(snap.home)  # flagged at once, before any re-publication
    words = _tier_words(grades.rating_config())
    out = {}
    for sid in ids:
        rrow = rated.get(sid)
        irow = rrow if rrow is not None and "name" in rrow else info.get(sid)
        if irow is None and rrow is None and not (allowed[sid] in r.lists and sid in by_subject):
            continue  # neither registered, rated nor listed: unknown
        kind = allowed[sid]
        card = {"subject_id": sid, "subject_type": kind, "display_id": users.show_id(sid, kind, r), "found": True,
                "status": 200, "name": None, "county": None, "county_name": None, "industry": None, "industry_name": None,
                "rated": rrow is not None}
        if irow is not None:
            county, industry = _value(irow.get("county")), _value(irow.get("industry")) if kind == "enterprise" else None
            card.update(name=users.show_name(_value(irow.get("name")), kind, r), county=county, industry=industry,
                        county_name=i18n.county(str(county), "zh") if county else None,
                        industry_name=i18n.industry(str(industry), "zh") if industry else None)
        if rrow is not None:
            card.update(_rating(rrow, kind, r, parts, words))
        if kind in r.lists:
            card["lists"] = by_subject.get(sid, [])
        card["under_objection"] = objections.get(sid, []) if as_of is None else []
        out[sid] = card
    return out


def _rated_rows(snap: Snapshot, ids: list[str], r: Role, as_of: dt.date | None) -> dict[str, dict]:
    """Each id's rating row: the latest, or what was published on `as_of` (the last run on or
    before it, in the version then in force, read from disk: workers keep no history in memory)."""
    if as_of is None:
        return {row["subject_id"]: row for row in records_of(snap.file(layout.RATINGS), ids, RATING_FIELDS)}
    rated = {}
    reasons = r.sees("reasons")
    for sid in ids:
        for row in rows_on_disk(snap.file(layout.HISTORY), sid, RATING_FIELDS,
                                beside=snap.file(HISTORY_REASONS) if reasons else None):
            if in_force(row, as_of):  # rows are in (as_of, rated) order: the last one in force wins
                rated[sid] = row
    return rated


def _list_entries(snap: Snapshot, ids: list[str], as_of: dt.date | None, info: dict) -> dict[str, list[dict]]:
    """Each id's list entries with their status on the day shown (`clocks.today`), or those in
    force on `as_of`; who a listed subject is goes into `info` when nothing else says."""
    from chengxin import clocks

    shown_on = clocks.today(snap.as_of())
    by_subject: dict[str, list[dict]] = {}
    for e in records_of(snap.file(layout.LISTS), ids, ["subject_id", *LIST_FIELDS, *INFO_FIELDS[1:]]):
        named = {k: e.pop(k, None) for k in INFO_FIELDS[1:]}
        if named.get("name") is not None:
            info.setdefault(e["subject_id"], {"subject_id": e["subject_id"], **named})
        if as_of is not None:  # the entries in force on that day
            start, ends = _day(e.get("start")), _day(e.get("ends"))
            if start is None or start > as_of or (ends is not None and ends <= as_of):
                continue
            e["status"] = "active"
        elif e.get("status") == "active" and _day(e.get("ends")) is not None and _day(e.get("ends")) <= shown_on:
            e["status"] = "expired"  # statuses are the day shown's, not the rating date's
        owner = e.pop("subject_id")
        entry = {k: _value(v) for k, v in e.items()}
        if entry.get("repair_from") and entry.get("status") == "active":  # the repair notice (两书同达)
            entry["repair_notice"] = {f"text_{k}": t.format(day=entry["repair_from"]) for k, t in REPAIR_NOTICE.items()}
        by_subject.setdefault(owner, []).append(entry)
    return by_subject


def _rating(rrow: dict, kind: str, r: Role, parts: list[str], words: dict) -> dict:
    """What a card says of a rating, as the role may see it: the tier (and the rule that forced
    it), the parts the role sees, a re-rating's cause, a person's grade beside the model's, and
    the reasons."""
    tier = rrow["tier"]
    card = {"as_of": _value(rrow["as_of"]), "tier": tier, "tier_words": words.get(tier),
            "model_version": str(rrow["model_version"]), "criteria_version": str(rrow["criteria_version"])}
    card.update({part: _value(rrow.get(part)) for part in parts})
    rule = tier_rule_shown(kind, rrow.get("tier_rule"), r)
    if rule:
        card["tier_rule"] = rule
    if rrow.get("cause"):  # re-rated after a case decision, not by the monthly run
        card["restated"] = {"cause": rrow["cause"], "rated_at": _value(rrow.get("rated_at"))}
    if rrow.get("grade_override") and r.sees("grade"):  # a person's grade, beside the model's
        card["grade_override"] = {"grade": rrow["grade_override"], "reason": rrow.get("override_reason"),
                                  "case": rrow.get("override_case"), "model_grade": _value(rrow.get("grade"))}
    if r.sees("reasons") and "reason_1" in rrow:
        card["reasons"] = [{"code": rrow.get(f"reason_{k}_code"), "text_zh": rrow.get(f"reason_{k}_zh"),
                            "text_en": rrow[f"reason_{k}"], "points": _value(rrow.get(f"reason_{k}_points"))}
                           for k in range(1, REASONS + 1) if rrow.get(f"reason_{k}")]
    elif r.sees("reasons"):
        card["notes"] = ["reasons_not_kept"]  # a snapshot made before past ratings kept their reasons
    return card


def card_of(snap: Snapshot, subject_id: str, subject: str, r: Role) -> dict | None:
    """One subject's card as the role may have it (the id already cleaned and typed, the role's
    right to it already checked), or None when no table knows the id."""
    return _cards(snap, {subject_id: subject}, r, None).get(subject_id)


_TIER_WORDS: list = [None, {}]  # the rating configuration last seen, and its tiers' words


def _tier_words(config) -> dict[str, dict]:
    """The public tiers' words of this rating configuration (recomputed when rating.yaml changes,
    which makes a new configuration object)."""
    if _TIER_WORDS[0] is not config:
        _TIER_WORDS[:] = [config, {t.tier: t.model_dump() for t in config.public_tiers}]
    return _TIER_WORDS[1]


def list_feed(snap: Snapshot, r: Role, which: str, *, subject_type: str | None = None, county: str | None = None,
              changed_since: dt.date | None = None) -> list[dict]:
    """The red or black list entries the role may see (codes, not labels; individuals masked as
    the role requires), by subject type and county; `changed_since`: entries that started or
    ended on or after that date (ended ones are listed while the snapshot keeps them)."""
    e = list_entries(snap)
    if e.empty:
        return []
    e = e[(e["list"] == which) & e["subject_type"].isin([s for s in r.lists if subject_type in (None, s)])]
    if county:
        e = e[e["county"].astype(str) == county]
    if changed_since is not None:
        start, ends = pd.to_datetime(e["start"]).dt.date, pd.to_datetime(e["ends"]).dt.date
        e = e[(start >= changed_since) | ((e["status"] != "active") & (ends >= changed_since))]
    e = users.mask_frame(e, r)  # then sorted by what the role sees: an order of real ids would leak them
    e = e.sort_values(["start", "subject_id"], kind="stable")
    e = e.assign(county_name=e["county"].map(lambda c: i18n.county(str(c), "zh") if pd.notna(c) else None))
    keep = ["subject_id", "subject_type", "name", "county", "county_name", *LIST_FIELDS, "records"]
    return [{k: _value(v) for k, v in row.items()} for row in e[[c for c in keep if c in e]].to_dict("records")]
