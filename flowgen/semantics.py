"""What a workflow means, written once: each flow-logic element's role, and which data pills a step can see.

The validator checks workflows against it, the stage-1 grammar nests steps by it, the stage-2 grammar offers
exactly the pills it makes visible (so the grammar cannot write a pill the validator rejects), and the feature
tagger, the catalog check and the dataset generator read it. Adding a flow-logic element or a scoping rule is a
change here (docs/workflow-format.md, "Adding a flow-logic element"). The syntax of values (`Pill`, `OPERATORS`)
is `flowgen.expressions`; it is re-exported here, so that the rest of the code reads one vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowgen.expressions import OPERATORS, Pill, find_pills, parse_assignments
from flowgen.workflow import Input, Step, Workflow

if TYPE_CHECKING:
    from flowgen.catalog import Catalog
    from flowgen.catalog.model import OutputSpec, StepSpec

__all__ = ["ELEMENTS", "OPERATORS", "Element", "Pill", "Scope", "Tree"]


@dataclass(frozen=True)
class Element:
    """The role of one flow-logic element (spec section 1); `code` is the spec's rule for its placement."""

    block: bool = False
    """Holds child steps (at least `min_children`, S009)."""
    min_children: int = 1
    loop: bool = False
    """Loop controls may appear inside it."""
    loop_control: bool = False
    """Only inside a loop (S007)."""
    successor_of: frozenset[str] = frozenset()
    """Directly follows a sibling of one of these (else_if after if)."""
    followed_by: str | None = None
    """Is directly followed by a sibling of this (try by catch)."""
    branch_of: str | None = None
    """Appears only directly inside this element, which then holds nothing else (branch in parallel)."""
    not_within: frozenset[str] = frozenset()
    """May not appear anywhere inside one of these (a parallel inside a parallel: the platform's rule)."""
    condition: str | None = None
    """The input that holds its condition."""
    condition_after_body: bool = False
    """The condition is checked after the body ran, so it may use the body's outputs (do_until)."""
    items: str | None = None
    """The input naming the list of records it iterates (for_each)."""
    item_output: str | None = None
    """Its output that exists only inside it: the current item."""
    sealed: bool = False
    """Outputs of steps inside it are not visible outside it (the platform's rule for parallel and try / catch)."""
    sets_variables: str | None = None
    """The input whose `name=value` pairs set flow variables."""
    code: str | None = None
    feature: str | None = None
    """The feature tag (the paper's Table 7) that a workflow using it shows."""


_IF_CHAIN = frozenset({"if", "else_if"})
ELEMENTS: dict[str, Element] = {
    "if": Element(block=True, condition="condition", code="S004", feature="logic_if"),
    "else_if": Element(block=True, successor_of=_IF_CHAIN, condition="condition", code="S004", feature="logic_if"),
    "else": Element(block=True, successor_of=_IF_CHAIN, code="S004", feature="logic_if"),
    "for_each": Element(block=True, loop=True, items="items", item_output="item", code="S010", feature="logic_foreach"),
    "do_until": Element(
        block=True, loop=True, condition="condition", condition_after_body=True, code="S010", feature="logic_dountil"
    ),  # fmt: skip
    "parallel": Element(
        block=True,
        min_children=2,
        not_within=frozenset({"parallel"}),
        sealed=True,
        code="S006",
        feature="logic_parallel",
    ),
    "branch": Element(block=True, branch_of="parallel", sealed=True, code="S006"),
    "try": Element(block=True, followed_by="catch", sealed=True, code="S005", feature="logic_try_catch"),
    "catch": Element(block=True, successor_of=frozenset({"try"}), sealed=True, code="S005"),
    "set_flow_variables": Element(sets_variables="variables", feature="logic_flow_variables"),
    "end_flow": Element(feature="logic_exit_skip"),
    "wait_for_duration": Element(feature="action_wait"),
    "exit_loop": Element(loop_control=True, code="S007", feature="logic_exit_skip"),
    "skip_iteration": Element(loop_control=True, code="S007", feature="logic_exit_skip"),
}
"""Every flow-logic id of the format; the catalog must describe exactly these."""


