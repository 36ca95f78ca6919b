"""`flowgen dataset ...`: build, check and describe the splits."""

from __future__ import annotations

from pathlib import Path

import typer

from flowgen.errors import FlowGenError
from flowgen.evaluation.records import load_references

from .check import check_all

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
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
        for ref_id, found in report.items():
            for problem in found:
                typer.echo(f"{path.name}:{ref_id}: {problem}")
        bad += len(report)
        typer.echo(f"{path}: {len(refs)} examples, {len(report)} with problems", err=True)
    if bad:
        raise typer.Exit(1)
