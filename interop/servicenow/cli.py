"""`flowgen export servicenow` (a Fluent project from workflow files) and `flowgen check servicenow` (the same,
built by ServiceNow's SDK, each diagnostic traced back to our step and input; or a dataset's references, with
the share that builds clean and why the rest does not)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from flowgen.catalog import Catalog, load_catalog
from flowgen.commandline import settings_of
from flowgen.console import err
from flowgen.errors import FlowGenError
from flowgen.workflow import Workflow, parse_answer, parse_workflow
from interop.servicenow.build import Diagnostic, build
from interop.servicenow.project import export_project, workflow_key

export_app = typer.Typer(no_args_is_help=True, help="Export workflows to a platform's own format.")
check_app = typer.Typer(no_args_is_help=True, help="Check workflows with a platform's own toolchain.")
Tenant = Annotated[str, typer.Option("--tenant", "-t", help="Tenant catalog; 'core' for the core catalog.")]


def _read(files: list[Path]) -> dict[str, Workflow]:
    workflows = {}
    for path in files:
        try:
            workflows[workflow_key(path.stem)] = parse_workflow(path.read_text(encoding="utf-8"))
        except (OSError, FlowGenError) as error:
            raise FlowGenError(f"{path}: {error}") from error
    return workflows


@export_app.command("servicenow")
def export_servicenow(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Workflow JSON files, one flow each.")],
    out: Annotated[Path, typer.Option(help="Folder for the Fluent project.")],
    tenant: Tenant = "core",
) -> None:
    """Write a Fluent project (ServiceNow SDK) for the workflows: `npm install && npx now-sdk build` there."""
    project = export_project(_read(files), load_catalog(tenant, settings_of(ctx).catalog_dir))
    project.write(out)
    err.print(f"wrote {len(project.files)} files to {out}")


@check_app.command("servicenow")
def check_servicenow(
    ctx: typer.Context,
    files: Annotated[list[Path] | None, typer.Argument(help="Workflow JSON files.")] = None,
    references: Annotated[Path | None, typer.Option(help="JSONL of dataset examples: check every reference.")] = None,
    predictions: Annotated[Path | None, typer.Option(help="JSONL of {id, output}: check every answer.")] = None,
    tenant: Tenant = "core",
) -> None:
    """Export and build with ServiceNow's SDK offline; exit 1 on any diagnostic or export error."""
    catalog = load_catalog(tenant, settings_of(ctx).catalog_dir)
    workflows = _read(files or [])
    refused: dict[str, str] = {}
    for path, field in ((references, "expected"), (predictions, "output")):
        if path is not None:
            workflows |= _workflows(path, field, catalog.tenant)
    if references is not None or predictions is not None:
        workflows, refused = _exportable(workflows, catalog)
    if not workflows and not refused:
        raise FlowGenError("nothing to check: give workflow files or --references")
    diagnostics = build(export_project(workflows, catalog)) if workflows else []
    for key, reason in refused.items():
        print(f"{key}: export: {reason}")
    for diagnostic in diagnostics:
        print(diagnostic)
    _summary(workflows, refused, diagnostics)
    if refused or diagnostics:
        raise typer.Exit(1)


def _workflows(path: Path, field: str, tenant: str) -> dict[str, Workflow]:
    """The workflows among a JSONL's answers (`field`) for the tenant; refusals and unparsable answers are skipped."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        example = json.loads(line)
        try:
            answer = parse_answer(example[field])
        except (FlowGenError, KeyError, TypeError):
            continue
        if isinstance(answer, Workflow) and example.get("tenant", "core") == tenant:
            out[workflow_key(example["id"])] = answer
    return out


def _exportable(workflows: dict[str, Workflow], catalog: Catalog) -> tuple[dict[str, Workflow], dict[str, str]]:
    """The workflows that export, and why each other one does not."""
    good, refused = {}, {}
    for key, workflow in workflows.items():
        try:
            export_project({key: workflow}, catalog)
            good[key] = workflow
        except FlowGenError as error:
            refused[key] = str(error)
    return good, refused


def _summary(workflows: dict[str, Workflow], refused: dict[str, str], diagnostics: list[Diagnostic]) -> None:
    failing = {d.workflow for d in diagnostics if d.workflow}
    total = len(workflows) + len(refused)
    clean = len(workflows) - len(failing)
    err.print(f"{clean} of {total} workflows build clean ({100 * clean / total:.1f}%); "
              f"{len(refused)} cannot be exported, {len(failing)} fail the SDK build")  # fmt: skip
    codes = Counter(d.code for d in diagnostics)
    if codes:
        err.print("SDK diagnostics by code: " + ", ".join(f"{code} {n}" for code, n in codes.most_common()))
