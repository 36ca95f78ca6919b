"""Stage 1 (createFlow) constraint: a nested outline form that cannot break the structure rules.

The model writes a tree, not the flat list: an `if` holds its `elif`s and its `else`, a `try` holds
its `catch`, a `parallel` holds two or more branches, loop controls exist only inside loops, and a
`for_each` carries the look-up that produces its list. So S002-S007, S009 and S010 hold for any
string the grammar accepts; `to_steps` numbers the flat steps (S001). Step names come from an enum
of the suggested actions (C001); annotations from an enum of the requirement's spans, so the model
cannot ramble. Steps and triggers with a table input also pick their table here (an enum of the
tenant's tables), so that every stage-2 call knows its columns and the tables of the pills in scope.
Where no record is in scope (a scheduled trigger or none, outside any for_each, before any step that makes a
record), steps that act on a record cannot be written: stage 2 would have nothing to fill their record with.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from flowgen.catalog import Catalog
from flowgen.catalog.model import StepSpec
from flowgen.semantics import ELEMENTS, leaves
from flowgen.workflow import Input, Step, Trigger, Workflow

MAX_ITEMS = 6  # top-level steps
MAX_BLOCK_ITEMS = 3  # steps inside one block
MAX_DEPTH = 2  # blocks inside blocks
# A stop inside a word is no clause's end: "network-ops@acme.com", "18:00", "monitor.acme.com/api".
_SPLIT = re.compile(
    r"\s*(?:[.;:!?\n]+(?=\s|$)|,|->|\bthen\b|\band\b|\bif\b(?=.*\bthen\b)|\botherwise\b)\s*", re.IGNORECASE
)


class OutlinePlan(BaseModel):
    """The flat outline and the tables chosen in stage 1 (by step number; 0 for the trigger)."""

    trigger: Trigger | None
    steps: list[Step]
    tables: dict[int, str]

    def part(self, number: int) -> Trigger | Step:
        """The trigger (0) or step `number`."""
        if number == 0:
            assert self.trigger is not None
            return self.trigger
        return self.steps[number - 1]

    def spec(self, catalog: Catalog, number: int) -> StepSpec:
        part = self.part(number)
        spec = catalog.triggers.get(part.type) if isinstance(part, Trigger) else catalog.step(part.name)
        assert spec is not None, f"step {number} is not in the catalog"
        return spec

    def workflow(self, catalog: Catalog) -> Workflow:
        """The outline as a workflow with the inputs stage 1 fixes: the chosen tables, and each loop's items (the
        look-up that the outline pairs with it, just before it). What stage 2 may use is scoped on this."""

        def fixed(part: Trigger | Step, number: int) -> list[Input]:
            spec = self.spec(catalog, number)
            out = [Input(name=i.name, value=self.tables[number]) for i in spec.inputs
                   if i.type == "table" and number in self.tables]  # fmt: skip
            items = ELEMENTS[part.name].items if isinstance(part, Step) and part.name in ELEMENTS else None
            if items:
                out.append(Input(name=items, value="{{" + f"step_{number - 1}.records" + "}}"))
            return out

        trigger = self.trigger and self.trigger.model_copy(update={"inputs": fixed(self.trigger, 0)})
        steps = [s.model_copy(update={"inputs": fixed(s, s.step)}) for s in self.steps]
        return Workflow(trigger=trigger, components=steps)


def spans(requirement: str) -> list[str]:
    """Candidate annotations: the requirement's clauses and sentences, as written."""
    text = " ".join(requirement.split())
    out = [p.strip(" ,") for p in re.split(r"(?<=[.!?;\n])\s+", text)]
    out += [p.strip(" ,") for p in _SPLIT.split(text)]
    return list(dict.fromkeys(p for p in out if len(p) >= 3))


def needs_record(catalog: Catalog, name: str) -> bool:
    """Whether a step acts on a record it must be given (update, comment, approve...): a required record input."""
    spec = catalog.step(name)
    return bool(spec and any(i.type == "record" and i.required for i in spec.inputs))


