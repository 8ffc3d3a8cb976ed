import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandera.errors import SchemaErrors

from chengxin import config
from chengxin import identifiers as ids
from chengxin import warehouse
from chengxin.city import uploads
from chengxin.pipelines import ingest as ing
from chengxin.pipelines import quarantine

FIRM = ids.make_uscc("9", "1", "610302", "10000001")
FIRM2 = ids.make_uscc("9", "1", "610303", "10000002")
PERSON = ids.make_resident_id("610302", dt.date(1980, 1, 1), 11)


def counts(home: Path) -> dict:
    with warehouse.connect(home, read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in sorted(tables)}


def query(home: Path, sql: str) -> pd.DataFrame:
    with warehouse.connect(home, read_only=True) as con:
        return con.execute(sql).df()


def write_tax(path: Path, rows: list[dict], encoding="utf-8", chinese=False):
    frame = pd.DataFrame(rows)
    if chinese:
        from chengxin import config

        src = config.sources()["tax"]
        frame = frame.rename(columns={c.name: c.zh for c in src.columns} | {"received_date": "上报日期"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


def tax_row(code=FIRM, period="2024-03", paid="100.5", **kw):
    row = dict(subject_id=code, period=period, filed_on_time="true", tax_paid=paid, arrears_amount="0",
               arrears_months="0", tax_credit_grade="", major_violation="", received_date="2024-04-10")
    row.update(kw)
    return row


def received_late(rows: list[dict]) -> list[dict]:
    """Rows received after every period they name (2025-01-10), so that only their other faults show."""
    return [{**r, "received_date": "2025-01-10"} for r in rows]


# --- the generated city ------------------------------------------------------------------


def test_every_row_is_accounted_for(ingested_home, small_city):
    files = query(ingested_home, "SELECT * FROM ingest_files")
    assert (files["accepted"] + files["rejected"] + files["duplicates"] == files["rows"]).all()
    n_files = sum(1 for p in small_city[0].rglob("*") if p.is_file() and "_truth" not in p.parts)
    assert len(files) == n_files
    q = query(ingested_home, "SELECT count(*) AS n FROM quarantine")["n"][0]
    # a re-sent copy of a file (same bytes) shares its quarantine entries with the first copy
    assert q == files.drop_duplicates("sha256")["rejected"].sum()
    assert files["sha256"].duplicated().sum() > 0
    # the generator's mess was caught: duplicates and mistyped codes
    assert files["duplicates"].sum() > 0
    rules = set(query(ingested_home, "SELECT DISTINCT rule FROM quarantine")["rule"])
    assert {"check_character", "not_a_number"} <= rules


def test_reingest_adds_nothing(ingested_copy, small_city):
    before = counts(ingested_copy)
    summary = ing.ingest(small_city[0], home=ingested_copy)
    assert summary.accepted == 0
    assert summary.rejected + summary.duplicates == summary.rows
    after = counts(ingested_copy)
    assert {k: v for k, v in after.items() if k != "ingest_files"} == {k: v for k, v in before.items() if k != "ingest_files"}


def fingerprint(home: Path) -> dict[str, tuple]:
    """Per table: the row count and, per column, a sum of hashes of its values (the clock
    columns left out)."""
    with warehouse.connect(home, read_only=True) as con:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall():
            cols = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                              "AND database_name = current_database()", [table]).fetchall()
                    if c not in ("ingested_at", "quarantined_at")]
            sums = ", ".join(f'sum(hash("{c}")::HUGEINT)' for c in cols)
            out[table] = con.execute(f"SELECT count(*), {sums} FROM {table}").fetchall()[0]
        return out


def test_files_checked_side_by_side_load_as_one_at_a_time(ingested_home, small_city, tmp_path):
    """Several files are read and checked at once (`read_ahead`), each on its own cursor, while
    they commit in file order: the warehouse is the one a single reader builds."""
    assert config.settings(ingested_home).ingest.read_ahead > 1
    one = tmp_path / "one"
    one.mkdir()
    (one / "settings.yaml").write_text("ingest:\n  read_ahead: 1\n")
    ing.ingest(small_city[0], home=one)
    assert fingerprint(one) == fingerprint(ingested_home)


