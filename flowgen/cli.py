"""The `flowgen` command line, the one composition root: the core's commands here, every upper layer's
named below and imported only when called (`flowgen validate` loads neither Ray nor vLLM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flowgen.catalog import load_catalog
from flowgen.commandline import Lazy, LazyGroup, build_settings, settings_of
from flowgen.console import err, progress
from flowgen.errors import FlowGenError
from flowgen.evaluation.harness import evaluate
from flowgen.evaluation.records import load_predictions, load_references
from flowgen.evaluation.report import write_report
from flowgen.metrics import VARIANTS, Variant
from flowgen.validation import validate
from flowgen.workflow import Workflow, answer_schema, parse_workflow


class FlowGenGroup(LazyGroup):
    lazy = {
        "dataset": Lazy("flowdata.cli:app", "Build, check and describe the datasets."),
        "index": Lazy("retrieval.cli:index_app", "Build and update the Qdrant index of the catalogs."),
        "retrieval": Lazy("retrieval.cli:app", "Query and evaluate the retriever and the out-of-scope gate."),
        "tenants": Lazy("serving.tenants_cli:app", "Onboard a tenant from a catalog file, export, replace, versions."),
        "train": Lazy("training.cli:app", "Fine-tune the generator: SFT data, then LoRA training."),
        "export": Lazy("interop.servicenow.cli:export_app", "Export workflows to a platform's own format."),
        "check": Lazy("interop.servicenow.cli:check_app", "Check workflows with a platform's own toolchain."),
        "generate": Lazy("generation.cli:generate", "Generate a workflow: the outline, each step's inputs, the JSON."),
        "predict": Lazy("generation.cli:predict", "Write predictions for a split, which `flowgen eval` scores."),
        "edit": Lazy("generation.editing.cli:edit", "Change a workflow by a follow-up instruction: a minimal edit."),
        "eval-edits": Lazy(
            "generation.editing.cli:eval_edits", "Edit the hand-written edit set and score it beside regenerating."
        ),
        "serve": Lazy("serving.cli:serve_command", "Serve the HTTP API: workflows, tenant catalogs, /metrics."),
        "results": Lazy(
            "training.cli:results_command", "Base-prompted vs fine-tuned on test and ood: docs/results.md."
        ),
    }


app = typer.Typer(
    cls=FlowGenGroup,
    no_args_is_help=True,
    add_completion=False,
    help="FlowGen: requirements in plain words to low-code workflows.",
)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Build the settings once, for whichever command runs."""
    ctx.obj = build_settings()


TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="Tenant catalog; 'core' for the core catalog.")]
VariantOption = Annotated[Variant, typer.Option(help="FlowSim: ours (spec section 3) or ServiceNow's StarFlow one.")]


def _read_workflow(path: Path) -> Workflow:
    if not path.is_file():
        raise FlowGenError(f"{path}: no such file")
    try:
        return parse_workflow(path.read_text(encoding="utf-8"))
    except FlowGenError as error:
        raise FlowGenError(f"{path}: {error}") from error


@app.command()
def schema() -> None:
    """Print the JSON Schema of an answer: a workflow, or an out-of-scope refusal."""
    print(json.dumps(answer_schema(), indent=2))


@app.command("validate")
def validate_cmd(ctx: typer.Context, file: Path, tenant: TenantOption = "core") -> None:
    """Check a workflow against the structure and catalog rules; exit 1 when it breaks any."""
    workflow = _read_workflow(file)
    catalog = load_catalog(tenant, settings_of(ctx).catalog_dir)
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
    ctx: typer.Context,
    predictions: Annotated[Path, typer.Option(help="JSONL of {id, output}.")],
    references: Annotated[Path, typer.Option(help="JSONL of dataset examples.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, report.md and matrix.csv.")],
    variant: VariantOption = "flowgen",
) -> None:
    """Score predictions: FlowSim, structure / catalog errors, validated scores, feature analysis."""
    settings = settings_of(ctx)
    refs = load_references(references)
    preds = load_predictions(predictions)
    with progress() as bar:
        task = bar.add_task("scoring", total=len(refs))
        report = evaluate(refs, preds, lambda t: load_catalog(t, settings.catalog_dir), lambda: bar.advance(task),
                          variant)  # fmt: skip
    paths = write_report(report, out)
    s = report.summary
    print(
        f"samples {s.samples}  outline {s.outline:.1f}  outline+inputs {s.inputs:.1f}  "
        f"structure errors {s.structure_error_pct:.1f}%  catalog errors {s.catalog_error_pct:.1f}%  "
        f"validated {s.outline_validated:.1f} / {s.inputs_validated:.1f}"
    )
    err.print("wrote " + ", ".join(str(p) for p in paths))
