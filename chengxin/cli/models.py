"""The models' commands: `train`, `promote`, `score` and `explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from chengxin.terminal import console

from chengxin import warehouse
from chengxin.cli.common import as_of_day
from chengxin.terminal import Bar, Engine, JsonFlag, Subject, emit_json, for_each_subject, report, subject_types
from chengxin.workspace import UserError


def train(
    subject: Subject = None,
    data: Annotated[Optional[Path], typer.Option(help="Bring your own book: a CSV or Parquet file with a 0/1 target.")] = None,
    target: Annotated[Optional[str], typer.Option(help="With --data: the 0/1 target column.")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id", help="With --data: an id column to leave out of the model.")] = None,
    name: Annotated[Optional[str], typer.Option(help="With --data: the registered model name.")] = None,
    as_json: JsonFlag = False,
):
    """Train the scorecard and the boosted model (on the warehouse, or on --data), validate, track in MLflow; the better one becomes champion, the other challenger."""
    if data is not None:
        from chengxin.pipelines import byo

        if not target or not name:
            raise UserError("with --data give --target COLUMN and --name MODEL_NAME")
        result = byo.train_book(data, target, name, id_col)
        lines = [f"{name}: {result['rows']:,} rows, champion {result['champion']}"] + [
            f"  {k} v{m['version']}: test AUC {m['auc']:.3f}, KS {m['ks']:.3f}, Brier {m['brier']:.4f}"
            for k, m in result["models"].items()]
        report(result, as_json, "\n".join(lines))
        return
    from chengxin.pipelines import train as stage

    def describe(result: dict) -> str:
        lines = [f"{result['subject']}: run {result['run_id']}, champion {result['aliases']['champion']}"]
        for kind, m in result["models"].items():
            lines.append(f"  {kind} v{m['version']}: out-of-time AUC {m['auc']:.3f}, KS {m['ks']:.3f}, "
                         f"Brier {m['brier']:.4f}, PSI {m['psi_dev_oot']:.3f}, grades within interval "
                         f"{m['grades_within_interval']:.0%}")
        card = result["models"]["scorecard"]["chosen"]
        lines.append(f"  scorecard C {card['C']:g} (cross-validated); dropped as unstable: "
                     f"{', '.join(card['dropped_for_stability']) or 'none'}")
        return "\n".join(lines + [f"  note: {note}" for note in result["notes"]])

    with Bar() as bar:
        for_each_subject(subject, lambda s: stage.train(s, progress=bar), describe, as_json)


def promote(subject: Subject = None, as_json: JsonFlag = False):
    """Swap the roles: make the challenger (whichever model holds it) champion only if its out-of-time AUC is better and its calibration holds."""
    from chengxin.pipelines import train as stage

    for_each_subject(subject, stage.promote,
                     lambda r: f"{r['subject']}: " + ("promoted" if r["promoted"] else "kept the champion")
                               + f" (v{r['champion']}): " + "; ".join(r["reasons"]), as_json)


def score(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Rate the warehouse's subjects as of this date, YYYY-MM-DD, or 'latest'.")] = None,
    subject: Subject = None,
    data: Annotated[Optional[Path], typer.Option(help="Score your own file instead (CSV or Parquet).")] = None,
    model: Annotated[Optional[str], typer.Option(help="With --data: NAME or NAME@alias (default @champion).")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id", help="With --data: the id column to carry into the output.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the ratings here (.csv or .parquet).")] = None,
    engine: Engine = "duckdb",
    as_json: JsonFlag = False,
):
    """Rate subjects: PD and grade from the champion, points and public tier from the scorecard, reasons."""
    if data is not None:
        from chengxin.pipelines import byo

        if not model or not out:
            raise UserError("with --data give --model NAME[@alias] and --out FILE")
        result = byo.score_book(data, model, out, id_col)
        report(result, as_json, f"{result['rows']:,} rows scored with {model} -> {result['out']}")
        return
    if not as_of:
        raise UserError("give --as-of YYYY-MM-DD (or 'latest'), or --data FILE --model NAME")
    from chengxin.pipelines import score as stage

    day = as_of_day(as_of)

    def write(results: list[dict]) -> str | None:  # every subject type's ratings in the one file asked for
        if out:
            stage.write_ratings(results, out)
            return f"{sum(r['rated'] for r in results):,} ratings -> {out}"
        return None

    for_each_subject(subject, lambda s: stage.score(day, s, engine_name=engine),
                     lambda r: f"{r['rated']:,} {r['subject']} subjects rated as of {r['as_of']} on {engine} (champion "
                               f"v{r['model_version']}, scorecard v{r['scorecard_version']}): grades {r['grades']}, "
                               f"tiers {r['tiers']} -> {r['stored']}", as_json, finish=write)


def explain(
    subject_id: Annotated[Optional[str], typer.Argument(help="Unified social credit code or resident ID number.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="YYYY-MM-DD or 'latest' (default: the latest rated date).")] = None,
    purpose: Annotated[Optional[str], typer.Option(help="Why you look this up (required for individuals; audited).")] = None,
    all_subjects: Annotated[bool, typer.Option("--all", help="Store the contributions and repair paths of every subject instead (what the faces read).")] = False,
    subject: Annotated[Optional[str], typer.Option(help="With --all: enterprise or individual (default: every subject type).")] = None,
    as_json: JsonFlag = False,
):
    """One subject's grade, PD, score, reasons, per-indicator contributions and credit-repair path."""
    from chengxin.pipelines import explain as stage

    day = as_of_day(as_of) if as_of else None
    if all_subjects:
        day = day or warehouse.latest_as_of()
        results = [stage.explain_all(s, day) for s in subject_types(subject)]
        report({"as_of": str(day), "subjects": results}, as_json, "; ".join(
            f"{r['subject']}: {r['subjects']:,} explained ({r['treeshap']:,} by TreeSHAP, {r['reused']:,} reused) "
            f"in {r['seconds']} s -> {r['out']}" for r in results))
        return
    if not subject_id:
        raise UserError("give a SUBJECT_ID, or --all to explain every subject")
    result = stage.explain(subject_id, day, purpose=purpose)
    if as_json:
        emit_json(result)
        return
    con = console()
    con.print(f"[bold]{result['subject_id']}[/] ({result['subject_type']}) as of {result['as_of']}: grade "
              f"[bold]{result['grade']}[/], public tier {result['tier']}, PD {result['pd']:.2%}, score {result['score']}")
    for en, zh in zip(result["reasons"], result["reasons_zh"]):
        con.print(f"  - {en} / {zh}")
    if result.get("repair_note"):
        con.print(f"Repair: {result['repair_note']}")
    for step in result["repair_path"]:
        after = f" (from {step['from']})" if step.get("from") else ""
        con.print(f"  -> {step['text_en']} / {step['text_zh']}: grade {step['grade']} (PD {step['pd']:.2%}){after}")
