"""One subject's stored explanation, as `chengxin explain --all` left it in the snapshot: both
models' contributions and the credit-repair path. Nothing here scores or explains; a subject
whose date was not explained has no stored explanation, and the faces say so. (Working one out
afresh is the explain stage, `pipelines/explain.py`.)"""

from __future__ import annotations

import json

import pandas as pd

from chengxin import catalog
from chengxin.readmodel.snapshot import Snapshot, explanation_file
from chengxin.readmodel.rows import rows_on_disk

MODELS = (("scorecard", "points__", "scorecard_base"), ("boosted", "shap__", "boosted_base"))


def _stored_row(snap: Snapshot, subject: str, subject_id: str, repair: bool) -> pd.Series | None:
    """One subject's stored row: of the repair paths (`repair`) or of the contributions. They
    are two files, so a look-up decodes nobody's repair path."""
    import pyarrow.parquet as pq

    path = explanation_file(snap.path, subject, repair)
    if not path.exists():
        return None
    # contributions stored in one file with the repair path (one revision, before issue 20 landed)
    columns = [c for c in pq.read_schema(path).names if repair or c not in catalog.REPAIR_COLUMNS]
    rows = rows_on_disk(path, subject_id, columns)
    return pd.Series(rows[0]).rename(catalog.EXPLANATION_RENAMES) if rows else None


def stored_contributions(snap: Snapshot, subject: str, subject_id: str) -> dict | None:
    """Both models' contributions for one subject from the stored explanations, in the shape
    `chengxin explain` gives them; None when not stored."""
    row = _stored_row(snap, subject, subject_id, repair=False)
    if row is None:
        return None
    out = {}
    for model, prefix, base in MODELS:
        contrib = {k.removeprefix(prefix): (None if pd.isna(v) else float(v)) for k, v in row.items() if k.startswith(prefix)}
        b = float(row[base])
        out[model] = {"base_value": b, "contributions": contrib,
                      "raw_output": b + sum(v for v in contrib.values() if v is not None), "versions": row["versions"]}
    return out


def stored_repair(snap: Snapshot, subject: str, subject_id: str) -> dict | None:
    """One subject's stored credit-repair path: repair_path (the steps), repair_reachable,
    repair_note and repair_note_zh (a subject in default); None when not stored."""
    row = _stored_row(snap, subject, subject_id, repair=True)
    if row is None:
        return None
    note = {k: (None if pd.isna(row[k]) else str(row[k])) for k in ("repair_note", "repair_note_zh")}
    return {"repair_path": json.loads(row["repair_path"]), "repair_reachable": bool(row["repair_reachable"]), **note}