def makes_record(catalog: Catalog, name: str) -> bool:
    """Whether a trigger or step puts a record in scope for the steps after it (a record-typed output)."""
    spec = catalog.triggers.get(name) or catalog.step(name)
    return bool(spec and any(o.type == "record" for o in spec.outputs))


def takes_table(catalog: Catalog, name: str) -> bool:
    """Whether a step or trigger has a table input: its table is chosen in stage 1, so that stage 2
    knows the columns of its conditions and field values and the table of its record outputs."""
    spec = catalog.triggers.get(name) or catalog.step(name)
    return bool(spec and any(i.type == "table" for i in spec.inputs))


def outline_schema(
    catalog: Catalog,
    requirement: str,
    triggers: list[str],
    actions: list[str],
    tables: list[str],
    numbered: bool = False,
) -> dict:
    """JSON Schema of the nested outline for one requirement and its suggestions.

    `numbered`: annotations are clause numbers (1-based, into `spans`), not the clauses' text: one token
    instead of ten for a model trained on the numbered prompt (`prompts.clause_list`)."""
    clauses = spans(requirement)
    span = {"enum": list(range(1, len(clauses) + 1)) if numbered else clauses}
    table = {"enum": tables}
    defs: dict[str, Any] = {}
    tracked = {w for element in ELEMENTS.values() for w in element.not_within}  # blocks some element may not enter
    makers = [a for a in actions if makes_record(catalog, a) and not needs_record(catalog, a)]
    record_free = [a for a in actions if not needs_record(catalog, a) and not makes_record(catalog, a)]

    def leaf_kinds(names: list[str], loop: bool | None = None) -> list[dict[str, Any]]:
        """Leaf steps of `names` (with the flow-logic leaves unless `loop` is None): a table input is picked here."""
        with_table = [a for a in names if takes_table(catalog, a)]
        plain = [a for a in names if a not in with_table] + ([] if loop is None else leaves(inside_loop=loop))
        out = [_object({"do": {"enum": plain}, "a": span})] if plain else []
        return out + ([_object({"do": {"enum": with_table}, "a": span, "table": table})] if with_table else [])

    def node(depth: int, loop: bool, within: frozenset[str], bare: bool = False) -> str:
        """The $ref of a step at this depth, inside a loop or not, inside which `tracked` blocks, and `bare` (no
        record in scope: neither a step that needs one nor one that makes one, which `sequence` places); made
        once."""
        name = (f"node_{'loop' if loop else 'top'}{'_bare' if bare else ''}"
                f"{''.join(f'_in_{w}' for w in sorted(within))}_{depth}")  # fmt: skip
        if name not in defs:  # bodies are one level deeper: building one never comes back to this name
            defs[name] = {"anyOf": kinds(depth, loop, within, bare)}
        return f"#/$defs/{name}"

    def kinds(depth: int, loop: bool, within: frozenset[str], bare: bool) -> list[dict[str, Any]]:
        out = leaf_kinds(record_free if bare else actions, loop)
        if depth == MAX_DEPTH:  # blocks nest at most MAX_DEPTH deep: a bounded answer
            return out

        def body(block: str, in_loop: bool = loop, still_bare: bool = bare) -> dict[str, Any]:
            return sequence(depth + 1, in_loop, within | ({block} & tracked), still_bare, MAX_BLOCK_ITEMS)

        blocks = {
            "if": _object({"if": span, "then": body("if"), "elif": {"type": "array", "maxItems": 3,
                           "items": _object({"if": span, "then": body("if")})},
                           "else": _object({"a": span, "then": body("if")})}, optional=("elif", "else")),
            "for_each": _object({"for_each": span, "find": span, "table": table,
                                 "then": body("for_each", True, False)}),  # each item is a record in scope
            "do_until": _object({"do_until": span, "then": body("do_until", True)}),
            "parallel": _object({"parallel": span, "branches": {"type": "array", "maxItems": 3,
                                 "minItems": ELEMENTS["parallel"].min_children,
                                 "items": _object({"a": span, "then": body("parallel")})}}),
            "try": _object({"try": span, "then": body("try"), "catch": _object({"a": span, "then": body("try")})}),
        }  # fmt: skip
        return out + [kind for block, kind in blocks.items() if not ELEMENTS[block].not_within & within]

    def sequence(depth: int, loop: bool, within: frozenset[str], bare: bool, most: int) -> dict[str, Any]:
        """A list of steps. Bare: steps without record work, or such steps up to the first step that makes a
        record (creates or looks one up), then any step."""
        if not bare:
            return _list(node(depth, loop, within), most)
        name = f"list{node(depth, loop, within, True).removeprefix('#/$defs/node')}"
        if name not in defs:  # one definition per kind of place, referenced by every block body there
            forms = [_list(node(depth, loop, within, True), most)]
            if makers:
                before, after = {"$ref": node(depth, loop, within, True)}, {"$ref": node(depth, loop, within)}
                defs.setdefault("maker", {"anyOf": leaf_kinds(makers)})
                forms += [{"type": "array", "prefixItems": [before] * k + [{"$ref": "#/$defs/maker"}],
                           "items": after, "minItems": k + 1, "maxItems": most} for k in range(most)]  # fmt: skip
            defs[name] = {"anyOf": forms} if len(forms) > 1 else forms[0]
        return {"$ref": f"#/$defs/{name}"}

    def trigger_kinds(names: list[str]) -> list[dict[str, Any]]:
        """Triggers of `names`: those with a table input pick it here."""
        with_table = [t for t in names if takes_table(catalog, t)]
        other = [t for t in names if t not in with_table]
        out = [_object({"type": {"enum": with_table}, "a": span, "table": table})] if with_table else []
        return out + ([_object({"type": {"enum": other}, "a": span})] if other else [])

    with_record = [t for t in triggers if makes_record(catalog, t)]
    recordless = [_object({"type": {"enum": ["none"]}}), *trigger_kinds([t for t in triggers if t not in with_record])]
    outlines = [_object({"trigger": {"anyOf": kinds_}, "steps": sequence(0, False, frozenset(), bare, MAX_ITEMS)})
                for kinds_, bare in ((recordless, True), (trigger_kinds(with_record), False)) if kinds_]  # fmt: skip
    refusal = _object({"refuse": {"enum": ["not a workflow request"]}})
    return {"anyOf": [*outlines, refusal], "$defs": defs}