def is_block(name: str) -> bool:
    element = ELEMENTS.get(name)
    return bool(element and element.block)


def heads() -> list[str]:
    """Blocks that start a construct of their own (if, for_each, ...), not a part of another (else, branch, catch)."""
    return [n for n, e in ELEMENTS.items() if e.block and not e.successor_of and not e.branch_of]


def leaves(inside_loop: bool) -> list[str]:
    """Flow-logic steps that hold nothing and may stand anywhere; loop controls only inside a loop."""
    return [n for n, e in ELEMENTS.items() if not e.block and (inside_loop or not e.loop_control)]


def loops() -> list[str]:
    return [n for n, e in ELEMENTS.items() if e.loop]


@dataclass(frozen=True)
class Tree:
    """The nesting of a flat list of steps, by position (0-based)."""

    parents: tuple[int | None, ...]
    """Position of the enclosing block; None at top level, or where `parent` names no earlier block (S002)."""
    index: dict[int, int]
    """Step number -> position (the first, where numbers repeat: S001)."""

    @classmethod
    def of(cls, steps: Sequence[Step]) -> Tree:
        index: dict[int, int] = {}
        for i, step in enumerate(steps):
            index.setdefault(step.step, i)
        parents: list[int | None] = []
        for i, step in enumerate(steps):
            j = index.get(step.parent) if step.parent is not None else None
            parents.append(j if j is not None and j < i and is_block(steps[j].name) else None)
        return cls(tuple(parents), index)

    def ancestors(self, i: int) -> list[int]:
        """Enclosing blocks, innermost first."""
        out = []
        p = self.parents[i]
        while p is not None:
            out.append(p)
            p = self.parents[p]
        return out


