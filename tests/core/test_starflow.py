"""StarFlow's FlowSim (ServiceNow's own variant): its tree, its costs and its sizes, against values computed by
hand from StarFlow's definition, and the weighted C distance against zss with StarFlow's cost functions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import zss
from typer.testing import CliRunner

from flowgen.cli import app
from flowgen.metrics.flowsim import FREE, HEAVY, Tree, flowsim, tree_edit_distance
from flowgen.metrics.starflow import query_tree, size, starflow, starflow_tree
from flowgen.workflow import parse_workflow
from tests.conftest import FIXTURES
from tests.core.test_flowsim import random_spec, to_zss, tree, zss_distance


def labels_of(node: object) -> tuple:
    return (node.label, tuple(labels_of(kid) for kid in node.children))  # type: ignore[attr-defined]


def test_queries_decompose_into_sorted_parts_under_sorted_operators() -> None:
    def term(field: str, op: str, value: str) -> tuple:
        return (field, ((op, ()), (value, ())))

    assert labels_of(query_tree("priority=1^ORpriority=2^active=true")) == (
        "^",
        (term("active", "=", "true"), ("^OR", (term("priority", "=", "1"), term("priority", "=", "2")))),
    )
    assert labels_of(query_tree("activeCHANGESTOfalse")) == term("active", "CHANGESTO", "false")
    # StarFlow's quirks, kept: a part it cannot split empties the whole query; "OR" splits inside words.
    assert labels_of(query_tree("active=true^nonsense")) == ("", ())
    assert labels_of(query_tree("nameLIKEORACLE")) == ("", ())


def test_the_paper_example_tree_and_size(example: dict) -> None:
    workflow = parse_workflow(example)
    outline = starflow_tree(workflow, with_inputs=False)
    assert outline.labels == (
        "record_update", "trigger", "action___look_up_records___global", "action___update_record___global",
        "flowlogic___FOR_EACH___global", "components", "flow",
    )  # fmt: skip
    assert size(outline) == 4
    # Trigger: record_update, active / CHANGESTO / false, "table: sys_user" (5); look_up_records with its
    # condition's 3 parts and its table (5); FOR_EACH and its items (2); update_record, 3 parts, record, table (6).
    assert size(starflow_tree(workflow, with_inputs=True)) == 18
    assert starflow(workflow, workflow).inputs == 100.0


def test_hand_computed_scores(example: dict) -> None:
    expected = parse_workflow(example)
    without = [dict(c) for c in example["components"] if c["name"] != "for_each"]
    without[1]["step"] = 2
    del without[1]["parent"]
    sim = starflow(parse_workflow(example | {"components": without}), expected)
    # Deleting FOR_EACH (1) and its items leaf (1); its free `inputs` node costs nothing. Sizes 4 + 3, 18 + 16.
    assert sim.outline == pytest.approx(100 * (1 - 1 / 7))
    assert sim.inputs == pytest.approx(100 * (1 - 2 / 34))
    # Relabelling a component costs 2 (ours: 1 over max size 5), a trigger type too.
    renamed = example | {
        "components": [example["components"][0] | {"name": "look_up_record"}, *example["components"][1:]]
    }
    assert starflow(parse_workflow(renamed), expected).outline == pytest.approx(100 * (1 - 2 / 8))
    assert flowsim(parse_workflow(renamed), expected).outline == pytest.approx(100 * (1 - 1 / 5))
    created = example | {"trigger": example["trigger"] | {"type": "record_create"}}
    assert starflow(parse_workflow(created), expected).outline == pytest.approx(100 * (1 - 2 / 8))


def test_our_trigger_ids_are_scored_under_servicenows_names() -> None:
    def weekly(kind: str) -> dict:
        return {"trigger": {"annotation": "", "type": kind, "inputs": []}, "components": []}

    tree_ = starflow_tree(parse_workflow(weekly("scheduled_weekly")), with_inputs=False)
    assert tree_.labels[0] == "weekly"
    # daily / weekly are both trigger types on ServiceNow: relabelling one into the other costs 2 of 1 + 1.
    assert starflow(parse_workflow(weekly("scheduled_daily")), parse_workflow(weekly("scheduled_weekly"))).outline == 0


LABELS = ("inputs", "", "record_update", "action___x", "flowlogic___IF", "a", "b")


def kind_of(label: str) -> int:
    free = label in ("inputs", "")
    heavy = label == "record_update" or label.startswith(("action", "flowlogic"))
    return (FREE if free else 0) | (HEAVY if heavy else 0)


def weighted(spec: tuple) -> Tree:
    base = tree(spec)
    return Tree(base.labels, base.lml, tuple(kind_of(label) for label in base.labels))


def test_weighted_distance_matches_zss_with_starflows_costs() -> None:
    def cost(node: zss.Node) -> int:
        return 0 if kind_of(node.label) & FREE else 1

    def update(x: zss.Node, y: zss.Node) -> int:
        return 0 if x.label == y.label else 2 if (kind_of(x.label) | kind_of(y.label)) & HEAVY else 1

    rng = random.Random(11)
    for _ in range(120):
        a = random_spec(rng, rng.randint(1, 25), LABELS)
        b = random_spec(rng, rng.randint(1, 25), LABELS)
        theirs = zss.distance(to_zss(a), to_zss(b), zss.Node.get_children, insert_cost=cost, remove_cost=cost,
                              update_cost=update)  # fmt: skip
        assert tree_edit_distance(weighted(a), weighted(b)) == theirs, (a, b)
        # With no kinds, the same trees are scored with unit costs, as before.
        assert tree_edit_distance(tree(a), tree(b)) == zss_distance(a, b)


def test_the_variant_is_chosen_on_the_command_line(example: dict, tmp_path: Path) -> None:
    renamed = example | {
        "components": [example["components"][0] | {"name": "look_up_record"}, *example["components"][1:]]
    }
    (tmp_path / "generated.json").write_text(json.dumps(renamed))
    args = ["flowsim", str(tmp_path / "generated.json"), str(FIXTURES / "inactive-user-incidents.json")]
    assert "outline\t75.00" in CliRunner().invoke(app, [*args, "--variant", "starflow"]).output
    assert "outline\t80.00" in CliRunner().invoke(app, args).output
