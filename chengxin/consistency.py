"""One truth across faces: the contradictions a published snapshot could hold, counted.

`check(folder)` scans what a snapshot publishes (its ratings, red and black lists and records,
the tables every face reads) for each kind of contradiction in `KINDS` and returns, per kind,
its count and a few examples. `chengxin consistency` prints them; `publish dashboard` runs it on
the snapshot it built and refuses to switch to one with contradictions unless `--force`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from chengxin import config
from chengxin.readmodel import snapshot as layout

KINDS = {
    "direct_tier_better": ("直接评级规则的名单记录有效，但等级更好", "an entry of a direct-tier rule in force, and a better tier"),
    "ended_shown_in_force": ("名单记录已过期仍显示为有效", "a list entry shown as in force after its end date"),
    "red_list_basis_gone": ("红名单依据已不成立（如A级纳税人而最新纳税信用等级非A）",
                            "a red-list entry whose basis no longer holds (an A-grade taxpayer whose latest tax grade is not A)"),
    "record_twice": ("同一记录在报告中出现两次", "the same record twice in a subject's report"),
    "tier_rule_without_entry": ("等级由直接评级规则决定，但无对应名单记录", "a tier forced by a rule with no entry of that rule"),
}
EXAMPLES = 5


def _examples(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    rows = frame[columns].head(EXAMPLES).to_dict("records")
    return [{k: (str(v)[:10] if isinstance(v, (dt.date, pd.Timestamp)) else v) for k, v in r.items()} for r in rows]


def _direct_rules() -> pd.DataFrame:
    """The declared direct-tier rules over list entries: subject type, rule, list rule, tier."""
    from chengxin.models.evaluation import evaluation_config

    cfg = evaluation_config()
    return pd.DataFrame([(s, t.name, t.list_rule, t.tier) for s in config.SUBJECT_TYPES
                         for t in getattr(cfg, s).direct_tiers if t.list_rule],
                        columns=["subject_type", "tier_rule", "rule", "forced"])


class _Published:
    """What one snapshot publishes, as the checks read it: its ratings, its list entries in force
    and the tier order."""

    def __init__(self, folder: Path, day: dt.date | None):
        from chengxin.models import grades

        self.folder = Path(folder)
        self.ratings = pd.read_parquet(self.folder / layout.RATINGS)
        entries = pd.read_parquet(self.folder / layout.LISTS)
        self.as_of = pd.Timestamp(self.ratings["as_of"].max()).date() if len(self.ratings) else None
        self.day = day or self.as_of
        self.rank = {t.tier: k for k, t in enumerate(grades.rating_config().public_tiers)}
        self.active = entries[entries["status"] == "active"]
        self.direct = _direct_rules()


def check(folder: Path, day: dt.date | None = None) -> dict[str, dict]:
    """Every kind of contradiction in the snapshot at `folder`, with its count and examples.
    `day`: the day the statuses are shown for (default: the snapshot's rating date)."""
    from chengxin.readmodel.snapshot import records_con

    snap = _Published(folder, day)
    out = {"direct_tier_better": _direct_tier_better(snap), "ended_shown_in_force": _ended_shown_in_force(snap)}
    con = records_con(snap.folder)
    try:
        out["red_list_basis_gone"] = _red_list_basis_gone(snap, con)
        out["record_twice"] = _record_twice(con)
    finally:
        con.close()
    out["tier_rule_without_entry"] = _tier_rule_without_entry(snap)
    return {kind: out[kind] for kind in KINDS}


def _found(bad: pd.DataFrame, columns: list[str]) -> dict:
    return {"count": len(bad), "examples": _examples(bad, columns) if len(bad) else []}


def _direct_tier_better(snap: _Published) -> dict:
    """An entry of a direct-tier rule in force, and a better tier than the rule forces."""
    hit = snap.active.merge(snap.direct[["subject_type", "rule", "forced"]], on=["subject_type", "rule"])
    hit = hit.merge(snap.ratings[["subject_id", "tier"]], on="subject_id", how="inner")
    return _found(hit[hit["tier"].map(snap.rank) < hit["forced"].map(snap.rank)], ["subject_id", "rule", "tier", "forced"])


def _ended_shown_in_force(snap: _Published) -> dict:
    """An entry published as in force whose end has come by the day shown."""
    ends = pd.to_datetime(snap.active["ends"])
    bad = snap.active[ends.notna() & (ends <= pd.Timestamp(snap.day))] if snap.day else snap.active.iloc[0:0]
    return {"count": len(bad), "examples": _examples(bad, ["subject_id", "rule", "start", "ends"])}


def _red_list_basis_gone(snap: _Published, con) -> dict:
    """A red-list entry whose basis no longer holds by the subject's latest record."""
    from chengxin.lists import latest_values, lists_config

    rows = []
    for rule in [r for r in lists_config().rules if r.basis]:
        mine = snap.active[(snap.active["list"] == "red") & (snap.active["rule"] == rule.name)]
        if mine.empty:
            continue
        hit = mine.assign(latest=mine["subject_id"].map(latest_values(con, rule.basis, snap.day)), needs=rule.basis.equals)
        rows.append(hit[hit["latest"].notna() & (hit["latest"].astype(str) != rule.basis.equals)])
    return _found(pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(), ["subject_id", "rule", "latest", "needs"])


def _record_twice(con) -> dict:
    """The same record twice in the snapshot's records (what a subject's report would list twice)."""
    count, examples = 0, []
    tables = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    for src in config.sources():
        if src.table not in tables or src.is_reference:
            continue
        shown = [c for c in src.column_names if c not in ("received_date",)]
        cols = ", ".join(f'"{c}"' for c in shown)
        twice = con.execute(f"SELECT {cols}, count(*) AS times FROM {src.table} GROUP BY ALL HAVING count(*) > 1").df()
        count += len(twice)
        examples += [{"source": src.name, "subject_id": r["subject_id"], "times": int(r["times"])}
                     for r in twice.head(EXAMPLES - len(examples)).to_dict("records")] if len(examples) < EXAMPLES else []
    return {"count": count, "examples": examples}


def _tier_rule_without_entry(snap: _Published) -> dict:
    """A tier a rule forced with no entry of that rule in force."""
    if "tier_rule" not in snap.ratings:
        return _found(pd.DataFrame(), ["subject_id", "tier_rule"])
    ruled = snap.ratings[snap.ratings["tier_rule"].notna()][["subject_id", "subject_type", "tier_rule"]]
    ruled = ruled.merge(snap.direct[["subject_type", "tier_rule", "rule"]], on=["subject_type", "tier_rule"])
    have = set(zip(snap.active["subject_id"], snap.active["rule"]))
    return _found(ruled[[(s, r) not in have for s, r in zip(ruled["subject_id"], ruled["rule"])]], ["subject_id", "tier_rule"])


def found(result: dict[str, dict]) -> int:
    """How many contradictions a `check` found, all kinds together."""
    return sum(v["count"] for v in result.values())


def describe(result: dict[str, dict]) -> list[str]:
    """One line per kind that was found: its count and words."""
    return [f"{v['count']:,} × {KINDS[k][1]} ({KINDS[k][0]})" for k, v in result.items() if v["count"]]
