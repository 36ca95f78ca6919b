"""Retrieve -> createFlow -> populateInputs (all steps at once) -> assemble -> validate.

A workflow of N steps costs at most N+1 model calls: one outline, then one call per step (and the
trigger) that takes inputs, all submitted together so that the engine batches them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field

from flowgen.catalog import Catalog
from flowgen.catalog.model import StepSpec
from flowgen.errors import ClientError
from flowgen.expressions import drop_contradictions
from flowgen.validation import ValidationReport, validate
from flowgen.workflow import Input, OutOfScope, Step, Trigger, Workflow
from retrieval.scope import REFUSE_BELOW, refusal
from retrieval.suggest import Retriever

from .answers import conforming
from .engines import Completer, Completion, GenerationFailed
from .inputs import Unfillable, step_schema, without_unfillable
from .outline import OutlinePlan, outline_schema, to_plan
from .prompts import Style, inputs_prompt, outline_prompt

Event = Callable[[str, dict[str, Any]], Awaitable[None]]
MAX_REQUIREMENT_CHARS = 2000


def normalize(requirement: str) -> str:
    """The requirement on one line; empty or oversized ones are the caller's error."""
    requirement = " ".join(requirement.split())
    if not requirement:
        raise ClientError("empty requirement: describe the workflow you want")
    if len(requirement) > MAX_REQUIREMENT_CHARS:
        raise ClientError(f"requirement too long: {len(requirement)} characters, at most {MAX_REQUIREMENT_CHARS}")
    return requirement


class Suggester(Protocol):
    """What the pipeline asks of retrieval: in process (`InProcess`) or from a Ray Serve deployment."""

    async def catalog(self, tenant: str) -> Catalog: ...
    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]: ...
    async def tables(self, query: str, tenant: str, k: int) -> list[str]: ...
    async def columns(self, table: str, query: str, tenant: str, k: int) -> list[str]: ...
    async def in_scope(self, requirement: str) -> float: ...