def versions_out_of_order(home: Path) -> dict[str, int]:
    """Per record table, the rows whose _superseded_on is not the received date of the next
    version of their key, recomputed over the whole table."""
    with warehouse.connect(home, read_only=True) as con:
        return {s.table: con.execute(f"""
                    SELECT count(*) FROM (SELECT _superseded_on, lead(received_date) OVER (
                        PARTITION BY _key ORDER BY received_date, _seq) AS next_received FROM {s.table})
                    WHERE _superseded_on IS DISTINCT FROM next_received""").fetchall()[0][0]
                for s in config.sources()}


def test_every_version_is_superseded_by_the_next_one_received(ingested_home):
    assert query(ingested_home, "SELECT sum(superseded) AS n FROM ingest_files")["n"][0] > 0
    assert set(versions_out_of_order(ingested_home).values()) == {0}


def test_old_registration_numbers_are_mapped(ingested_home):
    # the departments whose systems still send old numbers (the generator's OLD_SYSTEMS)
    tables = [config.sources()[name].table for name in sorted(uploads.OLD_SYSTEMS)]
    rows = " UNION ALL ".join(f"SELECT id_status, subject_id FROM {t}" for t in tables)
    counts = query(ingested_home, f"""SELECT count(*) FILTER (WHERE id_status = 'mapped') AS mapped,
                                             count(*) FILTER (WHERE length(subject_id) <> 18) AS bad FROM ({rows})""")
    assert counts["mapped"][0] > 0
    assert counts["bad"][0] == 0


def test_fullwidth_codes_are_folded(ingested_home, small_city):
    # every stored code is half-width and valid or explicitly marked
    for table in ("rec_tax", "rec_finance", "rec_courts"):
        df = query(ingested_home, f"SELECT subject_id, subject_type, id_status FROM {table}")
        assert df["subject_id"].str.fullmatch(r"[0-9A-Z]{18}").all()
        assert df["id_status"].isin(["valid", "mapped", "allowlisted"]).all()


def test_received_dates_come_from_the_files(ingested_home):
    df = query(ingested_home, "SELECT period, received_date FROM rec_tax")
    assert (pd.to_datetime(df["received_date"]) > pd.to_datetime(df["period"])).all()
    assert query(ingested_home, "SELECT bool_and(received_from_file) AS b FROM ingest_files")["b"][0]


# --- formats ---------------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(home, tmp_path):
    f = write_tax(tmp_path / "tax" / "tax_gbk.csv",
                  [tax_row(filed_on_time="是", period="2024年3月"), tax_row(FIRM2, filed_on_time="否", period="202403")],
                  encoding="gbk", chinese=True)
    s = ing.ingest(f, home=home)
    assert (s.rows, s.accepted, s.rejected) == (2, 2, 0)
    df = query(home, "SELECT subject_id, period, filed_on_time FROM rec_tax ORDER BY subject_id")
    assert list(df["filed_on_time"]) == [True, False] or list(df["filed_on_time"]) == [False, True]
    assert set(pd.to_datetime(df["period"]).dt.strftime("%Y-%m")) == {"2024-03"}
    assert query(home, "SELECT encoding FROM ingest_files")["encoding"][0] == "gb18030"


def test_gbk_file_of_mostly_digits_is_still_read_as_gbk(home, tmp_path):
    """A generated GBK tax file whose rows are digits but for 是/否 fooled the statistical detector
    (read as a Cyrillic code page, every column lost); the Chinese header now settles it."""
    import shutil

    f = tmp_path / "tax" / "tax_2024-04.csv"
    f.parent.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "data" / "tax_gbk_mostly_digits.csv", f)
    s = ing.ingest(f, home=home)
    assert s.rows == 999 and s.rejected < 10  # a few mistyped codes at most
    assert query(home, "SELECT encoding FROM ingest_files")["encoding"][0] == "gb18030"


