"""Credit reports: the public credit information report (`public`), the report in place of
no-violation certificates (`certificate`) and the lender's report (`lender`), as PDF (Typst, with
an embedded CJK font) or HTML, each numbered, signed and recorded so that anyone can verify it.

A report is assembled from the read model only (the published snapshot: the card, the records
kept there, the lists, coverage and the stored explanations; the case desk's open objections;
the audit log for "who looked me up"), as plain content (`content`): the same subject, kind
and as-of date give the same content. Issuing (`issue`) adds the number, the time, a
verification code (an HMAC, keyed by the workspace's report key, over the content's digest)
and its QR code, renders it and records it (`state.REPORTS`) with the file's digest:
`verify_file` finds a file by that digest, so one changed byte makes it "altered or unknown".
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import html
import io
import json
import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from importlib import resources

import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from chengxin import cases, catalog, config, desk, i18n, identifiers, state, users
from chengxin.state import REPORTS
from chengxin.users import Role
from chengxin.workspace import UserError
from chengxin.readmodel import snapshot as layout

KINDS = users.REPORT_KINDS
FORMATS = ("pdf", "html")
TITLES = {"public": ("公共信用信息报告", "Public credit information report"),
          "certificate": ("专用信用报告（替代有无违法违规记录证明）", "Special credit report in place of no-violation certificates"),
          "lender": ("信用评价报告（金融机构版）", "Credit rating report for lenders")}


class Domain(config.Strict):
    zh: str
    en: str
    records: tuple[dict, ...]


class ReportsConfig(config.Strict):
    issuer: config.Words
    platform: config.Words
    free_per_year: int = Field(ge=0)
    lookback_years: int = Field(gt=0)
    font_paths: tuple[str, ...]
    fonts: tuple[str, ...]
    domains: dict[str, Domain]


def reports_config(home=None) -> ReportsConfig:
    return config.declared("reports", ReportsConfig, home)


# --- who may have which report ---------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Whom a report is issued to: a role, the user or institution, and for a subject's own
    account the subject it is."""

    name: str
    role: Role
    subject: str | None = None


def reader(username: str | None, home=None) -> Reader:
    """A user of users.yaml as a report's reader (None: the office's counter, with the admin's role)."""
    who = cases.actor(username, home)
    return Reader(who.user, who.role, who.subject)


def _check(snap, subject_id: str, kind: str, reader: Reader, purpose: str | None,
           authorization_ref: str | None) -> tuple[str, str, bool]:
    from chengxin.readmodel.identity import subject_type

    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    sid, stype = subject_type(snap, subject_id)  # the registry's type: a person is never reported as a firm
    own = bool(reader.subject) and identifiers.normalised_or_none(reader.subject) == sid
    if reader.role.own_only and not own:
        raise cases.NotAllowed(f"{reader.name} may have reports on its own subject only")
    if kind not in reader.role.reports and not own:
        raise cases.NotAllowed(f"{reader.role.name} may not have the {kind} report (roles.yaml `reports`)")
    if stype == "individual" and not own:
        if not reader.role.individuals:
            raise cases.NotAllowed(f"{reader.role.name} may not have reports on individuals")
        if not ((purpose or "").strip() and (authorization_ref or "").strip()):
            raise UserError("a report on an individual needs a purpose and the person's authorization reference "
                            "(--purpose, --authorization-ref); it is audited")
    return sid, stype, own


# --- content ---------------------------------------------------------------------------------


