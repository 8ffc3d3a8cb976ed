"""Storing one file's checked rows in the warehouse: its records (versioned: a corrected
re-upload supersedes the stored version, which is kept as history), its quarantined rows and its
entry in ``ingest_files``, in one transaction. Ingestion (`pipelines/ingest.py`) and the
quarantine's release (`pipelines/quarantine.py`) both store through `commit`; the checks
themselves are `chengxin.contract`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from chengxin import checking, contract
from chengxin.config import Source

# A file row's number is its position plus this: rows count from 1, and the header is row 1.
FIRST_ROW = 2


@dataclass
class FileResult:
    path: str
    source: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    superseded: int = 0
    review: int = 0
    encoding: str = ""


def _pause_hook() -> None:
    """Testing aid: hold the open transaction so a test can kill a real ingest mid-file."""
    seconds = float(os.environ.get("CHENGXIN_PAUSE_BEFORE_COMMIT", "0") or 0)
    if seconds:
        print("ingest: pausing before commit", file=sys.stderr, flush=True)
        time.sleep(seconds)


def commit(con: duckdb.DuckDBPyConnection, path: str, sha: str, source: Source, table: pa.Table,
           checked: checking.Checked, encoding: str, row_numbers: list[int] | None = None) -> FileResult:
    """Store one file's checked rows in one transaction: records, quarantine, and the file log.

    table: the file as read (the quarantine keeps each failing row's original cells);
    row_numbers: the file row number of each position (default: position + FIRST_ROW).
    """
    result = FileResult(path, source.name, rows=table.num_rows, encoding=encoding)
    now = dt.datetime.now()

    con.execute("BEGIN TRANSACTION")
    try:
        file_id = con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM ingest_files").fetchall()[0][0]
        # quarantine: one entry per failing row, written once per (file content, row)
        if checked.problems.rows:
            failing = sorted(checked.problems.rows)
            q = []
            for i, original in zip(failing, table.take(failing).to_pylist()):
                probs = checked.problems.rows[i]
                q.append({
                    "file_id": file_id, "path": path, "sha256": sha, "source": source.name,
                    "row_number": int(row_numbers[i] if row_numbers is not None else i + FIRST_ROW),
                    "column": ",".join(dict.fromkeys(p[0] for p in probs)),
                    "value": next((p[1] for p in probs if p[1] is not None), None),
                    "reason": "; ".join(dict.fromkeys(p[2] for p in probs)),
                    "rule": ",".join(dict.fromkeys(p[4] for p in probs)), "status": checked.problems.status(i),
                    "raw": json.dumps(original, ensure_ascii=False), "quarantined_at": now,
                })
            con.register("q_new", pa.Table.from_pylist(q))
            con.execute("""INSERT INTO quarantine SELECT q.* FROM q_new q
                           ANTI JOIN (SELECT sha256, row_number FROM quarantine WHERE sha256 = $sha) o USING (sha256, row_number)""",
                        {"sha": sha})
            con.unregister("q_new")
            result.rejected = len(q)
            result.review = sum(entry["status"] == contract.REVIEW for entry in q)

        if result.rejected < result.rows:
            con.register("_checked", checked.rows)
            _load_records(con, source, "_checked", row_numbers, file_id, result)
            con.unregister("_checked")
        con.execute("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [file_id, path, sha, source.name, encoding, result.rows, result.accepted, result.rejected,
                     result.duplicates, result.superseded, result.review, checked.received_from_file, now])
        _pause_hook()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if result.accepted + result.rejected + result.duplicates != result.rows:
        raise RuntimeError(f"row accounting broke for {path}: {result}")
    return result


def _key_period(con, source: Source, checked: str) -> list[tuple]:
    """(column, smallest, largest, any null) of the date columns in the natural key, over the
    file's valid rows: a stored version of one of its keys has its date inside that span."""
    dates = [c for c in source.key if source.column(c).type in ("date", "month")]
    if not dates:
        return []
    found = con.execute(f"SELECT {', '.join(f'min({c}), max({c}), bool_or({c} IS NULL)' for c in dates)} "
                        f"FROM {checked} WHERE _problems IS NULL").fetchall()[0]
    return [(c, *found[3 * k:3 * k + 3]) for k, c in enumerate(dates)]


def _in_period(period: list[tuple], alias: str = "") -> str:
    """A filter that keeps every stored version of the file's keys and lets DuckDB skip the row
    groups of other periods (their zone maps)."""
    ranges = ["true"]
    for c, low, high, nulls in period:
        c = f'{alias}"{c}"'
        inside = f"{c} BETWEEN DATE '{low}' AND DATE '{high}'" if low is not None else "false"
        ranges.append(f"({inside} OR {c} IS NULL)" if nulls else inside)
    return " AND ".join(ranges)


def _load_records(con, source: Source, checked: str, row_numbers: list[int] | None, file_id: int,
                  result: FileResult) -> None:
    cols = [*source.column_names, *(c for c in ("subject_type",) if c not in source.column_names)]
    row_number = f"_pos + {FIRST_ROW}" if row_numbers is None else "list_extract($numbers::INTEGER[], _pos + 1)"
    numbers = {} if row_numbers is None else {"numbers": list(map(int, row_numbers))}
    period = _key_period(con, source, checked)
    # Each valid row's fate, from its identity alone: a repeat inside the file, a version already
    # stored, or new (a new version of a stored key supersedes it). The stored versions are found
    # by probing the stored table with the file's keys (a hash table of one file, not of the whole
    # table), in the row groups of the file's periods only.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fate AS
        WITH v AS (SELECT _pos, {row_number} AS _row_number, _key, _hash FROM {checked} WHERE _problems IS NULL),
             firsts AS (SELECT _key, _hash, min(_row_number) AS _first FROM v GROUP BY _key, _hash),
             stored AS (SELECT DISTINCT _key, _hash FROM {source.table}
                        WHERE {_in_period(period)} AND _key IN (SELECT _key FROM v)),
             stored_keys AS (SELECT DISTINCT _key FROM stored)
        SELECT v._pos, v._key, v._row_number > f._first OR d._hash IS NOT NULL AS _duplicate,
               k._key IS NOT NULL AS _key_stored
        FROM v JOIN firsts f ON f._key = v._key AND f._hash = v._hash
        LEFT JOIN stored d ON d._key = v._key AND d._hash = v._hash
        LEFT JOIN stored_keys k ON k._key = v._key""", numbers)
    n_total, n_dup, n_super, n_keys = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE _duplicate), count(*) FILTER (WHERE NOT _duplicate AND _key_stored),
               count(DISTINCT _key) FILTER (WHERE NOT _duplicate)
        FROM fate""").fetchall()[0]
    stored_cols = [*cols, "received_date", "subject_county", "id_status", "_key", "_hash"]
    con.execute(f"""
        INSERT INTO {source.table} ({', '.join(f'"{c}"' for c in stored_cols)}, _file_id, _row_number, _seq, _superseded_on)
        SELECT {', '.join(f'c."{c}"' for c in stored_cols)}, CAST($file_id AS INTEGER), CAST({row_number} AS INTEGER),
               CAST($file_id AS BIGINT) * 4294967296 + {row_number}, NULL
        FROM {checked} c SEMI JOIN (SELECT _pos FROM fate WHERE NOT _duplicate) n ON n._pos = c._pos""",
        {"file_id": file_id} | numbers)
    # the keys that now have more than one version (a key stored before, or new twice in the file):
    # each version is superseded by the next one received
    if n_super or n_keys < n_total - n_dup:
        con.execute("""CREATE OR REPLACE TEMP TABLE versioned AS SELECT _key FROM fate WHERE NOT _duplicate
                       GROUP BY _key HAVING count(*) > 1 OR bool_or(_key_stored)""")
        con.execute(f"""
            UPDATE {source.table} AS r SET _superseded_on = v.next_received
            FROM (SELECT _seq, lead(received_date) OVER (PARTITION BY _key ORDER BY received_date, _seq) AS next_received
                  FROM {source.table} WHERE {_in_period(period)} AND _key IN (SELECT _key FROM versioned)) v
            WHERE {_in_period(period, "r.")} AND r._seq = v._seq AND r._superseded_on IS DISTINCT FROM v.next_received""")
        con.execute("DROP TABLE versioned")
    result.duplicates = int(n_dup)
    result.accepted = int(n_total - n_dup)
    result.superseded = int(n_super)
    con.execute("DROP TABLE fate")


