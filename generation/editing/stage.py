"""The edit stage: instruction -> edit script (one constrained call) -> applied -> stage 2 for what it added.

Retrieval suggests steps and tables for the instruction as stage 1's does for a requirement; the
workflow must be valid first (a client error otherwise), so every rule the result breaks is the edit's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from flowgen.catalog import Catalog
from flowgen.errors import ClientError
from flowgen.expressions import with_terms
from flowgen.validation import ValidationReport, validate
from flowgen.workflow import Input, Workflow
from generation.answers import conforming
from generation.engines.base import Completer
from generation.inputs import why_unfillable
from generation.outline import OutlinePlan
from generation.pipeline import MAX_REQUIREMENT_CHARS, Event, Pipeline

from .apply import Applied, EditRefused, UnfillableRule, apply
from .diff import describe
from .grammar import edit_schema, numbered, to_script
from .repeats import repeats
from .script import NO_CHANGE, EditScript
from .view import edit_prompt, plan_of, values
from .wording import asks_to_remove

TERMS = ("field_values", "conditions")  # inputs whose terms an edit changes one by one
UNCHANGED = "the edit changed nothing: the values written for it are the ones the workflow has"
Outcome = Literal["edited", "no change needed", "the catalog cannot do this", "refused"]


class InvalidWorkflow(ClientError):
    """A workflow sent for editing that breaks the rules: it is fixed first, not edited."""

    status_code = 422


class EditResult(BaseModel):
    outcome: Outcome = Field(
        description="edited; an answer that leaves it as it is; refused: the script broke a rule, or changed nothing."
    )
    workflow: Workflow = Field(description="The edited workflow (the one sent, unless edited).")
    script: EditScript
    diff: list[str] = Field(description="What changed, a line per step, numbered as before -> after.")
    changed: list[int] = Field([], description="Numbers of new and changed steps in the result (0: the trigger).")
    report: ValidationReport
    timings: dict[str, float] = Field(description="Seconds: retrieve, edit, inputs, total.")
    tokens: int = Field(description="Tokens the model generated: the script and stage 2.")
    calls: int = Field(description="Model calls: one for the script, one per new or changed step with inputs.")
    failures: list[str] = []
    notes: list[str] = Field(
        [], description="What the edit did beyond its script, or why it is no change: `Applied.notes`, `repeats`."
    )


@dataclass(frozen=True)
class EditCall:
    catalog: Catalog
    tables: list[str]
    prompt: str
    schema: dict[str, Any]


def check_instruction(instruction: str) -> str:
    instruction = " ".join(instruction.split())
    if not instruction:
        raise ClientError("empty instruction: say what to change in the workflow")
    if len(instruction) > MAX_REQUIREMENT_CHARS:
        raise ClientError(f"instruction too long: {len(instruction)} characters, at most {MAX_REQUIREMENT_CHARS}")
    return instruction


def check_workflow(workflow: Workflow, catalog: Catalog) -> None:
    report = validate(workflow, catalog)
    if not report.ok:
        problems = "; ".join(str(v) for v in report.violations)
        raise InvalidWorkflow(f"the workflow breaks the rules for tenant {catalog.tenant!r}; fix it first: {problems}")


class EditStage:
    """Edits with the pipeline's retriever, prompt style and stage 2; `editor` writes the scripts (an engine's
    `editor`: its edit adapter where it serves one; default the pipeline's engine)."""

    def __init__(self, pipeline: Pipeline, editor: Completer | None = None, edit_tokens: int = 256) -> None:
        self.pipeline = pipeline
        self.editor = editor or pipeline.engine
        self.edit_tokens = edit_tokens

    async def run(self, workflow: Workflow, instruction: str, tenant: str = "core",
                  on_event: Event | None = None) -> EditResult:  # fmt: skip
        instruction = check_instruction(instruction)
        clock = time.perf_counter()
        call = await self.call(workflow, instruction, tenant)
        catalog, tables = call.catalog, call.tables
        timings = {"retrieve": time.perf_counter() - clock}
        completion = await self.editor.complete(call.prompt, call.schema, self.edit_tokens)
        script = to_script(numbered(conforming(completion, call.schema), workflow))
        timings["edit"] = time.perf_counter() - clock - timings["retrieve"]
        tokens, calls = completion.tokens, 1

        def result(outcome: Outcome, edited: Workflow, **extra: object) -> EditResult:
            timings["total"] = time.perf_counter() - clock
            return EditResult(outcome=outcome, workflow=edited, script=script, report=validate(edited, catalog),
                              timings=timings, tokens=tokens, calls=calls, **extra)  # type: ignore[arg-type]  # fmt: skip

        if script.answer is not None:
            return result(script.answer, workflow, diff=[])
        try:
            applied = apply(workflow, script, catalog, unfillable_in(catalog, tables))
        except EditRefused as refused:
            return result("refused", workflow, diff=[], failures=[str(refused)])
        if on_event:
            await on_event("script", {"script": script.model_dump(exclude_none=True), "changed": applied.changed})
        was = replaced_terms(workflow, applied, catalog, instruction)
        edited, failures, extra_tokens, extra_calls = await self.fill(
            applied, instruction, catalog, tables, was, on_event
        )
        tokens, calls = tokens + extra_tokens, calls + extra_calls
        timings["inputs"] = time.perf_counter() - clock - timings["retrieve"] - timings["edit"]
        if repeated := repeats(workflow, edited, applied):
            return result(NO_CHANGE, workflow, diff=[], notes=repeated)
        if edited == workflow:  # "set them to priority 2 as well": stage 2 wrote the values the step had
            return result("refused", workflow, diff=[], failures=[UNCHANGED])
        diff = describe(workflow, edited, applied.origin, applied.changed)
        return result(
            "edited",
            edited,
            diff=diff,
            changed=applied.changed,
            failures=applied.left_out + failures,
            notes=applied.notes,
        )

    async def call(self, workflow: Workflow, instruction: str, tenant: str) -> EditCall:
        """The script call's prompt and grammar, with what retrieval found for the instruction (training
        builds its edit examples with this, so that they are the prompts the served model sees)."""
        retriever = self.pipeline.retriever
        catalog = await retriever.catalog(tenant)
        check_workflow(workflow, catalog)
        suggested, found = await asyncio.gather(
            retriever.steps(instruction, tenant, self.pipeline.k_steps), retriever.tables(instruction, tenant, 10)
        )
        used = [s.name for s in workflow.components]
        actions = list(dict.fromkeys(k for k in [*suggested, *used] if k in catalog.actions))
        tables = list(dict.fromkeys(t for t in found if t in catalog.tables))
        return EditCall(
            catalog=catalog,
            tables=tables,
            prompt=edit_prompt(workflow, catalog, instruction, actions, tables),
            schema=edit_schema(workflow, catalog, instruction, actions, tables),
        )

    async def fill(self, applied: Applied, instruction: str, catalog: Catalog, tables: list[str],
                   was: dict[int, dict[str, str]],
                   on_event: Event | None) -> tuple[Workflow, list[str], int, int]:  # fmt: skip
        """Stage 2 for the inputs the edit left open; everything else is known and shown in the prompts. Of a set
        term input, the terms stage 2 did not name stay as they `was` (`replaced_terms`), in the stream too."""
        workflow = applied.workflow
        if not applied.pending:
            return workflow, [], 0, 0

        async def emit(kind: str, data: dict) -> None:
            if kind == "step" and data["step"] in was:
                data = {**data, "inputs": _with_terms(data["inputs"], was[data["step"]])}
            await (on_event or _quiet)(kind, data)

        reopened = {n for n in applied.pending if n == 0 or n in applied.origin}
        filled, failures, tokens, calls = await self.pipeline.populate(
            instruction, catalog, as_told(plan_of(workflow, catalog), reopened, instruction), tables, emit,
            targets=sorted(applied.pending), known=values(workflow), only=applied.pending,
        )  # fmt: skip
        steps = list(workflow.components)
        trigger = workflow.trigger
        for number, given in filled.items():
            if given is None:
                continue
            given = _with_terms(given, was.get(number, {}))
            if number == 0 and trigger is not None:
                order = [i.name for i in catalog.triggers[trigger.type].inputs]
                trigger = trigger.model_copy(update={"inputs": _inputs(given, order)})
            elif number:
                spec = catalog.step(steps[number - 1].name)
                order = [i.name for i in spec.inputs] if spec else []
                steps[number - 1] = steps[number - 1].model_copy(update={"inputs": _inputs(given, order)})
        return workflow.model_copy(update={"trigger": trigger, "components": steps}), failures, tokens, calls


