"""The `flowgen` command line: one Typer app; later layers add sub-apps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flowgen.catalog import load_catalog
from flowgen.console import err, fail, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.harness import evaluate
from flowgen.evaluation.records import load_predictions, load_references
from flowgen.evaluation.report import write_report
from flowgen.metrics import VARIANTS, Variant
from flowgen.settings import Settings
from flowgen.validation import validate
from flowgen.workflow import Workflow, answer_schema, parse_workflow

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="FlowGen: requirements in plain words to low-code workflows."
)
# Upper layers plug their commands in here, the one place that knows them all.
from flowdata.cli import app as dataset_app  # noqa: E402
from generation.cli import generate, predict  # noqa: E402
from interop.servicenow.cli import check_app, export_app  # noqa: E402
from retrieval.cli import app as retrieval_app  # noqa: E402
from retrieval.cli import index_app  # noqa: E402
from serving.cli import serve_command  # noqa: E402
from serving.tenants_cli import app as tenants_app  # noqa: E402
from training.cli import app as train_app  # noqa: E402
from training.cli import results_command  # noqa: E402

app.add_typer(dataset_app, name="dataset")
app.add_typer(index_app, name="index")
app.add_typer(retrieval_app, name="retrieval")
app.add_typer(tenants_app, name="tenants")
app.add_typer(train_app, name="train")
app.add_typer(export_app, name="export")
app.add_typer(check_app, name="check")
app.command()(generate)
app.command()(predict)
app.command("serve")(serve_command)
app.command("results")(results_command)
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="Tenant catalog; 'core' for the core catalog.")]
VariantOption = Annotated[Variant, typer.Option(help="FlowSim: ours (spec section 3) or ServiceNow's StarFlow one.")]


def _read_workflow(path: Path) -> Workflow:
    if not path.is_file():
        raise fail(FlowGenError(f"{path}: no such file"))
    try:
        return parse_workflow(path.read_text(encoding="utf-8"))
    except FlowGenError as error:
        raise fail(FlowGenError(f"{path}: {error}")) from error


@app.command()
def schema() -> None:
    """Print the JSON Schema of an answer: a workflow, or an out-of-scope refusal."""
    print(json.dumps(answer_schema(), indent=2))


@app.command("validate")
def validate_cmd(file: Path, tenant: TenantOption = "core") -> None:
    """Check a workflow against the structure and catalog rules; exit 1 when it breaks any."""
    workflow = _read_workflow(file)
    try:
        catalog = load_catalog(tenant, Settings().catalog_dir)
    except FlowGenError as error:
        raise fail(error) from error
    report = validate(workflow, catalog)
    for violation in report.violations:
        print(violation)
    if not report.ok:
        err.print(f"{len(report.structure_errors)} structure and {len(report.catalog_errors)} catalog violations")
        raise typer.Exit(1)
    err.print("valid")


@app.command("flowsim")
def flowsim_cmd(generated: Path, expected: Path, variant: VariantOption = "flowgen") -> None:
    """Print FlowSim of the outline and of outline-and-inputs (0-100)."""
    sim = VARIANTS[variant](_read_workflow(generated), _read_workflow(expected))
    print(f"outline\t{sim.outline:.2f}\noutline+inputs\t{sim.inputs:.2f}")


@app.command("eval")
def eval_cmd(
    predictions: Annotated[Path, typer.Option(help="JSONL of {id, output}.")],
    references: Annotated[Path, typer.Option(help="JSONL of dataset examples.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, report.md and matrix.csv.")],
    variant: VariantOption = "flowgen",
) -> None:
    """Score predictions: FlowSim, structure / catalog errors, validated scores, feature analysis."""
    settings = Settings()
    try:
        refs = load_references(references)
        preds = load_predictions(predictions)
        with progress() as bar:
            task = bar.add_task("scoring", total=len(refs))
            report = evaluate(refs, preds, lambda t: load_catalog(t, settings.catalog_dir), lambda: bar.advance(task),
                              variant)  # fmt: skip
    except FlowGenError as error:
        raise fail(error) from error
    paths = write_report(report, out)
    s = report.summary
    print(
        f"samples {s.samples}  outline {s.outline:.1f}  outline+inputs {s.inputs:.1f}  "
        f"structure errors {s.structure_error_pct:.1f}%  catalog errors {s.catalog_error_pct:.1f}%  "
        f"validated {s.outline_validated:.1f} / {s.inputs_validated:.1f}"
    )
    err.print("wrote " + ", ".join(str(p) for p in paths))
