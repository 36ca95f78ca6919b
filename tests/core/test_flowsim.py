from __future__ import annotations

import random
from functools import cache

import pytest
import zss

from flowgen.metrics.flowsim import Tree, flowsim, tree_edit_distance, workflow_tree
from flowgen.workflow import parse_workflow


def tree(spec: tuple) -> Tree:
    """Post-order Tree from nested (label, (children...)) tuples."""
    labels: list[str] = []
    lml: list[int] = []

    def walk(node: tuple) -> int:
        label, kids = node
        first = [walk(kid) for kid in kids]
        labels.append(label)
        lml.append(first[0] if first else len(labels) - 1)
        return lml[-1]

    walk(spec)
    return Tree(tuple(labels), tuple(lml))


def test_example_scores_100_against_itself(example: dict) -> None:
    workflow = parse_workflow(example)
    assert flowsim(workflow, workflow).outline == 100.0
    assert flowsim(workflow, workflow).inputs == 100.0


def test_example_without_for_each(example: dict) -> None:
    expected = parse_workflow(example)
    components = [c for c in example["components"] if c["name"] != "for_each"]
    components[1]["step"] = 2
    del components[1]["parent"]
    sim = flowsim(parse_workflow(example | {"components": components}), expected)
    # Outline: 5 vs 4 nodes, one deletion. Outline+inputs: 13 vs 11 nodes, for_each and its items leaf deleted.
    assert sim.outline == pytest.approx(100 * (1 - 1 / 5))
    assert sim.inputs == pytest.approx(100 * (1 - 2 / 13))


def test_outline_tree_of_example(example: dict) -> None:
    outline = workflow_tree(parse_workflow(example), with_inputs=False)
    assert outline.labels == ("trigger:record_update", "look_up_records", "update_record", "for_each", "flow")
    inputs = workflow_tree(parse_workflow(example), with_inputs=True)
    assert inputs.labels[:3] == ("condition=activeCHANGESTOfalse", "table=sys_user", "trigger:record_update")
    assert len(inputs) == 13


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        (("a", ()), ("a", ()), 0),
        (("a", ()), ("b", ()), 1),
        (("a", (("b", ()), ("c", ()))), ("a", (("c", ()),)), 1),
        # Zhang & Shasha's paper example: f(d(a c(b)) e) vs f(c(d(a b)) e), distance 2.
        (
            ("f", (("d", (("a", ()), ("c", (("b", ()),)))), ("e", ()))),
            ("f", (("c", (("d", (("a", ()), ("b", ()))),)), ("e", ()))),
            2,
        ),
        (("a", (("b", (("c", ()),)),)), ("c", ()), 2),
    ],
)
def test_hand_computed_distances(a: tuple, b: tuple, distance: int) -> None:
    assert tree_edit_distance(tree(a), tree(b)) == distance
    assert tree_edit_distance(tree(b), tree(a)) == distance


def forest_distance(a: tuple, b: tuple) -> int:
    """Textbook recursion on forests (independent of Zhang-Shasha's key roots), memoised."""

    @cache
    def d(f: tuple, g: tuple) -> int:
        if not f and not g:
            return 0
        if not f:
            return 1 + d((), g[:-1] + g[-1][1]) if g else 0
        if not g:
            return 1 + d(f[:-1] + f[-1][1], ())
        (lf, kf), (lg, kg) = f[-1], g[-1]
        return min(
            d(f[:-1] + kf, g) + 1,
            d(f, g[:-1] + kg) + 1,
            d(kf, kg) + d(f[:-1], g[:-1]) + (lf != lg),
        )

    return d((a,), (b,))


def random_spec(rng: random.Random, size: int, labels: str) -> tuple:
    nodes = [[rng.choice(labels), []]]
    for _ in range(size - 1):
        child = [rng.choice(labels), []]
        rng.choice(nodes)[1].append(child)
        nodes.append(child)

    def freeze(node: list) -> tuple:
        return (node[0], tuple(freeze(k) for k in node[1]))

    return freeze(nodes[0])


def to_zss(spec: tuple) -> zss.Node:
    node = zss.Node(spec[0])
    for kid in spec[1]:
        node.addkid(to_zss(kid))
    return node


def zss_distance(a: tuple, b: tuple) -> int:
    return zss.distance(
        to_zss(a), to_zss(b), zss.Node.get_children,
        insert_cost=lambda n: 1, remove_cost=lambda n: 1, update_cost=lambda x, y: int(x.label != y.label),
    )  # fmt: skip


def test_random_trees_match_two_independent_implementations() -> None:
    rng = random.Random(7)
    for _ in range(150):
        a = random_spec(rng, rng.randint(1, 9), "abc")
        b = random_spec(rng, rng.randint(1, 9), "abc")
        ours = tree_edit_distance(tree(a), tree(b))
        assert ours == forest_distance(a, b) == zss_distance(a, b), (a, b)
    for _ in range(40):
        a = random_spec(rng, rng.randint(1, 60), "abcde")
        b = random_spec(rng, rng.randint(1, 60), "abcde")
        assert tree_edit_distance(tree(a), tree(b)) == zss_distance(a, b), (a, b)


def test_bad_tree_buffers_are_rejected() -> None:
    with pytest.raises(ValueError, match="lml"):
        tree_edit_distance(Tree(("a", "b"), (0, 5)), Tree(("a",), (0,)))
