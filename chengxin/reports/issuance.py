"""Issuing a report: the reader's checks and free reports, the content, a new number, the time
and the verification code, the PDF or HTML, and its record (with the file's digest) in the
shared state (`state.REPORTS`); a report an institution has on a subject is audited as a look-up
the subject is told of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chengxin import audit, state, users
from chengxin.reports import rendering, signing
from chengxin.reports.sections import content
from chengxin.reports.policy import Reader, check, free_reports_used
from chengxin.reports.settings import FORMATS, reports_config
from chengxin.state import REPORTS
from chengxin.workspace import UserError


@dataclass
class Issued:
    number: str
    data: bytes
    media_type: str
    filename: str
    record: dict


def issue(snap, subject_id: str, kind: str, reader: Reader, *, purpose: str | None = None,
          authorization_ref: str | None = None, years: int | None = None, as_of: dt.date | None = None,
          fmt: str = "pdf", home=None) -> Issued:
    """Issue a report: content from the read model, a new number and verification code, the
    PDF or HTML, and its record (with the file's digest) in the shared state."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}")
    home = home or snap.home
    sid, stype, own = check(snap, subject_id, kind, reader, purpose, authorization_ref)
    if own and stype == "individual":
        cfg = reports_config(home)
        used = free_reports_used(sid, dt.date.today().year, home)
        if used >= cfg.free_per_year:
            raise UserError(f"{used} of {cfg.free_per_year} free reports used this year; ask the credit office's counter")
    body = content(snap, sid, kind, reader, purpose=purpose, authorization_ref=authorization_ref, years=years, as_of=as_of,
                   home=home)
    charts = {k: v for s in body["sections"] for k, v in s.pop("_charts", {}).items()}
    digest = signing.content_digest(body)
    now = dt.datetime.now().replace(microsecond=0)
    number = signing.number(now)
    code = signing.code(number, sid, kind, body["as_of"], digest, home)
    doc = body | {"number": number, "code": code, "issued_at": now.isoformat(sep=" "),
                  "footnote": f"出具单位：{body['issuer']['zh']}；出具时间：{now:%Y-%m-%d %H:%M}；出具对象：{reader.name}（{reader.role.zh}）。"
                              f"本报告可凭报告编号和验证码在{body['platform']['zh']}的“核验报告”页面核验"
                              f"（机构系统：/v1/reports/{number}/verify）。"}
    doc["header"] = doc["header"] + [["报告编号", number], ["出具时间", now.isoformat(sep=" ")],
                                     ["出具对象", f"{reader.name}（{reader.role.zh}）"]]
    data = rendering.render(doc, charts, fmt, home)
    record = {"number": number, "subject_id": sid, "subject_type": stype, "kind": kind, "as_of": body["as_of"],
              "format": fmt, "content_sha256": digest, "file_sha256": signing.file_digest(data), "code": code,
              "issued_at": now.isoformat(sep=" "), "issued_to": reader.name, "role": reader.role.name, "purpose": purpose,
              "own": int(own)}
    with state.connect(home) as con:
        con.execute(REPORTS.insert().values(**record))
    if not own and reader.role.name != users.PUBLIC:  # an institution's report is a look-up the subject is told of
        audit.audit("report", sid, purpose, user=reader.name, role=reader.role.name,
                   detail={"report": number, "kind": kind, "authorization_ref": authorization_ref}, home=home)
    return Issued(number, data, users.REPORT_FORMATS[fmt],
                  f"{number}.{fmt}", record)
