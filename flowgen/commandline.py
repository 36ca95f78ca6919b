"""What the `flowgen` command line is made of: upper layers' commands loaded only when called, the settings
built once and handed down, and a `FlowGenError` turned into a clear message and exit code in one place."""

from __future__ import annotations

import importlib
from typing import Any, ClassVar, NamedTuple

import typer
from pydantic import ValidationError
from typer.core import TyperCommand, TyperGroup

from flowgen.console import fail
from flowgen.errors import FlowGenError
from flowgen.settings import Settings


class Lazy(NamedTuple):
    """A command of an upper layer: `module:attribute` (a Typer app, or a function for one command)."""

    target: str
    help: str

    def load(self, name: str) -> Any:
        module, attribute = self.target.split(":")
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            return typer.main.get_group(found)
        single = typer.Typer()
        single.command(name)(found)
        return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """A group whose `lazy` commands are imported when invoked, so that a core command starts without loading
    Ray, vLLM or FastAPI. `--help` lists them from their `help` line, importing nothing."""

    lazy: ClassVar[dict[str, Lazy]] = {}
    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(cmd_name, help=self.lazy[cmd_name].help)
        self.commands[cmd_name] = self.lazy[cmd_name].load(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except FlowGenError as error:
            raise fail(error) from error


def build_settings() -> Settings:
    """The settings from the environment; a bad value is the operator's error, shown without a traceback."""
    try:
        return Settings()
    except ValidationError as error:
        raise fail(FlowGenError(f"bad FLOWGEN_* setting: {error}")) from error


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root command built (or, for a sub-app run alone, built now once)."""
    found = ctx.find_object(Settings)
    if found is None:
        found = ctx.find_root().obj = build_settings()
    return found
