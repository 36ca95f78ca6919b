"""Scoring edits against the hand-written edit set (flowdata/handwritten/edits.jsonl).

Per case: FlowSim of the edited workflow against the expected one; the share of the untouched steps
(those the expected workflow keeps as they were) that the edit kept exactly; how many steps the edit
added or removed that the expected edit does not (beyond what was asked); whether an instruction that
needs no change, or that the catalog cannot do, got that answer; and what the edit cost beside what
regenerating the whole workflow costs. Steps are compared by content, pills by the step they name, so
renumbering alone is no change.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from statistics import fmean
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowgen.catalog import Catalog
from flowgen.errors import ClientError
from flowgen.metrics import VARIANTS, Variant
from flowgen.validation import validate
from flowgen.workflow import Step, Workflow

from .records import Cost, load_models

ANSWERS = ("no change needed", "the catalog cannot do this")
_STEP = re.compile(r"\{\{\s*step_([1-9][0-9]*)")


class EditCase(BaseModel):
    """A workflow (a hand-written reference), a follow-up instruction and the workflow it should become."""

    model_config = ConfigDict(extra="forbid")
    id: str
    tenant: str = "core"
    source: str = Field(description="Id of the hand-written reference the workflow is.")
    requirement: str = Field(description="The reference's requirement (for regenerating from scratch).")
    workflow: Workflow
    instruction: str
    kind: str
    script: dict[str, Any] = Field(description="The edit script that makes the expected workflow (or an answer).")
    expected: Workflow


class EditPrediction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    outcome: str = Field(description="edited, one of the two answers, refused, or failed.")
    output: Workflow | None = None
    error: str | None = None
    cost: Cost | None = None
    regenerate: Cost | None = Field(None, description="What generating the edited workflow from scratch cost.")


class EditScore(BaseModel):
    id: str
    kind: str
    outcome: str
    outline: float
    inputs: float
    kept: int = Field(description="Untouched steps the edit kept exactly.")
    untouched: int = Field(description="Steps the expected edit leaves as they were.")
    beyond: int = Field(description="Steps added or removed that the expected edit does not add or remove.")
    answer_right: bool | None = Field(None, description="For no-change / impossible cases: answered so.")
    structure_error: bool = False
    catalog_error: bool = False


class EditSummary(BaseModel):
    cases: int
    outline: float
    inputs: float
    kept_pct: float = Field(description="Untouched steps kept exactly, over all cases.")
    beyond_mean: float
    cases_beyond: int
    answers_right: int
    answer_cases: int
    refused: int
    failed: int
    structure_errors: int
    catalog_errors: int
    edit_calls_mean: float | None = None
    edit_tokens_mean: float | None = None
    regenerate_calls_mean: float | None = None
    regenerate_tokens_mean: float | None = None


class EditReport(BaseModel):
    summary: EditSummary
    samples: list[EditScore]


def load_edit_cases(path: Path) -> list[EditCase]:
    cases = load_models(path, EditCase)
    if len({c.id for c in cases}) != len(cases):
        raise ClientError(f"{path}: an edit case id appears twice")
    return cases


def step_keys(workflow: Workflow) -> Counter[tuple[Any, ...]]:
    """Each step by content: name, annotation, inputs with pills naming steps by their content, enclosing block."""
    label = {s.step: (s.name, s.annotation) for s in workflow.components}

    def value(text: str) -> str:
        return _STEP.sub(lambda m: "{{" + repr(label.get(int(m.group(1)))), text)

    def key(step: Step) -> tuple[Any, ...]:
        inputs = tuple(sorted((i.name, value(i.value)) for i in step.inputs))
        return step.name, step.annotation, inputs, label.get(step.parent) if step.parent else None

    return Counter(key(s) for s in workflow.components)


def outline_keys(workflow: Workflow) -> Counter[tuple[str, str | None]]:
    name = {s.step: s.name for s in workflow.components}
    return Counter((s.name, name.get(s.parent) if s.parent else None) for s in workflow.components)


def score_edit(case: EditCase, pred: EditPrediction | None, catalog: Catalog, variant: Variant = "flowgen"
               ) -> EditScore:  # fmt: skip
    outcome = pred.outcome if pred else "missing"
    output = pred.output if pred and pred.output is not None else case.workflow
    before, expected = case.workflow, case.expected
    untouched = step_keys(before) & step_keys(expected)
    kept = untouched & step_keys(output)
    o, e, r = outline_keys(before), outline_keys(expected), outline_keys(output)
    beyond = ((r - o) - (e - o)).total() + ((o - r) - (o - e)).total()
    answer = case.script.get("answer")
    report = validate(output, catalog)
    sim = VARIANTS[variant](output, expected)
    return EditScore(
        id=case.id, kind=case.kind, outcome=outcome, outline=sim.outline, inputs=sim.inputs,
        kept=kept.total(), untouched=untouched.total(), beyond=beyond,
        answer_right=(outcome == answer) if answer else None,
        structure_error=bool(report.structure_errors), catalog_error=bool(report.catalog_errors),
    )  # fmt: skip


def evaluate_edits(cases: list[EditCase], predictions: dict[str, EditPrediction], catalogs: Callable[[str], Catalog],
                   variant: Variant = "flowgen") -> EditReport:  # fmt: skip
    if not cases:
        raise ClientError("no edit cases to score")
    samples = [score_edit(c, predictions.get(c.id), catalogs(c.tenant), variant) for c in cases]
    costs = [p.cost for c in cases if (p := predictions.get(c.id)) and p.cost]
    regenerated = [p.regenerate for c in cases if (p := predictions.get(c.id)) and p.regenerate]
    answered = [s for s in samples if s.answer_right is not None]
    summary = EditSummary(
        cases=len(samples),
        outline=fmean(s.outline for s in samples),
        inputs=fmean(s.inputs for s in samples),
        kept_pct=100.0 * sum(s.kept for s in samples) / max(1, sum(s.untouched for s in samples)),
        beyond_mean=fmean(s.beyond for s in samples),
        cases_beyond=sum(1 for s in samples if s.beyond),
        answers_right=sum(1 for s in answered if s.answer_right),
        answer_cases=len(answered),
        refused=sum(1 for s in samples if s.outcome == "refused"),
        failed=sum(1 for s in samples if s.outcome in ("failed", "missing")),
        structure_errors=sum(1 for s in samples if s.structure_error),
        catalog_errors=sum(1 for s in samples if s.catalog_error),
        edit_calls_mean=fmean(c.calls for c in costs) if costs else None,
        edit_tokens_mean=fmean(c.tokens for c in costs) if costs else None,
        regenerate_calls_mean=fmean(c.calls for c in regenerated) if regenerated else None,
        regenerate_tokens_mean=fmean(c.tokens for c in regenerated) if regenerated else None,
    )
    return EditReport(summary=summary, samples=samples)
