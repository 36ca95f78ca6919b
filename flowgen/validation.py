"""Structure rules S001-S010 and catalog rules C001-C004 (spec section 2).

Every violation is reported, not only the first, with the step it concerns and a message that says
what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from flowgen.catalog import Catalog
from flowgen.catalog.model import OutputSpec, StepSpec
from flowgen.expressions import Pill, Term, find_pills, parse_assignments, parse_query
from flowgen.workflow import Input, Step, Workflow

LOOPS = frozenset({"for_each", "do_until"})
CONDITIONAL_SUCCESSORS = frozenset({"else_if", "else"})


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


@dataclass
class _Source:
    """The trigger or a step, as a source of data-pill outputs."""

    spec: StepSpec | None
    inputs: dict[str, str]
    index: int | None  # position in components; None for the trigger


class _Checker:
    def __init__(self, workflow: Workflow, catalog: Catalog) -> None:
        self.wf = workflow
        self.catalog = catalog
        self.steps = workflow.components
        self.violations: list[Violation] = []
        self.index_of: dict[int, int] = {}
        for i, step in enumerate(self.steps):
            self.index_of.setdefault(step.step, i)
        self.parent: list[int | None] = [None] * len(self.steps)
        self.children: dict[int | None, list[int]] = {None: []}

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
            if step.parent is None:
                self.children[None].append(i)
                continue
            j = self.index_of.get(step.parent)
            if j is None or j >= i:
                self.report("S002", step.step, f"parent {step.parent} is not an earlier step")
                continue
            if not self.catalog.is_block(self.steps[j].name):
                self.report(
                    "S002", step.step,
                    f"parent {step.parent} is {self.steps[j].name!r}, which holds no steps; "
                    "nest steps only under if, else_if, else, for_each, do_until, parallel, branch, try or catch",
                )  # fmt: skip
                continue
            self.parent[i] = j
            self.children.setdefault(j, []).append(i)

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
            if self.catalog.is_block(step.name):
                open_blocks.append(i)

    def ancestors(self, i: int) -> list[int]:
        out = []
        p = self.parent[i]
        while p is not None:
            out.append(p)
            p = self.parent[p]
        return out

    def check_siblings(self) -> None:
        for siblings in self.children.values():
            names = [self.steps[i].name for i in siblings]
            for k, i in enumerate(siblings):
                step, before = self.steps[i], names[k - 1] if k else None
                after = names[k + 1] if k + 1 < len(names) else None
                if step.name in CONDITIONAL_SUCCESSORS and before not in ("if", "else_if"):
                    self.report(
                        "S004", step.step,
                        f"{step.name} must directly follow an if or else_if at the same level"
                        + (" (an else ends its chain)" if before == "else" else ""),
                    )  # fmt: skip
                if step.name == "catch" and before != "try":
                    self.report("S005", step.step, "catch must directly follow a try at the same level")
                if step.name == "try" and after != "catch":
                    self.report("S005", step.step, "try must be directly followed by a catch at the same level")

    def check_blocks(self) -> None:
        for i, step in enumerate(self.steps):
            kids = self.children.get(i, [])
            if self.catalog.is_block(step.name) and not kids:
                self.report("S009", step.step, f"{step.name} block has no steps inside; add at least one")
            if step.name == "parallel":
                if len(kids) < 2:
                    self.report("S006", step.step, "parallel needs at least two branch steps inside")
                if any(self.steps[k].name != "branch" for k in kids):
                    self.report("S006", step.step, "every step directly inside parallel must be a branch")
            if step.name == "branch":
                p = self.parent[i]
                if p is None or self.steps[p].name != "parallel":
                    self.report("S006", step.step, "branch may only appear directly inside a parallel")

    def check_loop_controls(self) -> None:
        for i, step in enumerate(self.steps):
            if step.name in ("exit_loop", "skip_iteration") and not any(
                self.steps[a].name in LOOPS for a in self.ancestors(i)
            ):
                self.report("S007", step.step, f"{step.name} is only allowed inside for_each or do_until")

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

    def source(self, pill: Pill) -> _Source | None:
        trigger = self.wf.trigger
        if trigger is not None and pill.source == trigger.type:
            return _Source(self.catalog.triggers.get(trigger.type), _values(trigger.inputs), None)
        number = pill.step
        if number is None or number not in self.index_of:
            return None
        j = self.index_of[number]
        step = self.steps[j]
        return _Source(self.catalog.step(step.name), _values(step.inputs), j)

    def record_table(self, src: _Source, output: OutputSpec) -> str | None:
        """The table of a record / records output, where the workflow fixes it."""
        if output.table:
            return output.table
        if output.table_from:
            return src.inputs.get(output.table_from)
        if output.name == "item" and src.index is not None:  # for_each: the table of its list
            pills = find_pills(src.inputs.get("items", ""))
            return self.pill_table(pills[0])[1] if len(pills) == 1 else None
        return None

    def pill_table(self, pill: Pill) -> tuple[OutputSpec | None, str | None]:
        """The output a pill points at and the table its value belongs to (after dot-walks)."""
        src = self.source(pill)
        if src is None or src.spec is None or pill.output is None:
            return None, None
        output = src.spec.output(pill.output)
        if output is None or output.type not in ("record", "records"):
            return output, None
        table = self.record_table(src, output)
        if table is None or not pill.path:
            return output, table
        column, _ = self.catalog.resolve_path(table, list(pill.path))
        return output, column.reference if column else None

    def check_values(self) -> None:
        trigger = self.wf.trigger
        if trigger is not None:
            self.check_step_values(None, trigger.inputs, self.catalog.triggers.get(trigger.type))
        for i, step in enumerate(self.steps):
            self.check_step_values(i, step.inputs, self.catalog.step(step.name))
            if step.name == "for_each":
                self.check_for_each(step)
            if step.name == "do_until" and not _values(step.inputs).get("condition", "").strip():
                self.report("S010", step.step, "do_until needs a condition input that says when to stop")

    def check_for_each(self, step: Step) -> None:
        items = _values(step.inputs).get("items", "").strip()
        pills = find_pills(items)
        if len(pills) != 1 or pills[0].text != items:
            self.report(
                "S010", step.step, "for_each needs an items input that is one data pill, e.g. {{step_1.records}}"
            )
            return
        output, _ = self.pill_table(pills[0])
        if output is not None and output.type != "records":
            self.report("S010", step.step, f"items {items} is a {output.type}, not a list of records")

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
                    return self.pill_table(pills[0])[1]
        return next((out.table for out in spec.outputs if out.type == "record" and out.table), None)

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
        if pill.source == "flow_variables":
            if not self.flow_variable_defined(pill.output, i):
                self.report("S008", number, f"{pill.text}: no earlier set_flow_variables step sets {pill.output!r}")
            return
        src = self.source(pill)
        trigger = self.wf.trigger
        if src is None:
            if pill.step is not None:
                self.report("S008", number, f"{pill.text}: there is no step {pill.step}")
            else:
                what = f"the trigger is {trigger.type!r}" if trigger else "the flow has no trigger"
                self.report("S008", number, f"{pill.text}: unknown source {pill.source!r} ({what})")
            return
        if src.index is not None:
            if not self.pill_in_scope(src.index, i, input_name):
                self.report("S008", number, f"{pill.text}: step {pill.step} does not run before this one")
                return
        elif i is None:
            self.report("S008", None, f"{pill.text}: trigger inputs cannot use the trigger's own outputs")
            return
        if src.spec is None:
            return  # unknown step or trigger type: C001 already says so
        output = src.spec.output(pill.output)
        if output is None:
            names = ", ".join(o.name for o in src.spec.outputs) or "none"
            self.report(
                "S008", number, f"{pill.text}: {src.spec.id} has no output {pill.output!r} (its outputs: {names})"
            )
            return
        if output.name == "item" and src.index is not None and (i is None or src.index not in self.ancestors(i)):
            self.report("S008", number, f"{pill.text}: the current item is only available inside that for_each")
            return
        if pill.path:
            self.check_dot_walk(pill, src, output, number)

    def pill_in_scope(self, source: int, i: int | None, input_name: str) -> bool:
        if i is None:
            return False
        if source < i:
            return True
        # A do_until checks its condition after its body ran.
        return self.steps[i].name == "do_until" and input_name == "condition" and i in self.ancestors(source)

    def check_dot_walk(self, pill: Pill, src: _Source, output: OutputSpec, number: int | None) -> None:
        if output.type == "variables":
            return  # catalog variables are named by the catalog item, not by the catalog
        if output.type != "record":
            self.report("S008", number, f"{pill.text}: output {output.name!r} is a {output.type} and has no fields")
            return
        table = self.record_table(src, output)
        if table is None or table not in self.catalog.tables:
            return  # the table itself is unknown (reported where it is named) or set at run time
        _, missing = self.catalog.resolve_path(table, list(pill.path))
        if missing:
            self.report("C004", number, f"{pill.text}: table {table!r} has no column {missing!r} on that path")

    def flow_variable_defined(self, name: str, i: int | None) -> bool:
        limit = 0 if i is None else i  # the trigger runs before any
        for step in self.steps[:limit]:
            if step.name == "set_flow_variables":
                pairs = parse_assignments(_values(step.inputs).get("variables", ""))
                if any(isinstance(p, tuple) and p[0] == name for p in pairs):
                    return True
        return False


def _values(inputs: list[Input]) -> dict[str, str]:
    return {inp.name: inp.value for inp in inputs}
