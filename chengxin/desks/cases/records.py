"""The ``SOURCE:NATURAL_KEY`` grammar of the record a case is about (the source's key columns
other than the subject, joined by ``/``), finding the current version of that record in the
record store, and the department that provided it.
"""

from __future__ import annotations

import datetime as dt

from chengxin import config
from chengxin.desks.cases.kinds import rules
from chengxin.workspace import UserError

KEY_SEPARATOR = "/"


# --- records ----------------------------------------------------------------------------------


def parse_record(ref: str) -> tuple[config.Source, dict]:
    """``SOURCE:NATURAL_KEY`` -> the source and its key values (other than the subject). The
    source may also be named as people name it, then a space ("行政处罚 宝市监罚〔2025〕12号",
    "social insurance 2025-01", as `i18n.record_ref` writes a record)."""
    catalogue = config.sources()
    ref = str(ref or "").strip()
    for name, src in catalogue.sources.items():
        for named in (src.zh, name.replace("_", " ")):
            for sep_ in (" ", "："):
                if ref.startswith(named + sep_):
                    ref = f"{name}:{ref[len(named) + len(sep_):].strip()}"
    source_name, sep, natural = ref.partition(":")
    if not sep or source_name not in catalogue.sources:
        raise UserError(f"--record must be SOURCE:NATURAL_KEY with SOURCE one of {', '.join(catalogue.sources)}; "
                        f"got {ref!r}")
    src = catalogue[source_name]
    names = [k for k in src.key if k != "subject_id"]
    parts = natural.split(KEY_SEPARATOR) if names else []
    if len(parts) != len(names) or not all(parts):
        raise UserError(f"the natural key of {source_name} is {KEY_SEPARATOR.join(names).upper()}: "
                        f"e.g. --record {source_name}:{KEY_SEPARATOR.join(n.upper() for n in names)}")
    return src, dict(zip(names, parts))


def record_ref(source: str, row: dict) -> str:
    """The ``SOURCE:NATURAL_KEY`` of a stored record (a row with the source's key columns)."""
    src = config.sources()[source]
    return source + ":" + KEY_SEPARATOR.join(str(row[k])[:10] if isinstance(row[k], (dt.date, dt.datetime)) else str(row[k])
                                             for k in src.key if k != "subject_id")


def find_record(src: config.Source, key: dict, subject_id: str, home=None) -> dict | None:
    """The current version of a subject's record (as the office holds it now), or None."""
    from chengxin import warehouse

    where = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in key)
    with warehouse.connect(home, read_only=True) as con:
        found = con.execute(f"SELECT * EXCLUDE (_key, _hash) FROM {src.table} WHERE subject_id = ? AND {where} "
                            f"AND {warehouse.CURRENT} ORDER BY _seq DESC LIMIT 1", [subject_id, *key.values()]).df()
    if found.empty:
        return None
    return {k: (None if _missing(v) else v) for k, v in found.iloc[0].to_dict().items()}


def _missing(v) -> bool:
    try:
        return v is None or bool(v != v)
    except (TypeError, ValueError):
        return False


def provider(src: config.Source, record: dict | None, home=None) -> str:
    """The department that provided a record: its own column where the source has one (e.g. the
    deciding department of a penalty), else the source's department."""
    column = rules(home).provider_columns.get(src.name)
    if column and record and record.get(column):
        return str(record[column])
    return src.department.zh
