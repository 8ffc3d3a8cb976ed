"""The lender's report's charts, drawn with matplotlib as SVG text: the scorecard's
contributions and the grade history. The PDF and the HTML embed the same text."""

from __future__ import annotations

import io

import pandas as pd


def lender_charts(result: dict) -> dict[str, str]:
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
