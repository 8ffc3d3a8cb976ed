"""The features stage: indicator snapshots and the catalogue, written to the workspace."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chengxin import catalog, workspace
from chengxin.features import engine, snapshots
from chengxin.features.catalogue import as_csv, as_markdown, catalogue


def _target(out: Path | None, name: str) -> Path:
    path = Path(out) if out else catalog.features(workspace.ensure()) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def build(as_of: dt.date, subject: str, eng: str = "duckdb", out: Path | None = None) -> dict:
    started = time.perf_counter()
    frame = engine.compute(as_of, subject, eng)
    path = Path(out) if out else catalog.indicator_snapshot(subject, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    workspace.write_subject_table(frame, path)
    names = [i.name for i in catalogue().for_subject(subject, published_only=True)]
    missing = {n: round(float(frame[n].isna().mean()), 4) for n in names}
    return {"as_of": str(as_of), "subject": subject, "engine": eng, "rows": len(frame), "indicators": len(names),
            "catalogue_version": catalogue().version, "missing_share": missing,
            "seconds": round(time.perf_counter() - started, 2), "out": str(path)}


def build_series(start: dt.date, end: dt.date, subject: str, step_months: int = 1, eng: str = "duckdb",
                 out: Path | None = None, progress=None) -> dict:
    started = time.perf_counter()
    path = _target(out, f"{subject}_series.parquet")
    writer, rows, labels, trained, in_default, n = None, 0, 0, 0, 0, 0
    try:  # one snapshot in memory at a time, streamed into one Parquet file
        for frame in snapshots.iter_series(start, end, subject, step_months=step_months, eng=eng, progress=progress):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                # a column that happens to be empty in the first snapshot is text, not "null"
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(table.cast(writer.schema))
            n += 1
            rows += len(frame)
            in_default += int(frame["in_default"].sum())
            trained += int((~frame["in_default"]).sum())
            labels += int(frame.loc[~frame["in_default"], "label"].sum())
    finally:
        if writer is not None:
            writer.close()
    return {"subject": subject, "snapshots": n, "rows": rows,
            "label_rate": round(labels / trained, 4) if trained else None,
            "in_default": in_default, "catalogue_version": catalogue().version,
            "seconds": round(time.perf_counter() - started, 2), "out": str(path)}


def write_catalogue(out_dir: Path | None = None) -> dict:
    folder = Path(out_dir) if out_dir else catalog.published(workspace.ensure())
    folder.mkdir(parents=True, exist_ok=True)
    md, csv_path = folder / "catalogue.md", folder / "catalogue.csv"
    md.write_text(as_markdown(), "utf-8")
    csv_path.write_text(as_csv(), "utf-8-sig")  # with BOM, so Excel shows the Chinese
    c = catalogue()
    return {"version": c.version, "enterprise": len(c.for_subject("enterprise", True)),
            "individual": len(c.for_subject("individual", True)), "markdown": str(md), "csv": str(csv_path)}
