"""The lender's report's charts, drawn with matplotlib as SVG (the PDF and the HTML embed the
same drawing, its letters as outlines): the same charts as the dashboard's look-up, from the same
definitions (`chengxin.charts.waterfall_bars`, `history_points`: bars, points, colours, ranges),
in the report's language: Chinese with the CJK font the reports use (reports.yaml `fonts`),
English words only on a machine that has none."""

from __future__ import annotations

import io

from chengxin import charts, i18n



def chart_fonts() -> list[str]:
    """The configured CJK font families matplotlib finds here (reports.yaml `fonts`), in order."""
    from matplotlib import font_manager

    from chengxin.reports.settings import reports_config

    have = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in reports_config().fonts if f in have]


def chart_language() -> str:
    """zh where a CJK font is installed, else en (a chart never draws empty boxes)."""
    return "zh" if chart_fonts() else "en"


def lender_charts(result: dict, order: list[str]) -> dict[str, str]:
    """The lender's charts as SVG text: the public evaluation's points short of each indicator's
    best (the look-up's waterfall) and the grade history (`order`: the master scale's grades)."""
    from chengxin import readmodel

    out, lang = {}, chart_language()
    if result.get("contributions"):
        table = readmodel.contribution_table(result["contributions"]["scorecard"], result.get("subject_type", "enterprise"), lang)
        out["chart_contributions"] = waterfall_svg(table, i18n.t("waterfall", lang))
    h = result.get("history")
    if h is not None and len(h):
        out["chart_history"] = history_svg(h, order, i18n.t("history", lang))
    return out


def waterfall_svg(table, title: str, digits: int = 0, worse: str = "down") -> str:
    plt = _pyplot()
    bars, span = charts.waterfall_bars(table, digits, worse)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(bars) + 1.2))
    ax.barh(bars["label"], bars["end"] - bars["start"], left=bars["start"], color=bars["colour"])
    for k, (start, end, text) in enumerate(zip(bars["start"], bars["end"], bars["text"])):
        ax.annotate(text, (max(start, end), k), fontsize=6, xytext=(3, 0), textcoords="offset points", va="center")
    ax.invert_yaxis()
    if span is not None:
        ax.set_xlim(*span)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def history_svg(frame, order: list[str], title: str) -> str:
    plt = _pyplot()
    import matplotlib.dates as mdates

    points, axis, span = charts.history_points(frame, order)
    fig, ax = plt.subplots(figsize=(7, 2.2))
    ax.plot(points["as_of"], points["level"], marker="o")
    ax.set_xlim(*span)
    ax.xaxis.set_major_locator(mdates.MonthLocator(interval=1 if len(points) <= 12 else 3))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(charts.HISTORY_TICKS))
    for x, y, g in zip(points["as_of"], points["level"], points["grade"]):
        ax.annotate(g, (x, y), fontsize=7, xytext=(0, 4), textcoords="offset points", ha="center")
    ax.set_yticks(range(len(axis)), axis)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["font.family"] = [*chart_fonts(), "DejaVu Sans"]
    return plt


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()
