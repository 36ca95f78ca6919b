"""Structure rules S001-S010 and catalog rules C001-C004 (spec section 2).

Every violation is reported, not only the first, with the step it concerns and a message that says
what to change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from flowgen.catalog import Catalog
from flowgen.catalog.model import OutputSpec, StepSpec
from flowgen.expressions import Pill, Term, find_pills, parse_assignments, parse_query
from flowgen.semantics import ELEMENTS, Scope, is_block, loops
from flowgen.workflow import Input, Step, Workflow


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    step: int | None
    """Step number; None for the trigger or the workflow as a whole."""
    message: str

    @property
    def kind(self) -> Literal["structure", "catalog"]:
        return "structure" if self.code.startswith("S") else "catalog"

    def __str__(self) -> str:
        where = "trigger" if self.step is None else f"step {self.step}"
        return f"{self.code} {where}: {self.message}"


class ValidationReport(BaseModel):
    violations: list[Violation]

    @property
    def structure_errors(self) -> list[Violation]:
        return [v for v in self.violations if v.kind == "structure"]

    @property
    def catalog_errors(self) -> list[Violation]:
        return [v for v in self.violations if v.kind == "catalog"]

    @property
    def ok(self) -> bool:
        return not self.violations


def validate(workflow: Workflow, catalog: Catalog) -> ValidationReport:
    checker = _Checker(workflow, catalog)
    checker.run()
    return ValidationReport(violations=checker.violations)


class _Checker:
    def __init__(self, workflow: Workflow, catalog: Catalog) -> None:
        self.wf = workflow
        self.catalog = catalog
        self.steps = workflow.components
        self.scope = Scope(catalog, workflow)
        self.tree = self.scope.tree
        self.parent = self.tree.parents
        self.children: dict[int | None, list[int]] = {None: []}  # a step whose parent S002 rejects is in none
        for i, step in enumerate(self.steps):
            if step.parent is None or self.parent[i] is not None:
                self.children.setdefault(self.parent[i], []).append(i)
        self.violations: list[Violation] = []

    def report(self, code: str, step: int | None, message: str) -> None:
        self.violations.append(Violation(code=code, step=step, message=message))

    def run(self) -> None:
        self.check_numbering()
        self.check_parents()
        self.check_contiguity()
        self.check_siblings()
        self.check_blocks()
        self.check_loop_controls()
        self.check_catalog()
        self.check_values()
        self.violations.sort(key=lambda v: (-1 if v.step is None else v.step, v.code))

    # -- structure -------------------------------------------------------------------------

    def check_numbering(self) -> None:
        for i, step in enumerate(self.steps):
            if step.step != i + 1:
                self.report("S001", step.step, f"is at position {i + 1}; number the steps 1..N in list order")

    def check_parents(self) -> None:
        for i, step in enumerate(self.steps):
            if step.parent is None or self.parent[i] is not None:
                continue
            j = self.tree.index.get(step.parent)
            if j is None or j >= i:
                self.report("S002", step.step, f"parent {step.parent} is not an earlier step")
                continue
            blocks = ", ".join(n for n in ELEMENTS if is_block(n))
            self.report("S002", step.step,
                        f"parent {step.parent} is {self.steps[j].name!r}, which holds no steps; nest steps only under "
                        f"{blocks}")  # fmt: skip

    def check_contiguity(self) -> None:
        open_blocks: list[int] = []  # the chain of blocks the previous step is inside (or is)
        for i, step in enumerate(self.steps):
            p = self.parent[i]
            if p is None:  # top level, or a parent S002 rejected
                open_blocks = []
            elif p in open_blocks:
                del open_blocks[open_blocks.index(p) + 1 :]
            else:
                self.report(
                    "S003", step.step,
                    f"its block (step {step.parent}) was closed by an earlier step outside it; "
                    "a block's children must directly follow it",
                )  # fmt: skip
                open_blocks = []
            if is_block(step.name):
                open_blocks.append(i)

    def check_siblings(self) -> None:
        """Elements that must follow a sibling (else after if), or be followed by one (try by catch)."""
        for siblings in self.children.values():
            names = [self.steps[i].name for i in siblings]
            for k, i in enumerate(siblings):
                step, element = self.steps[i], ELEMENTS.get(names[k])
                if element is None:
                    continue
                before = names[k - 1] if k else None
                after = names[k + 1] if k + 1 < len(names) else None
                code = element.code or "S004"
                if element.successor_of and before not in element.successor_of:
                    what = _either(element.successor_of)
                    self.report(code, step.step, f"{step.name} must directly follow {what} at the same level")
                if element.followed_by and after != element.followed_by:
                    what = f"a {element.followed_by}"
                    self.report(code, step.step, f"{step.name} must be directly followed by {what} at the same level")

    def check_blocks(self) -> None:
        """Blocks hold steps; a branch-like element only in its holder, which holds only those."""
        branches = {e.branch_of: (n, e) for n, e in ELEMENTS.items() if e.branch_of}
        for i, step in enumerate(self.steps):
            element = ELEMENTS.get(step.name)
            if element is None or not element.block:
                continue
            kids = self.children.get(i, [])
            if not kids:
                self.report("S009", step.step, f"{step.name} block has no steps inside; add at least one")
            if step.name in branches:
                branch, branch_element = branches[step.name]
                if len(kids) < element.min_children:
                    self.report(branch_element.code or "S006", step.step,
                                f"{step.name} needs at least {element.min_children} {branch} steps inside")  # fmt: skip
                if any(self.steps[k].name != branch for k in kids):
                    self.report(branch_element.code or "S006", step.step,
                                f"every step directly inside {step.name} must be a {branch}")  # fmt: skip
            outer = next((a for a in self.tree.ancestors(i) if self.steps[a].name in element.not_within), None)
            if outer is not None:
                block = self.steps[outer]
                self.report(element.code or "S006", step.step, f"{step.name} cannot be inside another {block.name} "
                            f"(step {block.step}); put its branches in the outer one")  # fmt: skip
            if element.branch_of:
                p = self.parent[i]
                if p is None or self.steps[p].name != element.branch_of:
                    self.report(element.code or "S006", step.step,
                                f"{step.name} may only appear directly inside a {element.branch_of}")  # fmt: skip

    def check_loop_controls(self) -> None:
        for i, step in enumerate(self.steps):
            element = ELEMENTS.get(step.name)
            if (
                element
                and element.loop_control
                and not any(ELEMENTS[self.steps[a].name].loop for a in self.tree.ancestors(i))
            ):
                self.report(element.code or "S007", step.step, f"{step.name} is only allowed inside {_either(loops())}")

    # -- catalog ---------------------------------------------------------------------------

    def check_catalog(self) -> None:
        trigger = self.wf.trigger
        if trigger is not None:
            spec = self.catalog.triggers.get(trigger.type)
            if spec is None:
                self.report("C001", None, f"unknown trigger type {trigger.type!r} for tenant {self.catalog.tenant!r}")
            else:
                self.check_inputs(spec, trigger.inputs, None)
        for step in self.steps:
            spec = self.catalog.step(step.name)
            if spec is None:
                self.report("C001", step.step, f"unknown step {step.name!r} for tenant {self.catalog.tenant!r}")
            else:
                self.check_inputs(spec, step.inputs, step.step)

    def check_inputs(self, spec: StepSpec, inputs: list[Input], number: int | None) -> None:
        given = {inp.name: inp.value for inp in inputs}
        for inp in inputs:
            if spec.input(inp.name) is None:
                allowed = ", ".join(i.name for i in spec.inputs) or "none"
                self.report("C002", number, f"{spec.id} has no input {inp.name!r} (its inputs: {allowed})")
        for required in spec.inputs:
            if required.required and not given.get(required.name, "").strip():
                self.report("C003", number, f"{spec.id} needs input {required.name!r} ({required.description})")

    # -- values: data pills (S008, S010) and tables / columns (C004) -------------------------

    def check_values(self) -> None:
        trigger = self.wf.trigger
        if trigger is not None:
            self.check_step_values(None, trigger.inputs, self.catalog.triggers.get(trigger.type))
        for i, step in enumerate(self.steps):
            self.check_step_values(i, step.inputs, self.catalog.step(step.name))
            self.check_loop(step)

    def check_loop(self, step: Step) -> None:
        """A loop says what it iterates (one pill to a list of records) or when it stops (a condition)."""
        element = ELEMENTS.get(step.name)
        if element is None or not element.loop:
            return
        values = _values(step.inputs)
        if element.items:
            items = values.get(element.items, "").strip()
            pills = find_pills(items)
            if len(pills) != 1 or pills[0].text != items:
                self.report(element.code or "S010", step.step, f"{step.name} needs an {element.items} input that is "
                            "one data pill, e.g. {{step_1.records}}")  # fmt: skip
                return
            output, _ = self.scope.table(pills[0])
            if output is not None and output.type != "records":
                self.report(element.code or "S010", step.step, f"{element.items} {items} is a {output.type}, "
                            "not a list of records")  # fmt: skip
        elif element.condition and not values.get(element.condition, "").strip():
            self.report(element.code or "S010", step.step,
                        f"{step.name} needs a {element.condition} input that says when to stop")  # fmt: skip

    def check_step_values(self, i: int | None, inputs: list[Input], spec: StepSpec | None) -> None:
        number = None if i is None else self.steps[i].step
        for inp in inputs:
            for pill in find_pills(inp.value):
                self.check_pill(pill, i, number, inp.name)
        if spec is None:
            return
        table = self.step_table(spec, inputs)
        for inp in inputs:
            input_spec = spec.input(inp.name)
            if input_spec is None:
                continue
            if input_spec.type == "table" and not find_pills(inp.value) and inp.value not in self.catalog.tables:
                self.report("C004", number, f"table {inp.value!r} does not exist for tenant {self.catalog.tenant!r}")
            elif input_spec.type == "conditions":
                fields = [t.field for t in parse_query(inp.value) if isinstance(t, Term)]
                self.check_columns(fields, table, number, inp.name)
            elif input_spec.type == "field_values":
                fields = [pair[0] for pair in parse_assignments(inp.value) if isinstance(pair, tuple)]
                self.check_columns(fields, table, number, inp.name)

    def step_table(self, spec: StepSpec, inputs: list[Input]) -> str | None:
        """The table a step's conditions and field values are about."""
        values = _values(inputs)
        for input_spec in spec.inputs:
            if input_spec.type == "table" and values.get(input_spec.name) in self.catalog.tables:
                return values[input_spec.name]
        for input_spec in spec.inputs:
            if input_spec.type == "record":
                pills = find_pills(values.get(input_spec.name, ""))
                if len(pills) == 1:
                    return self.scope.table(pills[0])[1]
        return spec.own_table()

    def check_columns(self, fields: list[str], table: str | None, number: int | None, input_name: str) -> None:
        for name in fields:
            if name.startswith("{{"):
                continue  # a data pill on the left: checked as a pill
            if table is None or table not in self.catalog.tables:
                self.report(
                    "C004", number,
                    f"{input_name} uses column {name!r} but the step names no table; "
                    "compare a data pill instead, e.g. {{step_1.record.state}}=2",
                )  # fmt: skip
                continue
            _, missing = self.catalog.resolve_path(table, name.split("."))
            if missing:
                self.report("C004", number, f"{input_name}: table {table!r} has no column {missing!r} (in {name!r})")

    def check_pill(self, pill: Pill, i: int | None, number: int | None, input_name: str) -> None:
        if pill.output is None:
            self.report("S008", number, f"malformed data pill {pill.text}; write {{{{source.output[.field]}}}}")
            return
        why = self.scope.hidden(pill, i, input_name)
        if why:
            self.report("S008", number, f"{pill.text}: {why}")
            return
        source = self.scope.source(pill)
        if pill.path and source is not None and source[1] is not None:
            output = source[1].output(pill.output)
            assert output is not None  # hidden() said so
            self.check_dot_walk(pill, source[0], output, number)

    def check_dot_walk(self, pill: Pill, j: int | None, output: OutputSpec, number: int | None) -> None:
        if output.type == "variables":
            return  # catalog variables are named by the catalog item, not by the catalog
        if output.type != "record":
            self.report("S008", number, f"{pill.text}: output {output.name!r} is a {output.type} and has no fields")
            return
        table = self.scope.output_table(j, output)
        if table is None or table not in self.catalog.tables:
            return  # the table itself is unknown (reported where it is named) or set at run time
        _, missing = self.catalog.resolve_path(table, list(pill.path))
        if missing:
            self.report("C004", number, f"{pill.text}: table {table!r} has no column {missing!r} on that path")


def _either(names: frozenset[str] | list[str]) -> str:
    """E.g. "an if or else_if": the names in the order the format lists them."""
    ordered = [n for n in ELEMENTS if n in names]
    return ("an " if ordered[0][0] in "aeiou" else "a ") + " or ".join(ordered)


def _values(inputs: list[Input]) -> dict[str, str]:
    return {inp.name: inp.value for inp in inputs}
