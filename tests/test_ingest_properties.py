"""Garbage in: no crash, no silent loss."""


import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chengxin import config
from chengxin.pipelines import ingest as ing
from chengxin.workspace import UserError

cell = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", " ", "是", "２０２４-０１-０１", "9161030210000001XX",
                                                                  "2024-02-30", "1e309", "-5", "NaN", "null", "，"]))
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(source=st.sampled_from([s.name for s in config.sources()]), data=st.data())
def test_garbage_rows_are_accounted_for(tmp_path_factory, source, data):
    src = config.sources()[source]
    headers = data.draw(st.lists(st.sampled_from(src.column_names + [c.zh for c in src.columns] + ["junk"]),
                                 min_size=1, max_size=len(src.columns) + 2, unique=True))
    rows = data.draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), min_size=1, max_size=15))
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / source / f"{source}_fuzz.csv"
    path.parent.mkdir()
    encoding = data.draw(st.sampled_from(["utf-8", "gb18030"]))
    pd.DataFrame(rows, columns=headers).to_csv(path, index=False, encoding=encoding, errors="replace")
    home = folder / "home"
    try:
        s = ing.ingest(path, home=home)
    except UserError:
        return  # a clear, one-line refusal of the whole file is allowed
    assert s.accepted + s.rejected + s.duplicates == s.rows
    again = ing.ingest(path, home=home)
    assert again.accepted == 0 and again.rows == s.rows


@FUZZ
@given(blob=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ".txt"]))
def test_garbage_files_are_refused_cleanly(tmp_path_factory, blob, suffix):
    folder = tmp_path_factory.mktemp("blob")
    path = folder / "tax" / f"tax_blob{suffix}"
    path.parent.mkdir()
    path.write_bytes(blob)
    try:
        s = ing.ingest(path, home=folder / "home")
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert s.accepted + s.rejected + s.duplicates == s.rows
