"""Plotly figures for the dashboard, built from the frames the read model (`chengxin.readmodel`) returns."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from chengxin import i18n

# each public tier's colour, by the name Streamlit's badges know, and that colour for charts
TIER_BADGES = {"A": "green", "B": "blue", "C": "orange", "D": "red"}
BADGE_HEX = {"green": "#2e7d32", "blue": "#1976d2", "orange": "#f9a825", "red": "#c62828"}
TIER_COLOURS = {tier: BADGE_HEX[name] for tier, name in TIER_BADGES.items()}
# the PSI bands of `models.validation.PSI_BANDS`, in the tiers' colours
PSI_COLOURS = {"stable": TIER_COLOURS["A"], "watch": TIER_COLOURS["C"], "shifted": TIER_COLOURS["D"]}
FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      font=dict(family=FONT), legend=dict(orientation="h", y=-0.15))
    return fig


def grade_colours(grades: list[str]) -> list[str]:
    palette = ["#1b5e20", "#2e7d32", "#43a047", "#7cb342", "#c0ca33", "#fdd835", "#fb8c00", "#f4511e", "#e53935", "#8e0000"]
    return [palette[min(k, len(palette) - 1)] for k in range(len(grades))]


def distribution(frame: pd.DataFrame, column: str, lang: str = "zh", title: str | None = None) -> go.Figure:
    labels = frame[column].astype(str).tolist()
    colours = [TIER_COLOURS.get(x, "#888") for x in labels] if column == "tier" else grade_colours(labels)
    text = [f"{i18n.number(c, lang)}<br>{i18n.pct(s, lang, 1)}" for c, s in zip(frame["count"], frame["share"])]
    fig = go.Figure(go.Bar(x=labels, y=frame["count"], marker_color=colours, text=text, textposition="outside",
                           hovertemplate="%{x}: %{y:,}<extra></extra>"))
    fig.update_yaxes(title=i18n.t("subjects", lang), tickformat=",")
    return _layout(fig, title)


def tier_shares(frame: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    """Horizontal stacked bars of tier shares per county or industry (long frame with label)."""
    return _stacked_shares(frame, "tier", {t: t for t in ("A", "B", "C", "D")}, "count", title)


def class_shares(frame: pd.DataFrame, words: dict[str, dict[str, str]], lang: str = "zh",
                 title: str | None = None) -> go.Figure:
    """Horizontal stacked bars of risk-class shares per county or industry (`readmodel.class_distribution`:
    long frame with label, class, firms, share); `words`: each class's words, in order."""
    return _stacked_shares(frame, "class", {k: f"{k} {w[lang]}" for k, w in words.items()}, "firms", title)


def _stacked_shares(frame: pd.DataFrame, column: str, names: dict[str, str], count: str, title: str | None) -> go.Figure:
    """A bar per label, stacked by `column`'s values in the order of `names` (value: its name in
    the legend), each value's share on the x axis and its count on hover."""
    fig = go.Figure()
    for value, name in names.items():
        part = frame[frame[column] == value]
        fig.add_bar(y=part["label"], x=part["share"], name=name, orientation="h", marker_color=TIER_COLOURS.get(value, "#888"),
                    customdata=part[count], hovertemplate="%{y} · " + name + ": %{x:.1%} (%{customdata:,})<extra></extra>")
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    n = frame["label"].nunique() if len(frame) else 1
    return _layout(fig, title, height=max(260, 28 * n + 80))


def hit_rates(frame: pd.DataFrame, words: dict[str, dict[str, str]], lang: str = "zh",
              title: str | None = None) -> go.Figure:
    """Each risk class's hit rate month by month (`readmodel.hit_rates`), a line per class."""
    fig = go.Figure()
    for k, w in words.items():
        part = frame[frame["class"] == k].sort_values("month")
        name = f"{k} {w[lang]}"
        fig.add_scatter(x=part["month"], y=part["hit_rate"], name=name, mode="lines+markers",
                        line=dict(color=TIER_COLOURS.get(k, "#888")), customdata=part[["problems_found", "received"]],
                        hovertemplate=name + " · %{x}: %{y:.1%} (%{customdata[0]:,} / %{customdata[1]:,})<extra></extra>")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title=i18n.t("hit_rate", lang))
    return _layout(fig, title)


# --- the charts both faces draw: the dashboard here with plotly, the reports with matplotlib
# (`chengxin.reports.charts`). What they show (bars, points, colours, words, axis ranges) is
# computed once, below; a renderer only draws it. ---------------------------------------------
WATERFALL_COLOURS = {"worse": "#c62828", "better": "#2e7d32", "total": "#1976d2"}
LABEL_CHARACTERS = 28  # a bar's label beyond this is cut (the whole text is in its hover): long labels squeeze the bars


