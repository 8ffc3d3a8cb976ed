"""Reading department files into tables of text: CSV (UTF-8, GBK, GB18030 detected), Excel, Parquet.

Every cell comes back as text (or null), exactly as the department sent it; typing and
validation happen later, against the source's declared contract.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from chengxin.workspace import UserError

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


def _cell_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_excel(path: Path) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=True)
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise Unreadable(f"{path}: not a readable Excel workbook ({exc})") from None
    if not rows:
        raise Unreadable(f"{path}: the first sheet is empty")
    header = [str(h).strip() if h is not None else f"column_{k + 1}" for k, h in enumerate(rows[0])]
    columns = {h: [] for h in header}
    for row in rows[1:]:
        for h, value in zip(header, row):
            columns[h].append(_cell_text(value))
    return RawTable(pa.table({h: pa.array(v, pa.string()) for h, v in columns.items()}), "xlsx")


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
