"""The edit grammar: a JSON Schema built from the workflow and the tenant's catalog.

The model can name only steps that exist (blocks where a block is needed, siblings for a wrap's range),
inputs that step has, the suggested actions of the tenant and its tables, annotations from the
instruction's own clauses, and a for_each only over a list that is in scope. Values are not written
here: stage 2 writes the inputs of new steps and of the inputs a `set` names. Steps are deleted, replaced or
unwrapped only when the instruction asks to take something out. "No change needed" and
"the catalog cannot do this" are answers of their own.
"""

from __future__ import annotations

import re
from typing import Any

from flowgen import semantics
from flowgen.catalog import Catalog
from flowgen.semantics import Scope, is_block
from flowgen.workflow import Workflow
from generation.outline import spans, takes_table

from .script import CANNOT, NO_CHANGE, EditScript

MAX_OPS = 4
MAX_NEW = 3  # new steps in one place, and inside one new block
# ... and no more than the instruction has clauses: "log it as well" adds one step, not a log and an email. No
# hand-written edit adds more steps in one place than its instruction has clauses, so the bound costs no right one.
BLOCKS = ("if", "else_if", "else", "do_until", "try", "catch", "parallel", "branch")
# Words with which people ask to take something out or swap it ("don't text the manager", "drop the approval",
# "email them instead", "not just the first"). Without one, the grammar offers no delete, replace or unwrap: the
# edit-trained model deleted steps nobody asked about ("log how many got purged" took out the purge).
REMOVAL = re.compile(
    r"\b(remove|delete|drop|don'?t|do not|no longer|no need|stop|skip|take (it |them )?(out|away)|get rid|without|"
    r"instead|replace|swap|rather|not|never|cancel|undo|unwrap|scrap|forget|omit|strip|kill|ditch)\b",
    re.IGNORECASE,
)


def asks_to_remove(instruction: str) -> bool:
    """Whether the instruction asks to take out or replace something: only then may a script delete a step."""
    return REMOVAL.search(instruction.replace("’", "'")) is not None


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
    leaves = [_object({"do": {"enum": plain}, "a": span})]
    if with_table and tables:
        leaves.append(_object({"do": {"enum": with_table}, "a": span, "table": {"enum": tables}}))
    inner = {"type": "array", "items": {"anyOf": leaves}, "minItems": 1, "maxItems": new_at_most}
    nodes = [*leaves, _object({"do": {"enum": list(BLOCKS)}, "a": span, "then": inner})]
    if tables:
        nodes.append(_object({"for_each": span, "find": span, "table": {"enum": tables}, "then": inner}))
    new = {"type": "array", "items": {"anyOf": nodes}, "minItems": 1, "maxItems": new_at_most}

    removes = asks_to_remove(instruction)
    inserts = ["insert_after", "insert_before", "replace"] if removes else ["insert_after", "insert_before"]
    ops = [_object({"op": {"enum": inserts}, "step": {"enum": numbers}, "steps": new})]
    top = [s.step for s in steps if s.parent is None]
    deletable = [n for n in numbers if top != [n]]  # never the only step: "run it at 2am instead" emptied a flow
    if removes and deletable:
        ops.append(_object({"op": {"enum": ["delete"]}, "step": {"enum": deletable}}))
    if blocks:
        ops.append(_object({"op": {"enum": ["insert_into"]}, "step": {"enum": blocks}, "steps": new}))
        if removes:
            ops.append(_object({"op": {"enum": ["unwrap"]}, "step": {"enum": blocks}}))
    ops += _wraps(workflow, catalog, span, inner)
    ops += _sets(workflow, catalog)
    edit = _object({"ops": {"type": "array", "items": {"anyOf": ops}, "minItems": 1, "maxItems": MAX_OPS}})
    return {"anyOf": [edit, _object({"answer": {"enum": [NO_CHANGE, CANNOT]}})]}


def _wraps(workflow: Workflow, catalog: Catalog, span: dict[str, Any], catch: dict[str, Any]) -> list[dict[str, Any]]:
    """One alternative per first step: the last one is a later sibling; a for_each's list is one in scope."""
    children: dict[int | None, list[int]] = {}
    for step in workflow.components:
        children.setdefault(step.parent, []).append(step.step)
    scope = Scope(catalog, workflow)
    out = []
    for siblings in children.values():
        for k, first in enumerate(siblings):
            head = {"op": {"enum": ["wrap"]}, "first": {"enum": [first]}, "last": {"enum": siblings[k:]}}
            out.append(_object({**head, "block": {"enum": ["if"]}, "a": span}))
            out.append(_object({**head, "block": {"enum": ["try"]}, "a": span, "catch": catch}))
            lists = [p.text for p in scope.visible(first - 1, "items") if p.type == "records"]
            if lists:
                items = _object({"items": {"enum": lists}})
                out.append(_object({**head, "block": {"enum": ["for_each"]}, "a": span, "inputs": items}))
    return out


def _sets(workflow: Workflow, catalog: Catalog) -> list[dict[str, Any]]:
    """`set`: steps grouped by the inputs they have, so that the schema stays small."""
    parts = [(0, catalog.triggers.get(workflow.trigger.type))] if workflow.trigger else []
    parts += [(s.step, catalog.step(s.name)) for s in workflow.components]
    groups: dict[tuple[str, ...], list[int]] = {}
    for number, spec in parts:
        if spec is not None and spec.inputs:
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
