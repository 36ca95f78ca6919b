"""An edit that only repeats what the workflow does: "no change needed", not a second copy of a step."""

from __future__ import annotations

from flowgen.expressions import find_pills
from flowgen.semantics import is_block
from flowgen.workflow import Step, Workflow

from .apply import Applied

IDENTITY = ("email", "user_name", "name", "number", "sys_id", "mobile_phone", "phone")  # fields that name a record


def repeats(before: Workflow, edited: Workflow, applied: Applied) -> list[str]:
    """Why an edit that only adds steps the workflow already has (the same action in the same block, doing the same)
    is "no change needed": told "freeze the card when it's reported stolen" of a flow that does, the edit adapter
    added a second `freeze_card` with the same inputs. Empty when any new step is new, or the edit changes or removes
    a step."""
    new = {n for n in range(1, len(edited.components) + 1) if n not in applied.origin}
    if not new or set(applied.changed) != new or len(applied.origin) != len(before.components):
        return []
    notes = []
    for n in sorted(new):
        step = edited.components[n - 1]
        same = next((m for m in applied.origin if _does_the_same(edited.components[m - 1], step)), None)
        if same is None:
            return []
        notes.append(f"new step {step.name} repeats step {applied.origin[same]}: the workflow already does this")
    return notes


def _does_the_same(old: Step, new: Step) -> bool:
    """The same action in the same block, each input the same value or the same record ("{{record_create.current}}"
    and "{{record_create.current.user_name}}" both name the new user; "...caller_id.manager" is another)."""
    if old.name != new.name or old.parent != new.parent or is_block(new.name):
        return False
    was, now = {i.name: i.value for i in old.inputs}, {i.name: i.value for i in new.inputs}
    return was.keys() == now.keys() and all(_same_value(was[k], now[k]) for k in was)


def _same_value(a: str, b: str) -> bool:
    return a == b or (_whom(a) is not None and _whom(a) == _whom(b))


def _whom(value: str) -> tuple[str, ...] | None:
    """The record a value that is one pill names, less a field that only identifies it (`IDENTITY`)."""
    pills = find_pills(value)
    if len(pills) != 1 or pills[0].text != value.strip() or pills[0].output is None:
        return None
    path = (pills[0].source, pills[0].output, *pills[0].path)
    return path[:-1] if path[-1] in IDENTITY and len(path) > 2 else path
