"""One definition, two engines: Spark (local[2]) gives the same values as DuckDB, to the last bit."""

import datetime as dt
import shutil

import numpy as np
import pytest

from chengxin.features import engine, sql as fsql

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.fail("Spark needs Java: .ci/run installs openjdk-17-jre-headless")


@pytest.fixture(scope="module")
def spark():
    session = engine.spark_session()
    yield session
    session.stop()


@pytest.mark.parametrize("subject", ["enterprise", "individual"])
def test_spark_matches_duckdb(ingested_home, spark, subject):
    compiled = fsql.compile_subject(subject, dt.date(2023, 12, 31))
    duck = engine.run_duckdb(compiled, home=ingested_home).sort_values("subject_id", ignore_index=True)
    sprk = engine.run_spark(compiled, spark=spark, home=ingested_home).sort_values("subject_id", ignore_index=True)
    assert list(duck.columns) == list(sprk.columns)
    assert len(duck) == len(sprk) > 100
    for col in duck.columns:
        a, b = duck[col], sprk[col]
        if a.dtype.kind == "f":
            b = b.astype(float)
            assert (a.isna() == b.isna()).all(), col
            np.testing.assert_array_equal(a[a.notna()], b[b.notna()], err_msg=col)  # sums are exact in both
        else:
            assert (a.astype(str) == b.astype(str)).all(), col
