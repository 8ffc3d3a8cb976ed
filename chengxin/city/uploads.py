"""How departments upload: batches, lateness, gaps, file formats and the mess real files carry."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from chengxin.config import GeneratorSettings, Source
from chengxin.identifiers import USCC_ALPHABET

# Sources from older department systems that still send old registration numbers.
OLD_SYSTEMS = {"courts", "utilities", "licence", "quality", "safety", "complaints", "statistics"}
# One-off loads: the register and the population arrive whole in the first batch.
STOCK_SOURCES = {"registration", "resident", "regno_mapping"}
# Values a careless clerk types into numeric and date fields.
BAD_NUMBERS = np.array(["未知", "N/A", "-", "12,3O0", "#VALUE!"])
BAD_DATES = np.array(["2023-02-30", "0000-00-00", "待定", "2099-99-99", "13/13/2023"])
# Columns a department may correct in a later re-upload.
CORRECTABLE = {"tax": "tax_paid", "social_insurance": "insured_headcount", "finance": "balance"}

_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@dataclass
class UploadPlan:
    """When each department x county x month upload arrives (or that it never does)."""

    batch_dates: dict[str, np.ndarray]  # source -> received date of batch b (datetime64[D])
    delay: dict[str, np.ndarray]  # source -> (counties, months) batches of delay; -1 = never arrives
    county_codes: list[str]
    late_departments: list[str]

    def table(self, periods: np.ndarray) -> pd.DataFrame:
        """The plan as rows: source, county, month, delay (batches; -1 = never arrives)."""
        parts = []
        for name, d in self.delay.items():
            c, m = np.indices(d.shape)
            parts.append(pd.DataFrame({"source": name, "county": np.array(self.county_codes)[c.ravel()],
                                       "month": periods[m.ravel()], "delay_batches": d.ravel()}))
        return pd.concat(parts, ignore_index=True)

    def shares(self) -> dict[str, float]:
        cells = np.concatenate([d.ravel() for d in self.delay.values()]) if self.delay else np.array([0])
        return {"late_upload_share": round(float((cells > 0).mean()), 4),
                "missing_upload_share": round(float((cells < 0).mean()), 4)}


def make_plan(rng: np.random.Generator, s: GeneratorSettings, sources: list[Source], county_codes: list[str],
              month_start: np.ndarray) -> UploadPlan:
    months = len(month_start) - 1
    mess = s.mess
    names = [src.name for src in sources]
    late = [n for n in names if n not in STOCK_SOURCES and rng.random() < mess.late_department_share]
    dates, delay = {}, {}
    for name in names:
        lag = rng.integers(20, 46) if name in late else rng.integers(3, 13)
        jitter = rng.integers(0, 4, months)
        dates[name] = month_start[1:] + lag + jitter
        if name in STOCK_SOURCES:
            continue
        u = rng.random((len(county_codes), months))
        d = np.zeros((len(county_codes), months), dtype=int)
        d[u < mess.late_county_month_share] = rng.integers(1, 4, (len(county_codes), months))[u < mess.late_county_month_share]
        d[u > 1 - mess.skipped_county_month_share] = -1
        delay[name] = d
    return UploadPlan(dates, delay, county_codes, late)


def assign_batches(plan: UploadPlan, source: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give each record the batch that carries it and drop those that never arrive."""
    months = len(plan.batch_dates[source])
    if source in STOCK_SOURCES:
        batch = frame["_month"].to_numpy()
    else:
        county_index = pd.Index(plan.county_codes).get_indexer(frame["_county"])
        d = plan.delay[source][county_index, frame["_month"].to_numpy()]
        batch = np.where(d < 0, -1, frame["_month"].to_numpy() + d)
    frame = frame.assign(_batch=batch)
    return frame[(batch >= 0) & (batch < months)]


