"""Reading department files into tables of text: CSV (UTF-8, GBK, GB18030 detected), Excel, Parquet.

Every cell comes back as text (or null), exactly as the department sent it; typing and
validation happen later, against the source's declared contract.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from chengxin.workspace import UserError

# fastexcel logs a warning for every column of mixed cells it reads as text: that is the
# reading we ask for, not a problem to report.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls", ".xlsm", ".parquet"}


class Unreadable(UserError):
    """The file is not a table we can read."""


@dataclass
class RawTable:
    table: pa.Table  # all columns string
    encoding: str


def detect_encoding(data: bytes, sniff_bytes: int) -> str:
    """utf-8 when the bytes decode as such; GB18030 (a superset of GBK and GB2312) when the header
    line decodes as that and holds Chinese characters — the departments' other encoding, and
    one statistical detectors miss when the rows are mostly digits; otherwise what
    charset-normalizer finds, widened to GB18030 for the Chinese family."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    end = data.find(b"\n")
    try:  # the header line alone: the whole file is decoded once, when it is read
        header = data[: end if end >= 0 else sniff_bytes].decode("gb18030")
        if any("\u4e00" <= ch <= "\u9fff" for ch in header):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:sniff_bytes]).best()
    name = (best.encoding if best else "").lower().replace("-", "_")
    if name in {"gb2312", "gbk", "gb18030", "hz", "big5"} or not name:
        return "gb18030"
    return name


def read_csv(path: Path, sniff_bytes: int) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise Unreadable(f"{path}: the file is empty")
    if b"\x00" in data[:4096]:
        raise Unreadable(f"{path}: not a table (binary content)")
    encoding = detect_encoding(data, sniff_bytes)
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError):
            raise Unreadable(f"{path}: cannot decode the file (tried {encoding})") from None
    elif encoding == "utf-8-sig":
        data = data[3:]
    try:
        # Read the header first so that every column can be declared text: inference would
        # turn codes such as 0012 into numbers.
        names = pacsv.read_csv(io.BytesIO(data.split(b"\n", 1)[0] + b"\n"),
                               parse_options=pacsv.ParseOptions(newlines_in_values=True)).column_names
        table = pacsv.read_csv(
            io.BytesIO(data),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=True, null_values=[""]),
        )
    except pa.ArrowInvalid as exc:
        raise Unreadable(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
    return RawTable(table, "utf-8" if encoding == "utf-8-sig" else encoding)


MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"  # a date cell in a column of mixed cells, as text
EXACT_INTEGERS = 2.0**53  # below this a float with no fraction is written as an integer


def _excel_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column of a sheet as text: dates at midnight as the date alone, whole numbers without
    a decimal point, other numbers in their shortest form, yes/no as true/false."""
    if pa.types.is_floating(col.type):
        whole = pc.and_(pc.equal(pc.floor(col), col), pc.less(pc.abs(col), EXACT_INTEGERS))
        as_int = pc.cast(pc.if_else(whole, col, 0.0), pa.int64()).cast(pa.string())
        return pc.if_else(whole, as_int, col.cast(pa.string()))
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        # casts, not strftime (which is ten times slower): a timestamp's text is "%Y-%m-%d %H:%M:%S"
        seconds = pc.cast(col, pa.timestamp("s"), safe=False)
        day = pc.cast(seconds, pa.date32())
        midnight = pc.equal(seconds, pc.cast(day, pa.timestamp("s")))
        return pc.if_else(midnight, day.cast(pa.string()), seconds.cast(pa.string()))
    if pa.types.is_boolean(col.type):
        return pc.if_else(col, "true", "false")
    return pc.replace_substring_regex(col.cast(pa.string()), MIDNIGHT, r"\1")


def read_excel(path: Path) -> RawTable:
    """The first sheet, every cell as text (fastexcel: calamine, straight to Arrow; a column's
    type is inferred from all its cells, and a column of mixed cells reads as text, where
    fastexcel writes a number now and then one digit longer than Python would: the same value
    to within a unit in the last place)."""
    import fastexcel

    try:
        table = fastexcel.read_excel(str(path)).load_sheet(0, schema_sample_rows=None).to_arrow()
    except Exception as exc:  # fastexcel raises its own error types for broken workbooks
        raise Unreadable(f"{path}: not a readable Excel workbook ({str(exc).splitlines()[0]})") from None
    if table.num_columns == 0:
        raise Unreadable(f"{path}: the first sheet is empty")
    return RawTable(pa.table({name: _excel_text(table[name]) for name in table.column_names}), "xlsx")


def read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Unreadable(f"{path}: not a readable Parquet file ({exc})") from None
    cols = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.date32())
        cols[name] = col.cast(pa.string())
    return RawTable(pa.table(cols), "parquet")


def read_table(path: Path, sniff_bytes: int = 65536) -> RawTable:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return read_csv(path, sniff_bytes)
    if suffix in (".xlsx", ".xls", ".xlsm"):
        return read_excel(path)
    if suffix == ".parquet":
        return read_parquet(path)
    raise Unreadable(f"{path}: not a table (expected .csv, .xlsx, .xls or .parquet)")