def _table(columns: list[str], rows: list[list], empty: str, widths: list[float] | None = None) -> dict:
    return {"columns": columns, "rows": [["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in r]
                                         for r in rows], "empty": empty, "widths": widths or [0] * len(columns)}


def _day(v) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return ""
    return str(v)[:10]


def _records(snap, sid: str, role: Role) -> dict[str, pd.DataFrame]:
    from chengxin import readmodel

    return readmodel.records(snap, sid, role)


def _source_dates(snap) -> dict[str, str]:
    """The day each source was last received, over the snapshot's records."""
    return _last_received(str(snap.path))


@functools.lru_cache(maxsize=4)
def _last_received(path: str) -> dict[str, str]:
    from chengxin.readmodel.snapshot import records_cursor

    out = {}
    with records_cursor(path) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for src in config.sources():
            if src.table in tables:
                out[src.name] = _day(con.execute(f"SELECT max(received_date) FROM {src.table}").fetchall()[0][0])
    return out


def content(snap, subject_id: str, kind: str, reader: Reader, *, purpose: str | None = None,
            authorization_ref: str | None = None, years: int | None = None, as_of: dt.date | None = None,
            home=None) -> dict:
    """A report's content from the read model: plain data, the same for the same subject, kind
    and snapshot (no number, no time). `as_of`: the rating published on that day and the
    records dated until then."""
    from chengxin import readmodel
    from chengxin.record_rules import feature_settings
    from chengxin.readmodel.subject import subject_cards

    sid, stype, own = _check(snap, subject_id, kind, reader, purpose, authorization_ref)
    cfg = reports_config(home)
    role = reader.role
    shown_role = role.model_copy(update={"personal_data": "full"}) if own else role
    card = subject_cards(snap, [sid], shown_role, purpose=purpose or ("本人查询" if own else None),
                         authorization_ref=authorization_ref or ("self" if own else None), user=reader.name, as_of=as_of,
                   home=home)[0]
    if card["status"] != 200:
        raise UserError(f"no published credit information for {subject_id}" + (f" on {as_of}" if as_of else ""))
    until = as_of
    as_of = str(as_of) if as_of else (card.get("as_of") or str(snap.as_of(stype) or ""))
    info = readmodel.rows_of(snap.path / layout.SUBJECT_INFO, sid)
    reg = info.iloc[0].to_dict() if len(info) else {}
    masked = stype == "individual" and not own
    name = card.get("name") or reg.get("name")
    header = [["主体名称 Name", name], ["统一社会信用代码/身份证号 ID", card["display_id"]],
              ["数据截止日期 Data as of", as_of], ["报告类型 Kind", f"{TITLES[kind][0]} ({kind})"]]
    sections: list[dict] = []
    records = _records(snap, sid, shown_role)
    if until is not None:  # what was on record on that day
        records = {k: f[pd.to_datetime(f[config.sources()[k].event_date]) <= pd.Timestamp(until)] for k, f in records.items()}
    flags = {f["record"]: f for f in card.get("under_objection", [])}
    fs = feature_settings()

    def marked(ref: str) -> str:
        return "异议处理中 under objection" if ref in flags else ""

    # basic registration facts
    if stype == "enterprise":
        facts = [["企业名称", reg.get("name")], ["统一社会信用代码", sid],
                 ["市场主体类型", i18n.record_value("entity_type", reg.get("entity_type"))],
                 ["行业", i18n.industry(reg.get("industry"))], ["所在区县", i18n.county(reg.get("county"))],
                 ["登记状态", i18n.record_value("status", reg.get("status"))],
                 ["成立日期", _day(reg.get("registration_date"))], ["注册资本（万元）", reg.get("registered_capital")],
                 ["法定代表人", identifiers.mask_resident_id(reg["legal_rep_id"]) if reg.get("legal_rep_id") else ""]]
    else:
        facts = [["姓名", name], ["身份证号", card["display_id"]], ["所在区县", i18n.county(card.get("county"))]]
    sections.append({"title": "一、基本信息 Basic information", "table": _table(["项目", "内容"], facts, "—", [1, 3])})

    if kind != "certificate":
        tier = card.get("tier")
        words = card.get("tier_words") or {}
        lines = [f"公共信用综合评价等级：{tier or '未评价'} {words.get('zh', '')}（评价标准 {card.get('criteria_version', '—')}，"
                 f"评价基准日 {as_of}）。" + (f"监管措施：{words['measures']['zh']}。" if words.get("measures") else "")]
        rule = card.get("tier_rule")  # the direct rule that decided the tier, before the points;
        if rule and (rule["list_rule"] or kind == "lender"):  # default (banks' records) is not public information
            lines.append(f"直接评级：{rule['text']['zh']}，依{rule['basis']['zh']}直接评为 {rule['tier']} 级（不论得分）。")
        if card.get("restated"):
            lines.append(f"本评价已因案件决定重新评价（{card['restated']['cause']}，{card['restated']['rated_at']}）。")
        sections.append({"title": "二、公共信用综合评价 Public credit tier", "paragraphs": lines})
        # licences, penalties, lists, honours, courts
        lic = records.get("licence", pd.DataFrame())
        sections.append({"title": "三、行政许可 Administrative licences", "table": _table(
            ["许可文号", "许可机关", "事项", "决定日期"],
            [[r["licence_no"], r["deciding_department"], i18n.record_value("action", r["action"]), _day(r["decision_date"])]
             for _, r in lic.iterrows()],
            "无行政许可记录。", [2, 2, 1, 1])})
        pen = records.get("penalty", pd.DataFrame())
        rows = []
        for _, r in pen.iterrows():
            repair_from, ends = fs.publicity(r.get("severity"), r["decision_date"])
            status = (f"已修复 {_day(r.get('repair_date'))}" if bool(r.get("repaired")) else
                      f"可于 {repair_from} 起申请修复" if repair_from else "")
            rows.append([r["decision_no"], r["deciding_department"], _day(r["decision_date"]),
                         i18n.record_value("severity", r.get("severity")),
                         r.get("fine_amount"), f"至 {ends}" if ends else "", status,
                         marked(f"penalty:{r['decision_no']}")])
        sections.append({"title": "四、行政处罚 Administrative penalties", "table": _table(
            ["决定书文号", "处罚机关", "决定日期", "失信程度", "罚款（元）", "公示期", "信用修复", "标注"], rows,
            "无行政处罚记录。", [2, 1.4, 1, 0.8, 0.9, 1, 1.4, 1])})
        entries = card.get("lists", [])
        black = [e for e in entries if e["list"] == "black"]
        sections.append({"title": "五、失信名单与经营异常 Dishonesty lists and abnormal operations", "table": _table(
            ["名单", "依据", "列入日期", "到期/移出", "状态", "修复"],
            [[e["text_zh"], e.get("reference") or "", e.get("start"), e.get("ends"), i18n.word(i18n.STATUS, e.get("status")),
              (e.get("repair_notice") or {}).get("text_zh", "")] for e in black] +
            [["经营异常名录", i18n.record_value("event_type", r["event_type"]), _day(r["event_date"]), "", "", ""]
             for _, r in records.get("annual_report", pd.DataFrame()).iterrows() if r["event_type"] == "abnormal_listed"],
            "未被列入失信名单或经营异常名录。", [1.4, 1.6, 0.9, 0.9, 0.7, 2])})
        red = [e for e in entries if e["list"] == "red"]
        hon = records.get("honours", pd.DataFrame())
        sections.append({"title": "六、守信激励与荣誉 Red list and honours", "table": _table(
            ["名单/荣誉", "编号", "起始", "有效期至"],
            [[e["text_zh"], e.get("reference") or "", e.get("start"), e.get("ends")] for e in red] +
            [[i18n.record_value("honour", r["honour"]), r["honour_no"], _day(r["event_date"]), _day(r["valid_until"])]
             for _, r in hon.iterrows()],
            "无守信激励或荣誉记录。", [2, 1.5, 1, 1])})
        crt = records.get("courts", pd.DataFrame())
        sections.append({"title": "七、司法信息 Court enforcement and judgments", "table": _table(
            ["案号", "事项", "日期", "标的（元）"],
            [[r["case_no"], i18n.record_value("event_type", r["event_type"]), _day(r["event_date"]), r.get("amount")]
             for _, r in crt.iterrows()],
            "无司法记录。", [2, 1.4, 1, 1])})
    else:
        sections += _certificate(snap, sid, stype, card, records, years or cfg.lookback_years, cfg)

    sections.append({"title": "异议标注 Items under objection", "table": _table(
        ["案件", "记录", "异议日期"], [[f["case"], f["record"], f["since"]] for f in card.get("under_objection", [])],
        "无异议处理中的信息。", [0.6, 3, 1])})

    if kind == "lender":
        sections += _lender_sections(snap, sid, card, reader, purpose)

    if own:
        sections.append(_who_looked(sid, home))
        if stype == "individual":
            this = free_reports_used(sid, dt.date.today().year, home) + 1  # this one is recorded once issued
            sections.append({"title": "免费报告 Free reports", "paragraphs": [
                f"本年度已出具本人信用报告 {this} 份（含本份），每年免费 {cfg.free_per_year} 份。"]})
    dates = _source_dates(snap)
    sections.append({"title": "数据来源 Data sources", "table": _table(
        ["来源", "提供部门", "最近接收日期"],
        [[s.zh, s.department.zh, dates.get(s.name, "")] for s in config.sources() if s.name in dates],
        "—", [1.5, 2, 1])})
    notes = ["行政处罚按失信程度公示：" + "；".join(f"{k} 最短 {p.min} 个月、最长 {p.max} 个月" for k, p in fs.publicity_months.items())
             + "。公示期满的记录不再公示，不计入评价；经信用修复的记录满最短公示期后不再公示。",
             "标注“异议处理中”的信息正在核查，核查期间不作为不利依据的唯一理由。"]
    sections.append({"title": "说明 Notes", "paragraphs": notes})
    return {"kind": kind, "subject_id": sid, "subject_type": stype, "display_id": card["display_id"], "name": name,
            "masked": masked, "as_of": as_of, "title": {"zh": TITLES[kind][0], "en": TITLES[kind][1]},
            "platform": cfg.platform.model_dump(), "issuer": cfg.issuer.model_dump(), "header": header,
            "sections": sections}


def _certificate(snap, sid, stype, card, records, years, cfg) -> list[dict]:
    """Per domain: the records found over the look-back, or that none was found, or that the
    domain's department has not uploaded for the subject's county (so no claim is made)."""
    from chengxin import readmodel
    from chengxin.readmodel.snapshot import records_cursor

    as_of = pd.Timestamp(card.get("as_of") or snap.as_of(stype))
    since = as_of - pd.DateOffset(years=years)
    cells = readmodel.coverage_cells(snap)
    county = str(card.get("county") or "")
    rows = []
    with records_cursor(snap.path) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for name, domain in cfg.domains.items():
            found, covered, sources = [], False, []
            for spec in domain.records:
                src = config.sources()[spec["source"]]
                dept = spec.get("department")
                sources.append(f"{src.zh}（{dept or src.department.zh}）")
                c = cells[(cells["source"] == src.name) & (cells["county"].astype(str) == county)] if len(cells) else cells
                if dept and len(c):
                    c = c[c["department"] == dept]
                if len(c):
                    months = pd.to_datetime(c["month"].astype(str) + "-01")
                    covered |= bool(c.loc[(months > since) & (months <= as_of), "received"].sum() > 0)
                if src.table not in tables:
                    continue
                where = [f'"{src.event_date}" > DATE \'{since.date()}\'', f'"{src.event_date}" <= DATE \'{as_of.date()}\'',
                         "subject_id = ?"]
                if spec.get("where"):
                    where.append(f"({spec['where']})")
                if dept:
                    where.append("deciding_department = ?")
                hits = con.execute(f"SELECT * FROM {src.table} WHERE {' AND '.join(where)} ORDER BY \"{src.event_date}\"",
                                   [sid] + ([dept] if dept else [])).df()
                for _, r in hits.iterrows():
                    ref, day = cases.record_ref(src.name, r.to_dict()).split(":", 1)[1], _day(r[src.event_date])
                    found.append(f"{src.zh} {ref}" + ("" if ref == day else f" {day}"))
            if found:
                verdict = "；".join(found)
            elif covered:
                verdict = f"近 {years} 年未发现违法违规记录"
            else:
                verdict = "本领域数据提供部门未覆盖该主体所在区县，不作无记录证明"
            rows.append([domain.zh, verdict, "；".join(sources), "已覆盖" if covered else "未覆盖"])
    return [{"title": f"二、分领域违法违规记录（{since.date()} 至 {as_of.date()}）Records by domain",
             "table": _table(["领域", "查询结果", "数据来源", "数据覆盖"], rows, "—", [0.8, 3, 2, 0.7])}]


def _lender_sections(snap, sid, card, reader, purpose) -> list[dict]:
    from chengxin import readmodel

    out = [{"title": "信用等级与违约概率 Grade, PD and score", "paragraphs": [
        f"信用等级 {card.get('grade', '—')}，12个月违约概率 {card.get('pd', 0) * 100:.2f}%，评分 {card.get('score', '—')}；"
        f"模型版本 {card.get('model_version')}，评价标准版本 {card.get('criteria_version')}。"] +
        ([f"人工复核等级：{card['grade_override']['grade']}（{card['grade_override'].get('reason')}）"] if card.get("grade_override") else [])},
           {"title": "主要扣分原因 Reasons", "table": _table(
               ["代码", "原因", "扣分"], [[r["code"], r["text_zh"], r.get("points")] for r in card.get("reasons", [])],
               "—", [1.2, 3, 0.6])}]
    result = (readmodel.lookup(snap, sid, reader.role, user=reader.name, purpose=purpose, record=False)
              if reader.role.sees("contributions") else {})  # the report itself is recorded once issued
    images = []
    if result.get("contributions"):
        images.append("chart_contributions")
    if result.get("history") is not None and len(result.get("history", [])):
        images.append("chart_history")
    out.append({"title": "评分构成与等级历史 Contributions and grade history", "images": images,
                "paragraphs": [] if images else ["—"], "_charts": _charts(result) if images else {}})
    fix = readmodel.repair(snap, sid, reader.role, user=reader.name, purpose=purpose) if reader.role.sees("repair") else None
    steps = (fix or {}).get("repair_path") or []
    out.append({"title": "信用修复路径 Credit-repair path", "table": _table(
        ["步骤", "措施", "之后等级"], [[k, s.get("text_zh"), s.get("grade")] for k, s in enumerate(steps, 1)],
        "无需修复或暂无可行路径。", [0.4, 3, 0.8])})
    return out


def _charts(result: dict) -> dict[str, str]:
    """The lender's charts as SVG text: the scorecard's contributions and the grade history."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["font.family"] = ["DejaVu Sans"]  # indicator names and dates: no CJK in the charts
    charts = {}
    if result.get("contributions"):
        contrib = pd.Series({k: v for k, v in result["contributions"]["scorecard"]["contributions"].items() if v is not None},
                            dtype=float)
        top = contrib.reindex(contrib.abs().sort_values(ascending=False).index[:10])[::-1]
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.barh(top.index, top.values, color=["#c0392b" if v < 0 else "#2e86c1" for v in top.values])
        ax.set_title("Points short of each indicator's best (public evaluation)")
        ax.tick_params(labelsize=7)
        charts["chart_contributions"] = _svg(fig)
    h = result.get("history")
    if h is not None and len(h):
        fig, ax = plt.subplots(figsize=(7, 2.2))
        ax.plot(pd.to_datetime(h["as_of"]), h["score"], marker="o")
        for x, y, g in zip(pd.to_datetime(h["as_of"]), h["score"], h["grade"]):
            ax.annotate(str(g), (x, y), fontsize=7, xytext=(0, 4), textcoords="offset points")
        ax.set_title("Score and grade by rated date")
        ax.tick_params(labelsize=7)
        charts["chart_history"] = _svg(fig)
    return charts


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def _who_looked(sid: str, home=None) -> dict:
    """Who looked the subject up in the last 12 months (institution, date, purpose)."""
    log = desk.audit_log(home, subject_id=sid, since=(dt.date.today() - dt.timedelta(days=365)).isoformat())
    from chengxin import institutions

    names = {u: v.display for u, v in users.roles_config(home).users.items()}
    keys = institutions.listed(home)
    names |= {f"api:{k}": i for k, i in zip(keys["key_id"], keys["institution"])}  # an API key: its institution
    seen: dict[tuple, int] = {}
    for a, u, r, p in zip(log["at"], log["user"], log["role"], log["purpose"]):
        if r == users.PUBLIC:  # the public's look-ups are no institution's
            continue
        key = (str(a)[:10], names.get(u, u), r, p or "")
        seen[key] = seen.get(key, 0) + 1
    rows = [[*key, n] for key, n in seen.items()]
    return {"title": "查询记录（近12个月）Who looked you up", "table": _table(
        ["日期", "查询机构/用户", "角色", "用途", "次数"], rows, "近12个月无查询记录。", [0.8, 2, 0.8, 2, 0.5])}


# --- issuing -------------------------------------------------------------------------------------


def _key(home=None) -> bytes:
    path = catalog.report_key(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(secrets.token_bytes(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # the first writer wins: every process signs with the same key
        except FileExistsError:
            pass
        tmp.unlink()
    return path.read_bytes()


def _code(number: str, sid: str, kind: str, as_of: str, digest: str, home=None) -> str:
    mac = hmac.new(_key(home), f"{number}|{sid}|{kind}|{as_of}|{digest}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:20]


def _qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=1, mask_pattern=0,
                       image_factory=qrcode.image.svg.SvgPathImage)  # a fixed mask: no search, still a valid code
    qr.add_data(text)
    return qr.make_image().to_string(encoding="unicode")


@dataclass
class Issued:
    number: str
    data: bytes
    media_type: str
    filename: str
    record: dict


def free_reports_used(sid: str, year: int, home=None) -> int:
    """Reports issued to a person about itself in a calendar year."""
    with state.connect(home) as con:
        return int(con.scalar(sa.select(sa.func.count()).select_from(REPORTS).where(
            REPORTS.c.subject_id == sid, REPORTS.c.own == 1, REPORTS.c.issued_at.like(f"{year}-%"))) or 0)


def issue(snap, subject_id: str, kind: str, reader: Reader, *, purpose: str | None = None,
          authorization_ref: str | None = None, years: int | None = None, as_of: dt.date | None = None,
          fmt: str = "pdf", home=None) -> Issued:
    """Issue a report: content from the read model, a new number and verification code, the
    PDF or HTML, and its record (with the file's digest) in the shared state."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}")
    home = home or snap.home
    sid, stype, own = _check(snap, subject_id, kind, reader, purpose, authorization_ref)
    if own and stype == "individual":
        cfg = reports_config(home)
        used = free_reports_used(sid, dt.date.today().year, home)
        if used >= cfg.free_per_year:
            raise UserError(f"{used} of {cfg.free_per_year} free reports used this year; ask the credit office's counter")
    body = content(snap, sid, kind, reader, purpose=purpose, authorization_ref=authorization_ref, years=years, as_of=as_of,
                   home=home)
    charts = {k: v for s in body["sections"] for k, v in s.pop("_charts", {}).items()}
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    now = dt.datetime.now().replace(microsecond=0)
    number = f"CX{now:%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"
    code = _code(number, sid, kind, body["as_of"], digest, home)
    doc = body | {"number": number, "code": code, "issued_at": now.isoformat(sep=" "),
                  "footnote": f"出具单位：{body['issuer']['zh']}；出具时间：{now:%Y-%m-%d %H:%M}；出具对象：{reader.name}（{reader.role.zh}）。"
                              f"本报告可凭报告编号和验证码在平台核验（chengxin report verify，或 /v1/reports/{number}/verify）。"}
    doc["header"] = doc["header"] + [["报告编号 Number", number], ["出具时间 Issued", now.isoformat(sep=" ")],
                                     ["出具对象 Issued to", f"{reader.name}（{reader.role.zh}）"]]
    data = _pdf(doc, charts, home) if fmt == "pdf" else _html(doc, charts).encode("utf-8")
    record = {"number": number, "subject_id": sid, "subject_type": stype, "kind": kind, "as_of": body["as_of"],
              "format": fmt, "content_sha256": digest, "file_sha256": hashlib.sha256(data).hexdigest(), "code": code,
              "issued_at": now.isoformat(sep=" "), "issued_to": reader.name, "role": reader.role.name, "purpose": purpose,
              "own": int(own)}
    with state.connect(home) as con:
        con.execute(REPORTS.insert().values(**record))
    if not own and reader.role.name != users.PUBLIC:  # an institution's report is a look-up the subject is told of
        desk.audit("report", sid, purpose, user=reader.name, role=reader.role.name,
                   detail={"report": number, "kind": kind, "authorization_ref": authorization_ref}, home=home)
    return Issued(number, data, "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
                  f"{number}.{fmt}", record)


# One typst compiler per process, used by one thread at a time: a compiler is not shareable (a
# second thread compiling while one does fails with "Already borrowed"), and one per thread costs
# its fonts again (~50 MiB and ~0.25 s each; an API worker has 40 threads) to save nothing:
# measured on 2 cores, 16 concurrent public reports took 1.33 s (median) behind this lock and
# 1.30 s with a compiler per thread once built (5 s for the first 16), compiling being ~40 ms of
# a report's ~80 ms. It is held around the compiler's creation too.
_COMPILING = threading.Lock()


@functools.lru_cache(maxsize=2)
def _compiler(font_paths: tuple[str, ...]):
    """The process's compiler for these font folders; use it only while holding `_COMPILING`."""
    import typst

    template = str(resources.files("chengxin.conf").joinpath("report.typ"))
    return typst.Compiler(template, font_paths=[p for p in font_paths if os.path.isdir(p)], ignore_system_fonts=True)


def fonts_found(home=None) -> list[str]:
    """The configured CJK font families installed on this machine."""
    cfg = reports_config(home)
    return _families(cfg.font_paths, cfg.fonts)


@functools.lru_cache(maxsize=4)
def _families(font_paths: tuple[str, ...], wanted: tuple[str, ...]) -> list[str]:
    import typst

    have = set(typst.Fonts(include_system_fonts=False, font_paths=[p for p in font_paths if os.path.isdir(p)]).families())
    return [f for f in wanted if f in have]


def _pdf(doc: dict, charts: dict[str, str], home=None) -> bytes:
    cfg = reports_config(home)
    fonts = fonts_found(home)
    if not fonts:
        raise UserError(f"no CJK font for the PDF: install one of {', '.join(cfg.fonts)} (Debian: apt-get install "
                        f"fonts-noto-cjk) or set font_paths in reports.yaml; --format html needs none")
    inputs = {"data": json.dumps(doc, ensure_ascii=False, default=str), "fonts": json.dumps(fonts),
              "qr": _qr_svg(f"CHENGXIN {doc['number']} {doc['code']}"), **charts}
    issued = dt.datetime.fromisoformat(doc["issued_at"]).astimezone()
    with _COMPILING:  # API worker threads and dashboard sessions share the compiler: one at a time
        return _compiler(tuple(cfg.font_paths)).compile(sys_inputs=inputs, timestamp=issued)


def _html(doc: dict, charts: dict[str, str]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{e(doc['title']['zh'])} {e(doc['number'])}</title>"
             "<style>body{font-family:'Noto Serif CJK SC',serif;max-width:52em;margin:2em auto;font-size:14px}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #aaa;padding:3px 6px;text-align:left}"
             ".muted{color:#777}</style></head><body>",
             f"<h1>{e(doc['title']['zh'])}</h1><p class='muted'>{e(doc['title']['en'])}</p>",
             "<table>" + "".join(f"<tr><th>{e(str(a))}</th><td>{e(str(b))}</td></tr>" for a, b in doc["header"]) + "</table>",
             f"<p>{_qr_svg('CHENGXIN ' + doc['number'] + ' ' + doc['code'])}</p><p>验证码 {e(doc['code'])}</p>"]
    for s in doc["sections"]:
        parts.append(f"<h2>{e(s['title'])}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.get("paragraphs", [])]
        t = s.get("table")
        if t is not None:
            if not t["rows"]:
                parts.append(f"<p class='muted'>{e(t['empty'])}</p>")
            else:
                parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in t["columns"]) + "</tr>" +
                             "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t["rows"]) + "</table>")
        parts += [charts[i] for i in s.get("images", []) if i in charts]
    parts.append(f"<p class='muted'>{e(doc['footnote'])}</p></body></html>")
    return "".join(parts)


# --- verifying -------------------------------------------------------------------------------


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
    digest = hashlib.sha256(data).hexdigest()
    with state.connect(home) as con:
        row = con.execute(sa.select(REPORTS).where(REPORTS.c.file_sha256 == digest)).mappings().first()
    if row is None or not hmac.compare_digest(row["code"], _code(row["number"], row["subject_id"], row["kind"], row["as_of"],
                                                                 row["content_sha256"], home)):
        return None
    return _public(row)


def _public(row) -> dict:
    out = {k: row[k] for k in ("number", "kind", "as_of", "issued_at", "format", "file_sha256")}
    out["subject"] = (identifiers.mask_resident_id(row["subject_id"]) if row["subject_type"] == "individual"
                      else row["subject_id"])
    return out
