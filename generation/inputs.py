"""Stage 2 (populateInputs) constraint: one JSON object per step, built from the catalog and the outline.

Only the step's own inputs may appear and the required ones must (C002, C003); tables are names of
the tenant's environment and conditions / field values use only the table's columns (C004); every
data pill is one the kernel (`flowgen.semantics.Scope`) makes visible at that step and input, the rule the
validator checks (S008), with dot-walks only through real columns.
Free text is a bounded string without quotes, backslashes or braces.
"""

from __future__ import annotations

import re
from typing import Any

from flowgen.catalog import Catalog
from flowgen.catalog.model import Column, InputSpec
from flowgen.expressions import DATE_RANGES, DYNAMIC_ME, date_range
from flowgen.semantics import OPERATORS, Pill, Scope
from flowgen.validation import validate

from .outline import OutlinePlan

TEXT = r"[!#-\[\]-z|~][ !#-\[\]-z|~]{0,79}"  # printable ASCII without " \ { }, not blank
# A relative date, the only value of a condition with parentheses (every reference's): closed, with a bounded
# number. The model wrote `opened_at<javascript:gs.daysAgoStart(202` and went on to the next term.
DATE_FUNCTION = r"javascript:gs\.[a-zA-Z]{3,24}\(-?[0-9]{0,3}\)"
SHORT = rf"([A-Za-z0-9 _.:@/+-]{{0,30}}|{DATE_FUNCTION})"  # a condition's value; may be empty (ISEMPTY)
NAME = r"[A-Za-z0-9_.:@/()+-][A-Za-z0-9 _.:@/()+-]{0,29}"  # a user, group or other name
WRITTEN_OPERATORS = [op for op, value in OPERATORS.items() if value in ("word", "none")]  # values SHORT can write
STORED_OPERATORS = ("=", "!=", "CHANGESTO", "CHANGESFROM")  # those that compare a column with one of its values
PILL_COLUMN_TYPES = ("choice", "boolean", "reference", "email", "string", "integer", "glide_date_time", "sys_id")
MAX_TERMS = 4


class Offer:
    """The pills the grammar offers one input: those in scope, a record's also dot-walked into its columns."""

    def __init__(self, catalog: Catalog, visible: list[Pill]) -> None:
        self.catalog = catalog
        self.pills: list[Pill] = []
        for pill in visible:
            self.pills.append(pill)
            if pill.type == "record" and pill.table in catalog.tables:
                self._fields(pill, pill.table)

    def _fields(self, pill: Pill, table: str) -> None:
        for column in self.catalog.columns(table).values():
            if column.type not in PILL_COLUMN_TYPES:
                continue
            self.pills.append(_walk(pill, column.name, column.reference))
            if column.reference == "sys_user":  # people: their e-mail and manager are what flows use
                for field in ("email", "manager"):
                    self.pills.append(_walk(pill, f"{column.name}.{field}", None))

    def of(self, *types: str) -> list[str]:
        return [p.text for p in self.pills if p.type in types]


def _walk(pill: Pill, path: str, table: str | None) -> Pill:
    parts = tuple(path.split("."))
    return Pill(pill.text[:-2] + "." + path + "}}", pill.source, pill.output, parts, "field", table)


def _alternation(options: list[str]) -> str:
    return "(" + "|".join(re.escape(o) for o in sorted(set(options), key=lambda o: (-len(o), o))) + ")"


def _terms(catalog: Catalog, columns: dict[str, Column], pills: list[str], assignments: bool) -> list[str]:
    """The alternatives of one term of a query on `columns`, or of one assignment to one of them.

    A choice or boolean column is compared with (`=`, `!=`, `CHANGESTO`, `CHANGESFROM`) or set to one of its stored
    values or a pill, never free text: the fine-tuned model wrote `state=in progress`, `state=4` (no such state) and
    `category=Database`, values the platform does not have. A query may also name a reference's record by its name
    (`assignment_group.name=Network`), the current user (`assigned_toDYNAMIC...`) and a named date range
    (`opened_atONToday@...`), as the references do: the grammar could write none of the three before."""
    free = f"({_alternation(pills)}|{SHORT})" if pills else SHORT
    ops = ["="] if assignments else WRITTEN_OPERATORS
    by_value = [o for o in ops if o in STORED_OPERATORS]
    others = [o for o in ops if o not in STORED_OPERATORS]
    stored = {name: values for name, column in columns.items() if (values := column.stored_values())}
    plain = [name for name in columns if name not in stored]
    if not assignments:
        plain += [f"{name}.name" for name, column in columns.items()
                  if column.reference in catalog.tables and "name" in catalog.columns(column.reference)]  # fmt: skip
    terms = [f"{_alternation(plain)}{_alternation(ops)}{free}"] if plain else []
    groups: dict[tuple[str, ...], list[str]] = {}  # columns with the same stored values share one alternative
    for name, values in stored.items():
        groups.setdefault(tuple(values), []).append(name)
    for values, names in groups.items():
        terms.append(f"{_alternation(names)}{_alternation(by_value)}{_alternation([*pills, *values])}")
        if others:
            terms.append(f"{_alternation(names)}{_alternation(others)}{free}")
    if not assignments:
        if people := [name for name, column in columns.items() if column.reference == "sys_user"]:
            terms.append(f"{_alternation(people)}DYNAMIC{DYNAMIC_ME}")
        if dates := [name for name, column in columns.items() if column.type in ("glide_date_time", "glide_date")]:
            terms.append(f"{_alternation(dates)}ON{_alternation([date_range(r) for r in DATE_RANGES])}")
    return terms


