"""The supervise stage: every live enterprise's risk class on a date (`chengxin supervise classify`).

It reads what the platform published and knows on that date: the indicators (computed point in
time, as `chengxin features` does), the ratings `chengxin score` stored for the date (the
lender's PD and the public evaluation's points), the month's alerts in the desk (`chengxin
warn`); the classes and their reasons come from `chengxin.supervision.classes` and are stored
under the catalog's `supervision` folder, never published. The month's draw
(`chengxin.supervision.draw`) reads them back.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from chengxin import catalog, workspace
from chengxin.supervision import classes


def stored_ratings(as_of: dt.date, home=None) -> pd.DataFrame:
    """The enterprises' latest ratings run of `as_of` (subject_id, pd, score: what the signals read)."""
    runs = catalog.ratings_runs("enterprise", as_of, home)
    if not runs:
        raise workspace.UserError(f"no enterprise ratings of {as_of}: run `chengxin score --as-of {as_of} "
                                  f"--subject enterprise` first")
    return pd.read_parquet(runs[-1], columns=["subject_id", "pd", "score"])


def classify(as_of: dt.date, *, strategy: str = "classified", truth: pd.Series | None = None, home=None,
             store: bool = True) -> tuple[pd.DataFrame, dict]:
    """The classes of `as_of` (and, with `store`, the stored run's summary)."""
    started = time.perf_counter()
    # restated with every case decision made so far, as `chengxin score` rates the same date
    feats = classes.live_indicators(as_of, home, known=dt.date.today())
    ratings = stored_ratings(as_of, home) if strategy == "classified" else None
    found = classes.classify(feats, as_of, strategy=strategy, ratings=ratings, truth=truth, home=home)
    summary = classes.store(found, as_of, home) if store else {"as_of": str(as_of), "firms": len(found)}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return found, summary