def write_decision(con: duckdb.DuckDBPyConnection, source: Source, current: dict | None, values: dict, *,
                   subject_id: str, subject_type: str, case_no: int, status: str | None, on: dt.date) -> dict:
    """Store what a case decided as a new version of the record, in one transaction, the way a
    corrected re-upload is stored: the version held so far is superseded on `on` (and marked
    corrected by a case, which restated ratings follow), never changed otherwise. `current`:
    the version held (None: the decision adds a record); `values`: the columns it changes;
    `status`: None for a live record, ``deleted`` (a tombstone) or ``unpublished``. The new
    version's file in ``ingest_files`` is ``case:<number>``: its provenance."""
    from chengxin import warehouse

    row = {c: (current or {}).get(c) for c in source.column_names}
    row.update(values)
    row["subject_id"] = subject_id
    if "subject_type" in row:
        row["subject_type"] = subject_type
    meta = {"received_date": on, "subject_type": subject_type, "_case": int(case_no), "_status": status,
            "_row_number": FIRST_ROW, "_superseded_on": None, "_corrected_on": None}
    if current is not None:
        meta |= {"subject_county": current.get("subject_county"), "id_status": current.get("id_status") or "valid"}
    else:
        table = "rec_registration" if subject_type == "enterprise" else "rec_resident"
        found = con.execute(f"SELECT subject_county, id_status FROM {table} WHERE subject_id = ? AND {warehouse.CURRENT} "
                            "LIMIT 1", [subject_id]).fetchall()
        meta |= {"subject_county": found[0][0] if found else None, "id_status": found[0][1] if found else "valid"}
    columns = warehouse.record_columns(source)
    key = warehouse.key_sql(source.key)
    con.execute("BEGIN TRANSACTION")
    try:
        file_id = con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM ingest_files").fetchall()[0][0]
        meta |= {"_file_id": file_id, "_seq": file_id * 4294967296 + FIRST_ROW}
        full = {c: (row | meta).get(c) for c in columns if c not in ("_key", "_hash")}
        cols = ", ".join(f'"{c}"' for c in full)
        casts = ", ".join(f'CAST(? AS {columns[c].split(" NOT NULL")[0]})' for c in full)
        con.execute(f"INSERT INTO {source.table} ({cols}, _key, _hash) SELECT *, 0, 0 FROM (SELECT {casts})",
                    list(full.values()))
        con.execute(f"UPDATE {source.table} SET _key = {key}, _hash = {warehouse.key_sql(source.column_names)} "
                    "WHERE _seq = ?", [meta["_seq"]])
        new_key = con.execute(f"SELECT _key FROM {source.table} WHERE _seq = ?", [meta["_seq"]]).fetchall()[0][0]
        superseded = con.execute(f"""UPDATE {source.table} SET _superseded_on = coalesce(_superseded_on, $on),
                                     _corrected_on = coalesce(_corrected_on, $on)
                                     WHERE _key = $key AND _seq <> $seq AND (_superseded_on IS NULL OR _corrected_on IS NULL)
                                     RETURNING _seq""",
                                 {"on": on, "key": new_key, "seq": meta["_seq"]}).fetchall()
        con.execute("INSERT INTO ingest_files VALUES (?, ?, '', ?, '', 1, 1, 0, 0, ?, 0, false, ?)",
                    [file_id, f"case:{case_no}", source.name, int(bool(superseded)), dt.datetime.now()])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"source": source.name, "file_id": int(file_id), "provenance": f"case:{case_no}", "status": status,
            "received_date": str(on), "supersedes": len(superseded),
            "values": {k: (str(v) if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in values.items()}}
