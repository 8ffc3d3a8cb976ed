"""The explain stage: both models' contributions for every subject rated on a date, stored for
the read model (`catalog.explanations`). One subject's explanation, asked for by a face, is
`chengxin.readmodel.explanation`.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd

from chengxin import catalog, workspace
from chengxin.features import snapshots
from chengxin.models import explain as ex
from chengxin.models.registered import rating_models


def explain_all(subject: str, as_of: dt.date, *, home=None) -> dict:
    """Contributions of both models for every subject on `as_of`, stored for the dashboard.

    A subject whose every split decision is unchanged since the previous stored month, under the
    same model versions, keeps last month's TreeSHAP values (`decision_fingerprint`: exact, not an
    approximation); only the others go through TreeSHAP. Scorecard points are table look-ups."""
    import time

    started = time.perf_counter()
    m = rating_models(subject, home)
    card, boosted = ex.unwrap(m["scorecard"]), ex.unwrap(m["challenger"])
    feats = snapshots.stored_indicators(subject, as_of, home=home)
    cols = list(card.feature_names_in_)
    X = feats[cols]
    fingerprint = ex.decision_fingerprint(boosted, X)
    versions = f"{m['scorecard_version']}/{m['challenger_version']}"
    base, points = ex.scorecard_contributions(card, X)
    out = pd.DataFrame({"subject_id": feats["subject_id"].to_numpy(), "fingerprint": fingerprint, "versions": versions,
                        "scorecard_base": base, "challenger_base": np.nan})
    shap_cols = [f"shap__{c}" for c in cols]
    shap = pd.DataFrame(np.nan, index=X.index, columns=shap_cols)
    reused = np.zeros(len(X), dtype=bool)
    earlier = sorted(p for p in catalog.explanations(subject, as_of, home).parents[1].glob("as_of=*/contributions.parquet")
                     if p.parent.name < f"as_of={as_of}")
    if earlier:
        last = pd.read_parquet(earlier[-1], columns=["subject_id", "fingerprint", "versions", "challenger_base", *shap_cols])
        last = last[last["versions"] == versions]
        joined = out[["subject_id", "fingerprint"]].merge(last, on=["subject_id", "fingerprint"], how="left")
        reused = joined["challenger_base"].notna().to_numpy()
        shap.loc[reused, shap_cols] = joined.loc[reused, shap_cols].to_numpy()
        out.loc[reused, "challenger_base"] = joined.loc[reused, "challenger_base"].to_numpy()
    todo = ~reused
    if todo.any():
        b, contrib = ex.challenger_contributions(boosted, X[todo], n_jobs=os.cpu_count())  # a batch: every core
        shap.loc[todo, shap_cols] = contrib[cols].to_numpy()
        out.loc[todo, "challenger_base"] = b
    out = pd.concat([out, points.add_prefix("points__").reset_index(drop=True), shap.reset_index(drop=True)], axis=1)
    path = catalog.explanations(subject, as_of, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    workspace.write_subject_table(out, path)
    return {"subject": subject, "as_of": str(as_of), "subjects": len(out), "treeshap": int(todo.sum()),
            "reused": int(reused.sum()), "out": str(path), "seconds": round(time.perf_counter() - started, 1)}