def as_told(plan: OutlinePlan, reopened: set[int], instruction: str) -> OutlinePlan:
    """Stage 2's view of the steps whose inputs a `set` reopened: the instruction says their new values, so it is
    their annotation there, and their column suggestions come from it. Told "set them to priority 2 as well", stage 2
    wrote the assignment of the update "assign them to their manager" again, from its annotation."""
    told = {"annotation": instruction}
    trigger = plan.trigger.model_copy(update=told) if plan.trigger and 0 in reopened else plan.trigger
    steps = [s.model_copy(update=told) if s.step in reopened else s for s in plan.steps]
    return plan.model_copy(update={"trigger": trigger, "steps": steps})


def replaced_terms(before: Workflow, applied: Applied, catalog: Catalog, instruction: str) -> dict[int, dict[str, str]]:
    """The values before the edit of the field values and conditions inputs it sets, by step number after it: stage 2
    writes such an input from the instruction ("set them to priority 4 as well": `priority=4`) and the step's other
    fields stay (`with_terms`). Nothing where the instruction asks to take something out ("drop the manager approval"
    drops a term)."""
    if asks_to_remove(instruction):
        return {}
    out: dict[int, dict[str, str]] = {}
    for number, names in applied.pending.items():
        if number == 0:
            step, spec = before.trigger, catalog.triggers.get(before.trigger.type) if before.trigger else None
        elif number in applied.origin:
            step = before.components[applied.origin[number] - 1]
            spec = catalog.step(step.name)
        else:
            continue
        if step is not None and spec is not None:
            terms = {i.name for i in spec.inputs if i.type in TERMS and i.name in names}
            if old := {i.name: i.value for i in step.inputs if i.name in terms}:
                out[number] = old
    return out


def _with_terms(given: dict[str, str], was: dict[str, str]) -> dict[str, str]:
    return {k: with_terms(was[k], v) if k in was else v for k, v in given.items()}


def _inputs(given: dict[str, str], order: list[str]) -> list[Input]:
    rank = {name: i for i, name in enumerate(order)}
    return [Input(name=k, value=v) for k, v in sorted(given.items(), key=lambda kv: rank.get(kv[0], len(rank)))]


def unfillable_in(catalog: Catalog, tables: list[str]) -> UnfillableRule:
    """Stage 2's rule (`inputs.why_unfillable`) for the steps of an edited workflow, seen as stage 2 sees it."""
    return lambda workflow, number: why_unfillable(catalog, plan_of(workflow, catalog), number, tables)


async def _quiet(kind: str, data: dict) -> None:
    return None
