"""The quarantine: rows ingestion held back, with the reason. Rows held for *review* (a code
whose check character fails, an old registration number without a mapping) can be released
once the office allow-lists the code or the mapping arrives; released rows load as if they
had passed the first time, and their quarantine entry is marked `released`."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from chengxin import checking, config, loading, warehouse


def report(*, source: str | None = None, status: str | None = None, limit: int = 20, home=None) -> dict:
    where, params = [], []
    if source:
        where.append("source = ?")
        params.append(source)
    if status:
        where.append("status = ?")
        params.append(status)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with warehouse.connect(home, read_only=True) as con:
        by_reason = con.execute(f"""
            SELECT source, status, rule, "column", count(*) AS rows, any_value(reason) AS example
            FROM quarantine {clause} GROUP BY ALL ORDER BY rows DESC LIMIT 50""", params).df()
        rows = con.execute(f"""SELECT source, path, row_number, "column", value, reason, status FROM quarantine {clause}
                               ORDER BY quarantined_at DESC, path, row_number LIMIT ?""", params + [limit]).df()
        totals = con.execute(f"SELECT status, count(*) FROM quarantine {clause} GROUP BY 1", params).fetchall()
    return {"totals": dict(totals), "by_reason": by_reason.to_dict(orient="records"), "rows": rows.to_dict(orient="records")}


def release(*, codes: list[str], note: str = "", home=None) -> dict:
    """Allow-list `codes`, then re-check every row held for review and load those that pass."""
    settings = config.settings(home).ingest
    now = dt.datetime.now()
    rechecked = released = 0
    with warehouse.connect(home) as con:
        for code in codes:
            con.execute("INSERT INTO uscc_allowlist VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [code.strip().upper(), now, note])
        checking.load_reference(con, settings)
        held = con.execute("""SELECT path, sha256, source, row_number, raw, quarantined_at FROM quarantine
                              WHERE status = 'review' ORDER BY path, row_number""").df()
        for (path, sha, name), group in held.groupby(["path", "sha256", "source"], sort=False):
            source = config.sources()[name]
            rows = [json.loads(r) for r in group["raw"]]
            headers = list(dict.fromkeys(k for r in rows for k in r))
            table = pa.table({h: pa.array([r.get(h) for r in rows], pa.string()) for h in headers})
            day = pd.Timestamp(group["quarantined_at"].min().date())
            checked = checking.check_rows(con, source, checking.text_table(table, source), settings, today=day)
            numbers = group["row_number"].to_numpy()
            ok = np.setdiff1d(np.arange(len(group)), list(checked.problems.rows))
            passed = numbers[ok]
            if len(passed):
                # the passing rows alone: the failing ones stay in the quarantine as they are
                only = checking.Checked(checked.rows, checking.Problems({}), checked.received_from_file)
                loading.commit(con, path, sha, source, table.take(ok), only, "release", row_numbers=numbers.tolist())
                con.execute("UPDATE quarantine SET status = 'released' WHERE sha256 = ? AND list_contains(?, row_number)",
                            [sha, [int(n) for n in passed]])
            rechecked += len(group)
            released += len(passed)
    return {"allowlisted": codes, "rechecked": rechecked, "released": released, "still_held": rechecked - released}

