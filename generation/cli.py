"""`flowgen generate` and `flowgen predict`: the pipeline on the real engine, from the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from flowdata.splits import load_split
from flowgen.catalog.store import CORE
from flowgen.console import err, fail, progress
from flowgen.errors import FlowGenError
from flowgen.settings import Settings
from retrieval.suggest import Retriever

from .checkpoint import CheckpointEngine
from .engine import Engine
from .model import served_model
from .pipeline import InProcess, Pipeline
from .predict import load_done, predict_all
from .prompts import Style
from .remote import OpenAIEngine

T = TypeVar("T")
Runtime = Engine | OpenAIEngine | CheckpointEngine


def start(settings: Settings) -> tuple[Runtime, Retriever]:
    """The engine (a configured OpenAI-compatible server, else the model in-process) and the retriever, index synced."""
    engine_settings = settings.engine
    retriever = Retriever.open(settings)
    retriever.sync_all()
    if engine_settings.openai_url:
        remote = OpenAIEngine(engine_settings.openai_url, engine_settings.openai_model, engine_settings.openai_api)
        err.print(f"generating with {remote.model} at {remote.url} ({remote.api} API)")
        return remote, retriever
    if engine_settings.runtime == "transformers":  # a checkpoint as saved: its adapter applied, not merged
        unmerged = engine_settings.model_copy(update={"merge_lora": False})
        model, lora = served_model(unmerged, settings.data_dir / "models")
        err.print(f"loading {model} in transformers (constraints by outlines)")
        return CheckpointEngine(model, lora, engine_settings.dtype), retriever
    model, lora = served_model(engine_settings, settings.data_dir / "models")
    err.print(f"starting the engine on {model} (about two minutes on a 2-core CPU)")
    return Engine(engine_settings, model, lora), retriever


async def close_after(engine: Runtime, job: Awaitable[T]) -> T:
    """Await `job`, then close the engine's connections on this same loop (a remote client's cannot outlive it)."""
    try:
        return await job
    finally:
        await engine.aclose()


def shutdown(engine: Runtime, retriever: Retriever) -> None:
    """Stop both before the interpreter exits: their finalizers fail noisily once it is tearing down."""
    engine.shutdown()
    retriever.index.client.close()


def generate(
    requirement: str,
    tenant: Annotated[str, typer.Option(help="Tenant catalog.")] = CORE,
    style: Annotated[str | None, typer.Option(help="Prompt style: tuned, compact or paper (default: the model's).")] = (
        None
    ),
) -> None:
    """Generate a workflow: prints the outline first, then each step's inputs, then the final JSON."""
    settings = Settings()
    try:
        engine, retriever = start(settings)
    except FlowGenError as error:
        raise fail(error) from error

    async def show(kind: str, data: dict[str, Any]) -> None:
        err.print(f"[bold]{kind}[/bold] {json.dumps(data)}", highlight=False)

    try:
        pipeline = Pipeline(engine, InProcess(retriever), _style(style, settings))
        result = asyncio.run(close_after(engine, pipeline.run(requirement, tenant, show)))
    except FlowGenError as error:
        raise fail(error) from error
    finally:
        shutdown(engine, retriever)
    print(json.dumps(result.answer.model_dump(mode="json", exclude_none=True), indent=2))
    for line in result.failures + [str(v) for v in (result.report.violations if result.report else [])]:
        err.print(f"[yellow]{line}[/yellow]", highlight=False)
    err.print(f"{result.calls} model calls, {result.tokens} tokens, timings {json.dumps(result.timings)}")


def predict(
    split: Annotated[str, typer.Option(help="test, ood, ood_sample or dev")] = "test",
    out: Annotated[Path | None, typer.Option(help="Predictions JSONL (default var/predictions/<split>.jsonl).")] = None,
    limit: Annotated[int | None, typer.Option(help="First N examples only.")] = None,
    perfect_rag: Annotated[
        bool, typer.Option("--perfect-rag", help="Add the expected steps to the suggestions.")
    ] = False,
    style: Annotated[str | None, typer.Option(help="Prompt style: tuned, compact or paper (default: the model's).")] = (
        None
    ),
    concurrency: Annotated[
        int, typer.Option(min=1, help="Examples in flight at once (the engine batches them; cost timings need 1).")
    ] = 1,
) -> None:
    """Write predictions for a split, which `flowgen eval` scores; resumes where an earlier run stopped."""
    settings = Settings()
    refs = load_split(settings.dataset_dir, split)[:limit]
    path = out or settings.data_dir / "predictions" / f"{split}{'-perfect' if perfect_rag else ''}.jsonl"
    try:
        engine, retriever = start(settings)
    except FlowGenError as error:
        raise fail(error) from error
    pipeline = Pipeline(engine, InProcess(retriever), _style(style, settings))

    async def run_all() -> None:
        with progress() as bar:
            task = bar.add_task(f"predicting {split}", total=len(refs), completed=len(load_done(path)))
            await predict_all(pipeline, refs, path, perfect_rag, concurrency, partial(bar.advance, task))

    try:
        asyncio.run(close_after(engine, run_all()))
    finally:
        shutdown(engine, retriever)
    err.print(
        f"wrote {path}; score it with: flowgen eval --predictions {path} "
        f"--references {settings.dataset_dir}/{split}.jsonl --out var/eval/{split}"
    )


def _style(style: str | None, settings: Settings) -> Style:
    if style is None:
        return settings.engine.prompt_style
    if style not in ("tuned", "compact", "paper"):
        raise typer.BadParameter("use tuned, compact or paper", param_hint="--style")
    return style  # type: ignore[return-value]
