"""The published rating criteria, generated from the registered scorecard itself.

`criteria_json` reads the fitted scorecard (its exact bin edges and points) and the indicator
declarations; `criteria_sql` turns that JSON into one SQL expression, so a department or a bank
can apply the criteria in its own database and get the same points; `criteria_markdown`
renders the bilingual document the office publishes for comment.
"""

from __future__ import annotations

import math

import numpy as np

from chengxin import config
from chengxin.features.catalogue import DIMENSIONS, catalogue
from chengxin.features.sql import feature_settings
from chengxin.models import grades


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isinf(x)) else float(x)


def criteria_json(card, *, subject: str, version: str, effective_date: str, validation: dict | None = None) -> dict:
    """Every selected indicator with its bins and points, the tiers, the master scale and the rules."""
    cat = catalogue()
    table = card.table()
    process = card.scorecard_.binning_process_
    # models trained before stability was measured carry none of it
    stability = getattr(card, "stability_", {})
    indicators = []
    for name in card.selected_:
        ind = cat[name]
        rows = table[table["indicator"] == name]
        points = rows["points"].to_numpy(dtype=float)
        labels = rows["bin"].astype(str).to_list()
        missing = float(points[labels.index("Missing")])
        binned = process.get_binned_variable(name)
        bins = []
        if binned.dtype == "categorical":
            for cats, p in zip(binned.splits, points):
                bins.append({"categories": sorted(str(c) for c in list(cats)), "points": float(p)})
        else:
            edges = [-math.inf, *[float(s) for s in binned.splits], math.inf]
            for lo, hi, p in zip(edges[:-1], edges[1:], points):
                bins.append({"lower": _num(lo), "upper": _num(hi), "points": float(p)})
        # a linked indicator's records come from the linked subject's source (a firm's
        # representative's loans are the banks' records)
        origin = cat[ind.linked] if ind.agg == "linked" else ind
        src = config.sources()[origin.source] if origin.source else None
        indicators.append({
            "name": name, "zh": ind.zh, "description": ind.description.model_dump(), "dimension": ind.dimension,
            "source": origin.source, "department": src.department.model_dump() if src else None,
            "linked": ind.agg == "linked", "window_months": origin.window_months, "direction": ind.direction, "mutable": ind.mutable,
            "type": "category" if binned.dtype == "categorical" else "numeric", "bins": bins, "missing_points": missing,
            "max_points": float(points.max()), "min_points": float(points.min()),
            "stability_psi": stability.get(name),
        })
    cfg = grades.rating_config()
    fs = feature_settings()
    return {
        "criteria_version": version, "subject": subject, "effective_date": effective_date,
        "catalogue_version": cat.version, "scaling": cfg.scorecard_scaling.model_dump(),
        "indicators": indicators,
        "public_tiers": [t.model_dump() for t in cfg.public_tiers],
        "master_scale": [g.model_dump() for g in cfg.master_scale] + [{"grade": cfg.default_grade, "pd_max": None}],
        "rules": {"publicity_months": {k: v.model_dump() for k, v in fs.publicity_months.items()},
                  "repaired_stops_after_min": fs.repaired_stops_after_min,
                  "default_lookback_months": fs.default_lookback_months},
        "selection": {"min_iv": card.min_iv, "max_psi": getattr(card, "max_psi", None), "C": card.C,
                      "dropped_for_stability": {n: stability.get(n) for n in getattr(card, "dropped_for_stability_", [])},
                      "dropped_for_sign": list(getattr(card, "dropped_for_sign_", []))},
        "validation": validation or {},
    }


def _sql_number(x: float) -> str:
    return repr(float(x))


def _sql_text(x: str) -> str:
    return "'" + str(x).replace("'", "''") + "'"


def indicator_sql(item: dict) -> str:
    col = f'"{item["name"]}"'
    if item["type"] == "category":
        whens = " ".join(f"WHEN CAST({col} AS VARCHAR) IN ({', '.join(_sql_text(c) for c in b['categories'])}) "
                         f"THEN {_sql_number(b['points'])}" for b in item["bins"])
        return f"CASE WHEN {col} IS NULL THEN {_sql_number(item['missing_points'])} {whens} ELSE {_sql_number(item['missing_points'])} END"
    whens = " ".join(f"WHEN {col} < {_sql_number(b['upper'])} THEN {_sql_number(b['points'])}"
                     for b in item["bins"][:-1])
    return (f"CASE WHEN {col} IS NULL OR isnan({col}) THEN {_sql_number(item['missing_points'])} {whens} "
            f"ELSE {_sql_number(item['bins'][-1]['points'])} END")


