"""Edit scripts applied to hand-written reference workflows: untouched steps stay identical but for their
renumbered pills, and scripts that would break a rule are refused with the reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flowgen.catalog import Catalog
from flowgen.validation import validate
from flowgen.workflow import Workflow, parse_workflow
from generation.editing.apply import Applied, EditRefused, apply
from generation.editing.script import EditScript
from generation.editing.stage import unfillable_in

HANDWRITTEN = Path(__file__).parents[2] / "flowdata" / "handwritten" / "test.jsonl"
REFS = {(item := json.loads(line))["id"]: item for line in HANDWRITTEN.read_text().splitlines() if line.strip()}


def reference(ref_id: str) -> Workflow:
    return parse_workflow(REFS[ref_id]["expected"])


def edit(ref_id: str, catalog: Catalog, *ops: dict) -> Applied:
    return apply(reference(ref_id), EditScript.model_validate({"ops": list(ops)}), catalog)


def assert_untouched_kept(before: Workflow, applied: Applied) -> None:
    """Every step the edit kept and did not change has its name, annotation and inputs, pills renumbered."""
    new_number = {old: new for new, old in applied.origin.items()}

    def renumbered(value: str) -> str:
        return re.sub(r"\{\{step_(\d+)", lambda m: "{{step_" + str(new_number[int(m.group(1))]), value)

    for new, old in applied.origin.items():
        if new in applied.changed:
            continue
        was, now = before.components[old - 1], applied.workflow.components[new - 1]
        assert (now.name, now.annotation) == (was.name, was.annotation)
        assert [(i.name, i.value) for i in now.inputs] == [(i.name, renumbered(i.value)) for i in was.inputs]


def test_insert_before_renumbers_every_pill(core: Catalog) -> None:
    log = {"do": "log", "a": "log it first", "inputs": {"message": "{{record_update.current.number}} resolved"}}
    applied = edit("test-002", core, {"op": "insert_before", "step": 1, "steps": [log]})
    steps = applied.workflow.components
    assert [s.name for s in steps] == ["log", "look_up_records", "for_each", "update_record"]
    assert steps[2].inputs[0].value == "{{step_2.records}}" and steps[3].inputs[0].value == "{{step_3.item}}"
    assert steps[3].parent == 3 and applied.changed == [1] and applied.pending == {}
    assert_untouched_kept(reference("test-002"), applied)
    assert validate(applied.workflow, core).ok


def test_insert_into_a_loop_and_wrap_in_an_if(core: Catalog) -> None:
    applied = edit(
        "test-002", core,
        {"op": "insert_into", "step": 2, "steps": [{"do": "send_email", "a": "tell the assignee", "inputs": {
            "to": "{{step_2.item.assigned_to.email}}", "subject": "Task closed", "body": "{{step_2.item.number}}"}}]},
        {"op": "wrap", "first": 1, "last": 2, "block": "if", "a": "only for P1",
         "inputs": {"condition": "{{record_update.current.priority}}=1"}},
    )  # fmt: skip
    steps = applied.workflow.components
    assert [(s.name, s.parent) for s in steps] == [
        ("if", None), ("look_up_records", 1), ("for_each", 1), ("update_record", 3), ("send_email", 3)]  # fmt: skip
    assert steps[4].inputs[0].value == "{{step_3.item.assigned_to.email}}"
    assert applied.changed == [1, 5]
    assert_untouched_kept(reference("test-002"), applied)
    assert validate(applied.workflow, core).ok


def test_new_steps_without_inputs_are_left_to_stage_two(core: Catalog) -> None:
    applied = edit("test-003", core, {"op": "insert_after", "step": 2, "steps": [
        {"do": "post_teams_message", "a": "also on Teams"}]})  # fmt: skip
    assert applied.pending == {3: ["team", "channel", "message"]}
    assert applied.workflow.components[2].inputs == []


def test_set_changes_one_input_and_nothing_else(core: Catalog) -> None:
    applied = edit(
        "test-024", core,
        {"op": "set", "step": 3, "input": "field_values", "value": "state=7^close_code=Resolved by problem"},
        {"op": "set", "step": 0, "input": "condition", "value": "stateCHANGESTO107"},
    )  # fmt: skip
    before = reference("test-024")
    assert applied.workflow.components[2].inputs[2].value == "state=7^close_code=Resolved by problem"
    assert [i.name for i in applied.workflow.components[2].inputs] == ["record", "table", "field_values"]
    assert applied.workflow.trigger.inputs[1].value == "stateCHANGESTO107"  # type: ignore[union-attr]
    assert applied.changed == [0, 3]
    assert_untouched_kept(before, applied)
    pending = edit("test-024", core, {"op": "set", "step": 4, "input": "subject"})
    assert pending.pending == {4: ["subject"]}
    assert "subject" not in {i.name for i in pending.workflow.components[3].inputs}


def test_first_record_becomes_for_each(core: Catalog) -> None:
    """test-100's 'the sender's open incident' (look_up_record), done for every open incident of the sender."""
    applied = edit(
        "test-100", core,
        {"op": "replace", "step": 1, "steps": [{"do": "look_up_records", "a": "all the sender's open incidents",
         "inputs": {"table": "incident", "conditions": "caller_id={{inbound_email.user}}^active=true"}}]},
        {"op": "wrap", "first": 2, "last": 2, "block": "for_each", "a": "each of them",
         "inputs": {"items": "{{step_1.records}}"}},
        {"op": "set", "step": 2, "input": "record", "value": "{{new_2.item}}"},
    )  # fmt: skip
    assert [(s.name, s.parent) for s in applied.workflow.components] == [
        ("look_up_records", None), ("for_each", None), ("add_comment", 2)]  # fmt: skip
    assert applied.workflow.components[2].inputs[0].value == "{{step_2.item}}"
    assert applied.changed == [1, 2, 3] and validate(applied.workflow, core).ok


def test_wrap_in_try_adds_its_catch(core: Catalog) -> None:
    applied = edit("test-067", core, {"op": "wrap", "first": 2, "last": 2, "block": "try", "a": "if the update fails",
                                      "inputs": {}, "catch": [{"do": "log", "a": "log it", "inputs": {
                                          "message": "{{new_2.error_message}}", "level": "error"}}]})  # fmt: skip
    assert [(s.name, s.parent) for s in applied.workflow.components] == [
        ("send_email", None), ("try", None), ("update_record", 2), ("catch", None), ("log", 4)]  # fmt: skip
    assert applied.workflow.components[4].inputs[0].value == "{{step_4.error_message}}"
    assert validate(applied.workflow, core).ok


def test_replace_redirects_pills_and_keeps_a_blocks_steps(core: Catalog) -> None:
    inputs = {"record": "{{record_update.current}}", "table": "problem", "approvers": "CAB Approval"}
    cab = {"do": "ask_for_approval", "a": "the CAB", "inputs": inputs}
    applied = edit("test-065", core, {"op": "replace", "step": 1, "steps": [cab]})
    assert applied.workflow.components[1].inputs[0].value == "{{step_1.approval_state}}=approved"
    assert applied.changed == [1]
    condition = "{{record_update.current.state}}=6^{{record_update.current.reopen_count}}=0"
    new_if = {"do": "if", "a": "still resolved", "inputs": {"condition": condition}}
    unwrapped = edit("test-068", core, {"op": "replace", "step": 2, "steps": [new_if]})
    assert [s.parent for s in unwrapped.workflow.components] == [None, None, 2, 2]


@pytest.mark.parametrize(
    ("ref_id", "op", "reason"),
    [
        ("test-002", {"op": "delete", "step": 1}, r"step 2 \(for_each\) uses \{\{step_1.records\}\}"),
        ("test-002", {"op": "unwrap", "step": 2}, r"uses \{\{step_2.item\}\}"),
        ("test-002", {"op": "delete", "step": 9}, "there is no step 9"),
        ("test-002", {"op": "insert_into", "step": 1, "steps": [{"do": "log", "inputs": {"message": "x"}}]},
         "holds no steps"),
        ("test-065", {"op": "insert_after", "step": 2, "steps": [{"do": "log", "inputs": {"message": "x"}}]},
         "S004"),
        ("test-065", {"op": "delete", "step": 2}, "S004"),
        ("test-009", {"op": "delete", "step": 3}, "S005"),
        ("test-024", {"op": "set", "step": 3, "input": "urgency", "value": "1"}, "has no input 'urgency'"),
        ("test-024", {"op": "insert_after", "step": 4, "steps": [{"do": "teleport_record"}]}, "unknown step"),
        ("test-024", {"op": "wrap", "first": 1, "last": 3, "block": "if", "inputs": {"condition": "active=true"}},
         "not consecutive steps of one block"),
        ("test-009", {"op": "wrap", "first": 2, "last": 2, "block": "try", "inputs": {}},
         "needs the steps of its catch"),
    ],
)  # fmt: skip
def test_breaking_edits_are_refused(core: Catalog, ref_id: str, op: dict, reason: str) -> None:
    with pytest.raises(EditRefused, match=reason):
        edit(ref_id, core, op)


def test_later_operations_still_name_steps_by_their_first_numbers(core: Catalog) -> None:
    applied = edit(
        "test-079", core,
        {"op": "delete", "step": 1}, {"op": "delete", "step": 2},
        {"op": "set", "step": 4, "input": "message", "value": "SLA of {{sla_task.task.number}} is at three quarters"},
    )  # fmt: skip
    assert [s.name for s in applied.workflow.components] == ["wait_for_condition", "post_slack_message",
                                                             "wait_for_condition", "send_email"]  # fmt: skip
    assert applied.origin == {1: 3, 2: 4, 3: 5, 4: 6} and applied.changed == [2]
    with pytest.raises(EditRefused, match="removed by an earlier operation"):
        edit("test-079", core, {"op": "delete", "step": 1}, {"op": "delete", "step": 1})


def test_a_new_step_nothing_can_fill_is_left_out_unless_its_going_breaks_a_rule(core: Catalog) -> None:
    """An update of a knowledge article in a flow about incidents has no article to update: applied, it would keep
    its record missing. It is left out and said so; a new `if` whose only step it is keeps it (an empty `if`
    breaks a structure rule)."""
    change = {"do": "update_record", "a": "update the article", "table": "kb_knowledge"}
    fillable = unfillable_in(core, [])
    log = {"do": "log", "a": "log"}
    script = EditScript.model_validate(
        {
            "ops": [
                {"op": "insert_after", "step": 1, "steps": [change]},
                {"op": "insert_into", "step": 2, "steps": [log]},
            ]
        }
    )
    applied = apply(reference("test-002"), script, core, fillable)
    assert [s.name for s in applied.workflow.components] == ["look_up_records", "for_each", "update_record", "log"]
    assert applied.left_out == [
        "new step update_record: step 2: nothing in scope can fill required input 'record' "
        "of update_record; it is left out"
    ]
    assert applied.changed == [4] and applied.pending == {4: ["message", "level"]}
    assert_untouched_kept(reference("test-002"), applied)
    alone = {"op": "insert_after", "step": 1, "steps": [{"do": "if", "a": "if so", "then": [change]}]}
    kept = apply(reference("test-002"), EditScript.model_validate({"ops": [alone]}), core, fillable)
    assert [s.name for s in kept.workflow.components][:3] == ["look_up_records", "if", "update_record"]
    assert kept.left_out == []


@pytest.mark.parametrize(
    ("ref_id", "removed", "steps", "condition"),
    [
        ("test-065", 1, ["update_record"], None),  # if approved / else: the approved branch's steps stay
        ("test-027", 1, ["add_user_to_group", "update_record"], None),  # if approved / else if rejected
        ("test-048", 1, ["update_record"], None),  # if rejected / else if approved: the rejection goes
        ("test-076", 1, ["ask_for_approval", "if", "create_catalog_task"], "{{step_1.approval_state}}=approved"),
    ],
)  # fmt: skip
def test_branches_on_a_removed_approval_are_decided_as_approved(
    core: Catalog, ref_id: str, removed: int, steps: list[str], condition: str | None
) -> None:
    """Told "remove the approval, just close the problem", the model deletes the approval; its if must not name it."""
    applied = edit(ref_id, core, {"op": "delete", "step": removed})
    assert [s.name for s in applied.workflow.components] == steps
    ifs = [s for s in applied.workflow.components if s.name == "if"]
    assert [i.value for s in ifs for i in s.inputs] == ([condition] if condition else [])
    assert applied.notes and validate(applied.workflow, core).ok
    assert_untouched_kept(reference(ref_id), applied)


def test_a_block_the_edit_empties_goes_unless_branches_follow_it(core: Catalog) -> None:
    """Told "don't text the manager", the model deletes the text; the loop or branch that held only it goes too. An
    if with an else after it stays, and the edit is refused: which branch takes its place is not the script's to say."""
    applied = edit("test-024", core, {"op": "delete", "step": 3}, {"op": "delete", "step": 4})
    assert [s.name for s in applied.workflow.components] == ["look_up_records"]
    assert applied.notes == ["step 2 (for_each): the edit took out every step inside it, so it goes too"]
    with pytest.raises(EditRefused, match="S009"):
        edit("test-065", core, {"op": "delete", "step": 3})
