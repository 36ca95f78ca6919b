"""A readable diff of an edit: one line per step that was added, removed, moved or changed."""

from __future__ import annotations

import re

from flowgen.workflow import Step, Workflow

_STEP = re.compile(r"\{\{step_([1-9][0-9]*)")


def _label(step: Step) -> str:
    return f'{step.name} "{step.annotation}"'


def describe(before: Workflow, after: Workflow, origin: dict[int, int], changed: list[int]) -> list[str]:
    """`origin`: step number after -> before for the steps the edit kept; `changed`: numbers after."""
    lines = []
    if 0 in changed and before.trigger and after.trigger:
        lines += _inputs("trigger", {i.name: i.value for i in before.trigger.inputs},
                         {i.name: i.value for i in after.trigger.inputs})  # fmt: skip
    kept = set(origin.values())
    new_number = {old: new for new, old in origin.items()}
    for step in before.components:
        if step.step not in kept:
            lines.append(f"- {step.step}. {_label(step)}")
    for step in after.components:
        old = origin.get(step.step)
        if old is None:
            inside = f" (inside {step.parent})" if step.parent else ""
            lines.append(f"+ {step.step}. {_label(step)}{inside}")
            continue
        was = before.components[old - 1]
        parent_was = origin.get(step.parent, -1) if step.parent else None  # -1: a new block
        if parent_was != was.parent:
            where = f"inside {step.parent}" if step.parent else "at the top level"
            lines.append(f"> {old} -> {step.step}. {_label(step)} now {where}")
        if step.step in changed:
            renumbered = {i.name: _renumber(i.value, new_number) for i in was.inputs}
            lines += _inputs(f"{old} -> {step.step}. {step.name}", renumbered, {i.name: i.value for i in step.inputs})
    return lines


def _inputs(where: str, before: dict[str, str], after: dict[str, str]) -> list[str]:
    out = []
    for name in dict.fromkeys([*before, *after]):
        if before.get(name) != after.get(name):
            out.append(f"~ {where}: {name}: {before.get(name, '(none)')!r} -> {after.get(name, '(none)')!r}")
    return out


def _renumber(value: str, new_number: dict[int, int]) -> str:
    """An old value as the edit would have kept it, so that renumbering alone is no change."""
    return _STEP.sub(lambda m: "{{step_" + str(new_number.get(int(m.group(1)), m.group(1))), value)