def _query(terms: list[str], assignments: bool) -> str:
    """Up to MAX_TERMS terms; a query's joined by `^` (and) or `^OR`, assignments by `^`."""
    term = "(" + "|".join(terms) + ")"
    separator = "\\^" if assignments else "\\^(OR)?"
    return f"{term}({separator}{term}){{0,{MAX_TERMS - 1}}}"


def input_schema(spec: InputSpec, scope: Offer, table: str | None, candidates: list[str]) -> dict[str, Any] | None:
    """The schema of one input's value; None when nothing valid can be written (no pill in scope)."""
    catalog = scope.catalog
    kind = spec.type
    if kind == "table":
        options = [table] if table else [t for t in candidates if t in catalog.tables]
        return {"enum": options} if options else None
    if kind in ("conditions", "field_values"):
        fields = scope.of("field", "record", "count", "string", "approval_state", "boolean", "integer")
        assignments = kind == "field_values"
        if table in catalog.tables:
            terms = _terms(catalog, catalog.columns(table), fields, assignments)
        elif fields and not assignments:  # no table: a condition compares pills, `{{step_1.record.state}}=2`
            terms = [f"{_alternation(fields)}{_alternation(WRITTEN_OPERATORS)}({_alternation(fields)}|{SHORT})"]
        else:
            terms = []
        if not terms:
            return None
        return {"type": "string", "pattern": "^" + _query(terms, assignments) + "$"}
    if kind in ("record", "records"):
        # a step's `record` is a record of its `table` (the catalog's "Table of the record"): no pill to a record
        # of another table, such as the user of the trigger updated as an incident
        of = table if spec.name == "record" else None
        fits = [p for p in scope.pills if p.type == kind and (not of or not p.table or catalog.related(p.table, of))]
        if of:  # a reference field holds a record too: a change task's {{...current.change_request}} for a change step
            fits += [p for p in scope.pills if p.type == "field" and p.table and catalog.related(p.table, of)]
        return {"enum": [p.text for p in fits]} if fits else None
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
    skeleton = plan.workflow(catalog)
    part = skeleton.components[number - 1] if number else skeleton.trigger
    assert part is not None
    fixed = {inp.name: inp.value for inp in part.inputs}  # tables and loop items, chosen in stage 1
    table = plan.tables.get(number)
    scope = Scope(catalog, skeleton)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for inp in spec.inputs:
        if inp.name in fixed:
            continue
        offer = Offer(catalog, scope.visible(number - 1 if number else None, inp.name))
        queried = (table or spec.own_table()) if inp.type in ("conditions", "field_values") else table
        schema = input_schema(inp, offer, queried, candidates)
        if schema is None:
            if inp.required:
                raise Unfillable(f"step {number}: nothing in scope can fill required input {inp.name!r} of {spec.id}")
            continue
        properties[inp.name] = schema
        if inp.required:
            required.append(inp.name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}, fixed


def without_unfillable(catalog: Catalog, plan: OutlinePlan, tables: list[str]) -> tuple[OutlinePlan, list[str]]:
    """The plan without the leaf steps stage 2 could not fill (a required record no step in scope makes, such
    as a notification about a claim after only an e-mail was sent), with why each went. Such a step could only
    be answered with its required inputs missing, a workflow the platform will not save; a block, or a step
    whose going would break the structure, stays and fails in stage 2 as before."""
    dropped: list[str] = []
    number = 1
    while number <= len(plan.steps):
        why = why_unfillable(catalog, plan, number, tables)
        if why is not None and not any(s.parent == number for s in plan.steps):
            shorter = _without(plan, number)
            if _structure(catalog, shorter) <= _structure(catalog, plan):
                dropped.append(f"{why}; the step is left out")
                plan = shorter
                continue
        number += 1
    return plan, dropped


def why_unfillable(catalog: Catalog, plan: OutlinePlan, number: int, tables: list[str]) -> str | None:
    """Why stage 2 cannot write step `number` of `plan` (a required input nothing in scope can fill), or None."""
    try:
        step_schema(catalog, plan, number, tables)
    except Unfillable as error:
        return str(error)
    return None


def _without(plan: OutlinePlan, number: int) -> OutlinePlan:
    """`plan` without leaf step `number`: the steps after it renumbered, their parents and tables with them."""

    def moved(n: int) -> int:
        return n - 1 if n > number else n

    steps = [s.model_copy(update={"step": moved(s.step), "parent": None if s.parent is None else moved(s.parent)})
             for s in plan.steps if s.step != number]  # fmt: skip
    tables = {moved(n): t for n, t in plan.tables.items() if n != number}
    return OutlinePlan(trigger=plan.trigger, steps=steps, tables=tables)


def _structure(catalog: Catalog, plan: OutlinePlan) -> int:
    return sum(v.kind == "structure" for v in validate(plan.workflow(catalog), catalog).violations)
