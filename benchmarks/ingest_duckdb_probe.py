"""How fast could a DuckDB-native ingest be? A probe for issue 2's redesign, not the ingest itself.

Over the CSV files of one source folder (default: the tax uploads of the model-quality city)
it times, in one process:

1. decoding each file to text in Python (UTF-8, else GB18030: DuckDB reads no GBK without
   an extension download);
2. DuckDB `read_csv` of every file, all columns as text, the layout given (no sniffing);
3. the same with DuckDB's sniffer;
4. reading, then per declared column: trim, full-width digits and letters to half-width (only
   for cells that are not plain ASCII), then
   typing (numbers, dates and months with the configured formats, codes upper-cased) and the
   record hash, into a temporary table. No identifier check, no quarantine, no warehouse write:
   an upper bound for the checking half of ingest.

    .venv/bin/python benchmarks/ingest_duckdb_probe.py [FOLDER]
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
FULL = "".join(chr(c) for c in range(0xFF10, 0xFF1A)) + "".join(chr(c) for c in range(0xFF21, 0xFF3B))
HALF = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def typed_sql(kind: str, text: str, settings) -> str:
    # translate() is slow (about 1 s per million values); most cells are plain ASCII, where a
    # byte count equal to the character count skips it
    clean = f"trim(CASE WHEN strlen({text}) = length({text}) THEN {text} ELSE translate({text}, '{FULL}', '{HALF}') END)"
    if kind in ("int", "float"):
        return f"try_cast(replace({clean}, ',', '') AS DOUBLE)"
    if kind in ("date", "month"):
        formats = settings.date_formats if kind == "date" else settings.month_formats
        return f"try_strptime({clean}, [{', '.join(repr(f) for f in formats)}])"
    if kind == "code":
        return f"upper({clean})"
    return clean


def main() -> None:
    from chengxin import config, contract
    from chengxin.pipelines.ingest import source_for

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "work" / "quality" / "city" / "tax"
    files = sorted(p for p in folder.glob("*.csv"))
    settings = config.settings().ingest
    started = time.perf_counter()
    texts = []
    for f in files:
        raw = f.read_bytes()
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("gb18030"))
    decode = time.perf_counter() - started
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, text in enumerate(texts):
            p = Path(tmp) / f"{k}.csv"
            p.write_text(text, "utf-8")
            paths.append(p)
        headers = [next(csv.reader(io.StringIO(t.split("\n", 1)[0]))) for t in texts]
        rows = 0
        started = time.perf_counter()
        for p, h in zip(paths, headers):
            layout = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(h))) + "}"
            rows += con.execute(f"SELECT count(*) FROM read_csv('{p}', header=false, skip=1, delim=',', quote='\"', "
                                f"auto_detect=false, columns={layout})").fetchone()[0]
        plain = time.perf_counter() - started
        started = time.perf_counter()
        for p in paths:
            con.execute(f"CREATE OR REPLACE TEMP TABLE r AS SELECT * FROM read_csv('{p}', all_varchar=true)")
        sniffed = time.perf_counter() - started
        started = time.perf_counter()
        for f, p, h in zip(files, paths, headers):
            source = source_for(f, h, None)
            mapping = contract.header_map(source, h)
            kinds = {c.name: c.type for c in source.columns}
            layout = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(h))) + "}"
            cols = [f'{typed_sql(kinds.get(mapping.get(name), "date"), f"c{i}", settings)} AS "{mapping.get(name, name)}"'
                    for i, name in enumerate(h)]
            raw_cols = ", ".join(f"c{i}" for i in range(len(h)))
            con.execute(f"CREATE OR REPLACE TEMP TABLE t AS SELECT {', '.join(cols)}, hash({raw_cols}) AS _hash "
                        f"FROM read_csv('{p}', header=false, skip=1, delim=',', quote='\"', auto_detect=false, columns={layout})")
        checked = time.perf_counter() - started
    print(f"{len(files)} files, {rows:,} rows in {folder}")
    for label, seconds in (("decode in Python", decode), ("read_csv, layout given", plain), ("read_csv, sniffed", sniffed),
                           ("read + normalise + type + hash", checked)):
        print(f"  {label:32s} {seconds:6.2f} s  {rows / seconds:>12,.0f} rows/s")


if __name__ == "__main__":
    main()