def test_excel_cells_read_as_the_text_they_show(tmp_path):
    import xlsxwriter

    from chengxin import readers

    path = tmp_path / "cells.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws, day = wb.add_worksheet(), wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["date", "amount", "flag", "mixed", "mixed"])  # a repeated header must not break reading
    ws.write_datetime(1, 0, dt.datetime(2024, 3, 5), day)
    ws.write_datetime(2, 0, dt.datetime(2024, 3, 5, 8, 30), day)
    ws.write_row(1, 1, [12000, True, 7, "是"])
    ws.write_row(2, 1, [0.25, False, "N/A", 1.5])
    ws.write_datetime(3, 3, dt.datetime(2024, 1, 2), day)  # a date among numbers and text
    ws.write_number(3, 1, 1e20)
    wb.close()
    cells = readers.read_excel(path).table.to_pydict()
    assert cells["date"] == ["2024-03-05", "2024-03-05 08:30:00", None]
    assert cells["amount"] == ["12000", "0.25", "1e+20"]
    assert cells["flag"] == ["true", "false", None]
    assert list(cells)[3:] == ["mixed", "mixed_1"] and cells["mixed"] == ["7", "N/A", "2024-01-02"]


def test_excel_and_parquet(home, tmp_path):
    import xlsxwriter

    path = tmp_path / "courts" / "courts_x.xlsx"
    path.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["当事人标识", "主体类型", "案号", "事件类型", "日期", "标的金额（元）", "上报日期"])
    ws.write_row(1, 0, [PERSON, "individual", "(2024)陕03执1号", "enforcement_opened"])
    ws.write_datetime(1, 4, dt.datetime(2024, 3, 5), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_number(1, 5, 12000)
    ws.write_string(1, 6, "2024-04-01")
    # a date with a time of day keeps its date, in a cell or as text
    ws.write_row(2, 0, [PERSON, "individual", "(2024)陕03执2号", "enforcement_opened"])
    ws.write_datetime(2, 4, dt.datetime(2024, 3, 6, 8, 30), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    ws.write_string(2, 6, "2024-04-01 17:05:09")
    wb.close()
    s = ing.ingest(path, home=home)
    assert (s.accepted, s.rejected) == (2, 0)
    rows = query(home, "SELECT * FROM rec_courts ORDER BY case_no")
    row = rows.iloc[0]
    assert row["event_date"] == pd.Timestamp(2024, 3, 5) and row["amount"] == 12000 and row["subject_type"] == "individual"
    assert rows["event_date"].iloc[1] == pd.Timestamp(2024, 3, 6)
    assert set(rows["received_date"]) == {pd.Timestamp(2024, 4, 1)}

    pq_path = tmp_path / "quality" / "quality_1.parquet"
    pq_path.parent.mkdir()
    pq.write_table(pa.table({"subject_id": [FIRM, FIRM], "sample_no": ["CJ1", "CJ2"], "product": ["钛材", "钛材"],
                             "event_date": [dt.datetime(2024, 2, 1), dt.datetime(2024, 2, 2, 8, 30)],
                             "result": ["fail", "pass"]}), pq_path)
    s = ing.ingest(pq_path, home=home)
    assert s.accepted == 2
    rows = query(home, "SELECT * FROM rec_quality ORDER BY sample_no")
    assert list(rows["result"]) == ["fail", "pass"]
    assert list(rows["event_date"]) == [pd.Timestamp(2024, 2, 1), pd.Timestamp(2024, 2, 2)]


# --- bad rows: quarantine with reasons, the rest still loads -----------------------------------


def test_bad_rows_go_to_quarantine_with_reasons(home, tmp_path):
    typo = FIRM[:5] + ("1" if FIRM[5] != "1" else "2") + FIRM[6:]
    rows = [
        tax_row(),
        tax_row(FIRM2, paid="未知"),
        tax_row(FIRM2, period="2024-13"),
        tax_row(typo, period="2024-04"),
        tax_row(FIRM, period="2024-05", tax_credit_grade="Z"),
        tax_row("12345", period="2024-06"),
        tax_row(FIRM, period="2024-07", arrears_months="-1"),
        tax_row(FIRM, period="2024-08", filed_on_time="maybe"),
    ]
    rows = received_late(rows)
    f = write_tax(tmp_path / "tax" / "tax_bad.csv", rows)
    s = ing.ingest(f, home=home)
    assert (s.rows, s.accepted, s.rejected, s.duplicates) == (8, 1, 7, 0)
    q = query(home, 'SELECT row_number, "column", value, reason, rule, status FROM quarantine ORDER BY row_number')
    by_row = q.set_index("row_number")
    assert by_row.loc[3, "column"] == "tax_paid" and "not a number" in by_row.loc[3, "reason"]
    assert by_row.loc[4, "rule"] == "invalid_date"
    assert by_row.loc[5, "status"] == "review" and "expected" in by_row.loc[5, "reason"]
    assert "not an allowed value" in by_row.loc[6, "reason"]
    assert by_row.loc[7, "rule"] == "invalid_identifier"
    assert "below the minimum" in by_row.loc[8, "reason"]
    assert by_row.loc[9, "rule"] == "not_yes_no"
    assert (q["status"] == "rejected").sum() == 6
    # re-running is safe: no second copy of the quarantine entries
    ing.ingest(f, home=home)
    assert len(query(home, "SELECT * FROM quarantine")) == 7


def test_missing_column_quarantines_every_row(home, tmp_path):
    f = tmp_path / "tax" / "tax_nocol.csv"
    f.parent.mkdir(parents=True)
    f.write_text("subject_id,period\n" + f"{FIRM},2024-01\n{FIRM2},2024-01\n")
    s = ing.ingest(f, home=home)
    assert (s.rows, s.rejected) == (2, 2)
    assert "lacks required column" in query(home, "SELECT reason FROM quarantine")["reason"][0]


def test_the_sql_checks_enforce_the_pandera_schema(home, tmp_path):
    """Checking runs in SQL, compiled from the pandera schema: rows it passes satisfy the schema,
    and every row the schema refuses on its typed values was refused by the SQL checks too."""
    from chengxin import checking, contract

    src = config.sources()["tax"]
    rows = [tax_row(), tax_row(FIRM2, tax_credit_grade="Z"), tax_row(paid="-3", period="2024-04"),
            tax_row(arrears_months="1.5", period="2024-05"), tax_row(code="", period="2024-06"),
            tax_row(filed_on_time="", period="2024-07"), tax_row(tax_credit_grade="A", period="2024-08"),
            tax_row(paid="1,234.5", major_violation="否", period="2024-09"), tax_row(arrears_months="1e30", period="2024-10")]
    raw = pa.Table.from_pandas(pd.DataFrame(received_late(rows)), preserve_index=False)
    with warehouse.connect(home) as con:
        checking.load_reference(con, config.settings(home).ingest)
        checked = checking.check_rows(con, src, checking.text_table(raw, src), config.settings(home).ingest,
                                      today=pd.Timestamp("2026-11-26"))
    typed = checked.rows.to_pandas().set_index("_pos").sort_index()
    for col in src.columns:
        typed[col.name] = typed[col.name].astype(contract.PANDAS_TYPES[col.type])
    typed["received_date"] = typed["received_date"].astype("datetime64[us]")
    passed = typed[typed["_problems"].isna()]
    contract.schema(src).validate(passed)  # raises if any passed row breaks the schema
    assert sorted(passed.index) == [0, 6, 7] and passed.loc[7, "tax_paid"] == 1234.5
    try:
        contract.schema(src).validate(typed, lazy=True)
        refused = set()
    except SchemaErrors as err:
        refused = set(err.failure_cases["index"].dropna().astype(int))
    assert refused and refused <= set(checked.problems.rows)
    assert {p[4] for p in checked.problems.rows[4]} == {"not_nullable"}
    assert "too large" in checked.problems.rows[8][0][2]


def test_stored_keys_are_recomputed_when_record_identity_changes(home, tmp_path):
    f = write_tax(tmp_path / "tax" / "tax_id.csv", [tax_row(), tax_row(FIRM2, period="2024-04")])
    ing.ingest(f, home=home)
    with warehouse.connect(home) as con:  # as a warehouse of an older identity (or DuckDB) would be
        con.execute("UPDATE rec_tax SET _key = 1, _hash = 2")
        con.execute("UPDATE warehouse_meta SET value = 'older' WHERE name = 'hash_canary'")
    again = ing.ingest(f, home=home)  # connecting recomputes them first
    assert (again.accepted, again.duplicates) == (0, 2)


def test_review_rows_are_released_by_the_allowlist(home, tmp_path):
    pilot = FIRM[:-1] + ("A" if FIRM[-1] != "A" else "B")  # legal, yet fails its check
    f = write_tax(tmp_path / "tax" / "tax_pilot.csv", [tax_row(pilot), tax_row(FIRM2)])
    s = ing.ingest(f, home=home)
    assert (s.accepted, s.review) == (1, 1)
    result = quarantine.release(codes=[pilot], note="pilot region", home=home)
    assert result == {"allowlisted": [pilot], "rechecked": 1, "released": 1, "still_held": 0}
    rec = query(home, f"SELECT id_status, _row_number FROM rec_tax WHERE subject_id = '{pilot}'")
    assert list(rec["id_status"]) == ["allowlisted"] and list(rec["_row_number"]) == [2]
    assert query(home, "SELECT status FROM quarantine")["status"][0] == "released"
    # next time the same code arrives it loads straight away
    f2 = write_tax(tmp_path / "tax" / "tax_pilot2.csv", [tax_row(pilot, period="2024-04")])
    assert ing.ingest(f2, home=home).accepted == 1


# --- versions ------------------------------------------------------------------------------


def test_corrected_reupload_supersedes_and_keeps_history(home, tmp_path):
    first = write_tax(tmp_path / "tax" / "tax_1.csv", [tax_row(paid="100"), tax_row(FIRM2)])
    ing.ingest(first, home=home)
    second = write_tax(tmp_path / "tax" / "tax_2.csv",
                       [tax_row(paid="120", received_date="2024-05-10"), tax_row(FIRM2, received_date="2024-05-10")])
    s = ing.ingest(second, home=home)
    assert (s.accepted, s.duplicates, s.superseded) == (1, 1, 1)
    hist = query(home, f"SELECT tax_paid, received_date, _superseded_on FROM rec_tax WHERE subject_id = '{FIRM}' ORDER BY received_date")
    assert list(hist["tax_paid"]) == [100.0, 120.0]
    assert hist["_superseded_on"][0] == pd.Timestamp(2024, 5, 10) and pd.isna(hist["_superseded_on"][1])
    # an out-of-order file (received earlier) slots in as history, not as the current version
    older = write_tax(tmp_path / "tax" / "tax_0.csv", [tax_row(paid="90", received_date="2024-04-01")])
    ing.ingest(older, home=home)
    current = query(home, f"SELECT tax_paid FROM rec_tax WHERE subject_id = '{FIRM}' AND _superseded_on IS NULL")
    assert list(current["tax_paid"]) == [120.0]


def test_versions_are_found_across_the_periods_of_a_file(home, tmp_path):
    """Stored versions are looked up in the row groups of the file's periods only: a file that
    spans periods still finds each key's versions, whichever period it has."""
    def loan(loan_id, period, balance, received):
        return dict(subject_id=FIRM, subject_type="enterprise", loan_id=loan_id, period=period, product="loan",
                    credit_limit="1000", balance=balance, days_past_due="0", received_date=received)

    def write(name, rows):
        path = tmp_path / "finance" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    ing.ingest(write("finance_1.csv", [loan("L1", "2024-01", "10", "2024-02-05"), loan("L2", "2024-03", "20", "2024-04-05"),
                                       loan("L1", "2024-02", "11", "2024-03-05")]), home=home)
    s = ing.ingest(write("finance_2.csv", [
        loan("L1", "2024-01", "15", "2024-06-05"),  # a correction of the earliest period
        loan("L2", "2024-03", "20", "2024-06-05"),  # re-sent as it was
        loan("L3", "2024-04", "30", "2024-06-05"), loan("L3", "2024-04", "31", "2024-06-06"),  # two versions in one file
        loan("L4", "2024-05", "40", "2024-06-05")]), home=home)
    assert (s.accepted, s.duplicates, s.superseded) == (4, 1, 1)
    current = query(home, "SELECT loan_id, period, balance FROM rec_finance WHERE _superseded_on IS NULL ORDER BY ALL")
    assert [tuple(r) for r in current.itertuples(index=False)] == [
        ("L1", pd.Timestamp(2024, 1, 1), 15.0), ("L1", pd.Timestamp(2024, 2, 1), 11.0), ("L2", pd.Timestamp(2024, 3, 1), 20.0),
        ("L3", pd.Timestamp(2024, 4, 1), 31.0), ("L4", pd.Timestamp(2024, 5, 1), 40.0)]
    assert versions_out_of_order(home)["rec_finance"] == 0


def test_exact_duplicates_inside_a_file(home, tmp_path):
    f = write_tax(tmp_path / "tax" / "tax_dup.csv", [tax_row(), tax_row(), tax_row(FIRM2)])
    s = ing.ingest(f, home=home)
    assert (s.rows, s.accepted, s.duplicates) == (3, 2, 1)


def test_without_received_date_the_ingest_clock_is_used(home, tmp_path):
    row = tax_row()
    row.pop("received_date")
    f = write_tax(tmp_path / "tax" / "tax_live.csv", [row])
    ing.ingest(f, home=home, today=dt.date(2026, 11, 1))
    assert query(home, "SELECT received_date FROM rec_tax")["received_date"][0] == pd.Timestamp(2026, 11, 1)
    assert not query(home, "SELECT received_from_file FROM ingest_files")["received_from_file"][0]


# --- atomicity -------------------------------------------------------------------------------


def test_a_killed_ingest_leaves_the_warehouse_as_it_was(home, tmp_path):
    ing.ingest(write_tax(tmp_path / "tax" / "tax_a.csv", [tax_row()]), home=home)
    before = counts(home)
    big = write_tax(tmp_path / "tax" / "tax_b.csv",
                    received_late([tax_row(FIRM2, period=f"{2000 + k // 12}-{k % 12 + 1:02d}") for k in range(300)]))
    env = dict(os.environ, CHENGXIN_HOME=str(home), CHENGXIN_PAUSE_BEFORE_COMMIT="60")
    proc = subprocess.Popen([sys.executable, "-m", "chengxin.cli", "ingest", str(big)], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 60
    for line in proc.stderr:
        if "pausing before commit" in line or time.time() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert counts(home) == before
    s = ing.ingest(big, home=home)
    assert s.accepted == 300


# --- unreadable input --------------------------------------------------------------------------


def run_cli(*args, home):
    env = dict(os.environ, CHENGXIN_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "chengxin.cli", *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("name, content, expect", [
    ("nothing_here", None, "no such file"),
    ("tax.csv", b"\x00\x01\x02binary\x00", "not a table"),
    ("notes.txt", b"hello,world\n1,2\n", "unknown source"),
    ("photo.png", b"\x89PNG", "not a table"),
    ("tax_x.xlsx", b"PK\x03\x04garbage", "not a readable Excel"),
    ("tax_empty.csv", b"", "empty"),
])
def test_unreadable_input_fails_in_one_line(tmp_path, name, content, expect):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    r = run_cli("ingest", str(path), home=tmp_path / "home")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and expect in lines[0], r.stderr


def test_a_folder_with_one_bad_file_loads_the_rest(home, tmp_path):
    write_tax(tmp_path / "up" / "tax" / "tax_ok.csv", [tax_row()])
    (tmp_path / "up" / "tax" / "tax_broken.csv").write_bytes(b"\x00\x00\x00")
    r = run_cli("ingest", str(tmp_path / "up"), "--json", home=home)
    assert r.returncode == 1
    import json

    summary = json.loads(r.stdout)
    assert summary["accepted"] == 1 and len(summary["unreadable"]) == 1
    assert "Traceback" not in r.stderr


# --- a record dated after it was received ---------------------------------------------------

AFTER_RECEIVED = {  # source (its grain) -> a valid row, and its event date pushed after receipt
    "registration": (dict(subject_id=FIRM, name="某某公司", entity_type="company", industry="C", county="610302",
                          registration_date="2015-06-01", registered_capital="100", status="active",
                          status_date="2015-06-01", received_date="2023-03-08"),
                     {"status_date": "2030-01-05"}, "status date 2030-01-05 is after the date received 2023-03-08"),
    "penalty": (dict(subject_id=FIRM, decision_no="罚字1号", deciding_department="市监局", decision_date="2023-02-01",
                     publication_date="2023-03-20", severity="general", fine_amount="500", repaired="否",
                     received_date="2023-03-08"),
                {"decision_date": "2030-01-05"}, "decision date 2030-01-05 is after the date received 2023-03-08"),
    "tax": (tax_row(period="2023-03", received_date="2023-03-08"),  # the current month, received within it: fine
            {"period": "2030-01"}, "period 2030-01 is after the date received 2023-03-08"),
}


@pytest.mark.parametrize("source", list(AFTER_RECEIVED), ids=lambda s: f"{s} ({config.sources()[s].grain})")
def test_a_record_dated_after_it_was_received_is_rejected(home, tmp_path, source):
    """Entity, event and monthly sources alike: a record cannot describe an event, or a month,
    after the day the platform received it. The row goes to quarantine with a reason; the file's
    other rows load."""
    good, later, reason = AFTER_RECEIVED[source]
    key = config.sources()[source].key
    bad = {**good, **later, **({"decision_no": "罚字2号"} if "decision_no" in key else {})}
    f = tmp_path / source / f"{source}_x.csv"
    f.parent.mkdir(parents=True)
    pd.DataFrame([good, bad]).to_csv(f, index=False)
    s = ing.ingest(f, home=home)
    assert (s.rows, s.accepted, s.rejected) == (2, 1, 1)
    q = query(home, 'SELECT row_number, "column", reason, rule, status FROM quarantine')
    assert q.to_dict("records") == [{"row_number": 3, "column": config.sources()[source].event_date,
                                     "reason": q["reason"][0], "rule": "after_received", "status": "rejected"}]
    assert q["reason"][0].startswith(reason) and "晚于上报日期" in q["reason"][0]


def test_a_live_upload_dated_after_the_ingest_date_is_rejected(home, tmp_path):
    """Without received_date the ingest date is the day received, and the same check applies."""
    rows = [tax_row(period="2026-11"), tax_row(FIRM2, period="2026-12")]
    for row in rows:
        row.pop("received_date")
    f = write_tax(tmp_path / "tax" / "tax_live.csv", rows)
    s = ing.ingest(f, home=home, today=dt.date(2026, 11, 20))
    assert (s.accepted, s.rejected) == (1, 1)
    reason = query(home, "SELECT reason FROM quarantine")["reason"][0]
    assert reason.startswith("period 2026-12 is after the date received 2026-11-20")
