"""`flowgen generate` and `flowgen predict`: the pipeline on the configured engine, from the command line."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from flowdata.splits import load_split
from flowgen.catalog.store import CORE
from flowgen.commandline import settings_of
from flowgen.console import err, progress
from flowgen.settings import Settings
from retrieval.suggest import Retriever

from .engines import Engine
from .model import model_identity
from .pipeline import InProcess, Pipeline, Result
from .predict import load_done, predict_all, source_of
from .prompts import Style
from .session import with_engine

StyleOption = Annotated[str | None, typer.Option(help="Prompt style: tuned, compact or paper (default: the model's).")]


def generate(ctx: typer.Context, requirement: str, tenant: Annotated[str, typer.Option(help="Tenant catalog.")] = CORE,
             style: StyleOption = None) -> None:  # fmt: skip
    """Generate a workflow: prints the outline first, then each step's inputs, then the final JSON."""
    settings = settings_of(ctx)
    chosen = _style(style, settings)

    async def show(kind: str, data: dict[str, Any]) -> None:
        err.print(f"[bold]{kind}[/bold] {json.dumps(data)}", highlight=False)

    async def job(engine: Engine, retriever: Retriever) -> Result:
        return await Pipeline(engine, InProcess(retriever), chosen).run(requirement, tenant, show)

    result = with_engine(settings, job)
    print(json.dumps(result.answer.model_dump(mode="json", exclude_none=True), indent=2))
    for line in result.failures + [str(v) for v in (result.report.violations if result.report else [])]:
        err.print(f"[yellow]{line}[/yellow]", highlight=False)
    err.print(f"{result.calls} model calls, {result.tokens} tokens, timings {json.dumps(result.timings)}")


def predict(
    ctx: typer.Context,
    split: Annotated[str, typer.Option(help="test, ood, ood_sample or dev")] = "test",
    out: Annotated[
        Path | None, typer.Option(help="Predictions JSONL (default <data_dir>/predictions/<split>.jsonl).")
    ] = None,  # fmt: skip
    limit: Annotated[int | None, typer.Option(help="First N examples only.")] = None,
    perfect_rag: Annotated[
        bool, typer.Option("--perfect-rag", help="Add the expected steps to the suggestions.")
    ] = False,
    style: StyleOption = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Examples in flight at once (the engine batches them; cost timings need 1).")
    ] = 1,
) -> None:
    """Write predictions for a split, which `flowgen eval` scores; resumes where an earlier run of the same model on
    the same references stopped.

    An example whose answer cannot be used (the model's or the server's failure) is recorded with its error."""
    settings = settings_of(ctx)
    chosen = _style(style, settings)
    refs = load_split(settings.dataset_dir, split)[:limit]
    path = out or settings.predictions_dir / f"{split}{'-perfect' if perfect_rag else ''}.jsonl"
    model = model_identity(
        settings.model_copy(update={"engine": settings.engine.model_copy(update={"prompt_style": chosen})})
    )

    async def job(engine: Engine, retriever: Retriever) -> None:
        pipeline = Pipeline(engine, InProcess(retriever), chosen)
        with progress() as bar:
            done = len(load_done(path, source_of(refs, perfect_rag, model)))
            task = bar.add_task(f"predicting {split}", total=len(refs), completed=done)
            await predict_all(pipeline, refs, path, model, perfect_rag, concurrency, partial(bar.advance, task))

    with_engine(settings, job)
    err.print(
        f"wrote {path}; score it with: flowgen eval --predictions {path} "
        f"--references {settings.dataset_dir}/{split}.jsonl --out {settings.data_dir}/eval/{split}"
    )


def _style(style: str | None, settings: Settings) -> Style:
    if style is None:
        return settings.engine.prompt_style
    if style not in ("tuned", "compact", "paper"):
        raise typer.BadParameter("use tuned, compact or paper", param_hint="--style")
    return style  # type: ignore[return-value]
