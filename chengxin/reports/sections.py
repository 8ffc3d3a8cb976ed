"""What each kind of report says, as plain content (`content`): the header and the sections, from
the read model only (the published snapshot: the card, the records kept there, the lists,
coverage and the stored explanations; the case desk's open objections; the audit log for "who
looked me up"). The same subject, kind and as-of date give the same content: no number, no time.

Every kind opens with the registration facts and closes with the items under objection, the
data sources and the notes. The public and the lender's report show the tier and the records
(licences, penalties, lists, honours, courts); the certificate shows, per domain, the records
found over the look-back or that none was; the lender's adds the grade, the reasons, the charts
(`charts`) and the repair path; a subject's own report adds who looked it up."""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

from chengxin import audit, config, i18n, identifiers, users
from chengxin.models import grades
from chengxin.readmodel import snapshot as layout
from chengxin.readmodel.lookup import UnknownSubject
from chengxin.reports.charts import lender_charts
from chengxin.reports.policy import Reader, check, free_reports_used
from chengxin.reports.settings import TITLES, reports_config
from chengxin.users import Role


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


def _source_dates(snap, as_of: str | None = None) -> dict[str, str]:
    """The day each source was last received by the report's as-of date, over the snapshot's
    records (what was received later is not what the report's rating read)."""
    return _last_received(str(snap.path), as_of)


@functools.lru_cache(maxsize=8)
def _last_received(path: str, as_of: str | None) -> dict[str, str]:
    from chengxin.readmodel.snapshot import records_cursor

    out = {}
    until = "" if not as_of else " WHERE received_date <= ?"
    with records_cursor(path) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for src in config.sources():
            if src.table in tables:
                found = con.execute(f"SELECT max(received_date) FROM {src.table}{until}", [as_of] if as_of else []).fetchall()
                if found[0][0] is not None:
                    out[src.name] = _day(found[0][0])
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

    sid, stype, own = check(snap, subject_id, kind, reader, purpose, authorization_ref)
    cfg = reports_config(home)
    role = reader.role
    shown_role = role.model_copy(update={"personal_data": "full"}) if own else role
    card = subject_cards(snap, [sid], shown_role, purpose=purpose or ("本人查询" if own else None),
                         authorization_ref=authorization_ref or ("self" if own else None), user=reader.name, as_of=as_of,
                         home=home)[0]
    if card["status"] != 200:
        raise UnknownSubject(f"no published credit information for {subject_id}" + (f" on {as_of}" if as_of else ""))
    until = as_of
    as_of = str(as_of) if as_of else (card.get("as_of") or str(snap.as_of(stype) or ""))
    info = readmodel.rows_of(snap.path / layout.SUBJECT_INFO, sid)
    reg = info.iloc[0].to_dict() if len(info) else {}
    masked = stype == "individual" and not own
    name = card.get("name") or reg.get("name")
    header = [["主体名称", name], ["统一社会信用代码/身份证号 ID", card["display_id"]],
              ["数据截止日期", as_of], ["报告类型", TITLES[kind][0]]]
    # what it was issued for and on whose authority (an individual's report always says; a firm's when asked)
    if own:
        header.append(["查询用途", "本人查询"])
    elif purpose or authorization_ref:
        header += [["查询用途", purpose or "—"], ["授权编号", authorization_ref or "—"]]
    records = _records(snap, sid, shown_role)
    if until is not None:  # what was on record on that day
        records = {k: f[pd.to_datetime(f[config.sources()[k].event_date]) <= pd.Timestamp(until)] for k, f in records.items()}
    fs = feature_settings()

    rep = _legal_rep(snap, reg.get("legal_rep_id"), reg.get("legal_rep_name"), shown_role)
    sections = [_basic(sid, stype, card, reg, name, rep)]
    if kind != "certificate":
        sections.append(_tier(card, kind, as_of))
        sections += _record_sections(card, records, fs)
    else:
        sections += _certificate(snap, sid, stype, card, records, years or cfg.lookback_years, cfg)
    sections.append({"title": "异议标注", "table": _table(
        ["案件", "记录", "异议日期"], [[f["case"], i18n.record_ref(f["record"]), f["since"]] for f in card.get("under_objection", [])],
        "无异议处理中的信息。", [0.6, 3, 1])})
    if kind == "lender":
        sections += _lender_sections(snap, sid, card, reader, purpose)
    if own:
        sections.append(_who_looked(sid, home))
        if stype == "individual":
            this = free_reports_used(sid, dt.date.today().year, home) + 1  # this one is recorded once issued
            sections.append({"title": "免费报告", "paragraphs": [
                f"本年度已出具本人信用报告 {this} 份（含本份），每年免费 {cfg.free_per_year} 份。"]})
    sections += _closing(snap, fs, as_of)
    return {"kind": kind, "subject_id": sid, "subject_type": stype, "display_id": card["display_id"], "name": name,
            "masked": masked, "as_of": as_of, "title": {"zh": TITLES[kind][0], "en": TITLES[kind][1]},
            "platform": cfg.platform.model_dump(), "issuer": cfg.issuer.model_dump(), "header": header,
            "sections": sections}


