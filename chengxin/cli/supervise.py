"""`supervise classify|plan|backtest` (risk-classified supervision) and `city inspect` (the
synthetic city's inspectors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chengxin.cli.common import as_of_day
from chengxin.terminal import Bar, JsonFlag, console, emit_json, report, table

supervise_app = typer.Typer(no_args_is_help=True, help="Risk classes, random inspections drawn by class (双随机), and the backtest of both.")
city_app = typer.Typer(no_args_is_help=True, help="The synthetic city: its inspectors.")

Share = Annotated[Optional[float], typer.Option(help="A yearly share of live firms (0.05 = 5 %); a month draws a twelfth of it.")]
Budget = Annotated[Optional[int], typer.Option(help="Inspections this month (instead of --share).")]
Seed = Annotated[int, typer.Option(min=0, help="The published seed: the same seed and input list give the same plan.")]


@supervise_app.command("classify")
def classify(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, or 'latest' (the last month end with monthly uploads).")],
    as_json: JsonFlag = False,
):
    """Every live enterprise's risk class A–D with its reasons, stored for the roles with the supervision right (never published)."""
    from chengxin.pipelines import supervise

    day = as_of_day(as_of)
    _, result = supervise.classify(day)
    report(result, as_json, f"{result['firms']:,} live firms classified on {result['as_of']}: {result['classes']}")


@supervise_app.command("plan")
def plan(
    month: Annotated[str, typer.Option(help="The month to inspect, YYYY-MM, or `next` (after the last month end with uploads).")],
    seed: Seed,
    out: Annotated[Path, typer.Option(help="Write the plan here (CSV): what `chengxin city inspect --plan` reads.")],
    share: Share = None,
    budget: Budget = None,
    department: Annotated[Optional[str], typer.Option(help="The inspecting department (departments.yaml key or name); "
                                                           "default: a joint inspection led by supervision.yaml's lead.")] = None,
    strategy: Annotated[str, typer.Option(help="classified (by risk class) or uniform (one stratum).")] = "classified",
    as_json: JsonFlag = False,
):
    """The month's random inspections: firms drawn class by class at the declared ratios, two inspectors each from the roster."""
    from chengxin.supervision import draw

    result = draw.plan_month(month, seed=seed, share=share, budget=budget, department=department, strategy=strategy, out=out)
    if as_json:
        emit_json(result)
        return
    rows = [{"class": k, **v} for k, v in result["by_stratum"].items()]
    console().print(table(f"Plan {result['plan_no']} ({result['department']}, {result['month']})", rows))
    console().print(f"{result['inspections']} inspections of {result['live_firms']:,} live firms; seed {result['seed']}; "
                    f"input digest {result['input_digest']}; classes of {result['classes_as_of']} -> {result['out']}")


@supervise_app.command("backtest")
def backtest(
    city: Annotated[Path, typer.Option(help="A generated city (`chengxin generate --out`).")],
    months: Annotated[int, typer.Option(min=1, max=36, help="Months to run, ending with the city's last.")],
    seed: Seed,
    share: Share = None,
    budget: Budget = None,
    work: Annotated[Optional[Path], typer.Option(help="Workspace to build (default: a new folder under $CHENGXIN_HOME/backtests).")] = None,
    as_json: JsonFlag = False,
):
    """Classify → plan → inspect → ingest, month by month, for the classified, uniform, oracle and rules strategies on one budget."""
    from chengxin.flows import backtest as run

    with Bar(quiet=as_json) as bar:
        result = run.backtest(city, months, seed=seed, share=share, budget=budget, work=work, progress=bar)
    if as_json:
        emit_json(result)
        return
    console().print(table("Strategies", run.strategy_rows(result)))
    console().print(table("Hit rate of `classified` by month", result["by_month"]))
    console().print(run.headline(result))


@city_app.command("inspect")
def inspect(
    city: Annotated[Path, typer.Option(help="The generated city whose hidden violations the inspectors find.")],
    plan: Annotated[Path, typer.Option(help="A plan (`chengxin supervise plan --out`).")],
    out: Annotated[Path, typer.Option(help="Folder to write the results into (OUT/inspection/…csv, ready for `chengxin ingest`).")],
    as_json: JsonFlag = False,
):
    """Play the inspectors of a plan on the city: the result file each department would upload (source `inspection`)."""
    from chengxin.city import violations

    result = violations.play(city, plan, out)
    report(result, as_json, f"{result['inspections']} inspections: {result['problems_found']} found problems, "
                            f"{result['unreachable']} unreachable -> {result['out']}")
