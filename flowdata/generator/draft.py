"""A workflow under construction together with the requirement text that describes it.

The requirement is a list of segments: `Clause`s, which steps take as their annotation, and plain
connector strings. Styling (case, typos) is applied to clauses in place, so annotations stay exact
spans of the final requirement.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from flowgen.catalog import Catalog
from flowgen.catalog.model import StepSpec
from flowgen.workflow import Input, Step, Trigger, Workflow


@dataclass(eq=False)
class Clause:
    text: str


Segment = Clause | str


@dataclass(frozen=True)
class Record:
    """A record the requirement talks about: the trigger's record or a loop's current item."""

    table: str
    pill: str  # "{{record_update.current}}" or "{{step_2.item}}"
    noun: str  # "incident"
    pronoun: str = "it"  # "it" / "them" / "each one"

    def field(self, path: str) -> str:
        return self.pill[:-2] + "." + path + "}}"


@dataclass
class _PendingStep:
    name: str
    clause: Clause
    parent: int | None
    inputs: dict[str, str]


@dataclass
class Draft:
    rng: random.Random
    catalog: Catalog
    trigger_type: str | None = None
    trigger_clause: Clause | None = None
    trigger_inputs: dict[str, str] = field(default_factory=dict)
    steps: list[_PendingStep] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)

    def set_trigger(self, type_: str, clause: Clause, **inputs: str) -> None:
        self.trigger_type, self.trigger_clause, self.trigger_inputs = type_, clause, inputs

    def add(self, name: str, clause: Clause, parent: int | None = None, **inputs: str) -> int:
        """Append a step; returns its number (for `{{step_N...}}` pills and children's parent)."""
        self.steps.append(_PendingStep(name, clause, parent, {k: v for k, v in inputs.items() if v}))
        return len(self.steps)

    def pill(self, number: int, output: str) -> str:
        return f"{{{{step_{number}.{output}}}}}"

    def workflow(self, title: str | None = None) -> Workflow:
        trigger = None
        if self.trigger_type is not None:
            assert self.trigger_clause is not None
            spec = self.catalog.triggers[self.trigger_type]
            inputs = _inputs(self.trigger_inputs, spec)
            trigger = Trigger(annotation=self.trigger_clause.text.strip(), type=self.trigger_type, inputs=inputs)
        steps = [
            Step(
                annotation=s.clause.text.strip(),
                name=s.name,
                step=i,
                parent=s.parent,
                inputs=_inputs(s.inputs, self.catalog.step(s.name)),
            )  # fmt: skip
            for i, s in enumerate(self.steps, 1)
        ]
        return Workflow(title=title, trigger=trigger, components=steps)


def _inputs(values: dict[str, str], spec: StepSpec | None) -> list[Input]:
    """Inputs in the catalog's order, so that every reference lists them the same way."""
    order = {inp.name: i for i, inp in enumerate(spec.inputs)} if spec else {}
    return [Input(name=k, value=v) for k, v in sorted(values.items(), key=lambda kv: order.get(kv[0], len(order)))]
