"""The published criteria as a document people read (Markdown, rendered to the criteria page and
the public comment period), and what changed from the version before, in words. The criteria
themselves, as data and as SQL, are `chengxin.models.criteria`."""

from __future__ import annotations

import math

import numpy as np

from chengxin import i18n
from chengxin.features.catalogue import DIMENSIONS
from chengxin.models.criteria import dimensions, whole_percents


# the words of the validation measures
VALIDATION_WORDS = {"auc": "AUC", "gini": "Gini 系数 Gini", "ks": "KS", "brier": "Brier 分数 Brier score",
                    "psi_dev_oot": "稳定性 PSI（开发期对样本外） PSI, development vs out of time",
                    "grades_within_interval": "等级违约率落在区间内的比例 Grades within their interval",
                    "calibration_holds": "校准检验通过 Calibration holds"}


def _validation_value(name: str, value: float) -> str:
    """A validation figure as a person reads it: yes/no for a test, a percent for a share, else three decimals."""
    if name == "calibration_holds":
        return "是 yes" if value >= 1 else "否 no"
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


def _range(b: dict, unit: str | None = None) -> str:
    if "categories" in b:
        return ", ".join(b["categories"])
    lo, hi = b["lower"], b["upper"]
    if lo is None and hi is None:
        return "全部 any value"
    if lo is None:
        return f"< {_value(hi, unit)}"
    if hi is None:
        return f"≥ {_value(lo, unit)}"
    return f"[{_value(lo, unit)}, {_value(hi, unit)})"


def _pts(x) -> str:
    return f"{x:.0f}" if float(x) == round(float(x)) else f"{x:.1f}"


def _dimension_lines(c: dict) -> list[str]:
    """The summary table of dimensions: each one's declared budget, its indicators and its share."""
    dims = c.get("dimensions") or dimensions(c["indicators"])
    if not dims:
        return []
    percents = whole_percents([d["share"] for d in dims])
    lines = ["## 评价维度与分值 Dimensions and their points", "",
             "| 维度 Dimension | 分值预算 Budget | 计分指标 Indicators (规则 declared) | 分值区间 Points (lowest–highest) | 占比 Share of the range |",
             "|---|---|---|---|---|"]
    lines += [f"| {d['zh']} {d['en']} | {d.get('budget') if d.get('budget') is not None else '—'} | {d['indicators']} "
              f"({d.get('declared', 0)}) | {_pts(d['min_points'])}–{_pts(d['max_points'])} | {p}% |"
              for d, p in zip(dims, percents)]
    lo, hi = sum(d["min_points"] for d in dims), sum(d["max_points"] for d in dims)
    lines += [f"| 合计 Total | {c.get('total_points', '—')} | {sum(d['indicators'] for d in dims)} | {_pts(lo)}–{_pts(hi)} | 100% |", "",
              "分值预算由信用办设定并公开征求意见；维度内，规则计分指标按声明分值计分，其余指标的相对分值由数据学习后缩放到预算之内。"
              "分值区间：该维度各指标最低得分之和至最高得分之和。 Budgets are set by the office and put to public comment; "
              "inside a dimension, the declared indicators score their declared points and the others' relative points, "
              "learnt from data, are scaled into the rest of the budget. Points: from the sum of the dimension's "
              "indicators' lowest points to the sum of their highest.", ""]
    if c.get("unscored_dimensions"):
        lines += ["本版本无可计分指标、预算按比例分给其他维度的维度 Dimensions with nothing to score this version (their budget "
                  "went to the others in proportion): " + ", ".join(c["unscored_dimensions"]), ""]
    return lines