def _basic(sid: str, stype: str, card: dict, reg: dict, name, legal_rep: str | None = None) -> dict:
    """The registration facts of a firm (its legal representative by name: `legal_rep`), or a
    person's name, ID and county."""
    if stype == "enterprise":
        facts = [["企业名称", reg.get("name")], ["统一社会信用代码", sid],
                 ["市场主体类型", i18n.record_value("entity_type", reg.get("entity_type"))],
                 ["行业", i18n.industry(reg.get("industry"))], ["所在区县", i18n.county(reg.get("county"))],
                 ["登记状态", i18n.record_value("status", reg.get("status"))],
                 ["成立日期", _day(reg.get("registration_date"))], ["注册资本（万元）", reg.get("registered_capital")],
                 ["法定代表人", legal_rep or ""]]
    else:
        facts = [["姓名", name], ["身份证号", card["display_id"]], ["所在区县", i18n.county(card.get("county"))]]
    return {"title": "一、基本信息", "table": _table(["项目", "内容"], facts, "—", [1, 3])}


def _legal_rep(snap, rep_id: str | None, rep_name: str | None, role) -> str | None:
    """A firm's legal representative by name (the registration record's, else the resident
    registry's), as the role may see a person's name (masked where it masks), with the ID number
    masked beside it; the masked ID alone when no name is on record."""
    from chengxin import readmodel

    if not isinstance(rep_id, str) or not rep_id:  # a person's report, or a firm without one on record
        return None
    found = rep_name if isinstance(rep_name, str) and rep_name else None
    if found is None:
        person = readmodel.rows_of(snap.path / layout.SUBJECT_INFO, rep_id)
        found = person.iloc[0].get("name") if len(person) else None
    masked_id = identifiers.mask_resident_id(rep_id)
    return f"{users.show_name(found, 'individual', role)}（{masked_id}）" if isinstance(found, str) and found else masked_id


def _tier(card: dict, kind: str, as_of: str) -> dict:
    """The public credit tier, the direct rule that decided it and any restatement."""
    tier = card.get("tier")
    words = card.get("tier_words") or {}
    lines = [f"公共信用综合评价等级：{tier or '未评价'} {words.get('zh', '')}（评价标准 {card.get('criteria_version', '—')}，"
             f"评价基准日 {as_of}）。" + (f"监管措施：{words['measures']['zh']}。" if words.get("measures") else "")]
    rule = card.get("tier_rule")  # the direct rule that decided the tier, before the points;
    if rule and (rule["list_rule"] or kind == "lender"):  # default (banks' records) is not public information
        lines.append(f"直接评级：{rule['text']['zh']}，依{rule['basis']['zh']}直接评为 {rule['tier']} 级（不论得分）。")
    if card.get("restated"):
        lines.append(f"本评价已因案件决定重新评价（{card['restated']['cause']}，{card['restated']['rated_at']}）。")
    return {"title": "二、公共信用综合评价", "paragraphs": lines}