class InProcess:
    """A `Retriever` in this process; its calls are short CPU work, run on the caller's loop."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    async def catalog(self, tenant: str) -> Catalog:
        return self.retriever.catalog(tenant)

    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]:
        return [s.key for s in self.retriever.steps(requirement, tenant, k)]

    async def tables(self, query: str, tenant: str, k: int) -> list[str]:
        return [s.key for s in self.retriever.tables(query, tenant, k)]

    async def columns(self, table: str, query: str, tenant: str, k: int) -> list[str]:
        return [s.column or "" for s in self.retriever.columns(table, query, tenant, k)]

    async def in_scope(self, requirement: str) -> float:
        return self.retriever.in_scope(requirement)


class Result(BaseModel):
    answer: Workflow | OutOfScope
    report: ValidationReport | None = Field(None, description="Rule violations of the workflow (none: valid).")
    timings: dict[str, float] = Field(
        description="Seconds: retrieve, outline and inputs (per stage), time_to_outline, total."
    )
    tokens: int = Field(description="Tokens the model generated, both stages.")
    calls: int = Field(description="Model calls: one outline, then one per step that takes inputs.")
    failures: list[str] = Field([], description="Steps whose inputs could not be generated, and why.")


class Pipeline:
    def __init__(self, engine: Completer, retriever: Suggester, style: Style = "tuned", k_steps: int = 20,
                 outline_tokens: int = 768, input_tokens: int = 200,
                 refuse_below: float = REFUSE_BELOW, check_answers: bool = True) -> None:  # fmt: skip
        self.engine = engine
        # off only for training's teacher: a reference may use a step retrieval missed (the paper trained with
        # real RAG's misses), so its answer can lie outside the grammar it was asked under
        self.check_answers = check_answers
        self.refuse_below = refuse_below  # p(workflow request) under which no model is called (0: never)
        self.retriever = retriever
        self.style = style
        self.k_steps = k_steps
        self.outline_tokens = outline_tokens
        self.input_tokens = input_tokens

    async def run(self, requirement: str, tenant: str = "core", on_event: Event | None = None,
                  perfect_steps: list[str] | None = None,
                  pinned_tables: list[str] | None = None) -> Result:  # fmt: skip
        """Generate a workflow; `perfect_steps` adds steps to the suggestions (the expected ones: perfect-RAG
        ablation; the author's pinned ones), `pinned_tables` puts tables first among the suggested ones."""
        requirement = normalize(requirement)
        emit = on_event or _quiet
        clock = time.perf_counter()
        timings: dict[str, float] = {}

        catalog, suggested, found, in_scope = await asyncio.gather(
            self.retriever.catalog(tenant),
            self.retriever.steps(requirement, tenant, self.k_steps),
            self.retriever.tables(requirement, tenant, 10),
            self._in_scope(requirement),
        )
        if in_scope < self.refuse_below:  # the out-of-scope gate: no model call, no events
            timings["retrieve"] = timings["total"] = time.perf_counter() - clock
            return Result(answer=OutOfScope(reason=refusal(in_scope)), timings=timings, tokens=0, calls=0)
        keys = suggested + list(perfect_steps or [])
        triggers = list(dict.fromkeys(k for k in keys if k in catalog.triggers))
        actions = list(dict.fromkeys(k for k in keys if k in catalog.actions))
        tables = list(dict.fromkeys([*(pinned_tables or []), *found]))
        timings["retrieve"] = time.perf_counter() - clock

        schema = outline_schema(catalog, requirement, triggers, actions, tables, numbered=self.style == "tuned")
        prompt = outline_prompt(self.style, requirement, catalog, triggers, actions, tables)
        outline = await self.engine.complete(prompt, schema, self.outline_tokens)
        tokens, calls = outline.tokens, 1
        try:
            data = self._answer(outline, schema)
        except GenerationFailed as error:
            raise type(error)(f"outline: {error}", error.detail) from error
        timings["time_to_outline"] = time.perf_counter() - clock
        timings["outline"] = timings["time_to_outline"] - timings["retrieve"]
        if "refuse" in data:
            timings["total"] = timings["time_to_outline"]
            return Result(answer=OutOfScope(reason=data["refuse"]), timings=timings, tokens=tokens, calls=calls)
        plan, failures = without_unfillable(catalog, to_plan(data, requirement), tables)
        await emit("outline", {"trigger": plan.trigger.model_dump() if plan.trigger else None,
                               "components": [s.model_dump(exclude_none=True) for s in plan.steps]})  # fmt: skip

        filled, unfilled, stage2_tokens, stage2_calls = await self.populate(requirement, catalog, plan, tables, emit)
        failures += unfilled
        tokens += stage2_tokens
        calls += stage2_calls
        timings["inputs"] = time.perf_counter() - clock - timings["time_to_outline"]
        workflow = _assemble(catalog, plan, {n: v for n, v in filled.items() if v is not None})
        report = validate(workflow, catalog)
        timings["total"] = time.perf_counter() - clock
        return Result(answer=workflow, report=report, timings=timings, tokens=tokens, calls=calls, failures=failures)

    def _answer(self, completion: Completion, schema: dict[str, Any]) -> Any:
        """The answer's JSON, checked against the schema it was asked under unless checking is off."""
        return conforming(completion, schema) if self.check_answers else completion.json()

    async def _in_scope(self, requirement: str) -> float:
        """p(workflow request); the gate is not consulted when it is off."""
        return await self.retriever.in_scope(requirement) if self.refuse_below > 0 else 1.0

    async def populate(self, requirement: str, catalog: Catalog, plan: OutlinePlan, tables: list[str], emit: Event,
                       targets: list[int] | None = None, known: dict[int, dict[str, str]] | None = None,
                       only: dict[int, list[str]] | None = None,
                       ) -> tuple[dict[int, dict[str, str] | None], list[str], int, int]:  # fmt: skip
        """Stage 2 for `targets` (default: the trigger and every step with inputs); `known` values (an edit's
        untouched steps and inputs) are shown in the prompts and kept, not generated; `only`: of a target, the
        inputs to write (an edit writes the inputs it changes, not the optional ones the step went without)."""
        known, only = known or {}, only or {}
        if targets is None:
            targets = ([0] if plan.trigger and catalog.triggers[plan.trigger.type].inputs else []) + [
                s.step for s in plan.steps if (spec := catalog.step(s.name)) and spec.inputs
            ]
        filled: dict[int, dict[str, str] | None] = {}
        failures: list[str] = []
        tokens = 0
        jobs = []
        for number in targets:
            try:
                schema, fixed = step_schema(catalog, plan, number, tables)
            except Unfillable as error:
                failures.append(str(error))
                continue
            fixed.update(kept := known.get(number, {}))
            wanted = only.get(number, schema["properties"])
            schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in kept and k in wanted}
            schema["required"] = [k for k in schema["required"] if k in schema["properties"]]
            if not schema["properties"]:
                filled[number] = fixed
                continue
            jobs.append((number, fixed, schema))

        async def finish(number: int, fixed: dict[str, str], schema: dict[str, Any]) -> None:
            nonlocal tokens
            hints = await self._hints(catalog, plan, number, tables)
            prompt = inputs_prompt(self.style, requirement, plan, known, number, plan.spec(catalog, number), hints)
            try:
                completion = await self.engine.complete(prompt, schema, self.input_tokens)
                tokens += completion.tokens
                written = {k: str(v) for k, v in self._answer(completion, schema).items()}
                values = {**fixed, **_without_contradictions(plan.spec(catalog, number), written)}
                filled[number] = values
                await emit("step", {"step": number, "inputs": values})
            except GenerationFailed as error:
                failures.append(f"step {number}: {error}")
                filled[number] = None

        await asyncio.gather(*(finish(n, f, j) for n, f, j in jobs))  # the engine batches them
        return filled, failures, tokens, len(jobs)

    async def _hints(self, catalog: Catalog, plan: OutlinePlan, number: int, tables: list[str]) -> list[str]:
        table = plan.tables.get(number)
        if table in catalog.tables:
            return await self.retriever.columns(table, plan.part(number).annotation, catalog.tenant, 8)
        return tables[:5]


