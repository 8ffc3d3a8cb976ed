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

import pandas as pd

from chengxin import desk, identifiers, users, workspace
from chengxin.readmodel.lookup import refusal
from chengxin.readmodel.snapshot import Snapshot, list_entries, rows_of_many
from chengxin.users import Role

LIST_FIELDS = ["list", "rule", "text_zh", "text_en", "start", "ends", "status", "reference", "measures", "measures_zh",
               "measures_en"]


def _value(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, (pd.Timestamp, dt.date)):
        return v.isoformat()[:10]
    return v.item() if hasattr(v, "item") else v


def _refused(sid: str, status: int, problem: str) -> dict:
    return {"subject_id": sid, "found": False, "status": status, "problem": problem}


def subject_cards(snap: Snapshot, subject_ids: list[str], r: Role, *, purpose: str | None = None,
                  authorization_ref: str | None = None, as_of: dt.date | None = None, user: str | None = None,
                  home=None) -> list[dict]:
    """One card per id, in the order asked. A card the role may not have, or of an unknown id,
    says so: `status` 400 (not a code or ID number; an individual without purpose and
    authorization reference), 403 (a role that may not see individuals), 404 (unknown; for the
    public also every individual), else 200 with the subject."""
    cards: list[dict | None] = []
    allowed: dict[str, str] = {}
    for raw in subject_ids:
        sid = str(raw or "").strip().upper()
        try:
            kind = identifiers.subject_type_of(sid)
        except workspace.UserError:
            cards.append(_refused(str(raw), 400, "invalid-subject-id"))
            continue
        refused = refusal(kind, r, purpose, authorization_ref, reference_needed=True)  # the dashboard's policy
        if refused:
            cards.append(_refused(sid, *refused))
            continue
        allowed[sid] = kind
        cards.append(None)
    people = [sid for sid, kind in allowed.items() if kind == "individual"]
    if people:  # on record before anything about them is answered
        desk.audit_many("api_lookup", people, purpose, user=user, role=r.name,
                        detail={"authorization_ref": authorization_ref, "as_of": str(as_of) if as_of else None},
                        home=home or snap.home)
    found = _cards(snap, allowed, r, as_of)
    out = []
    for raw, card in zip(subject_ids, cards):
        sid = str(raw or "").strip().upper()
        out.append(card if card is not None else found.get(sid) or _refused(sid, 404, "unknown-subject"))
    return out


def _cards(snap: Snapshot, allowed: dict[str, str], r: Role, as_of: dt.date | None) -> dict[str, dict]:
    from chengxin.models import grades

    if not allowed:
        return {}
    ids = list(allowed)
    info_sel = rows_of_many(snap.path / "subjects.parquet", ids)
    info: dict[str, dict] = {}
    for row in info_sel[[c for c in ("subject_id", "name", "county", "industry") if c in info_sel]].to_dict("records"):
        info.setdefault(row["subject_id"], row)
    parts = [p for p in ("grade", "pd", "score") if r.sees(p)]
    reasons = r.sees("reasons") and as_of is None
    if as_of is None:
        rated_sel = rows_of_many(snap.path / "ratings.parquet", ids)
    else:
        rated_sel = rows_of_many(snap.path / "history.parquet", ids)
        rated_sel = rated_sel[pd.to_datetime(rated_sel["as_of"]).dt.date <= as_of].sort_values("as_of", kind="stable")
    cols = ["subject_id", "as_of", "tier", "model_version", "criteria_version", *parts,
            *[f"reason_{k}{z}" for k in (1, 2, 3) for z in ("", "_zh") if reasons and f"reason_{k}{z}" in rated_sel]]
    rated = {row["subject_id"]: row for row in rated_sel[cols].to_dict("records")}  # the last run of each
    entries = rows_of_many(snap.path / "lists.parquet", ids) if r.lists else pd.DataFrame()
    if len(entries) and as_of is not None:  # the entries in force on that date
        start = pd.to_datetime(entries["start"]).dt.date
        ends = pd.to_datetime(entries["ends"]).dt.date
        entries = entries[(start <= as_of) & (ends.isna() | (ends > as_of))].assign(status="active")
    by_subject: dict[str, list[dict]] = {}
    if len(entries):
        keep = ["subject_id", *[c for c in LIST_FIELDS if c in entries]]
        for e in entries[keep].to_dict("records"):
            by_subject.setdefault(e.pop("subject_id"), []).append({k: _value(v) for k, v in e.items()})
    words = {t.tier: t.model_dump() for t in grades.rating_config().public_tiers}
    out = {}
    for sid in ids:
        irow, rrow = info.get(sid), rated.get(sid)
        hi, hr = irow is not None, rrow is not None
        if not (hi or hr):
            continue
        kind = allowed[sid]
        card = {"subject_id": sid, "subject_type": kind, "display_id": users.show_id(sid, kind, r), "found": True,
                "status": 200, "name": None, "county": None, "industry": None, "rated": bool(hr)}
        if hi:
            card.update(name=users.show_name(_value(irow.get("name")), kind, r), county=_value(irow.get("county")),
                        industry=_value(irow.get("industry")) if kind == "enterprise" else None)
        if hr:
            tier = rrow["tier"]
            card.update(as_of=_value(rrow["as_of"]), tier=tier, tier_words=words.get(tier),
                        model_version=str(rrow["model_version"]), criteria_version=str(rrow["criteria_version"]))
            card.update({part: _value(rrow[part]) for part in parts})
            if reasons:
                card["reasons"] = [{"text_en": rrow[f"reason_{k}"], "text_zh": _value(rrow.get(f"reason_{k}_zh"))}
                                   for k in (1, 2, 3) if isinstance(rrow.get(f"reason_{k}"), str) and rrow[f"reason_{k}"]]
            elif r.sees("reasons"):
                card["notes"] = ["reasons_not_kept"]  # the snapshot keeps reasons of the latest rating only
        if kind in r.lists:
            card["lists"] = by_subject.get(sid, [])
        out[sid] = card
    return out


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
    e = users.mask_frame(e.sort_values(["start", "subject_id"]), r)
    keep = ["subject_id", "subject_type", "name", "county", *LIST_FIELDS, "records"]
    return [{k: _value(v) for k, v in row.items()} for row in e[[c for c in keep if c in e]].to_dict("records")]