def _record_sections(card: dict, records: dict[str, pd.DataFrame], fs) -> list[dict]:
    """Licences, penalties, lists, honours and courts."""
    sections = []
    lic = records.get("licence", pd.DataFrame())
    sections.append({"title": "三、行政许可", "table": _table(
        ["许可文号", "许可机关", "事项", "决定日期"],
        [[r["licence_no"], r["deciding_department"], i18n.record_value("action", r["action"]), _day(r["decision_date"])]
         for _, r in lic.iterrows()],
        "无行政许可记录。", [2, 2, 1, 1])})
    sections.append(_penalties(card, records, fs))
    entries = card.get("lists", [])
    black = [e for e in entries if e["list"] == "black"]
    sections.append({"title": "五、失信名单与经营异常", "table": _table(
        ["名单", "依据", "列入日期", "到期/移出", "状态", "修复"],
        [[e["text_zh"], e.get("reference") or "", e.get("start"), e.get("ends"), i18n.word(i18n.STATUS, e.get("status")),
          (e.get("repair_notice") or {}).get("text_zh", "")] for e in black] +
        [["经营异常名录", i18n.record_value("event_type", r["event_type"]), _day(r["event_date"]), "", "", ""]
         for _, r in records.get("annual_report", pd.DataFrame()).iterrows() if r["event_type"] == "abnormal_listed"],
        "未被列入失信名单或经营异常名录。", [1.4, 1.6, 0.9, 0.9, 0.7, 2])})
    red = [e for e in entries if e["list"] == "red"]
    hon = records.get("honours", pd.DataFrame())
    sections.append({"title": "六、守信激励与荣誉", "table": _table(
        ["名单/荣誉", "编号", "起始", "有效期至"],
        [[e["text_zh"], e.get("reference") or "", e.get("start"), e.get("ends")] for e in red] +
        [[i18n.record_value("honour", r["honour"]), r["honour_no"], _day(r["event_date"]), _day(r["valid_until"])]
         for _, r in hon.iterrows()],
        "无守信激励或荣誉记录。", [2, 1.5, 1, 1])})
    crt = records.get("courts", pd.DataFrame())
    sections.append({"title": "七、司法信息", "table": _table(
        ["案号", "事项", "日期", "标的（元）"],
        [[r["case_no"], i18n.record_value("event_type", r["event_type"]), _day(r["event_date"]), i18n.amount(r.get("amount"))]
         for _, r in crt.iterrows()],
        "无司法记录。", [2, 1.4, 1, 1])})
    return sections


def _penalties(card: dict, records: dict[str, pd.DataFrame], fs) -> dict:
    """Penalties with their publicity period (features.yaml's record rules, `fs`), credit
    repair and any objection."""
    flags = {f["record"]: f for f in card.get("under_objection", [])}

    def marked(ref: str) -> str:
        return "异议处理中" if ref in flags else ""

    pen = records.get("penalty", pd.DataFrame())
    rows = []
    for _, r in pen.iterrows():
        repair_from, ends = fs.publicity(r.get("severity"), r["decision_date"])
        status = (f"已修复 {_day(r.get('repair_date'))}" if bool(r.get("repaired")) else
                  f"可于 {repair_from} 起申请修复" if repair_from else "")
        rows.append([r["decision_no"], r["deciding_department"], _day(r["decision_date"]),
                     i18n.record_value("severity", r.get("severity")),
                     i18n.amount(r.get("fine_amount")), f"至 {ends}" if ends else "", status,
                     marked(f"penalty:{r['decision_no']}")])
    return {"title": "四、行政处罚", "table": _table(
        ["决定书文号", "处罚机关", "决定日期", "失信程度", "罚款（元）", "公示期", "信用修复", "标注"], rows,
        "无行政处罚记录。", [2, 1.4, 1, 0.8, 0.9, 1, 1.4, 1])}


def _closing(snap, fs, as_of: str | None = None) -> list[dict]:
    """The data sources, with the day each was last received by the as-of date, and the notes
    every report ends with."""
    dates = _source_dates(snap, as_of)
    sources = {"title": "数据来源", "table": _table(
        ["来源", "提供部门", "最近接收日期"],
        [[s.zh, s.department.zh, dates.get(s.name, "")] for s in config.sources() if s.name in dates],
        "—", [1.5, 2, 1])}
    notes = ["行政处罚按失信程度公示：" + "；".join(f"{i18n.record_value('severity', k)} 最短 {p.min} 个月、最长 {p.max} 个月"
                                          for k, p in fs.publicity_months.items())
             + "。公示期满的记录不再公示，不计入评价；经信用修复的记录满最短公示期后不再公示。",
             "标注“异议处理中”的信息正在核查，核查期间不作为不利依据的唯一理由。"]
    return [sources, {"title": "说明", "paragraphs": notes}]