def criteria_sql(criteria: dict) -> str:
    """One SQL expression giving the total points of a row with one column per indicator."""
    return "\n+ ".join(f"({indicator_sql(i)})" for i in criteria["indicators"])


def _range(b: dict) -> str:
    if "categories" in b:
        return ", ".join(b["categories"])
    lo, hi = b["lower"], b["upper"]
    if lo is None and hi is None:
        return "全部 any value"
    if lo is None:
        return f"< {hi:g}"
    if hi is None:
        return f"≥ {lo:g}"
    return f"[{lo:g}, {hi:g})"


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
    lines = [f"# 公共信用综合评价标准（{subject_zh}）", f"# Public credit evaluation criteria ({c['subject']})", "",
             f"- 版本 Version: **{c['criteria_version']}** (indicator catalogue {c['catalogue_version']})",
             f"- 生效日期 Effective date: **{c['effective_date']}**",
             "- 总分 = 各指标得分之和；分数越高，信用越好。 Total points = the sum of the indicators' points; more points, better credit.",
             "", "## 评价等级与分级分类监管 Tiers and differential supervision", "",
             "| 等级 Tier | 含义 Meaning | 最低分 Minimum points | 监管措施 Supervision measures |", "|---|---|---|---|"]
    for t in c["public_tiers"]:
        floor = "—" if t["min_points"] < -1e6 else f"{t['min_points']:g}"
        lines.append(f"| {t['tier']} | {t['zh']} {t['en']} | {floor} | {t['measures']['zh']}；{t['measures']['en']} |")
    lines += ["", "已列为失信被执行人或发生严重失信、违约的主体直接评为 D。 Subjects already in default are tier D.", ""]
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
            lines += [f"**{i['zh']}** (`{i['name']}`) — {i['description']['zh']} {i['description']['en']}  ",
                      f"来源 Source: {dept['zh']} {dept['en']}{via}; 时间窗 Window: {window}; "
                      f"{'可通过自身行为改善 can be improved by the subject' if i['mutable'] else '客观事实 a fixed fact'}", "",
                      "| 取值 Value | 得分 Points |", "|---|---|"]
            lines += [f"| {_range(b)} | {b['points']:.1f} |" for b in i["bins"]]
            lines += [f"| 缺失 Missing / 无数据 no data | {i['missing_points']:.1f} |", ""]
    lines += _selection_lines(c)
    r = c["rules"]
    pub = "; ".join(f"{k}: {v['min']}–{v['max']} months" for k, v in r["publicity_months"].items())
    lines += ["## 缺失、修复与过期记录 Missing, repaired and expired records", "",
              "- 数据缺失（所在区县该部门未上报）不视为零，按“缺失”一栏计分。 Missing data (no upload from the "
              "department for the subject's county) is not counted as zero: it scores as in the 'Missing' row.",
              f"- 行政处罚记录仅在公示期内计入（{pub}）。 Penalties count only while published ({pub}).",
              ("- 已完成信用修复的记录，在最短公示期满后不再计入。 A repaired record stops counting once its minimum "
               "publicity period has passed." if r["repaired_stops_after_min"] else
               "- 已修复记录仍计入至最长公示期满。 Repaired records count until their maximum period."), ""]
    v = c.get("validation") or {}
    if v:
        lines += ["## 模型验证 Validation (out of time)", "", "| 指标 Measure | 值 Value |", "|---|---|"]
        lines += [f"| {k} | {val:.4f} |" for k, val in v.items() if isinstance(val, (int, float))]
        lines.append("")
    lines += ["## 版本变更 What changed", ""] + [f"- {x}" for x in change_lines] + ["",
              "## 在自有系统中应用 Applying the criteria in your own systems", "",
              "`criteria.sql` gives the total points as one SQL expression over one column per indicator; "
              "`criteria.json` has every bin and its points.", ""]
    return "\n".join(lines)
