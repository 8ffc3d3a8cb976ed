"""The published rating criteria, generated from the registered scorecard itself.

`criteria_json` reads the fitted scorecard (its exact bin edges and points) and the indicator
declarations; `criteria_sql` turns that JSON into one SQL expression, so a department or a bank
can apply the criteria in its own database and get the same points; the bilingual document the
office publishes for comment is `chengxin.models.criteria_document`.
"""

from __future__ import annotations

import math

from chengxin import config
from chengxin.features.catalogue import DIMENSIONS, catalogue
from chengxin.record_rules import feature_settings
from chengxin.models import grades
from chengxin.models.thresholds import unit_of


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isinf(x)) else float(x)


def _points(x) -> int | float:
    """Points as published: a whole number (models trained before points were rounded keep their decimals)."""
    x = float(x)
    return int(round(x)) if abs(x - round(x)) < 1e-9 else x


def _merge_equal(bins: list[dict]) -> list[dict]:
    """Bins that give the same points published as one: neighbouring ranges joined, categories
    grouped (rounding can leave two neighbouring bins on the same whole number)."""
    out: list[dict] = []
    for b in bins:
        same = [o for o in out if o["points"] == b["points"]]
        if "categories" in b and same:
            same[0]["categories"] = sorted(same[0]["categories"] + b["categories"])
        elif "categories" not in b and out and out[-1]["points"] == b["points"]:
            out[-1]["upper"] = b["upper"]
        else:
            out.append(dict(b))
    return out


def whole_percents(shares: list[float]) -> list[int]:
    """Shares (adding to 1) as whole percentages adding to exactly 100 (largest remainders)."""
    if not shares or sum(shares) <= 0:
        return [0] * len(shares)
    raw = [100 * s / sum(shares) for s in shares]
    out = [math.floor(r) for r in raw]
    for k in sorted(range(len(raw)), key=lambda k: out[k] - raw[k])[:100 - sum(out)]:
        out[k] += 1
    return out


def dimensions(indicators: list[dict], budgets: dict[str, int] | None = None) -> list[dict]:
    """Per dimension (in the catalogue's order): its declared budget, its scoring indicators, the
    lowest and highest total they can give, and its share of the whole range of points (the
    shares add to 1)."""
    out = []
    for dim, (dzh, den) in DIMENSIONS.items():
        group = [i for i in indicators if i["dimension"] == dim]
        if group:
            lo, hi = sum(i["min_points"] for i in group), sum(i["max_points"] for i in group)
            out.append({"dimension": dim, "zh": dzh, "en": den, "indicators": len(group),
                        "budget": (budgets or {}).get(dim), "min_points": _points(lo), "max_points": _points(hi),
                        "declared": sum(1 for i in group if i.get("scoring") == "declared")})
    span = sum(d["max_points"] - d["min_points"] for d in out)
    for d in out:
        d["share"] = (d["max_points"] - d["min_points"]) / span if span else 0.0
    return out


def _not_in_evaluation(ev, cat) -> list[dict]:
    """The indicators the scorecard weights that the public evaluation does not score, each with why."""
    out = []
    for name in [n for n in ev.scorecard.selected_ if n not in ev.selected_]:
        ind = cat[name]
        if ind.kind == "category":
            why, reason = {"zh": "类别不计分：不因所在区县、行业或组织形式评价主体",
                           "en": "a category is not scored: no subject is rated on where it is, what it does or its legal form"}, "category"
        else:
            why, reason = {"zh": f"所属维度（{DIMENSIONS[ind.dimension][0]}）不在公共信用综合评价之内",
                           "en": f"its dimension ({DIMENSIONS[ind.dimension][1]}) is not part of the public evaluation"}, "dimension"
        out.append({"name": name, "zh": ind.zh, "description": ind.description.model_dump(), "dimension": ind.dimension,
                    "reason": reason, "why": why, "points_spread": None})
    return out


