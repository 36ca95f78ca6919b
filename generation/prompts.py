"""Prompt templates: tuned (what the fine-tuned model trains on), compact and the paper's style.

The paper's templates for models that were not fine-tuned have sections for context, task
definition, inputs, guidelines, constraints with examples and output format; the compact ones give
the same facts in a few lines with one example. A fine-tuned model needs no example: the tuned
prompts drop it and number the requirement's clauses, so the outline names a clause by its number
(one token) instead of copying it. The grammar enforces the format either way, so the prompt's job
is the content.
"""

from __future__ import annotations

import json
from typing import Literal

from flowgen.catalog import Catalog
from flowgen.catalog.model import StepSpec

from .outline import OutlinePlan, spans

Style = Literal["tuned", "compact", "paper"]

OUTLINE_EXAMPLE = (
    "Requirement: Every time a user becomes inactive, find all incidents where the user is the assignee. "
    "Assign them to their manager.\n"
    'Outline: {"trigger":{"type":"record_update","a":"Every time a user becomes inactive","table":"sys_user"},'
    '"steps":[{"for_each":"Assign them to their manager","find":"find all incidents where the user is the assignee",'
    '"table":"incident","then":[{"do":"update_record","a":"Assign them to their manager","table":"incident"}]}]}\n'
)
INPUTS_EXAMPLE = (
    'Step 2: update_record "Assign them to their manager"\n'
    'Inputs: {"record":"{{step_2.item}}","field_values":"assigned_to={{record_update.current.manager}}"}\n'
)


def _describe(specs: list[StepSpec]) -> str:
    return "\n".join(f"- {s.id}: {s.label}. {s.description}" for s in specs)


def outline_prompt(style: Style, requirement: str, catalog: Catalog, triggers: list[str], actions: list[str],
                   tables: list[str]) -> str:  # fmt: skip
    trigger_specs = [catalog.triggers[t] for t in triggers]
    action_specs = [s for a in actions if (s := catalog.step(a))]
    if style == "tuned":
        return (
            f"Triggers: {', '.join(triggers)}\nSteps: {', '.join(actions)}\nTables: {', '.join(tables)}\n"
            f"Requirement clauses: {clause_list(requirement)}\nOutline: "
        )
    if style == "compact":
        return (
            f"{OUTLINE_EXAMPLE}\nTriggers: {', '.join(triggers)}\nSteps: {', '.join(actions)}\n"
            f"Tables: {', '.join(tables)}\nRequirement: {requirement}\nOutline: "
        )
    return (
        "## Context\nYou build low-code workflows for an enterprise IT service management platform. A workflow "
        "has a trigger (or none), steps, and flow logic (if / else if / else, for each, do until, parallel "
        "branches, try / catch).\n\n"
        "## Task\nWrite the outline of the workflow that implements the requirement: the trigger, the steps in "
        "order with their nesting, and for every step the part of the requirement it implements.\n\n"
        f"## Inputs\nRequirement: {requirement}\n\nTrigger types you may use:\n{_describe(trigger_specs)}\n\n"  # type: ignore[arg-type]
        f"Steps you may use:\n{_describe(action_specs)}\n\nTables: {', '.join(tables)}\n\n"
        "## Guidelines\n- Use only the listed triggers and steps; flow logic is always available.\n"
        "- Looking up many records and acting on each is a for_each with the look-up in `find`.\n"
        '- Steps the requirement implies count too ("close its tasks" = look up the tasks, for each, update).\n'
        '- A request that asks for no automation gets {"refuse": "not a workflow request"}.\n\n'
        f"## Constraints with examples\n{OUTLINE_EXAMPLE}\n## Output format\nOne JSON object, nothing else.\n\n"
        f"Requirement: {requirement}\nOutline: "
    )


def clause_list(requirement: str) -> str:
    """The requirement's clauses, numbered as the tuned outline's annotations refer to them."""
    return " | ".join(f"{i} {clause}" for i, clause in enumerate(spans(requirement), 1))


def flow_so_far(plan: OutlinePlan, filled: dict[int, dict[str, str]]) -> str:
    lines = []
    if plan.trigger:
        lines.append(f'trigger: {plan.trigger.type} "{plan.trigger.annotation}" {json.dumps(filled.get(0, {}))}')
    for step in plan.steps:
        indent = "  " * _depth(plan, step.step)
        known = json.dumps(filled[step.step]) if step.step in filled else ""
        lines.append(f'{indent}{step.step}. {step.name} "{step.annotation}" {known}'.rstrip())
    return "\n".join(lines)


def _depth(plan: OutlinePlan, number: int) -> int:
    depth, parent = 0, plan.steps[number - 1].parent
    while parent is not None:
        depth, parent = depth + 1, plan.steps[parent - 1].parent
    return depth


def inputs_prompt(style: Style, requirement: str, plan: OutlinePlan, fixed: dict[int, dict[str, str]], number: int,
                  spec: StepSpec, hints: list[str]) -> str:  # fmt: skip
    """The stage-2 prompt; everything before the step line is shared by the workflow's calls (prefix cache)."""
    annotation = plan.part(number).annotation
    if style == "tuned":  # the fine-tuned model knows the core inputs; names and types carry custom ones
        inputs = ", ".join(f"{i.name} ({i.type}{', required' if i.required else ''})" for i in spec.inputs)
    else:
        inputs = "\n".join(
            f"- {i.name} ({i.type}{', required' if i.required else ''}): {i.description}" for i in spec.inputs
        )
    head = f"Requirement: {requirement}\nWorkflow:\n{flow_so_far(plan, fixed)}\n"
    if style == "paper":
        head = (
            "## Context\nYou fill in the inputs of one step of a low-code workflow.\n## Task\nWrite the step's "
            "inputs as a JSON object, using the annotation and the workflow so far.\n" + head
        )
    example = "" if style == "tuned" else f"\n{INPUTS_EXAMPLE}"
    return (
        f'{head}{example}\nStep {number}: {spec.id} "{annotation}"\nInputs of {spec.id}:\n{inputs}\n'
        f"Suggested: {', '.join(hints)}\nInputs: "
    )
