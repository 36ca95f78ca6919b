"""`flowgen train`: build the SFT examples from the pipeline, then train a LoRA adapter on them (resumable)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from flowdata.catalogs import training_retrieval
from flowdata.splits import load_split
from flowgen.commandline import settings_of
from flowgen.console import err, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.records import Reference, load_models, write_jsonl
from flowgen.settings import Settings
from generation.editing.stage import EditStage
from generation.model import base_model, served_model
from generation.pipeline import InProcess, Pipeline
from retrieval.suggest import Retriever

from .edit_data import edit_examples
from .results import SYSTEMS, Run, execute, plan, records_of, write_results
from .retriever_cli import gate_cmd, retriever_cmd
from .sft import TrainConfig, adapter_dev_loss, train
from .sft_data import SFTExample, examples_of

app = typer.Typer(no_args_is_help=True, help="Fine-tune the generator: SFT data, then LoRA training.")
CONFIGS = Path(__file__).parent / "configs"
app.command("retriever")(retriever_cmd)  # the retriever's embedder (training/retriever_cli.py)
app.command("gate")(gate_cmd)  # the out-of-scope gate for the embedder in use


def sft_dir(settings: Settings) -> Path:
    return settings.training_dir / "sft"


Built = tuple[list[SFTExample], list[str]]  # the examples and the references skipped, with why
Build = Callable[[list[Reference], InProcess, Callable[[], None]], Awaitable[Built]]


def _write_examples(settings: Settings, limit: int | None, what: str, suffix: str, build: Build) -> None:
    """For train and dev: the examples `build` makes of each reference, with real retrieval (over core and
    the training tenants), into sft/<split><suffix>.jsonl, with their count per stage and the references
    skipped."""
    apart = training_retrieval(settings)
    retriever = Retriever.open(apart)
    try:
        err.print(f"indexing core and the training tenants in {apart.qdrant_dir} (a minute the first time)")
        retriever.sync_all()
        for split in ("train", "dev"):
            refs = load_split(settings.dataset_dir, split)[:limit]
            with progress() as bar:
                task = bar.add_task(f"{what} ({split})", total=len(refs))
                found, skipped = asyncio.run(build(refs, InProcess(retriever), partial(bar.advance, task)))
            path = sft_dir(settings) / f"{split}{suffix}.jsonl"
            write_jsonl(path, found)
            stages = dict(Counter(e.stage for e in found))
            example = f", e.g. {skipped[0]}" if skipped else ""
            err.print(f"{path}: {stages}; {len(skipped)} skipped{example}")
    finally:
        retriever.index.client.close()


@app.command("data")
def data_cmd(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="First N references of each split only (a smoke run).")] = None,
) -> None:
    """Write <data_dir>/training/sft/{train,dev}.jsonl: every stage call the pipeline makes for each reference."""
    settings = settings_of(ctx)
    style = settings.engine.prompt_style
    _write_examples(settings, limit, "SFT examples", "",
                    lambda refs, suggester, tick: examples_of(refs, suggester, style, tick))  # fmt: skip


@app.command("edits")
def edits_cmd(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="First N references of each split only (a smoke run).")] = None,
    seed: Annotated[int, typer.Option(help="Chooses each reference's edit and its wording.")] = 0,
) -> None:
    """Write <data_dir>/training/sft/{train,dev}.edit.jsonl: an edit of each reference workflow, prompted as the
    edit stage prompts (training/edit_data.py); `train run` adds them to the stages' examples."""
    settings = settings_of(ctx)

    def build(refs: list[Reference], suggester: InProcess, tick: Callable[[], None]) -> Awaitable[Built]:
        stage = EditStage(Pipeline(None, suggester, settings.engine.prompt_style))  # type: ignore[arg-type]  # no model call
        return edit_examples(refs, stage, seed, tick)

    _write_examples(settings, limit, "edit examples", ".edit", build)


