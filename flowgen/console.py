"""Terminal output shared by the command-line tools: errors and progress on stderr."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

err = Console(stderr=True, soft_wrap=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )


def fail(error: Exception, code: int = 2) -> typer.Exit:
    """Print a clear error (no traceback) and the exit to raise: `raise fail(error) from error`.

    The terminal is the operator's: a server error's detail (paths, the library's message) is shown too.
    """
    detail = getattr(error, "detail", "")
    err.print(f"[red]error:[/red] {error}" + (f"\n{detail}" if detail else ""), highlight=False)
    return typer.Exit(code)
