"""FlowSim (spec section 3): tree edit distance between a generated and an expected workflow.

Trees are built here in post-order; the Zhang-Shasha dynamic programme runs in C (`_ted.c`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from flowgen.metrics._ted import ted
from flowgen.workflow import Input, Workflow

FREE = 1
"""Node kind bit: inserting or deleting the node costs 0 (StarFlow's container nodes)."""
HEAVY = 2
"""Node kind bit: relabelling the node to a different label costs 2 (StarFlow's triggers and components)."""


@dataclass(frozen=True)
class Tree:
    """An ordered labelled tree in post-order: `lml[i]` is node i's leftmost leaf descendant, `kinds[i]` its
    cost bits (FREE, HEAVY; empty: every node costs 1, FlowGen's FlowSim)."""

    labels: tuple[str, ...]
    lml: tuple[int, ...]
    kinds: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)


class Node:
    """A node while a tree is built, before `postorder` flattens it."""

    __slots__ = ("label", "children", "kind")

    def __init__(self, label: str, children: list[Node] | None = None, kind: int = 0) -> None:
        self.label = label
        self.children = children or []
        self.kind = kind


def workflow_tree(workflow: Workflow, *, with_inputs: bool) -> Tree:
    """The outline tree, or the outline-and-inputs tree, of a workflow.

    A step whose `parent` is not an earlier step hangs at the top level, so that a workflow with
    structure errors still has a tree.
    """

    def leaves(inputs: list[Input]) -> list[Node]:
        if not with_inputs:
            return []
        return [Node(f"{i.name}={i.value}") for i in sorted(inputs, key=lambda i: (i.name, i.value))]

    trigger = workflow.trigger
    root = Node("flow", [Node(f"trigger:{trigger.type}" if trigger else "trigger:none")])
    if trigger:
        root.children[0].children = leaves(trigger.inputs)
    nodes: dict[int, Node] = {}
    for step in workflow.components:
        node = Node(step.name, leaves(step.inputs))
        parent = nodes.get(step.parent) if step.parent is not None else None
        (parent or root).children.append(node)
        nodes.setdefault(step.step, node)
    return postorder(root)


def postorder(root: Node) -> Tree:
    labels: list[str] = []
    lml: list[int] = []
    kinds: list[int] = []
    stack: list[tuple[Node, int, int]] = [(root, 0, -1)]  # node, next child, leftmost leaf
    while stack:
        node, k, left = stack.pop()
        if k < len(node.children):
            stack.append((node, k + 1, left))
            stack.append((node.children[k], 0, -1))
            continue
        index = len(labels)
        labels.append(node.label)
        kinds.append(node.kind)
        lml.append(index if left < 0 else left)
        if stack and stack[-1][2] < 0:  # first finished child gives the parent's leftmost leaf
            parent, pk, _ = stack.pop()
            stack.append((parent, pk, lml[index]))
    return Tree(tuple(labels), tuple(lml), tuple(kinds) if any(kinds) else ())


def tree_edit_distance(a: Tree, b: Tree) -> int:
    """Zhang-Shasha distance: insert, delete and relabel cost 1, except as the nodes' kinds say."""
    ids: dict[str, int] = {}
    la = array("i", [ids.setdefault(label, len(ids)) for label in a.labels])
    lb = array("i", [ids.setdefault(label, len(ids)) for label in b.labels])
    return ted(la, array("i", a.lml), _kinds(a), lb, array("i", b.lml), _kinds(b))


def _kinds(tree: Tree) -> array:
    return array("i", tree.kinds or bytes(4 * len(tree.labels)))


def similarity(a: Tree, b: Tree) -> float:
    """100 * max(0, 1 - TED / max(|a|, |b|))."""
    return 100.0 * max(0.0, 1.0 - tree_edit_distance(a, b) / max(len(a), len(b)))


@dataclass(frozen=True)
class FlowSim:
    outline: float
    inputs: float
    """FlowSim of the outline-and-inputs trees."""


def flowsim(generated: Workflow, expected: Workflow) -> FlowSim:
    return FlowSim(
        outline=similarity(workflow_tree(generated, with_inputs=False), workflow_tree(expected, with_inputs=False)),
        inputs=similarity(workflow_tree(generated, with_inputs=True), workflow_tree(expected, with_inputs=True)),
    )
