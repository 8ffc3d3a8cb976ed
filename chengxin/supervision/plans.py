"""Stored inspection plans: one file per draw (`catalog.inspection_plan`, never overwritten), its
published facts beside it (`.json`: seed, the input list's digest, counts, when it was drawn) and
its input list (`.inputs.csv`). The draw writes them (`chengxin.supervision.draw`); the draw's
callers and the read model read them here (this module opens no warehouse)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pandas as pd

from chengxin import catalog


def store(plan: pd.DataFrame, meta: dict, inputs: pd.DataFrame, home=None) -> Path:
    """Keep the plan, what is published with it and its input list (never overwriting a plan)."""
    now = dt.datetime.now().replace(microsecond=0)
    stamp = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    path = catalog.inspection_plan(meta["month"], f"{meta['department_key']}-{meta['strategy']}", stamp, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs.to_csv(path.with_suffix(".inputs.csv"), index=False)
    facts = {**meta, "drawn_at": now.isoformat(sep=" "), "stored": str(path)}
    path.with_suffix(".json").write_text(json.dumps(facts, ensure_ascii=False, indent=2), "utf-8")
    plan.to_csv(path, index=False)
    return path


def read(path: Path) -> tuple[pd.DataFrame, dict]:
    """A stored plan's rows (text as written; `recent` a flag) and its published facts."""
    meta = json.loads(Path(path).with_suffix(".json").read_text("utf-8"))
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows["recent"] = rows["recent"].str.lower().eq("true")
    return rows, meta


def latest_by_month(home=None) -> dict[str, Path]:
    """Each month's latest plan (a later draw of a month replaces the earlier one as the plan read)."""
    return {path.parent.name: path for path in catalog.inspection_plans(home)}  # oldest first: the last one stays


def stored(month: str | None = None, home=None) -> list[tuple[pd.DataFrame, dict]]:
    """The stored plans of a month (every month: None), oldest first, each with its published facts."""
    return [read(path) for path in catalog.inspection_plans(home) if month is None or path.parent.name == month]
