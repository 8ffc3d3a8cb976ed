"""The published criteria as a document people read (Markdown, rendered to the criteria page and
the public comment period), and what changed from the version before, in words. The criteria
themselves, as data and as SQL, are `chengxin.models.criteria`."""

from __future__ import annotations

import math

import numpy as np

from chengxin import i18n
from chengxin.features.catalogue import DIMENSIONS
from chengxin.models.criteria import dimensions, whole_percents


LANGUAGES = ("zh", "en")  # criteria.md is the office's own (Chinese) text; criteria.en.md its English

# the words of the validation measures
VALIDATION_WORDS = {"auc": ("AUC", "AUC"), "gini": ("Gini 系数", "Gini"), "ks": ("KS", "KS"),
                    "brier": ("Brier 分数", "Brier score"),
                    "psi_dev_oot": ("稳定性 PSI（开发期对样本外）", "PSI, development vs out of time"),
                    "grades_within_interval": ("等级违约率落在区间内的比例", "Grades within their interval"),
                    "calibration_holds": ("校准检验通过", "Calibration holds")}


def _w(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _validation_value(name: str, value: float, lang: str = "zh") -> str:
    """A validation figure as a person reads it: yes/no for a test, a percent for a share, else three decimals."""
    if name == "calibration_holds":
        return _w(lang, "是", "yes") if value >= 1 else _w(lang, "否", "no")
    if name == "grades_within_interval":
        return f"{value * 100:.0f}%"
    return f"{value:.3f}"


def _value(x: float, unit: str | None = None) -> str:
    """A threshold as a person reads it: shares in percent, amounts with thousands separators."""
    if unit == "share":
        return f"{x * 100:g}%"
    if unit == "amount" and abs(x) >= 1000 and x == round(x):
        return f"{x:,.0f}"
    return f"{x:g}"


def _range(b: dict, unit: str | None = None, lang: str = "zh") -> str:
    if "categories" in b:
        return ", ".join(b["categories"])
    lo, hi = b["lower"], b["upper"]
    if lo is None and hi is None:
        return _w(lang, "任意取值", "any value")
    if lo is None:
        return f"< {_value(hi, unit)}"
    if hi is None:
        # a share cannot pass 100 %: its top bin starting there is the value 100 %
        return _value(lo, unit) if unit == "share" and lo >= 1 else f"≥ {_value(lo, unit)}"
    return f"[{_value(lo, unit)}, {_value(hi, unit)})"


def _dimension_lines(c: dict, lang: str) -> list[str]:
    """The summary table of dimensions: each one's declared budget, its indicators and its share."""
    dims = c.get("dimensions") or dimensions(c["indicators"])
    if not dims:
        return []
    percents = whole_percents([d["share"] for d in dims])
    lines = [_w(lang, "## 评价维度与分值", "## Dimensions and their points"), "",
             _w(lang, "| 维度 | 分值预算 | 计分指标（其中规则计分） | 分值区间（最低–最高） | 占分值区间比例 |",
                "| Dimension | Budget | Indicators (declared) | Points (lowest–highest) | Share of the range |"),
             "|---|---|---|---|---|"]
    lines += [f"| {d[lang]} | {d.get('budget') if d.get('budget') is not None else '—'} | {d['indicators']} "
              f"({d.get('declared', 0)}) | {i18n.points(d['min_points'])}–{i18n.points(d['max_points'])} | {p}% |"
              for d, p in zip(dims, percents)]
    lo, hi = sum(d["min_points"] for d in dims), sum(d["max_points"] for d in dims)
    lines += [f"| {_w(lang, '合计', 'Total')} | {c.get('total_points', '—')} | {sum(d['indicators'] for d in dims)} | "
              f"{i18n.points(lo)}–{i18n.points(hi)} | 100% |", "",
              _w(lang, "分值预算由信用办设定并公开征求意见；维度内，规则计分指标按声明分值计分，其余指标的相对分值由数据学习后"
                       "缩放到预算之内。分值区间：该维度各指标最低得分之和至最高得分之和。",
                 "Budgets are set by the office and put to public comment; inside a dimension, the declared indicators "
                 "score their declared points and the others' relative points, learnt from data, are scaled into the rest "
                 "of the budget. Points: from the sum of the dimension's indicators' lowest points to the sum of their "
                 "highest."), ""]
    if c.get("unscored_dimensions"):
        names = [DIMENSIONS[d][0 if lang == "zh" else 1] if d in DIMENSIONS else d for d in c["unscored_dimensions"]]
        lines += [_w(lang, "本版本无可计分指标、预算按比例分给其他维度的维度：" + "、".join(names),
                     "Dimensions with nothing to score this version (their budget went to the others in proportion): "
                     + ", ".join(names)), ""]
    return lines


def _direct_lines(c: dict, lang: str) -> list[str]:
    """The direct-tier rules (一票否决), applied before the points."""
    rules = c.get("direct_tiers") or []
    if not rules:
        return []
    lines = [_w(lang, "## 直接评级规则", "## Direct tiers (applied before the points)"), "",
             _w(lang, "以下情形直接评定等级（取最低者），分数更低时按分数评级。",
                "These force a tier whatever the points (the worst applies); points that give a worse tier still do."), "",
             _w(lang, "| 情形 | 直接评为 | 期限 | 依据 |", "| Rule | Tier | Holds | Legal basis |"), "|---|---|---|---|"]
    lines += [f"| {r['text'][lang]} | {r['tier']} | {r['holds'][lang]} | {r['basis'][lang]} |" for r in rules]
    return lines + [""]


def _percent(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _tier_lines(c: dict, lang: str) -> list[str]:
    """The tiers with their cut-offs, measures and distribution on the current city."""
    dist = c.get("distribution") or {}
    lines = [_w(lang, "## 评价等级与分级分类监管", "## Tiers and differential supervision"), "",
             _w(lang, "| 等级 | 含义 | 最低分 | 占比 | 12个月失信违约率 | 监管措施 |",
                "| Tier | Meaning | Minimum points | Share | 12-month outcome rate | Supervision measures |"),
             "|---|---|---|---|---|---|"]
    for t in c["public_tiers"]:
        floor = "—" if t["min_points"] is None or t["min_points"] <= 0 else f"{t['min_points']:g}"
        lines.append(f"| {t['tier']} | {t[lang]} | {floor} | {_percent(t.get('share'))} | "
                     f"{_percent(t.get('outcome_rate'))} | {t['measures'][lang]} |")
    lines.append("")
    if dist:
        rated, outcome_rated = f"{dist.get('rated', 0):,}", f"{dist.get('outcome_rated', 0):,}"
        lines += [_w(lang, f"占比：{dist.get('rated_as_of', '')} 评价的 {rated} 个主体；失信违约率：按本标准回溯评价 "
                           f"{dist.get('outcome_as_of', '—')}（{outcome_rated} 个主体）后12个月内发生失信或违约的比例。",
                     f"Share: the {rated} subjects rated on {dist.get('rated_as_of', '')}; outcome rate: the subjects rated "
                     f"by these criteria on {dist.get('outcome_as_of', '—')} ({outcome_rated}) that met serious "
                     "dishonesty or default within 12 months."), ""]
        for key, (zh, en) in (("county", ("区县", "county")), ("industry", ("行业", "industry"))):
            groups = dist.get("by_" + key) or []
            if not groups:
                continue
            tiers = [t["tier"] for t in c["public_tiers"]]
            lines += [_w(lang, f"### 按{zh}", f"### By {en}"), "",
                      f"| {_w(lang, zh, en.title())} | {_w(lang, '主体', 'Subjects')} | " + " | ".join(tiers) + " |",
                      "|---|---|" + "---|" * len(tiers)]
            lines += [f"| {_group_name(key, g, lang)} | {g['rated']:,} | "
                      + " | ".join(_percent(g['shares'].get(t, 0.0)) for t in tiers) + " |" for g in groups]
            lines.append("")
    return lines


def _group_name(key: str, group: dict, lang: str) -> str:
    """A county or industry by name in the document's language, its code beside it."""
    named = i18n.county(group["code"], lang) if key == "county" else i18n.industry(group["code"], lang)
    return f"{named} ({group['code']})" if named and named != group["code"] else group["name"]


def _considered_lines(c: dict, lang: str) -> list[str]:
    """The indicators considered but given no points, each with why."""
    items = c.get("considered_not_weighted") or []
    if not items:
        return []
    lines = [_w(lang, "## 考虑但未计分的指标", "## Indicators considered, not weighted"), "",
             _w(lang, "以下指标经过评估，但不计入总分。", "These indicators were considered and give no points."), "",
             _w(lang, "| 指标 | 未计分原因 |", "| Indicator | Why not weighted |"), "|---|---|"]
    lines += [f"| {_indicator(i, lang)} | {i['why'][lang]} |" for i in items]
    return lines + [""]


def _indicator(i: dict, lang: str) -> str:
    """An indicator by its name in the document's language (its field name is in criteria.json)."""
    if lang == "zh":
        return i["zh"]
    return (i.get("description") or {}).get("en") or i.get("en") or i["zh"]


def changes(new: dict, old: dict | None, lang: str = "zh") -> list[str]:
    """What changed since the previous version, in plain words."""
    if not old:
        return [_w(lang, "首次发布。", "First published version.")]
    out = []
    a = {i["name"]: i for i in old["indicators"]}
    b = {i["name"]: i for i in new["indicators"]}
    for n in sorted(set(b) - set(a)):
        out.append(_w(lang, "新增：", "Added: ") + _indicator(b[n], lang))
    for n in sorted(set(a) - set(b)):
        out.append(_w(lang, "删除：", "Removed: ") + _indicator(a[n], lang))
    for n in sorted(set(a) & set(b)):
        old_pts = [x["points"] for x in a[n]["bins"]]
        new_pts = [x["points"] for x in b[n]["bins"]]
        if len(old_pts) != len(new_pts) or not np.allclose(old_pts, new_pts, atol=0.05):
            spans = f"{min(old_pts):.0f}–{max(old_pts):.0f} → {min(new_pts):.0f}–{max(new_pts):.0f}"
            out.append(_w(lang, f"调整分档或分值：{_indicator(b[n], lang)}，分值 {spans}",
                          f"Re-binned or re-weighted: {_indicator(b[n], lang)}, points {spans}"))
    return out or [_w(lang, "指标与分值无变化。", "No change to indicators or points.")]


def _selection_lines(c: dict, lang: str) -> list[str]:
    """How the indicators were chosen and weighted, from the criteria's `selection` block."""
    sel = c.get("selection")
    if not sel:
        return []
    by_name = {i["name"]: i for i in [*c["indicators"], *(c.get("considered_not_weighted") or [])]}

    def named(n: str) -> str:
        return _indicator(by_name[n], lang) if n in by_name else n

    none = _w(lang, "无", "none")
    sep = _w(lang, "；", "; ")
    lines = [_w(lang, "## 指标筛选与权重", "## How the indicators were chosen and weighted"), "",
             _w(lang, f"- 建模期信息值（IV）不低于 {sel['min_iv']:g} 的指标入选。",
                f"- An indicator enters when its information value (IV) on the fitting rows is at least {sel['min_iv']:g}.")]
    if sel["max_psi"] is not None:
        dropped = sep.join(f"{named(n)} (PSI {v:.2f})" for n, v in sel["dropped_for_stability"].items()) or none
        lines.append(_w(lang, f"- 稳定性：指标分箱的分布从建模期到校准期的群体稳定性指数（PSI）不得超过 {sel['max_psi']:g}，"
                              f"各指标的 PSI 见下表。因不稳定剔除：{dropped}。",
                        f"- Stability: an indicator's bins may shift by a population stability index (PSI) of at most "
                        f"{sel['max_psi']:g} from the fitting window to the calibration window (each one's below). "
                        f"Dropped as unstable: {dropped}."))
    if sel["dropped_for_sign"]:
        listed = sep.join(named(n) for n in sel["dropped_for_sign"])
        lines.append(_w(lang, f"- 权重与分箱方向相反的指标被剔除（与其他指标高度相关所致）：{listed}。",
                        f"- Dropped because their weight ran against their own bins (they overlap other indicators): {listed}."))
    if sel.get("min_points_spread"):
        narrow = sep.join(f"{named(n)} ({v:g})" for n, v in sel.get("dropped_for_spread", {}).items()) or none
        lines.append(_w(lang, f"- 各档分值相差不足 {sel['min_points_spread']:g} 分的指标不计分（见“考虑但未计分的指标”）：{narrow}。",
                        f"- An indicator whose points spread less than {sel['min_points_spread']:g} between its best and "
                        f"worst bin is not weighted (see 'considered, not weighted'): {narrow}."))
    if sel.get("integer_points") or sel.get("snapped_thresholds"):
        lines.append(_w(lang, "- 分值取整数；分档界值取整百分比、整数（次数、天数、年数）或两位有效数字的金额。",
                        "- Points are whole numbers; thresholds are whole percentages, whole counts, days or years, or "
                        "amounts in two significant figures."))
    pdo = f"{c['scaling']['pdo']:g}"
    lines.append(_w(lang, f"- 权重：WoE 逻辑回归，正则化强度 C = {sel['C']:g}，按主体分组交叉验证选定；总分保持对数几率刻度"
                          f"（每 {pdo} 分优劣比翻倍）。",
                    f"- Weights: a logistic regression on the bins' weight of evidence (WoE), its regularisation "
                    f"(C = {sel['C']:g}) chosen by cross-validation with each subject in one fold; the total stays on the "
                    f"log-odds scale ({pdo} points double the odds)."))
    measured = [i for i in c["indicators"] if i.get("stability_psi") is not None]
    if measured:
        lines += ["", _w(lang, "| 指标 | PSI |", "| Indicator | PSI |"), "|---|---|"]
        lines += [f"| {_indicator(i, lang)} | {i['stability_psi']:.3f} |" for i in measured]
    return lines + [""]


def criteria_markdown(c: dict, change_lines: list[str], lang: str = "zh") -> str:
    """The criteria as a document in one language (`zh`: the office's text, `en`: its English)."""
    subject = i18n.t(c["subject"], lang)
    total = c.get("total_points")
    lines = [_w(lang, f"# 公共信用综合评价标准（{subject}）", f"# Public credit evaluation criteria ({subject})"), "",
             _w(lang, f"- 版本：**{c['criteria_version']}**（指标目录 {c['catalogue_version']}）",
                f"- Version: **{c['criteria_version']}** (indicator catalogue {c['catalogue_version']})"),
             _w(lang, f"- 生效日期：**{c['effective_date']}**", f"- Effective date: **{c['effective_date']}**"),
             _w(lang, f"- 总分 = 各维度得分之和{f'（满分 {total} 分）' if total else ''}；分数越高，信用越好；直接评级规则先于分数。",
                f"- Total points = the sum of the dimensions' points{f' (at most {total})' if total else ''}; more "
                "points, better credit; the direct-tier rules come before the points."),
             "", *_dimension_lines(c, lang), *_direct_lines(c, lang), *_tier_lines(c, lang)]
    if c.get("relation"):
        lines += [_w(lang, "## 与违约概率（PD）的关系", "## How the evaluation relates to the lenders' PD"), "",
                  c["relation"][lang], ""]
    lines += [_w(lang, "## 评价指标与分值", "## Indicators and points"), ""]
    for dim, names in DIMENSIONS.items():
        group = [i for i in c["indicators"] if i["dimension"] == dim]
        if not group:
            continue
        lines += [f"### {names[0] if lang == 'zh' else names[1]}", ""]
        for i in group:
            dept = i["department"] or {"zh": "", "en": ""}
            window = (_w(lang, f"{i['window_months']} 个月", f"{i['window_months']} months") if i["window_months"]
                      else _w(lang, "全部或当前", "all or current"))
            via = _w(lang, "（关联主体的记录）", " (records of the linked subject)") if i.get("linked") else ""
            how = (_w(lang, "规则计分", "declared points") if i.get("scoring") == "declared"
                   else _w(lang, "数据学习", "points learnt from data"))
            fixed = (_w(lang, "可通过自身行为改善", "can be improved by the subject") if i["mutable"]
                     else _w(lang, "客观事实", "a fixed fact"))
            title = i["zh"] if lang == "zh" else i["description"]["en"]
            lines += [f"**{title}** — {i['description'][lang]}  " if lang == "zh" else f"**{title}**  ",
                      _w(lang, f"计分：{how}；来源：{dept['zh']}{via}；时间窗：{window}；{fixed}",
                         f"Scoring: {how}; source: {dept['en']}{via}; window: {window}; {fixed}"), "",
                      _w(lang, "| 取值 | 得分 |", "| Value | Points |"), "|---|---|"]
            lines += [f"| {_range(b, i.get('unit'), lang)} | {i18n.points(b['points'])} |" for b in i["bins"]]
            lines += [f"| {_w(lang, '缺失（无数据）', 'Missing (no data)')} | {i18n.points(i['missing_points'])} |", ""]
    lines += _considered_lines(c, lang)
    lines += _selection_lines(c, lang)
    r = c["rules"]
    pub = _w(lang, "；", "; ").join(f"{i18n.record_value('severity', k, lang)}{_w(lang, '：', ': ')}{v['min']}–{v['max']} "
                                   f"{_w(lang, '个月', 'months')}" for k, v in r["publicity_months"].items())
    lines += [_w(lang, "## 缺失、修复与过期记录", "## Missing, repaired and expired records"), "",
              _w(lang, "- 数据缺失（所在区县该部门未上报）不视为零，按“缺失”一栏计分。",
                 "- Missing data (no upload from the department for the subject's county) is not counted as zero: it "
                 "scores as in the 'Missing' row."),
              _w(lang, f"- 行政处罚记录仅在公示期内计入（{pub}）。", f"- Penalties count only while published ({pub})."),
              (_w(lang, "- 已完成信用修复的记录，在最短公示期满后不再计入。",
                  "- A repaired record stops counting once its minimum publicity period has passed.")
               if r["repaired_stops_after_min"] else
               _w(lang, "- 已修复记录仍计入至最长公示期满。", "- Repaired records count until their maximum period.")), ""]
    v = c.get("validation") or {}
    if v:
        lines += [_w(lang, "## 指标权重模型验证（样本外）", "## Validation of the scorecard whose weights are scaled in (out of time)"),
                  "", _w(lang, "| 指标 | 值 |", "| Measure | Value |"), "|---|---|"]
        lines += [f"| {VALIDATION_WORDS[k][0 if lang == 'zh' else 1] if k in VALIDATION_WORDS else k} | "
                  f"{_validation_value(k, val, lang)} |" for k, val in v.items() if isinstance(val, (int, float))]
        lines.append("")
    lines += [_w(lang, "## 版本变更", "## What changed"), ""] + [f"- {x}" for x in change_lines] + ["",
              _w(lang, "## 在自有系统中应用", "## Applying the criteria in your own systems"), "",
              _w(lang, "criteria.sql 以一条 SQL 表达式给出总分，每个指标一列；criteria.json 列出每个指标的字段名、每个分档及其分值。",
                 "criteria.sql gives the total points as one SQL expression over one column per indicator; "
                 "criteria.json lists each indicator's field name, every bin and its points."), ""]
    return "\n".join(lines)