def waterfall_bars(table: pd.DataFrame, digits: int = 0, worse: str = "down") -> tuple[pd.DataFrame, tuple[float, float] | None]:
    """The bars of a contributions waterfall (`readmodel.contribution_table`), top to bottom:
    label (cut to `LABEL_CHARACTERS`), full label, start, end, colour, text; and the value axis'
    range, zoomed in on the contributions (the base bar is then cut, as usual for waterfalls), or
    None for the whole axis. `worse`: which way a bar makes the subject's standing worse, red
    (`down` for points, where less is worse; `up` for a PD model's log-odds, where more is
    worse); the other way is green, the base and the total blue."""
    if worse not in ("up", "down"):
        raise ValueError(f"worse is 'up' or 'down', not {worse!r}")
    rows, running = [], 0.0
    for label, value, kind in zip(table["label"], table["value"], table["kind"]):
        if kind in ("base", "total"):
            start, end, colour, text = 0.0, float(value), WATERFALL_COLOURS["total"], f"{value:,.{digits}f}"
            running = float(value)
        else:
            start, end = running, running + float(value)
            rising = value >= 0
            colour = WATERFALL_COLOURS["worse" if rising == (worse == "up") else "better"]
            text = f"{value:+,.{digits}f}"
            running = end
        short = label if len(label) <= LABEL_CHARACTERS else label[:LABEL_CHARACTERS - 1] + "…"
        rows.append((short, label, start, end, colour, text))
    bars = pd.DataFrame(rows, columns=["label", "full_label", "start", "end", "colour", "text"])
    levels = [r[3] for r in rows]  # where each bar leaves the running total
    lo, hi = (min(levels), max(levels)) if levels else (0.0, 0.0)
    pad = max(1e-9, hi - lo) * 0.25
    zoom = lo > 0 and lo - pad > 0
    return bars, ((lo - pad, hi + pad) if zoom else None)


def history_points(frame: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, list[str], tuple[pd.Timestamp, pd.Timestamp]]:
    """The points of a grade history (`readmodel.lookup`'s history): as_of, grade, level (the
    grade's place on the axis, the best highest) and pd; the axis' grades from bottom to top; and
    the time axis' span, whole months around the points (a single rating is not a millisecond)."""
    axis = list(reversed(order))
    points = pd.DataFrame({"as_of": pd.to_datetime(frame["as_of"]), "grade": frame["grade"].astype(str),
                           "level": [axis.index(g) if g in axis else -1 for g in frame["grade"].astype(str)],
                           "pd": frame["pd"] if "pd" in frame else float("nan")})
    first, last = points["as_of"].min(), points["as_of"].max()
    span = (first - pd.DateOffset(months=1), last + pd.DateOffset(months=1))
    return points, axis, span


HISTORY_TICKS = "%Y-%m"  # the time axis of a grade history, in months


