"""The kernel of workflow semantics: element roles and the pills visible at each step."""

from __future__ import annotations

from flowgen.catalog import Catalog
from flowgen.expressions import find_pills
from flowgen.semantics import ELEMENTS, Scope, heads, is_block, leaves, loops
from flowgen.workflow import parse_workflow
from generation.outline import to_plan

TRIGGER = {"annotation": "", "type": "record_update", "inputs": [{"name": "table", "value": "incident"}]}


def step(number: int, name: str, parent: int | None = None, **inputs: str) -> dict:
    out = {
        "annotation": "",
        "name": name,
        "step": number,
        "inputs": [{"name": k, "value": v} for k, v in inputs.items()],
    }
    return out | ({"parent": parent} if parent is not None else {})


def visible(catalog: Catalog, steps: list[dict], number: int, input_name: str = "") -> dict[str, str | None]:
    """Pill -> table, at step `number` (0: the trigger)."""
    scope = Scope(catalog, parse_workflow({"trigger": TRIGGER, "components": steps}))
    return {p.text: p.table for p in scope.visible(number - 1 if number else None, input_name)}


LOOK = {"table": "incident", "conditions": "active=true"}
# 1 parallel / 2 branch / 3 look_up_record / 4 set_flow_variables / 5 branch / 6 log / 7 try / 8 look_up_record /
# 9 catch / 10 log / 11 log
SEALED = [
    step(1, "parallel"),
    step(2, "branch", 1),
    step(3, "look_up_record", 2, **LOOK),
    step(4, "set_flow_variables", 2, variables="found={{step_3.record.number}}"),
    step(5, "branch", 1),
    step(6, "log", 5, message="x"),
    step(7, "try"),
    step(8, "look_up_record", 7, **LOOK),
    step(9, "catch"),
    step(10, "log", 9, message="x"),
    step(11, "log", message="x"),
]


def test_roles_are_declared_once_and_the_catalog_has_exactly_them(core: Catalog) -> None:
    assert set(core.flow_logic) == set(ELEMENTS)
    assert heads() == ["if", "for_each", "do_until", "parallel", "try"]
    assert leaves(inside_loop=False) == ["set_flow_variables", "end_flow", "wait_for_duration"]
    assert leaves(inside_loop=True)[-2:] == ["exit_loop", "skip_iteration"]
    assert loops() == ["for_each", "do_until"]
    assert is_block("branch") and not is_block("log") and not is_block("end_flow")


def test_the_paper_example_with_tables(example: dict, core: Catalog) -> None:
    scope = Scope(core, parse_workflow(example))
    inside = {p.text: (p.type, p.table) for p in scope.visible(2)}  # update_record inside the for_each
    assert inside["{{record_update.current}}"] == ("record", "sys_user")
    assert inside["{{step_1.records}}"] == ("records", "incident")
    assert inside["{{step_2.item}}"] == ("record", "incident")
    assert {p.text for p in scope.visible(None)} == set()  # the trigger's inputs see nothing
    assert "{{step_2.item}}" not in {p.text for p in scope.visible(1)}  # the for_each's own items input


def test_outputs_inside_parallel_branches_and_try_catch_stay_inside(core: Catalog) -> None:
    assert "{{step_3.record}}" in visible(core, SEALED, 4)  # later in its own branch
    assert "{{step_3.record}}" not in visible(core, SEALED, 6)  # another branch
    assert "{{step_8.record}}" not in visible(core, SEALED, 10)  # the catch of its try
    after = visible(core, SEALED, 11)
    assert "{{step_3.record}}" not in after and "{{step_8.record}}" not in after
    assert "{{flow_variables.found}}" in after  # what the block hands on: a flow variable
    assert "{{step_9.error_message}}" in after  # the catch's own output is the block's, not a step's inside it


def test_hidden_says_why(core: Catalog) -> None:
    scope = Scope(core, parse_workflow({"trigger": TRIGGER, "components": SEALED}))
    [pill] = find_pills("{{step_3.record}}")
    assert "inside the branch at step 2" in (scope.hidden(pill, 10) or "")
    assert scope.hidden(pill, 3) is None
    assert "does not run before" in (scope.hidden(pill, 1) or "")


def test_do_until_condition_sees_its_body_and_items_only_inside_the_loop(core: Catalog) -> None:
    steps = [
        step(1, "do_until", condition="{{step_2.record.state}}=6"),
        step(2, "look_up_record", 1, **LOOK),
        step(3, "look_up_records", **LOOK),
        step(4, "for_each", items="{{step_3.records}}"),
        step(5, "log", 4, message="x"),
        step(6, "log", message="x"),
    ]
    assert "{{step_2.record}}" in visible(core, steps, 1, "condition")
    assert "{{step_2.record}}" not in visible(core, steps, 1, "max_iterations")
    assert visible(core, steps, 5)["{{step_4.item}}"] == "incident"
    assert "{{step_4.item}}" not in visible(core, steps, 6)


def test_an_outline_plan_is_scoped_like_the_workflow_it_becomes(core: Catalog) -> None:
    look = {"do": "look_up_record", "a": "x", "table": "incident"}
    branches = [{"a": "x", "then": [look]}, {"a": "x", "then": [{"do": "log", "a": "x"}]}]
    outline = {
        "trigger": {"type": "record_update", "a": "x", "table": "sys_user"},
        "steps": [
            {"parallel": "x", "branches": branches},
            {"for_each": "x", "find": "x", "table": "change_request", "then": [{"do": "log", "a": "x"}]},
        ],
    }
    skeleton = to_plan(outline).workflow(core)
    assert [i.value for i in skeleton.components[6].inputs] == ["{{step_6.records}}"]  # the look-up before it
    assert [i.value for i in skeleton.components[5].inputs] == ["change_request"]
    scope = Scope(core, skeleton)
    inside = {p.text: p.table for p in scope.visible(7)}  # the log inside the loop
    assert inside["{{record_update.current}}"] == "sys_user"
    assert inside["{{step_7.item}}"] == "change_request"
    assert "{{step_3.record}}" not in inside
