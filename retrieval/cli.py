"""`flowgen index ...` and `flowgen retrieval ...`: build the index, query it, evaluate it and its gate.

Training lives in training/ (`flowgen train retriever`, `flowgen train gate`): nothing here trains."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from flowdata.splits import load_split
from flowgen.catalog import list_tenants
from flowgen.catalog.store import CORE
from flowgen.commandline import settings_of
from flowgen.console import err, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.records import Reference
from flowgen.settings import Settings
from flowgen.workflow import OutOfScope

from .embedder import Embedder, default_model_path
from .evaluate import Recall, evaluate, render
from .scope import REFUSE_BELOW, load_gate
from .suggest import Retriever

index_app = typer.Typer(no_args_is_help=True, help="Build and update the Qdrant index of the catalogs.")
app = typer.Typer(no_args_is_help=True, help="Query and evaluate the retriever and the out-of-scope gate.")
Split = Annotated[str, typer.Option(help="dev, test, ood or all (test and ood)")]
DataDir = Annotated[Path | None, typer.Option("--data", help="Built splits (default: <data_dir>/data).")]


@index_app.command("build")
def build(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this catalog ('core' or a tenant).")] = None,
) -> None:
    """Index the catalogs; only entries that changed since the last run are embedded again."""
    settings = settings_of(ctx)
    owners = [tenant] if tenant else [CORE, *list_tenants(settings.catalog_dir)]
    retriever = Retriever.open(settings)
    with progress() as bar:
        task = bar.add_task("indexing", total=len(owners))
        for owner in owners:
            bar.update(task, description=f"indexing {owner}")
            result = retriever.sync_tenant(owner)
            bar.advance(task)
            err.print(f"{owner}: {result.added} added, {result.updated} updated, {result.removed} removed, "
                      f"{result.unchanged} unchanged")  # fmt: skip


@app.command()
def suggest(
    ctx: typer.Context,
    query: str,
    tenant: Annotated[str, typer.Option(help="Catalog to search.")] = CORE,
    table: Annotated[str | None, typer.Option(help="Suggest columns of this table.")] = None,
    column: Annotated[str | None, typer.Option(help="With --table: suggest values of this column.")] = None,
    tables: Annotated[bool, typer.Option("--tables", help="Suggest tables instead of steps.")] = False,
    k: int = 10,
) -> None:
    """Print suggestions: steps for a requirement, or tables / columns / values for an annotation."""
    retriever = Retriever.open(settings_of(ctx))
    if column and table:
        found = retriever.values(table, column, query, tenant, k)
    elif table:
        found = retriever.columns(table, query, tenant, k)
    elif tables:
        found = retriever.tables(query, tenant, k)
    else:
        found = retriever.steps(query, tenant, k)
    for s in found:
        print(f"{s.score:.3f}\t{s.kind}\t{s.key}")


def _splits(settings: Settings, split: str, data: Path | None, limit: int | None) -> dict[str, list[Reference]]:
    names = ["test", "ood"] if split == "all" else [split]
    if not set(names) <= {"dev", "test", "ood", "train"}:
        raise FlowGenError(f"unknown split {split!r}: use dev, test, ood or all")
    folder = data or settings.dataset_dir
    return {name: load_split(folder, name)[:limit] for name in names}


def _recall(retriever: Retriever, splits: dict[str, list[Reference]], label: str) -> list[Recall]:
    results: list[Recall] = []
    with progress() as bar:
        for name, refs in splits.items():
            task = bar.add_task(f"{label}: {name}", total=len(refs))
            results += evaluate(retriever, name, refs, lambda t=task: bar.advance(t))
    return results


@app.command("eval")
def eval_cmd(ctx: typer.Context, split: Split = "all", data: DataDir = None,
             limit: Annotated[int | None, typer.Option()] = None) -> None:  # fmt: skip
    """Recall@5/10/20 of steps, tables, columns and values against the references."""
    settings = settings_of(ctx)
    retriever = Retriever.open(settings)
    retriever.sync_all()
    results = _recall(retriever, _splits(settings, split, data, limit), "recall")
    print(render(results), end="")


@app.command("scope-eval")
def scope_eval(ctx: typer.Context, data: DataDir = None) -> None:
    """The out-of-scope gate in use (never trained here): refusals on test, ood and the held-out terse set."""
    from training.scope_gate import HELD_OUT, scope_examples  # reading a hand-written file; nothing is trained

    settings = settings_of(ctx)
    embedder = Embedder(default_model_path(settings), settings.retrieval.batch_size)
    gate = load_gate(settings.data_dir, embedder.id, str(embedder.path))
    rows: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name, refs in _splits(settings, "all", data, None).items():
        err.print(f"scoring {name} ({len(refs)} requirements)")
        oos = np.array([isinstance(r.expected, OutOfScope) for r in refs])
        rows.append((name, gate.probability(embedder.encode([r.requirement for r in refs])), oos))
        hand = np.array([r.source == "handwritten" for r in refs])
        if 0 < hand.sum() < len(refs):
            rows.append((f"{name}, hand-written only", rows[-1][1][hand], oos[hand]))
    terse = scope_examples(HELD_OUT)
    p = gate.probability(embedder.encode([e.requirement for e in terse]))
    rows.append(("terse ood (hand-written, never trained on)", p, np.array([not e.in_scope for e in terse])))
    wrong = [(e.tenant, e.requirement, round(float(q), 3)) for e, q in zip(terse, p, strict=True)
             if e.in_scope and gate.refuses(q)]  # fmt: skip
    print(f"model {gate.embedding_model} ({gate.embedding_model_id}); refuse when p(workflow request) < "
          f"{gate.threshold} (*)")  # fmt: skip
    print("cells: refusal recall on out-of-scope / false-refusal rate on in-scope\n")
    print(render_refusals(rows, gate.threshold), end="")
    print(f"\nterse ood requests wrongly refused: {len(wrong)} of {sum(e.in_scope for e in terse)}")
    for tenant, text, q in wrong:
        print(f"  {tenant}: {text} (p={q})")


def render_refusals(rows: list[tuple[str, np.ndarray, np.ndarray]], threshold: float = REFUSE_BELOW) -> str:
    """Markdown: per data set, refusal recall on out-of-scope / false-refusal rate on in-scope, per threshold."""
    thresholds = sorted({0.05, 0.1, 0.2, 0.3, 0.5, threshold})
    heads = " | ".join(f"p < {t}{' *' if t == threshold else ''}" for t in thresholds)
    lines = [f"| data | in scope | out of scope | {heads} |", "|---|---|---|" + "---|" * len(thresholds)]
    for name, p, oos in rows:
        cells = []
        for t in thresholds:
            recall = f"{np.mean(p[oos] < t):.3f}" if oos.any() else "-"
            refused = f"{np.mean(p[~oos] < t):.3f}" if (~oos).any() else "-"
            cells.append(f"{recall} / {refused}")
        lines.append(f"| {name} | {int((~oos).sum())} | {int(oos.sum())} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"