def _considered(card, cat, stability: dict, declared=()) -> list[dict]:
    """The indicators the scorecard was offered but gives no points, each with why (an indicator
    the public evaluation scores by declared points is not among them)."""
    declared = set(declared)
    spread = getattr(card, "dropped_for_spread_", {})
    floor = getattr(card, "min_points_spread", 0.0)
    sign = set(getattr(card, "dropped_for_sign_", []))
    unstable = set(getattr(card, "dropped_for_stability_", []))
    try:
        summary = card.scorecard_.binning_process_.summary().set_index("name")["iv"]
    except Exception:  # noqa: BLE001 - a binning process without a summary: no IV to quote
        summary = {}
    out = []
    for name in [str(n) for n in card.feature_names_in_ if n not in card.selected_ and n not in declared]:
        if name in spread:
            why = {"zh": f"各档分值相差不足 {floor:g} 分（{spread[name]:g} 分），对总分几乎没有影响",
                   "en": f"its points spread {spread[name]:g}, under the minimum of {floor:g}: it would move no total"}
            reason = "spread"
        elif name in unstable:
            why = {"zh": f"分布不稳定（PSI {stability.get(name, float('nan')):.2f}）",
                   "en": f"its bins shifted (PSI {stability.get(name, float('nan')):.2f}) from the fitting to the calibration window"}
            reason = "stability"
        elif name in sign:
            why = {"zh": "权重与分箱方向相反（与其他指标高度相关）",
                   "en": "its weight ran against its own bins (it overlaps other indicators)"}
            reason = "sign"
        elif name in summary:
            why = {"zh": f"信息值（IV {float(summary[name]):.3f}）低于 {card.min_iv:g}",
                   "en": f"its information value ({float(summary[name]):.3f}) is under {card.min_iv:g}"}
            reason = "iv"
        else:
            why = {"zh": "建模期无数据", "en": "no values in the fitting window"}
            reason = "no_data"
        try:
            ind = cat[name]
            zh, dim, description = ind.zh, ind.dimension, ind.description.model_dump()
        except KeyError:
            zh, dim, description = name, None, None
        out.append({"name": name, "zh": zh, "description": description, "dimension": dim, "reason": reason, "why": why,
                    "points_spread": spread.get(name)})
    return out


def relation() -> dict:
    """How the public evaluation and the lender's PD relate, in words the criteria publish."""
    return {"zh": "公共信用综合评价（本标准，A/B/C/D）与面向金融机构的违约概率（PD）及内部等级是两个产品：二者读取同一套指标，"
                  "评价为规则（维度分值、直接评级规则、等级分数线），PD 为经校准的模型。直接评级规则对二者一致：违约主体 PD 为100%、"
                  "内部等级为 D，公共评价亦为 D；列入失信被执行人名单等主体公共评价直接评级，其 PD 仍按模型计算并与评价并列展示。",
            "en": "The public evaluation (these criteria, tiers A-D) and the lenders' probability of default (PD) with its "
                  "master-scale grade are two products reading the same indicators: the evaluation is a rule (dimension "
                  "budgets, direct-tier rules, cut-offs), the PD a calibrated model. Both agree on default: a subject in "
                  "default has PD 100%, grade D and tier D; a subject on a list that forces its tier keeps its modelled "
                  "PD, shown beside the forced tier."}


