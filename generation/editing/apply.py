"""Applying an edit script: a pure function on a tree of the workflow's steps.

Steps the script does not name keep their name, annotation and inputs; only the step numbers inside
their data pills follow the renumbering. An operation that names no such step, or a result that would
break a structure or catalog rule (other than inputs left for stage 2 to write), is refused with the
reason, never half applied. Two consequences of a script come with it, each said in `Applied.notes`: the
branches on an approval it removes are decided as approved, and a block it empties goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from flowgen.catalog import Catalog
from flowgen.errors import ClientError
from flowgen.expressions import PILL, Term, find_pills, parse_query
from flowgen.semantics import is_block
from flowgen.validation import validate
from flowgen.workflow import Input, Step, Workflow

from .script import EditScript, NewStep, Replace, SetInput, Wrap

_SOURCE = re.compile(r"^(step|new)_([1-9][0-9]*)$")
PENDING_CODES = frozenset({"C003", "S010"})  # what a step whose inputs stage 2 has yet to write may break


class EditRefused(ClientError):
    """A script that cannot be applied as written; the message says which operation and why."""


class Applied(BaseModel):
    workflow: Workflow
    origin: dict[int, int] = Field(description="Step number after the edit -> before, for the steps it kept.")
    changed: list[int] = Field(description="Numbers after the edit of new and changed steps (0: the trigger).")
    pending: dict[int, list[str]] = Field(description="Inputs stage 2 must write, by step number after the edit.")
    left_out: list[str] = Field([], description="New steps left out, each with why: nothing in scope could fill them.")
    notes: list[str] = Field(
        [],
        description="What applying did beyond the script's words, and why: branches on an "
        "approval it removes decided, blocks it emptied gone.",
    )


@dataclass(eq=False)
class _Node:
    name: str
    annotation: str
    inputs: list[Input]
    origin: int | None = None  # number before the edit; None for a new step
    children: list[_Node] = field(default_factory=list)
    changed: bool = False
    pending: list[str] = field(default_factory=list)


class _Tree:
    def __init__(self, workflow: Workflow, catalog: Catalog) -> None:
        self.catalog = catalog
        self.roots: list[_Node] = []
        self.by_origin: dict[int, _Node] = {}
        self.created: list[_Node] = []  # new_1, new_2, ...
        self.trigger_changed = False
        self.trigger_inputs = list(workflow.trigger.inputs) if workflow.trigger else []
        self.trigger_pending: list[str] = []
        for step in workflow.components:
            node = _Node(step.name, step.annotation, [i.model_copy() for i in step.inputs], step.step)
            parent = self.by_origin.get(step.parent) if step.parent is not None else None
            (parent.children if parent else self.roots).append(node)
            self.by_origin[step.step] = node

    def siblings(self, number: int, what: str) -> tuple[list[_Node], int]:
        """The list holding step `number` and its index there."""
        node = self.by_origin.get(number)
        if node is None:
            raise EditRefused(f"{what}: there is no step {number}")
        for siblings in self.lists():
            for i, other in enumerate(siblings):
                if other is node:
                    return siblings, i
        raise EditRefused(f"{what}: step {number} was removed by an earlier operation")

    def lists(self, nodes: list[_Node] | None = None) -> list[list[_Node]]:
        """Every list of sibling steps: the top level's and each block's."""
        nodes = self.roots if nodes is None else nodes
        out = [nodes]
        for node in nodes:
            out += self.lists(node.children)
        return out

    def block(self, number: int, what: str) -> _Node:
        siblings, i = self.siblings(number, what)
        node = siblings[i]
        if not is_block(node.name):
            raise EditRefused(f"{what}: step {number} is {node.name!r}, which holds no steps")
        return node

    def new(self, spec: NewStep) -> _Node:
        if self.catalog.step(spec.do) is None:
            raise EditRefused(f"unknown step {spec.do!r} for tenant {self.catalog.tenant!r}")
        inputs = [Input(name="table", value=spec.table)] if spec.table else []
        node = _Node(spec.do, spec.a, inputs, changed=True)
        if spec.inputs is not None:
            node.inputs += [Input(name=k, value=v) for k, v in spec.inputs.items() if k != "table" or not spec.table]
        else:
            node.pending = self._missing(node)
        self.created.append(node)
        node.children = [self.new(child) for child in spec.then]
        return node

    def _missing(self, node: _Node) -> list[str]:
        spec = self.catalog.step(node.name)
        given = {i.name for i in node.inputs}
        return [i.name for i in (spec.inputs if spec else ()) if i.name not in given]


UnfillableRule = Callable[[Workflow, int], str | None]
"""Why stage 2 could not fill step N of a workflow (a required input nothing in scope can fill), or None."""


def apply(workflow: Workflow, script: EditScript, catalog: Catalog,
          unfillable: UnfillableRule = lambda _workflow, _number: None) -> Applied:  # fmt: skip
    """The workflow after `script`; raises EditRefused when an operation or its result is not valid. New leaf
    steps that `unfillable` says stage 2 cannot fill are left out (`Applied.left_out`)."""
    tree = _Tree(workflow, catalog)
    redirect: dict[int, _Node] = {}  # replaced steps: pills to them name their replacement
    for k, op in enumerate(script.ops, 1):
        what = f"operation {k} ({op.op})"
        if op.op in ("insert_after", "insert_before", "replace"):
            siblings, i = tree.siblings(op.step, what)
            nodes = [tree.new(s) for s in op.steps]  # type: ignore[union-attr]
            if isinstance(op, Replace):
                old = siblings[i]
                if len(nodes) == 1 and is_block(nodes[0].name) and not nodes[0].children:
                    nodes[0].children = old.children
                redirect[op.step] = nodes[0]
                siblings[i : i + 1] = nodes
            else:
                at = i + 1 if op.op == "insert_after" else i
                siblings[at:at] = nodes
        elif op.op == "insert_into":
            tree.block(op.step, what).children += [tree.new(s) for s in op.steps]
        elif op.op == "delete":
            siblings, i = tree.siblings(op.step, what)
            del siblings[i]
        elif op.op == "unwrap":
            node = tree.block(op.step, what)
            siblings, i = tree.siblings(op.step, what)
            siblings[i : i + 1] = node.children
        elif isinstance(op, Wrap):
            _wrap(tree, op, what)
        elif isinstance(op, SetInput):
            _set(tree, workflow, op, what)
    notes = _as_approved(tree, workflow, redirect) + _without_emptied(tree, workflow)
    applied = _without_unfillable(tree, workflow, redirect, unfillable)
    return applied.model_copy(update={"notes": notes})


def _without_emptied(tree: _Tree, workflow: Workflow) -> list[str]:
    """Blocks the script emptied, gone with their steps: told "don't text the manager", the edit adapter deleted the
    text and left the parallel branch that only texted empty, which the rules refuse. An if with branches after it
    stays, for the validation to report: which of them would take its place is not the script's to say; so does an
    emptied catch."""
    had = {s.parent for s in workflow.components if s.parent is not None}
    notes: list[str] = []
    while emptied := next(
        ((siblings, i) for siblings in tree.lists() for i, node in enumerate(siblings)
         if not node.children and node.origin in had and _may_go(siblings, i)),
        None,
    ):  # fmt: skip
        siblings, i = emptied
        node = siblings[i]
        with_catch = node.name == "try" and i + 1 < len(siblings) and siblings[i + 1].name == "catch"
        del siblings[i : i + 2 if with_catch else i + 1]
        notes.append(f"step {node.origin} ({node.name}): the edit took out every step inside it, so it goes too")
    return notes


def _may_go(siblings: list[_Node], i: int) -> bool:
    follower = siblings[i + 1].name if i + 1 < len(siblings) else None
    return siblings[i].name != "catch" and not (siblings[i].name == "if" and follower in ("else_if", "else"))


def _as_approved(tree: _Tree, workflow: Workflow, redirect: dict[int, _Node]) -> list[str]:
    """Branches on an approval the edit removes, decided as if it were given: "remove the approval, just close the
    problem" is the approved branch without the asking. A term that the approval passed goes (an if left with no term
    gives way to its steps, and its other branches go); a branch on a rejection goes, and the next branch takes its
    place. A condition with ^OR or ^NQ stays as it is, for the validation to report."""
    kept = {id(node) for nodes in tree.lists() for node in nodes}
    removed = {
        s.step for s in workflow.components
        if id(tree.by_origin[s.step]) not in kept and s.step not in redirect
        and any(o.type == "approval_state" for o in getattr(tree.catalog.step(s.name), "outputs", ()))
    }  # fmt: skip
    notes: list[str] = []
    for siblings in tree.lists():
        i = 0
        while i < len(siblings):
            node = siblings[i]
            verdict = _verdict(node, removed) if node.name in ("if", "else_if") else None
            if verdict is None:
                i += 1
                continue
            where = f"step {node.origin} ({node.name})" if node.origin else f"new step {node.name}"
            if isinstance(verdict, str):
                left = Input(name="condition", value=verdict)
                node.inputs = [left if x.name == "condition" else x for x in node.inputs]
                node.changed = True
                notes.append(f"{where}: the removed approval's term is dropped from its condition")
                i += 1
                continue
            end = i + 1
            while end < len(siblings) and siblings[end].name in ("else_if", "else"):
                end += 1
            if verdict:  # always taken: its steps stay, the branches after it go
                if node.name == "if":
                    siblings[i:end] = node.children
                else:
                    node.name, node.inputs, node.changed = "else", [], True
                    del siblings[i + 1 : end]
                notes.append(f"{where}: its condition held once the approval was removed; its other branches go")
            else:  # never taken: it goes, and the next branch takes its place
                del siblings[i]
                follower = siblings[i] if i < end - 1 else None
                if node.name == "if" and follower is not None:
                    if follower.name == "else_if":
                        follower.name, follower.changed = "if", True
                    else:
                        siblings[i : i + 1] = follower.children
                notes.append(f"{where}: its condition could no longer hold once the approval was removed; it goes")
    return notes


def _verdict(node: _Node, removed: set[int]) -> bool | str | None:
    """Of a branch's condition on removed approvals (`removed`, step numbers before the edit): True always taken,
    False never, a string the condition left, None untouched."""
    condition = next((i.value for i in node.inputs if i.name == "condition"), None)
    if condition is None or "^OR" in condition or "^NQ" in condition:
        return None
    terms = parse_query(condition)
    decided = [t for t in terms if isinstance(t, Term) and _approval_of(t.field, removed)]
    if not decided or any(t.operator not in ("=", "!=") for t in decided):
        return None
    if any((t.operator == "=") != (t.value == "approved") for t in decided):
        return False
    left = [t if isinstance(t, str) else f"{t.field}{t.operator}{t.value}" for t in terms if t not in decided]
    return "^".join(left) if left else True


def _approval_of(field: str, removed: set[int]) -> bool:
    pills = find_pills(field)
    return len(pills) == 1 and pills[0].output == "approval_state" and pills[0].step in removed


def _without_unfillable(
    tree: _Tree, workflow: Workflow, redirect: dict[int, _Node], unfillable: UnfillableRule
) -> Applied:
    """The flattened edit without its new leaf steps that nothing in scope can fill (an `update_record` of an
    incident in a flow that has no incident): applied, such a step would keep its required inputs missing. One
    whose going breaks a rule (the only step of a new block, a step a pill names) stays, for stage 2 to report."""
    applied = _flatten(tree, workflow, redirect)
    left_out: list[str] = []
    staying: set[int] = set()  # unfillable, but their going would break a rule
    while True:
        for n, (node, _) in enumerate(_order(tree), 1):
            if node.origin is not None or node.children or id(node) in staying:
                continue
            why = unfillable(applied.workflow, n)
            if why is None:
                continue
            siblings = next(nodes for nodes in tree.lists() if any(other is node for other in nodes))
            i = next(k for k, other in enumerate(siblings) if other is node)
            del siblings[i]
            try:
                applied = _flatten(tree, workflow, redirect)
            except EditRefused:
                siblings.insert(i, node)
                staying.add(id(node))
                continue
            left_out.append(f"new step {node.name}: {why}; it is left out")
            break  # the numbers and what is in scope moved: look again
        else:
            return applied.model_copy(update={"left_out": left_out})


def _wrap(tree: _Tree, op: Wrap, what: str) -> None:
    siblings, i = tree.siblings(op.first, what)
    others, j = tree.siblings(op.last, what)
    if others is not siblings or j < i:
        raise EditRefused(f"{what}: steps {op.first} to {op.last} are not consecutive steps of one block")
    block = tree.new(NewStep(do=op.block, a=op.a, inputs=op.inputs))
    block.children = siblings[i : j + 1]
    nodes = [block]
    if op.block == "try":
        if not op.catch:
            raise EditRefused(f"{what}: a try needs the steps of its catch")
        nodes.append(tree.new(NewStep(do="catch", a=op.a, inputs={}, then=op.catch)))
    siblings[i : j + 1] = nodes


def _set(tree: _Tree, workflow: Workflow, op: SetInput, what: str) -> None:
    node: _Node | None = None
    if op.step == 0:
        if workflow.trigger is None:
            raise EditRefused(f"{what}: the workflow has no trigger")
        spec, inputs = tree.catalog.triggers.get(workflow.trigger.type), tree.trigger_inputs
    else:
        siblings, i = tree.siblings(op.step, what)
        node = siblings[i]
        spec, inputs = tree.catalog.step(node.name), node.inputs
    if spec is None or spec.input(op.input) is None:
        known = ", ".join(i.name for i in spec.inputs) if spec else "none"
        raise EditRefused(f"{what}: step {op.step} has no input {op.input!r} (its inputs: {known})")
    order = [i.name for i in spec.inputs]
    kept = [i for i in inputs if i.name != op.input]
    if op.value is not None:
        kept.append(Input(name=op.input, value=op.value))
    kept.sort(key=lambda i: order.index(i.name))
    pending = [] if op.value is not None else [op.input]
    if node is None:
        tree.trigger_changed, tree.trigger_inputs = True, kept
        tree.trigger_pending += pending
    else:
        node.changed, node.inputs = True, kept
        node.pending += pending


def _order(tree: _Tree) -> list[tuple[_Node, int | None]]:
    """The steps in workflow order (pre-order), each with its parent's number."""
    order: list[tuple[_Node, int | None]] = []

    def walk(nodes: list[_Node], parent: int | None) -> None:
        for node in nodes:
            order.append((node, parent))
            walk(node.children, len(order))

    walk(tree.roots, None)
    return order