def _without_contradictions(spec: StepSpec, values: dict[str, str]) -> dict[str, str]:
    """The model's values with no condition that contradicts an earlier one (it could match no record)."""
    kinds = {inp.name: inp.type for inp in spec.inputs}
    return {k: drop_contradictions(v) if kinds.get(k) == "conditions" else v for k, v in values.items()}


async def _quiet(kind: str, data: dict[str, Any]) -> None:
    return None


def _assemble(catalog: Catalog, plan: OutlinePlan, filled: dict[int, dict[str, str]]) -> Workflow:
    def inputs(spec_inputs: list[str], values: dict[str, str]) -> list[Input]:
        order = {name: i for i, name in enumerate(spec_inputs)}
        return [Input(name=k, value=v) for k, v in sorted(values.items(), key=lambda kv: order.get(kv[0], 99))]

    trigger = None
    if plan.trigger:
        spec = catalog.triggers[plan.trigger.type]
        trigger = Trigger(annotation=plan.trigger.annotation, type=plan.trigger.type,
                          inputs=inputs([i.name for i in spec.inputs], filled.get(0, {})))  # fmt: skip
    steps = []
    for step in plan.steps:
        spec_inputs = [i.name for i in (catalog.step(step.name).inputs if catalog.step(step.name) else ())]  # type: ignore[union-attr]
        steps.append(Step(annotation=step.annotation, name=step.name, step=step.step, parent=step.parent,
                          inputs=inputs(spec_inputs, filled.get(step.step, {}))))  # fmt: skip
    return Workflow(trigger=trigger, components=steps)