def criteria_json(ev, *, subject: str, version: str, effective_date: str, validation: dict | None = None,
                  distribution: dict | None = None) -> dict:
    """The public evaluation as published: dimensions with budgets, direct-tier rules, every
    scored indicator with its bins and whole points, the tiers (with their distribution on the
    current city when given), the master scale and the rules. `ev`: a fitted `PublicEvaluation`."""
    cat = catalogue()
    card = ev.scorecard
    # models trained before stability was measured carry none of it
    stability = getattr(card, "stability_", {})
    units = getattr(card, "units", None) or {}
    indicators = [_indicator(ev, name, cat, units, stability) for name in ev.selected_]
    cfg = grades.rating_config()
    fs = feature_settings()
    tiers = []
    for t in cfg.public_tiers:
        floor = ev.cut_offs_.get(t.tier, 0)
        row = {"tier": t.tier, "zh": t.zh, "en": t.en, "min_points": floor, "measures": t.measures.model_dump()}
        row.update((distribution or {}).get("tiers", {}).get(t.tier, {}))
        tiers.append(row)
    direct = _direct_tiers(ev, fs)
    return {
        "criteria_version": version, "subject": subject, "effective_date": effective_date,
        "catalogue_version": cat.version, "total_points": ev.total_points_, "scaling": cfg.scorecard_scaling.model_dump(),
        "dimensions": dimensions(indicators, ev.budgets_),
        "unscored_dimensions": list(ev.unscored_dimensions_),
        "direct_tiers": direct,
        "indicators": indicators,
        "considered_not_weighted": _considered(card, cat, stability, ev.records_) + _not_in_evaluation(ev, cat),
        "public_tiers": tiers,
        "distribution": distribution or {},
        "master_scale": [g.model_dump() for g in cfg.master_scale] + [{"grade": cfg.default_grade, "pd_max": None}],
        "relation": relation(),
        "rules": {"publicity_months": {k: v.model_dump() for k, v in fs.publicity_months.items()},
                  "repaired_stops_after_min": fs.repaired_stops_after_min,
                  "default_lookback_months": fs.default_lookback_months,
                  "missing": ev.declaration_.missing},
        "selection": {"min_iv": card.min_iv, "max_psi": getattr(card, "max_psi", None), "C": card.C,
                      "dropped_for_stability": {n: stability.get(n) for n in getattr(card, "dropped_for_stability_", [])},
                      "dropped_for_sign": list(getattr(card, "dropped_for_sign_", [])),
                      "min_points_spread": getattr(card, "min_points_spread", None),
                      "dropped_for_spread": dict(getattr(card, "dropped_for_spread_", {})),
                      "integer_points": bool(getattr(card, "integer_points", False)),
                      "snapped_thresholds": bool(getattr(card, "snap", False))},
        "validation": validation or {},
    }


def _indicator(ev, name: str, cat, units: dict, stability: dict) -> dict:
    """One scored indicator as published: what it is, where its records come from, its bins and
    whole points."""
    ind = cat[name]
    published = ev.published_bins(name)
    bins = _merge_equal(published["bins"])
    points = [b["points"] for b in bins] + [published["missing_points"]]
    # a linked indicator's records come from the linked subject's source (a firm's
    # representative's loans are the banks' records)
    origin = cat[ind.linked] if ind.agg == "linked" else ind
    src = config.sources()[origin.source] if origin.source else None
    return {
        "name": name, "zh": ind.zh, "description": ind.description.model_dump(), "dimension": ev.dimension_of_[name],
        "source": origin.source, "department": src.department.model_dump() if src else None,
        "linked": ind.agg == "linked", "window_months": origin.window_months, "direction": ind.direction, "mutable": ind.mutable,
        "scoring": published["kind"] if published["kind"] == "declared" else "learnt",
        "type": "category" if published["type"] == "category" else "numeric",
        "unit": None if published["type"] == "category" else units.get(name) or unit_of(ind, cat),
        "bins": bins, "missing_points": published["missing_points"],
        "max_points": _points(max(points)), "min_points": _points(min(points)),
        "points_spread": _points(max(points) - min(points)),
        "stability_psi": stability.get(name),
    }


def _direct_tiers(ev, fs) -> list[dict]:
    """The direct-tier rules as published: the tier each forces, on what and for how long."""
    from chengxin.lists import lists_config

    rules = {r.name: r for r in lists_config().rules}
    direct = []
    for t in ev.direct_tiers_:
        text = t.text or rules[t.list_rule].text
        holds = ({"zh": "名单记录有效期间（移出、修复或期满即止）", "en": "while the list entry is in force (until removed, repaired or expired)"}
                 if t.list_rule else {"zh": f"最近一条违约记录后 {fs.default_lookback_months} 个月内",
                                      "en": f"for {fs.default_lookback_months} months after the last default record"})
        direct.append({"name": t.name, "tier": t.tier, "text": text.model_dump(), "basis": t.basis.model_dump(),
                       "list_rule": t.list_rule, "in_default": t.in_default, "holds": holds})
    return direct


def _sql_number(x: float) -> str:
    return str(x) if isinstance(x, int) else repr(float(x))


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
    return (f"CASE WHEN {col} IS NULL THEN {_sql_number(item['missing_points'])} {whens} "
            f"ELSE {_sql_number(item['bins'][-1]['points'])} END")


def criteria_sql(criteria: dict) -> str:
    """One SQL expression giving the total points of a row with one column per indicator, in
    portable SQL (standard CASE, IS NULL, CAST; run on DuckDB and SQLite by the tests): a
    missing indicator is NULL."""
    return "\n+ ".join(f"({indicator_sql(i)})" for i in criteria["indicators"])