def _record_words(src, row: dict, label: str) -> str:
    """A record the certificate found, in words: what it is (`label`), its key (codes in words),
    its date; a penalty's severity and whether it was repaired."""
    keys = [i18n.record_value(k, row.get(k)) if k in i18n.RECORD_VALUES else str(row.get(k))
            for k in src.key if k not in ("subject_id", src.event_date)
            and not isinstance(row.get(k), (pd.Timestamp, dt.date))]
    day = str(row.get(src.event_date))[:7 if src.grain == "monthly" else 10]
    text = f"{label} {' '.join(keys)} {day}".replace("  ", " ").strip()
    if src.name == "penalty":
        repaired = f"已信用修复 {_day(row.get('repair_date'))}".strip() if bool(row.get("repaired")) else "未修复"
        text += f"（{i18n.record_value('severity', row.get('severity'))}；{repaired}）"
    return text


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
                found += [_record_words(src, r.to_dict(), spec.get("zh") or src.zh) for _, r in hits.iterrows()]
            if found:
                verdict = "；".join(found)
            elif covered:
                verdict = f"近 {years} 年未发现违法违规记录"
            else:
                verdict = "本领域数据提供部门未覆盖该主体所在区县，不作无记录证明"
            rows.append([domain.zh, verdict, "；".join(sources), "已覆盖" if covered else "未覆盖"])
    return [{"title": f"二、分领域违法违规记录（{since.date()} 至 {as_of.date()}）",
             "table": _table(["领域", "查询结果", "数据来源", "数据覆盖"], rows, "—", [0.8, 3, 2, 0.7])}]


def _lender_sections(snap, sid, card, reader, purpose) -> list[dict]:
    """The grade, PD and score, the reasons, the charts (as the reader's role may see the
    contributions) and the repair path."""
    from chengxin import readmodel

    out = [{"title": "信用等级与违约概率", "paragraphs": [
        f"信用等级 {card.get('grade', '—')}，12个月违约概率 {grades.pd_words(card.get('pd'), card.get('grade'))}，评分 {i18n.number(card.get('score'))}；"
        f"模型版本 {card.get('model_version')}，评价标准版本 {card.get('criteria_version')}。"] +
        ([f"人工复核等级：{card['grade_override']['grade']}（{card['grade_override'].get('reason')}）"] if card.get("grade_override") else [])},
           {"title": "主要扣分原因", "table": _table(
               ["原因", "扣分"], [[r["text_zh"], i18n.points(r.get("points"))] for r in card.get("reasons", [])],
               "—", [4, 0.6])}]
    result = (readmodel.lookup(snap, sid, reader.role, user=reader.name, purpose=purpose, record=False)
              if reader.role.sees("contributions") else {})  # the report itself is recorded once issued
    images = []
    if result.get("contributions"):
        images.append("chart_contributions")
    if result.get("history") is not None and len(result.get("history", [])):
        images.append("chart_history")
    out.append({"title": "评分构成与等级历史", "images": images,
                "paragraphs": [] if images else ["—"], "_charts": lender_charts(result, grades.rating_config().grades) if images else {}})
    fix = readmodel.repair(snap, sid, reader.role, user=reader.name, purpose=purpose) if reader.role.sees("repair") else None
    steps = (fix or {}).get("repair_path") or []
    out.append({"title": "信用修复路径", "table": _table(
        ["步骤", "措施", "之后等级"], [[k, s.get("text_zh"), s.get("grade")] for k, s in enumerate(steps, 1)],
        "无需修复或暂无可行路径。", [0.4, 3, 0.8])})
    return out


def _who_looked(sid: str, home=None) -> dict:
    """Who looked the subject up in the last 12 months (institution, date, purpose)."""
    log = audit.audit_log(home, subject_id=sid, since=(dt.date.today() - dt.timedelta(days=365)).isoformat())
    from chengxin.desks import institutions

    names = {u: v.shown() for u, v in users.roles_config(home).users.items()}
    keys = institutions.listed(home)
    names |= {f"api:{k}": i for k, i in zip(keys["key_id"], keys["institution"])}  # an API key: its institution
    seen: dict[tuple, int] = {}
    for a, u, r, p, action in zip(log["at"], log["user"], log["role"], log["purpose"], log["action"]):
        if r == users.PUBLIC or action in audit.INTERNAL_ACTIONS:  # the public's are no institution's; a class is not published
            continue
        key = (str(a)[:10], names.get(u, u), r, p or "")
        seen[key] = seen.get(key, 0) + 1
    rows = [[*key, n] for key, n in seen.items()]
    return {"title": "查询记录（近12个月）", "table": _table(
        ["日期", "查询机构/用户", "角色", "用途", "次数"], rows, "近12个月无查询记录。", [0.8, 2, 0.8, 2, 0.5])}