def corrections(rng, source: str, frame: pd.DataFrame, share: float, months: int) -> pd.DataFrame:
    """Corrected re-uploads of some records in a later batch (same key, new content)."""
    column = CORRECTABLE.get(source)
    if column is None or frame.empty:
        return frame.iloc[:0]
    pick = frame[rng.random(len(frame)) < share].copy()
    pick["_batch"] = pick["_batch"] + rng.integers(1, 3, len(pick))
    pick = pick[pick["_batch"] < months]
    factor = rng.uniform(0.7, 1.3, len(pick))
    values = pick[column].to_numpy(dtype=float) * factor
    pick[column] = np.round(values) if column == "insured_headcount" else np.round(values, 2)
    if column == "insured_headcount":
        pick[column] = pick[column].astype(int)
    return pick


# --- rendering as the department's file would show it ---------------------------------


@dataclass
class Style:
    format: str  # csv-utf8 | csv-gbk | xlsx
    chinese_headers: bool
    date_sep: str
    month_compact: bool
    true: str
    false: str


STYLES = {
    "csv-utf8": Style("csv-utf8", False, "-", False, "true", "false"),
    "csv-gbk": Style("csv-gbk", True, "/", True, "是", "否"),
    "xlsx": Style("xlsx", True, "-", False, "是", "否"),
}


def render(source: Source, frame: pd.DataFrame, style: Style) -> pd.DataFrame:
    """Turn typed columns into the strings a department's export contains."""
    out = {}
    for col in source.columns:
        v = frame[col.name]
        if col.type == "date":
            text = np.datetime_as_string(v.to_numpy().astype("datetime64[D]"), unit="D")
            text = np.where(text == "NaT", "", text)
            out[col.name] = np.char.replace(text, "-", style.date_sep) if style.date_sep != "-" else text
        elif col.type == "month":
            text = v.to_numpy().astype(str)
            out[col.name] = np.char.replace(text, "-", "") if style.month_compact else text
        elif col.type == "bool":
            arr = v.to_numpy(dtype=object)
            out[col.name] = np.where(pd.isna(arr), "", np.where(arr == True, style.true, style.false))  # noqa: E712
        elif col.type == "float":
            arr = v.to_numpy(dtype=float)
            out[col.name] = np.where(np.isnan(arr), "", np.char.mod("%.2f", arr))
        else:
            arr = v.to_numpy(dtype=object)
            out[col.name] = np.where(pd.isna(arr), "", arr.astype(str))
    rendered = pd.DataFrame(out)
    rendered["received_date"] = np.datetime_as_string(frame["_received"].to_numpy().astype("datetime64[D]"), unit="D")
    return rendered


def mistype(rng, codes: np.ndarray) -> np.ndarray:
    """Substitute one character of each code (a typing slip)."""
    out = codes.astype(object).copy()
    for k, code in enumerate(out):
        if len(code) != 18:
            continue
        pos = int(rng.integers(0, 17))
        alphabet = "0123456789" if (pos < 8 or code.isdigit() or code[:-1].isdigit()) else USCC_ALPHABET
        choices = [ch for ch in alphabet if ch != code[pos]]
        out[k] = code[:pos] + choices[int(rng.integers(0, len(choices)))] + code[pos + 1 :]
    return out


def dirty(rng, source: Source, text: pd.DataFrame, s: GeneratorSettings, regno_of: dict[str, str]) -> tuple[pd.DataFrame, dict]:
    """Apply the configured mess to rendered rows; returns the rows and what was done."""
    m = s.mess
    n = len(text)
    stats = {}
    if n == 0 or source.name == "regno_mapping":
        return text, stats
    ids = text["subject_id"].to_numpy(dtype=object).copy()
    if source.name not in STOCK_SOURCES and source.name in OLD_SYSTEMS and regno_of:
        pick = rng.random(n) < m.old_regno_share
        old = np.array([regno_of.get(x, "") for x in ids[pick]], dtype=object)
        sel = np.nonzero(pick)[0][old != ""]
        ids[sel] = old[old != ""]
        stats["old_regno"] = len(sel)
    typo = np.nonzero(rng.random(n) < m.mistyped_code_share)[0]
    ids[typo] = mistype(rng, ids[typo])
    stats["mistyped_code"] = len(typo)
    wide = np.nonzero(rng.random(n) < m.fullwidth_share)[0]
    ids[wide] = [x.translate(_FULLWIDTH) for x in ids[wide]]
    stats["fullwidth"] = len(wide)
    text = text.assign(subject_id=ids)
    bad = np.nonzero(rng.random(n) < m.bad_value_share)[0]
    if len(bad):
        typed = [c for c in source.columns if c.type in ("date", "float", "int") and c.required]
        if typed:
            col = typed[int(rng.integers(0, len(typed)))]
            pool = BAD_DATES if col.type == "date" else BAD_NUMBERS
            text.loc[text.index[bad], col.name] = rng.choice(pool, len(bad))
    stats["bad_value"] = len(bad)
    dup = np.nonzero(rng.random(n) < m.duplicate_row_share)[0]
    if len(dup):
        text = pd.concat([text, text.iloc[dup]]).sort_index(kind="stable")
    stats["duplicate_row"] = len(dup)
    return text, stats


