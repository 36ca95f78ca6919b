"""`flowgen dataset ...`: build, check and describe the splits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowgen.commandline import settings_of
from flowgen.console import progress
from flowgen.evaluation.records import load_references

from .catalogs import dataset_catalog
from .check import check_all
from .splits import build_splits, planned_size, write_splits
from .stats import compute, render

app = typer.Typer(no_args_is_help=True, help="Build, check and describe the datasets.")


@app.command()
def check(files: list[Path]) -> None:
    """Validate every example of JSONL reference files against its tenant's catalog."""
    bad = 0
    for path in files:
        refs = load_references(path)
        report = check_all(refs, dataset_catalog)
        for ref_id, found in report.items():
            for problem in found:
                typer.echo(f"{path.name}:{ref_id}: {problem}")
        bad += len(report)
        typer.echo(f"{path}: {len(refs)} examples, {len(report)} with problems", err=True)
    if bad:
        raise typer.Exit(1)


@app.command()
def build(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output folder (default <data_dir>/data).")] = None,
) -> None:
    """Write the train, dev, test and ood splits and their stage examples (JSONL)."""
    out = out or settings_of(ctx).dataset_dir
    with progress() as bar:
        task = bar.add_task("generating", total=planned_size())
        splits = build_splits(seed, lambda: bar.advance(task))
    counts = write_splits(splits, out, seed)
    for split, c in counts.items():
        typer.echo(
            f"{split}: {c['examples']} examples, {c['createFlow']} createFlow, {c['populateInputs']} populateInputs"
        )
    typer.echo(f"wrote {out}", err=True)


@app.command()
def stats(
    ctx: typer.Context,
    folder: Annotated[
        Path | None, typer.Argument(help="A folder written by `flowgen dataset build` (default <data_dir>/data).")
    ] = None,
) -> None:
    """Print Table 1, feature counts per split, train/test overlap and phrasing diversity."""
    typer.echo(render(compute(folder or settings_of(ctx).dataset_dir)), nl=False)
