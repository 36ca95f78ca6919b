from __future__ import annotations

import pytest

from flowgen.catalog import Catalog
from flowgen.validation import validate
from flowgen.workflow import parse_workflow


def step(number: int, name: str, parent: int | None = None, **inputs: str) -> dict:
    out = {
        "annotation": "",
        "name": name,
        "step": number,
        "inputs": [{"name": k, "value": v} for k, v in inputs.items()],
    }
    if parent is not None:
        out["parent"] = parent
    return out


LOG = {"message": "done"}
UPDATE_TRIGGER = {"annotation": "", "type": "record_update", "inputs": [{"name": "table", "value": "incident"}]}


def codes(doc: dict, catalog: Catalog) -> list[str]:
    return [v.code for v in validate(parse_workflow(doc), catalog).violations]


def flow(*steps: dict, trigger: dict | None = UPDATE_TRIGGER) -> dict:
    return {"trigger": trigger, "components": list(steps)}


def test_example_is_valid(example: dict, core: Catalog) -> None:
    assert validate(parse_workflow(example), core).violations == []


CASES = {
    "S001 numbering": (flow(step(1, "log", **LOG), step(3, "log", **LOG)), ["S001"]),
    "S002 parent not a block": (flow(step(1, "log", **LOG), step(2, "log", 1, **LOG)), ["S002"]),
    "S002 parent later": (
        flow(
            step(1, "log", 2, **LOG),
            step(2, "try"),
            step(3, "log", 2, **LOG),
            step(4, "catch"),
            step(5, "log", 4, **LOG),
        ),
        ["S002"],
    ),
    "S003 not contiguous": (
        flow(
            step(1, "try"),
            step(2, "log", 1, **LOG),
            step(3, "catch"),
            step(4, "log", 3, **LOG),
            step(5, "log", 1, **LOG),
        ),
        ["S003"],
    ),
    "S004 else without if": (flow(step(1, "else"), step(2, "log", 1, **LOG)), ["S004"]),
    "S004 else_if after else": (
        flow(
            step(1, "if", condition="{{record_update.current.priority}}=1"),
            step(2, "log", 1, **LOG),
            step(3, "else"),
            step(4, "log", 3, **LOG),
            step(5, "else_if", condition="{{record_update.current.priority}}=2"),
            step(6, "log", 5, **LOG),
        ),
        ["S004"],
    ),
    "S005 try without catch": (flow(step(1, "try"), step(2, "log", 1, **LOG)), ["S005"]),
    "S005 catch without try": (flow(step(1, "catch"), step(2, "log", 1, **LOG)), ["S005"]),
    "S006 one branch": (flow(step(1, "parallel"), step(2, "branch", 1), step(3, "log", 2, **LOG)), ["S006"]),
    "S006 branch outside parallel": (flow(step(1, "branch"), step(2, "log", 1, **LOG)), ["S006"]),
    "S006 non-branch in parallel": (
        flow(step(1, "parallel"), step(2, "branch", 1), step(3, "log", 2, **LOG), step(4, "log", 1, **LOG)),
        ["S006"],
    ),
    "S006 parallel inside a parallel": (  # the platform's rule (ServiceNow's SDK: TS213)
        flow(
            step(1, "parallel"),
            step(2, "branch", 1),
            step(3, "parallel", 2),
            step(4, "branch", 3),
            step(5, "log", 4, **LOG),
            step(6, "branch", 3),
            step(7, "log", 6, **LOG),
            step(8, "branch", 1),
            step(9, "log", 8, **LOG),
        ),
        ["S006"],
    ),
    "S007 exit outside loop": (flow(step(1, "exit_loop")), ["S007"]),
    "S008 later step": (
        flow(step(1, "log", message="{{step_2.records}}"), step(2, "look_up_records", table="incident")),
        ["S008"],
    ),
    "S008 missing output": (
        flow(step(1, "look_up_records", table="incident"), step(2, "log", message="{{step_1.nothing}}")),
        ["S008"],
    ),
    "S008 item outside its loop": (
        flow(
            step(1, "look_up_records", table="incident"),
            step(2, "for_each", items="{{step_1.records}}"),
            step(3, "log", 2, **LOG),
            step(4, "log", message="{{step_2.item.number}}"),
        ),
        ["S008"],
    ),
    "S008 a branch's output after the parallel": (
        flow(
            step(1, "parallel"),
            step(2, "branch", 1),
            step(3, "look_up_record", 2, table="incident", conditions="active=true"),
            step(4, "branch", 1),
            step(5, "log", 4, **LOG),
            step(6, "log", message="{{step_3.record.number}}"),
        ),
        ["S008"],
    ),
    "S008 another branch's output": (
        flow(
            step(1, "parallel"),
            step(2, "branch", 1),
            step(3, "look_up_record", 2, table="incident", conditions="active=true"),
            step(4, "branch", 1),
            step(5, "log", 4, message="{{step_3.record.number}}"),
        ),
        ["S008"],
    ),
    "S008 a try's output in its catch": (
        flow(
            step(1, "try"),
            step(2, "look_up_record", 1, table="incident", conditions="active=true"),
            step(3, "catch"),
            step(4, "log", 3, message="{{step_2.record.number}}"),
        ),
        ["S008"],
    ),
    "S008 a try's output after the block": (
        flow(
            step(1, "try"),
            step(2, "look_up_record", 1, table="incident", conditions="active=true"),
            step(3, "catch"),
            step(4, "log", 3, **LOG),
            step(5, "log", message="{{step_2.record.number}}"),
        ),
        ["S008"],
    ),
    "S008 wrong trigger": (flow(step(1, "log", message="{{record_create.current}}")), ["S008"]),
    "S008 undefined flow variable": (flow(step(1, "log", message="{{flow_variables.count}}")), ["S008"]),
    "S009 empty block": (flow(step(1, "if", condition="{{record_update.current.active}}=true")), ["S009"]),
    "S010 for_each without list": (
        flow(
            step(1, "look_up_record", table="incident", conditions="active=true"),
            step(2, "for_each", items="{{step_1.record}}"),
            step(3, "log", 2, **LOG),
        ),
        ["S010"],
    ),
    "S010 items not a pill": (flow(step(1, "for_each", items="all incidents"), step(2, "log", 1, **LOG)), ["S010"]),
    "C001 unknown step": (flow(step(1, "summon_dragon")), ["C001"]),
    "C001 unknown trigger": (
        flow(step(1, "log", **LOG), trigger={"annotation": "", "type": "on_full_moon", "inputs": []}),
        ["C001"],
    ),
    "C002 unknown input": (flow(step(1, "log", message="x", colour="red")), ["C002"]),
    "C003 missing input": (flow(step(1, "log")), ["C003"]),
    "C004 unknown table": (flow(step(1, "look_up_records", table="incidents")), ["C004"]),
    "C004 unknown column": (flow(step(1, "look_up_records", table="incident", conditions="prio=1")), ["C004"]),
    "C004 unknown dot-walk": (flow(step(1, "log", message="{{record_update.current.caller_id.shoe_size}}")), ["C004"]),
    "C004 field values": (
        flow(step(1, "create_record", table="incident", field_values="short_description=x^colour=red")),
        ["C004"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule(case: str, core: Catalog) -> None:
    doc, expected = CASES[case]
    assert codes(doc, core) == expected


def test_do_until_condition_may_use_its_body(core: Catalog) -> None:
    doc = flow(
        step(1, "do_until", condition="{{step_2.record.state}}=6"),
        step(2, "look_up_record", 1, table="incident", conditions="active=true"),
    )
    assert codes(doc, core) == []


def test_a_flow_variable_carries_a_value_out_of_a_parallel_branch(core: Catalog) -> None:
    doc = flow(
        step(1, "parallel"),
        step(2, "branch", 1),
        step(3, "look_up_record", 2, table="incident", conditions="active=true"),
        step(4, "set_flow_variables", 2, variables="found={{step_3.record.number}}"),
        step(5, "branch", 1),
        step(6, "log", 5, **LOG),
        step(7, "log", message="{{flow_variables.found}} {{step_3.record.number}}"),
    )
    [violation] = validate(parse_workflow(doc), core).violations
    assert violation.step == 7 and "inside the branch at step 2" in violation.message
    assert "flow variable" in violation.message


def test_all_violations_are_reported(example: dict, core: Catalog) -> None:
    example["trigger"]["type"] = "when_ever"  # C001, and the pills to record_update now dangle (S008)
    example["components"][1]["inputs"] = []  # for_each without items: C003 and S010
    example["components"][2]["step"] = 4  # S001
    example["components"].append(step(4, "else"))  # S004 and S009; step 4 is now used twice
    report = validate(parse_workflow(example), core)
    found = {v.code for v in report.violations}
    assert found == {"C001", "C003", "S001", "S004", "S008", "S009", "S010"}
    assert all(v.message for v in report.violations)
    assert report.structure_errors and report.catalog_errors


def test_messages_name_step_and_fix(core: Catalog) -> None:
    [violation] = validate(parse_workflow(flow(step(1, "log"))), core).violations
    assert str(violation).startswith("C003 step 1: log needs input 'message'")
