"""The edit grammar: a JSON Schema built from the workflow and the tenant's catalog.

The model can name only steps that exist (blocks where a block is needed, siblings for a wrap's range),
inputs that step has, the suggested actions of the tenant and its tables, annotations from the
instruction's own clauses, and a for_each only over a list that is in scope. Values are not written
here: stage 2 writes the inputs of new steps and of the inputs a `set` names. What the instruction's words allow
is offered: steps are deleted, replaced or unwrapped only when it asks to take something out, added only when it
does not set what it wants against what is there, wrapped in an if only when it says when, in a try only when it
talks about failing (each pattern below says what it was written against). "No change needed" and "the catalog
cannot do this" are answers of their own.

Steps are named by their words, "email the assigned to (send_email #1)", not 1 (`step_ref`): told "only send the
email when somebody is assigned", the 270M model picked the number of the step after the email; writing a step's
own words out, it picks the one whose words the instruction uses.
"""

from __future__ import annotations

from itertools import takewhile
from typing import Any

from flowgen import semantics
from flowgen.catalog import Catalog
from flowgen.semantics import Scope, Tree, is_block
from flowgen.workflow import Step, Workflow
from generation.outline import spans, takes_table

from .script import CANNOT, NO_CHANGE, EditScript
from .wording import (
    asks_for_a_condition,
    asks_for_each,
    asks_for_error_handling,
    asks_to_put_before,
    asks_to_remove,
    changes_what_is_there,
    kept_by_instruction,
    mentioned,
    shares,
    stems,
    what_fails,
)

MAX_OPS = 4
MAX_NEW = 3  # new steps in one place, and inside one new block
# ... and no more than the instruction has clauses: "log it as well" adds one step, not a log and an email. No
# hand-written edit adds more steps in one place than its instruction has clauses, so the bound costs no right one.
BLOCKS = ("if", "else_if", "else", "do_until", "try", "catch", "parallel", "branch")


def _depending(workflow: Workflow, steps: set[int]) -> set[int]:
    """`steps` and what goes with them: every step that uses one of their outputs, lies inside one, or is the else of
    one of their ifs, and every block all of whose steps go ("don't text the manager": the parallel branch that only
    texts)."""
    out = set(steps)
    previous: dict[int | None, int] = {}  # the last sibling seen under each parent
    for step in workflow.components:  # in order: a step's inputs name earlier steps only
        pills = " ".join(i.value for i in step.inputs)
        uses = any(f"{{{{step_{n}." in pills or f"{{{{step_{n}}}}}" in pills for n in out)
        branch_of = step.name in ("else_if", "else") and previous.get(step.parent) in out
        if step.parent in out or uses or branch_of:
            out.add(step.step)
        previous[step.parent] = step.step
    children: dict[int, list[int]] = {}
    for step in workflow.components:
        if step.parent is not None:
            children.setdefault(step.parent, []).append(step.step)
    for block in sorted(children, reverse=True):  # inner blocks first: they come after their parents
        if all(c in out for c in children[block]):
            out.add(block)
    return out


TRIGGER = "the trigger"
REF_WORDS = 6  # of the annotation: enough to tell steps apart by what they do, the number settles the rest
REFERRING = ("step", "first", "last")  # the keys of an operation that name a step


def step_ref(step: Step) -> str:
    """How a script names a step: its annotation's first words, its action and number."""
    words = " ".join(step.annotation.split()[:REF_WORDS])
    return f"{words} ({step.name} #{step.step})".lstrip()


def _refs(workflow: Workflow) -> dict[int, str]:
    return {0: TRIGGER, **{s.step: step_ref(s) for s in workflow.components}}


def written(data: dict[str, Any], workflow: Workflow) -> dict[str, Any]:
    """A script with steps by number (as `to_script` reads it) as the model writes it: steps by `step_ref` (a
    number no step has stays, and breaks the grammar)."""
    return _renamed(data, _refs(workflow))


def numbered(data: dict[str, Any], workflow: Workflow) -> dict[str, Any]:
    """The inverse of `written`: a script as the grammar accepted it, with steps by number."""
    return _renamed(data, {ref: n for n, ref in _refs(workflow).items()})


def _renamed(data: dict[str, Any], names: dict[Any, Any]) -> dict[str, Any]:
    ops = [{k: names.get(v, v) if k in REFERRING else v for k, v in op.items()} for op in data.get("ops", [])]
    return {**data, "ops": ops} if "ops" in data else data


