"""`flowgen edit` and `flowgen eval-edits`: the edit stage on the configured engine, from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from flowdata.splits import HANDWRITTEN
from flowgen.catalog import load_catalog
from flowgen.catalog.store import CORE
from flowgen.commandline import settings_of
from flowgen.console import err, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.edits import EditCase, EditPrediction, evaluate_edits, load_edit_cases
from flowgen.evaluation.records import Cost, write_jsonl
from flowgen.metrics import Variant
from flowgen.workflow import parse_workflow
from generation.cli import StyleOption, _style
from generation.engines import Engine
from generation.pipeline import InProcess, Pipeline
from generation.session import with_engine
from retrieval.suggest import Retriever

from .stage import EditResult, EditStage, check_instruction, check_workflow

EDIT_SET = HANDWRITTEN / "edits.jsonl"


TenantOption = Annotated[str, typer.Option(help="Tenant catalog.")]


def edit(ctx: typer.Context, file: Path, instruction: str, tenant: TenantOption = CORE,
         style: StyleOption = None) -> None:  # fmt: skip
    """Edit a workflow by a follow-up instruction: the edited JSON on stdout; the diff, or why it stays, on stderr."""
    settings = settings_of(ctx)
    chosen = _style(style, settings)
    try:
        workflow = parse_workflow(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise FlowGenError(f"{file}: {error.strerror}") from error
    check_instruction(instruction)
    check_workflow(workflow, load_catalog(tenant, settings.catalog_dir))  # before the engine's start, not after

    async def show(kind: str, data: dict[str, Any]) -> None:
        err.print(f"[bold]{kind}[/bold] {json.dumps(data)}", highlight=False)

    async def job(engine: Engine, retriever: Retriever) -> EditResult:
        stage = EditStage(Pipeline(engine, InProcess(retriever), chosen), engine.editor)
        return await stage.run(workflow, instruction, tenant, show)

    result = with_engine(settings, job)
    print(json.dumps(result.workflow.to_json(), indent=2))
    err.print(f"[bold]{result.outcome}[/bold]")
    for line in result.diff + result.notes:
        err.print(line, highlight=False)
    for line in result.failures + [str(v) for v in result.report.violations]:
        err.print(f"[yellow]{line}[/yellow]", highlight=False)
    err.print(f"{result.calls} model calls, {result.tokens} tokens, timings {json.dumps(result.timings)}")


def eval_edits(
    ctx: typer.Context,
    cases: Annotated[Path, typer.Option(help="Edit cases JSONL.")] = EDIT_SET,
    out: Annotated[Path | None, typer.Option(help="Folder for predictions.jsonl and report.json.")] = None,
    limit: Annotated[int | None, typer.Option(help="First N cases only.")] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Also generate each edited workflow from scratch, to compare costs.")
    ] = False,
    style: StyleOption = None,
    variant: Annotated[Variant, typer.Option(help="FlowSim variant.")] = "flowgen",
) -> None:
    """Run the edit stage on the hand-written edit set and score it: FlowSim against the expected workflow,
    untouched steps kept, changes beyond the instruction, the answers, model calls and tokens."""
    settings = settings_of(ctx)
    chosen = _style(style, settings)
    selected = load_edit_cases(cases)[:limit]
    folder = out or settings.data_dir / "eval" / "edits"

    async def job(engine: Engine, retriever: Retriever) -> list[EditPrediction]:
        stage = EditStage(Pipeline(engine, InProcess(retriever), chosen), engine.editor)
        predictions = []
        with progress() as bar:
            task = bar.add_task("editing", total=len(selected))
            for case in selected:  # one at a time: the costs are per edit
                predictions.append(await _predict(stage, case, regenerate))
                bar.advance(task)
        return predictions

    predictions = with_engine(settings, job)
    write_jsonl(folder / "predictions.jsonl", predictions)  # type: ignore[arg-type]
    report = evaluate_edits(selected, {p.id: p for p in predictions},
                            lambda t: load_catalog(t, settings.catalog_dir), variant)  # fmt: skip
    (folder / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    s = report.summary
    cost = ""
    if s.edit_calls_mean is not None:
        cost = f"  edit {s.edit_calls_mean:.1f} calls / {s.edit_tokens_mean:.0f} tokens"
    if s.regenerate_calls_mean is not None:
        cost += f"  regenerate {s.regenerate_calls_mean:.1f} calls / {s.regenerate_tokens_mean:.0f} tokens"
    print(
        f"cases {s.cases}  outline {s.outline:.1f}  outline+inputs {s.inputs:.1f}  untouched kept {s.kept_pct:.1f}%  "
        f"beyond {s.beyond_mean:.2f} steps ({s.cases_beyond} cases)  answers {s.answers_right}/{s.answer_cases}  "
        f"refused {s.refused}  failed {s.failed}  structure errors {s.structure_errors}  "
        f"catalog errors {s.catalog_errors}{cost}"
    )
    err.print(f"wrote {folder / 'predictions.jsonl'}, {folder / 'report.json'}")


async def _predict(stage: EditStage, case: EditCase, regenerate: bool) -> EditPrediction:
    try:
        result = await stage.run(case.workflow, case.instruction, case.tenant)
        cost = Cost(tokens=result.tokens, calls=result.calls, seconds=result.timings)
        failures = "; ".join(result.failures) or None
        prediction = EditPrediction(
            id=case.id, outcome=result.outcome, output=result.workflow, error=failures, cost=cost
        )
    except FlowGenError as error:
        prediction = EditPrediction(id=case.id, outcome="failed", error=str(error))
    if regenerate:
        clock = time.perf_counter()
        try:
            scratch = await stage.pipeline.run(f"{case.requirement} {case.instruction}", case.tenant)
            prediction.regenerate = Cost(tokens=scratch.tokens, calls=scratch.calls, seconds=scratch.timings)
        except FlowGenError as error:
            err.print(f"[yellow]{case.id}: regenerating failed after {time.perf_counter() - clock:.0f}s: {error}")
    return prediction
