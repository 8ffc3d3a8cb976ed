"""Checking a report: by its number and verification code (`verify_number`), or by its file
(`verify_file`: the file's digest must be one the platform recorded, so one changed byte makes it
"altered or unknown"). Either answers with what the platform issued, the subject masked when a
person, or None."""

from __future__ import annotations

import hmac

import sqlalchemy as sa

from chengxin import identifiers, state
from chengxin.reports import signing
from chengxin.state import REPORTS


def verify_number(number: str, code: str | None, home=None) -> dict | None:
    """What the platform issued under this number with this verification code, or None when it
    issued no such report (a number alone confirms nothing: numbers are printed where anyone
    reads them, the code is the proof)."""
    if not str(code or "").strip():
        return None
    with state.connect(home) as con:
        row = con.execute(sa.select(REPORTS).where(REPORTS.c.number == str(number).strip())).mappings().first()
    if row is None or not hmac.compare_digest(row["code"].encode(), str(code).strip().upper().encode()):
        return None
    return _public(row)


def verify_file(data: bytes, home=None) -> dict | None:
    """The record of the report this file is, byte for byte, or None (altered or unknown)."""
    digest = signing.file_digest(data)
    with state.connect(home) as con:
        row = con.execute(sa.select(REPORTS).where(REPORTS.c.file_sha256 == digest)).mappings().first()
    if row is None or not hmac.compare_digest(row["code"], signing.code(row["number"], row["subject_id"], row["kind"],
                                                                        row["as_of"], row["content_sha256"], home)):
        return None
    return _public(row)


def _public(row) -> dict:
    out = {k: row[k] for k in ("number", "kind", "as_of", "issued_at", "format", "file_sha256")}
    out["subject"] = (identifiers.mask_resident_id(row["subject_id"]) if row["subject_type"] == "individual"
                      else row["subject_id"])
    return out