def edit_schema(workflow: Workflow, catalog: Catalog, instruction: str, actions: list[str],
                tables: list[str]) -> dict[str, Any]:  # fmt: skip
    """JSON Schema of an edit of `workflow`: operations, or one of the two answers."""
    clauses = spans(instruction) or [instruction]
    span = {"enum": clauses}
    new_at_most = min(MAX_NEW, len(clauses))
    steps = workflow.components
    numbers = [s.step for s in steps]
    blocks = [s.step for s in steps if is_block(s.name)]
    with_table = [a for a in actions if takes_table(catalog, a)]
    plain = [a for a in actions if a not in with_table] + semantics.leaves(inside_loop=True)

    def new_steps(unlike: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """New steps, and the leaves a new block holds; none of them a `unlike` (`replace`)."""
        leaves = [_object({"do": {"enum": [a for a in plain if a != unlike]}, "a": span})]
        if tables and (table_actions := [a for a in with_table if a != unlike]):
            leaves.append(_object({"do": {"enum": table_actions}, "a": span, "table": {"enum": tables}}))
        inner = {"type": "array", "items": {"anyOf": leaves}, "minItems": 1, "maxItems": new_at_most}
        nodes = [*leaves, _object({"do": {"enum": [b for b in BLOCKS if b != unlike]}, "a": span, "then": inner})]
        if tables and unlike not in ("look_up_records", "for_each"):
            nodes.append(_object({"for_each": span, "find": span, "table": {"enum": tables}, "then": inner}))
        return {"type": "array", "items": {"anyOf": nodes}, "minItems": 1, "maxItems": new_at_most}, inner

    new, inner = new_steps()

    about = mentioned(workflow, catalog, instruction)
    near = None if about is None else _depending(workflow, about)  # what it talks about, and what goes with that
    # a step is taken out, swapped or unwrapped only if the instruction talks about it (or it goes with one that is)
    removable = (set(numbers) if near is None else near) - kept_by_instruction(workflow, catalog, instruction)
    inserts = ["insert_after", "insert_before"] if asks_to_put_before(instruction) else ["insert_after"]
    adds = not changes_what_is_there(instruction, workflow, catalog)
    ops = [_object({"op": {"enum": inserts}, "step": {"enum": numbers}, "steps": new})] if adds else []
    top = [s.step for s in steps if s.parent is None]
    deletable = [n for n in numbers if top != [n] and n in removable]  # never the only step: "run it at 2am
    # instead" emptied a flow
    if asks_to_remove(instruction):
        # a swap is for a step of another kind ("send them a text message, not an email"): a step of the same kind is
        # changed by `set`, which keeps what it is not told (the edit adapter swapped the email for a new email)
        replaceable: dict[str, list[int]] = {}
        for step in steps:
            if step.step in removable:
                replaceable.setdefault(step.name, []).append(step.step)
        for name, same in replaceable.items():
            ops.append(_object({"op": {"enum": ["replace"]}, "step": {"enum": same}, "steps": new_steps(name)[0]}))
        if deletable:
            ops.append(_object({"op": {"enum": ["delete"]}, "step": {"enum": deletable}}))
        if unwrappable := [b for b in blocks if b in removable]:
            ops.append(_object({"op": {"enum": ["unwrap"]}, "step": {"enum": unwrappable}}))
    if blocks and adds:
        ops.append(_object({"op": {"enum": ["insert_into"]}, "step": {"enum": blocks}, "steps": new}))
    failing = None
    if asks_for_error_handling(instruction):  # a try around what the failing clause names, or any steps
        named = mentioned(workflow, catalog, what_fails(instruction))
        failing = (set(numbers) if named is None else _depending(workflow, named)) - _caught(workflow)
    ops += _wraps(
        workflow, catalog, span, inner, failing, asks_for_a_condition(instruction), asks_for_each(instruction)
    )
    ops += _sets(workflow, catalog, instruction, near)
    refs = _refs(workflow)
    for op in ops:  # built by number, written by reference
        for key in REFERRING:
            if key in op["properties"]:
                op["properties"][key] = {"enum": [refs[n] for n in op["properties"][key]["enum"]]}
    answer = _object({"answer": {"enum": [NO_CHANGE, CANNOT]}})
    if not ops:  # nothing it may do to a flow with no steps but add one, and it was told not to add
        return {"anyOf": [answer]}
    edit = _object({"ops": {"type": "array", "items": {"anyOf": ops}, "minItems": 1, "maxItems": MAX_OPS}})
    return {"anyOf": [edit, answer]}


def _caught(workflow: Workflow) -> set[int]:
    """Tries and the steps inside one: their failures are handled already. Told "log the error if creating the change
    fails" of a flow whose try around the creation logs it, the edit adapter wrapped the creation in a second try."""
    steps, tree = workflow.components, Tree.of(workflow.components)
    return {
        s.step for s in steps
        if s.name == "try" or any(steps[a].name == "try" for a in tree.ancestors(tree.index[s.step]))
    }  # fmt: skip


def _wraps(workflow: Workflow, catalog: Catalog, span: dict[str, Any], catch: dict[str, Any],
           failing: set[int] | None, conditional: bool, looping: bool) -> list[dict[str, Any]]:  # fmt: skip
    """One alternative per first step: the last one is a later sibling; a for_each's list is one in scope. A try
    only if the instruction talks about failing, and around the steps that may fail (`failing`: those its failing
    clause names and what goes with them, "if the email fails": the email). An if only if the instruction says when
    (`conditional`), around any steps: its condition often names another step ("only if it is approved"); but not
    around the whole flow where the trigger has a condition, which says that ("only for critical results": the
    edit adapter wrapped the flow's one step in an if on the lab result). A for_each only if it says each, every or
    all (`looping`)."""
    children: dict[int | None, list[int]] = {}
    for step in workflow.components:
        children.setdefault(step.parent, []).append(step.step)
    trigger = catalog.triggers.get(workflow.trigger.type) if workflow.trigger else None
    whole = children.get(None, [])[:1] if trigger and trigger.input("condition") else []  # its first step: the flow
    scope = Scope(catalog, workflow)
    out = []
    for siblings in children.values():
        for k, first in enumerate(siblings):
            head = {"op": {"enum": ["wrap"]}, "first": {"enum": [first]}, "last": {"enum": siblings[k:]}}
            ends = siblings[k:-1] if first in whole else siblings[k:]
            if conditional and ends:
                out.append(_object({**head, "last": {"enum": ends}, "block": {"enum": ["if"]}, "a": span}))
            tried = list(takewhile(lambda n: n in failing, siblings[k:])) if failing else []
            if tried:
                out.append(_object({**head, "last": {"enum": tried}, "block": {"enum": ["try"]}, "a": span,
                                    "catch": catch}))  # fmt: skip
            lists = [p.text for p in scope.visible(first - 1, "items") if p.type == "records"] if looping else []
            if lists:
                items = _object({"items": {"enum": lists}})
                out.append(_object({**head, "block": {"enum": ["for_each"]}, "a": span, "inputs": items}))
    return out


def _sets(workflow: Workflow, catalog: Catalog, instruction: str, near: set[int] | None) -> list[dict[str, Any]]:
    """`set`: steps grouped by the inputs they have, so that the schema stays small. Of the steps, unless the
    instruction names none (`near` None): the trigger, those it talks about and what goes with them (`near`), and those
    with an input or a value it names ("make the priority 2", "60 days instead of 30" for a subject that says "30
    days")."""
    parts = [(0, catalog.triggers.get(workflow.trigger.type))] if workflow.trigger else []
    parts += [(s.step, catalog.step(s.name)) for s in workflow.components]
    words = stems(instruction)
    values = {s.step: stems(" ".join(i.value for i in s.inputs)) for s in workflow.components}
    groups: dict[tuple[str, ...], list[int]] = {}
    for number, spec in parts:
        names = stems(" ".join(i.name.replace("_", " ") for i in spec.inputs)) if spec is not None else set()
        said = shares(words, names | values.get(number, set()))
        talked_about = near is None or number == 0 or number in near or said
        if spec is not None and spec.inputs and talked_about:
            groups.setdefault(tuple(i.name for i in spec.inputs), []).append(number)
    return [
        _object({"op": {"enum": ["set"]}, "step": {"enum": numbers}, "input": {"enum": list(names)}})
        for names, numbers in groups.items()
    ]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def to_script(data: dict[str, Any]) -> EditScript:
    """The script of an answer the grammar accepted: a `find` + `for_each` node is a look-up and its loop."""

    def expand(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for node in nodes:
            if "for_each" in node:
                out.append({"do": "look_up_records", "a": node["find"], "table": node["table"]})
                out.append({"do": "for_each", "a": node["for_each"], "then": expand(node["then"])})
            else:
                out.append({**node, "then": expand(node.get("then", []))})
        return out

    ops = [{**op, "steps": expand(op["steps"])} if "steps" in op else op for op in data.get("ops", [])]
    ops = [{**op, "catch": expand(op["catch"])} if "catch" in op else op for op in ops]
    return EditScript.model_validate({**data, "ops": ops} if ops else data)