# --- files ---------------------------------------------------------------------------


@dataclass
class BatchWriter:
    """Appends rendered rows to one file per source and batch, chunk after chunk."""

    out: Path
    settings: GeneratorSettings
    written: dict[Path, int] = field(default_factory=dict)
    xlsx_parts: dict[Path, list[Path]] = field(default_factory=dict)

    def path(self, source: Source, period: str, fmt: str) -> Path:
        ext = "xlsx" if fmt == "xlsx" else "csv"
        return self.out / source.name / f"{source.name}_{period}.{ext}"

    def write(self, source: Source, period: str, text: pd.DataFrame) -> None:
        fmt = self.settings.format_for(source.name)
        style = STYLES[fmt]
        path = self.path(source, period, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        if style.chinese_headers:
            text = text.rename(columns={c.name: c.zh for c in source.columns} | {"received_date": "上报日期"})
        table = pa.Table.from_pandas(text.astype(str), preserve_index=False)
        if fmt == "xlsx":
            part = path.with_suffix(f".part{len(self.xlsx_parts.get(path, []))}.parquet")
            pq.write_table(table, part)
            self.xlsx_parts.setdefault(path, []).append(part)
        else:
            header = path not in self.written
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
            data = buf.getvalue()
            if fmt == "csv-gbk":
                data = data.decode("utf-8").encode("gbk", errors="replace")
            with path.open("ab") as fh:
                fh.write(data)
        self.written[path] = self.written.get(path, 0) + len(text)

    def finish(self, source_of: dict[Path, Source]) -> None:
        """Write the buffered Excel workbooks (too large ones become GBK CSV)."""
        for path, parts in self.xlsx_parts.items():
            frame = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
            for p in parts:
                p.unlink()
            if len(frame) > self.settings.xlsx_max_rows:
                target = path.with_suffix(".csv")
                target.write_bytes(frame.to_csv(index=False).encode("gbk", errors="replace"))
                self.written[target] = self.written.pop(path)
                continue
            _write_xlsx(path, frame, source_of[path])


def _write_xlsx(path: Path, frame: pd.DataFrame, source: Source) -> None:
    import xlsxwriter

    types = {c.zh: c.type for c in source.columns} | {"上报日期": "date"}
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": dt.datetime(2020, 1, 1)})  # deterministic bytes for a seed
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("数据")
    ws.write_row(0, 0, list(frame.columns))
    kinds = [types.get(c, "text") for c in frame.columns]
    for r, row in enumerate(frame.itertuples(index=False), start=1):
        for k, (value, kind) in enumerate(zip(row, kinds)):
            if value == "":
                continue
            if kind == "date" and len(value) == 10 and value[4] == "-":
                try:
                    ws.write_datetime(r, k, dt.datetime.strptime(value, "%Y-%m-%d"), date_fmt)
                    continue
                except ValueError:
                    pass
            if kind in ("float", "int"):
                try:
                    ws.write_number(r, k, float(value))
                    continue
                except ValueError:
                    pass
            ws.write_string(r, k, value)
    wb.close()


def resend(rng, files: list[Path], share: float) -> list[Path]:
    """Some departments send the same file twice."""
    copies = []
    for path in sorted(files):
        if rng.random() < share:
            target = path.with_name(f"{path.stem}_resent{path.suffix}")
            shutil.copyfile(path, target)
            copies.append(target)
    return copies