def _direct_lines(c: dict) -> list[str]:
    """The direct-tier rules (一票否决), applied before the points."""
    rules = c.get("direct_tiers") or []
    if not rules:
        return []
    lines = ["## 直接评级规则 Direct tiers (applied before the points)", "",
             "以下情形直接评定等级（取最低者），分数更低时按分数评级。 These force a tier whatever the points (the worst "
             "applies); points that give a worse tier still do.", "",
             "| 情形 Rule | 直接评为 Tier | 期限 Holds | 依据 Legal basis |", "|---|---|---|---|"]
    lines += [f"| {r['text']['zh']} {r['text']['en']} | {r['tier']} | {r['holds']['zh']}；{r['holds']['en']} | "
              f"{r['basis']['zh']} {r['basis']['en']} |" for r in rules]
    return lines + [""]


def _percent(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _tier_lines(c: dict) -> list[str]:
    """The tiers with their cut-offs, measures and distribution on the current city."""
    dist = c.get("distribution") or {}
    lines = ["## 评价等级与分级分类监管 Tiers and differential supervision", "",
             "| 等级 Tier | 含义 Meaning | 最低分 Minimum points | 占比 Share | 12个月失信违约率 12-month outcome rate | 监管措施 Supervision measures |",
             "|---|---|---|---|---|---|"]
    for t in c["public_tiers"]:
        floor = "—" if t["min_points"] is None or t["min_points"] <= 0 else f"{t['min_points']:g}"
        lines.append(f"| {t['tier']} | {t['zh']} {t['en']} | {floor} | {_percent(t.get('share'))} | "
                     f"{_percent(t.get('outcome_rate'))} | {t['measures']['zh']}；{t['measures']['en']} |")
    lines.append("")
    if dist:
        lines += [f"占比：{dist.get('rated_as_of', '')} 评价的 {dist.get('rated', 0):,} 个主体；失信违约率：按本标准回溯评价 "
                  f"{dist.get('outcome_as_of', '—')}（{dist.get('outcome_rated', 0):,} 个主体）后12个月内发生失信或违约的比例。 "
                  f"Share: the {dist.get('rated', 0):,} subjects rated on {dist.get('rated_as_of', '')}; outcome rate: the "
                  f"subjects rated by these criteria on {dist.get('outcome_as_of', '—')} ({dist.get('outcome_rated', 0):,}) that "
                  "met serious dishonesty or default within 12 months.", ""]
        for key, (zh, en) in (("county", ("区县", "county")), ("industry", ("行业", "industry"))):
            groups = dist.get("by_" + key) or []
            if not groups:
                continue
            tiers = [t["tier"] for t in c["public_tiers"]]
            lines += [f"### 按{zh} By {en}", "", f"| {zh} {en.title()} | 主体 Subjects | " + " | ".join(tiers) + " |",
                      "|---|---|" + "---|" * len(tiers)]
            lines += [f"| {g['name']} | {g['rated']:,} | " + " | ".join(_percent(g['shares'].get(t, 0.0)) for t in tiers) + " |"
                      for g in groups]
            lines.append("")
    return lines


def _considered_lines(c: dict) -> list[str]:
    """The indicators considered but given no points, each with why."""
    items = c.get("considered_not_weighted") or []
    if not items:
        return []
    lines = ["## 考虑但未计分的指标 Indicators considered, not weighted", "",
             "以下指标经过评估，但不计入总分。 These indicators were considered and give no points.", "",
             "| 指标 Indicator | 原因 Why not weighted |", "|---|---|"]
    lines += [f"| {i['zh']} (`{i['name']}`) | {i['why']['zh']}；{i['why']['en']} |" for i in items]
    return lines + [""]


def changes(new: dict, old: dict | None) -> list[str]:
    """What changed since the previous version, in plain words."""
    if not old:
        return ["First published version. 首次发布。"]
    out = []
    a = {i["name"]: i for i in old["indicators"]}
    b = {i["name"]: i for i in new["indicators"]}
    for n in sorted(set(b) - set(a)):
        out.append(f"Added 新增: {b[n]['zh']} (`{n}`)")
    for n in sorted(set(a) - set(b)):
        out.append(f"Removed 删除: {a[n]['zh']} (`{n}`)")
    for n in sorted(set(a) & set(b)):
        old_pts = [x["points"] for x in a[n]["bins"]]
        new_pts = [x["points"] for x in b[n]["bins"]]
        if len(old_pts) != len(new_pts) or not np.allclose(old_pts, new_pts, atol=0.05):
            out.append(f"Re-binned or re-weighted 调整: {b[n]['zh']} (`{n}`), points {min(old_pts):.0f}–{max(old_pts):.0f} → "
                       f"{min(new_pts):.0f}–{max(new_pts):.0f}")
    return out or ["No change to indicators or points. 指标与分值无变化。"]


def _selection_lines(c: dict) -> list[str]:
    """How the indicators were chosen and weighted, from the criteria's `selection` block."""
    sel = c.get("selection")
    if not sel:
        return []
    lines = ["## 指标筛选与权重 How the indicators were chosen and weighted", "",
             f"- 建模期信息值（IV）不低于 {sel['min_iv']:g} 的指标入选。 An indicator enters when its information value "
             f"on the fitting rows is at least {sel['min_iv']:g}."]
    if sel["max_psi"] is not None:
        dropped = "; ".join(f"`{n}` (PSI {v:.2f})" for n, v in sel["dropped_for_stability"].items()) or "无 none"
        lines.append(f"- 稳定性：指标分箱的分布从建模期到校准期的群体稳定性指数（PSI）不得超过 {sel['max_psi']:g}，"
                     f"各指标的 PSI 见下表。 Stability: an indicator's bins may shift by a population stability index of at "
                     f"most {sel['max_psi']:g} from the fitting window to the calibration window (each one's below). "
                     f"因不稳定剔除 Dropped as unstable: {dropped}.")
    if sel["dropped_for_sign"]:
        lines.append("- 权重与分箱方向相反的指标被剔除（与其他指标高度相关所致）。 Dropped because their weight ran against "
                     "their own bins (they overlap other indicators): " + ", ".join(f"`{n}`" for n in sel["dropped_for_sign"]) + ".")
    if sel.get("min_points_spread"):
        narrow = "; ".join(f"`{n}` ({v:g})" for n, v in sel.get("dropped_for_spread", {}).items()) or "无 none"
        lines.append(f"- 各档分值相差不足 {sel['min_points_spread']:g} 分的指标不计分（见“考虑但未计分的指标”）。 An indicator whose "
                     f"points spread less than {sel['min_points_spread']:g} between its best and worst bin is not weighted "
                     f"(see 'considered, not weighted'): {narrow}.")
    if sel.get("integer_points") or sel.get("snapped_thresholds"):
        lines.append("- 分值取整数；分档界值取整百分比、整数（次数、天数、年数）或两位有效数字的金额。 Points are whole numbers; "
                     "thresholds are whole percentages, whole counts, days or years, or amounts in two significant figures.")
    lines.append(f"- 权重：WoE 逻辑回归，正则化强度 C = {sel['C']:g}，按主体分组交叉验证选定；总分保持对数几率刻度"
                 f"（每 {c['scaling']['pdo']:g} 分优劣比翻倍）。 Weights: a logistic regression on the bins' weight of evidence, "
                 f"its regularisation (C = {sel['C']:g}) chosen by cross-validation with each subject in one fold; the "
                 f"total stays on the log-odds scale ({c['scaling']['pdo']:g} points double the odds).")
    measured = [i for i in c["indicators"] if i.get("stability_psi") is not None]
    if measured:
        lines += ["", "| 指标 Indicator | PSI |", "|---|---|"]
        lines += [f"| {i['zh']} (`{i['name']}`) | {i['stability_psi']:.3f} |" for i in measured]
    return lines + [""]


def criteria_markdown(c: dict, change_lines: list[str]) -> str:
    subject_zh = "企业" if c["subject"] == "enterprise" else "个人"
    total = c.get("total_points")
    lines = [f"# 公共信用综合评价标准（{subject_zh}）", f"# Public credit evaluation criteria ({c['subject']})", "",
             f"- 版本 Version: **{c['criteria_version']}** (indicator catalogue {c['catalogue_version']})",
             f"- 生效日期 Effective date: **{c['effective_date']}**",
             f"- 总分 = 各维度得分之和{f'（满分 {total} 分）' if total else ''}；分数越高，信用越好；直接评级规则先于分数。 "
             f"Total points = the sum of the dimensions' points{f' (at most {total})' if total else ''}; more points, "
             "better credit; the direct-tier rules come before the points.",
             "", *_dimension_lines(c), *_direct_lines(c), *_tier_lines(c)]
    if c.get("relation"):
        lines += ["## 与违约概率（PD）的关系 How the evaluation relates to the lenders' PD", "", c["relation"]["zh"], "",
                  c["relation"]["en"], ""]
    lines += ["## 评价指标与分值 Indicators and points", ""]
    for dim, (dzh, den) in DIMENSIONS.items():
        group = [i for i in c["indicators"] if i["dimension"] == dim]
        if not group:
            continue
        lines += [f"### {dzh} {den}", ""]
        for i in group:
            dept = i["department"] or {"zh": "", "en": ""}
            window = f"{i['window_months']} 个月 months" if i["window_months"] else "全部 / 当前 all or current"
            via = "（关联主体的记录 records of the linked subject）" if i.get("linked") else ""
            how = ("规则计分 declared points" if i.get("scoring") == "declared" else "数据学习 points learnt from data")
            lines += [f"**{i['zh']}** (`{i['name']}`) — {i['description']['zh']} {i['description']['en']}  ",
                      f"计分 Scoring: {how}; 来源 Source: {dept['zh']} {dept['en']}{via}; 时间窗 Window: {window}; "
                      f"{'可通过自身行为改善 can be improved by the subject' if i['mutable'] else '客观事实 a fixed fact'}", "",
                      "| 取值 Value | 得分 Points |", "|---|---|"]
            lines += [f"| {_range(b, i.get('unit'))} | {_pts(b['points'])} |" for b in i["bins"]]
            lines += [f"| 缺失 Missing / 无数据 no data | {_pts(i['missing_points'])} |", ""]
    lines += _considered_lines(c)
    lines += _selection_lines(c)
    r = c["rules"]
    pub = "; ".join(f"{i18n.record_value('severity', k, 'zh')} {i18n.record_value('severity', k, 'en')}："
                    f"{v['min']}–{v['max']} 个月 months" for k, v in r["publicity_months"].items())
    lines += ["## 缺失、修复与过期记录 Missing, repaired and expired records", "",
              "- 数据缺失（所在区县该部门未上报）不视为零，按“缺失”一栏计分。 Missing data (no upload from the "
              "department for the subject's county) is not counted as zero: it scores as in the 'Missing' row.",
              f"- 行政处罚记录仅在公示期内计入（{pub}）。 Penalties count only while published ({pub}).",
              ("- 已完成信用修复的记录，在最短公示期满后不再计入。 A repaired record stops counting once its minimum "
               "publicity period has passed." if r["repaired_stops_after_min"] else
               "- 已修复记录仍计入至最长公示期满。 Repaired records count until their maximum period."), ""]
    v = c.get("validation") or {}
    if v:
        lines += ["## 指标权重模型验证 Validation of the scorecard whose weights are scaled in (out of time)", "",
                  "| 指标 Measure | 值 Value |", "|---|---|"]
        lines += [f"| {VALIDATION_WORDS.get(k, k)} | {_validation_value(k, val)} |" for k, val in v.items()
                  if isinstance(val, (int, float))]
        lines.append("")
    lines += ["## 版本变更 What changed", ""] + [f"- {x}" for x in change_lines] + ["",
              "## 在自有系统中应用 Applying the criteria in your own systems", "",
              "`criteria.sql` gives the total points as one SQL expression over one column per indicator; "
              "`criteria.json` has every bin and its points.", ""]
    return "\n".join(lines)