def _flatten(tree: _Tree, workflow: Workflow, redirect: dict[int, _Node]) -> Applied:
    order = _order(tree)
    number = {id(node): n for n, (node, _) in enumerate(order, 1)}

    def target(kind: str, k: int) -> int | None:
        if kind == "new":
            return number.get(id(tree.created[k - 1])) if k <= len(tree.created) else None
        node = redirect.get(k) or tree.by_origin.get(k)
        return number.get(id(node)) if node else None

    def renumber(value: str, where: str) -> str:
        def sub(match: re.Match[str]) -> str:
            source, _, rest = match.group(1).partition(".")
            own = _SOURCE.match(source)
            if not own:
                return match.group(0)
            n = target(own.group(1), int(own.group(2)))
            if n is None:
                raise EditRefused(f"{where} uses {match.group(0)}, which the edit removes; change that input too")
            return "{{" + f"step_{n}" + (f".{rest}" if rest else "") + "}}"

        return PILL.sub(sub, value)

    steps = []
    for n, (node, parent) in enumerate(order, 1):
        where = f"step {node.origin} ({node.name})" if node.origin else f"new step {node.name}"
        inputs = [Input(name=i.name, value=renumber(i.value, where)) for i in node.inputs]
        steps.append(Step(annotation=node.annotation, name=node.name, step=n, parent=parent, inputs=inputs))
    trigger = workflow.trigger
    if trigger is not None and tree.trigger_changed:
        trigger = trigger.model_copy(update={"inputs": tree.trigger_inputs})
    edited = Workflow(title=workflow.title, trigger=trigger, components=steps)
    pending = {n: node.pending for n, (node, _) in enumerate(order, 1) if node.pending}
    if tree.trigger_pending:
        pending[0] = tree.trigger_pending
    broken = [
        str(v) for v in validate(edited, tree.catalog).violations
        if not (v.code in PENDING_CODES and (v.step or 0) in pending)
    ]  # fmt: skip
    if broken:
        raise EditRefused("the edit would break the workflow's rules: " + "; ".join(broken))
    changed = [0] if tree.trigger_changed else []
    changed += [n for n, (node, _) in enumerate(order, 1) if node.changed]
    origin = {n: node.origin for n, (node, _) in enumerate(order, 1) if node.origin is not None}
    return Applied(workflow=edited, origin=origin, changed=changed, pending=pending)