class Scope:
    """Which data pills each step of one workflow may use, and the tables of the records they hold.

    An outline plan is scoped as the workflow of its steps with the inputs stage 1 fixed (tables, loop items).
    """

    def __init__(self, catalog: Catalog, workflow: Workflow) -> None:
        self.catalog = catalog
        self.workflow = workflow
        self.steps = workflow.components
        self.tree = Tree.of(self.steps)

    # -- visibility --------------------------------------------------------------------------------

    def visible(self, at: int | None, input_name: str = "") -> list[Pill]:
        """The pills to outputs (no dot-walks) that input `input_name` of the step at position `at` (None: the
        trigger) may use: the trigger's, earlier steps' not sealed in a block `at` is outside, a loop's item inside
        it, a do_until's body in its condition, flow variables set before."""
        candidates: list[Pill] = []
        trigger = self.workflow.trigger
        spec = self.catalog.triggers.get(trigger.type) if trigger else None
        if trigger is not None and spec is not None:
            candidates += [self._pill(trigger.type, None, out) for out in spec.outputs]
        for j, step in enumerate(self.steps):
            step_spec = self.catalog.step(step.name)
            if step_spec is not None and self.tree.index.get(step.step) == j:
                candidates += [self._pill(f"step_{step.step}", j, out) for out in step_spec.outputs]
        names = dict.fromkeys(name for j in range(at or 0) for name in self._variables(j))
        variables = [Pill("{{flow_variables." + n + "}}", "flow_variables", n, (), "string") for n in names]
        return [p for p in candidates if self.hidden(p, at, input_name) is None] + variables

    def hidden(self, pill: Pill, at: int | None, input_name: str = "") -> str | None:
        """Why `pill` may not be used at position `at` (None: the trigger), or None where it may. Only the
        source and output are judged (dot-walks: `table`). A source whose type is unknown (C001) is not judged."""
        if pill.source == "flow_variables":
            defined = any(pill.output in self._variables(j) for j in range(at or 0))
            return None if defined else f"no earlier set_flow_variables step sets {pill.output!r}"
        source = self.source(pill)
        if source is None:
            trigger = self.workflow.trigger
            if pill.step is not None:
                return f"there is no step {pill.step}"
            what = f"the trigger is {trigger.type!r}" if trigger else "the flow has no trigger"
            return f"unknown source {pill.source!r} ({what})"
        j, spec = source
        if j is None and at is None:
            return "trigger inputs cannot use the trigger's own outputs"
        if j is not None:
            why = self._reach(j, at, input_name)
            if why:
                return why
        if spec is None:
            return None
        output = spec.output(pill.output or "")
        if output is None:
            names = ", ".join(o.name for o in spec.outputs) or "none"
            return f"{spec.id} has no output {pill.output!r} (its outputs: {names})"
        element = ELEMENTS.get(self.steps[j].name) if j is not None else None
        if element and output.name == element.item_output and (at is None or j not in self.tree.ancestors(at)):
            return f"the current item is only available inside that {self.steps[j].name}"
        return None

    def _reach(self, j: int, at: int | None, input_name: str) -> str | None:
        """Why the outputs of the step at `j` are not visible at `at` (None: the trigger), or None."""
        number = self.steps[j].step
        if at is None:
            return f"step {number} does not run before this one"
        element = ELEMENTS.get(self.steps[at].name)
        own_body = bool(element and element.condition_after_body and input_name == element.condition)
        if j >= at and not (own_body and at in self.tree.ancestors(j)):
            return f"step {number} does not run before this one"
        around = self.tree.ancestors(at)
        for b in self.tree.ancestors(j):
            block = ELEMENTS.get(self.steps[b].name)
            if block and block.sealed and b not in around:
                return (f"step {number} is inside the {self.steps[b].name} at step {self.steps[b].step}, whose steps' "
                        "outputs are not visible outside it; set a flow variable inside it instead")  # fmt: skip
        return None

    def _variables(self, j: int) -> set[str]:
        """Flow variables that the step at `j` sets."""
        element = ELEMENTS.get(self.steps[j].name)
        if not element or not element.sets_variables:
            return set()
        pairs = parse_assignments(_values(self.steps[j].inputs).get(element.sets_variables, ""))
        return {p[0] for p in pairs if isinstance(p, tuple)}

    # -- sources and tables ------------------------------------------------------------------------

    def source(self, pill: Pill) -> tuple[int | None, StepSpec | None] | None:
        """The position (None: the trigger) and spec of the step a pill names; None when it names none."""
        trigger = self.workflow.trigger
        if trigger is not None and pill.source == trigger.type:
            return None, self.catalog.triggers.get(trigger.type)
        j = self.tree.index.get(pill.step) if pill.step is not None else None
        if j is None:
            return None
        return j, self.catalog.step(self.steps[j].name)

    def output_table(self, j: int | None, output: OutputSpec) -> str | None:
        """The table of a record / records output of the trigger (None) or the step at `j`, where the workflow
        fixes it: the catalog's, the step's table input, or for a loop's item the table of the list it iterates."""
        if output.table:
            return output.table
        part = self.workflow.trigger if j is None else self.steps[j]
        values = _values(part.inputs) if part else {}
        if output.table_from:
            return values.get(output.table_from)
        element = ELEMENTS.get(self.steps[j].name) if j is not None else None
        if element and output.name == element.item_output and element.items:
            pills = find_pills(values.get(element.items, ""))
            return self.table(pills[0])[1] if len(pills) == 1 else None
        return None

    def table(self, pill: Pill) -> tuple[OutputSpec | None, str | None]:
        """The output a pill points at and the table its value belongs to (after dot-walks)."""
        source = self.source(pill)
        if source is None or source[1] is None or pill.output is None:
            return None, None
        output = source[1].output(pill.output)
        if output is None or output.type not in ("record", "records"):
            return output, None
        table = self.output_table(source[0], output)
        if table is None or not pill.path:
            return output, table
        column, _ = self.catalog.resolve_path(table, list(pill.path))
        return output, column.reference if column else None

    def _pill(self, source: str, j: int | None, output: OutputSpec) -> Pill:
        table = self.output_table(j, output) if output.type in ("record", "records") else None
        return Pill("{{" + f"{source}.{output.name}" + "}}", source, output.name, (), output.type, table)


def _values(inputs: list[Input]) -> dict[str, str]:
    return {inp.name: inp.value for inp in inputs}
