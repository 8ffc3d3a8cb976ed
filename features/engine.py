"""Run the compiled indicator SQL on an engine: DuckDB (embedded default) or Spark.

Both engines run the same query: DuckDB's text as written, Spark's transpiled by sqlglot.
Spark reads a Parquet export of the warehouse (``$CHENGXIN_HOME/lake``), refreshed when the
warehouse has changed; its master is the `spark.master` setting (``CHENGXIN_SPARK_MASTER``
overrides it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd

from chengxin import catalog, config, warehouse, workspace
from chengxin.features import sql as fsql
from chengxin.features.catalogue import catalogue

ENGINES = ("duckdb", "spark")


def finish(frame: pd.DataFrame, compiled: fsql.Compiled) -> pd.DataFrame:
    """Engine output -> the indicator frame: numeric types, subject_type and as_of columns."""
    cat = catalogue()
    for name in compiled.columns:
        ind = cat[name]
        if ind.kind == "numeric" and name in frame:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    frame.insert(1, "subject_type", compiled.subject)
    frame.insert(2, "as_of", pd.Timestamp(compiled.as_of))
    return frame


def run_duckdb(compiled: fsql.Compiled, con=None, home=None) -> pd.DataFrame:
    if con is not None:
        return finish(con.execute(compiled.sql).df(), compiled)
    with warehouse.connect(home, read_only=True) as c:
        return finish(c.execute(compiled.sql).df(), compiled)


# --- Spark -------------------------------------------------------------------------------


def lake_path(home=None) -> Path:
    return catalog.lake(home)


def export_lake(home=None) -> Path:
    """Write every record table to Parquet for Spark (only when the warehouse changed)."""
    lake = lake_path(home)
    stamp_file = lake / "_stamp.json"
    with warehouse.connect(home, read_only=True) as con:
        stamp = con.execute("SELECT count(*), coalesce(max(file_id), 0) FROM ingest_files").fetchall()[0]
        stamp = {"files": int(stamp[0]), "last": int(stamp[1])}
        if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
            return lake
        lake.mkdir(parents=True, exist_ok=True)
        for source in config.sources():
            target = lake / f"{source.table}.parquet"
            con.execute(f"COPY (SELECT * EXCLUDE (_key, _hash) FROM {source.table}) TO '{target}' (FORMAT parquet)")
    stamp_file.write_text(json.dumps(stamp))
    return lake


def spark_session(home=None):
    """A Spark session on the configured master (settings `spark.master`, or CHENGXIN_SPARK_MASTER)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise workspace.UserError("the Spark engine needs pyspark: pip install 'chengxin[spark]' (make test installs it)") from None

    conf = config.settings(home).spark
    master = os.environ.get("CHENGXIN_SPARK_MASTER", conf.master)
    session = (SparkSession.builder.master(master).appName("chengxin")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(conf.shuffle_partitions))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.ansi.enabled", "false")
            .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session


def to_spark_sql(sql: str) -> str:
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_frame(compiled: fsql.Compiled, spark=None, home=None):
    """The indicators as a Spark DataFrame (left distributed, e.g. for scoring partition by partition)."""
    lake = export_lake(home)
    spark = spark or spark_session(home)
    for table in compiled.tables + ["rec_resident"]:
        spark.read.parquet(str(lake / f"{table}.parquet")).createOrReplaceTempView(table)
    return spark.sql(to_spark_sql(compiled.sql))


def run_spark(compiled: fsql.Compiled, spark=None, home=None) -> pd.DataFrame:
    return finish(spark_frame(compiled, spark, home).toPandas(), compiled)


def compute(as_of: dt.date, subject: str = "enterprise", engine: str = "duckdb", *, home=None, con=None,
            spark=None, known: dt.date | None = None) -> pd.DataFrame:
    """Every indicator of `subject` as the office knew it on `as_of`, one row per subject
    (`known`: restated with the case decisions made until then)."""
    if engine not in ENGINES:
        raise workspace.UserError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    compiled = fsql.compile_subject(subject, as_of, known=known)
    if engine == "duckdb":
        return run_duckdb(compiled, con=con, home=home)
    return run_spark(compiled, spark=spark, home=home)
