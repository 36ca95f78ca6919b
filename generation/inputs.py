"""Stage 2 (populateInputs) constraint: one JSON object per step, built from the catalog and the outline.

Only the step's own inputs may appear and the required ones must (C002, C003); tables are names of
the tenant's environment and conditions / field values use only the table's columns (C004); every
data pill is one the step can see: the trigger's and earlier steps' outputs, a loop's item only
inside it, a do_until's body in its condition (S008), with dot-walks only through real columns.
Free text is a bounded string without quotes, backslashes or braces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowgen.catalog import Catalog
from flowgen.catalog.model import InputSpec, StepSpec

from .outline import OutlinePlan

TEXT = r"[!#-\[\]-z|~][ !#-\[\]-z|~]{0,79}"  # printable ASCII without " \ { }, not blank
SHORT = r"[A-Za-z0-9 _.:@/()+-]{0,30}"  # a condition's value; may be empty (ISEMPTY)
NAME = r"[A-Za-z0-9_.:@/()+-][A-Za-z0-9 _.:@/()+-]{0,29}"  # a user, group or other name
OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "LIKE", "STARTSWITH", "CHANGESTO", "VALCHANGES", "ISEMPTY", "ISNOTEMPTY")
PILL_COLUMN_TYPES = ("choice", "boolean", "reference", "email", "string", "integer", "glide_date_time")
MAX_TERMS = 4


@dataclass(frozen=True)
class Pill:
    text: str  # {{step_1.records}}
    type: str  # record, records, count, string, field, ...
    table: str | None = None


class Scope:
    """The data pills one step may use, with the tables of the records they hold."""

    def __init__(self, catalog: Catalog, plan: OutlinePlan, number: int, input_name: str = "") -> None:
        self.catalog = catalog
        self.pills: list[Pill] = []
        if plan.trigger is not None:
            spec = catalog.triggers.get(plan.trigger.type)
            if spec is not None and number > 0:
                self._outputs(plan.trigger.type, spec, plan.tables.get(0))
        steps = plan.steps
        ancestors = _ancestors(plan, number)
        for other in steps:
            j = other.step
            in_own_body = number > 0 and steps[number - 1].name == "do_until" and number in _ancestors(plan, j)
            visible = j < number or (in_own_body and input_name == "condition")
            spec = catalog.step(other.name)
            if not visible or spec is None:
                continue
            if other.name == "for_each":
                if j in ancestors:  # the item exists only inside its loop; its table is that of the look-up
                    self._record(f"step_{j}.item", "record", plan.tables.get(j - 1))
                continue
            self._outputs(f"step_{j}", spec, plan.tables.get(j))

    def _outputs(self, source: str, spec: StepSpec, table: str | None) -> None:
        for output in spec.outputs:
            known = output.table or (table if output.table_from else None)
            self._record(f"{source}.{output.name}", output.type, known)

    def _record(self, path: str, kind: str, table: str | None) -> None:
        self.pills.append(Pill("{{" + path + "}}", kind, table))
        if kind != "record" or table not in self.catalog.tables:
            return
        for column in self.catalog.columns(table).values():
            if column.type not in PILL_COLUMN_TYPES:
                continue
            self.pills.append(Pill("{{" + f"{path}.{column.name}" + "}}", "field", None))
            if column.reference == "sys_user":  # people: their e-mail and manager are what flows use
                for field in ("email", "manager"):
                    self.pills.append(Pill("{{" + f"{path}.{column.name}.{field}" + "}}", "field", None))

    def of(self, *types: str) -> list[str]:
        return [p.text for p in self.pills if p.type in types]


def _ancestors(plan: OutlinePlan, number: int) -> set[int]:
    out: set[int] = set()
    parent = plan.steps[number - 1].parent if number else None
    while parent is not None:
        out.add(parent)
        parent = plan.steps[parent - 1].parent
    return out


def _alternation(options: list[str]) -> str:
    return "(" + "|".join(re.escape(o) for o in sorted(set(options), key=lambda o: (-len(o), o))) + ")"


def _query(columns: list[str], pills: list[str], assignments: bool) -> str:
    value = f"({_alternation(pills)}|{SHORT})" if pills else SHORT
    ops = "=" if assignments else _alternation(list(OPERATORS))
    term = f"{_alternation(columns)}{ops}{value}"
    return f"{term}(\\^{term}){{0,{MAX_TERMS - 1}}}"


def input_schema(spec: InputSpec, scope: Scope, table: str | None, candidates: list[str]) -> dict[str, Any] | None:
    """The schema of one input's value; None when nothing valid can be written (no pill in scope)."""
    catalog = scope.catalog
    kind = spec.type
    if kind == "table":
        options = [table] if table else [t for t in candidates if t in catalog.tables]
        return {"enum": options} if options else None
    if kind in ("conditions", "field_values"):
        fields = scope.of("field", "record", "count", "string", "approval_state", "boolean", "integer")
        columns = list(catalog.columns(table)) if table in catalog.tables else []
        if not columns and kind == "field_values":
            return None
        left = columns or fields
        if not left:
            return None
        return {"type": "string", "pattern": "^" + _query(left, fields, kind == "field_values") + "$"}
    if kind in ("record", "records"):
        options = scope.of(kind)
        return {"enum": options} if options else None
    if kind == "reference":
        options = scope.of("field", "record")
        name = {"type": "string", "pattern": f"^{NAME}$"}
        return {"anyOf": [{"enum": options}, name]} if options else name
    if kind == "choice":
        return {"enum": list(spec.choices)}
    if kind == "email":
        options = [p for p in scope.of("field") if p.endswith(".email}}")]
        address = {"type": "string", "pattern": r"^[a-z0-9._-]{1,30}@[a-z0-9.-]{1,30}$"}
        return {"anyOf": [{"enum": options}, address]} if options else address
    patterns = {
        "duration": r"^[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
        "integer": r"^[0-9]{1,5}$",
        "boolean": r"^(true|false)$",
        "datetime": r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?$",
        "variables": r"^[a-z_]{1,30}=" + NAME + "$",
    }
    return {"type": "string", "pattern": patterns.get(kind, f"^{TEXT}$")}


class Unfillable(Exception):
    """A required input for which nothing valid exists in scope (the step's failure, reported)."""


def step_schema(
    catalog: Catalog, plan: OutlinePlan, number: int, candidates: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON Schema of one step's inputs (0: the trigger) and the inputs fixed without the model."""
    spec = plan.spec(catalog, number)
    fixed: dict[str, str] = {}
    table = plan.tables.get(number)
    if number and plan.steps[number - 1].name == "for_each":
        fixed["items"] = f"{{{{step_{number - 1}.records}}}}"  # the look-up the outline paired with it
    properties: dict[str, Any] = {}
    required: list[str] = []
    scopes: dict[bool, Scope] = {}  # a do_until's condition sees its body; other inputs do not
    for inp in spec.inputs:
        if inp.name in fixed:
            continue
        if inp.type == "table" and table:
            fixed[inp.name] = table
            continue
        key = inp.name == "condition"
        scope = scopes.setdefault(key, Scope(catalog, plan, number, inp.name))
        schema = input_schema(inp, scope, table, candidates)
        if schema is None:
            if inp.required:
                raise Unfillable(f"step {number}: nothing in scope can fill required input {inp.name!r} of {spec.id}")
            continue
        properties[inp.name] = schema
        if inp.required:
            required.append(inp.name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}, fixed