@app.command("dev-loss")
def dev_loss_cmd(
    ctx: typer.Context,
    adapters: Annotated[list[Path], typer.Argument(help="Trained adapter folders (<run>/adapter).")],
    edit_adapter: Annotated[
        bool, typer.Option("--edit-adapter", help="Edit adapters, on dev.edit.jsonl and the served merged model.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="Training config: its dtype, threads and max_length (default cpu-edit.json or cpu.json)."),
    ] = None,
) -> None:
    """The dev loss of each adapter on today's dev examples (the stages' dev.jsonl, or the edits'), computed as
    `train run` computes it: for adapters trained on different data, whose reported losses are on different dev
    sets."""
    settings = settings_of(ctx)
    name = "dev.edit.jsonl" if edit_adapter else "dev.jsonl"
    path = sft_dir(settings) / name
    if missing := [str(a) for a in adapters if not (a / "adapter_config.json").is_file()]:
        raise FlowGenError(f"not a trained adapter (no adapter_config.json): {', '.join(missing)}")
    config = config or CONFIGS / ("cpu-edit.json" if edit_adapter else "cpu.json")
    try:
        cfg = TrainConfig.model_validate_json(config.read_text())
        dev = load_models(path, SFTExample)
    except (OSError, ValueError) as error:
        raise FlowGenError(str(error)) from error
    model = served_model(settings, merge=True)[0] if edit_adapter else base_model(settings)
    for adapter in adapters:
        print(f"{adapter}\t{adapter_dev_loss(model, adapter, dev, cfg):.4f}", flush=True)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option(help="Training config JSON (training/configs/cpu.json or gpu.json).")] = (
        CONFIGS / "cpu.json"
    ),
    out: Annotated[Path | None, typer.Option(help="Run folder (default <data_dir>/training/run).")] = None,
    inputs_share: Annotated[
        float, typer.Option(help="Share of the stage-2 examples trained on (they are 3x as many as outlines).")
    ] = 1.0,
    limit: Annotated[int | None, typer.Option(help="At most N training examples (a smoke run).")] = None,
    skip: Annotated[int, typer.Option(help="Leave out the first N examples (those an --init-adapter saw).")] = 0,
    init_adapter: Annotated[
        Path | None, typer.Option(help="Continue from this trained adapter (e.g. the shipped one) on more data.")
    ] = None,
    edits: Annotated[
        int | None, typer.Option(help="Add the first N edit examples (`flowgen train edits`; default all; 0: none).")
    ] = None,
    edit_adapter: Annotated[
        bool,
        typer.Option(
            "--edit-adapter",
            help="Train the edit adapter: the edit examples alone (`--skip` and `--limit` count them), on the served "
            "model with its adapter merged, whose edit calls it then writes (FLOWGEN_ENGINE__EDIT_LORA).",
        ),
    ] = False,
) -> None:
    """Train a LoRA adapter on the SFT examples (`--skip` and `--limit` count the stages' examples; the edit
    examples come on top); rerun the same command to resume after an interruption."""
    settings = settings_of(ctx)
    folder = sft_dir(settings)
    wanted = ["train.edit.jsonl", "dev.edit.jsonl"] if edit_adapter else ["train.jsonl", "dev.jsonl"]
    try:
        cfg = TrainConfig.model_validate_json(config.read_text())
        if missing := [name for name in wanted if not (folder / name).is_file()]:
            command = "flowgen train edits" if edit_adapter else "flowgen train data"
            raise FlowGenError(f"no {', '.join(missing)} in {folder}: run `{command}` first")
        examples, dev = (load_models(folder / name, SFTExample) for name in wanted)
    except (OSError, ValueError) as error:
        raise FlowGenError(str(error)) from error
    if edit_adapter:
        if edits is not None:
            hint = "with --edit-adapter, --skip and --limit count the edit examples"
            raise typer.BadParameter(hint, param_hint="--edits")
        examples = examples[skip:][:limit]
        if served_model(settings, merge=False)[1] is None:
            raise FlowGenError("an edit adapter sits on a fine-tuned model: the served model has no adapter to merge")
        model = served_model(settings, merge=True)[0]
    else:
        rng = random.Random(cfg.seed)
        examples = [e for e in examples if e.stage == "outline" or rng.random() < inputs_share]
        examples = examples[skip:][:limit]
        if edits != 0 and (folder / "train.edit.jsonl").is_file():
            examples += load_models(folder / "train.edit.jsonl", SFTExample)[:edits]
            dev += load_models(folder / "dev.edit.jsonl", SFTExample)
        model = base_model(settings)
    run = out or settings.training_dir / "run"
    err.print(f"training on {len(examples)} examples ({model}); checkpoints in {run}/checkpoints")
    with progress() as bar:
        task = bar.add_task("training", total=None)

        def on_step(step: int, total: int, stats: dict[str, float]) -> None:
            desc = f"training  loss {stats['loss']:.3f}  {stats['tokens_per_s']:.0f} tokens/s"
            bar.update(task, completed=step, total=total, description=desc)
            if not err.is_terminal and step % 10 == 0:  # a log file gets a line every 10 steps instead of a bar
                remaining = bar.tasks[0].time_remaining
                eta = f"{remaining / 60:.0f} min" if remaining is not None else "?"
                err.print(f"step {step}/{total}  {desc.removeprefix('training  ')}  ETA {eta}", highlight=False)

        metrics = train(model, examples, dev, cfg, run, on_step, init_adapter)
    print(json.dumps(metrics, indent=1))
    err.print(f"adapter: {run / 'adapter'}")


def results_command(
    ctx: typer.Context,
    systems: Annotated[list[str], typer.Option("--system", help="base and / or fine_tuned (default both).")] = [],  # noqa: B006
    splits: Annotated[list[str], typer.Option("--split", help="test and / or ood_sample (default both).")] = [],  # noqa: B006
    perfect_rag: Annotated[
        bool, typer.Option("--perfect-rag/--no-perfect-rag", help="Also the perfect-RAG runs.")
    ] = True,
    cost: Annotated[bool, typer.Option("--cost/--no-cost", help="Also the one-at-a-time cost run on test.")] = True,
    render_only: Annotated[
        bool, typer.Option("--render-only", help="Only rewrite the document from finished runs.")
    ] = False,
    doc: Annotated[
        Path, typer.Option(help="The document to write; runs' records are kept beside it (docs/results/).")
    ] = Path("docs/results.md"),
) -> None:
    """Base-prompted vs fine-tuned on test and the ood sample (RAG, perfect RAG, cost): docs/results.md."""
    settings = settings_of(ctx)
    out = settings.results_dir
    chosen = [s for s in systems or ["base", "fine_tuned"]]
    if unknown := set(chosen) - set(SYSTEMS):
        raise typer.BadParameter(f"unknown system(s) {sorted(unknown)}: use base or fine_tuned", param_hint="--system")
    if not render_only:
        runs = plan(chosen, splits or ["test", "ood_sample"], perfect_rag, cost)  # type: ignore[arg-type]
        with progress() as bar:

            def on_run(run: Run, total: int) -> Callable[[], None]:
                return partial(bar.advance, bar.add_task(run.name, total=total))

            execute(runs, settings, out, records_of(doc), on_run)
    err.print(f"wrote {write_results(doc)}")
