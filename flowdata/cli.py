"""`flowgen dataset ...`: build, check and describe the splits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowgen.console import fail, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.records import load_references

from .check import check_all
from .splits import build_splits, planned_size, write_splits
from .stats import compute, render

app = typer.Typer(no_args_is_help=True, help="Build, check and describe the datasets.")


@app.command()
def check(files: list[Path]) -> None:
    """Validate every example of JSONL reference files against its tenant's catalog."""
    bad = 0
    for path in files:
        try:
            refs = load_references(path)
            report = check_all(refs)
        except FlowGenError as error:
            raise fail(error) from error
        for ref_id, found in report.items():
            for problem in found:
                typer.echo(f"{path.name}:{ref_id}: {problem}")
        bad += len(report)
        typer.echo(f"{path}: {len(refs)} examples, {len(report)} with problems", err=True)
    if bad:
        raise typer.Exit(1)


@app.command()
def build(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("var/data"),
) -> None:
    """Write the train, test and ood splits and their stage examples (JSONL)."""
    try:
        with progress() as bar:
            task = bar.add_task("generating", total=planned_size())
            splits = build_splits(seed, lambda: bar.advance(task))
    except FlowGenError as error:
        raise fail(error) from error
    counts = write_splits(splits, out, seed)
    for split, c in counts.items():
        typer.echo(
            f"{split}: {c['examples']} examples, {c['createFlow']} createFlow, {c['populateInputs']} populateInputs"
        )
    typer.echo(f"wrote {out}", err=True)


@app.command()
def stats(
    folder: Annotated[Path, typer.Argument(help="A folder written by `flowgen dataset build`.")] = Path("var/data"),
) -> None:
    """Print Table 1, feature counts per split, train/test overlap and phrasing diversity."""
    try:
        typer.echo(render(compute(folder)), nl=False)
    except FlowGenError as error:
        raise fail(error) from error
