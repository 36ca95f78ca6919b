"""`flowgen index ...` and `flowgen retrieval ...`: build the index, query it, evaluate and train it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from qdrant_client import QdrantClient

from flowdata.splits import load_split
from flowgen.catalog import list_tenants
from flowgen.catalog.store import CORE
from flowgen.console import err, fail, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.records import Reference
from flowgen.settings import Settings
from flowgen.workflow import OutOfScope

from .embedder import Embedder, base_model_path, default_model_path
from .evaluate import KS, Recall, evaluate, render
from .index import Index, model_id
from .scope import cross_validate, load_or_train, scope_path, training_set
from .suggest import Retriever
from .train import fine_tune, make_pairs

index_app = typer.Typer(no_args_is_help=True, help="Build and update the Qdrant index of the catalogs.")
app = typer.Typer(no_args_is_help=True, help="Query, evaluate and fine-tune the retriever.")
Split = Annotated[str, typer.Option(help="test, ood or all")]
DataDir = Annotated[
    Path | None, typer.Option("--data", help="Built splits (default: <data_dir>/data, else built now).")
]


@index_app.command("build")
def build(tenant: Annotated[str | None, typer.Option(help="Only this catalog ('core' or a tenant).")] = None) -> None:
    """Index the catalogs; only entries that changed since the last run are embedded again."""
    settings = Settings()
    owners = [tenant] if tenant else [CORE, *list_tenants(settings.catalog_dir)]
    try:
        retriever = Retriever.open(settings)
        with progress() as bar:
            task = bar.add_task("indexing", total=len(owners))
            for owner in owners:
                bar.update(task, description=f"indexing {owner}")
                result = retriever.sync_tenant(owner)
                bar.advance(task)
                err.print(f"{owner}: {result.added} added, {result.updated} updated, {result.removed} removed, "
                          f"{result.unchanged} unchanged")  # fmt: skip
    except FlowGenError as error:
        raise fail(error) from error


@app.command()
def suggest(
    query: str,
    tenant: Annotated[str, typer.Option(help="Catalog to search.")] = CORE,
    table: Annotated[str | None, typer.Option(help="Suggest columns of this table.")] = None,
    column: Annotated[str | None, typer.Option(help="With --table: suggest values of this column.")] = None,
    tables: Annotated[bool, typer.Option("--tables", help="Suggest tables instead of steps.")] = False,
    k: int = 10,
) -> None:
    """Print suggestions: steps for a requirement, or tables / columns / values for an annotation."""
    try:
        retriever = Retriever.open(Settings())
        if column and table:
            found = retriever.values(table, column, query, tenant, k)
        elif table:
            found = retriever.columns(table, query, tenant, k)
        elif tables:
            found = retriever.tables(query, tenant, k)
        else:
            found = retriever.steps(query, tenant, k)
    except FlowGenError as error:
        raise fail(error) from error
    for s in found:
        print(f"{s.score:.3f}\t{s.kind}\t{s.key}")


def _splits(split: str, data: Path | None, limit: int | None) -> dict[str, list[Reference]]:
    names = ["test", "ood"] if split == "all" else [split]
    if not set(names) <= {"test", "ood", "train"}:
        raise FlowGenError(f"unknown split {split!r}: use test, ood or all")
    folder = data or Settings().dataset_dir
    return {name: load_split(folder, name)[:limit] for name in names}


def _recall(retriever: Retriever, splits: dict[str, list[Reference]], label: str) -> list[Recall]:
    results: list[Recall] = []
    with progress() as bar:
        for name, refs in splits.items():
            task = bar.add_task(f"{label}: {name}", total=len(refs))
            results += evaluate(retriever, name, refs, lambda t=task: bar.advance(t))
    return results


def _memory_retriever(embedder: Embedder) -> Retriever:
    retriever = Retriever(Index(QdrantClient(":memory:"), embedder), Settings().catalog_dir)
    retriever.sync_all()
    return retriever


@app.command("eval")
def eval_cmd(split: Split = "all", data: DataDir = None, limit: Annotated[int | None, typer.Option()] = None) -> None:
    """Recall@5/10/20 of steps, tables, columns and values against the references."""
    try:
        retriever = Retriever.open(Settings())
        retriever.sync_all()
        results = _recall(retriever, _splits(split, data, limit), "recall")
    except FlowGenError as error:
        raise fail(error) from error
    print(render(results), end="")


@app.command("scope-eval")
def scope_eval(data: DataDir = None, folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5) -> None:
    """The out-of-scope gate: refusal recall and false refusals on test and ood, and cross-validated."""
    settings = Settings()
    try:
        embedder = Embedder(default_model_path(settings), settings.retrieval.batch_size)
        gate = load_or_train(scope_path(settings.data_dir, model_id(embedder)), embedder, model_id(embedder),
                             settings.dataset_dir)  # fmt: skip
        rows: list[tuple[str, np.ndarray, np.ndarray]] = []
        for name, refs in _splits("all", data, None).items():
            err.print(f"scoring {name} ({len(refs)} requirements)")
            oos = np.array([isinstance(r.expected, OutOfScope) for r in refs])
            rows.append((name, gate.probability(embedder.encode([r.requirement for r in refs])), oos))
            hand = np.array([r.source == "handwritten" for r in refs])
            if 0 < hand.sum() < len(refs):
                rows.append((f"{name}, hand-written only", rows[-1][1][hand], oos[hand]))
        examples = training_set(settings.dataset_dir)
        err.print(f"{folds}-fold cross-validation on {len(examples.texts)} training requirements")
        sources = np.asarray(examples.sources)
        held_out = cross_validate(embedder.encode(examples.texts), sources, folds)
        rows.append((f"train, {folds}-fold CV", held_out, sources == 2))
        hand = sources != 0
        rows.append((f"train, {folds}-fold CV, hand-written only", held_out[hand], sources[hand] == 2))
    except FlowGenError as error:
        raise fail(error) from error
    thresholds = sorted({0.05, 0.1, 0.2, 0.3, 0.5, gate.threshold})
    print(f"model {gate.embedding_model}; refuse when p(workflow request) < {gate.threshold} (*)")
    print("cells: refusal recall on out-of-scope / false-refusal rate on in-scope\n")
    heads = " | ".join(f"p < {t}{' *' if t == gate.threshold else ''}" for t in thresholds)
    print(f"| data | in scope | out of scope | {heads} |")
    print("|---|---|---|" + "---|" * len(thresholds))
    for name, p, oos in rows:
        cells = []
        for t in thresholds:
            recall = f"{np.mean(p[oos] < t):.3f}" if oos.any() else "-"
            cells.append(f"{recall} / {np.mean(p[~oos] < t):.3f}")
        print(f"| {name} | {int((~oos).sum())} | {int(oos.sum())} | {' | '.join(cells)} |")


@app.command()
def train(
    data: DataDir = None,
    pairs: Annotated[int, typer.Option(help="Most training pairs to use.")] = 6000,
    epochs: Annotated[int, typer.Option()] = 1,
    eval_limit: Annotated[int | None, typer.Option(help="Examples per split for the before / after recall.")] = None,
    seed: int = 0,
) -> None:
    """Fine-tune the embedder on the train split; report recall before and after on test and ood."""
    settings = Settings()
    try:
        base = Embedder(base_model_path(), settings.retrieval.batch_size)
        evaluation = _splits("all", data, eval_limit)
        before = _recall(_memory_retriever(base), evaluation, "before")
        train_refs = load_split(data or settings.dataset_dir, "train")
        examples = make_pairs(train_refs, base, pairs, seed)
        err.print(f"{len(examples)} training pairs with hard negatives")
        work = settings.data_dir / "checkpoints" / "retriever"
        out = fine_tune(base.path, examples, settings.retriever_model_dir, work, epochs=epochs, seed=seed)
        after = _recall(_memory_retriever(Embedder(out, settings.retrieval.batch_size)), evaluation, "after")
    except FlowGenError as error:
        raise fail(error) from error
    print("| split | target | " + " | ".join(f"R@{k} before | R@{k} after" for k in KS) + " |")
    print("|---|---|" + "---|---|" * len(KS))
    for b, a in zip(before, after, strict=True):
        cells = " | ".join(f"{b.recall[k]:.3f} | {a.recall[k]:.3f}" for k in KS)
        print(f"| {b.split} | {b.target} | {cells} |")
    err.print(f"saved {out}; `flowgen index build` re-embeds with it (model in use: {default_model_path(settings)})")