def _list(ref: str, most: int = MAX_BLOCK_ITEMS) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": ref}, "minItems": 1, "maxItems": most}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


def to_plan(outline: dict[str, Any], requirement: str = "") -> OutlinePlan:
    """The flat steps (pre-order, numbered 1..N, parents set) of a nested outline; numbered annotations
    are resolved against the clauses of `requirement`."""
    steps: list[Step] = []
    tables: dict[int, str] = {}
    clauses = spans(requirement)

    def text(annotation: str | int) -> str:
        return clauses[annotation - 1] if isinstance(annotation, int) else annotation

    def add(name: str, annotation: str | int, parent: int | None) -> int:
        steps.append(Step(annotation=text(annotation), name=name, step=len(steps) + 1, parent=parent))
        return len(steps)

    def walk(nodes: list[dict[str, Any]], parent: int | None) -> None:
        for node in nodes:
            if "do" in node:
                number = add(node["do"], node["a"], parent)
                if "table" in node:
                    tables[number] = node["table"]
            elif "if" in node:
                walk(node["then"], add("if", node["if"], parent))
                for branch in node.get("elif", []):
                    walk(branch["then"], add("else_if", branch["if"], parent))
                if "else" in node:
                    walk(node["else"]["then"], add("else", node["else"]["a"], parent))
            elif "for_each" in node:
                look = add("look_up_records", node["find"], parent)
                tables[look] = node["table"]
                walk(node["then"], add("for_each", node["for_each"], parent))
            elif "do_until" in node:
                walk(node["then"], add("do_until", node["do_until"], parent))
            elif "parallel" in node:
                block = add("parallel", node["parallel"], parent)
                for branch in node["branches"]:
                    walk(branch["then"], add("branch", branch["a"], block))
            elif "try" in node:
                walk(node["then"], add("try", node["try"], parent))
                walk(node["catch"]["then"], add("catch", node["catch"]["a"], parent))

    walk(outline["steps"], None)
    trigger = None
    if outline["trigger"]["type"] != "none":
        trigger = Trigger(annotation=text(outline["trigger"]["a"]), type=outline["trigger"]["type"])
        if "table" in outline["trigger"]:
            tables[0] = outline["trigger"]["table"]
    return OutlinePlan(trigger=trigger, steps=steps, tables=tables)


