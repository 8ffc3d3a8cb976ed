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


def check(folder: Path, day: dt.date | None = None) -> dict[str, dict]:
    """Every kind of contradiction in the snapshot at `folder`, with its count and examples.
    `day`: the day the statuses are shown for (default: the snapshot's rating date)."""
    from chengxin.models import grades
    from chengxin.readmodel.snapshot import records_con

    folder = Path(folder)
    ratings = pd.read_parquet(folder / layout.RATINGS)
    entries = pd.read_parquet(folder / layout.LISTS)
    as_of = pd.Timestamp(ratings["as_of"].max()).date() if len(ratings) else None
    day = day or as_of
    order = [t.tier for t in grades.rating_config().public_tiers]
    rank = {t: k for k, t in enumerate(order)}
    out: dict[str, dict] = {}
    active = entries[entries["status"] == "active"]

    # 1. an entry of a direct-tier rule in force and a better tier than the rule forces
    direct = _direct_rules()
    hit = active.merge(direct[["subject_type", "rule", "forced"]], on=["subject_type", "rule"])
    hit = hit.merge(ratings[["subject_id", "tier"]], on="subject_id", how="inner")
    bad = hit[hit["tier"].map(rank) < hit["forced"].map(rank)]
    out["direct_tier_better"] = {"count": len(bad), "examples": _examples(bad, ["subject_id", "rule", "tier", "forced"]) if len(bad) else []}

    # 2. an entry published as in force whose end has come by the day shown
    ends = pd.to_datetime(active["ends"])
    bad = active[ends.notna() & (ends <= pd.Timestamp(day))] if day else active.iloc[0:0]
    out["ended_shown_in_force"] = {"count": len(bad), "examples": _examples(bad, ["subject_id", "rule", "start", "ends"])}

    # 3. a red-list entry whose basis no longer holds; 4. the same record twice
    con = records_con(folder)
    try:
        from chengxin.lists import latest_values, lists_config

        rows = []
        for rule in [r for r in lists_config().rules if r.basis]:
            mine = active[(active["list"] == "red") & (active["rule"] == rule.name)]
            if mine.empty:
                continue
            hit = mine.assign(latest=mine["subject_id"].map(latest_values(con, rule.basis, day)), needs=rule.basis.equals)
            rows.append(hit[hit["latest"].notna() & (hit["latest"].astype(str) != rule.basis.equals)])
        bad = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        out["red_list_basis_gone"] = {"count": len(bad),
                                      "examples": _examples(bad, ["subject_id", "rule", "latest", "needs"]) if len(bad) else []}
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
        out["record_twice"] = {"count": count, "examples": examples}
    finally:
        con.close()

    # 5. a tier a rule forced with no entry of that rule in force
    if "tier_rule" in ratings:
        ruled = ratings[ratings["tier_rule"].notna()][["subject_id", "subject_type", "tier_rule"]]
        ruled = ruled.merge(direct[["subject_type", "tier_rule", "rule"]], on=["subject_type", "tier_rule"])
        have = set(zip(active["subject_id"], active["rule"]))
        bad = ruled[[(s, r) not in have for s, r in zip(ruled["subject_id"], ruled["rule"])]]
    else:
        bad = pd.DataFrame()
    out["tier_rule_without_entry"] = {"count": len(bad), "examples": _examples(bad, ["subject_id", "tier_rule"]) if len(bad) else []}
    return out


def found(result: dict[str, dict]) -> int:
    """How many contradictions a `check` found, all kinds together."""
    return sum(v["count"] for v in result.values())


def describe(result: dict[str, dict]) -> list[str]:
    """One line per kind that was found: its count and words."""
    return [f"{v['count']:,} × {KINDS[k][1]} ({KINDS[k][0]})" for k, v in result.items() if v["count"]]
