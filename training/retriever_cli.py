"""`flowgen train retriever` and `flowgen train gate`: the retriever's embedder and the out-of-scope gate.

Both write what the runtime loads: by default under <data_dir>/models (a model to try), with `--ship`
into the package (retrieval/artifacts/), which a fresh clone serves with no training step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from flowdata.splits import load_split
from flowgen.commandline import settings_of
from flowgen.console import err
from retrieval.cli import render_refusals
from retrieval.embedder import ARTIFACTS, SHIPPED_MODEL, Embedder, base_model_path, default_model_path
from retrieval.scope import scope_path, shipped_path

from .retriever import TrainConfig, fine_tune, make_pairs, step_recall
from .scope_gate import cross_validate, train, training_set

DataDir = Annotated[Path | None, typer.Option("--data", help="Built splits (default: <data_dir>/data).")]
Ship = Annotated[bool, typer.Option("--ship", help="Write into the package (retrieval/artifacts/), the default.")]


def retriever_cmd(
    ctx: typer.Context,
    data: DataDir = None,
    epochs: Annotated[int, typer.Option()] = TrainConfig().epochs,
    pairs: Annotated[int, typer.Option(help="Most training pairs to use.")] = TrainConfig().pairs,
    requirements: Annotated[
        bool, typer.Option(help="Also pair whole requirements with their steps (stage 1 searches with them).")
    ] = TrainConfig().requirements,
    out: Annotated[Path | None, typer.Option(help="Model folder (default <data_dir>/models/retriever).")] = None,
    ship: Ship = False,
    seed: int = 0,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 on the train split (core catalog only); dev step recall@10 before / after.

    Then: `flowgen retrieval eval` (test / ood recall with the model in use) and `flowgen train gate`
    (the out-of-scope gate is trained for one embedder)."""
    settings = settings_of(ctx)
    config = TrainConfig(epochs=epochs, pairs=pairs, requirements=requirements, seed=seed)
    target = SHIPPED_MODEL if ship else out or settings.retriever_model_dir
    started = time.monotonic()
    folder = data or settings.dataset_dir
    base = Embedder(base_model_path(), settings.retrieval.batch_size)
    dev = load_split(folder, "dev")
    before = step_recall(base, dev)
    examples = make_pairs(load_split(folder, "train"), base, config)
    err.print(f"{len(examples)} training pairs with hard negatives ({config})")
    work = settings.checkpoints_dir / "retriever"
    fine_tune(base.path, examples, target, work, config, fp16=ship)
    after = step_recall(Embedder(target, settings.retrieval.batch_size), dev)
    minutes = (time.monotonic() - started) / 60
    print(f"dev step recall@10: {before:.3f} before, {after:.3f} after ({len(dev)} requirements)")
    print(f"saved {target} in {minutes:.1f} min")
    in_use = default_model_path(settings)
    gate = "flowgen train gate --ship" if ship else "flowgen train gate"
    err.print(f"model in use: {in_use}; next: `{gate}` for it, `flowgen index build` to re-embed, "
              "`flowgen retrieval eval` for test / ood recall", highlight=False)  # fmt: skip


def gate_cmd(
    ctx: typer.Context,
    data: DataDir = None,
    base: Annotated[bool, typer.Option("--base", help="For the base all-MiniLM-L6-v2, not the model in use.")] = False,
    folds: Annotated[int, typer.Option(help="Cross-validation folds (0: none).")] = 5,
    ship: Ship = False,
) -> None:
    """Train the out-of-scope gate for the embedder in use (or --base); cross-validated refusals."""
    settings = settings_of(ctx)
    embedder = Embedder(base_model_path() if base else default_model_path(settings), settings.retrieval.batch_size)
    examples = training_set(data or settings.dataset_dir)
    err.print(f"embedding {len(examples.texts)} requirements ({examples.counts()}) with {embedder.path}")
    vectors = embedder.encode(examples.texts)
    gate = train(embedder, examples, vectors)
    path = shipped_path(embedder.id) if ship else scope_path(settings.data_dir, embedder.id)
    gate.save(path)
    if ship:  # gates of embedders the package no longer ships would never be loaded again
        keep = {embedder.id, Embedder(base_model_path()).id}
        if SHIPPED_MODEL.is_dir():
            keep.add(Embedder(SHIPPED_MODEL).id)
        for old in ARTIFACTS.glob("scope-*.json"):
            if old.stem.removeprefix("scope-") not in keep:
                old.unlink()
                err.print(f"removed {old} (no shipped embedder uses it)", highlight=False)
    print(f"saved {path} (refuse when p < {gate.threshold})")
    if folds:
        sources = np.asarray(examples.sources)
        held_out = cross_validate(vectors, sources, folds)
        print(f"\n{folds}-fold cross-validation (cells: refusal recall on out-of-scope / false refusals on in-scope)\n")
        print(render_refusals([(f"train, {folds}-fold CV", held_out, sources == 2),
                           (f"train, {folds}-fold CV, hand-written only", held_out[sources != 0],
                            sources[sources != 0] == 2)], gate.threshold))  # fmt: skip