class Inexpressible(ValueError):
    """A workflow the nested outline cannot write (a for_each over anything but the look-up before it)."""


def nearest_clause(clauses: list[str], annotation: str) -> int:
    """Index of the clause that shares most words with `annotation` (its own index when it is one)."""
    if annotation in clauses:
        return clauses.index(annotation)
    words = set(re.findall(r"\w+", annotation.lower()))
    return max(range(len(clauses)), key=lambda i: len(words & set(re.findall(r"\w+", clauses[i].lower()))))


def to_outline(workflow: Workflow, requirement: str, catalog: Catalog, numbered: bool = False) -> dict[str, Any]:
    """The nested outline of a workflow (the inverse of `to_plan`): a stage-1 answer to train on.

    Annotations become the nearest clause of `requirement` (what the grammar lets the model write)."""
    clauses = spans(requirement)
    children: dict[int | None, list[Step]] = {}
    for step in workflow.components:
        children.setdefault(step.parent, []).append(step)

    def a(annotation: str) -> str | int:
        index = nearest_clause(clauses, annotation)
        return index + 1 if numbered else clauses[index]

    def value(part: Step | Trigger, name: str) -> str | None:
        return next((i.value for i in part.inputs if i.name == name), None)

    def nodes(parent: int | None) -> list[dict[str, Any]]:
        kids, out, i = children.get(parent, []), [], 0
        while i < len(kids):
            step = kids[i]
            follower = kids[i + 1] if i + 1 < len(kids) else None
            if (
                step.name == "look_up_records" and follower and follower.name == "for_each"
                and value(follower, "items") == "{{" + f"step_{step.step}.records" + "}}"
            ):  # fmt: skip
                out.append({"for_each": a(follower.annotation), "find": a(step.annotation),
                            "table": value(step, "table"), "then": nodes(follower.step)})  # fmt: skip
                i += 2
                continue
            if step.name == "for_each":
                raise Inexpressible(f"step {step.step}: for_each over something other than the look-up before it")
            if step.name == "if":
                node: dict[str, Any] = {"if": a(step.annotation), "then": nodes(step.step)}
                while i + 1 < len(kids) and kids[i + 1].name == "else_if":
                    i += 1
                    node.setdefault("elif", []).append({"if": a(kids[i].annotation), "then": nodes(kids[i].step)})
                if i + 1 < len(kids) and kids[i + 1].name == "else":
                    i += 1
                    node["else"] = {"a": a(kids[i].annotation), "then": nodes(kids[i].step)}
            elif step.name == "do_until":
                node = {"do_until": a(step.annotation), "then": nodes(step.step)}
            elif step.name == "parallel":
                branches = [{"a": a(b.annotation), "then": nodes(b.step)} for b in children.get(step.step, [])]
                node = {"parallel": a(step.annotation), "branches": branches}
            elif step.name == "try":
                node = {"try": a(step.annotation), "then": nodes(step.step)}
                if i + 1 < len(kids) and kids[i + 1].name == "catch":
                    i += 1
                    node["catch"] = {"a": a(kids[i].annotation), "then": nodes(kids[i].step)}
            else:
                node = {"do": step.name, "a": a(step.annotation)}
                if takes_table(catalog, step.name):
                    node["table"] = value(step, "table")
            out.append(node)
            i += 1
        return out

    trigger: dict[str, Any] = {"type": "none"}
    if workflow.trigger:
        trigger = {"type": workflow.trigger.type, "a": a(workflow.trigger.annotation)}
        if takes_table(catalog, workflow.trigger.type):
            trigger["table"] = value(workflow.trigger, "table")
    return {"trigger": trigger, "steps": nodes(None)}
