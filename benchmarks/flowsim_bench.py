"""FlowSim speed: our compiled Zhang-Shasha beside the `zss` package, in one run, same pairs.

    python benchmarks/flowsim_bench.py [--pairs 1000] [--zss-pairs 40] [--seed 0]

Pairs are an outline-and-inputs tree of a random workflow (20-300 nodes) and a perturbed copy, as
a generated workflow is to its reference. zss runs on the first --zss-pairs pairs only (it needs
about a second a pair); its pairs/s is measured on those, and the distances must be identical.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import zss

from flowgen.metrics.flowsim import Tree, tree_edit_distance, workflow_tree
from flowgen.workflow import Input, Step, Trigger, Workflow

BLOCKS = ["if", "for_each", "try", "parallel", "do_until"]
ACTIONS = ["look_up_records", "update_record", "create_record", "send_email", "log", "add_work_note"]


def random_workflow(rng: random.Random, target_nodes: int) -> Workflow:
    steps: list[Step] = []
    open_blocks: list[int] = []
    nodes = 3
    while nodes < target_nodes:
        if open_blocks and rng.random() < 0.25:
            open_blocks.pop()
        is_block = rng.random() < 0.2 and len(open_blocks) < 4
        name = rng.choice(BLOCKS) if is_block else rng.choice(ACTIONS)
        inputs = [
            Input(name=f"in{k}", value=f"v{rng.randrange(6)}") for k in range(rng.randint(0 if is_block else 1, 3))
        ]
        number = len(steps) + 1
        steps.append(
            Step(annotation="", name=name, step=number, parent=open_blocks[-1] if open_blocks else None, inputs=inputs)
        )
        if is_block:
            open_blocks.append(number)
        nodes += 1 + len(inputs)
    trigger = Trigger(annotation="", type="record_update", inputs=[Input(name="table", value="incident")])
    return Workflow(trigger=trigger, components=steps)


def perturb(rng: random.Random, workflow: Workflow) -> Workflow:
    steps = [s.model_copy(deep=True) for s in workflow.components]
    for step in steps:
        if rng.random() < 0.15:
            step.name = rng.choice(ACTIONS)
        for inp in step.inputs:
            if rng.random() < 0.2:
                inp.value = f"v{rng.randrange(6)}"
    return Workflow(trigger=workflow.trigger, components=steps)


def to_zss(tree: Tree) -> zss.Node:
    """Rebuild zss nodes from post-order: a node's children are the finished subtrees since its lml."""
    stack: list[tuple[int, zss.Node]] = []
    for i, (label, lml) in enumerate(zip(tree.labels, tree.lml, strict=True)):
        node = zss.Node(label)
        kids = []
        while stack and stack[-1][0] >= lml:
            kids.append(stack.pop()[1])
        for kid in reversed(kids):
            node.addkid(kid)
        stack.append((lml if kids else i, node))
    return stack[0][1]


def zss_distance(a: zss.Node, b: zss.Node) -> int:
    # Explicit unit costs: with `editdistance` installed, zss's defaults compare labels as strings.
    return int(
        zss.distance(
            a, b, zss.Node.get_children,
            insert_cost=lambda n: 1, remove_cost=lambda n: 1,
            update_cost=lambda x, y: 0 if x.label == y.label else 1,
        )
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--zss-pairs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pairs = []
    for _ in range(args.pairs):
        wf = random_workflow(rng, rng.randint(20, 300))
        pairs.append((workflow_tree(wf, with_inputs=True), workflow_tree(perturb(rng, wf), with_inputs=True)))
    sizes = [len(a) for a, _ in pairs]
    print(f"{len(pairs)} pairs, tree sizes {min(sizes)}-{max(sizes)} nodes (median {statistics.median(sizes):.0f})")

    start = time.perf_counter()
    ours = [tree_edit_distance(a, b) for a, b in pairs]
    ours_s = time.perf_counter() - start

    subset = pairs[: args.zss_pairs]
    zss_trees = [(to_zss(a), to_zss(b)) for a, b in subset]
    start = time.perf_counter()
    theirs = [zss_distance(a, b) for a, b in zss_trees]
    zss_s = time.perf_counter() - start
    start = time.perf_counter()
    ours_subset = [tree_edit_distance(a, b) for a, b in subset]
    ours_subset_s = time.perf_counter() - start

    identical = theirs == ours_subset == ours[: len(subset)]
    print(f"flowgen: {len(pairs) / ours_s:10.1f} pairs/s  ({ours_s:.2f} s for {len(pairs)} pairs)")
    print(f"flowgen: {len(subset) / ours_subset_s:10.1f} pairs/s on the zss subset of {len(subset)} pairs")
    print(f"zss    : {len(subset) / zss_s:10.2f} pairs/s on the same subset ({zss_s:.1f} s)")
    print(f"speed-up on the same pairs: {zss_s / ours_subset_s:.0f}x; distances identical: {identical}")
    if not identical:
        raise SystemExit("distances differ from zss")


if __name__ == "__main__":
    main()
