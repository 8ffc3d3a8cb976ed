"""What changed for each subject from one published snapshot to the next, and the institutions'
watchlists that follow them (what bureaus call portfolio monitoring).

When `chengxin publish dashboard` switches to a new snapshot, `record` compares it with the
last snapshot whose changes were recorded and appends one row per change to `subject_changes`
(tier, grade, list entry added or ended, a new early-warning alert), numbered in publication
order. A watcher pulls the changes of its subjects after a cursor (the last number it saw): a
change is never lost or repeated between two polls, because rows are only appended, each run in
one transaction, by the one process that publishes. Recording is a write of the publishing
stage; reading the feed computes nothing, and is the read model's (`chengxin.readmodel.watch_feed`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from chengxin import state
from chengxin.state import ALERTS, CHANGE_RUNS, SUBJECT_CHANGES, WATCHLIST, WatchlistOwner

LIST_WORDS = {"black": ("black", "黑"), "red": ("red", "红")}


def _q(values: pd.Series) -> pd.Series:
    """Values as JSON strings (codes and dates need only quoting)."""
    return values.map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else json.dumps(str(v)))


def _rating_changes(old: Path, new: Path) -> pd.DataFrame:
    from chengxin.readmodel import snapshot as layout  # the snapshot's file names (the read model imports this module)
    cols = ["subject_id", "subject_type", "as_of", "tier", "grade"]
    before = pd.read_parquet(old / layout.RATINGS, columns=cols)
    after = pd.read_parquet(new / layout.RATINGS, columns=cols)
    m = after.merge(before[["subject_id", "tier", "grade"]], on="subject_id", how="left", suffixes=("", "_before"))
    out = []
    for kind, en, zh in (("tier", "Public tier", "公共信用等级"), ("grade", "Grade", "信用等级")):
        moved = m[m[kind].astype(str) != m[f"{kind}_before"].astype(str)]
        if moved.empty:
            continue
        day = moved["as_of"].astype(str).str[:10]
        prev = moved[f"{kind}_before"].fillna("-").astype(str)
        out.append(pd.DataFrame({
            "subject_id": moved["subject_id"], "subject_type": moved["subject_type"], "kind": kind,
            "previous": _q(moved[f"{kind}_before"]), "current": _q(moved[kind]), "as_of": day,
            "reason": en + " " + prev + " -> " + moved[kind].astype(str) + " (rated " + day + ")",
            "reason_zh": zh + " " + prev + " → " + moved[kind].astype(str) + "（评价日 " + day + "）"}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _entry_json(frame: pd.DataFrame) -> pd.Series:
    keep = ["list", "rule", "text_en", "text_zh", "start", "ends", "status"]
    return pd.Series([json.dumps({k: (None if pd.isna(v) else str(v)[:10] if k in ("start", "ends") else str(v))
                                  for k, v in row.items()}, ensure_ascii=False)
                      for row in frame[keep].to_dict("records")], index=frame.index, dtype=object)


def _list_changes(old: Path, new: Path, as_of: str) -> pd.DataFrame:
    from chengxin.readmodel import snapshot as layout  # the snapshot's file names (the read model imports this module)
    key = ["list", "rule", "subject_id", "start"]

    def entries(folder: Path) -> pd.DataFrame:
        e = pd.read_parquet(folder / layout.LISTS)
        return e.assign(start=e["start"].astype(str).str[:10])

    before, now = entries(old), entries(new)
    before, after = before[before["status"] == "active"], now[now["status"] == "active"]
    added = after.merge(before[key], on=key, how="left", indicator=True)
    added = added[added["_merge"] == "left_only"].drop(columns="_merge")
    ended = before.merge(after[key], on=key, how="left", indicator=True)
    ended = ended[ended["_merge"] == "left_only"].drop(columns="_merge")
    out = []
    if len(added):
        words = added["list"].map(lambda w: LIST_WORDS[w][0])
        out.append(pd.DataFrame({
            "subject_id": added["subject_id"], "subject_type": added["subject_type"], "kind": "list_entry_added",
            "previous": None, "current": _entry_json(added), "as_of": as_of,
            "reason": "Added to the " + words + " list: " + added["text_en"].astype(str) + " from " + added["start"],
            "reason_zh": "列入" + added["list"].map(lambda w: LIST_WORDS[w][1]) + "名单：" + added["text_zh"].astype(str)
                         + "（自 " + added["start"] + "）"}))
    if len(ended):
        status = ended[key].merge(now[[*key, "status"]].drop_duplicates(key), on=key, how="left")["status"]
        status = pd.Series(status.fillna("removed").to_numpy(), index=ended.index)  # why it is no longer active
        out.append(pd.DataFrame({
            "subject_id": ended["subject_id"], "subject_type": ended["subject_type"], "kind": "list_entry_ended",
            "previous": _entry_json(ended), "current": [json.dumps(s) for s in status], "as_of": as_of,
            "reason": "Left the " + ended["list"].map(lambda w: LIST_WORDS[w][0]) + " list: " + ended["text_en"].astype(str)
                      + " (" + status + ")",
            "reason_zh": "移出" + ended["list"].map(lambda w: LIST_WORDS[w][1]) + "名单：" + ended["text_zh"].astype(str)
                         + "（" + status + "）"}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _alert_changes(con: sa.Connection, since: str | None) -> pd.DataFrame:
    q = sa.select(ALERTS.c.subject_id, ALERTS.c.subject_type, ALERTS.c.as_of, ALERTS.c.severity, ALERTS.c.reasons,
                  ALERTS.c.reasons_zh, ALERTS.c.created_at)
    if since:
        q = q.where(ALERTS.c.created_at > since)
    a = pd.read_sql_query(q, con)
    if a.empty or since is None:  # the first run is the baseline
        return pd.DataFrame()
    return pd.DataFrame({
        "subject_id": a["subject_id"], "subject_type": a["subject_type"], "kind": "alert", "previous": None,
        "current": [json.dumps({"severity": s, "as_of": d}) for s, d in zip(a["severity"], a["as_of"])],
        "as_of": a["as_of"], "reason": "Early-warning alert (" + a["severity"] + "): " + a["reasons"].fillna(""),
        "reason_zh": "风险预警（" + a["severity"] + "）：" + a["reasons_zh"].fillna("")})


def record(home=None) -> dict:
    """Record the changes the current snapshot brought since the last recorded one (nothing to
    do when it is recorded already). The first snapshot recorded is the baseline: no changes."""
    from chengxin.readmodel import snapshot as layout  # the snapshot's file names (the read model imports this module)
    from chengxin import readmodel

    snap = readmodel.current(home)
    if snap is None:
        return {"snapshot": None, "changes": 0}
    with state.connect(home) as con:
        if con.scalar(sa.select(CHANGE_RUNS.c.snapshot).where(CHANGE_RUNS.c.snapshot == snap.id)):
            return {"snapshot": snap.id, "changes": 0, "recorded": True}
        last = con.execute(sa.select(CHANGE_RUNS).order_by(CHANGE_RUNS.c.recorded_at.desc(), CHANGE_RUNS.c.snapshot.desc())
                           .limit(1)).mappings().first()
        old = readmodel.root(home) / last["snapshot"] if last else None
        frames = []
        if old is not None and (old / layout.RATINGS).exists():
            as_of = str(snap.as_of("enterprise") or "")
            frames += [_rating_changes(old, snap.path), _list_changes(old, snap.path, as_of)]
        frames.append(_alert_changes(con, last["recorded_at"] if last else None))
        changes = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else pd.DataFrame()
        now = state.now("microseconds")
        if len(changes):
            changes = changes.assign(changed_at=now, snapshot=snap.id).replace({np.nan: None})
            con.execute(SUBJECT_CHANGES.insert(), changes.to_dict("records"))
        con.execute(CHANGE_RUNS.insert().values(snapshot=snap.id, previous=last["snapshot"] if last else None,
                                                recorded_at=now, changes=len(changes)))
    return {"snapshot": snap.id, "changes": len(changes), "since": last["snapshot"] if last else None}


def watch(owner: WatchlistOwner, add: dict[str, str], remove: list[str], *, purpose: str | None = None,
          authorization_ref: str | None = None, added_by: str | None = None, home=None) -> dict:
    """Add subjects (id -> subject type) to an owner's watchlist and remove others; a subject
    added sees the changes recorded after this moment, and keeps the purpose and authorization
    it was added with (what its changes are read under). Adding twice keeps the first time."""
    with state.connect(home) as con:
        top = con.scalar(sa.select(sa.func.coalesce(sa.func.max(SUBJECT_CHANGES.c.seq), 0)))
        now = state.now()
        if add:
            stmt = state.insert(con, WATCHLIST)
            con.execute(stmt.on_conflict_do_nothing(index_elements=["institution", "role", "subject_id"]),
                        [{"institution": owner.institution, "role": owner.role, "subject_id": s, "subject_type": kind,
                          "added_at": now, "from_seq": top, "added_by": added_by, "purpose": purpose,
                          "authorization_ref": authorization_ref} for s, kind in add.items()])
        if remove:
            con.execute(WATCHLIST.delete().where(owner.mine(), WATCHLIST.c.subject_id.in_(list(remove))))
        watching = con.scalar(sa.select(sa.func.count()).select_from(WATCHLIST).where(owner.mine()))
    return {"watching": watching}