def waterfall(table: pd.DataFrame, lang: str = "zh", title: str | None = None, digits: int = 0,
              worse: str = "down") -> go.Figure:
    bars, span = waterfall_bars(table, digits, worse)
    fig = go.Figure(go.Bar(orientation="h", y=bars["label"], x=bars["end"] - bars["start"], base=bars["start"],
                           marker_color=bars["colour"], text=bars["text"], textposition="outside", cliponaxis=False,
                           customdata=bars["full_label"], hovertemplate="%{customdata}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    if span is not None:
        fig.update_xaxes(range=list(span))
    return _layout(fig, title, height=max(320, 30 * len(table) + 80))


def history(frame: pd.DataFrame, order: list[str], lang: str = "zh", title: str | None = None) -> go.Figure:
    points, axis, span = history_points(frame, order)
    fig = go.Figure(go.Scatter(x=points["as_of"], y=points["grade"], mode="lines+markers+text",
                               text=points["grade"], textposition="top center",
                               customdata=points["pd"], hovertemplate="%{x|%Y-%m-%d}: %{y} (PD %{customdata:.2%})<extra></extra>"))
    fig.update_yaxes(categoryorder="array", categoryarray=axis, type="category")
    fig.update_xaxes(type="date", range=list(span), tickformat=HISTORY_TICKS, dtick="M1" if len(points) <= 12 else "M3")
    return _layout(fig, title, height=280)


def heatmap(matrix: pd.DataFrame, lang: str = "zh", title: str | None = None, fmt: str = ",d", colorscale: str = "Blues",
            zmin=None, zmax=None, height: int | None = None, counts: pd.DataFrame | None = None) -> go.Figure:
    """A heat map with each cell's value written in it; `counts` (same rows and columns): how many
    subjects each cell's rate is of, written beside it (a rate without its count misleads)."""
    z = matrix.to_numpy(dtype=float)
    text = [[("" if pd.isna(v) else format(int(v) if fmt == ",d" else v, fmt)) for v in row] for row in z]
    if counts is not None:
        n = counts.reindex(index=matrix.index, columns=matrix.columns).to_numpy(dtype=float)
        text = [[t if not t or pd.isna(c) else f"{t}<br>n={int(c):,}" for t, c in zip(row, crow)] for row, crow in zip(text, n)]
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index], text=text,
                               texttemplate="%{text}", colorscale=colorscale, zmin=zmin, zmax=zmax,
                               hovertemplate="%{y} · %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=height or max(320, 26 * len(matrix) + 100))


def calibration(table: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=table["grade"], y=table["observed_rate"], name="实际违约率" if lang == "zh" else "observed default rate",
                marker_color="#90caf9",
                error_y=dict(type="data", symmetric=False, array=table["jeffreys_high"] - table["observed_rate"],
                             arrayminus=table["observed_rate"] - table["jeffreys_low"]))
    fig.add_scatter(x=table["grade"], y=table["predicted_pd"], mode="markers+lines", name="预测违约概率" if lang == "zh" else "predicted PD",
                    marker=dict(color="#c62828", size=9))
    fig.update_yaxes(type="log", tickformat=".1%", title=i18n.t("pd", lang))
    return _layout(fig, title)


def psi(frame: pd.DataFrame, lang: str = "zh", title: str | None = None, top: int = 15) -> go.Figure:
    f = frame.sort_values("psi", ascending=False).head(top).iloc[::-1]
    from chengxin.models.validation import PSI_BANDS

    colours = f["status"].map(PSI_COLOURS).fillna("#888")
    labels = [m if len(m) <= LABEL_CHARACTERS else m[:LABEL_CHARACTERS - 1] + "…" for m in f["measure"].astype(str)]
    fig = go.Figure(go.Bar(y=labels, x=f["psi"], orientation="h", marker_color=colours, customdata=f["measure"],
                           hovertemplate="%{customdata}: %{x:.3f}<extra></extra>"))
    for band, x in PSI_BANDS:  # where each band starts
        fig.add_vline(x=x, line_dash="dash", line_color=PSI_COLOURS[band])
    return _layout(fig, title, height=max(300, 24 * len(f) + 80))


MODEL_COLOURS = {"champion": "#1976d2", "challenger": "#fb8c00"}  # by role (alias)


def roc(curves: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    """ROC of each model in a long frame from `readmodel.model_curves`."""
    fig = go.Figure()
    for (alias, model), c in curves.groupby(["alias", "model"], sort=False):
        fig.add_scatter(x=c["false_positive_rate"], y=c["true_positive_rate"], mode="lines",
                        name=f"{model} · AUC {c['auc'].iloc[0]:.3f}", line=dict(color=MODEL_COLOURS.get(alias)),
                        customdata=c[["share", "pd_cutoff"]],
                        hovertemplate="FPR %{x:.1%} · TPR %{y:.1%}<br>PD ≥ %{customdata[1]:.2%}<extra></extra>")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#999"), showlegend=False,
                    hoverinfo="skip")
    fig.update_xaxes(title=i18n.t("false_positive_rate", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title=i18n.t("true_positive_rate", lang), tickformat=".0%", range=[0, 1])
    return _curve_layout(fig, title)


def _curve_layout(fig: go.Figure, title: str | None) -> go.Figure:
    """Room under the plot for the axis title, then the legend."""
    _layout(fig, title, height=460)
    fig.update_layout(margin=dict(b=40), legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0))
    return fig


def ks(curves: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    """Share of defaults caught and of non-defaults flagged against the share of subjects
    flagged (highest PD first), with the KS gap marked, per model."""
    fig = go.Figure()
    for (alias, model), c in curves.groupby(["alias", "model"], sort=False):
        colour = MODEL_COLOURS.get(alias)
        fig.add_scatter(x=c["share"], y=c["true_positive_rate"], mode="lines", line=dict(color=colour),
                        name=f"{model} · {i18n.t('defaults_caught', lang)}",
                        hovertemplate="%{x:.1%} → %{y:.1%}<extra></extra>")
        fig.add_scatter(x=c["share"], y=c["false_positive_rate"], mode="lines", line=dict(color=colour, dash="dash"),
                        name=f"{model} · {i18n.t('non_defaults_flagged', lang)}",
                        hovertemplate="%{x:.1%} → %{y:.1%}<extra></extra>")
        k = c["gap"].idxmax()
        fig.add_scatter(x=[c.at[k, "share"]] * 2, y=[c.at[k, "false_positive_rate"], c.at[k, "true_positive_rate"]],
                        mode="lines+markers", line=dict(color=colour, width=3), showlegend=False,
                        hovertemplate=f"KS {c['ks'].iloc[0]:.3f}<extra></extra>")
    fig.update_xaxes(title=i18n.t("share_flagged", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return _curve_layout(fig, title)
